// Faults through the whole plugin (fastify-device-grant on this store), not just the store:
// Redis killed and restarted mid-flow, and Redis made slow. Requests fail fast with 503 and
// Retry-After, nothing is issued twice, an approval the user was told about survives the
// restart (the server runs with appendfsync always), and the flow completes once Redis is back.
// (It lives here rather than in fastify-device-grant because it needs this package's server
// helpers; fastify-device-grant is a devDependency of this package, not the other way round.)
import t from 'tap'
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE, type IssueTokenInput } from 'fastify-device-grant'
import { RedisStore } from '../src/index.js'
import { connect, eventually, ready, RECOMMENDED, RedisServer, timed } from './helpers.js'

// Several private servers started, killed and restarted: more than tap's 30 s default under load.
t.setTimeout(180_000)
const OPERATION_TIMEOUT = 1000
// A generous fail-fast bound for a loaded 2-core machine: "bounded", not "fast".
const BOUND = OPERATION_TIMEOUT + 2000
const CSRF_SECRET = 'a-csrf-secret-that-is-long-enough-for-the-plugin'
const form = { 'content-type': 'application/x-www-form-urlencoded' }

interface Harness {
  app: FastifyInstance
  issued: IssueTokenInput[]
}

async function plugin (t: { teardown: (fn: () => unknown) => void }, store: RedisStore, onIssue?: () => Promise<void>): Promise<Harness> {
  const issued: IssueTokenInput[] = []
  const app = Fastify()
  await app.register(deviceGrant, {
    issuer: 'http://127.0.0.1',
    clients: [{ clientId: 'tv' }],
    store,
    authenticate: request => String(request.headers['x-user'] ?? ''),
    pages: { csrfSecret: CSRF_SECRET },
    issueToken: async input => {
      issued.push(input)
      await onIssue?.()
      return { access_token: `at-${issued.length}`, token_type: 'Bearer' }
    }
  })
  await app.ready()
  t.teardown(() => app.close())
  return { app, issued }
}

async function authorize (app: FastifyInstance): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/device_authorization', headers: form, payload: 'client_id=tv' })
}

async function poll (app: FastifyInstance, deviceCode: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/token', headers: form, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=tv&device_code=${deviceCode}` })
}

/** The user approves through the pages and is shown "Device connected": an acknowledged approval. */
async function approveThroughPages (app: FastifyInstance, userCode: string): Promise<LightMyRequestResponse> {
  const open = await app.inject({ url: `/device?user_code=${userCode}`, headers: { 'x-user': 'alice' } })
  if (open.statusCode !== 200) return open
  const cookie = String([open.headers['set-cookie']].flat()[0]).split(';')[0] as string
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(open.body)?.[1] as string
  return await app.inject({
    method: 'POST',
    url: '/device',
    headers: { ...form, cookie, 'x-user': 'alice' },
    payload: `user_code=${userCode}&decision=approve&csrf_token=${csrf}`
  })
}

/** Polls until the answer is not a 503 (Redis coming back), at most `ms`. */
async function pollThrough (app: FastifyInstance, deviceCode: string, ms = 15_000): Promise<{ res: LightMyRequestResponse, unavailable: number }> {
  let unavailable = 0
  const res = await eventually(async () => {
    const res = await poll(app, deviceCode)
    if (res.statusCode === 503) {
      unavailable++
      throw new Error('still 503')
    }
    return res
  }, ms, 100)
  return { res, unavailable }
}

function is503 (t: Pick<typeof import('tap').default, 'equal' | 'ok'>, res: LightMyRequestResponse, ms: number, what: string) {
  t.equal(res.statusCode, 503, `${what}: 503`)
  t.ok(Number(res.headers['retry-after']) > 0, `${what}: Retry-After ${String(res.headers['retry-after'])}`)
  t.ok(ms < BOUND, `${what}: answered in ${Math.round(ms)} ms (< ${BOUND})`)
}

