import t from 'tap'
import { RedisStore } from '../src/index.js'
import { connect, deleteKeys, eventually, makeGrant, quit, scanKeys, uniquePrefix } from './helpers.js'

const client = connect()
const keyPrefix = uniquePrefix('keys')
const store = new RedisStore({ client, keyPrefix })

t.teardown(async () => {
  await deleteKeys(client, keyPrefix)
  await quit(client)
})

t.test('a grant is one hash and one user-code index, both hash-tagged', async t => {
  const prefix = uniquePrefix('layout')
  const s = new RedisStore({ client, keyPrefix: prefix })
  t.teardown(async () => { await deleteKeys(client, prefix) })
  const g = makeGrant()
  await s.save(g)
  t.strictSame(await scanKeys(client, `${prefix}*`), [`${prefix}g:{${g.deviceCodeHash}}`, `${prefix}u:{${g.userCode}}`].sort())
  t.equal(await client.type(`${prefix}g:{${g.deviceCodeHash}}`), 'hash')
  t.equal(await client.get(`${prefix}u:{${g.userCode}}`), `${g.expiresAt}:${g.deviceCodeHash}`)
})

t.test('every key of a grant expires at expiresAt + retention', async t => {
  for (const retention of [600, 30, 0.0005]) {
    const s = new RedisStore({ client, keyPrefix, retention })
    const g = makeGrant()
    await s.save(g)
    const expected = Math.ceil(g.expiresAt + retention * 1000)
    for (const key of [s.grantKey(g.deviceCodeHash), s.userCodeKey(g.userCode)]) {
      t.equal(await client.call('PEXPIRETIME', key), expected, `${key} PEXPIRETIME (retention ${retention})`)
      const pttl = await client.pttl(key)
      const ideal = expected - Date.now()
      t.ok(pttl <= ideal + 50 && pttl > ideal - 2000, `PTTL ${pttl} ≈ ${ideal}`)
    }
  }
})

t.test('transitions keep the expiry', async t => {
  const g = makeGrant()
  await store.save(g)
  const key = store.grantKey(g.deviceCodeHash)
  const expected = g.expiresAt + 600_000
  const now = g.createdAt + 10
  await store.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now, leewayMs: 1000, slowDownStep: 5 })
  await store.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now: now + 1, leewayMs: 1000, slowDownStep: 5 })
  t.equal(await client.call('PEXPIRETIME', key), expected, 'after polls')
  await store.bindSubject(g.deviceCodeHash, { subject: 'alice', now })
  await store.approve(g.deviceCodeHash, { subject: 'alice', now })
  t.equal(await client.call('PEXPIRETIME', key), expected, 'after the decision')
  await store.claim(g.deviceCodeHash, now)
  t.equal(await client.call('PEXPIRETIME', key), expected, 'after the claim')
})

t.test('within retention a late poll still finds the expired grant', async t => {
  const createdAt = Date.now() - 16 * 60_000
  const g = makeGrant({ createdAt, expiresAt: createdAt + 15 * 60_000 })
  await store.save(g)
  const r = await store.recordPoll(g.deviceCodeHash, { clientId: g.clientId, now: Date.now(), leewayMs: 1000, slowDownStep: 5 })
  t.equal(r?.grant.status, 'pending')
  t.ok(Date.now() >= r!.grant.expiresAt, 'expired: the caller answers expired_token')
  t.equal(r?.grant.lastPolledAt, undefined, 'and nothing was written')
  t.strictSame(await store.findByUserCode(g.userCode), g)
})

t.test('Redis drops the keys itself once retention is over', async t => {
  const s = new RedisStore({ client, keyPrefix, retention: 0 })
  const createdAt = Date.now()
  const g = makeGrant({ createdAt, expiresAt: createdAt + 150 })
  await s.save(g)
  await eventually(async () => {
    if (await client.exists(s.grantKey(g.deviceCodeHash), s.userCodeKey(g.userCode)) !== 0) throw new Error('still there')
  }, 5000, 50)
  t.equal(await s.findByDeviceCodeHash(g.deviceCodeHash), undefined)
  t.equal(await s.findByUserCode(g.userCode), undefined)

  const gone = makeGrant({ createdAt: createdAt - 60_000, expiresAt: createdAt - 1 })
  t.equal(await s.save(gone), true, 'saving a grant already past retention is accepted')
  t.equal(await s.findByDeviceCodeHash(gone.deviceCodeHash), undefined, 'and Redis drops it at once')
})

t.test('key prefixes isolate stores on one server', async t => {
  const a = new RedisStore({ client, keyPrefix: uniquePrefix('iso-a') })
  const b = new RedisStore({ client, keyPrefix: uniquePrefix('iso-b') })
  t.teardown(async () => {
    await deleteKeys(client, a.keyPrefix)
    await deleteKeys(client, b.keyPrefix)
  })
  const g = makeGrant()
  t.equal(await a.save(g), true)
  t.equal(await b.findByDeviceCodeHash(g.deviceCodeHash), undefined)
  t.equal(await b.findByUserCode(g.userCode), undefined)
  t.equal(await b.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt }), false)
  t.equal(await b.save(g), true, 'the same user code is free under another prefix')
  t.equal(await b.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt }), true)
  t.equal((await a.findByDeviceCodeHash(g.deviceCodeHash))?.status, 'pending', "b's decision did not touch a")
})

t.test("the client's own keyPrefix composes with the store's", async t => {
  const clientPrefix = uniquePrefix('client')
  const prefixed = connect(undefined, { keyPrefix: clientPrefix })
  t.teardown(async () => {
    await deleteKeys(client, clientPrefix)
    await quit(prefixed)
  })
  const s = new RedisStore({ client: prefixed, keyPrefix: 'dg:' })
  const g = makeGrant()
  t.equal(await s.save(g), true)
  t.equal(await client.exists(`${clientPrefix}dg:g:{${g.deviceCodeHash}}`, `${clientPrefix}dg:u:{${g.userCode}}`), 2)
  t.strictSame(await s.findByUserCode(g.userCode), g)
  t.equal(await s.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt }), true)
  t.equal((await s.claim(g.deviceCodeHash, g.createdAt))?.subject, 'alice')
})
