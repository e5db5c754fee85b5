import t from 'tap'
import { BASE20_CHARSET, UserCodeFormat } from '../src/index.js'

t.test('the default is 8 base-20 characters shown as XXXX-XXXX', async t => {
  const f = new UserCodeFormat()
  t.equal(f.charset, 'BCDFGHJKLMNPQRSTVWXZ')
  t.equal(f.mask, 'XXXX-XXXX')
  t.ok(Math.abs(f.entropyBits - 34.57) < 0.01, `${f.entropyBits} bits`)
  for (let i = 0; i < 200; i++) {
    const code = f.generate()
    t.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/)
    t.match(f.format(code), /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  }
})

t.test('characters are drawn uniformly (chi-square over 200k draws)', async t => {
  const f = new UserCodeFormat()
  const counts = new Map<string, number>([...BASE20_CHARSET].map(c => [c, 0]))
  const draws = 25_000
  for (let i = 0; i < draws; i++) for (const c of f.generate()) counts.set(c, (counts.get(c) ?? 0) + 1)
  const expected = (draws * 8) / 20
  let chi = 0
  for (const n of counts.values()) chi += (n - expected) ** 2 / expected
  // 19 degrees of freedom: p = 0.001 at 43.8. A modulo-biased draw (e.g. byte % 20) scores in the hundreds here.
  t.ok(chi < 43.8, `chi-square ${chi.toFixed(1)}`)
})

t.test('every position is uniform too, not just the total', async t => {
  const f = new UserCodeFormat()
  const first = new Map<string, number>()
  const draws = 20_000
  for (let i = 0; i < draws; i++) {
    const c = f.generate()[7] as string
    first.set(c, (first.get(c) ?? 0) + 1)
  }
  const expected = draws / 20
  let chi = 0
  for (const c of BASE20_CHARSET) chi += ((first.get(c) ?? 0) - expected) ** 2 / expected
  t.ok(chi < 43.8, `chi-square ${chi.toFixed(1)}`)
})

t.test('input is normalized: case, spaces, dashes and dots do not matter', async t => {
  const f = new UserCodeFormat()
  for (const input of ['WDJBMJHT', 'wdjb mjht', 'WDJB-MJHT', 'w.d.j.b.m.j.h.t', '  wdjb-MJHT  ', 'w-d-j-b-m-j-h-t']) {
    t.equal(f.normalize(input), 'WDJBMJHT', input)
  }
})

t.test('characters outside the charset are dropped, and a wrong length is no code', async t => {
  const f = new UserCodeFormat()
  t.equal(f.normalize('WDJB-MJHT-A'), 'WDJBMJHT', 'vowels are outside the base-20 set')
  t.equal(f.normalize('WDJB-MJH'), undefined)
  t.equal(f.normalize('WDJB-MJHTX'), undefined)
  t.equal(f.normalize(''), undefined)
  t.equal(f.normalize('W'.repeat(300)), undefined, 'long input is not read')
})

t.test('a digits charset with a custom mask', async t => {
  const f = new UserCodeFormat({ charset: '0123456789', mask: 'XXX-XXX-XXX' })
  t.equal(f.length, 9)
  t.match(f.format(f.generate()), /^\d{3}-\d{3}-\d{3}$/)
  t.equal(f.normalize('019 450 730'), '019450730')
})

t.test('length alone groups the mask in fours', async t => {
  t.equal(new UserCodeFormat({ length: 10 }).mask, 'XXXX-XXXX-XX')
})

t.test('a lowercase charset folds input to lowercase; a mixed one is case-sensitive', async t => {
  t.equal(new UserCodeFormat({ charset: 'bcdfghjklmnpqrstvwxz' }).normalize('WDJB-MJHT'), 'wdjbmjht')
  const mixed = new UserCodeFormat({ charset: 'abcdefghijKLMNOPQRST', length: 8 })
  t.equal(mixed.normalize('abcdKLMN'), 'abcdKLMN')
  t.equal(mixed.normalize('ABCDklmn'), undefined)
})

t.test('bad formats are refused with a reason', async t => {
  t.throws(() => new UserCodeFormat({ charset: 'A' }), /at least two characters/)
  t.throws(() => new UserCodeFormat({ charset: 'AAB' }), /repeated characters/)
  t.throws(() => new UserCodeFormat({ charset: 'AB-C' }), /printable ASCII/)
  t.throws(() => new UserCodeFormat({ mask: '----' }), /at least one X/)
  t.throws(() => new UserCodeFormat({ mask: 'X'.repeat(65) }), /too long/)
  t.throws(() => new UserCodeFormat({ length: 0 }), /integer from 1 to 64/)
  t.throws(() => new UserCodeFormat({ length: 4 }), /bits of entropy/)
})
