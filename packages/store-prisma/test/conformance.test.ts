// The shared conformance suite, on one client and one throw-away schema for every case (the
// suite's cases use fresh random codes, so they share a table safely).
import t from 'tap'
import { storeSuite } from '@device-grant/store-test-suite'
import { prismaStore } from '../src/index.js'
import { createTestDatabase } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())

storeSuite((name, fn) => t.test(name, fn), () => prismaStore({ prisma: db.prisma, table: db.table }), { name: 'prisma' })
