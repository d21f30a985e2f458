/**
 * int8 wasm kernels (runtime-wasm/assembly/int8.ts via targets/wasm/ops/qint.ts) against the
 * reference interpreter running the same integer graph: outputs must be identical bit for bit.
 * Graphs: f32 input -> QuantizeLinear -> integer op(s) -> DequantizeLinear (scale 1, zero point 0,
 * so the f32 output is the integer result itself) -> f32 output.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel } from '../../quantize/index.js';
import { argmaxRows, loadForInputs, readPb, sliceBatch, uniform } from '../models/harness.js';
import { emitWasm } from '../../targets/wasm/emit.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { QFLAG } from '../../targets/wasm/ops/qint.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { quantizeMultipliers } from '../../compiler/ops/qint.js';
import { runOnWasm } from './wasm-helpers.js';
import { ConvCase, XS, convGraph, finish, fixedStage, input, quantIn, randInts, rng, spread } from './int8-graphs.js';
import { MODELS_DIR } from '../models/harness.js';
import { qbinaryCases, qconvTieCases, qdqCases, qgemmGraph, qgemmWrapCase, qmoveCases, qpoolCases, requantizerTieCases, sameAs } from './int8-cases.js';
import { tfliteArithmeticCases } from './int8-tflite-cases.js';

/** Runs both and requires identical bits; returns the reference outputs. */
const same = sameAs(async (g, inputs) => (await runOnWasm(g, inputs)).outputs);

