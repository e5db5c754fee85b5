/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/exports.test.ts > TAP > the package exports exactly these names > must match snapshot 1`] = `
Array [
  "BASE20_CHARSET",
  "DEFAULT_EXPIRES_IN_SECONDS",
  "DEFAULT_INTERVAL_SECONDS",
  "DEFAULT_POLL_LEEWAY_SECONDS",
  "DEFAULT_RETENTION_SECONDS",
  "DEVICE_CODE_GRANT_TYPE",
  "DIGITS_CHARSET",
  "OAuthError",
  "POLLED_FIELDS",
  "SLOW_DOWN_STEP_SECONDS",
  "StoreUnavailableError",
  "UserCodeFormat",
  "authenticateClient",
  "checkCounterWindow",
  "checkOnceUse",
  "createDeviceGrant",
  "formatScope",
  "generateDeviceCode",
  "hashDeviceCode",
  "isOAuthError",
  "parseBasicAuthorization",
  "parseScope",
  "readClientClaim",
  "retentionMs",
  "sanitizeDescription",
  "toClientLookup",
  "verifyClient",
  "windowEnd",
]
`
