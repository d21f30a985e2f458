/**
 * QONNX custom ops (domain `qonnx.custom_op.general`; Brevitas exports the same ops under
 * `onnx.brevitas`, which QONNX resolves to the same implementations, and so do we):
 * Quant (alias IntQuant), BipolarQuant, Trunc, MultiThreshold.
 *
 * Semantics follow the QONNX reference implementations (qonnx/custom_op/general/*.py) exactly,
 * including their float32 arithmetic: every intermediate step is rounded to f32 the way numpy
 * computes on float32 arrays, so rounding boundaries (x / scale landing on .5) match bit for bit.
 */
import { DType, isFloat, roundHalfEven } from '../ir/dtype.js';
import { ConcreteShape, Tensor, TensorType, numel } from '../ir/tensor.js';
import { invalid } from '../errors.js';
import { AttrReader, Cost, DecomposeBuilder, InferCtx, OpDef, defineOp, need } from './registry.js';
import { ValueId } from '../ir/graph.js';
import { broadcastConcrete, broadcastIndex } from './util.js';

/** The QONNX domain, and the Brevitas export domain QONNX treats as an alias of it. */
export const QONNX_DOMAIN = 'qonnx.custom_op.general';
export const BREVITAS_DOMAIN = 'onnx.brevitas';

export type RoundingMode = 'ROUND' | 'HALF_EVEN' | 'CEIL' | 'FLOOR' | 'UP' | 'DOWN' | 'HALF_UP' | 'HALF_DOWN';
const ROUNDING_MODES: readonly RoundingMode[] = ['ROUND', 'HALF_EVEN', 'CEIL', 'FLOOR', 'UP', 'DOWN', 'HALF_UP', 'HALF_DOWN'];

/**
 * The rounding function of a QONNX rounding mode (resolve_rounding_mode): ROUND = HALF_EVEN
 * (numpy round), UP = away from zero, DOWN = toward zero, HALF_UP/HALF_DOWN = ties away/toward zero.
 */
export function roundingFn(mode: RoundingMode): (x: number) => number {
  switch (mode) {
    case 'ROUND': case 'HALF_EVEN': return roundHalfEvenSigned;
    case 'CEIL': return Math.ceil;
    case 'FLOOR': return Math.floor;
    case 'UP': return (x) => Math.sign(x) * Math.ceil(Math.abs(x));
    case 'DOWN': return Math.trunc;
    case 'HALF_UP': return (x) => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
    case 'HALF_DOWN': return (x) => Math.sign(x) * Math.ceil(Math.abs(x) - 0.5);
  }
}

/** Half-to-even rounding that keeps the sign of zero, as numpy's round does (round(-0.4) = -0). */
function roundHalfEvenSigned(x: number): number {
  const r = roundHalfEven(x);
  return r === 0 && x < 0 ? -0 : r;
}

/** Smallest integer of a (signed, narrow, bits) integer format (QONNX min_int). */
export function minInt(signed: boolean, narrow: boolean, bits: number): number {
  if (signed && narrow) return -(2 ** (bits - 1)) + 1;
  if (signed) return -(2 ** (bits - 1));
  return 0;
}

/** Largest integer of a (signed, narrow, bits) integer format (QONNX max_int). */
export function maxInt(signed: boolean, narrow: boolean, bits: number): number {
  if (!signed && !narrow) return 2 ** bits - 1;
  if (!signed && narrow) return 2 ** bits - 2;
  return 2 ** (bits - 1) - 1;
}

function readRounding(r: AttrReader, def: RoundingMode): RoundingMode {
  const s = r.string('rounding_mode', def).toUpperCase();
  if (!(ROUNDING_MODES as readonly string[]).includes(s)) {
    throw r.error(`attribute "rounding_mode" is "${s}", expected one of ${ROUNDING_MODES.join(', ')}`);
  }
  return s as RoundingMode;
}

