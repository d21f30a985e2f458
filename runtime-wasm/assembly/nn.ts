/**
 * Pooling, softmax, reductions, normalization, gather, resize and grid sampling (f32).
 */
import { pa, pi, pf } from './common';

/**
 * pool2d_f32 params: 0 x, 1 y, 2 planes (N*C), 3 H, 4 W, 5 OH, 6 OW, 7 KH, 8 KW, 9 sh, 10 sw,
 * 11 ph (top), 12 pw (left), 13 dh, 14 dw, 15 kind (0 max, 1 avg excluding pads, 2 avg including
 * pads), 16 padded height limit (H + bottom pad), 17 padded width limit (W + right pad).
 */
export function pool2d_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), P = pi(p, 2), H = pi(p, 3), W = pi(p, 4), OH = pi(p, 5), OW = pi(p, 6);
  const KH = pi(p, 7), KW = pi(p, 8), sh = pi(p, 9), sw = pi(p, 10), ph = pi(p, 11), pw = pi(p, 12);
  const dh = pi(p, 13), dw = pi(p, 14), kind = pi(p, 15), HL = pi(p, 16), WL = pi(p, 17);
  let o = y;
  for (let c = 0; c < P; c++) {
    const xc = x + (<usize>(c * H * W) << 2);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let s: f32 = kind == 0 ? -Infinity : 0;
        let cnt = 0, cntPad = 0;
        for (let kh = 0; kh < KH; kh++) {
          const iy = oh * sh - ph + kh * dh;
          if (iy < -ph || iy >= HL) continue;
          for (let kw = 0; kw < KW; kw++) {
            const ix = ow * sw - pw + kw * dw;
            if (ix < -pw || ix >= WL) continue;
            cntPad++;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const v = load<f32>(xc + (<usize>(iy * W + ix) << 2));
            if (kind == 0) { if (v > s || v != v) s = v; } else s += v;
            cnt++;
          }
        }
        if (kind == 1) s = cnt > 0 ? s / <f32>cnt : 0;
        else if (kind == 2) s = s / <f32>cntPad;
        store<f32>(o, s);
        o += 4;
      }
    }
  }
}

/** global_pool_f32 params: 0 x, 1 y, 2 planes, 3 plane size, 4 kind (0 avg, 1 max). */
export function global_pool_f32(p: usize): void {
  let x = pa(p, 0);
  const y = pa(p, 1), P = pi(p, 2), S = pi(p, 3), kind = pi(p, 4);
  const s4 = S & ~3;
  for (let c = 0; c < P; c++) {
    let r: f32 = 0;
    let i = 0;
    if (kind == 0) {
      if (ASC_FEATURE_SIMD) {
        let acc = f32x4.splat(0);
        for (; i < s4; i += 4) acc = f32x4.add(acc, v128.load(x + (<usize>i << 2)));
        r = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      } else {
        // the four SIMD lanes as four sums, added in the same order
        let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
        for (; i < s4; i += 4) {
          const q = x + (<usize>i << 2);
          s0 += load<f32>(q); s1 += load<f32>(q, 4); s2 += load<f32>(q, 8); s3 += load<f32>(q, 12);
        }
        r = s0 + s1 + s2 + s3;
      }
      for (; i < S; i++) r += load<f32>(x + (<usize>i << 2));
      r /= <f32>S;
    } else {
      r = -Infinity;
      for (; i < S; i++) { const v = load<f32>(x + (<usize>i << 2)); if (v > r || v != v) r = v; }
    }
    store<f32>(y + (<usize>c << 2), r);
    x += <usize>S << 2;
  }
}

/** softmax_f32 params: 0 x, 1 y, 2 outer, 3 axis length, 4 inner, 5 log (0/1). */
export function softmax_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), outer = pi(p, 2), L = pi(p, 3), inner = pi(p, 4), lg = pi(p, 5);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * L * inner + j;
      let m: f32 = -Infinity;
      for (let i = 0; i < L; i++) m = Mathf.max(m, load<f32>(x + (<usize>(base + i * inner) << 2)));
      let s: f64 = 0;
      for (let i = 0; i < L; i++) {
        const e = Mathf.exp(load<f32>(x + (<usize>(base + i * inner) << 2)) - m);
        if (!lg) store<f32>(y + (<usize>(base + i * inner) << 2), e);
        s += <f64>e;
      }
      if (lg) {
        const ls = <f32>Math.log(s);
        for (let i = 0; i < L; i++) {
          const a = <usize>(base + i * inner) << 2;
          store<f32>(y + a, load<f32>(x + a) - m - ls);
        }
      } else {
        const r = <f32>(1.0 / s);
        for (let i = 0; i < L; i++) {
          const a = <usize>(base + i * inner) << 2;
          store<f32>(y + a, load<f32>(y + a) * r);
        }
      }
    }
  }
}

