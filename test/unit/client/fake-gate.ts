import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach } from 'vitest'

export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void

/** A decision as the gate sends it, for the pair asked. */
export function decisionBody(over: Record<string, unknown> = {}) {
  return {
    allowed: true,
    reason: 'consent_granted',
    business: '+918000000001',
    user: '+919000000001',
    consent: {
      response: 'accept',
      is_permanent: false,
      response_source: 'user_action',
      can_perform_action: true,
      expires_at: '2026-12-02T10:00:00.000Z',
    },
    source: 'upstream',
    checked_at: '2026-11-25T10:00:00.000Z',
    decision_id: '3f0c9a55-3b1e-4d8e-9a43-0a7d7c1d2b11',
    ...over,
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  res.end(JSON.stringify(body))
}

/**
 * A node:http server on port 0 standing in for the gate: each test sets `handle`, and reads what the server saw
 * (requests, TCP connections). Closed after each test, with every socket it still holds.
 */
export async function startFakeGate() {
  const seen: Seen[] = []
  const sockets = new Set<Socket>()
  let connections = 0
  const gate = {
    seen,
    handle: ((_req, res) => sendJson(res, 200, decisionBody())) as Handler,
    connections: () => connections,
    url: '',
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' }
      entry.body = Buffer.concat(chunks).toString('utf8')
      seen.push(entry)
      gate.handle(req, res, entry)
    })
  })
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  gate.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return gate
}

/** Fake gates closed after each test, passed or failed. */
export function useFakeGates() {
  const open: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((g) => g.close()))
  })
  return {
    start: async () => {
      const gate = await startFakeGate()
      open.push(gate)
      return gate
    },
    /** Closes this after the test too: a client, say. */
    track: <T extends { close(): Promise<void> }>(thing: T): T => {
      open.push(thing)
      return thing
    },
  }
}
