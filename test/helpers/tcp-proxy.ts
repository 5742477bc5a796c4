import { createServer, connect, type Socket } from 'node:net'

/**
 * A TCP proxy on a free loopback port that can stop forwarding without closing anything: what a half-open
 * connection or a stalled middlebox looks like to a client, which sees neither an error nor a close.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const pairs = new Set<[Socket, Socket]>()
  let frozen = false
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    if (!frozen) flow(pair)
    const drop = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  const each = (fn: (s: Socket) => void) => {
    for (const pair of pairs) pair.forEach(fn)
  }
  function flow([client, upstream]: [Socket, Socket]) {
    client.pipe(upstream)
    upstream.pipe(client)
  }
  return {
    port,
    /** Stops forwarding in both directions; connections stay open. */
    freeze() {
      frozen = true
      each((s) => {
        s.unpipe()
        s.pause()
      })
    },
    thaw() {
      frozen = false
      for (const pair of pairs) flow(pair)
    },
    async close() {
      each((s) => s.destroy())
      await new Promise((r) => server.close(r))
    },
  }
}
