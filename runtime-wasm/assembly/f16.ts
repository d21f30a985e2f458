/**
 * Half-precision kernels: the --fp16 rounding of f32 values to the f16 grid, and the expansion of
 * weights stored compressed in model.wasm (f16 halves, packed int4 blocks) to f32 at instantiation
 * (targets/common/compress.ts describes the storage formats). All three are exact.
 */
import { pa, pi } from './common';

/** Rounds the f32 bit pattern `b` to the nearest f16 value (as f32 bits), scalar form of the SIMD loop. */
@inline function roundBits(b: u32): u32 {
  const a = b & 0x7fffffff;
  const sign = b & 0x80000000;
  let r: u32;
  if (a > 0x7f800000) r = a | 0x00400000; // NaN stays (quiet) NaN
  else if (a >= 0x38800000) {
    // normal f16 range: drop 13 mantissa bits, round half to even; 65520 and up overflow to inf
    r = (a + 0x0fff + ((a >> 13) & 1)) & 0xffffe000;
    if (r >= 0x47800000) r = 0x7f800000;
  } else {
    // subnormal f16 range: multiples of 2^-24; adding 0.5 puts 2^-24 at the f32 ulp (round half to even)
    r = reinterpret<u32>((reinterpret<f32>(a) + 0.5) - 0.5);
  }
  return r | sign;
}

/**
 * round_f16_f32 params: 0 src (f32), 1 dst (f32), 2 n. dst[i] = f16(src[i]) as f32: round half to
 * even, |x| >= 65520 -> +-inf, f16 subnormals kept, +-0/inf kept, NaN -> NaN. May run in place.
 */
export function round_f16_f32(p: usize): void {
  const src = pa(p, 0), dst = pa(p, 1), n = pi(p, 2);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const absMask = i32x4.splat(0x7fffffff);
    const signMask = i32x4.splat(0x80000000);
    const inf = i32x4.splat(0x7f800000);
    const minNormal = i32x4.splat(0x387fffff);
    const half = f32x4.splat(0.5);
    const one = i32x4.splat(1);
    const bias = i32x4.splat(0x0fff);
    const keep = i32x4.splat(0xffffe000);
    const overflow = i32x4.splat(0x477fffff);
    const quiet = i32x4.splat(0x00400000);
    for (; i + 4 <= n; i += 4) {
      const b = v128.load(src + (<usize>i << 2));
      const a = v128.and(b, absMask);
      let r = v128.and(i32x4.add(i32x4.add(a, bias), v128.and(i32x4.shr_u(a, 13), one)), keep);
      r = v128.bitselect(inf, r, i32x4.gt_u(r, overflow));
      const sub = f32x4.sub(f32x4.add(a, half), half);
      r = v128.bitselect(r, sub, i32x4.gt_u(a, minNormal));
      r = v128.bitselect(v128.or(a, quiet), r, i32x4.gt_u(a, inf));
      v128.store(dst + (<usize>i << 2), v128.or(r, v128.and(b, signMask)));
    }
  }
  for (; i < n; i++) store<u32>(dst + (<usize>i << 2), roundBits(load<u32>(src + (<usize>i << 2))));
}

/**
 * f16_to_f32 params: 0 src (u16 binary16), 1 dst (f32), 2 n. Exact: subnormals through a multiply
 * by 2^112 of the shifted bits, inf/NaN by forcing the f32 exponent to all ones.
 */
export function f16_to_f32(p: usize): void {
  const src = pa(p, 0), dst = pa(p, 1), n = pi(p, 2);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const low15 = i32x4.splat(0x7fff);
    const infH = i32x4.splat(0x7bff);
    const expAll = i32x4.splat(0x7f800000);
    const scale = f32x4.splat(reinterpret<f32>(<u32>0x77800000)); // 2^112
    for (; i + 4 <= n; i += 4) {
      const h = v128.load_ext<u16>(src + (<usize>i << 1));
      const em = v128.and(h, low15);
      const bits = i32x4.shl(em, 13);
      const fin = f32x4.mul(bits, scale);
      const r = v128.bitselect(v128.or(bits, expAll), fin, i32x4.gt_u(em, infH));
      v128.store(dst + (<usize>i << 2), v128.or(r, i32x4.shl(v128.andnot(h, low15), 16)));
    }
  }
  for (; i < n; i++) {
    const h = <u32>load<u16>(src + (<usize>i << 1));
    const em = h & 0x7fff;
    const bits = em << 13;
    const r = em > 0x7bff ? bits | 0x7f800000 : reinterpret<u32>(reinterpret<f32>(bits) * reinterpret<f32>(<u32>0x77800000));
    store<u32>(dst + (<usize>i << 2), r | ((h & 0x8000) << 16));
  }
}

/**
 * int4_dequant_f32 params: 0 q (packed signed nibbles, element 2i low), 1 scales (f32), 2 dst (f32),
 * 3 outer, 4 D, 5 inner, 6 block. Over [outer, D, inner]: dst = f32(q * scale[(o * ceil(D/block) +
 * d / block) * inner + i]) -- the reference DequantizeLinear of a blocked int4 constant, bit for bit.
 */
export function int4_dequant_f32(p: usize): void {
  const q = pa(p, 0), sc = pa(p, 1), dst = pa(p, 2);
  const outer = pi(p, 3), D = pi(p, 4), inner = pi(p, 5), block = pi(p, 6);
  const nb = (D + block - 1) / block;
  let e: i32 = 0;
  for (let o = 0; o < outer; o++) {
    for (let d = 0; d < D; d++) {
      const srow = sc + (<usize>((o * nb + d / block) * inner) << 2);
      for (let k = 0; k < inner; k++, e++) {
        const byte = <i32>load<u8>(q + (<usize>e >> 1));
        const nib = (e & 1) != 0 ? byte >> 4 : byte & 15;
        const v = (nib << 28) >> 28;
        store<f32>(dst + (<usize>e << 2), <f32>v * load<f32>(srow + (<usize>k << 2)));
      }
    }
  }
}

/**
 * int8_dequant_f32 params: 0 q (signed bytes), 1 scales (f32), 2 dst (f32), 3 outer, 4 D, 5 inner,
 * 6 block. Over [outer, D, inner]: dst = f32(q * scale[(o * ceil(D/block) + d / block) * inner + i])
 * -- the reference DequantizeLinear of an int8 constant (zero point 0), bit for bit (the product of
 * an 8-bit integer and an f32 is exact before its one rounding).
 */
export function int8_dequant_f32(p: usize): void {
  const q = pa(p, 0), sc = pa(p, 1), dst = pa(p, 2);
  const outer = pi(p, 3), D = pi(p, 4), inner = pi(p, 5), block = pi(p, 6);
  const nb = (D + block - 1) / block;
  let e: i32 = 0;
  for (let o = 0; o < outer; o++) {
    for (let d = 0; d < D; d++) {
      const srow = sc + (<usize>((o * nb + d / block) * inner) << 2);
      for (let k = 0; k < inner; k++, e++) {
        const v = <i32>load<i8>(q + <usize>e);
        store<f32>(dst + (<usize>e << 2), <f32>v * load<f32>(srow + (<usize>k << 2)));
      }
    }
  }
}
