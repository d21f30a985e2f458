/**
 * Conv, matmul, pool, norm and quant ops on the reference interpreter against onnxruntime-node,
 * for attribute combinations the ONNX node tests do not cover (groups, depthwise, dilations,
 * asymmetric pads, auto_pad variants, 1-D/3-D, ceil_mode, storage_order, old opsets, integer and
 * quantized forms, blocked quantization). Quantized ops are also checked bit for bit against an
 * independent implementation of the spec formula written here.
 */
import { describe, expect, it } from 'vitest';
import { DType, roundHalfEven } from '../../compiler/ir/dtype.js';
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

interface Case extends NodeModel {
  name: string;
  out: DType[];
  tol?: { rtol: number; atol: number };
  /** Integer outputs may differ from onnxruntime by this many units (float32 requantization there). */
  intSlack?: number;
}

async function check(c: Case): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => {
    if (c.intSlack) {
      expect(got[k]!.shape).toEqual(w.shape);
      for (let i = 0; i < w.size; i++) expect(Math.abs(got[k]!.get(i) - w.get(i))).toBeLessThanOrEqual(c.intSlack);
      return;
    }
    expect(compareTensors(got[k]!, w, c.tol ?? { rtol: 1e-5, atol: 1e-5 }), `${c.name} output ${k}`).toBeNull();
  });
}

