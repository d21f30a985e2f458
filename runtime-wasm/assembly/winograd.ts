/**
 * conv3x3_wino_f32: 3x3 stride-1 convolution with Winograd F(2x2, 3x3): each 4x4 input tile d and
 * 3x3 filter g give a 2x2 output tile Y = A^T [(G g G^T) . (B^T d B)] A, so the 16 elementwise
 * products per tile become 16 GEMMs (K x C times C x tiles) with 2.25x fewer multiplies than a
 * direct or im2col convolution. The filter transform U = G g G^T is done by the compiler.
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * Params: 0 x, 1 U (16 matrices K x C, each packed in 4-row groups as gemmF32's packedA), 2 bias
 * (0: none), 3 y, 4 scratch (winogradScratchBytes), 5 N, 6 C, 7 H, 8 W, 9 K, 10 OH, 11 OW, 12 ph,
 * 13 pw, 14 lo (f32), 15 hi (f32), 16 act kind, 17 a0 (f32), 18 a1 (f32).
 * Requires K >= 4 and at least 8 tiles (Th * Tw4 >= 8, see below).
 */
import { pa, pi, pf, applyActInPlace, pmaxf, pminf } from './common';
import { gemmF32, BIAS_NONE } from './gemm';

/** Tile rows, tile columns rounded up to 4 (the vector width), plane pitch and height. */
@inline function tilesH(OH: i32): i32 { return (OH + 1) >> 1; }
@inline function tilesW4(OW: i32): i32 { return ((((OW + 1) >> 1) + 3) >> 2) << 2; }

/** Scratch bytes of conv3x3_wino_f32 (the compiler mirrors this formula). */
export function winogradScratchBytes(C: i32, K: i32, OH: i32, OW: i32): i32 {
  const Th = tilesH(OH), Tw4 = tilesW4(OW), T = Th * Tw4;
  const Hp = 2 * Th + 2, Wp = 2 * Tw4 + 10;
  return (C * Hp * Wp + 16 * C * T + 16 * K * T + C * 8) * 4 + 16 + 64;
}

/** Column j (0..3) of 4 consecutive tiles (stride-2 tile origins) of the row at p. */
@inline function col4(p: usize, j: i32): v128 {
  if (j == 0) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  if (j == 1) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
  if (j == 2) return v128.shuffle<f32>(v128.load(p, 8), v128.load(p, 24), 0, 2, 4, 6);
  return v128.shuffle<f32>(v128.load(p, 8), v128.load(p, 24), 1, 3, 5, 7);
}

@inline function storeUpTo(y: usize, v: v128, n: i32, tmp: usize): void {
  if (n >= 4) { v128.store(y, v); return; }
  if (n <= 0) return;
  v128.store(tmp, v);
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(tmp + (<usize>i << 2)));
}

