import t from 'tap'
import type { DeviceGrantStore } from '@device-grant/core'
import { storeSuite } from '@device-grant/store-test-suite'
import type { Redis } from 'ioredis'
import { RedisStore } from '../src/index.js'
import { connect, deleteKeys, quit, uniquePrefix } from './helpers.js'

// One prefix for the whole file run: stores from the factory must share the backend (each one
// stands for a process), while other runs on the same server stay out of the way.
const keyPrefix = uniquePrefix('conformance')
const admin = connect()
const clients = new WeakMap<DeviceGrantStore, Redis>()

t.teardown(async () => {
  await deleteKeys(admin, keyPrefix)
  await quit(admin)
})

// Redis drops expired grants by TTL and has no deleteExpired(): that one case is left out, and
// the summary check below fails if anything else ever stops applying.
const summary = await storeSuite((name, fn, options) => t.test(name, options, fn), () => {
  // A client per store, like separate processes: nothing is serialized on one connection.
  const client = connect()
  const store = new RedisStore({ client, keyPrefix })
  clients.set(store, client)
  return store
}, {
  name: 'redis',
  unsupported: 'omit',
  teardown: async store => {
    const client = clients.get(store)
    if (client !== undefined) await quit(client)
  }
})

t.test('redis: every conformance case applies but deleteExpired', async t => {
  t.same(summary.notRun.map(({ reason }) => reason), ['the store has no deleteExpired()'])
})
