/**
 * `--bind NAME=VALUE` (cli/bind.ts) on compile, run, eval and profile. The model is VAD-like,
 * built in code as ONNX: an `sr` (int64 scalar) input and an If on sr == 16000 choosing between
 * two feature paths with different weights (each branch reads x and a main-graph initializer from
 * the outer scope). Expected outputs: the reference interpreter on the original model with the
 * same sr, checked against onnxruntime-node.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { readDataFile, writeDataFile } from '../../compiler/io/data.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { loadWasmArtifact, runWasmModel } from '../../targets/wasm/runner.js';
import { applyBindings, boundShape, bindTensor } from '../../cli/bind.js';
import { EdgecError } from '../../compiler/errors.js';
import { compareTensors } from '../helpers/compare.js';
import { f32, graph, i64, ifNode, model, node, ortRun, rand, randTensor, vi } from '../helpers/onnx-build.js';
import { expectOneLine } from '../reliability/seed.js';
import { cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-bind-');
afterAll(() => rmTmp(tmp));

const TOL = { rtol: 1e-5, atol: 1e-6 };
const r = rand(5);

/**
 * x [1,16] -> If(sr == 16000) then Relu(x @ W16 + b) else Tanh(x @ W8) * gain, -> y [1,8];
 * also y2 = y + bias (outside the If). W16, W8, gain are branch initializers, b and bias main-graph
 * initializers read from inside the branches / after them.
 */
function vadLike(): Uint8Array {
  const thenG = graph('sr16k', [
    node('MatMul', ['x', 'W16'], ['t_mm']),
    node('Add', ['t_mm', 'b'], ['t_add']),
    node('Relu', ['t_add'], ['t_y']),
  ], [], [vi('t_y', 'f32', [1, 8])], [['W16', randTensor(r, [16, 8], 0.5)]]);
  const elseG = graph('sr8k', [
    node('MatMul', ['x', 'W8'], ['e_mm']),
    node('Tanh', ['e_mm'], ['e_t']),
    node('Mul', ['e_t', 'gain'], ['e_y']),
  ], [], [vi('e_y', 'f32', [1, 8])], [['W8', randTensor(r, [16, 8], 0.5)], ['gain', f32([], [1.5])]]);
  const main = graph('vad', [
    node('Equal', ['sr', 'c16k'], ['is16k']),
    ifNode('is16k', ['y'], thenG, elseG),
    node('Add', ['y', 'bias'], ['y2']),
  ], [vi('x', 'f32', [1, 16]), vi('sr', 'i64', [])], [vi('y', 'f32', [1, 8]), vi('y2', 'f32', [1, 8])],
  [['c16k', i64(16000)], ['b', randTensor(r, [8], 0.2)], ['bias', randTensor(r, [8], 0.2)]]);
  return model(main, 13);
}

const bytes = vadLike();
const modelPath = path.join(tmp, 'vad.onnx');
fs.writeFileSync(modelPath, bytes);
const x = randTensor(r, [1, 16], 1);
const xFile = path.join(tmp, 'x.pb');
writeDataFile(xFile, x, 'x');

/** Reference outputs of the original model with sr given, checked against onnxruntime-node. */
async function reference(sr: number): Promise<Tensor[]> {
  const want = runGraph(importOnnx(bytes), { x, sr: i64(sr) });
  const ort = await ortRun(bytes, { x, sr: i64(sr) });
  want.forEach((w, k) => expect(compareTensors(w, ort[k]!, TOL), `ort output ${k}`).toBeNull());
  return want;
}

