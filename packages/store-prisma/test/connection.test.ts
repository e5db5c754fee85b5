// A database that cannot answer: StoreUnavailableError (or a transparent retry), never a hang,
// and the store works again as soon as the database does.
// (The tests are the shared ones of store-postgres/test/shared/connection-faults.ts.)
import t from 'tap'
import { connectionFaultTests } from '../../store-postgres/test/shared/connection-faults.js'
import { createTestDatabase, harness } from './helpers.js'

const db = await createTestDatabase()
t.teardown(() => db.close())
// approve runs a model query, recordPoll a raw one: both are killed mid-statement there.
connectionFaultTests(t, harness(db))
