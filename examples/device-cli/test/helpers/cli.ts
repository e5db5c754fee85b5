import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { kill, track, type Teardown } from './server.js'

/** The built CLI (`pnpm test` builds it first: turbo's `^build` only builds dependencies). */
export const CLI_JS = join(import.meta.dirname, '..', '..', 'dist', 'cli.js')

export interface CliRun {
  stdout: () => string
  stderr: () => string
  /** Resolves with the first match of `pattern` in stdout, rejects if the CLI exits first or after `ms`. */
  waitFor: (pattern: RegExp, ms?: number) => Promise<RegExpExecArray>
  /** The exit code (a signal counts as -1). */
  exit: Promise<number>
  /** Sends a signal, as a terminal does on Ctrl+C. */
  signal: (name: NodeJS.Signals) => void
}

/** Runs `node dist/cli.js ...args` as a child process, as a user would; killed in teardown. */
export function runCli (t: Teardown, args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [CLI_JS, ...args], {
    // No DEVICE_* from the developer's shell: each test says what it means.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DEVICE_'))), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  track(child)
  t.teardown(() => kill(child))
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exit = once(child, 'exit').then(([code]) => typeof code === 'number' ? code : -1)
  const waitFor = async (pattern: RegExp, ms = 15_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const match = pattern.exec(stdout)
      if (match !== null) return match
      if (child.exitCode !== null) throw new Error(`the CLI exited (${child.exitCode}) before printing ${pattern}:\n${stdout}\n${stderr}`)
      if (Date.now() > deadline) throw new Error(`the CLI did not print ${pattern} in ${ms} ms:\n${stdout}\n${stderr}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  return { stdout: () => stdout, stderr: () => stderr, waitFor, exit, signal: name => { child.kill(name) } }
}
