/**
 * Wasm lowerings of the reduce family (compiler/ops/reduce.ts): the Reduce* ops on reduce_f32 (reduce_any
 * for other dtypes), ArgMax / ArgMin, TopK and the CumSum / CumProd scans.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { contiguous, reduceAxes } from '../../common/params.js';
import { MAX_DIMS, REDUCE } from '../kernels.js';
import { LowerCtx, LowerFn, i32, NULL, SCRATCH, coalesce, copyView } from '../ctx.js';
import { dtypeCode, indexKind } from './shape.js';

/**
 * A reduction whose axes input is a runtime tensor: reduce_any derives the output strides from the
 * axes when it runs (the output shape, fixed at compile time, must agree; otherwise zeros).
 */
function lowerReduceRuntimeAxes(c: LowerCtx, n: Node, axesId: ValueId): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  if (xs.length > MAX_DIMS) throw c.unsupported(`${n.op} of rank ${xs.length} with runtime axes`);
  const osz = numel(c.shape(y));
  if (osz === 0) return;
  const dims = [...new Array<number>(MAX_DIMS - xs.length).fill(1), ...xs];
  const op = (REDUCE as Record<string, number>)[n.op]!;
  const a = c.attrs<{ noopWithEmptyAxes: boolean }>();
  c.emit('reduce_any', [i32(op), c.vaddr(x), c.vaddr(y), i32(dtypeCode(c, x, true)), ...dims.map(i32), ...new Array<number>(MAX_DIMS).fill(0).map(i32),
    i32(0), i32(osz), SCRATCH, c.vaddr(axesId), i32(numel(c.shape(axesId))), i32(indexKind(c, axesId)), i32(a.noopWithEmptyAxes ? 1 : 0), i32(xs.length)],
  { reads: [x, axesId], writes: [y], scratch: osz * 16 + 32, dtype: 'any' });
}

function lowerReduce(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const axesIn = n.inputs[1] ?? null;
  if (axesIn !== null && !c.isConst(axesIn) && c.attrs<{ axesInput: boolean }>().axesInput) {
    lowerReduceRuntimeAxes(c, n, axesIn);
    return;
  }
  const axes = reduceAxes(c, n, xs.length);
  if (axes === 'noop') {
    if (c.g.typeOf(x).dtype !== 'f32') throw c.unsupported(`${n.op} over no axes on ${c.g.typeOf(x).dtype}`);
    copyView(c, c.addr(y), contiguous(xs), c.addr(x), contiguous(xs), xs, { reads: [x], writes: [y] });
    return;
  }
  const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  const ks = contiguous(kept);
  const ostr = xs.map((_, i) => (axes.includes(i) ? 0 : ks[i]!));
  const co = coalesce(xs, [contiguous(xs), ostr]);
  if (!co) throw c.unsupported(`reduction over more than ${MAX_DIMS} alternating dims`);
  const cnt = numel(axes.map((a) => xs[a]!));
  const osz = numel(kept);
  const op = (REDUCE as Record<string, number>)[n.op]!;
  if (c.g.typeOf(x).dtype !== 'f32') {
    // integer / f64 / bool inputs: f64 (or exact 64-bit) accumulators in scratch, the reference's rounding
    if (c.g.typeOf(y).dtype !== c.g.typeOf(x).dtype) throw c.unsupported(`${n.op} output dtype differs from its input's`);
    if (osz === 0) return;
    c.emit('reduce_any', [i32(op), c.vaddr(x), c.vaddr(y), i32(dtypeCode(c, x, true)), ...co.dims.map(i32), ...co.strides[1]!.map(i32),
      i32(cnt), i32(osz), SCRATCH, NULL, i32(0), i32(0), i32(0), i32(0)], { reads: [x], writes: [y], scratch: osz * 16 + 32, dtype: 'any' });
    return;
  }
  const scratch = op === REDUCE.ReduceLogSumExp ? osz * 4 : 0;
  c.emit('reduce_f32', [i32(op), c.addr(x), c.addr(y), ...co.dims.map(i32), ...co.strides[1]!.map(i32), i32(cnt), i32(osz), scratch ? SCRATCH : NULL],
    { reads: [x], writes: [y], scratch });
}

