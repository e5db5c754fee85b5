import t from 'tap'
import { Cluster } from 'ioredis'
import { storeSuite } from '@device-grant/store-test-suite'
import { RedisStore } from '../src/index.js'
import { connect, makeGrant, quit, startCluster } from './helpers.js'

// A file killed by tap's 30 s timeout never runs its teardown and leaves the servers behind:
// the whole conformance suite runs through the cluster below, longer than that on a busy machine.
t.setTimeout(120_000)
// A real three-master cluster of private servers: CROSSSLOT is only ever raised by a cluster.
const { nodes, destroy } = await startCluster(3)
t.teardown(destroy)
const admin = connect(nodes[0]!.url)
t.teardown(() => quit(admin))

const cluster = new Cluster(nodes.map(n => ({ host: '127.0.0.1', port: n.port })), {
  redisOptions: { maxRetriesPerRequest: 1 }
})
cluster.on('error', () => {})
t.teardown(() => quit(cluster))
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => { reject(new Error('cluster client not ready')) }, 10_000)
  cluster.once('ready', () => {
    clearTimeout(timer)
    resolve()
  })
})

const store = new RedisStore({ client: cluster, keyPrefix: 'cl:' })
const slotOf = async (key: string) => Number(await admin.call('CLUSTER', 'KEYSLOT', key))

t.test('keys hash by their tag, whatever the prefix', async t => {
  const g = makeGrant()
  t.equal(await slotOf(store.grantKey(g.deviceCodeHash)), await slotOf(g.deviceCodeHash), 'record slot = slot of the device-code hash')
  t.equal(await slotOf(store.userCodeKey(g.userCode)), await slotOf(g.userCode), 'index slot = slot of the user code')
  t.equal(await slotOf(new RedisStore({ client: cluster, keyPrefix: 'other:' }).grantKey(g.deviceCodeHash)), await slotOf(g.deviceCodeHash), 'the prefix never moves a key')
})

t.test('every operation works across slots and nodes (no CROSSSLOT)', async t => {
  const grants = Array.from({ length: 60 }, () => makeGrant())
  const slots = new Set<number>()
  let split = 0
  for (const g of grants) {
    const a = await slotOf(store.grantKey(g.deviceCodeHash))
    const b = await slotOf(store.userCodeKey(g.userCode))
    slots.add(a)
    if (a !== b) split++
  }
  t.ok(split > 50, `${split} of 60 grants have their two keys in different slots`)
  t.ok(slots.size > 50, 'records are spread over the cluster')

  t.strictSame(await Promise.all(grants.map(async g => await store.save(g))), grants.map(() => true))
  t.equal(await store.save({ ...makeGrant(), userCode: grants[0]!.userCode }), false, 'user codes stay unique')
  for (const [i, g] of grants.entries()) {
    const now = g.createdAt + 1
    t.strictSame(await store.findByUserCode(g.userCode), g)
    t.equal((await store.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now, leewayMs: 1000, slowDownStep: 5 }))?.grant.lastPolledAt, now)
    t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), true)
    if (i % 2 === 0) {
      t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now, grantedScope: 'openid' }), true)
      t.equal((await store.claim(g.deviceCodeHash, now))?.grantedScope, 'openid')
      t.equal(await store.claim(g.deviceCodeHash, now), undefined)
    } else {
      t.equal(await store.deny(g.deviceCodeHash, { subject: 'alice', now }), true)
    }
  }
})

t.test('counters work through the cluster', async t => {
  const now = Date.now()
  const hits = await Promise.all(Array.from({ length: 20 }, async (_, i) => await store.hit(`ip:${i % 4}`, { windowMs: 60_000, now, increment: 1 })))
  t.equal(Math.max(...hits.map(h => h.count)), 5)
})

t.test('refunds and replay checks work through the cluster', async t => {
  const now = Date.now()
  await store.hit('refund', { windowMs: 60_000, now, increment: 2 })
  t.equal((await store.hit('refund', { windowMs: 60_000, now, increment: -5 })).count, 0)
  const uses = await Promise.all(Array.from({ length: 50 }, async (_, i) => await store.useOnce(`jti:${i % 5}`, { now, expiresAt: now + 60_000 })))
  t.equal(uses.filter(won => won).length, 5, 'one winner per key, keys on several nodes')
})

t.test('parallel claims through the cluster: one winner', async t => {
  const g = makeGrant()
  await store.save(g)
  await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })
  const results = await Promise.all(Array.from({ length: 50 }, async () => await store.claim(g.deviceCodeHash, g.createdAt + 1)))
  t.equal(results.filter(r => r !== undefined).length, 1)
})

// The whole conformance suite once more, through the cluster. Stores share one Cluster client
// (it holds a connection per node); the suite's cross-store cases still go through Redis.
// As in conformance.test.ts, only the deleteExpired case does not apply (TTLs drop grants).
const summary = await storeSuite((name, fn, options) => t.test(name, options, fn), () => new RedisStore({ client: cluster, keyPrefix: 'suite:' }), {
  name: 'redis cluster',
  concurrency: 50,
  unsupported: 'omit'
})

t.test('redis cluster: every conformance case applies but deleteExpired', async t => {
  t.same(summary.notRun.map(({ reason }) => reason), ['the store has no deleteExpired()'])
})
