import t from 'tap'
import { codeOf } from './codes.js'
// The reference store from source: core keeps no package dependency on a store.
import { MemoryStore } from '../../store-memory/src/index.js'
import { createDeviceGrant, OAuthError, type DeviceClient, type DeviceGrantEvent, type DeviceGrantOptions } from '../src/index.js'

const tv: DeviceClient = { clientId: 'tv' }

function setup (overrides: Partial<DeviceGrantOptions> = {}) {
  const clock = { now: Date.now() }
  const store = new MemoryStore({ sweepInterval: 0 })
  const grant = createDeviceGrant({
    store,
    clock: () => clock.now,
    issueToken: ({ subject }) => ({ access_token: `at-${subject}`, token_type: 'Bearer' }),
    ...overrides
  })
  return { grant, store, clock }
}

async function start (grant: ReturnType<typeof setup>['grant'], scope?: string) {
  return grant.authorize({ client: tv, verificationUri: 'https://a.example/device', ...(scope !== undefined && { scope }) })
}

t.test('lookup finds a grant by any spelling of its code and never shows the device code', async t => {
  const { grant } = setup()
  const auth = await start(grant)
  const view = await grant.lookup(auth.user_code.toLowerCase().replace('-', ' '))
  t.equal(view?.displayCode, auth.user_code)
  t.equal(view?.state, 'pending')
  t.notOk(JSON.stringify(view).includes(auth.device_code))
  t.equal(await grant.lookup('BBBB-BBBB'), undefined)
  t.equal(await grant.lookup('nonsense'), undefined)
})

t.test('a grant shows as expired once its time is up', async t => {
  const { grant, clock } = setup()
  const auth = await start(grant)
  clock.now += auth.expires_in * 1000
  t.equal((await grant.lookup(auth.user_code))?.state, 'expired')
})

t.test('bind ties a grant to the first user; nobody else may decide it', async t => {
  const { grant } = setup()
  const { user_code: code } = await start(grant)
  t.equal((await grant.bind(code, 'alice')).ok, true)
  t.equal((await grant.bind(code, 'alice')).ok, true, 'the same user again')
  t.same(await grant.bind(code, 'mallory'), { ok: false, reason: 'other_user' })
  t.same(await grant.approve(code, 'mallory'), { ok: false, reason: 'other_user' })
  t.same(await grant.deny(code, 'mallory'), { ok: false, reason: 'other_user' })
  t.equal((await grant.approve(code, 'alice')).ok, true)
})

t.test('approve and deny are one-shot', async t => {
  const { grant } = setup()
  const { user_code: code } = await start(grant)
  const first = await grant.approve(code, 'alice')
  t.equal(first.ok, true)
  t.equal(first.ok && first.grant.state, 'approved')
  const again = await grant.deny(code, 'alice')
  t.equal(again.ok, false)
  t.equal(!again.ok && again.reason, 'already_decided')
  t.equal((await grant.lookup(code))?.state, 'approved')
})

t.test('deciding an unknown or expired code says why', async t => {
  const { grant, clock } = setup()
  const { user_code: code } = await start(grant)
  t.same(await grant.approve('ZZZZ-ZZZZ', 'alice'), { ok: false, reason: 'unknown' })
  clock.now += 600_000
  const late = await grant.approve(code, 'alice')
  t.equal(!late.ok && late.reason, 'expired')
})

t.test('a user may grant less scope than asked, never more', async t => {
  const { grant } = setup()
  const { user_code: code } = await start(grant, 'read write')
  await t.rejects(grant.approve(code, 'alice', { grantedScope: 'read admin' }), OAuthError)
  const ok = await grant.approve(code, 'alice', { grantedScope: 'read' })
  t.equal(ok.ok && ok.grant.grantedScope, 'read')
})

t.test('a granted scope may be an array of tokens, like scopes and defaultScope', async t => {
  const { grant } = setup()
  const { user_code: code } = await start(grant, 'read write admin')
  const ok = await grant.approve(code, 'alice', { grantedScope: ['write', 'read'] })
  t.equal(ok.ok && ok.grant.grantedScope, 'write read')
})

