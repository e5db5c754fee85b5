import t from 'tap'
import { MemoryStore } from '../../store-memory/src/index.js'
import { createDeviceGrant, isOAuthError, StoreUnavailableError, type DeviceClient, type TokenResponse } from '../src/index.js'

const tv: DeviceClient = { clientId: 'tv' }

function setup () {
  const clock = { now: Date.now() }
  const minted: string[] = []
  const grant = createDeviceGrant({
    store: new MemoryStore({ sweepInterval: 0 }),
    clock: () => clock.now,
    issueToken: ({ subject, scope }) => { minted.push(subject); return { access_token: `at-${subject}`, token_type: 'Bearer', ...(scope === 'x' && { scope: 'custom' }) } }
  })
  return { grant, clock, minted }
}

async function outcome (p: Promise<TokenResponse>): Promise<string> {
  try {
    return `token:${(await p).access_token}`
  } catch (err) {
    if (!isOAuthError(err)) throw err
    return err.error
  }
}

t.test('the poll state machine, step by step', async t => {
  const { grant, clock, minted } = setup()
  const auth = await grant.authorize({ client: tv, scope: 'read', verificationUri: 'https://a.example/device' })
  const poll = (client = tv) => outcome(grant.poll({ client, deviceCode: auth.device_code }))
  t.equal(await poll(), 'authorization_pending')
  clock.now += 1000
  t.equal(await poll(), 'slow_down')
  clock.now += 10_000
  t.equal(await poll(), 'authorization_pending')
  t.equal(await poll({ clientId: 'other' }), 'invalid_grant')
  t.equal(await poll({ clientId: 'tv', grantTypes: ['authorization_code'] }), 'unauthorized_client')
  await grant.approve(auth.user_code, 'alice')
  t.equal(await poll(), 'token:at-alice')
  t.equal(await poll(), 'invalid_grant')
  t.same(minted, ['alice'])
  clock.now += 600_000
  t.equal(await poll(), 'expired_token')
})

t.test('a denied grant stays denied', async t => {
  const { grant } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri: 'https://a.example/device' })
  await grant.deny(auth.user_code, 'alice')
  t.equal(await outcome(grant.poll({ client: tv, deviceCode: auth.device_code })), 'access_denied')
  t.equal(await outcome(grant.poll({ client: tv, deviceCode: auth.device_code })), 'access_denied')
})

t.test('a scope set by issueToken is kept as is', async t => {
  const { grant } = setup()
  const auth = await grant.authorize({ client: tv, scope: 'x', verificationUri: 'https://a.example/device' })
  await grant.approve(auth.user_code, 'alice')
  t.equal((await grant.poll({ client: tv, deviceCode: auth.device_code })).scope, 'custom')
})

t.test('a store fault reaches the caller as StoreUnavailableError', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  store.recordPoll = async () => { throw new StoreUnavailableError('redis down') }
  const grant = createDeviceGrant({ store, issueToken: () => ({ access_token: 'a', token_type: 'b' }) })
  await t.rejects(grant.poll({ client: tv, deviceCode: 'x' }), { name: 'StoreUnavailableError', retryAfter: 5 })
})
