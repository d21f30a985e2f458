/**
 * Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin, TopK,
 * CumSum. Float reductions accumulate in float64 and round once; i64/u64 sums, products and
 * extrema use bigints.
 */
import { DType, intRange, isBigInt, isFloat } from '../ir/dtype.js';
import { ConcreteShape, Dim, Tensor, TensorType, numel } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, OpCtx, defineOp, need, normAxis } from './registry.js';
import { intsOf } from './util.js';
import { broadcastOffsets, finish, numData, numOut, rawData, requireDtype, unaryMap } from './elementwise.js';

// ---------------------------------------------------------------------------------------------
// Reduce*
// ---------------------------------------------------------------------------------------------

type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsquare';

interface ReduceAttrs {
  /** Axes from the attribute (opsets before axes became an input); undefined: none given. */
  axes: number[] | undefined;
  keepdims: boolean;
  noopWithEmptyAxes: boolean;
  /** Axes come from input 1. */
  axesInput: boolean;
}

function reduceAttrs(axesInputSince: number) {
  return (r: AttrReader, ctx: OpCtx): ReduceAttrs => {
    const axesInput = ctx.opset >= axesInputSince;
    const keepdims = r.int('keepdims', 1);
    if (keepdims !== 0 && keepdims !== 1) throw r.error(`attribute "keepdims" must be 0 or 1, got ${keepdims}`);
    const noop = r.int('noop_with_empty_axes', 0);
    if (noop !== 0 && noop !== 1) throw r.error(`attribute "noop_with_empty_axes" must be 0 or 1, got ${noop}`);
    if (axesInput && r.has('axes')) throw r.error(`attribute "axes" is an input from opset ${axesInputSince}`);
    return { axes: axesInput ? undefined : r.ints('axes'), keepdims: keepdims === 1, noopWithEmptyAxes: noop === 1, axesInput };
  };
}

/**
 * Normalized, sorted reduction axes, or null for "no reduction" (noop_with_empty_axes).
 * @param axes requested axes (undefined or empty: all, unless noop)
 * @param rank input rank
 * @param noop noop_with_empty_axes
 */
function resolveAxes(axes: number[] | undefined, rank: number, noop: boolean): number[] | null {
  if (!axes || axes.length === 0) return noop ? null : Array.from({ length: rank }, (_, i) => i);
  const seen = new Set<number>();
  for (const ax of axes) {
    const a = normAxis(ax, rank, 'reduction axis');
    if (seen.has(a)) throw invalid(`reduction axis ${ax} is repeated`);
    seen.add(a);
  }
  return [...seen].sort((p, q) => p - q);
}

/**
 * Normalized, sorted axes a Reduce* node reduces over, or null for "no reduction"
 * (noop_with_empty_axes with empty axes), by the same rule the reference kernel uses.
 * @param axes requested axes: the `axes` attribute, or the constant axes input (opsets where it is an input)
 * @param rank input rank
 * @param noopWithEmptyAxes the parsed noop_with_empty_axes attribute
 */
export function resolveReduceAxes(axes: number[] | undefined, rank: number, noopWithEmptyAxes: boolean): number[] | null {
  return resolveAxes(axes, rank, noopWithEmptyAxes);
}

