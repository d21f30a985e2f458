/**
 * int8 UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite Micro's integer LSTM: int8 activations, int16 cell
 * state and gates, LUT sigmoid / tanh): edgec's import (edgec.TflLstm), reference interpreter and
 * wasm target bit for bit against TFLM's kernel transcribed in C++ (tflite-ref.cc, which derives
 * every multiplier itself from the tensors' scales), on ../shared's trained_lstm_int8.tflite
 * (seeded random int8 and MNIST-like digits) and on small LSTMs written in code, which also run on
 * the c target (host g++), the hls C simulation and webgpu (SwiftShader, when an adapter exists).
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
import { HAVE_MODELS, MODELS } from '../cli/helpers.js';
import { runOnWasm } from '../targets/wasm-helpers.js';
import { BTensor, buildTflite } from './build.js';
import { emitC } from '../../targets/c/emit.js';
import { runCArtifact } from '../../targets/c/run.js';
import { writeTempArtifact } from '../../targets/common/target.js';
import { csimVsRef } from '../targets/hls-helpers.js';
import { gpuAvailable, runOnWebgpu } from '../targets/webgpu-helpers.js';
import { HAVE_GXX, buildRef, ints, lcg, refTensor, runRef } from './qref.js';

const MODEL = path.join(MODELS, 'tflite', 'tflite-micro', 'trained_lstm_int8.tflite');
const DIGITS = path.join(MODELS, 'trained', 'digits_mlp', 'test_x.pb');
const LSTM = 44;
const I8 = 9, I16 = 7, I32 = 2;
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

interface Small {
  name: string; seed: number; B: number; T: number; I: number; H: number; timeMajor: boolean;
  zx: number; zh: number; cellScale: number; clip: number; act: number; peephole?: boolean;
}

const SMALL: Small[] = [
  { name: 'batch-major B=2 T=5 I=6 H=8, zero points -3/5, cell scale 2^-11, tanh', seed: 1, B: 2, T: 5, I: 6, H: 8, timeMajor: false, zx: -3, zh: 5, cellScale: 2 ** -11, clip: 0, act: 4 },
  { name: 'time-major B=3 T=4 I=5 H=7, cell scale 2^-15 (tanh shifts right), cell_clip 0.5', seed: 2, B: 3, T: 4, I: 5, H: 7, timeMajor: true, zx: 10, zh: -7, cellScale: 2 ** -15, clip: 0.5, act: 4 },
  { name: 'B=1 T=6 I=4 H=5, sigmoid cell gate, cell scale 2^-12, cell_clip 3', seed: 3, B: 1, T: 6, I: 4, H: 5, timeMajor: false, zx: 0, zh: -20, cellScale: 2 ** -12, clip: 3, act: 6 },
  { name: 'batch-major B=2 T=3 I=3 H=70 (more hidden units than a webgpu workgroup), cell scale 2^-10', seed: 4, B: 2, T: 3, I: 3, H: 70, timeMajor: false, zx: 2, zh: 1, cellScale: 2 ** -10, clip: 0, act: 4 },
];

/** A one-operator int8 LSTM flatbuffer (random int8 weights with per-tensor scales, int32 biases, variable states). */
function smallLstm(c: Small): Uint8Array {
  const r = lcg(c.seed);
  const q = (scale: number, zp: number) => ({ scale: [scale], zeroPoint: [zp] });
  const sx = 0.02 + 0.01 * r(), sh = 0.006 + 0.004 * r();
  const ts: BTensor[] = [{ name: 'x', shape: c.timeMajor ? [c.T, c.B, c.I] : [c.B, c.T, c.I], type: I8, quant: q(sx, c.zx) }];
  const wIdx: number[] = [], rIdx: number[] = [], bIdx: number[] = [];
  for (let g = 0; g < 4; g++) {
    wIdx.push(ts.push({ name: `w${g}`, shape: [c.H, c.I], type: I8, quant: q(0.003 + 0.004 * r(), 0), data: Int8Array.from(ints(c.H * c.I, -127, 127, r)) }) - 1);
  }
  for (let g = 0; g < 4; g++) {
    rIdx.push(ts.push({ name: `r${g}`, shape: [c.H, c.H], type: I8, quant: q(0.003 + 0.004 * r(), 0), data: Int8Array.from(ints(c.H * c.H, -127, 127, r)) }) - 1);
  }
  for (let g = 0; g < 4; g++) bIdx.push(ts.push({ name: `b${g}`, shape: [c.H], type: I32, quant: q(sx * 0.005, 0), data: Int32Array.from(ints(c.H, -4000, 4000, r)) }) - 1);
  const peep = c.peephole ? ts.push({ name: 'peep', shape: [c.H], type: I8, quant: q(0.01, 0), data: Int8Array.from(ints(c.H, -127, 127, r)) }) - 1 : -1;
  const h = ts.push({ name: 'h', shape: [c.B, c.H], type: I8, quant: q(sh, c.zh), variable: true }) - 1;
  const cs = ts.push({ name: 'c', shape: [c.B, c.H], type: I16, quant: q(c.cellScale, 0), variable: true }) - 1;
  const y = ts.push({ name: 'y', shape: c.timeMajor ? [c.T, c.B, c.H] : [c.B, c.T, c.H], type: I8, quant: q(sh, c.zh) }) - 1;
  const inputs = [0, ...wIdx, ...rIdx, peep, peep, peep, ...bIdx, -1, -1, h, cs, -1, -1, -1, -1];
  return buildTflite(ts, [{ code: LSTM, inputs, outputs: [y], options: { type: 71, fields: [[0, 'i8', c.act], [1, 'f32', c.clip], [3, 'i8', c.timeMajor ? 1 : 0]] } }], [0], [y]);
}

