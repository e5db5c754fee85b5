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
export type {
  ClientRegistry,
  DecisionResult,
  DeviceClient,
  DeviceGrantEvent,
  DeviceGrantStore,
  GrantView,
  IssueToken,
  IssueTokenInput,
  TokenResponse
} from '@device-grant/core'
