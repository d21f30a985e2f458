/**
 * WebGPU lowerings of the normalization family (compiler/ops/norm.ts): BatchNormalization (inference)
 * as a per-channel affine map, LayerNormalization and InstanceNormalization on norm_f32, LRN on
 * lrn_f32.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { batchNormAffine, expandToInner, layerNormLayout, opAttrs } from '../../common/params.js';
import { LowerCtx, LowerFn, Operand, val } from '../ctx.js';

function lowerBatchNorm(c: LowerCtx, n: Node): void {
  if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => c.g.useCount(o) > 0)) throw c.unsupported('BatchNormalization training outputs are not supported');
  const [x, s, b, m, v] = n.inputs;
  const eps = opAttrs<{ epsilon: number }>(n, c.opset).epsilon;
  const xs = c.shape(x!);
  const C = xs[1] ?? 1;
  const S = c.f32Data(c.constOf(s, 'BatchNormalization scale'));
  const B = c.f32Data(c.constOf(b, 'BatchNormalization B'));
  const Mn = c.f32Data(c.constOf(m, 'BatchNormalization mean'));
  const V = c.f32Data(c.constOf(v, 'BatchNormalization var'));
  if (S.length !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
  const { scale, shift } = batchNormAffine(S, B, Mn, V, eps);
  c.emit('channel_affine_f32', { N: xs[0]!, C, S: numel(xs.slice(2)) }, { x: c.op(x!), scale: c.blob(Float32Array.from(scale)), shift: c.blob(Float32Array.from(shift)), y: val(n.outputs[0]!) });
}

function lowerLayerNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const y = n.outputs[0]!;
  const { xs, axis: ax, rows, inner, epsilon, mean: mo, invStd: ro } = layerNormLayout(c, n);
  const full = (id: ValueId | null | undefined): Operand | undefined => {
    if (id == null) return undefined;
    if (!c.isConst(id) && numel(c.shape(id)) === inner) return c.op(id);
    const t = c.constOf(id, `LayerNormalization ${id === s ? 'scale' : 'bias'} (broadcast)`);
    const d = c.f32Data(t);
    if (d.length === inner) return c.op(id);
    return c.blob(expandToInner(d, [...t.shape] as number[], xs.slice(ax)));
  };
  const ops: Record<string, Operand> = { x: c.op(x!), y: val(y) };
  const so = full(s);
  const bo = full(b);
  if (so) ops['s'] = so;
  if (bo) ops['b'] = bo;
  const stats = mo !== undefined || ro !== undefined;
  if (stats) {
    ops['mean'] = val(mo ?? c.temp(rows * 4));
    ops['rstd'] = val(ro ?? c.temp(rows * 4));
  }
  c.emit('norm_f32', { rows, inner, eps: epsilon, affine: 'inner', C: 1, scale: !!so, bias: !!bo, stats }, ops);
}

function lowerInstanceNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const xs = c.shape(x!);
  const C = xs[1]!;
  c.emit('norm_f32', { rows: xs[0]! * C, inner: numel(xs.slice(2)), eps: opAttrs<{ epsilon: number }>(n, c.opset).epsilon, affine: 'channel', C, scale: true, bias: true, stats: false },
    { x: c.op(x!), s: c.op(s!), b: c.op(b!), y: val(n.outputs[0]!) });
}

// Y = X / (bias + alpha / size * sum of X^2 over the channel window)^beta
function lowerLrn(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  if (xs.length < 2) throw c.unsupported('LRN needs an input of rank >= 2');
  const a = opAttrs<{ alpha: number; beta: number; bias: number; size: number }>(n, c.opset);
  if (numel(xs) === 0) return;
  c.emit('lrn_f32', { N: xs[0]!, C: xs[1]!, S: numel(xs.slice(2)), size: a.size, alpha: a.alpha, beta: a.beta, bias: a.bias },
    { x: c.op(x), y: val(n.outputs[0]!) });
}

/** Normalization-family lowerings by qualified op name. */
export const NORM_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  BatchNormalization: lowerBatchNorm, LayerNormalization: lowerLayerNorm, InstanceNormalization: lowerInstanceNorm, LRN: lowerLrn,
};
