/**
 * Issue 11 item 3: eval/report metrics are checked against the labels and the model's output, so
 * no nonsense number is printed. Models are built in code: a 4-class linear classifier, a
 * 6 -> 6 "autoencoder" and a one-score binary classifier; expected accuracies are computed here
 * from the same weights (plain argmax in the test), not by the code under test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { writeDataFile } from '../../compiler/io/data.js';
import { chooseMetric, labelsKind, predictedClasses } from '../../cli/metrics.js';
import { cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-metrics-');
afterAll(() => rmTmp(tmp));

const N = 40;
const rand = (k: number): number => Math.sin(k * 12.9898) * 0.5;

/** y = x W (+ Sigmoid for one output); writes model.onnx and returns its path and the weights. */
function linearModel(name: string, inF: number, outF: number, sigmoid = false): { file: string; w: Float32Array } {
  const w = Float32Array.from({ length: inF * outF }, (_, k) => rand(k + 1));
  const b = new GraphBuilder(name, { '': 17 });
  let y = b.node('MatMul', [b.input('x', 'f32', [1, inF]), b.const('w', new Tensor('f32', [inF, outF], w))]);
  if (sigmoid) y = b.node('Sigmoid', [y]);
  b.output(y);
  const file = path.join(tmp, `${name}.onnx`);
  fs.writeFileSync(file, exportOnnx(b.build()));
  return { file, w };
}

const X = Float32Array.from({ length: N * 6 }, (_, k) => rand(1000 + k));
const xFile = path.join(tmp, 'x.pb');
writeDataFile(xFile, new Tensor('f32', [N, 6], X));

/** The classifier's true classes (computed here) with every 5th label wrong. */
function classifierLabels(w: Float32Array, C: number): { ids: number[]; want: number } {
  const ids: number[] = [];
  let ok = 0;
  for (let i = 0; i < N; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < 6; k++) s += X[i * 6 + k]! * w[k * C + c]!;
      if (s > bv) [bv, best] = [s, c];
    }
    const label = i % 5 === 0 ? (best + 1) % C : best;
    ids.push(label);
    if (label === best) ok++;
  }
  return { ids, want: ok / N };
}

describe('labels kinds and metric choice', () => {
  it('classifies ids, one-hot, probability rows and targets', () => {
    expect(labelsKind(Tensor.from('i64', [3], [0n, 2n, 1n]), 3)).toBe('ids');
    expect(labelsKind(Tensor.from('f32', [3], [0, 2, 1]), 3)).toBe('ids');
    expect(labelsKind(Tensor.from('f32', [3], [0, 2.5, 1]), 3)).toBe('targets');
    expect(labelsKind(Tensor.from('f32', [2, 3], [0, 1, 0, 1, 0, 0]), 2)).toBe('onehot');
    expect(labelsKind(Tensor.from('f32', [2, 3], [0.2, 0.7, 0.1, 1, 0, 0]), 2)).toBe('soft');
    expect(labelsKind(Tensor.from('f32', [2, 3], [0.2, 0.9, 0.1, 1, 0, 0]), 2)).toBe('targets');
  });
  it('binary scores: 0.5 for probabilities, 0 for logits', () => {
    expect(predictedClasses(Tensor.from('f32', [3, 1], [0.2, 0.6, 0.9]), 3)).toEqual([0, 1, 1]);
    expect(predictedClasses(Tensor.from('f32', [3, 1], [-2, 0.3, 4]), 3)).toEqual([0, 1, 1]);
  });
  it('one-hot labels pick accuracy with a note instead of silently switching to mse', () => {
    const notes: string[] = [];
    expect(chooseMetric(Tensor.from('f32', [2, 3], [0, 1, 0, 1, 0, 0]), 2, undefined, { outPerSample: 3 }, (m) => notes.push(m))).toBe('accuracy');
    expect(notes.join()).toMatch(/one-hot/);
  });
});

