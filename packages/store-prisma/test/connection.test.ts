// A database that cannot answer: StoreUnavailableError (or a transparent retry), never a hang,
// and the store works again as soon as the database does.
import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import type { DeviceGrantStore } from '@device-grant/core'
import { prismaStore } from '../src/index.js'
import { createTestDatabase, grant, makeClient, waitForLockWait, within } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const store = prismaStore({ prisma: db.prisma, table: db.table })
const poll = { clientId: 'client-a', leewayMs: 1000, slowDownStep: 5 }

async function outcome (promise: Promise<unknown>): Promise<unknown> {
  return await within(10_000, promise.then(() => 'ok', (err: unknown) => err))
}

async function terminate (where: string): Promise<number> {
  const { rows } = await db.admin.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND ${where}`, [db.applicationName])
  return rows[0]?.n ?? 0
}

t.test('an unreachable server: every operation fails fast with StoreUnavailableError', async (t) => {
  const prisma = makeClient({ schema: db.schema, applicationName: `${db.applicationName}_down`, url: 'postgresql://postgres@127.0.0.1:1/test' })
  t.teardown(() => prisma.$disconnect())
  const down = prismaStore({ prisma, table: db.table })
  const g = grant()
  const ops: Array<[string, (s: DeviceGrantStore) => Promise<unknown>]> = [
    ['save', (s) => s.save(g)],
    ['findByDeviceCodeHash', (s) => s.findByDeviceCodeHash?.(g.deviceCodeHash) ?? Promise.resolve()],
    ['findByUserCode', (s) => s.findByUserCode(g.userCode)],
    ['recordPoll', (s) => s.recordPoll(g.deviceCodeHash, { ...poll, now: g.createdAt })],
    ['bindSubject', (s) => s.bindSubject(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['approve', (s) => s.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['deny', (s) => s.deny(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['claim', (s) => s.claim(g.deviceCodeHash, g.createdAt)],
    ['deleteExpired', (s) => s.deleteExpired?.(g.createdAt) ?? Promise.resolve()]
  ]
  for (const [name, op] of ops) {
    const err = await outcome(op(down))
    t.type(err, StoreUnavailableError, name)
    t.match(err, { retryAfter: Number, cause: Error }, `${name}: retryAfter and the cause`)
  }
})

for (const [name, op, after] of [
  ['approve (model query)',
    (hash: string, now: number) => store.approve(hash, { subject: 'alice', now }),
    (hash: string, now: number) => store.approve(hash, { subject: 'alice', now })],
  ['recordPoll (raw query)',
    (hash: string, now: number) => store.recordPoll(hash, { ...poll, now }),
    async (hash: string, now: number) => (await store.recordPoll(hash, { ...poll, now }))?.grant.lastPolledAt === now]
] as const) {
  t.test(`${name}: the connection is killed mid-statement → StoreUnavailableError, then the store works`, async (t) => {
    const g = grant()
    await store.save(g)
    // Hold the row lock so the store's statement is in flight (waiting) when its backend dies.
    await db.admin.query('BEGIN')
    await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [g.deviceCodeHash])
    const pending = outcome(op(g.deviceCodeHash, g.createdAt + 1))
    await waitForLockWait(db.admin, db.applicationName)
    t.ok(await terminate("wait_event_type = 'Lock'") >= 1, 'killed the waiting backend')
    const err = await pending
    await db.admin.query('ROLLBACK')
    t.type(err, StoreUnavailableError)
    t.match(String((err as Error).cause), /57P01|terminat/i, 'caused by the termination')
    t.equal(await within(10_000, after(g.deviceCodeHash, g.createdAt + 2)), true, 'works again')
  })
}

t.test('idle connections are killed: no hang, then the store works', async (t) => {
  const g = grant()
  await store.save(g)
  // Fill the pool with idle connections, then kill them all.
  await Promise.all(Array.from({ length: 10 }, () => store.findByDeviceCodeHash(g.deviceCodeHash)))
  t.ok(await terminate("state = 'idle'") >= 1, 'killed idle backends')
  const outcomes = await Promise.all(Array.from({ length: 10 }, () => outcome(store.findByDeviceCodeHash(g.deviceCodeHash))))
  for (const o of outcomes) {
    t.ok(o === 'ok' || o instanceof StoreUnavailableError, `answered or StoreUnavailableError: ${String(o)}`)
  }
  t.strictSame(await within(10_000, store.findByDeviceCodeHash(g.deviceCodeHash)), g, 'works again')
  t.equal(await within(10_000, store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })), true)
})
