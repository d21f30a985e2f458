/**
 * Sensitivity analysis: how much error each quantized layer adds (the --explain table), and the
 * choice of layers to keep in float (keepFloat).
 *
 * - Layer SNR: for every quantized activation, SNR = 10 log10(sum f^2 / sum (f - q)^2) between the
 *   float model's value f and the integer model's dequantized value q, over the calibration
 *   samples (the error accumulated up to that layer). `dropDb` is the SNR lost at that layer
 *   (input SNR - output SNR), which ranks layers by how much error they add themselves.
 * - Output loss: per graph output, for a classifier output (isClassifierOutput) the fraction of
 *   samples whose top-1 class changes, otherwise the relative squared error sum (f - q)^2 / sum f^2;
 *   the loss of a model is the largest over its outputs.
 * - keepFloat 'auto' = { maxLoss: 0.005 }: greedy by measured output loss. While the loss is above
 *   maxLoss, every candidate weight layer is tried in float on top of the current set, the output
 *   loss re-measured, and the one giving the lowest loss (ties: lowest relative squared error) is
 *   kept; then each kept layer whose removal still meets the bound is dropped again (fewest layers).
 *   When even every candidate in float misses the bound, all candidates are kept (no search).
 *   Candidates: every int8 or weight-only layer, or for models with more than KEEP_FLOAT_CANDIDATES
 *   of them, that many with the largest dropDb plus the layers that read a graph input (whose
 *   quantization error --explain books on the input row).
 */
