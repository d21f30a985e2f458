/**
 * Calibration: runs the float graph on the reference interpreter over calibration samples and
 * collects per-value statistics (min/max, and a histogram of |x| for the percentile, entropy and
 * mse calibrators). `rangeOf` turns statistics into a clipping range [lo, hi].
 */
import { Graph, ValueId } from '../compiler/ir/graph.js';
import { Tensor, numel } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { runGraphEnv } from '../compiler/interp/interp.js';
import { EdgecError, invalid, numeric, usage } from '../compiler/errors.js';

export type Calibrator = 'minmax' | 'percentile' | 'entropy' | 'mse' | 'auto';
export const CALIBRATORS: readonly Calibrator[] = ['minmax', 'percentile', 'entropy', 'mse', 'auto'];

/** Number of histogram bins over [0, max |x|]. */
export const HIST_BINS = 2048;

/** Statistics of one value over the calibration set. */
export interface ValueStats {
  min: number;
  max: number;
  /** Histogram of |x| over [0, absMax] (only for histogram calibrators). */
  hist?: Float64Array;
  absMax: number;
  /** Mean per channel (axis 1, or the last axis for rank 2) when requested (CalibrateOptions.channelMeans). */
  chanMean?: Float64Array;
}

/** Progress callback: `done` of `total` samples processed in `phase`. */
export type ProgressFn = (phase: string, done: number, total: number) => void;

/**
 * A fast float forward engine reporting every value of every sample (the CLI passes the wasm
 * target's observer, targets/wasm/observe.ts; quantize/ itself only knows this interface).
 */
export interface FloatEngine {
  /** Values it reports; calibration falls back to the reference interpreter if one it needs is missing. */
  readonly observed: ReadonlySet<ValueId>;
  /** Runs a batch (samples along the first axis) and reports each value of each sample. */
  run(inputs: readonly Tensor[], sink: (id: ValueId, data: Float32Array | Int8Array | Uint8Array | Int32Array) => void): void;
}

/** Builds an engine for a graph (undefined: it cannot); `integers`: also report int8/uint8/int32 values. */
export type EngineFactory = (g: Graph, opts?: { integers?: boolean }) => FloatEngine | undefined;

export interface CalibrateOptions {
  /** Builds a fast engine for the float graph (undefined or a missing value: the reference interpreter). */
  engine?: EngineFactory;
  calibrator?: Calibrator;
  /** Samples per interpreter run when the model's batch dim is symbolic (default 32). */
  batchSize?: number;
  onProgress?: ProgressFn;
  /** Only collect statistics for these values (default: every float value). */
  values?: ReadonlySet<ValueId>;
  /**
   * Values whose per-channel mean to record (ValueStats.chanMean), with the channel axis: 1 (Conv
   * inputs) or the last (Gemm/MatMul features). Values with symbolic dims past the first are
   * skipped. Bias correction (qdq.ts) uses them.
   */
  channelMeans?: ReadonlyMap<ValueId, 'axis1' | 'last'>;
}

/** [channels, elements per channel per sample] of a value for channel means, or undefined. */
function channelLayout(g: Graph, id: ValueId, axis: 'axis1' | 'last'): [number, number] | undefined {
  const dims = g.typeOf(id).shape.slice(1);
  if (dims.length === 0 || dims.some((d) => typeof d !== 'number')) return undefined;
  const n = dims as number[];
  return axis === 'axis1' ? [n[0]!, n.slice(1).reduce((a, b) => a * b, 1)] : [n[n.length - 1]!, 1];
}

/** One batch of graph inputs and the index of its first sample. */
interface Batch {
  inputs: Tensor[];
  first: number;
  count: number;
}

/**
 * Checks calibration data against the graph inputs and returns the number of samples.
 * Each tensor's first axis is the sample axis; the remaining dims must match the input's
 * per-sample dims. Throws 'numeric' for an empty set or NaN/Inf (naming the sample), 'invalid'
 * for a mis-shaped one.
 * @param g float graph
 * @param calib one tensor per graph input
 */
