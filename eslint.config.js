import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/.tap/**', '**/tap-snapshots/**', '**/node_modules/**', '**/generated/**']
  })
]
