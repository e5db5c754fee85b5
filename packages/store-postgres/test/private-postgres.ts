// A PostgreSQL cluster of the test's own, on a free port, for the tests that stop, restart or
// kill -9 a server (the shared one on 5432 is never touched). initdb and pg_ctl run as the
// `postgres` OS user when the tests run as root.
import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

function binDir (): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  const found = versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'pg_ctl')))
  if (found === undefined) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin')
  return found
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

export class PrivatePostgres {
  readonly port: number
  readonly #dir: string
  readonly #bin = binDir()

  private constructor (port: number) {
    this.port = port
    this.#dir = mkdtempSync(join(tmpdir(), 'dg-private-pg-'))
    if (process.getuid?.() === 0) chownSync(this.#dir, uidOf('postgres'), gidOf('postgres'))
  }

  /** initdb (fsync on, as in production) and start. */
  static async create (): Promise<PrivatePostgres> {
    const server = new PrivatePostgres(await freePort())
    await server.#as('initdb', ['-D', server.#data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    await server.start()
    return server
  }

  get url (): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`
  }

  get #data (): string {
    return join(this.#dir, 'data')
  }

  async start (): Promise<void> {
    await this.#as('pg_ctl', ['-D', this.#data, '-l', join(this.#dir, 'log'), '-w', '-t', '60', '-o',
      `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c max_connections=50 -c shared_buffers=16MB`, 'start'])
  }

  /** A clean, fast shutdown: every connection is terminated (57P01), nothing is lost. */
  async stop (): Promise<void> {
    await this.#as('pg_ctl', ['-D', this.#data, '-m', 'fast', '-w', 'stop'])
  }

  /** kill -9 of the postmaster and every backend: a crash. Whatever was not flushed is gone. */
  async kill9 (): Promise<void> {
    const pid = Number(readFileSync(join(this.#data, 'postmaster.pid'), 'utf8').split('\n')[0])
    const children = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(pid)
      } catch {
        return false
      }
    })
    process.kill(pid, 'SIGKILL')
    for (const child of children) {
      try { process.kill(Number(child), 'SIGKILL') } catch {}
    }
    // Until every process has exited, the old shared memory blocks a restart.
    const until = Date.now() + 10_000
    while ([String(pid), ...children].some(alive) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
    // The dead postmaster may stay a zombie for a while (whoever inherited it reaps it late), and
    // PostgreSQL takes a zombie's pid in the lock file for a running server.
    // The same goes for the socket's lock file.
    rmSync(join(this.#data, 'postmaster.pid'), { force: true })
    rmSync(join(this.#dir, `.s.PGSQL.${this.port}.lock`), { force: true })
    rmSync(join(this.#dir, `.s.PGSQL.${this.port}`), { force: true })
  }

  /** The server's log, for a failure message. */
  log (): string {
    try {
      return readFileSync(join(this.#dir, 'log'), 'utf8')
    } catch {
      return ''
    }
  }

  /** Stops it if it runs (immediately) and removes its files. */
  async destroy (): Promise<void> {
    if (existsSync(join(this.#data, 'postmaster.pid'))) {
      await this.#as('pg_ctl', ['-D', this.#data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
    }
    rmSync(this.#dir, { recursive: true, force: true })
  }

  async #as (tool: string, args: string[]): Promise<void> {
    const file = join(this.#bin, tool)
    if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 90_000 })
    else await run(file, args, { timeout: 90_000 })
  }
}

/** Running and not a zombie. */
function alive (pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] !== 'Z'
  } catch {
    return false
  }
}

function idOf (name: string, field: 2 | 3): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))
  if (line === undefined) throw new Error(`no ${name} user`)
  return Number(line.split(':')[field])
}

function uidOf (name: string): number {
  return idOf(name, 2)
}

function gidOf (name: string): number {
  return idOf(name, 3)
}
