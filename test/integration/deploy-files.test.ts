// The deployment files cannot be run here (no Docker engine, no cluster), so this pins what can be read:
// every variable they set is one the gate or the simulator reads, and every port, path and name agrees.
import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { posix } from 'node:path'
import { parse } from 'yaml'
import { EnvSchema, loadConfig } from '../../src/config/load.js'
import {
  argsOf,
  composeEnv,
  copies,
  dockerignore,
  dockerStages,
  execForm,
  find,
  glob,
  instructions,
  interpolateAll,
  k8sDocs,
  read,
  resolveEnv,
  runs,
  selects,
  stageEnv,
  stageLabels,
  words,
  type ComposeFile,
  type DockerStage,
  type PodTemplate,
  type SecretKeyRef,
} from '../helpers/deploy-files.js'
import { BUNDLE_ENTRY } from '../../scripts/build-stamp.mjs'

const exists = (path: string) => existsSync(new URL(path, new URL('../../', import.meta.url)))

const pkg = JSON.parse(read('package.json')) as { version: string; scripts: Record<string, string> }
const GATE_VARS = new Set(Object.keys(EnvSchema.properties))
const SIMULATOR_MAIN = 'src/simulator/main.ts'
const SIMULATOR_OPTIONS = 'src/simulator/options.ts'
/** Values the secrets would have; only their validity matters when checking the rest of an environment. */
const DUMMY_SECRETS = { KALEYRA_SID: 'HXSIM00000000001IN', KALEYRA_API_KEY: 'sim-key' }
/** What an operator sets before `docker compose up` or in the Kubernetes Secrets (hex, as documented). */
const OPERATOR_SECRETS = { GATE_API_TOKENS: 'a1'.repeat(16), REDIS_PASSWORD: 'b2'.repeat(16) }
const DEFAULT_PORT = loadConfig(DUMMY_SECRETS).port

// ---- Dockerfile ----

const dockerfile = dockerStages('Dockerfile')
const buildStage = dockerfile[0]!
const runtime = dockerfile.at(-1)!
const runtimeEnv = stageEnv(runtime)
/** The arguments of the last instruction of a stage with that keyword: the one that takes effect. */
const lastArgs = (stage: DockerStage, keyword: string) => {
  const last = instructions(stage, keyword).at(-1)
  return last && argsOf(last)
}
const workdir = lastArgs(runtime, 'WORKDIR') ?? '/'

