// Where the dashboard and alerts are deployed (issue 15): the generated files match their sources, docker compose
// wires Prometheus' rules, Grafana's provisioning and the load generator as the files say, and the load generator
// really drives a gate (with its caller token) through every consent reason. No Docker engine runs here.
import { spawn } from 'node:child_process'
import { posix } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { demoConsents } from '../../src/simulator/seed.js'
import { buildDashboard } from '../../scripts/observability/dashboard.js'
import {
  ALERTS,
  DASHBOARD_CONFIGMAP,
  DASHBOARD_JSON,
  DASHBOARD_LABEL,
  PROMETHEUS_RULE,
  dashboardKey,
} from '../../scripts/observability/files.js'
import {
  composeEnv,
  find,
  interpolateAll,
  k8sDocs,
  read,
  words,
  type ComposeFile,
} from '../helpers/deploy-files.js'
import { T0, useGates } from '../helpers/gate.js'

const TOKEN = 'a1'.repeat(16)
const compose = interpolateAll(parse(read('docker-compose.yml')) as ComposeFile, {
  GATE_API_TOKENS: TOKEN,
  REDIS_PASSWORD: 'b2'.repeat(16),
})
const service = (name: string) => {
  const s = compose.services[name]
  if (!s) throw new Error(`docker-compose.yml has no ${name} service`)
  return s
}
/** A service's bind mounts as target -> repository path. */
const mounts = (name: string) =>
  new Map(
    (service(name).volumes ?? []).map((v) => {
      const [source = '', target = ''] = v.split(':')
      return [target, posix.normalize(source)]
    }),
  )
const dependsOn = (name: string) =>
  service(name).depends_on as Record<string, { condition?: string }> | string[]

describe('generated observability files (npm run observability)', () => {
  const dashboard = JSON.parse(JSON.stringify(buildDashboard()))

  it('writes the dashboard that scripts/observability/dashboard.ts builds', () => {
    expect(JSON.parse(read(DASHBOARD_JSON))).toEqual(dashboard)
  })

  it('ships the same dashboard as a ConfigMap the Grafana sidecar picks up', () => {
    const configMap = find(k8sDocs(DASHBOARD_CONFIGMAP), 'ConfigMap')
    expect(configMap.metadata.labels?.[DASHBOARD_LABEL]).toBe('1')
    expect(Object.keys(configMap.data ?? {})).toEqual([dashboardKey()])
    expect(JSON.parse(configMap.data?.[dashboardKey()] ?? '')).toEqual(dashboard)
  })

  it('ships alerts.yml as a PrometheusRule selected like the ServiceMonitor', () => {
    const rule = find(k8sDocs(PROMETHEUS_RULE), 'PrometheusRule')
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1')
    expect(rule.spec.groups).toEqual((parse(read(ALERTS)) as { groups: unknown }).groups)
    const monitor = find(k8sDocs('deploy/kubernetes/servicemonitor.yaml'), 'ServiceMonitor')
    expect(rule.metadata.labels?.release).toBe(monitor.metadata.labels?.release)
  })

  it('names the Kubernetes gates job="consent-gate", as ConsentGateDown expects', () => {
    const monitor = find(k8sDocs('deploy/kubernetes/servicemonitor.yaml'), 'ServiceMonitor')
    expect(monitor.spec.endpoints[0].relabelings).toContainEqual(
      expect.objectContaining({ targetLabel: 'job', replacement: 'consent-gate' }),
    )
    expect(read(ALERTS)).toContain('up{job="consent-gate"}')
    const jobs = (
      parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: { job_name: string }[] }
    ).scrape_configs
    expect(jobs.map((j) => j.job_name)).toContain('consent-gate')
  })
})

