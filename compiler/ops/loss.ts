/**
 * Op family: training losses. NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (which is
 * NegativeLogLikelihoodLoss applied to LogSoftmax over the class axis).
 *
 * Layout: input/scores [N, C, d1..dk], target/labels [N, d1..dk] (int32/int64), optional class
 * weights [C]. Everything is computed in float64 and each output is rounded once to the input's
 * float dtype.
 */
import { DType, ONNX_DTYPE, isFloat } from '../ir/dtype.js';
import { Tensor, TensorType, numel } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, DecomposeBuilder, InferCtx, defineOp, need } from './registry.js';
import type { ValueId } from '../ir/graph.js';
import { floatData, tensorFromF64 } from './conv.js';

type LossReduction = 'none' | 'sum' | 'mean';

interface LossAttrs {
  reduction: LossReduction;
  /** Target value whose positions contribute nothing (neither loss nor weight). */
  ignoreIndex?: number;
}

function readLossAttrs(r: AttrReader): LossAttrs {
  const reduction = r.oneOf<LossReduction>('reduction', 'mean', ['none', 'sum', 'mean']);
  const ignoreIndex = r.int('ignore_index');
  return ignoreIndex === undefined ? { reduction } : { reduction, ignoreIndex };
}

/** Validates the input/target/weight types and returns the loss type. */
function lossInfer(op: string, ctx: InferCtx, a: LossAttrs): TensorType {
  const x = need(ctx.inputs[0], 0, op);
  const t = need(ctx.inputs[1], 1, op);
  const w = ctx.inputs[2] ?? null;
  checkLossTypes(op, x.dtype, t.dtype, w?.dtype);
  if (x.shape.length < 2) throw invalid(`${op}: input must be [N, C, d1..dk], got rank ${x.shape.length}`);
  if (t.shape.length !== x.shape.length - 1) {
    throw invalid(`${op}: target rank ${t.shape.length} must be input rank ${x.shape.length} minus 1`);
  }
  return { dtype: x.dtype, shape: a.reduction === 'none' ? t.shape : [] };
}

function checkLossTypes(op: string, x: DType, t: DType, w: DType | undefined): void {
  if (!isFloat(x)) throw unsupported(`${op}: input dtype ${x} is not supported (float types only)`);
  if (t !== 'i32' && t !== 'i64') throw invalid(`${op}: target must be int32 or int64, got ${t}`);
  if (w !== undefined && w !== x) throw invalid(`${op}: weight dtype ${w} differs from input dtype ${x}`);
}

/**
 * Negative log likelihood of float64 log-probabilities `lp` laid out [N, C, D] (D = d1*..*dk):
 * loss[n, d] = -lp[n, t, d] * w[t] with t = target[n, d] (w = 1 without weights; 0 and no loss
 * where t == ignore_index), then reduced: none keeps [N, d1..dk], sum adds, mean divides the
 * sum by the sum of the weights used.
 * @param op op name for errors
 * @param lp log-probabilities (or any scores), length N*C*D
 * @param shape input shape [N, C, d1..dk]
 * @param target class index tensor [N, d1..dk]
 * @param weight optional class weights [C]
 * @param a reduction and ignore_index
 * @param dtype output dtype
 */
export function nllLoss(op: string, lp: ArrayLike<number>, shape: readonly number[], target: Tensor,
  weight: Tensor | null, a: LossAttrs, dtype: DType): Tensor {
  const N = shape[0]!;
  const C = shape[1]!;
  const D = numel(shape.slice(2));
  if (target.shape.length !== shape.length - 1 || target.shape[0] !== N || target.shape.slice(1).some((d, i) => d !== shape[i + 2])) {
    throw invalid(`${op}: target shape [${target.shape.join(',')}] must be [${[N, ...shape.slice(2)].join(',')}]`);
  }
  if (weight && (weight.shape.length !== 1 || weight.size !== C)) {
    throw invalid(`${op}: weight must have shape [${C}], got [${weight.shape.join(',')}]`);
  }
  const w = weight ? floatData(weight) : null;
  const loss = new Float64Array(N * D);
  let sum = 0;
  let wsum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const t = target.get(n * D + d);
      if (a.ignoreIndex !== undefined && t === a.ignoreIndex) continue;
      if (!Number.isInteger(t) || t < 0 || t >= C) throw invalid(`${op}: target ${t} is outside [0, ${C})`);
      const wt = w ? w[t]! : 1;
      const v = -lp[(n * C + t) * D + d]! * wt;
      loss[n * D + d] = v;
      sum += v;
      wsum += wt;
    }
  }
  if (a.reduction === 'none') return tensorFromF64(dtype, target.shape, loss);
  return tensorFromF64(dtype, [], Float64Array.of(a.reduction === 'sum' ? sum : sum / wsum));
}