describe('Dockerfile', () => {
  it('has a build and a runtime stage, both on a node image pinned by tag', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2)
    for (const stage of dockerfile) expect(stage.image).toMatch(/^node:\d+[\w.-]*$/)
    expect(buildStage).not.toBe(runtime)
  })

  it('runs on the Node image it builds on: the code cache the build fills is only used by the same Node', () => {
    expect(runtime.image).toBe(buildStage.image)
  })

  it('builds with `npm ci` and `npm run build` after copying the sources and tsconfigs', () => {
    expect(runs(buildStage)).toMatch(/\bnpm ci\b/)
    const build = instructions(buildStage, 'RUN').find((i) => /\bnpm run build\b/.test(argsOf(i)))
    expect(build).toBeDefined()
    const buildLine = build?.getRange().start.line ?? -1
    const sources = copies(buildStage)
      .filter((c) => c.line < buildLine)
      .flatMap((c) => c.sources)
    const needs = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
      'scripts/bundle.ts',
    ]
    for (const needed of needs)
      expect(
        sources.some((s) => glob(s).test(needed)),
        `${needed} is copied before the build`,
      ).toBe(true)
  })

  it('runs the artefact of the build script: tsc -p tsconfig.build.json, src/ -> dist/, then the bundle', () => {
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json && tsx scripts/bundle.ts')
    const tsconfig = JSON.parse(read('tsconfig.build.json'))
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist', noEmit: false })
    expect(exists('src/server.ts')).toBe(true)
    expect(exists(SIMULATOR_MAIN)).toBe(true)
  })

  it('installs production dependencies only in the runtime stage, with NODE_ENV=production', () => {
    expect(runs(runtime)).toMatch(/\bnpm ci --omit=dev\b/)
    for (const command of runs(runtime).split(/&&|;|\|\|/))
      if (/\bnpm (ci|i|install)\b/.test(command)) expect(command, 'every install').toMatch(/--omit=dev\b/)
    expect(runs(runtime)).not.toMatch(/\bnpm run build\b/)
    // A node_modules copied from the build stage would bring the dev dependencies along.
    expect(copies(runtime).flatMap((c) => c.sources)).not.toContainEqual(
      expect.stringMatching(/node_modules/),
    )
    expect(runtimeEnv.NODE_ENV).toBe('production')
  })

  it('copies only the bundle from the build stage: the simulator and dist/ as tsc wrote it stay out', () => {
    const fromBuild = copies(runtime).filter((c) => c.from === buildStage.name)
    expect(fromBuild.flatMap((c) => c.sources)).toEqual(['/app/dist/bundle'])
    expect(posix.resolve(workdir, fromBuild[0]?.dest ?? '')).toBe(posix.join(workdir, 'dist/bundle'))
  })

  it('builds the simulator as a target of its own, from its bundle, as a non-root user', () => {
    const sim = dockerfile.find((s) => s.name === 'simulator')
    expect(sim, 'a simulator stage').toBeDefined()
    if (!sim) return
    expect(copies(sim).flatMap((c) => c.sources)).toEqual(['/app/dist/simulator'])
    expect(execForm(lastArgs(sim, 'CMD') ?? '')).toEqual(['node', 'dist/simulator/simulator.mjs'])
    expect(lastArgs(sim, 'USER')).toBe('node')
    expect(read('scripts/bundle.ts')).toContain("'../src/simulator/main.ts'")
  })

  it('listens on 0.0.0.0 and exposes the PORT it sets', () => {
    const config = loadConfig({ ...runtimeEnv, ...DUMMY_SECRETS })
    expect(config.host).toBe('0.0.0.0')
    const exposed = instructions(runtime, 'EXPOSE').flatMap((e) => e.getArguments().map((a) => a.getValue()))
    expect(exposed).toEqual([String(config.port)])
  })

  it('runs as a non-root user', () => {
    const user = lastArgs(runtime, 'USER')
    expect(user).toBeDefined()
    expect(user).not.toMatch(/^(root|0)(:|$)/)
  })

  it('checks liveness on /healthz with node (the slim image has no curl)', () => {
    const check = runtime.ast.getHEALTHCHECKs().at(-1)
    expect(check?.getSubcommand()?.getValue()).toBe('CMD')
    const command = argsOf(check!).replace(/^CMD\s+/, '')
    const words = execForm(command) ?? command.split(/\s+/)
    expect(words[0]).toBe('node')
    expect(command).toContain('/healthz')
    expect(command).not.toMatch(/\b(curl|wget)\b/)
  })

  it('starts the bundle (`node dist/bundle/consent-gate.mjs`) in exec form, as npm start does', () => {
    const cmd = lastArgs(runtime, 'CMD')
    expect(execForm(cmd ?? ''), `exec form: ${cmd}`).toEqual(['node', 'dist/bundle/consent-gate.mjs'])
    // npm start builds first when the sources changed, then imports this same bundle.
    expect(pkg.scripts.start).toBe('node scripts/start.mjs')
    expect(BUNDLE_ENTRY).toBe('dist/bundle/consent-gate.mjs')
    expect(runtime.ast.getENTRYPOINTs()).toEqual([])
  })

  it('labels the image with the package version', () => {
    expect(stageLabels(runtime)['org.opencontainers.image.version']).toBe(pkg.version)
  })
})

