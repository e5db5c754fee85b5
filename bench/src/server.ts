// One benchmarked server, in its own process: `node dist/src/server.js <target>`. Forked by
// run.ts with an IPC channel; it reports its port once it listens and exits on 'stop' (or when
// the parent goes away), so no server outlives the run.
import type { AddressInfo } from 'node:net'
import { TARGETS, readServerEnv, type ReadyMessage, type Target } from './config.js'

const target = process.argv[2] as Target
if (!TARGETS.includes(target) || target === 'before') throw new Error(`unknown target ${String(target)}; one of ${TARGETS.join(', ')} (but before, another build's server)`)

let close: () => Promise<void>
let port: number
// Imported on demand: a server loads only its own stack, so its RSS is its own.
if (target === 'oidc') {
  const { oidcServer } = await import('./targets/oidc.js')
  const server = await oidcServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  close = async () => { await new Promise(resolve => server.close(resolve)) }
} else {
  const app = target === 'ceiling'
    ? await (await import('./targets/ceiling.js')).ceilingServer()
    : target === 'pgraw'
      ? await (await import('./targets/pgraw.js')).pgRawServer(readServerEnv())
      : await (await import('./targets/plugin.js')).pluginServer(target, readServerEnv())
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as AddressInfo).port
  close = async () => { await app.close() }
}

let stopping = false
async function stop (): Promise<void> {
  if (stopping) return
  stopping = true
  // Bounded: a store that hangs on close must not keep the run waiting.
  const timer = setTimeout(() => process.exit(0), 3000)
  timer.unref()
  try {
    await close()
  } finally {
    process.exit(0)
  }
}

process.on('message', message => { if (message === 'stop') stop().catch(() => process.exit(1)) })
process.on('disconnect', () => { stop().catch(() => process.exit(1)) })
process.send?.({ type: 'ready', port } satisfies ReadyMessage)
