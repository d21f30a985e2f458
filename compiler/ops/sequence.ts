/**
 * Op family: sequences and optionals (SequenceEmpty/Construct/At/Insert/Erase/Length,
 * SplitToSequence, ConcatFromSequence, SequenceMap, Optional, OptionalHasElement,
 * OptionalGetElement).
 *
 * Values are TensorSeq / OptionalValue (ir/value.ts); static types carry `kind`. A sequence
 * type's dtype/shape describe its elements (dims unknown or differing between elements are
 * symbolic). These ops run only on the reference interpreter (`run`); `ref` rejects them.
 */
import { Graph, TypeAttr } from '../ir/graph.js';
import { DType, dtypeFromOnnx } from '../ir/dtype.js';
import { Dim, Tensor, TensorType, numel, shapeToString } from '../ir/tensor.js';
import { OptionalValue, RtValue, TensorSeq, describeValue } from '../ir/value.js';
import { invalid } from '../errors.js';
import { defineOp, need, normAxis } from './registry.js';
import { inferBody, interpreterOnly, requireGraph, splitImplicit, stackAxis, tensorIn, unifyTypes } from './control-flow.js';
import { raw } from './shape.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A sequence input or a one-line error. */
function seqIn(v: RtValue | null | undefined, what: string): TensorSeq {
  if (!(v instanceof TensorSeq)) throw invalid(`${what} must be a sequence, got ${v ? describeValue(v) : 'nothing'}`);
  return v;
}

/** A sequence-typed input type or a one-line error. */
function seqType(t: TensorType | null | undefined, what: string): TensorType {
  if (!t || t.kind !== 'sequence') throw invalid(`${what} must be a sequence, got ${t ? t.kind ?? 'a tensor' : 'nothing'}`);
  return t;
}

/** The sequence type of elements like `t`. */
function seqOf(t: TensorType): TensorType {
  return { dtype: t.dtype, shape: t.shape, kind: 'sequence' };
}

/** The element (tensor) type of a sequence type. */
function elemOf(t: TensorType): TensorType {
  return { dtype: t.dtype, shape: t.shape };
}

/** A scalar integer position input (int32/int64, one element). */
function positionOf(t: Tensor, what: string): number {
  if (t.dtype !== 'i32' && t.dtype !== 'i64') throw invalid(`${what} must be int32 or int64, got ${t.dtype}`);
  if (t.size !== 1) throw invalid(`${what} must be a scalar, got shape ${shapeToString(t.shape)}`);
  return t.get(0);
}

/** Normalizes a position against [-n, hi]. */
function normPos(p: number, n: number, hi: number, what: string): number {
  if (p < -n || p > hi) throw invalid(`${what} ${p} is out of range [${-n}, ${hi}] for a sequence of length ${n}`);
  return p < 0 ? p + n : p;
}

/** Copies `[start, start+len)` of `axis` of t. */
function sliceRange(t: Tensor, axis: number, start: number, len: number): Tensor {
  const shape = t.shape.map((d, k) => (k === axis ? len : d));
  const out = Tensor.zeros(t.dtype, shape);
  const src = raw(t);
  const dst = raw(out);
  const outer = numel(t.shape.slice(0, axis));
  const inner = numel(t.shape.slice(axis + 1));
  const n = t.shape[axis]!;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < len; i++) {
      for (let k = 0; k < inner; k++) dst[(o * len + i) * inner + k] = src[(o * n + start + i) * inner + k]!;
    }
  }
  return out;
}

