import { sameNetwork as sameNetworkByPrefix } from '../address.js'
import type { Proximity, SameNetwork } from './options.js'

/** The approving browser against the device: `unknown` when not compared or not comparable. */
export type Network = 'same' | 'different' | 'unknown'

/**
 * Compares the browser's address with the one the device asked from (cross-device BCP:
 * establish proximity where possible; the attacker's device in remote phishing is elsewhere).
 */
export function networkCheck (proximity: Proximity, compare: SameNetwork = sameNetworkByPrefix) {
  return async function network (deviceIp: string | undefined, browserIp: string): Promise<Network> {
    if (proximity === 'off' || deviceIp === undefined) return 'unknown'
    return (await compare(deviceIp, browserIp)) ? 'same' : 'different'
  }
}

/** What the decision's event carries: whether the networks matched, when they were compared. */
export function networkFacts (network: Network): { sameNetwork?: boolean } {
  return network === 'unknown' ? {} : { sameNetwork: network === 'same' }
}
