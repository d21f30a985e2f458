/**
 * Relaxed-SIMD int8 GEMM tile of the QConv GEMM paths (im2col and pointwise), compiled only into
 * the relaxed kernel library (kernels-relaxed.wasm, `--enable relaxed-simd`): convGemm in int8.ts
 * takes it when ASC_FEATURE_RELAXED_SIMD is on and the group's weights fit (rxWeightsFit).
 *
 * Bit-exactness on every engine (runtime-wasm/README.md has the proof): every
 * i32x4.relaxed_dot_i8x16_i7x16_add_s here has its second (i7) operand in [0, 127], where the
 * instruction's result is fully specified (no engine-dependent signedness or i16 saturation: a pair
 * sum is at most 2 * 128 * 127 = 32512 in magnitude).
 *
 * One plane (7-bit activations, `--act-bits 7`): when every packed activation byte x of a tile
 * satisfies b = x + off in [0, 127] (off = 64 for i8 activations, 0 for u8; rxOffsetFits checks the
 * whole tile), b is the i7 operand and the weights w' (|w'| <= 127) the i8 operand:
 * sum_k w'_k x_k = sum_k w'_k b_k - off * sum_k w'_k, one relaxed dot per 16 multiply-adds.
 * Otherwise (some byte outside, e.g. an input beyond the calibrated range) the tile runs the two
 * planes below:
 * - activations a (u8 or i8) enter as the signed operand s = a - 128 (u8: a ^ 0x80) or s = a (i8);
 * - weights w' (= w - zw, |w'| <= 127) as two i7 planes: w' + 127 = u1 + u2, u1 = min(w' + 127, 127),
 *   u2 = w' + 127 - u1, both in [0, 127];
 * - sum_k w'_k a_k = sum_k s_k u1_k + sum_k s_k u2_k - 127 * sum_k s_k + c * sum_k w'_k
 *   (c = 128 for u8, 0 for i8), all in wrapping int32, which is the reference's accumulator.
 *   Padding slots (k >= K) have w' = 0, so u1 + u2 = 127 and s * 127 - 127 * s = 0: any byte there
 *   cancels.
 */
import { prepSlot, storeTile4x8 } from './int8';

/** True when every centered weight of the packed group (Mg4 rows, K2 pairs, i16 pairs) lies in [-127, 127]. */
export function rxWeightsFit(wg: usize, Mg4: i32, K2: i32): bool {
  const n = <usize>(Mg4 * K2) << 2; // bytes
  let bad = i16x8.splat(0);
  const lo = i16x8.splat(-127), hi = i16x8.splat(127);
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    const v = v128.load(wg + i);
    bad = v128.or(bad, v128.or(i16x8.lt_s(v, lo), i16x8.gt_s(v, hi)));
  }
  return !v128.any_true(bad);
}

/**
 * Whether the relaxed tile's scratch fits the plain tile's packed area (P8 * K2 * 4 bytes): signed
 * quads P8 * K4 * 4, pixel sums P8 * 4, weight planes K4 * 32.
 */
export function rxFits(P8: i32, K2: i32): bool {
  const K4 = (K2 + 1) >> 1;
  return K4 * (P8 * 4 + 32) + P8 * 4 <= P8 * K2 * 4;
}

/**
 * Adds `off` to each byte of `n32` 32-byte packed units in place and returns whether every result
 * lies in [0, 127] (the one-plane condition).
 */
export function rxOffsetFits(packed: usize, n32: i32, off: i32): bool {
  const ov = i8x16.splat(<i8>off);
  let acc = i8x16.splat(0);
  let p = packed;
  for (let i = 0; i < n32; i++) {
    const u = i8x16.add(v128.load(p), ov), v = i8x16.add(v128.load(p, 16), ov);
    v128.store(p, u);
    v128.store(p, v, 16);
    acc = v128.or(acc, v128.or(u, v));
    p += 32;
  }
  return i8x16.bitmask(acc) == 0;
}

/** Undoes rxOffsetFits's `off` and applies the two-plane flip (s = x ^ flip) over `n32` units in place. */
export function rxRecenter(packed: usize, n32: i32, off: i32, flip: i32): void {
  const ov = i8x16.splat(<i8>off), fv = i8x16.splat(<i8>flip);
  let p = packed;
  for (let i = 0; i < n32; i++) {
    v128.store(p, v128.xor(i8x16.sub(v128.load(p), ov), fv));
    v128.store(p, v128.xor(i8x16.sub(v128.load(p, 16), ov), fv), 16);
    p += 32;
  }
}

/**
 * 127 * sum_k s_k per pixel of a packed tile (K4 quads, `blocks` blocks of 8 pixels): two i32x4 per
 * block at sums + 32 * blk (pixels 0..3, 4..7), computed once per tile for every row block.
 */
