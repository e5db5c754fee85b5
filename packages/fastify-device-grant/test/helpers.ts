import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { MemoryStore } from '@device-grant/store-memory'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE, type DeviceClient, type DeviceGrantPluginOptions, type IssueTokenInput } from '../src/index.js'

export { DEVICE_CODE_GRANT_TYPE }

/** A secret with every character RFC 6749 Appendix B form-encoding must survive. */
export const AWKWARD_SECRET = 'p:a%s+s w/o=rd&é'

export const CLIENTS: DeviceClient[] = [
  { clientId: 'tv', name: 'Living Room TV', scopes: ['openid', 'profile', 'read', 'write'], defaultScope: ['read'] },
  { clientId: 'cli', clientSecret: AWKWARD_SECRET, scopes: ['read', 'write'] },
  { clientId: 'basic-only', clientSecret: 'basic-secret', tokenEndpointAuthMethod: 'client_secret_basic' },
  { clientId: 'post-only', clientSecret: 'post-secret', tokenEndpointAuthMethod: 'client_secret_post' },
  { clientId: 'web', grantTypes: ['authorization_code'] },
  { clientId: 'other-tv' }
]

export interface TestApp {
  app: FastifyInstance
  clock: { now: number, advance: (seconds: number) => void }
  issued: IssueTokenInput[]
  store: MemoryStore
}

/**
 * An app on a real MemoryStore with a clock the test moves. Without `authenticate` the plugin
 * serves no pages, so the app's own page (as it would be) is the verification URI.
 */
export async function buildApp (overrides: Partial<DeviceGrantPluginOptions> = {}, register?: (app: FastifyInstance) => void, logLines?: string[]): Promise<TestApp> {
  const clock = { now: Date.UTC(2026, 10, 29, 12), advance (s: number) { this.now += s * 1000 } }
  const issued: IssueTokenInput[] = []
  const store = new MemoryStore({ sweepInterval: 0 })
  // With `logLines`, warnings and errors the app logs are collected there.
  const app = logLines === undefined ? Fastify() : Fastify({ logger: { level: 'warn', stream: { write: (l: string) => { logLines.push(l) } } } })
  register?.(app)
  await app.register(deviceGrant, {
    issuer: 'https://auth.example.com',
    clients: CLIENTS,
    store,
    clock: () => clock.now,
    issueToken: async input => {
      issued.push(input)
      return { access_token: `at-${issued.length}`, token_type: 'Bearer', expires_in: 3600 }
    },
    ...(overrides.authenticate === undefined && { verificationUri: 'https://auth.example.com/device' }),
    ...overrides
  })
  await app.ready()
  return { app, clock, issued, store }
}

export function basic (id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

export function form (params: Record<string, string | string[]>): string {
  const sp = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) sp.append(k, x)
  return sp.toString()
}

export async function post (app: FastifyInstance, url: string, params: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form(params)
  })
}

export interface Authorization {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

export async function authorize (app: FastifyInstance, params: Record<string, string> = { client_id: 'tv' }, headers: Record<string, string> = {}): Promise<Authorization> {
  const res = await post(app, '/device_authorization', params, headers)
  if (res.statusCode !== 200) throw new Error(`authorization failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function poll (app: FastifyInstance, deviceCode: string, params: Record<string, string> = { client_id: 'tv' }, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return post(app, '/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, ...params }, headers)
}
