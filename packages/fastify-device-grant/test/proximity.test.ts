// Proximity on the confirm page (cross-device BCP): the approving browser's network against the
// network the device asked from.
import t from 'tap'
import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import type { DeviceGrantEvent, DeviceGrantPluginOptions, PagesOptions } from '../src/index.js'
import { buildApp, form, type Authorization } from './helpers.js'

function authenticate (request: FastifyRequest, _reply: FastifyReply): string | undefined {
  return String(request.headers['x-user'] ?? 'alice')
}

async function appWith (pages: PagesOptions = {}, overrides: Partial<DeviceGrantPluginOptions> = {}) {
  const events: DeviceGrantEvent[] = []
  const built = await buildApp({ authenticate, pages, onEvent: e => { events.push(e) }, ...overrides })
  return { ...built, events }
}

/** The device asks from `ip`. */
async function deviceFrom (app: FastifyInstance, ip: string): Promise<Authorization> {
  const res = await app.inject({ method: 'POST', url: '/device_authorization', remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })
  return res.json()
}

/** The person opens the confirm page from `ip`, and may then decide from there. */
async function browserFrom (app: FastifyInstance, ip: string, auth: Authorization, headers: Record<string, string> = {}) {
  const page = await app.inject({ url: `/device?user_code=${auth.user_code}`, remoteAddress: ip, headers })
  const decide = async (decision: 'approve' | 'deny'): Promise<LightMyRequestResponse> => await postFrom(app, ip, page, auth.user_code, decision)
  return { page, decide }
}

const WARNING = /data-proximity="different-network"/

/** A decision posted from `ip` with the form (cookie and token) of a page opened elsewhere. */
async function postFrom (app: FastifyInstance, ip: string, opened: LightMyRequestResponse, userCode: string, decision: 'approve' | 'deny') {
  return await app.inject({
    method: 'POST',
    url: '/device',
    remoteAddress: ip,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: String(opened.headers['set-cookie']).split(';')[0] ?? '' },
    payload: form({ user_code: userCode, decision, csrf_token: /name="csrf_token" value="([^"]+)"/.exec(opened.body)?.[1] ?? '' })
  })
}

t.test('same network (IPv4 /24): no warning, and the event says the networks matched', async t => {
  const { app, events } = await appWith()
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const browser = await browserFrom(app, '198.51.100.200', auth)
  t.equal(browser.page.statusCode, 200)
  t.notMatch(browser.page.body, WARNING)
  t.notMatch(browser.page.body, /class="emphasis"/)
  t.equal((await browser.decide('approve')).statusCode, 200)
  t.match(events.find(e => e.type === 'grant.approved'), { sameNetwork: true })
})

t.test('another network: a plain warning, Deny emphasised, and the event says so', async t => {
  const { app, events } = await appWith()
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const browser = await browserFrom(app, '203.0.113.5', auth)
  t.equal(browser.page.statusCode, 200)
  t.match(browser.page.body, /<p class="warning proximity" role="alert" data-proximity="different-network"><strong>Warning: this request came from a different network/)
  t.match(browser.page.body, /<button type="submit" name="decision" value="deny" class="emphasis" autofocus>Deny<\/button>/)
  t.ok(browser.page.body.indexOf('data-proximity') < browser.page.body.indexOf('<form'), 'the warning comes before the buttons')
  t.equal((await browser.decide('deny')).statusCode, 200)
  t.match(events.find(e => e.type === 'grant.denied'), { sameNetwork: false })
})

t.test("'warn' still lets the person approve from another network", async t => {
  const { app, events } = await appWith({ proximity: 'warn' })
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const browser = await browserFrom(app, '203.0.113.5', auth)
  t.equal((await browser.decide('approve')).statusCode, 200)
  t.match(events.find(e => e.type === 'grant.approved'), { sameNetwork: false })
})

t.test("'require' refuses approval from another network with a clear page", async t => {
  const { app, events } = await appWith({ proximity: 'require' })
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const browser = await browserFrom(app, '203.0.113.5', auth)
  t.equal(browser.page.statusCode, 403)
  t.match(browser.page.body, /Approve from the device’s network/)
  t.match(browser.page.body, /cannot be approved from here/)
  t.notMatch(browser.page.body, /name="decision"/, 'no approve button at all')
  // A form posted anyway (from an earlier page, or forged with a valid token) is refused too.
  const near = await browserFrom(app, '198.51.100.9', auth)
  const res = await postFrom(app, '203.0.113.5', near.page, auth.user_code, 'approve')
  t.equal(res.statusCode, 403)
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'pending', 'nothing approved')
  t.equal((await near.decide('approve')).statusCode, 200, 'from the device’s network it works')
  t.match(events.find(e => e.type === 'grant.approved'), { sameNetwork: true })
})

