import type { GrantContext } from './context.js'
import { OAuthError } from './errors.js'
import { formatScope, parseScope, parseScopeList } from './scope.js'
import type { DeviceGrantRecord, GrantStatus } from './store.js'

export type GrantState = GrantStatus | 'expired'

/** What the verification pages and the app see of a grant: never the device code. */
export interface GrantView {
  deviceCodeHash: string
  /** Normalized, e.g. `WDJBMJHT`. */
  userCode: string
  /** As shown on the device, e.g. `WDJB-MJHT`. */
  displayCode: string
  clientId: string
  scope: string
  state: GrantState
  createdAt: number
  expiresAt: number
  subject?: string
  grantedScope?: string
  ip?: string
  userAgent?: string
}

export type DecisionFailure = 'unknown' | 'expired' | 'already_decided' | 'other_user'

export type DecisionResult =
  | { ok: true, grant: GrantView }
  | { ok: false, reason: DecisionFailure, grant?: GrantView }

export function toView (ctx: GrantContext, record: DeviceGrantRecord, now: number): GrantView {
  const view: GrantView = {
    deviceCodeHash: record.deviceCodeHash,
    userCode: record.userCode,
    displayCode: ctx.userCodes.format(record.userCode),
    clientId: record.clientId,
    scope: record.scope,
    state: now >= record.expiresAt ? 'expired' : record.status,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt
  }
  if (record.subject !== undefined) view.subject = record.subject
  if (record.grantedScope !== undefined) view.grantedScope = record.grantedScope
  if (record.ip !== undefined) view.ip = record.ip
  if (record.userAgent !== undefined) view.userAgent = record.userAgent
  return view
}

/** Finds a grant by what a person typed; undefined when it cannot be a code or is unknown. */
export async function lookupGrant (ctx: GrantContext, userCodeInput: string): Promise<GrantView | undefined> {
  const userCode = ctx.userCodes.normalize(userCodeInput)
  if (userCode === undefined) return undefined
  const record = await ctx.store.findByUserCode(userCode)
  return record === undefined ? undefined : toView(ctx, record, ctx.clock())
}

/** What the approving page established about the decision, carried into its event. */
export interface DecisionOptions {
  /** Whether the approving browser was on the device's network (as the page judged it). */
  sameNetwork?: boolean
}

export interface ApproveOptions extends DecisionOptions {
  /**
   * What the user grants, when less than was asked: scope tokens as an array (like `scopes`
   * and `defaultScope`), or a space-separated string. More than was asked is `invalid_scope`.
   */
  grantedScope?: readonly string[] | string
}

type Action =
  | { kind: 'bind' }
  | ({ kind: 'approve', grantedScope?: ApproveOptions['grantedScope'] } & DecisionOptions)
  | ({ kind: 'deny' } & DecisionOptions)

/**
 * Every check runs before one conditional write; when the write loses, the grant is read again
 * so the caller learns why (someone else decided, or it expired in between).
 */
export async function decide (ctx: GrantContext, userCodeInput: string, subject: string, action: Action): Promise<DecisionResult> {
  if (typeof subject !== 'string' || subject === '') throw new TypeError('subject must be a non-empty string')
  const view = await lookupGrant(ctx, userCodeInput)
  const refused = refusal(view, subject)
  if (refused !== undefined) return refused
  const grant = view as GrantView
  const now = ctx.clock()
  let won: boolean
  if (action.kind === 'bind') {
    won = await ctx.store.bindSubject(grant.deviceCodeHash, { subject, now })
  } else if (action.kind === 'approve') {
    const grantedScope = narrowScope(grant.scope, action.grantedScope)
    won = await ctx.store.approve(grant.deviceCodeHash, grantedScope === undefined ? { subject, now } : { subject, now, grantedScope })
  } else {
    won = await ctx.store.deny(grant.deviceCodeHash, { subject, now })
  }
  const after = await ctx.store.findByUserCode(grant.userCode)
  const current = after === undefined ? undefined : toView(ctx, after, ctx.clock())
  if (!won) return refusal(current, subject) ?? { ok: false, reason: 'already_decided', ...(current && { grant: current }) }
  const network = action.kind !== 'bind' && action.sameNetwork !== undefined ? { sameNetwork: action.sameNetwork } : {}
  if (current !== undefined && action.kind === 'approve') {
    ctx.emit({ type: 'grant.approved', clientId: current.clientId, userCode: current.displayCode, subject, scope: current.grantedScope ?? current.scope, ...network })
  } else if (current !== undefined && action.kind === 'deny') {
    ctx.emit({ type: 'grant.denied', clientId: current.clientId, userCode: current.displayCode, subject, ...network })
  }
  return { ok: true, grant: current ?? grant }
}

function refusal (view: GrantView | undefined, subject: string): DecisionResult | undefined {
  if (view === undefined) return { ok: false, reason: 'unknown' }
  if (view.state === 'expired') return { ok: false, reason: 'expired', grant: view }
  if (view.subject !== undefined && view.subject !== subject) return { ok: false, reason: 'other_user' }
  if (view.state !== 'pending') return { ok: false, reason: 'already_decided', grant: view }
  return undefined
}

/** The user may grant less than was asked, never more. */
function narrowScope (requested: string, granted: ApproveOptions['grantedScope']): string | undefined {
  if (granted === undefined) return undefined
  const asked = new Set(parseScope(requested))
  const tokens = parseScopeList(granted)
  const extra = tokens.filter(t => !asked.has(t))
  if (extra.length > 0) throw new OAuthError('invalid_scope', `cannot grant scope that was not requested: ${extra.join(' ')}`)
  return formatScope(tokens)
}
