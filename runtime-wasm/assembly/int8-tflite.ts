/**
 * Kernels of TFLite's integer arithmetic that have no counterpart in int8.ts (compiler/ops/qint.ts
 * is the specification; `rq_mode: 'tflite'` QConv / QGemm / QAvgPool run on int8.ts's kernels).
 * Scalar code: these ops are a small part of a model's work.
 */
import { pa, pf, pi } from './common';
import { F_BS, F_XS, F_YS, rqTflScalar } from './int8';

/**
 * qadd_tfl_i8: QAdd with rq_mode 'tflite' (TFLite's int8/uint8 ADD):
 * y = clamp(zy + T(T((a - za) << L, Ma, na) + T((b - zb) << L, Mb, nb), M, n)), T = MultiplyByQuantizedMultiplier.
 * y is contiguous; a and b are read through element strides over 6 (coalesced, left-padded) dims.
 * Params: 0 a, 1 b, 2 y, 3 flags (F_XS a is i8, F_BS b is i8, F_YS), 4 za, 5 zb, 6 Ma, 7 na, 8 Mb,
 * 9 nb, 10 M, 11 n, 12 L, 13 zy, 14 lo, 15 hi, 16..21 dims, 22..27 a strides, 28..33 b strides.
 */
export function qadd_tfl_i8(p: usize): void {
  const A = pa(p, 0), B = pa(p, 1), Y = pa(p, 2), flags = pi(p, 3);
  const za = pi(p, 4), zb = pi(p, 5), ma = pi(p, 6), na = pi(p, 7), mb = pi(p, 8), nb = pi(p, 9), m = pi(p, 10), n = pi(p, 11);
  const L = pi(p, 12), zy = pi(p, 13), lo = pi(p, 14), hi = pi(p, 15);
  const as = (flags & F_XS) != 0, bs = (flags & F_BS) != 0;
  void F_YS;
  const d0 = pi(p, 16), d1 = pi(p, 17), d2 = pi(p, 18), d3 = pi(p, 19), d4 = pi(p, 20), d5 = pi(p, 21);
  const sa5 = pi(p, 27), sb5 = pi(p, 33);
  let y = Y;
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const a = A + <usize>(i0 * pi(p, 22) + i1 * pi(p, 23) + i2 * pi(p, 24) + i3 * pi(p, 25) + i4 * pi(p, 26));
      const b = B + <usize>(i0 * pi(p, 28) + i1 * pi(p, 29) + i2 * pi(p, 30) + i3 * pi(p, 31) + i4 * pi(p, 32));
      for (let i = 0; i < d5; i++) {
        const av = (as ? <i32>load<i8>(a + <usize>(i * sa5)) : <i32>load<u8>(a + <usize>(i * sa5))) - za;
        const bv = (bs ? <i32>load<i8>(b + <usize>(i * sb5)) : <i32>load<u8>(b + <usize>(i * sb5))) - zb;
        const s = rqTflScalar(av << L, ma, na, 0, i32.MIN_VALUE, i32.MAX_VALUE) + rqTflScalar(bv << L, mb, nb, 0, i32.MIN_VALUE, i32.MAX_VALUE);
        store<u8>(y + <usize>i, <u8>rqTflScalar(s, m, n, zy, lo, hi));
      }
      y += <usize>d5;
    }
}

/**
 * qsoftmax_i8: edgec.QSoftmax (TFLite's int8/uint8 SOFTMAX) over rows of L values, all in f32:
 * e_j = table[255 - max + x_j], s = sum e_j in order, inv = 1 / (s * y_scale),
 * y_j = clamp(round_half_away(e_j * inv) + zy) (uint8 output: trunc(e_j * inv + 0.5)).
 * Params: 0 x, 1 y, 2 table (f32 [256]), 3 rows, 4 L, 5 flags (F_XS, F_YS), 6 y_scale (f32 bits), 7 zy.
 */
export function qsoftmax_i8(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), T = pa(p, 2), rows = pi(p, 3), L = pi(p, 4), flags = pi(p, 5);
  const ys = pf(p, 6), zy = pi(p, 7);
  const xs = (flags & F_XS) != 0, so = (flags & F_YS) != 0;
  const lo = so ? -128 : 0, hi = so ? 127 : 255;
  for (let r = 0; r < rows; r++) {
    const x = X + <usize>(r * L), y = Y + <usize>(r * L);
    let mx: i32 = -1000;
    for (let j = 0; j < L; j++) mx = max(mx, xs ? <i32>load<i8>(x + <usize>j) : <i32>load<u8>(x + <usize>j));
    const t = T + (<usize>(255 - mx) << 2);
    let sum: f32 = 0;
    for (let j = 0; j < L; j++) sum += load<f32>(t + (<usize>(xs ? <i32>load<i8>(x + <usize>j) : <i32>load<u8>(x + <usize>j)) << 2));
    const inv: f32 = <f32>1 / (sum * ys);
    for (let j = 0; j < L; j++) {
      const pr: f32 = load<f32>(t + (<usize>(xs ? <i32>load<i8>(x + <usize>j) : <i32>load<u8>(x + <usize>j)) << 2)) * inv;
      const q: i32 = so ? <i32>Math.floor(<f64>pr + 0.5) + zy : <i32>(pr + <f32>0.5);
      store<u8>(y + <usize>j, <u8>(q < lo ? lo : q > hi ? hi : q));
    }
  }
}

