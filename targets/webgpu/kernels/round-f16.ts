/**
 * round_f16_f32: y = f16(x) as f32 (edgec.RoundF16, --fp16 on f32 hardware), one thread per
 * element. Integer bit manipulation only, so the result is exact whatever the GPU's float rounding
 * and denormal flushing (WGSL quantizeToF16 leaves out-of-range values indeterminate): round half
 * to even, |x| >= 65520 -> +-inf, f16 subnormals kept, +-0 and inf kept, NaN -> NaN.
 */
import { ShaderBuilder, WgslFn } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface RoundF16Params extends BaseParams {
  n: number;
}

/** Round an f32 to the nearest f16 value (kept as f32). */
export const ROUND_F16: WgslFn = {
  name: 'round_f16',
  code: `fn round_f16(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  let a = b & 0x7fffffffu;
  var r = 0u;
  if (a > 0x7f800000u) {
    r = a | 0x00400000u;
  } else if (a >= 0x38800000u) {
    // normal f16 range: drop 13 mantissa bits, round half to even; 65520 and up overflow to inf
    r = (a + 0x0fffu + ((a >> 13u) & 1u)) & 0xffffe000u;
    if (r >= 0x47800000u) {
      r = 0x7f800000u;
    }
  } else {
    // subnormal f16 range: q = round_half_even(|v| / 2^-24), an integer <= 1024
    let sh = 126u - (a >> 23u);
    if (sh < 25u) {
      let m = (a & 0x7fffffu) | 0x800000u;
      let q = (m + (1u << (sh - 1u)) - 1u + ((m >> sh) & 1u)) >> sh;
      r = bitcast<u32>(f32(q) * 5.9604644775390625e-8);
    }
  }
  return bitcast<f32>(r | (b & 0x80000000u));
}`,
};

export const roundF16F32: KernelGen<RoundF16Params> = {
  id: 'round_f16_f32',
  gen(p) {
    const sb = new ShaderBuilder(this.id);
    const x = sb.tensor('x', [p.n], bufOf(p, 'x'));
    const y = sb.tensor('y', [p.n]);
    return sb.linear(p.n, [y.store('gi', `${sb.fn(ROUND_F16)}(${x.at('gi')})`)]);
  },
};
