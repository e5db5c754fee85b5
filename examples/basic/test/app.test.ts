import t from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.js'
import { readConfig } from '../src/config.js'
import { safeReturnTo } from '../src/login.js'

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }

/** A browser's worth of cookies, for inject. */
function browser (app: FastifyInstance) {
  const jar = new Map<string, string>()
  return async (options: InjectOptions): Promise<LightMyRequestResponse> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await app.inject({ ...options, headers: { ...options.headers, ...(cookie !== '' && { cookie }) } })
    for (const c of res.cookies as Array<{ name: string, value: string }>) jar.set(c.name, c.value)
    return res
  }
}

const hidden = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''

t.test('config defaults to 127.0.0.1:3000 and reads the overrides', async t => {
  const { sessionSecret, ...rest } = readConfig({})
  t.same(rest, { host: '127.0.0.1', port: 3000, issuer: 'http://127.0.0.1:3000', logLevel: 'info' })
  t.ok(sessionSecret.length >= 32)
  const custom = readConfig({ HOST: '::1', PORT: '8080', DEVICE_GRANT_EXPIRES_IN: '120', DEVICE_GRANT_INTERVAL: '2', SESSION_SECRET: 'x'.repeat(32) })
  t.same(custom, { host: '::1', port: 8080, issuer: 'http://[::1]:8080', expiresIn: 120, interval: 2, sessionSecret: 'x'.repeat(32), logLevel: 'info' })
  t.equal(readConfig({ LOG_LEVEL: 'DEBUG' }).logLevel, 'debug')
  t.throws(() => readConfig({ LOG_LEVEL: 'verbose' }), /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/)
  t.equal(readConfig({ HOST: '0.0.0.0' }).issuer, 'http://127.0.0.1:3000')
  t.equal(readConfig({ ISSUER: 'https://tv.example.com' }).issuer, 'https://tv.example.com')
  t.equal(readConfig({ DEVICE_GRANT_DPOP_NONCES: '1' }).dpopNonces, true)
  t.throws(() => readConfig({ PORT: 'eighty' }), /PORT must be a port number/)
  t.throws(() => readConfig({ DEVICE_GRANT_INTERVAL: '0' }), /DEVICE_GRANT_INTERVAL must be a positive/)
  t.throws(() => readConfig({ SESSION_SECRET: 'short' }), /at least 32 characters/)
})

/** Builds the app logging at `level` into an array, runs a device authorization and one poll. */
async function logsOfOnePoll (level: string) {
  const lines: Array<{ level: number, msg: string, event?: { type: string } }> = []
  const app = await buildApp(readConfig({ LOG_LEVEL: level }), { stream: { write: line => { lines.push(JSON.parse(line)) } } })
  const authorization = await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv' })
  const deviceCode = authorization.json().device_code as string
  const poll = await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: `grant_type=${encodeURIComponent(GRANT)}&client_id=demo-tv&device_code=${deviceCode}` })
  await app.close()
  return { lines, pollError: poll.json().error as string }
}

t.test('at the default log level the example logs grants but neither requests nor polls', async t => {
  const { lines, pollError } = await logsOfOnePoll('')
  t.equal(pollError, 'authorization_pending')
  t.same(lines.filter(l => l.event !== undefined).map(l => l.event?.type), ['authorization.created'])
  t.equal(lines.filter(l => l.msg === 'request completed').length, 0)
})

t.test('LOG_LEVEL=debug adds every request and every refused poll', async t => {
  const { lines } = await logsOfOnePoll('debug')
  t.same(lines.filter(l => l.event !== undefined).map(l => l.event?.type), ['authorization.created', 'poll.rejected'])
  t.equal(lines.filter(l => l.msg === 'request completed').length, 2)
})

