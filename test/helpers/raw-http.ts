import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import type { Harness } from './gate.js'
import { waitFor } from './wait.js'

export interface RawResponse {
  status: number
  /** The head as sent, one line per header, in order, without the status line. */
  lines: string[]
  headers: Record<string, string>
  body: any
}

function parseRaw(raw: string): RawResponse {
  const [top = '', body = ''] = raw.split('\r\n\r\n')
  const [statusLine = '', ...lines] = top.split('\r\n')
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  )
  return { status: Number(statusLine.split(' ')[1]), lines, headers, body: body ? JSON.parse(body) : body }
}

/** One GET (with `body` after the head, if any) on its own connection, the answer read as the gate wrote it. */
export async function rawGet(
  gate: Harness,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<RawResponse> {
  const socket = connect(Number(new URL(gate.url).port), '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const ended = once(socket, 'close')
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
  socket.write(`GET ${path} HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n${extra.join('')}\r\n${body}`)
  await ended
  return parseRaw(Buffer.concat(chunks).toString('utf8'))
}

/**
 * A request whose headers are sent up to their last line: Node counts the connection active once it has read the
 * first bytes, so close() keeps it open, and the request itself arrives only when finish() sends the blank line.
 */
export async function startRequest(gate: Harness, path: string) {
  const head = `GET ${path} HTTP/1.1\r\nHost: gate\r\n`
  const accepted = once(gate.gate.server, 'connection') as Promise<[Socket]>
  const socket = connect(Number(new URL(gate.url).port), '127.0.0.1')
  const [serverSide] = await accepted
  socket.write(head)
  // The gate has read the request head.
  await waitFor(() => serverSide.bytesRead >= Buffer.byteLength(head), 5000, 5)
  return {
    destroy: () => socket.destroy(),
    async finish() {
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => chunks.push(chunk))
      const ended = once(socket, 'close')
      socket.write('\r\n')
      await ended
      return parseRaw(Buffer.concat(chunks).toString('utf8'))
    },
  }
}

/**
 * GETs sent pipelined, in one write on one connection (the last with `Connection: close`), and their answers in
 * the order they came, split by content-length.
 */
export async function rawPipelined(gate: Harness, paths: string[]): Promise<RawResponse[]> {
  const socket = connect(Number(new URL(gate.url).port), '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const ended = once(socket, 'close')
  const last = paths.length - 1
  socket.write(
    paths
      .map((p, i) => `GET ${p} HTTP/1.1\r\nHost: gate\r\n${i === last ? 'Connection: close\r\n' : ''}\r\n`)
      .join(''),
  )
  await ended
  const raw = Buffer.concat(chunks)
  const answers: RawResponse[] = []
  for (let at = 0; at < raw.length;) {
    const headEnd = raw.indexOf('\r\n\r\n', at)
    if (headEnd < 0)
      throw new Error(`a truncated answer after ${answers.length}: ${raw.subarray(at).toString()}`)
    const head = parseRaw(raw.subarray(at, headEnd).toString('utf8'))
    const bodyEnd = headEnd + 4 + Number(head.headers['content-length'] ?? 0)
    answers.push(parseRaw(raw.subarray(at, bodyEnd).toString('utf8')))
    at = bodyEnd
  }
  return answers
}