describe('.dockerignore', () => {
  const ignored = dockerignore()

  it('keeps node_modules, .git, dist and .env out of the build context', () => {
    for (const path of ['node_modules', '.git', 'dist', '.env']) expect(ignored(path), path).toBe(true)
  })

  it('keeps everything the build copies', () => {
    const sources = copies(buildStage).flatMap((c) => c.sources)
    expect(sources).toContain('scripts/bundle.ts')
    for (const path of sources.flatMap((s) => (s.includes('*') ? [] : [s])))
      expect(ignored(path), path).toBe(false)
    for (const path of ['package.json', 'tsconfig.json', 'tsconfig.build.json'])
      expect(ignored(path), path).toBe(false)
  })

  it('keeps the other scripts, tests and benchmarks out', () => {
    for (const path of ['scripts/openapi.ts', 'test', 'bench/run.ts']) expect(ignored(path), path).toBe(true)
  })
})

// ---- docker-compose.yml ----

type Env = Record<string, string>
interface ScrapeJob {
  job_name: string
  static_configs: { targets: string[] }[]
}

const containerPort = (mapping: unknown) =>
  typeof mapping === 'object' && mapping !== null
    ? Number((mapping as { target: unknown }).target)
    : Number(String(mapping).split(':').at(-1)!.split('/')[0])

// As `docker compose up` sees it once the variables .env.example asks for are set.
const compose = interpolateAll(parse(read('docker-compose.yml')) as ComposeFile, OPERATOR_SECRETS)
const composeService = (name: string) => compose.services[name] ?? {}
const gate = composeService('consent-gate')
const simulator = composeService('kaleyra-simulator')
const gateEnv = composeEnv(gate)
const simEnv = composeEnv(simulator)
const simPort = Number(simEnv.SIMULATOR_PORT ?? 8081)
const composeConfig = loadConfig({ ...runtimeEnv, ...gateEnv })

describe('docker-compose.yml', () => {
  it('builds the gate and the simulator from this Dockerfile', () => {
    for (const s of [gate, simulator]) {
      const context = typeof s.build === 'string' ? s.build : s.build?.context
      expect(context).toBe('.')
    }
    expect(gate.image).toBe(`consent-gate:${pkg.version}`)
    expect(typeof simulator.build === 'string' ? undefined : simulator.build?.target).toBe('simulator')
    expect(simulator.image).toBe(`consent-gate-simulator:${pkg.version}`)
    expect(simulator.command).toBeUndefined()
  })

  it('sets only variables the gate reads, and a valid environment', () => {
    expect(Object.keys(gateEnv).length).toBeGreaterThan(0)
    for (const key of Object.keys(gateEnv)) expect(GATE_VARS, key).toContain(key)
    expect(composeConfig.logLevel).toBe(gateEnv.LOG_LEVEL)
  })

  it('sets only variables the simulator reads', () => {
    const source = read(SIMULATOR_MAIN) + read(SIMULATOR_OPTIONS)
    expect(Object.keys(simEnv).length).toBeGreaterThan(0)
    for (const key of Object.keys(simEnv))
      expect(source, key).toMatch(new RegExp(`\\benv\\.${key}\\b|\\b${key}: Type\\.`))
    expect(simEnv.SIMULATOR_HOST, 'reachable from the gate container').toBe('0.0.0.0')
  })

  it('gives the gate and the simulator the same Kaleyra SID and key', () => {
    expect(gateEnv.KALEYRA_SID).toBeTruthy()
    expect(gateEnv.KALEYRA_API_KEY).toBeTruthy()
    expect(simEnv.KALEYRA_SID).toBe(gateEnv.KALEYRA_SID)
    expect(simEnv.KALEYRA_API_KEY).toBe(gateEnv.KALEYRA_API_KEY)
  })

  it('points the gate at the simulator service and port', () => {
    const url = new URL(composeConfig.kaleyra!.baseUrl)
    expect(Object.keys(compose.services)).toContain(url.hostname)
    expect(url.hostname).toBe('kaleyra-simulator')
    expect(Number(url.port)).toBe(simPort)
    const dependsOn = Array.isArray(gate.depends_on) ? gate.depends_on : Object.keys(gate.depends_on ?? {})
    expect(dependsOn).toContain('kaleyra-simulator')
  })

  it("checks the simulator's health on its own port, not the gate's", () => {
    expect(words(simulator.healthcheck?.test).join(' ')).toContain(`127.0.0.1:${simPort}/`)
  })

  it("publishes the gate's PORT", () => {
    expect(composeConfig.port).toBe(DEFAULT_PORT)
    expect((gate.ports ?? []).map(containerPort)).toContain(composeConfig.port)
  })

  it('runs a pinned Prometheus on a config file in this repository that scrapes the gate', () => {
    const prometheus = composeService('prometheus')
    expect(prometheus.image).toMatch(/^prom\/prometheus:v[23]\.\d+\.\d+$/)
    const mount = (prometheus.volumes ?? [])
      .map((v) => v.split(':'))
      .find(([, target]) => target === '/etc/prometheus/prometheus.yml')
    expect(mount).toBeDefined()
    const file = posix.normalize(mount![0]!)
    expect(exists(file)).toBe(true)
    const jobs = (parse(read(file)) as { scrape_configs: ScrapeJob[] }).scrape_configs
    const job = jobs.find((j) => j.job_name === 'consent-gate')
    expect(job).toMatchObject({ metrics_path: '/metrics', scrape_interval: '15s' })
    const targets = job?.static_configs.flatMap((s) => s.targets)
    expect(targets).toContain(`consent-gate:${composeConfig.port}`)
  })
})

