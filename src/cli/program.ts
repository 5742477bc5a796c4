import { Command, InvalidArgumentError, Option } from 'commander'
import { createClient, type ClientOptions, type ConsentGateClient } from '../client/index.js'
import { check } from './check.js'
import { MAX_CONCURRENCY, precheck, type PrecheckIo } from './precheck/command.js'
import { DEFAULT_RETRY, type RetryPolicy } from './precheck/retry.js'
import { EXIT } from './results.js'

export const DEFAULT_GATE = 'http://127.0.0.1:8080'

export interface CliIo extends PrecheckIo {
  env: Record<string, string | undefined>
}

/** What tests replace: the retry pauses, the progress interval, the interrupt. */
export interface CliDeps {
  createClient?: (opts: ClientOptions) => ConsentGateClient
  retry?: RetryPolicy
  progressIntervalMs?: number
  signal?: AbortSignal
}

interface GateOptions {
  gate?: string
  token?: string
  timeout: number
}

const integer = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`)
  return n
}

/** --gate, --token and --timeout on every command, so they may follow the command's name. */
function withGate(cmd: Command, timeoutMs: number): Command {
  return cmd
    .option('--gate <url>', `the gate's address (env CONSENT_GATE_URL; default ${DEFAULT_GATE})`)
    .option(
      '--token <token>',
      'caller token, sent as a bearer token (env CONSENT_GATE_TOKEN, which ps cannot show)',
    )
    .addOption(
      new Option('--timeout <ms>', 'bound on each request to the gate')
        .argParser(integer('--timeout', 1, 600_000))
        .default(timeoutMs),
    )
}

/** The consent-gate program; `done(code)` is told each command's exit code. */
export function buildProgram(io: CliIo, deps: CliDeps, done: (code: number) => void): Command {
  const clientFor = (o: GateOptions) =>
    (deps.createClient ?? createClient)({
      baseUrl: o.gate ?? io.env.CONSENT_GATE_URL ?? DEFAULT_GATE,
      token: o.token ?? (io.env.CONSENT_GATE_TOKEN || undefined),
      timeoutMs: o.timeout,
      // One connection per batch request in flight; more would only sit idle.
      maxConnections: MAX_CONCURRENCY,
    })
  const withClient = async <T>(o: GateOptions, fn: (client: ConsentGateClient) => Promise<T>): Promise<T> => {
    const client = clientFor(o)
    try {
      return await fn(client)
    } finally {
      await client.close()
    }
  }

  const program = new Command('consent-gate')
    .description(
      'Ask a consent-gate whether a business number may call a user: one pair, or a campaign file.',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 allowed / all decided, 1 not allowed, 2 undetermined or bad input.',
    )

  withGate(program.command('check'), 5000)
    .description('One decision: may <business> call <user> now?')
    .argument('<business>', 'the business number, E.164 such as +918000000001')
    .argument('<user>', 'the user: E.164 such as +919876543210, or a BSUID such as US.13491208655302741918')
    .option('--fresh', "skip the gate's cache for this check")
    .option('--json', 'print the JSON answer instead of lines for a person')
    .addHelpText(
      'after',
      '\nExit codes: 0 allowed, 1 not allowed, 2 undetermined (503, unreachable) or bad input.',
    )
    .action(async (business: string, user: string, o: GateOptions & { fresh?: boolean; json?: boolean }) =>
      done(
        await withClient(o, (client) =>
          check(client, business, user, o, (line) => io.stdout.write(`${line}\n`)),
        ),
      ),
    )

  withGate(program.command('precheck'), 60_000)
    .description('Check every row of a CSV or NDJSON file through POST /can-call/batch, in input order.')
    .argument('<file>', 'the input, or - for stdin')
    .option('--business <E.164>', 'the business of every row (the CSV then needs no business column)')
    .option('--out <file>', 'write the results here (default stdout); an existing one is resumed')
    .addOption(
      new Option(
        '--format <format>',
        'format of the input and the output (default: by extension, else csv)',
      ).choices(['csv', 'ndjson']),
    )
    .addOption(
      new Option('--concurrency <n>', 'batch requests of up to 1000 checks in flight at once')
        .argParser(integer('--concurrency', 1, MAX_CONCURRENCY))
        .default(4),
    )
    .addHelpText(
      'after',
      [
        '',
        'Input: a CSV with a header (a user column, and a business column unless --business is given), or',
        'NDJSON of {"business": ..., "user": ...}; a user is E.164 or a BSUID. Output: the input columns plus',
        'allowed, reason, expires_at, decision_id, retry_at, can_request_permission (CSV), or the decisions as',
        'NDJSON. Progress and a count per reason go to stderr.',
        'Exit codes: 0 every valid row decided (denials included), 2 some undetermined or bad input,',
        '130 interrupted. Run the same command again to resume: decided rows are kept, the rest checked.',
      ].join('\n'),
    )
    .action(
      async (
        file: string,
        o: GateOptions & { business?: string; out?: string; format?: string; concurrency: number },
      ) =>
        done(
          await withClient(o, (client) =>
            precheck(
              { file, business: o.business, out: o.out, format: o.format, concurrency: o.concurrency },
              {
                client,
                io,
                retry: deps.retry ?? DEFAULT_RETRY,
                progressIntervalMs: deps.progressIntervalMs,
                signal: deps.signal,
              },
            ),
          ),
        ),
    )
  return program
}

export { EXIT }