/** Output shape of a reduction over `axes`. */
function reducedShape<D extends Dim>(shape: readonly D[], axes: number[], keepdims: boolean): (D | 1)[] {
  const out: (D | 1)[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** Axes requested by a node at run time. */
function runtimeAxes(ins: (Tensor | null)[], a: ReduceAttrs): number[] | undefined {
  if (!a.axesInput) return a.axes;
  const t = ins[1];
  if (!t) return undefined;
  if (t.shape.length > 1) throw invalid(`axes must be 1-D, got shape [${t.shape.join(',')}]`);
  return intsOf(t);
}

/** Initial accumulator of an empty reduction (float: the identity; ints: the dtype's range ends). */
function initOf(kind: ReduceKind, dt: DType): number {
  switch (kind) {
    case 'prod': return 1;
    case 'max': return isFloat(dt) ? -Infinity : dt === 'bool' ? 0 : intRange(dt)[0];
    case 'min': return isFloat(dt) ? Infinity : dt === 'bool' ? 1 : intRange(dt)[1];
    case 'logsumexp': return -Infinity;
    default: return 0;
  }
}

/** Reduces x over `axes` (sorted, unique) with float64 accumulation. */
function reduceNumber(x: Tensor, axes: number[], keepdims: boolean, kind: ReduceKind): Tensor {
  const keepShape = reducedShape(x.shape, axes, true) as number[];
  const outShape = reducedShape(x.shape, axes, keepdims) as number[];
  const m = numel(keepShape);
  const n = x.size;
  const count = m === 0 ? 0 : n / m;
  const xd = numData(x);
  const idx = broadcastOffsets(keepShape, x.shape);
  const acc = new Float64Array(m).fill(kind === 'logsumexp' ? -Infinity : initOf(kind, x.dtype));
  switch (kind) {
    case 'sum': case 'mean': case 'logsum':
      for (let i = 0; i < n; i++) { const j = idx[i]!; acc[j] = acc[j]! + xd[i]!; }
      break;
    case 'sumsquare': case 'l2':
      for (let i = 0; i < n; i++) { const v = xd[i]!; const j = idx[i]!; acc[j] = acc[j]! + v * v; }
      break;
    case 'l1':
      for (let i = 0; i < n; i++) { const j = idx[i]!; acc[j] = acc[j]! + Math.abs(xd[i]!); }
      break;
    case 'prod':
      for (let i = 0; i < n; i++) { const j = idx[i]!; acc[j] = acc[j]! * xd[i]!; }
      break;
    case 'max':
      for (let i = 0; i < n; i++) {
        const v = xd[i]!;
        const j = idx[i]!;
        if (v > acc[j]! || v !== v) acc[j] = v;
      }
      break;
    case 'min':
      for (let i = 0; i < n; i++) {
        const v = xd[i]!;
        const j = idx[i]!;
        if (v < acc[j]! || v !== v) acc[j] = v;
      }
      break;
    case 'logsumexp': {
      // log(sum(exp(x))) = mx + log(sum(exp(x - mx)))
      const mx = new Float64Array(m).fill(-Infinity);
      for (let i = 0; i < n; i++) { const v = xd[i]!; if (v > mx[idx[i]!]! || v !== v) mx[idx[i]!] = v; }
      const s = new Float64Array(m);
      for (let i = 0; i < n; i++) {
        const j = idx[i]!;
        const shift = Number.isFinite(mx[j]!) ? mx[j]! : 0;
        s[j] = s[j]! + Math.exp(xd[i]! - shift);
      }
      for (let j = 0; j < m; j++) {
        const shift = Number.isFinite(mx[j]!) ? mx[j]! : 0;
        acc[j] = shift + Math.log(s[j]!);
      }
      break;
    }
  }
  const out = numOut(x.dtype, m);
  for (let j = 0; j < m; j++) {
    const v = acc[j]!;
    out[j] = kind === 'mean' ? (isFloat(x.dtype) ? v / count : Math.trunc(v / count))
      : kind === 'l2' ? Math.sqrt(v)
        : kind === 'logsum' ? Math.log(v)
          : v;
  }
  return finish(x.dtype, outShape, out);
}

/** Exact i64/u64 reductions for sum, product, extrema, L1 and sum of squares. */
function reduceBig(x: Tensor, axes: number[], keepdims: boolean, kind: ReduceKind): Tensor | null {
  if (kind !== 'sum' && kind !== 'prod' && kind !== 'max' && kind !== 'min' && kind !== 'l1' && kind !== 'sumsquare') return null;
  const keepShape = reducedShape(x.shape, axes, true) as number[];
  const outShape = reducedShape(x.shape, axes, keepdims) as number[];
  const m = numel(keepShape);
  const out = Tensor.zeros(x.dtype, outShape);
  const acc = out.data as BigInt64Array;
  const signed = x.dtype === 'i64';
  const init = kind === 'prod' ? 1n
    : kind === 'max' ? (signed ? -(2n ** 63n) : 0n)
      : kind === 'min' ? (signed ? 2n ** 63n - 1n : 2n ** 64n - 1n) : 0n;
  acc.fill(init);
  const xd = x.data as BigInt64Array;
  const idx = broadcastOffsets(keepShape, x.shape);
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i]!;
    const j = idx[i]!;
    switch (kind) {
      case 'sum': acc[j] = acc[j]! + v; break;
      case 'prod': acc[j] = acc[j]! * v; break;
      case 'max': if (v > acc[j]!) acc[j] = v; break;
      case 'min': if (v < acc[j]!) acc[j] = v; break;
      case 'l1': acc[j] = acc[j]! + (v < 0n ? -v : v); break;
      case 'sumsquare': acc[j] = acc[j]! + v * v; break;
    }
  }
  if (m !== acc.length) throw invalid('internal reduction size mismatch');
  return out;
}

