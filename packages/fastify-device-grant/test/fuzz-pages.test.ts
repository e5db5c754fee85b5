// Hostile input, property-based, on the verification pages: codes typed every which way, forged
// and broken forms, odd sessions, cookies and languages. Every answer must be an HTML page with
// the security headers (or the login redirect), never a 5xx, and a refused request must decide,
// bind or create nothing. FUZZ_SEED=<n> replays a run.
import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authorize, buildApp, type TestApp } from './helpers.js'
import {
  check, checkPage, checkUnchanged, contentType, eventCounter, formEncode, fuzzSeed, headerText, huge, ip, nasty,
  nearValid, normalFlow, rawFragment, snapshot, Tally, value, type Known
} from './fuzz-helpers.js'

// About 15 s alone: tap's 30 s per file is too tight when turbo runs every package at once on 2 cores.
t.setTimeout(180_000)
const RUNS = Number(process.env.FUZZ_RUNS_PAGES ?? 2500)
const seed = fuzzSeed()
t.comment(`fast-check seed ${seed} (replay with FUZZ_SEED=${seed}), ${RUNS} runs`)

/** Signed in as whoever `x-user` names, as pages.test.ts does; otherwise sent to log in. */
function authenticate (request: FastifyRequest, reply: FastifyReply): string | undefined {
  const user = request.headers['x-user']
  if (typeof user === 'string' && user !== '') return user
  reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`)
  return undefined
}

interface Target extends TestApp {
  known: Known
  counts: Record<string, number>
  /** alice's CSRF cookie and form token, so some forged-looking posts are in fact valid. */
  cookie: string
  csrf: string
}

async function target (rateLimit: boolean): Promise<Target> {
  const events = eventCounter()
  const built = await buildApp({ authenticate, onEvent: events.onEvent, ...(rateLimit ? {} : { pages: { rateLimit: false } }) })
  const { app, clock } = built
  clock.advance(-700)
  const expired = await authorize(app)
  clock.advance(700)
  const pending = await authorize(app)
  const bound = await authorize(app)
  const open = await app.inject({ url: `/device?user_code=${bound.user_code}`, headers: { 'x-user': 'alice' }, remoteAddress: '192.0.2.1' })
  const cookie = String([open.headers['set-cookie']].flat()[0]).split(';')[0] as string
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(open.body)?.[1] as string
  const approved = await authorize(app)
  await app.deviceGrant.approve(approved.user_code, 'alice')
  const denied = await authorize(app)
  await app.deviceGrant.deny(denied.user_code, 'bob')
  const grants = [expired, pending, bound, approved, denied]
  return { ...built, counts: events.counts, cookie, csrf, known: { deviceCodes: grants.map(g => g.device_code), userCodes: grants.map(g => g.user_code) } }
}

const limited = await target(true)
const unlimited = await target(false)
t.teardown(() => Promise.all([limited.app.close(), unlimited.app.close()]))

/** A user code as a person might type it, or mangle it. */
function typed (known: Known): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom(...known.userCodes), fc.constantFrom('as-is', 'lower', 'spaced', 'bare', 'dotted')).map(([c, how]) => {
        const raw = c.replace('-', '')
        return how === 'lower' ? c.toLowerCase() : how === 'spaced' ? `${raw.slice(0, 4)} ${raw.slice(4)}` : how === 'bare' ? raw : how === 'dotted' ? raw.split('').join('.') : c
      })
    },
    { weight: 1, arbitrary: fc.constantFrom('BBBB-BBBB', 'hello', '') },
    { weight: 2, arbitrary: nasty },
    { weight: 1, arbitrary: huge }
  )
}

function request (known: Known, csrf: string, cookie: string) {
  const query = fc.oneof(
    { weight: 6, arbitrary: typed(known).map(c => `?user_code=${formEncode(c)}`) },
    { weight: 1, arbitrary: fc.tuple(typed(known), typed(known)).map(([a, b]) => `?user_code=${formEncode(a)}&user_code=${formEncode(b)}`) },
    { weight: 1, arbitrary: fc.array(rawFragment, { maxLength: 6 }).map(fs => `?user_code=${fs.join('').replace(/[^\x21-\x7e]/g, '_')}`) },
    { weight: 1, arbitrary: fc.constantFrom('', '?', '?user_code', '?user_code[]=x', '?user_code[a]=1', '?__proto__[x]=1', '?user_code=%ZZ', '?user_code=%00') }
  )
  const decisionForm = nearValid(known, fc.tuple(typed(known), fc.constantFrom('approve', 'deny', 'maybe'), fc.oneof(fc.constant(csrf), fc.constant(''), headerText(43)))
    .map(([code, decision, token]): Array<[string, string]> => [['user_code', code], ['decision', decision], ['csrf_token', token]]))
  const form = fc.oneof(
    { weight: 5, arbitrary: decisionForm },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom('user_code', 'decision', 'csrf_token', '__proto__'), value(known)), { maxLength: 5 }).map(ps => ps.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map(a => Buffer.from(a)) },
    { weight: 1, arbitrary: huge }
  )
  return fc.record({
    method: fc.oneof({ weight: 5, arbitrary: fc.constant('GET') }, { weight: 5, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constant('HEAD') }),
    query,
    form,
    contentType,
    user: fc.oneof({ weight: 4, arbitrary: fc.constant('alice') }, { weight: 1, arbitrary: fc.constant('mallory') }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: headerText(30) }),
    cookie: fc.oneof({ weight: 4, arbitrary: fc.constant(cookie) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: headerText(80) }, { weight: 1, arbitrary: fc.constant(`${cookie}; ${cookie}x`) }),
    language: fc.option(fc.oneof(fc.constantFrom('fr', 'de-DE, fr-CA;q=0.8', '__proto__', 'constructor', 'constructor-x', '__proto__;q=1, fr;q=0.5', '*', 'en;q=abc', 'fr;q=-1', ','.repeat(500)), headerText(60)), { nil: undefined }),
    userAgent: fc.option(headerText(), { nil: undefined }),
    ip
  })
}

const tally = new Tally()

await t.test(`${RUNS} generated requests to the verification pages`, async t => {
  const arbitrary = fc.boolean().chain(useLimited => {
    const x = useLimited ? limited : unlimited
    return request(x.known, x.csrf, x.cookie).map(r => ({ ...r, target: x }))
  })
  await fc.assert(fc.asyncProperty(arbitrary, async r => {
    const x = r.target
    const headers: Record<string, string> = {}
    if (r.user !== undefined) headers['x-user'] = r.user
    if (r.cookie !== undefined) headers.cookie = r.cookie
    if (r.language !== undefined) headers['accept-language'] = r.language
    if (r.userAgent !== undefined) headers['user-agent'] = r.userAgent
    const post = r.method === 'POST'
    if (post && r.contentType !== undefined) headers['content-type'] = r.contentType
    const before = await snapshot(x.store, x.known.deviceCodes)
    const counts = { ...x.counts }
    const res = await (x.app as FastifyInstance).inject({
      method: r.method as 'GET',
      url: `/device${post ? '' : r.query}`,
      remoteAddress: r.ip,
      headers,
      ...(post && { payload: r.form })
    })
    checkPage(res, r.method === 'HEAD')
    tally.add(`${r.method} ${res.statusCode}`, res.statusCode)
    if (res.statusCode === 200) return
    checkUnchanged(before, await snapshot(x.store, x.known.deviceCodes), false)
    for (const type of ['authorization.created', 'token.issued', 'grant.approved', 'grant.denied']) {
      check(x.counts[type] === counts[type], `a refused page request emitted ${type}`, res)
    }
  }), { numRuns: RUNS, seed, endOnFailure: true })
  t.comment(`${tally.cases} cases: ${tally}`)
  t.equal(tally.fiveXX, 0, 'no 5xx')
})

t.test('both apps still serve the whole flow through the pages', async t => {
  for (const x of [limited, unlimited]) {
    const token = await normalFlow(x.app, async userCode => {
      const headers = { 'x-user': 'carol' }
      const open = await x.app.inject({ url: `/device?user_code=${userCode}`, headers, remoteAddress: '192.0.2.200' })
      t.equal(open.statusCode, 200)
      const cookie = String([open.headers['set-cookie']].flat()[0]).split(';')[0] as string
      const csrf = /name="csrf_token" value="([^"]+)"/.exec(open.body)?.[1] as string
      const res = await x.app.inject({
        method: 'POST',
        url: '/device',
        remoteAddress: '192.0.2.200',
        headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `user_code=${userCode}&decision=approve&csrf_token=${csrf}`
      })
      t.equal(res.statusCode, 200)
    })
    t.type(token, 'string')
  }
})

t.test('a language tag named after an Object.prototype member is no language (regression: it was a 500)', async t => {
  for (const language of ['__proto__', 'constructor', 'constructor-CA', 'fr;q=0.1, __proto__']) {
    const res = await limited.app.inject({ url: '/device', headers: { 'accept-language': language } })
    t.equal(res.statusCode, 200, language)
    t.match(res.body, language.includes('fr') ? '<html lang="fr">' : '<html lang="en">')
  }
})

t.test('a scope named after an Object.prototype member is shown as itself (regression)', async t => {
  const { app } = await buildApp({
    authenticate,
    clients: [{ clientId: 'any' }],
    pages: { scopeDescriptions: { openid: 'Know who you are' } }
  })
  t.after(() => app.close())
  const auth = await authorize(app, { client_id: 'any', scope: 'openid constructor __proto__ toString' })
  const res = await app.inject({ url: `/device?user_code=${auth.user_code}`, headers: { 'x-user': 'alice' } })
  t.equal(res.statusCode, 200)
  t.match(res.body, /<li>Know who you are<\/li>\s*<li>constructor<\/li>\s*<li>__proto__<\/li>\s*<li>toString<\/li>/)
  t.notMatch(res.body, /function Object|\[object Object\]|native code/)
})
