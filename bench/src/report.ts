import { OPERATIONS, PG_TARGETS, SCENARIOS, STORES, TARGET_LABEL, type RoundTripResult, type Scenario, type Target } from './config.js'
import type { Measurement, PairedSlices, Settings } from './measure.js'
import type { MemoryResult } from './memory.js'

export interface Environment {
  date: string
  nproc: number
  cpuModel: string
  memoryGiB: number
  kernel: string
  node: string
  versions: Record<string, string>
  loadBefore: number
  loadAfter: number
  seconds?: number
}

/** The measured runs' settings, plus rounds and the paired slices' count and length (seconds). */
export type RunSettings = Settings & { rounds: number, slices: number, slice: number }

export interface Report {
  env: Environment
  settings: RunSettings
  targets: Target[]
  measurements: Measurement[]
  memory?: MemoryResult
  roundTrips?: RoundTripResult
  /** The ratio targets again, in alternating slices of two servers running side by side. */
  paired?: PairedSlices[]
}

/** A paired-slice comparison's requests/s ratio (median, lowest, highest) and CPU ratio (reference over target). */
export function slicedRatio (report: Report, scenario: Scenario, target: Target, reference: Target): { median: number, lo: number, hi: number, cpu: number, pairs: number } | undefined {
  const p = report.paired?.find(x => x.scenario === scenario && x.target === target && x.reference === reference)
  if (p === undefined || p.pairs.length === 0) return undefined
  const ratios = p.pairs.map(([a, b]) => a.rps / b.rps)
  return {
    median: median(ratios),
    lo: Math.min(...ratios),
    hi: Math.max(...ratios),
    cpu: median(p.pairs.map(([a, b]) => b.cpuPerResponse / a.cpuPerResponse)),
    pairs: ratios.length
  }
}

export function median (values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2
}

const SCENARIO_LABEL: Record<Scenario, string> = {
  authorize: '`POST /device_authorization`',
  poll: '`POST /token`, pending grant',
  flow: 'full flow: authorize → approve → token'
}

/** The rate a scenario is judged by: requests/s, or completed flows/s for the flow. */
export function rate (m: Measurement): number {
  return m.scenario === 'flow' ? (m.load.flows ?? 0) / m.load.seconds : m.load.rps
}

/**
 * The ratio round by round (the two servers of a round ran back to back): lowest,
 * median and highest. The median of these paired ratios is less moved by a slow phase of the
 * host that falls on one server's runs than the ratio of the two medians.
 */
export function roundRange (report: Report, scenario: Scenario, target: Target, reference: Target): [number, number, number] {
  const ratios: number[] = []
  for (const m of find(report, scenario, target)) {
    const ref = report.measurements.find(r => r.round === m.round && r.scenario === scenario && r.target === reference)
    if (ref !== undefined) ratios.push(rate(m) / rate(ref))
  }
  return [Math.min(...ratios), median(ratios), Math.max(...ratios)]
}

function find (report: Report, scenario: Scenario, target: Target): Measurement[] {
  return report.measurements.filter(m => m.scenario === scenario && m.target === target)
}

/**
 * The ratio of the two servers' medians over the rounds of this run. Not the median of per-round
 * ratios: on this machine the noise comes in bursts that hit one run and not the next, so pairing
 * runs by round adds the noise of both; a median per server first discards the bursts.
 */
export function ratio (report: Report, scenario: Scenario, target: Target, reference: Target, value: (m: Measurement) => number = rate): number {
  return median(find(report, scenario, target).map(value)) / median(find(report, scenario, reference).map(value))
}

export function summary (report: Report, scenario: Scenario, target: Target): { rate: number, p50: number, p99: number, rss: number, cpu: number, cpuPerResponse: number, loadgenCpu: number, roundTrips: number } {
  const ms = find(report, scenario, target)
  return {
    rate: median(ms.map(rate)),
    p50: median(ms.map(m => m.load.p50)),
    p99: median(ms.map(m => m.load.p99)),
    rss: median(ms.map(m => m.peakRssBytes)),
    cpu: median(ms.map(m => m.serverCpu)),
    cpuPerResponse: median(ms.map(m => m.serverCpuPerResponse)),
    loadgenCpu: median(ms.map(m => m.loadgenCpu)),
    roundTrips: median(ms.map(m => m.roundTrips ?? NaN))
  }
}

