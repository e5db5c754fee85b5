// Hostile input, property-based, on the two OAuth endpoints: thousands of generated requests
// (forms good and broken, media types, Authorization headers, methods, limits) against a real
// MemoryStore. Every answer must be a well-formed RFC 6749 §5.2 answer, never a 5xx, and a
// rejected request must leave the grants as they were. FUZZ_SEED=<n> replays a run.
import t from 'tap'
import fc from 'fast-check'
import { authorize, basic, buildApp, AWKWARD_SECRET, DEVICE_CODE_GRANT_TYPE, poll } from './helpers.js'
import {
  AUTHORIZATION_ERRORS, authorization, body, check, checkOAuthAnswer, checkUnchanged, contentType, eventCounter,
  fuzzSeed, headerText, huge, ip, nearValid, normalFlow, rawFragment, secret, snapshot, Tally, TOKEN_ERRORS
} from './fuzz-helpers.js'

// About 15 s alone: tap's 30 s per file is too tight when turbo runs every package at once on 2 cores.
t.setTimeout(180_000)
const RUNS = Number(process.env.FUZZ_RUNS ?? 7000)
const seed = fuzzSeed()
t.comment(`fast-check seed ${seed} (replay with FUZZ_SEED=${seed}), ${RUNS} runs`)

const events = eventCounter()
const { app, clock, store, issued } = await buildApp({ onEvent: events.onEvent })
t.teardown(() => app.close())

// Grants in every state, for the fuzzer to aim at. One was made ten minutes ago: expired.
clock.advance(-700)
const expired = await authorize(app)
clock.advance(700)
const pending = await authorize(app)
const polled = await authorize(app)
await poll(app, polled.device_code)
const approved = await authorize(app, { client_id: 'tv', scope: 'openid' })
await app.deviceGrant.approve(approved.user_code, 'alice')
const denied = await authorize(app)
await app.deviceGrant.deny(denied.user_code, 'alice')
const confidential = await authorize(app, { client_id: 'cli' }, { authorization: basic('cli', AWKWARD_SECRET) })
await app.deviceGrant.approve(confidential.user_code, 'bob')
const grants = [expired, pending, polled, approved, denied, confidential]
const known = { deviceCodes: grants.map(g => g.device_code), userCodes: grants.map(g => g.user_code) }

const maybeSecret = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: secret })
const clientIds = fc.constantFrom('tv', 'other-tv', 'cli', 'post-only', 'basic-only', 'web', 'nobody')
const validish = {
  '/token': nearValid(known, fc.tuple(fc.constantFrom(...known.deviceCodes), clientIds, maybeSecret)
    .map(([code, id, s]): Array<[string, string]> => [['grant_type', DEVICE_CODE_GRANT_TYPE], ['device_code', code], ['client_id', id], ...(s === undefined ? [] : [['client_secret', s] as [string, string]])])),
  '/device_authorization': nearValid(known, fc.tuple(clientIds, fc.option(fc.constantFrom('openid', 'read', 'openid profile', 'admin'), { nil: undefined }), maybeSecret)
    .map(([id, scope, s]): Array<[string, string]> => [['client_id', id], ...(scope === undefined ? [] : [['scope', scope] as [string, string]]), ...(s === undefined ? [] : [['client_secret', s] as [string, string]])]))
}

const request = fc.constantFrom('/token' as const, '/device_authorization' as const).chain(path => fc.record({
  method: fc.oneof({ weight: 12, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'HEAD') }),
  path: fc.constant(path),
  query: fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('?client_secret=zqsecret-q', '?client_id=cli', '?a=%ZZ', '?', '?__proto__=1', '?client_secret') },
    { weight: 1, arbitrary: fc.array(rawFragment, { maxLength: 6 }).map(fs => `?${fs.join('').replace(/[^\x21-\x7e]/g, '_')}`) }
  ),
  contentType,
  authorization: authorization(known),
  userAgent: fc.option(fc.oneof(headerText(), huge.map(h => h.replace(/[^\x20-\x7e]/g, 'u'))), { nil: undefined }),
  body: fc.oneof({ weight: 4, arbitrary: validish[path] }, { weight: 1, arbitrary: body(known) }),
  ip
}))

const tally = new Tally()

await t.test(`${RUNS} generated requests to the OAuth endpoints`, async t => {
  await fc.assert(fc.asyncProperty(request, async r => {
    const headers: Record<string, string> = {}
    if (r.contentType !== undefined) headers['content-type'] = r.contentType
    if (r.authorization !== undefined) headers.authorization = r.authorization
    if (r.userAgent !== undefined) headers['user-agent'] = r.userAgent
    const before = await snapshot(store, known.deviceCodes)
    const counts = { ...events.counts }
    const res = await app.inject({
      method: r.method as 'POST',
      url: r.path + r.query,
      remoteAddress: r.ip,
      headers,
      ...(r.body !== undefined && { payload: r.body })
    })
    const allowed = r.path === '/token' ? TOKEN_ERRORS : AUTHORIZATION_ERRORS
    const error = checkOAuthAnswer(res, allowed, r.method === 'HEAD')
    tally.add(`${r.path} ${res.statusCode}${error === undefined ? '' : ` ${error}`}${process.env.FUZZ_VERBOSE === undefined || r.method === 'HEAD' ? '' : ` ${String(res.json().error_description)}`}`, res.statusCode)
    if (res.statusCode === 200) {
      if (r.method === 'HEAD') return
      const json = res.json()
      if (r.path === '/token') check(typeof json.access_token === 'string', 'a 200 carries a token', res)
      else check(typeof json.device_code === 'string' && typeof json.user_code === 'string', 'a 200 carries codes', res)
      return
    }
    checkUnchanged(before, await snapshot(store, known.deviceCodes), error === 'authorization_pending' || error === 'slow_down')
    for (const type of ['authorization.created', 'token.issued', 'grant.approved', 'grant.denied']) {
      check(events.counts[type] === counts[type], `a rejected request emitted ${type}`, res)
    }
  }), { numRuns: RUNS, seed, endOnFailure: true })
  t.comment(`${tally.cases} cases: ${tally}`)
  t.equal(tally.fiveXX, 0, 'no 5xx')
  t.equal(tally.cases, RUNS)
})

t.test('no grant was redeemed twice, and the server still serves a normal flow', async t => {
  const perGrant = new Map<string, number>()
  for (const i of issued) perGrant.set(i.grant.deviceCodeHash, (perGrant.get(i.grant.deviceCodeHash) ?? 0) + 1)
  t.ok([...perGrant.values()].every(n => n === 1), `${issued.length} tokens issued, each for a different grant`)
  const token = await normalFlow(app, async userCode => {
    t.equal((await app.deviceGrant.approve(userCode, 'carol')).ok, true)
  })
  t.type(token, 'string')
  t.equal((await poll(app, denied.device_code)).json().error, 'access_denied', 'a denied grant is still denied')
  t.equal((await poll(app, expired.device_code)).json().error, 'expired_token', 'an expired one still expired')
})
