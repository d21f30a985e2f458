/**
 * QDQ insertion: turns a float graph into a standard ONNX QDQ graph.
 *
 * - Weights of Conv (axis 0, also grouped/depthwise), ConvTranspose (axis 1), Gemm (axis 0 with
 *   transB=1, else 1) and MatMul (last axis) become int8 constants behind a per-axis
 *   DequantizeLinear; biases become int32 with scale x_scale * w_scale.
 * - Every activation a quantized op reads or writes gets QuantizeLinear -> DequantizeLinear with
 *   per-tensor asymmetric int8 parameters from calibration. A Relu/Clip that is the only user of
 *   a Conv/Gemm/MatMul/Add output is fused: only its output is quantized.
 * - Scale-preserving ops (Reshape, Flatten, Transpose, Squeeze, Unsqueeze, MaxPool) reuse their
 *   input's parameters for their output, so they run on int8 data unchanged.
 * - LSTM/GRU/RNN: W and R become int8 per gate row behind DequantizeLinear (weight-only: the
 *   recurrence stays float; recurrentWeight).
 * - Every other op is a float island: it reads dequantized values, and its output is quantized
 *   only when a quantized op reads it.
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { opsetOf } from '../compiler/ops/registry.js';
import { upgradeOpset } from '../compiler/passes/upgrade-opset.js';
import { internal } from '../compiler/errors.js';
import { Calibrator, ValueStats, rangeOf } from './calibrate.js';
import { QParams, activationParams, quantizeBias, quantizeValue, quantizeWeight } from './params.js';

/** Ops whose output keeps the input's quantization parameters. */
export const SCALE_PRESERVING = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'MaxPool', 'Identity', 'Slice']);
/** Ops with a weight input that get per-channel int8 weights. */
export const WEIGHT_OPS = new Set(['Conv', 'Gemm', 'MatMul', 'ConvTranspose']);
/** Recurrent ops whose gate matrices W (input 1) and R (input 2) get int8 weights (weight-only). */
export const RECURRENT_OPS = new Set(['LSTM', 'GRU', 'RNN']);
/** Activations fused into the producing op's output clamp. */
export const FUSABLE_ACTS = new Set(['Relu', 'Clip']);
const FUSE_INTO = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Sub']);
/** Ops whose every float activation input is quantized (not just input 0). */
const MULTI_INPUT = new Set(['Add', 'Sub', 'Mul', 'Concat', 'Max', 'Min']);

export interface QdqOptions {
  calibrator?: Calibrator;
  /** Per-tensor weights instead of per-channel. */
  perTensor?: boolean;
  /** Node names to keep in float. */
  keepFloat?: ReadonlySet<string>;
  /**
   * Empirical bias correction (Nagel et al. 2019, section 4.2): the expected output error of the
   * int8 weights, (W - DQ(Q(W))) E[x] per output channel, is added to the bias of each quantized
   * Conv / Gemm. Needs ValueStats.chanMean of the layer inputs (calibrate's channelMeans).
   */
  biasCorrection?: boolean;
  /**
   * Activation bits (default 8). 7: each calibrated activation range maps onto 128 levels, i8
   * [-64, 63] (the tensors stay int8; a value beyond the calibrated range still saturates at
   * [-128, 127]), so the wasm relaxed-SIMD kernel can take the activation as its 7-bit operand
   * (runtime-wasm/README.md); the graph gets meta `edgec.act_bits` = "7".
   */
  actBits?: 7 | 8;
}

/** One layer in the summary. */
export interface LayerInfo {
  node: string;
  op: string;
  /** 'int8' for quantized compute, 'float' for a float island, 'weight-only' (int8 weights, float compute). */
  mode: 'int8' | 'float' | 'weight-only';
  weightAxis?: number | undefined;
}

export interface QdqResult {
  graph: Graph;
  layers: LayerInfo[];
  /** Activation parameters chosen per (float-graph) value id. */
  params: Map<ValueId, QParams>;
}