/**
 * Result of a reduction over no axes (noop_with_empty_axes): the per-element part of the reduction
 * still applies (ReduceL1 -> |x|, ReduceSumSquare -> x^2, ReduceLogSum -> log x ...), as in the ONNX
 * reference and onnxruntime.
 */
function noopOf(x: Tensor, kind: ReduceKind): Tensor {
  switch (kind) {
    case 'l1': case 'l2': return unaryMap(x, x.dtype, Math.abs);
    case 'sumsquare': return unaryMap(x, x.dtype, (v) => v * v);
    case 'logsum': return unaryMap(x, x.dtype, Math.log);
    case 'logsumexp': return unaryMap(x, x.dtype, (v) => Math.log(Math.exp(v)));
    default: return x;
  }
}

/** Output type of a reduction, using the axes input when it is a constant. */
function reduceInfer(ctx: InferCtx, a: ReduceAttrs, name: string, kind: ReduceKind): TensorType[] {
  const x = need(ctx.inputs[0], 0, name);
  checkReduceDtype(name, x.dtype, kind);
  const rank = x.shape.length;
  let axes: number[] | undefined;
  if (a.axesInput && ctx.inputs[1]) {
    const c = ctx.consts[1];
    if (!c) {
      // axes only known at run time: the rank is known with keepdims or a known axes length
      const k = ctx.inputs[1].shape[0];
      if (a.keepdims) return [{ dtype: x.dtype, shape: x.shape.map((d) => (d === 1 ? 1 : ctx.freshDim())) }];
      if (typeof k === 'number' && (k > 0 || !a.noopWithEmptyAxes)) {
        const outRank = k === 0 ? 0 : rank - k;
        return [{ dtype: x.dtype, shape: Array.from({ length: outRank }, () => ctx.freshDim()) }];
      }
      throw unsupported(`${name}: axes must be a constant to infer the output shape`);
    }
    axes = intsOf(c);
  } else {
    axes = a.axes;
  }
  const ax = resolveAxes(axes, rank, a.noopWithEmptyAxes);
  if (!ax) return [x];
  return [{ dtype: x.dtype, shape: reducedShape(x.shape, ax, a.keepdims) }];
}

function checkReduceDtype(name: string, dt: DType, kind: ReduceKind): void {
  if (dt === 'string') throw unsupported(`${name}: string inputs are not supported`);
  if (dt === 'bool' && kind !== 'max' && kind !== 'min') throw unsupported(`${name}: bool inputs are not supported`);
}

/** Defines a Reduce* op. */
function reduceOp(name: string, kind: ReduceKind, axesInputSince: number) {
  return defineOp<ReduceAttrs>({
    name,
    domain: '',
    since: 1,
    arity: [1, 2],
    attrs: reduceAttrs(axesInputSince),
    infer: (ctx, a) => reduceInfer(ctx, a, name, kind),
    ref: (ins, a) => {
      const x = need(ins[0], 0, name);
      checkReduceDtype(name, x.dtype, kind);
      const axes = resolveAxes(runtimeAxes(ins, a), x.shape.length, a.noopWithEmptyAxes);
      if (!axes) return [noopOf(x, kind)];
      if (isBigInt(x.dtype)) {
        const r = reduceBig(x, axes, a.keepdims, kind);
        if (r) return [r];
      }
      return [reduceNumber(x, axes, a.keepdims, kind)];
    },
    cost: (ctx) => {
      const x = ctx.inputs[0];
      const n = x ? x.shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1) : 0;
      return { macs: 0, flops: n };
    },
  });
}

