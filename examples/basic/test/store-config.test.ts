import t from 'tap'
import { buildApp } from '../src/app.js'
import { readConfig, readStoreConfig } from '../src/config.js'
import { freePort } from './helpers.js'

t.test('DEVICE_GRANT_STORE picks the store, with the documented defaults', async t => {
  t.equal(readStoreConfig({}), undefined, 'unset: the memory store')
  t.equal(readConfig({}).store, undefined)
  t.same(readStoreConfig({ DEVICE_GRANT_STORE: 'memory', REDIS_URL: 'redis://ignored' }), { kind: 'memory' })
  t.same(readStoreConfig({ DEVICE_GRANT_STORE: 'redis' }), { kind: 'redis', url: 'redis://127.0.0.1:6379' })
  t.same(readStoreConfig({ DEVICE_GRANT_STORE: 'redis', REDIS_URL: 'redis://cache:6380/2', DEVICE_GRANT_REDIS_PREFIX: 'tv:' }), { kind: 'redis', url: 'redis://cache:6380/2', keyPrefix: 'tv:' })
  t.same(readStoreConfig({ DEVICE_GRANT_STORE: 'prisma' }), { kind: 'prisma', url: 'postgresql://postgres@127.0.0.1:5432/test' })
  t.same(readConfig({ DEVICE_GRANT_STORE: 'prisma', DATABASE_URL: 'postgresql://db/app', DEVICE_GRANT_PG_SCHEMA: 'auth' }).store, { kind: 'prisma', url: 'postgresql://db/app', schema: 'auth' })
  t.same(readStoreConfig({ DEVICE_GRANT_STORE: 'postgres', DEVICE_GRANT_PG_SCHEMA: 'auth' }), { kind: 'postgres', url: 'postgresql://postgres@127.0.0.1:5432/test', schema: 'auth' })
  t.throws(() => readStoreConfig({ DEVICE_GRANT_STORE: 'mongo' }), /DEVICE_GRANT_STORE must be one of memory, redis, postgres, prisma/)
  for (const schema of ['Auth', 'auth-x', 'a"; DROP TABLE x; --', '1abc']) {
    t.throws(() => readStoreConfig({ DEVICE_GRANT_STORE: 'prisma', DEVICE_GRANT_PG_SCHEMA: schema }), /DEVICE_GRANT_PG_SCHEMA must be a lowercase identifier/, schema)
    t.throws(() => readStoreConfig({ DEVICE_GRANT_STORE: 'postgres', DEVICE_GRANT_PG_SCHEMA: schema }), /DEVICE_GRANT_PG_SCHEMA must be a lowercase identifier/, schema)
  }
})

t.test('an unreachable PostgreSQL fails the start, with the reason', async t => {
  const port = await freePort()
  const err = await buildApp(readConfig({ DEVICE_GRANT_STORE: 'postgres', DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/test` })).then(() => undefined, (e: unknown) => e)
  t.match(err, { code: 'ECONNREFUSED' })
})

t.test('an unreachable Redis fails the start, with the reason', async t => {
  const port = await freePort()
  const err = await buildApp(readConfig({ DEVICE_GRANT_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${port}` })).then(() => undefined, (e: unknown) => e)
  t.match(err, { message: 'DEVICE_GRANT_STORE=redis: cannot connect to REDIS_URL', cause: { code: 'ECONNREFUSED' } })
})

t.test('a key prefix the Redis store refuses fails the start before connecting', async t => {
  const err = await buildApp(readConfig({ DEVICE_GRANT_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1', DEVICE_GRANT_REDIS_PREFIX: 'app{1}:' })).then(() => undefined, (e: unknown) => e)
  t.type(err, TypeError)
  t.match(err, { message: /keyPrefix/ })
})
