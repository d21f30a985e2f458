import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { foldBatchnorm } from '../../compiler/passes/fold-batchnorm.js';
import { matmulAddToGemmPass } from '../../compiler/passes/matmul-add-to-gemm.js';
import { fuseActivation } from '../../compiler/passes/fuse-activation.js';
import { dce } from '../../compiler/passes/dce.js';
import { checkPass, randTensor } from './helpers.js';

const ops = (g: Graph): string[] => g.orderedNodes().map((n) => (n.domain ? `${n.domain}.${n.op}` : n.op));

/** BN parameters for C channels with positive variance. */
function bn(b: GraphBuilder, x: number, c: number, seed: number, attrs: Record<string, number> = {}): number {
  const gamma = b.const('gamma', randTensor([c], seed, 0.5, 2));
  const beta = b.const('beta', randTensor([c], seed + 1));
  const mean = b.const('mean', randTensor([c], seed + 2));
  const v = b.const('var', randTensor([c], seed + 3, 0.2, 3));
  return b.node('BatchNormalization', [x, gamma, beta, mean, v], attrs, { name: 'bn' });
}

describe('fold-batchnorm', () => {
  // s = gamma/sqrt(var+eps) = [2/2, 1/0.5] = [1, 2]; W' = W*s = [1, 4]; b' = (b-mu)*s+beta = [0.5, -6]
  it('folds BN into Conv weights and bias (hand-computed values)', () => {
    const before = `graph { input %0 : f32[1,1,2,2]
      const %1 : f32[2,1,1,1] = [1, 2]
      const %2 : f32[2] = [1, -1]
      %3 = Conv(%0, %1, %2)
      const %4 : f32[2] = [2, 1]
      const %5 : f32[2] = [0.5, 0]
      const %6 : f32[2] = [1, 2]
      const %7 : f32[2] = [4, 0.25]
      %8 = BatchNormalization(%3, %4, %5, %6, %7) {epsilon=0}
      output %8 }`;
    const expected = `graph { input %0 : f32[1,1,2,2]
      const %1 : f32[2,1,1,1] = [1, 4]
      const %2 : f32[2] = [0.5, -6]
      %3 = Conv(%0, %1, %2)
      output %3 }`;
    checkPass([foldBatchnorm, dce], before, expected, { expectChange: true });
  });

  // same s; t = beta - mu*s = [0.5 - 1, 0 - 4] = [-0.5, -4]
  it('turns a BN without a foldable producer into Mul + Add', () => {
    const before = `graph { input %0 : f32[1,2,2,2]
      const %4 : f32[2] = [2, 1]
      const %5 : f32[2] = [0.5, 0]
      const %6 : f32[2] = [1, 2]
      const %7 : f32[2] = [4, 0.25]
      %8 = BatchNormalization(%0, %4, %5, %6, %7) {epsilon=0}
      output %8 }`;
    const expected = `graph { input %0 : f32[1,2,2,2]
      const %1 : f32[2,1,1] = [1, 2]
      %2 = Mul(%0, %1)
      const %3 : f32[2,1,1] = [-0.5, -4]
      %4 = Add(%2, %3)
      output %4 }`;
    checkPass([foldBatchnorm, dce], before, expected, { expectChange: true });
  });

  it('folds into Conv with groups, no bias and padding (numeric)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 4, 5, 5]);
    const w = b.const('w', randTensor([6, 2, 3, 3], 11));
    const y = b.node('Conv', [x, w], { group: 2, pads: [1, 0, 1, 2], strides: [2, 1] });
    b.output(bn(b, y, 6, 20, { epsilon: 1e-3 }));
    const g = checkPass([foldBatchnorm, dce], b.build(), undefined, { expectChange: true });
    expect(ops(g)).toEqual(['Conv']);
  });

  it('folds into ConvTranspose with groups (numeric)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 4, 3, 3]);
    const w = b.const('w', randTensor([4, 3, 2, 2], 12));
    const bias = b.const('b', randTensor([6], 13));
    const y = b.node('ConvTranspose', [x, w, bias], { group: 2, strides: [2, 2] });
    b.output(bn(b, y, 6, 30));
    const g = checkPass([foldBatchnorm, dce], b.build(), undefined, { expectChange: true });
    expect(ops(g)).toEqual(['ConvTranspose']);
  });

  it('folds into Gemm (transB, alpha, beta, row bias) (numeric)', () => {
    for (const [transB, cshape] of [[1, [5]], [0, [3, 5]], [0, [3, 1]], [1, null]] as const) {
      const b = new GraphBuilder();
      const x = b.input('x', 'f32', [3, 4]);
      const w = b.const('w', randTensor(transB ? [5, 4] : [4, 5], 14));
      const c = cshape ? b.const('c', randTensor([...cshape], 15)) : null;
      const y = b.node('Gemm', c === null ? [x, w] : [x, w, c], { transB, alpha: 0.5, beta: 2 });
      b.output(bn(b, y, 5, 40));
      const g = checkPass([foldBatchnorm, dce], b.build(), undefined, { expectChange: true });
      expect(ops(g)).toEqual(['Gemm']);
    }
  });

  it('folds into MatMul with constant weights as MatMul + Add (numeric)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [3, 4]);
    const w = b.const('w', randTensor([4, 5], 16));
    const y = b.node('MatMul', [x, w]);
    b.output(bn(b, y, 5, 50));
    const g = checkPass([foldBatchnorm, dce], b.build(), undefined, { expectChange: true });
    expect(ops(g)).toEqual(['MatMul', 'Add']);
  });

  it('does not fold into a Conv whose output has another use', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 2, 4, 4]);
    const w = b.const('w', randTensor([3, 2, 1, 1], 17));
    const y = b.node('Conv', [x, w]);
    b.output(bn(b, y, 3, 60), y);
    const g = checkPass([foldBatchnorm, dce], b.build(), undefined, { expectChange: true });
    expect(ops(g)).toEqual(['Conv', 'Mul', 'Add']);
  });

  it('leaves a BN with non-constant statistics alone', () => {
    const src = `graph { input %0 : f32[1,2,3]
      input %1 : f32[2]
      const %2 : f32[2] = [1, 1]
      const %3 : f32[2] = [0, 0]
      const %4 : f32[2] = [1, 1]
      %5 = BatchNormalization(%0, %2, %3, %1, %4)
      output %5 }`;
    checkPass(foldBatchnorm, src, src, { expectChange: false });
  });
});

