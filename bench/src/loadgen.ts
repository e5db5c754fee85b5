import autocannon from 'autocannon'
import { CLIENT_ID, DEVICE_CODE_GRANT_TYPE, FORM_HEADERS } from './config.js'

export interface LoadOptions {
  port: number
  connections: number
  /** Seconds. */
  duration: number
}

export interface LoadResult {
  /** Responses completed in the run. */
  responses: number
  seconds: number
  /** Responses per second. */
  rps: number
  /** Latency percentiles in milliseconds, every response counted (4xx answers are the point of a poll). */
  p50: number
  p99: number
  /** By HTTP status. */
  status: Record<string, number>
  errors: number
  timeouts: number
  /** Flow scenario: completed flows (the poll that got the token). */
  flows?: number
}

type Request = autocannon.Request

/**
 * One autocannon run. Latencies are recorded from the `response` event at full resolution
 * (autocannon's own histogram has 1 ms buckets and drops non-2xx answers).
 */
async function cannon (options: LoadOptions, requests: Request[]): Promise<LoadResult> {
  const latencies: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: `http://127.0.0.1:${options.port}`,
      connections: options.connections,
      duration: options.duration,
      pipelining: 1,
      timeout: 10,
      // autocannon stops at its next sample tick: 100 ms ticks make fractional durations exact.
      sampleInt: 100,
      requests
    }, (err: unknown, result) => {
      if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve(result)
    })
    instance.on('response', (_client, _status, _bytes, responseTime) => { latencies.push(responseTime) })
  })
  const sorted = Float64Array.from(latencies).sort()
  const pct = (p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  const status: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) status[code] = stat?.count ?? 0
  return {
    responses: sorted.length,
    seconds: result.duration,
    rps: sorted.length / result.duration,
    p50: pct(0.5),
    p99: pct(0.99),
    status,
    errors: result.errors,
    timeouts: result.timeouts
  }
}

/** Scenario 1: `POST /device_authorization` for a public client. */
export async function authorizeLoad (options: LoadOptions): Promise<LoadResult> {
  return await cannon(options, [{ method: 'POST', path: '/device_authorization', headers: FORM_HEADERS, body: `client_id=${CLIENT_ID}` }])
}

/**
 * Scenario 2: `POST /token` polling pending grants, cycling through `deviceCodes` so each
 * code is polled at the rate the run allows (slow_down bookkeeping included).
 */
export async function pollLoad (options: LoadOptions, deviceCodes: readonly string[], proof?: () => string): Promise<LoadResult> {
  const bodies = deviceCodes.map(code => `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=${CLIENT_ID}&device_code=${code}`)
  let next = 0
  return await cannon(options, [{
    method: 'POST',
    path: '/token',
    headers: FORM_HEADERS,
    setupRequest: request => {
      request.body = bodies[next++ % bodies.length]!
      // DPoP polls (dpop.ts): a fresh proof per request, as a device sends one.
      if (proof !== undefined) request.headers = { ...FORM_HEADERS, dpop: proof() }
      return request
    }
  }])
}

interface FlowContext { deviceCode?: string, userCode?: string }

/**
 * Scenario 3: each connection loops authorize → approve (bench route) → poll, the poll
 * right after the approval getting the token. Returns the flows completed.
 */
export async function flowLoad (options: LoadOptions): Promise<LoadResult> {
  let flows = 0
  const result = await cannon(options, [
    {
      method: 'POST',
      path: '/device_authorization',
      headers: FORM_HEADERS,
      body: `client_id=${CLIENT_ID}`,
      onResponse: (status, body, context) => {
        const ctx = context as FlowContext
        if (status !== 200) return
        const parsed = JSON.parse(body) as { device_code: string, user_code: string }
        ctx.deviceCode = parsed.device_code
        ctx.userCode = parsed.user_code
      }
    },
    {
      method: 'POST',
      setupRequest: (request, context) => {
        const ctx = context as FlowContext
        request.path = `/bench/approve?user_code=${encodeURIComponent(ctx.userCode ?? '')}&device_code=${ctx.deviceCode ?? ''}`
        return request
      }
    },
    {
      method: 'POST',
      path: '/token',
      headers: FORM_HEADERS,
      setupRequest: (request, context) => {
        request.body = `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=${CLIENT_ID}&device_code=${(context as FlowContext).deviceCode ?? ''}`
        return request
      },
      onResponse: status => { if (status === 200) flows++ }
    }
  ])
  return { ...result, flows }
}
