/**
 * Differential tests of the WebGPU target's index, scatter, runtime-parameter and integer-matmul
 * lowerings (targets/webgpu/kernels/index-ops.ts and the ops/*.ts lowerings that use it): GatherND,
 * ScatterElements / ScatterND (all reductions), OneHot / Hardmax, TopK, CumSum / CumProd, Einsum,
 * integer and bool reductions, empty reductions, Slice / Pad / Tile with runtime parameters,
 * BitCast, integer Clip, mixed-dtype Pow, QuantizeLinear / DequantizeLinear with runtime, blocked
 * and 16-bit parameters, DynamicQuantizeLinear, MatMulInteger / QLinearMatMul, ConvInteger /
 * QLinearConv, Range, ConstantOfShape, EyeLike, CenterCropPad, ReverseSequence, Compress,
 * TensorScatter, Det, ArrayFeatureExtractor, Dropout masks.
 * Every graph is built in code, compiled with the webgpu pipeline, run through its model.mjs on
 * the `webgpu` package (SwiftShader in CI) and compared with the reference interpreter: integer
 * and bool outputs bit for bit, f32 outputs within rtol 1e-4. Skips (logged) only when no adapter
 * exists and CI is not set.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import type { DType } from '../../compiler/ir/dtype.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { EdgecError } from '../../compiler/errors.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { gpuAvailable, runOnWebgpu } from './webgpu-helpers.js';

const gpu = await gpuAvailable('webgpu-index-ops');

/** Deterministic pseudo-random integers in [lo, hi]. */
function ints(n: number, lo: number, hi: number, seed: number): number[] {
  let s = seed * 7919 + 17;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + (s % (hi - lo + 1));
  });
}

/** A tensor of `dtype` / `shape` with values in [lo, hi] (f32: integers plus quarters). */
function rnd(dtype: DType, shape: number[], lo: number, hi: number, seed: number): Tensor {
  const v = ints(shape.reduce((a, b) => a * b, 1), lo, hi, seed);
  if (dtype === 'f32') return Tensor.from('f32', shape, v.map((x, i) => x + (i % 4) * 0.25));
  if (dtype === 'i64') return Tensor.from('i64', shape, v.map((x) => BigInt(x)));
  return Tensor.from(dtype, shape, dtype === 'bool' ? v.map((x) => x & 1) : v);
}

const i64 = (shape: number[], v: number[]): Tensor => Tensor.from('i64', shape, v.map((x) => BigInt(x)));

/** Runs `g` on webgpu and on the reference with `inputs`; outputs must match (integers exactly). */
async function check(g: Graph, inputs: Tensor[], rtol = 1e-4): Promise<void> {
  const want = runGraph(g, inputs);
  const { outputs } = await runOnWebgpu(g, inputs);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(outputs[k]!, w, { rtol, atol: 1e-6 }), `output ${k}`).toBeNull());
}

type In = { name: string; t: Tensor };

/**
 * Graph with runtime inputs `ins` feeding one node; `outShapes` fixes output shapes that depend on
 * runtime parameter values (as an ONNX model's declared output types do).
 */
function nodeGraph(op: string, ins: (In | null)[], attrs: Record<string, number | number[] | string> = {}, opts: { opset?: number; nOut?: number; outShapes?: number[][] } = {}): Graph {
  const b = new GraphBuilder('t', { '': opts.opset ?? 18 });
  const ids = ins.map((x) => (x ? b.input(x.name, x.t.dtype, x.t.shape) : null));
  const outs = b.nodeN(op, ids, opts.nOut ?? 1, attrs);
  b.output(...outs);
  const g = b.build();
  opts.outShapes?.forEach((s, k) => {
    const v = g.value(outs[k]!);
    v.type = { ...v.type, shape: s };
  });
  return g;
}

/** Runs nodeGraph(...) on its inputs. */
async function checkNode(op: string, ins: (In | null)[], attrs: Record<string, number | number[] | string> = {}, opts: { opset?: number; nOut?: number; outShapes?: number[][] } = {}): Promise<void> {
  await check(nodeGraph(op, ins, attrs, opts), ins.filter((x): x is In => x !== null).map((x) => x.t));
}

