/**
 * ConvTranspose (1-D / 2-D, f32) as GEMM + col2im, and Einsum as a generic loop. ConvTranspose: the lowering computes the columns
 * cols[n, m, kh, kw, ih, iw] = sum_c W[c, m, kh, kw] * X[n, c, ih, iw] per group with gemm_f32, and
 * convt_col2im_f32 folds them into the output.
 */
import { pa, pi } from './common';

/**
 * convt_col2im_f32 params: 0 cols [N, M, KH, KW, IH, IW], 1 y [N, M, OH, OW], 2 bias [M] (0: none),
 * 3 N, 4 M, 5 KH, 6 KW, 7 IH, 8 IW, 9 OH, 10 OW, 11 sh, 12 sw, 13 dh, 14 dw, 15 ph (begin pad),
 * 16 pw. y[n, m, oh, ow] = bias[m] + sum of cols[n, m, kh, kw, ih, iw] over the taps with
 * oh = ih * sh - ph + kh * dh and ow = iw * sw - pw + kw * dw.
 */
export function convt_col2im_f32(p: usize): void {
  const cols = pa(p, 0), y = pa(p, 1), bias = pa(p, 2), N = pi(p, 3), M = pi(p, 4), KH = pi(p, 5), KW = pi(p, 6);
  const IH = pi(p, 7), IW = pi(p, 8), OH = pi(p, 9), OW = pi(p, 10), sh = pi(p, 11), sw = pi(p, 12);
  const dh = pi(p, 13), dw = pi(p, 14), ph = pi(p, 15), pw = pi(p, 16);
  const plane = IH * IW;
  let o = y;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>m << 2)) : 0;
      const cm = cols + (<usize>((n * M + m) * KH * KW * plane) << 2);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s: f32 = 0;
          for (let kh = 0; kh < KH; kh++) {
            const th = oh + ph - kh * dh;
            if (th < 0 || th % sh != 0) continue;
            const ih = th / sh;
            if (ih >= IH) continue;
            for (let kw = 0; kw < KW; kw++) {
              const tw = ow + pw - kw * dw;
              if (tw < 0 || tw % sw != 0) continue;
              const iw = tw / sw;
              if (iw >= IW) continue;
              s += load<f32>(cm + (<usize>((kh * KW + kw) * plane + ih * IW + iw) << 2));
            }
          }
          store<f32>(o, s + b);
          o += 4;
        }
      }
    }
  }
}

/** Offset of flat index `i` over 6 dims (words d..d+5 of p) with strides (words s..s+5), elements. */
@inline function flatOffset(p: usize, i: i32, d: i32, s: i32): i32 {
  let off = 0;
  for (let k = 5; k >= 0; k--) {
    const n = pi(p, d + k);
    off += (i % n) * pi(p, s + k);
    i /= n;
  }
  return off;
}

/**
 * einsum_f32 (one or two operands, f32 or f64, f64 accumulation) params: 0 A, 1 B (0: one operand), 2 y,
 * 3..8 output label sizes (6), 9..14 A strides of the output labels, 15..20 B strides, 21..26
 * summed label sizes, 27..32 A strides of the summed labels, 33..38 B strides, 39 output size,
 * 40 summed count, 41 element type (0 f32, 1 f64). y[o] = sum over s of A[o, s] * B[o, s] (strides 0 where a label is absent;
 * a label repeated in an operand has the sum of its strides: the diagonal).
 */
export function einsum_f32(p: usize): void {
  const A = pa(p, 0), B = pa(p, 1), y = pa(p, 2), O = pi(p, 39), S = pi(p, 40), f64s = pi(p, 41) != 0;
  for (let o = 0; o < O; o++) {
    const ao = flatOffset(p, o, 3, 9), bo = flatOffset(p, o, 3, 15);
    let acc: f64 = 0;
    for (let s = 0; s < S; s++) {
      const ia = ao + flatOffset(p, s, 21, 27);
      let v = f64s ? load<f64>(A + (<usize>ia << 3)) : <f64>load<f32>(A + (<usize>ia << 2));
      if (B != 0) {
        const ib = bo + flatOffset(p, s, 21, 33);
        v *= f64s ? load<f64>(B + (<usize>ib << 3)) : <f64>load<f32>(B + (<usize>ib << 2));
      }
      acc += v;
    }
    if (f64s) store<f64>(y + (<usize>o << 3), acc);
    else store<f32>(y + (<usize>o << 2), <f32>acc);
  }
}
