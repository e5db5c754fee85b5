import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import { Deadlines, type Deadline } from '../src/deadlines.js'

const failure = (op: string, err: unknown) => new Error(`${op}: ${String(err)}`, { cause: err })
const never = () => new Promise<never>(() => {})
const after = async (ms: number) => await new Promise(resolve => setTimeout(resolve, ms))
const timers = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

t.test('an answer in time passes through', async t => {
  const deadlines = new Deadlines(1000, failure, 'store')
  t.equal(await deadlines.send('op', async () => 42), 42)
  t.equal(await deadlines.run('op', async () => 'ok'), 'ok')
  t.equal(deadlines.size, 0)
})

t.test('no answer within the timeout: StoreUnavailableError naming the store and the operation', async t => {
  const deadlines = new Deadlines(50, failure, 'my-store')
  const started = performance.now()
  await t.rejects(deadlines.send('recordPoll', never), { name: 'StoreUnavailableError', message: 'my-store: recordPoll got no answer within 50 ms' })
  t.ok(performance.now() - started >= 45, 'not before the deadline')
  t.equal(deadlines.size, 0, 'forgotten once expired')
})

t.test('a failure is mapped by the store, once', async t => {
  const deadlines = new Deadlines(1000, failure, 'store')
  await t.rejects(deadlines.send('claim', async () => { throw new Error('closed') }), { message: 'claim: Error: closed' })
  await t.rejects(deadlines.send('claim', () => { throw new Error('sync') }), { message: 'claim: Error: sync' }, 'a command that throws before it sends')
  await t.rejects(deadlines.run('save', async () => { throw new Error('late') }), { message: 'save: Error: late' })
})

t.test('work that outlives its deadline sees it expired, and its late answer reaches nobody', async t => {
  const deadlines = new Deadlines(30, failure, 'store')
  let seen: Deadline | undefined
  let finish: () => void = () => {}
  const result = deadlines.run('save', async deadline => {
    seen = deadline
    t.equal(deadline.expired, false, 'live while in time')
    await new Promise<void>(resolve => { finish = resolve })
    return deadline.expired
  })
  await t.rejects(result, StoreUnavailableError)
  t.equal(seen?.expired, true)
  finish()
})

t.test('each operation expires a full timeout after it started, however many share the timer', async t => {
  const deadlines = new Deadlines(200, failure, 'store')
  const start = performance.now()
  const settled: number[] = []
  const first = deadlines.send('a', never).catch(() => { settled[0] = performance.now() - start })
  await after(100)
  const second = deadlines.send('b', never).catch(() => { settled[1] = performance.now() - start })
  await Promise.all([first, second])
  t.ok(settled[0]! >= 195, `the first after ${Math.round(settled[0]!)} ms`)
  t.ok(settled[0]! < settled[1]!, 'the first before the second')
  t.ok(settled[1]! >= 295, `the second after ${Math.round(settled[1]!)} ms, not with the first`)
})

t.test('one timer for everything in flight, none once nothing is', async t => {
  const deadlines = new Deadlines(1000, failure, 'store')
  const before = timers()
  const answers: Array<() => void> = []
  const ops = Array.from({ length: 10 }, async () => await deadlines.send('op', async () => await new Promise<void>(resolve => { answers.push(resolve) })))
  t.equal(timers(), before + 1, 'one timer for ten operations')
  for (const answer of answers) answer()
  await Promise.all(ops)
  t.equal(timers(), before, 'cleared with the last answer')
})
