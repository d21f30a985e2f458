/**
 * conv2d_f32 (NCHW activations, OIHW weights as imported).
 * Paths: 1x1/stride 1/no pad -> GEMM directly on the input; depthwise (group == C == K) -> direct
 * kernel (3x3 stride 1 and 2 vectorized over output columns); everything else -> im2col into the
 * scratch buffer + GEMM per group. Conv1d is conv2d with H = 1.
 *
 * Params: 0 x, 1 w, 2 bias (0: none), 3 y, 4 scratch, 5 N, 6 C, 7 H, 8 W, 9 K (out channels),
 * 10 OH, 11 OW, 12 KH, 13 KW, 14 sh, 15 sw, 16 dh, 17 dw, 18 ph (top), 19 pw (left), 20 group,
 * 21 lo (f32), 22 hi (f32), 23 act kind, 24 a0 (f32), 25 a1 (f32), 26 weights packed in 4-row groups
 * (non-depthwise, K / group >= 4; see gemmF32's packedA).
 * Scratch: depthwise: depthwiseScratchBytes; otherwise [im2col matrix, unless 1x1/stride 1/no pad]
 * followed by the GEMM's K x 8 packing buffer (K = C/group * KH * KW floats * 8).
 */
import { pa, pi, pf, applyActInPlace, pmaxf, pminf } from './common';
import { gemmF32, BIAS_ROW, BIAS_NONE } from './gemm';

export function conv2d_f32(p: usize): void {
  const x = pa(p, 0), w = pa(p, 1), bias = pa(p, 2), y = pa(p, 3), scratch = pa(p, 4);
  const N = pi(p, 5), C = pi(p, 6), H = pi(p, 7), W = pi(p, 8), K = pi(p, 9), OH = pi(p, 10), OW = pi(p, 11);
  const KH = pi(p, 12), KW = pi(p, 13), sh = pi(p, 14), sw = pi(p, 15), dh = pi(p, 16), dw = pi(p, 17);
  const ph = pi(p, 18), pw = pi(p, 19), G = pi(p, 20);
  const lo = pf(p, 21), hi = pf(p, 22), act = pi(p, 23), a0 = pf(p, 24), a1 = pf(p, 25), packedA = pi(p, 26) != 0;
  const Cg = C / G, Kg = K / G;
  const HW = H * W, OHW = OH * OW;
  const kdim = Cg * KH * KW;
  for (let n = 0; n < N; n++) {
    const xn = x + (<usize>(n * C * HW) << 2);
    const yn = y + (<usize>(n * K * OHW) << 2);
    if (G == C && G == K && Cg == 1) {
      depthwise(xn, w, bias, yn, scratch, C, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, lo, hi);
    } else {
      const direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && OH == H && OW == W;
      for (let g = 0; g < G; g++) {
        const xg = xn + (<usize>(g * Cg * HW) << 2);
        let B = xg;
        let pack = scratch;
        if (!direct) {
          im2col(xg, scratch, Cg, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw);
          B = scratch;
          pack = scratch + (<usize>(kdim * OHW) << 2);
        }
        const bg: usize = bias == 0 ? <usize>0 : bias + (<usize>(g * Kg) << 2);
        // packed weights: ceil(Kg / 4) row groups of kdim x 4 per conv group (see gemmF32's packedA)
        const wg = packedA ? w + (<usize>(g * ((Kg + 3) >> 2) * kdim) << 4) : w + (<usize>(g * Kg * kdim) << 2);
        gemmF32(wg, kdim, B, OHW, yn + (<usize>(g * Kg * OHW) << 2), OHW,
          Kg, OHW, kdim, 1, bg, bias == 0 ? BIAS_NONE : BIAS_ROW, lo, hi, pack, false, packedA);
      }
    }
    applyActInPlace(yn, K * OHW, act, a0, a1);
  }
}