/**
 * NegativeLogLikelihoodLoss as primitives (the ONNX function body), static shapes:
 * with ignore_index, t' = Where(t == ii, 0, t) and keep = Cast(t != ii); picked =
 * GatherElements(lp viewed [N, C, D], t' viewed [N, 1, D], axis 1) with D = d1 * .. * dk;
 * w = Gather(weight, t') * keep (or keep, or none); loss = -picked * w, then ReduceSum, or
 * ReduceSum(loss) / ReduceSum(w) for mean (ReduceMean without weights). An out-of-range target indexes like GatherElements (negative wraps) instead of
 * failing as the reference does.
 * @param lp log-probabilities [N, C, d1..dk] (target and weight are the node's inputs 1 and 2)
 * @param shape dims of lp @param a reduction and ignore_index @param op op name for errors
 */
function decomposeNll(b: DecomposeBuilder, lp: ValueId, shape: readonly number[], a: LossAttrs, op: string): ValueId {
  const target = b.ids[1]!;
  const weight = b.ids[2] ?? null;
  const tt = b.inputs[1]!;
  const dt = b.typeOf(lp).dtype;
  checkLossTypes(op, dt, tt.dtype, b.inputs[2]?.dtype);
  const [N, C] = [shape[0]!, shape[1]!];
  const rest = shape.slice(2);
  const ts = tt.shape;
  if (ts.length !== shape.length - 1 || ts[0] !== N || rest.some((d, i) => ts[i + 1] !== d)) {
    throw invalid(`${op}: target shape [${ts.join(',')}] must be [${[N, ...rest].join(',')}]`);
  }
  const ws = b.inputs[2]?.shape;
  if (ws && (ws.length !== 1 || ws[0] !== C)) throw invalid(`${op}: weight must have shape [${C}], got [${ws.join(',')}]`);
  const intConst = (v: number): ValueId => b.constant(Tensor.from(tt.dtype, [], [tt.dtype === 'i64' ? BigInt(v) : v]));
  let t = target;
  let keep: ValueId | null = null;
  if (a.ignoreIndex !== undefined) {
    const ignored = b.op1('Equal', [target, intConst(a.ignoreIndex)]);
    t = b.op1('Where', [ignored, intConst(0), target]);
    keep = b.op1('Cast', [b.op1('Not', [ignored])], { to: ONNX_DTYPE[dt] });
  }
  // gather on the [N, C, D] view (D = d1 * .. * dk), whatever the rank
  const D = rest.reduce((p, q) => p * q, 1);
  const flat = shape.length === 3 ? lp : b.op1('Reshape', [lp, b.int64s([N, C, D])]);
  const idx = b.op1('Reshape', [t, b.int64s([N, 1, D])]);
  const picked = b.op1('Reshape', [b.op1('GatherElements', [flat, idx], { axis: 1 }), b.int64s([N, ...rest])]);
  let w: ValueId | null = weight === null ? null : b.op1('Gather', [weight, t], { axis: 0 });
  if (keep !== null) w = w === null ? keep : b.op1('Mul', [w, keep]);
  const neg = b.op1('Neg', [picked]);
  const loss = w === null ? neg : b.op1('Mul', [neg, w]);
  if (a.reduction === 'none') return loss;
  const all = ts.map((_, i) => i);
  if (a.reduction === 'sum') return b.reduce('ReduceSum', loss, all, false);
  if (w === null) return b.reduce('ReduceMean', loss, all, false);
  return b.op1('Div', [b.reduce('ReduceSum', loss, all, false), b.reduce('ReduceSum', w, all, false)]);
}

/** Dims of a type when all are concrete, else null. */
function staticDims(t: TensorType | null | undefined): number[] | null {
  return t && t.shape.every((d) => typeof d === 'number') ? (t.shape as number[]) : null;
}

