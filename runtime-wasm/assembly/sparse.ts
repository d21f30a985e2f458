/**
 * Sparse f32 weights (pruned Gemm / MatMul / 1x1-conv-like weights B [K, N], targets/wasm/ops/sparse.ts):
 *
 * - spmm_f32: C[m, :] = act(alpha * A[m, :] B + bias) with B in column-group blocks: the N outputs in
 *   groups of G = 4 or 8 consecutive columns; a block is one k with its G weights (zero or not), and
 *   each group lists its nonzero blocks (k ascending). One splat of A[m, k] feeds G/4 vector
 *   multiply-adds (XNNPACK's sparse-inference layout, SIMD over output features), so a block costs
 *   about as much as G/4 dense SIMD steps plus one index load.
 * - spmm24_f32: B with at most 2 nonzeros in every 4 consecutive k of a column (2:4 along K). Per
 *   group of 4 columns and 4 k: two value vectors (the first and second kept weight of each column)
 *   and two i8x16.swizzle masks that pick, per lane, the A value each weight multiplies out of the 4
 *   consecutive A values (no gathers).
 * - sparse_pack_f32 (at instantiation, like wpack.ts): expands the stored form of a sparse blob into
 *   the layout a kernel reads: mode 0 a bitmap + nonzero values into dense f32, mode 1 the 2:4 values
 *   + 2-bit indices into spmm24_f32's cells.
 * Sums run k ascending per lane in split accumulators (4 for G = 4, 2 pairs for G = 8 and 2:4;
 * the scalar build adds in the same order, so both give identical results).
 */
import { pa, pi, pf, applyActInPlace, pmaxf, pminf } from './common';
import { BIAS_COL, BIAS_FULL, BIAS_ROW, BIAS_SCALAR } from './gemm';

@inline function biasAt(bias: usize, mode: i32, m: i32, n: i32, N: i32): f32 {
  if (mode == BIAS_ROW) return load<f32>(bias + (<usize>m << 2));
  if (mode == BIAS_COL) return load<f32>(bias + (<usize>n << 2));
  if (mode == BIAS_FULL) return load<f32>(bias + ((<usize>m * <usize>N + <usize>n) << 2));
  if (mode == BIAS_SCALAR) return load<f32>(bias);
  return 0;
}

/**
 * Writes lanes [0, cnt) of the epilogue of `acc` for columns n0.. of row m (cnt <= 4); with `perm`
 * (i32 per lane, 0: identity), lane i goes to column perm[n0 + i] (none when negative).
 */
@inline function storeLanes(acc: v128, cm: usize, n0: i32, cnt: i32, m: i32, N: i32, alpha: f32, bias: usize, bmode: i32, lo: f32, hi: f32, perm: usize = 0): void {
  if (perm != 0) {
    for (let i = 0; i < 4; i++) {
      const n = load<i32>(perm + (<usize>(n0 + i) << 2));
      if (n < 0) continue;
      let s: f32 = i == 0 ? f32x4.extract_lane(acc, 0) : i == 1 ? f32x4.extract_lane(acc, 1) : i == 2 ? f32x4.extract_lane(acc, 2) : f32x4.extract_lane(acc, 3);
      store<f32>(cm + (<usize>n << 2), pminf(pmaxf(s * alpha + biasAt(bias, bmode, m, n, N), lo), hi));
    }
    return;
  }
  if (cnt >= 4 && (bmode == BIAS_COL || bmode == 0 || bmode == BIAS_ROW || bmode == BIAS_SCALAR)) {
    let b = f32x4.splat(0);
    if (bmode == BIAS_COL) b = v128.load(bias + (<usize>n0 << 2));
    else if (bmode == BIAS_ROW) b = v128.load32_splat(bias + (<usize>m << 2));
    else if (bmode == BIAS_SCALAR) b = v128.load32_splat(bias);
    const y = f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(acc, f32x4.splat(alpha)), b), f32x4.splat(lo)), f32x4.splat(hi));
    v128.store(cm + (<usize>n0 << 2), y);
    return;
  }
  for (let i = 0; i < cnt; i++) {
    let s: f32 = i == 0 ? f32x4.extract_lane(acc, 0) : i == 1 ? f32x4.extract_lane(acc, 1) : i == 2 ? f32x4.extract_lane(acc, 2) : f32x4.extract_lane(acc, 3);
    s = pminf(pmaxf(s * alpha + biasAt(bias, bmode, m, n0 + i, N), lo), hi);
    store<f32>(cm + (<usize>(n0 + i) << 2), s);
  }
}

