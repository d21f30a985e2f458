/**
 * `npm run bench`: edgec's wasm target against onnxruntime-web (WASM backend, SIMD, one thread,
 * same Node process) on every model in ../shared/models/bench.
 *
 * For each model: compile time, code size (model.wasm minus weights) vs ORT-web's .wasm, median
 * latency over N runs after warm-up for both runtimes and the speedup, the output check against
 * the reference interpreter (rtol 1e-3), and the share of this machine's measured WASM SIMD f32
 * multiply-add peak. Prints a markdown table; `--out FILE` writes the results as JSON.
 *
 * Flags: --models DIR (default ../shared/models/bench), --runs N (default 100), --warmup N (10),
 * --only a,b (model names), --out FILE, --no-check (skip the reference check).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import * as ort from 'onnxruntime-web';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { runGraph } from '../compiler/interp/interp.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { compileWasm } from '../targets/wasm/emit.js';
import { loadWasmArtifact, writeTempArtifact } from '../targets/wasm/runner.js';

interface Args {
  models: string;
  runs: number;
  warmup: number;
  only?: string[];
  out?: string;
  check: boolean;
}

function parseArgs(argv: string[]): Args {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = fs.existsSync(path.resolve(here, '../package.json')) ? path.resolve(here, '..') : path.resolve(here, '../..');
  const a: Args = { models: path.resolve(root, '../shared/models/bench'), runs: 100, warmup: 10, check: true };
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
    else throw new Error(`unknown flag ${k}`);
  }
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seeded uniform [-1, 1) data. */
function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    d[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return d;
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
  const ours = model.run(feeds);
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

  // timing: alternate the runtimes in blocks so both see the same machine state
  // warm-up: at least `warmup` runs and 300 ms each, so V8 has tiered both modules up
  for (const fn of [() => model.run(feeds), () => session.run(ortFeeds)]) {
    const end = performance.now() + 300;
    for (let i = 0; i < args.warmup || performance.now() < end; i++) await fn();
  }
  // alternate the runtimes in blocks of 10 runs so both see the same machine state (block-wise
  // rather than run-wise, so neither runtime always starts with caches the other one evicted)
  const te: number[] = [];
  const to: number[] = [];
  const block = 10;
  for (let done = 0; done < args.runs; done += block) {
    for (let i = 0; i < block; i++) {
      const s = performance.now();
      model.run(feeds);
      te.push(performance.now() - s);
    }
    for (let i = 0; i < block; i++) {
      const s = performance.now();
      await session.run(ortFeeds);
      to.push(performance.now() - s);
    }
  }
  await session.release();
  const edgecMs = median(te);
  const ortMs = median(to);
  const macs = art.manifest.macs;
  const gflops = (2 * macs) / (edgecMs / 1000) / 1e9;
  return {
    model: name, macs, compile_ms: compileMs, code_bytes: art.stats.codeBytes, wasm_bytes: art.stats.wasmBytes,
    weights_bytes: art.manifest.weights_bytes, arena_bytes: art.manifest.arena_bytes,
    edgec_ms: edgecMs, ort_ms: ortMs, edgec_min_ms: Math.min(...te), ort_min_ms: Math.min(...to), speedup: ortMs / edgecMs, edgec_gflops: gflops, peak_share: gflops / peak,
    max_rel_err_vs_ref: rel, matches_ref: ok, max_abs_diff_vs_ort: maxOrt,
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
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
  const geo = Math.exp(results.reduce((a, r) => a + Math.log(r.speedup), 0) / Math.max(results.length, 1));
  const geoMin = Math.exp(results.reduce((a, r) => a + Math.log(r.ort_min_ms / r.edgec_min_ms), 0) / Math.max(results.length, 1));
  const kb = (b: number) => (b / 1024).toFixed(1);
  const lines = [
    `WASM SIMD f32 mul+add peak on this machine: ${peak.toFixed(1)} GFLOP/s (one thread). ORT-web .wasm: ${kb(ortBytes)} KB.`,
    '',
    '| model | MACs | compile ms | code KB (no weights) | edgec ms (median / min) | ORT-web ms (median / min) | speedup (medians) | GFLOP/s | % of peak | matches ref (rtol 1e-3) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.model} | ${(r.macs / 1e6).toFixed(2)} M | ${r.compile_ms.toFixed(0)} | ${kb(r.code_bytes)} | ${r.edgec_ms.toFixed(3)} / ${r.edgec_min_ms.toFixed(3)} | ${r.ort_ms.toFixed(3)} / ${r.ort_min_ms.toFixed(3)} | ${r.speedup.toFixed(2)}x | ${r.edgec_gflops.toFixed(2)} | ${(100 * r.peak_share).toFixed(1)}% | ${r.matches_ref === null ? 'n/a' : r.matches_ref ? 'yes' : 'NO'} |`),
    '',
    `Geomean speedup over ORT-web: ${geo.toFixed(2)}x (${results.length} models; median of ${args.runs} runs each, the two runtimes alternating in blocks of 10, after >= ${args.warmup} warm-up runs and 300 ms each). Speedup from minimum latencies: ${geoMin.toFixed(2)}x.`,
  ];
  console.log(lines.join('\n'));
  if (args.out) {
    const json = { machine: { simd_peak_gflops: peak, node: process.version, ort_web: ort.env.versions.web ?? '', ort_wasm_bytes: ortBytes },
      runs: args.runs, warmup: args.warmup, geomean_speedup: geo, geomean_speedup_min: geoMin, models: results };
    fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    fs.writeFileSync(args.out, JSON.stringify(json, null, 2) + '\n');
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
