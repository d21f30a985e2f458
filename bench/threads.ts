/**
 * Threads rows of `npm run bench` (`--only threads`, or `--only threads,mobilenetv2`...): each bench
 * model, fp32 and int8, on edgec wasm with 1 thread (model.wasm) and 2 threads (model-threads.wasm,
 * create({ threads: 2 })) against ORT-web with intraOpNumThreads 1 and 2 (env.wasm.numThreads = 2,
 * set before ORT-web's first session: these rows run only when selected, so they come first). int8:
 * the bench's seeded quantization; ORT-web runs its QDQ export. The four runtimes alternate in
 * blocks of 10 runs (rotating). Checks: edgec 2 threads == 1 thread bit for bit, fp32 against the
 * reference interpreter (rtol 1e-3), int8 equal to the reference's run of the integer graph.
 *
 * The machine's parallel capacity is measured before and after (two independent busy loops on two
 * threads, throughput relative to one): on a shared machine it bounds any 2-thread speedup, so the
 * table prints it next to the ratios.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';
import { loadOnnxFile } from '../compiler/frontends/onnx/import.js';
import { exportOnnx } from '../compiler/frontends/onnx/export.js';
import { runGraph } from '../compiler/interp/interp.js';
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { optimize } from '../compiler/pipeline.js';
import { quantizeModel } from '../quantize/index.js';
import { compileWasm, emitWasm } from '../targets/wasm/emit.js';
import { lowerGraph } from '../targets/wasm/lower.js';
import { planThreads } from '../targets/wasm/threads.js';
import { WasmModel, loadWasmArtifact, writeTempArtifact } from '../targets/wasm/runner.js';
import { median, randomData } from './stats.js';

export interface ThreadsRow {
  model: string;
  precision: 'fp32' | 'int8';
  /** Medians (ms): edgec 1 / 2 threads, ORT-web 1 / 2 threads (null: ORT-web could not run threads here). */
  edgec1_ms: number;
  edgec2_ms: number;
  ort1_ms: number;
  ort2_ms: number | null;
  /** edgec 1 thread / edgec 2 threads (from medians); the same for ORT-web. */
  edgec_speedup: number;
  ort_speedup: number | null;
  /** edgec 2 threads == 1 thread bit for bit, and 2 threads against the reference (fp32 rtol 1e-3, int8 bit for bit). */
  same_as_1_thread: boolean;
  matches_ref: boolean;
  split_layers: number;
  /** Barriers per 2-thread inference (model-threads.wasm's plan: a count, independent of load). */
  barriers: number;
  /** Share of the 1-thread time (per-layer profile of model.wasm) in layers the 2-thread plan runs on thread 0 alone. */
  serial_share: number;
}

/**
 * Share of one thread's time spent in layers that the 2-thread plan leaves whole (run by thread 0
 * while the others wait): the per-layer profile (`--profile`) of the single-thread module, `runs`
 * runs. NaN when the profile's layers are not the plan's.
 */
