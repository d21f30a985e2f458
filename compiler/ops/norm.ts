/**
 * Op family: normalizations. BatchNormalization (inference, and training_mode outputs of
 * opset 14+), InstanceNormalization, LayerNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization and RMSNormalization.
 *
 * Statistics are computed in float64 with two passes (mean, then mean squared deviation) and
 * the outputs are rounded once to the output dtype.
 */
import { DType, ONNX_DTYPE, dtypeFromOnnx, isFloat } from '../ir/dtype.js';
import { Shape, Tensor, TensorType, numel } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { DecomposeBuilder, InferCtx, defineOp, need, normAxis } from './registry.js';
import type { ValueId } from '../ir/graph.js';
import { broadcastIndex } from './util.js';
import { FArr, elemsOf, floatData, tensorFromF64 } from './conv.js';

function checkFloatIn(op: string, dt: DType): void {
  if (!isFloat(dt)) throw unsupported(`${op}: input dtype ${dt} is not supported (float types only)`);
}

/**
 * Mean and (population) variance of x over groups: element i belongs to group g[i]
 * (e.g. from broadcastIndex of the keepdims-reduced shape).
 */
function moments(x: FArr, g: Int32Array, groups: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(groups);
  const cnt = new Float64Array(groups);
  for (let i = 0; i < x.length; i++) {
    mean[g[i]!]! += x[i]!;
    cnt[g[i]!]!++;
  }
  for (let k = 0; k < groups; k++) mean[k]! /= cnt[k]!;
  const variance = new Float64Array(groups);
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - mean[g[i]!]!;
    variance[g[i]!]! += d * d;
  }
  for (let k = 0; k < groups; k++) variance[k]! /= cnt[k]!;
  return { mean, variance };
}

/** Shape with the given axes set to 1 (keepdims reduction). */
function reducedShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

const unaryCost = (_c: InferCtx, _a: unknown, outs: TensorType[]) => ({ macs: 0, flops: 4 * elemsOf(outs[0]?.shape ?? []) });

/** Axes [from, rank). */
function axesFrom(from: number, rank: number): number[] {
  return Array.from({ length: rank - from }, (_, i) => from + i);
}

/** `x` cast to `to` (no node when it already has that dtype). */
function castTo(b: DecomposeBuilder, x: ValueId, to: DType): ValueId {
  return b.typeOf(x).dtype === to ? x : b.op1('Cast', [x], { to: ONNX_DTYPE[to] });
}

/**
 * Primitive mean and variance over `axes` (two passes, as the reference): returns
 * d = x - mean(x) and the statistics kept as size-1 dims.
 */
function centered(b: DecomposeBuilder, x: ValueId, axes: readonly number[]): { d: ValueId; mean: ValueId; variance: ValueId } {
  const mean = b.reduce('ReduceMean', x, axes);
  const d = b.op1('Sub', [x, mean]);
  return { d, mean, variance: b.reduce('ReduceMean', b.op1('Mul', [d, d]), axes) };
}

/** 1 / sqrt(v + eps) in v's dtype. */
function invStd(b: DecomposeBuilder, v: ValueId, eps: number): ValueId {
  return b.op1('Reciprocal', [b.op1('Sqrt', [b.op1('Add', [v, b.scalar(b.typeOf(v).dtype, eps)])])]);
}

