import t from 'tap'
import { PostgresStore, postgresStore } from '../src/index.js'
import { roundTripTests } from './shared/round-trip.js'
import { createTestDatabase, grant, polled } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const store = postgresStore({ pool: db.pool, table: db.table })
const poll = (clientId: string, now: number, leewayMs = 1000) => ({ clientId, now, leewayMs, slowDownStep: 5 })

roundTripTests(t, { store })

t.test('dpopJkt survives the decision and comes back from the claim', async (t) => {
  const g = grant({ dpopJkt: 'jkt-1' })
  await store.save(g)
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1, grantedScope: 'openid' }), true)
  t.strictSame(await store.claim(g.deviceCodeHash, g.createdAt + 2),
    { ...g, status: 'approved', subject: 'alice', decidedAt: g.createdAt + 1, grantedScope: 'openid' })
})

t.test('a second save of one device-code hash resolves false and changes nothing', async (t) => {
  const g = grant()
  t.equal(await store.save(g), true)
  t.equal(await store.save({ ...g, userCode: `${g.userCode}X`, scope: 'other' }), false)
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), g)
})

t.test('recordPoll on a decided grant writes nothing and reports the decision', async (t) => {
  const g = grant()
  await store.save(g)
  await store.deny(g.deviceCodeHash, { subject: 'bob', now: g.createdAt + 1 })
  t.strictSame(await store.recordPoll(g.deviceCodeHash, poll('client-a', g.createdAt + 2)),
    { grant: polled({ ...g, status: 'denied' }), slowDown: false })
})

t.test('hit: a refund gives back what was counted, and the count never goes below 0', async (t) => {
  const key = `refund-${Math.random()}`
  const window = { windowMs: 60_000, now: 1_800_000_000_000 }
  const resetAt = 1_800_000_060_000
  t.strictSame(await store.hit(key, { ...window, increment: 3 }), { count: 3, resetAt })
  t.strictSame(await store.hit(key, { ...window, increment: -1 }), { count: 2, resetAt })
  t.strictSame(await store.hit(key, { ...window, increment: -5 }), { count: 0, resetAt }, 'floored at 0')
  t.strictSame(await store.hit(key, { ...window, increment: 1 }), { count: 1, resetAt }, 'counts from 0 again')
  t.strictSame(await store.hit(`${key}-new`, { ...window, increment: -2 }), { count: 0, resetAt }, 'a refund on a fresh key')
})

t.test('hit: the same key with two window lengths counts apart', async (t) => {
  const key = `windows-${Math.random()}`
  const now = 1_800_000_000_000
  await store.hit(key, { windowMs: 60_000, now, increment: 1 })
  t.equal((await store.hit(key, { windowMs: 600_000, now, increment: 1 })).count, 1)
  t.equal((await store.hit(key, { windowMs: 60_000, now, increment: 0 })).count, 1)
})

t.test('hit: parallel hits and refunds through three pools add up exactly', async (t) => {
  const stores = [store, postgresStore({ pool: db.newPool({ max: 4 }), table: db.table }), postgresStore({ pool: db.newPool({ max: 4 }), table: db.table })]
  const key = `race-${Math.random()}`
  const at = { windowMs: 60_000, now: 1_800_000_000_000 }
  // Refunds only after the hits: one that ran first would be floored at 0, by design.
  await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 3]?.hit(key, { ...at, increment: 1 })))
  await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 3]?.hit(key, { ...at, increment: -1 })))
  t.equal((await store.hit(key, { ...at, increment: 0 })).count, 20, '40 hits, 20 refunds')
})

t.test('hit and useOnce reject bad arguments with a TypeError naming them', async (t) => {
  await t.rejects(store.hit('', { windowMs: 1000, now: 1, increment: 1 }), new TypeError('hit: key must be a non-empty string'))
  await t.rejects(store.hit('k', { windowMs: 1.5, now: 1, increment: 1 }), /windowMs/)
  await t.rejects(store.useOnce('k', { now: 10, expiresAt: 10 }), /expiresAt/)
})

t.test('useOnce: true the first time while live, false on a replay, true again once expired', async (t) => {
  const key = `jti-${Math.random()}`
  t.equal(await store.useOnce(key, { now: 1000, expiresAt: 2000 }), true)
  t.equal(await store.useOnce(key, { now: 1999, expiresAt: 5000 }), false, 'a replay while live')
  t.equal(await store.useOnce(key, { now: 2000, expiresAt: 3000 }), true, 'used again once expired')
  t.equal(await store.useOnce(key, { now: 2500, expiresAt: 9000 }), false, 'the new use holds until its own expiry')
})