function bool01(r: AttrReader, name: string, def: number): boolean {
  const v = r.int(name, def);
  if (v !== 0 && v !== 1) throw r.error(`attribute "${name}" must be 0 or 1, got ${v}`);
  return v === 1;
}

/** Rounds to the arithmetic dtype of the op (f32 mirrors numpy float32; f64 keeps doubles). */
function rounder(dt: DType): (x: number) => number {
  return dt === 'f32' ? Math.fround : dt === 'f64' ? (x: number) => x : (x: number) => Math.fround(x);
}

function requireFloatX(op: string, t: TensorType | Tensor): void {
  if (!isFloat(t.dtype)) throw invalid(`${op}: input X must be a float tensor, got ${t.dtype}`);
}

/** Broadcast readers: out shape and, per input, a function from output index to value. */
function broadcastReaders(ts: Tensor[]): { shape: number[]; read: ((j: number) => number)[] } {
  const shape = broadcastConcrete(ts.map((t) => t.shape));
  const n = numel(shape);
  const read = ts.map((t) => {
    if (t.size === 1) {
      const v = t.get(0);
      return () => v;
    }
    if (t.size === n && t.shape.length === shape.length) return (j: number) => t.get(j);
    const idx = broadcastIndex(t.shape, shape);
    return (j: number) => t.get(idx[j]!);
  });
  return { shape, read };
}

/** Output dtype of the float ops here: X's float dtype. */
function sameAsX(op: string) {
  return (ctx: InferCtx): TensorType[] => {
    const ins = ctx.inputs;
    const x = need(ins[0], 0, op);
    requireFloatX(op, x);
    const present = ins.filter((t): t is TensorType => t !== null);
    // scale/zero-point may broadcast (per-channel): the output has the broadcast shape
    const shapes = present.map((t) => t.shape);
    let shape = x.shape;
    if (shapes.every((s) => s.every((d) => typeof d === 'number'))) shape = broadcastConcrete(shapes as ConcreteShape[]);
    return [{ dtype: x.dtype, shape }];
  };
}

function elemCost(flopsPerElem: number) {
  return (_ctx: InferCtx, _a: unknown, outs: TensorType[]): Cost => {
    const s = outs[0]!.shape;
    const n = s.every((d) => typeof d === 'number') ? numel(s as number[]) : 0;
    return { macs: 0, flops: n * flopsPerElem };
  };
}

/** Registers one definition under the QONNX domain and its Brevitas alias. */
function defineBoth<A>(def: Omit<OpDef<A>, 'domain'>): OpDef<A> {
  const main = defineOp<A>({ ...def, domain: QONNX_DOMAIN });
  defineOp<A>({ ...def, domain: BREVITAS_DOMAIN });
  return main;
}

// ---------------------------------------------------------------------------------------------
// Decompositions (OpDef.decompose): the reference arithmetic in ONNX primitives of opset 9, float32
// X with float32 parameters and constant bit widths only (the clamp bounds and Trunc's scale become
// constants). Every f32 primitive rounds once, like the references' fr(); the half-up / half-down
// roundings add the 0.5 in f64 as the reference does (an f32 add could round |y| + 0.5 up).
// ---------------------------------------------------------------------------------------------

/** X and the listed parameter inputs are f32 (other dtypes: no decomposition). */
function allF32(b: DecomposeBuilder, idx: readonly number[]): boolean {
  return idx.every((i) => b.inputs[i]?.dtype === 'f32');
}

/** The f32 constant `f(v)` for every element of `t` (same shape). */
function mapConst(b: DecomposeBuilder, t: Tensor, f: (v: number) => number): ValueId {
  return b.constant(Tensor.from('f32', [...t.shape], t.toNumbers().map(f)));
}

/**
 * Round half to even in opset-9 primitives (Round needs opset 11; QONNX exports are often older),
 * in f64 where every step is exact: f = floor(y), d = y - f, r = f + (d > 0.5 ? 1 : d < 0.5 ? 0 :
 * f mod 2), the parity 0 for infinite f. `signedZero`: -0 for negative y rounding to 0 (numpy's
 * round, as roundHalfEvenSigned), else +0 (roundHalfEven).
 */
