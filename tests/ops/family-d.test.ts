/**
 * Family D ops (bitwise, BitCast, CumProd, Shrink, LpNormalization, Scatter, ReverseSequence,
 * MaxUnpool, Det, Compress, Unique, CenterCropPad, Col2Im, NegativeLogLikelihoodLoss,
 * SoftmaxCrossEntropyLoss) on the reference interpreter against onnxruntime-node, for shapes,
 * dtypes and attributes the ONNX node tests do not cover. Ops newer than onnxruntime's opsets
 * (BitCast, CumProd) are checked against independent naive code written here.
 */
import { describe, expect, it } from 'vitest';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
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
const f32 = (shape: number[], seed = 1, lo = -3, hi = 3) => Tensor.from('f32', shape, rand(numelOf(shape), lo, hi, seed));
const f64 = (shape: number[], seed = 1) => Tensor.from('f64', shape, rand(numelOf(shape), -3, 3, seed));
const ints = (dt: DType, shape: number[], lo: number, hi: number, seed = 2) =>
  Tensor.from(dt, shape, rand(numelOf(shape), lo, hi + 1, seed).map((v) => Math.floor(v)));
const i64 = (shape: number[], v: number[]) => Tensor.from('i64', shape, v.map((x) => BigInt(x)));
const bool = (v: number[]) => Tensor.from('bool', [v.length], v);

interface Case extends NodeModel {
  name: string;
  out: DType[];
  tol?: { rtol: number; atol: number };
}

async function check(c: Case): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => {
    expect(compareTensors(got[k]!, w, c.tol ?? { rtol: 1e-5, atol: 1e-6 }), `${c.name} output ${k}`).toBeNull();
  });
}

const u64big = Tensor.from('u64', [4], [0xffff_ffff_ffff_fff0n, 0x8000_0000_0000_0001n, 12345678901234567n, 0n]);
const i64big = Tensor.from('i64', [4], [-9_000_000_000_000_000_001n, 0x7fff_ffff_ffff_0f0fn, -1n, 3n]);

const bitwise: Case[] = [
  { name: 'BitwiseAnd i32 broadcast', op: 'BitwiseAnd', opset: 18, inputs: [ints('i32', [3, 4], -(2 ** 31), 2 ** 31 - 1, 1), ints('i32', [4], -(2 ** 31), 2 ** 31 - 1, 2)], out: ['i32'] },
  { name: 'BitwiseOr u32', op: 'BitwiseOr', opset: 18, inputs: [ints('u32', [2, 5], 0, 2 ** 32 - 1, 3), ints('u32', [2, 1], 0, 2 ** 32 - 1, 4)], out: ['u32'] },
  { name: 'BitwiseXor i16', op: 'BitwiseXor', opset: 18, inputs: [ints('i16', [7], -32768, 32767, 5), ints('i16', [7], -32768, 32767, 6)], out: ['i16'] },
  { name: 'BitwiseAnd u64 high bits', op: 'BitwiseAnd', opset: 18, inputs: [u64big, Tensor.from('u64', [1], [0xf0f0_f0f0_f0f0_f0f0n])], out: ['u64'] },
  { name: 'BitwiseXor i64 high bits', op: 'BitwiseXor', opset: 18, inputs: [i64big, Tensor.from('i64', [1], [-0x0123_4567_89ab_cdefn])], out: ['i64'] },
  { name: 'BitwiseNot i8', op: 'BitwiseNot', opset: 18, inputs: [ints('i8', [9], -128, 127, 7)], out: ['i8'] },
  { name: 'BitwiseNot u32', op: 'BitwiseNot', opset: 18, inputs: [ints('u32', [9], 0, 2 ** 32 - 1, 8)], out: ['u32'] },
  { name: 'BitwiseNot u64', op: 'BitwiseNot', opset: 18, inputs: [u64big], out: ['u64'] },
];

