import t from 'tap'
import type { TestFn } from '@device-grant/store-test-suite'
import {
  claimSuite,
  concurrencySuite,
  counterSuite,
  decisionSuite,
  expirySuite,
  onceSuite,
  pollSuite,
  saveFindSuite
} from '@device-grant/store-test-suite'
import { MemoryStore } from '../src/index.js'

const test: TestFn = (name, fn, options) => t.test(name, options, fn)

// Every group but the multi-store one: this store is one process's own (it declares
// `capabilities.sharedAcrossProcesses: false`), so those cases do not apply, and running
// `storeSuite` would only register them as skipped. No sweep timer: the cases must not depend
// on one, and none is left running.
for (const suite of [saveFindSuite, pollSuite, decisionSuite, claimSuite, expirySuite, concurrencySuite, counterSuite, onceSuite]) {
  await suite(test, () => new MemoryStore({ sweepInterval: 0 }), { name: 'memory' })
}
