import { isIPv4, isIPv6 } from 'node:net'

/** An address as numbers: 4 bytes for IPv4 (IPv4-mapped IPv6 included), 8 16-bit groups for IPv6. */
type Parsed = { family: 4, parts: number[] } | { family: 6, parts: number[] }

function parseV4 (ip: string): number[] {
  return ip.split('.').map(Number)
}

function parseV6 (ip: string): number[] {
  let text = ip
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) becomes two hex groups.
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = parseV4(tail)
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', rest] = text.split('::')
  const groups = (s: string) => (s === '' ? [] : s.split(':').map(g => parseInt(g, 16)))
  const left = groups(head)
  const right = rest === undefined ? [] : groups(rest)
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right]
}

/** Undefined for anything that is not an IP address (a test's or a proxy's odd `request.ip`). */
export function parseAddress (ip: string): Parsed | undefined {
  if (isIPv4(ip)) return { family: 4, parts: parseV4(ip) }
  const bare = ip.replace(/%.*$/, '')
  if (!isIPv6(bare)) return undefined
  const parts = parseV6(bare)
  const mapped = parts.slice(0, 5).every(g => g === 0) && parts[5] === 0xffff
  if (mapped) return { family: 4, parts: [(parts[6] ?? 0) >> 8, (parts[6] ?? 0) & 255, (parts[7] ?? 0) >> 8, (parts[7] ?? 0) & 255] }
  return { family: 6, parts }
}

/** The first `bits` bits of the address, the rest zeroed. */
function masked (parsed: Parsed, bits: number): number[] {
  const width = parsed.family === 4 ? 8 : 16
  return parsed.parts.map((part, i) => {
    const keep = Math.min(width, Math.max(0, bits - i * width))
    return keep === 0 ? 0 : part & (((1 << width) - 1) ^ ((1 << (width - keep)) - 1))
  })
}

/**
 * What a per-address limit counts: an IPv4 address as it is (IPv4-mapped IPv6 as IPv4), an
 * IPv6 address by its prefix (an IPv6 host usually holds a whole /64 and can rotate through it).
 */
export function addressGroup (ip: string, ipv6Prefix: number): string {
  const parsed = parseAddress(ip)
  if (parsed === undefined) return ip
  if (parsed.family === 4) return parsed.parts.join('.')
  return `${masked(parsed, ipv6Prefix).map(g => g.toString(16)).join(':')}/${ipv6Prefix}`
}

export interface NetworkPrefixes {
  /** Default 24. */
  ipv4: number
  /** Default 48. */
  ipv6: number
}

export const DEFAULT_NETWORK_PREFIXES: NetworkPrefixes = { ipv4: 24, ipv6: 48 }

/** Whether two addresses share a network: the same family and the same prefix. */
export function sameNetwork (a: string, b: string, prefixes: NetworkPrefixes = DEFAULT_NETWORK_PREFIXES): boolean {
  const pa = parseAddress(a)
  const pb = parseAddress(b)
  if (pa === undefined || pb === undefined || pa.family !== pb.family) return false
  const bits = pa.family === 4 ? prefixes.ipv4 : prefixes.ipv6
  const ma = masked(pa, bits)
  const mb = masked(pb, bits)
  return ma.every((part, i) => part === mb[i])
}