describe.skipIf(!gpu)('webgpu index ops: gathers and scatters', () => {
  it('GatherND with negative indices, slices and batch_dims (f32, i8, i32 data)', async () => {
    for (const dt of ['f32', 'i8', 'i32'] as DType[]) {
      await checkNode('GatherND', [{ name: 'x', t: rnd(dt, [3, 4, 5], -100, 100, 1) }, { name: 'i', t: i64([2, 2], [0, -1, 2, 3]) }]);
      await checkNode('GatherND', [{ name: 'x', t: rnd(dt, [3, 4, 5], -100, 100, 2) }, { name: 'i', t: i64([2, 3, 1], [0, 2, 1, -1, 0, 1]) }]);
      await checkNode('GatherND', [{ name: 'x', t: rnd(dt, [2, 4, 3], -100, 100, 3) }, { name: 'i', t: i64([2, 2, 1], [1, 3, 0, -2]) }], { batch_dims: 1 });
    }
  });
  it('ScatterElements on every reduction, both axes, duplicates and negative indices', async () => {
    for (const reduction of ['none', 'add', 'mul', 'max', 'min']) {
      for (const axis of [0, 1, -1]) {
        const x = { name: 'x', t: rnd('f32', [4, 5], -8, 8, 4) };
        const idx = { name: 'i', t: i64([3, 2], axis === 0 ? [0, 3, -1, 1, 0, 0] : [4, 0, 1, -5, 2, 2]) };
        const upd = { name: 'u', t: rnd('f32', [3, 2], -4, 4, 5) };
        await checkNode('ScatterElements', [x, idx, upd], { axis, reduction });
      }
    }
    // u8 data (packed output words), add wraps modulo 256
    await checkNode('ScatterElements', [{ name: 'x', t: rnd('u8', [3, 6], 0, 255, 6) }, { name: 'i', t: i64([3, 2], [1, 1, 5, 0, 2, 3]) },
      { name: 'u', t: rnd('u8', [3, 2], 0, 255, 7) }], { axis: 1, reduction: 'add' });
    await checkNode('Scatter', [{ name: 'x', t: rnd('f32', [3, 3], -5, 5, 8) }, { name: 'i', t: i64([2, 3], [1, 0, 2, 0, 2, 1]) },
      { name: 'u', t: rnd('f32', [2, 3], -5, 5, 9) }], {}, { opset: 10 });
  });
  it('ScatterND on every reduction (element and slice updates, repeated indices)', async () => {
    for (const reduction of ['none', 'add', 'mul', 'max', 'min']) {
      await checkNode('ScatterND', [{ name: 'x', t: rnd('f32', [4, 3, 2], -6, 6, 10) }, { name: 'i', t: i64([3, 1], [2, -4, 2]) },
        { name: 'u', t: rnd('f32', [3, 3, 2], -6, 6, 11) }], { reduction });
      await checkNode('ScatterND', [{ name: 'x', t: rnd('i32', [4, 3], -60, 60, 12) }, { name: 'i', t: i64([2, 2, 2], [0, 1, 3, 2, 0, 1, -1, 0]) },
        { name: 'u', t: rnd('i32', [2, 2], -60, 60, 13) }], { reduction: reduction === 'none' ? 'none' : reduction });
    }
  });
});

