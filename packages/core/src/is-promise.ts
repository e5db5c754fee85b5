/** A thenable: hooks and lookups may answer with a value or a promise of one. */
export function isPromise<T> (value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function'
}
