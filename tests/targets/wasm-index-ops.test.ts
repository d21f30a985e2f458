/**
 * Differential tests of the wasm target's data movement on every element size and of its index /
 * selection ops (runtime-wasm/assembly/move.ts, gather.ts, select.ts): graphs built in code, run
 * through model.mjs and compared with the reference interpreter (integer and bool outputs bit for
 * bit, floats within rtol 1e-4). Inputs are runtime values unless a case makes them constants.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { ValueId } from '../../compiler/ir/graph.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { runOnWasm } from './wasm-helpers.js';

/** Deterministic integers in [lo, hi] (mulberry32), as a tensor of `dtype`. */
function rnd(dtype: DType, shape: number[], seed: number, lo = -9, hi = 9): Tensor {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = shape.reduce((a, b) => a * b, 1);
  const float = dtype === 'f32' || dtype === 'f64' || dtype === 'f16' || dtype === 'bf16';
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = lo + (hi - lo) * next();
    v.push(dtype === 'bool' ? (r > (lo + hi) / 2 ? 1 : 0) : float ? r : Math.round(r));
  }
  if (dtype === 'i64' || dtype === 'u64') return Tensor.from(dtype, shape, v.map((x) => BigInt(dtype === 'u64' ? Math.abs(x) : x)));
  if (dtype.startsWith('u')) return Tensor.from(dtype, shape, v.map(Math.abs));
  return Tensor.from(dtype, shape, v);
}

/** Builds a graph (inputs named in order), runs it on wasm and on the reference, compares every output. */
async function check(build: (b: GraphBuilder, x: ValueId[]) => ValueId | ValueId[], inputs: Tensor[], opset = 18): Promise<void> {
  const b = new GraphBuilder('case', { '': opset });
  const ids = inputs.map((t, i) => b.input(`in${i}`, t.dtype, t.shape));
  const out = build(b, ids);
  b.output(...(Array.isArray(out) ? out : [out]));
  const g = b.build();
  const want = runGraph(g, inputs);
  // outputs whose shape depends on a runtime input (axes): declared as computed, as an ONNX model declares them
  g.outputs.forEach((o, k) => { g.value(o).type = { ...g.value(o).type, shape: want[k]!.shape }; });
  const { outputs } = await runOnWasm(g, inputs);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => {
    // an f16 graph runs emulated in f32 on wasm (emulateF16): its f16 outputs come back as f32 of the same values
    const got = outputs[k]!;
    const ref = w.dtype === 'f16' && got.dtype === 'f32' ? Tensor.from('f32', w.shape, w.toNumbers()) : w;
    expect(compareTensors(got, ref, { rtol: 1e-4, atol: 1e-6 }), `output ${k}`).toBeNull();
  });
}

const I64 = (name: string, b: GraphBuilder, v: number[], shape = [v.length]): ValueId => b.const(name, 'i64', shape, v.map(BigInt));

const MOVE_DTYPES: DType[] = ['i64', 'f64', 'f16', 'bool', 'i16', 'u16', 'u8', 'i32', 'u64', 'bf16'];

