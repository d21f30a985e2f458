/**
 * Kernel cases shared by the target differential suites (wasm-ops.test.ts, webgpu-ops.test.ts), in
 * the style of tract's test-rt: one list of graphs built in code, run on every runtime and compared
 * with the reference interpreter. A case tagged `only` runs on that target alone (for example the
 * Winograd convs, which need more input channels on wasm to select that kernel, or ops only one
 * target lowers).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { EdgecError } from '../../compiler/errors.js';
import type { ArtifactManifest } from '../../targets/target.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';

export type TargetName = 'wasm' | 'webgpu';
export type Build = (b: GraphBuilder, r: (name: string, shape: number[], lo?: number, hi?: number) => ValueId) => void;
/** Runs a graph on a target: the runner under test. */
export type RunOn = (g: Graph, inputs: Tensor[]) => Promise<{ outputs: Tensor[] }>;

let seed = 100;
/** A case: builds the graph; random constants come from `r(name, shape)` (constant) or inputs. */
export function graphOf(build: Build, opset = 17): Graph {
  const b = new GraphBuilder('case', { '': opset });
  build(b, (name, shape, lo = -1, hi = 1) => b.const(name, randomTensor(shape, seed++, lo, hi)));
  return b.build();
}

/** Runs `g` on random inputs through `run` and compares every output with the reference interpreter. */
export async function checkOn(run: RunOn, g: Graph, rtol = 1e-3, atol = 1e-5): Promise<void> {
  const inputs = g.inputs.map((id, i) => randomTensor(g.typeOf(id).shape as number[], 7 + i));
  const want = runGraph(g, inputs);
  const { outputs } = await run(g, inputs);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(outputs[k]!, w, { rtol, atol }), `output ${k}`).toBeNull());
}

/** Runs `g` on the given inputs through `run` and compares every output with the reference interpreter. */
export async function checkWithOn(run: RunOn, g: Graph, inputs: Tensor[], rtol = 1e-3, atol = 1e-5): Promise<void> {
  const want = runGraph(g, inputs);
  const { outputs } = await run(g, inputs);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(outputs[k]!, w, { rtol, atol }), `output ${k}`).toBeNull());
}

/** Gives output `id` of a built graph the static shape a model would declare for it. */
export function declareShape(g: Graph, id: ValueId, shape: number[]): Graph {
  g.value(id).type = { ...g.typeOf(id), shape };
  return g;
}

/** A graph of one node on explicit inputs (name '' = absent input), with a declared output shape. */
export function oneNodeGraph(op: string, ins: { name: string; t: Tensor; constant?: boolean }[], attrs: Record<string, unknown>, outShape: number[], opset = 20): { g: Graph; inputs: Tensor[] } {
  let out = -1;
  const g = graphOf((b) => {
    const ids = ins.map((i) => (i.name === '' ? null : i.constant ? b.const(i.name, i.t) : b.input(i.name, i.t.dtype, i.t.shape)));
    out = b.node(op, ids, attrs as never);
    b.output(out);
  }, opset);
  return { g: declareShape(g, out, outShape), inputs: ins.filter((i) => i.name !== '' && !i.constant).map((i) => i.t) };
}

/** One named case: the graphs it checks (built lazily, inside the test) and the target it is limited to. */
export interface OpCase { name: string; graphs: () => Graph[]; only?: TargetName }

const one = (name: string, build: Build, opset?: number, only?: TargetName): OpCase =>
  ({ name, graphs: () => [graphOf(build, opset)], ...(only ? { only } : {}) });

