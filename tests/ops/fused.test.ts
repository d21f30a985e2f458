/**
 * edgec.FusedConv / FusedGemm / FusedMatMul equal their base op followed by the ONNX activation,
 * bit for bit (the fuse-activation pass relies on this), and family-B shape inference handles
 * symbolic batch dims.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { AttrValue } from '../../compiler/ir/graph.js';
import { runGraph } from '../../compiler/interp/interp.js';

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return -3 + (6 * s) / 2 ** 32;
  });
}
const t = (shape: number[], seed: number) => Tensor.from('f32', shape, rand(shape.reduce((a, b) => a * b, 1), seed));

/** ONNX op name, its attributes and the fused encoding of the same activation. */
const ACTS: [string, Record<string, AttrValue>, string, number[]][] = [
  ['Relu', {}, 'Relu', []],
  ['LeakyRelu', { alpha: 0.1 }, 'LeakyRelu', [0.1]],
  ['Sigmoid', {}, 'Sigmoid', []],
  ['Tanh', {}, 'Tanh', []],
  ['HardSigmoid', { alpha: 0.3, beta: 0.4 }, 'HardSigmoid', [0.3, 0.4]],
  ['HardSwish', {}, 'HardSwish', []],
  ['Clip', {}, 'Clip', [-1, 2]],
];

type Base = { op: string; fused: string; inputs: Tensor[]; attrs: Record<string, AttrValue> };
const BASES: Base[] = [
  { op: 'Conv', fused: 'FusedConv', inputs: [t([1, 3, 7, 6], 1), t([4, 3, 3, 3], 2), t([4], 3)], attrs: { pads: [1, 1, 1, 1], strides: [2, 1] } },
  { op: 'Gemm', fused: 'FusedGemm', inputs: [t([3, 5], 4), t([4, 5], 5), t([4], 6)], attrs: { transB: 1, alpha: 0.5 } },
  { op: 'MatMul', fused: 'FusedMatMul', inputs: [t([2, 3, 5], 7), t([5, 4], 8)], attrs: {} },
];

describe('fused ops equal base op + activation exactly', () => {
  for (const base of BASES) {
    for (const [act, actAttrs, kind, params] of ACTS) {
      it(`${base.fused} ${kind}`, () => {
        const b = new GraphBuilder('g', { '': 17, edgec: 1 });
        const ins = base.inputs.map((x, i) => b.const(`in${i}`, x));
        const y0 = b.node(base.op, ins, base.attrs);
        let y1: number;
        if (act === 'Clip') {
          y1 = b.node('Clip', [y0, b.const('lo', Tensor.scalar('f32', params[0]!)), b.const('hi', Tensor.scalar('f32', params[1]!))]);
        } else y1 = b.node(act, [y0], actAttrs);
        const y2 = b.node(base.fused, ins, { ...base.attrs, activation: kind, activation_params: params }, { domain: 'edgec' });
        b.output(y1, y2);
        const g = b.build();
        const [want, got] = runGraph(g, []);
        expect(got!.shape).toEqual(want!.shape);
        expect(Array.from(got!.data as Float32Array)).toEqual(Array.from(want!.data as Float32Array));
      });
    }
  }
});

describe('shape inference with a symbolic batch', () => {
  it('Conv, MaxPool, Gemm and MatMul keep the batch symbol and compute the rest', () => {
    const b = new GraphBuilder('g', { '': 17 });
    const x = b.input('x', 'f32', ['N', 3, 9, 9]);
    const c = b.node('Conv', [x, b.const('w', t([8, 3, 3, 3], 1))], { strides: [2, 2], pads: [1, 1, 1, 1] });
    const p = b.node('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
    const gp = b.node('GlobalAveragePool', [p]);
    const m = b.node('MatMul', [b.node('Flatten', [gp]), b.const('w2', t([8, 5], 2))]);
    b.output(c, p, m);
    const g = b.build();
    expect(g.typeOf(c).shape).toEqual(['N', 8, 5, 5]);
    expect(g.typeOf(p).shape).toEqual(['N', 8, 3, 3]);
    expect(g.typeOf(m).shape[1]).toBe(5);
  });
});
