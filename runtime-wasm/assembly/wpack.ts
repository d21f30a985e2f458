/**
 * Weight packing at instantiation (qpack_i8: int8 layouts; wino_pack_f32: the f32 Winograd filter
 * transform).
 *
 * Int8 weight packing at instantiation (targets/wasm/ops/qint.ts packedBlob): model.wasm stores each
 * int8/uint8 weight once, as the graph holds it (one byte a weight), and its start function runs
 * qpack_i8 to write the layout the int8 kernels of int8.ts read into a region after the static data.
 * The layouts are exactly the ones qint.ts builds at compile time for dynamic artifacts, so both
 * paths feed the kernels the same bytes. Scalar code only: it runs once per instantiation.
 *
 * Centered weight w'(m, k) = w[m][k] - zw[m] (zw: per-channel array when `zp` is non-null, else the
 * scalar `z`); pairs are (lo & 0xffff) | (hi << 16) of two centered weights (i16 each).
 *
 * qpack_i8 params: 0 src (weights, row-major), 1 dst, 2 zp (i32 per output channel, or 0), 3 z
 * (zero point when zp is 0), 4 mode, 5 signed (1: src is i8, 0: u8), 6..9 d0..d3.
 * Modes and their dims:
 *  0 GEMM panels of qconv_i8 (d0 G, d1 Mg, d2 K): i32 [G][Mg4/4][K2][4], pair j of row r of
 *    group g at ((g * Mg4/4 + r/4) * K2 + j) * 4 + r % 4 (Mg4 = Mg rounded up to 4, K2 = ceil(K/2)).
 *  1 depthwise kernel-row pairs of qconv_i8 (d0 M, d1 KH, d2 KW): i32 [M][KH2][KW], pair of taps
 *    (2q, kw) and (2q + 1, kw), zero past the last row.
 *  2 channels-last depthwise taps of qdw_nhwc_i8 (d0 C, d1 T = KH * KW): i16 [T2][C8 * 2], taps
 *    2t and 2t + 1 of channel c at t * C8 * 2 + (c / 8) * 16 + ((c % 8) / 4) * 8 + (c % 4) * 2.
 *  3 Winograd F(2x2, 3x3) weights of qconv_wino_i8 (d0 M, d1 C): U = G2 g G2^T with G2 = 2G
 *    (integers), pairs over channels: i32 [16][M4/4][C2][4] at ((t * M4/4 + m/4) * C2 + c/2) * 4 + m % 4.
 *  4 qgemm_i8 rows (d0 K, d1 N, d2 transB, d3 w8): w'(j, k) of B [K][N] (transB: [N][K]) at
 *    j * K8 + k of an i16 (w8: i8) [N4][K8] matrix.
 * Every byte of the destination is written (padding with zeros).
 */
import { pa, pi } from './common';

@inline function wat(src: usize, sgn: i32, e: i32): i32 {
  return sgn ? <i32>load<i8>(src + <usize>e) : <i32>load<u8>(src + <usize>e);
}

@inline function zpOf(zp: usize, z: i32, m: i32): i32 {
  return zp ? load<i32>(zp + (<usize>m << 2)) : z;
}

@inline function pair(lo: i32, hi: i32): i32 {
  return (lo & 0xffff) | (hi << 16);
}

/** Doubled Winograd weight matrix G2 = 2G of F(2x2, 3x3), row-major [4][3]. */
@inline function g2(a: i32, i: i32): i32 {
  // [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]]
  if (a == 0) return i == 0 ? 2 : 0;
  if (a == 3) return i == 2 ? 2 : 0;
  if (a == 2 && i == 1) return -1;
  return 1;
}

