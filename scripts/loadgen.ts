// A small, steady load on a gate backed by the seeded Kaleyra simulator, so the dashboard has something to show:
// checks of every demo consent and of unknown users (misses, then cached denies), a batch pre-check, a pair that
// runs into its unanswered-call streak and out of it again, and a bad request now and then. docker compose runs
// it in the gate's image with Node's type stripping (plain Node, no dependency); elsewhere:
//   GATE_URL=http://127.0.0.1:8080 GATE_API_TOKENS=<token> npx tsx scripts/loadgen.ts
// Every loop is bounded: LOADGEN_DURATION_SECONDS (0: until stopped) and LOADGEN_MAX_REQUESTS (0: no bound).
const env = process.env
const gateUrl = env.GATE_URL ?? 'http://127.0.0.1:8080'
/** The first caller token (GATE_API_TOKENS is the gate's own comma list); none when the gate has no auth. */
const token = (env.GATE_API_TOKENS ?? '').split(',')[0]?.trim() ?? ''
/** A whole number from the environment, or exit 1 naming the variable. */
function count(name: string, fallback: number, min = 0): number {
  const raw = env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (Number.isInteger(value) && value >= min) return value
  console.error(`loadgen: ${name} must be a whole number of at least ${min}`)
  process.exit(1)
}
const perSecond = count('LOADGEN_RATE', 20, 1)
const durationMs = count('LOADGEN_DURATION_SECONDS', 600) * 1000
const maxRequests = count('LOADGEN_MAX_REQUESTS', 0)
const MAX_INFLIGHT = 64

// The simulator's demo seed (src/simulator/seed.ts; the loadgen test checks every reason comes back).
const BUSINESS = '+918000000001'
const DEMO_USERS = ['+919000000001', '+919000000002', '+919000000003', '+919000000004', '+919000000005']
/** Reported unanswered three times in each cycle of CYCLE requests (blocked), then answered (unblocked). */
const STREAK_USER = '+919000000002'
const CYCLE = 200
/** Users the simulator knows nothing of: each a miss, then a cached deny for CACHE_NEGATIVE_TTL_SECONDS. */
const unknownUser = () => `+9191${String(Math.floor(Math.random() * 500)).padStart(8, '0')}`

const headers: Record<string, string> = { 'content-type': 'application/json' }
if (token) headers.authorization = `Bearer ${token}`

type Call = { method: 'GET' | 'POST'; path: string; body?: unknown }
const check = (user: string, business = BUSINESS): Call => ({
  method: 'GET',
  path: `/can-call?business=${encodeURIComponent(business)}&user=${encodeURIComponent(user)}`,
})
const outcome = (outcome: string): Call => ({
  method: 'POST',
  path: '/call-outcomes',
  body: { business: BUSINESS, user: STREAK_USER, outcome },
})

/** The n-th request of the run. */
function nth(n: number): Call {
  const inCycle = n % CYCLE
  if (inCycle >= 50 && inCycle < 53) return outcome('unanswered')
  if (inCycle === 0) return outcome('answered')
  if (n % 97 === 0) return check('not-a-number')
  if (n % 50 === 25) {
    const checks = Array.from({ length: 20 }, () => ({ business: BUSINESS, user: unknownUser() }))
    return { method: 'POST', path: '/can-call/batch', body: { checks } }
  }
  return Math.random() < 0.75 ? check(DEMO_USERS[n % DEMO_USERS.length]!) : check(unknownUser())
}

const statuses = new Map<string, number>()
let sent = 0
let inflight = 0

async function send(call: Call): Promise<void> {
  let status: string
  try {
    const res = await fetch(`${gateUrl}${call.path}`, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(5000),
    })
    await res.arrayBuffer()
    status = String(res.status)
  } catch (err) {
    status = (err as Error).name
  }
  statuses.set(status, (statuses.get(status) ?? 0) + 1)
}

const summary = () => [...statuses].map(([status, count]) => `${status}: ${count}`).join(', ')
const started = Date.now()
const report = setInterval(() => console.log(`loadgen: ${sent} requests (${summary()})`), 10_000)

await new Promise<void>((resolve) => {
  const tick = setInterval(
    () => {
      const done =
        (durationMs > 0 && Date.now() - started >= durationMs) || (maxRequests > 0 && sent >= maxRequests)
      if (done) {
        clearInterval(tick)
        resolve()
        return
      }
      if (inflight >= MAX_INFLIGHT) return
      inflight++
      void send(nth(sent++)).finally(() => inflight--)
    },
    Math.max(1, 1000 / perSecond),
  )
})
while (inflight > 0) await new Promise((r) => setTimeout(r, 10))
clearInterval(report)
console.log(`loadgen: done, ${sent} requests to ${gateUrl} (${summary()})`)
// Nothing answered 200: the gate is unreachable, or refuses the token.
process.exitCode = statuses.has('200') ? 0 : 1
