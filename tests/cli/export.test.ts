/**
 * exportOnnx: the exported model, run by onnxruntime-node, matches the reference interpreter on
 * the trained models -- as imported, and after the wasm pipeline (which fuses activations into
 * edgec.Fused* ops that the exporter expands back into standard ONNX).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadOnnxFile, importOnnx } from '../../compiler/frontends/onnx/import.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { readDataFile, sliceRows } from '../../compiler/io/data.js';
import { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { compareTensors } from '../helpers/compare.js';
import { HAVE_MODELS, TRAINED } from './helpers.js';

const models = HAVE_MODELS ? fs.readdirSync(TRAINED).filter((m) => fs.existsSync(path.join(TRAINED, m, 'model.onnx'))).sort() : [];

/** Runs model bytes on onnxruntime-node (CPU) with float32 inputs. */
async function ortRun(bytes: Uint8Array, g: Graph, inputs: Tensor[]): Promise<Tensor[]> {
  const s = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  g.inputs.forEach((id, i) => {
    const t = inputs[i]!;
    feeds[g.value(id).name] = new ort.Tensor('float32', t.data as Float32Array, [...t.shape]);
  });
  const res = await s.run(feeds);
  await s.release();
  return g.outputs.map((id) => {
    const o = res[g.value(id).name]!;
    return new Tensor('f32', o.dims.map(Number), o.data as Float32Array);
  });
}

async function checkExport(g: Graph, x: Tensor): Promise<void> {
  const bytes = exportOnnx(g);
  const want = runGraph(g, [x]);
  const got = await ortRun(bytes, g, [x]);
  want.forEach((w, k) => expect(compareTensors(got[k]!, w, { rtol: 1e-4, atol: 1e-5 }), `output ${k}`).toBeNull());
  // and edgec re-imports its own export with the same results
  const back = importOnnx(bytes);
  runGraph(back, [x]).forEach((t, k) => expect(compareTensors(t, want[k]!, { rtol: 1e-6, atol: 1e-7 })).toBeNull());
}

describe.skipIf(models.length === 0)('exportOnnx on trained models vs onnxruntime-node', () => {
  for (const m of models) {
    const x0 = () => sliceRows(readDataFile(path.join(TRAINED, m, 'sample_in.pb')), 0, 1);
    it(`${m}: as imported`, async () => {
      const g = loadOnnxFile(path.join(TRAINED, m, 'model.onnx'));
      await checkExport(g, x0());
    });
    it(`${m}: after the wasm pipeline (fused ops expanded)`, async () => {
      const g = loadOnnxFile(path.join(TRAINED, m, 'model.onnx'));
      optimize(g, { target: 'wasm' });
      await checkExport(g, x0());
    });
  }
});

describe('exportOnnx details', () => {
  it('expands every fused activation kind into standard ONNX', async () => {
    const acts: [string, number[]][] = [
      ['Relu', []], ['Clip', [-0.5, 0.5]], ['Clip', [0, Infinity]], ['Sigmoid', []], ['HardSigmoid', [0.3, 0.4]],
      ['HardSwish', []], ['LeakyRelu', [0.2]], ['Tanh', []],
    ];
    for (const [act, params] of acts) {
      for (const opset of [13, 17]) {
        const b = new GraphBuilder('fused', { '': opset, edgec: 1 });
        const x = b.input('x', 'f32', [1, 4]);
        const w = b.const('w', Tensor.from('f32', [3, 4], Array.from({ length: 12 }, (_, i) => (i - 6) / 5)));
        const c = b.const('c', Tensor.from('f32', [3], [0.1, -0.2, 0.3]));
        const y = b.node('FusedGemm', [x, w, c], { transB: 1, alpha: 1, activation: act, activation_params: params }, { domain: 'edgec' });
        b.output(y);
        const g = b.build();
        const xin = Tensor.from('f32', [1, 4], [1, -2, 3, -4]);
        await checkExport(g, xin);
      }
    }
  });
  it('float attributes with integral values stay FLOAT (schema-driven kinds)', async () => {
    const b = new GraphBuilder('alpha', { '': 13 });
    const x = b.input('x', 'f32', [2, 2]);
    const w = b.const('w', Tensor.from('f32', [2, 2], [1, 2, 3, 4]));
    const y = b.node('Gemm', [x, w], { alpha: 2, beta: 1 });
    b.output(y);
    await checkExport(b.build(), Tensor.from('f32', [2, 2], [1, 0, 0, 1]));
  });
  it('other internal ops are a clear "unsupported" error', () => {
    const g = new GraphBuilder('q').g;
    const x = g.addValue('x', { dtype: 'f32', shape: [1] });
    g.inputs.push(x.id);
    const y = g.addValue('y', { dtype: 'f32', shape: [1] });
    g.addNode({ op: 'Mystery', domain: 'edgec', inputs: [x.id], outputs: [y.id], name: 'm' });
    g.outputs.push(y.id);
    let err: unknown;
    try {
      exportOnnx(g);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    expect((err as EdgecError).kind).toBe('unsupported');
    expect((err as EdgecError).oneLine()).toMatch(/edgec\.Mystery/);
  });
});
