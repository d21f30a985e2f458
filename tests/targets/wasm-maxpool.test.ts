/**
 * The separable max-pool kernel of the wasm target (maxpool2d_f32, runtime-wasm/assembly/pool2d.ts):
 * every MaxPool without dilation (and without the Indices output) lowers to it; each geometry is
 * compared with the reference interpreter, SIMD and scalar (--wasm-simd off) builds alike. The
 * geometries cover the SIMD column paths (stride 1 and 2, at least four outputs per row) and their
 * scalar tails, other strides, asymmetric and ceil-mode overhang, windows wider than the input,
 * 1-D pooling, and NaN propagation.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { compareTensors } from '../helpers/compare.js';
import { graphOf } from './cases.js';
import { randomTensor, runOnWasm } from './wasm-helpers.js';

interface Geo { x: number[]; attrs: Record<string, number[] | number> }

const GEOS: Record<string, Geo> = {
  '3x3 s2 pads 1 (TF.js SAME), odd plane': { x: [1, 5, 29, 29], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  '3x3 s1 pads 1': { x: [2, 3, 13, 10], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  '2x2 s2 ceil_mode': { x: [1, 4, 11, 17], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } },
  '3x2 s3x1 asymmetric pads': { x: [1, 2, 14, 9], attrs: { kernel_shape: [3, 2], strides: [3, 1], pads: [2, 0, 1, 1] } },
  '5x5 s2 pads 2, narrow rows (scalar tails)': { x: [1, 3, 7, 5], attrs: { kernel_shape: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2] } },
  'window wider than the input': { x: [1, 2, 3, 4], attrs: { kernel_shape: [4, 6], pads: [1, 2, 1, 2] } },
  '1-D k3 s2': { x: [2, 3, 21], attrs: { kernel_shape: [3], strides: [2], pads: [1, 1] } },
};

const poolGraph = (g: Geo): Graph => graphOf((b) => {
  const x = b.input('x', 'f32', g.x);
  b.output(b.node('MaxPool', [x], g.attrs));
});

async function check(g: Graph, x: Tensor, simd: boolean): Promise<void> {
  const want = runGraph(g, [x]);
  const { outputs } = await runOnWasm(g, [x], { simd });
  expect(compareTensors(outputs[0]!, want[0]!, { rtol: 0, atol: 0 })).toBeNull();
}

describe('wasm MaxPool on maxpool2d_f32', () => {
  for (const [name, geo] of Object.entries(GEOS)) {
    it(name, async () => {
      const g = poolGraph(geo);
      expect(lowerGraph(g).steps.map((s) => s.kernel)).toEqual(['maxpool2d_f32']);
      const x = randomTensor(geo.x, 11);
      await check(g, x, true);
      await check(g, x, false);
    });
  }

  it('a NaN anywhere in a window makes that output NaN (as the previous kernel and numpy max); the others match the reference', async () => {
    const geo = GEOS['3x3 s2 pads 1 (TF.js SAME), odd plane']!;
    const g = poolGraph(geo);
    const d = Float32Array.from(randomTensor(geo.x, 12).data as Float32Array);
    const mask = new Float32Array(d.length);
    for (const i of [3 * 29 + 8, 29 * 29 + 20 * 29 + 27, 2 * 29 * 29 + 28 * 29]) {
      d[i] = NaN;
      mask[i] = 1;
    }
    const xn = new Tensor('f32', geo.x, d);
    // which windows hold a NaN: the max pool of the NaN mask (reference interpreter)
    const hit = runGraph(g, [new Tensor('f32', geo.x, mask)])[0]!.data as Float32Array;
    const want = runGraph(g, [xn])[0]!.data as Float32Array;
    for (const simd of [true, false]) {
      const got = (await runOnWasm(g, [xn], { simd })).outputs[0]!.data as Float32Array;
      expect(got.length).toBe(want.length);
      let nans = 0;
      for (let i = 0; i < got.length; i++) {
        if (hit[i]! > 0) {
          expect(Number.isNaN(got[i]!), `output ${i}`).toBe(true);
          nans++;
        } else expect(got[i], `output ${i}`).toBe(want[i]);
      }
      expect(nans).toBeGreaterThanOrEqual(3);
    }
  });

  it('dilated windows keep the general kernel', () => {
    const g = poolGraph({ x: [1, 2, 9, 9], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } });
    expect(lowerGraph(g).steps.map((s) => s.kernel)).toEqual(['pool2d_f32']);
  });
});