t.test("'require' refuses an approval posted from another network for a code never opened", async t => {
  const { app } = await appWith({ proximity: 'require' })
  t.after(() => app.close())
  // A cookie and token from a page opened near its own device, reused for another code.
  const near = await browserFrom(app, '198.51.100.8', await deviceFrom(app, '198.51.100.7'))
  const auth = await deviceFrom(app, '198.51.100.7')
  const res = await postFrom(app, '203.0.113.5', near.page, auth.user_code, 'approve')
  t.equal(res.statusCode, 403)
  const view = await app.deviceGrant.lookup(auth.user_code)
  t.equal(view?.state, 'pending', 'not approved')
  t.equal(view?.subject, undefined, 'nor bound')
})

t.test("'require' still lets the person deny from another network", async t => {
  const { app } = await appWith({ proximity: 'require' })
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const near = await browserFrom(app, '198.51.100.9', auth)
  const far = await postFrom(app, '203.0.113.5', near.page, auth.user_code, 'deny')
  t.equal(far.statusCode, 200)
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.state, 'denied')
})

t.test("'off' compares nothing: no warning, no sameNetwork in events", async t => {
  const { app, events } = await appWith({ proximity: 'off' })
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const browser = await browserFrom(app, '203.0.113.5', auth)
  t.notMatch(browser.page.body, WARNING)
  await browser.decide('approve')
  const approved = events.find(e => e.type === 'grant.approved')
  t.ok(approved !== undefined && !('sameNetwork' in approved))
})

t.test('IPv6 compares by /48; IPv4-mapped IPv6 as IPv4', async t => {
  const { app } = await appWith()
  t.after(() => app.close())
  const v6 = await deviceFrom(app, '2001:db8:aa:1::7')
  t.notMatch((await browserFrom(app, '2001:db8:aa:ff::1', v6)).page.body, WARNING, 'the same /48')
  const v6b = await deviceFrom(app, '2001:db8:aa:1::8')
  t.match((await browserFrom(app, '2001:db8:ab:1::1', v6b)).page.body, WARNING, 'another /48')
  const mapped = await deviceFrom(app, '::ffff:198.51.100.7')
  t.notMatch((await browserFrom(app, '198.51.100.50', mapped)).page.body, WARNING)
})

t.test('an app function replaces the comparison (e.g. by ASN)', async t => {
  const asn = (ip: string) => (ip.startsWith('203.0.113.') || ip.startsWith('198.51.100.') ? 64500 : 64501)
  const { app } = await appWith({ sameNetwork: async (device, browser) => asn(device) === asn(browser) })
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  t.notMatch((await browserFrom(app, '203.0.113.5', auth)).page.body, WARNING, 'one ASN: the same network to this app')
  const other = await deviceFrom(app, '198.51.100.7')
  t.match((await browserFrom(app, '192.0.2.1', other)).page.body, WARNING)
})

t.test('the warning and the refusal are translated', async t => {
  const { app } = await appWith({ proximity: 'require' })
  t.after(() => app.close())
  const auth = await deviceFrom(app, '198.51.100.7')
  const refused = await browserFrom(app, '203.0.113.5', auth, { 'accept-language': 'fr' })
  t.match(refused.page.body, /Acceptez depuis le réseau de l’appareil/)
  const warn = await appWith()
  t.after(() => warn.app.close())
  const other = await deviceFrom(warn.app, '198.51.100.7')
  t.match((await browserFrom(warn.app, '203.0.113.5', other, { 'accept-language': 'fr' })).page.body, /Attention : cette demande vient d’un autre réseau/)
})

t.test('the options are validated', async t => {
  await t.rejects(buildApp({ authenticate, pages: { proximity: 'maybe' as never } }), /pages\.proximity must be 'warn', 'require' or 'off'/)
  await t.rejects(buildApp({ authenticate, pages: { sameNetwork: 'asn' as never } }), /pages\.sameNetwork must be a function/)
  await t.rejects(buildApp({ ipv6Prefix: 129 }), /ipv6Prefix must be an integer from 1 to 128/)
})
