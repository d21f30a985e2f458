/**
 * fold-pad (compiler/passes/fold-pad.ts): a constant spatial Pad folds into the pads of the Conv /
 * AveragePool / MaxPool it feeds when the consumer's implicit padding value is the Pad's value.
 * Graphs are built in code; the reference interpreter must give the same outputs before and after
 * (rtol 1e-5), and the node counts show the fold (or, for the negative cases, that nothing changed).
 */
import { describe, expect, it } from 'vitest';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { foldPad } from '../../compiler/passes/fold-pad.js';
import { dce } from '../../compiler/passes/dce.js';
import { checkPass, expectSameOutputs, randTensor } from './helpers.js';

const TOL = { rtol: 1e-5, atol: 1e-6 };
const count = (g: Graph, op: string): number => g.orderedNodes().filter((n) => n.op === op).length;

/** Pad(x) with ONNX opset-11+ inputs: pads as an i64 constant, optional constant value. */
function pad(b: GraphBuilder, x: ValueId, pads: number[], value?: number, mode?: string): ValueId {
  const p = b.const('pads', 'i64', [pads.length], pads.map(BigInt));
  const ins: (ValueId | null)[] = [x, p];
  if (value !== undefined) ins.push(b.const('pad_value', Tensor.from('f32', [], [value])));
  return b.node('Pad', ins, mode ? { mode } : {});
}

/** Runs fold-pad + dce; checks verify, idempotence, and equal reference outputs at rtol 1e-5. */
function run(g: Graph, expectChange: boolean): Graph {
  const out = checkPass([foldPad, dce], g, undefined, { expectChange, numeric: false });
  expectSameOutputs(g, out, [1, 2], TOL);
  return out;
}

describe('fold-pad', () => {
  it('folds a zero Pad into a 1-D Conv with even kernel (same padding split 4/5)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 3, 32]);
    const p = pad(b, x, [0, 0, 4, 0, 0, 5]);
    b.output(b.node('Conv', [p, b.const('w', randTensor([4, 3, 10], 1)), b.const('b', randTensor([4], 2))]));
    const g = b.build();
    const out = run(g, true);
    expect(count(out, 'Pad')).toBe(0);
    const conv = out.orderedNodes().find((n) => n.op === 'Conv')!;
    expect(conv.attrs['pads']).toEqual([4, 5]);
    expect(out.typeOf(out.outputs[0]!).shape).toEqual([2, 4, 32]);
  });

  it('adds to the Conv\'s own pads (2-D, strided, grouped, Pad without a value input)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 4, 9, 7]);
    const p = pad(b, x, [0, 0, 1, 2, 0, 0, 3, 0]);
    b.output(b.node('Conv', [p, b.const('w', randTensor([6, 2, 3, 3], 3))], { group: 2, strides: [2, 1], pads: [1, 0, 0, 1] }));
    const out = run(b.build(), true);
    expect(out.orderedNodes().map((n) => n.op)).toEqual(['Conv']);
    expect(out.orderedNodes()[0]!.attrs['pads']).toEqual([2, 2, 3, 1]);
  });

  it('folds a -inf Pad into MaxPool and a zero Pad into AveragePool (count_include_pad set)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 3, 12]);
    const m = b.node('MaxPool', [pad(b, x, [0, 0, 1, 0, 0, 1], -Infinity)], { kernel_shape: [3], strides: [1] });
    const a = b.node('AveragePool', [pad(b, x, [0, 0, 2, 0, 0, 1], 0)], { kernel_shape: [4], strides: [2] });
    b.output(m, a);
    const out = run(b.build(), true);
    expect(count(out, 'Pad')).toBe(0);
    const ap = out.orderedNodes().find((n) => n.op === 'AveragePool')!;
    expect(ap.attrs['count_include_pad']).toBe(1);
    expect(ap.attrs['pads']).toEqual([2, 1]);
  });

  it('folds with opset-10 attribute pads and auto_pad VALID', () => {
    const b = new GraphBuilder('g', { '': 10 });
    const x = b.input('x', 'f32', [1, 2, 6, 6]);
    const p = b.node('Pad', [x], { mode: 'constant', pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0 });
    b.output(b.node('Conv', [p, b.const('w', randTensor([3, 2, 3, 3], 4))], { auto_pad: 'VALID' }));
    const out = run(b.build(), true);
    expect(out.orderedNodes().map((n) => n.op)).toEqual(['Conv']);
  });

  describe('does not fold', () => {
    const cases: [string, (b: GraphBuilder, x: ValueId) => ValueId][] = [
      ['a nonzero pad value into Conv', (b, x) => b.node('Conv', [pad(b, x, [0, 0, 1, 0, 0, 1], 0.5), b.const('w', randTensor([2, 3, 3], 5))])],
      ['reflect mode', (b, x) => b.node('Conv', [pad(b, x, [0, 0, 1, 0, 0, 1], undefined, 'reflect'), b.const('w', randTensor([2, 3, 3], 5))])],
      ['edge mode', (b, x) => b.node('Conv', [pad(b, x, [0, 0, 1, 0, 0, 1], undefined, 'edge'), b.const('w', randTensor([2, 3, 3], 5))])],
      ['a pad on the channel axis', (b, x) => b.node('Conv', [pad(b, x, [0, 1, 1, 0, 0, 1]), b.const('w', randTensor([2, 4, 3], 5))])],
      ['a negative (cropping) pad', (b, x) => b.node('Conv', [pad(b, x, [0, 0, -1, 0, 0, 1]), b.const('w', randTensor([2, 3, 3], 5))])],
      ['a zero pad into MaxPool', (b, x) => b.node('MaxPool', [pad(b, x, [0, 0, 1, 0, 0, 1], 0)], { kernel_shape: [3] })],
      ['into AveragePool that excludes its own pads', (b, x) => b.node('AveragePool', [pad(b, x, [0, 0, 1, 0, 0, 1])], { kernel_shape: [3], pads: [1, 1] })],
      ['into AveragePool with ceil_mode', (b, x) => b.node('AveragePool', [pad(b, x, [0, 0, 1, 0, 0, 1])], { kernel_shape: [3], strides: [2], ceil_mode: 1 })],
      ['into ConvTranspose', (b, x) => b.node('ConvTranspose', [pad(b, x, [0, 0, 1, 0, 0, 1]), b.const('w', randTensor([3, 2, 3], 5))])],
      ['into a Conv with auto_pad SAME_UPPER', (b, x) => b.node('Conv', [pad(b, x, [0, 0, 1, 0, 0, 1]), b.const('w', randTensor([2, 3, 3], 5))], { auto_pad: 'SAME_UPPER' })],
    ];
    for (const [name, mk] of cases) {
      it(name, () => {
        const b = new GraphBuilder();
        const x = b.input('x', 'f32', [1, 3, 10]);
        b.output(mk(b, x));
        const out = run(b.build(), false);
        expect(count(out, 'Pad')).toBe(1);
      });
    }

    it('a Pad with a second consumer', () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'f32', [1, 3, 10]);
      const p = pad(b, x, [0, 0, 1, 0, 0, 1]);
      b.output(b.node('Conv', [p, b.const('w', randTensor([2, 3, 3], 5))]), b.node('Relu', [p]));
      expect(count(run(b.build(), false), 'Pad')).toBe(1);
    });
  });
});