/** Scalar epilogue of one output (scalar build). */
@inline function storeOne(s: f32, cm: usize, n: i32, m: i32, N: i32, alpha: f32, bias: usize, bmode: i32, lo: f32, hi: f32): void {
  store<f32>(cm + (<usize>n << 2), pminf(pmaxf(s * alpha + biasAt(bias, bmode, m, n, N), lo), hi));
}

/**
 * One group of G = 4 columns, blocks [b, e): 4 accumulators (blocks b + 4i + r go to accumulator r),
 * combined as (a0 + a1) + (a2 + a3).
 */
@inline function group4(x: usize, vals: usize, idx: usize, b: i32, e: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let ip = idx + (<usize>b << 1), vp = vals + (<usize>b << 4);
  const e4 = b + ((e - b) & ~3);
  for (; b < e4; b += 4) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x + (<usize>load<u16>(ip) << 2)), v128.load(vp)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(x + (<usize>load<u16>(ip, 2) << 2)), v128.load(vp, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(x + (<usize>load<u16>(ip, 4) << 2)), v128.load(vp, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(x + (<usize>load<u16>(ip, 6) << 2)), v128.load(vp, 48)));
    ip += 8; vp += 64;
  }
  // the tail goes to accumulators 0, 1, 2 in turn, as the scalar build does
  let r = 0;
  for (; b < e; b++, r++) {
    const t = f32x4.mul(v128.load32_splat(x + (<usize>load<u16>(ip) << 2)), v128.load(vp));
    if (r == 0) a0 = f32x4.add(a0, t);
    else if (r == 1) a1 = f32x4.add(a1, t);
    else a2 = f32x4.add(a2, t);
    ip += 2; vp += 16;
  }
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
}

/** The scalar build's group4 for lane `l` of a group of width G (vector v = l / 4 of each block). */
function group4Scalar(x: usize, vals: usize, idx: usize, b: i32, e: i32, G: i32, l: i32): f32 {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  const n4 = G == 4 ? 4 : 2;
  const e4 = b + ((e - b) & ~(n4 - 1));
  let r = 0;
  for (let i = b; i < e; i++) {
    const t = load<f32>(x + (<usize>load<u16>(idx + (<usize>i << 1)) << 2)) * load<f32>(vals + ((<usize>i * <usize>G + <usize>l) << 2));
    const slot = i < e4 ? (i - b) & (n4 - 1) : r++;
    if (slot == 0) a0 += t;
    else if (slot == 1) a1 += t;
    else if (slot == 2) a2 += t;
    else a3 += t;
  }
  return (a0 + a1) + (a2 + a3);
}

/**
 * One group of G = 8 columns, blocks [b, e): two blocks per step (even blocks into accumulators a,
 * odd ones into c; a last odd block into a); writes the 8 sums (a + c) to out[0..1] as two vectors.
 */
@inline function group8(x: usize, vals: usize, idx: usize, b: i32, e: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let ip = idx + (<usize>b << 1), vp = vals + (<usize>b << 5);
  const e2 = b + ((e - b) & ~1);
  for (; b < e2; b += 2) {
    const s0 = v128.load32_splat(x + (<usize>load<u16>(ip) << 2));
    const s1 = v128.load32_splat(x + (<usize>load<u16>(ip, 2) << 2));
    a0 = f32x4.add(a0, f32x4.mul(s0, v128.load(vp)));
    a1 = f32x4.add(a1, f32x4.mul(s0, v128.load(vp, 16)));
    c0 = f32x4.add(c0, f32x4.mul(s1, v128.load(vp, 32)));
    c1 = f32x4.add(c1, f32x4.mul(s1, v128.load(vp, 48)));
    ip += 4; vp += 64;
  }
  if (b < e) {
    const s0 = v128.load32_splat(x + (<usize>load<u16>(ip) << 2));
    a0 = f32x4.add(a0, f32x4.mul(s0, v128.load(vp)));
    a1 = f32x4.add(a1, f32x4.mul(s0, v128.load(vp, 16)));
  }
  v128.store(out, f32x4.add(a0, c0));
  v128.store(out, f32x4.add(a1, c1), 16);
}

