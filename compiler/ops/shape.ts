/**
 * Op family: shape and data movement (Reshape, Transpose, Concat, Slice, Gather, Scatter, Pad, ...).
 *
 * Kernels copy raw storage elements (typed arrays, bigints and strings alike), so every dtype works
 * without conversion. Shape inference uses constant inputs (`ctx.consts`) where they are known and
 * fresh symbolic dims (`ctx.freshDim`) otherwise.
 */
import { DType, isBigInt, isFloat } from '../ir/dtype.js';
import { ConcreteShape, Dim, Shape, Tensor, TensorType, numel, stridesOf } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, broadcastShapes, defineOp, need } from './registry.js';
import { broadcastConcrete, broadcastIndex, knownNumel } from './util.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers (exported for image.ts)
// ---------------------------------------------------------------------------------------------

/** Raw element access to any tensor storage (same-dtype copies only). */
export type RawData = { [i: number]: number | bigint | string; length: number };

/** The storage of a tensor as an indexable array. */
export function raw(t: Tensor): RawData {
  return t.data as unknown as RawData;
}

/** Input `i` or null when omitted (absent or an empty name). */
function opt(ins: (Tensor | null)[], i: number): Tensor | null {
  return ins[i] ?? null;
}

/** Type of input `i` or null when omitted. */
function optType(ctx: InferCtx, i: number): TensorType | null {
  return ctx.inputs[i] ?? null;
}

/** Constant value of input `i` as numbers, when known. */
function constInts(ctx: InferCtx, i: number): number[] | undefined {
  const t = ctx.consts[i];
  return t ? ints(t) : undefined;
}

/** Reads a 1-D integer tensor as numbers (huge i64 values become +-9.2e18, fine for clamping). */
function ints(t: Tensor): number[] {
  if (isFloat(t.dtype) || t.dtype === 'bool' || t.dtype === 'string') throw invalid(`expected an integer tensor (shape, axes, pads...), got ${t.dtype}`);
  return t.toNumbers();
}