const x4 = f32([2, 4, 9, 8], 1);
const xw = f32([2, 4, 7, 40], 149);
const conv: Case[] = [
  { name: 'Conv 2-D bias strides asym pads', op: 'Conv', opset: 11, inputs: [x4, f32([6, 4, 3, 2], 2), f32([6], 3)], attrs: { strides: [2, 1], pads: [1, 0, 2, 1] }, out: ['f32'] },
  { name: 'Conv 2-D group 2 dilations', op: 'Conv', opset: 11, inputs: [x4, f32([6, 2, 3, 3], 4)], attrs: { group: 2, dilations: [2, 3], pads: [2, 2, 2, 2] }, out: ['f32'] },
  { name: 'Conv depthwise stride 2 SAME_UPPER', op: 'Conv', opset: 11, inputs: [x4, f32([4, 1, 3, 3], 5), f32([4], 6)], attrs: { group: 4, strides: [2, 2], auto_pad: 'SAME_UPPER' }, out: ['f32'] },
  { name: 'Conv depthwise multiplier 2 SAME_LOWER', op: 'Conv', opset: 11, inputs: [x4, f32([8, 1, 4, 4], 7)], attrs: { group: 4, strides: [3, 2], auto_pad: 'SAME_LOWER' }, out: ['f32'] },
  { name: 'Conv VALID with kernel_shape', op: 'Conv', opset: 1, inputs: [x4, f32([3, 4, 2, 5], 8)], attrs: { auto_pad: 'VALID', kernel_shape: [2, 5], strides: [2, 2] }, out: ['f32'] },
  { name: 'Conv 1-D', op: 'Conv', opset: 11, inputs: [f32([2, 3, 20], 9), f32([5, 3, 4], 10), f32([5], 11)], attrs: { pads: [3, 1], strides: [2], dilations: [2] }, out: ['f32'] },
  { name: 'Conv 3-D', op: 'Conv', opset: 11, inputs: [f32([1, 2, 5, 6, 7], 12), f32([3, 2, 2, 3, 2], 13)], attrs: { pads: [1, 0, 1, 0, 2, 1], strides: [1, 2, 2] }, out: ['f32'] },
  { name: 'Conv 3x3 M=6 stride 2 dilation asym pads', op: 'Conv', opset: 11, inputs: [x4, f32([6, 4, 3, 3], 140), f32([6], 141)], attrs: { strides: [2, 2], dilations: [1, 2], pads: [0, 3, 1, 1] }, out: ['f32'] },
  { name: 'Conv 3x3 stride 3 no pads', op: 'Conv', opset: 11, inputs: [x4, f32([5, 4, 3, 3], 142)], attrs: { strides: [1, 3] }, out: ['f32'] },
  { name: 'Conv 1-D k=3 pads', op: 'Conv', opset: 11, inputs: [f32([1, 4, 12], 143), f32([9, 4, 3], 144)], attrs: { pads: [2, 0] }, out: ['f32'] },
  { name: 'Conv 3-D 3x3x3', op: 'Conv', opset: 11, inputs: [f32([1, 2, 4, 5, 6], 145), f32([4, 2, 3, 3, 3], 146)], attrs: { pads: [1, 1, 1, 1, 1, 1] }, out: ['f32'] },
  { name: 'Conv 3x3 kernel wider than input row', op: 'Conv', opset: 11, inputs: [f32([1, 4, 5, 2], 147), f32([4, 4, 3, 3], 148)], attrs: { pads: [1, 1, 1, 1] }, out: ['f32'] },
  { name: 'Conv 1x1 pointwise', op: 'Conv', opset: 11, inputs: [x4, f32([16, 4, 1, 1], 14), f32([16], 15)], out: ['f32'] },
  // output rows of 16+ elements take the row kernel; shorter ones the im2col kernel
  { name: 'Conv wide 3x3 M=6 stride 2 dilation asym pads', op: 'Conv', opset: 11, inputs: [xw, f32([6, 4, 3, 3], 150), f32([6], 151)], attrs: { strides: [2, 1], dilations: [1, 2], pads: [0, 3, 1, 1] }, out: ['f32'] },
  { name: 'Conv wide 3x3 stride 2 pads', op: 'Conv', opset: 11, inputs: [xw, f32([9, 4, 3, 3], 152)], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, out: ['f32'] },
  { name: 'Conv wide 2x5 group 2', op: 'Conv', opset: 11, inputs: [xw, f32([6, 2, 2, 5], 153)], attrs: { group: 2, pads: [1, 2, 0, 2] }, out: ['f32'] },
  { name: 'Conv wide depthwise 3x3', op: 'Conv', opset: 11, inputs: [xw, f32([4, 1, 3, 3], 154), f32([4], 155)], attrs: { group: 4, pads: [1, 1, 1, 1] }, out: ['f32'] },
  { name: 'Conv wide depthwise multiplier 2 SAME_LOWER stride 3', op: 'Conv', opset: 11, inputs: [xw, f32([8, 1, 4, 3], 156)], attrs: { group: 4, strides: [1, 2], auto_pad: 'SAME_LOWER' }, out: ['f32'] },
  { name: 'Conv wide 1x1', op: 'Conv', opset: 11, inputs: [xw, f32([7, 4, 1, 1], 157)], out: ['f32'] },
  { name: 'Conv wide 1-D k=5', op: 'Conv', opset: 11, inputs: [f32([2, 3, 50], 158), f32([5, 3, 5], 159), f32([5], 160)], attrs: { pads: [2, 2] }, out: ['f32'] },
  { name: 'Conv wide 3-D 3x3x3', op: 'Conv', opset: 11, inputs: [f32([1, 2, 3, 4, 20], 161), f32([5, 2, 3, 3, 3], 162)], attrs: { pads: [1, 0, 1, 1, 2, 1], dilations: [1, 1, 2] }, out: ['f32'] },
  { name: 'ConvTranspose stride 2 output_padding', op: 'ConvTranspose', opset: 11, inputs: [f32([2, 3, 4, 5], 18), f32([3, 2, 3, 3], 19), f32([2], 20)], attrs: { strides: [2, 2], output_padding: [1, 0], pads: [1, 1, 0, 1] }, out: ['f32'] },
  { name: 'ConvTranspose group 2 dilations', op: 'ConvTranspose', opset: 11, inputs: [f32([1, 4, 3, 4], 21), f32([4, 3, 2, 3], 22)], attrs: { group: 2, dilations: [2, 1], strides: [1, 2] }, out: ['f32'] },
  { name: 'ConvTranspose output_shape', op: 'ConvTranspose', opset: 11, inputs: [f32([1, 2, 3, 3], 23), f32([2, 2, 3, 3], 24)], attrs: { strides: [2, 2], output_shape: [8, 7] }, out: ['f32'] },
  { name: 'ConvTranspose 1-D', op: 'ConvTranspose', opset: 11, inputs: [f32([1, 2, 6], 25), f32([2, 3, 4], 26)], attrs: { strides: [3], pads: [1, 2] }, out: ['f32'] },
  { name: 'ConvTranspose depthwise', op: 'ConvTranspose', opset: 11, inputs: [f32([1, 3, 4, 4], 27), f32([3, 1, 2, 2], 28)], attrs: { group: 3, strides: [2, 2] }, out: ['f32'] },
  { name: 'ConvInteger per-channel w zero point', op: 'ConvInteger', opset: 10, inputs: [ints('u8', [1, 2, 5, 5], 0, 255, 30), ints('u8', [3, 2, 2, 2], 0, 255, 31), Tensor.from('u8', [], [117]), Tensor.from('u8', [], [128])], attrs: { pads: [1, 0, 0, 1] }, out: ['i32'] },
  { name: 'QLinearConv u8 per-tensor bias', op: 'QLinearConv', opset: 10, inputs: [ints('u8', [1, 3, 6, 6], 0, 255, 32), Tensor.from('f32', [], [0.02]), Tensor.from('u8', [], [120]), ints('u8', [4, 3, 3, 3], 0, 255, 33), Tensor.from('f32', [], [0.005]), Tensor.from('u8', [], [128]), Tensor.from('f32', [], [0.11]), Tensor.from('u8', [], [100]), ints('i32', [4], -2000, 2000, 34)], attrs: { pads: [1, 1, 1, 1] }, out: ['u8'], intSlack: 1 },
  { name: 'QLinearConv u8 wide rows', op: 'QLinearConv', opset: 10, inputs: [ints('u8', [1, 3, 4, 30], 0, 255, 37), Tensor.from('f32', [], [0.02]), Tensor.from('u8', [], [120]), ints('u8', [5, 3, 3, 3], 0, 255, 38), Tensor.from('f32', [], [0.005]), Tensor.from('u8', [], [128]), Tensor.from('f32', [], [0.11]), Tensor.from('u8', [], [100])], attrs: { pads: [1, 1, 1, 1] }, out: ['u8'], intSlack: 1 },
  { name: 'QLinearConv i8 per-channel depthwise', op: 'QLinearConv', opset: 10, inputs: [ints('i8', [1, 3, 5, 5], -128, 127, 35), Tensor.from('f32', [], [0.03]), Tensor.from('i8', [], [-5]), ints('i8', [3, 1, 3, 3], -127, 127, 36), Tensor.from('f32', [3], [0.004, 0.01, 0.002]), Tensor.from('i8', [3], [0, 0, 0]), Tensor.from('f32', [], [0.05]), Tensor.from('i8', [], [3])], attrs: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }, out: ['i8'], intSlack: 1 },
];

