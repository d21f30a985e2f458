/**
 * `--input-shape NAME=DIMS` on compile, run, eval, inspect and profile, and symbolic input dims
 * taken from `run --inputs` files (cli/input-shapes.ts). The model is a small conv net with
 * symbolic N/H/W built in code and written with the repo's ONNX exporter; expected outputs come
 * from the reference interpreter on the model imported at each size.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { readDataFile, writeDataFile } from '../../compiler/io/data.js';
import { resolveInputShapes } from '../../cli/input-shapes.js';
import { EdgecError } from '../../compiler/errors.js';
import { compareTensors } from '../helpers/compare.js';
import { expectOneLine } from '../reliability/seed.js';
import { cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-shape-');
afterAll(() => rmTmp(tmp));

function det(shape: number[], seed: number, scale = 0.5): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + seed) * scale));
}

/** Conv 3x3 (pads 1) -> Relu -> MaxPool 2x2 -> Conv 1x1; input x: [N,3,H,W], output [N,4,H/2,W/2]. */
function convNet(): Graph {
  const b = new GraphBuilder('symnet', { '': 13 });
  const x = b.input('x', 'f32', ['N', 3, 'H', 'W']);
  let y = b.node('Conv', [x, b.const('w1', det([6, 3, 3, 3], 1)), b.const('b1', det([6], 2, 0.1))], { pads: [1, 1, 1, 1] });
  y = b.node('Relu', [y]);
  y = b.node('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] });
  y = b.node('Conv', [y, b.const('w2', det([4, 6, 1, 1], 3))]);
  b.output(y);
  return b.build();
}

const modelBytes = exportOnnx(convNet());
const model = path.join(tmp, 'symnet.onnx');
fs.writeFileSync(model, modelBytes);

/** Reference output of the model imported at the data's shape. */
function reference(x: Tensor): Tensor {
  const g = importOnnx(modelBytes, { inputShapes: { x: [...x.shape] } });
  return runGraph(g, [x])[0]!;
}

function dataFile(name: string, t: Tensor): string {
  const f = path.join(tmp, name);
  writeDataFile(f, t, 'x');
  return f;
}

describe('run MODEL takes symbolic dims from the input files', () => {
  for (const [h, w] of [[16, 16], [10, 22]] as const) {
    for (const target of ['ref', 'wasm']) {
      it(`${h}x${w} on ${target} matches the reference interpreter`, async () => {
        const x = det([1, 3, h, w], h * w);
        const out = path.join(tmp, `out-${h}x${w}-${target}`);
        const r = await cli('run', model, '--target', target, '--inputs', dataFile(`x-${h}x${w}.pb`, x), '--out', out);
        expect(r.code, r.err).toBe(0);
        const got = readDataFile(path.join(out, 'output_0.pb'));
        expect(got.shape).toEqual([1, 4, h / 2, w / 2]);
        expect(compareTensors(got, reference(x), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
      }, 60_000);
    }
  }

  it('a file with 3 samples on a symbolic batch runs batches of one, outputs stacked', async () => {
    const x = det([3, 3, 8, 12], 5);
    const out = path.join(tmp, 'out-batch');
    const r = await cli('run', model, '--target', 'wasm', '--inputs', dataFile('x3.npy', x), '--out', out);
    expect(r.code, r.err).toBe(0);
    const got = readDataFile(path.join(out, 'output_0.pb'));
    expect(got.shape).toEqual([3, 4, 4, 6]);
    expect(compareTensors(got, reference(x), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
  }, 60_000);

  it('a file without the batch axis is one sample', async () => {
    const x = det([3, 6, 8], 6);
    const out = path.join(tmp, 'out-nobatch');
    const r = await cli('run', model, '--inputs', dataFile('x-nobatch.pb', x), '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(compareTensors(readDataFile(path.join(out, 'output_0.pb')), reference(x.reshape([1, 3, 6, 8])), { rtol: 1e-6, atol: 1e-7 })).toBeNull();
  });

  it('--input-shape sets the batch: 4 samples run as 2 batches of 2', async () => {
    const x = det([4, 3, 8, 8], 7);
    const out = path.join(tmp, 'out-b2');
    const r = await cli('run', model, '--input-shape', 'x=2x3x8x8', '--inputs', dataFile('x4.pb', x), '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(compareTensors(readDataFile(path.join(out, 'output_0.pb')), reference(x), { rtol: 1e-6, atol: 1e-7 })).toBeNull();
  });

  it('--input-shape that disagrees with the file: the file is rejected (exit 3)', async () => {
    const r = await cli('run', model, '--input-shape', 'x=1x3x8x8', '--inputs', dataFile('x-16.pb', det([1, 3, 16, 16], 8)), '--out', path.join(tmp, 'o-bad'));
    expectOneLine(r, 3, /data for "x" has shape \[1,3,16,16\] but the model input is \[1,3,8,8\]/);
  });
});

describe('--input-shape on every command', () => {
  it('compile without a size for H/W: exit 4 naming the dims, the input and both flags; with it: compiles', async () => {
    const r = await cli('compile', model, '-o', path.join(tmp, 'art-none'));
    expectOneLine(r, 4, /input "x" has symbolic dims "H" \(axis 2\), "W" \(axis 3\) with no size: .*--input-shape x=1x3x<H>x<W>.*--max-input-shape/);
    expect(fs.existsSync(path.join(tmp, 'art-none'))).toBe(false);
    const dir = path.join(tmp, 'art-12x20');
    const c = await cli('compile', model, '-o', dir, '--input-shape', 'x=1x3x12x20');
    expect(c.code, c.err).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { inputs: { shape: number[] }[] };
    expect(m.inputs[0]!.shape).toEqual([1, 3, 12, 20]);
    const x = det([1, 3, 12, 20], 9);
    const out = path.join(tmp, 'out-art');
    const run = await cli('run', dir, '--inputs', dataFile('x-12x20.pb', x), '--out', out);
    expect(run.code, run.err).toBe(0);
    expect(compareTensors(readDataFile(path.join(out, 'output_0.pb')), reference(x), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
  }, 60_000);

  it('inspect: MACs at the given size; without it exit 4', async () => {
    const r = await cli('inspect', model, '--json', '--input-shape', 'x=1x3x32x32');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { macs: number; inputs: { shape: number[] }[] };
    expect(j.inputs[0]!.shape).toEqual([1, 3, 32, 32]);
    // conv1: 6 out x 3 in x 9 taps x 32x32 outputs; conv2: 4 x 6 x 1 x 16x16
    expect(j.macs).toBe(6 * 3 * 9 * 32 * 32 + 4 * 6 * 16 * 16);
    expectOneLine(await cli('inspect', model), 4, /symbolic dims "H" \(axis 2\), "W" \(axis 3\)/);
  });

  it('profile and eval take --input-shape', async () => {
    const p = await cli('profile', model, '--json', '--measure', 'none', '--input-shape', 'x=1x3x8x8');
    expect(p.code, p.err).toBe(0);
    expect(JSON.parse(p.out)).toHaveProperty('layers');
    const x = det([4, 3, 8, 8], 10);
    const want = reference(x);
    const labels = path.join(tmp, 'labels.npy');
    writeDataFile(labels, want);
    for (const extra of [[], ['--input-shape', 'x=1x3x8x8']]) {
      const e = await cli('eval', model, '--data', dataFile('xe.npy', x), '--labels', labels, '--metric', 'mse', '--json', ...extra);
      expect(e.code, e.err).toBe(0);
      expect((JSON.parse(e.out) as { value: number }).value).toBeLessThan(1e-12);
    }
  });

  it('a NAME the model lacks is a usage error (exit 2) listing the inputs, on every command', async () => {
    const x = dataFile('x-any.pb', det([1, 3, 8, 8], 11));
    const runs: string[][] = [
      ['compile', model, '-o', path.join(tmp, 'never')],
      ['run', model, '--inputs', x, '--out', path.join(tmp, 'never2')],
      ['eval', model, '--data', x, '--labels', x],
      ['inspect', model],
      ['profile', model, '--measure', 'none'],
    ];
    for (const args of runs) {
      const r = await cli(...args, '--input-shape', 'image=1x3x8x8');
      expectOneLine(r, 2, /--input-shape image: the model has no input "image"; its inputs are "x"/);
    }
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('rank or fixed-dim mismatch: exit 3', async () => {
    expectOneLine(await cli('inspect', model, '--input-shape', 'x=1x3x8'), 3, /rank 3, the model's input has rank 4/);
    expectOneLine(await cli('inspect', model, '--input-shape', 'x=1x4x8x8'), 3, /sets dim 1 to 4, but the model fixes it to 3/);
  });
});

describe('resolveInputShapes', () => {
  const inputs = [{ name: 'a', shape: ['B', 'L', 8] }, { name: 'b', shape: ['B', 'L'] }];
  it('a dim given on one input sizes the same dim on another; batch defaults to 1', () => {
    const s = resolveInputShapes(inputs, { given: { a: [2, 5, 8] } });
    expect(s.get('a')).toEqual([2, 5, 8]);
    expect(s.get('b')).toEqual([2, 5]);
    expect(resolveInputShapes(inputs, { data: [[4, 7, 8], undefined] }).get('b')).toEqual([1, 7]);
  });
  it('conflicting sizes of one dim, and kept-symbolic inputs', () => {
    expect(() => resolveInputShapes(inputs, { given: { a: [1, 5, 8], b: [1, 6] } })).toThrow(/"L" is 5 on one input but 6 on input "b"/);
    expect(resolveInputShapes(inputs, { keepSymbolic: new Set(['a', 'b']) }).get('a')).toEqual(['B', 'L', 8]);
    try {
      resolveInputShapes(inputs);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EdgecError);
      expect((e as EdgecError).kind).toBe('unsupported');
      expect((e as EdgecError).message).toMatch(/input "a" has symbolic dim "L" \(axis 1\)/);
    }
  });
  it('TF.js names: "x:0" and "x" are the same input', () => {
    expect(resolveInputShapes([{ name: 'input_1', shape: ['n', 4] }], { given: { 'input_1:0': [3, 4] } }).get('input_1')).toEqual([3, 4]);
  });
});

describe('compile --max-input-shape: one artifact for every shape up to the bound', () => {
  const dir = path.join(tmp, 'symnet.wasm');
  it('compiles with H and W symbolic and runs three sizes on wasm, equal to the reference', async () => {
    const c = await cli('compile', model, '--max-input-shape', 'x=2x3x32x40', '-o', dir);
    expect(c.code, c.err).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(m['dynamic']).toBe(true);
    expect(m['max_input_shapes']).toEqual({ x: [2, 3, 32, 40] });
    for (const [n, h, w] of [[1, 16, 16], [2, 10, 22], [1, 32, 40]] as const) {
      const x = det([n, 3, h, w], n * h * w);
      const out = path.join(tmp, `dyn-${n}x${h}x${w}`);
      const r = await cli('run', dir, '--target', 'wasm', '--inputs', dataFile(`dyn-${n}x${h}x${w}.pb`, x), '--out', out);
      expect(r.code, r.err).toBe(0);
      const got = readDataFile(path.join(out, 'output_0.pb'));
      expect(got.shape).toEqual([n, 4, h / 2, w / 2]);
      expect(compareTensors(got, reference(x), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    }
  }, 120_000);

  it('a size over the bound is a one-line error', async () => {
    const x = det([1, 3, 34, 8], 1);
    const r = await cli('run', dir, '--target', 'wasm', '--inputs', dataFile('dyn-over.pb', x), '--out', path.join(tmp, 'dyn-over'));
    expectOneLine(r, 3, /over the compiled bound 32/);
  }, 60_000);

  it('a NAME the model lacks is a usage error; a rank mismatch is invalid input', async () => {
    const a = await cli('compile', model, '--max-input-shape', 'y=1x3x8x8', '-o', path.join(tmp, 'bad1'));
    expectOneLine(a, 2, /no input "y"/);
    const b = await cli('compile', model, '--max-input-shape', 'x=1x3x8', '-o', path.join(tmp, 'bad2'));
    expectOneLine(b, 3, /rank 3/);
  }, 60_000);
});
