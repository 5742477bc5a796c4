import { execFileSync } from 'node:child_process'

let built = false

/** `npm run build` (tsc to dist/) once per bench run: start-up and soak run the gate as `npm start` does. */
export function ensureBuilt(log: (message: string) => void): void {
  if (built) return
  log('npm run build')
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] })
  built = true
}