const matmul: Case[] = [
  { name: 'Gemm transA transB alpha beta C [N]', op: 'Gemm', opset: 11, inputs: [f32([5, 3], 40), f32([4, 5], 41), f32([4], 42)], attrs: { transA: 1, transB: 1, alpha: 0.5, beta: 2 }, floatAttrs: ['alpha', 'beta'], out: ['f32'] },
  { name: 'Gemm C [M,1]', op: 'Gemm', opset: 13, inputs: [f32([3, 6], 43), f32([6, 2], 44), f32([3, 1], 45)], out: ['f32'] },
  { name: 'Gemm no C opset 11', op: 'Gemm', opset: 11, inputs: [f32([3, 6], 46), f32([2, 6], 47)], attrs: { transB: 1 }, out: ['f32'] },
  { name: 'Gemm opset 7 scalar C', op: 'Gemm', opset: 7, inputs: [f32([2, 3], 48), f32([3, 4], 49), f32([1], 50)], attrs: { beta: 0.25 }, floatAttrs: ['beta'], out: ['f32'] },
  { name: 'Gemm f64', op: 'Gemm', opset: 13, inputs: [f64([3, 4], 51), f64([4, 5], 52), f64([3, 5], 53)], out: ['f64'], tol: { rtol: 1e-12, atol: 1e-12 } },
  { name: 'MatMul batched broadcast', op: 'MatMul', opset: 13, inputs: [f32([2, 1, 3, 4], 54), f32([3, 4, 5], 55)], out: ['f32'] },
  { name: 'MatMul 1-D x 3-D', op: 'MatMul', opset: 13, inputs: [f32([4], 56), f32([2, 4, 3], 57)], out: ['f32'] },
  { name: 'MatMul 3-D x 1-D', op: 'MatMul', opset: 13, inputs: [f32([2, 3, 4], 58), f32([4], 59)], out: ['f32'] },
  { name: 'MatMul int32', op: 'MatMul', opset: 13, inputs: [ints('i32', [3, 4], -100, 100, 60), ints('i32', [4, 2], -100, 100, 61)], out: ['i32'] },
  { name: 'MatMul int64', op: 'MatMul', opset: 13, inputs: [ints('i64', [2, 3], -100, 100, 62), ints('i64', [3, 2], -100, 100, 63)], out: ['i64'] },
  { name: 'MatMulInteger per-column b zp', op: 'MatMulInteger', opset: 10, inputs: [ints('u8', [3, 5], 0, 255, 64), ints('u8', [5, 4], 0, 255, 65), Tensor.from('u8', [], [12]), Tensor.from('u8', [4], [1, 128, 200, 0])], out: ['i32'] },
  { name: 'MatMulInteger batched i8 weights', op: 'MatMulInteger', opset: 10, inputs: [ints('u8', [2, 3, 5], 0, 255, 66), ints('i8', [5, 4], -128, 127, 67)], out: ['i32'] },
  { name: 'QLinearMatMul u8', op: 'QLinearMatMul', opset: 10, inputs: [ints('u8', [3, 6], 0, 255, 68), Tensor.from('f32', [], [0.05]), Tensor.from('u8', [], [113]), ints('u8', [6, 4], 0, 255, 69), Tensor.from('f32', [], [0.01]), Tensor.from('u8', [], [140]), Tensor.from('f32', [], [0.3]), Tensor.from('u8', [], [128])], out: ['u8'], intSlack: 1 },
  { name: 'QLinearMatMul i8 batched', op: 'QLinearMatMul', opset: 21, inputs: [ints('i8', [2, 3, 6], -128, 127, 70), Tensor.from('f32', [], [0.05]), Tensor.from('i8', [], [-3]), ints('i8', [6, 4], -128, 127, 71), Tensor.from('f32', [], [0.01]), Tensor.from('i8', [], [0]), Tensor.from('f32', [], [0.4]), Tensor.from('i8', [], [5])], out: ['i8'], intSlack: 1 },
  { name: 'Einsum matmul', op: 'Einsum', opset: 12, inputs: [f32([3, 4], 72), f32([4, 5], 73)], attrs: { equation: 'ij,jk->ik' }, out: ['f32'] },
  { name: 'Einsum batched matmul implicit', op: 'Einsum', opset: 12, inputs: [f32([2, 3, 4], 74), f32([2, 4, 5], 75)], attrs: { equation: 'bij,bjk' }, out: ['f32'] },
  { name: 'Einsum ellipsis transpose', op: 'Einsum', opset: 12, inputs: [f32([2, 3, 4, 5], 76)], attrs: { equation: '...ij->...ji' }, out: ['f32'] },
  { name: 'Einsum outer product', op: 'Einsum', opset: 12, inputs: [f32([3], 77), f32([4], 78)], attrs: { equation: 'i,j->ij' }, out: ['f32'] },
  { name: 'Einsum full reduction', op: 'Einsum', opset: 12, inputs: [f32([3, 4], 79)], attrs: { equation: 'ij->' }, out: ['f32'] },
  { name: 'Einsum trace', op: 'Einsum', opset: 12, inputs: [f32([4, 4], 80)], attrs: { equation: 'ii' }, out: ['f32'] },
  { name: 'Einsum three operands', op: 'Einsum', opset: 12, inputs: [f32([2, 3], 81), f32([3, 4], 82), f32([4, 2], 83)], attrs: { equation: 'ij,jk,kl->il' }, out: ['f32'] },
  { name: 'Einsum attention-like', op: 'Einsum', opset: 12, inputs: [f32([2, 5, 3, 4], 84), f32([2, 6, 3, 4], 85)], attrs: { equation: 'bqhd,bkhd->bhqk' }, out: ['f32'] },
];

