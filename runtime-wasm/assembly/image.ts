/**
 * General image / geometry kernels (f32 data, f64 arithmetic where the reference needs it): Resize
 * one axis at a time from tap tables (cubic, antialias, axes, tf_crop_and_resize), GridSample on
 * 1..3 spatial dims (linear, nearest, cubic), AffineGrid, RoiAlign, DeformConv, N-D col2im (Col2Im,
 * 3-D ConvTranspose), LRN and MaxUnpool. Each mirrors its reference kernel in compiler/ops/.
 */
import { pa, pf, pi } from './common';

/** Per-dim taps of grid_sample_nd_f32: 3 dims x 4 taps of source index (i32) and weight (f64). */
const TIDX: usize = memory.data(4 * 12, 16);
const TW: usize = memory.data(8 * 12, 16);
/** Tensor-product taps (at most 4^3): offsets (i32) and weights (f64). */
const POFF: usize = memory.data(4 * 64, 16);
const PW: usize = memory.data(8 * 64, 16);

/**
 * resize_axis_f32 params: 0 x [outer, inLen, inner], 1 y [outer, outLen, inner], 2 outer, 3 inLen,
 * 4 outLen, 5 inner, 6 taps T, 7 idx (i32 [outLen, T]; a first index of -1 marks an extrapolated
 * row), 8 w (f32 [outLen, T]), 9 extrapolation value (f32). y[o, j, k] = sum_t w[j, t] *
 * x[o, idx[j, t], k]; with T = 0 every row is extrapolated.
 */
export function resize_axis_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), outer = pi(p, 2), inLen = pi(p, 3), outLen = pi(p, 4), inner = pi(p, 5);
  const T = pi(p, 6), idx = pa(p, 7), w = pa(p, 8), ev = pf(p, 9);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const d = y + (<usize>((o * outLen + j) * inner) << 2);
      const t0 = j * T;
      if (T == 0 || load<i32>(idx + (<usize>t0 << 2)) < 0) {
        for (let k = 0; k < inner; k++) store<f32>(d + (<usize>k << 2), ev);
        continue;
      }
      if (inner == 1) {
        let acc: f64 = 0;
        for (let t = 0; t < T; t++) {
          const wt = <f64>load<f32>(w + (<usize>(t0 + t) << 2));
          if (wt != 0) acc += wt * <f64>load<f32>(x + (<usize>(o * inLen + load<i32>(idx + (<usize>(t0 + t) << 2))) << 2));
        }
        store<f32>(d, <f32>acc);
        continue;
      }
      for (let k = 0; k < inner; k++) store<f32>(d + (<usize>k << 2), 0);
      for (let t = 0; t < T; t++) {
        const wt = load<f32>(w + (<usize>(t0 + t) << 2));
        if (wt == 0) continue;
        const s = x + (<usize>((o * inLen + load<i32>(idx + (<usize>(t0 + t) << 2))) * inner) << 2);
        for (let k = 0; k < inner; k++) {
          const a = <usize>k << 2;
          store<f32>(d + a, load<f32>(d + a) + wt * load<f32>(s + a));
        }
      }
    }
  }
}

/** Rounds half to even (numpy rint). */
function rint(x: f64): f64 {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 == 0 ? f : f + 1;
}