/** Dims of a type when all are concrete, else null. */
function staticShape(t: TensorType | null | undefined): number[] | null {
  return t && t.shape.every((d) => typeof d === 'number') ? (t.shape as number[]) : null;
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization
// ---------------------------------------------------------------------------------------------

interface BNAttrs {
  epsilon: number;
  momentum: number;
  training: boolean;
}

/** Per-element index of a BN parameter: one per channel, or one per (channel, spatial) element (spatial=0). */
function bnParamIndex(p: Tensor, C: number, S: number, what: string): (c: number, s: number) => number {
  if (p.size === C) return (c) => c;
  if (p.size === C * S) return (c, s) => c * S + s;
  throw invalid(`BatchNormalization: ${what} has ${p.size} values, expected ${C}`);
}

// Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel (axis 1)
export const BatchNormalization = defineOp<BNAttrs>({
  name: 'BatchNormalization',
  domain: '',
  since: 1,
  arity: [5, 5],
  attrs: (r, ctx) => {
    const epsilon = r.float('epsilon', 1e-5);
    if (!(epsilon >= 0)) throw r.error(`epsilon must be non-negative, got ${epsilon}`);
    const tm = ctx.opset >= 14 ? r.int('training_mode', 0) : 0;
    if (tm !== 0 && tm !== 1) throw r.error(`training_mode must be 0 or 1, got ${tm}`);
    return { epsilon, momentum: r.float('momentum', 0.9), training: tm === 1 };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'BatchNormalization');
    checkFloatIn('BatchNormalization', x.dtype);
    if (x.shape.length < 2) throw invalid(`BatchNormalization: input must have rank >= 2, got ${x.shape.length}`);
    const out: TensorType[] = [{ dtype: x.dtype, shape: x.shape }];
    if (a.training) {
      const m = need(ctx.inputs[3], 3, 'BatchNormalization');
      const v = need(ctx.inputs[4], 4, 'BatchNormalization');
      out.push({ dtype: m.dtype, shape: m.shape }, { dtype: v.dtype, shape: v.shape });
    }
    return out;
  },
  ref: (ins, a) => {
    const op = 'BatchNormalization';
    const X = need(ins[0], 0, op);
    checkFloatIn(op, X.dtype);
    if (X.shape.length < 2) throw invalid(`${op}: input must have rank >= 2, got ${X.shape.length}`);
    const [S0, B0, M0, V0] = [need(ins[1], 1, op), need(ins[2], 2, op), need(ins[3], 3, op), need(ins[4], 4, op)];
    const N = X.shape[0]!;
    const C = X.shape[1]!;
    const S = numel(X.shape.slice(2));
    const x = floatData(X);
    const [s, b] = [floatData(S0), floatData(B0)];
    let m: FArr = floatData(M0);
    let v: FArr = floatData(V0);
    const si = bnParamIndex(S0, C, S, 'scale');
    const bi = bnParamIndex(B0, C, S, 'B');
    let mi = bnParamIndex(M0, C, S, 'mean');
    let vi = bnParamIndex(V0, C, S, 'var');
    const extra: Tensor[] = [];
    if (a.training) {
      // batch statistics over every axis but 1
      const st = moments(x, broadcastIndex(reducedShape(X.shape, X.shape.map((_, i) => i).filter((i) => i !== 1)), X.shape), C);
      const rm = new Float64Array(C);
      const rv = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        rm[c] = m[mi(c, 0)]! * a.momentum + st.mean[c]! * (1 - a.momentum);
        rv[c] = v[vi(c, 0)]! * a.momentum + st.variance[c]! * (1 - a.momentum);
      }
      extra.push(tensorFromF64(M0.dtype, [C], rm), tensorFromF64(V0.dtype, [C], rv));
      m = st.mean;
      v = st.variance;
      mi = (c) => c;
      vi = (c) => c;
    }
    const y = new Float64Array(X.size);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const off = (n * C + c) * S;
        if (S0.size === C && B0.size === C && (a.training || (M0.size === C && V0.size === C))) {
          // per-channel affine: y = x * k + d
          const inv = 1 / Math.sqrt(v[vi(c, 0)]! + a.epsilon);
          const mu = m[mi(c, 0)]!;
          const sc = s[c]!;
          const bb = b[c]!;
          for (let i = 0; i < S; i++) y[off + i] = (x[off + i]! - mu) * inv * sc + bb;
        } else {
          for (let i = 0; i < S; i++) {
            y[off + i] = (x[off + i]! - m[mi(c, i)]!) / Math.sqrt(v[vi(c, i)]! + a.epsilon) * s[si(c, i)]! + b[bi(c, i)]!;
          }
        }
      }
    }
    return [tensorFromF64(X.dtype, X.shape, y), ...extra];
  },
  cost: unaryCost,
});

