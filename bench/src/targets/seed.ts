/** Creates `n` grants (n capped at 100k), 64 at a time, so slow stores are not flooded. */
export async function seedInBatches (n: number, create: () => Promise<string>): Promise<string[]> {
  const total = Math.min(Math.max(0, Math.floor(n)), 100_000)
  const out: string[] = []
  while (out.length < total) {
    const batch = Math.min(64, total - out.length)
    out.push(...await Promise.all(Array.from({ length: batch }, create)))
  }
  return out
}