/** col[(c*KH+kh)*KW+kw][oh*OW+ow] = x[c][oh*sh-ph+kh*dh][ow*sw-pw+kw*dw] (0 outside). */
function im2col(x: usize, col: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32): void {
  let o = col;
  for (let c = 0; c < C; c++) {
    const xc = x + (<usize>(c * H * W) << 2);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        // output columns whose input column is in range: ow*sw - pw + kw*dw in [0, W)
        const off = kw * dw - pw;
        let owLo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        let owHi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw; // first ow with ix >= W
        if (owHi > OW) owHi = OW;
        if (owLo > owHi) owLo = owHi;
        for (let oh = 0; oh < OH; oh++) {
          const iy = oh * sh - ph + kh * dh;
          if (iy < 0 || iy >= H) {
            memory.fill(o, 0, <usize>OW << 2);
            o += <usize>OW << 2;
            continue;
          }
          const row = xc + (<usize>(iy * W) << 2);
          let ow = 0;
          for (; ow < owLo; ow++) { store<f32>(o, 0); o += 4; }
          if (sw == 1) {
            const cnt = owHi - owLo;
            memory.copy(o, row + (<usize>(owLo + off) << 2), <usize>cnt << 2);
            o += <usize>cnt << 2;
            ow = owHi;
          } else {
            let src = row + (<usize>(owLo * sw + off) << 2);
            const step = <usize>sw << 2;
            for (; ow < owHi; ow++) { store<f32>(o, load<f32>(src)); src += step; o += 4; }
          }
          for (; ow < OW; ow++) { store<f32>(o, 0); o += 4; }
        }
      }
    }
  }
}

/** Clamp keeping NaN (pmax(v, lo) = v < lo ? lo : v; one instruction each on x86). */
@inline function clampv(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(v, lo), hi);
}

/** Geometry of the zero-padded plane the depthwise kernels read (see depthwiseScratchBytes). */
@inline function padW(W: i32, OW: i32, KW: i32, sw: i32, pw: i32): i32 {
  const need = ((OW + 3) & ~3) * sw + KW + 8;
  const w = W + pw > need ? W + pw : need;
  return (w + 3) & ~3;
}
@inline function padH(H: i32, OH: i32, KH: i32, sh: i32, ph: i32): i32 {
  const need = (OH - 1) * sh + KH;
  return H + ph > need ? H + ph : need;
}

/** Scratch bytes conv2d_f32 needs for a depthwise layer (the compiler mirrors this formula). */
export function depthwiseScratchBytes(H: i32, W: i32, OH: i32, OW: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  return padH(H, OH, KH, sh, ph) * padW(W, OW, KW, sw, pw) * 4 + 64;
}

/**
 * Depthwise convolution, one channel at a time. Each input plane is copied into a zero-padded
 * plane in scratch (borders are zeroed once per call), so the output loops are branch-free and
 * vectorized over 4 output columns for strides 1 and 2 (dilation 1); other cases use dwGeneric.
 */
function depthwise(x: usize, w: usize, bias: usize, y: usize, scratch: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, lo: f32, hi: f32): void {
  const vec = dh == 1 && dw == 1 && (sw == 1 || sw == 2);
  const Wp = padW(W, OW, KW, sw, pw), Hp = padH(H, OH, KH, sh, ph);
  const tmp = scratch + (<usize>(Hp * Wp) << 2);
  if (vec) memory.fill(scratch, 0, <usize>(Hp * Wp) << 2);
  for (let c = 0; c < C; c++) {
    const xc = x + (<usize>(c * H * W) << 2);
    const wc = w + (<usize>(c * KH * KW) << 2);
    const yc = y + (<usize>(c * OH * OW) << 2);
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>c << 2));
    if (!vec) {
      dwGeneric(xc, wc, b, yc, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, lo, hi);
      continue;
    }
    for (let r = 0; r < H; r++) {
      memory.copy(scratch + (<usize>((r + ph) * Wp + pw) << 2), xc + (<usize>(r * W) << 2), <usize>W << 2);
    }
    if (ASC_FEATURE_SIMD) {
      if (KH == 3 && KW == 3) dw3x3(scratch, Wp, wc, b, yc, OH, OW, sh, sw, lo, hi, tmp);
      else dwPlane(scratch, Wp, wc, b, yc, OH, OW, KH, KW, sh, sw, lo, hi, tmp);
    } else {
      dwPlaneScalar(scratch, Wp, wc, b, yc, OH, OW, KH, KW, sh, sw, lo, hi);
    }
  }
}

/** Stores the first `n` (< 4) lanes of v at y through the 16-byte temporary `tmp`. */
@inline function storePartial(y: usize, v: v128, n: i32, tmp: usize): void {
  v128.store(tmp, v);
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(tmp + (<usize>i << 2)));
}

/** 4 consecutive stride-2 samples starting at p + kw (kw in 0..2 via the loads' offsets). */
@inline function even4(p: usize, kw: i32): v128 {
  if (kw == 0) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  if (kw == 1) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
  return v128.shuffle<f32>(v128.load(p, 8), v128.load(p, 24), 0, 2, 4, 6);
}

