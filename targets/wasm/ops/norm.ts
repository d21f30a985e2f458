/**
 * Wasm lowerings of the normalization family (compiler/ops/norm.ts): BatchNormalization as a per-channel
 * affine, LayerNormalization and InstanceNormalization on norm_f32.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { normAxis } from '../../../compiler/ops/registry.js';
import { batchNormAffine, expandToInner, opAttrs } from '../../common/params.js';
import { LowerCtx, LowerFn, Word, f32, i32, NULL } from '../ctx.js';

function lowerBatchNorm(c: LowerCtx, n: Node): void {
  if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => c.g.useCount(o) > 0)) throw c.unsupported('BatchNormalization training outputs are not supported');
  const [x, s, b, m, v] = n.inputs;
  const eps = opAttrs<{ epsilon: number }>(n, c.opset).epsilon;
  const xs = c.shape(x!);
  const C = xs[1]!;
  const S = c.f32Data(c.constOf(s, 'BatchNormalization scale'));
  const B = c.f32Data(c.constOf(b, 'BatchNormalization B'));
  const Mn = c.f32Data(c.constOf(m, 'BatchNormalization mean'));
  const V = c.f32Data(c.constOf(v, 'BatchNormalization var'));
  if (S.length !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
  const { scale, shift } = batchNormAffine(S, B, Mn, V, eps);
  const sc = Float32Array.from(scale);
  const sh = Float32Array.from(shift);
  const y = n.outputs[0]!;
  c.emit('channel_affine_f32', [c.addr(x!), c.addr(y), i32(xs[0]!), i32(C), i32(numel(xs.slice(2))), c.blob(sc), c.blob(sh)],
    { reads: [x!], writes: [y], inplace: [x!, y] });
}

function lowerLayerNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const [mo, ro] = [n.outputs[1], n.outputs[2]].map((o) => (o !== undefined && c.g.useCount(o) > 0 ? o : undefined));
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const la = opAttrs<{ axis: number; epsilon: number }>(n, c.opset);
  const ax = normAxis(la.axis, xs.length);
  const outer = numel(xs.slice(0, ax));
  const inner = numel(xs.slice(ax));
  const full = (id: ValueId | null | undefined): Word => {
    if (id == null) return NULL;
    if (!c.isConst(id) && numel(c.shape(id)) === inner) return c.addr(id);
    const t = c.constOf(id, `LayerNormalization ${id === s ? 'scale' : 'bias'} (broadcast)`);
    const d = c.f32Data(t);
    if (d.length === inner) return c.addr(id);
    return c.blob(expandToInner(d, [...t.shape], xs.slice(ax)));
  };
  const extra = [mo, ro].filter((o): o is number => o !== undefined);
  c.emit('norm_f32', [c.addr(x!), c.addr(y), i32(outer), i32(inner), f32(la.epsilon), full(s), full(b), i32(0), i32(1), i32(0),
    mo !== undefined ? c.addr(mo) : NULL, ro !== undefined ? c.addr(ro) : NULL], { reads: [x!, s ?? null, b ?? null], writes: [y, ...extra] });
}

function lowerInstanceNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const C = xs[1]!;
  c.emit('norm_f32', [c.addr(x!), c.addr(y), i32(xs[0]! * C), i32(numel(xs.slice(2))), f32(opAttrs<{ epsilon: number }>(n, c.opset).epsilon),
    c.addr(s!), c.addr(b!), i32(1), i32(C), i32(0), NULL, NULL], { reads: [x!, s!, b!], writes: [y] });
}

/** Norm-family lowerings by qualified op name. */
export const NORM_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  BatchNormalization: lowerBatchNorm, LayerNormalization: lowerLayerNorm, InstanceNormalization: lowerInstanceNorm,
};