export function checkCalibration(g: Graph, calib: readonly Tensor[]): number {
  if (calib.length === 0) throw numeric('calibration set is empty', { hint: 'pass calibration samples with --calib FILE' });
  if (calib.length !== g.inputs.length) {
    throw invalid(`calibration data has ${calib.length} tensor(s) but the model has ${g.inputs.length} input(s)`);
  }
  let n = -1;
  calib.forEach((t, k) => {
    const v = g.value(g.inputs[k]!);
    const want = v.type.shape;
    if (!isFloat(t.dtype)) throw invalid(`calibration data for input "${v.name}" must be float, got ${t.dtype}`, { tensor: v.name });
    const shapeMsg = `calibration data for input "${v.name}" has shape [${t.shape.join(',')}], expected [samples,${want.slice(1).join(',')}]`;
    if (t.shape.length !== want.length) throw invalid(shapeMsg, { tensor: v.name });
    for (let i = 1; i < want.length; i++) {
      const d = want[i]!;
      if (typeof d === 'number' && d !== t.shape[i]) throw invalid(shapeMsg, { tensor: v.name });
    }
    const count = t.shape[0] ?? 0;
    if (n >= 0 && count !== n) throw invalid(`calibration tensors disagree on the number of samples (${n} vs ${count})`);
    n = count;
    const per = numel(t.shape.slice(1));
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) {
        throw numeric(`calibration sample ${Math.floor(i / Math.max(1, per))} of input "${v.name}" contains ${Number.isNaN(d[i]!) ? 'NaN' : 'Inf'}`,
          { tensor: v.name });
      }
    }
  });
  if (n <= 0) throw numeric('calibration set is empty (0 samples)', { hint: 'pass calibration samples with --calib FILE' });
  return n;
}

/**
 * Splits calibration samples into batches the model accepts: the model's fixed batch size, or
 * `batchSize` when the batch dim is symbolic. With a fixed batch size, trailing samples that do
 * not fill a whole batch are dropped (unless that would leave no batch at all: then an error).
 */
export function* batches(g: Graph, calib: readonly Tensor[], batchSize = 32): Generator<Batch> {
  const n = calib[0]!.shape[0]!;
  const d0 = g.value(g.inputs[0]!).type.shape[0];
  const fixed = typeof d0 === 'number' ? d0 : undefined;
  const b = fixed ?? Math.max(1, batchSize);
  if (fixed !== undefined && n < fixed) throw invalid(`calibration set has ${n} samples, fewer than the model's batch size ${fixed}`);
  for (let first = 0; first + (fixed ?? 1) <= n; first += b) {
    const count = Math.min(b, n - first);
    yield { inputs: calib.map((t) => sliceSamples(t, first, count)), first, count };
  }
}

/** Samples [first, first+count) of a tensor whose first axis is the sample axis. */
export function sliceSamples(t: Tensor, first: number, count: number): Tensor {
  const per = numel(t.shape.slice(1));
  const data = (t.data as Float32Array).slice(first * per, (first + count) * per);
  return new Tensor(t.dtype, [count, ...t.shape.slice(1)], data);
}

/** Float values whose statistics calibration collects: graph inputs and node outputs. */
function floatValues(g: Graph, only?: ReadonlySet<ValueId>): Set<ValueId> {
  const s = new Set<ValueId>();
  const add = (id: ValueId) => {
    if ((!only || only.has(id)) && isFloat(g.typeOf(id).dtype) && !g.consts.has(id)) s.add(id);
  };
  g.inputs.forEach(add);
  for (const n of g.orderedNodes()) n.outputs.forEach(add);
  return s;
}

/**
 * Runs the float graph over the calibration set (on `opts.engine` when given and able, else the
 * reference interpreter) and returns statistics per value.
 * Two passes when a histogram calibrator is chosen (min/max first, then histograms over the
 * final ranges), so results do not depend on the batch order.
 * @param g float graph (already optimized; shapes inferred)
 * @param calib one tensor per graph input, samples along the first axis
 * @param opts calibrator, batch size, progress callback
 */
