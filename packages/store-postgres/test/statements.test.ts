// Statements per operation, as the pool is asked to run them: one per operation, whatever the
// outcome, each a named (prepared) statement unless `prepared: false`; polls and saves of one
// event-loop turn, one statement for all.
import pg from 'pg'
import t from 'tap'
import { postgresStore } from '../src/index.js'
import { buildStatements } from '../src/sql.js'
import { createTestDatabase, DATABASE_URL, grant, recordQueries, waitForLockWait, within } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const pool = db.newPool({ max: 2 })
const seen = recordQueries(pool)
const store = postgresStore({ pool, table: db.table })

async function statements (op: () => Promise<unknown>): Promise<Array<{ name?: string, text: string }>> {
  seen.length = 0
  await op()
  return [...seen]
}

t.test('every operation is one named statement, whatever the outcome', async (t) => {
  const g = grant()
  const now = g.createdAt + 10
  const poll = (clientId: string, at: number) => () => store.recordPoll(g.deviceCodeHash, { clientId, now: at, leewayMs: 1000, slowDownStep: 5 })
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['save', () => store.save(g)],
    ['save (live conflict)', () => store.save(grant({ userCode: g.userCode }))],
    ['save (hash conflict)', () => store.save({ ...g, userCode: 'OTHER' })],
    ['findByDeviceCodeHash', () => store.findByDeviceCodeHash(g.deviceCodeHash)],
    ['findByUserCode', () => store.findByUserCode(g.userCode)],
    ['recordPoll (first)', poll('client-a', now)],
    ['recordPoll (too fast)', poll('client-a', now + 1)],
    ['recordPoll (another client)', poll('client-b', now + 2)],
    ['bindSubject', () => store.bindSubject(g.deviceCodeHash, { subject: 'alice', now })],
    ['approve', () => store.approve(g.deviceCodeHash, { subject: 'alice', now })],
    ['deny (loses)', () => store.deny(g.deviceCodeHash, { subject: 'alice', now })],
    ['claim', () => store.claim(g.deviceCodeHash, now)],
    ['claim (loses)', () => store.claim(g.deviceCodeHash, now)],
    ['hit', () => store.hit('k', { windowMs: 1000, now, increment: 1 })],
    ['useOnce', () => store.useOnce('k', { now, expiresAt: now + 1 })],
    ['sweep', () => store.sweep(1)],
    ['deleteExpired', () => store.deleteExpired(1)]
  ]
  const names = new Map<string, string>()
  for (const [name, op] of cases) {
    const sent = await statements(op)
    t.equal(sent.length, 1, `${name}: one statement`)
    t.match(sent[0], { name: /^dg_\w+_[\w-]{12}$/ }, `${name}: named`)
    const { name: statementName = '', text = '' } = sent[0] ?? {}
    if (names.has(statementName)) t.equal(names.get(statementName), text, `${name}: one name, one text`)
    names.set(statementName, text)
  }
  t.equal(names.size, 11, 'eleven distinct statements: sweep and deleteExpired share one')
})

t.test('two stores on one pool with different tables never share a statement name', async (t) => {
  const other = postgresStore({ pool, table: `${db.schema}.device_grant_other` })
  const g = grant()
  await statements(() => store.findByUserCode(g.userCode))
  const [mine] = seen
  await statements(() => other.findByUserCode(g.userCode).catch(() => undefined))
  const [theirs] = seen
  t.not(mine?.name, theirs?.name)
})

t.test('a poll switches synchronous_commit off for its own transaction only, and only when asked', async (t) => {
  const [asyncPoll] = await statements(() => store.recordPoll('x', { clientId: 'c', now: 1, leewayMs: 0, slowDownStep: 5 }))
  t.match(asyncPoll?.text, "set_config('synchronous_commit', 'off', true)")
  const durable = postgresStore({ pool, table: db.table, asyncPollCommit: false })
  const [durablePoll] = await statements(() => durable.recordPoll('x', { clientId: 'c', now: 1, leewayMs: 0, slowDownStep: 5 }))
  t.notMatch(durablePoll?.text, 'synchronous_commit')
  const { rows } = await pool.query<{ setting: string }>("SELECT current_setting('synchronous_commit') AS setting")
  t.equal(rows[0]?.setting, 'on', 'the connection keeps its setting')
})

t.test('prepared: false sends unnamed statements', async (t) => {
  const plain = postgresStore({ pool, table: db.table, prepared: false })
  const sent = await statements(() => plain.findByUserCode('X'))
  t.equal(sent.length, 1)
  t.equal(sent[0]?.name, undefined)
})

t.test('polls and saves made in one turn go in one statement each', async (t) => {
  const grants = Array.from({ length: 10 }, () => grant())
  const saves = await statements(() => Promise.all(grants.map((g) => store.save(g))))
  t.equal(saves.length, 1, 'one statement for ten saves')
  t.match(saves[0], { name: /^dg_saves_/, text: /unnest/ })
  const now = Date.now()
  const polls = await statements(() => Promise.all(grants.map((g) => store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now, leewayMs: 1000, slowDownStep: 5 }))))
  t.equal(polls.length, 1, 'one statement for ten polls')
  t.match(polls[0], { name: /^dg_recordPolls_/, text: "set_config('synchronous_commit', 'off', true)" }, 'committed as a poll is')
  const alone = await statements(() => store.recordPoll(grants[0]?.deviceCodeHash ?? '', { clientId: 'client-a', now: now + 1, leewayMs: 1000, slowDownStep: 5 }))
  t.match(alone, [{ name: /^dg_recordPoll_/ }], 'a poll alone is sent in the single-grant statement')
})

t.test('batched polls lock their rows in one order: two batches over the same grants in opposite orders queue, never deadlock', async (t) => {
  const grants = Array.from({ length: 3 }, () => grant())
  for (const g of grants) await store.save(g)
  const [a, middle, b] = grants.map((g) => g.deviceCodeHash) as [string, string, string]
  const { recordPolls } = buildStatements(db.table, { asyncPollCommit: true })
  const client = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: DATABASE_URL, application_name: `${db.applicationName}_order` })
    await c.connect()
    t.teardown(() => c.end())
    // A small table is scanned whole, in one physical order for everyone; a large one is probed
    // through the index in the order of the parameters. Plan as for a large one.
    await c.query('SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off')
    return c
  }
  const [one, two] = [await client(), await client()]
  const send = (c: pg.Client, hashes: string[]): Promise<unknown> => c.query(recordPolls.text, [hashes, hashes.map(() => 'client-a'), hashes.map(() => Date.now()), hashes.map(() => 1000), hashes.map(() => 5)])
  // Each batch is stopped at the middle row; in the order given, the first would hold \`a\` and
  // the second \`b\` by then, and each would then wait for the other's row.
  await db.admin.query('BEGIN')
  await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [middle])
  const first = send(one, [a, middle, b])
  await waitForLockWait(db.admin, `${db.applicationName}_order`, 1)
  const second = send(two, [b, middle, a])
  await waitForLockWait(db.admin, `${db.applicationName}_order`, 2)
  await db.admin.query('ROLLBACK')
  const settled = await within(10_000, Promise.allSettled([first, second]))
  t.same(settled.map((s) => s.status === 'fulfilled' ? 'ok' : String(s.reason)), ['ok', 'ok'])
})