describe('wasm data movement on every element size', () => {
  for (const dt of MOVE_DTYPES) {
    it(`${dt}: Transpose, Slice (negative steps), Concat, Split`, async () => {
      await check((b, [x, z]) => {
        const t = b.node('Transpose', [x!], { perm: [2, 0, 1] });
        const s = b.node('Slice', [x!, I64('st', b, [3, -1]), I64('en', b, [0, -100]), I64('ax', b, [2, 1]), I64('sp', b, [-1, -2])]);
        const c = b.node('Concat', [x!, z!], { axis: 1 });
        const [p, q] = b.nodeN('Split', [c, I64('sz', b, [2, 3])], 2, { axis: 1 });
        return [t, s, c, p!, q!];
      }, [rnd(dt, [2, 3, 5], 1), rnd(dt, [2, 2, 5], 2)]);
    });
    it(`${dt}: Pad (constant, reflect, edge), Expand, Tile, DepthToSpace, Reshape output`, async () => {
      await check((b, [x, y]) => {
        const cv = b.const('cv', Tensor.from(dt, [], [dt === 'i64' || dt === 'u64' ? 5n : dt === 'bool' ? 1 : 5]));
        const pc = b.node('Pad', [x!, I64('p1', b, [0, 1, 2, 1, 0, 3]), cv]);
        const pr = b.node('Pad', [x!, I64('p2', b, [0, 2, 1, 0, 1, 2])], { mode: 'reflect' });
        const pe = b.node('Pad', [x!, I64('p3', b, [1, 0, 0, 0, 2, 1])], { mode: 'edge' });
        const e = b.node('Expand', [b.node('Reshape', [x!, I64('r', b, [2, 1, 12])]), I64('es', b, [2, 3, 12])]);
        const t = b.node('Tile', [x!, I64('rep', b, [2, 1, 3])]);
        const d = b.node('DepthToSpace', [y!], { blocksize: 2, mode: 'CRD' });
        const r = b.node('Reshape', [y!, I64('r2', b, [8, 6])]);
        return [pc, pr, pe, e, t, d, r];
      }, [rnd(dt, [2, 3, 4], 3), rnd(dt, [1, 8, 2, 3], 4)]);
    });
    it(`${dt}: Gather with constant and runtime (i32 / i64, negative) indices`, async () => {
      await check((b, [x, i, j]) => [
        b.node('Gather', [x!, I64('ci', b, [2, -1, 0, 2], [2, 2])], { axis: 1 }),
        b.node('Gather', [x!, i!], { axis: 0 }),
        b.node('Gather', [x!, j!], { axis: -1 }),
      ], [rnd(dt, [3, 4, 5], 5), Tensor.from('i64', [2, 3], [0n, -1n, 2n, -3n, 1n, 1n]), Tensor.from('i32', [4], [4, -5, 0, -2])]);
    });
  }
});

describe('wasm index ops', () => {
  for (const dt of ['f32', 'i64', 'i32', 'u8', 'f16', 'bool'] as DType[]) {
    it(`GatherElements / GatherND (batch_dims 0, 1) on ${dt}`, async () => {
      await check((b, [x, i, j, k, m]) => [
        b.node('GatherElements', [x!, i!], { axis: 1 }),
        b.node('GatherElements', [x!, j!], { axis: -1 }),
        b.node('GatherND', [x!, k!]),
        b.node('GatherND', [x!, m!], { batch_dims: 1 }),
      ], [
        rnd(dt, [2, 3, 4], 6),
        Tensor.from('i64', [2, 2, 4], [0n, 2n, -1n, 1n, -3n, 0n, 2n, 2n, 1n, 1n, 0n, -2n, 2n, 0n, 1n, 0n]),
        Tensor.from('i32', [2, 3, 2], [3, 0, -1, 2, 1, 1, 0, 0, -4, 3, 2, 1]),
        Tensor.from('i64', [3, 2], [1n, -1n, 0n, 2n, -2n, 0n]),
        Tensor.from('i64', [2, 2, 1], [2n, 0n, -1n, 1n]),
      ]);
    });
  }
  const REDS = ['none', 'add', 'mul', 'max', 'min'];
  for (const dt of ['f32', 'i32', 'i64', 'f64', 'u8'] as DType[]) {
    for (const reduction of REDS) {
      it(`ScatterElements / ScatterND reduction ${reduction} on ${dt} (duplicate indices)`, async () => {
        const dup = reduction !== 'none';
        await check((b, [x, i, u, k, v]) => [
          b.node('ScatterElements', [x!, i!, u!], { axis: 1, reduction }),
          b.node('ScatterND', [x!, k!, v!], { reduction }),
        ], [
          rnd(dt, [3, 4], 7, 0, 9),
          Tensor.from('i64', [3, 2], dup ? [1n, 1n, -1n, 0n, 2n, 2n] : [1n, 3n, -1n, 0n, 2n, 1n]),
          rnd(dt, [3, 2], 8, 0, 9),
          Tensor.from('i64', dup ? [3, 1] : [2, 1], dup ? [2n, -1n, 2n] : [2n, 0n]),
          rnd(dt, dup ? [3, 4] : [2, 4], 9, 0, 9),
        ]);
      });
    }
  }
  it('ScatterND with 2-element tuples into 3-D data, Scatter (opset 10)', async () => {
    await check((b, [x, k, v]) => b.node('ScatterND', [x!, k!, v!]),
      [rnd('f32', [3, 4, 5], 10), Tensor.from('i64', [2, 2], [0n, -1n, 2n, 1n]), rnd('f32', [2, 5], 11)]);
    await check((b, [x, i, u]) => b.node('Scatter', [x!, i!, u!], { axis: 0 }),
      [rnd('i64', [3, 3], 12), Tensor.from('i32', [2, 3], [1, 0, 2, 0, 2, 1]), rnd('i64', [2, 3], 13)], 10);
  });
  for (const axis of [-1, 0, 1]) {
    it(`OneHot axis ${axis}: i64 / f32 indices (negative, out of range), f32 / i64 values`, async () => {
      await check((b, [i, f]) => [
        b.node('OneHot', [i!, I64('d', b, [5], []), b.const('v', 'f32', [2], [-1.5, 3])], { axis }),
        b.node('OneHot', [f!, b.const('d2', 'f32', [], [4]), I64('v2', b, [0, 7])], { axis }),
      ], [Tensor.from('i64', [2, 3], [0n, 4n, -1n, -5n, 5n, 2n]), Tensor.from('f32', [3, 2], [1.7, -1.2, 3, 9, -4, 0])]);
    });
  }
  for (const dt of ['f32', 'i64', 'u8'] as DType[]) {
    it(`Trilu upper / lower with constant and runtime k on ${dt}`, async () => {
      await check((b, [x, k]) => [
        b.node('Trilu', [x!]),
        b.node('Trilu', [x!, I64('k1', b, [-1], [])], { upper: 0 }),
        b.node('Trilu', [x!, I64('k2', b, [2], [])], { upper: 1 }),
        b.node('Trilu', [x!, k!], { upper: 0 }),
        b.node('Trilu', [x!, k!], { upper: 1 }),
      ], [rnd(dt, [2, 4, 5], 14, 1, 9), Tensor.from('i64', [], [1n])]);
    });
  }
});

