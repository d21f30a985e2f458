/**
 * --int8 on recurrent layers (quantize/qdq.ts recurrentWeight, targets/wasm/ops/rnn.ts int8 blobs):
 * LSTM/GRU/RNN gate matrices W and R become int8 per gate row (weight-only; the recurrence stays
 * float).
 * - Quantized graph vs reference semantics: the quantizer's int8 values and scales equal an
 *   independent per-row symmetric quantization (scale = fround(max|row| / 127), q = round half even),
 *   and the quantized graph computes exactly the float graph with the dequantized weights.
 * - wasm artifact (int8 bytes + scales in model.wasm, expanded at instantiation) vs the reference
 *   interpreter on the quantized graph (rtol 1e-5), over packed / unpacked / split-GRU / bidirectional
 *   weight layouts; model.wasm shrinks by about 3x for these weights.
 * - The exported QDQ model.onnx runs on onnxruntime-node with the same outputs.
 * - Accuracy of a sequence classifier (x [8, 50, 16] -> LSTM H=64 -> Gemm 10 classes, random fixed
 *   weights) under --int8 against float on random inputs: top-1 agreement and output SNR.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { roundHalfEven } from '../../compiler/ir/dtype.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { quantizeModel } from '../../quantize/index.js';
import { emitWasm } from '../../targets/wasm/emit.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { ortSession, runOrt } from '../models/harness.js';
import { randomTensor } from '../targets/wasm-helpers.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Case {
  kind: Kind;
  direction?: 'forward' | 'bidirectional';
  H: number;
  I?: number;
  S?: number;
  B?: number;
  lbr?: boolean;
  /** classifier head: Gemm over Y_h (else the recurrent outputs are the graph outputs) */
  head?: number;
}

/**
 * Graph of a case (float weights from fixed seeds) and its W / R tensors: layout 0 (x [S, B, I],
 * what onnxruntime supports) for a bare recurrent layer, layout 1 (x [B, S, I]) for the classifier.
 */
function build(cs: Case, seed: number, weights?: { W: Tensor; R: Tensor }): { g: Graph; W: Tensor; R: Tensor } {
  const { kind, direction = 'forward', H, I = 16, S = 12, B = 4 } = cs;
  const D = direction === 'bidirectional' ? 2 : 1;
  const G = GATES[kind];
  const b = new GraphBuilder(`${kind}_int8`, { '': 17 });
  const layout = cs.head === undefined ? 0 : 1;
  const x = b.input('x', 'f32', layout === 0 ? [S, B, I] : [B, S, I]);
  const sc = 1 / Math.sqrt(H);
  const W = weights?.W ?? randomTensor([D, G * H, I], seed + 1, -sc, sc);
  const R = weights?.R ?? randomTensor([D, G * H, H], seed + 2, -sc, sc);
  const bias = b.const('B', randomTensor([D, 2 * G * H], seed + 3, -0.3, 0.3));
  const attrs: Record<string, AttrValue> = { direction, layout, hidden_size: H };
  if (cs.lbr) attrs.linear_before_reset = 1;
  const nOut = kind === 'LSTM' ? 3 : 2;
  const outs = b.nodeN(kind, [x, b.const('W', W), b.const('R', R), bias], nOut, attrs, { name: 'rec' });
  if (cs.head === undefined) {
    b.output(outs[0]!, outs[1]!);
  } else {
    const flat = b.node('Reshape', [outs[1]!, b.const('shape', Tensor.from('i64', [2], [B, D * H]))]);
    const wh = b.const('Wh', randomTensor([cs.head, D * H], seed + 4, -0.3, 0.3));
    const bh = b.const('bh', randomTensor([cs.head], seed + 5, -0.1, 0.1));
    b.output(b.node('Gemm', [flat, wh, bh], { transB: 1 }, { name: 'head' }));
  }
  return { g: b.build(), W, R };
}

