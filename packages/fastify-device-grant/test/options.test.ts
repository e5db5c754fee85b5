import t from 'tap'
import Fastify from 'fastify'
import { deviceGrant, type DeviceGrantPluginOptions } from '../src/index.js'
import { CLIENTS } from './helpers.js'

const base: DeviceGrantPluginOptions = {
  issuer: 'https://auth.example.com',
  clients: CLIENTS,
  issueToken: () => ({ access_token: 'a', token_type: 'Bearer' }),
  verificationUri: 'https://auth.example.com/activate'
}

async function registerError (options: unknown): Promise<string> {
  const app = Fastify()
  try {
    await app.register(deviceGrant, options as DeviceGrantPluginOptions)
    await app.ready()
    return ''
  } catch (err) {
    return (err as Error).message
  } finally {
    await app.close()
  }
}

const cases: Array<[string, Partial<Record<keyof DeviceGrantPluginOptions, unknown>>, RegExp]> = [
  ['a missing issuer', { issuer: undefined }, /issuer is required/],
  ['a relative issuer', { issuer: '/auth' }, /not an absolute URL/],
  ['an issuer with a query', { issuer: 'https://a.example/?x=1' }, /no query or fragment/],
  ['an issuer with a fragment', { issuer: 'https://a.example/#top' }, /no query or fragment/],
  ['a non-http issuer', { issuer: 'ftp://a.example' }, /https URL/],
  ['missing clients', { clients: undefined }, /clients is required/],
  ['clients of the wrong type', { clients: 'tv' }, /array of clients or a lookup function/],
  ['a client listed twice', { clients: [{ clientId: 'a' }, { clientId: 'a' }] }, /listed twice/],
  ['a client with an empty secret', { clients: [{ clientId: 'a', clientSecret: '' }] }, /empty or non-string clientSecret/],
  ['a secret with method none', { clients: [{ clientId: 'a', clientSecret: 's', tokenEndpointAuthMethod: 'none' }] }, /tokenEndpointAuthMethod "none"/],
  ['a Basic client with no secret', { clients: [{ clientId: 'a', tokenEndpointAuthMethod: 'client_secret_basic' }] }, /has no clientSecret/],
  ['an unknown auth method', { clients: [{ clientId: 'a', tokenEndpointAuthMethod: 'private_key_jwt' }] }, /unknown tokenEndpointAuthMethod/],
  ['a missing issueToken', { issueToken: undefined }, /issueToken must be a function/],
  ['a store missing claim()', { store: { save () {} } }, /store must implement/],
  ['a fractional interval', { interval: 2.5 }, /interval must be an integer/],
  ['a zero interval', { interval: 0 }, /interval must be an integer from 1/],
  ['an expiresIn of 5 seconds', { expiresIn: 5 }, /expiresIn must be an integer from 10/],
  ['an interval as long as expiresIn', { expiresIn: 60, interval: 60 }, /interval must be shorter than expiresIn/],
  ['a negative pollLeeway', { pollLeeway: -1 }, /pollLeeway must be a number/],
  ['a weak user code', { userCode: { charset: 'AB', length: 8 } }, /bits of entropy/],
  ['a user code mask that disagrees with length', { userCode: { mask: 'XXX-XXX', length: 8 } }, /does not match/],
  ['a path without a slash', { paths: { token: 'token' } }, /paths.token must start with/],
  ['an unknown path name', { paths: { authorize: '/a' } }, /not a known path/],
  ['a relative verificationUri', { verificationUri: '/device' }, /verificationUri must be an absolute/],
  ['no pages and no verificationUri', { verificationUri: undefined }, /nothing serves the verification page: add authenticate: \(request, reply\) => subject \| undefined to serve the built-in pages, or verificationUri/],
  ['pages: false and no verificationUri', { verificationUri: undefined, pages: false, authenticate: () => 'u' }, /nothing serves the verification page/],
  ['pages without authenticate', { pages: { showDeviceInfo: false } }, /pages is set but authenticate is not, so no page would be served: add authenticate/],
  ['a prefix without a slash', { prefix: 'oauth' }, /prefix must be a path/],
  ['a zero bodyLimit', { bodyLimit: 0 }, /bodyLimit must be a positive integer/],
  ['metadata of the wrong type', { metadata: 'yes' }, /metadata must be a boolean or an object/]
]

for (const [name, override, message] of cases) {
  t.test(`${name} is refused at register time`, async t => {
    t.match(await registerError({ ...base, ...override }), message)
  })
}

t.test('valid options register', async t => {
  t.equal(await registerError(base), '')
})

t.test('a plain-http issuer on a public host is accepted with a warning', async t => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (l: string) => { lines.push(l) } } } })
  t.after(() => app.close())
  await app.register(deviceGrant, { ...base, issuer: 'http://auth.example.com' })
  await app.ready()
  t.ok(lines.some(l => l.includes('requires TLS')), 'warned')
})

t.test('a plain-http issuer on loopback is accepted silently', async t => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (l: string) => { lines.push(l) } } } })
  t.after(() => app.close())
  await app.register(deviceGrant, { ...base, issuer: 'http://127.0.0.1:3000' })
  await app.ready()
  t.equal(lines.length, 0)
})

t.test('clients may be a lookup function', async t => {
  const app = Fastify()
  t.after(() => app.close())
  await app.register(deviceGrant, { ...base, clients: async id => (id === 'fn-tv' ? { clientId: 'fn-tv' } : undefined) })
  const res = await app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=fn-tv' })
  t.equal(res.statusCode, 200)
})

t.test('events report each step without secrets or device codes', async t => {
  const events: Array<{ type: string }> = []
  const app = Fastify()
  t.after(() => app.close())
  await app.register(deviceGrant, { ...base, onEvent: e => { events.push(e) } })
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })).json()
  const pollOnce = () => app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=tv&device_code=${auth.device_code}` })
  await pollOnce()
  await app.deviceGrant.approve(auth.user_code, 'alice')
  await pollOnce()
  const other = (await app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })).json()
  await app.deviceGrant.deny(other.user_code, 'alice')
  t.same(events.map(e => e.type), ['authorization.created', 'poll.rejected', 'grant.approved', 'token.issued', 'authorization.created', 'grant.denied'])
  t.notOk(JSON.stringify(events).includes(auth.device_code))
})

t.test('a throwing event listener is logged and the flow goes on', async t => {
  const app = Fastify()
  t.after(() => app.close())
  await app.register(deviceGrant, { ...base, onEvent: () => { throw new Error('audit sink down') } })
  const res = await app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })
  t.equal(res.statusCode, 200)
})

t.test('the default memory store is closed with the app', async t => {
  const app = Fastify()
  await app.register(deviceGrant, base)
  await app.ready()
  await app.close()
  t.pass('closed without hanging on the sweep timer')
})
