/**
 * The implementations of `edgec inspect | run | compile | eval` (CLI.md). Each takes parsed
 * options and a CliIO and throws EdgecError on failure; main.ts maps errors to exit codes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Limits, invalid, unsupported, usage } from '../compiler/errors.js';
import { Graph } from '../compiler/ir/graph.js';
import { Tensor, TensorType, shapeToString } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { runGraph } from '../compiler/interp/interp.js';
import { encodeDataFile, planBatches, readDataFile, runBatches, sliceRows } from '../compiler/io/data.js';
import { exportOnnx } from '../compiler/frontends/onnx/export.js';
import { sanitize } from '../compiler/errors.js';
import type { Calibrator } from '../quantize/index.js';
import type { PruneMode } from '../prune/index.js';
import { Loaded, ModelSummary, loadModel, summarize } from './model.js';
import { matchInputNames } from './input-shapes.js';
import type { Bindings } from './bind.js';
import { ArtifactIdentity, checkOutputPath, sha256, stableJson, writeOutputFolder } from './artifact.js';
import { CompileTarget, EmitOptions, RUN_TARGETS, RunTarget, IO_ABI, emitTarget, openTargetRunner } from './targets.js';
import { DEFAULT_GUARD_LOSS, guardLines, guardManifest } from './guard.js';
import { BuildResult, RANDOM_CALIB_SAMPLES, buildGraph, explainTable, parseKeepFloat, randomCalibration, readCalibration, summaryLines, fmtBytes } from './build.js';
import { NO_PROGRESS, Progress, progressBar } from './progress.js';
import { Metric, MetricContext, chooseMetric, score } from './metrics.js';
import { TABLE_WIDTH, cutStart, formatTable } from '../profile/table.js';

/** Where a command writes text (stdout/stderr, or buffers in tests). */
export interface CliIO {
  out(s: string): void;
  err(s: string): void;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  errIsTTY?: boolean;
  /** A job shows its progress bar once it has run this long (default 1000 ms; tests use 0). */
  progressDelayMs?: number;
}

/** The progress bar of a CLI job (drawn on stderr when it is a terminal). */
export function barFor(io: CliIO): Progress {
  return progressBar((m) => io.err(m), !!io.errIsTTY, 100, io.progressDelayMs ?? 1000);
}

/**
 * Test hook for the kill-mid-write test: EDGEC_TEST_WRITE_DELAY_MS makes the writer pause after
 * each staged file, so a test can kill the process while the output is half written.
 */
function testWriteDelay(): { onFileWritten?: (name: string) => void } {
  const ms = Number(process.env['EDGEC_TEST_WRITE_DELAY_MS'] ?? 0);
  if (!(ms > 0)) return {};
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return { onFileWritten: () => void Atomics.wait(cell, 0, 0, Math.min(ms, 10_000)) };
}

// ---------------------------------------------------------------------------------------------
// inspect

