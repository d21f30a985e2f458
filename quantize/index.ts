/**
 * Post-training quantization: the one entry point the CLI uses.
 *
 *   const r = quantizeModel(g, { mode: 'int8', calib: [x], calibrator: 'minmax' });
 *   r.graph   // lowered graph (edgec.Q* integer ops) for targets and the reference interpreter
 *   r.qdq     // standard ONNX QDQ graph (for --emit-onnx)
 *   r.summary // float islands, per-layer modes, weight bytes before/after
 */
import { Graph, Node, ValueId } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { inferShapes } from '../compiler/interp/interp.js';
import { usage } from '../compiler/errors.js';
import { ActKind, actOf } from '../compiler/ops/act.js';
import { CALIBRATORS, Calibrator, EngineFactory, ProgressFn, calibrate } from './calibrate.js';
import { LayerInfo, insertQdq } from './qdq.js';
import { lowerQdq } from './lower.js';
import { affinesToDepthwise } from './affine.js';
import { equalizeLayers } from './equalize.js';
import { toFp16 } from './fp16.js';
import { toInt4 } from './int4.js';
import { ExplainRow, KeepFloat, KeepFloatTrace, explainLayers, selectKeepFloat } from './sensitivity.js';

export type { Calibrator, EngineFactory, FloatEngine, ProgressFn } from './calibrate.js';
export { CALIBRATORS } from './calibrate.js';
export { lowerQdq } from './lower.js';
export type { LayerInfo } from './qdq.js';
export type { ExplainRow, KeepFloat, KeepFloatTrace } from './sensitivity.js';

export type QuantMode = 'int8' | 'fp16' | 'int4';

export interface QuantizeOptions {
  mode: QuantMode;
  /** Calibration inputs, one tensor per graph input, samples along the first axis (int8 only). */
  calib?: Tensor[];
  calibrator?: Calibrator;
  /** Per-tensor weights instead of per-channel. */
  perTensor?: boolean;
  /** Layers to keep in float: node names, 'auto' (= { maxLoss: 0.005 }) or { maxLoss } (see sensitivity.ts). */
  keepFloat?: KeepFloat;
  /** Compute the per-layer sensitivity table (--explain). */
  explain?: boolean;
  /** Samples per interpreter run when the batch dim is symbolic. */
  batchSize?: number;
  onProgress?: ProgressFn;
  /**
   * Fast float engine for calibration (e.g. targets/wasm/observe.ts createFloatObserver); default:
   * the reference interpreter. Statistics agree within f32 rounding.
   */
  calibEngine?: EngineFactory;
  /**
   * Accuracy fixes (measured in quantize/README.md, "Accuracy fixes"; defaults in DEFAULT_FIXES):
   * - channelAffine: standalone per-channel Mul/Add/BatchNormalization -> depthwise 1x1 Conv
   *   (per-channel int8 scale, int32 shift, per-channel requantization; affine.ts);
   * - equalize: cross-layer equalization of consecutive Conv/Gemm pairs (equalize.ts);
   * - biasCorrection: the int8 weights' expected output error folded into the bias (qdq.ts); off by
   *   default: it helps alone but costs accuracy on top of equalization in the measurements.
   */
  fixes?: { channelAffine?: boolean; equalize?: boolean; biasCorrection?: boolean };
  /** Activation bits, 8 (default) or 7 (see QdqOptions.actBits; `--act-bits 7`). */
  actBits?: 7 | 8;
}

/** Defaults of QuantizeOptions.fixes. */
export const DEFAULT_FIXES = { channelAffine: true, equalize: true, biasCorrection: false } as const;

export interface QuantSummary {
  mode: QuantMode;
  /** Nodes computed in float with float weights (name and op); weight-only layers are in `layers`. */
  floatIslands: { node: string; op: string }[];
  layers: LayerInfo[];
  weightBytesBefore: number;
  weightBytesAfter: number;
  /** Node names kept in float by keepFloat. */
  keptFloat: string[];
  /** Who chose them: the caller's names ('request') or the 'auto' / { maxLoss } selection ('auto'). */
  keptFloatBy?: 'request' | 'auto';
}

export interface QuantizeResult {
  /** Lowered graph for targets and the reference interpreter. */
  graph: Graph;
  /** Standard ONNX graph (QDQ for int8/int4, Cast + f16 for fp16) for --emit-onnx. */
  qdq: Graph;
  summary: QuantSummary;
  explain?: ExplainRow[];
  /** What --keep-float auto / { maxLoss } measured (int8 with such a keepFloat). */
  keepFloatTrace?: KeepFloatTrace;
  /** int8: the prepared float graph the QDQ graph was built from (same value ids; for sensitivity). */
  float?: Graph;
}

