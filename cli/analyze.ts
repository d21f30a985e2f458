/**
 * `edgec profile` and `edgec report` (CLI.md): per-layer profiles with device estimates, and a
 * sweep of compiled configurations (precision x pruning x target) measured on labelled data, with
 * the Pareto front, written as report.json / report.md / report.html.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadWasmArtifact, writeTempArtifact } from '../targets/wasm/runner.js';
import { EdgecError, Limits, internal, sanitize, usage } from '../compiler/errors.js';
import { mcuDevice, runCArtifact } from '../targets/c/run.js';
import { Graph } from '../compiler/ir/graph.js';
import { PassManager, pipelineFor } from '../compiler/pipeline.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { exportOnnx } from '../compiler/frontends/onnx/export.js';
import { MeasureEngine, MeasuredConfig, ProfileResult, buildReport, profileGraph, renderProfileTable, resolveDevice } from '../profile/index.js';
import { measureWasmModel, median, randomInputs } from '../profile/measure.js';
import type { PruneMode } from '../prune/index.js';
import type { Calibrator } from '../quantize/index.js';
import { loadModel } from './model.js';
import type { Bindings } from './bind.js';
import { checkOutputPath, writeOutputFolder } from './artifact.js';
import { CliIO, LabelledData, barFor, modelName, readLabelled, runOn, scoreOutputs, shapeOpts } from './commands.js';
import { Precision, RANDOM_CALIB_SAMPLES, buildGraph, randomCalibration, readCalibration } from './build.js';
import { COMPILE_TARGETS, CompileTarget, emitTarget } from './targets.js';

// ---------------------------------------------------------------------------------------------
// profile

/** A model's display name: the file stem, or its folder's name for a generic "model.onnx". */
export { modelName };

/** Parsed options of `edgec profile`. */
export interface ProfileCliOptions {
  device?: string[];
  /** --input-shape values. */
  inputShape?: Record<string, number[]>;
  /** --bind values (inputs fixed to constants, cli/bind.ts). */
  bind?: Bindings;
  json?: boolean;
  measure?: string;
  runs?: number;
  /** Tables not fitted to 100 columns. */
  wide?: boolean;
  /** --kernels: kernel library for the MCU boards' cycle models. */
  kernels?: string;
  /** --emulate: run a c-target artifact once on this emulated device (cortex-m4, cortex-m7). */
  emulate?: string;
}

/** `--measure` value: comma-separated engines (ref, wasm) or "none". */
export function parseEngines(v: string): MeasureEngine[] {
  const t = v.trim();
  if (t === 'none') return [];
  const out: MeasureEngine[] = [];
  for (const e of t.split(',').map((s) => s.trim())) {
    if (e !== 'ref' && e !== 'wasm') throw usage(`--measure: unknown engine "${sanitize(e)}" (expected ref, wasm, or none)`);
    if (!out.includes(e)) out.push(e);
  }
  return out;
}

/**
 * The graph a wasm build of this model or artifact runs: an .onnx model or an fp32 artifact's
 * model.onnx after the wasm pipeline; an int8 artifact's integer graph as loaded.
 */
function wasmGraph(g: Graph, precision: unknown): Graph {
  if (precision === 'int8') return g;
  new PassManager(pipelineFor('wasm')).run(g);
  return g;
}