/** Normalizes an axis against `rank`, throwing an 'invalid' error naming the op when out of range. */
function axisOf(op: string, axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw invalid(`${op}: ${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Normalizes a list of axes, rejecting duplicates. */
function axesOf(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => axisOf(op, a, rank));
  if (new Set(out).size !== out.length) throw invalid(`${op}: axes ${JSON.stringify(axes)} contain duplicates`);
  return out;
}

/** Product of dims: a number when all are known, the one symbol when it is alone, else a fresh dim. */
function dimProduct(ctx: InferCtx, dims: readonly Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  if (syms.length === 0) return n;
  if (n === 0) return 0;
  if (syms.length === 1 && n === 1) return syms[0]!;
  return ctx.freshDim();
}

/** A fresh tensor of `dtype`/`shape` whose storage the caller fills. */
function alloc(dtype: DType, shape: ConcreteShape): Tensor {
  return Tensor.zeros(dtype, shape);
}

/** Element `v` converted to the storage representation of `dtype` (float rounding, int wrap). */
export function storageValue(dtype: DType, v: number | bigint | string): number | bigint | string {
  if (dtype === 'string') return typeof v === 'string' ? v : String(v);
  const t = alloc(dtype, [1]);
  t.set(0, typeof v === 'string' ? Number(v) : v);
  return raw(t)[0]!;
}

/**
 * Generic N-d transpose: out[j] = in[i] with out dims = in dims permuted by `perm`.
 * @param t input tensor
 * @param perm output axis k takes input axis perm[k]
 */
export function transposeTensor(t: Tensor, perm: readonly number[]): Tensor {
  const inShape = t.shape;
  const outShape = perm.map((p) => inShape[p]!);
  const out = alloc(t.dtype, outShape);
  const n = t.size;
  if (n === 0) return out;
  const src = raw(t);
  const dst = raw(out);
  const inStr = stridesOf(inShape);
  const str = perm.map((p) => inStr[p]!); // input stride per output axis
  gatherStrided(src, dst, outShape, str, 0);
  return out;
}

/**
 * dst[j] = src[off + sum_d i_d * str[d]] for every output index (i_0..i_r) of `outShape`, in
 * row-major order; the innermost axis is the unrolled inner loop. Shared by Transpose and Slice.
 */
function gatherStrided(src: ArrayLike<unknown> & { [i: number]: unknown }, dst: { [i: number]: unknown }, outShape: readonly number[],
  str: readonly number[], off: number): void {
  const rank = outShape.length;
  const n = outShape.reduce((x, d) => x * d, 1);
  if (n === 0) return;
  if (rank === 0) {
    dst[0] = src[off];
    return;
  }
  const counter = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastDim = outShape[last]!;
  const lastStr = str[last]!;
  let j = 0;
  while (j < n) {
    for (let k = 0, o = off; k < lastDim; k++, o += lastStr) dst[j++] = src[o];
    let d = last - 1;
    for (; d >= 0; d--) {
      counter[d]!++;
      off += str[d]!;
      if (counter[d]! < outShape[d]!) break;
      off -= str[d]! * outShape[d]!;
      counter[d] = 0;
    }
    if (d < 0) break;
  }
}

/** Copies `t` broadcast to `outShape` (numpy rules). */
function broadcastTo(t: Tensor, outShape: ConcreteShape): Tensor {
  const out = alloc(t.dtype, outShape);
  const idx = broadcastIndex(t.shape, outShape);
  const src = raw(t);
  const dst = raw(out);
  for (let j = 0; j < idx.length; j++) dst[j] = src[idx[j]!]!;
  return out;
}

/** Same-dtype requirement for the listed inputs during inference. */
function sameTypes(op: string, types: (TensorType | null)[]): DType {
  const present = types.filter((t): t is TensorType => t !== null);
  const dt = present[0]!.dtype;
  for (const t of present) if (t.dtype !== dt) throw invalid(`${op}: input dtypes differ (${dt} vs ${t.dtype})`);
  return dt;
}

function out(dtype: DType, shape: Shape): TensorType {
  return { dtype, shape };
}

// ---------------------------------------------------------------------------------------------
// Reshape / Flatten / Squeeze / Unsqueeze
// ---------------------------------------------------------------------------------------------

/**
 * Resolves a Reshape target against the input shape: 0 copies the input dim (unless allowzero),
 * -1 takes the remaining size. Works on symbolic dims; unknowable sizes become fresh dims.
 */
function reshapeDims(op: string, inShape: Shape, target: readonly number[], allowzero: boolean, fresh?: () => Dim): Dim[] {
  let neg = -1;
  const res: Dim[] = target.map((d, i) => {
    if (d === -1) {
      if (neg >= 0) throw invalid(`${op}: shape ${JSON.stringify(target)} has more than one -1`);
      neg = i;
      return -1;
    }
    if (d < -1 || !Number.isFinite(d)) throw invalid(`${op}: shape ${JSON.stringify(target)} has invalid dim ${d}`);
    if (d === 0 && !allowzero) {
      if (i >= inShape.length) throw invalid(`${op}: shape ${JSON.stringify(target)} copies dim ${i}, input has rank ${inShape.length}`);
      return inShape[i]!;
    }
    return d;
  });
  if (allowzero && neg >= 0 && target.includes(0)) {
    throw invalid(`${op}: allowzero=1 forbids 0 and -1 in the same shape ${JSON.stringify(target)}`);
  }
  // remaining size as a multiset of symbols and a numeric product
  let inNum = 1;
  const inSyms: string[] = [];
  for (const d of inShape) {
    if (typeof d === 'number') inNum *= d;
    else inSyms.push(d);
  }
  let outNum = 1;
  const outSyms: string[] = [];
  res.forEach((d, i) => {
    if (i === neg) return;
    if (typeof d === 'number') outNum *= d;
    else {
      const k = inSyms.indexOf(d);
      if (k >= 0) inSyms.splice(k, 1);
      else outSyms.push(d);
    }
  });
  if (neg >= 0) {
    if (inSyms.length === 0 && outSyms.length === 0) {
      if (outNum === 0) {
        if (inNum !== 0) throw invalid(`${op}: cannot infer -1 in ${JSON.stringify(target)} with a zero-sized dim`);
        res[neg] = 0;
      } else {
        if (inNum % outNum !== 0) {
          throw invalid(`${op}: cannot reshape [${inShape.join(',')}] to ${JSON.stringify(target)}`);
        }
        res[neg] = inNum / outNum;
      }
    } else if (inSyms.length === 1 && outSyms.length === 0 && inNum === outNum) {
      res[neg] = inSyms[0]!;
    } else {
      if (!fresh) throw invalid(`${op}: cannot resolve -1 in ${JSON.stringify(target)}`);
      res[neg] = fresh();
    }
  } else if (inSyms.length === 0 && outSyms.length === 0 && inNum !== outNum) {
    throw invalid(`${op}: cannot reshape [${inShape.join(',')}] (${inNum} elements) to ${JSON.stringify(target)} (${outNum} elements)`);
  }
  return res;
}

interface ReshapeAttrs {
  allowzero: boolean;
  /** Target shape from the attribute (opset < 5). */
  shape?: number[];
}

// Reshape(x, shape) -> x with dims `shape` (0 copies, -1 infers); opset < 5 takes an attribute.
export const Reshape = defineOp<ReshapeAttrs>({
  name: 'Reshape',
  domain: '',
  since: 1,
  arity: [1, 2],
  attrs: (r, ctx) => {
    const a: ReshapeAttrs = { allowzero: r.int('allowzero', 0) !== 0 };
    if (ctx.opset < 5) {
      const s = r.ints('shape');
      if (!s) throw r.error('Reshape: attribute "shape" is required before opset 5');
      a.shape = s;
    }
    return a;
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    let target = a.shape;
    if (!target) {
      const st = optType(ctx, 1);
      if (!st) throw invalid('Reshape: input "shape" is required');
      target = constInts(ctx, 1);
      if (!target) {
        const len = st.shape[0];
        if (st.shape.length !== 1 || typeof len !== 'number') {
          throw unsupported('Reshape: the output rank is unknown (shape input of unknown length)');
        }
        return [out(x.dtype, Array.from({ length: len }, () => ctx.freshDim()))];
      }
    }
    return [out(x.dtype, reshapeDims('Reshape', x.shape, target, a.allowzero, () => ctx.freshDim()))];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Reshape');
    const target = a.shape ?? ints(need(opt(ins, 1), 1, 'Reshape'));
    const dims = reshapeDims('Reshape', x.shape, target, a.allowzero) as number[];
    return [x.reshape(dims)];
  },
});

// Flatten(x) -> 2-D [prod(dims[:axis]), prod(dims[axis:])]
export const Flatten = defineOp<{ axis: number }>({
  name: 'Flatten',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => ({ axis: r.int('axis', 1) }),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const r = x.shape.length;
    const ax = a.axis < 0 ? a.axis + r : a.axis;
    if (ax < 0 || ax > r) throw invalid(`Flatten: axis ${a.axis} is out of range for rank ${r}`);
    return [out(x.dtype, [dimProduct(ctx, x.shape.slice(0, ax)), dimProduct(ctx, x.shape.slice(ax))])];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Flatten');
    const r = x.shape.length;
    const ax = a.axis < 0 ? a.axis + r : a.axis;
    if (ax < 0 || ax > r) throw invalid(`Flatten: axis ${a.axis} is out of range for rank ${r}`);
    return [x.reshape([numel(x.shape.slice(0, ax)), numel(x.shape.slice(ax))])];
  },
});

/** Axes of Squeeze/Unsqueeze: attribute before opset 13, input from 13. */
function axesInput(ins: (Tensor | null)[], a: { axes?: number[] }): number[] | undefined {
  if (a.axes) return a.axes;
  const t = opt(ins, 1);
  return t ? ints(t) : undefined;
}

function squeezeShape(op: string, shape: Shape, axes: number[] | undefined): Dim[] {
  const r = shape.length;
  if (axes === undefined || axes.length === 0) return shape.filter((d) => d !== 1);
  const ax = axesOf(op, axes, r);
  for (const k of ax) {
    const d = shape[k]!;
    if (typeof d === 'number' && d !== 1) throw invalid(`${op}: cannot squeeze axis ${k} of size ${d}`);
  }
  return shape.filter((_, i) => !ax.includes(i));
}

function unsqueezeShape(op: string, shape: Shape, axes: number[]): Dim[] {
  const rOut = shape.length + axes.length;
  const ax = axesOf(op, axes, rOut);
  const res: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rOut; i++) res.push(ax.includes(i) ? 1 : shape[k++]!);
  return res;
}

interface AxesAttrs {
  axes?: number[];
}

function axesAttr(r: AttrReader, opset: number): AxesAttrs {
  if (opset >= 13) return {};
  const axes = r.ints('axes');
  return axes ? { axes } : {};
}

// Squeeze(x, axes?) -> x without the listed size-1 dims (all size-1 dims when axes are absent)
export const Squeeze = defineOp<AxesAttrs>({
  name: 'Squeeze',
  domain: '',
  since: 1,
  arity: [1, 2],
  attrs: (r, ctx) => axesAttr(r, ctx.opset),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    let axes = a.axes;
    if (!axes && optType(ctx, 1)) {
      axes = constInts(ctx, 1);
      if (!axes) {
        const n = optType(ctx, 1)!.shape[0];
        if (typeof n !== 'number') throw unsupported('Squeeze: axes of unknown length');
        return [out(x.dtype, Array.from({ length: x.shape.length - n }, () => ctx.freshDim()))];
      }
    }
    return [out(x.dtype, squeezeShape('Squeeze', x.shape, axes))];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Squeeze');
    return [x.reshape(squeezeShape('Squeeze', x.shape, axesInput(ins, a)) as number[])];
  },
});

// Unsqueeze(x, axes) -> x with size-1 dims inserted at `axes` (of the output rank)
export const Unsqueeze = defineOp<AxesAttrs>({
  name: 'Unsqueeze',
  domain: '',
  since: 1,
  arity: [1, 2],
  attrs: (r, ctx) => {
    const a = axesAttr(r, ctx.opset);
    if (ctx.opset < 13 && !a.axes) throw r.error('Unsqueeze: attribute "axes" is required before opset 13');
    return a;
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    let axes = a.axes;
    if (!axes) {
      const t = optType(ctx, 1);
      if (!t) throw invalid('Unsqueeze: input "axes" is required');
      axes = constInts(ctx, 1);
      if (!axes) {
        const n = t.shape[0];
        if (typeof n !== 'number') throw unsupported('Unsqueeze: axes of unknown length');
        return [out(x.dtype, Array.from({ length: x.shape.length + n }, () => ctx.freshDim()))];
      }
    }
    return [out(x.dtype, unsqueezeShape('Unsqueeze', x.shape, axes))];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Unsqueeze');
    const axes = axesInput(ins, a);
    if (!axes) throw invalid('Unsqueeze: input "axes" is required');
    return [x.reshape(unsqueezeShape('Unsqueeze', x.shape, axes) as number[])];
  },
});

// ---------------------------------------------------------------------------------------------
// Transpose / Concat / Split
// ---------------------------------------------------------------------------------------------

function permOf(perm: number[] | undefined, rank: number): number[] {
  if (!perm) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank) throw invalid(`Transpose: perm ${JSON.stringify(perm)} has length ${perm.length}, input rank is ${rank}`);
  const p = perm.map((x) => axisOf('Transpose', x, rank, 'perm entry'));
  if (new Set(p).size !== rank) throw invalid(`Transpose: perm ${JSON.stringify(perm)} is not a permutation`);
  return p;
}

// Transpose(x) -> y with y.dims[k] = x.dims[perm[k]] (default perm reverses the axes)
export const Transpose = defineOp<{ perm?: number[] }>({
  name: 'Transpose',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const perm = r.ints('perm');
    return perm ? { perm } : {};
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const p = permOf(a.perm, x.shape.length);
    return [out(x.dtype, p.map((k) => x.shape[k]!))];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Transpose');
    return [transposeTensor(x, permOf(a.perm, x.shape.length))];
  },
});

// Concat(x0, x1, ...) -> inputs joined along `axis`
export const Concat = defineOp<{ axis: number }>({
  name: 'Concat',
  domain: '',
  since: 1,
  arity: [1, Infinity],
  attrs: (r, ctx) => {
    const axis = r.int('axis');
    if (axis === undefined) {
      if (ctx.opset < 4) return { axis: 1 };
      throw r.error('Concat: attribute "axis" is required');
    }
    return { axis };
  },
  infer: (ctx, a) => {
    const ins = ctx.inputs.filter((t): t is TensorType => t !== null);
    if (ins.length === 0) throw invalid('Concat needs at least one input');
    const dt = sameTypes('Concat', ins);
    const rank = ins[0]!.shape.length;
    const ax = axisOf('Concat', a.axis, rank);
    const shape: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      if (i === ax) {
        shape.push(dimSum(ctx, ins.map((t) => t.shape[i]!)));
        continue;
      }
      let d: Dim = ins[0]!.shape[i]!;
      for (const t of ins) {
        if (t.shape.length !== rank) throw invalid(`Concat: inputs have ranks ${rank} and ${t.shape.length}`);
        const e = t.shape[i]!;
        if (typeof e === 'number') {
          if (typeof d === 'number' && d !== e) throw invalid(`Concat: dim ${i} differs between inputs (${d} vs ${e})`);
          d = e;
        }
      }
      shape.push(d);
    }
    return [out(dt, shape)];
  },
  ref: (ins, a) => {
    const xs = ins.filter((t): t is Tensor => t !== null);
    if (xs.length === 0) throw invalid('Concat needs at least one input');
    const rank = xs[0]!.shape.length;
    const ax = axisOf('Concat', a.axis, rank);
    const base = xs[0]!.shape;
    let total = 0;
    for (const t of xs) {
      if (t.shape.length !== rank || t.dtype !== xs[0]!.dtype) throw invalid('Concat: inputs differ in rank or dtype');
      for (let i = 0; i < rank; i++) {
        if (i !== ax && t.shape[i] !== base[i]) {
          throw invalid(`Concat: input shapes [${base.join(',')}] and [${t.shape.join(',')}] differ outside axis ${ax}`);
        }
      }
      total += t.shape[ax]!;
    }
    const outShape = base.map((d, i) => (i === ax ? total : d));
    const res = alloc(xs[0]!.dtype, outShape);
    const dst = raw(res);
    const outer = numel(base.slice(0, ax));
    const inner = numel(base.slice(ax + 1));
    const rowOut = total * inner;
    let colOff = 0;
    for (const t of xs) {
      const src = raw(t);
      const row = t.shape[ax]! * inner;
      for (let o = 0; o < outer; o++) {
        const so = o * row;
        const d0 = o * rowOut + colOff;
        for (let k = 0; k < row; k++) dst[d0 + k] = src[so + k]!;
      }
      colOff += row;
    }
    return [res];
  },
});

/** Sum of dims: a number when all are known, the symbol plus zeros when alone, else a fresh dim. */
function dimSum(ctx: InferCtx, dims: Dim[]): Dim {
  let n = 0;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n += d;
    else syms.push(d);
  }
  if (syms.length === 0) return n;
  if (syms.length === 1 && n === 0) return syms[0]!;
  return ctx.freshDim();
}

interface SplitAttrs {
  axis: number;
  split?: number[];
  numOutputs?: number;
}

/** Sizes of the Split outputs along the axis. */
function splitSizes(dim: number, nOut: number, a: SplitAttrs, split: number[] | undefined): number[] {
  if (split) {
    if (split.length !== nOut) throw invalid(`Split: split has ${split.length} entries for ${nOut} outputs`);
    if (split.some((s) => s < 0)) throw invalid(`Split: negative split size in ${JSON.stringify(split)}`);
    const sum = split.reduce((x, y) => x + y, 0);
    if (sum !== dim) throw invalid(`Split: split sizes ${JSON.stringify(split)} sum to ${sum}, axis has ${dim}`);
    return split;
  }
  const n = a.numOutputs ?? nOut;
  if (n !== nOut) throw invalid(`Split: num_outputs=${n} but the node has ${nOut} outputs`);
  if (a.numOutputs !== undefined) {
    // opset 18: ceil-sized chunks, the last one takes the remainder
    const chunk = Math.ceil(dim / n);
    const sizes = new Array<number>(n).fill(chunk);
    sizes[n - 1] = dim - chunk * (n - 1);
    if (sizes[n - 1]! < 0) throw invalid(`Split: cannot split ${dim} into ${n} outputs`);
    return sizes;
  }
  if (dim % n !== 0) throw invalid(`Split: axis size ${dim} is not divisible into ${n} equal outputs`);
  return new Array<number>(n).fill(dim / n);
}

// Split(x, split?) -> outputs that partition x along `axis`
export const Split = defineOp<SplitAttrs>({
  name: 'Split',
  domain: '',
  since: 1,
  arity: [1, 2],
  attrs: (r, ctx) => {
    const a: SplitAttrs = { axis: r.int('axis', 0) };
    if (ctx.opset < 13) {
      const s = r.ints('split');
      if (s) a.split = s;
    }
    if (ctx.opset >= 18) {
      const n = r.int('num_outputs');
      if (n !== undefined) {
        if (n < 1) throw r.error(`Split: num_outputs must be >= 1, got ${n}`);
        a.numOutputs = n;
      }
    }
    return a;
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const ax = axisOf('Split', a.axis, x.shape.length);
    const nOut = ctx.node.outputs.length;
    const d = x.shape[ax]!;
    let split = a.split;
    if (!split && optType(ctx, 1)) {
      split = constInts(ctx, 1);
      if (!split) return ctx.node.outputs.map(() => out(x.dtype, x.shape.map((e, i) => (i === ax ? ctx.freshDim() : e))));
    }
    if (typeof d !== 'number') {
      return ctx.node.outputs.map((_, k) => out(x.dtype, x.shape.map((e, i) => (i === ax ? (split ? split[k]! : ctx.freshDim()) : e))));
    }
    const sizes = splitSizes(d, nOut, a, split);
    return sizes.map((s) => out(x.dtype, x.shape.map((e, i) => (i === ax ? s : e))));
  },
  ref: (ins, a, ctx) => {
    const x = need(ins[0], 0, 'Split');
    const ax = axisOf('Split', a.axis, x.shape.length);
    const st = opt(ins, 1);
    const sizes = splitSizes(x.shape[ax]!, ctx.node.outputs.length, a, a.split ?? (st ? ints(st) : undefined));
    const outer = numel(x.shape.slice(0, ax));
    const inner = numel(x.shape.slice(ax + 1));
    const rowIn = x.shape[ax]! * inner;
    const src = raw(x);
    let off = 0;
    return sizes.map((s) => {
      const res = alloc(x.dtype, x.shape.map((e, i) => (i === ax ? s : e)));
      const dst = raw(res);
      const row = s * inner;
      for (let o = 0; o < outer; o++) {
        const so = o * rowIn + off;
        const d0 = o * row;
        for (let k = 0; k < row; k++) dst[d0 + k] = src[so + k]!;
      }
      off += row;
      return res;
    });
  },
});

// ---------------------------------------------------------------------------------------------
// Slice
// ---------------------------------------------------------------------------------------------

interface SliceAttrs {
  /** opset < 10: starts/ends/axes attributes. */
  starts?: number[];
  ends?: number[];
  axes?: number[];
}

interface SliceParams {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

/** Per-axis clamped start, step and output length (numpy slicing rules). */
function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; len: number } {
  if (step === 0) throw invalid('Slice: steps must not be 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const len = Math.max(0, Math.ceil((e - s) / step));
  return { start: s, len };
}

function sliceParams(rank: number, p: { starts: number[]; ends: number[]; axes?: number[] | undefined; steps?: number[] | undefined }): SliceParams {
  const n = p.starts.length;
  if (p.ends.length !== n) throw invalid(`Slice: starts has ${n} entries, ends has ${p.ends.length}`);
  if (n > rank) throw invalid(`Slice: starts has ${n} entries but the input has rank ${rank}`);
  const axes = p.axes ? axesOf('Slice', p.axes, rank) : Array.from({ length: n }, (_, i) => i);
  if (axes.length !== n) throw invalid(`Slice: axes has ${axes.length} entries, starts has ${n}`);
  const steps = p.steps ?? new Array<number>(n).fill(1);
  if (steps.length !== n) throw invalid(`Slice: steps has ${steps.length} entries, starts has ${n}`);
  if (steps.some((s) => s === 0)) throw invalid('Slice: steps must not be 0');
  return { starts: p.starts, ends: p.ends, axes, steps };
}

/**
 * Resolved view of a Slice on a concrete input shape (numpy slicing rules, the same ones the
 * reference kernel uses): per axis the first element read, the step and the output length.
 * Lowerings use it to turn a Slice into a strided copy.
 * @param shape concrete input shape
 * @param p starts/ends and optional axes/steps (attributes before opset 10, constant inputs after)
 */
export function resolveSlice(shape: readonly number[], p: { starts: number[]; ends: number[]; axes?: number[] | undefined; steps?: number[] | undefined }): { begin: number[]; step: number[]; count: number[] } {
  const sp = sliceParams(shape.length, p);
  const begin = shape.map(() => 0);
  const step = shape.map(() => 1);
  const count = [...shape];
  sp.axes.forEach((ax, k) => {
    const s = sliceAxis(shape[ax]!, sp.starts[k]!, sp.ends[k]!, sp.steps[k]!);
    begin[ax] = s.start;
    step[ax] = sp.steps[k]!;
    count[ax] = s.len;
  });
  return { begin, step, count };
}

// Slice(x, starts, ends, axes?, steps?) -> x[starts:ends:steps] on `axes` (opset < 10: attributes)
export const Slice = defineOp<SliceAttrs>({
  name: 'Slice',
  domain: '',
  since: 1,
  arity: [1, 5],
  attrs: (r, ctx) => {
    if (ctx.opset >= 10) return {};
    const starts = r.ints('starts');
    const ends = r.ints('ends');
    if (!starts || !ends) throw r.error('Slice: attributes "starts" and "ends" are required before opset 10');
    const axes = r.ints('axes');
    return axes ? { starts, ends, axes } : { starts, ends };
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const rank = x.shape.length;
    let p: SliceParams | undefined;
    if (a.starts) p = sliceParams(rank, { starts: a.starts, ends: a.ends!, axes: a.axes });
    else {
      const starts = constInts(ctx, 1);
      const ends = constInts(ctx, 2);
      const axes = optType(ctx, 3) ? constInts(ctx, 3) : undefined;
      const steps = optType(ctx, 4) ? constInts(ctx, 4) : undefined;
      const axesKnown = !optType(ctx, 3) || axes !== undefined;
      const stepsKnown = !optType(ctx, 4) || steps !== undefined;
      if (starts && ends && axesKnown && stepsKnown) p = sliceParams(rank, { starts, ends, axes, steps });
      else if (axes) {
        const ax = axesOf('Slice', axes, rank);
        return [out(x.dtype, x.shape.map((d, i) => (ax.includes(i) ? ctx.freshDim() : d)))];
      } else if (!optType(ctx, 3)) {
        // default axes are 0..len(starts)-1
        const n = ctx.inputs[1]?.shape[0];
        if (typeof n === 'number') return [out(x.dtype, x.shape.map((d, i) => (i < n ? ctx.freshDim() : d)))];
        return [out(x.dtype, x.shape.map(() => ctx.freshDim()))];
      } else return [out(x.dtype, x.shape.map(() => ctx.freshDim()))];
    }
    const shape: Dim[] = [...x.shape];
    p.axes.forEach((ax, k) => {
      const d = x.shape[ax]!;
      const s = p.starts[k]!;
      const e = p.ends[k]!;
      const st = p.steps[k]!;
      if (typeof d === 'number') shape[ax] = sliceAxis(d, s, e, st).len;
      else if (s === 0 && st === 1 && e >= 2 ** 31 - 1) shape[ax] = d; // x[0:INT_MAX] keeps the dim
      else shape[ax] = ctx.freshDim();
    });
    return [out(x.dtype, shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Slice');
    const rank = x.shape.length;
    const p = a.starts
      ? sliceParams(rank, { starts: a.starts, ends: a.ends!, axes: a.axes })
      : sliceParams(rank, {
        starts: ints(need(opt(ins, 1), 1, 'Slice')),
        ends: ints(need(opt(ins, 2), 2, 'Slice')),
        axes: opt(ins, 3) ? ints(ins[3]!) : undefined,
        steps: opt(ins, 4) ? ints(ins[4]!) : undefined,
      });
    const starts = new Array<number>(rank).fill(0);
    const steps = new Array<number>(rank).fill(1);
    const outShape = [...x.shape];
    p.axes.forEach((ax, k) => {
      const s = sliceAxis(x.shape[ax]!, p.starts[k]!, p.ends[k]!, p.steps[k]!);
      starts[ax] = s.start;
      steps[ax] = p.steps[k]!;
      outShape[ax] = s.len;
    });
    return [stridedCopy(x, outShape, starts, steps)];
  },
});

/** out[i0..] = x[starts[d] + i_d * steps[d]] for an output of `outShape`. */
function stridedCopy(x: Tensor, outShape: number[], starts: number[], steps: number[]): Tensor {
  const res = alloc(x.dtype, outShape);
  if (res.size === 0) return res;
  const inStr = stridesOf(x.shape);
  let off = 0;
  for (let d = 0; d < outShape.length; d++) off += starts[d]! * inStr[d]!;
  gatherStrided(raw(x), raw(res), outShape, inStr.map((st, d) => st * steps[d]!), off);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Pad / Expand / Tile
// ---------------------------------------------------------------------------------------------

type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

interface PadAttrs {
  mode: PadMode;
  /** opset < 11: pads and value attributes. */
  pads?: number[];
  value: number;
}

/** Source index of output coordinate `i` along an axis of (cropped) size n, or -1 for the constant. */
function padSource(i: number, n: number, mode: PadMode): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'constant': return -1;
    case 'edge': return i < 0 ? 0 : n - 1;
    case 'wrap': return ((i % n) + n) % n;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      let m = ((i % period) + period) % period;
      if (m >= n) m = period - m;
      return m;
    }
  }
}

/** Per-axis [begin, end] pads from a pads list over `axes`. */
function padsPerAxis(rank: number, pads: number[], axesIn: number[] | undefined): [number[], number[]] {
  const axes = axesIn ? axesOf('Pad', axesIn, rank) : Array.from({ length: rank }, (_, i) => i);
  if (pads.length !== 2 * axes.length) {
    throw invalid(`Pad: pads has ${pads.length} entries, expected ${2 * axes.length} (2 per padded axis)`);
  }
  const b = new Array<number>(rank).fill(0);
  const e = new Array<number>(rank).fill(0);
  axes.forEach((ax, k) => {
    b[ax] = pads[k]!;
    e[ax] = pads[k + axes.length]!;
  });
  return [b, e];
}

/**
 * Per-axis [begin, end] pads of a Pad node (negative values crop), as the reference reads them.
 * @param rank input rank
 * @param pads the pads list (attribute before opset 11, input 1 after)
 * @param axes the optional axes input (opset 18+)
 */
export function resolvePads(rank: number, pads: number[], axes: number[] | undefined): [number[], number[]] {
  return padsPerAxis(rank, pads, axes);
}

// Pad(x, pads, value?, axes?) -> x padded (negative pads crop) with mode constant/reflect/edge/wrap
export const Pad = defineOp<PadAttrs>({
  name: 'Pad',
  domain: '',
  since: 1,
  arity: [1, 4],
  attrs: (r, ctx) => {
    const modes: PadMode[] = ctx.opset >= 19 ? ['constant', 'reflect', 'edge', 'wrap'] : ['constant', 'reflect', 'edge'];
    const a: PadAttrs = { mode: r.oneOf('mode', 'constant', modes), value: 0 };
    if (ctx.opset < 11) {
      const pads = r.ints(ctx.opset < 2 ? 'paddings' : 'pads') ?? r.ints('pads');
      if (!pads) throw r.error('Pad: attribute "pads" is required before opset 11');
      a.pads = pads;
      a.value = r.float('value', 0);
    }
    return a;
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const rank = x.shape.length;
    const pads = a.pads ?? constInts(ctx, 1);
    const axesT = optType(ctx, 3);
    const axes = axesT ? constInts(ctx, 3) : undefined;
    if (!pads || (axesT && !axes)) {
      if (axes) {
        const ax = axesOf('Pad', axes, rank);
        return [out(x.dtype, x.shape.map((d, i) => (ax.includes(i) ? ctx.freshDim() : d)))];
      }
      return [out(x.dtype, x.shape.map(() => ctx.freshDim()))];
    }
    const [b, e] = padsPerAxis(rank, pads, axes);
    return [out(x.dtype, x.shape.map((d, i) => {
      const p = b[i]! + e[i]!;
      if (typeof d === 'number') {
        if (d + p < 0) throw invalid(`Pad: pads ${JSON.stringify(pads)} crop axis ${i} below zero`);
        return d + p;
      }
      return b[i] === 0 && e[i] === 0 ? d : ctx.freshDim();
    }))];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Pad');
    const rank = x.shape.length;
    const pads = a.pads ?? ints(need(opt(ins, 1), 1, 'Pad'));
    const axesT = opt(ins, 3);
    const [b, e] = padsPerAxis(rank, pads, axesT ? ints(axesT) : undefined);
    let fill: number | bigint | string;
    const cv = opt(ins, 2);
    if (cv && cv.size > 0) {
      if (cv.dtype !== x.dtype) throw invalid(`Pad: constant_value is ${cv.dtype}, data is ${x.dtype}`);
      fill = raw(cv)[0]!;
    } else fill = storageValue(x.dtype, x.dtype === 'string' ? '' : a.value);
    // crop negative pads first, then pad the cropped region
    const cropStart = b.map((p) => Math.max(0, -p));
    const cropSize = x.shape.map((d, i) => d - cropStart[i]! - Math.max(0, -e[i]!));
    cropSize.forEach((s, i) => {
      if (s < 0) throw invalid(`Pad: pads crop axis ${i} below zero`);
    });
    const padB = b.map((p) => Math.max(0, p));
    const outShape = cropSize.map((s, i) => s + padB[i]! + Math.max(0, e[i]!));
    for (let i = 0; i < rank; i++) {
      if (a.mode !== 'constant' && cropSize[i] === 0 && outShape[i]! > 0) {
        throw invalid(`Pad: mode ${a.mode} cannot pad axis ${i} of size 0`);
      }
    }
    const res = alloc(x.dtype, outShape);
    const n = res.size;
    if (n === 0) return [res];
    const src = raw(x);
    const dst = raw(res);
    const inStr = stridesOf(x.shape);
    // per-axis source offset table (-1 = constant)
    const tables = outShape.map((o, d) => {
      const t = new Float64Array(o);
      for (let i = 0; i < o; i++) {
        const s = padSource(i - padB[d]!, cropSize[d]!, a.mode);
        t[i] = s < 0 ? -1 : (s + cropStart[d]!) * inStr[d]!;
      }
      return t;
    });
    if (rank === 0) {
      dst[0] = src[0]!;
      return [res];
    }
    const counter = new Array<number>(rank).fill(0);
    const last = rank - 1;
    const lastT = tables[last]!;
    const lastDim = outShape[last]!;
    let j = 0;
    while (j < n) {
      let base = 0;
      let isConst = false;
      for (let d = 0; d < last; d++) {
        const v = tables[d]![counter[d]!]!;
        if (v < 0) isConst = true;
        base += v;
      }
      if (isConst) for (let k = 0; k < lastDim; k++) dst[j++] = fill;
      else {
        for (let k = 0; k < lastDim; k++) {
          const v = lastT[k]!;
          dst[j++] = v < 0 ? fill : src[base + v]!;
        }
      }
      let d = last - 1;
      for (; d >= 0; d--) {
        counter[d]!++;
        if (counter[d]! < outShape[d]!) break;
        counter[d] = 0;
      }
      if (d < 0) break;
    }
    return [res];
  },
});

// Expand(x, shape) -> x broadcast against `shape` (bidirectional numpy broadcast)
export const Expand = defineOp<Record<string, never>>({
  name: 'Expand',
  domain: '',
  since: 8,
  arity: [2, 2],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = ctx.inputs[0]!;
    const s = constInts(ctx, 1);
    if (s?.some((d) => d < 0)) throw invalid(`Expand: shape [${s.join(', ')}] has a negative dimension`);
    if (s) return [out(x.dtype, broadcastShapes([x.shape, s]))];
    const len = ctx.inputs[1]!.shape[0];
    if (typeof len !== 'number') throw unsupported('Expand: the output rank is unknown (shape input of unknown length)');
    const rank = Math.max(len, x.shape.length);
    const shape: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const k = x.shape.length - rank + i;
      const d = k >= 0 ? x.shape[k]! : 1;
      // a dim other than 1 survives any valid broadcast; 1 (or a new axis) takes the unknown target
      shape.push(d === 1 ? ctx.freshDim() : d);
    }
    return [out(x.dtype, shape)];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'Expand');
    const s = ints(need(ins[1], 1, 'Expand'));
    if (s.some((d) => d < 0)) throw invalid(`Expand: shape [${s.join(', ')}] has a negative dimension`);
    return [broadcastTo(x, broadcastConcrete([x.shape, s]))];
  },
});

// Tile(x, repeats) -> x repeated repeats[d] times along each axis d (Tile-1: tiles copies on one axis)
export const Tile = defineOp<Record<string, never>>({
  name: 'Tile',
  domain: '',
  since: 1,
  arity: [2, 3],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = ctx.inputs[0]!;
    const reps = tileRepeats(ctx.opset, x.shape.length, ctx.consts[1], ctx.consts[2], !!optType(ctx, 2));
    if (!reps) return [out(x.dtype, x.shape.map((d) => (d === 0 ? 0 : ctx.freshDim())))];
    return [out(x.dtype, x.shape.map((d, i) => {
      const r = reps[i]!;
      if (typeof d === 'number') return d * r;
      return r === 1 ? d : r === 0 ? 0 : ctx.freshDim();
    }))];
  },
  ref: (ins, _a, ctx) => {
    const x = need(ins[0], 0, 'Tile');
    const reps = tileRepeats(ctx.opset, x.shape.length, need(ins[1], 1, 'Tile'), opt(ins, 2) ?? undefined, !!opt(ins, 2))!;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const res = alloc(x.dtype, outShape);
    const n = res.size;
    if (n === 0) return [res];
    const src = raw(x);
    const dst = raw(res);
    const rank = outShape.length;
    if (rank === 0) {
      dst[0] = src[0]!;
      return [res];
    }
    const inStr = stridesOf(x.shape);
    // per-axis source offsets: (i mod dim) * stride
    const tables = outShape.map((o, d) => {
      const t = new Int32Array(o);
      for (let i = 0; i < o; i++) t[i] = (i % x.shape[d]!) * inStr[d]!;
      return t;
    });
    const counter = new Array<number>(rank).fill(0);
    const last = rank - 1;
    const lastT = tables[last]!;
    const lastDim = outShape[last]!;
    let j = 0;
    while (j < n) {
      let base = 0;
      for (let d = 0; d < last; d++) base += tables[d]![counter[d]!]!;
      for (let k = 0; k < lastDim; k++) dst[j++] = src[base + lastT[k]!]!;
      let d = last - 1;
      for (; d >= 0; d--) {
        counter[d]!++;
        if (counter[d]! < outShape[d]!) break;
        counter[d] = 0;
      }
      if (d < 0) break;
    }
    return [res];
  },
});

/** Repeats per axis, or undefined when not constant. Tile-1 (opset < 6) takes (tiles, axis). */
function tileRepeats(opset: number, rank: number, reps: Tensor | undefined, axisT: Tensor | undefined, hasAxis: boolean): number[] | undefined {
  if (opset < 6 && hasAxis) {
    if (!reps || !axisT) return undefined;
    const ax = axisOf('Tile', axisT.get(0), rank);
    const r = new Array<number>(rank).fill(1);
    r[ax] = reps.get(0);
    return r;
  }
  if (!reps) return undefined;
  const r = ints(reps);
  if (r.length !== rank) throw invalid(`Tile: repeats has ${r.length} entries, input rank is ${rank}`);
  if (r.some((v) => v < 0)) throw invalid(`Tile: repeats ${JSON.stringify(r)} must be non-negative`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Gather / GatherElements / GatherND / ScatterND / ScatterElements
// ---------------------------------------------------------------------------------------------

/** Index value normalized against `dim` (negative counts from the end); throws when out of range. */
function normIndex(op: string, v: number, dim: number): number {
  const i = v < 0 ? v + dim : v;
  if (!(i >= 0 && i < dim)) throw invalid(`${op}: index ${v} is out of range for a dim of size ${dim}`);
  return i;
}

function checkIndexType(op: string, t: TensorType | null): void {
  if (t && t.dtype !== 'i32' && t.dtype !== 'i64') throw invalid(`${op}: indices must be int32 or int64, got ${t.dtype}`);
}

// Gather(data, indices) -> data.take(indices, axis)
export const Gather = defineOp<{ axis: number }>({
  name: 'Gather',
  domain: '',
  since: 1,
  arity: [2, 2],
  attrs: (r) => ({ axis: r.int('axis', 0) }),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const idx = ctx.inputs[1]!;
    checkIndexType('Gather', idx);
    const ax = axisOf('Gather', a.axis, x.shape.length);
    return [out(x.dtype, [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)])];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Gather');
    const idx = need(ins[1], 1, 'Gather');
    const ax = axisOf('Gather', a.axis, x.shape.length);
    const dim = x.shape[ax]!;
    const outer = numel(x.shape.slice(0, ax));
    const inner = numel(x.shape.slice(ax + 1));
    const res = alloc(x.dtype, [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)]);
    const src = raw(x);
    const dst = raw(res);
    const ni = idx.size;
    const pos = new Int32Array(ni);
    for (let k = 0; k < ni; k++) pos[k] = normIndex('Gather', idx.get(k), dim);
    let j = 0;
    for (let o = 0; o < outer; o++) {
      const base = o * dim * inner;
      for (let k = 0; k < ni; k++) {
        const s0 = base + pos[k]! * inner;
        for (let i = 0; i < inner; i++) dst[j++] = src[s0 + i]!;
      }
    }
    return [res];
  },
});

/**
 * For every element of an index tensor `idx` of the same rank as `data`, the flat offset in `data`
 * with the coordinate on `axis` replaced by the index value (GatherElements/ScatterElements).
 */
function elementOffsets(op: string, dataShape: ConcreteShape, idx: Tensor, axis: number): Int32Array {
  const rank = dataShape.length;
  if (idx.shape.length !== rank) throw invalid(`${op}: indices rank ${idx.shape.length} differs from data rank ${rank}`);
  const dStr = stridesOf(dataShape);
  const n = idx.size;
  const offs = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  const dim = dataShape[axis]!;
  for (let j = 0; j < n; j++) {
    let off = 0;
    for (let d = 0; d < rank; d++) {
      if (d === axis) off += normIndex(op, idx.get(j), dim) * dStr[d]!;
      else {
        if (counter[d]! >= dataShape[d]!) throw invalid(`${op}: indices shape exceeds data shape on axis ${d}`);
        off += counter[d]! * dStr[d]!;
      }
    }
    offs[j] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      if (counter[d]! < idx.shape[d]!) break;
      counter[d] = 0;
    }
  }
  return offs;
}

// GatherElements(data, indices) -> out[i..] = data[i.. with axis coordinate = indices[i..]]
export const GatherElements = defineOp<{ axis: number }>({
  name: 'GatherElements',
  domain: '',
  since: 11,
  arity: [2, 2],
  attrs: (r) => ({ axis: r.int('axis', 0) }),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const idx = ctx.inputs[1]!;
    checkIndexType('GatherElements', idx);
    axisOf('GatherElements', a.axis, x.shape.length);
    if (idx.shape.length !== x.shape.length) throw invalid('GatherElements: indices and data ranks differ');
    return [out(x.dtype, idx.shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'GatherElements');
    const idx = need(ins[1], 1, 'GatherElements');
    const ax = axisOf('GatherElements', a.axis, x.shape.length);
    const offs = elementOffsets('GatherElements', x.shape, idx, ax);
    const res = alloc(x.dtype, idx.shape);
    const src = raw(x);
    const dst = raw(res);
    for (let j = 0; j < offs.length; j++) dst[j] = src[offs[j]!]!;
    return [res];
  },
});

/**
 * Flat data offsets addressed by the last axis of `idx` (GatherND/ScatterND), with `batch` leading
 * batch dims shared by data and indices. Returns offsets and the slice size they address.
 */
function ndOffsets(op: string, dataShape: ConcreteShape, idx: Tensor, batch: number): { offs: Float64Array; slice: number } {
  const q = idx.shape.length;
  if (q < 1) throw invalid(`${op}: indices must have rank >= 1`);
  const k = idx.shape[q - 1]!;
  const r = dataShape.length;
  if (batch < 0 || batch >= Math.min(q, r)) throw invalid(`${op}: batch_dims ${batch} is out of range`);
  if (k < 1 || k > r - batch) throw invalid(`${op}: indices last dim ${k} must be in [1, ${r - batch}]`);
  for (let d = 0; d < batch; d++) {
    if (idx.shape[d] !== dataShape[d]) throw invalid(`${op}: batch dim ${d} differs between data and indices`);
  }
  const dStr = stridesOf(dataShape);
  const slice = numel(dataShape.slice(batch + k));
  const batchSize = numel(dataShape.slice(0, batch));
  const dataBatchStride = batch > 0 ? dStr[batch - 1]! : 0;
  const tuples = idx.size / k;
  const perBatch = batchSize > 0 ? tuples / batchSize : 0;
  const offs = new Float64Array(tuples);
  for (let t = 0; t < tuples; t++) {
    const b = perBatch > 0 ? Math.floor(t / perBatch) : 0;
    let off = b * dataBatchStride;
    for (let m = 0; m < k; m++) {
      const dim = dataShape[batch + m]!;
      off += normIndex(op, idx.get(t * k + m), dim) * dStr[batch + m]!;
    }
    offs[t] = off;
  }
  return { offs, slice };
}

// GatherND(data, indices) -> slices of data addressed by index tuples in indices' last axis
export const GatherND = defineOp<{ batchDims: number }>({
  name: 'GatherND',
  domain: '',
  since: 11,
  arity: [2, 2],
  attrs: (r) => ({ batchDims: r.int('batch_dims', 0) }),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    const idx = ctx.inputs[1]!;
    if (idx.dtype !== 'i64') throw invalid(`GatherND: indices must be int64, got ${idx.dtype}`);
    const q = idx.shape.length;
    const k = idx.shape[q - 1];
    if (typeof k !== 'number') throw unsupported('GatherND: indices with a symbolic last dim');
    if (k > x.shape.length - a.batchDims) throw invalid(`GatherND: indices last dim ${k} exceeds data rank`);
    return [out(x.dtype, [...idx.shape.slice(0, q - 1), ...x.shape.slice(a.batchDims + k)])];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'GatherND');
    const idx = need(ins[1], 1, 'GatherND');
    const { offs, slice } = ndOffsets('GatherND', x.shape, idx, a.batchDims);
    const q = idx.shape.length;
    const k = idx.shape[q - 1]!;
    const res = alloc(x.dtype, [...idx.shape.slice(0, q - 1), ...x.shape.slice(a.batchDims + k)]);
    const src = raw(x);
    const dst = raw(res);
    let j = 0;
    for (let t = 0; t < offs.length; t++) {
      const o = offs[t]!;
      for (let i = 0; i < slice; i++) dst[j++] = src[o + i]!;
    }
    return [res];
  },
});

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

function reductionAttr(r: AttrReader, opset: number): Reduction {
  if (opset < 16) return 'none';
  const allowed: Reduction[] = opset >= 18 ? ['none', 'add', 'mul', 'max', 'min'] : ['none', 'add', 'mul'];
  return r.oneOf('reduction', 'none', allowed);
}

/** Writes `upd[j]` into `res` at `offs[j]` with the reduction (float results rounded to the dtype). */
function scatterInto(res: Tensor, offs: ArrayLike<number>, upd: Tensor, slice: number, red: Reduction): void {
  const dst = raw(res);
  const src = raw(upd);
  const n = offs.length;
  if (red === 'none') {
    for (let t = 0; t < n; t++) {
      const o = offs[t]!;
      for (let i = 0; i < slice; i++) dst[o + i] = src[t * slice + i]!;
    }
    return;
  }
  if (res.dtype === 'string') throw unsupported(`reduction ${red} on string tensors`);
  if (isBigInt(res.dtype)) {
    const f = (p: bigint, q: bigint): bigint =>
      red === 'add' ? p + q : red === 'mul' ? p * q : red === 'max' ? (p > q ? p : q) : p < q ? p : q;
    for (let t = 0; t < n; t++) {
      const o = offs[t]!;
      for (let i = 0; i < slice; i++) res.set(o + i, f(dst[o + i] as bigint, src[t * slice + i] as bigint));
    }
    return;
  }
  const isBool = res.dtype === 'bool';
  const f = (p: number, q: number): number => {
    switch (red) {
      case 'add': return isBool ? (p || q ? 1 : 0) : p + q;
      case 'mul': return isBool ? (p && q ? 1 : 0) : p * q;
      case 'max': return Number.isNaN(p) || Number.isNaN(q) ? NaN : Math.max(p, q);
      default: return Number.isNaN(p) || Number.isNaN(q) ? NaN : Math.min(p, q);
    }
  };
  for (let t = 0; t < n; t++) {
    const o = offs[t]!;
    for (let i = 0; i < slice; i++) res.set(o + i, f(dst[o + i] as number, src[t * slice + i] as number));
  }
}

/** A copy of `t` (fresh storage). */
function copyOf(t: Tensor): Tensor {
  const res = alloc(t.dtype, t.shape);
  const src = raw(t);
  const dst = raw(res);
  for (let i = 0; i < t.size; i++) dst[i] = src[i]!;
  return res;
}

// ScatterND(data, indices, updates) -> copy of data with slices at index tuples replaced/reduced
export const ScatterND = defineOp<{ reduction: Reduction }>({
  name: 'ScatterND',
  domain: '',
  since: 11,
  arity: [3, 3],
  attrs: (r, ctx) => ({ reduction: reductionAttr(r, ctx.opset) }),
  infer: (ctx) => {
    const x = ctx.inputs[0]!;
    if (ctx.inputs[1]!.dtype !== 'i64') throw invalid(`ScatterND: indices must be int64, got ${ctx.inputs[1]!.dtype}`);
    if (ctx.inputs[2]!.dtype !== x.dtype) throw invalid('ScatterND: updates dtype differs from data');
    return [out(x.dtype, x.shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'ScatterND');
    const idx = need(ins[1], 1, 'ScatterND');
    const upd = need(ins[2], 2, 'ScatterND');
    const { offs, slice } = ndOffsets('ScatterND', x.shape, idx, 0);
    const q = idx.shape.length;
    const want = [...idx.shape.slice(0, q - 1), ...x.shape.slice(idx.shape[q - 1]!)];
    if (want.length !== upd.shape.length || want.some((d, i) => d !== upd.shape[i])) {
      throw invalid(`ScatterND: updates shape [${upd.shape.join(',')}] must be [${want.join(',')}]`);
    }
    const res = copyOf(x);
    scatterInto(res, offs, upd, slice, a.reduction);
    return [res];
  },
});

// ScatterElements(data, indices, updates) -> copy of data with data[.. indices[i..] ..] = updates[i..]
export const ScatterElements = defineOp<{ axis: number; reduction: Reduction }>({
  name: 'ScatterElements',
  domain: '',
  since: 11,
  arity: [3, 3],
  attrs: (r, ctx) => ({ axis: r.int('axis', 0), reduction: reductionAttr(r, ctx.opset) }),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    checkIndexType('ScatterElements', ctx.inputs[1]!);
    axisOf('ScatterElements', a.axis, x.shape.length);
    if (ctx.inputs[2]!.dtype !== x.dtype) throw invalid('ScatterElements: updates dtype differs from data');
    return [out(x.dtype, x.shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'ScatterElements');
    const idx = need(ins[1], 1, 'ScatterElements');
    const upd = need(ins[2], 2, 'ScatterElements');
    if (idx.shape.length !== upd.shape.length || idx.shape.some((d, i) => d !== upd.shape[i])) {
      throw invalid('ScatterElements: indices and updates shapes differ');
    }
    const ax = axisOf('ScatterElements', a.axis, x.shape.length);
    const offs = elementOffsets('ScatterElements', x.shape, idx, ax);
    const res = copyOf(x);
    scatterInto(res, offs, upd, 1, a.reduction);
    return [res];
  },
});

// ---------------------------------------------------------------------------------------------
// Shape / Size / ConstantOfShape / Range / NonZero
// ---------------------------------------------------------------------------------------------

/** [start, end) of Shape's slice of the dims (opset 15 start/end, clamped). */
function shapeRange(rank: number, a: { start: number; end?: number }): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const s = clamp(a.start);
  const e = a.end === undefined ? rank : clamp(a.end);
  return [s, Math.max(s, e)];
}

/**
 * [start, end) of the dims a Shape node returns (opset 15 start/end, clamped).
 * @param rank input rank
 * @param a parsed Shape attributes
 */
export function shapeDimsRange(rank: number, a: { start: number; end?: number }): [number, number] {
  return shapeRange(rank, a);
}

// Shape(x) -> int64 dims of x (optionally dims[start:end])
export const ShapeOp = defineOp<{ start: number; end?: number }>({
  name: 'Shape',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r, ctx) => {
    if (ctx.opset < 15) return { start: 0 };
    const end = r.int('end');
    return end === undefined ? { start: r.int('start', 0) } : { start: r.int('start', 0), end };
  },
  infer: (ctx, a) => {
    const [s, e] = shapeRange(ctx.inputs[0]!.shape.length, a);
    return [out('i64', [e - s])];
  },
  value: (ctx, a) => {
    const dims = ctx.inputs[0]!.shape;
    const [s, e] = shapeRange(dims.length, a);
    const sel = dims.slice(s, e);
    return [sel.every((d) => typeof d === 'number') ? Tensor.from('i64', [e - s], sel as number[]) : undefined];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Shape');
    const [s, e] = shapeRange(x.shape.length, a);
    return [Tensor.from('i64', [e - s], x.shape.slice(s, e))];
  },
});

// Size(x) -> int64 scalar number of elements
export const Size = defineOp<Record<string, never>>({
  name: 'Size',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: () => [out('i64', [])],
  value: (ctx) => {
    const n = knownNumel(ctx.inputs[0]!.shape);
    return [n === undefined ? undefined : Tensor.from('i64', [], [n])];
  },
  ref: (ins) => [Tensor.from('i64', [], [need(ins[0], 0, 'Size').size])],
});

// ConstantOfShape(shape) -> tensor of dims `shape` filled with `value` (default float 0)
export const ConstantOfShape = defineOp<{ value: Tensor }>({
  name: 'ConstantOfShape',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: (r) => {
    const v = r.tensor('value');
    if (!v) return { value: Tensor.from('f32', [1], [0]) };
    if (v.size !== 1) throw r.error(`ConstantOfShape: value must have exactly one element, got ${v.size}`);
    return { value: v };
  },
  infer: (ctx, a) => {
    const s = constInts(ctx, 0);
    if (s) {
      if (s.some((d) => d < 0)) throw invalid(`ConstantOfShape: negative dim in ${JSON.stringify(s)}`);
      return [out(a.value.dtype, s)];
    }
    const len = ctx.inputs[0]!.shape[0];
    if (ctx.inputs[0]!.shape.length !== 1 || typeof len !== 'number') throw unsupported('ConstantOfShape: shape input of unknown length');
    return [out(a.value.dtype, Array.from({ length: len }, () => ctx.freshDim()))];
  },
  ref: (ins, a) => {
    const s = ints(need(ins[0], 0, 'ConstantOfShape'));
    if (s.some((d) => d < 0 || !Number.isInteger(d))) throw invalid(`ConstantOfShape: invalid dims ${JSON.stringify(s)}`);
    const res = alloc(a.value.dtype, s);
    const v = raw(a.value)[0]!;
    const dst = raw(res);
    for (let i = 0; i < res.size; i++) dst[i] = v;
    return [res];
  },
});

/** Number of Range elements: max(ceil((limit - start) / delta), 0). */
function rangeCount(start: Tensor, limit: Tensor, delta: Tensor): number {
  if (isBigInt(start.dtype)) {
    const s = start.getBig(0);
    const l = limit.getBig(0);
    const d = delta.getBig(0);
    if (d === 0n) throw invalid('Range: delta must not be 0');
    const diff = l - s;
    let q = diff / d;
    if (q * d !== diff && (diff > 0n) === (d > 0n)) q += 1n; // ceil for same-sign operands
    return q > 0n ? Number(q) : 0;
  }
  const s = start.get(0);
  const l = limit.get(0);
  const d = delta.get(0);
  if (d === 0) throw invalid('Range: delta must not be 0');
  const n = Math.ceil((l - s) / d);
  return Number.isFinite(n) ? Math.max(n, 0) : 0;
}

// Range(start, limit, delta) -> [start, start+delta, ...) up to limit (exclusive)
export const Range = defineOp<Record<string, never>>({
  name: 'Range',
  domain: '',
  since: 11,
  arity: [3, 3],
  attrs: () => ({}),
  infer: (ctx) => {
    const dt = sameTypes('Range', ctx.inputs.slice(0, 3));
    const [s, l, d] = [ctx.consts[0], ctx.consts[1], ctx.consts[2]];
    if ([s, l, d].some((t) => t && t.size !== 1)) throw invalid('Range: start, limit and delta must be scalars');
    if (s && l && d) return [out(dt, [rangeCount(s, l, d)])];
    return [out(dt, [ctx.freshDim()])];
  },
  ref: (ins) => {
    const s = need(ins[0], 0, 'Range');
    const l = need(ins[1], 1, 'Range');
    const d = need(ins[2], 2, 'Range');
    for (const t of [s, l, d]) if (t.size !== 1) throw invalid('Range: start, limit and delta must be scalars');
    const n = rangeCount(s, l, d);
    const res = alloc(s.dtype, [n]);
    if (isBigInt(s.dtype)) {
      const s0 = s.getBig(0);
      const d0 = d.getBig(0);
      for (let i = 0; i < n; i++) res.set(i, s0 + BigInt(i) * d0);
    } else {
      const s0 = s.get(0);
      const d0 = d.get(0);
      for (let i = 0; i < n; i++) res.set(i, s0 + i * d0);
    }
    return [res];
  },
});

// NonZero(x) -> int64 [rank, nnz] coordinates of the non-zero elements, row-major order
export const NonZero = defineOp<Record<string, never>>({
  name: 'NonZero',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = ctx.inputs[0]!;
    const c = ctx.consts[0];
    return [out('i64', [x.shape.length, c ? countNonZero(c) : ctx.freshDim('nnz')])];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'NonZero');
    const rank = x.shape.length;
    const nnz = countNonZero(x);
    const res = alloc('i64', [rank, nnz]);
    const dst = res.data as BigInt64Array;
    const src = raw(x);
    const counter = new Array<number>(rank).fill(0);
    let k = 0;
    for (let j = 0; j < x.size; j++) {
      const v = src[j]!;
      if (v !== 0 && v !== 0n && v !== '') {
        for (let d = 0; d < rank; d++) dst[d * nnz + k] = BigInt(counter[d]!);
        k++;
      }
      for (let d = rank - 1; d >= 0; d--) {
        counter[d]!++;
        if (counter[d]! < x.shape[d]!) break;
        counter[d] = 0;
      }
    }
    return [res];
  },
});

function countNonZero(t: Tensor): number {
  const src = raw(t);
  let n = 0;
  for (let j = 0; j < t.size; j++) {
    const v = src[j]!;
    if (v !== 0 && v !== 0n && v !== '') n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// DepthToSpace / SpaceToDepth / OneHot / Trilu
// ---------------------------------------------------------------------------------------------

interface BlockAttrs {
  blocksize: number;
  mode: 'DCR' | 'CRD';
}

function blockAttrs(r: AttrReader, withMode: boolean): BlockAttrs {
  const b = r.int('blocksize');
  if (b === undefined) throw r.error('attribute "blocksize" is required');
  if (b < 1) throw r.error(`blocksize must be >= 1, got ${b}`);
  return { blocksize: b, mode: withMode ? r.oneOf('mode', 'DCR', ['DCR', 'CRD'] as const) : 'DCR' };
}

function dimTimes(ctx: InferCtx, d: Dim, f: number): Dim {
  return typeof d === 'number' ? d * f : f === 1 ? d : ctx.freshDim();
}

function dimDiv(op: string, ctx: InferCtx, d: Dim, f: number): Dim {
  if (typeof d !== 'number') return f === 1 ? d : ctx.freshDim();
  if (d % f !== 0) throw invalid(`${op}: dim ${d} is not divisible by ${f}`);
  return d / f;
}

// DepthToSpace(x) -> [N, C/b^2, H*b, W*b], channel blocks moved to space (DCR or CRD order)
export const DepthToSpace = defineOp<BlockAttrs>({
  name: 'DepthToSpace',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r, ctx) => blockAttrs(r, ctx.opset >= 11),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length !== 4) throw invalid(`DepthToSpace: input must be 4-D, got rank ${x.shape.length}`);
    const b = a.blocksize;
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    return [out(x.dtype, [n, dimDiv('DepthToSpace', ctx, c, b * b), dimTimes(ctx, h, b), dimTimes(ctx, w, b)])];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'DepthToSpace');
    if (x.shape.length !== 4) throw invalid(`DepthToSpace: input must be 4-D, got rank ${x.shape.length}`);
    const b = a.blocksize;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (c % (b * b) !== 0) throw invalid(`DepthToSpace: channels ${c} not divisible by blocksize^2 ${b * b}`);
    const c2 = c / (b * b);
    const t = a.mode === 'DCR'
      ? transposeTensor(x.reshape([n, b, b, c2, h, w]), [0, 3, 4, 1, 5, 2])
      : transposeTensor(x.reshape([n, c2, b, b, h, w]), [0, 1, 4, 2, 5, 3]);
    return [t.reshape([n, c2, h * b, w * b])];
  },
});

// SpaceToDepth(x) -> [N, C*b^2, H/b, W/b], spatial blocks moved to channels
export const SpaceToDepth = defineOp<BlockAttrs>({
  name: 'SpaceToDepth',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => blockAttrs(r, false),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length !== 4) throw invalid(`SpaceToDepth: input must be 4-D, got rank ${x.shape.length}`);
    const b = a.blocksize;
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    return [out(x.dtype, [n, dimTimes(ctx, c, b * b), dimDiv('SpaceToDepth', ctx, h, b), dimDiv('SpaceToDepth', ctx, w, b)])];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'SpaceToDepth');
    if (x.shape.length !== 4) throw invalid(`SpaceToDepth: input must be 4-D, got rank ${x.shape.length}`);
    const b = a.blocksize;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (h % b !== 0 || w % b !== 0) throw invalid(`SpaceToDepth: spatial dims ${h}x${w} not divisible by blocksize ${b}`);
    const t = transposeTensor(x.reshape([n, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]);
    return [t.reshape([n, c * b * b, h / b, w / b])];
  },
});

// OneHot(indices, depth, values) -> values[1] where index matches along a new `axis`, else values[0]
export const OneHot = defineOp<{ axis: number }>({
  name: 'OneHot',
  domain: '',
  since: 9,
  arity: [3, 3],
  attrs: (r) => ({ axis: r.int('axis', -1) }),
  infer: (ctx, a) => {
    const idx = ctx.inputs[0]!;
    const vals = ctx.inputs[2]!;
    const r = idx.shape.length;
    const ax = axisOf('OneHot', a.axis, r + 1);
    const dc = ctx.consts[1];
    const depth: Dim = dc ? oneHotDepth(dc) : ctx.freshDim();
    const shape = [...idx.shape];
    shape.splice(ax, 0, depth);
    return [out(vals.dtype, shape)];
  },
  ref: (ins, a) => {
    const idx = need(ins[0], 0, 'OneHot');
    const depth = oneHotDepth(need(ins[1], 1, 'OneHot'));
    const vals = need(ins[2], 2, 'OneHot');
    if (vals.size !== 2) throw invalid(`OneHot: values must have 2 elements, got ${vals.size}`);
    const r = idx.shape.length;
    const ax = axisOf('OneHot', a.axis, r + 1);
    const outShape = [...idx.shape];
    outShape.splice(ax, 0, depth);
    const res = alloc(vals.dtype, outShape);
    const dst = raw(res);
    const off = raw(vals)[0]!;
    const on = raw(vals)[1]!;
    for (let i = 0; i < res.size; i++) dst[i] = off;
    const outer = numel(idx.shape.slice(0, ax));
    const inner = numel(idx.shape.slice(ax));
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let v = idx.get(o * inner + i);
        if (isFloat(idx.dtype)) v = Math.trunc(v);
        if (v < 0) v += depth;
        if (v >= 0 && v < depth) dst[(o * depth + v) * inner + i] = on;
      }
    }
    return [res];
  },
});

function oneHotDepth(t: Tensor): number {
  if (t.size !== 1) throw invalid(`OneHot: depth must have one element, got ${t.size}`);
  const d = Math.trunc(t.get(0));
  if (!(d >= 1)) throw invalid(`OneHot: depth must be >= 1, got ${t.get(0)}`);
  return d;
}

// Trilu(x, k?) -> upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims
export const Trilu = defineOp<{ upper: boolean }>({
  name: 'Trilu',
  domain: '',
  since: 14,
  arity: [1, 2],
  attrs: (r) => ({ upper: r.int('upper', 1) !== 0 }),
  infer: (ctx) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length < 2) throw invalid(`Trilu: input must have rank >= 2, got ${x.shape.length}`);
    return [out(x.dtype, x.shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Trilu');
    const rank = x.shape.length;
    if (rank < 2) throw invalid(`Trilu: input must have rank >= 2, got ${rank}`);
    const kt = opt(ins, 1);
    const k = kt ? kt.get(0) : 0;
    const rows = x.shape[rank - 2]!;
    const cols = x.shape[rank - 1]!;
    const res = alloc(x.dtype, x.shape);
    const src = raw(x);
    const dst = raw(res);
    const mats = rows * cols > 0 ? x.size / (rows * cols) : 0;
    for (let m = 0; m < mats; m++) {
      const base = m * rows * cols;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const keep = a.upper ? j - i >= k : j - i <= k;
          if (keep) dst[base + i * cols + j] = src[base + i * cols + j]!;
        }
      }
    }
    return [res];
  },
});


// ---------------------------------------------------------------------------------------------
// Scatter (deprecated), ReverseSequence, Compress, Unique, CenterCropPad
// ---------------------------------------------------------------------------------------------

// Scatter(data, indices, updates) = ScatterElements without reduction (opset 9-10 name, kept
// deprecated from 11): res[.. indices[i..] (on axis) ..] = updates[i..]
export const Scatter = defineOp<{ axis: number }>({
  name: 'Scatter',
  domain: '',
  since: 9,
  arity: [3, 3],
  attrs: (r) => ({ axis: r.int('axis', 0) }),
  infer: (ctx, a) => {
    const x = ctx.inputs[0]!;
    checkIndexType('Scatter', ctx.inputs[1]!);
    axisOf('Scatter', a.axis, x.shape.length);
    if (ctx.inputs[2]!.dtype !== x.dtype) throw invalid('Scatter: updates dtype differs from data');
    return [out(x.dtype, x.shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Scatter');
    const idx = need(ins[1], 1, 'Scatter');
    const upd = need(ins[2], 2, 'Scatter');
    if (idx.shape.length !== upd.shape.length || idx.shape.some((d, i) => d !== upd.shape[i])) {
      throw invalid('Scatter: indices and updates shapes differ');
    }
    const offs = elementOffsets('Scatter', x.shape, idx, axisOf('Scatter', a.axis, x.shape.length));
    const res = copyOf(x);
    scatterInto(res, offs, upd, 1, 'none');
    return [res];
  },
});

// ReverseSequence(x, lens): for batch b, y[b, t] = x[b, lens[b] - 1 - t] for t < lens[b], else x[b, t]
// (batch_axis and time_axis are 0 and 1 in either order)
export const ReverseSequence = defineOp<{ batchAxis: number; timeAxis: number }>({
  name: 'ReverseSequence',
  domain: '',
  since: 10,
  arity: [2, 2],
  attrs: (r) => {
    const batchAxis = r.int('batch_axis', 1);
    const timeAxis = r.int('time_axis', 0);
    if (![0, 1].includes(batchAxis) || ![0, 1].includes(timeAxis) || batchAxis === timeAxis) {
      throw r.error(`batch_axis and time_axis must be 0 and 1 in some order, got ${batchAxis} and ${timeAxis}`);
    }
    return { batchAxis, timeAxis };
  },
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'ReverseSequence');
    const lens = need(ctx.inputs[1], 1, 'ReverseSequence');
    if (x.shape.length < 2) throw invalid(`ReverseSequence: input must have rank >= 2, got ${x.shape.length}`);
    if (lens.dtype !== 'i64') throw invalid(`ReverseSequence: sequence_lens must be int64, got ${lens.dtype}`);
    if (lens.shape.length !== 1) throw invalid(`ReverseSequence: sequence_lens must be 1-D, got rank ${lens.shape.length}`);
    return [out(x.dtype, x.shape)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'ReverseSequence');
    const lensT = need(ins[1], 1, 'ReverseSequence');
    if (x.shape.length < 2) throw invalid(`ReverseSequence: input must have rank >= 2, got ${x.shape.length}`);
    const B = x.shape[a.batchAxis]!;
    const T = x.shape[a.timeAxis]!;
    if (lensT.shape.length !== 1 || lensT.size !== B) {
      throw invalid(`ReverseSequence: sequence_lens must have shape [${B}], got [${lensT.shape.join(',')}]`);
    }
    const lens = ints(lensT);
    for (const l of lens) if (l < 0 || l > T) throw invalid(`ReverseSequence: sequence length ${l} is outside [0, ${T}]`);
    const inner = numel(x.shape.slice(2));
    const str = stridesOf(x.shape);
    const res = copyOf(x);
    const src = raw(x);
    const dst = raw(res);
    for (let b = 0; b < B; b++) {
      const l = lens[b]!;
      for (let t = 0; t < l; t++) {
        const o = b * str[a.batchAxis]! + t * str[a.timeAxis]!;
        const s = b * str[a.batchAxis]! + (l - 1 - t) * str[a.timeAxis]!;
        for (let i = 0; i < inner; i++) dst[o + i] = src[s + i]!;
      }
    }
    return [res];
  },
});

// Compress(x, cond, axis) = the slices of x along axis (or of flattened x) where cond is true;
// cond may be shorter than the axis (missing entries are false), never select past its end
export const Compress = defineOp<{ axis?: number }>({
  name: 'Compress',
  domain: '',
  since: 9,
  arity: [2, 2],
  attrs: (r) => {
    const axis = r.int('axis');
    return axis === undefined ? {} : { axis };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'Compress');
    const c = need(ctx.inputs[1], 1, 'Compress');
    if (c.dtype !== 'bool') throw invalid(`Compress: condition must be bool, got ${c.dtype}`);
    if (c.shape.length !== 1) throw invalid(`Compress: condition must be 1-D, got rank ${c.shape.length}`);
    const cv = ctx.consts[1];
    const kept: Dim = cv ? countNonZero(cv) : ctx.freshDim('compress');
    if (a.axis === undefined) return [out(x.dtype, [kept])];
    const ax = axisOf('Compress', a.axis, x.shape.length);
    return [out(x.dtype, x.shape.map((d, i) => (i === ax ? kept : d)))];
  },
  ref: (ins, a) => {
    const x0 = need(ins[0], 0, 'Compress');
    const c = need(ins[1], 1, 'Compress');
    if (c.dtype !== 'bool' || c.shape.length !== 1) throw invalid('Compress: condition must be a 1-D bool tensor');
    const x = a.axis === undefined ? x0.reshape([x0.size]) : x0;
    const ax = a.axis === undefined ? 0 : axisOf('Compress', a.axis, x.shape.length);
    const dim = x.shape[ax]!;
    const keep: number[] = [];
    for (let i = 0; i < c.size; i++) {
      if (!c.get(i)) continue;
      if (i >= dim) throw invalid(`Compress: condition selects index ${i} but the axis has size ${dim}`);
      keep.push(i);
    }
    return [takeAlong(x, ax, keep)];
  },
});

/** The slices `idx` of `x` along `axis`, in that order (a Gather with a 1-D index list). */
function takeAlong(x: Tensor, axis: number, idx: readonly number[]): Tensor {
  const outer = numel(x.shape.slice(0, axis));
  const dim = x.shape[axis]!;
  const inner = numel(x.shape.slice(axis + 1));
  const res = alloc(x.dtype, x.shape.map((d, i) => (i === axis ? idx.length : d)));
  const src = raw(x);
  const dst = raw(res);
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (const k of idx) {
      const s = (p * dim + k) * inner;
      for (let i = 0; i < inner; i++) dst[o++] = src[s + i]!;
    }
  }
  return res;
}

/** numpy ordering of two elements of one dtype: numbers (NaN last, NaN equal to NaN), bigints, strings. */
function compareElems(p: number | bigint | string, q: number | bigint | string): number {
  if (typeof p === 'number' && typeof q === 'number') {
    if (p !== p) return q !== q ? 0 : 1;
    if (q !== q) return -1;
  }
  return p < q ? -1 : p > q ? 1 : 0;
}

interface UniqueAttrs {
  sorted: boolean;
  axis?: number;
}

// Unique(x) -> (y, indices, inverse_indices, counts): the distinct elements of flattened x (or
// distinct slices along axis), ascending (sorted=1, slices compared lexicographically) or in order
// of first occurrence (sorted=0); x = y.take(inverse_indices), y = x.take(indices)
export const Unique = defineOp<UniqueAttrs>({
  name: 'Unique',
  domain: '',
  since: 11,
  arity: [1, 1],
  attrs: (r) => {
    const sorted = r.int('sorted', 1);
    if (sorted !== 0 && sorted !== 1) throw r.error(`attribute "sorted" must be 0 or 1, got ${sorted}`);
    const axis = r.int('axis');
    return axis === undefined ? { sorted: sorted === 1 } : { sorted: sorted === 1, axis };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'Unique');
    const u = ctx.freshDim('unique');
    let y: Dim[];
    let n: Dim;
    if (a.axis === undefined) {
      y = [u];
      n = knownNumel(x.shape) ?? ctx.freshDim();
    } else {
      const ax = axisOf('Unique', a.axis, x.shape.length);
      y = x.shape.map((d, i) => (i === ax ? u : d));
      n = x.shape[ax]!;
    }
    return [out(x.dtype, y), out('i64', [u]), out('i64', [n]), out('i64', [u])];
  },
  ref: (ins, a) => {
    const x0 = need(ins[0], 0, 'Unique');
    const x = a.axis === undefined ? x0.reshape([x0.size]) : x0;
    const ax = a.axis === undefined ? 0 : axisOf('Unique', a.axis, x.shape.length);
    const n = x.shape[ax]!;
    const outer = numel(x.shape.slice(0, ax));
    const inner = numel(x.shape.slice(ax + 1));
    const src = raw(x);
    // slice k: elements src[(p * n + k) * inner + i] for p < outer, i < inner (row-major)
    const cmp = (k1: number, k2: number): number => {
      for (let p = 0; p < outer; p++) {
        for (let i = 0; i < inner; i++) {
          const c = compareElems(src[(p * n + k1) * inner + i]!, src[(p * n + k2) * inner + i]!);
          if (c !== 0) return c;
        }
      }
      return 0;
    };
    const order = Array.from({ length: n }, (_, k) => k).sort((k1, k2) => cmp(k1, k2) || k1 - k2);
    // groups of equal slices in ascending order; the first member is the first occurrence
    const groups: number[][] = [];
    for (const k of order) {
      const g = groups[groups.length - 1];
      if (g && cmp(g[0]!, k) === 0) g.push(k);
      else groups.push([k]);
    }
    if (!a.sorted) groups.sort((g1, g2) => g1[0]! - g2[0]!);
    const inverse = new Array<number>(n);
    groups.forEach((g, u) => { for (const k of g) inverse[k] = u; });
    const first = groups.map((g) => g[0]!);
    const i64 = (v: number[]) => Tensor.from('i64', [v.length], v.map((q) => BigInt(q)));
    return [takeAlong(x, ax, first), i64(first), i64(inverse), i64(groups.map((g) => g.length))];
  },
});

/** [start offset in the input, start offset in the output, copied length] of one centered axis. */
function centerSpan(dim: number, want: number): [number, number, number] {
  if (want <= dim) return [Math.floor((dim - want) / 2), 0, want];
  return [0, Math.floor((want - dim) / 2), dim];
}

// CenterCropPad(x, shape, axes): each listed axis becomes shape[i], cropped around the center
// (start floor((dim - s) / 2)) or zero-padded around it (offset floor((s - dim) / 2))
export const CenterCropPad = defineOp<{ axes?: number[] }>({
  name: 'CenterCropPad',
  domain: '',
  since: 18,
  arity: [2, 2],
  attrs: (r) => {
    const axes = r.ints('axes');
    return axes === undefined ? {} : { axes };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'CenterCropPad');
    const s = need(ctx.inputs[1], 1, 'CenterCropPad');
    if (s.dtype !== 'i32' && s.dtype !== 'i64') throw invalid(`CenterCropPad: shape must be int32 or int64, got ${s.dtype}`);
    const rank = x.shape.length;
    const axes = a.axes ? axesOf('CenterCropPad', a.axes, rank) : Array.from({ length: rank }, (_, i) => i);
    const want = constInts(ctx, 1);
    if (want && want.length !== axes.length) throw invalid(`CenterCropPad: shape has ${want.length} entries for ${axes.length} axes`);
    return [out(x.dtype, x.shape.map((d, i) => {
      const k = axes.indexOf(i);
      return k < 0 ? d : want ? want[k]! : ctx.freshDim();
    }))];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'CenterCropPad');
    const want = ints(need(ins[1], 1, 'CenterCropPad'));
    const rank = x.shape.length;
    const axes = a.axes ? axesOf('CenterCropPad', a.axes, rank) : Array.from({ length: rank }, (_, i) => i);
    if (want.length !== axes.length) throw invalid(`CenterCropPad: shape has ${want.length} entries for ${axes.length} axes`);
    if (want.some((w) => w < 0)) throw invalid(`CenterCropPad: target sizes must be non-negative, got [${want.join(',')}]`);
    const spans = x.shape.map((d, i): [number, number, number] => {
      const k = axes.indexOf(i);
      return k < 0 ? [0, 0, d] : centerSpan(d, want[k]!);
    });
    const outShape = x.shape.map((d, i) => { const k = axes.indexOf(i); return k < 0 ? d : want[k]!; });
    const res = alloc(x.dtype, outShape);
    const n = numel(spans.map((s) => s[2]));
    if (n === 0) return [res];
    const src = raw(x);
    const dst = raw(res);
    const si = stridesOf(x.shape);
    const so = stridesOf(outShape);
    const counter = new Array<number>(rank).fill(0);
    for (let j = 0; j < n; j++) {
      let offIn = 0;
      let offOut = 0;
      for (let d = 0; d < rank; d++) {
        offIn += (spans[d]![0] + counter[d]!) * si[d]!;
        offOut += (spans[d]![1] + counter[d]!) * so[d]!;
      }
      dst[offOut] = src[offIn]!;
      for (let d = rank - 1; d >= 0; d--) {
        if (++counter[d]! < spans[d]![2]) break;
        counter[d] = 0;
      }
    }
    return [res];
  },
});
