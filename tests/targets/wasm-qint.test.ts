/**
 * The wasm target's 4-bit runtime values and the ONNX integer ops on runtime operands
 * (targets/wasm/ops/qint.ts, runtime-wasm/assembly/qint4.ts), differentially against the reference
 * interpreter: graphs built in code, every output bit for bit. Covers Cast/CastLike into and out
 * of i4/u4 (wrapping), data movement on 4-bit values, 4-bit and blocked QuantizeLinear /
 * DequantizeLinear (constant and runtime parameters), MatMulInteger / QLinearMatMul (batch
 * broadcasting, per-row / per-column parameters, f16 scales), ConvInteger / QLinearConv (1-D to
 * 3-D, groups, strides, dilations, padding, per-channel weights), DynamicQuantizeLinear, the QONNX
 * Quant / BipolarQuant / Trunc decompositions, and the MatMul / Gemm / f64 Softmax leftovers.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { DType, ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { runOnWasm } from './wasm-helpers.js';
import { rng } from '../helpers/rng.js';


/** Integers uniform in [lo, hi] of dtype `dt`. */
function ints(dt: DType, shape: number[], seed: number, lo: number, hi: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(dt, shape, Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1))));
}

/** Floats uniform in [lo, hi) of dtype `dt` (rounded to it). */
function floats(dt: DType, shape: number[], seed: number, lo: number, hi: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(dt, shape, Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

/**
 * Runs `g` on wasm and on the reference; every output must be identical (dtype, shape, bits), or
 * within `rtol` relative to the largest expected magnitude when given (f32 GEMM sums in f32).
 */
async function check(g: Graph, inputs: Tensor[], rtol?: number): Promise<void> {
  const want = runGraph(g, inputs);
  const { outputs } = await runOnWasm(g, inputs);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => {
    const got = outputs[k]!;
    const name = g.value(g.outputs[k]!).name;
    expect(`${name}: ${got.dtype} [${got.shape.join(',')}]`).toBe(`${name}: ${w.dtype} [${w.shape.join(',')}]`);
    const a = got.toNumbers();
    const b = w.toNumbers();
    const scale = Math.max(1, ...b.map((v) => Math.abs(v)));
    const bad = a.findIndex((v, i) => !Object.is(v, b[i]) && !(Number.isNaN(v) && Number.isNaN(b[i]!)) &&
      !(rtol !== undefined && Math.abs(v - b[i]!) <= rtol * scale));
    expect(bad < 0 ? 'equal' : `${name}[${bad}]: ${a[bad]} != expected ${b[bad]}`).toBe('equal');
  });
}

function graph(build: (b: GraphBuilder) => void, opset = 21): Graph {
  const b = new GraphBuilder('qint', { '': opset });
  build(b);
  return b.build();
}

describe('wasm 4-bit values (i4/u4 unpacked, one byte per element)', () => {
  const edge = [NaN, Infinity, -Infinity, -0, 0, 0.5, -0.5, 7, 7.9, 8, -8, -8.9, -9, 9.7, 15, 16, 17.2, -17.2, 100.5, -1e9, 3e9, 255, 256];
  it('Cast / CastLike f32 and f16 -> i4 / u4 truncate and wrap to 4 bits', async () => {
    const x = Tensor.from('f32', [edge.length], edge);
    const h = Tensor.from('f16', [edge.length], edge.map((v) => (Math.abs(v) > 60000 && Number.isFinite(v) ? 1000 : v)));
    const g = graph((b) => {
      const xi = b.input('x', 'f32', [edge.length]);
      const hi = b.input('h', 'f16', [edge.length]);
      const like = b.const('like', Tensor.from('u4', [1], [0]));
      for (const to of ['i4', 'u4'] as DType[]) b.output(b.node('Cast', [xi], { to: ONNX_DTYPE[to] }), b.node('Cast', [hi], { to: ONNX_DTYPE[to] }));
      b.output(b.node('CastLike', [xi, like]));
    });
    await check(g, [x, h]);
  });
  it('Cast between 4-bit and wider integers, bool and floats', async () => {
    const g = graph((b) => {
      const a = b.input('a', 'i4', [16]);
      const u = b.input('u', 'u4', [16]);
      const w = b.input('w', 'i32', [16]);
      for (const to of ['f32', 'f16', 'i8', 'u8', 'i64', 'bool', 'u4'] as DType[]) b.output(b.node('Cast', [a], { to: ONNX_DTYPE[to] }));
      for (const to of ['f32', 'u8', 'i16', 'i4'] as DType[]) b.output(b.node('Cast', [u], { to: ONNX_DTYPE[to] }));
      b.output(b.node('Cast', [w], { to: ONNX_DTYPE.i4 }), b.node('Cast', [w], { to: ONNX_DTYPE.u4 }));
    });
    await check(g, [ints('i4', [16], 1, -8, 7), ints('u4', [16], 2, 0, 15), ints('i32', [16], 3, -100000, 100000)]);
  });
  it('data movement on 4-bit values (Transpose, Gather, Concat, Slice, Reshape) and a 4-bit graph output', async () => {
    const g = graph((b) => {
      const a = b.input('a', 'i4', [3, 4]);
      const u = b.input('u', 'u4', [3, 4]);
      const t = b.node('Transpose', [a], { perm: [1, 0] });
      const idx = b.const('idx', Tensor.from('i64', [3], [2n, 0n, 2n]));
      b.output(t, b.node('Gather', [u, idx], { axis: 0 }), b.node('Concat', [a, a], { axis: 1 }), b.node('Reshape', [u, b.const('s', Tensor.from('i64', [1], [12n]))]));
      b.output(b.node('Cast', [t], { to: ONNX_DTYPE.f32 }));
    });
    await check(g, [ints('i4', [3, 4], 4, -8, 7), ints('u4', [3, 4], 5, 0, 15)]);
  });
  it('a 4-bit constant feeds runtime ops', async () => {
    const g = graph((b) => {
      const x = b.input('x', 'f32', [2, 4]);
      const k = b.const('k', ints('i4', [2, 4], 6, -8, 7));
      b.output(b.node('Add', [x, b.node('Cast', [k], { to: ONNX_DTYPE.f32 })]));
    });
    await check(g, [floats('f32', [2, 4], 7, -4, 4)]);
  });
});

describe('wasm QuantizeLinear / DequantizeLinear: 4-bit, blocked, runtime parameters', () => {
  for (const dt of ['i4', 'u4', 'i8', 'u8', 'i16', 'u16'] as DType[]) {
    const [lo, hi] = dt === 'i4' ? [-8, 7] : dt === 'u4' ? [0, 15] : dt === 'i8' ? [-128, 127] : dt === 'u8' ? [0, 255] : dt === 'i16' ? [-30000, 30000] : [0, 60000];
    it(`${dt}: per tensor, per axis and blocked (runtime scales and zero points)`, async () => {
      const xs = [2, 6, 3];
      const x = floats('f32', xs, 11, -40, 40);
      (x.data as Float32Array).set([NaN, Infinity, -Infinity, 2.5, -2.5, 0.5, 1e30]);
      const g = graph((b) => {
        const xi = b.input('x', 'f32', xs);
        const s0 = b.input('s0', 'f32', []);
        const z0 = b.input('z0', dt, []);
        const s1 = b.input('s1', 'f32', [6]);
        const z1 = b.input('z1', dt, [6]);
        const s2 = b.input('s2', 'f32', [2, 3, 3]);
        const z2 = b.input('z2', dt, [2, 3, 3]);
        const q0 = b.node('QuantizeLinear', [xi, s0, z0]);
        const q1 = b.node('QuantizeLinear', [xi, s1, z1], { axis: 1 });
        const q2 = b.node('QuantizeLinear', [xi, s2, z2], { axis: 1, block_size: 2 });
        b.output(q0, q1, q2, b.node('DequantizeLinear', [q0, s0, z0]), b.node('DequantizeLinear', [q1, s1, z1], { axis: 1 }),
          b.node('DequantizeLinear', [q2, s2, z2], { axis: 1, block_size: 2 }));
      });
      const zlo = Math.max(lo, -3), zhi = Math.min(hi, 3 + (lo === 0 ? 3 : 0));
      await check(g, [x, floats('f32', [], 12, 0.5, 3), ints(dt, [], 13, zlo, zhi), floats('f32', [6], 14, 0.05, 4), ints(dt, [6], 15, zlo, zhi),
        floats('f32', [2, 3, 3], 16, 0.1, 6), ints(dt, [2, 3, 3], 17, zlo, zhi)]);
    });
  }
  it('blocked 4-bit weights as constants (compile-time parameters, last axis blocks, no zero point)', async () => {
    const g = graph((b) => {
      const w = b.const('w', ints('i4', [4, 8], 21, -8, 7));
      const s = b.const('s', floats('f32', [4, 2], 22, 0.01, 1));
      const x = b.input('x', 'f32', [4, 8]);
      const d = b.node('DequantizeLinear', [w, s], { axis: 1, block_size: 4 });
      b.output(d, b.node('Mul', [x, d]));
    });
    await check(g, [floats('f32', [4, 8], 23, -1, 1)]);
  });
  it('a partial last block is unsupported, not miscomputed', () => {
    const g = graph((b) => {
      const x = b.input('x', 'f32', [2, 5]);
      b.output(b.node('QuantizeLinear', [x, b.input('s', 'f32', [2, 3]), b.input('z', 'i4', [2, 3])], { axis: 1, block_size: 2 }));
    });
    return expect(runOnWasm(g, [])).rejects.toThrow(/partial last block/);
  });
});

describe('wasm MatMulInteger / QLinearMatMul on runtime operands', () => {
  for (const [ad, bd] of [['u8', 'i8'], ['i8', 'u8'], ['u8', 'u8'], ['i8', 'i8']] as [DType, DType][]) {
    const rangeOf = (d: DType): [number, number] => (d === 'u8' ? [0, 255] : [-128, 127]);
    it(`MatMulInteger ${ad} x ${bd}: batch broadcast, per-row / per-column zero points, 1-D operands`, async () => {
      const g = graph((b) => {
        const A = b.input('A', ad, [2, 1, 3, 5]);
        const B = b.input('B', bd, [4, 5, 6]);
        const za = b.input('za', ad, [3]);
        const zb = b.input('zb', bd, [6]);
        const v = b.input('v', ad, [5]);
        b.output(b.node('MatMulInteger', [A, B, za, zb]), b.node('MatMulInteger', [A, B]), b.node('MatMulInteger', [v, B, null, zb]),
          b.node('MatMulInteger', [A, b.const('Bc', ints(bd, [5], 40, ...rangeOf(bd))), b.const('zs', ints(ad, [], 41, -3, 9))]));
      });
      await check(g, [ints(ad, [2, 1, 3, 5], 31, ...rangeOf(ad)), ints(bd, [4, 5, 6], 32, ...rangeOf(bd)), ints(ad, [3], 33, 0, 20),
        ints(bd, [6], 34, 0, 20), ints(ad, [5], 35, ...rangeOf(ad))]);
    });
    it(`QLinearMatMul ${ad} x ${bd}: per-column b parameters, f32 and f16 scales`, async () => {
      const yd = ad;
      for (const sd of ['f32', 'f16'] as DType[]) {
        const g = graph((b) => {
          const A = b.input('A', ad, [2, 3, 4]);
          const as = b.input('as', sd, []);
          const az = b.input('az', ad, []);
          const B = b.input('B', bd, [4, 5]);
          const bs = b.input('bs', sd, [5]);
          const bz = b.input('bz', bd, [5]);
          b.output(b.node('QLinearMatMul', [A, as, az, B, bs, bz, b.input('ys', sd, []), b.input('yz', yd, [])]));
        });
        await check(g, [ints(ad, [2, 3, 4], 51, ...rangeOf(ad)), floats(sd, [], 52, 0.01, 0.1), ints(ad, [], 53, 0, 9),
          ints(bd, [4, 5], 54, ...rangeOf(bd)), floats(sd, [5], 55, 0.01, 0.1), ints(bd, [5], 56, 0, 9), floats(sd, [], 57, 0.5, 4), ints(yd, [], 58, 0, 30)]);
      }
    });
  }
});

describe('wasm ConvInteger / QLinearConv on runtime operands', () => {
  it('ConvInteger 1-D, 2-D (groups, strides, dilations, SAME padding) and 3-D', async () => {
    const g = graph((b) => {
      const x1 = b.input('x1', 'u8', [2, 3, 9]);
      const w1 = b.input('w1', 'u8', [4, 3, 3]);
      const x2 = b.input('x2', 'i8', [1, 4, 7, 6]);
      const w2 = b.input('w2', 'i8', [6, 2, 3, 2]);
      const x3 = b.input('x3', 'u8', [1, 2, 4, 5, 4]);
      const w3 = b.input('w3', 'i8', [3, 2, 2, 3, 2]);
      const zx1 = b.input('zx1', 'u8', []);
      const zw1 = b.input('zw1', 'u8', [4]);
      b.output(b.node('ConvInteger', [x1, w1, zx1, zw1], { pads: [1, 2], strides: [2] }));
      b.output(b.node('ConvInteger', [x2, w2, b.const('zx2', Tensor.from('i8', [], [-3]))], { group: 2, dilations: [2, 1], auto_pad: 'SAME_UPPER' }));
      b.output(b.node('ConvInteger', [x3, w3], { pads: [0, 1, 1, 1, 0, 0], strides: [1, 2, 1] }));
    });
    await check(g, [ints('u8', [2, 3, 9], 61, 0, 255), ints('u8', [4, 3, 3], 62, 0, 255),
      ints('i8', [1, 4, 7, 6], 65, -128, 127), ints('i8', [6, 2, 3, 2], 66, -128, 127), ints('u8', [1, 2, 4, 5, 4], 67, 0, 255),
      ints('i8', [3, 2, 2, 3, 2], 68, -128, 127), ints('u8', [], 63, 0, 255), ints('u8', [4], 64, 100, 150)]);
  });
  for (const [xd, wd] of [['u8', 'i8'], ['i8', 'i8'], ['u8', 'u8']] as [DType, DType][]) {
    it(`QLinearConv ${xd} x ${wd}: per-channel w_scale / w_zero_point, bias, groups, f32 and f16 scales`, async () => {
      const r = (d: DType): [number, number] => (d === 'u8' ? [0, 255] : [-128, 127]);
      for (const sd of ['f32', 'f16'] as DType[]) {
        const g = graph((b) => {
          const x = b.input('x', xd, [2, 4, 6, 5]);
          const xs = b.input('xs', sd, []);
          const xz = b.input('xz', xd, []);
          const w = b.input('w', wd, [6, 2, 3, 3]);
          const ws = b.input('ws', sd, [6]);
          const wz = b.input('wz', wd, [6]);
          const ys = b.input('ys', sd, []);
          const yz = b.input('yz', xd, []);
          b.output(b.node('QLinearConv', [x, xs, xz, w, ws, wz, ys, yz, b.input('B', 'i32', [6])], { group: 2, pads: [1, 0, 1, 2], strides: [2, 1] }));
          b.output(b.node('QLinearConv', [x, b.input('xs2', sd, [1]), b.input('xz2', xd, [1]), b.const('wc', ints(wd, [3, 4, 1, 1], 80, ...r(wd))),
            b.const('ws2', floats(sd, [], 81, 0.01, 0.05)), null, b.input('ys2', sd, []), null]));
        });
        await check(g, [ints(xd, [2, 4, 6, 5], 71, ...r(xd)), floats(sd, [], 72, 0.01, 0.05), ints(xd, [], 73, -5, 5 + (xd === 'u8' ? 100 : 0)),
          ints(wd, [6, 2, 3, 3], 74, ...r(wd)), floats(sd, [6], 75, 0.01, 0.05), ints(wd, [6], 76, 0, 9), floats(sd, [], 77, 0.05, 0.5),
          ints(xd, [], 78, 0, 40), ints('i32', [6], 79, -3000, 3000), floats(sd, [1], 82, 0.01, 0.05), ints(xd, [1], 83, 0, 9), floats(sd, [], 84, 0.5, 2)]);
      }
    });
  }
});

describe('wasm DynamicQuantizeLinear', () => {
  const cases: [string, Tensor][] = [
    ['mixed signs', floats('f32', [3, 7], 91, -5, 12)],
    ['all positive', floats('f32', [10], 92, 0.5, 3)],
    ['all negative', floats('f32', [10], 93, -9, -0.1)],
    ['all zero', Tensor.from('f32', [4], [0, 0, -0, 0])],
    ['halfway cases', Tensor.from('f32', [6], [0, 255, 127.5, 0.5, 1.5, 2.5])],
  ];
  for (const [name, x] of cases) {
    it(name, async () => {
      const g = graph((b) => {
        const xi = b.input('x', 'f32', [...x.shape] as number[]);
        b.output(...b.nodeN('DynamicQuantizeLinear', [xi], 3));
      });
      await check(g, [x]);
    });
  }
});

describe('wasm QONNX Quant / BipolarQuant / Trunc (decomposed into opset-9 primitives)', () => {
  const Q = 'qonnx.custom_op.general';
  const qgraph = (build: (b: GraphBuilder) => void): Graph => {
    const b = new GraphBuilder('qonnx', { '': 9, [Q]: 1, 'onnx.brevitas': 1 });
    build(b);
    return b.build();
  };
  // halfway cases of x / s (s = 0.5: x = 0.25 -> 0.5, 0.75 -> 1.5 ...), signed zeros, NaN, infinities, clamped values
  const edgeX = [0.25, 0.75, 1.25, -0.25, -0.75, -1.25, -0.1, 0.1, -0, 0, NaN, Infinity, -Infinity, 100, -100, 3.3, -3.3, 1.75, -2.75, 0.2];
  const x = Tensor.from('f32', [4, 5], edgeX);
  for (const mode of ['ROUND', 'HALF_EVEN', 'CEIL', 'FLOOR', 'UP', 'DOWN', 'HALF_UP', 'HALF_DOWN']) {
    it(`Quant rounding_mode ${mode}: signed / unsigned / narrow, per-channel scale and bit widths`, async () => {
      const g = qgraph((b) => {
        const xi = b.input('x', 'f32', [4, 5]);
        const sc = b.const('s', Tensor.from('f32', [], [0.5]));
        const s4 = b.const('s4', Tensor.from('f32', [4, 1], [0.5, 0.25, 1.5, 0.3]));
        const z0 = b.const('z0', Tensor.from('f32', [], [0]));
        const z1 = b.const('z1', Tensor.from('f32', [], [1]));
        const bw = b.const('bw', Tensor.from('f32', [], [4]));
        const bw2 = b.const('bw2', Tensor.from('f32', [1, 5], [2, 3, 4, 8, 5]));
        for (const [signed, narrow] of [[1, 0], [0, 0], [1, 1], [0, 1]]) {
          b.output(b.node('Quant', [xi, sc, z0, bw], { signed, narrow, rounding_mode: mode }, { domain: Q }));
        }
        b.output(b.node('Quant', [xi, s4, z1, bw2], { rounding_mode: mode }, { domain: Q }));
        b.output(b.node('Quant', [xi, sc, z0, b.const('b1', Tensor.from('f32', [], [1]))], { signed: 1, rounding_mode: mode }, { domain: 'onnx.brevitas' }));
      });
      await check(g, [x]);
    });
  }
  it('BipolarQuant and Trunc (v1 and v2 forms)', async () => {
    const g = qgraph((b) => {
      const xi = b.input('x', 'f32', [4, 5]);
      const sc = b.const('s', Tensor.from('f32', [], [0.125]));
      const z = b.const('z', Tensor.from('f32', [], [0]));
      b.output(b.node('BipolarQuant', [xi, b.const('bs', Tensor.from('f32', [1, 5], [1, 0.5, 2, 3, 0.25]))], {}, { domain: Q }));
      for (const mode of ['FLOOR', 'ROUND', 'HALF_UP']) {
        b.output(b.node('Trunc', [xi, sc, z, b.const('ib', Tensor.from('f32', [], [8])), b.const('ob', Tensor.from('f32', [], [4]))], { rounding_mode: mode }, { domain: Q }));
        b.output(b.node('Trunc', [xi, sc, z, b.const('ib2', Tensor.from('f32', [], [8])), b.const('os', Tensor.from('f32', [], [1])),
          b.const('oz', Tensor.from('f32', [], [0])), b.const('ob2', Tensor.from('f32', [], [4]))], { rounding_mode: mode }, { domain: Q }));
      }
    });
    await check(g, [x]);
  });
});

describe('wasm MatMul / Gemm leftovers', () => {
  it('MatMul batch broadcasting both ways ([3,1,3,4] x [1,2,4,2], [2,1,2,3] x [1,3,3,2]) in f32', async () => {
    const g = graph((b) => {
      b.output(b.node('MatMul', [b.input('a', 'f32', [3, 1, 3, 4]), b.input('b', 'f32', [1, 2, 4, 2])]));
      b.output(b.node('MatMul', [b.input('c', 'f32', [2, 1, 2, 3]), b.input('d', 'f32', [1, 3, 3, 2])]));
    }, 13);
    await check(g, [floats('f32', [3, 1, 3, 4], 101, -1, 1), floats('f32', [1, 2, 4, 2], 102, -1, 1), floats('f32', [2, 1, 2, 3], 103, -1, 1),
      floats('f32', [1, 3, 3, 2], 104, -1, 1)], 1e-6);
  });
  it('f64 MatMul (2-D, batched with broadcasting, 1-D operands) accumulates in f64 like the reference', async () => {
    const g = graph((b) => {
      const a = b.input('a', 'f64', [2, 1, 3, 5]);
      const w = b.input('w', 'f64', [4, 5, 2]);
      const v = b.input('v', 'f64', [5]);
      b.output(b.node('MatMul', [a, w]), b.node('MatMul', [v, w]), b.node('MatMul', [a, v]));
    }, 13);
    await check(g, [floats('f64', [2, 1, 3, 5], 105, -3, 3), floats('f64', [4, 5, 2], 106, -3, 3), floats('f64', [5], 107, -3, 3)]);
  });
  it('f64 Softmax / LogSoftmax along every axis (f64 arithmetic, libm exp/log within 1e-12)', async () => {
    const g = graph((b) => {
      const x = b.input('x', 'f64', [2, 3, 4]);
      for (const axis of [0, 1, -1]) b.output(b.node('Softmax', [x], { axis }), b.node('LogSoftmax', [x], { axis }));
    }, 13);
    await check(g, [floats('f64', [2, 3, 4], 108, -20, 20)], 1e-12);
  });
  it('Gemm with a runtime C and beta != 1 (row, column, full and scalar C)', async () => {
    const g = graph((b) => {
      const A = b.input('A', 'f32', [3, 5]);
      const B = b.input('B', 'f32', [5, 4]);
      for (const [name, shape] of [['full', [3, 4]], ['row', [4]], ['col', [3, 1]], ['scalar', []]] as [string, number[]][]) {
        b.output(b.node('Gemm', [A, B, b.input(name, 'f32', shape)], { alpha: 0.5, beta: -1.75 }));
      }
    }, 13);
    await check(g, [floats('f32', [3, 5], 111, -1, 1), floats('f32', [5, 4], 112, -1, 1), floats('f32', [3, 4], 113, -2, 2), floats('f32', [4], 114, -2, 2),
      floats('f32', [3, 1], 115, -2, 2), floats('f32', [], 116, -2, 2)], 1e-6);
  });
});