/** Bytes of the float (or quantized) constants that nodes read. */
export function weightBytes(g: Graph): number {
  const used = new Set<ValueId>();
  for (const n of g.nodes.values()) for (const i of n.inputs) if (i !== null && g.consts.has(i)) used.add(i);
  let b = 0;
  for (const id of used) {
    const t = g.consts.get(id)!;
    if (t.size > 1) b += t.byteSize();
  }
  return b;
}

/**
 * Prepares a float graph for quantization (on a copy): fused Conv/Gemm/MatMul+activation ops are
 * split back into the ONNX base op and activation (the QDQ graph must be standard ONNX), and
 * Gemm alpha/beta are folded into constant B/C.
 * @param src float graph (after the optimization pipeline)
 */
export function prepareFloat(src: Graph): Graph {
  const g = src.clone();
  g.toposort();
  inferShapes(g);
  for (const n of g.orderedNodes()) {
    if (n.domain === 'edgec' && (n.op === 'FusedConv' || n.op === 'FusedGemm' || n.op === 'FusedMatMul')) unfuse(g, n);
  }
  for (const n of g.orderedNodes()) if (n.op === 'Gemm' && n.domain === '') foldGemmScalars(g, n);
  g.toposort();
  inferShapes(g);
  return g;
}

function unfuse(g: Graph, n: Node): void {
  const act = actOf(n.attrs);
  const baseOp = n.op.slice('Fused'.length);
  const attrs = { ...n.attrs };
  delete (attrs as Record<string, unknown>)['activation'];
  delete (attrs as Record<string, unknown>)['activation_params'];
  const out = n.outputs[0]!;
  if (!act) {
    g.addNode({ op: baseOp, inputs: n.inputs, outputs: [out], attrs, name: n.name }, n.id);
    g.removeNode(n.id);
    return;
  }
  const mid = g.addValue(`${n.name}.pre_act`, g.typeOf(out)).id;
  g.addNode({ op: baseOp, inputs: n.inputs, outputs: [mid], attrs, name: n.name }, n.id);
  const [op, inputs, aattrs] = actNode(g, act.kind, act.params, mid);
  g.addNode({ op, inputs, outputs: [out], attrs: aattrs, name: `${n.name}.${act.kind}` }, n.id);
  g.removeNode(n.id);
}

function actNode(g: Graph, kind: ActKind, p: number[], x: ValueId): [string, (ValueId | null)[], Record<string, number>] {
  switch (kind) {
    case 'Clip': {
      if (g.opset < 11) return ['Clip', [x], { min: p[0] ?? -3.4028234663852886e38, max: p[1] ?? 3.4028234663852886e38 }];
      const dt = g.typeOf(x).dtype;
      const lo = p[0] === undefined || p[0] === -Infinity ? null : g.addConst('clip_min', Tensor.from(dt, [], [p[0]])).id;
      const hi = p[1] === undefined || p[1] === Infinity ? null : g.addConst('clip_max', Tensor.from(dt, [], [p[1]])).id;
      return ['Clip', hi === null ? (lo === null ? [x] : [x, lo]) : [x, lo, hi], {}];
    }
    case 'LeakyRelu': return ['LeakyRelu', [x], { alpha: p[0] ?? 0.01 }];
    case 'HardSigmoid': return ['HardSigmoid', [x], { alpha: p[0] ?? 0.2, beta: p[1] ?? 0.5 }];
    default: return [kind, [x], {}];
  }
}

// Gemm(A, B, C; alpha, beta) -> Gemm(A, alpha*B, beta*C; 1, 1) for constant B and C
function foldGemmScalars(g: Graph, n: Node): void {
  const alpha = typeof n.attrs['alpha'] === 'number' ? (n.attrs['alpha'] as number) : 1;
  const beta = typeof n.attrs['beta'] === 'number' ? (n.attrs['beta'] as number) : 1;
  const B = g.constOf(n.inputs[1]);
  const C = g.constOf(n.inputs[2]);
  if (alpha === 1 && (beta === 1 || n.inputs[2] == null)) return;
  if (!B || !isFloat(B.dtype) || (n.inputs[2] != null && (!C || !isFloat(C.dtype)))) return;
  const scale = (t: Tensor, s: number) => Tensor.from(t.dtype, t.shape, t.toNumbers().map((v) => v * s));
  const attrs = { ...n.attrs, alpha: 1, beta: 1 };
  if (alpha !== 1) n.inputs[1] = g.addConst(`${n.name}.B_scaled`, scale(B, alpha)).id;
  if (C && beta !== 1) n.inputs[2] = g.addConst(`${n.name}.C_scaled`, scale(C, beta)).id;
  n.attrs = attrs;
}

