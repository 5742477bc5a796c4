// Secure defaults of the deployment examples (issue 11). Whoever reaches a gate without caller tokens can
// report `answered` call outcomes, which unblock pairs; whoever reaches the shared Redis can publish a
// decision to the whole fleet. So: no secret as a literal, no gate beyond loopback without tokens, and a
// Redis with a password, only gates admitted, and no eviction of a safety key.
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import {
  allK8sDocs,
  composeEnv,
  containersOf,
  expandK8s,
  find,
  interpolateAll,
  podTemplates,
  read,
  resolveEnv,
  secretsOf,
  selects,
  words,
  type ComposeFile,
  type ComposeService,
  type Container,
  type EnvVar,
  type PodTemplate,
  type SecretKeyRef,
} from '../helpers/deploy-files.js'

/** Names of variables holding a secret: caller, webhook and admin tokens, keys, passwords, Basic auth. */
const SECRET_NAME = /TOKENS?$|SECRET$|PASSWORD$|API_KEY$|AUTH$/
/** Secrets whose absence only leaves their route unregistered: the only ones a Secret may omit. */
const ROUTE_SECRETS = [
  'WEBHOOK_BEARER_TOKEN',
  'WEBHOOK_BASIC_AUTH',
  'META_APP_SECRET',
  'META_VERIFY_TOKEN',
  'ADMIN_API_TOKEN',
]
const GATE_SECRETS = ['KALEYRA_API_KEY', 'GATE_API_TOKENS', ...ROUTE_SECRETS]
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])
/** What an operator puts in .env or the Secrets: valid values, hex as documented. */
const OPERATOR = {
  KALEYRA_SID: 'HXSIM00000000001IN',
  KALEYRA_API_KEY: 'sim-key',
  GATE_API_TOKENS: 'a1'.repeat(16),
  REDIS_PASSWORD: 'b2'.repeat(16),
}
const operatorSecret = ({ key }: SecretKeyRef) => (OPERATOR as Record<string, string>)[key]
/** A Compose value that is nothing but a required variable: no literal, no default. */
const REQUIRED = /^\$\{(\w+):\?[^}]+\}$/

/** The value after a flag in a command line. */
const flag = (args: string[], name: string) => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}
/** Redis sizes (`1k` = 1000, `1kb` = 1024, ...) and Kubernetes quantities (`1M`, `1Mi`), in bytes. */
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  kb: 2 ** 10,
  ki: 2 ** 10,
  m: 1e6,
  mb: 2 ** 20,
  mi: 2 ** 20,
}
const bytes = (size: string | undefined) => {
  const m = /^(\d+)([a-z]*)$/i.exec(size ?? '')
  return m ? Number(m[1]) * (UNITS[m[2]!.toLowerCase()] ?? NaN) : NaN
}
/** The password of a URL read as text, so that an unexpanded `$(VAR)` or `${VAR}` shows as written. */
const urlPassword = (url: string) => /^[a-z][\w+.-]*:\/\/[^:@/]*:([^@/]*)@/i.exec(url)?.[1]

// ---- Kubernetes ----

const k8s = allK8sDocs()
const secrets = secretsOf(k8s)
const pods = podTemplates(k8s)
const allContainers = pods.flatMap(containersOf)
/** The gate's image with its own command (Compose runs the simulator from the same image, with another). */
const isGate = (c: { image?: string; command?: unknown; args?: unknown }) =>
  /^consent-gate:/.test(c.image ?? '') && c.command === undefined && c.args === undefined
const gates = allContainers.filter(isGate)
const envVar = (c: Container, name: string): EnvVar | undefined => c.env?.find((e) => e.name === name)
/** Outside the image, the default HOST is loopback; the image sets 0.0.0.0, so an unset HOST is not. */
const listensBeyondLoopback = (host: string | undefined) => !LOOPBACK.has(host ?? '0.0.0.0')

