import t from 'tap'
import { parseCliArgs, type CliOptions } from '../src/args.js'
import { signIn } from '../src/device.js'
import type { Terminal } from '../src/terminal.js'
import { decideInBrowser, launchBrowser } from './helpers/browser.js'
import { runCli } from './helpers/cli.js'
import { freePort, kill, startServer } from './helpers/server.js'

// The device CLI as a user runs it, a child process, against the example server as another
// process, while a person approves or denies in Chromium.
const server = await startServer(t)
const browser = await launchBrowser(t)
const LINK = /\(or open (http:\/\/\S+)\)/

t.test('approve: the CLI shows the code, polls, and prints "Signed in as demo"', async t => {
  const cli = runCli(t, ['--server', server.base])
  const link = (await cli.waitFor(LINK))[1] as string
  // The waiting line is a write of its own, after the instructions: wait for it, don't race it.
  await cli.waitFor(/Waiting for approval.*\n/)
  const out = cli.stdout()
  t.match(out, `${server.base}/device\n`, 'prints verification_uri')
  const code = /user_code=([A-Z-]+)/.exec(link)?.[1] ?? ''
  t.match(out, `\n  ${code}\n`, 'and the user code, plain')
  t.match(out, '█', 'in big letters and a QR code too')
  t.match(out, 'Waiting for approval (the code expires in 10:00)…', 'one plain line while polling: stdout is not a TTY')
  const decided = await decideInBrowser(browser, link, 'approve')
  t.equal(decided.shownCode, code, 'the browser shows the code the CLI showed')
  t.equal(await cli.exit, 0)
  t.match(cli.stdout(), "Approved. The access token is bound to this device's DPoP key: it is useless without the key.\n", 'DPoP by default')
  t.match(cli.stdout(), /Signed in as demo \(client demo-tv, scope read\)\n$/)
  t.equal(cli.stderr(), '')
})

t.test('--no-dpop: a plain bearer token, and the CLI says so', async t => {
  const cli = runCli(t, ['--server', server.base, '--no-qr', '--no-dpop'])
  const link = (await cli.waitFor(LINK))[1] as string
  await decideInBrowser(browser, link, 'approve')
  t.equal(await cli.exit, 0)
  t.match(cli.stdout(), 'Approved. The access token is a bearer token (DPoP is off).\n')
  t.match(cli.stdout(), 'Signed in as demo (client demo-tv, scope read)')
})

t.test('--no-dpop with a client registered for DPoP only: exit 1 with invalid_dpop_proof', async t => {
  const cli = runCli(t, ['--server', server.base, '--no-qr', '--no-dpop', '--client-id', 'demo-tv-dpop'])
  const link = (await cli.waitFor(LINK))[1] as string
  await decideInBrowser(browser, link, 'approve')
  t.equal(await cli.exit, 1)
  t.equal(cli.stderr(), 'The server refused the request: invalid_dpop_proof (this client must send a DPoP proof with every token request)\n')
})

t.test('deny: a non-zero exit and a clear message', async t => {
  const cli = runCli(t, ['--no-qr'], { DEVICE_SERVER: server.base })
  const link = (await cli.waitFor(LINK))[1] as string
  t.notMatch(cli.stdout(), 'scan this QR code', '--no-qr')
  await decideInBrowser(browser, link, 'deny')
  t.equal(await cli.exit, 3)
  t.equal(cli.stderr(), 'Access denied: the request was denied in the browser. This device is not signed in.\n')
  t.notMatch(cli.stdout(), 'Signed in')
})

t.test('a confidential client with its secret (Basic), and a scope', async t => {
  const cli = runCli(t, ['--server', server.base, '--client-id', 'demo-cli-awkward', '--scope', 'read write'], { DEVICE_CLIENT_SECRET: 's3cr+t/with=odd:chars' })
  const link = (await cli.waitFor(LINK))[1] as string
  await decideInBrowser(browser, link, 'approve')
  t.equal(await cli.exit, 0)
  t.match(cli.stdout(), 'Signed in as demo (client demo-cli-awkward, scope read write)')
})

t.test('a wrong secret: exit 1 with the server\'s error', async t => {
  const cli = runCli(t, ['--server', server.base, '--client-id', 'demo-cli', '--client-secret', 'wrong'])
  t.equal(await cli.exit, 1)
  t.equal(cli.stderr(), 'The server refused the request: invalid_client (client authentication failed) [HTTP 401]\n')
})

t.test('no server there: exit 1, and how to start one', async t => {
  const cli = runCli(t, ['--server', `http://127.0.0.1:${await freePort()}`])
  t.equal(await cli.exit, 1)
  t.match(cli.stderr(), /Cannot reach http:\/\/127\.0\.0\.1:\d+\/ \(ECONNREFUSED\)\. Is the server running\? Start the example with: npx -y pnpm@10 start/)
})

