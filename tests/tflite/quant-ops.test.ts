/**
 * Quantized TFLite operators, one per model (written by build.ts with random scales, zero points,
 * int8 weights and int32 biases): edgec's import, reference interpreter and wasm target against
 * TFLite's integer kernels transcribed in C++ (tflite-ref.cc, bit for bit) and TFLite's own wasm
 * interpreter (oracle.ts: bit for bit where its XNNPACK delegate does not take the op, within 1
 * where it does), on seeded random int8 inputs; webgpu (SwiftShader) and the hls C simulation (the
 * c target's kernels) bit for bit with ref on every operator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTflite } from '../../compiler/frontends/tflite/index.js';
import { inferShapes, runGraph } from '../../compiler/interp/interp.js';
import { Graph } from '../../compiler/ir/graph.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { BOp, BTensor, buildTflite, smallQuantCnn } from './build.js';
import { HAVE_TFLITE, runTflite } from './oracle.js';
import { HAVE_GXX, buildRef, ints, lcg, refTensor, runRef } from './qref.js';
import { runOnWasm } from '../targets/wasm-helpers.js';
import { csimVsRef } from '../targets/hls-helpers.js';
import { gpuAvailable, runOnWebgpu } from '../targets/webgpu-helpers.js';

const I8 = 9;
const I32 = 2;

interface Case {
  name: string;
  /** Operator options as tflite-ref.cc reads them (padding, strides, ..., fused activation). */
  opts: number[];
  /** Whether TFLite's XNNPACK delegate takes the op (its fp32 requantization can differ by 1). */
  xnnpack: boolean;
  /** The delegate's requantization formula is not modelled here (only the bound of 1 is checked). */
  noFormula?: boolean;
  tensors: BTensor[];
  ops: BOp[];
  inputs: number[];
  outputs: number[];
}

const act = (name: string, shape: number[], scale: number, zp: number): BTensor => ({ name, shape, type: I8, quant: { scale: [scale], zeroPoint: [zp] } });

