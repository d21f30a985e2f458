/**
 * Shared data loading and evaluation for the trained-model quantization tests (models.test.ts,
 * models-fp16-int4.test.ts): each loads a model from ../shared/models/trained with its calibration and
 * test sets, optimizes it for wasm, and measures the model's own metric on any graph or ORT session.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { HAVE_MODELS, MODELS_DIR, loadForInputs, ortSession, readPb, runOrt } from '../models/harness.js';

export { HAVE_MODELS, ortSession };

export interface Meta {
  task: 'classification' | 'reconstruction';
  metric: 'test_accuracy' | 'test_mse';
  fp32_value: number;
}

export const trainedDir = path.join(MODELS_DIR, 'trained');
export const trainedModels: string[] = HAVE_MODELS ? fs.readdirSync(trainedDir).sort() : [];

/** Runs `run` on the test set in chunks of the graph's batch size (last chunk zero-padded). */
export async function predict(batch: number, x: Tensor, run: (b: Tensor) => Tensor | Promise<Tensor>): Promise<Float32Array[]> {
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

/** Test MSE against the input (reconstruction) or top-1 accuracy against the labels (classification). */
export function metric(meta: Meta, rows: Float32Array[], x: Tensor, y: Tensor): number {
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

/** Quantized metric `q` is within `points` accuracy points (classifiers) or `rel` relative MSE of float `f`. */
export function within(meta: Meta, q: number, f: number, points: number, rel: number): boolean {
  return meta.metric === 'test_mse' ? q <= f * (1 + rel) : f - q <= points / 100;
}

export interface TrainedModel {
  meta: Meta;
  calib: Tensor;
  x: Tensor;
  y: Tensor;
  /** The float model, optimized for wasm, with the calibration batch size. */
  graph: Graph;
  batch: number;
  /** The model's metric for graph `q` run on the reference interpreter. */
  evalGraph(q: Graph): Promise<number>;
  /** The model's metric for an onnxruntime-node session. */
  evalOrt(sess: Awaited<ReturnType<typeof ortSession>>): Promise<number>;
}

/** Loads trained model `m` (meta.json, calib_x/test_x/test_y.pb, model.onnx) and optimizes it for wasm. */
export function loadTrained(m: string): TrainedModel {
  const dir = path.join(trainedDir, m);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
  const calib = readPb(path.join(dir, 'calib_x.pb'));
  const x = readPb(path.join(dir, 'test_x.pb'));
  const y = readPb(path.join(dir, 'test_y.pb'));
  const graph: Graph = loadForInputs(path.join(dir, 'model.onnx'), [calib]);
  optimize(graph, { target: 'wasm' });
  const batch = calib.shape[0]!;
  return {
    meta, calib, x, y, graph, batch,
    evalGraph: async (q) => metric(meta, await predict(batch, x, (b) => runGraph(q, [b])[0]!), x, y),
    evalOrt: async (sess) => metric(meta, await predict(batch, x, async (b) => (await runOrt(sess, [b]))[0]!), x, y),
  };
}
