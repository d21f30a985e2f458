/**
 * The compile pipeline shared by `edgec compile` and `edgec report`: optimization passes for the
 * target, then pruning (optional), then quantization (optional), then the target's code.
 *
 *   float graph --pipelineFor(target)--> optimized --pruneModel--> pruned --quantizeModel--> int8/fp16/int4
 *
 * Two graphs come out: `graph`, what the target compiles (for int8: the lowered integer graph of
 * edgec.Q* ops), and `onnxGraph`, the standard-ONNX form written as the artifact's model.onnx (for
 * int8: the QDQ graph, from which `edgec run --target ref` recovers the same integer graph with
 * lowerQdq).
 */
import { Limits, invalid, usage } from '../compiler/errors.js';
import { Graph } from '../compiler/ir/graph.js';
import { Tensor, numel } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { readDataFile } from '../compiler/io/data.js';
import { PassManager, PassStat, pipelineFor } from '../compiler/pipeline.js';
import { ALL_PASSES } from '../compiler/passes/index.js';
import { sanitize } from '../compiler/errors.js';
import { Calibrator, ExplainRow, KeepFloat, QuantSummary, QuantizeOptions, lowerQdq, quantizeModel } from '../quantize/index.js';
import { GuardFix, Int8Check, guardedQuantize } from '../quantize/guard.js';

/** Ops that mark an already-quantized ONNX model. */
const PREQUANT_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger']);
import { PruneMode, PruneSummary, pruneModel } from '../prune/index.js';
import { CompileTarget, EmitOptions } from './targets.js';
import { createFloatObserver } from '../targets/wasm/observe.js';
import { wasmPipeline } from '../targets/wasm/emit.js';
import { webgpuPipeline } from '../targets/webgpu/emit.js';
import { Progress } from './progress.js';

export type Precision = EmitOptions['precision'];

/** What the compile pipeline needs besides the graph. */
export interface BuildOptions {
  target: CompileTarget;
  precision: Precision;
  /** Calibration tensors (one per graph input, samples along axis 0). */
  calib?: Tensor[];
  calibrator?: Calibrator;
  perTensor?: boolean;
  /** int8 activation bits (QuantizeOptions.actBits). */
  actBits?: 7 | 8;
  keepFloat?: KeepFloat;
  explain?: boolean;
  /** int8 with calibration data: hold samples out and check int8 against float on them (quantize/guard.ts). */
  guardLoss?: number;
  prune?: number;
  pruneMode?: PruneMode;
  /** Unstructured pruning in blocks of this many output features (prune/magnitude.ts). */
  pruneBlock?: number;
  printAfter?: readonly string[] | 'all';
  disablePass?: readonly string[];
  stopAfter?: string;
  verify?: boolean;
  limits: Limits;
}

/** Hooks: diagnostics, printed graphs, progress. */
export interface BuildHooks {
  log(msg: string): void;
  onPrint?(pass: string, text: string): void;
  progress?: Progress;
}

export interface BuildResult {
  /** What the target compiles. */
  graph: Graph;
  /** Standard ONNX (QDQ for int8/int4, Cast + f16 for fp16; the optimized float graph for fp32). */
  onnxGraph: Graph;
  passes: PassStat[];
  prune?: PruneSummary;
  quant?: QuantSummary;
  explain?: ExplainRow[];
  /** The int8 guard's check (with guardLoss), and the fix when it failed. */
  guard?: { check: Int8Check; fix?: GuardFix; calibSamples: number };
}

/** Pass-manager pipeline target for a compile target. */
export function pipelineTarget(t: CompileTarget): 'ref' | 'wasm' | 'webgpu' | 'hls' | 'c' {
  return t === 'onnx' ? 'ref' : t;
}

/**
 * Rejects unknown names in --print-after / --disable-pass / --stop-after with a usage error that
 * lists the passes of this target's pipeline (the ones those flags can name usefully).
 * @param pipeline pass names of the target's pipeline, in order
 */