const xp = f32([2, 3, 9, 10], 90);
const pool: Case[] = [
  { name: 'MaxPool ceil_mode strides pads', op: 'MaxPool', opset: 12, inputs: [xp], attrs: { kernel_shape: [3, 2], strides: [2, 3], pads: [1, 0, 1, 1], ceil_mode: 1 }, out: ['f32'] },
  { name: 'MaxPool dilations', op: 'MaxPool', opset: 12, inputs: [xp], attrs: { kernel_shape: [2, 3], dilations: [3, 2] }, out: ['f32'] },
  { name: 'MaxPool SAME_LOWER', op: 'MaxPool', opset: 12, inputs: [xp], attrs: { kernel_shape: [4, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' }, out: ['f32'] },
  { name: 'MaxPool Indices row-major', op: 'MaxPool', opset: 12, inputs: [xp], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, out: ['f32', 'i64'] },
  { name: 'MaxPool Indices column-major', op: 'MaxPool', opset: 12, inputs: [xp], attrs: { kernel_shape: [2, 2], strides: [2, 2], storage_order: 1 }, out: ['f32', 'i64'] },
  { name: 'MaxPool int8', op: 'MaxPool', opset: 12, inputs: [ints('i8', [1, 2, 6, 6], -128, 127, 91)], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, out: ['i8'] },
  { name: 'MaxPool 1-D', op: 'MaxPool', opset: 12, inputs: [f32([2, 3, 17], 92)], attrs: { kernel_shape: [4], strides: [3], pads: [2, 2] }, out: ['f32'] },
  { name: 'MaxPool 3-D ceil', op: 'MaxPool', opset: 12, inputs: [f32([1, 2, 5, 6, 7], 93)], attrs: { kernel_shape: [2, 2, 3], strides: [2, 2, 2], ceil_mode: 1 }, out: ['f32'] },
  { name: 'AveragePool count_include_pad ceil', op: 'AveragePool', opset: 19, inputs: [xp], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1, ceil_mode: 1 }, out: ['f32'] },
  { name: 'AveragePool exclude pad asym', op: 'AveragePool', opset: 11, inputs: [xp], attrs: { kernel_shape: [3, 4], strides: [2, 3], pads: [2, 1, 0, 3] }, out: ['f32'] },
  { name: 'AveragePool 1-D SAME_UPPER', op: 'AveragePool', opset: 11, inputs: [f32([1, 2, 11], 94)], attrs: { kernel_shape: [4], strides: [2], auto_pad: 'SAME_UPPER' }, out: ['f32'] },
  { name: 'AveragePool 3-D', op: 'AveragePool', opset: 11, inputs: [f32([1, 2, 5, 6, 7], 95)], attrs: { kernel_shape: [2, 3, 2], pads: [1, 1, 0, 0, 1, 1] }, out: ['f32'] },
  { name: 'LpPool p=3 pads', op: 'LpPool', opset: 18, inputs: [xp], attrs: { kernel_shape: [2, 3], p: 3, pads: [1, 1, 0, 1], strides: [1, 2] }, out: ['f32'] },
  { name: 'LpPool p=1 opset 11', op: 'LpPool', opset: 11, inputs: [xp], attrs: { kernel_shape: [3, 3], p: 1 }, out: ['f32'] },
  { name: 'GlobalLpPool p=3', op: 'GlobalLpPool', opset: 2, inputs: [xp], attrs: { p: 3 }, out: ['f32'] },
  { name: 'GlobalAveragePool 1-D', op: 'GlobalAveragePool', opset: 1, inputs: [f32([2, 3, 7], 96)], out: ['f32'] },
  { name: 'GlobalMaxPool 3-D', op: 'GlobalMaxPool', opset: 1, inputs: [f32([2, 3, 3, 4, 5], 97)], out: ['f32'] },
];

const xn = f32([2, 6, 5, 4], 100);
const norm: Case[] = [
  { name: 'BatchNormalization opset 9', op: 'BatchNormalization', opset: 9, inputs: [xn, f32([6], 101), f32([6], 102), f32([6], 103), f32([6], 104, 0.1, 2)], attrs: { epsilon: 1e-3 }, floatAttrs: ['epsilon'], out: ['f32'] },
  { name: 'BatchNormalization opset 7 spatial', op: 'BatchNormalization', opset: 7, inputs: [xn, f32([6], 105), f32([6], 106), f32([6], 107), f32([6], 108, 0.1, 2)], out: ['f32'] },
  { name: 'BatchNormalization opset 15 f64 3-D', op: 'BatchNormalization', opset: 15, inputs: [f64([2, 3, 7], 109), f64([3], 110), f64([3], 111), f64([3], 112), Tensor.from('f64', [3], [0.5, 1, 2])], out: ['f64'], tol: { rtol: 1e-12, atol: 1e-12 } },
  { name: 'BatchNormalization opset 7 spatial=0', op: 'BatchNormalization', opset: 7, inputs: [f32([2, 3, 4], 121), f32([3, 4], 122), f32([3, 4], 123), f32([3, 4], 124), f32([3, 4], 125, 0.1, 2)], attrs: { spatial: 0 }, out: ['f32'] },
  { name: 'GroupNormalization opset 18 (per-group scale)', op: 'GroupNormalization', opset: 18, inputs: [xn, f32([3], 126), f32([3], 127)], attrs: { num_groups: 3 }, out: ['f32'] },
  { name: 'InstanceNormalization 1-D', op: 'InstanceNormalization', opset: 6, inputs: [f32([2, 3, 11], 113), f32([3], 114), f32([3], 115)], out: ['f32'] },
  { name: 'LayerNormalization axis 1 no bias', op: 'LayerNormalization', opset: 17, inputs: [xn, f32([6, 5, 4], 116)], attrs: { axis: 1 }, out: ['f32'] },
  { name: 'LayerNormalization Mean InvStdDev', op: 'LayerNormalization', opset: 17, inputs: [xn, f32([4], 117), f32([4], 118)], attrs: { epsilon: 0.01 }, floatAttrs: ['epsilon'], out: ['f32', 'f32', 'f32'] },
  { name: 'GroupNormalization opset 21', op: 'GroupNormalization', opset: 21, inputs: [xn, f32([6], 119), f32([6], 120)], attrs: { num_groups: 3 }, out: ['f32'] },
  { name: 'LRN size 3', op: 'LRN', opset: 13, inputs: [xn], attrs: { size: 3, alpha: 0.01, beta: 0.5, bias: 2 }, floatAttrs: ['alpha', 'beta', 'bias'], out: ['f32'] },
  { name: 'LRN size 5', op: 'LRN', opset: 13, inputs: [xn], attrs: { size: 5 }, out: ['f32'] },
  { name: 'MeanVarianceNormalization default axes', op: 'MeanVarianceNormalization', opset: 13, inputs: [xn], out: ['f32'] },
  { name: 'MeanVarianceNormalization axes [1]', op: 'MeanVarianceNormalization', opset: 13, inputs: [xn], attrs: { axes: [1] }, out: ['f32'] },
];

const xq = f32([2, 3, 4, 4], 130, -4, 4);
const quant: Case[] = [
  { name: 'QuantizeLinear per-axis int8', op: 'QuantizeLinear', opset: 13, inputs: [xq, Tensor.from('f32', [3], [0.02, 0.05, 0.013]), Tensor.from('i8', [3], [-3, 0, 10])], out: ['i8'] },
  { name: 'QuantizeLinear axis 3', op: 'QuantizeLinear', opset: 13, inputs: [xq, Tensor.from('f32', [4], [0.02, 0.05, 0.013, 0.1]), Tensor.from('u8', [4], [128, 0, 10, 255])], attrs: { axis: 3 }, out: ['u8'] },
  { name: 'QuantizeLinear no zero point (u8)', op: 'QuantizeLinear', opset: 13, inputs: [xq, Tensor.from('f32', [], [0.031])], out: ['u8'] },
  { name: 'QuantizeLinear blocked', op: 'QuantizeLinear', opset: 21, inputs: [f32([2, 6, 3], 131), f32([2, 3, 3], 132, 0.01, 0.05), ints('i8', [2, 3, 3], -10, 10, 133)], attrs: { axis: 1, block_size: 2 }, out: ['i8'] },
  { name: 'QuantizeLinear uint16', op: 'QuantizeLinear', opset: 21, inputs: [xq, Tensor.from('f32', [], [0.0001]), Tensor.from('u16', [], [30000])], out: ['u16'] },
  // onnxruntime divides in float32; the spec divides in the scale's precision (float16 here), so a
  // quotient that rounds to a float16 tie may land one unit away
  { name: 'QuantizeLinear f16 input', op: 'QuantizeLinear', opset: 19, inputs: [Tensor.from('f16', [8], rand(8, -3, 3, 134)), Tensor.from('f16', [], [0.02]), Tensor.from('i8', [], [1])], out: ['i8'], intSlack: 1 },
  { name: 'DequantizeLinear per-axis', op: 'DequantizeLinear', opset: 13, inputs: [ints('i8', [2, 3, 4], -128, 127, 135), Tensor.from('f32', [3], [0.02, 0.05, 0.013]), Tensor.from('i8', [3], [-3, 0, 10])], out: ['f32'] },
  { name: 'DequantizeLinear int32', op: 'DequantizeLinear', opset: 13, inputs: [ints('i32', [10], -100000, 100000, 136), Tensor.from('f32', [], [0.0007])], out: ['f32'] },
  { name: 'DequantizeLinear blocked', op: 'DequantizeLinear', opset: 21, inputs: [ints('u8', [2, 6, 3], 0, 255, 137), f32([2, 2, 3], 138, 0.01, 0.05), ints('u8', [2, 2, 3], 100, 150, 139)], attrs: { axis: 1, block_size: 3 }, out: ['f32'] },
  { name: 'DequantizeLinear f16 scale', op: 'DequantizeLinear', opset: 19, inputs: [ints('u8', [9], 0, 255, 140), Tensor.from('f16', [], [0.0213]), Tensor.from('u8', [], [131])], out: ['f16'] },
  { name: 'DynamicQuantizeLinear', op: 'DynamicQuantizeLinear', opset: 11, inputs: [f32([3, 7], 141, -2, 5)], out: ['u8', 'f32', 'u8'] },
  { name: 'DynamicQuantizeLinear positive only', op: 'DynamicQuantizeLinear', opset: 11, inputs: [f32([13], 142, 0.5, 3)], out: ['u8', 'f32', 'u8'] },
];

describe.each([
  ['conv', conv],
  ['matmul', matmul],
  ['pool', pool],
  ['norm', norm],
  ['quant', quant],
] as const)('%s ops vs onnxruntime', (_family, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await check(c);
  });
});

