/**
 * Op family: object detection (NonMaxSuppression, TfNonMaxSuppression, RoiAlign, DeformConv).
 *
 * NonMaxSuppression follows the ONNX reference / onnxruntime algorithm (greedy selection per batch
 * and class, candidates in descending score order with ties broken by the lower box index); its
 * IoU arithmetic is done in the boxes' precision so threshold boundaries decide as they do there.
 * RoiAlign and DeformConv sample with bilinear interpolation in float64.
 */
import { DType } from '../ir/dtype.js';
import { Dim, Tensor, numel } from '../ir/tensor.js';
import { DEFAULT_LIMITS, invalid, limit } from '../errors.js';
import { defineOp, need } from './registry.js';

/** Float64 copy of a tensor's values. */
function f64Of(t: Tensor): Float64Array {
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return Float64Array.from(t.data);
  const b = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) b[i] = t.get(i);
  return b;
}

/** A tensor of `dtype` from float64 values (rounded to the dtype by Tensor.set). */
function fromF64(dtype: DType, shape: readonly number[], buf: Float64Array): Tensor {
  if (dtype === 'f64') return new Tensor('f64', shape, buf);
  if (dtype === 'f32') return new Tensor('f32', shape, Float32Array.from(buf));
  const res = Tensor.zeros(dtype, shape);
  for (let i = 0; i < buf.length; i++) res.set(i, buf[i]!);
  return res;
}

/** Throws a 'limit' error when a result of `n` elements would exceed the tensor size limit. */
function checkElems(n: number, what: string): void {
  if (!(n <= DEFAULT_LIMITS.maxTensorBytes / 8)) throw limit(`${what}: ${n} elements exceed the tensor size limit`);
}

/**
 * Most inner steps one reference kernel call may take before it reports a 'limit' error: RoiAlign's
 * sampling grid grows with the roi *values* (a huge roi means a huge grid), so this guards against
 * hangs on hostile data; realistic detection heads need well under 2^28.
 */
const MAX_WORK = 2 ** 28;

/** Throws a 'limit' error when a kernel would take more than MAX_WORK inner steps. */
function checkWork(w: number, what: string): void {
  if (!(w <= MAX_WORK)) throw limit(`${what}: ${w.toExponential(2)} steps exceed the reference kernel work limit`);
}

function elems(s: readonly Dim[]): number {
  return s.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
}

// ---------------------------------------------------------------------------------------------
// NonMaxSuppression
// ---------------------------------------------------------------------------------------------

/** Box corners (min, max per axis) of box i, in the format given by center_point_box. */
function corners(b: Float64Array, i: number, center: boolean, r: (x: number) => number): [number, number, number, number] {
  const o = i * 4;
  if (center) {
    // [x_center, y_center, width, height]
    const hw = r(b[o + 2]! / 2);
    const hh = r(b[o + 3]! / 2);
    return [r(b[o]! - hw), r(b[o]! + hw), r(b[o + 1]! - hh), r(b[o + 1]! + hh)];
  }
  // [y1, x1, y2, x2], either diagonal
  const [y1, x1, y2, x2] = [b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!];
  return [Math.min(x1, x2), Math.max(x1, x2), Math.min(y1, y2), Math.max(y1, y2)];
}

/** True when IoU(box i, box j) > threshold; degenerate (empty) boxes never suppress. */
function suppresses(b: Float64Array, i: number, j: number, center: boolean, thr: number, r: (x: number) => number): boolean {
  const [ax0, ax1, ay0, ay1] = corners(b, i, center, r);
  const [bx0, bx1, by0, by1] = corners(b, j, center, r);
  const ix0 = Math.max(ax0, bx0);
  const ix1 = Math.min(ax1, bx1);
  if (ix1 <= ix0) return false;
  const iy0 = Math.max(ay0, by0);
  const iy1 = Math.min(ay1, by1);
  if (iy1 <= iy0) return false;
  const inter = r(r(ix1 - ix0) * r(iy1 - iy0));
  if (inter <= 0) return false;
  const areaA = r(r(ax1 - ax0) * r(ay1 - ay0));
  const areaB = r(r(bx1 - bx0) * r(by1 - by0));
  const union = r(r(areaA + areaB) - inter);
  if (areaA <= 0 || areaB <= 0 || union <= 0) return false;
  return r(inter / union) > thr;
}

