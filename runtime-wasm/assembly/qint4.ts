/**
 * Integer kernels on runtime operands (targets/wasm/ops/qint.ts lowers to them): the ONNX integer
 * ops whose weights, zero points and scales may all be graph inputs (MatMulInteger, QLinearMatMul,
 * ConvInteger, QLinearConv, DynamicQuantizeLinear) and the 4-bit wrap of i4/u4 values. Scalar
 * loops with the reference's exact arithmetic (compiler/ops/matmul.ts, conv.ts, quant.ts):
 * - accumulators are int32 sums of (x - zx) * (w - zw), wrapping modulo 2^32 (the spec's int32
 *   accumulator; the 8-bit operands keep every realistic K exact);
 * - QLinear requantization: y = clamp(roundHalfEven(f64(acc) * mult) + zy, lo, hi), the multiplier
 *   precomputed by the lowering in the scales' precision (f32/f16) and widened to f64;
 * - 4-bit values live unpacked, one byte per element (i4 sign-extended like i8, u4 like u8).
 * Same ABI as the other kernels: one argument, the address of a block of 32-bit parameter words.
 */
import { pa, pi } from './common';

/** Flag bits: x/a signed (i8), w/b signed, raw int32 output, 8-bit output signed. */
const Q_XS: i32 = 1;
const Q_WS: i32 = 2;
const Q_Y32: i32 = 4;
const Q_YS: i32 = 8;

@inline function ld8(a: usize, signed: bool): i32 {
  return signed ? <i32>load<i8>(a) : <i32>load<u8>(a);
}

/** Stores the requantized accumulator (or the raw one) at element e of y. */
@inline function storeOut(Y: usize, e: i32, acc: i32, flags: i32, mult: f64, zy: i32): void {
  if ((flags & Q_Y32) != 0) {
    store<i32>(Y + (<usize>e << 2), acc);
    return;
  }
  const lo: f64 = (flags & Q_YS) != 0 ? -128 : 0;
  const hi: f64 = (flags & Q_YS) != 0 ? 127 : 255;
  let q = nearest<f64>(<f64>acc * mult) + <f64>zy;
  if (q != q) q = 0;
  q = q < lo ? lo : q > hi ? hi : q;
  store<u8>(Y + <usize>e, <u8><i32>q);
}

/**
 * wrap4: brings bytes holding integers into the 4-bit range as a 4-bit store wraps them:
 * u4: v & 15; i4: ((v & 15) ^ 8) - 8, in place or not.
 * Params: 0 x (1-byte elements), 1 y, 2 n, 3 signed.
 */
export function wrap4(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), n = pi(p, 2), signed = pi(p, 3) != 0;
  for (let i = 0; i < n; i++) {
    const v = <i32>load<u8>(X + <usize>i) & 15;
    store<u8>(Y + <usize>i, <u8>(signed ? (v ^ 8) - 8 : v));
  }
}

/**
 * qmatmul_rt: batched Y[b] = (A[b] - za) @ (B[b] - zb) over 8-bit runtime operands, raw int32 or
 * requantized to 8 bits.
 * Params: 0 a, 1 b, 2 y, 3 flags, 4 M, 5 K, 6 N, 7 batches, 8 offsets (i32 pairs per batch: element
 * offsets of A[b] and B[b]), 9 za (i32), 10 za row step (0: scalar, 1: per row of A), 11 zb (i32),
 * 12 zb column step (0/1), 13 mult (f64 [M * N]; 0 for raw output), 14 zy (i32 [M * N]).
 * Y is contiguous [batches][M][N].
 */
