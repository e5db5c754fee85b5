import t from 'tap'
import { StoreUnavailableError } from '@device-grant/core'
import type { Redis } from 'ioredis'
import { RedisStore } from '../src/index.js'
import * as scripts from '../src/scripts.js'
import { makeGrant } from './helpers.js'

type Handler = (key: string, ...args: string[]) => Promise<unknown>

/**
 * A stand-in client whose scripts do what each case says: the failure paths that a real
 * server cannot be made to hit on cue (a fault between the two writes of a save).
 */
function fakeClient (handlers: Partial<Record<keyof typeof scripts, Handler>>) {
  const byLua = new Map(Object.entries(scripts).map(([name, lua]) => [lua, name as keyof typeof scripts]))
  const calls: string[] = []
  const client: Record<string, unknown> = {
    defineCommand (command: string, { lua }: { lua: string }) {
      const name = byLua.get(lua)!
      client[command] = async (key: string, ...args: string[]) => {
        calls.push(name)
        const handler = handlers[name]
        if (handler === undefined) throw new Error(`unexpected ${name}`)
        return await handler(key, ...args)
      }
    }
  }
  return { client: client as unknown as Redis, calls }
}

class ReplyError extends Error {
  override name = 'ReplyError'
}

t.test('the record write fails after the user code was claimed: released, unavailable', async t => {
  let released: (() => void) | undefined
  const releasedP = new Promise<void>(resolve => { released = resolve })
  const { client, calls } = fakeClient({
    CLAIM_USER_CODE: async () => 1,
    SAVE_RECORD: async () => { throw new Error('Connection is closed.') },
    RELEASE_USER_CODE: async () => {
      released!()
      throw new Error('Connection is closed.')
    }
  })
  const store = new RedisStore({ client })
  await t.rejects(store.save(makeGrant()), { name: 'StoreUnavailableError', message: /save failed: Connection is closed/ })
  await releasedP
  t.strictSame(calls, ['CLAIM_USER_CODE', 'SAVE_RECORD', 'RELEASE_USER_CODE'], 'a failed release is swallowed')
})

t.test('the deadline passes while the record is being written: the code is released', async t => {
  let finishWrite: (() => void) | undefined
  const { client, calls } = fakeClient({
    CLAIM_USER_CODE: async () => 1,
    SAVE_RECORD: async () => await new Promise(resolve => { finishWrite = () => { resolve(1) } }),
    RELEASE_USER_CODE: async () => 1
  })
  const store = new RedisStore({ client, operationTimeout: 20 })
  await t.rejects(store.save(makeGrant()), StoreUnavailableError)
  finishWrite!()
  for (let i = 0; i < 50 && calls.length < 3; i++) await new Promise(resolve => setImmediate(resolve))
  t.strictSame(calls, ['CLAIM_USER_CODE', 'SAVE_RECORD', 'RELEASE_USER_CODE'])
})

t.test('reply errors: transient ones are outages, others are bugs', async t => {
  for (const message of ['LOADING Redis is loading the dataset in memory', 'BUSY Redis is busy running a script', 'TRYAGAIN Multiple keys request during rehashing of slot', 'CLUSTERDOWN The cluster is down', 'READONLY You can\'t write against a read only replica.', 'OOM command not allowed when used memory > \'maxmemory\'.']) {
    const { client } = fakeClient({ BIND_SUBJECT: async () => { throw new ReplyError(message) } })
    const err = await new RedisStore({ client }).bindSubject('h', { subject: 's', now: 1 }).catch((e: unknown) => e)
    t.type(err, StoreUnavailableError, message)
    t.type((err as Error).cause, ReplyError)
  }
  const { client } = fakeClient({ DECIDE: async () => { throw new ReplyError('ERR user_script:3: Script attempted to access nonexistent global variable') } })
  await t.rejects(new RedisStore({ client }).approve('h', { subject: 's', now: 1 }), { name: 'ReplyError' })
})

t.test('a client that rejects with a non-Error is still an outage', async t => {
  const { client } = fakeClient({ CLAIM: async () => { throw 'socket gone' } }) // eslint-disable-line no-throw-literal
  await t.rejects(new RedisStore({ client }).claim('h', 1), { name: 'StoreUnavailableError', message: /claim failed: socket gone/ })
})
