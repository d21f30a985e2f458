/**
 * int8 kernels for edgec's integer ops (compiler/ops/qint.ts is the specification; these kernels
 * match it bit for bit). Same ABI as the f32 kernels: one argument, the address of a parameter
 * block of 32-bit words (documented at each kernel; targets/wasm/ops/qint.ts builds them).
 *
 * Arithmetic
 * - Activations are u8 or i8 (flag bits), weights are pre-centered at compile time
 *   (w' = w - zw[m], which fits i16) and packed for `i32x4.dot_i16x8_s`. The accumulator is
 *   acc = sum(x * w') + off[m] with off[m] = bias[m] - zx * sum(w'[m]) (int32, wrapping): padding
 *   reads zx, so it contributes zx * w' - zx * w' = 0. All int32 arithmetic wraps, which is the
 *   spec's accumulator (the exact sum modulo 2^32), so no K can make the kernels disagree.
 * - Requantization (fixed): floor((acc * M + 2^(n-1)) / 2^n) exactly in 64 bits
 *   (i64x2.extmul_{low,high}_i32x4_s, i64x2.add). For n >= 32 (the usual case: m < 1) the high
 *   words of the 64-bit sums are floor(v / 2^32) and an i32 arithmetic shift by n - 32 finishes the
 *   floor, then an i32 clamp to [lo - zy, hi - zy]; for n < 32, i64x2.shr_s and a 64-bit clamp.
 *   Then + zy and narrowed (no saturation left to happen). Per-channel stage constants are
 *   prepared once per channel (prepSlot) into a small static area, not re-read per output.
 * - QAdd/QMul: for 20 <= n < 32 the centered inputs are pre-scaled by 2^(32-n) (exact, still
 *   < 2^53) so the same high-word path applies.
 * - Requantization (float, ONNX QLinear*): roundHalfEven(f64(acc) * s) (f64x2.nearest), clamped
 *   in f64, truncated with i32x4.trunc_sat_f64x2_s_zero.
 * - QuantizeLinear: nearest(x / s) in f32 (round half to even), i32x4.trunc_sat_f32x4_s (never
 *   traps), clamped, NaN -> 0, as the reference does.
 *
 * Channel parameter blobs ("chan"): three int32 arrays of Mp = (M + 3) & ~3 entries each:
 * off[Mp], mult[Mp], shift[Mp]. Float scales ("scales", rq float mode): f64[M].
 * Flag bits: F_XS x is i8 (else u8), F_YS y is i8 (else u8), F_Y32 y is raw int32 accumulator,
 * F_FLOAT float requantization, F_BS second input (b) is i8; qgemm_i8 only: F_W8 i8 weight panel,
 * F_VHI vector output stage (chan blob extended with rnd[Mp]), F_USH one shift for every channel.
 * Ragged 8-lane output stores may write up to 7 values past a row when those bytes belong to output
 * the same kernel call writes later (never past the end of the output).
 */
import { pa, pi } from './common';
import { rxFits, rxGemmTile, rxOffsetFits, rxPackNhwc, rxPackRows, rxPixelSums, rxRecenter, rxWeightsFit } from './int8-relaxed';
import { dequantizeScalar, qbinaryScalar, qconvScalar, qconvWinoScalar, qdwNhwcScalar, qgemmScalar, quantizeScalar } from './int8-scalar';

export const F_XS: i32 = 1;
export const F_YS: i32 = 2;
export const F_Y32: i32 = 4;
const F_FLOAT: i32 = 8;
export const F_BS: i32 = 16;
/** qgemm_i8: weights packed as i8 (every w' fits). */
export const F_W8: i32 = 32;
/** qgemm_i8: vector output stage (fixed mode, 8-bit output, every shift >= 32; rnd[Mp] in the blob). */
const F_VHI: i32 = 64;
/** qgemm_i8 with F_VHI: every channel has the same shift. */
const F_USH: i32 = 128;
/** qconv_i8: no accumulator can wrap (|sum x*w'| + |off| < 2^31), so the output stage may fold off and zy. */
const F_NOWRAP: i32 = 256;
/**
 * TFLite's requantization (rq_mode 'tflite', MultiplyByQuantizedMultiplier): with the same M and n
 * as fixed mode, a = acc << max(0, 31 - n) (wrapping), h = (a * M + 2^30) >> 31 (64-bit), then
 * RoundingDivideByPOT(h, max(0, n - 31)) (half away from zero). qavgpool_i8: rounded division.
 */
export const F_TFL: i32 = 512;
/** qconv_i8 layout bits: x channels-last (pointwise path), y channels-last. */
export const L_XNHWC: i32 = 1;
export const L_YNHWC: i32 = 2;
/** qconv_i8 layout bit, threads build only: words 29, 30 hold an output-row range (GEMM paths, y channels-last). */
export const L_ROWS: i32 = 4;

// ---------------------------------------------------------------------------------------------
// Shared epilogue
// ---------------------------------------------------------------------------------------------

/** Lanes 0 and 2 (low words) of two i64x2 vectors as one i32x4. */
@inline function low32(l: v128, h: v128): v128 {
  return v128.shuffle<i32>(l, h, 0, 2, 4, 6);
}

/** Clamps i64x2 lanes to [lo, hi]. */
@inline function clamp64(v: v128, lo: v128, hi: v128): v128 {
  const a = v128.bitselect(lo, v, i64x2.lt_s(v, lo));
  return v128.bitselect(hi, a, i64x2.gt_s(a, hi));
}

/**
 * Fixed-point requantization of 4 accumulators: clamp(rq(acc, M, n), lo', hi') (lo' = lo - zy)
 * as i32x4 (zy not added). lo/hi are i64x2 bounds.
 */
@inline function rqFixed4(acc: v128, mv: v128, rnd: v128, n: i32, lo: v128, hi: v128): v128 {
  const l = clamp64(i64x2.shr_s(i64x2.add(i64x2.extmul_low_i32x4_s(acc, mv), rnd), n), lo, hi);
  const h = clamp64(i64x2.shr_s(i64x2.add(i64x2.extmul_high_i32x4_s(acc, mv), rnd), n), lo, hi);
  return low32(l, h);
}

/**
 * The same for n >= 32 without 64-bit shifts: the high word of the 64-bit sum is
 * floor(v / 2^32), then an arithmetic i32 shift by n - 32 (floor of floor is floor), then an i32
 * clamp (the result fits in 32 bits since |acc * M| < 2^62). lo/hi are i32x4 bounds.
 */
@inline function rqFixed4Hi(acc: v128, mv: v128, rnd: v128, n32: i32, lo: v128, hi: v128): v128 {
  const l = i64x2.add(i64x2.extmul_low_i32x4_s(acc, mv), rnd);
  const h = i64x2.add(i64x2.extmul_high_i32x4_s(acc, mv), rnd);
  const q = i32x4.shr_s(v128.shuffle<i32>(l, h, 1, 3, 5, 7), n32);
  return i32x4.min_s(i32x4.max_s(q, lo), hi);
}

/** Float requantization of 4 accumulators: clamp(nearest(f64(acc) * s), lo', hi') as i32x4. */
@inline function rqFloat4(acc: v128, sv: v128, lo: v128, hi: v128): v128 {
  const a = f64x2.min(f64x2.max(f64x2.nearest(f64x2.mul(f64x2.convert_low_i32x4_s(acc), sv)), lo), hi);
  const accHi = v128.shuffle<i32>(acc, acc, 2, 3, 2, 3);
  const b = f64x2.min(f64x2.max(f64x2.nearest(f64x2.mul(f64x2.convert_low_i32x4_s(accHi), sv)), lo), hi);
  return v128.shuffle<i32>(i32x4.trunc_sat_f64x2_s_zero(a), i32x4.trunc_sat_f64x2_s_zero(b), 0, 1, 4, 5);
}

/** Scalar fixed-point requantization with clamp and zero point (the reference's outStage). */
@inline export function rqScalar(acc: i64, m: i32, n: i32, zy: i32, lo: i32, hi: i32): i32 {
  let v = acc * <i64>m;
  if (n > 0) v = (v + (<i64>1 << <i64>(n - 1))) >> <i64>n;
  v += <i64>zy;
  if (v < <i64>lo) v = <i64>lo;
  if (v > <i64>hi) v = <i64>hi;
  return <i32>v;
}

/** TFLite requantization of 4 accumulators, clamped to [lo', hi'] (i32x4, zy not added). */
@inline function rqTfl4(acc: v128, mv: v128, n: i32, lo: v128, hi: v128): v128 {
  if (n < 31) acc = i32x4.shl(acc, 31 - n);
  const r = i64x2.splat(<i64>1 << 30);
  const l = i64x2.shr_s(i64x2.add(i64x2.extmul_low_i32x4_s(acc, mv), r), 31);
  const h = i64x2.shr_s(i64x2.add(i64x2.extmul_high_i32x4_s(acc, mv), r), 31);
  let q = low32(l, h);
  if (n > 31) {
    const e = n - 31;
    const mask = i32x4.splat((1 << e) - 1);
    const rem = v128.and(q, mask);
    // threshold = mask >> 1, + 1 for negative q (shr_s by 31 is -1 there)
    const thr = i32x4.sub(i32x4.splat(((1 << e) - 1) >> 1), i32x4.shr_s(q, 31));
    q = i32x4.sub(i32x4.shr_s(q, e), i32x4.gt_s(rem, thr));
  }
  return i32x4.min_s(i32x4.max_s(q, lo), hi);
}

/** Scalar TFLite requantization with clamp and zero point (the reference's rqTflite). */
@inline export function rqTflScalar(acc: i32, m: i32, n: i32, zy: i32, lo: i32, hi: i32): i32 {
  if (n < 31) acc = acc << (31 - n);
  let q = <i32>((<i64>acc * <i64>m + (<i64>1 << 30)) >> 31);
  if (n > 31) {
    const e = n - 31;
    const mask = (1 << e) - 1;
    const thr = (mask >> 1) + (q < 0 ? 1 : 0);
    q = (q >> e) + ((q & mask) > thr ? 1 : 0);
  }
  q += zy;
  return q < lo ? lo : q > hi ? hi : q;
}

/** Scalar float requantization: clamp(nearest(acc * s) + zy). */
@inline function rqScalarF(acc: f64, s: f64, zy: i32, lo: i32, hi: i32): i32 {
  let v = nearest<f64>(acc * s) + <f64>zy;
  if (v < <f64>lo) v = <f64>lo;
  if (v > <f64>hi) v = <f64>hi;
  return <i32>v;
}

/** Narrows 8 clamped i32 values (two i32x4) to 8 bytes (low half of the result). */
@inline function narrow8(a: v128, b: v128, signedOut: bool): v128 {
  const s = i16x8.narrow_i32x4_s(a, b);
  return signedOut ? i8x16.narrow_i16x8_s(s, s) : i8x16.narrow_i16x8_u(s, s);
}

/** Stores the low `n` (<= 8) bytes of v at y. */
@inline function store8(y: usize, v: v128, n: i32): void {
  if (n >= 8) {
    v128.store64_lane(y, v, 0);
  } else {
    const bits = i64x2.extract_lane(v, 0);
    for (let q = 0; q < n; q++) store<u8>(y + <usize>q, <u8>(bits >> (<i64>q << 3)));
  }
}


/** Stores `n` (<= 8) int32 values (a: 0..3, b: 4..7) at y. */
@inline function store8x32(y: usize, a: v128, b: v128, n: i32): void {
  if (n >= 8) {
    v128.store(y, a);
    v128.store(y, b, 16);
    return;
  }
  if (n > 0) store<i32>(y, i32x4.extract_lane(a, 0));
  if (n > 1) store<i32>(y, i32x4.extract_lane(a, 1), 4);
  if (n > 2) store<i32>(y, i32x4.extract_lane(a, 2), 8);
  if (n > 3) store<i32>(y, i32x4.extract_lane(a, 3), 12);
  if (n > 4) store<i32>(y, i32x4.extract_lane(b, 0), 16);
  if (n > 5) store<i32>(y, i32x4.extract_lane(b, 1), 20);
  if (n > 6) store<i32>(y, i32x4.extract_lane(b, 2), 24);
}

// Output-stage sub-block of a parameter block (7 words at address s):
//   0 chan, 1 scales (f64, float mode; 0 otherwise), 2 flags, 3 zy, 4 lo, 5 hi, 6 M (channels).
@inline function sChan(s: usize): usize { return pa(s, 0); }
@inline function sScales(s: usize): usize { return pa(s, 1); }
@inline export function sFlags(s: usize): i32 { return pi(s, 2); }
@inline function sZy(s: usize): i32 { return pi(s, 3); }
@inline function sLo(s: usize): i32 { return pi(s, 4); }
@inline function sHi(s: usize): i32 { return pi(s, 5); }
@inline function sMp(s: usize): i32 { return (pi(s, 6) + 3) & ~3; }

// Prepared output stage of one channel ("slot", 160 bytes in static memory; kernels run one at a
// time): v128 at 0 off, 16 multiplier (i32x4) or scale (f64x2), 32 rounding constant (i64x2),
// 48 lower bound, 64 upper bound (i32x4 or i64x2 or f64x2 per kind), 80 zy (i32x4);
// i32 at 96 kind (0 raw int32, 1 fixed n >= 32, 2 fixed n < 32, 3 float), 100 shift (n or n - 32),
// 104 signed output.
const SLOTS0: usize = memory.data(4 * 112, 16);
/**
 * The slot area of this instance: the static one, or in the threads build (kernels-threads.wasm,
 * every thread an instance over one shared memory) the area `thread_area` set for a worker.
 */
let slotArea: usize = 0;
@inline function slotBase(): usize { return ASC_FEATURE_THREADS ? (slotArea != 0 ? slotArea : SLOTS0) : SLOTS0; }

/**
 * thread_area: gives this instance its own output-stage slot area (threads build: one per worker
 * thread, so concurrent int8 kernels never share it). Params: 0 area (SLOT_BYTES * 4 bytes, 16-aligned).
 */
export function thread_area(p: usize): void {
  slotArea = pa(p, 0);
}

/**
 * Threads build: output rows [rowFrom, rowTo) of the current qconv_i8 call (rowTo 0: every row),
 * from words 29 and 30 of a part's parameter block (layout bit L_ROWS; targets/wasm/threads.ts).
 */
let rowFrom: i32 = 0;
let rowTo: i32 = 0;
const SLOT_BYTES: usize = 112;
const K_RAW: i32 = 0;
const K_HI: i32 = 1;
const K_LO: i32 = 2;
const K_FLOAT: i32 = 3;
/** K_HI with an int8 output (K_HI itself: uint8 output). */
const K_HIS: i32 = 4;
/**
 * K_HI / K_HIS folded (F_NOWRAP): off and zy ride in the 64-bit constant
 * c = off * M + 2^(n-1) + zy * 2^n, so the stage is hi32(acc * M + c) >> (n - 32) (the zy term is
 * a multiple of 2^n, so it adds exactly zy after the floor). Valid when acc + off cannot wrap and
 * n <= 54 (the lowering proves both); the slot's off and zy vectors are zero.
 */