describe('edgec eval metric checks', () => {
  it('a classifier with class ids, one-hot labels or probability rows: the accuracy computed here', async () => {
    const { file, w } = linearModel('cls4', 6, 4);
    const { ids, want } = classifierLabels(w, 4);
    const yIds = path.join(tmp, 'ids.pb');
    writeDataFile(yIds, Tensor.from('i64', [N], ids.map(BigInt)));
    const r = await cli('eval', file, '--data', xFile, '--labels', yIds, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ metric: 'accuracy', value: want });
    const oneHot = new Float32Array(N * 4);
    ids.forEach((c, i) => (oneHot[i * 4 + c] = 1));
    const yHot = path.join(tmp, 'onehot.pb');
    writeDataFile(yHot, new Tensor('f32', [N, 4], oneHot));
    const h = await cli('eval', file, '--data', xFile, '--labels', yHot, '--json');
    expect(h.code, h.err).toBe(0);
    expect(JSON.parse(h.out)).toMatchObject({ metric: 'accuracy', value: want });
    expect(h.err).toMatch(/note: labels are one-hot rows/);
  });
  it('class ids against an autoencoder: refused without --metric, a warning with --metric accuracy', async () => {
    const { file } = linearModel('ae6', 6, 6);
    const y = path.join(tmp, 'ae-ids.pb');
    writeDataFile(y, Tensor.from('i64', [N], Array.from({ length: N }, (_, i) => BigInt(i % 6))));
    const r = await cli('eval', file, '--data', xFile, '--labels', y);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/autoencoder\?.*--metric mse/);
    const a = await cli('eval', file, '--data', xFile, '--labels', y, '--metric', 'accuracy');
    expect(a.code, a.err).toBe(0);
    expect(a.err).toMatch(/warning: the model's output \[6\] has its input's shape/);
    // mse with reconstruction targets is what the user meant
    const m = await cli('eval', file, '--data', xFile, '--labels', xFile, '--metric', 'mse');
    expect(m.code, m.err).toBe(0);
  });
  it('--metric accuracy on regression targets, ids beyond the classes, mse on class ids: one-line errors', async () => {
    const { file } = linearModel('cls4b', 6, 4);
    const targets = path.join(tmp, 'targets.pb');
    writeDataFile(targets, new Tensor('f32', [N, 4], Float32Array.from({ length: N * 4 }, (_, k) => rand(k) + 0.1)));
    const t = await cli('eval', file, '--data', xFile, '--labels', targets, '--metric', 'accuracy');
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/needs class labels.*--metric mse/);
    const big = path.join(tmp, 'big-ids.pb');
    writeDataFile(big, Tensor.from('i64', [N], Array.from({ length: N }, (_, i) => BigInt(i % 7))));
    const b = await cli('eval', file, '--data', xFile, '--labels', big);
    expect(b.code).toBe(3);
    expect(b.err).toMatch(/label 6 is not a class of the model's output \(4 scores per sample/);
    const ids = path.join(tmp, 'ids4.pb');
    writeDataFile(ids, Tensor.from('i64', [N], Array.from({ length: N }, (_, i) => BigInt(i % 4))));
    const m = await cli('eval', file, '--data', xFile, '--labels', ids, '--metric', 'mse');
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/one class id per sample/);
    for (const e of [t, b, m]) expect(e.err.trim().split('\n')).toHaveLength(1);
  });
  it('a one-score binary classifier (sigmoid) is scored against 0.5', async () => {
    const { file, w } = linearModel('bin', 6, 1, true);
    const labels: bigint[] = [];
    let ok = 0;
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let k = 0; k < 6; k++) s += X[i * 6 + k]! * w[k]!;
      const cls = s > 0 ? 1 : 0; // sigmoid(s) > 0.5
      const label = i % 4 === 0 ? 1 - cls : cls;
      labels.push(BigInt(label));
      if (label === cls) ok++;
    }
    const y = path.join(tmp, 'bin.pb');
    writeDataFile(y, Tensor.from('i64', [N], labels));
    const r = await cli('eval', file, '--data', xFile, '--labels', y, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ metric: 'accuracy', value: ok / N });
  });
});
