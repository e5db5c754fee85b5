import t from 'tap'
import { storeSuite } from '@device-grant/store-test-suite'
import { MemoryStore } from '../src/index.js'

// No sweep timer: the cases must not depend on one, and none is left running. This store is one
// process's own (`capabilities.sharedAcrossProcesses: false`), so the multi-store cases do not
// apply: they are left out rather than registered as skipped, and the summary must show they
// are the only ones.
const summary = await storeSuite((name, fn, options) => t.test(name, options, fn), () => new MemoryStore({ sweepInterval: 0 }), {
  name: 'memory',
  unsupported: 'omit'
})

t.test('memory: every case applies but the multi-store ones', async (t) => {
  t.same(new Set(summary.notRun.map(({ reason }) => reason)), new Set(['the store does not declare capabilities.sharedAcrossProcesses']))
})