const K_HF: i32 = 5;
const K_HFS: i32 = 6;
/** TFLite requantization (F_TFL): multiplier at 16, n at 100, i32x4 bounds lo - zy / hi - zy. */
const K_TFL: i32 = 7;

/** Prepares slot `k` for channel m of the output stage at s. */
export function prepSlot(s: usize, m: i32, k: i32): void {
  const at = slotBase() + <usize>k * SLOT_BYTES;
  const chan = sChan(s);
  const flags = sFlags(s);
  const zy = sZy(s);
  v128.store(at, i32x4.splat(load<i32>(chan + (<usize>m << 2))));
  v128.store(at, i32x4.splat(zy), 80);
  store<i32>(at, (flags & F_YS) != 0 ? 1 : 0, 104);
  if (flags & F_Y32) {
    store<i32>(at, K_RAW, 96);
    return;
  }
  const lo = sLo(s) - zy, hi = sHi(s) - zy;
  if (flags & F_FLOAT) {
    store<i32>(at, K_FLOAT, 96);
    v128.store(at, f64x2.splat(load<f64>(sScales(s) + (<usize>m << 3))), 16);
    v128.store(at, f64x2.splat(<f64>lo), 48);
    v128.store(at, f64x2.splat(<f64>hi), 64);
    return;
  }
  if (flags & F_TFL) {
    const mp = sMp(s);
    store<i32>(at, K_TFL, 96);
    v128.store(at, i32x4.splat(load<i32>(chan + (<usize>(mp + m) << 2))), 16);
    store<i32>(at, load<i32>(chan + (<usize>(2 * mp + m) << 2)), 100);
    v128.store(at, i32x4.splat(lo), 48);
    v128.store(at, i32x4.splat(hi), 64);
    return;
  }
  const mp = sMp(s);
  const sh = load<i32>(chan + (<usize>(2 * mp + m) << 2));
  v128.store(at, i32x4.splat(load<i32>(chan + (<usize>(mp + m) << 2))), 16);
  v128.store(at, i64x2.splat(sh > 0 ? <i64>1 << <i64>(sh - 1) : 0), 32);
  if (sh >= 32) {
    // the clamp happens after the saturating narrows, in the 8-bit domain (bounds with zy added):
    // the narrows clamp to the dtype range, which contains [lo, hi], so clamping again to
    // [lo, hi] gives clamp(v, lo, hi) exactly
    const signedOut = (flags & F_YS) != 0;
    store<i32>(at, signedOut ? K_HIS : K_HI, 96);
    store<i32>(at, sh - 32, 100);
    if ((flags & F_NOWRAP) != 0 && sh <= 54) {
      const off = <i64>load<i32>(chan + (<usize>m << 2)), mul = <i64>load<i32>(chan + (<usize>(mp + m) << 2));
      store<i32>(at, signedOut ? K_HFS : K_HF, 96);
      v128.store(at, i64x2.splat(off * mul + (<i64>1 << <i64>(sh - 1)) + (<i64>zy << <i64>sh)), 32);
      v128.store(at, i32x4.splat(0));
      v128.store(at, i32x4.splat(0), 80);
    }
    const dlo = signedOut ? -128 : 0, dhi = signedOut ? 127 : 255;
    const l8 = max(sLo(s), dlo), h8 = min(sHi(s), dhi);
    v128.store(at, i8x16.splat(<i8>l8), 48);
    v128.store(at, i8x16.splat(<i8>h8), 64);
  } else {
    store<i32>(at, K_LO, 96);
    store<i32>(at, sh, 100);
    v128.store(at, i64x2.splat(<i64>lo), 48);
    v128.store(at, i64x2.splat(<i64>hi), 64);
  }
}

/**
 * The high-word requantization (n >= 32) of 8 accumulators (a: 0..3 with multipliers ma, b: 4..7
 * with mb; per-channel vectors or one splat): hi32(acc * M + c) >> sh (floor of floor is floor),
 * + zy when `addZy` (a folded c already holds it), narrowed with saturation and clamped to
 * [lo, hi] (8-bit bounds): the 8 output bytes in the low half.
 */
@inline function hiBytes(a: v128, b: v128, ma: v128, mb: v128, c: v128, sh: i32, zv: v128, lo: v128, hi: v128,
  signedOut: bool, addZy: bool): v128 {
  const la = i64x2.add(i64x2.extmul_low_i32x4_s(a, ma), c), ha = i64x2.add(i64x2.extmul_high_i32x4_s(a, ma), c);
  const lb = i64x2.add(i64x2.extmul_low_i32x4_s(b, mb), c), hb = i64x2.add(i64x2.extmul_high_i32x4_s(b, mb), c);
  let qa = i32x4.shr_s(v128.shuffle<i32>(la, ha, 1, 3, 5, 7), sh);
  let qb = i32x4.shr_s(v128.shuffle<i32>(lb, hb, 1, 3, 5, 7), sh);
  if (addZy) {
    qa = i32x4.add(qa, zv);
    qb = i32x4.add(qb, zv);
  }
  const s16 = i16x8.narrow_i32x4_s(qa, qb);
  if (signedOut) return i8x16.min_s(i8x16.max_s(i8x16.narrow_i16x8_s(s16, s16), lo), hi);
  return i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(s16, s16), lo), hi);
}

/**
 * Output stage of 8 accumulators (a: outputs 0..3, b: 4..7) with prepared slot k: adds off,
 * requantizes, clamps, stores n values at y (bytes, or int32 for raw output).
 */
@inline export function epilogue8(k: i32, a: v128, b: v128, y: usize, n: i32): void {
  const at = slotBase() + <usize>k * SLOT_BYTES;
  if (load<i32>(at, 96) == K_RAW) {
    const off = v128.load(at);
    store8x32(y, i32x4.add(a, off), i32x4.add(b, off), n);
    return;
  }
  store8(y, epi8v(k, a, b), n);
}

/**
 * The 8-bit output stage of slot k (any kind but K_RAW) on 8 accumulators: the 8 output bytes in
 * the low half of the result.
 */
@inline export function epi8v(k: i32, a: v128, b: v128): v128 {
  const at = slotBase() + <usize>k * SLOT_BYTES;
  const kind0 = load<i32>(at, 96);
  if (kind0 == K_HF || kind0 == K_HFS) {
    const mv = v128.load(at, 16);
    const lo8 = v128.load(at, 48), hi8 = v128.load(at, 64);
    const c = v128.load(at, 32), sh = load<i32>(at, 100);
    if (kind0 == K_HFS) return hiBytes(a, b, mv, mv, c, sh, mv, lo8, hi8, true, false);
    return hiBytes(a, b, mv, mv, c, sh, mv, lo8, hi8, false, false);
  }
  const off = v128.load(at);
  a = i32x4.add(a, off);
  b = i32x4.add(b, off);
  const kind = load<i32>(at, 96);
  let ra: v128, rb: v128;
  const lo = v128.load(at, 48), hi = v128.load(at, 64);
  if (kind == K_HI || kind == K_HIS) {
    // (acc * M + rnd) >> n for n >= 32: high words, arithmetic shift by n - 32; |result| < 2^30
    const mv = v128.load(at, 16), rnd = v128.load(at, 32), sh = load<i32>(at, 100);
    const zv = v128.load(at, 80);
    if (kind == K_HIS) return hiBytes(a, b, mv, mv, rnd, sh, zv, lo, hi, true, true);
    return hiBytes(a, b, mv, mv, rnd, sh, zv, lo, hi, false, true);
  }
  if (kind == K_LO) {
    const mv = v128.load(at, 16), rnd = v128.load(at, 32), sh = load<i32>(at, 100);
    ra = rqFixed4(a, mv, rnd, sh, lo, hi);
    rb = rqFixed4(b, mv, rnd, sh, lo, hi);
  } else if (kind == K_TFL) {
    const mv = v128.load(at, 16), sh = load<i32>(at, 100);
    ra = rqTfl4(a, mv, sh, lo, hi);
    rb = rqTfl4(b, mv, sh, lo, hi);
  } else {
    const sv = v128.load(at, 16);
    ra = rqFloat4(a, sv, lo, hi);
    rb = rqFloat4(b, sv, lo, hi);
  }
  const zv = v128.load(at, 80);
  return narrow8(i32x4.add(ra, zv), i32x4.add(rb, zv), load<i32>(at, 104) != 0);
}

/**
 * Channels-last store of a 4-channel x 8-pixel output block: v0..v3 hold the 8 bytes (pixels 0..7)
 * of channels r0..r0+3; pixel q's 4 bytes go to y + q * pstride. Only `nv` pixels and `nch`
 * channels are written (exact stores: the neighbouring bytes belong to other blocks).
 */
@inline export function storeNhwc4x8(v0: v128, v1: v128, v2: v128, v3: v128, y: usize, pstride: usize, nv: i32, nch: i32): void {
  const s01 = v128.shuffle<u8>(v0, v1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const s23 = v128.shuffle<u8>(v2, v3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const u = v128.shuffle<i16>(s01, s23, 0, 8, 1, 9, 2, 10, 3, 11);
  const w = v128.shuffle<i16>(s01, s23, 4, 12, 5, 13, 6, 14, 7, 15);
  if (nch == 4 && nv == 8) {
    v128.store32_lane(y, u, 0);
    v128.store32_lane(y + pstride, u, 1);
    v128.store32_lane(y + 2 * pstride, u, 2);
    v128.store32_lane(y + 3 * pstride, u, 3);
    v128.store32_lane(y + 4 * pstride, w, 0);
    v128.store32_lane(y + 5 * pstride, w, 1);
    v128.store32_lane(y + 6 * pstride, w, 2);
    v128.store32_lane(y + 7 * pstride, w, 3);
    return;
  }
  for (let q = 0; q < nv; q++) {
    const word = q < 4 ? laneOf(u, q) : laneOf(w, q - 4);
    const d = y + <usize>q * pstride;
    if (nch == 4) store<u32>(d, word);
    else for (let r = 0; r < nch; r++) store<u8>(d + <usize>r, <u8>(word >> (<u32>r << 3)));
  }
}

/** i32 lane `q` (0..3, runtime) of v. */
@inline function laneOf(v: v128, q: i32): u32 {
  return q == 0 ? <u32>i32x4.extract_lane(v, 0) : q == 1 ? <u32>i32x4.extract_lane(v, 1) : q == 2 ? <u32>i32x4.extract_lane(v, 2) : <u32>i32x4.extract_lane(v, 3);
}

/**
 * The K_HI / K_HIS branch of epilogue8 with the slot's constants already in locals (loop-invariant
 * in the depthwise loops): off, multiplier, rounding, bounds (8-bit), zy, shift - 32.
 */
@inline function epilogueHi8(a: v128, b: v128, off: v128, mv: v128, rnd: v128, sh: i32, zv: v128, lo: v128, hi: v128,
  signedOut: bool, y: usize, n: i32): void {
  a = i32x4.add(a, off);
  b = i32x4.add(b, off);
  store8(y, signedOut ? hiBytes(a, b, mv, mv, rnd, sh, zv, lo, hi, true, true) : hiBytes(a, b, mv, mv, rnd, sh, zv, lo, hi, false, true), n);
}

/** Scalar output stage of one accumulator of channel m; stores at y. */
@inline export function stageScalar(s: usize, m: i32, acc: i32, y: usize): void {
  const chan = sChan(s);
  acc += load<i32>(chan + (<usize>m << 2));
  const flags = sFlags(s);
  if (flags & F_Y32) {
    store<i32>(y, acc);
    return;
  }
  let v: i32;
  if (flags & F_FLOAT) {
    v = rqScalarF(<f64>acc, load<f64>(sScales(s) + (<usize>m << 3)), sZy(s), sLo(s), sHi(s));
  } else if (flags & F_TFL) {
    const mp = sMp(s);
    v = rqTflScalar(acc, load<i32>(chan + (<usize>(mp + m) << 2)), load<i32>(chan + (<usize>(2 * mp + m) << 2)), sZy(s), sLo(s), sHi(s));
  } else {
    const mp = sMp(s);
    v = rqScalar(<i64>acc, load<i32>(chan + (<usize>(mp + m) << 2)), load<i32>(chan + (<usize>(2 * mp + m) << 2)), sZy(s), sLo(s), sHi(s));
  }
  store<u8>(y, <u8>v);
}

// ---------------------------------------------------------------------------------------------
// qconv_i8
// ---------------------------------------------------------------------------------------------

/** Output pixels per tile of the im2col/GEMM conv path (bounds the scratch). */
const TILE_PIXELS: i32 = 256;

/**
 * qconv_i8: QConv, NCHW, 2-D (1-D as H = 1).
 * Params: 0 x, 1 wpack, 2 y, 3 scratch, 4..10 output stage (chan, scales, flags, zy, lo, hi, M),
 * 11 N, 12 C, 13 H, 14 W, 15 OH, 16 OW, 17 KH, 18 KW, 19 sh, 20 sw, 21 dh, 22 dw, 23 ph (top),
 * 24 pw (left), 25 G, 26 path (0 im2col + GEMM, 1 pointwise GEMM on x, 2 depthwise direct), 27 zx,
 * 28 layout bits (paths 0/1; 8-bit output): L_XNHWC x is channels-last [N][H][W][C] (path 1 only),
 * L_YNHWC y is written channels-last [N][OH][OW][M].
 * wpack, paths 0/1: per group, Mg rows padded to a multiple of 4, K = Cg*KH*KW padded to even:
 *   i32 [G][Mg4/4][K2][4] with each i32 = (w'[m][2j] & 0xffff) | (w'[m][2j+1] << 16).
 * wpack, path 2: i32 [C][KH2][KW] kernel-row pairs (w'[c][2p][kw], w'[c][2p+1][kw] or 0), KH2 = ceil(KH/2).
 * Scratch, paths 0/1: TR = max(1, 256 / OW) output rows per tile, P8 = TR*OW rounded up to 8:
 *   im2col bytes K*P8 (path 0 only), then the packed tile P8*K2*4 bytes (16-aligned).
 * Scratch, path 2: i16 plane PHa*PWd, then the pair plane i32 PHp*PWd (dwRows, dwPairRows, dwCols).
 */
export function qconv_i8(p: usize): void {
  if (!ASC_FEATURE_SIMD) { qconvScalar(p); return; } // scalar build (int8-scalar.ts)
  const x = pa(p, 0), wpack = pa(p, 1), y = pa(p, 2), scratch = pa(p, 3);
  const s = p + 16;
  const flags = sFlags(s), M = pi(p, 10);
  const N = pi(p, 11), C = pi(p, 12), H = pi(p, 13), W = pi(p, 14), OH = pi(p, 15), OW = pi(p, 16);
  const KH = pi(p, 17), KW = pi(p, 18), sh = pi(p, 19), sw = pi(p, 20), dh = pi(p, 21), dw = pi(p, 22);
  const ph = pi(p, 23), pw = pi(p, 24), G = pi(p, 25), path = pi(p, 26), zx = pi(p, 27), layout = pi(p, 28);
  const osz: i32 = (flags & F_Y32) ? 4 : 1;
  const HW = H * W, OHW = OH * OW;
  if (ASC_FEATURE_THREADS) {
    const part = (layout & L_ROWS) != 0;
    rowFrom = part ? pi(p, 29) : 0;
    rowTo = part ? pi(p, 30) : 0;
  }
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * C * HW);
    const yn = y + <usize>(n * M * OHW * osz);
    if (path == 2) {
      depthwise(xn, wpack, yn, scratch, s, C, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, zx, osz);
    } else {
      convGemm(xn, wpack, yn, scratch, s, C, H, W, M, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, G, zx, osz, path == 1,
        (layout & L_XNHWC) != 0, (layout & L_YNHWC) != 0);
    }
  }
}