/** 3x3 depthwise on a padded plane (pitch Wp floats), strides sh, sw in {1, 2}. */
function dw3x3(P: usize, Wp: i32, w: usize, b: f32, y: usize, OH: i32, OW: i32, sh: i32, sw: i32, lo: f32, hi: f32, tmp: usize): void {
  const v0 = v128.load32_splat(w), v1 = v128.load32_splat(w, 4), v2 = v128.load32_splat(w, 8);
  const v3 = v128.load32_splat(w, 12), v4 = v128.load32_splat(w, 16), v5 = v128.load32_splat(w, 20);
  const v6 = v128.load32_splat(w, 24), v7 = v128.load32_splat(w, 28), v8 = v128.load32_splat(w, 32);
  const vb = f32x4.splat(b), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  const pitch = <usize>Wp << 2;
  let oh0 = 0;
  if (sh == 1 && sw == 1) {
    // two output rows per pass: they share two of their four input rows, and their two
    // accumulators are independent chains (each still adds bias, then kh, kw ascending)
    for (; oh0 + 2 <= OH; oh0 += 2) {
      const r0 = P + <usize>oh0 * pitch, r1 = r0 + pitch, r2 = r1 + pitch, r3 = r2 + pitch;
      const ya = y + (<usize>(oh0 * OW) << 2), yb = ya + (<usize>OW << 2);
      for (let ow = 0; ow < OW; ow += 4) {
        const o = <usize>ow << 2;
        let a = vb, c = vb;
        a = f32x4.add(a, f32x4.mul(v0, v128.load(r0 + o)));
        a = f32x4.add(a, f32x4.mul(v1, v128.load(r0 + o, 4)));
        a = f32x4.add(a, f32x4.mul(v2, v128.load(r0 + o, 8)));
        let x0 = v128.load(r1 + o), x1 = v128.load(r1 + o, 4), x2 = v128.load(r1 + o, 8);
        a = f32x4.add(a, f32x4.mul(v3, x0));
        c = f32x4.add(c, f32x4.mul(v0, x0));
        a = f32x4.add(a, f32x4.mul(v4, x1));
        c = f32x4.add(c, f32x4.mul(v1, x1));
        a = f32x4.add(a, f32x4.mul(v5, x2));
        c = f32x4.add(c, f32x4.mul(v2, x2));
        x0 = v128.load(r2 + o); x1 = v128.load(r2 + o, 4); x2 = v128.load(r2 + o, 8);
        a = f32x4.add(a, f32x4.mul(v6, x0));
        c = f32x4.add(c, f32x4.mul(v3, x0));
        a = f32x4.add(a, f32x4.mul(v7, x1));
        c = f32x4.add(c, f32x4.mul(v4, x1));
        a = f32x4.add(a, f32x4.mul(v8, x2));
        c = f32x4.add(c, f32x4.mul(v5, x2));
        c = f32x4.add(c, f32x4.mul(v6, v128.load(r3 + o)));
        c = f32x4.add(c, f32x4.mul(v7, v128.load(r3 + o, 4)));
        c = f32x4.add(c, f32x4.mul(v8, v128.load(r3 + o, 8)));
        a = clampv(a, vlo, vhi);
        c = clampv(c, vlo, vhi);
        if (ow + 4 <= OW) {
          v128.store(ya + o, a);
          v128.store(yb + o, c);
        } else {
          storePartial(ya + o, a, OW - ow, tmp);
          storePartial(yb + o, c, OW - ow, tmp);
        }
      }
    }
  }
  for (let oh = oh0; oh < OH; oh++) {
    const r0 = P + <usize>(oh * sh) * pitch, r1 = r0 + pitch, r2 = r1 + pitch;
    const yr = y + (<usize>(oh * OW) << 2);
    for (let ow = 0; ow < OW; ow += 4) {
      let acc = vb;
      if (sw == 1) {
        const o = <usize>ow << 2;
        acc = f32x4.add(acc, f32x4.mul(v0, v128.load(r0 + o)));
        acc = f32x4.add(acc, f32x4.mul(v1, v128.load(r0 + o, 4)));
        acc = f32x4.add(acc, f32x4.mul(v2, v128.load(r0 + o, 8)));
        acc = f32x4.add(acc, f32x4.mul(v3, v128.load(r1 + o)));
        acc = f32x4.add(acc, f32x4.mul(v4, v128.load(r1 + o, 4)));
        acc = f32x4.add(acc, f32x4.mul(v5, v128.load(r1 + o, 8)));
        acc = f32x4.add(acc, f32x4.mul(v6, v128.load(r2 + o)));
        acc = f32x4.add(acc, f32x4.mul(v7, v128.load(r2 + o, 4)));
        acc = f32x4.add(acc, f32x4.mul(v8, v128.load(r2 + o, 8)));
      } else {
        const o = <usize>ow << 3;
        acc = f32x4.add(acc, f32x4.mul(v0, even4(r0 + o, 0)));
        acc = f32x4.add(acc, f32x4.mul(v1, even4(r0 + o, 1)));
        acc = f32x4.add(acc, f32x4.mul(v2, even4(r0 + o, 2)));
        acc = f32x4.add(acc, f32x4.mul(v3, even4(r1 + o, 0)));
        acc = f32x4.add(acc, f32x4.mul(v4, even4(r1 + o, 1)));
        acc = f32x4.add(acc, f32x4.mul(v5, even4(r1 + o, 2)));
        acc = f32x4.add(acc, f32x4.mul(v6, even4(r2 + o, 0)));
        acc = f32x4.add(acc, f32x4.mul(v7, even4(r2 + o, 1)));
        acc = f32x4.add(acc, f32x4.mul(v8, even4(r2 + o, 2)));
      }
      acc = clampv(acc, vlo, vhi);
      if (ow + 4 <= OW) v128.store(yr + (<usize>ow << 2), acc);
      else storePartial(yr + (<usize>ow << 2), acc, OW - ow, tmp);
    }
  }
}

