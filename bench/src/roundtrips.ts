// Store calls and round trips per request, counted exactly with no load: `node dist/src/roundtrips.js`.
// Needs BENCH_REDIS_URL (a private redis-server: MONITOR there sees only us) and
// BENCH_DATABASE_URL + BENCH_PG_SCHEMA. Prints one JSON line.
import type { DeviceGrantStore } from '@device-grant/core'
import { Redis } from 'ioredis'
import { CLIENT_ID, DEVICE_CODE_GRANT_TYPE, FORM_HEADERS, SUBJECT, readServerEnv, type Counts, type Operation, type RoundTripResult, type ServerStats, type StoreKind } from './config.js'
import { pluginServer } from './targets/plugin.js'

const N = 20
const env = readServerEnv()

/**
 * Server-side count of the commands clients send, from MONITOR (commands that Lua scripts run
 * inside Redis show up with source "lua" and are not round trips). A marker ECHO on another
 * connection tells when everything sent before it has been seen.
 */
class RedisMonitor {
  seen = 0
  #waiting: { marker: string, resolve: () => void } | undefined
  #n = 0
  private constructor (readonly monitor: Redis, readonly marker: Redis) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const waiting = this.#waiting
      if (waiting !== undefined && args[0]?.toLowerCase() === 'echo' && args[1] === waiting.marker) {
        waiting.resolve()
        return
      }
      if (source !== 'lua') this.seen++
    })
  }

  static async open (url: string): Promise<RedisMonitor> {
    // Ready (its INFO ready check answered) before MONITOR starts: ioredis fails with "Command
    // queue state error" when a monitored line reaches the monitoring connection before it has
    // switched into monitor mode (seen in store-redis's round-trips test).
    const client = new Redis(url, { lazyConnect: true })
    await client.connect()
    const monitor = await client.monitor()
    return new RedisMonitor(monitor, client)
  }

  /** Resolves the count once every command sent before this call has been seen. */
  async settle (): Promise<number> {
    const marker = `bench-marker-${++this.#n}`
    const seen = new Promise<void>(resolve => { this.#waiting = { marker, resolve } })
    await this.marker.echo(marker)
    await Promise.race([seen, new Promise(resolve => setTimeout(resolve, 2000))])
    return this.seen
  }

  close (): void {
    this.monitor.disconnect()
    this.marker.disconnect()
  }
}

const monitor = env.redisUrl === undefined ? undefined : await RedisMonitor.open(env.redisUrl)

function counting (store: DeviceGrantStore, calls: { n: number }): DeviceGrantStore {
  return new Proxy(store, {
    get (target, prop) {
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.n++
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    }
  })
}

async function measure (kind: StoreKind): Promise<Record<Operation, Counts>> {
  const calls = { n: 0 }
  const app = await pluginServer(kind, env, store => counting(store, calls))
  await app.ready()
  const wire = async (): Promise<number> => {
    const stats = (await app.inject('/bench/stats')).json<ServerStats>()
    return kind === 'redis' ? (stats.redis ?? 0) : (stats.sql ?? 0)
  }
  const out = {} as Record<Operation, Counts>
  async function count<T> (op: Operation, work: () => Promise<T[]>): Promise<T[]> {
    calls.n = 0
    const w0 = await wire()
    const m0 = kind === 'redis' ? await monitor!.settle() : 0
    const results = await work()
    const w1 = await wire()
    const m1 = kind === 'redis' ? await monitor!.settle() : 0
    out[op] = { storeCalls: calls.n / results.length }
    if (kind !== 'memory') out[op].roundTrips = (w1 - w0) / results.length
    if (kind === 'redis') out[op].monitored = (m1 - m0) / results.length
    return results
  }
  const grants = await count('authorize', async () => await sequence(async () =>
    (await app.inject({ method: 'POST', url: '/device_authorization', headers: FORM_HEADERS, payload: `client_id=${CLIENT_ID}` })).json<{ device_code: string, user_code: string }>()))
  const poll = async (deviceCode: string): Promise<string> =>
    (await app.inject({ method: 'POST', url: '/token', headers: FORM_HEADERS, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=${CLIENT_ID}&device_code=${deviceCode}` })).json<{ error?: string }>().error ?? 'success'
  await expectAll('authorization_pending', count('poll (first, pending)', async () => await each(grants, async g => await poll(g.device_code))))
  await expectAll('slow_down', count('poll (too fast, slow_down)', async () => await each(grants, async g => await poll(g.device_code))))
  await expectAll(true, count('approve', async () => await each(grants, async g => (await app.deviceGrant.approve(g.user_code, SUBJECT)).ok)))
  await expectAll('success', count('poll (approved, token)', async () => await each(grants, async g => await poll(g.device_code))))
  await app.close()
  return out
}

async function sequence<T> (work: () => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < N; i++) out.push(await work())
  return out
}

async function each<T, R> (items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (const item of items) out.push(await work(item))
  return out
}

async function expectAll<T> (expected: T, results: Promise<T[]>): Promise<void> {
  const got = await results
  const wrong = got.find(r => r !== expected)
  if (wrong !== undefined) throw new Error(`expected every answer to be ${String(expected)}, got ${String(wrong)}`)
}

const result = {} as RoundTripResult
result.memory = await measure('memory')
if (monitor !== undefined) result.redis = await measure('redis')
if (env.pgSchema !== undefined) {
  result.postgres = await measure('postgres')
  result.prisma = await measure('prisma')
}
monitor?.close()
process.stdout.write(JSON.stringify(result) + '\n')
