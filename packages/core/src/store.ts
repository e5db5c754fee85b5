/**
 * The storage contract: `DeviceGrantStore`, seven required methods (save, find by user code,
 * record a poll, bind, approve, deny, claim) and a few optional ones a store may offer.
 *
 * Rules every store keeps (the conformance suite in `@device-grant/store-test-suite` checks them):
 * - Every time is milliseconds since the epoch, passed in by the caller: a store never reads
 *   the clock to decide an outcome (it may use its own clock only to evict expired records).
 * - A record is *live* while `now < expiresAt`. Expired records may be dropped at any time;
 *   until they are, lookups may still return them (the caller checks expiry). Keeping them a
 *   while (a retention period) lets a late poll hear `expired_token` instead of `invalid_grant`.
 * - Every transition is one atomic conditional write that reports whether it won:
 *   approve/deny only from `pending`, claim only from `approved`, and none after expiry.
 * - Poll bookkeeping (`recordPoll`) never overwrites a decision made in between.
 * - Returned records are copies: mutating one changes nothing stored.
 * - When the backend cannot answer, throw `StoreUnavailableError` (fail fast, never hang).
 */

import type { POLLED_FIELDS } from './store-support.js'

export type GrantStatus = 'pending' | 'approved' | 'denied' | 'consumed'

export interface DeviceGrantRecord {
  /** SHA-256 of the device code, base64url. The device code itself is never stored. */
  deviceCodeHash: string
  /** The user code, normalized (no mask): e.g. `WDJBMJHT`. Unique among live records. */
  userCode: string
  clientId: string
  /** Requested scope, space-separated; `''` when none. */
  scope: string
  status: GrantStatus
  createdAt: number
  expiresAt: number
  /** Seconds the device must wait between polls; grows by 5 on every `slow_down`. */
  interval: number
  /** When the last poll that was not too fast arrived; absent before the first poll. */
  lastPolledAt?: number
  /** The user the grant is bound to: set by `bindSubject` or by the decision. */
  subject?: string
  /** Scope the user granted, when it differs from what was asked. */
  grantedScope?: string
  /** When the user approved or denied. */
  decidedAt?: number
  /** Where the device asked from, shown on the confirm page (RFC 8628 §5.4). */
  ip?: string
  userAgent?: string
  /**
   * RFC 9449: the JWK SHA-256 thumbprint of the DPoP key the device proved at device
   * authorization. When set, only a token request with a proof by that key redeems the grant.
   */
  dpopJkt?: string
}

/** One poll's bookkeeping, as `recordPoll` receives it. */
export interface PollBookkeeping {
  /** The client that is polling: bookkeeping happens only for the grant's own client. */
  clientId: string
  now: number
  /** A poll at least `interval * 1000 - leewayMs` after `lastPolledAt` is on time. */
  leewayMs: number
  /** Seconds added to `interval` on a too-fast poll. */
  slowDownStep: number
}

/**
 * The fields a poll decides on and the two it writes, as the poll's bookkeeping left them.
 * A store may return the whole record; returning only these keeps the hot path's reply small
 * (a networked store decodes five values instead of a dozen on every poll of every device).
 */
export type PolledGrant = Pick<DeviceGrantRecord, typeof POLLED_FIELDS[number]>

export interface PollResult {
  /** The grant's state after this poll's bookkeeping. */
  grant: PolledGrant
  /** True when this poll was too fast: `interval` grew and `lastPolledAt` did not move. */
  slowDown: boolean
}

/**
 * @deprecated The name of `PollBookkeeping` before the token endpoint's own `PollInput`
 * (exported as `TokenPollInput`) made it ambiguous.
 */
export type PollInput = PollBookkeeping

export interface Decision {
  subject: string
  now: number
}

export interface Approval extends Decision {
  /** Scope the user granted, when narrower than what was asked. */
  grantedScope?: string
}

/**
 * What a store declares about itself beyond its methods. The optional methods (`hit`,
 * `useOnce`, `deleteExpired`, `findByDeviceCodeHash`) declare themselves by being present; this
 * holds what no method can say. The conformance suite reads both to decide which cases apply.
 */
export interface StoreCapabilities {
  /**
   * Every store opened on the same backend sees one state, so each process of an app may hold
   * its own store (Redis, SQL). The plugin then needs a shared CSRF secret, and the suite runs
   * its cases across several stores from the factory.
   */
  sharedAcrossProcesses?: boolean
}

export interface DeviceGrantStore {
  readonly capabilities?: StoreCapabilities

