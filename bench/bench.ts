/**
 * `npm run bench`: edgec's wasm target against onnxruntime-web (WASM backend, SIMD, one thread,
 * same Node process) on every model in ../shared/models/bench.
 *
 * For each model: compile time, code size (model.wasm minus weights) vs ORT-web's .wasm, median
 * latency over N runs after warm-up for both runtimes and the speedup, the output check against
 * the reference interpreter (rtol 1e-3), and the share of this machine's measured WASM SIMD f32
 * multiply-add peak. Prints a markdown table; `--out FILE` writes the results as JSON.
 *
 * int8 rows (unless --no-int8): the model quantized by quantizeModel (seeded uniform [-1, 1)
 * calibration, minmax) and emitted by emitWasm, timed against edgec fp32, ORT-web fp32 and ORT-web
 * running the same quantization as standard ONNX (exportOnnx of quantizeModel's `qdq` graph), the
 * four runtimes alternating in blocks; its output must equal the reference interpreter's run of the
 * integer graph bit for bit. The int8 artifact holds model-relaxed.wasm (--wasm-relaxed-simd): it
 * runs too, as its own column (int8 relaxed vs int8 plain = model.wasm), when this Node runs relaxed
 * SIMD correctly; for that the bench re-executes itself with `--experimental-wasm-relaxed-simd
 * --no-liftoff` (Node 20 has relaxed SIMD behind the flag, and its baseline compiler gets
 * i32x4.relaxed_dot_i8x16_i7x16_add_s wrong, which model.mjs's probe rejects; every runtime timed is
 * warmed up until tiered up, so the optimizing compiler from the start changes no timing). --no-relaxed
 * skips both.
 *
 * Recurrent rows (unless --no-rnn): an LSTM and a GRU layer built in code (bench/recurrent.ts:
 * 1x100x40 input, hidden 128), timed the same way against ORT-web in a table of their own (fp32; not
 * part of the model-zoo geomean); --rnn-sweep adds more shapes (recurrentSweep).
 *
 * Flags: --models DIR (default ../shared/models/bench), --runs N (default 100), --warmup N (10),
 * --only a,b (model names; `recurrent` selects every recurrent row), --out FILE, --no-check (skip
 * the reference check), --no-int8, --no-rnn, --rnn-sweep, --no-prune (skip the pruning rows of
 * bench/pruning.ts; `--only prune` selects only them), --no-relaxed (no int8 relaxed-SIMD column),
 * --act-bits 7 (the int8 rows quantize activations to 7-bit ranges, quantize/qdq.ts actBits: the
 * relaxed column then runs the one-plane kernel; plain and relaxed time the same 7-bit graph).
 * `--only threads[,model...]`: only the threads rows of bench/threads.ts (edgec and ORT-web on 1 and 2
 * threads, fp32 and int8), run alone because ORT-web sizes its thread pool at its first session.
 *
 * TF.js rows (unless --no-tfjs; bench/tfjs.ts): the TF.js graph models of --tfjs-models DIR
 * (default ../shared/models/tfjs) raced against TensorFlow.js's wasm backend (XNNPACK, SIMD, one
 * thread) in a table of their own; `--only tfjs` selects only them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import * as ort from 'onnxruntime-web';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { runGraph } from '../compiler/interp/interp.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { compileWasm, emitWasm } from '../targets/wasm/emit.js';
import { exportOnnx } from '../compiler/frontends/onnx/export.js';
import { optimize } from '../compiler/pipeline.js';
import { quantizeModel } from '../quantize/index.js';
import { loadWasmArtifact, writeTempArtifact } from '../targets/wasm/runner.js';
import { recurrentModels, recurrentSweep } from './recurrent.js';
import { benchPruning, pruningTable } from './pruning.js';
import { benchThreads, threadsTable } from './threads.js';
import { TfjsResult, benchTfjs, tfjsGeomean, tfjsTable } from './tfjs.js';
import { median, randomData } from './stats.js';

interface Args {
  models: string;
  runs: number;
  warmup: number;
  only?: string[];
  out?: string;
  check: boolean;
  int8: boolean;
  rnn: boolean;
  rnnSweep: boolean;
  prune: boolean;
  relaxed: boolean;
  /** int8 activation bits (--act-bits 7|8). */
  actBits: 7 | 8;
  tfjs: boolean;
  tfjsModels: string;
}

