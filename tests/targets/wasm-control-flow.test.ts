/**
 * If, Loop and Scan inside model.wasm, checked against the reference interpreter on models built in
 * code (ONNX protos, imported like a file): runtime If (both outcomes, outer-scope references,
 * nested), Loop with carried values, early exit and scan outputs, Scan (directions, axes, several
 * states, opset 8 batches), Scan inside a Loop; sequences and optionals of static structure (sequence
 * ops, sequence inputs/outputs, an optional decided by a runtime If, a Loop unrolled over a growing
 * sequence); and the one-line errors for what needs dynamic shapes.
 */
import { describe, expect, it } from 'vitest';
import onnxproto from 'onnx-proto';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType, ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { EdgecError } from '../../compiler/errors.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { tensorToProto } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph, runGraphValues } from '../../compiler/interp/interp.js';
import { RtValue, TensorSeq } from '../../compiler/ir/value.js';
import { sequenceShapesOf } from '../../targets/common/sequences.js';
import { compareValues } from '../onnx-node/cases.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { emitWasmDynamic } from '../../targets/wasm/dynamic/emit.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { extendOverLoops, loopRanges } from '../../targets/wasm/memory-plan.js';
import { loadWasmArtifact, runWasmModel, runWasmModelValues, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { runOnWasm } from './wasm-helpers.js';

const { onnx } = onnxproto;
const T = onnx.AttributeProto.AttributeType;

function vi(name: string, dt: DType, dims?: (number | string)[]): onnxproto.onnx.ValueInfoProto {
  return new onnx.ValueInfoProto({
    name,
    type: new onnx.TypeProto({
      tensorType: new onnx.TypeProto.Tensor({
        elemType: ONNX_DTYPE[dt],
        ...(dims ? { shape: new onnx.TensorShapeProto({ dim: dims.map((d) => new onnx.TensorShapeProto.Dimension(typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }) } : {}),
      }),
    }),
  });
}

type Attr = onnxproto.onnx.AttributeProto;
const gAttr = (name: string, g: onnxproto.onnx.GraphProto): Attr => new onnx.AttributeProto({ name, type: T.GRAPH, g });
const iAttr = (name: string, i: number): Attr => new onnx.AttributeProto({ name, type: T.INT, i });
const isAttr = (name: string, ints: number[]): Attr => new onnx.AttributeProto({ name, type: T.INTS, ints });

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

const f32 = (shape: number[], v: number[]): Tensor => Tensor.from('f32', shape, v);
const i64 = (v: number): Tensor => Tensor.from('i64', [], [BigInt(v)]);
const bool = (v: boolean): Tensor => Tensor.from('bool', [], [v ? 1 : 0]);

/** Deterministic uniform values in [-1, 1). */
function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}
function randTensor(r: () => number, shape: number[]): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, () => r()));
}

/** Compiles the model once and runs every input set on wasm and on the reference interpreter. */
async function check(bytes: Uint8Array, sets: Tensor[][], opts: { profile?: boolean; maxInputShapes?: Record<string, number[]> } = {}): Promise<void> {
  let art: { files: Record<string, Uint8Array | string> };
  if (opts.maxInputShapes) {
    const opt = importOnnx(bytes, { symbolicToOne: false });
    new PassManager(pipelineFor('wasm')).run(opt);
    art = emitWasmDynamic(opt, { maxInputShapes: opts.maxInputShapes, manifest: { edgec: 'test', precision: 'fp32' } });
  } else art = compileWasm(importOnnx(bytes), opts);
  const dir = writeTempArtifact(art.files);
  const m = await loadWasmArtifact(dir);
  for (const inputs of sets) {
    const want = runGraph(importOnnx(bytes, { symbolicToOne: false }), inputs);
    const got = runWasmModel(m, inputs);
    expect(got.length).toBe(want.length);
    want.forEach((w, k) => expect(compareTensors(got[k]!, w, { rtol: 1e-5, atol: 1e-6 }), `output ${k}`).toBeNull());
  }
  if (opts.profile) {
    const p = m.profile!();
    expect(p.length).toBeGreaterThan(0);
    expect(p.every((l) => l.ms >= 0)).toBe(true);
  }
}

