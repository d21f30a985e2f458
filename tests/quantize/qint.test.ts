/**
 * The integer op spec (compiler/ops/qint.ts) against independent implementations written here from
 * the documented formulas, with BigInt for every rounding step:
 *   rq(acc, M, n) = floor((acc * M + 2^(n-1)) / 2^n)   (ties toward +infinity), then + zp, clamp.
 * Also QuantizeLinear rounding (half to even) and saturation, and the fixed-point encoding of
 * real multipliers.
 */
import { describe, expect, it } from 'vitest';
import { AttrValue, Graph } from '../../compiler/ir/graph.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { quantizeMultiplier, rqFixed } from '../../compiler/ops/qint.js';
import { activationParams, quantizeValue } from '../../quantize/params.js';
import { rng } from '../helpers/rng.js';

const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** floor(a / b) for bigints (b > 0). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** The spec, independently: floor((acc*M + 2^(n-1)) / 2^n) in exact integers. */
function specRq(acc: number, M: number, n: number): bigint {
  const p = BigInt(acc) * BigInt(M);
  return n === 0 ? p : floorDiv(p + (1n << BigInt(n - 1)), 1n << BigInt(n));
}

function clampB(v: bigint, lo: number, hi: number): number {
  return Number(v < BigInt(lo) ? BigInt(lo) : v > BigInt(hi) ? BigInt(hi) : v);
}

function wrap32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** Runs one op on constant inputs through the graph builder (infer) and the interpreter (ref). */
function runOp(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue>, domain = 'edgec'): Tensor {
  const b = new GraphBuilder('t', { '': 17, edgec: 1 });
  const ids = inputs.map((t, i) => (t ? b.const(`in${i}`, t) : null));
  const y = b.node(op, ids, attrs, { domain });
  b.output(y);
  const g: Graph = b.build();
  const out = runGraph(g, [])[0]!;
  expect(out.dtype).toBe(g.typeOf(y).dtype);
  expect(out.shape).toEqual(g.typeOf(y).shape);
  return out;
}

function randTensor(r: () => number, dt: DType, shape: number[], lo: number, hi: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(dt, shape, Array.from({ length: n }, () => randInt(r, lo, hi)));
}

function randMults(r: () => number, n: number): { multiplier: number[]; shift: number[] } {
  const m = Array.from({ length: n }, () => quantizeMultiplier(2 ** (-12 + 10 * r())));
  return { multiplier: m.map((x) => x.multiplier), shift: m.map((x) => x.shift) };
}

describe('fixed-point requantization spec', () => {
  it('rounds ties toward +infinity (3/2 -> 2, -3/2 -> -1, 5/2 -> 3, -5/2 -> -2)', () => {
    // M = 2^30, n = 31 is the multiplier 1/2
    expect([3, -3, 5, -5, 1, -1, 0].map((a) => rqFixed(a, 2 ** 30, 31))).toEqual([2, -1, 3, -2, 1, 0, 0]);
    expect([3, -3, 5, -5].map((a) => Number(specRq(a, 2 ** 30, 31)))).toEqual([2, -1, 3, -2]);
  });

  it('matches the BigInt spec on random and extreme accumulators', () => {
    const r = rng(1);
    const accs = [0, 1, -1, 2147483647, -2147483648, 1073741824, -1073741825];
    for (let i = 0; i < 5000; i++) accs.push(randInt(r, -2147483648, 2147483647));
    for (let i = 0; i < 2000; i++) accs.push(randInt(r, -5000, 5000));
    for (const acc of accs) {
      const M = randInt(r, 2 ** 30, 2 ** 31 - 1);
      const n = randInt(r, 0, 62);
      expect(rqFixed(acc, M, n), `acc ${acc} M ${M} n ${n}`).toBe(Number(specRq(acc, M, n)));
    }
  });

  it('encodes real multipliers as M * 2^-n with M normalized in [2^30, 2^31) and |m 2^n - M| <= 1/2', () => {
    const r = rng(2);
    for (let i = 0; i < 2000; i++) {
      const m = 2 ** (-30 + 50 * r());
      const { multiplier: M, shift: n } = quantizeMultiplier(m);
      expect(M).toBeGreaterThanOrEqual(2 ** 30);
      expect(M).toBeLessThan(2 ** 31);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThanOrEqual(62);
      expect(Math.abs(m * 2 ** n - M)).toBeLessThanOrEqual(0.5);
    }
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 31 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 30 });
  });
});