export function qmatmul_rt(p: usize): void {
  const A = pa(p, 0), B = pa(p, 1), Y = pa(p, 2), flags = pi(p, 3);
  const M = pi(p, 4), K = pi(p, 5), N = pi(p, 6), batches = pi(p, 7), offs = pa(p, 8);
  const ZA = pa(p, 9), zaStep = pi(p, 10), ZB = pa(p, 11), zbStep = pi(p, 12), MU = pa(p, 13), ZY = pa(p, 14);
  const as = (flags & Q_XS) != 0, bs = (flags & Q_WS) != 0, raw = (flags & Q_Y32) != 0;
  for (let t = 0; t < batches; t++) {
    const ab = A + <usize>load<i32>(offs + (<usize>t << 3));
    const bb = B + <usize>load<i32>(offs + (<usize>t << 3) + 4);
    for (let i = 0; i < M; i++) {
      const za = load<i32>(ZA + (<usize>(i * zaStep) << 2));
      const ar = ab + <usize>(i * K);
      for (let j = 0; j < N; j++) {
        const zb = load<i32>(ZB + (<usize>(j * zbStep) << 2));
        let acc: i32 = 0;
        for (let k = 0; k < K; k++) acc += (ld8(ar + <usize>k, as) - za) * (ld8(bb + <usize>(k * N + j), bs) - zb);
        const e = i * N + j;
        storeOut(Y, (t * M + i) * N + j, acc, flags, raw ? 0 : load<f64>(MU + (<usize>e << 3)), raw ? 0 : load<i32>(ZY + (<usize>e << 2)));
      }
    }
  }
}

/**
 * qconv_rt: grouped 1..3-D convolution over 8-bit runtime operands (NC[D]HW, OIHW weights),
 * Y = conv(X - zx, W - zw[m]) + bias[m], raw int32 or requantized to 8 bits with mult[m] and zy.
 * Padding contributes 0 (it reads zx). Params: 0 x, 1 w, 2 y, 3 flags, 4 N, 5 C, 6 M, 7 G,
 * 8..10 input D H W, 11..13 output D H W, 14..16 kernel, 17..19 strides, 20..22 dilations,
 * 23..25 leading pads, 26 zx (i32 [1]), 27 zw (i32), 28 zw step (0: one, 1: per output channel),
 * 29 bias (i32 [M]; 0: none), 30 mult (f64 [M]; 0 for raw output), 31 zy (i32 [1]).
 */
export function qconv_rt(p: usize): void {
  const X = pa(p, 0), W = pa(p, 1), Y = pa(p, 2), flags = pi(p, 3);
  const N = pi(p, 4), C = pi(p, 5), M = pi(p, 6), G = pi(p, 7);
  const ID = pi(p, 8), IH = pi(p, 9), IW = pi(p, 10), OD = pi(p, 11), OH = pi(p, 12), OW = pi(p, 13);
  const KD = pi(p, 14), KH = pi(p, 15), KW = pi(p, 16), SD = pi(p, 17), SH = pi(p, 18), SW = pi(p, 19);
  const DD = pi(p, 20), DH = pi(p, 21), DW = pi(p, 22), PD = pi(p, 23), PH = pi(p, 24), PW = pi(p, 25);
  const zx = load<i32>(pa(p, 26)), ZW = pa(p, 27), zwStep = pi(p, 28), BIAS = pa(p, 29), MU = pa(p, 30);
  const raw = (flags & Q_Y32) != 0;
  const zy = raw ? 0 : load<i32>(pa(p, 31));
  const xs = (flags & Q_XS) != 0, ws = (flags & Q_WS) != 0;
  const Cg = C / G, Mg = M / G;
  const plane = ID * IH * IW, kvol = KD * KH * KW, oplane = OD * OH * OW;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = m / Mg;
      const zw = load<i32>(ZW + (<usize>(m * zwStep) << 2));
      const b: i32 = BIAS != 0 ? load<i32>(BIAS + (<usize>m << 2)) : 0;
      const mult: f64 = raw ? 0 : load<f64>(MU + (<usize>m << 3));
      const wm = W + <usize>(m * Cg * kvol);
      for (let od = 0; od < OD; od++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            let acc: i32 = b;
            for (let c = 0; c < Cg; c++) {
              const xc = X + <usize>((n * C + g * Cg + c) * plane);
              const wc = wm + <usize>(c * kvol);
              for (let kd = 0; kd < KD; kd++) {
                const id = od * SD - PD + kd * DD;
                if (id < 0 || id >= ID) continue;
                for (let kh = 0; kh < KH; kh++) {
                  const ih = oh * SH - PH + kh * DH;
                  if (ih < 0 || ih >= IH) continue;
                  for (let kw = 0; kw < KW; kw++) {
                    const iw = ow * SW - PW + kw * DW;
                    if (iw < 0 || iw >= IW) continue;
                    const xv = ld8(xc + <usize>((id * IH + ih) * IW + iw), xs) - zx;
                    const wv = ld8(wc + <usize>((kd * KH + kh) * KW + kw), ws) - zw;
                    acc += xv * wv;
                  }
                }
              }
            }
            storeOut(Y, (n * M + m) * oplane + (od * OH + oh) * OW + ow, acc, flags, mult, zy);
          }
        }
      }
    }
  }
}

