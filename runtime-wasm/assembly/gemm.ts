/**
 * f32 GEMM: C[M,N] = act(alpha * A[M,K] * B[K,N] + bias), row-major with leading dimensions.
 * Register-blocked 4x8 microkernel (8 f32x4 accumulators), B read along rows (contiguous in N),
 * A read as broadcast scalars (v128.load32_splat). Loop order: N panels outer so a K x 8 panel of B
 * stays in L1 while all rows of A stream past it.
 */
import { pa, pi, pf, applyActInPlace, pmaxf, pminf } from './common';

/** Bias modes. */
export const BIAS_NONE: i32 = 0;
export const BIAS_ROW: i32 = 1; // bias[m]
export const BIAS_COL: i32 = 2; // bias[n]
export const BIAS_FULL: i32 = 3; // bias[m*N+n]
export const BIAS_SCALAR: i32 = 4; // bias[0]

@inline function biasV(bias: usize, mode: i32, m: i32, n: i32, N: i32): v128 {
  if (mode == BIAS_ROW) return v128.load32_splat(bias + (<usize>m << 2));
  if (mode == BIAS_COL) return v128.load(bias + (<usize>n << 2));
  if (mode == BIAS_FULL) return v128.load(bias + ((<usize>m * <usize>N + <usize>n) << 2));
  if (mode == BIAS_SCALAR) return v128.load32_splat(bias);
  return f32x4.splat(0);
}

@inline function biasS(bias: usize, mode: i32, m: i32, n: i32, N: i32): f32 {
  if (mode == BIAS_ROW) return load<f32>(bias + (<usize>m << 2));
  if (mode == BIAS_COL) return load<f32>(bias + (<usize>n << 2));
  if (mode == BIAS_FULL) return load<f32>(bias + ((<usize>m * <usize>N + <usize>n) << 2));
  if (mode == BIAS_SCALAR) return load<f32>(bias);
  return 0;
}

/**
 * acc * alpha + bias, clamped to [lo, hi]. pmax/pmin (one x86 instruction each, unlike max/min)
 * with the value first keep NaN: pmax(v, lo) = v < lo ? lo : v.
 */
@inline function epi(acc: v128, alpha: v128, b: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(acc, alpha), b), lo), hi);
}

/**
 * The GEMM driver (internal ABI shared with conv2d).
 * @param A address of A, row stride lda (elements)
 * @param B address of B, row stride ldb (elements)
 * @param C address of C, row stride ldc (elements)
 * @param lo, hi clamp bounds of the fused Relu/Clip epilogue (-inf/+inf when none)
 */
export function gemmF32(A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, M: i32, N: i32, K: i32,
  alpha: f32, bias: usize, bmode: i32, lo: f32, hi: f32, pack: usize = 0, packedB: bool = false, packedA: bool = false): void {
  // packedA (M >= 4, N >= 8): A pre-packed by the compiler as row groups [K][4] for rows 0-3, 4-7, ...
  // and, when M % 4 != 0, rows M-4..M-1; sa is then the group stride K * 16 bytes.
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(alpha), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    const sa = packedA ? <usize>K << 4 : <usize>lda << 2, sb = <usize>ldb << 2, sc = <usize>ldc << 2;
    // Column panels of 8 (then 4, then 1). A ragged end is handled by one more panel that overlaps
    // the previous one (recomputing a few columns is cheaper than a scalar tail; C never aliases A/B).
    if (!packedB && N >= 8 && N <= 64 && M >= 8 && <i64>M * <i64>K > 65536) {
      rowsOuter(A, sa, B, sb, C, sc, M, N, K, va, bias, bmode, vlo, vhi, packedA);
      return;
    }
    let n = 0;
    while (n < N) {
      if (N >= 8) {
        const nn = N - n >= 8 ? n : N - 8;
        if (packedB) {
          // B pre-packed by the compiler: one contiguous K x 8 panel per column panel, in loop order
          panel8(A, sa, B, 32, C, sc, M, nn, N, K, va, bias, bmode, vlo, vhi, packedA);
          B += <usize>K << 5;
        } else if (pack != 0 && M >= 8) {
          // copy the K x 8 panel into a contiguous L1 buffer: rows of B far apart (often a multiple
          // of 4 KiB) would alias in L1 and be refetched by every row tile
          let src = B + (<usize>nn << 2), dst = pack;
          for (let k = 0; k < K; k++) {
            v128.store(dst, v128.load(src));
            v128.store(dst, v128.load(src, 16), 16);
            src += sb; dst += 32;
          }
          panel8(A, sa, pack, 32, C, sc, M, nn, N, K, va, bias, bmode, vlo, vhi, packedA);
        } else {
          panel8(A, sa, B + (<usize>nn << 2), sb, C, sc, M, nn, N, K, va, bias, bmode, vlo, vhi, packedA);
        }
        n = nn + 8;
      } else if (N >= 4) {
        const nn = N - n >= 4 ? n : N - 4;
        panel4(A, sa, B + (<usize>nn << 2), sb, C, sc, M, nn, N, K, va, bias, bmode, vlo, vhi);
        n = nn + 4;
      } else {
        column1(A, sa, B + (<usize>n << 2), sb, C, sc, M, n, N, K, alpha, bias, bmode, lo, hi);
        n++;
      }
    }
  } else {
    gemmScalar(A, lda, B, ldb, C, ldc, M, N, K, alpha, bias, bmode, lo, hi, packedB, packedA);
  }
}

