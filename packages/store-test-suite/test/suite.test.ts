import t from 'tap'
import { storeSuite } from '../src/index.js'
import { ReferenceStore, newBackend } from './helpers/reference-store.js'

// The suite run the way an adapter runs it, on a second implementation of the contract.
storeSuite((name, fn) => t.test(name, fn), () => new ReferenceStore(), { name: 'reference' })

// The same with several stores on one backend, which switches the sharedAcrossProcesses cases on.
const backend = newBackend()
storeSuite((name, fn) => t.test(name, fn), () => new ReferenceStore(backend), { name: 'reference, shared', concurrency: 20 })
