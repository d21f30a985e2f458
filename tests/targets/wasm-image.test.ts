/**
 * Differential tests of the wasm image / geometry lowerings (targets/wasm/ops/image.ts, conv.ts
 * Col2Im and 3-D ConvTranspose, pool.ts MaxUnpool, norm.ts LRN, detection.ts RoiAlign and
 * DeformConv; kernels in runtime-wasm/assembly/image.ts) on graphs built in code: each graph is
 * compiled for wasm, run through its model.mjs and compared with the reference interpreter (rtol
 * 1e-3, atol 1e-5). Shape parameters given as runtime inputs (Resize scales / sizes / roi, Col2Im
 * shapes, AffineGrid size) get the static output shape a model would declare.
 */
import { describe, expect, it } from 'vitest';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { checkersOn, cubicResizeGraph, graphOf, oneNodeGraph as oneNode, tensorOf } from './cases.js';
import { randomTensor, runOnWasm } from './wasm-helpers.js';

const { check, checkWith } = checkersOn(runOnWasm);
const f32 = (shape: number[], v: number[]) => tensorOf('f32', shape, v);
const i64 = (shape: number[], v: number[]) => tensorOf('i64', shape, v);

/** Kernel ids a graph lowers to (static compile). */
async function kernelsOf(g: Graph): Promise<string[]> {
  const { lowerGraph } = await import('../../targets/wasm/lower.js');
  return lowerGraph(g).steps.map((s) => s.kernel);
}

