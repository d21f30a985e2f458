/**
 * The int8 kernels of the scalar kernel library (kernels-scalar.wasm, built without wasm SIMD:
 * `--wasm-simd off`): int8.ts's SIMD kernels start with `if (!ASC_FEATURE_SIMD)` and call these
 * instead. Same parameter blocks and packed weight layouts (documented at each kernel in int8.ts),
 * read one element at a time. Every accumulator is the spec's exact int32 sum (wrapping), and the
 * output stage is int8.ts's stageScalar / rqScalar (the reference's outStage), so the results are
 * bit-identical to the SIMD kernels and to compiler/ops/qint.ts.
 */
import { pa, pi } from './common';
import { F_BS, F_W8, F_XS, F_Y32, L_XNHWC, L_YNHWC, qbinScalar, rqScalar, sFlags, stageScalar } from './int8';

/** Signed 16-bit half `h` (0: low, 1: high) of the i32 at a. */
@inline function half16(a: usize, h: i32): i32 {
  const w = load<i32>(a);
  return h == 0 ? <i32><i16>w : w >> 16;
}

/** One activation byte (signed or unsigned) as i32. */
@inline function byteAt(a: usize, signed: bool): i32 {
  return signed ? <i32>load<i8>(a) : <i32>load<u8>(a);
}

/** Accumulators of one output row chunk (kernels run one at a time); the SIMD build reserves none. */
const ACC_N: i32 = 256;
const ACC: usize = ASC_FEATURE_SIMD ? 0 : memory.data(ACC_N * 4, 16);

/**
 * qconv_i8, every path: direct convolution with the packed weights (paths 0/1: i32
 * [G][Mg4/4][K2][4] pairs over k = (c*KH + kh)*KW + kw; path 2: i32 [C][KH2][KW] kernel-row pairs),
 * padding reading zx, then the output stage; x and y channels-last per the layout bits. One output
 * row (in chunks of ACC_N columns) at a time: each tap's weight is read once and swept along the
 * row. int32 sums wrap, so the order of the terms does not change the result.
 */
export function qconvScalar(p: usize): void {
  const x = pa(p, 0), wpack = pa(p, 1), y = pa(p, 2);
  const s = p + 16;
  const flags = sFlags(s), M = pi(p, 10);
  const N = pi(p, 11), C = pi(p, 12), H = pi(p, 13), W = pi(p, 14), OH = pi(p, 15), OW = pi(p, 16);
  const KH = pi(p, 17), KW = pi(p, 18), sh = pi(p, 19), sw = pi(p, 20), dh = pi(p, 21), dw = pi(p, 22);
  const ph = pi(p, 23), pw = pi(p, 24), G = pi(p, 25), path = pi(p, 26), zx = pi(p, 27), layout = pi(p, 28);
  const xs = (flags & F_XS) != 0;
  const osz: i32 = (flags & F_Y32) ? 4 : 1;
  const xNhwc = path == 1 && (layout & L_XNHWC) != 0, yNhwc = path != 2 && (layout & L_YNHWC) != 0;
  const Cg = C / G, Mg = M / G;
  const K2 = (Cg * KH * KW + 1) >> 1, Mg4 = (Mg + 3) & ~3, KH2 = (KH + 1) >> 1;
  const HW = H * W, OHW = OH * OW;
  // element stride of x along a row (input columns sw apart)
  const xstep = <usize>(xNhwc ? sw * C : sw);
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * C * HW);
    const yn = y + <usize>(n * M * OHW * osz);
    for (let g = 0; g < G; g++) {
      for (let mg = 0; mg < Mg; mg++) {
        const m = g * Mg + mg;
        const wrow = wpack + (<usize>(((g * (Mg4 >> 2) + (mg >> 2)) * K2) * 4 + (mg & 3)) << 2);
        for (let oh = 0; oh < OH; oh++) {
          for (let ow0 = 0; ow0 < OW; ow0 += ACC_N) {
            const cnt = min(ACC_N, OW - ow0), ow1 = ow0 + cnt;
            memory.fill(ACC, 0, <usize>cnt << 2);
            for (let cg = 0; cg < Cg; cg++) {
              const c = g * Cg + cg;
              for (let kh = 0; kh < KH; kh++) {
                const ih = oh * sh - ph + kh * dh;
                const rowIn = ih >= 0 && ih < H;
                for (let kw = 0; kw < KW; kw++) {
                  let wv: i32;
                  if (path == 2) {
                    wv = half16(wpack + (<usize>((c * KH2 + (kh >> 1)) * KW + kw) << 2), kh & 1);
                  } else {
                    const k = (cg * KH + kh) * KW + kw;
                    wv = half16(wrow + (<usize>(k >> 1) << 4), k & 1);
                  }
                  if (wv == 0) continue;
                  const off = kw * dw - pw;
                  // output columns whose input column ow * sw + off lies inside the row
                  let lo = ow1, hi = ow1;
                  if (rowIn) {
                    lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    hi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
                    lo = max(ow0, min(lo, ow1));
                    hi = max(lo, min(hi, ow1));
                  }
                  const zw = zx * wv;
                  for (let ow = ow0; ow < lo; ow++) addAcc(ow - ow0, zw);
                  if (hi > lo) {
                    const iw = lo * sw + off;
                    let xp = xNhwc ? xn + <usize>((ih * W + iw) * C + c) : xn + <usize>(c * HW + ih * W + iw);
                    if (xs) for (let ow = lo; ow < hi; ow++, xp += xstep) addAcc(ow - ow0, <i32>load<i8>(xp) * wv);
                    else for (let ow = lo; ow < hi; ow++, xp += xstep) addAcc(ow - ow0, <i32>load<u8>(xp) * wv);
                  }
                  for (let ow = hi; ow < ow1; ow++) addAcc(ow - ow0, zw);
                }
              }
            }
            for (let ow = ow0; ow < ow1; ow++) {
              const at = yNhwc ? (oh * OW + ow) * M + m : m * OHW + oh * OW + ow;
              stageScalar(s, m, load<i32>(ACC + (<usize>(ow - ow0) << 2)), yn + <usize>(at * osz));
            }
          }
        }
      }
    }
  }
}

