import { MemoryStore } from '@device-grant/store-memory'
import type { FastifyBaseLogger } from 'fastify'
import type { DeviceGrantStore } from 'fastify-device-grant'
import type { RedisStoreConfig, StoreConfig } from './config.js'
import { createPostgresStore, createPrismaStore } from './sql-store.js'

/** A store and how to release what it holds (connections, timers): a store we pass in is ours to close. */
export interface ExampleStore {
  store: DeviceGrantStore
  close: () => Promise<void>
}

/**
 * The store DEVICE_GRANT_STORE asks for. Redis and PostgreSQL are imported only when chosen, so
 * the memory store never loads a database driver.
 */
export async function createStore (config: StoreConfig | undefined, log: FastifyBaseLogger): Promise<ExampleStore> {
  if (config?.kind === 'redis') return await createRedisStore(config, log)
  if (config?.kind === 'postgres') return await createPostgresStore(config, log)
  if (config?.kind === 'prisma') return await createPrismaStore(config, log)
  const store = new MemoryStore()
  return { store, close: async () => { await store.close() } }
}

async function createRedisStore (config: RedisStoreConfig, log: FastifyBaseLogger): Promise<ExampleStore> {
  const [{ Redis }, { RedisStore }] = await Promise.all([import('ioredis'), import('@device-grant/store-redis')])
  // The settings the store's README asks for: while Redis is away, commands fail at once (the
  // plugin answers 503) instead of queueing and landing later; ioredis reconnects by itself.
  const client = new Redis(config.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: true })
  // ioredis emits an error at every reconnect attempt: log an outage once, and its end.
  let started = false
  let down = false
  let lastError: Error | undefined
  client.on('error', (err: Error) => {
    lastError = err
    if (!started || down) return
    down = true
    log.warn({ err }, 'redis unreachable: the device grant endpoints answer 503 until it is back')
  })
  client.on('ready', () => {
    if (down) log.info('redis reachable again')
    down = false
  })
  // Before connecting, so that a bad DEVICE_GRANT_REDIS_PREFIX throws with no connection to clean up.
  const store = new RedisStore({ client, ...(config.keyPrefix !== undefined && { keyPrefix: config.keyPrefix }) })
  // Fail the start rather than serve 503s from the first request on a wrong REDIS_URL.
  try {
    await client.connect()
  } catch (err) {
    client.disconnect()
    throw new Error('DEVICE_GRANT_STORE=redis: cannot connect to REDIS_URL', { cause: lastError ?? err })
  }
  started = true
  return {
    store,
    close: async () => {
      // QUIT waits for the replies in flight; without a connection there is nothing to wait for.
      try {
        await client.quit()
      } catch {
        client.disconnect()
      }
    }
  }
}