/** `edgec profile MODEL|ARTIFACT_DIR [--device NAME]... [--json] [--measure ENGINES]` */
export async function cmdProfile(model: string, o: ProfileCliOptions, limits: Limits, io: CliIO): Promise<void> {
  const engines = o.measure !== undefined ? parseEngines(o.measure) : ['wasm' as MeasureEngine];
  const devices = (o.device ?? []).map((d) => resolveDevice(d));
  const mcu = o.emulate !== undefined ? mcuDevice(o.emulate) : undefined;
  const l = loadModel(model, { limits, ...shapeOpts(o) });
  if (mcu && (!l.artifactDir || l.manifest?.['target'] !== 'c')) throw usage('--emulate needs a c-target artifact folder (edgec compile ... --target c)');
  const emuInputs = mcu ? randomInputs(l.graph) : [];
  const g = wasmGraph(l.graph, l.manifest?.['precision']);
  const arena = typeof l.manifest?.['arena_bytes'] === 'number' ? (l.manifest['arena_bytes'] as number) : undefined;
  const name = l.artifactDir ? path.basename(path.resolve(l.artifactDir)) : modelName(model);
  const bar = barFor(io);
  let engine = '';
  const opts = {
    ...(devices.length ? { devices } : {}),
    measureOptions: { runs: o.runs ?? 5, warmup: 1, budgetMs: 10000, onRun: (done: number, total: number) => bar.update(`time (${engine})`, done, total) },
    ...(arena !== undefined ? { arenaBytes: arena } : {}),
    ...(o.kernels !== undefined ? { kernels: o.kernels } : {}),
    model: name,
  };
  let p: ProfileResult;
  try {
    engine = engines.join(', ');
    p = await profileGraph(g, { ...opts, measure: engines });
  } catch (e) {
    bar.done();
    // A graph the wasm target cannot compile is still profiled (estimates, reference timing).
    if (!(e instanceof EdgecError) || e.kind !== 'unsupported' || !engines.includes('wasm')) throw e;
    io.err(`edgec: warning: cannot time on wasm (${sanitize(e.oneLine(), 300)}); timing the reference interpreter instead\n`);
    engine = 'ref';
    p = await profileGraph(g, { ...opts, measure: ['ref'] });
    p.notes.push(`wasm timing unavailable: ${e.message}`);
  } finally {
    bar.done();
  }
  if (mcu && l.artifactDir) {
    // one inference of the package on the emulated board (seeded uniform inputs, as --measure uses)
    const r = await runCArtifact(l.artifactDir, emuInputs, { device: o.emulate! });
    if (r.instructions === undefined) throw internal('the emulated run printed no instruction count');
    p.emulated = { device: o.emulate!, board: mcu.board, instructions: r.instructions, instructions_per_mac: p.macs > 0 ? Number((r.instructions / p.macs).toPrecision(6)) : 0,
      ...(r.stackBytes !== undefined ? { stack_bytes: r.stackBytes } : {}) };
  }
  io.out(o.json ? `${JSON.stringify(p, null, 2)}\n` : renderProfileTable(p, o.wide ? Infinity : undefined));
}

// ---------------------------------------------------------------------------------------------
// report

/** Parsed options of `edgec report`. */
export interface ReportCliOptions {
  data: string;
  labels: string;
  calib?: string[];
  calibRandom?: boolean;
  calibrator?: Calibrator;
  output?: string;
  sweep?: string[];
  pruneMode?: PruneMode;
  /** `--prune-block N` for unstructured configurations (default reportPruneBlock). */
  pruneBlock?: number;
  device?: string;
  metric?: 'accuracy' | 'mse';
  runs?: number;
  /** Interleaved timing rounds (default 5). */
  rounds?: number;
}

const SWEEP_PRECISIONS: readonly Precision[] = ['fp32', 'int8', 'fp16', 'int4'];
/** Default sweep: precisions x pruning ratios x targets. */
export const DEFAULT_SWEEP = { precision: [...SWEEP_PRECISIONS], prune: [0, 0.25, 0.5], target: ['wasm'] as CompileTarget[] };
/** Device whose estimates fill energy_mj (and latency when a config cannot be timed) by default. */
export const DEFAULT_REPORT_DEVICE = 'browser-wasm-simd';

export interface Sweep {
  precision: Precision[];
  prune: number[];
  target: CompileTarget[];
}

/**
 * `--sweep AXIS=V,V,...` (repeatable): precision=fp32,int8,fp16,int4 | prune=0,0.25,0.5 |
 * target=wasm,onnx. Axes not given keep their defaults.
 * @param specs the --sweep values
 */