export function qpack_i8(p: usize): void {
  const src = pa(p, 0), dst = pa(p, 1), zp = pa(p, 2);
  const z = pi(p, 3), mode = pi(p, 4), sgn = pi(p, 5);
  const d0 = pi(p, 6), d1 = pi(p, 7), d2 = pi(p, 8), d3 = pi(p, 9);
  if (mode == 0) {
    const G = d0, Mg = d1, K = d2;
    const K2 = (K + 1) >> 1, Mg4 = (Mg + 3) & ~3;
    for (let g = 0; g < G; g++) {
      for (let r = 0; r < Mg4; r++) {
        const m = g * Mg + r;
        const zw = r < Mg ? zpOf(zp, z, m) : 0;
        for (let j = 0; j < K2; j++) {
          let v = 0;
          if (r < Mg) {
            const lo = wat(src, sgn, m * K + 2 * j) - zw;
            const hi = 2 * j + 1 < K ? wat(src, sgn, m * K + 2 * j + 1) - zw : 0;
            v = pair(lo, hi);
          }
          store<i32>(dst + (<usize>(((g * (Mg4 >> 2) + (r >> 2)) * K2 + j) * 4 + (r & 3)) << 2), v);
        }
      }
    }
  } else if (mode == 1) {
    const M = d0, KH = d1, KW = d2;
    const KH2 = (KH + 1) >> 1, K = KH * KW;
    for (let m = 0; m < M; m++) {
      const zw = zpOf(zp, z, m);
      for (let q = 0; q < KH2; q++) {
        for (let kw = 0; kw < KW; kw++) {
          const lo = wat(src, sgn, m * K + 2 * q * KW + kw) - zw;
          const hi = 2 * q + 1 < KH ? wat(src, sgn, m * K + (2 * q + 1) * KW + kw) - zw : 0;
          store<i32>(dst + (<usize>((m * KH2 + q) * KW + kw) << 2), pair(lo, hi));
        }
      }
    }
  } else if (mode == 2) {
    const C = d0, T = d1;
    const T2 = (T + 1) >> 1, C8 = (C + 7) & ~7;
    memory.fill(dst, 0, <usize>(T2 * C8 * 2) << 1);
    for (let t2 = 0; t2 < T2; t2++) {
      for (let ch = 0; ch < C; ch++) {
        const zw = zpOf(zp, z, ch);
        const base = t2 * C8 * 2 + (ch >> 3) * 16 + ((ch & 7) >> 2) * 8 + (ch & 3) * 2;
        store<i16>(dst + (<usize>base << 1), <i16>(wat(src, sgn, ch * T + 2 * t2) - zw));
        store<i16>(dst + (<usize>(base + 1) << 1), <i16>(2 * t2 + 1 < T ? wat(src, sgn, ch * T + 2 * t2 + 1) - zw : 0));
      }
    }
  } else if (mode == 3) {
    const M = d0, C = d1;
    const C2 = (C + 1) >> 1, M4 = (M + 3) & ~3;
    const K = C * 9;
    memory.fill(dst, 0, <usize>(16 * M4 * C2) << 2);
    for (let m = 0; m < M; m++) {
      const zw = zpOf(zp, z, m);
      for (let ch = 0; ch < C; ch++) {
        const w0 = m * K + ch * 9;
        for (let ta = 0; ta < 4; ta++) {
          for (let tb = 0; tb < 4; tb++) {
            let v = 0;
            for (let i = 0; i < 3; i++) {
              const gi = g2(ta, i);
              if (gi == 0) continue;
              for (let j = 0; j < 3; j++) v += gi * (wat(src, sgn, w0 + i * 3 + j) - zw) * g2(tb, j);
            }
            const at = dst + (<usize>((((ta * 4 + tb) * (M4 >> 2) + (m >> 2)) * C2 + (ch >> 1)) * 4 + (m & 3)) << 2);
            // channel pairs: even channel in the low half, odd in the high half
            if (ch & 1) store<i16>(at + 2, <i16>v);
            else store<i16>(at, <i16>v);
          }
        }
      }
    }
  } else {
    const K = d0, N = d1, transB = d2, w8 = d3;
    const K8 = (K + 7) & ~7, N4 = (N + 3) & ~3;
    const sk = transB ? 1 : N, sn = transB ? K : 1;
    for (let j = 0; j < N4; j++) {
      const zw = j < N ? zpOf(zp, z, j) : 0;
      for (let k = 0; k < K8; k++) {
        const v = j < N && k < K ? wat(src, sgn, k * sk + j * sn) - zw : 0;
        const e = j * K8 + k;
        if (w8) store<i8>(dst + <usize>e, <i8>v);
        else store<i16>(dst + (<usize>e << 1), <i16>v);
      }
    }
  }
}

/** Winograd filter matrix G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] of F(2x2, 3x3), row-major [4][3]. */
@inline function gw(a: i32, i: i32): f64 {
  if (a == 0) return i == 0 ? 1.0 : 0.0;
  if (a == 3) return i == 2 ? 1.0 : 0.0;
  return a == 2 && i == 1 ? -0.5 : 0.5;
}

/**
 * wino_pack_f32 params: 0 src (f32 OIHW 3x3 weights [K][C][3][3]), 1 dst, 2 K (>= 4), 3 C.
 * dst = conv3x3_wino_f32's filter blob (targets/wasm/ops/conv.ts winogradWeights): U = G g G^T
 * computed in f64 in the same order as the compiler (one rounding to f32 per value), as 16
 * matrices K x C (xi = 4 i + j), each in 4-row groups [S][C][4], S = ceil(K / 4), group s holding
 * rows min(4 s, K - 4) .. + 3.
 */
export function wino_pack_f32(p: usize): void {
  const src = pa(p, 0), dst = pa(p, 1);
  const K = pi(p, 2), C = pi(p, 3);
  const S = (K + 3) >> 2;
  for (let xi = 0; xi < 16; xi++) {
    const i = xi >> 2, j = xi & 3;
    for (let s = 0; s < S; s++) {
      const m0 = min(4 * s, K - 4);
      for (let ci = 0; ci < C; ci++) {
        for (let r4 = 0; r4 < 4; r4++) {
          const w0 = src + (<usize>(((m0 + r4) * C + ci) * 9) << 2);
          let v: f64 = 0;
          for (let r = 0; r < 3; r++) {
            for (let t = 0; t < 3; t++) v += gw(i, r) * <f64>load<f32>(w0 + (<usize>(r * 3 + t) << 2)) * gw(j, t);
          }
          store<f32>(dst + (<usize>(((xi * S + s) * C + ci) * 4 + r4) << 2), <f32>v);
        }
      }
    }
  }
}
