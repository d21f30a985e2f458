/**
 * WebGPU lowerings of the pooling family (compiler/ops/pool.ts): MaxPool / AveragePool (1-D and
 * 2-D) on pool2d_f32, 3-D pools, LpPool and MaxPool with its Indices output (1-D to 3-D) on
 * pool3d_f32, GlobalAveragePool /
 * GlobalMaxPool on global_pool_f32, MaxUnpool on fill_b + max_unpool_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { opAttrs, poolGeom } from '../../common/params.js';
import { LowerCtx, LowerFn, qop, val } from '../ctx.js';
import { INT8_LOWERINGS } from './qint.js';

function lowerGlobalPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  c.emit('global_pool_f32', { planes: xs[0]! * xs[1]!, size: numel(xs.slice(2)), kind: n.op === 'GlobalMaxPool' ? 'max' : 'avg' },
    { x: c.op(x), y: val(n.outputs[0]!) });
}

function lowerPool(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  // MaxPool Indices (i64 held as i32: the flat input index fits since the input does)
  const ind = n.outputs.length > 1 && (c.g.useCount(n.outputs[1]!) > 0 || c.g.outputs.includes(n.outputs[1]!)) ? n.outputs[1]! : undefined;
  const xs = c.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`${nd}-D pooling is not supported on webgpu (1-D to 3-D only)`);
  const { geo, kind } = poolGeom(c, n, xs);
  if (numel(c.shape(n.outputs[0]!)) === 0) return;
  if (nd === 3 || n.op === 'LpPool' || ind !== undefined) {
    // LpPool: Y = (sum over the window of |x|^p)^(1/p), padded taps add nothing
    const p = n.op === 'LpPool' ? opAttrs<{ p: number }>(n, c.opset).p : 1;
    const params = { planes: xs[0]! * xs[1]!, I: geo.I, O: geo.O, K: geo.K, S: geo.S, D: geo.D, P: geo.P, E: geo.E, kind: n.op === 'LpPool' ? 'lp' : kind, p };
    c.emit('pool3d_f32', params, { x: c.op(x), y: val(n.outputs[0]!) });
    if (ind !== undefined) {
      if (c.g.typeOf(ind).dtype !== 'i64') throw c.unsupported('MaxPool Indices must be i64');
      c.emit('pool3d_f32', { ...params, index: opAttrs<{ storageOrder: number }>(n, c.opset).storageOrder === 1 ? 1 : 0 }, { x: c.op(x), y: val(ind) });
    }
    return;
  }
  c.emit('pool2d_f32', {
    planes: xs[0]! * xs[1]!, H: geo.I[1], W: geo.I[2], OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2],
    sh: geo.S[1], sw: geo.S[2], ph: geo.P[1], pw: geo.P[2], dh: geo.D[1], dw: geo.D[2], kind,
    HL: geo.I[1] + geo.E[1], WL: geo.I[2] + geo.E[2],
  }, { x: c.op(x), y: val(n.outputs[0]!) });
}

// Y = zeros of output_shape (default: MaxPool's input shape) with Y.flat[I[j]] = X.flat[j]
function lowerMaxUnpool(c: LowerCtx, n: Node): void {
  const [x, ind] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  const a = opAttrs<{ kernelShape: number[]; strides: number[]; pads: number[] }>(n, c.opset);
  const nd = a.kernelShape.length;
  if (xs.length !== nd + 2 || ys.length !== nd + 2) throw c.unsupported('MaxUnpool: input rank does not match kernel_shape');
  if (c.g.typeOf(x!).dtype !== 'f32') throw c.unsupported('MaxUnpool is supported on f32 data only on webgpu');
  // the shape MaxPool's input had: (out - 1) * stride - pad_begin - pad_end + kernel
  const inferred = [xs[0]!, xs[1]!, ...xs.slice(2).map((d, i) => (d - 1) * a.strides[i]! - a.pads[i]! - a.pads[i + nd]! + a.kernelShape[i]!)];
  if (inferred.some((d, i) => d > ys[i]!)) throw c.unsupported('MaxUnpool: output_shape is smaller than the unpooled shape');
  if (numel(ys) === 0) return;
  c.emit('fill_b', { words: numel(ys), bits: 0 }, { y: val(y) });
  if (numel(xs) > 0) c.emit('max_unpool_f32', { n: numel(xs), inferred, out: ys }, { x: c.op(x!), ind: qop(c, ind!), y: val(y) });
}

/** MaxPool with integer operands: f32 data with its Indices output here, 8-bit data on the int8 path (ops/qint.ts). */
function lowerMaxPoolTyped(c: LowerCtx, n: Node): void {
  if (c.g.typeOf(n.inputs[0]!).dtype === 'f32') lowerPool(c, n);
  else INT8_LOWERINGS['MaxPool']!(c, n);
}

/** Pooling-family lowerings of nodes with integer operands (MaxUnpool indices, MaxPool Indices; i64 held as i32). */
export const POOL_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = { MaxUnpool: lowerMaxUnpool, MaxPool: lowerMaxPoolTyped };

/** Pooling-family lowerings by qualified op name. */
export const POOL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  GlobalAveragePool: lowerGlobalPool, GlobalMaxPool: lowerGlobalPool, MaxPool: lowerPool, AveragePool: lowerPool, LpPool: lowerPool,
};
