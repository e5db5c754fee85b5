/** RFC 8628 §3.4 / §7.2: the grant type a device polls the token endpoint with. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code'

/** RFC 8628 §3.5: the increase a client must add after `slow_down`; the server adds it too. */
export const SLOW_DOWN_STEP_SECONDS = 5

/** RFC 8628 §3.2: a client with no `interval` must use 5 s. */
export const DEFAULT_INTERVAL_SECONDS = 5

/** Ten minutes: short enough to limit phishing (RFC 8628 §5.4), long enough to sign in. */
export const DEFAULT_EXPIRES_IN_SECONDS = 600

/** Accept a poll this much early without `slow_down`, so network jitter never throttles a conforming client. */
export const DEFAULT_POLL_LEEWAY_SECONDS = 1
