/**
 * Elementwise, activation, control and reduce ops on the reference interpreter against
 * onnxruntime-node, for the ops and attribute combinations the ONNX node tests do not cover
 * (old opsets, integer semantics, Mod/BitShift/trig, Reduce* variants, TopK/CumSum options...).
 */
import { describe, expect, it } from 'vitest';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { NodeModel, runOrt, runRef } from './ort-oracle.js';

/** Deterministic pseudo-random floats in [lo, hi). */
function rand(n: number, lo = -3, hi = 3, seed = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + ((hi - lo) * s) / 2 ** 32);
  }
  return out;
}
const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], lo = -3, hi = 3, seed = 1) => Tensor.from('f32', shape, rand(numelOf(shape), lo, hi, seed));
const ints = (dt: DType, shape: number[], lo: number, hi: number, seed = 2) =>
  Tensor.from(dt, shape, rand(numelOf(shape), lo, hi, seed).map((v) => (dt === 'i64' || dt === 'u64' ? BigInt(Math.floor(v)) : Math.floor(v))));

interface Case extends NodeModel {
  name: string;
  out: DType[];
  tol?: { rtol: number; atol: number };
}

async function check(c: Case): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => {
    expect(compareTensors(got[k]!, w, c.tol ?? { rtol: 2e-6, atol: 1e-6 }), `${c.name} output ${k}`).toBeNull();
  });
}

const x345 = f32([3, 4, 5]);
const pos = f32([3, 4, 5], 0.1, 4, 7);
const unit = f32([3, 4, 5], -0.99, 0.99, 9);

