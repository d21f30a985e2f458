/**
 * The implementations of `edgec inspect | run | compile | eval` (CLI.md). Each takes parsed
 * options and a CliIO and throws EdgecError on failure; main.ts maps errors to exit codes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Limits, invalid, numeric, unsupported, usage } from '../compiler/errors.js';
import { Graph } from '../compiler/ir/graph.js';
import { Tensor, shapeToString } from '../compiler/ir/tensor.js';
import { isFloat } from '../compiler/ir/dtype.js';
import { runGraph } from '../compiler/interp/interp.js';
import { encodeDataFile, planBatches, readDataFile, runBatches } from '../compiler/io/data.js';
import { exportOnnx } from '../compiler/frontends/onnx/export.js';
import { PassManager, pipelineFor } from '../compiler/pipeline.js';
import { sanitize } from '../compiler/errors.js';
import { Loaded, ModelSummary, loadModel, summarize } from './model.js';
import { checkOutputPath, sha256, writeOutputFolder } from './artifact.js';
import { CompileTarget, EmitOptions, RunTarget, emitTarget, runOnTarget } from './targets.js';

/** Where a command writes text (stdout/stderr, or buffers in tests). */
export interface CliIO {
  out(s: string): void;
  err(s: string): void;
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

function table(rows: string[][]): string {
  const w: number[] = [];
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n') + '\n';
}

/** Human-readable inspect output (names sanitized: they are data). */
export function formatSummary(s: ModelSummary, file: string): string {
  const io = (l: ModelSummary['inputs']) => l.map((v) => `  ${sanitize(v.name)}: ${v.dtype}${shapeToString(v.shape)}`).join('\n');
  const opsets = Object.entries(s.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ');
  let t = `model: ${sanitize(file, 200)}\nopsets: ${opsets}\n`;
  t += `inputs:\n${io(s.inputs)}\noutputs:\n${io(s.outputs)}\n`;
  t += `nodes: ${s.nodes.length}  params: ${s.params} (${fmtNum(s.params)})  MACs: ${s.macs} (${fmtNum(s.macs)})  weight bytes: ${s.weights_bytes}\n`;
  t += `ops: ${Object.entries(s.ops).map(([k, v]) => `${k} x${v}`).join(', ')}\n\n`;
  const rows = [['#', 'op', 'name', 'output shapes', 'params', 'MACs']];
  for (const n of s.nodes) {
    rows.push([
      String(n.index),
      n.domain ? `${n.domain}.${n.op}` : n.op,
      sanitize(n.name, 40),
      n.outputs.map((o) => `${o.dtype}${shapeToString(o.shape)}`).join(' '),
      String(n.params),
      String(n.macs),
    ]);
  }
  return t + table(rows);
}

/** `edgec inspect MODEL [--json]` */
export function cmdInspect(model: string, opts: { json?: boolean }, limits: Limits, io: CliIO): void {
  const l = loadModel(model, { limits });
  const s = summarize(l.graph);
  if (opts.json) io.out(`${JSON.stringify({ file: model, ...s }, null, 2)}\n`);
  else io.out(formatSummary(s, model));
}

// ---------------------------------------------------------------------------------------------
// run / eval

/** Runs a loaded model on data tensors (batched per CLI.md) on a target; outputs stacked. */
async function runOn(l: Loaded, data: Tensor[], target: RunTarget): Promise<{ outputs: Tensor[]; samples: number }> {
  const g = l.graph;
  const plan = planBatches(data, g.inputs.map((i) => g.typeOf(i)), g.inputs.map((i) => g.value(i).name));
  const outputs = await runBatches(plan, (b) => (target === 'ref' ? runGraph(g, b) : runOnTarget(target, g, l.artifactDir, b)));
  return { outputs, samples: plan.stacked ? plan.samples : (data[0]?.shape[0] ?? 1) };
}

/** `edgec run MODEL|ARTIFACT --inputs FILE... [--target T] --out DIR [--npy]` */
export async function cmdRun(
  model: string,
  opts: { inputs: string[]; target: RunTarget; out: string; npy?: boolean },
  limits: Limits,
  io: CliIO,
): Promise<void> {
  const readInputs = [model, ...opts.inputs];
  checkOutputPath(opts.out, readInputs, 'outputs');
  const l = loadModel(model, { limits });
  const data = opts.inputs.map((f) => readDataFile(f, limits));
  const { outputs } = await runOn(l, data, opts.target);
  const files = new Map<string, Uint8Array>();
  outputs.forEach((t, k) => {
    const name = l.graph.value(l.graph.outputs[k]!).name;
    files.set(`output_${k}.pb`, encodeDataFile(t, 'pb', name));
    if (opts.npy) files.set(`output_${k}.npy`, encodeDataFile(t, 'npy'));
  });
  writeOutputFolder(opts.out, files, { inputs: readInputs, kind: 'outputs', ...testWriteDelay() });
  io.err(`edgec: wrote ${outputs.length} output(s) to ${sanitize(opts.out, 200)}\n`);
}

function argmaxRows(t: Tensor, rows: number): number[] {
  const c = t.size / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (c === 1) {
      out.push(t.get(r) > 0.5 ? 1 : 0);
      continue;
    }
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = t.get(r * c + j);
      if (v > bv) { bv = v; best = j; }
    }
    out.push(best);
  }
  return out;
}

