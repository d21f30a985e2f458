/**
 * fold-affine: a per-channel affine y = x * s[c] + t[c] (axis 1 of an N,C,... tensor) given as an
 * inference BatchNormalization, or as a Mul / Add by a constant that varies only along the channel
 * axis, is folded away where that is exact:
 *
 * - backward through a Concat along axis 1: Concat(x_1..x_k) * s + t = Concat(x_1*s_1+t_1, ...),
 *   with s_i, t_i the slice of channels x_i contributes; each slice is folded into its producer
 *   (Conv, ConvTranspose, Gemm, MatMul with constant weights, or a per-channel Mul / Add by a
 *   constant of the same kind) when every slice can be, and every producer and the Concat have no
 *   other use. Folding all slices keeps the Concat's per-tensor quantization range balanced.
 * - backward through a Split along axis 1: an affine on output k of Split(P(x)) is folded into
 *   producer P for the channels of slice k (identity elsewhere), when P and that output have no
 *   other use.
 * - forward into a Conv (input channel c of weights scaled by s[c]; shift t folded into the bias as
 *   b'[m] = b[m] + sum_{c,k} W[m,c,k] t[c], exact only without padding: a padded border sees 0,
 *   not t, so a shift is folded only into a Conv with zero pads) or into a Gemm (row k of B scaled
 *   by s[k]; C' = beta*C + alpha * t.B, beta' = 1), when the affine's only consumer is that node.
 *
 * All arithmetic runs in float64; results are rounded to the weights' dtype.
 */
import { Graph, Node } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { isFloat } from '../ir/dtype.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, RewriteCtx, producerIs, singleUse, takeOutputs } from '../rewrite/pattern.js';
import { opsetOf } from '../ops/registry.js';

/** A per-channel affine y = x * s + t on channel axis 1 of `x` (the node's data input). */
interface Affine {
  x: number;
  /** Per-channel scale, or undefined when the affine is a pure shift (Add). */
  s?: Float64Array;
  /** Per-channel shift, or undefined when the affine is a pure scale (Mul). */
  t?: Float64Array;
}

/** Channel count (axis 1) of a value when known. */
function channelsOf(g: Graph, id: number): number | undefined {
  const sh = g.typeOf(id).shape;
  const d = sh.length >= 2 ? sh[1] : undefined;
  return typeof d === 'number' ? d : undefined;
}

/**
 * The per-channel values of constant `c` broadcast against `x` (channel axis 1), or undefined when
 * `c` varies along any other axis or would change x's shape by broadcasting.
 */
function perChannel(g: Graph, x: number, c: Tensor): Float64Array | undefined {
  const xs = g.typeOf(x).shape;
  const r = xs.length;
  const C = channelsOf(g, x);
  if (C === undefined || r < 2 || c.shape.length > r || !isFloat(c.dtype)) return undefined;
  let cdim = 1;
  for (let j = 0; j < c.shape.length; j++) {
    const axis = j + r - c.shape.length;
    const d = c.shape[j]!;
    if (axis === 1) {
      if (d !== C && d !== 1) return undefined;
      cdim = d;
    } else if (d !== 1) return undefined;
  }
  const out = new Float64Array(C);
  for (let i = 0; i < C; i++) out[i] = c.get(cdim === 1 ? 0 : i);
  return out;
}

