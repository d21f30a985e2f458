/**
 * Op family: normalizations. BatchNormalization (inference, and training_mode outputs of
 * opset 14+), InstanceNormalization, LayerNormalization, GroupNormalization, LRN and
 * MeanVarianceNormalization.
 *
 * Statistics are computed in float64 with two passes (mean, then mean squared deviation) and
 * the outputs are rounded once to the output dtype.
 */
import { DType, dtypeFromOnnx, isFloat } from '../ir/dtype.js';
import { Shape, Tensor, TensorType, numel } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { InferCtx, defineOp, need, normAxis } from './registry.js';
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
});
