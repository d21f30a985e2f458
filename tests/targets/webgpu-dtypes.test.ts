/**
 * Differential tests of the WebGPU target on the dtypes WGSL has (targets/webgpu/kernels/typed.ts,
 * ops/elementwise.ts, ops/control.ts, ops/reduce.ts, ops/qint.ts): integer and bool arithmetic,
 * comparisons, logical and bitwise ops, Where, Cast, Gather with runtime indices, ArgMax / ArgMin,
 * data movement of 16-bit and bool values, and i64 inputs / outputs held as i32. Every graph is
 * compiled with the webgpu pipeline, run through its model.mjs on the `webgpu` package
 * (SwiftShader in CI) and compared with the reference interpreter: integer and bool outputs bit
 * for bit, f32 outputs within rtol 1e-5. Skips (logged) only when no adapter exists and CI is not set.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import type { DType } from '../../compiler/ir/dtype.js';
import { EdgecError } from '../../compiler/errors.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { compareTensors } from '../helpers/compare.js';
import { gpuAvailable, runOnWebgpu } from './webgpu-helpers.js';

const gpu = await gpuAvailable('webgpu-dtypes');

/** Deterministic pseudo-random integers in [lo, hi] (a small LCG; the seed picks the sequence). */
function ints(n: number, lo: number, hi: number, seed: number): number[] {
  let s = seed * 7919 + 17;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + (s % (hi - lo + 1));
  });
}

/** A tensor of `dtype` and `shape` with values in [lo, hi] (bool: 0 / 1; f32: integers and halves). */
function tensorOf(dtype: DType, shape: number[], lo: number, hi: number, seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = ints(n, lo, hi, seed);
  if (dtype === 'f32') return Tensor.from('f32', shape, v.map((x, i) => x + (i % 3 === 0 ? 0.5 : 0)));
  if (dtype === 'i64') return Tensor.from('i64', shape, v.map((x) => BigInt(x)));
  return Tensor.from(dtype, shape, dtype === 'bool' ? v.map((x) => x & 1) : v);
}

/** Full value range of each integer dtype the tests draw from. */
const RANGE: Record<string, [number, number]> = {
  i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535], i32: [-2147483648, 2147483647], u32: [0, 4294967295],
  i64: [-1000, 1000], bool: [0, 1], f32: [-50, 50],
};

/** Runs `g` on webgpu and on the reference with `inputs`; outputs must match (integers exactly). */
async function check(g: Graph, inputs: Tensor[]): Promise<void> {
  const want = runGraph(g, inputs);
  const { outputs } = await runOnWebgpu(g, inputs);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(outputs[k]!, w, { rtol: 1e-5, atol: 0 }), `output ${k}`).toBeNull());
}

/** Graph y = op(inputs...) with the given input dtypes / shapes. */
function opGraph(op: string, ins: { dt: DType; shape: number[] }[], attrs: Record<string, number | string> = {}, opset = 18): Graph {
  const b = new GraphBuilder('t', { '': opset });
  const xs = ins.map((x, i) => b.input(`x${i}`, x.dt, x.shape));
  b.output(b.node(op, xs, attrs));
  return b.build();
}

/** Random inputs for opGraph's inputs (divisors never zero when `nonzero`). */
function inputsFor(ins: { dt: DType; shape: number[] }[], seed: number, nonzero = false): Tensor[] {
  return ins.map((x, i) => {
    const [lo, hi] = RANGE[x.dt]!;
    const t = tensorOf(x.dt, x.shape, lo, hi, seed + i);
    if (!nonzero || i === 0) return t;
    return Tensor.from(x.dt, x.shape, t.toNumbers().map((v) => (v === 0 ? 1 : v)).map((v) => (x.dt === 'i64' ? BigInt(v) : v)));
  });
}

/** Reduce graph with constant axes (the expected outputs of the runtime-axes case). */
function opGraphConstAxes(op: string, axes: bigint[], keepdims: number, noop: number): Graph {
  const b = new GraphBuilder('t', { '': 18 });
  const x = b.input('x', 'f32', [2, 3, 4]);
  b.output(b.node(op, [x, b.const('axes', 'i64', [axes.length], axes)], { keepdims, noop_with_empty_axes: noop }));
  return b.build();
}

