// Statements per operation, counted twice: Prisma's query events, and the pg pool's query()
// calls underneath (what actually goes over the wire, BEGIN/COMMIT included were there any).
import t from 'tap'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { prismaStore } from '../src/index.js'
import { DATABASE_URL, PrismaClient, createTestDatabase, grant } from './helpers.js'

const db = await createTestDatabase()
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4, application_name: db.applicationName })
const wire: string[] = []
const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
pool.query = ((...args: unknown[]) => {
  const first = args[0]
  wire.push(typeof first === 'string' ? first : String((first as { text?: unknown }).text))
  return query(...args)
}) as typeof pool.query
const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: db.schema }), log: [{ emit: 'event', level: 'query' }] })
const events: string[] = []
prisma.$on('query', (event) => { events.push(event.query) })
t.teardown(async () => {
  await prisma.$disconnect()
  await pool.end()
  await db.close()
})
const store = prismaStore({ prisma, table: db.table })

async function statements (op: () => Promise<unknown>): Promise<{ events: string[], wire: string[] }> {
  events.length = 0
  wire.length = 0
  await op()
  // Query events are emitted after the query resolves: let them land.
  await new Promise((resolve) => setImmediate(resolve))
  return { events: [...events], wire: [...wire] }
}

t.test('recordPoll is one SQL statement, whatever the outcome', async (t) => {
  const g = grant()
  await store.save(g)
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['first poll', () => store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: g.createdAt + 1, leewayMs: 1000, slowDownStep: 5 })],
    ['too fast', () => store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: g.createdAt + 2, leewayMs: 1000, slowDownStep: 5 })],
    ['on time', () => store.recordPoll(g.deviceCodeHash, { clientId: 'client-a', now: g.createdAt + 60_000, leewayMs: 1000, slowDownStep: 5 })],
    ['another client', () => store.recordPoll(g.deviceCodeHash, { clientId: 'client-b', now: g.createdAt + 70_000, leewayMs: 1000, slowDownStep: 5 })],
    ['unknown code', () => store.recordPoll('no-such-hash', { clientId: 'client-a', now: g.createdAt, leewayMs: 1000, slowDownStep: 5 })]
  ]
  for (const [name, op] of cases) {
    const seen = await statements(op)
    t.equal(seen.events.length, 1, `${name}: one query event`)
    t.equal(seen.wire.length, 1, `${name}: one statement on the wire`)
    t.match(seen.wire[0], /^WITH cur AS \(SELECT/, `${name}: the CTE, no BEGIN`)
  }
})

t.test('every other operation is one statement too', async (t) => {
  const g = grant()
  const now = g.createdAt + 10
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['save', () => store.save(g)],
    ['save (live conflict)', () => store.save(grant({ userCode: g.userCode }))],
    ['findByDeviceCodeHash', () => store.findByDeviceCodeHash(g.deviceCodeHash)],
    ['findByUserCode', () => store.findByUserCode(g.userCode)],
    ['bindSubject', () => store.bindSubject(g.deviceCodeHash, { subject: 'alice', now })],
    ['approve', () => store.approve(g.deviceCodeHash, { subject: 'alice', now })],
    ['deny (loses)', () => store.deny(g.deviceCodeHash, { subject: 'alice', now })],
    ['claim', () => store.claim(g.deviceCodeHash, now)],
    ['claim (loses)', () => store.claim(g.deviceCodeHash, now)],
    ['deleteExpired', () => store.deleteExpired(1)],
    ['sweep', () => store.sweep(1)],
    ['hit', () => store.hit('k', { windowMs: 1000, now, increment: 1 })],
    ['useOnce', () => store.useOnce('k', { now, expiresAt: now + 1 })]
  ]
  for (const [name, op] of cases) {
    const seen = await statements(op)
    t.equal(seen.events.length, 1, `${name}: one query event`)
    t.equal(seen.wire.length, 1, `${name}: one statement on the wire (${seen.wire.join(' | ').slice(0, 60)}…)`)
  }
})
