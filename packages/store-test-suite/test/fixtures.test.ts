import t from 'tap'
import { BASE20_CHARSET } from '@device-grant/core'
import {
  GRANT_LIFETIME_MS,
  POLL_LEEWAY_MS,
  SLOW_DOWN_STEP,
  assertRecord,
  makeGrant,
  makePoll,
  plainRecord,
  randomDeviceCodeHash,
  randomUserCode
} from '../src/index.js'

t.test('randomDeviceCodeHash has the shape of a SHA-256 in base64url', async (t) => {
  const hashes = new Set(Array.from({ length: 100 }, randomDeviceCodeHash))
  t.equal(hashes.size, 100, 'never repeats')
  for (const hash of hashes) t.match(hash, /^[A-Za-z0-9_-]{43}$/)
})

t.test('randomUserCode draws 8 characters of the base-20 charset', async (t) => {
  const allowed = new RegExp(`^[${BASE20_CHARSET}]{8}$`)
  for (let i = 0; i < 100; i++) t.match(randomUserCode(), allowed)
  t.match(randomUserCode(12), new RegExp(`^[${BASE20_CHARSET}]{12}$`))
})

t.test('makeGrant makes a live pending record with fresh codes', async (t) => {
  const before = Date.now()
  const grant = makeGrant()
  t.equal(grant.status, 'pending')
  t.ok(grant.createdAt >= before && grant.createdAt <= Date.now(), 'created now, on the wall clock')
  t.equal(grant.expiresAt, grant.createdAt + GRANT_LIFETIME_MS)
  t.ok(GRANT_LIFETIME_MS >= 10 * 60_000, 'stores with a real TTL keep it through a slow run')
  t.equal(grant.interval, 5)
  t.same(Object.keys(grant).sort(), ['clientId', 'createdAt', 'deviceCodeHash', 'expiresAt', 'interval', 'scope', 'status', 'userCode'], 'no optional field set')
  const other = makeGrant()
  t.not(other.deviceCodeHash, grant.deviceCodeHash)
  t.not(other.userCode, grant.userCode)
})

t.test('makeGrant takes overrides; expiresAt follows an overridden createdAt', async (t) => {
  const createdAt = Date.now() + 60_000
  t.equal(makeGrant({ createdAt }).expiresAt, createdAt + GRANT_LIFETIME_MS)
  const grant = makeGrant({ createdAt, expiresAt: createdAt + 1, subject: 'x', userCode: 'BCDFGHJK' })
  t.equal(grant.expiresAt, createdAt + 1)
  t.equal(grant.subject, 'x')
  t.equal(grant.userCode, 'BCDFGHJK')
})

t.test('makePoll is a poll by the grant\'s own client with the plugin defaults', async (t) => {
  const grant = makeGrant()
  t.same(makePoll(grant, 5), { clientId: grant.clientId, now: 5, leewayMs: POLL_LEEWAY_MS, slowDownStep: SLOW_DOWN_STEP })
  t.same(makePoll(grant, 5, { clientId: 'other', leewayMs: 0 }), { clientId: 'other', now: 5, leewayMs: 0, slowDownStep: SLOW_DOWN_STEP })
})

t.test('assertRecord treats undefined fields as absent but not null', async (t) => {
  const grant = makeGrant()
  t.same(plainRecord({ ...grant, subject: undefined }), plainRecord(grant))
  t.doesNotThrow(() => assertRecord({ ...grant, subject: undefined }, grant, 'undefined is absent'))
  t.throws(() => assertRecord({ ...grant, subject: null as unknown as string }, grant, 'null'), { name: 'AssertionError' })
  t.throws(() => assertRecord(undefined, grant, 'missing'), { name: 'AssertionError', message: /missing: expected a record, got undefined/ })
})
