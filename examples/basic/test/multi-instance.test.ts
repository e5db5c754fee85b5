// Two real server processes of the example (`node dist/server.js`) on one shared store, the way
// they run behind a load balancer: a device talks to one, the person to the other, and the
// grant, the sign-in cookie and the CSRF tokens work across both, and the verification page's
// rate limit counts on both. On Redis, on PostgreSQL through node-postgres, and through Prisma.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { authorize, browser, DATABASE_URL, hidden, poll, REDIS_URL, REQUEST_TIMEOUT_MS, startServer, type ServerProcess } from './helpers.js'

// Four server starts and 50-poll bursts on a busy CI machine: more than tap's default 30 s.
t.setTimeout(180_000)

if (!existsSync(join(import.meta.dirname, '..', 'dist', 'server.js'))) {
  throw new Error('dist/server.js is missing: run `pnpm turbo run test --filter=example-basic` (test depends on build) or `pnpm --filter example-basic build` first')
}

// Shared by every instance, as in production: cookies, CSRF tokens and access tokens signed on
// one instance must verify on the others. The issuer is the public URL in front of them all.
const sharedEnv = {
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  JWT_SECRET: randomBytes(32).toString('base64url'),
  ISSUER: 'http://localhost:8080',
  DEVICE_GRANT_INTERVAL: '1'
}

/** Starts two instances together (they race to set the store up) and stops both at teardown, whatever happens. */
async function twoInstances (t: Test, env: Record<string, string>): Promise<[ServerProcess, ServerProcess]> {
  const started = await Promise.allSettled([startServer({ ...sharedEnv, ...env }), startServer({ ...sharedEnv, ...env })])
  for (const result of started) if (result.status === 'fulfilled') t.teardown(result.value.stop)
  const [a, b] = started
  if (a?.status !== 'fulfilled') throw a?.reason
  if (b?.status !== 'fulfilled') throw b?.reason
  t.teardown(() => {
    // On failure, what the servers printed is the first thing to read.
    if (t.passing()) return
    t.comment(`instance 1:\n${a.value.output()}`)
    t.comment(`instance 2:\n${b.value.output()}`)
  })
  return [a.value, b.value]
}

/** Signs in as demo/demo: the login form comes from `formFrom`, the credentials go to `postTo`. */
async function signIn (t: Test, user: ReturnType<typeof browser>, formFrom: string, postTo: string, returnTo: string) {
  const loginPage = await user(`${formFrom}/login?returnTo=${encodeURIComponent(returnTo)}`)
  t.equal(loginPage.status, 200, 'login page')
  const loggedIn = await user(`${postTo}/login`, { username: 'demo', password: 'demo', _csrf: hidden(loginPage.body, '_csrf'), returnTo: hidden(loginPage.body, 'returnTo') })
  t.equal(loggedIn.status, 303, 'signed in')
  return loggedIn.headers.get('location') ?? ''
}

