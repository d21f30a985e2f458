/**
 * `edgec compile/run/eval --threads N` on the int8 digits classifier: the artifact gains
 * model-threads.wasm (manifest "threads"), run and eval on 2 threads give exactly what one thread
 * gives, and misuse is a one-line usage error (exit 2).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from './helpers.js';

if (!HAVE_MODELS && process.env['CI']) throw new Error('CI needs ../shared/models for tests/cli/threads.test.ts');

describe.skipIf(!HAVE_MODELS)('edgec --threads', () => {
  const M = path.join(TRAINED, 'digits_allconv');
  let dir = '';
  beforeAll(async () => {
    dir = tmpDir('edgec-threads-cli-');
    const r = await cli('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '--threads', '2', '-o', path.join(dir, 'mt'));
    expect(r.code, r.err).toBe(0);
    const p = await cli('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '-o', path.join(dir, 'plain'));
    expect(p.code, p.err).toBe(0);
  }, 120_000);
  afterAll(() => {
    if (dir) rmTmp(dir);
  });

  it('compile --threads 2 adds model-threads.wasm; model.wasm is the same as without', () => {
    const man = JSON.parse(fs.readFileSync(path.join(dir, 'mt', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(man['threads']).toBe(2);
    expect(Object.keys(man['files'] as object)).toContain('model-threads.wasm');
    expect(fs.readFileSync(path.join(dir, 'mt', 'model.wasm')).equals(fs.readFileSync(path.join(dir, 'plain', 'model.wasm')))).toBe(true);
  });

  it('run and eval on 2 threads give what one thread gives', async () => {
    const one = await cli('run', path.join(dir, 'mt'), '--inputs', path.join(M, 'test_x.pb'), '--out', path.join(dir, 'o1'));
    const two = await cli('run', path.join(dir, 'mt'), '--threads', '2', '--inputs', path.join(M, 'test_x.pb'), '--out', path.join(dir, 'o2'));
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'o2', 'output_0.pb')).equals(fs.readFileSync(path.join(dir, 'o1', 'output_0.pb')))).toBe(true);
    const args = ['--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--json'];
    const e1 = await cli('eval', path.join(dir, 'mt'), ...args);
    const e2 = await cli('eval', path.join(dir, 'mt'), '--threads', '2', ...args);
    expect(e2.code, e2.err).toBe(0);
    expect(JSON.parse(e2.out).value).toBe(JSON.parse(e1.out).value);
  }, 120_000);

  it('misuse is a one-line usage error', async () => {
    const noMt = await cli('eval', path.join(dir, 'plain'), '--threads', '2', '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'));
    expect(noMt.code).toBe(2);
    expect(noMt.err).toMatch(/no model-threads\.wasm.*compile it with --threads 2/);
    const ref = await cli('run', path.join(M, 'model.onnx'), '--target', 'ref', '--threads', '2', '--inputs', path.join(M, 'sample_in.pb'), '--out', path.join(dir, 'o3'));
    expect(ref.code).toBe(2);
    expect(ref.err.trim().split('\n')).toHaveLength(1);
    const hls = await cli('compile', path.join(M, 'model.onnx'), '--target', 'hls', '--threads', '2', '-o', path.join(dir, 'h'));
    expect(hls.code).toBe(2);
    expect(hls.err).toMatch(/--threads applies to the wasm target only/);
    expect(fs.existsSync(path.join(dir, 'h'))).toBe(false);
  }, 60_000);
});