t.test('a granted scope array wider than asked, or with a malformed token, is invalid_scope', async t => {
  const { grant } = setup()
  const { user_code: code } = await start(grant, 'read write')
  for (const grantedScope of [['read', 'admin'], ['read write']]) {
    const error = await grant.approve(code, 'alice', { grantedScope }).catch((err: unknown) => err)
    t.equal(error instanceof OAuthError && error.error, 'invalid_scope', grantedScope.join(','))
  }
  t.equal((await grant.lookup(code))?.state, 'pending')
})

t.test('a subject must be a non-empty string', async t => {
  const { grant } = setup()
  const { user_code: code } = await start(grant)
  await t.rejects(grant.approve(code, ''), /subject must be a non-empty string/)
})

t.test('a user-code collision is retried with a fresh code', async t => {
  const { grant, store } = setup()
  let refusals = 2
  const save = store.save.bind(store)
  store.save = async record => (refusals-- > 0 ? false : save(record))
  const auth = await start(grant)
  t.ok(await grant.lookup(auth.user_code), 'saved on the third try')
})

t.test('endless collisions end in temporarily_unavailable, not a loop', async t => {
  const { grant, store } = setup()
  store.save = async () => false
  t.equal(await codeOf(start(grant), true), 'temporarily_unavailable/503')
})

t.test('listener errors are reported, not thrown, sync or async', async t => {
  const errors: unknown[] = []
  const { grant } = setup({ onEvent: async () => { throw new Error('async sink') }, onEventError: e => { errors.push(e) } })
  await start(grant)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(errors.length, 1)
})

t.test('options are validated', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const issueToken = () => ({ access_token: 'a', token_type: 'b' })
  t.throws(() => createDeviceGrant(null as never), /options are required/)
  t.throws(() => createDeviceGrant({ store, issueToken, onEvent: 'x' as never }), /onEvent must be a function/)
  t.throws(() => createDeviceGrant({ store, issueToken, clock: 1 as never }), /clock must be a function/)
  t.throws(() => createDeviceGrant({ store, issueToken, defaultScope: ['a"b'] }), /invalid_scope/)
  t.throws(() => createDeviceGrant({ store, issueToken, pollLeeway: 10 }), /pollLeeway must be a number from 0 to 5/)
})

t.test('a verification URI that has a query gets the code appended with &', async t => {
  const { grant } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri: 'https://a.example/activate?lang=en' })
  t.match(auth.verification_uri_complete, /^https:\/\/a\.example\/activate\?lang=en&user_code=[A-Z]{4}-[A-Z]{4}$/)
})

t.test('a client without the device grant cannot start one', async t => {
  const { grant } = setup()
  t.equal(await codeOf(grant.authorize({ client: { clientId: 'web', grantTypes: ['authorization_code'] }, verificationUri: 'https://a.example/device' })), 'unauthorized_client')
})

t.test('device info is truncated, never refused', async t => {
  const { grant } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri: 'https://a.example/device', ip: '1'.repeat(600), userAgent: 'U'.repeat(2000) })
  const view = await grant.lookup(auth.user_code)
  t.equal(view?.ip?.length, 512)
  t.equal(view?.userAgent?.length, 512)
})

t.test('a decision carries sameNetwork into its event when the page compared networks', async t => {
  const events: DeviceGrantEvent[] = []
  const { grant } = setup({ onEvent: e => { events.push(e) } })
  const a = await start(grant)
  const b = await start(grant)
  const c = await start(grant)
  await grant.approve(a.user_code, 'u', { sameNetwork: true })
  await grant.deny(b.user_code, 'u', { sameNetwork: false })
  await grant.approve(c.user_code, 'u')
  const decided = events.filter(e => e.type === 'grant.approved' || e.type === 'grant.denied')
  t.match(decided[0], { type: 'grant.approved', sameNetwork: true })
  t.match(decided[1], { type: 'grant.denied', sameNetwork: false })
  t.notOk('sameNetwork' in (decided[2] as object), 'not compared: not claimed')
})

t.test('emit sends an event through onEvent like the grant’s own', async t => {
  const events: DeviceGrantEvent[] = []
  const { grant } = setup({ onEvent: e => { events.push(e) } })
  grant.emit({ type: 'verification.attack_suspected', failures: 1001, max: 1000, windowSeconds: 600, windowEndsAt: 0 })
  t.strictSame(events, [{ type: 'verification.attack_suspected', failures: 1001, max: 1000, windowSeconds: 600, windowEndsAt: 0 }])
})