export function checkPassNames(pipeline: readonly string[], o: Pick<BuildOptions, 'printAfter' | 'disablePass' | 'stopAfter'>): void {
  const known = new Set([...pipeline, ...ALL_PASSES.map((p) => p.name)]);
  const flags: [string, readonly string[] | undefined][] = [
    ['--print-after', o.printAfter === 'all' ? undefined : o.printAfter],
    ['--disable-pass', o.disablePass],
    ['--stop-after', typeof o.stopAfter === 'string' ? [o.stopAfter] : undefined],
  ];
  for (const [flag, names] of flags) {
    for (const n of names ?? []) {
      if (known.has(n)) continue;
      const valid = [...new Set(pipeline)].join(', ');
      throw usage(`${flag}: unknown pass "${sanitize(n, 60)}"; the passes of this target are: ${valid}${flag === '--print-after' ? ', or all' : ''}`);
    }
  }
}

/**
 * Runs the compile pipeline on `g` (modified in place by the passes).
 * @param g imported graph
 * @param o target, precision, pruning and pass options
 * @param h diagnostics
 */
export function buildGraph(g: Graph, o: BuildOptions, h: BuildHooks): BuildResult {
  // wasm and webgpu pass their kernel tables: ops they have no kernel for decompose into primitives
  const t = pipelineTarget(o.target);
  const pipeline = t === 'wasm' ? wasmPipeline() : t === 'webgpu' ? webgpuPipeline() : pipelineFor(t);
  checkPassNames(pipeline.map((p) => p.name), o);
  const pm = new PassManager(pipeline, {
    maxFoldBytes: o.limits.maxFoldBytes,
    verify: !!o.verify,
    ...(o.printAfter ? { printAfter: o.printAfter } : {}),
    ...(o.disablePass ? { disable: o.disablePass } : {}),
    ...(o.stopAfter ? { stopAfter: o.stopAfter } : {}),
    ...(h.onPrint ? { onPrint: h.onPrint } : {}),
    log: (m) => h.log(sanitize(m, 300)),
  });
  pm.run(g);
  let graph = g;
  const res: Omit<BuildResult, 'graph' | 'onnxGraph'> = { passes: pm.stats };
  if (o.prune !== undefined) {
    const pr = pruneModel(graph, {
      ratio: o.prune,
      mode: o.pruneMode ?? 'unstructured',
      ...(o.pruneBlock !== undefined ? { block: o.pruneBlock } : {}),
      ...(o.calib ? { calib: o.calib } : {}),
    });
    graph = pr.graph;
    res.prune = pr.summary;
  }
  if (o.precision === 'fp32') {
    // A pre-quantized model (QDQ, QLinear*, ConvInteger/MatMulInteger) compiles through the same
    // exact integer ops as --int8; model.onnx keeps the model as given.
    if (o.target !== 'onnx' && graph.orderedNodes().some((n) => n.domain === '' && PREQUANT_OPS.has(n.op))) {
      return { ...res, graph: lowerQdq(graph).graph, onnxGraph: graph };
    }
    return { ...res, graph, onnxGraph: graph };
  }
  const qo: QuantizeOptions = {
    mode: o.precision,
    ...(o.calib ? { calib: o.calib } : {}),
    ...(o.calibrator ? { calibrator: o.calibrator } : {}),
    ...(o.perTensor ? { perTensor: true } : {}),
    ...(o.actBits ? { actBits: o.actBits } : {}),
    ...(o.keepFloat !== undefined ? { keepFloat: o.keepFloat } : {}),
    ...(o.explain ? { explain: true } : {}),
    // calibration runs the float graph compiled to wasm when it compiles (the reference otherwise)
    calibEngine: createFloatObserver,
    ...(h.progress ? { onProgress: (phase: string, done: number, total: number) => h.progress!.update(phase, done, total) } : {}),
  };
  const guarded = o.precision === 'int8' && o.calib && o.guardLoss !== undefined ? guardedQuantize(graph, qo, o.guardLoss) : undefined;
  const q = guarded?.result ?? quantizeModel(graph, qo);
  h.progress?.done();
  return {
    ...res, graph: q.graph, onnxGraph: q.qdq, quant: q.summary, ...(q.explain ? { explain: q.explain } : {}),
    ...(guarded ? { guard: { check: guarded.check, ...(guarded.fix ? { fix: guarded.fix } : {}), calibSamples: guarded.split.calibSamples } } : {}),
  };
}

