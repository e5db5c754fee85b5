import t from 'tap'
import { dpopChallenge, InMemoryReplayCache, normalizeHtu, parseAuthorization } from '../src/index.js'

t.test('parseAuthorization splits Bearer and DPoP, case-insensitively', async t => {
  t.same(parseAuthorization(undefined), { scheme: 'none' })
  t.same(parseAuthorization('DPoP abc.def'), { scheme: 'dpop', token: 'abc.def' })
  t.same(parseAuthorization('bearer abc'), { scheme: 'bearer', token: 'abc' })
  t.same(parseAuthorization('Bearer'), { scheme: 'bearer', token: undefined })
  t.same(parseAuthorization('DPoP a"b'), { scheme: 'dpop', token: undefined })
  t.same(parseAuthorization('Basic abc'), { scheme: 'other' })
  t.same(parseAuthorization('Bearer two words'), { scheme: 'bearer', token: undefined })
  t.same(parseAuthorization('BearerX abc'), { scheme: 'other' })
})

t.test('dpopChallenge names the error, a safe description and the algorithms', async t => {
  t.equal(dpopChallenge({ error: 'invalid_token', description: 'bound "token"', algorithms: ['ES256', 'EdDSA'] }),
    'DPoP error="invalid_token", error_description="bound ?token?", algs="ES256 EdDSA"')
  t.equal(dpopChallenge({ realm: 'api', algorithms: ['ES256'] }), 'DPoP realm="api", algs="ES256"')
})

t.test('normalizeHtu refuses what is not an absolute http(s) URL', async t => {
  t.equal(normalizeHtu('/token'), undefined)
  t.equal(normalizeHtu('ftp://x/token'), undefined)
  t.equal(normalizeHtu('http://X:80/a%2fb%7e'), 'http://x/a%2Fb~')
})

t.test('the in-memory replay cache forgets an entry once it expires, and stays bounded', async t => {
  const cache = new InMemoryReplayCache({ maxEntries: 10 })
  t.equal(await cache.useOnce('k', { now: 0, expiresAt: 10 }), true)
  t.equal(await cache.useOnce('k', { now: 5, expiresAt: 15 }), false)
  t.equal(await cache.useOnce('k', { now: 10, expiresAt: 20 }), true)
  for (let i = 0; i < 50; i++) await cache.useOnce(`f${i}`, { now: 11, expiresAt: 1000 })
  t.ok(cache.size <= 10)
})
