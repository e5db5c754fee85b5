import t from 'tap'
import type { TestFn } from '../src/index.js'
import { singleProcessSuite, storeSuite } from '../src/index.js'
import { ReferenceStore, newBackend } from './helpers/reference-store.js'

const test: TestFn = (name, fn, options) => t.test(name, options, fn)

// The suite run the way an adapter runs it, on a second implementation of the contract: with
// several stores on one backend, every case applies.
const backend = newBackend()
await storeSuite(test, () => new ReferenceStore(backend), { name: 'reference, shared', concurrency: 20 })

// A store of one process runs every group that applies to it, as the memory store does.
await singleProcessSuite(test, () => new ReferenceStore(), { name: 'reference' })