// y = sum(x) over axes
export const ReduceSum = reduceOp('ReduceSum', 'sum', 13);
// y = mean(x) over axes
export const ReduceMean = reduceOp('ReduceMean', 'mean', 18);
// y = max(x) over axes (empty set: -inf)
export const ReduceMax = reduceOp('ReduceMax', 'max', 18);
// y = min(x) over axes (empty set: +inf)
export const ReduceMin = reduceOp('ReduceMin', 'min', 18);
// y = prod(x) over axes
export const ReduceProd = reduceOp('ReduceProd', 'prod', 18);
// y = sum(|x|) over axes
export const ReduceL1 = reduceOp('ReduceL1', 'l1', 18);
// y = sqrt(sum(x^2)) over axes
export const ReduceL2 = reduceOp('ReduceL2', 'l2', 18);
// y = log(sum(x)) over axes
export const ReduceLogSum = reduceOp('ReduceLogSum', 'logsum', 18);
// y = log(sum(exp(x))) over axes
export const ReduceLogSumExp = reduceOp('ReduceLogSumExp', 'logsumexp', 18);
// y = sum(x^2) over axes
export const ReduceSumSquare = reduceOp('ReduceSumSquare', 'sumsquare', 18);

// ---------------------------------------------------------------------------------------------
// ArgMax / ArgMin
// ---------------------------------------------------------------------------------------------

interface ArgAttrs {
  axis: number;
  keepdims: boolean;
  selectLast: boolean;
}

/** [outer, n, inner] around an axis of a concrete shape. */
function axisLayout(shape: ConcreteShape, axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis]!, numel(shape.slice(axis + 1))];
}

/** Defines ArgMax or ArgMin (int64 indices; ties: first index unless select_last_index). */
function argOp(name: string, max: boolean) {
  return defineOp<ArgAttrs>({
    name,
    domain: '',
    since: 1,
    arity: [1, 1],
    attrs: (r) => {
      const keepdims = r.int('keepdims', 1);
      if (keepdims !== 0 && keepdims !== 1) throw r.error(`attribute "keepdims" must be 0 or 1, got ${keepdims}`);
      return { axis: r.int('axis', 0), keepdims: keepdims === 1, selectLast: r.int('select_last_index', 0) === 1 };
    },
    infer: (ctx, a) => {
      const x = need(ctx.inputs[0], 0, name);
      if (x.dtype === 'string') throw unsupported(`${name}: string inputs are not supported`);
      const axis = normAxis(a.axis, x.shape.length);
      return [{ dtype: 'i64', shape: reducedShape(x.shape, [axis], a.keepdims) }];
    },
    ref: (ins, a) => {
      const x = need(ins[0], 0, name);
      if (x.dtype === 'string') throw unsupported(`${name}: string inputs are not supported`);
      const axis = normAxis(a.axis, x.shape.length);
      const [outer, n, inner] = axisLayout(x.shape, axis);
      if (n === 0) throw invalid(`${name}: cannot reduce an empty axis`);
      const xd = rawData(x);
      const out = new BigInt64Array(outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          const base = o * n * inner + j;
          let best = xd[base]!;
          let arg = 0;
          if (best === best) {
            for (let k = 1; k < n; k++) {
              const v = xd[base + k * inner]!;
              // NaN wins (numpy); equal values move the index only with select_last_index
              if (v !== v) { arg = k; break; }
              const better = max ? v > best : v < best;
              if (better || (a.selectLast && v === best)) { best = v; arg = k; }
            }
          }
          out[o * inner + j] = BigInt(arg);
        }
      }
      return [new Tensor('i64', reducedShape(x.shape, [axis], a.keepdims) as number[], out)];
    },
    cost: (ctx) => ({ macs: 0, flops: ctx.inputs[0] ? ctx.inputs[0].shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1) : 0 }),
  });
}

// y = index of the maximum along axis
export const ArgMax = argOp('ArgMax', true);
// y = index of the minimum along axis
export const ArgMin = argOp('ArgMin', false);

// ---------------------------------------------------------------------------------------------
// TopK
// ---------------------------------------------------------------------------------------------

interface TopKAttrs {
  axis: number;
  largest: boolean;
  sorted: boolean;
  /** opset < 10: k is an attribute. */
  k: number | undefined;
}