/** Any KHxKW depthwise on a padded plane, strides in {1, 2}, dilation 1. */
function dwPlane(P: usize, Wp: i32, w: usize, b: f32, y: usize, OH: i32, OW: i32, KH: i32, KW: i32, sh: i32, sw: i32,
  lo: f32, hi: f32, tmp: usize): void {
  const vb = f32x4.splat(b), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  const pitch = <usize>Wp << 2;
  for (let oh = 0; oh < OH; oh++) {
    const yr = y + (<usize>(oh * OW) << 2);
    for (let ow = 0; ow < OW; ow += 4) {
      let acc = vb;
      for (let kh = 0; kh < KH; kh++) {
        const r = P + <usize>(oh * sh + kh) * pitch + (<usize>(ow * sw) << 2);
        const wr = w + (<usize>(kh * KW) << 2);
        for (let kw = 0; kw < KW; kw++) {
          const wv = v128.load32_splat(wr + (<usize>kw << 2));
          const p = r + (<usize>kw << 2);
          const xv = sw == 1 ? v128.load(p) : v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
          acc = f32x4.add(acc, f32x4.mul(wv, xv));
        }
      }
      acc = clampv(acc, vlo, vhi);
      if (ow + 4 <= OW) v128.store(yr + (<usize>ow << 2), acc);
      else storePartial(yr + (<usize>ow << 2), acc, OW - ow, tmp);
    }
  }
}

/**
 * The scalar build's dw3x3 / dwPlane: each output lane on its own, with the same operations in the
 * same order (bias, then kh, kw ascending; clamp as pmin(pmax(acc, lo), hi)): identical results.
 */
function dwPlaneScalar(P: usize, Wp: i32, w: usize, b: f32, y: usize, OH: i32, OW: i32, KH: i32, KW: i32, sh: i32, sw: i32,
  lo: f32, hi: f32): void {
  const pitch = <usize>Wp << 2;
  for (let oh = 0; oh < OH; oh++) {
    const yr = y + (<usize>(oh * OW) << 2);
    for (let ow = 0; ow < OW; ow++) {
      let acc = b;
      for (let kh = 0; kh < KH; kh++) {
        const r = P + <usize>(oh * sh + kh) * pitch + (<usize>(ow * sw) << 2);
        const wr = w + (<usize>(kh * KW) << 2);
        for (let kw = 0; kw < KW; kw++) acc += load<f32>(wr + (<usize>kw << 2)) * load<f32>(r + (<usize>kw << 2));
      }
      store<f32>(yr + (<usize>ow << 2), pminf(pmaxf(acc, lo), hi));
    }
  }
}

function dwGeneric(x: usize, w: usize, b: f32, y: usize, H: i32, W: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, lo: f32, hi: f32): void {
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      let s = b;
      for (let kh = 0; kh < KH; kh++) {
        const iy = oh * sh - ph + kh * dh;
        if (iy < 0 || iy >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const ix = ow * sw - pw + kw * dw;
          if (ix < 0 || ix >= W) continue;
          s += load<f32>(x + (<usize>(iy * W + ix) << 2)) * load<f32>(w + (<usize>(kh * KW + kw) << 2));
        }
      }
      store<f32>(y + (<usize>(oh * OW + ow) << 2), Mathf.min(Mathf.max(s, lo), hi));
    }
  }
}
