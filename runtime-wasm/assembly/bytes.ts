/**
 * Data-movement kernels on 1-byte elements (int8 / uint8 tensors of quantized graphs): the 1-byte
 * twins of copy_strided / fill_f32 / gather_f32 / pad_f32 (eltwise.ts, nn.ts), with the same
 * parameter blocks except where noted. 4-byte elements (f32, i32) use the originals.
 */
import { pa, pi } from './common';
import { copyStridedElems, gatherElems, padElems } from './move';

/**
 * copy_strided_u8 params: 0 dst, 1 src, 2..7 dims (6), 8..13 src strides (elements, may be
 * negative or 0), 14..19 dst strides. Elements are 8-bit.
 */
export function copy_strided_u8(p: usize): void {
  copyStridedElems(p, 1);
}

/** fill_u8 params: 0 dst, 1 n, 2 value (low 8 bits). */
export function fill_u8(p: usize): void {
  memory.fill(pa(p, 0), <u8>pi(p, 2), <usize>pi(p, 1));
}

/**
 * gather_u8 params (as gather_f32, 1-byte elements): 0 x, 1 indices, 2 y, 3 outer, 4 axis length,
 * 5 index count, 6 inner, 7 index kind (0: i32, 1: i64). Negative indices count from the end;
 * out-of-range clamps.
 */
export function gather_u8(p: usize): void {
  gatherElems(p, 1);
}

/**
 * pad_u8 (reflect / edge / wrap on 1-byte elements) params: 0 x, 1 y, 2 mode (1 reflect, 2 edge,
 * 3 wrap), 3..8 out dims, 9..14 in dims, 15..20 begin pads.
 */
export function pad_u8(p: usize): void {
  padElems(p, 1);
}

/**
 * minmax_u8: elementwise Max / Min of two int8 or uint8 tensors with broadcasting (the Max/Min of
 * quantized graphs, whose inputs share the output's scale and zero point).
 * Params: 0 op (4 Max, 5 Min: BINARY codes), 1 a, 2 b, 3 y, 4..9 out dims (6), 10..15 a strides,
 * 16..21 b strides (elements; 0 on broadcast dims), 22 signed (1: int8, 0: uint8).
 */
export function minmax_u8(p: usize): void {
  const isMax = pi(p, 0) == 4, A = pa(p, 1), B = pa(p, 2), signed = pi(p, 22) != 0;
  let y = pa(p, 3);
  const d0 = pi(p, 4), d1 = pi(p, 5), d2 = pi(p, 6), d3 = pi(p, 7), d4 = pi(p, 8), d5 = pi(p, 9);
  const a0 = pi(p, 10), a1 = pi(p, 11), a2 = pi(p, 12), a3 = pi(p, 13), a4 = pi(p, 14), a5 = pi(p, 15);
  const b0 = pi(p, 16), b1 = pi(p, 17), b2 = pi(p, 18), b3 = pi(p, 19), b4 = pi(p, 20), b5 = pi(p, 21);
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const ar = A + <usize>(i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3 + i4 * a4);
      const br = B + <usize>(i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3 + i4 * b4);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        if (a5 == 1 && b5 == 1) {
          for (; i + 16 <= d5; i += 16) {
            const va = v128.load(ar + <usize>i), vb = v128.load(br + <usize>i);
            const r = signed ? (isMax ? i8x16.max_s(va, vb) : i8x16.min_s(va, vb)) : (isMax ? i8x16.max_u(va, vb) : i8x16.min_u(va, vb));
            v128.store(y + <usize>i, r);
          }
        }
      }
      for (; i < d5; i++) {
        const pa_ = ar + <usize>(i * a5), pb_ = br + <usize>(i * b5);
        const va = signed ? <i32>load<i8>(pa_) : <i32>load<u8>(pa_);
        const vb = signed ? <i32>load<i8>(pb_) : <i32>load<u8>(pb_);
        store<u8>(y + <usize>i, <u8>(isMax ? max(va, vb) : min(va, vb)));
      }
      y += <usize>d5;
    }
}
