/**
 * Every model in ../shared/models/trained and ../shared/models/bench on the WebGPU target (the
 * `webgpu` package, SwiftShader in CI) against the reference interpreter (rtol 1e-3): trained
 * models on their sample inputs, bench models on seeded random inputs. SwiftShader runs on the
 * CPU, so each model compiles and runs once (mobilenetv2 included); EDGEC_WEBGPU_ALL_MODELS=1 adds
 * the public models of ../shared/models/onnx (slow). Skips (logged) only when no adapter exists and
 * CI is not set.
 */
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { modelCases, modelInputs } from './model-cases.js';
import { gpuAvailable, runOnWebgpu } from './webgpu-helpers.js';

const gpu = await gpuAvailable('webgpu-models');

// opt-in (slow on SwiftShader): the public models in ../shared/models/onnx on their test inputs
const all = modelCases(process.env['EDGEC_WEBGPU_ALL_MODELS'] ? (f) => !f.includes('integer-quant') : undefined);

describe.skipIf(all.length === 0 || !gpu)('models on webgpu vs reference', () => {
  for (const c of all) {
    it(c.id, async () => {
      const g = loadOnnxFile(c.file);
      const ins = modelInputs(c, g);
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