describe('wasm selection, scans and integer reductions', () => {
  for (const dt of ['f32', 'i32', 'i64', 'u8', 'f64', 'i8'] as DType[]) {
    it(`ArgMax / ArgMin (keepdims, select_last_index, ties) on ${dt}`, async () => {
      await check((b, [x]) => [
        b.node('ArgMax', [x!], { axis: 1 }),
        b.node('ArgMin', [x!], { axis: -1, keepdims: 0 }),
        b.node('ArgMax', [x!], { axis: 0, select_last_index: 1 }),
        b.node('ArgMin', [x!], { axis: 1, keepdims: 0, select_last_index: 1 }),
      ], [rnd(dt, [3, 5, 4], 15, 0, 3)]);
    });
    it(`TopK largest / smallest with ties on ${dt}`, async () => {
      await check((b, [x]) => [
        ...b.nodeN('TopK', [x!, I64('k', b, [3])], 2, { axis: 1 }),
        ...b.nodeN('TopK', [x!, I64('k2', b, [4])], 2, { axis: -1, largest: 0 }),
        ...b.nodeN('TopK', [x!, I64('k3', b, [7])], 2, { axis: 2, largest: 1, sorted: 1 }),
      ], [rnd(dt, [2, 5, 7], 16, 0, 4)]);
    });
    it(`CumSum (exclusive, reverse) on ${dt}`, async () => {
      await check((b, [x]) => [
        b.node('CumSum', [x!, I64('a0', b, [1], [])]),
        b.node('CumSum', [x!, I64('a1', b, [-1], [])], { exclusive: 1 }),
        b.node('CumSum', [x!, b.const('a2', 'i32', [], [0])], { reverse: 1 }),
        b.node('CumSum', [x!, I64('a3', b, [1], [])], { exclusive: 1, reverse: 1 }),
      ], [rnd(dt, [3, 4, 5], 17, 0, 40)]);
    });
  }
  it('TopK and ArgMax with NaN on f32', async () => {
    const x = Tensor.from('f32', [2, 5], [1, NaN, 3, 3, -1, NaN, 2, NaN, 0, 2]);
    await check((b, [v]) => [
      ...b.nodeN('TopK', [v!, I64('k', b, [5])], 2, { axis: 1 }),
      ...b.nodeN('TopK', [v!, I64('k2', b, [5])], 2, { axis: 1, largest: 0 }),
      b.node('ArgMax', [v!], { axis: 1 }), b.node('ArgMin', [v!], { axis: 1 }),
    ], [x]);
  });
  for (const dt of ['i32', 'i64', 'u8', 'i8', 'f64', 'u64'] as DType[]) {
    it(`Reduce* on ${dt}`, async () => {
      const ops = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare'];
      await check((b, [x]) => ops.flatMap((op, i) => [
        b.node(op, [x!, I64(`a${i}`, b, [1])]),
        b.node(op, [x!, I64(`b${i}`, b, [0, 2])], { keepdims: 0 }),
      ]), [rnd(dt, [3, 4, 2], 18, -7, 7)]);
    });
  }
  it('ReduceMax / ReduceMin on bool, ReduceLogSumExp on f64', async () => {
    await check((b, [x, y]) => [
      b.node('ReduceMax', [x!, I64('a', b, [1])]), b.node('ReduceMin', [x!, I64('a2', b, [0])], { keepdims: 0 }),
      b.node('ReduceLogSumExp', [y!, I64('a3', b, [1])]), b.node('ReduceLogSum', [y!, I64('a4', b, [0])]),
    ], [rnd('bool', [4, 3], 19), rnd('f64', [3, 4], 20, 0.5, 3)]);
  });
});