/** Optional scalar input (absent or empty -> undefined). */
function optScalar(t: Tensor | null | undefined, what: string): number | undefined {
  if (!t || t.size === 0) return undefined;
  if (t.size !== 1) throw invalid(`NonMaxSuppression: ${what} must hold one value, got shape [${t.shape.join(',')}]`);
  return t.get(0);
}

// NonMaxSuppression(boxes[B,N,4], scores[B,C,N], max_per_class?, iou_threshold?, score_threshold?)
//   -> int64 [selected, 3] rows (batch, class, box): greedy per (batch, class) over boxes with
//      score > score_threshold, highest score first, dropping boxes whose IoU with a kept box
//      exceeds iou_threshold, at most max_output_boxes_per_class (default 0: none) per class
export const NonMaxSuppression = defineOp<{ center: boolean }>({
  name: 'NonMaxSuppression',
  domain: '',
  since: 10,
  arity: [2, 5],
  attrs: (r) => {
    const c = r.int('center_point_box', 0);
    if (c !== 0 && c !== 1) throw r.error(`NonMaxSuppression: center_point_box must be 0 or 1, got ${c}`);
    return { center: c === 1 };
  },
  infer: (ctx) => {
    const b = need(ctx.inputs[0], 0, 'NonMaxSuppression');
    const s = need(ctx.inputs[1], 1, 'NonMaxSuppression');
    if (b.shape.length !== 3) throw invalid(`NonMaxSuppression: boxes must be [batch, boxes, 4], got rank ${b.shape.length}`);
    if (s.shape.length !== 3) throw invalid(`NonMaxSuppression: scores must be [batch, classes, boxes], got rank ${s.shape.length}`);
    return [{ dtype: 'i64', shape: [ctx.freshDim('selected'), 3] }];
  },
  ref: (ins, a) => {
    const boxes = need(ins[0], 0, 'NonMaxSuppression');
    const scores = need(ins[1], 1, 'NonMaxSuppression');
    if (boxes.shape.length !== 3 || boxes.shape[2] !== 4) {
      throw invalid(`NonMaxSuppression: boxes must be [batch, boxes, 4], got [${boxes.shape.join(',')}]`);
    }
    const [B, N] = boxes.shape as [number, number];
    if (scores.shape.length !== 3 || scores.shape[0] !== B || scores.shape[2] !== N) {
      throw invalid(`NonMaxSuppression: scores shape [${scores.shape.join(',')}] does not match boxes [${boxes.shape.join(',')}]`);
    }
    const C = scores.shape[1]!;
    const maxPer = Math.max(optScalar(ins[2], 'max_output_boxes_per_class') ?? 0, 0);
    const iouThr = optScalar(ins[3], 'iou_threshold') ?? 0;
    const scoreThr = optScalar(ins[4], 'score_threshold');
    // arithmetic in the boxes' precision (float32 rounding after each step for f32/f16 inputs)
    const r = boxes.dtype === 'f64' ? (x: number) => x : Math.fround;
    const bv = f64Of(boxes);
    const sv = f64Of(scores);
    const rows: number[] = [];
    for (let b = 0; b < B; b++) {
      const bb = bv.subarray(b * N * 4, (b + 1) * N * 4);
      for (let c = 0; c < C; c++) {
        const base = (b * C + c) * N;
        const cand: number[] = [];
        for (let i = 0; i < N; i++) if (scoreThr === undefined || sv[base + i]! > scoreThr) cand.push(i);
        cand.sort((p, q) => sv[base + q]! - sv[base + p]! || p - q);
        const kept: number[] = [];
        for (const i of cand) {
          if (kept.length >= maxPer) break;
          if (kept.every((j) => !suppresses(bb, i, j, a.center, iouThr, r))) {
            kept.push(i);
            rows.push(b, c, i);
          }
        }
      }
    }
    return [Tensor.from('i64', [rows.length / 3, 3], rows)];
  },
  cost: (ctx) => {
    const s = ctx.inputs[1]!.shape;
    const n = typeof s[2] === 'number' ? s[2] : 1;
    return { macs: 0, flops: elems(s) * n * 10 };
  },
});

