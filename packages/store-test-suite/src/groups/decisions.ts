import assert from 'node:assert/strict'
import type { Group } from '../case.js'
import { assertRecord, assertStored } from '../assertions.js'
import { SUBJECT, randomDeviceCodeHash } from '../fixtures.js'
import { OTHER_SUBJECT, decided, saveApproved, saveConsumed, saveDenied, savePending } from '../states.js'

/**
 * `bindSubject`, `approve` and `deny`: a live pending grant is decided once, by the subject it
 * is bound to (if any), and never after expiry.
 */
export const decisionGroup: Group = [
  {
    name: 'bindSubject binds the first subject',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
      await assertStored(store, { ...grant, subject: SUBJECT }, 'bound and still pending')
    }
  },
  {
    name: 'bindSubject again with the same subject is true',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 2000 }), true)
      await assertStored(store, { ...grant, subject: SUBJECT }, 'still bound to the same subject')
    }
  },
  {
    name: 'bindSubject with another subject is false and keeps the first',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: OTHER_SUBJECT, now: grant.createdAt + 2000 }), false)
      await assertStored(store, { ...grant, subject: SUBJECT }, 'still bound to the first subject')
    }
  },
  {
    name: 'bindSubject is false for an unknown device code',
    run: async (store) => {
      await savePending(store)
      assert.equal(await store.bindSubject(randomDeviceCodeHash(), { subject: SUBJECT, now: Date.now() }), false)
    }
  },
  {
    name: 'bindSubject is false once expired',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.expiresAt }), false)
      await assertStored(store, grant, 'not bound')
    }
  },
  {
    name: 'bindSubject is false once the grant is decided',
    run: async (store) => {
      for (const [status, reach] of decided) {
        const expected = await reach(store)
        for (const subject of [SUBJECT, OTHER_SUBJECT]) {
          const now = expected.createdAt + 5000
          assert.equal(await store.bindSubject(expected.deviceCodeHash, { subject, now }), false, `${status}, bind ${subject}`)
        }
        await assertStored(store, expected, `the ${status} record is unchanged`)
      }
    }
  },
  {
    name: 'approve wins from pending and records subject, decidedAt and grantedScope',
    run: async (store) => {
      const grant = await savePending(store)
      const now = grant.createdAt + 1000
      assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now, grantedScope: 'openid' }), true)
      await assertStored(store, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now, grantedScope: 'openid' }, 'approved')
    }
  },
  {
    name: 'approve without grantedScope leaves grantedScope absent',
    run: async (store) => {
      const grant = await savePending(store)
      const now = grant.createdAt + 1000
      assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
      const found = await store.findByUserCode(grant.userCode)
      assertRecord(found, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }, 'approved')
      assert.equal(found.grantedScope, undefined)
    }
  },
  {
    name: 'deny wins from pending and records subject and decidedAt',
    run: async (store) => {
      const grant = await savePending(store)
      const now = grant.createdAt + 1000
      assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
      await assertStored(store, { ...grant, status: 'denied', subject: SUBJECT, decidedAt: now }, 'denied')
    }
  },
  {
    name: 'approve wins only once',
    run: async (store) => {
      const expected = await saveApproved(store)
      for (const subject of [SUBJECT, OTHER_SUBJECT]) {
        const approval = { subject, now: expected.createdAt + 5000, grantedScope: 'openid' }
        assert.equal(await store.approve(expected.deviceCodeHash, approval), false, `second approve by ${subject}`)
      }
      await assertStored(store, expected, 'the first approval stands')
    }
  },
  {
    name: 'deny loses once the grant is approved',
    run: async (store) => {
      const expected = await saveApproved(store)
      for (const subject of [SUBJECT, OTHER_SUBJECT]) {
        assert.equal(await store.deny(expected.deviceCodeHash, { subject, now: expected.createdAt + 5000 }), false, `deny by ${subject}`)
      }
      await assertStored(store, expected, 'the approval stands')
    }
  },
  {
    name: 'deny wins only once',
    run: async (store) => {
      const expected = await saveDenied(store)
      for (const subject of [SUBJECT, OTHER_SUBJECT]) {
        assert.equal(await store.deny(expected.deviceCodeHash, { subject, now: expected.createdAt + 5000 }), false, `second deny by ${subject}`)
      }
      await assertStored(store, expected, 'the first denial stands')
    }
  },
  {
    name: 'approve loses once the grant is denied',
    run: async (store) => {
      const expected = await saveDenied(store)
      for (const subject of [SUBJECT, OTHER_SUBJECT]) {
        assert.equal(await store.approve(expected.deviceCodeHash, { subject, now: expected.createdAt + 5000 }), false, `approve by ${subject}`)
      }
      await assertStored(store, expected, 'the denial stands')
    }
  },
  {
    name: 'approve and deny lose once the grant is consumed',
    run: async (store) => {
      const expected = await saveConsumed(store)
      const decision = { subject: SUBJECT, now: expected.createdAt + 5000 }
      assert.equal(await store.approve(expected.deviceCodeHash, decision), false, 'approve')
      assert.equal(await store.deny(expected.deviceCodeHash, decision), false, 'deny')
      await assertStored(store, expected, 'still consumed')
    }
  },
  {
    name: 'approve and deny lose once expired',
    run: async (store) => {
      const grant = await savePending(store)
      const decision = { subject: SUBJECT, now: grant.expiresAt }
      assert.equal(await store.approve(grant.deviceCodeHash, decision), false, 'approve at expiresAt')
      assert.equal(await store.deny(grant.deviceCodeHash, decision), false, 'deny at expiresAt')
      await assertStored(store, grant, 'still pending, unbound')
    }
  },
  {
    name: 'approve and deny lose for an unknown device code',
    run: async (store) => {
      await savePending(store)
      const decision = { subject: SUBJECT, now: Date.now() }
      assert.equal(await store.approve(randomDeviceCodeHash(), decision), false, 'approve')
      assert.equal(await store.deny(randomDeviceCodeHash(), decision), false, 'deny')
    }
  },
  {
    name: 'approve and deny lose when the grant is bound to another subject',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
      const decision = { subject: OTHER_SUBJECT, now: grant.createdAt + 2000 }
      assert.equal(await store.approve(grant.deviceCodeHash, decision), false, 'approve by another subject')
      assert.equal(await store.deny(grant.deviceCodeHash, decision), false, 'deny by another subject')
      await assertStored(store, { ...grant, subject: SUBJECT }, 'still pending, bound to the first subject')
    }
  },
  {
    name: 'approve wins when the grant is bound to the same subject',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
      const now = grant.createdAt + 2000
      assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
      await assertStored(store, { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }, 'approved')
    }
  },
  {
    name: 'deny wins when the grant is bound to the same subject',
    run: async (store) => {
      const grant = await savePending(store)
      assert.equal(await store.bindSubject(grant.deviceCodeHash, { subject: SUBJECT, now: grant.createdAt + 1000 }), true)
      const now = grant.createdAt + 2000
      assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
      await assertStored(store, { ...grant, status: 'denied', subject: SUBJECT, decidedAt: now }, 'denied')
    }
  }
]