/** Inference-BN parameters s = gamma / sqrt(var + eps), t = beta - mean * s, or undefined. */
function bnAffine(g: Graph, bn: Node, ctx: RewriteCtx): Affine | undefined {
  if (bn.inputs.length !== 5 || bn.inputs.some((v) => v === null)) return undefined;
  for (const o of bn.outputs.slice(1)) if (ctx.useCount(o) > 0) return undefined;
  if (bn.attrs['training_mode'] === 1) return undefined;
  if (opsetOf(bn, g) < 9 && bn.attrs['spatial'] === 0) return undefined;
  const x = bn.inputs[0]!;
  if (!isFloat(g.typeOf(x).dtype)) return undefined;
  const ts = bn.inputs.slice(1).map((v) => g.constOf(v));
  if (ts.some((t) => !t)) return undefined;
  const [gamma, beta, mean, variance] = ts as Tensor[];
  const C = channelsOf(g, x);
  if (C === undefined || [gamma!, beta!, mean!, variance!].some((t) => t.size !== C)) return undefined;
  const eps = typeof bn.attrs['epsilon'] === 'number' ? bn.attrs['epsilon'] : 1e-5;
  const s = new Float64Array(C);
  const t = new Float64Array(C);
  for (let i = 0; i < C; i++) {
    s[i] = gamma!.get(i) / Math.sqrt(variance!.get(i) + eps);
    t[i] = beta!.get(i) - mean!.get(i) * s[i]!;
  }
  return { x, s, t };
}

/** The affine a BN / Mul / Add node computes on its non-constant input, or undefined. */
function affineOf(g: Graph, n: Node, ctx: RewriteCtx): Affine | undefined {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return undefined;
  if (n.op === 'BatchNormalization') return bnAffine(g, n, ctx);
  if ((n.op !== 'Mul' && n.op !== 'Add') || n.inputs.length !== 2) return undefined;
  const [a, b] = n.inputs as [number | null, number | null];
  if (a === null || b === null) return undefined;
  const ca = g.constOf(a);
  const cb = g.constOf(b);
  if ((ca === undefined) === (cb === undefined)) return undefined;
  const x = ca ? b : a;
  const c = (ca ?? cb)!;
  const xt = g.typeOf(x);
  const yt = g.typeOf(n.outputs[0]!);
  if (!isFloat(xt.dtype) || xt.dtype !== c.dtype || xt.shape.length !== yt.shape.length) return undefined;
  if (xt.shape.some((d, i) => d !== yt.shape[i])) return undefined;
  const v = perChannel(g, x, c);
  if (!v) return undefined;
  return n.op === 'Mul' ? { x, s: v } : { x, t: v };
}

/** A new tensor like `t` with element i set to f(i, value). */
function mapTensor(t: Tensor, f: (i: number, v: number) => number): Tensor {
  const out = Tensor.zeros(t.dtype, t.shape);
  for (let i = 0; i < t.size; i++) out.set(i, f(i, t.get(i)));
  return out;
}

const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);

/**
 * Plans folding the affine slice (s, t over channels [off, off+len)) into producer `p` of a
 * Concat input: returns the edit to apply, or undefined when `p` cannot absorb it exactly.
 */
