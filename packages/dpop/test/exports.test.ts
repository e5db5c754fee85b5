import t from 'tap'
import * as api from '../src/index.js'

// The public surface of @device-grant/dpop. A name added, renamed or dropped fails this test until the
// snapshot is updated (`npx tap --snapshot test/exports.test.ts`), so every API change shows
// up in review as a change to tap-snapshots/.
t.test('the package exports exactly these names', async (t) => {
  t.matchSnapshot(Object.keys(api).sort())
})