/**
 * The scalar build's gemmF32: every element of C on its own, with the operations of the SIMD path
 * that computes it in the same order (identical results): k ascending in one sum (the 4x8 tiles,
 * panel4, column1), or, for the 1x8 tiles (M < 4, N >= 8), even and odd k in two sums added at the
 * end; then acc * alpha + bias and the clamp (pmin(pmax) as the vector epilogue; min(max) in
 * column1). Reads A and B packed the way the SIMD path reads them.
 */
function gemmScalar(A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, M: i32, N: i32, K: i32,
  alpha: f32, bias: usize, bmode: i32, lo: f32, hi: f32, packedB: bool, packedA: bool): void {
  const split = M < 4 && N >= 8;
  const fullA = M & ~3;
  for (let m = 0; m < M; m++) {
    // A[m, k] at ra + k * ka
    let ra: usize, ka: usize;
    if (packedA) {
      const g = m < fullA ? m >> 2 : M >> 2, r = m < fullA ? m & 3 : m - (M - 4);
      ra = A + <usize>g * (<usize>K << 4) + (<usize>r << 2);
      ka = 16;
    } else {
      ra = A + <usize>m * (<usize>lda << 2);
      ka = 4;
    }
    const cm = C + <usize>m * (<usize>ldc << 2);
    // four columns at a time (one sum per column, k ascending; two when split), then one at a time
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let kb: usize;
      const rb = colAddr(B, ldb, K, N, n, packedB);
      kb = packedB ? 32 : <usize>ldb << 2;
      // packed B: columns n..n+3 lie in one panel unless they straddle the last, overlapping one
      if (packedB && colAddr(B, ldb, K, N, n + 3, true) != rb + 12) {
        for (let j = 0; j < 4; j++) gemmColumn(ra, ka, colAddr(B, ldb, K, N, n + j, true), 32, K, split, alpha, bias, bmode, m, n + j, N, lo, hi, cm);
        continue;
      }
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      let d0: f32 = 0, d1: f32 = 0, d2: f32 = 0, d3: f32 = 0;
      let k = 0;
      if (split) {
        for (; k + 2 <= K; k += 2) {
          const a = load<f32>(ra + <usize>k * ka), a2 = load<f32>(ra + <usize>(k + 1) * ka);
          const b = rb + <usize>k * kb, b2 = b + kb;
          s0 += a * load<f32>(b); s1 += a * load<f32>(b, 4); s2 += a * load<f32>(b, 8); s3 += a * load<f32>(b, 12);
          d0 += a2 * load<f32>(b2); d1 += a2 * load<f32>(b2, 4); d2 += a2 * load<f32>(b2, 8); d3 += a2 * load<f32>(b2, 12);
        }
      }
      for (; k < K; k++) {
        const a = load<f32>(ra + <usize>k * ka);
        const b = rb + <usize>k * kb;
        s0 += a * load<f32>(b); s1 += a * load<f32>(b, 4); s2 += a * load<f32>(b, 8); s3 += a * load<f32>(b, 12);
      }
      if (split) { s0 += d0; s1 += d1; s2 += d2; s3 += d3; }
      gemmStore(cm, s0, alpha, bias, bmode, m, n, N, lo, hi);
      gemmStore(cm, s1, alpha, bias, bmode, m, n + 1, N, lo, hi);
      gemmStore(cm, s2, alpha, bias, bmode, m, n + 2, N, lo, hi);
      gemmStore(cm, s3, alpha, bias, bmode, m, n + 3, N, lo, hi);
    }
    for (; n < N; n++) {
      gemmColumn(ra, ka, colAddr(B, ldb, K, N, n, packedB), packedB ? 32 : <usize>ldb << 2, K, split, alpha, bias, bmode, m, n, N, lo, hi, cm);
    }
  }
}

