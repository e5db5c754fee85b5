import t from 'tap'
import { addressGroup, sameNetwork } from '../src/address.js'

t.test('address groups: IPv4 as is, IPv4-mapped as IPv4, IPv6 by prefix', async t => {
  t.equal(addressGroup('192.0.2.1', 64), '192.0.2.1')
  t.equal(addressGroup('::ffff:192.0.2.1', 64), '192.0.2.1')
  t.equal(addressGroup('::ffff:c000:201', 64), '192.0.2.1', 'mapped, written in hex')
  t.equal(addressGroup('2001:db8:1:2:3:4:5:6', 64), '2001:db8:1:2:0:0:0:0/64')
  t.equal(addressGroup('2001:db8:1:2::9', 64), addressGroup('2001:db8:1:2:ffff::', 64), 'one /64')
  t.equal(addressGroup('2001:db8:1:2ff::1', 56), '2001:db8:1:200:0:0:0:0/56')
  t.equal(addressGroup('fe80::1%eth0', 64), 'fe80:0:0:0:0:0:0:0/64', 'a zone id is dropped')
  t.equal(addressGroup('::1', 128), '0:0:0:0:0:0:0:1/128')
  t.equal(addressGroup('not-an-ip', 64), 'not-an-ip', 'anything else counts as itself')
})

t.test('same network: same family and prefix', async t => {
  t.ok(sameNetwork('198.51.100.7', '198.51.100.250'))
  t.notOk(sameNetwork('198.51.100.7', '198.51.101.7'))
  t.ok(sameNetwork('2001:db8:aa:1::1', '2001:db8:aa:ffff::1'))
  t.notOk(sameNetwork('2001:db8:aa::1', '2001:db8:ab::1'))
  t.ok(sameNetwork('::ffff:198.51.100.7', '198.51.100.9'))
  t.notOk(sameNetwork('::1', '127.0.0.1'), 'different families')
  t.notOk(sameNetwork('junk', 'junk'), 'not addresses: never the same network')
  t.ok(sameNetwork('10.1.2.3', '10.9.9.9', { ipv4: 8, ipv6: 48 }))
})