describe('edgec compile --bind', () => {
  it('sr=16000: the artifact\'s signature lacks sr, no If is left, outputs match the reference', async () => {
    const out = path.join(tmp, 'vad16.wasm');
    const res = await cli('compile', modelPath, '--bind', 'sr=16000', '-o', out);
    expect(res.code, res.err).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect((manifest['inputs'] as { name: string }[]).map((i) => i.name)).toEqual(['x']);
    expect(manifest['bound_inputs']).toEqual({ sr: ['16000'] });
    expect(Object.keys(manifest['ops'] as object)).not.toContain('If');
    const g = loadOnnxFile(path.join(out, 'model.onnx'));
    expect(g.inputs.map((i) => g.value(i).name)).toEqual(['x']);
    expect(g.orderedNodes().some((n) => n.op === 'If' || n.op === 'Equal')).toBe(false);
    const m = await loadWasmArtifact(out);
    expect(m.inputs.map((i) => i.name)).toEqual(['x']);
    const got = runWasmModel(m, [x]);
    const want = await reference(16000);
    got.forEach((t, k) => expect(compareTensors(t, want[k]!, TOL), `output ${k}`).toBeNull());
  }, 60_000);

  it('sr=8000 takes the other branch (target onnx: only model.onnx)', async () => {
    const out = path.join(tmp, 'vad8.onnx.out');
    const res = await cli('compile', modelPath, '--bind', 'sr=8000', '--target', 'onnx', '-o', out);
    expect(res.code, res.err).toBe(0);
    const g = loadOnnxFile(path.join(out, 'model.onnx'));
    expect(g.inputs.map((i) => g.value(i).name)).toEqual(['x']);
    expect(g.orderedNodes().map((n) => n.op)).toContain('Tanh');
    const got = runGraph(g, { x });
    const want = await reference(8000);
    got.forEach((t, k) => expect(compareTensors(t, want[k]!, TOL), `output ${k}`).toBeNull());
  }, 60_000);
});

describe('edgec run / eval / profile --bind', () => {
  for (const target of ['ref', 'wasm']) {
    for (const sr of [16000, 8000]) {
      it(`run --target ${target} --bind sr=${sr}: --inputs are the other inputs`, async () => {
        const out = path.join(tmp, `run-${target}-${sr}`);
        const res = await cli('run', modelPath, '--target', target, '--bind', `sr=${sr}`, '--inputs', xFile, '--out', out);
        expect(res.code, res.err).toBe(0);
        const want = await reference(sr);
        want.forEach((w, k) => expect(compareTensors(readDataFile(path.join(out, `output_${k}.pb`)), w, TOL), `output ${k}`).toBeNull());
      }, 60_000);
    }
  }

  it('eval --bind scores the bound model (mse against the reference output is 0)', async () => {
    const want = (await reference(16000))[0]!;
    const labels = path.join(tmp, 'labels.pb');
    writeDataFile(labels, want, 'y');
    const res = await cli('eval', modelPath, '--bind', 'sr=16000', '--data', xFile, '--labels', labels, '--metric', 'mse', '--json');
    expect(res.code, res.err).toBe(0);
    expect((JSON.parse(res.out) as { value: number }).value).toBeLessThan(1e-10);
  }, 60_000);

  it('profile --bind profiles the folded graph', async () => {
    const res = await cli('profile', modelPath, '--bind', 'sr=8000', '--measure', 'none', '--json');
    expect(res.code, res.err).toBe(0);
    const layers = (JSON.parse(res.out) as { layers: { name: string; op: string }[] }).layers;
    expect(layers.map((l) => l.op)).not.toContain('If');
    // the else branch (sr != 16000) was inlined: its MatMul (Tanh fused) is the first layer
    expect(layers[0]!.name).toBe('MatMul_e_mm');
  }, 60_000);
});

