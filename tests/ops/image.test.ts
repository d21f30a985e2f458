/**
 * Image ops (Resize, Upsample, GridSample, AffineGrid) on the reference interpreter against
 * onnxruntime-node, for modes and opsets the ONNX node tests do not cover.
 */
import { describe, expect, it } from 'vitest';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { NodeModel, runOrt, runRef } from './ort-oracle.js';

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
const i64 = (v: number[]) => Tensor.from('i64', [v.length], v.map((x) => BigInt(x)));
const fl = (v: number[]) => Tensor.from('f32', [v.length], v);
const empty = Tensor.zeros('f32', [0]);

interface Case extends NodeModel {
  name: string;
  out: DType[];
  tol?: { rtol: number; atol: number };
}

async function check(c: Case): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => {
    expect(compareTensors(got[k]!, w, c.tol ?? { rtol: 1e-5, atol: 1e-5 }), `${c.name} output ${k}`).toBeNull();
  });
}

const x44 = f32([1, 2, 4, 4]);
const x35 = f32([2, 1, 3, 5], -3, 3, 7);

const resize: Case[] = [
  { name: 'opset 10 nearest upsample', op: 'Resize', opset: 10, inputs: [x35], consts: { 1: fl([1, 1, 2, 1.5]) }, out: ['f32'] },
  { name: 'opset 10 nearest downsample', op: 'Resize', opset: 10, inputs: [x44], consts: { 1: fl([1, 1, 0.5, 0.75]) }, out: ['f32'] },
  { name: 'opset 10 linear upsample', op: 'Resize', opset: 10, inputs: [x35], consts: { 1: fl([1, 1, 2, 2]) }, attrs: { mode: 'linear' }, out: ['f32'] },
  { name: 'opset 11 nearest half_pixel sizes', op: 'Resize', opset: 11, inputs: [x35], consts: { 1: empty, 2: empty, 3: i64([2, 1, 7, 8]) }, out: ['f32'] },
  { name: 'opset 11 nearest tf_half_pixel_for_nn', op: 'Resize', opset: 11, inputs: [x35], consts: { 1: empty, 2: fl([1, 1, 2, 1.6]) }, attrs: { coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, out: ['f32'] },
  { name: 'opset 11 nearest asymmetric floor', op: 'Resize', opset: 11, inputs: [x35], consts: { 1: empty, 2: fl([1, 1, 3, 2]) }, attrs: { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, out: ['f32'] },
  { name: 'opset 13 nearest align_corners round_prefer_ceil', op: 'Resize', opset: 13, inputs: [x35, null, null], consts: { 3: i64([2, 1, 5, 9]) }, attrs: { coordinate_transformation_mode: 'align_corners', nearest_mode: 'round_prefer_ceil' }, out: ['f32'] },
  { name: 'opset 13 nearest ceil downsample', op: 'Resize', opset: 13, inputs: [x44, null], consts: { 2: fl([1, 1, 0.5, 0.75]) }, attrs: { nearest_mode: 'ceil' }, out: ['f32'] },
  { name: 'opset 13 linear half_pixel upsample', op: 'Resize', opset: 13, inputs: [x35, null], consts: { 2: fl([1, 1, 2, 3]) }, attrs: { mode: 'linear' }, out: ['f32'] },
  { name: 'opset 13 linear half_pixel downsample', op: 'Resize', opset: 13, inputs: [x44, null], consts: { 2: fl([1, 1, 0.5, 0.5]) }, attrs: { mode: 'linear' }, out: ['f32'] },
  { name: 'opset 13 linear align_corners sizes', op: 'Resize', opset: 13, inputs: [x35, null, null], consts: { 3: i64([2, 1, 7, 4]) }, attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, out: ['f32'] },
  { name: 'opset 13 linear asymmetric', op: 'Resize', opset: 13, inputs: [x35, null], consts: { 2: fl([1, 1, 2, 2]) }, attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, out: ['f32'] },
  { name: 'opset 13 linear pytorch_half_pixel sizes', op: 'Resize', opset: 13, inputs: [x44, null, null], consts: { 3: i64([1, 2, 3, 1]) }, attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, out: ['f32'] },
  { name: 'opset 13 cubic half_pixel upsample', op: 'Resize', opset: 13, inputs: [x35, null], consts: { 2: fl([1, 1, 2, 2]) }, attrs: { mode: 'cubic' }, out: ['f32'] },
  { name: 'opset 13 cubic A=-0.5 exclude_outside', op: 'Resize', opset: 13, inputs: [x44, null], consts: { 2: fl([1, 1, 1.5, 1.5]) }, attrs: { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }, floatAttrs: ['cubic_coeff_a'], out: ['f32'] },
  { name: 'opset 13 cubic asymmetric downsample', op: 'Resize', opset: 13, inputs: [x44, null], consts: { 2: fl([1, 1, 0.5, 0.75]) }, attrs: { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' }, out: ['f32'] },
  { name: 'opset 13 tf_crop_and_resize linear extrapolation', op: 'Resize', opset: 13, inputs: [x44], consts: { 1: fl([0, 0, -0.2, 0.3, 1, 1, 0.8, 1.4]), 3: i64([1, 2, 3, 5]) }, attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 10 }, floatAttrs: ['extrapolation_value'], out: ['f32'] },
  { name: 'opset 13 nearest uint8', op: 'Resize', opset: 13, inputs: [Tensor.from('u8', [1, 1, 2, 3], [0, 50, 100, 150, 200, 250]), null], consts: { 2: fl([1, 1, 2, 2]) }, out: ['u8'] },
  { name: 'opset 13 linear uint8 truncates', op: 'Resize', opset: 13, inputs: [Tensor.from('u8', [1, 1, 2, 3], [0, 55, 100, 151, 203, 250]), null], consts: { 2: fl([1, 1, 2, 1.5]) }, attrs: { mode: 'linear' }, out: ['u8'] },
  { name: 'opset 13 linear int8', op: 'Resize', opset: 13, inputs: [Tensor.from('i8', [1, 1, 2, 3], [-100, 55, 3, -51, 127, -128]), null], consts: { 2: fl([1, 1, 2, 1.5]) }, attrs: { mode: 'linear' }, out: ['i8'] },
  { name: 'opset 18 linear antialias downsample', op: 'Resize', opset: 18, inputs: [f32([1, 1, 8, 8]), null, null], consts: { 3: i64([1, 1, 3, 5]) }, attrs: { mode: 'linear', antialias: 1 }, out: ['f32'] },
  { name: 'opset 18 cubic antialias downsample', op: 'Resize', opset: 18, inputs: [f32([1, 1, 8, 8]), null], consts: { 2: fl([1, 1, 0.5, 0.5]) }, attrs: { mode: 'cubic', antialias: 1 }, out: ['f32'] },
  { name: 'opset 18 axes [3, 2] scales', op: 'Resize', opset: 18, inputs: [x35, null], consts: { 2: fl([2, 3]) }, attrs: { axes: [3, 2], mode: 'linear' }, out: ['f32'] },
  { name: 'opset 18 keep_aspect_ratio not_larger', op: 'Resize', opset: 18, inputs: [x35, null, null], consts: { 3: i64([7, 7]) }, attrs: { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, out: ['f32'] },
  { name: 'opset 18 keep_aspect_ratio not_smaller linear', op: 'Resize', opset: 18, inputs: [x35, null, null], consts: { 3: i64([7, 7]) }, attrs: { axes: [2, 3], mode: 'linear', keep_aspect_ratio_policy: 'not_smaller' }, out: ['f32'] },
  { name: 'opset 19 half_pixel_symmetric linear', op: 'Resize', opset: 19, inputs: [x35, null], consts: { 2: fl([1, 1, 1.7, 2.5]) }, attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, out: ['f32'] },
  { name: 'opset 13 linear 5-D trilinear', op: 'Resize', opset: 13, inputs: [f32([1, 1, 2, 3, 2]), null], consts: { 2: fl([1, 1, 2, 2, 2]) }, attrs: { mode: 'linear' }, out: ['f32'] },
  { name: 'Upsample opset 7 nearest scales attribute', op: 'Upsample', opset: 7, inputs: [x35], attrs: { scales: [1, 1, 2, 3] }, floatAttrs: ['scales'], out: ['f32'] },
  { name: 'Upsample opset 9 linear scales input', op: 'Upsample', opset: 9, inputs: [x35], consts: { 1: fl([1, 1, 2, 2.5]) }, attrs: { mode: 'linear' }, out: ['f32'] },
  { name: 'Upsample opset 9 nearest fractional', op: 'Upsample', opset: 9, inputs: [x35], consts: { 1: fl([1, 1, 1.5, 1.5]) }, out: ['f32'] },
];

/** Grid of normalized coordinates including points outside [-1, 1]. */
const grid2 = f32([2, 3, 4, 2], -1.3, 1.3, 11);
const gsX = f32([2, 2, 3, 5], -3, 3, 12);
const gridSample: Case[] = [];
for (const mode of ['bilinear', 'nearest', 'bicubic']) {
  for (const padding of ['zeros', 'border', 'reflection']) {
    for (const align of [0, 1]) {
      gridSample.push({
        name: `opset 16 ${mode} ${padding} align_corners=${align}`, op: 'GridSample', opset: 16, inputs: [gsX, grid2],
        attrs: { mode, padding_mode: padding, align_corners: align }, out: ['f32'],
      });
    }
  }
}
gridSample.push(
  { name: 'opset 20 linear 2-D', op: 'GridSample', opset: 20, inputs: [gsX, grid2], attrs: { mode: 'linear', padding_mode: 'border' }, out: ['f32'] },
  { name: 'opset 20 linear 3-D zeros', op: 'GridSample', opset: 20, inputs: [f32([1, 2, 3, 4, 2], -3, 3, 13), f32([1, 2, 3, 2, 3], -1.2, 1.2, 14)], attrs: { mode: 'linear' }, out: ['f32'] },
  { name: 'opset 20 nearest 3-D border', op: 'GridSample', opset: 20, inputs: [f32([1, 2, 3, 4, 2], -3, 3, 13), f32([1, 2, 3, 2, 3], -1.2, 1.2, 14)], attrs: { mode: 'nearest', padding_mode: 'border', align_corners: 1 }, out: ['f32'] },
  { name: 'opset 20 cubic 2-D reflection', op: 'GridSample', opset: 20, inputs: [gsX, grid2], attrs: { mode: 'cubic', padding_mode: 'reflection', align_corners: 1 }, out: ['f32'] },
);

const affine: Case[] = [
  { name: 'AffineGrid 2-D', op: 'AffineGrid', opset: 20, inputs: [f32([2, 2, 3], -1, 1, 3)], consts: { 1: i64([2, 3, 4, 5]) }, out: ['f32'] },
  { name: 'AffineGrid 2-D align_corners', op: 'AffineGrid', opset: 20, inputs: [f32([2, 2, 3], -1, 1, 3)], consts: { 1: i64([2, 3, 4, 5]) }, attrs: { align_corners: 1 }, out: ['f32'] },
  { name: 'AffineGrid 3-D', op: 'AffineGrid', opset: 20, inputs: [f32([1, 3, 4], -1, 1, 4)], consts: { 1: i64([1, 1, 2, 3, 4]) }, out: ['f32'] },
];

describe.each([
  ['Resize/Upsample', resize],
  ['GridSample', gridSample],
  ['AffineGrid', affine],
])('image ops vs onnxruntime: %s', (_n, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await check(c);
  });
});