import { Graph, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { runGraph, runGraphEnv } from '../compiler/interp/interp.js';
import { EngineFactory, FloatEngine, batches } from './calibrate.js';
import type { LayerInfo } from './qdq.js';
import type { ProgressFn } from './calibrate.js';

/** Which layers to keep in float: node names, 'auto', or a bound on the output loss. */
export type KeepFloat = 'auto' | { maxLoss: number } | readonly string[];

export interface ExplainRow {
  node: string;
  op: string;
  /** SNR in dB of this layer's quantized output against float (accumulated error). */
  snrDb: number;
  /** SNR lost at this layer (the SNR of its quantized input minus snrDb). */
  dropDb: number;
}

/** Most calibration samples sensitivity looks at (keeps --explain fast). */
export const SENSITIVITY_SAMPLES = 128;

function limitSamples(calib: readonly Tensor[]): Tensor[] {
  return calib.map((t) => {
    const n = Math.min(t.shape[0]!, SENSITIVITY_SAMPLES);
    const per = t.size / t.shape[0]!;
    return new Tensor(t.dtype, [n, ...t.shape.slice(1)], (t.data as Float32Array).slice(0, n * per));
  });
}

/**
 * Values of a graph for one batch: through `engine` when it reports them all (samples concatenated
 * in order), else the reference interpreter. Returns the data per value id.
 */
function valuesOf(g: Graph, inputs: Tensor[], ids: readonly ValueId[], engine?: FloatEngine): Map<ValueId, ArrayLike<number>> {
  const out = new Map<ValueId, ArrayLike<number>>();
  if (engine && ids.every((id) => engine.observed.has(id))) {
    const want = new Set(ids);
    const parts = new Map<ValueId, ArrayLike<number>[]>();
    engine.run(inputs, (id, d) => {
      if (!want.has(id)) return;
      let l = parts.get(id);
      if (!l) parts.set(id, (l = []));
      l.push(d.slice());
    });
    for (const [id, l] of parts) {
      const all = new Float64Array(l.reduce((n, a) => n + a.length, 0));
      let o = 0;
      for (const a of l) {
        for (let i = 0; i < a.length; i++) all[o + i] = a[i]!;
        o += a.length;
      }
      out.set(id, all);
    }
    return out;
  }
  const env = runGraphEnv(g, inputs, { keep: [...ids] });
  for (const id of ids) {
    const t = env.get(id);
    if (t) out.set(id, t.data as ArrayLike<number>);
  }
  return out;
}

/** Graph outputs of one batch as tensors (engine or reference). */
function outputsOf(g: Graph, inputs: Tensor[], count: number, engine?: FloatEngine): Tensor[] {
  const v = valuesOf(g, inputs, g.outputs, engine);
  if (!g.outputs.every((id) => v.has(id))) return runGraph(g, inputs);
  return g.outputs.map((id) => new Tensor('f32', [count, ...(g.typeOf(id).shape.slice(1) as number[])], Float32Array.from(v.get(id)!)));
}

/** Accumulates signal and noise power. */
class Snr {
  sig = 0;
  noise = 0;
  add(f: ArrayLike<number>, q: ArrayLike<number>): void {
    for (let i = 0; i < f.length; i++) {
      this.sig += f[i]! ** 2;
      this.noise += (f[i]! - q[i]!) ** 2;
    }
  }
  get db(): number {
    return snrDbOf(this.sig, this.noise);
  }
}

/** Dequantized values of integer data. */
function deq(d: ArrayLike<number>, scale: number, zp: number): Float64Array {
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = (d[i]! - zp) * scale;
  return out;
}

/**
 * Per-layer SNR table.
 * @param fg prepared float graph
 * @param qdq QDQ graph built from fg (same value ids for float values)
 * @param lowered lowered integer graph built from qdq
 * @param calib calibration inputs
 * @param layers layer list of the QDQ pass
 */
export function explainLayers(fg: Graph, qdq: Graph, lowered: Graph, calib: readonly Tensor[], layers: LayerInfo[], engines?: EngineFactory): ExplainRow[] {
  // float value -> quantized value id + params, from the Q nodes of the QDQ graph
  const probes: { f: ValueId; q: ValueId; scale: number; zp: number; node: string; op: string }[] = [];
  for (const n of qdq.orderedNodes()) {
    if (n.op !== 'QuantizeLinear') continue;
    const f = n.inputs[0]!;
    const q = n.outputs[0]!;
    if (!fg.values.has(f) || !lowered.values.has(q)) continue;
    const s = qdq.constOf(n.inputs[1])?.get(0);
    const z = qdq.constOf(n.inputs[2])?.get(0) ?? 0;
    if (s === undefined) continue;
    let prod = fg.producerOf(f);
    let op = prod?.op ?? 'input';
    // a fused activation reports the layer it is fused into (Conv+Relu)
    const base = prod && (prod.op === 'Relu' || prod.op === 'Clip') && prod.inputs[0] != null ? fg.producerOf(prod.inputs[0]) : undefined;
    if (prod && base && !probesHas(qdq, prod.inputs[0]!)) {
      op = `${base.op}+${prod.op}`;
      prod = base;
    }
    probes.push({ f, q, scale: s, zp: z, node: prod?.name ?? fg.value(f).name, op });
  }
  // weight-only layers (int8 weights, float compute: LSTM/GRU/RNN) whose output is not quantized:
  // probe their first used float output directly (scale 1, zero point 0)
  for (const l of layers) {
    if (l.mode !== 'weight-only' || probes.some((p) => p.node === l.node)) continue;
    const n = [...fg.nodes.values()].find((m) => m.name === l.node && m.op === l.op);
    const o = n?.outputs.find((v) => fg.useCount(v) > 0 || fg.outputs.includes(v));
    if (o === undefined || !lowered.values.has(o) || !isFloat(lowered.typeOf(o).dtype)) continue;
    probes.push({ f: o, q: o, scale: 1, zp: 0, node: l.node, op: l.op });
  }
  const acc = probes.map(() => new Snr());
  const samples = limitSamples(calib);
  const fEngine = engines?.(fg);
  const qEngine = engines?.(lowered, { integers: true });
  for (const b of batches(fg, samples)) {
    const fe = valuesOf(fg, b.inputs, probes.map((p) => p.f), fEngine);
    const qe = valuesOf(lowered, b.inputs, probes.map((p) => p.q), qEngine);
    probes.forEach((p, i) => {
      const ft = fe.get(p.f);
      const qt = qe.get(p.q);
      if (ft && qt && ft.length === qt.length) acc[i]!.add(ft, deq(qt, p.scale, p.zp));
    });
  }
  const snrOf = new Map<ValueId, number>();
  probes.forEach((p, i) => snrOf.set(p.f, acc[i]!.db));
  // SNR of the quantized values a value is computed from (walking through unprobed values)
  const inputSnr = (v: ValueId, depth: number): number => {
    const n = fg.producerOf(v);
    if (!n || depth > 8) return Infinity;
    let m = Infinity;
    for (const x of n.inputs) {
      if (x === null || fg.consts.has(x)) continue;
      m = Math.min(m, snrOf.get(x) ?? inputSnr(x, depth + 1));
    }
    return m;
  };
  return probes.map((p, i) => {
    const inSnr = inputSnr(p.f, 0);
    const snrDb = acc[i]!.db;
    return { node: p.node, op: p.op, snrDb, dropDb: Number.isFinite(inSnr) && Number.isFinite(snrDb) ? inSnr - snrDb : 0 };
  });
}

/** True when the QDQ graph quantizes float value `v` (a QuantizeLinear reads it). */
function probesHas(qdq: Graph, v: ValueId): boolean {
  for (const n of qdq.nodes.values()) if (n.op === 'QuantizeLinear' && n.inputs[0] === v) return true;
  return false;
}

/** Most candidate layers --keep-float auto tries per step (beyond that: the largest SNR drops). */
export const KEEP_FLOAT_CANDIDATES = 24;

/**
 * True when graph output `id` is a classifier's class scores, compared by top-1 agreement: it comes
 * from Softmax/LogSoftmax, or it has exactly one non-batch dim above 1, of size C with 2 <= C <= 1000,
 * and C is not the per-sample size of a graph input (an output as large as an input is taken as a
 * reconstruction, compared by SNR).
 * @param g float graph @param id graph output
 */
export function isClassifierOutput(g: Graph, id: ValueId): boolean {
  const dims = g.typeOf(id).shape.slice(1).filter((d) => d !== 1);
  if (dims.length !== 1 || typeof dims[0] !== 'number' || dims[0] < 2) return false;
  const C = dims[0];
  const prod = g.producerOf(id);
  if (prod && (prod.op === 'Softmax' || prod.op === 'LogSoftmax')) return true;
  if (C > 1000) return false;
  return !g.inputs.some((x) => {
    const s = g.typeOf(x).shape.slice(1);
    return s.every((d) => typeof d === 'number') && (s as number[]).reduce((a, b) => a * b, 1) === C;
  });
}

/** Float against quantized outputs for one graph output. */
export interface OutputStat {
  name: string;
  classifier: boolean;
  /** Samples whose top-1 class is unchanged (classifiers) and samples compared. */
  agree: number;
  samples: number;
  /** Signal power sum f^2 and noise power sum (f - q)^2. */
  sig: number;
  noise: number;
}

/** Output loss of one output (see the file comment). */
function statLoss(s: OutputStat): number {
  if (s.classifier) return s.samples > 0 ? 1 - s.agree / s.samples : 0;
  return s.sig === 0 ? (s.noise === 0 ? 0 : Infinity) : s.noise / s.sig;
}

/** Output loss of a model: the largest over its outputs. */
export function lossOf(stats: readonly OutputStat[]): number {
  return stats.reduce((m, s) => Math.max(m, statLoss(s)), 0);
}

/** Relative squared error over every output (the tie-break between equal classifier losses). */
export function relErrOf(stats: readonly OutputStat[]): number {
  const sig = stats.reduce((a, s) => a + s.sig, 0);
  const noise = stats.reduce((a, s) => a + s.noise, 0);
  return sig === 0 ? (noise === 0 ? 0 : Infinity) : noise / sig;
}

/** SNR in dB of signal and noise powers. */
export function snrDbOf(sig: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (sig === 0) return -Infinity;
  return 10 * Math.log10(sig / noise);
}

/**
 * Compares a quantized graph's outputs with the float graph's, output by output.
 * @param fg float graph @param qg quantized graph (same inputs and outputs)
 * @param samples inputs, samples along the first axis (all of them are used)
 * @param floatOut the float outputs per batch of `samples`, when already computed
 * @param engines fast engines (default: the reference interpreter)
 */
export function compareOutputs(fg: Graph, qg: Graph, samples: readonly Tensor[], floatOut?: readonly Tensor[][], engines?: EngineFactory): OutputStat[] {
  const stats: OutputStat[] = fg.outputs.map((id) => ({ name: fg.value(id).name, classifier: isClassifierOutput(fg, id), agree: 0, samples: 0, sig: 0, noise: 0 }));
  const fEngine = floatOut ? undefined : engines?.(fg);
  const qEngine = engines?.(qg);
  let k0 = 0;
  for (const b of batches(fg, samples)) {
    const fo = floatOut?.[k0++] ?? outputsOf(fg, b.inputs, b.count, fEngine);
    const qo = outputsOf(qg, b.inputs, b.count, qEngine);
    fo.forEach((f, k) => {
      const q = qo[k]!;
      const st = stats[k]!;
      const snr = new Snr();
      snr.add(f.data as Float32Array, q.data as Float32Array);
      st.sig += snr.sig;
      st.noise += snr.noise;
      if (!st.classifier) return;
      const C = f.size / b.count;
      for (let r = 0; r < b.count; r++) {
        if (argmax(f, r, C) === argmax(q, r, C)) st.agree++;
        st.samples++;
      }
    });
  }
  return stats;
}

/**
 * Output loss of a quantized graph against the float graph over up to SENSITIVITY_SAMPLES samples
 * (see the file comment).
 * @param fg float graph @param qg quantized graph @param calib calibration inputs
 */
export function outputLoss(fg: Graph, qg: Graph, calib: readonly Tensor[], floatOut?: readonly Tensor[][], engines?: EngineFactory): number {
  return lossOf(compareOutputs(fg, qg, limitSamples(calib), floatOut, engines));
}

function argmax(t: Tensor, row: number, C: number): number {
  let best = 0;
  for (let j = 1; j < C; j++) if (t.get(row * C + j) > t.get(row * C + best)) best = j;
  return best;
}

/** Candidate layers of --keep-float auto (see the file comment). */
function keepFloatCandidates(fg: Graph, rows: readonly ExplainRow[], layers: readonly LayerInfo[]): string[] {
  const weightLayers = layers.filter((l) => l.mode === 'int8' || l.mode === 'weight-only').map((l) => l.node);
  if (weightLayers.length <= KEEP_FLOAT_CANDIDATES) return weightLayers;
  const drop = new Map<string, number>();
  for (const r of rows) drop.set(r.node, Math.max(drop.get(r.node) ?? -Infinity, r.dropDb));
  const readsInput = new Set<string>();
  for (const n of fg.nodes.values()) if (n.inputs.some((x) => x !== null && fg.inputs.includes(x))) readsInput.add(n.name);
  const ranked = [...weightLayers].sort((a, b) => (drop.get(b) ?? -Infinity) - (drop.get(a) ?? -Infinity));
  return [...new Set([...ranked.slice(0, KEEP_FLOAT_CANDIDATES), ...weightLayers.filter((l) => readsInput.has(l))])];
}

/** What --keep-float auto measured (for the int8 guard's report). */
export interface KeepFloatTrace {
  /** Output loss (and relative squared error) with only that candidate kept float; empty when nothing was needed. */
  alone: { node: string; loss: number; rel: number }[];
  /** Output loss with no layer kept float, and with the chosen set. */
  lossBefore: number;
  lossAfter: number;
}

/**
 * Chooses the layers to keep in float (see the file comment).
 * @param fg prepared float graph
 * @param calib calibration inputs
 * @param keep names, 'auto' or a loss bound
 * @param build builds the lowered graph for a keep set (returns the QDQ and lowered graphs and layers)
 * @param onProgress progress per measured candidate
 * @param engines fast engines (default: the reference interpreter)
 * @param trace filled with the measurements ('auto' and { maxLoss } only)
 */
export function selectKeepFloat(fg: Graph, calib: readonly Tensor[], keep: KeepFloat,
  build: (keep: ReadonlySet<string>) => { qdq: Graph; lowered: Graph; layers: LayerInfo[] }, onProgress?: ProgressFn,
  engines?: EngineFactory, trace?: KeepFloatTrace): Set<string> {
  if (Array.isArray(keep)) return new Set(keep as readonly string[]);
  const maxLoss = keep === 'auto' ? 0.005 : (keep as { maxLoss: number }).maxLoss;
  const samples = limitSamples(calib);
  // the float model's outputs, once (every candidate is compared with them)
  const fEngine = engines?.(fg);
  const floatOut = [...batches(fg, samples)].map((b) => outputsOf(fg, b.inputs, b.count, fEngine));
  const measure = (set: ReadonlySet<string>) => {
    const s = compareOutputs(fg, build(set).lowered, samples, floatOut, engines);
    return { loss: lossOf(s), rel: relErrOf(s) };
  };
  const set = new Set<string>();
  const first = build(set);
  let cur = measure(set);
  if (trace) trace.lossBefore = trace.lossAfter = cur.loss;
  if (cur.loss <= maxLoss) return set;
  const rows = explainLayers(fg, first.qdq, first.lowered, calib, first.layers, engines);
  const candidates = keepFloatCandidates(fg, rows, first.layers);
  // a bound that even every candidate in float cannot meet: keep them all (no search)
  const all = measure(new Set(candidates));
  if (all.loss > maxLoss) {
    if (trace) trace.lossAfter = all.loss;
    return new Set(candidates);
  }
  // greedy: add the candidate that lowers the measured loss most, re-measuring after each pick
  while (cur.loss > maxLoss && set.size < candidates.length) {
    let best: { name: string; loss: number; rel: number } | undefined;
    for (const name of candidates) {
      if (set.has(name)) continue;
      const m = measure(new Set([...set, name]));
      if (trace && set.size === 0) trace.alone.push({ node: name, ...m });
      if (!best || m.loss < best.loss || (m.loss === best.loss && m.rel < best.rel)) best = { name, ...m };
    }
    if (!best) break;
    set.add(best.name);
    cur = best;
    onProgress?.('keep-float', set.size, candidates.length);
  }
  if (trace) trace.lossAfter = cur.loss;
  if (cur.loss > maxLoss) return set;
  // fewest: drop each kept layer (earliest pick first) whose removal still meets the bound
  for (const name of [...set]) {
    const without = new Set([...set].filter((n) => n !== name));
    if (measure(without).loss <= maxLoss) set.delete(name);
  }
  return set;
}