// ---------------------------------------------------------------------------------------------
// InstanceNormalization / GroupNormalization
// ---------------------------------------------------------------------------------------------

/**
 * Normalizes X viewed as [N, G, R] over R and applies per-channel (or per-group) scale/bias.
 * @param perGroupParams scale/bias have one value per group instead of per channel
 */
function groupNorm(X: Tensor, G: number, scale: Tensor, bias: Tensor, eps: number, perGroupParams: boolean, op: string): Tensor {
  if (X.shape.length < 2) throw invalid(`${op}: input must have rank >= 2, got ${X.shape.length}`);
  const N = X.shape[0]!;
  const C = X.shape[1]!;
  if (C % G !== 0) throw invalid(`${op}: channels ${C} not divisible by num_groups ${G}`);
  const want = perGroupParams ? G : C;
  if (scale.size !== want || bias.size !== want) {
    throw invalid(`${op}: scale and bias must have ${want} values, got ${scale.size} and ${bias.size}`);
  }
  const S = numel(X.shape.slice(2));
  const cg = C / G;
  const R = cg * S;
  const x = floatData(X);
  const s = floatData(scale);
  const b = floatData(bias);
  const y = new Float64Array(X.size);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const off = (n * G + g) * R;
      let mean = 0;
      for (let i = off; i < off + R; i++) mean += x[i]!;
      mean /= R;
      let vr = 0;
      for (let i = off; i < off + R; i++) vr += (x[i]! - mean) ** 2;
      vr /= R;
      const inv = 1 / Math.sqrt(vr + eps);
      for (let c = 0; c < cg; c++) {
        const p = perGroupParams ? g : g * cg + c;
        const sc = s[p]!;
        const bb = b[p]!;
        const o = off + c * S;
        for (let i = o; i < o + S; i++) y[i] = (x[i]! - mean) * inv * sc + bb;
      }
    }
  }
  return tensorFromF64(X.dtype, X.shape, y);
}

// Y[n,c] = scale[c] * (X[n,c] - mean(X[n,c])) / sqrt(var(X[n,c]) + epsilon) + B[c]
export const InstanceNormalization = defineOp<{ epsilon: number }>({
  name: 'InstanceNormalization',
  domain: '',
  since: 1,
  arity: [3, 3],
  attrs: (r) => ({ epsilon: r.float('epsilon', 1e-5) }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'InstanceNormalization');
    checkFloatIn('InstanceNormalization', x.dtype);
    if (x.shape.length < 3) throw invalid(`InstanceNormalization: input must have rank >= 3, got ${x.shape.length}`);
    return [x];
  },
  ref: (ins, a) => {
    const op = 'InstanceNormalization';
    const X = need(ins[0], 0, op);
    checkFloatIn(op, X.dtype);
    return [groupNorm(X, X.shape[1]!, need(ins[1], 1, op), need(ins[2], 2, op), a.epsilon, false, op)];
  },
  cost: unaryCost,
});

