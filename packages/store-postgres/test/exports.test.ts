import t from 'tap'
import * as api from '../src/index.js'
import * as sql from '../src/sql-module.js'

// The public surface of @device-grant/store-postgres and of its /sql entry (what store-prisma
// builds on). A name added, renamed or dropped fails this test until the snapshot is updated
// (`npx tap --snapshot test/exports.test.ts`), so every API change shows up in review.
t.test('the package exports exactly these names', async (t) => {
  t.matchSnapshot(Object.keys(api).sort())
})

t.test('@device-grant/store-postgres/sql exports exactly these names', async (t) => {
  t.matchSnapshot(Object.keys(sql).sort())
})
