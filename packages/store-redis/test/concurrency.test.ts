import t from 'tap'
import type { Redis } from 'ioredis'
import { RedisStore } from '../src/index.js'
import { connect, deleteKeys, makeGrant, quit, uniquePrefix } from './helpers.js'

const N = 100
const keyPrefix = uniquePrefix('race')
// One connection per "process": nothing is serialized on the client side.
const clients: Redis[] = Array.from({ length: N }, () => connect())
const stores = clients.map(client => new RedisStore({ client, keyPrefix }))
const [first] = stores as [RedisStore]

t.teardown(async () => {
  await deleteKeys(clients[0]!, keyPrefix)
  await Promise.all(clients.map(quit))
})

t.before(async () => {
  await Promise.all(clients.map(async c => await c.ping()))
})

t.test(`${N} parallel claims on ${N} connections: exactly one winner`, async t => {
  for (let round = 0; round < 3; round++) {
    const g = makeGrant()
    await first.save(g)
    await first.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })
    const results = await Promise.all(stores.map(s => s.claim(g.deviceCodeHash, g.createdAt + 2)))
    const winners = results.filter(r => r !== undefined)
    t.equal(winners.length, 1, `round ${round}: one winner`)
    t.equal(winners[0]?.status, 'approved')
    t.equal((await first.findByDeviceCodeHash(g.deviceCodeHash))?.status, 'consumed')
  }
})

t.test(`${N} parallel saves of one user code: exactly one lands`, async t => {
  const userCode = makeGrant().userCode
  const grants = stores.map(() => makeGrant({ userCode }))
  const results = await Promise.all(stores.map(async (s, i) => await s.save(grants[i]!)))
  t.equal(results.filter(Boolean).length, 1)
  const winner = grants[results.indexOf(true)]!
  t.strictSame(await first.findByUserCode(userCode), winner)
  const stored = await Promise.all(grants.map(async g => await first.findByDeviceCodeHash(g.deviceCodeHash)))
  t.equal(stored.filter(r => r !== undefined).length, 1, 'the losers wrote nothing')
})

t.test('parallel approve and deny by different users: one decision', async t => {
  const g = makeGrant()
  await first.save(g)
  const now = g.createdAt + 1
  const results = await Promise.all(stores.map(async (s, i) => i % 2 === 0
    ? await s.approve(g.deviceCodeHash, { subject: `user-${i}`, now })
    : await s.deny(g.deviceCodeHash, { subject: `user-${i}`, now })))
  t.equal(results.filter(Boolean).length, 1)
  const i = results.indexOf(true)
  const r = await first.findByDeviceCodeHash(g.deviceCodeHash)
  t.equal(r?.status, i % 2 === 0 ? 'approved' : 'denied')
  t.equal(r?.subject, `user-${i}`)
})

t.test('parallel polls lose no update', async t => {
  const g = makeGrant()
  await first.save(g)
  const now = g.createdAt + 1
  const results = await Promise.all(stores.map(async s => await s.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now, leewayMs: 1000, slowDownStep: 5 })))
  t.equal(results.filter(r => r?.slowDown === false).length, 1, 'the first poll sets the baseline')
  t.equal(results.filter(r => r?.slowDown === true).length, N - 1, 'every other one is too fast')
  const r = await first.findByDeviceCodeHash(g.deviceCodeHash)
  t.equal(r?.interval, 5 + 5 * (N - 1), 'each slow_down added its step')
  t.equal(r?.lastPolledAt, now)
})

t.test('a poll racing an approval never undoes it', async t => {
  for (let round = 0; round < 5; round++) {
    const g = makeGrant()
    await first.save(g)
    const now = g.createdAt + 1
    const ops = stores.map(async (s, i) => i === N / 2
      ? await s.approve(g.deviceCodeHash, { subject: 'alice', now })
      : await s.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now, leewayMs: 1000, slowDownStep: 5 }))
    await Promise.all(ops)
    const r = await first.findByDeviceCodeHash(g.deviceCodeHash)
    t.equal(r?.status, 'approved', `round ${round}`)
    t.equal(r?.subject, 'alice')
  }
})
