/**
 * decompose pass: each function op's `decompose` hook against the op's own reference kernel.
 * For every case the reference interpreter runs the original node and the decomposed graph on the
 * same random inputs. Tolerance: rtol 1e-4, atol 1e-5 on f32 (the decomposition rounds every
 * intermediate to f32, the reference rounds once from float64, so results are close, not
 * bit-identical), tighter than the README's rtol 1e-3; f16 cases rtol 2e-3..5e-3.
 * Also: verify() after the pass, idempotence, only primitive ops left, ops a target supports left
 * alone, and the pipeline running decompose only when the target says what it supports.
 */
import { describe, expect, it } from 'vitest';
import { Graph, hasSubgraph } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor, numel } from '../../compiler/ir/tensor.js';
import { DType } from '../../compiler/ir/dtype.js';
import { verify } from '../../compiler/ir/verify.js';
import { print } from '../../compiler/ir/print.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { getOp } from '../../compiler/ops/registry.js';
import { passCtx } from '../../compiler/passes/pass.js';
import { decompose, decomposePass } from '../../compiler/passes/decompose.js';
import { passByName } from '../../compiler/passes/index.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { compareTensors } from '../helpers/compare.js';
import { EdgecError } from '../../compiler/errors.js';
import * as fs from 'node:fs';
import { compileWasm, wasmPipeline } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { webgpuPipeline } from '../../targets/webgpu/emit.js';
import { hlsPipeline } from '../../targets/hls/emit.js';
import { STRUCT, rng } from './helpers.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** A graph input with its test data. */
interface In {
  name: string;
  t: Tensor;
}

/** Uniform random f32 tensor in [lo, hi). */
function rand(shape: number[], seed: number, lo = -2, hi = 2, dtype: DType = 'f32'): Tensor {
  const r = rng(seed);
  return Tensor.from(dtype, shape, Array.from({ length: numel(shape) }, () => lo + (hi - lo) * r()));
}

/** Random int64 tensor with values in [0, n). */
function randInt(shape: number[], n: number, seed: number, dtype: DType = 'i64'): Tensor {
  const r = rng(seed);
  return Tensor.from(dtype, shape, Array.from({ length: numel(shape) }, () => {
    const v = Math.floor(r() * n);
    return dtype === 'i64' ? BigInt(v) : v;
  }));
}

/** Case: one node of `op` on inputs (graph inputs, or constants with `consts`), all outputs returned. */
interface Case {
  name: string;
  op: string;
  opset: number;
  inputs: (In | null)[];
  attrs?: Record<string, number | number[] | string>;
  outputs?: number;
  /** Input indices fed as constants instead of graph inputs. */
  consts?: number[];
  tol?: { rtol: number; atol: number };
}

/** The one-node graph of a case. */
function build(c: Case): Graph {
  const b = new GraphBuilder(c.name, { '': c.opset });
  const ids = c.inputs.map((x, i) => {
    if (x === null) return null;
    return c.consts?.includes(i) ? b.const(x.name, x.t) : b.input(x.name, x.t.dtype, x.t.shape);
  });
  const outs = b.nodeN(c.op, ids, c.outputs ?? 1, c.attrs ?? {}, { name: c.name });
  b.output(...outs);
  return b.build();
}

/** Graph inputs' data of a case, in graph-input order. */
function feeds(c: Case): Tensor[] {
  return c.inputs.filter((x, i): x is In => x !== null && !c.consts?.includes(i)).map((x) => x.t);
}

const f = (name: string, t: Tensor): In => ({ name, t });