t.test('bad usage: exit 2 with the usage; --help: exit 0', async t => {
  const bad = runCli(t, ['--sever', 'x'])
  t.equal(await bad.exit, 2)
  t.match(bad.stderr(), /Unknown option '--sever'[\s\S]*Usage: device-cli/)
  const help = runCli(t, ['--help'])
  t.equal(await help.exit, 0)
  t.match(help.stdout(), /^Usage: device-cli/)
})

t.test('Ctrl+C while polling: exit 130, not signed in', async t => {
  const cli = runCli(t, ['--server', server.base])
  await cli.waitFor(/Waiting for approval/)
  cli.signal('SIGINT')
  t.equal(await cli.exit, 130)
  t.equal(cli.stderr(), 'Cancelled. This device is not signed in.\n')
})

// The same code in-process, for what a child process cannot show: a TTY, a dying server.
function options (args: string[]): CliOptions {
  const parsed = parseCliArgs(args, {})
  if (parsed.help) throw new Error('unexpected --help')
  return parsed.options
}

function recordingTerminal (isTTY: boolean) {
  let out = ''
  let err = ''
  const term: Terminal = { out: s => { out += s }, err: s => { err += s }, isTTY, columns: 100 }
  const link = async () => {
    for (let i = 0; i < 300 && !LINK.test(out); i++) await new Promise(resolve => setTimeout(resolve, 50))
    return LINK.exec(out)?.[1] as string
  }
  return { term, out: () => out, err: () => err, link }
}

t.test('on a TTY: the code in bold, a spinner while polling, then the result', async t => {
  const { term, out, link } = recordingTerminal(true)
  const result = signIn(options(['--server', server.base]), term)
  await decideInBrowser(browser, await link(), 'approve')
  t.equal(await result, 0)
  // ESC shown as "^[" so the patterns hold no control characters.
  const shown = out().split('\x1b').join('^[')
  t.match(shown, /\n {2}\^\[\[1m[A-Z]{4}-[A-Z]{4}\^\[\[22m\n/, 'the plain code is bold')
  t.match(shown, /\r\^\[\[2K⠋ Waiting for approval in the browser… \d+:\d\d left \(Ctrl\+C to cancel\)/)
  t.match(out(), "\r\x1b[2KApproved. The access token is bound to this device's DPoP key: it is useless without the key.\nCalling the API with the access token…\n\x1b[1mSigned in as demo\x1b[22m (client demo-tv, scope read)\n", 'the spinner line is cleared first')
})

t.test('the server dies while the device polls: exit 1, and why', async t => {
  const doomed = await startServer(t)
  const { term, err, link } = recordingTerminal(false)
  const result = signIn(options(['--server', doomed.base, '--no-qr']), term)
  await link()
  await kill(doomed.child)
  t.equal(await result, 1)
  // Refused once it is gone; reset or closed if it went down under a poll in flight.
  t.ok(err().startsWith(`Cannot reach ${doomed.base}/ (`), err())
  t.match(err(), /\((ECONNREFUSED|ECONNRESET|connection closed)\)\. Is the server running\?/)
})

t.test('an unknown client: the server\'s OAuth error, in words', async t => {
  const { term, err } = recordingTerminal(false)
  t.equal(await signIn(options(['--server', server.base, '--client-id', 'nobody']), term), 1)
  t.match(err(), /^The server refused the request: invalid_client \(.+\)\n$/)
})

t.test('signed in, but the API answers an error: exit 1', async t => {
  const { term, out, err, link } = recordingTerminal(false)
  const result = signIn(options(['--server', server.base, '--api', `${server.base}/api/nowhere`]), term)
  await decideInBrowser(browser, await link(), 'approve')
  t.equal(await result, 1)
  t.match(out(), 'Approved.')
  t.equal(err(), `Signed in, but the API call failed: ${server.base}/api/nowhere answered 404 Not Found\n`)
})

t.test('a token the API does not accept: exit 1 with the API\'s invalid_token', async t => {
  // Another server has another random JWT key: our token is foreign to its API.
  const other = await startServer(t)
  const { term, err, link } = recordingTerminal(false)
  const result = signIn(options(['--server', server.base, '--api', `${other.base}/api/me`, '--no-qr']), term)
  await decideInBrowser(browser, await link(), 'approve')
  t.equal(await result, 1)
  t.equal(err(), 'Signed in, but the API call failed: The server refused the request: invalid_token (the access token is not valid) [HTTP 401]\n')
})

t.test('cancelled before polling starts: exit 130 at once', async t => {
  const { term, out } = recordingTerminal(false)
  t.equal(await signIn(options(['--server', server.base]), term, AbortSignal.abort()), 130)
  t.notMatch(out(), 'Waiting')
})
