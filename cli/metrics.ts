/**
 * Metrics of `eval` and `report`, checked against what the model outputs and what the labels hold,
 * so a nonsense number is never printed: class ids against an autoencoder's reconstruction,
 * accuracy on regression targets, or one-hot labels silently scored as squared error.
 *
 * Labels are classified first:
 *   ids      one value per sample, every value a non-negative integer (any dtype);
 *   onehot   one row per sample of 0s and exactly one 1;
 *   soft     one row per sample of probabilities (>= 0, summing to 1 within 1e-3);
 *   targets  anything else (regression or reconstruction targets).
 * The default metric is accuracy for ids/onehot/soft and mse for targets. Accuracy takes the argmax
 * of each output row, or for one score per sample (a binary classifier) the score against 0.5 when
 * every score lies in [0, 1] (probabilities), else against 0 (logits).
 */
import { Tensor } from '../compiler/ir/tensor.js';
import { invalid, numeric, usage } from '../compiler/errors.js';
import { shapeToString } from '../compiler/ir/tensor.js';

/** An eval metric. */
export type Metric = 'accuracy' | 'mse';

/** What a labels tensor holds (see the module comment). */
export type LabelsKind = 'ids' | 'onehot' | 'soft' | 'targets';

/** Classifies the labels of `n` samples. */
export function labelsKind(y: Tensor, n: number): LabelsKind {
  const per = y.size / n;
  if (per === 1) {
    for (let i = 0; i < y.size; i++) {
      const v = y.get(i);
      if (!(v >= 0) || !Number.isInteger(v)) return 'targets';
    }
    return 'ids';
  }
  let onehot = true;
  for (let r = 0; r < n; r++) {
    let sum = 0;
    let ones = 0;
    for (let j = 0; j < per; j++) {
      const v = y.get(r * per + j);
      if (!(v >= 0)) return 'targets';
      sum += v;
      if (v === 1) ones++;
      else if (v !== 0) onehot = false;
    }
    if (ones !== 1) onehot = false;
    if (Math.abs(sum - 1) > 1e-3) return 'targets';
  }
  return onehot ? 'onehot' : 'soft';
}

/** The shape facts a metric is checked against (per sample, batch axis removed). */
export interface MetricContext {
  /** Output elements per sample, when known before running (static output shape). */
  outPerSample?: number;
  /** Output and input shapes per sample, when static (an autoencoder's are equal). */
  outShape?: readonly number[];
  inShape?: readonly number[];
}

/**
 * Picks (or checks the given) metric for these labels.
 * @param given --metric, when given
 * @param note receives one-line notes (which metric was picked and why, warnings)
 * @throws EdgecError usage when the metric cannot mean anything for these labels and outputs
 */
export function chooseMetric(y: Tensor, n: number, given: Metric | undefined, ctx: MetricContext, note: (m: string) => void): Metric {
  const kind = labelsKind(y, n);
  const C = ctx.outPerSample;
  const sameAsInput = ctx.outShape !== undefined && ctx.inShape !== undefined && ctx.outShape.length === ctx.inShape.length &&
    ctx.outShape.every((d, i) => d === ctx.inShape![i]) && (C ?? 0) > 1;
  if (given === 'accuracy' && kind === 'targets') {
    throw usage('--metric accuracy needs class labels (class ids, one-hot or probability rows); these labels are not', {
      hint: 'use --metric mse for regression or reconstruction targets',
    });
  }
  if (given === 'mse' && kind === 'ids' && C !== undefined && C > 1) {
    throw usage(`--metric mse needs targets shaped like the output (${C} values per sample); the labels hold one class id per sample`, {
      hint: 'use --metric accuracy for class ids',
    });
  }
  if (kind === 'ids' && C !== undefined) {
    const maxId = Math.max(...Array.from({ length: y.size }, (_, i) => y.get(i)));
    if (C === 1 && maxId > 1 && given !== 'mse') {
      throw usage(`labels hold class ids up to ${maxId} but the model outputs one score per sample`, { hint: 'use --metric mse for regression targets' });
    }
    if (C > 1 && maxId >= C) {
      throw invalid(`label ${maxId} is not a class of the model's output (${C} scores per sample, classes 0..${C - 1})`);
    }
  }
  if (given === undefined && kind === 'ids' && sameAsInput) {
    throw usage(`the labels are class ids but the model's output ${shapeToString(ctx.outShape!)} has its input's shape (an autoencoder?): accuracy would compare argmax positions with class ids`, {
      hint: 'give --metric mse with reconstruction targets, or --metric accuracy if the output really holds class scores',
    });
  }
  if (given === 'accuracy' && kind === 'ids' && sameAsInput) {
    note(`warning: the model's output ${shapeToString(ctx.outShape!)} has its input's shape; accuracy compares the argmax of each output row with the class ids`);
  }
  if (given !== undefined) return given;
  if (kind === 'onehot' || kind === 'soft') {
    note(`labels are ${kind === 'onehot' ? 'one-hot' : 'probability'} rows: metric accuracy against their argmax (--metric mse for squared error)`);
    return 'accuracy';
  }
  return kind === 'ids' ? 'accuracy' : 'mse';
}

/** Class of each output row: argmax, or for one score per sample the score against 0.5 / 0. */
export function predictedClasses(out: Tensor, n: number): number[] {
  const c = out.size / n;
  const pred: number[] = [];
  if (c === 1) {
    let probs = true;
    for (let i = 0; i < n; i++) if (!(out.get(i) >= 0 && out.get(i) <= 1)) probs = false;
    const t = probs ? 0.5 : 0;
    for (let i = 0; i < n; i++) pred.push(out.get(i) > t ? 1 : 0);
    return pred;
  }
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = out.get(r * c + j);
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    pred.push(best);
  }
  return pred;
}

/**
 * The metric's value on the model's outputs.
 * @param labelsFile for error messages
 */
export function score(out: Tensor, y: Tensor, n: number, metric: Metric, labelsFile: string): number {
  if (metric === 'accuracy') {
    if (out.size % n !== 0) throw invalid(`output ${shapeToString(out.shape)} does not split into ${n} samples`);
    const c = out.size / n;
    const pred = predictedClasses(out, n);
    const labels = y.size === n ? y.toNumbers() : predictedClasses(y, n);
    if (y.size !== n && y.size !== out.size) {
      throw invalid(`label rows ${shapeToString(y.shape)} do not match the output ${shapeToString(out.shape)}`, { file: labelsFile });
    }
    let ok = 0;
    for (let i = 0; i < n; i++) {
      if (c > 1 && labels[i]! >= c) throw invalid(`label ${labels[i]} is not a class of the model's output (${c} scores per sample)`, { file: labelsFile });
      if (pred[i] === labels[i]) ok++;
    }
    return ok / n;
  }
  if (out.size !== y.size) {
    throw invalid(`labels ${shapeToString(y.shape)} do not match the output ${shapeToString(out.shape)} for the mse metric`, { file: labelsFile });
  }
  let s = 0;
  for (let i = 0; i < out.size; i++) {
    const e = out.get(i) - y.get(i);
    s += e * e;
  }
  const value = s / out.size;
  if (!Number.isFinite(value)) throw numeric('mse is not finite (NaN or Inf in outputs or labels)', { file: labelsFile });
  return value;
}