// ---------------------------------------------------------------------------------------------
// TfNonMaxSuppression (TensorFlow NonMaxSuppressionV5 with soft-NMS)
// ---------------------------------------------------------------------------------------------

/** TF's IoU of boxes i and j ([y1, x1, y2, x2], either diagonal), in float64 as tfjs-core computes it. */
function tfIou(b: Float64Array, i: number, j: number): number {
  const yminI = Math.min(b[4 * i]!, b[4 * i + 2]!);
  const xminI = Math.min(b[4 * i + 1]!, b[4 * i + 3]!);
  const ymaxI = Math.max(b[4 * i]!, b[4 * i + 2]!);
  const xmaxI = Math.max(b[4 * i + 1]!, b[4 * i + 3]!);
  const yminJ = Math.min(b[4 * j]!, b[4 * j + 2]!);
  const xminJ = Math.min(b[4 * j + 1]!, b[4 * j + 3]!);
  const ymaxJ = Math.max(b[4 * j]!, b[4 * j + 2]!);
  const xmaxJ = Math.max(b[4 * j + 1]!, b[4 * j + 3]!);
  const areaI = (ymaxI - yminI) * (xmaxI - xminI);
  const areaJ = (ymaxJ - yminJ) * (xmaxJ - xminJ);
  if (areaI <= 0 || areaJ <= 0) return 0;
  const inter = Math.max(Math.min(ymaxI, ymaxJ) - Math.max(yminI, yminJ), 0) * Math.max(Math.min(xmaxI, xmaxJ) - Math.max(xminI, xminJ), 0);
  return inter / (areaI + areaJ - inter);
}

interface SoftCand { score: number; box: number; begin: number }

/** Candidate order: ascending score, ties: higher box index first (pops lower index first). */
const candCmp = (a: SoftCand, b: SoftCand): number => a.score - b.score || b.box - a.box;

