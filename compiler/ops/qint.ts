/**
 * Op family: internal integer ops (domain 'edgec') that quantized models lower to.
 *
 * These reference kernels ARE the specification: every target's int8 kernel must match them bit
 * for bit. All integer arithmetic here is exact (float64 holds every intermediate below 2^53; the
 * one product that can exceed it goes through BigInt).
 *
 * Common semantics
 * - Activations are int8 or uint8 tensors with a per-tensor zero point (attribute); weights are
 *   int8/uint8 with a zero point per output channel (`w_zero_point`, 1 or N values).
 * - Accumulation: int32. The accumulator is the exact sum wrapped to int32 (two's complement), so
 *   any summation order, and the usual rewrite acc = sum(x*w) - zx*sum(w) + bias, gives the same
 *   bits. Quantizers keep K small enough that no wrap happens (|x-zx| <= 255, |w| <= 127).
 * - Requantization `rq_mode: 'fixed'` (default): a real multiplier m is given as an int32 M in
 *   [0, 2^31) and a right shift n in [0, 62] with m ~= M * 2^-n. Then
 *       rq(acc) = floor((acc * M + 2^(n-1)) / 2^n)        (n > 0; rq(acc) = acc * M when n = 0)
 *   taken exactly in 64-bit integers: round to nearest, ties toward +infinity (TFLite's
 *   "single rounding"). In WASM SIMD: i64x2.extmul_low/high_i32x4_s, i64x2.add, i64x2.shr_s.
 *   The result (still 64-bit) is then offset by the output zero point and clamped to
 *   [clamp_lo, clamp_hi] (a fused Relu/Clip, always intersected with the output dtype range)
 *   before narrowing; the clamp is what saturates.
 * - `rq_mode: 'float'` reproduces ONNX QLinearConv/QLinearMatMul: y = roundHalfEven(acc * s) + zp
 *   with the product taken in float64 and s the per-channel float32 multiplier
 *   fround(fround(x_scale * w_scale) / y_scale) (attribute `scale`).
 * - `rq_mode: 'tflite'` reproduces TFLite's integer kernels (tensorflow/lite/kernels/internal/
 *   common.h MultiplyByQuantizedMultiplier, "double rounding"): with the same M and n as 'fixed'
 *   (n = 31 - TFLite's shift exponent), a = acc << max(0, 31 - n) (int32, wrapping), then
 *   h = floor((a * M + 2^30) / 2^31) (SaturatingRoundingDoublingHighMul; M >= 0 never saturates),
 *   then RoundingDivideByPOT(h, max(0, n - 31)): round half away from zero. See `rqTflite`.
 * - `y_dtype: 'i32'` (QConv/QGemm only) returns the raw accumulator (ConvInteger/MatMulInteger).
 */
import { roundHalfEven } from '../ir/dtype.js';
import { Dim, Shape, Tensor, TensorType, numel, stridesOf } from '../ir/tensor.js';
import { internal, invalid, unsupported } from '../errors.js';
import { AttrReader, Cost, InferCtx, defineOp, need, normAxis } from './registry.js';
import { ConvAttrs, convCore, geom3, readConvAttrs, readWindowAttrs, WindowAttrs, windowDim, windowParams, elemsOf } from './conv.js';

// ---------------------------------------------------------------------------------------------
// The fixed-point requantization spec
// ---------------------------------------------------------------------------------------------

/** Largest right shift a fixed-point multiplier may use. */
export const MAX_SHIFT = 62;

/** A fixed-point multiplier: m ~= multiplier * 2^-shift, multiplier in [0, 2^31). */
export interface FixedMultiplier {
  multiplier: number;
  shift: number;
}

/**
 * Encodes a real multiplier m >= 0 as M * 2^-n with M in [2^30, 2^31) (normalized Q31) and
 * n in [0, 62]. Very small m lose low bits of M (down to M = 0); m >= 2^31 is rejected.
 * @param m the real multiplier (e.g. x_scale * w_scale / y_scale)
 */
export function quantizeMultiplier(m: number): FixedMultiplier {
  if (!Number.isFinite(m) || m < 0) throw invalid(`requantization multiplier ${m} must be finite and >= 0`);
  if (m === 0) return { multiplier: 0, shift: 0 };
  // m = f * 2^e with f in [0.5, 1)
  let e = Math.floor(Math.log2(m)) + 1;
  if (m / 2 ** e >= 1) e += 1;
  if (m / 2 ** e < 0.5) e -= 1;
  let M = roundHalfEven((m / 2 ** e) * 2 ** 31);
  if (M === 2 ** 31) {
    M = 2 ** 30;
    e += 1;
  }
  let n = 31 - e;
  if (n < 0) throw unsupported(`requantization multiplier ${m} is too large (>= 2^31)`);
  if (n > MAX_SHIFT) {
    M = roundHalfEven(M / 2 ** (n - MAX_SHIFT));
    n = MAX_SHIFT;
  }
  return { multiplier: M, shift: n };
}

/**
 * Per-channel multipliers m_j as fixed-point pairs with ONE shared shift when that costs no real
 * precision: n is the shift of the largest m_j and every nonzero M_j = roundHalfEven(m_j * 2^n) keeps
 * at least 2^22 (23 significant bits); otherwise each channel gets its own normalized pair
 * (quantizeMultiplier). The requantization formula is the same either way; a shared shift lets
 * kernels that vectorize across output channels shift all lanes with one instruction.
 * @param ms real multipliers, one per output channel (>= 0)
 */
export function quantizeMultipliers(ms: readonly number[]): { multiplier: number[]; shift: number[] } {
  const f = ms.map((m) => quantizeMultiplier(m));
  const own = { multiplier: f.map((x) => x.multiplier), shift: f.map((x) => x.shift) };
  const nz = f.filter((x) => x.multiplier !== 0);
  if (nz.length < 2) return own;
  const n = Math.min(...nz.map((x) => x.shift));
  const M = ms.map((m) => roundHalfEven(m * 2 ** n));
  const ok = M.every((v, j) => (f[j]!.multiplier === 0 ? v === 0 : v >= 2 ** 22 && v < 2 ** 31));
  return ok ? { multiplier: M, shift: M.map(() => n) } : own;
}

