import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import { PrismaStore, prismaStore } from '../src/index.js'
import type { PrismaClientLike } from '../src/index.js'
import { roundTripTests } from '../../store-postgres/test/shared/round-trip.js'
import { createTestDatabase, grant, polled } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const store = prismaStore({ prisma: db.prisma, table: db.table })
const poll = (clientId: string, now: number, leewayMs = 1000) => ({ clientId, now, leewayMs, slowDownStep: 5 })

roundTripTests(t, { store })

t.test('returned records are copies', async (t) => {
  const g = grant()
  await store.save(g)
  const a = await store.findByDeviceCodeHash(g.deviceCodeHash)
  t.not(a, undefined)
  if (a === undefined) return
  a.status = 'approved'
  a.interval = 99
  g.scope = 'changed after save'
  t.match(await store.findByDeviceCodeHash(g.deviceCodeHash), { status: 'pending', interval: 5, scope: 'openid profile' })
})

t.test('save: a live holder of the user code blocks, an expired one is replaced', async (t) => {
  const holder = grant({ createdAt: 1_000_000, expiresAt: 2_000_000 })
  t.equal(await store.save(holder), true)
  const blocked = grant({ userCode: holder.userCode, createdAt: 1_999_999 })
  t.equal(await store.save(blocked), false, 'the holder is live one ms before it expires')
  t.equal(await store.findByDeviceCodeHash(blocked.deviceCodeHash), undefined, 'the loser wrote nothing')
  t.strictSame(await store.findByUserCode(holder.userCode), holder)

  const replacing = grant({ userCode: holder.userCode, createdAt: 2_000_000, clientId: 'client-b', ip: '192.0.2.1' })
  t.equal(await store.save(replacing), true, 'expired at createdAt == expiresAt')
  t.strictSame(await store.findByUserCode(holder.userCode), replacing)
  t.equal(await store.findByDeviceCodeHash(holder.deviceCodeHash), undefined, 'the expired holder is gone')

  // Re-saving an expired grant under its own hash and code replaces it too.
  const again = { ...replacing, createdAt: replacing.expiresAt, expiresAt: replacing.expiresAt + 1000, status: 'pending' as const }
  t.equal(await store.save(again), true)
  t.strictSame(await store.findByDeviceCodeHash(again.deviceCodeHash), again)
})

t.test('save: a device-code hash already stored resolves false and changes nothing', async (t) => {
  const first = grant()
  t.equal(await store.save(first), true)
  t.equal(await store.save({ ...first }), false, 'the same record twice')
  t.equal(await store.save(grant({ deviceCodeHash: first.deviceCodeHash })), false, 'same hash, other user code')
  // Same hash, but its user code is held by another (expired) record: the replacement would
  // duplicate the hash, so it is refused as well.
  const old = grant({ createdAt: 1000, expiresAt: 2000 })
  await store.save(old)
  t.equal(await store.save(grant({ deviceCodeHash: first.deviceCodeHash, userCode: old.userCode })), false)
  t.strictSame(await store.findByDeviceCodeHash(first.deviceCodeHash), first)
  t.strictSame(await store.findByUserCode(old.userCode), old)
})

t.test('recordPoll: first poll, on time, too fast, with leeway', async (t) => {
  const g = grant()
  await store.save(g)
  const t0 = g.createdAt + 1000
  const first = await store.recordPoll(g.deviceCodeHash, poll('client-a', t0))
  t.strictSame(first, { grant: polled({ ...g, lastPolledAt: t0 }), slowDown: false }, 'the first poll is never slow_down')

  const fast = await store.recordPoll(g.deviceCodeHash, poll('client-a', t0 + 3999))
  t.strictSame(fast, { grant: polled({ ...g, lastPolledAt: t0, interval: 10 }), slowDown: true }, '1 ms inside the leeway: slow_down')

  // interval is now 10 s: on time from t0 + 9000 (1 s leeway).
  const onTime = await store.recordPoll(g.deviceCodeHash, poll('client-a', t0 + 9000))
  t.strictSame(onTime, { grant: polled({ ...g, lastPolledAt: t0 + 9000, interval: 10 }), slowDown: false }, 'exactly interval - leeway is on time')

  const noLeeway = await store.recordPoll(g.deviceCodeHash, poll('client-a', t0 + 9000 + 9999, 0))
  t.equal(noLeeway?.slowDown, true, 'without leeway, 1 ms early is too fast')
  t.equal(noLeeway?.grant.interval, 15)
  t.equal(noLeeway?.grant.lastPolledAt, t0 + 9000, 'a too-fast poll does not move the baseline')

  const fractional = await store.recordPoll(g.deviceCodeHash, poll('client-a', t0 + 9000 + 14_000, 500.5))
  t.equal(fractional?.slowDown, true, 'leeway may be fractional (14000 < 15000 - 500.5)')
  const stored = await store.findByDeviceCodeHash(g.deviceCodeHash)
  t.equal(stored?.interval, 20)
})