function cases(): Case[] {
  const r = lcg(7);
  const sc = (lo: number, hi: number) => lo + (hi - lo) * r();
  const out: Case[] = [];
  // CONV_2D: per-channel int8 filter (axis 0), int32 bias, stride 2, SAME, RELU6
  {
    const co = 5;
    const ws = Array.from({ length: co }, () => sc(0.002, 0.02));
    const xs = sc(0.02, 0.08);
    out.push({
      name: 'CONV_2D per-channel, stride 2 SAME, RELU6', opts: [0, 2, 2, 1, 1, 3], xnnpack: true,
      tensors: [
        act('x', [1, 9, 9, 3], xs, -7),
        { name: 'w', shape: [co, 3, 3, 3], type: I8, data: Int8Array.from(ints(co * 27, -127, 127, r)), quant: { scale: ws, zeroPoint: ws.map(() => 0), axis: 0 } },
        { name: 'b', shape: [co], type: I32, data: Int32Array.from(ints(co, -3000, 3000, r)), quant: { scale: ws.map((s) => s * xs), zeroPoint: ws.map(() => 0) } },
        act('y', [1, 5, 5, co], sc(0.01, 0.05), 11),
      ],
      ops: [{ code: 3, inputs: [0, 1, 2], outputs: [3], options: { type: 1, fields: [[0, 'i8', 0], [1, 'i32', 2], [2, 'i32', 2], [3, 'i8', 3]] } }],
      inputs: [0], outputs: [3],
    });
  }
  // DEPTHWISE_CONV_2D: depth multiplier 2, VALID, per-channel (axis 3)
  {
    const cm = 8;
    const ws = Array.from({ length: cm }, () => sc(0.005, 0.05));
    const xs = sc(0.02, 0.08);
    out.push({
      name: 'DEPTHWISE_CONV_2D multiplier 2, VALID', opts: [1, 1, 1, 1, 1, 0], xnnpack: true,
      tensors: [
        act('x', [1, 7, 6, 4], xs, 3),
        { name: 'w', shape: [1, 3, 3, cm], type: I8, data: Int8Array.from(ints(9 * cm, -127, 127, r)), quant: { scale: ws, zeroPoint: ws.map(() => 0), axis: 3 } },
        { name: 'b', shape: [cm], type: I32, data: Int32Array.from(ints(cm, -500, 500, r)), quant: { scale: ws.map((s) => s * xs), zeroPoint: ws.map(() => 0) } },
        act('y', [1, 5, 4, cm], sc(0.02, 0.1), -20),
      ],
      ops: [{ code: 4, inputs: [0, 1, 2], outputs: [3], options: { type: 2, fields: [[0, 'i8', 1], [1, 'i32', 1], [2, 'i32', 1], [3, 'i32', 2]] } }],
      inputs: [0], outputs: [3],
    });
  }
  // FULLY_CONNECTED: per-tensor int8 weights, RELU
  {
    const xs = sc(0.05, 0.2);
    const wsc = sc(0.003, 0.01);
    out.push({
      name: 'FULLY_CONNECTED per-tensor, RELU', opts: [1], xnnpack: true,
      tensors: [
        act('x', [2, 40], xs, 17),
        { name: 'w', shape: [12, 40], type: I8, data: Int8Array.from(ints(480, -127, 127, r)), quant: { scale: [wsc], zeroPoint: [0] } },
        { name: 'b', shape: [12], type: I32, data: Int32Array.from(ints(12, -4000, 4000, r)), quant: { scale: [wsc * xs], zeroPoint: [0] } },
        act('y', [2, 12], sc(0.05, 0.2), -30),
      ],
      ops: [{ code: 9, inputs: [0, 1, 2], outputs: [3], options: { type: 8, fields: [[0, 'i8', 1]] } }],
      inputs: [0], outputs: [3],
    });
  }
  // FULLY_CONNECTED with a multiplier above 1 (TFLite's left-shift path), uint8-style input zero point
  out.push({
    name: 'FULLY_CONNECTED multiplier > 1', opts: [0], xnnpack: true,
    tensors: [
      act('x', [8, 3], 0.05, 40),
      { name: 'w', shape: [6, 3], type: I8, data: Int8Array.from(ints(18, -2, 2, r)), quant: { scale: [0.03], zeroPoint: [0] } },
      { name: 'b', shape: [6], type: I32, data: Int32Array.from(ints(6, -40, 40, r)), quant: { scale: [0.0015], zeroPoint: [0] } },
      act('y', [8, 6], 0.001 * (0.6 + 0.2 * r()), -3),
    ],
    ops: [{ code: 9, inputs: [0, 1, 2], outputs: [3] }],
    inputs: [0], outputs: [3],
  });
  // QUANTIZE int8 -> int8 (requantization)
  out.push({
    name: 'QUANTIZE int8 -> int8', opts: [], xnnpack: true, noFormula: true,
    tensors: [act('x', [2, 50], sc(0.02, 0.1), 6), act('y', [2, 50], sc(0.01, 0.05), -9)],
    ops: [{ code: 114, inputs: [0], outputs: [1] }],
    inputs: [0], outputs: [1],
  });
  // PAD (the output zero point in the padding)
  {
    const s = sc(0.02, 0.1);
    out.push({
      name: 'PAD int8', opts: [], xnnpack: false,
      tensors: [act('x', [1, 3, 4, 2], s, 13), { name: 'p', shape: [4, 2], type: I32, data: Int32Array.from([0, 0, 1, 2, 2, 0, 0, 1]) }, act('y', [1, 6, 6, 3], s, 13)],
      ops: [{ code: 34, inputs: [0, 1], outputs: [2] }],
      inputs: [0], outputs: [2],
    });
  }
  // CONCATENATION on the channel axis, inputs with the output's quantization
  {
    const s = sc(0.02, 0.1);
    out.push({
      name: 'CONCATENATION int8', opts: [3], xnnpack: false,
      tensors: [act('a', [1, 3, 3, 2], s, -4), act('b', [1, 3, 3, 5], s, -4), act('y', [1, 3, 3, 7], s, -4)],
      ops: [{ code: 2, inputs: [0, 1], outputs: [2], options: { type: 10, fields: [[0, 'i32', 3]] } }],
      inputs: [0, 1], outputs: [2],
    });
  }
  // ADD: different input scales, broadcast-free, no activation
  out.push({
    name: 'ADD with different input scales', opts: [0], xnnpack: false,
    tensors: [act('a', [1, 4, 5, 3], sc(0.02, 0.1), -5), act('b', [1, 4, 5, 3], sc(0.02, 0.1), 9), act('y', [1, 4, 5, 3], sc(0.05, 0.15), 2)],
    ops: [{ code: 0, inputs: [0, 1], outputs: [2], options: { type: 11, fields: [[0, 'i8', 0]] } }],
    inputs: [0, 1], outputs: [2],
  });
  // AVERAGE_POOL_2D 3x3 stride 2 SAME (partial windows at the edges)
  {
    const s = sc(0.02, 0.1);
    out.push({
      name: 'AVERAGE_POOL_2D 3x3 stride 2 SAME', opts: [0, 2, 2, 3, 3, 0], xnnpack: false,
      tensors: [act('x', [1, 7, 8, 3], s, -12), act('y', [1, 4, 4, 3], s, -12)],
      ops: [{ code: 1, inputs: [0], outputs: [1], options: { type: 5, fields: [[0, 'i8', 0], [1, 'i32', 2], [2, 'i32', 2], [3, 'i32', 3], [4, 'i32', 3]] } }],
      inputs: [0], outputs: [1],
    });
  }
  // SOFTMAX over 10 classes, output scale 1/256, zero point -128 (as the converter writes)
  out.push({
    name: 'SOFTMAX int8', opts: [], xnnpack: false,
    tensors: [act('x', [3, 10], sc(0.02, 0.06), 4), act('y', [3, 10], 1 / 256, -128)],
    ops: [{ code: 25, inputs: [0], outputs: [1], options: { type: 9, fields: [[0, 'f32', 1]] } }],
    inputs: [0], outputs: [1],
  });
  return out;
}

