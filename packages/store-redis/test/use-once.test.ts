import t from 'tap'
import type { RedisStore } from '../src/index.js'
import { storesOnOwnClients } from './helpers.js'

const { clients, stores, close } = storesOnOwnClients('once', 20)
const [store] = stores as [RedisStore]
const client = clients[0]!
t.teardown(close)

const now = Date.now()

t.test('the first use of a key wins', async t => {
  t.equal(await store.useOnce('jti:first', { now, expiresAt: now + 60_000 }), true)
})

t.test('a second use while the first is live loses, from any process', async t => {
  await store.useOnce('jti:replay', { now, expiresAt: now + 60_000 })
  t.equal(await store.useOnce('jti:replay', { now: now + 1, expiresAt: now + 120_000 }), false, 'same store')
  t.equal(await stores[1]!.useOnce('jti:replay', { now: now + 59_999, expiresAt: now + 120_000 }), false, 'another client, the last live millisecond')
})

t.test('a losing use changes nothing: the first use still decides when the key is free', async t => {
  await store.useOnce('jti:kept', { now, expiresAt: now + 1000 })
  await store.useOnce('jti:kept', { now: now + 10, expiresAt: now + 900_000 })
  t.equal(await store.useOnce('jti:kept', { now: now + 1000, expiresAt: now + 2000 }), true)
})

t.test('once the earlier use has expired, by the now passed in, the key can be used again', async t => {
  await store.useOnce('jti:expired', { now, expiresAt: now + 1000 })
  t.equal(await store.useOnce('jti:expired', { now: now + 1000, expiresAt: now + 5000 }), true, 'at expiresAt, not Redis\'s clock')
  t.equal(await store.useOnce('jti:expired', { now: now + 1001, expiresAt: now + 6000 }), false, 'and the new use holds it')
})

t.test('keys are separate', async t => {
  await store.useOnce('jti:a', { now, expiresAt: now + 60_000 })
  t.equal(await store.useOnce('jti:b', { now, expiresAt: now + 60_000 }), true)
})

t.test('100 concurrent uses through 20 connections: exactly one winner', async t => {
  const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => await stores[i % stores.length]!.useOnce('jti:race', { now, expiresAt: now + 60_000 })))
  t.equal(results.filter(won => won).length, 1)
})

t.test('one key, kept a minute past expiresAt (clock skew), then dropped by Redis', async t => {
  const expiresAt = now + 30_000.5
  await store.useOnce('jti:ttl', { now, expiresAt })
  t.equal(await client.get(store.usedKey('jti:ttl')), String(expiresAt), 'the value is the use\'s expiresAt')
  t.equal(await client.call('PEXPIRETIME', store.usedKey('jti:ttl')), Math.ceil(expiresAt + 60_000))
})

t.test('bad arguments are refused with a TypeError', async t => {
  await t.rejects(store.useOnce('', { now, expiresAt: now + 1 }), TypeError)
  await t.rejects(store.useOnce('k', { now: Number.NaN, expiresAt: now + 1 }), TypeError)
  await t.rejects(store.useOnce('k', { now, expiresAt: now }), TypeError)
  await t.rejects(store.useOnce('k', undefined as never), TypeError)
})