  /**
   * Saves a new pending grant. Resolves `false`, writing nothing, when a *live* record already
   * holds the same `userCode` (the caller retries with a fresh code). An expired record with
   * that user code does not block the save.
   */
  save(grant: DeviceGrantRecord): Promise<boolean>

  /** `userCode` is already normalized. */
  findByUserCode(userCode: string): Promise<DeviceGrantRecord | undefined>

  /**
   * One poll's bookkeeping, atomically, and the state it leaves (undefined if there is no record).
   * Only when the record is `pending`, live (`now < expiresAt`) and `clientId` matches:
   * - if `lastPolledAt` is set and `now - lastPolledAt < interval * 1000 - leewayMs`:
   *   `interval += slowDownStep`, `lastPolledAt` unchanged, `slowDown: true`;
   * - otherwise `lastPolledAt = now`, `slowDown: false`.
   * In every other case nothing is written and `slowDown` is false.
   * This is the whole poll in one round trip: keep it to one.
   */
  recordPoll(deviceCodeHash: string, poll: PollBookkeeping): Promise<PollResult | undefined>

  /**
   * Binds a live pending grant to the first user who opens it. Resolves true when the grant
   * is now bound to `subject` (just now, or already); false when it is bound to someone else,
   * missing, expired or no longer pending.
   */
  bindSubject(deviceCodeHash: string, decision: Decision): Promise<boolean>

  /**
   * `pending → approved`, only while live and unbound or bound to `subject`. Sets `subject`,
   * `decidedAt` (= now) and `grantedScope` when given. Resolves whether this call won.
   */
  approve(deviceCodeHash: string, approval: Approval): Promise<boolean>

  /** `pending → denied`, under the same conditions as `approve`. Resolves whether this call won. */
  deny(deviceCodeHash: string, decision: Decision): Promise<boolean>

  /**
   * `approved → consumed`, only while live (`now < expiresAt`). Exactly one caller ever wins,
   * across every process sharing the store: it gets the record (as approved, before the write);
   * every other caller gets undefined. Tokens are minted only by the winner.
   */
  claim(deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined>

  /**
   * Optional: the record under a device-code hash. A poll reads through `recordPoll`; core calls
   * this only when a poll finds its grant approved and DPoP binding is on (`dpopBinding`), to
   * check the bound key before the claim. Also for operators' tools and a store's own tests.
   * When present, the conformance suite checks it agrees with `findByUserCode`.
   */
  findByDeviceCodeHash?(deviceCodeHash: string): Promise<DeviceGrantRecord | undefined>

  /**
   * Optional: a fixed-window counter, so rate limits hold across every process sharing the
   * store. Adds `increment` (0 to only read, negative to refund; the count never goes below 0)
   * to `key`'s count for the window holding `now` (windows start at multiples of `windowMs`)
   * and resolves the count and the window's end. Counters may be dropped once their window has
   * ended. One round trip, atomic across processes.
   */
  hit?(key: string, window: CounterWindow): Promise<CounterHit>

  /**
   * Optional: a replay check (DPoP proof `jti`s). Atomically: when `key` has no entry that is
   * still live (`now < expiresAt` of an earlier use), records it until `use.expiresAt` and
   * resolves true; otherwise writes nothing and resolves false. Exactly one of any number of
   * concurrent callers with the same key wins, across every process sharing the store.
   * Entries may be dropped once expired. One round trip.
   */
  useOnce?(key: string, use: OnceUse): Promise<boolean>

  /**
   * Optional: drops every record with `expiresAt <= now`; resolves how many were dropped. SQL stores
   * have the app call it from a cron; stores with their own eviction may still offer it.
   */
  deleteExpired?(now: number): Promise<number>

  /** Optional: releases timers and connections the store itself opened. */
  close?(): Promise<void>
}

/** One `hit()` call's window and amount. */
export interface CounterWindow {
  /** Window length; windows start at multiples of it. A positive integer. */
  windowMs: number
  now: number
  /**
   * An integer added to the count: 1 to count an attempt, 0 to only read, negative to give back
   * what an earlier call counted (a refund). The count never goes below 0.
   */
  increment: number
}

/** One `useOnce()` call: the key stays used until `expiresAt`. */
export interface OnceUse {
  now: number
  /** Ms since the epoch, after `now`. */
  expiresAt: number
}

export interface CounterHit {
  /** Hits in the current window, this one included. */
  count: number
  /** When the current window ends (ms since the epoch). */
  resetAt: number
}