/** Reflects x into [lo, hi] by bouncing off the nearer border (PyTorch GridSampler semantics). */
function reflectD(x: f64, lo: f64, hi: f64): f64 {
  const rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

/** Keys cubic kernel weight at distance x (|x| < 2). */
function cubicW(x: f64, A: f64): f64 {
  const t = Math.abs(x);
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/** Source index after padding for integer position i on an axis of n (-1: zero padding). */
function padIndex(i: i32, n: i32, pad: i32, lo: f64, hi: f64): i32 {
  if (pad == 0) return i >= 0 && i < n ? i : -1;
  if (pad == 1) return i < 0 ? 0 : i >= n ? n - 1 : i;
  const v = <i32>Math.trunc(reflectD(<f64>i, lo, hi));
  return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/**
 * grid_sample_nd_f32 params: 0 x [N, C, *dims], 1 grid [N, *out, r], 2 y [N, C, *out], 3 N, 4 C,
 * 5 r (1..3 spatial dims), 6..8 dims (first r used), 9..11 out dims (first r used), 12 mode (0
 * linear, 1 nearest, 2 cubic), 13 padding (0 zeros, 1 border, 2 reflection), 14 align_corners.
 * The grid's last axis lists coordinates innermost-first; coordinates are denormalized in f64 and
 * rounded to f32 (the reference's float buffer); cubic pads per tap.
 */
export function grid_sample_nd_f32(p: usize): void {
  const x = pa(p, 0), grid = pa(p, 1), y = pa(p, 2), N = pi(p, 3), C = pi(p, 4), r = pi(p, 5);
  const mode = pi(p, 12), pad = pi(p, 13), ac = pi(p, 14);
  let S = 1, P = 1;
  for (let d = 0; d < r; d++) { S *= pi(p, 6 + d); P *= pi(p, 9 + d); }
  const nTap = mode == 2 ? 4 : mode == 0 ? 2 : 1;
  let total = 1;
  for (let d = 0; d < r; d++) total *= nTap;
  for (let n = 0; n < N; n++) {
    for (let q = 0; q < P; q++) {
      const gBase = (n * P + q) * r;
      for (let d = 0; d < r; d++) {
        const v = <f64>load<f32>(grid + (<usize>(gBase + (r - 1 - d)) << 2));
        const len = pi(p, 6 + d);
        const lo: f64 = ac ? 0 : -0.5;
        const hi: f64 = ac ? <f64>(len - 1) : <f64>len - 0.5;
        let c: f64 = ac ? ((v + 1) / 2) * <f64>(len - 1) : ((v + 1) * <f64>len - 1) / 2;
        c = <f64><f32>c;
        if (mode == 1) c = rint(c);
        if (mode != 2 && (c < lo || c > hi)) {
          if (pad == 1) c = c < 0 ? 0 : c > <f64>(len - 1) ? <f64>(len - 1) : c;
          else if (pad == 2) c = reflectD(c, lo, hi);
        }
        const ti = TIDX + (<usize>(d * 4) << 2), tw = TW + (<usize>(d * 4) << 3);
        if (mode == 1) {
          store<i32>(ti, isFinite(c) ? padIndex(<i32>Math.trunc(c), len, pad, lo, hi) : -1);
          store<f64>(tw, 1);
        } else if (mode == 0) {
          const i0 = Math.floor(c);
          const f = c - i0;
          store<i32>(ti, padIndex(<i32>i0, len, pad, lo, hi));
          store<i32>(ti, padIndex(<i32>i0 + 1, len, pad, lo, hi), 4);
          store<f64>(tw, 1 - f);
          store<f64>(tw, f, 8);
        } else {
          const i0 = Math.floor(c);
          const f = c - i0;
          for (let k = 0; k < 4; k++) {
            store<i32>(ti + (<usize>k << 2), padIndex(<i32>i0 - 1 + k, len, pad, lo, hi));
            store<f64>(tw + (<usize>k << 3), cubicW(f + 1 - <f64>k, -0.75));
          }
        }
      }
      // tensor product of the per-dim taps
      let m = 0;
      for (let t = 0; t < total; t++) {
        let rem = t, off = 0, stride = 1;
        let w: f64 = 1;
        for (let d = r - 1; d >= 0; d--) {
          const k = rem % nTap;
          rem = rem / nTap;
          const i = load<i32>(TIDX + (<usize>(d * 4 + k) << 2));
          if (i < 0) { w = 0; break; }
          off += i * stride;
          stride *= pi(p, 6 + d);
          w *= load<f64>(TW + (<usize>(d * 4 + k) << 3));
        }
        if (w != 0) {
          store<i32>(POFF + (<usize>m << 2), off);
          store<f64>(PW + (<usize>m << 3), w);
          m++;
        }
      }
      for (let c = 0; c < C; c++) {
        const xb = x + (<usize>((n * C + c) * S) << 2);
        let acc: f64 = 0;
        for (let t = 0; t < m; t++) acc += load<f64>(PW + (<usize>t << 3)) * <f64>load<f32>(xb + (<usize>load<i32>(POFF + (<usize>t << 2)) << 2));
        store<f32>(y + (<usize>((n * C + c) * P + q) << 2), <f32>acc);
      }
    }
  }
}

/** Normalized base coordinate i of `len` positions in [-1, 1]. */
@inline function baseCoord(i: i32, len: i32, ac: i32): f64 {
  if (ac) return len == 1 ? -1 : -1 + <f64>i * (2 / <f64>(len - 1));
  const step = 2 / <f64>len;
  return -1 + step / 2 + <f64>i * step;
}

/**
 * affine_grid_f32 params: 0 theta [N, nd, nd+1], 1 grid [N, (D,) H, W, nd], 2 N, 3 nd (2 or 3),
 * 4 D (1 when nd = 2), 5 H, 6 W, 7 align_corners. grid[n, d, h, w] = theta[n] @ [x_w, y_h, (z_d,) 1].
 */
export function affine_grid_f32(p: usize): void {
  const th = pa(p, 0), g = pa(p, 1), N = pi(p, 2), nd = pi(p, 3), D = pi(p, 4), H = pi(p, 5), W = pi(p, 6), ac = pi(p, 7);
  let o = g;
  for (let n = 0; n < N; n++) {
    const t0 = th + (<usize>(n * nd * (nd + 1)) << 2);
    for (let d = 0; d < D; d++) {
      const z = baseCoord(d, D, ac);
      for (let h = 0; h < H; h++) {
        const yv = baseCoord(h, H, ac);
        for (let w = 0; w < W; w++) {
          const xv = baseCoord(w, W, ac);
          for (let row = 0; row < nd; row++) {
            const tr = t0 + (<usize>(row * (nd + 1)) << 2);
            let acc = <f64>load<f32>(tr) * xv + <f64>load<f32>(tr, 4) * yv;
            if (nd == 3) acc += <f64>load<f32>(tr, 8) * z + <f64>load<f32>(tr, 12);
            else acc += <f64>load<f32>(tr, 8);
            store<f32>(o, <f32>acc);
            o += 4;
          }
        }
      }
    }
  }
}

/**
 * col2im_nd_f32 params: 0 cols [N, M, K0, K1, K2, I0, I1, I2], 1 y [N, M, O0, O1, O2], 2 bias [M]
 * (0: none), 3 N, 4 M, 5..7 K, 8..10 I, 11..13 O, 14..16 strides, 17..19 dilations, 20..22 begin
 * pads. y[n, m, o] = bias[m] + sum of cols[n, m, k, i] over o = i * s - p + k * d per dim (taps
 * outside y dropped): Col2Im and the column folding of 3-D ConvTranspose.
 */
export function col2im_nd_f32(p: usize): void {
  const cols = pa(p, 0), y = pa(p, 1), bias = pa(p, 2), N = pi(p, 3), M = pi(p, 4);
  const K0 = pi(p, 5), K1 = pi(p, 6), K2 = pi(p, 7), I0 = pi(p, 8), I1 = pi(p, 9), I2 = pi(p, 10);
  const O0 = pi(p, 11), O1 = pi(p, 12), O2 = pi(p, 13), s0 = pi(p, 14), s1 = pi(p, 15), s2 = pi(p, 16);
  const d0 = pi(p, 17), d1 = pi(p, 18), d2 = pi(p, 19), p0 = pi(p, 20), p1 = pi(p, 21), p2 = pi(p, 22);
  const OS = O0 * O1 * O2;
  let c = cols;
  for (let nm = 0; nm < N * M; nm++) {
    const yb = y + (<usize>(nm * OS) << 2);
    const b: f32 = bias != 0 ? load<f32>(bias + (<usize>(nm % M) << 2)) : 0;
    for (let i = 0; i < OS; i++) store<f32>(yb + (<usize>i << 2), b);
    for (let k0 = 0; k0 < K0; k0++) {
      for (let k1 = 0; k1 < K1; k1++) {
        for (let k2 = 0; k2 < K2; k2++) {
          for (let i0 = 0; i0 < I0; i0++) {
            const a0 = i0 * s0 - p0 + k0 * d0;
            if (a0 < 0 || a0 >= O0) { c += <usize>(I1 * I2) << 2; continue; }
            for (let i1 = 0; i1 < I1; i1++) {
              const a1 = i1 * s1 - p1 + k1 * d1;
              if (a1 < 0 || a1 >= O1) { c += <usize>I2 << 2; continue; }
              const row = yb + (<usize>((a0 * O1 + a1) * O2) << 2);
              for (let i2 = 0; i2 < I2; i2++) {
                const a2 = i2 * s2 - p2 + k2 * d2;
                if (a2 >= 0 && a2 < O2) {
                  const at = row + (<usize>a2 << 2);
                  store<f32>(at, load<f32>(at) + load<f32>(c));
                }
                c += 4;
              }
            }
          }
        }
      }
    }
  }
}

/**
 * lrn_f32 params: 0 x [N, C, S], 1 y, 2 N, 3 C, 4 S, 5 size, 6 alpha (f32), 7 beta (f32), 8 bias
 * (f32). y = x / (bias + alpha / size * sum of x^2 over channels [c - floor((size-1)/2),
 * c + ceil((size-1)/2)])^beta, in f64.
 */
export function lrn_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), N = pi(p, 2), C = pi(p, 3), S = pi(p, 4), size = pi(p, 5);
  const alpha = <f64>pf(p, 6), beta = <f64>pf(p, 7), bias = <f64>pf(p, 8);
  const lo = (size - 1) / 2, hi = size / 2;
  const a = alpha / <f64>size;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi > C - 1 ? C - 1 : c + hi;
      for (let s = 0; s < S; s++) {
        let sq: f64 = 0;
        for (let k = c0; k <= c1; k++) {
          const v = <f64>load<f32>(x + (<usize>((n * C + k) * S + s) << 2));
          sq += v * v;
        }
        const i = <usize>((n * C + c) * S + s) << 2;
        store<f32>(y + i, <f32>(<f64>load<f32>(x + i) / Math.pow(bias + a * sq, beta)));
      }
    }
  }
}

