// The store's statements on the ways a Node process can send them, in-process, no HTTP:
// node-postgres unnamed and named (prepared), the poll with and without a durable commit, Prisma's
// raw queries and its typed model queries, pool sizes, and the store's own recordPoll and save
// with and without batching. A call is one statement, except on the batched paths, where the
// calls of one event-loop turn share one. `node dist/src/sql-paths.js` (needs DATABASE_URL);
// prints a Markdown table. Each path runs in turn, A B B A, median of the rounds.
import { randomBytes } from 'node:crypto'
import { PrismaPg } from '@prisma/adapter-pg'
import { postgresStore } from '@device-grant/store-postgres'
import { buildStatements } from '@device-grant/store-postgres/sql'
import pg from 'pg'
import { PrismaClient } from '../generated/client/client.js'
import { createDatabase } from './infra.js'

const CALLS = Number(process.env.BENCH_SQL_CALLS ?? 4000)
const CONCURRENCY = Number(process.env.BENCH_SQL_CONCURRENCY ?? 32)
const ROUNDS = Number(process.env.BENCH_SQL_ROUNDS ?? 2)
const GRANTS = 2000

const db = await createDatabase()
const table = `${db.schema}.device_grant`
const durable = buildStatements(table, { asyncPollCommit: false })
const fast = buildStatements(table, { asyncPollCommit: true })
const pools = new Map<number, pg.Pool>()
function pool (max: number): pg.Pool {
  let p = pools.get(max)
  if (p === undefined) {
    p = new pg.Pool({ connectionString: db.url, max, application_name: 'device_grant_bench_sql' })
    pools.set(max, p)
  }
  return p
}
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 10 }, { schema: db.schema }) })

const hashes = Array.from({ length: GRANTS }, () => randomBytes(32).toString('base64url'))
const now = Date.now()
await db.admin.query(`INSERT INTO "${db.schema}".device_grant (device_code_hash, user_code, client_id, scope, status, created_at, expires_at, interval)
  SELECT h, 'U' || i, 'tv', '', 'pending', $2::bigint, $2::bigint + 3600000, 5 FROM unnest($1::text[]) WITH ORDINALITY AS x(h, i)`, [hashes, now])

let clock = now
const next = (i: number): string => hashes[i % GRANTS] as string
const pollValues = (i: number): unknown[] => [next(i), 'tv', ++clock, 1000, 5]

let saved = 0
const saveRow = (i: number): unknown[] => {
  const at = Date.now()
  return [`s${i}-${++saved}-${randomBytes(6).toString('hex')}`, `S${saved}-${randomBytes(4).toString('hex')}`, 'tv', '', 'pending', at, at + 600_000, 5, null, null, null, null, null, null, null]
}

// The store itself, on a pool of 10: each poll or save in its own statement, or the calls of one
// event-loop turn in one (the store's default).
const single = postgresStore({ pool: pool(10), table, batch: false })
const batched = postgresStore({ pool: pool(10), table })
const pollInput = (): { clientId: string, now: number, leewayMs: number, slowDownStep: number } => ({ clientId: 'tv', now: ++clock, leewayMs: 1000, slowDownStep: 5 })
const saveRecord = (i: number): Parameters<typeof single.save>[0] => {
  const [deviceCodeHash, userCode, , , , createdAt, expiresAt] = saveRow(i) as [string, string, string, string, string, number, number]
  return { deviceCodeHash, userCode, clientId: 'tv', scope: '', status: 'pending', createdAt, expiresAt, interval: 5 }
}

type Path = [name: string, call: (i: number) => PromiseLike<unknown>]
const paths: Path[] = [
  ['poll: pg unnamed, durable commit', (i) => pool(10).query({ text: durable.recordPoll.text, values: pollValues(i) })],
  ['poll: pg named, durable commit', (i) => pool(10).query({ ...durable.recordPoll, values: pollValues(i) })],
  ['poll: pg named, async commit (pool 10)', (i) => pool(10).query({ ...fast.recordPoll, values: pollValues(i) })],
  ['poll: pg named, async commit (pool 4)', (i) => pool(4).query({ ...fast.recordPoll, values: pollValues(i) })],
  ['poll: pg named, async commit (pool 20)', (i) => pool(20).query({ ...fast.recordPoll, values: pollValues(i) })],
  ['poll: Prisma $queryRawUnsafe, durable commit', (i) => prisma.$queryRawUnsafe(durable.recordPoll.text, ...pollValues(i))],
  ['poll: Prisma $queryRawUnsafe, async commit', (i) => prisma.$queryRawUnsafe(fast.recordPoll.text, ...pollValues(i))],
  ['poll: store-postgres recordPoll, batch: false', (i) => single.recordPoll(next(i), pollInput())],
  ['poll: store-postgres recordPoll, batched (default)', (i) => batched.recordPoll(next(i), pollInput())],
  ['save: store-postgres save, batch: false', (i) => single.save(saveRecord(i))],
  ['save: store-postgres save, batched (default)', (i) => batched.save(saveRecord(i))],
  ['save (durable): pg named, pool 10', (i) => pool(10).query({ ...fast.save, values: saveRow(i) })],
  ['save (durable): pg named, pool 20', (i) => pool(20).query({ ...fast.save, values: saveRow(i) })],
  ['save (durable): pg named, pool 32', (i) => pool(32).query({ ...fast.save, values: saveRow(i) })],
  ['find: pg named', (i) => pool(10).query({ ...fast.findByDeviceCodeHash, values: [next(i)] })],
  ['find: Prisma $queryRawUnsafe', (i) => prisma.$queryRawUnsafe(fast.findByDeviceCodeHash.text, next(i))],
  ['find: Prisma findUnique', (i) => prisma.deviceGrant.findUnique({ where: { deviceCodeHash: next(i) } })],
  ['bind: pg named', (i) => pool(10).query({ ...fast.bindSubject, values: [next(i), 'alice', now] })],
  ['bind: Prisma $executeRawUnsafe', (i) => prisma.$executeRawUnsafe(fast.bindSubject.text, next(i), 'alice', now)],
  ['bind: Prisma updateMany', (i) => prisma.deviceGrant.updateMany({
    where: { deviceCodeHash: next(i), status: 'pending', expiresAt: { gt: now }, OR: [{ subject: null }, { subject: 'alice' }] },
    data: { subject: 'alice' }
  })]
]

async function once (call: Path[1]): Promise<{ perSecond: number, cpuMicros: number }> {
  let i = 0
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (i < CALLS) await call(i++)
  }))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  return { perSecond: CALLS / seconds, cpuMicros: (used.user + used.system) / CALLS }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

for (const [, call] of paths) await once(call) // warm-up: connections, prepared statements, Prisma's query compiler
const results = new Map<string, Array<{ perSecond: number, cpuMicros: number }>>()
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? paths : [...paths].reverse()
  for (const [name, call] of order) results.set(name, [...(results.get(name) ?? []), await once(call)])
}

console.log(`| path (${CALLS} calls, ${CONCURRENCY} in flight, median of ${ROUNDS} rounds) | calls/s | client CPU µs per call |`)
console.log('| --- | ---: | ---: |')
for (const [name] of paths) {
  const r = results.get(name) ?? []
  console.log(`| ${name} | ${Math.round(median(r.map((x) => x.perSecond))).toLocaleString('en-US')} | ${Math.round(median(r.map((x) => x.cpuMicros)))} |`)
}

await prisma.$disconnect()
for (const p of pools.values()) await p.end()
await db.drop()