const CASES: Case[] = [
  // activations
  { name: 'celu', op: 'Celu', opset: 12, inputs: [f('x', rand([3, 7], 1, -4, 4))], attrs: { alpha: 2 } },
  { name: 'shrink', op: 'Shrink', opset: 9, inputs: [f('x', Tensor.from('f32', [6], [-2, -0.5, -0.2, 0, 0.7, NaN]))], attrs: { lambd: 0.4, bias: 0.3 } },
  { name: 'shrink-random', op: 'Shrink', opset: 9, inputs: [f('x', rand([4, 5], 2))] },
  { name: 'swish', op: 'Swish', opset: 24, inputs: [f('x', rand([2, 9], 3, -6, 6))], attrs: { alpha: 0.7 } },
  { name: 'swish-default', op: 'Swish', opset: 24, inputs: [f('x', rand([5], 4))] },
  { name: 'hardswish', op: 'HardSwish', opset: 14, inputs: [f('x', rand([3, 8], 41, -5, 5))] },
  { name: 'softsign', op: 'Softsign', opset: 1, inputs: [f('x', rand([3, 8], 42, -5, 5))] },
  { name: 'mish', op: 'Mish', opset: 18, inputs: [f('x', rand([3, 8], 43, -5, 5))] },
  { name: 'thresholded-relu', op: 'ThresholdedRelu', opset: 10, attrs: { alpha: 0.5 }, inputs: [f('x', Tensor.from('f32', [5], [-1, 0.5, 0.6, 3, NaN]))] },
  { name: 'gelu', op: 'Gelu', opset: 20, inputs: [f('x', rand([3, 8], 44, -5, 5))] },
  { name: 'gelu-tanh', op: 'Gelu', opset: 20, attrs: { approximate: 'tanh' }, inputs: [f('x', rand([3, 8], 45, -5, 5))] },
  { name: 'swiglu', op: 'SwiGLU', opset: 28, inputs: [f('a', rand([2, 3, 8], 5, -5, 5)), f('b', rand([2, 3, 8], 6))], attrs: { alpha: 1.5 } },
  // normalizations
  { name: 'layer-norm', op: 'LayerNormalization', opset: 17, outputs: 3,
    inputs: [f('x', rand([2, 3, 8], 7)), f('s', rand([8], 8)), f('b', rand([8], 9))] },
  { name: 'layer-norm-axis1', op: 'LayerNormalization', opset: 17, outputs: 3, attrs: { axis: 1, epsilon: 1e-3 },
    inputs: [f('x', rand([2, 3, 4], 10)), f('s', rand([3, 4], 11))], consts: [1] },
  { name: 'layer-norm-broadcast-scale', op: 'LayerNormalization', opset: 17, attrs: { axis: 1 },
    inputs: [f('x', rand([2, 3, 4], 12)), f('s', rand([1, 4], 13)), f('b', rand([3, 1], 14))] },
  { name: 'layer-norm-stash-f64', op: 'LayerNormalization', opset: 17, outputs: 3, attrs: { stash_type: 11 },
    inputs: [f('x', rand([3, 5], 15)), f('s', rand([5], 16))] },
  { name: 'rms-norm', op: 'RMSNormalization', opset: 23, inputs: [f('x', rand([2, 3, 8], 17)), f('s', rand([8], 18))] },
  { name: 'rms-norm-axis1', op: 'RMSNormalization', opset: 23, attrs: { axis: 1, epsilon: 1e-2 },
    inputs: [f('x', rand([2, 3, 4], 19)), f('s', rand([3, 4], 20))] },
  { name: 'group-norm-18', op: 'GroupNormalization', opset: 18, attrs: { num_groups: 3 },
    inputs: [f('x', rand([2, 6, 3, 3], 21)), f('s', rand([3], 22)), f('b', rand([3], 23))] },
  { name: 'group-norm-21', op: 'GroupNormalization', opset: 21, attrs: { num_groups: 2, epsilon: 1e-3 },
    inputs: [f('x', rand([2, 6, 5], 24)), f('s', rand([6], 25)), f('b', rand([6], 26))] },
  { name: 'mvn', op: 'MeanVarianceNormalization', opset: 13, inputs: [f('x', rand([2, 3, 4, 5], 27))] },
  { name: 'mvn-axes', op: 'MeanVarianceNormalization', opset: 9, attrs: { axes: [1, -1] }, inputs: [f('x', rand([2, 3, 4], 28))] },
  { name: 'lp-norm-2', op: 'LpNormalization', opset: 1, attrs: { axis: 1 },
    inputs: [f('x', Tensor.from('f32', [3, 3], [3, 4, 0, 0, 0, 0, -1, 2, 2]))] },
  { name: 'lp-norm-1', op: 'LpNormalization', opset: 22, attrs: { axis: -1, p: 1 }, inputs: [f('x', rand([2, 3, 4], 29))] },
  // losses
  ...(['none', 'sum', 'mean'] as const).flatMap((reduction, k): Case[] => [
    { name: `nll-${reduction}`, op: 'NegativeLogLikelihoodLoss', opset: 13, attrs: { reduction },
      inputs: [f('x', rand([4, 5], 30 + k)), f('t', randInt([4], 5, 40 + k))] },
    { name: `nll-${reduction}-weight-ignore`, op: 'NegativeLogLikelihoodLoss', opset: 22, attrs: { reduction, ignore_index: 1 },
      inputs: [f('x', rand([3, 4, 2, 2], 50 + k)), f('t', randInt([3, 2, 2], 4, 60 + k)), f('w', rand([4], 70 + k, 0.2, 1))] },
    { name: `sce-${reduction}`, op: 'SoftmaxCrossEntropyLoss', opset: 13, attrs: { reduction }, outputs: 2,
      inputs: [f('x', rand([3, 6, 2], 80 + k)), f('t', randInt([3, 2], 6, 90 + k, 'i32'))] },
    { name: `sce-${reduction}-opset12-weight-ignore`, op: 'SoftmaxCrossEntropyLoss', opset: 12, attrs: { reduction, ignore_index: 0 }, outputs: 2,
      inputs: [f('x', rand([2, 4, 3], 100 + k)), f('t', randInt([2, 3], 4, 110 + k)), f('w', rand([4], 120 + k, 0.2, 1))] },
  ]),
  // rotary embedding
  { name: 'rotary-rank4', op: 'RotaryEmbedding', opset: 23,
    inputs: [f('x', rand([2, 2, 3, 8], 130)), f('cos', rand([2, 3, 4], 131)), f('sin', rand([2, 3, 4], 132))] },
  { name: 'rotary-rank3-pos-interleaved-partial', op: 'RotaryEmbedding', opset: 23, attrs: { num_heads: 2, interleaved: 1, rotary_embedding_dim: 4 },
    inputs: [f('x', rand([2, 3, 12], 133)), f('cos', rand([10, 2], 134)), f('sin', rand([10, 2], 135)), f('pos', randInt([2, 3], 10, 136))] },
  { name: 'rotary-rank4-pos', op: 'RotaryEmbedding', opset: 23,
    inputs: [f('x', rand([1, 3, 4, 6], 137)), f('cos', rand([8, 3], 138)), f('sin', rand([8, 3], 139)), f('pos', randInt([1, 4], 8, 140))], consts: [1, 2] },
  // causal depthwise convolution with state
  { name: 'causal-conv-past-bias-silu', op: 'CausalConvWithState', opset: 27, outputs: 2, attrs: { activation: 'silu' },
    inputs: [f('x', rand([2, 3, 5], 141)), f('w', rand([3, 1, 4], 142)), f('b', rand([3], 143)), f('past', rand([2, 3, 3], 144))] },
  { name: 'causal-conv-no-past', op: 'CausalConvWithState', opset: 27, outputs: 2,
    inputs: [f('x', rand([1, 2, 2], 145)), f('w', rand([2, 1, 3], 146))], consts: [1] },
  { name: 'causal-conv-k1', op: 'CausalConvWithState', opset: 27, outputs: 2,
    inputs: [f('x', rand([1, 2, 3], 147)), f('w', rand([2, 1, 1], 148))] },
  // attention
  { name: 'attention-rank4', op: 'Attention', opset: 23, outputs: 4,
    inputs: [f('q', rand([2, 3, 4, 8], 150)), f('k', rand([2, 3, 6, 8], 151)), f('v', rand([2, 3, 6, 5], 152))] },
  { name: 'attention-rank3-gqa-causal', op: 'Attention', opset: 23, outputs: 4, attrs: { q_num_heads: 4, kv_num_heads: 2, is_causal: 1 },
    inputs: [f('q', rand([2, 5, 16], 153)), f('k', rand([2, 5, 8], 154)), f('v', rand([2, 5, 6], 155))] },
  { name: 'attention-bool-mask-padded-softcap', op: 'Attention', opset: 23, outputs: 4, attrs: { softcap: 2, scale: 0.5, qk_matmul_output_mode: 1 },
    inputs: [f('q', rand([1, 2, 3, 4], 156)), f('k', rand([1, 2, 5, 4], 157)), f('v', rand([1, 2, 5, 4], 158)),
      f('m', Tensor.from('bool', [3, 4], [1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1]))] },
  { name: 'attention-float-mask-mode2', op: 'Attention', opset: 23, outputs: 4, attrs: { qk_matmul_output_mode: 2 },
    inputs: [f('q', rand([2, 2, 3, 4], 159)), f('k', rand([2, 2, 3, 4], 160)), f('v', rand([2, 2, 3, 4], 161)), f('m', rand([2, 1, 3, 3], 162))] },
  { name: 'attention-past-causal-mode3', op: 'Attention', opset: 23, outputs: 4, attrs: { is_causal: 1, qk_matmul_output_mode: 3 },
    inputs: [f('q', rand([1, 4, 2, 4], 163)), f('k', rand([1, 2, 2, 4], 164)), f('v', rand([1, 2, 2, 3], 165)), null,
      f('pk', rand([1, 2, 3, 4], 166)), f('pv', rand([1, 2, 3, 3], 167))] },
  { name: 'attention-f16-softmax-precision', op: 'Attention', opset: 23, outputs: 4, attrs: { softmax_precision: 1, is_causal: 1, qk_matmul_output_mode: 3 },
    inputs: [f('q', rand([1, 2, 3, 4], 174, -2, 2, 'f16')), f('k', rand([1, 2, 3, 4], 175, -2, 2, 'f16')), f('v', rand([1, 2, 3, 4], 176, -2, 2, 'f16'))],
    tol: { rtol: 5e-3, atol: 2e-3 } },
  { name: 'attention-nonpad-causal', op: 'Attention', opset: 24, outputs: 4, attrs: { is_causal: 1 },
    inputs: [f('q', rand([2, 2, 2, 4], 168)), f('k', rand([2, 2, 5, 4], 169)), f('v', rand([2, 2, 5, 4], 170)), null, null, null,
      f('np', Tensor.from('i64', [2], [3n, 5n]))] },
  { name: 'attention-nonpad-mask', op: 'Attention', opset: 24, outputs: 1,
    inputs: [f('q', rand([2, 1, 2, 4], 171)), f('k', rand([2, 1, 4, 4], 172)), f('v', rand([2, 1, 4, 4], 173)),
      f('m', Tensor.from('bool', [2, 1, 2, 4], [1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])), null, null,
      f('np', Tensor.from('i64', [2], [4n, 1n]))] },
];