function planBackward(g: Graph, p: Node, ctx: RewriteCtx, a: Affine, off: number, len: number): (() => void) | undefined {
  const s = (i: number): number => (a.s ? a.s[off + i]! : 1);
  const t = (i: number): number => (a.t ? a.t[off + i]! : 0);
  if (p.outputs.length !== 1 || (p.domain !== '' && p.domain !== 'ai.onnx')) return undefined;
  const bias = (i: number): Tensor | undefined | null => (p.inputs[i] == null ? undefined : g.constOf(p.inputs[i]) ?? null);
  const newBias = (dtype: Tensor['dtype'], b: Tensor | undefined, mul: number): Tensor => {
    const out = Tensor.zeros(dtype, [len]);
    for (let i = 0; i < len; i++) out.set(i, (b ? b.get(b.size === 1 ? 0 : i) * mul : 0) * s(i) + t(i));
    return out;
  };
  switch (p.op) {
    case 'Conv': {
      const w = g.constOf(p.inputs[1]);
      const b = bias(2);
      if (!w || b === null || !isFloat(w.dtype) || w.shape[0] !== len || (b && b.size !== len)) return undefined;
      const per = w.size / len;
      return () => {
        const w2 = mapTensor(w, (i, v) => v * s(Math.floor(i / per)));
        p.inputs = [p.inputs[0]!, g.addConst(`${p.name}.weight_affine`, w2).id, g.addConst(`${p.name}.bias_affine`, newBias(w.dtype, b, 1)).id];
      };
    }
    case 'ConvTranspose': {
      const w = g.constOf(p.inputs[1]);
      const b = bias(2);
      if (!w || b === null || !isFloat(w.dtype) || w.shape.length < 2 || (b && b.size !== len)) return undefined;
      const group = num(p.attrs['group'], 1);
      const cin = w.shape[0]!;
      const mPer = w.shape[1]!;
      if (mPer * group !== len || cin % group !== 0) return undefined;
      const spatial = w.size / (cin * mPer);
      const cinPer = cin / group;
      return () => {
        const w2 = mapTensor(w, (i, v) => {
          const c = Math.floor(i / (mPer * spatial));
          const j = Math.floor(i / spatial) % mPer;
          return v * s(Math.floor(c / cinPer) * mPer + j);
        });
        p.inputs = [p.inputs[0]!, g.addConst(`${p.name}.weight_affine`, w2).id, g.addConst(`${p.name}.bias_affine`, newBias(w.dtype, b, 1)).id];
      };
    }
    case 'Gemm': {
      const bw = g.constOf(p.inputs[1]);
      const c = bias(2);
      if (!bw || c === null || !isFloat(bw.dtype) || bw.shape.length !== 2) return undefined;
      const transB = p.attrs['transB'] === 1;
      const cols = bw.shape[1]!;
      if ((transB ? bw.shape[0] : cols) !== len) return undefined;
      if (c && !(c.size === 1 || c.size === len && c.shape[c.shape.length - 1] === len)) return undefined;
      const beta = num(p.attrs['beta'], 1);
      return () => {
        const b2 = mapTensor(bw, (i, v) => v * s(transB ? Math.floor(i / cols) : i % cols));
        p.inputs = [p.inputs[0]!, g.addConst(`${p.name}.weight_affine`, b2).id, g.addConst(`${p.name}.bias_affine`, newBias(bw.dtype, c, beta)).id];
        p.attrs = { ...p.attrs, beta: 1 };
      };
    }
    case 'MatMul': {
      // MatMul has no bias: only a pure scale folds (columns of the constant 2-D weight).
      const w = g.constOf(p.inputs[1]);
      if (a.t || !w || !isFloat(w.dtype) || w.shape.length !== 2 || w.shape[1] !== len) return undefined;
      if (g.typeOf(p.inputs[0]!).shape.length !== 2) return undefined;
      return () => {
        p.inputs = [p.inputs[0]!, g.addConst(`${p.name}.weight_affine`, mapTensor(w, (i, v) => v * s(i % len))).id];
      };
    }
    case 'Mul':
    case 'Add': {
      // (x*c)*s = x*(c*s); (x+c)+t = x+(c+t); a Mul under a shift or an Add under a scale does not fold.
      if ((p.op === 'Mul' && a.t) || (p.op === 'Add' && a.s)) return undefined;
      const pa = affineOf(g, p, ctx);
      const v = pa ? (pa.s ?? pa.t) : undefined;
      if (!pa || !v || v.length !== len) return undefined;
      const dtype = g.typeOf(pa.x).dtype;
      const rank = g.typeOf(pa.x).shape.length;
      return () => {
        const c = Tensor.zeros(dtype, [len, ...new Array<number>(rank - 2).fill(1)]);
        for (let i = 0; i < len; i++) c.set(i, p.op === 'Mul' ? v[i]! * s(i) : v[i]! + t(i));
        p.inputs = [pa.x, g.addConst(`${p.name}.const_affine`, c).id];
      };
    }
    default:
      return undefined;
  }
}

