/**
 * The same sign-in, written the way each kind of project writes it: register the plugin on the
 * memory store, ask for a code as the device, approve it as the app would (with
 * fastify.deviceGrant, scopes as an array), poll for the token. It prints the token response and
 * exits 0, or throws.
 */
const body = `
  const app = Fastify()
  await app.register(deviceGrant, {
    issuer: 'http://127.0.0.1:3000',
    verificationUri: 'http://127.0.0.1:3000/activate', // the app approves from its own page
    store: new MemoryStore(),
    clients: [{ clientId: 'tv', scopes: ['read', 'write'] }],
    issueToken: ({ subject, scope }) => ({ access_token: 'token-of-' + subject, token_type: 'Bearer', scope })
  })
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const codes = (await app.inject({ method: 'POST', url: '/device_authorization', headers: form, payload: 'client_id=tv&scope=read%20write' })).json()
  const decision = await app.deviceGrant.approve(codes.user_code, 'alice', { grantedScope: ['read'] })
  if (!decision.ok) throw new Error('approve failed: ' + decision.reason)
  const token = (await app.inject({
    method: 'POST',
    url: '/token',
    headers: form,
    payload: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=tv&device_code=' + codes.device_code
  })).json()
  await app.close()
  if (token.access_token !== 'token-of-alice' || token.scope !== 'read') throw new Error('unexpected token response: ' + JSON.stringify(token))
  console.log(JSON.stringify(token))
`

/** Typed where TypeScript cannot infer: the JSON bodies. */
const typedBody = body
  .replace('.json()\n  const decision', '.json<{ user_code: string, device_code: string }>()\n  const decision')
  .replace('})).json()\n  await app.close()', '})).json<{ access_token?: string, scope?: string }>()\n  await app.close()')

export const ESM_JS = `import Fastify from 'fastify'
import deviceGrant from 'fastify-device-grant'
import { MemoryStore } from '@device-grant/store-memory'
${body}`

export const CJS_JS = `'use strict'
const Fastify = require('fastify')
const { deviceGrant } = require('fastify-device-grant')
const { MemoryStore } = require('@device-grant/store-memory')

async function main () {${body}}
main().catch(err => { console.error(err); process.exit(1) })
`

const typedImports = `import Fastify from 'fastify'
import deviceGrant, { type DeviceGrantPluginOptions, type IssueToken, type UserCodeOptions, type EventListener, type Clock, type DeviceGrantRecord, type DeviceGrantStore } from 'fastify-device-grant'
import { MemoryStore } from '@device-grant/store-memory'

// The types an app names, all from the plugin.
export const userCode: UserCodeOptions = { length: 8 }
export const onEvent: EventListener = () => {}
export const clock: Clock = () => Date.now()
export const store: DeviceGrantStore = new MemoryStore()
export type Stored = DeviceGrantRecord
export const issue: IssueToken = () => ({ access_token: 'x', token_type: 'Bearer' })
export const options: Partial<DeviceGrantPluginOptions> = { userCode, onEvent, clock, store, issueToken: issue }
`

/** TypeScript, in an ESM project (top-level await). */
export const TS_ESM = `${typedImports}${typedBody}`

/** TypeScript in a CommonJS project: compiled to require() calls, no top-level await. */
export const TS_CJS = `${typedImports}
async function main (): Promise<void> {${typedBody}}
main().catch((err: unknown) => { console.error(err); process.exit(1) })
`

export function tsconfig (compilerOptions: Record<string, unknown>, files: string[]): string {
  return JSON.stringify({
    compilerOptions: { target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out', ...compilerOptions },
    files
  }, null, 2)
}