/**
 * Reads calibration files, one per graph input in graph-input order (.pb/.npy; samples along the
 * first axis). A file of the input's exact shape with batch 1 is one sample.
 * @param files paths given with --calib
 * @param g the model (for the input count)
 * @param limits size limits
 */
export function readCalibration(files: readonly string[], g: Graph, limits: Limits): Tensor[] {
  if (files.length !== g.inputs.length) {
    throw usage(`the model has ${g.inputs.length} input(s) but ${files.length} --calib file(s) were given`, {
      hint: 'give one --calib file per graph input, in graph-input order',
    });
  }
  return files.map((f, k) => {
    const t = readDataFile(f, limits);
    const v = g.value(g.inputs[k]!);
    if (!isFloat(t.dtype)) throw invalid(`calibration data must be float, got ${t.dtype}`, { file: f, tensor: v.name });
    if (t.shape.length === 0) throw invalid('calibration data is a scalar; expected samples along the first axis', { file: f, tensor: v.name });
    return t;
  });
}

/** Samples of random calibration data (--calib-random). */
export const RANDOM_CALIB_SAMPLES = 64;

/**
 * Random calibration data (--calib-random): RANDOM_CALIB_SAMPLES samples per input, standard
 * normal values from a fixed seed (deterministic builds). Symbolic dims other than the batch dim
 * must have been fixed with --input-shape.
 * @param g the model
 */
export function randomCalibration(g: Graph): Tensor[] {
  let s = 0x9e3779b9;
  const uni = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return g.inputs.map((id) => {
    const v = g.value(id);
    if (!isFloat(v.type.dtype)) throw usage(`--calib-random: input "${sanitize(v.name)}" is ${v.type.dtype}, not float`, { tensor: v.name });
    const rest = v.type.shape.slice(1);
    if (rest.some((d) => typeof d !== 'number')) {
      throw usage(`--calib-random: input "${sanitize(v.name)}" has symbolic dims; fix them with --input-shape`, { tensor: v.name });
    }
    const b = typeof v.type.shape[0] === 'number' ? (v.type.shape[0] as number) : 1;
    const shape = [b * Math.ceil(RANDOM_CALIB_SAMPLES / b), ...(rest as number[])];
    const d = new Float32Array(numel(shape));
    for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
    return new Tensor('f32', shape, d);
  });
}

/**
 * `--keep-float` value: "auto", "auto:LOSS" (0 <= LOSS < 1), or comma-separated node names.
 * @param v option text
 */
export function parseKeepFloat(v: string): KeepFloat {
  const t = v.trim();
  if (t === 'auto') return 'auto';
  const m = /^auto:(.*)$/.exec(t);
  if (m) {
    const x = Number(m[1]);
    if (m[1]!.trim() === '' || !Number.isFinite(x) || x < 0 || x >= 1) throw usage(`--keep-float: "${sanitize(t)}": expected auto:LOSS with 0 <= LOSS < 1`);
    return { maxLoss: x };
  }
  const names = t.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw usage('--keep-float: expected auto, auto:LOSS or node names separated by commas');
  return names;
}