/** k from the attribute or the 1-element input. */
function topkK(ins: (Tensor | null)[], a: TopKAttrs): number {
  if (a.k !== undefined) return a.k;
  const t = need(ins[1], 1, 'TopK');
  if (t.size !== 1) throw invalid(`TopK: K must have one element, got shape [${t.shape.join(',')}]`);
  return t.get(0);
}

// values, indices = the k largest (or smallest) elements along axis; ties keep the lower index first
export const TopK = defineOp<TopKAttrs>({
  name: 'TopK',
  domain: '',
  since: 1,
  arity: [1, 2],
  attrs: (r, ctx) => {
    const k = ctx.opset < 10 ? r.int('k') : undefined;
    if (ctx.opset < 10 && (k === undefined || k < 0)) throw r.error('attribute "k" must be a non-negative integer');
    return { axis: r.int('axis', -1), largest: r.int('largest', 1) === 1, sorted: r.int('sorted', 1) === 1, k };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'TopK');
    const axis = normAxis(a.axis, x.shape.length);
    let k: Dim | undefined = a.k;
    if (k === undefined) {
      const c = ctx.consts[1];
      k = c ? c.get(0) : ctx.freshDim('k');
    }
    const shape = x.shape.map((d, i) => (i === axis ? k! : d));
    return [{ dtype: x.dtype, shape }, { dtype: 'i64', shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'TopK');
    if (x.dtype === 'string' || x.dtype === 'bool') throw unsupported(`TopK: ${x.dtype} inputs are not supported`);
    const axis = normAxis(a.axis, x.shape.length);
    const k = topkK(ins, a);
    const [outer, n, inner] = axisLayout(x.shape, axis);
    if (!Number.isInteger(k) || k < 0 || k > n) throw invalid(`TopK: K = ${k} is out of range for axis size ${n}`);
    const shape = x.shape.map((d, i) => (i === axis ? k : d));
    const vals = Tensor.zeros(x.dtype, shape);
    const vd = rawData(vals);
    const id = new BigInt64Array(outer * k * inner);
    const xd = rawData(x);
    const order = new Array<number>(n);
    const row = new Array<number>(n);
    const sign = a.largest ? -1 : 1;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        for (let q = 0; q < n; q++) { order[q] = q; row[q] = xd[base + q * inner]!; }
        // NaN sorts as the largest value (numpy); ties by lower index
        order.sort((p, q) => {
          const u = row[p]!;
          const v = row[q]!;
          const un = u !== u;
          const vn = v !== v;
          if (un || vn) return un && vn ? p - q : (un ? 1 : -1) * -sign;
          if (u < v) return -sign;
          if (u > v) return sign;
          return p - q;
        });
        for (let q = 0; q < k; q++) {
          const src = order[q]!;
          const dst = o * k * inner + q * inner + j;
          vd[dst] = row[src]!;
          id[dst] = BigInt(src);
        }
      }
    }
    return [vals, new Tensor('i64', shape, id)];
  },
  cost: (ctx) => ({ macs: 0, flops: ctx.inputs[0] ? ctx.inputs[0].shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1) : 0 }),
});

// ---------------------------------------------------------------------------------------------
// CumSum
// ---------------------------------------------------------------------------------------------

// y[i] = sum of x[j] for j <= i along axis (exclusive: j < i; reverse: from the end)
export const CumSum = defineOp({
  name: 'CumSum',
  domain: '',
  since: 11,
  arity: [2, 2],
  attrs: (r) => ({ exclusive: r.int('exclusive', 0) !== 0, reverse: r.int('reverse', 0) !== 0 }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'CumSum');
    requireDtype('CumSum', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    return [x];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'CumSum');
    const at = need(ins[1], 1, 'CumSum');
    requireDtype('CumSum', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    if (at.size !== 1) throw invalid(`CumSum: axis must be a scalar, got shape [${at.shape.join(',')}]`);
    const axis = normAxis(at.get(0), x.shape.length);
    const [outer, n, inner] = axisLayout(x.shape, axis);
    const big = isBigInt(x.dtype);
    const out = Tensor.zeros(x.dtype, x.shape);
    const xd = big ? null : numData(x);
    const xb = big ? (x.data as BigInt64Array) : null;
    const buf = big ? null : new Float64Array(x.size);
    const ob = big ? (out.data as BigInt64Array) : null;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let s = 0;
        let sb = 0n;
        for (let q = 0; q < n; q++) {
          const kk = a.reverse ? n - 1 - q : q;
          const p = base + kk * inner;
          if (xb && ob) {
            if (a.exclusive) { ob[p] = sb; sb += xb[p]!; } else { sb += xb[p]!; ob[p] = sb; }
          } else {
            if (a.exclusive) { buf![p] = s; s += xd![p]!; } else { s += xd![p]!; buf![p] = s; }
          }
        }
      }
    }
    if (big) return [out];
    const res = numOut(x.dtype, x.size);
    for (let i = 0; i < x.size; i++) res[i] = buf![i]!;
    return [finish(x.dtype, x.shape, res)];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: outs[0]!.shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1) }),
});