function roundHalfEvenPrim(b: DecomposeBuilder, y: ValueId, signedZero: boolean): ValueId {
  const c = (v: number) => b.scalar('f64', v);
  const yd = b.op1('Cast', [y], { to: 11 });
  const f = b.op1('Floor', [yd]);
  const d = b.op1('Sub', [yd, f]);
  const par = b.op1('Sub', [f, b.op1('Mul', [b.op1('Floor', [b.op1('Mul', [f, c(0.5)])]), c(2)])]);
  const parity = b.op1('Where', [b.op1('IsNaN', [par]), c(0), par]);
  const up = b.op1('Where', [b.op1('Greater', [d, c(0.5)]), c(1), b.op1('Where', [b.op1('Less', [d, c(0.5)]), c(0), parity])]);
  let r = b.op1('Add', [f, up]);
  if (signedZero) r = b.op1('Where', [b.op1('Less', [yd, c(0)]), b.op1('Neg', [b.op1('Abs', [r])]), r]);
  return b.op1('Cast', [r], { to: 1 });
}

/** y rounded with a QONNX rounding mode, in ONNX primitives of opset 9 (f32 in, f32 out). */
function roundPrim(b: DecomposeBuilder, y: ValueId, mode: RoundingMode): ValueId {
  switch (mode) {
    case 'ROUND': case 'HALF_EVEN': return roundHalfEvenPrim(b, y, true);
    case 'CEIL': return b.op1('Ceil', [y]);
    case 'FLOOR': return b.op1('Floor', [y]);
    // sign(y) * ceil(|y|), sign(y) * floor(|y|): integers, exact in f32
    case 'UP': return b.op1('Mul', [b.op1('Sign', [y]), b.op1('Ceil', [b.op1('Abs', [y])])]);
    case 'DOWN': return b.op1('Mul', [b.op1('Sign', [y]), b.op1('Floor', [b.op1('Abs', [y])])]);
    case 'HALF_UP': case 'HALF_DOWN': {
      // sign(y) * floor(|y| + 0.5) / sign(y) * ceil(|y| - 0.5) with the +-0.5 in f64
      const a = b.op1('Cast', [b.op1('Abs', [y])], { to: 11 });
      const r = mode === 'HALF_UP' ? b.op1('Floor', [b.op1('Add', [a, b.scalar('f64', 0.5)])]) : b.op1('Ceil', [b.op1('Sub', [a, b.scalar('f64', 0.5)])]);
      return b.op1('Mul', [b.op1('Sign', [y]), b.op1('Cast', [r], { to: 1 })]);
    }
  }
}

/** min(max(y, lo), hi) with per-element bounds of the bit widths' shape (NaN stays NaN). */
function clampPrim(b: DecomposeBuilder, y: ValueId, lo: ValueId, hi: ValueId): ValueId {
  return b.op1('Min', [b.op1('Max', [y, lo]), hi]);
}

/** Whether every bit width is a positive integer. */
function validBits(t: Tensor): boolean {
  return t.toNumbers().every((v) => v >= 1 && Number.isInteger(v));
}