/**
 * maxunpool_f32 params: 0 x, 1 indices (i64, flat offsets into the unpooled tensor), 2 y, 3 count
 * (elements of x), 4 elements of y, 5..9 unpooled dims, 10..14 y dims (rank lifted to 5 with
 * leading 1s). y = 0, then y[unflatten(idx[j]) placed in y's shape] = x[j]; an index outside the
 * unpooled tensor traps.
 */
export function maxunpool_f32(p: usize): void {
  const x = pa(p, 0), ind = pa(p, 1), y = pa(p, 2), cnt = pi(p, 3), tot = pi(p, 4);
  let inTot: i64 = 1;
  for (let d = 0; d < 5; d++) inTot *= <i64>pi(p, 5 + d);
  for (let i = 0; i < tot; i++) store<f32>(y + (<usize>i << 2), 0);
  for (let j = 0; j < cnt; j++) {
    let f = load<i64>(ind + (<usize>j << 3));
    if (f < 0 || f >= inTot) unreachable();
    let off: i64 = 0, mul: i64 = 1;
    for (let d = 4; d >= 0; d--) {
      const dim = <i64>pi(p, 5 + d);
      const c = f % dim;
      f = f / dim;
      off += c * mul;
      mul *= <i64>pi(p, 10 + d);
    }
    store<f32>(y + (<usize>off << 2), load<f32>(x + (<usize>j << 2)));
  }
}