export function parseSweep(specs: readonly string[]): Sweep {
  const s: Sweep = { precision: [...DEFAULT_SWEEP.precision], prune: [...DEFAULT_SWEEP.prune], target: [...DEFAULT_SWEEP.target] };
  for (const spec of specs) {
    for (const part of spec.split(/[;\s]+/).filter(Boolean)) {
      const m = /^(precision|prune|target)=(.+)$/.exec(part);
      if (!m) throw usage(`--sweep: "${sanitize(part)}": expected precision=..., prune=... or target=... (comma-separated values)`);
      const vals = m[2]!.split(',').map((v) => v.trim()).filter(Boolean);
      if (vals.length === 0) throw usage(`--sweep: ${m[1]} has no values`);
      const uniq = <T>(xs: T[]) => [...new Set(xs)];
      if (m[1] === 'precision') {
        for (const v of vals) if (!(SWEEP_PRECISIONS as readonly string[]).includes(v)) throw usage(`--sweep: unknown precision "${sanitize(v)}" (expected ${SWEEP_PRECISIONS.join(', ')})`);
        s.precision = uniq(vals as Precision[]);
      } else if (m[1] === 'prune') {
        const r = vals.map((v) => {
          const x = Number(v);
          if (!Number.isFinite(x) || x < 0 || x >= 1) throw usage(`--sweep: prune ratio "${sanitize(v)}" must satisfy 0 <= RATIO < 1`);
          return x;
        });
        s.prune = uniq(r);
      } else {
        for (const v of vals) {
          if (!(COMPILE_TARGETS as readonly string[]).includes(v)) throw usage(`--sweep: unknown target "${sanitize(v)}" (expected ${COMPILE_TARGETS.join(', ')})`);
        }
        s.target = uniq(vals as CompileTarget[]);
      }
    }
  }
  return s;
}

/** Size of what a target deploys: the bytes of its emitted files. */
function filesBytes(files: ReadonlyMap<string, Uint8Array | string>): number {
  let n = 0;
  for (const v of files.values()) n += typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
  return n;
}

/** Bytes of the emitted files each gzip-compressed (level 9): what zeros from pruning save in a download or image. */
function filesGzipBytes(files: ReadonlyMap<string, Uint8Array | string>): number {
  let n = 0;
  for (const v of files.values()) n += gzipSync(typeof v === 'string' ? Buffer.from(v, 'utf8') : v, { level: 9 }).length;
  return n;
}

/** A configuration being measured: its report row and, for wasm, the artifact to time. */
interface SweepItem {
  config: MeasuredConfig;
  wasmDir?: string;
  graph?: Graph;
}

/**
 * Times the wasm configurations in interleaved rounds: every round runs each configuration
 * (`runs` timed runs after one warm-up, median), in an order rotated by one per round, so slow
 * drifts of the host (thermal, other load) hit every configuration alike. latency_ms is the median
 * of the round medians, latency_spread_ms half their range.
 */
async function timeInterleaved(items: SweepItem[], rounds: number, runs: number, io: CliIO): Promise<void> {
  const timed = items.filter((it) => it.wasmDir && it.graph);
  if (timed.length === 0) return;
  const models = [];
  for (const it of timed) models.push(await loadWasmArtifact(it.wasmDir!));
  const perRound: number[][] = timed.map(() => []);
  const bar = barFor(io);
  try {
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < timed.length; k++) {
        const i = (k + r) % timed.length;
        const m = await measureWasmModel(models[i]!, timed[i]!.graph!, { runs, warmup: 1, budgetMs: 5000, inputs: randomInputs(timed[i]!.graph!) });
        perRound[i]!.push(m.total_ms);
        bar.update('time (interleaved rounds)', r * timed.length + k + 1, rounds * timed.length);
      }
    }
  } finally {
    bar.done();
  }
  timed.forEach((it, i) => {
    const xs = perRound[i]!;
    it.config.latency_ms = median(xs);
    it.config['latency_spread_ms'] = (Math.max(...xs) - Math.min(...xs)) / 2;
    it.config['latency_source'] = `measured on this host (wasm): median of ${rounds} interleaved rounds of ${runs} runs`;
  });
}

