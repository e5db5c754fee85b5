import { DEVICE_CODE_GRANT_TYPE } from '@device-grant/core'

export interface MetadataInput {
  issuer: string
  deviceAuthorizationEndpoint: string
  tokenEndpoint: string
  /** RFC 9449 §5.1: the proof algorithms accepted, when DPoP is on. */
  dpopAlgorithms?: readonly string[]
  extra: Record<string, unknown>
}

/**
 * RFC 8414 §2 + RFC 8628 §4. `grant_types_supported` is explicit: when it is omitted, readers
 * assume authorization_code and implicit only. Empty arrays are dropped (RFC 8414 §3.2).
 */
export function buildMetadata (input: MetadataInput): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    issuer: input.issuer,
    device_authorization_endpoint: input.deviceAuthorizationEndpoint,
    token_endpoint: input.tokenEndpoint,
    grant_types_supported: [DEVICE_CODE_GRANT_TYPE],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    dpop_signing_alg_values_supported: input.dpopAlgorithms,
    ...input.extra
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete metadata[k]
  }
  return metadata
}

/** RFC 8414 §3: the well-known segment goes between the host and the issuer's path. */
export function metadataPath (issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '')
  return `/.well-known/oauth-authorization-server${path}`
}