export function rxPixelSums(packed: usize, K4: i32, blocks: i32, sums: usize): void {
  const ones8 = i8x16.splat(1);
  for (let blk = 0; blk < blocks; blk++) {
    let xp = packed + (<usize>(blk * K4) << 5);
    let sa = i32x4.splat(0), sb = i32x4.splat(0);
    for (let j4 = 0; j4 < K4; j4++) {
      sa = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xp), ones8, sa);
      sb = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xp, 16), ones8, sb);
      xp += 32;
    }
    v128.store(sums + (<usize>blk << 5), i32x4.mul(sa, i32x4.splat(127)));
    v128.store(sums + (<usize>blk << 5), i32x4.mul(sb, i32x4.splat(127)), 16);
  }
}

/**
 * Packs K rows of `npix` activation bytes (row k at base + k * stride) as signed quads: per block
 * of 8 pixels and quad j4 (k = 4 j4 .. 4 j4 + 3), 32 bytes [p0 k0..3][p1][p2][p3] [p4]..[p7], each
 * byte a ^ flip (flip 0x80 turns u8 into a - 128). Rows past K and pixels past npix are 0.
 */
export function rxPackRows(base: usize, stride: i32, K: i32, npix: i32, flip: i32, out: usize): void {
  const K4 = (K + 3) >> 2;
  const full = npix >> 3, blocks = (npix + 7) >> 3;
  const fv = i8x16.splat(<i8>flip);
  const z = i8x16.splat(0);
  for (let j4 = 0; j4 < K4; j4++) {
    const k0 = j4 << 2;
    const r0 = base + <usize>(k0 * stride), st = <usize>stride;
    const n1 = k0 + 1 < K, n2 = k0 + 2 < K, n3 = k0 + 3 < K;
    for (let blk = 0; blk < full; blk++) {
      const off = <usize>(blk << 3);
      const a0 = v128.load64_zero(r0 + off);
      const a1 = n1 ? v128.load64_zero(r0 + st + off) : z;
      const a2 = n2 ? v128.load64_zero(r0 + 2 * st + off) : z;
      const a3 = n3 ? v128.load64_zero(r0 + 3 * st + off) : z;
      const z01 = v128.shuffle<u8>(a0, a1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const z23 = v128.shuffle<u8>(a2, a3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const o = out + (<usize>(blk * K4 + j4) << 5);
      v128.store(o, v128.xor(v128.shuffle<i16>(z01, z23, 0, 8, 1, 9, 2, 10, 3, 11), fv));
      v128.store(o, v128.xor(v128.shuffle<i16>(z01, z23, 4, 12, 5, 13, 6, 14, 7, 15), fv), 16);
    }
    if (full < blocks) {
      const o = out + (<usize>(full * K4 + j4) << 5);
      for (let q = 0; q < 8; q++) {
        const px = (full << 3) + q;
        for (let i = 0; i < 4; i++) {
          let b: i32 = 0;
          if (px < npix && k0 + i < K) b = <i32>load<u8>(r0 + <usize>(i * stride + px)) ^ flip;
          store<u8>(o + <usize>((q << 2) + i), <u8>b);
        }
      }
    }
  }
}

/**
 * rxPackRows for a channels-last input: pixel p's K channels at base + p * pstride. Quads past K
 * read the next bytes (they cancel, see the file comment) but never at or past `end`.
 */
export function rxPackNhwc(base: usize, pstride: i32, K: i32, npix: i32, flip: i32, out: usize, end: usize): void {
  const K4 = (K + 3) >> 2;
  const blocks = (npix + 7) >> 3;
  const f32v: u32 = <u32>(flip * 0x01010101);
  for (let blk = 0; blk < blocks; blk++) {
    for (let q = 0; q < 8; q++) {
      const px = (blk << 3) + q;
      const o = out + (<usize>(blk * K4) << 5) + (q < 4 ? <usize>(q << 2) : <usize>(16 + ((q - 4) << 2)));
      if (px >= npix) {
        for (let j4 = 0; j4 < K4; j4++) store<u32>(o + (<usize>j4 << 5), 0);
        continue;
      }
      const src = base + <usize>(px * pstride);
      for (let j4 = 0; j4 < K4; j4++) {
        const at = src + (<usize>j4 << 2);
        let word: u32 = 0;
        if (at + 4 <= end) word = load<u32>(at);
        else for (let i = 0; i < 4; i++) if (at + <usize>i < end) word |= <u32>load<u8>(at + <usize>i) << (<u32>i << 3);
        store<u32>(o + (<usize>j4 << 5), word ^ f32v);
      }
    }
  }
}

/**
 * The relaxed GEMM over a tile packed by rxPackRows / rxPackNhwc (arguments as int8.ts gemmTile,
 * plus the correction c and the plane count). `one`: the tile holds b = x + off in [0, 127]
 * (rxOffsetFits) and c = -off; per 4 output rows the weights (i16 pairs, [K2][4] per row block)
 * become i8 quads at `wbuf` (16 bytes per quad: rows 0..3), and 8 pixels x 4 rows accumulate
 * dot(w', b). Otherwise the tile holds s (rxRecenter), c is the u8 correction (128 or 0), the
 * weights become the two i7 planes (32 bytes per quad: u1 of rows 0..3, then u2) and 127 * S
 * (rxPixelSums at `sums`) is subtracted. Then c * sum w' is added and the shared output stage runs.
 */
export function rxGemmTile(packed: usize, sums: usize, wbuf: usize, wg: usize, K2: i32, Mg: i32, npix: i32, y: usize, OHW: i32, osz: i32,
  s: usize, m0: i32, spill: bool, yEnd: usize, nhwcStride: i32, c: i32, one: bool): void {
  const K4 = (K2 + 1) >> 1;
  const blocks = (npix + 7) >> 3;
  const mb4 = (Mg + 3) >> 2;
  const wstep = <usize>K2 << 4;
  const ones16 = i16x8.splat(1);
  const b127 = i8x16.splat(127), z = i32x4.splat(0);
  for (let mb = 0; mb < mb4; mb++) {
    const wb = wg + <usize>mb * wstep;
    // weights of rows 4mb..4mb+3 -> i8 quads (one plane) or i7 planes; row sums of w'
    let sw = i32x4.splat(0);
    for (let j4 = 0; j4 < K4; j4++) {
      const j = j4 << 1;
      const v0 = v128.load(wb + (<usize>j << 4));
      const v1 = j + 1 < K2 ? v128.load(wb + (<usize>(j + 1) << 4)) : z;
      sw = i32x4.add(sw, i32x4.add(i32x4.dot_i16x8_s(v0, ones16), i32x4.dot_i16x8_s(v1, ones16)));
      const n = v128.shuffle<u8>(i8x16.narrow_i16x8_s(v0, v1), z, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
      if (one) {
        v128.store(wbuf + (<usize>j4 << 4), n);
        continue;
      }
      const u = i8x16.add(n, b127);
      const u1 = i8x16.min_u(u, b127);
      v128.store(wbuf + (<usize>j4 << 5), u1);
      v128.store(wbuf + (<usize>j4 << 5), i8x16.sub(u, u1), 16);
    }
    const corr = i32x4.mul(sw, i32x4.splat(c));
    const c0 = i32x4.splat(i32x4.extract_lane(corr, 0)), c1 = i32x4.splat(i32x4.extract_lane(corr, 1));
    const c2 = i32x4.splat(i32x4.extract_lane(corr, 2)), c3 = i32x4.splat(i32x4.extract_lane(corr, 3));
    for (let r = 0; r < 4; r++) if ((mb << 2) + r < Mg) prepSlot(s, m0 + (mb << 2) + r, r);
    // last block first: its ragged 8-lane stores (spill) land on output written later
    for (let blk = blocks - 1; blk >= 0; blk--) {
      let xp = packed + (<usize>(blk * K4) << 5);
      let wp = wbuf;
      let a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z;
      if (one) {
        for (let j4 = 0; j4 < K4; j4++) {
          const x0 = v128.load(xp);
          const x1 = v128.load(xp, 16);
          let w = v128.load32_splat(wp);
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x0, a0);
          b0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x1, b0);
          w = v128.load32_splat(wp, 4);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x0, a1);
          b1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x1, b1);
          w = v128.load32_splat(wp, 8);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x0, a2);
          b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x1, b2);
          w = v128.load32_splat(wp, 12);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x0, a3);
          b3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x1, b3);
          xp += 32;
          wp += 16;
        }
      } else {
        for (let j4 = 0; j4 < K4; j4++) {
          const x0 = v128.load(xp);
          const x1 = v128.load(xp, 16);
          let w = v128.load32_splat(wp);
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a0);
          b0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b0);
          w = v128.load32_splat(wp, 16);
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a0);
          b0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b0);
          w = v128.load32_splat(wp, 4);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a1);
          b1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b1);
          w = v128.load32_splat(wp, 20);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a1);
          b1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b1);
          w = v128.load32_splat(wp, 8);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a2);
          b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b2);
          w = v128.load32_splat(wp, 24);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a2);
          b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b2);
          w = v128.load32_splat(wp, 12);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a3);
          b3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b3);
          w = v128.load32_splat(wp, 28);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, w, a3);
          b3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, w, b3);
          xp += 32;
          wp += 32;
        }
        // sum w' s = D - 127 S
        const ta = v128.load(sums + (<usize>blk << 5)), tb = v128.load(sums + (<usize>blk << 5), 16);
        a0 = i32x4.sub(a0, ta);
        b0 = i32x4.sub(b0, tb);
        a1 = i32x4.sub(a1, ta);
        b1 = i32x4.sub(b1, tb);
        a2 = i32x4.sub(a2, ta);
        b2 = i32x4.sub(b2, tb);
        a3 = i32x4.sub(a3, ta);
        b3 = i32x4.sub(b3, tb);
      }
      a0 = i32x4.add(a0, c0);
      b0 = i32x4.add(b0, c0);
      a1 = i32x4.add(a1, c1);
      b1 = i32x4.add(b1, c1);
      a2 = i32x4.add(a2, c2);
      b2 = i32x4.add(b2, c2);
      a3 = i32x4.add(a3, c3);
      b3 = i32x4.add(b3, c3);
      storeTile4x8(a0, b0, a1, b1, a2, b2, a3, b3, blk, mb, Mg, npix, y, OHW, osz, spill, yEnd, nhwcStride);
    }
  }
}
