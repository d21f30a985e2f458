/**
 * The strongest peer of `npm run bench`: TensorFlow.js's wasm backend (XNNPACK kernels, SIMD, one
 * thread: `setThreadsCount(1)`, binaries from @tensorflow/tfjs-backend-wasm's dist/) racing edgec's
 * wasm artifact on the TF.js graph models of ../shared/models/tfjs, in the same Node process.
 *
 * For each model folder with a model.json: edgec imports it (loadTfjsModel), compiles fp32 wasm
 * (compileWasm) and, where the model quantizes, int8 wasm (quantizeModel with minmax calibration on
 * 8 seeded samples, then emitWasm); TF.js loads the same folder (tfjs-converter GraphModel on the
 * wasm backend). Both run one seeded input (f32 images in U(-1, 1), i32 / u8 images in 0..255).
 * Checks, before timing: edgec fp32 against the reference interpreter (rtol 1e-3) and against
 * TF.js's own outputs (rtol 1e-3, atol 1e-4, as tests/tfjs/oracle.test.ts), edgec int8 bit for bit
 * against the reference run of the integer graph. Timing: the runtimes alternate in blocks of 10
 * runs, the block order rotating each round, after warm-up (bench.ts's protocol); a TF.js run
 * includes reading its outputs back (dataSync), as edgec's run() returns its outputs as arrays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, GraphModel } from '@tensorflow/tfjs-converter';
import { loadTfjsModel } from '../compiler/frontends/tfjs/index.js';
import { runGraph } from '../compiler/interp/interp.js';
import { Tensor, TypedArray } from '../compiler/ir/tensor.js';
import { DType } from '../compiler/ir/dtype.js';
import { Graph } from '../compiler/ir/graph.js';
import { compileWasm, emitWasm } from '../targets/wasm/emit.js';
import { optimize } from '../compiler/pipeline.js';
import { quantizeModel } from '../quantize/index.js';
import { createFloatObserver } from '../targets/wasm/observe.js';
import { WasmModel, feedOf, loadWasmArtifact, tensorOfOutput, writeTempArtifact } from '../targets/wasm/runner.js';
import { median, uniform01 } from './stats.js';

/** One TF.js model's row: edgec fp32 (and int8) against TF.js wasm. */
export interface TfjsResult {
  model: string;
  macs: number;
  input: string;
  compile_ms: number;
  code_bytes: number;
  edgec_ms: number;
  edgec_min_ms: number;
  tfjs_ms: number;
  tfjs_min_ms: number;
  /** tfjs / edgec fp32, from medians and from minimums. */
  speedup: number;
  speedup_min: number;
  /** edgec fp32 within rtol 1e-3 of the reference interpreter (null: --no-check). */
  matches_ref: boolean | null;
  /** edgec fp32 within rtol 1e-3 / atol 1e-4 of TF.js wasm's outputs; the largest |difference|. */
  matches_tfjs: boolean;
  max_abs_diff_vs_tfjs: number;
  /** Names of the outputs outside that tolerance. */
  differ_tfjs: string[];
  /** The same against TF.js's CPU backend (the oracle of tests/tfjs/oracle.test.ts; absent: --no-check). */
  matches_tfjs_cpu?: boolean;
  max_abs_diff_vs_tfjs_cpu?: number;
  differ_tfjs_cpu?: string[];
  int8?: {
    int8_ms: number;
    int8_min_ms: number;
    /** tfjs / edgec int8 and edgec fp32 / edgec int8, from medians. */
    vs_tfjs: number;
    vs_fp32: number;
    bit_exact: boolean | null;
    /**
     * Largest relative difference from the reference run of the integer graph on outputs computed
     * by float ops after the last DequantizeLinear (a "float tail"); Infinity when another output
     * is not bit-exact.
     */
    max_rel_err_vs_ref: number;
  };
  /** Why there is no int8 row (the quantizer's or the wasm target's one-line error). */
  int8_skipped?: string;
}

export interface TfjsBenchOptions {
  dir: string;
  runs: number;
  warmup: number;
  /** Model names to run (undefined: all); 'tfjs' selects every TF.js model. */
  only?: string[] | undefined;
  check: boolean;
  int8: boolean;
}