const elementwise: Case[] = [
  { name: 'Div int32 truncates toward zero', op: 'Div', opset: 14, inputs: [Tensor.from('i32', [6], [7, -7, 7, -7, 1, -9]), Tensor.from('i32', [6], [2, 2, -2, -2, 3, 4])], out: ['i32'] },
  { name: 'Div int64 big', op: 'Div', opset: 14, inputs: [Tensor.from('i64', [3], [2n ** 62n + 3n, -(2n ** 60n) - 1n, 5n]), Tensor.from('i64', [3], [3n, 7n, -2n])], out: ['i64'] },
  { name: 'Mul int32 wraps', op: 'Mul', opset: 14, inputs: [Tensor.from('i32', [3], [65537, -2147483648, 123456789]), Tensor.from('i32', [3], [65537, -1, 987654321])], out: ['i32'] },
  { name: 'Add int64 exact', op: 'Add', opset: 14, inputs: [Tensor.from('i64', [2], [2n ** 62n + 1n, -5n]), Tensor.from('i64', [2], [2n ** 62n + 1n, 3n])], out: ['i64'] },
  { name: 'Sub uint8 wraps', op: 'Sub', opset: 14, inputs: [Tensor.from('u8', [3], [1, 200, 0]), Tensor.from('u8', [3], [2, 100, 255])], out: ['u8'] },
  { name: 'Mul opset 7 bcast', op: 'Mul', opset: 7, inputs: [x345, f32([4, 1], -1, 1, 3)], out: ['f32'] },
  { name: 'Mod int32 fmod=0', op: 'Mod', opset: 13, inputs: [Tensor.from('i32', [6], [5, -5, 5, -5, 7, -8]), Tensor.from('i32', [6], [3, 3, -3, -3, 7, 3])], out: ['i32'] },
  { name: 'Mod int64 fmod=1', op: 'Mod', opset: 13, inputs: [Tensor.from('i64', [4], [5n, -5n, 5n, -5n]), Tensor.from('i64', [4], [3n, 3n, -3n, -3n])], attrs: { fmod: 1 }, out: ['i64'] },
  { name: 'Mod float fmod=1', op: 'Mod', opset: 13, inputs: [f32([8], -9, 9, 4), f32([8], 0.5, 3, 5)], attrs: { fmod: 1 }, out: ['f32'] },
  { name: 'BitShift u8 left', op: 'BitShift', opset: 11, inputs: [Tensor.from('u8', [4], [1, 3, 255, 16]), Tensor.from('u8', [4], [1, 2, 1, 4])], attrs: { direction: 'LEFT' }, out: ['u8'] },
  { name: 'BitShift u32 right', op: 'BitShift', opset: 11, inputs: [Tensor.from('u32', [3], [4294967295, 16, 7]), Tensor.from('u32', [3], [4, 2, 1])], attrs: { direction: 'RIGHT' }, out: ['u32'] },
  { name: 'BitShift u64 left', op: 'BitShift', opset: 11, inputs: [Tensor.from('u64', [2], [2n ** 63n + 1n, 3n]), Tensor.from('u64', [2], [1n, 62n])], attrs: { direction: 'LEFT' }, out: ['u64'] },
  { name: 'Pow int32', op: 'Pow', opset: 15, inputs: [Tensor.from('i32', [4], [2, -3, 7, 5]), Tensor.from('i32', [4], [10, 3, 2, 0])], out: ['i32'] },
  { name: 'Pow int32^int64', op: 'Pow', opset: 15, inputs: [Tensor.from('i32', [4], [3, -2, 7, 2]), Tensor.from('i64', [4], [19n, 30n, 3n, 0n])], out: ['i32'] },
  { name: 'Pow float^int64', op: 'Pow', opset: 15, inputs: [f32([4], -2, 2, 8), Tensor.from('i64', [4], [2n, 3n, -1n, 0n])], out: ['f32'] },
  { name: 'Pow float', op: 'Pow', opset: 15, inputs: [pos, x345], out: ['f32'], tol: { rtol: 1e-5, atol: 1e-6 } },
  { name: 'Sum float 3 inputs bcast', op: 'Sum', opset: 13, inputs: [x345, f32([5], -1, 1, 4), f32([4, 1], -1, 1, 5)], out: ['f32'] },
  { name: 'Mean bcast', op: 'Mean', opset: 13, inputs: [x345, f32([5], -1, 1, 4)], out: ['f32'] },
  { name: 'Max int64', op: 'Max', opset: 13, inputs: [Tensor.from('i64', [3], [2n ** 60n, -1n, 5n]), Tensor.from('i64', [3], [2n ** 60n + 1n, -2n, 5n])], out: ['i64'] },
  { name: 'Min opset 8 bcast', op: 'Min', opset: 8, inputs: [x345, f32([5], -1, 1, 4)], out: ['f32'] },
  { name: 'LessOrEqual', op: 'LessOrEqual', opset: 16, inputs: [Tensor.from('f32', [4], [1, 2, 3, NaN]), Tensor.from('f32', [4], [1, 1, 4, 1])], out: ['bool'] },
  { name: 'GreaterOrEqual int64', op: 'GreaterOrEqual', opset: 16, inputs: [Tensor.from('i64', [3], [2n ** 60n + 1n, 2n, 3n]), Tensor.from('i64', [3], [2n ** 60n, 2n, 4n])], out: ['bool'] },
  { name: 'Equal float', op: 'Equal', opset: 13, inputs: [Tensor.from('f32', [3], [1, NaN, 0]), Tensor.from('f32', [3], [1, NaN, -0])], out: ['bool'] },
  { name: 'Where broadcast strings-free', op: 'Where', opset: 16, inputs: [Tensor.from('bool', [4, 1], [1, 0, 1, 0]), f32([5], -1, 1, 2), f32([4, 5], -1, 1, 3)], out: ['f32'] },
  { name: 'Abs int8', op: 'Abs', opset: 13, inputs: [Tensor.from('i8', [4], [-128, -5, 0, 7])], out: ['i8'] },
  { name: 'Neg int64', op: 'Neg', opset: 13, inputs: [Tensor.from('i64', [3], [2n ** 62n, -7n, 0n])], out: ['i64'] },
  { name: 'Sign int32', op: 'Sign', opset: 13, inputs: [Tensor.from('i32', [3], [-9, 0, 4])], out: ['i32'] },
  { name: 'Round halves', op: 'Round', opset: 11, inputs: [Tensor.from('f32', [10], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6, 0.49999997, 1e8])], out: ['f32'] },
  { name: 'Erf', op: 'Erf', opset: 13, inputs: [f32([3, 4, 5], -5, 5, 11)], out: ['f32'] },
  { name: 'Sin', op: 'Sin', opset: 7, inputs: [x345], out: ['f32'] },
  { name: 'Cos', op: 'Cos', opset: 7, inputs: [x345], out: ['f32'] },
  { name: 'Tan', op: 'Tan', opset: 7, inputs: [unit], out: ['f32'] },
  { name: 'Asin', op: 'Asin', opset: 7, inputs: [unit], out: ['f32'] },
  { name: 'Acos', op: 'Acos', opset: 7, inputs: [unit], out: ['f32'] },
  { name: 'Atan', op: 'Atan', opset: 7, inputs: [x345], out: ['f32'] },
  { name: 'Sinh', op: 'Sinh', opset: 9, inputs: [x345], out: ['f32'] },
  { name: 'Cosh', op: 'Cosh', opset: 9, inputs: [x345], out: ['f32'] },
  { name: 'IsNaN', op: 'IsNaN', opset: 13, inputs: [Tensor.from('f32', [4], [NaN, 1, Infinity, -0])], out: ['bool'] },
  { name: 'IsInf negative only', op: 'IsInf', opset: 10, inputs: [Tensor.from('f32', [4], [NaN, -Infinity, Infinity, 3])], attrs: { detect_positive: 0 }, out: ['bool'] },
  { name: 'Exp f64', op: 'Exp', opset: 13, inputs: [Tensor.from('f64', [3], [-1, 0, 2.5])], out: ['f64'], tol: { rtol: 1e-14, atol: 0 } },
  { name: 'Relu int32', op: 'Relu', opset: 14, inputs: [Tensor.from('i32', [3], [-3, 0, 5])], out: ['i32'] },
  { name: 'Add f16', op: 'Add', opset: 14, inputs: [Tensor.from('f16', [4], [0.1, 1000, -3.3, 65000]), Tensor.from('f16', [4], [0.2, 0.3, 1.1, 1000])], out: ['f16'] },
];

