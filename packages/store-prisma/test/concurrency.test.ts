// The shared race tests (store-postgres/test/shared/concurrency.ts) on this store, through one
// client and through several clients with their own pools (as separate processes would be).
import t from 'tap'
import { concurrencyTests } from '../../store-postgres/test/shared/concurrency.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
concurrencyTests(t, harness(db))