const fmt = {
  int: (n: number): string => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–',
  ms: (n: number): string => Number.isFinite(n) ? n.toFixed(2) : '–',
  mb: (n: number): string => Number.isFinite(n) ? (n / 2 ** 20).toFixed(0) : '–',
  pct: (n: number): string => Number.isFinite(n) ? `${(n * 100).toFixed(0)} %` : '–',
  x: (n: number): string => Number.isFinite(n) ? `${n.toFixed(2)}x` : '–',
  cores: (n: number): string => Number.isFinite(n) ? n.toFixed(2) : '–',
  rt: (n: number): string => Number.isFinite(n) ? (Number.isInteger(n) ? String(n) : n.toFixed(3)) : '–'
}

/** The main table, also quoted in the root README. */
export function resultsTable (report: Report): string {
  const lines = [
    '| scenario | server | req/s (flows/s) | p50 ms | p99 ms | peak RSS MB | server CPU (cores) | CPU µs/response | vs ceiling | vs oidc-provider |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const scenario of SCENARIOS) {
    for (const target of report.targets) {
      const s = summary(report, scenario, target)
      if (!Number.isFinite(s.rate)) continue
      const vsCeiling = target === 'ceiling' || !report.targets.includes('ceiling') ? '' : fmt.pct(ratio(report, scenario, target, 'ceiling'))
      const vsOidc = target === 'oidc' || !report.targets.includes('oidc') ? '' : fmt.x(ratio(report, scenario, target, 'oidc'))
      lines.push(`| ${SCENARIO_LABEL[scenario]} | ${TARGET_LABEL[target]} | ${fmt.int(s.rate)} | ${fmt.ms(s.p50)} | ${fmt.ms(s.p99)} | ${fmt.mb(s.rss)} | ${fmt.cores(s.cpu)} | ${fmt.int(s.cpuPerResponse)} | ${vsCeiling} | ${vsOidc} |`)
    }
  }
  return lines.join('\n')
}

function answersTable (report: Report): string {
  const lines = [
    '| server | codes polled | authorization_pending | slow_down | other |',
    '| --- | ---: | ---: | ---: | --- |'
  ]
  for (const target of report.targets) {
    const ms = find(report, 'poll', target)
    if (ms.length === 0) continue
    const total: Record<string, number> = {}
    for (const m of ms) for (const [k, v] of Object.entries(m.answers)) total[k] = (total[k] ?? 0) + v
    const all = Object.values(total).reduce((a, b) => a + b, 0)
    const share = (k: string): string => all === 0 ? '–' : `${fmt.int(total[k] ?? 0)} (${((total[k] ?? 0) / all * 100).toFixed(1)} %)`
    const other = Object.entries(total).filter(([k]) => k !== 'authorization_pending' && k !== 'slow_down').map(([k, v]) => `${k}: ${fmt.int(v)}`).join(', ')
    lines.push(`| ${TARGET_LABEL[target]} | ${fmt.int(median(ms.map(m => m.codes ?? NaN)))} | ${share('authorization_pending')} | ${share('slow_down')} | ${other === '' ? 'none' : other} |`)
  }
  return lines.join('\n')
}

