import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { DeviceGrantStore } from '@device-grant/core'
import {
  claimSuite,
  concurrencySuite,
  counterSuite,
  decisionSuite,
  expirySuite,
  multiStoreSuite,
  onceSuite,
  pollSuite,
  saveFindSuite,
  storeSuite
} from '../src/index.js'
import type { StoreSuiteOptions } from '../src/index.js'
import { ReferenceStore, newBackend } from './helpers/reference-store.js'
import { collect, failures } from './helpers/collect.js'

/** A reference store that logs what happens to it, into `log`. */
function logging (log: string[], options: { failClose?: boolean, after?: number } = {}): () => ReferenceStore {
  let made = 0
  return () => {
    const id = ++made
    log.push(`open ${id}`)
    const store = new ReferenceStore()
    const close = store.close.bind(store)
    store.close = async () => {
      log.push(`close ${id}`)
      await close()
      if (options.failClose === true && id > (options.after ?? 0)) throw new Error(`close ${id} failed`)
    }
    Object.assign(store, { id })
    return store
  }
}

const idOf = (store: DeviceGrantStore): unknown => (store as unknown as { id: unknown }).id

// Two cases start a node:test child that loads the TypeScript sources itself: seconds alone,
// far more when the whole workspace's tests share two cores.
t.setTimeout(120_000)

t.test('every case is registered under the name prefix', async (t) => {
  const named = await collect(() => new ReferenceStore(), { name: 'redis' })
  const plain = await collect(() => new ReferenceStore())
  t.ok(plain.length >= 50, `${plain.length} cases`)
  t.equal(named.length, plain.length)
  t.equal(new Set(plain.map(([name]) => name)).size, plain.length, 'names are unique')
  for (const [i, [name]] of named.entries()) t.equal(name, `redis: ${plain[i]![0]}`)
  t.same((await collect(() => new ReferenceStore(), { name: '' })).map(([name]) => name), plain.map(([name]) => name), 'an empty name adds no prefix')
})

t.test('storeSuite reads the manifest from one store, torn down then closed, and runs no case', async (t) => {
  const log: string[] = []
  const summary = await storeSuite(() => 'ignored', logging(log), { teardown: (store) => { log.push(`teardown ${String(idOf(store))}`) } })
  t.same(log, ['open 1', 'teardown 1', 'close 1'])
  t.ok(summary.run.length >= 50, `${summary.run.length} cases to run`)
})

t.test('a group without optional capabilities opens no store to register', async (t) => {
  let made = 0
  const names: string[] = []
  const summary = await claimSuite((name) => { names.push(name) }, () => { made++; return new ReferenceStore() }, { name: 'x' })
  t.equal(made, 0)
  t.same(summary.run, names)
  t.ok(names.every((name) => name.startsWith('x: ') && name.includes('claim')), names.join(', '))
})

t.test('each group runs on its own, and storeSuite is every group', async (t) => {
  const suites = [saveFindSuite, pollSuite, decisionSuite, claimSuite, expirySuite, concurrencySuite, counterSuite, onceSuite, multiStoreSuite]
  const backend = newBackend()
  const names: string[] = []
  for (const suite of suites) {
    const summary = await suite(() => undefined, () => new ReferenceStore(backend))
    t.ok(summary.run.length > 0)
    t.same(summary.notRun, [])
    names.push(...summary.run)
  }
  t.same(names, (await collect(() => new ReferenceStore(backend))).map(([name]) => name))
})

t.test('each case gets a fresh store, torn down then closed', async (t) => {
  const log: string[] = []
  const torn: unknown[] = []
  const cases = await collect(logging(log), { teardown: (store) => { torn.push(idOf(store)); log.push(`teardown ${String(idOf(store))}`) } })
  log.length = 0
  torn.length = 0
  const [first, second] = cases
  await first![1]()
  await second![1]()
  t.same(log, ['open 2', 'teardown 2', 'close 2', 'open 3', 'teardown 3', 'close 3'])
  t.same(torn, [2, 3], 'teardown gets the store the factory made')
})