// Y = scale * (X - mean_g) / sqrt(var_g + epsilon) + bias, statistics per (n, group of channels)
export const GroupNormalization = defineOp<{ epsilon: number; groups: number }>({
  name: 'GroupNormalization',
  domain: '',
  since: 18,
  arity: [3, 3],
  attrs: (r) => {
    const groups = r.int('num_groups');
    if (groups === undefined) throw r.error('attribute "num_groups" is required');
    if (groups < 1) throw r.error(`num_groups must be >= 1, got ${groups}`);
    return { epsilon: r.float('epsilon', 1e-5), groups };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'GroupNormalization');
    checkFloatIn('GroupNormalization', x.dtype);
    const C = x.shape[1];
    if (typeof C === 'number' && C % a.groups !== 0) throw invalid(`GroupNormalization: channels ${C} not divisible by num_groups ${a.groups}`);
    return [x];
  },
  ref: (ins, a, ctx) => {
    const op = 'GroupNormalization';
    const X = need(ins[0], 0, op);
    checkFloatIn(op, X.dtype);
    const scale = need(ins[1], 1, op);
    // opset 18..20: one scale/bias per group; opset 21: one per channel
    const perGroup = ctx.opset < 21 && scale.size === a.groups;
    return [groupNorm(X, a.groups, scale, need(ins[2], 2, op), a.epsilon, perGroup, op)];
  },
  cost: unaryCost,
  // X [N, C, ...] -> Reshape [N, G, -1]; normalize over axis 2; Reshape back to Shape(X); then
  // * scale + bias per channel ([C, 1, ...] views). Per-group scale/bias (opset < 21) are first
  // repeated C/G times (Reshape [G, 1] -> Expand [G, C/G] -> Reshape [C]).
  decompose: (b, a) => {
    const [x, s, bias] = b.ids as [ValueId, ValueId, ValueId];
    const xt = b.inputs[0]!;
    const C = xt.shape[1];
    const st = staticShape(b.inputs[1]);
    if (typeof C !== 'number' || !st || C % a.groups !== 0 || !staticShape(b.inputs[2])) return null;
    const rank = xt.shape.length;
    const grouped = b.op1('Reshape', [x, b.int64s([0, a.groups, -1])]);
    const { d, variance } = centered(b, grouped, [2]);
    const norm = b.op1('Reshape', [b.op1('Mul', [d, invStd(b, variance, a.epsilon)]), b.op1('Shape', [x])]);
    const perGroup = b.opset < 21 && st.reduce((p, q) => p * q, 1) === a.groups;
    const channels = (p: ValueId): ValueId => {
      let v = p;
      if (perGroup && a.groups !== C) {
        v = b.op1('Expand', [b.op1('Reshape', [v, b.int64s([a.groups, 1])]), b.int64s([a.groups, C / a.groups])]);
      }
      return b.op1('Reshape', [v, b.int64s([C, ...new Array<number>(rank - 2).fill(1)])]);
    };
    return [b.op1('Add', [b.op1('Mul', [norm, channels(s)]), channels(bias)])];
  },
});

// ---------------------------------------------------------------------------------------------
// LayerNormalization
// ---------------------------------------------------------------------------------------------

interface LNAttrs {
  axis: number;
  epsilon: number;
  stash: DType;
}

function lnShapes(x: Shape, axis: number): { ax: number; red: Shape } {
  const ax = normAxis(axis, x.length, 'LayerNormalization axis');
  return { ax, red: x.map((d, i) => (i < ax ? d : 1)) };
}

