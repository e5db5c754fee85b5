import assert from 'node:assert/strict'
import type { Group } from '../case.js'
import { OPTIONAL_FIELDS, assertNoRecord, assertRecord, assertStored } from '../assertions.js'
import { SUBJECT, makeGrant, makePoll, randomDeviceCodeHash, randomDpopJkt, randomUserCode } from '../fixtures.js'
import { mutate, savePending } from '../states.js'
import { optional } from '../support.js'

/** `save` and the lookups: every field round-trips, records are copies, user codes are unique. */
export const saveFindGroup: Group = [
  {
    name: 'save and find round-trip every field',
    run: async (store) => {
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
        userAgent: 'curl/8.5.0',
        dpopJkt: randomDpopJkt()
      })
      assert.equal(await store.save(grant), true)
      assertRecord(await store.findByUserCode(grant.userCode), grant, 'found by user code')
    }
  },
  {
    name: 'optional fields stay absent when not set',
    run: async (store) => {
      const grant = await savePending(store)
      const found = await store.findByUserCode(grant.userCode)
      assert.ok(found !== undefined)
      for (const field of OPTIONAL_FIELDS) {
        assert.equal(found[field], undefined, `${field} was never set: it should be absent, not ${String(found[field])}`)
      }
      assertRecord(found, grant, 'found')
    }
  },
  {
    name: 'a lookup of an unknown user code resolves undefined',
    run: async (store) => {
      await savePending(store)
      assert.equal(await store.findByUserCode(randomUserCode()), undefined)
    }
  },
  {
    name: 'large values round-trip',
    run: async (store) => {
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
      assertRecord(await store.findByUserCode(grant.userCode), grant, 'found by user code')
    }
  },
  {
    name: 'unicode and punctuation round-trip',
    run: async (store) => {
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
        assertRecord(await store.findByUserCode(grant.userCode), grant, 'found by user code')
      }
    }
  },
  {
    name: 'returned records are copies',
    run: async (store) => {
      const grant = await savePending(store)
      const t = grant.createdAt
      const expected = { ...grant, lastPolledAt: t + 1000 }
      const poll = await store.recordPoll(grant.deviceCodeHash, makePoll(grant, t + 1000))
      assert.ok(poll !== undefined)
      mutate(poll.grant)
      await assertStored(store, expected, 'after mutating what recordPoll returned')
      const found = await store.findByUserCode(grant.userCode)
      assert.ok(found !== undefined)
      mutate(found)
      await assertStored(store, expected, 'after mutating what findByUserCode returned')
      assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now: t + 2000 }), true)
      const claimed = await store.claim(grant.deviceCodeHash, t + 3000)
      assert.ok(claimed !== undefined)
      mutate(claimed)
      await assertStored(store, { ...expected, status: 'consumed', subject: SUBJECT, decidedAt: t + 2000 }, 'after mutating what claim returned')
    }
  },
  {
    name: 'the record passed to save is not kept by reference',
    run: async (store) => {
      const grant = makeGrant()
      const before = { ...grant }
      assert.equal(await store.save(grant), true)
      mutate(grant)
      await assertStored(store, before, 'after mutating the saved object')
    }
  },
  {
    name: 'save refuses a user code held by a live record and writes nothing',
    run: async (store) => {
      const holder = await savePending(store)
      const rivals = [
        makeGrant({ userCode: holder.userCode, createdAt: holder.createdAt }),
        // The last millisecond of the holder's life still blocks.
        makeGrant({ userCode: holder.userCode, createdAt: holder.expiresAt - 1 })
      ]
      for (const rival of rivals) {
        assert.equal(await store.save(rival), false, `save at createdAt ${rival.createdAt} (holder expires at ${holder.expiresAt})`)
        await assertNoRecord(store, rival.deviceCodeHash, 'the refused record was written')
      }
      await assertStored(store, holder, 'the holder still owns its user code, unchanged')
    }
  },
  {
    name: 'save accepts a user code whose holder has expired',
    run: async (store) => {
      const holder = await savePending(store)
      // The new record's createdAt is its "now": at holder.expiresAt the holder is no longer live.
      const next = makeGrant({ userCode: holder.userCode, createdAt: holder.expiresAt })
      assert.equal(await store.save(next), true)
      await assertStored(store, next, 'the new record is found by the user code')
    }
  },
  {
    name: 'findByDeviceCodeHash finds what findByUserCode finds, as a copy',
    needs: ['findByDeviceCodeHash'],
    run: async (store) => {
      const findByDeviceCodeHash = optional(store, 'findByDeviceCodeHash')
      const grant = makeGrant({ subject: 'user-42', ip: '203.0.113.7', userAgent: 'tv/1.0', dpopJkt: randomDpopJkt() })
      assert.equal(await store.save(grant), true)
      const found = await findByDeviceCodeHash(grant.deviceCodeHash)
      assertRecord(found, grant, 'found by device-code hash')
      mutate(found)
      assertRecord(await findByDeviceCodeHash(grant.deviceCodeHash), grant, 'after mutating what it returned')
      assert.equal(await findByDeviceCodeHash(randomDeviceCodeHash()), undefined, 'an unknown hash finds nothing')
    }
  }
]
