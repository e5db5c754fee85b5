export { createDeviceGrant } from './device-grant.js'
export type { DeviceGrant, DeviceGrantOptions } from './device-grant.js'
export type { AuthorizeInput, DeviceAuthorizationResponse } from './authorize.js'
export type { PollInput as TokenPollInput, PollOutcome, PollRefusalCode } from './poll.js'
export type { ApproveOptions, DecisionFailure, DecisionOptions, DecisionResult, GrantState, GrantView } from './decision.js'
export type { IssueToken, IssueTokenInput, TokenResponse } from './context.js'
export {
  authenticateClient,
  parseBasicAuthorization,
  readClientClaim,
  toClientLookup,
  verifyClient
} from './client.js'
export type {
  AuthenticatedClient,
  ClientAuthMethod,
  ClientClaim,
  ClientLookup,
  ClientRegistry,
  DeviceClient,
  PresentedCredentials
} from './client.js'
export { OAuthError, StoreUnavailableError, isOAuthError, sanitizeDescription } from './errors.js'
export type { OAuthErrorBody, OAuthErrorCode, OAuthErrorOptions } from './errors.js'
export { BASE20_CHARSET, DIGITS_CHARSET, UserCodeFormat } from './user-code.js'
export type { UserCodeOptions } from './user-code.js'
export { generateDeviceCode, hashDeviceCode } from './device-code.js'
export { formatScope, parseScope } from './scope.js'
export type { Clock } from './clock.js'
export type { DeviceGrantEvent, EventListener } from './events.js'
export {
  DEFAULT_EXPIRES_IN_SECONDS,
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_POLL_LEEWAY_SECONDS,
  DEVICE_CODE_GRANT_TYPE,
  SLOW_DOWN_STEP_SECONDS
} from './constants.js'
export type {
  Approval,
  CounterHit,
  CounterWindow,
  Decision,
  DeviceGrantRecord,
  DeviceGrantStore,
  GrantStatus,
  OnceUse,
  PollBookkeeping,
  PolledGrant,
  PollInput,
  PollResult,
  StoreCapabilities
} from './store.js'
export {
  DEFAULT_RETENTION_SECONDS,
  POLLED_FIELDS,
  checkCounterWindow,
  checkOnceUse,
  retentionMs,
  windowEnd
} from './store-support.js'