@inline function addAcc(i: i32, v: i32): void {
  const a = ACC + (<usize>i << 2);
  store<i32>(a, load<i32>(a) + v);
}

/**
 * qdw_nhwc_i8: channels-last depthwise, weights i16 [T2][C8/8][2][8] (tap pairs, channels in
 * groups of 4), fixed-point output stage with one shift n = word 4 + 32.
 */
export function qdwNhwcScalar(p: usize): void {
  const x = pa(p, 0), w = pa(p, 1), y = pa(p, 2), chan = pa(p, 3);
  const sh32 = pi(p, 4), zy = pi(p, 5), lo = pi(p, 6), hi = pi(p, 7), flags = pi(p, 8);
  const N = pi(p, 9), C = pi(p, 10), H = pi(p, 11), W = pi(p, 12), OH = pi(p, 13), OW = pi(p, 14);
  const KH = pi(p, 15), KW = pi(p, 16), sh = pi(p, 17), sw = pi(p, 18), dh = pi(p, 19), dw = pi(p, 20);
  const ph = pi(p, 21), pw = pi(p, 22), zx = pi(p, 23);
  const xs = (flags & F_XS) != 0;
  const C8 = (C + 7) & ~7, blocks = C8 >> 3;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * H * W * C);
    const yn = y + <usize>(n * OH * OW * C);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        // channels in chunks of ACC_N: every tap swept along the contiguous channels
        for (let c0 = 0; c0 < C; c0 += ACC_N) {
          const c1 = min(C, c0 + ACC_N);
          memory.fill(ACC, 0, <usize>(c1 - c0) << 2);
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * sh - ph + kh * dh;
            for (let kw = 0; kw < KW; kw++) {
              const t = kh * KW + kw;
              const iw = ow * sw - pw + kw * dw;
              const inb = ih >= 0 && ih < H && iw >= 0 && iw < W;
              const xp = xn + <usize>((ih * W + iw) * C);
              // tap t of channel c: i16 element ((t/2 * blocks + c/8) * 2 + (c/4) % 2) * 8 + (c % 4) * 2 + t % 2
              const wt = w + (<usize>(((t >> 1) * blocks) * 16 + (t & 1)) << 1);
              for (let c = c0; c < c1; c++) {
                const wv = <i32>load<i16>(wt + (<usize>((c >> 3) * 16 + ((c >> 2) & 1) * 8 + (c & 3) * 2) << 1));
                const xv = inb ? (xs ? <i32>load<i8>(xp + <usize>c) : <i32>load<u8>(xp + <usize>c)) : zx;
                addAcc(c - c0, xv * wv);
              }
            }
          }
          for (let c = c0; c < c1; c++) {
            const acc = load<i32>(ACC + (<usize>(c - c0) << 2)) + load<i32>(chan + (<usize>c << 2));
            const v = rqScalar(<i64>acc, load<i32>(chan + (<usize>(C8 + c) << 2)), sh32 + 32, zy, lo, hi);
            store<u8>(yn + <usize>((oh * OW + ow) * C + c), <u8>v);
          }
        }
      }
    }
  }
}

