import { deviceGrant } from './plugin.js'

export { deviceGrant }
export default deviceGrant
export type { DeviceGrantDecorator, DeviceGrantEndpoints } from './plugin.js'
export type { DeviceGrantPaths, DeviceGrantPluginOptions } from './options.js'
export type { TokenHandler } from './token.js'
export type { Authenticate, PageName, PagesOptions, Proximity, SameNetwork } from './pages/options.js'
export type { PageMessages } from './messages.js'
export { en as englishMessages, fr as frenchMessages } from './messages.js'
export type { RateLimitOptions, RateLimitRule } from './rate-limit.js'
export type { ClientAuthRateLimitOptions } from './rate-limit.js'
export type { DpopOptions } from './dpop.js'
export {
  DEVICE_CODE_GRANT_TYPE,
  OAuthError,
  StoreUnavailableError
} from '@device-grant/core'
// Every type an app's code names when it configures the plugin, implements a store or handles
// its results, so that nobody needs @device-grant/core as a direct dependency for types.
export type {
  ApproveOptions,
  Clock,
  ClientLookup,
  ClientRegistry,
  DecisionFailure,
  DecisionResult,
  DeviceClient,
  DeviceGrantEvent,
  DeviceGrantRecord,
  DeviceGrantStore,
  EventListener,
  GrantState,
  GrantView,
  IssueToken,
  IssueTokenInput,
  OAuthErrorCode,
  OAuthErrorOptions,
  StoreCapabilities,
  TokenResponse,
  UserCodeOptions
} from '@device-grant/core'
