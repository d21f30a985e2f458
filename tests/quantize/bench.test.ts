/**
 * int8 quantization of the benchmark architectures (../shared/models/bench: residual adds, depthwise
 * convs, global pooling, dense autoencoder) and of an opset-8 model (mnist-8, raised to opset 13 for
 * per-channel Q/DQ), calibrated on seeded uniform inputs: the integer graph tracks the float graph
 * (SNR), and onnxruntime-node running the exported QDQ graph agrees with edgec's integer graph.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../compiler/ir/tensor.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel } from '../../quantize/index.js';
import { HAVE_MODELS, MODELS_DIR, ortSession, runOrt, uniform } from '../models/harness.js';

function snrDb(f: Tensor, q: Tensor): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < f.size; i++) {
    s += f.get(i) ** 2;
    e += (f.get(i) - q.get(i)) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

const models = ['bench/autoencoder.onnx', 'bench/resnet8.onnx', 'bench/dscnn.onnx', 'bench/mobilenetv1_025.onnx', 'onnx/mnist-8.onnx'];

describe.skipIf(!HAVE_MODELS)('quantize: benchmark architectures', () => {
  for (const m of models) {
    it(m, async () => {
      const g = loadOnnxFile(path.join(MODELS_DIR, m));
      optimize(g, { target: 'wasm' });
      const shape = g.value(g.inputs[0]!).type.shape.map((d) => (typeof d === 'number' ? d : 1));
      const calib = uniform([8, ...shape.slice(1)], 1, -1, 1);
      const r = quantizeModel(g, { mode: 'int8', calib: [calib] });
      expect(r.summary.floatIslands).toEqual([]);
      expect(r.summary.weightBytesBefore / r.summary.weightBytesAfter).toBeGreaterThan(3.5);
      const x = uniform(shape, 2, -1, 1);
      const f = runGraph(g, [x])[0]!;
      const q = runGraph(r.graph, [x])[0]!;
      expect(snrDb(f, q), 'float vs int8').toBeGreaterThan(20);
      const o = (await runOrt(await ortSession(exportOnnx(r.qdq)), [x]))[0]!;
      expect(snrDb(o, q), 'ORT(QDQ) vs edgec int8').toBeGreaterThan(40);
    }, 120_000);
  }
});