async function scenarios (t: Test, env: Record<string, string>) {
  const [one, two] = await twoInstances(t, env)

  await t.test('authorized on instance 1, approved on instance 2: 50 concurrent polls on both, one token', async t => {
    const device = await authorize(one.base)
    t.equal((await poll(two.base, device.device_code)).body.error, 'authorization_pending', 'instance 2 knows the grant')

    const user = browser()
    const complete = new URL(device.verification_uri_complete)
    const toLogin = await user(`${two.base}${complete.pathname}${complete.search}`)
    t.equal(toLogin.status, 302, 'signed out: sent to log in')
    const loginPage = await user(`${two.base}${toLogin.headers.get('location') ?? ''}`)
    const loggedIn = await user(`${two.base}/login`, { username: 'demo', password: 'demo', _csrf: hidden(loginPage.body, '_csrf'), returnTo: hidden(loginPage.body, 'returnTo') })
    t.equal(loggedIn.status, 303, 'signed in')
    t.equal(loggedIn.headers.get('location'), `/device?user_code=${encodeURIComponent(device.user_code)}`, 'back to the code')
    const confirm = await user(`${two.base}${loggedIn.headers.get('location') ?? ''}`)
    t.equal(confirm.status, 200, 'confirm page')
    t.match(confirm.body, 'Demo TV is asking to sign in to your account.')
    const approved = await user(`${two.base}/device`, { user_code: device.user_code, decision: 'approve', csrf_token: hidden(confirm.body, 'csrf_token') })
    t.equal(approved.status, 200)
    t.match(approved.body, 'Device connected')

    const polls = await Promise.all(Array.from({ length: 50 }, async (_, i) => await poll(i % 2 === 0 ? one.base : two.base, device.device_code)))
    const winners = polls.filter(p => p.status === 200)
    t.equal(winners.length, 1, 'exactly one poll gets the token')
    t.equal(polls.filter(p => p.status === 400 && p.body.error === 'invalid_grant').length, 49, 'the 49 others: invalid_grant')
    const token = winners[0]?.body
    t.equal(token?.token_type, 'Bearer')
    t.ok((token?.access_token ?? '') !== '', 'an access token')

    for (const instance of [one, two]) {
      const later = await poll(instance.base, device.device_code)
      t.same({ status: later.status, error: later.body.error }, { status: 400, error: 'invalid_grant' }, `a later poll on ${instance === one ? 'instance 1' : 'instance 2'}`)
      const me = await fetch(`${instance.base}/api/me`, { headers: { authorization: `Bearer ${token?.access_token ?? ''}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      t.same(await me.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'read' }, 'the token works on either instance')
    }
  })

  await t.test('authorized on instance 2, denied on instance 1: access_denied on both', async t => {
    const device = await authorize(two.base)
    const user = browser()
    // The login form of instance 2 posted to instance 1: its CSRF token validates there too.
    const returnTo = await signIn(t, user, two.base, one.base, `/device?user_code=${encodeURIComponent(device.user_code)}`)
    const confirm = await user(`${one.base}${returnTo}`)
    t.equal(confirm.status, 200, 'confirm page on instance 1')
    const denied = await user(`${one.base}/device`, { user_code: device.user_code, decision: 'deny', csrf_token: hidden(confirm.body, 'csrf_token') })
    t.equal(denied.status, 200)
    t.match(denied.body, 'Request denied')
    for (const base of [two.base, one.base, two.base]) {
      const res = await poll(base, device.device_code)
      t.same({ status: res.status, error: res.body.error }, { status: 400, error: 'access_denied' })
    }
  })

  await t.test('a confirm page from instance 1 is decided on instance 2 with its CSRF token', async t => {
    const device = await authorize(one.base)
    const user = browser()
    const returnTo = await signIn(t, user, one.base, one.base, `/device?user_code=${encodeURIComponent(device.user_code)}`)
    const confirm = await user(`${one.base}${returnTo}`)
    const approved = await user(`${two.base}/device`, { user_code: device.user_code, decision: 'approve', csrf_token: hidden(confirm.body, 'csrf_token') })
    t.equal(approved.status, 200)
    t.match(approved.body, 'Device connected')
    t.equal((await poll(two.base, device.device_code)).status, 200)
  })

  // Last: it leaves this address blocked for the rest of the window (on this run's schema or prefix only).
  await t.test('wrong codes entered on instance 1 count on instance 2: the per-address limit is shared', async t => {
    const user = browser()
    await signIn(t, user, one.base, one.base, '/device')
    const wrongCode = () => Array.from({ length: 8 }, () => 'BCDFGHJKLMNPQRSTVWXZ'[randomBytes(1)[0]! % 20]).join('')
    // The plugin's default: 10 failed entries per address per 10 minutes.
    for (let i = 0; i < 10; i++) {
      const res = await user(`${one.base}/device?user_code=${wrongCode()}`)
      t.equal(res.status, 400, `wrong code ${i + 1} on instance 1: unknown code`)
    }
    const blocked = await user(`${two.base}/device?user_code=${wrongCode()}`)
    t.equal(blocked.status, 429, 'the next entry, on instance 2, is refused')
    t.ok(Number(blocked.headers.get('retry-after')) > 0, 'with Retry-After')
    t.equal((await user(`${one.base}/device?user_code=${wrongCode()}`)).status, 429, 'and on instance 1')
  })
}

t.test('Redis: two instances share one Redis', async t => {
  const prefix = `example-basic-test:${process.pid}:${randomBytes(4).toString('hex')}:`
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  t.teardown(async () => {
    // Only this run's keys: the server is shared with other tests (no FLUSHDB).
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
    await redis.quit()
  })
  await scenarios(t, { DEVICE_GRANT_STORE: 'redis', REDIS_URL, DEVICE_GRANT_REDIS_PREFIX: prefix })
  const [, keys] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000)
  t.ok(keys.length > 0, 'the grants lived under the test prefix')
})

for (const store of ['postgres', 'prisma'] as const) {
  t.test(`PostgreSQL (${store}): two instances share one table (created by whichever starts first)`, async t => {
    const schema = `example_basic_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: DATABASE_URL })
    await admin.connect()
    // Registered before the servers start, so it runs after they stop (teardowns run last-in first-out).
    t.teardown(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await admin.end()
    })
    await scenarios(t, { DEVICE_GRANT_STORE: store, DATABASE_URL, DEVICE_GRANT_PG_SCHEMA: schema })
    const { rows } = await admin.query<{ status: string, n: number }>(`SELECT status, count(*)::int AS n FROM "${schema}".device_grant GROUP BY status ORDER BY status`)
    t.same(rows, [{ status: 'consumed', n: 2 }, { status: 'denied', n: 1 }], 'the grants are rows of the private schema')
    const { rows: counters } = await admin.query<{ hits: string }>(`SELECT hits::text FROM "${schema}".device_grant_counter WHERE key = 'ip:127.0.0.1'`)
    t.same(counters, [{ hits: '10' }], 'the address\'s ten failures, counted in one row (refused entries only read it)')
  })
}