const misc: Case[] = [
  { name: 'Shrink f32 lambd bias', op: 'Shrink', opset: 9, inputs: [f32([4, 5], 10)], attrs: { lambd: 1.25, bias: 0.5 }, floatAttrs: ['lambd', 'bias'], out: ['f32'] },
  { name: 'Shrink i32 (truncated)', op: 'Shrink', opset: 9, inputs: [ints('i32', [12], -6, 6, 11)], attrs: { lambd: 1.5, bias: 0.25 }, out: ['i32'] },
  { name: 'Shrink f64 defaults', op: 'Shrink', opset: 9, inputs: [f64([11], 12)], out: ['f64'] },
  { name: 'LpNormalization p=1 axis 1', op: 'LpNormalization', opset: 1, inputs: [f32([3, 4, 5], 13)], attrs: { p: 1, axis: 1 }, out: ['f32'] },
  { name: 'LpNormalization p=2 axis 0 f64', op: 'LpNormalization', opset: 1, inputs: [f64([4, 3], 14)], attrs: { axis: 0 }, out: ['f64'] },
  { name: 'Scatter opset 10 axis 1', op: 'Scatter', opset: 10, inputs: [f32([3, 5], 15), i64([3, 2], [4, 0, 1, 2, 3, 3]), f32([3, 2], 16)], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Scatter opset 9 axis 0 i32', op: 'Scatter', opset: 9, inputs: [ints('i32', [4, 3], -9, 9, 17), i64([2, 3], [3, 0, 2, 1, 1, 0]), ints('i32', [2, 3], 10, 20, 18)], out: ['i32'] },
  { name: 'ReverseSequence defaults (time 0, batch 1), 3-D', op: 'ReverseSequence', opset: 10, inputs: [f32([5, 3, 2], 19), i64([3], [5, 0, 3])], out: ['f32'] },
  { name: 'ReverseSequence batch 0 time 1 i64', op: 'ReverseSequence', opset: 10, inputs: [ints('i64', [3, 4, 2], -50, 50, 20), i64([3], [2, 4, 1])], attrs: { batch_axis: 0, time_axis: 1 }, out: ['i64'] },
  { name: 'Det 4x4 batch f32', op: 'Det', opset: 11, inputs: [f32([2, 3, 4, 4], 21)], out: ['f32'], tol: { rtol: 1e-4, atol: 1e-5 } },
  { name: 'Det 3x3 batch f32', op: 'Det', opset: 11, inputs: [f32([5, 3, 3], 22)], out: ['f32'], tol: { rtol: 1e-4, atol: 1e-5 } },
  { name: 'Compress axis 1 short condition', op: 'Compress', opset: 11, inputs: [f32([2, 5, 3], 23), bool([1, 0, 1, 1])], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'Compress flattened i64', op: 'Compress', opset: 11, inputs: [ints('i64', [3, 3], -5, 5, 24), bool([0, 1, 1, 0, 0, 1, 1, 1, 0])], out: ['i64'] },
  { name: 'Compress negative axis', op: 'Compress', opset: 11, inputs: [f32([2, 3, 4], 25), bool([0, 1, 0, 1])], attrs: { axis: -1 }, out: ['f32'] },
  { name: 'CenterCropPad crop one axis, pad another (odd)', op: 'CenterCropPad', opset: 18, inputs: [f32([7, 4, 2], 26)], consts: { 1: i64([2], [4, 9]) }, attrs: { axes: [0, 1] }, out: ['f32'] },
  { name: 'CenterCropPad all axes i32', op: 'CenterCropPad', opset: 18, inputs: [ints('i32', [5, 6], -9, 9, 27)], consts: { 1: i64([2], [8, 3]) }, out: ['i32'] },
  { name: 'Col2Im 2-D strides dilations pads', op: 'Col2Im', opset: 18, inputs: [f32([2, 12, 16], 28)], consts: { 1: i64([2], [6, 7]), 2: i64([2], [2, 3]) }, attrs: { strides: [2, 1], dilations: [1, 2], pads: [1, 0, 1, 1] }, out: ['f32'] },
];

/** MaxUnpool is checked with the Indices onnxruntime's MaxPool returns (flat over N, C and space). */
async function maxUnpoolCase(shape: number[], attrs: Record<string, number[]>, seed: number): Promise<void> {
  const x = f32(shape, seed);
  const [y, idx] = await runOrt({ op: 'MaxPool', opset: 12, inputs: [x], attrs }, ['f32', 'i64']);
  const c: Case = { name: 'MaxUnpool', op: 'MaxUnpool', opset: 11, inputs: [y!, idx!], attrs, out: ['f32'] };
  await check(c);
}

const w5 = Tensor.from('f32', [5], [0.5, 1.5, 1, 2, 0.25]);
const target = (shape: number[], seed: number, ignore?: number) => {
  const t = ints('i64', shape, 0, 4, seed);
  if (ignore === undefined) return t;
  return Tensor.from('i64', shape, t.toNumbers().map((v, i) => BigInt(i % 3 === 1 ? ignore : v)));
};
const losses: Case[] = [
  { name: 'NLL mean [N,C]', op: 'NegativeLogLikelihoodLoss', opset: 13, inputs: [f32([6, 5], 30), target([6], 31)], out: ['f32'] },
  { name: 'NLL sum weights [N,C,d1,d2]', op: 'NegativeLogLikelihoodLoss', opset: 13, inputs: [f32([2, 5, 3, 2], 32), target([2, 3, 2], 33), w5], attrs: { reduction: 'sum' }, out: ['f32'] },
  { name: 'NLL none weights ignore_index', op: 'NegativeLogLikelihoodLoss', opset: 13, inputs: [f32([3, 5, 4], 34), target([3, 4], 35, 2), w5], attrs: { reduction: 'none', ignore_index: 2 }, out: ['f32'] },
  { name: 'NLL mean weights ignore_index (out of range)', op: 'NegativeLogLikelihoodLoss', opset: 13, inputs: [f64([4, 5, 3], 36), target([4, 3], 37, -7), Tensor.from('f64', [5], [0.5, 1.5, 1, 2, 0.25])], attrs: { ignore_index: -7 }, out: ['f64'] },
  { name: 'SCE mean', op: 'SoftmaxCrossEntropyLoss', opset: 13, inputs: [f32([7, 5], 38), target([7], 39)], out: ['f32', 'f32'] },
  { name: 'SCE none weights 4-D with log_prob', op: 'SoftmaxCrossEntropyLoss', opset: 13, inputs: [f32([2, 5, 3, 2], 40), target([2, 3, 2], 41), w5], attrs: { reduction: 'none' }, out: ['f32', 'f32'] },
  { name: 'SCE mean ignore_index no weights', op: 'SoftmaxCrossEntropyLoss', opset: 13, inputs: [f32([3, 5, 4], 42, -20, 20), target([3, 4], 43, 1)], attrs: { ignore_index: 1 }, out: ['f32'] },
  { name: 'SCE sum weights ignore_index f64', op: 'SoftmaxCrossEntropyLoss', opset: 13, inputs: [f64([4, 5], 44), target([4], 45, 0), Tensor.from('f64', [5], [0.5, 1.5, 1, 2, 0.25])], attrs: { reduction: 'sum', ignore_index: 0 }, out: ['f64', 'f64'] },
];

describe.each([
  ['bitwise', bitwise],
  ['shape and misc', misc],
  ['losses', losses],
] as const)('family D %s ops vs onnxruntime', (_family, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await check(c);
  });
});

