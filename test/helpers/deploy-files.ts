// Reading the deployment files as Kubernetes and Compose would: YAML streams, secretKeyRefs, Kubernetes'
// $(VAR) expansion and Compose's ${VAR} interpolation. No cluster or Docker engine runs where the tests do.
import { expect } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'

const root = new URL('../../', import.meta.url)
export const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

// ---- Kubernetes ----

export type Labels = Record<string, string>
export interface SecretKeyRef {
  name: string
  key: string
  optional?: boolean
}
export interface EnvVar {
  name: string
  // Kubernetes wants a string; YAML gives a number or boolean when it is unquoted.
  value?: string | number | boolean
  valueFrom?: { secretKeyRef?: SecretKeyRef }
}
interface Probe {
  httpGet: { path: string; port: string | number }
}
export interface Container {
  name: string
  image: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  ports?: { name?: string; containerPort: number }[]
  livenessProbe?: Probe
  readinessProbe?: Probe & { exec?: { command: string[] } }
  startupProbe?: Probe
  resources?: Record<string, Record<string, string> | undefined>
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } }
}
export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Labels; annotations?: Record<string, string> }
  // The shapes differ by kind; each test reads the fields of its own.
  spec?: any
  data?: Record<string, string>
  stringData?: Record<string, string>
}
export interface PodTemplate {
  metadata: Manifest['metadata']
  spec: { containers: Container[]; initContainers?: Container[]; terminationGracePeriodSeconds?: number }
}

export const KUBERNETES_DIR = 'deploy/kubernetes/'

export function k8sDocs(path: string): Manifest[] {
  const docs = parseAllDocuments(read(path))
  if (!Array.isArray(docs)) throw new Error(`${path}: not a YAML stream`)
  for (const d of docs) expect(d.errors, path).toEqual([])
  return docs.map((d) => d.toJS() as Manifest)
}

/** Every manifest of deploy/kubernetes/, each file a YAML stream. */
export const allK8sDocs = (): Manifest[] =>
  readdirSync(new URL(KUBERNETES_DIR, root))
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => k8sDocs(KUBERNETES_DIR + f))

export function find(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name))
  if (!found) throw new Error(`no ${kind} ${name ?? ''}`)
  return found
}

export const podTemplates = (docs: Manifest[]): PodTemplate[] =>
  docs.flatMap((d) => (d.spec?.template?.spec?.containers ? [d.spec.template as PodTemplate] : []))

export const containersOf = (pod: PodTemplate) => [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]

/** True when every label of a non-empty selector is on the target. */
export const selects = (selector: Labels | undefined, labels: Labels | undefined) =>
  Object.keys(selector ?? {}).length > 0 &&
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v)

/** Kubernetes' expansion of env values and args: $(VAR) of a variable defined above, $$ for a literal $. */
export const expandK8s = (value: string, env: Record<string, string>) =>
  value.replace(/\$\$|\$\(([A-Za-z_][\w.-]*)\)/g, (match, name?: string) =>
    match === '$$' ? '$' : name !== undefined && name in env ? env[name]! : match,
  )

export type SecretLookup = (ref: SecretKeyRef) => string | undefined

/** A container's environment as the kubelet builds it, in order; a missing required secret fails like a pod. */
export function resolveEnv(container: Container, secret: SecretLookup): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef
    const value = ref ? secret(ref) : expandK8s(String(e.value ?? ''), env)
    if (value !== undefined) env[e.name] = value
    else if (!ref?.optional) throw new Error(`${container.name}: ${e.name} has no value`)
  }
  return env
}

/** The key -> value map of the named Secrets of `docs`, as `stringData` or base64 `data`. */
export function secretsOf(docs: Manifest[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  for (const s of docs.filter((d) => d.kind === 'Secret')) {
    const data = Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])
    out[s.metadata.name] = { ...Object.fromEntries(data), ...s.stringData }
  }
  return out
}

// ---- Docker Compose ----

export interface ComposeService {
  build?: string | { context?: string }
  image?: string
  command?: unknown
  environment?: string[] | Record<string, unknown>
  ports?: unknown[]
  depends_on?: string[] | Record<string, unknown>
  healthcheck?: { test?: unknown }
  volumes?: string[]
}
export interface ComposeFile {
  services: Record<string, ComposeService>
}

/** Compose allows `environment` as a map or as a list of KEY=value. */
export function composeEnv(service: ComposeService): Record<string, string> {
  const raw = service.environment ?? {}
  const pairs: [string, unknown][] = Array.isArray(raw)
    ? raw.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)])
    : Object.entries(raw)
  return Object.fromEntries(pairs.map(([k, v]) => [k, String(v)]))
}

export const words = (cmd: unknown) => (Array.isArray(cmd) ? cmd.map(String) : String(cmd).split(/\s+/))

/**
 * Compose's interpolation of one value: `$$`, `$VAR`, `${VAR}`, and `${VAR<op>word}` where `:-`/`-` give a
 * default, `:?`/`?` fail with `word` and `:+`/`+` substitute it; with the colon an empty value counts as unset.
 */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  const pattern = /\$(?:\$|(\w+)|\{(\w+)(?:(:?)([-?+])([^}]*))?\})/g
  return value.replace(
    pattern,
    (match, bare?: string, name?: string, colon?: string, op?: string, word = '') => {
      if (match === '$$') return '$'
      const v = vars[(bare ?? name)!]
      const set = colon ? v !== undefined && v !== '' : v !== undefined
      if (op === '-') return set ? v! : String(word)
      if (op === '+') return set ? String(word) : ''
      if (op === '?' && !set) throw new Error(`${name}: ${String(word)}`)
      return v ?? ''
    },
  )
}

/** Interpolates every string of a parsed Compose file, as `docker compose config` does. */
export function interpolateAll<T>(value: T, vars: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolate(value, vars) as T
  if (Array.isArray(value)) return value.map((v: unknown) => interpolateAll(v, vars)) as T
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, vars)])) as T
  return value
}