/** Independent QLinearConv per the ONNX reference: int32 conv, multiplier in float32, rint, clip. */
function qlinearConvSpec(x: Tensor, xs: number, xz: number, w: Tensor, ws: number[], wz: number[], ys: number, yz: number,
  b: number[] | null, pad: number, lo: number, hi: number): number[] {
  const [, C, H, W] = x.shape as number[];
  const [M, , KH, KW] = w.shape as number[];
  const OH = H! + 2 * pad - KH! + 1;
  const OW = W! + 2 * pad - KW! + 1;
  const out: number[] = [];
  for (let m = 0; m < M!; m++) {
    const mult = Math.fround(Math.fround(xs * ws[ws.length === 1 ? 0 : m]!) / ys);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let acc = b ? b[m]! : 0;
        for (let c = 0; c < C!; c++) {
          for (let kh = 0; kh < KH!; kh++) {
            for (let kw = 0; kw < KW!; kw++) {
              const ih = oh - pad + kh;
              const iw = ow - pad + kw;
              if (ih < 0 || iw < 0 || ih >= H! || iw >= W!) continue;
              acc += (x.get((c * H! + ih) * W! + iw) - xz) * (w.get(((m * C! + c) * KH! + kh) * KW! + kw) - wz[wz.length === 1 ? 0 : m]!);
            }
          }
        }
        out.push(Math.min(hi, Math.max(lo, roundHalfEven(acc * mult) + yz)));
      }
    }
  }
  return out;
}