/**
 * The fixed-point rescale: floor((acc * M + 2^(n-1)) / 2^n), exact (acc*M in 64 bits).
 * @param acc an int32 accumulator (or any integer with |acc * M| < 2^63)
 * @param M multiplier in [0, 2^31)
 * @param n right shift in [0, 62]
 */
export function rqFixed(acc: number, M: number, n: number): number {
  const p = acc * M;
  if (Math.abs(p) < 2 ** 52) {
    if (n === 0) return p;
    return Math.floor((p + 2 ** (n - 1)) / 2 ** n);
  }
  const b = BigInt(acc) * BigInt(M);
  if (n === 0) return Number(b);
  return Number((b + (1n << BigInt(n - 1))) >> BigInt(n));
}

/**
 * TFLite's MultiplyByQuantizedMultiplier(acc, M, 31 - n): SaturatingRoundingDoublingHighMul of
 * the left-shifted accumulator (int32 wrap) by M, then RoundingDivideByPOT (half away from zero).
 * @param acc an int32 accumulator
 * @param M multiplier in (-2^31, 2^31) (negative: TFLite's SUB negates the second input's)
 * @param n total right shift in [0, 62] (TFLite shift exponent = 31 - n)
 */
export function rqTflite(acc: number, M: number, n: number): number {
  const ls = n < 31 ? 31 - n : 0;
  const rs = n > 31 ? n - 31 : 0;
  const a = ls ? wrapI32(acc * 2 ** ls) : acc;
  const p = a * M;
  let h: number;
  if (Math.abs(p) < 2 ** 52) h = Math.floor((p + 2 ** 30) / 2 ** 31);
  else h = Number((BigInt(a) * BigInt(M) + (1n << 30n)) >> 31n);
  return roundingDivideByPOT(h, rs);
}

/** TFLite's RoundingDivideByPOT: x / 2^e rounded half away from zero (x an int32). */
export function roundingDivideByPOT(x: number, e: number): number {
  if (e === 0) return x;
  const q = Math.floor(x / 2 ** e);
  const rem = x - q * 2 ** e;
  const threshold = 2 ** (e - 1) - 1 + (x < 0 ? 1 : 0);
  return q + (rem > threshold ? 1 : 0);
}

/** Wraps an exact integer to int32 (two's complement), as i32 arithmetic does. */
export function wrapI32(v: number): number {
  if (v >= -2147483648 && v <= 2147483647) return v;
  return Number(BigInt.asIntN(32, BigInt(v)));
}

/** Integer range of a quantized dtype. */
export function qRange(dt: QDType): [number, number] {
  return dt === 'u8' ? [0, 255] : dt === 'i8' ? [-128, 127] : [-2147483648, 2147483647];
}

export type QDType = 'i8' | 'u8' | 'i32';

// ---------------------------------------------------------------------------------------------
// Shared attributes: the output stage (requantize, zero point, clamp)
// ---------------------------------------------------------------------------------------------

/** Parsed output-stage attributes. */
export interface OutStage {
  mode: 'fixed' | 'float' | 'tflite';
  /** Per channel (or 1). */
  multiplier: number[];
  shift: number[];
  /** Float multipliers (mode 'float'). */
  scale: number[];
  yZeroPoint: number;
  yDtype: QDType;
  lo: number;
  hi: number;
}

/**
 * Reads y_dtype, y_zero_point, rq_mode, multiplier/shift (fixed) or scale (float), clamp_lo/hi.
 * @param r attribute reader
 * @param allowI32 whether y_dtype 'i32' (raw accumulator) is allowed
 */
export function readOutStage(r: AttrReader, allowI32: boolean): OutStage {
  const yDtype = r.oneOf<QDType>('y_dtype', 'i8', allowI32 ? ['i8', 'u8', 'i32'] : ['i8', 'u8']);
  const mode = r.oneOf<'fixed' | 'float' | 'tflite'>('rq_mode', 'fixed', ['fixed', 'float', 'tflite']);
  const [dlo, dhi] = qRange(yDtype);
  const yZeroPoint = r.int('y_zero_point', 0);
  if (yDtype !== 'i32' && (yZeroPoint < dlo || yZeroPoint > dhi)) throw r.error(`y_zero_point ${yZeroPoint} is outside the ${yDtype} range`);
  const lo = Math.max(dlo, r.int('clamp_lo', dlo));
  const hi = Math.min(dhi, r.int('clamp_hi', dhi));
  if (lo > hi) throw r.error(`clamp range [${lo}, ${hi}] is empty`);
  let multiplier: number[] = [];
  let shift: number[] = [];
  let scale: number[] = [];
  if (yDtype !== 'i32') {
    if (mode !== 'float') {
      multiplier = r.ints('multiplier') ?? [];
      shift = r.ints('shift') ?? [];
      if (multiplier.length === 0 || multiplier.length !== shift.length) {
        throw r.error('attributes "multiplier" and "shift" are required and must have the same length');
      }
      if (multiplier.some((m) => m < 0 || m >= 2 ** 31)) throw r.error('multiplier values must lie in [0, 2^31)');
      if (shift.some((s) => s < 0 || s > MAX_SHIFT)) throw r.error(`shift values must lie in [0, ${MAX_SHIFT}]`);
    } else {
      scale = r.floats('scale') ?? [];
      if (scale.length === 0 || scale.some((s) => !Number.isFinite(s) || s < 0)) throw r.error('attribute "scale" must hold finite values >= 0');
    }
  }
  return { mode, multiplier, shift, scale, yZeroPoint, yDtype, lo, hi };
}

/** Number of per-channel entries of an output stage. */
export function stageLen(s: OutStage): number {
  return s.mode === 'float' ? s.scale.length : s.multiplier.length;
}

/**
 * Applies the output stage to one int32 accumulator of channel c.
 * @param s output stage
 * @param acc accumulator (already wrapped to int32)
 * @param c channel index into per-channel lists (0 when per-tensor)
 */