/** Independent per-row symmetric int8 quantization of [D, GH, K]: values and dequantized f32. */
function rowQuant(t: Tensor): { q: Int8Array; scales: Float32Array; deq: Tensor } {
  const K = t.shape[2]!;
  const rows = t.size / K;
  const d = t.data as Float32Array;
  const q = new Int8Array(t.size);
  const scales = new Float32Array(rows);
  const deq = new Float32Array(t.size);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(d[r * K + k]!));
    const s = m > 0 ? Math.fround(m / 127) : 1;
    scales[r] = s;
    for (let k = 0; k < K; k++) {
      const v = Math.max(-127, Math.min(127, roundHalfEven(d[r * K + k]! / s)));
      q[r * K + k] = v;
      deq[r * K + k] = Math.fround(v * s);
    }
  }
  return { q, scales, deq: new Tensor('f32', t.shape, deq) };
}

/** n model inputs' worth of data along axis 0 (layout 0: n sequences of S steps of [B, I]). */
const xs = (cs: Case, n: number, seed: number): Tensor =>
  cs.head === undefined ? randomTensor([n * (cs.S ?? 12), cs.B ?? 4, cs.I ?? 16], seed) : randomTensor([n * (cs.B ?? 4), cs.S ?? 12, cs.I ?? 16], seed);
/** The k-th model input of such data. */
const inputAt = (cs: Case, t: Tensor, k: number): Tensor => batch(t, k * (cs.head === undefined ? cs.S ?? 12 : cs.B ?? 4), cs.head === undefined ? cs.S ?? 12 : cs.B ?? 4);

/** Quantizes a case's graph (after the wasm pipeline) with 32 calibration samples. */
function quantize(cs: Case, seed = 11) {
  const { g, W, R } = build(cs, seed);
  optimize(g, { target: 'wasm' });
  const calib = xs(cs, 8, seed + 100);
  return { g, W, R, r: quantizeModel(g, { mode: 'int8', calib: [calib], explain: true }) };
}

/**
 * Emits the wasm artifact of an (already optimized) graph, loads it; returns runner, model.wasm bytes
 * and its data bytes (model.wasm minus code: the kernels an int8 graph links differ from fp32's).
 */