/**
 * dynquant_u8: ONNX DynamicQuantizeLinear in f32 arithmetic: scale = (max(0, max x) - min(0, min x))
 * / 255 (1 / 255 when the range is 0), zp = saturate(round(0 - min / scale)), y = saturate(round(x /
 * scale) + zp), rounding half to even, NaN -> 0 (NaN inputs are skipped by the min / max).
 * Params: 0 x (f32 [n]), 1 y (u8 [n]), 2 scale (f32 [1]), 3 zp (u8 [1]), 4 n.
 */
export function dynquant_u8(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), S = pa(p, 2), Z = pa(p, 3), n = pi(p, 4);
  let mx: f32 = 0, mn: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(X + (<usize>i << 2));
    if (v > mx) mx = v;
    if (v < mn) mn = v;
  }
  const scale: f32 = (mx == mn ? <f32>1 : mx - mn) / <f32>255;
  let zpf: f32 = <f32>0 - mn / scale;
  zpf = zpf < 0 ? 0 : zpf > 255 ? 255 : zpf;
  const zp = <i32>nearest<f32>(zpf);
  store<f32>(S, scale);
  store<u8>(Z, <u8>zp);
  for (let i = 0; i < n; i++) {
    const r = nearest<f32>(load<f32>(X + (<usize>i << 2)) / scale);
    let q: i32 = 0;
    if (r == r) {
      const v = r + <f32>zp;
      q = v < 0 ? 0 : v > 255 ? 255 : <i32>v;
    }
    store<u8>(Y + <usize>i, <u8>q);
  }
}

/**
 * softmax_f64: Softmax / LogSoftmax of f64 values along the middle axis of [outer][L][inner], in f64
 * like the reference: m = max, y = exp(x - m) / sum exp(x - m) (log: x - m - log(sum)).
 * Params: 0 x, 1 y, 2 outer, 3 L, 4 inner, 5 log (1: LogSoftmax).
 */
export function softmax_f64(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), outer = pi(p, 2), L = pi(p, 3), inner = pi(p, 4), lg = pi(p, 5) != 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * L * inner + j;
      let m = -Infinity;
      for (let k = 0; k < L; k++) {
        const v = load<f64>(X + (<usize>(base + k * inner) << 3));
        if (v > m || v != v) m = v;
      }
      let s: f64 = 0;
      for (let k = 0; k < L; k++) s += Math.exp(load<f64>(X + (<usize>(base + k * inner) << 3)) - m);
      for (let k = 0; k < L; k++) {
        const a = X + (<usize>(base + k * inner) << 3);
        const d = load<f64>(a) - m;
        store<f64>(Y + (<usize>(base + k * inner) << 3), lg ? d - Math.log(s) : Math.exp(d) / s);
      }
    }
  }
}
