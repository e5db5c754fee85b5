// Self time per function (and per package) from a V8 .cpuprofile, as `node --cpu-prof` writes:
//   node dist/src/profile.js <file.cpuprofile> [top=30]
// `pnpm --filter bench start --profile <target> <scenario>` runs one server under --cpu-prof.
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, hitCount?: number }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface SelfTime { name: string, micros: number, share: number }

/** Self time per function and per package (node_modules package, workspace package, node: internals). */
export function aggregate (profile: CpuProfile): { functions: SelfTime[], packages: SelfTime[], totalMicros: number } {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    // A sample's delta is the time until it was taken: attribute it to the sample.
    const dt = profile.timeDeltas[i] ?? 0
    if (node === undefined) continue
    total += dt
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^file:\/\//, '')
    const key = `${functionName === '' ? '(anonymous)' : functionName} ${shortFile(file)}:${lineNumber + 1}`
    fn.set(key, (fn.get(key) ?? 0) + dt)
    const p = packageOf(file, functionName)
    pkg.set(p, (pkg.get(p) ?? 0) + dt)
  }
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m].map(([name, micros]) => ({ name, micros, share: micros / total })).sort((a, b) => b.micros - a.micros)
  return { functions: rank(fn), packages: rank(pkg), totalMicros: total }
}

function shortFile (file: string): string {
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length)
  const ws = file.indexOf('/packages/')
  if (ws >= 0) return file.slice(ws + 1)
  return file
}

function packageOf (file: string, functionName: string): string {
  if (file === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (file.startsWith('node:')) return 'node: internals'
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  const ws = /\/packages\/([^/]+)\//.exec(file)
  if (ws !== null) return `workspace: ${ws[1]}`
  if (file.includes('/bench/')) return 'bench'
  return file
}

if (process.argv[1]?.endsWith('profile.js') === true && process.argv[2] !== undefined) {
  const top = Number(process.argv[3] ?? 30)
  const { functions, packages, totalMicros } = aggregate(JSON.parse(readFileSync(process.argv[2], 'utf8')) as CpuProfile)
  const line = (s: SelfTime): string => `${(s.share * 100).toFixed(1).padStart(5)}%  ${(s.micros / 1000).toFixed(0).padStart(6)} ms  ${s.name}`
  console.log(`total ${(totalMicros / 1000).toFixed(0)} ms sampled\n\nby package:`)
  for (const s of packages.slice(0, 15)) console.log(line(s))
  console.log('\nby function (self time):')
  for (const s of functions.slice(0, top)) console.log(line(s))
}