describe('family D ops vs onnxruntime (composite setups)', () => {
  it('MaxUnpool of MaxPool indices, 2-D with strides and pads, N and C > 1', async () => {
    await maxUnpoolCase([2, 3, 6, 7], { kernel_shape: [2, 3], strides: [2, 2], pads: [0, 1, 0, 1] }, 50);
  });
  it('MaxUnpool 1-D', async () => {
    await maxUnpoolCase([1, 2, 9], { kernel_shape: [3], strides: [3] }, 51);
  });

  it('Unique sorted / unsorted, with and without axis', async () => {
    const x = Tensor.from('f32', [10], [3, 1, 2, 3, -1, 2, 7, 1, 1, 0]);
    const m = Tensor.from('i64', [3, 4], [1, 0, 1, 0, 2, 2, 1, 2, 1, 0, 1, 0].map(BigInt));
    const out: DType[] = ['f32', 'i64', 'i64', 'i64'];
    await check({ name: 'Unique sorted', op: 'Unique', opset: 11, inputs: [x], out });
    await check({ name: 'Unique unsorted', op: 'Unique', opset: 11, inputs: [x], attrs: { sorted: 0 }, out });
    await check({ name: 'Unique axis 0', op: 'Unique', opset: 11, inputs: [m], attrs: { axis: 0 }, out: ['i64', 'i64', 'i64', 'i64'] });
    await check({ name: 'Unique axis 1 unsorted', op: 'Unique', opset: 11, inputs: [m], attrs: { axis: 1, sorted: 0 }, out: ['i64', 'i64', 'i64', 'i64'] });
  });

  it('LpNormalization of a zero slice gives 0 (ONNX test data, onnxruntime)', async () => {
    const x = Tensor.from('f32', [2, 3], [0, 0, 0, 3, 4, 0]);
    await check({ name: 'LpNormalization zero', op: 'LpNormalization', opset: 1, inputs: [x], out: ['f32'] });
  });
});

