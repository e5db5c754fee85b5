// Hostile input over a real socket, where Node's HTTP parser has its say: duplicate
// Content-Type, Authorization and Content-Length headers, chunked bodies good and bad, headers
// past Node's 16 KiB limit, bodies past the plugin's 16 KiB limit. inject() cannot send these
// as a client would. Never a 5xx, never a hang; what reaches the routes is a §5.2 answer.
import t from 'tap'
import { connect } from 'node:net'
import fc from 'fast-check'
import type { AddressInfo } from 'node:net'
import { authorize, buildApp, DEVICE_CODE_GRANT_TYPE } from './helpers.js'
import {
  AUTHORIZATION_ERRORS, authorization, body, check, checkUnchanged, contentType, fuzzSeed, headerText, nearValid,
  SECRET_MARKER, snapshot, Tally, TOKEN_ERRORS
} from './fuzz-helpers.js'

// A few seconds alone, but tap's 30 s per file is too tight when turbo runs every package at once on 2 cores.
t.setTimeout(180_000)
const RUNS = Number(process.env.FUZZ_RUNS_HTTP ?? 600)
const seed = fuzzSeed()
t.comment(`fast-check seed ${seed} (replay with FUZZ_SEED=${seed}), ${RUNS} runs`)

const { app, store } = await buildApp()
t.teardown(() => app.close())
const grants = [await authorize(app), await authorize(app)]
await app.deviceGrant.approve(grants[1]!.user_code, 'alice')
const known = { deviceCodes: grants.map(g => g.device_code), userCodes: grants.map(g => g.user_code) }
await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo

interface RawResponse { statusCode: number, headers: Record<string, string>, body: string }

/** Writes `raw`, half-closes, and reads everything the server sends back (5 s at most). */
async function send (raw: Buffer): Promise<RawResponse | undefined> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no answer within 5 s'))
    }, 5000)
    socket.on('data', c => chunks.push(c))
    socket.on('error', () => {}) // a reset after the server answered and closed: read what came
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parseFirstResponse(Buffer.concat(chunks)))
    })
    socket.end(raw)
  })
}

/** The first response on the wire (a body sent without framing makes the server read a second request). */
function parseFirstResponse (wire: Buffer): RawResponse | undefined {
  const text = wire.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const i = line.indexOf(':')
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
  }
  let rest = text.slice(end + 4)
  let body = ''
  if (headers['content-length'] !== undefined) {
    body = rest.slice(0, Number(headers['content-length']))
  } else if (headers['transfer-encoding'] === 'chunked') {
    for (let i = 0; i < 1000; i++) {
      const eol = rest.indexOf('\r\n')
      const size = parseInt(rest.slice(0, eol), 16)
      if (eol < 0 || !(size > 0)) break
      body += rest.slice(eol + 2, eol + 2 + size)
      rest = rest.slice(eol + 2 + size + 2)
    }
  }
  return { statusCode: Number(statusLine.split(' ')[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') }
}

const chunked = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')])

const raw = fc.record({
  path: fc.constantFrom('/token', '/device_authorization'),
  contentTypes: fc.array(contentType.filter((c): c is string => c !== undefined), { maxLength: 3 }),
  authorizations: fc.array(authorization(known).filter((a): a is string => a !== undefined), { maxLength: 2 }),
  body: fc.oneof(
    nearValid(known, fc.constantFrom(...known.deviceCodes).map((code): Array<[string, string]> => [['grant_type', DEVICE_CODE_GRANT_TYPE], ['device_code', code], ['client_id', 'tv']])),
    body(known).map(b => b ?? '')
  ),
  framing: fc.constantFrom('length', 'length', 'length', 'chunked', 'bad-chunk', 'two-lengths', 'length-and-chunked', 'none'),
  padding: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 24_000 }) }),
  extra: fc.array(fc.tuple(fc.constantFrom('X-Thing', 'Accept', 'Expect', 'Host', 'Cookie', 'Content-Encoding'), headerText(40)), { maxLength: 3 })
})

const tally = new Tally()

await t.test(`${RUNS} raw HTTP requests`, async t => {
  await fc.assert(fc.asyncProperty(raw, async r => {
    const payload = Buffer.from(r.body)
    const lines = [`POST ${r.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
    for (const ct of r.contentTypes) lines.push(`Content-Type: ${ct}`)
    for (const a of r.authorizations) lines.push(`Authorization: ${a}`)
    for (const [k, v] of r.extra) lines.push(`${k}: ${v}`)
    if (r.padding > 0) lines.push(`X-Pad: ${'p'.repeat(r.padding)}`)
    let wire = payload
    if (r.framing === 'length') lines.push(`Content-Length: ${payload.length}`)
    if (r.framing === 'two-lengths') lines.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 1}`)
    if (r.framing === 'chunked' || r.framing === 'bad-chunk' || r.framing === 'length-and-chunked') {
      lines.push('Transfer-Encoding: chunked')
      wire = r.framing === 'bad-chunk' ? Buffer.concat([Buffer.from('zz\r\n'), payload]) : chunked(payload)
      if (r.framing === 'length-and-chunked') lines.push(`Content-Length: ${payload.length}`)
    }
    const before = await snapshot(store, known.deviceCodes)
    const res = await send(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), wire]))
    // No framing and no body: the request is complete, so an answer is owed. Otherwise a
    // connection closed without one is the parser dropping a broken request, which is fine.
    if (res === undefined) {
      tally.add('no answer', 0)
      return
    }
    check(res.statusCode < 500, 'never a 5xx', res)
    const fromRoute = res.headers['cache-control'] === 'no-store'
    tally.add(`${fromRoute ? r.path : 'parser'} ${res.statusCode}`, res.statusCode)
    check(!res.body.includes(SECRET_MARKER), 'a presented secret is never echoed', res)
    if (fromRoute) {
      check(res.headers.pragma === 'no-cache', 'Pragma: no-cache', res)
      if (res.statusCode !== 200) {
        const json = JSON.parse(res.body)
        check((r.path === '/token' ? TOKEN_ERRORS : AUTHORIZATION_ERRORS).has(json.error), `error ${String(json.error)}`, res)
        check(json.error_description === undefined || /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/.test(json.error_description), 'error_description charset', res)
      }
    } else {
      // Refused by Node's parser or Fastify's client-error handler before any route ran.
      check([400, 413, 417, 431].includes(res.statusCode), `a protocol-level refusal is 400, 413, 417 (an Expect Node does not know) or 431 (got ${res.statusCode})`, res)
    }
    if (res.statusCode !== 200) {
      checkUnchanged(before, await snapshot(store, known.deviceCodes), res.statusCode === 400 && /authorization_pending|slow_down/.test(res.body))
    }
  }), { numRuns: RUNS, seed, endOnFailure: true })
  t.comment(`${tally.cases} cases: ${tally}`)
  t.equal(tally.fiveXX, 0, 'no 5xx')
})

t.test('a header block over 16 KiB is refused by Node with 431, and the server goes on', async t => {
  const res = await send(Buffer.from(`POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic ${'QUFB'.repeat(5000)}\r\nContent-Length: 0\r\n\r\n`))
  t.equal(res?.statusCode, 431)
  const ok = await send(Buffer.from('POST /device_authorization HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\nclient_id=tv'))
  t.equal(ok?.statusCode, 200)
})
