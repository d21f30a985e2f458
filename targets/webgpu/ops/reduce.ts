/**
 * WebGPU lowerings of the reduction family (compiler/ops/reduce.ts): Reduce* on reduce_f32; an
 * empty axis list with noop_with_empty_axes is a copy. ArgMax / ArgMin (i64 indices, held as i32)
 * on arg_reduce.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { reduceAxes } from '../../common/params.js';
import { REDUCE_OPS } from '../kernels/reduce.js';
import { stridesOf } from '../wgsl/shader.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { opAttrs } from '../../common/params.js';
import { LowerCtx, LowerFn, copyView, loadElem, qop, val } from '../ctx.js';

function lowerReduce(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const axes = reduceAxes(c, n, xs.length);
  if (axes === 'noop') {
    copyView(c, val(y), numel(xs), stridesOf(xs), 0, c.op(x), numel(xs), stridesOf(xs), 0, xs);
    return;
  }
  if (numel(xs) === 0) throw c.unsupported(`${n.op} of an empty tensor`);
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

/** Reduction-family lowerings of nodes with integer values (ArgMax / ArgMin outputs, runtime axes), by qualified op name. */
export const REDUCE_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ArgMax: lowerArg, ArgMin: lowerArg, ...Object.fromEntries(REDUCE_OPS.map((k) => [k, lowerReduceRuntimeAxes])),
};

/**
 * Reduce* with a runtime `axes` input (i64 held as i32) on f32 data: the kernel builds the axis
 * mask at run time; the output shape (inferred at compile time) must not depend on it beyond what
 * shape inference already fixed.
 */
function lowerReduceRuntimeAxes(c: LowerCtx, n: Node): void {
  const [x, axes] = n.inputs;
  const y = n.outputs[0]!;
  if (axes == null || c.isConst(axes) || c.g.typeOf(x!).dtype !== 'f32') {
    throw c.unsupported(`no webgpu lowering for op ${n.op} on ${c.g.typeOf(x!).dtype} tensors`);
  }
  const a = opAttrs<{ noopWithEmptyAxes: boolean }>(n, c.opset);
  const xs = c.shape(x!);
  if (xs.length > 30) throw c.unsupported(`${n.op} of rank ${xs.length}`);
  const ny = numel(c.shape(y));
  if (ny === 0) return;
  if (numel(xs) === 0) throw c.unsupported(`${n.op} of an empty tensor`);
  c.emit('reduce_axes_f32', { op: n.op, xs, n: ny, nAxes: numel(c.shape(axes)), noop: a.noopWithEmptyAxes },
    { x: c.op(x!), axes: qop(c, axes), y: val(y) });
}
