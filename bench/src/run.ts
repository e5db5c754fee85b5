// The benchmark: `pnpm bench` from the repository root (builds, then runs this).
//
//   node dist/src/run.js                       full run, writes bench/RESULTS.md
//   node dist/src/run.js --smoke               ~10 s: memory store + ceiling, 1 s runs, checks the
//                                              harness produces a well-formed result; writes nothing
//   node dist/src/run.js --runs-only           the measured runs and their medians only (no memory or
//                                              round-trip passes); writes nothing: for A/B work
//   node dist/src/run.js --profile <target> <scenario>
//                                              one run with the server under --cpu-prof, then its
//                                              self time per function
//
// Environment: BENCH_DURATION, BENCH_WARMUP (seconds), BENCH_ROUNDS, BENCH_SLICES, BENCH_SLICE,
// BENCH_CONNECTIONS, BENCH_CODES, BENCH_TARGETS and BENCH_SCENARIOS (comma-separated subsets),
// DATABASE_URL.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { BEFORE_SERVER, PG_TARGETS, SCENARIOS, TARGETS, type RoundTripResult, type Scenario, type Target } from './config.js'
import { createDatabase, startRedis, type BenchDatabase, type PrivateRedis } from './infra.js'
import { measure, pairedSlices, type Infra, type Measurement } from './measure.js'
import type { MemoryResult } from './memory.js'
import { aggregate } from './profile.js'
import { renderMarkdown, resultsTable, targetChecks, type Environment, type Report, type RunSettings } from './report.js'

const here = dirname(fileURLToPath(import.meta.url))
const benchDir = join(here, '..', '..')
const args = process.argv.slice(2)
const smoke = args.includes('--smoke')
const runsOnly = args.includes('--runs-only')
const profileAt = args.indexOf('--profile')