/** `edgec eval MODEL|ARTIFACT --data X --labels Y [--metric accuracy|mse] [--json]` */
export async function cmdEval(
  model: string,
  opts: { data: string; labels: string; metric?: 'accuracy' | 'mse'; json?: boolean; target: RunTarget },
  limits: Limits,
  io: CliIO,
): Promise<void> {
  const l = loadModel(model, { limits });
  if (l.graph.inputs.length !== 1) throw unsupported(`eval needs a model with one input; this one has ${l.graph.inputs.length}`, { file: model });
  const x = readDataFile(opts.data, limits);
  const y = readDataFile(opts.labels, limits);
  const n = x.shape[0];
  if (n === undefined || n === 0) throw invalid('data file holds no samples', { file: opts.data });
  if (y.shape[0] !== n) throw invalid(`labels hold ${y.shape[0] ?? 0} samples but the data hold ${n}`, { file: opts.labels });
  const metric = opts.metric ?? (isFloat(y.dtype) && y.size !== n ? 'mse' : 'accuracy');
  const { outputs } = await runOn(l, [x], opts.target);
  const out = outputs[0]!;
  let value: number;
  if (metric === 'accuracy') {
    if (out.size % n !== 0) throw invalid(`output ${shapeToString(out.shape)} does not split into ${n} samples`);
    const pred = argmaxRows(out, n);
    const labels = y.size === n ? y.toNumbers() : argmaxRows(y, n);
    let ok = 0;
    for (let i = 0; i < n; i++) if (pred[i] === labels[i]) ok++;
    value = ok / n;
  } else {
    if (out.size !== y.size) {
      throw invalid(`labels ${shapeToString(y.shape)} do not match the output ${shapeToString(out.shape)} for the mse metric`, { file: opts.labels });
    }
    let s = 0;
    for (let i = 0; i < out.size; i++) {
      const d = out.get(i) - y.get(i);
      s += d * d;
    }
    value = s / out.size;
    if (!Number.isFinite(value)) throw numeric('mse is not finite (NaN or Inf in outputs or labels)', { file: opts.labels });
  }
  if (opts.json) io.out(`${JSON.stringify({ metric, value, [metric]: value, samples: n, target: opts.target })}\n`);
  else io.out(`${metric}: ${metric === 'accuracy' ? value.toFixed(4) : value.toPrecision(6)} (${n} samples, target ${opts.target})\n`);
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
  calib?: string;
  calibrator?: string;
  perTensor?: boolean;
  prune?: number;
  pruneMode?: string;
  inputShape?: Record<string, number[]>;
  emitOnnx?: boolean;
  printAfter?: string[];
  disablePass?: string[];
  stopAfter?: string;
  verify?: boolean;
}

/** Precision from the flags (at most one). */
function precisionOf(o: CompileOptions): EmitOptions['precision'] {
  const set = [o.int8 && 'int8', o.fp16 && 'fp16', o.int4 && 'int4'].filter(Boolean) as EmitOptions['precision'][];
  if (set.length > 1) throw usage(`choose one precision, got ${set.map((s) => `--${s}`).join(' and ')}`);
  return set[0] ?? 'fp32';
}