/** Weight channel axis for a weight op, or undefined when the weight can't be quantized. */
export function weightAxis(g: Graph, n: Node): number | undefined {
  const w = g.constOf(n.inputs[1]);
  if (!w || !isFloat(w.dtype)) return undefined;
  switch (n.op) {
    case 'Conv': return w.shape.length >= 3 ? 0 : undefined;
    case 'ConvTranspose': return w.shape.length >= 3 ? 1 : undefined;
    case 'Gemm': return w.shape.length === 2 ? (n.attrs['transB'] === 1 ? 0 : 1) : undefined;
    case 'MatMul': return w.shape.length === 2 ? 1 : undefined;
    default: return undefined;
  }
}

/** Const-ness helpers. */
function isConstScalar(g: Graph, id: ValueId | null | undefined): boolean {
  return id === null || id === undefined || (g.consts.has(id) && g.constOf(id)!.size === 1);
}

/** Float activation inputs of a node (non-constant, float). */
function actInputs(g: Graph, n: Node): ValueId[] {
  return n.inputs.filter((x): x is ValueId => x !== null && !g.consts.has(x) && isFloat(g.typeOf(x).dtype));
}

/**
 * Whether a node gets quantized compute (its float inputs and output become int8).
 * @param g float graph
 * @param n node
 */
export function isQuantizable(g: Graph, n: Node): boolean {
  if (n.domain !== '' || n.outputs.length !== 1) return false;
  const out = g.typeOf(n.outputs[0]!);
  if (!isFloat(out.dtype)) return false;
  const data = n.inputs[0];
  if (data === null || data === undefined || !isFloat(g.typeOf(data).dtype)) return false;
  switch (n.op) {
    case 'Conv': {
      if (weightAxis(g, n) === undefined || g.consts.has(data)) return false;
      return n.inputs[2] == null || g.consts.has(n.inputs[2]);
    }
    case 'Gemm': {
      if (weightAxis(g, n) === undefined || g.consts.has(data) || (n.attrs['transA'] ?? 0) !== 0) return false;
      if ((n.attrs['alpha'] ?? 1) !== 1 || (n.attrs['beta'] ?? 1) !== 1) return false;
      const c = g.constOf(n.inputs[2]);
      return n.inputs[2] == null || (c !== undefined && c.size === g.constOf(n.inputs[1])!.shape[n.attrs['transB'] === 1 ? 0 : 1]);
    }
    case 'MatMul': return weightAxis(g, n) !== undefined && !g.consts.has(data) && g.typeOf(data).shape.length >= 2;
    case 'Add': case 'Sub': case 'Mul': {
      const [a, b] = [n.inputs[0], n.inputs[1]];
      if (a == null || b == null || !isFloat(g.typeOf(b).dtype)) return false;
      return !(g.consts.has(a) && g.consts.has(b));
    }
    case 'Concat': case 'Max': case 'Min': return n.inputs.every((x) => x !== null && isFloat(g.typeOf(x).dtype) && !g.consts.has(x));
    case 'Slice': return n.inputs.slice(1).every((x) => x === null || g.consts.has(x));
    case 'MaxPool': return !g.consts.has(data);
    case 'AveragePool': {
      const d = n.attrs['dilations'];
      return !g.consts.has(data) && (!Array.isArray(d) || (d as number[]).every((v) => v === 1));
    }
    case 'GlobalAveragePool': return !g.consts.has(data) && g.typeOf(data).shape.slice(2).every((d) => typeof d === 'number');
    case 'ReduceMean': return !g.consts.has(data) && reduceMeanAxes(g, n) !== undefined;
    case 'Relu': return !g.consts.has(data);
    case 'Clip': return !g.consts.has(data) && isConstScalar(g, n.inputs[1]) && isConstScalar(g, n.inputs[2]);
    case 'Reshape': return !g.consts.has(data) && (n.inputs[1] == null || g.consts.has(n.inputs[1]));
    case 'Flatten': case 'Transpose': case 'Identity': return !g.consts.has(data);
    case 'Squeeze': case 'Unsqueeze': return !g.consts.has(data) && (n.inputs[1] == null || g.consts.has(n.inputs[1]));
    default: return false;
  }
}

