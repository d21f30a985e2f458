/**
 * WebGPU lowerings of the pooling family (compiler/ops/pool.ts): MaxPool / AveragePool (1-D and
 * 2-D) on pool2d_f32, GlobalAveragePool / GlobalMaxPool on global_pool_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { poolGeom } from '../../common/params.js';
import { LowerCtx, LowerFn, val } from '../ctx.js';

function lowerGlobalPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  c.emit('global_pool_f32', { planes: xs[0]! * xs[1]!, size: numel(xs.slice(2)), kind: n.op === 'GlobalMaxPool' ? 'max' : 'avg' },
    { x: c.op(x), y: val(n.outputs[0]!) });
}

function lowerPool(c: LowerCtx, n: Node): void {
  if (n.outputs.length > 1 && c.g.useCount(n.outputs[1]!) > 0) throw c.unsupported('MaxPool Indices output is not supported on webgpu');
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D pooling is not supported on webgpu (1-D and 2-D only)`);
  const { geo, kind } = poolGeom(c, n, xs);
  c.emit('pool2d_f32', {
    planes: xs[0]! * xs[1]!, H: geo.I[1], W: geo.I[2], OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2],
    sh: geo.S[1], sw: geo.S[2], ph: geo.P[1], pw: geo.P[2], dh: geo.D[1], dw: geo.D[2], kind,
    HL: geo.I[1] + geo.E[1], WL: geo.I[2] + geo.E[2],
  }, { x: c.op(x), y: val(n.outputs[0]!) });
}

/** Pooling-family lowerings by qualified op name. */
export const POOL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  GlobalAveragePool: lowerGlobalPool, GlobalMaxPool: lowerGlobalPool, MaxPool: lowerPool, AveragePool: lowerPool,
};