function roundTripTables (report: Report): string {
  const out: string[] = []
  const stores = STORES.filter(s => report.targets.includes(s))
  if (report.roundTrips !== undefined) {
    const rt = report.roundTrips
    const present = stores.filter(s => rt[s] !== undefined)
    out.push(
      'Counted exactly, one request at a time (20 of each), with `app.inject`: store calls, and what goes over the wire — Redis commands sent by the client (each one request/response; in brackets, what `MONITOR` on the bench\'s private `redis-server` saw arrive, the commands Lua scripts run inside Redis excluded), SQL statements (every `query()` of the pg pool under Prisma).',
      '',
      `| operation | ${present.map(s => `${s}: store calls`).join(' | ')} | ${present.filter(s => s !== 'memory').map(s => s === 'redis' ? 'Redis commands' : `${s}: SQL statements`).join(' | ')} |`,
      `| --- | ${present.map(() => '---:').join(' | ')} | ${present.filter(s => s !== 'memory').map(() => '---:').join(' | ')} |`
    )
    for (const op of OPERATIONS) {
      const calls = present.map(s => fmt.rt(rt[s]?.[op].storeCalls ?? NaN))
      const wire = present.filter(s => s !== 'memory').map(s => {
        const c = rt[s]?.[op] ?? { storeCalls: NaN }
        return c.monitored === undefined ? fmt.rt(c.roundTrips ?? NaN) : `${fmt.rt(c.roundTrips ?? NaN)} (${fmt.rt(c.monitored)})`
      })
      out.push(`| ${op} | ${calls.join(' | ')} | ${wire.join(' | ')} |`)
    }
    out.push('')
  }
  const wired = stores.filter(s => s !== 'memory')
  if (wired.length > 0) {
    out.push(
      'Under load (median over rounds of the measured runs; per request, or per completed flow):',
      '',
      `| scenario | ${wired.map(s => s === 'redis' ? 'Redis commands' : `${s}: SQL statements`).join(' | ')} |`,
      `| --- | ${wired.map(() => '---:').join(' | ')} |`
    )
    for (const scenario of SCENARIOS) {
      out.push(`| ${SCENARIO_LABEL[scenario]} | ${wired.map(s => fmt.rt(summary(report, scenario, s).roundTrips)).join(' | ')} |`)
    }
  }
  return out.join('\n')
}

function memorySection (report: Report): string {
  const m = report.memory
  if (m === undefined) return '(not measured)'
  const lines = [
    `- **Memory store**: ${fmt.int(m.memory.heapBytesPerGrant)} bytes of V8 heap per pending grant (${fmt.int(m.memory.grants)} grants created through \`authorize\` with an IP and a 100-character user agent; \`global.gc()\` twice, then \`heapUsed\` before/after).`
  ]
  if (m.redis !== undefined) {
    lines.push(`- **Redis store**: ${fmt.int(m.redis.usedMemoryBytesPerGrant)} bytes per pending grant by \`INFO memory\` \`used_memory\` delta over ${fmt.int(m.redis.grants)} grants; ${fmt.int(m.redis.memoryUsageBytesPerGrant)} bytes by \`MEMORY USAGE … SAMPLES 0\` on a grant's two keys (record hash + user-code index), averaged over 100 grants. Unique key prefix, deleted afterwards.`)
  }
  return lines.join('\n')
}

interface Check { target: string, measured: string, met: boolean }

/** The paired-slice figures a ratio target is judged by, when the run took them. */
function slices (sl: ReturnType<typeof slicedRatio>): string {
  if (sl === undefined) return ''
  return `**${fmt.pct(sl.median)}** in paired slices (${sl.pairs} pairs, ${fmt.pct(sl.lo)}–${fmt.pct(sl.hi)}; by CPU per response ${fmt.pct(sl.cpu)}); `
}

