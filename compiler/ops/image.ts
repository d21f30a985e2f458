/**
 * Op family: image resampling (Resize, Upsample, GridSample, AffineGrid).
 *
 * Resize follows the ONNX reference semantics (onnx/reference/ops/op_resize.py): each resized axis
 * gets a plan of taps (source indices and weights) per output position, and the plans are applied
 * one axis at a time in float64 (interpolation is separable, so this equals the reference's nested
 * per-axis interpolation).
 */
import { Dim, Shape, Tensor, TensorType, numel, stridesOf } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, defineOp, need } from './registry.js';

// ---------------------------------------------------------------------------------------------
// Resize
// ---------------------------------------------------------------------------------------------

type CoordMode =
  | 'half_pixel' | 'half_pixel_symmetric' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric'
  | 'tf_crop_and_resize' | 'tf_half_pixel_for_nn';
/** 'simple' is the pre-opset-11 rule: floor when upsampling, ceil when downsampling. */
type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'simple';
type InterpMode = 'nearest' | 'linear' | 'cubic';
type AspectPolicy = 'stretch' | 'not_larger' | 'not_smaller';

interface ResizeAttrs {
  mode: InterpMode;
  coord: CoordMode;
  nearest: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  axes?: number[];
  policy: AspectPolicy;
  /** Input positions of roi, scales and sizes (-1 when the opset has no such input). */
  roiIn: number;
  scalesIn: number;
  sizesIn: number;
  /** Upsample-7: scales from the attribute. */
  scales?: number[];
}

function resizeAttrs(r: AttrReader, opset: number): ResizeAttrs {
  if (opset < 11) {
    return {
      mode: r.oneOf('mode', 'nearest', ['nearest', 'linear'] as const),
      coord: 'asymmetric', nearest: 'simple', cubicA: -0.75, excludeOutside: false, extrapolation: 0,
      antialias: false, policy: 'stretch', roiIn: -1, scalesIn: 1, sizesIn: -1,
    };
  }
  const coords: CoordMode[] = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize'];
  if (opset < 13) coords.push('tf_half_pixel_for_nn');
  if (opset >= 19) coords.push('half_pixel_symmetric');
  const a: ResizeAttrs = {
    mode: r.oneOf('mode', 'nearest', ['nearest', 'linear', 'cubic'] as const),
    coord: r.oneOf('coordinate_transformation_mode', 'half_pixel', coords),
    nearest: r.oneOf('nearest_mode', 'round_prefer_floor', ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const),
    cubicA: r.float('cubic_coeff_a', -0.75),
    excludeOutside: r.int('exclude_outside', 0) !== 0,
    extrapolation: r.float('extrapolation_value', 0),
    antialias: false,
    policy: 'stretch',
    roiIn: 1, scalesIn: 2, sizesIn: 3,
  };
  if (opset >= 18) {
    a.antialias = r.int('antialias', 0) !== 0;
    a.policy = r.oneOf('keep_aspect_ratio_policy', 'stretch', ['stretch', 'not_larger', 'not_smaller'] as const);
    const axes = r.ints('axes');
    if (axes) a.axes = axes;
  }
  if (a.antialias && a.mode === 'nearest') throw r.error('Resize: antialias is not defined for mode "nearest"');
  return a;
}

/** Per-axis output sizes and scale factors, resolved against a concrete input shape. */
interface ResizeTarget {
  outShape: number[];
  scales: number[];
  /** roi start/end per axis (full rank), for tf_crop_and_resize. */
  roi: number[];
}

/** Axes a Resize touches (normalized), defaulting to all. */
function resizeAxes(a: ResizeAttrs, rank: number): number[] {
  if (!a.axes) return Array.from({ length: rank }, (_, i) => i);
  const ax = a.axes.map((x) => {
    const v = x < 0 ? x + rank : x;
    if (v < 0 || v >= rank) throw invalid(`Resize: axis ${x} is out of range for rank ${rank}`);
    return v;
  });
  if (new Set(ax).size !== ax.length) throw invalid(`Resize: axes ${JSON.stringify(a.axes)} contain duplicates`);
  return ax;
}

/** Non-empty tensor input or undefined. */
function present(t: Tensor | null | undefined): Tensor | undefined {
  return t && t.size > 0 ? t : undefined;
}