const redisDeployment = find(k8s, 'Deployment', 'consent-gate-redis')
const redisPod = redisDeployment.spec.template as PodTemplate
const redis = redisPod.spec.containers.find((c) => /^(redis|valkey)/.test(c.image.split('/').at(-1)!))!
const redisArgs = [...(redis.command ?? []), ...(redis.args ?? [])]
const redisPort = redis.ports?.find((p) => p.containerPort === 6379)
/** The variable `--requirepass $(VAR)` names. */
const passwordVar = /^\$\((\w+)\)$/.exec(flag(redisArgs, '--requirepass') ?? '')?.[1] ?? ''

describe('deploy/kubernetes: secrets', () => {
  it('sets no secret-like variable of any container to a literal value', () => {
    const secretVars = allContainers.flatMap((c) => (c.env ?? []).filter((e) => SECRET_NAME.test(e.name)))
    // The pattern must catch every gate secret, or the loop below would check nothing.
    expect(secretVars.map((e) => e.name)).toEqual(expect.arrayContaining(GATE_SECRETS))
    for (const e of secretVars) {
      expect(e, e.name).not.toHaveProperty('value')
      expect(e.valueFrom?.secretKeyRef, e.name).toBeDefined()
    }
  })

  it("takes every gate's Kaleyra credentials, caller tokens, webhook and admin secrets from a Secret", () => {
    expect(gates.length).toBeGreaterThan(0)
    for (const gate of gates)
      for (const name of ['KALEYRA_SID', ...GATE_SECRETS])
        expect(envVar(gate, name)?.valueFrom?.secretKeyRef, name).toBeDefined()
  })

  it('refers to Secrets of these manifests by keys they have; only route secrets are optional', () => {
    const refs = allContainers.flatMap((c) =>
      (c.env ?? []).flatMap((e) =>
        e.valueFrom?.secretKeyRef ? [{ var: e.name, ...e.valueFrom.secretKeyRef }] : [],
      ),
    )
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) {
      expect(Object.keys(secrets), ref.var).toContain(ref.name)
      if (ref.optional) expect(ROUTE_SECRETS, `${ref.var} is optional`).toContain(ref.var)
      else expect(Object.keys(secrets[ref.name] ?? {}), ref.var).toContain(ref.key)
    }
  })

  it('writes no password into a literal URL: only $(VAR) of a variable from a Secret, defined above', () => {
    for (const c of allContainers)
      (c.env ?? []).forEach((e, i) => {
        const password = urlPassword(String(e.value ?? ''))
        if (password === undefined) return
        const name = /^\$\(([\w.-]+)\)$/.exec(password)?.[1]
        expect(name, `${c.name} ${e.name}`).toBeDefined()
        const source = c.env?.slice(0, i).find((d) => d.name === name)
        expect(source?.valueFrom?.secretKeyRef, `${c.name} ${e.name}`).toBeDefined()
      })
  })

  it('never runs a gate beyond loopback without caller tokens from a Secret key that exists', () => {
    const exposed = gates.filter((g) => listensBeyondLoopback(envVar(g, 'HOST')?.value as string | undefined))
    expect(exposed.length, 'the sidecar listens on the pod IP for its probes').toBeGreaterThan(0)
    for (const gate of exposed) {
      const ref = envVar(gate, 'GATE_API_TOKENS')?.valueFrom?.secretKeyRef
      expect(ref).toBeDefined()
      expect(ref?.optional ?? false).toBe(false)
      expect(Object.keys(secrets[ref?.name ?? ''] ?? {})).toContain(ref?.key)
    }
  })

  it('ships Secret placeholders the gate refuses: an unedited copy never starts with a published secret', () => {
    const cases = [
      { key: 'GATE_API_TOKENS', variable: 'GATE_API_TOKENS' },
      { key: 'REDIS_PASSWORD', variable: 'REDIS_URL' },
    ]
    for (const gate of gates) {
      expect(() => loadConfig(resolveEnv(gate, operatorSecret))).not.toThrow()
      for (const { key, variable } of cases) {
        const shipped = (ref: SecretKeyRef) =>
          ref.key === key ? secrets[ref.name]?.[key] : operatorSecret(ref)
        expect(() => loadConfig(resolveEnv(gate, shipped)), key).toThrow(
          expect.objectContaining({ name: ConfigError.name, variable }),
        )
      }
    }
  })
})

