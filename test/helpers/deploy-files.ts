// Reading the deployment files as Docker, Kubernetes and Compose would: the Dockerfile's stages (dockerfile-ast,
// the parser of the Docker language server), .dockerignore, YAML streams, secretKeyRefs, Kubernetes' $(VAR)
// expansion and Compose's ${VAR} interpolation. No cluster or Docker engine runs where the tests do.
import { expect } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { DockerfileParser, Label, type ImageTemplate, type Instruction } from 'dockerfile-ast'
import { parseAllDocuments } from 'yaml'

const root = new URL('../../', import.meta.url)
export const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

// ---- Dockerfile and .dockerignore ----

/** One build stage: the image it starts from, its `AS` name, and its instructions. */
export interface DockerStage {
  image: string | null
  name: string | null
  ast: ImageTemplate
}

export function dockerStages(path: string): DockerStage[] {
  const file = DockerfileParser.parse(read(path))
  return file.getFROMs().map((from) => {
    const ast = file.getContainingImage(from.getRange().start)
    if (!ast) throw new Error(`${path}: no stage at line ${from.getRange().start.line + 1}`)
    return { image: from.getImage(), name: from.getBuildStage(), ast }
  })
}

/** The instructions of a stage with that keyword (upper case), in order. */
export const instructions = (stage: DockerStage, keyword: string): Instruction[] =>
  stage.ast.getInstructions().filter((i) => i.getKeyword() === keyword)

/** The arguments of an instruction as written, flags left out and line continuations joined. */
export const argsOf = (i: Instruction): string => i.getArgumentsContent() ?? ''

/** The words of an exec-form (JSON array) argument list, or null when it is in shell form. */
export function execForm(args: string): string[] | null {
  try {
    const words: unknown = JSON.parse(args)
    return Array.isArray(words) && words.every((w) => typeof w === 'string') ? words : null
  } catch {
    return null
  }
}

/** Every RUN of a stage, as one shell line. */
export const runs = (stage: DockerStage): string => instructions(stage, 'RUN').map(argsOf).join(' && ')

/** The ENV of a stage, later values winning. */
export const stageEnv = (stage: DockerStage): Record<string, string> =>
  Object.fromEntries(
    stage.ast.getENVs().flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
  )

/** The LABELs of a stage, later values winning. */
export const stageLabels = (stage: DockerStage): Record<string, string> =>
  Object.fromEntries(
    stage.ast
      .getInstructions()
      .flatMap((i) => (i instanceof Label ? i.getProperties() : []))
      .map((p) => [p.getName(), p.getValue() ?? '']),
  )

export interface DockerCopy {
  /** The stage named by --from, if any. */
  from: string | undefined
  sources: string[]
  dest: string
  /** 0-based, to order a COPY against the other instructions. */
  line: number
}

/** Every COPY of a stage, in shell or exec form. */
export const copies = (stage: DockerStage): DockerCopy[] =>
  stage.ast.getCOPYs().map((c) => {
    const paths = execForm(argsOf(c)) ?? c.getArguments().map((a) => a.getValue())
    return {
      from: c.getFromFlag()?.getValue() ?? undefined,
      sources: paths.slice(0, -1),
      dest: paths.at(-1) ?? '',
      line: c.getRange().start.line,
    }
  })

/** A Dockerfile or .dockerignore path pattern: `*` is any run of characters within one path segment. */
export const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}/?$`)

/**
 * Reads `.dockerignore`, a plain list, into a test of whether a path stays out of the build context. Docker's rules:
 * a pattern also covers what is under a matching directory, `!` re-includes, the last match wins. Only `*` is
 * understood here, so a pattern with `**`, `?` or `[` fails loudly instead of being misread.
 */
export function dockerignore(file = '.dockerignore'): (path: string) => boolean {
  const lines = read(file)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  const rules = lines.map((line) => {
    const pattern = line
      .replace(/^!/, '')
      .replace(/^\.?\//, '')
      .replace(/\/$/, '')
    if (/\*\*|[?[]/.test(pattern)) throw new Error(`${file}: ${line} needs a fuller matcher than this one`)
    return { re: glob(pattern), ignore: !line.startsWith('!') }
  })
  return (path) => {
    const parts = path.split('/')
    const covers = (re: RegExp) => parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')))
    return rules.reduce((out, rule) => (covers(rule.re) ? rule.ignore : out), false)
  }
}

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
  build?: string | { context?: string; target?: string }
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
