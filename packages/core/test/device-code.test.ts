import t from 'tap'
import { createHash } from 'node:crypto'
import { generateDeviceCode, hashDeviceCode } from '../src/index.js'

t.test('device codes are 256 random bits in base64url', async t => {
  const seen = new Set<string>()
  for (let i = 0; i < 1000; i++) {
    const code = generateDeviceCode()
    t.match(code, /^[A-Za-z0-9_-]{43}$/)
    seen.add(code)
  }
  t.equal(seen.size, 1000)
})

t.test('the stored form is the SHA-256 of the code', async t => {
  const code = generateDeviceCode()
  t.equal(hashDeviceCode(code), createHash('sha256').update(code).digest('base64url'))
  t.not(hashDeviceCode(code), code)
})