// TfNonMaxSuppression(boxes [N, 4], scores [N], max_output_size, iou_threshold, score_threshold,
// soft_nms_sigma) -> (selected_indices int32 [M], selected_scores [M], valid_outputs int32 []),
// TensorFlow's NonMaxSuppressionV5 as tfjs-core computes it: candidates with score > score_threshold
// are popped best first (ties: lower index); a candidate is dropped when its IoU with a box selected
// since its last visit is >= iou_threshold, otherwise its score is multiplied by
// exp(-0.5 IoU^2 / sigma) (soft-NMS; weight 1 when sigma = 0) per such box; it is selected when its
// score is unchanged, re-queued when it fell but stays > score_threshold. pad_to_max_output_size
// pads indices and scores with 0 to max_output_size.
export const TfNonMaxSuppression = defineOp<{ pad: boolean }>({
  name: 'TfNonMaxSuppression',
  domain: 'edgec',
  since: 1,
  arity: [6, 6],
  attrs: (r) => ({ pad: r.int('pad_to_max_output_size', 0) !== 0 }),
  infer: (ctx, a) => {
    const b = need(ctx.inputs[0], 0, 'TfNonMaxSuppression');
    const s = need(ctx.inputs[1], 1, 'TfNonMaxSuppression');
    if (b.shape.length !== 2) throw invalid(`TfNonMaxSuppression: boxes must be [num_boxes, 4], got rank ${b.shape.length}`);
    if (s.shape.length !== 1) throw invalid(`TfNonMaxSuppression: scores must be [num_boxes], got rank ${s.shape.length}`);
    const m = ctx.consts[2];
    const n: Dim = a.pad && m && m.size === 1 ? Math.max(0, m.get(0)) : ctx.freshDim('selected');
    return [{ dtype: 'i32', shape: [n] }, { dtype: s.dtype, shape: [n] }, { dtype: 'i32', shape: [] }];
  },
  ref: (ins, a) => {
    const boxes = need(ins[0], 0, 'TfNonMaxSuppression');
    const scores = need(ins[1], 1, 'TfNonMaxSuppression');
    const N = scores.size;
    if (boxes.shape.length !== 2 || boxes.shape[1] !== 4 || boxes.shape[0] !== N) {
      throw invalid(`TfNonMaxSuppression: boxes [${boxes.shape.join(',')}] do not match scores [${scores.shape.join(',')}]`);
    }
    const scalar = (k: number, what: string): number => {
      const t = need(ins[k], k, 'TfNonMaxSuppression');
      if (t.size !== 1) throw invalid(`TfNonMaxSuppression: ${what} must be a scalar, got shape [${t.shape.join(',')}]`);
      return t.get(0);
    };
    const maxOut = scalar(2, 'max_output_size');
    const iouThr = scalar(3, 'iou_threshold');
    const scoreThr = scalar(4, 'score_threshold');
    const sigma = scalar(5, 'soft_nms_sigma');
    if (!(iouThr >= 0 && iouThr <= 1)) throw invalid(`TfNonMaxSuppression: iou_threshold must be in [0, 1], got ${iouThr}`);
    if (maxOut < 0) throw invalid(`TfNonMaxSuppression: max_output_size must be >= 0, got ${maxOut}`);
    checkWork(N * Math.max(maxOut, 1), 'TfNonMaxSuppression');
    const bv = f64Of(boxes);
    const sv = f64Of(scores);
    const scale = sigma > 0 ? -0.5 / sigma : 0;
    const cands: SoftCand[] = [];
    for (let i = 0; i < N; i++) if (sv[i]! > scoreThr) cands.push({ score: sv[i]!, box: i, begin: 0 });
    cands.sort(candCmp);
    const sel: number[] = [];
    const selScores: number[] = [];
    while (sel.length < maxOut && cands.length > 0) {
      const c = cands.pop()!;
      const original = c.score;
      if (original < scoreThr) break;
      let ignore = false;
      for (let j = sel.length - 1; j >= c.begin; j--) {
        const iou = tfIou(bv, c.box, sel[j]!);
        if (iou >= iouThr) { ignore = true; break; }
        c.score *= iou <= iouThr ? Math.exp(scale * iou * iou) : 0;
        if (c.score <= scoreThr) break;
      }
      c.begin = sel.length;
      if (ignore) continue;
      if (c.score === original) {
        sel.push(c.box);
        selScores.push(c.score);
      } else if (c.score > scoreThr) {
        // re-insert keeping the ascending order (before equal elements, like tfjs's binaryInsert)
        let lo = 0;
        let hi = cands.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (candCmp(c, cands[mid]!) > 0) lo = mid + 1;
          else hi = mid;
        }
        cands.splice(lo, 0, c);
      }
    }
    const valid = sel.length;
    if (a.pad) while (sel.length < maxOut) { sel.push(0); selScores.push(0); }
    return [Tensor.from('i32', [sel.length], sel), fromF64(scores.dtype, [selScores.length], Float64Array.from(selScores)), Tensor.from('i32', [], [valid])];
  },
  cost: (ctx) => {
    const s = ctx.inputs[1]!.shape;
    const n = typeof s[0] === 'number' ? s[0] : 1;
    return { macs: 0, flops: n * n * 10 };
  },
});

// ---------------------------------------------------------------------------------------------
// RoiAlign
// ---------------------------------------------------------------------------------------------

interface RoiAlignAttrs {
  halfPixel: boolean;
  mode: 'avg' | 'max';
  outH: number;
  outW: number;
  samplingRatio: number;
  spatialScale: number;
}

/** One bilinear sample: 4 pixel offsets and weights (all zero outside the feature map). */
interface Tap {
  pos: [number, number, number, number];
  w: [number, number, number, number];
}