/**
 * XNNPACK's QS8/QC8 requantization (fp32): clamp(roundHalfEven(f32(acc * f32(f32(sx * sw) / sy))) + zy),
 * from the raw int32 accumulators of the case's single QConv/QGemm (the node run with y_dtype i32).
 */
function xnnpackOutputs(g: Graph, c: Case, inputs: Tensor[]): number[] {
  const raw = g.clone();
  const n = [...raw.nodes.values()].find((m) => m.op === 'QConv' || m.op === 'QGemm')!;
  const lo = n.attrs['clamp_lo'] as number, hi = n.attrs['clamp_hi'] as number, zy = n.attrs['y_zero_point'] as number;
  n.attrs = { ...n.attrs, y_dtype: 'i32' };
  inferShapes(raw);
  const acc = runGraph(raw, inputs)[0]!;
  const [x, w, , y] = c.tensors;
  const f = Math.fround;
  const ws = w!.quant!.scale;
  const C = acc.shape[acc.shape.length - 1]!;
  return Array.from({ length: acc.size }, (_, i) => {
    const s = f(f(f(x!.quant!.scale[0]!) * f(ws[ws.length > 1 ? i % C : 0]!)) / f(y!.quant!.scale[0]!));
    const v = f(acc.get(i) * s);
    const r = Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
    return Math.min(hi, Math.max(lo, r + zy));
  });
}

/** tflite-ref.cc's output for a one-op case with its runtime inputs. */
function refRun(bin: string, c: Case, code: number, inputs: Map<number, number[]>): number[] {
  return runRef(bin, code, c.opts, c.tensors.map((t, i) => refTensor(t.shape, t.quant, t.data ?? inputs.get(i) ?? [])));
}

