/**
 * `edgec compile --fp16 / --int4 --target wasm|webgpu` through the CLI (in-process): the artifacts
 * run with `edgec run` and `edgec eval` on their target and match `--target ref` on the same
 * artifact (its model.onnx: the fp16 / int4 graph); the stored weights (wasm_weights_bytes,
 * webgpu_weights_bytes, also printed in the compile summary) are about 2x (fp16) and > 4x (int4)
 * smaller than the fp32 artifact's; no warning is printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDataFile } from '../../compiler/io/data.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { gpuAvailable } from '../targets/webgpu-helpers.js';
import { HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-f16i4-');
afterAll(() => rmTmp(tmp));

const M = path.join(TRAINED, 'digits_allconv');
const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, any>;
const gpu = HAVE_MODELS ? await gpuAvailable('cli fp16/int4 webgpu') : false;

async function runOut(model: string, target: string, inputs: string, name: string): Promise<Tensor> {
  const out = path.join(tmp, name);
  const r = await cli('run', model, '--inputs', inputs, '--target', target, '--out', out);
  expect(r.code, r.err).toBe(0);
  return readDataFile(path.join(out, 'output_0.pb'));
}

async function evalValue(art: string, target: string): Promise<number> {
  const r = await cli('eval', art, '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--target', target, '--json');
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { value: number }).value;
}

const SIZE_KEY = { wasm: 'wasm_weights_bytes', webgpu: 'webgpu_weights_bytes' } as const;

describe.skipIf(!HAVE_MODELS)('compile --fp16 / --int4 for wasm and webgpu', () => {
  for (const target of ['wasm', 'webgpu'] as const) {
    it.skipIf(target === 'webgpu' && !gpu)(`--target ${target}: run and eval match ref on the artifact; weights stored compressed`, async () => {
      const fp32 = path.join(tmp, `${target}-fp32`);
      expect((await cli('compile', path.join(M, 'model.onnx'), '--target', target, '-o', fp32)).code).toBe(0);
      const w32 = manifestOf(fp32)[SIZE_KEY[target]] as number;
      const x = path.join(M, 'sample_in.pb');
      for (const [flag, mode] of [['--fp16', 'fp16'], ['--int4', 'int4']] as const) {
        const art = path.join(tmp, `${target}-${mode}`);
        const c = await cli('compile', path.join(M, 'model.onnx'), flag, '--target', target, '-o', art);
        expect(c.code, c.err).toBe(0);
        expect(c.err).not.toMatch(/warning/);
        const man = manifestOf(art);
        expect(man['precision']).toBe(mode);
        const stored = man[SIZE_KEY[target]] as number;
        expect(c.err).toContain(`edgec: ${target} stores the weights as ${mode === 'fp16' ? 'f16' : 'int4 blocks'} (expanded to f32 at load): ${stored} bytes`);
        if (mode === 'fp16') expect(w32 / stored, `${target} fp16 ${stored} vs fp32 ${w32}`).toBeGreaterThan(1.9);
        else expect(w32 / stored, `${target} int4 ${stored} vs fp32 ${w32}`).toBeGreaterThan(4);
        const got = await runOut(art, target, x, `${target}-${mode}-out`);
        const want = await runOut(art, 'ref', x, `${target}-${mode}-ref`);
        expect(compareTensors(got, want, mode === 'fp16' ? { rtol: 2e-3, atol: 1e-3 } : { rtol: 1e-3, atol: 1e-4 })).toBeNull();
        expect(Math.abs(await evalValue(art, target) - await evalValue(art, 'ref'))).toBeLessThanOrEqual(0.005);
      }
    }, 300_000);
  }
});