describe('deploy/kubernetes/redis.yaml', () => {
  const redisEnv = resolveEnv(redis, operatorSecret)
  const args = redisArgs.map((a) => expandK8s(a, redisEnv))

  it("requires a password from a Secret, the one in every gate's REDIS_URL", () => {
    expect(passwordVar, '--requirepass $(VAR)').not.toBe('')
    expect(envVar(redis, passwordVar)?.valueFrom?.secretKeyRef).toBeDefined()
    expect(flag(args, '--requirepass')).toBe(OPERATOR.REDIS_PASSWORD)
    for (const gate of gates) {
      const url = loadConfig(resolveEnv(gate, operatorSecret)).redis?.url
      expect(url, 'the example gates share this Redis').toBeDefined()
      expect(decodeURIComponent(new URL(url!).password)).toBe(OPERATOR.REDIS_PASSWORD)
    }
  })

  it('probes with the password, from the same Secret key', () => {
    expect(redisEnv.REDISCLI_AUTH).toBe(OPERATOR.REDIS_PASSWORD)
    const ref = envVar(redis, 'REDISCLI_AUTH')?.valueFrom?.secretKeyRef
    expect(ref).toBeDefined()
    expect(ref).toEqual(envVar(redis, passwordVar)?.valueFrom?.secretKeyRef)
    expect(words(redis.readinessProbe?.exec?.command).join(' ')).toMatch(/redis-cli ping \| grep -q PONG/)
  })

  it('never evicts a key, and bounds its memory below the container limit', () => {
    expect(flag(args, '--maxmemory-policy')).toBe('noeviction')
    const max = bytes(flag(args, '--maxmemory'))
    expect(max).toBeGreaterThan(0)
    // Redis needs room beyond maxmemory (buffers, fragmentation) before the kernel kills it.
    expect(max).toBeLessThanOrEqual(0.8 * bytes(redis.resources?.limits?.memory))
  })

  it('admits only pods running a gate, only on the Redis port', () => {
    const policies = k8s.filter(
      (d) => d.kind === 'NetworkPolicy' && selects(d.spec.podSelector?.matchLabels, redisPod.metadata.labels),
    )
    expect(policies.length).toBe(1)
    const spec = policies[0]!.spec
    expect(spec.policyTypes).toContain('Ingress')
    const rules = (spec.ingress ?? []) as {
      from?: Record<string, unknown>[]
      ports?: Record<string, unknown>[]
    }[]
    expect(rules.length).toBeGreaterThan(0)
    for (const rule of rules) {
      // An empty `from` or `ports` admits everything; a namespaceSelector or ipBlock admits beyond the gates.
      expect(rule.from?.length).toBeGreaterThan(0)
      for (const peer of rule.from ?? []) {
        expect(Object.keys(peer)).toEqual(['podSelector'])
        const selector = (peer.podSelector as { matchLabels?: Record<string, string> }).matchLabels
        const admitted = pods.filter((p) => selects(selector, p.metadata.labels))
        expect(admitted.length, 'admits the dialers').toBeGreaterThan(0)
        for (const pod of admitted) expect(pod.spec.containers.some(isGate), 'admits only gates').toBe(true)
      }
      expect(rule.ports?.length).toBeGreaterThan(0)
      for (const port of rule.ports ?? []) {
        expect(port.protocol ?? 'TCP').toBe('TCP')
        expect([redisPort?.name, redisPort?.containerPort]).toContain(port.port)
        expect(port).not.toHaveProperty('endPort')
      }
    }
  })
})

// ---- docker-compose.yml ----

const rawCompose = parse(read('docker-compose.yml')) as ComposeFile
const composed = interpolateAll(rawCompose, OPERATOR)
const services = Object.entries(rawCompose.services)
const [gateName, rawGate] = services.find(([, s]) => isGate(s))!
const simulatorHost = new URL(composeEnv(composed.services[gateName]!).KALEYRA_BASE_URL ?? 'http://none')
  .hostname