// Quant: y = fr(fr(x / s) + z); bipolar (bits 1, signed): y >= 0 ? 1 : -1, else
// round(clamp(y, min_int, max_int)); out = fr(fr(y - z) * s)
function decomposeQuant(b: DecomposeBuilder, a: QuantAttrs): (ValueId | null)[] | null {
  const bits = b.consts[3];
  if (!bits || !allF32(b, [0, 1, 2]) || !validBits(bits)) return null;
  const [x, s, z] = [b.ids[0]!, b.ids[1]!, b.ids[2]!];
  const bv = bits.toNumbers();
  let y = b.op1('Add', [b.op1('Div', [x, s]), z]);
  if (a.signed && bv.includes(1)) {
    // bipolar everywhere, or mixed widths (no decomposition)
    if (!bv.every((v) => v === 1)) return null;
    // !(y >= 0) = y < 0 or NaN
    const neg = b.op1('Or', [b.op1('Less', [y, mapConst(b, bits, () => 0)]), b.op1('IsNaN', [y])]);
    y = b.op1('Where', [neg, mapConst(b, bits, () => -1), mapConst(b, bits, () => 1)]);
  } else {
    y = clampPrim(b, y, mapConst(b, bits, (v) => minInt(a.signed, a.narrow, v)), mapConst(b, bits, (v) => maxInt(a.signed, a.narrow, v)));
    y = roundPrim(b, y, a.rounding);
  }
  return [b.op1('Mul', [b.op1('Sub', [y, z]), s])];
}

// BipolarQuant: out = fr((x >= 0 ? 1 : -1) * s)
function decomposeBipolar(b: DecomposeBuilder): (ValueId | null)[] | null {
  if (!allF32(b, [0, 1])) return null;
  const [x, s] = [b.ids[0]!, b.ids[1]!];
  const neg = b.op1('Or', [b.op1('Less', [x, b.scalar('f32', 0)]), b.op1('IsNaN', [x])]);
  const sign = b.op1('Where', [neg, b.scalar('f32', -1), b.scalar('f32', 1)]);
  return [b.op1('Mul', [sign, s])];
}

// Trunc v1: y = rnd(fr(round(fr(fr(x / s) + z)) / ts)), ts = fr(2^(in - out)), out = fr(fr(y - z) * s);
// v2: ts = fr(2^round(fr(log2(fr(os / s))))) (constant os and s), y = rnd(clamp(fr(round(...) / ts))),
// out = fr(fr(y - fr(z / ts)) * os)
function decomposeTrunc(b: DecomposeBuilder, a: TruncAttrs): (ValueId | null)[] | null {
  const n = b.ids.length;
  if (!allF32(b, [0, 1, 2])) return null;
  const [x, s, z] = [b.ids[0]!, b.ids[1]!, b.ids[2]!];
  const y0 = roundHalfEvenPrim(b, b.op1('Add', [b.op1('Div', [x, s]), z]), false);
  const fr = Math.fround;
  if (n === 5) {
    const [ib, ob] = [b.consts[3], b.consts[4]];
    if (!ib || !ob) return null;
    const sh = broadcastConcrete([ib.shape, ob.shape]);
    const ts = quantRefConst(sh, [ib, ob], ([i, o]) => fr(2 ** (i! - o!)));
    const y = roundPrim(b, b.op1('Div', [y0, b.constant(ts)]), a.rounding);
    return [b.op1('Mul', [b.op1('Sub', [y, z]), s])];
  }
  const [sc, os, ob] = [b.consts[1], b.consts[4], b.consts[n === 6 ? 5 : 6]];
  if (!sc || !os || !ob || !validBits(ob) || !allF32(b, [4])) return null;
  const tsT = quantRefConst(broadcastConcrete([os.shape, sc.shape]), [os, sc], ([o, c]) => fr(2 ** roundHalfEven(fr(Math.log2(fr(o! / c!))))));
  const ts = b.constant(tsT);
  let y = b.op1('Div', [y0, ts]);
  y = clampPrim(b, y, mapConst(b, ob, (v) => minInt(a.signed, a.narrow, v)), mapConst(b, ob, (v) => maxInt(a.signed, a.narrow, v)));
  y = roundPrim(b, y, a.rounding);
  return [b.op1('Mul', [b.op1('Sub', [y, b.op1('Div', [z, ts])]), b.ids[4]!])];
}

/** An f32 constant of `shape`: f applied to the broadcast elements of `ts`. */
function quantRefConst(shape: number[], ts: Tensor[], f: (v: number[]) => number): Tensor {
  const { read } = broadcastReaders(ts);
  const n = numel(shape);
  return Tensor.from('f32', shape, Array.from({ length: n }, (_, j) => f(read.map((r) => r(j)))));
}

