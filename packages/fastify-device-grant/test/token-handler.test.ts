import t from 'tap'
import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE } from '../src/index.js'
import { CLIENTS, form } from './helpers.js'

/** An existing OAuth server: its own token route, its own form parser, delegating one grant type. */
async function existingServer () {
  const app = Fastify()
  await app.register(formbody)
  await app.register(deviceGrant, {
    issuer: 'https://auth.example.com',
    clients: CLIENTS,
    paths: { token: '/device/token' },
    verificationUri: 'https://auth.example.com/activate',
    issueToken: ({ subject }) => ({ access_token: `for-${subject}`, token_type: 'Bearer' })
  })
  app.post('/oauth/token', async (request, reply) => {
    const body = request.body as Record<string, unknown>
    if (body.grant_type === DEVICE_CODE_GRANT_TYPE) return app.deviceGrant.tokenHandler(request, reply)
    return reply.code(400).send({ error: 'unsupported_grant_type' })
  })
  await app.ready()
  return app
}

t.test('the token handler works when mounted in an existing token route', async t => {
  const app = await existingServer()
  t.after(() => app.close())
  const auth = await app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })
  const { device_code: deviceCode, user_code: userCode } = auth.json()
  const pollOnce = () => app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: deviceCode })
  })
  const pending = await pollOnce()
  t.equal(pending.statusCode, 400)
  t.equal(pending.json().error, 'authorization_pending')
  t.equal(pending.headers['cache-control'], 'no-store')
  await app.deviceGrant.approve(userCode, 'carol')
  const ok = await pollOnce()
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { access_token: 'for-carol', token_type: 'Bearer' })
})

t.test('the mounted handler refuses repeated parameters parsed by @fastify/formbody', async t => {
  const app = await existingServer()
  t.after(() => app.close())
  const res = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: DEVICE_CODE_GRANT_TYPE, client_id: ['tv', 'tv'], device_code: 'x' })
  })
  t.equal(res.json().error, 'invalid_request')
})
