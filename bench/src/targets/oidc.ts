import { randomInt } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import Provider from 'oidc-provider'
import { CLIENT_ID, DEVICE_CODE_GRANT_TYPE, SUBJECT, count, type ServerStats } from '../config.js'
import { seedInBatches } from './seed.js'

const BASE20 = 'BCDFGHJKLMNPQRSTVWXZ'

/**
 * oidc-provider with `features.deviceFlow` on its default in-memory adapter, one public
 * client allowed the device grant, the same paths as the plugin. The bench routes are served
 * by the same HTTP server, in front of the provider.
 *
 * Its default adapter is an LRU of 1000 entries (a device code takes two: the code and its
 * user-code index), so the poll scenario polls 500 seeded codes here, not 10k: more would be
 * evicted and answered `invalid_grant`, a different code path.
 */
export async function oidcServer (): Promise<Server> {
  const answers: Record<string, number> = {}
  const provider = new Provider('http://127.0.0.1', {
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: [DEVICE_CODE_GRANT_TYPE],
      response_types: [],
      redirect_uris: []
    }],
    features: {
      deviceFlow: { enabled: true },
      devInteractions: { enabled: false }
    },
    routes: { device_authorization: '/device_authorization', token: '/token' },
    // Set explicitly (same values as the defaults) so it does not warn on every start.
    ttl: { DeviceCode: 600, AccessToken: 3600, Grant: 3600 }
  })
  provider.on('grant.error', (_ctx: unknown, err: { error?: string }) => { count(answers, err.error ?? 'error') })
  provider.on('grant.success', () => { count(answers, 'success') })
  provider.on('server_error', (_ctx: unknown, err: unknown) => { console.error(err) })

  const client = await provider.Client.find(CLIENT_ID)
  if (client === undefined) throw new Error('oidc-provider: the bench client is missing')
  const handle = provider.callback()

  async function seed (n: number): Promise<string[]> {
    return await seedInBatches(Math.min(n, 500), async () => {
      let userCode = ''
      for (let i = 0; i < 8; i++) userCode += BASE20[randomInt(20)]
      return await new provider.DeviceCode({ client, params: { client_id: CLIENT_ID }, userCode }).save()
    })
  }

  // What oidc-provider's own confirm step does (lib/actions/authorization/device.js), minus the
  // session: a grant for the account, then the device code bound to both.
  async function approve (userCode: string): Promise<boolean> {
    const code = await provider.DeviceCode.findByUserCode(userCode.replace(/\W/g, '').toUpperCase())
    if (code === undefined || code.accountId !== undefined) return false
    const grant = new provider.Grant({ accountId: SUBJECT, clientId: CLIENT_ID })
    const grantId = await grant.save()
    Object.assign(code, { accountId: SUBJECT, grantId, authTime: Math.floor(Date.now() / 1000), scope: '' })
    await code.save()
    return true
  }

  async function bench (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === '/bench/seed') {
      json(res, 200, { deviceCodes: await seed(Number(url.searchParams.get('n') ?? 1000)) })
    } else if (url.pathname === '/bench/approve') {
      res.writeHead(await approve(url.searchParams.get('user_code') ?? '') ? 204 : 409).end()
    } else if (url.pathname === '/bench/stats') {
      json(res, 200, { answers } satisfies ServerStats)
    } else {
      res.writeHead(404).end()
    }
    req.resume()
  }

  return createServer((req, res) => {
    if (req.url?.startsWith('/bench/') === true) {
      bench(req, res, new URL(req.url, 'http://127.0.0.1')).catch(err => {
        console.error(err)
        res.writeHead(500).end()
      })
      return
    }
    handle(req, res)
  })
}

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