function expectUnsupported(bytes: Uint8Array, text: string): void {
  try {
    compileWasm(importOnnx(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(EdgecError);
    expect((e as EdgecError).kind).toBe('unsupported');
    expect((e as Error).message).toContain(text);
    return;
  }
  throw new Error('compiled, expected an unsupported error');
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

/** y = If(c) then (x + w) * If(c2) then 2 else x  else x * s - 1; w, s read from the main graph. */
function ifModel(): Uint8Array {
  const innerThen = graph('inner_then', [node('Mul', ['t0', 'two'], ['it_out'])], [], [vi('it_out', 'f32', [2, 3])], [['two', f32([], [2])]]);
  const innerElse = graph('inner_else', [node('Mul', ['t0', 'x'], ['ie_out'])], [], [vi('ie_out', 'f32', [2, 3])]);
  const thenG = graph('then', [
    node('Add', ['x', 'w'], ['t0']),
    node('If', ['c2'], ['t_out'], [gAttr('then_branch', innerThen), gAttr('else_branch', innerElse)]),
    node('Cast', ['c2'], ['t_flag'], [iAttr('to', 7)]),
  ], [], [vi('t_out', 'f32', [2, 3]), vi('t_flag', 'i64', [])]);
  const elseG = graph('else', [
    node('Mul', ['x', 's'], ['e0']),
    node('Sub', ['e0', 'one'], ['e_out']),
  ], [], [vi('e_out', 'f32', [2, 3]), vi('e_flag', 'i64', [])], [['one', f32([], [1])], ['e_flag', i64(-1)]]);
  const main = graph('main', [
    node('If', ['c'], ['y', 'flag'], [gAttr('then_branch', thenG), gAttr('else_branch', elseG)]),
    node('Relu', ['y'], ['z']),
  ], [vi('x', 'f32', [2, 3]), vi('c', 'bool', []), vi('c2', 'bool', [])], [vi('y', 'f32', [2, 3]), vi('flag', 'i64', []), vi('z', 'f32', [2, 3])],
  [['w', f32([3], [0.5, -1, 2])], ['s', f32([2, 1], [3, -0.25])]]);
  return model(main, 13);
}

/** while v < limit and i < M: v = v * 2 + x (x from the main graph); u = u + i; (v, u swapped with w). */
function earlyExitLoop(withTrip: boolean): Uint8Array {
  const body = graph('body', [
    node('Mul', ['v', 'two'], ['v2']),
    node('Add', ['v2', 'x'], ['v_next']),
    node('ReduceMax', ['v_next'], ['vmax'], [iAttr('keepdims', 0)]),
    node('Less', ['vmax', 'limit'], ['c_out']),
    node('Add', ['u', 'i'], ['u_next']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('v', 'f32', [4]), vi('u', 'i64', []), vi('a', 'f32', [4]), vi('b', 'f32', [4])],
  [vi('c_out', 'bool', []), vi('v_next', 'f32', [4]), vi('u_next', 'i64', []), vi('b', 'f32', [4]), vi('a', 'f32', [4])],
  [['two', f32([], [2])]]);
  const main = graph('main', [
    node('Loop', [withTrip ? 'M' : '', 'cond', 'v0', 'u0', 'a0', 'b0'], ['v_final', 'u_final', 'a_final', 'b_final'], [gAttr('body', body)]),
  ], [...(withTrip ? [vi('M', 'i64', [])] : []), vi('cond', 'bool', []), vi('v0', 'f32', [4]), vi('limit', 'f32', []), vi('x', 'f32', [4]),
    vi('a0', 'f32', [4]), vi('b0', 'f32', [4])],
  [vi('v_final', 'f32', [4]), vi('u_final', 'i64', []), vi('a_final', 'f32', [4]), vi('b_final', 'f32', [4])], [['u0', i64(0)]]);
  return model(main, 13);
}

/**
 * Loop with a constant trip count: acc = If(i % 2 == 0) then acc + x else acc * scale (nested If
 * reading values two scopes out); scan outputs acc and i.
 */
function scanOutputLoop(trip: number): Uint8Array {
  const thenG = graph('then', [node('Add', ['acc', 'x'], ['t_out'])], [], [vi('t_out', 'f32', [3])]);
  const elseG = graph('else', [node('Mul', ['acc', 'scale'], ['e_out'])], [], [vi('e_out', 'f32', [3])]);
  const body = graph('body', [
    node('Mod', ['i', 'two'], ['r']),
    node('Equal', ['r', 'zero'], ['even']),
    node('If', ['even'], ['acc_next'], [gAttr('then_branch', thenG), gAttr('else_branch', elseG)]),
    node('Identity', ['c'], ['c_out']),
    node('Identity', ['acc_next'], ['scan_out']),
    node('Identity', ['i'], ['scan_i']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('acc', 'f32', [3])],
  [vi('c_out', 'bool', []), vi('acc_next', 'f32', [3]), vi('scan_out', 'f32', [3]), vi('scan_i', 'i64', [])],
  [['two', i64(2)], ['zero', i64(0)]]);
  const main = graph('main', [
    node('Loop', ['trip', '', 'acc0'], ['acc_final', 'accs', 'is'], [gAttr('body', body)]),
  ], [vi('x', 'f32', [3]), vi('acc0', 'f32', [3])],
  [vi('acc_final', 'f32', [3]), vi('accs', 'f32', [trip, 3]), vi('is', 'i64', [trip])],
  [['scale', f32([], [1.5])], ['trip', i64(trip)]]);
  return model(main, 13);
}

/** Scan (opset 16): two states; x scanned on axis 1 reversed, y on axis 0; outputs on axes -1 (reversed) and 0. */
function scanModel(): Uint8Array {
  const body = graph('body', [
    node('Add', ['s', 'xs'], ['s1']),
    node('Add', ['s1', 'ys'], ['s_next']),
    node('Mul', ['s_next', 'w'], ['out']),
    node('MatMul', ['p', 'm'], ['p_next']),
    node('Add', ['p_next', 'out'], ['out2']),
  ], [vi('s', 'f32', [2]), vi('p', 'f32', [2]), vi('xs', 'f32', [2]), vi('ys', 'f32', [2])],
  [vi('s_next', 'f32', [2]), vi('p_next', 'f32', [2]), vi('out', 'f32', [2]), vi('out2', 'f32', [2])]);
  const main = graph('main', [
    node('Scan', ['s0', 'p0', 'x', 'y'], ['s_final', 'p_final', 'outs', 'outs2'], [
      gAttr('body', body), iAttr('num_scan_inputs', 2), isAttr('scan_input_axes', [1, 0]),
      isAttr('scan_input_directions', [1, 0]), isAttr('scan_output_axes', [-1, 0]), isAttr('scan_output_directions', [1, 0]),
    ]),
  ], [vi('s0', 'f32', [2]), vi('p0', 'f32', [2]), vi('x', 'f32', [2, 5]), vi('y', 'f32', [5, 2]), vi('w', 'f32', [2]), vi('m', 'f32', [2, 2])],
  [vi('s_final', 'f32', [2]), vi('p_final', 'f32', [2]), vi('outs', 'f32', [2, 5]), vi('outs2', 'f32', [5, 2])]);
  return model(main, 16);
}

/**
 * The VAD pattern with a run-time condition: If(c) then LSTM(x) (final hidden state, only Y_h used)
 * else the state input h passed through; weights from the main graph.
 */
function lstmInIf(): Uint8Array {
  const thenG = graph('then', [node('LSTM', ['x', 'W', 'R', 'B', '', 'h0'], ['', 'y_h'], [iAttr('hidden_size', 4)])], [], [vi('y_h', 'f32', [1, 2, 4])]);
  const elseG = graph('else', [node('Identity', ['h0'], ['e'])], [], [vi('e', 'f32', [1, 2, 4])]);
  const r = rand(11);
  const main = graph('main', [node('If', ['c'], ['h'], [gAttr('then_branch', thenG), gAttr('else_branch', elseG)])],
    [vi('x', 'f32', [5, 2, 3]), vi('h0', 'f32', [1, 2, 4]), vi('c', 'bool', [])], [vi('h', 'f32', [1, 2, 4])],
    [['W', randTensor(r, [1, 16, 3])], ['R', randTensor(r, [1, 16, 4])], ['B', randTensor(r, [1, 32])]]);
  return model(main, 14);
}

/** Range as a Loop (ONNX's Range function body): M from the inputs at run time, scan output declared [4]. */
function rangeLoop(): Uint8Array {
  const body = graph('body', [
    node('Identity', ['c'], ['c_out']),
    node('Add', ['prev', 'delta'], ['cur']),
    node('Identity', ['prev'], ['out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('prev', 'f32', [])], [vi('c_out', 'bool', []), vi('cur', 'f32', []), vi('out', 'f32', [])]);
  const main = graph('main', [
    node('Sub', ['limit', 'start'], ['d']),
    node('Div', ['d', 'delta'], ['q']),
    node('Ceil', ['q'], ['qc']),
    node('Relu', ['qc'], ['qr']),
    node('Cast', ['qr'], ['M'], [iAttr('to', 7)]),
    node('Loop', ['M', '', 'start'], ['last', 'range'], [gAttr('body', body)]),
  ], [vi('start', 'f32', []), vi('limit', 'f32', []), vi('delta', 'f32', [])], [vi('range', 'f32', [4])]);
  return model(main, 13);
}

/** Scan over a sequence of symbolic length T (a dynamic-shape artifact), x on axis 1 reversed, y on axis 0. */
function dynamicScan(): Uint8Array {
  const body = graph('body', [
    node('Add', ['s', 'xs'], ['s1']),
    node('Mul', ['s1', 'ys'], ['s_next']),
    node('Identity', ['s_next'], ['out']),
  ], [vi('s', 'f32', [2]), vi('xs', 'f32', [2]), vi('ys', 'f32', [2])], [vi('s_next', 'f32', [2]), vi('out', 'f32', [2])]);
  const main = graph('main', [
    node('Scan', ['s0', 'x', 'y'], ['s_final', 'outs'], [
      gAttr('body', body), iAttr('num_scan_inputs', 2), isAttr('scan_input_axes', [1, 0]), isAttr('scan_input_directions', [1, 0]),
    ]),
    node('If', ['c'], ['z'], [
      gAttr('then_branch', graph('then', [node('Add', ['s_final', 's0'], ['t'])], [], [vi('t', 'f32', [2])])),
      gAttr('else_branch', graph('else', [node('Neg', ['s_final'], ['e'])], [], [vi('e', 'f32', [2])])),
    ]),
  ], [vi('s0', 'f32', [2]), vi('x', 'f32', [2, 'T']), vi('y', 'f32', ['T', 2]), vi('c', 'bool', [])],
  [vi('z', 'f32', [2]), vi('outs', 'f32', ['T', 2])]);
  return model(main, 16);
}

/** Scan opset 8: batch 3, sequence 4, running sum state and its scan output. */
function scan8Model(): Uint8Array {
  const body = graph('body', [node('Add', ['s', 'x'], ['s_next']), node('Identity', ['s_next'], ['y'])],
    [vi('s', 'f32', [2]), vi('x', 'f32', [2])], [vi('s_next', 'f32', [2]), vi('y', 'f32', [2])]);
  const main = graph('main', [
    node('Scan', ['', 's0', 'x'], ['s_final', 'ys'], [gAttr('body', body), iAttr('num_scan_inputs', 1), isAttr('directions', [1])]),
  ], [vi('s0', 'f32', [3, 2]), vi('x', 'f32', [3, 4, 2])], [vi('s_final', 'f32', [3, 2]), vi('ys', 'f32', [3, 4, 2])]);
  return model(main, 8);
}

/** Loop (3 iterations) whose body runs a Scan over the rows of x, carrying the state across iterations. */
function scanInLoop(): Uint8Array {
  const sb = graph('sbody', [node('Add', ['s', 'r'], ['s1']), node('Mul', ['s1', 'k'], ['s_next']), node('Identity', ['s_next'], ['y'])],
    [vi('s', 'f32', [3]), vi('r', 'f32', [3])], [vi('s_next', 'f32', [3]), vi('y', 'f32', [3])]);
  const body = graph('body', [
    node('Scan', ['acc', 'x'], ['acc_next', 'ys'], [gAttr('body', sb), iAttr('num_scan_inputs', 1)]),
    node('ReduceSum', ['ys'], ['tot'], [iAttr('keepdims', 0)]),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('acc', 'f32', [3])],
  [vi('c', 'bool', []), vi('acc_next', 'f32', [3]), vi('tot', 'f32', [])]);
  const main = graph('main', [
    node('Loop', ['trip', '', 'acc0'], ['acc_final', 'tots'], [gAttr('body', body)]),
  ], [vi('x', 'f32', [4, 3]), vi('acc0', 'f32', [3]), vi('k', 'f32', [3])], [vi('acc_final', 'f32', [3]), vi('tots', 'f32', [3])],
  [['trip', i64(3)]]);
  return model(main, 13);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/**
 * Loop(M, cond, y0): y += x[i : i + 1], and a scan output of the running sum; the Slice has runtime
 * starts/ends (symbolic length) and the Add reading it is declared [1] (unify-dims binds the length).
 */
function sliceLoopModel(): Uint8Array {
  const body = graph('body', [
    node('Identity', ['c'], ['c_out']),
    node('Add', ['i', 'one'], ['end']),
    node('Unsqueeze', ['i', 'ax'], ['start1']),
    node('Unsqueeze', ['end', 'ax'], ['end1']),
    node('Slice', ['x', 'start1', 'end1'], ['piece']),
    node('Add', ['y', 'piece'], ['y_out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('y', 'f32', [1])], [vi('c_out', 'bool', []), vi('y_out', 'f32', [1])],
  [['one', i64(1)], ['ax', Tensor.from('i64', [1], [0n])], ['x', f32([5], [1.5, -2, 3, 0.25, 5])]]);
  return model(graph('main', [node('Loop', ['M', 'cond', 'y0'], ['y_final'], [gAttr('body', body)])],
    [vi('M', 'i64', []), vi('cond', 'bool', []), vi('y0', 'f32', [1])], [vi('y_final', 'f32', [1])]), 13);
}

/** Range expanded as ONNX's function does: Loop(n, n > 0, start) scanning prev, n = ceil((limit - start) / delta), then Neg declared [3]. */
function rangeLoopModel(): Uint8Array {
  const body = graph('body', [
    node('Identity', ['c'], ['c_out']),
    node('Add', ['prev', 'delta'], ['cur']),
    node('Identity', ['prev'], ['range']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('prev', 'f32', [])], [vi('c_out', 'bool', []), vi('cur', 'f32', []), vi('range', 'f32')]);
  return model(graph('main', [
    node('Sub', ['limit', 'start'], ['span']),
    node('Div', ['span', 'delta'], ['q']),
    node('Ceil', ['q'], ['qc']),
    node('Relu', ['qc'], ['qr']),
    node('Cast', ['qr'], ['n'], [iAttr('to', 7)]),
    node('Cast', ['qr'], ['go'], [iAttr('to', 9)]),
    node('Loop', ['n', 'go', 'start'], ['last', 'seq'], [gAttr('body', body)]),
    node('Neg', ['seq'], ['y']),
  ], [vi('start', 'f32', []), vi('limit', 'f32', []), vi('delta', 'f32', [])], [vi('y', 'f32', [3])]), 13);
}

describe('wasm: runtime If / Loop / Scan inside model.wasm', () => {
  it('If takes either branch at run time, nested, reading outer values', async () => {
    const r = rand(1);
    const x = randTensor(r, [2, 3]);
    await check(ifModel(), [[x, bool(true), bool(true)], [x, bool(true), bool(false)], [x, bool(false), bool(true)], [x, bool(false), bool(false)]]);
    // the branches are wasm: no reference fallback in model.mjs
    const low = lowerGraph(compileWasm(importOnnx(ifModel())).graph);
    expect(low.steps.filter((s) => s.ctrl?.k === 'if').length).toBe(2);
  });

  it('If runs an LSTM in the branch taken at run time', async () => {
    const r = rand(12);
    const x = randTensor(r, [5, 2, 3]);
    const h = randTensor(r, [1, 2, 4]);
    await check(lstmInIf(), [[x, h, bool(true)], [x, h, bool(false)]]);
  });

  it('profiling builds of If, Loop and Scan report layer times', async () => {
    const r = rand(2);
    await check(ifModel(), [[randTensor(r, [2, 3]), bool(true), bool(false)]], { profile: true });
    await check(scanOutputLoop(5), [[randTensor(r, [3]), randTensor(r, [3])]], { profile: true });
    await check(scanModel(), [[randTensor(r, [2]), randTensor(r, [2]), randTensor(r, [2, 5]), randTensor(r, [5, 2]), randTensor(r, [2]), randTensor(r, [2, 2])]], { profile: true });
  });

  it('Loop with carried values (a swap, an i64 sum), a trip count and an early exit', async () => {
    const r = rand(3);
    for (const withTrip of [true, false]) {
      const sets: Tensor[][] = [];
      for (const [M, limit, cond] of [[10, 100, true], [3, 100, true], [10, 1.5, true], [10, 100, false], [0, 100, true]] as const) {
        const rest = [bool(cond), randTensor(r, [4]), f32([], [limit]), randTensor(r, [4]), randTensor(r, [4]), randTensor(r, [4])];
        sets.push(withTrip ? [i64(M), ...rest] : rest);
      }
      await check(earlyExitLoop(withTrip), sets);
    }
  });

  it('Loop with a constant trip count stacks scan outputs (nested If on the iteration number)', async () => {
    const r = rand(4);
    await check(scanOutputLoop(5), [[randTensor(r, [3]), randTensor(r, [3])], [randTensor(r, [3]), randTensor(r, [3])]]);
    await check(scanOutputLoop(0), [[randTensor(r, [3]), randTensor(r, [3])]]);
  });

  it('Scan with two states, input/output axes and directions', async () => {
    const r = rand(5);
    await check(scanModel(), [[randTensor(r, [2]), randTensor(r, [2]), randTensor(r, [2, 5]), randTensor(r, [5, 2]), randTensor(r, [2]), randTensor(r, [2, 2])]]);
  });

  it('Loop with a run-time trip count fills scan outputs of a declared length, and traps on another count', async () => {
    await check(rangeLoop(), [[f32([], [1]), f32([], [9]), f32([], [2])], [f32([], [10]), f32([], [6]), f32([], [-1])]]);
    const art = compileWasm(importOnnx(rangeLoop()));
    const m = await loadWasmArtifact(writeTempArtifact(art.files));
    expect(() => runWasmModel(m, [f32([], [1]), f32([], [5]), f32([], [2])])).toThrow();
    expect(() => runWasmModel(m, [f32([], [1]), f32([], [11]), f32([], [2])])).toThrow();
  });

  it('a Loop body Slice of runtime length declared [1] by its reader runs for any trip count; a slice past the end traps', async () => {
    const sets = [0, 1, 3, 5].map((m) => [i64(m), bool(true), f32([1], [0.5])]);
    await check(sliceLoopModel(), sets);
    const m = await loadWasmArtifact(writeTempArtifact(compileWasm(importOnnx(sliceLoopModel())).files));
    expect(() => runWasmModel(m, [i64(6), bool(true), f32([1], [0.5])])).toThrow();
  });

  it('a Loop scan output of run-time length takes the length its reader declares (Range expanded)', async () => {
    await check(rangeLoopModel(), [[f32([], [1]), f32([], [7]), f32([], [2])], [f32([], [-1]), f32([], [0.5]), f32([], [0.6])]]);
    const m = await loadWasmArtifact(writeTempArtifact(compileWasm(importOnnx(rangeLoopModel())).files));
    expect(() => runWasmModel(m, [f32([], [1]), f32([], [9]), f32([], [2])])).toThrow();
  });

  it('Scan opset 8 loops over the batch', async () => {
    const r = rand(6);
    await check(scan8Model(), [[randTensor(r, [3, 2]), randTensor(r, [3, 4, 2])]]);
  });

  it('Scan inside a Loop', async () => {
    const r = rand(7);
    await check(scanInLoop(), [[randTensor(r, [4, 3]), randTensor(r, [3]), randTensor(r, [3])]]);
  });

  it('Scan and If in a dynamic-shape artifact (the step table interprets the control entries)', async () => {
    const r = rand(9);
    const sets = [5, 1, 8].map((t) => [randTensor(r, [2]), randTensor(r, [2, t]), randTensor(r, [t, 2]), bool(t !== 1)]);
    await check(dynamicScan(), sets, { maxInputShapes: { x: [2, 8], y: [8, 2] } });
  });

  it('a Loop whose scan outputs depend on data is a one-line unsupported error', () => {
    const body = graph('body', [node('Less', ['v', 'limit'], ['c_out']), node('Identity', ['v'], ['sv'])],
      [vi('i', 'i64', []), vi('c', 'bool', []), vi('v', 'f32', [])], [vi('c_out', 'bool', []), vi('v', 'f32', []), vi('sv', 'f32', [])]);
    const main = graph('main', [node('Loop', ['M', 'cond', 'v0'], ['vf', 'vs'], [gAttr('body', body)])],
      [vi('M', 'i64', []), vi('cond', 'bool', []), vi('v0', 'f32', []), vi('limit', 'f32', [])], [vi('vf', 'f32', []), vi('vs', 'f32')]);
    expectUnsupported(model(main, 13), "output shapes depend on data");
  });

  it('runs through runOnWasm like any graph', async () => {
    const g = importOnnx(scanModel());
    const r = rand(8);
    const inputs = [randTensor(r, [2]), randTensor(r, [2]), randTensor(r, [2, 5]), randTensor(r, [5, 2]), randTensor(r, [2]), randTensor(r, [2, 2])];
    const want = runGraph(importOnnx(scanModel()), inputs);
    const { outputs } = await runOnWasm(g, inputs);
    want.forEach((w, k) => expect(compareTensors(outputs[k]!, w), `output ${k}`).toBeNull());
  });
});



describe('wasm memory plan: live ranges over loops', () => {
  // steps: 0 | 1 loop | 2 | 3 loop | 4 | 5 end | 6 | 7 end | 8, plus an If (9 if, 10, 11 end) that is no loop
  const steps = [{}, { ctrl: { k: 'loop' } }, {}, { ctrl: { k: 'loop' } }, {}, { ctrl: { k: 'end' } }, {}, { ctrl: { k: 'end' } }, {},
    { ctrl: { k: 'if' } }, {}, { ctrl: { k: 'end' } }];
  const loops = loopRanges(steps);

  it('finds nested loops and skips Ifs', () => {
    expect(loops).toEqual([[3, 5], [1, 7]]);
  });

  it('a buffer used inside and outside a loop lives over the whole loop', () => {
    expect(extendOverLoops(0, 4, loops)).toEqual([0, 7]); // read in the inner body: both loops
    expect(extendOverLoops(2, 4, loops)).toEqual([2, 5]); // outer-body value read in the inner loop
    expect(extendOverLoops(4, 8, loops)).toEqual([1, 8]); // written in the inner body, read after
    expect(extendOverLoops(-1, 0, loops)).toEqual([-1, 0]); // before the loops: unchanged
  });

  it('a buffer used within one iteration keeps its range', () => {
    expect(extendOverLoops(4, 4, loops)).toEqual([4, 4]);
    expect(extendOverLoops(2, 6, loops)).toEqual([2, 6]);
    expect(extendOverLoops(10, 10, loops)).toEqual([10, 10]);
  });
});


// ---------------------------------------------------------------------------------------------
// Sequences and optionals (targets/common/sequences.ts)
// ---------------------------------------------------------------------------------------------

/** A value info of a sequence (or optional sequence / optional tensor) of `dt` tensors. */
function kindVi(name: string, kind: 'seq' | 'opt' | 'optseq', dt: DType, dims?: (number | string)[]): onnxproto.onnx.ValueInfoProto {
  const tensor = vi(name, dt, dims).type!;
  const seq = new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensor }) });
  const type = kind === 'seq' ? seq : new onnx.TypeProto({ optionalType: new onnx.TypeProto.Optional({ elemType: kind === 'opt' ? tensor : seq }) });
  return new onnx.ValueInfoProto({ name, type });
}

const i64s = (v: number[]): Tensor => Tensor.from('i64', [v.length], v.map(BigInt));

/** Sequence ops around a sequence input: Split/Insert/Erase/At/Length/Concat/Stack, a sequence output. */
function seqOpsModel(): Uint8Array {
  const main = graph('main', [
    node('SplitToSequence', ['x', 'split'], ['sp'], [iAttr('axis', 0)]),
    node('Relu', ['x'], ['rx']),
    node('SequenceInsert', ['s', 'rx', 'zero'], ['s1']),
    node('SequenceErase', ['s1', 'minus1'], ['e']),
    node('SequenceAt', ['e', 'zero'], ['a']),
    node('Add', ['a', 'one'], ['y0']),
    node('SequenceLength', ['s1'], ['len']),
    node('ConcatFromSequence', ['sp'], ['cat'], [iAttr('axis', 0)]),
    node('SequenceConstruct', ['x', 'rx'], ['pair']),
    node('ConcatFromSequence', ['pair'], ['stack'], [iAttr('axis', 1), iAttr('new_axis', 1)]),
  ], [vi('x', 'f32', [4, 3]), kindVi('s', 'seq', 'f32')],
  [vi('y0', 'f32', [4, 3]), vi('len', 'i64', []), vi('cat', 'f32', [4, 3]), vi('stack', 'f32', [4, 2, 3]), kindVi('e', 'seq', 'f32')],
  [['split', i64s([1, 3])], ['zero', i64(0)], ['minus1', i64(-1)], ['one', f32([], [1])]]);
  return model(main, 17);
}

/** If(c): Optional(sequence [x, 2x]) or an empty optional; OptionalHasElement of the result. */
function ifOptionalModel(): Uint8Array {
  const thenG = graph('then', [node('Mul', ['x', 'two'], ['x2']), node('SequenceConstruct', ['x', 'x2'], ['sq']), node('Optional', ['sq'], ['o1'])],
    [], [kindVi('o1', 'optseq', 'f32', [3])], [['two', f32([], [2])]]);
  const none = new onnx.AttributeProto({ name: 'type', type: T.TYPE_PROTO, tp: kindVi('t', 'seq', 'f32', [3]).type! });
  const elseG = graph('else', [node('Optional', [], ['o2'], [none])], [], [kindVi('o2', 'optseq', 'f32', [3])]);
  const main = graph('main', [
    node('If', ['c'], ['opt'], [gAttr('then_branch', thenG), gAttr('else_branch', elseG)]),
    node('OptionalHasElement', ['opt'], ['has']),
  ], [vi('x', 'f32', [3]), vi('c', 'bool', [])], [kindVi('opt', 'optseq', 'f32', [3]), vi('has', 'bool', [])]);
  return model(main, 18);
}

/** Loop(3): seq <- SequenceInsert(seq, x * i) from SequenceEmpty, scan output i; Concat of the sequence. */
function seqLoopModel(): Uint8Array {
  const body = graph('body', [
    node('Identity', ['c'], ['c_out']),
    node('Cast', ['i'], ['fi'], [iAttr('to', 1)]),
    node('Mul', ['x', 'fi'], ['xi']),
    node('SequenceInsert', ['sq', 'xi'], ['sq_out']),
    node('Identity', ['i'], ['i_out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), kindVi('sq', 'seq', 'f32')], [vi('c_out', 'bool', []), kindVi('sq_out', 'seq', 'f32'), vi('i_out', 'i64', [])]);
  const main = graph('main', [
    node('SequenceEmpty', [], ['empty'], [iAttr('dtype', 1)]),
    node('Loop', ['M', '', 'empty'], ['final', 'iters'], [gAttr('body', body)]),
    node('ConcatFromSequence', ['final'], ['cat'], [iAttr('axis', 0)]),
  ], [vi('x', 'f32', [2])], [vi('cat', 'f32', [6]), vi('iters', 'i64', [3])], [['M', i64(3)]]);
  return model(main, 17);
}

/** Compiles for the structure of the first input set, runs every set on wasm and the reference. */
async function checkValues(bytes: Uint8Array, sets: RtValue[][]): Promise<void> {
  const g = importOnnx(bytes);
  const art = compileWasm(g, { sequenceShapes: sequenceShapesOf(g, sets[0]!) });
  const m = await loadWasmArtifact(writeTempArtifact(art.files));
  for (const inputs of sets) {
    const want = runGraphValues(importOnnx(bytes), inputs);
    const got = runWasmModelValues(m, inputs);
    expect(got.length).toBe(want.length);
    want.forEach((w, k) => expect(compareValues(got[k], w, { rtol: 1e-6, atol: 1e-6 }), `output ${k}`).toBeNull());
  }
}

describe('wasm: sequences and optionals of static structure', () => {
  it('sequence ops on a sequence input, with a sequence output', async () => {
    const r = rand(21);
    const s = (): TensorSeq => new TensorSeq('f32', [randTensor(r, [4, 3]), randTensor(r, [2, 3])]);
    await checkValues(seqOpsModel(), [[randTensor(r, [4, 3]), s()], [randTensor(r, [4, 3]), s()]]);
  });

  it('an If gives an optional sequence present or empty by its run-time condition', async () => {
    const r = rand(22);
    await checkValues(ifOptionalModel(), [[randTensor(r, [3]), bool(true)], [randTensor(r, [3]), bool(false)]]);
  });

  it('a Loop with a constant trip count that grows a sequence is unrolled', async () => {
    const r = rand(23);
    await checkValues(seqLoopModel(), [[randTensor(r, [2])]]);
  });

  it('model.mjs takes sequences as arrays and rejects another structure', async () => {
    const g = importOnnx(seqOpsModel());
    const m = await loadWasmArtifact(writeTempArtifact(compileWasm(g, { sequenceShapes: { sequences: { s: [[4, 3], [2, 3]] } } }).files));
    expect(m.inputs[1]).toMatchObject({ name: 's', kind: 'sequence', elements: [[4, 3], [2, 3]] });
    const r = rand(24);
    expect(() => runWasmModelValues(m, [randTensor(r, [4, 3]), new TensorSeq('f32', [randTensor(r, [4, 3])])])).toThrow(/compiled for 2 element/);
    expect(() => m.run({ x: new Float32Array(12), s: [new Float32Array(12)] })).toThrow(/array of 2 arrays/);
  });

  it('a sequence input without its shapes, a runtime position, a sequence grown by a runtime trip count: dynamic artifacts planned per call (wasm-runtime-seq.test.ts runs them)', () => {
    const expectDynamic = (bytes: Uint8Array): void => expect(compileWasm(importOnnx(bytes)).manifest.dynamic).toBe(true);
    expectDynamic(seqOpsModel());
    const rt = graph('main', [node('SequenceConstruct', ['x', 'x'], ['sq']), node('SequenceAt', ['sq', 'p'], ['y'])],
      [vi('x', 'f32', [2]), vi('p', 'i64', [])], [vi('y', 'f32', [2])]);
    expectDynamic(model(rt, 17));
    const body = graph('body', [node('Identity', ['c'], ['c_out']), node('SequenceInsert', ['sq', 'x'], ['sq_out'])],
      [vi('i', 'i64', []), vi('c', 'bool', []), kindVi('sq', 'seq', 'f32')], [vi('c_out', 'bool', []), kindVi('sq_out', 'seq', 'f32')]);
    const loop = graph('main', [
      node('SequenceEmpty', [], ['empty'], [iAttr('dtype', 1)]),
      node('Loop', ['M', '', 'empty'], ['final'], [gAttr('body', body)]),
      node('ConcatFromSequence', ['final'], ['cat'], [iAttr('axis', 0)]),
    ], [vi('x', 'f32', [2]), vi('M', 'i64', [])], [vi('cat', 'f32')]);
    expectDynamic(model(loop, 17));
  });
});
