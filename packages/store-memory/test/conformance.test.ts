import t from 'tap'
import { singleProcessSuite } from '@device-grant/store-test-suite'
import { MemoryStore } from '../src/index.js'

// Every group but the multi-store one: this store is one process's own (it declares
// `capabilities.sharedAcrossProcesses: false`), so those cases do not apply, and `storeSuite`
// would register them as skipped. No sweep timer: the cases must not depend on one, and none
// is left running.
await singleProcessSuite((name, fn, options) => t.test(name, options, fn), () => new MemoryStore({ sweepInterval: 0 }), { name: 'memory' })