/** Rejects option combinations that make no sense, then features not built yet. */
function checkCompileOptions(o: CompileOptions, precision: string): void {
  if (o.calib !== undefined && precision !== 'int8' && o.prune === undefined) throw usage('--calib needs --int8 (or --prune)');
  if (o.calibrator !== undefined && precision !== 'int8') throw usage('--calibrator needs --int8');
  if (o.perTensor && precision !== 'int8' && precision !== 'int4') throw usage('--per-tensor needs --int8 or --int4');
  if (o.pruneMode !== undefined && o.prune === undefined) throw usage('--prune-mode needs --prune RATIO');
  if (precision !== 'fp32') throw unsupported(`--${precision} is not available in this build of edgec yet`);
  if (o.prune !== undefined) throw unsupported('--prune is not available in this build of edgec yet');
}

/** Pass-manager pipeline target for a compile target. */
function pipelineTarget(t: CompileTarget): 'ref' | 'wasm' | 'webgpu' | 'hls' {
  return t === 'onnx' ? 'ref' : t;
}

/** `edgec compile MODEL [-o DIR] [--target T] [...]` */
export async function cmdCompile(model: string, o: CompileOptions, limits: Limits, version: string, io: CliIO): Promise<void> {
  const precision = precisionOf(o);
  checkCompileOptions(o, precision);
  const stem = path.basename(model.replace(/[\\/]+$/, '')).replace(/\.(onnx|json)$/i, '') || 'model';
  const out = o.output ?? `${stem}.${o.target}`;
  checkOutputPath(out, [model], 'artifact');
  const l = loadModel(model, { limits, ...(o.inputShape ? { inputShapes: o.inputShape } : {}) });
  const g: Graph = l.graph;

  const printAfter = o.printAfter?.includes('all') ? 'all' : o.printAfter;
  const pm = new PassManager(pipelineFor(pipelineTarget(o.target)), {
    maxFoldBytes: limits.maxFoldBytes,
    verify: !!o.verify,
    ...(printAfter ? { printAfter } : {}),
    ...(o.disablePass ? { disable: o.disablePass } : {}),
    ...(o.stopAfter ? { stopAfter: o.stopAfter } : {}),
    onPrint: (name, text) => io.err(`// after ${name}\n${text}${text.endsWith('\n') ? '' : '\n'}`),
    log: (m) => io.err(`edgec: ${sanitize(m, 300)}\n`),
  });
  pm.run(g);

  const emitted = await emitTarget(o.target, g, { precision, log: (m) => io.err(`edgec: ${sanitize(m, 300)}\n`) });
  const s = summarize(g);
  const files = new Map<string, Uint8Array | string>(emitted.files);
  if (files.has('model.onnx')) throw unsupported('internal: the target emitted model.onnx itself');
  files.set('model.onnx', exportOnnx(g, { producerVersion: version }));
  const source = fs.readFileSync(l.file);
  const manifest: Record<string, unknown> = {
    arena_bytes: null,
    ...emitted.manifest,
    edgec: version,
    target: o.target,
    precision,
    model: path.basename(l.file),
    source_sha256: sha256(source),
    graph: 'model.onnx',
    inputs: s.inputs,
    outputs: s.outputs,
    macs: s.macs,
    params: s.params,
    weights_bytes: s.weights_bytes,
    ops: s.ops,
    passes: pm.stats.map((p) => ({ name: p.name, changes: p.changes })),
  };
  writeOutputFolder(out, files, { inputs: [model], kind: 'artifact', manifest, ...testWriteDelay() });
  const total = pm.stats.reduce((a, p) => a + p.ms, 0);
  io.err(`edgec: passes (${total.toFixed(1)} ms): ${pm.stats.map((p) => `${p.name} ${p.ms.toFixed(1)}ms${p.changed ? ` (${p.changes} edits)` : ''}`).join(', ')}\n`);
  io.out(`wrote ${sanitize(out, 200)} (${files.size + 1} files, target ${o.target}, ${precision})\n`);
}
