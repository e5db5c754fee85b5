import assert from 'node:assert/strict'
import type { DeviceGrantRecord } from '@device-grant/core'
import type { Group } from '../case.js'
import { assertNoRecord, assertRecord, assertStored } from '../assertions.js'
import { SUBJECT, makePoll } from '../fixtures.js'
import { savePending } from '../states.js'
import { optional } from '../support.js'

/**
 * The expiry boundary (live while `now < expiresAt`) across every operation, and dropping
 * expired records. Each operation's own "once expired" case is in its group.
 */
export const expiryGroup: Group = [
  {
    name: 'a grant is live until one millisecond before expiresAt',
    run: async (store) => {
      const grant = await savePending(store)
      const now = grant.expiresAt - 1
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'bindSubject')
      const poll = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, now))
      assert.equal(poll?.grant.lastPolledAt, now, 'recordPoll')
      assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'approve')
      const expected: DeviceGrantRecord = { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now, lastPolledAt: now }
      assertRecord(await store.claim(grant.deviceCodeHash, now), expected, 'claim')
      await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
    }
  },
  {
    name: 'deleteExpired drops records with expiresAt <= now and counts them',
    needs: ['deleteExpired'],
    run: async (store) => {
      const deleteExpired = optional(store, 'deleteExpired')
      // Shorter-lived than every other case's records (GRANT_LIFETIME_MS), so that on a database
      // shared with cases running in parallel, deleteExpired(now) drops none of theirs.
      const createdAt = Date.now()
      const expiresAt = createdAt + 10 * 60_000 + 5000
      const expired = [
        await savePending(store, { createdAt, expiresAt: expiresAt - 1 }),
        await savePending(store, { createdAt, expiresAt })
      ]
      const live = await savePending(store, { createdAt, expiresAt: expiresAt + 1 })
      const dropped = await deleteExpired(expiresAt)
      assert.ok(Number.isInteger(dropped), `deleteExpired resolved ${String(dropped)}, not a count`)
      if (store.capabilities?.sharedAcrossProcesses === true) {
        // Records left expired by earlier runs may go too.
        assert.ok(dropped >= expired.length, `dropped ${dropped}, expected at least ${expired.length}`)
      } else {
        assert.equal(dropped, expired.length)
      }
      for (const grant of expired) {
        await assertNoRecord(store, grant.deviceCodeHash, `the record expiring at ${grant.expiresAt} is gone`)
        assert.equal(await store.findByUserCode(grant.userCode), undefined, `the user code expiring at ${grant.expiresAt} is gone`)
      }
      await assertStored(store, live, 'the live record stays, found by its user code')
    }
  }
]