/** Address of B[0, n] (packed B: K x 8 panels at columns 0, 8, ..., and N - 8 for a ragged end). */
@inline function colAddr(B: usize, ldb: i32, K: i32, N: i32, n: i32, packedB: bool): usize {
  if (!packedB) return B + (<usize>n << 2);
  const fullB = N & ~7;
  const pnl = n < fullB ? n >> 3 : N >> 3, col = n < fullB ? n & 7 : n - (N - 8);
  return B + <usize>pnl * (<usize>K << 5) + (<usize>col << 2);
}

/** One element of C (row m, column n) by gemmScalar's rules. */
@inline function gemmColumn(ra: usize, ka: usize, rb: usize, kb: usize, K: i32, split: bool, alpha: f32, bias: usize, bmode: i32,
  m: i32, n: i32, N: i32, lo: f32, hi: f32, cm: usize): void {
  let s: f32 = 0;
  let k = 0;
  if (split) {
    let d: f32 = 0;
    for (; k + 2 <= K; k += 2) {
      s += load<f32>(ra + <usize>k * ka) * load<f32>(rb + <usize>k * kb);
      d += load<f32>(ra + <usize>(k + 1) * ka) * load<f32>(rb + <usize>(k + 1) * kb);
    }
    for (; k < K; k++) s += load<f32>(ra + <usize>k * ka) * load<f32>(rb + <usize>k * kb);
    s += d;
  } else {
    for (; k < K; k++) s += load<f32>(ra + <usize>k * ka) * load<f32>(rb + <usize>k * kb);
  }
  gemmStore(cm, s, alpha, bias, bmode, m, n, N, lo, hi);
}

/** acc * alpha + bias, clamped as the SIMD path clamps (pmin(pmax); column1, N < 4: min(max)), stored at row cm, column n. */
@inline function gemmStore(cm: usize, s: f32, alpha: f32, bias: usize, bmode: i32, m: i32, n: i32, N: i32, lo: f32, hi: f32): void {
  const v = s * alpha + biasS(bias, bmode, m, n, N);
  store<f32>(cm + (<usize>n << 2), N < 4 ? Mathf.min(Mathf.max(v, lo), hi) : pminf(pmaxf(v, lo), hi));
}

/** Columns [n, n+8) of C: 4x8 register tiles (a ragged M end overlaps the previous tile), 1x8 when M < 4. */
@inline function panel8(A: usize, sa: usize, bp: usize, sb: usize, C: usize, sc: usize, M: i32, n: i32, N: i32, K: i32,
  va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128, packedA: bool): void {
  let m = 0;
  let grp = A;
  while (m < M) {
    if (M < 4) {
      tile1x8(A, sa, bp, sb, C, sc, m, n, N, K, va, bias, bmode, vlo, vhi);
      m++;
      continue;
    }
    if (M - m < 4) m = M - 4;
    if (packedA) tile4x8p(grp, bp, sb, C, sc, m, n, N, K, va, bias, bmode, vlo, vhi);
    else tile4x8(A, sa, bp, sb, C, sc, m, n, N, K, va, bias, bmode, vlo, vhi);
    grp += sa;
    m += 4;
  }
}

/**
 * Row-tile-outer order for narrow C (N <= 64) with many rows: each 4-row slice of A is read once
 * (A can be larger than L2 on late, 7x7 layers) while B, small, stays in cache.
 */
@inline function rowsOuter(A: usize, sa: usize, B: usize, sb: usize, C: usize, sc: usize, M: i32, N: i32, K: i32,
  va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128, packedA: bool): void {
  let m = 0;
  let grp = A;
  while (m < M) {
    if (M - m < 4) m = M - 4;
    let n = 0;
    while (n < N) {
      const nn = N - n >= 8 ? n : N - 8;
      if (packedA) tile4x8p(grp, B + (<usize>nn << 2), sb, C, sc, m, nn, N, K, va, bias, bmode, vlo, vhi);
      else tile4x8(A, sa, B + (<usize>nn << 2), sb, C, sc, m, nn, N, K, va, bias, bmode, vlo, vhi);
      n = nn + 8;
    }
    grp += sa;
    m += 4;
  }
}