/** The scalar build's group8 for lane l (0..7). */
function group8Scalar(x: usize, vals: usize, idx: usize, b: i32, e: i32, l: i32): f32 {
  let a: f32 = 0, c: f32 = 0;
  const e2 = b + ((e - b) & ~1);
  for (let i = b; i < e; i++) {
    const t = load<f32>(x + (<usize>load<u16>(idx + (<usize>i << 1)) << 2)) * load<f32>(vals + ((<usize>i * 8 + <usize>l) << 2));
    if (i < e2 && ((i - b) & 1) == 1) c += t;
    else a += t;
  }
  return a + c;
}

/**
 * spmm_f32: C = act(alpha * A B + bias), B [K, N] in column-group blocks (file comment).
 * Params: 0 A (row m at A + m * lda floats), 1 vals (f32: block i's G weights at i * G), 2 idx (u16 k
 * of block i), 3 ptr (i32 [J + 1]: group j's blocks are ptr[j] .. ptr[j + 1] - 1, J = ceil(N / G)),
 * 4 C (row m at C + m * ldc), 5 bias (0: none), 6 M, 7 N, 8 lda, 9 ldc, 10 G (4 or 8), 11 bias mode
 * (gemm.ts BIAS_*), 12 lo (f32), 13 hi (f32), 14 act kind, 15 act a0 (f32), 16 act a1 (f32),
 * 17 alpha (f32), 18 scratch (32 bytes, 16-aligned; G = 8), 19 perm (0: group j holds columns
 * jG .. jG + G - 1, columns past N in the last group computed but not stored; else i32 [J * G]: the
 * column of each lane, -1 for none, each column once: column-permuted groups, targets/wasm/ops/sparse.ts groupColumns).
 */
export function spmm_f32(p: usize): void {
  const A = pa(p, 0), vals = pa(p, 1), idx = pa(p, 2), ptr = pa(p, 3), C = pa(p, 4), bias = pa(p, 5);
  const M = pi(p, 6), N = pi(p, 7), lda = pi(p, 8), ldc = pi(p, 9), G = pi(p, 10), bmode = pi(p, 11);
  const lo = pf(p, 12), hi = pf(p, 13), act = pi(p, 14), a0 = pf(p, 15), a1 = pf(p, 16), alpha = pf(p, 17);
  const tmp = pa(p, 18), perm = pa(p, 19);
  const J = (N + G - 1) / G;
  for (let m = 0; m < M; m++) {
    const x = A + ((<usize>m * <usize>lda) << 2), cm = C + ((<usize>m * <usize>ldc) << 2);
    for (let j = 0; j < J; j++) {
      const b = load<i32>(ptr + (<usize>j << 2)), e = load<i32>(ptr + (<usize>(j + 1) << 2));
      const n0 = j * G;
      if (ASC_FEATURE_SIMD) {
        if (G == 4) {
          storeLanes(group4(x, vals, idx, b, e), cm, n0, min(4, N - n0), m, N, alpha, bias, bmode, lo, hi, perm);
        } else {
          group8(x, vals, idx, b, e, tmp);
          storeLanes(v128.load(tmp), cm, n0, min(4, N - n0), m, N, alpha, bias, bmode, lo, hi, perm);
          if (perm != 0 || N - n0 > 4) storeLanes(v128.load(tmp, 16), cm, n0 + 4, min(4, N - n0 - 4), m, N, alpha, bias, bmode, lo, hi, perm);
        }
      } else {
        for (let l = 0; l < G && (perm != 0 || n0 + l < N); l++) {
          const col = perm != 0 ? load<i32>(perm + (<usize>(n0 + l) << 2)) : n0 + l;
          if (col < 0) continue;
          const s = G == 4 ? group4Scalar(x, vals, idx, b, e, 4, l) : group8Scalar(x, vals, idx, b, e, l);
          storeOne(s, cm, col, m, N, alpha, bias, bmode, lo, hi);
        }
      }
    }
    applyActInPlace(cm, N, act, a0, a1);
  }
}

