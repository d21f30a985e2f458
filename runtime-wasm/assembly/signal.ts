/**
 * Signal-processing kernels (compiler/ops/signal.ts is the spec): DFT, STFT, the Hann / Hamming /
 * Blackman windows and MelWeightMatrix, on f32 or f64 tensors (dtype codes of dtype.ts), f64 inside.
 *
 * A line of N samples is transformed with an iterative radix-2 FFT when N is a power of two and
 * with a direct sum otherwise, both over the reference's exact twiddle table cos/sin(2*pi*m/N)
 * (angles indexed by (k*n) mod N): the results agree with the reference's direct f64 sums to
 * O(log N) f64 roundings before the final rounding to the output dtype.
 *
 * Sizes that the graph gives as run-time scalars (a DFT axis or dft_length, an STFT frame step or
 * length, a window size, the mel parameters) are read when the kernel runs; when they disagree with
 * the output shape fixed at compile time the output is zeros (never a write outside it), like
 * reduce_any's run-time axes.
 */
import { pa, pi } from './common';
import { DT_I32, DT_I64, dtSize, loadAsF64, storeFromF64 } from './dtype';

@inline function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

@inline function st(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

/** DTYPE code of an index kind word (0 i32, 1 i64). */
@inline function kindCode(kind: i32): i32 {
  return kind == 0 ? DT_I32 : DT_I64;
}

/** An integer scalar at `at` of dtype code `dt`, or `dflt` when `at` is 0. */
function scalarAt(at: usize, dt: i32, dflt: f64): f64 {
  return at == 0 ? dflt : loadAsF64(at, 0, dt);
}

/** Zeros the n elements of an output of dtype code dt. */
function zeros(y: usize, n: i32, dt: i32): void {
  memory.fill(y, 0, <usize>n * <usize>dtSize(dt));
}

/** cos and sin of 2*pi*m/n for m < n, as the reference's twiddle table computes them. */
function twiddles(cs: usize, sn: usize, n: i32): void {
  for (let m = 0; m < n; m++) {
    const th = (2 * Math.PI * <f64>m) / <f64>n;
    st(cs, m, Math.cos(th));
    st(sn, m, Math.sin(th));
  }
}

/**
 * Transforms one line in place: X[k] = sum_{t < terms} x[t] e^{sign 2 pi i k t / n} for k < outLen,
 * x in (re, im) (length n, zero from `terms` on), X written back to (re, im). `ore`, `oim` (n f64
 * each) are work space of the direct path.
 */
function line(re: usize, im: usize, ore: usize, oim: usize, cs: usize, sn: usize, n: i32, terms: i32, outLen: i32, sign: f64): void {
  if ((n & (n - 1)) == 0) {
    // radix-2 decimation in time: bit-reversed order, then log2(n) butterfly stages
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) {
        const tr = ld(re, i), ti = ld(im, i);
        st(re, i, ld(re, j)); st(im, i, ld(im, j));
        st(re, j, tr); st(im, j, ti);
      }
    }
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >> 1, stride = n / len;
      for (let i = 0; i < n; i += len) {
        for (let j = 0; j < half; j++) {
          const m = j * stride;
          const wr = ld(cs, m), wi = sign * ld(sn, m);
          const a = i + j, b = a + half;
          const br = ld(re, b), bi = ld(im, b);
          const xr = br * wr - bi * wi, xi = br * wi + bi * wr;
          const ar = ld(re, a), ai = ld(im, a);
          st(re, b, ar - xr); st(im, b, ai - xi);
          st(re, a, ar + xr); st(im, a, ai + xi);
        }
      }
    }
    return;
  }
  for (let k = 0; k < outLen; k++) {
    let sr: f64 = 0, si: f64 = 0;
    for (let t = 0; t < terms; t++) {
      const m = <i32>((<i64>k * <i64>t) % <i64>n);
      const c = ld(cs, m), s = sign * ld(sn, m);
      const xr = ld(re, t), xi = ld(im, t);
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    st(ore, k, sr);
    st(oim, k, si);
  }
  memory.copy(re, ore, <usize>outLen << 3);
  memory.copy(im, oim, <usize>outLen << 3);
}

