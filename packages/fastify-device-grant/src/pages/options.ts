import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { builtInLocales, type PageMessages } from '../messages.js'
import { validateRateLimit, type RateLimitOptions } from '../rate-limit.js'

export type PageName = 'entry' | 'confirm' | 'result'

/**
 * Resolves the signed-in user's subject, or sends the login page/redirect itself (keeping
 * `request.url` as the return address) and resolves undefined.
 */
export type Authenticate = (request: FastifyRequest, reply: FastifyReply) => string | undefined | null | Promise<string | undefined | null>

export interface PagesOptions {
  /** Replace templates one by one: absolute paths to Eta files (see the shipped `views/`). */
  templates?: Partial<Record<PageName, string>>
  /** Extra languages, or changes to the built-in `en` and `fr`; merged over English. */
  locales?: Record<string, Partial<PageMessages>>
  /** Language when the browser asks for none we have. Default `en`. */
  defaultLocale?: string
  /** Words for scopes on the confirm page: a map, or a function of the scope and the language. */
  scopeDescriptions?: Record<string, string> | ((scope: string, lang: string) => string | undefined)
  /** Code-entry rate limits; `false` turns them off. Counted in the store when it offers `hit`. */
  rateLimit?: RateLimitOptions | false
  /** Secret for CSRF tokens. Default: random per process, so set it when several instances serve pages. */
  csrfSecret?: string
  /** Show the IP and user agent the device asked from (RFC 8628 §5.4). Default true. */
  showDeviceInfo?: boolean
  /**
   * The approving browser's network against the device's (the address that called
   * `/device_authorization`), the signature of remote phishing when they differ: `'warn'`
   * (default) says so on the confirm page and gives Deny the emphasis; `'require'` refuses
   * approval from another network; `'off'` does not compare.
   */
  proximity?: Proximity
  /**
   * Whether two addresses are on the same network. Default: the same IPv4 /24 or IPv6 /48
   * (IPv4-mapped IPv6 as IPv4). Replace it with a GeoIP or ASN comparison, for instance.
   */
  sameNetwork?: SameNetwork
}

export type Proximity = 'warn' | 'require' | 'off'

export type SameNetwork = (deviceIp: string, browserIp: string) => boolean | Promise<boolean>

export const PAGE_NAMES: readonly PageName[] = ['entry', 'confirm', 'result']

export function validatePagesOptions (pages: PagesOptions): void {
  if (pages === null || typeof pages !== 'object') throw new TypeError('fastify-device-grant: pages must be an object or false')
  for (const [name, path] of Object.entries(pages.templates ?? {})) {
    if (!PAGE_NAMES.includes(name as PageName)) throw new TypeError(`fastify-device-grant: pages.templates.${name} is not a page (entry, confirm, result)`)
    if (typeof path !== 'string' || !isAbsolute(path) || !existsSync(path)) {
      throw new TypeError(`fastify-device-grant: pages.templates.${name} must be the absolute path of an existing file`)
    }
  }
  if (pages.rateLimit !== undefined && pages.rateLimit !== false) {
    validateRateLimit(pages.rateLimit)
  }
  if (pages.proximity !== undefined && !['warn', 'require', 'off'].includes(pages.proximity)) {
    throw new TypeError(`fastify-device-grant: pages.proximity must be 'warn', 'require' or 'off', got ${String(pages.proximity)}`)
  }
  if (pages.sameNetwork !== undefined && typeof pages.sameNetwork !== 'function') {
    throw new TypeError('fastify-device-grant: pages.sameNetwork must be a function (deviceIp, browserIp) => boolean')
  }
  if (pages.csrfSecret !== undefined && (typeof pages.csrfSecret !== 'string' || pages.csrfSecret.length < 32)) {
    throw new TypeError('fastify-device-grant: pages.csrfSecret must be a string of at least 32 characters')
  }
  const locales = { ...builtInLocales, ...pages.locales }
  const defaultLocale = pages.defaultLocale ?? 'en'
  if (!(defaultLocale in locales)) throw new TypeError(`fastify-device-grant: pages.defaultLocale "${pages.defaultLocale}" has no locale`)
}