/**
 * ReduceMean axes (normalized) when they are known and the reduced dims concrete.
 * @param g graph @param n a ReduceMean node
 */
export function reduceMeanAxes(g: Graph, n: Node): number[] | undefined {
  const x = n.inputs[0];
  if (x == null) return undefined;
  const shape = g.typeOf(x).shape;
  let axes: number[] | undefined;
  if (opsetOf(n, g) >= 18) {
    const t = g.constOf(n.inputs[1]);
    if (n.inputs[1] != null && !t) return undefined;
    axes = t ? t.toNumbers() : undefined;
  } else {
    const a = n.attrs['axes'];
    axes = Array.isArray(a) ? (a as number[]) : undefined;
  }
  if (!axes || axes.length === 0) axes = shape.map((_, i) => i);
  const norm = axes.map((a) => (a < 0 ? a + shape.length : a));
  if (norm.some((a) => a < 0 || a >= shape.length || typeof shape[a] !== 'number')) return undefined;
  return [...new Set(norm)].sort((p, q) => p - q);
}

/** The one node reading `v`, if exactly one node (and no graph output) reads it. */
export function soleUser(g: Graph, v: ValueId, uses: Map<ValueId, Node[]>): Node | undefined {
  const u = uses.get(v) ?? [];
  if (u.length !== 1 || g.outputs.includes(v)) return undefined;
  const n = u[0]!;
  return n.inputs.filter((x) => x === v).length === 1 ? n : undefined;
}

/**
 * Inserts Q/DQ pairs and quantized weights (see the file comment). The graph must have its
 * float activation statistics in `stats` (keyed by value id of this same graph).
 * @param src float graph (not modified)
 * @param stats calibration statistics
 * @param opts calibrator, per-tensor, keep-float nodes
 */
