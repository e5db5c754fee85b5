// PostgreSQL connections killed (pg_terminate_backend) mid-flow, through the whole plugin
// (fastify-device-grant on the store): a 503 with Retry-After or a transparent retry, never a
// hang, never a second token, and the flow completes afterwards. (It lives with the stores rather
// than in fastify-device-grant, which does not depend on any store: fastify-device-grant is a
// devDependency of the stores, not the other way round.)
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE, type DeviceGrantStore, type IssueTokenInput } from 'fastify-device-grant'
import { hashDeviceCode } from '@device-grant/core'
import type { PgStoreHarness, Tap } from './harness.js'
import { waitForLockWait, within } from './fixtures.js'

export async function pluginFaultTests (t: Tap, h: PgStoreHarness): Promise<void> {
  // Waits for locks and reconnections: more than tap's 30 s default under load.
  t.setTimeout(180_000)
  const { db, store } = h
  type Assert = Pick<typeof t, 'ok'>
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  // Generous: "never a hang" is the point, not speed on a loaded machine.
  const HANG = 15_000

  /** Before the next `claim` (only), `beforeClaim` runs: the test takes the row lock there. */
  let beforeClaim: (() => Promise<void>) | undefined
  const wrapped: DeviceGrantStore = {
    capabilities: store.capabilities,
    save: g => store.save(g),
    findByDeviceCodeHash: h => store.findByDeviceCodeHash(h),
    findByUserCode: c => store.findByUserCode(c),
    recordPoll: (h, p) => store.recordPoll(h, p),
    bindSubject: (h, d) => store.bindSubject(h, d),
    approve: (h, a) => store.approve(h, a),
    deny: (h, d) => store.deny(h, d),
    claim: async (h, now) => {
      const hook = beforeClaim
      beforeClaim = undefined
      await hook?.()
      return await store.claim(h, now)
    }
  }

  const issued: IssueTokenInput[] = []
  const app: FastifyInstance = Fastify()
  await app.register(deviceGrant, {
    issuer: 'http://127.0.0.1',
    clients: [{ clientId: 'tv' }],
    store: wrapped,
    authenticate: request => String(request.headers['x-user'] ?? ''),
    pages: { csrfSecret: 'a-csrf-secret-that-is-long-enough-for-the-plugin' },
    issueToken: input => {
      issued.push(input)
      return { access_token: `at-${issued.length}`, token_type: 'Bearer' }
    }
  })
  await app.ready()
  t.teardown(() => app.close())

  async function authorize (): Promise<{ device_code: string, user_code: string }> {
    const res = await within(HANG, app.inject({ method: 'POST', url: '/device_authorization', headers: form, payload: 'client_id=tv' }))
    if (res.statusCode !== 200) throw new Error(`authorize: ${res.statusCode} ${res.body}`)
    return res.json()
  }

  async function poll (deviceCode: string): Promise<LightMyRequestResponse> {
    return await within(HANG, app.inject({ method: 'POST', url: '/token', headers: form, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=tv&device_code=${deviceCode}` }))
  }

  /** Holds the grant's row lock in a transaction of the admin connection until `release`. */
  async function lockRow (deviceCode: string): Promise<{ release: () => Promise<void> }> {
    await db.admin.query('BEGIN')
    await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [hashDeviceCode(deviceCode)])
    return { release: async () => { await db.admin.query('ROLLBACK') } }
  }

  /** Kills the store's backends that wait for that lock: the statement dies mid-flight. */
  async function killWaiting (): Promise<number> {
    await waitForLockWait(db.admin, db.applicationName)
    const { rows } = await db.admin.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [db.applicationName])
    return rows[0]?.n ?? 0
  }

  /** A 503 with Retry-After, or the answer the request would have had (on a fresh connection). */
  function unavailableOr (t: Assert, res: LightMyRequestResponse, ok: number[], what: string) {
    if (res.statusCode === 503) t.ok(Number(res.headers['retry-after']) > 0, `${what}: 503 with Retry-After`)
    else t.ok(ok.includes(res.statusCode), `${what}: answered ${res.statusCode} (a fresh connection, or a retry)`)
  }

  /** Polls until the store answers again (not 503), bounded. */
  async function pollThrough (deviceCode: string): Promise<LightMyRequestResponse> {
    for (let i = 0; i < 100; i++) {
      const res = await poll(deviceCode)
      if (res.statusCode !== 503) return res
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error('the store never came back')
  }

  t.test('the connection dies during the poll\'s first statement', async t => {
    const auth = await authorize()
    t.equal((await app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
    const lock = await lockRow(auth.device_code)
    const pending = poll(auth.device_code)
    t.ok(await killWaiting() >= 1, 'killed the poll\'s backend while it waited')
    const res = await pending
    await lock.release()
    unavailableOr(t, res, [200], 'the poll')
    const after = res.statusCode === 200 ? res : await pollThrough(auth.device_code)
    t.equal(after.statusCode, 200, 'the approved grant redeems once the database answers')
    t.equal((await poll(auth.device_code)).json().error, 'invalid_grant', 'and only once')
    t.equal(issued.filter(i => i.grant.userCode === auth.user_code.replace('-', '')).length, 1, 'one token')
  })

  t.test('the connection dies during the claim: no token, then exactly one', async t => {
    const auth = await authorize()
    t.equal((await app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
    let lock: { release: () => Promise<void> } | undefined
    beforeClaim = async () => { lock = await lockRow(auth.device_code) }
    const pending = poll(auth.device_code)
    t.ok(await killWaiting() >= 1, 'killed the claim\'s backend while it waited')
    const res = await pending
    await lock?.release()
    unavailableOr(t, res, [200], 'the poll')
    const before = issued.length
    const after = res.statusCode === 200 ? res : await pollThrough(auth.device_code)
    t.equal(after.statusCode, 200, 'the killed claim was rolled back: the next poll wins it')
    t.equal((await poll(auth.device_code)).json().error, 'invalid_grant')
    t.equal(issued.length, before + (res.statusCode === 200 ? 0 : 1), 'one token in all')
  })

  t.test('the connection dies during the approval: not acknowledged, not applied, and it can be done again', async t => {
    const auth = await authorize()
    const headers = { 'x-user': 'alice' }
    const open = await within(HANG, app.inject({ url: `/device?user_code=${auth.user_code}`, headers }))
    t.equal(open.statusCode, 200)
    const cookie = String([open.headers['set-cookie']].flat()[0]).split(';')[0] as string
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(open.body)?.[1] as string
    const decide = async () => await within(HANG, app.inject({
      method: 'POST',
      url: '/device',
      headers: { ...headers, ...form, cookie },
      payload: `user_code=${auth.user_code}&decision=approve&csrf_token=${csrf}`
    }))
    const lock = await lockRow(auth.device_code)
    const pending = decide()
    t.ok(await killWaiting() >= 1, 'killed the approval\'s backend while it waited')
    const res = await pending
    await lock.release()
    unavailableOr(t, res, [200], 'the decision')
    if (res.statusCode === 503) {
      t.match(res.headers['content-type'], /^text\/html/, 'a page, not a crash')
      t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'pending', 'a decision the user was not told about did not happen')
      t.equal((await decide()).statusCode, 200, 'and the user can simply approve again')
    }
    t.equal((await pollThrough(auth.device_code)).statusCode, 200)
  })

  t.test('every idle connection is killed between requests: no hang, then the flow completes', async t => {
    const auth = await authorize()
    // Fill the pool with idle connections, then kill them all.
    await Promise.all(Array.from({ length: 10 }, async () => await poll(auth.device_code)))
    const { rows } = await db.admin.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'", [db.applicationName])
    t.ok((rows[0]?.n ?? 0) >= 1, `killed ${rows[0]?.n} idle backends`)
    const answers = await Promise.all(Array.from({ length: 10 }, async () => await poll(auth.device_code)))
    for (const res of answers) unavailableOr(t, res, [400], 'a poll on a dead connection')
    t.equal((await app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
    t.equal((await pollThrough(auth.device_code)).statusCode, 200)
    t.equal((await poll(auth.device_code)).json().error, 'invalid_grant')
  })

  t.test('in all: one token per approved grant', async t => {
    const perGrant = new Map<string, number>()
    for (const i of issued) perGrant.set(i.grant.deviceCodeHash, (perGrant.get(i.grant.deviceCodeHash) ?? 0) + 1)
    t.equal(issued.length, 4)
    t.ok([...perGrant.values()].every(n => n === 1), 'never two tokens for one grant')
  })
}