export function outStage(s: OutStage, acc: number, c: number): number {
  if (s.yDtype === 'i32') return acc;
  const k = stageLen(s) === 1 ? 0 : c;
  const v = s.mode === 'fixed'
    ? rqFixed(acc, s.multiplier[k]!, s.shift[k]!) + s.yZeroPoint
    : s.mode === 'tflite' ? rqTflite(acc, s.multiplier[k]!, s.shift[k]!) + s.yZeroPoint
      : roundHalfEven(acc * s.scale[k]!) + s.yZeroPoint;
  return v < s.lo ? s.lo : v > s.hi ? s.hi : v;
}

function check8(op: string, t: TensorType | Tensor, what: string): void {
  if (t.dtype !== 'i8' && t.dtype !== 'u8') throw unsupported(`${op}: ${what} must be int8 or uint8, got ${t.dtype}`);
}

function checkZp(r: AttrReader, v: number, what: string): number {
  if (!Number.isInteger(v) || v < -128 || v > 255) throw r.error(`${what} ${v} is not an 8-bit value`);
  return v;
}

/** Output tensor of a quantized op, filled by `f(i)`. */
function fill(dt: QDType, shape: readonly number[], f: (i: number) => number): Tensor {
  const out = Tensor.zeros(dt, shape);
  const d = out.data as Int8Array | Uint8Array | Int32Array;
  for (let i = 0; i < d.length; i++) d[i] = f(i);
  return out;
}

/** Integer data minus zero point(s) as float64; zp per slice of axis 0 when it has >1 value. */
function centered(t: Tensor, zp: readonly number[]): Float64Array {
  const out = new Float64Array(t.size);
  const d = t.data as ArrayLike<number>;
  const lead = zp.length > 1 ? t.shape[0]! : 1;
  const inner = t.size / lead;
  for (let c = 0; c < lead; c++) {
    const z = zp[zp.length > 1 ? c : 0] ?? 0;
    for (let i = c * inner; i < (c + 1) * inner; i++) out[i] = d[i]! - z;
  }
  return out;
}

function checkBiasI32(op: string, b: Tensor | null, n: number): void {
  if (!b) return;
  if (b.dtype !== 'i32') throw invalid(`${op}: bias must be int32, got ${b.dtype}`);
  if (b.size !== n) throw invalid(`${op}: bias has ${b.size} values, expected ${n}`);
}

function checkPerChannel(op: string, what: string, len: number, n: number): void {
  if (len !== 1 && len !== n) throw invalid(`${op}: ${what} has ${len} values, expected 1 or ${n}`);
}

// ---------------------------------------------------------------------------------------------
// QConv
// ---------------------------------------------------------------------------------------------

export interface QConvAttrs extends ConvAttrs {
  xZeroPoint: number;
  wZeroPoint: number[];
  out: OutStage;
}

function convOutDims(ctx: InferCtx, x: Shape, w: Shape, a: ConvAttrs): Dim[] {
  const nd = x.length - 2;
  const p = windowParams(a, nd, w.slice(2), ctx.node.op);
  return x.slice(2).map((I, i) => {
    const k = p.kernel[i]!;
    if (typeof I !== 'number' || k < 0) return ctx.freshDim('s');
    return windowDim(I, k, p.strides[i]!, p.dilations[i]!, p.pads[i]!, p.pads[i + nd]!, a.autoPad, false, ctx.node.op)[0];
  });
}

// y[n,m,o] = out(sum_{c,k} (x[n,c,o*s+k*d-p] - zx) * (w[m,c,k] - zw[m]) + bias[m]); padding reads zx
export const QConv = defineOp<QConvAttrs>({
  name: 'QConv',
  domain: 'edgec',
  since: 1,
  arity: [2, 3],
  attrs: (r) => ({
    ...readConvAttrs(r),
    xZeroPoint: checkZp(r, r.int('x_zero_point', 0), 'x_zero_point'),
    wZeroPoint: (r.ints('w_zero_point') ?? [0]).map((z) => checkZp(r, z, 'w_zero_point')),
    out: readOutStage(r, true),
  }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QConv');
    const w = need(ctx.inputs[1], 1, 'QConv');
    check8('QConv', x, 'input');
    check8('QConv', w, 'weight');
    if (x.shape.length < 3 || w.shape.length !== x.shape.length) throw invalid(`QConv: input rank ${x.shape.length} / weight rank ${w.shape.length} mismatch`);
    return [{ dtype: a.out.yDtype, shape: [x.shape[0]!, w.shape[0]!, ...convOutDims(ctx, x.shape, w.shape, a)] }];
  },
  ref: (ins, a) => {
    const op = 'QConv';
    const x = need(ins[0], 0, op);
    const w = need(ins[1], 1, op);
    const b = ins[2] ?? null;
    check8(op, x, 'input');
    check8(op, w, 'weight');
    const [N, C] = [x.shape[0]!, x.shape[1]!];
    const M = w.shape[0]!;
    if (C % a.group !== 0 || M % a.group !== 0 || w.shape[1]! * a.group !== C) {
      throw invalid(`${op}: channels (input ${C}, weight [${w.shape.join(',')}]) do not match group ${a.group}`);
    }
    checkBiasI32(op, b, M);
    checkPerChannel(op, 'w_zero_point', a.wZeroPoint.length, M);
    if (a.out.yDtype !== 'i32') checkPerChannel(op, 'multiplier', stageLen(a.out), M);
    const nd = x.shape.length - 2;
    const p = windowParams(a, nd, w.shape.slice(2), op);
    const g = geom3(x.shape.slice(2), p, a.autoPad, false, op);
    const acc = convCore(centered(x, [a.xZeroPoint]), centered(w, a.wZeroPoint), b ? (b.data as Int32Array) : null, N, C, M, a.group, g);
    const plane = g.O[0] * g.O[1] * g.O[2];
    const shape = [N, M, ...g.O.slice(3 - nd)];
    return [fill(a.out.yDtype, shape, (i) => outStage(a.out, wrapI32(acc[i]!), Math.floor(i / plane) % M))];
  },
  cost: (ctx, _a, outs): Cost => {
    const w = ctx.inputs[1];
    const y = outs[0];
    if (!w || !y) return { macs: 0, flops: 0 };
    return { macs: elemsOf(y.shape) * elemsOf(w.shape.slice(1)), flops: elemsOf(y.shape) };
  },
});