describe.skipIf(!gpu)('webgpu index ops: OneHot, Hardmax, TopK, cumulative ops, Einsum', () => {
  it('OneHot with float / integer indices, negative and out-of-range values, every axis', async () => {
    for (const axis of [-1, 0, 1]) {
      await checkNode('OneHot', [{ name: 'i', t: i64([2, 3], [0, -1, 4, 7, 2, -6]) }, { name: 'd', t: i64([], [5]) },
        { name: 'v', t: Tensor.from('f32', [2], [-1, 3]) }], { axis }, { outShapes: [axis === 0 ? [5, 2, 3] : axis === 1 ? [2, 5, 3] : [2, 3, 5]] });
    }
    await checkNode('OneHot', [{ name: 'i', t: Tensor.from('f32', [4], [1.7, -1.2, 3, 9]) }, { name: 'd', t: Tensor.from('f32', [], [4]) },
      { name: 'v', t: Tensor.from('i32', [2], [7, -9]) }], {}, { outShapes: [[4, 4]] });
  });
  it('Hardmax (ArgMax + OneHot) on every axis, with ties', async () => {
    const x = Tensor.from('f32', [2, 3, 4], [...rnd('f32', [2, 3, 4], -9, 9, 14).toNumbers().slice(0, 20), 5, 5, 1, 5]);
    for (const axis of [0, 1, -1]) await checkNode('Hardmax', [{ name: 'x', t: x }], { axis }, { opset: 13 });
  });
  it('TopK largest / smallest with ties on f32, i32 and u8; values and indices', async () => {
    for (const dt of ['f32', 'i32', 'u8'] as DType[]) {
      for (const largest of [1, 0]) {
        const x = rnd(dt, [3, 7], 0, 9, 15);
        await checkNode('TopK', [{ name: 'x', t: x }, { name: 'k', t: i64([1], [4]) }], { axis: 1, largest }, { nOut: 2, outShapes: [[3, 4], [3, 4]] });
        await checkNode('TopK', [{ name: 'x', t: x }, { name: 'k', t: i64([1], [2]) }], { axis: 0, largest }, { nOut: 2, outShapes: [[2, 7], [2, 7]] });
      }
    }
  });
  it('CumSum / CumProd (exclusive, reverse, runtime axis) on f32 and i32', async () => {
    for (const op of ['CumSum', 'CumProd']) {
      for (const dt of ['f32', 'i32'] as DType[]) {
        for (const [exclusive, reverse] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          for (const axis of [0, -1]) {
            await checkNode(op, [{ name: 'x', t: rnd(dt, [3, 5], -3, 3, 16) }, { name: 'a', t: Tensor.from('i32', [], [axis]) }], { exclusive: exclusive!, reverse: reverse! });
          }
        }
      }
    }
  });
  it('Einsum: matmul, batch matmul, transpose, diagonal, inner product, sum, broadcasting ellipsis', async () => {
    const cases: [string, number[][]][] = [
      ['ij,jk->ik', [[3, 4], [4, 5]]], ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]]], ['ij->ji', [[3, 5]]], ['bii->bi', [[2, 3, 3]]],
      ['i,i', [[6], [6]]], ['ij->', [[3, 4]]], ['...ij,jk->...ik', [[2, 1, 3, 4], [4, 2]]], ['ij,ij,ij->i', [[2, 3], [2, 3], [2, 3]]],
    ];
    for (const [equation, shapes] of cases) {
      await checkNode('Einsum', shapes.map((s, k) => ({ name: `x${k}`, t: rnd('f32', s, -3, 3, 20 + k) })), { equation });
    }
  });
});

