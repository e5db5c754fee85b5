import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { BEFORE_SERVER, type ReadyMessage, type Scenario, type ServerStats, type Target } from './config.js'
import { authorizeLoad, flowLoad, pollLoad, type LoadResult } from './loadgen.js'
import { beforeSchema } from './infra.js'

export interface Settings {
  /** Seconds measured per run. */
  duration: number
  /** Seconds of load before each measured run (JIT, pools, caches). */
  warmup: number
  connections: number
  /** Pending grants polled in the poll scenario. */
  codes: number
}

export interface Infra {
  redis?: { url: string, admin: Redis, pid: number }
  db?: { url: string, schema: string }
}

export interface Measurement {
  round: number
  scenario: Scenario
  target: Target
  load: LoadResult
  /** Token endpoint answers during the measured run (server-side counters). */
  answers: Record<string, number>
  /** Device codes polled (poll scenario). */
  codes?: number
  /** CPU time of the server process over the measured run, in cores (1 = one core busy). */
  serverCpu: number
  /** Server CPU time per response, in microseconds: robust to a load generator that cannot saturate it. */
  serverCpuPerResponse: number
  /** CPU time of this process (the load generator) over the measured run, in cores. */
  loadgenCpu: number
  /** Redis only: CPU time of redis-server per response, in microseconds (it shares the machine). */
  redisServerCpuPerResponse?: number
  /** VmHWM of the server: its peak resident set, seeding and warm-up included. */
  peakRssBytes: number
  /** Redis commands sent or SQL statements per request (per completed flow in the flow scenario). */
  roundTrips?: number
  /** 1-minute load average when the run started. */
  load1: number
  /**
   * CPU the rest of the machine used during the measured run, in cores: every busy CPU second
   * (/proc/stat) minus the server's, the load generator's and the private redis-server's.
   * PostgreSQL counts here too. What the bench cannot control, measured run by run.
   */
  othersCpu: number
  /** Time the hypervisor ran someone else on our CPUs (steal), in cores. */
  stealCpu: number
  /** Times this run was redone because other work disturbed it (set by run.ts). */
  retries?: number
}

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url))
const CLK_TCK = 100

interface RunningServer {
  child: ChildProcess
  port: number
  stderr: () => string
}

