import t from 'tap'
import { StoreUnavailableError, type DeviceGrantRecord } from '@device-grant/core'
import { RedisStore, redisStore } from '../src/index.js'
import { connect, deleteKeys, makeGrant, quit, uniquePrefix } from './helpers.js'

const client = connect()
const keyPrefix = uniquePrefix('store')
const store = redisStore({ client, keyPrefix })
const poll = (g: DeviceGrantRecord, now: number, clientId = g.clientId) => ({ clientId, now, leewayMs: 1000, slowDownStep: 5 })

t.teardown(async () => {
  await deleteKeys(client, keyPrefix)
  await quit(client)
})

t.test('options', async t => {
  t.throws(() => new RedisStore(undefined as never), TypeError)
  t.throws(() => new RedisStore({ client: {} as never }), /ioredis/)
  t.throws(() => new RedisStore({ client, keyPrefix: 'a{b}:' }), /keyPrefix/)
  t.throws(() => new RedisStore({ client, keyPrefix: 3 as never }), /keyPrefix/)
  t.throws(() => new RedisStore({ client, retention: -1 }), /retention/)
  t.throws(() => new RedisStore({ client, retention: Number.NaN }), /retention/)
  t.throws(() => new RedisStore({ client, operationTimeout: 0 }), /operationTimeout/)
  t.throws(() => new RedisStore({ client, coalesceWrites: 'yes' as never }), /coalesceWrites/)
  for (const bad of [{ client: {} as never }, { client, keyPrefix: '{' }, { client, retention: -1 }, { client, operationTimeout: -1 }]) {
    t.throws(() => new RedisStore(bad), { name: 'TypeError', message: /^@device-grant\/store-redis: / }, 'errors name the package')
  }
  const defaults = new RedisStore({ client })
  t.equal(defaults.keyPrefix, 'device-grant:')
  t.equal(defaults.grantKey('abc'), 'device-grant:g:{abc}')
  t.equal(defaults.userCodeKey('WDJBMJHT'), 'device-grant:u:{WDJBMJHT}')
  t.same(defaults.capabilities, { sharedAcrossProcesses: true })
})

t.test('a second store on the same client reuses the script definitions', async t => {
  const other = new RedisStore({ client, keyPrefix })
  const g = makeGrant()
  t.equal(await store.save(g), true)
  t.same((await other.recordPoll(g.deviceCodeHash, poll(g, g.createdAt + 1)))?.grant.lastPolledAt, g.createdAt + 1)
})

t.test('save and both lookups round-trip every field exactly', async t => {
  const full = makeGrant({
    scope: '',
    lastPolledAt: Date.now() - 1234,
    subject: 'ユーザー 👩‍💻 "quoted" \\ \n',
    grantedScope: '',
    decidedAt: 1_700_000_000_123,
    ip: '2001:db8::1',
    userAgent: 'x'.repeat(4096) + 'é',
    dpopJkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
    interval: 7.5
  })
  t.equal(await store.save(full), true)
  t.strictSame(await store.findByDeviceCodeHash(full.deviceCodeHash), full)
  t.strictSame(await store.findByUserCode(full.userCode), full)

  const bare = makeGrant()
  t.equal(await store.save(bare), true)
  const found = await store.findByDeviceCodeHash(bare.deviceCodeHash)
  t.strictSame(found, bare, 'no optional field appears when unset')
  for (const f of ['lastPolledAt', 'subject', 'grantedScope', 'decidedAt', 'ip', 'userAgent', 'dpopJkt']) t.notOk(f in found!, `${f} absent`)

  t.equal(await store.findByDeviceCodeHash('nope'), undefined)
  t.equal(await store.findByUserCode('NOPE'), undefined)
})

t.test('claim hands the winner the dpopJkt the grant was bound to', async t => {
  const g = makeGrant({ dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })
  await store.save(g)
  await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })
  t.equal((await store.claim(g.deviceCodeHash, g.createdAt + 2))?.dpopJkt, g.dpopJkt)
})

t.test('numbers are stored as decimal strings, optional fields absent', async t => {
  const g = makeGrant()
  await store.save(g)
  const h = await client.hgetall(store.grantKey(g.deviceCodeHash))
  t.equal(h.createdAt, String(g.createdAt))
  t.equal(h.expiresAt, String(g.expiresAt))
  t.equal(h.interval, '5')
  t.notOk('subject' in h)
  t.equal(await client.get(store.userCodeKey(g.userCode)), `${g.expiresAt}:${g.deviceCodeHash}`)
})

t.test('returned records are copies', async t => {
  const g = makeGrant()
  await store.save(g)
  g.status = 'approved'
  const found = await store.findByDeviceCodeHash(g.deviceCodeHash)
  t.equal(found?.status, 'pending', 'mutating the saved object changes nothing')
  found!.status = 'consumed'
  t.equal((await store.findByDeviceCodeHash(g.deviceCodeHash))?.status, 'pending')
})

