/**
 * Shape / data-movement ops (family C) on the reference interpreter against onnxruntime-node, for
 * the opsets, dtypes and attribute combinations the ONNX node tests do not cover.
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
const iota = (dt: DType, shape: number[]) =>
  Tensor.from(dt, shape, Array.from({ length: numelOf(shape) }, (_, i) => (dt === 'i64' || dt === 'u64' ? BigInt(i) : i)));
const i64 = (v: (number | bigint)[]) => Tensor.from('i64', [v.length], v.map((x) => BigInt(x)));
const i64s = (v: number | bigint) => Tensor.from('i64', [], [BigInt(v)]);
const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

interface Case extends NodeModel {
  name: string;
  out: DType[];
  tol?: { rtol: number; atol: number };
}

async function check(c: Case): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => {
    expect(compareTensors(got[k]!, w, c.tol ?? { rtol: 1e-6, atol: 1e-6 }), `${c.name} output ${k}`).toBeNull();
  });
}

const x234 = f32([2, 3, 4]);
const x2345 = f32([2, 3, 4, 5], -3, 3, 5);

const reshape: Case[] = [
  { name: 'Reshape opset 1 shape attribute', op: 'Reshape', opset: 1, inputs: [x234], attrs: { shape: [4, -1] }, out: ['f32'] },
  { name: 'Reshape opset 5 shape input with 0 and -1', op: 'Reshape', opset: 5, inputs: [x234], consts: { 1: i64([0, -1, 2]) }, out: ['f32'] },
  { name: 'Reshape opset 13 shape as runtime input', op: 'Reshape', opset: 13, inputs: [x234, i64([3, 8])], out: ['f32'] },
  { name: 'Reshape opset 14 allowzero on empty', op: 'Reshape', opset: 14, inputs: [Tensor.zeros('f32', [0, 3]), i64([3, 0])], attrs: { allowzero: 1 }, out: ['f32'] },
  { name: 'Reshape int64 data', op: 'Reshape', opset: 14, inputs: [iota('i64', [2, 6]), i64([-1])], out: ['i64'] },
  { name: 'Reshape string data', op: 'Reshape', opset: 14, inputs: [new Tensor('string', [2, 2], ['a', 'b', 'c', 'd']), i64([4])], out: ['string'] },
  { name: 'Flatten opset 1 axis 2', op: 'Flatten', opset: 1, inputs: [x2345], attrs: { axis: 2 }, out: ['f32'] },
  { name: 'Flatten opset 11 axis -1', op: 'Flatten', opset: 11, inputs: [x2345], attrs: { axis: -1 }, out: ['f32'] },
  { name: 'Flatten opset 13 axis 0 int8', op: 'Flatten', opset: 13, inputs: [iota('i8', [2, 3, 4])], attrs: { axis: 0 }, out: ['i8'] },
  { name: 'Squeeze opset 1 axes attribute', op: 'Squeeze', opset: 1, inputs: [f32([1, 3, 1, 2])], attrs: { axes: [0, 2] }, out: ['f32'] },
  { name: 'Squeeze opset 11 negative axis', op: 'Squeeze', opset: 11, inputs: [f32([3, 1, 2, 1])], attrs: { axes: [-1] }, out: ['f32'] },
  { name: 'Squeeze opset 13 no axes squeezes all ones', op: 'Squeeze', opset: 13, inputs: [f32([1, 3, 1, 2])], out: ['f32'] },
  { name: 'Squeeze opset 13 axes input', op: 'Squeeze', opset: 13, inputs: [f32([1, 3, 1, 2]), i64([2])], out: ['f32'] },
  { name: 'Unsqueeze opset 1 axes attribute', op: 'Unsqueeze', opset: 1, inputs: [f32([3, 2])], attrs: { axes: [0, 3] }, out: ['f32'] },
  { name: 'Unsqueeze opset 11 negative axes', op: 'Unsqueeze', opset: 11, inputs: [f32([3, 2])], attrs: { axes: [-1, 1] }, out: ['f32'] },
  { name: 'Unsqueeze opset 13 scalar to 1-D bool', op: 'Unsqueeze', opset: 13, inputs: [Tensor.from('bool', [], [1]), i64([0])], out: ['bool'] },
];

const movement: Case[] = [
  { name: 'Transpose default reverses', op: 'Transpose', opset: 13, inputs: [x2345], out: ['f32'] },
  { name: 'Transpose perm 0,2,3,1', op: 'Transpose', opset: 1, inputs: [x2345], attrs: { perm: [0, 2, 3, 1] }, out: ['f32'] },
  { name: 'Transpose bool 2-D', op: 'Transpose', opset: 13, inputs: [Tensor.from('bool', [2, 3], [1, 0, 0, 1, 1, 0])], out: ['bool'] },
  { name: 'Transpose int64 perm 1,0,2', op: 'Transpose', opset: 13, inputs: [iota('i64', [2, 3, 2])], attrs: { perm: [1, 0, 2] }, out: ['i64'] },
  { name: 'Concat opset 4 axis 1 three inputs', op: 'Concat', opset: 4, inputs: [f32([2, 1, 3]), f32([2, 4, 3], -1, 1, 3), f32([2, 2, 3], -1, 1, 4)], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Concat opset 11 axis -1 int32', op: 'Concat', opset: 11, inputs: [iota('i32', [2, 2]), iota('i32', [2, 3])], attrs: { axis: -1 }, out: ['i32'] },
  { name: 'Concat with an empty input', op: 'Concat', opset: 13, inputs: [f32([2, 0]), f32([2, 3])], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Split opset 2 split attribute', op: 'Split', opset: 2, inputs: [f32([2, 6])], attrs: { axis: 1, split: [1, 2, 3] }, outputs: 3, out: ['f32', 'f32', 'f32'] },
  { name: 'Split opset 11 equal negative axis', op: 'Split', opset: 11, inputs: [f32([4, 6])], attrs: { axis: -2 }, out: ['f32', 'f32'] },
  { name: 'Split opset 13 split input', op: 'Split', opset: 13, inputs: [iota('i64', [7])], consts: { 1: i64([3, 4]) }, out: ['i64', 'i64'] },
  { name: 'Split opset 18 num_outputs uneven', op: 'Split', opset: 18, inputs: [f32([2, 11])], attrs: { axis: 1, num_outputs: 4 }, out: ['f32', 'f32', 'f32', 'f32'] },
  { name: 'Expand to higher rank', op: 'Expand', opset: 13, inputs: [f32([3, 1]), i64([2, 1, 4])], out: ['f32'] },
  { name: 'Expand with smaller shape (bidirectional)', op: 'Expand', opset: 8, inputs: [f32([2, 3, 1]), i64([1, 5])], out: ['f32'] },
  { name: 'Expand int64', op: 'Expand', opset: 13, inputs: [iota('i64', [1, 3]), i64([2, 3])], out: ['i64'] },
  { name: 'Tile opset 6', op: 'Tile', opset: 6, inputs: [f32([2, 3]), i64([2, 3])], out: ['f32'] },
  { name: 'Tile opset 13 uint8 with a zero repeat', op: 'Tile', opset: 13, inputs: [iota('u8', [2, 2]), i64([0, 2])], out: ['u8'] },
  { name: 'Tile 3-D', op: 'Tile', opset: 13, inputs: [f32([1, 2, 3]), i64([3, 1, 2])], out: ['f32'] },
];

const slice: Case[] = [
  { name: 'Slice opset 1 attributes', op: 'Slice', opset: 1, inputs: [x2345], attrs: { starts: [1, 0], ends: [3, -1], axes: [1, 3] }, out: ['f32'] },
  { name: 'Slice opset 1 default axes', op: 'Slice', opset: 1, inputs: [x234], attrs: { starts: [0, 1], ends: [1, 1000] }, out: ['f32'] },
  { name: 'Slice opset 10 negative step', op: 'Slice', opset: 10, inputs: [x234], consts: { 1: i64([-1]), 2: i64([-1000]), 3: i64([2]), 4: i64([-1]) }, out: ['f32'] },
  { name: 'Slice opset 13 INT64 max/min with step -2', op: 'Slice', opset: 13, inputs: [iota('i32', [10])], consts: { 1: i64([I64_MAX]), 2: i64([I64_MIN]), 3: i64([0]), 4: i64([-2]) }, out: ['i32'] },
  { name: 'Slice opset 13 step 3 from start beyond end', op: 'Slice', opset: 13, inputs: [iota('i32', [10]), i64([-100]), i64([I64_MAX]), i64([0]), i64([3])], out: ['i32'] },
  { name: 'Slice opset 13 runtime starts/ends, negative axes', op: 'Slice', opset: 13, inputs: [x2345, i64([1, -3]), i64([2, 5]), i64([-3, -1])], out: ['f32'] },
  { name: 'Slice empty result', op: 'Slice', opset: 13, inputs: [x234], consts: { 1: i64([3]), 2: i64([1]), 3: i64([2]) }, out: ['f32'] },
  { name: 'Slice int64 data', op: 'Slice', opset: 13, inputs: [iota('i64', [4, 4])], consts: { 1: i64([1, 1]), 2: i64([4, 4]), 3: i64([0, 1]), 4: i64([2, 2]) }, out: ['i64'] },
];

const pad: Case[] = [
  { name: 'Pad opset 2 pads/value attributes', op: 'Pad', opset: 2, inputs: [f32([2, 3])], attrs: { pads: [1, 0, 0, 2], value: 1.5 }, floatAttrs: ['value'], out: ['f32'] },
  { name: 'Pad opset 2 reflect', op: 'Pad', opset: 2, inputs: [f32([3, 4])], attrs: { pads: [0, 2, 0, 3], mode: 'reflect' }, out: ['f32'] },
  { name: 'Pad opset 11 edge', op: 'Pad', opset: 11, inputs: [f32([2, 3])], consts: { 1: i64([1, 2, 2, 1]) }, attrs: { mode: 'edge' }, out: ['f32'] },
  { name: 'Pad opset 13 constant value input int64', op: 'Pad', opset: 13, inputs: [iota('i64', [2, 2]), i64([0, 1, 1, 0]), i64s(-7)], out: ['i64'] },
  { name: 'Pad opset 13 negative pads crop', op: 'Pad', opset: 13, inputs: [f32([3, 4]), i64([-1, 1, 0, -2])], out: ['f32'] },
  { name: 'Pad opset 18 axes input', op: 'Pad', opset: 18, inputs: [f32([2, 3, 4]), i64([1, 2]), Tensor.scalar('f32', 9), i64([-1])], out: ['f32'] },
  { name: 'Pad opset 19 wrap', op: 'Pad', opset: 19, inputs: [f32([2, 3])], consts: { 1: i64([1, 2, 1, 2]) }, attrs: { mode: 'wrap' }, out: ['f32'] },
  { name: 'Pad opset 13 reflect 3-D', op: 'Pad', opset: 13, inputs: [f32([2, 3, 4])], consts: { 1: i64([0, 1, 2, 0, 2, 3]) }, attrs: { mode: 'reflect' }, out: ['f32'] },
  { name: 'Pad uint8 constant', op: 'Pad', opset: 13, inputs: [iota('u8', [2, 2]), i64([1, 1, 1, 1]), Tensor.from('u8', [], [200])], out: ['u8'] },
];

const gather: Case[] = [
  { name: 'Gather axis 1 negative int32 indices', op: 'Gather', opset: 13, inputs: [x234, Tensor.from('i32', [2, 2], [-1, 0, 2, -3])], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Gather scalar index axis -1', op: 'Gather', opset: 11, inputs: [x234, i64s(3)], attrs: { axis: -1 }, out: ['f32'] },
  { name: 'Gather opset 1 int64 data', op: 'Gather', opset: 1, inputs: [iota('i64', [5]), i64([4, 0, 4])], out: ['i64'] },
  { name: 'GatherElements axis 1', op: 'GatherElements', opset: 13, inputs: [x234, Tensor.from('i64', [2, 2, 4], [0, 1, 2, -1, 2, 2, 0, 0, -3, 1, 1, 0, 2, 0, 1, 2].map(BigInt))], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'GatherElements axis -1 int32 indices', op: 'GatherElements', opset: 11, inputs: [iota('i32', [3, 3]), Tensor.from('i32', [3, 2], [0, 2, 1, -1, 2, 0])], attrs: { axis: -1 }, out: ['i32'] },
  { name: 'GatherND tuples', op: 'GatherND', opset: 11, inputs: [x234, Tensor.from('i64', [3, 2], [0, 1, 1, -1, 0, 0].map(BigInt))], out: ['f32'] },
  { name: 'GatherND full index', op: 'GatherND', opset: 13, inputs: [x234, Tensor.from('i64', [2, 3], [0, 1, 2, 1, 2, 3].map(BigInt))], out: ['f32'] },
  { name: 'GatherND batch_dims 1', op: 'GatherND', opset: 12, inputs: [x234, Tensor.from('i64', [2, 2, 1], [0, 2, 1, 1].map(BigInt))], attrs: { batch_dims: 1 }, out: ['f32'] },
  { name: 'GatherND batch_dims 2', op: 'GatherND', opset: 13, inputs: [x234, Tensor.from('i64', [2, 3, 1], [0, 3, 1, 2, 2, 0].map(BigInt))], attrs: { batch_dims: 2 }, out: ['f32'] },
];

const idxE = Tensor.from('i64', [2, 2, 4], [0, 1, 2, -1, 2, 2, 0, 0, -3, 1, 1, 0, 2, 0, 1, 2].map(BigInt));
const scatter: Case[] = [
  { name: 'ScatterElements opset 11 axis 1', op: 'ScatterElements', opset: 11, inputs: [x234, Tensor.from('i64', [2, 1, 4], [0, 1, 2, -1, 2, 0, 1, 0].map(BigInt)), f32([2, 1, 4], -9, 9, 4)], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'ScatterElements opset 16 add duplicates', op: 'ScatterElements', opset: 16, inputs: [x234, idxE, f32([2, 2, 4], -9, 9, 4)], attrs: { axis: 1, reduction: 'add' }, out: ['f32'], tol: { rtol: 1e-6, atol: 1e-5 } },
  { name: 'ScatterElements opset 16 mul', op: 'ScatterElements', opset: 16, inputs: [x234, idxE, f32([2, 2, 4], -2, 2, 4)], attrs: { axis: 1, reduction: 'mul' }, out: ['f32'], tol: { rtol: 1e-6, atol: 1e-5 } },
  { name: 'ScatterElements opset 18 max', op: 'ScatterElements', opset: 18, inputs: [x234, idxE, f32([2, 2, 4], -9, 9, 4)], attrs: { axis: 1, reduction: 'max' }, out: ['f32'] },
  { name: 'ScatterElements opset 18 min int32', op: 'ScatterElements', opset: 18, inputs: [iota('i32', [3, 3]), Tensor.from('i64', [2, 3], [0, 1, 2, 2, 1, 0].map(BigInt)), Tensor.from('i32', [2, 3], [-5, 9, 1, 3, -2, 0])], attrs: { axis: 0, reduction: 'min' }, out: ['i32'] },
  { name: 'ScatterND opset 11 slices', op: 'ScatterND', opset: 11, inputs: [x234, Tensor.from('i64', [2, 1], [1, 0].map(BigInt)), f32([2, 3, 4], -9, 9, 6)], out: ['f32'] },
  { name: 'ScatterND opset 13 elements with negative index', op: 'ScatterND', opset: 13, inputs: [x234, Tensor.from('i64', [2, 3], [0, -1, 3, 1, 0, 0].map(BigInt)), f32([2], -9, 9, 6)], out: ['f32'] },
  { name: 'ScatterND opset 16 add duplicates', op: 'ScatterND', opset: 16, inputs: [x234, Tensor.from('i64', [3, 2], [0, 1, 0, 1, 1, 2].map(BigInt)), f32([3, 4], -9, 9, 6)], attrs: { reduction: 'add' }, out: ['f32'], tol: { rtol: 1e-6, atol: 1e-5 } },
  { name: 'ScatterND opset 16 mul int64', op: 'ScatterND', opset: 16, inputs: [iota('i64', [4]), Tensor.from('i64', [2, 1], [3, 3].map(BigInt)), i64([5, 7])], attrs: { reduction: 'mul' }, out: ['i64'] },
  { name: 'ScatterND opset 18 max/min', op: 'ScatterND', opset: 18, inputs: [x234, Tensor.from('i64', [2, 2], [0, 1, 1, 2].map(BigInt)), f32([2, 4], -9, 9, 6)], attrs: { reduction: 'max' }, out: ['f32'] },
  { name: 'ScatterND opset 18 min', op: 'ScatterND', opset: 18, inputs: [x234, Tensor.from('i64', [2, 2], [0, 1, 1, 2].map(BigInt)), f32([2, 4], -9, 9, 6)], attrs: { reduction: 'min' }, out: ['f32'] },
];

const misc: Case[] = [
  { name: 'Shape opset 1', op: 'Shape', opset: 1, inputs: [x2345], out: ['i64'] },
  { name: 'Shape opset 15 start -3 end -1', op: 'Shape', opset: 15, inputs: [x2345], attrs: { start: -3, end: -1 }, out: ['i64'] },
  { name: 'Size', op: 'Size', opset: 13, inputs: [x2345], out: ['i64'] },
  { name: 'Size of empty', op: 'Size', opset: 1, inputs: [f32([3, 0])], out: ['i64'] },
  { name: 'ConstantOfShape default float 0', op: 'ConstantOfShape', opset: 9, inputs: [i64([2, 3])], out: ['f32'] },
  { name: 'ConstantOfShape int64 value', op: 'ConstantOfShape', opset: 9, inputs: [i64([3])], attrs: { value: Tensor.from('i64', [1], [-5n]) }, out: ['i64'] },
  { name: 'ConstantOfShape scalar output', op: 'ConstantOfShape', opset: 20, inputs: [Tensor.zeros('i64', [0])], attrs: { value: Tensor.from('i32', [1], [7]) }, out: ['i32'] },
  { name: 'Range float', op: 'Range', opset: 11, inputs: [Tensor.scalar('f32', 1.5), Tensor.scalar('f32', 7.2), Tensor.scalar('f32', 0.7)], out: ['f32'] },
  { name: 'Range int32 negative delta', op: 'Range', opset: 11, inputs: [Tensor.scalar('i32', 10), Tensor.scalar('i32', -3), Tensor.scalar('i32', -4)], out: ['i32'] },
  { name: 'Range int64 empty', op: 'Range', opset: 11, inputs: [i64s(5), i64s(5), i64s(1)], out: ['i64'] },
  { name: 'Range int64', op: 'Range', opset: 11, inputs: [i64s(-7), i64s(20), i64s(3)], out: ['i64'] },
  { name: 'NonZero float', op: 'NonZero', opset: 13, inputs: [Tensor.from('f32', [2, 3], [0, 1.5, 0, -2, 0, NaN])], out: ['i64'] },
  { name: 'NonZero bool 3-D', op: 'NonZero', opset: 9, inputs: [Tensor.from('bool', [2, 2, 2], [1, 0, 0, 1, 1, 1, 0, 0])], out: ['i64'] },
  { name: 'DepthToSpace opset 1', op: 'DepthToSpace', opset: 1, inputs: [f32([1, 8, 2, 3])], attrs: { blocksize: 2 }, out: ['f32'] },
  { name: 'DepthToSpace opset 13 CRD blocksize 3', op: 'DepthToSpace', opset: 13, inputs: [f32([2, 18, 2, 2])], attrs: { blocksize: 3, mode: 'CRD' }, out: ['f32'] },
  { name: 'DepthToSpace opset 11 DCR', op: 'DepthToSpace', opset: 11, inputs: [f32([2, 8, 3, 2])], attrs: { blocksize: 2, mode: 'DCR' }, out: ['f32'] },
  { name: 'SpaceToDepth blocksize 3', op: 'SpaceToDepth', opset: 13, inputs: [f32([2, 2, 6, 3])], attrs: { blocksize: 3 }, out: ['f32'] },
  { name: 'OneHot default axis negative indices', op: 'OneHot', opset: 11, inputs: [Tensor.from('i64', [2, 2], [0n, -1n, 3n, 7n]), i64s(4), Tensor.from('f32', [2], [-1, 5])], out: ['f32'] },
  { name: 'OneHot axis 0 int32 indices float depth', op: 'OneHot', opset: 11, inputs: [Tensor.from('i32', [3], [2, 0, 1]), Tensor.scalar('f32', 3), Tensor.from('f32', [2], [0, 1])], attrs: { axis: 0 }, out: ['f32'] },
  { name: 'OneHot opset 9 axis 1 float indices', op: 'OneHot', opset: 9, inputs: [Tensor.from('f32', [2, 2], [1, 0, 2, 1]), Tensor.from('f32', [1], [3]), Tensor.from('f32', [2], [0, 1])], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Trilu upper default', op: 'Trilu', opset: 14, inputs: [f32([3, 4])], out: ['f32'] },
  { name: 'Trilu upper k=-1 batch', op: 'Trilu', opset: 14, inputs: [f32([2, 4, 3]), i64s(-1)], out: ['f32'] },
  { name: 'Trilu lower k=1 int64', op: 'Trilu', opset: 14, inputs: [iota('i64', [3, 5]), i64s(1)], attrs: { upper: 0 }, out: ['i64'] },
  { name: 'Trilu lower k=-5 (all zero)', op: 'Trilu', opset: 14, inputs: [f32([3, 3]), i64s(-5)], attrs: { upper: 0 }, out: ['f32'] },
];

describe.each([
  ['reshape/flatten/squeeze', reshape],
  ['transpose/concat/split/expand/tile', movement],
  ['slice', slice],
  ['pad', pad],
  ['gather', gather],
  ['scatter', scatter],
  ['shape/size/range/nonzero/depth/onehot/trilu', misc],
])('ops family C vs onnxruntime: %s', (_n, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await check(c);
  });
});
