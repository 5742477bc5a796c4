/**
 * Polls `check` every `stepMs` until it holds, and resolves with how long that took (ms); throws once `timeoutMs`
 * has passed without it. Tests wait on what they can observe, with a bound, never on a guessed sleep.
 */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 10,
): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if (await check()) return performance.now() - started
    await new Promise((r) => setTimeout(r, stepMs))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}