const convCases: ConvCase[] = [
  { name: '3x3 pad 1, C 5 -> 7', x: [1, 5, 9, 11], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'K = 27 (first layer), stride 2, i8 in/out', x: [1, 3, 13, 12], w: [10, 3, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'stride 2 over wide rows (vector im2col), odd width', x: [1, 3, 20, 37], w: [8, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 0, 1, 1] } },
  { name: 'stride 2 + dilation 2 + asymmetric pads', x: [1, 4, 13, 10], w: [6, 4, 3, 2], attrs: { strides: [2, 1], dilations: [2, 2], pads: [1, 0, 2, 1] } },
  { name: 'pointwise 1x1, odd channels, P = 35', x: [1, 17, 7, 5], w: [9, 17, 1, 1], xdt: 'i8' },
  { name: 'pointwise 1x1, tiled (P = 600), clamp', x: [1, 8, 20, 30], w: [12, 8, 1, 1], clamp: [-100, 90], ydt: 'i8' },
  // ragged 8-lane stores that spill onto output written later (one tile, tiles, groups, tiny planes)
  { name: 'pointwise 1x1 on 1x3 planes (one block spans channels)', x: [1, 5, 1, 3], w: [7, 5, 1, 1], ydt: 'i8' },
  { name: 'pointwise 1x1 grouped, tiled with ragged tiles (50x7)', x: [1, 6, 50, 7], w: [9, 2, 1, 1], attrs: { group: 3 } },
  { name: 'pointwise 1x1 tiled, last tile < 8 values (87x3)', x: [1, 4, 87, 3], w: [6, 4, 1, 1], clamp: [10, 240] },
  { name: '3x3 s2 im2col on 3x3 output, 11 channels', x: [1, 4, 6, 5], w: [11, 4, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 on 25x5 (dscnn rows), i8', x: [1, 6, 25, 5], w: [6, 1, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { group: 6, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 s2 on 3x3 -> 2x2, then widths 1..9', x: [1, 9, 3, 3], w: [9, 1, 3, 3], attrs: { group: 9, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 strides (2, 1), i8 in', x: [1, 5, 12, 11], w: [5, 1, 3, 3], xdt: 'i8', attrs: { group: 5, strides: [2, 1], pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 strides (1, 2), odd plane', x: [1, 5, 9, 15], w: [5, 1, 3, 3], attrs: { group: 5, strides: [1, 2], pads: [1, 0, 1, 1] } },
  { name: 'depthwise 4x3 strides (4, 2), dilation (3, 1) (general path, even stride)', x: [1, 3, 23, 14], w: [3, 1, 4, 3], attrs: { group: 3, strides: [4, 2], dilations: [3, 1], pads: [2, 1, 1, 0] } },
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((wd): ConvCase => ({ name: `depthwise 3x3 p1 width ${wd}`, x: [1, 3, 4, wd], w: [3, 1, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] } })),
  { name: 'grouped (g = 3)', x: [1, 6, 8, 9], w: [9, 2, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 s1 p1', x: [1, 13, 10, 19], w: [13, 1, 3, 3], attrs: { group: 13, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 s2 p1, i8', x: [1, 9, 15, 17], w: [9, 1, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { group: 9, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'depthwise 5x5 dilation 2, no bias', x: [1, 5, 14, 14], w: [5, 1, 5, 5], noBias: true, attrs: { group: 5, dilations: [2, 2], pads: [4, 4, 4, 4] } },
  { name: 'depthwise 5x3 s2, dilation (2, 1), even-row pairs', x: [1, 6, 17, 29], w: [6, 1, 5, 3], attrs: { group: 6, strides: [2, 2], dilations: [2, 1], pads: [2, 1, 3, 0] } },
  { name: 'depthwise 2x2 s1 (KH even), i8 in', x: [1, 7, 9, 21], w: [7, 1, 2, 2], xdt: 'i8', attrs: { group: 7 } },
  { name: 'depthwise 3x3 s2 d2 (3x3 fast path, dilated)', x: [1, 3, 19, 26], w: [3, 1, 3, 3], attrs: { group: 3, strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2] } },
  { name: 'depthwise 3x3 on 6x6 (row shorter than 8 lanes), u8 clamp', x: [1, 10, 6, 6], w: [10, 1, 3, 3], clamp: [7, 201], attrs: { group: 10, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 s2 on 7x13, i8 clamp', x: [1, 5, 7, 13], w: [5, 1, 3, 3], xdt: 'i8', ydt: 'i8', clamp: [-90, 100], attrs: { group: 5, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'depthwise stride 3 (general path)', x: [1, 4, 11, 11], w: [4, 1, 3, 3], attrs: { group: 4, strides: [3, 3], pads: [1, 1, 1, 1] } },
  { name: 'large tile 3x3 (OH*OW = 1024)', x: [1, 6, 32, 32], w: [16, 6, 3, 3], attrs: { pads: [1, 1, 1, 1] }, clamp: [0, 255] },
  { name: 'u8 weights, per-channel zero points, float rq', x: [1, 5, 8, 7], w: [6, 5, 3, 3], wdt: 'u8', wzp: 'per-channel', float: true, attrs: { pads: [0, 1, 1, 0] } },
  { name: 'i8 weights, per-channel zp, fixed rq', x: [1, 7, 6, 6], w: [5, 7, 2, 2], wzp: 'per-channel', xdt: 'i8' },
  // integer Winograd F(2x2, 3x3) (qconv_wino_i8): 3x3 stride 1, C and M >= 8
  { name: 'Winograd: C 9 -> 10 (odd C), 13x11, pad 1', x: [1, 9, 13, 11], w: [10, 9, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'Winograd: i8 in/out, C 16 -> 12, asymmetric pads, clamp', x: [1, 16, 8, 9], w: [12, 16, 3, 3], xdt: 'i8', ydt: 'i8', clamp: [-70, 110], attrs: { pads: [0, 1, 2, 0] } },
  { name: 'Winograd: several chunks (40x20), batch 2, no pads', x: [2, 8, 40, 20], w: [9, 8, 3, 3], noBias: true },
  { name: 'Winograd: u8 weights, per-channel zp, float rq', x: [1, 8, 7, 6], w: [8, 8, 3, 3], wdt: 'u8', wzp: 'per-channel', float: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: 'batch 2', x: [2, 3, 6, 7], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: '1-D conv', x: [1, 6, 29], w: [5, 6, 3], attrs: { pads: [1, 1], strides: [2] } },
];

describe('wasm int8: QConv == reference, bit for bit', () => {
  convCases.forEach((cs, i) => {
    it(cs.name, async () => {
      const { g, x } = convGraph(cs, 100 + i * 10);
      // the Winograd cases really take the Winograd kernel (its overflow bound holds for them)
      expect(lowerGraph(g).steps.some((st) => st.kernel === 'qconv_wino_i8')).toBe(cs.name.startsWith('Winograd'));
      const [want] = await same(g, [x]);
      expect(spread(want!)).toBeGreaterThan(8);
    });
  });
  it('y_dtype i32 (raw accumulator) then Requantize from int32', async () => {
    const { g, x } = convGraph(convCases[1]!, 7, true);
    await same(g, [x]);
  });
  it('Winograd with y_dtype i32 (raw accumulator) then Requantize', async () => {
    const { g, x } = convGraph(convCases.find((cs) => cs.name.startsWith('Winograd: C 9'))!, 8, true);
    await same(g, [x]);
  });
  qconvTieCases(same);
});

/**
 * Channels-last chains: producer QConv (im2col or pointwise GEMM path) -> depthwise QConv -> pointwise
 * QConv. With a shared shift >= 32, 8-bit output, OW <= 16 and C >= 16, the depthwise conv runs
 * channels-last (qdw_nhwc_i8) and its neighbours write / read that layout (qconv_i8 layout bits).
 */
interface ChainCase {
  name: string;
  x: number[];
  /** producer: 'pw' (1x1) or 'conv' (3x3 stride 2, im2col) */
  first: 'pw' | 'conv';
  C: number;
  dw: Record<string, AttrValue> & { kernel: number[] };
  xdt?: 'u8' | 'i8';
  ydt?: 'u8' | 'i8';
  clamp?: [number, number];
  /** depthwise output stage with per-channel shifts (stays NCHW) */
  ownShifts?: boolean;
  /** producer group count (pointwise producer) */
  group?: number;
  /** the depthwise input is also a graph output (through DequantizeLinear) */
  tapDwInput?: boolean;
}

const chainCases: ChainCase[] = [
  { name: 'pw -> dw 3x3 p1 -> pw, C 16, 12x12', x: [1, 8, 12, 12], first: 'pw', C: 16, dw: { kernel: [3, 3], pads: [1, 1, 1, 1] } },
  { name: 'conv s2 (im2col, channels-last out) -> dw 3x3 s2 -> pw, C 24, i8', x: [1, 3, 25, 21], first: 'conv', C: 24, xdt: 'i8', ydt: 'i8',
    dw: { kernel: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: 'C 20 (partial channel block), dw 3x3 p1 on 7x5, clamp', x: [1, 6, 7, 5], first: 'pw', C: 20, clamp: [30, 220], dw: { kernel: [3, 3], pads: [1, 1, 1, 1] } },
  { name: 'C 35, dw 5x5 dilation 2, asymmetric pads (general tap loop)', x: [1, 5, 11, 9], first: 'pw', C: 35,
    dw: { kernel: [5, 5], dilations: [2, 2], pads: [3, 4, 2, 1] } },
  { name: 'C 16, dw 2x3 strides (2, 1), no padding, batch 2', x: [2, 7, 10, 8], first: 'pw', C: 16, dw: { kernel: [2, 3], strides: [2, 1] } },
  { name: 'C 17, dw 3x3 p1 on 1x1 plane (all padding but the centre)', x: [1, 4, 1, 1], first: 'pw', C: 17, dw: { kernel: [3, 3], pads: [1, 1, 1, 1] } },
  { name: '1-D: pw -> dw k5 p2 -> pw, C 32, L 14, i8 in', x: [1, 9, 14], first: 'pw', C: 32, xdt: 'i8', dw: { kernel: [5], pads: [2, 2] } },
  { name: 'grouped pointwise producer (g 2), C 24', x: [1, 6, 9, 9], first: 'pw', group: 2, C: 24, dw: { kernel: [3, 3], pads: [1, 1, 1, 1] } },
  { name: 'per-channel shifts: the depthwise conv stays NCHW', x: [1, 8, 12, 12], first: 'pw', C: 16, ownShifts: true, dw: { kernel: [3, 3], pads: [1, 1, 1, 1] } },
];

/** Output stage with one shift shared by all M channels (quantizeMultipliers) around m. */
function sharedStage(M: number, m: number, seed: number): Record<string, AttrValue> {
  const r = rng(seed);
  return quantizeMultipliers(Array.from({ length: M }, () => m * 2 ** (2 * r() - 1)));
}

function chainGraph(cs: ChainCase, seed: number): { g: Graph; x: Tensor } {
  const xdt = cs.xdt ?? 'u8';
  const ydt = cs.ydt ?? 'u8';
  const zx = xdt === 'u8' ? 131 : -7;
  const { b, x } = quantIn(cs.x, xdt, zx);
  const nd = cs.x.length - 2;
  const C = cs.C;
  const zy = ydt === 'u8' ? 120 : 3;
  const out = (M: number, K: number, s: number, own = false): Record<string, AttrValue> => ({
    ...(own ? fixedStage(M, 60 / (128 * 70 * Math.sqrt(K)), s) : sharedStage(M, 60 / (128 * 70 * Math.sqrt(K)), s)),
    y_dtype: ydt, y_zero_point: zy, ...(cs.clamp ? { clamp_lo: cs.clamp[0], clamp_hi: cs.clamp[1] } : {}),
  });
  const conv = (v: ValueId, xz: number, M: number, wshape: number[], attrs: Record<string, AttrValue>, s: number, own = false): ValueId => {
    const K = wshape.slice(1).reduce((p, q) => p * q, 1);
    const w = b.const(`w${s}`, 'i8', wshape, randInts(M * K, -127, 127, s));
    const bias = b.const(`b${s}`, 'i32', [M], randInts(M, -20000, 20000, s + 1));
    return b.node('QConv', [v, w, bias], { ...attrs, x_zero_point: xz, w_zero_point: [0], ...out(M, K, s + 2, own) }, { domain: 'edgec' });
  };
  const Cin = cs.x[1]!;
  const ones = (k: number) => Array.from({ length: nd }, () => k);
  const g0 = cs.group ?? 1;
  const y0 = cs.first === 'pw'
    ? conv(x, zx, C, [C, Cin / g0, ...ones(1)], { group: g0 }, seed)
    : conv(x, zx, C, [C, Cin, ...ones(3)], { strides: ones(2), pads: ones(1).concat(ones(1)) }, seed);
  const { kernel, ...dwAttrs } = cs.dw;
  const y1 = conv(y0, zy, C, [C, 1, ...kernel], { ...dwAttrs, group: C }, seed + 10, cs.ownShifts);
  const y2 = conv(y1, zy, 11, [11, C, ...ones(1)], {}, seed + 20);
  return { g: finish(b, cs.tapDwInput ? [y2, y0] : [y2]), x: input(cs.x, seed, XS) };
}

describe('wasm int8: channels-last depthwise chains == reference, bit for bit', () => {
  chainCases.forEach((cs, i) => {
    it(cs.name, async () => {
      const { g, x } = chainGraph(cs, 500 + i * 37);
      const steps = lowerGraph(g).steps;
      const nhwc = steps.filter((st) => st.kernel === 'qdw_nhwc_i8').length;
      expect(nhwc).toBe(cs.ownShifts ? 0 : 1);
      // qconv_i8's layout word (the last): producer writes channels-last (2), consumer reads it (1)
      const layouts = steps.filter((st) => st.kernel === 'qconv_i8').map((st) => (st.words[st.words.length - 1] as { v: number }).v);
      expect(layouts).toEqual(cs.ownShifts ? [0, 0, 0] : [2, 1]);
      const [want] = await same(g, [x]);
      expect(spread(want!)).toBeGreaterThan(8);
    });
  });
  it('a channels-last candidate read by another op (DequantizeLinear to an output) stays NCHW', async () => {
    const { g, x } = chainGraph({ ...chainCases[0]!, tapDwInput: true }, 77);
    expect(lowerGraph(g).steps.some((st) => st.kernel === 'qdw_nhwc_i8')).toBe(false);
    await same(g, [x]);
  });
});

describe('wasm int8: TFLite integer arithmetic (rq_mode tflite, QSoftmax, TflQuantize)', () => {
  tfliteArithmeticCases(same);
});

describe('wasm int8: rounding ties in the scalar and vector requantizers', () => {
  requantizerTieCases(same);
});

describe('wasm int8: QGemm', () => {
  for (const [transB, xdt, R, K, N] of [[0, 'u8', 3, 37, 11], [1, 'i8', 1, 64, 10], [1, 'u8', 5, 8, 4], [0, 'i8', 2, 129, 33]] as const) {
    it(`trans_b ${transB}, ${xdt}, [${R}x${K}] x [${K}x${N}]`, async () => {
      const { g, x } = qgemmGraph(transB, xdt, R, K, N);
      const [want] = await same(g, [x]);
      expect(spread(want!)).toBeGreaterThan(4);
    });
  }
  // w_zero_point 0 (every w' fits i8: i8 weight panel) with per-channel shifts >= 32 (vector output
  // stage, per-lane shifts) or one shared shift (uniform vector shift); N not a multiple of 4
  for (const [xdt, ydt, R, K, N, uniform] of [['i8', 'i8', 1, 640, 13, false], ['u8', 'u8', 3, 37, 7, false], ['i8', 'u8', 3, 9, 4, true], ['u8', 'i8', 2, 130, 6, true]] as const) {
    it(`i8 weight panel, vector stage (${uniform ? 'uniform' : 'per-channel'} shifts), ${xdt} -> ${ydt}, [${R}x${K}] x [${K}x${N}]`, async () => {
      const zx = xdt === 'u8' ? 133 : -11;
      const { b, x } = quantIn([R, K], xdt, zx);
      const w = b.const('w', 'i8', [N, K], randInts(K * N, -128, 127, K + N));
      const bias = b.const('b', 'i32', [N], randInts(N, -9000, 9000, N + 1));
      const st = fixedStage(N, 40 / (128 * 70 * Math.sqrt(K)), K);
      if (uniform) st['shift'] = (st['shift'] as number[]).map(() => (st['shift'] as number[])[0]!);
      expect((st['shift'] as number[]).every((n) => n >= 32)).toBe(true);
      const y = b.node('QGemm', [x, w, bias], {
        trans_b: 1, x_zero_point: zx, w_zero_point: [0], ...st, y_dtype: ydt, y_zero_point: ydt === 'u8' ? 125 : -4,
        clamp_lo: ydt === 'u8' ? 20 : -100, clamp_hi: ydt === 'u8' ? 230 : 110,
      }, { domain: 'edgec' });
      const g = finish(b, [y]);
      const step = lowerGraph(g).steps.find((s) => s.kernel === 'qgemm_i8')!;
      // the i8 panel and the vector stage are really taken
      const f = (step.words[6] as { v: number }).v;
      expect(f & QFLAG.w8).toBe(QFLAG.w8);
      expect(f & QFLAG.gemmVec).toBe(QFLAG.gemmVec);
      expect(f & QFLAG.uniformShift).toBe(uniform ? QFLAG.uniformShift : 0);
      const [want] = await same(g, [input([R, K], K + 1, XS, -2, 2)]);
      expect(spread(want!)).toBeGreaterThan(4);
    });
  }
  it('float rq mode with u8 weights and zero points (QLinearMatMul)', async () => {
    const { b, x } = quantIn([4, 21], 'u8', 100);
    const w = b.const('w', 'u8', [21, 6], randInts(126, 0, 255, 1));
    const y = b.node('QGemm', [x, w], { x_zero_point: 100, w_zero_point: [128, 120, 130, 127, 128, 100], rq_mode: 'float',
      scale: [0.0005, 0.00075, 0.001, 0.0004, 0.0003, 0.0002].map(Math.fround), y_dtype: 'u8', y_zero_point: 128 }, { domain: 'edgec' });
    await same(finish(b, [y]), [input([4, 21], 2, XS)]);
  });
  qgemmWrapCase(same);
});

describe('wasm int8: QAdd / QMul / Requantize', () => {
  qbinaryCases(same, [20, 24, 31, 32, 40]);
  for (const n of [1, 9, 21, 30]) {
    it(`QAdd with 20-bit multipliers (int32 path), extreme zero points and clamps, shift ${n}`, async () => {
      // |a - za| up to 255 on both sides; |M| just below 2^20; sums near the int32 path's bound
      const { b, x } = quantIn([4, 33], 'u8', 255);
      const bf = b.input('x2', 'f32', [4, 33]);
      const xb = b.node('QuantizeLinear', [bf, b.const('s2', 'f32', [], [0.01]), b.const('z2', 'i8', [], [-128])]);
      const big = 2 ** 20 - 1;
      const y1 = b.node('QAdd', [x, xb], { a_zero_point: 255, b_zero_point: -128, a_multiplier: big, b_multiplier: -big, shift: n, y_zero_point: 2, y_dtype: 'i8', clamp_lo: -120, clamp_hi: 110 }, { domain: 'edgec' });
      const y2 = b.node('QAdd', [x, xb], { a_zero_point: 255, b_zero_point: -128, a_multiplier: 3 * 2 ** (n - 1), b_multiplier: 2 ** (n - 1), shift: n, y_zero_point: 100, y_dtype: 'u8' }, { domain: 'edgec' });
      await same(finish(b, [y1, y2]), [input([4, 33], 31 + n, XS, -3, 0.5), input([4, 33], 41 + n, 0.01, -2, 2)]);
    });
  }
  it('the quantizer gives QAdd 20-bit multipliers (the int32 path)', () => {
    const bld = new GraphBuilder('add', { '': 13 });
    const x1 = bld.input('a', 'f32', [1, 8]);
    const x2 = bld.input('b', 'f32', [1, 8]);
    bld.output(bld.node('Add', [bld.node('Relu', [x1]), bld.node('Tanh', [x2])]));
    const calib = [input([16, 8], 1, 0.01, -2, 2), input([16, 8], 2, 0.01, -3, 3)];
    const q = quantizeModel(bld.build(), { mode: 'int8', calib });
    const add = q.graph.orderedNodes().find((n) => n.op === 'QAdd')!;
    for (const k of ['a_multiplier', 'b_multiplier']) expect(Math.abs(add.attrs[k] as number)).toBeLessThan(2 ** 20);
    expect(add.attrs['shift'] as number).toBeLessThanOrEqual(30);
  });
});

describe('wasm int8: QReduceMean / QAvgPool / MaxPool', () => {
  qpoolCases(same);
});

describe('wasm int8: data movement and aliases on 1-byte tensors', () => {
  qmoveCases(same);
});

describe('wasm int8: lowering and artifact', () => {
  it('the arena sizes int8 buffers at 1 byte per element (int32 at 4)', () => {
    const { b, x } = quantIn([1, 3, 8, 8], 'u8', 128);
    const t = b.node('Transpose', [x], { perm: [0, 2, 3, 1] });
    const acc = b.node('QConv', [t, b.const('w', 'i8', [2, 8, 1, 1], randInts(16, -9, 9, 3))], { x_zero_point: 128, y_dtype: 'i32' }, { domain: 'edgec' });
    const y = b.node('Requantize', [acc], { multiplier: [2 ** 30], shift: [33], y_dtype: 'i8' }, { domain: 'edgec' });
    const g = finish(b, [y]);
    const low = lowerGraph(g);
    expect(low.buffers.get(low.rootOf(x))!.bytes).toBe(192);
    expect(low.buffers.get(low.rootOf(t))!.bytes).toBe(192);
    expect(low.buffers.get(low.rootOf(acc))!.bytes).toBe(2 * 8 * 3 * 4);
    expect(low.buffers.get(low.rootOf(y))!.bytes).toBe(2 * 8 * 3);
  });
  it('emitWasm labels an integer graph int8 in the manifest (default precision)', () => {
    const { b, x } = quantIn([1, 4], 'i8', 0);
    const y = b.node('QGemm', [x, b.const('w', 'i8', [4, 3], randInts(12, -5, 5, 1))], { multiplier: [2 ** 30], shift: [32], y_dtype: 'i8' }, { domain: 'edgec' });
    expect(emitWasm(finish(b, [y])).manifest.precision).toBe('int8');
  });
});

describe('wasm int8: QuantizeLinear / DequantizeLinear', () => {
  qdqCases(same);
});

// ---------------------------------------------------------------------------------------------
// End to end: quantizeModel's integer graphs of the trained and benchmark models
// ---------------------------------------------------------------------------------------------

const MODELS = MODELS_DIR;

const haveModels = fs.existsSync(MODELS);

describe.skipIf(!haveModels)('wasm int8: quantized models, reference == wasm bit for bit', () => {
  const trained = haveModels ? fs.readdirSync(path.join(MODELS, 'trained')).filter((d) => fs.existsSync(path.join(MODELS, 'trained', d, 'model.onnx'))) : [];
  for (const m of trained) {
    // the CLI path (edgec compile --int8 --calib calib_x.pb --target wasm): quantizeModel, then
    // emitWasm on the lowered integer graph; every test-set output equals the reference's bits,
    // so the artifact's test metric is the reference int8 metric
    it(`trained/${m}: emitWasm artifact == reference on the whole test set`, async () => {
      const dir = path.join(MODELS, 'trained', m);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { metric: string };
      const calib = readPb(path.join(dir, 'calib_x.pb'));
      const tx = readPb(path.join(dir, 'test_x.pb'));
      const ty = readPb(path.join(dir, 'test_y.pb'));
      const B = Math.min(calib.shape[0]!, 128);
      const g = loadForInputs(path.join(dir, 'model.onnx'), [sliceBatch(calib, 0, B)]);
      optimize(g, { target: 'wasm' });
      const q = quantizeModel(g, { mode: 'int8', calib: [calib] }).graph;
      expect(q.orderedNodes().some((n) => n.domain === 'edgec')).toBe(true);
      const art = emitWasm(q, { precision: 'int8' });
      expect(art.manifest.precision).toBe('int8');
      const adir = writeTempArtifact(art.files);
      const model = await loadWasmArtifact(adir);
      fs.rmSync(adir, { recursive: true, force: true });
      const N = tx.shape[0]!;
      const per = tx.size / N;
      const gotRows: Tensor[] = [];
      const wantRows: Tensor[] = [];
      for (let i = 0; i < N; i += B) {
        const n = Math.min(B, N - i);
        // last batch: pad with the first samples (their rows are dropped)
        const d = new Float32Array(B * per);
        d.set((tx.data as Float32Array).subarray(i * per, (i + n) * per));
        if (n < B) d.set((tx.data as Float32Array).subarray(0, (B - n) * per), n * per);
        const xb = new Tensor('f32', [B, ...tx.shape.slice(1)], d);
        const [want] = runGraph(q, [xb]);
        const [got] = runWasmModel(model, [xb]);
        const a = new Uint32Array((got!.data as Float32Array).buffer.slice(0));
        const e = new Uint32Array(Float32Array.from(want!.data as Float32Array).buffer);
        let bad = -1;
        for (let k = 0; k < e.length; k++) if (a[k] !== e[k]) { bad = k; break; }
        if (bad >= 0) expect(`batch ${i} output[${bad}] = ${got!.get(bad)}`).toBe(`batch ${i} output[${bad}] = ${want!.get(bad)}`);
        gotRows.push(sliceBatch(got!, 0, n));
        wantRows.push(sliceBatch(want!, 0, n));
      }
      const metric = (rows: Tensor[]): number => {
        if (meta.metric === 'test_mse') {
          let se = 0, cnt = 0, off = 0;
          for (const r of rows) {
            for (let k = 0; k < r.size; k++) se += (r.get(k) - tx.get(off + k)) ** 2;
            off += r.size;
            cnt += r.size;
          }
          return se / cnt;
        }
        let ok = 0, off = 0;
        for (const r of rows) {
          argmaxRows(r).forEach((c, k) => (ok += c === Number(ty.get(off + k)) ? 1 : 0));
          off += r.shape[0]!;
        }
        return ok / N;
      };
      const mw = metric(gotRows);
      expect(mw).toBe(metric(wantRows));
      console.log(`wasm int8 ${m}: ${meta.metric} ${mw.toFixed(4)} (reference int8: identical outputs on ${N} samples)`);
    }, 300_000);
  }
  for (const m of ['resnet8', 'dscnn', 'mobilenetv1_025', 'mobilenetv2', 'autoencoder']) {
    it(`bench/${m}`, async () => {
      const g = loadOnnxFile(path.join(MODELS, 'bench', `${m}.onnx`));
      optimize(g, { target: 'wasm' });
      const shape = g.typeOf(g.inputs[0]!).shape.map((d) => (typeof d === 'number' ? d : 1));
      const q = quantizeModel(g, { mode: 'int8', calib: [uniform([8, ...shape.slice(1)], 1, -1, 1)] }).graph;
      await same(q, [uniform(shape, 2, -1, 1)]);
    }, 120_000);
  }
});
