/**
 * Quantization, pruning and the wasm target through the CLI (in-process): `compile --int8/--fp16/
 * --int4/--prune`, `run`/`eval --target wasm|ref` on artifacts and models, the compile summary and
 * --explain table. Expected values: meta.json accuracies, onnxruntime-node on the QDQ model.onnx,
 * the reference interpreter (wasm int8 kernels must match it bit for bit).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readDataFile } from '../../compiler/io/data.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from './helpers.js';
import { sha256 } from '../../cli/artifact.js';
import { progressBar } from '../../cli/progress.js';
import { parseKeepFloat } from '../../cli/build.js';
import { parseSweep } from '../../cli/analyze.js';

const tmp = tmpDir('edgec-q-');
afterAll(() => rmTmp(tmp));

const M = path.join(TRAINED, 'digits_allconv');
const meta = (m: string) => JSON.parse(fs.readFileSync(path.join(TRAINED, m, 'meta.json'), 'utf8')) as { fp32_value: number };
const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, any>;

async function evalJson(...args: string[]): Promise<{ value: number; samples: number }> {
  const r = await cli('eval', ...args, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { value: number; samples: number };
}

async function runOut(model: string, target: string, inputs: string, name: string): Promise<Tensor> {
  const out = path.join(tmp, name);
  const r = await cli('run', model, '--inputs', inputs, '--target', target, '--out', out);
  expect(r.code, r.err).toBe(0);
  return readDataFile(path.join(out, 'output_0.pb'));
}

describe('helpers', () => {
  it('progress bar (cli-progress) draws only on a terminal, starts a new line per phase and ends its line', () => {
    let s = '';
    const p = progressBar((x) => (s += x), true, 100, 0);
    p.update('calibrate', 5, 10);
    p.update('calibrate', 10, 10);
    p.update('eval', 1, 3);
    p.done();
    // eslint-disable-next-line no-control-regex
    const plain = s.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '');
    expect(plain).toMatch(/edgec: calibrate\s+\[#{14}\.{14}\] 5\/10/);
    expect(plain).toMatch(/\[#{28}\] 10\/10\s*\n/);
    expect(plain).toMatch(/\nedgec: eval\s+\[#{9}\.{19}\] 1\/3\s*\n$/);
    let t = '';
    const q = progressBar((x) => (t += x), false);
    q.update('calibrate', 1, 2);
    q.done();
    expect(t).toBe('');
  });
  it('--keep-float and --sweep values', () => {
    expect(parseKeepFloat('auto')).toBe('auto');
    expect(parseKeepFloat('auto:0.01')).toEqual({ maxLoss: 0.01 });
    expect(parseKeepFloat('a, b')).toEqual(['a', 'b']);
    expect(() => parseKeepFloat('auto:1')).toThrow(/keep-float/);
    expect(parseSweep([])).toEqual({ precision: ['fp32', 'int8', 'fp16', 'int4'], prune: [0, 0.25, 0.5], target: ['wasm'] });
    expect(parseSweep(['precision=int8,fp32', 'prune=0.5'])).toEqual({ precision: ['int8', 'fp32'], prune: [0.5], target: ['wasm'] });
    expect(() => parseSweep(['precision=int3'])).toThrow(/int3/);
    expect(() => parseSweep(['prune=1'])).toThrow(/prune/);
    expect(() => parseSweep(['speed=1'])).toThrow(/sweep/);
  });
  it('--help documents the new flags and commands', async () => {
    const c = await cli('compile', '--help');
    for (const w of ['--calib-random', '--keep-float', '--explain', '--per-tensor', '--int4', '--fp16', 'float islands', 'QDQ', 'exits 7', 'progress bar']) {
      expect(c.out).toContain(w);
    }
    const top = await cli('--help');
    for (const w of ['profile', 'report']) expect(top.out).toContain(w);
    const p = await cli('profile', '--help');
    for (const w of ['--device', '--json', '--measure', 'cortex-m4']) expect(p.out).toContain(w);
    const r = await cli('report', '--help');
    for (const w of ['--data', '--labels', '--calib', '--sweep', 'precision=fp32,int8,fp16,int4', 'Pareto']) expect(r.out).toContain(w);
  });
});

describe.skipIf(!HAVE_MODELS)('compile --int8 (wasm target)', () => {
  const art = path.join(tmp, 'allconv-int8');
  it('writes the wasm artifact with a QDQ model.onnx; the summary lists islands and weight bytes', async () => {
    const r = await cli('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '-o', art, '--explain');
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(art).sort()).toEqual(['manifest.json', 'model-relaxed.wasm', 'model.d.ts', 'model.mjs', 'model.onnx', 'model.wasm', 'model_abi.h']);
    const man = manifestOf(art);
    expect(man['target']).toBe('wasm');
    expect(man['precision']).toBe('int8');
    expect(man['graph_form']).toBe('qdq');
    expect(typeof man['arena_bytes']).toBe('number');
    for (const [f, h] of Object.entries(man['files'] as Record<string, string>)) expect(sha256(fs.readFileSync(path.join(art, f)))).toBe(h);
    const q = man['quantization'];
    // int8 weights: about a quarter of the f32 bytes (biases stay int32)
    expect(q.weight_bytes_after).toBeLessThan(q.weight_bytes_before / 3.5);
    expect(r.err).toContain(`weight bytes ${q.weight_bytes_before} -> ${q.weight_bytes_after}`);
    expect(r.err).toMatch(/float islands/);
    expect(Object.keys(man['ops'])).toContain('edgec.QConv');
    // --explain: one row per quantized Conv with its SNR (on stderr, with --print-after)
    const rows = r.err.split('\n').filter((l) => /^\/f\/f\.\d+\/Conv\s/.test(l));
    expect(rows.length).toBe(5);
    for (const l of rows) expect(Number(l.trim().split(/\s+/)[2])).toBeGreaterThan(20);
  });
  it('accuracy on wasm and ref is within 1 point of the float model (meta.json)', async () => {
    const want = meta('digits_allconv').fp32_value;
    for (const target of ['wasm', 'ref']) {
      const j = await evalJson(art, '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--target', target);
      expect(j.samples).toBe(540);
      expect(Math.abs(j.value - want), target).toBeLessThanOrEqual(0.01);
    }
  });
  it('run --target wasm equals --target ref bit for bit (the integer graph)', async () => {
    const x = path.join(M, 'test_x.pb');
    const w = await runOut(art, 'wasm', x, 'o-w');
    const r = await runOut(art, 'ref', x, 'o-r');
    expect(w.shape).toEqual([540, 10]);
    expect(compareTensors(w, r, { rtol: 0, atol: 0 })).toBeNull();
  });
  it('model.onnx (QDQ) runs in onnxruntime and agrees with the integer graph', async () => {
    const x = readDataFile(path.join(M, 'test_x.pb'));
    const r = await runOut(art, 'ref', path.join(M, 'test_x.pb'), 'o-r2');
    const s = await ort.InferenceSession.create(path.join(art, 'model.onnx'));
    const per = 64;
    let agree = 0;
    const n = 120;
    for (let i = 0; i < n; i++) {
      const xi = new ort.Tensor('float32', (x.data as Float32Array).slice(i * per, (i + 1) * per), [1, 1, 8, 8]);
      const o = (await s.run({ [s.inputNames[0]!]: xi }))[s.outputNames[0]!]!.data as Float32Array;
      const row = Array.from({ length: 10 }, (_, j) => r.get(i * 10 + j));
      if (o.indexOf(Math.max(...o)) === row.indexOf(Math.max(...row))) agree++;
    }
    await s.release();
    expect(agree / n).toBeGreaterThanOrEqual(0.98);
  });
  it('--keep-float NAME keeps that layer in float; --target onnx writes only model.onnx', async () => {
    const out = path.join(tmp, 'keep');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '--keep-float', '/f/f.0/Conv', '--target', 'onnx', '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['manifest.json', 'model.onnx']);
    const q = manifestOf(out)['quantization'];
    expect(q.kept_float).toEqual(['/f/f.0/Conv']);
    expect(q.float_islands.map((f: { node: string }) => f.node)).toContain('/f/f.0/Conv');
    expect(r.err).toMatch(/kept float on request: \/f\/f\.0\/Conv/);
  });
});

describe.skipIf(!HAVE_MODELS)('fp32 wasm, fp16, int4, pruning', () => {
  it('run MODEL --target wasm (compiled in memory) matches ref within rtol 1e-3; an fp32 artifact too', async () => {
    const x = path.join(M, 'test_x.pb');
    const ref = await runOut(path.join(M, 'model.onnx'), 'ref', x, 'f-r');
    const w = await runOut(path.join(M, 'model.onnx'), 'wasm', x, 'f-w');
    expect(compareTensors(w, ref, { rtol: 1e-3, atol: 1e-4 })).toBeNull();
    const art = path.join(tmp, 'allconv-fp32');
    const c = await cli('compile', path.join(M, 'model.onnx'), '-o', art);
    expect(c.code, c.err).toBe(0);
    expect(manifestOf(art)['precision']).toBe('fp32');
    const wa = await runOut(art, 'wasm', x, 'f-wa');
    expect(compareTensors(wa, ref, { rtol: 1e-3, atol: 1e-4 })).toBeNull();
  });
  it('an artifact of another target cannot run on wasm (exit 4)', async () => {
    const art = path.join(tmp, 'onnx-only');
    expect((await cli('compile', path.join(M, 'model.onnx'), '--target', 'onnx', '-o', art)).code).toBe(0);
    const r = await cli('run', art, '--inputs', path.join(M, 'sample_in.pb'), '--target', 'wasm', '--out', path.join(tmp, 'x1'));
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/^edgec: error: artifact was compiled for target "onnx", not wasm[^\n]*\n$/);
  });
  it('--fp16 --target onnx: accuracy within 1 point; --fp16 on wasm compiles with f16 weights and the same accuracy', async () => {
    const art = path.join(tmp, 'fp16');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--fp16', '--target', 'onnx', '-o', art);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/quantize fp16: weight bytes (\d+) -> (\d+)/);
    const j = await evalJson(art, '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'));
    expect(Math.abs(j.value - meta('digits_allconv').fp32_value)).toBeLessThanOrEqual(0.01);
    const w = await cli('compile', path.join(M, 'model.onnx'), '--fp16', '-o', path.join(tmp, 'fp16w'));
    expect(w.code, w.err).toBe(0);
    const jw = await evalJson(path.join(tmp, 'fp16w'), '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--target', 'wasm');
    expect(Math.abs(jw.value - meta('digits_allconv').fp32_value)).toBeLessThanOrEqual(0.01);
  });
  it('--int4 on wasm stores the int4 weights (no warning); wasm matches ref', async () => {
    const art = path.join(tmp, 'int4');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--int4', '-o', art);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/warning/);
    const q = manifestOf(art)['quantization'];
    expect(q.weight_bytes_after).toBeLessThan(q.weight_bytes_before / 5);
    expect(manifestOf(art)['wasm_weights_bytes']).toBeLessThan(q.weight_bytes_before / 4);
    const x = path.join(M, 'test_x.pb');
    expect(compareTensors(await runOut(art, 'wasm', x, 'i4w'), await runOut(art, 'ref', x, 'i4r'), { rtol: 1e-3, atol: 1e-4 })).toBeNull();
  });
  it('--prune 0.5 --prune-mode 2:4 --int8: prune first, then quantize; summary and manifest', async () => {
    const art = path.join(tmp, 'p24');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--prune', '0.5', '--prune-mode', '2:4', '--int8', '--calib', path.join(M, 'calib_x.pb'), '-o', art);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/prune 2:4 0\.5 \(pattern: 2:4\): nonzero weights (\d+) -> (\d+)/);
    expect(r.err.indexOf('prune 2:4')).toBeLessThan(r.err.indexOf('quantize int8'));
    const man = manifestOf(art);
    expect(man['pruning'].mode).toBe('2:4');
    expect(man['pruning'].nnz_after).toBeLessThan(man['pruning'].nnz_before * 0.6);
    // pruned weights stay zero after quantization: the int8 model is still a good classifier
    const j = await evalJson(art, '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--target', 'wasm');
    expect(j.value).toBeGreaterThan(0.9);
  });
  it('--prune channel (fp32) shrinks MACs', async () => {
    const art = path.join(tmp, 'pch');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--prune', '0.25', '--prune-mode', 'channel', '--calib', path.join(M, 'calib_x.pb'), '-o', art);
    expect(r.code, r.err).toBe(0);
    const p = manifestOf(art)['pruning'];
    expect(p.macs_after).toBeLessThan(p.macs_before);
    expect(manifestOf(art)['macs']).toBe(p.macs_after);
  });
});

describe.skipIf(!HAVE_MODELS)('profile and report', () => {
  it('profile --json of a model and an int8 artifact: layers, latency, energy', async () => {
    const r = await cli('profile', path.join(M, 'model.onnx'), '--json', '--device', 'cortex-m4', '--runs', '2');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as Record<string, any>;
    for (const k of ['layers', 'latency', 'energy', 'devices', 'macs']) expect(j).toHaveProperty(k);
    expect(j['model']).toBe('digits_allconv');
    expect(j['latency'].measured.wasm.total_ms).toBeGreaterThan(0);
    expect(Object.keys(j['energy'].estimated)).toEqual(['cortex-m4']);
    const art = path.join(tmp, 'prof-int8');
    expect((await cli('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '-o', art)).code).toBe(0);
    const t = await cli('profile', art, '--device', 'cortex-m4', '--runs', '2');
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/edgec\.QConv/);
    expect(t.out).toMatch(/cortex-m4/);
    const bad = await cli('profile', art, '--device', 'pdp-11');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown device "pdp-11"/);
  });
  it('report: a small sweep writes report.json/.md/.html with measured configs and a Pareto front', async () => {
    const out = path.join(tmp, 'rep');
    const r = await cli('report', path.join(M, 'model.onnx'), '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'),
      '--calib', path.join(M, 'calib_x.pb'), '-o', out, '--sweep', 'precision=fp32,int8', '--sweep', 'prune=0,0.5', '--runs', '2');
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['manifest.json', 'report.html', 'report.json', 'report.md']);
    const j = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { model: string; configs: Record<string, any>[] };
    expect(j.model).toBe('digits_allconv');
    expect(j.configs.map((c) => c['name']).sort()).toEqual(['fp32-p0.5-wasm', 'fp32-wasm', 'int8-p0.5-wasm', 'int8-wasm']);
    for (const c of j.configs) {
      for (const k of ['name', 'precision', 'prune', 'target', 'accuracy', 'size_bytes', 'gzip_bytes', 'latency_ms', 'latency_spread_ms',
        'est_latency_ms', 'energy_mj', 'macs', 'pareto', 'rebuild']) expect(c).toHaveProperty(k);
      // unpruned rows keep the float accuracy; channel pruning at 0.5 without fine-tuning costs some
      expect(c['accuracy']).toBeGreaterThan(c['prune'] > 0 ? 0.5 : 0.9);
      expect(c['size_bytes']).toBeGreaterThan(0);
      expect(c['gzip_bytes']).toBeLessThan(c['size_bytes']);
      expect(typeof c['pareto']).toBe('boolean');
    }
    const byName = (n: string) => j.configs.find((c) => c['name'] === n)!;
    const fp32 = byName('fp32-wasm');
    expect(Math.abs(fp32['accuracy'] - meta('digits_allconv').fp32_value)).toBeLessThan(1e-3);
    expect(j.configs.some((c) => c['pareto'])).toBe(true);
    // pruning pays where it is measured: channel pruning (the default mode) shrinks stored size and MACs
    expect(byName('fp32-p0.5-wasm')['size_bytes']).toBeLessThan(0.7 * fp32['size_bytes']);
    expect(byName('fp32-p0.5-wasm')['macs']).toBeLessThan(0.7 * fp32['macs']);
    // the row's rebuild command reproduces the configuration's files (the target's own; model.onnx and the manifest are the CLI's;
    // model-relaxed.wasm is the CLI's alternative to model.wasm, of which a page downloads one)
    const cmd = String(byName('int8-p0.5-wasm')['rebuild']).split(' ');
    expect(cmd.slice(0, 2)).toEqual(['edgec', 'compile']);
    const o = cmd.indexOf('-o');
    cmd[o + 1] = path.join(tmp, 'rebuilt');
    const rb = await cli(...cmd.slice(1));
    expect(rb.code, rb.err).toBe(0);
    const bytes = fs.readdirSync(cmd[o + 1]!).filter((f) => f !== 'manifest.json' && f !== 'model.onnx' && f !== 'model-relaxed.wasm').reduce((a, f) => a + fs.statSync(path.join(cmd[o + 1]!, f)).size, 0);
    expect(Math.abs(bytes - byName('int8-p0.5-wasm')['size_bytes']) / bytes).toBeLessThan(0.02);
    // int8 in an explicit sweep without calibration data is a usage error
    const bad = await cli('report', path.join(M, 'model.onnx'), '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'),
      '-o', path.join(tmp, 'rep2'), '--sweep', 'precision=int8');
    expect(bad.code).toBe(2);
    expect(fs.existsSync(path.join(tmp, 'rep2'))).toBe(false);
  });
});