/** Little-endian bytes of each element as a DataView would write them (independent of tensorBits). */
function bytesOf(t: Tensor): number[] {
  const out: number[] = [];
  const dv = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i]!;
    switch (t.dtype) {
      case 'f32': dv.setFloat32(0, v as number, true); out.push(...new Uint8Array(dv.buffer, 0, 4)); break;
      case 'f64': dv.setFloat64(0, v as number, true); out.push(...new Uint8Array(dv.buffer, 0, 8)); break;
      case 'i32': dv.setInt32(0, v as number, true); out.push(...new Uint8Array(dv.buffer, 0, 4)); break;
      case 'u32': dv.setUint32(0, v as number, true); out.push(...new Uint8Array(dv.buffer, 0, 4)); break;
      case 'i16': dv.setInt16(0, v as number, true); out.push(...new Uint8Array(dv.buffer, 0, 2)); break;
      case 'u16': dv.setUint16(0, v as number, true); out.push(...new Uint8Array(dv.buffer, 0, 2)); break;
      case 'i64': dv.setBigInt64(0, v as bigint, true); out.push(...new Uint8Array(dv.buffer, 0, 8)); break;
      case 'u64': dv.setBigUint64(0, v as bigint, true); out.push(...new Uint8Array(dv.buffer, 0, 8)); break;
      case 'i8': out.push((v as number) & 255); break;
      case 'u8': case 'bool': out.push(v as number); break;
      default: throw new Error(`bytesOf: ${t.dtype}`);
    }
  }
  return out;
}

describe('BitCast (opset 26) against DataView byte reinterpretation', () => {
  const cases: [DType, number, Tensor][] = [
    ['i32', 6, Tensor.from('f32', [2, 3], [1, -2.5, 0, -0, Infinity, 3.4e38])],
    ['f32', 1, Tensor.from('u32', [4], [0x3f800000, 0x7f800000, 0xc0490fdb, 1])],
    ['i64', 7, Tensor.from('f64', [3], [Math.PI, -1e300, 5e-324])],
    ['f64', 11, Tensor.from('u64', [2], [0x400921fb54442d18n, 0x8000000000000000n])],
    ['u8', 2, Tensor.from('i8', [4], [-1, -128, 127, 0])],
    ['i16', 5, Tensor.from('u16', [3], [65535, 32768, 1])],
    ['u32', 12, Tensor.from('i32', [2], [-1, -2147483648])],
  ];
  it.each(cases.map((c) => [`${c[2].dtype} -> ${c[0]}`, c] as const))('%s', (_n, [to, onnxTo, x]) => {
    const got = runRef({ op: 'BitCast', opset: 26, inputs: [x], attrs: { to: onnxTo } }, [to])[0]!;
    expect(got.dtype).toBe(to);
    expect(got.shape).toEqual(x.shape);
    expect(bytesOf(got)).toEqual(bytesOf(x));
  });

  it('f16 <-> i16 uses the IEEE half encoding', () => {
    const x = Tensor.from('f16', [4], [1, -2, 65504, 2 ** -24]);
    const got = runRef({ op: 'BitCast', opset: 26, inputs: [x], attrs: { to: 5 } }, ['i16'])[0]!;
    expect(got.toNumbers()).toEqual([0x3c00, 0xc000 - 0x10000, 0x7bff, 1]);
    const back = runRef({ op: 'BitCast', opset: 26, inputs: [got], attrs: { to: 10 } }, ['f16'])[0]!;
    expect(back.toNumbers()).toEqual(x.toNumbers());
  });

  it('rejects different widths and strings with a typed error', () => {
    expect(() => runRef({ op: 'BitCast', opset: 26, inputs: [f32([2], 1)], attrs: { to: 7 } }, ['i64'])).toThrow(EdgecError);
    expect(() => runRef({ op: 'BitCast', opset: 26, inputs: [f32([2], 1)], attrs: { to: 8 } }, ['string'])).toThrow(EdgecError);
  });
});

/** Naive cumulative product along `axis` (exclusive / reverse), exact integers via BigInt wrap. */
function cumprodNaive(x: Tensor, axis: number, exclusive: boolean, reverse: boolean, bits: number, signed: boolean): bigint[] {
  const shape = x.shape;
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const res = new Array<bigint>(x.size).fill(0n);
  const wrap = (v: bigint) => (signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const ks = Array.from({ length: n }, (_, q) => (reverse ? n - 1 - q : q));
      let p = 1n;
      for (const k of ks) {
        const at = (o * n + k) * inner + j;
        if (exclusive) { res[at] = p; p = wrap(p * x.getBig(at)); } else { p = wrap(p * x.getBig(at)); res[at] = p; }
      }
    }
  }
  return res;
}

