import { describe, expect, it } from 'vitest';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { removeIdentity } from '../../compiler/passes/remove-identity.js';
import { dce } from '../../compiler/passes/dce.js';
import { constFold } from '../../compiler/passes/const-fold.js';
import { foldShape } from '../../compiler/passes/fold-shape.js';
import { shapeInfer } from '../../compiler/passes/shape-infer.js';
import { passCtx } from '../../compiler/passes/pass.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { STRUCT, checkPass } from './helpers.js';

describe('remove-identity', () => {
  it('removes Identity, Dropout, no-op Reshape/Transpose/Cast/Pad/Slice/Expand', () => {
    const before = `graph { input %0 : f32[2,3]
      %1 = Identity(%0)
      %2 = Relu(%1)
      const %10 : i64[2] = [2, 3]
      %3 = Reshape(%2, %10)
      %4 = Transpose(%3) {perm=[0,1]}
      %5 = Cast(%4) {to=1}
      %6 = Dropout(%5)
      const %11 : i64[4] = [0, 0, 0, 0]
      %7 = Pad(%6, %11)
      const %12 : i64[2] = [0, 0]
      const %13 : i64[2] = [2, 3]
      %8 = Slice(%7, %12, %13)
      %9 = Expand(%8, %10)
      output %9 }`;
    const expected = `graph { input %0 : f32[2,3]
      %1 = Relu(%0)
      const %10 : i64[2] = [2, 3]
      const %11 : i64[4] = [0, 0, 0, 0]
      const %12 : i64[2] = [0, 0]
      const %13 : i64[2] = [2, 3]
      output %1 }`;
    checkPass(removeIdentity, before, expected, { expectChange: true });
  });

  it('keeps nodes that do change their input', () => {
    const before = `graph { input %0 : f32[2,3]
      const %10 : i64[2] = [3, 2]
      %1 = Reshape(%0, %10)
      %2 = Transpose(%1) {perm=[1,0]}
      %3 = Cast(%2) {to=10}
      const %11 : i64[4] = [0, 1, 0, 0]
      %4 = Pad(%0, %11)
      const %12 : i64[1] = [-1]
      const %13 : i64[1] = [-100]
      const %14 : i64[1] = [1]
      %5 = Slice(%0, %12, %13, %14, %12)
      output %3, %4, %5 }`;
    checkPass(removeIdentity, before, before, { expectChange: false });
  });

  it('keeps an Identity between a graph input and a graph output (names are public)', () => {
    const before = 'graph { input %0 : f32[2]\n %1 = Identity(%0)\n output %1 }';
    checkPass(removeIdentity, before, before, { expectChange: false });
  });

  it('keeps the public output name when bypassing', () => {
    const g = parse('graph { input %0 "x" : f32[2]\n %1 "r" = Relu(%0)\n %2 "y" = Identity(%1)\n output %2 }');
    removeIdentity.run(g, passCtx());
    expect(g.value(g.outputs[0]!).name).toBe('y');
  });
});

describe('dce', () => {
  it('removes dead nodes, dangling values and unused consts', () => {
    const before = `graph { input %0 : f32[2]
      const %1 : f32[2] = [1, 2]
      const %2 : f32[2] = [3, 4]
      %3 = Add(%0, %1)
      %4 = Relu(%3)
      %5 = Add(%4, %2)
      output %4 }`;
    const expected = `graph { input %0 : f32[2]
      const %1 : f32[2] = [1, 2]
      %3 = Add(%0, %1)
      %4 = Relu(%3)
      output %4 }`;
    const g = checkPass(dce, before, expected, { expectChange: true });
    expect(g.values.size).toBe(4);
  });
});

describe('fold-shape + const-fold', () => {
  const before = `graph { input %0 : f32[2,3,4]
    %1 = Shape(%0)
    const %2 : i64[1] = [0]
    %3 = Gather(%1, %2) {axis=0}
    const %4 : i64[1] = [-1]
    %5 = Concat(%3, %4) {axis=0}
    %6 = Reshape(%0, %5)
    %7 = Size(%0)
    %8 = Shape(%0) {start=-2}
    output %6, %7, %8 }`;

  it('fold-shape turns Shape/Size of known shapes into constants', () => {
    const expected = `graph { input %0 : f32[2,3,4]
      const %1 : i64[3] = [2, 3, 4]
      const %2 : i64[1] = [0]
      %3 = Gather(%1, %2) {axis=0}
      const %4 : i64[1] = [-1]
      %5 = Concat(%3, %4) {axis=0}
      %6 = Reshape(%0, %5)
      const %7 : i64[] = [24]
      const %8 : i64[2] = [3, 4]
      output %6, %7, %8 }`;
    checkPass(foldShape, before, expected, { expectChange: true });
  });

  it('const-fold then folds the Gather/Concat chain and dce cleans up', () => {
    const expected = `graph { input %0 : f32[2,3,4]
      const %5 : i64[2] = [2, -1]
      %6 = Reshape(%0, %5)
      const %7 : i64[] = [24]
      const %8 : i64[2] = [3, 4]
      output %6, %7, %8 }`;
    checkPass([foldShape, constFold, dce], before, expected, { expectChange: true });
  });

  it('leaves Shape of a symbolic dim alone', () => {
    const src = 'graph { input %0 : f32["N",3]\n %1 = Shape(%0)\n output %1 }';
    checkPass(foldShape, src, src, { expectChange: false, numeric: false });
  });
});

describe('const-fold', () => {
  const src = `graph { input %0 : f32[4]
    const %1 : f32[4] = [1, 2, 3, 4]
    const %2 : f32[4] = [0.5, 0.5, 0.5, 0.5]
    %3 = Add(%1, %2)
    %4 = Add(%0, %3)
    output %4 }`;

  it('evaluates all-constant nodes with the reference kernels', () => {
    const expected = `graph { input %0 : f32[4]
      const %1 : f32[4] = [1, 2, 3, 4]
      const %2 : f32[4] = [0.5, 0.5, 0.5, 0.5]
      const %3 : f32[4] = [1.5, 2.5, 3.5, 4.5]
      %4 = Add(%0, %3)
      output %4 }`;
    checkPass(constFold, src, expected, { expectChange: true });
  });

  it('respects maxFoldBytes', () => {
    checkPass(constFold, src, src, { options: { maxFoldBytes: 15 }, expectChange: false });
    checkPass(constFold, src, undefined, { options: { maxFoldBytes: 16 }, expectChange: true });
  });

  it('folds Constant nodes and whole constant subgraphs that are graph outputs', () => {
    const b = new GraphBuilder();
    const c = b.node('Constant', [], { value_floats: [1, -2, 3] });
    const r = b.node('Relu', [c]);
    b.output(r);
    const g = checkPass(constFold, b.build(), 'graph { const %0 : f32[3] = [1, 0, 3]\n const %1 : f32[3] = [1, -2, 3]\n output %0 }', { expectChange: true });
    expect(g.nodes.size).toBe(0);
  });
});

describe('shape-infer', () => {
  it('fills in types and reports no change when they are already right', () => {
    const g = parse('graph { input %0 : f32[2,3]\n %1 = Relu(%0) : f32[2,3]\n output %1 }');
    expect(shapeInfer.run(g, passCtx())).toBe(false);
    g.value(g.outputs[0]!).type = { dtype: 'f32', shape: ['a', 'b'] };
    expect(shapeInfer.run(g, passCtx())).toBe(true);
    expect(print(g, STRUCT)).toContain(': f32[2,3]');
  });
});