describe('QuantizeLinear rounding and saturation', () => {
  it('rounds half to even and saturates (int8, scale 1, zero point 0 and 3)', () => {
    const xs = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.5, 1000, -1000, -128.5];
    expect(xs.map((x) => quantizeValue(x, { scale: 1, zeroPoint: 0, dtype: 'i8' }) + 0)).toEqual([0, 2, 2, 0, -2, -2, 126, 127, 127, -128, -128]);
    expect(xs.map((x) => quantizeValue(x, { scale: 1, zeroPoint: 3, dtype: 'i8' }))).toEqual([3, 5, 5, 3, 1, 1, 127, 127, 127, -128, -125]);
  });

  it('agrees with the ONNX QuantizeLinear reference op on ties at scale 0.25', () => {
    const r = rng(3);
    const xs = Array.from({ length: 400 }, () => randInt(r, -700, 700) * 0.125);
    const p = { scale: 0.25, zeroPoint: -7, dtype: 'i8' as const };
    const out = runOp('QuantizeLinear', [Tensor.from('f32', [xs.length], xs), Tensor.scalar('f32', 0.25), Tensor.scalar('i8', -7)], {}, '');
    expect(out.toNumbers()).toEqual(xs.map((x) => quantizeValue(x, p)));
  });

  it('gives zero-range tensors a valid scale', () => {
    for (const [lo, hi] of [[0, 0], [3, 3], [-2, -2], [0, 1e-45]]) {
      const p = activationParams(lo!, hi!);
      expect(Number.isFinite(p.scale) && p.scale > 0).toBe(true);
      expect(p.zeroPoint).toBeGreaterThanOrEqual(-128);
      expect(p.zeroPoint).toBeLessThanOrEqual(127);
    }
    // 0 is exactly representable
    const p = activationParams(-1, 3);
    expect((quantizeValue(0, p) - p.zeroPoint) * p.scale).toBe(0);
  });
});

/** Independent QConv: direct loops, padding reads zx (contributes 0), BigInt requantization. */
function naiveQConv(x: Tensor, w: Tensor, bias: Tensor | null, a: {
  strides: number[]; pads: number[]; dilations: number[]; group: number; zx: number; zw: number[]; M: number[]; n: number[]; zy: number; lo: number; hi: number;
}): { shape: number[]; data: number[] } {
  const nd = x.shape.length - 2;
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const Mo = w.shape[0]!;
  const cg = C / a.group;
  const mg = Mo / a.group;
  const I = x.shape.slice(2);
  const K = w.shape.slice(2);
  const O = I.map((d, i) => Math.floor((d + a.pads[i]! + a.pads[i + nd]! - (K[i]! - 1) * a.dilations[i]! - 1) / a.strides[i]!) + 1);
  const out: number[] = [];
  const oVol = O.reduce((p, q) => p * q, 1);
  const kVol = K.reduce((p, q) => p * q, 1);
  const iVol = I.reduce((p, q) => p * q, 1);
  const unflat = (i: number, dims: number[]) => {
    const r: number[] = [];
    for (let d = dims.length - 1; d >= 0; d--) {
      r[d] = i % dims[d]!;
      i = Math.floor(i / dims[d]!);
    }
    return r;
  };
  for (let b = 0; b < N; b++) for (let m = 0; m < Mo; m++) for (let o = 0; o < oVol; o++) {
    const oc = unflat(o, O);
    const g = Math.floor(m / mg);
    let acc = bias ? BigInt(bias.get(m)) : 0n;
    const zw = a.zw[a.zw.length === 1 ? 0 : m]!;
    for (let c = 0; c < cg; c++) for (let k = 0; k < kVol; k++) {
      const kc = unflat(k, K);
      const ic = oc.map((v, i) => v * a.strides[i]! - a.pads[i]! + kc[i]! * a.dilations[i]!);
      if (ic.some((v, i) => v < 0 || v >= I[i]!)) continue;
      let flat = 0;
      for (let i = 0; i < nd; i++) flat = flat * I[i]! + ic[i]!;
      const xv = x.get((b * C + g * cg + c) * iVol + flat);
      const wv = w.get((m * cg + c) * kVol + k);
      acc += BigInt(xv - a.zx) * BigInt(wv - zw);
    }
    const j = a.M.length === 1 ? 0 : m;
    out.push(clampB(specRq(wrap32(acc), a.M[j]!, a.n[j]!) + BigInt(a.zy), a.lo, a.hi));
  }
  return { shape: [N, Mo, ...O], data: out };
}

