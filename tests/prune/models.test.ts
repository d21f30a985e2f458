/**
 * Accuracy vs pruning ratio on the trained models in ../shared/models/trained (post-training, no
 * fine-tuning). The float metric is computed here with the reference interpreter (and checked
 * against meta.json); each pruned model is scored on test_x/test_y the same way. Thresholds were
 * chosen from measured values with a margin (see the table printed at the end) and encode:
 * - moderate pruning costs little: unstructured 50% and 2:4 (with bias correction) stay close to
 *   float; data-driven channel pruning of 25% stays close to float;
 * - more pruning never helps much: metric(r) is monotone-ish in r (1.5 points of slack);
 * - calibration data helps channel pruning;
 * - channel pruning really shrinks the model: params and MACs (summed over the ops' `cost`
 *   functions through the registry, here) drop, and stay consistent with the summary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { verify } from '../../compiler/ir/verify.js';
import { runGraph, inferCtxOf } from '../../compiler/interp/interp.js';
import { getOp, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { optimize } from '../../compiler/pipeline.js';
import { PruneOptions, pruneModel } from '../../prune/index.js';
import { HAVE_MODELS, MODELS_DIR, loadForInputs, readPb } from '../models/harness.js';

interface Meta {
  metric: 'test_accuracy' | 'test_mse';
  fp32_value: number;
}

const trainedDir = path.join(MODELS_DIR, 'trained');
const models = HAVE_MODELS ? fs.readdirSync(trainedDir).filter((m) => fs.existsSync(path.join(trainedDir, m, 'meta.json'))).sort() : [];
/**
 * Calibration samples used (also the batch size of the loaded graph) and test samples scored.
 * cbf_fcn is ~8M MACs per sample on the reference interpreter: it uses fixed subsets.
 */
const CALIB: Record<string, number> = { cbf_fcn: 64 };
const TEST_LIMIT: Record<string, number> = { cbf_fcn: 128 };

function firstSamples(t: Tensor, n: number): Tensor {
  const per = t.size / t.shape[0]!;
  const k = Math.min(n, t.shape[0]!);
  return new Tensor(t.dtype, [k, ...t.shape.slice(1)], (t.data as Float32Array).slice(0, k * per));
}

/** Accuracy (argmax) or reconstruction MSE over the test set, in batches of the graph's batch size. */
function score(g: Graph, meta: Meta, x: Tensor, y: Tensor): number {
  const B = g.typeOf(g.inputs[0]!).shape[0] as number;
  const per = x.size / x.shape[0]!;
  let ok = 0;
  let se = 0;
  for (let s = 0; s < x.shape[0]!; s += B) {
    const n = Math.min(B, x.shape[0]! - s);
    const d = new Float32Array(B * per);
    d.set((x.data as Float32Array).subarray(s * per, (s + n) * per));
    const out = runGraph(g, [new Tensor('f32', [B, ...x.shape.slice(1)], d)])[0]!;
    const op = out.size / B;
    const o = out.data as Float32Array;
    for (let r = 0; r < n; r++) {
      if (meta.metric === 'test_mse') {
        for (let j = 0; j < op; j++) se += (o[r * op + j]! - x.get((s + r) * per + j)) ** 2;
      } else {
        let best = 0;
        for (let j = 1; j < op; j++) if (o[r * op + j]! > o[r * op + best]!) best = j;
        if (best === y.get(s + r)) ok++;
      }
    }
  }
  return meta.metric === 'test_mse' ? se / x.size : ok / x.shape[0]!;
}

function registryMacs(g: Graph): number {
  let m = 0;
  for (const n of g.orderedNodes()) {
    const def = getOp(n.domain, n.op);
    if (def?.cost) m += def.cost(inferCtxOf(g, n), parseAttrs(def, n, opsetOf(n, g)), n.outputs.map((o) => g.typeOf(o))).macs;
  }
  return m;
}

