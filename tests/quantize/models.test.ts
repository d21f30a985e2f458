/**
 * Post-training quantization of every trained model in ../shared/models/trained:
 * - int8 (minmax calibration on calib_x.pb): test accuracy within 1.0 point of float (classifiers),
 *   reconstruction MSE within 10% of float (digits_ae); weights about 4x smaller;
 * - the standard ONNX QDQ graph (exported) run by onnxruntime-node is within 0.5 points of edgec's own
 *   integer (lowered) model;
 * (fp16 / int4: models-fp16-int4.test.ts.)
 * Expected values: float metrics come from the reference interpreter on the float model (itself
 * checked against meta.json by tests/models/accuracy.test.ts); ORT is the independent oracle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { quantizeModel } from '../../quantize/index.js';
import { HAVE_MODELS, MODELS_DIR, loadForInputs, ortSession, readPb, runOrt } from '../models/harness.js';

interface Meta {
  task: 'classification' | 'reconstruction';
  metric: 'test_accuracy' | 'test_mse';
  fp32_value: number;
}

const trainedDir = path.join(MODELS_DIR, 'trained');
const models = HAVE_MODELS ? fs.readdirSync(trainedDir).sort() : [];
const lines: string[] = [];

/** Runs `run` on the test set in chunks of the graph's batch size (last chunk zero-padded). */
async function predict(batch: number, x: Tensor, run: (b: Tensor) => Tensor | Promise<Tensor>): Promise<Float32Array[]> {
  const per = x.size / x.shape[0]!;
  const rows: Float32Array[] = [];
  for (let s = 0; s < x.shape[0]!; s += batch) {
    const n = Math.min(batch, x.shape[0]! - s);
    const data = new Float32Array(batch * per);
    data.set((x.data as Float32Array).subarray(s * per, (s + n) * per));
    const out = await run(new Tensor('f32', [batch, ...x.shape.slice(1)], data));
    const op = out.size / batch;
    for (let r = 0; r < n; r++) rows.push((out.data as Float32Array).slice(r * op, (r + 1) * op));
  }
  return rows;
}

function metric(meta: Meta, rows: Float32Array[], x: Tensor, y: Tensor): number {
  if (meta.metric === 'test_mse') {
    const per = x.size / x.shape[0]!;
    let s = 0;
    rows.forEach((r, i) => r.forEach((v, j) => (s += (v - x.get(i * per + j)) ** 2)));
    return s / x.size;
  }
  let ok = 0;
  rows.forEach((r, i) => {
    let best = 0;
    for (let j = 1; j < r.length; j++) if (r[j]! > r[best]!) best = j;
    if (best === y.get(i)) ok++;
  });
  return ok / rows.length;
}

function within(meta: Meta, q: number, f: number, points: number, rel: number): boolean {
  return meta.metric === 'test_mse' ? q <= f * (1 + rel) : f - q <= points / 100;
}

describe.skipIf(!HAVE_MODELS)('quantize: trained models', () => {
  afterAll(() => {
    console.log(`\nquantization summary:\n| model | metric | float | int8 (edgec) | int8 (ORT on QDQ) | int8 percentile / entropy / mse | weight bytes f32 -> int8 | float islands |\n|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`);
  });
  for (const m of models) {
    it(m, async () => {
      const dir = path.join(trainedDir, m);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
      const calib = readPb(path.join(dir, 'calib_x.pb'));
      const x = readPb(path.join(dir, 'test_x.pb'));
      const y = readPb(path.join(dir, 'test_y.pb'));
      const g: Graph = loadForInputs(path.join(dir, 'model.onnx'), [calib]);
      optimize(g, { target: 'wasm' });
      const B = calib.shape[0]!;
      const evalGraph = async (q: Graph) => metric(meta, await predict(B, x, (b) => runGraph(q, [b])[0]!), x, y);
      const fl = await evalGraph(g);
      const r8 = quantizeModel(g, { mode: 'int8', calib: [calib] });
      const q8 = await evalGraph(r8.graph);
      // integer ops really are in the lowered graph, float islands are listed
      expect(r8.graph.orderedNodes().some((n) => n.domain === 'edgec' && (n.op === 'QConv' || n.op === 'QGemm'))).toBe(true);
      const sess = await ortSession(exportOnnx(r8.qdq));
      const ortRows = await predict(B, x, async (b) => (await runOrt(sess, [b]))[0]!);
      const qOrt = metric(meta, ortRows, x, y);
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
      lines.push(`| ${m} | ${meta.metric} | ${f(fl)} | ${f(q8)} | ${f(qOrt)} | ${others.join(' / ') || '-'} | ${s.weightBytesBefore} -> ${s.weightBytesAfter} | ${s.floatIslands.length} |`);
      expect(within(meta, q8, fl, 1.0, 0.1), `${m}: int8 ${q8} vs float ${fl}`).toBe(true);
      expect(s.weightBytesBefore / s.weightBytesAfter).toBeGreaterThan(3.5);
      expect(Math.abs(qOrt - q8), `${m}: ORT on the QDQ graph ${qOrt} vs edgec int8 ${q8}`).toBeLessThanOrEqual(meta.metric === 'test_mse' ? 0.1 * fl : 0.005);
    }, 300_000);
  }
});