const activation: Case[] = [
  { name: 'Celu', op: 'Celu', opset: 12, inputs: [x345], attrs: { alpha: 2 }, floatAttrs: ['alpha'], out: ['f32'] },
  { name: 'Mish', op: 'Mish', opset: 18, inputs: [x345], out: ['f32'] },
  { name: 'ThresholdedRelu', op: 'ThresholdedRelu', opset: 10, inputs: [x345], attrs: { alpha: 0.5 }, out: ['f32'] },
  { name: 'Softplus large', op: 'Softplus', opset: 1, inputs: [Tensor.from('f32', [4], [-100, -1, 30, 100])], out: ['f32'] },
  { name: 'Elu alpha', op: 'Elu', opset: 6, inputs: [x345], attrs: { alpha: 0.7 }, out: ['f32'] },
  { name: 'Gelu tanh', op: 'Gelu', opset: 20, inputs: [x345], attrs: { approximate: 'tanh' }, out: ['f32'] },
  { name: 'HardSigmoid', op: 'HardSigmoid', opset: 6, inputs: [x345], attrs: { alpha: 0.3, beta: 0.4 }, out: ['f32'] },
  { name: 'Clip opset 6 attrs', op: 'Clip', opset: 6, inputs: [x345], attrs: { min: -1, max: 0.5 }, floatAttrs: ['min', 'max'], out: ['f32'] },
  { name: 'Clip opset 12 int32', op: 'Clip', opset: 12, inputs: [Tensor.from('i32', [5], [-9, -1, 0, 4, 12]), Tensor.from('i32', [], [-2]), Tensor.from('i32', [], [5])], out: ['i32'] },
  { name: 'Clip opset 13 max only (min omitted)', op: 'Clip', opset: 13, inputs: [x345, null, Tensor.from('f32', [], [0.25])], out: ['f32'] },
  { name: 'PRelu channel slope', op: 'PRelu', opset: 9, inputs: [f32([2, 3, 4]), f32([3, 1], 0, 1, 4)], out: ['f32'] },
  { name: 'Softmax opset 11 coerces to 2-D', op: 'Softmax', opset: 11, inputs: [x345], out: ['f32'] },
  { name: 'Softmax opset 11 axis 2', op: 'Softmax', opset: 11, inputs: [x345], attrs: { axis: 2 }, out: ['f32'] },
  { name: 'LogSoftmax opset 11 axis 0', op: 'LogSoftmax', opset: 11, inputs: [x345], attrs: { axis: 0 }, out: ['f32'] },
  { name: 'Softmax opset 13 axis 1', op: 'Softmax', opset: 13, inputs: [x345], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Hardmax opset 13 axis 1', op: 'Hardmax', opset: 13, inputs: [Tensor.from('f32', [2, 3, 2], [1, 2, 3, 3, 3, 1, 0, 0, 5, 0, 5, 0])], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Hardmax opset 11', op: 'Hardmax', opset: 11, inputs: [x345], out: ['f32'] },
];

