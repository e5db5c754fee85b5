// A private PostgreSQL cluster stopped and started again, then crashed with kill -9 in the
// middle of a run: the store fails fast while it is away, works again once it is back, and no
// acknowledged decision or claim is lost or doubled, although polls commit without waiting for
// the WAL flush.
import t from 'tap'
import pg from 'pg'
import { StoreUnavailableError } from '@device-grant/core'
import type { DeviceGrantRecord } from '@device-grant/core'
import { migrationSql, postgresStore } from '../src/index.js'
import type { PostgresStore } from '../src/index.js'
import { grant, within } from './helpers.js'
import { PrivatePostgres } from './private-postgres.js'

// initdb, two restarts and a crash recovery on a loaded machine.
t.setTimeout(240_000)
const server = await PrivatePostgres.create()
t.teardown(async () => {
  if (!t.passing()) t.comment(server.log())
  await server.destroy()
})
const setup = new pg.Client({ connectionString: server.url })
await setup.connect()
await setup.query(migrationSql())
await setup.end()

function open (): { pool: pg.Pool, store: PostgresStore } {
  const pool = new pg.Pool({ connectionString: server.url, max: 8, connectionTimeoutMillis: 2000 })
  pool.on('error', () => {})
  return { pool, store: postgresStore({ pool, operationTimeout: 3000 }) }
}

/** Retries `fn` every 100 ms until it resolves, for at most 20 s. */
async function eventually<T> (fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + 20_000
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > until) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

t.test('a poll commits without waiting for the WAL flush; approvals, claims, counters and batched saves wait for it', async (t) => {
  // One connection: its backend's statistics are flushed on demand before each reading.
  const pool = new pg.Pool({ connectionString: server.url, max: 1 })
  t.teardown(() => pool.end())
  const store = postgresStore({ pool })
  const durablePolls = postgresStore({ pool, asyncPollCommit: false })
  /** WAL fsyncs while `fn` runs (the whole cluster is this test's: nothing else syncs). */
  const syncs = async (fn: () => Promise<unknown>): Promise<number> => {
    const read = async () => {
      await pool.query('SELECT pg_stat_force_next_flush()')
      return Number((await pool.query<{ n: string }>('SELECT wal_sync::text AS n FROM pg_stat_wal')).rows[0]?.n)
    }
    const before = await read()
    await fn()
    return await read() - before
  }
  const N = 100
  const grants = Array.from({ length: N }, () => grant())
  for (const g of grants) await store.save(g)
  const pollAll = async (s: PostgresStore, now: number) => { for (const g of grants) await s.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now, leewayMs: 1000, slowDownStep: 5 }) }
  const asyncSyncs = await syncs(() => pollAll(store, Date.now() + 10_000))
  const durableSyncs = await syncs(() => pollAll(durablePolls, Date.now() + 20_000))
  const approveSyncs = await syncs(async () => { for (const g of grants) await store.approve(g.deviceCodeHash, { subject: 'alice', now: Date.now() }) })
  const claimSyncs = await syncs(async () => { for (const g of grants) await store.claim(g.deviceCodeHash, Date.now()) })
  const hitSyncs = await syncs(async () => { for (const g of grants) await store.hit(g.userCode, { windowMs: 60_000, now: Date.now(), increment: 1 }) })
  const batched = Array.from({ length: N }, () => grant())
  const batchSyncs = await syncs(async () => { t.ok((await Promise.all(batched.map((g) => store.save(g)))).every(Boolean), 'all saved') })
  t.ok(asyncSyncs < N / 4, `${N} polls: ${asyncSyncs} WAL fsyncs (the WAL writer's, in the background)`)
  t.ok(durableSyncs >= N, `${N} polls with asyncPollCommit: false: ${durableSyncs} fsyncs`)
  t.ok(approveSyncs >= N, `${N} approvals: ${approveSyncs} fsyncs`)
  t.ok(claimSyncs >= N, `${N} claims: ${claimSyncs} fsyncs`)
  t.ok(hitSyncs >= N, `${N} counter hits: ${hitSyncs} fsyncs`)
  t.ok(batchSyncs >= 1 && batchSyncs < N / 4, `${N} saves made at once, batched: ${batchSyncs} fsyncs, the batch's commit waited for its own`)
})

t.test('the server restarts: StoreUnavailableError while it is down, the same data once it is back', async (t) => {
  const { pool, store } = open()
  t.teardown(() => pool.end())
  const g = grant()
  t.equal(await store.save(g), true)
  await store.findByDeviceCodeHash(g.deviceCodeHash)
  await server.stop()
  for (const op of [() => store.findByDeviceCodeHash(g.deviceCodeHash), () => store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })]) {
    const err = await within(10_000, op().then(() => 'ok', (e: unknown) => e))
    t.type(err, StoreUnavailableError, 'fails fast while the server is down')
  }
  await server.start()
  t.strictSame(await eventually(() => store.findByDeviceCodeHash(g.deviceCodeHash)), g, 'the grant is still there')
  t.equal(await store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 }), true, 'and can be approved')
})

