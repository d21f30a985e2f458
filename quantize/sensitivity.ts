/**
 * Sensitivity analysis: how much error each quantized layer adds (the --explain table), and the
 * choice of layers to keep in float (keepFloat).
 *
 * - Layer SNR: for every quantized activation, SNR = 10 log10(sum f^2 / sum (f - q)^2) between the
 *   float model's value f and the integer model's dequantized value q, over the calibration
 *   samples (the error accumulated up to that layer). `dropDb` is the SNR lost at that layer
 *   (input SNR - output SNR), which ranks layers by how much error they add themselves.
 * - Output loss: for a classifier output ([N, C] with C > 1) the fraction of samples whose top-1
 *   class changes; otherwise the relative squared error sum (f - q)^2 / sum f^2.
 * - keepFloat 'auto' = { maxLoss: 0.005 }: layers are moved to float in order of decreasing
 *   dropDb until the output loss is at most maxLoss (or nothing is left to move).
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
    if (this.noise === 0) return Infinity;
    if (this.sig === 0) return -Infinity;
    return 10 * Math.log10(this.sig / this.noise);
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

/**
 * Output loss of a quantized graph against the float graph (see the file comment).
 * @param fg float graph @param qg quantized graph @param calib calibration inputs
 */
export function outputLoss(fg: Graph, qg: Graph, calib: readonly Tensor[], floatOut?: readonly Tensor[][], engines?: EngineFactory): number {
  let changed = 0;
  let total = 0;
  const snr = new Snr();
  let classifier = true;
  let k0 = 0;
  const qEngine = engines?.(qg);
  for (const b of batches(fg, limitSamples(calib))) {
    const fo = floatOut?.[k0++] ?? runGraph(fg, b.inputs);
    const qo = outputsOf(qg, b.inputs, b.count, qEngine);
    fo.forEach((f, k) => {
      const q = qo[k]!;
      snr.add(f.data as Float32Array, q.data as Float32Array);
      const C = f.shape[f.shape.length - 1]!;
      if (f.shape.length !== 2 || C < 2) {
        classifier = false;
        return;
      }
      for (let r = 0; r < f.shape[0]!; r++) {
        if (argmax(f, r, C) !== argmax(q, r, C)) changed++;
        total++;
      }
    });
  }
  if (classifier && total > 0) return changed / total;
  return snr.sig === 0 ? 0 : snr.noise / snr.sig;
}

function argmax(t: Tensor, row: number, C: number): number {
  let best = 0;
  for (let j = 1; j < C; j++) if (t.get(row * C + j) > t.get(row * C + best)) best = j;
  return best;
}

/**
 * Chooses the layers to keep in float.
 * @param fg prepared float graph
 * @param calib calibration inputs
 * @param keep names, 'auto' or a loss bound
 * @param build builds the lowered graph for a keep set (returns the QDQ and lowered graphs and layers)
 */
export function selectKeepFloat(fg: Graph, calib: readonly Tensor[], keep: KeepFloat,
  build: (keep: ReadonlySet<string>) => { qdq: Graph; lowered: Graph; layers: LayerInfo[] }, onProgress?: ProgressFn,
  engines?: EngineFactory): Set<string> {
  if (Array.isArray(keep)) return new Set(keep as readonly string[]);
  const maxLoss = keep === 'auto' ? 0.005 : (keep as { maxLoss: number }).maxLoss;
  // the float model's outputs, once (every candidate is compared with them)
  const fEngine = engines?.(fg);
  const floatOut = [...batches(fg, limitSamples(calib))].map((b) => outputsOf(fg, b.inputs, b.count, fEngine));
  const set = new Set<string>();
  let cur = build(set);
  let loss = outputLoss(fg, cur.lowered, calib, floatOut, engines);
  if (loss <= maxLoss) return set;
  const rows = explainLayers(fg, cur.qdq, cur.lowered, calib, cur.layers, engines);
  const weightLayers = new Set(cur.layers.filter((l) => l.mode === 'int8' || l.mode === 'weight-only').map((l) => l.node));
  const order = rows.filter((r) => weightLayers.has(r.node)).sort((a, b) => b.dropDb - a.dropDb).map((r) => r.node);
  let step = 0;
  for (const name of order) {
    set.add(name);
    cur = build(set);
    loss = outputLoss(fg, cur.lowered, calib, floatOut, engines);
    onProgress?.('keep-float', ++step, order.length);
    if (loss <= maxLoss) break;
  }
  return set;
}
