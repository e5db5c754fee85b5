import t from 'tap'
import type { RedisStore } from '../src/index.js'
import { scanKeys, storesOnOwnClients } from './helpers.js'

const { keyPrefix, clients, stores, close } = storesOnOwnClients('counter', 20)
const [store] = stores as [RedisStore]
const client = clients[0]!
t.teardown(close)

const WINDOW = 600_000
/** The start of the current window, on the wall clock (keys get a real TTL from it). */
const windowStart = Math.floor(Date.now() / WINDOW) * WINDOW

t.test('counts hits per key and window', async t => {
  const now = windowStart + 10
  t.strictSame(await store.hit('ip:198.51.100.7', { windowMs: WINDOW, now, increment: 0 }), { count: 0, resetAt: windowStart + WINDOW }, 'a read of a fresh key')
  t.equal((await scanKeys(client, `${keyPrefix}c:*`)).length, 0, 'a read creates nothing')
  t.strictSame(await store.hit('ip:198.51.100.7', { windowMs: WINDOW, now, increment: 1 }), { count: 1, resetAt: windowStart + WINDOW })
  t.strictSame(await store.hit('ip:198.51.100.7', { windowMs: WINDOW, now: now + 5, increment: 2 }), { count: 3, resetAt: windowStart + WINDOW })
  t.equal((await store.hit('ip:198.51.100.7', { windowMs: WINDOW, now, increment: 0 })).count, 3, 'a read does not count')
  t.equal((await store.hit('ip:203.0.113.9', { windowMs: WINDOW, now, increment: 1 })).count, 1, 'keys are separate')
  t.equal((await store.hit('ip:198.51.100.7', { windowMs: 60_000, now, increment: 1 })).count, 1, 'window lengths are separate')
  t.strictSame(await store.hit('ip:198.51.100.7', { windowMs: WINDOW, now: windowStart + WINDOW, increment: 1 }), { count: 1, resetAt: windowStart + 2 * WINDOW }, 'the next window starts from zero')
})

t.test('counters expire shortly after their window ends', async t => {
  const now = windowStart + 10
  await store.hit('expiry', { windowMs: WINDOW, now, increment: 1 })
  const [key] = await scanKeys(client, `${keyPrefix}c:{${WINDOW}:expiry}:*`)
  t.ok(key)
  t.equal(await client.call('PEXPIRETIME', key!), windowStart + WINDOW + 60_000)
})

t.test('parallel hits through many connections all count', async t => {
  const now = windowStart + 20
  const results = await Promise.all(stores.flatMap(s => [1, 2, 3, 4, 5].map(async () => await s.hit('shared', { windowMs: WINDOW, now, increment: 1 }))))
  t.strictSame(results.map(r => r.count).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1), 'every count from 1 to 100 once')
})

t.test('bad windows and increments are refused', async t => {
  await t.rejects(store.hit('k', { windowMs: 0, now: 1, increment: 1 }), TypeError)
  await t.rejects(store.hit('k', { windowMs: 1.5, now: 1, increment: 1 }), TypeError)
  await t.rejects(store.hit('k', { windowMs: WINDOW, now: Number.NaN, increment: 1 }), TypeError)
  await t.rejects(store.hit('k', { windowMs: WINDOW, now: 1, increment: 0.5 }), TypeError)
  await t.rejects(store.hit('', { windowMs: WINDOW, now: 1, increment: 1 }), TypeError)
})

t.test('a refund gives back what was counted', async t => {
  const now = windowStart + 30
  await store.hit('refund', { windowMs: WINDOW, now, increment: 3 })
  t.strictSame(await store.hit('refund', { windowMs: WINDOW, now, increment: -2 }), { count: 1, resetAt: windowStart + WINDOW })
  t.equal((await store.hit('refund', { windowMs: WINDOW, now, increment: 0 })).count, 1, 'the refund was stored')
  t.equal((await store.hit('refund', { windowMs: WINDOW, now, increment: 1 })).count, 2, 'counting goes on from there')
})

t.test('a refund never takes the count below 0', async t => {
  const now = windowStart + 40
  await store.hit('floor', { windowMs: WINDOW, now, increment: 2 })
  t.equal((await store.hit('floor', { windowMs: WINDOW, now, increment: -5 })).count, 0)
  t.equal((await store.hit('floor', { windowMs: WINDOW, now, increment: 1 })).count, 1, 'the next hit counts from 0, not from -3')
})

t.test('a refund of a counter never hit creates nothing', async t => {
  const now = windowStart + 50
  t.strictSame(await store.hit('never', { windowMs: WINDOW, now, increment: -1 }), { count: 0, resetAt: windowStart + WINDOW })
  t.equal((await scanKeys(client, `${keyPrefix}c:{${WINDOW}:never}:*`)).length, 0)
})

t.test('a refund keeps the counter\'s expiry', async t => {
  const now = windowStart + 60
  await store.hit('ttl', { windowMs: WINDOW, now, increment: 2 })
  await store.hit('ttl', { windowMs: WINDOW, now, increment: -1 })
  const [key] = await scanKeys(client, `${keyPrefix}c:{${WINDOW}:ttl}:*`)
  t.equal(await client.call('PEXPIRETIME', key!), windowStart + WINDOW + 60_000)
})

t.test('parallel hits and refunds through many connections settle on their sum, never below 0', async t => {
  const now = windowStart + 70
  await Promise.all(stores.map(async s => await s.hit('mixed', { windowMs: WINDOW, now, increment: 2 })))
  await Promise.all(stores.map(async s => await s.hit('mixed', { windowMs: WINDOW, now, increment: -1 })))
  t.equal((await store.hit('mixed', { windowMs: WINDOW, now, increment: 0 })).count, stores.length)
  await Promise.all(stores.map(async s => await s.hit('mixed', { windowMs: WINDOW, now, increment: -3 })))
  t.equal((await store.hit('mixed', { windowMs: WINDOW, now, increment: 0 })).count, 0)
})