function resolveResize(inShape: readonly number[], a: ResizeAttrs, scalesT?: Tensor, sizesT?: Tensor, roiT?: Tensor): ResizeTarget {
  const rank = inShape.length;
  const axes = resizeAxes(a, rank);
  const scales = new Array<number>(rank).fill(1);
  const outShape = [...inShape];
  if (scalesT) {
    const s = scalesT.toNumbers();
    if (s.length !== axes.length) throw invalid(`Resize: scales has ${s.length} entries, expected ${axes.length}`);
    axes.forEach((ax, k) => {
      const v = s[k]!;
      if (!(v > 0)) throw invalid(`Resize: scales must be positive, got ${v}`);
      scales[ax] = v;
      outShape[ax] = Math.floor(v * inShape[ax]!);
    });
  } else if (sizesT) {
    const s = sizesT.toNumbers();
    if (s.length !== axes.length) throw invalid(`Resize: sizes has ${s.length} entries, expected ${axes.length}`);
    if (s.some((v) => v < 0 || !Number.isInteger(v))) throw invalid(`Resize: invalid sizes ${JSON.stringify(s)}`);
    axes.forEach((ax, k) => {
      scales[ax] = s[k]! / inShape[ax]!;
      outShape[ax] = s[k]!;
    });
    if (a.policy !== 'stretch') {
      const sel = axes.map((ax) => scales[ax]!);
      const sc = a.policy === 'not_larger' ? Math.min(...sel) : Math.max(...sel);
      for (const ax of axes) {
        scales[ax] = sc;
        outShape[ax] = Math.floor(sc * inShape[ax]! + 0.5);
      }
    }
  } else throw invalid('Resize: one of scales or sizes is required');
  const roi: number[] = [...new Array<number>(rank).fill(0), ...new Array<number>(rank).fill(1)];
  if (roiT && a.coord === 'tf_crop_and_resize') {
    const v = roiT.toNumbers();
    if (v.length !== 2 * axes.length) throw invalid(`Resize: roi has ${v.length} entries, expected ${2 * axes.length}`);
    axes.forEach((ax, k) => {
      roi[ax] = v[k]!;
      roi[rank + ax] = v[axes.length + k]!;
    });
  }
  return { outShape, scales, roi };
}

/** Taps for one axis: for each output position, `n` source indices and weights, or extrapolation. */
interface AxisPlan {
  outLen: number;
  n: number;
  idx: Int32Array;
  w: Float64Array;
  /** 1 where the output takes the extrapolation value (tf_crop_and_resize outside the image). */
  extrap: Uint8Array;
  identity: boolean;
}