// ---------------------------------------------------------------------------------------------
// QGemm
// ---------------------------------------------------------------------------------------------

export interface QGemmAttrs {
  transB: number;
  xZeroPoint: number;
  wZeroPoint: number[];
  out: OutStage;
}

/** [K, N] of the weight given its layout. */
function kn(w: Shape, transB: number): [Dim, Dim] {
  return transB ? [w[1]!, w[0]!] : [w[0]!, w[1]!];
}

// y[..., j] = out(sum_k (a[..., k] - za) * (w[k, j] - zw[j]) + bias[j]); w is [N, K] when trans_b = 1
export const QGemm = defineOp<QGemmAttrs>({
  name: 'QGemm',
  domain: 'edgec',
  since: 1,
  arity: [2, 3],
  attrs: (r) => ({
    transB: r.int('trans_b', 0),
    xZeroPoint: checkZp(r, r.int('x_zero_point', 0), 'x_zero_point'),
    wZeroPoint: (r.ints('w_zero_point') ?? [0]).map((z) => checkZp(r, z, 'w_zero_point')),
    out: readOutStage(r, true),
  }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QGemm');
    const w = need(ctx.inputs[1], 1, 'QGemm');
    check8('QGemm', x, 'input');
    check8('QGemm', w, 'weight');
    if (x.shape.length < 1 || w.shape.length !== 2) throw invalid('QGemm: input must have rank >= 1 and the weight rank 2');
    const [K, N] = kn(w.shape, a.transB);
    const xk = x.shape[x.shape.length - 1]!;
    if (typeof xk === 'number' && typeof K === 'number' && xk !== K) throw invalid(`QGemm: inner dims differ (${xk} vs ${K})`);
    return [{ dtype: a.out.yDtype, shape: [...x.shape.slice(0, -1), N] }];
  },
  ref: (ins, a) => {
    const op = 'QGemm';
    const x = need(ins[0], 0, op);
    const w = need(ins[1], 1, op);
    const b = ins[2] ?? null;
    check8(op, x, 'input');
    check8(op, w, 'weight');
    const [K, N] = kn(w.shape, a.transB) as [number, number];
    if (x.shape[x.shape.length - 1] !== K) throw invalid(`${op}: inner dims differ (${x.shape[x.shape.length - 1]} vs ${K})`);
    checkBiasI32(op, b, N);
    checkPerChannel(op, 'w_zero_point', a.wZeroPoint.length, N);
    if (a.out.yDtype !== 'i32') checkPerChannel(op, 'multiplier', stageLen(a.out), N);
    const rows = x.size / K;
    const xd = x.data as ArrayLike<number>;
    const wd = w.data as ArrayLike<number>;
    const bd = b ? (b.data as Int32Array) : null;
    const zw = (j: number) => a.wZeroPoint[a.wZeroPoint.length > 1 ? j : 0]!;
    const [sk, sn] = a.transB ? [1, K] : [N, 1];
    return [fill(a.out.yDtype, [...x.shape.slice(0, -1), N], (i) => {
      const r = Math.floor(i / N);
      const j = i % N;
      let acc = bd ? bd[j]! : 0;
      const z = zw(j);
      for (let k = 0; k < K; k++) acc += (xd[r * K + k]! - a.xZeroPoint) * (wd[k * sk + j * sn]! - z);
      void rows;
      return outStage(a.out, wrapI32(acc), j);
    })];
  },
  cost: (ctx, a, outs): Cost => {
    const w = ctx.inputs[1];
    const y = outs[0];
    if (!w || !y) return { macs: 0, flops: 0 };
    const K = kn(w.shape, a.transB)[0];
    return { macs: elemsOf(y.shape) * (typeof K === 'number' ? K : 1), flops: elemsOf(y.shape) };
  },
});

// ---------------------------------------------------------------------------------------------
// Elementwise: QAdd, QMul (numpy broadcasting)
// ---------------------------------------------------------------------------------------------

/** Broadcast iteration: output shape plus flat input indices for each output element. */
function bcast(a: Tensor, b: Tensor): { shape: number[]; ia: Int32Array; ib: Int32Array } {
  const rank = Math.max(a.shape.length, b.shape.length);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i] ?? 1;
    const db = b.shape[b.shape.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw invalid(`shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] cannot be broadcast`);
    shape.push(da === 1 ? db : da);
  }
  const n = numel(shape);
  const idx = (t: Tensor): Int32Array => {
    const st = stridesOf(t.shape);
    const out = new Int32Array(n);
    const ost = stridesOf(shape);
    for (let j = 0; j < n; j++) {
      let off = 0;
      for (let d = 0; d < rank; d++) {
        const k = t.shape.length - rank + d;
        if (k < 0 || t.shape[k] === 1) continue;
        off += (Math.floor(j / ost[d]!) % shape[d]!) * st[k]!;
      }
      out[j] = off;
    }
    return out;
  };
  return { shape, ia: idx(a), ib: idx(b) };
}

function bcastInfer(ctx: InferCtx, op: string, dt: QDType): TensorType[] {
  const a = need(ctx.inputs[0], 0, op);
  const b = need(ctx.inputs[1], 1, op);
  check8(op, a, 'input A');
  check8(op, b, 'input B');
  const rank = Math.max(a.shape.length, b.shape.length);
  const shape: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i] ?? 1;
    const db = b.shape[b.shape.length - rank + i] ?? 1;
    shape.push(da === 1 ? db : da);
  }
  return [{ dtype: dt, shape }];
}