describe('edgec.QConv', () => {
  const cases: { name: string; x: number[]; w: number[]; group: number; strides: number[]; pads: number[]; dilations: number[]; xdt: 'i8' | 'u8'; wdt: 'i8' | 'u8' }[] = [
    { name: '1-D', x: [2, 3, 17], w: [5, 3, 3], group: 1, strides: [2], pads: [1, 2], dilations: [1], xdt: 'i8', wdt: 'i8' },
    { name: '2-D', x: [2, 4, 7, 6], w: [6, 4, 3, 3], group: 1, strides: [1, 2], pads: [1, 1, 0, 1], dilations: [1, 1], xdt: 'i8', wdt: 'i8' },
    { name: '2-D dilated uint8', x: [1, 3, 9, 9], w: [4, 3, 3, 2], group: 1, strides: [2, 1], pads: [2, 0, 1, 1], dilations: [2, 2], xdt: 'u8', wdt: 'u8' },
    { name: 'depthwise', x: [2, 4, 6, 6], w: [4, 1, 3, 3], group: 4, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], xdt: 'i8', wdt: 'i8' },
    { name: 'grouped', x: [1, 6, 5, 5], w: [4, 3, 2, 2], group: 2, strides: [1, 1], pads: [0, 0, 1, 1], dilations: [1, 1], xdt: 'i8', wdt: 'i8' },
  ];
  for (const c of cases) {
    it(`${c.name} matches the independent implementation (per-channel multipliers, bias, clamp)`, () => {
      const r = rng(c.x.length * 31 + c.w[0]!);
      const [xlo, xhi] = c.xdt === 'i8' ? [-128, 127] : [0, 255];
      const [wlo, whi] = c.wdt === 'i8' ? [-127, 127] : [0, 255];
      const x = randTensor(r, c.xdt, c.x, xlo, xhi);
      const w = randTensor(r, c.wdt, c.w, wlo, whi);
      const M = c.w[0]!;
      const bias = randTensor(r, 'i32', [M], -20000, 20000);
      const zx = randInt(r, xlo, xhi);
      const zw = c.wdt === 'u8' ? Array.from({ length: M }, () => randInt(r, 100, 150)) : [0];
      const mult = randMults(r, M);
      const zy = randInt(r, -20, 20);
      const [lo, hi] = [zy - 50, 127];
      const attrs = { strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group, x_zero_point: zx, w_zero_point: zw,
        ...mult, y_zero_point: zy, y_dtype: 'i8', clamp_lo: lo, clamp_hi: hi };
      const got = runOp('QConv', [x, w, bias], attrs);
      const want = naiveQConv(x, w, bias, { ...c, zx, zw, M: mult.multiplier, n: mult.shift, zy, lo, hi });
      expect(got.shape).toEqual(want.shape);
      expect(got.toNumbers()).toEqual(want.data);
      // some outputs saturate / clamp, some do not
      expect(got.toNumbers().some((v) => v === lo)).toBe(true);
    });
  }

  it('y_dtype i32 returns the raw accumulator (ConvInteger semantics)', () => {
    const r = rng(9);
    const x = randTensor(r, 'u8', [1, 2, 5, 5], 0, 255);
    const w = randTensor(r, 'u8', [3, 2, 3, 3], 0, 255);
    const got = runOp('QConv', [x, w], { x_zero_point: 128, w_zero_point: [120, 130, 140], y_dtype: 'i32', pads: [1, 1, 1, 1] });
    const want = runOp('ConvInteger', [x, w, Tensor.scalar('u8', 128), Tensor.from('u8', [3], [120, 130, 140])], { pads: [1, 1, 1, 1] }, '');
    expect(got.toNumbers()).toEqual(want.toNumbers());
  });
});