/** Keys cubic kernel weight at distance x (|x| < 2), as in the ONNX reference. */
function cubicKernel(x: number, A: number): number {
  const t = Math.abs(x);
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/** Coefficients for tap offsets relative to `base` (the sample point is base + ratio, ratio in (0, 1]). */
function coeffs(a: ResizeAttrs, ratio: number, scale: number, down: boolean): { start: number; c: number[] } {
  switch (a.mode) {
    case 'nearest': {
      if (ratio === 1) return { start: 0, c: [0, 1] };
      let up: boolean;
      switch (a.nearest) {
        case 'round_prefer_floor': up = ratio > 0.5; break;
        case 'round_prefer_ceil': up = ratio >= 0.5; break;
        case 'floor': up = false; break;
        case 'ceil': up = true; break;
        case 'simple': up = down; break;
      }
      return { start: 0, c: up ? [0, 1] : [1, 0] };
    }
    case 'linear': {
      if (!a.antialias) return { start: 0, c: [1 - ratio, ratio] };
      const s = Math.min(scale, 1);
      const start = Math.floor(-1 / s) + 1;
      const foot = 2 - 2 * start;
      const c: number[] = [];
      for (let i = 0; i < foot; i++) c.push(Math.min(Math.max(1 - Math.abs((start + i - ratio) * s), 0), 1));
      return { start, c: normalize(c) };
    }
    case 'cubic': {
      const A = a.cubicA;
      if (!a.antialias) {
        const r = ratio;
        return {
          start: -1,
          c: [
            ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
            ((A + 2) * r - (A + 3)) * r * r + 1,
            ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
            ((A * (2 - r) - 5 * A) * (2 - r) + 8 * A) * (2 - r) - 4 * A,
          ],
        };
      }
      const s = Math.min(scale, 1);
      const iStart = Math.floor(-2 / s) + 1;
      const iEnd = 2 - iStart;
      const c: number[] = [];
      for (let i = iStart; i < iEnd; i++) c.push(cubicKernel(s * (i - ratio), A));
      return { start: iStart, c: normalize(c) };
    }
  }
}

function normalize(c: number[]): number[] {
  const s = c.reduce((x, y) => x + y, 0);
  return c.map((v) => v / s);
}

/** Source coordinate of output position x along an axis (reference coordinate transforms). */
function sourceCoord(a: ResizeAttrs, x: number, inLen: number, outLen: number, scale: number, roiS: number, roiE: number): number | null {
  const outW = scale * inLen; // the reference uses the unrounded output width
  switch (a.coord) {
    case 'half_pixel': return (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adj = outLen / outW;
      const center = inLen / 2;
      const offset = center * (1 - adj);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel': return outW === 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case 'align_corners': return outW === 1 ? 0 : (x * (inLen - 1)) / (outW - 1);
    case 'asymmetric': return x / scale;
    case 'tf_half_pixel_for_nn': return (x + 0.5) / scale;
    case 'tf_crop_and_resize': {
      let xo = outW === 1 ? ((roiE - roiS) * (inLen - 1)) / 2 : (x * (roiE - roiS) * (inLen - 1)) / (outW - 1);
      xo += roiS * (inLen - 1);
      return xo < 0 || xo > inLen - 1 ? null : xo;
    }
  }
}

/** Parsed Resize/Upsample attributes (the `attrs` of Resize and Upsample), for lowerings. */
export type ResizeParams = ResizeAttrs;

/**
 * Source coordinate of output position `x` along a resized axis, by the node's
 * coordinate_transformation_mode (roi 0..1); null where tf_crop_and_resize extrapolates.
 * @param a parsed Resize/Upsample attributes
 * @param x output position
 * @param inLen input length of the axis
 * @param outLen output length of the axis
 * @param scale scale factor of the axis
 */
export function resizeSourceCoord(a: ResizeAttrs, x: number, inLen: number, outLen: number, scale: number): number | null {
  return sourceCoord(a, x, inLen, outLen, scale, 0, 1);
}

/**
 * Source index nearest-mode Resize reads for source coordinate `xo` (the node's nearest_mode,
 * 'simple' before opset 11), clamped to the axis.
 * @param a parsed Resize/Upsample attributes
 * @param xo source coordinate (resizeSourceCoord)
 * @param inLen input length of the axis
 * @param scale scale factor of the axis
 */
export function resizeNearestIndex(a: ResizeAttrs, xo: number, inLen: number, scale: number): number {
  const isInt = Number.isInteger(xo);
  const base = isInt ? xo - 1 : Math.floor(xo);
  const { start, c } = coeffs({ ...a, mode: 'nearest' }, isInt ? 1 : xo - base, scale, scale < 1);
  const k = base + start + (c[0] === 1 ? 0 : 1);
  return Math.min(Math.max(k, 0), inLen - 1);
}

function axisPlan(a: ResizeAttrs, inLen: number, outLen: number, scale: number, roiS: number, roiE: number): AxisPlan {
  const down = scale < 1;
  let n = 0;
  const rows: { idx: number[]; w: number[] } [] = [];
  const extrap = new Uint8Array(outLen);
  let identity = inLen === outLen;
  for (let x = 0; x < outLen; x++) {
    const xo = sourceCoord(a, x, inLen, outLen, scale, roiS, roiE);
    if (xo === null) {
      extrap[x] = 1;
      identity = false;
      rows.push({ idx: [], w: [] });
      continue;
    }
    const isInt = Number.isInteger(xo);
    const base = isInt ? xo - 1 : Math.floor(xo);
    const ratio = isInt ? 1 : xo - base;
    const { start, c } = coeffs(a, ratio, scale, down);
    const idx: number[] = [];
    for (let i = 0; i < c.length; i++) idx.push(base + start + i);
    if (a.excludeOutside) {
      let s = 0;
      for (let i = 0; i < c.length; i++) {
        if (idx[i]! < 0 || idx[i]! >= inLen) c[i] = 0;
        s += c[i]!;
      }
      for (let i = 0; i < c.length; i++) c[i]! /= s;
    }
    // edge padding: out-of-range taps read the border element
    const cl = idx.map((i) => Math.min(Math.max(i, 0), inLen - 1));
    const nz = c.map((w, i) => [cl[i]!, w] as const).filter(([, w]) => w !== 0);
    if (!(nz.length === 1 && nz[0]![0] === x && nz[0]![1] === 1)) identity = false;
    rows.push({ idx: nz.map(([i]) => i), w: nz.map(([, w]) => w) });
    n = Math.max(n, nz.length);
  }
  const idx = new Int32Array(outLen * n);
  const w = new Float64Array(outLen * n);
  rows.forEach((r, x) => {
    r.idx.forEach((i, k) => {
      idx[x * n + k] = i;
      w[x * n + k] = r.w[k]!;
    });
  });
  return { outLen, n, idx, w, extrap, identity };
}

/** Applies one axis plan to a float64 buffer of `shape`, returning the new buffer. */
function applyPlan(src: Float64Array, shape: number[], axis: number, p: AxisPlan, extrapValue: number): Float64Array {
  const inLen = shape[axis]!;
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1));
  const { n, idx, w, extrap, outLen } = p;
  const dst = new Float64Array(outer * outLen * inner);
  if (inner === 1) {
    // innermost axis: one dot product per output element
    for (let o = 0; o < outer; o++) {
      const s0 = o * inLen;
      const d0 = o * outLen;
      for (let x = 0; x < outLen; x++) {
        if (extrap[x]) {
          dst[d0 + x] = extrapValue;
          continue;
        }
        let acc = 0;
        for (let t = x * n, e = t + n; t < e; t++) {
          const wt = w[t]!;
          if (wt !== 0) acc += wt * src[s0 + idx[t]!]!;
        }
        dst[d0 + x] = acc;
      }
    }
    return dst;
  }
  for (let o = 0; o < outer; o++) {
    for (let x = 0; x < outLen; x++) {
      const d0 = (o * outLen + x) * inner;
      if (extrap[x]) {
        dst.fill(extrapValue, d0, d0 + inner);
        continue;
      }
      for (let t = 0; t < n; t++) {
        const wt = w[x * n + t]!;
        if (wt === 0) continue;
        const s0 = (o * inLen + idx[x * n + t]!) * inner;
        if (wt === 1) for (let k = 0; k < inner; k++) dst[d0 + k]! += src[s0 + k]!;
        else for (let k = 0; k < inner; k++) dst[d0 + k]! += wt * src[s0 + k]!;
      }
    }
  }
  return dst;
}

