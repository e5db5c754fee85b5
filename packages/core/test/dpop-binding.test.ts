import t from 'tap'
import { MemoryStore } from '../../store-memory/src/index.js'
import { createDeviceGrant, hashDeviceCode, toClientLookup, type DeviceClient, type IssueTokenInput } from '../src/index.js'

const tv: DeviceClient = { clientId: 'tv' }
const verificationUri = 'https://a.example/device'

function setup () {
  const issued: IssueTokenInput[] = []
  const store = new MemoryStore({ sweepInterval: 0 })
  const grant = createDeviceGrant({
    store,
    issueToken: input => { issued.push(input); return { access_token: 'at', token_type: input.dpopJkt === undefined ? 'Bearer' : 'DPoP' } }
  })
  return { grant, store, issued }
}

t.test('the DPoP key thumbprint of the token request reaches issueToken', async t => {
  const { grant, issued } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri })
  await grant.approve(auth.user_code, 'alice')
  const outcome = await grant.pollOutcome({ client: tv, deviceCode: auth.device_code, dpopJkt: 'key-a' })
  t.match(outcome, { ok: true, token: { token_type: 'DPoP' } })
  t.equal(issued[0]?.dpopJkt, 'key-a')
})

t.test('without a proof, issueToken gets no dpopJkt', async t => {
  const { grant, issued } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri })
  await grant.approve(auth.user_code, 'alice')
  await grant.poll({ client: tv, deviceCode: auth.device_code })
  t.notOk('dpopJkt' in (issued[0] ?? {}))
})

t.test('a key proved at device authorization is stored on the record', async t => {
  const { grant, store } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri, dpopJkt: 'key-a' })
  t.equal((await store.findByDeviceCodeHash(hashDeviceCode(auth.device_code)))?.dpopJkt, 'key-a')
})

t.test('a bound device code is refused with another key or none, and stays redeemable by its own', async t => {
  const { grant, issued } = setup()
  const auth = await grant.authorize({ client: tv, verificationUri, dpopJkt: 'key-a' })
  await grant.approve(auth.user_code, 'alice')
  t.match(await grant.pollOutcome({ client: tv, deviceCode: auth.device_code, dpopJkt: 'key-b' }), { ok: false, error: 'invalid_dpop_proof' })
  t.match(await grant.pollOutcome({ client: tv, deviceCode: auth.device_code }), { ok: false, error: 'invalid_dpop_proof' })
  t.equal(issued.length, 0, 'no token was minted')
  t.match(await grant.pollOutcome({ client: tv, deviceCode: auth.device_code, dpopJkt: 'key-a' }), { ok: true })
  t.equal(issued[0]?.dpopJkt, 'key-a')
})

t.test('dpopBoundAccessTokens must be a boolean', async t => {
  t.throws(() => toClientLookup([{ clientId: 'x', dpopBoundAccessTokens: 'yes' as unknown as boolean }]), /dpopBoundAccessTokens/)
  t.doesNotThrow(() => toClientLookup([{ clientId: 'x', dpopBoundAccessTokens: true }]))
})

t.test('dpopBinding: false skips the key check and refuses to bind at authorize', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  let reads = 0
  const counting = new Proxy(store, {
    get (target, prop) {
      if (prop === 'findByDeviceCodeHash') return async (hash: string) => { reads++; return await target.findByDeviceCodeHash(hash) }
      const value = Reflect.get(target, prop) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const grant = createDeviceGrant({ store: counting, dpopBinding: false, issueToken: () => ({ access_token: 'at', token_type: 'Bearer' }) })
  await t.rejects(grant.authorize({ client: tv, verificationUri, dpopJkt: 'key-a' }), /dpopBinding: false/)
  const auth = await grant.authorize({ client: tv, verificationUri })
  await grant.approve(auth.user_code, 'alice')
  reads = 0
  t.match(await grant.pollOutcome({ client: tv, deviceCode: auth.device_code }), { ok: true })
  t.equal(reads, 0, 'no extra read on the approved path')
})

t.test('a store without findByDeviceCodeHash: another key gets no token (checked on the claimed record)', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const withoutFind = new Proxy(store, {
    get (target, prop) {
      if (prop === 'findByDeviceCodeHash') return undefined
      const value = Reflect.get(target, prop) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const issued: IssueTokenInput[] = []
  const grant = createDeviceGrant({ store: withoutFind, issueToken: input => { issued.push(input); return { access_token: 'at', token_type: 'DPoP' } } })
  const auth = await grant.authorize({ client: tv, verificationUri, dpopJkt: 'key-a' })
  await grant.approve(auth.user_code, 'alice')
  t.match(await grant.pollOutcome({ client: tv, deviceCode: auth.device_code, dpopJkt: 'key-b' }), { ok: false, error: 'invalid_dpop_proof' })
  t.equal(issued.length, 0)
})