// A(Concat_1(x_1..x_k)) -> Concat_1(A_1(x_1)..A_k(x_k)), each A_i absorbed by x_i's producer
const affineThroughConcat: Rule = {
  name: 'affine-through-concat',
  ops: ['BatchNormalization', 'Mul', 'Add'],
  rewrite(n, g, ctx) {
    const a = affineOf(g, n, ctx);
    if (!a) return false;
    const cat = producerIs(g, a.x, 'Concat');
    if (!cat || cat.outputs.length !== 1 || !singleUse(g, ctx, a.x)) return false;
    const rank = g.typeOf(a.x).shape.length;
    const axis = num(cat.attrs['axis'], NaN);
    if ((axis < 0 ? axis + rank : axis) !== 1) return false;
    const edits: (() => void)[] = [];
    let off = 0;
    for (const x of cat.inputs) {
      if (x === null) return false;
      const len = channelsOf(g, x);
      const p = g.producerOf(x);
      if (len === undefined || !p || !singleUse(g, ctx, x)) return false;
      const e = planBackward(g, p, ctx, a, off, len);
      if (!e) return false;
      edits.push(e);
      off += len;
    }
    if (off !== channelsOf(g, a.x)) return false;
    for (const e of edits) e();
    g.removeNode(n.id);
    takeOutputs(g, cat, [n.outputs[0]!]);
    return true;
  },
};

// A(Split_1(P(x))[k]) -> Split_1(P'(x))[k], P' = P with channels of slice k scaled/shifted (others kept)
const affineThroughSplit: Rule = {
  name: 'affine-through-split',
  ops: ['BatchNormalization', 'Mul', 'Add'],
  rewrite(n, g, ctx) {
    const a = affineOf(g, n, ctx);
    if (!a) return false;
    const split = producerIs(g, a.x, 'Split');
    if (!split || !singleUse(g, ctx, a.x) || split.inputs[0] == null) return false;
    const src = split.inputs[0];
    const rank = g.typeOf(src).shape.length;
    const axis = num(split.attrs['axis'], 0);
    const total = channelsOf(g, src);
    const p = g.producerOf(src);
    if ((axis < 0 ? axis + rank : axis) !== 1 || total === undefined || !p || !singleUse(g, ctx, src)) return false;
    let off = 0;
    for (const o of split.outputs) {
      if (o === a.x) break;
      const c = channelsOf(g, o);
      if (c === undefined) return false;
      off += c;
    }
    const len = channelsOf(g, a.x)!;
    // the same affine over all of P's channels: identity (s = 1, t = 0) outside slice k
    const full: Affine = { x: src };
    if (a.s) full.s = new Float64Array(total).fill(1);
    if (a.t) full.t = new Float64Array(total);
    for (let i = 0; i < len; i++) {
      if (a.s) full.s![off + i] = a.s[i]!;
      if (a.t) full.t![off + i] = a.t[i]!;
    }
    const edit = planBackward(g, p, ctx, full, 0, total);
    if (!edit) return false;
    edit();
    g.removeNode(n.id);
    const k = split.outputs.indexOf(a.x);
    const v = g.values.get(a.x);
    if (v && v.producer === split.id) delete v.producer;
    split.outputs[k] = n.outputs[0]!;
    g.value(n.outputs[0]!).producer = split.id;
    return true;
  },
};

