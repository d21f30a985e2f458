/**
 * Happy paths of the edgec command line, run in-process through runCli. Expected numbers come
 * from the shared models' documentation (MACs of the MLPerf Tiny architectures), PyTorch's
 * sample outputs (sample_out.pb), meta.json accuracies, and onnxruntime-node.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readDataFile } from '../../compiler/io/data.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { compareTensors } from '../helpers/compare.js';
import { BENCH, HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from './helpers.js';
import { sha256 } from '../../cli/artifact.js';

const tmp = tmpDir();
afterAll(() => rmTmp(tmp));

describe('edgec --help / --version', () => {
  it('--help documents every command, the exit codes and the limit flags', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const w of ['inspect', 'run', 'compile', 'eval', 'Exit codes', '--max-nodes', '--max-tensor-bytes', '--verbose']) expect(r.out).toContain(w);
    const c = await cli('compile', '--help');
    for (const w of ['--int8', '--calib', '--calibrator', '--prune', '--prune-mode', '--input-shape', '--emit-onnx', '--print-after', '--disable-pass', '--verify', '--target']) {
      expect(c.out).toContain(w);
    }
  });
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await cli('--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });
});

describe.skipIf(!HAVE_MODELS)('edgec inspect', () => {
  // Published MACs of the MLPerf Tiny reference models (README of ../shared/models), within 0.5%.
  const want: [string, number][] = [['resnet8', 12.5e6], ['dscnn', 2.66e6], ['mobilenetv1_025', 7.49e6], ['autoencoder', 0.264e6]];
  for (const [m, macs] of want) {
    it(`${m}: MACs within 0.5% of ${macs / 1e6}M`, async () => {
      const r = await cli('inspect', path.join(BENCH, `${m}.onnx`), '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as { macs: number; params: number; ops: Record<string, number>; nodes: { macs: number }[] };
      expect(Math.abs(j.macs - macs) / macs).toBeLessThan(0.005);
      expect(j.nodes.reduce((a, n) => a + n.macs, 0)).toBe(j.macs);
      expect(j.ops['Conv'] ?? j.ops['Gemm']).toBeGreaterThan(0);
      expect(j.params).toBeGreaterThan(0);
    });
  }
  it('digits_mlp: params equal meta.json, text table lists every node', async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(TRAINED, 'digits_mlp', 'meta.json'), 'utf8')) as { params: number };
    const j = JSON.parse((await cli('inspect', path.join(TRAINED, 'digits_mlp', 'model.onnx'), '--json')).out) as Record<string, unknown>;
    expect(j['params']).toBe(meta.params);
    for (const k of ['macs', 'params', 'ops', 'nodes', 'inputs', 'outputs', 'opsets', 'weights_bytes']) expect(j).toHaveProperty(k);
    const t = await cli('inspect', path.join(TRAINED, 'digits_mlp', 'model.onnx'));
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/MACs/);
    expect(t.out.split('\n').filter((l) => /^\d+\s+(Gemm|Relu)/.test(l)).length).toBe(5);
  });
});

describe.skipIf(!HAVE_MODELS)('edgec run / eval (reference)', () => {
  const M = path.join(TRAINED, 'digits_mlp');
  it('run --target ref on sample_in.pb equals PyTorch sample_out.pb', async () => {
    const out = path.join(tmp, 'run1');
    const r = await cli('run', path.join(M, 'model.onnx'), '--inputs', path.join(M, 'sample_in.pb'), '--target', 'ref', '--out', out, '--npy');
    expect(r.code, r.err).toBe(0);
    const got = readDataFile(path.join(out, 'output_0.pb'));
    const want = readDataFile(path.join(M, 'sample_out.pb'));
    expect(compareTensors(got, want, { rtol: 1e-4, atol: 1e-4 })).toBeNull();
    expect(compareTensors(readDataFile(path.join(out, 'output_0.npy')), got, { rtol: 0, atol: 0 })).toBeNull();
  });
  it('multi-sample data (test_x.pb, 540 samples) matches onnxruntime on the whole batch', async () => {
    const out = path.join(tmp, 'run2');
    const r = await cli('run', path.join(M, 'model.onnx'), '--inputs', path.join(M, 'test_x.pb'), '--out', out);
    expect(r.code, r.err).toBe(0);
    const got = readDataFile(path.join(out, 'output_0.pb'));
    const x = readDataFile(path.join(M, 'test_x.pb'));
    const s = await ort.InferenceSession.create(path.join(M, 'model.onnx'));
    const res = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
    const o = res[s.outputNames[0]!]!;
    await s.release();
    expect(got.shape).toEqual([540, 10]);
    expect(compareTensors(got, new Tensor('f32', o.dims.map(Number), o.data as Float32Array), { rtol: 1e-4, atol: 1e-4 })).toBeNull();
  });
  for (const m of ['digits_mlp', 'cbf_fcn']) {
    it(`eval ${m}: accuracy equals meta.json`, async () => {
      const meta = JSON.parse(fs.readFileSync(path.join(TRAINED, m, 'meta.json'), 'utf8')) as { fp32_value: number };
      const r = await cli('eval', path.join(TRAINED, m, 'model.onnx'), '--data', path.join(TRAINED, m, 'test_x.pb'), '--labels', path.join(TRAINED, m, 'test_y.pb'), '--json');
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as { metric: string; value: number; samples: number };
      expect(j.metric).toBe('accuracy');
      expect(Math.abs(j.value - meta.fp32_value)).toBeLessThan(1e-4 + 1 / j.samples / 2);
    });
  }
  it('eval digits_ae: reconstruction mse equals meta.json', async () => {
    const A = path.join(TRAINED, 'digits_ae');
    const meta = JSON.parse(fs.readFileSync(path.join(A, 'meta.json'), 'utf8')) as { fp32_value: number };
    const r = await cli('eval', path.join(A, 'model.onnx'), '--data', path.join(A, 'test_x.pb'), '--labels', path.join(A, 'test_x.pb'), '--metric', 'mse', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { value: number };
    expect(Math.abs(j.value - meta.fp32_value)).toBeLessThan(5e-5);
  });
});

describe.skipIf(!HAVE_MODELS)('edgec compile (--target onnx) and running the artifact', () => {
  const M = path.join(TRAINED, 'digits_allconv');
  it('writes manifest.json + model.onnx; run on the artifact equals sample_out.pb', async () => {
    const art = path.join(tmp, 'allconv.onnx-art');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--target', 'onnx', '-o', art, '--verify', '--emit-onnx');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/passes/);
    const man = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as Record<string, any>;
    for (const k of ['edgec', 'target', 'precision', 'inputs', 'outputs', 'macs', 'params', 'weights_bytes', 'arena_bytes', 'files']) expect(man).toHaveProperty(k);
    expect(man['target']).toBe('onnx');
    for (const [f, h] of Object.entries(man['files'] as Record<string, string>)) expect(sha256(fs.readFileSync(path.join(art, f)))).toBe(h);
    expect(fs.readdirSync(art).sort()).toEqual(['manifest.json', 'model.onnx']);
    const out = path.join(tmp, 'run-art');
    const rr = await cli('run', art, '--inputs', path.join(M, 'sample_in.pb'), '--out', out);
    expect(rr.code, rr.err).toBe(0);
    expect(compareTensors(readDataFile(path.join(out, 'output_0.pb')), readDataFile(path.join(M, 'sample_out.pb')), { rtol: 1e-4, atol: 1e-4 })).toBeNull();
    // compiling again replaces the previous artifact folder
    const again = await cli('compile', path.join(M, 'model.onnx'), '--target', 'onnx', '-o', art);
    expect(again.code, again.err).toBe(0);
  });
  it('--print-after prints the graph on stderr; unknown passes are usage errors', async () => {
    const art = path.join(tmp, 'pa');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--target', 'onnx', '-o', art, '--print-after', 'dce', '--disable-pass', 'fold-batchnorm');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/after dce/);
    const bad = await cli('compile', path.join(M, 'model.onnx'), '--target', 'onnx', '-o', path.join(tmp, 'pb'), '--disable-pass', 'no-such-pass');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^edgec: error: .*no-such-pass.*\n$/);
    expect(fs.existsSync(path.join(tmp, 'pb'))).toBe(false);
  });
  it('--input-shape fixes the batch dimension', async () => {
    const art = path.join(tmp, 'shape4');
    const r = await cli('compile', path.join(TRAINED, 'digits_mlp', 'model.onnx'), '--target', 'onnx', '-o', art, '--input-shape', 'input=4x64');
    expect(r.code, r.err).toBe(0);
    const man = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as { inputs: { shape: number[] }[] };
    expect(man.inputs[0]!.shape).toEqual([4, 64]);
  });
  it('compiles and runs on the webgpu and hls targets like on the reference', async () => {
    const model = path.join(TRAINED, 'digits_mlp', 'model.onnx');
    const input = path.join(TRAINED, 'digits_mlp', 'sample_in.pb');
    const ref = await cli('run', model, '--inputs', input, '--target', 'ref', '--out', path.join(tmp, 'o-ref'));
    expect(ref.code, ref.err).toBe(0);
    const want = decodeTensorProtoBytes(fs.readFileSync(path.join(tmp, 'o-ref', 'output_0.pb'))).tensor;
    for (const target of ['hls', 'webgpu']) {
      const art = path.join(tmp, `a-${target}`);
      const c = await cli('compile', model, '--target', target, '-o', art);
      expect(c.code, c.err).toBe(0);
      expect(JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')).target).toBe(target);
      const r = await cli('run', art, '--inputs', input, '--target', target, '--out', path.join(tmp, `o-${target}`));
      expect(r.code, r.err).toBe(0);
      const got = decodeTensorProtoBytes(fs.readFileSync(path.join(tmp, `o-${target}`, 'output_0.pb'))).tensor;
      expect(compareTensors(got, want, { rtol: 1e-3, atol: 1e-4 }), target).toBeNull();
    }
  });
});
