import t from 'tap'
import { ClientError, WWWAuthenticateChallengeError } from 'openid-client'
import { parseCliArgs, UsageError } from '../src/args.js'
import { bigText } from '../src/banner.js'
import { describe, explain } from '../src/device.js'
import { waiting, type Terminal } from '../src/terminal.js'

function recordingTerminal (isTTY: boolean) {
  let out = ''
  const term: Terminal = { out: s => { out += s }, err: s => { out += s }, isTTY, columns: 80 }
  return { term, output: () => out }
}

t.test('arguments: flags, then DEVICE_* variables, then the demo defaults', async t => {
  const defaults = parseCliArgs([], {})
  t.same(defaults, { help: false, options: { server: new URL('http://127.0.0.1:3000'), clientId: 'demo-tv', api: new URL('http://127.0.0.1:3000/api/me'), qr: true, dpop: true } })
  const env = { DEVICE_SERVER: 'https://auth.example.com/', DEVICE_CLIENT_ID: 'tv', DEVICE_CLIENT_SECRET: 's' }
  t.same(parseCliArgs([], env), { help: false, options: { server: new URL('https://auth.example.com/'), clientId: 'tv', clientSecret: 's', api: new URL('https://auth.example.com/api/me'), qr: true, dpop: true } })
  const flags = parseCliArgs(['--server', 'http://localhost:4000', '--client-id', 'cli', '--client-secret', 'x', '--scope', ' read write ', '--api', 'http://api.localhost/me', '--no-qr', '--no-dpop'], env)
  t.same(flags, { help: false, options: { server: new URL('http://localhost:4000'), clientId: 'cli', clientSecret: 'x', scope: 'read write', api: new URL('http://api.localhost/me'), qr: false, dpop: false } })
  t.same(parseCliArgs(['--scope', ' ', '--server', ''], { DEVICE_SERVER: '' }), defaults, 'empty values count as absent')
  t.same(parseCliArgs(['-h'], {}), { help: true })
})

t.test('bad arguments are usage errors', async t => {
  t.throws(() => parseCliArgs(['--server', 'not a url'], {}), new UsageError('--server must be an absolute URL, got "not a url"'))
  t.throws(() => parseCliArgs(['--server', 'ftp://x'], {}), /--server must be an http: or https: URL/)
  t.throws(() => parseCliArgs(['--api', 'nope'], {}), /--api must be an absolute URL/)
  t.throws(() => parseCliArgs(['--frobnicate'], {}), { name: 'UsageError', message: "Unknown option '--frobnicate'" })
  t.throws(() => parseCliArgs(['positional'], {}), { name: 'UsageError', message: /Unexpected argument 'positional'/ })
})

t.test('the code in big letters, when every character has a glyph and it fits', async t => {
  const big = bigText('wdjb-mjht') as string
  t.equal(big.split('\n').length, 5)
  t.equal(big.split('\n')[0], '  █   █ ████    ███ ████      █   █   ███ █   █ █████')
  t.ok(big.split('\n').every(row => row.length <= 60))
  t.equal(bigText('0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ', 400)?.split('\n').length, 5, 'digits and the whole alphabet')
  t.equal(bigText('WDJB-MJHT', 40), undefined, 'too wide for the terminal')
  t.equal(bigText('ÄÖÜ'), undefined, 'no glyph')
  t.equal(bigText(''), undefined)
})

t.test('waiting: one plain line when not a TTY', async t => {
  const { term, output } = recordingTerminal(false)
  const spinner = waiting(term, 65_000, () => 0)
  spinner.stop()
  t.equal(output(), 'Waiting for approval (the code expires in 1:05)…\n')
})

t.test('waiting: a spinner with the time left on a TTY, cleared at the end', async t => {
  const { term, output } = recordingTerminal(true)
  let now = 0
  const spinner = waiting(term, 600_000, () => now)
  t.match(output().split('\x1b').join('^['), /^\r\^\[\[2K⠋ Waiting for approval in the browser… 10:00 left/)
  now = 1_500
  await new Promise(resolve => setTimeout(resolve, 250))
  t.match(output(), /⠙ Waiting for approval in the browser… 9:59 left/)
  spinner.stop()
  t.ok(output().endsWith('\r\x1b[2K'), 'the line is cleared')
  const length = output().length
  await new Promise(resolve => setTimeout(resolve, 250))
  t.equal(output().length, length, 'and nothing more is drawn')
})

t.test('errors read as one line', async t => {
  const server = new URL('http://127.0.0.1:1/')
  const refused = new ClientError('something went wrong', { cause: new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }) })
  t.equal(describe(refused, server), 'Cannot reach http://127.0.0.1:1/ (ECONNREFUSED). Is the server running? Start the example with: npx -y pnpm@10 start')
  const hungUp = new ClientError('something went wrong', { cause: new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }) })
  t.equal(describe(hungUp, server), 'Cannot reach http://127.0.0.1:1/ (connection closed). Is the server running? Start the example with: npx -y pnpm@10 start', 'a server that hung up mid-request')
  t.equal(describe(Object.assign(new ClientError('unexpected HTTP response status code'), { code: 'OAUTH_RESPONSE_IS_NOT_CONFORM' }), server), 'unexpected HTTP response status code [OAUTH_RESPONSE_IS_NOT_CONFORM]')
  t.equal(describe(new ClientError('parsing error occured', { cause: new Error('bad JSON') }), server), 'parsing error occured: bad JSON')
  t.equal(describe(new Error('plain'), server), 'plain')
  t.equal(describe('odd', server), 'odd')
})

t.test('a 401 challenge reads as the OAuth error in its body, else in the challenge', async t => {
  const server = new URL('http://127.0.0.1:1/')
  const challenge = (body: string, parameters: Record<string, string>) => new WWWAuthenticateChallengeError('challenged', {
    cause: [{ scheme: 'bearer', parameters }],
    response: new Response(body, { status: 401, headers: { 'content-type': 'application/json' } })
  })
  t.equal(await explain(challenge('{"error":"invalid_client","error_description":"nope"}', {}), server), 'The server refused the request: invalid_client (nope) [HTTP 401]')
  t.equal(await explain(challenge('', { error: 'invalid_token', error_description: 'expired' }), server), 'The server refused the request: invalid_token (expired) [HTTP 401]')
  t.equal(await explain(challenge('', {}), server), 'challenged', 'nothing to say: the message')
  t.equal(await explain(new Error('plain'), server), 'plain')
})