describe('--bind errors are one line', () => {
  it('an unknown input name is a usage error listing the inputs', async () => {
    expectOneLine(await cli('compile', modelPath, '--bind', 'rate=16000', '-o', path.join(tmp, 'e1')), 2, /--bind rate: the model has no input "rate"; its inputs are "x", "sr"/);
  });
  it('a wrong element count is invalid', async () => {
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr=16000,8000', '-o', path.join(tmp, 'e2')), 3, /--bind sr: the input \[\] holds 1 element\(s\), but 2 value\(s\) were given/);
    expectOneLine(await cli('run', modelPath, '--bind', 'x=1,2,3', '--inputs', xFile, '--out', path.join(tmp, 'e2b')), 3, /holds 16 element/);
  });
  it('non-numeric text is a usage error', async () => {
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr=fast', '-o', path.join(tmp, 'e3')), 2, /"fast" is not a number/);
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr16000', '-o', path.join(tmp, 'e3b')), 2, /expected NAME=VALUE/);
  });
  it('out-of-range and fractional values for integer inputs are invalid', async () => {
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr=9223372036854775808', '-o', path.join(tmp, 'e4')), 3, /out of range for i64/);
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr=16000.5', '-o', path.join(tmp, 'e4b')), 3, /not an integer/);
  });
  it('--bind and --input-shape on the same input is a usage error', async () => {
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr=16000', '--input-shape', 'sr=1', '-o', path.join(tmp, 'e6')), 2, /both --bind and --input-shape/);
  });
  it('binding an input twice, or binding an artifact, is a usage error', async () => {
    expectOneLine(await cli('compile', modelPath, '--bind', 'sr=16000', '--bind', 'sr=8000', '-o', path.join(tmp, 'e5')), 2, /bound twice/);
    const art = path.join(tmp, 'vad16.wasm');
    expectOneLine(await cli('run', art, '--bind', 'sr=16000', '--inputs', xFile, '--out', path.join(tmp, 'e5b')), 2, /--bind applies to a model file/);
  });
});

describe('bind values (cli/bind.ts)', () => {
  it('shapes: one number fills a one-element shape; a list sizes one symbolic dim', () => {
    expect(boundShape('a', [], 1)).toEqual([]);
    expect(boundShape('a', [1, 1], 1)).toEqual([1, 1]);
    expect(boundShape('a', ['N'], 1)).toEqual([1]);
    expect(boundShape('a', ['N', 3], 6)).toEqual([2, 3]);
    expect(() => boundShape('a', ['N', 3], 4)).toThrow(/do not fill/);
    expect(() => boundShape('a', ['N', 'M'], 4)).toThrow(EdgecError);
  });
  it('dtypes: integer ranges, bools, floats rounded to the dtype', () => {
    expect(bindTensor('a', 'u8', [2], ['0', '255']).toNumbers()).toEqual([0, 255]);
    expect(() => bindTensor('a', 'u8', [1], ['256'])).toThrow(/out of range for u8 \[0, 255\]/);
    expect(() => bindTensor('a', 'i8', [1], ['-129'])).toThrow(/out of range for i8/);
    expect(bindTensor('a', 'i64', [1], ['-9223372036854775808']).getBig(0)).toBe(-(1n << 63n));
    expect(bindTensor('a', 'i32', [1], ['1.6e4']).toNumbers()).toEqual([16000]);
    expect(bindTensor('a', 'bool', [3], ['true', '0', '1']).toNumbers()).toEqual([1, 0, 1]);
    expect(() => bindTensor('a', 'bool', [1], ['2'])).toThrow(/not a bool/);
    expect(bindTensor('a', 'f16', [1], ['0.1']).get(0)).toBe(0.0999755859375);
    expect(bindTensor('a', 'f32', [2], ['-inf', '1e-3']).toNumbers()).toEqual([-Infinity, Math.fround(1e-3)]);
    expect(() => bindTensor('a', 'f32', [1], ['1e999'])).toThrow(/out of range/);
  });
  it('applyBindings removes the input and keeps the others in order', () => {
    const g = importOnnx(bytes);
    expect(applyBindings(g, { sr: ['16000'] })).toEqual(['sr']);
    expect(g.inputs.map((i) => g.value(i).name)).toEqual(['x']);
    const sr = [...g.consts.keys()].find((k) => g.value(k).name === 'sr')!;
    expect(g.consts.get(sr)!.getBig(0)).toBe(16000n);
  });
});
