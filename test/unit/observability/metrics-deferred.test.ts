import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { deferredCounter } from '../../../src/observability/metrics-deferred.js'

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