export function targetChecks (report: Report): Check[] {
  const checks: Check[] = []
  const has = (t: Target): boolean => report.targets.includes(t)
  if (has('memory') && has('ceiling')) {
    for (const scenario of ['poll', 'authorize'] as const) {
      const r = ratio(report, scenario, 'memory', 'ceiling')
      const [lo, mid, hi] = roundRange(report, scenario, 'memory', 'ceiling')
      const cpu = ratio(report, scenario, 'ceiling', 'memory', m => m.serverCpuPerResponse)
      const sl = slicedRatio(report, scenario, 'memory', 'ceiling')
      checks.push({ target: `${scenario === 'poll' ? 'token poll' : 'device authorization'} ≥ 85 % of the bare-Fastify ceiling (memory store)`, measured: `${slices(sl)}rounds: ${fmt.pct(r)} (per round ${fmt.pct(lo)}–${fmt.pct(hi)}, median ${fmt.pct(mid)}), by CPU per response ${fmt.pct(cpu)}`, met: (sl?.median ?? r) >= 0.85 })
    }
  }
  if (has('memory') && has('oidc')) {
    for (const scenario of ['poll', 'authorize'] as const) {
      const r = ratio(report, scenario, 'memory', 'oidc')
      const p99 = ratio(report, scenario, 'memory', 'oidc', m => m.load.p99)
      checks.push({ target: `${scenario === 'poll' ? 'token poll' : 'device authorization'} ≥ 3x oidc-provider req/s, lower p99`, measured: `${fmt.x(r)}, p99 ${fmt.pct(p99)} of oidc-provider's`, met: r >= 3 && p99 < 1 })
    }
  }
  if (has('redis') && has('memory')) {
    const r = ratio(report, 'poll', 'redis', 'memory')
    const [lo, mid, hi] = roundRange(report, 'poll', 'redis', 'memory')
    const sl = slicedRatio(report, 'poll', 'redis', 'memory')
    checks.push({ target: 'Redis store ≥ 60 % of the memory store on the poll path', measured: `${slices(sl)}rounds: ${fmt.pct(r)} (per round ${fmt.pct(lo)}–${fmt.pct(hi)}, median ${fmt.pct(mid)})`, met: (sl?.median ?? r) >= 0.6 })
  }
  const rt = report.roundTrips
  if (has('redis')) {
    const load = summary(report, 'poll', 'redis').roundTrips
    const exact = rt?.redis?.['poll (first, pending)'].roundTrips
    const slow = rt?.redis?.['poll (too fast, slow_down)'].roundTrips
    const seen = rt?.redis?.['poll (first, pending)'].monitored
    checks.push({ target: 'exactly one Redis round trip per poll', measured: `${fmt.rt(exact ?? NaN)} (pending; MONITOR: ${fmt.rt(seen ?? NaN)}), ${fmt.rt(slow ?? NaN)} (slow_down), ${fmt.rt(load)} under load`, met: exact === 1 && slow === 1 && seen === 1 && load === 1 })
  }
  // Alone, a poll is one statement; under load, polls of one event-loop turn share one.
  for (const store of ['postgres', 'prisma'] as const) {
    if (!has(store)) continue
    const load = summary(report, 'poll', store).roundTrips
    const exact = rt?.[store]?.['poll (first, pending)'].roundTrips
    const slow = rt?.[store]?.['poll (too fast, slow_down)'].roundTrips
    checks.push({ target: `at most one SQL statement per poll (${store === 'postgres' ? 'PostgreSQL' : 'Prisma'} store)`, measured: `${fmt.rt(exact ?? NaN)} (pending), ${fmt.rt(slow ?? NaN)} (slow_down), ${fmt.rt(load)} under load`, met: exact === 1 && slow === 1 && load <= 1 })
  }
  if (has('postgres') && has('memory')) {
    const r = ratio(report, 'poll', 'postgres', 'memory')
    const [lo, mid, hi] = roundRange(report, 'poll', 'postgres', 'memory')
    const sl = slicedRatio(report, 'poll', 'postgres', 'memory')
    checks.push({ target: 'PostgreSQL store ≥ 30 % of the memory store on the poll path', measured: `${slices(sl)}rounds: ${fmt.pct(r)} (per round ${fmt.pct(lo)}–${fmt.pct(hi)}, median ${fmt.pct(mid)})`, met: (sl?.median ?? r) >= 0.3 })
  }
  if (has('postgres') && has('before')) {
    for (const [scenario, factor] of [['poll', 3], ['authorize', 2], ['flow', 2]] as const) {
      const r = ratio(report, scenario, 'postgres', 'before')
      const [lo, mid, hi] = roundRange(report, scenario, 'postgres', 'before')
      const p99 = ratio(report, scenario, 'postgres', 'before', m => m.load.p99)
      const sl = slicedRatio(report, scenario, 'postgres', 'before')
      const sliced = sl === undefined ? '' : `${sl.median.toFixed(2)}× in paired slices (${sl.pairs} pairs, ${sl.lo.toFixed(2)}–${sl.hi.toFixed(2)}×); `
      checks.push({ target: `${SCENARIO_LABEL[scenario]}: PostgreSQL store ≥ ${factor}× the Prisma store before, p99 no worse`, measured: `${sliced}rounds: ${r.toFixed(2)}× (per round ${lo.toFixed(2)}–${hi.toFixed(2)}×, median ${mid.toFixed(2)}×), p99 ${p99.toFixed(2)}×`, met: (sl?.median ?? r) >= factor && p99 <= 1 })
    }
    const r = ratio(report, 'poll', 'prisma', 'before')
    checks.push({ target: 'Prisma store now vs before, poll (reported, no threshold)', measured: `${r.toFixed(2)}×, p99 ${ratio(report, 'poll', 'prisma', 'before', m => m.load.p99).toFixed(2)}×`, met: true })
  }
  if (has('postgres') && has('pgsingle')) {
    for (const scenario of SCENARIOS) {
      const r = ratio(report, scenario, 'postgres', 'pgsingle')
      const p99 = ratio(report, scenario, 'postgres', 'pgsingle', m => m.load.p99)
      const sl = slicedRatio(report, scenario, 'postgres', 'pgsingle')
      checks.push({ target: `PostgreSQL store batched vs batch: false, ${SCENARIO_LABEL[scenario]} (the A/B, reported, no threshold)`, measured: `${slices(sl)}rounds: ${fmt.pct(r)}, p99 ${p99.toFixed(2)}×`, met: true })
    }
  }
  if (has('postgres') && has('pgraw')) {
    for (const scenario of SCENARIOS) {
      const r = ratio(report, scenario, 'postgres', 'pgraw')
      const p99 = ratio(report, scenario, 'postgres', 'pgraw', m => m.load.p99)
      checks.push({ target: `PostgreSQL store vs raw node-postgres running the same statements, ${SCENARIO_LABEL[scenario]} (reported, no threshold)`, measured: `${fmt.pct(r)} of its rate, p99 ${p99.toFixed(2)}×`, met: true })
    }
  }
  if (report.memory !== undefined) {
    const b = report.memory.memory.heapBytesPerGrant
    checks.push({ target: 'memory store ≤ 1 KiB per pending grant', measured: `${fmt.int(b)} bytes`, met: b <= 1024 })
  }
  return checks
}