describe('quantized ops are bit-exact with the spec formula', () => {
  it('QLinearConv u8 (per-tensor) and i8 (per-channel) with bias, short and long rows', () => {
    for (const [dt, lo, hi, width] of [['u8', 0, 255, 5], ['i8', -128, 127, 5], ['u8', 0, 255, 24], ['i8', -128, 127, 24]] as const) {
      const x = ints(dt, [1, 3, 6, width], lo, hi, 150);
      const w = ints(dt, [4, 3, 3, 3], lo, hi, 151);
      const ws = dt === 'u8' ? [0.0041] : [0.0041, 0.013, 0.0007, 0.0023];
      const wz = dt === 'u8' ? [131] : [0, 0, 0, 0];
      const b = [1000, -3000, 7, 0];
      const inputs = [x, Tensor.from('f32', [], [0.021]), Tensor.from(dt, [], [dt === 'u8' ? 119 : -7]), w,
        Tensor.from('f32', [ws.length], ws), Tensor.from(dt, [wz.length], wz), Tensor.from('f32', [], [0.087]),
        Tensor.from(dt, [], [dt === 'u8' ? 127 : 2]), Tensor.from('i32', [4], b)];
      const got = runRef({ op: 'QLinearConv', opset: 10, inputs, attrs: { pads: [1, 1, 1, 1] } }, [dt])[0]!;
      const want = qlinearConvSpec(x, 0.021, dt === 'u8' ? 119 : -7, w, ws, wz, 0.087, dt === 'u8' ? 127 : 2, b, 1, lo, hi);
      expect(got.toNumbers()).toEqual(want);
    }
  });

  it('QuantizeLinear rounds half to even and saturates', () => {
    const x = Tensor.from('f32', [8], [0.5, 1.5, 2.5, -0.5, -1.5, 300, -300, 127.5]);
    const got = runRef({ op: 'QuantizeLinear', opset: 13, inputs: [x, Tensor.from('f32', [], [1]), Tensor.from('i8', [], [0])] }, ['i8'])[0]!;
    expect(got.toNumbers()).toEqual([0, 2, 2, 0, -2, 127, -128, 127]);
  });

  it('QuantizeLinear int4 per-axis saturates to [-8, 7]', () => {
    const x = Tensor.from('f32', [2, 3], [0.1, 0.9, -2, 3, -3.1, 0.26]);
    const got = runRef({ op: 'QuantizeLinear', opset: 21, inputs: [x, Tensor.from('f32', [2], [0.1, 0.5]), Tensor.from('i4', [2], [1, -1])], attrs: { axis: 0 } }, ['i4'])[0]!;
    // x / scale rounded half to even, + zero point, clipped to [-8, 7]
    expect(got.toNumbers()).toEqual([2, 7, -8, 5, -7, 0]);
  });
});

