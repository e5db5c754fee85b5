// Polls and saves made in one event-loop turn share one statement (option `batch`, on by
// default). What a batch changes is only how many transactions carry the calls: the rows
// written in one statement share one transaction id (`xmin`), which is how these tests see a
// batch without looking at the driver. Every call still gets exactly its own answer.
import { StoreUnavailableError } from '@device-grant/core'
import type { DeviceGrantRecord, PollInput, PollResult } from '@device-grant/core'
import type { PgStore, PgStoreHarness, Tap } from './harness.js'
import { grant, terminate, waitForLockWait, within } from './fixtures.js'

const N = 20

export function batchingTests (t: Tap, h: PgStoreHarness): void {
  const { db } = h
  const batched = h.store
  const unbatched = h.storeWith({ batch: false })

  /** How many transactions last wrote these grants. */
  async function transactions (hashes: string[]): Promise<number> {
    const { rows } = await db.admin.query<{ n: number }>(
      'SELECT count(DISTINCT xmin::text)::int AS n FROM device_grant WHERE device_code_hash = ANY($1::text[])', [hashes])
    return rows[0]?.n ?? 0
  }

  async function saveAll (store: PgStore, grants: DeviceGrantRecord[]): Promise<void> {
    for (const g of grants) await store.save(g)
  }

  const poll = (now: number, clientId = 'client-a', slowDownStep = 5): PollInput => ({ clientId, now, leewayMs: 1000, slowDownStep })

  /**
   * Grants in every state a poll can meet, polled all at once: a first poll, a poll too fast,
   * approved, denied, expired, another client's, and a hash nobody saved.
   */
  async function pollEveryKind (store: PgStore): Promise<{ results: Array<PollResult | undefined>, at: number, written: string[] }> {
    const now = Date.now()
    const fresh = Array.from({ length: N }, () => grant({ createdAt: now }))
    const tooFast = grant({ createdAt: now, lastPolledAt: now + 500 })
    const approved = grant({ createdAt: now })
    const denied = grant({ createdAt: now })
    const expired = grant({ createdAt: now - 700_000 })
    const otherClient = grant({ createdAt: now, clientId: 'client-b' })
    await saveAll(unbatched, [...fresh, tooFast, approved, denied, expired, otherClient])
    await unbatched.approve(approved.deviceCodeHash, { subject: 'alice', now: now + 1 })
    await unbatched.deny(denied.deviceCodeHash, { subject: 'alice', now: now + 1 })
    const at = now + 1000
    const results = await Promise.all([
      ...fresh.map((g) => store.recordPoll(g.deviceCodeHash, poll(at))),
      store.recordPoll(tooFast.deviceCodeHash, poll(at)),
      store.recordPoll(approved.deviceCodeHash, poll(at)),
      store.recordPoll(denied.deviceCodeHash, poll(at)),
      store.recordPoll(expired.deviceCodeHash, poll(at)),
      store.recordPoll(otherClient.deviceCodeHash, poll(at)),
      store.recordPoll('never-saved', poll(at))
    ])
    return { results, at, written: [...fresh, tooFast].map((g) => g.deviceCodeHash) }
  }

  t.test('polls made in one turn share one transaction, and each gets the answer it would get alone', async (t) => {
    const alone = await pollEveryKind(unbatched)
    const together = await pollEveryKind(batched)
    // The two runs start at different times: compare times relative to each run's poll.
    const relative = (at: number) => (r: PollResult | undefined): unknown => r === undefined
      ? undefined
      : { ...r, grant: { ...r.grant, expiresAt: r.grant.expiresAt - at, lastPolledAt: (r.grant.lastPolledAt ?? at) - at } }
    t.same(together.results.map(relative(together.at)), alone.results.map(relative(alone.at)))
    t.match(together.results.slice(N), [
      { slowDown: true, grant: { interval: 10 } },
      { slowDown: false, grant: { status: 'approved' } },
      { slowDown: false, grant: { status: 'denied' } },
      { slowDown: false, grant: { status: 'pending', interval: 5 } },
      { slowDown: false, grant: { clientId: 'client-b' } },
      undefined
    ])
    t.equal(await transactions(together.written), 1, 'one statement wrote every poll')
    t.equal(await transactions(alone.written), N + 1, 'without batching, one transaction per poll')
  })

  t.test('polls of one grant in one turn are separate polls', async (t) => {
    const g = grant()
    await batched.save(g)
    const now = g.createdAt + 1000
    const results = await Promise.all(Array.from({ length: 3 }, () => batched.recordPoll(g.deviceCodeHash, poll(now))))
    // Which one comes first is a race, as it is for polls through separate connections.
    const seen = results.map((r) => [r?.slowDown, r?.grant.interval]).sort((a, b) => Number(a[1]) - Number(b[1]))
    t.same(seen, [[false, 5], [true, 10], [true, 15]])
  })

  t.test('saves made in one turn share one durable commit, and each reports its own outcome', async (t) => {
    const now = Date.now()
    const held = grant({ createdAt: now })
    const stale = grant({ createdAt: now - 700_000 })
    await saveAll(unbatched, [held, stale])
    const fresh = Array.from({ length: N }, () => grant({ createdAt: now }))
    const taken = grant({ createdAt: now, userCode: held.userCode })
    const reclaimed = grant({ createdAt: now, userCode: stale.userCode })
    const results = await Promise.all([...fresh, taken, reclaimed].map((g) => batched.save(g)))
    t.same(results, [...fresh.map(() => true), false, true], 'a live holder keeps its code; an expired one gives it up')
    t.equal(await transactions([...fresh, reclaimed].map((g) => g.deviceCodeHash)), 1, 'one statement saved them all')
    t.strictSame(await batched.findByDeviceCodeHash(reclaimed.deviceCodeHash), reclaimed)
    t.strictSame(await batched.findByDeviceCodeHash(held.deviceCodeHash), held)
  })

  t.test('one user code saved twice in one turn: exactly one save wins', async (t) => {
    const a = grant()
    const b = grant({ userCode: a.userCode })
    const results = await Promise.all([batched.save(a), batched.save(b), batched.save(grant())])
    t.equal(results.slice(0, 2).filter(Boolean).length, 1, 'one of the two saves won')
    t.equal(results[2], true)
    const winner = results[0] === true ? a : b
    t.equal((await batched.findByUserCode(a.userCode))?.deviceCodeHash, winner.deviceCodeHash, 'the winner holds the code')
  })

  t.test('one device code saved twice in one turn: the batch falls back to one statement each, one wins', async (t) => {
    const a = grant()
    const b = grant({ deviceCodeHash: a.deviceCodeHash })
    const others = [grant(), grant()]
    const results = await Promise.all([a, b, ...others].map((g) => batched.save(g)))
    t.equal(results.slice(0, 2).filter(Boolean).length, 1, 'one of the two saves won')
    t.same(results.slice(2), [true, true], 'the grants beside them were saved')
    const [winner, loser] = results[0] === true ? [a, b] : [b, a]
    t.strictSame(await batched.findByDeviceCodeHash(a.deviceCodeHash), winner, 'the winner is stored')
    t.equal(await batched.findByUserCode(loser.userCode), undefined, 'the loser is not')
  })

  t.test('a call the database refuses fails alone; the rest of its batch is answered', async (t) => {
    const grants = Array.from({ length: 4 }, () => grant())
    await saveAll(batched, grants)
    const now = Date.now() + 1000
    // PostgreSQL text cannot hold a NUL character: the statement fails on this one value.
    const polls = await Promise.allSettled(grants.map((g, i) => batched.recordPoll(g.deviceCodeHash, poll(now, i === 1 ? 'client\u0000a' : 'client-a'))))
    t.same(polls.map((p) => p.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    t.notOk((polls[1] as PromiseRejectedResult).reason instanceof StoreUnavailableError, 'not reported as an outage')
    t.same(polls.filter((p) => p.status === 'fulfilled').map((p) => (p as PromiseFulfilledResult<PollResult>).value.grant.lastPolledAt), [now, now, now])
    const saves = await Promise.allSettled([grant(), grant({ userAgent: 'bad\u0000agent' }), grant()].map((g) => batched.save(g)))
    t.same(saves.map((s) => s.status === 'fulfilled' ? s.value : 'rejected'), [true, 'rejected', true])
  })

  t.test('the connection of a batch is killed mid-statement: every call of it gets StoreUnavailableError, then the store works', async (t) => {
    const grants = Array.from({ length: 5 }, () => grant())
    await Promise.all(grants.map((g) => batched.save(g)))
    t.equal(await transactions(grants.map((g) => g.deviceCodeHash)), 1, 'saved in one statement')
    const locked = grants[2] as DeviceGrantRecord
    await db.admin.query('BEGIN')
    await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [locked.deviceCodeHash])
    const now = Date.now() + 1000
    const pending = Promise.allSettled(grants.map((g) => batched.recordPoll(g.deviceCodeHash, poll(now))))
    await waitForLockWait(db.admin, db.applicationName)
    t.ok(await terminate(db, "wait_event_type = 'Lock'") >= 1, 'killed the waiting backend')
    const outcomes = await within(10_000, pending)
    await db.admin.query('ROLLBACK')
    for (const o of outcomes) t.ok(o.status === 'rejected' && o.reason instanceof StoreUnavailableError, 'StoreUnavailableError')
    t.equal(await transactions(grants.map((g) => g.deviceCodeHash)), 1, 'nothing of the batch was written')
    const again = await within(10_000, Promise.all(grants.map((g) => batched.recordPoll(g.deviceCodeHash, poll(now + 1)))))
    t.same(again.map((r) => r?.grant.lastPolledAt), grants.map(() => now + 1), 'works again')
  })

  t.test('a statement that does not answer holds up the polls behind it only briefly', async (t) => {
    const store = h.storeWith({ operationTimeout: 3000 })
    const [stuck, behind, later] = [grant(), grant(), grant()]
    await Promise.all([stuck, behind, later].map((g) => store.save(g)))
    await db.admin.query('BEGIN')
    t.teardown(async () => { await db.admin.query('ROLLBACK') })
    await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [stuck.deviceCodeHash])
    const now = Date.now() + 1000
    const first = store.recordPoll(stuck.deviceCodeHash, poll(now)).then(() => 'answered', (err: unknown) => err)
    await waitForLockWait(db.admin, db.applicationName)
    // Made while the statement for \`stuck\` waits on the lock: queued behind it, then sent
    // beside it once it is plainly stuck, and answered long before its deadline.
    const second = store.recordPoll(behind.deviceCodeHash, poll(now))
    const firstToSettle = await Promise.race([first.then(() => 'stuck'), second.then(() => 'behind')])
    t.equal(firstToSettle, 'behind', 'the poll behind the stuck one was answered first')
    t.match(await second, { slowDown: false, grant: { lastPolledAt: now } })
    t.match(await within(5000, store.recordPoll(later.deviceCodeHash, poll(now))), { grant: { lastPolledAt: now } }, 'and so is the next one')
    t.type(await first, StoreUnavailableError, 'the stuck poll fails at its deadline')
  })

  t.test('batches of two processes over the same grants, in opposite orders: every poll answered, each exactly once', async (t) => {
    const [one, two] = [h.otherProcess(), h.otherProcess()]
    const grants = Array.from({ length: 30 }, () => grant())
    await saveAll(batched, grants)
    const rounds = 10
    const start = Date.now() + 1000
    for (let round = 0; round < rounds; round++) {
      // A slow_down that does not grow the interval (step 0), and rounds an interval apart:
      // in every round, of each grant's two polls one is accepted and the other too fast.
      const now = start + round * 5000
      const results = await within(10_000, Promise.all([
        ...grants.map((g) => one.recordPoll(g.deviceCodeHash, poll(now, 'client-a', 0))),
        ...[...grants].reverse().map((g) => two.recordPoll(g.deviceCodeHash, poll(now, 'client-a', 0)))
      ]))
      t.equal(results.filter((r) => r?.slowDown === false).length, grants.length, `round ${round}: one poll per grant set the baseline`)
      t.equal(results.filter((r) => r?.slowDown === true).length, grants.length, `round ${round}: the other was too fast`)
    }
  })
}
