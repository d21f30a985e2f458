/**
 * Every model in ../shared/models/{trained,bench,onnx} on the wasm target against the reference
 * interpreter (rtol 1e-3): trained models on their sample inputs, public ONNX models on their
 * test_data_set_0 inputs, bench models on seeded random inputs. Also checks the code size budget
 * (model.wasm minus weights <= 100 KB). Models the wasm target cannot compile are listed in
 * UNSUPPORTED with the reason; for them the compile must fail with an 'unsupported' error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { lowerQdq } from '../../quantize/index.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor, runOnWasm } from './wasm-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '../../../shared/models');

/** Models the wasm target rejects, with the reason (the compile must fail with 'unsupported'). */
const UNSUPPORTED: Record<string, string> = {};

/** Ops of an already-quantized model: it compiles through the integer ops (as `edgec compile` does). */
const PREQUANT = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger']);

interface ModelCase { id: string; file: string; inputs: () => Tensor[] }

function readPb(f: string): Tensor {
  return decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(f))).tensor;
}

function cases(): ModelCase[] {
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
  const onnx = path.join(MODELS, 'onnx');
  for (const f of fs.existsSync(onnx) ? fs.readdirSync(onnx).filter((x) => x.endsWith('.onnx')).sort() : []) {
    const name = path.basename(f, '.onnx');
    const ds = [path.join(onnx, name, 'test_data_set_0'), path.join(onnx, name, 'sample')].find((p) => fs.existsSync(p));
    out.push({
      id: `onnx/${name}`, file: path.join(onnx, f),
      inputs: () => {
        if (!ds) return [];
        const ins: Tensor[] = [];
        for (let k = 0; fs.existsSync(path.join(ds, `input_${k}.pb`)); k++) ins.push(readPb(path.join(ds, `input_${k}.pb`)));
        return ins;
      },
    });
  }
  return out;
}

/** The first `rows` samples of a batch tensor, shaped like the graph input. */
function fitInput(t: Tensor, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toNumbers());
  return new Tensor('f32', shape, d.slice(0, n));
}

const all = cases();

describe.skipIf(all.length === 0)('models on wasm vs reference', () => {
  for (const c of all) {
    it(c.id, async () => {
      const g = loadOnnxFile(c.file);
      const reason = UNSUPPORTED[c.id];
      if (reason !== undefined) {
        let err: unknown;
        try {
          compileWasm(g);
        } catch (e) {
          err = e;
        }
        expect(err, reason).toBeInstanceOf(EdgecError);
        expect((err as EdgecError).kind).toBe('unsupported');
        return;
      }
      let ins = c.inputs();
      if (ins.length !== g.inputs.length) ins = g.inputs.map((id, i) => randomTensor(g.typeOf(id).shape as number[], 11 + i));
      ins = ins.map((t, i) => fitInput(t, g.typeOf(g.inputs[i]!).shape as number[]));
      const t0 = performance.now();
      const prequant = g.orderedNodes().some((n) => n.domain === '' && PREQUANT.has(n.op));
      const { outputs, codeBytes } = await runOnWasm(prequant ? lowerQdq(g).graph : g, ins);
      const ms = performance.now() - t0;
      const want = runGraph(g, ins);
      console.log(`${c.id}: code ${(codeBytes / 1024).toFixed(1)} KB, compile+load+run ${ms.toFixed(0)} ms`);
      expect(codeBytes).toBeLessThanOrEqual(100 * 1024);
      want.forEach((w, k) => expect(compareTensors(outputs[k]!, w, { rtol: 1e-3, atol: 1e-5 }), `output ${k}`).toBeNull());
    });
  }
});