export function calibrate(g: Graph, calib: readonly Tensor[], opts: CalibrateOptions = {}): Map<ValueId, ValueStats> {
  const calibrator = opts.calibrator ?? 'minmax';
  if (!CALIBRATORS.includes(calibrator)) throw usage(`unknown calibrator "${calibrator}" (expected ${CALIBRATORS.join(', ')})`);
  const total = checkCalibration(g, calib);
  const want = floatValues(g, opts.values);
  const stats = new Map<ValueId, ValueStats>();
  const visit = (id: ValueId, t: Tensor, f: (id: ValueId, d: ArrayLike<number>) => void) => {
    if (want.has(id) && t && isFloat(t.dtype)) f(id, t.data as Float32Array);
  };
  const fast = opts.engine?.(g);
  const engine = fast && [...want].every((id) => fast.observed.has(id)) ? fast : undefined;
  const run = (phase: string, f: (id: ValueId, d: ArrayLike<number>) => void) => {
    let done = 0;
    for (const b of batches(g, calib, opts.batchSize)) {
      try {
        if (engine) {
          engine.run(b.inputs, (id, d) => {
            if (want.has(id)) f(id, d);
          });
        } else {
          g.inputs.forEach((id, k) => visit(id, b.inputs[k]!, f));
          runGraphEnv(g, b.inputs, {
            onNode: (node, _ins, outs) => node.outputs.forEach((o, k) => visit(o, outs[k]!, f)),
          });
        }
      } catch (e) {
        if (e instanceof EdgecError) e.withContext({ hint: `while running calibration samples ${b.first}..${b.first + b.count - 1}` });
        throw e;
      }
      done += b.count;
      opts.onProgress?.(phase, done, total);
    }
  };
  const sums = new Map<ValueId, { layout: [number, number]; sum: Float64Array; count: number }>();
  for (const [id, axis] of opts.channelMeans ?? []) {
    const layout = channelLayout(g, id, axis);
    if (layout && want.has(id)) sums.set(id, { layout, sum: new Float64Array(layout[0]), count: 0 });
  }
  run('calibrate', (id, d) => {
    let s = stats.get(id);
    if (!s) stats.set(id, (s = { min: Infinity, max: -Infinity, absMax: 0 }));
    const cm = sums.get(id);
    if (cm) {
      // layout [samples, C, inner] (or [rows, C] with C the last axis)
      const [C, inner] = cm.layout;
      for (let i = 0; i < d.length; i++) cm.sum[Math.floor(i / inner) % C]! += d[i]!;
      cm.count += d.length / C; // elements per channel
    }
    let mn = s.min, mx = s.max, nan = false;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      nan ||= v !== v;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    // +-Inf is a legitimate activation value (a -inf attention mask, Clip to +inf): the value's
    // range is then non-finite and insertQdq keeps its readers and producer in float. NaN is not.
    if (nan) throw numeric(`calibration produced NaN in "${g.value(id).name}"`, { tensor: g.value(id).name });
    s.min = mn;
    s.max = mx;
    s.absMax = Math.max(Math.abs(s.min), Math.abs(s.max));
  });
  for (const [id, cm] of sums) {
    const s = stats.get(id);
    if (s && cm.count > 0) s.chanMean = cm.sum.map((v) => v / cm.count);
  }
  if (calibrator !== 'minmax') {
    for (const s of stats.values()) s.hist = new Float64Array(HIST_BINS);
    run('histogram', (id, d) => {
      const s = stats.get(id)!;
      const h = s.hist!;
      const w = s.absMax > 0 ? HIST_BINS / s.absMax : 0;
      // exact zeros (ReLU outputs, padding) are represented exactly by the zero point: leaving them
      // out keeps their spike from dominating the percentile / KL / MSE searches
      if (!Number.isFinite(s.absMax)) return; // stays float (see above): no histogram
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) h[Math.min(HIST_BINS - 1, Math.floor(Math.abs(d[i]!) * w))]! += 1;
    });
  }
  return stats;
}

/**
 * Clipping range of a value for a calibrator. The range always contains 0.
 * - minmax: [min, max]
 * - percentile: |x| clipped at the `percentile` (default 99.99) of the |x| histogram
 * - entropy: TensorRT's KL-divergence threshold search over the |x| histogram (128 levels)
 * - mse: the threshold minimizing the expected squared error (clipping + rounding, 255 steps)
 * - auto: per tensor, whichever of minmax, percentile (99.9, 99.99), entropy and mse gives the
 *   smallest local quantization error of that tensor (localError over its histogram)
 * @param s statistics
 * @param calibrator which calibrator
 * @param percentile for 'percentile'
 */
export function rangeOf(s: ValueStats, calibrator: Calibrator, percentile = 99.99): [number, number] {
  let lo = Math.min(0, s.min);
  let hi = Math.max(0, s.max);
  if (calibrator === 'minmax' || !s.hist || s.absMax === 0) return [lo, hi];
  if (calibrator === 'auto') {
    let best: [number, number] = [lo, hi];
    let bestErr = localError(s, lo, hi);
    for (const c of [['percentile', 99.9], ['percentile', 99.99], ['entropy', 0], ['mse', 0]] as const) {
      const r = rangeOf(s, c[0], c[1] || percentile);
      const e = localError(s, r[0], r[1]);
      if (e < bestErr) {
        bestErr = e;
        best = r;
      }
    }
    return best;
  }
  const t = calibrator === 'percentile' ? percentileThreshold(s.hist, s.absMax, percentile)
    : calibrator === 'entropy' ? entropyThreshold(s.hist, s.absMax, lo < 0 && hi > 0 ? 128 : 256)
      : mseThreshold(s.hist, s.absMax, lo < 0 && hi > 0);
  lo = Math.max(lo, -t);
  hi = Math.min(hi, t);
  return [lo, hi];
}

