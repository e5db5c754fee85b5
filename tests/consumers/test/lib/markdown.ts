import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './workspace.js'

export interface CodeBlock {
  /** Markdown file, relative to the repository root. */
  file: string
  /** Line of the opening fence (1-based). */
  line: number
  language: 'ts' | 'js'
  /**
   * `ts fragment` (or `js fragment`) in the info string: a piece of a larger program. It is
   * typechecked with the names such pieces take for granted declared (docs-prelude.d.ts), never run.
   * Any other block is a whole program: typechecked on its own, then run.
   */
  fragment: boolean
  code: string
}

const LANGUAGES: Record<string, 'ts' | 'js'> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' }

/** The TypeScript and JavaScript blocks of a Markdown file, fenced with ``` (indented fences too). */
export function codeBlocks (file: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i] ?? '')
    if (open === null) continue
    const [, indent = '', info = '', flags = ''] = open
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```')
    if (end === -1) break
    const language = LANGUAGES[info]
    if (language !== undefined) {
      const code = lines.slice(i + 1, end).map(l => l.startsWith(indent) ? l.slice(indent.length) : l).join('\n')
      blocks.push({ file, line: i + 1, language, fragment: flags.split(/\s+/).includes('fragment'), code })
    }
    i = end
  }
  return blocks
}

/** A file name for the block, unique in the repository: `packages_store-redis_README.md_L26.ts`. */
export function blockFileName (block: CodeBlock): string {
  return `${block.file.replace(/[/\\]/g, '_')}_L${block.line}.${block.language}`
}

/** The packages a block imports by name (not node: builtins, not relative paths). */
export function bareImports (code: string): string[] {
  const names = [...code.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map(m => m[1] ?? '')
  return names
    .filter(n => n !== '' && !n.startsWith('.') && !n.startsWith('node:') && !n.startsWith('/'))
    .map(n => n.startsWith('@') ? n.split('/').slice(0, 2).join('/') : (n.split('/')[0] ?? n))
}