/**
 * dft params: 0 x, 1 y, 2 dtype (f32 or f64 code), 3 rank r (with the trailing 1|2 axis, <= 6),
 * 4 axis (normalized; ignored when word 5 is set), 5 address of a run-time axis scalar (0: none),
 * 6 its kind (0 i32, 1 i64), 7 dft_length N (0: from word 8, else the default), 8 address of a
 * run-time dft_length scalar (0: none), 9 its kind, 10 inverse, 11 onesided, 12 scratch (48 * cap
 * bytes), 13 cap (the largest N the scratch holds), 14..19 input dims, 20..25 output dims.
 * y[k] = sum_{n<N} x[n] e^{-+2 pi i k n / N} (1/N when inverse) along the axis; onesided forward:
 * k <= N/2; inverse onesided (irfft): x holds bins 0..N/2 of a Hermitian spectrum, y is real.
 */
export function dft(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), dt = pi(p, 2), rank = pi(p, 3);
  const inverse = pi(p, 10) != 0, onesided = pi(p, 11) != 0, scr = pa(p, 12), cap = pi(p, 13);
  const irfft = inverse && onesided;
  const outComp = irfft ? 1 : 2;
  let ysize = 1;
  for (let d = 0; d < rank; d++) ysize *= pi(p, 20 + d);
  if (ysize == 0) return;
  let axis = pi(p, 4);
  const axAt = pa(p, 5);
  if (axAt != 0) {
    const a = <i64>scalarAt(axAt, kindCode(pi(p, 6)), 0);
    axis = <i32>(a < 0 ? a + <i64>rank : a);
    if (a < -(<i64>rank) || a > <i64>(rank - 2) || axis < 0 || axis > rank - 2) { zeros(y, ysize, dt); return; }
  }
  const comp = pi(p, 14 + rank - 1);
  const inLen = pi(p, 14 + axis);
  let n = pi(p, 7);
  const nAt = pa(p, 8);
  if (nAt != 0) {
    const v = scalarAt(nAt, kindCode(pi(p, 9)), 0);
    n = v >= 1 && v <= <f64>cap ? <i32>v : 0;
  } else if (n == 0) n = irfft ? 2 * (inLen - 1) : inLen;
  const outLen = onesided && !inverse ? n / 2 + 1 : n;
  // the output shape this call computes must be the compiled one
  let ok = n >= 1 && n <= cap && (comp == 1 || comp == 2) && pi(p, 20 + rank - 1) == outComp;
  for (let d = 0; d < rank - 1; d++) if (pi(p, 20 + d) != (d == axis ? outLen : pi(p, 14 + d))) ok = false;
  if (!ok) { zeros(y, ysize, dt); return; }
  let outer = 1, inner = 1;
  for (let d = 0; d < axis; d++) outer *= pi(p, 14 + d);
  for (let d = axis + 1; d < rank - 1; d++) inner *= pi(p, 14 + d);
  const re = scr, im = re + (<usize>n << 3), ore = im + (<usize>n << 3), oim = ore + (<usize>n << 3);
  const cs = oim + (<usize>n << 3), sn = cs + (<usize>n << 3);
  twiddles(cs, sn, n);
  const sign: f64 = inverse ? 1 : -1;
  const scale: f64 = inverse ? 1 / <f64>n : 1;
  const used = min(inLen, irfft ? n / 2 + 1 : n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      memory.fill(re, 0, <usize>n << 4);
      for (let t = 0; t < used; t++) {
        const src = ((o * inLen + t) * inner + i) * comp;
        st(re, t, loadAsF64(x, src, dt));
        if (comp == 2) st(im, t, loadAsF64(x, src + 1, dt));
      }
      if (irfft) {
        // Hermitian extension: X[N-k] = conj(X[k]) for 0 < k < N - k
        for (let k = 1; k < n - k; k++) { st(re, n - k, ld(re, k)); st(im, n - k, -ld(im, k)); }
      }
      line(re, im, ore, oim, cs, sn, n, irfft ? n : used, outLen, sign);
      for (let k = 0; k < outLen; k++) {
        const dst = ((o * outLen + k) * inner + i) * outComp;
        storeFromF64(y, dst, dt, ld(re, k) * scale);
        if (outComp == 2) storeFromF64(y, dst + 1, dt, ld(im, k) * scale);
      }
    }
  }
}

