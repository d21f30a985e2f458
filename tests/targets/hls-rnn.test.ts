/**
 * HLS target, recurrent layers (lib/nnet_recurrent.h: nnet::lstm / gru / rnn): LSTM, GRU and RNN graphs
 * built in code, compiled for hls and run in C simulation (g++) against the reference interpreter
 * (fp32, rtol 1e-3 / atol 1e-4 like the other HLS fp32 tests). To keep g++ time down one
 * multi-branch graph holds most cases (hidden sizes, sequence lengths, with/without initial state
 * and bias, reverse / bidirectional, layout 1, batch > 1, linear_before_reset, clip, non-default
 * activations, peepholes, input_forget, sequence_lens); an LSTM followed by
 * a Gemm classifier head goes through the hls pipeline on its own. Unsupported attributes give a
 * one-line `unsupported` error naming the node; the estimate counts the gate MACs and weights. The
 * ONNX backend node tests of LSTM / GRU / RNN run in C simulation against their expected outputs.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { optimize } from '../../compiler/pipeline.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileHls, emitHls } from '../../targets/hls/emit.js';
import { quantizeModel } from '../../quantize/index.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';
import { csimVsRef } from './hls-helpers.js';
import { listNodeTests, loadNodeCase } from '../onnx-node/cases.js';

const HAVE_GXX = spawnSync(process.env['CXX'] || 'g++', ['--version']).status === 0;
const TOL = { rtol: 1e-3, atol: 1e-4 };

type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Case {
  kind: Kind;
  S: number;
  I: number;
  H: number;
  B?: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  /** initial_h (and initial_c) as graph inputs */
  init?: boolean;
  /** initial_h (and initial_c) as constants */
  constInit?: boolean;
  bias?: boolean;
  lbr?: boolean;
  /** outputs exposed (indices); default all */
  outputs?: number[];
  /** extra attributes / inputs for the unsupported cases */
  attrs?: Record<string, AttrValue>;
  lens?: number[];
  /** sequence_lens as a graph input */
  runtimeLens?: boolean;
  peepholes?: boolean;
  runtimeW?: boolean;
}

/** Adds the node of one case to `b` (inputs appended to `inputs`); returns its outputs. */
function addCase(b: GraphBuilder, inputs: Tensor[], cs: Case, seed: number, tag: string): { outs: ValueId[]; names: string[] } {
  const { kind, S, I, H, B = 1, direction = 'forward', layout = 0 } = cs;
  const D = direction === 'bidirectional' ? 2 : 1;
  const G = GATES[kind];
  const inp = (name: string, t: Tensor): ValueId => {
    inputs.push(t);
    return b.input(`${tag}_${name}`, t.dtype, t.shape);
  };
  const x = inp('x', randomTensor(layout === 0 ? [S, B, I] : [B, S, I], seed));
  const sc = 1 / Math.sqrt(H);
  const wT = randomTensor([D, G * H, I], seed + 1, -sc, sc);
  const w = cs.runtimeW ? inp('W', wT) : b.const(`${tag}_W`, wT);
  const r = b.const(`${tag}_R`, randomTensor([D, G * H, H], seed + 2, -sc, sc));
  const bias = cs.bias === false ? null : b.const(`${tag}_B`, randomTensor([D, 2 * G * H], seed + 3, -0.5, 0.5));
  const lensT = cs.lens ? Tensor.from('i32', [B], cs.lens) : null;
  const lens = lensT ? (cs.runtimeLens ? inp('lens', lensT) : b.const(`${tag}_lens`, lensT)) : null;
  const st = layout === 0 ? [D, B, H] : [B, D, H];
  const state = (name: string, s: number): ValueId | null =>
    cs.init ? inp(name, randomTensor(st, s)) : cs.constInit ? b.const(`${tag}_${name}`, randomTensor(st, s)) : null;
  const h0 = state('h0', seed + 4);
  const c0 = kind === 'LSTM' ? state('c0', seed + 5) : null;
  const p = cs.peepholes ? b.const(`${tag}_P`, randomTensor([D, 3 * H], seed + 6, -0.5, 0.5)) : null;
  const ins = kind === 'LSTM' ? [x, w, r, bias, lens, h0, c0, p] : [x, w, r, bias, lens, h0];
  while (ins[ins.length - 1] === null) ins.pop();
  const attrs: Record<string, AttrValue> = { hidden_size: H, direction, layout, ...(cs.attrs ?? {}) };
  if (cs.lbr) attrs.linear_before_reset = 1;
  const nOut = kind === 'LSTM' ? 3 : 2;
  const outs = b.nodeN(kind, ins, nOut, attrs, { name: `${tag}_node` });
  const pick = cs.outputs ?? [...Array(nOut).keys()];
  const names: string[] = [];
  const exposed = pick.map((k) => {
    const o = b.node('Identity', [outs[k]!], {}, { name: `${tag}_id${k}`, outputNames: [`${tag}_out${k}`] });
    names.push(`${tag}_out${k}`);
    return o;
  });
  return { outs: exposed, names };
}