describe('edgec.QGemm', () => {
  for (const transB of [0, 1]) {
    it(`trans_b=${transB}: matches the independent implementation (uint8 input, int32 wrap)`, () => {
      const r = rng(10 + transB);
      const [R, K, N] = [3, 37, 5];
      const x = randTensor(r, 'u8', [R, K], 0, 255);
      const w = randTensor(r, 'i8', transB ? [N, K] : [K, N], -127, 127);
      const bias = randTensor(r, 'i32', [N], -3000, 3000);
      bias.set(0, 2147483000); // forces an int32 wrap in column 0
      const mult = randMults(r, N);
      const zx = 131;
      const got = runOp('QGemm', [x, w, bias], { trans_b: transB, x_zero_point: zx, ...mult, y_zero_point: 5, y_dtype: 'u8' });
      const want: number[] = [];
      for (let i = 0; i < R; i++) for (let j = 0; j < N; j++) {
        let acc = BigInt(bias.get(j));
        for (let k = 0; k < K; k++) acc += BigInt(x.get(i * K + k) - zx) * BigInt(w.get(transB ? j * K + k : k * N + j));
        want.push(clampB(specRq(wrap32(acc), mult.multiplier[j]!, mult.shift[j]!) + 5n, 0, 255));
      }
      expect(got.shape).toEqual([R, N]);
      expect(got.toNumbers()).toEqual(want);
    });
  }
});