/** Tensor values as float64 (fast paths for float storage). */
export function toF64(t: Tensor): Float64Array {
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return Float64Array.from(t.data);
  const b = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) b[i] = t.get(i);
  return b;
}

/** A tensor of `dtype` from float64 values, rounded/converted as `Tensor.set` does. */
export function fromF64(dtype: Tensor['dtype'], shape: readonly number[], buf: Float64Array): Tensor {
  if (dtype === 'f32') return new Tensor('f32', shape, Float32Array.from(buf));
  if (dtype === 'f64') return new Tensor('f64', shape, buf);
  const res = Tensor.zeros(dtype, shape);
  for (let i = 0; i < buf.length; i++) res.set(i, buf[i]!);
  return res;
}

/** Resamples `x` per the attributes and resolved target. */
function resizeKernel(x: Tensor, a: ResizeAttrs, tgt: ResizeTarget): Tensor {
  const rank = x.shape.length;
  let shape = [...x.shape];
  let buf: Float64Array = toF64(x);
  if (x.size > 0 && tgt.outShape.every((d) => d > 0)) {
    for (let ax = 0; ax < rank; ax++) {
      const p = axisPlan(a, shape[ax]!, tgt.outShape[ax]!, tgt.scales[ax]!, tgt.roi[ax]!, tgt.roi[rank + ax]!);
      if (p.identity) continue;
      buf = applyPlan(buf, shape, ax, p, a.extrapolation);
      shape[ax] = p.outLen;
    }
  } else {
    shape = tgt.outShape;
    buf = new Float64Array(numel(shape));
  }
  return fromF64(x.dtype, tgt.outShape, buf);
}