export function insertQdq(src: Graph, stats: Map<ValueId, ValueStats>, opts: QdqOptions = {}): QdqResult {
  const g = src.clone();
  g.toposort();
  inferShapes(g);
  // Per-axis QuantizeLinear/DequantizeLinear need opset 13: older graphs are converted first.
  // Values the conversion creates have no calibration statistics, so nodes touching them stay float.
  const keep = new Set<string>(opts.keepFloat ?? []);
  if (g.opset < 13) {
    const before = new Set(g.values.keys());
    upgradeOpset(g, 13);
    const fresh = (x: ValueId | null) => x !== null && !before.has(x) && !g.consts.has(x);
    for (const n of g.nodes.values()) if (n.inputs.some(fresh) || n.outputs.some(fresh)) keep.add(n.name);
  }
  for (const n of g.nodes.values()) if (touchesInfinity(g, n, stats)) keep.add(n.name);
  const perChannelOk = g.opset >= 13;
  const uses = g.uses();
  const quantNodes = new Set<Node>();
  for (const n of g.orderedNodes()) if (!keep.has(n.name) && isQuantizable(g, n)) quantNodes.add(n);
  // Fused activations: Relu/Clip that is the only user of a quantized Conv/Gemm/MatMul/Add output.
  const fusedOut = new Set<ValueId>();
  for (const n of quantNodes) {
    if (!FUSE_INTO.has(n.op)) continue;
    const u = soleUser(g, n.outputs[0]!, uses);
    if (u && FUSABLE_ACTS.has(u.op) && quantNodes.has(u)) fusedOut.add(n.outputs[0]!);
  }
  // Values to quantize: inputs/outputs of quantized nodes (not fused intermediates).
  const qvals = new Set<ValueId>();
  for (const n of quantNodes) {
    const ins = MULTI_INPUT.has(n.op) ? actInputs(g, n) : [n.inputs[0]!];
    for (const x of ins) qvals.add(x);
    if (!fusedOut.has(n.outputs[0]!)) qvals.add(n.outputs[0]!);
  }
  for (const v of fusedOut) qvals.delete(v);
  // Parameters in topological order: scale-preserving outputs inherit their input's params.
  const params = new Map<ValueId, QParams>();
  const calib = opts.calibrator ?? 'minmax';
  const fromStats = (v: ValueId): QParams => {
    const s = stats.get(v);
    if (!s) throw internal(`no calibration statistics for value "${g.value(v).name}"`, { tensor: g.value(v).name });
    const [lo, hi] = rangeOf(s, calib);
    return activationParams(lo, hi, 'i8', opts.actBits ?? 8);
  };
  for (const v of g.inputs) if (qvals.has(v)) params.set(v, fromStats(v));
  for (const n of g.orderedNodes()) {
    for (const x of n.inputs) if (x !== null && qvals.has(x) && !params.has(x) && !g.consts.has(x)) params.set(x, fromStats(x));
    const o = n.outputs[0];
    if (o === undefined || !qvals.has(o) || params.has(o)) continue;
    const inP = n.inputs[0] != null ? params.get(n.inputs[0]) : undefined;
    params.set(o, quantNodes.has(n) && SCALE_PRESERVING.has(n.op) && inP ? inP : fromStats(o));
  }
  // Constant activation inputs of Add/Mul: their own per-tensor params from their values.
  for (const n of quantNodes) {
    if (n.op !== 'Add' && n.op !== 'Sub' && n.op !== 'Mul') continue;
    for (const x of n.inputs) {
      const t = g.constOf(x);
      if (!t || x === null) continue;
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < t.size; i++) {
        lo = Math.min(lo, t.get(i));
        hi = Math.max(hi, t.get(i));
      }
      params.set(x, activationParams(lo, hi));
    }
  }
  const layers: LayerInfo[] = [];
  // Weights and biases.
  for (const n of g.orderedNodes()) {
    if (!WEIGHT_OPS.has(n.op) || keep.has(n.name)) continue;
    const axis0 = weightAxis(g, n);
    const wId = n.inputs[1];
    const w = g.constOf(wId);
    if (axis0 === undefined || !w || wId == null) continue;
    const axis = opts.perTensor || !perChannelOk ? undefined : axis0;
    const qw = quantizeWeight(w, axis);
    const wDq = dequant(g, n, `${n.name}.w`, g.addConst(`${g.value(wId).name}_quantized`, qw.q).id, qw.scales, 'i8', axis, n.id);
    replaceInput(n, 1, wDq);
    const xP = n.inputs[0] != null ? params.get(n.inputs[0]) : undefined;
    if (opts.biasCorrection && quantNodes.has(n) && xP) {
      const mean = stats.get(n.inputs[0]!)?.chanMean;
      const corr = mean ? weightErrorBias(g, n, w, qw, mean) : undefined;
      if (corr) {
        const old = g.constOf(n.inputs[2]);
        const nb = Tensor.from('f32', [corr.length], Array.from(corr, (c, j) => (old ? old.get(j) : 0) + c));
        n.inputs[2] = g.addConst(`${n.name}.bias_corrected`, nb).id;
      }
    }
    const bId = n.inputs[2];
    const b = g.constOf(bId);
    if (quantNodes.has(n) && xP && b && bId != null) {
      const qb = quantizeBias(b.reshape([b.size]), xP.scale, qw.scales);
      const bq = g.addConst(`${g.value(bId).name}_quantized`, b.shape.length === 1 ? qb.q : qb.q.reshape(b.shape));
      const bDq = dequant(g, n, `${n.name}.b`, bq.id, qb.scales, 'i32', qb.scales.length > 1 ? b.shape.length - 1 : undefined, n.id);
      replaceInput(n, 2, bDq);
    }
    layers.push({ node: n.name, op: n.op, mode: quantNodes.has(n) ? 'int8' : 'weight-only', weightAxis: axis });
  }
  // Recurrent layers: int8 W and R, per gate row, computed in float (weight-only).
  for (const n of g.orderedNodes()) {
    if (n.domain !== '' || !RECURRENT_OPS.has(n.op) || keep.has(n.name)) continue;
    let done = false;
    for (const k of [1, 2]) {
      const id = n.inputs[k];
      const t = g.constOf(id);
      if (id == null || !t || t.dtype !== 'f32' || t.shape.length !== 3) continue;
      replaceInput(n, k, recurrentWeight(g, n, id, t, opts.perTensor || !perChannelOk));
      done = true;
    }
    if (done) layers.push({ node: n.name, op: n.op, mode: 'weight-only', weightAxis: opts.perTensor || !perChannelOk ? undefined : 1 });
  }
  for (const n of g.orderedNodes()) {
    if ((WEIGHT_OPS.has(n.op) || RECURRENT_OPS.has(n.op)) && layers.some((l) => l.node === n.name && l.op === n.op)) continue;
    if (n.op === 'QuantizeLinear' || n.op === 'DequantizeLinear') continue;
    const fused = FUSABLE_ACTS.has(n.op) && n.inputs[0] != null && fusedOut.has(n.inputs[0]);
    layers.push({ node: n.name, op: n.op, mode: quantNodes.has(n) || fused ? 'int8' : 'float' });
  }
  // Q -> DQ after every quantized value; all readers (and graph outputs) read the DQ output.
  for (const v of [...qvals, ...[...params.keys()].filter((k) => g.consts.has(k))]) {
    const p = params.get(v);
    if (!p) continue;
    const readers = g.orderedNodes().filter((n) => n.inputs.includes(v));
    const name = g.value(v).name;
    const qIn = v;
    if (g.consts.has(v)) {
      // constant Add/Mul operand: store it quantized
      const t = g.constOf(v)!;
      const qt = Tensor.zeros(p.dtype, t.shape);
      const vq = g.addConst(`${name}_quantized`, qt);
      for (let i = 0; i < t.size; i++) qt.set(i, quantizeValue(t.get(i), p));
      const dq = dequant(g, readers[0]!, name, vq.id, [p.scale], p.dtype, undefined, readers[0]!.id, [p.zeroPoint]);
      for (const r of readers) r.inputs = r.inputs.map((x) => (x === v ? dq : x));
      continue;
    }
    const before = readers[0]?.id;
    const sc = g.addConst(`${name}_scale`, Tensor.from('f32', [], [p.scale])).id;
    const zp = g.addConst(`${name}_zero_point`, Tensor.from(p.dtype, [], [p.zeroPoint])).id;
    const qv = g.addValue(`${name}_quantized`, { dtype: p.dtype, shape: g.typeOf(v).shape }).id;
    const dqv = g.addValue(`${name}_dequantized`, { dtype: 'f32', shape: g.typeOf(v).shape }).id;
    const insertAt = before ?? undefined;
    g.addNode({ op: 'QuantizeLinear', inputs: [qIn, sc, zp], outputs: [qv], name: `${name}_QuantizeLinear` }, insertAt);
    g.addNode({ op: 'DequantizeLinear', inputs: [qv, sc, zp], outputs: [dqv], name: `${name}_DequantizeLinear` }, insertAt);
    for (const r of readers) r.inputs = r.inputs.map((x) => (x === v ? dqv : x));
    if (g.outputs.includes(v)) {
      // the graph output keeps its public name, now on the dequantized value
      g.outputs = g.outputs.map((o) => (o === v ? dqv : o));
      g.value(dqv).name = name;
      g.value(v).name = `${name}_float`;
    }
  }
  g.toposort();
  g.removeUnusedValues();
  inferShapes(g);
  if (opts.actBits === 7) g.meta['edgec.act_bits'] = '7';
  return { graph: g, layers, params };
}