/** Depthwise geometry: rows of the pair plane, rows of the i16 plane, row length (elements). */
@inline function dwPairRows(OH: i32, KH: i32, sh: i32, dh: i32): i32 {
  return (OH - 1) * sh + 2 * (((KH + 1) >> 1) - 1) * dh + 1;
}
@inline function dwRows(H: i32, OH: i32, KH: i32, sh: i32, dh: i32, ph: i32): i32 {
  return max(H + ph, dwPairRows(OH, KH, sh, dh) + dh);
}
@inline function dwCols(W: i32, OW: i32, KW: i32, sw: i32, dw: i32, pw: i32): i32 {
  // pair columns read: stride 1, up to ow8 + (KW-1)*dw; stride 2 (even/odd halves of PWd/2),
  // up to ow8 + ((KW-1)*dw >> 1) + 1 per half
  const ow8 = (OW + 7) & ~7;
  const need = sw == 1 ? ow8 + (KW - 1) * dw : 2 * (ow8 + (((KW - 1) * dw) >> 1) + 1);
  return (max(W + pw, need) + 15) & ~15;
}

/**
 * Depthwise conv (group == C == M), horizontal stride 1 or 2. Each channel is widened to i16 into
 * a plane padded with zx, then rows r and r + dh are interleaved into a pair plane
 * P2[r][c] = (x[r][c], x[r+dh][c]), so one i32x4.dot_i16x8_s with the weight pair
 * (w[2p][kw], w[2p+1][kw]) accumulates two kernel rows for 4 output columns without shuffles.
 * Stride 2 splits each pair-plane row into its even and odd columns, so loads stay contiguous.
 * Scratch: i16 plane PHa*PWd, then the pair plane PHp*PWd (i32).
 */
function depthwise(x: usize, w: usize, y: usize, scratch: usize, s: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, zx: i32, osz: i32): void {
  const xs = (sFlags(s) & F_XS) != 0;
  const PHa = dwRows(H, OH, KH, sh, dh, ph);
  const PHp = dwPairRows(OH, KH, sh, dh);
  const PWd = dwCols(W, OW, KW, sw, dw, pw);
  const KH2 = (KH + 1) >> 1;
  const plane = scratch;
  const pairs = scratch + (<usize>(PHa * PWd) << 1);
  const zv = i16x8.splat(<i16>zx);
  // tail of each input row (W % 8 values) as one masked 8-lane store when the plane row has room
  const tail = W & 7;
  const tailVec = tail != 0 && pw + W - tail + 8 <= PWd;
  const tailMask = i16x8.gt_s(i16x8.splat(<i16>tail), i16x8(0, 1, 2, 3, 4, 5, 6, 7));
  const xEnd = x + <usize>(C * H * W);
  // input rows: fill only their padding columns when that takes fewer stores than the whole row
  const rightFrom = (pw + W) & ~7;
  const padOnly = ((pw + 7) >> 3) + ((PWd - rightFrom) >> 3) < (PWd >> 3);
  // output rows are written in order (channel-major, row-major), so a ragged 8-lane store may spill
  // into output not written yet (it gets overwritten later), except past the end of the output
  const yEnd = y + <usize>(C * OH * OW * osz);
  const span = <usize>(8 * osz);
  for (let c = 0; c < C; c++) {
    // padded i16 plane: zx on the padding (pad rows, then the columns left and right of each input
    // row, in 8-lane stores that the row copy below partly overwrites)
    if (!padOnly) {
      for (let i = 0, total = PHa * PWd; i < total; i += 8) v128.store(plane + (<usize>i << 1), zv);
    } else for (let r = 0; r < PHa; r++) {
      const d = plane + (<usize>(r * PWd) << 1);
      if (r < ph || r >= ph + H) {
        for (let i = 0; i < PWd; i += 8) v128.store(d + (<usize>i << 1), zv);
      } else {
        for (let i = 0; i < pw; i += 8) v128.store(d + (<usize>i << 1), zv);
        for (let i = rightFrom; i < PWd; i += 8) v128.store(d + (<usize>i << 1), zv);
      }
    }
    const xc = x + <usize>(c * H * W);
    for (let ih = 0; ih < H; ih++) {
      const src = xc + <usize>(ih * W);
      const dst = plane + (<usize>((ih + ph) * PWd + pw) << 1);
      let iw = 0;
      if (xs) {
        for (; iw + 8 <= W; iw += 8) v128.store(dst + (<usize>iw << 1), v128.load8x8_s(src + <usize>iw));
      } else {
        for (; iw + 8 <= W; iw += 8) v128.store(dst + (<usize>iw << 1), v128.load8x8_u(src + <usize>iw));
      }
      // ragged tail: one 8-lane load when it stays inside x and the plane row, lanes >= W - iw
      // keep the padding value zx
      if (iw < W && tailVec && src + <usize>(iw + 8) <= xEnd) {
        const v = xs ? v128.load8x8_s(src + <usize>iw) : v128.load8x8_u(src + <usize>iw);
        v128.store(dst + (<usize>iw << 1), v128.bitselect(v, zv, tailMask));
        iw = W;
      }
      for (; iw < W; iw++) store<i16>(dst + (<usize>iw << 1), xs ? <i16>load<i8>(src + <usize>iw) : <i16>load<u8>(src + <usize>iw));
    }
    // pair plane (stride 2: each row split into even and odd columns, PWd/2 pairs each)
    // the kernel reads pair rows oh * sh + 2 * p * dh only: all even when sh is even
    const rstep = (sh & 1) == 0 ? 2 : 1;
    for (let r = 0; r < PHp; r += rstep) {
      const r0 = plane + (<usize>(r * PWd) << 1);
      const r1 = plane + (<usize>((r + dh) * PWd) << 1);
      const d = pairs + (<usize>(r * PWd) << 2);
      if (sw == 1) {
        for (let i = 0; i < PWd; i += 8) {
          const a = v128.load(r0 + (<usize>i << 1)), b = v128.load(r1 + (<usize>i << 1));
          v128.store(d + (<usize>i << 2), v128.shuffle<i16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
          v128.store(d + (<usize>i << 2), v128.shuffle<i16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
        }
      } else {
        const dOdd = d + (<usize>PWd << 1);
        for (let i = 0; i < PWd; i += 16) {
          const a0 = v128.load(r0 + (<usize>i << 1)), a1 = v128.load(r0 + (<usize>i << 1), 16);
          const b0 = v128.load(r1 + (<usize>i << 1)), b1 = v128.load(r1 + (<usize>i << 1), 16);
          const ae = v128.shuffle<i16>(a0, a1, 0, 2, 4, 6, 8, 10, 12, 14), ao = v128.shuffle<i16>(a0, a1, 1, 3, 5, 7, 9, 11, 13, 15);
          const be = v128.shuffle<i16>(b0, b1, 0, 2, 4, 6, 8, 10, 12, 14), bo = v128.shuffle<i16>(b0, b1, 1, 3, 5, 7, 9, 11, 13, 15);
          const j = <usize>i << 1; // (i / 2) pairs * 4 bytes
          v128.store(d + j, v128.shuffle<i16>(ae, be, 0, 8, 1, 9, 2, 10, 3, 11));
          v128.store(d + j, v128.shuffle<i16>(ae, be, 4, 12, 5, 13, 6, 14, 7, 15), 16);
          v128.store(dOdd + j, v128.shuffle<i16>(ao, bo, 0, 8, 1, 9, 2, 10, 3, 11));
          v128.store(dOdd + j, v128.shuffle<i16>(ao, bo, 4, 12, 5, 13, 6, 14, 7, 15), 16);
        }
      }
    }
    const wc = w + (<usize>(c * KH2 * KW) << 2);
    const yc = y + <usize>(c * OH * OW * osz);
    prepSlot(s, c, 0);
    if (KH == 3 && KW == 3) {
      // 3x3: the six weight pairs stay in registers
      const w0 = v128.load32_splat(wc), w1 = v128.load32_splat(wc, 4), w2 = v128.load32_splat(wc, 8);
      const w3 = v128.load32_splat(wc, 12), w4 = v128.load32_splat(wc, 16), w5 = v128.load32_splat(wc, 20);
      const o1 = <usize>dwColOff(dw, sw, PWd) << 2, o2 = <usize>dwColOff(2 * dw, sw, PWd) << 2, down = <usize>(2 * dh * PWd) << 2;
      // the output stage's constants in locals (high-word requantization, the usual case)
      const SLOTS = slotBase();
      const kind = load<i32>(SLOTS, 96);
      // folded slots (K_HF/K_HFS) have zero off and zy vectors: the same arithmetic
      const hiK = kind == K_HI || kind == K_HIS || kind == K_HF || kind == K_HFS, sgn = kind == K_HIS || kind == K_HFS;
      const eOff = v128.load(SLOTS), eM = v128.load(SLOTS, 16), eR = v128.load(SLOTS, 32);
      const eLo = v128.load(SLOTS, 48), eHi = v128.load(SLOTS, 64), eZ = v128.load(SLOTS, 80), eSh = load<i32>(SLOTS, 100);
      for (let oh = 0; oh < OH; oh++) {
        const yrow = yc + <usize>(oh * OW * osz);
        const row = pairs + (<usize>(oh * sh * PWd) << 2);
        for (let ow = 0; ow < OW; ow += 8) {
          const r0 = row + (<usize>ow << 2), r1 = r0 + down;
          // balanced sums (short dependency chains; int32 addition wraps, so the order is free)
          const a0 = i32x4.add(i32x4.dot_i16x8_s(v128.load(r0), w0), i32x4.dot_i16x8_s(v128.load(r0 + o1), w1));
          const b0 = i32x4.add(i32x4.dot_i16x8_s(v128.load(r0, 16), w0), i32x4.dot_i16x8_s(v128.load(r0 + o1, 16), w1));
          const a1 = i32x4.add(i32x4.dot_i16x8_s(v128.load(r0 + o2), w2), i32x4.dot_i16x8_s(v128.load(r1), w3));
          const b1 = i32x4.add(i32x4.dot_i16x8_s(v128.load(r0 + o2, 16), w2), i32x4.dot_i16x8_s(v128.load(r1, 16), w3));
          const a2 = i32x4.add(i32x4.dot_i16x8_s(v128.load(r1 + o1), w4), i32x4.dot_i16x8_s(v128.load(r1 + o2), w5));
          const b2 = i32x4.add(i32x4.dot_i16x8_s(v128.load(r1 + o1, 16), w4), i32x4.dot_i16x8_s(v128.load(r1 + o2, 16), w5));
          const a = i32x4.add(i32x4.add(a0, a1), a2);
          const b = i32x4.add(i32x4.add(b0, b1), b2);
          const yo = yrow + <usize>(ow * osz);
          const nst = yo + span <= yEnd ? 8 : min(8, OW - ow);
          if (hiK) epilogueHi8(a, b, eOff, eM, eR, eSh, eZ, eLo, eHi, sgn, yo, nst);
          else epilogue8(0, a, b, yo, nst);
        }
      }
      continue;
    }
    for (let oh = 0; oh < OH; oh++) {
      const yrow = yc + <usize>(oh * OW * osz);
      const row = pairs + (<usize>(oh * sh * PWd) << 2);
      for (let ow = 0; ow < OW; ow += 8) {
        let a = i32x4.splat(0), b = i32x4.splat(0);
        for (let p = 0; p < KH2; p++) {
          const rp = row + (<usize>(2 * p * dh * PWd + ow) << 2);
          const wp = wc + (<usize>(p * KW) << 2);
          for (let kw = 0; kw < KW; kw++) {
            const at = rp + (<usize>dwColOff(kw * dw, sw, PWd) << 2);
            const wv = v128.load32_splat(wp + (<usize>kw << 2));
            a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(at), wv));
            b = i32x4.add(b, i32x4.dot_i16x8_s(v128.load(at, 16), wv));
          }
        }
        const yo = yrow + <usize>(ow * osz);
        epilogue8(0, a, b, yo, yo + span <= yEnd ? 8 : min(8, OW - ow));
      }
    }
  }
}

/**
 * qdw_nhwc_i8: depthwise QConv (group == C == M) on channels-last tensors x [N][H][W][C] ->
 * y [N][OH][OW][C], any kernel size, stride, dilation and padding, for the usual output stage only:
 * fixed-point, one shift n >= 32 shared by every channel, 8-bit output (the lowering checks).
 * Vectorized over 8 channels: the kernel taps go in pairs (t, t + 1); the two taps' input bytes are
 * interleaved per channel so one i32x4.dot_i16x8_s adds both products for 4 channels.
 * Params: 0 x, 1 wpack, 2 y, 3 chan (i32 off[C8], then mult[C8]; C8 = C rounded up to 8),
 * 4 n - 32, 5 zy, 6 lo, 7 hi (clamp bounds within the output dtype), 8 flags (F_XS, F_YS), 9 N,
 * 10 C, 11 H, 12 W, 13 OH, 14 OW, 15 KH, 16 KW, 17 sh, 18 sw, 19 dh, 20 dw, 21 ph, 22 pw, 23 zx,
 * 24 scratch (2 * T2 * 16 + C8 + 8 bytes; T = KH*KW, T2 = ceil(T / 2)).
 * wpack: i16 [T2][C8 / 8][2][8]: for tap pair q and channels c..c+7, the vectors
 *   (w'[c][2q], w'[c][2q+1], w'[c+1][2q], w'[c+1][2q+1], ..., w'[c+3][2q+1]) and the same for c+4..c+7
 *   (w' of tap T, past the last tap, is 0). Padding taps read zx (cancelled by off, as in qconv_i8).
 */
