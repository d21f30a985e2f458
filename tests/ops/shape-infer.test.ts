/**
 * Family C (shape + image ops): shape inference with symbolic dims and constant inputs, value
 * propagation through shape subgraphs, and clean EdgecErrors for bad attributes and inputs.
 */
import { describe, expect, it } from 'vitest';
import { EdgecError, ErrorKind } from '../../compiler/errors.js';
import { DType } from '../../compiler/ir/dtype.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { inferShapes, runGraph } from '../../compiler/interp/interp.js';
import { AttrValue, Graph } from '../../compiler/ir/graph.js';
import { NodeModel, runRef } from './ort-oracle.js';

const i64 = (v: number[]) => Tensor.from('i64', [v.length], v.map((k) => BigInt(k)));

/** Checks that a dim is a symbol (fresh or propagated), not a number. */
const isSym = (d: unknown) => typeof d === 'string';

describe('family C shape inference', () => {
  it('Reshape keeps a symbolic batch through 0 and resolves -1 against known dims', () => {
    const b = new GraphBuilder('g', { '': 17 });
    const x = b.input('x', 'f32', ['N', 3, 4]);
    const y = b.node('Reshape', [x, b.const('s', i64([0, -1]))]);
    expect(b.typeOf(y).shape).toEqual(['N', 12]);
    const z = b.node('Reshape', [x, b.const('s2', i64([-1, 4]))]);
    const zs = b.typeOf(z).shape;
    expect(isSym(zs[0])).toBe(true);
    expect(zs[1]).toBe(4);
    const w = b.node('Reshape', [x, b.const('s3', i64([-1]))]);
    expect(isSym(b.typeOf(w).shape[0])).toBe(true);
  });

  it('Reshape with a runtime shape of known length gives fresh dims of that rank', () => {
    const b = new GraphBuilder('g', { '': 17 });
    const x = b.input('x', 'f32', [2, 3, 4]);
    const s = b.input('s', 'i64', [3]);
    const y = b.node('Reshape', [x, s]);
    expect(b.typeOf(y).shape.length).toBe(3);
    expect(b.typeOf(y).shape.every(isSym)).toBe(true);
  });

  it('Flatten, Shape, Size, Transpose, Concat, Gather keep symbols', () => {
    const b = new GraphBuilder('g', { '': 17 });
    const x = b.input('x', 'f32', ['N', 3, 4]);
    expect(b.typeOf(b.node('Flatten', [x], { axis: 1 })).shape).toEqual(['N', 12]);
    expect(b.typeOf(b.node('Shape', [x]))).toEqual({ dtype: 'i64', shape: [3] });
    expect(b.typeOf(b.node('Size', [x]))).toEqual({ dtype: 'i64', shape: [] });
    expect(b.typeOf(b.node('Transpose', [x], { perm: [2, 0, 1] })).shape).toEqual([4, 'N', 3]);
    expect(b.typeOf(b.node('Concat', [x, x], { axis: 1 })).shape).toEqual(['N', 6, 4]);
    const c0 = b.typeOf(b.node('Concat', [x, x], { axis: 0 })).shape;
    expect(isSym(c0[0])).toBe(true);
    expect(b.typeOf(b.node('Gather', [x, b.const('i', i64([0, 2]))], { axis: 2 })).shape).toEqual(['N', 3, 2]);
  });

  it('Slice uses constant starts/ends and keeps untouched dims', () => {
    const b = new GraphBuilder('g', { '': 13 });
    const x = b.input('x', 'f32', ['N', 10, 5]);
    const y = b.node('Slice', [x, b.const('st', i64([1, -1])), b.const('en', i64([9, -100000])), b.const('ax', i64([1, 2])), b.const('sp', i64([2, -1]))]);
    expect(b.typeOf(y).shape).toEqual(['N', 4, 5]);
    const st = b.input('st2', 'i64', [1]);
    const z = b.node('Slice', [x, st, b.const('en2', i64([3])), b.const('ax2', i64([2]))]);
    const zs = b.typeOf(z).shape;
    expect(zs[0]).toBe('N');
    expect(zs[1]).toBe(10);
    expect(isSym(zs[2])).toBe(true);
  });

  it('Expand with an unknown shape keeps dims other than 1', () => {
    const b = new GraphBuilder('g', { '': 13 });
    const x = b.input('x', 'f32', [3, 1]);
    const s = b.input('s', 'i64', [3]);
    const ys = b.typeOf(b.node('Expand', [x, s])).shape;
    expect(ys.length).toBe(3);
    expect(isSym(ys[0])).toBe(true);
    expect(ys[1]).toBe(3);
    expect(isSym(ys[2])).toBe(true);
    expect(b.typeOf(b.node('Expand', [x, b.const('c', i64([2, 1, 4]))])).shape).toEqual([2, 3, 4]);
  });

  it('Split, Pad, Tile, Range, ConstantOfShape, NonZero, Resize', () => {
    const b = new GraphBuilder('g', { '': 18 });
    const x = b.input('x', 'f32', ['N', 2, 8, 8]);
    const parts = b.nodeN('Split', [x], 3, { axis: 2, num_outputs: 3 });
    expect(parts.map((p) => b.typeOf(p).shape[2])).toEqual([3, 3, 2]);
    expect(b.typeOf(b.node('Pad', [x, b.const('p', i64([0, 0, 1, 2, 0, 0, 3, 4]))])).shape).toEqual(['N', 2, 12, 14]);
    const t = b.typeOf(b.node('Tile', [x, b.const('r', i64([1, 2, 1, 3]))])).shape;
    expect(t).toEqual(['N', 4, 8, 24]);
    const r = b.node('Range', [b.const('a', 'f32', [], [0]), b.const('l', 'f32', [], [5]), b.const('d', 'f32', [], [2])]);
    expect(b.typeOf(r)).toEqual({ dtype: 'f32', shape: [3] });
    const sh = b.input('sh', 'i64', [2]);
    const cs = b.typeOf(b.node('ConstantOfShape', [sh], { value: Tensor.from('i32', [1], [1]) }));
    expect(cs.dtype).toBe('i32');
    expect(cs.shape.length).toBe(2);
    const nz = b.typeOf(b.node('NonZero', [x])).shape;
    expect(nz[0]).toBe(4);
    expect(isSym(nz[1])).toBe(true);
    const rs = b.node('Resize', [x, null, b.const('sc', 'f32', [4], [1, 1, 2, 0.5])], { mode: 'linear' });
    expect(b.typeOf(rs).shape).toEqual(['N', 2, 16, 4]);
    const rz = b.node('Resize', [x, null, null, b.const('sz', i64([5, 7]))], { axes: [2, 3] });
    expect(b.typeOf(rz).shape).toEqual(['N', 2, 5, 7]);
  });

  it('propagates values through Shape -> Gather -> Concat -> Reshape before constant folding', () => {
    // built with the raw Graph API: GraphBuilder infers node by node, without propagation
    const g = new Graph();
    g.opsets = { '': 13 };
    const val = (name: string) => g.addValue(name, { dtype: 'f32', shape: [] }).id;
    const x = g.addValue('x', { dtype: 'f32', shape: [2, 3, 4] }).id;
    g.inputs.push(x);
    const node = (op: string, inputs: number[], attrs: Record<string, AttrValue> = {}) => {
      const o = val(`${op}_${g.nodes.size}`);
      g.addNode({ op, inputs, outputs: [o], attrs });
      return o;
    };
    const cst = (name: string, t: Tensor) => g.addConst(name, t).id;
    const shape = node('Shape', [x]);
    const first = node('Gather', [shape, cst('i0', i64([0]))], { axis: 0 });
    const target = node('Concat', [first, cst('m1', i64([-1]))], { axis: 0 });
    const y = node('Reshape', [x, target]);
    const ones = node('ConstantOfShape', [node('Shape', [node('Shape', [y])])], { value: Tensor.from('i64', [1], [1n]) });
    const z = node('Expand', [cst('one', Tensor.from('f32', [1], [1])), node('Concat', [ones, cst('k', i64([5]))], { axis: 0 })]);
    g.outputs.push(y, z);
    inferShapes(g);
    expect(g.typeOf(y).shape).toEqual([2, 12]);
    expect(g.typeOf(z).shape).toEqual([1, 1, 5]);
    const out = runGraph(g, [Tensor.zeros('f32', [2, 3, 4])]);
    expect(out[0]!.shape).toEqual([2, 12]);
    expect(out[1]!.shape).toEqual([1, 1, 5]);
  });

  it('symbolic Shape values are not guessed', () => {
    const b = new GraphBuilder('g', { '': 13 });
    const x = b.input('x', 'f32', ['N', 3]);
    const y = b.node('Reshape', [x, b.node('Shape', [x])]);
    b.output(y);
    const g = b.build();
    expect(g.typeOf(y).shape.length).toBe(2);
    expect(runGraph(g, [Tensor.zeros('f32', [5, 3])])[0]!.shape).toEqual([5, 3]);
  });
});

