/**
 * Differential property test: random small graphs (elementwise, shape, Conv, BN, MatMul chains with
 * constant side branches) keep their reference outputs through every pipeline, with verify() on.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { optimize } from '../../compiler/pipeline.js';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { expectSameOutputs, randTensor } from './helpers.js';

const STEPS = [
  'Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Identity', 'Dropout', 'AddConst', 'MulConst', 'AddEarlier', 'Clip',
  'Conv', 'BN', 'TransposeTwice', 'ReshapeSame', 'ConstBranch', 'HardSwish',
] as const;
type Step = (typeof STEPS)[number];

/** Builds a graph on x: f32[1,3,4,4] from a list of steps (each step's seed drives its constants). */
function build(steps: [Step, number][], extraOutput: boolean): Graph {
  const b = new GraphBuilder('rand');
  const x = b.input('x', 'f32', [1, 3, 4, 4]);
  const vals = [x];
  let cur = x;
  const c = (shape: number[], seed: number, lo = -1, hi = 1): number => b.const(`c${seed}_${vals.length}`, randTensor(shape, seed, lo, hi));
  for (const [step, seed] of steps) {
    switch (step) {
      case 'Relu': case 'Sigmoid': case 'Tanh': case 'Identity': case 'HardSwish': cur = b.node(step, [cur]); break;
      case 'LeakyRelu': cur = b.node('LeakyRelu', [cur], { alpha: 0.1 }); break;
      case 'Dropout': cur = b.node('Dropout', [cur], { ratio: 0.5 }); break;
      case 'AddConst': cur = b.node('Add', [cur, c([3, 1, 1], seed)]); break;
      case 'MulConst': cur = b.node('Mul', [c([1, 1, 4], seed), cur]); break;
      case 'AddEarlier': cur = b.node('Add', [cur, vals[seed % vals.length]!]); break;
      case 'Clip': cur = b.node('Clip', [cur, c([], seed, -1, -0.5), c([], seed + 1, 0.5, 1)]); break;
      case 'Conv': cur = b.node('Conv', [cur, c([3, 3, 3, 3], seed), c([3], seed + 1)], { pads: [1, 1, 1, 1] }); break;
      case 'BN':
        cur = b.node('BatchNormalization', [cur, c([3], seed, 0.5, 2), c([3], seed + 1), c([3], seed + 2), c([3], seed + 3, 0.1, 2)]);
        break;
      case 'TransposeTwice': {
        const t = b.node('Transpose', [cur], { perm: [0, 1, 3, 2] });
        cur = b.node('Transpose', [t], { perm: [0, 1, 3, 2] });
        break;
      }
      case 'ReshapeSame': cur = b.node('Reshape', [cur, b.node('Shape', [cur])]); break;
      case 'ConstBranch': {
        // A constant subexpression feeding the main chain: Mul(x, Relu(k1) + k2)
        const k = b.node('Add', [b.node('Relu', [c([3, 1, 1], seed)]), c([3, 1, 1], seed + 1)]);
        cur = b.node('Mul', [cur, k]);
        break;
      }
    }
    vals.push(cur);
  }
  if (extraOutput && vals.length > 2) b.output(cur, vals[Math.floor(vals.length / 2)]!);
  else b.output(cur);
  return b.build();
}

describe('random graphs through the pipelines', () => {
  it('keep their outputs, verify after every pass, and are idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...STEPS), fc.integer({ min: 1, max: 1000 })), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.constantFrom('ref', 'wasm', 'hls') as fc.Arbitrary<'ref' | 'wasm' | 'hls'>,
        (steps, extra, target) => {
          const g = build(steps, extra);
          const h = g.clone();
          optimize(h, { target, verify: true });
          expectSameOutputs(g, h, [1]);
          expect(g.outputs.map((o) => g.value(o).name)).toEqual(h.outputs.map((o) => h.value(o).name));
          const text = print(h, { inlineLimit: Infinity });
          const again = optimize(h, { target, verify: true });
          expect(again.filter((s) => s.changed).map((s) => s.name)).toEqual([]);
          expect(print(h, { inlineLimit: Infinity })).toBe(text);
          expect(print(parse(text), { inlineLimit: Infinity })).toBe(text);
        },
      ),
      { numRuns: 60, seed: 20261128 },
    );
  });
});