export function qdw_nhwc_i8(p: usize): void {
  if (!ASC_FEATURE_SIMD) { qdwNhwcScalar(p); return; } // scalar build (int8-scalar.ts)
  const x = pa(p, 0), w = pa(p, 1), y = pa(p, 2), chan = pa(p, 3);
  const sh32 = pi(p, 4), zy = pi(p, 5), lo = pi(p, 6), hi = pi(p, 7), flags = pi(p, 8);
  const N = pi(p, 9), C = pi(p, 10), H = pi(p, 11), W = pi(p, 12), OH = pi(p, 13), OW = pi(p, 14);
  const KH = pi(p, 15), KW = pi(p, 16), sh = pi(p, 17), sw = pi(p, 18), dh = pi(p, 19), dw = pi(p, 20);
  const ph = pi(p, 21), pw = pi(p, 22), zx = pi(p, 23), scratch = pa(p, 24);
  const xs = (flags & F_XS) != 0, ys = (flags & F_YS) != 0;
  const T = KH * KW, T2 = (T + 1) >> 1, TP = 2 * T2;
  const C8 = (C + 7) & ~7;
  const full = C & ~7;
  const wstep = <usize>(C8 << 2); // bytes per tap pair: C8 channels x 2 taps x i16
  const rnd = i64x2.splat(<i64>1 << <i64>(sh32 + 31));
  const zv = i32x4.splat(zy);
  const lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const chanM = chan + (<usize>C8 << 2);
  // scratch: tap (dy, dx) pairs [TP][2] i32, interior tap offsets [TP] (bytes from the window's
  // first input pixel), a border pixel's tap addresses [TP], a row of C8 + 8 bytes of zx that
  // padding taps read
  const taps = scratch;
  const rel = taps + (<usize>TP << 3);
  const ptrs = rel + (<usize>TP << 2);
  const zrow = ptrs + (<usize>TP << 2);
  const zEnd = zrow + <usize>(C8 + 8);
  memory.fill(zrow, <u8>zx, <usize>(C8 + 8));
  for (let t = 0; t < TP; t++) {
    const tt = t < T ? t : T - 1; // the tap past the last one (weight 0) repeats the last
    const ty = (tt / KW) * dh, tx = (tt % KW) * dw;
    store<i32>(taps + (<usize>t << 3), ty);
    store<i32>(taps + (<usize>t << 3), tx, 4);
    store<i32>(rel + (<usize>t << 2), (ty * W + tx) * C);
  }
  const HWC = H * W * C;
  const t9 = T == 9;
  // 3x3 interior offsets in locals
  const r0 = <usize>load<u32>(rel), r1 = <usize>load<u32>(rel, 4), r2 = <usize>load<u32>(rel, 8);
  const r3 = <usize>load<u32>(rel, 12), r4 = <usize>load<u32>(rel, 16), r5 = <usize>load<u32>(rel, 20);
  const r6 = <usize>load<u32>(rel, 24), r7 = <usize>load<u32>(rel, 28), r8 = <usize>load<u32>(rel, 32);
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * HWC);
    const xEnd = xn + <usize>HWC;
    const yn = y + <usize>(n * OH * OW * C);
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - ph;
      const rowIn = ih0 >= 0 && ih0 + (KH - 1) * dh < H;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pw;
        // tap addresses: base + tb[t] (interior: offsets from the window's first pixel; border:
        // absolute addresses, zrow in the padding)
        let tb = rel, base: usize = 0;
        if (rowIn && iw0 >= 0 && iw0 + (KW - 1) * dw < W) {
          base = xn + <usize>((ih0 * W + iw0) * C);
        } else {
          for (let t = 0; t < TP; t++) {
            const ih = ih0 + load<i32>(taps + (<usize>t << 3)), iw = iw0 + load<i32>(taps + (<usize>t << 3), 4);
            const inb = ih >= 0 && ih < H && iw >= 0 && iw < W;
            store<u32>(ptrs + (<usize>t << 2), inb ? <u32>(xn + <usize>((ih * W + iw) * C)) : <u32>zrow);
          }
          tb = ptrs;
        }
        const yo = yn + <usize>((oh * OW + ow) * C);
        // 3x3: the ten tap addresses in locals
        let q0: usize = 0, q1: usize = 0, q2: usize = 0, q3: usize = 0, q4: usize = 0;
        let q5: usize = 0, q6: usize = 0, q7: usize = 0, q8: usize = 0;
        if (t9) {
          if (tb == rel) {
            q0 = base + r0; q1 = base + r1; q2 = base + r2; q3 = base + r3; q4 = base + r4;
            q5 = base + r5; q6 = base + r6; q7 = base + r7; q8 = base + r8;
          } else {
            q0 = <usize>load<u32>(tb); q1 = <usize>load<u32>(tb, 4); q2 = <usize>load<u32>(tb, 8);
            q3 = <usize>load<u32>(tb, 12); q4 = <usize>load<u32>(tb, 16); q5 = <usize>load<u32>(tb, 20);
            q6 = <usize>load<u32>(tb, 24); q7 = <usize>load<u32>(tb, 28); q8 = <usize>load<u32>(tb, 32);
          }
        }
        for (let c = 0; c < C8; c += 8) {
          let a = i32x4.splat(0), b = i32x4.splat(0);
          let wp = w + (<usize>c << 2);
          const cc = <usize>c;
          if (c < full && t9) {
            // taps (0,1) (2,3) (4,5) (6,7) (8,-): the fifth pair's second weight is 0
            const x0 = xs ? v128.load8x8_s(q0 + cc) : v128.load8x8_u(q0 + cc);
            const x1 = xs ? v128.load8x8_s(q1 + cc) : v128.load8x8_u(q1 + cc);
            const x2 = xs ? v128.load8x8_s(q2 + cc) : v128.load8x8_u(q2 + cc);
            const x3 = xs ? v128.load8x8_s(q3 + cc) : v128.load8x8_u(q3 + cc);
            const x4 = xs ? v128.load8x8_s(q4 + cc) : v128.load8x8_u(q4 + cc);
            const x5 = xs ? v128.load8x8_s(q5 + cc) : v128.load8x8_u(q5 + cc);
            const x6 = xs ? v128.load8x8_s(q6 + cc) : v128.load8x8_u(q6 + cc);
            const x7 = xs ? v128.load8x8_s(q7 + cc) : v128.load8x8_u(q7 + cc);
            const x8 = xs ? v128.load8x8_s(q8 + cc) : v128.load8x8_u(q8 + cc);
            const ws = wstep;
            const a0 = i32x4.add(i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp)),
              i32x4.dot_i16x8_s(v128.shuffle<i16>(x2, x3, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp + ws)));
            const b0 = i32x4.add(i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp, 16)),
              i32x4.dot_i16x8_s(v128.shuffle<i16>(x2, x3, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp + ws, 16)));
            const a1 = i32x4.add(i32x4.dot_i16x8_s(v128.shuffle<i16>(x4, x5, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp + 2 * ws)),
              i32x4.dot_i16x8_s(v128.shuffle<i16>(x6, x7, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp + 3 * ws)));
            const b1 = i32x4.add(i32x4.dot_i16x8_s(v128.shuffle<i16>(x4, x5, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp + 2 * ws, 16)),
              i32x4.dot_i16x8_s(v128.shuffle<i16>(x6, x7, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp + 3 * ws, 16)));
            const a2 = i32x4.dot_i16x8_s(v128.shuffle<i16>(x8, x8, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp + 4 * ws));
            const b2 = i32x4.dot_i16x8_s(v128.shuffle<i16>(x8, x8, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp + 4 * ws, 16));
            a = i32x4.add(i32x4.add(a0, a1), a2);
            b = i32x4.add(i32x4.add(b0, b1), b2);
          } else if (c < full) {
            for (let q = 0; q < T2; q++) {
              const p0 = base + <usize>load<u32>(tb + (<usize>q << 3)) + cc, p1 = base + <usize>load<u32>(tb + (<usize>q << 3), 4) + cc;
              const x0 = xs ? v128.load8x8_s(p0) : v128.load8x8_u(p0);
              const x1 = xs ? v128.load8x8_s(p1) : v128.load8x8_u(p1);
              a = i32x4.add(a, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp)));
              b = i32x4.add(b, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp, 16)));
              wp += wstep;
            }
          } else {
            // last, partial block of channels: reads stop at the end of x (lanes past C unused)
            for (let q = 0; q < T2; q++) {
              const p0 = base + <usize>load<u32>(tb + (<usize>q << 3)) + cc, p1 = base + <usize>load<u32>(tb + (<usize>q << 3), 4) + cc;
              const x0 = load8upto(p0, p0 >= zrow && p0 < zEnd ? zEnd : xEnd, xs);
              const x1 = load8upto(p1, p1 >= zrow && p1 < zEnd ? zEnd : xEnd, xs);
              a = i32x4.add(a, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11), v128.load(wp)));
              b = i32x4.add(b, i32x4.dot_i16x8_s(v128.shuffle<i16>(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15), v128.load(wp, 16)));
              wp += wstep;
            }
          }
          // output stage: + off, (acc * M + 2^(n-1)) >> n via the high words, + zy, narrow, clamp
          a = i32x4.add(a, v128.load(chan + (cc << 2)));
          b = i32x4.add(b, v128.load(chan + (cc << 2), 16));
          const ma = v128.load(chanM + (cc << 2)), mb = v128.load(chanM + (cc << 2), 16);
          const v = ys ? hiBytes(a, b, ma, mb, rnd, sh32, zv, lov, hiv, true, true) : hiBytes(a, b, ma, mb, rnd, sh32, zv, lov, hiv, false, true);
          store8(yo + cc, v, min(8, C - c));
        }
      }
    }
  }
}

/** Pair-plane column (in pairs) of input column offset `o` for output column 0 (stride 1 or 2). */
@inline function dwColOff(o: i32, sw: i32, PWd: i32): i32 {
  return sw == 1 ? o : (o & 1) * (PWd >> 1) + (o >> 1);
}

/**
 * Packs K rows of `npix` u8/i8 values (row k at base + k*stride) into the GEMM layout: per block
 * of 8 pixels, per row pair j, two i16x8 vectors [x(2j,p0) x(2j+1,p0) ... x(2j,p3) x(2j+1,p3)] and
 * the same for p4..p7. Pixels >= npix (last block) and the odd row past K are zero.
 */