/**
 * Expected output error per output channel of a Conv / Gemm from its int8 weights,
 * (W - DQ(Q(W))) E[x] (the E[x] of input channel c, or of input feature k for Gemm), or undefined
 * when the layout does not match (then no correction). For Conv, E[x] per channel meets the zero
 * padding: tap j of the kernel is weighted by the fraction of output positions at which it reads
 * the input rather than the zero padding (tapInside).
 * @param g graph @param n Conv or Gemm @param w float weight @param qw its quantization
 * @param mean per-channel mean of the input (Conv: axis 1, Gemm: last axis)
 */
function weightErrorBias(g: Graph, n: Node, w: Tensor, qw: { q: Tensor; scales: number[]; axis: number | undefined }, mean: Float64Array): Float64Array | undefined {
  const err = (i: number, ch: number) => w.get(i) - qw.q.get(i) * qw.scales[qw.scales.length === 1 ? 0 : ch]!;
  const b = g.constOf(n.inputs[2]);
  if (n.op === 'Conv') {
    const group = typeof n.attrs['group'] === 'number' ? (n.attrs['group'] as number) : 1;
    const [M, Cg] = [w.shape[0]!, w.shape[1]!];
    const k = w.size / (M * Cg);
    if (mean.length !== Cg * group || (b && b.size !== M)) return undefined;
    const out = new Float64Array(M);
    const Mg = M / group;
    const inside = tapInside(g, n, w.shape.slice(2));
    for (let o = 0; o < M; o++) {
      const base = Math.floor(o / Mg) * Cg;
      let acc = 0;
      for (let c = 0; c < Cg; c++) for (let j = 0; j < k; j++) acc += err((o * Cg + c) * k + j, o) * mean[base + c]! * inside[j]!;
      out[o] = acc;
    }
    return out;
  }
  if (n.op !== 'Gemm' || w.shape.length !== 2) return undefined;
  const trans = n.attrs['transB'] === 1;
  const [K, N] = trans ? [w.shape[1]!, w.shape[0]!] : [w.shape[0]!, w.shape[1]!];
  if (mean.length !== K || (b && b.size !== N)) return undefined;
  const out = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    let acc = 0;
    for (let kk = 0; kk < K; kk++) acc += err(trans ? j * K + kk : kk * N + j, j) * mean[kk]!;
    out[j] = acc;
  }
  return out;
}