interface BadCase extends NodeModel {
  name: string;
  out: DType[];
  kind: ErrorKind;
  msg: RegExp;
}

const x = Tensor.from('f32', [2, 3], [1, 2, 3, 4, 5, 6]);
const x4 = Tensor.zeros('f32', [1, 4, 2, 2]);
const bad: BadCase[] = [
  { name: 'Transpose perm not a permutation', op: 'Transpose', opset: 13, inputs: [x], attrs: { perm: [0, 0] }, out: ['f32'], kind: 'invalid', msg: /permutation/ },
  { name: 'Transpose perm wrong length', op: 'Transpose', opset: 13, inputs: [x], attrs: { perm: [1, 0, 2] }, out: ['f32'], kind: 'invalid', msg: /perm/ },
  { name: 'Reshape two -1', op: 'Reshape', opset: 13, inputs: [x, i64([-1, -1])], out: ['f32'], kind: 'invalid', msg: /more than one -1/ },
  { name: 'Reshape element count mismatch', op: 'Reshape', opset: 13, inputs: [x, i64([4, 2])], out: ['f32'], kind: 'invalid', msg: /cannot reshape/ },
  { name: 'Reshape opset 1 without shape attribute', op: 'Reshape', opset: 1, inputs: [x], out: ['f32'], kind: 'invalid', msg: /required/ },
  { name: 'Flatten axis out of range', op: 'Flatten', opset: 13, inputs: [x], attrs: { axis: 3 }, out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'Concat without axis', op: 'Concat', opset: 13, inputs: [x, x], out: ['f32'], kind: 'invalid', msg: /axis/ },
  { name: 'Concat axis out of range', op: 'Concat', opset: 13, inputs: [x, x], attrs: { axis: 2 }, out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'Concat mismatched dims', op: 'Concat', opset: 13, inputs: [x, Tensor.zeros('f32', [2, 2])], attrs: { axis: 0 }, out: ['f32'], kind: 'invalid', msg: /differ/ },
  { name: 'Split sizes do not sum', op: 'Split', opset: 13, inputs: [x, i64([1, 1])], attrs: { axis: 1 }, outputs: 2, out: ['f32', 'f32'], kind: 'invalid', msg: /sum/ },
  { name: 'Split num_outputs mismatch', op: 'Split', opset: 18, inputs: [x], attrs: { axis: 1, num_outputs: 3 }, out: ['f32', 'f32'], kind: 'invalid', msg: /num_outputs/ },
  { name: 'Slice zero step', op: 'Slice', opset: 13, inputs: [x, i64([0]), i64([2]), i64([0]), i64([0])], out: ['f32'], kind: 'invalid', msg: /steps/ },
  { name: 'Slice repeated axes', op: 'Slice', opset: 13, inputs: [x, i64([0, 0]), i64([1, 1]), i64([1, -1])], out: ['f32'], kind: 'invalid', msg: /duplicate/ },
  { name: 'Squeeze a dim that is not 1', op: 'Squeeze', opset: 13, inputs: [x, i64([0])], out: ['f32'], kind: 'invalid', msg: /cannot squeeze/ },
  { name: 'Unsqueeze duplicate axes', op: 'Unsqueeze', opset: 13, inputs: [x, i64([0, -4])], out: ['f32'], kind: 'invalid', msg: /duplicate/ },
  { name: 'Unsqueeze opset 11 without axes', op: 'Unsqueeze', opset: 11, inputs: [x], out: ['f32'], kind: 'invalid', msg: /required/ },
  { name: 'Pad wrong pads length', op: 'Pad', opset: 13, inputs: [x, i64([1, 1])], out: ['f32'], kind: 'invalid', msg: /pads has 2 entries/ },
  { name: 'Pad wrap before opset 19', op: 'Pad', opset: 18, inputs: [x, i64([1, 1, 1, 1])], attrs: { mode: 'wrap' }, out: ['f32'], kind: 'invalid', msg: /mode/ },
  { name: 'Pad unknown mode', op: 'Pad', opset: 11, inputs: [x, i64([1, 1, 1, 1])], attrs: { mode: 'mirror' }, out: ['f32'], kind: 'invalid', msg: /mode/ },
  { name: 'Tile negative repeats', op: 'Tile', opset: 13, inputs: [x, i64([1, -1])], out: ['f32'], kind: 'invalid', msg: /non-negative/ },
  { name: 'Tile repeats wrong length', op: 'Tile', opset: 13, inputs: [x, i64([2])], out: ['f32'], kind: 'invalid', msg: /repeats/ },
  { name: 'Expand incompatible shape', op: 'Expand', opset: 13, inputs: [x, i64([4, 3])], out: ['f32'], kind: 'invalid', msg: /broadcast/ },
  { name: 'Gather index out of range', op: 'Gather', opset: 13, inputs: [x, i64([2])], out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'Gather float indices', op: 'Gather', opset: 13, inputs: [x, Tensor.from('f32', [1], [0])], out: ['f32'], kind: 'invalid', msg: /int32 or int64/ },
  { name: 'GatherElements index out of range', op: 'GatherElements', opset: 13, inputs: [x, i64([0, 5]).reshape([1, 2])], attrs: { axis: 1 }, out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'GatherND index tuple too long', op: 'GatherND', opset: 13, inputs: [x, Tensor.from('i64', [1, 3], [0n, 0n, 0n])], out: ['f32'], kind: 'invalid', msg: /exceeds|must be/ },
  { name: 'ScatterElements max before opset 18', op: 'ScatterElements', opset: 16, inputs: [x, i64([0]).reshape([1, 1]), Tensor.from('f32', [1, 1], [1])], attrs: { reduction: 'max' }, out: ['f32'], kind: 'invalid', msg: /reduction/ },
  { name: 'ScatterND bad updates shape', op: 'ScatterND', opset: 13, inputs: [x, Tensor.from('i64', [1, 1], [0n]), Tensor.from('f32', [2], [1, 2])], out: ['f32'], kind: 'invalid', msg: /updates shape/ },
  { name: 'DepthToSpace blocksize 0', op: 'DepthToSpace', opset: 13, inputs: [x4], attrs: { blocksize: 0 }, out: ['f32'], kind: 'invalid', msg: /blocksize/ },
  { name: 'DepthToSpace bad mode', op: 'DepthToSpace', opset: 13, inputs: [x4], attrs: { blocksize: 2, mode: 'XYZ' }, out: ['f32'], kind: 'invalid', msg: /mode/ },
  { name: 'DepthToSpace channels not divisible', op: 'DepthToSpace', opset: 13, inputs: [x4], attrs: { blocksize: 3 }, out: ['f32'], kind: 'invalid', msg: /divisible/ },
  { name: 'SpaceToDepth spatial not divisible', op: 'SpaceToDepth', opset: 13, inputs: [x4], attrs: { blocksize: 3 }, out: ['f32'], kind: 'invalid', msg: /divisible/ },
  { name: 'OneHot axis out of range', op: 'OneHot', opset: 11, inputs: [i64([0, 1]), i64([3]), Tensor.from('f32', [2], [0, 1])], attrs: { axis: 2 }, out: ['f32'], kind: 'invalid', msg: /out of range/ },
  { name: 'Range delta 0', op: 'Range', opset: 11, inputs: [Tensor.scalar('f32', 0), Tensor.scalar('f32', 1), Tensor.scalar('f32', 0)], out: ['f32'], kind: 'invalid', msg: /delta/ },
  { name: 'ConstantOfShape negative dim', op: 'ConstantOfShape', opset: 9, inputs: [i64([2, -1])], out: ['f32'], kind: 'invalid', msg: /dim/ },
  { name: 'Trilu on 1-D', op: 'Trilu', opset: 14, inputs: [Tensor.zeros('f32', [3])], out: ['f32'], kind: 'invalid', msg: /rank >= 2/ },
  { name: 'Resize unknown mode', op: 'Resize', opset: 13, inputs: [x4, null, Tensor.from('f32', [4], [1, 1, 2, 2])], attrs: { mode: 'area' }, out: ['f32'], kind: 'invalid', msg: /mode/ },
  { name: 'Resize scales wrong length', op: 'Resize', opset: 13, inputs: [x4, null, Tensor.from('f32', [2], [2, 2])], out: ['f32'], kind: 'invalid', msg: /scales has 2 entries/ },
  { name: 'Resize half_pixel_symmetric before opset 19', op: 'Resize', opset: 18, inputs: [x4, null, Tensor.from('f32', [4], [1, 1, 2, 2])], attrs: { coordinate_transformation_mode: 'half_pixel_symmetric' }, out: ['f32'], kind: 'invalid', msg: /coordinate_transformation_mode/ },
  { name: 'Resize antialias with nearest', op: 'Resize', opset: 18, inputs: [x4, null, Tensor.from('f32', [4], [1, 1, 2, 2])], attrs: { antialias: 1 }, out: ['f32'], kind: 'invalid', msg: /antialias/ },
  { name: 'GridSample opset 20 mode name at opset 16', op: 'GridSample', opset: 16, inputs: [x4, Tensor.zeros('f32', [1, 2, 2, 2])], attrs: { mode: 'linear' }, out: ['f32'], kind: 'invalid', msg: /mode/ },
  { name: 'GridSample 5-D at opset 16', op: 'GridSample', opset: 16, inputs: [Tensor.zeros('f32', [1, 1, 2, 2, 2]), Tensor.zeros('f32', [1, 2, 2, 2, 3])], out: ['f32'], kind: 'invalid', msg: /4-D/ },
  { name: 'AffineGrid size of wrong length', op: 'AffineGrid', opset: 20, inputs: [Tensor.zeros('f32', [1, 2, 3]), i64([1, 1, 2])], out: ['f32'], kind: 'invalid', msg: /4 or 5/ },
];

describe('family C validation errors', () => {
  it.each(bad.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    let err: unknown;
    try {
      runRef(c, c.out);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    const ee = err as EdgecError;
    expect(ee.kind, ee.message).toBe(c.kind);
    expect(ee.message).toMatch(c.msg);
    expect(ee.ctx.op).toBe(c.op);
  });
});
