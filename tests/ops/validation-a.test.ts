/**
 * Bad attributes and inputs of the elementwise / activation / control / reduce ops fail with a
 * clean EdgecError (kind and op in the context), never a raw exception.
 */
import { describe, expect, it } from 'vitest';
import { EdgecError, ErrorKind } from '../../compiler/errors.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { NodeModel, runRef } from './ort-oracle.js';

const x = Tensor.from('f32', [2, 3], [1, 2, 3, 4, 5, 6]);
const i64 = (v: number[]) => Tensor.from('i64', [v.length], v.map((k) => BigInt(k)));

interface BadCase extends NodeModel {
  name: string;
  out: DType[];
  kind: ErrorKind;
  msg: RegExp;
}

const cases: BadCase[] = [
  { name: 'Softmax axis out of range', op: 'Softmax', opset: 13, inputs: [x], attrs: { axis: 2 }, out: ['f32'], kind: 'invalid', msg: /axis 2 is out of range for rank 2/ },
  { name: 'LogSoftmax opset 11 axis out of range', op: 'LogSoftmax', opset: 11, inputs: [x], attrs: { axis: -3 }, out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'ArgMax axis out of range', op: 'ArgMax', opset: 13, inputs: [x], attrs: { axis: 5 }, out: ['i64'], kind: 'invalid', msg: /out of range/ },
  { name: 'ReduceSum repeated axes', op: 'ReduceSum', opset: 13, inputs: [x, null], consts: { 1: i64([1, -1]) }, out: ['f32'], kind: 'invalid', msg: /repeated/ },
  { name: 'ReduceMax axes attr out of range', op: 'ReduceMax', opset: 13, inputs: [x], attrs: { axes: [2] }, out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'ReduceMean keepdims 2', op: 'ReduceMean', opset: 13, inputs: [x], attrs: { keepdims: 2 }, out: ['f32'], kind: 'invalid', msg: /keepdims/ },
  { name: 'ReduceMean axes attribute at opset 18', op: 'ReduceMean', opset: 18, inputs: [x], attrs: { axes: [0] }, out: ['f32'], kind: 'invalid', msg: /is an input/ },
  { name: 'Mod fmod 2', op: 'Mod', opset: 13, inputs: [x, x], attrs: { fmod: 2 }, out: ['f32'], kind: 'invalid', msg: /fmod/ },
  { name: 'Cast to float8', op: 'Cast', opset: 19, inputs: [x], attrs: { to: 17 }, out: ['f32'], kind: 'unsupported', msg: /FLOAT8E4M3FN/ },
  { name: 'Cast to unknown type', op: 'Cast', opset: 13, inputs: [x], attrs: { to: 99 }, out: ['f32'], kind: 'invalid', msg: /not an ONNX data type/ },
  { name: 'Constant with two values', op: 'Constant', opset: 13, inputs: [], attrs: { value_int: 1, value_ints: [1, 2] }, out: ['i64'], kind: 'invalid', msg: /exactly one/ },
  { name: 'Dropout training ratio 0.5', op: 'Dropout', opset: 13, inputs: [x, Tensor.scalar('f32', 0.5), Tensor.from('bool', [], [1])], out: ['f32'], kind: 'unsupported', msg: /training mode/ },
  { name: 'Dropout ratio attr 1.5', op: 'Dropout', opset: 10, inputs: [x], attrs: { ratio: 1.5 }, out: ['f32'], kind: 'invalid', msg: /ratio/ },
  { name: 'TopK k larger than axis', op: 'TopK', opset: 11, inputs: [x, i64([4])], out: ['f32', 'i64'], kind: 'invalid', msg: /out of range/ },
  { name: 'Clip non-scalar min', op: 'Clip', opset: 13, inputs: [x, Tensor.from('f32', [2], [0, 1])], out: ['f32'], kind: 'invalid', msg: /scalar/ },
  { name: 'Add shapes that do not broadcast', op: 'Add', opset: 14, inputs: [x, Tensor.from('f32', [2], [1, 2])], out: ['f32'], kind: 'invalid', msg: /broadcast/ },
  { name: 'Add mixed dtypes', op: 'Add', opset: 14, inputs: [x, Tensor.from('f64', [3], [1, 2, 3])], out: ['f32'], kind: 'invalid', msg: /dtypes differ/ },
  { name: 'BitShift on signed ints', op: 'BitShift', opset: 11, inputs: [Tensor.from('i32', [1], [1]), Tensor.from('i32', [1], [1])], attrs: { direction: 'LEFT' }, out: ['i32'], kind: 'invalid', msg: /unsigned/ },
  { name: 'BitShift bad direction', op: 'BitShift', opset: 11, inputs: [Tensor.from('u8', [1], [1]), Tensor.from('u8', [1], [1])], attrs: { direction: 'UP' }, out: ['u8'], kind: 'invalid', msg: /direction/ },
  { name: 'Gelu unknown approximation', op: 'Gelu', opset: 20, inputs: [x], attrs: { approximate: 'fast' }, out: ['f32'], kind: 'invalid', msg: /approximate/ },
  { name: 'Exp on int32', op: 'Exp', opset: 13, inputs: [Tensor.from('i32', [1], [1])], out: ['i32'], kind: 'unsupported', msg: /float/ },
  { name: 'Not on float', op: 'Not', opset: 1, inputs: [x], out: ['bool'], kind: 'invalid', msg: /bool/ },
  { name: 'CumSum axis out of range', op: 'CumSum', opset: 14, inputs: [x, Tensor.scalar('i32', 3)], out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'PRelu slope not broadcastable to X', op: 'PRelu', opset: 16, inputs: [x, Tensor.from('f32', [2, 1, 3], [1, 1, 1, 1, 1, 1])], out: ['f32'], kind: 'invalid', msg: /slope/ },
];

describe('ops family A: validation errors', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    let err: unknown;
    try {
      runRef(c, c.out);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    const ee = err as EdgecError;
    expect(ee.kind, ee.message).toBe(c.kind);
    expect(ee.message).toMatch(c.msg);
    expect(ee.ctx.op).toBe(c.op);
  });
});