describe('matmul-add-to-gemm', () => {
  it('merges MatMul with const weights and a bias Add (either operand order)', () => {
    for (const add of ['Add(%2, %3)', 'Add(%3, %2)']) {
      const before = `graph { input %0 : f32[3,4]
        const %1 : f32[4,2] = [1, 2, 3, 4, 5, 6, 7, 8]
        %2 = MatMul(%0, %1)
        const %3 : f32[2] = [0.5, -0.5]
        %4 = ${add}
        output %4 }`;
      const expected = `graph { input %0 : f32[3,4]
        const %1 : f32[4,2] = [1, 2, 3, 4, 5, 6, 7, 8]
        const %3 : f32[2] = [0.5, -0.5]
        %4 = Gemm(%0, %1, %3)
        output %4 }`;
      checkPass(matmulAddToGemmPass, before, expected, { expectChange: true });
    }
  });

  it('keeps MatMul + Add when A is not 2-D, B is not const, or the bias does not broadcast one way', () => {
    const cases = [
      `graph { input %0 : f32[2,3,4]
        const %1 : f32[4,2] = [1, 2, 3, 4, 5, 6, 7, 8]
        %2 = MatMul(%0, %1)
        const %3 : f32[2] = [0.5, -0.5]
        %4 = Add(%2, %3)
        output %4 }`,
      `graph { input %0 : f32[3,4]
        input %1 : f32[4,2]
        %2 = MatMul(%0, %1)
        const %3 : f32[2] = [0.5, -0.5]
        %4 = Add(%2, %3)
        output %4 }`,
      `graph { input %0 : f32[1,4]
        const %1 : f32[4,2] = [1, 2, 3, 4, 5, 6, 7, 8]
        %2 = MatMul(%0, %1)
        const %3 : f32[3,1] = [1, 2, 3]
        %4 = Add(%2, %3)
        output %4 }`,
    ];
    for (const src of cases) checkPass(matmulAddToGemmPass, src, src, { expectChange: false });
  });
});

