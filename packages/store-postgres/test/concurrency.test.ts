// The shared race tests (test/shared/concurrency.ts) on this store, through one pool and through
// several pools (as separate processes would be).
import t from 'tap'
import { concurrencyTests } from './shared/concurrency.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
concurrencyTests(t, harness(db))
