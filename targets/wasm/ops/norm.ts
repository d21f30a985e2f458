/**
 * Wasm lowerings of the normalization family (compiler/ops/norm.ts): BatchNormalization as a per-channel
 * affine (folded from constant parameters, or computed at run time from runtime ones; in training mode
 * from the batch statistics, with the running-statistics outputs),
 * LayerNormalization and InstanceNormalization on norm_f32 (scale/bias constant or runtime), LRN on lrn_f32.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { batchNormAffine, broadcastStrides, contiguous, expandToInner, layerNormLayout, opAttrs } from '../../common/params.js';
import { BINARY, UNARY } from '../kernels.js';
import { LowerCtx, LowerFn, Word, f32, i32, NULL, copyView } from '../ctx.js';
import { binaryCall } from './elementwise.js';

// BatchNormalization, training_mode = 1: y normalized with the batch statistics (f64 in bn_train),
// running_mean / running_var = input * momentum + batch * (1 - momentum)
function lowerBatchNormTraining(c: LowerCtx, n: Node, a: { epsilon: number; momentum: number }): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [rm, rv] = [n.outputs[1], n.outputs[2]].map((o) => (o !== undefined && c.g.useCount(o) > 0 ? o : null)) as [ValueId | null, ValueId | null];
  const xs = c.shape(x);
  const C = xs[1]!;
  const [s, b, m, v] = [1, 2, 3, 4].map((i) => {
    const p = n.inputs[i];
    if (p === null || p === undefined || numel(c.shape(p)) !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
    return p;
  }) as [ValueId, ValueId, ValueId, ValueId];
  const [k, t] = [c.temp(C * 4), c.temp(C * 4)];
  const kw: Word = { k: 'buf', id: k, off: 0 };
  const tw: Word = { k: 'buf', id: t, off: 0 };
  c.emit('bn_train', [c.addr(x), i32(xs[0]!), i32(C), i32(numel(xs.slice(2))), c.addr(s), c.addr(b), c.addr(m), c.addr(v), kw, tw,
    rm === null ? NULL : c.addr(rm), rv === null ? NULL : c.addr(rv), f32(a.momentum), f32(a.epsilon)],
  { reads: [x, s, b, m, v], writes: [k, t, ...(rm === null ? [] : [rm]), ...(rv === null ? [] : [rv])] });
  c.emit('channel_affine_f32', [c.addr(x), c.addr(y), i32(xs[0]!), i32(C), i32(numel(xs.slice(2))), kw, tw],
    { reads: [x, k, t], writes: [y], inplace: [x, y] });
}

function lowerBatchNorm(c: LowerCtx, n: Node): void {
  const ta = opAttrs<{ epsilon: number; momentum: number; training: boolean }>(n, c.opset);
  if (ta.training) {
    lowerBatchNormTraining(c, n, ta);
    return;
  }
  if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => c.g.useCount(o) > 0)) throw c.unsupported('BatchNormalization training outputs are not supported');
  const [x, s, b, m, v] = n.inputs;
  const eps = opAttrs<{ epsilon: number }>(n, c.opset).epsilon;
  const xs = c.shape(x!);
  const C = xs[1]!;
  const y = n.outputs[0]!;
  const params = [s, b, m, v];
  for (const p of params) {
    if (p === null || p === undefined || numel(c.shape(p)) !== C) throw c.unsupported('BatchNormalization with per-element parameters is not supported');
  }
  let sc: Word;
  let sh: Word;
  const reads: (number | null)[] = [x!];
  if (params.every((p) => c.isConst(p))) {
    // constant parameters: the affine folded at compile time
    const [S, B, Mn, V] = params.map((p, i) => c.f32Data(c.constOf(p, `BatchNormalization ${['scale', 'B', 'mean', 'var'][i]}`)));
    const { scale, shift } = batchNormAffine(S!, B!, Mn!, V!, eps);
    sc = c.blob(Float32Array.from(scale));
    sh = c.blob(Float32Array.from(shift));
  } else {
    // runtime parameters: scale' = s / sqrt(var + eps), shift' = B - mean * scale' on the f32 kernels
    const [k, t] = [c.temp(C * 4), c.temp(C * 4)];
    sc = { k: 'buf', id: k, off: 0 };
    sh = { k: 'buf', id: t, off: 0 };
    const one = [C];
    binaryCall(c, BINARY.Add, v!, c.addr(v!), one, null, c.blob(new Float32Array([eps])), [1], k, one, false);
    c.emit('unary_f32', [i32(UNARY.Sqrt), sc, sc, i32(C), f32(0), f32(0)], { reads: [k], writes: [k] });
    binaryCall(c, BINARY.Div, s!, c.addr(s!), one, k, sc, one, k, one, false);
    binaryCall(c, BINARY.Mul, m!, c.addr(m!), one, k, sc, one, t, one, false);
    binaryCall(c, BINARY.Sub, b!, c.addr(b!), one, t, sh, one, t, one, false);
    reads.push(k, t);
  }
  c.emit('channel_affine_f32', [c.addr(x!), c.addr(y), i32(xs[0]!), i32(C), i32(numel(xs.slice(2))), sc, sh],
    { reads, writes: [y], inplace: [x!, y] });
}

function lowerLayerNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const y = n.outputs[0]!;
  const { xs, axis: ax, rows: outer, inner, epsilon, mean: mo, invStd: ro } = layerNormLayout(c, n);
  const temps: number[] = [];
  const full = (id: ValueId | null | undefined): Word => {
    if (id == null) return NULL;
    if (!c.isConst(id)) {
      if (numel(c.shape(id)) === inner) return c.addr(id);
      // a runtime scale/bias broadcast to the normalized shape: copied out to `inner` elements
      const t = c.temp(inner * 4);
      const ns = xs.slice(ax);
      const w: Word = { k: 'buf', id: t, off: 0 };
      copyView(c, w, contiguous(ns), c.addr(id), broadcastStrides(c.shape(id), ns), ns, { reads: [id], writes: [t] });
      temps.push(t);
      return w;
    }
    const t = c.constOf(id, `LayerNormalization ${id === s ? 'scale' : 'bias'} (broadcast)`);
    const d = c.f32Data(t);
    if (d.length === inner) return c.addr(id);
    return c.blob(expandToInner(d, [...t.shape], xs.slice(ax)));
  };
  const extra = [mo, ro].filter((o): o is number => o !== undefined);
  c.emit('norm_f32', [c.addr(x!), c.addr(y), i32(outer), i32(inner), f32(epsilon), full(s), full(b), i32(0), i32(1), i32(0),
    mo !== undefined ? c.addr(mo) : NULL, ro !== undefined ? c.addr(ro) : NULL], { reads: [x!, s ?? null, b ?? null, ...temps], writes: [y, ...extra] });
}

function lowerInstanceNorm(c: LowerCtx, n: Node): void {
  const [x, s, b] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const C = xs[1]!;
  c.emit('norm_f32', [c.addr(x!), c.addr(y), i32(xs[0]! * C), i32(numel(xs.slice(2))), f32(opAttrs<{ epsilon: number }>(n, c.opset).epsilon),
    c.addr(s!), c.addr(b!), i32(1), i32(C), i32(0), NULL, NULL], { reads: [x!, s!, b!], writes: [y] });
}

// LRN: Y = X / (bias + alpha / size * sum of X^2 over channels [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta
function lowerLRN(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  if (xs.length < 2) throw c.unsupported(`LRN of rank ${xs.length}`);
  if (numel(xs) === 0) return;
  const a = opAttrs<{ alpha: number; beta: number; bias: number; size: number }>(n, c.opset);
  c.emit('lrn_f32', [c.addr(x), c.addr(y), i32(xs[0]!), i32(xs[1]!), i32(numel(xs.slice(2))), i32(a.size), f32(a.alpha), f32(a.beta), f32(a.bias)],
    { reads: [x], writes: [y] });
}

/** Norm-family lowerings by qualified op name. */
export const NORM_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  BatchNormalization: lowerBatchNorm, LayerNormalization: lowerLayerNorm, InstanceNormalization: lowerInstanceNorm, LRN: lowerLRN,
};
