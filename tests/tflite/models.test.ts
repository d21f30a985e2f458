/**
 * The float TFLite models of ../shared/models/tflite: imported by edgec and run on the reference
 * interpreter and the wasm target, against TFLite's own interpreter (tests/tflite/oracle.ts) on
 * seeded random inputs; MACs against the MLPerf Tiny published figures; hello_world against sin(x),
 * the function it was trained on. Fails (not skips) in CI when ../shared is missing.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelFile, detectModelFormat } from '../../compiler/frontends/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { HAVE_MODELS, MODELS } from '../cli/helpers.js';
import { randomTensor, runOnWasm } from '../targets/wasm-helpers.js';
import { graphStats } from '../../targets/wasm/emit.js';
import { HAVE_TFLITE, runTflite } from './oracle.js';

const DIR = path.join(MODELS, 'tflite');
const TOL = { rtol: 1e-4, atol: 1e-5 };
const RUN = HAVE_MODELS || !!process.env['CI'];

interface Case {
  file: string;
  /** MLPerf Tiny's published MACs (M), when the model is a benchmark reference. */
  mmacs?: number;
  /** Also run on the reference interpreter (skipped for the largest graphs: f64 reference is slow). */
  ref: boolean;
  /**
   * Tolerance when TFLite does not compute in float: a dynamic-range ("hybrid") model keeps int8
   * weights and TFLite quantizes its activations to int8 on the fly; edgec runs it in float with
   * the weights dequantized, so the outputs differ by that activation rounding (about 1%).
   */
  tol?: { rtol: number; atol: number };
}

const FLOAT: Case[] = [
  { file: 'mlperf-tiny/ad01_fp32.tflite', mmacs: 0.26, ref: true },
  { file: 'mlperf-tiny/kws_ref_model_float32.tflite', mmacs: 2.66, ref: true, tol: { rtol: 0.05, atol: 0.01 } },
  { file: 'mlperf-tiny/pretrainedResnet.tflite', mmacs: 12.5, ref: true },
  { file: 'mlperf-tiny/vww_96_float.tflite', mmacs: 7.49, ref: true },
  { file: 'mlperf-tiny/pretrainedResnet_large_float.tflite', ref: false },
  { file: 'tflite-micro/hello_world_float.tflite', ref: true },
  { file: 'tflite-micro/trained_lstm.tflite', ref: true },
  { file: 'ultraface/version-slim-320_without_postprocessing.tflite', ref: false },
];

describe.runIf(RUN)('float TFLite models vs TFLite (tfjs-tflite wasm interpreter)', () => {
  it('the oracle is installed', () => {
    expect(HAVE_TFLITE).toBe(true);
  });

  for (const c of FLOAT) {
    it(`${c.file}: ${c.mmacs !== undefined ? 'MACs, ' : ''}${c.ref ? 'ref and ' : ''}wasm vs TFLite`, async () => {
      const file = path.join(DIR, c.file);
      expect(detectModelFormat(file)).toBe('tflite');
      const g = loadModelFile(file);
      verify(g);
      if (c.mmacs !== undefined) expect(Math.round(graphStats(g).macs / 1e4) / 100).toBeCloseTo(c.mmacs, 2);
      const inputs = g.inputs.map((id, k) => randomTensor(g.typeOf(id).shape as number[], 17 + k, -1, 1));
      const want = await runTflite(file, inputs);
      expect(want.length).toBe(g.outputs.length);
      const check = (got: Tensor[], what: string): void => {
        got.forEach((t, k) => {
          expect(t.shape, `${what} output ${k} shape`).toEqual(want[k]!.shape);
          expect(compareTensors(t, want[k]!, c.tol ?? TOL), `${what} output ${k}`).toBeNull();
        });
      };
      if (c.ref) check(runGraph(g, inputs), 'ref');
      check((await runOnWasm(g, inputs)).outputs, 'wasm');
    }, 120_000);
  }

  it('hello_world_float approximates sin(x) on [0, 2pi] (independent of any runtime)', () => {
    const g = loadModelFile(path.join(DIR, 'tflite-micro/hello_world_float.tflite'));
    let worst = 0;
    for (let i = 0; i <= 20; i++) {
      const x = (i / 20) * 2 * Math.PI;
      const [y] = runGraph(g, [Tensor.from('f32', [1, 1], [x])]);
      worst = Math.max(worst, Math.abs(y!.get(0) - Math.sin(x)));
    }
    expect(worst).toBeLessThan(0.2);
  });
});
