import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { once } from 'node:events'

/**
 * examples/basic's built server. It is a devDependency (`workspace:*`) of this package, so
 * turbo's `^build` has built it before these tests run.
 */
export const SERVER_JS = join(dirname(createRequire(import.meta.url).resolve('example-basic/package.json')), 'dist', 'server.js')

/** The tiny slice of a tap test these helpers use. */
export interface Teardown { teardown: (fn: () => unknown) => void }

/** A port the OS says is free: the issuer (and so every advertised URL) must name the real one. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

// Children still running when this process exits for any reason (a setup step that threw
// before its teardown was registered, a timeout kill by the runner) are killed too: no test
// leaves a server or a CLI behind.
const children = new Set<ChildProcess>()
process.once('exit', () => { for (const child of children) child.kill('SIGKILL') })

/** Kills `child` when this process exits, if it is still running then. */
export function track (child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
}

/** Ends a child: SIGTERM, then SIGKILL if it lingers. Resolves once it has exited. */
export async function kill (child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export interface ExampleServer {
  /** The issuer, e.g. http://127.0.0.1:41234 (no trailing slash). */
  base: string
  child: ChildProcess
  /** Everything the server printed, for failure messages. */
  output: () => string
}

/**
 * Starts `node examples/basic/dist/server.js` as a real process on a free port and waits until it
 * listens. Killed in `t`'s teardown.
 */
export async function startServer (t: Teardown, env: Record<string, string> = {}): Promise<ExampleServer> {
  const port = await freePort()
  const child = spawn(process.execPath, [SERVER_JS], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      DEVICE_GRANT_INTERVAL: '1',
      SESSION_SECRET: 'e2e-session-secret-of-at-least-32-chars',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  track(child)
  t.teardown(() => kill(child))
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const base = `http://127.0.0.1:${port}`
  // Ready when it answers its metadata: independent of what the server logs.
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the example server exited (${child.exitCode}) before listening:\n${output}`)
    const ok = await fetch(`${base}/.well-known/oauth-authorization-server`).then(res => res.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) throw new Error(`the example server did not answer in 15 s:\n${output}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return { base, child, output: () => output }
}