/** qgemm_i8: y[r][j] = stage(sum_k x[r][k] * w'[j][k]), w' i16 (or i8 with F_W8) [N4][K8]. */
export function qgemmScalar(p: usize): void {
  const x = pa(p, 0), wpack = pa(p, 1), y = pa(p, 2);
  const s = p + 16;
  const flags = sFlags(s), N = pi(p, 10), R = pi(p, 11), K = pi(p, 12);
  const xs = (flags & F_XS) != 0, w8 = (flags & F_W8) != 0;
  const osz: i32 = (flags & F_Y32) ? 4 : 1;
  const K8 = (K + 7) & ~7;
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>(r * K);
    for (let j = 0; j < N; j++) {
      const wr = wpack + <usize>(j * K8 * (w8 ? 1 : 2));
      let acc: i32 = 0;
      for (let k = 0; k < K; k++) {
        const wv = w8 ? <i32>load<i8>(wr + <usize>k) : <i32>load<i16>(wr + (<usize>k << 1));
        acc += byteAt(xr + <usize>k, xs) * wv;
      }
      stageScalar(s, j, acc, y + <usize>((r * N + j) * osz));
    }
  }
}

/** qbinary_i8 (QAdd / QMul with broadcasting): the reference's 64-bit element formula everywhere. */
export function qbinaryScalar(p: usize): void {
  const A = pa(p, 0), B = pa(p, 1), Y = pa(p, 2), op = pi(p, 3), flags = pi(p, 4);
  const za = pi(p, 5), zb = pi(p, 6), ma = pi(p, 7), mb = pi(p, 8), sh = pi(p, 9), zy = pi(p, 10), lo = pi(p, 11), hi = pi(p, 12);
  const as = (flags & F_XS) != 0, bs = (flags & F_BS) != 0;
  const d0 = pi(p, 13), d1 = pi(p, 14), d2 = pi(p, 15), d3 = pi(p, 16), d4 = pi(p, 17), d5 = pi(p, 18);
  const sa5 = pi(p, 24), sb5 = pi(p, 30);
  let y = Y;
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const a = A + <usize>(i0 * pi(p, 19) + i1 * pi(p, 20) + i2 * pi(p, 21) + i3 * pi(p, 22) + i4 * pi(p, 23));
      const b = B + <usize>(i0 * pi(p, 25) + i1 * pi(p, 26) + i2 * pi(p, 27) + i3 * pi(p, 28) + i4 * pi(p, 29));
      for (let i = 0; i < d5; i++) {
        const av = byteAt(a + <usize>(i * sa5), as) - za, bv = byteAt(b + <usize>(i * sb5), bs) - zb;
        store<u8>(y + <usize>i, <u8>qbinScalar(op, av, bv, ma, mb, sh, zy, lo, hi));
      }
      y += <usize>d5;
    }
}

/** quantize_f32: y = saturate(nearest(x / s) + z), NaN -> 0 (the SIMD kernel's scalar tail everywhere). */
export function quantizeScalar(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), S = pa(p, 2), Z = pa(p, 3);
  const outer = pi(p, 4), A = pi(p, 5), inner = pi(p, 6), ys = pi(p, 7) != 0;
  const lo: i32 = ys ? -128 : 0, hi: i32 = ys ? 127 : 255;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < A; a++) {
      const s = load<f32>(S + (<usize>a << 2));
      const z = load<i32>(Z + (<usize>a << 2));
      for (const end = i + inner; i < end; i++) {
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

/** dequantize_f32: y = f32(x - z) * s (the SIMD kernel's scalar tail everywhere). */
export function dequantizeScalar(p: usize): void {
  const X = pa(p, 0), Y = pa(p, 1), S = pa(p, 2), Z = pa(p, 3);
  const outer = pi(p, 4), A = pi(p, 5), inner = pi(p, 6), xs = pi(p, 7) != 0;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < A; a++) {
      const s = load<f32>(S + (<usize>a << 2));
      const z = load<i32>(Z + (<usize>a << 2));
      for (const end = i + inner; i < end; i++) store<f32>(Y + (<usize>i << 2), <f32>(byteAt(X + <usize>i, xs) - z) * s);
    }
  }
}

/**
 * qconv_wino_i8: integer Winograd F(2x2, 3x3) one tile at a time: V = B^T d B of the centered,
 * zero-padded input (i32 [C][16] in scratch), M[t] = sum_c U'[t][m][c] V[c][t] with U' read from
 * the conv GEMM layout i32 [16][M4/4][C2][4], Y = A^T M A = 4 acc, then the output stage.
 */
