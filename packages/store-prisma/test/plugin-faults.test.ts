// The shared plugin-under-faults tests (store-postgres/test/shared/plugin-faults.ts) on this
// store. (Not in fastify-device-grant: the tests need this package's generated Prisma client.)
import t from 'tap'
import { pluginFaultTests } from '../../store-postgres/test/shared/plugin-faults.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
await pluginFaultTests(t, harness(db))