function parseArgs(argv: string[]): Args {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = fs.existsSync(path.resolve(here, '../package.json')) ? path.resolve(here, '..') : path.resolve(here, '../..');
  const a: Args = { models: path.resolve(root, '../shared/models/bench'), runs: 100, warmup: 10, check: true, int8: true, rnn: true, rnnSweep: false, prune: true, relaxed: true, actBits: 8,
    tfjs: true, tfjsModels: path.resolve(root, '../shared/models/tfjs') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--models') a.models = v();
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--only') a.only = v().split(',');
    else if (k === '--out') a.out = v();
    else if (k === '--no-check') a.check = false;
    else if (k === '--no-int8') a.int8 = false;
    else if (k === '--no-relaxed') a.relaxed = false;
    else if (k === '--act-bits') {
      const b = v();
      if (b !== '7' && b !== '8') throw new Error(`--act-bits takes 7 or 8, got ${b}`);
      a.actBits = b === '7' ? 7 : 8;
    }
    else if (k === '--no-rnn') a.rnn = false;
    else if (k === '--rnn-sweep') a.rnnSweep = true;
    else if (k === '--no-prune') a.prune = false;
    else if (k === '--no-tfjs') a.tfjs = false;
    else if (k === '--tfjs-models') a.tfjsModels = v();
    else throw new Error(`unknown flag ${k}`);
  }
  return a;
}

const PEAK_CHAINS = 12;

/**
 * Measures this machine's WASM SIMD f32 multiply+add peak (GFLOP/s, one thread): 12 independent
 * f32x4 chains acc = acc * m + a (one f32x4.mul and one f32x4.add per chain and iteration, 2 flops
 * per lane), enough chains to hide the mul+add latency so the loop is throughput bound.
 */
async function simdPeak(): Promise<number> {
  const mod = new binaryen.Module();
  mod.setFeatures(binaryen.Features.MVP | binaryen.Features.SIMD128);
  const v = binaryen.v128;
  const NA = PEAK_CHAINS;
  const body: number[] = [];
  for (let k = 0; k < NA; k++) body.push(mod.local.set(1 + k, mod.f32x4.splat(mod.f32.const(1 + k * 1e-3))));
  body.push(mod.local.set(NA + 1, mod.f32x4.splat(mod.f32.const(0.99999))));
  body.push(mod.local.set(NA + 2, mod.f32x4.splat(mod.f32.const(1e-6))));
  const inner: number[] = [];
  for (let k = 0; k < NA; k++) {
    inner.push(mod.local.set(1 + k, mod.f32x4.add(mod.f32x4.mul(mod.local.get(1 + k, v), mod.local.get(NA + 1, v)), mod.local.get(NA + 2, v))));
  }
  inner.push(mod.local.set(0, mod.i32.sub(mod.local.get(0, binaryen.i32), mod.i32.const(1))));
  inner.push(mod.br('L', mod.i32.gt_s(mod.local.get(0, binaryen.i32), mod.i32.const(0))));
  body.push(mod.loop('L', mod.block(null, inner)));
  let sum = mod.local.get(1, v);
  for (let k = 2; k <= NA; k++) sum = mod.f32x4.add(sum, mod.local.get(k, v));
  body.push(mod.f32x4.extract_lane(sum, 0));
  mod.addFunction('peak', binaryen.createType([binaryen.i32]), binaryen.f32, new Array(NA + 2).fill(v), mod.block(null, body, binaryen.f32));
  mod.addFunctionExport('peak', 'peak');
  if (!mod.validate()) throw new Error('peak module invalid');
  const bytes = mod.emitBinary();
  mod.dispose();
  const wa = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;
  const { instance } = await wa.instantiate(bytes);
  const peak = instance.exports['peak'] as (n: number) => number;
  // many short calls: V8 tiers wasm functions up between calls (no on-stack replacement)
  const iters = 100_000;
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) peak(iters);
  const times: number[] = [];
  for (let r = 0; r < 31; r++) {
    const t0 = performance.now();
    peak(iters);
    times.push(performance.now() - t0);
  }
  const flops = iters * PEAK_CHAINS * 4 * 2;
  return flops / (median(times) / 1000) / 1e9;
}