// ---------------------------------------------------------------------------------------------
// CumProd
// ---------------------------------------------------------------------------------------------

/** CumProd element types: every numeric type except the 4-bit ones. */
const cumProdDtype = (d: DType): boolean => d !== 'string' && d !== 'bool' && d !== 'i4' && d !== 'u4';

// y[i] = product of x[j] for j <= i along axis (exclusive: j < i, the first is 1; reverse: from
// the end). Floats multiply in float64 and round once; integers wrap like C at every step.
export const CumProd = defineOp({
  name: 'CumProd',
  domain: '',
  since: 26,
  arity: [2, 2],
  attrs: (r) => ({ exclusive: r.int('exclusive', 0) !== 0, reverse: r.int('reverse', 0) !== 0 }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'CumProd');
    requireDtype('CumProd', x.dtype, cumProdDtype, 'a numeric type of 8 bits or more');
    const at = ctx.inputs[1];
    if (at && (isFloat(at.dtype) || at.dtype === 'bool' || at.dtype === 'string')) {
      throw invalid(`CumProd: axis must be an integer tensor, got ${at.dtype}`);
    }
    return [x];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'CumProd');
    const at = need(ins[1], 1, 'CumProd');
    requireDtype('CumProd', x.dtype, cumProdDtype, 'a numeric type of 8 bits or more');
    if (at.size !== 1) throw invalid(`CumProd: axis must be a scalar, got shape [${at.shape.join(',')}]`);
    const axis = normAxis(at.get(0), x.shape.length);
    const [outer, n, inner] = axisLayout(x.shape, axis);
    const dt = x.dtype;
    const big = isBigInt(dt);
    const float = isFloat(dt);
    const out = Tensor.zeros(dt, x.shape);
    const xb = big ? (x.data as BigInt64Array) : null;
    const ob = big ? (out.data as BigInt64Array) : null;
    const xd = big ? null : numData(x);
    const buf = float ? new Float64Array(x.size) : null;
    // integer products keep the dtype's low bits: Math.imul gives the low 32, the store the rest
    const acc1 = !big && !float ? (out.data as unknown as { [i: number]: number }) : null;
    const wrap = !big && !float ? (Tensor.zeros(dt, [1]).data as unknown as { [i: number]: number }) : null;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let p = 1;
        let pb = 1n;
        for (let q = 0; q < n; q++) {
          const k = base + (a.reverse ? n - 1 - q : q) * inner;
          if (xb && ob) {
            if (a.exclusive) { ob[k] = pb; pb = dt === 'i64' ? BigInt.asIntN(64, pb * xb[k]!) : BigInt.asUintN(64, pb * xb[k]!); }
            else { pb = dt === 'i64' ? BigInt.asIntN(64, pb * xb[k]!) : BigInt.asUintN(64, pb * xb[k]!); ob[k] = pb; }
          } else if (buf) {
            if (a.exclusive) { buf[k] = p; p *= xd![k]!; } else { p *= xd![k]!; buf[k] = p; }
          } else {
            const before = p;
            wrap![0] = Math.imul(p, xd![k]!);
            p = wrap![0]!;
            acc1![k] = a.exclusive ? before : p;
          }
        }
      }
    }
    if (!buf) return [out];
    const res = numOut(dt, x.size);
    for (let i = 0; i < x.size; i++) res[i] = buf[i]!;
    return [finish(dt, x.shape, res)];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: outs[0]!.shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1) }),
});