/**
 * quantize_tfl_f32: edgec.TflQuantize (TFLite's float QUANTIZE): q = x / s (f32);
 * y = clamp(round_half_away(q) + zy) to [lo, hi]; NaN -> zy.
 * Params: 0 x (f32), 1 y (i8/u8), 2 count, 3 s (f32), 4 zy, 5 y signed.
 */
export function quantize_tfl_f32(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), n = pi(p, 2), s = pf(p, 3), zy = pi(p, 4), ys = pi(p, 5) != 0;
  const lo: i32 = ys ? -128 : 0, hi: i32 = ys ? 127 : 255;
  const flo = <f32>(lo - zy), fhi = <f32>(hi - zy);
  for (let i = 0; i < n; i++) {
    const q: f32 = load<f32>(X + (<usize>i << 2)) / s;
    let v: i32;
    if (q != q) v = zy;
    else {
      let r: f32 = Mathf.trunc(q);
      if (Mathf.abs(q - r) >= <f32>0.5) r += q < 0 ? <f32>-1 : <f32>1; // q - r is exact
      v = r <= flo ? lo : r >= fhi ? hi : <i32>r + zy;
    }
    store<u8>(Y + <usize>i, <u8>v);
  }
}

/**
 * qmul_tfl_i8: QMul with rq_mode 'tflite' (TFLite's int8/uint8 MUL):
 * y = clamp(zy + T((a - za) * (b - zb), M, n)), T = MultiplyByQuantizedMultiplier.
 * y is contiguous; a and b are read through element strides over 6 (coalesced, left-padded) dims.
 * Params: 0 a, 1 b, 2 y, 3 flags (F_XS a is i8, F_BS b is i8), 4 za, 5 zb, 6 M, 7 n, 8 zy, 9 lo,
 * 10 hi, 11..16 dims, 17..22 a strides, 23..28 b strides.
 */
export function qmul_tfl_i8(p: usize): void {
  const A = pa(p, 0), B = pa(p, 1), Y = pa(p, 2), flags = pi(p, 3);
  const za = pi(p, 4), zb = pi(p, 5), m = pi(p, 6), n = pi(p, 7), zy = pi(p, 8), lo = pi(p, 9), hi = pi(p, 10);
  const as = (flags & F_XS) != 0, bs = (flags & F_BS) != 0;
  const d0 = pi(p, 11), d1 = pi(p, 12), d2 = pi(p, 13), d3 = pi(p, 14), d4 = pi(p, 15), d5 = pi(p, 16);
  const sa5 = pi(p, 22), sb5 = pi(p, 28);
  let y = Y;
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const a = A + <usize>(i0 * pi(p, 17) + i1 * pi(p, 18) + i2 * pi(p, 19) + i3 * pi(p, 20) + i4 * pi(p, 21));
      const b = B + <usize>(i0 * pi(p, 23) + i1 * pi(p, 24) + i2 * pi(p, 25) + i3 * pi(p, 26) + i4 * pi(p, 27));
      for (let i = 0; i < d5; i++) {
        const av = (as ? <i32>load<i8>(a + <usize>(i * sa5)) : <i32>load<u8>(a + <usize>(i * sa5))) - za;
        const bv = (bs ? <i32>load<i8>(b + <usize>(i * sb5)) : <i32>load<u8>(b + <usize>(i * sb5))) - zb;
        store<u8>(y + <usize>i, <u8>rqTflScalar(av * bv, m, n, zy, lo, hi));
      }
      y += <usize>d5;
    }
}

/**
 * lut_u8: edgec.QLut (TFLite's int8 / uint8 LOGISTIC and TANH tables): y = table[byte(x)].
 * Params: 0 x (8-bit), 1 y (8-bit), 2 table (256 bytes), 3 count.
 */
export function lut_u8(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), T = pa(p, 2), n = pi(p, 3);
  for (let i = 0; i < n; i++) store<u8>(Y + <usize>i, load<u8>(T + <usize>load<u8>(X + <usize>i)));
}