/** Data inputs of Conv (channel axis 1) and Gemm (last axis) nodes with constant weights: bias correction's E[x]. */
function layerInputAxes(g: Graph): Map<ValueId, 'axis1' | 'last'> {
  const m = new Map<ValueId, 'axis1' | 'last'>();
  for (const n of g.orderedNodes()) {
    const x = n.inputs[0];
    if (x == null || !g.constOf(n.inputs[1]) || g.consts.has(x)) continue;
    if (n.op === 'Conv' && !m.has(x)) m.set(x, 'axis1');
    else if (n.op === 'Gemm' && !m.has(x)) m.set(x, 'last');
  }
  return m;
}

/**
 * Quantizes a float graph.
 * @param g float graph (after the optimization pipeline; not modified)
 * @param opts mode, calibration data and options
 */
export function quantizeModel(g: Graph, opts: QuantizeOptions): QuantizeResult {
  if (opts.calibrator !== undefined && !CALIBRATORS.includes(opts.calibrator)) {
    throw usage(`unknown calibrator "${opts.calibrator}" (expected ${CALIBRATORS.join(', ')})`);
  }
  const before = weightBytes(g);
  if (opts.mode === 'fp16' || opts.mode === 'int4') {
    const prepared = prepareFloat(g);
    const r = opts.mode === 'fp16' ? toFp16(prepared) : toInt4(prepared);
    return {
      graph: r.graph, qdq: r.graph,
      summary: { mode: opts.mode, floatIslands: r.floatIslands, layers: r.layers, weightBytesBefore: before, weightBytesAfter: weightBytes(r.graph), keptFloat: [] },
    };
  }
  if (opts.mode !== 'int8') throw usage(`unknown quantization mode "${String(opts.mode)}"`);
  if (opts.actBits !== undefined && opts.actBits !== 7 && opts.actBits !== 8) throw usage(`activation bits must be 7 or 8, got ${String(opts.actBits)}`);
  if (!opts.calib) throw usage('int8 quantization needs calibration data (--calib FILE)');
  const fixes = { ...DEFAULT_FIXES, ...opts.fixes };
  const fg = prepareFloat(g);
  if (fixes.channelAffine) affinesToDepthwise(fg);
  if (fixes.equalize) equalizeLayers(fg);
  const calibrator = opts.calibrator ?? 'minmax';
  const stats = calibrate(fg, opts.calib, { calibrator, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}), ...(opts.calibEngine ? { engine: opts.calibEngine } : {}),
    ...(fixes.biasCorrection ? { channelMeans: layerInputAxes(fg) } : {}) });
  const build = (keep: ReadonlySet<string>) => {
    const q = insertQdq(fg, stats, { calibrator, perTensor: opts.perTensor ?? false, keepFloat: keep, biasCorrection: fixes.biasCorrection, actBits: opts.actBits ?? 8 });
    return { q, lowered: lowerQdq(q.graph) };
  };
  const buildGraphs = (k: ReadonlySet<string>) => {
    const r = build(k);
    return { qdq: r.q.graph, lowered: r.lowered.graph, layers: r.q.layers };
  };
  let keep = new Set<string>();
  const trace: KeepFloatTrace | undefined = opts.keepFloat !== undefined && !Array.isArray(opts.keepFloat) ? { alone: [], lossBefore: 0, lossAfter: 0 } : undefined;
  if (opts.keepFloat !== undefined) {
    keep = selectKeepFloat(fg, opts.calib, opts.keepFloat, buildGraphs, opts.onProgress, opts.calibEngine, trace);
  }
  const { q, lowered } = build(keep);
  const res: QuantizeResult = {
    graph: lowered.graph,
    qdq: q.graph,
    summary: {
      mode: 'int8',
      // weight-only layers (int8 weights, float compute) are listed by mode in `layers`, not as islands
      floatIslands: q.layers.filter((l) => l.mode === 'float').map((l) => ({ node: l.node, op: l.op })),
      layers: q.layers,
      weightBytesBefore: before,
      weightBytesAfter: weightBytes(lowered.graph),
      keptFloat: [...keep],
      ...(opts.keepFloat !== undefined ? { keptFloatBy: Array.isArray(opts.keepFloat) ? 'request' as const : 'auto' as const } : {}),
    },
    float: fg,
    ...(trace ? { keepFloatTrace: trace } : {}),
  };
  if (opts.explain) res.explain = explainLayers(fg, q.graph, lowered.graph, opts.calib, q.layers, opts.calibEngine);
  return res;
}