function fmtNum(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)}K`;
  return String(n);
}

/** `head` then the items, comma-separated, wrapped to `width` columns (continuation lines indented). */
function wrapList(head: string, items: readonly string[], width: number): string {
  const lines: string[] = [];
  let cur = head;
  items.forEach((it, i) => {
    const piece = it + (i < items.length - 1 ? ',' : '');
    if (cur.trim().length > head.trim().length && cur.length + 1 + piece.length > width) {
      lines.push(cur);
      cur = ' '.repeat(head.length) + piece;
    } else cur += (cur === head ? '' : ' ') + piece;
  });
  lines.push(cur);
  return lines.join('\n');
}

/**
 * Human-readable inspect output (names sanitized: they are data); the node table fits `width`
 * columns (long names keep their end, long shape lists their start).
 */
export function formatSummary(s: ModelSummary, file: string, width = TABLE_WIDTH): string {
  const io = (l: ModelSummary['inputs']) => l.map((v) => {
    const type = `${v.dtype}${shapeToString(v.shape)}`;
    return `  ${cutStart(sanitize(v.name, 200), Math.max(16, width - type.length - 4))}: ${type}`;
  }).join('\n');
  const opsets = Object.entries(s.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ');
  let t = `model: ${sanitize(file, 200)}\nopsets: ${opsets}\n`;
  t += `inputs:\n${io(s.inputs)}\noutputs:\n${io(s.outputs)}\n`;
  t += `nodes: ${s.nodes.length}  params: ${s.params} (${fmtNum(s.params)})  MACs: ${s.macs} (${fmtNum(s.macs)})  weight bytes: ${s.weights_bytes}\n`;
  t += `${wrapList('ops: ', Object.entries(s.ops).map(([k, v]) => `${k} x${v}`), width)}\n\n`;
  const rows = [['#', 'op', 'name', 'output shapes', 'params', 'MACs']];
  for (const n of s.nodes) {
    rows.push([
      String(n.index),
      n.domain ? `${n.domain}.${n.op}` : n.op,
      sanitize(n.name, 200),
      n.outputs.map((o) => `${o.dtype}${shapeToString(o.shape)}`).join(' '),
      String(n.params),
      String(n.macs),
    ]);
  }
  return t + formatTable(rows, { width, shrink: [2, 3], keepStart: [3], right: [0, 4, 5] });
}

/** `edgec inspect MODEL [--json] [--input-shape NAME=DIMS]...` */
export function cmdInspect(model: string, opts: { json?: boolean; wide?: boolean; inputShape?: Record<string, number[]> }, limits: Limits, io: CliIO): void {
  const l = loadModel(model, { limits, ...shapeOpts(opts) });
  const s = summarize(l.graph);
  if (opts.json) io.out(`${JSON.stringify({ file: model, ...s }, null, 2)}\n`);
  else io.out(formatSummary(s, model, opts.wide ? Infinity : TABLE_WIDTH));
}

// ---------------------------------------------------------------------------------------------
// run / eval

/**
 * Runs a loaded model on data tensors (batched per CLI.md) on a target; outputs stacked.
 * `ref` runs the reference interpreter on the loaded graph (for an int8 artifact: its integer
 * graph); `wasm` runs an artifact's model.mjs, or the model compiled in memory. Samples that do
 * not fill the last batch (e.g. 540 samples at batch size 8) are padded with zero samples whose
 * outputs are dropped.
 * @param note receives a one-line note when the last batch is padded
 * @param progress shows batches done (a bar on a terminal)
 */
export async function runOn(l: Loaded, data: Tensor[], target: RunTarget, note?: (m: string) => void, progress: Progress = NO_PROGRESS, device?: string,
  threads?: number): Promise<{ outputs: Tensor[]; samples: number }> {
  const g = l.graph;
  const types = g.inputs.map((i) => g.typeOf(i));
  const pad = padPartialBatch(data, types);
  if (pad) {
    note?.(`${pad.samples} samples are not a multiple of the model's batch size ${pad.batch}: the last batch is padded with ${pad.padded - pad.samples} zero sample(s), whose outputs are dropped`);
    data = pad.data;
  }
  const plan = planBatches(data, types, g.inputs.map((i) => g.value(i).name));
  const samples = plan.stacked ? plan.samples : (data[0]?.shape[0] ?? 1);
  let outputs: Tensor[];
  const phase = `run (${target})`;
  let done = 0;
  const counted = async (run: (b: Tensor[]) => Tensor[] | Promise<Tensor[]>, b: Tensor[]): Promise<Tensor[]> => {
    progress.update(phase, done, plan.batches.length);
    const r = await run(b);
    progress.update(phase, ++done, plan.batches.length);
    return r;
  };
  try {
    if (target === 'ref') outputs = await runBatches(plan, (b) => counted((x) => runGraph(g, x), b));
    else {
      const runner = await openTargetRunner(target, g, l.artifactDir ? { dir: l.artifactDir, target: l.manifest?.['target'] } : undefined, {
        ...(device !== undefined ? { device } : {}), ...(note ? { note } : {}), ...(threads !== undefined ? { threads } : {}),
      });
      try {
        outputs = await runBatches(plan, (b) => counted((x) => runner.run(x), b));
      } finally {
        runner.close();
      }
    }
  } finally {
    progress.done();
  }
  if (!pad) return { outputs, samples };
  return { outputs: outputs.map((t) => (t.shape[0] === pad.padded ? sliceRows(t, 0, pad.samples) : t)), samples: pad.samples };
}

/**
 * The artifact's files and their sizes, one line each (manifest.json included), model.wasm with its
 * weight and code bytes (manifest `weight_bytes`, `code_bytes`).
 * @param written the manifest writeOutputFolder wrote (with `file_bytes`)
 * @param manifest what the target recorded
 */
function fileSizeLines(written: Record<string, unknown> | undefined, manifest: Record<string, unknown>): string {
  const sizes = { ...((written?.['file_bytes'] ?? {}) as Record<string, number>) };
  if (written) sizes['manifest.json'] = Buffer.byteLength(stableJson(written));
  const w = manifest['weight_bytes'], code = manifest['code_bytes'];
  const width = Math.max(...Object.keys(sizes).map((k) => k.length));
  return Object.entries(sizes).sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => {
    const detail = name === 'model.wasm' && manifest['dynamic'] !== true && typeof w === 'number' && typeof code === 'number' ? `  (weights ${w} B, code ${code} B)` : '';
    return `edgec: ${sanitize(name, 100).padEnd(width)} ${String(n).padStart(10)} B  ${fmtBytes(n).padStart(10)}${detail}\n`;
  }).join('');
}