/** The `edgec compile` command line that rebuilds one configuration. */
function rebuildCommand(model: string, c: { precision: Precision; prune: number; target: CompileTarget; name: string }, o: ReportCliOptions): string {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const args = ['edgec', 'compile', q(model)];
  if (c.precision !== 'fp32') args.push(`--${c.precision}`);
  if (c.precision === 'int8' || c.prune > 0) {
    if (o.calib) for (const f of o.calib) args.push('--calib', q(f));
    else if (o.calibRandom) args.push('--calib-random');
    if (o.calibrator && c.precision === 'int8') args.push('--calibrator', o.calibrator);
  }
  if (c.prune > 0) args.push('--prune', String(c.prune), '--prune-mode', o.pruneMode ?? DEFAULT_REPORT_PRUNE_MODE);
  const block = c.prune > 0 ? reportPruneBlock(o, c.target) : undefined;
  if (block !== undefined && block > 1) args.push('--prune-block', String(block));
  args.push('--target', c.target, '-o', q(`${c.name}`));
  return args.join(' ');
}

/**
 * Pruning granularity of the report's pruned configurations when --prune-mode is not given:
 * channel pruning, the one mode that shrinks stored size, MACs and latency on every target
 * (unstructured and 2:4 sparsity change only the compressed size on dense kernels).
 */
export const DEFAULT_REPORT_PRUNE_MODE: PruneMode = 'channel';

/**
 * Block size of the report's unstructured configurations: --prune-block, else 4 on wasm (1x4 blocks
 * run the block-sparse kernel: 1.4-1.9x at 70% on the autoencoder, where elementwise zeros give
 * ~1.1x; README Benchmarks) and 1 (elementwise) on other targets; undefined for other modes.
 * @param o report options @param target the configuration's target
 */
export function reportPruneBlock(o: ReportCliOptions, target: CompileTarget): number | undefined {
  if ((o.pruneMode ?? DEFAULT_REPORT_PRUNE_MODE) !== 'unstructured') return undefined;
  return o.pruneBlock ?? (target === 'wasm' ? 4 : 1);
}

