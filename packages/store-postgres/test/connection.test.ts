// A database that cannot answer: StoreUnavailableError within the store's deadline, never a
// hang, and the store works again as soon as the database does. (Server restarts and crashes
// are in restart.test.ts, on a private cluster.)
import t from 'tap'
import pg from 'pg'
import { StoreUnavailableError } from '@device-grant/core'
import type { DeviceGrantStore } from '@device-grant/core'
import { postgresStore } from '../src/index.js'
import { connectionFaultTests, outcome } from './shared/connection-faults.js'
import { createTestDatabase, grant, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const store = postgresStore({ pool: db.pool, table: db.table })
const poll = { clientId: 'client-a', leewayMs: 1000, slowDownStep: 5 }

/** Every operation of the store, on one grant. */
function operations (g: ReturnType<typeof grant>): Array<[string, (s: DeviceGrantStore) => Promise<unknown>]> {
  return [
    ['save', (s) => s.save(g)],
    ['findByDeviceCodeHash', (s) => s.findByDeviceCodeHash?.(g.deviceCodeHash) ?? Promise.resolve()],
    ['findByUserCode', (s) => s.findByUserCode(g.userCode)],
    ['recordPoll', (s) => s.recordPoll(g.deviceCodeHash, { ...poll, now: g.createdAt })],
    ['bindSubject', (s) => s.bindSubject(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['approve', (s) => s.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['deny', (s) => s.deny(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['claim', (s) => s.claim(g.deviceCodeHash, g.createdAt)],
    ['hit', (s) => s.hit?.('k', { windowMs: 1000, now: g.createdAt, increment: 1 }) ?? Promise.resolve()],
    ['useOnce', (s) => s.useOnce?.('k', { now: g.createdAt, expiresAt: g.createdAt + 1 }) ?? Promise.resolve()],
    ['deleteExpired', (s) => s.deleteExpired?.(g.createdAt) ?? Promise.resolve()]
  ]
}

t.test('an unreachable server: every operation fails fast with StoreUnavailableError', async (t) => {
  const pool = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 2000 })
  t.teardown(() => pool.end())
  const down = postgresStore({ pool, table: db.table })
  for (const [name, op] of operations(grant())) {
    const err = await outcome(op(down))
    t.type(err, StoreUnavailableError, name)
    t.match(err, { retryAfter: Number, cause: { code: 'ECONNREFUSED' }, message: new RegExp(`^@device-grant/store-postgres: ${name} failed`) }, `${name}: retryAfter, message and cause`)
  }
})

t.test('a statement stuck behind a lock fails with StoreUnavailableError at the operationTimeout', async (t) => {
  const g = grant()
  await store.save(g)
  const impatient = postgresStore({ pool: db.pool, table: db.table, operationTimeout: 300 })
  await db.admin.query('BEGIN')
  await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [g.deviceCodeHash])
  const started = Date.now()
  const err = await outcome(impatient.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 }))
  const waited = Date.now() - started
  await db.admin.query('ROLLBACK')
  t.type(err, StoreUnavailableError)
  t.match(err, { message: '@device-grant/store-postgres: approve got no answer within 300 ms' })
  t.ok(waited >= 290 && waited < 5000, `failed after ${waited} ms`)
})

connectionFaultTests(t, harness(db))
