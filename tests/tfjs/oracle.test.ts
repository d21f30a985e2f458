/**
 * TF.js itself as the oracle of the TF.js frontend, as onnxruntime-node is for ONNX: each shared TF.js
 * graph model runs in-process on @tensorflow/tfjs-converter's GraphModel (tfjs-core with the CPU
 * backend) and on edgec's reference interpreter, on fresh seeded inputs (not the stored samples),
 * and the outputs agree within rtol 1e-3 / atol 1e-4 (edgec computes in f64 and rounds to f32 per
 * op; TF.js in f32).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { MODELS_DIR } from '../models/harness.js';

const DIR = path.join(MODELS_DIR, 'tfjs');
const HAVE = fs.existsSync(DIR);
const TOL = { rtol: 1e-3, atol: 1e-4 };

/** The model folder as a tf.io handler (model.json + its weight files), read from disk. */
function handler(dir: string): tf.io.IOHandler {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const parts = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const data = Buffer.concat(parts);
  return tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    ...(json.signature ? { signature: json.signature } : {}),
  } as tf.io.ModelArtifacts);
}

/** Seeded U(-1, 1) input (an LCG; not the stored sample). */
function input(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

describe.skipIf(!HAVE)('TF.js graph models: edgec reference vs tfjs-converter (CPU backend) in-process', () => {
  for (const m of fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((d) => fs.existsSync(path.join(DIR, d, 'model.json'))) : []) {
    it(m, async () => {
      await tf.setBackend('cpu');
      const dir = path.join(DIR, m);
      const g = loadTfjsModel(path.join(dir, 'model.json'));
      const shape = g.typeOf(g.inputs[0]!).shape.map((d) => (typeof d === 'number' ? d : 1));
      const model = await loadGraphModel(handler(dir));
      const dtype = model.inputs[0]!.dtype === 'int32' ? 'i32' : 'f32';
      // f32 images in U(-1, 1); i32 images (movenet, handtrack) in 0..255
      const u = input(shape, 777 + m.length);
      const x = dtype === 'i32' ? Int32Array.from(u, (v) => Math.floor((v + 1) * 127.99)) : u;
      const xt = tf.tensor(x, shape, dtype === 'i32' ? 'int32' : 'float32');
      // outputs by the names edgec's importer gives its graph outputs
      const names = g.outputs.map((o) => g.value(o).name);
      const outs = (await model.executeAsync(xt, names)) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(outs) ? outs : [outs];
      const want = list.map((t) => new Tensor(t.dtype === 'int32' ? 'i32' : 'f32', [...t.shape], t.dtype === 'int32' ? Int32Array.from(t.dataSync()) : Float32Array.from(t.dataSync())));
      tf.dispose([xt, ...list]);
      model.dispose();
      const edgecType = g.typeOf(g.inputs[0]!).dtype;
      const got = runGraph(g, [edgecType === dtype ? new Tensor(dtype, shape, x) : Tensor.from(edgecType, shape, Array.from(x))]);
      expect(got.length).toBe(want.length);
      want.forEach((w, k) => expect(compareTensors(got[k]!, w, TOL), `${m} output ${k}`).toBeNull());
    }, 300_000);
  }
});