/**
 * "Loss" of a pruned metric vs float, in points (accuracy) or in percent of the float MSE
 * (reconstruction), so one threshold shape serves both.
 */
function loss(meta: Meta, float: number, v: number): number {
  return meta.metric === 'test_mse' ? (100 * (v - float)) / float : 100 * (float - v);
}

/**
 * Maximum loss allowed per model and configuration (measured loss + margin; see the file comment).
 * Accuracy models: points; digits_ae: percent MSE increase.
 */
const LIMITS: Record<string, Record<string, number>> = {
  // measured (edgec, this data): u@0.5 -0.2, u+cal 0.0, 2:4+cal 0.7, ch+cal@0.25 1.3, ch+cal@0.5 5.2
  digits_mlp: { 'unstructured@0.5': 2, 'unstructured+cal@0.5': 1.5, '2:4+cal': 2, 'channel+cal@0.25': 3, 'channel+cal@0.5': 8 },
  // measured: 0.4, 0.4, 0.4, 0.2, 17.4
  digits_allconv: { 'unstructured@0.5': 1.5, 'unstructured+cal@0.5': 1.5, '2:4+cal': 1.5, 'channel+cal@0.25': 1.5, 'channel+cal@0.5': 25 },
  // measured: 9.3, 1.9, 9.3, 1.7, 4.3 (10k parameters: little redundancy)
  digits_lae_ail: { 'unstructured@0.5': 12, 'unstructured+cal@0.5': 4, '2:4+cal': 12, 'channel+cal@0.25': 4, 'channel+cal@0.5': 7 },
  // measured (% MSE increase): 204, 140, 153, 199, 364
  digits_ae: { 'unstructured@0.5': 250, 'unstructured+cal@0.5': 180, '2:4+cal': 200, 'channel+cal@0.25': 250, 'channel+cal@0.5': 450 },
  // measured (128 test samples, 64 calibration samples): 0, 0, 0, 0, 0.8
  cbf_fcn: { 'unstructured@0.5': 2, 'unstructured+cal@0.5': 2, '2:4+cal': 2, 'channel+cal@0.25': 3, 'channel+cal@0.5': 5 },
};

const table: string[] = [];