function packPairs(base: usize, stride: i32, K: i32, npix: i32, xs: bool, out: usize): void {
  const K2 = (K + 1) >> 1;
  const blocks = (npix + 7) >> 3;
  const full = npix >> 3;
  for (let j = 0; j < K2; j++) {
    const r0 = base + <usize>(2 * j * stride);
    const has1 = 2 * j + 1 < K;
    const r1 = r0 + <usize>stride;
    let o = out + (<usize>j << 5);
    const step = <usize>K2 << 5;
    for (let blk = 0; blk < full; blk++) {
      const off = <usize>(blk << 3);
      const a = xs ? v128.load8x8_s(r0 + off) : v128.load8x8_u(r0 + off);
      const b = has1 ? (xs ? v128.load8x8_s(r1 + off) : v128.load8x8_u(r1 + off)) : i16x8.splat(0);
      v128.store(o, v128.shuffle<i16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(o, v128.shuffle<i16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      o += step;
    }
    if (full < blocks) {
      for (let q = 0; q < 8; q++) {
        const px = (full << 3) + q;
        let v0: i32 = 0, v1: i32 = 0;
        if (px < npix) {
          v0 = xs ? <i32>load<i8>(r0 + <usize>px) : <i32>load<u8>(r0 + <usize>px);
          if (has1) v1 = xs ? <i32>load<i8>(r1 + <usize>px) : <i32>load<u8>(r1 + <usize>px);
        }
        store<i16>(o + (<usize>q << 2), <i16>v0);
        store<i16>(o + (<usize>q << 2), <i16>v1, 2);
      }
    }
  }
}

/** 8 bytes at a (widened to i16x8), or fewer when a + 8 passes `end` (the missing lanes are 0). */
@inline function load8upto(a: usize, end: usize, xs: bool): v128 {
  if (a + 8 <= end) return xs ? v128.load8x8_s(a) : v128.load8x8_u(a);
  let v = i16x8.splat(0);
  const n = <i32>(end - a);
  for (let q = 0; q < n; q++) {
    const e = xs ? <i32>load<i8>(a + <usize>q) : <i32>load<u8>(a + <usize>q);
    v = v128.or(v128.and(v, v128.not(laneMask16(q))), v128.and(i16x8.splat(<i16>e), laneMask16(q)));
  }
  return v;
}

/** All-ones in i16 lane q (runtime), zero elsewhere. */
@inline function laneMask16(q: i32): v128 {
  return i16x8.eq(i16x8.splat(<i16>q), i16x8(0, 1, 2, 3, 4, 5, 6, 7));
}

/**
 * packPairs for a channels-last input: `npix` pixels starting at base, pixel p's K channels at
 * base + p * pstride (contiguous). Same output layout as packPairs. Channel pairs past K read the
 * next bytes (their packed weights are zero, so they add nothing; reads stop at `end`); pixels
 * >= npix are zero.
 */
function packPairsNhwc(base: usize, pstride: i32, K: i32, npix: i32, xs: bool, out: usize, end: usize): void {
  const K2 = (K + 1) >> 1;
  const blocks = (npix + 7) >> 3;
  const z = i16x8.splat(0);
  for (let blk = 0; blk < blocks; blk++) {
    const p0 = blk << 3;
    const o = out + (<usize>(blk * K2) << 5);
    for (let c = 0; c < K; c += 8) {
      // pixels p0..p0+7, channels c..c+7: four i32 lanes (channel pairs) per pixel
      const at = base + <usize>(p0 * pstride + c);
      const st = <usize>pstride;
      const v0 = load8upto(at, end, xs);
      const v1 = p0 + 1 < npix ? load8upto(at + st, end, xs) : z;
      const v2 = p0 + 2 < npix ? load8upto(at + 2 * st, end, xs) : z;
      const v3 = p0 + 3 < npix ? load8upto(at + 3 * st, end, xs) : z;
      const v4 = p0 + 4 < npix ? load8upto(at + 4 * st, end, xs) : z;
      const v5 = p0 + 5 < npix ? load8upto(at + 5 * st, end, xs) : z;
      const v6 = p0 + 6 < npix ? load8upto(at + 6 * st, end, xs) : z;
      const v7 = p0 + 7 < npix ? load8upto(at + 7 * st, end, xs) : z;
      // 4x4 transposes of i32 lanes: pair j of pixels 0..3 / 4..7
      const t0 = v128.shuffle<i32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(v2, v3, 0, 4, 1, 5);
      const t2 = v128.shuffle<i32>(v0, v1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(v2, v3, 2, 6, 3, 7);
      const u0 = v128.shuffle<i32>(v4, v5, 0, 4, 1, 5), u1 = v128.shuffle<i32>(v6, v7, 0, 4, 1, 5);
      const u2 = v128.shuffle<i32>(v4, v5, 2, 6, 3, 7), u3 = v128.shuffle<i32>(v6, v7, 2, 6, 3, 7);
      const j = c >> 1;
      const d = o + (<usize>j << 5);
      v128.store(d, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
      v128.store(d, v128.shuffle<i32>(u0, u1, 0, 1, 4, 5), 16);
      if (j + 1 < K2) {
        v128.store(d, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 32);
        v128.store(d, v128.shuffle<i32>(u0, u1, 2, 3, 6, 7), 48);
      }
      if (j + 2 < K2) {
        v128.store(d, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 64);
        v128.store(d, v128.shuffle<i32>(u2, u3, 0, 1, 4, 5), 80);
      }
      if (j + 3 < K2) {
        v128.store(d, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 96);
        v128.store(d, v128.shuffle<i32>(u2, u3, 2, 3, 6, 7), 112);
      }
    }
  }
}

/**
 * Byte copy / fill for the short runs of im2col (inline 8-byte moves; memory.copy and memory.fill
 * are calls into the engine, which cost more than a short row).
 */
@inline function copyBytes(d: usize, s: usize, n: i32): void {
  if (n > 64) {
    memory.copy(d, s, <usize>n);
    return;
  }
  let i = 0;
  for (; i + 8 <= n; i += 8) store<u64>(d + <usize>i, load<u64>(s + <usize>i));
  for (; i < n; i++) store<u8>(d + <usize>i, load<u8>(s + <usize>i));
}

@inline function fillBytes(d: usize, v: u8, n: i32): void {
  if (n > 64) {
    memory.fill(d, v, <usize>n);
    return;
  }
  const w = <u64>v * 0x0101010101010101;
  let i = 0;
  for (; i + 8 <= n; i += 8) store<u64>(d + <usize>i, w);
  for (; i < n; i++) store<u8>(d + <usize>i, v);
}

/**
 * im2col of output rows [oh0, oh0 + TR) as bytes: col[k][(oh - oh0)*OW + ow], k = (c*KH + kh)*KW + kw,
 * padding = zx. Row length P8.
 */
function im2colBytes(x: usize, col: usize, P8: i32, C: i32, H: i32, W: i32, oh0: i32, TR: i32, OW: i32,
  KH: i32, KW: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, zx: u8): void {
  let k = 0;
  for (let c = 0; c < C; c++) {
    const xc = x + <usize>(c * H * W);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const off = kw * dw - pw;
        let owLo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        let owHi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
        if (owHi > OW) owHi = OW;
        if (owLo > owHi) owLo = owHi;
        const rowk = col + <usize>(k * P8);
        for (let r = 0; r < TR; r++) {
          const dst = rowk + <usize>(r * OW);
          const ih = (oh0 + r) * sh - ph + kh * dh;
          if (ih < 0 || ih >= H) {
            fillBytes(dst, zx, OW);
            continue;
          }
          if (owLo > 0) fillBytes(dst, zx, owLo);
          const src = xc + <usize>(ih * W + owLo * sw + off);
          const cnt = owHi - owLo;
          if (sw == 1) {
            copyBytes(dst + <usize>owLo, src, cnt);
          } else {
            let i = 0;
            if (sw == 2) {
              // even bytes of 16, reading only inside this input row
              const ix0 = owLo * 2 + off;
              for (; i + 8 <= cnt && ix0 + 2 * i + 16 <= W; i += 8) {
                const v = v128.load(src + <usize>(2 * i));
                v128.store64_lane(dst + <usize>(owLo + i), v128.shuffle<u8>(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14), 0);
              }
            }
            for (; i < cnt; i++) store<u8>(dst + <usize>(owLo + i), load<u8>(src + <usize>(i * sw)));
          }
          if (owHi < OW) fillBytes(dst + <usize>owHi, zx, OW - owHi);
        }
        k++;
      }
    }
  }
}

/**
 * Output stage of one GEMM tile block, shared by gemmTile and the relaxed tile (int8-relaxed.ts):
 * accumulators a_r (pixels 0..3) and b_r (4..7) of rows 4 mb + r, block blk of 8 pixels, stored
 * channels-last (nhwcStride > 0: pixel stride in bytes) or NCHW (rows OHW * osz bytes apart; 8-lane
 * stores when `spill` allows writing past the last pixel and before yEnd).
 */
@inline export function storeTile4x8(a0: v128, b0: v128, a1: v128, b1: v128, a2: v128, b2: v128, a3: v128, b3: v128,
  blk: i32, mb: i32, Mg: i32, npix: i32, y: usize, OHW: i32, osz: i32, spill: bool, yEnd: usize, nhwcStride: i32): void {
  const px = blk << 3;
  const nv = min(8, npix - px);
  const r0 = mb << 2;
  if (nhwcStride > 0) {
    // channels-last: y is (pixel 0, channel m0); pixel stride nhwcStride bytes
    const z = i32x4.splat(0);
    const v0 = epi8v(0, a0, b0);
    const v1 = r0 + 1 < Mg ? epi8v(1, a1, b1) : z;
    const v2 = r0 + 2 < Mg ? epi8v(2, a2, b2) : z;
    const v3 = r0 + 3 < Mg ? epi8v(3, a3, b3) : z;
    storeNhwc4x8(v0, v1, v2, v3, y + <usize>(px * nhwcStride + r0), <usize>nhwcStride, nv, min(4, Mg - r0));
    return;
  }
  const span = <usize>(8 * osz);
  const yb = y + <usize>(px * osz);
  const rowStep = <usize>(OHW * osz);
  const y0 = yb + <usize>r0 * rowStep, y1 = y0 + rowStep, y2 = y1 + rowStep, y3 = y2 + rowStep;
  epilogue8(0, a0, b0, y0, spill && y0 + span <= yEnd ? 8 : nv);
  if (r0 + 1 < Mg) epilogue8(1, a1, b1, y1, spill && y1 + span <= yEnd ? 8 : nv);
  if (r0 + 2 < Mg) epilogue8(2, a2, b2, y2, spill && y2 + span <= yEnd ? 8 : nv);
  if (r0 + 3 < Mg) epilogue8(3, a3, b3, y3, spill && y3 + span <= yEnd ? 8 : nv);
}

/**
 * GEMM over a packed tile: for each block of 8 pixels and 4 output rows, acc[r] += dot(x pair,
 * w' pair) over K2 pairs (i32x4.dot_i16x8_s), then the output stage.
 * y points at output channel m0 = g*Mg, pixel p0; rows are OHW * osz bytes apart.
 */
function gemmTile(packed: usize, wg: usize, K2: i32, Mg: i32, npix: i32, y: usize, OHW: i32, osz: i32, s: usize, m0: i32,
  spill: bool, yEnd: usize, nhwcStride: i32): void {
  const blocks = (npix + 7) >> 3;
  const mb4 = (Mg + 3) >> 2;
  const wstep = <usize>K2 << 4;
  for (let mb = 0; mb < mb4; mb++) {
    const wb = wg + <usize>mb * wstep;
    for (let r = 0; r < 4; r++) if ((mb << 2) + r < Mg) prepSlot(s, m0 + (mb << 2) + r, r);
    // last block first: its ragged 8-lane stores (spill) land on output written later
    for (let blk = blocks - 1; blk >= 0; blk--) {
      let xp = packed + (<usize>(blk * K2) << 5);
      let wp = wb;
      let a0 = i32x4.splat(0), b0 = i32x4.splat(0), a1 = i32x4.splat(0), b1 = i32x4.splat(0);
      let a2 = i32x4.splat(0), b2 = i32x4.splat(0), a3 = i32x4.splat(0), b3 = i32x4.splat(0);
      for (let j = 0; j < K2; j++) {
        const x0 = v128.load(xp);
        const x1 = v128.load(xp, 16);
        const w0 = v128.load32_splat(wp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, w0));
        b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x1, w0));
        const w1 = v128.load32_splat(wp, 4);
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x0, w1));
        b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, w1));
        const w2 = v128.load32_splat(wp, 8);
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x0, w2));
        b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x1, w2));
        const w3 = v128.load32_splat(wp, 12);
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x0, w3));
        b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x1, w3));
        xp += 32;
        wp += 16;
      }
      storeTile4x8(a0, b0, a1, b1, a2, b2, a3, b3, blk, mb, Mg, npix, y, OHW, osz, spill, yEnd, nhwcStride);
    }
  }
}

/** Tile size (output rows) of the GEMM conv path. */
@inline function tileRows(OH: i32, OW: i32): i32 {
  return min(OH, max(1, TILE_PIXELS / OW));
}

