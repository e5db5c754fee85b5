// The shared conformance suite, on one pool and one throw-away schema for every case (the
// suite's cases use fresh random codes, so they share a table safely). Stores are opened on
// three pools in turn, so the multi-process cases race separate connections as processes would;
// once with the store's defaults, once without batching.
import t from 'tap'
import { storeSuite } from '@device-grant/store-test-suite'
import { postgresStore } from '../src/index.js'
import { createTestDatabase } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())

const pools = [db.pool, db.newPool({ max: 4 }), db.newPool({ max: 4 })]
let opened = 0
storeSuite((name, fn) => t.test(name, fn), () => postgresStore({ pool: pools[opened++ % pools.length] ?? db.pool, table: db.table }), { name: 'postgres' })
// Every call in its own statement, as with `batch: false`.
storeSuite((name, fn) => t.test(name, fn), () => postgresStore({ pool: pools[opened++ % pools.length] ?? db.pool, table: db.table, batch: false }), { name: 'postgres, batch: false' })
