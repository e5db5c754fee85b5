const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * RFC 9449 §4.3 step 9: `htu` is compared with the request's URI without its query and fragment,
 * after RFC 3986 §6.2.2–6.2.3 normalization: scheme and host case, default port, dot segments
 * (all done by WHATWG URL parsing), percent-encoding case, and percent-encoded unreserved
 * characters decoded. Undefined when `value` is not an absolute http(s) URL.
 */
export function normalizeHtu (value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
  return `${url.protocol}//${url.host}${path}`
}
