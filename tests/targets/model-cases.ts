/**
 * The model cases the target model tests share (wasm-models.test.ts, webgpu-models.test.ts): every
 * model in ../shared/models/{trained,bench} and, where asked, ../shared/models/onnx, with the inputs
 * it runs on (trained: sample_in.pb; onnx: test_data_set_0; bench and models without data: seeded
 * random inputs), fitted to the graph's input shapes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { randomTensor } from './wasm-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const MODELS = path.resolve(here, '../../../shared/models');

/** One model: its id (folder/name), file and stored inputs (empty: none). */
export interface ModelCase { id: string; file: string; inputs: () => Tensor[] }

function readPb(f: string): Tensor {
  return decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(f))).tensor;
}

/**
 * The shared models (empty when ../shared/models is absent).
 * @param onnx which public models of models/onnx to include (file name filter; undefined: none)
 */
export function modelCases(onnx?: (file: string) => boolean): ModelCase[] {
  const out: ModelCase[] = [];
  if (!fs.existsSync(MODELS)) return out;
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
  const dir = path.join(MODELS, 'onnx');
  if (!onnx || !fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.onnx') && onnx(x)).sort()) {
    const name = path.basename(f, '.onnx');
    const ds = [path.join(dir, name, 'test_data_set_0'), path.join(dir, name, 'sample')].find((p) => fs.existsSync(p));
    out.push({
      id: `onnx/${name}`, file: path.join(dir, f),
      inputs: () => {
        const ins: Tensor[] = [];
        for (let k = 0; ds && fs.existsSync(path.join(ds, `input_${k}.pb`)); k++) ins.push(readPb(path.join(ds, `input_${k}.pb`)));
        return ins;
      },
    });
  }
  return out;
}

/** The first samples of a batch tensor, shaped like the graph input. */
function fitInput(t: Tensor, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toNumbers());
  return new Tensor('f32', shape, d.slice(0, n));
}

/**
 * The inputs a model case runs on: its stored inputs when there is one per graph input, seeded
 * random ones otherwise, fitted to the graph's input shapes.
 * @param c the case
 * @param g its graph
 */
export function modelInputs(c: ModelCase, g: Graph): Tensor[] {
  let ins = c.inputs();
  if (ins.length !== g.inputs.length) ins = g.inputs.map((id, i) => randomTensor(g.typeOf(id).shape as number[], 11 + i));
  return ins.map((t, i) => fitInput(t, g.typeOf(g.inputs[i]!).shape as number[]));
}