/**
 * spmm24_f32: C = act(alpha * A B + bias), B [K, N] 2:4 along K (K % 4 == 0), as cells of 64 bytes
 * per (column group j of 4, k group q), j outer: w0 (4 f32: each column's first kept weight), w1
 * (second), s0, s1 (i8x16.swizzle masks: lane l's 4 bytes select A[4q + i] with i its weight's k - 4q).
 * Params: 0 A, 1 cells, 2 C, 3 bias (0: none), 4 M, 5 N, 6 K, 7 lda, 8 ldc, 9 bias mode, 10 lo (f32),
 * 11 hi (f32), 12 act kind, 13 act a0 (f32), 14 act a1 (f32), 15 alpha (f32).
 */
export function spmm24_f32(p: usize): void {
  const A = pa(p, 0), cells = pa(p, 1), C = pa(p, 2), bias = pa(p, 3);
  const M = pi(p, 4), N = pi(p, 5), K = pi(p, 6), lda = pi(p, 7), ldc = pi(p, 8), bmode = pi(p, 9);
  const lo = pf(p, 10), hi = pf(p, 11), act = pi(p, 12), a0 = pf(p, 13), a1 = pf(p, 14), alpha = pf(p, 15);
  const J = (N + 3) >> 2, Q = K >> 2;
  for (let m = 0; m < M; m++) {
    const x = A + ((<usize>m * <usize>lda) << 2), cm = C + ((<usize>m * <usize>ldc) << 2);
    let cp = cells;
    for (let j = 0; j < J; j++) {
      const n0 = j << 2;
      if (ASC_FEATURE_SIMD) {
        // two k groups a step: u* take even q, v* odd q (a last odd one goes to u*)
        let u0 = f32x4.splat(0), u1 = f32x4.splat(0), v0 = f32x4.splat(0), v1 = f32x4.splat(0);
        let xp = x;
        const Q2 = Q & ~1;
        for (let q = 0; q < Q2; q += 2) {
          const xq = v128.load(xp), xr = v128.load(xp, 16);
          u0 = f32x4.add(u0, f32x4.mul(i8x16.swizzle(xq, v128.load(cp, 32)), v128.load(cp)));
          u1 = f32x4.add(u1, f32x4.mul(i8x16.swizzle(xq, v128.load(cp, 48)), v128.load(cp, 16)));
          v0 = f32x4.add(v0, f32x4.mul(i8x16.swizzle(xr, v128.load(cp, 96)), v128.load(cp, 64)));
          v1 = f32x4.add(v1, f32x4.mul(i8x16.swizzle(xr, v128.load(cp, 112)), v128.load(cp, 80)));
          xp += 32; cp += 128;
        }
        if (Q2 < Q) {
          const xq = v128.load(xp);
          u0 = f32x4.add(u0, f32x4.mul(i8x16.swizzle(xq, v128.load(cp, 32)), v128.load(cp)));
          u1 = f32x4.add(u1, f32x4.mul(i8x16.swizzle(xq, v128.load(cp, 48)), v128.load(cp, 16)));
          cp += 64;
        }
        storeLanes(f32x4.add(f32x4.add(u0, u1), f32x4.add(v0, v1)), cm, n0, min(4, N - n0), m, N, alpha, bias, bmode, lo, hi);
      } else {
        for (let l = 0; l < 4 && n0 + l < N; l++) {
          let u0: f32 = 0, u1: f32 = 0, v0: f32 = 0, v1: f32 = 0;
          const Q2 = Q & ~1;
          for (let q = 0; q < Q; q++) {
            const c = cp + (<usize>q << 6);
            const i0 = <usize>load<u8>(c + 32 + (<usize>l << 2)) >> 2, i1 = <usize>load<u8>(c + 48 + (<usize>l << 2)) >> 2;
            const t0 = load<f32>(x + ((<usize>q << 4) + (i0 << 2))) * load<f32>(c + (<usize>l << 2));
            const t1 = load<f32>(x + ((<usize>q << 4) + (i1 << 2))) * load<f32>(c + 16 + (<usize>l << 2));
            if (q < Q2 && (q & 1) == 1) {
              v0 += t0; v1 += t1;
            } else {
              u0 += t0; u1 += t1;
            }
          }
          storeOne((u0 + u1) + (v0 + v1), cm, n0 + l, m, N, alpha, bias, bmode, lo, hi);
        }
        cp += <usize>Q << 6;
      }
    }
    applyActInPlace(cm, N, act, a0, a1);
  }
}

