/**
 * TF.js graph models from ../shared/models/tfjs: each sample/input_0.pb is run on the reference
 * interpreter and compared with sample/output_K.pb (outputs of @tensorflow/tfjs 4.22's CPU
 * backend, in model.outputs order) at rtol 1e-3 / atol 1e-4, straight after import and again
 * after the optimization pipeline. Skipped only when the shared models are absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { Graph } from '../../compiler/ir/graph.js';
import { compareTensors } from '../helpers/compare.js';
import { MODELS_DIR } from '../models/harness.js';

const DIR = path.join(MODELS_DIR, 'tfjs');
const HAVE = fs.existsSync(DIR);
const TOL = { rtol: 1e-3, atol: 1e-4 };

function readPb(file: string): Tensor {
  return decodeTensorProtoBytes(fs.readFileSync(file)).tensor;
}

interface Io { outputs: { name: string; shape: number[] }[] }

function check(g: Graph, dir: string): void {
  const io = JSON.parse(fs.readFileSync(path.join(dir, 'sample/io.json'), 'utf8')) as Io;
  const x = readPb(path.join(dir, 'sample/input_0.pb'));
  const outs = runGraph(g, [x]);
  expect(outs.length).toBe(io.outputs.length);
  io.outputs.forEach((o, k) => {
    expect(g.value(g.outputs[k]!).name).toBe(o.name);
    const want = readPb(path.join(dir, `sample/output_${k}.pb`));
    expect(compareTensors(outs[k]!, want, TOL), `output ${k} (${o.name})`).toBeNull();
  });
}

describe.skipIf(!HAVE)('tfjs graph models vs tfjs 4.22 CPU outputs', () => {
  for (const m of ['emotion', 'blazeface', 'movenet-lightning']) {
    it(`${m}: imported graph, then optimized graph`, () => {
      const dir = path.join(DIR, m);
      const g = loadTfjsModel(path.join(dir, 'model.json'));
      verify(g);
      check(g, dir);
      optimize(g, { target: 'ref', verify: true });
      check(g, dir);
      // the optimized graph keeps the same outputs in the same order
      optimize(g, { target: 'wasm', verify: true });
      check(g, dir);
    }, 240_000);
  }

  it('emotion with a symbolic batch dim: a batch of 2 gives the sample output twice; --input-shape fixes it', () => {
    const dir = path.join(DIR, 'emotion');
    const g = loadTfjsModel(path.join(dir, 'model.json'), { symbolicToOne: false });
    const s = g.typeOf(g.inputs[0]!).shape;
    expect(typeof s[0]).toBe('string');
    expect(s.slice(1)).toEqual([64, 64, 1]);
    const x = readPb(path.join(dir, 'sample/input_0.pb'));
    const x2 = Tensor.from('f32', [2, 64, 64, 1], [...x.toNumbers(), ...x.toNumbers()]);
    const want = readPb(path.join(dir, 'sample/output_0.pb'));
    const want2 = Tensor.from('f32', [2, 7], [...want.toNumbers(), ...want.toNumbers()]);
    expect(compareTensors(runGraph(g, [x2])[0]!, want2, TOL)).toBeNull();
    const g3 = loadTfjsModel(path.join(dir, 'model.json'), { inputShapes: { 'input_1:0': [3, 64, 64, 1] } });
    expect(g3.typeOf(g3.outputs[0]!).shape).toEqual([3, 7]);
  }, 120_000);

  it('handtrack (tf.while_loop over the batch, TensorLists, NonMaxSuppressionV5): imported, then optimized', () => {
    const dir = path.join(DIR, 'handtrack');
    const g = loadTfjsModel(path.join(dir, 'model.json'));
    verify(g);
    // the preprocessing map_fn is one Loop whose body resizes one image (a scan output)
    const loops = g.orderedNodes().filter((n) => n.op === 'Loop');
    expect(loops.length).toBe(1);
    expect(g.orderedNodes().filter((n) => n.op === 'NonMaxSuppression').length).toBe(7);
    const checkHt = (): void => {
      const io = JSON.parse(fs.readFileSync(path.join(dir, 'sample/io.json'), 'utf8')) as Io;
      const outs = runGraph(g, [readPb(path.join(dir, 'sample/input_0.pb'))]);
      expect(outs.length).toBe(io.outputs.length);
      io.outputs.forEach((o, k) => {
        expect(g.value(g.outputs[k]!).name).toBe(o.name);
        let want = readPb(path.join(dir, `sample/output_${k}.pb`));
        // num_detections (Identity_5) and raw_detection_indices (Identity) are int32 tensors in
        // tfjs (Cast to float32 keeps them int32 there); the sample writer stored their int32 bits
        // as float32 (100 -> 1.4e-43): compare the values those bits encode
        if (o.name === 'Identity_5' || o.name === 'Identity') {
          const bits = new Int32Array(Float32Array.from(want.toNumbers()).buffer);
          want = Tensor.from('f32', want.shape, Array.from(bits));
        }
        expect(compareTensors(outs[k]!, want, TOL), `output ${k} (${o.name})`).toBeNull();
      });
    };
    checkHt();
    optimize(g, { target: 'ref', verify: true });
    checkHt();
  }, 240_000);
});
