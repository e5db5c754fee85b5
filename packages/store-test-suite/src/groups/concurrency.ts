import assert from 'node:assert/strict'
import type { DeviceGrantRecord, PollResult } from '@device-grant/core'
import type { Group } from '../case.js'
import { assertNoRecord, assertPolled, assertRecord, assertStored } from '../assertions.js'
import { SLOW_DOWN_STEP, SUBJECT, makeGrant, makePoll, randomUserCode } from '../fixtures.js'
import { count, saveApproved, savePending } from '../states.js'

/** Half the parallel callers, at least two: for races where each caller writes a record. */
const half = (concurrency: number): number => Math.max(2, Math.floor(concurrency / 2))

/**
 * Races through one store: polls against a decision, claims, decisions and saves in parallel.
 * Every conditional write must be atomic; a read followed by a write loses these.
 */
export const concurrencyGroup: Group = [
  {
    name: 'poll bookkeeping never overwrites a decision',
    run: async (store) => {
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
    }
  },
  {
    name: 'polls interleaved with an approve leave a consistent approved record',
    run: async (store, { concurrency }) => {
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
      const final = await store.findByUserCode(grant.userCode)
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
    }
  },
  {
    name: 'parallel claims of one approved grant have exactly one winner',
    run: async (store, { concurrency }) => {
      const expected = await saveApproved(store)
      const claims = await Promise.all(Array.from({ length: concurrency }, (_, i) =>
        store.claim(expected.deviceCodeHash, expected.createdAt + 5000 + i)))
      const winners = claims.filter((claimed) => claimed !== undefined)
      assert.equal(winners.length, 1, `${winners.length} of ${concurrency} parallel claims won`)
      assertRecord(winners[0], expected, 'the winner gets the record as approved')
      await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
    }
  },
  {
    name: 'parallel approves and denies have exactly one winner',
    run: async (store, { concurrency }) => {
      const grant = await savePending(store)
      const t = grant.createdAt
      const calls = Array.from({ length: 2 * half(concurrency) }, (_, i) => {
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
    }
  },
  {
    name: 'parallel saves of one user code have exactly one winner',
    run: async (store, { concurrency }) => {
      const userCode = randomUserCode()
      const createdAt = Date.now()
      const grants = Array.from({ length: half(concurrency) }, () => makeGrant({ userCode, createdAt }))
      const outcomes = await Promise.all(grants.map((grant) => store.save(grant)))
      assert.equal(count(outcomes, (saved) => saved), 1, `${count(outcomes, (saved) => saved)} of ${grants.length} parallel saves won`)
      const winner = grants[outcomes.indexOf(true)]
      assert.ok(winner !== undefined)
      assertRecord(await store.findByUserCode(userCode), winner, 'the user code leads to the winner')
      for (const [i, grant] of grants.entries()) {
        if (grant === winner) continue
        await assertNoRecord(store, grant.deviceCodeHash, `loser ${i}`)
      }
    }
  }
]