// Conv(x*s+t, W, b) -> Conv(x, W*s[c], b + sum W*t[c]) (shift only with zero pads);
// Gemm(x*s+t, B, C) -> Gemm(x, s[k]*B[k,:], beta*C + alpha*t.B)
const affineIntoConsumer: Rule = {
  name: 'affine-into-consumer',
  ops: ['BatchNormalization', 'Mul', 'Add'],
  rewrite(n, g, ctx) {
    const a = affineOf(g, n, ctx);
    const y = n.outputs[0]!;
    if (!a || !singleUse(g, ctx, y)) return false;
    // a uniform scalar Mul/Add (e.g. input normalization) stays: it quantizes exactly per tensor, and
    // folding it would rescale one layer's weights against the others (global magnitude pruning)
    if (n.op !== 'BatchNormalization' && n.inputs.some((v) => (g.constOf(v)?.size ?? 0) === 1)) return false;
    const users = ctx.users(y);
    const q = users[0];
    if (!q || users.length !== 1 || q.inputs[0] !== y || (q.domain !== '' && q.domain !== 'ai.onnx')) return false;
    const C = channelsOf(g, a.x)!;
    const s = (i: number): number => (a.s ? a.s[i]! : 1);
    const t = (i: number): number => (a.t ? a.t[i]! : 0);
    let edit: (() => void) | undefined;
    if (q.op === 'Conv') {
      const w = g.constOf(q.inputs[1]);
      const b = q.inputs[2] == null ? undefined : g.constOf(q.inputs[2]);
      if (!w || (q.inputs[2] != null && !b) || !isFloat(w.dtype) || w.shape.length < 3) return false;
      const group = num(q.attrs['group'], 1);
      const M = w.shape[0]!;
      const cPer = w.shape[1]!;
      if (cPer * group !== C || M % group !== 0) return false;
      if (a.t) {
        const autoPad = q.attrs['auto_pad'];
        const pads = q.attrs['pads'];
        const padded = Array.isArray(pads) && (pads as number[]).some((v) => v !== 0);
        if ((autoPad !== undefined && autoPad !== 'NOTSET' && autoPad !== 'VALID') || padded) return false;
      }
      const spatial = w.size / (M * cPer);
      const mPer = M / group;
      const ch = (i: number): number => {
        const m = Math.floor(i / (cPer * spatial));
        return Math.floor(m / mPer) * cPer + (Math.floor(i / spatial) % cPer);
      };
      edit = () => {
        const w2 = mapTensor(w, (i, v) => v * s(ch(i)));
        const b2 = Tensor.zeros(w.dtype, [M]);
        const acc = new Float64Array(M);
        for (let i = 0; i < w.size; i++) acc[Math.floor(i / (cPer * spatial))]! += w.get(i) * t(ch(i));
        for (let m = 0; m < M; m++) b2.set(m, (b ? b.get(m) : 0) + acc[m]!);
        q.inputs = [a.x, g.addConst(`${q.name}.weight_affine`, w2).id, g.addConst(`${q.name}.bias_affine`, b2).id];
      };
    } else if (q.op === 'Gemm') {
      const bw = g.constOf(q.inputs[1]);
      const c = q.inputs[2] == null ? undefined : g.constOf(q.inputs[2]);
      if (!bw || (q.inputs[2] != null && !c) || !isFloat(bw.dtype) || bw.shape.length !== 2) return false;
      if (q.attrs['transA'] === 1 || g.typeOf(a.x).shape.length !== 2) return false;
      const transB = q.attrs['transB'] === 1;
      const [r0, r1] = bw.shape as [number, number];
      const K = transB ? r1 : r0;
      const N = transB ? r0 : r1;
      if (K !== C) return false;
      if (c && !(c.size === 1 || (c.size === N && c.shape[c.shape.length - 1] === N))) return false;
      const alpha = num(q.attrs['alpha'], 1);
      const beta = num(q.attrs['beta'], 1);
      edit = () => {
        const b2 = mapTensor(bw, (i, v) => v * s(transB ? i % r1 : Math.floor(i / r1)));
        const acc = new Float64Array(N);
        for (let i = 0; i < bw.size; i++) {
          const k = transB ? i % r1 : Math.floor(i / r1);
          const j = transB ? Math.floor(i / r1) : i % r1;
          acc[j]! += bw.get(i) * t(k);
        }
        const c2 = Tensor.zeros(bw.dtype, [N]);
        for (let j = 0; j < N; j++) c2.set(j, beta * (c ? c.get(c.size === 1 ? 0 : j) : 0) + alpha * acc[j]!);
        q.inputs = [a.x, g.addConst(`${q.name}.weight_affine`, b2).id, g.addConst(`${q.name}.bias_affine`, c2).id];
        q.attrs = { ...q.attrs, beta: 1 };
      };
    }
    if (!edit) return false;
    edit();
    g.removeNode(n.id);
    return true;
  },
};

export const FOLD_AFFINE_RULES: readonly Rule[] = [affineThroughConcat, affineThroughSplit, affineIntoConsumer];

export const foldAffine: Pass = {
  name: 'fold-affine',
  description: 'fold per-channel affines (BN, Mul/Add by a per-channel constant) back through Concat into producers, or forward into a Conv/Gemm',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, FOLD_AFFINE_RULES, ctx);
  },
};
