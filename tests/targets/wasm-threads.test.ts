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
import { fileURLToPath } from 'node:url';
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
import { planThreads } from '../../targets/wasm/threads.js';
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
      expect(new Set(splitKernels(art.graph, threads))).toEqual(new Set(['conv2d_f32']));
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

describe.skipIf(!HAVE_BENCH)('wasm --threads on the bench models (../shared/models/bench)', () => {
  it('mobilenetv2 fp32 on 2 threads == single thread, bit for bit', async () => {
    const g = loadOnnxFile(path.join(BENCH, 'mobilenetv2.onnx'));
    const art = compileWasm(g, { threads: 2 });
    const { one, many } = await load(art.files, 2);
    const x = randomTensor(one.inputs[0]!.shape, 5);
    expect(bits(runWasmModel(many, [x])[0]!)).toEqual(bits(runWasmModel(one, [x])[0]!));
  }, 120_000);

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
