import { DType } from '../ir/dtype.js';
import { ConcreteShape, Dim, Shape, Tensor, TensorType, allocData, numel, stridesOf } from '../ir/tensor.js';
import { invalid } from '../errors.js';
import { InferCtx, broadcastShapes } from './registry.js';

/** Concrete numpy broadcast of runtime shapes (throws on mismatch). */
export function broadcastConcrete(shapes: ConcreteShape[]): number[] {
  return broadcastShapes(shapes) as number[];
}

/**
 * For each output element of `outShape`, the flat index into an input of shape `inShape`
 * broadcast against it. Returns an Int32Array of length numel(outShape).
 */
export function broadcastIndex(inShape: ConcreteShape, outShape: ConcreteShape): Int32Array {
  const n = numel(outShape);
  const idx = new Int32Array(n);
  const rank = outShape.length;
  const inStr = stridesOf(inShape);
  // effective strides aligned to the output rank, 0 where broadcast
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < rank; i++) {
    const k = inShape.length - rank + i;
    if (k >= 0 && inShape[k] !== 1) eff[i] = inStr[k]!;
  }
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let j = 0; j < n; j++) {
    idx[j] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      off += eff[d]!;
      if (counter[d]! < outShape[d]!) break;
      off -= eff[d]! * outShape[d]!;
      counter[d] = 0;
    }
  }
  return idx;
}

/** Type of an elementwise op's output: broadcast shape, given dtype (default: first input's). */
export function broadcastType(ctx: InferCtx, dtype?: DType): TensorType {
  const ins = ctx.inputs.filter((t): t is TensorType => t !== null);
  if (ins.length === 0) throw invalid(`${ctx.node.op} needs at least one input`);
  return { dtype: dtype ?? ins[0]!.dtype, shape: broadcastShapes(ins.map((t) => t.shape)) };
}

/** Requires all present inputs to share one dtype. */
export function sameDtype(ctx: InferCtx): DType {
  const ins = ctx.inputs.filter((t): t is TensorType => t !== null);
  const dt = ins[0]!.dtype;
  for (const t of ins) {
    if (t.dtype !== dt) throw invalid(`${ctx.node.op}: input dtypes differ (${dt} vs ${t.dtype})`);
  }
  return dt;
}

/** Reads a 1-D integer tensor (e.g. a shape, axes, pads input) as numbers. */
export function intsOf(t: Tensor): number[] {
  return t.toNumbers();
}

/** A new tensor of `dtype`/`shape` from a plain array of numbers. */
export function tensorOf(dtype: DType, shape: ConcreteShape, values: ArrayLike<number>): Tensor {
  const data = allocData(dtype, values.length);
  const t = new Tensor(dtype, shape, data);
  for (let i = 0; i < values.length; i++) t.set(i, values[i]!);
  return t;
}

/** Product of known dims, or undefined when some dim is symbolic. */
export function knownNumel(s: Shape): number | undefined {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

export type { Dim };
