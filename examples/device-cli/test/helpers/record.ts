/** One HTTP exchange a client library made, as seen on the wire. */
export interface Exchange {
  url: string
  method: string
  headers: Record<string, string>
  body: URLSearchParams
  status: number
  responseHeaders: Record<string, string>
  json: Record<string, unknown> | undefined
}

/**
 * A `fetch` for the libraries' customFetch hook that keeps every exchange, so a test can check
 * what a strict client really sent (Basic and/or body credentials) and what the server answered.
 */
export function recorder () {
  const exchanges: Exchange[] = []
  const recordingFetch = async (url: string, init: { method?: string, headers?: Record<string, string>, body?: unknown, signal?: AbortSignal | null, redirect?: string }): Promise<Response> => {
    const res = await fetch(url, init as Parameters<typeof fetch>[1])
    const headers = Object.fromEntries(new Headers(init.headers).entries())
    const body = init.body instanceof URLSearchParams ? new URLSearchParams(init.body) : new URLSearchParams(typeof init.body === 'string' ? init.body : '')
    const json = await res.clone().json().then(v => v as Record<string, unknown>, () => undefined)
    exchanges.push({ url, method: init.method ?? 'GET', headers, body, status: res.status, responseHeaders: Object.fromEntries(res.headers.entries()), json })
    return res
  }
  return {
    exchanges,
    fetch: recordingFetch,
    to: (path: string) => exchanges.filter(e => new URL(e.url).pathname === path)
  }
}
