import assert from 'node:assert/strict'
import type { CounterHit, DeviceGrantRecord, DeviceGrantStore, PolledGrant, PollResult } from '@device-grant/core'
import { OPTIONAL_FIELDS, assertPolled, assertRecord, assertStored } from './assertions.js'
import {
  POLL_LEEWAY_MS,
  SLOW_DOWN_STEP,
  SUBJECT,
  makeGrant,
  makePoll,
  randomDeviceCodeHash,
  randomUserCode
} from './fixtures.js'

/** Opens one more store from the factory, torn down and closed with the case's own. */
export type OpenStore = () => Promise<DeviceGrantStore>
export type Case = (store: DeviceGrantStore, open: OpenStore) => Promise<void>
export type CaseList = Array<[name: string, run: Case]>

const OTHER_SUBJECT = 'suite-user-2'
/** When the fixtures decide a grant: one second after it was created. */
const DECIDED_AFTER_MS = 1000

async function savePending (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = makeGrant(overrides)
  assert.equal(await store.save(grant), true, 'saving a fresh grant should resolve true')
  return grant
}

async function saveApproved (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = await savePending(store, overrides)
  const now = grant.createdAt + DECIDED_AFTER_MS
  assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'approve of a fresh grant should win')
  return { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }
}

async function saveDenied (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = await savePending(store, overrides)
  const now = grant.createdAt + DECIDED_AFTER_MS
  assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'deny of a fresh grant should win')
  return { ...grant, status: 'denied', subject: SUBJECT, decidedAt: now }
}

async function saveConsumed (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = await saveApproved(store, overrides)
  assert.notEqual(await store.claim(grant.deviceCodeHash, grant.createdAt + 2 * DECIDED_AFTER_MS), undefined, 'claim of an approved grant should win')
  return { ...grant, status: 'consumed' }
}

const decided = [
  ['approved', saveApproved],
  ['denied', saveDenied],
  ['consumed', saveConsumed]
] as const

function mutate (record: PolledGrant & Partial<DeviceGrantRecord>): void {
  record.status = 'denied'
  record.subject = 'mallory'
  record.scope = 'admin'
  record.interval = 999
  record.expiresAt = 0
  record.lastPolledAt = 1
}

/**
 * A counter window that starts at a multiple of `windowMs` at least ten minutes ahead, so a
 * store whose counters expire with their window on the wall clock keeps them through the case.
 */
function futureWindow (): { windowMs: number, start: number } {
  const windowMs = 60_000
  return { windowMs, start: (Math.floor((Date.now() + 10 * 60_000) / windowMs) + 1) * windowMs }
}

function randomCounterKey (): string {
  return `suite:${randomDeviceCodeHash()}`
}

/** The two fields the contract defines, whatever else a store returns. */
function counter (hit: CounterHit): { count: number, resetAt: number } {
  return { count: hit.count, resetAt: hit.resetAt }
}

function count<T> (values: T[], predicate: (value: T) => boolean): number {
  return values.filter(predicate).length
}

