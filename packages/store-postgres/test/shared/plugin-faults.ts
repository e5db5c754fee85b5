// PostgreSQL connections killed (pg_terminate_backend) mid-flow, through the whole plugin
// (fastify-device-grant on the store): a 503 with Retry-After or a transparent retry, never a
// hang, never a second token, and the flow completes afterwards. (It lives with the stores rather
// than in fastify-device-grant, which does not depend on any store: fastify-device-grant is a
// devDependency of the stores, not the other way round.)
import type { LightMyRequestResponse } from 'fastify'
import type { PgStoreHarness, Tap } from './harness.js'
import { FaultyPlugin } from './faulty-plugin.js'

type Assert = Pick<Tap, 'ok'>

/** A 503 with Retry-After, or the answer the request would have had (on a fresh connection). */
function unavailableOr (t: Assert, res: LightMyRequestResponse, ok: number[], what: string): void {
  if (res.statusCode === 503) t.ok(Number(res.headers['retry-after']) > 0, `${what}: 503 with Retry-After`)
  else t.ok(ok.includes(res.statusCode), `${what}: answered ${res.statusCode} (a fresh connection, or a retry)`)
}

export async function pluginFaultTests (t: Tap, h: PgStoreHarness): Promise<void> {
  // Waits for locks and reconnections: more than tap's 30 s default under load.
  t.setTimeout(180_000)
  const plugin = await FaultyPlugin.start(h.db, h.store)
  t.teardown(() => plugin.app.close())
  statementKillTests(t, plugin)
  idleKillTests(t, plugin)
}

function statementKillTests (t: Tap, p: FaultyPlugin): void {
  t.test('the connection dies during the poll\'s first statement', async t => {
    const auth = await p.authorize()
    t.equal((await p.app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
    const lock = await p.lockRow(auth.device_code)
    const pending = p.poll(auth.device_code)
    t.ok(await p.killWaiting() >= 1, 'killed the poll\'s backend while it waited')
    const res = await pending
    await lock.release()
    unavailableOr(t, res, [200], 'the poll')
    const after = res.statusCode === 200 ? res : await p.pollThrough(auth.device_code)
    t.equal(after.statusCode, 200, 'the approved grant redeems once the database answers')
    t.equal((await p.poll(auth.device_code)).json().error, 'invalid_grant', 'and only once')
    t.equal(p.issued.filter(i => i.grant.userCode === auth.user_code.replace('-', '')).length, 1, 'one token')
  })

  t.test('the connection dies during the claim: no token, then exactly one', async t => {
    const auth = await p.authorize()
    t.equal((await p.app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
    let lock: { release: () => Promise<void> } | undefined
    p.beforeClaim = async () => { lock = await p.lockRow(auth.device_code) }
    const pending = p.poll(auth.device_code)
    t.ok(await p.killWaiting() >= 1, 'killed the claim\'s backend while it waited')
    const res = await pending
    await lock?.release()
    unavailableOr(t, res, [200], 'the poll')
    const before = p.issued.length
    const after = res.statusCode === 200 ? res : await p.pollThrough(auth.device_code)
    t.equal(after.statusCode, 200, 'the killed claim was rolled back: the next poll wins it')
    t.equal((await p.poll(auth.device_code)).json().error, 'invalid_grant')
    t.equal(p.issued.length, before + (res.statusCode === 200 ? 0 : 1), 'one token in all')
  })

  t.test('the connection dies during the approval: not acknowledged, not applied, and it can be done again', async t => {
    const auth = await p.authorize()
    const { open, decide } = await p.approvalForm(auth.user_code, 'alice')
    t.equal(open.statusCode, 200)
    const lock = await p.lockRow(auth.device_code)
    const pending = decide()
    t.ok(await p.killWaiting() >= 1, 'killed the approval\'s backend while it waited')
    const res = await pending
    await lock.release()
    unavailableOr(t, res, [200], 'the decision')
    if (res.statusCode === 503) {
      t.match(res.headers['content-type'], /^text\/html/, 'a page, not a crash')
      t.equal((await p.app.deviceGrant.lookup(auth.user_code))?.state, 'pending', 'a decision the user was not told about did not happen')
      t.equal((await decide()).statusCode, 200, 'and the user can simply approve again')
    }
    t.equal((await p.pollThrough(auth.device_code)).statusCode, 200)
  })
}

function idleKillTests (t: Tap, p: FaultyPlugin): void {
  t.test('every idle connection is killed between requests: no hang, then the flow completes', async t => {
    const auth = await p.authorize()
    // Fill the pool with idle connections, then kill them all.
    await Promise.all(Array.from({ length: 10 }, async () => await p.poll(auth.device_code)))
    const killed = await p.killIdle()
    t.ok(killed >= 1, `killed ${killed} idle backends`)
    const answers = await Promise.all(Array.from({ length: 10 }, async () => await p.poll(auth.device_code)))
    for (const res of answers) unavailableOr(t, res, [400], 'a poll on a dead connection')
    t.equal((await p.app.deviceGrant.approve(auth.user_code, 'alice')).ok, true)
    t.equal((await p.pollThrough(auth.device_code)).statusCode, 200)
    t.equal((await p.poll(auth.device_code)).json().error, 'invalid_grant')
  })

  t.test('in all: one token per approved grant', async t => {
    const perGrant = new Map<string, number>()
    for (const i of p.issued) perGrant.set(i.grant.deviceCodeHash, (perGrant.get(i.grant.deviceCodeHash) ?? 0) + 1)
    t.equal(p.issued.length, 4)
    t.ok([...perGrant.values()].every(n => n === 1), 'never two tokens for one grant')
  })
}
