/**
 * Slice with runtime starts/ends/axes/steps and Tile with runtime repeats on the wasm target
 * (runtime-wasm/assembly/slicert.ts slice_rt / check_ints), Tile views of more than 6 dims,
 * checked against the reference interpreter on models built in code: negative indices and steps,
 * out-of-range clamping, i32 and i64 parameters, several element dtypes, constant and runtime
 * parameters mixed, a trap when the parameters give another shape than the compiled one, and a
 * Loop whose body slices at the iteration number (as the ONNX node test test_loop11).
 */
import { describe, expect, it } from 'vitest';
import onnxproto from 'onnx-proto';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType, ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { tensorToProto } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';

const { onnx } = onnxproto;
const T = onnx.AttributeProto.AttributeType;

function vi(name: string, dt: DType, dims: number[]): onnxproto.onnx.ValueInfoProto {
  return new onnx.ValueInfoProto({
    name,
    type: new onnx.TypeProto({
      tensorType: new onnx.TypeProto.Tensor({
        elemType: ONNX_DTYPE[dt],
        shape: new onnx.TensorShapeProto({ dim: dims.map((d) => new onnx.TensorShapeProto.Dimension({ dimValue: d })) }),
      }),
    }),
  });
}

function node(op: string, input: string[], output: string[], attribute: onnxproto.onnx.AttributeProto[] = []): onnxproto.onnx.NodeProto {
  return new onnx.NodeProto({ opType: op, input, output, attribute, name: `${op}_${output[0]}` });
}

function model(g: onnxproto.onnx.GraphProto, opset = 13): Uint8Array {
  return onnx.ModelProto.encode(new onnx.ModelProto({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: g })).finish();
}

/** Deterministic values of dtype `dt` (small integers for the integer dtypes). */
function data(dt: DType, shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const v = Array.from({ length: n }, () => (dt === 'f32' || dt === 'f64' || dt === 'f16' ? next() * 8 - 4 : Math.floor(next() * 100)));
  return Tensor.from(dt, shape, dt === 'i64' ? v.map((x) => BigInt(x)) : v);
}

const ints = (dt: 'i32' | 'i64', v: number[]): Tensor => Tensor.from(dt, [v.length], dt === 'i64' ? v.map((x) => BigInt(x)) : v);

interface SliceCase {
  xs: number[];
  ys: number[];
  starts: number[];
  ends: number[];
  axes?: number[];
  steps?: number[];
  /** parameters given as initializers instead of graph inputs */
  consts?: ('starts' | 'ends' | 'axes' | 'steps')[];
}

/** Slice(x, starts, ends[, axes[, steps]]) with runtime (graph input) parameters and a declared output shape. */
function sliceModel(dt: DType, it: 'i32' | 'i64', c: SliceCase): { bytes: Uint8Array; inputs: Tensor[] } {
  const names = ['starts', 'ends', 'axes', 'steps'] as const;
  const vals = [c.starts, c.ends, c.axes, c.steps];
  const present = names.filter((_, k) => vals[k] !== undefined);
  const input = [vi('x', dt, c.xs)];
  const inits: onnxproto.onnx.TensorProto[] = [];
  const inputs = [data(dt, c.xs, c.xs.length * 7 + 1)];
  present.forEach((nm) => {
    const t = ints(it, vals[names.indexOf(nm)]!);
    if (c.consts?.includes(nm)) inits.push(tensorToProto(t, nm));
    else {
      input.push(vi(nm, it, [t.shape[0]!]));
      inputs.push(t);
    }
  });
  const g = new onnx.GraphProto({
    name: 'slice_rt', node: [node('Slice', ['x', ...present], ['y'])], input, output: [vi('y', dt, c.ys)], initializer: inits,
  });
  return { bytes: model(g), inputs };
}

async function load(bytes: Uint8Array) {
  const art = compileWasm(importOnnx(bytes));
  return loadWasmArtifact(writeTempArtifact(art.files));
}

async function check(bytes: Uint8Array, sets: Tensor[][]): Promise<void> {
  const m = await load(bytes);
  for (const inputs of sets) {
    const want = runGraph(importOnnx(bytes, { symbolicToOne: false }), inputs);
    const got = runWasmModel(m, inputs);
    expect(got.length).toBe(want.length);
    want.forEach((w, k) => {
      expect(got[k]!.shape).toEqual(w.shape);
      expect(compareTensors(got[k]!, w, { rtol: 0, atol: 0 }), `output ${k}`).toBeNull();
    });
  }
}