export interface QAddAttrs {
  /** 'fixed' (one rounding) or 'tflite' (TFLite's ADD/SUB: left shift, per-input and output multipliers). */
  mode: 'fixed' | 'tflite';
  /** tflite: inputs are shifted left by this much before their multipliers (20 for int8). */
  leftShift: number;
  /** tflite: right shifts (31 - TFLite exponent) of the input multipliers; `shift` is the output's. */
  aShift: number;
  bShift: number;
  /** tflite: output multiplier. */
  multiplier: number;
  aZeroPoint: number;
  bZeroPoint: number;
  aMultiplier: number;
  bMultiplier: number;
  shift: number;
  yZeroPoint: number;
  yDtype: QDType;
  lo: number;
  hi: number;
}

function readBinaryOut(r: AttrReader): Pick<QAddAttrs, 'yZeroPoint' | 'yDtype' | 'lo' | 'hi'> {
  const yDtype = r.oneOf<QDType>('y_dtype', 'i8', ['i8', 'u8']);
  const [dlo, dhi] = qRange(yDtype);
  const yZeroPoint = r.int('y_zero_point', 0);
  if (yZeroPoint < dlo || yZeroPoint > dhi) throw r.error(`y_zero_point ${yZeroPoint} is outside the ${yDtype} range`);
  const lo = Math.max(dlo, r.int('clamp_lo', dlo));
  const hi = Math.min(dhi, r.int('clamp_hi', dhi));
  if (lo > hi) throw r.error(`clamp range [${lo}, ${hi}] is empty`);
  return { yDtype, yZeroPoint, lo, hi };
}

function fixedAttr(r: AttrReader, name: string, signed = false): number {
  const v = r.int(name);
  const lo = signed ? -(2 ** 31) + 1 : 0;
  if (v === undefined || v < lo || v >= 2 ** 31) throw r.error(`attribute "${name}" must be an integer in [${signed ? '-2^31+1' : '0'}, 2^31)`);
  return v;
}

function shiftAttr(r: AttrReader): number {
  const v = r.int('shift');
  if (v === undefined || v < 0 || v > MAX_SHIFT) throw r.error(`attribute "shift" must be an integer in [0, ${MAX_SHIFT}]`);
  return v;
}

/** floor((v + 2^(n-1)) / 2^n) for an exact integer |v| < 2^53 (n = 0: v). */
export function roundShift(v: number, n: number): number {
  return n === 0 ? v : Math.floor((v + 2 ** (n - 1)) / 2 ** n);
}

// y = clamp(zy + floor((Ma*(a - za) + Mb*(b - zb) + 2^(n-1)) / 2^n)); Ma ~ sa/sy*2^n, Mb ~ +-sb/sy*2^n
// (signed multipliers: Sub lowers to QAdd with a negative Mb)
// rq_mode 'tflite' (TFLite's int8 ADD/SUB, reference_integer_ops::Add), with T = rqTflite:
// y = clamp(zy + T(T((a - za) << L, Ma, na) + T((b - zb) << L, Mb, nb), M, shift)); Mb < 0 is SUB
export const QAdd = defineOp<QAddAttrs>({
  name: 'QAdd',
  domain: 'edgec',
  since: 1,
  arity: [2, 2],
  attrs: (r) => {
    const mode = r.oneOf<'fixed' | 'tflite'>('rq_mode', 'fixed', ['fixed', 'tflite']);
    const tfl = mode === 'tflite';
    const leftShift = tfl ? r.int('left_shift', 20) : 0;
    if (!Number.isInteger(leftShift) || leftShift < 0 || leftShift > 30) throw r.error('attribute "left_shift" must be an integer in [0, 30]');
    const shiftOf = (name: string): number => {
      const v = r.int(name);
      if (v === undefined || v < 0 || v > MAX_SHIFT) throw r.error(`attribute "${name}" must be an integer in [0, ${MAX_SHIFT}]`);
      return v;
    };
    return {
      mode, leftShift,
      aShift: tfl ? shiftOf('a_shift') : 0,
      bShift: tfl ? shiftOf('b_shift') : 0,
      multiplier: tfl ? fixedAttr(r, 'multiplier') : 0,
      aZeroPoint: checkZp(r, r.int('a_zero_point', 0), 'a_zero_point'),
      bZeroPoint: checkZp(r, r.int('b_zero_point', 0), 'b_zero_point'),
      aMultiplier: fixedAttr(r, 'a_multiplier', true),
      bMultiplier: fixedAttr(r, 'b_multiplier', true),
      shift: shiftAttr(r),
      ...readBinaryOut(r),
    };
  },
  infer: (ctx, a) => bcastInfer(ctx, 'QAdd', a.yDtype),
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'QAdd');
    const y = need(ins[1], 1, 'QAdd');
    check8('QAdd', x, 'input A');
    check8('QAdd', y, 'input B');
    const { shape, ia, ib } = bcast(x, y);
    const xd = x.data as ArrayLike<number>;
    const yd = y.data as ArrayLike<number>;
    if (a.mode === 'tflite') {
      const l = 2 ** a.leftShift;
      return [fill(a.yDtype, shape, (i) => {
        const s = rqTflite(wrapI32((xd[ia[i]!]! - a.aZeroPoint) * l), a.aMultiplier, a.aShift) + rqTflite(wrapI32((yd[ib[i]!]! - a.bZeroPoint) * l), a.bMultiplier, a.bShift);
        const v = rqTflite(wrapI32(s), a.multiplier, a.shift) + a.yZeroPoint;
        return v < a.lo ? a.lo : v > a.hi ? a.hi : v;
      })];
    }
    return [fill(a.yDtype, shape, (i) => {
      // |Ma*(a-za)| < 2^31 * 2^9 = 2^40: exact in float64
      const s = a.aMultiplier * (xd[ia[i]!]! - a.aZeroPoint) + a.bMultiplier * (yd[ib[i]!]! - a.bZeroPoint);
      const v = roundShift(s, a.shift) + a.yZeroPoint;
      return v < a.lo ? a.lo : v > a.hi ? a.hi : v;
    })];
  },
});