const control: Case[] = [
  { name: 'Cast float->int32 truncates', op: 'Cast', opset: 13, inputs: [Tensor.from('f32', [6], [1.9, -1.9, 0.5, -0.5, 100.7, -2147483.5])], attrs: { to: 6 }, out: ['i32'] },
  { name: 'Cast float->bool', op: 'Cast', opset: 13, inputs: [Tensor.from('f32', [4], [0, -0, 0.1, NaN])], attrs: { to: 9 }, out: ['bool'] },
  { name: 'Cast bool->float', op: 'Cast', opset: 13, inputs: [Tensor.from('bool', [3], [1, 0, 1])], attrs: { to: 1 }, out: ['f32'] },
  { name: 'Cast int64->float16', op: 'Cast', opset: 13, inputs: [Tensor.from('i64', [3], [2049n, -70000n, 3n])], attrs: { to: 10 }, out: ['f16'] },
  { name: 'Cast float16->int32', op: 'Cast', opset: 13, inputs: [Tensor.from('f16', [3], [2.5, -3.75, 1000])], attrs: { to: 6 }, out: ['i32'] },
  { name: 'Cast int64->int32 wraps', op: 'Cast', opset: 13, inputs: [Tensor.from('i64', [3], [2n ** 32n + 5n, -(2n ** 33n) - 1n, 7n])], attrs: { to: 6 }, out: ['i32'] },
  { name: 'Cast string->float', op: 'Cast', opset: 13, inputs: [new Tensor('string', [5], ['1.5', '-2', '1e-3', 'INF', 'NaN'])], attrs: { to: 1 }, out: ['f32'] },
  { name: 'Cast float->string', op: 'Cast', opset: 13, inputs: [Tensor.from('f32', [12], [0.1, 1, -2.5, 1e10, 1.2345678e-7, NaN, -Infinity, 123456.78, 1e-5, 0.0001, -0, 99999999])], attrs: { to: 8 }, out: ['string'] },
  { name: 'Cast double->string', op: 'Cast', opset: 13, inputs: [Tensor.from('f64', [3], [1 / 3, 1e300, -7.25])], attrs: { to: 8 }, out: ['string'] },
  { name: 'Cast int64->string', op: 'Cast', opset: 13, inputs: [Tensor.from('i64', [2], [-5n, 2n ** 62n])], attrs: { to: 8 }, out: ['string'] },
  { name: 'Cast bool->string', op: 'Cast', opset: 13, inputs: [Tensor.from('bool', [2], [1, 0])], attrs: { to: 8 }, out: ['string'] },
  { name: 'Cast double->float', op: 'Cast', opset: 13, inputs: [Tensor.from('f64', [3], [0.1, 1e40, -1 / 3])], attrs: { to: 1 }, out: ['f32'] },
  { name: 'Cast int64->uint8 wraps', op: 'Cast', opset: 13, inputs: [Tensor.from('i64', [3], [2n ** 60n + 257n, -1n, 255n])], attrs: { to: 2 }, out: ['u8'] },
  { name: 'Cast int32->uint8 wraps', op: 'Cast', opset: 13, inputs: [Tensor.from('i32', [3], [300, -1, 255])], attrs: { to: 2 }, out: ['u8'] },
  { name: 'CastLike', op: 'CastLike', opset: 15, inputs: [Tensor.from('f32', [3], [1.5, -2.5, 3])], consts: { 1: Tensor.from('i64', [1], [0n]) }, out: ['i64'] },
  { name: 'EyeLike k=1', op: 'EyeLike', opset: 9, inputs: [f32([3, 4])], attrs: { k: 1, dtype: 6 }, out: ['i32'] },
  { name: 'EyeLike k=-2', op: 'EyeLike', opset: 9, inputs: [f32([4, 3])], attrs: { k: -2 }, out: ['f32'] },
  { name: 'Dropout opset 7 ratio attr', op: 'Dropout', opset: 7, inputs: [x345], attrs: { ratio: 0.3 }, out: ['f32'] },
  { name: 'Dropout opset 13 mask', op: 'Dropout', opset: 13, inputs: [x345], out: ['f32', 'bool'] },
  { name: 'Constant value_floats', op: 'Constant', opset: 13, inputs: [], attrs: { value_floats: [1.5, -2, 3.25] }, floatAttrs: ['value_floats'], out: ['f32'] },
  { name: 'Constant value_ints', op: 'Constant', opset: 13, inputs: [], attrs: { value_ints: [1, -2, 3] }, out: ['i64'] },
  { name: 'Constant value_int', op: 'Constant', opset: 13, inputs: [], attrs: { value_int: 42 }, out: ['i64'] },
  { name: 'Identity int64', op: 'Identity', opset: 13, inputs: [Tensor.from('i64', [2], [2n ** 62n, -1n])], out: ['i64'] },
];