/**
 * stft params: 0 signal [batch, len, comp], 1 y [batch, frames, bins, 2], 2 window (0: ones),
 * 3 window dtype, 4 dtype (f32 or f64 code), 5 batch, 6 signal length, 7 comp (1|2), 8 frame_step
 * (0: from word 9), 9 address of a run-time frame_step, 10 its kind (0 i32, 1 i64), 11 frame
 * length L (0: from word 12), 12 address of a run-time frame_length, 13 its kind, 14 frames,
 * 15 bins, 16 onesided, 17 scratch (48 * cap bytes), 18 cap (largest L the scratch holds),
 * 19 window length (0: no window).
 * y[b, f, k] = sum_{n<L} w[n] x[b, f*step + n] e^{-2 pi i k n / L}.
 */
export function stft(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), w = pa(p, 2), wdt = pi(p, 3), dt = pi(p, 4);
  const batch = pi(p, 5), len = pi(p, 6), comp = pi(p, 7), frames = pi(p, 14), bins = pi(p, 15);
  const onesided = pi(p, 16) != 0, scr = pa(p, 17), cap = pi(p, 18), wlen = pi(p, 19);
  const ysize = batch * frames * bins * 2;
  if (ysize == 0) return;
  let step = pi(p, 8);
  if (pa(p, 9) != 0) {
    const v = scalarAt(pa(p, 9), kindCode(pi(p, 10)), 0);
    step = v >= 1 && v <= <f64>len ? <i32>v : 0;
  }
  let L = pi(p, 11);
  if (pa(p, 12) != 0) {
    const v = scalarAt(pa(p, 12), kindCode(pi(p, 13)), 0);
    L = v >= 1 && v <= <f64>cap ? <i32>v : 0;
  }
  let ok = step >= 1 && L >= 1 && L <= cap && L <= len && (wlen == 0 || wlen == L);
  if (ok) ok = frames == (len - L) / step + 1 && bins == (onesided ? L / 2 + 1 : L);
  if (!ok) { zeros(y, ysize, dt); return; }
  const re = scr, im = re + (<usize>L << 3), ore = im + (<usize>L << 3), oim = ore + (<usize>L << 3);
  const cs = oim + (<usize>L << 3), sn = cs + (<usize>L << 3);
  twiddles(cs, sn, L);
  for (let b = 0; b < batch; b++) {
    for (let f = 0; f < frames; f++) {
      const start = f * step;
      for (let t = 0; t < L; t++) {
        const wt: f64 = w != 0 ? loadAsF64(w, t, wdt) : 1;
        const src = (b * len + start + t) * comp;
        st(re, t, wt * loadAsF64(x, src, dt));
        st(im, t, comp == 2 ? wt * loadAsF64(x, src + 1, dt) : 0);
      }
      line(re, im, ore, oim, cs, sn, L, L, bins, -1);
      for (let k = 0; k < bins; k++) {
        const dst = ((b * frames + f) * bins + k) * 2;
        storeFromF64(y, dst, dt, ld(re, k));
        storeFromF64(y, dst + 1, dt, ld(im, k));
      }
    }
  }
}

/**
 * window params: 0 y, 1 dtype code of y, 2 size (the compiled output length), 3 address of the
 * run-time size scalar (0: none), 4 its dtype code, 5 periodic, 6 kind (0 Hann, 1 Hamming,
 * 2 Blackman). w[n] = f(2 pi n / N'), N' = size (periodic) or size - 1 (symmetric; size 1: [1]).
 */
