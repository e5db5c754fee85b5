import { parseArgs } from 'node:util'

export interface CliOptions {
  /** The authorization server's issuer URL; its RFC 8414 metadata is read from there. */
  server: URL
  clientId: string
  /** Present: a confidential client, authenticated with HTTP Basic. */
  clientSecret?: string
  /** Space-separated; absent: the client's default scope on the server. */
  scope?: string
  /** The API called with the token at the end; default: `/api/me` on the server. */
  api: URL
  qr: boolean
  /** Bind the token to a key made for this run (RFC 9449 DPoP). Default true; `--no-dpop` turns it off. */
  dpop: boolean
}

export type ParsedArgs = { help: true } | { help: false, options: CliOptions }

export const USAGE = `Usage: device-cli [options]

Signs this terminal in with the OAuth 2.0 Device Authorization Grant (RFC 8628), then calls the API.

Options:
  --server URL          authorization server (issuer) URL   [env DEVICE_SERVER, default http://127.0.0.1:3000]
  --client-id ID        OAuth client id                     [env DEVICE_CLIENT_ID, default demo-tv]
  --client-secret S     secret of a confidential client     [env DEVICE_CLIENT_SECRET]
  --scope "A B"         scopes to ask for                   [default: the client's default scope]
  --api URL             API to call with the token          [default: SERVER/api/me]
  --no-qr               do not draw the QR code
  --no-dpop             ask for a plain bearer token instead of a DPoP-bound one (RFC 9449)
  -h, --help            show this help

Exit codes: 0 signed in, 1 error, 2 bad usage, 3 access denied, 4 code expired, 130 interrupted.
`

export class UsageError extends Error {
  override name = 'UsageError'
}

function url (value: string, name: string): URL {
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    throw new UsageError(`${name} must be an absolute URL, got "${value}"`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`${name} must be an http: or https: URL, got "${value}"`)
  return parsed
}

const nonEmpty = (value: string | undefined) => value === undefined || value === '' ? undefined : value

/** Flags first, then the environment, then the demo defaults. */
export function parseCliArgs (argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        scope: { type: 'string' },
        api: { type: 'string' },
        'no-qr': { type: 'boolean' },
        'no-dpop': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help === true) return { help: true }
  const server = url(nonEmpty(values.server) ?? nonEmpty(env.DEVICE_SERVER) ?? 'http://127.0.0.1:3000', '--server')
  const clientId = nonEmpty(values['client-id']) ?? nonEmpty(env.DEVICE_CLIENT_ID) ?? 'demo-tv'
  const options: CliOptions = {
    server,
    clientId,
    api: values.api === undefined ? new URL('/api/me', server) : url(values.api, '--api'),
    qr: values['no-qr'] !== true,
    dpop: values['no-dpop'] !== true
  }
  const clientSecret = nonEmpty(values['client-secret']) ?? nonEmpty(env.DEVICE_CLIENT_SECRET)
  if (clientSecret !== undefined) options.clientSecret = clientSecret
  const scope = nonEmpty(values.scope?.trim())
  if (scope !== undefined) options.scope = scope
  return { help: false, options }
}