/** tile4x8 with A packed as [K][4] (one pointer, immediate offsets). */
@inline function tile4x8p(a: usize, bp: usize, sb: usize, C: usize, sc: usize, m: i32, n: i32, N: i32, K: i32,
  va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128): void {
  let b = bp;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1));
    a += 16; b += sb;
  }
  store4x8(C, sc, m, n, N, c00, c01, c10, c11, c20, c21, c30, c31, va, bias, bmode, vlo, vhi);
}

@inline function store4x8(C: usize, sc: usize, m: i32, n: i32, N: i32, c00: v128, c01: v128, c10: v128, c11: v128,
  c20: v128, c21: v128, c30: v128, c31: v128, va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128): void {
  let c = C + <usize>m * sc + (<usize>n << 2);
  v128.store(c, epi(c00, va, biasV(bias, bmode, m, n, N), vlo, vhi));
  v128.store(c, epi(c01, va, biasV(bias, bmode, m, n + 4, N), vlo, vhi), 16);
  c += sc;
  v128.store(c, epi(c10, va, biasV(bias, bmode, m + 1, n, N), vlo, vhi));
  v128.store(c, epi(c11, va, biasV(bias, bmode, m + 1, n + 4, N), vlo, vhi), 16);
  c += sc;
  v128.store(c, epi(c20, va, biasV(bias, bmode, m + 2, n, N), vlo, vhi));
  v128.store(c, epi(c21, va, biasV(bias, bmode, m + 2, n + 4, N), vlo, vhi), 16);
  c += sc;
  v128.store(c, epi(c30, va, biasV(bias, bmode, m + 3, n, N), vlo, vhi));
  v128.store(c, epi(c31, va, biasV(bias, bmode, m + 3, n + 4, N), vlo, vhi), 16);
}

/** One row of C, columns [n, n+8). */
@inline function tile1x8(A: usize, sa: usize, bp: usize, sb: usize, C: usize, sc: usize, m: i32, n: i32, N: i32, K: i32,
  va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128): void {
  let a0 = A + <usize>m * sa;
  let b = bp;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), d00 = f32x4.splat(0), d01 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= K; k += 2) {
    const a = v128.load32_splat(a0), a2 = v128.load32_splat(a0, 4);
    c00 = f32x4.add(c00, f32x4.mul(a, v128.load(b))); c01 = f32x4.add(c01, f32x4.mul(a, v128.load(b, 16)));
    b += sb;
    d00 = f32x4.add(d00, f32x4.mul(a2, v128.load(b))); d01 = f32x4.add(d01, f32x4.mul(a2, v128.load(b, 16)));
    b += sb; a0 += 8;
  }
  for (; k < K; k++) {
    const a = v128.load32_splat(a0);
    c00 = f32x4.add(c00, f32x4.mul(a, v128.load(b))); c01 = f32x4.add(c01, f32x4.mul(a, v128.load(b, 16)));
    b += sb; a0 += 4;
  }
  const c = C + <usize>m * sc + (<usize>n << 2);
  v128.store(c, epi(f32x4.add(c00, d00), va, biasV(bias, bmode, m, n, N), vlo, vhi));
  v128.store(c, epi(f32x4.add(c01, d01), va, biasV(bias, bmode, m, n + 4, N), vlo, vhi), 16);
}

/** Rows [m, m+4) of C, columns [n, n+8): the 4x8 register-blocked microkernel. */
@inline function tile4x8(A: usize, sa: usize, bp: usize, sb: usize, C: usize, sc: usize, m: i32, n: i32, N: i32, K: i32,
  va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128): void {
  let a0 = A + <usize>m * sa;
  let a1 = a0 + sa, a2 = a1 + sa, a3 = a2 + sa;
  let b = bp;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let a = v128.load32_splat(a0);
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(a1);
    c10 = f32x4.add(c10, f32x4.mul(a, b0)); c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(a2);
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(a3);
    c30 = f32x4.add(c30, f32x4.mul(a, b0)); c31 = f32x4.add(c31, f32x4.mul(a, b1));
    a0 += 4; a1 += 4; a2 += 4; a3 += 4; b += sb;
  }
  let c = C + <usize>m * sc + (<usize>n << 2);
  v128.store(c, epi(c00, va, biasV(bias, bmode, m, n, N), vlo, vhi));
  v128.store(c, epi(c01, va, biasV(bias, bmode, m, n + 4, N), vlo, vhi), 16);
  c += sc;
  v128.store(c, epi(c10, va, biasV(bias, bmode, m + 1, n, N), vlo, vhi));
  v128.store(c, epi(c11, va, biasV(bias, bmode, m + 1, n + 4, N), vlo, vhi), 16);
  c += sc;
  v128.store(c, epi(c20, va, biasV(bias, bmode, m + 2, n, N), vlo, vhi));
  v128.store(c, epi(c21, va, biasV(bias, bmode, m + 2, n + 4, N), vlo, vhi), 16);
  c += sc;
  v128.store(c, epi(c30, va, biasV(bias, bmode, m + 3, n, N), vlo, vhi));
  v128.store(c, epi(c31, va, biasV(bias, bmode, m + 3, n + 4, N), vlo, vhi), 16);
}

