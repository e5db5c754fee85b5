// The shared batching tests (store-postgres/test/shared/batching.ts) on this store.
import t from 'tap'
import { batchingTests } from '../../store-postgres/test/shared/batching.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
batchingTests(t, harness(db))
