import t from 'tap'
import { storeSuite } from '@device-grant/store-test-suite'
import { MemoryStore } from '../src/index.js'

// No sweep timer: the suite's cases must not depend on one, and none is left running.
storeSuite((name, fn) => t.test(name, fn), () => new MemoryStore({ sweepInterval: 0 }), { name: 'memory' })