interface Acknowledged {
  saved: DeviceGrantRecord[]
  approved: Map<string, string>
  denied: Set<string>
  claims: Map<string, number>
  polls: number
  unavailable: number
}

/** One grant's life, as fast as the store answers: polls, a decision, more polls, claims. */
async function lifeOfAGrant (store: PostgresStore, i: number, ack: Acknowledged): Promise<void> {
  const g = grant({ createdAt: Date.now() - 1000 })
  const now = (): number => Date.now()
  const step = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      ack.unavailable++
    }
  }
  await step(async () => { if (await store.save(g)) ack.saved.push(g) })
  for (let p = 0; p < 3; p++) await step(async () => { if (await store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: now(), leewayMs: 1000, slowDownStep: 5 }) !== undefined) ack.polls++ })
  const subject = `user-${i}`
  if (i % 4 === 3) await step(async () => { if (await store.deny(g.deviceCodeHash, { subject, now: now() })) ack.denied.add(g.deviceCodeHash) })
  else await step(async () => { if (await store.approve(g.deviceCodeHash, { subject, now: now() })) ack.approved.set(g.deviceCodeHash, subject) })
  await step(async () => { if (await store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: now(), leewayMs: 1000, slowDownStep: 5 }) !== undefined) ack.polls++ })
  await Promise.all([0, 1, 2].map(async () => await step(async () => {
    if (await store.claim(g.deviceCodeHash, now()) !== undefined) ack.claims.set(g.deviceCodeHash, (ack.claims.get(g.deviceCodeHash) ?? 0) + 1)
  })))
}

t.test('kill -9 of PostgreSQL mid-run: no acknowledged decision or claim is lost or doubled', async (t) => {
  const { pool, store } = open()
  const ack: Acknowledged = { saved: [], approved: new Map(), denied: new Set(), claims: new Map(), polls: 0, unavailable: 0 }
  let next = 0
  const run = { stopped: false }
  const workers = Array.from({ length: 16 }, async () => {
    while (!run.stopped) await lifeOfAGrant(store, next++, ack)
  })
  // Let the run get going, crash the server under it, let the workers meet the outage.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const before = { saved: ack.saved.length, approved: ack.approved.size, claims: ack.claims.size, polls: ack.polls }
  await server.kill9()
  await new Promise((resolve) => setTimeout(resolve, 500))
  run.stopped = true
  await within(30_000, Promise.all(workers))
  await pool.end().catch(() => {})
  t.ok(before.saved > 20 && before.approved > 10 && before.claims > 5 && before.polls > 50, `a real run before the crash: ${JSON.stringify(before)}`)
  t.ok(ack.unavailable > 0, `the crash was felt: ${ack.unavailable} operations failed with StoreUnavailableError`)

  await server.start()
  const check = new pg.Client({ connectionString: server.url })
  await eventually(() => check.connect())
  t.teardown(() => check.end())
  const { rows } = await check.query<{ hash: string, status: string, subject: string | null }>(
    'SELECT device_code_hash AS hash, status, subject FROM device_grant')
  const found = new Map(rows.map((r) => [r.hash, r]))
  const lost = (what: string, hashes: Iterable<string>, ok: (r: { status: string, subject: string | null } | undefined, hash: string) => boolean) => {
    const missing = [...hashes].filter((hash) => !ok(found.get(hash), hash))
    t.same(missing, [], `${what}: none lost`)
  }
  lost(`${ack.saved.length} acknowledged saves`, ack.saved.map((g) => g.deviceCodeHash), (r) => r !== undefined)
  lost(`${ack.approved.size} acknowledged approvals`, ack.approved.keys(), (r, hash) =>
    (r?.status === 'approved' || r?.status === 'consumed') && r.subject === ack.approved.get(hash))
  lost(`${ack.denied.size} acknowledged denials`, ack.denied, (r) => r?.status === 'denied')
  lost(`${ack.claims.size} acknowledged claims`, ack.claims.keys(), (r) => r?.status === 'consumed')
  t.same([...ack.claims.values()].filter((n) => n > 1), [], 'no grant was claimed twice before the crash')

  // After recovery: a grant whose claim was acknowledged can never be claimed again.
  const after = open()
  t.teardown(() => after.pool.end())
  const again = await Promise.all([...ack.claims.keys()].map(async (hash) => await after.store.claim(hash, Date.now())))
  t.equal(again.filter((c) => c !== undefined).length, 0, 'no acknowledged claim is won a second time')
  t.comment(`before the crash: ${JSON.stringify(before)}; in all: ${ack.saved.length} saves, ${ack.approved.size} approvals, ${ack.denied.size} denials, ${ack.claims.size} claims, ${ack.polls} polls acknowledged`)
})
