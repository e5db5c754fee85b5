// Scale-out on a real three-master Redis Cluster: three app processes (test/fixtures/cluster-app.ts)
// share it. A device authorizes on one, the user approves on another, and 60 concurrent polls
// spread over all three: exactly one token, minted by exactly one process.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { DEVICE_CODE_GRANT_TYPE } from 'fastify-device-grant'
import { startCluster } from './helpers.js'

// Starts a cluster and three TypeScript child processes: slow on a busy 2-core machine.
t.setTimeout(180_000)
const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-app.ts', import.meta.url))
// The child runs the TypeScript fixture with the same loader tap gave this process.
const LOADER = process.execArgv.filter(arg => arg.includes('@tapjs/typescript'))

const { nodes, destroy } = await startCluster(3)
t.teardown(destroy)

interface Instance { name: string, child: ChildProcess, url: string, issued: () => number }

const children: ChildProcess[] = []
const killAll = () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') }
// Should this file die before its teardown runs, the children must not outlive it.
process.once('exit', killAll)
t.teardown(async () => {
  await Promise.all(children.map(async c => {
    if (c.exitCode !== null || c.signalCode !== null) return
    await new Promise(resolve => {
      c.once('exit', resolve)
      c.kill('SIGKILL')
    })
  }))
})

async function start (name: string, keyPrefix: string): Promise<Instance> {
  const child = spawn(process.execPath, [...LOADER, FIXTURE], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, CLUSTER_PORTS: nodes.map(n => n.port).join(','), KEY_PREFIX: keyPrefix, APP_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.push(child)
  let out = ''
  let err = ''
  let issued = 0
  child.stderr?.on('data', (c: Buffer) => { err += c.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} did not start in 60 s:\n${out}\n${err}`)) }, 60_000)
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      issued = out.split('\n').filter(l => l.startsWith('ISSUED ')).length
      const m = /LISTENING (\d+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${String(code)}:\n${out}\n${err}`))
    })
  })
  return { name, child, url: `http://127.0.0.1:${port}`, issued: () => issued }
}

async function postForm (url: string, body: Record<string, string>): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body), signal: AbortSignal.timeout(15_000) })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

const prefix = `scale-${randomBytes(4).toString('hex')}:`
const apps = await Promise.all(['a', 'b', 'c'].map(async name => await start(name, prefix)))

t.test('authorized on one instance, approved on another, 60 polls over all three: one token', async t => {
  const [a, b] = apps as [Instance, Instance, Instance]
  const auth = await postForm(`${a.url}/device_authorization`, { client_id: 'tv' })
  t.equal(auth.status, 200, `authorized on ${a.name}`)
  const deviceCode = String(auth.json.device_code)
  const userCode = String(auth.json.user_code)

  const pending = await postForm(`${b.url}/token`, { grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: deviceCode })
  t.equal(pending.json.error, 'authorization_pending', `${b.name} sees the grant ${a.name} made`)

  const approved = await fetch(`${b.url}/test/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_code: userCode, subject: 'alice' }),
    signal: AbortSignal.timeout(15_000)
  })
  t.strictSame(await approved.json(), { ok: true }, `approved on ${b.name}`)

  const polls = await Promise.all(Array.from({ length: 60 }, async (_, i) =>
    await postForm(`${apps[i % 3]!.url}/token`, { grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: deviceCode })))
  const winners = polls.filter(p => p.status === 200)
  t.equal(winners.length, 1, 'exactly one poll got a token')
  t.ok(polls.every(p => p.status === 200 || p.json.error === 'invalid_grant'), 'every other poll: invalid_grant')
  t.match(winners[0]?.json.access_token, /^[abc]:alice:1$/, 'minted for alice by the instance that won the claim')

  // issueToken writes its ISSUED line before the answer is sent, but the pipes are read on their
  // own schedule: wait for the first line (bounded), then a moment for any second one.
  const total = () => apps.reduce((s, x) => s + x.issued(), 0)
  for (let i = 0; i < 100 && total() === 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
  await new Promise(resolve => setTimeout(resolve, 300))
  const issued = apps.map(x => x.issued())
  t.equal(total(), 1, `issueToken ran once across the three processes (${JSON.stringify(issued)})`)
  t.comment(`60 polls over 3 instances: ${winners.length} token, ${polls.length - winners.length} invalid_grant; minted by ${String(winners[0]?.json.access_token).split(':')[0]}`)
})