/** [outer, n, inner] around an axis of a shape. */
function axisLayout(xs: number[], axis: number): [number, number, number] {
  return [numel(xs.slice(0, axis)), xs[axis]!, numel(xs.slice(axis + 1))];
}

// ArgMax / ArgMin: y[o, i] = index of the max / min of x[o, :, i] (i64; first tie unless select_last_index; NaN wins)
function lowerArg(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const a = c.attrs<{ axis: number; selectLast: boolean }>();
  const [outer, len, inner] = axisLayout(xs, normAxis(a.axis, xs.length));
  if (len === 0) throw c.unsupported(`${n.op} over an empty axis`);
  if (outer * inner === 0) return;
  c.emit('argminmax', [c.vaddr(x), c.vaddr(y), i32(dtypeCode(c, x, true)), i32(outer), i32(len), i32(inner),
    i32(n.op === 'ArgMax' ? 1 : 0), i32(a.selectLast ? 1 : 0)], { reads: [x], writes: [y], dtype: 'i64' });
}

// TopK: values, indices = the k largest (smallest) of x along axis, sorted, ties by lower index; k constant
function lowerTopK(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const [vals, inds] = n.outputs as [ValueId, ValueId];
  const xs = c.shape(x);
  const a = c.attrs<{ axis: number; largest: boolean }>();
  const axis = normAxis(a.axis, xs.length);
  const k = c.shape(vals)[axis]!;
  const [outer, len, inner] = axisLayout(xs, axis);
  if (c.g.typeOf(vals).dtype !== c.g.typeOf(x).dtype) throw c.unsupported('TopK values dtype differs from its input');
  if (outer * k * inner === 0) return;
  c.emit('topk', [c.vaddr(x), c.vaddr(vals), c.vaddr(inds), i32(dtypeCode(c, x, true)), i32(outer), i32(len), i32(inner), i32(k),
    i32(a.largest ? 1 : 0), SCRATCH], { reads: [x], writes: [vals, inds], scratch: len * 8, dtype: 'any' });
}

// CumSum / CumProd: y[.., j, ..] = sum (product) of x[.., i, ..] for i <= j (exclusive: i < j; reverse:
// i >= j); the axis is a constant or a run-time scalar
function lowerCumSum(c: LowerCtx, n: Node): void {
  const kernel = n.op === 'CumProd' ? 'cumprod' : 'cumsum';
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const a = c.attrs<{ exclusive: boolean; reverse: boolean }>();
  const axisId = n.inputs[1]!;
  if (numel(xs) === 0) return;
  const flags = [i32(a.exclusive ? 1 : 0), i32(a.reverse ? 1 : 0)];
  if (!c.isConst(axisId)) {
    // runtime axis: the kernel derives [outer, n, inner] from the dims when it runs
    if (xs.length > MAX_DIMS) throw c.unsupported(`${n.op} of rank ${xs.length} with a runtime axis`);
    if (numel(c.shape(axisId)) !== 1) throw c.unsupported(`${n.op} axis must be a scalar`);
    const dims = [...xs, ...new Array<number>(MAX_DIMS - xs.length).fill(1)];
    c.emit(kernel, [c.vaddr(x), c.vaddr(y), i32(dtypeCode(c, x, true)), i32(0), i32(0), i32(0), ...flags,
      c.vaddr(axisId), i32(indexKind(c, axisId)), i32(xs.length), ...dims.map(i32)], { reads: [x, axisId], writes: [y], dtype: 'any' });
    return;
  }
  const ax = c.constNums(axisId, `${n.op} axis`)!;
  if (ax.length !== 1) throw c.unsupported(`${n.op} axis must be a scalar`);
  const [outer, len, inner] = axisLayout(xs, normAxis(ax[0]!, xs.length));
  c.emit(kernel, [c.vaddr(x), c.vaddr(y), i32(dtypeCode(c, x, true)), i32(outer), i32(len), i32(inner), ...flags,
    NULL, i32(0), i32(0), ...new Array<number>(MAX_DIMS).fill(0).map(i32)], { reads: [x], writes: [y], dtype: 'any' });
}

/** Reduce-family lowerings by qualified op name. */
export const REDUCE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(Object.keys(REDUCE).map((k) => [k, lowerReduce])),
  ArgMax: lowerArg, ArgMin: lowerArg, TopK: lowerTopK, CumSum: lowerCumSum, CumProd: lowerCumSum,
};
