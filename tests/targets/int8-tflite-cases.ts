/**
 * int8 cases of TFLite's integer arithmetic (compiler/ops/qint.ts rq_mode 'tflite', edgec.QSoftmax,
 * edgec.TflQuantize) that every target with those kernels runs (wasm-int8.test.ts,
 * webgpu-int8.test.ts): multipliers above 1 (left shift), at 2^-31 and far below (rounding divide
 * by a power of two, exact ties), SUB's negative multiplier, broadcasting, average pools with
 * padding, softmax with int8 and uint8 outputs, float QUANTIZE on ties, NaN and infinities. The
 * expected bits always come from the reference interpreter (the target's `same`).
 */
import { expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { quantizeMultiplier } from '../../compiler/ops/qint.js';
import { XS, finish, input, quantIn, randInts, rng, spread } from './int8-graphs.js';
import type { SameFn } from './int8-cases.js';

const TFL = { rq_mode: 'tflite' };

/** Per-channel TFLite multipliers around `m` (spread x0.5..x2). */
function tflStage(M: number, m: number, seed: number): { multiplier: number[]; shift: number[] } {
  const r = rng(seed);
  const q = Array.from({ length: M }, () => quantizeMultiplier(m * 2 ** (2 * r() - 1)));
  return { multiplier: q.map((v) => v.multiplier), shift: q.map((v) => v.shift) };
}

/**
 * Registers the TFLite-arithmetic cases in the caller's describe.
 * @param same the target's runner (compile, run, require the reference's bits)
 */
export function tfliteArithmeticCases(same: SameFn): void {
  for (const [what, m] of [['multipliers above 1 (left shift)', 3.7], ['multipliers near 2^-8', 1 / 300], ['multipliers near 2^-12 (right shifts above 40)', 2 ** -12]] as const) {
    it(`QConv (dense, depthwise, pointwise) and QGemm (rows 2 and 12), rq_mode tflite, ${what}`, async () => {
      const { b, x } = quantIn([1, 8, 6, 7], 'i8', -3);
      const wd = b.const('wd', 'i8', [8, 1, 3, 3], randInts(72, -127, 127, 1));
      const bias = b.const('bias', 'i32', [8], randInts(8, -800, 800, 2));
      const acc = m > 1 ? 1 / 40 : m;
      const dw = b.node('QConv', [x, wd, bias], { group: 8, pads: [1, 1, 1, 1], x_zero_point: -3, ...tflStage(8, acc, 3), ...TFL, y_dtype: 'i8', y_zero_point: 4 }, { domain: 'edgec' });
      const wc = b.const('wc', 'i8', [12, 8, 3, 3], randInts(864, -127, 127, 4));
      const dense = b.node('QConv', [dw, wc], { strides: [2, 1], x_zero_point: 4, ...tflStage(12, acc / 8, 5), ...TFL, y_dtype: 'i8', y_zero_point: -7, clamp_lo: -100 }, { domain: 'edgec' });
      const wp = b.const('wp', 'i8', [16, 8, 1, 1], randInts(128, -127, 127, 6));
      const pw = b.node('QConv', [dw, wp], { x_zero_point: 4, ...tflStage(16, m > 1 ? m / 100 : acc, 7), ...TFL, y_dtype: 'i8' }, { domain: 'edgec' });
      const g2 = b.node('Reshape', [x, b.const('s2', 'i64', [2], [2, 168])]);
      const wg = b.const('wg', 'i8', [168, 5], randInts(840, -127, 127, 8));
      const gemm2 = b.node('QGemm', [g2, wg], { x_zero_point: -3, ...tflStage(5, acc / 4, 9), ...TFL, y_dtype: 'i8' }, { domain: 'edgec' });
      const g12 = b.node('Reshape', [x, b.const('s12', 'i64', [2], [12, 28])]);
      const wh = b.const('wh', 'i8', [28, 8], randInts(224, -127, 127, 10));
      const gemm12 = b.node('QGemm', [g12, wh], { x_zero_point: -3, ...tflStage(8, acc, 11), ...TFL, y_dtype: 'i8' }, { domain: 'edgec' });
      const want = await same(finish(b, [dw, dense, pw, gemm2, gemm12]), [input([1, 8, 6, 7], 21, XS)]);
      if (m !== 2 ** -12) expect(spread(want[0]!)).toBeGreaterThan(10);
    });
  }

  it('QConv rq_mode tflite rounding ties: M = 2^30 with n = 32, 34 (acc / 4, acc / 16: half away from zero) and n = 20 (left shift 11)', async () => {
    for (const [mm, n] of [[2 ** 30, 32], [2 ** 30, 34], [2 ** 30 + 12345, 20]] as const) {
      const { b, x } = quantIn([1, 3, 5, 5], 'i8', 0);
      const w = b.const('w', 'i8', [4, 3, 1, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 1]);
      const y = b.node('QConv', [x, w], { multiplier: [mm], shift: [n], ...TFL, y_dtype: 'i8' }, { domain: 'edgec' });
      await same(finish(b, [y]), [input([1, 3, 5, 5], 3, XS)]);
    }
  });

  it('Requantize and QReduceMean rq_mode tflite (int8 -> uint8; MEAN over H,W and over one axis)', async () => {
    const { b, x } = quantIn([2, 5, 4, 6], 'i8', -9);
    const q1 = quantizeMultiplier(0.83);
    const q2 = quantizeMultiplier(1.7);
    const rq = b.node('Requantize', [x], { x_zero_point: -9, multiplier: [q1.multiplier], shift: [q1.shift], ...TFL, y_dtype: 'u8', y_zero_point: 130 }, { domain: 'edgec' });
    const mean = b.node('QReduceMean', [x], { axes: [2, 3], keepdims: 1, x_zero_point: -9, multiplier: [q2.multiplier], shift: [q2.shift], ...TFL, y_dtype: 'i8', y_zero_point: 3 }, { domain: 'edgec' });
    const mean1 = b.node('QReduceMean', [x], { axes: [1], keepdims: 0, x_zero_point: -9, multiplier: [q1.multiplier], shift: [q1.shift], ...TFL, y_dtype: 'i8', y_zero_point: -2 }, { domain: 'edgec' });
    const want = await same(finish(b, [rq, mean, mean1]), [input([2, 5, 4, 6], 31, XS)]);
    expect(spread(want[1]!)).toBeGreaterThan(4);
  });

  it('QAdd rq_mode tflite: ADD, SUB (negative b multiplier), broadcasting, RELU6-like clamp', async () => {
    const b = new GraphBuilder('tfl-add', { '': 19, edgec: 1 });
    const xa = b.input('a', 'f32', [2, 3, 4, 5]);
    const xb = b.input('b', 'f32', [3, 1, 5]);
    const qa = b.node('QuantizeLinear', [xa, b.const('sa', 'f32', [], [XS]), b.const('za', 'i8', [], [-5])]);
    const qb = b.node('QuantizeLinear', [xb, b.const('sb', 'f32', [], [XS]), b.const('zb', 'i8', [], [7])]);
    // TFLite's Prepare for sa = 0.05, sb = 0.03, sy = 0.06: twice the larger input scale, left shift 20
    const two = 2 * 0.05;
    const ia = quantizeMultiplier(0.05 / two), ib = quantizeMultiplier(0.03 / two), o = quantizeMultiplier(two / (2 ** 20 * 0.06));
    const common = { a_zero_point: -5, b_zero_point: 7, left_shift: 20, a_multiplier: ia.multiplier, a_shift: ia.shift, b_shift: ib.shift, multiplier: o.multiplier, shift: o.shift, ...TFL };
    const add = b.node('QAdd', [qa, qb], { ...common, b_multiplier: ib.multiplier, y_zero_point: 2 }, { domain: 'edgec' });
    const sub = b.node('QAdd', [qa, qb], { ...common, b_multiplier: -ib.multiplier, y_zero_point: -1, clamp_lo: -1, clamp_hi: 99 }, { domain: 'edgec' });
    const want = await same(finish(b, [add, sub]), [input([2, 3, 4, 5], 41, XS), input([3, 1, 5], 42, XS)]);
    expect(spread(want[0]!)).toBeGreaterThan(20);
  });

  it('QMul rq_mode tflite: multipliers above 1 (left shift), near 2^-8 and 2^-12 (right shifts), broadcasting, uint8 output, clamp', async () => {
    const b = new GraphBuilder('tfl-mul', { '': 19, edgec: 1 });
    const xa = b.input('a', 'f32', [2, 3, 4, 5]);
    const xb = b.input('b', 'f32', [3, 1, 5]);
    const qa = b.node('QuantizeLinear', [xa, b.const('sa', 'f32', [], [XS]), b.const('za', 'i8', [], [-5])]);
    const qb = b.node('QuantizeLinear', [xb, b.const('sb', 'f32', [], [XS]), b.const('zb', 'i8', [], [7])]);
    const ys = [[3.7, 'i8', 0, -128, 127], [1 / 300, 'i8', -3, -100, 90], [2 ** -12, 'u8', 128, 0, 255]] as const;
    const outs = ys.map(([m, dt, zp, lo, hi]) => {
      const q = quantizeMultiplier(m);
      return b.node('QMul', [qa, qb], { a_zero_point: -5, b_zero_point: 7, multiplier: q.multiplier, shift: q.shift, y_zero_point: zp, y_dtype: dt, clamp_lo: lo, clamp_hi: hi, ...TFL }, { domain: 'edgec' });
    });
    const want = await same(finish(b, outs), [input([2, 3, 4, 5], 43, XS), input([3, 1, 5], 44, XS)]);
    expect(spread(want[1]!)).toBeGreaterThan(10);
  });

  it('QAvgPool rq_mode tflite: 3x3 stride 2 with padding (in-bounds counts), 2x2 without, uint8', async () => {
    const { b, x } = quantIn([1, 3, 9, 8], 'u8', 128);
    const p1 = b.node('QAvgPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], x_zero_point: 0, ...TFL, y_dtype: 'u8' }, { domain: 'edgec' });
    const p2 = b.node('QAvgPool', [x], { kernel_shape: [2, 2], strides: [2, 2], x_zero_point: 0, ...TFL, y_dtype: 'u8', y_zero_point: 0 }, { domain: 'edgec' });
    await same(finish(b, [p1, p2]), [input([1, 3, 9, 8], 51, XS)]);
  });

  for (const ydt of ['i8', 'u8'] as const) {
    it(`QSoftmax (TFLite's exp table) to ${ydt}: rows of 10 and 300, beta * scale 0.05 and 0.4`, async () => {
      for (const [L, bs] of [[10, 0.05], [300, 0.4]] as const) {
        const { b, x } = quantIn([3, L], 'i8', 0);
        const table = Array.from({ length: 256 }, (_, k) => Math.fround(Math.exp(-bs * (255 - k))));
        const y = b.node('QSoftmax', [x], { table, y_scale: 1 / 256, y_zero_point: ydt === 'i8' ? -128 : 0, y_dtype: ydt }, { domain: 'edgec' });
        const want = await same(finish(b, [y]), [input([3, L], 61 + L, XS, -1.28, 1.27)]);
        expect(spread(want[0]!)).toBeGreaterThan(4);
      }
    });
  }

  it('TflQuantize to int8 and uint8: ties round half away from zero; NaN, +-Inf, +-0, huge and subnormal values', async () => {
    const b = new GraphBuilder('tfl-q', { '': 19, edgec: 1 });
    const xf = b.input('x', 'f32', [64]);
    const y1 = b.node('TflQuantize', [xf], { scale: 1 / 64, y_zero_point: -3, y_dtype: 'i8' }, { domain: 'edgec' });
    const y2 = b.node('TflQuantize', [xf], { scale: 0.0372, y_zero_point: 131, y_dtype: 'u8' }, { domain: 'edgec' });
    const g: Graph = finish(b, [y1, y2] as ValueId[]);
    const r = rng(71);
    const special = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30, 1e-40, -1e-40, 0.5 / 64, -0.5 / 64, 1.5 / 64, -2.5 / 64, 127.5 / 64, -128.5 / 64, 3e-3];
    const vals = [...special, ...Array.from({ length: 48 }, (_, i) => (i % 2 ? (Math.floor(r() * 600) - 300) / 128 : (r() - 0.5) * 12))];
    await same(g, [Tensor.from('f32', [64], vals)]);
  });
}
