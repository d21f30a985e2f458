/**
 * Wasm lowerings of the reduce family (compiler/ops/reduce.ts): the Reduce* ops on reduce_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { contiguous, reduceAxes } from '../../common/params.js';
import { MAX_DIMS, REDUCE } from '../kernels.js';
import { LowerCtx, LowerFn, i32, NULL, SCRATCH, coalesce, copyView } from '../ctx.js';

function lowerReduce(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const axes = reduceAxes(c, n, xs.length);
  if (axes === 'noop') {
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
  const scratch = op === REDUCE.ReduceLogSumExp ? osz * 4 : 0;
  c.emit('reduce_f32', [i32(op), c.addr(x), c.addr(y), ...co.dims.map(i32), ...co.strides[1]!.map(i32), i32(cnt), i32(osz), scratch ? SCRATCH : NULL],
    { reads: [x], writes: [y], scratch });
}

/** Reduce-family lowerings by qualified op name. */
export const REDUCE_LOWERINGS: Readonly<Record<string, LowerFn>> = Object.fromEntries(Object.keys(REDUCE).map((k) => [k, lowerReduce]));
