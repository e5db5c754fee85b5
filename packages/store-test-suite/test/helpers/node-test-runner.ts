// Runs the suite under node:test, the way its README shows. Spawned by runner.test.ts;
// SUITE_MUTANT names a mutant (by its bug) to run it against a broken store instead, and
// SUITE_BARE runs it on a store without any optional capability.
import { test } from 'node:test'
import { storeSuite } from '../../src/index.js'
import { ReferenceStore } from './reference-store.js'
import { mutants } from './mutants.js'

const bug = process.env.SUITE_MUTANT
const mutant = mutants.find((each) => each.bug === bug)
if (bug !== undefined && mutant === undefined) throw new Error(`no mutant "${bug}"`)
const bare = (): ReferenceStore => Object.assign(new ReferenceStore(), { hit: undefined, useOnce: undefined, deleteExpired: undefined, findByDeviceCodeHash: undefined })
const factory = mutant?.make ?? (process.env.SUITE_BARE === '1' ? bare : () => new ReferenceStore())

await storeSuite((name, fn, options) => test(name, options, fn), factory, { name: 'node:test' })
