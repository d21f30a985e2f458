/**
 * WebGPU lowerings of the reduction family (compiler/ops/reduce.ts): Reduce* on reduce_f32; an
 * empty axis list with noop_with_empty_axes is a copy. ArgMax / ArgMin (i64 indices, held as i32)
 * on arg_reduce. Reductions of empty tensors are compile-time constants (the empty-set value);
 * integer / bool ReduceMax / Min / Sum / Prod, TopK and CumSum / CumProd run on
 * kernels/index-ops.ts.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { reduceAxes } from '../../common/params.js';
import { REDUCE_OPS } from '../kernels/reduce.js';
import { stridesOf } from '../wgsl/shader.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { opAttrs } from '../../common/params.js';
import { LowerCtx, LowerFn, Operand, copyView, loadElem, qop, scalarOf, val } from '../ctx.js';
import { Tensor } from '../../../compiler/ir/tensor.js';
import { storeElem } from '../wgsl/qshader.js';
import type { ReduceTypedParams } from '../kernels/index-ops.js';

function lowerReduce(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const axes = reduceAxes(c, n, xs.length);
  if (axes === 'noop') {
    copyView(c, val(y), numel(xs), stridesOf(xs), 0, c.op(x), numel(xs), stridesOf(xs), 0, xs);
    return;
  }
  if (numel(xs) === 0) return emptyReduce(c, n);
  c.emit('reduce_f32', { op: n.op, xs, axes }, { x: c.op(x), y: val(y) });
}

/** Reduction-family lowerings by qualified op name. */
export const REDUCE_LOWERINGS: Readonly<Record<string, LowerFn>> = Object.fromEntries(REDUCE_OPS.map((k) => [k, lowerReduce]));

/** ArgMax / ArgMin along one axis: the index of the first (select_last_index: last) extremum; NaN wins. */
function lowerArg(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const xdt = c.g.typeOf(x).dtype;
  c.checkStorable(x);
  if (xdt === 'i64') throw c.unsupported(`${n.op} on i64 is not supported on webgpu`);
  const a = opAttrs<{ axis: number; selectLast: boolean }>(n, c.opset);
  const ax = normAxis(a.axis, xs.length);
  if (xs[ax] === 0) throw c.unsupported(`${n.op} over an empty axis`);
  if (numel(c.shape(y)) === 0) return;
  c.emit('arg_reduce', {
    outer: numel(xs.slice(0, ax)), L: xs[ax]!, inner: numel(xs.slice(ax + 1)), xel: loadElem(c, x, xdt), unsigned: xdt === 'u32',
    max: n.op === 'ArgMax', last: a.selectLast,
  }, { x: qop(c, x), y: val(y) });
}

/**
 * Reduction-family lowerings of nodes with integer values (ArgMax / ArgMin outputs, runtime axes,
 * integer / bool reductions) and of TopK / CumSum / CumProd on any webgpu dtype, by qualified op name.
 */
export const REDUCE_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ArgMax: lowerArg, ArgMin: lowerArg, ...Object.fromEntries(REDUCE_OPS.map((k) => [k, lowerReduceRuntimeAxes])),
  TopK: lowerTopK, CumSum: lowerCum, CumProd: lowerCum,
};

/**
 * Reduce* with a runtime `axes` input (i64 held as i32) on f32 data: the kernel builds the axis
 * mask at run time; the output shape (inferred at compile time) must not depend on it beyond what
 * shape inference already fixed.
 */
function lowerReduceRuntimeAxes(c: LowerCtx, n: Node): void {
  const [x, axes] = n.inputs;
  const y = n.outputs[0]!;
  if (c.g.typeOf(x!).dtype !== 'f32') return lowerReduceTyped(c, n);
  if (axes == null || c.isConst(axes)) {
    throw c.unsupported(`no webgpu lowering for op ${n.op} on ${c.g.typeOf(x!).dtype} tensors`);
  }
  const a = opAttrs<{ noopWithEmptyAxes: boolean }>(n, c.opset);
  const xs = c.shape(x!);
  if (xs.length > 30) throw c.unsupported(`${n.op} of rank ${xs.length}`);
  const ny = numel(c.shape(y));
  if (ny === 0) return;
  if (numel(xs) === 0) return emptyReduce(c, n);
  c.emit('reduce_axes_f32', { op: n.op, xs, n: ny, nAxes: numel(c.shape(axes)), noop: a.noopWithEmptyAxes },
    { x: c.op(x!), axes: qop(c, axes), y: val(y) });
}

/** f32 result of reducing an empty set (compiler/ops/reduce.ts: the identity; Mean 0 / 0; L2 sqrt(0); LogSum log(0)). */
const EMPTY_F32: Record<string, number> = {
  ReduceSum: 0, ReduceL1: 0, ReduceL2: 0, ReduceSumSquare: 0, ReduceProd: 1, ReduceMax: -Infinity, ReduceMin: Infinity,
  ReduceLogSum: -Infinity, ReduceLogSumExp: -Infinity, ReduceMean: NaN,
};

/** A reduction of an empty f32 tensor: every output element is the empty-set value, a compile-time constant. */
function emptyReduce(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const v = EMPTY_F32[n.op];
  if (v === undefined || c.g.typeOf(y).dtype !== 'f32') throw c.unsupported(`${n.op} of an empty tensor`);
  const ys = c.shape(y);
  c.consts.set(y, Tensor.from('f32', ys, new Float32Array(numel(ys)).fill(v)));
}