let refBin = '';
const RUN = (HAVE_MODELS && HAVE_GXX) || !!process.env['CI'];
const GPU = RUN && (await gpuAvailable('int8 TFLite LSTM'));

/** The c target's outputs of `g` on `x` (host g++ build). */
async function runC(g: Graph, x: Tensor): Promise<number[]> {
  const art = emitC(g);
  const dir = writeTempArtifact(new Map<string, string | Uint8Array>([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]), 'edgec-tflstm-c-');
  try {
    return Array.from((await runCArtifact(dir, [x])).outputs[0]!.data as Int8Array);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
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

  for (const c of SMALL) {
    it(`${c.name}: ref, wasm, webgpu, c and the hls C simulation bit-exact with tflite-ref.cc`, async () => {
      const bytes = smallLstm(c);
      const g = importTflite(bytes);
      verify(g);
      const r = lcg(c.seed + 1);
      const shape = c.timeMajor ? [c.T, c.B, c.I] : [c.B, c.T, c.I];
      for (let trial = 0; trial < 3; trial++) {
        const v = ints(c.B * c.T * c.I, -128, 127, r);
        const x = Tensor.from('i8', shape, v);
        const want = oracleLstm(bytes, v);
        const got = Array.from(runGraph(g, [x])[0]!.data as Int8Array);
        expect(got, `trial ${trial}: ref vs tflite-ref.cc`).toEqual(want);
        expect(new Set(got).size, 'outputs vary').toBeGreaterThan(3);
        expect(Array.from((await runOnWasm(g, [x])).outputs[0]!.data as Int8Array), `trial ${trial}: wasm vs tflite-ref.cc`).toEqual(want);
        if (GPU) expect(Array.from((await runOnWebgpu(g, [x])).outputs[0]!.data as Int8Array), `trial ${trial}: webgpu vs tflite-ref.cc`).toEqual(want);
        if (trial > 0) continue;
        // one trial on the compiled targets (a g++ build each)
        expect(await runC(g, x), 'c vs tflite-ref.cc').toEqual(want);
        expect(Array.from((await csimVsRef(g, [x])).outputs[0]!.data as Int8Array), 'hls csim vs tflite-ref.cc').toEqual(want);
      }
    }, 120_000);
  }
  it('the integer LSTM refuses what TFLite Micro refuses (peepholes) in one typed line', () => {
    expect(() => importTflite(smallLstm({ ...SMALL[0]!, peephole: true }))).toThrow(/peepholes, projection or layer normalization/);
  });
});
