/**
 * What channel pruning tells the user: the ratio is the fraction of output channels removed from
 * each prunable layer (Torch-Pruning / NNI), the summary gives the weight and MAC fractions, skip
 * reasons name the real cause, and a sharp drop in calibration-set agreement is a warning.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { pruneModel } from '../../prune/index.js';
import { readDataFile } from '../../compiler/io/data.js';
import { BENCH, HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from '../cli/helpers.js';

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

describe('channel pruning summary', () => {
  it('a conv whose channels a residual Add ties to the first conv is skipped for that reason, named', () => {
    const b = new GraphBuilder('res');
    const x = b.input('x', 'f32', [1, 3, 8, 8]);
    const stem = b.node('Conv', [x, b.const('ws', new Tensor('f32', [8, 3, 3, 3], rand(216, 1)))], { pads: [1, 1, 1, 1] }, { name: 'stem' });
    const r0 = b.node('Relu', [stem]);
    const c1 = b.node('Conv', [r0, b.const('w1', new Tensor('f32', [8, 8, 3, 3], rand(576, 2)))], { pads: [1, 1, 1, 1] }, { name: 'c1' });
    const r1 = b.node('Relu', [c1]);
    const c2 = b.node('Conv', [r1, b.const('w2', new Tensor('f32', [8, 8, 3, 3], rand(576, 3)))], { pads: [1, 1, 1, 1] }, { name: 'c2' });
    const add = b.node('Add', [c2, r0]);
    const p = b.node('GlobalAveragePool', [b.node('Relu', [add])]);
    b.output(b.node('Gemm', [b.node('Flatten', [p]), b.const('wf', new Tensor('f32', [8, 4], rand(32, 4)))], {}, { outputNames: ['y'] }));
    const r = pruneModel(b.build(), { mode: 'channel', ratio: 0.5 });
    const reason = (n: string) => r.summary.skipped.find((s) => s.node === n)?.reason;
    expect(reason('stem')).toBe('first conv layer (skipFirstConv)');
    expect(reason('c2')).toMatch(/tied .* to the first conv layer "stem"/);
    const c1l = r.summary.layers.find((l) => l.node === 'c1')!;
    expect(c1l.channels).toMatchObject({ outBefore: 8, outAfter: 4 });
  });

  it.skipIf(!HAVE_MODELS)('resnet8 at 0.5 removes 50% +- 3% of the prunable layers\' output channels', () => {
    const g = loadOnnxFile(path.join(BENCH, 'resnet8.onnx'));
    new PassManager(pipelineFor('wasm')).run(g);
    const r = pruneModel(g, { mode: 'channel', ratio: 0.5 });
    const pruned = r.summary.layers.filter((l) => l.channels && l.channels.outAfter < l.channels.outBefore);
    expect(pruned.length).toBeGreaterThan(3);
    for (const l of pruned) expect(Math.abs(1 - l.channels!.outAfter / l.channels!.outBefore - 0.5), l.node).toBeLessThanOrEqual(0.03);
    expect(r.summary.macsAfter / r.summary.macsBefore).toBeLessThan(0.5);
  });

  it.skipIf(!HAVE_MODELS)('compile warns on a sharp agreement drop, not on a mild ratio; the summary gives fractions', async () => {
    const M = path.join(TRAINED, 'digits_allconv');
    const calib = readDataFile(path.join(M, 'calib_x.pb'));
    const sharp = pruneModel(loadOnnxFile(path.join(M, 'model.onnx')), { mode: 'channel', ratio: 0.5, calib: [calib] });
    expect(sharp.summary.agreement!.samples).toBe(256);
    expect(sharp.summary.agreement!.top1!).toBeLessThan(0.9);
    expect(sharp.summary.warning).toMatch(/changes the model sharply: top-1 agreement/);
    const mild = pruneModel(loadOnnxFile(path.join(M, 'model.onnx')), { mode: 'unstructured', ratio: 0.3, calib: [calib] });
    expect(mild.summary.agreement!.top1!).toBeGreaterThanOrEqual(0.9);
    expect(mild.summary.warning).toBeUndefined();
    const tmp = tmpDir('edgec-prune-');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--prune', '0.5', '--prune-mode', 'channel', '--calib', path.join(M, 'calib_x.pb'), '-o', path.join(tmp, 'a'));
    rmTmp(tmp);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/output channels of the \d+ pruned layer\(s\): \d+ -> \d+ \(50\.0% removed\); weights kept [\d.]+%, MACs kept [\d.]+% of the original/);
    expect(r.err).toMatch(/edgec: warning: channel pruning at 0.5 changes the model sharply/);
  });
});