export interface QMulAttrs {
  /** 'fixed' (one rounding) or 'tflite' (TFLite's MUL: MultiplyByQuantizedMultiplier, double rounding). */
  mode: 'fixed' | 'tflite';
  aZeroPoint: number;
  bZeroPoint: number;
  multiplier: number;
  shift: number;
  yZeroPoint: number;
  yDtype: QDType;
  lo: number;
  hi: number;
}

// y = clamp(zy + rq((a - za) * (b - zb), M, n)); M * 2^-n ~ sa*sb/sy; rq_mode 'tflite' (TFLite's
// int8/uint8 MUL, reference_integer_ops::Mul / BroadcastMul6DSlow): rq = rqTflite
export const QMul = defineOp<QMulAttrs>({
  name: 'QMul',
  domain: 'edgec',
  since: 1,
  arity: [2, 2],
  attrs: (r) => ({
    mode: r.oneOf<'fixed' | 'tflite'>('rq_mode', 'fixed', ['fixed', 'tflite']),
    aZeroPoint: checkZp(r, r.int('a_zero_point', 0), 'a_zero_point'),
    bZeroPoint: checkZp(r, r.int('b_zero_point', 0), 'b_zero_point'),
    multiplier: fixedAttr(r, 'multiplier'),
    shift: shiftAttr(r),
    ...readBinaryOut(r),
  }),
  infer: (ctx, a) => bcastInfer(ctx, 'QMul', a.yDtype),
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'QMul');
    const y = need(ins[1], 1, 'QMul');
    check8('QMul', x, 'input A');
    check8('QMul', y, 'input B');
    const { shape, ia, ib } = bcast(x, y);
    const xd = x.data as ArrayLike<number>;
    const yd = y.data as ArrayLike<number>;
    return [fill(a.yDtype, shape, (i) => {
      const p = (xd[ia[i]!]! - a.aZeroPoint) * (yd[ib[i]!]! - a.bZeroPoint);
      const v = (a.mode === 'tflite' ? rqTflite(p, a.multiplier, a.shift) : rqFixed(p, a.multiplier, a.shift)) + a.yZeroPoint;
      return v < a.lo ? a.lo : v > a.hi ? a.hi : v;
    })];
  },
});

// ---------------------------------------------------------------------------------------------
// Requantize, QReduceMean (also GlobalAveragePool), QAvgPool
// ---------------------------------------------------------------------------------------------

export interface RequantizeAttrs {
  xZeroPoint: number;
  out: OutStage;
}

// y = clamp(zy + rq(x - zx, M, n)); x int8/uint8/int32
export const Requantize = defineOp<RequantizeAttrs>({
  name: 'Requantize',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: (r) => ({ xZeroPoint: r.int('x_zero_point', 0), out: readOutStage(r, false) }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'Requantize');
    if (x.dtype !== 'i8' && x.dtype !== 'u8' && x.dtype !== 'i32') throw unsupported(`Requantize: input must be int8, uint8 or int32, got ${x.dtype}`);
    return [{ dtype: a.out.yDtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Requantize');
    if (stageLen(a.out) !== 1) throw invalid('Requantize: only per-tensor multipliers are supported');
    const d = x.data as ArrayLike<number>;
    return [fill(a.out.yDtype, x.shape, (i) => outStage(a.out, d[i]! - a.xZeroPoint, 0))];
  },
});

export interface QReduceMeanAttrs {
  axes: number[];
  keepdims: number;
  xZeroPoint: number;
  out: OutStage;
}

// y = clamp(zy + rq(sum_{reduced axes}(x - zx), M, n)); M * 2^-n ~ sx / (sy * count)
// rq_mode 'tflite' (TFLite's int8/uint8 MEAN, reference_integer_ops::Mean): M * 2^-n ~ sx / sy and
// y = clamp(zy + roundedDiv(rqTflite(sum(x - zx), M, n), count)) (division rounded half away from zero)
export const QReduceMean = defineOp<QReduceMeanAttrs>({
  name: 'QReduceMean',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const axes = r.ints('axes');
    if (!axes || axes.length === 0) throw r.error('attribute "axes" is required');
    return { axes, keepdims: r.int('keepdims', 1), xZeroPoint: checkZp(r, r.int('x_zero_point', 0), 'x_zero_point'), out: readOutStage(r, false) };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QReduceMean');
    check8('QReduceMean', x, 'input');
    const ax = new Set(a.axes.map((v) => normAxis(v, x.shape.length)));
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!ax.has(i)) shape.push(d);
      else if (a.keepdims) shape.push(1);
    });
    return [{ dtype: a.out.yDtype, shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'QReduceMean');
    check8('QReduceMean', x, 'input');
    if (stageLen(a.out) !== 1) throw invalid('QReduceMean: only per-tensor multipliers are supported');
    const rank = x.shape.length;
    const ax = new Set(a.axes.map((v) => normAxis(v, rank)));
    const keptShape = x.shape.map((d, i) => (ax.has(i) ? 1 : d));
    const kst = stridesOf(keptShape);
    const xst = stridesOf(x.shape);
    const sums = new Float64Array(numel(keptShape));
    const d = x.data as ArrayLike<number>;
    for (let i = 0; i < x.size; i++) {
      let o = 0;
      for (let k = 0; k < rank; k++) if (!ax.has(k)) o += (Math.floor(i / xst[k]!) % x.shape[k]!) * kst[k]!;
      sums[o]! += d[i]! - a.xZeroPoint;
    }
    const shape = a.keepdims ? keptShape : x.shape.filter((_, i) => !ax.has(i));
    if (a.out.mode === 'tflite') {
      const count = x.size / sums.length;
      return [fill(a.out.yDtype, shape, (i) => {
        const t = rqTflite(wrapI32(sums[i]!), a.out.multiplier[0]!, a.out.shift[0]!);
        const v = roundedDiv(t, count) + a.out.yZeroPoint;
        return v < a.out.lo ? a.out.lo : v > a.out.hi ? a.out.hi : v;
      })];
    }
    return [fill(a.out.yDtype, shape, (i) => outStage(a.out, wrapI32(sums[i]!), 0))];
  },
});