async function serialShare(graph: Graph, int8: boolean, feeds: Record<string, Float32Array>, runs: number): Promise<number> {
  let art, lowered: Graph;
  if (int8) [art, lowered] = [emitWasm(graph, { precision: 'int8', profile: true }), graph];
  else {
    const c = compileWasm(graph, { profile: true });
    [art, lowered] = [c, c.graph];
  }
  const low = lowerGraph(lowered);
  const plan = planThreads(low, 2);
  const whole = new Set(low.steps.filter((st, i) => !st.ctrl && !plan.split.has(i)).map((st) => st.node));
  const dir = writeTempArtifact(art.files);
  try {
    const m = await loadWasmArtifact(dir);
    m.run(feeds);
    m.resetProfile?.();
    for (let i = 0; i < runs; i++) m.run(feeds);
    const prof = m.profile?.() ?? [];
    if (prof.length !== low.layers.length || prof.some((l, i) => l.name !== low.layers[i]!.name)) return NaN;
    const total = prof.reduce((a, l) => a + l.ms, 0);
    return prof.reduce((a, l, i) => a + (whole.has(low.layers[i]!) ? l.ms : 0), 0) / total;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Throughput of two independent busy loops on two threads relative to one loop on one thread
 * (2.0: two idle cores; about 1.0: the second core is taken by other work).
 */
export async function parallelCapacity(ms = 400): Promise<number> {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    const end = Date.now() + workerData; let n = 0, x = 1;
    while (Date.now() < end) { for (let i = 0; i < 100000; i++) x = (x * 1103515245 + 12345) >>> 0; n++; }
    parentPort.postMessage(n + (x & 0));`;
  const one = (): Promise<number> => new Promise((ok, bad) => {
    const w = new Worker(code, { eval: true, workerData: ms });
    w.once('message', (n: number) => {
      void w.terminate();
      ok(n);
    });
    w.once('error', bad);
  });
  const single = await one();
  const pair = await Promise.all([one(), one()]);
  return (pair[0]! + pair[1]!) / single;
}

/** Loads an artifact's files as single-thread and 2-thread models. */
async function loadBoth(files: ReadonlyMap<string, Uint8Array | string>): Promise<{ one: WasmModel; two: WasmModel }> {
  const dir = writeTempArtifact(files);
  try {
    return { one: await loadWasmArtifact(dir), two: await loadWasmArtifact(dir, { threads: 2 }) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const bitsEqual = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

function closeTo(got: Float32Array, want: Float32Array): boolean {
  return got.length === want.length && got.every((v, i) => Math.abs(v - want[i]!) <= 1e-5 + 1e-3 * Math.abs(want[i]!));
}

/** One row: edgec 1/2 threads and ORT-web 1/2 threads on `g` (float graph) or its int8 form. */
async function row(name: string, g: Graph, onnx: Uint8Array, q: { graph: Graph; qdq: Graph } | undefined, runs: number, warmup: number, ortThreads: boolean): Promise<ThreadsRow> {
  const art = q ? emitWasm(q.graph, { precision: 'int8', threads: 2 }) : compileWasm(g, { threads: 2 });
  const { one, two } = await loadBoth(art.files);
  const feeds: Record<string, Float32Array> = {};
  const ortFeeds: Record<string, ort.Tensor> = {};
  one.inputs.forEach((x, i) => {
    const d = randomData(x.shape.reduce((p, r) => p * r, 1), 1234 + i);
    feeds[x.name] = d;
    ortFeeds[x.name] = new ort.Tensor('float32', d, x.shape);
  });
  const model = q ? exportOnnx(q.qdq) : onnx;
  const session = (threads: number) => ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const s1 = await session(1);
  const s2 = ortThreads ? await session(2) : undefined;
  // checks
  const a = one.run(feeds) as Record<string, Float32Array>, b = two.run(feeds) as Record<string, Float32Array>;
  const ref = runGraph(q ? q.graph : g, one.inputs.map((x) => new Tensor('f32', x.shape, feeds[x.name]!)));
  const same = one.outputs.every((y) => bitsEqual(a[y.name]!, b[y.name]!));
  const matches = one.outputs.every((y, k) => {
    const want = Float32Array.from(ref[k]!.data as Float32Array);
    return q ? bitsEqual(b[y.name]!, want) : closeTo(b[y.name]!, want);
  });
  const runners: (() => unknown)[] = [() => one.run(feeds), () => two.run(feeds), () => s1.run(ortFeeds)];
  if (s2) runners.push(() => s2.run(ortFeeds));
  for (const fn of runners) {
    const end = performance.now() + 300;
    for (let i = 0; i < warmup || performance.now() < end; i++) await fn();
  }
  const times: number[][] = runners.map(() => []);
  for (let done = 0, round = 0; done < runs; done += 10, round++) {
    for (let j = 0; j < runners.length; j++) {
      const k = (j + round) % runners.length;
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await runners[k]!();
        times[k]!.push(performance.now() - t0);
      }
    }
  }
  const barriers = two.barriers;
  two.dispose?.();
  await s1.release();
  await s2?.release();
  const [e1, e2, o1] = [median(times[0]!), median(times[1]!), median(times[2]!)];
  const o2 = s2 ? median(times[3]!) : null;
  const spec = (art.files.get('model.mjs') as string).match(/"splitLayers":(\d+)/);
  const serial = await serialShare(q ? q.graph : g, !!q, feeds, Math.max(5, Math.min(runs, 20)));
  return {
    model: name, precision: q ? 'int8' : 'fp32', edgec1_ms: e1, edgec2_ms: e2, ort1_ms: o1, ort2_ms: o2,
    edgec_speedup: e1 / e2, ort_speedup: o2 === null ? null : o1 / o2, same_as_1_thread: same, matches_ref: matches,
    split_layers: spec ? Number(spec[1]) : 0, barriers: barriers ?? 0, serial_share: serial,
  };
}

/**
 * Times every bench model (names in `only`, or all when `only` names no model) fp32 and int8 on 1
 * and 2 threads. Call before any other ORT-web session exists (it sets env.wasm.numThreads = 2).
 */
export async function benchThreads(models: string, runs: number, warmup: number, only?: readonly string[]): Promise<{ rows: ThreadsRow[]; capacity: [number, number] }> {
  ort.env.wasm.numThreads = 2;
  const files = fs.readdirSync(models).filter((f) => f.endsWith('.onnx')).sort();
  const named = files.filter((f) => only?.includes(path.basename(f, '.onnx')));
  const capBefore = await parallelCapacity();
  const rows: ThreadsRow[] = [];
  let ortThreads = true;
  for (const f of named.length > 0 ? named : files) {
    const name = path.basename(f, '.onnx');
    const onnx = new Uint8Array(fs.readFileSync(path.join(models, f)));
    const g = loadOnnxFile(path.join(models, f));
    for (const precision of ['fp32', 'int8'] as const) {
      process.stderr.write(`bench: ${name} ${precision} threads 1 / 2...\n`);
      let q: { graph: Graph; qdq: Graph } | undefined;
      if (precision === 'int8') {
        const gq = loadOnnxFile(path.join(models, f));
        optimize(gq, { target: 'wasm' });
        const shape = gq.inputs.map((id) => gq.typeOf(id).shape as number[]);
        const calib = shape.map((s, i) => new Tensor('f32', [8, ...s.slice(1)], randomData(8 * s.slice(1).reduce((p, r) => p * r, 1), 99 + i)));
        const r = quantizeModel(gq, { mode: 'int8', calib });
        q = { graph: r.graph, qdq: r.qdq };
      }
      try {
        rows.push(await row(name, g, onnx, q, runs, warmup, ortThreads));
      } catch (e) {
        // ORT-web without threads in this process: the rows go on without its 2-thread column
        if (!ortThreads) throw e;
        process.stderr.write(`bench: ORT-web with 2 threads failed (${(e as Error).message.split('\n')[0]}); its 2-thread column is left out\n`);
        ortThreads = false;
        rows.push(await row(name, g, onnx, q, runs, warmup, false));
      }
    }
  }
  return { rows, capacity: [capBefore, await parallelCapacity()] };
}

/** The markdown table of the threads rows. */
export function threadsTable(r: { rows: readonly ThreadsRow[]; capacity: [number, number] }): string[] {
  if (r.rows.length === 0) return [];
  const ms = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const x = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)}x`);
  return [
    '',
    `Threads (edgec --threads 2: model-threads.wasm, create({ threads: 2 }); ORT-web intraOpNumThreads 1 / 2; medians, the four runtimes alternating in blocks of 10). Parallel capacity of this machine during the run: ${r.capacity[0].toFixed(2)}x before, ${r.capacity[1].toFixed(2)}x after (two independent busy loops on two threads vs one; 2.00x = two free cores).`,
    '',
    '| model | precision | split layers | barriers / inference | 1-thread time in unsplit layers | edgec 1 thread ms | edgec 2 threads ms | edgec 2 vs 1 | ORT-web 1 thread ms | ORT-web 2 threads ms | ORT-web 2 vs 1 | 2 threads == 1 thread | matches ref |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...r.rows.map((t) => `| ${t.model} | ${t.precision} | ${t.split_layers} | ${t.barriers} | ${(100 * t.serial_share).toFixed(1)}% | ${ms(t.edgec1_ms)} | ${ms(t.edgec2_ms)} | ${x(t.edgec_speedup)} | ${ms(t.ort1_ms)} | ${ms(t.ort2_ms)} | ${x(t.ort_speedup)} | ${t.same_as_1_thread ? 'yes' : 'NO'} | ${t.matches_ref ? 'yes' : 'NO'} |`),
  ];
}
