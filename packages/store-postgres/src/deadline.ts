/**
 * `promise`, or a rejection with `onTimeout()` when it has not settled within `ms`. The
 * statement itself is not cancelled: its outcome is simply not waited for (a transition that
 * lands later was never acknowledged). The timer never holds the process open.
 */
export async function withDeadline<T> (promise: PromiseLike<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { reject(onTimeout()) }, ms)
    timer.unref()
    promise.then((value) => {
      clearTimeout(timer)
      resolve(value)
    }, (err: unknown) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}
