/** Where the CLI writes: the real process streams, or a recorder in tests. */
export interface Terminal {
  out: (text: string) => void
  err: (text: string) => void
  /** Interactive terminal: draw a spinner and styles. Otherwise plain lines, for logs and pipes. */
  isTTY: boolean
  columns: number
}

export const processTerminal = (): Terminal => ({
  out: text => { process.stdout.write(text) },
  err: text => { process.stderr.write(text) },
  isTTY: process.stdout.isTTY === true && process.env.TERM !== 'dumb',
  columns: process.stdout.columns ?? 80
})

export const bold = (term: Terminal, text: string) => term.isTTY ? `\x1b[1m${text}\x1b[22m` : text

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

function remaining (ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/**
 * "Waiting" feedback while the device polls: a spinner with the time left on a TTY, one plain
 * line otherwise (a log gets no carriage-return noise). `stop` clears the spinner line.
 */
export function waiting (term: Terminal, expiresAt: number, now: () => number = Date.now): { stop: () => void } {
  if (!term.isTTY) {
    term.out(`Waiting for approval (the code expires in ${remaining(expiresAt - now())})…\n`)
    return { stop: () => {} }
  }
  let frame = 0
  const draw = () => {
    term.out(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} Waiting for approval in the browser… ${remaining(expiresAt - now())} left (Ctrl+C to cancel)`)
  }
  draw()
  const timer = setInterval(draw, 100)
  return {
    stop: () => {
      clearInterval(timer)
      term.out('\r\x1b[2K')
    }
  }
}