describe('ops without an onnxruntime kernel for the case', () => {
  it('ConvInteger per-channel w zero point equals per-tensor ConvInteger per output channel', () => {
    const x = ints('u8', [1, 2, 5, 5], 0, 255, 30);
    const w = ints('u8', [3, 2, 2, 2], 0, 255, 31);
    const zps = [3, 128, 250];
    const attrs = { pads: [1, 0, 0, 1] };
    const got = runRef({ op: 'ConvInteger', opset: 10, inputs: [x, w, Tensor.from('u8', [], [117]), Tensor.from('u8', [3], zps)], attrs }, ['i32'])[0]!;
    const plane = got.size / 3;
    for (let m = 0; m < 3; m++) {
      const wm = new Tensor('u8', [1, 2, 2, 2], (w.data as Uint8Array).slice(m * 8, (m + 1) * 8));
      const one = runRef({ op: 'ConvInteger', opset: 10, inputs: [x, wm, Tensor.from('u8', [], [117]), Tensor.from('u8', [], [zps[m]!])], attrs }, ['i32'])[0]!;
      expect(got.toNumbers().slice(m * plane, (m + 1) * plane)).toEqual(one.toNumbers());
    }
  });

  it('Conv f64 equals float32 Conv of the same values to float32 precision', async () => {
    const x = f64([1, 2, 6, 6], 16);
    const w = f64([2, 2, 3, 3], 17);
    const attrs = { pads: [1, 1, 1, 1] };
    const got = runRef({ op: 'Conv', opset: 11, inputs: [x, w], attrs }, ['f64'])[0]!;
    const toF32 = (t: Tensor) => Tensor.from('f32', t.shape, t.toNumbers());
    const want = (await runOrt({ op: 'Conv', opset: 11, inputs: [toF32(x), toF32(w)], attrs }, ['f32']))[0]!;
    expect(compareTensors(toF32(got), want, { rtol: 1e-5, atol: 1e-5 })).toBeNull();
  });

  it('LRN even size sums channels [c - floor((size-1)/2), c + ceil((size-1)/2)]', () => {
    const x = f32([1, 5, 1, 2], 160);
    const got = runRef({ op: 'LRN', opset: 13, inputs: [x], attrs: { size: 4 } }, ['f32'])[0]!;
    const v = x.toNumbers();
    for (let c = 0; c < 5; c++) {
      for (let s = 0; s < 2; s++) {
        let sq = 0;
        for (let k = Math.max(0, c - 1); k <= Math.min(4, c + 2); k++) sq += v[k * 2 + s]! ** 2;
        expect(got.get(c * 2 + s)).toBeCloseTo(v[c * 2 + s]! / (1 + (1e-4 / 4) * sq) ** 0.75, 6);
      }
    }
  });
});