t.test('an async factory and an async teardown are awaited', async (t) => {
  const log: string[] = []
  const make = logging(log)
  const [[, run] = []] = await collect(async () => { await new Promise((resolve) => setImmediate(resolve)); return make() }, {
    teardown: async (store) => {
      await new Promise((resolve) => setImmediate(resolve))
      log.push(`teardown ${String(idOf(store))}`)
    }
  })
  await run!()
  t.same(log, ['open 1', 'teardown 1', 'close 1', 'open 2', 'teardown 2', 'close 2'], 'the manifest\'s store, then the case\'s')
})

t.test('a store without close is fine', async (t) => {
  const [[, run] = []] = await collect(() => Object.assign(new ReferenceStore(), { close: undefined }))
  await t.resolves(run!())
})

t.test('a failing case still tears down and closes its store, and reports its own error', async (t) => {
  const log: string[] = []
  const make = logging(log)
  const broken = (): ReferenceStore => Object.assign(make(), { save: async () => false })
  let failTeardown = false
  const [[, run] = []] = await collect(broken, {
    teardown: (store) => {
      log.push(`teardown ${String(idOf(store))}`)
      if (failTeardown) throw new Error('teardown failed')
    }
  })
  failTeardown = true
  log.length = 0
  await t.rejects(run!(), { name: 'AssertionError' }, 'the case\'s failure, not the teardown\'s')
  t.same(log, ['open 2', 'teardown 2', 'close 2'])
})

t.test('a teardown error fails a case that passed, and the store is still closed', async (t) => {
  const log: string[] = []
  let failTeardown = false
  const [[, run] = []] = await collect(logging(log), { teardown: () => { if (failTeardown) throw new Error('teardown failed') } })
  failTeardown = true
  log.length = 0
  await t.rejects(run!(), { message: 'teardown failed' })
  t.same(log, ['open 2', 'close 2'])
})

t.test('a close error fails a case that passed', async (t) => {
  const [[, run] = []] = await collect(logging([], { failClose: true, after: 1 }))
  await t.rejects(run!(), { message: 'close 2 failed' })
})

t.test('a factory error fails the case', async (t) => {
  let made = 0
  const [[, run] = []] = await collect(() => {
    if (++made > 1) throw new Error('no backend')
    return new ReferenceStore()
  })
  await t.rejects(run!(), { message: 'no backend' })
})

t.test('a factory error while reading the manifest rejects storeSuite', async (t) => {
  await t.rejects(storeSuite(() => undefined, () => { throw new Error('no backend') }), { message: 'no backend' })
})

t.test('the cases of a capability the store lacks are registered as skipped, with the reason', async (t) => {
  const bare = (): ReferenceStore => Object.assign(new ReferenceStore(), {
    deleteExpired: undefined,
    hit: undefined,
    useOnce: undefined,
    findByDeviceCodeHash: undefined
  })
  const cases = await collect(bare)
  const skipped = cases.filter(([, , options]) => options.skip !== undefined)
  const reasons = new Set(skipped.map(([, , options]) => options.skip))
  t.same([...reasons].sort(), [
    'the store does not declare capabilities.sharedAcrossProcesses',
    'the store has no deleteExpired()',
    'the store has no findByDeviceCodeHash()',
    'the store has no hit()',
    'the store has no useOnce()'
  ])
  t.ok(skipped.some(([name]) => name === 'parallel useOnce calls through several stores have exactly one winner'), 'a case needing two capabilities')
  t.same([...(await failures(cases)).keys()], [], 'every case that runs passes')
  const summary = await storeSuite(() => undefined, bare)
  t.same(summary.notRun.map(({ name }) => name), skipped.map(([name]) => name), 'the summary lists them')
  t.same(summary.notRun.map(({ reason }) => reason), skipped.map(([, , options]) => options.skip), 'with the reasons')
  t.equal(summary.run.length + summary.notRun.length, cases.length)
})

t.test('with unsupported: omit, the cases of a capability the store lacks are left out and listed in the summary', async (t) => {
  const registered: string[] = []
  const store = (): ReferenceStore => Object.assign(new ReferenceStore(), { hit: undefined })
  const summary = await storeSuite((name, _fn, options) => { registered.push(name); t.same(options, {}) }, store, { unsupported: 'omit' })
  t.same(registered, summary.run, 'only the cases that run are registered')
  t.ok(summary.notRun.some(({ name }) => name === 'hit counts per key within a window'))
  t.same(new Set(summary.notRun.map(({ reason }) => reason)), new Set(['the store has no hit()', 'the store does not declare capabilities.sharedAcrossProcesses']))
  t.equal(registered.length + summary.notRun.length, (await collect(store)).length)
})

