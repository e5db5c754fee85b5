import type { GrantView } from '@device-grant/core'
import type { PageMessages } from '../messages.js'
import type { Network } from './proximity.js'

/**
 * Everything a page step can end in. Steps return (or throw, through the error handler) one of
 * these, and `PageRenderer.send` is the one place that turns it into a page.
 */
export type PageOutcome =
  | { kind: 'entry', status: 200 | 400, value?: string, error?: 'invalidCode' | 'unknownCode' }
  | { kind: 'confirm', grant: GrantView, clientName: string, csrf: string, network: Network }
  | { kind: 'approved' | 'denied', clientName: string }
  | { kind: 'expired' | 'used' | 'signIn' | 'formExpired' | 'badRequest' | 'error' | 'differentNetwork' }
  | { kind: 'tooMany' | 'unavailable', retryAfter: number }

export type ResultKind = Exclude<PageOutcome['kind'], 'entry' | 'confirm'>

interface ResultPage {
  status: number
  heading: keyof PageMessages
  body: keyof PageMessages
  /** Offers a link back to the code entry. */
  again: boolean
}

export const RESULT_PAGES: Record<ResultKind, ResultPage> = {
  approved: { status: 200, heading: 'approvedHeading', body: 'approvedBody', again: false },
  denied: { status: 200, heading: 'deniedHeading', body: 'deniedBody', again: false },
  expired: { status: 410, heading: 'expiredHeading', body: 'expiredBody', again: true },
  used: { status: 409, heading: 'usedHeading', body: 'usedBody', again: true },
  signIn: { status: 401, heading: 'signInHeading', body: 'signInBody', again: true },
  formExpired: { status: 403, heading: 'formExpiredHeading', body: 'formExpiredBody', again: true },
  badRequest: { status: 400, heading: 'errorHeading', body: 'errorBody', again: true },
  error: { status: 500, heading: 'errorHeading', body: 'errorBody', again: true },
  tooMany: { status: 429, heading: 'tooManyHeading', body: 'tooManyBody', again: false },
  unavailable: { status: 503, heading: 'unavailableHeading', body: 'unavailableBody', again: true },
  differentNetwork: { status: 403, heading: 'differentNetworkHeading', body: 'differentNetworkBody', again: true }
}

/** Values filled into a result page's body text. */
export function resultValues (outcome: PageOutcome): Record<string, string | number> {
  switch (outcome.kind) {
    case 'approved':
    case 'denied':
      return { client: outcome.clientName }
    case 'tooMany':
      return { minutes: Math.ceil(outcome.retryAfter / 60) }
    default:
      return {}
  }
}
