import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Double-submit CSRF protection that needs no session: a random value in an HttpOnly cookie,
 * and in each form an HMAC of it under a server secret. A cross-site page can neither read the
 * cookie nor forge the HMAC, and a cookie planted from a sibling domain fails the HMAC too.
 */
export class CsrfTokens {
  readonly cookieName: string
  readonly #secret: Buffer
  readonly #secure: boolean

  constructor (secret: string | undefined, secure: boolean) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8')
    this.#secure = secure
    // `__Host-` pins the cookie to this host over https: no subdomain can set or overwrite it.
    this.cookieName = secure ? '__Host-device-grant-csrf' : 'device-grant-csrf'
  }

  /** The cookie value from the request, or a fresh one and the Set-Cookie header to send it. */
  ensureCookie (cookieHeader: string | undefined): { value: string, setCookie?: string } {
    const value = readCookie(cookieHeader, this.cookieName)
    if (value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return { value }
    const fresh = randomBytes(32).toString('base64url')
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax', ...(this.#secure ? ['Secure'] : [])]
    return { value: fresh, setCookie: `${this.cookieName}=${fresh}; ${attributes.join('; ')}` }
  }

  tokenFor (cookieValue: string): string {
    return createHmac('sha256', this.#secret).update(cookieValue).digest('base64url')
  }

  verify (cookieHeader: string | undefined, token: unknown): boolean {
    const value = readCookie(cookieHeader, this.cookieName)
    if (value === undefined || typeof token !== 'string' || token.length !== 43) return false
    return timingSafeEqual(Buffer.from(this.tokenFor(value)), Buffer.from(token))
  }
}

export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