/** Output type of Resize/Upsample from constant scales/sizes where known. */
function resizeInfer(ctx: InferCtx, a: ResizeAttrs): TensorType[] {
  const x = ctx.inputs[0]!;
  const rank = x.shape.length;
  const axes = resizeAxes(a, rank);
  const scalesC = a.scales ? Tensor.from('f32', [a.scales.length], a.scales) : a.scalesIn >= 0 ? ctx.consts[a.scalesIn] : undefined;
  const sizesC = a.sizesIn >= 0 ? ctx.consts[a.sizesIn] : undefined;
  const s = present(scalesC);
  const shape: Dim[] = [...x.shape];
  if (s) {
    const v = s.toNumbers();
    if (v.length !== axes.length) throw invalid(`Resize: scales has ${v.length} entries, expected ${axes.length}`);
    axes.forEach((ax, k) => {
      const d = x.shape[ax]!;
      shape[ax] = typeof d === 'number' ? Math.floor(v[k]! * d) : v[k] === 1 ? d : ctx.freshDim();
    });
    return [{ dtype: x.dtype, shape }];
  }
  // sizes apply when scales is absent or empty (opsets 11-12 pass an empty scales tensor)
  const scalesT = a.scalesIn >= 0 ? ctx.inputs[a.scalesIn] ?? null : null;
  const scalesEmpty = !scalesT || scalesT.shape[0] === 0 || (scalesC !== undefined && scalesC.size === 0);
  if (sizesC && scalesEmpty) {
    const v = sizesC.toNumbers();
    if (v.length !== axes.length) throw invalid(`Resize: sizes has ${v.length} entries, expected ${axes.length}`);
    if (a.policy === 'stretch') {
      axes.forEach((ax, k) => {
        shape[ax] = v[k]!;
      });
      return [{ dtype: x.dtype, shape }];
    }
    if (axes.every((ax) => typeof x.shape[ax] === 'number')) {
      const t = resolveResize(x.shape as number[], a, undefined, sizesC);
      return [{ dtype: x.dtype, shape: t.outShape }];
    }
  }
  for (const ax of axes) shape[ax] = ctx.freshDim();
  return [{ dtype: x.dtype, shape }];
}

// Resize(X, roi?, scales?, sizes?) -> X resampled (nearest/linear/cubic; opset 10: Resize(X, scales))
export const Resize = defineOp<ResizeAttrs>({
  name: 'Resize',
  domain: '',
  since: 10,
  arity: [1, 4],
  attrs: (r, ctx) => resizeAttrs(r, ctx.opset),
  infer: resizeInfer,
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Resize');
    const scales = present(a.scalesIn >= 0 ? ins[a.scalesIn] : undefined);
    const sizes = present(a.sizesIn >= 0 ? ins[a.sizesIn] : undefined);
    if (scales && sizes) throw invalid('Resize: only one of scales and sizes may be given');
    const roi = present(a.roiIn >= 0 ? ins[a.roiIn] : undefined);
    return [resizeKernel(x, a, resolveResize(x.shape, a, scales, sizes, roi))];
  },
  cost: (_c, a, outs) => ({ macs: 0, flops: shapeElems(outs[0]!.shape) * (a.mode === 'cubic' ? 8 : a.mode === 'linear' ? 4 : 1) }),
});

function shapeElems(s: Shape): number {
  return s.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
}

// Upsample(X, scales) -> X upsampled with asymmetric coordinates (deprecated; opset 7 scales attribute)
export const Upsample = defineOp<ResizeAttrs>({
  name: 'Upsample',
  domain: '',
  since: 7,
  arity: [1, 2],
  attrs: (r, ctx) => {
    if (ctx.opset < 7) throw r.unsupported('Upsample before opset 7 (experimental height_scale/width_scale form) is not supported');
    let mode = r.string('mode', 'nearest');
    if (mode === 'bilinear') mode = 'linear';
    if (mode !== 'nearest' && mode !== 'linear') throw r.error(`Upsample: mode "${mode}" must be nearest or linear`);
    const a: ResizeAttrs = {
      mode, coord: 'asymmetric', nearest: 'simple', cubicA: -0.75, excludeOutside: false, extrapolation: 0,
      antialias: false, policy: 'stretch', roiIn: -1, scalesIn: 1, sizesIn: -1,
    };
    if (ctx.opset < 9) {
      const s = r.floats('scales');
      if (!s) throw r.error('Upsample: attribute "scales" is required before opset 9');
      if (s.some((v) => !(v >= 1))) throw r.error(`Upsample: scales must be >= 1, got ${JSON.stringify(s)}`);
      a.scales = s;
      a.scalesIn = -1;
    }
    return a;
  },
  infer: resizeInfer,
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Upsample');
    const s = a.scales ? Tensor.from('f32', [a.scales.length], a.scales) : need(ins[1], 1, 'Upsample');
    return [resizeKernel(x, a, resolveResize(x.shape, a, s))];
  },
});

