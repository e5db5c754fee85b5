// A scripted attacker guessing user codes on the verification page (RFC 8628 §5.1), and the
// figures SECURITY.md quotes: guesses allowed per code lifetime with the default limits, and
// the chance that they hit a live code. The figures are computed from the defaults in force,
// so a change of default that moves them fails here until SECURITY.md is updated too.
import t from 'tap'
import { randomInt } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DEFAULT_EXPIRES_IN_SECONDS } from '@device-grant/core'
import { DEFAULT_RATE_LIMIT, TIGHTENING } from '../src/rate-limit.js'
import { authorize, buildApp } from './helpers.js'

function authenticate (request: FastifyRequest, reply: FastifyReply): string | undefined {
  const user = request.headers['x-user']
  if (typeof user === 'string') return user
  reply.redirect('/login')
  return undefined
}

/** One guess: opens the confirm page for `code` as `user` from `ip`. */
async function guess (app: FastifyInstance, code: string, ip: string, user = 'mallory'): Promise<number> {
  const res = await app.inject({ url: `/device?user_code=${encodeURIComponent(code)}`, remoteAddress: ip, headers: { 'x-user': user } })
  return res.statusCode
}

/** Guesses from one address until refused (bounded); resolves how many were answered. */
async function guessUntilRefused (app: FastifyInstance, ip: string, randomCode: () => string, live: Set<string>, user = 'mallory', bound = 1000): Promise<number> {
  for (let i = 0; i < bound; i++) {
    const code = randomCode()
    if (live.has(code)) continue // astronomically unlikely; a hit is not what this measures
    const status = await guess(app, code, ip, user)
    if (status === 429) return i
    if (status !== 400) throw new Error(`unexpected ${status} for a wrong guess`)
  }
  throw new Error(`${ip} was never throttled in ${bound} guesses`)
}

const figures = (() => {
  const { perIp, perAccount, perCode, global } = DEFAULT_RATE_LIMIT
  const lifetime = DEFAULT_EXPIRES_IN_SECONDS
  // Fixed windows: a lifetime that straddles a boundary overlaps one window more than it spans.
  const windows = (window: number) => Math.ceil(lifetime / window) + 1
  const perIpPerLifetime = perIp.max * windows(perIp.window)
  const perAccountPerLifetime = perAccount.max * windows(perAccount.window)
  const perCodePerLifetime = perCode.max * windows(perCode.window)
  const tightened = Math.max(1, Math.floor(perAccount.max / TIGHTENING))
  /**
   * Guesses per code lifetime for an attacker with `accounts` signed-in accounts, each on
   * addresses of its own: each account's allowance, but once the global budget is spent in a
   * window, only the tightened allowance per account for the rest of it.
   */
  const guesses = (accounts: number) => Math.min(
    accounts * perAccountPerLifetime,
    windows(global.window) * (global.max + accounts * tightened)
  )
  const space = 20 ** 8
  /** P(at least one of `guesses` distinct wrong-or-right guesses hits one of `live` codes). */
  const success = (guesses: number, live: number) => -Math.expm1(guesses * Math.log1p(-live / space))
  return { perIp, perAccount, perCode, global, lifetime, perIpPerLifetime, perAccountPerLifetime, perCodePerLifetime, tightened, guesses, space, success }
})()

t.test('the figures with the defaults', async t => {
  const { app } = await buildApp({ authenticate })
  t.after(() => app.close())
  const codes = app.deviceGrant.grant.userCodes
  t.equal(codes.charset.length ** codes.length, figures.space, 'the default code space is 20^8')
  t.equal(figures.perIpPerLifetime, 20, 'one address (IPv6: one /64): 10 failures per 10-minute window, 2 windows per 10-minute code lifetime')
  t.equal(figures.perAccountPerLifetime, 20, 'one account, from any number of addresses: 10 per window, 20 per lifetime')
  t.equal(figures.perCodePerLifetime, 20, 'one code value: 10 lookups per window, 2 windows per lifetime')
  t.equal(figures.global.max, 1000, 'the global budget: 1,000 failed entries per 10 minutes')
  t.equal(figures.tightened, 2, 'over the global budget, each account and address gets 2 per window')
  t.equal(figures.guesses(1), 20)
  t.equal(figures.guesses(1000), 6000, '1,000 accounts: 2 × (1,000 + 1,000 × 2), not 20,000')
  t.equal(figures.guesses(100_000), 402_000, '100,000 accounts: 2 × (1,000 + 100,000 × 2), not 2,000,000')
  const rows: string[] = []
  for (const accounts of [1, 1000, 100_000]) {
    for (const live of [1, 100, 10_000]) {
      const p = figures.success(figures.guesses(accounts), live)
      rows.push(`${accounts} account(s), ${live} live code(s): ${figures.guesses(accounts)} guesses, P(hit) = ${p.toExponential(1)} (2^${Math.log2(p).toFixed(1)})`)
    }
  }
  t.comment(`code space ${figures.space} (${Math.log2(figures.space).toFixed(1)} bits); per code lifetime (${figures.lifetime} s): ` +
    `${figures.perAccountPerLifetime} guesses per account, ${figures.perIpPerLifetime} per address, ${figures.perCodePerLifetime} lookups per code value\n${rows.join('\n')}`)
  // The numbers SECURITY.md quotes.
  t.equal(figures.success(20, 1).toExponential(1), '7.8e-10')
  t.equal(figures.success(20, 10_000).toExponential(1), '7.8e-6')
  t.equal(figures.success(6000, 1).toExponential(1), '2.3e-7')
  t.equal(figures.success(6000, 100).toExponential(1), '2.3e-5')
  t.equal(figures.success(6000, 10_000).toExponential(1), '2.3e-3')
  t.equal(figures.success(402_000, 1).toExponential(1), '1.6e-5')
  t.equal(figures.success(402_000, 100).toExponential(1), '1.6e-3')
  t.equal(figures.success(402_000, 10_000).toExponential(1), '1.5e-1')
  t.equal(figures.success(2_000_000, 10_000).toExponential(1), '5.4e-1', 'without the global budget')
  t.equal(Math.round(figures.success(figures.guesses(100_000), 10_000) * 100), 15, '100,000 accounts, 10,000 live codes: about 15 %')
  t.equal(2 ** (64 - 48) * figures.perIpPerLifetime, 1_310_720, 'a /48 holds 65,536 /64s of 20 guesses each')
})

