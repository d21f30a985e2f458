/**
 * What every bench module shares: the median of a list of timings and the seeded input data
 * (mulberry32), so that every table draws the same inputs for the same seed.
 */

/** The median of xs (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** n seeded values in U(0, 1) (mulberry32). */
export function uniform01(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    d[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return d;
}

/** n seeded values in U(-1, 1) as f32 (the bench models' inputs). */
export function randomData(n: number, seed: number): Float32Array {
  return Float32Array.from(uniform01(n, seed), (v) => v * 2 - 1);
}