// ---------------------------------------------------------------------------------------------
// GridSample
// ---------------------------------------------------------------------------------------------

interface GridSampleAttrs {
  mode: 'linear' | 'nearest' | 'cubic';
  padding: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

/** Reflects x into [lo, hi] by bouncing off the nearer border (PyTorch GridSampler semantics). */
function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Rounds half to even (numpy rint / nearbyint). */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// GridSample(X, grid) -> X sampled at normalized grid locations ([-1, 1] per spatial axis)
export const GridSample = defineOp<GridSampleAttrs>({
  name: 'GridSample',
  domain: '',
  since: 16,
  arity: [2, 2],
  attrs: (r, ctx) => {
    const modes = ctx.opset >= 20 ? (['linear', 'nearest', 'cubic'] as const) : (['bilinear', 'nearest', 'bicubic'] as const);
    const m = r.oneOf<string>('mode', modes[0], modes);
    const mode = m === 'bilinear' ? 'linear' : m === 'bicubic' ? 'cubic' : (m as GridSampleAttrs['mode']);
    return {
      mode,
      padding: r.oneOf('padding_mode', 'zeros', ['zeros', 'border', 'reflection'] as const),
      alignCorners: r.int('align_corners', 0) !== 0,
    };
  },
  infer: (ctx) => {
    const x = ctx.inputs[0]!;
    const g = ctx.inputs[1]!;
    const r = x.shape.length - 2;
    if (r < 1) throw invalid(`GridSample: input must have rank >= 3, got ${x.shape.length}`);
    if (ctx.opset < 20 && r !== 2) throw invalid(`GridSample: opset ${ctx.opset} supports only 4-D input, got rank ${x.shape.length}`);
    if (g.shape.length !== r + 2) throw invalid(`GridSample: grid must have rank ${r + 2}, got ${g.shape.length}`);
    const last = g.shape[r + 1];
    if (typeof last === 'number' && last !== r) throw invalid(`GridSample: grid's last dim must be ${r}, got ${last}`);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...g.shape.slice(1, r + 1)] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'GridSample');
    const g = need(ins[1], 1, 'GridSample');
    return [gridSample(x, g, a)];
  },
  cost: (_c, a, outs) => ({ macs: 0, flops: shapeElems(outs[0]!.shape) * (a.mode === 'cubic' ? 16 : a.mode === 'linear' ? 4 : 1) }),
});