/**
 * roi_align_f32 params: 0 x [N, C, H, W], 1 rois [R, 4] (x1, y1, x2, y2), 2 batch indices (i64
 * [R]), 3 y [R, C, OH, OW], 4 N, 5 C, 6 H, 7 W, 8 R, 9 OH, 10 OW, 11 sampling_ratio, 12
 * spatial_scale (f32), 13 mode (0 avg, 1 max), 14 half_pixel. Mirrors the reference RoiAlign
 * (compiler/ops/detection.ts): bilinear samples per bin, averaged or maxed (largest weighted
 * corner term); a batch index outside [0, N) traps.
 */
export function roi_align_f32(p: usize): void {
  const x = pa(p, 0), rois = pa(p, 1), bi = pa(p, 2), y = pa(p, 3), N = pi(p, 4), C = pi(p, 5), H = pi(p, 6), W = pi(p, 7);
  const R = pi(p, 8), OH = pi(p, 9), OW = pi(p, 10), sr = pi(p, 11), scale = <f64>pf(p, 12), mode = pi(p, 13), hp = pi(p, 14);
  const off: f64 = hp ? 0.5 : 0;
  const P = OH * OW;
  for (let n = 0; n < R; n++) {
    const b = load<i64>(bi + (<usize>n << 3));
    if (b < 0 || b >= <i64>N) unreachable();
    const rr = rois + (<usize>(n * 4) << 2);
    const x0 = <f64>load<f32>(rr) * scale - off, y0 = <f64>load<f32>(rr, 4) * scale - off;
    let rw = <f64>load<f32>(rr, 8) * scale - off - x0, rh = <f64>load<f32>(rr, 12) * scale - off - y0;
    if (!hp) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
    const binH = rh / <f64>OH, binW = rw / <f64>OW;
    const gh = sr > 0 ? sr : <i32>Math.ceil(rh / <f64>OH);
    const gw = sr > 0 ? sr : <i32>Math.ceil(rw / <f64>OW);
    const count: f64 = gh * gw > 1 ? <f64>(gh * gw) : 1;
    for (let c = 0; c < C; c++) {
      const src = x + (<usize>((<i32>b * C + c) * H * W) << 2);
      for (let ph = 0; ph < OH; ph++) {
        for (let pw = 0; pw < OW; pw++) {
          let acc: f64 = 0;
          let first = true;
          for (let iy = 0; gw > 0 && iy < gh; iy++) {
            let yy = y0 + <f64>ph * binH + ((<f64>iy + 0.5) * binH) / <f64>gh;
            for (let ix = 0; ix < gw; ix++) {
              let xx = x0 + <f64>pw * binW + ((<f64>ix + 0.5) * binW) / <f64>gw;
              let v0: f64 = 0, v1: f64 = 0, v2: f64 = 0, v3: f64 = 0;
              if (!(yy < -1 || yy > <f64>H || xx < -1 || xx > <f64>W)) {
                let sy = Math.max(yy, 0), sx = Math.max(xx, 0);
                let ya = <i32>Math.trunc(sy), xa = <i32>Math.trunc(sx);
                let yb: i32, xb: i32;
                if (ya >= H - 1) { ya = yb = H - 1; sy = <f64>ya; } else yb = ya + 1;
                if (xa >= W - 1) { xa = xb = W - 1; sx = <f64>xa; } else xb = xa + 1;
                const ly = sy - <f64>ya, lx = sx - <f64>xa, hy = 1 - ly, hx = 1 - lx;
                v0 = hy * hx * <f64>load<f32>(src + (<usize>(ya * W + xa) << 2));
                v1 = hy * lx * <f64>load<f32>(src + (<usize>(ya * W + xb) << 2));
                v2 = ly * hx * <f64>load<f32>(src + (<usize>(yb * W + xa) << 2));
                v3 = ly * lx * <f64>load<f32>(src + (<usize>(yb * W + xb) << 2));
              }
              if (mode == 0) acc += v0 + v1 + v2 + v3;
              else {
                const m = Math.max(Math.max(v0, v1), Math.max(v2, v3));
                acc = first ? m : Math.max(acc, m);
              }
              first = false;
            }
          }
          if (mode == 0) acc /= count;
          store<f32>(y + (<usize>((n * C + c) * P + ph * OW + pw) << 2), <f32>acc);
        }
      }
    }
  }
}