/**
 * Pads data whose sample count is not a multiple of the model's (fixed, > 1) batch size with zero
 * samples up to the next multiple; undefined when no padding applies. Every tensor must have the
 * input's rank, the same sample count and the input's other dims (else planBatches reports it).
 */
function padPartialBatch(data: readonly Tensor[], types: readonly TensorType[]): { data: Tensor[]; samples: number; padded: number; batch: number } | undefined {
  if (data.length === 0 || data.length !== types.length) return undefined;
  const n = data[0]!.shape[0];
  let batch: number | undefined;
  for (let i = 0; i < data.length; i++) {
    const t = data[i]!;
    const want = types[i]!.shape;
    const b = want[0];
    if (typeof b !== 'number' || b <= 1 || t.dtype === 'string' || t.shape.length !== want.length || t.shape[0] !== n) return undefined;
    if (t.shape.slice(1).some((d, k) => typeof want[k + 1] === 'number' && want[k + 1] !== d)) return undefined;
    if (batch !== undefined && batch !== b) return undefined;
    batch = b;
  }
  if (n === undefined || n === 0 || batch === undefined || n % batch === 0) return undefined;
  const padded = Math.ceil(n / batch) * batch;
  const out = data.map((t) => {
    const shape = [padded, ...t.shape.slice(1)];
    const z = Tensor.zeros(t.dtype, shape);
    for (let i = 0; i < t.size; i++) z.set(i, t.data[i] as number | bigint);
    return z;
  });
  return { data: out, samples: n, padded, batch };
}

/**
 * Data in the model inputs' dtypes where that is safe: float data (e.g. NumPy's default float64)
 * for a float input is rounded to the input's dtype, integer data for a float input is converted
 * only when every value is exact; each conversion writes a one-line note. Other mismatches are
 * left for planBatches to report.
 * @param files the data files, for the notes
 */
export function conformData(data: readonly Tensor[], g: Graph, files: readonly string[], note: (m: string) => void): Tensor[] {
  return data.map((t, i) => {
    const id = g.inputs[i];
    if (id === undefined) return t;
    const want = g.typeOf(id).dtype;
    if (t.dtype === want || !isFloat(want) || t.dtype === 'string') return t;
    const name = sanitize(g.value(id).name, 60);
    const file = sanitize(files[i] ?? `input ${i}`, 200);
    const out = Tensor.zeros(want, [...t.shape]);
    if (isFloat(t.dtype)) {
      for (let k = 0; k < t.size; k++) out.set(k, t.get(k));
      note(`${file} holds ${t.dtype} data; converted to ${want} for input "${name}"`);
      return out;
    }
    const big = t.dtype === 'i64' || t.dtype === 'u64';
    for (let k = 0; k < t.size; k++) {
      out.set(k, big ? t.getBig(k) : t.get(k));
      const back = out.get(k);
      const exact = big ? Number.isInteger(back) && BigInt(back) === t.getBig(k) : back === t.get(k);
      if (!exact) return t;
    }
    note(`${file} holds ${t.dtype} data; converted exactly to ${want} for input "${name}"`);
    return out;
  });
}

/** `--input-shape` and `--bind` values as loadModel options. */
export function shapeOpts(o: { inputShape?: Record<string, number[]>; bind?: Bindings }): { inputShapes?: Record<string, number[]>; bind?: Bindings } {
  const both = Object.keys(o.bind ?? {}).find((k) => Object.prototype.hasOwnProperty.call(o.inputShape ?? {}, k));
  if (both !== undefined) throw usage(`input "${sanitize(both, 60)}" has both --bind and --input-shape (a bound input takes its shape from the model)`);
  return { ...(o.inputShape ? { inputShapes: o.inputShape } : {}), ...(o.bind ? { bind: o.bind } : {}) };
}

/**
 * `edgec run MODEL|ARTIFACT --inputs FILE... [--target T] --out DIR [--npy] [--input-shape NAME=DIMS]...`
 * Symbolic input dims without --input-shape take their sizes from the input files (see RUN_HELP).
 */
