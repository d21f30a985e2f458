/**
 * Dynamic-shape wasm artifacts (targets/wasm/dynamic): a graph with symbolic H and W compiled once
 * with a bound runs at several input sizes through its model.mjs and matches the reference
 * interpreter at each size; shapes outside the bound or inconsistent symbolic dims are errors.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { emitWasmDynamic } from '../../targets/wasm/dynamic/emit.js';
import { graphFromJson, graphToJson } from '../../targets/wasm/dynamic/graph-json.js';
import { print } from '../../compiler/ir/print.js';
import { writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';

/** A small segmentation-style net: conv, pool, conv, 2x resize, conv, channel softmax; input [1,3,H,W]. */
function segNet(): Graph {
  const b = new GraphBuilder('seg', { '': 17 });
  const x = b.input('image', 'f32', [1, 3, 'H', 'W']);
  const w1 = b.const('w1', randomTensor([8, 3, 3, 3], 1, -0.5, 0.5));
  const b1 = b.const('b1', randomTensor([8], 2, -0.1, 0.1));
  let y = b.node('Conv', [x, w1, b1], { pads: [1, 1, 1, 1] });
  y = b.node('Relu', [y]);
  y = b.node('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] });
  const w2 = b.const('w2', randomTensor([6, 8, 3, 3], 3, -0.3, 0.3));
  y = b.node('Conv', [y, w2], { pads: [1, 1, 1, 1] });
  y = b.node('Sigmoid', [y]);
  const scales = b.const('scales', 'f32', [4], [1, 1, 2, 2]);
  y = b.node('Resize', [y, null, scales], { mode: 'linear' });
  const w3 = b.const('w3', randomTensor([4, 6, 1, 1], 4, -0.5, 0.5));
  y = b.node('Conv', [y, w3]);
  y = b.node('Softmax', [y], { axis: 1 });
  b.output(y);
  return b.build();
}

async function load(dir: string): Promise<{ run(f: Record<string, unknown>): Record<string, Float32Array>; outputShapes(): Record<string, number[]> }> {
  const mod = (await import(`${dir}/model.mjs`)) as { create(): Promise<never> };
  return mod.create();
}

describe('wasm dynamic shapes', () => {
  it('graph JSON round-trips exactly', () => {
    const g = segNet();
    const { json, weights } = graphToJson(g);
    const back = graphFromJson(JSON.parse(JSON.stringify(json)), weights);
    expect(print(back, { inlineLimit: 1 << 20 })).toBe(print(g, { inlineLimit: 1 << 20 }));
  });

  it('one compile runs at three sizes and matches the reference', async () => {
    const g = segNet();
    const opt = g.clone();
    new PassManager(pipelineFor('wasm')).run(opt);
    const art = emitWasmDynamic(opt, { maxInputShapes: { image: [1, 3, 64, 64] }, manifest: { edgec: 'test', precision: 'fp32' } });
    expect(art.manifest.inputs[0]!.shape).toEqual([1, 3, 'H', 'W']);
    const dir = writeTempArtifact(art.files);
    try {
      const model = await load(dir);
      for (const [k, [h, w]] of [[16, 16], [30, 46], [64, 64], [16, 16]].entries()) {
        const x = randomTensor([1, 3, h!, w!], 10 + k);
        const want = runGraph(g, [x])[0]!;
        const out = model.run({ image: { data: x.data, shape: x.shape } });
        const shape = model.outputShapes()[g.value(g.outputs[0]!).name]!;
        expect(shape).toEqual([...want.shape]);
        const got = new Tensor('f32', shape, Object.values(out)[0]!);
        expect(compareTensors(got, want, { rtol: 1e-4, atol: 1e-5 }), `size ${h}x${w}`).toBeNull();
      }
      expect(() => model.run({ image: { data: new Float32Array(3 * 66 * 8), shape: [1, 3, 66, 8] } })).toThrow(/over the compiled bound 64/);
      expect(() => model.run({ image: new Float32Array(3 * 16 * 16) })).toThrow(/symbolic dims/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a symbolic dim without a bound is a one-line error naming it and both flags', () => {
    const g = segNet();
    expect(() => emitWasmDynamic(g, { maxInputShapes: {}, manifest: { edgec: 'test', precision: 'fp32' } }))
      .toThrow(/input "image" has symbolic dims "H", "W".*--input-shape.*--max-input-shape/);
  });

  it('value-dependent sizes run in segments: NonZero on the host, the rest in wasm', async () => {
    const b = new GraphBuilder('nz', { '': 17 });
    const x = b.input('x', 'f32', [3, 'L']);
    const nz = b.node('NonZero', [x]);
    const y = b.node('Relu', [x]);
    const z = b.node('Softmax', [y], { axis: 1 });
    b.output(nz, z);
    const g = b.build();
    const opt = g.clone();
    new PassManager(pipelineFor('wasm')).run(opt);
    const art = emitWasmDynamic(opt, { maxInputShapes: { x: [3, 32] }, manifest: { edgec: 'test', precision: 'fp32' } });
    const dir = writeTempArtifact(art.files);
    try {
      const model = await load(dir);
      for (const [k, L] of [5, 32, 7].entries()) {
        const xt = randomTensor([3, L], 40 + k);
        const d = xt.data as Float32Array;
        for (let i = 0; i < d.length; i += 3) d[i] = 0;
        const want = runGraph(g, [xt]);
        const out = model.run({ x: { data: xt.data, shape: [3, L] } });
        const shapes = model.outputShapes();
        const names = g.outputs.map((o) => g.value(o).name);
        expect(shapes[names[0]!]).toEqual([...want[0]!.shape]);
        expect(Array.from(out[names[0]!] as unknown as BigInt64Array)).toEqual(Array.from(want[0]!.data as BigInt64Array));
        const got = new Tensor('f32', shapes[names[1]!]!, out[names[1]!]!);
        expect(compareTensors(got, want[1]!, { rtol: 1e-4, atol: 1e-6 })).toBeNull();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // ../shared/models/onnx/super-resolution-10.onnx: input float[batch_size,1,224,224], 1.5 GMACs per sample
  const SR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/models/onnx/super-resolution-10.onnx');
  it('super-resolution-10 with its symbolic batch: one compile, batches 1 and 2, equal to the reference', async () => {
    if (!fs.existsSync(SR)) {
      if (process.env.CI) throw new Error(`${SR} is missing (CI needs ../shared)`);
      console.warn(`skipped: ${SR} not found`);
      return;
    }
    const g = loadOnnxFile(SR, { symbolicToOne: false });
    expect(g.typeOf(g.inputs[0]!).shape[0]).toBe('batch_size');
    const opt = g.clone();
    new PassManager(pipelineFor('wasm')).run(opt);
    const art = emitWasmDynamic(opt, { maxInputShapes: { input: [2, 1, 224, 224] }, manifest: { edgec: 'test', precision: 'fp32' } });
    const dir = writeTempArtifact(art.files);
    try {
      const model = await load(dir);
      for (const n of [2, 1]) {
        const x = randomTensor([n, 1, 224, 224], 70 + n, 0, 1);
        const want = runGraph(g, [x])[0]!;
        const out = model.run({ input: { data: x.data, shape: [n, 1, 224, 224] } });
        expect(model.outputShapes()['output']).toEqual([n, 1, 672, 672]);
        expect(compareTensors(new Tensor('f32', [n, 1, 672, 672], out['output']!), want, { rtol: 1e-3, atol: 1e-5 }), `batch ${n}`).toBeNull();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