t.test('Redis killed mid-flow and restarted: 503s, then the flow completes, nothing lost, nothing twice', async t => {
  // appendfsync always: Redis acknowledges a write only once it is on disk, so a restart keeps
  // every approval (and every claim) it ever acknowledged.
  const server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always'])
  const client = connect(server.url, RECOMMENDED)
  t.teardown(async () => {
    client.disconnect()
    await server.destroy()
  })
  await ready(client)
  const { app, issued } = await plugin(t, new RedisStore({ client, keyPrefix: 'faults:', operationTimeout: OPERATION_TIMEOUT }))

  const approved = (await authorize(app)).json()
  const pending = (await authorize(app)).json()
  const acknowledged = await approveThroughPages(app, approved.user_code)
  t.equal(acknowledged.statusCode, 200)
  t.match(acknowledged.body, 'Device connected', 'the user was told the device is connected')

  await server.stop() // SIGKILL: no chance to flush anything it had not already
  for (const [what, run] of [
    ['poll of the approved grant', () => poll(app, approved.device_code)],
    ['poll of the pending grant', () => poll(app, pending.device_code)],
    ['device authorization', () => authorize(app)]
  ] as const) {
    const { ms, value } = await timed(run)
    is503(t, value as LightMyRequestResponse, ms, what)
  }
  const page = await timed(() => app.inject({ url: `/device?user_code=${pending.user_code}`, headers: { 'x-user': 'alice' } }))
  is503(t, page.value as LightMyRequestResponse, page.ms, 'the confirm page')
  t.match((page.value as LightMyRequestResponse).headers['content-type'], /^text\/html/)
  const refused = await timed(() => app.deviceGrant.approve(pending.user_code, 'alice'))
  t.match(refused.error, { name: 'StoreUnavailableError' }, 'an approval while Redis is down is refused, not acknowledged')
  t.equal(issued.length, 0, 'nothing issued while down')

  await server.start() // same port, same directory: the append-only file is replayed
  const first = await pollThrough(app, approved.device_code)
  t.equal(first.res.statusCode, 200, `the acknowledged approval survived the restart (${first.unavailable} more 503s while reconnecting)`)
  t.equal(first.res.json().access_token, 'at-1')
  t.equal((await poll(app, approved.device_code)).json().error, 'invalid_grant', 'and redeems exactly once')
  t.equal((await app.deviceGrant.lookup(pending.user_code))?.state, 'pending', 'the refused approval never landed')
  t.equal((await app.deviceGrant.approve(pending.user_code, 'alice')).ok, true)
  t.equal((await pollThrough(app, pending.device_code)).res.statusCode, 200, 'the flow completes once Redis is back')
  t.equal(issued.length, 2, 'two grants, two tokens')
})

t.test('Redis killed while 30 polls race for one approved grant, as the winner mints: never two tokens', async t => {
  const server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always'])
  const client = connect(server.url, RECOMMENDED)
  t.teardown(async () => {
    client.disconnect()
    await server.destroy()
  })
  await ready(client)
  // The kill lands while the other polls are somewhere between their first and last command.
  const { app, issued } = await plugin(t, new RedisStore({ client, keyPrefix: 'race:', operationTimeout: OPERATION_TIMEOUT }), async () => { await server.stop() })
  const auth = (await authorize(app)).json()
  t.equal((await app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)

  // Staggered, so that some polls are done, some in flight and some not yet sent at the kill.
  const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    await new Promise(resolve => setTimeout(resolve, i))
    return await poll(app, auth.device_code)
  }))
  const statuses = answers.map(r => r.statusCode)
  t.ok(answers.every(r => r.statusCode === 200 || r.statusCode === 503 || r.json().error === 'invalid_grant'), `during the kill: ${JSON.stringify(statuses)}`)
  await server.start()
  const after = await pollThrough(app, auth.device_code)
  t.equal(statuses.filter(s => s === 200).length, 1, 'the winner got its token')
  t.equal(after.res.json().error, 'invalid_grant', 'after the restart the claim is still there: no second token')
  t.equal(issued.length, 1, 'issueToken ran once')
  t.comment(`race: ${statuses.filter(s => s === 503).length} × 503, ${statuses.filter(s => s === 400).length} × invalid_grant, 1 token; after the restart: ${after.res.json().error}`)
})