t.test('save: a live user code blocks, an expired one does not', async t => {
  const first = makeGrant()
  t.equal(await store.save(first), true)
  const clash = makeGrant({ userCode: first.userCode, createdAt: first.expiresAt - 1 })
  t.equal(await store.save(clash), false)
  t.equal(await store.findByDeviceCodeHash(clash.deviceCodeHash), undefined, 'the loser wrote nothing')
  t.strictSame(await store.findByUserCode(first.userCode), first)

  const later = makeGrant({ userCode: first.userCode, createdAt: first.expiresAt })
  t.equal(await store.save(later), true, 'a holder expired at the new createdAt does not block')
  t.strictSame(await store.findByUserCode(first.userCode), later)
  t.strictSame(await store.findByDeviceCodeHash(first.deviceCodeHash), first, 'the old record stays for late polls')
})

t.test('save: the same grant twice, and a device-code hash already taken', async t => {
  const g = makeGrant()
  t.equal(await store.save(g), true)
  t.equal(await store.save(g), false)

  const sameHash = makeGrant({ deviceCodeHash: g.deviceCodeHash })
  t.equal(await store.save(sameHash), false)
  t.equal(await client.exists(store.userCodeKey(sameHash.userCode)), 0, 'the claimed user code was released')
  t.equal(await store.findByUserCode(sameHash.userCode), undefined)
  t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), g, 'the holder of the hash is untouched')
})

t.test('findByUserCode ignores an index whose record is gone or belongs to another code', async t => {
  const g = makeGrant()
  await store.save(g)
  await client.del(store.grantKey(g.deviceCodeHash))
  t.equal(await store.findByUserCode(g.userCode), undefined)

  const a = makeGrant()
  await store.save(a)
  await client.set(store.userCodeKey('FORGED'), `${a.expiresAt}:${a.deviceCodeHash}`)
  t.equal(await store.findByUserCode('FORGED'), undefined)
})

t.test('recordPoll', async t => {
  const g = makeGrant()
  await store.save(g)
  const t0 = g.createdAt + 100

  let r = await store.recordPoll(g.deviceCodeHash, poll(g, t0))
  t.equal(r?.slowDown, false, 'the first poll is never too fast')
  t.equal(r?.grant.lastPolledAt, t0)

  r = await store.recordPoll(g.deviceCodeHash, poll(g, t0 + 4000))
  t.equal(r?.slowDown, false, 'interval - leeway is on time')
  t.equal(r?.grant.lastPolledAt, t0 + 4000)

  r = await store.recordPoll(g.deviceCodeHash, poll(g, t0 + 7999))
  t.equal(r?.slowDown, true, 'one ms under interval - leeway is too fast')
  t.equal(r?.grant.interval, 10)
  t.equal(r?.grant.lastPolledAt, t0 + 4000, 'a too-fast poll does not move the baseline')

  r = await store.recordPoll(g.deviceCodeHash, poll(g, t0 + 4000 + 9000))
  t.equal(r?.slowDown, false)
  t.equal(r?.grant.interval, 10)
  const stored = await store.findByDeviceCodeHash(g.deviceCodeHash)
  t.strictSame(r?.grant, {
    clientId: stored?.clientId,
    status: stored?.status,
    expiresAt: stored?.expiresAt,
    interval: stored?.interval,
    lastPolledAt: stored?.lastPolledAt
  }, 'the reply is what is stored, and only the polled fields')

  const other = await store.recordPoll(g.deviceCodeHash, poll(g, t0 + 13_001, 'someone-else'))
  t.equal(other?.slowDown, false)
  t.equal(other?.grant.lastPolledAt, t0 + 13_000, "another client's poll writes nothing")

  const late = await store.recordPoll(g.deviceCodeHash, poll(g, g.expiresAt))
  t.equal(late?.slowDown, false)
  t.equal(late?.grant.lastPolledAt, t0 + 13_000, 'an expired grant is not touched')

  t.equal(await store.recordPoll('missing', poll(g, t0)), undefined)
})

t.test('recordPoll on a decided grant writes nothing', async t => {
  const g = makeGrant()
  await store.save(g)
  await store.recordPoll(g.deviceCodeHash, poll(g, g.createdAt + 1))
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 2 }), true)
  const r = await store.recordPoll(g.deviceCodeHash, poll(g, g.createdAt + 3))
  t.equal(r?.slowDown, false)
  t.equal(r?.grant.status, 'approved')
  t.equal(r?.grant.interval, 5)
  t.equal(r?.grant.lastPolledAt, g.createdAt + 1)
})

t.test('fractional intervals grow exactly as in JavaScript', async t => {
  const g = makeGrant({ interval: 0.1, lastPolledAt: Date.now() })
  await store.save(g)
  const r = await store.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now: g.lastPolledAt!, leewayMs: 0, slowDownStep: 0.2 })
  t.equal(r?.slowDown, true)
  t.equal(r?.grant.interval, 0.1 + 0.2)
})

