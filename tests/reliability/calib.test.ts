/**
 * Bad calibration sets for `edgec compile --int8` (and data-driven pruning): empty, mis-shaped,
 * NaN/Inf, wrong dtype, wrong file count, missing. Each: the documented exit code (README / --help
 * "Exit codes": 2 usage, 3 invalid, 7 numeric), one stderr line naming the problem, nothing written.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { encodeNpy } from '../../compiler/io/npy.js';
import { encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { expectCompileFails, expectOneLine, seedConv, writeModel } from './seed.js';

let dir = '';
let model = '';
const dirs: string[] = [];
beforeEach(() => {
  dir = tmpDir('edgec-calib-');
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'm'));
  model = writeModel(path.join(dir, 'm'), seedConv());
});
afterAll(() => dirs.forEach(rmTmp));

/** Samples shaped like the seed conv's input [1,2,5,5] (per sample [2,5,5]), values in [-1, 1]. */
function samples(n: number, per = [2, 5, 5]): Tensor {
  const size = n * per.reduce((a, b) => a * b, 1);
  return new Tensor('f32', [n, ...per], Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37)));
}

function writeData(name: string, t: Tensor): string {
  const p = path.join(dir, 'm', name);
  fs.writeFileSync(p, name.endsWith('.npy') ? encodeNpy(t) : encodeTensorProtoBytes(t, 'x'));
  return p;
}

describe('calibration sets: numeric problems (exit 7)', () => {
  it('empty set (.npy with 0 samples)', async () => {
    const c = writeData('empty.npy', samples(0));
    await expectCompileFails(dir, model, 7, /calibration set is empty/, ['--int8', '--calib', c]);
  });
  it('empty set (.pb with 0 samples)', async () => {
    const c = writeData('empty.pb', samples(0));
    await expectCompileFails(dir, model, 7, /calibration set is empty/, ['--int8', '--calib', c]);
  });
  it('NaN in one sample names the sample and the input', async () => {
    const t = samples(8);
    (t.data as Float32Array)[3 * 50 + 7] = NaN;
    const c = writeData('nan.npy', t);
    await expectCompileFails(dir, model, 7, /calibration sample 3 of input "x" contains NaN/, ['--int8', '--calib', c]);
  });
  it('Inf in a sample', async () => {
    const t = samples(4);
    (t.data as Float32Array)[0] = -Infinity;
    const c = writeData('inf.pb', t);
    await expectCompileFails(dir, model, 7, /calibration sample 0 .*Inf/, ['--int8', '--calib', c]);
  });
});

describe('calibration sets: malformed (exit 3)', () => {
  it('per-sample dims differ from the model input', async () => {
    const c = writeData('shape.npy', samples(8, [3, 5, 5]));
    await expectCompileFails(dir, model, 3, /calibration data for input "x" has shape \[8,3,5,5\], expected \[samples,2,5,5\]/, ['--int8', '--calib', c]);
  });
  it('rank differs from the model input', async () => {
    const c = writeData('rank.npy', samples(8, [50]));
    await expectCompileFails(dir, model, 3, /calibration data for input "x" has shape \[8,50\]/, ['--int8', '--calib', c]);
  });
  it('integer calibration data', async () => {
    const c = writeData('int.npy', new Tensor('i64', [2, 2, 5, 5], new BigInt64Array(100)));
    await expectCompileFails(dir, model, 3, /calibration data must be float, got i64/, ['--int8', '--calib', c]);
  });
  it('missing calibration file', async () => {
    await expectCompileFails(dir, model, 3, /cannot read data file.*no-such\.npy/, ['--int8', '--calib', path.join(dir, 'no-such.npy')]);
  });
  it('truncated calibration file', async () => {
    const c = writeData('trunc.npy', samples(8));
    fs.truncateSync(c, 200);
    await expectCompileFails(dir, model, 3, /trunc\.npy/, ['--int8', '--calib', c]);
  });
});

describe('calibration options (exit 2)', () => {
  it('--int8 without --calib refuses, pointing at --calib-random', async () => {
    const err = await expectCompileFails(dir, model, 2, /--int8 needs calibration data: --calib FILE/, ['--int8']);
    expect(err).toMatch(/--calib-random/);
  });
  it('one --calib file per graph input', async () => {
    const c = writeData('ok.npy', samples(4));
    await expectCompileFails(dir, model, 2, /1 input\(s\) but 2 --calib file\(s\)/, ['--int8', '--calib', c, '--calib', c]);
  });
  it('--calib and --calib-random together', async () => {
    const c = writeData('ok.npy', samples(4));
    await expectCompileFails(dir, model, 2, /either --calib FILE or --calib-random/, ['--int8', '--calib', c, '--calib-random']);
  });
  it('--calib-random, --explain, --keep-float need --int8', async () => {
    await expectCompileFails(dir, model, 2, /--calib-random needs --int8/, ['--calib-random']);
    await expectCompileFails(dir, model, 2, /--explain needs --int8/, ['--explain']);
    await expectCompileFails(dir, model, 2, /--keep-float needs --int8/, ['--keep-float', 'auto']);
  });
  it('bad --keep-float values', async () => {
    for (const v of ['auto:2', 'auto:', 'auto:x', ',']) {
      await expectCompileFails(dir, model, 2, /--keep-float/, ['--int8', '--calib-random', '--keep-float', v]);
    }
  });
  it('--per-tensor needs --int8', async () => {
    await expectCompileFails(dir, model, 2, /--per-tensor needs --int8/, ['--int4', '--per-tensor']);
  });
});

describe('good calibration sets still compile', () => {
  it('.npy and .pb calibration files, and --calib-random (with a warning)', async () => {
    for (const [name, extra] of [['a', ['--calib', writeData('ok.npy', samples(16))]], ['b', ['--calib', writeData('ok.pb', samples(16))]], ['c', ['--calib-random']]] as const) {
      const out = path.join(dir, name);
      const r = await cli('compile', model, '--target', 'onnx', '--int8', ...extra, '-o', out);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/quantize int8: weight bytes \d+ -> \d+/);
      if (name === 'c') expect(r.err).toMatch(/warning: calibrating on 64 random samples/);
      const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      expect(man['precision']).toBe('int8');
      expect(man['graph_form']).toBe('qdq');
    }
  });
  it('a failed int8 compile keeps a previous artifact in place', async () => {
    const out = path.join(dir, 'keep');
    const ok = await cli('compile', model, '--target', 'onnx', '--int8', '--calib-random', '-o', out);
    expect(ok.code, ok.err).toBe(0);
    const before = fs.readFileSync(path.join(out, 'manifest.json'));
    const t = samples(4);
    (t.data as Float32Array)[5] = NaN;
    const r = await cli('compile', model, '--target', 'onnx', '--int8', '--calib', writeData('nan2.npy', t), '-o', out);
    expectOneLine(r, 7, /NaN/);
    expect(fs.readFileSync(path.join(out, 'manifest.json')).equals(before)).toBe(true);
  });
});