const RUN = HAVE_TFLITE || !!process.env['CI'];
const GPU = RUN && (await gpuAvailable('tflite quant-ops'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tfq-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.runIf(RUN)('quantized TFLite operators: edgec (reference interpreter) vs TFLite', () => {
  let refBin = '';
  beforeAll(() => {
    if (HAVE_GXX) refBin = buildRef(tmp);
  });
  it('the oracles are installed (TFLite wasm interpreter, g++ for tflite-ref.cc)', () => {
    expect(HAVE_TFLITE).toBe(true);
    // without g++ a user's run skips the tflite-ref.cc comparisons; CI must have it
    if (process.env['CI']) expect(HAVE_GXX).toBe(true);
  });
  for (const c of cases()) {
    it(`${c.name}: ref, wasm, webgpu and hls bit-exact with TFLite's integer kernels (tflite-ref.cc)${c.xnnpack ? ', within 1 of TFLite+XNNPACK' : ' and TFLite'}`, async () => {
      const bytes = buildTflite(c.tensors, c.ops, c.inputs, c.outputs);
      const file = path.join(tmp, `${c.name.split(' ')[0]}.tflite`);
      fs.writeFileSync(file, bytes);
      const g = importTflite(bytes);
      verify(g);
      const r = lcg(99);
      let xnnDiffs = 0;
      let total = 0;
      for (let trial = 0; trial < 4; trial++) {
        const raw = new Map<number, number[]>();
        const inputs = g.inputs.map((id, k) => {
          const t = g.typeOf(id);
          const n = (t.shape as number[]).reduce((p, q) => p * q, 1);
          const v = ints(n, -128, 127, r);
          raw.set(c.inputs[k]!, v);
          return Tensor.from('i8', t.shape as number[], v);
        });
        const got = runGraph(g, inputs)[0]!;
        expect(got.dtype).toBe('i8');
        const mine = Array.from(got.data as Int8Array);
        const w = (await runOnWasm(g, inputs)).outputs[0]!;
        expect(w.dtype).toBe('i8');
        expect(Array.from(w.data as Int8Array), `trial ${trial} wasm vs ref`).toEqual(mine);
        if (trial === 0 && GPU) expect(Array.from((await runOnWebgpu(g, inputs)).outputs[0]!.data as Int8Array), 'webgpu vs ref').toEqual(mine);
        if (trial === 0 && HAVE_GXX) {
          const hs = await csimVsRef(g, inputs);
          expect(Array.from(hs.outputs[0]!.data as Int8Array), 'hls C simulation vs ref').toEqual(mine);
        }
        if (refBin) {
          const ref = refRun(refBin, c, c.ops[0]!.code as number, raw);
          expect(mine, `trial ${trial} vs tflite-ref.cc`).toEqual(ref);
        }
        const want = (await runTflite(file, inputs))[0]!;
        expect(got.shape).toEqual(want.shape);
        const theirs = Array.from(want.data as Int8Array);
        if (!c.xnnpack) expect(mine, `trial ${trial} vs TFLite`).toEqual(theirs);
        else {
          mine.forEach((v, i) => expect(Math.abs(v - theirs[i]!), `trial ${trial} element ${i} vs TFLite+XNNPACK`).toBeLessThanOrEqual(1));
          xnnDiffs += mine.filter((v, i) => v !== theirs[i]).length;
          // the differences are XNNPACK's fp32 requantization: TFLite's outputs follow it exactly
          if (!c.noFormula) expect(theirs, `trial ${trial}: TFLite+XNNPACK vs its fp32 requantization`).toEqual(xnnpackOutputs(g, c, inputs));
          total += theirs.length;
        }
      }
      if (c.xnnpack) console.log(`${c.name}: ${xnnDiffs} of ${total} outputs differ by 1 from TFLite+XNNPACK${c.noFormula ? '' : ', whose outputs all follow its fp32 requantization'}`);
    });
  }
  it('an int8 CNN (CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX; the tflite fuzz seed): wasm == webgpu == hls C simulation == ref, top class == TFLite', async () => {
    const bytes = smallQuantCnn();
    const file = path.join(tmp, 'small-quant-cnn.tflite');
    fs.writeFileSync(file, bytes);
    const g = importTflite(bytes);
    verify(g);
    const r = lcg(5);
    for (let trial = 0; trial < 3; trial++) {
      const x = Tensor.from('i8', [1, 6, 6, 2], ints(72, -128, 127, r));
      const got = Array.from(runGraph(g, [x])[0]!.data as Int8Array);
      expect(Array.from((await runOnWasm(g, [x])).outputs[0]!.data as Int8Array)).toEqual(got);
      if (trial === 0 && GPU) expect(Array.from((await runOnWebgpu(g, [x])).outputs[0]!.data as Int8Array), 'webgpu vs ref').toEqual(got);
      if (trial === 0 && HAVE_GXX) {
        // the hls kernels (which the c target runs too) in the C simulation
        const hs = await csimVsRef(g, [x]);
        expect(Array.from(hs.outputs[0]!.data as Int8Array), 'hls C simulation vs ref').toEqual(got);
      }
      const want = Array.from((await runTflite(file, [x]))[0]!.data as Int8Array);
      const top = (v: number[]) => v.indexOf(Math.max(...v));
      expect(top(got)).toBe(top(want));
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(8));
    }
  });
  it('DEQUANTIZE of an int8 value: ref, wasm, webgpu and hls == TFLite (float32, bit for bit)', async () => {
    const bytes = buildTflite([act('x', [2, 30], 0.0371, -7), { name: 'y', shape: [2, 30] }], [{ code: 6, inputs: [0], outputs: [1] }], [0], [1]);
    const file = path.join(tmp, 'dequantize.tflite');
    fs.writeFileSync(file, bytes);
    const g = importTflite(bytes);
    verify(g);
    const x = Tensor.from('i8', [2, 30], ints(60, -128, 127, lcg(3)));
    const want = Array.from((await runTflite(file, [x]))[0]!.data as Float32Array);
    const got = runGraph(g, [x])[0]!;
    expect(got.dtype).toBe('f32');
    expect(Array.from(got.data as Float32Array)).toEqual(want);
    expect(Array.from((await runOnWasm(g, [x])).outputs[0]!.data as Float32Array)).toEqual(want);
    if (GPU) expect(Array.from((await runOnWebgpu(g, [x])).outputs[0]!.data as Float32Array), 'webgpu').toEqual(want);
    if (HAVE_GXX) expect(Array.from((await csimVsRef(g, [x])).outputs[0]!.data as Float32Array), 'hls C simulation').toEqual(want);
  });
});
