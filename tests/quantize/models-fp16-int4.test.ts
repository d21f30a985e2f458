/**
 * --fp16 and --int4 (weight-only, block 32) on every trained model in ../shared/models/trained:
 * fp16 within 0.5 points (MSE within 2%) of float with 2x smaller weights; int4 within 3 points
 * (MSE within 50%) with > 4x smaller weights; onnxruntime-node runs the exported graphs (Cast/f16,
 * DequantizeLinear with block_size) to the same metric.
 * Expected values: float metrics come from the reference interpreter on the float model (itself
 * checked against meta.json by tests/models/accuracy.test.ts); ORT is the independent oracle.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { quantizeModel } from '../../quantize/index.js';
import { HAVE_MODELS, loadTrained, ortSession, trainedModels as models, within } from './harness.js';

const lines: string[] = [];

describe.skipIf(!HAVE_MODELS)('quantize fp16/int4: trained models', () => {
  afterAll(() => {
    console.log(`\nfp16 / int4 summary:\n| model | metric | float | fp16 | fp16 (ORT) | int4 | int4 (ORT) | weight bytes f32 -> fp16 / int4 |\n|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`);
  });
  for (const m of models) {
    it(m, async () => {
      const { meta, graph: g, evalGraph, evalOrt } = loadTrained(m);
      const fl = await evalGraph(g);
      const r16 = quantizeModel(g, { mode: 'fp16' });
      const q16 = await evalGraph(r16.graph);
      const r4 = quantizeModel(g, { mode: 'int4' });
      const q4 = await evalGraph(r4.graph);
      const sess16 = await ortSession(exportOnnx(r16.qdq));
      const sess4 = await ortSession(exportOnnx(r4.qdq));
      const ort16 = await evalOrt(sess16);
      const ort4 = await evalOrt(sess4);
      const f = (v: number) => v.toFixed(4);
      lines.push(`| ${m} | ${meta.metric} | ${f(fl)} | ${f(q16)} | ${f(ort16)} | ${f(q4)} | ${f(ort4)} | ${r16.summary.weightBytesBefore} -> ${r16.summary.weightBytesAfter} / ${r4.summary.weightBytesAfter} |`);
      // ORT runs the same standard graphs (fp16 kernels may round differently: compare metrics)
      expect(Math.abs(ort16 - q16)).toBeLessThanOrEqual(meta.metric === 'test_mse' ? 0.02 * fl : 0.005);
      expect(Math.abs(ort4 - q4)).toBeLessThanOrEqual(meta.metric === 'test_mse' ? 0.02 * fl : 0.005);
      expect(within(meta, q16, fl, 0.5, 0.02), `${m}: fp16 ${q16} vs float ${fl}`).toBe(true);
      expect(r16.summary.weightBytesBefore / r16.summary.weightBytesAfter).toBeGreaterThan(1.9);
      expect(within(meta, q4, fl, 3.0, 0.5), `${m}: int4 ${q4} vs float ${fl}`).toBe(true);
      expect(r4.summary.weightBytesBefore / r4.summary.weightBytesAfter).toBeGreaterThan(4);
    }, 300_000);
  }
});