t.test('a skipped case run anyway by a test function that drops the options fails, saying why', async (t) => {
  const cases = await collect(() => Object.assign(new ReferenceStore(), { hit: undefined }))
  const [, fn, options] = cases.find(([name]) => name === 'hit counts per key within a window')!
  t.equal(options.skip, 'the store has no hit()')
  await t.rejects(fn(), { message: /^not run: the store has no hit\(\)\. Pass the test function's third argument on/ })
})

t.test('a case that needs a method the store lost after the manifest was read fails on a TypeError', async (t) => {
  let made = 0
  const cases = await collect(() => ++made === 1 ? new ReferenceStore() : Object.assign(new ReferenceStore(), { useOnce: undefined }))
  const [, fn] = cases.find(([name]) => name === 'useOnce keys are independent')!
  await t.rejects(fn(), { name: 'TypeError', message: 'the store has no useOnce()' })
})

t.test('every store a case opens is torn down and closed, the last opened first', async (t) => {
  const log: string[] = []
  const backend = newBackend()
  let made = 0
  const cases = await collect(() => {
    const id = ++made
    const store = new ReferenceStore(backend)
    store.close = async () => { log.push(`close ${id}`) }
    return Object.assign(store, { id })
  }, { teardown: (store) => { log.push(`teardown ${String(idOf(store))}`) } })
  log.length = 0
  const several = cases.find(([name]) => name.startsWith('parallel claims through several stores'))
  await several![1]()
  t.same(log, ['teardown 4', 'close 4', 'teardown 3', 'close 3', 'teardown 2', 'close 2'])
})

t.test('concurrency sets the number of parallel callers', async (t) => {
  let claims = 0
  const counting = (): ReferenceStore => {
    const store = new ReferenceStore()
    const claim = store.claim.bind(store)
    store.claim = async (hash, now) => { claims++; return await claim(hash, now) }
    return store
  }
  for (const concurrency of [undefined, 7]) {
    claims = 0
    const cases = await collect(counting, concurrency === undefined ? {} : { concurrency })
    const parallel = cases.find(([name]) => name === 'parallel claims of one approved grant have exactly one winner')
    await parallel![1]()
    t.equal(claims, concurrency ?? 100, `concurrency ${String(concurrency)}`)
  }
})

t.test('concurrency must be an integer of at least 2', async (t) => {
  for (const concurrency of [1, 0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => storeSuite(() => undefined, () => new ReferenceStore(), { concurrency } satisfies StoreSuiteOptions),
      { name: 'TypeError', message: 'concurrency must be an integer >= 2' }, String(concurrency))
  }
  t.doesNotThrow(() => storeSuite(() => undefined, () => new ReferenceStore(), { concurrency: 2 }))
})

t.test('every case passes with the smallest concurrency', async (t) => {
  const backend = newBackend()
  const failed = await failures(await collect(() => new ReferenceStore(backend), { concurrency: 2 }))
  t.same([...failed.keys()], [])
})

async function runNodeTest (env: Record<string, string> = {}): Promise<{ code: number | null, output: string }> {
  const file = fileURLToPath(new URL('./helpers/node-test-runner.ts', import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv, file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, output }
}

t.test('the suite runs under node:test', async (t) => {
  const { code, output } = await runNodeTest()
  if (code !== 0) t.comment(output)
  t.equal(code, 0, 'node exits 0')
  t.match(output, /node:test: parallel claims of one approved grant have exactly one winner/)
  t.match(output, /# fail 0/)
})

t.test('a failing case fails under node:test', async (t) => {
  const { code, output } = await runNodeTest({ SUITE_MUTANT: 'claim checks, then writes a round trip later' })
  if (code !== 1) t.comment(output)
  t.equal(code, 1, 'node exits 1')
  t.match(output, /# fail 1\b/)
})

t.test('skipped cases show as skipped, with the reason, under node:test', async (t) => {
  const { code, output } = await runNodeTest({ SUITE_BARE: '1' })
  if (code !== 0) t.comment(output)
  t.equal(code, 0, 'node exits 0')
  t.match(output, /node:test: hit counts per key within a window # SKIP the store has no hit\(\)/)
  t.match(output, /# skipped [1-9]\d*/)
  t.match(output, /# fail 0/)
})