t.test('useOnce: 50 concurrent callers through three pools, one winner', async (t) => {
  const stores = [store, postgresStore({ pool: db.newPool({ max: 4 }), table: db.table }), postgresStore({ pool: db.newPool({ max: 4 }), table: db.table })]
  const key = `jti-race-${Math.random()}`
  const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % 3]?.useOnce(key, { now: 1000, expiresAt: 61_000 })))
  t.equal(outcomes.filter(Boolean).length, 1)
})

t.test('sweep keeps records for the retention, drops ended counter windows and once-keys; deleteExpired ignores retention', async (t) => {
  const { schema } = db
  const swept = postgresStore({ pool: db.pool, table: db.table, retention: 60, clock: () => 10_000_000 })
  const old = grant({ createdAt: 1_000_000, expiresAt: 9_940_000 })
  const recent = grant({ createdAt: 1_000_000, expiresAt: 9_940_001 })
  await swept.save(old)
  await swept.save(recent)
  await swept.hit('sweep-counter', { windowMs: 1000, now: 9_999_500, increment: 1 })
  await swept.hit('sweep-counter-live', { windowMs: 1000, now: 10_000_000, increment: 1 })
  await swept.useOnce('sweep-once', { now: 9_000_000, expiresAt: 10_000_000 })
  await swept.useOnce('sweep-once-live', { now: 9_000_000, expiresAt: 10_000_001 })
  t.equal(await swept.sweep(), 1, 'one record expired more than 60 s ago (the clock\'s now)')
  t.equal(await swept.findByDeviceCodeHash(old.deviceCodeHash), undefined)
  t.strictSame(await swept.findByDeviceCodeHash(recent.deviceCodeHash), recent)
  const { rows: counters } = await db.admin.query(`SELECT key FROM "${schema}".device_grant_counter WHERE key LIKE 'sweep-%' ORDER BY 1`)
  t.same(counters, [{ key: 'sweep-counter-live' }], 'the window that ended at now is gone')
  const { rows: once } = await db.admin.query(`SELECT key FROM "${schema}".device_grant_once WHERE key LIKE 'sweep-%' ORDER BY 1`)
  t.same(once, [{ key: 'sweep-once-live' }])
  t.equal(await swept.deleteExpired(9_940_001), 1, 'deleteExpired: expiresAt <= now, no retention')
  t.equal(await swept.findByDeviceCodeHash(recent.deviceCodeHash), undefined)
  t.equal(await swept.sweep(20_000_000), 0, 'an explicit now')
  await t.rejects(swept.sweep(Number.NaN), /store-postgres: sweep: now must be a finite number/)
})

t.test('prepared: false sends the same statements unnamed', async (t) => {
  const pool = db.newPool({ max: 2 })
  const plain = postgresStore({ pool, table: db.table, prepared: false })
  const g = grant()
  t.equal(await plain.save(g), true)
  t.strictSame(await plain.findByUserCode(g.userCode), g)
})

t.test('options are checked, errors prefixed with the package name', async (t) => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /^@device-grant\/store-postgres: options must be an object$/],
    ['no pool', {}, /^@device-grant\/store-postgres: pool must be a node-postgres Pool/],
    ['a bad table', { pool: db.pool, table: 'a.b.c' }, /^@device-grant\/store-postgres: table must be "name" or "schema.name"/],
    ['a quoted table', { pool: db.pool, table: '"x"' }, /^@device-grant\/store-postgres: table must be/],
    ['a negative retention', { pool: db.pool, retention: -1 }, /^@device-grant\/store-postgres: retention must be a number of seconds >= 0$/],
    ['a zero operationTimeout', { pool: db.pool, operationTimeout: 0 }, /^@device-grant\/store-postgres: operationTimeout must be/],
    ['a clock that is not a function', { pool: db.pool, clock: 5 }, /^@device-grant\/store-postgres: clock must be a function$/],
    ['a batch that is not a boolean', { pool: db.pool, batch: 'no' }, /^@device-grant\/store-postgres: batch must be true or false$/]
  ]
  for (const [name, options, message] of bad) {
    t.throws(() => new PostgresStore(options as never), { name: 'TypeError', message }, name)
  }
})

t.test('errors that are not about the connection pass through unchanged', async (t) => {
  const missing = postgresStore({ pool: db.pool, table: `${db.schema}.no_such_table` })
  await t.rejects(missing.findByDeviceCodeHash('x'), { code: '42P01' })
})
