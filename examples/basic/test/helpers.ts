// Shared by the tests that run the example on real stores: free ports, child processes
// (redis-server, the built server) that are always reaped, and a cookie-keeping HTTP client.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
/** Bound on one HTTP request: a hang fails the test, while a loaded CI machine still passes. */
export const REQUEST_TIMEOUT_MS = 30_000

/** A port the OS says is free. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

export const sleep = async (ms: number) => await new Promise(resolve => setTimeout(resolve, ms))

/** Retries `fn` until it resolves, for at most `ms`. */
export async function eventually<T> (fn: () => Promise<T>, ms = 15_000, every = 100): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() >= until) throw err
      await sleep(every)
    }
  }
}

// Children still running when this process exits for any reason (a failed assertion, a timeout
// kill by the runner) are killed too: no test leaves a server behind.
const children = new Set<ChildProcess>()
process.once('exit', () => { for (const child of children) child.kill('SIGKILL') })

function track (child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves once it is gone. */
export async function stopChild (child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** A throwaway redis-server: no persistence, so a restart starts empty. */
export class RedisServer {
  readonly port: number
  readonly #dir = mkdtempSync(join(tmpdir(), 'example-redis-'))
  #child: ChildProcess | undefined

  constructor (port: number) {
    this.port = port
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts it (again, on the same port) and resolves once it accepts connections. */
  async start (): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    track(child)
    this.#child = child
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => { reject(new Error(`redis-server on ${this.port} not ready in 10 s:\n${out}`)) }, 10_000)
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', code => {
        clearTimeout(timer)
        reject(new Error(`redis-server on ${this.port} exited with ${code}:\n${out}`))
      })
    })
  }

  /** SIGKILL: an outage, not a shutdown. */
  async kill (): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>(resolve => {
      child.once('exit', () => { resolve() })
      child.kill('SIGKILL')
    })
  }

  /** Freezes it: connections stay open and nothing answers. */
  pause (): void { this.#child?.kill('SIGSTOP') }
  resume (): void { this.#child?.kill('SIGCONT') }

  async destroy (): Promise<void> {
    this.resume()
    await this.kill()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

export interface ServerProcess {
  base: string
  child: ChildProcess
  /** Everything it printed, for failure messages. */
  output: () => string
  stop: () => Promise<void>
}

const EXAMPLE_ROOT = join(import.meta.dirname, '..')

/**
 * Starts `node dist/server.js` (built by the test task's `build` dependency, see turbo.json) on a
 * free port with `env`, and resolves once its metadata URL answers (at most `readyMs`).
 */
export async function startServer (env: Record<string, string>, readyMs = 60_000): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, [join(EXAMPLE_ROOT, 'dist', 'server.js')], {
    cwd: EXAMPLE_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  track(child)
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const base = `http://127.0.0.1:${port}`
  const server: ServerProcess = { base, child, output: () => out, stop: async () => { await stopChild(child) } }
  const until = Date.now() + readyMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${out}`)
    try {
      const res = await fetch(`${base}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return server
    } catch {}
    if (Date.now() > until) {
      await server.stop()
      throw new Error(`the server on ${port} was not ready within ${readyMs} ms:\n${out}`)
    }
    await sleep(100)
  }
}

/** The value of a hidden form field, HTML entities decoded. */
export function hidden (html: string, name: string): string {
  const raw = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''
  return raw.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&')
}

export interface BrowserResponse { status: number, headers: Headers, body: string }

/**
 * A person's browser over real HTTP: one cookie jar for every origin it talks to (browsers do
 * not separate cookies by port), redirects left to the caller.
 */
export function browser () {
  const jar = new Map<string, string>()
  return async (url: string, form?: Record<string, string>): Promise<BrowserResponse> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(url, {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: { ...(cookie !== '' && { cookie }) },
      ...(form !== undefined && { body: new URLSearchParams(form) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    })
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const eq = pair.indexOf('=')
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
    }
    return { status: res.status, headers: res.headers, body: await res.text() }
  }
}

/** One device poll of the token endpoint at `base`. */
export async function poll (base: string, deviceCode: string): Promise<{ status: number, body: Record<string, string> }> {
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: deviceCode }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  })
  return { status: res.status, body: await res.json() as Record<string, string> }
}

/** A device asking `base` for codes. */
export async function authorize (base: string): Promise<{ device_code: string, user_code: string, verification_uri_complete: string }> {
  const res = await fetch(`${base}/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'demo-tv' }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  if (res.status !== 200) throw new Error(`device_authorization answered ${res.status}: ${await res.text()}`)
  return await res.json() as { device_code: string, user_code: string, verification_uri_complete: string }
}