/**
 * For each kernel tap of a Conv (flattened like the weight's spatial dims), the fraction of output
 * positions at which it reads the input instead of padding (all 1 when the geometry is not static
 * or auto_pad is set).
 * @param g graph @param n Conv @param kernel kernel spatial dims
 */
function tapInside(g: Graph, n: Node, kernel: number[]): Float64Array {
  const taps = kernel.reduce((a, b) => a * b, 1);
  const ones = new Float64Array(taps).fill(1);
  const xs = g.typeOf(n.inputs[0]!).shape.slice(2);
  const ys = g.typeOf(n.outputs[0]!).shape.slice(2);
  const ap = n.attrs['auto_pad'];
  if ((typeof ap === 'string' && ap !== 'NOTSET') || xs.length !== kernel.length || ys.length !== kernel.length) return ones;
  if ([...xs, ...ys].some((d) => typeof d !== 'number')) return ones;
  const D = kernel.length;
  const arr = (k: string, d: number) => (Array.isArray(n.attrs[k]) ? (n.attrs[k] as number[]) : new Array<number>(2 * D).fill(d));
  const pads = arr('pads', 0);
  const strides = arr('strides', 1);
  const dil = arr('dilations', 1);
  // per dim: fraction of outputs where tap t lands inside
  const per = kernel.map((K, d) => Array.from({ length: K }, (_, t) => {
    const OD = ys[d] as number;
    let inside = 0;
    for (let o = 0; o < OD; o++) {
      const i = o * strides[d]! - pads[d]! + t * dil[d]!;
      if (i >= 0 && i < (xs[d] as number)) inside++;
    }
    return OD > 0 ? inside / OD : 1;
  }));
  const out = new Float64Array(taps);
  for (let j = 0; j < taps; j++) {
    let f = 1;
    let rem = j;
    for (let d = D - 1; d >= 0; d--) {
      const K = kernel[d]!;
      f *= per[d]![rem % K]!;
      rem = Math.floor(rem / K);
    }
    out[j] = f;
  }
  return out;
}