/**
 * deform_conv_f32 params: 0 x [N, IC, *dims], 1 w [OC, IC/G, *k], 2 offset [N, OG*K*nd, *out], 3
 * bias [OC] (0: none), 4 mask [N, OG*K, *out] (0: none), 5 y [N, OC, *out], 6 N, 7 IC, 8 OC, 9 G,
 * 10 OG, 11 nd (1..3), 12..14 dims, 15..17 out, 18..20 k, 21..23 strides, 24..26 dilations,
 * 27..29 begin pads (all lifted to 3 dims with leading 1 / 0 entries). Mirrors the reference
 * DeformConv: per (n, offset group, tap, output position) the bilinear sample of each input
 * channel (zero outside x) times the mask, accumulated into the outputs of its group.
 */
export function deform_conv_f32(p: usize): void {
  const x = pa(p, 0), w = pa(p, 1), offs = pa(p, 2), bias = pa(p, 3), mask = pa(p, 4), y = pa(p, 5);
  const N = pi(p, 6), IC = pi(p, 7), OC = pi(p, 8), G = pi(p, 9), OG = pi(p, 10), nd = pi(p, 11);
  const S = pi(p, 12) * pi(p, 13) * pi(p, 14), O = pi(p, 15) * pi(p, 16) * pi(p, 17), K = pi(p, 18) * pi(p, 19) * pi(p, 20);
  const icg = IC / G, ocg = OC / G, icog = IC / OG;
  const lead = 3 - nd;
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>oc << 2)) : 0;
      for (let o = 0; o < O; o++) store<f32>(y + (<usize>((n * OC + oc) * O + o) << 2), b);
    }
    for (let og = 0; og < OG; og++) {
      for (let kk = 0; kk < K; kk++) {
        for (let o = 0; o < O; o++) {
          // 8 corner taps over the 3 lifted dims: offsets in POFF (-1: zero), weights in PW
          for (let t = 0; t < 8; t++) { store<i32>(POFF + (<usize>t << 2), 0); store<f64>(PW + (<usize>t << 3), 1); }
          let oRem = o, kRem = kk, sStr = 1;
          for (let d = 2; d >= 0; d--) {
            const od = oRem % pi(p, 15 + d); oRem /= pi(p, 15 + d);
            const kd = kRem % pi(p, 18 + d); kRem /= pi(p, 18 + d);
            const len = pi(p, 12 + d);
            let pos = <f64>(od * pi(p, 21 + d) - pi(p, 27 + d) + kd * pi(p, 24 + d));
            if (d >= lead) pos += <f64>load<f32>(offs + (<usize>((((n * OG + og) * K + kk) * nd + (d - lead)) * O + o) << 2));
            const i0 = Math.floor(pos);
            const f = pos - i0;
            for (let t = 0; t < 8; t++) {
              const hi = (t >> (2 - d)) & 1;
              const i = <i32>i0 + hi;
              const pt = POFF + (<usize>t << 2);
              if (load<i32>(pt) < 0 || !(i >= 0 && i < len)) { store<i32>(pt, -1); continue; }
              store<i32>(pt, load<i32>(pt) + i * sStr);
              const pw = PW + (<usize>t << 3);
              store<f64>(pw, load<f64>(pw) * (hi ? f : 1 - f));
            }
            sStr *= len;
          }
          const m: f64 = mask != 0 ? <f64>load<f32>(mask + (<usize>(((n * OG + og) * K + kk) * O + o) << 2)) : 1;
          for (let j = 0; j < icog; j++) {
            const ic = og * icog + j;
            const base = x + (<usize>((n * IC + ic) * S) << 2);
            let v: f64 = 0;
            for (let t = 0; t < 8; t++) {
              const to = load<i32>(POFF + (<usize>t << 2));
              const tw = load<f64>(PW + (<usize>t << 3));
              if (to >= 0 && tw != 0) v += tw * <f64>load<f32>(base + (<usize>to << 2));
            }
            v *= m;
            const g = ic / icg;
            const icl = ic - g * icg;
            for (let oc = g * ocg; oc < (g + 1) * ocg; oc++) {
              const wv = <f64>load<f32>(w + (<usize>((oc * icg + icl) * K + kk) << 2));
              const at = y + (<usize>((n * OC + oc) * O + o) << 2);
              store<f32>(at, <f32>(<f64>load<f32>(at) + wv * v));
            }
          }
        }
      }
    }
  }
}