/** Concatenates tensors along `axis` (same shape except that axis). */
function concatAxis(items: readonly Tensor[], axis: number): Tensor {
  const first = items[0]!;
  for (const t of items) {
    if (t.shape.length !== first.shape.length || t.shape.some((d, k) => k !== axis && d !== first.shape[k])) {
      throw invalid(`ConcatFromSequence: element shapes ${shapeToString(first.shape)} and ${shapeToString(t.shape)} differ outside axis ${axis}`);
    }
  }
  const total = items.reduce((a, t) => a + t.shape[axis]!, 0);
  const shape = first.shape.map((d, k) => (k === axis ? total : d));
  const out = Tensor.zeros(first.dtype, shape);
  const dst = raw(out);
  const outer = numel(first.shape.slice(0, axis));
  const inner = numel(first.shape.slice(axis + 1));
  let off = 0;
  for (const t of items) {
    const src = raw(t);
    const n = t.shape[axis]!;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < inner; k++) dst[(o * total + off + i) * inner + k] = src[(o * n + i) * inner + k]!;
      }
    }
    off += n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sequence ops
// ---------------------------------------------------------------------------------------------

// SequenceEmpty() = [] with elements of `dtype` (default float)
export const SequenceEmpty = defineOp<{ dtype: DType }>({
  name: 'SequenceEmpty',
  domain: '',
  since: 11,
  arity: [0, 0],
  attrs: (r) => {
    const n = r.int('dtype', 1);
    const dtype = dtypeFromOnnx(n);
    if (!dtype) throw r.unsupported(`SequenceEmpty dtype ${n} is not supported`);
    return { dtype };
  },
  infer: (_ctx, a) => [{ dtype: a.dtype, shape: [], kind: 'sequence' }],
  ref: interpreterOnly('SequenceEmpty'),
  run: (_ins, a) => [new TensorSeq(a.dtype, [])],
  cost: () => ({ macs: 0, flops: 0 }),
});