/** Runs the decompose pass on a copy; checks verify, idempotence and that only primitives remain. */
function decomposed(g: Graph): Graph {
  const h = g.clone();
  expect(decompose.run(h, passCtx())).toBe(true);
  verify(h, { pass: 'decompose' });
  const text = print(h, STRUCT);
  expect(decompose.run(h, passCtx()), 'second run changed the graph').toBe(false);
  expect(print(h, STRUCT)).toBe(text);
  for (const n of h.nodes.values()) expect(getOp(n.domain, n.op)?.decompose, `${n.op} left in the graph`).toBeUndefined();
  expect(h.orderedNodes().some(hasSubgraph)).toBe(false);
  return h;
}

describe('decompose: primitives match the reference kernel', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const g = build(c);
      const h = decomposed(g);
      const want = runGraph(g, feeds(c));
      const got = runGraph(h, feeds(c));
      expect(got.length).toBe(want.length);
      want.forEach((t, i) => expect(compareTensors(got[i]!, t, c.tol ?? TOL), `${c.name} output ${i}`).toBeNull());
    });
  }

  it('covers every op with a decompose hook', () => {
    const covered = new Set(CASES.map((c) => c.op));
    for (const op of ['Attention', 'RMSNormalization', 'LayerNormalization', 'GroupNormalization', 'MeanVarianceNormalization',
      'LpNormalization', 'SwiGLU', 'Swish', 'Celu', 'Shrink', 'NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss', 'RotaryEmbedding',
      'CausalConvWithState', 'HardSwish', 'Softsign', 'Mish', 'ThresholdedRelu', 'Gelu']) {
      expect(getOp('', op)?.decompose, op).toBeDefined();
      expect(covered, op).toContain(op);
    }
  });

  it('a fully masked attention row gives zero probabilities, as the reference', () => {
    const c = CASES.find((x) => x.name === 'attention-nonpad-mask')!;
    const g = build(c);
    const y = runGraph(decomposed(g), feeds(c))[0]!;
    // batch 1, query 0: mask row [0, 1, 1, 1] and nonpad 1 mask every key
    for (let d = 0; d < 4; d++) expect(y.get(2 * 4 + d)).toBe(0);
  });
});