const INT_DTYPES: DType[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32'];

describe.skipIf(!gpu)('webgpu dtypes: integer arithmetic (wraps as the reference)', () => {
  for (const dt of INT_DTYPES) {
    for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min']) {
      it(`${op} ${dt} with broadcasting`, async () => {
        const ins = [{ dt, shape: [2, 3, 5] }, { dt, shape: [3, 1] }];
        await check(opGraph(op, ins), inputsFor(ins, 3, op === 'Div'));
      });
    }
  }
  it('Mod i32 (Python and C semantics), Neg / Abs / Sign on i8 and i32', async () => {
    for (const fmod of [0, 1]) {
      const ins = [{ dt: 'i32' as DType, shape: [4, 6] }, { dt: 'i32' as DType, shape: [6] }];
      await check(opGraph('Mod', ins, { fmod }), [tensorOf('i32', [4, 6], -40, 40, 1), tensorOf('i32', [6], 1, 9, 2).reshape([6])].map((t, i) => (i === 1 ? Tensor.from('i32', [6], [3, -4, 5, -7, 2, 9]) : t)));
    }
    for (const dt of ['i8', 'i32'] as DType[]) {
      for (const op of ['Neg', 'Abs', 'Sign']) {
        const ins = [{ dt, shape: [3, 7] }];
        await check(opGraph(op, ins), inputsFor(ins, 5));
      }
    }
  });
  it('variadic Sum and Max of u16 (3 inputs)', async () => {
    const ins = [{ dt: 'u16' as DType, shape: [2, 5] }, { dt: 'u16' as DType, shape: [5] }, { dt: 'u16' as DType, shape: [2, 1] }];
    await check(opGraph('Sum', ins), inputsFor(ins, 9));
    await check(opGraph('Max', ins), inputsFor(ins, 11));
  });
});

describe.skipIf(!gpu)('webgpu dtypes: comparisons, logic, bitwise, Where', () => {
  for (const dt of ['f32', 'i8', 'u16', 'i32', 'u32', 'i64'] as DType[]) {
    it(`comparisons of ${dt} give bool`, async () => {
      for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']) {
        const ins = [{ dt, shape: [3, 4] }, { dt, shape: [4] }];
        const x = inputsFor(ins, 21);
        // equal elements too
        const a = Tensor.from(dt, [3, 4], x[0]!.toNumbers().map((v, i) => (i % 4 === 1 ? x[1]!.toNumbers()[1]! : v)).map((v) => (dt === 'i64' ? BigInt(v) : v)));
        await check(opGraph(op, ins), [a, x[1]!]);
      }
    });
  }
  it('And / Or / Xor / Not on bool', async () => {
    for (const op of ['And', 'Or', 'Xor']) {
      const ins = [{ dt: 'bool' as DType, shape: [2, 9] }, { dt: 'bool' as DType, shape: [9] }];
      await check(opGraph(op, ins), inputsFor(ins, 31));
    }
    const ins = [{ dt: 'bool' as DType, shape: [13] }];
    await check(opGraph('Not', ins), inputsFor(ins, 33));
  });
  it('bitwise ops on i8 / u16 / i32 and BitShift on u8 / u32', async () => {
    for (const dt of ['i8', 'u16', 'i32'] as DType[]) {
      for (const op of ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor']) {
        const ins = [{ dt, shape: [2, 6] }, { dt, shape: [6] }];
        await check(opGraph(op, ins), inputsFor(ins, 41));
      }
      await check(opGraph('BitwiseNot', [{ dt, shape: [7] }]), inputsFor([{ dt, shape: [7] }], 43));
    }
    for (const dt of ['u8', 'u32'] as DType[]) {
      for (const direction of ['LEFT', 'RIGHT']) {
        const sh = Tensor.from(dt, [6], [0, 1, 3, 7, 8, 40]);
        await check(opGraph('BitShift', [{ dt, shape: [2, 6] }, { dt, shape: [6] }], { direction }), [inputsFor([{ dt, shape: [2, 6] }], 45)[0]!, sh]);
      }
    }
  });
  it('Where on f32, i16 and i64 values', async () => {
    for (const dt of ['f32', 'i16', 'i64'] as DType[]) {
      const ins = [{ dt: 'bool' as DType, shape: [3, 1] }, { dt, shape: [3, 4] }, { dt, shape: [4] }];
      await check(opGraph('Where', ins), inputsFor(ins, 51));
    }
  });
  it('IsNaN / IsInf on f32 specials', async () => {
    const x = Tensor.from('f32', [6], [NaN, Infinity, -Infinity, 0, -1.5, 3e38]);
    await check(opGraph('IsNaN', [{ dt: 'f32', shape: [6] }]), [x]);
    for (const [neg, pos] of [[1, 1], [1, 0], [0, 1]]) {
      await check(opGraph('IsInf', [{ dt: 'f32', shape: [6] }], { detect_negative: neg!, detect_positive: pos! }), [x]);
    }
  });
});

