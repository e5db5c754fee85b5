// A database that cannot answer: StoreUnavailableError (or a transparent retry), never a hang,
// and the store works again as soon as the database does.
import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import type { DeviceGrantStore } from '@device-grant/core'
import { prismaStore } from '../src/index.js'
import { connectionFaultTests, outcome } from '../../store-postgres/test/shared/connection-faults.js'
import { createTestDatabase, grant, harness, makeClient } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
const poll = { clientId: 'client-a', leewayMs: 1000, slowDownStep: 5 }

t.test('an unreachable server: every operation fails fast with StoreUnavailableError', async (t) => {
  const prisma = makeClient({ schema: db.schema, applicationName: `${db.applicationName}_down`, url: 'postgresql://postgres@127.0.0.1:1/test' })
  t.teardown(() => prisma.$disconnect())
  const down = prismaStore({ prisma, table: db.table })
  const g = grant()
  const ops: Array<[string, (s: DeviceGrantStore) => Promise<unknown>]> = [
    ['save', (s) => s.save(g)],
    ['findByDeviceCodeHash', (s) => s.findByDeviceCodeHash?.(g.deviceCodeHash) ?? Promise.resolve()],
    ['findByUserCode', (s) => s.findByUserCode(g.userCode)],
    ['recordPoll', (s) => s.recordPoll(g.deviceCodeHash, { ...poll, now: g.createdAt })],
    ['bindSubject', (s) => s.bindSubject(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['approve', (s) => s.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['deny', (s) => s.deny(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['claim', (s) => s.claim(g.deviceCodeHash, g.createdAt)],
    ['deleteExpired', (s) => s.deleteExpired?.(g.createdAt) ?? Promise.resolve()]
  ]
  for (const [name, op] of ops) {
    const err = await outcome(op(down))
    t.type(err, StoreUnavailableError, name)
    t.match(err, { retryAfter: Number, cause: Error }, `${name}: retryAfter and the cause`)
  }
})

// approve runs a model query, recordPoll a raw one: both are killed mid-statement there.
connectionFaultTests(t, harness(db))
