// Statements per operation, as the pool is asked to run them: one per operation, whatever the
// outcome, each a named (prepared) statement unless `prepared: false`.
import t from 'tap'
import { postgresStore } from '../src/index.js'
import { createTestDatabase, grant, recordQueries } from './helpers.js'

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