t.test('the demo TV signs in through login and the confirm page', async t => {
  const app = await buildApp(readConfig({ DEVICE_GRANT_INTERVAL: '1' }))
  t.after(() => app.close())
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv' })).json()
  const poll = () => app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: auth.device_code }).toString() })
  t.equal((await poll()).json().error, 'authorization_pending')

  const user = browser(app)
  const complete = new URL(auth.verification_uri_complete)
  const toLogin = await user({ url: complete.pathname + complete.search })
  t.equal(toLogin.statusCode, 302)
  const loginPage = await user({ url: toLogin.headers.location as string })
  t.equal(hidden(loginPage.body, 'returnTo'), `/device?user_code=${encodeURIComponent(auth.user_code)}`)
  const loggedIn = await user({
    method: 'POST',
    url: '/login',
    headers: formHeaders,
    payload: new URLSearchParams({ username: 'demo', password: 'demo', _csrf: hidden(loginPage.body, '_csrf'), returnTo: hidden(loginPage.body, 'returnTo').replace(/&#38;/g, '&') }).toString()
  })
  t.equal(loggedIn.statusCode, 303)
  const confirm = await user({ url: loggedIn.headers.location as string })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, 'Demo TV is asking to sign in to your account.')
  t.match(confirm.body, '<li>Read your data</li>')
  const approved = await user({
    method: 'POST',
    url: '/device',
    headers: formHeaders,
    payload: new URLSearchParams({ user_code: auth.user_code, decision: 'approve', csrf_token: hidden(confirm.body, 'csrf_token') }).toString()
  })
  t.match(approved.body, 'Device connected')

  const token = (await poll()).json()
  t.equal(token.token_type, 'Bearer')
  t.equal(token.scope, 'read')
  const me = await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token.access_token}` } })
  t.same(me.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'read' })
})

t.test('a wrong password shows the form again', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const user = browser(app)
  const page = await user({ url: '/login' })
  const res = await user({ method: 'POST', url: '/login', headers: formHeaders, payload: new URLSearchParams({ username: 'demo', password: 'nope', _csrf: hidden(page.body, '_csrf') }).toString() })
  t.equal(res.statusCode, 401)
  t.match(res.body, 'Wrong username or password.')
  t.notOk(res.cookies.some((c: { name: string }) => c.name === 'demo_session'))
})

t.test('a login post without the CSRF token is refused', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/login', headers: formHeaders, payload: 'username=demo&password=demo' })
  t.equal(res.statusCode, 403)
})

t.test('after login only local return paths are followed', async t => {
  t.equal(safeReturnTo('/device?user_code=X'), '/device?user_code=X')
  for (const evil of ['https://evil.example', '//evil.example', '/\\evil.example', 42, undefined]) t.equal(safeReturnTo(evil), '/device')
})

t.test('logout ends the session', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const user = browser(app)
  const page = await user({ url: '/login' })
  await user({ method: 'POST', url: '/login', headers: formHeaders, payload: new URLSearchParams({ username: 'demo', password: 'demo', _csrf: hidden(page.body, '_csrf') }).toString() })
  const again = await user({ url: '/login' })
  const out = await user({ method: 'POST', url: '/logout', headers: formHeaders, payload: new URLSearchParams({ _csrf: hidden(again.body, '_csrf') }).toString() })
  t.equal(out.statusCode, 303)
  t.equal((await user({ url: '/device?user_code=BBBB-BBBB' })).statusCode, 302, 'signed out: sent to login again')
})

t.test('the root sends people to the code-entry page', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const res = await app.inject('/')
  t.equal(res.headers.location, '/device')
})

t.test('the demo CLI authenticates with its secret', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/device_authorization', headers: { ...formHeaders, authorization: 'Basic ' + Buffer.from('demo-cli:demo-cli-secret').toString('base64') }, payload: 'scope=write' })
  t.equal(res.statusCode, 200)
})

t.test('the API refuses a missing or unknown token', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  t.equal((await app.inject('/api/me')).statusCode, 401)
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: 'Bearer nope' } })).statusCode, 401)
})