// SequenceConstruct(x0, ..., xn-1) = [x0, ..., xn-1] (all of one dtype)
export const SequenceConstruct = defineOp({
  name: 'SequenceConstruct',
  domain: '',
  since: 11,
  arity: [1, Infinity],
  attrs: () => ({}),
  infer: (ctx) => {
    const ts = ctx.inputs.map((t, k) => need(t, k, 'SequenceConstruct'));
    let t = elemOf(ts[0]!);
    for (const u of ts.slice(1)) {
      if (u.dtype !== t.dtype) throw invalid(`SequenceConstruct: inputs mix ${t.dtype} and ${u.dtype}`);
      t = unifyTypes(ctx, t, elemOf(u));
    }
    return [seqOf(t)];
  },
  ref: interpreterOnly('SequenceConstruct'),
  run: (ins) => {
    const ts = ins.map((v, k) => tensorIn(v, `SequenceConstruct input ${k}`));
    return [new TensorSeq(ts[0]!.dtype, ts)];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// SequenceAt(S, p) = S[p], p in [-n, n-1]
export const SequenceAt = defineOp({
  name: 'SequenceAt',
  domain: '',
  since: 11,
  arity: [2, 2],
  attrs: () => ({}),
  infer: (ctx) => [elemOf(seqType(ctx.inputs[0], 'SequenceAt input'))],
  ref: interpreterOnly('SequenceAt'),
  run: (ins) => {
    const s = seqIn(ins[0], 'SequenceAt input');
    const p = normPos(positionOf(tensorIn(ins[1], 'SequenceAt position'), 'SequenceAt position'), s.length, s.length - 1, 'SequenceAt position');
    return [s.items[p]!];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// SequenceInsert(S, x, p = n) = S[0:p] ++ [x] ++ S[p:], p in [-n, n]
export const SequenceInsert = defineOp({
  name: 'SequenceInsert',
  domain: '',
  since: 11,
  arity: [2, 3],
  attrs: () => ({}),
  infer: (ctx) => {
    const s = seqType(ctx.inputs[0], 'SequenceInsert input');
    const x = need(ctx.inputs[1], 1, 'SequenceInsert');
    if (x.dtype !== s.dtype) throw invalid(`SequenceInsert: cannot insert a ${x.dtype} tensor into a sequence of ${s.dtype}`);
    return [seqOf(unifyTypes(ctx, elemOf(s), elemOf(x)))];
  },
  ref: interpreterOnly('SequenceInsert'),
  run: (ins) => {
    const s = seqIn(ins[0], 'SequenceInsert input');
    const x = tensorIn(ins[1], 'SequenceInsert tensor');
    if (x.dtype !== s.dtype) throw invalid(`SequenceInsert: cannot insert a ${x.dtype} tensor into a sequence of ${s.dtype}`);
    const p = ins[2] ? normPos(positionOf(tensorIn(ins[2], 'SequenceInsert position'), 'SequenceInsert position'), s.length, s.length, 'SequenceInsert position') : s.length;
    return [new TensorSeq(s.dtype, [...s.items.slice(0, p), x, ...s.items.slice(p)])];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// SequenceErase(S, p = -1) = S without S[p], p in [-n, n-1]
export const SequenceErase = defineOp({
  name: 'SequenceErase',
  domain: '',
  since: 11,
  arity: [1, 2],
  attrs: () => ({}),
  infer: (ctx) => [seqType(ctx.inputs[0], 'SequenceErase input')],
  ref: interpreterOnly('SequenceErase'),
  run: (ins) => {
    const s = seqIn(ins[0], 'SequenceErase input');
    const raw0 = ins[1] ? positionOf(tensorIn(ins[1], 'SequenceErase position'), 'SequenceErase position') : -1;
    const p = normPos(raw0, s.length, s.length - 1, 'SequenceErase position');
    return [new TensorSeq(s.dtype, s.items.filter((_, k) => k !== p))];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// SequenceLength(S) = int64 scalar n
export const SequenceLength = defineOp({
  name: 'SequenceLength',
  domain: '',
  since: 11,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    seqType(ctx.inputs[0], 'SequenceLength input');
    return [{ dtype: 'i64', shape: [] }];
  },
  ref: interpreterOnly('SequenceLength'),
  run: (ins) => [Tensor.scalar('i64', seqIn(ins[0], 'SequenceLength input').length)],
  cost: () => ({ macs: 0, flops: 0 }),
});

interface SplitSeqAttrs {
  axis: number;
  keepdims: boolean;
}

// SplitToSequence(x, split): chunks of x along axis. No split: chunks of 1 (axis squeezed when
// keepdims = 0); scalar split s: chunks of s (the last one shorter); 1-D split: those lengths.
export const SplitToSequence = defineOp<SplitSeqAttrs>({
  name: 'SplitToSequence',
  domain: '',
  since: 11,
  arity: [1, 2],
  attrs: (r) => ({ axis: r.int('axis', 0), keepdims: r.int('keepdims', 1) !== 0 }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'SplitToSequence');
    const ax = normAxis(a.axis, x.shape.length);
    const split = ctx.inputs[1] ?? null;
    const sc = ctx.consts[1];
    let d: Dim = ctx.freshDim('split');
    if (!split) d = 1;
    else if (sc && sc.shape.length === 0 && typeof x.shape[ax] === 'number' && (x.shape[ax] as number) % sc.get(0) === 0) d = sc.get(0);
    else if (sc && sc.size > 0 && sc.toNumbers().every((v) => v === sc.get(0))) d = sc.get(0);
    const shape = !split && !a.keepdims ? x.shape.filter((_, k) => k !== ax) : x.shape.map((s, k) => (k === ax ? d : s));
    return [{ dtype: x.dtype, shape, kind: 'sequence' }];
  },
  ref: interpreterOnly('SplitToSequence'),
  run: (ins, a) => {
    const x = tensorIn(ins[0], 'SplitToSequence input');
    const ax = normAxis(a.axis, x.shape.length);
    const n = x.shape[ax]!;
    const split = ins[1] ? tensorIn(ins[1], 'SplitToSequence split') : null;
    let lens: number[];
    if (!split) lens = new Array<number>(n).fill(1);
    else if (split.shape.length === 0) {
      const c = split.get(0);
      if (!(c > 0)) throw invalid(`SplitToSequence: split must be positive, got ${c}`);
      lens = [];
      for (let s = 0; s < n; s += c) lens.push(Math.min(c, n - s));
    } else {
      if (split.shape.length !== 1) throw invalid(`SplitToSequence: split must be a scalar or 1-D, got shape ${shapeToString(split.shape)}`);
      lens = split.toNumbers();
      if (lens.some((v) => v < 0) || lens.reduce((p, v) => p + v, 0) !== n) {
        throw invalid(`SplitToSequence: split [${lens.join(',')}] does not sum to the axis size ${n}`);
      }
    }
    const items: Tensor[] = [];
    let off = 0;
    for (const len of lens) {
      let t = sliceRange(x, ax, off, len);
      if (!split && !a.keepdims) t = t.reshape(t.shape.filter((_, k) => k !== ax));
      items.push(t);
      off += len;
    }
    return [new TensorSeq(x.dtype, items)];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

interface ConcatSeqAttrs {
  axis: number;
  newAxis: boolean;
}

// ConcatFromSequence(S) = Concat(S[0], ..., S[n-1]; axis), or Stack along a new axis (new_axis = 1)
export const ConcatFromSequence = defineOp<ConcatSeqAttrs>({
  name: 'ConcatFromSequence',
  domain: '',
  since: 11,
  arity: [1, 1],
  attrs: (r) => {
    const axis = r.int('axis');
    if (axis === undefined) throw r.error('attribute "axis" is required');
    return { axis, newAxis: r.int('new_axis', 0) !== 0 };
  },
  infer: (ctx, a) => {
    const s = seqType(ctx.inputs[0], 'ConcatFromSequence input');
    const r = s.shape.length;
    const ax = normAxis(a.axis, a.newAxis ? r + 1 : r);
    const d = ctx.freshDim('cat');
    const shape = a.newAxis ? [...s.shape.slice(0, ax), d, ...s.shape.slice(ax)] : s.shape.map((x, k) => (k === ax ? d : x));
    return [{ dtype: s.dtype, shape }];
  },
  ref: interpreterOnly('ConcatFromSequence'),
  run: (ins, a) => {
    const s = seqIn(ins[0], 'ConcatFromSequence input');
    const first = s.items[0];
    if (!first) throw invalid('ConcatFromSequence: the sequence is empty');
    const r = first.shape.length;
    const ax = normAxis(a.axis, a.newAxis ? r + 1 : r);
    return [a.newAxis ? stackAxis(s.items, ax, s.dtype, first.shape) : concatAxis(s.items, ax)];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// SequenceMap(S, a...): for i in 0..n-1: (y_0[i], ..., y_k[i]) = body(S[i], a[i] or a...)
// (sequence inputs are indexed, tensor inputs passed whole); outputs are sequences.
export const SequenceMap = defineOp<{ body: Graph }>({
  name: 'SequenceMap',
  domain: '',
  since: 17,
  arity: [1, Infinity],
  attrs: (r) => {
    const body = requireGraph(r, 'body');
    if (body.outputs.length !== r.node.outputs.length) throw r.error(`the body has ${body.outputs.length} outputs but the node has ${r.node.outputs.length}`);
    return { body };
  },
  infer: (ctx, a) => {
    const [ex] = splitImplicit(ctx.node, ctx.inputs);
    if (ex.length !== a.body.inputs.length) throw invalid(`SequenceMap has ${ex.length} inputs but its body takes ${a.body.inputs.length}`);
    seqType(ex[0], 'SequenceMap input 0');
    const bodyIns = ex.map((t, k) => {
      const u = need(t, k, 'SequenceMap');
      return u.kind === 'sequence' ? elemOf(u) : u;
    });
    return inferBody(ctx, a.body, bodyIns).map((t) => seqOf(t));
  },
  ref: interpreterOnly('SequenceMap'),
  run: (ins, a, ctx) => {
    const [ex, caps] = splitImplicit(ctx.node, ins);
    const s0 = seqIn(ex[0], 'SequenceMap input 0');
    const n = s0.length;
    ex.forEach((v, k) => {
      if (v instanceof TensorSeq && v.length !== n) throw invalid(`SequenceMap: sequence input ${k} has ${v.length} elements, input 0 has ${n}`);
    });
    const outs: Tensor[][] = a.body.outputs.map(() => []);
    for (let i = 0; i < n; i++) {
      const args = ex.map((v, k) => {
        if (v instanceof TensorSeq) return v.items[i]!;
        return tensorIn(v, `SequenceMap input ${k}`);
      });
      const ys = ctx.runSubgraph(a.body, args, caps as RtValue[]);
      ys.forEach((y, k) => outs[k]!.push(tensorIn(y, `SequenceMap body output ${k}`)));
    }
    return outs.map((list, k) => new TensorSeq(list[0]?.dtype ?? a.body.typeOf(a.body.outputs[k]!).dtype, list));
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// ---------------------------------------------------------------------------------------------
// Optional ops
// ---------------------------------------------------------------------------------------------

/** The optional type holding `t` (a tensor or sequence type). */
function optOf(t: TensorType): TensorType {
  return { dtype: t.dtype, shape: t.shape, kind: t.kind === 'sequence' ? 'optional-sequence' : 'optional' };
}

// Optional(x) = Some(x); Optional() = None of attribute `type`
export const Optional = defineOp<{ type: TensorType | undefined }>({
  name: 'Optional',
  domain: '',
  since: 15,
  arity: [0, 1],
  attrs: (r) => {
    const v = r.node.attrs['type'];
    if (v !== undefined && !(v instanceof TypeAttr)) throw r.error('attribute "type" must be a type');
    return { type: v?.type };
  },
  infer: (ctx, a) => {
    const x = ctx.inputs[0] ?? null;
    if (x) {
      if (x.kind !== undefined && x.kind !== 'sequence') throw invalid('Optional: the input is already optional');
      return [optOf(x)];
    }
    if (!a.type) throw invalid('Optional: without an input the "type" attribute is required');
    return [optOf(a.type)];
  },
  ref: interpreterOnly('Optional'),
  run: (ins, a) => {
    const x = ins[0] ?? null;
    if (x instanceof OptionalValue) throw invalid('Optional: the input is already optional');
    if (x) {
      const t: TensorType = x instanceof TensorSeq ? { dtype: x.dtype, shape: [], kind: 'sequence' } : x.type;
      return [new OptionalValue(t, x)];
    }
    if (!a.type) throw invalid('Optional: without an input the "type" attribute is required');
    return [new OptionalValue(a.type, null)];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// OptionalHasElement(x) = x is not None (opset 18: a tensor or sequence input is "present",
// an omitted input is None)
export const OptionalHasElement = defineOp({
  name: 'OptionalHasElement',
  domain: '',
  since: 15,
  arity: [0, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = ctx.inputs[0] ?? null;
    if (ctx.opset < 18 && (!x || (x.kind !== 'optional' && x.kind !== 'optional-sequence'))) throw invalid('OptionalHasElement: the input must be optional before opset 18');
    return [{ dtype: 'bool', shape: [] }];
  },
  ref: interpreterOnly('OptionalHasElement'),
  run: (ins) => {
    const x = ins[0] ?? null;
    const has = x === null ? false : x instanceof OptionalValue ? x.value !== null : true;
    return [Tensor.from('bool', [], [has ? 1 : 0])];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// OptionalGetElement(Some(x)) = x; None is an error (opset 18: a tensor or sequence is returned as is)
export const OptionalGetElement = defineOp({
  name: 'OptionalGetElement',
  domain: '',
  since: 15,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'OptionalGetElement');
    if (x.kind === 'optional') return [{ dtype: x.dtype, shape: x.shape }];
    if (x.kind === 'optional-sequence') return [seqOf(x)];
    if (ctx.opset < 18) throw invalid('OptionalGetElement: the input must be optional before opset 18');
    return [x];
  },
  ref: interpreterOnly('OptionalGetElement'),
  run: (ins) => {
    const x = ins[0] ?? null;
    if (x === null) throw invalid('OptionalGetElement: input 0 is required');
    if (!(x instanceof OptionalValue)) return [x];
    if (x.value === null) throw invalid('OptionalGetElement: the optional is empty');
    return [x.value];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});