/**
 * sparse_pack_f32 (start function): params 0 src, 1 dst, 2 mode, 3 count.
 * Mode 0: src = ceil(count / 32) u32 bitmap words (bit i % 32 of word i / 32: element i is nonzero)
 * then the nonzero f32 values in order; dst = count f32 (zeros elsewhere).
 * Mode 1: src = count cells of 2:4 values (8 f32: w0[4], w1[4]) then count u16 codes (bits 2l..2l+1:
 * lane l's first index, bits 8 + 2l..: its second); dst = count 64-byte spmm24_f32 cells.
 */
export function sparse_pack_f32(p: usize): void {
  const src = pa(p, 0), dst = pa(p, 1), mode = pi(p, 2), count = pi(p, 3);
  if (mode == 0) {
    const words = (count + 31) >> 5;
    let v = src + (<usize>words << 2);
    for (let i = 0; i < count; i++) {
      const bit = (load<u32>(src + (<usize>(i >> 5) << 2)) >> (<u32>i & 31)) & 1;
      if (bit) {
        store<f32>(dst + (<usize>i << 2), load<f32>(v));
        v += 4;
      } else store<f32>(dst + (<usize>i << 2), 0);
    }
    return;
  }
  const codes = src + (<usize>count << 5);
  for (let c = 0; c < count; c++) {
    const o = dst + (<usize>c << 6), s = src + (<usize>c << 5);
    for (let i = 0; i < 8; i++) store<f32>(o + (<usize>i << 2), load<f32>(s + (<usize>i << 2)));
    const code = <i32>load<u16>(codes + (<usize>c << 1));
    for (let l = 0; l < 4; l++) {
      const i0 = (code >> (2 * l)) & 3, i1 = (code >> (8 + 2 * l)) & 3;
      for (let b = 0; b < 4; b++) {
        store<u8>(o + 32 + <usize>(l * 4 + b), <u8>(i0 * 4 + b));
        store<u8>(o + 48 + <usize>(l * 4 + b), <u8>(i1 * 4 + b));
      }
    }
  }
}

/** Epilogue of 4 pixels: clamp(acc, lo, hi) stored at y. */
@inline function storeClamped(y: usize, acc: v128, lo: v128, hi: v128, off: usize): void {
  v128.store(y + off, f32x4.pmin(f32x4.pmax(acc, lo), hi));
}

/**
 * spmm_chw_f32: 1x1 convolution (stride 1, no padding, one group) of channel-major X [B, C, P]
 * (P = H * W pixels) by a sparse W [K, C] in rows: Y[b, k, p] = act(bias[k] + sum over the nonzero
 * W[k, c] of W[k, c] X[b, c, p]) (XNNPACK's f32-spmm: SIMD over pixels, one splat per nonzero weight
 * feeds 4 vectors of 16 consecutive pixels, then 1 vector of 4 for two output rows at a time, then
 * single pixels). Every output
 * sums bias first, then its row's nonzeros in order, one rounding each (the scalar build alike).
 * Params: 0 X, 1 vals (f32 nonzeros, row k's at ptr[k] .. ptr[k + 1] - 1), 2 idx (u16 c of each
 * nonzero), 3 ptr (i32 [K + 1]), 4 bias (f32 [K]; 0: none), 5 Y, 6 B, 7 C, 8 K, 9 P, 10 lo (f32),
 * 11 hi (f32), 12 act kind, 13 act a0 (f32), 14 act a1 (f32).
 */