/**
 * True when int8 cannot represent what node `n` reads or writes: an activation whose calibrated
 * range reaches +-Inf (e.g. after adding a -inf attention mask), or a constant data operand holding
 * +-Inf. Such nodes stay float. Clip's bounds are parameters, not data: Clip(x, 0, +inf) quantizes
 * (an infinite bound imposes no clamp).
 * @param g float graph @param n node @param stats calibration statistics
 */
function touchesInfinity(g: Graph, n: Node, stats: Map<ValueId, ValueStats>): boolean {
  const vals = n.op === 'Clip' ? [n.inputs[0] ?? null, ...n.outputs] : [...n.inputs, ...n.outputs];
  for (const v of vals) {
    if (v === null) continue;
    const t = g.constOf(v);
    if (t) {
      if (!isFloat(t.dtype)) continue;
      for (let i = 0; i < t.size; i++) if (!Number.isFinite(t.get(i))) return true;
      continue;
    }
    const s = stats.get(v);
    if (s && !(Number.isFinite(s.min) && Number.isFinite(s.max))) return true;
  }
  return false;
}

/**
 * int8 gate matrix of a recurrent node: W [D, G*H, I] or R [D, G*H, H] quantized symmetric per gate
 * row (one scale per direction and row: scale = max|row| / 127), behind a per-axis
 * DequantizeLinear (axis 1 when D = 1; for D = 2 the rows are flattened to [D*G*H, K], dequantized
 * along axis 0 and reshaped back, which keeps per-direction scales in standard opset-13 QDQ).
 * @returns the dequantized f32 value the node reads instead of `id`
 */
function recurrentWeight(g: Graph, n: Node, id: ValueId, t: Tensor, perTensor: boolean): ValueId {
  const [D, GH, K] = t.shape as [number, number, number];
  const name = g.value(id).name;
  if (D === 1 || perTensor) {
    const qw = quantizeWeight(t, perTensor ? undefined : 1);
    return dequant(g, n, `${n.name}.${name}`, g.addConst(`${name}_quantized`, qw.q).id, qw.scales, 'i8', qw.axis, n.id);
  }
  const qw = quantizeWeight(t.reshape([D * GH, K]), 0);
  const flat = dequant(g, n, `${n.name}.${name}`, g.addConst(`${name}_quantized`, qw.q).id, qw.scales, 'i8', 0, n.id);
  const shape = g.addConst(`${n.name}.${name}_shape`, Tensor.from('i64', [3], [D, GH, K])).id;
  const out = g.addValue(`${name}_dequantized`, { dtype: 'f32', shape: [D, GH, K] }).id;
  g.addNode({ op: 'Reshape', inputs: [flat, shape], outputs: [out], name: `${n.name}.${name}_Reshape` }, n.id);
  return out;
}

function replaceInput(n: Node, i: number, v: ValueId): void {
  n.inputs[i] = v;
}

/**
 * Adds DequantizeLinear(q, scale, zero_point[, axis]) before node `before` and returns its output.
 */
function dequant(g: Graph, _user: Node, name: string, q: ValueId, scales: number[], dt: 'i8' | 'u8' | 'i32', axis: number | undefined,
  before: number, zps?: number[]): ValueId {
  const z0 = zps ?? [0];
  const uniform = scales.every((s) => s === scales[0]) && z0.every((v) => v === z0[0]);
  const per = axis !== undefined && scales.length > 1 && !uniform;
  const sc = g.addConst(`${name}_scale`, per ? Tensor.from('f32', [scales.length], scales) : Tensor.from('f32', [], [scales[0]!])).id;
  const z = zps ?? new Array<number>(per ? scales.length : 1).fill(0);
  const zp = g.addConst(`${name}_zero_point`, per ? Tensor.from(dt, [z.length], z) : Tensor.from(dt, [], [z[0]!])).id;
  const qt = g.typeOf(q);
  const out = g.addValue(`${name}_dequantized`, { dtype: 'f32', shape: qt.shape }).id;
  g.addNode({ op: 'DequantizeLinear', inputs: [q, sc, zp], outputs: [out], attrs: per ? { axis: axis! } : {}, name: `${name}_DequantizeLinear` }, before);
  return out;
}
