/**
 * Post-training quantization of every trained model in ../shared/models/trained:
 * - int8 (minmax calibration on calib_x.pb): test accuracy within 1.0 point of float (classifiers),
 *   reconstruction MSE within 10% of float (digits_ae); weights about 4x smaller; at most 5% of the
 *   weights stay float by default (float islands, counted in elements of float constants);
 * - the standard ONNX QDQ graph (exported) run by onnxruntime-node is within 0.5 points of edgec's own
 *   integer (lowered) model;
 * (fp16 / int4: models-fp16-int4.test.ts.)
 * Expected values: float metrics come from the reference interpreter on the float model (itself
 * checked against meta.json by tests/models/accuracy.test.ts); ORT is the independent oracle.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { quantizeModel } from '../../quantize/index.js';
import { Graph } from '../../compiler/ir/graph.js';
import { isFloat } from '../../compiler/ir/dtype.js';
import { HAVE_MODELS, loadTrained, ortSession, trainedModels as models, within } from './harness.js';

const lines: string[] = [];

/** Elements of float constants (more than one element) that nodes of `g` read: the float weights. */
function floatWeights(g: Graph): number {
  const used = new Set<number>();
  for (const n of g.nodes.values()) for (const i of n.inputs) if (i !== null && g.consts.has(i)) used.add(i);
  let k = 0;
  for (const id of used) {
    const t = g.consts.get(id)!;
    if (isFloat(t.dtype) && t.size > 1) k += t.size;
  }
  return k;
}

describe.skipIf(!HAVE_MODELS)('quantize: trained models', () => {
  afterAll(() => {
    console.log(`\nquantization summary:\n| model | metric | float | int8 (edgec) | int8 (ORT on QDQ) | int8 percentile / entropy / mse | weight bytes f32 -> int8 | float islands | weights kept float |\n|---|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`);
  });
  for (const m of models) {
    it(m, async () => {
      const { meta, calib, graph: g, evalGraph, evalOrt } = loadTrained(m);
      const fl = await evalGraph(g);
      const r8 = quantizeModel(g, { mode: 'int8', calib: [calib] });
      const q8 = await evalGraph(r8.graph);
      // integer ops really are in the lowered graph, float islands are listed
      expect(r8.graph.orderedNodes().some((n) => n.domain === 'edgec' && (n.op === 'QConv' || n.op === 'QGemm'))).toBe(true);
      const sess = await ortSession(exportOnnx(r8.qdq));
      const qOrt = await evalOrt(sess);
      // histogram calibrators work too (same bound); cbf_fcn is skipped here only to keep the file's run
      // time reasonable (its 1-D convs on 128 steps make each reference pass ~10 s on 2 cores)
      const others: string[] = [];
      for (const calibrator of m === 'cbf_fcn' ? [] : ['percentile', 'entropy', 'mse'] as const) {
        const q = await evalGraph(quantizeModel(g, { mode: 'int8', calib: [calib], calibrator }).graph);
        others.push(q.toFixed(4));
        expect(within(meta, q, fl, 1.0, 0.1), `${m}: int8 (${calibrator}) ${q} vs float ${fl}`).toBe(true);
      }
      const s = r8.summary;
      const f = (v: number) => v.toFixed(4);
      const keptShare = floatWeights(r8.graph) / floatWeights(g);
      lines.push(`| ${m} | ${meta.metric} | ${f(fl)} | ${f(q8)} | ${f(qOrt)} | ${others.join(' / ') || '-'} | ${s.weightBytesBefore} -> ${s.weightBytesAfter} | ${s.floatIslands.length} | ${(100 * keptShare).toFixed(2)}% |`);
      // the bar: int8 (default calibrator) within 1.0 accuracy point of float; at most 5% of the weights float
      expect(within(meta, q8, fl, 1.0, 0.1), `${m}: int8 ${q8} vs float ${fl}`).toBe(true);
      expect(keptShare, `${m}: share of the weights kept float`).toBeLessThanOrEqual(0.05);
      expect(s.weightBytesBefore / s.weightBytesAfter).toBeGreaterThan(3.5);
      expect(Math.abs(qOrt - q8), `${m}: ORT on the QDQ graph ${qOrt} vs edgec int8 ${q8}`).toBeLessThanOrEqual(meta.metric === 'test_mse' ? 0.1 * fl : 0.005);
    }, 300_000);
  }
});