export function spmm_chw_f32(p: usize): void {
  const X = pa(p, 0), vals = pa(p, 1), idx = pa(p, 2), ptr = pa(p, 3), bias = pa(p, 4), Y = pa(p, 5);
  const B = pi(p, 6), C = pi(p, 7), K = pi(p, 8), P = pi(p, 9);
  const lo = pf(p, 10), hi = pf(p, 11), act = pi(p, 12), a0 = pf(p, 13), a1 = pf(p, 14);
  const rowBytes = <usize>P << 2;
  for (let b = 0; b < B; b++) {
    const x = X + <usize>b * <usize>C * rowBytes, y = Y + <usize>b * <usize>K * rowBytes;
    let px = 0;
    if (ASC_FEATURE_SIMD) {
      const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
      for (; px + 16 <= P; px += 16) {
        const xp = x + (<usize>px << 2);
        for (let k = 0; k < K; k++) {
          const s = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>k << 2)) : 0);
          let c0 = s, c1 = s, c2 = s, c3 = s;
          const e = load<i32>(ptr + (<usize>(k + 1) << 2));
          for (let i = load<i32>(ptr + (<usize>k << 2)); i < e; i++) {
            const w = v128.load32_splat(vals + (<usize>i << 2));
            const r = xp + <usize>load<u16>(idx + (<usize>i << 1)) * rowBytes;
            c0 = f32x4.add(c0, f32x4.mul(w, v128.load(r)));
            c1 = f32x4.add(c1, f32x4.mul(w, v128.load(r, 16)));
            c2 = f32x4.add(c2, f32x4.mul(w, v128.load(r, 32)));
            c3 = f32x4.add(c3, f32x4.mul(w, v128.load(r, 48)));
          }
          const yo = y + <usize>k * rowBytes + (<usize>px << 2);
          storeClamped(yo, c0, vlo, vhi, 0);
          storeClamped(yo, c1, vlo, vhi, 16);
          storeClamped(yo, c2, vlo, vhi, 32);
          storeClamped(yo, c3, vlo, vhi, 48);
        }
      }
      for (; px + 4 <= P; px += 4) {
        const xp = x + (<usize>px << 2);
        let k = 0;
        // two output rows at a time: two independent add chains (each row still sums in order)
        for (; k + 2 <= K; k += 2) {
          let c0 = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>k << 2)) : 0);
          let c1 = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>(k + 1) << 2)) : 0);
          let i0 = load<i32>(ptr + (<usize>k << 2)), i1 = load<i32>(ptr + (<usize>(k + 1) << 2));
          const e0 = i1, e1 = load<i32>(ptr + (<usize>(k + 2) << 2));
          const n = min(e0 - i0, e1 - i1);
          for (let t = 0; t < n; t++, i0++, i1++) {
            const r0 = xp + <usize>load<u16>(idx + (<usize>i0 << 1)) * rowBytes;
            const r1 = xp + <usize>load<u16>(idx + (<usize>i1 << 1)) * rowBytes;
            c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(vals + (<usize>i0 << 2)), v128.load(r0)));
            c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(vals + (<usize>i1 << 2)), v128.load(r1)));
          }
          for (; i0 < e0; i0++) {
            const r = xp + <usize>load<u16>(idx + (<usize>i0 << 1)) * rowBytes;
            c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(vals + (<usize>i0 << 2)), v128.load(r)));
          }
          for (; i1 < e1; i1++) {
            const r = xp + <usize>load<u16>(idx + (<usize>i1 << 1)) * rowBytes;
            c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(vals + (<usize>i1 << 2)), v128.load(r)));
          }
          storeClamped(y + <usize>k * rowBytes + (<usize>px << 2), c0, vlo, vhi, 0);
          storeClamped(y + <usize>(k + 1) * rowBytes + (<usize>px << 2), c1, vlo, vhi, 0);
        }
        if (k < K) {
          let c0 = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>k << 2)) : 0);
          const e = load<i32>(ptr + (<usize>(k + 1) << 2));
          for (let i = load<i32>(ptr + (<usize>k << 2)); i < e; i++) {
            const r = xp + <usize>load<u16>(idx + (<usize>i << 1)) * rowBytes;
            c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(vals + (<usize>i << 2)), v128.load(r)));
          }
          storeClamped(y + <usize>k * rowBytes + (<usize>px << 2), c0, vlo, vhi, 0);
        }
      }
    }
    for (; px < P; px++) {
      const xp = x + (<usize>px << 2);
      for (let k = 0; k < K; k++) {
        let s: f32 = bias != 0 ? load<f32>(bias + (<usize>k << 2)) : 0;
        const e = load<i32>(ptr + (<usize>(k + 1) << 2));
        for (let i = load<i32>(ptr + (<usize>k << 2)); i < e; i++) {
          s += load<f32>(vals + (<usize>i << 2)) * load<f32>(xp + <usize>load<u16>(idx + (<usize>i << 1)) * rowBytes);
        }
        store<f32>(y + <usize>k * rowBytes + (<usize>px << 2), pminf(pmaxf(s, lo), hi));
      }
    }
    applyActInPlace(y, K * P, act, a0, a1);
  }
}