function redone (report: Report): string {
  const retried = report.measurements.reduce((n, m) => n + (m.retries ?? 0), 0)
  const still = report.measurements.filter(m => !PG_TARGETS.includes(m.target) && m.othersCpu > 0.25)
  const kept = still.length === 0 ? 'none kept' : `${still.length} kept anyway (retry budget spent): ${still.map(m => `r${m.round + 1} ${m.target}/${m.scenario}`).join(', ')}`
  return `runs redone because other work took more than 0.25 of a core: ${retried}, ${kept}`
}

function spread (values: number[]): string {
  return `median ${median(values).toFixed(2)}, max ${Math.max(...values).toFixed(2)}`
}

/** What the Redis store costs over the memory store per poll, from this run's own figures. */
function redisNote (report: Report): string {
  if (!report.targets.includes('redis') || !report.targets.includes('memory')) return ''
  const redis = summary(report, 'poll', 'redis')
  const memory = summary(report, 'poll', 'memory')
  const extra = redis.cpuPerResponse - memory.cpuPerResponse
  if (!Number.isFinite(extra)) return ''
  const redisServer = median(report.measurements.filter(m => m.scenario === 'poll' && m.target === 'redis').map(m => m.redisServerCpuPerResponse ?? NaN))
  return `
- **Redis vs memory on the poll path**: the Redis store's one round trip costs the server process
  about ${fmt.int(extra)} µs of CPU per poll more than the memory store (${fmt.int(redis.cpuPerResponse)} vs
  ${fmt.int(memory.cpuPerResponse)}): the loopback TCP write and read (in \`--cpu-prof\` profiles the
  socket write to Redis is the largest single item), and RESP encoding and decoding in ioredis (the
  script answers with six values); and \`redis-server\` needs CPU of its own
  (${fmt.int(redisServer)} µs per poll) on the same two cores as the server and the load generator.`
}

