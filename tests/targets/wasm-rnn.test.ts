/**
 * Differential tests of the wasm recurrent kernels (runtime-wasm/assembly/rnn.ts, lowered by
 * targets/wasm/ops/rnn.ts): RNN, GRU and LSTM graphs built in code, compiled for wasm, run through
 * model.mjs and compared with the reference interpreter (rtol 1e-4, atol 1e-5) on every output.
 * Cases cover directions, both layouts, initial states, sequence_lens (0 included), peepholes,
 * clip, input_forget, linear_before_reset, non-default activations with alpha/beta, constant
 * (pre-packed) and runtime weights, hidden sizes below and above the GEMM panel width.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { emitWasmDynamic } from '../../targets/wasm/dynamic/emit.js';
import { writeTempArtifact } from '../../targets/wasm/runner.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor, runOnWasm } from './wasm-helpers.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Case {
  kind: Kind;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  S?: number;
  B?: number;
  I?: number;
  H?: number;
  /** initial_h (and initial_c for LSTM) as graph inputs */
  init?: boolean;
  bias?: boolean;
  lens?: number[];
  /** sequence_lens as a graph input instead of a constant */
  runtimeLens?: boolean;
  peepholes?: boolean;
  clip?: number;
  lbr?: boolean;
  inputForget?: boolean;
  activations?: string[];
  alpha?: number[];
  beta?: number[];
  /** W, R, B as graph inputs instead of constants */
  runtimeWeights?: boolean;
  /** outputs to expose (indices); default all */
  outputs?: number[];
  /** set hidden_size explicitly */
  hiddenAttr?: boolean;
}

/** Builds the graph of a case and its input tensors. */
function build(cs: Case, seed: number): { g: Graph; inputs: Tensor[] } {
  const { kind, direction = 'forward', layout = 0, S = 5, B = 3, I = 6, H = 9 } = cs;
  const D = direction === 'bidirectional' ? 2 : 1;
  const G = GATES[kind];
  const b = new GraphBuilder(`${kind}_case`);
  const inputs: Tensor[] = [];
  const inp = (name: string, t: Tensor): number => {
    inputs.push(t);
    return b.input(name, t.dtype, t.shape);
  };
  const x = inp('x', randomTensor(layout === 0 ? [S, B, I] : [B, S, I], seed));
  const scale = 1 / Math.sqrt(H);
  const wT = randomTensor([D, G * H, I], seed + 1, -scale, scale);
  const rT = randomTensor([D, G * H, H], seed + 2, -scale, scale);
  const bT = randomTensor([D, 2 * G * H], seed + 3, -0.5, 0.5);
  const weight = (name: string, t: Tensor): number => (cs.runtimeWeights ? inp(name, t) : b.const(name, t));
  const w = weight('W', wT);
  const r = weight('R', rT);
  const bias = cs.bias === false ? null : weight('B', bT);
  let lens: number | null = null;
  if (cs.lens) {
    const t = Tensor.from('i32', [B], cs.lens);
    lens = cs.runtimeLens ? inp('lens', t) : b.const('lens', t);
  }
  const st = layout === 0 ? [D, B, H] : [B, D, H];
  const h0 = cs.init ? inp('h0', randomTensor(st, seed + 4)) : null;
  const c0 = cs.init && kind === 'LSTM' ? inp('c0', randomTensor(st, seed + 5)) : null;
  const p = cs.peepholes ? b.const('P', randomTensor([D, 3 * H], seed + 6, -0.5, 0.5)) : null;
  const ins = kind === 'LSTM' ? [x, w, r, bias, lens, h0, c0, p] : [x, w, r, bias, lens, h0];
  while (ins[ins.length - 1] === null) ins.pop();
  const attrs: Record<string, AttrValue> = { direction, layout };
  if (cs.hiddenAttr !== false) attrs.hidden_size = H;
  if (cs.clip !== undefined) attrs.clip = cs.clip;
  if (cs.lbr) attrs.linear_before_reset = 1;
  if (cs.inputForget) attrs.input_forget = 1;
  if (cs.activations) attrs.activations = cs.activations;
  if (cs.alpha) attrs.activation_alpha = cs.alpha;
  if (cs.beta) attrs.activation_beta = cs.beta;
  const nOut = kind === 'LSTM' ? 3 : 2;
  const outs = b.nodeN(kind, ins, nOut, attrs);
  b.output(...(cs.outputs ?? [...Array(nOut).keys()]).map((k) => outs[k]!));
  return { g: b.build(), inputs };
}

/** Compiles and runs a case on wasm and compares every output with the reference interpreter. */
async function check(cs: Case, seed = 7): Promise<void> {
  const { g, inputs } = build(cs, seed);
  const want = runGraph(g, inputs);
  const { outputs: got } = await runOnWasm(g, inputs);
  expect(got.length).toBe(want.length);
  want.forEach((w, k) => {
    expect(got[k]!.shape, `output ${k} shape`).toEqual(w.shape);
    expect(compareTensors(got[k]!, w, { rtol: 1e-4, atol: 1e-5 }), `output ${k}`).toBeNull();
  });
}

