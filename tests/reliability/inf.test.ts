/**
 * +-Inf constants are valid input (RELIABILITY.md): Clip bounds (Clip(max=+inf) as an opset-13
 * initializer and an opset-6 attribute), -inf attention masks, Inf in Constant nodes. They import,
 * compile for wasm / webgpu / hls, run, export to a model.onnx that onnxruntime-node runs, and
 * int8-quantize (an infinite Clip bound imposes no clamp; a value whose range reaches -inf stays a
 * float island). NaN in a weight stays an error (exit 7). Expected numbers: the reference
 * interpreter on the source model (`edgec run MODEL --target ref`) and onnxruntime-node.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readDataFile, writeDataFile } from '../../compiler/io/data.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { IModel, encode, expectCompileFails, init, vi, writeModel } from './seed.js';

const tmp = tmpDir('edgec-inf-');
afterAll(() => rmTmp(tmp));

const FLOAT_ATTR = 1;

/** conv (pads 1) -> Clip(0, +inf) -> Clip(-inf, 0.5): bounds are opset-13 initializers. */
function clipModel(): IModel {
  const w = Array.from({ length: 36 }, (_, i) => ((i * 7) % 11) / 10 - 0.5);
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'clip_inf',
      input: [vi('x', [1, 2, 5, 5])],
      output: [vi('y', [1, 2, 5, 5])],
      initializer: [init('w', [2, 2, 3, 3], w), init('b', [2], [0.1, -0.1]), init('lo', [], [0]), init('hi', [], [Infinity]),
        init('nlo', [], [-Infinity]), init('h2', [], [0.5])],
      node: [
        { opType: 'Conv', input: ['x', 'w', 'b'], output: ['c'], name: 'conv', attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }] },
        { opType: 'Clip', input: ['c', 'lo', 'hi'], output: ['r'], name: 'clip_to_inf' },
        { opType: 'Clip', input: ['r', 'nlo', 'h2'], output: ['y'], name: 'clip_from_neg_inf' },
      ],
    },
  };
}

/** Causal -inf mask: y = Softmax(x + mask, axis -1), the mask from a Constant node. */
function maskModel(): IModel {
  const mask = Array.from({ length: 16 }, (_, i) => ((i % 4) > Math.floor(i / 4) ? -Infinity : 0));
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'mask_inf',
      input: [vi('x', [1, 4, 4])],
      output: [vi('y', [1, 4, 4])],
      node: [
        { opType: 'Constant', input: [], output: ['m'], name: 'mask_const', attribute: [{ name: 'value', type: 4, t: init('m', [1, 4, 4], mask) }] },
        { opType: 'Add', input: ['x', 'm'], output: ['a'], name: 'mask' },
        { opType: 'Softmax', input: ['a'], output: ['y'], name: 'softmax', attribute: [{ name: 'axis', type: 2, i: -1 }] },
      ],
    },
  };
}

/** Opset 6: Clip with attributes min=-1, max=+inf. */
function clip6Model(): IModel {
  return {
    irVersion: 3,
    opsetImport: [{ domain: '', version: 6 }],
    graph: {
      name: 'clip6',
      input: [vi('x', [1, 8])],
      output: [vi('y', [1, 8])],
      node: [{ opType: 'Clip', input: ['x'], output: ['y'], name: 'clip', attribute: [{ name: 'min', type: FLOAT_ATTR, f: -1 }, { name: 'max', type: FLOAT_ATTR, f: Infinity }] }],
    },
  };
}

const CASES: { name: string; model: () => IModel; x: Tensor }[] = [
  { name: 'clip', model: clipModel, x: Tensor.from('f32', [1, 2, 5, 5], Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.3) * 4)) },
  { name: 'mask', model: maskModel, x: Tensor.from('f32', [1, 4, 4], Array.from({ length: 16 }, (_, i) => Math.cos(i) * 2)) },
  { name: 'clip6', model: clip6Model, x: Tensor.from('f32', [1, 8], [-3, -1, 0, 1, 5, 1e30, -0.5, 2]) },
];

/** Writes the case's model and input; returns their paths and the reference output. */
async function prepare(c: (typeof CASES)[number]): Promise<{ model: string; x: string; want: Tensor }> {
  const dir = path.join(tmp, c.name);
  fs.mkdirSync(dir, { recursive: true });
  const model = writeModel(dir, c.model());
  const x = path.join(dir, 'x.pb');
  writeDataFile(x, c.x, 'x');
  const out = path.join(dir, 'ref');
  if (!fs.existsSync(out)) {
    const r = await cli('run', model, '--target', 'ref', '--inputs', x, '--out', out);
    expect(r.code, r.err).toBe(0);
  }
  return { model, x, want: readDataFile(path.join(out, 'output_0.pb')) };
}

