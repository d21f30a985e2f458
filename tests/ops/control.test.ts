/**
 * Control flow, subgraphs and recurrent layers on the reference interpreter, checked against
 * onnxruntime-node (the oracle): nested If inside Loop reading outer-scope values, Loop with early
 * exit and scan outputs, Scan with axes/directions, LSTM/GRU/RNN on random weights, and the
 * importer/exporter, printer/parser and passes on graphs with subgraphs.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxproto from 'onnx-proto';
import { Graph, implicitInputCount, subgraphsOf } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType, ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { print } from '../../compiler/ir/print.js';
import { parse } from '../../compiler/ir/parse.js';
import { verify } from '../../compiler/ir/verify.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { tensorToProto } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph, runGraphValues } from '../../compiler/interp/interp.js';
import { TensorSeq } from '../../compiler/ir/value.js';
import { upgradeOpset } from '../../compiler/passes/upgrade-opset.js';
import { constFold, dce, removeIdentity, shapeInfer } from '../../compiler/passes/index.js';
import { passCtx } from '../../compiler/passes/pass.js';
import { compareTensors } from '../helpers/compare.js';
import { NodeModel, runOrt, runRef } from './ort-oracle.js';

ort.env.logLevel = 'fatal';
const { onnx } = onnxproto;
const T = onnx.AttributeProto.AttributeType;
const TOL = { rtol: 1e-4, atol: 1e-5 };

// ---------------------------------------------------------------------------------------------
// Model building (ONNX protos in code)
// ---------------------------------------------------------------------------------------------

function vi(name: string, dt: DType, dims?: number[]): onnxproto.onnx.ValueInfoProto {
  return new onnx.ValueInfoProto({
    name,
    type: new onnx.TypeProto({
      tensorType: new onnx.TypeProto.Tensor({
        elemType: ONNX_DTYPE[dt],
        ...(dims ? { shape: new onnx.TensorShapeProto({ dim: dims.map((d) => new onnx.TensorShapeProto.Dimension({ dimValue: d })) }) } : {}),
      }),
    }),
  });
}

type Attr = onnxproto.onnx.AttributeProto;
const gAttr = (name: string, g: onnxproto.onnx.GraphProto): Attr => new onnx.AttributeProto({ name, type: T.GRAPH, g });
const iAttr = (name: string, i: number): Attr => new onnx.AttributeProto({ name, type: T.INT, i });
const isAttr = (name: string, ints: number[]): Attr => new onnx.AttributeProto({ name, type: T.INTS, ints });
const tAttr = (name: string, t: Tensor): Attr => new onnx.AttributeProto({ name, type: T.TENSOR, t: tensorToProto(t, name) });

function node(op: string, input: string[], output: string[], attribute: Attr[] = []): onnxproto.onnx.NodeProto {
  return new onnx.NodeProto({ opType: op, input, output, attribute, name: `${op}_${output[0]}` });
}

function graph(name: string, nodes: onnxproto.onnx.NodeProto[], input: onnxproto.onnx.ValueInfoProto[],
  output: onnxproto.onnx.ValueInfoProto[], inits: [string, Tensor][] = []): onnxproto.onnx.GraphProto {
  return new onnx.GraphProto({ name, node: nodes, input, output, initializer: inits.map(([n, t]) => tensorToProto(t, n)) });
}

function model(g: onnxproto.onnx.GraphProto, opset: number): Uint8Array {
  return onnx.ModelProto.encode(new onnx.ModelProto({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: g })).finish();
}

const ORT: Partial<Record<DType, string>> = { f32: 'float32', i64: 'int64', bool: 'bool', i32: 'int32' };
const FROM: Record<string, DType> = { float32: 'f32', int64: 'i64', bool: 'bool', int32: 'i32' };

/** Runs model bytes on onnxruntime-node with inputs in graph-input order. */
async function ortRun(bytes: Uint8Array, inputs: Record<string, Tensor>): Promise<Tensor[]> {
  const s = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(inputs)) {
    feeds[k] = new ort.Tensor(ORT[t.dtype] as 'float32', (t.dtype === 'bool' ? Uint8Array.from(t.data as Uint8Array) : t.data) as Float32Array, [...t.shape]);
  }
  const r = await s.run(feeds);
  return s.outputNames.map((n) => {
    const o = r[n]!;
    return new Tensor(FROM[o.type]!, [...o.dims].map(Number), o.type === 'bool' ? Uint8Array.from(o.data as Uint8Array) : (o.data as Float32Array));
  });
}