/** ONNX data type numbers of Cast's `to`. */
const ONNX_TO: Record<string, number> = { f32: 1, u8: 2, i8: 3, u16: 4, i16: 5, i32: 6, i64: 7, bool: 9, u32: 12 };

describe.skipIf(!gpu)('webgpu dtypes: Cast (C-cast semantics)', () => {
  it('f32 -> every integer type and bool (truncation, wrap, NaN / infinity to 0)', async () => {
    const x = Tensor.from('f32', [12], [0, -0.5, 1.99, -1.99, 300.7, -300.7, 70000.2, 3e9, -3e9, NaN, Infinity, 1e20]);
    for (const to of ['u8', 'i8', 'u16', 'i16', 'i32', 'u32', 'bool']) {
      await check(opGraph('Cast', [{ dt: 'f32', shape: [12] }], { to: ONNX_TO[to]! }), [x]);
    }
  });
  it('between integer types, to f32 (round to nearest even) and to i64', async () => {
    for (const from of ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'bool'] as DType[]) {
      for (const to of ['f32', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'bool', 'i64']) {
        if (to === from || (to === 'i64' && from === 'u32')) continue;
        const ins = [{ dt: from, shape: [10] }];
        await check(opGraph('Cast', ins, { to: ONNX_TO[to]! }), inputsFor(ins, 61));
      }
    }
  });
  it('i64 -> i32 / f32 and CastLike', async () => {
    const ins = [{ dt: 'i64' as DType, shape: [8] }];
    await check(opGraph('Cast', ins, { to: ONNX_TO['i32']! }), inputsFor(ins, 63));
    await check(opGraph('Cast', ins, { to: ONNX_TO['f32']! }), inputsFor(ins, 65));
    const like = [{ dt: 'i16' as DType, shape: [8] }, { dt: 'u8' as DType, shape: [1] }];
    await check(opGraph('CastLike', like), inputsFor(like, 67));
  });
});