describe('wasm Resize (general per-axis kernel)', () => {
  const x = randomTensor([1, 2, 5, 6], 11);
  it('cubic, cubic_coeff_a, exclude_outside, asymmetric and antialias with constant scales', async () => {
    await check(cubicResizeGraph(), 1e-3, 1e-4);
  });
  it('resizes leading axes and 3-D / 5-D inputs (linear, nearest, cubic)', async () => {
    await check(graphOf((b) => {
      const x3 = b.input('x3', 'f32', [2, 7, 4]);
      const x5 = b.input('x5', 'f32', [1, 3, 4, 3, 5]);
      b.output(
        b.node('Resize', [x3, null, b.const('s3', f32([3], [1.5, 0.5, 2]))], { mode: 'linear' }),
        b.node('Resize', [x5, null, b.const('s5', f32([5], [1, 2, 1.5, 1, 0.6]))], { mode: 'nearest', nearest_mode: 'ceil' }),
        b.node('Resize', [x5, null, b.const('s5c', f32([5], [1, 1, 2, 2, 1]))], { mode: 'cubic' }),
      );
    }, 19), 1e-3, 1e-4);
  });
  it('axes attribute with runtime sizes (not_larger / not_smaller) and runtime scales', async () => {
    for (const policy of ['stretch', 'not_larger', 'not_smaller']) {
      const probe = runGraph(oneNode('Resize', [{ name: 'x', t: x }, { name: '', t: x }, { name: '', t: x }, { name: 'sz', t: i64([2], [9, 4]), constant: true }],
        { mode: 'linear', axes: [3, 2], keep_aspect_ratio_policy: policy }, [1, 2, 1, 1], 19).g, [x])[0]!;
      const s = oneNode('Resize', [{ name: 'x', t: x }, { name: '', t: x }, { name: '', t: x }, { name: 'sz', t: i64([2], [9, 4]) }],
        { mode: 'linear', axes: [3, 2], keep_aspect_ratio_policy: policy }, [...probe.shape], 19);
      await checkWith(s.g, s.inputs);
    }
    const a = oneNode('Resize', [{ name: 'x', t: x }, { name: '', t: x }, { name: 's', t: f32([2], [2.2, 0.7]) }],
      { mode: 'cubic', axes: [-1, 1] }, [1, 1, 5, 13], 19);
    await checkWith(a.g, a.inputs, 1e-3, 1e-4);
  });
  it('tf_crop_and_resize with a runtime roi, an extrapolation value, linear / nearest / cubic', async () => {
    for (const mode of ['linear', 'nearest', 'cubic']) {
      const a = oneNode('Resize', [{ name: 'x', t: x }, { name: 'roi', t: f32([8], [0, 0, 0.2, -0.1, 1, 1, 0.9, 1.3]) }, { name: 's', t: f32([4], [1, 1, 1.5, 1.5]) }],
        { mode, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7.5 }, [1, 2, 7, 9], 19);
      await checkWith(a.g, a.inputs, 1e-3, 1e-4);
    }
    const ax = oneNode('Resize', [{ name: 'x', t: x }, { name: 'roi', t: f32([4], [0.6, 0.1, 0.2, 0.8]) }, { name: '', t: x }, { name: 'sz', t: i64([2], [4, 3]) }],
      { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', axes: [3, 2] }, [1, 2, 3, 4], 19);
    await checkWith(ax.g, ax.inputs);
  });
  it('plain nearest / linear Resize and Upsample keep the resize_f32 fast path', async () => {
    const g = graphOf((b) => {
      const xi = b.input('x', 'f32', [1, 2, 5, 6]);
      const s = b.const('s', f32([4], [1, 1, 2, 1.5]));
      b.output(b.node('Resize', [xi, null, s], { mode: 'linear' }), b.node('Resize', [xi, null, s], { mode: 'nearest' }));
    }, 19);
    expect(await kernelsOf(g)).toEqual(['resize_f32', 'resize_f32']);
    await check(g);
    const cubic = graphOf((b) => {
      const xi = b.input('x', 'f32', [1, 2, 5, 6]);
      b.output(b.node('Resize', [xi, null, b.const('s', f32([4], [1, 1, 2, 1.5]))], { mode: 'cubic' }));
    }, 19);
    expect(await kernelsOf(cubic)).toEqual(['resize_axis_f32', 'resize_axis_f32']);
  });
});

describe('wasm GridSample (general kernel) and AffineGrid', () => {
  it('5-D input: linear / nearest with every padding mode and align_corners', async () => {
    const x = randomTensor([2, 3, 4, 5, 3], 21);
    const grid = randomTensor([2, 3, 2, 4, 3], 22, -1.3, 1.3);
    for (const mode of ['linear', 'nearest']) {
      for (const padding_mode of ['zeros', 'border', 'reflection']) {
        for (const align_corners of [0, 1]) {
          const a = oneNode('GridSample', [{ name: 'x', t: x }, { name: 'g', t: grid }], { mode, padding_mode, align_corners }, [2, 3, 3, 2, 4]);
          await checkWith(a.g, a.inputs);
        }
      }
    }
  });
  it('cubic on 4-D inputs (opset 20 and bicubic at opset 16), every padding mode', async () => {
    const x = randomTensor([1, 2, 5, 6], 23);
    const grid = randomTensor([1, 4, 3, 2], 24, -1.4, 1.4);
    for (const padding_mode of ['zeros', 'border', 'reflection']) {
      for (const align_corners of [0, 1]) {
        const a = oneNode('GridSample', [{ name: 'x', t: x }, { name: 'g', t: grid }], { mode: 'cubic', padding_mode, align_corners }, [1, 2, 4, 3]);
        await checkWith(a.g, a.inputs, 1e-3, 1e-4);
      }
    }
    const o16 = oneNode('GridSample', [{ name: 'x', t: x }, { name: 'g', t: grid }], { mode: 'bicubic' }, [1, 2, 4, 3], 16);
    await checkWith(o16.g, o16.inputs, 1e-3, 1e-4);
  });
  it('1 spatial dim (3-D input), linear and cubic', async () => {
    const x = randomTensor([2, 3, 7], 25);
    const grid = randomTensor([2, 5, 1], 26, -1.2, 1.2);
    for (const mode of ['linear', 'cubic', 'nearest']) {
      const a = oneNode('GridSample', [{ name: 'x', t: x }, { name: 'g', t: grid }], { mode, padding_mode: 'border' }, [2, 3, 5]);
      await checkWith(a.g, a.inputs, 1e-3, 1e-4);
    }
  });
  it('AffineGrid 2-D and 3-D, align_corners 0 and 1, then GridSample on the grid', async () => {
    for (const align_corners of [0, 1]) {
      const a = oneNode('AffineGrid', [{ name: 't', t: randomTensor([2, 2, 3], 12) }, { name: 'sz', t: i64([4], [2, 3, 5, 4]) }], { align_corners }, [2, 5, 4, 2]);
      await checkWith(a.g, a.inputs);
      const c = oneNode('AffineGrid', [{ name: 't', t: randomTensor([1, 3, 4], 13) }, { name: 'sz', t: i64([5], [1, 1, 3, 1, 4]) }], { align_corners }, [1, 3, 1, 4, 3]);
      await checkWith(c.g, c.inputs);
    }
    await check(graphOf((b) => {
      const th = b.input('theta', 'f32', [1, 3, 4]);
      const x = b.input('x', 'f32', [1, 2, 3, 4, 5]);
      const grid = b.node('AffineGrid', [th, b.const('sz', i64([5], [1, 2, 2, 3, 4]))], { align_corners: 0 });
      b.output(grid, b.node('GridSample', [x, grid], { mode: 'linear' }));
    }, 20));
  });
});

describe('wasm RoiAlign and DeformConv', () => {
  const rois = f32([4, 4], [0.5, 1, 6.2, 5.5, 2, 0, 3, 7.9, -1, -1, 9, 9, 4.5, 3.3, 4.6, 3.4]);
  const bi = i64([4], [1, 0, 1, 0]);
  it('RoiAlign avg / max, half_pixel / output_half_pixel, sampling_ratio 0 and 2', async () => {
    const x = randomTensor([2, 3, 8, 7], 31);
    for (const mode of ['avg', 'max']) {
      for (const coordinate_transformation_mode of ['half_pixel', 'output_half_pixel']) {
        for (const sampling_ratio of [0, 2]) {
          const a = oneNode('RoiAlign', [{ name: 'x', t: x }, { name: 'r', t: rois }, { name: 'b', t: bi }],
            { mode, coordinate_transformation_mode, sampling_ratio, output_height: 3, output_width: 2, spatial_scale: 0.9 }, [4, 3, 3, 2], 16);
          await checkWith(a.g, a.inputs);
        }
      }
    }
  });
  it('DeformConv 2-D: groups, offset groups, mask, bias, strides, pads, dilations', async () => {
    const x = randomTensor([2, 4, 6, 5], 41);
    // group 2, offset_group 2, 3x2 kernel, stride 2x1, pads, dilation 1x2: out [2, 6, 3, 5]
    const w = randomTensor([6, 2, 3, 2], 42);
    const off = randomTensor([2, 2 * 6 * 2, 3, 5], 43, -2, 2);
    const mask = randomTensor([2, 2 * 6, 3, 5], 44, 0, 1);
    const bias = randomTensor([6], 45);
    const attrs = { group: 2, offset_group: 2, strides: [2, 1], pads: [1, 1, 0, 1], dilations: [1, 2] };
    const a = oneNode('DeformConv', [{ name: 'x', t: x }, { name: 'w', t: w, constant: true }, { name: 'o', t: off }, { name: 'b', t: bias }, { name: 'm', t: mask }], attrs, [2, 6, 3, 5], 19);
    await checkWith(a.g, a.inputs);
    const plain = oneNode('DeformConv', [{ name: 'x', t: x }, { name: 'w', t: randomTensor([3, 4, 2, 2], 46) }, { name: 'o', t: randomTensor([2, 8, 5, 4], 47, -1.5, 1.5) }], {}, [2, 3, 5, 4], 19);
    await checkWith(plain.g, plain.inputs);
  });
  it('DeformConv 1-D', async () => {
    const a = oneNode('DeformConv', [{ name: 'x', t: randomTensor([1, 2, 9], 48) }, { name: 'w', t: randomTensor([3, 2, 3], 49) },
      { name: 'o', t: randomTensor([1, 3, 7], 50, -2, 2) }], { kernel_shape: [3] }, [1, 3, 7], 19);
    await checkWith(a.g, a.inputs);
  });
});

describe('wasm Col2Im, 3-D ConvTranspose, LRN, MaxUnpool', () => {
  it('Col2Im 1-D, 2-D and 3-D with strides, pads and dilations (runtime shapes)', async () => {
    const a = oneNode('Col2Im', [{ name: 'x', t: randomTensor([2, 3 * 6, 9], 8) }, { name: 'img', t: i64([2], [5, 6]) }, { name: 'blk', t: i64([2], [2, 3]) }],
      { strides: [2, 1], pads: [1, 0, 0, 1], dilations: [1, 2] }, [2, 3, 5, 6], 18);
    await checkWith(a.g, a.inputs);
    const c = oneNode('Col2Im', [{ name: 'x', t: randomTensor([1, 2 * 8, 64], 9) }, { name: 'img', t: i64([3], [4, 4, 4]) }, { name: 'blk', t: i64([3], [2, 2, 2]) }],
      { pads: [1, 1, 1, 0, 0, 0] }, [1, 2, 4, 4, 4], 18);
    await checkWith(c.g, c.inputs);
    const d = oneNode('Col2Im', [{ name: 'x', t: randomTensor([1, 4 * 3, 4], 10) }, { name: 'img', t: i64([1], [10]), constant: true },
      { name: 'blk', t: i64([1], [3]), constant: true }], { strides: [3], pads: [1, 2] }, [1, 4, 10], 18);
    await checkWith(d.g, d.inputs);
  });
  it('3-D ConvTranspose: groups, strides, pads, dilations, output_padding, bias, runtime weights', async () => {
    await check(graphOf((b, r) => {
      const x = b.input('x', 'f32', [2, 4, 3, 4, 3]);
      b.output(
        b.node('ConvTranspose', [x, r('w', [4, 3, 2, 3, 2]), r('b', [6])], { group: 2, strides: [2, 1, 2], pads: [1, 0, 0, 1, 1, 0], dilations: [1, 2, 1], output_padding: [1, 0, 1] }),
        b.node('ConvTranspose', [x, r('w2', [4, 2, 3, 3, 3])], { auto_pad: 'SAME_UPPER', strides: [2, 2, 2] }),
      );
    }));
    await check(graphOf((b) => {
      const x = b.input('x', 'f32', [1, 2, 3, 3, 2]);
      const w = b.input('w', 'f32', [2, 3, 2, 2, 2]);
      b.output(b.node('ConvTranspose', [x, w], { strides: [1, 2, 1] }));
    }));
  });
  it('LRN with even and odd sizes on 3-D and 4-D inputs', async () => {
    await check(graphOf((b) => {
      const x = b.input('x', 'f32', [2, 7, 3, 2]);
      const x3 = b.input('x3', 'f32', [1, 5, 6]);
      b.output(b.node('LRN', [x], { size: 4, alpha: 0.01, beta: 0.6, bias: 1.5 }), b.node('LRN', [x], { size: 3 }), b.node('LRN', [x3], { size: 1, beta: 1.2 }));
    }));
  });
  it('MaxUnpool of MaxPool indices, with and without output_shape, 1-D to 3-D', async () => {
    for (const [shape, k, s, pads] of [[[2, 3, 6, 8], [2, 2], [2, 2], [0, 0, 0, 0]], [[1, 2, 9], [3], [2], [1, 1]], [[1, 2, 4, 6, 4], [2, 2, 2], [2, 2, 2], [0, 0, 0, 0, 0, 0]]] as const) {
      await check(graphOf((b) => {
        const x = b.input('x', 'f32', [...shape]);
        const [y, ind] = b.nodeN('MaxPool', [x], 2, { kernel_shape: [...k], strides: [...s], pads: [...pads] });
        b.output(b.node('MaxUnpool', [y!, ind!], { kernel_shape: [...k], strides: [...s], pads: [...pads] }));
      }, 11));
    }
    await check(graphOf((b) => {
      // indices of the pooled 4x4 map, placed at the start of a 5x6 output
      const x = b.input('x', 'f32', [1, 2, 4, 4]);
      const [y, ind] = b.nodeN('MaxPool', [x], 2, { kernel_shape: [2, 2], strides: [2, 2] });
      b.output(b.node('MaxUnpool', [y!, ind!, b.const('os', i64([4], [1, 2, 5, 6]))], { kernel_shape: [2, 2], strides: [2, 2] }));
    }, 11));
  });
});