const name = (cs: Case): string => JSON.stringify(cs).replace(/"/g, '');

describe('wasm RNN / GRU / LSTM kernels', () => {
  describe('directions x layouts x initial states', () => {
    const cases: Case[] = [];
    for (const kind of ['RNN', 'GRU', 'LSTM'] as const) {
      for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
        for (const layout of [0, 1] as const) {
          for (const init of [false, true]) cases.push({ kind, direction, layout, init });
        }
      }
    }
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  describe('sequence_lens (zero, partial and full lengths)', () => {
    const cases: Case[] = [];
    for (const kind of ['RNN', 'GRU', 'LSTM'] as const) {
      for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
        cases.push({ kind, direction, B: 4, lens: [5, 0, 3, 1], init: true });
      }
      cases.push({ kind, direction: 'bidirectional', layout: 1, B: 4, lens: [2, 5, 0, 4], runtimeLens: true });
      // batch < 4: the recurrent GEMV per row, rows finishing at different steps
      cases.push({ kind, direction: 'bidirectional', B: 3, H: 30, lens: [5, 0, 2], init: true });
    }
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  describe('LSTM peepholes, clip, input_forget', () => {
    const cases: Case[] = [
      { kind: 'LSTM', peepholes: true, init: true },
      { kind: 'LSTM', peepholes: true, direction: 'bidirectional', layout: 1, init: true, lens: [4, 2, 5] },
      { kind: 'LSTM', clip: 0.3, init: true },
      { kind: 'LSTM', clip: 0.5, peepholes: true, direction: 'reverse' },
      { kind: 'LSTM', inputForget: true, peepholes: true, init: true },
      { kind: 'LSTM', inputForget: true, direction: 'bidirectional', clip: 0.7 },
    ];
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  describe('GRU linear_before_reset and clip', () => {
    const cases: Case[] = [
      { kind: 'GRU', lbr: true, init: true },
      { kind: 'GRU', lbr: true, direction: 'bidirectional', layout: 1, lens: [3, 5, 1] },
      { kind: 'GRU', lbr: true, H: 4, runtimeWeights: true, init: true },
      { kind: 'GRU', lbr: false, H: 16, B: 5, init: true },
      { kind: 'GRU', clip: 0.4, direction: 'reverse', init: true },
      { kind: 'GRU', clip: 0.4, lbr: true, H: 3 },
      { kind: 'RNN', clip: 0.25, direction: 'bidirectional' },
    ];
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  describe('non-default activations with alpha / beta', () => {
    const cases: Case[] = [
      ...['Relu', 'Sigmoid', 'Softsign', 'Softplus'].map((a): Case => ({ kind: 'RNN', activations: [a], init: true })),
      { kind: 'RNN', activations: ['LeakyRelu'], alpha: [0.2] },
      { kind: 'RNN', activations: ['ThresholdedRelu'], alpha: [0.1], init: true },
      { kind: 'RNN', activations: ['Elu'], alpha: [0.7], init: true },
      { kind: 'RNN', activations: ['HardSigmoid'], alpha: [0.3], beta: [0.4] },
      { kind: 'RNN', activations: ['Affine'], alpha: [0.5], beta: [0.1], init: true },
      { kind: 'RNN', activations: ['ScaledTanh'], alpha: [1.5], beta: [0.8] },
      { kind: 'RNN', direction: 'bidirectional', activations: ['Relu', 'Tanh'] },
      { kind: 'GRU', activations: ['HardSigmoid', 'Softsign'], alpha: [0.25], beta: [0.45], init: true },
      { kind: 'GRU', activations: ['Sigmoid', 'LeakyRelu'], alpha: [0.05], lbr: true },
      { kind: 'LSTM', activations: ['HardSigmoid', 'ScaledTanh', 'Affine'], alpha: [0.2, 1.1, 0.9], beta: [0.5, 0.7, -0.2], init: true },
      { kind: 'LSTM', direction: 'bidirectional', activations: ['Sigmoid', 'Tanh', 'Tanh', 'HardSigmoid', 'Elu', 'Softsign'], alpha: [0.3, 0.6], beta: [0.45], peepholes: true },
    ];
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  describe('weights and shapes', () => {
    const cases: Case[] = [];
    for (const kind of ['RNN', 'GRU', 'LSTM'] as const) {
      cases.push({ kind, runtimeWeights: true, init: true, direction: 'bidirectional' });
      cases.push({ kind, runtimeWeights: true, H: 3, lens: [1, 4, 0] });
      cases.push({ kind, H: 2, I: 1, B: 1, S: 7, direction: 'reverse' }); // tiny: no panels
      cases.push({ kind, H: 16, I: 12, B: 1, S: 9, init: true }); // GEMV path (28-column chunks, a ragged last one)
      cases.push({ kind, H: 56, I: 7, B: 1, S: 6, lbr: kind === 'GRU' }); // GEMV path, whole chunks only (G*H a multiple of 28)
      cases.push({ kind, H: 8, I: 20, B: 6, S: 4, layout: 1, direction: 'bidirectional' }); // 4-row tiles, packed projection
      cases.push({ kind, bias: false, hiddenAttr: false });
      cases.push({ kind, S: 1, B: 2 });
    }
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  describe('output subsets', () => {
    const cases: Case[] = [
      { kind: 'LSTM', outputs: [1], init: true, lens: [3, 0, 5] },
      { kind: 'LSTM', outputs: [2], direction: 'bidirectional' },
      { kind: 'LSTM', outputs: [0] },
      { kind: 'GRU', outputs: [1], layout: 1, direction: 'reverse' },
      { kind: 'RNN', outputs: [0], direction: 'bidirectional', layout: 1, lens: [2, 5, 3] },
    ];
    for (const cs of cases) it(name(cs), async () => check(cs));
  });

  it('lowers one rnn_f32 call per direction', () => {
    const { g } = build({ kind: 'LSTM', direction: 'bidirectional' }, 1);
    expect(lowerGraph(g).steps.map((s) => s.kernel)).toEqual(['rnn_f32', 'rnn_f32']);
  });

  it('a dynamic sequence length runs at several lengths through the run-time planner', async () => {
    const b = new GraphBuilder('lstm_dyn', { '': 17 });
    const x = b.input('x', 'f32', ['S', 2, 6]);
    const w = b.const('W', randomTensor([2, 36, 6], 1, -0.4, 0.4));
    const r = b.const('R', randomTensor([2, 36, 9], 2, -0.4, 0.4));
    const bias = b.const('B', randomTensor([2, 72], 3, -0.5, 0.5));
    const outs = b.nodeN('LSTM', [x, w, r, bias], 3, { hidden_size: 9, direction: 'bidirectional' });
    b.output(outs[0]!, outs[1]!);
    const g = b.build();
    const opt = g.clone();
    new PassManager(pipelineFor('wasm')).run(opt);
    const art = emitWasmDynamic(opt, { maxInputShapes: { x: [12, 2, 6] }, manifest: { edgec: 'test', precision: 'fp32' } });
    const dir = writeTempArtifact(art.files);
    try {
      const mod = (await import(`${dir}/model.mjs`)) as { create(): Promise<{ run(f: Record<string, unknown>): Record<string, Float32Array>; outputShapes(): Record<string, number[]> }> };
      const model = await mod.create();
      for (const [k, S] of [3, 12, 7].entries()) {
        const xt = randomTensor([S, 2, 6], 20 + k);
        const want = runGraph(g, [xt]);
        const out = model.run({ x: { data: xt.data, shape: xt.shape } });
        const shapes = model.outputShapes();
        g.outputs.forEach((o, i) => {
          const nm = g.value(o).name;
          expect(shapes[nm]).toEqual([...want[i]!.shape]);
          expect(compareTensors(new Tensor('f32', shapes[nm]!, out[nm]!), want[i]!, { rtol: 1e-4, atol: 1e-5 }), `S=${S} output ${i}`).toBeNull();
        });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an initial state of the wrong shape is an invalid error', () => {
    const b = new GraphBuilder('rnn_bad_h0');
    const x = b.input('x', 'f32', [2, 3, 4]);
    const h0 = b.input('h0', 'f32', [1, 1, 5]);
    const w = b.const('W', randomTensor([1, 5, 4], 1));
    const r = b.const('R', randomTensor([1, 5, 5], 2));
    b.output(b.nodeN('RNN', [x, w, r, null, null, h0], 2, { hidden_size: 5 })[1]!);
    const g = b.build();
    expect(() => compileWasm(g)).toThrow(/initial_h must have shape \[1,3,5\]/);
  });

  it('a non-f32 recurrent layer is a one-line unsupported error naming op and dtype', () => {
    const b = new GraphBuilder('gru_f64');
    const x = b.input('x', 'f64', [2, 1, 3]);
    const w = b.const('W', Tensor.zeros('f64', [1, 6, 3]));
    const r = b.const('R', Tensor.zeros('f64', [1, 6, 2]));
    b.output(b.nodeN('GRU', [x, w, r], 2, { hidden_size: 2 })[0]!);
    const g = b.build();
    expect(() => compileWasm(g)).toThrow(/GRU.*f64/);
    try {
      compileWasm(g);
    } catch (e) {
      expect((e as { kind?: string }).kind).toBe('unsupported');
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
