/**
 * `compile --seq-shape NAME=DIMS,...` and `--empty-optional NAME` (sequence and optional inputs on
 * the wasm target, targets/common/sequences.ts): the artifact's model.mjs takes a sequence as an
 * array and returns one; results are compared with the reference interpreter on the model. Without
 * the flag the artifact is dynamic (model.mjs plans each structure); a malformed flag is a one-line error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxproto from 'onnx-proto';
import { Tensor } from '../../compiler/ir/tensor.js';
import { TensorSeq } from '../../compiler/ir/value.js';
import { ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { runGraphValues } from '../../compiler/interp/interp.js';
import { loadWasmArtifact, runWasmModelValues } from '../../targets/wasm/runner.js';
import { compareValues } from '../onnx-node/cases.js';
import { expectOneLine } from '../reliability/seed.js';
import { graph, model, node, rand, randTensor, vi } from '../helpers/onnx-build.js';
import { cli, rmTmp, tmpDir } from './helpers.js';

const { onnx } = onnxproto;
const tmp = tmpDir('edgec-seq-');
afterAll(() => rmTmp(tmp));

/** s (a sequence of f32) -> [Relu(x)] + s, its element 1 plus x, and the sequence itself. */
function seqModel(): Uint8Array {
  const seqType = new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: new onnx.TypeProto({ tensorType: new onnx.TypeProto.Tensor({ elemType: ONNX_DTYPE.f32 }) }) }) });
  const seqVi = (name: string) => new onnx.ValueInfoProto({ name, type: seqType });
  return model(graph('main', [
    node('Relu', ['x'], ['rx']),
    node('SequenceInsert', ['s', 'rx', 'zero'], ['s1']),
    node('SequenceAt', ['s1', 'one'], ['a']),
    node('Add', ['a', 'x'], ['y']),
  ], [vi('x', 'f32', [2, 3]), seqVi('s')], [vi('y', 'f32', [2, 3]), seqVi('s1')],
  [['zero', Tensor.from('i64', [], [0n])], ['one', Tensor.from('i64', [], [1n])]]), 17);
}

describe('compile --seq-shape', () => {
  const file = path.join(tmp, 'seq.onnx');
  fs.writeFileSync(file, seqModel());

  it('compiles a sequence input of the given element shapes; model.mjs takes and returns arrays', async () => {
    const out = path.join(tmp, 'seq.wasm');
    const r = await cli('compile', file, '--seq-shape', 's=2x3,1x3', '-o', out);
    expect(r.code, r.err).toBe(0);
    const m = await loadWasmArtifact(out);
    expect(m.inputs.map((x) => x.kind ?? 'tensor')).toEqual(['tensor', 'sequence']);
    const rr = rand(5);
    const inputs = [randTensor(rr, [2, 3]), new TensorSeq('f32', [randTensor(rr, [2, 3]), randTensor(rr, [1, 3])])];
    const want = runGraphValues(importOnnx(seqModel()), inputs);
    const got = runWasmModelValues(m, inputs);
    want.forEach((w, k) => expect(compareValues(got[k], w, { rtol: 1e-6, atol: 1e-6 }), `output ${k}`).toBeNull());
  });

  it('without --seq-shape: a dynamic artifact planned per call, for sequences of any length', async () => {
    const out = path.join(tmp, 'x.wasm');
    const r = await cli('compile', file, '-o', out);
    expect(r.code, r.err).toBe(0);
    const m = await loadWasmArtifact(out);
    expect(m.inputs.map((x) => x.kind ?? 'tensor')).toEqual(['tensor', 'sequence']);
    const rr = rand(6);
    for (const rows of [[2, 1], [2, 3, 1], [2]]) {
      const inputs = [randTensor(rr, [2, 3]), new TensorSeq('f32', rows.map((n) => randTensor(rr, [n, 3])))];
      const want = runGraphValues(importOnnx(seqModel()), inputs);
      const got = runWasmModelValues(m, inputs);
      want.forEach((w, k) => expect(compareValues(got[k], w, { rtol: 1e-6, atol: 1e-6 }), `${rows.length} elements: output ${k}`).toBeNull());
    }
    // an empty sequence: element 1 of [Relu(x)] does not exist, the reference's error
    expect(() => runWasmModelValues(m, [randTensor(rr, [2, 3]), new TensorSeq('f32', [])])).toThrow(/position 1 is out of range/);
  });

  it('a malformed --seq-shape is a one-line error', async () => {
    const bad = await cli('compile', file, '--seq-shape', 's=2xq', '-o', path.join(tmp, 'y.wasm'));
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/element shape "2xq"/);
  });
});