t.test('(a) many accounts on many addresses: each is throttled on its own, under the global budget none is stopped as a whole', async t => {
  const { app, clock } = await buildApp({ authenticate })
  t.after(() => app.close())
  // A live code, made mid-window so that its lifetime straddles a window boundary.
  clock.advance(300)
  const victim = await authorize(app)
  const live = new Set([victim.user_code.replace('-', '')])
  const { charset } = app.deviceGrant.grant.userCodes
  const randomCode = () => Array.from({ length: 8 }, () => charset[randomInt(charset.length)]).join('')
  const addresses = Array.from({ length: 25 }, (_, i) => `198.51.100.${i + 1}`)
  let total = 0
  for (const [i, ip] of addresses.entries()) {
    const allowed = await guessUntilRefused(app, ip, randomCode, live, `mallory-${i}`)
    t.equal(allowed, figures.perIp.max, `${ip}: ${allowed} guesses, then 429`)
    total += allowed
  }
  // The next window opens while the victim's code still lives: as many guesses again.
  clock.advance(300)
  t.equal((await app.deviceGrant.lookup(victim.user_code))?.state, 'pending', 'the code is still live')
  for (const [i, ip] of addresses.entries()) total += await guessUntilRefused(app, ip, randomCode, live, `mallory-${i}`)
  t.equal(total, addresses.length * figures.perIpPerLifetime, `${addresses.length} addresses got ${total} guesses in one code lifetime: per-address limits add up`)
  t.equal(await guess(app, victim.user_code, '192.0.2.77', 'victim'), 200, 'the victim, from their own address, is not affected')
  t.comment(`${addresses.length} addresses × ${figures.perIpPerLifetime} = ${total} guesses against a space of ${figures.space}`)
})

t.test('(b) one code: a cap on lookups from anyone, and the grant stays with its first user', async t => {
  const { app } = await buildApp({ authenticate })
  t.after(() => app.close())
  const victim = await authorize(app)
  t.equal(await guess(app, victim.user_code, '192.0.2.77', 'victim'), 200, 'the victim opens it first: it is bound to them')
  const statuses: number[] = []
  for (let i = 0; i < 30; i++) statuses.push(await guess(app, victim.user_code, `203.0.113.${i + 1}`))
  const looked = statuses.filter(s => s !== 429).length
  t.ok(statuses.slice(0, looked).every(s => s === 400), 'to anyone else the bound code looks unknown')
  t.equal(looked + 1, figures.perCode.max, `${looked} more lookups (the victim's was the first), then 429 from every address`)
  t.ok(statuses.slice(looked).every(s => s === 429))
  const view = await app.deviceGrant.lookup(victim.user_code)
  t.equal(view?.state, 'pending')
  t.equal(view?.subject, 'victim', 'still bound to the victim')
  t.equal((await app.deviceGrant.approve(victim.user_code, 'victim')).ok, true, 'and the victim can still decide')
})

t.test('(b) the same wrong code from many addresses is capped too', async t => {
  const { app } = await buildApp({ authenticate })
  t.after(() => app.close())
  const statuses: number[] = []
  for (let i = 0; i < 20; i++) statuses.push(await guess(app, 'BCDF-GHJK', `203.0.113.${i + 1}`))
  t.strictSame(statuses, [...Array(figures.perCode.max).fill(400), ...Array(20 - figures.perCode.max).fill(429)])
})