/** Formats a byte count (B, KiB, MiB). */
export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The compile summary lines (stderr): pruning and quantization results. */
export function summaryLines(r: BuildResult): string[] {
  const out: string[] = [];
  if (r.prune) {
    const p = r.prune;
    const sp = p.nnzBefore > 0 ? 1 - p.nnzAfter / p.nnzBefore : 0;
    const pct = (a: number, b: number) => `${b > 0 ? ((100 * a) / b).toFixed(1) : '100.0'}%`;
    out.push(`prune ${p.mode} ${p.ratio} (pattern: ${p.pattern}): nonzero weights ${p.nnzBefore} -> ${p.nnzAfter} (${(sp * 100).toFixed(1)}% sparse), ` +
      `params ${p.paramsBefore} -> ${p.paramsAfter}, MACs ${p.macsBefore} -> ${p.macsAfter}, ${p.layers.length} layer(s) pruned` +
      (p.skipped.length ? `, ${p.skipped.length} skipped` : ''));
    const ch = p.layers.filter((l) => l.channels && l.channels.outAfter < l.channels.outBefore);
    if (p.mode === 'channel' && ch.length) {
      const ob = ch.reduce((a, l) => a + l.channels!.outBefore, 0);
      const oa = ch.reduce((a, l) => a + l.channels!.outAfter, 0);
      out.push(`  output channels of the ${ch.length} pruned layer(s): ${ob} -> ${oa} (${pct(ob - oa, ob)} removed); ` +
        `weights kept ${pct(p.nnzAfter, p.nnzBefore)}, MACs kept ${pct(p.macsAfter, p.macsBefore)} of the original`);
    } else if (p.mode !== 'channel') {
      out.push(`  weights kept ${pct(p.nnzAfter, p.nnzBefore)} (nonzero); dense MACs unchanged, ${pct(p.sparseMacsAfter, p.macsBefore)} with zero-skipping kernels`);
    }
    if (p.agreement) {
      out.push(`  on ${p.agreement.samples} calibration samples: ${p.agreement.top1 !== undefined ? `top-1 agreement with the unpruned model ${(p.agreement.top1 * 100).toFixed(1)}%, ` : ''}`
        + `SNR ${p.agreement.snrDb === Infinity ? 'inf' : p.agreement.snrDb!.toFixed(1)} dB`);
    }
    for (const s of p.skipped.slice(0, 8)) {
      const o = s as unknown as Record<string, unknown>;
      out.push(typeof o['node'] === 'string' && typeof o['reason'] === 'string'
        ? `  skipped ${sanitize(o['node'], 60)}: ${sanitize(o['reason'], 160)}`
        : `  skipped: ${sanitize(JSON.stringify(s), 200)}`);
    }
    if (p.skipped.length > 8) out.push(`  ... and ${p.skipped.length - 8} more skipped`);
    for (const n of p.notes.slice(0, 8)) out.push(`  note: ${sanitize(n, 200)}`);
  }
  if (r.quant) {
    const q = r.quant;
    const ratio = q.weightBytesAfter > 0 ? q.weightBytesBefore / q.weightBytesAfter : 0;
    out.push(`quantize ${q.mode}: weight bytes ${q.weightBytesBefore} -> ${q.weightBytesAfter} (${fmtBytes(q.weightBytesBefore)} -> ${fmtBytes(q.weightBytesAfter)}, ${ratio.toFixed(2)}x smaller)`);
    const isl = q.floatIslands;
    out.push(isl.length === 0
      ? 'float islands: none (every layer is quantized)'
      : `float islands (${isl.length}): ${isl.slice(0, 20).map((f) => `${sanitize(f.node, 60)} (${f.op})`).join(', ')}${isl.length > 20 ? ', ...' : ''}`);
    const wo = q.layers.filter((l) => l.mode === 'weight-only');
    if (wo.length) out.push(`int8 weights (weight-only) (${wo.length}): ${wo.slice(0, 20).map((l) => `${sanitize(l.node, 60)} (${l.op})`).join(', ')}${wo.length > 20 ? ', ...' : ''}`);
    if (q.keptFloat.length) {
      const by = q.keptFloatBy === 'auto' ? 'by --keep-float auto' : 'on request';
      out.push(`kept float ${by}: ${q.keptFloat.slice(0, 20).map((n) => sanitize(n, 60)).join(', ')}${q.keptFloat.length > 20 ? ', ...' : ''}`);
    } else if (q.keptFloatBy === 'auto') {
      out.push('kept float by --keep-float auto: none (the output loss is within the bound with every layer int8)');
    }
  }
  return out;
}

/** The --explain table: per quantized layer, SNR against float and the SNR it loses itself. */
export function explainTable(rows: readonly ExplainRow[]): string {
  const fmt = (x: number) => (x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(2));
  const t: string[][] = [['layer', 'op', 'SNR dB', 'drop dB']];
  for (const r of rows) t.push([sanitize(r.node, 48), r.op, fmt(r.snrDb), fmt(r.dropDb)]);
  const w: number[] = [];
  for (const r of t) r.forEach((c, i) => (w[i] = Math.max(w[i] ?? 0, c.length)));
  const lines = t.map((r) => r.map((c, i) => (i >= 2 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd());
  return `per-layer quantization error (SNR of the int8 activation against float over the calibration samples; drop = SNR lost at that layer):\n${lines.join('\n')}\n`;
}
