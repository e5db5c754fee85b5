// DPoP polls beside plain polls, in one run: `node dist/src/dpop.js` (after a build). Two servers
// on the memory store, one without DPoP and one with `dpop: true`, both seeded with pending
// grants; the load alternates A B C C B A between plain polls on the first, plain polls on the
// second (the hot path must not notice DPoP is on) and polls with a fresh ES256 proof each on the
// second. Prints medians of requests per second and server CPU per response. Writes nothing.
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createProof, generateProofKey } from '@device-grant/dpop'
import type { ReadyMessage } from './config.js'
import { pollLoad, type LoadResult } from './loadgen.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4)
const DURATION = Number(process.env.BENCH_DURATION ?? 1.5)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 0.5)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const CODES = Number(process.env.BENCH_CODES ?? 10_000)
/** Proofs signed ahead of each DPoP run: more than the run can use, each with its own jti. */
const PROOFS = Number(process.env.BENCH_PROOFS ?? 20_000)
const SERVER = fileURLToPath(new URL('./server.js', import.meta.url))

interface Server { child: ChildProcess, port: number, codes: string[] }

async function start (dpop: boolean): Promise<Server> {
  const child = fork(SERVER, ['memory'], { env: { ...process.env, BENCH_DPOP: dpop ? '1' : '0' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server not ready after 30 s')), 30_000)
    child.once('message', (m: ReadyMessage) => { clearTimeout(timer); resolve(m.port) })
  })
  const res = await fetch(`http://127.0.0.1:${port}/bench/seed?n=${CODES}`, { method: 'POST' })
  return { child, port, codes: ((await res.json()) as { deviceCodes: string[] }).deviceCodes }
}

function cpu (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function proofs (): Promise<() => string> {
  const key = await generateProofKey('ES256')
  const made: string[] = []
  for (let i = 0; i < PROOFS; i++) made.push(await createProof(key, { htm: 'POST', htu: 'http://127.0.0.1/token' }))
  let next = 0
  return () => made[next++ % made.length]!
}

/** Poll answers the grant decided (a refused proof never reaches the grant, so it is not among them). */
interface Sample { rps: number, cpuUs: number, answers: Record<string, number> }

async function answered (port: number): Promise<Record<string, number>> {
  return ((await (await fetch(`http://127.0.0.1:${port}/bench/stats`)).json()) as { answers: Record<string, number> }).answers
}

async function measure (server: Server, proof?: () => string): Promise<Sample> {
  const o = { port: server.port, connections: CONNECTIONS }
  await pollLoad({ ...o, duration: WARMUP }, server.codes, proof)
  const counted = await answered(server.port)
  const before = cpu(server.child.pid ?? 0)
  const load: LoadResult = await pollLoad({ ...o, duration: DURATION }, server.codes, proof)
  const used = cpu(server.child.pid ?? 0) - before
  const answers: Record<string, number> = {}
  for (const [k, v] of Object.entries(await answered(server.port))) if (v > (counted[k] ?? 0)) answers[k] = v - (counted[k] ?? 0)
  const decided = Object.values(answers).reduce((a, b) => a + b, 0)
  if (decided < load.responses * 0.99) throw new Error(`only ${decided} of ${load.responses} polls reached the grant: proofs were refused`)
  return { rps: load.rps, cpuUs: used / load.responses * 1e6, answers }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

const plainServer = await start(false)
const dpopServer = await start(true)
const runs: Record<'plain, DPoP off' | 'plain, DPoP on' | 'DPoP proof', Sample[]> = { 'plain, DPoP off': [], 'plain, DPoP on': [], 'DPoP proof': [] }
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['plain, DPoP off', 'plain, DPoP on', 'DPoP proof'] as const : ['DPoP proof', 'plain, DPoP on', 'plain, DPoP off'] as const
    for (const name of order) {
      const sample = name === 'plain, DPoP off'
        ? await measure(plainServer)
        : await measure(dpopServer, name === 'DPoP proof' ? await proofs() : undefined)
      runs[name].push(sample)
      process.stdout.write(`round ${round + 1} ${name}: ${Math.round(sample.rps)} req/s, ${sample.cpuUs.toFixed(1)} µs CPU per response ${JSON.stringify(sample.answers)}\n`)
    }
  }
  process.stdout.write('\n| polls | req/s (median) | server CPU per response (median) |\n| --- | --- | --- |\n')
  for (const [name, samples] of Object.entries(runs)) {
    process.stdout.write(`| ${name} | ${Math.round(median(samples.map(s => s.rps)))} | ${median(samples.map(s => s.cpuUs)).toFixed(1)} µs |\n`)
  }
} finally {
  for (const s of [plainServer, dpopServer]) s.child.kill()
}