export const R_SUM: i32 = 0;
export const R_MEAN: i32 = 1;
export const R_MAX: i32 = 2;
export const R_MIN: i32 = 3;
export const R_PROD: i32 = 4;
export const R_L1: i32 = 5;
export const R_L2: i32 = 6;
export const R_SUMSQUARE: i32 = 7;
export const R_LOGSUM: i32 = 8;
export const R_LOGSUMEXP: i32 = 9;

/**
 * reduce_f32 params: 0 op, 1 x, 2 y, 3..8 input dims (6), 9..14 output strides per input dim
 * (0 on reduced dims), 15 reduced count, 16 output size, 17 scratch (output-sized, LogSumExp).
 * Accumulates into y (f32) in input order.
 */
export function reduce_f32(p: usize): void {
  const op = pi(p, 0), x = pa(p, 1), y = pa(p, 2);
  const d0 = pi(p, 3), d1 = pi(p, 4), d2 = pi(p, 5), d3 = pi(p, 6), d4 = pi(p, 7), d5 = pi(p, 8);
  const t0 = pi(p, 9), t1 = pi(p, 10), t2 = pi(p, 11), t3 = pi(p, 12), t4 = pi(p, 13), t5 = pi(p, 14);
  const cnt = pi(p, 15), osz = pi(p, 16), scr = pa(p, 17);
  const init: f32 = op == R_MAX || op == R_LOGSUMEXP ? -Infinity : op == R_MIN ? Infinity : op == R_PROD ? 1 : 0;
  for (let i = 0; i < osz; i++) store<f32>(y + (<usize>i << 2), init);
  const pass = op == R_LOGSUMEXP ? 2 : 1;
  let accOp = op;
  for (let ps = 0; ps < pass; ps++) {
    if (op == R_LOGSUMEXP && ps == 1) {
      // second pass: y <- sum(exp(x - max)), max kept in scratch
      for (let i = 0; i < osz; i++) {
        const a = <usize>i << 2;
        store<f32>(scr + a, load<f32>(y + a));
        store<f32>(y + a, 0);
      }
      accOp = -1;
    } else if (op == R_LOGSUMEXP) {
      accOp = R_MAX;
    }
    let xi = x;
    for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
      for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
        const ob = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
        for (let i5 = 0; i5 < d5; i5++) {
          const a = y + (<usize>(ob + i5 * t5) << 2);
          const v = load<f32>(xi);
          xi += 4;
          const acc = load<f32>(a);
          let r: f32;
          switch (accOp) {
            case R_MAX: r = v > acc || v != v ? v : acc; break;
            case R_MIN: r = v < acc || v != v ? v : acc; break;
            case R_PROD: r = acc * v; break;
            case R_L1: r = acc + Mathf.abs(v); break;
            case R_L2: case R_SUMSQUARE: r = acc + v * v; break;
            case -1: {
              const m = load<f32>(scr + (<usize>(ob + i5 * t5) << 2));
              r = acc + (m == -Infinity ? <f32>0 : Mathf.exp(v - m));
              break;
            }
            default: r = acc + v;
          }
          store<f32>(a, r);
        }
      }
  }
  for (let i = 0; i < osz; i++) {
    const a = y + (<usize>i << 2);
    const v = load<f32>(a);
    if (op == R_MEAN) store<f32>(a, v / <f32>cnt);
    else if (op == R_L2) store<f32>(a, Mathf.sqrt(v));
    else if (op == R_LOGSUM) store<f32>(a, Mathf.log(v));
    else if (op == R_LOGSUMEXP) {
      const m = load<f32>(scr + (<usize>i << 2));
      store<f32>(a, m == -Infinity ? m : m + Mathf.log(v));
    }
  }
}

