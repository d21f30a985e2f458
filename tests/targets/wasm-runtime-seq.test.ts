/**
 * Value-dependent structure on the wasm target, run through the artifact's own model.mjs:
 * - soft-NMS (TF.js NonMaxSuppressionV5 with soft_nms_sigma > 0, edgec.TfNonMaxSuppression) runs on
 *   the host inside a dynamic artifact, checked against the reference interpreter and against
 *   tfjs-core's image.nonMaxSuppressionWithScore (cpu backend) on built boxes and scores;
 * - sequences whose structure is decided per call (a Loop growing a sequence over a runtime trip
 *   count, runtime SequenceInsert / SequenceAt positions, SplitToSequence with a runtime split,
 *   sequence inputs of any length) are re-planned by model.mjs for each structure, checked
 *   against the reference interpreter;
 * - shared/models/tfjs/handtrack compiles for wasm and matches its TF.js sample outputs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { RtValue, TensorSeq } from '../../compiler/ir/value.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModel, runWasmModelValues, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { compareValues } from '../onnx-node/cases.js';
import onnxproto from 'onnx-proto';
import { DType, ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { EdgecError } from '../../compiler/errors.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes, tensorToProto } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraphValues } from '../../compiler/interp/interp.js';
import { MODELS_DIR } from '../models/harness.js';
import { cleanup, f32Bytes, i32Bytes, node, tfShape, tmpDir, writeModel } from '../tfjs/fixture.js';

afterAll(cleanup);

/** A deterministic generator (LCG) in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Compiles g for wasm, loads the artifact's model.mjs and returns it with a disposer. */
async function compiled(g: Graph) {
  const art = compileWasm(g.clone());
  const dir = writeTempArtifact(art.files);
  const model = await loadWasmArtifact(dir);
  return { art, model, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

describe('soft-NMS (TF.js NonMaxSuppressionV5, soft_nms_sigma > 0) on wasm', () => {
  /** A TF.js graph model: boxes [N,4] and scores [N] inputs, V5 with constant max / iou / score / sigma. */
  function softNmsGraph(n: number, max: number, iou: number, score: number, sigma: number, pad: boolean): Graph {
    const consts = [
      { name: 'max', shape: [], dtype: 'int32', data: [max] },
      { name: 'iou', shape: [], dtype: 'float32', data: [iou] },
      { name: 'score', shape: [], dtype: 'float32', data: [score] },
      { name: 'sigma', shape: [], dtype: 'float32', data: [sigma] },
    ];
    const parts = consts.map((c) => (c.dtype === 'int32' ? i32Bytes(c.data) : f32Bytes(c.data)));
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { bytes.set(p, o); o += p.length; }
    const json = {
      format: 'graph-model', generatedBy: 'test', convertedBy: 'test',
      modelTopology: {
        node: [
          node('boxes', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: tfShape([n, 4]) }),
          node('scores', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: tfShape([n]) }),
          ...consts.map((c) => node(c.name, 'Const', [], {})),
          node('nms', 'NonMaxSuppressionV5', ['boxes', 'scores', 'max', 'iou', 'score', 'sigma'], { pad_to_max_output_size: { b: pad } }),
        ],
      },
      signature: { outputs: { nms: { name: 'nms' }, 'nms:1': { name: 'nms:1' }, 'nms:2': { name: 'nms:2' } } },
      weightsManifest: [{ paths: ['w.bin'], weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype })) }],
    };
    return loadTfjsModel(writeModel(tmpDir('softnms'), json, { 'w.bin': bytes }));
  }

  /** Overlapping boxes (clusters around a few centres, either corner order) and scores in (0, 1). */
  function boxesAndScores(n: number, seed: number): { boxes: Float32Array; scores: Float32Array } {
    const r = rng(seed);
    const boxes = new Float32Array(n * 4);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const cy = (i % 3) * 0.3 + r() * 0.1;
      const cx = (i % 2) * 0.4 + r() * 0.1;
      const h = 0.2 + r() * 0.2;
      const w = 0.2 + r() * 0.2;
      const flip = r() < 0.3;
      boxes.set(flip ? [cy + h, cx + w, cy, cx] : [cy, cx, cy + h, cx + w], 4 * i);
      scores[i] = 0.05 + r() * 0.9;
    }
    return { boxes, scores };
  }

  for (const [n, max, iou, score, sigma, pad, seed] of [
    [12, 8, 0.5, 0.1, 0.5, false, 1], [20, 10, 0.7, 0.2, 0.25, true, 2], [16, 4, 0.9, 0.05, 1, false, 3], [9, 9, 0.6, 0.3, 0.1, true, 4],
  ] as const) {
    it(`N=${n} max ${max} iou ${iou} score ${score} sigma ${sigma}${pad ? ' padded' : ''}: wasm = reference = tfjs-core`, async () => {
      const g = softNmsGraph(n, max, iou, score, sigma, pad);
      expect(g.orderedNodes().some((x) => x.op === 'TfNonMaxSuppression' && x.domain === 'edgec')).toBe(true);
      const { boxes, scores } = boxesAndScores(n, seed);
      const xs = [Tensor.from('f32', [n, 4], boxes), Tensor.from('f32', [n], scores)];
      const ref = runGraph(g, xs);
      const { art, model, dispose } = await compiled(g);
      try {
        // value-dependent sizes: a dynamic artifact, the op runs in model.mjs with the reference kernel
        expect(art.manifest.dynamic).toBe(true);
        const got = runWasmModel(model, xs);
        ref.forEach((t, k) => expect(compareTensors(got[k]!, t, { rtol: 0, atol: 0 }), `output ${k} vs reference`).toBeNull());
        await tf.setBackend('cpu');
        const want = tf.image.nonMaxSuppressionWithScore(tf.tensor2d(boxes, [n, 4]), tf.tensor1d(scores), max, iou, score, sigma);
        const idx = Array.from(want.selectedIndices.dataSync());
        const sc = Array.from(want.selectedScores.dataSync());
        const padN = pad ? max - idx.length : 0;
        expect(idx.length).toBeGreaterThan(1);
        // soft-NMS reweights: some selected score differs from the input score
        expect(idx.some((b, k) => Math.abs(sc[k]! - scores[b]!) > 1e-6)).toBe(true);
        expect(Array.from(got[0]!.data as Int32Array)).toEqual([...idx, ...new Array<number>(padN).fill(0)]);
        expect(compareTensors(got[1]!, Tensor.from('f32', [idx.length + padN], [...sc, ...new Array<number>(padN).fill(0)]), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
        expect(got[2]!.get(0)).toBe(idx.length);
        tf.dispose([want.selectedIndices, want.selectedScores]);
      } finally {
        dispose();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Sequences of runtime structure (targets/wasm/dynamic/sequences.ts)
// ---------------------------------------------------------------------------------------------

const { onnx } = onnxproto;
const AT = onnx.AttributeProto.AttributeType;

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
/** A value info of a sequence of `dt` tensors (element dims optional). */
function seqVi(name: string, dt: DType, dims?: (number | string)[]): onnxproto.onnx.ValueInfoProto {
  return new onnx.ValueInfoProto({ name, type: new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: vi(name, dt, dims).type! }) }) });
}
type Attr = onnxproto.onnx.AttributeProto;
const gAttr = (name: string, g: onnxproto.onnx.GraphProto): Attr => new onnx.AttributeProto({ name, type: AT.GRAPH, g });
const iAttr = (name: string, i: number): Attr => new onnx.AttributeProto({ name, type: AT.INT, i });
const onnxNode = (op: string, input: string[], output: string[], attribute: Attr[] = []) => new onnx.NodeProto({ opType: op, input, output, attribute, name: `${op}_${output[0]}` });
function graph(name: string, nodes: onnxproto.onnx.NodeProto[], input: onnxproto.onnx.ValueInfoProto[], output: onnxproto.onnx.ValueInfoProto[], inits: [string, Tensor][] = []) {
  return new onnx.GraphProto({ name, node: nodes, input, output, initializer: inits.map(([n, t]) => tensorToProto(t, n)) });
}
const model = (g: onnxproto.onnx.GraphProto, opset = 17): Uint8Array =>
  onnx.ModelProto.encode(new onnx.ModelProto({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: g })).finish();

const i64 = (v: number): Tensor => Tensor.from('i64', [], [BigInt(v)]);
const i64s = (v: number[]): Tensor => Tensor.from('i64', [v.length], v.map(BigInt));
function randTensor(r: () => number, shape: number[]): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, () => r() * 2 - 1));
}

