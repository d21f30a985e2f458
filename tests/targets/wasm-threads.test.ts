/**
 * Multi-threaded wasm (--threads N, model-threads.wasm, create({ threads })) in Node (worker_threads):
 * threaded outputs equal the single-thread module's bit for bit (fp32 and int8; the split keeps
 * every output's summation order), int8 equals the reference interpreter bit for bit, fp32 is
 * within the reference tolerance; model.wasm is byte-identical with and without --threads; without
 * a threads module create({ threads }) warns and runs on one thread. The headless-Chromium twin is
 * threads-browser.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel } from '../../quantize/index.js';
import { compileWasm, emitWasm } from '../../targets/wasm/emit.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { barrierCount, planThreads } from '../../targets/wasm/threads.js';
import { WasmModel, loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BENCH = path.resolve(here, '../../../shared/models/bench');
const HAVE_BENCH = fs.existsSync(path.join(BENCH, 'mobilenetv2.onnx'));
if (!HAVE_BENCH && process.env['CI']) throw new Error(`CI needs ${BENCH} (the shared bench models) for wasm-threads.test.ts`);

/** An inverted-residual network: conv 3x3 -> [1x1 expand, depthwise 3x3 (stride 2), 1x1 project] x2 -> pool -> gemm. */
function mbnet(): Graph {
  const b = new GraphBuilder();
  let seed = 10;
  const w = (shape: number[]) => b.const(`w${seed}`, randomTensor(shape, seed++, -0.5, 0.5));
  const x = b.input('x', 'f32', [1, 3, 40, 40]);
  let h = b.node('Relu', [b.node('Conv', [x, w([24, 3, 3, 3]), w([24])], { pads: [1, 1, 1, 1] })]);
  let c = 24;
  for (const [e, o, s] of [[96, 32, 2], [128, 40, 1]] as const) {
    const ex = b.node('Clip', [b.node('Conv', [h, w([e, c, 1, 1]), w([e])]), b.const(`lo${seed}`, Tensor.from('f32', [], [0])), b.const(`hi${seed}`, Tensor.from('f32', [], [6]))]);
    const dw = b.node('Relu', [b.node('Conv', [ex, w([e, 1, 3, 3]), w([e])], { group: e, pads: [1, 1, 1, 1], strides: [s, s] })]);
    h = b.node('Conv', [dw, w([o, e, 1, 1]), w([o])]);
    c = o;
  }
  const f = b.node('Flatten', [b.node('GlobalAveragePool', [h])]);
  b.output(b.node('Gemm', [f, w([c, 10]), w([10])], {}, { outputNames: ['y'] }));
  return b.build();
}

/**
 * A residual block on odd sizes: 1x1 expand -> depthwise 3x3 -> 1x1 project -> + x, then
 * elementwise ops with broadcasting (per channel, per spatial position) and a second residual add.
 * 12690 elements per activation: the adds split on their innermost dim (a last part with a scalar
 * tail), the per-channel Mul on its channel dim.
 */
function resBlock(): Graph {
  const b = new GraphBuilder();
  let seed = 40;
  const w = (shape: number[]) => b.const(`w${seed}`, randomTensor(shape, seed++, -0.5, 0.5));
  const x = b.input('x', 'f32', [1, 6, 45, 47]);
  const ex = b.node('Relu', [b.node('Conv', [x, w([40, 6, 1, 1]), w([40])])]);
  const dw = b.node('Relu', [b.node('Conv', [ex, w([40, 1, 3, 3]), w([40])], { group: 40, pads: [1, 1, 1, 1] })]);
  const pr = b.node('Conv', [dw, w([6, 40, 1, 1]), w([6])]);
  const r1 = b.node('Add', [pr, x]);
  const m = b.node('Mul', [r1, w([1, 6, 1, 1])]);
  const a = b.node('Add', [m, w([1, 1, 45, 47])]);
  b.output(b.node('Add', [a, r1], {}, { outputNames: ['y'] }));
  return b.build();
}

/** A classifier head on odd sizes: GlobalAveragePool over 600 x 7 x 9, then Gemm 600 -> 1003 (a ragged last column panel). */
function head(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [1, 600, 7, 9]);
  const f = b.node('Flatten', [b.node('GlobalAveragePool', [x])]);
  const w = b.const('w', randomTensor([600, 1003], 61, -0.5, 0.5)), bias = b.const('b', randomTensor([1003], 62));
  b.output(b.node('Relu', [b.node('Gemm', [f, w, bias])], {}, { outputNames: ['y'] }));
  return b.build();
}