// Y = (X - mean) / sqrt(var + epsilon) * Scale + B over dims [axis, rank); Mean, InvStdDev optional
export const LayerNormalization = defineOp<LNAttrs>({
  name: 'LayerNormalization',
  domain: '',
  since: 17,
  arity: [2, 3],
  attrs: (r) => {
    const st = r.int('stash_type', 1);
    const stash = dtypeFromOnnx(st);
    if (!stash || !isFloat(stash)) throw r.error(`stash_type ${st} is not a supported float type`);
    return { axis: r.int('axis', -1), epsilon: r.float('epsilon', 1e-5), stash };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'LayerNormalization');
    checkFloatIn('LayerNormalization', x.dtype);
    const { red } = lnShapes(x.shape, a.axis);
    return [x, { dtype: a.stash, shape: red }, { dtype: a.stash, shape: red }];
  },
  ref: (ins, a) => {
    const op = 'LayerNormalization';
    const X = need(ins[0], 0, op);
    checkFloatIn(op, X.dtype);
    const W = need(ins[1], 1, op);
    const B = ins[2] ?? null;
    const { ax } = lnShapes(X.shape, a.axis);
    const rows = numel(X.shape.slice(0, ax));
    const cols = numel(X.shape.slice(ax));
    const x = floatData(X);
    const w = floatData(W);
    const wi = broadcastIndex(W.shape, X.shape);
    const b = B ? floatData(B) : null;
    const bi = B ? broadcastIndex(B.shape, X.shape) : null;
    const y = new Float64Array(X.size);
    const mean = new Float64Array(rows);
    const inv = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      let mu = 0;
      for (let i = off; i < off + cols; i++) mu += x[i]!;
      mu /= cols;
      let vr = 0;
      for (let i = off; i < off + cols; i++) vr += (x[i]! - mu) ** 2;
      vr /= cols;
      const is = 1 / Math.sqrt(vr + a.epsilon);
      mean[r] = mu;
      inv[r] = is;
      for (let i = off; i < off + cols; i++) {
        let v = (x[i]! - mu) * is * w[wi[i]!]!;
        if (b) v += b[bi![i]!]!;
        y[i] = v;
      }
    }
    const red = X.shape.map((d, i) => (i < ax ? d : 1));
    return [tensorFromF64(X.dtype, X.shape, y), tensorFromF64(a.stash, red, mean), tensorFromF64(a.stash, red, inv)];
  },
  cost: unaryCost,
  // ONNX function body: in the stash type, D = X - ReduceMean(X), V = ReduceMean(D * D),
  // InvStdDev = 1 / Sqrt(V + epsilon); Y = Cast(D * InvStdDev, T) * Scale + B (axes [axis, rank))
  decompose: (b, a) => {
    const xt = b.inputs[0]!;
    const { ax } = lnShapes(xt.shape, a.axis);
    const axes = axesFrom(ax, xt.shape.length);
    const { d, mean, variance } = centered(b, castTo(b, b.ids[0]!, a.stash), axes);
    const inv = invStd(b, variance, a.epsilon);
    const y = b.op1('Mul', [castTo(b, b.op1('Mul', [d, inv]), xt.dtype), b.ids[1]!]);
    return [b.ids[2] == null ? y : b.op1('Add', [y, b.ids[2]]), mean, inv];
  },
});

// ---------------------------------------------------------------------------------------------
// LRN and MeanVarianceNormalization
// ---------------------------------------------------------------------------------------------

interface LRNAttrs {
  alpha: number;
  beta: number;
  bias: number;
  size: number;
}

// Y = X / (bias + alpha / size * sum of X^2 over channels [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta
export const LRN = defineOp<LRNAttrs>({
  name: 'LRN',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const size = r.int('size');
    if (size === undefined) throw r.error('attribute "size" is required');
    if (size < 1) throw r.error(`size must be >= 1, got ${size}`);
    return { alpha: r.float('alpha', 1e-4), beta: r.float('beta', 0.75), bias: r.float('bias', 1), size };
  },
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'LRN');
    checkFloatIn('LRN', x.dtype);
    if (x.shape.length < 2) throw invalid(`LRN: input must have rank >= 2, got ${x.shape.length}`);
    return [x];
  },
  ref: (ins, a) => {
    const X = need(ins[0], 0, 'LRN');
    checkFloatIn('LRN', X.dtype);
    if (X.shape.length < 2) throw invalid(`LRN: input must have rank >= 2, got ${X.shape.length}`);
    const N = X.shape[0]!;
    const C = X.shape[1]!;
    const S = numel(X.shape.slice(2));
    const x = floatData(X);
    const y = new Float64Array(X.size);
    const lo = Math.floor((a.size - 1) / 2);
    const hi = Math.ceil((a.size - 1) / 2);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const c0 = Math.max(0, c - lo);
        const c1 = Math.min(C - 1, c + hi);
        for (let s = 0; s < S; s++) {
          let sq = 0;
          for (let k = c0; k <= c1; k++) {
            const v = x[(n * C + k) * S + s]!;
            sq += v * v;
          }
          const i = (n * C + c) * S + s;
          y[i] = x[i]! / (a.bias + (a.alpha / a.size) * sq) ** a.beta;
        }
      }
    }
    return [tensorFromF64(X.dtype, X.shape, y)];
  },
  cost: unaryCost,
});

