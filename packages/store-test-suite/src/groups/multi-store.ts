import assert from 'node:assert/strict'
import type { DeviceGrantStore } from '@device-grant/core'
import type { Group } from '../case.js'
import { assertRecord, assertStored } from '../assertions.js'
import { SUBJECT, makeGrant } from '../fixtures.js'
import { count, saveApproved, savePending } from '../states.js'
import { optional } from '../support.js'
import { randomOnceKey } from './once.js'

/**
 * Several stores from the factory on one backend, each standing for a process: they see one
 * another's writes, and races through all of them still have one winner.
 */
export const multiStoreGroup: Group = [
  {
    name: 'a grant saved through one store is decided through another',
    needs: ['sharedAcrossProcesses'],
    run: async (store, { open }) => {
      const other = await open()
      const grant = await savePending(store)
      assertRecord(await other.findByUserCode(grant.userCode), grant, 'the other store finds it by user code')
      assert.equal(await other.save(makeGrant({ userCode: grant.userCode })), false, 'the user code is taken for the other store too')
      const now = grant.createdAt + 1000
      assert.equal(await other.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'approve through the other store')
      assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), false, 'deny through the first store')
      await assertStored(store, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }, 'the first store sees the approval')
    }
  },
  {
    name: 'parallel claims through several stores have exactly one winner',
    needs: ['sharedAcrossProcesses'],
    run: async (store, { open, concurrency }) => {
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
    }
  },
  {
    name: 'parallel useOnce calls through several stores have exactly one winner',
    needs: ['useOnce', 'sharedAcrossProcesses'],
    run: async (store, { open, concurrency }) => {
      const stores = [store, await open(), await open()]
      const uses = stores.map((each) => optional(each, 'useOnce'))
      const key = randomOnceKey()
      const now = Date.now()
      const outcomes = await Promise.all(Array.from({ length: concurrency }, async (_, i) =>
        await uses[i % uses.length]!(key, { now, expiresAt: now + 60_000 })))
      assert.equal(count(outcomes, (won) => won), 1, `${count(outcomes, (won) => won)} of ${concurrency} parallel uses won`)
    }
  }
]