export async function cmdRun(
  model: string,
  opts: { inputs: string[]; target?: RunTarget; device?: string; out: string; npy?: boolean; inputShape?: Record<string, number[]>; bind?: Bindings; threads?: number },
  limits: Limits,
  io: CliIO,
): Promise<void> {
  const readInputs = [model, ...opts.inputs];
  checkOutputPath(opts.out, readInputs, 'outputs');
  const note = noteTo(io);
  const raw = opts.inputs.map((f) => readDataFile(f, limits));
  const l = loadModel(model, { limits, ...shapeOpts(opts), data: raw });
  const data = conformData(raw, l.graph, opts.inputs, note);
  const target = runTargetOf(l, opts.target);
  if (opts.device !== undefined && target !== 'c') throw usage(`--device is for --target c (an emulated microcontroller), not ${target}`);
  if (opts.threads !== undefined && opts.threads > 1 && target !== 'wasm') throw usage(`--threads is for --target wasm, not ${target}`);
  const { outputs } = await runOn(l, data, target, note, barFor(io), opts.device, opts.threads);
  const files = new Map<string, Uint8Array>();
  const lines: string[] = [];
  outputs.forEach((t, k) => {
    const name = l.graph.value(l.graph.outputs[k]!).name;
    files.set(`output_${k}.pb`, encodeDataFile(t, 'pb', name));
    if (opts.npy) files.set(`output_${k}.npy`, encodeDataFile(t, 'npy'));
    lines.push(`edgec: output ${k} "${sanitize(name, 60)}": ${t.dtype} ${shapeToString(t.shape)} -> ${sanitize(path.join(opts.out, `output_${k}.pb`), 200)}${opts.npy ? ` (+ .npy)` : ''}\n`);
  });
  writeOutputFolder(opts.out, files, { inputs: readInputs, kind: 'outputs', ...testWriteDelay() });
  for (const line of lines) io.err(line);
  io.err(`edgec: wrote ${outputs.length} output(s) to ${sanitize(opts.out, 200)} (target ${target})\n`);
}

/** One-line notes on stderr. */
function noteTo(io: CliIO): (m: string) => void {
  return (m) => io.err(`edgec: note: ${m}\n`);
}

/**
 * Where `run`/`eval` run: the --target given, else an artifact's own target (manifest.json
 * "target", when it is one `run` can use), else the reference interpreter.
 */
export function runTargetOf(l: Loaded, given: RunTarget | undefined): RunTarget {
  if (given) return given;
  const t = l.manifest?.['target'];
  return typeof t === 'string' && (RUN_TARGETS as readonly string[]).includes(t) ? (t as RunTarget) : 'ref';
}

/** A labelled data set for eval/report. */
export interface LabelledData {
  x: Tensor;
  y: Tensor;
  n: number;
  metric: 'accuracy' | 'mse';
}

/**
 * Reads --data/--labels and picks the metric (cli/metrics.ts: accuracy for class ids, one-hot or
 * probability rows, else mse), checked against the model's output shape.
 * @param g the model (one input)
 * @param note receives one-line notes and warnings about the metric
 */
export function readLabelled(g: Graph, model: string, data: string, labels: string, metric: Metric | undefined, limits: Limits, x0?: Tensor, note: (m: string) => void = () => {}): LabelledData {
  if (g.inputs.length !== 1) throw unsupported(`eval needs a model with one input; this one has ${g.inputs.length}`, { file: model });
  const x = x0 ?? readDataFile(data, limits);
  const y = readDataFile(labels, limits);
  const n = x.shape[0];
  if (n === undefined || n === 0) throw invalid('data file holds no samples', { file: data });
  if (y.shape[0] !== n) throw invalid(`labels hold ${y.shape[0] ?? 0} samples but the data hold ${n}`, { file: labels });
  const perSample = (id: number): number[] | undefined => {
    const s = g.typeOf(id).shape;
    return s.every((d) => typeof d === 'number') ? (s as number[]).slice(1) : undefined;
  };
  const outShape = g.outputs.length > 0 ? perSample(g.outputs[0]!) : undefined;
  const inShape = perSample(g.inputs[0]!);
  const ctx: MetricContext = {
    ...(outShape ? { outShape, outPerSample: outShape.reduce((a, b) => a * b, 1) } : {}),
    ...(inShape ? { inShape } : {}),
  };
  return { x, y, n, metric: chooseMetric(y, n, metric, ctx, note) };
}

/**
 * Accuracy (argmax against class ids, one-hot or probability labels) or mean squared error of `out`.
 * @param labelsFile for error messages
 */
export function scoreOutputs(out: Tensor, d: LabelledData, labelsFile: string): number {
  return score(out, d.y, d.n, d.metric, labelsFile);
}

/**
 * `edgec eval MODEL|ARTIFACT --data X --labels Y [--metric accuracy|mse] [--json] [--input-shape NAME=DIMS]...`
 * Symbolic input dims without --input-shape take their sizes from the data file, as in `run`.
 */
