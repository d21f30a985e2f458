/**
 * TF ops real TF.js models use besides the basic set: BroadcastTo, Atan2, SpaceToBatchND /
 * BatchToSpaceND (TF documentation examples), SparseToDense, ResizeNearestNeighbor with a runtime
 * size, Conv2DBackpropInput whose input_sizes is computed in the graph (folded at import), dynamic
 * Slice / Pad. Expected values are written by hand from the TF op documentation or computed with
 * naive JS (Math.atan2, nested loops), never with the frontend.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { verify } from '../../compiler/ir/verify.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { b64, f32Bytes, i32Bytes, node, tfShape, tmpDir, writeModel, cleanup } from './fixture.js';
import { arr, convTranspose, lcg } from './naive.js';

interface C { name: string; shape: number[]; dtype?: 'float32' | 'int32'; data: number[] }
interface In { name: string; dtype: 'DT_FLOAT' | 'DT_INT32'; shape: number[] }

const f = (name: string, data: number[], shape: number[] = data.length === 1 ? [] : [data.length]): C => ({ name, shape, data });
const i = (name: string, data: number[], shape: number[] = data.length === 1 ? [] : [data.length]): C => ({ name, shape, dtype: 'int32', data });
const iota = (n: number, from = 0) => Array.from({ length: n }, (_, k) => k + from);

function load(nodes: unknown[], consts: C[], inputs: In[], outputs: string[]): Graph {
  const parts = consts.map((c) => ((c.dtype ?? 'float32') === 'int32' ? i32Bytes(c.data) : f32Bytes(c.data)));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  const json = {
    format: 'graph-model', generatedBy: 'test', convertedBy: 'test',
    modelTopology: {
      node: [
        ...inputs.map((x) => node(x.name, 'Placeholder', [], { dtype: { type: x.dtype }, shape: tfShape(x.shape) })),
        ...consts.map((c) => node(c.name, 'Const', [], {})),
        ...nodes,
      ],
    },
    signature: { outputs: Object.fromEntries(outputs.map((n) => [n, { name: n }])) },
    weightsManifest: [{ paths: ['w.bin'], weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype ?? 'float32' })) }],
  };
  const g = loadTfjsModel(writeModel(tmpDir('ops2'), json, { 'w.bin': bytes }));
  verify(g);
  return g;
}

function run(g: Graph, xs: Tensor[]): Tensor[] {
  const a = runGraph(g, xs);
  const h = g.clone();
  optimize(h, { target: 'wasm', verify: true });
  const b = runGraph(h, xs);
  a.forEach((t, k) => expect(compareTensors(b[k]!, t, { rtol: 1e-6, atol: 1e-7 }), `optimized output ${k}`).toBeNull());
  return a;
}

const close = (got: Tensor, want: number[], shape: number[], tol = { rtol: 1e-6, atol: 1e-6 }) => {
  expect(got.shape).toEqual(shape);
  expect(compareTensors(got, Tensor.from(got.dtype, shape, want), tol)).toBeNull();
};
const F = { T: { type: 'DT_FLOAT' } };

afterAll(cleanup);

describe('tfjs graph ops (more)', () => {
  it('BroadcastTo [3, 1] -> [2, 3, 4]', () => {
    const g = load([node('y', 'BroadcastTo', ['x', 'shape'])], [i('shape', [2, 3, 4])], [{ name: 'x', dtype: 'DT_FLOAT', shape: [3, 1] }], ['y']);
    const [y] = run(g, [Tensor.from('f32', [3, 1], [1, 2, 3])]);
    const want: number[] = [];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) want.push(b + 1);
    close(y!, want, [2, 3, 4]);
  });

  it('Atan2 in all four quadrants and on the axes (vs Math.atan2)', () => {
    const ys = [1, 1, -1, -1, 0, 2, -3, 0, 0.5, -0.25];
    const xs = [1, -1, -1, 1, -2, 0, 0, 0, 3, -4];
    const g = load([node('a', 'Atan2', ['y', 'x'], F)], [f('x', xs)], [{ name: 'y', dtype: 'DT_FLOAT', shape: [ys.length] }], ['a']);
    const [a] = run(g, [Tensor.from('f32', [ys.length], ys)]);
    close(a!, ys.map((y, k) => Math.atan2(y, xs[k]!)), [ys.length], { rtol: 1e-6, atol: 1e-6 });
  });

  it('SpaceToBatchND / BatchToSpaceND: the TF documentation examples, both directions', () => {
    // tf.space_to_batch_nd example 3: x [1, 4, 4, 1] = 1..16, block [2, 2], no padding
    const g = load([
      node('s2b', 'SpaceToBatchND', ['x', 'block', 'pads0']),
      node('b2s', 'BatchToSpaceND', ['s2b', 'block', 'pads0']),
    ], [i('block', [2, 2]), i('pads0', [0, 0, 0, 0], [2, 2])], [{ name: 'x', dtype: 'DT_FLOAT', shape: [1, 4, 4, 1] }], ['s2b', 'b2s']);
    const [s2b, b2s] = run(g, [Tensor.from('f32', [1, 4, 4, 1], iota(16, 1))]);
    close(s2b!, [1, 3, 9, 11, 2, 4, 10, 12, 5, 7, 13, 15, 6, 8, 14, 16], [4, 2, 2, 1]);
    close(b2s!, iota(16, 1), [1, 4, 4, 1]);
    // example 4: x [2, 2, 4, 1], block [2, 2], paddings [[0, 0], [2, 0]] -> [8, 1, 3, 1]; crops undo it
    const g2 = load([
      node('s2b', 'SpaceToBatchND', ['x', 'block', 'pads']),
      node('b2s', 'BatchToSpaceND', ['s2b', 'block', 'pads']),
    ], [i('block', [2, 2]), i('pads', [0, 0, 2, 0], [2, 2])], [{ name: 'x', dtype: 'DT_FLOAT', shape: [2, 2, 4, 1] }], ['s2b', 'b2s']);
    const [p, q] = run(g2, [Tensor.from('f32', [2, 2, 4, 1], iota(16, 1))]);
    close(p!, [0, 1, 3, 0, 9, 11, 0, 2, 4, 0, 10, 12, 0, 5, 7, 0, 13, 15, 0, 6, 8, 0, 14, 16], [8, 1, 3, 1]);
    close(q!, iota(16, 1), [2, 2, 4, 1]);
  });

  it('SparseToDense: [n, rank] indices, vector values, default value', () => {
    const g = load([node('d', 'SparseToDense', ['idx', 'shape', 'v', 'dflt'], { validate_indices: { b: true } })],
      [i('idx', [0, 1, 2, 3, 1, 0], [3, 2]), i('shape', [3, 4]), f('dflt', [-1])], [{ name: 'v', dtype: 'DT_FLOAT', shape: [3] }], ['d']);
    const [d] = run(g, [Tensor.from('f32', [3], [5, 7, 9])]);
    close(d!, [-1, 5, -1, -1, 9, -1, -1, -1, -1, -1, -1, 7], [3, 4]);
    // 1-D indices into a 1-D output with one scalar value
    const g1 = load([node('d', 'SparseToDense', ['idx', 'shape', 'v', 'dflt'])], [i('idx', [4, 1]), i('shape', [6]), f('dflt', [0])],
      [{ name: 'v', dtype: 'DT_FLOAT', shape: [] }], ['d']);
    close(run(g1, [Tensor.from('f32', [], [2.5])])[0]!, [0, 2.5, 0, 0, 2.5, 0], [6]);
  });

  it('ResizeNearestNeighbor with a size computed from the input shape (folded) and with a runtime size', () => {
    // size = 2 * Shape(x)[1:3]: folds to a constant at import
    const nodes = [
      node('sh', 'Shape', ['x'], { out_type: { type: 'DT_INT32' } }),
      node('hw', 'StridedSlice', ['sh', 'b', 'e', 's'], { begin_mask: { i: '0' }, end_mask: { i: '0' } }),
      node('size', 'Mul', ['hw', 'two']),
      node('up', 'ResizeNearestNeighbor', ['x', 'size']),
      node('up_rt', 'ResizeNearestNeighbor', ['x', 'sz']),
    ];
    const g = load(nodes, [i('b', [1]), i('e', [3]), i('s', [1]), i('two', [2])],
      [{ name: 'x', dtype: 'DT_FLOAT', shape: [1, 2, 3, 1] }, { name: 'sz', dtype: 'DT_INT32', shape: [2] }], ['up', 'up_rt']);
    expect(g.typeOf(g.outputs[0]!).shape).toEqual([1, 4, 6, 1]);
    const x = Tensor.from('f32', [1, 2, 3, 1], [1, 2, 3, 4, 5, 6]);
    // asymmetric nearest: out[i][j] = x[floor(i * h / oh)][floor(j * w / ow)]
    const nearest = (oh: number, ow: number) => {
      const out: number[] = [];
      for (let r = 0; r < oh; r++) for (let c = 0; c < ow; c++) out.push(1 + Math.floor((r * 2) / oh) * 3 + Math.floor((c * 3) / ow));
      return out;
    };
    let [up, rt] = run(g, [x, Tensor.from('i32', [2], [4, 6])]);
    close(up!, nearest(4, 6), [1, 4, 6, 1]);
    close(rt!, nearest(4, 6), [1, 4, 6, 1]);
    [up, rt] = run(g, [x, Tensor.from('i32', [2], [3, 2])]);
    close(rt!, nearest(3, 2), [1, 3, 2, 1]);
  });

  it('Conv2DBackpropInput whose input_sizes is Pack(Shape(x)[0], consts) folds at import', () => {
    const r = lcg(5);
    const rnd = (n: number) => Array.from({ length: n }, () => Math.fround(r()));
    const xin = rnd(1 * 3 * 3 * 2);
    const k = rnd(3 * 3 * 3 * 2);
    const nodes = [
      node('sh', 'Shape', ['x'], { out_type: { type: 'DT_INT32' } }),
      node('n', 'StridedSlice', ['sh', 'b0', 'e1', 's1'], { shrink_axis_mask: { i: '1' } }),
      node('os', 'Pack', ['n', 'h', 'w', 'c'], { axis: { i: '0' } }),
      node('dc', 'Conv2DBackpropInput', ['os', 'k', 'x'], { strides: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: b64('SAME') } }),
    ];
    const g = load(nodes, [i('b0', [0]), i('e1', [1]), i('s1', [1]), i('h', [6]), i('w', [5]), i('c', [3]), { name: 'k', shape: [3, 3, 3, 2], data: k }],
      [{ name: 'x', dtype: 'DT_FLOAT', shape: [1, 3, 3, 2] }], ['dc']);
    const [dc] = run(g, [Tensor.from('f32', [1, 3, 3, 2], xin)]);
    const want = convTranspose(arr([1, 3, 3, 2], xin), arr([3, 3, 3, 2], k), null, [2, 2], 'same', 6, 5);
    close(dc!, Array.from(want.data), [1, 6, 5, 3], { rtol: 1e-5, atol: 1e-6 });
  });

  it('Slice and Pad with runtime begin/size and paddings', () => {
    const nodes = [
      node('sl', 'Slice', ['x', 'begin', 'size']),
      node('pd', 'Pad', ['x', 'pads']),
    ];
    const g = load(nodes, [], [
      { name: 'x', dtype: 'DT_FLOAT', shape: [3, 4] }, { name: 'begin', dtype: 'DT_INT32', shape: [2] },
      { name: 'size', dtype: 'DT_INT32', shape: [2] }, { name: 'pads', dtype: 'DT_INT32', shape: [2, 2] },
    ], ['sl', 'pd']);
    const x = Tensor.from('f32', [3, 4], iota(12));
    const [sl, pd] = run(g, [x, Tensor.from('i32', [2], [1, 1]), Tensor.from('i32', [2], [-1, 2]), Tensor.from('i32', [2, 2], [1, 0, 0, 2])]);
    // x[1:, 1:3]
    close(sl!, [5, 6, 9, 10], [2, 2]);
    // one zero row before, two zero columns after
    close(pd!, [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 7, 0, 0, 8, 9, 10, 11, 0, 0], [4, 6]);
  });
});
