import { describe, expect, it } from 'vitest'
import { useGates } from '../helpers/gate.js'
import { waitFor } from '../helpers/wait.js'

const CHECK = '/can-call?business=%2B918000000001&user=%2B919000000001'
/** Shed like any check, but a 400 when not shed: never reaches Kaleyra. */
const INVALID_CHECK = '/can-call?business=x&user=y'
const gates = useGates()

// Only where the timing is the behaviour under test: the loop must stall and the sampler's timer must run.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Holds the event loop, as a burst of CPU-bound work would. */
function block(ms: number) {
  const end = performance.now() + ms
  while (performance.now() < end);
}

describe('load shedding', () => {
  it('answers 503 overloaded at once under event-loop delay, while probes keep answering', async () => {
    const h = await gates.start({
      env: { SHED_MAX_EVENT_LOOP_DELAY_MS: '20', SHED_RETRY_AFTER_SECONDS: '2' },
      // Faster than the default 1 s, but above the delay monitor's 10 ms resolution (below it reads as Infinity).
      deps: { shedSampleIntervalMs: 25 },
    })
    // Calm first: answered normally. A busy CI machine can delay the loop past 20 ms by itself, so a few tries.
    await waitFor(async () => (await h.get(CHECK)).status === 200, 3000, 100)
    // Stall the loop in short bursts so the sampler sees the delay, then ask at once.
    // The sampler runs right after a stall; ask before its next, calm sample (a few tries on a busy machine).
    let shed = await h.get(CHECK)
    for (let i = 0; i < 10 && shed.status !== 503; i++) {
      block(60)
      // One turn of the loop, so the sampler's timer, due during the stall, reads the delay before the check.
      await sleep(1)
      shed = await h.get(CHECK)
    }
    expect(shed.status).toBe(503)
    expect(shed.body).toMatchObject({ allowed: false, reason: 'overloaded' })
    expect(shed.body.decision_id).toEqual(expect.any(String))
    expect(shed.headers['retry-after']).toBe('2')
    expect((await h.get('/healthz')).status).toBe(200)
    expect((await h.get('/readyz')).status).toBe(200)
    expect((await h.get('/metrics')).status).toBe(200)
  })

  it('sheds on heap use above SHED_MAX_HEAP_USED_BYTES and never asks Kaleyra', async () => {
    const h = await gates.start({ env: { SHED_MAX_HEAP_USED_BYTES: '1' }, deps: { shedSampleIntervalMs: 5 } })
    // Shedding starts with the sampler's first reading; until then an invalid check is a 400.
    await waitFor(async () => (await h.get(INVALID_CHECK)).status === 503, 2000)
    const shed = await h.get(CHECK)
    expect(shed.status).toBe(503)
    expect(shed.body.reason).toBe('overloaded')
    expect(h.sim.requests).toHaveLength(0)
  })

  it('is off when every threshold is 0, however long the loop stalls', async () => {
    const h = await gates.start({
      env: { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' },
      deps: { shedSampleIntervalMs: 25 },
    })
    // Time for a sampler, were one running, to take its first readings: off, there is no state to wait on.
    await sleep(100)
    // The same stalls that make the test above shed (300 ms, beyond the 200 ms default threshold).
    for (let i = 0; i < 5; i++) {
      block(300)
      await sleep(1) // as above: the sampler's timer runs between the stall and the check
      expect((await h.get(CHECK)).status).toBe(200)
    }
  })
})