/** `edgec report MODEL --data X --labels Y [--calib C] [-o DIR] [--sweep ...]` */
export async function cmdReport(model: string, o: ReportCliOptions, limits: Limits, version: string, io: CliIO): Promise<void> {
  const sweep = parseSweep(o.sweep ?? []);
  if (o.pruneBlock !== undefined && (o.pruneMode ?? DEFAULT_REPORT_PRUNE_MODE) !== 'unstructured') throw usage('--prune-block needs --prune-mode unstructured');
  const explicitInt8 = (o.sweep ?? []).some((s) => /precision=/.test(s)) && sweep.precision.includes('int8');
  const haveCalib = o.calib !== undefined || !!o.calibRandom;
  if (o.calib !== undefined && o.calibRandom) throw usage('give either --calib FILE or --calib-random, not both');
  const notes: string[] = [];
  if (!haveCalib && sweep.precision.includes('int8')) {
    if (explicitInt8) {
      throw usage('int8 in the sweep needs calibration data: --calib FILE', { hint: 'or --calib-random (smoke tests only)' });
    }
    sweep.precision = sweep.precision.filter((p) => p !== 'int8');
    notes.push('int8 was left out of the sweep: no --calib file was given.');
    io.err('edgec: warning: int8 left out of the sweep (no --calib FILE)\n');
  }
  const device = resolveDevice(o.device ?? DEFAULT_REPORT_DEVICE);
  const out = o.output ?? `${modelName(model)}.report`;
  const reads = [model, o.data, o.labels, ...(o.calib ?? [])];
  checkOutputPath(out, reads, 'artifact');

  const base = loadModel(model, { limits });
  if (base.artifactDir) throw usage('report takes a model file (.onnx), not an artifact folder', { file: model });
  const d: LabelledData = readLabelled(base.graph, model, o.data, o.labels, o.metric, limits, undefined, (m) => io.err(`edgec: note: ${m}\n`));
  let calib: Tensor[] | undefined;
  if (o.calib) calib = readCalibration(o.calib, base.graph, limits);
  else if (o.calibRandom) {
    calib = randomCalibration(base.graph);
    notes.push(`int8 calibrated on ${RANDOM_CALIB_SAMPLES} random samples (--calib-random).`);
  }
  const items: SweepItem[] = [];
  const total = sweep.precision.length * sweep.prune.length * sweep.target.length;
  let k = 0;
  try {
    for (const target of sweep.target) {
      for (const prune of sweep.prune) {
        for (const precision of sweep.precision) {
          k++;
          const name = `${precision}${prune > 0 ? `-p${prune}` : ''}-${target}`;
          io.err(`edgec: [${k}/${total}] ${name}\n`);
          const it = await measureConfig({ name, precision, prune, target }, o, limits, model, d, calib, device.name, io);
          it.config['rebuild'] = rebuildCommand(model, { name, precision, prune, target }, o);
          items.push(it);
        }
      }
    }
    await timeInterleaved(items, o.rounds ?? 5, o.runs ?? 10, io);
  } finally {
    for (const it of items) if (it.wasmDir) fs.rmSync(it.wasmDir, { recursive: true, force: true });
  }
  const configs = items.map((it) => it.config);
  if (sweep.prune.some((p) => p > 0)) notes.push(`pruned configurations use --prune-mode ${o.pruneMode ?? DEFAULT_REPORT_PRUNE_MODE}${o.pruneMode ? '' : ' (the default: it shrinks size, MACs and latency on every target)'}.`);
  if (sweep.prune.some((p) => p > 0) && (o.pruneMode ?? DEFAULT_REPORT_PRUNE_MODE) === 'unstructured') {
    notes.push(`unstructured configurations prune ${sweep.target.map((t) => `${t}: ${reportPruneBlock(o, t)! > 1 ? `1x${reportPruneBlock(o, t)} blocks of Gemm/MatMul weights` : 'elementwise'}`).join(', ')} (--prune-block).`);
  }
  const { json, md, html, report } = buildReport(configs, modelName(model), {
    metric: d.metric,
    device: device.name,
    notes: [
      `accuracy: ${d.metric} on ${sanitize(path.basename(o.data))} (${d.n} samples), run on each configuration's target (the reference interpreter where the target cannot run it).`,
      `size_bytes: bytes of the files the target emits (target onnx: model.onnx); gzip_bytes: the same files gzip-compressed (what sparsity saves); est_latency_ms and energy_mj: estimates for device ${device.name}; latency_ms: measured on this host only (configurations that cannot run on wasm have none).`,
      ...notes,
    ],
  });
  const files = new Map<string, string>([['report.json', json], ['report.md', md], ['report.html', html]]);
  writeOutputFolder(out, files, {
    inputs: reads,
    kind: 'artifact',
    manifest: { edgec: version, kind: 'report', model: path.basename(model), device: device.name, configs: configs.length },
  });
  io.out(`wrote ${sanitize(out, 200)} (${configs.length} configurations, Pareto front: ${report.pareto_front.map((n) => sanitize(n, 60)).join(', ') || 'none'})\n`);
}

/**
 * Compiles and measures one configuration. A configuration the target cannot compile is kept in
 * the report with its error, accuracy from the reference interpreter, and no size.
 */