const CASES: SliceCase[] = [
  // negative steps with a negative start, an end far below 0 (clamps to -1), negative axes
  { xs: [3, 4, 5], ys: [3, 2, 3], starts: [-1, 1], ends: [-100, 4], axes: [2, -2], steps: [-2, 2] },
  // out-of-range start and end clamp to [0, dim]; default axes and steps
  { xs: [3, 4, 5], ys: [3, 4, 5], starts: [-10], ends: [10] },
  { xs: [3, 4, 5], ys: [2, 2, 5], starts: [1, -3], ends: [2 ** 31 - 1, -1] },
  // a full reversal along the last axis (end INT_MIN-like), start past the end
  { xs: [2, 6], ys: [2, 6], starts: [100], ends: [-(2 ** 31)], axes: [1], steps: [-1] },
  // an empty result
  { xs: [3, 4], ys: [0, 4], starts: [5], ends: [7], axes: [0] },
  // steps larger than the dim, rank 1
  { xs: [7], ys: [1], starts: [2], ends: [7], axes: [0], steps: [10] },
  // runtime starts, constant ends/axes/steps
  { xs: [4, 5], ys: [4, 2], starts: [3], ends: [0], axes: [-1], steps: [-2], consts: ['ends', 'axes', 'steps'] },
];