interface ModelResult {
  model: string;
  macs: number;
  compile_ms: number;
  code_bytes: number;
  wasm_bytes: number;
  weights_bytes: number;
  arena_bytes: number;
  edgec_ms: number;
  ort_ms: number;
  edgec_min_ms: number;
  ort_min_ms: number;
  speedup: number;
  edgec_gflops: number;
  peak_share: number;
  max_rel_err_vs_ref: number | null;
  matches_ref: boolean | null;
  max_abs_diff_vs_ort: number;
  int8?: Int8Result;
}

/** int8 row of one model: edgec int8 wasm against edgec fp32, ORT-web fp32 and ORT-web on the QDQ model. */
interface Int8Result {
  compile_ms: number;
  code_bytes: number;
  weights_bytes: number;
  arena_bytes: number;
  int8_ms: number;
  int8_min_ms: number;
  fp32_ms: number;
  fp32_min_ms: number;
  ort_ms: number;
  ort_min_ms: number;
  ort_qdq_ms: number;
  ort_qdq_min_ms: number;
  /** Ratios of medians (and of minimums): other runtime's latency / edgec int8's. */
  vs_fp32: number;
  vs_fp32_min: number;
  vs_ort: number;
  vs_ort_min: number;
  vs_ort_qdq: number;
  vs_ort_qdq_min: number;
  /** Output identical to the reference interpreter's run of the integer graph (null: --no-check). */
  bit_exact: boolean | null;
  /** Max |int8 - fp32 reference| on the bench input (quantization error, for information). */
  max_abs_diff_vs_fp32: number;
  /** model-relaxed.wasm (null: this engine does not run relaxed SIMD, or --no-relaxed). */
  relaxed: null | {
    ms: number;
    min_ms: number;
    /** Ratios of medians: other latency / relaxed int8's. */
    vs_plain: number;
    vs_fp32: number;
    vs_ort: number;
    bit_exact: boolean | null;
  };
}

function maxRelErr(got: Float32Array, want: Float32Array): { rel: number; ok: boolean } {
  let worst = 0;
  let ok = true;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    const scale = Math.abs(want[i]!);
    if (err > 1e-5 + 1e-3 * scale) ok = false;
    worst = Math.max(worst, err / Math.max(scale, 1e-6));
  }
  return { rel: worst, ok };
}

