/**
 * The model.onnx that `edgec compile` writes is valid for the opset it declares, including on
 * old-opset models whose attributes use int64 extremes: opset-9 Slice writes "to the end" as
 * ends=INT64_MAX (9223372036854775807), which the IR holds as the number 2^63. The exporter must
 * write it back as INT64_MAX, not wrap it to INT64_MIN (which turned the slice into an empty one:
 * "shapes [1,4420,0] and [1,4420,2] cannot be broadcast" on ultraface-rfb-320). Expected values
 * come from onnxruntime-node and the reference interpreter on the source model.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxproto from 'onnx-proto';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { exportOnnx, int64Attr } from '../../compiler/frontends/onnx/export.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { readDataFile, writeDataFile } from '../../compiler/io/data.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { cli, rmTmp, tmpDir } from './helpers.js';
import { encode, init, vi } from '../reliability/seed.js';

const { onnx } = onnxproto;
const tmp = tmpDir();
afterAll(() => rmTmp(tmp));

const INT64_MAX = '9223372036854775807';
const INT64_MIN = '-9223372036854775808';

/**
 * Opset 9: y = Slice(x, axes [2], starts [2], ends INT64_MAX) * w, z = Slice(x, axes [2],
 * starts INT64_MIN, ends [2]) (the first two columns, written with a huge negative start).
 */
function oldSliceModel(): Uint8Array {
  const ints = (name: string, v: (number | string)[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const w = Array.from({ length: 16 }, (_, i) => (i % 5) - 1.5);
  return encode({
    irVersion: 4,
    opsetImport: [{ domain: '', version: 9 }],
    graph: {
      name: 'slice9',
      input: [vi('x', [1, 4, 6])],
      output: [vi('y', [1, 4, 4]), vi('z', [1, 4, 2])],
      initializer: [init('w', [1, 4, 4], w)],
      node: [
        { opType: 'Slice', input: ['x'], output: ['s'], name: 'tail', attribute: [ints('axes', [2]), ints('starts', [2]), ints('ends', [INT64_MAX])] },
        { opType: 'Mul', input: ['s', 'w'], output: ['y'], name: 'mul' },
        { opType: 'Slice', input: ['x'], output: ['z'], name: 'head', attribute: [ints('axes', [2]), ints('starts', [INT64_MIN]), ints('ends', [2])] },
      ],
    },
  } as never);
}

function input(): Tensor {
  return Tensor.from('f32', [1, 4, 6], Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3));
}

async function ortRun(bytes: Uint8Array, x: Tensor): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
  const out = s.outputNames.map((n) => r[n]!.data as Float32Array);
  await s.release();
  return out;
}

describe('exported model.onnx keeps int64 attribute extremes', () => {
  it('int64Attr saturates numbers outside int64 and keeps the rest exact', () => {
    expect(int64Attr(2 ** 63)).toMatchObject({ low: -1, high: 0x7fffffff });
    expect(int64Attr(Infinity)).toMatchObject({ low: -1, high: 0x7fffffff });
    expect(int64Attr(-Infinity)).toMatchObject({ low: 0, high: -0x80000000 });
    expect(int64Attr(-(2 ** 63))).toBe(-(2 ** 63));
    expect(int64Attr(2 ** 53 + 2)).toBe(2 ** 53 + 2);
    expect(int64Attr(-3)).toBe(-3);
  });

  it('opset-9 Slice with ends=INT64_MAX / starts=INT64_MIN: export == source on onnxruntime and the reference', async () => {
    const src = oldSliceModel();
    const g = importOnnx(src);
    const x = input();
    const want = await ortRun(src, x);
    const bytes = exportOnnx(g);
    const m = onnx.ModelProto.decode(bytes);
    expect(Number(m.opsetImport.find((o) => (o.domain ?? '') === '')?.version)).toBe(9);
    const tail = m.graph!.node.find((n) => n.name === 'tail')!;
    expect(String(tail.attribute.find((a) => a.name === 'ends')!.ints[0])).toBe(INT64_MAX);
    const head = m.graph!.node.find((n) => n.name === 'head')!;
    expect(String(head.attribute.find((a) => a.name === 'starts')!.ints[0])).toBe(INT64_MIN);
    const got = await ortRun(bytes, x);
    got.forEach((o, k) => expect(Array.from(o)).toEqual(Array.from(want[k]!)));
    const back = runGraph(importOnnx(bytes), [x]);
    back.forEach((t, k) => expect(Array.from(t.data as Float32Array)).toEqual(Array.from(want[k]!)));
  });

  it('edgec compile + run on the artifact of an opset-9 model matches the source model', async () => {
    const model = path.join(tmp, 'slice9.onnx');
    fs.writeFileSync(model, oldSliceModel());
    const xf = path.join(tmp, 'x.pb');
    writeDataFile(xf, input(), 'x');
    const dir = path.join(tmp, 'art');
    const c = await cli('compile', model, '--target', 'onnx', '-o', dir);
    expect(c.code, c.err).toBe(0);
    const a = await cli('run', dir, '--target', 'ref', '--inputs', xf, '--out', path.join(tmp, 'o1'));
    expect(a.code, a.err).toBe(0);
    const b = await cli('run', model, '--target', 'ref', '--inputs', xf, '--out', path.join(tmp, 'o2'));
    expect(b.code, b.err).toBe(0);
    for (const k of [0, 1]) {
      const got = readDataFile(path.join(tmp, 'o1', `output_${k}.pb`));
      const want = readDataFile(path.join(tmp, 'o2', `output_${k}.pb`));
      expect(compareTensors(got, want, { rtol: 0, atol: 0 })).toBeNull();
    }
  });
});