// loss = NLL(input, target, weight): see nllLoss (the input already holds log-probabilities)
export const NegativeLogLikelihoodLoss = defineOp<LossAttrs>({
  name: 'NegativeLogLikelihoodLoss',
  domain: '',
  since: 12,
  arity: [2, 3],
  attrs: readLossAttrs,
  infer: (ctx, a) => [lossInfer('NegativeLogLikelihoodLoss', ctx, a)],
  ref: (ins, a) => {
    const op = 'NegativeLogLikelihoodLoss';
    const x = need(ins[0], 0, op);
    const t = need(ins[1], 1, op);
    const w = ins[2] ?? null;
    checkLossTypes(op, x.dtype, t.dtype, w?.dtype);
    if (x.shape.length < 2) throw invalid(`${op}: input must be [N, C, d1..dk], got rank ${x.shape.length}`);
    return [nllLoss(op, floatData(x), x.shape, t, w, a, x.dtype)];
  },
  decompose: (b, a) => {
    const shape = staticDims(b.inputs[0]);
    if (!shape || shape.length < 2 || !staticDims(b.inputs[1])) return null;
    return [decomposeNll(b, b.ids[0]!, shape, a, 'NegativeLogLikelihoodLoss')];
  },
  cost: (ctx) => ({ macs: 0, flops: 2 * numel((ctx.inputs[1]?.shape ?? []).map((d) => (typeof d === 'number' ? d : 1))) }),
});

/** log_softmax over axis 1 of [N, C, D] scores in float64: x - max - log(sum(exp(x - max))). */
function logSoftmaxAxis1(x: ArrayLike<number>, N: number, C: number, D: number): Float64Array {
  const y = new Float64Array(N * C * D);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x[(n * C + c) * D + d]!);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[(n * C + c) * D + d]! - m);
      const ls = Math.log(s);
      for (let c = 0; c < C; c++) y[(n * C + c) * D + d] = x[(n * C + c) * D + d]! - m - ls;
    }
  }
  return y;
}

// (loss, log_prob) = (NLL(log_prob, labels, weights), log_prob) with log_prob = LogSoftmax(scores, axis 1)
export const SoftmaxCrossEntropyLoss = defineOp<LossAttrs>({
  name: 'SoftmaxCrossEntropyLoss',
  domain: '',
  since: 12,
  arity: [2, 3],
  attrs: readLossAttrs,
  infer: (ctx, a) => {
    const loss = lossInfer('SoftmaxCrossEntropyLoss', ctx, a);
    const x = need(ctx.inputs[0], 0, 'SoftmaxCrossEntropyLoss');
    return [loss, { dtype: x.dtype, shape: x.shape }];
  },
  ref: (ins, a, ctx) => {
    const op = 'SoftmaxCrossEntropyLoss';
    const x = need(ins[0], 0, op);
    const t = need(ins[1], 1, op);
    const w = ins[2] ?? null;
    checkLossTypes(op, x.dtype, t.dtype, w?.dtype);
    if (x.shape.length < 2) throw invalid(`${op}: input must be [N, C, d1..dk], got rank ${x.shape.length}`);
    const [N, C] = [x.shape[0]!, x.shape[1]!];
    const lp = logSoftmaxAxis1(floatData(x), N, C, numel(x.shape.slice(2)));
    const loss = nllLoss(op, lp, x.shape, t, w, a, x.dtype);
    return ctx.node.outputs.length > 1 ? [loss, tensorFromF64(x.dtype, x.shape, lp)] : [loss];
  },
  // log_prob = LogSoftmax(scores) over axis 1 (before opset 13 LogSoftmax flattens the trailing
  // axes, so rank > 2 moves the class axis last and back), then the NLL decomposition
  decompose: (b, a) => {
    const shape = staticDims(b.inputs[0]);
    if (!shape || shape.length < 2 || !staticDims(b.inputs[1])) return null;
    const x = b.ids[0]!;
    let lp: ValueId;
    if (b.opset >= 13 || shape.length === 2) lp = b.op1('LogSoftmax', [x], { axis: 1 });
    else {
      const r = shape.length;
      const toLast = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
      const back = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
      const moved = b.op1('LogSoftmax', [b.op1('Transpose', [x], { perm: toLast })], { axis: r - 1 });
      lp = b.op1('Transpose', [moved], { perm: back });
    }
    return [decomposeNll(b, lp, shape, a, 'SoftmaxCrossEntropyLoss'), lp];
  },
  cost: (ctx) => ({ macs: 0, flops: 4 * numel((ctx.inputs[0]?.shape ?? []).map((d) => (typeof d === 'number' ? d : 1))) }),
});