export async function cmdEval(
  model: string,
  opts: { data: string; labels: string; metric?: 'accuracy' | 'mse'; json?: boolean; target?: RunTarget; inputShape?: Record<string, number[]>; bind?: Bindings; threads?: number },
  limits: Limits,
  io: CliIO,
): Promise<void> {
  const note = noteTo(io);
  const raw = readDataFile(opts.data, limits);
  const l = loadModel(model, { limits, ...shapeOpts(opts), data: [raw] });
  const target = runTargetOf(l, opts.target);
  const x = l.graph.inputs.length === 1 ? conformData([raw], l.graph, [opts.data], note)[0]! : raw;
  const d = readLabelled(l.graph, model, opts.data, opts.labels, opts.metric, limits, x, note);
  if (opts.threads !== undefined && opts.threads > 1 && target !== 'wasm') throw usage(`--threads is for --target wasm, not ${target}`);
  const { outputs } = await runOn(l, [d.x], target, note, barFor(io), undefined, opts.threads);
  const value = scoreOutputs(outputs[0]!, d, opts.labels);
  const metric = d.metric;
  if (opts.json) io.out(`${JSON.stringify({ metric, value, [metric]: value, samples: d.n, target })}\n`);
  else io.out(`${metric}: ${metric === 'accuracy' ? value.toFixed(4) : value.toPrecision(6)} (${d.n} samples, target ${target})\n`);
}

// ---------------------------------------------------------------------------------------------
// compile

/** Parsed options of `edgec compile`. */
export interface CompileOptions {
  output?: string;
  target: CompileTarget;
  int8?: boolean;
  fp16?: boolean;
  int4?: boolean;
  calib?: string[];
  calibRandom?: boolean;
  calibrator?: Calibrator;
  perTensor?: boolean;
  /** --act-bits: '7' or '8' (int8 activation levels). */
  actBits?: string;
  keepFloat?: string;
  explain?: boolean;
  /** Bound on the int8 check's held-out output loss (default DEFAULT_GUARD_LOSS; cli/guard.ts). */
  guardLoss?: number;
  /** The arguments as given (after the program name), for the command the int8 guard suggests. */
  argv?: readonly string[];
  prune?: number;
  pruneMode?: PruneMode;
  /** `--prune-block N`: unstructured pruning in blocks of N output features. */
  pruneBlock?: number;
  inputShape?: Record<string, number[]>;
  maxInputShape?: Record<string, number[]>;
  /**
   * `--wasm-simd on|off|relaxed`: wasm SIMD in model.wasm (default on, with a relaxed-SIMD twin for
   * int8; off: no SIMD instruction; relaxed: model.wasm on the relaxed-SIMD kernels only).
   */
  wasmSimd?: 'on' | 'off' | 'relaxed';
  /** `--threads N`: also write model-threads.wasm (N threads; create({ threads }) in model.mjs). */
  threads?: number;
  /** `--seq-shape NAME=DIMS,...`: element shapes of sequence inputs. */
  seqShape?: Record<string, number[][]>;
  /** `--empty-optional NAME`: optional inputs compiled as empty. */
  emptyOptional?: string[];
  /** `--bind NAME=VALUE`: inputs fixed to constants (cli/bind.ts). */
  bind?: Bindings;
  emitOnnx?: boolean;
  printAfter?: string[];
  disablePass?: string[];
  stopAfter?: string;
  verify?: boolean;
  /** Replace an existing artifact of another model, target or precision. */
  force?: boolean;
  /** hls: FPGA part, how the reuse factors are fitted to it, one fixed reuse factor. */
  hlsPart?: string;
  hlsFit?: 'error' | 'warn' | 'off';
  reuseFactor?: number;
}

/** Manifest I/O entries with the target's ABI fields (wasm: byte offset, element count) merged in, by index. */
function withAbi<T extends object>(xs: readonly T[], abi: unknown, k: 'inputs' | 'outputs'): T[] {
  const extra = (abi as Record<string, Record<string, unknown>[]> | undefined)?.[k];
  return xs.map((x, i) => ({ ...x, ...(extra?.[i] ?? {}) }));
}

/** True for a model file name that says nothing about the model (`model.onnx`, `model.json`). */
function isGenericName(base: string): boolean {
  return /^model\.(onnx|json)$/i.test(base);
}

/** The model file a path names (a TF.js folder: its model.json). */
function modelFileOf(model: string): string {
  const p = model.replace(/[\\/]+$/, '');
  try {
    if (fs.statSync(p).isDirectory()) return path.join(p, 'model.json');
  } catch {
    // not there: loadModel reports it
  }
  return p;
}