function pairedSection (report: Report): string {
  const paired = report.paired ?? []
  if (paired.length === 0) return ''
  const rows = paired.map(p => {
    const sl = slicedRatio(report, p.scenario, p.target, p.reference)!
    const each = p.pairs.map(([a, b]) => fmt.pct(a.rps / b.rps)).join(', ')
    return `| ${SCENARIO_LABEL[p.scenario]} | ${TARGET_LABEL[p.target]} vs ${TARGET_LABEL[p.reference]} | ${fmt.pct(sl.median)} | ${each} | ${fmt.pct(sl.cpu)} |`
  })
  return `## Paired slices

The ratio targets once more, measured the way this host's noise calls for: the two servers of a
comparison run side by side (both started, seeded and warmed up; an idle server costs nothing),
and the load goes to one, then the other, in ${paired[0]!.pairs.length} pairs of ${report.settings.slice} s slices, A B B A. The
host's fast and slow phases last seconds, so the two slices of a pair, a second apart, nearly
always see the same phase, which two whole runs a few seconds apart often do not. The targets are
judged by the median of these paired ratios; the rounds' figures are given beside them.

| scenario | comparison | median | each pair (requests/s) | by CPU per response (median) |
| --- | --- | ---: | --- | ---: |
${rows.join('\n')}

`
}

