// The shared batching tests (test/shared/batching.ts) on this store.
import t from 'tap'
import { batchingTests } from './shared/batching.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
batchingTests(t, harness(db))
