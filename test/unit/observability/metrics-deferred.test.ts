import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { deferredCounter, deferredHistogram } from '../../../src/observability/metrics-deferred.js'

const values = async (registry: Registry) =>
  Object.fromEntries(
    (await registry.getMetricsAsJSON())[0]!.values.map((v) => [JSON.stringify(v.labels), v.value]),
  )

describe('deferredCounter', () => {
  it('hands what was counted to prom-client at each collection, once', async () => {
    const registry = new Registry()
    const c = deferredCounter({
      name: 't_total',
      help: 'h',
      labelNames: ['reason', 'source'],
      registers: [registry],
    })
    c.inc('consent_granted', 'cache')
    c.inc('consent_granted', 'cache')
    c.inc('no_consent', 'upstream')
    expect(await values(registry)).toEqual({
      '{"reason":"consent_granted","source":"cache"}': 2,
      '{"reason":"no_consent","source":"upstream"}': 1,
    })
    c.inc('no_consent', 'upstream')
    expect(await registry.metrics()).toContain('t_total{reason="no_consent",source="upstream"} 2')
    expect(await values(registry)).toEqual({
      '{"reason":"consent_granted","source":"cache"}': 2,
      '{"reason":"no_consent","source":"upstream"}': 2,
    })
  })

  it('takes one label too', async () => {
    const registry = new Registry()
    const c = deferredCounter({ name: 'l_total', help: 'h', labelNames: ['result'], registers: [registry] })
    c.inc('hit')
    expect(await values(registry)).toEqual({ '{"result":"hit"}': 1 })
  })
})

describe('deferredHistogram', () => {
  const make = (registry: Registry) =>
    deferredHistogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['route', 'status_code'],
      buckets: [0.001, 0.01],
      registers: [registry],
    })

  it('writes what prom-client writes for the same observations: cumulative buckets, +Inf, sum and count', async () => {
    const ours = new Registry()
    const theirs = new Registry()
    const h = make(ours)
    const reference = new Histogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['route', 'status_code'],
      buckets: [0.001, 0.01],
      registers: [theirs],
    })
    const observations: [string, number, number][] = [
      ['/can-call', 200, 0.0004],
      ['/can-call', 200, 0.001],
      ['/can-call', 200, 0.005],
      ['/can-call', 503, 2],
      ['/healthz', 200, 0.02],
    ]
    for (const [route, status, seconds] of observations) {
      h.observe(route, status, seconds)
      reference.observe({ route, status_code: String(status) }, seconds)
    }
    const sorted = (text: string) => text.trim().split('\n').sort()
    expect(sorted(await ours.metrics())).toEqual(sorted(await theirs.metrics()))
    expect(await ours.metrics()).toContain(
      'd_seconds_bucket{le="0.01",route="/can-call",status_code="200"} 3',
    )
  })

  it('keeps counting across scrapes and forgets on reset', async () => {
    const registry = new Registry()
    const h = make(registry)
    h.observe('/can-call', 200, 0.0001)
    await registry.metrics()
    h.observe('/can-call', 200, 0.0001)
    expect(await registry.metrics()).toContain('d_seconds_count{route="/can-call",status_code="200"} 2')
    registry.resetMetrics()
    expect(await registry.metrics()).not.toContain('d_seconds_count')
  })
})