function gridSample(x: Tensor, g: Tensor, a: GridSampleAttrs): Tensor {
  const r = x.shape.length - 2;
  if (r < 1) throw invalid(`GridSample: input must have rank >= 3, got ${x.shape.length}`);
  if (g.shape.length !== r + 2 || g.shape[r + 1] !== r) throw invalid(`GridSample: grid shape [${g.shape.join(',')}] does not match input rank`);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (g.shape[0] !== N) throw invalid('GridSample: grid batch differs from input batch');
  const dims = x.shape.slice(2);
  const outSpatial = g.shape.slice(1, r + 1);
  const outShape = [N, C, ...outSpatial];
  const P = numel(outSpatial);
  const S = numel(dims);
  if (numel(outShape) === 0 || S === 0) return Tensor.zeros(x.dtype, outShape);
  const sStr = stridesOf(dims);
  const lo = dims.map(() => (a.alignCorners ? 0 : -0.5));
  const hi = dims.map((d) => (a.alignCorners ? d - 1 : d - 0.5));
  const xv = toF64(x);
  const gv = toF64(g);
  const out = new Float64Array(numel(outShape));
  const nTap = a.mode === 'cubic' ? 4 : a.mode === 'linear' ? 2 : 1;
  const single = x.dtype !== 'f64';
  // per-dim taps: source index (-1 = zero padding) and weight
  const tIdx = dims.map(() => new Int32Array(nTap));
  const tW = dims.map(() => new Float64Array(nTap));
  const total = nTap ** r;
  const offs = new Int32Array(total);
  const wts = new Float64Array(total);
  /** Index after padding for integer position i along dim d, or -1 for zero padding. */
  const pixel = (i: number, d: number): number => {
    const n = dims[d]!;
    if (a.padding === 'zeros') return i >= 0 && i < n ? i : -1;
    if (a.padding === 'border') return Math.min(Math.max(i, 0), n - 1);
    const v = Math.trunc(reflect(i, lo[d]!, hi[d]!));
    return Math.min(Math.max(v, 0), n - 1);
  };
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const gBase = (n * P + p) * r;
      for (let d = 0; d < r; d++) {
        // grid's last axis lists coordinates innermost-first (x = width first)
        const v = gv[gBase + (r - 1 - d)]!;
        const len = dims[d]!;
        let c = a.alignCorners ? ((v + 1) / 2) * (len - 1) : ((v + 1) * len - 1) / 2;
        if (single) c = Math.fround(c); // the reference denormalizes into a float32 buffer
        if (a.mode === 'nearest') c = rint(c); // round half to even (matches the ONNX test data in 2-D and 3-D)
        // cubic applies the padding per tap only (PyTorch / onnxruntime semantics)
        if (a.mode !== 'cubic' && (c < lo[d]! || c > hi[d]!)) {
          if (a.padding === 'border') c = Math.min(Math.max(c, 0), len - 1);
          else if (a.padding === 'reflection') c = reflect(c, lo[d]!, hi[d]!);
        }
        const ti = tIdx[d]!;
        const tw = tW[d]!;
        if (a.mode === 'nearest') {
          ti[0] = Number.isFinite(c) ? pixel(Math.trunc(c), d) : -1;
          tw[0] = 1;
        } else if (a.mode === 'linear') {
          const i0 = Math.floor(c);
          const f = c - i0;
          ti[0] = pixel(i0, d);
          ti[1] = pixel(i0 + 1, d);
          tw[0] = 1 - f;
          tw[1] = f;
        } else {
          const i0 = Math.floor(c);
          const f = c - i0;
          for (let k = 0; k < 4; k++) {
            ti[k] = pixel(i0 - 1 + k, d);
            tw[k] = cubicKernel(f + 1 - k, -0.75);
          }
        }
      }
      // tensor product of the per-dim taps
      let m = 0;
      for (let t = 0; t < total; t++) {
        let rem = t;
        let off = 0;
        let w = 1;
        for (let d = r - 1; d >= 0; d--) {
          const k = rem % nTap;
          rem = (rem - k) / nTap;
          const i = tIdx[d]![k]!;
          if (i < 0) {
            w = 0;
            break;
          }
          off += i * sStr[d]!;
          w *= tW[d]![k]!;
        }
        if (w !== 0) {
          offs[m] = off;
          wts[m] = w;
          m++;
        }
      }
      for (let c = 0; c < C; c++) {
        const xBase = (n * C + c) * S;
        let acc = 0;
        for (let t = 0; t < m; t++) acc += wts[t]! * xv[xBase + offs[t]!]!;
        out[(n * C + c) * P + p] = acc;
      }
    }
  }
  return fromF64(x.dtype, outShape, out);
}

// ---------------------------------------------------------------------------------------------
// AffineGrid
// ---------------------------------------------------------------------------------------------

/** Normalized base coordinates of `len` positions in [-1, 1]. */
function baseCoords(len: number, alignCorners: boolean): Float64Array {
  const c = new Float64Array(len);
  if (alignCorners) {
    const step = 2 / (len - 1);
    for (let i = 0; i < len; i++) c[i] = len === 1 ? -1 : -1 + i * step;
  } else {
    const step = 2 / len;
    const start = -1 + step / 2;
    for (let i = 0; i < len; i++) c[i] = start + i * step;
  }
  return c;
}

