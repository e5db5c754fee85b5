import t from 'tap'
import { ReferenceStore, newBackend } from './helpers/reference-store.js'
import { mutants } from './helpers/mutants.js'
import { collect, failures } from './helpers/collect.js'

// A suite that passes everything proves nothing: each mutant breaks one rule of the contract,
// and the cases written for that rule must fail against it.

t.test('the reference store, shared, runs and passes every case', async (t) => {
  const backend = newBackend()
  const cases = await collect(() => new ReferenceStore(backend))
  t.same(cases.filter(([, , options]) => options.skip !== undefined).map(([name]) => name), [], 'none skipped')
  const failed = await failures(cases)
  t.same([...failed.keys()], [], 'no case failed')
})

for (const mutant of mutants) {
  t.test(`the suite catches a store where ${mutant.bug}`, async (t) => {
    const cases = await collect(mutant.make)
    const names = new Set(cases.map(([name]) => name))
    for (const name of mutant.caught) t.ok(names.has(name), `"${name}" is a case of the suite`)
    const failed = await failures(cases)
    for (const name of mutant.caught) {
      const err = failed.get(name)
      t.ok(err instanceof Error, `"${name}" failed`)
      // Assertion failures, not crashes: the case saw the broken rule.
      t.equal((err as Error | undefined)?.name, 'AssertionError', `"${name}" failed on an assertion`)
    }
  })
}