/** Bilinear taps at (y, x) on an H x W map (RoiAlign rules: clamp to the map, zero beyond 1 pixel out). */
function roiTap(y: number, x: number, H: number, W: number): Tap {
  if (y < -1 || y > H || x < -1 || x > W) return { pos: [0, 0, 0, 0], w: [0, 0, 0, 0] };
  y = Math.max(y, 0);
  x = Math.max(x, 0);
  let y0 = Math.trunc(y);
  let x0 = Math.trunc(x);
  let y1: number;
  let x1: number;
  if (y0 >= H - 1) {
    y0 = y1 = H - 1;
    y = y0;
  } else y1 = y0 + 1;
  if (x0 >= W - 1) {
    x0 = x1 = W - 1;
    x = x0;
  } else x1 = x0 + 1;
  const ly = y - y0;
  const lx = x - x0;
  const hy = 1 - ly;
  const hx = 1 - lx;
  return { pos: [y0 * W + x0, y0 * W + x1, y1 * W + x0, y1 * W + x1], w: [hy * hx, hy * lx, ly * hx, ly * lx] };
}

// RoiAlign(X[N,C,H,W], rois[R,4] (x1,y1,x2,y2), batch_indices[R]) -> Y[R,C,oh,ow]: each output bin
// averages (or maxes) a grid of bilinear samples (sampling_ratio per side, default ceil(roi/bins))
export const RoiAlign = defineOp<RoiAlignAttrs>({
  name: 'RoiAlign',
  domain: '',
  since: 10,
  arity: [3, 3],
  attrs: (r, ctx) => {
    const ctm = ctx.opset >= 16
      ? r.oneOf('coordinate_transformation_mode', 'half_pixel', ['half_pixel', 'output_half_pixel'] as const)
      : 'output_half_pixel';
    const a: RoiAlignAttrs = {
      halfPixel: ctm === 'half_pixel',
      mode: r.oneOf('mode', 'avg', ['avg', 'max'] as const),
      outH: r.int('output_height', 1),
      outW: r.int('output_width', 1),
      samplingRatio: r.int('sampling_ratio', 0),
      spatialScale: r.float('spatial_scale', 1),
    };
    if (a.outH < 1 || a.outW < 1) throw r.error(`RoiAlign: output_height/width must be positive, got ${a.outH}x${a.outW}`);
    if (a.samplingRatio < 0) throw r.error(`RoiAlign: sampling_ratio must be >= 0, got ${a.samplingRatio}`);
    return a;
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'RoiAlign');
    const rois = need(ctx.inputs[1], 1, 'RoiAlign');
    if (x.shape.length !== 4) throw invalid(`RoiAlign: X must be 4-D, got rank ${x.shape.length}`);
    if (rois.shape.length !== 2) throw invalid(`RoiAlign: rois must be [num_rois, 4], got rank ${rois.shape.length}`);
    return [{ dtype: x.dtype, shape: [rois.shape[0]!, x.shape[1]!, a.outH, a.outW] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'RoiAlign');
    const rois = need(ins[1], 1, 'RoiAlign');
    const bi = need(ins[2], 2, 'RoiAlign');
    if (x.shape.length !== 4) throw invalid(`RoiAlign: X must be 4-D, got rank ${x.shape.length}`);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (rois.shape.length !== 2 || rois.shape[1] !== 4) throw invalid(`RoiAlign: rois must be [num_rois, 4], got [${rois.shape.join(',')}]`);
    const R = rois.shape[0]!;
    if (bi.size !== R) throw invalid(`RoiAlign: batch_indices has ${bi.size} entries for ${R} rois`);
    const xv = f64Of(x);
    const rv = f64Of(rois);
    const { outH, outW } = a;
    checkElems(R * C * outH * outW, 'RoiAlign');
    const out = new Float64Array(R * C * outH * outW);
    const off = a.halfPixel ? 0.5 : 0;
    for (let n = 0; n < R; n++) {
      const b = bi.get(n);
      if (!Number.isInteger(b) || b < 0 || b >= N) throw invalid(`RoiAlign: batch index ${b} is out of range [0, ${N})`);
      const x0 = rv[n * 4]! * a.spatialScale - off;
      const y0 = rv[n * 4 + 1]! * a.spatialScale - off;
      let rw = rv[n * 4 + 2]! * a.spatialScale - off - x0;
      let rh = rv[n * 4 + 3]! * a.spatialScale - off - y0;
      if (!a.halfPixel) {
        // malformed rois are forced to 1x1
        rw = Math.max(rw, 1);
        rh = Math.max(rh, 1);
      }
      if (!Number.isFinite(rh) || !Number.isFinite(rw)) throw invalid(`RoiAlign: roi ${n} has non-finite coordinates`);
      const binH = rh / outH;
      const binW = rw / outW;
      const gh = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rh / outH);
      const gw = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rw / outW);
      checkWork(C * outH * outW * Math.max(gh, 0) * Math.max(gw, 0), 'RoiAlign');
      const count = Math.max(gh * gw, 1);
      const P = outH * outW;
      const base = n * C * P;
      for (let ph = 0; ph < outH; ph++) {
        for (let pw = 0; pw < outW; pw++) {
          const p = ph * outW + pw;
          let first = true;
          // a negative grid side (reversed half_pixel roi) samples nothing
          for (let iy = 0; gw > 0 && iy < gh; iy++) {
            const yy = y0 + ph * binH + ((iy + 0.5) * binH) / gh;
            for (let ix = 0; ix < gw; ix++) {
              const xx = x0 + pw * binW + ((ix + 0.5) * binW) / gw;
              // one bilinear sample, shared by all channels
              const tp = roiTap(yy, xx, H, W);
              for (let c = 0; c < C; c++) {
                const src = (b * C + c) * H * W;
                const o = base + c * P + p;
                if (a.mode === 'avg') {
                  let v = 0;
                  for (let k = 0; k < 4; k++) v += tp.w[k]! * xv[src + tp.pos[k]!]!;
                  out[o] = out[o]! + v;
                } else {
                  // max mode takes the largest weighted corner term (ONNX reference / onnxruntime)
                  let m = -Infinity;
                  for (let k = 0; k < 4; k++) m = Math.max(m, tp.w[k]! * xv[src + tp.pos[k]!]!);
                  out[o] = first ? m : Math.max(out[o]!, m);
                }
              }
              first = false;
            }
          }
          if (a.mode === 'avg') for (let c = 0; c < C; c++) out[base + c * P + p] = out[base + c * P + p]! / count;
        }
      }
    }
    return [fromF64(x.dtype, [R, C, outH, outW], out)];
  },
  cost: (_ctx, _a, outs) => ({ macs: 0, flops: elems(outs[0]!.shape) * 16 }),
});