export function renderMarkdown (report: Report): string {
  const { env, settings } = report
  const loads = report.measurements.map(m => m.load1)
  const versions = Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')
  const checks = targetChecks(report)
  const loadgenBound = report.measurements.filter(m => m.serverCpu < 0.85 && !PG_TARGETS.includes(m.target) && m.target !== 'redis')
  return `# Benchmark results

Written by \`pnpm bench\` (\`bench/src/run.ts\`); do not edit by hand.

- **Date**: ${env.date}${env.seconds === undefined ? '' : ` (the run took ${Math.round(env.seconds)} s)`}
- **Machine**: ${env.nproc} CPUs (\`nproc\`), ${env.cpuModel}, ${env.memoryGiB.toFixed(0)} GiB RAM, Linux ${env.kernel}; shared with other work
- **Load average** (1 min): ${env.loadBefore.toFixed(2)} before the run, ${env.loadAfter.toFixed(2)} after (the bench itself keeps about two processes busy); at the start of the measured runs: min ${Math.min(...loads).toFixed(2)}, median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}
- **Interference** during the measured runs (\`/proc/stat\`): the rest of the machine used ${spread(report.measurements.filter(m => !PG_TARGETS.includes(m.target)).map(m => m.othersCpu))} of a core (PostgreSQL runs excluded: the database counts there), hypervisor steal ${spread(report.measurements.map(m => m.stealCpu))}; ${redone(report)}
- **Versions**: Node ${env.node}, ${versions}
- **Settings**: ${settings.rounds} interleaved rounds; each run ${settings.duration} s measured after ${settings.warmup} s of warm-up, ${settings.connections} connections, no pipelining; ${fmt.int(settings.codes)} pending grants polled (oidc-provider: 500, see notes)

Every server runs in its own process, started fresh for each run, on 127.0.0.1; autocannon runs in
the orchestrator's process. Within a round the servers run one after the other, in the order of
the table and backwards in the next round (A B B A): the servers a target compares (memory with the
ceiling, Redis with memory) run back to back, each as often first as second. Figures are
medians over the rounds, and ratios compare two servers' medians from this same run. Absolute
numbers on a shared 2-core machine are noise: read the ratios, and the CPU time per response.
Even those move: on this VM the same server's CPU time per response can differ by half from one
run to the next while \`/proc/stat\` shows nothing else running and no steal (contention outside
the VM), which is why the targets below also give the range of the per-round ratios.

## Throughput and latency

${resultsTable(report)}

*req/s* counts every response (a poll answers 400 by design); for the flow it is completed flows
per second (three requests each). *Latency*: every response, in milliseconds, recorded from
autocannon's response events. *Peak RSS*: the server's \`VmHWM\` from \`/proc/<pid>/status\`
at the end of its run (start-up, seeding, warm-up and run). *Server CPU*: the server process's
CPU time over the measured run divided by wall time (1.00 = one core). *CPU µs/response*: that
time per response, comparable even where the load generator, not the server, sets the rate. The
load generator takes most of the other core${loadgenBound.length === 0 ? '' : ` — runs where the server was below 0.85 of a core were limited by the load generator, not the server (${[...new Set(loadgenBound.map(m => `${m.target}/${m.scenario}`))].join(', ')})`}.

${pairedSection(report)}## Poll answers

Token-endpoint answers counted by each server during the measured poll runs (all rounds). The
codes are polled in turn, so how often one code comes back depends on the server's rate: at
10k codes and more than 2,000 req/s a code is polled again before its 5 s interval is over and
hears \`slow_down\` (its interval grows by 5 s: the bookkeeping write), while a slower server
comes back after the interval and answers \`authorization_pending\` (the \`lastPolledAt\` write).
The warm-up has already given most codes their first poll. Both answers cost one store round
trip. oidc-provider does not implement \`slow_down\`: it answers \`authorization_pending\` and
writes nothing.

${answersTable(report)}

## Round trips per request

${roundTripTables(report)}

## Memory per pending grant

${memorySection(report)}

## Targets

| target | measured | met |
| --- | --- | --- |
${checks.map(c => `| ${c.target} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`).join('\n')}

## Notes

- **Ceiling**: bare Fastify + \`@fastify/formbody\`; per request it parses the form, calls
  \`randomBytes(32)\` and sets a Map entry (authorize) or gets one (token), and replies JSON of the
  same shape (errors without \`error_description\`). No client check, no hashing, no expiry, no
  \`cache-control\`: an upper bound, not a competitor.
- **oidc-provider**: \`features.deviceFlow\` on its default in-memory adapter, a public client
  allowed only the device grant, opaque access tokens (no \`openid\` scope, so no ID token is
  signed). Its default adapter is an LRU of 1000 entries and a device code takes two, so its poll
  runs cycle through 500 codes (with 10k, most would be evicted and answered \`invalid_grant\`).
  The flow's approval mirrors its own confirm step (a \`Grant\`, then the device code bound to
  it) through a bench route.
- **fastify-device-grant**: default options, no logger. Approval in the flow goes through
  \`fastify.deviceGrant.approve\` on a bench route (a lookup, the conditional write, a re-read).
  It draws device codes from a pooled CSPRNG buffer (one \`randomFillSync\` per 128 codes), where
  the ceiling calls \`randomBytes(32)\` per request as it is defined to: on the device
  authorization endpoint that alone is worth several µs per request.
- Round trips under load are per request the server handled (counters read at rest before and
  after the run); for the flow, per completed flow, so flows cut off by the end of a run add a
  little.${redisNote(report)}
- Redis is a private \`redis-server\` started by the bench on a free port (no persistence),
  flushed before each Redis run; PostgreSQL is the shared server, in a schema of the bench's own
  (\`bench_<random>\`, shipped migration applied, truncated before each run, dropped at the end);
  Prisma uses \`@prisma/adapter-pg\` with a pool of 10, store-postgres a \`pg.Pool\` of 20
  (\`BENCH_PG_POOL\`) with the store's defaults: named statements, the poll's asynchronous commit,
  and batching (the polls of one event-loop turn in one statement, the saves likewise, one such
  statement in flight at a time). *batch: false* is the same store with every call in its own
  statement: the A/B of the batching.
- **bare Fastify + node-postgres**: the PostgreSQL baseline. The ceiling's work plus the store's
  own single-call statements (\`@device-grant/store-postgres/sql\`, named, same pool size) sent
  straight through \`pool.query\`, one per request, as an app without batching would: \`save\` per
  authorization, \`recordPoll\` per poll (and \`claim\` once approved), lookup + \`approve\` per
  approval. The gap between it and store-postgres with *batch: false* is the store and the
  plugin; the gap between it and the ceiling is PostgreSQL; store-postgres with its defaults
  passes it by sending fewer statements.
`
}