/** A seeded image of `shape`: f32 in U(-1, 1), integer dtypes 0..255. */
function image(dt: DType, shape: number[], seed: number): Tensor {
  const u = uniform01(shape.reduce((p, q) => p * q, 1), seed);
  return dt === 'f32' ? new Tensor('f32', shape, Float32Array.from(u, (v) => v * 2 - 1)) : Tensor.from(dt, shape, Array.from(u, (v) => Math.floor(v * 256)));
}

/** The folder as a tf.io handler (model.json + its weight files, read from disk). */
function tfjsHandler(dir: string): tf.io.IOHandler {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  return tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    ...(json.signature ? { signature: json.signature } : {}),
  } as tf.io.ModelArtifacts);
}

let wasmPathsSet = false;

/** Selects TF.js's wasm backend: SIMD binary from the package's dist/, one thread. */
async function tfjsWasm(): Promise<void> {
  if (!wasmPathsSet) {
    const req = createRequire(import.meta.url);
    const dist = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
    setWasmPaths(dist + path.sep);
    setThreadsCount(1);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js wasm backend failed to initialize');
  await tf.ready();
  if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) throw new Error('TF.js wasm backend runs without SIMD here');
}

/** edgec's run() feeds for the input tensors (a dynamic artifact takes each input's shape). */
function feedsOf(model: WasmModel, inputs: Tensor[]): Record<string, TypedArray | { data: TypedArray; shape: number[] }> {
  const dynamic = typeof model.outputShapes === 'function';
  const feeds: Record<string, TypedArray | { data: TypedArray; shape: number[] }> = {};
  model.inputs.forEach((x, i) => {
    const data = feedOf(inputs[i]!, x.dtype as DType);
    feeds[x.name] = dynamic ? { data, shape: [...inputs[i]!.shape] } : data;
  });
  return feeds;
}

function outputsOf(model: WasmModel, out: Record<string, TypedArray>): Tensor[] {
  const shapes = typeof model.outputShapes === 'function' ? model.outputShapes() : undefined;
  return model.outputs.map((y) => tensorOfOutput(y.dtype as DType, shapes ? shapes[y.name]! : y.shape, out[y.name]!));
}

/** Largest |a - b| and whether every element is within atol + rtol * |b|. */
function compare(a: Tensor, b: Tensor, rtol: number, atol: number): { diff: number; ok: boolean } {
  if (a.data.length !== b.data.length) return { diff: Infinity, ok: false };
  const x = a.toNumbers();
  const y = b.toNumbers();
  let diff = 0;
  let ok = true;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= atol + rtol * Math.abs(y[i]!))) ok = false;
    diff = Math.max(diff, d);
  }
  return { diff, ok };
}

