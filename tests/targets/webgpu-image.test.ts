/**
 * Differential tests of the WebGPU lowerings of the image, pooling, signal and generator ops
 * (targets/webgpu/ops/image.ts, pool.ts, conv.ts Col2Im, norm.ts LRN, signal.ts) on graphs built in
 * code: each graph is compiled for webgpu, run through its model.mjs on the `webgpu` package
 * (SwiftShader in CI) and compared with the reference interpreter. Shape parameters given as
 * runtime inputs (Resize scales / sizes, DFT axis, STFT frame_step, window sizes...) get the
 * static output shape the model would declare; the reference computes from the input values.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { compareTensors } from '../helpers/compare.js';
import { checkersOn, cubicResizeGraph, graphOf, oneNodeGraph as oneNode, tensorOf } from './cases.js';
import { randomTensor } from './wasm-helpers.js';
import { gpuAvailable, runOnWebgpu } from './webgpu-helpers.js';

const gpu = await gpuAvailable('webgpu-image');

const { check, checkWith } = checkersOn(runOnWebgpu);
const f32 = (shape: number[], v: number[]) => tensorOf('f32', shape, v);
const i64 = (shape: number[], v: number[]) => tensorOf('i64', shape, v);
const i32 = (shape: number[], v: number[]) => tensorOf('i32', shape, v);

describe.skipIf(!gpu)('webgpu pooling (3-D, LpPool, MaxPool Indices, MaxUnpool)', () => {
  it('MaxPool / AveragePool on 5-D inputs: pads, strides, dilations, ceil_mode, count_include_pad', async () => {
    await check(graphOf((b) => {
      const x = b.input('x', 'f32', [1, 2, 5, 6, 7]);
      b.output(
        b.node('MaxPool', [x], { kernel_shape: [2, 3, 2], strides: [2, 1, 2], pads: [1, 0, 1, 0, 1, 1], dilations: [1, 2, 1] }),
        b.node('AveragePool', [x], { kernel_shape: [3, 2, 3], strides: [2, 2, 2], pads: [1, 1, 1, 1, 1, 1], ceil_mode: 1 }),
        b.node('AveragePool', [x], { kernel_shape: [3, 3, 3], strides: [2, 2, 2], pads: [1, 1, 1, 1, 0, 1], count_include_pad: 1, ceil_mode: 1 }),
      );
    }, 19));
  });
  it('MaxPool Indices output (storage_order 0 and 1, 2-D and 3-D)', async () => {
    for (const storage_order of [0, 1]) {
      await check(graphOf((b) => {
        const x2 = b.input('x2', 'f32', [2, 3, 6, 7]);
        const x3 = b.input('x3', 'f32', [1, 2, 4, 5, 6]);
        const [v2, i2] = b.nodeN('MaxPool', [x2], 2, { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], storage_order });
        const [v3, i3] = b.nodeN('MaxPool', [x3], 2, { kernel_shape: [2, 2, 3], dilations: [1, 2, 1], storage_order });
        b.output(v2!, i2!, v3!, i3!);
      }, 12));
    }
  });
  it('LpPool p = 1, 2, 3 in 1-D, 2-D and 3-D', async () => {
    await check(graphOf((b) => {
      const x1 = b.input('x1', 'f32', [2, 3, 9]);
      const x2 = b.input('x2', 'f32', [1, 2, 6, 7]);
      const x3 = b.input('x3', 'f32', [1, 2, 4, 5, 4]);
      b.output(
        b.node('LpPool', [x1], { kernel_shape: [3], p: 3, strides: [2] }),
        b.node('LpPool', [x2], { kernel_shape: [2, 3], p: 2, pads: [1, 1, 0, 1], dilations: [2, 1] }),
        b.node('LpPool', [x3], { kernel_shape: [2, 2, 2], p: 1, auto_pad: 'SAME_UPPER' }),
      );
    }, 18));
  });
});

describe.skipIf(!gpu)('webgpu Resize (separable per-axis passes)', () => {
  const x = randomTensor([1, 2, 5, 6], 11);
  it('cubic, cubic_coeff_a, exclude_outside, asymmetric and antialias with constant scales', async () => {
    await check(cubicResizeGraph(), 1e-3, 1e-4);
  });
  it('runtime scales (linear, half_pixel_symmetric) and runtime sizes (nearest, not_smaller, axes)', async () => {
    const a = oneNode('Resize', [{ name: 'x', t: x }, { name: '', t: x }, { name: 's', t: f32([4], [1, 1, 1.7, 0.8]) }],
      { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, [1, 2, 8, 4], 19);
    await checkWith(a.g, a.inputs);
    const s = oneNode('Resize', [{ name: 'x', t: x }, { name: '', t: x }, { name: '', t: x }, { name: 'sz', t: i64([2], [9, 7]) }],
      { mode: 'nearest', axes: [3, 2], keep_aspect_ratio_policy: 'not_smaller', nearest_mode: 'round_prefer_ceil' }, [1, 2, 8, 9], 19);
    await checkWith(s.g, s.inputs);
  });
  it('tf_crop_and_resize with a runtime roi and an extrapolation value', async () => {
    const a = oneNode('Resize', [{ name: 'x', t: x }, { name: 'roi', t: f32([8], [0, 0, 0.2, -0.1, 1, 1, 0.9, 1.3]) }, { name: 's', t: f32([4], [1, 1, 1.5, 1.5]) }],
      { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7.5 }, [1, 2, 7, 9], 19);
    await checkWith(a.g, a.inputs);
  });
});

describe.skipIf(!gpu)('webgpu signal ops and generators', () => {
  it('DFT: complex forward, rfft, inverse, irfft (axis attribute)', async () => {
    await check(graphOf((b) => {
      const xc = b.input('xc', 'f32', [2, 7, 3, 2]);
      const xr = b.input('xr', 'f32', [3, 8, 1]);
      const xh = b.input('xh', 'f32', [2, 5, 2]);
      b.output(
        b.node('DFT', [xc], { axis: 1 }),
        b.node('DFT', [xr], { axis: 1, onesided: 1 }),
        b.node('DFT', [xc], { axis: 2, inverse: 1 }),
        b.node('DFT', [xh], { axis: 1, inverse: 1, onesided: 1 }),
      );
    }, 17), 1e-3, 1e-4);
  });
  it('DFT with the axis as a runtime input (opset 20) and a constant dft_length', async () => {
    const x = randomTensor([1, 6, 6, 1], 3);
    for (const ax of [1, 2, -2]) {
      const a = oneNode('DFT', [{ name: 'x', t: x }, { name: '', t: x }, { name: 'axis', t: i64([], [ax]) }], {}, [1, 6, 6, 2]);
      await checkWith(a.g, a.inputs, 1e-3, 1e-4);
    }
    const l = oneNode('DFT', [{ name: 'x', t: x }, { name: 'len', t: i64([], [9]), constant: true }], { axis: 1 }, [1, 9, 6, 2], 17);
    await checkWith(l.g, l.inputs, 1e-3, 1e-4);
  });
  it('STFT with a window, a runtime frame_step and a runtime frame_length', async () => {
    const sig = randomTensor([2, 40, 1], 5);
    const w = oneNode('STFT', [{ name: 'x', t: sig }, { name: 'step', t: i64([], [6]) }, { name: 'w', t: randomTensor([10], 6, 0, 1) }], {}, [2, 6, 6, 2], 17);
    await checkWith(w.g, w.inputs, 1e-3, 1e-4);
    const l = oneNode('STFT', [{ name: 'x', t: sig }, { name: 'step', t: i64([], [4]) }, { name: '', t: sig }, { name: 'len', t: i64([], [9]) }], {}, [2, 8, 5, 2], 17);
    await checkWith(l.g, l.inputs, 1e-3, 1e-4);
  });
  it('Hann / Hamming / Blackman windows, Range (f32, i32), MelWeightMatrix, ConstantOfShape', async () => {
    for (const [op, periodic] of [['HannWindow', 1], ['HammingWindow', 0], ['BlackmanWindow', 1]] as const) {
      const a = oneNode(op, [{ name: 'n', t: i32([], [11]) }], { periodic }, [11], 17);
      await checkWith(a.g, a.inputs);
    }
    const r = oneNode('Range', [{ name: 's', t: f32([], [-1.5]) }, { name: 'l', t: f32([], [4]) }, { name: 'd', t: f32([], [0.75]) }], {}, [8], 17);
    await checkWith(r.g, r.inputs);
    const ri = oneNode('Range', [{ name: 's', t: i32([], [7]) }, { name: 'l', t: i32([], [-6]) }, { name: 'd', t: i32([], [-3]) }], {}, [5], 17);
    await checkWith(ri.g, ri.inputs);
    for (const [bins, len, rate, lo, hi] of [[8, 16, 8192, 0, 4096], [10, 64, 16000, 125, 7600], [5, 31, 22050, 300, 8000]] as const) {
      const m = oneNode('MelWeightMatrix', [{ name: 'b', t: i32([], [bins]) }, { name: 'l', t: i32([], [len]) }, { name: 'r', t: i32([], [rate]) },
        { name: 'lo', t: f32([], [lo]) }, { name: 'hi', t: f32([], [hi]) }], {}, [Math.floor(len / 2) + 1, bins], 17);
      await checkWith(m.g, m.inputs);
    }
    for (const value of [f32([1], [2.5]), i64([1], [-3]), Tensor.from('u8', [1], [200])]) {
      const c = oneNode('ConstantOfShape', [{ name: 'sh', t: i64([3], [2, 3, 5]) }], { value }, [2, 3, 5], 17);
      await checkWith(c.g, c.inputs);
    }
  });
});

describe.skipIf(!gpu)('webgpu LRN, Col2Im, AffineGrid', () => {
  it('LRN with even and odd sizes', async () => {
    await check(graphOf((b) => {
      const x = b.input('x', 'f32', [2, 7, 3, 2]);
      b.output(b.node('LRN', [x], { size: 4, alpha: 0.01, beta: 0.6, bias: 1.5 }), b.node('LRN', [x], { size: 3 }));
    }));
  });
  it('Col2Im 2-D and 3-D with strides, pads and dilations (runtime shapes)', async () => {
    const x2 = randomTensor([2, 3 * 6, 9], 8);
    const a = oneNode('Col2Im', [{ name: 'x', t: x2 }, { name: 'img', t: i64([2], [5, 6]) }, { name: 'blk', t: i64([2], [2, 3]) }],
      { strides: [2, 1], pads: [1, 0, 0, 1], dilations: [1, 2] }, [2, 3, 5, 6], 18);
    await checkWith(a.g, a.inputs);
    const x3 = randomTensor([1, 2 * 8, 64], 9);
    const c = oneNode('Col2Im', [{ name: 'x', t: x3 }, { name: 'img', t: i64([3], [4, 4, 4]) }, { name: 'blk', t: i64([3], [2, 2, 2]) }],
      { pads: [1, 1, 1, 0, 0, 0] }, [1, 2, 4, 4, 4], 18);
    await checkWith(c.g, c.inputs);
  });
  it('AffineGrid 2-D and 3-D, align_corners 0 and 1', async () => {
    const t2 = randomTensor([2, 2, 3], 12);
    const a = oneNode('AffineGrid', [{ name: 't', t: t2 }, { name: 'sz', t: i64([4], [2, 3, 5, 4]) }], { align_corners: 0 }, [2, 5, 4, 2]);
    await checkWith(a.g, a.inputs);
    const t3 = randomTensor([1, 3, 4], 13);
    const c = oneNode('AffineGrid', [{ name: 't', t: t3 }, { name: 'sz', t: i64([5], [1, 1, 3, 1, 4]) }], { align_corners: 1 }, [1, 3, 1, 4, 3]);
    await checkWith(c.g, c.inputs);
  });
});

describe.skipIf(!gpu)('webgpu GridSample (1-D to 3-D, cubic), RoiAlign, DeformConv', () => {
  it('GridSample: 3-D linear / nearest, 2-D cubic, 1-D linear, every padding mode', async () => {
    for (const padding_mode of ['zeros', 'border', 'reflection']) {
      await check(graphOf((b) => {
        const x3 = b.input('x3', 'f32', [1, 2, 3, 4, 5]);
        const g3 = b.input('g3', 'f32', [1, 2, 3, 2, 3]);
        const x2 = b.input('x2', 'f32', [2, 2, 4, 5]);
        const g2 = b.input('g2', 'f32', [2, 3, 4, 2]);
        const x1 = b.input('x1', 'f32', [1, 3, 6]);
        const g1 = b.input('g1', 'f32', [1, 5, 1]);
        b.output(
          b.node('GridSample', [x3, g3], { mode: 'linear', padding_mode }),
          b.node('GridSample', [x3, g3], { mode: 'nearest', padding_mode, align_corners: 1 }),
          b.node('GridSample', [x2, g2], { mode: 'cubic', padding_mode }),
          b.node('GridSample', [x2, g2], { mode: 'cubic', padding_mode, align_corners: 1 }),
          b.node('GridSample', [x1, g1], { mode: 'linear', padding_mode }),
        );
      }, 20), 1e-3, 1e-4);
    }
  });
  it('RoiAlign avg and max, half_pixel and output_half_pixel', async () => {
    const x = randomTensor([2, 3, 8, 7], 21);
    const rois = f32([3, 4], [0.5, 1, 5.5, 6, 2, 0, 3, 7.5, 1.2, 2.3, 6.1, 4.4]);
    for (const [mode, ctm, sampling_ratio] of [['avg', 'half_pixel', 0], ['max', 'output_half_pixel', 2], ['avg', 'output_half_pixel', 3]] as const) {
      const a = oneNode('RoiAlign', [{ name: 'x', t: x }, { name: 'rois', t: rois }, { name: 'bi', t: i64([3], [1, 0, 1]) }],
        { mode, coordinate_transformation_mode: ctm, sampling_ratio, output_height: 3, output_width: 2, spatial_scale: 0.9 }, [3, 3, 3, 2], 16);
      await checkWith(a.g, a.inputs, 1e-3, 1e-4);
    }
  });
  it('DeformConv 2-D with groups, offset groups, mask and bias; 1-D without', async () => {
    await check(graphOf((b, r) => {
      const x = b.input('x', 'f32', [1, 4, 5, 6]);
      const off = b.input('off', 'f32', [1, 2 * 4 * 2, 4, 3]);
      const m = b.input('m', 'f32', [1, 2 * 4, 4, 3]);
      const x1 = b.input('x1', 'f32', [2, 2, 7]);
      const off1 = b.input('off1', 'f32', [2, 3, 5]);
      b.output(
        b.node('DeformConv', [x, r('w', [6, 2, 2, 2]), off, r('bias', [6]), m], { group: 2, offset_group: 2, strides: [1, 2], pads: [1, 0, 0, 1], dilations: [2, 1] }),
        b.node('DeformConv', [x1, r('w1', [3, 2, 3]), off1], { pads: [0, 0] }),
      );
    }, 19), 1e-3, 1e-4);
  });
});

describe.skipIf(!gpu)('webgpu MaxUnpool', () => {
  it('scatter with duplicate indices (last wins), with and without output_shape', async () => {
    const x = randomTensor([1, 2, 2, 2], 31);
    // unpooled shape [1, 2, 4, 4] (kernel 2, stride 2): flat indices into all 32 elements
    const ind = i64([1, 2, 2, 2], [0, 3, 3, 15, 16, 31, 20, 20]);
    const a = oneNode('MaxUnpool', [{ name: 'x', t: x }, { name: 'i', t: ind }], { kernel_shape: [2, 2], strides: [2, 2] }, [1, 2, 4, 4], 11);
    await checkWith(a.g, a.inputs);
    const b = oneNode('MaxUnpool', [{ name: 'x', t: x }, { name: 'i', t: ind }, { name: 'sh', t: i64([4], [1, 2, 5, 6]) }],
      { kernel_shape: [2, 2], strides: [2, 2] }, [1, 2, 5, 6], 11);
    await checkWith(b.g, b.inputs);
  });
});

describe('webgpu image lowerings: errors', () => {
  it('DFT whose axis cannot give the declared output shape is unsupported', () => {
    const x = randomTensor([1, 6, 5, 1], 3);
    const a = oneNode('DFT', [{ name: 'x', t: x }, { name: '', t: x }, { name: 'axis', t: i64([], [1]) }], {}, [1, 7, 7, 2]);
    expect(() => compileWebgpu(a.g)).toThrow(/no axis gives the static output shape/);
  });
});