describe.skipIf(!gpu)('webgpu index ops: reductions', () => {
  it('ReduceMax / ReduceMin of bool (runtime axes), ReduceSum / ReduceProd / ReduceMax of i32 and u8', async () => {
    for (const op of ['ReduceMax', 'ReduceMin']) {
      for (const keepdims of [0, 1]) {
        await checkNode(op, [{ name: 'x', t: rnd('bool', [3, 4, 2], 0, 1, 30) }, { name: 'a', t: i64([1], [1]) }], { keepdims },
          { outShapes: [keepdims ? [3, 1, 2] : [3, 2]] });
      }
    }
    for (const op of ['ReduceSum', 'ReduceProd', 'ReduceMax', 'ReduceMin']) {
      const g = (() => {
        const b = new GraphBuilder('t', { '': 18 });
        const x = b.input('x', 'i32', [3, 4, 2]);
        b.output(b.node(op, [x, b.const('axes', 'i64', [2], [0n, -1n])], { keepdims: 0 }));
        return b.build();
      })();
      await check(g, [rnd('i32', [3, 4, 2], -9, 9, 31)]);
    }
    const b = new GraphBuilder('t', { '': 18 });
    const x = b.input('x', 'u8', [5, 3]);
    b.output(b.node('ReduceMax', [x, b.const('axes', 'i64', [1], [0n])], { keepdims: 1 }));
    await check(b.build(), [rnd('u8', [5, 3], 0, 255, 32)]);
  });
  it('reductions of an empty tensor give the empty-set value', async () => {
    for (const op of ['ReduceSum', 'ReduceProd', 'ReduceMax', 'ReduceMin', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']) {
      const b = new GraphBuilder('t', { '': 18 });
      const x = b.input('x', 'f32', [2, 0, 4]);
      const r = b.node(op, [x, b.const('axes', 'i64', [1], [1n])], { keepdims: 1 });
      b.output(b.node('Add', [r, b.input('y', 'f32', [2, 1, 4])]));
      await check(b.build(), [Tensor.zeros('f32', [2, 0, 4]), rnd('f32', [2, 1, 4], -3, 3, 33)]);
    }
  });
});

describe.skipIf(!gpu)('webgpu index ops: runtime Slice / Pad / Tile parameters', () => {
  it('Slice with runtime starts / axes / steps (negative, out of range, reversed) on f32, u8 and i16', async () => {
    for (const dt of ['f32', 'u8', 'i16'] as DType[]) {
      const x = { name: 'x', t: rnd(dt, [5, 6, 4], 0, 200, 40) };
      await checkNode('Slice', [x, { name: 's', t: i64([2], [1, -4]) }, { name: 'e', t: i64([2], [4, 100]) }, { name: 'a', t: i64([2], [0, -2]) },
        { name: 'p', t: i64([2], [2, 1]) }], {}, { outShapes: [[2, 4, 4]] });
      await checkNode('Slice', [x, { name: 's', t: i64([1], [100]) }, { name: 'e', t: i64([1], [0]) }, { name: 'a', t: i64([1], [1]) },
        { name: 'p', t: i64([1], [-2]) }], {}, { outShapes: [[5, 3, 4]] });
      await checkNode('Slice', [x, { name: 's', t: i64([3], [-100, 2, 1]) }, { name: 'e', t: i64([3], [3, 5, 3]) }], {}, { outShapes: [[3, 3, 2]] });
    }
  });
  it('Pad with runtime pads / constant value / axes in every mode (including crops)', async () => {
    for (const mode of ['constant', 'edge', 'reflect', 'wrap']) {
      for (const dt of ['f32', 'i8'] as DType[]) {
        const x = { name: 'x', t: rnd(dt, [3, 4], -50, 50, 41) };
        await checkNode('Pad', [x, { name: 'p', t: i64([4], [1, 2, 2, 0]) }, { name: 'v', t: rnd(dt, [], 5, 5, 1) }], { mode }, { opset: 19, outShapes: [[6, 6]] });
        await checkNode('Pad', [x, { name: 'p', t: i64([2], [2, 1]) }, null, { name: 'a', t: i64([1], [-1]) }], { mode }, { opset: 19, outShapes: [[3, 7]] });
        if (mode === 'constant') await checkNode('Pad', [x, { name: 'p', t: i64([4], [-1, 1, 0, -2]) }], { mode }, { opset: 19, outShapes: [[2, 3]] });
      }
    }
  });
  it('Tile with runtime repeats on f32 and bool', async () => {
    await checkNode('Tile', [{ name: 'x', t: rnd('f32', [2, 3], -5, 5, 42) }, { name: 'r', t: i64([2], [3, 2]) }], {}, { outShapes: [[6, 6]] });
    await checkNode('Tile', [{ name: 'x', t: rnd('bool', [3, 1], 0, 1, 43) }, { name: 'r', t: i64([2], [2, 5]) }], {}, { outShapes: [[6, 5]] });
  });
});

describe.skipIf(!gpu)('webgpu index ops: BitCast, Clip, Pow on integer and mixed dtypes', () => {
  it('BitCast between same-width dtypes (aliases) and to bool', async () => {
    const pairs: [DType, DType][] = [['f32', 'i32'], ['i32', 'f32'], ['u32', 'i32'], ['i8', 'u8'], ['u16', 'i16'], ['u8', 'bool']];
    const code: Record<string, number> = { f32: 1, u8: 2, i8: 3, u16: 4, i16: 5, i32: 6, bool: 9, u32: 12 };
    for (const [from, to] of pairs) {
      const x = from === 'f32' ? rnd('f32', [3, 5], -9, 9, 50) : from === 'i32' ? Tensor.from('i32', [3, 5], [1065353216, -1082130432, 0, 7, -8, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12])
        : rnd(from, [3, 5], from === 'i8' ? -128 : 0, from === 'i8' ? 127 : from === 'u8' ? 255 : 60000, 51);
      await checkNode('BitCast', [{ name: 'x', t: x }], { to: code[to]! }, { opset: 26 });
    }
  });
  it('Clip of i8 / u16 with runtime, absent and partial bounds', async () => {
    await checkNode('Clip', [{ name: 'x', t: rnd('i8', [4, 5], -128, 127, 52) }, { name: 'lo', t: Tensor.from('i8', [], [-20]) }, { name: 'hi', t: Tensor.from('i8', [], [30]) }]);
    await checkNode('Clip', [{ name: 'x', t: rnd('u16', [7], 0, 65535, 53) }, null, { name: 'hi', t: Tensor.from('u16', [], [30000]) }]);
    await checkNode('Clip', [{ name: 'x', t: rnd('i8', [6], -128, 127, 54) }]);
  });
  it('Pow with integer / mixed operands (negative exponents, wrapping)', async () => {
    const cases: [DType, DType][] = [['f32', 'i32'], ['f32', 'i64'], ['f32', 'u32'], ['i32', 'f32'], ['i32', 'i32'], ['u8', 'i32']];
    for (const [bt, et] of cases) {
      const base = bt === 'f32' ? Tensor.from('f32', [6], [-2, 1.5, 0, 3, -0.5, 7]) : bt === 'u8' ? Tensor.from('u8', [6], [2, 3, 0, 1, 255, 7])
        : Tensor.from('i32', [6], [-2, 3, 0, 1, -1, 7]);
      const ex = et === 'f32' ? Tensor.from('f32', [6], [3, 2, 2, -1, 4, 1.5]) : et === 'u32' ? Tensor.from('u32', [6], [3, 5, 0, 1, 4, 2])
        : Tensor.from(et, [6], (et === 'i64' ? [3n, 2n, 0n, -1n, 5n, 20n] : [3, 31, 0, -1, 5, 20]) as number[]);
      await checkNode('Pow', [{ name: 'a', t: base }, { name: 'b', t: ex }]);
    }
  });
});

describe.skipIf(!gpu)('webgpu index ops: quantization and integer products', () => {
  it('QuantizeLinear / DequantizeLinear with runtime per-tensor / per-axis / blocked parameters, 8- and 16-bit', async () => {
    const x = rnd('f32', [2, 4, 3], -300, 300, 60);
    for (const dt of ['u8', 'i8', 'i16', 'u16'] as DType[]) {
      const zp = dt === 'i8' ? [3, -2, 0, 1] : dt === 'i16' ? [300, -2000, 0, 1] : [128, 10, 0, 200];
      await checkNode('QuantizeLinear', [{ name: 'x', t: x }, { name: 's', t: Tensor.from('f32', [4], [0.5, 2, 3.3, 1]) }, { name: 'z', t: Tensor.from(dt, [4], zp) }], { axis: 1 });
      await checkNode('QuantizeLinear', [{ name: 'x', t: x }, { name: 's', t: Tensor.from('f32', [], [0.7]) }, { name: 'z', t: Tensor.from(dt, [], [zp[0]!]) }]);
      await checkNode('DequantizeLinear', [{ name: 'x', t: rnd(dt, [2, 4, 3], dt[0] === 'i' ? -100 : 0, 200, 61) }, { name: 's', t: Tensor.from('f32', [4], [0.5, 2, 3.3, 1]) },
        { name: 'z', t: Tensor.from(dt, [4], zp) }], { axis: 1 });
    }
    await checkNode('QuantizeLinear', [{ name: 'x', t: x }, { name: 's', t: rnd('f32', [2, 2, 3], 1, 4, 62) }, { name: 'z', t: rnd('i8', [2, 2, 3], -5, 5, 63) }], { axis: 1, block_size: 2 }, { opset: 21 });
    await checkNode('DequantizeLinear', [{ name: 'x', t: rnd('u8', [2, 4, 3], 0, 255, 64) }, { name: 's', t: rnd('f32', [2, 4, 2], 1, 4, 65) }], { axis: -1, block_size: 2 }, { opset: 21 });
  });
  it('DynamicQuantizeLinear (mixed signs, all positive, all negative)', async () => {
    for (const [lo, hi] of [[-40, 90], [3, 50], [-70, -2]]) {
      await checkNode('DynamicQuantizeLinear', [{ name: 'x', t: rnd('f32', [3, 7], lo!, hi!, 66) }], {}, { nOut: 3 });
    }
  });
  it('MatMulInteger / QLinearMatMul: u8 / i8, zero points per tensor / row / column, batch broadcasting', async () => {
    for (const dt of ['u8', 'i8'] as DType[]) {
      const [lo, hi] = dt === 'u8' ? [0, 255] : [-128, 127];
      const a = rnd(dt, [2, 3, 5], lo, hi, 67);
      const b = rnd(dt, [5, 4], lo, hi, 68);
      await checkNode('MatMulInteger', [{ name: 'a', t: a }, { name: 'b', t: b }, { name: 'za', t: rnd(dt, [3], lo, hi, 69) }, { name: 'zb', t: rnd(dt, [4], lo, hi, 70) }]);
      await checkNode('MatMulInteger', [{ name: 'a', t: rnd(dt, [5], lo, hi, 71) }, { name: 'b', t: rnd(dt, [3, 5, 2], lo, hi, 72) }]);
      await checkNode('QLinearMatMul', [{ name: 'a', t: a }, { name: 'sa', t: Tensor.from('f32', [], [0.0123]) }, { name: 'za', t: rnd(dt, [], lo, hi, 73) },
        { name: 'b', t: b }, { name: 'sb', t: Tensor.from('f32', [4], [0.02, 0.03, 0.011, 0.05]) }, { name: 'zb', t: rnd(dt, [4], lo, hi, 74) },
        { name: 'sy', t: Tensor.from('f32', [], [0.37]) }, { name: 'zy', t: rnd(dt, [], lo, hi, 75) }]);
    }
  });
  it('ConvInteger / QLinearConv: padding, strides, dilations, groups, per-channel weights and bias', async () => {
    const x = rnd('u8', [1, 4, 6, 5], 0, 255, 76);
    const w = rnd('u8', [6, 2, 3, 3], 0, 255, 77);
    const attrs = { pads: [1, 0, 1, 2], strides: [1, 2], dilations: [2, 1], group: 2 };
    await checkNode('ConvInteger', [{ name: 'x', t: x }, { name: 'w', t: w }, { name: 'xz', t: Tensor.from('u8', [], [120]) }, { name: 'wz', t: rnd('u8', [6], 100, 150, 78) }], attrs);
    await checkNode('QLinearConv', [{ name: 'x', t: x }, { name: 'sx', t: Tensor.from('f32', [], [0.015]) }, { name: 'xz', t: Tensor.from('u8', [], [120]) },
      { name: 'w', t: rnd('i8', [6, 2, 3, 3], -128, 127, 79) }, { name: 'sw', t: Tensor.from('f32', [6], [0.01, 0.02, 0.005, 0.03, 0.011, 0.007]) },
      { name: 'wz', t: Tensor.from('i8', [6], [0, 0, 0, 0, 0, 0]) }, { name: 'sy', t: Tensor.from('f32', [], [0.6]) }, { name: 'yz', t: Tensor.from('u8', [], [100]) },
      { name: 'b', t: rnd('i32', [6], -2000, 2000, 80) }], attrs);
    await checkNode('ConvInteger', [{ name: 'x', t: rnd('i8', [2, 3, 7], -128, 127, 81) }, { name: 'w', t: rnd('i8', [4, 3, 2], -128, 127, 82) }], { pads: [1, 1] });
  });
});

describe.skipIf(!gpu)('webgpu index ops: generated and reordered tensors', () => {
  it('Range (f32, i32 with negative delta), ConstantOfShape, EyeLike', async () => {
    await checkNode('Range', [{ name: 's', t: Tensor.from('f32', [], [1.5]) }, { name: 'l', t: Tensor.from('f32', [], [9]) }, { name: 'd', t: Tensor.from('f32', [], [0.75]) }],
      {}, { outShapes: [[10]] });
    await checkNode('Range', [{ name: 's', t: Tensor.from('i32', [], [10]) }, { name: 'l', t: Tensor.from('i32', [], [-7]) }, { name: 'd', t: Tensor.from('i32', [], [-3]) }],
      {}, { outShapes: [[6]] });
    const b = new GraphBuilder('t', { '': 18 });
    const shape = b.input('shape', 'i64', [2]);
    const c = b.node('ConstantOfShape', [shape], { value: Tensor.from('i32', [1], [7]) as never });
    b.output(c);
    const g = b.build();
    g.value(c).type = { ...g.value(c).type, shape: [2, 3] };
    await check(g, [i64([2], [2, 3])]);
    await checkNode('EyeLike', [{ name: 'x', t: rnd('i32', [3, 5], 0, 9, 83) }], { k: 1 });
    await checkNode('EyeLike', [{ name: 'x', t: rnd('f32', [4, 3], 0, 9, 84) }], { k: -2, dtype: 6 });
  });
  it('CenterCropPad (crop, pad, both, axes) and ReverseSequence (batch / time major)', async () => {
    const x = { name: 'x', t: rnd('f32', [5, 4, 3], -9, 9, 85) };
    await checkNode('CenterCropPad', [x, { name: 's', t: i64([3], [3, 7, 2]) }], {}, { outShapes: [[3, 7, 2]] });
    await checkNode('CenterCropPad', [x, { name: 's', t: i64([2], [8, 1]) }], { axes: [0, -1] }, { outShapes: [[8, 4, 1]] });
    await checkNode('ReverseSequence', [{ name: 'x', t: rnd('f32', [4, 3, 2], -9, 9, 86) }, { name: 'l', t: i64([3], [4, 1, 2]) }], { batch_axis: 1, time_axis: 0 });
    await checkNode('ReverseSequence', [{ name: 'x', t: rnd('i16', [3, 5], -9, 9, 87) }, { name: 'l', t: i64([3], [5, 0, 3]) }], { batch_axis: 0, time_axis: 1 });
  });
  it('Compress (with and without axis, short condition) and TensorScatter (linear / circular)', async () => {
    const x = { name: 'x', t: rnd('f32', [3, 4], -9, 9, 89) };
    await checkNode('Compress', [x, { name: 'c', t: Tensor.from('bool', [4], [1, 0, 1, 1]) }], { axis: 1 }, { outShapes: [[3, 3]] });
    await checkNode('Compress', [x, { name: 'c', t: Tensor.from('bool', [2], [0, 1]) }], { axis: 0 }, { outShapes: [[1, 4]] });
    await checkNode('Compress', [{ name: 'x', t: rnd('u8', [2, 3], 0, 255, 90) }, { name: 'c', t: Tensor.from('bool', [5], [1, 1, 0, 0, 1]) }], {}, { outShapes: [[3]] });
    for (const mode of ['linear', 'circular']) {
      await checkNode('TensorScatter', [{ name: 'p', t: rnd('f32', [2, 3, 5, 2], -9, 9, 91) }, { name: 'u', t: rnd('f32', [2, 3, 2, 2], -9, 9, 92) },
        { name: 'w', t: i64([2], mode === 'linear' ? [1, 3] : [4, 2]) }], { mode }, { opset: 24 });
    }
  });
  it('Det of a batch of matrices and ai.onnx.ml ArrayFeatureExtractor', async () => {
    await checkNode('Det', [{ name: 'x', t: rnd('f32', [2, 3, 4, 4], -5, 5, 93) }], {}, { opset: 18 });
    const b = new GraphBuilder('t', { '': 18, 'ai.onnx.ml': 3 });
    const x = b.input('x', 'i32', [3, 5]);
    const i = b.input('i', 'i64', [4]);
    b.output(b.node('ArrayFeatureExtractor', [x, i], {}, { domain: 'ai.onnx.ml' }));
    await check(b.build(), [rnd('i32', [3, 5], -99, 99, 94), i64([4], [4, 0, 2, 2])]);
  });
  it('Dropout mask output (inference) is all true', async () => {
    await checkNode('Dropout', [{ name: 'x', t: rnd('f32', [3, 4], -9, 9, 88) }], {}, { nOut: 2 });
  });
});

describe('webgpu index ops: compile-time rejections', () => {
  it('i64 results that could leave the held i32 range and random Dropout masks are unsupported errors', () => {
    const graphs = [
      nodeGraph('Pow', [{ name: 'a', t: i64([3], [1, 2, 3]) }, { name: 'b', t: i64([3], [1, 2, 3]) }]),
      nodeGraph('CumSum', [{ name: 'x', t: i64([3], [1, 2, 3]) }, { name: 'a', t: Tensor.from('i32', [], [0]) }]),
      nodeGraph('ReduceSum', [{ name: 'x', t: i64([3], [1, 2, 3]) }], { keepdims: 0 }, { opset: 11 }),
      (() => {
        const b = new GraphBuilder('t', { '': 18 });
        const x = b.input('x', 'f32', [4]);
        const [y, m] = b.nodeN('Dropout', [x, b.const('r', 'f32', [], [0.5]), b.const('t', 'bool', [], [true])], 2);
        b.output(y!, m!);
        return b.build();
      })(),
    ];
    for (const g of graphs) {
      let err: unknown;
      try {
        compileWebgpu(g);
      } catch (e) {
        err = e;
      }
      expect(err instanceof EdgecError && err.kind === 'unsupported', String(err)).toBe(true);
    }
  });
});