describe('attribute validation raises EdgecError', () => {
  const bad: [string, NodeModel][] = [
    ['Conv zero stride', { op: 'Conv', opset: 11, inputs: [x4, f32([2, 4, 3, 3], 2)], attrs: { strides: [0, 1] } }],
    ['Conv group 0', { op: 'Conv', opset: 11, inputs: [x4, f32([2, 4, 3, 3], 2)], attrs: { group: 0 } }],
    ['Conv negative dilation', { op: 'Conv', opset: 11, inputs: [x4, f32([2, 4, 3, 3], 2)], attrs: { dilations: [-1, 1] } }],
    ['Conv wrong pads length', { op: 'Conv', opset: 11, inputs: [x4, f32([2, 4, 3, 3], 2)], attrs: { pads: [1, 1] } }],
    ['Conv channel mismatch', { op: 'Conv', opset: 11, inputs: [x4, f32([2, 3, 3, 3], 2)] }],
    ['Conv group does not divide channels', { op: 'Conv', opset: 11, inputs: [x4, f32([3, 4, 3, 3], 2)], attrs: { group: 3 } }],
    ['MaxPool missing kernel_shape', { op: 'MaxPool', opset: 12, inputs: [x4] }],
    ['MaxPool kernel larger than input', { op: 'MaxPool', opset: 12, inputs: [x4], attrs: { kernel_shape: [20, 2] } }],
    ['LayerNormalization axis out of range', { op: 'LayerNormalization', opset: 17, inputs: [x4, f32([8], 3)], attrs: { axis: 4 } }],
    ['Gemm inner dims differ', { op: 'Gemm', opset: 13, inputs: [f32([2, 3], 1), f32([4, 2], 2)] }],
    ['MatMul inner dims differ', { op: 'MatMul', opset: 13, inputs: [f32([2, 3], 1), f32([4, 2], 2)] }],
    ['QuantizeLinear axis out of range', { op: 'QuantizeLinear', opset: 13, inputs: [xq, Tensor.from('f32', [3], [1, 1, 1])], attrs: { axis: 7 } }],
    ['Einsum bad equation', { op: 'Einsum', opset: 12, inputs: [f32([2, 2], 1)], attrs: { equation: 'i$->i' } }],
    ['LRN missing size', { op: 'LRN', opset: 13, inputs: [x4] }],
  ];
  it.each(bad)('%s', (_n, m) => {
    let err: unknown;
    try {
      runRef(m, ['f32']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
  });
});