function convGemm(x: usize, wpack: usize, y: usize, scratch: usize, s: usize, C: i32, H: i32, W: i32, M: i32,
  OH: i32, OW: i32, KH: i32, KW: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, G: i32,
  zx: i32, osz: i32, pointwise: bool, xNhwc: bool, yNhwc: bool): void {
  const xs = (sFlags(s) & F_XS) != 0;
  const Cg = C / G, Mg = M / G;
  const K = Cg * KH * KW, K2 = (K + 1) >> 1;
  const Mg4 = (Mg + 3) & ~3;
  const OHW = OH * OW, HW = H * W;
  const TR = tileRows(OH, OW);
  const P8 = (TR * OW + 7) & ~7;
  const col = scratch;
  const packed = pointwise ? scratch : scratch + ((<usize>(K * P8) + 15) & ~15);
  const yEnd = y + <usize>(M * OHW * osz);
  for (let g = 0; g < G; g++) {
    const xg = x + <usize>(xNhwc ? g * Cg : g * Cg * HW);
    const wg = wpack + (<usize>(g * Mg4 * K2) << 2);
    const yg = y + <usize>(yNhwc ? g * Mg : g * Mg * OHW * osz);
    // relaxed-SIMD library only (int8-relaxed.ts): i7-plane weights when every |w'| <= 127
    const rx = ASC_FEATURE_RELAXED_SIMD && rxFits(P8, K2) && rxWeightsFit(wg, Mg4, K2);
    // threads build: only the output rows qconv_rows_i8 asked for (channels-last output)
    const r0 = ASC_FEATURE_THREADS && rowTo > 0 ? rowFrom : 0, r1 = ASC_FEATURE_THREADS && rowTo > 0 ? rowTo : OH;
    for (let oh0 = r0; oh0 < r1; oh0 += TR) {
      const rows = min(TR, r1 - oh0);
      const npix = rows * OW;
      const p0 = oh0 * OW;
      if (ASC_FEATURE_RELAXED_SIMD && rx) {
        // raw bytes first: one i7 plane when every byte + off (i8: 64) lies in [0, 127]
        if (pointwise && xNhwc) {
          rxPackNhwc(xg + <usize>(p0 * C), C, K, npix, 0, packed, x + <usize>(HW * C));
        } else if (pointwise) {
          rxPackRows(xg + <usize>p0, HW, K, npix, 0, packed);
        } else {
          im2colBytes(xg, col, P8, Cg, H, W, oh0, rows, OW, KH, KW, sh, sw, dh, dw, ph, pw, <u8>zx);
          rxPackRows(col, P8, K, npix, 0, packed);
        }
        const K4 = (K + 3) >> 2;
        const blocks = (npix + 7) >> 3;
        const sums = packed + (<usize>(P8 * K4) << 2), wbuf = sums + (<usize>P8 << 2);
        const off = xs ? 64 : 0;
        const one = rxOffsetFits(packed, blocks * K4, off);
        if (!one) {
          rxRecenter(packed, blocks * K4, off, xs ? 0 : 0x80);
          rxPixelSums(packed, K4, blocks, sums);
        }
        const spill = (p0 == 0 && npix == OHW) || OHW - (p0 + npix) >= 8;
        const c = one ? -off : xs ? 0 : 128;
        if (yNhwc) rxGemmTile(packed, sums, wbuf, wg, K2, Mg, npix, yg + <usize>(p0 * M), OHW, osz, s, g * Mg, false, yEnd, M, c, one);
        else rxGemmTile(packed, sums, wbuf, wg, K2, Mg, npix, yg + <usize>(p0 * osz), OHW, osz, s, g * Mg, spill, yEnd, 0, c, one);
        continue;
      }
      if (pointwise && xNhwc) {
        packPairsNhwc(xg + <usize>(p0 * C), C, K, npix, xs, packed, x + <usize>(HW * C));
      } else if (pointwise) {
        packPairs(xg + <usize>p0, HW, K, npix, xs, packed);
      } else {
        im2colBytes(xg, col, P8, Cg, H, W, oh0, rows, OW, KH, KW, sh, sw, dh, dw, ph, pw, <u8>zx);
        packPairs(col, P8, K, npix, xs, packed);
      }
      // ragged stores may spill 8 - nv values past the tile: onto later channels (one tile), or onto
      // this channel's next tile when at least 8 values of it remain (never onto earlier tiles)
      const spill = (p0 == 0 && npix == OHW) || OHW - (p0 + npix) >= 8;
      if (yNhwc) gemmTile(packed, wg, K2, Mg, npix, yg + <usize>(p0 * M), OHW, osz, s, g * Mg, false, yEnd, M);
      else gemmTile(packed, wg, K2, Mg, npix, yg + <usize>(p0 * osz), OHW, osz, s, g * Mg, spill, yEnd, 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// qgemm_i8
// ---------------------------------------------------------------------------------------------

/**
 * qgemm_i8: QGemm, y[r][j] = stage(sum_k x[r][k] * w'[j][k] + off[j]).
 * Params: 0 x (R x K bytes), 1 wpack (w' = w - zw[j], zero padded: N4 = N rounded up to 4, K8 = K
 * rounded up to 8; i16 [N4][K8], or i8 [N4][K8] with F_W8 when every w' fits i8), 2 y (R x N),
 * 3 scratch (K8 i16: the widened row), 4..10 output stage (M word = N), 11 R, 12 K.
 * F_VHI (fixed mode, 8-bit output, every shift >= 32): the output stage runs on 4 channels at once;
 * the chan blob then also holds rnd[Mp] (i64, 2^(n-1)) after shift[Mp]. F_USH: every shift equal.
 */
export function qgemm_i8(p: usize): void {
  if (!ASC_FEATURE_SIMD) { qgemmScalar(p); return; } // scalar build (int8-scalar.ts)
  const x = pa(p, 0), wpack = pa(p, 1), y = pa(p, 2), xw = pa(p, 3);
  const s = p + 16;
  const flags = sFlags(s), N = pi(p, 10), R = pi(p, 11), K = pi(p, 12);
  const xs = (flags & F_XS) != 0;
  const w8 = (flags & F_W8) != 0;
  const vhi = (flags & F_VHI) != 0;
  const osz: i32 = (flags & F_Y32) ? 4 : 1;
  const K8 = (K + 7) & ~7;
  const kb = K8 >> 3;
  const rowBytes = w8 ? <usize>K8 : <usize>K8 << 1;
  const chan = sChan(s), mp = sMp(s);
  const zy = sZy(s);
  const lov = i32x4.splat(sLo(s) - zy), hiv = i32x4.splat(sHi(s) - zy), zyv = i32x4.splat(zy);
  const ys = (flags & F_YS) != 0;
  const ush = (flags & F_USH) != 0;
  const sh0 = vhi ? load<i32>(chan + (<usize>(2 * mp) << 2)) - 32 : 0;
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>(r * K);
    // widen the row to i16, zero padded to K8
    let k = 0;
    for (; k + 8 <= K; k += 8) v128.store(xw + (<usize>k << 1), xs ? v128.load8x8_s(xr + <usize>k) : v128.load8x8_u(xr + <usize>k));
    for (; k < K8; k++) store<i16>(xw + (<usize>k << 1), k < K ? (xs ? <i16>load<i8>(xr + <usize>k) : <i16>load<u8>(xr + <usize>k)) : 0);
    const yr = y + <usize>(r * N * osz);
    for (let j = 0; j < N; j += 4) {
      const w0 = wpack + <usize>j * rowBytes;
      const w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      if (w8) {
        for (let b = 0; b < kb; b++) {
          const o = <usize>b << 3;
          const xv = v128.load(xw + (o << 1));
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, v128.load8x8_s(w0 + o)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, v128.load8x8_s(w1 + o)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, v128.load8x8_s(w2 + o)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, v128.load8x8_s(w3 + o)));
        }
      } else {
        for (let b = 0; b < kb; b++) {
          const o = <usize>b << 4;
          const xv = v128.load(xw + o);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, v128.load(w0 + o)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, v128.load(w1 + o)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, v128.load(w2 + o)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, v128.load(w3 + o)));
        }
      }
      // horizontal sums of a0..a3 -> one i32x4
      const t0 = i32x4.add(v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), v128.shuffle<i32>(a0, a1, 2, 6, 3, 7));
      const t1 = i32x4.add(v128.shuffle<i32>(a2, a3, 0, 4, 1, 5), v128.shuffle<i32>(a2, a3, 2, 6, 3, 7));
      const sum = i32x4.add(v128.shuffle<i32>(t0, t1, 0, 1, 4, 5), v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
      const yj = yr + <usize>(j * osz);
      const nv = min(4, N - j);
      if (vhi) {
        // channels j..j+3 (blob arrays padded to Mp, a multiple of 4)
        const acc = i32x4.add(sum, v128.load(chan + (<usize>j << 2)));
        const mv = v128.load(chan + (<usize>(mp + j) << 2));
        const rb = chan + (<usize>(3 * mp) << 2) + (<usize>j << 3);
        const l = i64x2.add(i64x2.extmul_low_i32x4_s(acc, mv), v128.load(rb));
        const h = i64x2.add(i64x2.extmul_high_i32x4_s(acc, mv), v128.load(rb, 16));
        let q = v128.shuffle<i32>(l, h, 1, 3, 5, 7);
        if (ush) {
          q = i32x4.shr_s(q, sh0);
        } else {
          const sv = chan + (<usize>(2 * mp + j) << 2);
          q = i32x4.replace_lane(q, 0, i32x4.extract_lane(q, 0) >> (load<i32>(sv) - 32));
          q = i32x4.replace_lane(q, 1, i32x4.extract_lane(q, 1) >> (load<i32>(sv, 4) - 32));
          q = i32x4.replace_lane(q, 2, i32x4.extract_lane(q, 2) >> (load<i32>(sv, 8) - 32));
          q = i32x4.replace_lane(q, 3, i32x4.extract_lane(q, 3) >> (load<i32>(sv, 12) - 32));
        }
        q = i32x4.add(i32x4.min_s(i32x4.max_s(q, lov), hiv), zyv);
        const s16 = i16x8.narrow_i32x4_s(q, q);
        const v = ys ? i8x16.narrow_i16x8_s(s16, s16) : i8x16.narrow_i16x8_u(s16, s16);
        if (nv == 4) v128.store32_lane(yj, v, 0);
        else store8(yj, v, nv);
        continue;
      }
      stageScalar(s, j, i32x4.extract_lane(sum, 0), yj);
      if (nv > 1) stageScalar(s, j + 1, i32x4.extract_lane(sum, 1), yj + <usize>osz);
      if (nv > 2) stageScalar(s, j + 2, i32x4.extract_lane(sum, 2), yj + <usize>(2 * osz));
      if (nv > 3) stageScalar(s, j + 3, i32x4.extract_lane(sum, 3), yj + <usize>(3 * osz));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requantize
// ---------------------------------------------------------------------------------------------

/**
 * qrequant_i8: Requantize, y = clamp(zy + rq(x - zx)).
 * Params: 0 x, 1 y, 2 n (elements), 3 x kind (0 u8, 1 i8, 2 i32), 4 flags (F_YS, F_FLOAT, F_TFL),
 * 5 zx, 6 multiplier, 7 shift, 8 zy, 9 lo, 10 hi, 11 scale (address of one f64; float mode).
 * The 8-bit fixed-point path is vectorized (|zx| < 2^24 checked by the lowering); i32 inputs and
 * float mode take x - zx in 64 bits / f64 per element.
 */
export function qrequant_i8(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), n = pi(p, 2), kind = pi(p, 3), flags = pi(p, 4);
  const zx = pi(p, 5), mult = pi(p, 6), sh = pi(p, 7), zy = pi(p, 8), lo = pi(p, 9), hi = pi(p, 10);
  const ys = (flags & F_YS) != 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (kind != 2 && (flags & (F_FLOAT | F_TFL)) == 0) {
      const zv = i32x4.splat(zx), mv = i32x4.splat(mult);
      const rnd = i64x2.splat(sh > 0 ? <i64>1 << <i64>(sh - 1) : 0);
      const lov = i64x2.splat(<i64>(lo - zy)), hiv = i64x2.splat(<i64>(hi - zy));
      const zyv = i32x4.splat(zy);
      for (; i + 8 <= n; i += 8) {
        const v = kind == 1 ? v128.load8x8_s(x + <usize>i) : v128.load8x8_u(x + <usize>i);
        const a = i32x4.sub(i32x4.extend_low_i16x8_s(v), zv);
        const b = i32x4.sub(i32x4.extend_high_i16x8_s(v), zv);
        const ra = i32x4.add(rqFixed4(a, mv, rnd, sh, lov, hiv), zyv);
        const rb = i32x4.add(rqFixed4(b, mv, rnd, sh, lov, hiv), zyv);
        store8(y + <usize>i, narrow8(ra, rb, ys), 8);
      }
    }
  }
  const sc = (flags & F_FLOAT) ? load<f64>(pa(p, 11)) : 0.0;
  for (; i < n; i++) {
    const xv: i64 = kind == 2 ? <i64>load<i32>(x + (<usize>i << 2)) : kind == 1 ? <i64>load<i8>(x + <usize>i) : <i64>load<u8>(x + <usize>i);
    const acc = xv - <i64>zx;
    const v = (flags & F_FLOAT) ? rqScalarF(<f64>acc, sc, zy, lo, hi) : (flags & F_TFL) ? rqTflScalar(<i32>acc, mult, sh, zy, lo, hi) : rqScalar(acc, mult, sh, zy, lo, hi);
    store<u8>(y + <usize>i, <u8>v);
  }
}

// ---------------------------------------------------------------------------------------------
// QAdd / QMul with broadcasting
// ---------------------------------------------------------------------------------------------

const QB_ADD: i32 = 0;

/** Loads 8 bytes as i16x8 (signed or unsigned), or splats one byte when stride is 0. */
@inline function load8w(at: usize, stride: i32, signed: bool): v128 {
  if (stride == 0) return i16x8.splat(signed ? <i16>load<i8>(at) : <i16>load<u8>(at));
  return signed ? v128.load8x8_s(at) : v128.load8x8_u(at);
}

/** One scalar QAdd/QMul element (64-bit, as the reference). */
@inline export function qbinScalar(op: i32, a: i32, b: i32, ma: i32, mb: i32, sh: i32, zy: i32, lo: i32, hi: i32): i32 {
  if (op == QB_ADD) {
    let v = <i64>ma * <i64>a + <i64>mb * <i64>b;
    if (sh > 0) v = (v + (<i64>1 << <i64>(sh - 1))) >> <i64>sh;
    v += <i64>zy;
    return <i32>(v < <i64>lo ? <i64>lo : v > <i64>hi ? <i64>hi : v);
  }
  return rqScalar(<i64>(a * b), ma, sh, zy, lo, hi);
}

/**
 * qbinary_i8: QAdd (op 0): y = clamp(zy + floor((Ma(a - za) + Mb(b - zb) + 2^(n-1)) / 2^n));
 * QMul (op 1): y = clamp(zy + rq((a - za)(b - zb), Ma, n)). y is contiguous; a and b are read
 * through element strides over 6 (coalesced, left-padded) dims.
 * Params: 0 a, 1 b, 2 y, 3 op, 4 flags (F_XS: a is i8, F_BS: b is i8, F_YS), 5 za, 6 zb,
 * 7 Ma (QMul: M), 8 Mb, 9 shift, 10 zy, 11 lo, 12 hi, 13..18 dims, 19..24 a strides, 25..30 b strides.
 */
export function qbinary_i8(p: usize): void {
  if (!ASC_FEATURE_SIMD) { qbinaryScalar(p); return; } // scalar build (int8-scalar.ts)
  const A = pa(p, 0), B = pa(p, 1), Y = pa(p, 2), op = pi(p, 3), flags = pi(p, 4);
  const za = pi(p, 5), zb = pi(p, 6), ma = pi(p, 7), mb = pi(p, 8), sh = pi(p, 9), zy = pi(p, 10), lo = pi(p, 11), hi = pi(p, 12);
  const as = (flags & F_XS) != 0, bs = (flags & F_BS) != 0, ys = (flags & F_YS) != 0;
  const d0 = pi(p, 13), d1 = pi(p, 14), d2 = pi(p, 15), d3 = pi(p, 16), d4 = pi(p, 17), d5 = pi(p, 18);
  const sa5 = pi(p, 24), sb5 = pi(p, 30);
  const vec = (sa5 == 1 || sa5 == 0) && (sb5 == 1 || sb5 == 0);
  const zav = i16x8.splat(<i16>za), zbv = i16x8.splat(<i16>zb);
  const mav = i32x4.splat(ma), mbv = i32x4.splat(mb);
  const rnd = i64x2.splat(sh > 0 ? <i64>1 << <i64>(sh - 1) : 0);
  const lov = i64x2.splat(<i64>(lo - zy)), hiv = i64x2.splat(<i64>(hi - zy));
  const zyv = i32x4.splat(zy);
  // For 20 <= n < 32 the centered inputs (|a - za| <= 383; QMul: |product| < 2^18) are scaled by
  // 2^k so that n + k >= 32 and the 64-bit sums still fit (< 2^53): the high-word path then needs
  // no 64-bit shifts or compares. floor((v 2^k + 2^(n+k-1)) / 2^(n+k)) = floor((v + 2^(n-1)) / 2^n).
  const hiPath = sh >= 20;
  const k = sh >= 32 ? 0 : 32 - sh;
  const nh = sh + k - 32;
  const rndh = i64x2.splat(<i64>1 << <i64>(sh + k - 1));
  const lo32 = i32x4.splat(lo - zy), hi32 = i32x4.splat(hi - zy);
  // QAdd with 20-bit multipliers (what the quantizer emits) and n <= 30: |M (x - z)| < 2^28, so
  // the whole sum, rounding term included, stays below 2^30 and plain i32 arithmetic is exact
  const add32 = op == QB_ADD && sh >= 1 && sh <= 30 && ma > -(1 << 20) && ma < (1 << 20) && mb > -(1 << 20) && mb < (1 << 20);
  const rnd32 = i32x4.splat(sh >= 1 ? 1 << (sh - 1) : 0);
  let y = Y;
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const ao = i0 * pi(p, 19) + i1 * pi(p, 20) + i2 * pi(p, 21) + i3 * pi(p, 22) + i4 * pi(p, 23);
      const bo = i0 * pi(p, 25) + i1 * pi(p, 26) + i2 * pi(p, 27) + i3 * pi(p, 28) + i4 * pi(p, 29);
      const a = A + <usize>ao, b = B + <usize>bo;
      let i = 0;
      if (vec) {
        for (; i + 8 <= d5; i += 8) {
          const av = i16x8.sub(load8w(a + <usize>(i * sa5), sa5, as), zav);
          const bv = i16x8.sub(load8w(b + <usize>(i * sb5), sb5, bs), zbv);
          let r0: v128, r1: v128;
          if (add32) {
            const s0 = i32x4.add(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_s(av), mav), i32x4.mul(i32x4.extend_low_i16x8_s(bv), mbv)), rnd32);
            const s1 = i32x4.add(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_s(av), mav), i32x4.mul(i32x4.extend_high_i16x8_s(bv), mbv)), rnd32);
            r0 = i32x4.min_s(i32x4.max_s(i32x4.shr_s(s0, sh), lo32), hi32);
            r1 = i32x4.min_s(i32x4.max_s(i32x4.shr_s(s1, sh), lo32), hi32);
          } else if (hiPath) {
            if (op == QB_ADD) {
              const a0 = i32x4.shl(i32x4.extend_low_i16x8_s(av), k), a1 = i32x4.shl(i32x4.extend_high_i16x8_s(av), k);
              const b0 = i32x4.shl(i32x4.extend_low_i16x8_s(bv), k), b1 = i32x4.shl(i32x4.extend_high_i16x8_s(bv), k);
              const l0 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(a0, mav), i64x2.extmul_low_i32x4_s(b0, mbv)), rndh);
              const h0 = i64x2.add(i64x2.add(i64x2.extmul_high_i32x4_s(a0, mav), i64x2.extmul_high_i32x4_s(b0, mbv)), rndh);
              const l1 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(a1, mav), i64x2.extmul_low_i32x4_s(b1, mbv)), rndh);
              const h1 = i64x2.add(i64x2.add(i64x2.extmul_high_i32x4_s(a1, mav), i64x2.extmul_high_i32x4_s(b1, mbv)), rndh);
              r0 = i32x4.min_s(i32x4.max_s(i32x4.shr_s(v128.shuffle<i32>(l0, h0, 1, 3, 5, 7), nh), lo32), hi32);
              r1 = i32x4.min_s(i32x4.max_s(i32x4.shr_s(v128.shuffle<i32>(l1, h1, 1, 3, 5, 7), nh), lo32), hi32);
            } else {
              r0 = rqFixed4Hi(i32x4.shl(i32x4.extmul_low_i16x8_s(av, bv), k), mav, rndh, nh, lo32, hi32);
              r1 = rqFixed4Hi(i32x4.shl(i32x4.extmul_high_i16x8_s(av, bv), k), mav, rndh, nh, lo32, hi32);
            }
          } else if (op == QB_ADD) {
            const a0 = i32x4.extend_low_i16x8_s(av), a1 = i32x4.extend_high_i16x8_s(av);
            const b0 = i32x4.extend_low_i16x8_s(bv), b1 = i32x4.extend_high_i16x8_s(bv);
            const l0 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(a0, mav), i64x2.extmul_low_i32x4_s(b0, mbv)), rnd);
            const h0 = i64x2.add(i64x2.add(i64x2.extmul_high_i32x4_s(a0, mav), i64x2.extmul_high_i32x4_s(b0, mbv)), rnd);
            const l1 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(a1, mav), i64x2.extmul_low_i32x4_s(b1, mbv)), rnd);
            const h1 = i64x2.add(i64x2.add(i64x2.extmul_high_i32x4_s(a1, mav), i64x2.extmul_high_i32x4_s(b1, mbv)), rnd);
            r0 = low32(clamp64(i64x2.shr_s(l0, sh), lov, hiv), clamp64(i64x2.shr_s(h0, sh), lov, hiv));
            r1 = low32(clamp64(i64x2.shr_s(l1, sh), lov, hiv), clamp64(i64x2.shr_s(h1, sh), lov, hiv));
          } else {
            r0 = rqFixed4(i32x4.extmul_low_i16x8_s(av, bv), mav, rnd, sh, lov, hiv);
            r1 = rqFixed4(i32x4.extmul_high_i16x8_s(av, bv), mav, rnd, sh, lov, hiv);
          }
          store8(y + <usize>i, narrow8(i32x4.add(r0, zyv), i32x4.add(r1, zyv), ys), 8);
        }
      }
      for (; i < d5; i++) {
        const av = (as ? <i32>load<i8>(a + <usize>(i * sa5)) : <i32>load<u8>(a + <usize>(i * sa5))) - za;
        const bv = (bs ? <i32>load<i8>(b + <usize>(i * sb5)) : <i32>load<u8>(b + <usize>(i * sb5))) - zb;
        store<u8>(y + <usize>i, <u8>qbinScalar(op, av, bv, ma, mb, sh, zy, lo, hi));
      }
      y += <usize>d5;
    }
}

