/**
 * Every model in ../shared/models/{trained,bench,onnx} on the wasm target against the reference
 * interpreter (rtol 1e-3): trained models on their sample inputs, public ONNX models on their
 * test_data_set_0 inputs, bench models on seeded random inputs. Also checks the code size budget
 * (model.wasm minus weights <= 100 KB). Models the wasm target cannot compile are listed in
 * UNSUPPORTED with the reason; for them the compile must fail with an 'unsupported' error.
 */
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { EdgecError } from '../../compiler/errors.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { lowerQdq } from '../../quantize/index.js';
import { compareTensors } from '../helpers/compare.js';
import { runOnWasm } from './wasm-helpers.js';
import { modelCases, modelInputs } from './model-cases.js';

/** Models the wasm target rejects, with the reason (the compile must fail with 'unsupported'). */
const UNSUPPORTED: Record<string, string> = {};

/** Ops of an already-quantized model: it compiles through the integer ops (as `edgec compile` does). */
const PREQUANT = new Set(['QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger']);

const all = modelCases(() => true);

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
      const ins = modelInputs(c, g);
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