/**
 * The model's name, the stem of default output folders (`<name>.<target>/`): the model file's
 * stem, or for a generic `model.onnx` / `model.json` (and a TF.js folder) its folder's name, so
 * `edgec compile a/model.onnx` writes `./a.wasm/`.
 * @param model the path the user gave
 */
export function modelName(model: string): string {
  const file = modelFileOf(model);
  const base = path.basename(file);
  const name = isGenericName(base) ? path.basename(path.dirname(path.resolve(file))) : base.replace(/\.(onnx|json)$/i, '');
  return name && name !== '.' && name !== path.sep ? name : 'model';
}

/** Precision from the flags (at most one). */
export function precisionOf(o: { int8?: boolean; fp16?: boolean; int4?: boolean }): EmitOptions['precision'] {
  const set = [o.int8 && 'int8', o.fp16 && 'fp16', o.int4 && 'int4'].filter(Boolean) as EmitOptions['precision'][];
  if (set.length > 1) throw usage(`choose one precision, got ${set.map((s) => `--${s}`).join(' and ')}`);
  return set[0] ?? 'fp32';
}

/** Rejects option combinations that make no sense (before anything is read). */
function checkCompileOptions(o: CompileOptions, precision: string): void {
  if (o.calib !== undefined && precision !== 'int8' && o.prune === undefined) throw usage('--calib needs --int8 (or --prune)');
  if (o.calib !== undefined && o.calibRandom) throw usage('give either --calib FILE or --calib-random, not both');
  if (o.calibRandom && precision !== 'int8') throw usage('--calib-random needs --int8');
  for (const [flag, v] of [['--calibrator', o.calibrator], ['--act-bits', o.actBits], ['--keep-float', o.keepFloat], ['--explain', o.explain], ['--guard-loss', o.guardLoss]] as const) {
    if (v !== undefined && v !== false && precision !== 'int8') throw usage(`${flag} needs --int8`);
  }
  if (o.perTensor && precision !== 'int8') throw usage('--per-tensor needs --int8 (--int4 always uses blocks of 32 weights)');
  if (o.pruneMode !== undefined && o.prune === undefined) throw usage('--prune-mode needs --prune RATIO');
  if (o.pruneBlock !== undefined && (o.prune === undefined || (o.pruneMode ?? 'unstructured') !== 'unstructured')) {
    throw usage('--prune-block needs --prune RATIO with --prune-mode unstructured');
  }
  if (o.wasmSimd !== undefined && o.target !== 'wasm') throw usage(`--wasm-simd applies to the wasm target only (not ${o.target})`);
  if (o.threads !== undefined && o.target !== 'wasm') throw usage(`--threads applies to the wasm target only (not ${o.target})`);
  if (o.threads !== undefined && o.wasmSimd === 'off') throw usage('--threads needs --wasm-simd on (the threads module uses the SIMD kernels)');
  if (precision === 'int8' && o.calib === undefined && !o.calibRandom) {
    throw usage('--int8 needs calibration data: --calib FILE (samples along the first axis, .pb/.npy)', {
      hint: 'or --calib-random to calibrate on random data (smoke tests only: accuracy will suffer)',
    });
  }
}

/**
 * `--max-input-shape` bounds keyed by the graph's input names, checked against the model: a NAME
 * the model lacks or also given to --input-shape is a usage error; the rank and the fixed dims
 * must match.
 */
function boundsOf(g: Graph, given: Record<string, number[]>, fixed: Record<string, number[]> | undefined, file: string): Record<string, number[]> {
  const declared = g.inputs.map((id) => ({ name: g.value(id).name, shape: g.typeOf(id).shape }));
  const out: Record<string, number[]> = {};
  for (const [name, dims] of matchInputNames(declared, given, file)) {
    if (fixed && matchInputNames(declared, fixed, file).has(name)) throw usage(`input "${sanitize(name, 60)}" has both --input-shape and --max-input-shape`);
    const d = declared.find((x) => x.name === name)!;
    if (dims.length !== d.shape.length) throw invalid(`--max-input-shape for "${sanitize(name, 60)}" has rank ${dims.length}, the model's input has rank ${d.shape.length}`, { file });
    d.shape.forEach((x, k) => {
      if (typeof x === 'number' && x !== dims[k]) throw invalid(`--max-input-shape for "${sanitize(name, 60)}" sets dim ${k} to ${dims[k]}, but the model fixes it to ${x}`, { file });
    });
    out[name] = [...dims];
  }
  return out;
}

/** Writes the compile summary lines on stderr. */
function logSummary(r: BuildResult, io: CliIO): void {
  for (const line of summaryLines(r)) io.err(`edgec: ${line}\n`);
  if (r.prune?.warning) io.err(`edgec: warning: ${sanitize(r.prune.warning, 400)}\n`);
}