/** Several cases in one graph (one g++ compile). */
function buildMulti(cases: Case[]): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('rnn_zoo', { '': 17 });
  const inputs: Tensor[] = [];
  const names: string[] = [];
  cases.forEach((cs, k) => {
    const r = addCase(b, inputs, cs, 100 + 10 * k, `c${k}`);
    b.output(...r.outs);
    names.push(...r.names);
  });
  return { g: b.build(), inputs, names };
}

/** An LSTM over [S, 1, I] whose final hidden state feeds a Gemm classifier head (+ Softmax). */
function lstmClassifier(S: number, I: number, H: number, classes: number): { g: Graph; x: Tensor } {
  const b = new GraphBuilder('kws', { '': 17 });
  const x = b.input('mfcc', 'f32', [S, 1, I]);
  const sc = 1 / Math.sqrt(H);
  const outs = b.nodeN('LSTM', [x, b.const('W', randomTensor([1, 4 * H, I], 71, -sc, sc)), b.const('R', randomTensor([1, 4 * H, H], 72, -sc, sc)),
    b.const('B', randomTensor([1, 8 * H], 73, -0.5, 0.5))], 3, { hidden_size: H }, { name: 'lstm' });
  const flat = b.node('Reshape', [outs[1]!, b.const('shape', 'i64', [2], [1, H])]);
  const logits = b.node('Gemm', [flat, b.const('Wc', randomTensor([classes, H], 74, -0.5, 0.5)), b.const('bc', randomTensor([classes], 75, -0.1, 0.1))], { transB: 1 });
  b.output(b.node('Softmax', [logits], { axis: 1 }, { name: 'probs', outputNames: ['probs'] }));
  return { g: b.build(), x: randomTensor([S, 1, I], 70) };
}