// ---- Kubernetes ----

const k8s = k8sDocs('deploy/kubernetes/dialer-with-gate.yaml')
const deployment = find(k8s, 'Deployment')
const pod = deployment.spec.template as PodTemplate
const containers = pod.spec.containers
const sidecar = containers.find((c) => c.name === 'consent-gate')!
const sidecarEnv = sidecar.env ?? []
const sidecarPorts = sidecar.ports ?? []
/** A probe or Service may name a port or give its number; both must land on the gate's port. */
const resolvePort = (port: string | number | undefined) =>
  typeof port === 'number' ? port : sidecarPorts.find((p) => p.name === port)?.containerPort
const literalEnv: Env = Object.fromEntries(
  sidecarEnv.filter((e) => 'value' in e).map((e) => [e.name, String(e.value)]),
)
/** The Secrets' keys as an operator fills them in; the optional webhook and admin secrets left out. */
const operatorSecret = ({ key }: SecretKeyRef): string | undefined =>
  ({ ...DUMMY_SECRETS, ...OPERATOR_SECRETS })[key]
const resolvedEnv = resolveEnv(sidecar, operatorSecret)
const k8sConfig = loadConfig(resolvedEnv)

describe('deploy/kubernetes/dialer-with-gate.yaml', () => {
  it('runs the gate image of this version as a sidecar of the dialer', () => {
    expect(sidecar?.image).toBe(`consent-gate:${pkg.version}`)
    const dialer = containers.find((c) => c !== sidecar)
    const url = dialer?.env?.find((e) => e.name === 'CONSENT_GATE_URL')?.value
    expect(new URL(String(url)).host).toBe(`127.0.0.1:${k8sConfig.port}`)
  })

  it('sets only variables the gate reads (or that one of them is built from), with valid values', () => {
    expect(sidecarEnv.length).toBeGreaterThan(0)
    const refs = (name: string) => sidecarEnv.some((e) => String(e.value ?? '').includes(`$(${name})`))
    for (const { name } of sidecarEnv) if (!refs(name)) expect(GATE_VARS, name).toContain(name)
    expect(k8sConfig.host, 'kubelet probes reach the pod IP, not loopback').toBe('0.0.0.0')
  })

  it('takes the Kaleyra credentials from a Secret (deploy-security.test.ts checks every reference)', () => {
    const fromSecret = sidecarEnv.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name)
    expect(fromSecret).toEqual(expect.arrayContaining(['KALEYRA_SID', 'KALEYRA_API_KEY']))
    expect(literalEnv).not.toHaveProperty('KALEYRA_API_KEY')
    expect(k8sConfig.kaleyra!.apiKey).toBe(DUMMY_SECRETS.KALEYRA_API_KEY)
  })

  it('probes /healthz and /readyz on the port the gate listens on', () => {
    expect(sidecarPorts.map((p) => p.containerPort)).toEqual([k8sConfig.port])
    expect(sidecar.livenessProbe?.httpGet.path).toBe('/healthz')
    expect(sidecar.readinessProbe?.httpGet.path).toBe('/readyz')
    if (sidecar.startupProbe) expect(sidecar.startupProbe.httpGet.path).toBe('/healthz')
    for (const probe of [sidecar.livenessProbe, sidecar.readinessProbe, sidecar.startupProbe])
      if (probe) expect(resolvePort(probe.httpGet.port)).toBe(k8sConfig.port)
  })

  it('runs the gate non-root, read-only and without capabilities', () => {
    expect(sidecar.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    })
    expect(sidecar.securityContext?.runAsUser).toBeGreaterThan(0)
    expect(sidecar.securityContext?.capabilities?.drop).toContain('ALL')
  })

  it('bounds the gate with requests and limits', () => {
    for (const kind of ['requests', 'limits'])
      expect(Object.keys(sidecar.resources?.[kind] ?? {}).sort(), kind).toEqual(['cpu', 'memory'])
  })

  it('gives the gate longer than its own shutdown grace to drain', () => {
    const grace = /SHUTDOWN_GRACE_MS = ([\d_]+)/.exec(read('src/server.ts'))?.[1]
    expect(grace).toBeDefined()
    const periodMs = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000
    expect(periodMs).toBeGreaterThan(Number(grace?.replace(/_/g, '')))
  })

  it("annotates the pod for scraping the gate's /metrics", () => {
    expect(pod.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(k8sConfig.port),
      'prometheus.io/path': '/metrics',
    })
  })

  it("selects its own pods' labels", () => {
    expect(selects(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true)
  })
})