// ---------------------------------------------------------------------------------------------
// QReduceMean / global average pool
// ---------------------------------------------------------------------------------------------

/** Sum of n bytes at x (stride 1), int32 wrapping. */
function sumBytes(x: usize, n: i32, signed: bool): i32 {
  if (!ASC_FEATURE_SIMD) {
    let t: i32 = 0;
    for (let i = 0; i < n; i++) t += signed ? <i32>load<i8>(x + <usize>i) : <i32>load<u8>(x + <usize>i);
    return t;
  }
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const v = v128.load(x + <usize>i);
    const w = signed ? i16x8.extadd_pairwise_i8x16_s(v) : i16x8.extadd_pairwise_i8x16_u(v);
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(w));
  }
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < n; i++) s += signed ? <i32>load<i8>(x + <usize>i) : <i32>load<u8>(x + <usize>i);
  return s;
}

/**
 * qreduce_i8: QReduceMean: y[kept] = clamp(zy + rq(sum_{reduced}(x - zx))). Kept and reduced dims
 * are coalesced and left-padded to 4 each (element strides into x); y is contiguous over kept dims.
 * F_TFL: TFLite's MEAN, clamp(zy + roundedDiv(rqTflite(sum), count)).
 * Params: 0 x, 1 y, 2 flags (F_XS, F_YS, F_FLOAT, F_TFL), 3 zx, 4 multiplier, 5 shift, 6 zy, 7 lo, 8 hi,
 * 9 scale (address of one f64; float mode), 10..13 kept dims, 14..17 kept strides,
 * 18..21 reduced dims, 22..25 reduced strides.
 */
export function qreduce_i8(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), flags = pi(p, 2), zx = pi(p, 3), mult = pi(p, 4), sh = pi(p, 5);
  const zy = pi(p, 6), lo = pi(p, 7), hi = pi(p, 8);
  const xs = (flags & F_XS) != 0;
  const sc = (flags & F_FLOAT) ? load<f64>(pa(p, 9)) : 0.0;
  const r0 = pi(p, 18), r1 = pi(p, 19), r2 = pi(p, 20), r3 = pi(p, 21);
  const t0 = pi(p, 22), t1 = pi(p, 23), t2 = pi(p, 24), t3 = pi(p, 25);
  const count = r0 * r1 * r2 * r3;
  let y = Y;
  for (let k0 = 0; k0 < pi(p, 10); k0++) for (let k1 = 0; k1 < pi(p, 11); k1++)
    for (let k2 = 0; k2 < pi(p, 12); k2++) for (let k3 = 0; k3 < pi(p, 13); k3++) {
      const xo = X + <usize>(k0 * pi(p, 14) + k1 * pi(p, 15) + k2 * pi(p, 16) + k3 * pi(p, 17));
      let sum: i32 = 0;
      for (let j0 = 0; j0 < r0; j0++) for (let j1 = 0; j1 < r1; j1++) for (let j2 = 0; j2 < r2; j2++) {
        const xr = xo + <usize>(j0 * t0 + j1 * t1 + j2 * t2);
        if (t3 == 1) {
          sum += sumBytes(xr, r3, xs);
        } else {
          for (let j3 = 0; j3 < r3; j3++) sum += xs ? <i32>load<i8>(xr + <usize>(j3 * t3)) : <i32>load<u8>(xr + <usize>(j3 * t3));
        }
      }
      sum -= count * zx;
      let v: i32;
      if (flags & F_TFL) {
        // TFLite's MEAN: rounded division (half away from zero) of the requantized sum by the count
        const t = rqTflScalar(sum, mult, sh, 0, i32.MIN_VALUE, i32.MAX_VALUE);
        const h = count >> 1;
        const d = (t > 0 ? t + h : t - h) / count;
        v = d + zy < lo ? lo : d + zy > hi ? hi : d + zy;
      } else v = (flags & F_FLOAT) ? rqScalarF(<f64>sum, sc, zy, lo, hi) : rqScalar(<i64>sum, mult, sh, zy, lo, hi);
      store<u8>(y, <u8>v);
      y += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// QAvgPool, MaxPool (int8)
// ---------------------------------------------------------------------------------------------

/**
 * qavgpool_i8: QAvgPool 2-D (1-D as H = 1): y = clamp(zy + rq(sum_window(x - zx), M[c-1], n[c-1]))
 * where c is the window count of the output position (with or without pads: a compile-time table).
 * Params: 0 x, 1 y, 2 count table (i32 [OH*OW]: c - 1), 3 multipliers (i32 [vol]), 4 shifts
 * (i32 [vol]), 5 flags (F_XS, F_YS, F_TFL: TFLite's rounded division by c, no multipliers), 6 NC, 7 H, 8 W, 9 OH, 10 OW, 11 KH, 12 KW, 13 sh, 14 sw,
 * 15 ph, 16 pw, 17 zx, 18 zy, 19 lo, 20 hi.
 */
export function qavgpool_i8(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), cnt = pa(p, 2), mults = pa(p, 3), shifts = pa(p, 4), flags = pi(p, 5);
  const NC = pi(p, 6), H = pi(p, 7), W = pi(p, 8), OH = pi(p, 9), OW = pi(p, 10), KH = pi(p, 11), KW = pi(p, 12);
  const sh = pi(p, 13), sw = pi(p, 14), ph = pi(p, 15), pw = pi(p, 16), zx = pi(p, 17), zy = pi(p, 18), lo = pi(p, 19), hi = pi(p, 20);
  const xs = (flags & F_XS) != 0, tfl = (flags & F_TFL) != 0;
  let y = Y;
  for (let nc = 0; nc < NC; nc++) {
    const xc = X + <usize>(nc * H * W);
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * sh - ph, 0), h1 = min(oh * sh - ph + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * sw - pw, 0), w1 = min(ow * sw - pw + KW, W);
        let sum: i32 = 0;
        for (let ih = h0; ih < h1; ih++) {
          const row = xc + <usize>(ih * W);
          for (let iw = w0; iw < w1; iw++) sum += xs ? <i32>load<i8>(row + <usize>iw) : <i32>load<u8>(row + <usize>iw);
        }
        const inRange = max(h1 - h0, 0) * max(w1 - w0, 0);
        sum -= inRange * zx;
        const c = load<i32>(cnt + (<usize>(oh * OW + ow) << 2));
        if (tfl) {
          // TFLite: sum / count rounded half away from zero (C division truncates)
          const q = (sum > 0 ? (sum + ((c + 1) >> 1)) : (sum - ((c + 1) >> 1))) / (c + 1) + zy;
          store<u8>(y, <u8>(q < lo ? lo : q > hi ? hi : q));
          y += 1;
          continue;
        }
        store<u8>(y, <u8>rqScalar(<i64>sum, load<i32>(mults + (<usize>c << 2)), load<i32>(shifts + (<usize>c << 2)), zy, lo, hi));
        y += 1;
      }
    }
  }
}

/**
 * qmaxpool_i8: MaxPool on int8/uint8 (padding never wins: max over the in-range window).
 * Params: 0 x, 1 y, 2 signed, 3 NC, 4 H, 5 W, 6 OH, 7 OW, 8 KH, 9 KW, 10 sh, 11 sw, 12 dh, 13 dw,
 * 14 ph, 15 pw.
 */
export function qmaxpool_i8(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), signed = pi(p, 2) != 0;
  const NC = pi(p, 3), H = pi(p, 4), W = pi(p, 5), OH = pi(p, 6), OW = pi(p, 7), KH = pi(p, 8), KW = pi(p, 9);
  const sh = pi(p, 10), sw = pi(p, 11), dh = pi(p, 12), dw = pi(p, 13), ph = pi(p, 14), pw = pi(p, 15);
  let y = Y;
  for (let nc = 0; nc < NC; nc++) {
    const xc = X + <usize>(nc * H * W);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best: i32 = -1000;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh - ph + kh * dh;
          if (ih < 0 || ih >= H) continue;
          const row = xc + <usize>(ih * W);
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw - pw + kw * dw;
            if (iw < 0 || iw >= W) continue;
            const v = signed ? <i32>load<i8>(row + <usize>iw) : <i32>load<u8>(row + <usize>iw);
            if (v > best) best = v;
          }
        }
        store<u8>(y, <u8>best);
        y += 1;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear (f32 <-> int8 at float-island boundaries)
// ---------------------------------------------------------------------------------------------

/**
 * quantize_f32: y = saturate(nearest(x / s[a]) + z[a]) (f32 division, round half to even, NaN -> 0)
 * over [outer][A][inner] (A = 1: per tensor).
 * Params: 0 x (f32), 1 y (u8/i8), 2 scales (f32 [A]), 3 zero points (i32 [A]), 4 outer, 5 A,
 * 6 inner, 7 y signed.
 */
export function quantize_f32(p: usize): void {
  if (!ASC_FEATURE_SIMD) { quantizeScalar(p); return; } // scalar build (int8-scalar.ts)
  const X = pa(p, 0), Y = pa(p, 1), S = pa(p, 2), Z = pa(p, 3);
  const outer = pi(p, 4), A = pi(p, 5), inner = pi(p, 6), ys = pi(p, 7) != 0;
  const lo: i32 = ys ? -128 : 0, hi: i32 = ys ? 127 : 255;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < A; a++) {
      const s = load<f32>(S + (<usize>a << 2));
      const z = load<i32>(Z + (<usize>a << 2));
      const sv = f32x4.splat(s);
      const lov = i32x4.splat(lo - z), hiv = i32x4.splat(hi - z), zv = i32x4.splat(z);
      const end = i + inner;
      for (; i + 8 <= end; i += 8) {
        const q0 = f32x4.div(v128.load(X + (<usize>i << 2)), sv);
        const q1 = f32x4.div(v128.load(X + (<usize>i << 2), 16), sv);
        let r0 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(q0)), lov), hiv);
        let r1 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(q1)), lov), hiv);
        // NaN -> 0 (not z), as the reference
        r0 = v128.andnot(i32x4.add(r0, zv), f32x4.ne(q0, q0));
        r1 = v128.andnot(i32x4.add(r1, zv), f32x4.ne(q1, q1));
        store8(Y + <usize>i, narrow8(r0, r1, ys), 8);
      }
      for (; i < end; i++) {
        const q = load<f32>(X + (<usize>i << 2)) / s;
        let v: i32;
        if (q != q) v = 0;
        else {
          const r = nearest<f32>(q);
          v = r <= <f32>(lo - z) ? lo : r >= <f32>(hi - z) ? hi : <i32>r + z;
        }
        store<u8>(Y + <usize>i, <u8>v);
      }
    }
  }
}

/**
 * dequantize_f32: y = f32(x - z[a]) * s[a] over [outer][A][inner].
 * Params: 0 x (u8/i8), 1 y (f32), 2 scales (f32 [A]), 3 zero points (i32 [A]), 4 outer, 5 A,
 * 6 inner, 7 x signed.
 */