/**
 * norm_f32 (LayerNorm / InstanceNorm / GroupNorm-style) params: 0 x, 1 y, 2 outer, 3 inner (normalized
 * size), 4 eps (f32), 5 scale (0: none), 6 bias (0: none), 7 mode (0: scale/bias per inner element;
 * 1: per (outer % C); 2: per channel with `inner / C2` elements each (GroupNorm)), 8 C, 9 C2,
 * 10 mean output (0: none, one f32 per outer row), 11 inverse std-dev output (0: none).
 */
export function norm_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), outer = pi(p, 2), inner = pi(p, 3), eps = pf(p, 4);
  const sc = pa(p, 5), bi = pa(p, 6), mode = pi(p, 7), C = pi(p, 8), C2 = pi(p, 9), mo = pa(p, 10), ro = pa(p, 11);
  for (let o = 0; o < outer; o++) {
    const xo = x + (<usize>(o * inner) << 2), yo = y + (<usize>(o * inner) << 2);
    let s: f64 = 0;
    for (let i = 0; i < inner; i++) s += <f64>load<f32>(xo + (<usize>i << 2));
    const mean = s / <f64>inner;
    let v: f64 = 0;
    for (let i = 0; i < inner; i++) { const d = <f64>load<f32>(xo + (<usize>i << 2)) - mean; v += d * d; }
    const rstd = 1.0 / Math.sqrt(v / <f64>inner + <f64>eps);
    if (mo != 0) store<f32>(mo + (<usize>o << 2), <f32>mean);
    if (ro != 0) store<f32>(ro + (<usize>o << 2), <f32>rstd);
    const per = C2 > 0 ? inner / C2 : 1;
    for (let i = 0; i < inner; i++) {
      let g: f64 = 1, b: f64 = 0;
      let k = i;
      if (mode == 1) k = o % C;
      else if (mode == 2) k = (o % (C / C2 > 0 ? C / C2 : 1)) * C2 + i / per;
      if (sc != 0) g = <f64>load<f32>(sc + (<usize>k << 2));
      if (bi != 0) b = <f64>load<f32>(bi + (<usize>k << 2));
      store<f32>(yo + (<usize>i << 2), <f32>((<f64>load<f32>(xo + (<usize>i << 2)) - mean) * rstd * g + b));
    }
  }
}

/**
 * gather_f32 params: 0 x, 1 indices, 2 y, 3 outer, 4 axis length, 5 index count, 6 inner,
 * 7 index kind (0: i32, 1: i64). Negative indices count from the end; out-of-range clamps.
 */
export function gather_f32(p: usize): void {
  const x = pa(p, 0), idx = pa(p, 1);
  let y = pa(p, 2);
  const outer = pi(p, 3), L = pi(p, 4), nI = pi(p, 5), inner = pi(p, 6), kind = pi(p, 7);
  const row = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nI; j++) {
      let k = kind == 0 ? load<i32>(idx + (<usize>j << 2)) : <i32>load<i64>(idx + (<usize>j << 3));
      if (k < 0) k += L;
      if (k < 0) k = 0;
      if (k >= L) k = L - 1;
      memory.copy(y, x + (<usize>(o * L + k) << 2) * <usize>inner, row);
      y += row;
    }
  }
}

/**
 * resize_f32 (last two axes; tables computed by the compiler) params: 0 x, 1 y, 2 planes,
 * 3 IH, 4 IW, 5 OH, 6 OW, 7 mode (0 nearest: tables hold i32 source index per output;
 * 1 linear: tables hold (i32 i0, i32 i1, f32 w1) per output), 8 row table, 9 column table.
 */