// ---------------------------------------------------------------------------------------------
// Quant / IntQuant
// ---------------------------------------------------------------------------------------------

export interface QuantAttrs {
  signed: boolean;
  narrow: boolean;
  rounding: RoundingMode;
}

/**
 * QONNX quant(): y = (round(clamp(x / scale + zeropt, min_int, max_int)) - zeropt) * scale.
 * bitwidth == 1 with signed=1 is bipolar (x / scale + zeropt >= 0 ? 1 : -1), as QONNX does.
 * Arithmetic in the dtype of X (float32 like numpy).
 */
export function quantRef(x: Tensor, scale: Tensor, zeropt: Tensor, bitwidth: Tensor, a: QuantAttrs): Tensor {
  const { shape, read } = broadcastReaders([x, scale, zeropt, bitwidth]);
  const [rx, rs, rz, rb] = read as [(j: number) => number, (j: number) => number, (j: number) => number, (j: number) => number];
  const fr = rounder(x.dtype);
  const round = roundingFn(a.rounding);
  const out = Tensor.zeros(x.dtype, shape);
  const n = out.size;
  for (let j = 0; j < n; j++) {
    const s = rs(j);
    const z = rz(j);
    const bits = rb(j);
    if (!(bits >= 1) || !Number.isInteger(bits)) throw invalid(`Quant: bit width must be a positive integer, got ${bits}`);
    let y = fr(fr(rx(j) / s) + z);
    if (bits === 1 && a.signed) {
      y = y >= 0 ? 1 : -1;
    } else {
      const lo = minInt(a.signed, a.narrow, bits);
      const hi = maxInt(a.signed, a.narrow, bits);
      if (y > hi) y = hi;
      if (y < lo) y = lo;
      y = round(y);
    }
    out.set(j, fr(fr(y - z) * s));
  }
  return out;
}

function quantDef(name: string) {
  return defineBoth<QuantAttrs>({
    name,
    since: 1,
    arity: [4, 4],
    attrs: (r) => ({
      signed: bool01(r, 'signed', 1),
      narrow: bool01(r, 'narrow', 0),
      rounding: readRounding(r, 'ROUND'),
    }),
    infer: sameAsX(name),
    ref: (ins, a) => {
      const x = need(ins[0], 0, name);
      requireFloatX(name, x);
      return [quantRef(x, need(ins[1], 1, name), need(ins[2], 2, name), need(ins[3], 3, name), a)];
    },
    cost: elemCost(6),
    decompose: decomposeQuant,
  });
}

// Quant(X, scale, zeropt, bitwidth): uniform integer quantize-dequantize ("fake quant").
export const Quant = quantDef('Quant');
// IntQuant: the newer QONNX name of Quant (same semantics).
export const IntQuant = quantDef('IntQuant');

// ---------------------------------------------------------------------------------------------
// BipolarQuant
// ---------------------------------------------------------------------------------------------

/** y = (x >= 0 ? 1 : -1) * scale. */
export function bipolarQuantRef(x: Tensor, scale: Tensor): Tensor {
  const { shape, read } = broadcastReaders([x, scale]);
  const [rx, rs] = read as [(j: number) => number, (j: number) => number];
  const fr = rounder(x.dtype);
  const out = Tensor.zeros(x.dtype, shape);
  for (let j = 0; j < out.size; j++) out.set(j, fr((rx(j) >= 0 ? 1 : -1) * rs(j)));
  return out;
}

// BipolarQuant(X, scale): binary {-1, +1} quantization times scale.
export const BipolarQuant = defineBoth<Record<string, never>>({
  name: 'BipolarQuant',
  since: 1,
  arity: [2, 2],
  attrs: () => ({}),
  infer: sameAsX('BipolarQuant'),
  ref: (ins) => {
    const x = need(ins[0], 0, 'BipolarQuant');
    requireFloatX('BipolarQuant', x);
    return [bipolarQuantRef(x, need(ins[1], 1, 'BipolarQuant'))];
  },
  cost: elemCost(2),
  decompose: decomposeBipolar,
});