export function window(p: usize): void {
  const y = pa(p, 0), dt = pi(p, 1), size = pi(p, 2), at = pa(p, 3), periodic = pi(p, 5) != 0, kind = pi(p, 6);
  if (size == 0) return;
  if (scalarAt(at, pi(p, 4), <f64>size) != <f64>size) { zeros(y, size, dt); return; }
  const denom = periodic ? size : size - 1;
  for (let n = 0; n < size; n++) {
    let v: f64 = 1;
    if (denom != 0) {
      const th = (2 * Math.PI * <f64>n) / <f64>denom;
      if (kind == 0) v = 0.5 - 0.5 * Math.cos(th);
      else if (kind == 1) v = 25.0 / 46.0 - (21.0 / 46.0) * Math.cos(th);
      else v = 0.42 - 0.5 * Math.cos(th) + 0.08 * Math.cos(2 * th);
    }
    storeFromF64(y, n, dt, v);
  }
}

/** True for a positive integral value (the reference's lengthOf). */
function isInt(v: f64): bool {
  return v == Math.floor(v) && v >= 1;
}

/**
 * melweight params: 0 y [rows, bins], 1 dtype code of y, 2 rows, 3 bins (compiled), 4..8 addresses
 * of num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz, 9..13 their dtype
 * codes, 14 scratch ((bins + 2) * 8 bytes). Triangular filters between num_mel_bins + 2 edges
 * equally spaced in mel (2595 log10(1 + hz / 700)), each at bin floor((dft_length + 1) hz / rate).
 */
export function melweight(p: usize): void {
  const y = pa(p, 0), dt = pi(p, 1), rows = pi(p, 2), bins = pi(p, 3), edge = pa(p, 14);
  if (rows * bins == 0) return;
  const nb = loadAsF64(pa(p, 4), 0, pi(p, 9)), dl = loadAsF64(pa(p, 5), 0, pi(p, 10)), rate = loadAsF64(pa(p, 6), 0, pi(p, 11));
  const lo = loadAsF64(pa(p, 7), 0, pi(p, 12)), hi = loadAsF64(pa(p, 8), 0, pi(p, 13));
  zeros(y, rows * bins, dt);
  // a written bin outside the rows: the reference rejects the inputs (zeros here)
  if (!isInt(nb) || !isInt(dl) || !isInt(rate) || <i32>nb != bins || Math.floor(dl / 2) + 1 != <f64>rows) return;
  if (!(lo >= 0 && hi > lo && isFinite(hi))) return;
  const lowMel = 2595 * Math.log10(1 + lo / 700);
  const stp = (2595 * Math.log10(1 + hi / 700) - lowMel) / <f64>(bins + 2);
  for (let i = 0; i < bins + 2; i++) {
    const hz = 700 * (Math.pow(10, (<f64>i * stp + lowMel) / 2595) - 1);
    st(edge, i, Math.floor(((dl + 1) * hz) / rate));
  }
  for (let i = 0; i < bins; i++) {
    const l = <i32>ld(edge, i), m = <i32>ld(edge, i + 1), h = <i32>ld(edge, i + 2);
    if (m == l) {
      if (m < 0 || m >= rows) { zeros(y, rows * bins, dt); return; }
      storeFromF64(y, m * bins + i, dt, 1);
    } else {
      for (let j = l; j <= m; j++) {
        if (j < 0 || j >= rows) { zeros(y, rows * bins, dt); return; }
        storeFromF64(y, j * bins + i, dt, <f64>(j - l) / <f64>(m - l));
      }
    }
    if (h > m) {
      for (let j = m; j < h; j++) {
        if (j < 0 || j >= rows) { zeros(y, rows * bins, dt); return; }
        storeFromF64(y, j * bins + i, dt, <f64>(h - j) / <f64>(h - m));
      }
    }
  }
}