// Y = (X - mean(X, axes)) / (sqrt(var(X, axes)) + 1e-9), as the ONNX function body defines it
export const MeanVarianceNormalization = defineOp<{ axes: number[] }>({
  name: 'MeanVarianceNormalization',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: (r) => ({ axes: r.ints('axes', [0, 2, 3]) }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'MeanVarianceNormalization');
    checkFloatIn('MeanVarianceNormalization', x.dtype);
    for (const ax of a.axes) normAxis(ax, x.shape.length, 'MeanVarianceNormalization axis');
    return [x];
  },
  ref: (ins, a) => {
    const X = need(ins[0], 0, 'MeanVarianceNormalization');
    checkFloatIn('MeanVarianceNormalization', X.dtype);
    const axes = a.axes.map((ax) => normAxis(ax, X.shape.length, 'MeanVarianceNormalization axis'));
    const red = reducedShape(X.shape, axes);
    const g = broadcastIndex(red, X.shape);
    const x = floatData(X);
    const { mean, variance } = moments(x, g, numel(red));
    const y = new Float64Array(X.size);
    for (let i = 0; i < y.length; i++) y[i] = (x[i]! - mean[g[i]!]!) / (Math.sqrt(variance[g[i]!]!) + 1e-9);
    return [tensorFromF64(X.dtype, X.shape, y)];
  },
  cost: unaryCost,
  // D = X - ReduceMean(X, axes), Y = D / (Sqrt(ReduceMean(D * D, axes)) + 1e-9). The ONNX function
  // body takes the variance as E[X^2] - E[X]^2; the two-pass form here is the reference's.
  decompose: (b, a) => {
    const xt = b.inputs[0]!;
    const axes = [...new Set(a.axes.map((ax) => normAxis(ax, xt.shape.length, 'MeanVarianceNormalization axis')))].sort((p, q) => p - q);
    const { d, variance } = centered(b, b.ids[0]!, axes);
    const den = b.op1('Add', [b.op1('Sqrt', [variance]), b.scalar(xt.dtype, 1e-9)]);
    return [b.op1('Div', [d, den])];
  },
});

// ---------------------------------------------------------------------------------------------
// RMSNormalization
// ---------------------------------------------------------------------------------------------

// Y = X / sqrt(mean(X^2 over dims [axis, rank)) + epsilon) * Scale (Scale broadcast to X)
export const RMSNormalization = defineOp<LNAttrs>({
  name: 'RMSNormalization',
  domain: '',
  since: 23,
  arity: [2, 2],
  attrs: (r) => {
    const st = r.int('stash_type', 1);
    const stash = dtypeFromOnnx(st);
    if (!stash || !isFloat(stash)) throw r.error(`stash_type ${st} is not a supported float type`);
    return { axis: r.int('axis', -1), epsilon: r.float('epsilon', 1e-5), stash };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'RMSNormalization');
    checkFloatIn('RMSNormalization', x.dtype);
    lnShapes(x.shape, a.axis);
    return [x];
  },
  ref: (ins, a) => {
    const op = 'RMSNormalization';
    const X = need(ins[0], 0, op);
    checkFloatIn(op, X.dtype);
    const W = need(ins[1], 1, op);
    const { ax } = lnShapes(X.shape, a.axis);
    const k0 = X.shape.length - W.shape.length;
    if (k0 < 0 || W.shape.some((d, k) => d !== 1 && d !== X.shape[k0 + k])) {
      throw invalid(`${op}: Scale shape [${W.shape.join(',')}] does not broadcast to X [${X.shape.join(',')}]`);
    }
    const rows = numel(X.shape.slice(0, ax));
    const cols = numel(X.shape.slice(ax));
    const x = floatData(X);
    const w = floatData(W);
    const wi = broadcastIndex(W.shape, X.shape);
    const y = new Float64Array(X.size);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      let ms = 0;
      for (let i = off; i < off + cols; i++) ms += x[i]! * x[i]!;
      const inv = 1 / Math.sqrt(ms / cols + a.epsilon);
      for (let i = off; i < off + cols; i++) y[i] = x[i]! * inv * w[wi[i]!]!;
    }
    return [tensorFromF64(X.dtype, X.shape, y)];
  },
  cost: unaryCost,
  // ONNX function body: in the stash type, InvRMS = 1 / Sqrt(ReduceMean(X * X) + epsilon) over
  // [axis, rank); Y = Cast(X * InvRMS, T) * Scale
  decompose: (b, a) => {
    const xt = b.inputs[0]!;
    const { ax } = lnShapes(xt.shape, a.axis);
    const x = castTo(b, b.ids[0]!, a.stash);
    const ms = b.reduce('ReduceMean', b.op1('Mul', [x, x]), axesFrom(ax, xt.shape.length));
    const n = castTo(b, b.op1('Mul', [x, invStd(b, ms, a.epsilon)]), xt.dtype);
    return [b.op1('Mul', [n, b.ids[1]!])];
  },
});

