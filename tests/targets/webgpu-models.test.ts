/**
 * Every model in ../shared/models/trained and ../shared/models/bench on the WebGPU target (the
 * `webgpu` package, SwiftShader in CI) against the reference interpreter (rtol 1e-3): trained
 * models on their sample inputs, bench models on seeded random inputs. SwiftShader runs on the
 * CPU, so each model compiles and runs once (mobilenetv2 included); EDGEC_WEBGPU_ALL_MODELS=1 adds
 * the public models of ../shared/models/onnx (slow). Skips (logged) only when no adapter exists and
 * CI is not set.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';
import { gpuAvailable, runOnWebgpu } from './webgpu-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '../../../shared/models');
const gpu = await gpuAvailable('webgpu-models');

interface ModelCase { id: string; file: string; inputs: () => Tensor[] }

function readPb(f: string): Tensor {
  return decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(f))).tensor;
}

function cases(): ModelCase[] {
  const out: ModelCase[] = [];
  const trained = path.join(MODELS, 'trained');
  for (const d of fs.existsSync(trained) ? fs.readdirSync(trained).sort() : []) {
    const file = path.join(trained, d, 'model.onnx');
    if (!fs.existsSync(file)) continue;
    out.push({ id: `trained/${d}`, file, inputs: () => [readPb(path.join(trained, d, 'sample_in.pb'))] });
  }
  const bench = path.join(MODELS, 'bench');
  for (const f of fs.existsSync(bench) ? fs.readdirSync(bench).filter((x) => x.endsWith('.onnx')).sort() : []) {
    out.push({ id: `bench/${path.basename(f, '.onnx')}`, file: path.join(bench, f), inputs: () => [] });
  }
  // opt-in (slow on SwiftShader): the public models in ../shared/models/onnx on their test inputs
  const onnx = path.join(MODELS, 'onnx');
  if (process.env['EDGEC_WEBGPU_ALL_MODELS'] && fs.existsSync(onnx)) {
    for (const f of fs.readdirSync(onnx).filter((x) => x.endsWith('.onnx') && !x.includes('integer-quant')).sort()) {
      const name = path.basename(f, '.onnx');
      const ds = [path.join(onnx, name, 'test_data_set_0'), path.join(onnx, name, 'sample')].find((p) => fs.existsSync(p));
      out.push({
        id: `onnx/${name}`, file: path.join(onnx, f),
        inputs: () => {
          const ins: Tensor[] = [];
          for (let k = 0; ds && fs.existsSync(path.join(ds, `input_${k}.pb`)); k++) ins.push(readPb(path.join(ds, `input_${k}.pb`)));
          return ins;
        },
      });
    }
  }
  return out;
}

/** The first samples of a batch tensor, shaped like the graph input. */
function fitInput(t: Tensor, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toNumbers());
  return new Tensor('f32', shape, d.slice(0, n));
}

const all = cases();

describe.skipIf(all.length === 0 || !gpu)('models on webgpu vs reference', () => {
  for (const c of all) {
    it(c.id, async () => {
      const g = loadOnnxFile(c.file);
      let ins = c.inputs();
      if (ins.length !== g.inputs.length) ins = g.inputs.map((id, i) => randomTensor(g.typeOf(id).shape as number[], 11 + i));
      ins = ins.map((t, i) => fitInput(t, g.typeOf(g.inputs[i]!).shape as number[]));
      const t0 = performance.now();
      const { outputs, shaders, dispatches } = await runOnWebgpu(g, ins);
      const ms = performance.now() - t0;
      const want = runGraph(g, ins);
      console.log(`${c.id}: ${dispatches} dispatches, ${shaders} shaders, compile+create+run ${ms.toFixed(0)} ms`);
      expect(outputs.length).toBe(want.length);
      want.forEach((w, k) => expect(compareTensors(outputs[k]!, w, { rtol: 1e-3, atol: 1e-5 }), `output ${k}`).toBeNull());
    });
  }
});