describe('fuse-activation', () => {
  it('fuses Conv + Relu into edgec.FusedConv', () => {
    const before = `graph { input %0 : f32[1,1,3,3]
      const %1 : f32[2,1,2,2] = [1, -1, 0.5, 2, -2, 1, 0.25, -0.5]
      %2 = Conv(%0, %1) {pads=[1,1,0,0]}
      %3 = Relu(%2)
      output %3 }`;
    const expected = `graph opsets {"": 17, "edgec": 1} { input %0 : f32[1,1,3,3]
      const %1 : f32[2,1,2,2] = [1, -1, 0.5, 2, -2, 1, 0.25, -0.5]
      %3 = edgec.FusedConv(%0, %1) {activation="Relu", activation_params=[], pads=[1,1,0,0]}
      output %3 }`;
    checkPass(fuseActivation, before, expected, { expectChange: true });
  });

  it('fuses Clip with constant bounds and reads activation params', () => {
    const before = `graph { input %0 : f32[2,3]
      const %1 : f32[3,4] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
      %2 = MatMul(%0, %1)
      const %3 : f32[] = [0]
      const %4 : f32[] = [6]
      %5 = Clip(%2, %3, %4)
      output %5 }`;
    const expected = `graph opsets {"": 17, "edgec": 1} { input %0 : f32[2,3]
      const %1 : f32[3,4] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
      %5 = edgec.FusedMatMul(%0, %1) {activation="Clip", activation_params=[0,6]}
      const %3 : f32[] = [0]
      const %4 : f32[] = [6]
      output %5 }`;
    checkPass(fuseActivation, before, expected, { expectChange: true });
  });

  const acts: [string, Record<string, number>][] = [
    ['Relu', {}], ['Sigmoid', {}], ['Tanh', {}], ['HardSwish', {}],
    ['LeakyRelu', { alpha: 0.2 }], ['HardSigmoid', { alpha: 0.3, beta: 0.4 }],
  ];
  for (const [act, attrs] of acts) {
    for (const base of ['Conv', 'Gemm', 'MatMul']) {
      it(`${base} + ${act} is numerically unchanged`, () => {
        const b = new GraphBuilder();
        let y: number;
        if (base === 'Conv') {
          const x = b.input('x', 'f32', [1, 3, 4, 4]);
          y = b.node('Conv', [x, b.const('w', randTensor([2, 3, 3, 3], 3)), b.const('b', randTensor([2], 4))], { pads: [1, 1, 1, 1] });
        } else if (base === 'Gemm') {
          const x = b.input('x', 'f32', [2, 5]);
          y = b.node('Gemm', [x, b.const('w', randTensor([3, 5], 5)), b.const('c', randTensor([3], 6))], { transB: 1 });
        } else {
          const x = b.input('x', 'f32', [2, 5]);
          y = b.node('MatMul', [x, b.const('w', randTensor([5, 3], 7))]);
        }
        b.output(b.node(act, [y], attrs));
        const g = checkPass(fuseActivation, b.build(), undefined, { expectChange: true });
        expect(ops(g)).toEqual([`edgec.Fused${base}`]);
        expect(g.orderedNodes()[0]!.attrs['activation']).toBe(act);
      });
    }
  }

  it('does not fuse when the base output has another use or Clip bounds are not constant', () => {
    const src = `graph { input %0 : f32[2,3]
      const %1 : f32[3,2] = [1, 2, 3, 4, 5, 6]
      %2 = MatMul(%0, %1)
      %3 = Relu(%2)
      input %4 : f32[]
      %5 = MatMul(%0, %1)
      %6 = Clip(%5, %4, _)
      output %3, %2, %6 }`;
    checkPass(fuseActivation, src, src, { expectChange: false });
  });
});