const axes = (v: number[]) => Tensor.from('i64', [v.length], v.map((x) => BigInt(x)));
const reduce: Case[] = [];
for (const op of ['ReduceL1', 'ReduceL2', 'ReduceProd', 'ReduceLogSum', 'ReduceSumSquare', 'ReduceMin', 'ReduceMean', 'ReduceMax', 'ReduceLogSumExp', 'ReduceSum']) {
  const data = op === 'ReduceLogSum' ? pos : op === 'ReduceProd' ? f32([3, 4, 5], 0.5, 1.5, 3) : x345;
  const tol = { rtol: 1e-5, atol: 1e-6 };
  const inputSince = op === 'ReduceSum' ? 13 : 18;
  reduce.push(
    { name: `${op} axes attr opset 11`, op, opset: 11, inputs: [data], attrs: { axes: [0, 2] }, out: ['f32'], tol },
    { name: `${op} keepdims=0 all axes opset 11`, op, opset: 11, inputs: [data], attrs: { keepdims: 0 }, out: ['f32'], tol },
    { name: `${op} axes input opset ${inputSince}`, op, opset: inputSince, inputs: [data, null], consts: { 1: axes([-1, 0]) }, attrs: { keepdims: 0 }, out: ['f32'], tol },
    { name: `${op} noop_with_empty_axes`, op, opset: inputSince, inputs: [data], attrs: { noop_with_empty_axes: 1 }, out: ['f32'], tol },
  );
}
reduce.push(
  { name: 'ReduceSum int64 exact', op: 'ReduceSum', opset: 13, inputs: [Tensor.from('i64', [2, 2], [2n ** 60n, 3n, 2n ** 60n, -1n]), null], consts: { 1: axes([0]) }, out: ['i64'] },
  { name: 'ReduceMax int32', op: 'ReduceMax', opset: 13, inputs: [ints('i32', [3, 4], -100, 100)], attrs: { axes: [1] }, out: ['i32'] },
  { name: 'ReduceMin int8 keepdims 0', op: 'ReduceMin', opset: 13, inputs: [ints('i8', [3, 4], -100, 100)], attrs: { axes: [0], keepdims: 0 }, out: ['i8'] },
  { name: 'ReduceMean f64', op: 'ReduceMean', opset: 13, inputs: [Tensor.from('f64', [2, 3], rand(6))], attrs: { axes: [1] }, out: ['f64'], tol: { rtol: 1e-14, atol: 1e-15 } },
  { name: 'ArgMax axis 1 keepdims 0', op: 'ArgMax', opset: 13, inputs: [x345], attrs: { axis: 1, keepdims: 0 }, out: ['i64'] },
  { name: 'ArgMin int32 last index', op: 'ArgMin', opset: 13, inputs: [Tensor.from('i32', [2, 4], [1, 0, 0, 3, 5, 5, 2, 2])], attrs: { axis: 1, select_last_index: 1 }, out: ['i64'] },
  { name: 'ArgMax opset 11', op: 'ArgMax', opset: 11, inputs: [x345], attrs: { axis: -1 }, out: ['i64'] },
  { name: 'TopK smallest axis 0 opset 11', op: 'TopK', opset: 11, inputs: [x345, null], consts: { 1: Tensor.from('i64', [1], [2n]) }, attrs: { axis: 0, largest: 0 }, out: ['f32', 'i64'] },
  { name: 'TopK largest axis 1 ties', op: 'TopK', opset: 11, inputs: [Tensor.from('f32', [2, 5], [3, 1, 3, 2, 3, 0, 0, 1, 0, 1]), null], consts: { 1: Tensor.from('i64', [1], [3n]) }, attrs: { axis: 1 }, out: ['f32', 'i64'] },
  { name: 'TopK opset 1 attr k', op: 'TopK', opset: 1, inputs: [x345], attrs: { k: 3 }, out: ['f32', 'i64'] },
  { name: 'TopK int32', op: 'TopK', opset: 11, inputs: [ints('i32', [4, 6], -50, 50), null], consts: { 1: Tensor.from('i64', [1], [4n]) }, out: ['i32', 'i64'] },
  { name: 'CumSum int64 reverse exclusive', op: 'CumSum', opset: 14, inputs: [Tensor.from('i64', [2, 3], [2n ** 60n, 1n, 2n, 3n, 4n, 5n]), null], consts: { 1: Tensor.from('i64', [], [1n]) }, attrs: { exclusive: 1, reverse: 1 }, out: ['i64'] },
  { name: 'CumSum float axis 1', op: 'CumSum', opset: 14, inputs: [x345, null], consts: { 1: Tensor.from('i32', [], [1]) }, out: ['f32'], tol: { rtol: 1e-5, atol: 1e-6 } },
);