// ---------------------------------------------------------------------------------------------
// Trunc
// ---------------------------------------------------------------------------------------------

export interface TruncAttrs {
  rounding: RoundingMode;
  signed: boolean;
  narrow: boolean;
}

/**
 * Trunc, QONNX version 1 (5 inputs: X, scale, zeropt, in_bitwidth, out_bitwidth):
 * y = (rnd(round(x / scale + zeropt) / 2^(in_bits - out_bits)) - zeropt) * scale.
 */
export function truncV1Ref(x: Tensor, scale: Tensor, zeropt: Tensor, inBits: Tensor, outBits: Tensor, a: TruncAttrs): Tensor {
  const { shape, read } = broadcastReaders([x, scale, zeropt, inBits, outBits]);
  const [rx, rs, rz, ri, ro] = read as ((j: number) => number)[] as [
    (j: number) => number, (j: number) => number, (j: number) => number, (j: number) => number, (j: number) => number];
  const fr = rounder(x.dtype);
  const rnd = roundingFn(a.rounding);
  const out = Tensor.zeros(x.dtype, shape);
  for (let j = 0; j < out.size; j++) {
    const s = rs(j);
    const z = rz(j);
    let y = roundHalfEven(fr(fr(rx(j) / s) + z));
    const truncScale = fr(2 ** (ri(j) - ro(j)));
    y = rnd(fr(y / truncScale));
    out.set(j, fr(fr(y - z) * s));
  }
  return out;
}

/**
 * Trunc, QONNX version 2 (X, scale, zeropt, in_bitwidth, out_scale[, out_zeropt], out_bitwidth):
 * trunc_scale = 2^round(log2(out_scale / scale)); y = round(x / scale + zeropt) / trunc_scale,
 * clamped to the (signed, narrow, out_bits) range, rounded with rounding_mode, then
 * (y - zeropt / trunc_scale) * out_scale. (out_zeropt is read but unused, as in QONNX.)
 */
export function truncV2Ref(
  x: Tensor, scale: Tensor, zeropt: Tensor, outScale: Tensor, outBits: Tensor, a: TruncAttrs,
): Tensor {
  const { shape, read } = broadcastReaders([x, scale, zeropt, outScale, outBits]);
  const [rx, rs, rz, ros, rob] = read as [
    (j: number) => number, (j: number) => number, (j: number) => number, (j: number) => number, (j: number) => number];
  const fr = rounder(x.dtype);
  const rnd = roundingFn(a.rounding);
  const out = Tensor.zeros(x.dtype, shape);
  for (let j = 0; j < out.size; j++) {
    const s = rs(j);
    const z = rz(j);
    const os = ros(j);
    const bits = rob(j);
    let y = roundHalfEven(fr(fr(rx(j) / s) + z));
    const truncScale = fr(2 ** roundHalfEven(fr(Math.log2(fr(os / s)))));
    y = fr(y / truncScale);
    const lo = minInt(a.signed, a.narrow, bits);
    const hi = maxInt(a.signed, a.narrow, bits);
    if (y > hi) y = hi;
    if (y < lo) y = lo;
    y = rnd(y);
    const outZ = fr(z / truncScale);
    out.set(j, fr(fr(y - outZ) * os));
  }
  return out;
}

