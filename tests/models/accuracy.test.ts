/**
 * The reference interpreter reproduces each trained model's float test metric (meta.json:
 * accuracy for classifiers, reconstruction MSE for the autoencoder) on the full test set
 * (test_x.pb / test_y.pb), within 0.002, and does so in seconds (whole test set as one batch).
 * Skipped only when ../shared/models is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGraph } from '../../compiler/interp/interp.js';
import { HAVE_MODELS, MODELS_DIR, argmaxRows, loadForInputs, readPb } from './harness.js';

interface Meta {
  name: string;
  task: 'classification' | 'reconstruction';
  metric: 'test_accuracy' | 'test_mse';
  fp32_value: number;
  test_samples: number;
}

/**
 * CPU-time budget for one model's whole test set on the reference: catches a pathologically slow
 * kernel. CPU time, not wall time, so a loaded machine does not make the test flaky. cbf_fcn, the
 * slowest (2.5 G MACs of 1-D Conv), takes about 3-4 s of CPU.
 */
const BUDGET_MS = 15_000;

/** Process CPU time (user + system) in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const trainedDir = path.join(MODELS_DIR, 'trained');
const models = HAVE_MODELS ? fs.readdirSync(trainedDir).sort() : [];
const lines: string[] = [];

describe.skipIf(!HAVE_MODELS)('models: reference reproduces the float test metric of each trained model', () => {
  afterAll(() => {
    console.log(`\naccuracy summary:\n| model | metric | meta.json | reference | |diff| | time |\n|---|---|---|---|---|---|\n${lines.join('\n')}\n`);
  });

  for (const m of models) {
    it(m, () => {
      const dir = path.join(trainedDir, m);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
      const x = readPb(path.join(dir, 'test_x.pb'));
      const y = readPb(path.join(dir, 'test_y.pb'));
      expect(x.shape[0]).toBe(meta.test_samples);
      const g = loadForInputs(path.join(dir, 'model.onnx'), [x]);
      const t0 = performance.now();
      const c0 = cpuMs();
      const [out] = runGraph(g, [x]);
      const cpu = cpuMs() - c0;
      const ms = performance.now() - t0;
      let value: number;
      if (meta.metric === 'test_accuracy') {
        expect(y.shape[0]).toBe(meta.test_samples);
        const pred = argmaxRows(out!);
        let ok = 0;
        pred.forEach((p, i) => {
          if (p === y.get(i)) ok++;
        });
        value = ok / pred.length;
      } else {
        // reconstruction MSE: mean over all elements of (output - input)^2
        expect(out!.shape).toEqual(x.shape);
        let s = 0;
        for (let i = 0; i < x.size; i++) s += (out!.get(i) - x.get(i)) ** 2;
        value = s / x.size;
      }
      const diff = Math.abs(value - meta.fp32_value);
      lines.push(`| ${m} | ${meta.metric} | ${meta.fp32_value} | ${value.toFixed(4)} | ${diff.toFixed(4)} | ${(cpu / 1000).toFixed(2)} s CPU (${(ms / 1000).toFixed(2)} s wall) |`);
      expect(diff, `${m}: ${meta.metric} ${value} vs meta.json ${meta.fp32_value}`).toBeLessThanOrEqual(0.002);
      expect(cpu, `${m}: reference took ${cpu.toFixed(0)} ms CPU for ${meta.test_samples} samples`).toBeLessThan(BUDGET_MS);
    }, 120_000);
  }
});
