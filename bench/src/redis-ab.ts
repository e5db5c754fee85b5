// A/B of Redis store builds and client settings, without HTTP: the store alone over one
// ioredis client, 32 operations in flight, CPU time of the process per operation. Each slice
// runs in a fresh child process; variants alternate A B B A over `pairs` rounds, so a fast or
// slow phase of the host lands on both sides of a pair.
//
//   node dist/src/redis-ab.js <pairs> <name>=<store module or ''>[+coalesced|+pipelined|+plain] ...
//   e.g. node dist/src/redis-ab.js 8 before=$PWD/dist/ab-redis-before/index.js after= pipelined=+pipelined
//
// A child (`--child <module> <pipelined> <url> <op>`) prints one JSON line: CPU µs and wall µs per operation.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { startRedis } from './infra.js'

const OPS = ['recordPoll', 'save', 'hit'] as const
type Op = typeof OPS[number]
const IN_FLIGHT = 32
const CALLS = 20_000
const WARMUP = 5_000

/** The store's write coalescing (default), ioredis's auto-pipelining instead, or neither. */
type Mode = 'coalesced' | 'pipelined' | 'plain'

interface Slice { cpuUs: number, wallUs: number }

async function child (module: string, mode: Mode, url: string, op: Op): Promise<Slice> {
  const { Redis } = await import('ioredis')
  const { RedisStore } = await import(module === '' ? '@device-grant/store-redis' : module) as typeof import('@device-grant/store-redis')
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: true, enableAutoPipelining: mode === 'pipelined' })
  await redis.connect()
  const store = new RedisStore({ client: redis, keyPrefix: `ab:${randomBytes(4).toString('hex')}:`, coalesceWrites: mode === 'coalesced' })
  const now = Date.now()
  const hashes = Array.from({ length: 1000 }, (_, i) => `h${i}`)
  let n = 0
  const call = async (): Promise<unknown> => {
    const i = n++
    if (op === 'recordPoll') return await store.recordPoll(hashes[i % hashes.length]!, { clientId: 'tv', now: now + i, leewayMs: 0, slowDownStep: 5 })
    if (op === 'hit') return await store.hit(`ip:${i % 1000}`, { windowMs: 60_000, now, increment: 1 })
    const id = randomBytes(12).toString('hex')
    return await store.save({ deviceCodeHash: id, userCode: id.slice(0, 8).toUpperCase() + i, clientId: 'tv', scope: '', status: 'pending', createdAt: now, expiresAt: now + 60_000, interval: 5 })
  }
  if (op === 'recordPoll') {
    for (const h of hashes) await store.save({ deviceCodeHash: h, userCode: `U${h}${randomBytes(4).toString('hex')}`, clientId: 'tv', scope: '', status: 'pending', createdAt: now, expiresAt: now + 600_000, interval: 5 })
  }
  const runMany = async (count: number): Promise<void> => {
    let left = count
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => { while (left-- > 0) await call() }))
  }
  await runMany(WARMUP)
  const cpu = process.cpuUsage()
  const start = performance.now()
  await runMany(CALLS)
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  redis.disconnect()
  return { cpuUs: (used.user + used.system) / CALLS, wallUs: wall * 1000 / CALLS }
}

async function slice (module: string, mode: Mode, url: string, op: Op): Promise<Slice> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [fileURLToPath(import.meta.url), '--child', module, mode, url, op], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Slice)
    })
  })
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function main (): Promise<void> {
  const [pairsArg, ...specs] = process.argv.slice(2)
  const pairs = Math.min(20, Number(pairsArg))
  const variants = specs.map(spec => {
    const [name, rest = ''] = spec.split('=') as [string, string?]
    const [module = '', mode = 'coalesced'] = rest.split('+')
    return { name, module, mode: mode as Mode }
  })
  const redis = await startRedis()
  try {
    for (const op of OPS) {
      const results = new Map<string, Slice[]>(variants.map(v => [v.name, []]))
      for (let p = 0; p < pairs; p++) {
        const order = p % 2 === 0 ? variants : [...variants].reverse()
        for (const v of order) results.get(v.name)!.push(await slice(v.module, v.mode, redis.url, op))
        await redis.admin.flushall()
      }
      const base = results.get(variants[0]!.name)!
      for (const v of variants) {
        const r = results.get(v.name)!
        const ratios = r.map((s, i) => s.cpuUs / base[i]!.cpuUs)
        console.log(`${op.padEnd(10)} ${v.name.padEnd(16)} cpu µs/op median ${median(r.map(s => s.cpuUs)).toFixed(1)} (${Math.min(...r.map(s => s.cpuUs)).toFixed(1)}–${Math.max(...r.map(s => s.cpuUs)).toFixed(1)}), wall µs/op ${median(r.map(s => s.wallUs)).toFixed(1)}, cpu vs ${variants[0]!.name} per pair: median ${(100 * median(ratios)).toFixed(0)} %`)
      }
    }
  } finally {
    await redis.stop()
  }
}

if (process.argv[2] === '--child') {
  const [, module = '', mode, url = '', op] = process.argv.slice(2)
  console.log(JSON.stringify(await child(module, mode as Mode, url, op as Op)))
} else {
  await main()
}