t.test('recordPoll writes nothing for another client, an expired or a decided grant', async (t) => {
  t.equal(await store.recordPoll('no-such-hash', poll('client-a', Date.now())), undefined)

  const g = grant()
  await store.save(g)
  t.strictSame(await store.recordPoll(g.deviceCodeHash, poll('client-b', g.createdAt + 10)), { grant: polled(g), slowDown: false }, 'another client')
  t.strictSame(await store.recordPoll(g.deviceCodeHash, poll('client-a', g.expiresAt)), { grant: polled(g), slowDown: false }, 'expired (now == expiresAt)')
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), g)

  await store.recordPoll(g.deviceCodeHash, poll('client-a', g.createdAt + 10))
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 20 }), true)
  const approved = { ...g, lastPolledAt: g.createdAt + 10, status: 'approved' as const, subject: 'alice', decidedAt: g.createdAt + 20 }
  t.strictSame(await store.recordPoll(g.deviceCodeHash, poll('client-a', g.createdAt + 30)), { grant: polled(approved), slowDown: false }, 'a fast poll of an approved grant: no bookkeeping')
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), approved)
})

t.test('bindSubject, approve and deny are guarded one-shot writes', async (t) => {
  const g = grant()
  await store.save(g)
  const now = g.createdAt + 100
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), true, 'bind')
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), true, 'bound already to the same user')
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'mallory', now }), false, 'bound to someone else')
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'mallory', now }), false, 'someone else may not approve')
  t.equal(await store.deny(g.deviceCodeHash, { subject: 'mallory', now }), false, 'nor deny')
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), { ...g, subject: 'alice' })
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now, grantedScope: 'openid' }), true)
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now }), false, 'one-shot')
  t.equal(await store.deny(g.deviceCodeHash, { subject: 'alice', now }), false, 'no deny after approve')
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), false, 'no longer pending')
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), { ...g, status: 'approved', subject: 'alice', decidedAt: now, grantedScope: 'openid' })

  const d = grant()
  await store.save(d)
  t.equal(await store.deny(d.deviceCodeHash, { subject: 'bob', now: d.createdAt + 5 }), true)
  t.equal(await store.approve(d.deviceCodeHash, { subject: 'bob', now: d.createdAt + 6 }), false)
  t.strictSame(await store.findByDeviceCodeHash(d.deviceCodeHash), { ...d, status: 'denied', subject: 'bob', decidedAt: d.createdAt + 5 })

  const late = grant()
  await store.save(late)
  t.equal(await store.bindSubject(late.deviceCodeHash, { subject: 'bob', now: late.expiresAt }), false, 'expired: no bind')
  t.equal(await store.approve(late.deviceCodeHash, { subject: 'bob', now: late.expiresAt }), false, 'expired: no approve')
  t.equal(await store.deny(late.deviceCodeHash, { subject: 'bob', now: late.expiresAt + 1 }), false, 'expired: no deny')
  t.equal(await store.approve('no-such-hash', { subject: 'bob', now: 1 }), false, 'missing')
  t.strictSame(await store.findByDeviceCodeHash(late.deviceCodeHash), late)
})

t.test('claim: only from approved, only while live, only once', async (t) => {
  const g = grant()
  await store.save(g)
  t.equal(await store.claim(g.deviceCodeHash, g.createdAt + 1), undefined, 'pending')
  await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 2 })
  const approved = { ...g, status: 'approved' as const, subject: 'alice', decidedAt: g.createdAt + 2 }
  t.equal(await store.claim(g.deviceCodeHash, g.expiresAt), undefined, 'expired')
  t.strictSame(await store.claim(g.deviceCodeHash, g.createdAt + 3), approved, 'the winner gets the record as approved')
  t.equal(await store.claim(g.deviceCodeHash, g.createdAt + 4), undefined, 'once')
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), { ...approved, status: 'consumed' })
  t.equal(await store.claim('no-such-hash', 1), undefined, 'missing')
})

