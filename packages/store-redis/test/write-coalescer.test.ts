import t, { type Test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { setImmediate as realSetImmediate } from 'node:timers'
import { once } from 'node:events'
import { WriteCoalescer } from '../src/write-coalescer.js'

/** A real TCP connection, and every chunk the other end received on it. */
async function pair (t: Pick<Test, 'teardown'>): Promise<{ socket: Socket, chunks: string[] }> {
  const chunks: string[] = []
  const server = createServer(conn => { conn.on('data', (chunk: Buffer) => chunks.push(chunk.toString())) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const socket = connect(typeof address === 'object' && address !== null ? address.port : 0, '127.0.0.1')
  await once(socket, 'connect')
  t.teardown(() => {
    socket.destroy()
    server.close()
  })
  return { socket, chunks }
}

async function received (chunks: string[], text: string): Promise<void> {
  for (let i = 0; i < 200 && chunks.join('') !== text; i++) await new Promise(resolve => setTimeout(resolve, 5))
}

/** Counts the socket's system-call writes from now on. */
function countWrites (socket: Socket): () => number {
  let writes = 0
  const s = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>
  for (const name of ['_write', '_writev'] as const) {
    const original = s[name]
    s[name] = function (this: unknown, ...args: unknown[]) {
      writes++
      return original.apply(this, args)
    }
  }
  return () => writes
}

t.test('writes of one turn leave in one write, in order, once the turn ends', async t => {
  const { socket, chunks } = await pair(t)
  const coalescer = new WriteCoalescer({ stream: socket })
  const writes = countWrites(socket)
  for (const part of ['a', 'b', 'c']) {
    coalescer.hold()
    socket.write(part)
  }
  t.equal(writes(), 0, 'held during the turn')
  await new Promise(resolve => realSetImmediate(resolve))
  t.equal(writes(), 1)
  await received(chunks, 'abc')
  t.equal(chunks.join(''), 'abc')
})

t.test('the next turn is corked afresh', async t => {
  const { socket, chunks } = await pair(t)
  const coalescer = new WriteCoalescer({ stream: socket })
  for (const part of ['1', '2']) {
    coalescer.hold()
    socket.write(part)
    await new Promise(resolve => realSetImmediate(resolve))
  }
  await received(chunks, '12')
  t.equal(chunks.join(''), '12')
  t.equal(socket.writableCorked, 0, 'nothing left corked')
})

t.test('the socket is read on every turn (a reconnect replaces it)', async t => {
  const first = await pair(t)
  const second = await pair(t)
  const client: { stream: Socket } = { stream: first.socket }
  const coalescer = new WriteCoalescer(client)
  coalescer.hold()
  await new Promise(resolve => realSetImmediate(resolve))
  client.stream = second.socket
  coalescer.hold()
  t.equal(second.socket.writableCorked, 1, 'the new socket is corked')
  await new Promise(resolve => realSetImmediate(resolve))
  t.equal(second.socket.writableCorked, 0)
})

t.test('a client without a single socket (a Cluster) is left alone', async t => {
  const coalescer = new WriteCoalescer({})
  t.doesNotThrow(() => { coalescer.hold() })
  t.doesNotThrow(() => { new WriteCoalescer({ stream: { cork: 'no' } }).hold() })
})