async function startServer (target: Target, infra: Infra, execArgv: string[]): Promise<RunningServer> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  if (infra.redis !== undefined) {
    env.BENCH_REDIS_URL = infra.redis.url
    env.BENCH_REDIS_PREFIX = 'bench:'
  }
  if (infra.db !== undefined) {
    env.BENCH_DATABASE_URL = infra.db.url
    env.BENCH_PG_SCHEMA = target === 'before' ? beforeSchema(infra.db.schema) : infra.db.schema
  }
  const child = target === 'before'
    ? fork(BEFORE_SERVER ?? '', ['prisma'], { env, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    : fork(SERVER, [target], { env, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`${target} server not ready after 30 s\n${stderr}`)) }, 30_000)
    child.once('message', (message: ReadyMessage) => { clearTimeout(timer); resolve(message.port) })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${target} server exited (${String(code)})\n${stderr}`)) })
  })
  return { child, port, stderr: () => stderr }
}

async function stopServer (server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null) return
  const exited = new Promise(resolve => server.child.once('exit', resolve))
  server.child.send('stop')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

function procStatus (pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) * 1024
}

/** Busy and steal time of the whole machine, in seconds (/proc/stat, first line). */
function machineCpu (): { busy: number, steal: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal ...
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
  return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: steal / CLK_TCK }
}

/** utime + stime of a process, in seconds. */
function procCpu (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

async function getJson<T> (port: number, path: string, method = 'GET'): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, signal: AbortSignal.timeout(60_000) })
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return await res.json() as T
}

function delta (after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0)
  return out
}

/** Seeds the server if the scenario needs it; `run` loads it for so many seconds. */
async function loader (scenario: Scenario, server: RunningServer, settings: Settings): Promise<{ run: (duration: number) => Promise<LoadResult>, deviceCodes: string[] }> {
  let deviceCodes: string[] = []
  if (scenario === 'poll') {
    deviceCodes = (await getJson<{ deviceCodes: string[] }>(server.port, `/bench/seed?n=${settings.codes}`, 'POST')).deviceCodes
  }
  const run = async (duration: number): Promise<LoadResult> => {
    const o = { port: server.port, connections: settings.connections, duration }
    if (scenario === 'authorize') return await authorizeLoad(o)
    if (scenario === 'poll') return await pollLoad(o, deviceCodes)
    return await flowLoad(o)
  }
  return { run, deviceCodes }
}

/** One slice of a paired comparison: requests/s and server CPU per response. */
export interface Slice { rps: number, cpuPerResponse: number }

/** A target against its reference in alternating slices; pairs[i] = [target's slice, reference's slice]. */
export interface PairedSlices {
  scenario: Scenario
  target: Target
  reference: Target
  pairs: Array<[Slice, Slice]>
}

/**
 * Both servers started, seeded and warmed up side by side, then loaded in turn for short
 * slices, A B B A. The host's fast and slow phases last seconds: the two slices of a pair
 * (a second apart) mostly fall in the same phase, where two whole runs (start-up, seeding and
 * warm-up between them) often do not. An idle server costs nothing, so neither slows the other.
 */
export async function pairedSlices (scenario: Scenario, target: Target, reference: Target, settings: Settings, infra: Infra, count: number, seconds: number): Promise<PairedSlices> {
  if (target === 'redis' || reference === 'redis') await infra.redis?.admin.flushall()
  const servers: RunningServer[] = []
  try {
    for (const t of [target, reference]) servers.push(await startServer(t, infra, []))
    const loaders: Array<Awaited<ReturnType<typeof loader>>> = []
    for (const server of servers) loaders.push(await loader(scenario, server, settings))
    for (const l of loaders) if (settings.warmup > 0) await l.run(settings.warmup)
    const slice = async (i: number): Promise<Slice> => {
      const pid = servers[i]!.child.pid!
      const cpu0 = procCpu(pid)
      const load = await loaders[i]!.run(seconds)
      return { rps: load.rps, cpuPerResponse: (procCpu(pid) - cpu0) / load.responses * 1e6 }
    }
    const pairs: Array<[Slice, Slice]> = []
    for (let k = 0; k < count; k++) {
      if (k % 2 === 0) {
        const a = await slice(0)
        pairs.push([a, await slice(1)])
      } else {
        const b = await slice(1)
        pairs.push([await slice(0), b])
      }
    }
    return { scenario, target, reference, pairs }
  } finally {
    await Promise.all(servers.map(stopServer))
  }
}

/**
 * One measurement: a fresh server process, seeding if the scenario needs it, a warm-up, then
 * the measured run with the server's counters, CPU and the store's round trips read on both
 * sides of it. The server is stopped before this resolves, whatever happens.
 */
export async function measure (round: number, scenario: Scenario, target: Target, settings: Settings, infra: Infra, execArgv: string[] = []): Promise<Measurement> {
  // A private Redis: every run starts empty, like the memory store does.
  if (target === 'redis') await infra.redis?.admin.flushall()
  const load1 = loadavg()[0]!
  const server = await startServer(target, infra, execArgv)
  try {
    const pid = server.child.pid!
    const { run, deviceCodes } = await loader(scenario, server, settings)
    if (settings.warmup > 0) await run(settings.warmup)
    // Let requests still in flight finish, so the counters read at rest on both sides of the run.
    await sleep(100)
    const stats0 = await getJson<ServerStats>(server.port, '/bench/stats')
    const cpu0 = procCpu(pid)
    const machine0 = machineCpu()
    const redisPid = target === 'redis' ? infra.redis?.pid : undefined
    const redisCpu0 = redisPid === undefined ? 0 : procCpu(redisPid)
    const self0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const load = await run(settings.duration)
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const self = process.cpuUsage(self0)
    const cpu1 = procCpu(pid)
    const machine1 = machineCpu()
    const redisCpu1 = redisPid === undefined ? 0 : procCpu(redisPid)
    await sleep(100)
    const stats1 = await getJson<ServerStats>(server.port, '/bench/stats')
    const peakRssBytes = procStatus(pid, 'VmHWM')
    // Per request the server handled in the window, counted on the same side as the round
    // trips: requests in flight at either edge of the run then count for both or for neither.
    const answers = delta(stats1.answers, stats0.answers)
    const handled = scenario === 'authorize'
      ? (stats1.created ?? 0) - (stats0.created ?? 0)
      : scenario === 'flow' ? (answers.success ?? 0) : Object.values(answers).reduce((a, b) => a + b, 0)
    const m: Measurement = {
      round,
      scenario,
      target,
      load,
      answers,
      serverCpu: (cpu1 - cpu0) / wall,
      serverCpuPerResponse: (cpu1 - cpu0) / load.responses * 1e6,
      loadgenCpu: (self.user + self.system) / 1e6 / wall,
      peakRssBytes,
      load1,
      othersCpu: Math.max(0, (machine1.busy - machine0.busy) - (cpu1 - cpu0) - (self.user + self.system) / 1e6 - (redisCpu1 - redisCpu0)) / wall,
      stealCpu: (machine1.steal - machine0.steal) / wall
    }
    if (scenario === 'poll') m.codes = deviceCodes.length
    if (redisPid !== undefined) m.redisServerCpuPerResponse = (redisCpu1 - redisCpu0) / load.responses * 1e6
    if (target === 'redis') m.roundTrips = ((stats1.redis ?? 0) - (stats0.redis ?? 0)) / handled
    if (stats1.sql !== undefined) m.roundTrips = ((stats1.sql ?? 0) - (stats0.sql ?? 0)) / handled
    return m
  } catch (err) {
    throw new Error(`${target}/${scenario}: ${String(err)}\nserver stderr:\n${server.stderr()}`)
  } finally {
    await stopServer(server)
  }
}