/** A TCP proxy that delays every chunk by `delay` ms, in order: Redis made slow. */
async function latencyProxy (targetPort: number): Promise<{ port: number, delay: number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const proxy = { port: 0, delay: 0, close: async () => {} }
  const pipe = (from: Socket, to: Socket) => {
    let last = 0
    from.on('data', chunk => {
      // Never earlier than the chunk before it: changing the delay must not reorder the stream.
      const at = Math.max(Date.now() + proxy.delay, last)
      last = at
      setTimeout(() => { if (!to.destroyed) to.write(chunk) }, at - Date.now())
    })
  }
  const server: Server = createServer(downstream => {
    const upstream = tcpConnect(targetPort, '127.0.0.1')
    for (const s of [downstream, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        downstream.destroy()
        upstream.destroy()
      })
    }
    pipe(downstream, upstream)
    pipe(upstream, downstream)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  proxy.port = (server.address() as { port: number }).port
  proxy.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
  }
  return proxy
}

t.test('a slow Redis: requests fail within operationTimeout with 503, then work again', async t => {
  const server = await RedisServer.start()
  const proxy = await latencyProxy(server.port)
  const client = connect(`redis://127.0.0.1:${proxy.port}`, RECOMMENDED)
  t.teardown(async () => {
    client.disconnect()
    await proxy.close()
    await server.destroy()
  })
  await ready(client)
  const timeout = 500
  const { app, issued } = await plugin(t, new RedisStore({ client, keyPrefix: 'slow:', operationTimeout: timeout }))
  const auth = (await authorize(app)).json()
  t.equal((await app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)

  proxy.delay = 3000
  for (const [what, run] of [
    ['poll', () => poll(app, auth.device_code)],
    ['device authorization', () => authorize(app)],
    ['confirm page', () => app.inject({ url: `/device?user_code=${auth.user_code}`, headers: { 'x-user': 'alice' } })]
  ] as const) {
    const { ms, value } = await timed(run)
    const res = value as LightMyRequestResponse
    t.equal(res.statusCode, 503, `${what}: 503`)
    t.ok(Number(res.headers['retry-after']) > 0, `${what}: Retry-After`)
    t.ok(ms < timeout + 2000, `${what}: gave up after ${Math.round(ms)} ms (operationTimeout ${timeout}; Redis would take 6000)`)
  }
  t.equal(issued.length, 0)

  proxy.delay = 0
  // Commands sent during the slow spell still reach Redis, late: wait for them to drain (a
  // poll sent into that queue could have its claim land after its own deadline: next test).
  await eventually(async () => {
    const { ms } = await timed(() => client.ping())
    if (ms > 100) throw new Error(`ping took ${Math.round(ms)} ms`)
  }, 20_000, 100)
  const res = await poll(app, auth.device_code)
  t.equal(res.statusCode, 200, 'once Redis answers in time again, the approved grant redeems')
  t.equal((await poll(app, auth.device_code)).json().error, 'invalid_grant')
  t.equal(issued.length, 1, 'exactly once')
})

t.test('a claim that reaches Redis after its deadline: the grant is used up, no token at all, never two', async t => {
  const server = await RedisServer.start()
  const proxy = await latencyProxy(server.port)
  const client = connect(`redis://127.0.0.1:${proxy.port}`, RECOMMENDED)
  t.teardown(async () => {
    client.disconnect()
    await proxy.close()
    await server.destroy()
  })
  await ready(client)
  const store = new RedisStore({ client, keyPrefix: 'late:', operationTimeout: 500 })
  // Redis turns slow exactly between the poll's two round trips: the claim is sent, times out.
  const claim = store.claim.bind(store)
  store.claim = async (hash, now) => {
    proxy.delay = 1500
    return await claim(hash, now)
  }
  const { app, issued } = await plugin(t, store)
  const auth = (await authorize(app)).json()
  t.equal((await app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
  t.equal((await poll(app, auth.device_code)).statusCode, 503, 'the claim timed out: 503')
  proxy.delay = 0
  await eventually(async () => {
    const { ms } = await timed(() => client.ping())
    if (ms > 100) throw new Error(`ping took ${Math.round(ms)} ms`)
  }, 20_000, 100)
  const after = await poll(app, auth.device_code)
  t.equal(issued.length, after.statusCode === 200 ? 1 : 0, 'a token only if the retry won the claim')
  // Today the late claim lands and wins: the user approved, the device hears invalid_grant
  // and must start over. Safe (no second token), but the approval is lost (see SECURITY.md).
  t.equal(after.json().error, 'invalid_grant', 'the late claim consumed the grant')
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'consumed')
})