// AffineGrid(theta, size) -> grid[n, (d,) h, w] = theta[n] @ [x_w, y_h, (z_d,) 1]
export const AffineGrid = defineOp<{ alignCorners: boolean }>({
  name: 'AffineGrid',
  domain: '',
  since: 20,
  arity: [2, 2],
  attrs: (r) => ({ alignCorners: r.int('align_corners', 0) !== 0 }),
  infer: (ctx) => {
    const th = ctx.inputs[0]!;
    if (th.shape.length !== 3) throw invalid(`AffineGrid: theta must be 3-D, got rank ${th.shape.length}`);
    const sz = ctx.consts[1]?.toNumbers();
    const len = ctx.inputs[1]!.shape[0];
    const nd = sz ? sz.length - 2 : typeof len === 'number' ? len - 2 : typeof th.shape[1] === 'number' ? th.shape[1] : undefined;
    if (nd !== 2 && nd !== 3) throw (nd === undefined ? unsupported('AffineGrid: unknown size length') : invalid(`AffineGrid: size must have 4 or 5 entries`));
    const spatial: Dim[] = sz ? sz.slice(2) : Array.from({ length: nd }, () => ctx.freshDim());
    return [{ dtype: th.dtype, shape: [th.shape[0]!, ...spatial, nd] }];
  },
  ref: (ins, a) => {
    const th = need(ins[0], 0, 'AffineGrid');
    const sz = need(ins[1], 1, 'AffineGrid').toNumbers();
    const nd = sz.length - 2;
    if (nd !== 2 && nd !== 3) throw invalid(`AffineGrid: size must have 4 or 5 entries, got ${sz.length}`);
    const N = sz[0]!;
    if (th.shape.length !== 3 || th.shape[0] !== N || th.shape[1] !== nd || th.shape[2] !== nd + 1) {
      throw invalid(`AffineGrid: theta shape [${th.shape.join(',')}] must be [${N},${nd},${nd + 1}]`);
    }
    const spatial = sz.slice(2);
    if (spatial.some((d) => !(d > 0))) throw invalid(`AffineGrid: size ${JSON.stringify(sz)} must be positive`);
    // base coordinates per spatial axis; the homogeneous vector is [x (last axis), y, (z,) 1]
    const base = spatial.map((d) => baseCoords(d, a.alignCorners));
    const P = numel(spatial);
    const res = Tensor.zeros(th.dtype, [N, ...spatial, nd]);
    const thv = th.toNumbers();
    const hv = new Float64Array(nd + 1);
    const cnt = new Array<number>(nd).fill(0);
    for (let n = 0; n < N; n++) {
      cnt.fill(0);
      for (let p = 0; p < P; p++) {
        for (let k = 0; k < nd; k++) hv[k] = base[nd - 1 - k]![cnt[nd - 1 - k]!]!;
        hv[nd] = 1;
        for (let row = 0; row < nd; row++) {
          let acc = 0;
          const t0 = (n * nd + row) * (nd + 1);
          for (let k = 0; k <= nd; k++) acc += thv[t0 + k]! * hv[k]!;
          res.set((n * P + p) * nd + row, acc);
        }
        for (let d = nd - 1; d >= 0; d--) {
          cnt[d]!++;
          if (cnt[d]! < spatial[d]!) break;
          cnt[d] = 0;
        }
      }
    }
    return [res];
  },
});

/** One resized axis of a Resize as tap tables (resizeAxisPlans), for target lowerings. */
export interface ResizeAxisTaps {
  axis: number;
  inLen: number;
  outLen: number;
  /** Taps per output position (0: every position extrapolates). */
  n: number;
  /** Source indices [outLen, n] (clamped to the axis). */
  idx: Int32Array;
  /** Weights [outLen, n] (0 for unused taps). */
  w: Float64Array;
  /** 1 where the output position takes the extrapolation value (tf_crop_and_resize). */
  extrap: Uint8Array;
}

/**
 * The per-axis tap tables the reference Resize applies, in order (axes whose plan is the identity
 * are left out): applying them one axis at a time, in order, is the reference kernel.
 * @param inShape concrete input shape
 * @param a parsed Resize/Upsample attributes
 * @param scales the scales input (or the Upsample-7 attribute as a tensor), if given and non-empty
 * @param sizes the sizes input, if given and non-empty
 * @param roi the roi input (tf_crop_and_resize), if given
 */
export function resizeAxisPlans(inShape: readonly number[], a: ResizeAttrs, scales?: Tensor, sizes?: Tensor, roi?: Tensor): { outShape: number[]; plans: ResizeAxisTaps[] } {
  const s = present(scales);
  const z = present(sizes);
  if (s && z) throw invalid('Resize: only one of scales and sizes may be given');
  const tgt = resolveResize(inShape, a, s, z, present(roi));
  const rank = inShape.length;
  const plans: ResizeAxisTaps[] = [];
  if (numel(inShape) === 0 || tgt.outShape.some((d) => d === 0)) return { outShape: tgt.outShape, plans };
  for (let ax = 0; ax < rank; ax++) {
    const p = axisPlan(a, inShape[ax]!, tgt.outShape[ax]!, tgt.scales[ax]!, tgt.roi[ax]!, tgt.roi[rank + ax]!);
    if (p.identity) continue;
    plans.push({ axis: ax, inLen: inShape[ax]!, outLen: p.outLen, n: p.n, idx: p.idx, w: p.w, extrap: p.extrap });
  }
  return { outShape: tgt.outShape, plans };
}
