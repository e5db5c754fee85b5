// Runs the suite under node:test, the way its README shows. Spawned by runner.test.ts;
// SUITE_MUTANT names a mutant (by its bug) to run it against a broken store instead.
import { test } from 'node:test'
import { storeSuite } from '../../src/index.js'
import { ReferenceStore } from './reference-store.js'
import { mutants } from './mutants.js'

const bug = process.env.SUITE_MUTANT
const mutant = mutants.find((each) => each.bug === bug)
if (bug !== undefined && mutant === undefined) throw new Error(`no mutant "${bug}"`)

storeSuite((name, fn) => test(name, fn), mutant?.make ?? (() => new ReferenceStore()), { name: 'node:test' })
