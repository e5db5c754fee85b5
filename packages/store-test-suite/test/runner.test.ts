import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { DeviceGrantStore } from '@device-grant/core'
import { storeSuite } from '../src/index.js'
import type { StoreSuiteOptions } from '../src/index.js'
import { ReferenceStore, newBackend } from './helpers/reference-store.js'
import { collect, failures } from './helpers/collect.js'

/** A reference store that logs what happens to it, into `log`. */
function logging (log: string[], options: { failClose?: boolean } = {}): () => ReferenceStore {
  let made = 0
  return () => {
    const id = ++made
    log.push(`open ${id}`)
    const store = new ReferenceStore()
    const close = store.close.bind(store)
    store.close = async () => {
      log.push(`close ${id}`)
      await close()
      if (options.failClose === true) throw new Error(`close ${id} failed`)
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
  const named = collect(() => new ReferenceStore(), { name: 'redis' })
  const plain = collect(() => new ReferenceStore())
  t.ok(plain.length >= 50, `${plain.length} cases`)
  t.equal(named.length, plain.length)
  t.equal(new Set(plain.map(([name]) => name)).size, plain.length, 'names are unique')
  for (const [i, [name]] of named.entries()) t.equal(name, `redis: ${plain[i]![0]}`)
  t.same(collect(() => new ReferenceStore(), { name: '' }).map(([name]) => name), plain.map(([name]) => name), 'an empty name adds no prefix')
})

t.test('storeSuite registers and returns without running anything', async (t) => {
  let made = 0
  const returned: unknown = storeSuite(() => 'ignored', () => { made++; return new ReferenceStore() })
  t.equal(returned, undefined)
  t.equal(made, 0, 'no store is made before a case runs')
})

t.test('each case gets a fresh store, torn down then closed', async (t) => {
  const log: string[] = []
  const torn: unknown[] = []
  const cases = collect(logging(log), { teardown: (store) => { torn.push(idOf(store)); log.push(`teardown ${String(idOf(store))}`) } })
  const [first, second] = cases
  await first![1]()
  await second![1]()
  t.same(log, ['open 1', 'teardown 1', 'close 1', 'open 2', 'teardown 2', 'close 2'])
  t.same(torn, [1, 2], 'teardown gets the store the factory made')
})

t.test('an async factory and an async teardown are awaited', async (t) => {
  const log: string[] = []
  const make = logging(log)
  const [[, run] = []] = collect(async () => { await new Promise((resolve) => setImmediate(resolve)); return make() }, {
    teardown: async (store) => {
      await new Promise((resolve) => setImmediate(resolve))
      log.push(`teardown ${String(idOf(store))}`)
    }
  })
  await run!()
  t.same(log, ['open 1', 'teardown 1', 'close 1'])
})

t.test('a store without close is fine', async (t) => {
  const [[, run] = []] = collect(() => Object.assign(new ReferenceStore(), { close: undefined }))
  await t.resolves(run!())
})

t.test('a failing case still tears down and closes its store, and reports its own error', async (t) => {
  const log: string[] = []
  const make = logging(log)
  const broken = (): ReferenceStore => Object.assign(make(), { save: async () => false })
  const [[, run] = []] = collect(broken, {
    teardown: (store) => { log.push(`teardown ${String(idOf(store))}`); throw new Error('teardown failed') }
  })
  await t.rejects(run!(), { name: 'AssertionError' }, 'the case\'s failure, not the teardown\'s')
  t.same(log, ['open 1', 'teardown 1', 'close 1'])
})

t.test('a teardown error fails a case that passed, and the store is still closed', async (t) => {
  const log: string[] = []
  const [[, run] = []] = collect(logging(log), { teardown: () => { throw new Error('teardown failed') } })
  await t.rejects(run!(), { message: 'teardown failed' })
  t.same(log, ['open 1', 'close 1'])
})

t.test('a close error fails a case that passed', async (t) => {
  const [[, run] = []] = collect(logging([], { failClose: true }))
  await t.rejects(run!(), { message: 'close 1 failed' })
})

t.test('a factory error fails the case', async (t) => {
  const [[, run] = []] = collect(() => { throw new Error('no backend') })
  await t.rejects(run!(), { message: 'no backend' })
})

t.test('every store a case opens is torn down and closed, the last opened first', async (t) => {
  const log: string[] = []
  const backend = newBackend()
  let made = 0
  const cases = collect(() => {
    const id = ++made
    const store = new ReferenceStore(backend)
    store.close = async () => { log.push(`close ${id}`) }
    return Object.assign(store, { id })
  }, { teardown: (store) => { log.push(`teardown ${String(idOf(store))}`) } })
  const several = cases.find(([name]) => name.startsWith('parallel claims through several stores'))
  await several![1]()
  t.same(log, ['teardown 3', 'close 3', 'teardown 2', 'close 2', 'teardown 1', 'close 1'])
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
    const cases = collect(counting, concurrency === undefined ? {} : { concurrency })
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

t.test('the cases of optional methods pass on a store without them', async (t) => {
  const cases = collect(() => Object.assign(new ReferenceStore(), { deleteExpired: undefined, hit: undefined }))
  const failed = await failures(cases)
  t.same([...failed.keys()], [])
})

t.test('every case passes with the smallest concurrency', async (t) => {
  const backend = newBackend()
  const failed = await failures(collect(() => new ReferenceStore(backend), { concurrency: 2 }))
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