describe.skipIf(!HAVE_MODELS)('prune: trained models, accuracy vs ratio', () => {
  afterAll(() => {
    console.log(`\npruning summary (metric: accuracy, or MSE for digits_ae):\n| model | config | metric | loss | params | MACs |\n|---|---|---|---|---|---|\n${table.join('\n')}\n`);
  });

  for (const m of models) {
    describe(m, () => {
      const dir = path.join(trainedDir, m);
      let meta: Meta;
      let g: Graph;
      let calib: Tensor;
      let x: Tensor;
      let y: Tensor;
      let float = 0;
      const results = new Map<string, number>();
      const run = (key: string, opts: PruneOptions) => {
        const t0 = performance.now();
        const res = pruneModel(g, opts);
        verify(res.graph);
        const v = score(res.graph, meta, x, y);
        results.set(key, v);
        const s = res.summary;
        table.push(`| ${m} | ${key} | ${v.toFixed(4)} | ${loss(meta, float, v).toFixed(1)} | ${s.paramsBefore} -> ${s.paramsAfter} (nnz ${s.nnzAfter}) | ${s.macsBefore} -> ${s.macsAfter} (sparse ${s.sparseMacsAfter}) | ${((performance.now() - t0) / 1000).toFixed(1)}s |`);
        return { res, v };
      };
      const limit = (key: string) => LIMITS[m]?.[key] ?? 5;

      beforeAll(() => {
        meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
        calib = firstSamples(readPb(path.join(dir, 'calib_x.pb')), CALIB[m] ?? Infinity);
        x = firstSamples(readPb(path.join(dir, 'test_x.pb')), TEST_LIMIT[m] ?? Infinity);
        y = firstSamples(readPb(path.join(dir, 'test_y.pb')), TEST_LIMIT[m] ?? Infinity);
        g = loadForInputs(path.join(dir, 'model.onnx'), [calib]);
        optimize(g, { target: 'wasm' });
        float = score(g, meta, x, y);
        table.push(`| ${m} | float | ${float.toFixed(4)} | 0 | | | |`);
        if (TEST_LIMIT[m] === undefined) {
          if (meta.metric === 'test_mse') expect(Math.abs(float - meta.fp32_value) / meta.fp32_value).toBeLessThan(0.01);
          else expect(Math.abs(float - meta.fp32_value)).toBeLessThan(0.002);
        }
      });

      it('unstructured: small loss at 50%, monotone-ish in the ratio', () => {
        const vals = [0.25, 0.5, 0.75].map((r) => run(`unstructured@${r}`, { ratio: r, mode: 'unstructured' }));
        for (const { res } of vals) expect(res.summary.macsAfter).toBe(res.summary.macsBefore);
        expect(loss(meta, float, vals[1]!.v)).toBeLessThanOrEqual(limit('unstructured@0.5'));
        // more pruning never gains more than noise (1.5 points / 15% MSE)
        for (let i = 1; i < vals.length; i++) expect(loss(meta, float, vals[i]!.v)).toBeGreaterThanOrEqual(loss(meta, float, vals[i - 1]!.v) - (meta.metric === 'test_mse' ? 15 : 1.5));
        const cal = run('unstructured+cal@0.5', { ratio: 0.5, mode: 'unstructured', calib: [calib] });
        expect(loss(meta, float, cal.v)).toBeLessThanOrEqual(limit('unstructured+cal@0.5'));
        // bias correction with calibration data does not hurt beyond noise
        expect(loss(meta, float, cal.v)).toBeLessThanOrEqual(loss(meta, float, vals[1]!.v) + (meta.metric === 'test_mse' ? 10 : 1));
      });

      it('2:4 with bias correction', () => {
        const { res, v } = run('2:4+cal', { ratio: 0, mode: '2:4', calib: [calib] });
        expect(res.summary.layers.length).toBeGreaterThan(0);
        for (const l of res.summary.layers) expect(l.sparsity).toBeGreaterThanOrEqual(0.5);
        expect(loss(meta, float, v)).toBeLessThanOrEqual(limit('2:4+cal'));
      });

      it('channel: the model shrinks; calibration-driven pruning keeps accuracy at 25%', () => {
        const q = run('channel+cal@0.25', { ratio: 0.25, mode: 'channel', calib: [calib] });
        const h = run('channel+cal@0.5', { ratio: 0.5, mode: 'channel', calib: [calib] });
        const plain = run('channel@0.5', { ratio: 0.5, mode: 'channel' });
        for (const { res } of [q, h, plain]) {
          const s = res.summary;
          expect(s.paramsAfter).toBeLessThan(s.paramsBefore);
          expect(s.macsAfter).toBeLessThan(s.macsBefore);
          expect(registryMacs(res.graph)).toBe(s.macsAfter);
          expect(registryMacs(g)).toBe(s.macsBefore);
        }
        expect(h.res.summary.macsAfter).toBeLessThan(q.res.summary.macsAfter);
        expect(loss(meta, float, q.v)).toBeLessThanOrEqual(limit('channel+cal@0.25'));
        expect(loss(meta, float, h.v)).toBeLessThanOrEqual(limit('channel+cal@0.5'));
        expect(loss(meta, float, h.v)).toBeGreaterThanOrEqual(loss(meta, float, q.v) - (meta.metric === 'test_mse' ? 15 : 1.5));
        // data-driven selection + bias compensation beats weight norms alone (or ties within noise)
        expect(loss(meta, float, h.v)).toBeLessThanOrEqual(loss(meta, float, plain.v) + 1.5);
      });
    });
  }
});
