import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import type { DeviceGrantRecord } from '@device-grant/core'
import { RedisStore } from '../src/index.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Settings the README recommends: fail fast while disconnected, never queue. */
export const RECOMMENDED: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000 }

let prefixes = 0
/** A prefix nobody else uses: these tests share the Redis server with other runs. */
export function uniquePrefix (label: string): string {
  return `dg-test:${label}:${process.pid}:${randomBytes(4).toString('hex')}:${++prefixes}:`
}

/** A client that stays quiet on connection errors (outage tests provoke plenty). */
export function connect (url: string = REDIS_URL, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options)
  client.on('error', () => {})
  return client
}

/** Resolves once the client is connected (needed before the first command without an offline queue). */
export async function ready (client: Redis): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`client not ready in 5 s (${client.status})`)) }, 5000)
    client.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** Keys matching `pattern`, by SCAN (KEYS would block a server other runs share). */
export async function scanKeys (client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  for (let i = 0; i < 100_000; i++) {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
    if (cursor === '0') break
  }
  return found.sort()
}

/** Deletes every key under `prefix` (no FLUSHDB: the server is shared). */
export async function deleteKeys (client: Redis, prefix: string): Promise<number> {
  const keys = await scanKeys(client, `${prefix}*`)
  let deleted = 0
  for (let i = 0; i < keys.length; i += 500) deleted += await client.del(...keys.slice(i, i + 500))
  return deleted
}

/**
 * `count` stores under one fresh prefix, each on a client of its own like separate processes,
 * so concurrent calls really race inside Redis. `close()` deletes the keys and quits the clients.
 */
export function storesOnOwnClients (label: string, count: number): { keyPrefix: string, clients: Redis[], stores: RedisStore[], close: () => Promise<void> } {
  const keyPrefix = uniquePrefix(label)
  const clients = Array.from({ length: count }, () => connect())
  const stores = clients.map(client => new RedisStore({ client, keyPrefix }))
  const close = async () => {
    await deleteKeys(clients[0]!, keyPrefix)
    await Promise.all(clients.map(quit))
  }
  return { keyPrefix, clients, stores, close }
}

export function hashOf (text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

let codes = 0
export function makeGrant (overrides: Partial<DeviceGrantRecord> = {}): DeviceGrantRecord {
  const createdAt = overrides.createdAt ?? Date.now()
  return {
    deviceCodeHash: hashOf(randomBytes(32).toString('hex')),
    userCode: `T${randomBytes(5).toString('hex').toUpperCase()}${++codes}`,
    clientId: 'tv',
    scope: 'openid profile',
    status: 'pending',
    createdAt,
    expiresAt: createdAt + 15 * 60_000,
    interval: 5,
    ...overrides
  }
}

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

// Servers still running when this process exits for any reason (a failed setup, a timeout kill
// by the runner) are killed too: no test leaves a redis-server behind.
const children = new Set<ChildProcess>()
process.once('exit', () => { for (const child of children) child.kill('SIGKILL') })

/** A throwaway redis-server child process; `stop()` is safe to call any number of times. */
export class RedisServer {
  readonly port: number
  readonly dir: string
  readonly extraArgs: string[]
  #child: ChildProcess | undefined

  constructor (port: number, extraArgs: string[] = []) {
    this.port = port
    this.extraArgs = extraArgs
    this.dir = mkdtempSync(join(tmpdir(), 'dg-redis-'))
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid (): number | undefined {
    return this.#child?.pid
  }

  static async start (extraArgs: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), extraArgs)
    await server.start()
    return server
  }

  /** Starts the server (again, on the same port) and resolves once it accepts connections. */
  async start (): Promise<void> {
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, ...this.extraArgs
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    child.once('exit', () => { children.delete(child) })
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

  /** SIGKILL, and resolves once the process is gone. */
  async stop (): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>(resolve => {
      child.once('exit', () => { resolve() })
      child.kill('SIGKILL')
    })
  }

  /** Freezes the process: connections stay open, nothing answers. */
  pause (): void {
    this.#child?.kill('SIGSTOP')
  }

  resume (): void {
    this.#child?.kill('SIGCONT')
  }

  async destroy (): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Retries `fn` until it resolves, for at most `ms`: recovery after an outage takes a reconnect. */
export async function eventually<T> (fn: () => Promise<T>, ms = 10_000, every = 100): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() >= until) throw err
      await new Promise(resolve => setTimeout(resolve, every))
    }
  }
}

/** Milliseconds `fn` took to settle, and how it settled. */
export async function timed (fn: () => Promise<unknown>): Promise<{ ms: number, error: unknown, value: unknown }> {
  const start = performance.now()
  try {
    const value = await fn()
    return { ms: performance.now() - start, error: undefined, value }
  } catch (error) {
    return { ms: performance.now() - start, error, value: undefined }
  }
}

export async function quit (client: Redis | Cluster): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}

/**
 * A real Redis Cluster of `masters` private servers (no replicas), every slot assigned and
 * `cluster_state:ok` on every node. If it cannot be formed, the servers are killed before the
 * error is thrown; otherwise `destroy()` kills them.
 */
export async function startCluster (masters = 3): Promise<{ nodes: RedisServer[], destroy: () => Promise<void> }> {
  const nodes: RedisServer[] = []
  const destroy = async () => { await Promise.all(nodes.map(async n => await n.destroy())) }
  try {
    for (let i = 0; i < masters; i++) nodes.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']))
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...nodes.map(n => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    await eventually(async () => {
      for (const n of nodes) {
        const probe = connect(n.url)
        try {
          if (!String(await probe.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) throw new Error(`node ${n.port} not ok yet`)
        } finally {
          await quit(probe)
        }
      }
    }, 20_000, 100)
  } catch (err) {
    await destroy()
    throw err
  }
  return { nodes, destroy }
}