export function dequantize_f32(p: usize): void {
  if (!ASC_FEATURE_SIMD) { dequantizeScalar(p); return; } // scalar build (int8-scalar.ts)
  const X = pa(p, 0), Y = pa(p, 1), S = pa(p, 2), Z = pa(p, 3);
  const outer = pi(p, 4), A = pi(p, 5), inner = pi(p, 6), xs = pi(p, 7) != 0;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < A; a++) {
      const s = load<f32>(S + (<usize>a << 2));
      const z = load<i32>(Z + (<usize>a << 2));
      const sv = f32x4.splat(s), zv = i32x4.splat(z);
      const end = i + inner;
      for (; i + 8 <= end; i += 8) {
        const v = xs ? v128.load8x8_s(X + <usize>i) : v128.load8x8_u(X + <usize>i);
        const a0 = f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(v), zv));
        const a1 = f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(v), zv));
        v128.store(Y + (<usize>i << 2), f32x4.mul(a0, sv));
        v128.store(Y + (<usize>i << 2), f32x4.mul(a1, sv), 16);
      }
      for (; i < end; i++) {
        const v = xs ? <i32>load<i8>(X + <usize>i) : <i32>load<u8>(X + <usize>i);
        store<f32>(Y + (<usize>i << 2), <f32>(v - z) * s);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// qconv_wino_i8: integer Winograd F(2x2, 3x3)
// ---------------------------------------------------------------------------------------------

/**
 * qconv_wino_i8: QConv 3x3, stride 1, dilation 1, group 1, by integer Winograd F(2x2, 3x3).
 * The input is centered (d = x - zx; padding reads 0), V = B^T d B (|V| <= 4 * 255, i16), the
 * weights are transformed at compile time with the doubled matrix G2 = 2G, U' = G2 w' G2^T = 4U
 * (integers, |U'| <= 9 * 383, i16), M[t] = sum_c U'[t][m][c] V[t][c] (one i32x4.dot_i16x8_s GEMM per
 * t = 0..15) and Y = A^T M A = 4 * acc exactly, so acc = Y >> 2. The compiler only picks this path
 * when 4 * 255 * sum_t sum_c |U'[t][m][c]| < 2^31 for every m: then no intermediate wraps, and acc
 * equals the reference's int32 accumulator bit for bit. The output stage's offset is the bias
 * (zx is already subtracted).
 * Params: 0 x, 1 U (i32 [16][M4/4][C2][4] channel pairs, the conv GEMM layout per t), 2 y,
 * 3 scratch, 4..10 output stage, 11 N, 12 C, 13 H, 14 W, 15 OH, 16 OW, 17 ph, 18 pw, 19 zx,
 * 20 CR (tile rows per chunk).
 * Tiles: TH = ceil(OH/2) rows of TWp = ceil(ceil(OW/2) / 8) * 8 tiles; a chunk is CR tile rows,
 * TC = CR * TWp tiles, B8 = TC / 8 blocks. Scratch: V i16 pairs [16][B8][C2][8][2], then
 * M i32 [16][M][B8 * 8], then two centered i16 planes of (2 * CR + 2) x PWw (PWw = 2 * TWp + 8).
 */
export function qconv_wino_i8(p: usize): void {
  if (!ASC_FEATURE_SIMD) { qconvWinoScalar(p); return; } // scalar build (int8-scalar.ts)
  const x = pa(p, 0), U = pa(p, 1), y = pa(p, 2), scratch = pa(p, 3);
  const s = p + 16;
  const flags = sFlags(s), M = pi(p, 10);
  const N = pi(p, 11), C = pi(p, 12), H = pi(p, 13), W = pi(p, 14), OH = pi(p, 15), OW = pi(p, 16);
  const ph = pi(p, 17), pw = pi(p, 18), zx = pi(p, 19), CR = pi(p, 20);
  const xs = (flags & F_XS) != 0;
  const osz: i32 = (flags & F_Y32) ? 4 : 1;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1;
  const TWp = ((TW + 7) >> 3) << 3;
  const C2 = (C + 1) >> 1, M4 = (M + 3) & ~3;
  const PWw = 2 * TWp + 8;
  const B8max = (CR * TWp + 7) >> 3;
  const vT = <usize>(B8max * C2) << 5; // bytes of V per t
  const Vb = scratch;
  const Mb = scratch + (vT << 4);
  const TCp = B8max << 3;
  const mT = <usize>(M * TCp) << 2; // bytes of M per t
  const P0 = Mb + (mT << 4);
  const P1 = P0 + (<usize>((2 * CR + 2) * PWw) << 1);
  const uT = <usize>(M4 * C2) << 2; // bytes of U per t
  const HW = H * W;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * C * HW);
    const yn = y + <usize>(n * M * OH * OW * osz);
    for (let tr0 = 0; tr0 < TH; tr0 += CR) {
      const rows = min(CR, TH - tr0);
      const TC = rows * TWp;
      const B8 = (TC + 7) >> 3;
      // input transform, two channels and 8 tiles at a time from centered, zero-padded i16 planes
      const ih0 = 2 * tr0 - ph;
      const rowsP = 2 * rows + 2;
      for (let c0 = 0; c0 < C; c0 += 2) {
        winoPlane(xn + <usize>(c0 * HW), P0, ih0, rowsP, H, W, pw, PWw, zx, xs);
        if (c0 + 1 < C) winoPlane(xn + <usize>((c0 + 1) * HW), P1, ih0, rowsP, H, W, pw, PWw, zx, xs);
        else winoPlane(0, P1, ih0, rowsP, 0, 0, pw, PWw, zx, xs); // pad channel: zeros
        const j = c0 >> 1;
        for (let r = 0; r < rows; r++) {
          for (let tw0 = 0; tw0 < TWp; tw0 += 8) {
            const off = <usize>((2 * r * PWw + 2 * tw0) << 1);
            winoInput8(P0 + off, PWw, VT);
            winoInput8(P1 + off, PWw, VT + 256);
            const blk = (r * TWp + tw0) >> 3;
            const dst = Vb + (<usize>(blk * C2 + j) << 5);
            for (let t = 0; t < 16; t++) {
              const a = v128.load(VT + (<usize>t << 4)), b = v128.load(VT + 256 + (<usize>t << 4));
              const at = dst + <usize>t * vT;
              v128.store(at, v128.shuffle<i16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
              v128.store(at, v128.shuffle<i16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
            }
          }
        }
      }
      // 16 GEMMs: M[t][m][tile] = sum_c U'[t][m][c] V[t][c][tile]
      for (let t = 0; t < 16; t++) winoGemm(Vb + <usize>t * vT, U + <usize>t * uT, C2, M, B8, Mb + <usize>t * mT, TCp);
      // output transform + output stage, 4 tiles (8 output columns) at a time
      for (let m = 0; m < M; m++) {
        prepSlot(s, m, 0);
        const mm = Mb + (<usize>(m * TCp) << 2);
        const ym = yn + <usize>(m * OH * OW * osz);
        for (let r = 0; r < rows; r++) {
          const oh = 2 * (tr0 + r);
          for (let g = 0; g < TWp; g += 4) {
            const ncol = min(8, OW - 2 * g);
            if (ncol <= 0) break;
            const q = mm + (<usize>(r * TWp + g) << 2);
            const v0 = v128.load(q), v1 = v128.load(q + mT), v2 = v128.load(q + 2 * mT), v3 = v128.load(q + 3 * mT);
            const v4 = v128.load(q + 4 * mT), v5 = v128.load(q + 5 * mT), v6 = v128.load(q + 6 * mT), v7 = v128.load(q + 7 * mT);
            const v8 = v128.load(q + 8 * mT), v9 = v128.load(q + 9 * mT), v10 = v128.load(q + 10 * mT), v11 = v128.load(q + 11 * mT);
            const v12 = v128.load(q + 12 * mT), v13 = v128.load(q + 13 * mT), v14 = v128.load(q + 14 * mT), v15 = v128.load(q + 15 * mT);
            // A^T M: rows
            const s00 = i32x4.add(i32x4.add(v0, v4), v8), s01 = i32x4.add(i32x4.add(v1, v5), v9);
            const s02 = i32x4.add(i32x4.add(v2, v6), v10), s03 = i32x4.add(i32x4.add(v3, v7), v11);
            const s10 = i32x4.sub(i32x4.sub(v4, v8), v12), s11 = i32x4.sub(i32x4.sub(v5, v9), v13);
            const s12 = i32x4.sub(i32x4.sub(v6, v10), v14), s13 = i32x4.sub(i32x4.sub(v7, v11), v15);
            // (.) A: columns; Y = 4 * acc exactly
            const y00 = i32x4.shr_s(i32x4.add(i32x4.add(s00, s01), s02), 2);
            const y01 = i32x4.shr_s(i32x4.sub(i32x4.sub(s01, s02), s03), 2);
            const y10 = i32x4.shr_s(i32x4.add(i32x4.add(s10, s11), s12), 2);
            const y11 = i32x4.shr_s(i32x4.sub(i32x4.sub(s11, s12), s13), 2);
            const yo = ym + <usize>((oh * OW + 2 * g) * osz);
            epilogue8(0, v128.shuffle<i32>(y00, y01, 0, 4, 1, 5), v128.shuffle<i32>(y00, y01, 2, 6, 3, 7), yo, ncol);
            if (oh + 1 < OH) epilogue8(0, v128.shuffle<i32>(y10, y11, 0, 4, 1, 5), v128.shuffle<i32>(y10, y11, 2, 6, 3, 7), yo + <usize>(OW * osz), ncol);
          }
        }
      }
    }
  }
}

/** 16 i16x8 transformed tiles of the Winograd input transform (two channels), static scratch. */
const VT: usize = memory.data(512, 16);

/**
 * Centered, zero-padded i16 plane of input rows [ih0, ih0 + rowsP): plane column j holds
 * x[ih][j - pw] - zx, 0 outside the input (H = 0: all zeros).
 */
function winoPlane(xc: usize, P: usize, ih0: i32, rowsP: i32, H: i32, W: i32, pw: i32, PWw: i32, zx: i32, xs: bool): void {
  const z = i16x8.splat(0), zv = i16x8.splat(<i16>zx);
  for (let pr = 0; pr < rowsP; pr++) {
    const dst = P + (<usize>(pr * PWw) << 1);
    for (let i = 0; i < PWw; i += 8) v128.store(dst + (<usize>i << 1), z);
    const ih = ih0 + pr;
    if (ih < 0 || ih >= H) continue;
    const src = xc + <usize>(ih * W);
    // input columns iw with 0 <= pw + iw < PWw
    let iw = max(0, -pw);
    const iwEnd = min(W, PWw - pw);
    for (; iw + 8 <= iwEnd; iw += 8) {
      const v = xs ? v128.load8x8_s(src + <usize>iw) : v128.load8x8_u(src + <usize>iw);
      v128.store(dst + (<usize>(pw + iw) << 1), i16x8.sub(v, zv));
    }
    for (; iw < iwEnd; iw++) store<i16>(dst + (<usize>(pw + iw) << 1), <i16>((xs ? <i32>load<i8>(src + <usize>iw) : <i32>load<u8>(src + <usize>iw)) - zx));
  }
}

/**
 * V = B^T d B of 8 consecutive tiles of one tile row (i16x8 lanes = tiles): d[i][k] is plane row
 * i, column 2 * tile + k (even / odd lanes of two 8-column windows). Writes 16 vectors at out.
 */
@inline function winoInput8(P: usize, PWw: i32, out: usize): void {
  const rs = <usize>PWw << 1;
  let a = v128.load(P), b = v128.load(P, 16), a2 = v128.load(P, 4), b2 = v128.load(P, 20);
  const d00 = v128.shuffle<i16>(a, b, 0, 2, 4, 6, 8, 10, 12, 14), d01 = v128.shuffle<i16>(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  const d02 = v128.shuffle<i16>(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14), d03 = v128.shuffle<i16>(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
  a = v128.load(P + rs); b = v128.load(P + rs, 16); a2 = v128.load(P + rs, 4); b2 = v128.load(P + rs, 20);
  const d10 = v128.shuffle<i16>(a, b, 0, 2, 4, 6, 8, 10, 12, 14), d11 = v128.shuffle<i16>(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  const d12 = v128.shuffle<i16>(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14), d13 = v128.shuffle<i16>(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
  a = v128.load(P + 2 * rs); b = v128.load(P + 2 * rs, 16); a2 = v128.load(P + 2 * rs, 4); b2 = v128.load(P + 2 * rs, 20);
  const d20 = v128.shuffle<i16>(a, b, 0, 2, 4, 6, 8, 10, 12, 14), d21 = v128.shuffle<i16>(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  const d22 = v128.shuffle<i16>(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14), d23 = v128.shuffle<i16>(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
  a = v128.load(P + 3 * rs); b = v128.load(P + 3 * rs, 16); a2 = v128.load(P + 3 * rs, 4); b2 = v128.load(P + 3 * rs, 20);
  const d30 = v128.shuffle<i16>(a, b, 0, 2, 4, 6, 8, 10, 12, 14), d31 = v128.shuffle<i16>(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  const d32 = v128.shuffle<i16>(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14), d33 = v128.shuffle<i16>(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
  // B^T d (|.| <= 2 * 255), then (.) B (|V| <= 4 * 255): i16 never overflows
  const t00 = i16x8.sub(d00, d20), t01 = i16x8.sub(d01, d21), t02 = i16x8.sub(d02, d22), t03 = i16x8.sub(d03, d23);
  const t10 = i16x8.add(d10, d20), t11 = i16x8.add(d11, d21), t12 = i16x8.add(d12, d22), t13 = i16x8.add(d13, d23);
  const t20 = i16x8.sub(d20, d10), t21 = i16x8.sub(d21, d11), t22 = i16x8.sub(d22, d12), t23 = i16x8.sub(d23, d13);
  const t30 = i16x8.sub(d10, d30), t31 = i16x8.sub(d11, d31), t32 = i16x8.sub(d12, d32), t33 = i16x8.sub(d13, d33);
  v128.store(out, i16x8.sub(t00, t02)); v128.store(out, i16x8.add(t01, t02), 16);
  v128.store(out, i16x8.sub(t02, t01), 32); v128.store(out, i16x8.sub(t01, t03), 48);
  v128.store(out, i16x8.sub(t10, t12), 64); v128.store(out, i16x8.add(t11, t12), 80);
  v128.store(out, i16x8.sub(t12, t11), 96); v128.store(out, i16x8.sub(t11, t13), 112);
  v128.store(out, i16x8.sub(t20, t22), 128); v128.store(out, i16x8.add(t21, t22), 144);
  v128.store(out, i16x8.sub(t22, t21), 160); v128.store(out, i16x8.sub(t21, t23), 176);
  v128.store(out, i16x8.sub(t30, t32), 192); v128.store(out, i16x8.add(t31, t32), 208);
  v128.store(out, i16x8.sub(t32, t31), 224); v128.store(out, i16x8.sub(t31, t33), 240);
}

/** Raw GEMM of the Winograd path: out[m][tile] = sum_j dot(V pair, U' pair), i32, B8 blocks of 8 tiles. */
function winoGemm(packed: usize, w: usize, K2: i32, Mg: i32, B8: i32, out: usize, TCp: i32): void {
  const mb4 = (Mg + 3) >> 2;
  const wstep = <usize>K2 << 4;
  const row = <usize>TCp << 2;
  for (let mb = 0; mb < mb4; mb++) {
    const wb = w + <usize>mb * wstep;
    const o = out + <usize>(mb << 2) * row;
    for (let blk = 0; blk < B8; blk++) {
      let xp = packed + (<usize>(blk * K2) << 5);
      let wp = wb;
      let a0 = i32x4.splat(0), b0 = i32x4.splat(0), a1 = i32x4.splat(0), b1 = i32x4.splat(0);
      let a2 = i32x4.splat(0), b2 = i32x4.splat(0), a3 = i32x4.splat(0), b3 = i32x4.splat(0);
      for (let j = 0; j < K2; j++) {
        const x0 = v128.load(xp);
        const x1 = v128.load(xp, 16);
        const w0 = v128.load32_splat(wp);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, w0));
        b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x1, w0));
        const w1 = v128.load32_splat(wp, 4);
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x0, w1));
        b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x1, w1));
        const w2 = v128.load32_splat(wp, 8);
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x0, w2));
        b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x1, w2));
        const w3 = v128.load32_splat(wp, 12);
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x0, w3));
        b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x1, w3));
        xp += 32;
        wp += 16;
      }
      const ob = o + (<usize>(blk << 3) << 2);
      const r0 = mb << 2;
      v128.store(ob, a0); v128.store(ob, b0, 16);
      if (r0 + 1 < Mg) { v128.store(ob + row, a1); v128.store(ob + row, b1, 16); }
      if (r0 + 2 < Mg) { v128.store(ob + 2 * row, a2); v128.store(ob + 2 * row, b2, 16); }
      if (r0 + 3 < Mg) { v128.store(ob + 3 * row, a3); v128.store(ob + 3 * row, b3, 16); }
    }
  }
}
