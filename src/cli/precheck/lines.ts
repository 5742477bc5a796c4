/** One line of a byte stream, without its newline. */
export interface Line {
  text: string
  /** 1-based. */
  line: number
  /** Bytes of the stream up to and including this line's newline. */
  endByte: number
  /** The line was longer than the bound; `text` is empty. */
  tooLong: boolean
}

/**
 * Splits a byte stream into lines, holding at most `maxBytes` of one line: a file without newlines cannot make
 * the reader's memory grow with its size. A trailing `\r` is dropped.
 */
export async function* splitLines(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  maxBytes: number,
): AsyncGenerator<Line> {
  let parts: Buffer[] = []
  let held = 0
  let tooLong = false
  let line = 0
  let consumed = 0
  const emit = (tail: Buffer, end: number): Line => {
    const text = tooLong
      ? ''
      : Buffer.concat([...parts, tail])
          .toString('utf8')
          .replace(/\r$/, '')
    const out = { text, line: ++line, endByte: end, tooLong }
    parts = []
    held = 0
    tooLong = false
    return out
  }
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    let start = 0
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      if (held + nl - start > maxBytes) tooLong = true
      yield emit(buf.subarray(start, nl), consumed + nl + 1)
      start = nl + 1
    }
    const rest = buf.subarray(start)
    if (!tooLong && held + rest.length > maxBytes) {
      tooLong = true
      parts = []
    }
    if (!tooLong) {
      // A copy: the stream may reuse its buffer for the next chunk.
      parts.push(Buffer.from(rest))
      held += rest.length
    }
    consumed += buf.length
  }
  if (held > 0 || tooLong) yield emit(Buffer.alloc(0), consumed)
}
