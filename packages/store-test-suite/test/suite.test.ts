import t from 'tap'
import type { TestFn } from '../src/index.js'
import { storeSuite } from '../src/index.js'
import { ReferenceStore, newBackend } from './helpers/reference-store.js'

const test: TestFn = (name, fn, options) => t.test(name, options, fn)

// The suite run the way an adapter runs it, on a second implementation of the contract: with
// several stores on one backend, every case applies.
const backend = newBackend()
await storeSuite(test, () => new ReferenceStore(backend), { name: 'reference, shared', concurrency: 20 })

// A store of one process, as the memory store runs it: the multi-store cases are left out, and
// the summary shows they are the only ones.
const summary = await storeSuite(test, () => new ReferenceStore(), { name: 'reference', unsupported: 'omit' })
t.test('reference: only the multi-store cases do not apply', async (t) => {
  t.same(new Set(summary.notRun.map(({ reason }) => reason)), new Set(['the store does not declare capabilities.sharedAcrossProcesses']))
})
