/**
 * int8 UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite Micro's integer LSTM: int8 activations, int16 cell
 * state and gates, LUT sigmoid / tanh): edgec's import (edgec.TflLstm), reference interpreter and
 * wasm target bit for bit against TFLM's kernel transcribed in C++ (tflite-ref.cc, which derives
 * every multiplier itself from the tensors' scales), on ../shared's trained_lstm_int8.tflite
 * (seeded random int8 and MNIST-like digits) and on small LSTMs written in code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTflite } from '../../compiler/frontends/tflite/index.js';
import { readTflite } from '../../compiler/frontends/tflite/schema.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Graph } from '../../compiler/ir/graph.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { HAVE_MODELS, MODELS } from '../cli/helpers.js';
import { runOnWasm } from '../targets/wasm-helpers.js';
import { BTensor, buildTflite } from './build.js';
import { HAVE_GXX, buildRef, ints, lcg, refTensor, runRef } from './qref.js';

const MODEL = path.join(MODELS, 'tflite', 'tflite-micro', 'trained_lstm_int8.tflite');
const DIGITS = path.join(MODELS, 'trained', 'digits_mlp', 'test_x.pb');
const LSTM = 44;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tflstm-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** tflite-ref.cc's input for the model's (first) LSTM operator on runtime input `x`. */
function oracleLstm(bytes: Uint8Array, x: number[]): number[] {
  const m = readTflite(bytes);
  const sg = m.subgraphs[0]!;
  const op = sg.operators.find((o) => m.opcodes[o.opcode]!.builtin === LSTM)!;
  const o = op.options!;
  const line = (j: number, data?: ArrayLike<number>): string => {
    const t = sg.tensors[op.inputs[j]!]!;
    const raw = m.buffers[t.buffer]!;
    const vals = data ?? (t.type === 9 ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : t.type === 2 ? new Int32Array(raw.slice().buffer) : []);
    return refTensor(t.shape, t.quant, vals);
  };
  const clipBits = new Int32Array(Float32Array.of(o.f32(1, 0)).buffer)[0]!;
  const y = sg.tensors[op.outputs[0]!]!;
  const ts = [line(0, x), ...[1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15].map((j) => line(j)), line(18, []), line(19, []), refTensor(y.shape, y.quant, [])];
  return runRef(refBin, LSTM, [o.bool(3, false) ? 1 : 0, o.i8(0, 0), clipBits], ts);
}

/** The graph with the TflLstm node's output as its only output. */
function lstmOnly(g: Graph): Graph {
  const h = g.clone();
  const n = [...h.nodes.values()].find((k) => k.op === 'TflLstm')!;
  h.outputs = [n.outputs[0]!];
  h.removeUnusedValues?.();
  return h;
}

/** A 8x8 scikit-learn digit (0..16) scaled up to 28x28 (nearest) and quantized as the model's input (scale 1/255, zero point -128). */
function digit28(px: number[]): number[] {
  const mx = Math.max(...px, 1e-9);
  return Array.from({ length: 784 }, (_, i) => {
    const r = Math.min(7, Math.floor(Math.floor(i / 28) * 8 / 28)), c = Math.min(7, Math.floor((i % 28) * 8 / 28));
    return Math.round((px[r * 8 + c]! / mx) * 255) - 128;
  });
}

let refBin = '';
const RUN = (HAVE_MODELS && HAVE_GXX) || !!process.env['CI'];
describe.runIf(RUN)('int8 UNIDIRECTIONAL_SEQUENCE_LSTM: edgec vs TFLite Micro\'s integer kernel (tflite-ref.cc)', () => {
  beforeAll(() => {
    expect(HAVE_GXX, 'g++ builds tflite-ref.cc').toBe(true);
    refBin = buildRef(tmp);
  });
  it('trained_lstm_int8.tflite: the LSTM output and the model output, ref and wasm bit-exact with tflite-ref.cc (random int8 and digits)', async () => {
    expect(fs.existsSync(MODEL), MODEL).toBe(true);
    const bytes = new Uint8Array(fs.readFileSync(MODEL));
    const g = importTflite(bytes);
    verify(g);
    expect([...g.nodes.values()].map((n) => n.op)).toEqual(['TflLstm', 'Reshape', 'QGemm', 'QSoftmax']);
    const sub = lstmOnly(g);
    const r = lcg(11);
    const inputs = [ints(784, -128, 127, r), ints(784, -128, 127, r), ints(784, -128, 0, r)];
    const digits = decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(DIGITS))).tensor;
    for (const k of [0, 7]) inputs.push(digit28(digits.toNumbers().slice(k * 64, k * 64 + 64)));
    for (const [i, v] of inputs.entries()) {
      const x = Tensor.from('i8', [1, 28, 28], v);
      const want = oracleLstm(bytes, v);
      const got = Array.from(runGraph(sub, [x])[0]!.data as Int8Array);
      expect(got, `input ${i}: ref vs tflite-ref.cc`).toEqual(want);
      expect(new Set(got).size, 'the LSTM output is not constant').toBeGreaterThan(5);
      const w = (await runOnWasm(g, [x])).outputs[0]!;
      expect(Array.from(w.data as Int8Array), `input ${i}: wasm vs ref (model output)`).toEqual(Array.from(runGraph(g, [x])[0]!.data as Int8Array));
      const ws = (await runOnWasm(sub, [x])).outputs[0]!;
      expect(Array.from(ws.data as Int8Array), `input ${i}: wasm vs tflite-ref.cc (LSTM output)`).toEqual(want);
    }
  });
});
