// Races on one row, through one pool and through several pools (as separate processes would
// be). Every transition has exactly one winner.
import type { PgStore, PgStoreHarness, Tap } from './harness.js'
import { grant, polled, waitForLockWait } from './fixtures.js'

const N = 100

export function concurrencyTests (t: Tap, h: PgStoreHarness): void {
  // The first store is the one under test; the others play other processes.
  const stores: [PgStore, ...PgStore[]] = [h.store, h.otherProcess(), h.otherProcess()]
  claimRaces(t, stores, h.pools)
  pollRaces(t, stores)
  decisionRaces(t, stores)
  lockWaits(t, h)
}

function claimRaces (t: Tap, stores: [PgStore, ...PgStore[]], pools: string): void {
  const [store] = stores
  t.test(`${N} parallel claims: exactly one winner`, async (t) => {
    const g = grant()
    await store.save(g)
    await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })
    const claims = await Promise.all(Array.from({ length: N }, (_, i) => store.claim(g.deviceCodeHash, g.createdAt + 2 + i)))
    const winners = claims.filter((c) => c !== undefined)
    t.equal(winners.length, 1)
    t.match(winners[0], { status: 'approved', subject: 'alice' })
    t.match(await store.findByDeviceCodeHash(g.deviceCodeHash), { status: 'consumed' })
  })

  t.test(`${N} parallel claims through three ${pools}: exactly one winner`, async (t) => {
    const g = grant()
    await store.save(g)
    await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })
    const claims = await Promise.all(Array.from({ length: N }, (_, i) => stores[i % stores.length]?.claim(g.deviceCodeHash, g.createdAt + 2)))
    t.equal(claims.filter((c) => c !== undefined).length, 1)
  })
}

function pollRaces (t: Tap, stores: [PgStore, ...PgStore[]]): void {
  const [store] = stores
  t.test('parallel polls at one instant: one accepted, every other one slow_down, none lost', async (t) => {
    const g = grant()
    await store.save(g)
    const now = g.createdAt + 1000
    const polls = 40
    const results = await Promise.all(Array.from({ length: polls }, (_, i) =>
      stores[i % stores.length]?.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now, leewayMs: 1000, slowDownStep: 5 })))
    t.equal(results.filter((r) => r?.slowDown === false).length, 1, 'one poll set the baseline')
    t.equal(results.filter((r) => r?.slowDown === true).length, polls - 1)
    const intervals = results.map((r) => r?.grant.interval).sort((a, b) => (a ?? 0) - (b ?? 0))
    t.same(intervals, Array.from({ length: polls }, (_, i) => 5 + 5 * i), 'each poll saw the one before it')
    t.match(await store.findByDeviceCodeHash(g.deviceCodeHash), { interval: 5 + 5 * (polls - 1), lastPolledAt: now })
  })

  t.test('polls racing a decision never overwrite it', async (t) => {
    for (const decision of ['approve', 'deny'] as const) {
      const g = grant()
      await store.save(g)
      const now = g.createdAt + 1000
      const polls = Array.from({ length: 30 }, (_, i) =>
        stores[i % stores.length]?.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: now + i * 10_000, leewayMs: 1000, slowDownStep: 5 }))
      const decided = store[decision](g.deviceCodeHash, { subject: 'alice', now })
      const [won, ...results] = await Promise.all([decided, ...polls])
      t.equal(won, true, `${decision} won`)
      const status = decision === 'approve' ? 'approved' : 'denied'
      t.match(await store.findByDeviceCodeHash(g.deviceCodeHash), { status, subject: 'alice', decidedAt: now }, `${decision}: the decision stands`)
      for (const r of results) t.ok(r?.grant.status === 'pending' || r?.grant.status === status, `a poll saw ${String(r?.grant.status)}`)
    }
  })
}

function decisionRaces (t: Tap, stores: [PgStore, ...PgStore[]]): void {
  const [store] = stores
  t.test('approve and deny racing: one winner', async (t) => {
    const g = grant()
    await store.save(g)
    const now = g.createdAt + 1
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const s = stores[i % stores.length] ?? store
      return i % 2 === 0 ? s.approve(g.deviceCodeHash, { subject: `user-${i}`, now }) : s.deny(g.deviceCodeHash, { subject: `user-${i}`, now })
    }))
    t.equal(outcomes.filter(Boolean).length, 1)
  })

  t.test('parallel saves of one user code: one winner, also over an expired holder', async (t) => {
    for (const expiredHolder of [false, true]) {
      const userCode = grant().userCode
      const createdAt = Date.now()
      if (expiredHolder) await store.save(grant({ userCode, createdAt: createdAt - 2000, expiresAt: createdAt - 1000 }))
      const grants = Array.from({ length: 30 }, () => grant({ userCode, createdAt }))
      const outcomes = await Promise.all(grants.map((g, i) => stores[i % stores.length]?.save(g)))
      t.equal(outcomes.filter(Boolean).length, 1, expiredHolder ? 'over an expired holder' : 'a free code')
      const winner = grants[outcomes.indexOf(true)]
      t.strictSame(await store.findByUserCode(userCode), winner)
    }
  })
}

/** A statement that waits for a row lock held by another transaction works on what it committed. */
function lockWaits (t: Tap, h: PgStoreHarness): void {
  const { db, store } = h
  t.test('a poll that waits for a decision in progress returns the decision, not the row it first saw', async (t) => {
    const g = grant()
    await store.save(g)
    await db.admin.query('BEGIN')
    await db.admin.query("UPDATE device_grant SET status = 'approved', subject = 'alice', decided_at = $2 WHERE device_code_hash = $1",
      [g.deviceCodeHash, g.createdAt + 1])
    const poll = store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: g.createdAt + 2, leewayMs: 1000, slowDownStep: 5 })
    await waitForLockWait(db.admin, db.applicationName)
    await db.admin.query('COMMIT')
    t.strictSame(await poll, { grant: polled({ ...g, status: 'approved', subject: 'alice', decidedAt: g.createdAt + 1 }), slowDown: false })
    t.strictSame(await store.findByDeviceCodeHash(g.deviceCodeHash), { ...g, status: 'approved', subject: 'alice', decidedAt: g.createdAt + 1 })
  })

  t.test('a poll that waits for another poll is judged against its bookkeeping', async (t) => {
    const g = grant()
    await store.save(g)
    const now = g.createdAt + 1000
    await db.admin.query('BEGIN')
    await db.admin.query('UPDATE device_grant SET last_polled_at = $2 WHERE device_code_hash = $1', [g.deviceCodeHash, now - 1])
    const poll = store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now, leewayMs: 1000, slowDownStep: 5 })
    await waitForLockWait(db.admin, db.applicationName)
    await db.admin.query('COMMIT')
    t.strictSame(await poll, { grant: polled({ ...g, lastPolledAt: now - 1, interval: 10 }), slowDown: true })
  })
}