describe('deploy/kubernetes/servicemonitor.yaml', () => {
  const docs = k8sDocs('deploy/kubernetes/servicemonitor.yaml')
  const service = find(docs, 'Service')
  const monitor = find(docs, 'ServiceMonitor')
  const ports = service.spec.ports as { name?: string; port: number; targetPort?: string | number }[]
  const servicePort = ports.find((p) => p.name === 'gate-metrics')

  it("has a headless Service selecting the dialer pods on the gate's port", () => {
    expect(service.spec.clusterIP).toBe('None')
    expect(selects(service.spec.selector, pod.metadata.labels)).toBe(true)
    expect(servicePort?.port).toBe(k8sConfig.port)
    expect(resolvePort(servicePort?.targetPort ?? servicePort?.port)).toBe(k8sConfig.port)
  })

  it('has a ServiceMonitor selecting that Service and scraping its named port on /metrics', () => {
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1')
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true)
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({ port: servicePort?.name, path: '/metrics', interval: '15s' }),
    ])
  })
})

describe('shared tier (Redis) in the deployment files', () => {
  it('points the compose gate at the compose redis service, which it waits for', () => {
    const url = new URL(gateEnv.REDIS_URL ?? '')
    expect(url.protocol).toBe('redis:')
    expect(compose.services[url.hostname]).toBeDefined()
    expect(url.port).toBe('6379')
    expect(JSON.stringify(gate.depends_on)).toContain(url.hostname)
    expect(composeConfig.redis?.url).toBe(gateEnv.REDIS_URL)
  })

  it('points the Kubernetes REDIS_URL at the Service and port redis.yaml defines', () => {
    const docs = k8sDocs('deploy/kubernetes/redis.yaml')
    const service = find(docs, 'Service')
    const redisPod = find(docs, 'Deployment').spec.template as PodTemplate
    const url = new URL(k8sConfig.redis?.url ?? '')
    expect(url.protocol).toBe('redis:')
    expect(url.hostname).toBe(service.metadata.name)
    expect(Number(url.port)).toBe(service.spec.ports[0].port)
    expect(service.spec.selector).toEqual(redisPod.metadata.labels)
    expect(redisPod.spec.containers[0]?.securityContext?.runAsNonRoot).toBe(true)
  })
})