describe('edgec.QAdd / QMul / Requantize / QReduceMean / QAvgPool', () => {
  it('QAdd: single rounding of Ma*(a-za) + Mb*(b-zb), broadcast, clamp', () => {
    const r = rng(20);
    const a = randTensor(r, 'i8', [2, 3, 4], -128, 127);
    const b = randTensor(r, 'i8', [3, 1], -128, 127);
    const attrs = { a_zero_point: -3, b_zero_point: 9, a_multiplier: 1518500250, b_multiplier: 858993459, shift: 31, y_zero_point: -10, y_dtype: 'i8', clamp_lo: -10 };
    const got = runOp('QAdd', [a, b], attrs);
    const want: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) {
      const s = 1518500250n * BigInt(a.get((i * 3 + j) * 4 + k) + 3) + 858993459n * BigInt(b.get(j) - 9);
      want.push(clampB(floorDiv(s + (1n << 30n), 1n << 31n) - 10n, -10, 127));
    }
    expect(got.toNumbers()).toEqual(want);
  });

  it('QAdd with a negative b_multiplier is a subtraction (ties toward +infinity)', () => {
    const a = Tensor.from('i8', [6], [-128, -3, 0, 5, 64, 127]);
    const b = Tensor.from('i8', [6], [127, 4, 1, 5, -64, -128]);
    const got = runOp('QAdd', [a, b], { a_zero_point: 0, b_zero_point: 0, a_multiplier: 2 ** 30, b_multiplier: -(2 ** 30), shift: 31, y_zero_point: 0, y_dtype: 'i8' });
    // (a - b) / 2 rounded half up, saturated
    expect(got.toNumbers()).toEqual(a.toNumbers().map((v, i) => clampB(floorDiv(BigInt(v - b.get(i)) * (1n << 30n) + (1n << 30n), 1n << 31n), -128, 127)));
    expect(got.toNumbers()).toEqual([-127, -3, 0, 0, 64, 127]);
  });

  it('QMul: rq((a-za)*(b-zb)) with saturation', () => {
    const r = rng(21);
    const a = randTensor(r, 'u8', [4, 5], 0, 255);
    const b = randTensor(r, 'u8', [5], 0, 255);
    const { multiplier, shift } = quantizeMultiplier(0.0071);
    const got = runOp('QMul', [a, b], { a_zero_point: 128, b_zero_point: 0, multiplier, shift, y_zero_point: 3, y_dtype: 'u8' });
    const want = a.toNumbers().map((v, i) => clampB(specRq((v - 128) * b.get(i % 5), multiplier, shift) + 3n, 0, 255));
    expect(got.toNumbers()).toEqual(want);
    expect(want.some((v) => v === 0 || v === 255)).toBe(true);
  });

  it('Requantize: int8 -> uint8 with clamp', () => {
    const x = Tensor.from('i8', [8], [-128, -1, 0, 1, 2, 3, 100, 127]);
    const { multiplier, shift } = quantizeMultiplier(1.5);
    const got = runOp('Requantize', [x], { x_zero_point: -1, multiplier: [multiplier], shift: [shift], y_zero_point: 128, y_dtype: 'u8', clamp_lo: 100 });
    expect(got.toNumbers()).toEqual(x.toNumbers().map((v) => clampB(specRq(v + 1, multiplier, shift) + 128n, 100, 255)));
  });

  it('QReduceMean over spatial axes (global average pool)', () => {
    const r = rng(22);
    const x = randTensor(r, 'i8', [2, 3, 4, 5], -128, 127);
    const { multiplier, shift } = quantizeMultiplier(1 / 20);
    for (const keepdims of [0, 1]) {
      const got = runOp('QReduceMean', [x], { axes: [2, 3], keepdims, x_zero_point: 7, multiplier: [multiplier], shift: [shift], y_zero_point: 0, y_dtype: 'i8' });
      expect(got.shape).toEqual(keepdims ? [2, 3, 1, 1] : [2, 3]);
      const want: number[] = [];
      for (let p = 0; p < 6; p++) {
        let s = 0;
        for (let i = 0; i < 20; i++) s += x.get(p * 20 + i) - 7;
        want.push(clampB(specRq(s, multiplier, shift), -128, 127));
      }
      expect(got.toNumbers()).toEqual(want);
    }
  });

  for (const cip of [0, 1]) {
    it(`QAvgPool 3x3 stride 2 pads 1, count_include_pad=${cip}`, () => {
      const r = rng(23 + cip);
      const x = randTensor(r, 'i8', [1, 2, 6, 5], -128, 127);
      const fm = Array.from({ length: 9 }, (_, i) => quantizeMultiplier(0.9 / (i + 1)));
      const got = runOp('QAvgPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: cip, x_zero_point: -5,
        multipliers: fm.map((f) => f.multiplier), shifts: fm.map((f) => f.shift), y_zero_point: 1, y_dtype: 'i8' });
      const [H, W] = [6, 5];
      const OH = Math.floor((H + 2 - 3) / 2) + 1;
      const OW = Math.floor((W + 2 - 3) / 2) + 1;
      const want: number[] = [];
      for (let c = 0; c < 2; c++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let s = 0;
        let cnt = 0;
        for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
          const ih = oh * 2 - 1 + kh;
          const iw = ow * 2 - 1 + kw;
          if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
          s += x.get((c * H + ih) * W + iw) + 5;
          cnt++;
        }
        const count = cip ? 9 : cnt;
        want.push(clampB(specRq(s, fm[count - 1]!.multiplier, fm[count - 1]!.shift) + 1n, -128, 127));
      }
      expect(got.shape).toEqual([1, 2, OH, OW]);
      expect(got.toNumbers()).toEqual(want);
    });
  }
});