describe('decompose: FlexAttention inlines its modifier subgraphs', () => {
  /** score_mod: tanh(s) * c + bias (bias captured from the enclosing graph); prob_mod: p * 2. */
  function flexGraph(dtype: DType, withMods: boolean, gqa: boolean): { g: Graph; ins: Tensor[] } {
    const shapeQ = [1, gqa ? 4 : 2, 3, 4];
    const shapeK = [1, 2, 5, 4];
    const scores = [1, shapeQ[1]!, 3, 5];
    const prec: DType = 'f32'; // 16-bit inputs: the modifiers see float32 scores
    const b = new GraphBuilder('flex', { '': 23, 'ai.onnx.preview': 1 });
    const q = b.input('q', dtype, shapeQ);
    const k = b.input('k', dtype, shapeK);
    const v = b.input('v', dtype, [1, 2, 5, 3]);
    const ins = [rand(shapeQ, 1, -2, 2, dtype), rand(shapeK, 2, -2, 2, dtype), rand([1, 2, 5, 3], 3, -2, 2, dtype)];
    const attrs: Record<string, Graph> = {};
    const inputs = [q, k, v];
    if (withMods) {
      const sb = new GraphBuilder('score_mod', { '': 23 });
      const s = sb.input('s', prec, scores);
      const bias = sb.g.addValue('bias', { dtype: prec, shape: [5] }).id;
      sb.g.captures.push(bias);
      sb.output(sb.node('Add', [sb.node('Mul', [sb.node('Tanh', [s]), sb.const('c', prec, [], [3])]), bias]));
      attrs['score_mod'] = sb.build();
      const pb = new GraphBuilder('prob_mod', { '': 23 });
      const p = pb.input('p', prec, scores);
      const cap = pb.g.addValue('bias', { dtype: prec, shape: [5] }).id;
      pb.g.captures.push(cap);
      pb.output(pb.node('Mul', [p, pb.const('two', prec, [], [2])]));
      attrs['prob_mod'] = pb.build();
      inputs.push(b.input('bias', prec, [5]));
      ins.push(rand([5], 4));
    }
    b.output(b.node('FlexAttention', inputs, attrs, { domain: 'ai.onnx.preview', name: 'flex' }));
    return { g: b.build(), ins };
  }

  for (const [name, dtype, mods, gqa] of [['plain', 'f32', false, false], ['mods-captures', 'f32', true, false], ['gqa-f16-mods', 'f16', true, true]] as const) {
    it(name, () => {
      const { g, ins } = flexGraph(dtype, mods, gqa);
      const h = decomposed(g);
      expect(h.orderedNodes().some((n) => n.op === 'Tanh')).toBe(mods);
      const tol = dtype === 'f16' ? { rtol: 2e-3, atol: 1e-3 } : TOL;
      expect(compareTensors(runGraph(h, ins)[0]!, runGraph(g, ins)[0]!, tol)).toBeNull();
    });
  }
});