/** Typed reductions: the integer / bool ops with an exact webgpu kernel. */
const TYPED_REDUCE = new Set(['ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd']);

/** Range ends of the integer dtypes webgpu holds (the empty-set values of Max / Min). */
const INT_RANGE: Record<string, [number, number]> = {
  i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535], i32: [-(2 ** 31), 2 ** 31 - 1], u32: [0, 2 ** 32 - 1],
  i64: [-(2 ** 31), 2 ** 31 - 1], bool: [0, 1],
};

/**
 * ReduceMax / Min / Sum / Prod of integer or bool values with constant axes (bool Max = any, Min =
 * all); integer sums and products wrap modulo 2^32 (i64: not supported, the held i32 could overflow).
 */
function lowerReduceTyped(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = c.g.typeOf(x).dtype;
  c.checkStorable(x);
  if (!TYPED_REDUCE.has(n.op) || c.g.typeOf(y).dtype !== xdt || (xdt === 'bool' && (n.op === 'ReduceSum' || n.op === 'ReduceProd'))
    || (xdt === 'i64' && (n.op === 'ReduceSum' || n.op === 'ReduceProd'))) {
    throw c.unsupported(`no webgpu lowering for op ${n.op} on ${xdt} tensors`);
  }
  const xs = c.shape(x);
  if (xs.length > 30) throw c.unsupported(`${n.op} of rank ${xs.length}`);
  const ax = n.inputs[1];
  const a = opAttrs<{ noopWithEmptyAxes: boolean; axesInput: boolean }>(n, c.opset);
  const rt = a.axesInput && ax != null && !c.isConst(ax);
  const axes = rt ? null : reduceAxes(c, n, xs.length);
  const ys = c.shape(y);
  if (numel(ys) === 0) return;
  const el = storeElem(xdt);
  if (axes === 'noop') {
    c.emit('qview_b', { el, xel: loadElem(c, x, xdt) === 'i32' ? 'i32' : el, dims: xs, strides: stridesOf(xs), offset: 0 }, { x: qop(c, x), y: val(y) });
    return;
  }
  if (numel(xs) === 0) throw c.unsupported(`${n.op} of an empty ${xdt} tensor`);
  const [lo, hi] = INT_RANGE[xdt]!;
  const init = n.op === 'ReduceSum' ? 0 : n.op === 'ReduceProd' ? 1 : n.op === 'ReduceMax' ? lo : hi;
  const p: Omit<ReduceTypedParams, 'bufs'> = {
    op: n.op as ReduceTypedParams['op'], el, xel: loadElem(c, x, xdt), st: scalarOf(xdt), xs, axes, nAxes: rt ? numel(c.shape(ax!)) : 0,
    noop: a.noopWithEmptyAxes, n: numel(ys), init: init | 0,
  };
  const ops: Record<string, Operand> = { x: qop(c, x), y: val(y) };
  if (rt) ops['axes'] = qop(c, ax!);
  c.emit('reduce_typed', p as unknown as Record<string, unknown>, ops);
}
/**
 * TopK: the k largest (smallest) elements along the axis and their indices, ties by lower index;
 * one dispatch per used output, each element found by rank selection.
 */
function lowerTopK(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const [vy, iy] = n.outputs;
  const xdt = c.g.typeOf(x).dtype;
  c.checkStorable(x);
  if (xdt === 'bool') throw c.unsupported('TopK on bool');
  const a = opAttrs<{ axis: number; largest: boolean }>(n, c.opset);
  const xs = c.shape(x);
  const axis = normAxis(a.axis, xs.length);
  const ys = c.shape(vy!);
  const K = ys[axis]!;
  if (numel(ys) === 0) return;
  const base = {
    xel: loadElem(c, x, xdt), st: scalarOf(xdt), outer: numel(xs.slice(0, axis)), L: xs[axis]!, inner: numel(xs.slice(axis + 1)), K, largest: a.largest,
  };
  const used = (id: number | undefined): boolean => id !== undefined && (c.g.useCount(id) > 0 || c.g.outputs.includes(id));
  if (used(vy)) c.emit('topk_b', { ...base, el: storeElem(xdt), indices: false }, { x: qop(c, x), y: val(vy!) });
  if (used(iy)) c.emit('topk_b', { ...base, el: 'i32', indices: true }, { x: qop(c, x), y: val(iy!) });
}

/** CumSum / CumProd along a constant or runtime axis (exclusive / reverse); integers wrap modulo 2^32. */
function lowerCum(c: LowerCtx, n: Node): void {
  const [x, ax] = n.inputs;
  const y = n.outputs[0]!;
  const xdt = c.g.typeOf(x!).dtype;
  c.checkStorable(x!);
  if (xdt === 'bool' || xdt === 'i64') throw c.unsupported(`${n.op} on ${xdt} is not supported on webgpu`);
  const a = opAttrs<{ exclusive: boolean; reverse: boolean }>(n, c.opset);
  const xs = c.shape(x!);
  if (numel(xs) === 0) return;
  const ops: Record<string, ReturnType<typeof qop>> = { x: qop(c, x!), y: val(y) };
  let axis: number | null = null;
  if (c.isConst(ax)) axis = normAxis(c.constNums(ax, `${n.op} axis`)![0]!, xs.length);
  else ops['ax'] = qop(c, ax!);
  c.emit('cum_b', {
    el: storeElem(xdt), xel: loadElem(c, x!, xdt), st: scalarOf(xdt), xs, prod: n.op === 'CumProd', exclusive: a.exclusive, reverse: a.reverse, axis,
  }, ops);
}
