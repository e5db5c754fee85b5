// A database that cannot answer: StoreUnavailableError within the store's deadline, never a
// hang, and the store works again as soon as the database does. (Server restarts and crashes
// are in restart.test.ts, on a private cluster.)
import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import { postgresStore } from '../src/index.js'
import { connectionFaultTests, outcome } from './shared/connection-faults.js'
import { createTestDatabase, grant, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const store = postgresStore({ pool: db.pool, table: db.table })

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
