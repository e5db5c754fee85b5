// oidc-provider ships no types; this is the little of its API the bench uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  interface Model {
    save (): Promise<string>
  }
  interface DeviceCodeModel extends Model {
    jti: string
    accountId?: string
    grantId?: string
    authTime?: number
    scope?: string
    params?: Record<string, unknown>
  }
  interface ClientModel { clientId: string }

  export default class Provider {
    constructor (issuer: string, configuration: Record<string, unknown>)
    callback (): (req: IncomingMessage, res: ServerResponse) => void
    on (event: string, listener: (...args: any[]) => void): this
    Client: { find (id: string): Promise<ClientModel | undefined> }
    DeviceCode: {
      new (payload: Record<string, unknown>): DeviceCodeModel
      findByUserCode (userCode: string): Promise<DeviceCodeModel | undefined>
    }

    Grant: new (payload: { accountId: string, clientId: string }) => Model & { addOIDCScope (scope: string): void }
  }
}