export interface QAvgPoolAttrs extends WindowAttrs {
  /** 'fixed': per-count multipliers; 'tflite': TFLite's rounded division (half away from zero). */
  mode: 'fixed' | 'tflite';
  ceil: boolean;
  countIncludePad: boolean;
  xZeroPoint: number;
  /** Indexed by (element count - 1): the multiplier for a window of that many elements. */
  multipliers: number[];
  shifts: number[];
  yZeroPoint: number;
  yDtype: QDType;
  lo: number;
  hi: number;
}

/** TFLite's integer average: sum / count rounded half away from zero (C++ division truncates). */
export function roundedDiv(sum: number, count: number): number {
  const h = Math.floor(count / 2);
  return Math.trunc(sum > 0 ? (sum + h) / count : (sum - h) / count);
}

// y = clamp(zy + rq(sum_window(x - zx), M[cnt-1], n[cnt-1])); cnt = window size (with or without pads)
// rq_mode 'tflite': y = clamp(zy + roundedDiv(sum_window(x - zx), cnt)) (TFLite AVERAGE_POOL_2D: zx = zy = 0)
export const QAvgPool = defineOp<QAvgPoolAttrs>({
  name: 'QAvgPool',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const w = readWindowAttrs(r, true);
    const mode = r.oneOf<'fixed' | 'tflite'>('rq_mode', 'fixed', ['fixed', 'tflite']);
    const multipliers = r.ints('multipliers') ?? [];
    const shifts = r.ints('shifts') ?? [];
    const vol = w.kernelShape!.reduce((p, k) => p * k, 1);
    if (mode === 'fixed' && (multipliers.length !== vol || shifts.length !== vol)) throw r.error(`"multipliers" and "shifts" need one entry per window size 1..${vol}`);
    if (w.dilations && w.dilations.some((d) => d !== 1)) throw r.unsupported('QAvgPool: dilations are not supported');
    return {
      ...w, mode, ceil: r.int('ceil_mode', 0) !== 0, countIncludePad: r.int('count_include_pad', 0) !== 0,
      xZeroPoint: checkZp(r, r.int('x_zero_point', 0), 'x_zero_point'), multipliers, shifts, ...readBinaryOut(r),
    };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QAvgPool');
    check8('QAvgPool', x, 'input');
    const nd = x.shape.length - 2;
    const p = windowParams(a, nd, undefined, 'QAvgPool');
    const dims = x.shape.slice(2).map((I, i) => (typeof I !== 'number' ? ctx.freshDim('s')
      : windowDim(I, p.kernel[i]!, p.strides[i]!, 1, p.pads[i]!, p.pads[i + nd]!, a.autoPad, a.ceil, 'QAvgPool')[0]));
    return [{ dtype: a.yDtype, shape: [x.shape[0]!, x.shape[1]!, ...dims] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'QAvgPool');
    check8('QAvgPool', x, 'input');
    const nd = x.shape.length - 2;
    const p = windowParams(a, nd, undefined, 'QAvgPool');
    const g = geom3(x.shape.slice(2), p, a.autoPad, a.ceil, 'QAvgPool');
    const [N, C] = [x.shape[0]!, x.shape[1]!];
    const d = x.data as ArrayLike<number>;
    const [ID, IH, IW] = g.I;
    const [OD, OH, OW] = g.O;
    const out = Tensor.zeros(a.yDtype, [N, C, ...g.O.slice(3 - nd)]);
    const od = out.data as Int8Array | Uint8Array;
    let o = 0;
    for (let nc = 0; nc < N * C; nc++) {
      for (let z = 0; z < OD; z++) for (let y = 0; y < OH; y++) for (let xw = 0; xw < OW; xw++) {
        let sum = 0;
        let cnt = 0;
        let padCnt = 0;
        for (let kz = 0; kz < g.K[0]; kz++) for (let ky = 0; ky < g.K[1]; ky++) for (let kx = 0; kx < g.K[2]; kx++) {
          const iz = z * g.S[0] - g.P[0] + kz;
          const iy = y * g.S[1] - g.P[1] + ky;
          const ix = xw * g.S[2] - g.P[2] + kx;
          const inPad = iz < ID + g.E[0] && iy < IH + g.E[1] && ix < IW + g.E[2];
          if (iz < 0 || iy < 0 || ix < 0 || iz >= ID || iy >= IH || ix >= IW) {
            // padding (not past the end pads, as ONNX count_include_pad counts them)
            if (inPad && iz >= -g.P[0] && iy >= -g.P[1] && ix >= -g.P[2]) padCnt++;
            continue;
          }
          sum += d[((nc * ID + iz) * IH + iy) * IW + ix]! - a.xZeroPoint;
          cnt++;
        }
        const count = a.countIncludePad ? cnt + padCnt : cnt;
        if (count === 0) throw internal('QAvgPool: empty window');
        const v = (a.mode === 'tflite' ? roundedDiv(sum, count) : rqFixed(sum, a.multipliers[count - 1]!, a.shifts[count - 1]!)) + a.yZeroPoint;
        od[o++] = v < a.lo ? a.lo : v > a.hi ? a.hi : v;
      }
    }
    return [out];
  },
});


// ---------------------------------------------------------------------------------------------
// QSoftmax (TFLite's quantized softmax: float exp table over the 256 input differences)
// ---------------------------------------------------------------------------------------------

export interface QSoftmaxAttrs {
  /** table[255 - d] = expf(-x_scale * beta * d), float32 values, d = max - x in [0, 255]. */
  table: number[];
  yScale: number;
  yZeroPoint: number;
  yDtype: 'i8' | 'u8';
}