/** Columns [n, n+4) of C, one row at a time (N < 8). */
@inline function panel4(A: usize, sa: usize, bp: usize, sb: usize, C: usize, sc: usize, M: i32, n: i32, N: i32, K: i32,
  va: v128, bias: usize, bmode: i32, vlo: v128, vhi: v128): void {
  for (let m = 0; m < M; m++) {
    let a0 = A + <usize>m * sa;
    let b = bp;
    let c00 = f32x4.splat(0);
    for (let k = 0; k < K; k++) {
      c00 = f32x4.add(c00, f32x4.mul(v128.load32_splat(a0), v128.load(b)));
      b += sb; a0 += 4;
    }
    v128.store(C + <usize>m * sc + (<usize>n << 2), epi(c00, va, biasV(bias, bmode, m, n, N), vlo, vhi));
  }
}

/** Column n of C (N < 4): dot products along K, 4 partial sums when A rows are contiguous. */
@inline function column1(A: usize, sa: usize, bp: usize, sb: usize, C: usize, sc: usize, M: i32, n: i32, N: i32, K: i32,
  alpha: f32, bias: usize, bmode: i32, lo: f32, hi: f32): void {
  for (let m = 0; m < M; m++) {
    let a0 = A + <usize>m * sa;
    let b = bp;
    let s: f32 = 0;
    for (let k = 0; k < K; k++) {
      s += load<f32>(a0) * load<f32>(b);
      b += sb; a0 += 4;
    }
    let v = s * alpha + biasS(bias, bmode, m, n, N);
    v = Mathf.min(Mathf.max(v, lo), hi);
    store<f32>(C + <usize>m * sc + (<usize>n << 2), v);
  }
}

/**
 * gemm_f32: batched GEMM with fused bias and activation.
 * Params: 0 A, 1 B, 2 C, 3 bias (0: none), 4 M, 5 N, 6 K, 7 lda, 8 ldb, 9 ldc, 10 bias mode,
 * 11 lo (f32), 12 hi (f32), 13 act kind, 14 act a0 (f32), 15 act a1 (f32), 16 batch,
 * 17 A batch stride, 18 B batch stride, 19 C batch stride (elements), 20 alpha (f32),
 * 21 bias batch stride (elements), 22 packing scratch (K * 32 bytes; 0: none), 23 B is
 * pre-packed (1: K x 8 panels at columns 0, 8, ..., and N - 8 when N % 8 != 0; needs N >= 8).
 */
export function gemm_f32(p: usize): void {
  const A = pa(p, 0), B = pa(p, 1), C = pa(p, 2), bias = pa(p, 3);
  const M = pi(p, 4), N = pi(p, 5), K = pi(p, 6);
  const lda = pi(p, 7), ldb = pi(p, 8), ldc = pi(p, 9), bmode = pi(p, 10);
  const lo = pf(p, 11), hi = pf(p, 12), act = pi(p, 13), a0 = pf(p, 14), a1 = pf(p, 15);
  const batch = pi(p, 16), strA = <usize>pi(p, 17) << 2, strB = <usize>pi(p, 18) << 2, strC = <usize>pi(p, 19) << 2;
  const alpha = pf(p, 20), strBias = <usize>pi(p, 21) << 2, pack = pa(p, 22), packedB = pi(p, 23) != 0;
  for (let i = 0; i < batch; i++) {
    const c = C + <usize>i * strC;
    gemmF32(A + <usize>i * strA, lda, B + <usize>i * strB, ldb, c, ldc, M, N, K, alpha,
      bias + <usize>i * strBias, bmode, lo, hi, pack, packedB);
    if (ldc == N) applyActInPlace(c, M * N, act, a0, a1);
    else for (let m = 0; m < M; m++) applyActInPlace(c + <usize>m * (<usize>ldc << 2), N, act, a0, a1);
  }
}