t.test('bindSubject', async t => {
  const g = makeGrant()
  await store.save(g)
  const now = g.createdAt + 10
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), true)
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), true, 'already bound to alice')
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'bob', now }), false)
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'bob', now }), false, 'bob may not decide alice\'s grant')
  t.equal(await store.deny(g.deviceCodeHash, { subject: 'bob', now }), false)
  t.equal((await store.findByDeviceCodeHash(g.deviceCodeHash))?.subject, 'alice')
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now: g.expiresAt }), false, 'expired')
  t.equal(await store.bindSubject('missing', { subject: 'alice', now }), false)
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now }), true)
  t.equal(await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now }), false, 'no longer pending')
})

t.test('approve and deny are one-shot, live only', async t => {
  const a = makeGrant()
  await store.save(a)
  const now = a.createdAt + 10
  t.equal(await store.approve(a.deviceCodeHash, { subject: 'alice', now, grantedScope: 'openid' }), true)
  t.equal(await store.approve(a.deviceCodeHash, { subject: 'alice', now }), false)
  t.equal(await store.deny(a.deviceCodeHash, { subject: 'alice', now }), false)
  t.strictSame(await store.findByDeviceCodeHash(a.deviceCodeHash), { ...a, status: 'approved', subject: 'alice', decidedAt: now, grantedScope: 'openid' })

  const d = makeGrant()
  await store.save(d)
  t.equal(await store.deny(d.deviceCodeHash, { subject: 'bob', now }), true)
  t.equal(await store.approve(d.deviceCodeHash, { subject: 'bob', now }), false)
  t.strictSame(await store.findByDeviceCodeHash(d.deviceCodeHash), { ...d, status: 'denied', subject: 'bob', decidedAt: now })

  const e = makeGrant()
  await store.save(e)
  t.equal(await store.approve(e.deviceCodeHash, { subject: 'alice', now: e.expiresAt }), false)
  t.equal(await store.deny(e.deviceCodeHash, { subject: 'alice', now: e.expiresAt + 1 }), false)
  t.equal((await store.findByDeviceCodeHash(e.deviceCodeHash))?.status, 'pending')
  t.equal(await store.approve('missing', { subject: 'alice', now }), false)

  const s = makeGrant()
  await store.save(s)
  t.equal(await store.approve(s.deviceCodeHash, { subject: 'alice', now, grantedScope: '' }), true)
  t.equal((await store.findByDeviceCodeHash(s.deviceCodeHash))?.grantedScope, '', 'an empty granted scope is kept')
})

t.test('claim: once, approved and live only', async t => {
  const g = makeGrant()
  await store.save(g)
  const now = g.createdAt + 10
  t.equal(await store.claim(g.deviceCodeHash, now), undefined, 'pending cannot be claimed')
  await store.approve(g.deviceCodeHash, { subject: 'alice', now })
  t.equal(await store.claim(g.deviceCodeHash, g.expiresAt), undefined, 'expired cannot be claimed')
  const won = await store.claim(g.deviceCodeHash, now + 1)
  t.strictSame(won, { ...g, status: 'approved', subject: 'alice', decidedAt: now }, 'the winner gets the record as approved')
  t.equal(await store.claim(g.deviceCodeHash, now + 2), undefined)
  t.equal((await store.findByDeviceCodeHash(g.deviceCodeHash))?.status, 'consumed')
  t.equal(await store.claim('missing', now), undefined)
})

t.test('a foreign value under our key is an error, not an outage', async t => {
  const g = makeGrant()
  await client.set(store.grantKey(g.deviceCodeHash), 'not a hash')
  const err = await store.findByDeviceCodeHash(g.deviceCodeHash).catch((e: unknown) => e)
  t.match(err, { name: 'ReplyError', message: /WRONGTYPE/ })
  t.notOk(err instanceof StoreUnavailableError)
  await t.rejects(store.claim(g.deviceCodeHash, Date.now()), { name: 'ReplyError' })

  const foreign = makeGrant()
  await client.hset(store.grantKey(foreign.deviceCodeHash), 'something', 'else')
  t.equal(await store.findByDeviceCodeHash(foreign.deviceCodeHash), undefined, 'a hash that is not a grant is no grant')
  t.equal(await store.recordPoll(foreign.deviceCodeHash, poll(foreign, Date.now())), undefined)
  t.strictSame(await client.hgetall(store.grantKey(foreign.deviceCodeHash)), { something: 'else' }, 'and is left alone')
})

t.test('close() leaves the client alone', async t => {
  const s = new RedisStore({ client, keyPrefix })
  await s.close()
  t.equal(client.status, 'ready')
  t.equal(await store.findByDeviceCodeHash('nope'), undefined)
})
