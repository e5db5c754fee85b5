import { spawn } from 'node:child_process'

export interface RunResult {
  code: number | null
  /** Whether the process was killed for outliving its time limit. */
  timedOut: boolean
  output: string
}

export interface RunOptions {
  cwd: string
  env?: NodeJS.ProcessEnv
  timeoutMs: number
}

/**
 * The environment of a stranger's shell: this process's, without the `npm_*` settings that
 * pnpm and turbo pass to the scripts they run (registry config, user agent, lifecycle state).
 */
export function cleanEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value
  return { ...env, ...extra }
}

/** Runs a command to completion or to its time limit (then kills it), with stdout and stderr together. */
export function run (command: string, args: readonly string[], { cwd, env = cleanEnv(), timeoutMs }: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let timedOut = false
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('error', err => { clearTimeout(timer); reject(err) })
    child.on('close', code => { clearTimeout(timer); resolve({ code, timedOut, output }) })
  })
}

/** Like run, but a non-zero exit or a timeout is an error carrying the output. */
export async function mustRun (command: string, args: readonly string[], options: RunOptions): Promise<string> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    const why = result.timedOut ? `timed out after ${options.timeoutMs} ms` : `exited with ${String(result.code)}`
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) ${why}:\n${result.output}`)
  }
  return result.output
}