describe('docker-compose.yml: Prometheus rules, Grafana and the load generator', () => {
  it("mounts alerts.yml where prometheus.yml's rule_files finds it", () => {
    const config = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[] }
    const promMounts = mounts('prometheus')
    const configDir = posix.dirname(
      [...promMounts].find(([, src]) => src.endsWith('prometheus.yml'))?.[0] ?? '',
    )
    expect(config.rule_files.length).toBeGreaterThan(0)
    for (const file of config.rule_files) expect(promMounts.get(posix.resolve(configDir, file))).toBe(ALERTS)
  })

  it('runs a pinned Grafana on loopback, provisioned with the dashboard and the compose Prometheus', () => {
    const grafana = service('grafana')
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/)
    expect((grafana.ports ?? []).map(String)).toEqual(['127.0.0.1:3000:3000'])
    const grafanaMounts = mounts('grafana')
    expect(grafanaMounts.get('/etc/grafana/provisioning')).toBe('deploy/grafana/provisioning')
    const provider = parse(read('deploy/grafana/provisioning/dashboards/consent-gate.yml')).providers[0]
    expect(provider).toMatchObject({ type: 'file', allowUiUpdates: false })
    const dashboardTarget = posix.join(provider.options.path, dashboardKey())
    expect(grafanaMounts.get(dashboardTarget)).toBe(DASHBOARD_JSON)
    expect(composeEnv(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(dashboardTarget)
    const datasource = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')).datasources[0]
    expect(datasource).toMatchObject({ type: 'prometheus', isDefault: true })
    const url = new URL(datasource.url)
    expect(service(url.hostname).image).toMatch(/^prom\/prometheus:/)
    expect(service(url.hostname).ports?.map(String)).toContain(`127.0.0.1:9090:${url.port}`)
  })

  it('lets anonymous visitors look but not log in or save: no admin with a default password', () => {
    expect(composeEnv(service('grafana'))).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_AUTH_DISABLE_LOGIN_FORM: 'true',
      GF_AUTH_BASIC_ENABLED: 'false',
    })
  })

  it('runs scripts/loadgen.ts in the gate image against the gate, with the caller token, once it is healthy', () => {
    const loadgen = service('loadgen')
    const gate = service('consent-gate')
    expect(loadgen.image).toBe(gate.image)
    // Built here like the gate, so compose never tries to pull a consent-gate image from a registry.
    expect(loadgen.build).toEqual(gate.build)
    const command = words(loadgen.command)
    expect(command.slice(0, 2)).toEqual(['node', '--experimental-strip-types'])
    // Relative to the image's WORKDIR, beside its package.json ("type": "module").
    expect(read('Dockerfile')).toMatch(/^WORKDIR \/app$/m)
    expect(mounts('loadgen').get(posix.join('/app', command.at(-1) ?? ''))).toBe('scripts/loadgen.ts')
    const env = composeEnv(loadgen)
    expect(env.GATE_API_TOKENS).toBe(TOKEN)
    expect(new URL(env.GATE_URL ?? '').host).toBe('consent-gate:8080')
    expect(dependsOn('loadgen')).toMatchObject({ 'consent-gate': { condition: 'service_healthy' } })
  })
})

/** Runs scripts/loadgen.ts as compose does (tsx standing in for Node's type stripping on Node 20). */
function loadgen(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/loadgen.ts'], {
    cwd: new URL('../../', import.meta.url),
    env: { PATH: process.env.PATH, ...env },
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })))
}

describe('scripts/loadgen.ts', () => {
  const gates = useGates()

  it('drives a gate with its caller token through every consent reason, a streak and a bad request', async () => {
    const h = await gates.start({
      consents: demoConsents(T0),
      logLevel: 'silent',
      env: { GATE_API_TOKENS: TOKEN, UPSTREAM_MAX_RPS: '0' },
    })
    const run = await loadgen({
      GATE_URL: h.url,
      GATE_API_TOKENS: TOKEN,
      LOADGEN_RATE: '1000',
      LOADGEN_MAX_REQUESTS: '400',
      LOADGEN_DURATION_SECONDS: '20',
    })
    expect(run.output).toContain('loadgen: done, 400 requests')
    expect(run.output).not.toContain('401')
    expect(run.code).toBe(0)
    const metrics = (await h.get('/metrics')).body as string
    for (const reason of [
      'consent_granted',
      'consent_rejected',
      'consent_expired',
      'action_not_permitted',
      'no_consent',
      'unanswered_streak',
      'invalid_request',
    ])
      expect(metrics).toMatch(new RegExp(`^consent_gate_decisions_total\\{reason="${reason}"`, 'm'))
  }, 30_000)

  it('exits 1 when nothing answers 200 (a wrong token), and on a bad setting, naming it', async () => {
    const h = await gates.start({ logLevel: 'silent', env: { GATE_API_TOKENS: TOKEN } })
    const refused = await loadgen({
      GATE_URL: h.url,
      GATE_API_TOKENS: 'b'.repeat(32),
      LOADGEN_MAX_REQUESTS: '5',
    })
    expect(refused.output).toContain('401: 5')
    expect(refused.code).toBe(1)
    const bad = await loadgen({ GATE_URL: h.url, LOADGEN_RATE: 'fast' })
    expect(bad.output).toContain('LOADGEN_RATE')
    expect(bad.code).toBe(1)
  }, 30_000)
})