export function conv3x3_wino_f32(p: usize): void {
  const x = pa(p, 0), U = pa(p, 1), bias = pa(p, 2), y = pa(p, 3), scratch = pa(p, 4);
  const N = pi(p, 5), C = pi(p, 6), H = pi(p, 7), W = pi(p, 8), K = pi(p, 9), OH = pi(p, 10), OW = pi(p, 11);
  const ph = pi(p, 12), pw = pi(p, 13);
  const lo = pf(p, 14), hi = pf(p, 15), act = pi(p, 16), a0 = pf(p, 17), a1 = pf(p, 18);
  const Th = tilesH(OH), Tw4 = tilesW4(OW), T = Th * Tw4;
  const Hp = 2 * Th + 2, Wp = 2 * Tw4 + 10;
  const plane = <usize>(Hp * Wp) << 2;
  const Xp = scratch;
  const V = Xp + <usize>C * plane;
  const Mx = V + (<usize>(16 * C * T) << 2);
  const pack = Mx + (<usize>(16 * K * T) << 2);
  const tmp = pack + (<usize>(C * 8) << 2);
  const uStride = <usize>(((K + 3) >> 2) * C) << 4;
  memory.fill(Xp, 0, <usize>C * plane);
  for (let n = 0; n < N; n++) {
    const xn = x + (<usize>(n * C * H * W) << 2);
    const yn = y + (<usize>(n * K * OH * OW) << 2);
    // zero-padded planes (borders stay zero: only the interior is rewritten)
    for (let c = 0; c < C; c++) {
      const dst = Xp + <usize>c * plane;
      for (let r = 0; r < H; r++) {
        const row = r + ph;
        if (row >= Hp) break;
        const cnt = W + pw <= Wp ? W : Wp - pw;
        memory.copy(dst + (<usize>(row * Wp + pw) << 2), xn + (<usize>((c * H + r) * W) << 2), <usize>cnt << 2);
      }
    }
    // input transform V[xi][c][t] = (B^T d B)[xi], 4 tiles per vector
    if (ASC_FEATURE_SIMD) {
      for (let c = 0; c < C; c++) {
        const P = Xp + <usize>c * plane;
        for (let ty = 0; ty < Th; ty++) {
          for (let tx = 0; tx < Tw4; tx += 4) {
            const o = (<usize>(2 * tx) << 2);
            const r0 = P + (<usize>(2 * ty * Wp) << 2) + o, r1 = r0 + (<usize>Wp << 2), r2 = r1 + (<usize>Wp << 2), r3 = r2 + (<usize>Wp << 2);
            const vb = V + (<usize>(c * T + ty * Tw4 + tx) << 2);
            const xs = <usize>(C * T) << 2;
            for (let j = 0; j < 4; j++) {
              const d0 = col4(r0, j), d1 = col4(r1, j), d2 = col4(r2, j), d3 = col4(r3, j);
              // B^T d on column j: rows t0..t3
              const t0 = f32x4.sub(d0, d2), t1 = f32x4.add(d1, d2), t2 = f32x4.sub(d2, d1), t3 = f32x4.sub(d1, d3);
              // stash t_i,j in V at xi = i*4 + j; the column transform below reads them back
              v128.store(vb + <usize>(j) * xs, t0);
              v128.store(vb + <usize>(4 + j) * xs, t1);
              v128.store(vb + <usize>(8 + j) * xs, t2);
              v128.store(vb + <usize>(12 + j) * xs, t3);
            }
            for (let i = 0; i < 4; i++) {
              const base = vb + <usize>(i * 4) * xs;
              const u0 = v128.load(base), u1 = v128.load(base + xs), u2 = v128.load(base + 2 * xs), u3 = v128.load(base + 3 * xs);
              v128.store(base, f32x4.sub(u0, u2));
              v128.store(base + xs, f32x4.add(u1, u2));
              v128.store(base + 2 * xs, f32x4.sub(u2, u1));
              v128.store(base + 3 * xs, f32x4.sub(u1, u3));
            }
          }
        }
      }
    } else {
      inputTransformScalar(Xp, plane, V, C, T, Th, Tw4, Wp);
    }
    // 16 GEMMs: Mx[xi] (K x T) = U[xi] (K x C) * V[xi] (C x T)
    for (let xi = 0; xi < 16; xi++) {
      gemmF32(U + <usize>xi * uStride, C, V + (<usize>(xi * C * T) << 2), T, Mx + (<usize>(xi * K * T) << 2), T,
        K, T, C, 1, 0, BIAS_NONE, -Infinity, Infinity, pack, false, true);
    }
    // output transform Y = A^T m A (+ bias, clamp), 4 tiles per vector
    if (ASC_FEATURE_SIMD) {
      const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
      const ms = <usize>(K * T) << 2;
      for (let k = 0; k < K; k++) {
        const vb0 = f32x4.splat(bias == 0 ? <f32>0 : load<f32>(bias + (<usize>k << 2)));
        const yk = yn + (<usize>(k * OH * OW) << 2);
        for (let ty = 0; ty < Th; ty++) {
          for (let tx = 0; tx < Tw4; tx += 4) {
            const mb = Mx + (<usize>(k * T + ty * Tw4 + tx) << 2);
            // s0_j = m0j + m1j + m2j, s1_j = m1j - m2j - m3j
            let s00 = f32x4.splat(0), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (let j = 0; j < 4; j++) {
              const m0 = v128.load(mb + <usize>j * ms), m1 = v128.load(mb + <usize>(4 + j) * ms);
              const m2 = v128.load(mb + <usize>(8 + j) * ms), m3 = v128.load(mb + <usize>(12 + j) * ms);
              const s0 = f32x4.add(f32x4.add(m0, m1), m2), s1 = f32x4.sub(f32x4.sub(m1, m2), m3);
              if (j == 0) { s00 = s0; s10 = s1; } else if (j == 1) { s01 = s0; s11 = s1; } else if (j == 2) { s02 = s0; s12 = s1; } else { s03 = s0; s13 = s1; }
            }
            const y00 = clampv(f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), vb0), vlo, vhi);
            const y01 = clampv(f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), vb0), vlo, vhi);
            const y10 = clampv(f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), vb0), vlo, vhi);
            const y11 = clampv(f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), vb0), vlo, vhi);
            const ox = 2 * tx, oy = 2 * ty;
            const left = OW - ox;
            let row = yk + (<usize>(oy * OW + ox) << 2);
            storeUpTo(row, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), left, tmp);
            storeUpTo(row + 16, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), left - 4, tmp);
            if (oy + 1 < OH) {
              row += <usize>OW << 2;
              storeUpTo(row, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), left, tmp);
              storeUpTo(row + 16, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), left - 4, tmp);
            }
          }
        }
      }
    } else {
      outputTransformScalar(Mx, bias, yn, K, T, Th, Tw4, OH, OW, lo, hi);
    }
    applyActInPlace(yn, K * OH * OW, act, a0, a1);
  }
}

