import t from 'tap'
import { allowInsecureRequests, discovery, initiateDeviceAuthorization, None, pollDeviceAuthorizationGrant, ResponseBodyError } from 'openid-client'
import { runCli } from './helpers/cli.js'
import { startServer } from './helpers/server.js'

// Codes nobody approves, on a server whose codes live 10 s (the plugin's minimum): the device must
// hear expired_token and say so. Its own file, so its waiting overlaps the other files'. Refused
// polls are logged at debug only, and the server's log is the proof below.
const server = await startServer(t, { DEVICE_GRANT_EXPIRES_IN: '10', LOG_LEVEL: 'debug' })

t.test('an unapproved code expires: openid-client surfaces expired_token, the CLI exits 4', async t => {
  const config = await discovery(new URL(server.base), 'demo-tv', undefined, None(), { algorithm: 'oauth2', execute: [allowInsecureRequests] })
  const auth = await initiateDeviceAuthorization(config, {})
  t.equal(auth.expires_in, 10)
  // A deadline past the code's life: openid-client's own would stop at expires_in, before the server says it.
  const library = pollDeviceAuthorizationGrant(config, auth, undefined, { signal: AbortSignal.timeout(20_000) })
    .then(() => undefined, (e: unknown) => e)
  const cli = runCli(t, ['--server', server.base, '--no-qr'])

  const error = await library
  t.type(error, ResponseBodyError)
  t.equal((error as ResponseBodyError).error, 'expired_token')
  t.equal(await cli.exit, 4)
  t.equal(cli.stderr(), 'The code expired before anyone approved it. Run device-cli again for a new code.\n')
  t.match(server.output(), '"error":"expired_token"', 'the server said it (logged poll.rejected), not a client-side timer')
})
