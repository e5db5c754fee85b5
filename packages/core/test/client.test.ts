import t from 'tap'
import { codeOf } from './codes.js'
import { authenticateClient, OAuthError, parseBasicAuthorization, readClientClaim, toClientLookup, verifyClient } from '../src/index.js'
import { secretsEqual } from '../src/client.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

t.test('Basic credentials are form-decoded after base64 (RFC 6749 §2.3.1)', async t => {
  t.same(parseBasicAuthorization('Basic ' + b64('my%3Aclient:p%3Aa%25s%2Bs+w')), { clientId: 'my:client', clientSecret: 'p:a%s+s w' })
  t.same(parseBasicAuthorization('basic   ' + b64('a:')), { clientId: 'a', clientSecret: '' })
})

t.test('other schemes are not Basic, and broken Basic headers decode to nothing', async t => {
  t.equal(parseBasicAuthorization('Bearer abc'), undefined)
  t.equal(parseBasicAuthorization('Basicx abc'), undefined)
  t.same(parseBasicAuthorization('Basic'), {})
  t.same(parseBasicAuthorization('Basic ***'), {})
  t.same(parseBasicAuthorization('Basic ' + b64('nocolon')), {})
  t.same(parseBasicAuthorization('Basic ' + b64(':secret')), {})
  t.same(parseBasicAuthorization('Basic ' + b64('%E0:x')), {})
  t.same(parseBasicAuthorization('Basic ' + 'A'.repeat(5000)), {})
})

t.test('secret comparison is exact', async t => {
  t.ok(secretsEqual('s3cret', 's3cret'))
  t.notOk(secretsEqual('s3cret', 's3cret '))
  t.notOk(secretsEqual('', 'x'))
})

t.test('authentication outcomes', async t => {
  const lookup = toClientLookup([{ clientId: 'pub' }, { clientId: 'conf', clientSecret: 'pw' }])
  t.same((await authenticateClient({ clientId: 'pub' }, lookup)).method, 'none')
  t.same((await authenticateClient({ basic: { clientId: 'conf', clientSecret: 'pw' } }, lookup)).method, 'client_secret_basic')
  t.same((await authenticateClient({ clientId: 'conf', clientSecret: 'pw' }, lookup)).method, 'client_secret_post')
  const failure = async (p: Parameters<typeof authenticateClient>[0]) => {
    try {
      await authenticateClient(p, lookup)
      return 'ok'
    } catch (err) {
      t.ok(err instanceof OAuthError)
      return `${(err as OAuthError).error}/${(err as OAuthError).statusCode}`
    }
  }
  t.equal(await failure({ basic: { clientId: 'pub', clientSecret: 'x' } }), 'invalid_client/401', 'a public client has no secret to check')
  t.equal(await failure({ basic: { clientId: 'nobody', clientSecret: 'pw' } }), 'invalid_client/401')
  t.equal(await failure({ basic: {} }), 'invalid_client/401')
  t.equal(await failure({ clientSecret: 'pw' }), 'invalid_client/400', 'a secret with no id')
  t.equal(await failure({ clientId: 'nobody', clientSecret: 'pw' }), 'invalid_client/400')
  t.equal(await failure({ clientId: 'nobody' }), 'invalid_client/400')
  t.equal(await failure({}), 'invalid_client/400')
})

t.test('client lists are validated', async t => {
  t.throws(() => toClientLookup('x' as never), /array of clients or a lookup function/)
  t.throws(() => toClientLookup([{ clientId: '' }]), /non-empty string clientId/)
  t.throws(() => toClientLookup([{ clientId: 'a' }, { clientId: 'a' }]), /listed twice/)
  t.throws(() => toClientLookup([{ clientId: 'a', clientSecret: '' }]), /empty or non-string clientSecret/)
  t.throws(() => toClientLookup([{ clientId: 'a', tokenEndpointAuthMethod: 'tls' as never }]), /unknown tokenEndpointAuthMethod/)
  t.throws(() => toClientLookup([{ clientId: 'a', clientSecret: 's', tokenEndpointAuthMethod: 'none' }]), /"none"/)
  t.throws(() => toClientLookup([{ clientId: 'a', tokenEndpointAuthMethod: 'client_secret_post' }]), /has no clientSecret/)
  const fn = () => undefined
  t.equal(toClientLookup(fn), fn)
})

t.test('a client restricted to one method cannot use the other', async t => {
  const lookup = toClientLookup([{ clientId: 'b', clientSecret: 'pw', tokenEndpointAuthMethod: 'client_secret_basic' }])
  t.equal(await codeOf(authenticateClient({ clientId: 'b', clientSecret: 'pw' }, lookup)), 'invalid_client')
  t.equal(await codeOf(authenticateClient({ basic: { clientId: 'b', clientSecret: 'pw' }, clientSecret: 'pw' }, lookup)), 'invalid_request')
  t.equal(await codeOf(authenticateClient({ basic: { clientId: 'b', clientSecret: 'pw' }, clientId: 'c' }, lookup)), 'invalid_request')
  t.equal((await authenticateClient({ basic: { clientId: 'b', clientSecret: 'pw' }, clientId: 'b' }, lookup)).method, 'client_secret_basic')
})

t.test('client authentication as steps: the claim is read without a lookup, then verified against the client', async t => {
  const outcome = (step: () => unknown): string => {
    try {
      step()
      return 'ok'
    } catch (err) {
      return `${(err as OAuthError).error}/${(err as OAuthError).statusCode}`
    }
  }
  t.strictSame(readClientClaim({ basic: { clientId: 'conf', clientSecret: 'pw' } }), { clientId: 'conf', method: 'client_secret_basic', secret: 'pw' })
  t.strictSame(readClientClaim({ clientId: 'conf', clientSecret: 'pw' }), { clientId: 'conf', method: 'client_secret_post', secret: 'pw' })
  t.strictSame(readClientClaim({ clientId: 'pub' }), { clientId: 'pub', method: 'none' })
  t.equal(outcome(() => readClientClaim({ basic: { clientId: 'a', clientSecret: 'pw' }, clientSecret: 'pw' })), 'invalid_request/400')
  const conf = { clientId: 'conf', clientSecret: 'pw' }
  t.equal(verifyClient({ clientId: 'conf', method: 'client_secret_post', secret: 'pw' }, conf).method, 'client_secret_post')
  t.equal(outcome(() => verifyClient({ clientId: 'conf', method: 'client_secret_basic', secret: 'no' }, conf)), 'invalid_client/401')
  t.equal(outcome(() => verifyClient({ clientId: 'x', method: 'client_secret_post', secret: 'pw' }, undefined)), 'invalid_client/400')
  t.equal(outcome(() => verifyClient({ clientId: 'conf', method: 'none' }, conf)), 'invalid_client/400', 'a confidential client must authenticate')
})