async function runOut(dir: string, x: string, out: string, target?: string): Promise<Tensor> {
  const r = await cli('run', dir, ...(target ? ['--target', target] : []), '--inputs', x, '--out', out);
  expect(r.code, r.err).toBe(0);
  return readDataFile(path.join(out, 'output_0.pb'));
}

describe('+-Inf constants compile and run', () => {
  for (const c of CASES) {
    it(`${c.name}: the reference keeps the infinite bounds' meaning`, async () => {
      const { want } = await prepare(c);
      // onnxruntime on the source model agrees with the reference
      const s = await ort.InferenceSession.create(encode(c.model()));
      const r = await s.run({ x: new ort.Tensor('float32', c.x.data as Float32Array, [...c.x.shape]) });
      await s.release();
      expect(compareTensors(new Tensor('f32', want.shape, r['y']!.data as Float32Array), want, { rtol: 1e-6, atol: 1e-7 })).toBeNull();
    });
    for (const target of ['wasm', 'webgpu', 'hls']) {
      it(`${c.name}: fp32 ${target} == reference; model.onnx runs in onnxruntime`, async () => {
        const { model, x, want } = await prepare(c);
        const dir = path.join(tmp, c.name, target);
        const comp = await cli('compile', model, '--target', target, '-o', dir);
        expect(comp.code, comp.err).toBe(0);
        const got = await runOut(dir, x, path.join(tmp, c.name, `out-${target}`));
        expect(compareTensors(got, want, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
        if (target !== 'wasm') return;
        const s = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')));
        const r = await s.run({ x: new ort.Tensor('float32', c.x.data as Float32Array, [...c.x.shape]) });
        await s.release();
        expect(compareTensors(new Tensor('f32', want.shape, r['y']!.data as Float32Array), want, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
      }, 120_000);
    }
  }
});

describe('+-Inf constants and int8', () => {
  it('Clip(0, +inf) after a Conv quantizes (no float island); wasm == integer reference, close to float', async () => {
    const c = CASES[0]!;
    const { model, x, want } = await prepare(c);
    const dir = path.join(tmp, 'clip', 'int8');
    const comp = await cli('compile', model, '--int8', '--calib', x, '-o', dir);
    expect(comp.code, comp.err).toBe(0);
    const q = (JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { quantization: { float_islands: unknown[] } }).quantization;
    expect(q.float_islands).toEqual([]);
    const wasm = await runOut(dir, x, path.join(tmp, 'clip', 'int8-wasm'));
    const ref = await runOut(dir, x, path.join(tmp, 'clip', 'int8-ref'), 'ref');
    expect(compareTensors(wasm, ref, { rtol: 0, atol: 0 })).toBeNull();
    // an infinite bound imposes no clamp: the same model with the largest finite f32 bounds
    // quantizes to the same integer graph, bit for bit
    const finite = clipModel();
    finite.graph!.initializer = finite.graph!.initializer!.map((t) =>
      t.name === 'hi' ? init('hi', [], [3.4028234663852886e38]) : t.name === 'nlo' ? init('nlo', [], [-3.4028234663852886e38]) : t);
    const fdir = path.join(tmp, 'clip', 'int8-finite');
    const fmodel = writeModel(path.join(tmp, 'clip'), finite, 'finite.onnx');
    const fc = await cli('compile', fmodel, '--int8', '--calib', x, '-o', fdir);
    expect(fc.code, fc.err).toBe(0);
    expect(compareTensors(wasm, await runOut(fdir, x, path.join(tmp, 'clip', 'int8-finite-wasm')), { rtol: 0, atol: 0 })).toBeNull();
    // and close to float (calibrated on this very input; the conv output step is about 0.04)
    expect(compareTensors(wasm, want, { rtol: 0, atol: 0.1 })).toBeNull();
  }, 120_000);

  it('a -inf mask keeps the masked Add and Softmax in float; wasm == reference', async () => {
    const c = CASES[1]!;
    const { model, x, want } = await prepare(c);
    const dir = path.join(tmp, 'mask', 'int8');
    const comp = await cli('compile', model, '--int8', '--calib', x, '-o', dir);
    expect(comp.code, comp.err).toBe(0);
    expect(comp.err).toMatch(/float islands \(2\): mask \(Add\), softmax \(Softmax\)/);
    const wasm = await runOut(dir, x, path.join(tmp, 'mask', 'int8-wasm'));
    expect(compareTensors(wasm, want, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
  }, 120_000);
});

describe('NaN stays an error', () => {
  it('NaN Clip bound initializer: exit 7 naming the tensor', async () => {
    const dir = tmpDir('edgec-nan-');
    try {
      const m = clipModel();
      m.graph!.initializer = m.graph!.initializer!.map((t) => (t.name === 'hi' ? init('hi', [], [NaN]) : t));
      await expectCompileFails(dir, writeModel(dir, m), 7, /tensor holds NaN at element 0 .*tensor "hi"/);
    } finally {
      rmTmp(dir);
    }
  });
});