describe('Slice with runtime parameters on wasm', () => {
  it('matches the reference for negative indices/steps and clamping, i32 and i64 parameters', async () => {
    for (const c of CASES) {
      for (const it of ['i64', 'i32'] as const) {
        const { bytes, inputs } = sliceModel('f32', it, c);
        await check(bytes, [inputs]);
      }
    }
  });

  it('moves elements of 1, 2, 4 and 8 bytes', async () => {
    const c = CASES[0]!;
    for (const dt of ['u8', 'i8', 'f16', 'i16', 'i32', 'f32', 'i64', 'f64'] as DType[]) {
      const { bytes, inputs } = sliceModel(dt, 'i64', c);
      await check(bytes, [inputs]);
    }
  });

  it('one compiled model runs several parameter sets of the same output shape', async () => {
    const c: SliceCase = { xs: [3, 8], ys: [3, 3], starts: [0], ends: [3], axes: [1] };
    const { bytes, inputs } = sliceModel('f32', 'i64', c);
    const sets = [[0, 3], [5, 8], [-3, 100], [-100, -5], [4, 7]].map(([s, e]) => [inputs[0]!, ints('i64', [s!]), ints('i64', [e!]), inputs[3]!]);
    await check(bytes, sets);
  });

  it('traps (an error, no output) when the parameters give another shape than the compiled one', async () => {
    const c: SliceCase = { xs: [3, 8], ys: [3, 3], starts: [0], ends: [3], axes: [1] };
    const { bytes, inputs } = sliceModel('f32', 'i64', c);
    const m = await load(bytes);
    const x = inputs[0]!;
    const axes = inputs[3]!;
    expect(() => runWasmModel(m, [x, ints('i64', [0]), ints('i64', [4]), axes])).toThrow(/model\.wasm failed/);
    expect(() => runWasmModel(m, [x, ints('i64', [7]), ints('i64', [100]), axes])).toThrow(/model\.wasm failed/);
    // an axis out of range traps too
    expect(() => runWasmModel(m, [x, ints('i64', [0]), ints('i64', [3]), ints('i64', [2])])).toThrow(/model\.wasm failed/);
    // the right shape still runs after a trap
    expect(runWasmModel(m, [x, ints('i64', [2]), ints('i64', [5]), axes])[0]!.shape).toEqual([3, 3]);
  });

  it('a Loop body slices at the iteration number (as test_loop11)', async () => {
    // y = y_in + x[i:i+1] for i in 0..M-1, scan output y per iteration; x a graph input
    const body = new onnx.GraphProto({
      name: 'body',
      node: [
        node('Constant', [], ['one'], [new onnx.AttributeProto({ name: 'value', type: T.TENSOR, t: tensorToProto(Tensor.from('i64', [], [1n]), 'one') })]),
        node('Constant', [], ['zero'], [new onnx.AttributeProto({ name: 'value', type: T.TENSOR, t: tensorToProto(Tensor.from('i64', [1], [0n]), 'zero') })]),
        node('Unsqueeze', ['i', 'zero'], ['start']),
        node('Add', ['i', 'one'], ['i1']),
        node('Unsqueeze', ['i1', 'zero'], ['end']),
        node('Slice', ['x', 'start', 'end'], ['s']),
        node('Add', ['y_in', 's'], ['y_out']),
        node('Identity', ['cond_in'], ['cond_out']),
        node('Identity', ['y_out'], ['scan']),
      ],
      input: [vi('i', 'i64', []), vi('cond_in', 'bool', []), vi('y_in', 'f32', [1])],
      output: [vi('cond_out', 'bool', []), vi('y_out', 'f32', [1]), vi('scan', 'f32', [1])],
      valueInfo: [vi('s', 'f32', [1])],
    });
    const g = new onnx.GraphProto({
      name: 'loop',
      node: [node('Loop', ['M', 'cond', 'y0'], ['y', 'ys'], [new onnx.AttributeProto({ name: 'body', type: T.GRAPH, g: body })])],
      input: [vi('x', 'f32', [5]), vi('y0', 'f32', [1])],
      output: [vi('y', 'f32', [1]), vi('ys', 'f32', [5, 1])],
      initializer: [tensorToProto(Tensor.from('i64', [], [5n]), 'M'), tensorToProto(Tensor.from('bool', [], [1]), 'cond')],
    });
    const bytes = model(g, 13);
    await check(bytes, [[data('f32', [5], 3), Tensor.from('f32', [1], [0])], [data('f32', [5], 4), Tensor.from('f32', [1], [-2.5])]]);
  });

  it('Tile with runtime repeats of a static output shape: i32/i64 repeats, any dtype, a trap on other repeats', async () => {
    const tile = (dt: DType, it: 'i32' | 'i64', xs: number[], ys: number[]) => model(new onnx.GraphProto({
      name: 'tile', node: [node('Tile', ['x', 'r'], ['y'])], input: [vi('x', dt, xs), vi('r', it, [xs.length])], output: [vi('y', dt, ys)],
    }));
    for (const dt of ['f32', 'u8', 'f16', 'i64'] as DType[]) {
      for (const it of ['i32', 'i64'] as const) await check(tile(dt, it, [2, 3], [4, 9]), [[data(dt, [2, 3], 5), ints(it, [2, 3])]]);
    }
    // rank 4 and 5: the 8- and 10-dim tile views split into several strided copies
    await check(tile('f32', 'i64', [2, 3, 4, 5], [14, 18, 16, 10]), [[data('f32', [2, 3, 4, 5], 2), ints('i64', [7, 6, 4, 2])]]);
    await check(tile('i16', 'i32', [2, 1, 3, 2, 2], [4, 3, 3, 4, 2]), [[data('i16', [2, 1, 3, 2, 2], 3), ints('i32', [2, 3, 1, 2, 1])]]);
    // an empty axis takes any non-negative repeat
    await check(tile('f32', 'i64', [0, 3], [0, 6]), [[data('f32', [0, 3], 1), ints('i64', [7, 2])], [data('f32', [0, 3], 1), ints('i64', [0, 2])]]);
    const m = await load(tile('f32', 'i64', [2, 3], [4, 9]));
    const x = data('f32', [2, 3], 9);
    expect(() => runWasmModel(m, [x, ints('i64', [2, 2])])).toThrow(/model\.wasm failed/);
    expect(runWasmModel(m, [x, ints('i64', [2, 3])])[0]!.shape).toEqual([4, 9]);
  });

  it('a runtime Slice whose output shape is not static is a one-line unsupported error', () => {
    const body = new onnx.GraphProto({
      name: 'body',
      node: [
        node('Constant', [], ['zero'], [new onnx.AttributeProto({ name: 'value', type: T.TENSOR, t: tensorToProto(Tensor.from('i64', [1], [0n]), 'zero') })]),
        node('Unsqueeze', ['i', 'zero'], ['start']),
        node('Slice', ['x', 'start'], ['s']),
        node('ReduceSum', ['s'], ['t'], [new onnx.AttributeProto({ name: 'keepdims', type: T.INT, i: 1 })]),
        node('Add', ['y_in', 't'], ['y_out']),
        node('Identity', ['cond_in'], ['cond_out']),
      ],
      input: [vi('i', 'i64', []), vi('cond_in', 'bool', []), vi('y_in', 'f32', [1])],
      output: [vi('cond_out', 'bool', []), vi('y_out', 'f32', [1])],
    });
    const g = new onnx.GraphProto({
      name: 'loop',
      node: [node('Loop', ['M', 'cond', 'y0'], ['y'], [new onnx.AttributeProto({ name: 'body', type: T.GRAPH, g: body })])],
      input: [vi('x', 'f32', [5]), vi('y0', 'f32', [1])],
      output: [vi('y', 'f32', [1])],
      initializer: [tensorToProto(Tensor.from('i64', [], [5n]), 'M'), tensorToProto(Tensor.from('bool', [], [1]), 'cond')],
    });
    expect(() => compileWasm(importOnnx(model(g, 13)))).toThrow(/Slice with runtime starts\/ends\/axes\/steps needs a static output shape/);
  });
});