// ---------------------------------------------------------------------------------------------
// LpNormalization
// ---------------------------------------------------------------------------------------------

// y = x / (sum_axis |x|^p)^(1/p), p in {1, 2}, with y = 0 where the norm is 0 (as ONNX's test
// data and onnxruntime give); the norm is computed in float64
export const LpNormalization = defineOp<{ axis: number; p: number }>({
  name: 'LpNormalization',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const p = r.int('p', 2);
    if (p !== 1 && p !== 2) throw r.error(`attribute "p" must be 1 or 2, got ${p}`);
    return { axis: r.int('axis', -1), p };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'LpNormalization');
    checkFloatIn('LpNormalization', x.dtype);
    normAxis(a.axis, x.shape.length);
    return [x];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'LpNormalization');
    checkFloatIn('LpNormalization', x.dtype);
    const axis = normAxis(a.axis, x.shape.length);
    const n = x.shape[axis]!;
    const inner = numel(x.shape.slice(axis + 1));
    const outer = numel(x.shape.slice(0, axis));
    const xd = floatData(x);
    const y = new Float64Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let s = 0;
        for (let k = 0; k < n; k++) {
          const v = Math.abs(xd[base + k * inner]!);
          s += a.p === 1 ? v : v * v;
        }
        const norm = a.p === 1 ? s : Math.sqrt(s);
        for (let k = 0; k < n; k++) y[base + k * inner] = norm === 0 ? 0 : xd[base + k * inner]! / norm;
      }
    }
    return [tensorFromF64(x.dtype, x.shape, y)];
  },
  cost: unaryCost,
  // Y = X / Max(ReduceL1|L2(X, axis), tiny), tiny the dtype's smallest normal value (GPUs flush
  // subnormals to zero): a zero norm means X is all zeros there, so Y = 0 as the reference gives;
  // only a nonzero norm below tiny (|x| < 1.2e-38 everywhere in f32) differs from the reference
  decompose: (b, a) => {
    const xt = b.inputs[0]!;
    const axis = normAxis(a.axis, xt.shape.length);
    const norm = b.reduce(a.p === 1 ? 'ReduceL1' : 'ReduceL2', b.ids[0]!, [axis]);
    return [b.op1('Div', [b.ids[0]!, b.op1('Max', [norm, b.scalar(xt.dtype, TINY[xt.dtype] ?? 2 ** -1022)])])];
  },
});

/** Smallest normal value per float dtype. */
const TINY: Partial<Record<DType, number>> = { f32: 2 ** -126, f16: 2 ** -14, bf16: 2 ** -126, f64: 2 ** -1022 };
