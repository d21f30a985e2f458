/**
 * MaxPool / AveragePool / LpPool on 1-, 2- or 3-D windows with f64 accumulation, and MaxPool's Indices
 * output (i64): the general twin of pool2d_f32 (nn.ts), used for 3-D pools and when Indices is
 * read. Spatial dims are lifted to 3 (leading 1s).
 */
import { pa, pf, pi } from './common';

/** Taps k in [0, K) with lo <= o*s - p + k*d < hi. */
@inline function taps(o: i32, s: i32, p: i32, d: i32, K: i32, lo: i32, hi: i32): i32 {
  let c = 0;
  const start = o * s - p;
  for (let k = 0; k < K; k++) {
    const i = start + k * d;
    if (i >= lo && i < hi) c++;
  }
  return c;
}

/**
 * pool3d_f32 params: 0 x, 1 y, 2 indices (i64; 0: none), 3 planes (N*C), 4..6 input D, H, W,
 * 7..9 output dims, 10..12 kernel, 13..15 strides, 16..18 dilations, 19..21 begin pads, 22..24 end
 * pads, 25 kind (0 max, 1 avg over the valid taps, 2 avg counting the pads, 3 Lp norm: LpPool),
 * 26 storage_order (indices: 0 row-major, 1 spatial dims column-major), 27 p of LpPool (f32). Max: the first maximum of the window
 * (padding excluded), its flat index over the whole input.
 */
export function pool3d_f32(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), ind = pa(p, 2), P = pi(p, 3);
  const ID = pi(p, 4), IH = pi(p, 5), IW = pi(p, 6), OD = pi(p, 7), OH = pi(p, 8), OW = pi(p, 9);
  const KD = pi(p, 10), KH = pi(p, 11), KW = pi(p, 12), SD = pi(p, 13), SH = pi(p, 14), SW = pi(p, 15);
  const DD = pi(p, 16), DH = pi(p, 17), DW = pi(p, 18), PD = pi(p, 19), PH = pi(p, 20), PW = pi(p, 21);
  const ED = pi(p, 22), EH = pi(p, 23), EW = pi(p, 24), kind = pi(p, 25), so = pi(p, 26);
  const lp = <f64>pf(p, 27);
  const inPlane = ID * IH * IW;
  let yi = 0;
  for (let pl = 0; pl < P; pl++) {
    const xOff = pl * inPlane;
    for (let od = 0; od < OD; od++) {
      const d0 = od * SD - PD;
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * SH - PH;
        for (let ow = 0; ow < OW; ow++, yi++) {
          const w0 = ow * SW - PW;
          let best: f64 = -Infinity;
          let bi = -1;
          let acc: f64 = 0;
          for (let kd = 0; kd < KD; kd++) {
            const id = d0 + kd * DD;
            if (id < 0 || id >= ID) continue;
            for (let kh = 0; kh < KH; kh++) {
              const ih = h0 + kh * DH;
              if (ih < 0 || ih >= IH) continue;
              const row = xOff + (id * IH + ih) * IW;
              for (let kw = 0; kw < KW; kw++) {
                const iw = w0 + kw * DW;
                if (iw < 0 || iw >= IW) continue;
                const v = <f64>load<f32>(x + (<usize>(row + iw) << 2));
                if (kind == 0) {
                  if (v > best || bi < 0) { best = v; bi = so == 0 ? row + iw : xOff + id + ih * ID + iw * ID * IH; }
                } else if (kind == 3) acc += lp == 2 ? v * v : Math.pow(Math.abs(v), lp);
                else acc += v;
              }
            }
          }
          let r: f64;
          if (kind == 0) r = best;
          else if (kind == 3) r = lp == 2 ? Math.sqrt(acc) : Math.pow(acc, 1 / lp);
          else {
            const inc = kind == 2;
            const cnt = inc
              ? taps(od, SD, PD, DD, KD, -PD, ID + ED) * taps(oh, SH, PH, DH, KH, -PH, IH + EH) * taps(ow, SW, PW, DW, KW, -PW, IW + EW)
              : taps(od, SD, PD, DD, KD, 0, ID) * taps(oh, SH, PH, DH, KH, 0, IH) * taps(ow, SW, PW, DW, KW, 0, IW);
            r = acc / <f64>cnt;
          }
          store<f32>(y + (<usize>yi << 2), <f32>r);
          if (ind != 0) store<i64>(ind + (<usize>yi << 3), <i64>bi);
        }
      }
    }
  }
}