/** Every case, in the order they run. `concurrency` is the number of parallel callers. */
export function storeCases (concurrency: number): CaseList {
  const cases: CaseList = []
  const add = (name: string, run: Case): void => { cases.push([name, run]) }
  const half = Math.max(2, Math.floor(concurrency / 2))

  // Round trips

  add('save and find round-trip every field', async (store) => {
    const now = Date.now()
    const grant = makeGrant({
      createdAt: now,
      scope: 'openid profile email',
      interval: 7,
      lastPolledAt: now + 2000,
      subject: 'user-42',
      grantedScope: 'openid',
      decidedAt: now + 3000,
      ip: '203.0.113.7',
      userAgent: 'curl/8.5.0'
    })
    assert.equal(await store.save(grant), true)
    assertRecord(await store.findByDeviceCodeHash(grant.deviceCodeHash), grant, 'found by device-code hash')
    assertRecord(await store.findByUserCode(grant.userCode), grant, 'found by user code')
  })

  add('optional fields stay absent when not set', async (store) => {
    const grant = await savePending(store)
    for (const found of [await store.findByDeviceCodeHash(grant.deviceCodeHash), await store.findByUserCode(grant.userCode)]) {
      assert.ok(found !== undefined)
      for (const field of OPTIONAL_FIELDS) {
        assert.equal(found[field], undefined, `${field} was never set: it should be absent, not ${String(found[field])}`)
      }
      assertRecord(found, grant, 'found')
    }
  })

  add('lookups of an unknown device code or user code resolve undefined', async (store) => {
    await savePending(store)
    assert.equal(await store.findByDeviceCodeHash(randomDeviceCodeHash()), undefined)
    assert.equal(await store.findByUserCode(randomUserCode()), undefined)
  })

  add('large values round-trip', async (store) => {
    const scope = Array.from({ length: 100 }, (_, i) => `scope:${i}.read`).join(' ')
    assert.ok(scope.length >= 1024)
    // Identifiers at 255 characters (the most OpenID Connect allows a `sub`), free text much longer.
    const grant = makeGrant({
      clientId: `client-${'c'.repeat(248)}`,
      scope,
      grantedScope: scope.slice(0, scope.lastIndexOf(' ', 600)),
      subject: `subject|${'s'.repeat(247)}`,
      ip: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
      userAgent: `Mozilla/5.0 ${'(compatible; Device/1.0; ü) '.repeat(150)}`.slice(0, 4096)
    })
    assert.equal(grant.userAgent?.length, 4096)
    assert.equal(grant.subject?.length, 255)
    assert.equal(grant.clientId.length, 255)
    assert.equal(await store.save(grant), true)
    assertRecord(await store.findByDeviceCodeHash(grant.deviceCodeHash), grant, 'found by device-code hash')
    assertRecord(await store.findByUserCode(grant.userCode), grant, 'found by user code')
  })

  add('unicode and punctuation round-trip', async (store) => {
    const grants = [
      makeGrant({
        subject: 'Zoë 🙂 用户',
        // Scope tokens are ASCII (RFC 6749 §3.3): every punctuation character a token may hold.
        scope: 'read:all !#$%&\'()*+,-./:;<=>?@[]^_`{|}~',
        grantedScope: 'read:all',
        ip: '2001:db8::1',
        userAgent: 'Zoë-TV/1.0 (Linux; Android 14) 📺 テレビ «quoted» "double" \\ % _'
      }),
      makeGrant({
        clientId: 'client:{tenant}/\'quoted\'%_*',
        subject: 'O\'Brien "\\" %_ {x} -- ; DROP TABLE grants',
        userAgent: '\t\n\r multi\nline \u2028 \ufeff'
      })
    ]
    for (const grant of grants) {
      assert.equal(await store.save(grant), true)
      assertRecord(await store.findByDeviceCodeHash(grant.deviceCodeHash), grant, 'found by device-code hash')
      assertRecord(await store.findByUserCode(grant.userCode), grant, 'found by user code')
    }
  })

  add('returned records are copies', async (store) => {
    const grant = await savePending(store)
    const t = grant.createdAt
    const expected = { ...grant, lastPolledAt: t + 1000 }
    const poll = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, t + 1000))
    assert.ok(poll !== undefined)
    mutate(poll.grant)
    await assertStored(store, expected, 'after mutating what recordPoll returned')
    for (const found of [await store.findByDeviceCodeHash(grant.deviceCodeHash), await store.findByUserCode(grant.userCode)]) {
      assert.ok(found !== undefined)
      mutate(found)
    }
    await assertStored(store, expected, 'after mutating what the finds returned')
    assertRecord(await store.findByUserCode(grant.userCode), expected, 'found by user code after mutations')
    assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now: t + 2000 }), true)
    const claimed = await store.claim(grant.deviceCodeHash, t + 3000)
    assert.ok(claimed !== undefined)
    mutate(claimed)
    await assertStored(store, { ...expected, status: 'consumed', subject: SUBJECT, decidedAt: t + 2000 }, 'after mutating what claim returned')
  })

  add('the record passed to save is not kept by reference', async (store) => {
    const grant = makeGrant()
    const before = { ...grant }
    assert.equal(await store.save(grant), true)
    mutate(grant)
    await assertStored(store, before, 'after mutating the saved object')
  })

  // User-code uniqueness

  add('save refuses a user code held by a live record and writes nothing', async (store) => {
    const holder = await savePending(store)
    const rivals = [
      makeGrant({ userCode: holder.userCode, createdAt: holder.createdAt }),
      // The last millisecond of the holder's life still blocks.
      makeGrant({ userCode: holder.userCode, createdAt: holder.expiresAt - 1 })
    ]
    for (const rival of rivals) {
      assert.equal(await store.save(rival), false, `save at createdAt ${rival.createdAt} (holder expires at ${holder.expiresAt})`)
      assert.equal(await store.findByDeviceCodeHash(rival.deviceCodeHash), undefined, 'the refused record was written')
    }
    assertRecord(await store.findByUserCode(holder.userCode), holder, 'the holder still owns its user code')
    await assertStored(store, holder, 'the holder is unchanged')
  })

  add('save accepts a user code whose holder has expired', async (store) => {
    const holder = await savePending(store)
    // The new record's createdAt is its "now": at holder.expiresAt the holder is no longer live.
    const next = makeGrant({ userCode: holder.userCode, createdAt: holder.expiresAt })
    assert.equal(await store.save(next), true)
    assertRecord(await store.findByUserCode(holder.userCode), next, 'the new record is found by the user code')
    await assertStored(store, next, 'the new record is found by its device-code hash')
  })

  // Poll bookkeeping

  add('recordPoll resolves undefined for an unknown device code', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.recordPoll(randomDeviceCodeHash(), makePoll(grant, grant.createdAt + 1000)), undefined)
  })

  add('the first poll sets lastPolledAt and is not slow_down', async (store) => {
    const grant = await savePending(store)
    // Right at creation: createdAt is no baseline, only an earlier poll is.
    const now = grant.createdAt
    const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
    const expected = { ...grant, lastPolledAt: now }
    assert.ok(result !== undefined)
    assert.equal(result.slowDown, false)
    assertPolled(result.grant, expected, 'the record the poll left')
    await assertStored(store, expected, 'stored')
  })

  add('a poll earlier than interval minus leeway is slow_down', async (store) => {
    const grant = await savePending(store)
    const first = grant.createdAt + 1000
    await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
    const tooFast = first + grant.interval * 1000 - POLL_LEEWAY_MS - 1
    const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, tooFast))
    const expected = { ...grant, lastPolledAt: first, interval: grant.interval + SLOW_DOWN_STEP }
    assert.ok(result !== undefined)
    assert.equal(result.slowDown, true)
    assertPolled(result.grant, expected, 'interval grew, lastPolledAt did not move')
    await assertStored(store, expected, 'stored')
  })

  add('a poll exactly at the interval is on time', async (store) => {
    const grant = await savePending(store)
    const first = grant.createdAt + 1000
    await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
    const now = first + grant.interval * 1000
    const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
    const expected = { ...grant, lastPolledAt: now }
    assert.ok(result !== undefined)
    assert.equal(result.slowDown, false)
    assertPolled(result.grant, expected, 'lastPolledAt moved, interval unchanged')
    await assertStored(store, expected, 'stored')
  })

  add('a poll within the leeway is on time', async (store) => {
    const grant = await savePending(store)
    const first = grant.createdAt + 1000
    await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
    // The earliest on-time poll: exactly `interval * 1000 - leewayMs` after the last one.
    const now = first + grant.interval * 1000 - POLL_LEEWAY_MS
    const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
    const expected = { ...grant, lastPolledAt: now }
    assert.ok(result !== undefined)
    assert.equal(result.slowDown, false)
    assertPolled(result.grant, expected, 'lastPolledAt moved, interval unchanged')
    await assertStored(store, expected, 'stored')
  })

  add('polls that stay too fast keep growing the interval from the same baseline', async (store) => {
    const grant = await savePending(store)
    const first = grant.createdAt + 1000
    await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
    for (const [i, now] of [first + 1000, first + 2000].entries()) {
      const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
      assert.ok(result !== undefined)
      assert.equal(result.slowDown, true, `poll ${i + 2} is too fast`)
      assertPolled(result.grant, { ...grant, lastPolledAt: first, interval: grant.interval + (i + 1) * SLOW_DOWN_STEP }, `after poll ${i + 2}`)
    }
    await assertStored(store, { ...grant, lastPolledAt: first, interval: grant.interval + 2 * SLOW_DOWN_STEP }, 'stored')
  })

  add('after slow_down, a client that waits the new interval is on time again', async (store) => {
    const grant = await savePending(store)
    const first = grant.createdAt + 1000
    await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
    const tooFast = first + 1000
    const slowed = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, tooFast))
    assert.ok(slowed !== undefined)
    assert.equal(slowed.slowDown, true)
    const interval = grant.interval + SLOW_DOWN_STEP
    let now = tooFast
    for (let i = 0; i < 2; i++) {
      now += interval * 1000
      const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
      assert.ok(result !== undefined)
      assert.equal(result.slowDown, false, `poll ${i + 1} after waiting ${interval} s`)
      // The interval never shrinks back: the client was told to add the step for good.
      assertPolled(result.grant, { ...grant, lastPolledAt: now, interval }, `after poll ${i + 1}`)
    }
    await assertStored(store, { ...grant, lastPolledAt: now, interval }, 'stored')
  })

  add('recordPoll does no bookkeeping for another client', async (store) => {
    const fresh = await savePending(store)
    const untouched = await store.recordPoll(fresh.deviceCodeHash, makePoll(fresh, fresh.createdAt + 1000, { clientId: 'other-client' }))
    assert.ok(untouched !== undefined)
    assert.equal(untouched.slowDown, false)
    assertPolled(untouched.grant, fresh, 'the record is unchanged')
    await assertStored(store, fresh, 'stored record unchanged by another client\'s first poll')

    const polled = await savePending(store)
    const first = polled.createdAt + 1000
    await store.recordPoll(polled.deviceCodeHash, makePoll(polled, first))
    const expected = { ...polled, lastPolledAt: first }
    // Too fast for the grant's own client: another client's poll must not count at all.
    const result = await store.recordPoll(polled.deviceCodeHash, makePoll(polled, first + 500, { clientId: 'other-client' }))
    assert.ok(result !== undefined)
    assert.equal(result.slowDown, false)
    assertPolled(result.grant, expected, 'the record is unchanged')
    await assertStored(store, expected, 'stored record unchanged by another client\'s fast poll')
  })

  add('recordPoll does no bookkeeping once expired', async (store) => {
    const fresh = await savePending(store)
    const result = await store.recordPoll(fresh.deviceCodeHash, makePoll(fresh, fresh.expiresAt))
    assert.ok(result !== undefined, 'an expired record that is still kept is returned, so the caller can answer expired_token')
    assert.equal(result.slowDown, false)
    assertPolled(result.grant, fresh, 'lastPolledAt not set at expiresAt')
    await assertStored(store, fresh, 'stored')

    const recent = makeGrant()
    recent.lastPolledAt = recent.expiresAt - 500
    assert.equal(await store.save(recent), true)
    const late = await store.recordPoll(recent.deviceCodeHash, makePoll(recent, recent.expiresAt))
    assert.ok(late !== undefined)
    assert.equal(late.slowDown, false, 'no slow_down once expired')
    assertPolled(late.grant, recent, 'interval not grown at expiresAt')
    await assertStored(store, recent, 'stored')
  })

  for (const [status] of decided) {
    add(`recordPoll does no bookkeeping on ${status === 'approved' ? 'an' : 'a'} ${status} grant`, async (store) => {
      const grant = await savePending(store)
      const t = grant.createdAt
      // A poll while pending sets the baseline (t + 500) that a too-fast poll would be measured from.
      await store.recordPoll(grant.deviceCodeHash, makePoll(grant, t + 500))
      const expected = await decidePolled(store, { ...grant, lastPolledAt: t + 500 }, status)
      for (const now of [t + 1500, t + 60_000]) {
        const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
        assert.ok(result !== undefined)
        assert.equal(result.slowDown, false, `poll at t + ${now - t}`)
        assertPolled(result.grant, expected, `the record is unchanged after the poll at t + ${now - t}`)
      }
      await assertStored(store, expected, 'stored')
    })
  }

  // bindSubject

  add('bindSubject binds the first subject', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
    await assertStored(store, { ...grant, subject: SUBJECT }, 'bound and still pending')
  })

  add('bindSubject again with the same subject is true', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 2000 }), true)
    await assertStored(store, { ...grant, subject: SUBJECT }, 'still bound to the same subject')
  })

  add('bindSubject with another subject is false and keeps the first', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: OTHER_SUBJECT, now: grant.createdAt + 2000 }), false)
    await assertStored(store, { ...grant, subject: SUBJECT }, 'still bound to the first subject')
  })

  add('bindSubject is false for an unknown device code', async (store) => {
    await savePending(store)
    assert.equal(await store.bindSubject(randomDeviceCodeHash(), { subject: SUBJECT, now: Date.now() }), false)
  })

  add('bindSubject is false once expired', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.expiresAt }), false)
    await assertStored(store, grant, 'not bound')
  })

  add('bindSubject is false once the grant is decided', async (store) => {
    for (const [status, reach] of decided) {
      const expected = await reach(store)
      for (const subject of [SUBJECT, OTHER_SUBJECT]) {
        const now = expected.createdAt + 5000
        assert.equal(await store.bindSubject(expected.deviceCodeHash, { subject, now }), false, `${status}, bind ${subject}`)
      }
      await assertStored(store, expected, `the ${status} record is unchanged`)
    }
  })

  // approve / deny

  add('approve wins from pending and records subject, decidedAt and grantedScope', async (store) => {
    const grant = await savePending(store)
    const now = grant.createdAt + 1000
    assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now, grantedScope: 'openid' }), true)
    await assertStored(store, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now, grantedScope: 'openid' }, 'approved')
  })

  add('approve without grantedScope leaves grantedScope absent', async (store) => {
    const grant = await savePending(store)
    const now = grant.createdAt + 1000
    assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
    const found = await store.findByDeviceCodeHash(grant.deviceCodeHash)
    assertRecord(found, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }, 'approved')
    assert.equal(found.grantedScope, undefined)
  })

  add('deny wins from pending and records subject and decidedAt', async (store) => {
    const grant = await savePending(store)
    const now = grant.createdAt + 1000
    assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
    await assertStored(store, { ...grant, status: 'denied', subject: SUBJECT, decidedAt: now }, 'denied')
  })

  add('approve wins only once', async (store) => {
    const expected = await saveApproved(store)
    for (const subject of [SUBJECT, OTHER_SUBJECT]) {
      const approval = { subject, now: expected.createdAt + 5000, grantedScope: 'openid' }
      assert.equal(await store.approve(expected.deviceCodeHash, approval), false, `second approve by ${subject}`)
    }
    await assertStored(store, expected, 'the first approval stands')
  })

  add('deny loses once the grant is approved', async (store) => {
    const expected = await saveApproved(store)
    for (const subject of [SUBJECT, OTHER_SUBJECT]) {
      assert.equal(await store.deny(expected.deviceCodeHash, { subject, now: expected.createdAt + 5000 }), false, `deny by ${subject}`)
    }
    await assertStored(store, expected, 'the approval stands')
  })

  add('deny wins only once', async (store) => {
    const expected = await saveDenied(store)
    for (const subject of [SUBJECT, OTHER_SUBJECT]) {
      assert.equal(await store.deny(expected.deviceCodeHash, { subject, now: expected.createdAt + 5000 }), false, `second deny by ${subject}`)
    }
    await assertStored(store, expected, 'the first denial stands')
  })

  add('approve loses once the grant is denied', async (store) => {
    const expected = await saveDenied(store)
    for (const subject of [SUBJECT, OTHER_SUBJECT]) {
      assert.equal(await store.approve(expected.deviceCodeHash, { subject, now: expected.createdAt + 5000 }), false, `approve by ${subject}`)
    }
    await assertStored(store, expected, 'the denial stands')
  })

  add('approve and deny lose once the grant is consumed', async (store) => {
    const expected = await saveConsumed(store)
    const decision = { subject: SUBJECT, now: expected.createdAt + 5000 }
    assert.equal(await store.approve(expected.deviceCodeHash, decision), false, 'approve')
    assert.equal(await store.deny(expected.deviceCodeHash, decision), false, 'deny')
    await assertStored(store, expected, 'still consumed')
  })

  add('approve and deny lose once expired', async (store) => {
    const grant = await savePending(store)
    const decision = { subject: SUBJECT, now: grant.expiresAt }
    assert.equal(await store.approve(grant.deviceCodeHash, decision), false, 'approve at expiresAt')
    assert.equal(await store.deny(grant.deviceCodeHash, decision), false, 'deny at expiresAt')
    await assertStored(store, grant, 'still pending, unbound')
  })

  add('approve and deny lose for an unknown device code', async (store) => {
    await savePending(store)
    const decision = { subject: SUBJECT, now: Date.now() }
    assert.equal(await store.approve(randomDeviceCodeHash(), decision), false, 'approve')
    assert.equal(await store.deny(randomDeviceCodeHash(), decision), false, 'deny')
  })

  add('approve and deny lose when the grant is bound to another subject', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
    const decision = { subject: OTHER_SUBJECT, now: grant.createdAt + 2000 }
    assert.equal(await store.approve(grant.deviceCodeHash, decision), false, 'approve by another subject')
    assert.equal(await store.deny(grant.deviceCodeHash, decision), false, 'deny by another subject')
    await assertStored(store, { ...grant, subject: SUBJECT }, 'still pending, bound to the first subject')
  })

  add('approve wins when the grant is bound to the same subject', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
    const now = grant.createdAt + 2000
    assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
    await assertStored(store, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }, 'approved')
  })

  add('deny wins when the grant is bound to the same subject', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
    const now = grant.createdAt + 2000
    assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
    await assertStored(store, { ...grant, status: 'denied', subject: SUBJECT, decidedAt: now }, 'denied')
  })

  // claim

  add('claim resolves undefined for an unknown device code', async (store) => {
    await saveApproved(store)
    assert.equal(await store.claim(randomDeviceCodeHash(), Date.now()), undefined)
  })

  add('claim resolves undefined while pending', async (store) => {
    const grant = await savePending(store)
    assert.equal(await store.claim(grant.deviceCodeHash, grant.createdAt + 1000), undefined)
    await assertStored(store, grant, 'still pending')
  })

  add('claim resolves undefined for a denied grant', async (store) => {
    const expected = await saveDenied(store)
    assert.equal(await store.claim(expected.deviceCodeHash, expected.createdAt + 5000), undefined)
    await assertStored(store, expected, 'still denied')
  })

  add('claim gives the winner the record as approved and consumes it', async (store) => {
    const expected = await saveApproved(store, { ip: '198.51.100.4', userAgent: 'tv/1.0' })
    const claimed = await store.claim(expected.deviceCodeHash, expected.createdAt + 5000)
    assertRecord(claimed, expected, 'the winner gets the record as it was before the claim')
    await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
    assertRecord(await store.findByUserCode(expected.userCode), { ...expected, status: 'consumed' }, 'consumed, by user code')
  })

  add('a second claim resolves undefined', async (store) => {
    const expected = await saveApproved(store)
    assert.notEqual(await store.claim(expected.deviceCodeHash, expected.createdAt + 5000), undefined, 'first claim')
    assert.equal(await store.claim(expected.deviceCodeHash, expected.createdAt + 6000), undefined, 'second claim')
    await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
  })

  add('claim resolves undefined once expired', async (store) => {
    const expected = await saveApproved(store)
    assert.equal(await store.claim(expected.deviceCodeHash, expected.expiresAt), undefined)
    await assertStored(store, expected, 'still approved')
  })

  // Expiry boundary

  add('a grant is live until one millisecond before expiresAt', async (store) => {
    const grant = await savePending(store)
    const now = grant.expiresAt - 1
    assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'bindSubject')
    const poll = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
    assert.equal(poll?.grant.lastPolledAt, now, 'recordPoll')
    assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'approve')
    const expected: DeviceGrantRecord = { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now, lastPolledAt: now }
    assertRecord(await store.claim(grant.deviceCodeHash, now), expected, 'claim')
    await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
  })

  // Poll bookkeeping against decisions

  add('poll bookkeeping never overwrites a decision', async (store) => {
    const grant = await savePending(store)
    const t = grant.createdAt
    await store.recordPoll(grant.deviceCodeHash, makePoll(grant, t + 500))
    assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now: t + 1000, grantedScope: 'openid' }), true)
    const expected: DeviceGrantRecord = { ...grant, status: 'approved', subject: SUBJECT, decidedAt: t + 1000, grantedScope: 'openid', lastPolledAt: t + 500 }
    for (const now of [t + 1200, t + 30_000]) {
      const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
      assert.ok(result !== undefined)
      assert.equal(result.slowDown, false)
      assertPolled(result.grant, expected, `the approval survives the poll at t + ${now - t}`)
    }
    await assertStored(store, expected, 'still approved')
  })

  add('polls interleaved with an approve leave a consistent approved record', async (store) => {
    const grant = await savePending(store)
    const t = grant.createdAt
    const approval = { subject: SUBJECT, now: t + 1000, grantedScope: 'openid' }
    const polls: Array<Promise<PollResult | undefined>> = []
    let approved: Promise<boolean> | undefined
    for (let i = 0; i < concurrency; i++) {
      if (i === Math.floor(concurrency / 2)) approved = store.approve(grant.deviceCodeHash, approval)
      polls.push(store.recordPoll(grant.deviceCodeHash, makePoll(grant, t + 2000 + i)))
    }
    const [won, results] = await Promise.all([approved, Promise.all(polls)])
    assert.equal(won, true, 'the approve wins: polls never decide')
    const final = await store.findByDeviceCodeHash(grant.deviceCodeHash)
    assert.ok(final !== undefined)

    let slowDowns = 0
    const written = new Set<number>()
    for (const [i, result] of results.entries()) {
      assert.ok(result !== undefined, `poll ${i} found no record`)
      if (result.slowDown) slowDowns++
      if (result.grant.status === 'approved') {
        assert.equal(result.slowDown, false, `poll ${i} saw the approval yet answered slow_down`)
      } else {
        assert.equal(result.grant.status, 'pending', `poll ${i}`)
        if (!result.slowDown) {
          assert.equal(result.grant.lastPolledAt, t + 2000 + i, `poll ${i} was on time: it set lastPolledAt`)
          written.add(t + 2000 + i)
        }
      }
    }
    const { interval, lastPolledAt } = final
    const expected: DeviceGrantRecord = { ...grant, status: 'approved', subject: SUBJECT, decidedAt: t + 1000, grantedScope: 'openid', interval }
    if (lastPolledAt !== undefined) expected.lastPolledAt = lastPolledAt
    assertRecord(final, expected, 'the approval is intact')
    // A lost update (read, then write back a stale record) breaks one of these.
    assert.equal(interval, grant.interval + slowDowns * SLOW_DOWN_STEP, 'interval grew once per slow_down answered')
    assert.ok(lastPolledAt === undefined ? written.size === 0 : written.has(lastPolledAt), `lastPolledAt ${String(lastPolledAt)} is the time of a poll that was on time`)
  })

  // Concurrency

  add('parallel claims of one approved grant have exactly one winner', async (store) => {
    const expected = await saveApproved(store)
    const claims = await Promise.all(Array.from({ length: concurrency }, (_, i) =>
      store.claim(expected.deviceCodeHash, expected.createdAt + 5000 + i)))
    const winners = claims.filter((claimed) => claimed !== undefined)
    assert.equal(winners.length, 1, `${winners.length} of ${concurrency} parallel claims won`)
    assertRecord(winners[0], expected, 'the winner gets the record as approved')
    await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
  })

  add('parallel approves and denies have exactly one winner', async (store) => {
    const grant = await savePending(store)
    const t = grant.createdAt
    const calls = Array.from({ length: 2 * half }, (_, i) => {
      const subject = `suite-user-${i}`
      const now = t + 1000 + i
      return i % 2 === 0
        ? { subject, now, status: 'approved' as const, won: store.approve(grant.deviceCodeHash, { subject, now, grantedScope: 'openid' }) }
        : { subject, now, status: 'denied' as const, won: store.deny(grant.deviceCodeHash, { subject, now }) }
    })
    const outcomes = await Promise.all(calls.map((call) => call.won))
    assert.equal(count(outcomes, (won) => won), 1, `${count(outcomes, (won) => won)} of ${calls.length} parallel decisions won`)
    const winner = calls[outcomes.indexOf(true)]
    assert.ok(winner !== undefined)
    const expected: DeviceGrantRecord = { ...grant, status: winner.status, subject: winner.subject, decidedAt: winner.now }
    if (winner.status === 'approved') expected.grantedScope = 'openid'
    await assertStored(store, expected, `the stored decision is the winner's (${winner.status} by ${winner.subject})`)
  })

  add('parallel saves of one user code have exactly one winner', async (store) => {
    const userCode = randomUserCode()
    const createdAt = Date.now()
    const grants = Array.from({ length: half }, () => makeGrant({ userCode, createdAt }))
    const outcomes = await Promise.all(grants.map((grant) => store.save(grant)))
    assert.equal(count(outcomes, (saved) => saved), 1, `${count(outcomes, (saved) => saved)} of ${grants.length} parallel saves won`)
    const winner = grants[outcomes.indexOf(true)]
    assert.ok(winner !== undefined)
    assertRecord(await store.findByUserCode(userCode), winner, 'the user code leads to the winner')
    for (const [i, grant] of grants.entries()) {
      if (grant === winner) continue
      assert.equal(await store.findByDeviceCodeHash(grant.deviceCodeHash), undefined, `loser ${i} was written`)
    }
  })

  // deleteExpired

  add('deleteExpired drops records with expiresAt <= now and counts them (when implemented)', async (store) => {
    if (store.deleteExpired === undefined) return
    // Shorter-lived than every other case's records (GRANT_LIFETIME_MS), so that on a database
    // shared with cases running in parallel, deleteExpired(now) drops none of theirs.
    const createdAt = Date.now()
    const expiresAt = createdAt + 10 * 60_000 + 5000
    const expired = [
      await savePending(store, { createdAt, expiresAt: expiresAt - 1 }),
      await savePending(store, { createdAt, expiresAt })
    ]
    const live = await savePending(store, { createdAt, expiresAt: expiresAt + 1 })
    const dropped = await store.deleteExpired(expiresAt)
    assert.ok(Number.isInteger(dropped), `deleteExpired resolved ${String(dropped)}, not a count`)
    if (store.capabilities?.sharedAcrossProcesses === true) {
      // Records left expired by earlier runs may go too.
      assert.ok(dropped >= expired.length, `dropped ${dropped}, expected at least ${expired.length}`)
    } else {
      assert.equal(dropped, expired.length)
    }
    for (const grant of expired) {
      assert.equal(await store.findByDeviceCodeHash(grant.deviceCodeHash), undefined, `the record expiring at ${grant.expiresAt} is gone`)
      assert.equal(await store.findByUserCode(grant.userCode), undefined, `the user code expiring at ${grant.expiresAt} is gone`)
    }
    await assertStored(store, live, 'the live record stays')
    assertRecord(await store.findByUserCode(live.userCode), live, 'the live record is still found by user code')
  })

  // Counters (hit)

  add('hit counts per key within a window (when implemented)', async (store) => {
    if (store.hit === undefined) return
    const { windowMs, start } = futureWindow()
    const key = randomCounterKey()
    const resetAt = start + windowMs
    assert.deepEqual(counter(await store.hit(key, { windowMs, now: start + 1000, increment: 1 })), { count: 1, resetAt }, 'first hit')
    assert.deepEqual(counter(await store.hit(key, { windowMs, now: start + 2000, increment: 2 })), { count: 3, resetAt }, 'adds the increment')
    assert.deepEqual(counter(await store.hit(randomCounterKey(), { windowMs, now: start + 3000, increment: 1 })), { count: 1, resetAt }, 'another key counts apart')
    assert.deepEqual(counter(await store.hit(key, { windowMs, now: start + 4000, increment: 1 })), { count: 4, resetAt }, 'untouched by the other key')
  })

  add('hit with increment 0 only reads (when implemented)', async (store) => {
    if (store.hit === undefined) return
    const { windowMs, start } = futureWindow()
    const key = randomCounterKey()
    const resetAt = start + windowMs
    const read = { windowMs, now: start + 1000, increment: 0 }
    assert.deepEqual(counter(await store.hit(key, read)), { count: 0, resetAt }, 'a key never hit reads 0')
    assert.deepEqual(counter(await store.hit(key, read)), { count: 0, resetAt }, 'reading counts nothing')
    await store.hit(key, { ...read, increment: 1 })
    assert.deepEqual(counter(await store.hit(key, read)), { count: 1, resetAt }, 'reads the hit')
  })

  add('hit starts a new window at each multiple of windowMs (when implemented)', async (store) => {
    if (store.hit === undefined) return
    const { windowMs, start } = futureWindow()
    const key = randomCounterKey()
    const hit = async (now: number): Promise<{ count: number, resetAt: number }> =>
      counter(await store.hit!(key, { windowMs, now, increment: 1 }))
    assert.deepEqual(await hit(start - 1), { count: 1, resetAt: start }, 'the previous window ends at the multiple')
    assert.deepEqual(await hit(start), { count: 1, resetAt: start + windowMs }, 'a window starts at its multiple')
    assert.deepEqual(await hit(start + windowMs - 1), { count: 2, resetAt: start + windowMs }, 'same window until its last millisecond')
    assert.deepEqual(await hit(start + windowMs), { count: 1, resetAt: start + 2 * windowMs }, 'the next window counts from zero')
  })

  add('parallel hits on one key are all counted (when implemented)', async (store) => {
    if (store.hit === undefined) return
    const { windowMs, start } = futureWindow()
    const key = randomCounterKey()
    const at = { windowMs, now: start + 1000 }
    const hits = await Promise.all(Array.from({ length: concurrency }, async () => await store.hit!(key, { ...at, increment: 1 })))
    // Each increment is atomic, so each caller sees its own count: 1, 2, ... n in some order.
    assert.deepEqual(hits.map((each) => each.count).sort((a, b) => a - b), Array.from({ length: concurrency }, (_, i) => i + 1))
    assert.equal((await store.hit(key, { ...at, increment: 0 })).count, concurrency)
  })

  // Several stores on one backend

  add('a grant saved through one store is decided through another (when sharedAcrossProcesses)', async (store, open) => {
    if (store.capabilities?.sharedAcrossProcesses !== true) return
    const other = await open()
    const grant = await savePending(store)
    assertRecord(await other.findByUserCode(grant.userCode), grant, 'the other store finds it by user code')
    assert.equal(await other.save(makeGrant({ userCode: grant.userCode })), false, 'the user code is taken for the other store too')
    const now = grant.createdAt + 1000
    assert.equal(await other.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'approve through the other store')
    assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), false, 'deny through the first store')
    await assertStored(store, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }, 'the first store sees the approval')
  })

  add('parallel claims through several stores have exactly one winner (when sharedAcrossProcesses)', async (store, open) => {
    if (store.capabilities?.sharedAcrossProcesses !== true) return
    const second = await open()
    const third = await open()
    const stores = [store, second, third]
    const expected = await saveApproved(store)
    const through = (i: number): DeviceGrantStore => i % 3 === 0 ? store : i % 3 === 1 ? second : third
    const claims = await Promise.all(Array.from({ length: concurrency }, (_, i) =>
      through(i).claim(expected.deviceCodeHash, expected.createdAt + 5000 + i)))
    const winners = claims.filter((claimed) => claimed !== undefined)
    assert.equal(winners.length, 1, `${winners.length} of ${concurrency} parallel claims won`)
    for (const each of stores) await assertStored(each, { ...expected, status: 'consumed' }, 'consumed, seen from every store')
  })

  return cases
}

/** Takes `grant`, already saved, to `status` the way the fixtures decide; resolves the record expected. */
async function decidePolled (
  store: DeviceGrantStore,
  grant: DeviceGrantRecord,
  status: typeof decided[number][0]
): Promise<DeviceGrantRecord> {
  const now = grant.createdAt + DECIDED_AFTER_MS
  const base: DeviceGrantRecord = { ...grant, subject: SUBJECT, decidedAt: now }
  if (status === 'denied') {
    assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
    return { ...base, status: 'denied' }
  }
  assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
  if (status === 'approved') return { ...base, status: 'approved' }
  assert.notEqual(await store.claim(grant.deviceCodeHash, now + DECIDED_AFTER_MS), undefined)
  return { ...base, status: 'consumed' }
}