t.test('deleteExpired drops expiresAt <= now and counts; sweep keeps the retention', async (t) => {
  // Far in the past: only other tests' early, already expired records are there.
  const base = 5_000_000
  const a = grant({ createdAt: base - 100, expiresAt: base })
  const b = grant({ createdAt: base - 100, expiresAt: base + 1 })
  const c = grant({ createdAt: base - 100, expiresAt: base + 60_000 })
  await store.deleteExpired(base - 1) // what earlier tests left expired
  for (const g of [a, b, c]) await store.save(g)
  t.equal(await store.deleteExpired(base - 1), 0)
  t.equal(await store.deleteExpired(base), 1)
  t.equal(await store.findByDeviceCodeHash(a.deviceCodeHash), undefined)
  t.equal(await store.findByUserCode(a.userCode), undefined)
  t.strictSame(await store.findByDeviceCodeHash(b.deviceCodeHash), b)

  const clockStore = prismaStore({ prisma: db.prisma, table: db.table, retention: 30, clock: () => base + 30_000 })
  t.equal(await clockStore.sweep(), 0, 'b expired 29.999 s before the clock: kept for the retention')
  t.equal(await clockStore.sweep(base + 30_001), 1, 'b is past its retention')
  t.strictSame(await store.findByDeviceCodeHash(c.deviceCodeHash), c)
  t.equal(await prismaStore({ prisma: db.prisma, table: db.table }).sweep(base + 660_000), 1, 'default retention 600 s, default clock overridden by the argument')
  t.ok(await store.sweep() >= 0, 'default clock')
})

t.test('the default table name resolves through the search_path', async (t) => {
  const onPath = prismaStore({ prisma: db.newClient({ searchPath: true }) })
  const g = grant()
  t.equal(await onPath.save(g), true)
  t.match(await onPath.recordPoll(g.deviceCodeHash, poll('client-a', g.createdAt + 1)), { slowDown: false })
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), { ...g, lastPolledAt: g.createdAt + 1 })
})

t.test('model option: any object with the raw methods and the named delegate', async (t) => {
  const client = {
    $queryRawUnsafe: db.prisma.$queryRawUnsafe.bind(db.prisma),
    $executeRawUnsafe: db.prisma.$executeRawUnsafe.bind(db.prisma),
    grants: db.prisma.deviceGrant
  }
  const aliased = new PrismaStore({ prisma: client, model: 'grants', table: db.table })
  const g = grant()
  t.equal(await aliased.save(g), true)
  t.equal(await aliased.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 }), true)
  t.match(await aliased.findByUserCode(g.userCode), { status: 'approved' })
  t.same(aliased.capabilities, { sharedAcrossProcesses: true })
  // Type level: the generated client is a PrismaClientLike.
  const typed: PrismaClientLike = db.prisma
  t.ok(typed)
})

t.test('options are checked up front', async (t) => {
  // @ts-expect-error the generated client has no `nope` delegate: a compile-time error as well
  t.throws(() => prismaStore({ prisma: db.prisma, model: 'nope' }), TypeError)
  t.throws(() => prismaStore({ prisma: db.prisma, model: '' as 'deviceGrant' }), TypeError)
  t.throws(() => prismaStore({ prisma: {} as unknown as PrismaClientLike }), TypeError)
  t.throws(() => prismaStore({ prisma: undefined as unknown as PrismaClientLike }), TypeError)
  t.throws(() => prismaStore({ prisma: db.prisma, retention: -1 }), TypeError)
  t.throws(() => prismaStore({ prisma: db.prisma, retention: Number.NaN }), TypeError)
  t.throws(() => prismaStore({ prisma: db.prisma, table: 'a.b.c' }), TypeError)
  t.throws(() => prismaStore({ prisma: db.prisma, table: 'bad"name' }), TypeError)
  t.throws(() => prismaStore({ prisma: db.prisma, table: '' }), TypeError)
  t.ok(prismaStore({ prisma: db.prisma, table: 'public.device_grant', retention: 0 }))
  for (const [name, options, message] of [
    ['a bad table', { table: 'a.b.c' }, /^@device-grant\/store-prisma: table must be "name" or "schema.name"/],
    ['a negative retention', { retention: -1 }, /^@device-grant\/store-prisma: retention must be a number of seconds >= 0$/],
    ['a zero operationTimeout', { operationTimeout: 0 }, /^@device-grant\/store-prisma: operationTimeout must be/],
    ['a missing delegate', { model: 'nope' }, /^@device-grant\/store-prisma: prisma\.nope is not a model delegate/]
  ] as const) {
    t.throws(() => new PrismaStore({ prisma: db.prisma, ...options } as never), { name: 'TypeError', message }, `${name}: prefixed with the package name`)
  }
})

