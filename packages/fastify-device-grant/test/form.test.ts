import t from 'tap'
import { DEVICE_CODE_GRANT_TYPE } from '../src/index.js'
import { parseForm } from '../src/form.js'

/** What the WHATWG urlencoded parser makes of a body, repeats kept as arrays. */
function whatwg (body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null)
  for (const [name, value] of new URLSearchParams(body)) {
    const prev = out[name]
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  return out
}

const BODIES = [
  `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=tv&device_code=abc`,
  'grant_type=urn%3aietf%3aparams%3aoauth%3agrant-type%3adevice_code&client_id=tv',
  'grant_type=urn%3Aietf%3aparams%3Aoauth%3agrant-type%3Adevice_code',
  `grant_type=${DEVICE_CODE_GRANT_TYPE}`,
  `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}x`,
  `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}+`,
  `${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}=grant_type`,
  'scope=read+write&scope=a%20b',
  'a=%ZZ&b=1',
  'a=%F0%9F%98%80&b=%E9',
  'a=\uD800&b=2',
  'a&&=&b=&=c',
  '__proto__=x&constructor=y'
]

t.test('parseForm reads every body as the WHATWG parser does, the device grant type in any hex case included', async t => {
  for (const body of BODIES) t.same(Object.entries(parseForm(body)), Object.entries(whatwg(body)), body)
})

t.test('the device grant type decodes to itself however it is percent-encoded', async t => {
  for (const body of BODIES.slice(0, 4)) t.equal(parseForm(body).grant_type, DEVICE_CODE_GRANT_TYPE, body)
  t.equal(parseForm(BODIES[4]!).grant_type, `${DEVICE_CODE_GRANT_TYPE}x`)
  t.equal(parseForm(BODIES[5]!).grant_type, `${DEVICE_CODE_GRANT_TYPE} `)
})
