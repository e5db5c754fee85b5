// Memory per pending grant: `node --expose-gc dist/src/memory.js`. Prints one JSON line.
// Grants are created through the core's `authorize` (what the endpoint stores, device info
// included), so the figure is what a pending grant really costs.
import { randomBytes } from 'node:crypto'
import { createDeviceGrant, hashDeviceCode, type DeviceClient, type DeviceGrantStore } from '@device-grant/core'
import { MemoryStore } from '@device-grant/store-memory'
import { RedisStore } from '@device-grant/store-redis'
import { Redis } from 'ioredis'
import { CLIENT_ID } from './config.js'
import { redisUsedMemory } from './infra.js'

export interface MemoryResult {
  memory: { grants: number, heapBytesPerGrant: number }
  redis?: { grants: number, usedMemoryBytesPerGrant: number, memoryUsageBytesPerGrant: number }
}

const client: DeviceClient = { clientId: CLIENT_ID }
// A typical smart-TV user agent: the store keeps it for the confirm page.
const USER_AGENT = 'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) TV Safari/537.36'
const issueToken = (): { access_token: string, token_type: string } => ({ access_token: 'x', token_type: 'Bearer' })

function grantsOn (store: DeviceGrantStore): ReturnType<typeof createDeviceGrant> {
  return createDeviceGrant({ store, issueToken })
}

function gc (): void {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error('run with node --expose-gc')
  collect()
  collect()
}

async function memoryStore (n: number): Promise<MemoryResult['memory']> {
  const store = new MemoryStore({ sweepInterval: 0 })
  const grant = grantsOn(store)
  // One grant first, so lazily built things (code paths, the Maps' first tables) are not counted.
  await grant.authorize({ client, verificationUri: 'https://auth.example.com/device', ip: '203.0.113.7', userAgent: USER_AGENT })
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < n; i++) {
    // Distinct strings per grant, as request headers would be.
    await grant.authorize({ client, verificationUri: 'https://auth.example.com/device', ip: `203.0.${i >> 8 & 255}.${i & 255}`, userAgent: `${USER_AGENT} ` })
  }
  gc()
  const after = process.memoryUsage().heapUsed
  if (store.size !== n + 1) throw new Error(`expected ${n + 1} grants, got ${store.size}`)
  await store.close()
  return { grants: n, heapBytesPerGrant: (after - before) / n }
}

async function redisStore (url: string, n: number): Promise<NonNullable<MemoryResult['redis']>> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  const keyPrefix = `bench-mem-${randomBytes(4).toString('hex')}:`
  const store = new RedisStore({ client: redis, keyPrefix })
  const grant = grantsOn(store)
  try {
    const before = await redisUsedMemory(redis)
    const samples: Array<{ deviceCode: string, userCode: string }> = []
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, async (_, j) =>
        await grant.authorize({ client, verificationUri: 'https://auth.example.com/device', ip: `203.0.${(i + j) >> 8 & 255}.${(i + j) & 255}`, userAgent: USER_AGENT })))
      if (samples.length < 100) samples.push(...batch.slice(0, 100 - samples.length).map(r => ({ deviceCode: r.device_code, userCode: r.user_code })))
    }
    const after = await redisUsedMemory(redis)
    let usage = 0
    for (const s of samples) {
      const keys = [store.grantKey(hashDeviceCode(s.deviceCode)), store.userCodeKey(grant.userCodes.normalize(s.userCode) ?? '')]
      for (const key of keys) usage += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
    }
    return { grants: n, usedMemoryBytesPerGrant: (after - before) / n, memoryUsageBytesPerGrant: usage / samples.length }
  } finally {
    await deleteKeys(redis, keyPrefix)
    await redis.quit()
  }
}

/** SCAN + DEL of our own prefix only; bounded. */
async function deleteKeys (redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  for (let i = 0; i < 100_000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
    if (cursor === '0') return
  }
}

const result: MemoryResult = { memory: await memoryStore(Number(process.env.BENCH_MEMORY_GRANTS ?? 100_000)) }
if (process.env.BENCH_REDIS_URL !== undefined) {
  result.redis = await redisStore(process.env.BENCH_REDIS_URL, Number(process.env.BENCH_REDIS_GRANTS ?? 10_000))
}
process.stdout.write(JSON.stringify(result) + '\n')
