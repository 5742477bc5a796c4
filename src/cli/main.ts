#!/usr/bin/env node
// The consent-gate CLI (npx consent-gate --help; docs/cli.md). The only module of src/cli/ that touches process.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CommanderError } from 'commander'
import { FatalGateError } from './precheck/checker.js'
import { buildProgram, type CliDeps, type CliIo } from './program.js'
import { EXIT } from './results.js'
import { UsageError } from './usage-error.js'

/** Runs one command line (without node and the script) and resolves with its exit code; never throws. */
export async function main(argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  let code: number = EXIT.ok
  const program = buildProgram(io, deps, (c) => (code = c))
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return code
  } catch (err) {
    // Help and --version end through exitOverride as a CommanderError with exit code 0; its message is printed.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.undetermined
    const known =
      err instanceof UsageError ||
      err instanceof FatalGateError ||
      err instanceof TypeError ||
      err instanceof RangeError
    io.stderr.write(`consent-gate: ${known ? err.message : String(err)}\n`)
    return EXIT.undetermined
  }
}

const invoked =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (invoked) {
  // The first Ctrl-C stops a pre-check cleanly (what is decided is written); a second one ends it at once.
  const interrupt = new AbortController()
  process.once('SIGINT', () => interrupt.abort())
  const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }
  process.exitCode = await main(process.argv.slice(2), io, { signal: interrupt.signal })
}