describe('CumProd (opset 26) against naive code', () => {
  const axisT = (a: number) => Tensor.from('i64', [], [BigInt(a)]);
  it.each([
    ['i32', 32, true], ['u32', 32, false], ['i64', 64, true], ['u64', 64, false], ['i8', 8, true], ['u16', 16, false],
  ] as const)('%s wraps exactly at every step', (dt, bits, signed) => {
    const x = ints(dt, [3, 7, 2], signed ? -200000 : 0, 200000, 60 + bits);
    for (const [axis, exclusive, reverse] of [[1, 0, 0], [1, 1, 0], [0, 0, 1], [-1, 1, 1]] as const) {
      const got = runRef({ op: 'CumProd', opset: 26, inputs: [x, axisT(axis)], attrs: { exclusive, reverse } }, [dt])[0]!;
      const want = cumprodNaive(x, axis < 0 ? axis + 3 : axis, exclusive === 1, reverse === 1, bits, signed);
      expect(Array.from({ length: got.size }, (_, i) => got.getBig(i))).toEqual(want);
    }
  });

  it('f64 matches a float64 running product', () => {
    const x = f64([4, 5], 70);
    const got = runRef({ op: 'CumProd', opset: 26, inputs: [x, axisT(1)], attrs: { reverse: 1 } }, ['f64'])[0]!;
    for (let r = 0; r < 4; r++) {
      let p = 1;
      for (let c = 4; c >= 0; c--) {
        p *= x.get(r * 5 + c);
        expect(got.get(r * 5 + c)).toBe(p);
      }
    }
  });
});

/** Determinant by cofactor expansion along the first row (independent of the LU kernel). */
function cofactorDet(m: number[][]): number {
  const n = m.length;
  if (n === 1) return m[0]![0]!;
  let d = 0;
  for (let c = 0; c < n; c++) {
    const minor = m.slice(1).map((row) => row.filter((_, k) => k !== c));
    d += (c % 2 === 0 ? 1 : -1) * m[0]![c]! * cofactorDet(minor);
  }
  return d;
}

describe('Det f64 (onnxruntime has no double kernel) against cofactor expansion', () => {
  it.each([1, 2, 3, 5])('%i x %i, batch of 3, with a singular matrix', (n) => {
    const vals = rand(3 * n * n, -3, 3, 80 + n);
    if (n > 1) for (let k = 0; k < n; k++) vals[2 * n * n + n + k] = 2 * vals[2 * n * n + k]!; // row 1 = 2 * row 0
    const x = Tensor.from('f64', [3, n, n], vals);
    const got = runRef({ op: 'Det', opset: 11, inputs: [x] }, ['f64'])[0]!;
    expect(got.shape).toEqual([3]);
    for (let b = 0; b < 3; b++) {
      const m = Array.from({ length: n }, (_, r) => vals.slice(b * n * n + r * n, b * n * n + (r + 1) * n));
      expect(got.get(b)).toBeCloseTo(cofactorDet(m), 10);
    }
  });
});

describe('family D input validation', () => {
  it('NLL rejects a target outside [0, C) that is not ignore_index', () => {
    const m = { op: 'NegativeLogLikelihoodLoss', opset: 13, inputs: [f32([2, 3], 1), i64([2], [0, 3])] };
    expect(() => runRef(m, ['f32'])).toThrow(/target 3 is outside/);
  });
  it('Col2Im rejects a block count that does not match the image', () => {
    const m = { op: 'Col2Im', opset: 18, inputs: [f32([1, 4, 5], 1)], consts: { 1: i64([2], [3, 3]), 2: i64([2], [2, 2]) } };
    expect(() => runRef(m, ['f32'])).toThrow(EdgecError);
  });
  it('Det rejects non-square matrices', () => {
    expect(() => runRef({ op: 'Det', opset: 11, inputs: [f32([2, 3], 1)] }, ['f32'])).toThrow(/square/);
  });
  it('ReverseSequence rejects a sequence length past the time axis', () => {
    expect(() => runRef({ op: 'ReverseSequence', opset: 10, inputs: [f32([3, 2], 1), i64([2], [4, 1])] }, ['f32'])).toThrow(EdgecError);
  });
});