/**
 * Loop(M) over a runtime trip count: seq <- SequenceInsert(seq, x[0 : i + 1] * w + i) (elements of
 * growing length, computed from the input x at run time); outputs the sequence, its length and
 * the last element.
 */
function growLoopModel(): Uint8Array {
  const body = graph('body', [
    onnxNode('Identity', ['c'], ['c_out']),
    onnxNode('Add', ['i', 'one'], ['end']),
    onnxNode('Unsqueeze', ['end', 'ax'], ['end1']),
    onnxNode('Slice', ['x', 'zero1', 'end1'], ['piece']),
    onnxNode('Mul', ['piece', 'w'], ['scaled']),
    onnxNode('Cast', ['i'], ['fi'], [iAttr('to', 1)]),
    onnxNode('Add', ['scaled', 'fi'], ['el']),
    onnxNode('SequenceInsert', ['sq', 'el'], ['sq_out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), seqVi('sq', 'f32')], [vi('c_out', 'bool', []), seqVi('sq_out', 'f32')],
  [['one', i64(1)], ['ax', i64s([0])], ['zero1', i64s([0])]]);
  return model(graph('main', [
    onnxNode('SequenceEmpty', [], ['empty'], [iAttr('dtype', 1)]),
    onnxNode('Loop', ['M', 'go', 'empty'], ['seq'], [gAttr('body', body)]),
    onnxNode('SequenceLength', ['seq'], ['len']),
    onnxNode('SequenceAt', ['seq', 'last'], ['tail']),
  ], [vi('x', 'f32', [8]), vi('w', 'f32', []), vi('M', 'i64', []), vi('go', 'bool', [])], [seqVi('seq', 'f32'), vi('len', 'i64', []), vi('tail', 'f32')],
  [['last', i64(-1)]]));
}

/** A sequence input of any length: Concat of it, the element at a runtime position (plus x), and the sequence without it. */
function seqInputModel(): Uint8Array {
  return model(graph('main', [
    onnxNode('ConcatFromSequence', ['s'], ['cat'], [iAttr('axis', 0)]),
    onnxNode('SequenceAt', ['s', 'p'], ['at']),
    onnxNode('Add', ['at', 'x'], ['y']),
    onnxNode('SequenceErase', ['s', 'p'], ['rest']),
  ], [seqVi('s', 'f32', ['n', 3]), vi('x', 'f32', [3]), vi('p', 'i64', [])], [vi('cat', 'f32', ['m', 3]), vi('y', 'f32'), seqVi('rest', 'f32', ['n', 3])]));
}

/** SplitToSequence by a runtime split along axis 1, Relu of x's row maxima inserted at a runtime position, then concatenated back. */
function splitInsertModel(): Uint8Array {
  return model(graph('main', [
    onnxNode('SplitToSequence', ['x', 'split'], ['parts'], [iAttr('axis', 1)]),
    onnxNode('ReduceMax', ['x'], ['colsum'], [new onnx.AttributeProto({ name: 'axes', type: AT.INTS, ints: [1] }), iAttr('keepdims', 1)]),
    onnxNode('Relu', ['colsum'], ['r']),
    onnxNode('SequenceInsert', ['parts', 'r', 'pos'], ['parts2']),
    onnxNode('ConcatFromSequence', ['parts2'], ['back'], [iAttr('axis', 1)]),
  ], [vi('x', 'f32', [3, 6]), vi('split', 'i64', ['k']), vi('pos', 'i64', [])], [seqVi('parts2', 'f32'), vi('back', 'f32')]));
}

/** Compiles the model with no structure given; runs every input set on the artifact's model.mjs and on the reference. */
async function checkRuntime(bytes: Uint8Array, sets: RtValue[][]): Promise<void> {
  const { art, model: m, dispose } = await compiled(importOnnx(bytes, { symbolicToOne: false }));
  try {
    expect(art.manifest.dynamic).toBe(true);
    for (const inputs of sets) {
      const want = runGraphValues(importOnnx(bytes, { symbolicToOne: false }), inputs);
      const got = runWasmModelValues(m, inputs);
      expect(got.length).toBe(want.length);
      want.forEach((w, k) => expect(compareValues(got[k], w, { rtol: 1e-6, atol: 1e-6 }), `output ${k}`).toBeNull());
    }
  } finally {
    dispose();
  }
}

describe('wasm: sequences whose structure is decided per call', () => {
  it('a Loop grows a sequence over a runtime trip count (elements of growing shape, computed from inputs)', async () => {
    const r = rng(31);
    const x = () => randTensor(r, [8]);
    const w = () => Tensor.from('f32', [], [r() * 3]);
    const yes = Tensor.from('bool', [], [1]);
    // trip counts 3, 5, 1, then 3 again (a plan for each structure; the last reuses the first's shapes)
    await checkRuntime(growLoopModel(), [[x(), w(), i64(3), yes], [x(), w(), i64(5), yes], [x(), w(), i64(1), yes], [x(), w(), i64(3), yes]]);
  });

  it('a sequence input of any length and element shapes, a runtime position', async () => {
    const r = rng(32);
    const seq = (rows: number[]) => new TensorSeq('f32', rows.map((n) => randTensor(r, [n, 3])));
    await checkRuntime(seqInputModel(), [
      [seq([2, 1]), randTensor(r, [3]), i64(1)],
      [seq([1, 4, 2]), randTensor(r, [3]), i64(-3)],
      [seq([1]), randTensor(r, [3]), i64(0)],
    ]);
  });

  it('SplitToSequence with a runtime split, SequenceInsert at a runtime position', async () => {
    const r = rng(33);
    await checkRuntime(splitInsertModel(), [
      [randTensor(r, [3, 6]), i64s([2, 4]), i64(1)],
      [randTensor(r, [3, 6]), i64s([1, 1, 4]), i64(-1)],
      [randTensor(r, [3, 6]), i64s([6]), i64(0)],
    ]);
  });

  it('value-dependent sizes after a runtime structure run in segments (NonZero of the concatenated sequence)', async () => {
    const bytes = model(graph('main', [
      onnxNode('ConcatFromSequence', ['s'], ['cat'], [iAttr('axis', 0)]),
      onnxNode('Relu', ['cat'], ['r']),
      onnxNode('NonZero', ['r'], ['nz']),
      onnxNode('Cast', ['nz'], ['nzf'], [iAttr('to', 1)]),
      onnxNode('Neg', ['nzf'], ['y']),
    ], [seqVi('s', 'f32', ['n', 2])], [vi('y', 'f32')]));
    const r = rng(34);
    const seq = (rows: number[]) => new TensorSeq('f32', rows.map((n) => randTensor(r, [n, 2])));
    await checkRuntime(bytes, [[seq([2, 3])], [seq([2, 3])], [seq([1])]]);
  });

  it('model.mjs takes sequences as arrays of { data, shape } and returns arrays', async () => {
    const { model: m, dispose } = await compiled(importOnnx(seqInputModel()));
    try {
      expect(m.inputs[0]).toMatchObject({ name: 's', kind: 'sequence', dtype: 'f32' });
      const out = m.run({ s: [{ data: new Float32Array([1, 2, 3]), shape: [1, 3] }, { data: new Float32Array([4, 5, 6, 7, 8, 9]), shape: [2, 3] }],
        x: { data: new Float32Array([1, 1, 1]), shape: [3] }, p: { data: new BigInt64Array([1n]), shape: [] } }) as Record<string, unknown>;
      expect(Array.from(out['y'] as Float32Array)).toEqual([5, 6, 7, 8, 9, 10]);
      expect((out['rest'] as Float32Array[]).map((a) => Array.from(a))).toEqual([[1, 2, 3]]);
      expect(m.outputShapes!()).toMatchObject({ y: [2, 3], rest: [[1, 3]], cat: [3, 3] });
      expect(() => m.run({ s: new Float32Array(3), x: new Float32Array(3), p: { data: new BigInt64Array([0n]), shape: [] } })).toThrow(/is a sequence/);
    } finally {
      dispose();
    }
  });

  it('a trip count computed from float data in the graph: computed in wasm first, then the call is planned', async () => {
    const body = graph('body', [onnxNode('Identity', ['c'], ['c_out']), onnxNode('Mul', ['x', 'x'], ['xx']), onnxNode('SequenceInsert', ['sq', 'xx'], ['sq_out'])],
      [vi('i', 'i64', []), vi('c', 'bool', []), seqVi('sq', 'f32')], [vi('c_out', 'bool', []), seqVi('sq_out', 'f32')]);
    const bytes = model(graph('main', [
      onnxNode('ReduceMax', ['x'], ['mx'], [iAttr('keepdims', 0)]),
      onnxNode('Cast', ['mx'], ['M'], [iAttr('to', 7)]),
      onnxNode('SequenceEmpty', [], ['empty'], [iAttr('dtype', 1)]),
      onnxNode('Loop', ['M', '', 'empty'], ['final'], [gAttr('body', body)]),
      onnxNode('ConcatFromSequence', ['final'], ['cat'], [iAttr('axis', 0)]),
    ], [vi('x', 'f32', [2])], [vi('cat', 'f32')]));
    // trip counts 2, 4, 2 (the second 2 reuses its plan)
    await checkRuntime(bytes, [[Tensor.from('f32', [2], [2.5, 1])], [Tensor.from('f32', [2], [-1, 4])], [Tensor.from('f32', [2], [2, 0.5])]]);
  });

  it('a Loop over sequences past the unroll limit is a one-line unsupported error when the call is planned', async () => {
    const { model: m, dispose } = await compiled(importOnnx(growLoopModel(), { symbolicToOne: false }));
    try {
      let err: unknown;
      try {
        runWasmModelValues(m, [Tensor.from('f32', [8], new Array<number>(8).fill(1)), Tensor.from('f32', [], [1]), i64(5000), Tensor.from('bool', [], [1])]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EdgecError);
      expect((err as EdgecError).kind).toBe('unsupported');
      expect((err as EdgecError).message).toMatch(/5000 iterations, over the 4096/);
      expect((err as EdgecError).message.split('\n').length).toBe(1);
    } finally {
      dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// shared/models/tfjs/handtrack (tf.while_loop, TensorLists, NonMaxSuppressionV5) on wasm
// ---------------------------------------------------------------------------------------------

const HANDTRACK = path.join(MODELS_DIR, 'tfjs', 'handtrack');

describe.skipIf(!fs.existsSync(HANDTRACK))('handtrack on wasm', () => {
  it('runs through model.mjs and matches its TF.js sample outputs', async () => {
    const rd = (f: string): Tensor => decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(path.join(HANDTRACK, 'sample', f)))).tensor;
    const io = JSON.parse(fs.readFileSync(path.join(HANDTRACK, 'sample/io.json'), 'utf8')) as { outputs: { name: string }[] };
    const { model: m, dispose } = await compiled(loadTfjsModel(path.join(HANDTRACK, 'model.json')));
    try {
      const x = rd('input_0.pb');
      const outs = runWasmModel(m, [Tensor.from(m.inputs[0]!.dtype as DType, x.shape, x.toNumbers())]);
      expect(outs.length).toBe(io.outputs.length);
      io.outputs.forEach((o, k) => {
        expect(m.outputs[k]!.name).toBe(o.name);
        let want = rd(`output_${k}.pb`);
        // int32 outputs stored as their int32 bits in float32 by the sample writer (see tests/tfjs/models.test.ts)
        if (o.name === 'Identity_5' || o.name === 'Identity') want = Tensor.from('f32', want.shape, Array.from(new Int32Array(Float32Array.from(want.toNumbers()).buffer)));
        const got = outs[k]!;
        expect(compareTensors(Tensor.from('f32', got.shape, got.toNumbers()), want, { rtol: 1e-3, atol: 1e-4 }), `output ${k} (${o.name})`).toBeNull();
      });
    } finally {
      dispose();
    }
  }, 240_000);
});