async function measureConfig(
  c: { name: string; precision: Precision; prune: number; target: CompileTarget },
  o: ReportCliOptions,
  limits: Limits,
  model: string,
  d: LabelledData,
  calib: Tensor[] | undefined,
  device: string,
  io: CliIO,
): Promise<SweepItem> {
  const base = { name: c.name, precision: c.precision, prune: c.prune, target: c.target };
  const g = loadOnnxFile(model, { limits });
  let built: ReturnType<typeof buildGraph>;
  try {
    built = buildGraph(g, {
      target: c.target,
      precision: c.precision,
      ...(calib && (c.precision === 'int8' || c.prune > 0) ? { calib } : {}),
      ...(o.calibrator ? { calibrator: o.calibrator } : {}),
      ...(c.prune > 0 ? { prune: c.prune, pruneMode: o.pruneMode ?? DEFAULT_REPORT_PRUNE_MODE } : {}),
      ...(c.prune > 0 && reportPruneBlock(o, c.target) !== undefined ? { pruneBlock: reportPruneBlock(o, c.target)! } : {}),
      limits,
    }, { log: () => undefined });
  } catch (e) {
    if (!(e instanceof EdgecError) || e.kind === 'internal') throw e;
    io.err(`edgec:   ${c.name}: cannot build: ${sanitize(e.oneLine(), 300)}\n`);
    return { config: { ...base, accuracy: null, size_bytes: null, latency_ms: null, energy_mj: null, macs: null, error: e.oneLine() } };
  }
  let size: number | null = null;
  let gzip: number | null = null;
  let runTarget: 'ref' | 'wasm' = 'ref';
  let targetError: string | undefined;
  let tmp: string | undefined;
  let outputs: Tensor[];
  try {
    if (c.target === 'onnx') {
      const bytes = exportOnnx(built.onnxGraph);
      size = bytes.length;
      gzip = gzipSync(bytes, { level: 9 }).length;
    } else {
      try {
        const em = await emitTarget(c.target, built.graph, { precision: c.precision });
        size = filesBytes(em.files);
        gzip = filesGzipBytes(em.files);
        if (c.target === 'wasm') {
          runTarget = 'wasm';
          tmp = writeTempArtifact(em.files);
        }
      } catch (e) {
        if (!(e instanceof EdgecError) || e.kind !== 'unsupported') throw e;
        targetError = e.oneLine();
        io.err(`edgec:   ${c.name}: ${sanitize(targetError, 300)}\n`);
      }
    }
    // Accuracy on the configuration's target (the emitted wasm artifact), else the reference.
    const loaded = { graph: built.graph, file: model, ...(tmp ? { artifactDir: tmp, manifest: { target: 'wasm' } } : {}) };
    outputs = (await runOn(loaded, [d.x], runTarget)).outputs;
  } catch (e) {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const accuracy = scoreOutputs(outputs[0]!, d, o.labels);
  // device estimates only (no host calibration): deterministic, so they never add noise to the front
  const prof = await profileGraph(built.graph, { devices: [device], measure: [] });
  const q = built.quant;
  const config: MeasuredConfig = {
    ...base,
    accuracy,
    size_bytes: size,
    gzip_bytes: gzip,
    latency_ms: null,
    energy_mj: prof.energy.estimated[device]!,
    macs: prof.macs,
    nnz_macs: prof.nnz_macs,
    accuracy_target: runTarget,
    est_latency_ms: prof.latency.estimated[device]!,
    energy_source: `estimated for ${device}`,
    arena_bytes: prof.arena_bytes,
    weights_bytes: q ? q.weightBytesAfter : prof.weights_bytes,
    ...(built.prune ? { nnz_params: built.prune.nnzAfter, prune_mode: built.prune.mode, prune_pattern: built.prune.pattern } : {}),
    ...(q ? { float_islands: q.floatIslands.length } : {}),
    ...(targetError ? { error: targetError } : {}),
  };
  return { config, ...(tmp ? { wasmDir: tmp, graph: built.graph } : {}) };
}