async function artifact(g: Graph, precision: 'fp32' | 'int8') {
  const art = emitWasm(g, { precision });
  const dir = writeTempArtifact(art.files);
  try {
    const model = await loadWasmArtifact(dir);
    const wasmBytes = (art.files.get('model.wasm') as Uint8Array).length;
    return { run: (x: Tensor) => runWasmModel(model, [x]), wasmBytes, dataBytes: wasmBytes - art.stats.codeBytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function batch(t: Tensor, i: number, B: number): Tensor {
  const per = t.size / t.shape[0]!;
  return new Tensor('f32', [B, ...t.shape.slice(1)], (t.data as Float32Array).slice(i * per, (i + B) * per));
}

const CASES: Case[] = [
  { kind: 'LSTM', H: 16 }, // packed panels (GH >= 8, H >= 8; batch 4: R on the GEMM path)
  { kind: 'LSTM', H: 4, I: 5 }, // R unpacked (H < 8)
  { kind: 'GRU', H: 12 }, // split R ([0, 2H) and [2H, 3H) packed apart)
  { kind: 'LSTM', H: 40, B: 1 }, // batch < 4: R in the recurrent GEMV's 28-column chunks (GH = 160, a ragged last chunk)
  { kind: 'GRU', H: 12, B: 2 }, // split R in GEMV chunks ([0, 2H) and [2H, 3H) chunked apart)
  { kind: 'GRU', H: 10, lbr: true, direction: 'bidirectional' }, // per-direction scales through Reshape
  { kind: 'RNN', H: 6, I: 3 }, // tiny: W and R stay f32 in model.wasm
  { kind: 'RNN', H: 7, I: 64 }, // GH < 8: W unpacked ([K, GH]) int8
  { kind: 'GRU', H: 6, I: 40 }, // R unpacked (H < 8) int8, W packed
  { kind: 'RNN', H: 20, direction: 'bidirectional' },
];
const label = (cs: Case) => JSON.stringify(cs).replace(/"/g, '');

describe('--int8 recurrent gate matrices (weight-only, per gate row)', () => {
  for (const cs of CASES) {
    describe(label(cs), () => {
      it('quantizer: int8 W/R per row; the graph computes the float model with the dequantized weights exactly', () => {
        const { W, R, r } = quantize(cs);
        const q = r.graph;
        const rec = q.orderedNodes().find((n) => n.op === cs.kind)!;
        expect(rec).toBeDefined();
        expect(r.summary.layers.find((l) => l.op === cs.kind)?.mode).toBe('weight-only');
        expect(r.summary.floatIslands.some((l) => l.op === cs.kind)).toBe(false);
        // the int8 constants behind the DequantizeLinear feeding W and R
        for (const [k, t] of [[1, W], [2, R]] as const) {
          let p = q.producerOf(rec.inputs[k]!)!;
          if (p.op === 'Reshape') p = q.producerOf(p.inputs[0]!)!;
          expect(p.op).toBe('DequantizeLinear');
          const qt = q.constOf(p.inputs[0])!;
          expect(qt.dtype).toBe('i8');
          const want = rowQuant(t);
          expect(Array.from(qt.data as Int8Array)).toEqual(Array.from(want.q));
          const st = q.constOf(p.inputs[1])!;
          expect(Array.from(st.data as Float32Array)).toEqual(Array.from(want.scales));
        }
        // quantized graph == float graph with the dequantized weights, bit for bit
        const ref = build(cs, 11, { W: rowQuant(W).deq, R: rowQuant(R).deq }).g;
        const x = inputAt(cs, xs(cs, 1, 5), 0);
        const got = runGraph(q, [x]);
        const want = runGraph(ref, [x]);
        want.forEach((w, i) => expect(compareTensors(got[i]!, w, { rtol: 0, atol: 0 }), `output ${i}`).toBeNull());
        // --explain has a row for the recurrent layer
        expect(r.explain?.some((e) => e.node === rec.name && e.op === cs.kind)).toBe(true);
      });

      it('wasm artifact (int8 weights in model.wasm) == reference on the quantized graph (rtol 1e-5); model.onnx on ORT', async () => {
        const { g, r } = quantize(cs);
        const f = await artifact(g, 'fp32');
        const a = await artifact(r.graph, 'int8');
        const x = inputAt(cs, xs(cs, 1, 9), 0);
        const want = runGraph(r.graph, [x]);
        const got = a.run(x);
        want.forEach((w, i) => expect(compareTensors(got[i]!, w, { rtol: 1e-5, atol: 1e-6 }), `wasm output ${i}`).toBeNull());
        const sess = await ortSession(exportOnnx(r.qdq));
        const ort = await runOrt(sess, [x]);
        want.forEach((w, i) => expect(compareTensors(ort[i]!, w, { rtol: 1e-4, atol: 1e-5 }), `ORT output ${i}`).toBeNull());
        // weight bytes: f32 -> int8 + one f32 scale per row
        const D = cs.direction === 'bidirectional' ? 2 : 1;
        const GH = GATES[cs.kind] * cs.H;
        const wFloats = D * GH * ((cs.I ?? 16) + cs.H);
        const int8Blobs = lowerGraph(r.graph).codecs.filter((k) => k?.kind === 'int8').length;
        console.log(`${label(cs)}: model.wasm ${f.wasmBytes} -> ${a.wasmBytes} bytes (W+R f32 ${wFloats * 4} bytes, ${int8Blobs} int8 blobs)`);
        // (tiny matrices stay f32 in model.wasm: the expansion's parameters and code cost more)
        if (wFloats >= 1024) expect(int8Blobs).toBeGreaterThan(0);
        if (wFloats >= 1024) expect(f.wasmBytes - a.wasmBytes).toBeGreaterThan(wFloats * 4 * 0.5);
        else expect(a.wasmBytes).toBeLessThanOrEqual(f.wasmBytes + 512);
      }, 60_000);
    });
  }

  it('keepFloat names a recurrent layer: its W and R stay f32 and it is a float island', () => {
    const cs: Case = { kind: 'LSTM', H: 16 };
    const { g } = build(cs, 11);
    optimize(g, { target: 'wasm' });
    const r = quantizeModel(g, { mode: 'int8', calib: [xs(cs, 4, 3)], keepFloat: ['rec'] });
    const rec = r.graph.orderedNodes().find((n) => n.op === 'LSTM')!;
    expect(r.graph.constOf(rec.inputs[1])?.dtype).toBe('f32');
    expect(r.graph.constOf(rec.inputs[2])?.dtype).toBe('f32');
    expect(r.summary.floatIslands).toEqual([{ node: 'rec', op: 'LSTM' }]);
  });

  it('sequence classifier x[8,50,16] -> LSTM H=64 -> Gemm 10: --int8 vs float (top-1, SNR, model.wasm size)', async () => {
    const cs: Case = { kind: 'LSTM', H: 64, I: 16, S: 50, B: 8, head: 10 };
    const { g } = build(cs, 21);
    optimize(g, { target: 'wasm' });
    const r = quantizeModel(g, { mode: 'int8', calib: [xs(cs, 8, 300)], explain: true });
    expect(r.summary.layers.find((l) => l.op === 'LSTM')?.mode).toBe('weight-only');
    expect(r.summary.layers.find((l) => l.node === 'head')?.mode).toBe('int8');
    const f = await artifact(g, 'fp32');
    const a = await artifact(r.graph, 'int8');
    const test = xs(cs, 32, 777);
    let agree = 0;
    let sig = 0;
    let noise = 0;
    let agreeWasm = 0;
    for (let i = 0; i < 256; i += 8) {
      const x = batch(test, i, 8);
      const [fo] = runGraph(g, [x]);
      const [qo] = runGraph(r.graph, [x]);
      const [wo] = a.run(x);
      const fd = fo!.data as Float32Array, qd = qo!.data as Float32Array, wd = wo!.data as Float32Array;
      for (let s = 0; s < 8; s++) {
        const am = (d: Float32Array) => {
          let best = 0;
          for (let j = 1; j < 10; j++) if (d[s * 10 + j]! > d[s * 10 + best]!) best = j;
          return best;
        };
        if (am(fd) === am(qd)) agree++;
        if (am(wd) === am(qd)) agreeWasm++;
      }
      for (let j = 0; j < fd.length; j++) {
        sig += fd[j]! ** 2;
        noise += (fd[j]! - qd[j]!) ** 2;
      }
    }
    const snr = 10 * Math.log10(sig / noise);
    const lstmRow = r.explain?.find((e) => e.op === 'LSTM');
    console.log(`LSTM classifier --int8 vs float over 256 random sequences: top-1 agreement ${(agree / 256).toFixed(4)}, output SNR ${snr.toFixed(2)} dB; ` +
      `wasm vs reference top-1 ${(agreeWasm / 256).toFixed(4)}; LSTM explain SNR ${lstmRow?.snrDb.toFixed(2)} dB; ` +
      `weight bytes ${r.summary.weightBytesBefore} -> ${r.summary.weightBytesAfter}; model.wasm ${f.wasmBytes} -> ${a.wasmBytes} bytes`);
    expect(agree / 256).toBeGreaterThanOrEqual(0.95);
    expect(snr).toBeGreaterThanOrEqual(30);
    expect(agreeWasm / 256).toBeGreaterThanOrEqual(0.99);
    expect(lstmRow).toBeDefined();
    // W + R: 256 * (16 + 64) f32 bytes -> 1 byte each + 2 * 256 f32 scales (the Gemm head: 640 weights)
    const wrBytes = 256 * (16 + 64) * 4;
    expect(f.dataBytes - a.dataBytes).toBeGreaterThan(0.7 * wrBytes);
  }, 120_000);
});
