/**
 * Property tests: random broadcast shapes and reduction axes, reference interpreter vs
 * onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { runOrt, runRef } from './ort-oracle.js';

/** A shape of rank 0..4 with dims 1..4, and a second shape broadcastable against it. */
const shapePair = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 }).chain((out) =>
  fc.tuple(
    fc.constant(out),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    fc.integer({ min: 0, max: out.length }),
  ).map(([o, ones, drop]) => [o, o.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const));

function data(shape: readonly number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * 3));
}

describe('family A properties vs onnxruntime', () => {
  it('binary ops broadcast like numpy (either operand broadcast)', async () => {
    await fc.assert(fc.asyncProperty(shapePair, fc.constantFrom('Add', 'Sub', 'Mul', 'Div', 'Max', 'Less'), fc.boolean(),
      async ([a, b], op, swap) => {
        const ins = swap ? [data(b, 2), data(a, 1)] : [data(a, 1), data(b, 2)];
        const out = op === 'Less' ? 'bool' : 'f32';
        const m = { op, opset: 14, inputs: ins };
        const want = await runOrt(m, [out]);
        const got = runRef(m, [out]);
        expect(compareTensors(got[0]!, want[0]!, { rtol: 1e-6, atol: 1e-7 })).toBeNull();
      }), { numRuns: 40, seed: 42 });
  });

  it('Reduce ops over random axis subsets, keepdims 0/1', async () => {
    const arb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) => fc.tuple(
      fc.constant(shape),
      fc.subarray(shape.map((_, i) => i)),
      fc.boolean(),
      fc.constantFrom('ReduceSum', 'ReduceMax', 'ReduceMean', 'ReduceL2', 'ReduceLogSumExp'),
    ));
    await fc.assert(fc.asyncProperty(arb, async ([shape, axes, keep, op]) => {
      const m = {
        op, opset: 18, inputs: [data(shape, 3), null],
        consts: { 1: Tensor.from('i64', [axes.length], axes.map((v) => BigInt(v))) },
        attrs: { keepdims: keep ? 1 : 0 },
      };
      const want = await runOrt(m, ['f32']);
      const got = runRef(m, ['f32']);
      expect(compareTensors(got[0]!, want[0]!, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    }), { numRuns: 40, seed: 7 });
  });
});
