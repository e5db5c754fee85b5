import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import type { RedisOptions } from 'ioredis'
import { RedisStore } from '../src/index.js'
import { connect, eventually, ready, makeGrant, quit, RECOMMENDED, RedisServer, timed } from './helpers.js'

const OPERATION_TIMEOUT = 1000
// Generous for a loaded 2-core machine; the point is "bounded", not "fast".
const BOUND = OPERATION_TIMEOUT + 1500

/** What the helpers below use of a subtest's `t`. */
type Test = Pick<typeof t, 'type' | 'ok' | 'equal' | 'strictSame' | 'teardown'>

async function setup (t: Test, options: RedisOptions) {
  const server = await RedisServer.start()
  const client = connect(server.url, options)
  t.teardown(async () => {
    client.disconnect()
    await server.destroy()
  })
  await ready(client)
  const store = new RedisStore({ client, keyPrefix: 'outage:', operationTimeout: OPERATION_TIMEOUT })
  return { server, client, store }
}

/** Every operation, each one on its own grant so none depends on another's outcome. */
function everyOperation (store: RedisStore) {
  const g = makeGrant()
  const now = g.createdAt + 1
  const h = g.deviceCodeHash
  return {
    save: () => store.save(g),
    findByDeviceCodeHash: () => store.findByDeviceCodeHash(h),
    findByUserCode: () => store.findByUserCode(g.userCode),
    recordPoll: () => store.recordPoll(h, { clientId: g.clientId, now, leewayMs: 1000, slowDownStep: 5 }),
    bindSubject: () => store.bindSubject(h, { subject: 'alice', now }),
    approve: () => store.approve(h, { subject: 'alice', now }),
    deny: () => store.deny(h, { subject: 'alice', now }),
    claim: () => store.claim(h, now),
    hit: () => store.hit('ip:1', { windowMs: 60_000, now, increment: 1 }),
    useOnce: () => store.useOnce(`jti:${h}`, { now, expiresAt: now + 60_000 })
  }
}

async function allUnavailable (t: Test, store: RedisStore, note: string) {
  const ops = Object.entries(everyOperation(store))
  const results = await Promise.all(ops.map(async ([name, op]) => ({ name, ...await timed(op) })))
  for (const { name, ms, error } of results) {
    t.type(error, StoreUnavailableError, `${note}: ${name} rejects with StoreUnavailableError`)
    t.ok(ms < BOUND, `${note}: ${name} settled in ${Math.round(ms)} ms (< ${BOUND})`)
  }
  // Sequentially too: a store must not get slower once it has failed.
  const { ms, error } = await timed(async () => { await store.recordPoll('x', { clientId: 'tv', now: Date.now(), leewayMs: 0, slowDownStep: 5 }) })
  t.type(error, StoreUnavailableError)
  t.ok(ms < BOUND, `${note}: a later recordPoll settled in ${Math.round(ms)} ms`)
}

async function recovers (t: Test, store: RedisStore, note: string) {
  // Wait with a read: retrying a timed-out save with the same grant could race its own
  // queued first attempt (which is why the core retries with a fresh user code).
  t.equal(await eventually(async () => await store.findByDeviceCodeHash('probe')), undefined, `${note}: answers again, same store`)
  const g = makeGrant()
  t.equal(await store.save(g), true, `${note}: save works again`)
  t.strictSame(await store.findByUserCode(g.userCode), g)
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 }), true)
  t.equal((await store.claim(g.deviceCodeHash, g.createdAt + 2))?.subject, 'alice')
}

t.test('recommended client settings: server killed, then restarted on the same port', async t => {
  const { server, store } = await setup(t, RECOMMENDED)
  await server.stop()
  await allUnavailable(t, store, 'down')
  await server.start()
  await recovers(t, store, 'restarted')
})

t.test('ioredis defaults (offline queue, 20 retries): the store enforces its own deadline', async t => {
  const { server, store } = await setup(t, {})
  await server.stop()
  await allUnavailable(t, store, 'down')
  await server.start()
  await recovers(t, store, 'restarted')
})

t.test('a server that accepts but never answers', async t => {
  const { server, store } = await setup(t, {})
  server.pause()
  t.teardown(() => { server.resume() })
  const { ms, error } = await timed(async () => await store.findByDeviceCodeHash('x'))
  t.type(error, StoreUnavailableError)
  t.match((error as Error).message, /no answer within 1000 ms/)
  t.ok(ms >= OPERATION_TIMEOUT - 50 && ms < BOUND, `timed out by the store after ${Math.round(ms)} ms`)
  await allUnavailable(t, store, 'hung')
  server.resume()
  await recovers(t, store, 'resumed')
})

t.test('each operation gets its own deadline, counted from when it started', async t => {
  const { server, store } = await setup(t, {})
  server.pause()
  t.teardown(() => { server.resume() })
  const started = performance.now()
  const first = timed(async () => await store.findByDeviceCodeHash('a'))
  await new Promise((resolve) => setTimeout(resolve, 400))
  const second = timed(async () => await store.findByDeviceCodeHash('b'))
  const [a, b] = await Promise.all([first, second])
  t.type(a.error, StoreUnavailableError)
  t.type(b.error, StoreUnavailableError)
  t.ok(a.ms >= OPERATION_TIMEOUT - 50 && a.ms < BOUND, `the first timed out after ${Math.round(a.ms)} ms`)
  // Not swept with the first one (too early), nor a full timeout after it (too late).
  t.ok(b.ms >= OPERATION_TIMEOUT - 50 && b.ms < BOUND, `the second timed out ${Math.round(b.ms)} ms after it started`)
  t.ok(performance.now() - started >= 400 + OPERATION_TIMEOUT - 50, 'the second outlived the first one\'s deadline')
})

t.test('no timer is left armed once nothing is in flight', async t => {
  const { store } = await setup(t, RECOMMENDED)
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const before = timers()
  await Promise.all([store.findByDeviceCodeHash('a'), store.recordPoll('b', { clientId: 'tv', now: Date.now(), leewayMs: 0, slowDownStep: 5 })])
  t.equal(timers(), before, 'the watchdog is cleared with the last answer')
})

t.test('a save that timed out leaves its user code free once the server answers again', async t => {
  const { server, client, store } = await setup(t, {})
  const g = makeGrant()
  server.pause()
  t.teardown(() => { server.resume() })
  await t.rejects(store.save(g), StoreUnavailableError)
  server.resume()
  // The queued claim runs on resume; the store sees its deadline passed and releases the code.
  await eventually(async () => {
    if (await client.exists(store.userCodeKey(g.userCode)) !== 0) throw new Error('user code still claimed')
  }, 5000, 50)
  t.equal(await client.exists(store.grantKey(g.deviceCodeHash)), 0, 'no record was written')
  t.equal(await store.save(makeGrant({ userCode: g.userCode })), true, 'the code can be handed out again')
})

t.test('the client was quit: unavailable, immediately', async t => {
  const server = await RedisServer.start()
  t.teardown(() => server.destroy())
  const client = connect(server.url, RECOMMENDED)
  await ready(client)
  const store = new RedisStore({ client, keyPrefix: 'outage:' })
  await quit(client)
  const { ms, error } = await timed(async () => await store.findByUserCode('ABCD'))
  t.type(error, StoreUnavailableError)
  t.ok(ms < 500, `${Math.round(ms)} ms`)
  t.ok((error as StoreUnavailableError).cause instanceof Error, 'the client error is the cause')
  t.equal((error as StoreUnavailableError).retryAfter, 5)
})
