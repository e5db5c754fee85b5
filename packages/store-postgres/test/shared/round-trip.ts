// Every field of a record through save and the two finds, exactly as it went in.
import type { DeviceGrantRecord } from '@device-grant/core'
import type { PgStoreHarness, Tap } from './harness.js'
import { grant } from './fixtures.js'

export function roundTripTests (t: Tap, { store }: Pick<PgStoreHarness, 'store'>): void {
  t.test('save and find round-trip every field, dpopJkt included, times exact to the millisecond', async (t) => {
    const max = Number.MAX_SAFE_INTEGER
    const full: DeviceGrantRecord = {
      ...grant({ createdAt: max - 600_001, expiresAt: max }),
      scope: '',
      lastPolledAt: max - 1,
      subject: 'user-ü 1',
      grantedScope: 'openid',
      decidedAt: max - 3,
      ip: '2001:db8::1',
      userAgent: 'Device/1.0 (ß; "quoted")',
      dpopJkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
    }
    t.equal(await store.save(full), true)
    t.strictSame(await store.findByDeviceCodeHash(full.deviceCodeHash), full)
    t.strictSame(await store.findByUserCode(full.userCode), full)
    const minimal = grant({ createdAt: 1_732_000_000_123 })
    t.equal(await store.save(minimal), true)
    const found = await store.findByDeviceCodeHash(minimal.deviceCodeHash)
    t.strictSame(found, minimal, 'optional fields stay absent (not null, not undefined keys)')
    t.same(Object.keys(found ?? {}).sort(), Object.keys(minimal).sort())
    t.equal(await store.findByDeviceCodeHash('no-such-hash'), undefined)
    t.equal(await store.findByUserCode('NOSUCHCODE'), undefined)
  })
}