function envNumber (name: string, fallback: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`)
  return n
}

const settings: RunSettings = {
  // Five short rounds rather than three long ones: on a shared VM, noise comes in bursts (the
  // same server's CPU per request swings by half from one run to the next), and a median over
  // more runs keeps one burst from deciding a ratio. About four minutes in all.
  duration: envNumber('BENCH_DURATION', smoke ? 1 : 1.5),
  warmup: envNumber('BENCH_WARMUP', smoke ? 0.3 : 0.75),
  rounds: Math.min(20, Math.floor(envNumber('BENCH_ROUNDS', smoke ? 1 : 5))),
  connections: Math.floor(envNumber('BENCH_CONNECTIONS', 32)),
  codes: Math.min(100_000, Math.floor(envNumber('BENCH_CODES', smoke ? 1000 : 10_000))),
  // Paired slices (see `pairedSlices`): how many pairs, and seconds per slice.
  slices: Math.min(40, Math.floor(envNumber('BENCH_SLICES', smoke ? 2 : 8))),
  slice: envNumber('BENCH_SLICE', smoke ? 0.3 : 0.5)
}
const targets: Target[] = (process.env.BENCH_TARGETS?.split(',') ?? (smoke ? ['ceiling', 'memory'] : TARGETS.filter(t => t !== 'before'))) as Target[]
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}`)
if (targets.includes('before') && BEFORE_SERVER === undefined) throw new Error('the before target needs BENCH_BEFORE_SERVER')
/** Where the report goes, in bench/: RESULTS.md unless BENCH_OUT names another file (e.g. a run of some targets only). */
const outFile = process.env.BENCH_OUT ?? 'RESULTS.md'
if (!/^[\w.-]+\.md$/.test(outFile)) throw new Error('BENCH_OUT must be a file name ending in .md')
const scenarios: Scenario[] = (process.env.BENCH_SCENARIOS?.split(',') ?? [...SCENARIOS]) as Scenario[]
for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`)

function versionOf (name: string): string {
  // Walk up from the entry point: not every package exports its package.json.
  let dir = dirname(fileURLToPath(import.meta.resolve(name)))
  for (let i = 0; i < 10; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === name) return pkg.version ?? '?'
    } catch {}
    dir = dirname(dir)
  }
  return '?'
}

async function environment (infra: { redis?: PrivateRedis, db?: BenchDatabase }): Promise<Environment> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const versions: Record<string, string> = {}
  for (const name of ['fastify-device-grant', '@device-grant/core', 'fastify', '@fastify/formbody', 'oidc-provider', 'autocannon']) versions[name] = versionOf(name)
  if (infra.redis !== undefined) {
    versions.ioredis = versionOf('ioredis')
    versions['redis-server'] = /redis_version:(\S+)/.exec(await infra.redis.admin.info('server'))?.[1] ?? '?'
  }
  if (infra.db !== undefined) {
    versions['@prisma/client'] = versionOf('@prisma/client')
    versions.PostgreSQL = (await infra.db.admin.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?'
  }
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? '?',
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.versions.node,
    versions,
    loadBefore: loadavg()[0]!,
    loadAfter: NaN
  }
}

/** Runs one of this package's scripts in a child process and parses its one JSON line. */
async function child<T> (script: string, execArgv: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [...execArgv, join(here, script)], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${script}: ${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as T)
    })
  })
}

function line (m: Measurement): string {
  const rate = m.scenario === 'flow' ? `${Math.round((m.load.flows ?? 0) / m.load.seconds)} flows/s` : `${Math.round(m.load.rps)} req/s`
  const rt = m.roundTrips === undefined ? '' : `, ${m.roundTrips.toFixed(2)} round trips`
  return `  r${m.round + 1} ${m.scenario.padEnd(9)} ${m.target.padEnd(7)} ${rate.padStart(14)}  ${m.serverCpuPerResponse.toFixed(0).padStart(4)} µs cpu/req  p50 ${m.load.p50.toFixed(2)} ms  p99 ${m.load.p99.toFixed(2)} ms  cpu ${m.serverCpu.toFixed(2)}/${m.loadgenCpu.toFixed(2)}/others ${m.othersCpu.toFixed(2)}/steal ${m.stealCpu.toFixed(2)}  rss ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MB${rt}  load ${m.load1.toFixed(2)}`
}

async function main (): Promise<void> {
  const started = Date.now()
  const needsRedis = targets.includes('redis')
  const needsDb = targets.some(t => PG_TARGETS.includes(t))
  const redis = needsRedis ? await startRedis() : undefined
  let db: BenchDatabase | undefined
  try {
    db = needsDb ? await createDatabase() : undefined
    const infra: Infra = {}
    if (redis !== undefined) infra.redis = { url: redis.url, admin: redis.admin, pid: redis.pid }
    if (db !== undefined) infra.db = { url: db.url, schema: db.schema }
    const childEnv: NodeJS.ProcessEnv = {}
    if (redis !== undefined) childEnv.BENCH_REDIS_URL = redis.url
    if (db !== undefined) {
      childEnv.BENCH_DATABASE_URL = db.url
      childEnv.BENCH_PG_SCHEMA = db.schema
    }

    if (profileAt >= 0) {
      const target = args[profileAt + 1] as Target
      const scenario = args[profileAt + 2] as Scenario
      if (!TARGETS.includes(target) || !SCENARIOS.includes(scenario)) throw new Error('usage: --profile <target> <scenario>')
      const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'))
      const m = await measure(0, scenario, target, { ...settings, duration: Math.max(settings.duration, 5) }, infra, ['--cpu-prof', '--cpu-prof-dir', dir])
      console.log(line(m))
      const file = join(dir, readdirSync(dir).find(f => f.endsWith('.cpuprofile')) ?? '')
      const { functions, packages } = aggregate(JSON.parse(readFileSync(file, 'utf8')))
      console.log(`\nprofile: ${file}\nby package:`)
      for (const s of packages.slice(0, 12)) console.log(`${(s.share * 100).toFixed(1).padStart(5)}%  ${s.name}`)
      console.log('by function (self time):')
      for (const s of functions.slice(0, 40)) console.log(`${(s.share * 100).toFixed(1).padStart(5)}%  ${s.name}`)
      return
    }

    const env = await environment({ ...(redis !== undefined && { redis }), ...(db !== undefined && { db }) })
    console.log(`bench: ${targets.join(', ')} × ${scenarios.join(', ')}, ${settings.rounds} round(s) of ${settings.duration} s (+${settings.warmup} s warm-up); load ${env.loadBefore.toFixed(2)}`)
    const measurements: Measurement[] = []
    for (let round = 0; round < settings.rounds; round++) {
      // Forward, then backward (A B B A): the servers a target compares run next to each other,
      // each first as often as second, so drift of the host between them cancels out.
      const order = round % 2 === 0 ? targets : [...targets].reverse()
      for (const scenario of scenarios) {
        for (const target of order) {
          const m = await measureQuietly(round, scenario, target, infra)
          measurements.push(m)
          console.log(line(m))
        }
      }
    }

    const report: Report = { env, settings, targets, measurements, paired: [] }
    // The ratio targets, once more in short alternating slices of two servers running side by side.
    const comparisons: Array<[Scenario, Target, Target]> = [['poll', 'memory', 'ceiling'], ['authorize', 'memory', 'ceiling'], ['poll', 'redis', 'memory'], ['poll', 'postgres', 'memory'],
      ['poll', 'postgres', 'pgsingle'], ['authorize', 'postgres', 'pgsingle'], ['poll', 'postgres', 'before'], ['authorize', 'postgres', 'before'], ['flow', 'postgres', 'before']]
    for (const [scenario, target, reference] of comparisons) {
      if (!scenarios.includes(scenario) || !targets.includes(target) || !targets.includes(reference)) continue
      const p = await pairedSlices(scenario, target, reference, settings, infra, settings.slices, settings.slice)
      report.paired!.push(p)
      console.log(`  paired ${scenario} ${target}/${reference}: ${p.pairs.map(([a, b]) => `${Math.round(100 * a.rps / b.rps)} %`).join(' ')}`)
    }
    if (!smoke && !runsOnly) {
      console.log('bench: memory per grant…')
      report.memory = await child<MemoryResult>('memory.js', ['--expose-gc'], redis === undefined ? {} : { BENCH_REDIS_URL: redis.url })
      console.log('bench: round trips…')
      report.roundTrips = await child<RoundTripResult>('roundtrips.js', [], childEnv)
    }
    env.loadAfter = loadavg()[0]!
    env.seconds = (Date.now() - started) / 1000

    if (runsOnly) {
      console.log(`\n${resultsTable(report)}\n`)
      return
    }
    if (smoke) {
      checkWellFormed(report)
      console.log(resultsTable(report))
      console.log('bench: smoke run well-formed')
      return
    }
    const out = join(benchDir, outFile)
    writeFileSync(out, renderMarkdown(report))
    writeFileSync(join(benchDir, outFile.replace(/^RESULTS/, 'results').replace(/\.md$/, '.json')), JSON.stringify(report, null, 2) + '\n')
    console.log(`\n${resultsTable(report)}\n`)
    for (const c of targetChecks(report)) console.log(`${c.met ? 'met    ' : 'NOT MET'}  ${c.target}: ${c.measured}`)
    console.log(`\nbench: wrote ${out} in ${Math.round(env.seconds)} s`)
  } finally {
    await db?.drop()
    await redis?.stop()
  }
}

/**
 * Busy CPU from the rest of the machine above this (in cores) makes a run suspect. Prisma runs
 * are not judged: PostgreSQL's own CPU is counted as the rest of the machine.
 */
const INTERFERENCE = 0.25
/** Extra time the whole bench may spend redoing runs that other work disturbed. */
let retryBudgetMs = 40_000

/** A run, redone (twice at most, within the budget) when other work on the machine disturbed it. */
async function measureQuietly (round: number, scenario: Scenario, target: Target, infra: Infra): Promise<Measurement> {
  for (let attempt = 0; ; attempt++) {
    const started = Date.now()
    const m = await measure(round, scenario, target, settings, infra)
    m.retries = attempt
    const disturbed = !PG_TARGETS.includes(target) && m.othersCpu > INTERFERENCE
    if (!disturbed || attempt >= 2 || retryBudgetMs <= 0) return m
    console.log(`${line(m)}  ← disturbed, redoing`)
    await sleep(2000)
    retryBudgetMs -= Date.now() - started + 2000
  }
}

/** The smoke check: every run answered, with finite figures and the answers it should give. */
function checkWellFormed (report: Report): void {
  const problems: string[] = []
  for (const m of report.measurements) {
    const id = `${m.target}/${m.scenario}`
    if (!(m.load.responses > 0)) problems.push(`${id}: no responses`)
    for (const [k, v] of Object.entries({ rps: m.load.rps, p50: m.load.p50, p99: m.load.p99, cpu: m.serverCpu, rss: m.peakRssBytes })) {
      if (!Number.isFinite(v) || v <= 0) problems.push(`${id}: ${k} is ${v}`)
    }
    if (m.load.errors > 0) problems.push(`${id}: ${m.load.errors} connection errors`)
    if (m.scenario === 'authorize' && (m.load.status['200'] ?? 0) !== m.load.responses) problems.push(`${id}: not every answer was 200 (${JSON.stringify(m.load.status)})`)
    if (m.scenario === 'poll' && Object.keys(m.answers).some(k => k !== 'authorization_pending' && k !== 'slow_down')) problems.push(`${id}: unexpected answers ${JSON.stringify(m.answers)}`)
    if (m.scenario === 'flow' && !((m.load.flows ?? 0) > 0)) problems.push(`${id}: no flow completed`)
  }
  if (problems.length > 0) throw new Error(`smoke run is not well-formed:\n${problems.join('\n')}`)
}

await main()