// Over the last axis, all in float32 as TFLite's optimized_ops::Softmax<In, Out> (the kernel of
// its int8/uint8 SOFTMAX): e_j = table[255 - max + x_j]; s = sum_j e_j (in order);
// inv = 1 / (s * y_scale); y_j = clamp(round(e_j * inv) + zy) (int8: half away from zero;
// uint8: trunc(e_j * inv + 0.5))
export const QSoftmax = defineOp<QSoftmaxAttrs>({
  name: 'QSoftmax',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const table = r.floats('table') ?? [];
    if (table.length !== 256 || table.some((v) => !Number.isFinite(v) || v < 0)) throw r.error('attribute "table" must hold 256 finite values >= 0');
    const yScale = r.float('y_scale', 0);
    if (!(yScale > 0) || !Number.isFinite(yScale)) throw r.error('attribute "y_scale" must be a positive number');
    const yDtype = r.oneOf<'i8' | 'u8'>('y_dtype', 'i8', ['i8', 'u8']);
    const [dlo, dhi] = qRange(yDtype);
    const yZeroPoint = r.int('y_zero_point', 0);
    if (yZeroPoint < dlo || yZeroPoint > dhi) throw r.error(`y_zero_point ${yZeroPoint} is outside the ${yDtype} range`);
    return { table: table.map((v) => Math.fround(v)), yScale: Math.fround(yScale), yZeroPoint, yDtype };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QSoftmax');
    check8('QSoftmax', x, 'input');
    if (x.shape.length < 1) throw invalid('QSoftmax: input must have rank >= 1');
    return [{ dtype: a.yDtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'QSoftmax');
    check8('QSoftmax', x, 'input');
    const L = x.shape[x.shape.length - 1]!;
    const d = x.data as ArrayLike<number>;
    const out = Tensor.zeros(a.yDtype, x.shape);
    const od = out.data as Int8Array | Uint8Array;
    const [lo, hi] = qRange(a.yDtype);
    const f = Math.fround;
    for (let r0 = 0; r0 < x.size; r0 += L) {
      let mx = -Infinity;
      for (let j = 0; j < L; j++) mx = Math.max(mx, d[r0 + j]!);
      let sum = 0;
      for (let j = 0; j < L; j++) sum = f(sum + a.table[255 - mx + d[r0 + j]!]!);
      const inv = f(1 / f(sum * a.yScale));
      for (let j = 0; j < L; j++) {
        const p = f(a.table[255 - mx + d[r0 + j]!]! * inv);
        const q = a.yDtype === 'i8' ? Math.sign(p) * Math.round(Math.abs(p)) + a.yZeroPoint : Math.trunc(f(p + 0.5));
        od[r0 + j] = q < lo ? lo : q > hi ? hi : q;
      }
    }
    return [out];
  },
});

// ---------------------------------------------------------------------------------------------
// TflQuantize (TFLite's float -> int8/uint8 QUANTIZE: rounds half away from zero)
// ---------------------------------------------------------------------------------------------

export interface TflQuantizeAttrs {
  /** The output scale, a float32 value. */
  scale: number;
  yZeroPoint: number;
  yDtype: 'i8' | 'u8';
}

/**
 * TfLiteRound(v): round half away from zero (std::round), unlike QuantizeLinear's half to even.
 * @param v a finite number
 */
export function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

// TFLite's AffineQuantize (optimized_ops / reference_ops, the float32 kernel of its builtin
// QUANTIZE): q = f32(x / scale); y = clamp(TfLiteRound(q) + zy) to the output dtype; NaN -> zy.
export const TflQuantize = defineOp<TflQuantizeAttrs>({
  name: 'TflQuantize',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const scale = Math.fround(r.float('scale', 0));
    if (!(scale > 0) || !Number.isFinite(scale)) throw r.error('attribute "scale" must be a positive finite number');
    const yDtype = r.oneOf<'i8' | 'u8'>('y_dtype', 'i8', ['i8', 'u8']);
    const [dlo, dhi] = qRange(yDtype);
    const yZeroPoint = r.int('y_zero_point', 0);
    if (yZeroPoint < dlo || yZeroPoint > dhi) throw r.error(`y_zero_point ${yZeroPoint} is outside the ${yDtype} range`);
    return { scale, yZeroPoint, yDtype };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'TflQuantize');
    if (x.dtype !== 'f32') throw unsupported(`TflQuantize: input must be float32, got ${x.dtype}`);
    return [{ dtype: a.yDtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'TflQuantize');
    const d = x.data as Float32Array;
    const [lo, hi] = qRange(a.yDtype);
    return [fill(a.yDtype, x.shape, (i) => {
      const q = Math.fround(d[i]! / a.scale);
      if (Number.isNaN(q)) return a.yZeroPoint;
      const v = roundHalfAway(q) + a.yZeroPoint;
      return v < lo ? lo : v > hi ? hi : v;
    })];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: 2 * elemsOf(outs[0]?.shape ?? []) }),
});

// ---------------------------------------------------------------------------------------------
// QLut (a 256-entry table lookup: TFLite's int8 / uint8 LOGISTIC and TANH)
// ---------------------------------------------------------------------------------------------

export interface QLutAttrs {
  /** y for each input byte: table[b] where b is the input's byte (two's complement for int8). */
  table: number[];
  yDtype: 'i8' | 'u8';
}

// y = table[byte(x)] (elementwise; the table is built by the importer, e.g. TFLite's LUTPopulate:
// table[byte(v)] = clamp(TfLiteRound(f(x_scale * (v - zx)) / y_scale) + zy) in float32)
export const QLut = defineOp<QLutAttrs>({
  name: 'QLut',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const yDtype = r.oneOf<'i8' | 'u8'>('y_dtype', 'i8', ['i8', 'u8']);
    const [lo, hi] = qRange(yDtype);
    const table = r.ints('table') ?? [];
    if (table.length !== 256 || table.some((v) => !Number.isInteger(v) || v < lo || v > hi)) throw r.error(`attribute "table" must hold 256 ${yDtype} values`);
    return { table, yDtype };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QLut');
    check8('QLut', x, 'input');
    return [{ dtype: a.yDtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'QLut');
    check8('QLut', x, 'input');
    const d = x.data as ArrayLike<number>;
    return [fill(a.yDtype, x.shape as number[], (i) => a.table[d[i]! & 0xff]!)];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: elemsOf(outs[0]?.shape ?? []) }),
});
