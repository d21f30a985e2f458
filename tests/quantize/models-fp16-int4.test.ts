/**
 * --fp16 and --int4 (weight-only, block 32) on every trained model in ../shared/models/trained:
 * fp16 within 0.5 points (MSE within 2%) of float with 2x smaller weights; int4 within 3 points
 * (MSE within 50%) with > 4x smaller weights; onnxruntime-node runs the exported graphs (Cast/f16,
 * DequantizeLinear with block_size) to the same metric.
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

describe.skipIf(!HAVE_MODELS)('quantize fp16/int4: trained models', () => {
  afterAll(() => {
    console.log(`\nfp16 / int4 summary:\n| model | metric | float | fp16 | fp16 (ORT) | int4 | int4 (ORT) | weight bytes f32 -> fp16 / int4 |\n|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`);
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
      const r16 = quantizeModel(g, { mode: 'fp16' });
      const q16 = await evalGraph(r16.graph);
      const r4 = quantizeModel(g, { mode: 'int4' });
      const q4 = await evalGraph(r4.graph);
      const sess16 = await ortSession(exportOnnx(r16.qdq));
      const sess4 = await ortSession(exportOnnx(r4.qdq));
      const ort16 = metric(meta, await predict(B, x, async (b) => (await runOrt(sess16, [b]))[0]!), x, y);
      const ort4 = metric(meta, await predict(B, x, async (b) => (await runOrt(sess4, [b]))[0]!), x, y);
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