const dirs: string[] = [];
const models: WasmModel[] = [];
afterAll(() => {
  for (const m of models) m.dispose?.();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes an artifact; returns its single-thread and threaded models. */
async function load(files: ReadonlyMap<string, Uint8Array | string>, threads: number): Promise<{ one: WasmModel; many: WasmModel }> {
  const dir = writeTempArtifact(files);
  dirs.push(dir);
  const one = await loadWasmArtifact(dir);
  const many = await loadWasmArtifact(dir, { threads });
  models.push(many);
  expect(many.threads).toBe(threads);
  return { one, many };
}

const bits = (t: Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.data as Float32Array).buffer);

/** Kernels of the steps the plan splits (a test that splits nothing would prove nothing). */
function splitKernels(g: Graph, parts: number): string[] {
  const low = lowerGraph(g);
  return [...planThreads(low, parts).split.keys()].map((i) => low.steps[i]!.kernel);
}

describe('wasm --threads: threaded == single thread, bit for bit', () => {
  const x = randomTensor([1, 3, 40, 40], 7);

  for (const threads of [2, 3]) {
    it(`fp32, ${threads} threads (== single thread bit for bit, reference within rtol 1e-3)`, async () => {
      const g = mbnet();
      const art = compileWasm(g, { threads });
      expect(new Set(splitKernels(art.graph, threads))).toEqual(new Set(['conv2d_f32', 'global_pool_f32']));
      const { one, many } = await load(art.files, threads);
      const a = runWasmModel(one, [x])[0]!, b = runWasmModel(many, [x])[0]!;
      expect(bits(b)).toEqual(bits(a));
      // several runs: the barriers and the run counter hold across calls
      for (let r = 0; r < 5; r++) expect(bits(runWasmModel(many, [randomTensor([1, 3, 40, 40], 100 + r)])[0]!)).toEqual(bits(runWasmModel(one, [randomTensor([1, 3, 40, 40], 100 + r)])[0]!));
      expect(compareTensors(b, runGraph(g, [x])[0]!, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    }, 60_000);

    it(`int8, ${threads} threads (== single thread == reference, bit for bit)`, async () => {
      const g = mbnet();
      optimize(g, { target: 'wasm' });
      const q = quantizeModel(g, { mode: 'int8', calib: [randomTensor([8, 3, 40, 40], 3)] }).graph;
      const kernels = new Set(splitKernels(q, threads));
      // NCHW convolutions by channels, channels-last depthwise by rows
      expect(kernels.has('qconv_i8')).toBe(true);
      expect(kernels.has('qdw_nhwc_i8')).toBe(true);
      const art = emitWasm(q, { precision: 'int8', threads });
      const { one, many } = await load(art.files, threads);
      const want = runGraph(q, [x])[0]!;
      const a = runWasmModel(one, [x])[0]!, b = runWasmModel(many, [x])[0]!;
      expect(bits(a)).toEqual(bits(want));
      expect(bits(b)).toEqual(bits(want));
    }, 120_000);
  }

  it('model.wasm is byte-identical with and without --threads; the manifest records the threads', () => {
    const g = mbnet();
    const plain = compileWasm(g);
    const mt = compileWasm(g, { threads: 2 });
    expect(Buffer.from(mt.files.get('model.wasm') as Uint8Array).equals(Buffer.from(plain.files.get('model.wasm') as Uint8Array))).toBe(true);
    expect(plain.files.has('model-threads.wasm')).toBe(false);
    expect(mt.files.has('model-threads.wasm')).toBe(true);
    expect(mt.manifest['threads']).toBe(2);
  });

  it('create({ threads }) without a threads module warns once and runs on one thread', async () => {
    const g = mbnet();
    const dir = writeTempArtifact(compileWasm(g).files);
    dirs.push(dir);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const m = await loadWasmArtifact(dir, { threads: 2 });
      expect(m.threads).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/no threads module.*running on one thread/);
      expect(runWasmModel(m, [x])[0]!.shape).toEqual([1, 10]);
    } finally {
      warn.mockRestore();
    }
  });

  it('--threads with --profile or without SIMD is a typed unsupported error', () => {
    const g = mbnet();
    expect(() => compileWasm(g, { threads: 2, profile: true })).toThrow(/--threads with --profile/);
    expect(() => compileWasm(g, { threads: 2, simd: false })).toThrow(/--threads needs wasm SIMD/);
  });
});

describe('wasm --threads: elementwise parts and dropped barriers', () => {
  const x = randomTensor([1, 6, 45, 47], 8);

  it('fp32: adds and broadcasting muls split; barriers between same-thread parts dropped; 2 and 3 threads (and a 3-part module on 2) == 1 thread', async () => {
    const g = resBlock();
    const art2 = compileWasm(g, { threads: 2 });
    const low = lowerGraph(art2.graph);
    const plan = planThreads(low, 2);
    const kernels = [...plan.split.keys()].map((i) => low.steps[i]!.kernel);
    expect(kernels.filter((k) => k === 'binary_f32').length).toBeGreaterThanOrEqual(3);
    // expand -> depthwise (same channel ranges) and project -> residual add (same element ranges)
    expect([...plan.elide].map((i) => low.steps[i]!.kernel)).toEqual(expect.arrayContaining(['conv2d_f32', 'binary_f32']));
    expect(barrierCount(plan)).toBe(barrierCount({ ...plan, elide: new Set() }) - plan.elide.size);
    const { one, many } = await load(art2.files, 2);
    expect(many.barriers).toBe(barrierCount(plan));
    const want = bits(runWasmModel(one, [x])[0]!);
    for (let r = 0; r < 3; r++) expect(bits(runWasmModel(many, [x])[0]!)).toEqual(want);
    const three = compileWasm(g, { threads: 3 });
    const m3 = await load(three.files, 3);
    expect(bits(runWasmModel(m3.many, [x])[0]!)).toEqual(want);
    // 3 parts on 2 threads: thread 0 runs parts 0 and 2, so every barrier stays
    const m32 = await loadWasmArtifact(dirs[dirs.length - 1]!, { threads: 2 });
    models.push(m32);
    expect(m32.threads).toBe(2);
    expect(bits(runWasmModel(m32, [x])[0]!)).toEqual(want);
    expect(compareTensors(runWasmModel(many, [x])[0]!, runGraph(g, [x])[0]!, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
  }, 60_000);

  it('fp32 classifier head: global pooling by channels, Gemm by output columns; 2 and 3 threads == 1 thread', async () => {
    const g = head();
    const x = randomTensor([1, 600, 7, 9], 12);
    for (const threads of [2, 3]) {
      const art = compileWasm(g, { threads });
      expect(new Set(splitKernels(art.graph, threads))).toEqual(new Set(['global_pool_f32', 'gemm_f32']));
      const { one, many } = await load(art.files, threads);
      const a = runWasmModel(one, [x])[0]!;
      expect(bits(runWasmModel(many, [x])[0]!)).toEqual(bits(a));
      expect(compareTensors(a, runGraph(g, [x])[0]!, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    }
  }, 60_000);

  it('chunked steps (home groups first): many runs with new inputs, 2 and 3 threads and a 3-part module on 2 == 1 thread', async () => {
    // three 1x1 layers large enough to run as chunks, none next to a dropped barrier
    const b = new GraphBuilder();
    let seed = 40;
    const w = (shape: number[]) => b.const(`w${seed}`, randomTensor(shape, seed++, -0.5, 0.5));
    const h = b.node('Relu', [b.node('Conv', [b.input('x', 'f32', [1, 16, 48, 48]), w([64, 16, 1, 1]), w([64])])]);
    b.output(b.node('Conv', [b.node('Conv', [h, w([24, 64, 1, 1]), w([24])]), w([40, 24, 1, 1]), w([40])], {}, { outputNames: ['y'] }));
    const g = b.build();
    for (const parts of [2, 3]) {
      const art = compileWasm(g, { threads: parts });
      const low = lowerGraph(art.graph);
      const plan = planThreads(low, parts);
      expect(plan.dynamic.size).toBe(3);
      for (const i of plan.dynamic.keys()) expect(plan.split.get(i)!.length).toBe(2 * parts);
      const { one, many } = await load(art.files, parts);
      const runs = parts === 3 ? [many, await loadWasmArtifact(dirs[dirs.length - 1]!, { threads: 2 })] : [many];
      models.push(...runs.slice(1));
      // every run must take every chunk once (the group counters go on from run to run)
      for (let r = 0; r < 6; r++) {
        const xr = randomTensor([1, 16, 48, 48], 100 + r);
        const want = bits(runWasmModel(one, [xr])[0]!);
        for (const m of runs) expect(bits(runWasmModel(m, [xr])[0]!)).toEqual(want);
      }
    }
  }, 60_000);

  it('int8: QuantizeLinear, QAdd / QMul split; 2 threads == 1 thread == reference, bit for bit', async () => {
    const g = resBlock();
    optimize(g, { target: 'wasm' });
    const q = quantizeModel(g, { mode: 'int8', calib: [randomTensor([8, 6, 45, 47], 4)] }).graph;
    expect(splitKernels(q, 2)).toEqual(expect.arrayContaining(['qbinary_i8', 'quantize_f32']));
    const { one, many } = await load(emitWasm(q, { precision: 'int8', threads: 2 }).files, 2);
    const want = bits(runGraph(q, [x])[0]!);
    expect(bits(runWasmModel(one, [x])[0]!)).toEqual(want);
    expect(bits(runWasmModel(many, [x])[0]!)).toEqual(want);
  }, 60_000);
});

describe('wasm --threads: a worker that dies', () => {
  type Threaded = { run(f: Record<string, Float32Array>): Record<string, Float32Array>; workers: { terminate(): Promise<number> }[]; dispose(): void };
  const x = { x: Float32Array.from(randomTensor([1, 3, 40, 40], 7).data as Float32Array) };
  async function threaded(timeoutMs: number): Promise<Threaded> {
    const dir = writeTempArtifact(compileWasm(mbnet(), { threads: 2 }).files);
    dirs.push(dir);
    const mod = (await import(pathToFileURL(path.join(dir, 'model.mjs')).href)) as { create(o: unknown): Promise<Threaded> };
    const m = await mod.create({ threads: 2, timeoutMs });
    models.push(m as unknown as WasmModel);
    return m;
  }

  it('killed mid-run: run throws a one-line timeout error instead of hanging, then refuses to run', async () => {
    const m = await threaded(300);
    m.run(x);
    void m.workers[0]!.terminate();
    // the kill lands during one of these runs (or before the first): that run times out
    const t0 = performance.now();
    expect(() => { for (let r = 0; r < 1000; r++) m.run(x); }).toThrow(/^run: (timed out after 300 ms waiting for the worker threads|worker thread 1 exited).*create it again$/);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(() => m.run(x)).toThrow(/cannot run any more: create it again/);
    m.dispose();
  }, 60_000);

  it('exited between runs: the next run throws at once (the exit event), without waiting for the timeout', async () => {
    const m = await threaded(60_000);
    m.run(x);
    await m.workers[0]!.terminate();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    expect(() => m.run(x)).toThrow(/^run: worker thread 1 exited \(code \d+\); the threaded model cannot run any more: create it again$/);
    expect(performance.now() - t0).toBeLessThan(1000);
    m.dispose();
  }, 60_000);

  it('create rejects a bad timeoutMs', async () => {
    await expect(threaded(-1)).rejects.toThrow(/timeoutMs must be a number of milliseconds/);
  });
});

describe.skipIf(!HAVE_BENCH)('wasm --threads on the bench models (../shared/models/bench)', () => {
  it('mobilenetv2 fp32 on 2 threads == single thread, bit for bit', async () => {
    const g = loadOnnxFile(path.join(BENCH, 'mobilenetv2.onnx'));
    const art = compileWasm(g, { threads: 2 });
    const { one, many } = await load(art.files, 2);
    // many runs on fresh inputs: a missing barrier would show as a run that differs
    for (let r = 0; r < 10; r++) {
      const x = randomTensor(one.inputs[0]!.shape, 5 + r);
      expect(bits(runWasmModel(many, [x])[0]!)).toEqual(bits(runWasmModel(one, [x])[0]!));
    }
  }, 120_000);

  it('mobilenetv2 int8 on 2 threads == reference, bit for bit; fewer barriers than split layers', async () => {
    const g = loadOnnxFile(path.join(BENCH, 'mobilenetv2.onnx'));
    optimize(g, { target: 'wasm' });
    const shape = g.typeOf(g.inputs[0]!).shape as number[];
    const q = quantizeModel(g, { mode: 'int8', calib: [randomTensor([2, ...shape.slice(1)], 9)] }).graph;
    const plan = planThreads(lowerGraph(q), 2);
    expect(plan.elide.size).toBeGreaterThan(0);
    // and steps run as chunks taken in turn (more chunks than threads)
    expect(plan.dynamic.size).toBeGreaterThan(0);
    for (const i of plan.dynamic.keys()) expect(plan.split.get(i)!.length).toBeGreaterThan(2);
    const { many } = await load(emitWasm(q, { precision: 'int8', threads: 2 }).files, 2);
    expect(many.barriers).toBeLessThan(plan.split.size);
    const x = randomTensor(shape, 6);
    expect(bits(runWasmModel(many, [x])[0]!)).toEqual(bits(runGraph(q, [x])[0]!));
  }, 180_000);

  it('resnet8 int8 on 2 threads == reference, bit for bit', async () => {
    const g = loadOnnxFile(path.join(BENCH, 'resnet8.onnx'));
    optimize(g, { target: 'wasm' });
    const shape = g.typeOf(g.inputs[0]!).shape as number[];
    const q = quantizeModel(g, { mode: 'int8', calib: [randomTensor([8, ...shape.slice(1)], 9)] }).graph;
    const { many } = await load(emitWasm(q, { precision: 'int8', threads: 2 }).files, 2);
    const x = randomTensor(shape, 6);
    expect(bits(runWasmModel(many, [x])[0]!)).toEqual(bits(runGraph(q, [x])[0]!));
  }, 120_000);
});