/** The simulator's SID and key are demo values only it accepts, allowed while the gate asks the simulator. */
const isSimulatorDemoKey = (service: string, name: string) =>
  name === 'KALEYRA_API_KEY' &&
  [gateName, simulatorHost].includes(service) &&
  simulatorHost in rawCompose.services
const redisService = services.find(([, s]) => /^(redis|valkey)[:@]/.test(s.image?.split('/').at(-1) ?? ''))

describe('docker-compose.yml: secrets', () => {
  it('refuses to start without GATE_API_TOKENS or REDIS_PASSWORD, unset or empty', () => {
    for (const name of ['GATE_API_TOKENS', 'REDIS_PASSWORD']) {
      expect(() => interpolateAll(rawCompose, { ...OPERATOR, [name]: undefined }), name).toThrow(name)
      expect(() => interpolateAll(rawCompose, { ...OPERATOR, [name]: '' }), name).toThrow(name)
    }
  })

  it("takes every secret from a required variable, never a literal (but the simulator's demo key)", () => {
    const secretVars = services.flatMap(([service, s]: [string, ComposeService]) =>
      Object.entries(composeEnv(s)).flatMap(([name, value]) =>
        SECRET_NAME.test(name) && !isSimulatorDemoKey(service, name) ? [{ service, name, value }] : [],
      ),
    )
    expect(secretVars.map((v) => v.name)).toEqual(
      expect.arrayContaining(['GATE_API_TOKENS', 'REDISCLI_AUTH']),
    )
    for (const { service, name, value } of secretVars) expect(value, `${service} ${name}`).toMatch(REQUIRED)
    // A password inside a URL (REDIS_URL) too.
    for (const [service, s] of services)
      for (const [name, value] of Object.entries(composeEnv(s)))
        if (urlPassword(value) !== undefined)
          expect(urlPassword(value), `${service} ${name}`).toMatch(REQUIRED)
  })

  it('requires caller tokens of a gate listening beyond loopback (the compose network)', () => {
    const host = composeEnv(rawGate).HOST
    expect(listensBeyondLoopback(host), 'other services reach the gate').toBe(true)
    expect(composeEnv(rawGate).GATE_API_TOKENS).toMatch(REQUIRED)
    const config = loadConfig(composeEnv(composed.services[gateName]!))
    expect(config.apiTokens).toEqual([OPERATOR.GATE_API_TOKENS])
  })

  it('publishes ports on loopback only', () => {
    const published = services.flatMap(([, s]) => (s.ports ?? []).map(String))
    expect(published.length).toBeGreaterThan(0)
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/)
  })
})

describe('docker-compose.yml: redis', () => {
  const [redisName, rawRedis] = redisService ?? ['', {}]
  const rawArgs = words(rawRedis.command)
  const args = words(composed.services[redisName]?.command)

  it("requires a password from a required variable, the one in the gate's REDIS_URL", () => {
    expect(flag(rawArgs, '--requirepass')).toMatch(REQUIRED)
    expect(flag(args, '--requirepass')).toBe(OPERATOR.REDIS_PASSWORD)
    const url = loadConfig(composeEnv(composed.services[gateName]!)).redis?.url
    expect(new URL(url ?? '').hostname).toBe(redisName)
    expect(decodeURIComponent(new URL(url ?? '').password)).toBe(OPERATOR.REDIS_PASSWORD)
    expect(composeEnv(composed.services[redisName]!).REDISCLI_AUTH).toBe(OPERATOR.REDIS_PASSWORD)
  })

  it('never evicts a key, and bounds its memory', () => {
    expect(flag(args, '--maxmemory-policy')).toBe('noeviction')
    expect(bytes(flag(args, '--maxmemory'))).toBeGreaterThan(0)
  })

  it('is not published outside the compose network', () => {
    expect(rawRedis.ports ?? []).toEqual([])
  })
})
