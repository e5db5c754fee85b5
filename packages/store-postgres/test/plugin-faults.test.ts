// The shared plugin-under-faults tests (test/shared/plugin-faults.ts) on this store.
import t from 'tap'
import { pluginFaultTests } from './shared/plugin-faults.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
await pluginFaultTests(t, harness(db))
