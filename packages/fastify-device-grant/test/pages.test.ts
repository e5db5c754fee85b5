import t, { type Test } from 'tap'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { MemoryStore } from '@device-grant/store-memory'
import { StoreUnavailableError, type DeviceGrantPluginOptions } from '../src/index.js'
import { authorize, buildApp, poll } from './helpers.js'

/** Signed in as whoever the `x-user` header names; otherwise sent to the login page. */
function authenticate (request: FastifyRequest, reply: import('fastify').FastifyReply): string | undefined {
  const user = request.headers['x-user']
  if (typeof user === 'string') return user
  reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`)
  return undefined
}

async function pagesApp (overrides: Partial<DeviceGrantPluginOptions> = {}) {
  return buildApp({ authenticate, ...overrides })
}

interface Confirm { res: LightMyRequestResponse, cookie: string, csrf: string }

async function openConfirm (app: FastifyInstance, userCode: string, user = 'alice', headers: Record<string, string> = {}): Promise<Confirm> {
  const res = await app.inject({ url: `/device?user_code=${encodeURIComponent(userCode)}`, headers: { 'x-user': user, ...headers } })
  const setCookie = [res.headers['set-cookie'] ?? []].flat()[0] ?? ''
  return { res, cookie: setCookie.split(';')[0] ?? '', csrf: /name="csrf_token" value="([^"]+)"/.exec(res.body)?.[1] ?? '' }
}

async function decide (app: FastifyInstance, c: Confirm, userCode: string, decision: string, user = 'alice', extra: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/device',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: c.cookie, 'x-user': user },
    payload: new URLSearchParams({ user_code: userCode, decision, csrf_token: c.csrf, ...extra }).toString()
  })
}

function checkPageHeaders (t: Test, res: LightMyRequestResponse) {
  t.match(res.headers['content-type'], /^text\/html/)
  t.equal(res.headers['x-frame-options'], 'DENY')
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, /frame-ancestors 'none'/)
  t.match(csp, /default-src 'none'/)
  t.notMatch(csp, /script-src|unsafe-inline/, 'no script allowed, no inline anything')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.notMatch(res.body, /<script/i, 'no script on the page')
}

t.test('the verification URI shows a code-entry form built for typing codes', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const res = await app.inject('/device')
  t.equal(res.statusCode, 200)
  checkPageHeaders(t, res)
  t.match(res.body, /<label for="user_code">/)
  t.match(res.body, /<input type="text" id="user_code" name="user_code"/)
  t.match(res.body, /autocomplete="off"/)
  t.match(res.body, /autocapitalize="characters"/)
  t.match(res.body, /inputmode="text"/)
  t.match(res.body, /<form method="get" action="\/device"/)
})

t.test('a digits-only code gets a numeric keyboard', async t => {
  const { app } = await pagesApp({ userCode: { charset: '0123456789', mask: 'XXX-XXX-XXX' } })
  t.after(() => app.close())
  t.match((await app.inject('/device')).body, /inputmode="numeric"/)
})

t.test('verification_uri_complete stops at the confirm page and approves nothing', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app, { client_id: 'tv', scope: 'openid profile' }, { 'user-agent': 'SmartTV/2.1 (Living Room)' })
  const path = new URL(auth.verification_uri_complete).pathname + new URL(auth.verification_uri_complete).search
  const res = await app.inject({ url: path, headers: { 'x-user': 'alice' } })
  t.equal(res.statusCode, 200)
  checkPageHeaders(t, res)
  t.match(res.body, 'Living Room TV', 'the client display name')
  t.match(res.body, `<p class="code" aria-label="Code">${auth.user_code}</p>`, 'the code to compare')
  t.match(res.body, /<li>openid<\/li>\s*<li>profile<\/li>/, 'the scopes')
  t.match(res.body, 'SmartTV/2.1 (Living Room)', 'the device software')
  t.match(res.body, '127.0.0.1', 'the device IP')
  t.match(res.body, /Only approve if you started this yourself/, 'the phishing warning')
  t.match(res.body, /<button type="submit" name="decision" value="deny">Deny<\/button>/)
  t.match(res.body, /<button type="submit" name="decision" value="approve">Approve<\/button>/)
  t.notMatch(res.body, auth.device_code, 'the device code never appears (RFC 8628 §3.3)')
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'pending')
  t.equal(JSON.parse((await poll(app, auth.device_code)).body).error, 'authorization_pending')
})

t.test('a signed-out user is sent to log in and comes back to the same code', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const res = await app.inject(`/device?user_code=${auth.user_code}`)
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, `/login?returnTo=${encodeURIComponent(`/device?user_code=${auth.user_code}`)}`)
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.subject, undefined, 'not bound to anyone yet')
})

t.test('authenticate resolving nobody without replying gives a sign-in page', async t => {
  const { app } = await pagesApp({ authenticate: () => undefined })
  t.after(() => app.close())
  const auth = await authorize(app)
  const res = await app.inject(`/device?user_code=${auth.user_code}`)
  t.equal(res.statusCode, 401)
  t.match(res.body, 'Sign in required')
  checkPageHeaders(t, res)
})

for (const typed of ['lower', 'spaced', 'dotted']) {
  t.test(`a code typed ${typed} still finds the grant`, async t => {
    const { app } = await pagesApp()
    t.after(() => app.close())
    const auth = await authorize(app)
    const raw = auth.user_code.replace('-', '')
    const input = typed === 'lower' ? auth.user_code.toLowerCase() : typed === 'spaced' ? `${raw.slice(0, 4)} ${raw.slice(4)}` : raw.split('').join('.')
    const res = (await openConfirm(app, input)).res
    t.equal(res.statusCode, 200)
    t.match(res.body, auth.user_code)
  })
}

t.test('an unknown code shows the form again with an error', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const res = (await openConfirm(app, 'BBBB-BBBB')).res
  t.equal(res.statusCode, 400)
  t.match(res.body, /We could not find that code/)
  t.match(res.body, /aria-invalid="true"/)
  t.match(res.body, /value="BBBB-BBBB"/, 'what was typed is kept')
})

t.test('something that cannot be a code says so', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const res = (await openConfirm(app, 'hello')).res
  t.equal(res.statusCode, 400)
  t.match(res.body, /That does not look like a code/)
})

t.test('an expired code has its own page', async t => {
  const { app, clock } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  clock.advance(600)
  const res = (await openConfirm(app, auth.user_code)).res
  t.equal(res.statusCode, 410)
  t.match(res.body, 'This code has expired')
  checkPageHeaders(t, res)
})

t.test('approving signs the device in, once', async t => {
  const { app, issued } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const c = await openConfirm(app, auth.user_code)
  const res = await decide(app, c, auth.user_code, 'approve')
  t.equal(res.statusCode, 200)
  t.match(res.body, 'Device connected')
  t.match(res.body, 'Living Room TV is signed in. You can return to your device.')
  checkPageHeaders(t, res)
  t.equal((await poll(app, auth.device_code)).statusCode, 200)
  t.equal(issued[0]?.subject, 'alice')
})

t.test('denying makes the device hear access_denied', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const c = await openConfirm(app, auth.user_code)
  const res = await decide(app, c, auth.user_code, 'deny')
  t.equal(res.statusCode, 200)
  t.match(res.body, 'Request denied')
  t.equal(JSON.parse((await poll(app, auth.device_code)).body).error, 'access_denied')
})

t.test('resubmitting or going back after a decision changes nothing', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const c = await openConfirm(app, auth.user_code)
  await decide(app, c, auth.user_code, 'approve')
  const again = await decide(app, c, auth.user_code, 'deny')
  t.equal(again.statusCode, 409)
  t.match(again.body, 'already been used')
  t.equal((await openConfirm(app, auth.user_code)).res.statusCode, 409, 'the confirm page is gone too')
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'approved')
})

t.test('a code belongs to the first user who opens it', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const alice = await openConfirm(app, auth.user_code, 'alice')
  const mallory = await openConfirm(app, auth.user_code, 'mallory')
  t.equal(mallory.res.statusCode, 400)
  t.match(mallory.res.body, /We could not find that code/, 'to anyone else it looks unknown')
  t.notMatch(mallory.res.body, 'Living Room TV')
  const stolen = await decide(app, alice, auth.user_code, 'approve', 'mallory')
  t.equal(stolen.statusCode, 400, "another user's post with a valid form token is refused")
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'pending')
  t.equal((await decide(app, alice, auth.user_code, 'approve', 'alice')).statusCode, 200)
})

t.test('a decision without the CSRF token is refused and changes nothing', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const c = await openConfirm(app, auth.user_code)
  for (const forged of [{ ...c, csrf: '' }, { ...c, cookie: '' }, { ...c, csrf: c.csrf.replace(/^./, x => (x === 'A' ? 'B' : 'A')) }]) {
    const res = await decide(app, forged, auth.user_code, 'approve')
    t.equal(res.statusCode, 403)
    t.match(res.body, 'This form has expired')
    checkPageHeaders(t, res)
  }
  const other = await openConfirm(app, (await authorize(app)).user_code, 'alice')
  t.equal((await decide(app, { ...c, csrf: other.csrf }, auth.user_code, 'approve')).statusCode, 403, "another browser's token")
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'pending')
})

t.test('the CSRF cookie is HttpOnly and SameSite, and kept once set', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const c = await openConfirm(app, (await authorize(app)).user_code)
  t.match(c.res.headers['set-cookie'], /^__Host-device-grant-csrf=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/)
  const again = await openConfirm(app, (await authorize(app)).user_code, 'alice', { cookie: c.cookie })
  t.equal(again.res.headers['set-cookie'], undefined)
  t.equal(again.csrf, c.csrf)
})

t.test('on plain http the CSRF cookie drops Secure and the __Host- prefix', async t => {
  const { app } = await pagesApp({ issuer: 'http://127.0.0.1:3000' })
  t.after(() => app.close())
  const c = await openConfirm(app, (await authorize(app)).user_code)
  t.match(c.res.headers['set-cookie'], /^device-grant-csrf=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)
})

t.test('a bad decision value or a missing code is a friendly 400', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const c = await openConfirm(app, auth.user_code)
  t.equal((await decide(app, c, auth.user_code, 'maybe')).statusCode, 400)
  const res = await app.inject({ method: 'POST', url: '/device', headers: { 'content-type': 'application/json', 'x-user': 'alice' }, payload: '{}' })
  t.equal(res.statusCode, 400)
  t.match(res.body, 'Something went wrong')
})

t.test('repeated bad codes from one address are throttled with Retry-After', async t => {
  const { app, clock } = await pagesApp({ pages: { rateLimit: { perIp: { max: 3, window: 60 } } } })
  t.after(() => app.close())
  const good = await authorize(app)
  for (let i = 0; i < 2; i++) t.equal((await openConfirm(app, 'BBBB-BBBB')).res.statusCode, 400)
  t.equal((await openConfirm(app, good.user_code)).res.statusCode, 200, 'a success in between')
  t.equal((await openConfirm(app, 'hello')).res.statusCode, 400, 'third failure: the success did not reset the budget')
  const blocked = (await openConfirm(app, good.user_code)).res
  t.equal(blocked.statusCode, 429, 'even a good code is refused while blocked')
  t.ok(Number(blocked.headers['retry-after']) > 0 && Number(blocked.headers['retry-after']) <= 60)
  t.match(blocked.body, 'Too many attempts')
  checkPageHeaders(t, blocked)
  clock.advance(60)
  t.equal((await openConfirm(app, good.user_code)).res.statusCode, 200, 'the next window starts afresh')
})

t.test('one code is looked up a limited number of times, from anyone', async t => {
  const { app } = await pagesApp({ pages: { rateLimit: { perCode: { max: 2, window: 600 } } } })
  t.after(() => app.close())
  const auth = await authorize(app)
  t.equal((await openConfirm(app, auth.user_code)).res.statusCode, 200)
  t.equal((await openConfirm(app, auth.user_code.toLowerCase())).res.statusCode, 200, 'counted after normalization')
  t.equal((await openConfirm(app, auth.user_code)).res.statusCode, 429)
})

t.test('rateLimit: false turns the limits off', async t => {
  const { app } = await pagesApp({ pages: { rateLimit: false } })
  t.after(() => app.close())
  for (let i = 0; i < 15; i++) t.equal((await openConfirm(app, 'BBBB-BBBB')).res.statusCode, 400)
})

t.test('the limits are counted in the store, so they hold across instances', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const one = await pagesApp({ store, pages: { rateLimit: { perIp: { max: 2, window: 60 } } } })
  const two = await pagesApp({ store, pages: { rateLimit: { perIp: { max: 2, window: 60 } } } })
  t.after(() => Promise.all([one.app.close(), two.app.close()]))
  t.equal((await openConfirm(one.app, 'BBBB-BBBB')).res.statusCode, 400)
  t.equal((await openConfirm(two.app, 'CCCC-CCCC')).res.statusCode, 400)
  t.equal((await openConfirm(one.app, 'DDDD-DDDD')).res.statusCode, 429)
})

t.test('hostile client names, scopes and input are escaped', async t => {
  const { app } = await pagesApp({
    clients: [{ clientId: 'evil', name: '<script>alert(1)</script>"><img src=x onerror=alert(2)>' }],
    pages: { scopeDescriptions: { 'x<y': '<b>bold</b> & "quoted"' } }
  })
  t.after(() => app.close())
  const auth = await authorize(app, { client_id: 'evil', scope: 'x<y a&b' })
  const res = (await openConfirm(app, auth.user_code)).res
  t.notMatch(res.body, /<script>alert|<img src=x|<b>bold/)
  t.match(res.body, '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;')
  t.match(res.body, '&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;')
  t.match(res.body, '<li>a&amp;b</li>')
  const typed = (await openConfirm(app, '"><script>x</script>')).res
  t.notMatch(typed.body, /<script>x/)
  t.match(typed.body, 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
  const ua = await authorize(app, { client_id: 'evil' }, { 'user-agent': '<svg onload=alert(3)>' })
  t.notMatch((await openConfirm(app, ua.user_code)).res.body, /<svg/)
})

t.test('the page speaks the browser language: French shipped', async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  const auth = await authorize(app)
  const res = (await openConfirm(app, auth.user_code, 'alice', { 'accept-language': 'de-DE, fr-CA;q=0.8, en;q=0.5' })).res
  t.match(res.body, '<html lang="fr">')
  t.match(res.body, 'Est-ce bien votre appareil ?')
  t.match(res.body, '>Accepter</button>')
  t.match(res.body, '>Refuser</button>')
})

t.test('strings can be changed and languages added', async t => {
  const { app } = await pagesApp({ pages: { locales: { en: { approve: 'Allow' }, de: { lang: 'de', approve: 'Erlauben', deny: 'Ablehnen' } } } })
  t.after(() => app.close())
  const auth = await authorize(app)
  t.match((await openConfirm(app, auth.user_code)).res.body, '>Allow</button>')
  const de = (await openConfirm(app, auth.user_code, 'alice', { 'accept-language': 'de' })).res.body
  t.match(de, '>Erlauben</button>')
  t.match(de, 'Is this your device?', 'missing German strings fall back to English')
})

t.test('scopes can be described in words, per language', async t => {
  const { app } = await pagesApp({ pages: { scopeDescriptions: (scope, lang) => (scope === 'openid' ? (lang === 'fr' ? 'Vous identifier' : 'Know who you are') : undefined) } })
  t.after(() => app.close())
  const auth = await authorize(app, { client_id: 'tv', scope: 'openid read' })
  t.match((await openConfirm(app, auth.user_code)).res.body, /<li>Know who you are<\/li>\s*<li>read<\/li>/)
})

t.test('a template can be replaced on its own', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'dg-views-'))
  const file = join(dir, 'confirm.eta')
  writeFileSync(file, '<p id="mine"><%= it.clientName %> / <%= it.displayCode %> / <%= it.csrf.length %></p>')
  const { app } = await pagesApp({ pages: { templates: { confirm: file } } })
  t.after(() => app.close())
  const auth = await authorize(app)
  t.match((await openConfirm(app, auth.user_code)).res.body, `<p id="mine">Living Room TV / ${auth.user_code} / 43</p>`)
  t.match((await app.inject('/device')).body, 'Enter the code shown on your device.', 'the other pages are the shipped ones')
})

t.test('device info can be hidden', async t => {
  const { app } = await pagesApp({ pages: { showDeviceInfo: false } })
  t.after(() => app.close())
  const auth = await authorize(app, { client_id: 'tv' }, { 'user-agent': 'SmartTV/2.1' })
  t.notMatch((await openConfirm(app, auth.user_code)).res.body, 'SmartTV/2.1')
})

t.test('without authenticate, or with pages: false, no pages are served', async t => {
  const plain = await buildApp()
  const off = await pagesApp({ pages: false, verificationUri: 'https://auth.example.com/activate' })
  t.after(() => Promise.all([plain.app.close(), off.app.close()]))
  t.equal((await plain.app.inject('/device')).statusCode, 404)
  t.equal((await off.app.inject('/device')).statusCode, 404)
})

t.test('pages follow the prefix and the verification path', async t => {
  const { app } = await pagesApp({ prefix: '/oauth', paths: { verification: '/activate' } })
  t.after(() => app.close())
  const res = await app.inject('/oauth/activate')
  t.equal(res.statusCode, 200)
  t.match(res.body, 'action="/oauth/activate"')
})

t.test('a store outage shows a 503 page with Retry-After', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const { app } = await pagesApp({ store, pages: { rateLimit: false } })
  t.after(() => app.close())
  const auth = await authorize(app)
  store.findByUserCode = async () => { throw new StoreUnavailableError('down', { retryAfter: 7 }) }
  const res = (await openConfirm(app, auth.user_code)).res
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '7')
  t.match(res.body, 'Temporarily unavailable')
  checkPageHeaders(t, res)
})

t.test('an unexpected failure is a logged 500 page, not a crash', async t => {
  const { app } = await pagesApp({ authenticate: () => { throw new Error('session store exploded') } })
  t.after(() => app.close())
  const res = await app.inject(`/device?user_code=${(await authorize(app)).user_code}`)
  t.equal(res.statusCode, 500)
  t.match(res.body, 'Something went wrong')
})

t.test('page options are validated', async t => {
  const bad: Array<[unknown, RegExp]> = [
    [{ templates: { confirm: 'relative.eta' } }, /absolute path of an existing file/],
    [{ templates: { login: '/tmp/x.eta' } }, /not a page/],
    [{ rateLimit: { perIp: { max: 0, window: 60 } } }, /integer max >= 1/],
    [{ csrfSecret: 'short' }, /at least 32 characters/],
    [{ defaultLocale: 'xx' }, /has no locale/],
    ['yes', /pages must be an object or false/]
  ]
  for (const [pages, message] of bad) {
    await t.rejects(buildApp({ authenticate, pages: pages as never }), message)
  }
  await t.rejects(buildApp({ authenticate: 'alice' as never }), /authenticate must be a function/)
})

t.test('a store without hit() still rate-limits, in this process', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  Object.defineProperty(store, 'hit', { value: undefined })
  const { app } = await pagesApp({ store, pages: { rateLimit: { perIp: { max: 1, window: 60 } } } })
  t.after(() => app.close())
  t.equal((await openConfirm(app, 'BBBB-BBBB')).res.statusCode, 400)
  t.equal((await openConfirm(app, 'CCCC-CCCC')).res.statusCode, 429)
})

t.test('a shared store without a CSRF secret is warned about', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  Object.defineProperty(store, 'capabilities', { value: { sharedAcrossProcesses: true } })
  const lines: string[] = []
  const { default: Fastify } = await import('fastify')
  const { deviceGrant } = await import('../src/index.js')
  const app = Fastify({ logger: { level: 'warn', stream: { write: (l: string) => { lines.push(l) } } } })
  t.after(() => app.close())
  await app.register(deviceGrant, { issuer: 'https://a.example', clients: [{ clientId: 'tv' }], store, authenticate, issueToken: () => ({ access_token: 'a', token_type: 'Bearer' }) })
  await app.ready()
  t.ok(lines.some(l => l.includes('pages.csrfSecret is not set')))
})

t.test("the pages' internal state is not part of the app's request and reply types", async t => {
  const { app } = await pagesApp()
  t.after(() => app.close())
  // Typechecked with the rest of the tests: a public augmentation would make these lines errors.
  const probe = (request: FastifyRequest, reply: import('fastify').FastifyReply) => [
    // @ts-expect-error no `deviceGrantNonce` on FastifyRequest
    request.deviceGrantNonce,
    // @ts-expect-error no `deviceGrantViewAsync` on FastifyReply
    reply.deviceGrantViewAsync
  ]
  t.equal(typeof probe, 'function')
  const res = await app.inject('/device')
  t.notOk(Object.keys(res).includes('deviceGrantNonce'))
})
