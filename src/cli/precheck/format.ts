import path from 'node:path'
import { parsePhone } from '../../lib/phone.js'
import { parseUser } from '../../lib/identity.js'
import { UsageError } from '../usage-error.js'

export type Format = 'csv' | 'ndjson'

/** Columns a CSV output adds after the input's own (issue 14). */
export const RESULT_COLUMNS = [
  'allowed',
  'reason',
  'expires_at',
  'decision_id',
  'retry_at',
  'can_request_permission',
] as const

const NDJSON_EXTENSIONS = new Set(['.ndjson', '.jsonl'])

/** `--format` names the input's and the output's format; without it the file's extension decides, CSV by default. */
export function formatOf(file: string, explicit: string | undefined): Format {
  if (explicit !== undefined) {
    if (explicit === 'csv' || explicit === 'ndjson') return explicit
    throw new UsageError(`--format must be csv or ndjson, not ${JSON.stringify(explicit)}`)
  }
  return NDJSON_EXTENSIONS.has(path.extname(file).toLowerCase()) ? 'ndjson' : 'csv'
}

/** The number a row is checked with, or the same message the gate would give for it. */
export function checkPhone(name: 'business' | 'user', raw: unknown): { value: string } | { invalid: string } {
  if (typeof raw !== 'string') return { invalid: `${name} is missing; expected E.164 such as +919876543210` }
  const parsed = parsePhone(raw)
  return parsed.ok
    ? { value: parsed.value }
    : { invalid: `${name} ${parsed.why}; expected E.164 such as +919876543210` }
}

/** The user a row is checked with (a number or a BSUID), or the same message the gate would give for it. */
export function checkUser(raw: unknown): { value: string } | { invalid: string } {
  const expected = 'expected E.164 such as +919876543210 or a BSUID such as US.13491208655302741918'
  if (typeof raw !== 'string') return { invalid: `user is missing; ${expected}` }
  const parsed = parseUser(raw)
  return parsed.ok ? { value: parsed.value } : { invalid: `user ${parsed.why}; ${expected}` }
}

/** `--business`, checked before the input is opened: one typo must not fail every row. */
export function businessOption(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  const checked = checkPhone('business', raw)
  if ('invalid' in checked) throw new UsageError(`--business: ${checked.invalid.replace(/^business /, '')}`)
  return checked.value
}

export interface CsvLayout {
  userIndex: number
  /** Undefined when `--business` gives every row's business. */
  businessIndex: number | undefined
}

/** Where the CSV's `user` and `business` columns are, or a UsageError naming what is missing or doubled. */
export function csvLayout(header: readonly string[], business: string | undefined): CsvLayout {
  const names = header.map((h) => h.trim().toLowerCase())
  const find = (name: string): number | undefined => {
    const at = names.flatMap((n, i) => (n === name ? [i] : []))
    if (at.length > 1) throw new UsageError(`the CSV header has ${at.length} columns named ${name}`)
    return at[0]
  }
  for (const taken of RESULT_COLUMNS) {
    if (find(taken) !== undefined)
      throw new UsageError(`the CSV header already has a column named ${taken}, which the output adds`)
  }
  const userIndex = find('user')
  const businessIndex = find('business')
  const seen = `the header is: ${header.join(',')}`
  if (userIndex === undefined) throw new UsageError(`the CSV has no user column (${seen})`)
  if (business === undefined && businessIndex === undefined)
    throw new UsageError(`the CSV has no business column and no --business was given (${seen})`)
  if (business !== undefined && businessIndex !== undefined)
    throw new UsageError('the CSV has a business column and --business was given: use one of them')
  return { userIndex, businessIndex }
}
