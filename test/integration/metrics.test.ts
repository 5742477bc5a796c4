import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format'
import { grant, useGates, type Harness } from '../helpers/gate.js'

const USER = '+919000000001'
const CONSENTS = [grant(USER)]

const gates = useGates()

async function scrape(h: Harness): Promise<{ text: string; families: Map<string, MetricFamily> }> {
  const res = await h.get('/metrics')
  expect(res.status).toBe(200)
  expect(res.headers['content-type']).toContain('text/plain')
  const text = res.body as string
  return { text, families: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])) }
}

const sample = (f: MetricFamily | undefined, labels: Record<string, string>) =>
  Number(f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? 0)

describe('GET /metrics', () => {
  it('counts decisions, cache lookups and upstream requests by label', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UPSTREAM_RETRIES: '0' } })
    await h.canCall(USER) // miss
    await h.canCall(USER) // hit
    await h.canCall('+919000000009') // miss, no_consent
    await h.get('/can-call?business=x&user=y') // 400
    h.sim.setFault({ kind: 'status', status: 500 }, 1)
    await h.canCall('+919000000008') // 503
    const { families } = await scrape(h)
    const decisions = families.get('consent_gate_decisions_total')
    expect(sample(decisions, { reason: 'consent_granted', source: 'upstream' })).toBe(1)
    expect(sample(decisions, { reason: 'consent_granted', source: 'cache' })).toBe(1)
    expect(sample(decisions, { reason: 'no_consent', source: 'upstream' })).toBe(1)
    expect(sample(decisions, { reason: 'invalid_request', source: 'none' })).toBe(1)
    expect(sample(decisions, { reason: 'upstream_unavailable', source: 'none' })).toBe(1)
    const lookups = families.get('consent_gate_cache_lookups_total')
    expect(sample(lookups, { result: 'hit' })).toBe(1)
    expect(sample(lookups, { result: 'miss' })).toBe(3)
    const upstream = families.get('consent_gate_upstream_requests_total')
    expect(sample(upstream, { outcome: 'ok' })).toBe(2)
    expect(sample(upstream, { outcome: 'error' })).toBe(1)
    expect(sample(families.get('consent_gate_cache_entries'), {})).toBe(2)
    const upstreamHist = families.get('consent_gate_upstream_request_duration_seconds')
    expect(upstreamHist?.type).toBe('HISTOGRAM')
    expect(Number(upstreamHist?.metrics[0]?.count)).toBe(3)
  })

  it('counts coalesced lookups and upstream outcomes auth_failed, rate_limited and timeout', async () => {
    const h = await gates.start({ consents: CONSENTS })
    h.sim.setFault({ kind: 'latency', ms: 50 }, 1)
    await Promise.all([h.canCall(USER), h.canCall(USER), h.canCall(USER)])
    h.sim.setFault({ kind: 'status', status: 401 }, 1)
    await h.canCall('+919000000002')
    h.sim.setFault({ kind: 'status', status: 429, retryAfter: '3' }, 1)
    await h.canCall('+919000000003')
    h.sim.setFault({ kind: 'hang' }, 1)
    await h.canCall('+919000000004')
    const { families } = await scrape(h)
    expect(sample(families.get('consent_gate_cache_lookups_total'), { result: 'coalesced' })).toBe(2)
    const upstream = families.get('consent_gate_upstream_requests_total')
    for (const outcome of ['auth_failed', 'rate_limited', 'timeout'])
      expect(sample(upstream, { outcome })).toBe(1)
  })

  it('times requests by route template and status code, never by URL', async () => {
    const h = await gates.start({ consents: CONSENTS })
    // onResponse runs after the answer is sent: the later requests give the earlier hooks time to run.
    await h.get('/healthz')
    await h.canCall(USER)
    await h.get('/no-such-route')
    await (await request(`${h.url}/healthz`, { method: 'HEAD' })).body.dump()
    await h.get('/readyz')
    const { families, text } = await scrape(h)
    // parse-prometheus-text-format folds labelled histograms together, so their series are read from the text.
    expect(families.get('consent_gate_http_request_duration_seconds')?.type).toBe('HISTOGRAM')
    const count = (route: string) =>
      Number(
        new RegExp(
          `^consent_gate_http_request_duration_seconds_count\\{route="${route}",status_code="200"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1],
      )
    expect(count('/can-call')).toBe(1)
    // The GET and its HEAD twin are counted once each, under the same template.
    expect(count('/healthz')).toBe(2)
    expect(text).toMatch(
      /^consent_gate_http_request_duration_seconds_count\{route="unmatched",status_code="404"\} 1$/m,
    )
    expect(text).not.toContain('919000000001')
    expect(text).not.toContain('918000000001')
    expect(text).not.toContain(h.sim.apiKey)
  })

  it('follows Prometheus naming: HELP on every family, _total on counters, base units', async () => {
    const h = await gates.start({ consents: CONSENTS, deps: { defaultMetrics: true } })
    const { families, text } = await scrape(h)
    expect(families.size).toBeGreaterThan(10)
    for (const f of families.values()) {
      expect(f.help, f.name).not.toBe('')
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/)
      else expect(f.name, `${f.name} is a ${f.type}`).not.toMatch(/_total$/)
      expect(f.name).not.toMatch(/_(ms|milliseconds|kilobytes|mb)$/)
    }
    expect(text).toContain('# TYPE process_cpu_seconds_total counter')
  })
})