describe('ops without an onnxruntime kernel for the case', () => {
  it('Add opset 6 legacy broadcast (axis=1) equals opset 7 broadcasting of B reshaped to [4, 1]', async () => {
    const b = f32([4], -1, 1, 3);
    const want = await runOrt({ op: 'Add', opset: 7, inputs: [x345, b.reshape([4, 1])] }, ['f32']);
    const got = runRef({ op: 'Add', opset: 6, inputs: [x345, b], attrs: { broadcast: 1, axis: 1 } }, ['f32']);
    expect(compareTensors(got[0]!, want[0]!, { rtol: 0, atol: 0 })).toBeNull();
  });

  // onnxruntime computes integer Pow through double and saturates on overflow (undefined in C);
  // edgec wraps like every other integer op (numpy semantics): expected values by bigint math
  it('integer Pow wraps on overflow (two\'s complement)', () => {
    const base = [3n, -2n, 7n, 2n];
    const exp = [21n, 31n, 13n, 40n];
    const got = runRef({ op: 'Pow', opset: 15, inputs: [Tensor.from('i32', [4], base), Tensor.from('i64', [4], exp)] }, ['i32']);
    expect([...(got[0]!.data as Int32Array)]).toEqual(base.map((b, i) => Number(BigInt.asIntN(32, b ** exp[i]!))));
    const got64 = runRef({ op: 'Pow', opset: 15, inputs: [Tensor.from('i64', [4], base), Tensor.from('i64', [4], [45n, 63n, 23n, 64n])] }, ['i64']);
    expect([...(got64[0]!.data as BigInt64Array)]).toEqual([45n, 63n, 23n, 64n].map((e, i) => BigInt.asIntN(64, base[i]! ** e)));
  });

  // erf values from published tables (Abramowitz & Stegun 7.1; 19 significant digits)
  const ERF: [number, number][] = [
    [0.1, 0.1124629160182848922], [0.5, 0.5204998778130465377], [1, 0.8427007929497148693],
    [2, 0.9953222650189527342], [3, 0.9999779095030014146], [4, 0.9999999845827420997],
  ];
  it('Erf f64 matches tabulated values to double precision', () => {
    const xs = ERF.flatMap(([x]) => [x, -x]);
    const want = Tensor.from('f64', [xs.length], ERF.flatMap(([, y]) => [y, -y]));
    const got = runRef({ op: 'Erf', opset: 13, inputs: [Tensor.from('f64', [xs.length], xs)] }, ['f64']);
    expect(compareTensors(got[0]!, want, { rtol: 4e-16, atol: 0 })).toBeNull();
  });

  it('Gelu f64 (exact form) is 0.5 x (1 + erf(x / sqrt 2))', () => {
    const xs = ERF.map(([x]) => x * Math.SQRT2);
    const want = Tensor.from('f64', [xs.length], ERF.map(([x, e]) => 0.5 * x * Math.SQRT2 * (1 + e)));
    const got = runRef({ op: 'Gelu', opset: 20, inputs: [Tensor.from('f64', [xs.length], xs)] }, ['f64']);
    expect(compareTensors(got[0]!, want, { rtol: 1e-15, atol: 0 })).toBeNull();
  });
});

describe.each([
  ['elementwise', elementwise],
  ['activation', activation],
  ['control', control],
  ['reduce', reduce],
] as const)('%s ops vs onnxruntime', (_family, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await check(c);
  });
});