async function benchModel(file: string, args: Args, peak: number): Promise<ModelResult> {
  const name = path.basename(file, '.onnx');
  const t0 = performance.now();
  const g = loadOnnxFile(file);
  const art = compileWasm(g);
  const compileMs = performance.now() - t0;
  const dir = writeTempArtifact(art.files);
  const model = await loadWasmArtifact(dir);
  fs.rmSync(dir, { recursive: true, force: true });

  const feeds: Record<string, Float32Array> = {};
  const ortFeeds: Record<string, ort.Tensor> = {};
  model.inputs.forEach((x, i) => {
    const d = randomData(x.shape.reduce((p, q) => p * q, 1), 1234 + i);
    feeds[x.name] = d;
    ortFeeds[x.name] = new ort.Tensor('float32', d, x.shape);
  });

  const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(file)), {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all',
  });

  // correctness: reference interpreter and ORT
  // the bench models are float models: f32 outputs (Float32Array)
  const ours = model.run(feeds) as Record<string, Float32Array>;
  const ortOut = await session.run(ortFeeds);
  let maxOrt = 0;
  model.outputs.forEach((y) => {
    const o = ortOut[y.name]?.data as Float32Array | undefined;
    if (!o) return;
    const d = ours[y.name]!;
    for (let i = 0; i < d.length; i++) maxOrt = Math.max(maxOrt, Math.abs(d[i]! - o[i]!));
  });
  let rel: number | null = null;
  let ok: boolean | null = null;
  if (args.check) {
    const ref = runGraph(g, model.inputs.map((x) => new Tensor('f32', x.shape, feeds[x.name]!)));
    rel = 0;
    ok = true;
    model.outputs.forEach((y, k) => {
      const r = maxRelErr(ours[y.name]!, ref[k]!.data as Float32Array);
      rel = Math.max(rel!, r.rel);
      ok = ok! && r.ok;
    });
  }

  // int8: quantize (seeded calibration), emit, ORT-web session on the QDQ export
  let q: { model: Awaited<ReturnType<typeof loadWasmArtifact>>; session: ort.InferenceSession; compileMs: number; art: ReturnType<typeof emitWasm>;
    exact: boolean | null; diffFp32: number; relaxed?: Awaited<ReturnType<typeof loadWasmArtifact>>; relaxedExact: boolean | null } | undefined;
  if (args.int8) {
    const tq = performance.now();
    const gq = loadOnnxFile(file);
    optimize(gq, { target: 'wasm' });
    const calibN = 8;
    const calib = model.inputs.map((x, i) => new Tensor('f32', [calibN, ...x.shape.slice(1)],
      randomData(calibN * x.shape.slice(1).reduce((p, r) => p * r, 1), 99 + i)));
    const r = quantizeModel(gq, { mode: 'int8', calib, actBits: args.actBits });
    const art8 = emitWasm(r.graph, { precision: 'int8', relaxedSimd: args.relaxed });
    const compileMs8 = performance.now() - tq;
    const d8 = writeTempArtifact(art8.files);
    const model8 = await loadWasmArtifact(d8, { relaxedSimd: false });
    const relaxed8 = args.relaxed ? await loadWasmArtifact(d8, { relaxedSimd: true }) : undefined;
    fs.rmSync(d8, { recursive: true, force: true });
    const sessQ = await ort.InferenceSession.create(exportOnnx(r.qdq), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const out8 = model8.run(feeds) as Record<string, Float32Array>;
    let exact: boolean | null = null;
    const rx = relaxed8?.relaxedSimd ? relaxed8 : undefined;
    let relaxedExact: boolean | null = null;
    if (args.check) {
      const ref8 = runGraph(r.graph, model8.inputs.map((x) => new Tensor('f32', x.shape, feeds[x.name]!)));
      const same = (out: Record<string, Float32Array>) => model8.outputs.every((y, k) => {
        const a = new Uint32Array(out[y.name]!.buffer.slice(0));
        const e = new Uint32Array(Float32Array.from(ref8[k]!.data as Float32Array).buffer);
        return a.length === e.length && a.every((v, i) => v === e[i]);
      });
      exact = same(out8);
      if (rx) relaxedExact = same(rx.run(feeds) as Record<string, Float32Array>);
    }
    let diff = 0;
    model8.outputs.forEach((y) => {
      const a = out8[y.name]!;
      const b = ours[y.name]!;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    });
    q = { model: model8, session: sessQ, compileMs: compileMs8, art: art8, exact, diffFp32: diff, ...(rx ? { relaxed: rx } : {}), relaxedExact };
  }

  // the runtimes timed: edgec fp32, ORT-web fp32, and with int8: edgec int8, ORT-web on the QDQ model
  const runners: (() => unknown)[] = [() => model.run(feeds), () => session.run(ortFeeds)];
  if (q) runners.push(() => q!.model.run(feeds), () => q!.session.run(ortFeeds));
  if (q?.relaxed) runners.push(() => q!.relaxed!.run(feeds));
  // warm-up: at least `warmup` runs and 300 ms each, so V8 has tiered every module up
  for (const fn of runners) {
    const end = performance.now() + 300;
    for (let i = 0; i < args.warmup || performance.now() < end; i++) await fn();
  }
  // alternate the runtimes in blocks of 10 runs so all see the same machine state (block-wise
  // rather than run-wise, so no runtime always starts with caches another one evicted); the block
  // order rotates each round
  const times: number[][] = runners.map(() => []);
  const block = 10;
  for (let done = 0, round = 0; done < args.runs; done += block, round++) {
    for (let j = 0; j < runners.length; j++) {
      const k = (j + round) % runners.length;
      const fn = runners[k]!;
      for (let i = 0; i < block; i++) {
        const s = performance.now();
        await fn();
        times[k]!.push(performance.now() - s);
      }
    }
  }
  await session.release();
  const [te, to] = [times[0]!, times[1]!];
  const edgecMs = median(te);
  const ortMs = median(to);
  let int8: Int8Result | undefined;
  if (q) {
    await q.session.release();
    const [ti, tq] = [times[2]!, times[3]!];
    const m8 = median(ti), m8min = Math.min(...ti);
    const mq = median(tq), mqmin = Math.min(...tq);
    int8 = {
      compile_ms: q.compileMs, code_bytes: q.art.stats.codeBytes, weights_bytes: q.art.manifest.weights_bytes, arena_bytes: q.art.manifest.arena_bytes,
      int8_ms: m8, int8_min_ms: m8min, fp32_ms: edgecMs, fp32_min_ms: Math.min(...te), ort_ms: ortMs, ort_min_ms: Math.min(...to),
      ort_qdq_ms: mq, ort_qdq_min_ms: mqmin,
      vs_fp32: edgecMs / m8, vs_fp32_min: Math.min(...te) / m8min, vs_ort: ortMs / m8, vs_ort_min: Math.min(...to) / m8min,
      vs_ort_qdq: mq / m8, vs_ort_qdq_min: mqmin / m8min, bit_exact: q.exact, max_abs_diff_vs_fp32: q.diffFp32,
      relaxed: null,
    };
    if (q.relaxed) {
      const tr = times[4]!;
      const mr = median(tr);
      int8.relaxed = { ms: mr, min_ms: Math.min(...tr), vs_plain: m8 / mr, vs_fp32: edgecMs / mr, vs_ort: ortMs / mr, bit_exact: q.relaxedExact };
    }
  }
  const macs = art.manifest.macs;
  const gflops = (2 * macs) / (edgecMs / 1000) / 1e9;
  return {
    model: name, macs, compile_ms: compileMs, code_bytes: art.stats.codeBytes, wasm_bytes: art.stats.wasmBytes,
    weights_bytes: art.manifest.weights_bytes, arena_bytes: art.manifest.arena_bytes,
    edgec_ms: edgecMs, ort_ms: ortMs, edgec_min_ms: Math.min(...te), ort_min_ms: Math.min(...to), speedup: ortMs / edgecMs, edgec_gflops: gflops, peak_share: gflops / peak,
    max_rel_err_vs_ref: rel, matches_ref: ok, max_abs_diff_vs_ort: maxOrt, ...(int8 ? { int8 } : {}),
  };
}

