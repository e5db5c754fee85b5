#!/usr/bin/env node
import { parseCliArgs, USAGE, UsageError } from './args.js'
import { EXIT, signIn } from './device.js'
import { processTerminal } from './terminal.js'

const term = processTerminal()
let parsed
try {
  parsed = parseCliArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  term.err(`${error.message}\n\n${USAGE}`)
  process.exit(EXIT.usage)
}
if (parsed.help) {
  term.out(USAGE)
  process.exit(EXIT.ok)
}

// Ctrl+C stops the polling cleanly (the spinner line is cleared); a second one exits at once.
const controller = new AbortController()
process.once('SIGINT', () => {
  controller.abort()
  process.once('SIGINT', () => process.exit(EXIT.interrupted))
})
term.out(`Signing in to ${parsed.options.server.href} as client ${parsed.options.clientId}…\n`)
process.exitCode = await signIn(parsed.options, term, controller.signal)