interface ConvCase { name: string; x: number[]; w: number[]; attrs: Record<string, number[] | number | string>; bias?: boolean; only?: TargetName }
const CONVS: ConvCase[] = [
  { name: '1x1 pointwise (GEMM on the input)', x: [1, 16, 9, 7], w: [24, 16, 1, 1], attrs: {}, bias: true },
  { name: '1x1 with large weights on 7x7 (row-tile-outer GEMM order)', x: [1, 300, 7, 7], w: [260, 300, 1, 1], attrs: {}, bias: true },
  { name: '1x1 on a 2x3 plane (GEMM N < 8)', x: [1, 8, 2, 3], w: [6, 8, 1, 1], attrs: {}, bias: true },
  { name: '1x1 stride 2', x: [1, 8, 9, 9], w: [12, 8, 1, 1], attrs: { strides: [2, 2] }, bias: true },
  { name: '3x3 pad 1 (im2col)', x: [1, 5, 11, 13], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  // wasm selects Winograd only with >= 32 input channels; webgpu runs the same geometry on fewer channels
  { name: 'Winograd 3x3 pad 1', x: [1, 32, 12, 12], w: [8, 32, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, only: 'wasm' },
  { name: 'Winograd 3x3 pad 1', x: [1, 8, 12, 12], w: [8, 8, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, only: 'webgpu' },
  { name: 'Winograd odd output sizes', x: [1, 33, 11, 13], w: [12, 33, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, only: 'wasm' },
  { name: 'Winograd odd output sizes', x: [1, 9, 11, 13], w: [12, 9, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, only: 'webgpu' },
  { name: 'Winograd no pad, batch 2, ragged K', x: [2, 32, 10, 9], w: [10, 32, 3, 3], attrs: {}, only: 'wasm' },
  { name: 'Winograd no pad, batch 2, ragged K', x: [2, 16, 10, 9], w: [10, 16, 3, 3], attrs: {}, only: 'webgpu' },
  { name: 'Winograd asymmetric pads', x: [1, 40, 9, 14], w: [9, 40, 3, 3], attrs: { pads: [0, 1, 1, 0] }, bias: true, only: 'wasm' },
  { name: 'Winograd asymmetric pads', x: [1, 8, 9, 14], w: [9, 8, 3, 3], attrs: { pads: [0, 1, 1, 0] }, bias: true, only: 'webgpu' },
  { name: '3x3 stride 2 asymmetric pads', x: [1, 4, 10, 9], w: [6, 4, 3, 3], attrs: { strides: [2, 2], pads: [0, 1, 1, 0] } },
  { name: 'dilation 2', x: [1, 3, 12, 12], w: [5, 3, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, bias: true },
  { name: '5x3 kernel, strides 2x1', x: [2, 3, 14, 10], w: [4, 3, 5, 3], attrs: { strides: [2, 1], pads: [2, 1, 2, 1] }, bias: true },
  { name: 'grouped (2 groups)', x: [1, 8, 7, 7], w: [6, 4, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'depthwise multiplier 2 (grouped path)', x: [1, 4, 6, 6], w: [8, 1, 3, 3], attrs: { group: 4, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 stride 1', x: [1, 6, 13, 17], w: [6, 1, 3, 3], attrs: { group: 6, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'depthwise 3x3 stride 2', x: [1, 5, 15, 21], w: [5, 1, 3, 3], attrs: { group: 5, pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true },
  { name: 'depthwise 3x3 stride 2 even input, pads 0/1', x: [1, 3, 16, 16], w: [3, 1, 3, 3], attrs: { group: 3, pads: [0, 0, 1, 1], strides: [2, 2] } },
  { name: 'depthwise 3x3 no pad tiny', x: [1, 2, 3, 5], w: [2, 1, 3, 3], attrs: { group: 2 } },
  { name: 'depthwise 5x5 (generic)', x: [1, 4, 9, 9], w: [4, 1, 5, 5], attrs: { group: 4, pads: [2, 2, 2, 2] }, bias: true },
  { name: 'depthwise dilated', x: [1, 3, 9, 9], w: [3, 1, 3, 3], attrs: { group: 3, pads: [2, 2, 2, 2], dilations: [2, 2] } },
  { name: 'auto_pad SAME_UPPER stride 2', x: [1, 3, 9, 9], w: [4, 3, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'conv1d', x: [1, 3, 20], w: [5, 3, 4], attrs: { pads: [1, 2] }, bias: true },
  { name: 'conv1d depthwise stride 2', x: [1, 4, 19], w: [4, 1, 3], attrs: { group: 4, strides: [2], pads: [1, 1] } },
];

/** Activations every target fuses into conv / depthwise / gemm epilogues. */
export const ACTS: [string, (b: GraphBuilder, y: ValueId) => ValueId][] = [
  ['Relu', (b, y) => b.node('Relu', [y])],
  ['Clip', (b, y) => b.node('Clip', [y, b.const('lo', 'f32', [], [-0.5]), b.const('hi', 'f32', [], [0.75])])],
  ['Sigmoid', (b, y) => b.node('Sigmoid', [y])],
  ['HardSwish', (b, y) => b.node('HardSwish', [y])],
  ['LeakyRelu', (b, y) => b.node('LeakyRelu', [y], { alpha: 0.2 })],
  ['Tanh', (b, y) => b.node('Tanh', [y])],
  ['HardSigmoid', (b, y) => b.node('HardSigmoid', [y], { alpha: 0.3, beta: 0.4 })],
];

/** Conv (cin -> 8, 3x3) -> depthwise 3x3 -> Flatten -> Gemm (512 -> 10), each followed by `act`. */
export function fusedEpilogueGraph(act: (b: GraphBuilder, y: ValueId) => ValueId, cin: number): Graph {
  return graphOf((b, r) => {
    const x = b.input('x', 'f32', [1, cin, 8, 8]);
    const c1 = act(b, b.node('Conv', [x, r('w1', [8, cin, 3, 3]), r('b1', [8])], { pads: [1, 1, 1, 1] }));
    const c2 = act(b, b.node('Conv', [c1, r('w2', [8, 1, 3, 3]), r('b2', [8])], { pads: [1, 1, 1, 1], group: 8 }));
    const f = b.node('Flatten', [c2]);
    b.output(act(b, b.node('Gemm', [f, r('w3', [512, 10]), r('b3', [10])])));
  });
}

const conv: OpCase[] = CONVS.map((c) => one(c.name, (b, r) => {
  const x = b.input('x', 'f32', c.x);
  const ins = [x, r('w', c.w)];
  if (c.bias) ins.push(r('b', [c.w[0]!]));
  b.output(b.node('Conv', ins, c.attrs));
}, undefined, c.only));

const gemm: OpCase[] = [
  one('Gemm transB, bias [N], M > 1 with row and column tails', (b, r) => {
    const x = b.input('x', 'f32', [7, 13]);
    b.output(b.node('Gemm', [x, r('w', [11, 13]), r('c', [11])], { transB: 1, alpha: 0.5, beta: 2 }));
  }),
  one('Gemm transA with runtime A, bias [M,N]', (b, r) => {
    const x = b.input('x', 'f32', [9, 5]);
    b.output(b.node('Gemm', [x, r('w', [9, 12]), r('c', [5, 12])], { transA: 1 }));
  }),
  one('Gemm with runtime B and C', (b) => {
    const x = b.input('x', 'f32', [3, 4]);
    const y = b.input('y', 'f32', [4, 9]);
    const c = b.input('c', 'f32', [1, 9]);
    b.output(b.node('Gemm', [x, y, c]));
  }),
  one('Gemm scalar bias, column bias [M,1]', (b, r) => {
    const x = b.input('x', 'f32', [6, 8]);
    const g1 = b.node('Gemm', [x, r('w', [8, 16]), r('c', [1])]);
    b.output(b.node('Gemm', [g1, r('w2', [16, 3]), r('c2', [6, 1])]));
  }),
  one('MatMul batched x 2-D weights', (b, r) => {
    const x = b.input('x', 'f32', [2, 3, 5, 6]);
    b.output(b.node('MatMul', [x, r('w', [6, 10])]));
  }),
  one('MatMul batched x batched (runtime)', (b) => {
    const x = b.input('x', 'f32', [3, 4, 7]);
    const y = b.input('y', 'f32', [3, 7, 9]);
    b.output(b.node('MatMul', [x, y]));
  }),
  one('MatMul vector x matrix', (b, r) => {
    const x = b.input('x', 'f32', [8]);
    b.output(b.node('MatMul', [x, r('w', [8, 5])]));
  }),
  one('MatMul + Add -> Gemm', (b, r) => {
    const x = b.input('x', 'f32', [1, 20]);
    b.output(b.node('Add', [b.node('MatMul', [x, r('w', [20, 17])]), r('b', [17])]));
  }),
];

const BINARY_SHAPES: [number[], number[]][] = [[[2, 3, 4, 5], [2, 3, 4, 5]], [[2, 3, 4, 5], [5]], [[2, 3, 4, 5], [3, 1, 1]], [[1, 3, 1, 5], [2, 1, 4, 1]], [[4, 1], [1, 7]], [[6], []]];
const UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Neg', 'Abs', 'Erf', 'Softplus', 'Softsign', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'HardSwish', 'Sign'];
const elementwise: OpCase[] = [
  ...['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'].map((op): OpCase => ({
    name: `${op} with broadcasting`,
    graphs: () => BINARY_SHAPES.map(([sa, sb]) => graphOf((b) => {
      const x = b.input('x', 'f32', sa);
      const y = b.input('y', 'f32', sb);
      b.output(b.node(op, op === 'Div' ? [x, b.node('Add', [b.node('Abs', [y]), b.const('one', 'f32', [], [0.5])])] : [x, y]));
    })),
  })),
  one('Pow, PRelu, Sum/Mean/Max of three, constant operands', (b, r) => {
    const x = b.input('x', 'f32', [2, 4, 3, 3]);
    const ax = b.node('Add', [b.node('Abs', [x]), b.const('e', 'f32', [], [0.1])]);
    const p = b.node('Pow', [ax, r('p', [3], 0.5, 2)]);
    const pr = b.node('PRelu', [x, r('slope', [4, 1, 1])]);
    const s = b.node('Sum', [p, pr, r('c', [3])]);
    const m = b.node('Mean', [s, x, p]);
    b.output(b.node('Max', [m, pr, x]), b.node('Min', [s, r('c2', [1, 1, 3])]));
  }),
  {
    name: `unary ops: ${UNARY.join(', ')}`,
    graphs: () => UNARY.map((op) => graphOf((b) => {
      const x = b.input('x', 'f32', [3, 37]);
      b.output(b.node(op, [b.node('Mul', [x, b.const('s', 'f32', [], [4])])]));
    }, 20)),
  },
  one('Log, Sqrt, Reciprocal on positive data; Elu, Selu, LeakyRelu, ThresholdedRelu, Gelu, Mish', (b) => {
    const x = b.input('x', 'f32', [2, 21]);
    const pos = b.node('Add', [b.node('Abs', [x]), b.const('e', 'f32', [], [0.25])]);
    b.output(b.node('Log', [pos]), b.node('Sqrt', [pos]), b.node('Reciprocal', [pos]), b.node('Elu', [x], { alpha: 0.7 }),
      b.node('Selu', [x]), b.node('LeakyRelu', [x], { alpha: 0.1 }), b.node('ThresholdedRelu', [x], { alpha: 0.2 }),
      b.node('Gelu', [x]), b.node('Gelu', [x], { approximate: 'tanh' }), b.node('Mish', [x]));
  }, 20),
  one('Clip with and without bounds', (b) => {
    const x = b.input('x', 'f32', [5, 9]);
    b.output(b.node('Clip', [x, b.const('lo', 'f32', [], [-0.3])]), b.node('Clip', [x, null, b.const('hi', 'f32', [], [0.2])]));
  }),
];

const nn: OpCase[] = [
  one('MaxPool 3x3 s2 pads, ceil_mode', (b) => {
    const x = b.input('x', 'f32', [1, 3, 11, 11]);
    b.output(b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
      b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }));
  }),
  one('AveragePool include / exclude pads, 1-D', (b) => {
    const x = b.input('x', 'f32', [2, 3, 8, 7]);
    const x1 = b.input('x1', 'f32', [1, 2, 15]);
    b.output(b.node('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      b.node('AveragePool', [x], { kernel_shape: [3, 2], pads: [1, 0, 1, 1], count_include_pad: 1, strides: [2, 2] }),
      b.node('AveragePool', [x1], { kernel_shape: [4], strides: [3] }));
  }),
  one('GlobalAveragePool, GlobalMaxPool', (b) => {
    const x = b.input('x', 'f32', [2, 5, 7, 3]);
    b.output(b.node('GlobalAveragePool', [x]), b.node('GlobalMaxPool', [x]));
  }),
  one('Softmax / LogSoftmax axes (opset 13)', (b) => {
    const x = b.input('x', 'f32', [2, 3, 4]);
    b.output(b.node('Softmax', [x], { axis: 1 }), b.node('LogSoftmax', [x]), b.node('Softmax', [x], { axis: 0 }));
  }, 13),
  one('Softmax coerced to 2-D (opset 11)', (b) => {
    const x = b.input('x', 'f32', [2, 3, 4]);
    b.output(b.node('Softmax', [x], { axis: 1 }));
  }, 11),
  one('reductions over axis sets (opset 18)', (b) => {
    const x = b.input('x', 'f32', [2, 3, 4, 5]);
    const ax = (name: string, v: number[]) => b.const(name, 'i64', [v.length], v);
    const ops = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'];
    const outs = ops.map((op, k) => b.node(op, [x, ax(`a${k}`, k % 2 ? [1, 3] : [0, 2])], { keepdims: k % 3 ? 1 : 0 }));
    outs.push(b.node('ReduceLogSum', [b.node('Abs', [x]), ax('al', [-1])]));
    outs.push(b.node('ReduceMean', [x]));
    b.output(...outs);
  }, 18),
  one('ConvTranspose stride 2 with bias, grouped with output_padding, 1-D', (b, r) => {
    const x = b.input('x', 'f32', [1, 4, 5, 6]);
    const x1 = b.input('x1', 'f32', [2, 3, 7]);
    b.output(b.node('ConvTranspose', [x, r('w', [4, 3, 3, 3]), r('bb', [3])], { strides: [2, 2], pads: [1, 0, 1, 1] }),
      b.node('ConvTranspose', [x, r('w2', [4, 2, 2, 3])], { group: 2, strides: [2, 3], output_padding: [1, 2], dilations: [1, 1] }),
      b.node('ConvTranspose', [x1, r('w3', [3, 2, 4])], { strides: [3] }));
  }, undefined, 'webgpu'),
  one('Clip with runtime bounds', (b) => {
    const x = b.input('x', 'f32', [3, 8]);
    b.output(b.node('Clip', [x, b.input('lo', 'f32', []), b.input('hi', 'f32', [])]), b.node('Clip', [x, b.input('lo2', 'f32', [])]));
  }, undefined, 'webgpu'),
  one('BatchNormalization (unfused, after a Relu)', (b, r) => {
    const x = b.input('x', 'f32', [2, 4, 3, 3]);
    b.output(b.node('BatchNormalization', [b.node('Relu', [x]), r('s', [4]), r('bb', [4]), r('m', [4]), r('v', [4], 0.5, 2)]));
  }),
  one('LayerNormalization (with Mean/InvStdDev), InstanceNormalization', (b, r) => {
    const x = b.input('x', 'f32', [2, 3, 4, 5]);
    const [y, m, s] = b.nodeN('LayerNormalization', [x, r('g', [4, 5]), r('bb', [5])], 3, { axis: 2 });
    b.output(y!, m!, s!, b.node('InstanceNormalization', [x, r('is', [3]), r('ib', [3])], { epsilon: 1e-3 }));
  }),
];

const i64 = (b: GraphBuilder, name: string, v: number[]) => b.const(name, 'i64', [v.length], v);
const dataMovement: OpCase[] = [
  one('Transpose perms', (b) => {
    const x = b.input('x', 'f32', [2, 3, 4, 5]);
    b.output(b.node('Transpose', [x], { perm: [0, 2, 3, 1] }), b.node('Transpose', [x]), b.node('Transpose', [x], { perm: [1, 0, 3, 2] }));
  }),
  one('Concat on each axis, Split', (b) => {
    const x = b.input('x', 'f32', [2, 3, 4]);
    const y = b.input('y', 'f32', [2, 3, 4]);
    const outs = [0, 1, 2].map((a) => b.node('Concat', [x, y, x], { axis: a }));
    const sp = b.nodeN('Split', [b.node('Relu', [x]), i64(b, 'sp', [1, 3])], 2, { axis: 2 });
    b.output(...outs, ...sp);
  }, 13),
  one('Slice with steps, negative steps and clamping', (b) => {
    const x = b.input('x', 'f32', [6, 7, 8]);
    b.output(b.node('Slice', [x, i64(b, 's', [1, -1]), i64(b, 'e', [100, -8]), i64(b, 'a', [0, 2]), i64(b, 'st', [2, -3])]),
      b.node('Slice', [x, i64(b, 's2', [2]), i64(b, 'e2', [5]), i64(b, 'a2', [1])]));
  }),
  one('Pad constant / reflect / edge / negative', (b) => {
    const x = b.input('x', 'f32', [1, 2, 5, 6]);
    const p = i64(b, 'p', [0, 0, 1, 2, 0, 0, 2, 1]);
    b.output(b.node('Pad', [x, p, b.const('v', 'f32', [], [1.5])]), b.node('Pad', [x, p], { mode: 'reflect' }),
      b.node('Pad', [x, p], { mode: 'edge' }), b.node('Pad', [x, i64(b, 'pn', [0, 0, -1, 2, 0, 0, 1, -2])]));
  }),
  one('Reshape/Flatten/Squeeze/Unsqueeze aliases, Expand, Tile', (b) => {
    const x = b.input('x', 'f32', [2, 1, 6]);
    const r1 = b.node('Reshape', [b.node('Relu', [x]), i64(b, 's', [3, 4])]);
    const sq = b.node('Squeeze', [x, i64(b, 'ax', [1])]);
    const us = b.node('Unsqueeze', [sq, i64(b, 'ax2', [0])]);
    const ex = b.node('Expand', [x, i64(b, 'es', [3, 2, 4, 6])]);
    const ti = b.node('Tile', [x, i64(b, 'rep', [2, 3, 1])]);
    b.output(b.node('Sigmoid', [r1]), b.node('Flatten', [b.node('Neg', [us])], { axis: 2 }), ex, ti);
  }),
  one('Gather with constant indices (axis 0 and 1, negative)', (b) => {
    const x = b.input('x', 'f32', [5, 4, 3]);
    b.output(b.node('Gather', [x, i64(b, 'i', [4, 0, -2])]), b.node('Gather', [x, b.const('j', 'i64', [2, 2], [1, 3, 0, -1])], { axis: 1 }));
  }),
  one('DepthToSpace DCR / CRD, SpaceToDepth', (b) => {
    const x = b.input('x', 'f32', [1, 8, 3, 2]);
    const x2 = b.input('x2', 'f32', [2, 3, 4, 6]);
    b.output(b.node('DepthToSpace', [x], { blocksize: 2 }), b.node('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' }),
      b.node('SpaceToDepth', [x2], { blocksize: 2 }));
  }),
  one('Resize nearest / linear, modes', (b) => {
    const x = b.input('x', 'f32', [1, 2, 4, 5]);
    const sc = b.const('sc', 'f32', [4], [1, 1, 2, 1.5]);
    const sz = i64(b, 'sz', [1, 2, 7, 3]);
    b.output(
      b.node('Resize', [x, null, sc], { mode: 'nearest' }),
      b.node('Resize', [x, null, sc], { mode: 'linear' }),
      b.node('Resize', [x, null, null, sz], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }),
      b.node('Resize', [x, null, null, sz], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
      b.node('Resize', [x, null, sc], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }),
    );
  }, 13),
  one('GridSample bilinear / nearest, paddings, align_corners', (b) => {
    const x = b.input('x', 'f32', [1, 2, 5, 6]);
    const grid = b.node('Mul', [b.input('grid', 'f32', [1, 4, 3, 2]), b.const('k', 'f32', [], [1.3])]);
    const outs: ValueId[] = [];
    for (const mode of ['bilinear', 'nearest']) {
      for (const padding_mode of ['zeros', 'border', 'reflection']) {
        for (const align_corners of [0, 1]) outs.push(b.node('GridSample', [x, grid], { mode, padding_mode, align_corners }));
      }
    }
    b.output(...outs);
  }, 16),
];

/** The shared suites, in order; each target runs them as `<target> <suite>`. */
export const SUITES: { name: string; cases: OpCase[] }[] = [
  { name: 'conv', cases: conv },
  { name: 'gemm / matmul', cases: gemm },
  { name: 'elementwise', cases: elementwise },
  { name: 'nn ops', cases: nn },
  { name: 'data movement', cases: dataMovement },
];

export interface TargetRunner {
  target: TargetName;
  run: RunOn;
  /** Compiles for the target; the fused-epilogue cases check its lowered graph. */
  compile: (g: Graph) => { graph: Graph };
  /** Input channels of the fused-epilogue graph. */
  fusedCin: number;
  /** Skip the differential runs (no runtime available). */
  skip?: boolean;
}

/** Registers every shared case for one target: `describe('<target> <suite>')` with one `it` per case. */
export function runSharedSuites(t: TargetRunner): void {
  for (const suite of SUITES) {
    describe.skipIf(!!t.skip)(`${t.target} ${suite.name}`, () => {
      for (const c of suite.cases) {
        if (c.only && c.only !== t.target) continue;
        it(c.name, async () => {
          for (const g of c.graphs()) await checkOn(t.run, g);
        });
      }
      if (suite.name !== 'conv') return;
      for (const [name, act] of ACTS) {
        it(`fused ${name} epilogue (conv, depthwise, gemm)`, async () => {
          const g = fusedEpilogueGraph(act, t.fusedCin);
          const art = t.compile(g);
          expect(art.graph.orderedNodes().filter((n) => n.domain === 'edgec').length).toBe(3);
          await checkOn(t.run, g);
        });
      }
    });
  }
}

// ---- target guarantees shared by every target (each file keeps its target-specific expectations) ----

/** An artifact as every target's compile returns it. */
export interface Artifact { files: ReadonlyMap<string, Uint8Array | string>; manifest: ArtifactManifest }

/** A graph with an op no target lowers (GlobalLpPool, node `my_glp`). */
export function unsupportedOpGraph(): Graph {
  return graphOf((b) => {
    const x = b.input('x', 'f32', [1, 3, 4, 4]);
    b.output(b.node('GlobalLpPool', [x], {}, { name: 'my_glp' }));
  });
}

/** `compile()` throws an `unsupported` EdgecError naming `node` (and `op` when given). */
export function expectUnsupported(compile: () => unknown, node: string, op?: string): void {
  let err: unknown;
  try {
    compile();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EdgecError);
  expect((err as EdgecError).kind).toBe('unsupported');
  expect((err as EdgecError).ctx.node).toBe(node);
  if (op !== undefined) expect((err as EdgecError).ctx.op).toBe(op);
}

/** Compiling the same small Conv+Relu graph twice gives byte-identical files and manifests. */
export function expectDeterministic(compile: (g: Graph) => Artifact): void {
  const build = () => graphOf((b) => {
    const x = b.input('x', 'f32', [1, 3, 8, 8]);
    const w = b.const('w', randomTensor([4, 3, 3, 3], 5));
    b.output(b.node('Relu', [b.node('Conv', [x, w], { pads: [1, 1, 1, 1] })]));
  });
  const a = compile(build());
  const c = compile(build());
  expect([...a.files.keys()]).toEqual([...c.files.keys()]);
  for (const [k, v] of a.files) expect(Buffer.from(c.files.get(k)!).equals(Buffer.from(v))).toBe(true);
  expect(JSON.stringify(a.manifest)).toBe(JSON.stringify(c.manifest));
}

/** The manifest of a 1x4 -> Gemm -> 1x3 `scores` graph lists I/O, sizes and the target's `files`. */
export function expectManifest(compile: (g: Graph) => Artifact, target: TargetName, files: string[]): void {
  const g = graphOf((b) => {
    const x = b.input('input', 'f32', [1, 4]);
    b.output(b.node('Gemm', [x, b.const('w', randomTensor([4, 3], 9))], {}, { outputNames: ['scores'] }));
  });
  const art = compile(g);
  const { manifest } = art;
  expect(manifest.target).toBe(target);
  expect(manifest.precision).toBe('fp32');
  expect(manifest.inputs).toMatchObject([{ name: 'input', shape: [1, 4], dtype: 'f32' }]);
  expect(manifest.outputs).toMatchObject([{ name: 'scores', shape: [1, 3], dtype: 'f32' }]);
  expect(manifest.macs).toBe(12);
  expect(manifest.params).toBe(12);
  expect(manifest.weights_bytes).toBeGreaterThanOrEqual(48);
  expect(Object.keys(manifest.files).sort()).toEqual(files);
  expect(art.files.get('model.mjs')).toContain('export async function create');
}

/** Graph outputs that alias an input (Reshape) or each other (Identity). */
export function aliasedOutputsGraph(): Graph {
  return graphOf((b) => {
    const x = b.input('x', 'f32', [2, 3]);
    const r = b.node('Reshape', [x, b.const('s', 'i64', [1], [6])]);
    const y = b.node('Relu', [x]);
    b.output(r, y, b.node('Identity', [y]));
  });
}

/** Conv + Sigmoid on a [1, 2, 6, 6] input `x`: one fused layer for the profiling builds. */
export function profiledGraph(): Graph {
  return graphOf((b) => {
    const x = b.input('x', 'f32', [1, 2, 6, 6]);
    b.output(b.node('Sigmoid', [b.node('Conv', [x, b.const('w', randomTensor([3, 2, 3, 3], 3))])], { name: 'act' }));
  });
}

/** A tensor of `dtype` from numbers (i64: converted to bigint). */
export const tensorOf = (dtype: 'f32' | 'i32' | 'i64', shape: number[], v: number[]): Tensor =>
  Tensor.from(dtype, shape, dtype === 'i64' ? v.map((x) => BigInt(x)) : v);

/**
 * `check` (random inputs) and `checkWith` (given inputs) against the reference, bound to a target's runner.
 * @param run the target's runner
 */
export function checkersOn(run: RunOn): {
  check: (g: Graph, rtol?: number, atol?: number) => Promise<void>;
  checkWith: (g: Graph, inputs: Tensor[], rtol?: number, atol?: number) => Promise<void>;
} {
  return {
    check: (g, rtol, atol) => checkOn(run, g, rtol, atol),
    checkWith: (g, inputs, rtol, atol) => checkWithOn(run, g, inputs, rtol, atol),
  };
}

/**
 * Resize on the general per-axis kernels with constant scales: cubic (default and -0.5
 * coefficient with exclude_outside, asymmetric coordinates), linear and cubic antialias
 * (align_corners) on a [1, 2, 5, 6] input.
 */
export function cubicResizeGraph(): Graph {
  const f32 = (shape: number[], v: number[]) => tensorOf('f32', shape, v);
  return graphOf((b) => {
    const xi = b.input('x', 'f32', [1, 2, 5, 6]);
    const up = b.const('up', f32([4], [1, 1, 1.6, 2.5]));
    const down = b.const('down', f32([4], [1, 1, 0.6, 0.5]));
    b.output(
      b.node('Resize', [xi, null, up], { mode: 'cubic' }),
      b.node('Resize', [xi, null, down], { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }),
      b.node('Resize', [xi, null, down], { mode: 'linear', antialias: 1 }),
      b.node('Resize', [xi, null, down], { mode: 'cubic', antialias: 1, coordinate_transformation_mode: 'align_corners' }),
      b.node('Resize', [xi, null, up], { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' }),
    );
  }, 19);
}
