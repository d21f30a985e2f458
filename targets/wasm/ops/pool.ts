/**
 * Wasm lowerings of the pool family (compiler/ops/pool.ts): MaxPool without dilation on maxpool2d_f32
 * (separable, SIMD), other MaxPool/AveragePool on pool2d_f32 (int8 MaxPool
 * on the integer kernel; 3-D windows, MaxPool's Indices and LpPool on pool3d_f32), global pools on global_pool_f32,
 * MaxUnpool on maxunpool_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { poolGeom } from '../../common/params.js';
import { LowerCtx, LowerFn, NULL, SCRATCH, f32, i32 } from '../ctx.js';
import { lowerMaxPoolInt8 } from './qint.js';

function lowerGlobalPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  c.emit('global_pool_f32', [c.addr(x), c.addr(y), i32(xs[0]! * xs[1]!), i32(numel(xs.slice(2))), i32(n.op === 'GlobalMaxPool' ? 1 : 0)],
    { reads: [x], writes: [y] });
}

/** Pooling kind codes of pool2d_f32. */
const POOL_KINDS = { max: 0, avg: 1, avg_pad: 2 } as const;

function lowerPool(c: LowerCtx, n: Node): void {
  if (n.op === 'MaxPool' && lowerMaxPoolInt8(c, n)) return;
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`${nd}-D pooling is not supported on wasm`);
  const pg = poolGeom(c, n, xs);
  const geo = pg.geo;
  const kind = POOL_KINDS[pg.kind];
  const ind = n.outputs.length > 1 && c.g.useCount(n.outputs[1]!) > 0 ? n.outputs[1]! : null;
  if (nd === 3 || ind !== null || n.op === 'LpPool') {
    // 3-D windows, or MaxPool's Indices read: the general kernel (f64 sums, i64 flat indices)
    const indices = ind;
    const g3 = (v: readonly number[]) => v.map(i32);
    c.emit('pool3d_f32', [c.addr(x), c.addr(y), indices !== null ? c.vaddr(indices) : NULL, i32(xs[0]! * xs[1]!), ...g3(geo.I), ...g3(geo.O), ...g3(geo.K),
      ...g3(geo.S), ...g3(geo.D), ...g3(geo.P), ...g3(geo.E), i32(n.op === 'LpPool' ? 3 : kind), i32(c.attrs<{ storageOrder?: number }>().storageOrder ?? 0),
      f32(n.op === 'LpPool' ? c.attrs<{ p: number }>().p : 0)],
    { reads: [x], writes: indices !== null ? [y, indices] : [y], dtype: 'any' });
    return;
  }
  if (kind === POOL_KINDS.max && geo.D[1] === 1 && geo.D[2] === 1) {
    // max, dilation 1: the separable SIMD kernel (row max of KH rows, then column max of KW)
    c.emit('maxpool2d_f32', [
      c.addr(x), c.addr(y), i32(xs[0]! * xs[1]!), i32(geo.I[1]), i32(geo.I[2]), i32(geo.O[1]), i32(geo.O[2]),
      i32(geo.K[1]), i32(geo.K[2]), i32(geo.S[1]), i32(geo.S[2]), i32(geo.P[1]), i32(geo.P[2]), SCRATCH,
    ], { reads: [x], writes: [y], scratch: 4 * Math.max(geo.P[2]! + geo.I[2]!, (geo.O[2]! - 1) * geo.S[2]! + geo.K[2]!) + 64 });
    return;
  }
  c.emit('pool2d_f32', [
    c.addr(x), c.addr(y), i32(xs[0]! * xs[1]!), i32(geo.I[1]), i32(geo.I[2]), i32(geo.O[1]), i32(geo.O[2]),
    i32(geo.K[1]), i32(geo.K[2]), i32(geo.S[1]), i32(geo.S[2]), i32(geo.P[1]), i32(geo.P[2]), i32(geo.D[1]), i32(geo.D[2]),
    i32(kind), i32(geo.I[1] + geo.E[1]), i32(geo.I[2] + geo.E[2]),
  ], { reads: [x], writes: [y] });
}

// MaxUnpool(X, I, output_shape?): Y = 0 with Y[place(I[j])] = X[j], I flat offsets into the unpooled
// tensor [N, C, (in - 1) * stride - pads + kernel], placed at the start of each dim of Y's shape
function lowerMaxUnpool(c: LowerCtx, n: Node): void {
  const [x, ind] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  const a = c.attrs<{ kernelShape: number[]; strides: number[]; pads: number[] }>();
  const nd = a.kernelShape.length;
  if (xs.length !== nd + 2 || nd > 3) throw c.unsupported(`MaxUnpool on ${xs.length - 2} spatial dims is not supported on wasm (1..3)`);
  if (c.g.typeOf(ind!).dtype !== 'i64') throw c.unsupported('MaxUnpool indices must be int64');
  const unpooled = [xs[0]!, xs[1]!, ...xs.slice(2).map((d, i) => (d - 1) * a.strides[i]! - a.pads[i]! - a.pads[i + nd]! + a.kernelShape[i]!)];
  if (ys.length !== unpooled.length || ys.some((d, i) => d < unpooled[i]!)) {
    throw c.unsupported(`MaxUnpool output shape [${ys.join(',')}] is smaller than the unpooled shape [${unpooled.join(',')}]`);
  }
  if (numel(ys) === 0) return;
  const lift = (v: number[]): number[] => [...new Array<number>(5 - v.length).fill(1), ...v];
  c.emit('maxunpool_f32', [c.addr(x!), c.vaddr(ind!), c.addr(y), i32(numel(xs)), i32(numel(ys)), ...lift(unpooled).map(i32), ...lift(ys).map(i32)],
    { reads: [x!, ind!], writes: [y] });
}

/** Pool-family lowerings by qualified op name. */
export const POOL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  GlobalAveragePool: lowerGlobalPool, GlobalMaxPool: lowerGlobalPool, MaxPool: lowerPool, AveragePool: lowerPool, LpPool: lowerPool,
  MaxUnpool: lowerMaxUnpool,
};