// Trunc: truncates the low bits of a quantized value (QONNX v1 with 5 inputs, v2 with 6 or 7).
export const Trunc = defineBoth<TruncAttrs>({
  name: 'Trunc',
  since: 1,
  arity: [5, 7],
  attrs: (r) => ({
    rounding: readRounding(r, 'FLOOR'),
    signed: bool01(r, 'signed', 1),
    narrow: bool01(r, 'narrow', 0),
  }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Trunc');
    requireFloatX('Trunc', x);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Trunc');
    requireFloatX('Trunc', x);
    const g = (i: number): Tensor => need(ins[i], i, 'Trunc');
    if (ins.length === 5) return [truncV1Ref(x, g(1), g(2), g(3), g(4), a)];
    // 6 inputs: X, scale, zeropt, in_bw, out_scale, out_bw (docs); 7: ..., out_scale, out_zeropt, out_bw (code)
    const outBits = ins.length === 6 ? g(5) : g(6);
    return [truncV2Ref(x, g(1), g(2), g(4), outBits, a)];
  },
  cost: elemCost(8),
  decompose: decomposeTrunc,
});

// ---------------------------------------------------------------------------------------------
// MultiThreshold
// ---------------------------------------------------------------------------------------------

export interface MultiThresholdAttrs {
  outScale: number;
  outBias: number;
  layout: 'NCHW' | 'NHWC';
  outDtype: string;
}

/**
 * y[n, c, ...] = out_scale * #{t in thresholds[c or 0] : x >= t} + out_bias.
 * Channel axis: 1 for NCHW-style inputs of rank 2 or 4; the last axis for NHWC rank 4 and for
 * any other rank (QONNX reshapes those to (-1, C)).
 */
export function multiThresholdRef(x: Tensor, thr: Tensor, a: MultiThresholdAttrs): Tensor {
  if (thr.shape.length !== 2) throw invalid(`MultiThreshold: thresholds must be 2-D [C, B], got rank ${thr.shape.length}`);
  const [tc, tb] = thr.shape as [number, number];
  const rank = x.shape.length;
  const chAxis = rank === 2 ? 1 : rank === 4 ? (a.layout === 'NHWC' ? 3 : 1) : rank - 1;
  if (rank < 1) throw invalid('MultiThreshold: input must have rank >= 1');
  const C = x.shape[chAxis]!;
  if (tc !== C && tc !== 1) throw invalid(`MultiThreshold: thresholds have ${tc} channels, input has ${C}`);
  let inner = 1;
  for (let d = chAxis + 1; d < rank; d++) inner *= x.shape[d]!;
  const fr = rounder(x.dtype);
  const out = Tensor.zeros(x.dtype, x.shape);
  for (let i = 0; i < x.size; i++) {
    const c = Math.floor(i / inner) % C;
    const row = tc === 1 ? 0 : c;
    const v = x.get(i);
    let count = 0;
    for (let k = 0; k < tb; k++) if (v >= thr.get(row * tb + k)) count++;
    out.set(i, fr(fr(a.outScale * count) + a.outBias));
  }
  return out;
}

// MultiThreshold(X, thresholds): successive thresholding (FINN/QONNX activation form).
export const MultiThreshold = defineBoth<MultiThresholdAttrs>({
  name: 'MultiThreshold',
  since: 1,
  arity: [2, 2],
  attrs: (r) => ({
    outScale: r.float('out_scale', 1),
    outBias: r.float('out_bias', 0),
    layout: r.oneOf('data_layout', 'NCHW', ['NCHW', 'NHWC'] as const),
    outDtype: r.string('out_dtype', ''),
  }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'MultiThreshold');
    // QONNX computes in float and stores the count as float32
    return [{ dtype: isFloat(x.dtype) ? x.dtype : 'f32', shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'MultiThreshold');
    const t = need(ins[1], 1, 'MultiThreshold');
    const xf = isFloat(x.dtype) ? x : Tensor.from('f32', x.shape, x.toNumbers());
    return [multiThresholdRef(xf, t, a)];
  },
  cost: (ctx, _a, outs) => {
    const s = outs[0]!.shape;
    const n = s.every((d) => typeof d === 'number') ? numel(s as number[]) : 0;
    const t = ctx.inputs[1];
    const b = t && typeof t.shape[1] === 'number' ? t.shape[1] : 1;
    return { macs: 0, flops: n * b };
  },
});