/** The error of emitting `cs` alone. */
function emitError(cs: Case): EdgecError {
  const b = new GraphBuilder('bad_rnn', { '': 17 });
  const inputs: Tensor[] = [];
  b.output(...addCase(b, inputs, cs, 5, 'bad').outs);
  try {
    emitHls(b.build(), { testVectors: false });
  } catch (e) {
    if (e instanceof EdgecError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('hls LSTM / GRU / RNN (nnet_recurrent.h)', () => {
  it.skipIf(!HAVE_GXX)('C simulation matches the reference: hidden sizes, lengths, states, bias, directions, layouts', async () => {
    const cases: Case[] = [
      { kind: 'LSTM', S: 5, I: 4, H: 8 },
      { kind: 'LSTM', S: 3, I: 6, H: 16, init: true, bias: false },
      { kind: 'LSTM', S: 12, I: 3, H: 5, constInit: true, outputs: [1, 2] },
      { kind: 'LSTM', S: 4, I: 5, H: 7, B: 2, direction: 'reverse', layout: 1, init: true },
      { kind: 'LSTM', S: 6, I: 4, H: 6, B: 3, direction: 'bidirectional', init: true },
      { kind: 'LSTM', S: 20, I: 16, H: 32, outputs: [1] },
      { kind: 'GRU', S: 7, I: 3, H: 5, init: true },
      { kind: 'GRU', S: 4, I: 8, H: 12, lbr: true, bias: false },
      { kind: 'GRU', S: 9, I: 6, H: 10, lbr: true, init: true, outputs: [0] },
      { kind: 'GRU', S: 5, I: 4, H: 6, B: 2, direction: 'bidirectional', layout: 1, constInit: true },
      { kind: 'GRU', S: 3, I: 2, H: 3, B: 2, direction: 'reverse', lbr: true },
      { kind: 'GRU', S: 16, I: 20, H: 24 },
      // clip and non-default activations (Keras' hard_sigmoid recurrent activation...)
      { kind: 'LSTM', S: 8, I: 4, H: 6, attrs: { clip: 0.5 }, init: true },
      { kind: 'LSTM', S: 6, I: 3, H: 5, attrs: { activations: ['HardSigmoid', 'Tanh', 'Tanh'] } },
      { kind: 'LSTM', S: 5, I: 3, H: 4, B: 2, direction: 'bidirectional',
        attrs: { activations: ['Sigmoid', 'LeakyRelu', 'Elu'], activation_alpha: [0.1, 0.7, 0.1, 0.7] } },
      { kind: 'GRU', S: 7, I: 4, H: 6, attrs: { activations: ['HardSigmoid', 'Softplus'], activation_alpha: [0.25], activation_beta: [0.4], clip: 2 } },
      { kind: 'GRU', S: 4, I: 3, H: 5, lbr: true, attrs: { activations: ['Sigmoid', 'Relu'], clip: 1.25 } },
      // peepholes, input_forget
      { kind: 'LSTM', S: 6, I: 4, H: 7, peepholes: true, init: true },
      { kind: 'LSTM', S: 5, I: 3, H: 4, B: 2, direction: 'bidirectional', peepholes: true, attrs: { input_forget: 1, clip: 0.8 } },
      // sequence_lens: zero, partial and full lengths; constant and runtime
      { kind: 'LSTM', S: 6, I: 3, H: 5, B: 3, lens: [0, 4, 6], init: true },
      { kind: 'LSTM', S: 5, I: 2, H: 4, B: 3, direction: 'bidirectional', lens: [2, 5, 1], runtimeLens: true },
      { kind: 'GRU', S: 6, I: 3, H: 5, B: 3, direction: 'reverse', layout: 1, lens: [3, 0, 6], constInit: true },
      { kind: 'GRU', S: 4, I: 4, H: 3, B: 2, lbr: true, lens: [4, 2], runtimeLens: true },
      // RNN, and the remaining activations
      { kind: 'RNN', S: 8, I: 5, H: 9, init: true },
      { kind: 'RNN', S: 5, I: 3, H: 4, B: 2, direction: 'bidirectional', layout: 1, lens: [5, 3], bias: false,
        attrs: { activations: ['ScaledTanh'], activation_alpha: [1.5, 1.5], activation_beta: [0.7, 0.7], clip: 3 } },
      { kind: 'RNN', S: 4, I: 3, H: 6, direction: 'reverse', attrs: { activations: ['Softsign'] } },
      { kind: 'GRU', S: 5, I: 3, H: 4, attrs: { activations: ['Sigmoid', 'ThresholdedRelu'], activation_alpha: [0.1] } },
      { kind: 'LSTM', S: 4, I: 3, H: 4, attrs: { activations: ['HardSigmoid', 'Affine', 'Softsign'], activation_alpha: [0.3, 0.9], activation_beta: [0.45, 0.05] } },
    ];
    const { g, inputs, names } = buildMulti(cases);
    const res = await csimVsRef(g, inputs);
    expect(res.outputs.length).toBe(names.length);
    names.forEach((nm, k) => {
      expect(res.outputs[k]!.shape, nm).toEqual(res.want[k]!.shape);
      expect(compareTensors(res.outputs[k]!, res.want[k]!, TOL), nm).toBeNull();
    });
    // one kernel call per recurrent node, pipelined gate rows
    const top = String(res.art.files.get('firmware/myproject.cpp'));
    expect(top.match(/nnet::lstm</g)?.length).toBe(14);
    expect(top.match(/nnet::gru</g)?.length).toBe(11);
    expect(top.match(/nnet::rnn</g)?.length).toBe(3);
    expect(String(res.art.files.get('firmware/nnet_utils/nnet_recurrent.h'))).toMatch(/#pragma HLS PIPELINE II=CFG::reuse_factor/);
  }, 120_000);

  it.skipIf(!HAVE_GXX)('an LSTM followed by a Gemm classifier head, through the hls pipeline', async () => {
    const { g, x } = lstmClassifier(10, 13, 20, 4);
    const a = compileHls(g, { testVectors: false });
    const res = await csimVsRef(a.graph, [x]);
    expect(compareTensors(res.outputs[0]!, res.want[0]!, TOL)).toBeNull();
    // and against the unoptimized graph
    expect(compareTensors(res.outputs[0]!, runGraph(g, [x])[0]!, TOL)).toBeNull();
    expect(res.art.estimate.layers.map((l) => l.op)).toEqual(expect.arrayContaining(['LSTM']));
  }, 120_000);

  it('the estimate counts the gate MACs, weights and the sequential steps', () => {
    const est = (S: number) => {
      const { g } = lstmClassifier(S, 13, 20, 4);
      return compileHls(g, { testVectors: false, fit: 'off' }).estimate;
    };
    const e10 = est(10);
    const l = e10.layers.find((x) => x.op === 'LSTM')!;
    expect(l.kernel).toBe('nnet::lstm');
    expect(l.macs).toBe(10 * 4 * 20 * (13 + 20));
    expect(l.multipliers).toBe(33); // one gate row (13 + 20 MACs) per pipelined iteration
    expect(l.dsp).toBeGreaterThanOrEqual(5 * 33);
    // W + R + B = (80*13 + 80*20 + 160) floats = 89.6 kbit > 2 kbit: BRAM
    expect(l.bram18k).toBeGreaterThan(0);
    const gemm = e10.layers.find((x) => x.op === 'Gemm' || x.op.endsWith('FusedGemm'))!;
    expect(gemm.macs).toBe(4 * 20);
    // latency grows with the sequence length (steps are sequential)
    const l20 = est(20).layers.find((x) => x.op === 'LSTM')!;
    expect(l20.latency_cycles).toBeGreaterThan(1.9 * l.latency_cycles);
    expect(l20.macs).toBe(2 * l.macs);
    // a larger reuse factor trades multipliers for latency
    const { g } = lstmClassifier(10, 13, 20, 4);
    const r3 = compileHls(g, { testVectors: false, reuseFactor: 3 }).estimate.layers.find((x) => x.op === 'LSTM')!;
    expect(r3.multipliers).toBe(11);
    expect(r3.latency_cycles).toBeGreaterThan(l.latency_cycles);
  });

  it('unsupported attributes and inputs: one-line unsupported errors naming the node', () => {
    const bad: [Case, RegExp][] = [
      [{ kind: 'LSTM', S: 3, I: 2, H: 4, direction: 'bidirectional', attrs: { activations: ['Sigmoid', 'LeakyRelu', 'Tanh'], activation_alpha: [0.2] } },
        /different activations per direction/],
      [{ kind: 'GRU', S: 3, I: 2, H: 4, direction: 'bidirectional', attrs: { activations: ['Sigmoid', 'Tanh', 'Sigmoid', 'Relu'] } },
        /different activations per direction/],
      [{ kind: 'GRU', S: 3, I: 2, H: 4, runtimeW: true }, /must be a constant/],
      [{ kind: 'RNN', S: 3, I: 2, H: 4, direction: 'bidirectional', attrs: { activations: ['Tanh', 'Relu'] } }, /different activations per direction/],
    ];
    for (const [cs, why] of bad) {
      const err = emitError(cs);
      expect(err.kind, JSON.stringify(cs)).toBe('unsupported');
      const line = err.oneLine();
      expect(line).toMatch(why);
      expect(line).toMatch(/"bad_node"/);
      expect(line).toMatch(new RegExp(`op ${cs.kind}`));
      expect(line).not.toContain('\n');
    }
  });

  it.skipIf(!HAVE_GXX)('quantized precisions: int8 and int4 keep the LSTM/GRU in float, fp16 rounds the states to half', async () => {
    const b = new GraphBuilder('kws2', { '': 17 });
    const S = 6, I = 5, H = 8;
    const x = b.input('mfcc', 'f32', [S, 1, I]);
    const l = b.nodeN('LSTM', [x, b.const('W', randomTensor([1, 4 * H, I], 81, -0.4, 0.4)), b.const('R', randomTensor([1, 4 * H, H], 82, -0.4, 0.4)),
      b.const('B', randomTensor([1, 8 * H], 83, -0.5, 0.5))], 3, { hidden_size: H }, { name: 'lstm' });
    // stacked: the LSTM's Y [S, 1, 1, H] as the GRU's X [S, 1, H]
    const gr = b.nodeN('GRU', [b.node('Reshape', [l[0]!, b.const('s3', 'i64', [3], [S, 1, H])]),
      b.const('Wg', randomTensor([1, 3 * H, H], 84, -0.4, 0.4)), b.const('Rg', randomTensor([1, 3 * H, H], 85, -0.4, 0.4))], 2, { hidden_size: H }, { name: 'gru' });
    const flat = b.node('Reshape', [gr[1]!, b.const('shape', 'i64', [2], [1, H])]);
    b.output(b.node('Gemm', [flat, b.const('Wc', randomTensor([4, H], 86, -0.5, 0.5)), b.const('bc', randomTensor([4], 87, -0.1, 0.1))], { transB: 1 }, { name: 'head', outputNames: ['logits'] }));
    const opt = compileHls(b.build(), { testVectors: false }).graph;
    const xin = randomTensor([S, 1, I], 88);
    for (const mode of ['int8', 'fp16', 'int4'] as const) {
      const q = quantizeModel(opt.clone(), { mode, calib: [randomTensor([S, 1, I], 89)] }).graph;
      const rnnTypes = q.orderedNodes().filter((n) => n.op === 'LSTM' || n.op === 'GRU').map((n) => q.typeOf(n.outputs[0]!).dtype);
      expect(rnnTypes, mode).toEqual(mode === 'fp16' ? ['f16', 'f16'] : ['f32', 'f32']);
      const res = await csimVsRef(q, [xin], { precision: mode });
      const want = res.want[0]!;
      const rng = Math.max(...want.toNumbers().map(Math.abs));
      const tol = mode === 'fp16' ? { rtol: 1e-2, atol: 1e-2 * rng } : TOL;
      expect(compareTensors(res.outputs[0]!, want, tol), mode).toBeNull();
      expect(res.art.manifest.precision).toBe(mode);
    }
  }, 180_000);

  it('the pipeline keeps the recurrent node intact (optimize for hls)', () => {
    const { g } = lstmClassifier(4, 3, 5, 2);
    optimize(g, { target: 'hls' });
    expect(g.orderedNodes().some((n) => n.op === 'LSTM')).toBe(true);
  });

  // the ONNX backend node tests of the three ops, against their expected outputs; W / R / B (and
  // sequence_lens, P) are graph inputs there: they become constants, as in a real model
  const nodeCases = listNodeTests().filter((c) => /^test_(lstm|gru|rnn|simple_rnn)_/.test(c.name));
  it.skipIf(!HAVE_GXX || nodeCases.length === 0)('ONNX node tests (lstm / gru / rnn) in C simulation', async () => {
    expect(nodeCases.length).toBeGreaterThanOrEqual(12);
    for (const c of nodeCases) {
      const { graph: g, inputs, outputs } = loadNodeCase(c);
      const node = g.orderedNodes().find((n) => /^(LSTM|GRU|RNN)$/.test(n.op))!;
      const weights = new Set([1, 2, 3, 4, 7].map((k) => node.inputs[k]).filter((v): v is ValueId => v != null));
      const runtime: Tensor[] = [];
      g.inputs.forEach((id, k) => {
        if (weights.has(id)) g.consts.set(id, inputs[k]!);
        else runtime.push(inputs[k]!);
      });
      g.inputs = g.inputs.filter((id) => !weights.has(id));
      const res = await csimVsRef(g, runtime);
      outputs.forEach((want, k) => {
        expect(compareTensors(res.outputs[k]!, want, TOL), `${c.name} output ${k}`).toBeNull();
      });
    }
  }, 180_000);
});
