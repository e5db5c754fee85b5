import t from 'tap'
import { OAuthError, sanitizeDescription } from '../src/index.js'

t.test('descriptions keep to the RFC 6749 §5.2 character set', async t => {
  t.equal(sanitizeDescription('say "hi" \\ now\n\u00e9'), 'say ?hi? ? now??')
  t.equal(sanitizeDescription('x'.repeat(600)).length, 500)
})

t.test('statuses: 400 by default, 401 with a Basic challenge, 5xx for server faults', async t => {
  t.equal(new OAuthError('invalid_grant').statusCode, 400)
  t.equal(new OAuthError('invalid_client', 'x', { basicChallenge: true }).statusCode, 401)
  t.equal(new OAuthError('server_error').statusCode, 500)
  t.equal(new OAuthError('temporarily_unavailable').statusCode, 503)
  t.equal(new OAuthError('invalid_request', 'x', { statusCode: 405 }).statusCode, 405)
})

t.test('the JSON body omits an absent description', async t => {
  t.same(new OAuthError('slow_down').toJSON(), { error: 'slow_down' })
  t.same(new OAuthError('slow_down', 'wait "5"').toJSON(), { error: 'slow_down', error_description: 'wait ?5?' })
})