export function qconvWinoScalar(p: usize): void {
  const x = pa(p, 0), U = pa(p, 1), y = pa(p, 2), V = pa(p, 3);
  const s = p + 16;
  const flags = sFlags(s), M = pi(p, 10);
  const N = pi(p, 11), C = pi(p, 12), H = pi(p, 13), W = pi(p, 14), OH = pi(p, 15), OW = pi(p, 16);
  const ph = pi(p, 17), pw = pi(p, 18), zx = pi(p, 19);
  const xs = (flags & F_XS) != 0;
  const osz: i32 = (flags & F_Y32) ? 4 : 1;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1;
  const C2 = (C + 1) >> 1, M4 = (M + 3) & ~3;
  const uT = <usize>(M4 * C2) << 2;
  const HW = H * W;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * C * HW);
    const yn = y + <usize>(n * M * OH * OW * osz);
    for (let th = 0; th < TH; th++) {
      for (let tw = 0; tw < TW; tw++) {
        const ih0 = 2 * th - ph, iw0 = 2 * tw - pw;
        for (let c = 0; c < C; c++) {
          const xc = xn + <usize>(c * HW);
          const vc = V + (<usize>(c * 16) << 2);
          // t_ik = (B^T d)[i][k], then V[4i + j] = (t B)[i][j]
          for (let i = 0; i < 4; i++) {
            let k0 = 0, k1 = 0, k2 = 0, k3 = 0;
            for (let k = 0; k < 4; k++) {
              const d0 = wd(xc, ih0, iw0 + k, H, W, zx, xs), d1 = wd(xc, ih0 + 1, iw0 + k, H, W, zx, xs);
              const d2 = wd(xc, ih0 + 2, iw0 + k, H, W, zx, xs), d3 = wd(xc, ih0 + 3, iw0 + k, H, W, zx, xs);
              const t = i == 0 ? d0 - d2 : i == 1 ? d1 + d2 : i == 2 ? d2 - d1 : d1 - d3;
              if (k == 0) k0 = t; else if (k == 1) k1 = t; else if (k == 2) k2 = t; else k3 = t;
            }
            const vi = vc + (<usize>(4 * i) << 2);
            store<i32>(vi, k0 - k2);
            store<i32>(vi, k1 + k2, 4);
            store<i32>(vi, k2 - k1, 8);
            store<i32>(vi, k1 - k3, 12);
          }
        }
        for (let m = 0; m < M; m++) {
          const um = U + (<usize>(((m >> 2) * C2) * 4 + (m & 3)) << 2);
          // M[t] in locals through a 16-word loop: m0..m15
          let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
          for (let j = 0; j < 4; j++) {
            const m0 = winoDot(um, V, C, uT, j), m1 = winoDot(um, V, C, uT, 4 + j);
            const m2 = winoDot(um, V, C, uT, 8 + j), m3 = winoDot(um, V, C, uT, 12 + j);
            const a = (m0 + m1) + m2, b = (m1 - m2) - m3;
            if (j == 0) { s00 = a; s10 = b; } else if (j == 1) { s01 = a; s11 = b; } else if (j == 2) { s02 = a; s12 = b; } else { s03 = a; s13 = b; }
          }
          const oh = 2 * th, ow = 2 * tw;
          const ym = yn + <usize>(m * OH * OW * osz);
          stageScalar(s, m, ((s00 + s01) + s02) >> 2, ym + <usize>((oh * OW + ow) * osz));
          if (ow + 1 < OW) stageScalar(s, m, ((s01 - s02) - s03) >> 2, ym + <usize>((oh * OW + ow + 1) * osz));
          if (oh + 1 < OH) {
            stageScalar(s, m, ((s10 + s11) + s12) >> 2, ym + <usize>(((oh + 1) * OW + ow) * osz));
            if (ow + 1 < OW) stageScalar(s, m, ((s11 - s12) - s13) >> 2, ym + <usize>(((oh + 1) * OW + ow + 1) * osz));
          }
        }
      }
    }
  }
}

/** Centered input value x[ih][iw] - zx of one channel plane, 0 outside it. */
@inline function wd(xc: usize, ih: i32, iw: i32, H: i32, W: i32, zx: i32, xs: bool): i32 {
  return ih >= 0 && ih < H && iw >= 0 && iw < W ? byteAt(xc + <usize>(ih * W + iw), xs) - zx : 0;
}

/** sum_c U'[t][m][c] * V[c][t] (int32, wrapping); um: channel pair 0 of row m at t = 0. */
@inline function winoDot(um: usize, V: usize, C: i32, uT: usize, t: i32): i32 {
  const ut = um + <usize>t * uT;
  let acc: i32 = 0;
  for (let c = 0; c < C; c++) acc += half16(ut + (<usize>(c >> 1) << 4), c & 1) * load<i32>(V + (<usize>(c * 16 + t) << 2));
  return acc;
}