/**
 * The scalar build's input transform: the SIMD loop's lanes one tile at a time (lane l of the
 * vector at tx is tile tx + l), same operations, same V layout: identical results.
 */
function inputTransformScalar(Xp: usize, plane: usize, V: usize, C: i32, T: i32, Th: i32, Tw4: i32, Wp: i32): void {
  const xs = <usize>(C * T) << 2, pitch = <usize>Wp << 2;
  for (let c = 0; c < C; c++) {
    const P = Xp + <usize>c * plane;
    for (let ty = 0; ty < Th; ty++) {
      for (let t = 0; t < Tw4; t++) {
        const r0 = P + (<usize>(2 * ty * Wp) << 2) + (<usize>(2 * t) << 2), r1 = r0 + pitch, r2 = r1 + pitch, r3 = r2 + pitch;
        const vb = V + (<usize>(c * T + ty * Tw4 + t) << 2);
        for (let j = 0; j < 4; j++) {
          const o = <usize>j << 2;
          const d0 = load<f32>(r0 + o), d1 = load<f32>(r1 + o), d2 = load<f32>(r2 + o), d3 = load<f32>(r3 + o);
          store<f32>(vb + <usize>j * xs, d0 - d2);
          store<f32>(vb + <usize>(4 + j) * xs, d1 + d2);
          store<f32>(vb + <usize>(8 + j) * xs, d2 - d1);
          store<f32>(vb + <usize>(12 + j) * xs, d1 - d3);
        }
        for (let i = 0; i < 4; i++) {
          const base = vb + <usize>(i * 4) * xs;
          const u0 = load<f32>(base), u1 = load<f32>(base + xs), u2 = load<f32>(base + 2 * xs), u3 = load<f32>(base + 3 * xs);
          store<f32>(base, u0 - u2);
          store<f32>(base + xs, u1 + u2);
          store<f32>(base + 2 * xs, u2 - u1);
          store<f32>(base + 3 * xs, u1 - u3);
        }
      }
    }
  }
}

/** The scalar build's output transform (+ bias, clamp), one tile at a time, as the SIMD lanes compute it. */
function outputTransformScalar(Mx: usize, bias: usize, yn: usize, K: i32, T: i32, Th: i32, Tw4: i32, OH: i32, OW: i32, lo: f32, hi: f32): void {
  const ms = <usize>(K * T) << 2;
  for (let k = 0; k < K; k++) {
    const b: f32 = bias == 0 ? <f32>0 : load<f32>(bias + (<usize>k << 2));
    const yk = yn + (<usize>(k * OH * OW) << 2);
    for (let ty = 0; ty < Th; ty++) {
      for (let t = 0; t < Tw4; t++) {
        const ox = 2 * t, oy = 2 * ty;
        if (ox >= OW) break;
        const mb = Mx + (<usize>(k * T + ty * Tw4 + t) << 2);
        let s00: f32 = 0, s01: f32 = 0, s02: f32 = 0, s03: f32 = 0, s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0;
        for (let j = 0; j < 4; j++) {
          const m0 = load<f32>(mb + <usize>j * ms), m1 = load<f32>(mb + <usize>(4 + j) * ms);
          const m2 = load<f32>(mb + <usize>(8 + j) * ms), m3 = load<f32>(mb + <usize>(12 + j) * ms);
          const s0 = (m0 + m1) + m2, s1 = (m1 - m2) - m3;
          if (j == 0) { s00 = s0; s10 = s1; } else if (j == 1) { s01 = s0; s11 = s1; } else if (j == 2) { s02 = s0; s12 = s1; } else { s03 = s0; s13 = s1; }
        }
        const row = yk + (<usize>(oy * OW + ox) << 2);
        store<f32>(row, pminf(pmaxf(((s00 + s01) + s02) + b, lo), hi));
        if (ox + 1 < OW) store<f32>(row, pminf(pmaxf(((s01 - s02) - s03) + b, lo), hi), 4);
        if (oy + 1 < OH) {
          const row1 = row + (<usize>OW << 2);
          store<f32>(row1, pminf(pmaxf(((s10 + s11) + s12) + b, lo), hi));
          if (ox + 1 < OW) store<f32>(row1, pminf(pmaxf(((s11 - s12) - s13) + b, lo), hi), 4);
        }
      }
    }
  }
}

@inline function clampv(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(v, lo), hi);
}
