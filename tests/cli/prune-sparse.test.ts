/**
 * `edgec compile --prune` on wasm, end to end (issue 13 item 3): unstructured 70% in 1x4 blocks and
 * 2:4 compile to the sparse kernels, model.wasm stores the weights sparse (smaller than the dense
 * compile), elementwise 70% on dscnn runs its pruned 1x1 convs as SpMM over the pixels
 * (spmm_chw_f32), and the artifact matches the reference interpreter on the pruned model (--emit-onnx);
 * bad pruning flags are one-line usage errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { loadWasmArtifact, runWasmModel } from '../../targets/wasm/runner.js';
import { randomTensor } from '../targets/wasm-helpers.js';
import { BENCH, HAVE_MODELS, cli, rmTmp, tmpDir } from './helpers.js';

const AE = path.join(BENCH, 'autoencoder.onnx');
const dirs: string[] = [];
afterAll(() => dirs.forEach(rmTmp));

async function compileTo(...args: string[]): Promise<{ dir: string; err: string; bytes: number }> {
  const dir = tmpDir('edgec-sparse-');
  dirs.push(dir);
  const r = await cli('compile', AE, ...args, '--emit-onnx', '-o', dir);
  expect(r.code, r.err).toBe(0);
  return { dir, err: r.err, bytes: fs.statSync(path.join(dir, 'model.wasm')).size };
}

describe.skipIf(!HAVE_MODELS)('edgec compile --prune on the autoencoder (wasm sparse kernels)', () => {
  let denseBytes = 0;
  it('dense baseline', async () => {
    denseBytes = (await compileTo()).bytes;
  });

  for (const c of [
    { name: 'unstructured 0.7 in 1x4 blocks', args: ['--prune', '0.7', '--prune-block', '4'], pattern: 'block 1x4', kernel: 'spmm_f32', maxSize: 0.45 },
    { name: 'unstructured 0.7 elementwise', args: ['--prune', '0.7'], pattern: 'elementwise', kernel: undefined, maxSize: 0.45 },
    { name: '2:4', args: ['--prune', '0.5', '--prune-mode', '2:4'], pattern: '2:4', kernel: 'spmm24_f32', maxSize: 0.65 },
  ]) {
    it(c.name, async () => {
      const { dir, err, bytes } = await compileTo(...c.args);
      expect(err).toContain(`(pattern: ${c.pattern}`);
      expect(bytes).toBeLessThan(c.maxSize * denseBytes);
      const g = loadOnnxFile(path.join(dir, 'model.onnx'));
      optimize(g, { target: 'wasm' });
      const kernels = lowerGraph(g).steps.map((s) => s.kernel);
      if (c.kernel) expect(kernels).toContain(c.kernel);
      const model = await loadWasmArtifact(dir);
      const x = randomTensor(model.inputs[0]!.shape, 5, 0, 1);
      const got = runWasmModel(model, [x])[0]!.data as Float32Array;
      const want = runGraph(g, [x])[0]!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
      expect(worst).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe.skipIf(!HAVE_MODELS)('edgec compile --prune 0.7 (elementwise) on a convnet: pruned 1x1 convs run SpMM over the pixels', () => {
  it('dscnn: spmm_chw_f32 layers, matches the reference on the pruned model', async () => {
    const dir = tmpDir('edgec-sparse-conv-');
    dirs.push(dir);
    const r = await cli('compile', path.join(BENCH, 'dscnn.onnx'), '--prune', '0.7', '--emit-onnx', '-o', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('(pattern: elementwise');
    const g = loadOnnxFile(path.join(dir, 'model.onnx'));
    optimize(g, { target: 'wasm' });
    expect(lowerGraph(g).steps.map((s) => s.kernel)).toContain('spmm_chw_f32');
    const model = await loadWasmArtifact(dir);
    const x = randomTensor(model.inputs[0]!.shape, 6, -1, 1);
    const got = runWasmModel(model, [x])[0]!.data as Float32Array;
    const want = runGraph(g, [x])[0]!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe('pruning flag errors', () => {
  it('--prune-block needs unstructured pruning', async () => {
    const r = await cli('compile', 'nonexistent.onnx', '--prune', '0.5', '--prune-mode', 'channel', '--prune-block', '4', '-o', 'x');
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/--prune-block needs --prune RATIO with --prune-mode unstructured/);
  });
  it('--prune-block without --prune', async () => {
    const r = await cli('compile', 'nonexistent.onnx', '--prune-block', '4', '-o', 'x');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--prune-block needs --prune/);
  });
  it('report: --prune-block needs --prune-mode unstructured', async () => {
    const r = await cli('report', 'nonexistent.onnx', '--data', 'x.npy', '--labels', 'y.npy', '--prune-block', '4');
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/--prune-block needs --prune-mode unstructured/);
  });
  it('--prune-block 0 is rejected', async () => {
    const r = await cli('compile', 'nonexistent.onnx', '--prune', '0.5', '--prune-block', '0', '-o', 'x');
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