// ---------------------------------------------------------------------------------------------
// DeformConv
// ---------------------------------------------------------------------------------------------

interface DeformConvAttrs {
  dilations?: number[];
  group: number;
  kernelShape?: number[];
  offsetGroup: number;
  pads?: number[];
  strides?: number[];
}

/** Resolved DeformConv geometry for concrete shapes. */
interface DeformPlan {
  nd: number;
  k: number[];
  dil: number[];
  str: number[];
  padB: number[];
  out: number[];
}

function deformPlan(xShape: readonly number[], wShape: readonly number[], a: DeformConvAttrs): DeformPlan {
  const nd = xShape.length - 2;
  if (nd < 1) throw invalid(`DeformConv: X must have rank >= 3, got ${xShape.length}`);
  if (wShape.length !== nd + 2) throw invalid(`DeformConv: W must have rank ${nd + 2}, got ${wShape.length}`);
  const k = a.kernelShape ?? wShape.slice(2);
  if (k.length !== nd || k.some((v, i) => v !== wShape[2 + i])) {
    throw invalid(`DeformConv: kernel_shape [${k.join(',')}] does not match W [${wShape.join(',')}]`);
  }
  const dil = a.dilations ?? new Array<number>(nd).fill(1);
  const str = a.strides ?? new Array<number>(nd).fill(1);
  const pads = a.pads ?? new Array<number>(2 * nd).fill(0);
  if (dil.length !== nd || str.length !== nd || pads.length !== 2 * nd) {
    throw invalid(`DeformConv: dilations/strides/pads must have ${nd}/${nd}/${2 * nd} entries`);
  }
  if (dil.some((v) => v < 1) || str.some((v) => v < 1) || pads.some((v) => v < 0)) {
    throw invalid('DeformConv: dilations and strides must be >= 1 and pads >= 0');
  }
  const out = xShape.slice(2).map((s, d) => Math.floor((s + pads[d]! + pads[nd + d]! - ((k[d]! - 1) * dil[d]! + 1)) / str[d]!) + 1);
  if (out.some((v) => v < 1)) throw invalid(`DeformConv: output spatial shape [${out.join(',')}] is empty`);
  return { nd, k, dil, str, padB: pads.slice(0, nd), out };
}

