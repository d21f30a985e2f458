/**
 * Separable 2-D max pooling (f32, NCHW, dilation 1): the fast path of MaxPool next to the general
 * pool2d_f32 (nn.ts).
 */
import { pa, pi } from './common';

/**
 * maxpool2d_f32 params: 0 x, 1 y, 2 planes (N*C), 3 H, 4 W, 5 OH, 6 OW, 7 KH, 8 KW, 9 sh, 10 sw,
 * 11 ph (top pad), 12 pw (left pad), 13 scratch (maxpool2dScratch floats).
 *
 * max over a window = max over its columns of the max over its rows, so each output row first takes
 * the elementwise max of its KH input rows (SIMD along W) into a padded scratch row
 * tp[j] = rowmax[j - pw] (-inf outside the input), then each output the max of
 * tp[ow*sw .. ow*sw + KW) (SIMD over four outputs for strides 1 and 2). A window is clipped to the
 * input (pads and ceil-mode overhang contribute nothing); an empty window gives -inf; a NaN in a
 * window gives NaN (f32.max propagates it), as the reference kernel.
 */
export function maxpool2d_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), P = pi(p, 2), H = pi(p, 3), W = pi(p, 4), OH = pi(p, 5), OW = pi(p, 6);
  const KH = pi(p, 7), KW = pi(p, 8), sh = pi(p, 9), sw = pi(p, 10), ph = pi(p, 11), pw = pi(p, 12);
  const tp = pa(p, 13);
  const t = tp + (<usize>pw << 2);
  const rowBytes = <usize>W << 2;
  const W4 = W & ~3;
  const OW4 = ASC_FEATURE_SIMD && (sw == 1 || sw == 2) ? OW & ~3 : 0;
  // -inf margins of the padded row (the row max fills [pw, pw + W)); the SIMD column max reads up
  // to 8 floats past the last window
  const padded = (OW - 1) * sw + KW + 8;
  for (let j = 0; j < pw; j++) store<f32>(tp + (<usize>j << 2), <f32>-Infinity);
  for (let j = pw + W; j < padded; j++) store<f32>(tp + (<usize>j << 2), <f32>-Infinity);
  let o = y;
  for (let c = 0; c < P; c++) {
    const xc = x + <usize>c * <usize>H * rowBytes;
    for (let oh = 0; oh < OH; oh++) {
      const iy = oh * sh - ph;
      const y0 = max(iy, 0), y1 = min(iy + KH, H);
      if (y0 >= y1) {
        for (let ow = 0; ow < OW; ow++) store<f32>(o + (<usize>ow << 2), <f32>-Infinity);
        o += <usize>OW << 2;
        continue;
      }
      // the row max of input rows y0..y1 into t
      const r = xc + <usize>y0 * rowBytes;
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        for (; i < W4; i += 4) v128.store(t + (<usize>i << 2), v128.load(r + (<usize>i << 2)));
      }
      for (; i < W; i++) store<f32>(t + (<usize>i << 2), load<f32>(r + (<usize>i << 2)));
      for (let yy = y0 + 1; yy < y1; yy++) {
        const rr = xc + <usize>yy * rowBytes;
        i = 0;
        if (ASC_FEATURE_SIMD) {
          for (; i < W4; i += 4) {
            const q = <usize>i << 2;
            v128.store(t + q, f32x4.max(v128.load(t + q), v128.load(rr + q)));
          }
        }
        for (; i < W; i++) {
          const q = <usize>i << 2;
          store<f32>(t + q, Mathf.max(load<f32>(t + q), load<f32>(rr + q)));
        }
      }
      // the column max: output ow = max of tp[ow*sw + k], k < KW
      let ow = 0;
      if (ASC_FEATURE_SIMD) {
        if (sw == 1) {
          for (; ow < OW4; ow += 4) {
            const q = tp + (<usize>ow << 2);
            let m = v128.load(q);
            for (let k = 1; k < KW; k++) m = f32x4.max(m, v128.load(q + (<usize>k << 2)));
            v128.store(o + (<usize>ow << 2), m);
          }
        } else {
          // stride 2: the even lanes of two loads are four consecutive windows' k-th entries
          for (; ow < OW4; ow += 4) {
            const q = tp + (<usize>ow << 3);
            let m = v128.shuffle<f32>(v128.load(q), v128.load(q, 16), 0, 2, 4, 6);
            for (let k = 1; k < KW; k++) {
              const qk = q + (<usize>k << 2);
              m = f32x4.max(m, v128.shuffle<f32>(v128.load(qk), v128.load(qk, 16), 0, 2, 4, 6));
            }
            v128.store(o + (<usize>ow << 2), m);
          }
        }
      }
      for (; ow < OW; ow++) {
        const q = tp + (<usize>(ow * sw) << 2);
        let m: f32 = load<f32>(q);
        for (let k = 1; k < KW; k++) m = Mathf.max(m, load<f32>(q + (<usize>k << 2)));
        store<f32>(o + (<usize>ow << 2), m);
      }
      o += <usize>OW << 2;
    }
  }
}
