import assert from 'node:assert/strict'
import type { DeviceGrantRecord, DeviceGrantStore } from '@device-grant/core'
import type { Case, Group } from '../case.js'
import { assertPolled, assertStored } from '../assertions.js'
import { POLL_LEEWAY_MS, SLOW_DOWN_STEP, makeGrant, makePoll, randomDeviceCodeHash } from '../fixtures.js'
import { decide, decided, savePending } from '../states.js'
import type { DecidedStatus } from '../states.js'

/** Polls `grant` by its own client at `now`; checks the answer and the record it leaves. */
async function assertPollLeaves (
  store: DeviceGrantStore,
  grant: DeviceGrantRecord,
  now: number,
  { slowDown, expected }: { slowDown: boolean, expected: DeviceGrantRecord },
  message: string
): Promise<void> {
  const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
  assert.ok(result !== undefined, `${message}: the poll found no record`)
  assert.equal(result.slowDown, slowDown, `${message}: slowDown`)
  assertPolled(result.grant, expected, message)
  await assertStored(store, expected, `${message}: stored`)
}

/** A decided grant's polls write nothing, however early or late they come. */
function noBookkeepingOn (status: DecidedStatus): Case {
  return {
    name: `recordPoll does no bookkeeping on ${status === 'approved' ? 'an' : 'a'} ${status} grant`,
    run: async (store) => {
      const grant = await savePending(store)
      const t = grant.createdAt
      // A poll while pending sets the baseline (t + 500) that a too-fast poll would be measured from.
      await store.recordPoll(grant.deviceCodeHash, makePoll(grant, t + 500))
      const expected = await decide(store, { ...grant, lastPolledAt: t + 500 }, status)
      for (const now of [t + 1500, t + 60_000]) {
        const result = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
        assert.ok(result !== undefined)
        assert.equal(result.slowDown, false, `poll at t + ${now - t}`)
        assertPolled(result.grant, expected, `the record is unchanged after the poll at t + ${now - t}`)
      }
      await assertStored(store, expected, 'stored')
    }
  }
}

/** `recordPoll`: on time, too fast (`slow_down`), and the polls that must write nothing. */
export const pollGroup: Group = [
  {
    name: 'recordPoll resolves undefined for an unknown device code',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.recordPoll(randomDeviceCodeHash(), makePoll(grant, grant.createdAt + 1000)), undefined)
    }
  },
  {
    name: 'the first poll sets lastPolledAt and is not slow_down',
    run: async (store) => {
      const grant = await savePending(store)
      // Right at creation: createdAt is no baseline, only an earlier poll is.
      const now = grant.createdAt
      await assertPollLeaves(store, grant, now, { slowDown: false, expected: { ...grant, lastPolledAt: now } }, 'the record the poll left')
    }
  },
  {
    name: 'a poll earlier than interval minus leeway is slow_down',
    run: async (store) => {
      const grant = await savePending(store)
      const first = grant.createdAt + 1000
      await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
      const tooFast = first + grant.interval * 1000 - POLL_LEEWAY_MS - 1
      await assertPollLeaves(store, grant, tooFast, { slowDown: true, expected: { ...grant, lastPolledAt: first, interval: grant.interval + SLOW_DOWN_STEP } }, 'interval grew, lastPolledAt did not move')
    }
  },
  {
    name: 'a poll exactly at the interval is on time',
    run: async (store) => {
      const grant = await savePending(store)
      const first = grant.createdAt + 1000
      await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
      const now = first + grant.interval * 1000
      await assertPollLeaves(store, grant, now, { slowDown: false, expected: { ...grant, lastPolledAt: now } }, 'lastPolledAt moved, interval unchanged')
    }
  },
  {
    name: 'a poll within the leeway is on time',
    run: async (store) => {
      const grant = await savePending(store)
      const first = grant.createdAt + 1000
      await store.recordPoll(grant.deviceCodeHash, makePoll(grant, first))
      // The earliest on-time poll: exactly `interval * 1000 - leewayMs` after the last one.
      const now = first + grant.interval * 1000 - POLL_LEEWAY_MS
      await assertPollLeaves(store, grant, now, { slowDown: false, expected: { ...grant, lastPolledAt: now } }, 'lastPolledAt moved, interval unchanged')
    }
  },
  {
    name: 'polls that stay too fast keep growing the interval from the same baseline',
    run: async (store) => {
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
    }
  },
  {
    name: 'after slow_down, a client that waits the new interval is on time again',
    run: async (store) => {
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
    }
  },
  {
    name: 'recordPoll does no bookkeeping for another client',
    run: async (store) => {
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
    }
  },
  {
    name: 'recordPoll does no bookkeeping once expired',
    run: async (store) => {
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
    }
  },
  ...decided.map(([status]) => noBookkeepingOn(status))
]