/** `edgec compile MODEL [-o DIR] [--target T] [...]` */
export async function cmdCompile(model: string, o: CompileOptions, limits: Limits, version: string, io: CliIO): Promise<void> {
  const precision = precisionOf(o);
  checkCompileOptions(o, precision);
  const keepFloat = o.keepFloat !== undefined ? parseKeepFloat(o.keepFloat) : undefined;
  const name = modelName(model);
  const out = o.output ?? `${name}.${o.target}`;
  const reads = [model, ...(o.calib ?? [])];
  const identity: ArtifactIdentity = { name, model: path.basename(modelFileOf(model)), target: o.target, precision, ...(o.force ? { force: true } : {}) };
  checkOutputPath(out, reads, 'artifact', identity);
  const l = loadModel(model, { limits, ...shapeOpts(o), ...(o.maxInputShape ? { keepSymbolic: new Set(Object.keys(o.maxInputShape)) } : {}) });
  if (l.artifactDir) throw usage('compile takes a model file (.onnx), not an artifact folder', { file: model });
  const maxInputShapes = o.maxInputShape ? boundsOf(l.graph, o.maxInputShape, o.inputShape, l.file) : undefined;
  const g: Graph = l.graph;
  let calib: Tensor[] | undefined;
  if (o.calib) calib = readCalibration(o.calib, g, limits);
  else if (o.calibRandom) {
    calib = randomCalibration(g);
    io.err(`edgec: warning: calibrating on ${RANDOM_CALIB_SAMPLES} random samples (--calib-random); the int8 ranges do not reflect real data\n`);
  }
  const log = (m: string) => io.err(`edgec: ${sanitize(m, 300)}\n`);
  const printAfter = o.printAfter?.includes('all') ? 'all' : o.printAfter;
  const built = buildGraph(g, {
    target: o.target,
    precision,
    ...(calib ? { calib } : {}),
    ...(o.calibrator ? { calibrator: o.calibrator } : {}),
    ...(o.perTensor ? { perTensor: true } : {}),
    ...(o.actBits === '7' ? { actBits: 7 as const } : {}),
    ...(keepFloat !== undefined ? { keepFloat } : {}),
    ...(o.explain ? { explain: true } : {}),
    ...(precision === 'int8' ? { guardLoss: o.guardLoss ?? DEFAULT_GUARD_LOSS } : {}),
    ...(o.prune !== undefined ? { prune: o.prune } : {}),
    ...(o.pruneMode ? { pruneMode: o.pruneMode } : {}),
    ...(o.pruneBlock !== undefined ? { pruneBlock: o.pruneBlock } : {}),
    ...(printAfter ? { printAfter } : {}),
    ...(o.disablePass ? { disablePass: o.disablePass } : {}),
    ...(o.stopAfter ? { stopAfter: o.stopAfter } : {}),
    verify: !!o.verify,
    limits,
  }, {
    log,
    onPrint: (name, text) => io.err(`// after ${name}\n${text}${text.endsWith('\n') ? '' : '\n'}`),
    progress: barFor(io),
  });

  const hls = { ...(o.hlsPart !== undefined ? { part: o.hlsPart } : {}), ...(o.hlsFit !== undefined ? { fit: o.hlsFit } : {}), ...(o.reuseFactor !== undefined ? { reuseFactor: o.reuseFactor } : {}) };
  const sequenceShapes = o.seqShape || o.emptyOptional ? { sequences: o.seqShape ?? {}, emptyOptionals: o.emptyOptional ?? [] } : undefined;
  const emitted = await emitTarget(o.target, built.graph, {
    precision, log, ...(maxInputShapes ? { maxInputShapes } : {}), ...(o.wasmSimd === 'off' ? { wasmSimd: false } : {}),
    ...(o.threads !== undefined && o.threads > 1 ? { threads: o.threads } : {}),
    ...(o.wasmSimd === 'off' ? {} : { wasmRelaxed: o.wasmSimd === 'relaxed' ? 'only' as const : 'auto' as const }),
    ...(Object.keys(hls).length ? { hls } : {}), ...(sequenceShapes ? { sequenceShapes } : {}),
  });
  const s = summarize(built.graph);
  const files = new Map<string, Uint8Array | string>(emitted.files);
  if (files.has('model.onnx')) throw unsupported('internal: the target emitted model.onnx itself');
  files.set('model.onnx', exportOnnx(built.onnxGraph, { producerVersion: version, internalOps: true }));
  const source = fs.readFileSync(l.file);
  const manifest: Record<string, unknown> = {
    arena_bytes: null,
    ...emitted.manifest,
    edgec: version,
    name,
    target: o.target,
    precision,
    model: path.basename(l.file),
    source_sha256: sha256(source),
    graph: 'model.onnx',
    graph_form: precision === 'int8' ? 'qdq' : 'onnx',
    inputs: withAbi(s.inputs, emitted.manifest[IO_ABI], 'inputs'),
    outputs: withAbi(s.outputs, emitted.manifest[IO_ABI], 'outputs'),
    macs: s.macs,
    params: s.params,
    weights_bytes: s.weights_bytes,
    ops: s.ops,
    passes: built.passes.map((p) => ({ name: p.name, changes: p.changes })),
  };
  delete manifest[IO_ABI];
  // A model that arrives quantized (int8 TFLite, ONNX QLinear*/ConvInteger/QDQ) keeps its own integer ops
  // whatever the precision flag says; the manifest and the summary line say so.
  const inModel = precision === 'fp32' ? integerOpsIn(built.graph) : [];
  if (inModel.length > 0) manifest['quantized_in_model'] = inModel;

  // --bind: inputs fixed to constants at compile time (they are not in the signature)
  if (o.bind && Object.keys(o.bind).length > 0) manifest['bound_inputs'] = { ...o.bind };
  if (built.quant) {
    const q = built.quant;
    manifest['quantization'] = {
      mode: q.mode,
      ...(precision === 'int8' ? { calibrator: o.calibrator ?? 'minmax', per_tensor: !!o.perTensor, act_bits: o.actBits === '7' ? 7 : 8, calibration: o.calib ? 'file' : 'random' } : {}),
      weight_bytes_before: q.weightBytesBefore,
      weight_bytes_after: q.weightBytesAfter,
      float_islands: q.floatIslands,
      kept_float: q.keptFloat,
      ...(q.keptFloatBy ? { kept_float_by: q.keptFloatBy } : {}),
      ...(built.guard ? { check: guardManifest(built.guard) } : {}),
    };
  }
  if (built.prune) {
    const p = built.prune;
    manifest['pruning'] = {
      mode: p.mode, ratio: p.ratio, nnz_before: p.nnzBefore, nnz_after: p.nnzAfter, params_before: p.paramsBefore,
      params_after: p.paramsAfter, macs_before: p.macsBefore, macs_after: p.macsAfter, sparse_macs_after: p.sparseMacsAfter,
    };
  }
  const written = writeOutputFolder(out, files, { inputs: reads, kind: 'artifact', identity, manifest, ...testWriteDelay() });
  const total = built.passes.reduce((a, p) => a + p.ms, 0);
  io.err(`edgec: passes (${total.toFixed(1)} ms): ${built.passes.map((p) => `${p.name} ${p.ms.toFixed(1)}ms${p.changed ? ` (${p.changes} edits)` : ''}`).join(', ')}\n`);
  logSummary(built, io);
  const stored = emitted.manifest[`${o.target}_weights_bytes`];
  if ((precision === 'fp16' || precision === 'int4') && typeof stored === 'number') {
    io.err(`edgec: ${o.target} stores the weights as ${precision === 'fp16' ? 'f16' : 'int4 blocks'} (expanded to f32 at load): ${stored} bytes (${fmtBytes(stored)})\n`);
  }
  if (built.explain) io.err(explainTable(built.explain));
  if (built.guard) {
    const gl = guardLines(built.guard, o.argv ?? ['compile', model]);
    for (const line of gl.info) io.err(`edgec: ${line}\n`);
    for (const line of gl.warn) io.err(`edgec: warning: ${line}\n`);
  }
  io.err(fileSizeLines(written, manifest));
  const label = inModel.length > 0 ? `${precision} flag; integer ops from the model: ${inModel.join(', ')}` : precision;
  io.out(`wrote ${sanitize(out, 200)} (${files.size + 1} files, target ${o.target}, ${sanitize(label, 200)})\n`);
}

/** Integer ops a model brought with it (pre-quantized models), sorted; empty for a float graph. */
export function integerOpsIn(g: Graph): string[] {
  const integer = (op: string, domain: string): boolean =>
    domain === 'edgec' ? /^(Q|Tfl)/.test(op) : /^(QLinear|QuantizeLinear$|DequantizeLinear$|ConvInteger$|MatMulInteger$|DynamicQuantizeLinear$)/.test(op);
  const seen = new Set<string>();
  for (const n of g.nodes.values()) if (integer(n.op, n.domain ?? '')) seen.add(n.domain === 'edgec' ? `edgec.${n.op}` : n.op);
  return [...seen].sort();
}
