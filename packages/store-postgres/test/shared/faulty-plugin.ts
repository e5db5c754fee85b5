// The whole plugin (fastify-device-grant) on a PostgreSQL store whose connections a test kills
// (pg_terminate_backend), with the requests and locks the plugin fault tests use.
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE, type DeviceGrantStore, type IssueTokenInput } from 'fastify-device-grant'
import { hashDeviceCode } from '@device-grant/core'
import type { PgStore } from './harness.js'
import { terminate, waitForLockWait, within, type TestSchema } from './fixtures.js'

const form = { 'content-type': 'application/x-www-form-urlencoded' }
// Generous: "never a hang" is the point, not speed on a loaded machine.
export const HANG = 15_000

export class FaultyPlugin {
  readonly app: FastifyInstance
  /** Every token the plugin issued, in order. */
  readonly issued: IssueTokenInput[] = []
  /** Runs before the next `claim` (only): a test takes the row lock there. */
  beforeClaim: (() => Promise<void>) | undefined
  readonly #db: TestSchema

  private constructor (db: TestSchema) {
    this.#db = db
    this.app = Fastify()
  }

  static async start (db: TestSchema, store: PgStore): Promise<FaultyPlugin> {
    const plugin = new FaultyPlugin(db)
    await plugin.app.register(deviceGrant, {
      issuer: 'http://127.0.0.1',
      clients: [{ clientId: 'tv' }],
      store: plugin.#hooked(store),
      authenticate: request => String(request.headers['x-user'] ?? ''),
      pages: { csrfSecret: 'a-csrf-secret-that-is-long-enough-for-the-plugin' },
      issueToken: input => {
        plugin.issued.push(input)
        return { access_token: `at-${plugin.issued.length}`, token_type: 'Bearer' }
      }
    })
    await plugin.app.ready()
    return plugin
  }

  /** `store`, with `beforeClaim` run before its next claim. */
  #hooked (store: PgStore): DeviceGrantStore {
    return {
      capabilities: store.capabilities,
      save: g => store.save(g),
      findByDeviceCodeHash: h => store.findByDeviceCodeHash(h),
      findByUserCode: c => store.findByUserCode(c),
      recordPoll: (h, p) => store.recordPoll(h, p),
      bindSubject: (h, d) => store.bindSubject(h, d),
      approve: (h, a) => store.approve(h, a),
      deny: (h, d) => store.deny(h, d),
      claim: async (h, now) => {
        const hook = this.beforeClaim
        this.beforeClaim = undefined
        await hook?.()
        return await store.claim(h, now)
      }
    }
  }

  async authorize (): Promise<{ device_code: string, user_code: string }> {
    const res = await within(HANG, this.app.inject({ method: 'POST', url: '/device_authorization', headers: form, payload: 'client_id=tv' }))
    if (res.statusCode !== 200) throw new Error(`authorize: ${res.statusCode} ${res.body}`)
    return res.json()
  }

  async poll (deviceCode: string): Promise<LightMyRequestResponse> {
    return await within(HANG, this.app.inject({ method: 'POST', url: '/token', headers: form, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=tv&device_code=${deviceCode}` }))
  }

  /** Polls until the store answers again (not 503), bounded. */
  async pollThrough (deviceCode: string): Promise<LightMyRequestResponse> {
    for (let i = 0; i < 100; i++) {
      const res = await this.poll(deviceCode)
      if (res.statusCode !== 503) return res
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error('the store never came back')
  }

  /** The approval page's form, and a function posting "approve" on it as `user`. */
  async approvalForm (userCode: string, user: string): Promise<{ open: LightMyRequestResponse, decide: () => Promise<LightMyRequestResponse> }> {
    const headers = { 'x-user': user }
    const open = await within(HANG, this.app.inject({ url: `/device?user_code=${userCode}`, headers }))
    const cookie = String([open.headers['set-cookie']].flat()[0]).split(';')[0] as string
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(open.body)?.[1] as string
    const decide = async () => await within(HANG, this.app.inject({
      method: 'POST',
      url: '/device',
      headers: { ...headers, ...form, cookie },
      payload: `user_code=${userCode}&decision=approve&csrf_token=${csrf}`
    }))
    return { open, decide }
  }

  /** Holds the grant's row lock in a transaction of the admin connection until `release`. */
  async lockRow (deviceCode: string): Promise<{ release: () => Promise<void> }> {
    const { admin } = this.#db
    await admin.query('BEGIN')
    await admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [hashDeviceCode(deviceCode)])
    return { release: async () => { await admin.query('ROLLBACK') } }
  }

  /** Kills the store's backends that wait for a lock: the statement dies mid-flight. */
  async killWaiting (): Promise<number> {
    await waitForLockWait(this.#db.admin, this.#db.applicationName)
    return await terminate(this.#db, "wait_event_type = 'Lock'")
  }

  /** Kills the store's idle backends; how many. */
  async killIdle (): Promise<number> {
    return await terminate(this.#db, "state = 'idle'")
  }
}
