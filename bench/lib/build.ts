import { execFileSync } from 'node:child_process'

let built = false

/** `npm run build` (tsc to dist/, then the bundle) once per bench run: start-up and soak run the gate as `npm start` does. */
export function ensureBuilt(log: (message: string) => void): void {
  if (built) return
  log('npm run build')
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] })
  built = true
}

/** What `npm start` and the image run: the esbuild bundle `npm run build` makes (scripts/bundle.ts). */
export const GATE_ENTRY = 'dist/bundle/consent-gate.mjs'