describe('decompose: when and what it expands', () => {
  const ln = CASES.find((c) => c.name === 'layer-norm')!;
  const sw = CASES.find((c) => c.name === 'swish')!;

  it('leaves ops alone when the target supports them', () => {
    const g = build(ln);
    const before = print(g, STRUCT);
    const pass = decomposePass((n) => n.op === 'LayerNormalization');
    expect(pass.run(g, passCtx())).toBe(false);
    expect(print(g, STRUCT)).toBe(before);
  });

  it('expands only the unsupported ops, repeating until none is left', () => {
    // Celu -> Elu: the target lacks Celu but has Elu; Swish -> Sigmoid * x
    const b = new GraphBuilder('mix', { '': 24 });
    const x = b.input('x', 'f32', [2, 5]);
    const y = b.node('Celu', [x], { alpha: 0.5 });
    const z = b.node('Swish', [y]);
    const w = b.node('LayerNormalization', [z, b.const('s', rand([5], 3))]);
    b.output(w);
    const g = b.build();
    const h = g.clone();
    const ctx = passCtx();
    expect(decomposePass((n) => n.op === 'LayerNormalization').run(h, ctx)).toBe(true);
    expect(ctx.changes).toBe(2);
    const ops = h.orderedNodes().map((n) => n.op);
    expect(ops).toContain('LayerNormalization');
    expect(ops).not.toContain('Celu');
    expect(ops).not.toContain('Swish');
    const ins = [rand([2, 5], 9)];
    expect(compareTensors(runGraph(h, ins)[0]!, runGraph(g, ins)[0]!, TOL)).toBeNull();
  });

  it('declines what it cannot express (integer Shrink, symbolic Attention) and lowering is left to report it', () => {
    const b = new GraphBuilder('int', { '': 23 });
    const x = b.input('x', 'i32', [4]);
    b.output(b.node('Shrink', [x], { lambd: 1, bias: 1 }));
    const q = b.input('q', 'f32', ['N', 2, 3, 4]);
    b.output(b.node('Attention', [q, q, q]));
    const g = b.build();
    const before = print(g, STRUCT);
    expect(decompose.run(g, passCtx())).toBe(false);
    expect(print(g, STRUCT)).toBe(before);
  });

  it('keeps graph outputs distinct from graph inputs (present_key = K)', () => {
    const c = CASES.find((x) => x.name === 'attention-rank4')!;
    const h = decomposed(build(c));
    expect(h.inputs.some((i) => h.outputs.includes(i))).toBe(false);
    expect(h.outputs.map((o) => h.value(o).name)).toEqual(build(c).outputs.map((o) => build(c).value(o).name));
  });

  it('reports bad inputs as typed errors naming the node', () => {
    const b = new GraphBuilder('bad', { '': 23 });
    const x = b.input('x', 'f32', [1, 2, 3, 8]);
    const cs = b.input('c', 'f32', [1, 2, 3]);
    b.output(b.node('RotaryEmbedding', [x, cs, cs], {}, { name: 'rope' }));
    const g = b.build();
    let err: unknown;
    try {
      decompose.run(g, passCtx());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    const e = err as EdgecError;
    expect(e.kind).toBe('invalid');
    expect(e.oneLine()).toMatch(/^RotaryEmbedding: cos\/sin cache last dim must be 4, got \[1,2,3\] \(node "rope", op RotaryEmbedding, opset 23\)$/);
    expect(g.orderedNodes().map((n) => n.op)).toEqual(['RotaryEmbedding']);
  });

  it('runs in the pipeline only when the target says what it supports, after const-fold and before the fusions', () => {
    expect(passByName('decompose')).toBe(decompose);
    expect(pipelineFor('wasm').map((p) => p.name)).not.toContain('decompose');
    const names = pipelineFor('wasm', { supports: () => true }).map((p) => p.name);
    expect(names.indexOf('decompose')).toBeGreaterThan(names.indexOf('const-fold'));
    expect(names.indexOf('decompose')).toBeLessThan(names.indexOf('fuse-activation'));
    const g = build(sw);
    const h = g.clone();
    new PassManager(pipelineFor('wasm', { supports: (n) => n.op !== 'Swish' }), { verify: true }).run(h);
    expect(h.orderedNodes().map((n) => n.op)).not.toContain('Swish');
    expect(compareTensors(runGraph(h, feeds(sw))[0]!, runGraph(g, feeds(sw))[0]!, TOL)).toBeNull();
  });
});

describe('decompose: targets pass what they support', () => {
  it('wasm and webgpu pipelines decompose (their lowering tables), hls does not ask', () => {
    expect(wasmPipeline().map((p) => p.name)).toContain('decompose');
    expect(webgpuPipeline().map((p) => p.name)).toContain('decompose');
    expect(hlsPipeline().map((p) => p.name)).not.toContain('decompose');
  });

  it('a GQA causal attention block with RMSNormalization and SwiGLU compiles to wasm and matches the reference', async () => {
    const b = new GraphBuilder('block', { '': 28 });
    const x = b.input('x', 'f32', [1, 4, 8]);
    const h = b.node('RMSNormalization', [x, b.const('g', rand([8], 1, 0.5, 1.5))]);
    const q = b.node('MatMul', [h, b.const('wq', rand([8, 8], 2, -0.5, 0.5))]);
    const k = b.node('MatMul', [h, b.const('wk', rand([8, 4], 3, -0.5, 0.5))]);
    const v = b.node('MatMul', [h, b.const('wv', rand([8, 4], 4, -0.5, 0.5))]);
    const a = b.node('Attention', [q, k, v], { q_num_heads: 4, kv_num_heads: 2, is_causal: 1 });
    const up = b.node('MatMul', [a, b.const('wu', rand([8, 8], 5, -0.5, 0.5))]);
    const gate = b.node('MatMul', [a, b.const('wg', rand([8, 8], 6, -0.5, 0.5))]);
    b.output(b.node('SwiGLU', [up, gate]));
    const g = b.build();
    const art = compileWasm(g);
    expect(art.graph.orderedNodes().map((n) => n.op)).not.toContain('Attention');
    const dir = writeTempArtifact(art.files);
    try {
      const model = await loadWasmArtifact(dir);
      const ins = [rand([1, 4, 8], 7)];
      const got = runWasmModel(model, ins)[0]!;
      expect(compareTensors(got, runGraph(g, ins)[0]!, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