function expectClose(got: Tensor[], want: Tensor[], tol = TOL): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(got[k]!, w, tol), `output ${k}`).toBeNull());
}

/** Deterministic uniform values in [-1, 1). */
function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

function randTensor(r: () => number, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, () => r() * scale));
}

const f32 = (shape: number[], v: number[]): Tensor => Tensor.from('f32', shape, v);
const i64 = (v: number): Tensor => Tensor.from('i64', [], [BigInt(v)]);
const bool = (v: boolean): Tensor => Tensor.from('bool', [], [v ? 1 : 0]);

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

/**
 * Loop over i < trip: acc = If(i % 2 == 0) then acc + x (x from the main graph, two scopes out)
 * else acc * scale (a main-graph initializer); scan output: acc after each step.
 */
function nestedIfInLoop(): Uint8Array {
  const thenG = graph('then', [node('Add', ['acc', 'x'], ['t_out'])], [], [vi('t_out', 'f32', [3])]);
  const elseG = graph('else', [node('Mul', ['acc', 'scale'], ['e_out'])], [], [vi('e_out', 'f32', [3])]);
  const body = graph('body', [
    node('Mod', ['i', 'two'], ['r']),
    node('Equal', ['r', 'zero'], ['even']),
    node('If', ['even'], ['acc_next'], [gAttr('then_branch', thenG), gAttr('else_branch', elseG)]),
    node('Identity', ['c'], ['c_out']),
    node('Identity', ['acc_next'], ['scan_out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('acc', 'f32', [3])],
  [vi('c_out', 'bool', []), vi('acc_next', 'f32', [3]), vi('scan_out', 'f32', [3])],
  [['two', i64(2)], ['zero', i64(0)]]);
  const main = graph('main', [
    node('Loop', ['trip', 'cond', 'acc0'], ['acc_final', 'accs'], [gAttr('body', body)]),
  ], [vi('x', 'f32', [3]), vi('trip', 'i64', []), vi('cond', 'bool', [])],
  [vi('acc_final', 'f32', [3]), vi('accs', 'f32')],
  [['scale', f32([], [1.5])], ['acc0', f32([3], [1, -2, 0.5])]]);
  return model(main, 13);
}

/** while v < limit (limit from the main graph) and i < M: v = v * 2; scan outputs v and i. */
function earlyExitLoop(withTrip: boolean): Uint8Array {
  const body = graph('body', [
    node('Mul', ['v', 'two'], ['v_next']),
    node('Less', ['v_next', 'limit'], ['c_out']),
    node('Identity', ['v_next'], ['scan_v']),
    node('Identity', ['i'], ['scan_i']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('v', 'f32', [])],
  [vi('c_out', 'bool', []), vi('v_next', 'f32', []), vi('scan_v', 'f32', []), vi('scan_i', 'i64', [])],
  [['two', f32([], [2])]]);
  const main = graph('main', [
    node('Loop', [withTrip ? 'M' : '', 'cond', 'v0'], ['v_final', 'vs', 'is'], [gAttr('body', body)]),
  ], [...(withTrip ? [vi('M', 'i64', [])] : []), vi('cond', 'bool', []), vi('v0', 'f32', []), vi('limit', 'f32', [])],
  [vi('v_final', 'f32', []), vi('vs', 'f32'), vi('is', 'i64')]);
  return model(main, 13);
}

/** Scan (opset 16): running sum over x (scan axis 1, reversed) and y (axis 0); output on axis 1, reversed. */
function scanModel(): Uint8Array {
  const body = graph('body', [
    node('Add', ['s', 'xs'], ['s1']),
    node('Add', ['s1', 'ys'], ['s_next']),
    node('Mul', ['s_next', 'w'], ['out']),
  ], [vi('s', 'f32', [2]), vi('xs', 'f32', [2]), vi('ys', 'f32', [2])], [vi('s_next', 'f32', [2]), vi('out', 'f32', [2])]);
  const main = graph('main', [
    node('Scan', ['s0', 'x', 'y'], ['s_final', 'outs'], [
      gAttr('body', body), iAttr('num_scan_inputs', 2), isAttr('scan_input_axes', [1, 0]),
      isAttr('scan_input_directions', [1, 0]), isAttr('scan_output_axes', [-1]), isAttr('scan_output_directions', [1]),
    ]),
  ], [vi('s0', 'f32', [2]), vi('x', 'f32', [2, 4]), vi('y', 'f32', [4, 2]), vi('w', 'f32', [2])],
  [vi('s_final', 'f32', [2]), vi('outs', 'f32', [2, 4])]);
  return model(main, 16);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('If / Loop / Scan against onnxruntime', () => {
  it('nested If inside Loop reads values two scopes out', async () => {
    const bytes = nestedIfInLoop();
    const inputs = { x: f32([3], [0.25, 1, -3]), trip: i64(5), cond: bool(true) };
    const g = importOnnx(bytes);
    verify(g);
    const loop = g.orderedNodes().find((n) => n.op === 'Loop')!;
    // the body captures x and scale (its If reads them); acc0 is an explicit input
    expect(implicitInputCount(loop)).toBe(2);
    expect(loop.inputs.slice(3).map((i) => g.value(i!).name).sort()).toEqual(['scale', 'x']);
    // the trip count is a run-time input: the scan output's leading dim is symbolic
    const scanShape = g.typeOf(loop.outputs[1]!).shape;
    expect(typeof scanShape[0]).toBe('string');
    expect(scanShape[1]).toBe(3);
    expectClose(runGraph(g, inputs), await ortRun(bytes, inputs));
  });

  it('Loop exits early on the body condition and stacks scan outputs', async () => {
    for (const withTrip of [true, false]) {
      const bytes = earlyExitLoop(withTrip);
      for (const [M, limit] of [[10, 100], [3, 100], [10, 0.5]] as const) {
        const inputs: Record<string, Tensor> = { cond: bool(true), v0: f32([], [1.5]), limit: f32([], [limit]) };
        if (withTrip) inputs['M'] = i64(M);
        const got = runGraph(importOnnx(bytes), inputs);
        expectClose(got, await ortRun(bytes, inputs));
      }
      // cond false up front: zero iterations, scan outputs are empty
      const inputs: Record<string, Tensor> = { cond: bool(false), v0: f32([], [1.5]), limit: f32([], [100]) };
      if (withTrip) inputs['M'] = i64(10);
      const got = runGraph(importOnnx(bytes), inputs);
      expect(got[1]!.shape).toEqual([0]);
      expectClose(got, await ortRun(bytes, inputs));
    }
  });

  it('Scan with input/output axes and directions', async () => {
    const r = rand(7);
    const bytes = scanModel();
    const inputs = { s0: randTensor(r, [2]), x: randTensor(r, [2, 4]), y: randTensor(r, [4, 2]), w: randTensor(r, [2]) };
    const g = importOnnx(bytes);
    expect(g.typeOf(g.outputs[1]!).shape).toEqual([2, 4]);
    expectClose(runGraph(g, inputs), await ortRun(bytes, inputs));
  });
});

describe('subgraphs in the IR', () => {
  it('print -> parse -> print is stable, and parse keeps captures and opsets', () => {
    const g = importOnnx(nestedIfInLoop());
    const text = print(g);
    expect(text).toContain('capture %');
    expect(text).toContain('then_branch=graph "then" {');
    const g2 = parse(text);
    verify(g2);
    expect(print(g2)).toBe(text);
    const inputs = { x: f32([3], [1, 2, 3]), trip: i64(4), cond: bool(true) };
    expectClose(runGraph(g2, inputs), runGraph(g, inputs), { rtol: 0, atol: 0 });
    const body = subgraphsOf(g2.orderedNodes().find((n) => n.op === 'Loop')!)[0]!;
    expect(body.opsets).toBe(g2.opsets);
  });

  it('clone copies subgraphs deeply', () => {
    const g = importOnnx(nestedIfInLoop());
    const c = g.clone();
    const body = subgraphsOf(c.orderedNodes().find((n) => n.op === 'Loop')!)[0]!;
    const orig = subgraphsOf(g.orderedNodes().find((n) => n.op === 'Loop')!)[0]!;
    expect(body).not.toBe(orig);
    body.value(body.outputs[1]!).type = { dtype: 'f32', shape: [99] };
    expect(orig.typeOf(orig.outputs[1]!).shape).toEqual([3]);
    verify(c);
  });

  it('const-fold, dce and remove-identity keep values that only subgraphs read', () => {
    const g = importOnnx(nestedIfInLoop());
    const inputs = { x: f32([3], [0.5, -1, 2]), trip: i64(6), cond: bool(true) };
    const want = runGraph(g, inputs);
    for (const p of [shapeInfer, removeIdentity, constFold, dce]) {
      p.run(g, passCtx());
      verify(g, { pass: p.name });
    }
    // scale is read only inside the else branch, through the Loop's implicit inputs
    expect([...g.values.values()].some((v) => v.name === 'scale')).toBe(true);
    expect(g.orderedNodes().some((n) => n.op === 'Loop')).toBe(true);
    expectClose(runGraph(g, inputs), want, { rtol: 0, atol: 0 });
  });

  it('verify rejects nodes whose implicit inputs do not match their captures', () => {
    const g = importOnnx(nestedIfInLoop());
    const body = subgraphsOf(g.orderedNodes().find((n) => n.op === 'Loop')!)[0]!;
    const iff = body.orderedNodes().find((n) => n.op === 'If')!;
    iff.inputs.pop(); // the If now has 3 inputs for 3 captures: no explicit condition left
    expect(() => verify(g)).toThrow(/If takes 1\.\.1 inputs, got 0.*in subgraph "body"/);
    const g2 = importOnnx(nestedIfInLoop());
    const iff2 = subgraphsOf(g2.orderedNodes().find((n) => n.op === 'Loop')!)[0]!.orderedNodes().find((n) => n.op === 'If')!;
    const [thenB] = subgraphsOf(iff2);
    thenB!.captures.pop(); // the branches now capture different numbers of values
    expect(() => verify(g2)).toThrow(/capture different numbers/);
  });

  it('import -> export -> onnxruntime and re-import agree with the original', async () => {
    const cases: [Uint8Array, Record<string, Tensor>][] = [
      [nestedIfInLoop(), { x: f32([3], [0.25, 1, -3]), trip: i64(5), cond: bool(true) }],
      [earlyExitLoop(true), { M: i64(10), cond: bool(true), v0: f32([], [1.5]), limit: f32([], [50]) }],
      [scanModel(), { s0: f32([2], [1, 2]), x: f32([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]), y: f32([4, 2], [8, 7, 6, 5, 4, 3, 2, 1]), w: f32([2], [0.5, 2]) }],
    ];
    for (const [bytes, inputs] of cases) {
      const want = await ortRun(bytes, inputs);
      const exported = exportOnnx(importOnnx(bytes));
      expectClose(await ortRun(exported, inputs), want);
      const again = importOnnx(exported);
      verify(again);
      expectClose(runGraph(again, inputs), want);
    }
  });

  it('rejects malformed subgraphs with one-line errors', () => {
    // the body reads a name no scope defines
    const body = graph('body', [node('Add', ['v', 'nowhere'], ['v_next']), node('Identity', ['c'], ['c_out'])],
      [vi('i', 'i64', []), vi('c', 'bool', []), vi('v', 'f32', [])], [vi('c_out', 'bool', []), vi('v_next', 'f32', [])]);
    const bad = model(graph('main', [node('Loop', ['M', '', 'v0'], ['v'], [gAttr('body', body)])],
      [vi('M', 'i64', []), vi('v0', 'f32', [])], [vi('v', 'f32', [])]), 13);
    expect(() => importOnnx(bad)).toThrow(/"nowhere" is not produced/);
    // If branches with different output counts
    const t = graph('then', [node('Identity', ['a'], ['o1'])], [], [vi('o1', 'f32', [])]);
    const e = graph('else', [], [], []);
    const bad2 = model(graph('main', [node('If', ['c'], ['o'], [gAttr('then_branch', t), gAttr('else_branch', e)])],
      [vi('c', 'bool', []), vi('a', 'f32', [])], [vi('o', 'f32', [])]), 13);
    expect(() => importOnnx(bad2)).toThrow(/outputs/);
  });
});

// ---------------------------------------------------------------------------------------------
// RNN family
// ---------------------------------------------------------------------------------------------

interface RnnCase {
  op: 'RNN' | 'GRU' | 'LSTM';
  direction: 'forward' | 'reverse' | 'bidirectional';
  layout: 0 | 1;
  lens?: number[];
  peepholes?: boolean;
  initial?: boolean;
  attrs?: NodeModel['attrs'];
}

const GATES = { RNN: 1, GRU: 3, LSTM: 4 };

function rnnModel(c: RnnCase, seed: number): NodeModel {
  const r = rand(seed);
  const [S, B, I, H] = [4, 3, 5, 6];
  const D = c.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[c.op];
  const X = randTensor(r, c.layout === 0 ? [S, B, I] : [B, S, I]);
  const W = randTensor(r, [D, G * H, I], 0.6);
  const R = randTensor(r, [D, G * H, H], 0.6);
  const Bias = randTensor(r, [D, 2 * G * H], 0.3);
  const lens = c.lens ? Tensor.from('i32', [B], c.lens) : null;
  const stateShape = c.layout === 0 ? [D, B, H] : [B, D, H];
  const h0 = c.initial ? randTensor(r, stateShape, 0.5) : null;
  const inputs: (Tensor | null)[] = [X, W, R, Bias, lens, h0];
  if (c.op === 'LSTM') inputs.push(c.initial ? randTensor(r, stateShape, 0.5) : null, c.peepholes ? randTensor(r, [D, 3 * H], 0.5) : null);
  while (inputs[inputs.length - 1] === null) inputs.pop();
  return {
    op: c.op, opset: 14, inputs,
    attrs: { hidden_size: H, direction: c.direction, layout: c.layout, ...c.attrs },
    floatAttrs: ['activation_alpha', 'activation_beta', 'clip'],
  };
}

/** Transposes a tensor: out dims are in.dims[perm[k]]. */
function permute(t: Tensor, perm: number[]): Tensor {
  const shape = perm.map((p) => t.shape[p]!);
  const inStrides = t.shape.map((_, k) => t.shape.slice(k + 1).reduce((a, d) => a * d, 1));
  const out = Tensor.zeros(t.dtype, shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.size; i++) {
    let src = 0;
    idx.forEach((v, k) => { src += v * inStrides[perm[k]!]!; });
    out.set(i, t.get(src));
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** The layout-0 model computing the same as a layout-1 one (X and initial states transposed). */
function toLayout0(m: NodeModel): NodeModel {
  const inputs = m.inputs.map((t, i) => (t === null ? null : i === 0 ? permute(t, [1, 0, 2]) : i === 5 || i === 6 ? permute(t, [1, 0, 2]) : t));
  return { ...m, inputs, attrs: { ...m.attrs, layout: 0 } };
}

const RNN_CASES: RnnCase[] = [
  { op: 'LSTM', direction: 'bidirectional', layout: 1, lens: [4, 2, 3], peepholes: true, initial: true },
  { op: 'LSTM', direction: 'forward', layout: 0, lens: [1, 4, 2], peepholes: true, initial: true, attrs: { clip: 0.7 } },
  { op: 'LSTM', direction: 'reverse', layout: 0, initial: true, attrs: { input_forget: 1 } },
  { op: 'LSTM', direction: 'bidirectional', layout: 0, attrs: { activations: ['HardSigmoid', 'Tanh', 'Softsign', 'Sigmoid', 'LeakyRelu', 'Tanh'], activation_alpha: [0.3, 0.05], activation_beta: [0.4] } },
  { op: 'GRU', direction: 'bidirectional', layout: 1, lens: [3, 4, 1], initial: true },
  { op: 'GRU', direction: 'forward', layout: 0, initial: true, attrs: { linear_before_reset: 1 } },
  { op: 'GRU', direction: 'reverse', layout: 1, lens: [2, 4, 3], attrs: { linear_before_reset: 1, clip: 0.5 } },
  { op: 'GRU', direction: 'bidirectional', layout: 0, attrs: { activations: ['Sigmoid', 'Elu', 'HardSigmoid', 'Tanh'], activation_alpha: [1.5, 0.25], activation_beta: [0.45] } },
  { op: 'RNN', direction: 'bidirectional', layout: 1, lens: [4, 1, 2], initial: true },
  { op: 'RNN', direction: 'reverse', layout: 0, attrs: { activations: ['Relu'] } },
  { op: 'RNN', direction: 'forward', layout: 0, lens: [2, 3, 4], attrs: { clip: 0.3, activations: ['Affine'], activation_alpha: [0.7], activation_beta: [0.1] } },
];

describe('LSTM / GRU / RNN against onnxruntime', () => {
  RNN_CASES.forEach((c, k) => {
    const label = `${c.op} ${c.direction} layout ${c.layout}${c.lens ? ' sequence_lens' : ''}${c.peepholes ? ' peepholes' : ''}${c.attrs ? ` ${JSON.stringify(c.attrs)}` : ''}`;
    it(label, async () => {
      const m = rnnModel(c, 100 + k);
      const outs: DType[] = c.op === 'LSTM' ? ['f32', 'f32', 'f32'] : ['f32', 'f32'];
      // onnxruntime's CPU kernels only take layout 0: layout 1 is the same op on transposed data
      // (X [B,S,I] -> [S,B,I], states [B,D,H] -> [D,B,H]; Y [S,D,B,H] -> [B,S,D,H])
      const want = c.layout === 0 ? await runOrt(m, outs) : (await runOrt(toLayout0(m), outs)).map((t, i) => permute(t, i === 0 ? [2, 0, 1, 3] : [1, 0, 2]));
      expectClose(runRef(m, outs), want, { rtol: 1e-4, atol: 1e-5 });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Sequence / optional values
// ---------------------------------------------------------------------------------------------

describe('sequence and optional values', () => {
  const text = `graph "s" opsets {"": 18} {
  input %0 "a" : f32[2]
  input %1 "b" : f32[3]
  %2 "s" = SequenceConstruct(%0, %1) @"sc" : seq(f32["n"])
  %3 "o" = Optional(%2) @"opt" : opt(seq(f32["n"]))
  %4 "has" = OptionalHasElement(%3) @"has" : bool[]
  %5 "cat" = ConcatFromSequence(%2) {axis=0} @"cat" : f32["c"]
  %6 "len" = SequenceLength(%2) @"len" : i64[]
  output %2, %4, %5, %6
}
`;

  it('prints, parses and runs sequence and optional types', () => {
    const g = parse(text);
    verify(g);
    expect(print(g)).toBe(text);
    const [seq, has, cat, len] = runGraphValues(g, [f32([2], [1, 2]), f32([3], [3, 4, 5])]);
    expect(seq).toBeInstanceOf(TensorSeq);
    expect((seq as TensorSeq).items.map((t) => t.toNumbers())).toEqual([[1, 2], [3, 4, 5]]);
    expect((has as Tensor).toNumbers()).toEqual([1]);
    expect((cat as Tensor).toNumbers()).toEqual([1, 2, 3, 4, 5]);
    expect((len as Tensor).toNumbers()).toEqual([2]);
    // runGraph (tensors only) names the sequence output in a one-line unsupported error
    expect(() => runGraph(g, [f32([2], [1, 2]), f32([3], [3, 4, 5])])).toThrow(/output "s" is a seq\(2 x f32\)/);
  });

  it('exports and re-imports sequence and optional types', () => {
    const g = importOnnx(exportOnnx(parse(text)));
    expect(g.typeOf(g.outputs[0]!).kind).toBe('sequence');
    const [, has] = runGraphValues(g, [f32([2], [1, 2]), f32([3], [3, 4, 5])]);
    expect((has as Tensor).toNumbers()).toEqual([1]);
  });

  it('passes that only handle tensors reject sequence values with an unsupported error', () => {
    const g = parse(text.replace('{"": 18}', '{"": 17}'));
    expect(() => upgradeOpset(g, 18)).toThrow(/upgrade-opset: sequence values are supported only by the reference interpreter/);
  });
});