describe.skipIf(!gpu)('webgpu dtypes: indices and data movement', () => {
  it('Gather with runtime i64 / i32 indices (negative ones count from the end) on f32 and u16 data', async () => {
    for (const dt of ['f32', 'u16'] as DType[]) {
      for (const axis of [0, 1]) {
        const b = new GraphBuilder('t', { '': 13 });
        const x = b.input('x', dt, [3, 5]);
        const i = b.input('i', 'i64', [2, 2]);
        b.output(b.node('Gather', [x, i], { axis }));
        const idx = Tensor.from('i64', [2, 2], [0n, -1n, 2n, 1n]);
        await check(b.build(), [inputsFor([{ dt, shape: [3, 5] }], 71)[0]!, idx]);
      }
    }
  });
  it('ArgMax / ArgMin of f32 and i16 (first / last index, keepdims)', async () => {
    for (const op of ['ArgMax', 'ArgMin']) {
      for (const dt of ['f32', 'i16'] as DType[]) {
        for (const [axis, keepdims, last] of [[0, 1, 0], [1, 0, 0], [-1, 1, 1]]) {
          const ins = [{ dt, shape: [4, 6] }];
          // small range: ties are common
          const x = tensorOf(dt, [4, 6], -3, 3, 81);
          await check(opGraph(op, ins, { axis: axis!, keepdims: keepdims!, select_last_index: last! }), [x]);
        }
      }
    }
  });
  it('GatherElements with runtime and constant indices on f32 and i8 data', async () => {
    for (const dt of ['f32', 'i8'] as DType[]) {
      for (const axis of [0, 1, -1]) {
        const b = new GraphBuilder('t', { '': 13 });
        const x = b.input('x', dt, [3, 4]);
        const i = b.input('i', 'i64', [2, 4]);
        b.output(b.node('GatherElements', [x, i], { axis }));
        const L = axis === 0 ? 3 : 4;
        const idx = Tensor.from('i64', [2, 4], ints(8, -L, L - 1, 5 + axis).map((v) => BigInt(v)));
        await check(b.build(), [inputsFor([{ dt, shape: [3, 4] }], 73)[0]!, idx]);
      }
      const b = new GraphBuilder('t', { '': 13 });
      const x = b.input('x', dt, [3, 4]);
      b.output(b.node('GatherElements', [x, b.const('i', 'i64', [3, 2], [0, -1, 2, 1, 3, 0])], { axis: 1 }));
      await check(b.build(), inputsFor([{ dt, shape: [3, 4] }], 75));
    }
  });
  it('Trilu (upper / lower) with constant and runtime k on f32 and i32', async () => {
    for (const dt of ['f32', 'i32'] as DType[]) {
      for (const upper of [0, 1]) {
        for (const k of [-1, 0, 2]) {
          const b = new GraphBuilder('t', { '': 14 });
          const x = b.input('x', dt, [2, 3, 5]);
          const kk = b.input('k', 'i64', []);
          b.output(b.node('Trilu', [x, kk], { upper }), b.node('Trilu', [x, b.const('kc', 'i64', [], [k])], { upper }));
          await check(b.build(), [inputsFor([{ dt, shape: [2, 3, 5] }], 77)[0]!, Tensor.from('i64', [], [BigInt(k)])]);
        }
      }
    }
  });
  it('Reduce* with runtime i64 axes (negative axes, keepdims 0 / 1, empty axes: every axis)', async () => {
    const x = Tensor.from('f32', [2, 3, 4], ints(24, -9, 9, 3).map((v) => v / 4));
    const cases: [string, bigint[], number, number][] = [
      ['ReduceSum', [1n], 1, 0], ['ReduceMean', [-1n, 0n], 0, 0], ['ReduceMax', [2n], 0, 0], ['ReduceL2', [0n, 2n], 1, 0],
      ['ReduceLogSumExp', [1n], 0, 0], ['ReduceSumSquare', [], 1, 0], ['ReduceProd', [0n], 1, 1],
    ];
    for (const [op, axes, keepdims, noop] of cases) {
      const b = new GraphBuilder('t', { '': 18 });
      const xi = b.input('x', 'f32', [2, 3, 4]);
      const ai = b.input('axes', 'i64', [axes.length]);
      const y = b.node(op, [xi, ai], { keepdims, noop_with_empty_axes: noop });
      // the output shape the runtime axes give (a model's value_info), as the importer would have it
      const want = runGraph(opGraphConstAxes(op, axes, keepdims, noop), [x])[0]!;
      b.typeOf(y).shape = want.shape;
      b.output(y);
      const g = b.build();
      g.typeOf(y).shape = want.shape;
      const got = (await runOnWebgpu(g, [x, Tensor.from('i64', [axes.length], axes)])).outputs[0]!;
      expect(compareTensors(got, want, { rtol: 1e-5, atol: 1e-6 }), op).toBeNull();
    }
  });
  it('Transpose / Concat / Slice / Pad of i16 and bool values, graph output aliasing an input', async () => {
    for (const dt of ['i16', 'bool'] as DType[]) {
      const b = new GraphBuilder('t', { '': 13 });
      const x = b.input('x', dt, [2, 3, 5]);
      const t = b.node('Transpose', [x], { perm: [2, 0, 1] });
      const c = b.node('Concat', [t, t], { axis: 1 });
      const s = b.node('Slice', [c, b.const('st', 'i64', [1], [1]), b.const('en', 'i64', [1], [4]), b.const('ax', 'i64', [1], [2])]);
      const p = b.node('Pad', [s, b.const('pads', 'i64', [6], [0, 1, 0, 1, 0, 2])]);
      const r = b.node('Reshape', [x, b.const('shape', 'i64', [2], [6, 5])]);
      b.output(p, r);
      await check(b.build(), inputsFor([{ dt, shape: [2, 3, 5] }], 91));
    }
  });
});

describe('webgpu dtypes: what the hardware cannot hold is an unsupported error', () => {
  const rejects = (g: Graph, what: RegExp) => {
    try {
      compileWebgpu(g);
      throw new Error('compiled');
    } catch (e) {
      expect(e instanceof EdgecError && e.kind === 'unsupported', String(e)).toBe(true);
      expect((e as Error).message).toMatch(what);
      expect((e as Error).message.split('\n').length).toBe(1);
    }
  };
  it('i64 arithmetic, f64 and u64 values, Cast u32 -> i64', () => {
    rejects(opGraph('Add', [{ dt: 'i64', shape: [4] }, { dt: 'i64', shape: [4] }]), /Add on i64/);
    rejects(opGraph('Add', [{ dt: 'f64', shape: [4] }, { dt: 'f64', shape: [4] }]), /f64/);
    rejects(opGraph('Add', [{ dt: 'u64', shape: [4] }, { dt: 'u64', shape: [4] }]), /u64/);
    rejects(opGraph('Cast', [{ dt: 'u32', shape: [4] }], { to: 7 }), /Cast from u32 to i64/);
  });
  it.skipIf(!gpu)('an i64 input outside the i32 range is a run-time RangeError', async () => {
    const g = opGraph('Max', [{ dt: 'i64', shape: [2] }, { dt: 'i64', shape: [2] }]);
    await expect(runOnWebgpu(g, [Tensor.from('i64', [2], [1n, 2n ** 40n]), Tensor.from('i64', [2], [0n, 0n])])).rejects.toThrow(/outside the int32 range/);
  });
});