describe('wasm ConvTranspose (GEMM + col2im)', () => {
  const CASES: { name: string; x: number[]; w: number[]; attrs: Record<string, number[] | number | string>; bias?: boolean }[] = [
    { name: '2-D defaults', x: [1, 3, 4, 5], w: [3, 2, 3, 3], attrs: {}, bias: true },
    { name: 'strides 2, pads, output_padding', x: [2, 4, 5, 4], w: [4, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 0, 1, 1], output_padding: [1, 1] }, bias: true },
    { name: 'dilations 2, strides 3x1', x: [1, 2, 4, 6], w: [2, 5, 2, 3], attrs: { dilations: [2, 2], strides: [3, 1] } },
    { name: 'group 2', x: [1, 4, 5, 5], w: [4, 3, 3, 3], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
    { name: 'auto_pad SAME_UPPER', x: [1, 2, 5, 4], w: [2, 3, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
    { name: 'auto_pad SAME_LOWER', x: [1, 2, 5, 4], w: [2, 3, 4, 3], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
    { name: 'output_shape', x: [1, 3, 4, 4], w: [3, 2, 3, 3], attrs: { output_shape: [10, 9], strides: [2, 2] }, bias: true },
    { name: '1-D stride 2, group 3', x: [2, 6, 7], w: [6, 2, 4], attrs: { strides: [2], group: 3, pads: [1, 2] }, bias: true },
  ];
  for (const cs of CASES) {
    it(`${cs.name} (constant weights, and runtime weights)`, async () => {
      const w = rnd('f32', cs.w, 21, -1, 1);
      const b = rnd('f32', [cs.w[1]! * ((cs.attrs['group'] as number | undefined) ?? 1)], 22, -1, 1);
      await check((g, [x]) => g.node('ConvTranspose', [x!, g.const('w', w), ...(cs.bias ? [g.const('b', b)] : [])], cs.attrs),
        [rnd('f32', cs.x, 23, -1, 1)]);
      await check((g, [x, wr]) => g.node('ConvTranspose', [x!, wr!], cs.attrs), [rnd('f32', cs.x, 24, -1, 1), w]);
    });
  }
});

describe('wasm runtime axes', () => {
  for (const dt of ['f32', 'i64', 'i32'] as DType[]) {
    it(`Reduce* with runtime axes (keepdims, negative, empty + noop_with_empty_axes) on ${dt}`, async () => {
      const x = rnd(dt, [3, 4, 2], 25, -5, 5);
      for (const [axes, attrs] of [[[1], {}], [[-1, 0], { keepdims: 0 }], [[], {}], [[], { noop_with_empty_axes: 1 }]] as [number[], Record<string, number>][]) {
        for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceL2', 'ReduceSumSquare']) {
          await check((b, [v, a]) => b.node(op, [v!, a!], attrs), [x, Tensor.from("i64", [axes.length], axes.map(BigInt))]).catch((e) => { throw new Error(`${op} axes [${axes}]: ${String(e)}`); });
        }
      }
    });
    it(`Reduce* over an empty axis with runtime axes on ${dt}`, async () => {
      for (const op of ['ReduceSum', 'ReduceProd', 'ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceL1', 'ReduceLogSumExp']) {
        await check((b, [v, a]) => b.node(op, [v!, a!]), [rnd(dt, [2, 0, 4], 27), Tensor.from('i64', [1], [1n])]);
      }
    });
    it(`CumSum with a runtime axis on ${dt}`, async () => {
      for (const axis of [0, 2, -2]) {
        await check((b, [v, a]) => b.node('CumSum', [v!, a!], { exclusive: axis === 2 ? 1 : 0, reverse: axis === -2 ? 1 : 0 }),
          [rnd(dt, [3, 4, 5], 26, -5, 5), Tensor.from('i32', [], [axis])]);
      }
    });
  }
});

describe('wasm Einsum (generic loop)', () => {
  const CASES: [string, number[][]][] = [
    ['ij,jk->ik', [[3, 4], [4, 5]]],
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
    ['ii->i', [[4, 4]]],
    ['bii->b', [[3, 4, 4]]],
    ['ij->ji', [[3, 5]]],
    ['i,i', [[6], [6]]],
    ['ij->', [[3, 4]]],
    ['ij,jk', [[2, 3], [3, 4]]],
    ['...ij,...jk->...ik', [[2, 1, 3, 4], [3, 4, 2]]],
    ['i,j->ij', [[3], [4]]],
  ];
  for (const [equation, shapes] of CASES) {
    it(`${equation} (f32, f64)`, async () => {
      for (const dt of ['f32', 'f64'] as DType[]) await check((b, xs) => b.node('Einsum', xs, { equation }), shapes.map((s, i) => rnd(dt, s, 30 + i, -1, 1)));
    });
  }
});

describe('wasm 3-D pools, LpPool and MaxPool Indices', () => {
  const CASES: [string, string, number[], Record<string, number[] | number | string>][] = [
    ['MaxPool 3-D pads, strides', 'MaxPool', [1, 2, 5, 6, 7], { kernel_shape: [2, 3, 2], strides: [2, 1, 2], pads: [1, 0, 1, 0, 1, 1] }],
    ['MaxPool 3-D dilations, ceil', 'MaxPool', [1, 2, 7, 6, 6], { kernel_shape: [2, 2, 2], dilations: [2, 1, 2], ceil_mode: 1, strides: [2, 2, 2] }],
    ['AveragePool 3-D count_include_pad 0', 'AveragePool', [2, 1, 5, 5, 6], { kernel_shape: [3, 2, 3], pads: [1, 1, 0, 1, 0, 1] }],
    ['LpPool 2-D p 2, pads, strides', 'LpPool', [1, 2, 6, 7], { kernel_shape: [3, 2], pads: [1, 0, 1, 1], strides: [2, 1] }],
    ['LpPool 1-D p 3, dilations', 'LpPool', [2, 2, 9], { kernel_shape: [3], p: 3, dilations: [2] }],
    ['LpPool 3-D p 1, auto_pad SAME_UPPER', 'LpPool', [1, 1, 4, 5, 5], { kernel_shape: [2, 3, 2], p: 1, auto_pad: 'SAME_UPPER' }],
    ['AveragePool 3-D count_include_pad 1, ceil', 'AveragePool', [1, 2, 6, 5, 5], { kernel_shape: [3, 3, 2], pads: [1, 1, 1, 1, 0, 1], strides: [2, 2, 2], count_include_pad: 1, ceil_mode: 1 }],
  ];
  for (const [name, op, shape, attrs] of CASES) {
    it(name, async () => {
      await check((b, [x]) => b.node(op, [x!], attrs), [rnd('f32', shape, 40, -1, 1)]);
    });
  }
  /** f32 tensor of small integers (ties inside the windows). */
  const ties = (shape: number[], seed: number): Tensor => Tensor.from('f32', shape, rnd('i32', shape, seed, 0, 3).toNumbers());
  for (const so of [0, 1]) {
    it(`MaxPool Indices (1-D, 2-D, 3-D; storage_order ${so}; ties)`, async () => {
      await check((b, [x]) => b.nodeN('MaxPool', [x!], 2, { kernel_shape: [3], strides: [2], pads: [1, 1] }), [ties([2, 3, 9], 41)]);
      await check((b, [x]) => b.nodeN('MaxPool', [x!], 2, { kernel_shape: [2, 3], pads: [1, 1, 0, 1], storage_order: so }), [ties([1, 2, 5, 6], 42)]);
      await check((b, [x]) => b.nodeN('MaxPool', [x!], 2, { kernel_shape: [2, 2, 2], strides: [1, 2, 2], storage_order: so }), [ties([1, 2, 4, 5, 4], 43)]);
    });
  }
});