export function resize_f32(p: usize): void {
  const x = pa(p, 0), P = pi(p, 2), IH = pi(p, 3), IW = pi(p, 4), OH = pi(p, 5), OW = pi(p, 6);
  const mode = pi(p, 7), ty = pa(p, 8), tx = pa(p, 9);
  let y = pa(p, 1);
  for (let c = 0; c < P; c++) {
    const xc = x + (<usize>(c * IH * IW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      if (mode == 0) {
        const r = xc + (<usize>(load<i32>(ty + (<usize>oh << 2)) * IW) << 2);
        for (let ow = 0; ow < OW; ow++) {
          store<f32>(y, load<f32>(r + (<usize>load<i32>(tx + (<usize>ow << 2)) << 2)));
          y += 4;
        }
      } else {
        const e = ty + <usize>oh * 12;
        const r0 = xc + (<usize>(load<i32>(e) * IW) << 2), r1 = xc + (<usize>(load<i32>(e, 4) * IW) << 2);
        const wy = load<f32>(e, 8);
        for (let ow = 0; ow < OW; ow++) {
          const f = tx + <usize>ow * 12;
          const j0 = <usize>load<i32>(f) << 2, j1 = <usize>load<i32>(f, 4) << 2;
          const wx = load<f32>(f, 8);
          const top = load<f32>(r0 + j0) * (<f32>1 - wx) + load<f32>(r0 + j1) * wx;
          const bot = load<f32>(r1 + j0) * (<f32>1 - wx) + load<f32>(r1 + j1) * wx;
          store<f32>(y, top * (<f32>1 - wy) + bot * wy);
          y += 4;
        }
      }
    }
  }
}

/**
 * grid_sample_f32 (4-D) params: 0 x, 1 grid, 2 y, 3 N, 4 C, 5 H, 6 W, 7 OH, 8 OW, 9 mode
 * (0 bilinear, 1 nearest), 10 padding (0 zeros, 1 border, 2 reflection), 11 align_corners.
 */
export function grid_sample_f32(p: usize): void {
  const x = pa(p, 0), grid = pa(p, 1), y = pa(p, 2);
  const N = pi(p, 3), C = pi(p, 4), H = pi(p, 5), W = pi(p, 6), OH = pi(p, 7), OW = pi(p, 8);
  const mode = pi(p, 9), pad = pi(p, 10), ac = pi(p, 11);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const g = grid + (<usize>(((n * OH + oh) * OW + ow) * 2) << 2);
        const gx = <f64>load<f32>(g), gy = <f64>load<f32>(g, 4);
        let ix = denorm(gx, W, ac), iy = denorm(gy, H, ac);
        if (pad == 1) { ix = clampd(ix, 0, <f64>(W - 1)); iy = clampd(iy, 0, <f64>(H - 1)); }
        else if (pad == 2) { ix = reflectCoord(ix, W, ac); iy = reflectCoord(iy, H, ac); }
        for (let c = 0; c < C; c++) {
          const xc = x + (<usize>((n * C + c) * H * W) << 2);
          let v: f64;
          if (mode == 1) {
            const rx = <i32>nearest<f64>(ix), ry = <i32>nearest<f64>(iy);
            v = pixel(xc, H, W, ry, rx, pad);
          } else {
            const x0 = Math.floor(ix), y0 = Math.floor(iy);
            const wx = ix - x0, wy = iy - y0;
            const xi = <i32>x0, yi = <i32>y0;
            v = pixel(xc, H, W, yi, xi, pad) * (1 - wx) * (1 - wy) + pixel(xc, H, W, yi, xi + 1, pad) * wx * (1 - wy) +
              pixel(xc, H, W, yi + 1, xi, pad) * (1 - wx) * wy + pixel(xc, H, W, yi + 1, xi + 1, pad) * wx * wy;
          }
          store<f32>(y + (<usize>(((n * C + c) * OH + oh) * OW + ow) << 2), <f32>v);
        }
      }
    }
  }
}

@inline function clampd(v: f64, lo: f64, hi: f64): f64 {
  return v < lo ? lo : v > hi ? hi : v;
}

function denorm(v: f64, len: i32, ac: i32): f64 {
  return ac ? (v + 1) / 2 * <f64>(len - 1) : ((v + 1) * <f64>len - 1) / 2;
}

function reflectCoord(v: f64, len: i32, ac: i32): f64 {
  const lo: f64 = ac ? 0 : -0.5, hi: f64 = ac ? <f64>(len - 1) : <f64>len - 0.5;
  const rng = hi - lo;
  if (rng <= 0) return 0;
  if (v < lo) {
    const dx = lo - v;
    const nf = Math.floor(dx / rng);
    const r = dx - nf * rng;
    return (<i64>nf) % 2 == 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    const dx = v - hi;
    const nf = Math.floor(dx / rng);
    const r = dx - nf * rng;
    return (<i64>nf) % 2 == 0 ? hi - r : lo + r;
  }
  return v;
}

function pixel(xc: usize, H: i32, W: i32, yy: i32, xx: i32, pad: i32): f64 {
  if (yy < 0 || yy >= H || xx < 0 || xx >= W) {
    if (pad == 0) return 0;
    yy = yy < 0 ? 0 : yy >= H ? H - 1 : yy;
    xx = xx < 0 ? 0 : xx >= W ? W - 1 : xx;
  }
  return <f64>load<f32>(xc + (<usize>(yy * W + xx) << 2));
}
