import assert from 'node:assert/strict'
import type { Group } from '../case.js'
import { assertRecord, assertStored } from '../assertions.js'
import { randomDeviceCodeHash, randomDpopJkt } from '../fixtures.js'
import { saveApproved, saveDenied, savePending } from '../states.js'

/** `claim`: only a live approved grant is consumed, once, and the winner gets it as approved. */
export const claimGroup: Group = [
  {
    name: 'claim resolves undefined for an unknown device code',
    run: async (store) => {
      await saveApproved(store)
      assert.equal(await store.claim(randomDeviceCodeHash(), Date.now()), undefined)
    }
  },
  {
    name: 'claim resolves undefined while pending',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.claim(grant.deviceCodeHash, grant.createdAt + 1000), undefined)
      await assertStored(store, grant, 'still pending')
    }
  },
  {
    name: 'claim resolves undefined for a denied grant',
    run: async (store) => {
      const expected = await saveDenied(store)
      assert.equal(await store.claim(expected.deviceCodeHash, expected.createdAt + 5000), undefined)
      await assertStored(store, expected, 'still denied')
    }
  },
  {
    name: 'claim gives the winner the record as approved and consumes it',
    run: async (store) => {
      const expected = await saveApproved(store, { ip: '198.51.100.4', userAgent: 'tv/1.0', dpopJkt: randomDpopJkt() })
      const claimed = await store.claim(expected.deviceCodeHash, expected.createdAt + 5000)
      assertRecord(claimed, expected, 'the winner gets the record as it was before the claim')
      await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
    }
  },
  {
    name: 'a second claim resolves undefined',
    run: async (store) => {
      const expected = await saveApproved(store)
      assert.notEqual(await store.claim(expected.deviceCodeHash, expected.createdAt + 5000), undefined, 'first claim')
      assert.equal(await store.claim(expected.deviceCodeHash, expected.createdAt + 6000), undefined, 'second claim')
      await assertStored(store, { ...expected, status: 'consumed' }, 'consumed')
    }
  },
  {
    name: 'claim resolves undefined once expired',
    run: async (store) => {
      const expected = await saveApproved(store)
      assert.equal(await store.claim(expected.deviceCodeHash, expected.expiresAt), undefined)
      await assertStored(store, expected, 'still approved')
    }
  }
]