function ortWasmBytes(): number {
  try {
    const req = createRequire(import.meta.url);
    const dir = path.dirname(req.resolve('onnxruntime-web'));
    const f = path.join(dir, 'ort-wasm-simd-threaded.wasm');
    return fs.existsSync(f) ? fs.statSync(f).size : 0;
  } catch {
    return 0;
  }
}

/**
 * Re-executes the bench with the Node flags relaxed SIMD needs (see the file comment) unless they
 * are given, --no-relaxed is, or this is the re-executed process; returns false when it did not.
 */
function relaunchForRelaxedSimd(args: Args): boolean {
  if (!args.relaxed || process.env['EDGEC_BENCH_RELAUNCHED']) return false;
  // Node >= 21 has relaxed SIMD on (and may drop the experimental flag)
  const need = [...(Number(process.versions.node.split('.')[0]) < 21 ? ['--experimental-wasm-relaxed-simd'] : []), '--no-liftoff'];
  const flags = need.filter((f) => !process.execArgv.includes(f));
  if (flags.length === 0) return false;
  const r = spawnSync(process.execPath, [...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, EDGEC_BENCH_RELAUNCHED: '1' } });
  process.exit(r.status ?? 1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  relaunchForRelaxedSimd(args);
  if (args.only?.includes('threads')) {
    const t = await benchThreads(args.models, args.runs, args.warmup, args.only);
    console.log(threadsTable(t).join('\n'));
    if (args.out) {
      fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
      fs.writeFileSync(args.out, JSON.stringify({ machine: { node: process.version, cpus: os.cpus().length }, runs: args.runs, threads: t }, null, 2) + '\n');
    }
    return;
  }
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const files = fs.readdirSync(args.models).filter((f) => f.endsWith('.onnx')).sort()
    .filter((f) => !args.only || args.only.includes(path.basename(f, '.onnx')));
  const peak = await simdPeak();
  const ortBytes = ortWasmBytes();
  const results: ModelResult[] = [];
  for (const f of files) {
    process.stderr.write(`bench: ${f}...\n`);
    results.push(await benchModel(path.join(args.models, f), args, peak));
  }
  // recurrent layers built in code: fp32 rows against ORT-web (written to a temporary folder)
  const rnn: ModelResult[] = [];
  if (args.rnn) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-bench-rnn-'));
    try {
      const all = [...recurrentModels(), ...(args.rnnSweep ? recurrentSweep() : [])];
      for (const m of all.filter((x) => !args.only || args.only.includes('recurrent') || args.only.includes(x.name))) {
        process.stderr.write(`bench: ${m.name} (built in code)...\n`);
        const f = path.join(tmp, `${m.name}.onnx`);
        fs.writeFileSync(f, m.bytes);
        rnn.push(await benchModel(f, { ...args, int8: false }, peak));
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const pruned = args.prune ? await benchPruning(args.models, args.runs, args.warmup, args.only) : [];
  const tfjsRows: TfjsResult[] = args.tfjs
    ? await benchTfjs({ dir: args.tfjsModels, runs: args.runs, warmup: args.warmup, only: args.only, check: args.check, int8: args.int8 })
    : [];
  const geo = Math.exp(results.reduce((a, r) => a + Math.log(r.speedup), 0) / Math.max(results.length, 1));
  const geoMin = Math.exp(results.reduce((a, r) => a + Math.log(r.ort_min_ms / r.edgec_min_ms), 0) / Math.max(results.length, 1));
  const kb = (b: number) => (b / 1024).toFixed(1);
  const lines = [
    `WASM SIMD f32 mul+add peak on this machine: ${peak.toFixed(1)} GFLOP/s (one thread). ORT-web .wasm: ${kb(ortBytes)} KB.`,
  ];
  if (results.length > 0) {
    lines.push(
      '',
      '| model | MACs | compile ms | code KB (no weights) | edgec ms (median / min) | ORT-web ms (median / min) | speedup (medians) | GFLOP/s | % of peak | matches ref (rtol 1e-3) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      ...results.map((r) => `| ${r.model} | ${(r.macs / 1e6).toFixed(2)} M | ${r.compile_ms.toFixed(0)} | ${kb(r.code_bytes)} | ${r.edgec_ms.toFixed(3)} / ${r.edgec_min_ms.toFixed(3)} | ${r.ort_ms.toFixed(3)} / ${r.ort_min_ms.toFixed(3)} | ${r.speedup.toFixed(2)}x | ${r.edgec_gflops.toFixed(2)} | ${(100 * r.peak_share).toFixed(1)}% | ${r.matches_ref === null ? 'n/a' : r.matches_ref ? 'yes' : 'NO'} |`),
      '',
      `Geomean speedup over ORT-web: ${geo.toFixed(2)}x (${results.length} models; median of ${args.runs} runs each, the runtimes alternating in blocks of 10, rotating, after >= ${args.warmup} warm-up runs and 300 ms each). Speedup from minimum latencies: ${geoMin.toFixed(2)}x.`,
    );
  }
  const q8 = results.filter((r) => r.int8).map((r) => ({ model: r.model, ...r.int8! }));
  const gm = (f: (r: (typeof q8)[number]) => number) => Math.exp(q8.reduce((a, r) => a + Math.log(f(r)), 0) / Math.max(q8.length, 1));
  const geo8 = q8.length === 0 ? undefined : {
    vs_fp32: gm((r) => r.vs_fp32), vs_fp32_min: gm((r) => r.vs_fp32_min), vs_ort: gm((r) => r.vs_ort), vs_ort_min: gm((r) => r.vs_ort_min),
    vs_ort_qdq: gm((r) => r.vs_ort_qdq), vs_ort_qdq_min: gm((r) => r.vs_ort_qdq_min),
  };
  const rx8 = q8.filter((r) => r.relaxed);
  const gr = (f: (r: NonNullable<Int8Result['relaxed']>) => number) => Math.exp(rx8.reduce((a, r) => a + Math.log(f(r.relaxed!)), 0) / Math.max(rx8.length, 1));
  const geoRx = rx8.length === 0 ? undefined : { vs_plain: gr((r) => r.vs_plain), vs_fp32: gr((r) => r.vs_fp32), vs_ort: gr((r) => r.vs_ort) };
  if (geo8) {
    const ms = (a: number, b: number) => `${a.toFixed(3)} / ${b.toFixed(3)}`;
    const x = (a: number, b: number) => `${a.toFixed(2)}x / ${b.toFixed(2)}x`;
    lines.push(
      '',
      `int8 (quantizeModel, minmax on 8 seeded uniform samples, ${args.actBits}-bit activation ranges; edgec emitWasm of the integer graph; ORT-web QDQ = exportOnnx(qdq) on ORT-web WASM, one thread). Latencies median / min; ratios = other / edgec int8, from medians / from minimums.`,
      '',
      '| model | compile ms | code KB | weights KB | edgec int8 ms | edgec fp32 ms | ORT-web fp32 ms | ORT-web QDQ ms | vs edgec fp32 | vs ORT-web fp32 | vs ORT-web QDQ | bit-exact vs ref |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      ...q8.map((r) => `| ${r.model} | ${r.compile_ms.toFixed(0)} | ${kb(r.code_bytes)} | ${kb(r.weights_bytes)} | ${ms(r.int8_ms, r.int8_min_ms)} | ${ms(r.fp32_ms, r.fp32_min_ms)} | ${ms(r.ort_ms, r.ort_min_ms)} | ${ms(r.ort_qdq_ms, r.ort_qdq_min_ms)} | ${x(r.vs_fp32, r.vs_fp32_min)} | ${x(r.vs_ort, r.vs_ort_min)} | ${x(r.vs_ort_qdq, r.vs_ort_qdq_min)} | ${r.bit_exact === null ? 'n/a' : r.bit_exact ? 'yes' : 'NO'} |`),
      `| **geomean** | | | | | | | | ${x(geo8.vs_fp32, geo8.vs_fp32_min)} | ${x(geo8.vs_ort, geo8.vs_ort_min)} | ${x(geo8.vs_ort_qdq, geo8.vs_ort_qdq_min)} | |`,
    );
    if (geoRx) {
      lines.push(
        '',
        'int8 plain (model.wasm, SIMD128) and int8 relaxed (model-relaxed.wasm, relaxed-SIMD GEMM conv tiles; create({ relaxedSimd: true })), same artifact, timed in the same rounds. Latencies median / min; ratios from medians.',
        '',
        '| model | int8 plain ms | int8 relaxed ms | relaxed vs plain | plain vs ORT-web fp32 | relaxed vs ORT-web fp32 | plain vs edgec fp32 | relaxed vs edgec fp32 | relaxed bit-exact vs ref |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---|',
        ...rx8.map((r) => `| ${r.model} | ${ms(r.int8_ms, r.int8_min_ms)} | ${ms(r.relaxed!.ms, r.relaxed!.min_ms)} | ${r.relaxed!.vs_plain.toFixed(2)}x | ${r.vs_ort.toFixed(2)}x | ${r.relaxed!.vs_ort.toFixed(2)}x | ${r.vs_fp32.toFixed(2)}x | ${r.relaxed!.vs_fp32.toFixed(2)}x | ${r.relaxed!.bit_exact === null ? 'n/a' : r.relaxed!.bit_exact ? 'yes' : 'NO'} |`),
        `| **geomean** | | | ${geoRx.vs_plain.toFixed(2)}x | ${gm((r) => r.vs_ort).toFixed(2)}x | ${geoRx.vs_ort.toFixed(2)}x | ${gm((r) => r.vs_fp32).toFixed(2)}x | ${geoRx.vs_fp32.toFixed(2)}x | |`,
      );
    } else if (args.relaxed && q8.length > 0) {
      lines.push('', `int8 relaxed: not run (this engine does not run relaxed SIMD correctly; Node ${process.version}, flags ${process.execArgv.join(' ') || 'none'}).`);
    }
  }
  if (rnn.length > 0) {
    const geoR = Math.exp(rnn.reduce((a, r) => a + Math.log(r.speedup), 0) / rnn.length);
    lines.push(
      '',
      'Recurrent layers (built in code, bench/recurrent.ts: model name [bi]kind_1xTxI_hH = x [T,1,I], hidden H, batch 1, whole sequence per call; fp32):',
      '',
      '| model | MACs | compile ms | code KB (no weights) | edgec ms (median / min) | ORT-web ms (median / min) | speedup (medians) | GFLOP/s | % of peak | matches ref (rtol 1e-3) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      ...rnn.map((r) => `| ${r.model} | ${(r.macs / 1e6).toFixed(2)} M | ${r.compile_ms.toFixed(0)} | ${kb(r.code_bytes)} | ${r.edgec_ms.toFixed(3)} / ${r.edgec_min_ms.toFixed(3)} | ${r.ort_ms.toFixed(3)} / ${r.ort_min_ms.toFixed(3)} | ${r.speedup.toFixed(2)}x | ${r.edgec_gflops.toFixed(2)} | ${(100 * r.peak_share).toFixed(1)}% | ${r.matches_ref === null ? 'n/a' : r.matches_ref ? 'yes' : 'NO'} |`),
      '',
      `Geomean speedup of the recurrent rows over ORT-web: ${geoR.toFixed(2)}x.`,
    );
  }
  lines.push(...pruningTable(pruned));
  lines.push(...tfjsTable(tfjsRows, args.runs));
  console.log(lines.join('\n'));
  if (args.out) {
    const json = { machine: { simd_peak_gflops: peak, node: process.version, node_flags: process.execArgv, ort_web: ort.env.versions.web ?? '', ort_wasm_bytes: ortBytes },
      runs: args.runs, warmup: args.warmup, act_bits: args.actBits, geomean_speedup: geo, geomean_speedup_min: geoMin, ...(geo8 ? { int8_geomean: geo8 } : {}), ...(geoRx ? { int8_relaxed_geomean: geoRx } : {}), models: results,
      ...(rnn.length ? { recurrent: rnn } : {}), ...(pruned.length ? { pruning: pruned } : {}),
      ...(tfjsRows.length ? { tfjs: { geomean: tfjsGeomean(tfjsRows), models: tfjsRows } } : {}) };
    fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    fs.writeFileSync(args.out, JSON.stringify(json, null, 2) + '\n');
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