t.test('dpopJkt round-trips through save, find and claim', async (t) => {
  const g = grant({ dpopJkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' })
  t.equal(await store.save(g), true)
  t.strictSame(await store.findByUserCode(g.userCode), g)
  await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })
  t.strictSame(await store.claim(g.deviceCodeHash, g.createdAt + 2), { ...g, status: 'approved', subject: 'alice', decidedAt: g.createdAt + 1 })
})

t.test('hit: refunds, a floor at 0, parallel hits through two clients all counted', async (t) => {
  const key = `prisma-hit-${Math.random()}`
  const at = { windowMs: 60_000, now: 1_800_000_000_000 }
  const resetAt = 1_800_000_060_000
  t.strictSame(await store.hit(key, { ...at, increment: 2 }), { count: 2, resetAt })
  t.strictSame(await store.hit(key, { ...at, increment: -5 }), { count: 0, resetAt }, 'floored at 0')
  const other = prismaStore({ prisma: db.newClient({ max: 4 }), table: db.table })
  await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? store : other).hit(key, { ...at, increment: 1 })))
  t.strictSame(await store.hit(key, { ...at, increment: 0 }), { count: 30, resetAt })
})

t.test('useOnce: one winner among parallel callers, usable again once expired', async (t) => {
  const key = `prisma-jti-${Math.random()}`
  const other = prismaStore({ prisma: db.newClient({ max: 4 }), table: db.table })
  const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).useOnce(key, { now: 1000, expiresAt: 2000 })))
  t.equal(outcomes.filter(Boolean).length, 1)
  t.equal(await store.useOnce(key, { now: 2000, expiresAt: 3000 }), true)
})

t.test('sweep also drops ended counter windows and expired once-keys', async (t) => {
  await store.hit('prisma-sweep-k', { windowMs: 1000, now: 7_000_500, increment: 1 })
  await store.useOnce('prisma-sweep-o', { now: 7_000_000, expiresAt: 7_001_000 })
  await store.sweep(7_001_000)
  const { rows } = await db.admin.query(`SELECT (SELECT count(*) FROM "${db.schema}".device_grant_counter WHERE key = 'prisma-sweep-k')::int AS k,
    (SELECT count(*) FROM "${db.schema}".device_grant_once WHERE key = 'prisma-sweep-o')::int AS o`)
  t.same(rows, [{ k: 0, o: 0 }])
})

t.test('errors other than an unavailable database propagate as they are', async (t) => {
  const wrongTable = prismaStore({ prisma: db.prisma, table: `${db.schema}.missing_table` })
  const g = grant()
  for (const [name, op] of [
    ['save', () => wrongTable.save(g)],
    ['recordPoll', () => wrongTable.recordPoll(g.deviceCodeHash, poll('client-a', 1))],
    ['claim', () => wrongTable.claim(g.deviceCodeHash, 1)]
  ] as const) {
    const err = await op().then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof Error && !(err instanceof StoreUnavailableError), `${name}: ${String(err)}`)
    t.match(err, { code: 'P2010' }, `${name}: Prisma's raw query error`)
  }
  const tooLong = await store.save(grant({ interval: 2 ** 31 })).then(() => undefined, (e: unknown) => e)
  t.ok(tooLong instanceof Error && !(tooLong instanceof StoreUnavailableError), 'an out-of-range value is not a connection problem')
})