/**
 * Expected squared quantization error of a value over its |x| histogram for the int8 range
 * [lo, hi] (255 steps): (|x| - t)^2 beyond the clipping threshold t of x's side, step^2 / 12 inside.
 * The |x| histogram does not keep the sign: a two-sided value is clipped at min(-lo, hi).
 * @param s statistics with a histogram @param lo range low end (<= 0) @param hi range high end (>= 0)
 */
export function localError(s: ValueStats, lo: number, hi: number): number {
  const h = s.hist!;
  const bins = h.length;
  const binW = s.absMax / bins;
  const t = s.min < 0 && s.max > 0 ? Math.min(-lo, hi) : s.max > 0 ? hi : -lo;
  const step = (hi - lo) / 255;
  let err = 0;
  for (let k = 0; k < bins; k++) {
    const c = h[k]!;
    if (c === 0) continue;
    const x = (k + 0.5) * binW;
    err += x > t ? c * ((x - t) ** 2 + (step * step) / 12) : c * (step * step) / 12;
  }
  return err;
}

function percentileThreshold(h: Float64Array, absMax: number, pct: number): number {
  let total = 0;
  for (const c of h) total += c;
  const target = (total * pct) / 100;
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    acc += h[i]!;
    if (acc >= target) return ((i + 1) / h.length) * absMax;
  }
  return absMax;
}

/**
 * TensorRT-style entropy calibration: for each candidate threshold bin i (levels..bins), P is the
 * histogram up to i with the outliers added to the last bin, Q is P merged into `levels` levels and
 * expanded back over the non-empty bins; picks the i minimizing KL(P || Q). A one-sided value
 * (ReLU output) spends all 256 int8 levels on [0, T]; a two-sided one 128 per side.
 */
function entropyThreshold(h: Float64Array, absMax: number, levels: number): number {
  const bins = h.length;
  let best = bins;
  let bestKl = Infinity;
  for (let i = levels; i <= bins; i += 16) {
    const p = new Float64Array(i);
    for (let k = 0; k < i; k++) p[k] = h[k]!;
    let outliers = 0;
    for (let k = i; k < bins; k++) outliers += h[k]!;
    p[i - 1]! += outliers;
    const q = new Float64Array(i);
    const per = i / levels;
    for (let j = 0; j < levels; j++) {
      const a = Math.floor(j * per);
      const b = j === levels - 1 ? i : Math.floor((j + 1) * per);
      let sum = 0;
      let nz = 0;
      for (let k = a; k < b; k++) {
        sum += h[k]!;
        if (h[k]! > 0) nz++;
      }
      for (let k = a; k < b; k++) q[k] = h[k]! > 0 ? sum / nz : 0;
    }
    let ps = 0;
    let qs = 0;
    for (let k = 0; k < i; k++) {
      ps += p[k]!;
      qs += q[k]!;
    }
    if (ps === 0 || qs === 0) continue;
    let kl = 0;
    for (let k = 0; k < i; k++) {
      const pk = p[k]! / ps;
      if (pk === 0) continue;
      const qk = q[k]! / qs;
      kl += qk === 0 ? pk * 20 : pk * Math.log(pk / qk); // empty Q bin: large finite penalty
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return ((best + 0.5) / bins) * absMax;
}

/** Threshold minimizing sum_bins count * err^2 (clipping error beyond t, step^2/12 inside). */
function mseThreshold(h: Float64Array, absMax: number, twoSided: boolean): number {
  const bins = h.length;
  const binW = absMax / bins;
  let best = absMax;
  let bestErr = Infinity;
  for (let i = 16; i <= bins; i += 8) {
    const t = i * binW;
    const step = (twoSided ? 2 * t : t) / 255;
    let err = 0;
    for (let k = 0; k < bins; k++) {
      const c = h[k]!;
      if (c === 0) continue;
      const x = (k + 0.5) * binW;
      err += x > t ? c * (x - t) ** 2 : c * (step * step) / 12;
    }
    if (err < bestErr) {
      bestErr = err;
      best = t;
    }
  }
  return best;
}

