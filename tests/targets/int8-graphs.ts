/**
 * Shared builders of the int8 target tests (wasm-int8.test.ts, webgpu-int8.test.ts): seeded data,
 * f32 input -> QuantizeLinear -> integer op(s) -> DequantizeLinear (scale 1, zero point 0, so the f32
 * output is the integer result itself) graphs, and the QConv case graph. Each target keeps its own
 * case lists (its kernel paths differ); the expected outputs always come from the reference.
 */
import { expect } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { quantizeMultiplier } from '../../compiler/ops/qint.js';
import { rng } from '../helpers/rng.js';

export { rng } from '../helpers/rng.js';

export const randInts = (n: number, lo: number, hi: number, seed: number): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
};

/** f32 input in [lo, hi) with a few exact rounding ties (k + 0.5 steps of `scale`). */
export function input(shape: number[], seed: number, scale: number, lo = -1.5, hi = 1.5): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = i % 7 === 3 ? (Math.floor(r() * 40) - 20 + 0.5) * scale : lo + (hi - lo) * r();
  }
  return new Tensor('f32', shape, d);
}

export const XS = 0.01; // input scale

export interface QIn {
  b: GraphBuilder;
  x: ValueId;
}

/** Builds f32 input -> QuantizeLinear(dtype, zp) and returns the builder and the quantized value. */
export function quantIn(shape: number[], dtype: 'u8' | 'i8', zp: number): QIn {
  const b = new GraphBuilder('int8', { '': 19, edgec: 1 });
  const xf = b.input('x', 'f32', shape);
  const x = b.node('QuantizeLinear', [xf, b.const('xs', 'f32', [], [XS]), b.const('xz', dtype, [], [zp])]);
  return { b, x };
}

/** Ends the graph: DequantizeLinear(scale 1, zp 0) of every given 8-bit value as outputs. */
export function finish(b: GraphBuilder, ys: ValueId[]): Graph {
  ys.forEach((y, k) => {
    const dt = b.typeOf(y).dtype as 'u8' | 'i8';
    b.output(b.node('DequantizeLinear', [y, b.const(`ones${k}`, 'f32', [], [1]), b.const(`zeros${k}`, dt, [], [0])], {}, { outputNames: [`y${k}`] }));
  });
  return b.build();
}

/** Per-channel fixed multipliers around `m` (spread x0.5..x2) as attributes. */
export function fixedStage(M: number, m: number, seed: number): Record<string, AttrValue> {
  const r = rng(seed);
  const q = Array.from({ length: M }, () => quantizeMultiplier(m * 2 ** (2 * r() - 1)));
  return { multiplier: q.map((v) => v.multiplier), shift: q.map((v) => v.shift) };
}

/** Checks the output is not degenerate (the test exercises a real range of values). */
export function spread(t: Tensor): number {
  return new Set(Array.from(t.data as Float32Array)).size;
}

export interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  xdt?: 'u8' | 'i8';
  ydt?: 'u8' | 'i8';
  attrs?: Record<string, AttrValue>;
  wdt?: 'i8' | 'u8';
  wzp?: 'per-channel' | 'zero';
  float?: boolean;
  clamp?: [number, number];
  noBias?: boolean;
  /** input zero point (default 131 for u8, -7 for i8) */
  zx?: number;
}

/**
 * The QConv graph of a case (weights, zero points, bias, output stage from the seed); with `yI32` the
 * raw int32 accumulator goes through Requantize (x zero point `rqZeroPoint`).
 */
export function convGraph(cs: ConvCase, seed: number, yI32 = false, rqZeroPoint = 5): { g: Graph; x: Tensor } {
  const xdt = cs.xdt ?? 'u8';
  const zx = cs.zx ?? (xdt === 'u8' ? 131 : -7);
  const { b, x } = quantIn(cs.x, xdt, zx);
  const M = cs.w[0]!;
  const K = cs.w.slice(1).reduce((a, v) => a * v, 1);
  const wdt = cs.wdt ?? 'i8';
  const wv = wdt === 'u8' ? randInts(M * K, 0, 255, seed + 1) : randInts(M * K, -127, 127, seed + 1);
  const w = b.const('w', wdt, cs.w, wv);
  const wzp = cs.wzp === 'per-channel' ? randInts(M, wdt === 'u8' ? 100 : -20, wdt === 'u8' ? 150 : 20, seed + 2) : [0];
  const bias = cs.noBias ? null : b.const('b', 'i32', [M], randInts(M, -20000, 20000, seed + 3));
  const ydt = cs.ydt ?? 'u8';
  const accScale = 128 * 70 * Math.sqrt(K);
  const stage: Record<string, AttrValue> = yI32 ? { y_dtype: 'i32' } : cs.float
    ? { rq_mode: 'float', scale: Array.from({ length: M }, (_, m) => Math.fround(60 / accScale * (1 + m / M))) }
    : fixedStage(M, 60 / accScale, seed + 4);
  const attrs: Record<string, AttrValue> = {
    ...cs.attrs, x_zero_point: zx, w_zero_point: wzp, ...stage,
    ...(yI32 ? {} : { y_dtype: ydt, y_zero_point: ydt === 'u8' ? 120 : 3 }),
    ...(cs.clamp ? { clamp_lo: cs.clamp[0], clamp_hi: cs.clamp[1] } : {}),
  };
  let y = b.node('QConv', [x, w, bias], attrs, { domain: 'edgec' });
  if (yI32) {
    const q = quantizeMultiplier(60 / accScale);
    y = b.node('Requantize', [y], { x_zero_point: rqZeroPoint, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8', y_zero_point: -2 }, { domain: 'edgec' });
  }
  return { g: finish(b, [y]), x: input(cs.x, seed, XS) };
}

/** Requires identical bits of every output (f32 views). */
export function expectSameBits(got: Tensor[], want: Tensor[], what = ''): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, k) => {
    const g = got[k]!;
    expect(g.shape).toEqual(w.shape);
    const a = new Uint32Array(Float32Array.from(g.data as Float32Array).buffer);
    const e = new Uint32Array(Float32Array.from(w.data as Float32Array).buffer);
    let bad = -1;
    for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) { bad = i; break; }
    if (bad >= 0) expect(`${what}output ${k}[${bad}] = ${g.get(bad)}`).toBe(`${what}output ${k}[${bad}] = ${w.get(bad)}`);
  });
}