async function compileEdgec(files: ReadonlyMap<string, Uint8Array | string>): Promise<WasmModel> {
  const dir = writeTempArtifact(files);
  try {
    return await loadWasmArtifact(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The int8 artifact of a TF.js graph (quantizeModel as `edgec compile --int8` runs it), or why not. */
async function int8Of(file: string, calibShape: number[], dt: DType): Promise<{ model: WasmModel; graph: Graph } | string> {
  try {
    const g = loadTfjsModel(file);
    optimize(g, { target: 'wasm' });
    const calibN = 8;
    const calib = [image(dt, [calibN, ...calibShape.slice(1)], 99)];
    const r = quantizeModel(g, { mode: 'int8', calib, calibEngine: createFloatObserver });
    const art = emitWasm(r.graph, { precision: 'int8' });
    return { model: await compileEdgec(art.files), graph: r.graph };
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
}

/** Runs one TF.js model on TF.js wasm: execute() where the graph allows, else executeAsync(). */
function tfjsRunner(model: GraphModel, x: tf.Tensor, names: string[]): () => Promise<Tensor[]> {
  const dynamic = (() => {
    try {
      tf.dispose(model.execute(x, names));
      return false;
    } catch {
      return true;
    }
  })();
  return async () => {
    const outs = dynamic ? await model.executeAsync(x, names) : model.execute(x, names);
    const list = Array.isArray(outs) ? outs : [outs];
    const res = list.map((t) => t.dtype === 'int32'
      ? new Tensor('i32', [...t.shape], Int32Array.from(t.dataSync() as Int32Array))
      : new Tensor('f32', [...t.shape], Float32Array.from(t.dataSync() as Float32Array)));
    tf.dispose(list);
    return res;
  };
}

/** Benchmarks one TF.js model folder. */
async function benchOne(dir: string, opts: TfjsBenchOptions): Promise<TfjsResult> {
  const name = path.basename(dir);
  const file = path.join(dir, 'model.json');
  const t0 = performance.now();
  const g = loadTfjsModel(file);
  const art = compileWasm(g);
  const compileMs = performance.now() - t0;
  const model = await compileEdgec(art.files);

  const xt = g.typeOf(g.inputs[0]!);
  if (g.inputs.length !== 1) throw new Error(`${name}: the TF.js rows take single-input models`);
  const shape = xt.shape.map((d) => (typeof d === 'number' ? d : 1));
  const dynamicShape = (art.manifest as { max_input_shapes?: Record<string, number[]> }).max_input_shapes;
  const fixed = dynamicShape ? Object.values(dynamicShape)[0]! : shape;
  const x = image(xt.dtype, fixed, 4321 + name.length);
  const feeds = feedsOf(model, [x]);
  const ours = outputsOf(model, model.run(feeds));

  // TF.js: the same folder, the same input (int images as int32, as its signature takes them)
  const tdtOf = (m: GraphModel) => (m.inputs[0]!.dtype === 'int32' ? 'int32' : 'float32');
  const names = g.outputs.map((o) => g.value(o).name);
  const vsPeer = (theirs: Tensor[]) => {
    const out = { diff: 0, ok: theirs.length === ours.length, differ: [] as string[] };
    ours.forEach((o, k) => {
      const t = theirs[k];
      if (!t) return;
      const c = compare(o, t, 1e-3, 1e-4);
      out.diff = Math.max(out.diff, c.diff);
      if (!c.ok) out.differ.push(names[k]!);
      out.ok &&= c.ok;
    });
    return out;
  };
  // TF.js's CPU backend (the oracle of tests/tfjs/oracle.test.ts), once, for the check only
  let cpu: ReturnType<typeof vsPeer> | undefined;
  if (opts.check) {
    await tf.setBackend('cpu');
    const cm = await loadGraphModel(tfjsHandler(dir));
    const cx = tf.tensor(tdtOf(cm) === 'int32' ? Int32Array.from(x.toNumbers()) : Float32Array.from(x.toNumbers()), fixed, tdtOf(cm));
    cpu = vsPeer(await tfjsRunner(cm, cx, names)());
    tf.dispose(cx);
    cm.dispose();
  }
  await tfjsWasm();
  const tm = await loadGraphModel(tfjsHandler(dir));
  const tx = tf.tensor(tdtOf(tm) === 'int32' ? Int32Array.from(x.toNumbers()) : Float32Array.from(x.toNumbers()), fixed, tdtOf(tm));
  const tfRun = tfjsRunner(tm, tx, names);
  const peer = vsPeer(await tfRun());
  let refOk: boolean | null = null;
  if (opts.check) {
    const ref = runGraph(g, [x]);
    refOk = ref.every((r, k) => compare(ours[k]!, r, 1e-3, 1e-5).ok);
  }

  // int8 where the model quantizes
  let q: { model: WasmModel; exact: boolean | null; relErr: number } | string | undefined;
  if (opts.int8) {
    const r = await int8Of(file, fixed, xt.dtype);
    if (typeof r === 'string') q = r;
    else {
      const out8 = outputsOf(r.model, r.model.run(feedsOf(r.model, [x])));
      let exact: boolean | null = null;
      let relErr = 0;
      if (opts.check) {
        const ref8 = runGraph(r.graph, [x]);
        exact = ref8.every((e, k) => {
          const a = out8[k]!.data;
          return a.length === e.data.length && a.every((v, i) => Object.is(v, e.data[i]) || v === e.data[i]);
        });
        // outputs computed by float ops after the last DequantizeLinear (emotion's Softmax) round
        // like fp32 wasm: relErr covers those; every other output must be bit-exact
        let intExact = true;
        ref8.forEach((e, k) => {
          const a = out8[k]!.toNumbers();
          const b = e.toNumbers();
          const producer = r.graph.value(r.graph.outputs[k]!).producer;
          const tail = producer !== undefined && !['DequantizeLinear', 'Identity', 'Reshape'].includes(r.graph.node(producer).op);
          for (let i = 0; i < b.length; i++) {
            const d = Math.abs(a[i]! - b[i]!);
            if (!tail && !(d === 0 || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!)))) intExact = false;
            if (tail) relErr = Math.max(relErr, d / Math.max(Math.abs(b[i]!), 1e-30));
          }
        });
        if (!intExact) relErr = Infinity;
      }
      q = { model: r.model, exact, relErr };
    }
  }

  const runners: (() => unknown)[] = [() => model.run(feeds), tfRun];
  if (q && typeof q !== 'string') {
    const m8 = q.model;
    const f8 = feedsOf(m8, [x]);
    runners.push(() => m8.run(f8));
  }
  for (const fn of runners) {
    const end = performance.now() + 300;
    for (let i = 0; i < opts.warmup || performance.now() < end; i++) await fn();
  }
  const times: number[][] = runners.map(() => []);
  const block = 10;
  for (let done = 0, round = 0; done < opts.runs; done += block, round++) {
    for (let j = 0; j < runners.length; j++) {
      const k = (j + round) % runners.length;
      for (let i = 0; i < block; i++) {
        const s = performance.now();
        await runners[k]!();
        times[k]!.push(performance.now() - s);
      }
    }
  }
  tf.dispose(tx);
  tm.dispose();
  const [te, tt] = [times[0]!, times[1]!];
  const res: TfjsResult = {
    model: name, macs: art.manifest.macs, input: `${xt.dtype} [${fixed.join(',')}]`, compile_ms: compileMs, code_bytes: art.stats.codeBytes,
    edgec_ms: median(te), edgec_min_ms: Math.min(...te), tfjs_ms: median(tt), tfjs_min_ms: Math.min(...tt),
    speedup: median(tt) / median(te), speedup_min: Math.min(...tt) / Math.min(...te),
    matches_ref: refOk, matches_tfjs: peer.ok, max_abs_diff_vs_tfjs: peer.diff, differ_tfjs: peer.differ,
    ...(cpu ? { matches_tfjs_cpu: cpu.ok, max_abs_diff_vs_tfjs_cpu: cpu.diff, differ_tfjs_cpu: cpu.differ } : {}),
  };
  if (typeof q === 'string') res.int8_skipped = q;
  else if (q) {
    const t8 = times[2]!;
    const m8 = median(t8);
    res.int8 = { int8_ms: m8, int8_min_ms: Math.min(...t8), vs_tfjs: res.tfjs_ms / m8, vs_fp32: res.edgec_ms / m8, bit_exact: q.exact, max_rel_err_vs_ref: q.relErr };
  }
  return res;
}

/** Benchmarks every selected TF.js model folder under `opts.dir` (sorted by name). */
export async function benchTfjs(opts: TfjsBenchOptions): Promise<TfjsResult[]> {
  if (!fs.existsSync(opts.dir)) return [];
  const want = (m: string) => !opts.only || opts.only.includes('tfjs') || opts.only.includes(m);
  const dirs = fs.readdirSync(opts.dir).sort().filter((m) => want(m) && fs.existsSync(path.join(opts.dir, m, 'model.json')));
  const out: TfjsResult[] = [];
  for (const m of dirs) {
    process.stderr.write(`bench: tfjs/${m} (TF.js wasm peer)...\n`);
    out.push(await benchOne(path.join(opts.dir, m), opts));
  }
  return out;
}

/** Geometric mean of the fp32 speedups over TF.js wasm (medians, minimums). */
export function tfjsGeomean(rows: readonly TfjsResult[]): { speedup: number; speedup_min: number } {
  const gm = (f: (r: TfjsResult) => number) => Math.exp(rows.reduce((a, r) => a + Math.log(f(r)), 0) / Math.max(rows.length, 1));
  return { speedup: gm((r) => r.speedup), speedup_min: gm((r) => r.speedup_min) };
}

/** The markdown lines of the TF.js table (empty without rows). */
export function tfjsTable(rows: readonly TfjsResult[], runs: number): string[] {
  if (rows.length === 0) return [];
  const yn = (b: boolean | null) => (b === null ? 'n/a' : b ? 'yes' : 'NO');
  const geo = tfjsGeomean(rows);
  const q8 = rows.filter((r) => r.int8);
  const geo8 = Math.exp(q8.reduce((a, r) => a + Math.log(r.int8!.vs_tfjs), 0) / Math.max(q8.length, 1));
  const i8ref = (r: TfjsResult) => {
    const i8 = r.int8;
    if (!i8 || i8.bit_exact === null) return 'n/a';
    return i8.bit_exact ? 'bit-exact' : i8.max_rel_err_vs_ref <= 1e-5 ? `bit-exact to the float tail (rel ${i8.max_rel_err_vs_ref.toExponential(0)})` : 'NO';
  };
  const peer = (ok: boolean | undefined, d: number | undefined) => (ok === undefined ? 'n/a' : `${yn(ok)} (${d!.toExponential(1)})`);
  const lines = [
    '',
    `TF.js models (../shared/models/tfjs) against TensorFlow.js ${tf.version_core} wasm backend (XNNPACK, SIMD, setThreadsCount(1)), same process. Latencies median / min; speedup = TF.js / edgec (medians / minimums); output checks at rtol 1e-3 (max abs diff in parentheses).`,
    '',
    '| model | input | MACs | compile ms | code KB | edgec fp32 ms | TF.js wasm ms | fp32 speedup | edgec int8 ms | int8 vs TF.js | int8 vs edgec fp32 | fp32 = ref | fp32 = TF.js wasm | fp32 = TF.js cpu | int8 = ref |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|',
    ...rows.map((r) => {
      const i8 = r.int8;
      return `| ${r.model} | ${r.input} | ${(r.macs / 1e6).toFixed(1)} M | ${r.compile_ms.toFixed(0)} | ${(r.code_bytes / 1024).toFixed(1)} | ${r.edgec_ms.toFixed(3)} / ${r.edgec_min_ms.toFixed(3)} | ${r.tfjs_ms.toFixed(3)} / ${r.tfjs_min_ms.toFixed(3)} | ${r.speedup.toFixed(2)}x / ${r.speedup_min.toFixed(2)}x | ${i8 ? `${i8.int8_ms.toFixed(3)} / ${i8.int8_min_ms.toFixed(3)}` : 'n/a'} | ${i8 ? `${i8.vs_tfjs.toFixed(2)}x` : 'n/a'} | ${i8 ? `${i8.vs_fp32.toFixed(2)}x` : 'n/a'} | ${yn(r.matches_ref)} | ${peer(r.matches_tfjs, r.max_abs_diff_vs_tfjs)} | ${peer(r.matches_tfjs_cpu, r.max_abs_diff_vs_tfjs_cpu)} | ${i8ref(r)} |`;
    }),
    '',
    `Geomean fp32 speedup over TF.js wasm: ${geo.speedup.toFixed(2)}x (${rows.length} models; median of ${runs} runs each, the runtimes alternating in blocks of 10, rotating); from minimum latencies: ${geo.speedup_min.toFixed(2)}x.` +
      (q8.length ? ` edgec int8 over TF.js wasm (fp32): ${geo8.toFixed(2)}x geomean (${q8.length} models).` : ''),
  ];
  for (const r of rows) {
    if (r.differ_tfjs.length) {
      lines.push(`- ${r.model}: outputs ${r.differ_tfjs.join(', ')} differ from TF.js wasm's` +
        (r.differ_tfjs_cpu ? (r.differ_tfjs_cpu.length ? ` (and ${r.differ_tfjs_cpu.join(', ')} from TF.js cpu's)` : `; edgec matches TF.js's CPU backend on every output, so TF.js wasm disagrees with its own CPU backend there`) : ''));
    }
    if (r.int8_skipped) lines.push(`- ${r.model}: no int8 row (${r.int8_skipped})`);
  }
  return lines;
}
