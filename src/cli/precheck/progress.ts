import cliProgress from 'cli-progress'

export interface ProgressOptions {
  /** stderr: a bar when it is a terminal, otherwise a line every `intervalMs`. */
  stream: NodeJS.WritableStream & { isTTY?: boolean }
  /** The input's size in bytes, for the percentage and ETA; unknown for stdin. */
  totalBytes?: number
  /** Default 5000. */
  intervalMs?: number
  now?: () => number
}

export interface Progress {
  /** A row was written; `endByte` is how far into the input it ends. */
  row(endByte: number): void
  /** Rows wait `delayMs` before they are asked again. */
  retry(rows: number, delayMs: number): void
  stop(): void
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

/** Progress on stderr, never stdout: stdout may be the output itself. */
export function createProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? (() => performance.now())
  const started = now()
  let rows = 0
  let bytes = 0
  let retrying = 0
  const rate = () => rows / Math.max(0.001, (now() - started) / 1000)
  const fraction = () => (opts.totalBytes ? Math.min(1, bytes / opts.totalBytes) : undefined)

  if (opts.stream.isTTY) return barProgress(opts, now)

  const line = (final: boolean) => {
    const f = fraction()
    const eta = f && f > 0 ? (((now() - started) / 1000) * (1 - f)) / f : Infinity
    const parts = [`precheck: ${int(rows)} rows`]
    if (f !== undefined) parts.push(`${Math.floor(f * 100)} %`)
    parts.push(`${int(rate())} rows/s`)
    if (final) parts.push(`in ${duration((now() - started) / 1000)}`)
    else if (f !== undefined) parts.push(`ETA ${duration(eta)}`)
    if (retrying > 0 && !final) parts.push(`${int(retrying)} rows retried so far`)
    opts.stream.write(`${parts.join(', ')}\n`)
  }
  const timer = setInterval(() => line(false), opts.intervalMs ?? 5000)
  timer.unref()
  return {
    row(endByte) {
      rows++
      bytes = Math.max(bytes, endByte)
    },
    retry(n) {
      retrying += n
    },
    stop() {
      clearInterval(timer)
      line(true)
    },
  }
}

/** A terminal: cli-progress's bar over the input's bytes, with rows, rate and ETA. */
function barProgress(opts: ProgressOptions, now: () => number): Progress {
  const started = now()
  const known = opts.totalBytes !== undefined && opts.totalBytes > 0
  const bar = new cliProgress.SingleBar(
    {
      stream: opts.stream,
      format: known
        ? 'precheck {bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}'
        : 'precheck {rows} rows | {rate} rows/s',
      hideCursor: true,
      etaBuffer: 100,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  let rows = 0
  let bytes = 0
  const draw = () =>
    bar.update(known ? bytes : 0, {
      rows: int(rows),
      rate: int(rows / Math.max(0.001, (now() - started) / 1000)),
    })
  bar.start(known ? (opts.totalBytes ?? 0) : 1, 0, { rows: '0', rate: '0' })
  return {
    row(endByte) {
      rows++
      bytes = Math.max(bytes, endByte)
      // A payload object per row would be waste: the bar redraws at 5 fps anyway.
      if (rows % 200 === 0) draw()
    },
    retry() {},
    stop() {
      draw()
      bar.stop()
    },
  }
}