// DeformConv(X, W, offset, B?, mask?): Y[n,oc,o] = B[oc] + sum_{ic in group, k} W[oc,ic,k] * mask[n,g,k,o]
//   * bilinear(X[n,ic], o*stride - pad + k*dilation + offset[n,g,k,:,o]), zero outside X,
//   g = ic's offset group
export const DeformConv = defineOp<DeformConvAttrs>({
  name: 'DeformConv',
  domain: '',
  since: 19,
  arity: [3, 5],
  attrs: (r) => {
    const a: DeformConvAttrs = { group: r.int('group', 1), offsetGroup: r.int('offset_group', 1) };
    const d = r.ints('dilations');
    const k = r.ints('kernel_shape');
    const p = r.ints('pads');
    const s = r.ints('strides');
    if (d) a.dilations = d;
    if (k) a.kernelShape = k;
    if (p) a.pads = p;
    if (s) a.strides = s;
    if (a.group < 1 || a.offsetGroup < 1) throw r.error('DeformConv: group and offset_group must be >= 1');
    return a;
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'DeformConv');
    const w = need(ctx.inputs[1], 1, 'DeformConv');
    const off = need(ctx.inputs[2], 2, 'DeformConv');
    if (off.shape.length !== x.shape.length) throw invalid(`DeformConv: offset must have rank ${x.shape.length}, got ${off.shape.length}`);
    const xs = x.shape;
    const ws = w.shape;
    let spatial: Dim[] = off.shape.slice(2);
    if (xs.every((v) => typeof v === 'number') && ws.every((v) => typeof v === 'number')) {
      spatial = deformPlan(xs as number[], ws as number[], a).out;
    }
    return [{ dtype: x.dtype, shape: [xs[0]!, ws[0]!, ...spatial] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'DeformConv');
    const w = need(ins[1], 1, 'DeformConv');
    const offT = need(ins[2], 2, 'DeformConv');
    const bias = ins[3] && ins[3].size > 0 ? ins[3] : undefined;
    const maskT = ins[4] && ins[4].size > 0 ? ins[4] : undefined;
    const p = deformPlan(x.shape, w.shape, a);
    const [N, IC] = x.shape as [number, number];
    const OC = w.shape[0]!;
    const G = a.group;
    const OG = a.offsetGroup;
    if (IC !== w.shape[1]! * G || OC % G !== 0) {
      throw invalid(`DeformConv: X [${x.shape.join(',')}] and W [${w.shape.join(',')}] do not match group ${G}`);
    }
    if (IC % OG !== 0) throw invalid(`DeformConv: ${IC} input channels are not divisible by offset_group ${OG}`);
    const K = numel(p.k);
    const O = numel(p.out);
    const wantOff = [N, OG * K * p.nd, ...p.out];
    if (offT.shape.join(',') !== wantOff.join(',')) {
      throw invalid(`DeformConv: offset shape [${offT.shape.join(',')}] must be [${wantOff.join(',')}]`);
    }
    const wantMask = [N, OG * K, ...p.out];
    if (maskT && maskT.shape.join(',') !== wantMask.join(',')) {
      throw invalid(`DeformConv: mask shape [${maskT.shape.join(',')}] must be [${wantMask.join(',')}]`);
    }
    if (bias && bias.size !== OC) throw invalid(`DeformConv: B has ${bias.size} entries, expected ${OC}`);
    const icg = IC / G;
    const ocg = OC / G;
    const icog = IC / OG;
    const xv = f64Of(x);
    const wv = f64Of(w);
    const ov = f64Of(offT);
    const mv = maskT ? f64Of(maskT) : undefined;
    const dims = x.shape.slice(2);
    const S = numel(dims);
    const sStr = dims.map((_, d) => numel(dims.slice(d + 1)));
    const oStr = p.out.map((_, d) => numel(p.out.slice(d + 1)));
    const kStr = p.k.map((_, d) => numel(p.k.slice(d + 1)));
    const nTap = 2 ** p.nd;
    checkElems(N * OC * O, 'DeformConv');
    const out = new Float64Array(N * OC * O);
    // per (n, offset group, kernel tap, output position): 2^nd pixel offsets (-1 = zero) and weights
    const tapOff = new Int32Array(nTap);
    const tapW = new Float64Array(nTap);
    const samples = new Float64Array(icog);
    for (let n = 0; n < N; n++) {
      for (let og = 0; og < OG; og++) {
        for (let kk = 0; kk < K; kk++) {
          for (let o = 0; o < O; o++) {
            // sampling position per spatial dim
            for (let t = 0; t < nTap; t++) {
              tapOff[t] = 0;
              tapW[t] = 1;
            }
            for (let d = 0; d < p.nd; d++) {
              const od = Math.floor(o / oStr[d]!) % p.out[d]!;
              const kd = Math.floor(kk / kStr[d]!) % p.k[d]!;
              const offIdx = (((n * OG + og) * K + kk) * p.nd + d) * O + o;
              const pos = od * p.str[d]! - p.padB[d]! + kd * p.dil[d]! + ov[offIdx]!;
              const i0 = Math.floor(pos);
              const f = pos - i0;
              for (let t = 0; t < nTap; t++) {
                const hi = (t >> (p.nd - 1 - d)) & 1;
                const i = i0 + hi;
                if (tapOff[t]! < 0 || !(i >= 0 && i < dims[d]!)) {
                  tapOff[t] = -1;
                  continue;
                }
                tapOff[t] = tapOff[t]! + i * sStr[d]!;
                tapW[t] = tapW[t]! * (hi ? f : 1 - f);
              }
            }
            const m = mv ? mv[((n * OG + og) * K + kk) * O + o]! : 1;
            // bilinear samples of every input channel in this offset group, times the mask
            for (let j = 0; j < icog; j++) {
              const ic = og * icog + j;
              const base = (n * IC + ic) * S;
              let v = 0;
              for (let t = 0; t < nTap; t++) if (tapOff[t]! >= 0 && tapW[t] !== 0) v += tapW[t]! * xv[base + tapOff[t]!]!;
              samples[j] = v * m;
            }
            for (let j = 0; j < icog; j++) {
              const ic = og * icog + j;
              const g = Math.floor(ic / icg);
              const icl = ic - g * icg;
              for (let oc = g * ocg; oc < (g + 1) * ocg; oc++) {
                const at = (n * OC + oc) * O + o;
                out[at] = out[at]! + wv[(oc * icg + icl) * K + kk]! * samples[j]!;
              }
            }
          }
        }
      }
      if (bias) {
        for (let oc = 0; oc < OC; oc++) {
          for (let o = 0; o < O; o++) out[(n * OC + oc) * O + o] = out[(n * OC + oc) * O + o]! + bias.get(oc);
        }
      }
    }
    return [fromF64(x.dtype, [N, OC, ...p.out], out)];
  },
  cost: (ctx, _a, outs) => {
    const w = ctx.inputs[1]!.shape;
    const perOut = elems(w.slice(1));
    return { macs: elems(outs[0]!.shape) * perOut, flops: elems(outs[0]!.shape) * perOut * 4 };
  },
});
