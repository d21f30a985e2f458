/**
 * Elementwise ops: broadcasting arithmetic, comparisons, logic, bit shifts, Where and unary math.
 * Each op: one defineOp call with attrs, infer, ref and cost.
 *
 * Kernels read the typed arrays directly and write results into the output storage, so the hot
 * loops do flat index arithmetic only. Integer results wrap like C (typed-array stores), i64/u64
 * use bigint arithmetic so they stay exact beyond 2^53.
 */
import {
  DType, ONNX_DTYPE_NAMES, bf16BitsToNumber, dtypeFromOnnx, f16BitsToNumber, isBigInt, isFloat, isInt, numberToBf16Bits,
  numberToF16Bits, roundToDType,
} from '../ir/dtype.js';
import { ConcreteShape, Shape, Tensor, TensorData, TensorType, allocData, numel } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, OpCtx, defineOp, need } from './registry.js';
import { broadcastConcrete, broadcastIndex, broadcastType, sameDtype } from './util.js';

// ---------------------------------------------------------------------------------------------
// Kernel helpers (exported for the other op families of this engineer: activation, reduce).
// ---------------------------------------------------------------------------------------------

/** A writable array of numbers (any non-bigint typed array or Float64Array scratch). */
export type NumArray = { [i: number]: number; readonly length: number };

/**
 * The elements of a tensor as numbers: the typed array itself, or a Float64Array copy for i64/u64.
 * @param t a numeric or bool tensor
 */
export function numData(t: Tensor): NumArray {
  if (t.dtype === 'string') throw invalid(`expected a numeric tensor, got string`);
  if (isBigInt(t.dtype)) {
    const src = t.data as BigInt64Array;
    const out = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
    return out;
  }
  return t.data as unknown as NumArray;
}

/**
 * Raw element access for dtype-agnostic kernels (copies, comparisons): numbers, bigints or strings.
 * Comparison operators behave the same on all three as long as both sides have one dtype.
 * @param t any tensor
 */
export function rawData(t: Tensor): NumArray {
  return t.data as unknown as NumArray;
}

/** True when results can be stored straight into the dtype's typed array (store rounds/wraps exactly). */
function directStore(dt: DType): boolean {
  return dt === 'f32' || dt === 'f64' || dt === 'i8' || dt === 'u8' || dt === 'i16' || dt === 'u16' ||
    dt === 'i32' || dt === 'u32';
}

/**
 * Output buffer for numeric results of dtype `dt`: its own storage where a typed-array store has
 * exactly the dtype's semantics, otherwise a Float64Array scratch that `finish` converts.
 * @param dt output dtype
 * @param n element count
 */
export function numOut(dt: DType, n: number): NumArray {
  return directStore(dt) ? (allocData(dt, n) as unknown as NumArray) : new Float64Array(n);
}

/**
 * Wraps a buffer from `numOut` as a tensor, rounding (f16/bf16), converting (bool: x != 0;
 * i4/u4 and i64/u64: truncate and wrap) where the buffer was scratch.
 * @param dt output dtype
 * @param shape output shape
 * @param buf buffer returned by numOut(dt, numel(shape))
 */
export function finish(dt: DType, shape: ConcreteShape, buf: NumArray): Tensor {
  if (directStore(dt)) return new Tensor(dt, shape, buf as unknown as TensorData);
  const n = buf.length;
  if (dt === 'f16' || dt === 'bf16') {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = roundToDType(dt, buf[i]!);
    return new Tensor(dt, shape, d);
  }
  if (dt === 'bool') {
    const d = new Uint8Array(n);
    for (let i = 0; i < n; i++) d[i] = buf[i] !== 0 ? 1 : 0;
    return new Tensor(dt, shape, d);
  }
  const t = Tensor.zeros(dt, shape);
  for (let i = 0; i < n; i++) t.set(i, buf[i]!);
  return t;
}

function sameDims(a: ConcreteShape, b: ConcreteShape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Index of each output element into one broadcast input, or null when the input has the output's
 * shape (identity indexing).
 */
function bindex(inShape: ConcreteShape, outShape: ConcreteShape): Int32Array | null {
  return sameDims(inShape, outShape) ? null : broadcastOffsets(inShape, outShape);
}

/**
 * Same result as util's broadcastIndex (flat input offset of every output element), filled one
 * innermost row at a time so the counter arithmetic runs once per row instead of once per element.
 * @param inShape input shape (broadcastable to outShape)
 * @param outShape output shape
 */
export function broadcastOffsets(inShape: ConcreteShape, outShape: ConcreteShape): Int32Array {
  const rank = outShape.length;
  const n = numel(outShape);
  if (rank === 0 || n === 0) return broadcastIndex(inShape, outShape);
  const eff = new Int32Array(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const k = inShape.length - rank + i;
    const d = k >= 0 ? inShape[k]! : 1;
    if (d !== 1) eff[i] = acc;
    acc *= d;
  }
  const idx = new Int32Array(n);
  const last = outShape[rank - 1]!;
  const ls = eff[rank - 1]!;
  const counter = new Int32Array(rank);
  let off = 0;
  for (let j = 0; j < n; j += last) {
    if (ls === 0) idx.fill(off, j, j + last);
    else for (let q = 0; q < last; q++) idx[j + q] = off + q * ls;
    for (let d = rank - 2; d >= 0; d--) {
      counter[d]!++;
      off += eff[d]!;
      if (counter[d]! < outShape[d]!) break;
      off -= eff[d]! * outShape[d]!;
      counter[d] = 0;
    }
  }
  return idx;
}

/**
 * y = f(x) over a numeric tensor, written as dtype `outDt`.
 * @param x input tensor (i64/u64 read through Number)
 * @param outDt output dtype
 * @param f scalar function
 */
export function unaryMap(x: Tensor, outDt: DType, f: (v: number) => number): Tensor {
  const src = numData(x);
  const n = src.length;
  const out = numOut(outDt, n);
  for (let i = 0; i < n; i++) out[i] = f(src[i]!);
  return finish(outDt, x.shape, out);
}

/**
 * z = f(x, y) with numpy broadcasting, written as dtype `outDt`.
 * @param a first input
 * @param b second input
 * @param outDt output dtype
 * @param f scalar function
 */
export function binaryMap(a: Tensor, b: Tensor, outDt: DType, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastConcrete([a.shape, b.shape]);
  const n = numel(shape);
  const x = numData(a);
  const y = numData(b);
  const out = numOut(outDt, n);
  if (n === 0) return finish(outDt, shape, out);
  const plan = stridedPlan(shape, [a.shape, b.shape]);
  const dims = plan.dims;
  const last = dims.length - 1;
  const inner = dims[last]!;
  const [sa, sb] = plan.strides as [Int32Array, Int32Array];
  const ia = sa[last]!;
  const ib = sb[last]!;
  const counter = new Int32Array(dims.length);
  let oa = 0;
  let ob = 0;
  for (let j = 0; j < n; j += inner) {
    // innermost run: contiguous (stride 1) or broadcast (stride 0) per operand
    if (ia === 1 && ib === 1) for (let q = 0; q < inner; q++) out[j + q] = f(x[oa + q]!, y[ob + q]!);
    else if (ia === 1) { const yv = y[ob]!; for (let q = 0; q < inner; q++) out[j + q] = f(x[oa + q]!, yv); }
    else if (ib === 1) { const xv = x[oa]!; for (let q = 0; q < inner; q++) out[j + q] = f(xv, y[ob + q]!); }
    else fillRun(out, j, inner, f(x[oa]!, y[ob]!));
    for (let d = last - 1; d >= 0; d--) {
      counter[d]!++;
      oa += sa[d]!;
      ob += sb[d]!;
      if (counter[d]! < dims[d]!) break;
      oa -= sa[d]! * dims[d]!;
      ob -= sb[d]! * dims[d]!;
      counter[d] = 0;
    }
  }
  return finish(outDt, shape, out);
}

function fillRun(out: NumArray, start: number, len: number, v: number): void {
  for (let q = 0; q < len; q++) out[start + q] = v;
}

/** Collapsed iteration space of a broadcast: merged dims and per-input strides (0 = broadcast). */
interface StridedPlan {
  dims: number[];
  strides: Int32Array[];
}

/**
 * Drops unit dims and merges adjacent dims that every input walks contiguously, so a broadcast
 * like [1,64,56,56] + [1,64,1,1] becomes a [64, 3136] space with strides [3136, 1] and [1, 0].
 * @param outShape broadcast output shape (no zero dims)
 * @param inShapes input shapes
 */
export function stridedPlan(outShape: ConcreteShape, inShapes: ConcreteShape[]): StridedPlan {
  const rank = outShape.length;
  const full = inShapes.map((s) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const k = s.length - rank + i;
      const d = k >= 0 ? s[k]! : 1;
      if (d !== 1) st[i] = acc;
      acc *= d;
    }
    return st;
  });
  const dims: number[] = [];
  const strides: number[][] = inShapes.map(() => []);
  for (let i = 0; i < rank; i++) {
    const d = outShape[i]!;
    if (d === 1) continue;
    const k = dims.length - 1;
    // merge into the previous dim when each input's previous stride equals this stride * d
    if (k >= 0 && full.every((st, t) => strides[t]![k] === st[i]! * d)) {
      dims[k] = dims[k]! * d;
      full.forEach((st, t) => { strides[t]![k] = st[i]!; });
    } else {
      dims.push(d);
      full.forEach((st, t) => strides[t]!.push(st[i]!));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((st) => st.push(0));
  }
  return { dims, strides: strides.map((st) => Int32Array.from(st)) };
}

/**
 * z = f(x, y) with bigint arithmetic for i64/u64 (the typed-array store wraps modulo 2^64).
 * @param a first input (i64/u64)
 * @param b second input (same dtype)
 * @param f bigint function
 */
export function binaryBig(a: Tensor, b: Tensor, f: (x: bigint, y: bigint) => bigint): Tensor {
  const shape = broadcastConcrete([a.shape, b.shape]);
  const n = numel(shape);
  const x = a.data as BigInt64Array;
  const y = b.data as BigInt64Array;
  const out = Tensor.zeros(a.dtype, shape);
  const d = out.data as BigInt64Array;
  const ia = bindex(a.shape, shape);
  const ib = bindex(b.shape, shape);
  for (let i = 0; i < n; i++) d[i] = f(x[ia ? ia[i]! : i]!, y[ib ? ib[i]! : i]!);
  return out;
}

/**
 * Boolean result of a predicate over broadcast raw elements (numbers, bigints or strings).
 * @param a first input
 * @param b second input
 * @param f predicate on two elements of one dtype
 */
export function compareMap(a: Tensor, b: Tensor, f: (x: number, y: number) => boolean): Tensor {
  const shape = broadcastConcrete([a.shape, b.shape]);
  const n = numel(shape);
  const x = rawData(a);
  const y = rawData(b);
  const d = new Uint8Array(n);
  const ia = bindex(a.shape, shape);
  const ib = bindex(b.shape, shape);
  for (let i = 0; i < n; i++) d[i] = f(x[ia ? ia[i]! : i]!, y[ib ? ib[i]! : i]!) ? 1 : 0;
  return new Tensor('bool', shape, d);
}

/** Number of elements of a possibly symbolic shape (symbolic dims count as 1). */
export function elems(s: Shape): number {
  return s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
}

/** Cost of an op doing about one operation per output element. */
export function perElementCost(_c: InferCtx, _a: unknown, outs: TensorType[]) {
  return { macs: 0, flops: outs.length ? elems(outs[0]!.shape) : 0 };
}

/** Throws unless `dt` is in `allowed`. */
export function requireDtype(op: string, dt: DType, allowed: (dt: DType) => boolean, what: string): void {
  if (!allowed(dt)) throw unsupported(`${op}: input dtype ${dt} is not supported (expects ${what})`);
}

const isNumeric = (dt: DType): boolean => dt !== 'string' && dt !== 'bool';

// ---------------------------------------------------------------------------------------------
// Broadcasting binary arithmetic
// ---------------------------------------------------------------------------------------------

/** Legacy (opset < 7) broadcasting attributes: `broadcast=1` with an optional `axis`. */
interface LegacyBcast {
  legacy: boolean;
  axis: number | undefined;
}

/** Reads opset-1..6 `broadcast`/`axis` attributes (ignored from opset 7, numpy broadcasting). */
function legacyAttrs(r: AttrReader, ctx: OpCtx): LegacyBcast {
  if (ctx.opset >= 7) return { legacy: false, axis: undefined };
  const b = r.int('broadcast', 0);
  if (b !== 0 && b !== 1) throw r.error(`attribute "broadcast" must be 0 or 1, got ${b}`);
  return { legacy: b === 1, axis: r.int('axis') };
}

/** Aligns B to A's dims starting at `axis` (legacy broadcasting) by appending unit dims. */
function legacyAlign<S extends readonly (number | string)[]>(aShape: S, bShape: S, lb: LegacyBcast): S {
  if (!lb.legacy || lb.axis === undefined) return bShape;
  const axis = lb.axis < 0 ? lb.axis + aShape.length : lb.axis;
  const trail = aShape.length - axis - bShape.length;
  if (axis < 0 || trail < 0) throw invalid(`legacy broadcast axis ${lb.axis} does not fit shapes`);
  return [...bShape, ...new Array<number>(trail).fill(1)] as unknown as S;
}

/** Input B reshaped for legacy broadcasting where needed. */
function alignB(a: Tensor, b: Tensor, lb: LegacyBcast): Tensor {
  const s = legacyAlign(a.shape, b.shape, lb);
  return s === b.shape ? b : b.reshape(s);
}

/** Output type of a binary op, honouring legacy broadcasting. */
function binaryType(ctx: InferCtx, lb: LegacyBcast, dtype: DType): TensorType {
  const a = need(ctx.inputs[0], 0, ctx.node.op);
  const b = need(ctx.inputs[1], 1, ctx.node.op);
  const bs = legacyAlign(a.shape, b.shape, lb);
  return broadcastType({ ...ctx, inputs: [a, { dtype: b.dtype, shape: bs }] }, dtype);
}

/** Per-dtype scalar kernels of a binary arithmetic op. */
interface ArithKernels {
  /** Float (and default integer) semantics on numbers. */
  f: (a: number, b: number) => number;
  /** Integer semantics on numbers for 8..32-bit ints, when they differ from `f`. */
  i?: (a: number, b: number, dt: DType) => number;
  /** Exact 64-bit semantics. */
  big: (a: bigint, b: bigint) => bigint;
}

/** Defines a broadcasting binary arithmetic op on one dtype (integers wrap as in C). */
function binaryArith(name: string, since: number, k: ArithKernels) {
  return defineOp({
    name,
    domain: '',
    since,
    arity: [2, 2],
    attrs: legacyAttrs,
    infer: (ctx, a) => {
      const dt = sameDtype(ctx);
      requireDtype(name, dt, isNumeric, 'a numeric type');
      return [binaryType(ctx, a, dt)];
    },
    ref: (ins, lb) => {
      const a = need(ins[0], 0, name);
      const b = alignB(a, need(ins[1], 1, name), lb);
      if (a.dtype !== b.dtype) throw invalid(`${name}: input dtypes differ (${a.dtype} vs ${b.dtype})`);
      requireDtype(name, a.dtype, isNumeric, 'a numeric type');
      if (isBigInt(a.dtype)) return [binaryBig(a, b, k.big)];
      const ik = k.i;
      if (ik && isInt(a.dtype)) {
        const dt = a.dtype;
        return [binaryMap(a, b, dt, (x, y) => ik(x, y, dt))];
      }
      return [binaryMap(a, b, a.dtype, k.f)];
    },
    cost: perElementCost,
  });
}

/** Integer division truncating toward zero; division by zero gives 0 (undefined in ONNX). */
function intDiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc(a / b);
}

function bigDiv(a: bigint, b: bigint): bigint {
  return b === 0n ? 0n : a / b;
}

/** 32-bit-exact integer multiply (products of i32/u32 exceed 2^53). */
function intMul(a: number, b: number, dt: DType): number {
  if (dt === 'i32' || dt === 'u32') return Math.imul(a, b);
  return a * b;
}

// y = a + b (integers wrap as in C)
export const Add = binaryArith('Add', 1, { f: (a, b) => a + b, big: (a, b) => a + b });
// y = a - b
export const Sub = binaryArith('Sub', 1, { f: (a, b) => a - b, big: (a, b) => a - b });
// y = a * b
export const Mul = binaryArith('Mul', 1, { f: (a, b) => a * b, i: intMul, big: (a, b) => a * b });
// y = a / b (integers truncate toward zero, like C)
export const Div = binaryArith('Div', 1, { f: (a, b) => a / b, i: intDiv, big: bigDiv });

/** C pow, including the cases where JS Math.pow differs (1^y = 1, (-1)^(+-inf) = 1). */
export function cpow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

/** Exact integer power (negative exponents: 1, +-1 or 0 like C's pow then truncation). */
function bigPow(x: bigint, y: bigint): bigint {
  if (y < 0n) {
    if (x === 1n) return 1n;
    if (x === -1n) return y % 2n === 0n ? 1n : -1n;
    return 0n;
  }
  let result = 1n;
  let base = BigInt.asIntN(64, x);
  let e = y;
  // square-and-multiply, wrapping to 64 bits at each step
  while (e > 0n) {
    if (e & 1n) result = BigInt.asIntN(64, result * base);
    base = BigInt.asIntN(64, base * base);
    e >>= 1n;
  }
  return result;
}

// z = x ^ y; the output has the base's dtype, the exponent may be any numeric dtype (opset 12+)
export const Pow = defineOp({
  name: 'Pow',
  domain: '',
  since: 1,
  arity: [2, 2],
  attrs: legacyAttrs,
  infer: (ctx, lb) => {
    const x = need(ctx.inputs[0], 0, 'Pow');
    requireDtype('Pow', x.dtype, isNumeric, 'a numeric type');
    return [binaryType(ctx, lb, x.dtype)];
  },
  ref: (ins, lb) => {
    const x = need(ins[0], 0, 'Pow');
    const y = alignB(x, need(ins[1], 1, 'Pow'), lb);
    requireDtype('Pow', x.dtype, isNumeric, 'a numeric type');
    requireDtype('Pow', y.dtype, isNumeric, 'a numeric type');
    if (isInt(x.dtype) && isInt(y.dtype)) {
      if (isBigInt(x.dtype) || isBigInt(y.dtype)) {
        const xb = x.dtype === 'i64' || x.dtype === 'u64' ? x : toBigTensor(x);
        const yb = y.dtype === 'i64' || y.dtype === 'u64' ? y : toBigTensor(y);
        const r = binaryBig(xb, yb, bigPow);
        return [r.dtype === x.dtype ? r : castNumeric(r, x.dtype)];
      }
      // exact power wrapped to 32 bits; the typed-array store wraps further for narrower types
      return [binaryMap(x, y, x.dtype, (a, b) => Number(BigInt.asIntN(32, bigPow(BigInt(a), BigInt(b)))))];
    }
    if (x.dtype === 'i64' || x.dtype === 'u64') {
      // int64 base, float exponent: computed in double, truncated to int64
      const r = binaryMap(x, y, 'f64', cpow);
      return [castNumeric(r, x.dtype)];
    }
    return [binaryMap(x, y, x.dtype, cpow)];
  },
  cost: perElementCost,
});

/** A copy of an integer tensor as i64. */
function toBigTensor(t: Tensor): Tensor {
  const out = Tensor.zeros('i64', t.shape);
  const d = out.data as BigInt64Array;
  const s = numData(t);
  for (let i = 0; i < s.length; i++) d[i] = BigInt(s[i]!);
  return out;
}

/** Numeric cast with Tensor.set semantics (truncate, wrap, round to float dtypes). */
function castNumeric(t: Tensor, dt: DType): Tensor {
  const out = Tensor.zeros(dt, t.shape);
  if (isBigInt(t.dtype) && isInt(dt) && !isBigInt(dt)) {
    // wrap on the bigint first: Number() of a 64-bit value would drop low bits
    for (let i = 0; i < t.size; i++) out.set(i, Number(BigInt.asIntN(32, t.getBig(i))));
  } else if (isBigInt(t.dtype)) for (let i = 0; i < t.size; i++) out.set(i, t.getBig(i));
  else for (let i = 0; i < t.size; i++) out.set(i, t.get(i));
  return out;
}

/** Python-style modulo (result has the divisor's sign), as ONNX Mod with fmod=0. */
function pyMod(a: number, b: number): number {
  if (b === 0) return 0;
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

function pyModBig(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const r = a % b;
  return r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
}

// y = a mod b: fmod=1 is C fmod (dividend's sign), fmod=0 is Python modulo (divisor's sign).
export const Mod = defineOp({
  name: 'Mod',
  domain: '',
  since: 10,
  arity: [2, 2],
  attrs: (r) => {
    const fmod = r.int('fmod', 0);
    if (fmod !== 0 && fmod !== 1) throw r.error(`attribute "fmod" must be 0 or 1, got ${fmod}`);
    return { fmod };
  },
  infer: (ctx) => {
    const dt = sameDtype(ctx);
    requireDtype('Mod', dt, isNumeric, 'a numeric type');
    return [broadcastType(ctx, dt)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Mod');
    const y = need(ins[1], 1, 'Mod');
    if (isBigInt(x.dtype)) {
      return [binaryBig(x, y, a.fmod ? (p, q) => (q === 0n ? 0n : p % q) : pyModBig)];
    }
    if (isFloat(x.dtype)) {
      // ONNX reference: fmod for floats; with fmod=0 NaNs are mapped to 0 (numpy nan_to_num)
      if (a.fmod) return [binaryMap(x, y, x.dtype, (p, q) => p % q)];
      return [binaryMap(x, y, x.dtype, (p, q) => nanToNum(p % q))];
    }
    return [binaryMap(x, y, x.dtype, a.fmod ? (p, q) => (q === 0 ? 0 : p % q) : pyMod)];
  },
  cost: perElementCost,
});

function nanToNum(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (v === Infinity) return Number.MAX_VALUE;
  if (v === -Infinity) return -Number.MAX_VALUE;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Variadic: Sum, Mean, Max, Min
// ---------------------------------------------------------------------------------------------

/** Folds broadcast inputs pairwise with `step` (raw elements; same dtype for all inputs). */
function foldInputs(name: string, ins: (Tensor | null)[], step: (acc: Tensor, t: Tensor) => Tensor): Tensor {
  const ts = ins.filter((t): t is Tensor => t !== null);
  if (ts.length === 0) throw invalid(`${name} needs at least one input`);
  for (const t of ts) {
    if (t.dtype !== ts[0]!.dtype) throw invalid(`${name}: input dtypes differ (${ts[0]!.dtype} vs ${t.dtype})`);
  }
  let acc = ts[0]!;
  for (let k = 1; k < ts.length; k++) acc = step(acc, ts[k]!);
  return acc;
}

/** Raw-element binary map keeping the first input's dtype (for Max/Min on every dtype). */
function rawBinary(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastConcrete([a.shape, b.shape]);
  const n = numel(shape);
  const out = Tensor.zeros(a.dtype, shape);
  const d = rawData(out);
  const x = rawData(a);
  const y = rawData(b);
  const ia = bindex(a.shape, shape);
  const ib = bindex(b.shape, shape);
  for (let i = 0; i < n; i++) d[i] = f(x[ia ? ia[i]! : i]!, y[ib ? ib[i]! : i]!);
  return out;
}

/** Defines a variadic broadcasting op. */
function variadic(name: string, step: (acc: Tensor, t: Tensor) => Tensor, post?: (t: Tensor, n: number) => Tensor) {
  return defineOp({
    name,
    domain: '',
    since: 1,
    arity: [1, Infinity],
    attrs: () => ({}),
    infer: (ctx) => {
      const dt = sameDtype(ctx);
      requireDtype(name, dt, isNumeric, 'a numeric type');
      return [broadcastType(ctx, dt)];
    },
    ref: (ins) => {
      const r = foldInputs(name, ins, step);
      const n = ins.filter((t) => t !== null).length;
      // a single input still yields a fresh tensor of the same value
      return [post ? post(r, n) : r];
    },
    cost: perElementCost,
  });
}

function addStep(acc: Tensor, t: Tensor): Tensor {
  return isBigInt(acc.dtype) ? binaryBig(acc, t, (a, b) => a + b) : binaryMap(acc, t, acc.dtype, (a, b) => a + b);
}

/** max/min propagating NaN (numpy maximum/minimum). */
const maxNaN = (a: number, b: number): number => (a !== a ? a : b !== b ? b : a >= b ? a : b);
const minNaN = (a: number, b: number): number => (a !== a ? a : b !== b ? b : a <= b ? a : b);

// y = sum_k x_k (broadcast)
export const Sum = variadic('Sum', addStep);
// y = max_k x_k (NaN propagates)
export const Max = variadic('Max', (a, b) => rawBinary(a, b, maxNaN));
// y = min_k x_k (NaN propagates)
export const Min = variadic('Min', (a, b) => rawBinary(a, b, minNaN));

/** Sum of float inputs computed in float64, divided by the count, rounded once. */
function meanOf(ins: (Tensor | null)[]): Tensor {
  const ts = ins.filter((t): t is Tensor => t !== null);
  if (ts.length === 0) throw invalid('Mean needs at least one input');
  const dt = ts[0]!.dtype;
  requireDtype('Mean', dt, isFloat, 'a float type');
  const shape = broadcastConcrete(ts.map((t) => t.shape));
  const n = numel(shape);
  const acc = new Float64Array(n);
  for (const t of ts) {
    if (t.dtype !== dt) throw invalid(`Mean: input dtypes differ (${dt} vs ${t.dtype})`);
    const x = numData(t);
    const ix = bindex(t.shape, shape);
    for (let i = 0; i < n; i++) acc[i] = acc[i]! + x[ix ? ix[i]! : i]!;
  }
  for (let i = 0; i < n; i++) acc[i] = acc[i]! / ts.length;
  const out = numOut(dt, n);
  for (let i = 0; i < n; i++) out[i] = acc[i]!;
  return finish(dt, shape, out);
}

// y = (sum_k x_k) / count
export const Mean = defineOp({
  name: 'Mean',
  domain: '',
  since: 1,
  arity: [1, Infinity],
  attrs: () => ({}),
  infer: (ctx) => [broadcastType(ctx, sameDtype(ctx))],
  ref: (ins) => [meanOf(ins)],
  cost: perElementCost,
});

// ---------------------------------------------------------------------------------------------
// Comparisons and logic (bool outputs)
// ---------------------------------------------------------------------------------------------

/** Defines a broadcasting comparison returning bool. */
function comparison(name: string, since: number, f: (x: number, y: number) => boolean, strings = false) {
  return defineOp({
    name,
    domain: '',
    since,
    arity: [2, 2],
    attrs: legacyAttrs,
    infer: (ctx, lb) => {
      const dt = sameDtype(ctx);
      if (dt === 'string' && !strings) throw unsupported(`${name}: string inputs are not supported`);
      return [binaryType(ctx, lb, 'bool')];
    },
    ref: (ins, lb) => {
      const a = need(ins[0], 0, name);
      const b = alignB(a, need(ins[1], 1, name), lb);
      if (a.dtype !== b.dtype) throw invalid(`${name}: input dtypes differ (${a.dtype} vs ${b.dtype})`);
      if (a.dtype === 'string' && !strings) throw unsupported(`${name}: string inputs are not supported`);
      return [compareMap(a, b, f)];
    },
    cost: perElementCost,
  });
}

// y = (a == b)
export const Equal = comparison('Equal', 1, (x, y) => x === y, true);
// y = (a < b)
export const Less = comparison('Less', 1, (x, y) => x < y);
// y = (a > b)
export const Greater = comparison('Greater', 1, (x, y) => x > y);
// y = (a <= b)
export const LessOrEqual = comparison('LessOrEqual', 12, (x, y) => x <= y);
// y = (a >= b)
export const GreaterOrEqual = comparison('GreaterOrEqual', 12, (x, y) => x >= y);

/** Defines a broadcasting logical op on bool tensors. */
function logical(name: string, f: (x: number, y: number) => boolean) {
  return defineOp({
    name,
    domain: '',
    since: 1,
    arity: [2, 2],
    attrs: legacyAttrs,
    infer: (ctx, lb) => {
      const dt = sameDtype(ctx);
      if (dt !== 'bool') throw invalid(`${name}: inputs must be bool, got ${dt}`);
      return [binaryType(ctx, lb, 'bool')];
    },
    ref: (ins, lb) => {
      const a = need(ins[0], 0, name);
      const b = alignB(a, need(ins[1], 1, name), lb);
      if (a.dtype !== 'bool' || b.dtype !== 'bool') throw invalid(`${name}: inputs must be bool`);
      return [compareMap(a, b, f)];
    },
    cost: perElementCost,
  });
}

// y = a AND b
export const And = logical('And', (x, y) => x !== 0 && y !== 0);
// y = a OR b
export const Or = logical('Or', (x, y) => x !== 0 || y !== 0);
// y = a XOR b
export const Xor = logical('Xor', (x, y) => (x !== 0) !== (y !== 0));

// y = NOT x
export const Not = defineOp({
  name: 'Not',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Not');
    if (x.dtype !== 'bool') throw invalid(`Not: input must be bool, got ${x.dtype}`);
    return [x];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'Not');
    if (x.dtype !== 'bool') throw invalid(`Not: input must be bool, got ${x.dtype}`);
    const s = x.data as Uint8Array;
    const d = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) d[i] = s[i] ? 0 : 1;
    return [new Tensor('bool', x.shape, d)];
  },
  cost: perElementCost,
});

const UINT_BITS: Partial<Record<DType, number>> = { u8: 8, u16: 16, u32: 32, u64: 64 };

// y = x << s or x >> s on unsigned integers (shifts of >= the bit width give 0)
export const BitShift = defineOp({
  name: 'BitShift',
  domain: '',
  since: 11,
  arity: [2, 2],
  attrs: (r) => ({ left: r.oneOf('direction', 'LEFT' as 'LEFT' | 'RIGHT', ['LEFT', 'RIGHT']) === 'LEFT' }),
  infer: (ctx) => {
    const dt = sameDtype(ctx);
    if (UINT_BITS[dt] === undefined) throw invalid(`BitShift: inputs must be unsigned integers, got ${dt}`);
    return [broadcastType(ctx, dt)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'BitShift');
    const s = need(ins[1], 1, 'BitShift');
    const bits = UINT_BITS[x.dtype];
    if (bits === undefined || s.dtype !== x.dtype) throw invalid(`BitShift: inputs must be one unsigned integer dtype`);
    if (bits === 64) {
      return [binaryBig(x, s, (v, k) => (k >= 64n ? 0n : a.left ? BigInt.asUintN(64, v << k) : v >> k))];
    }
    return [binaryMap(x, s, x.dtype, (v, k) => {
      if (k >= bits) return 0;
      // multiply/divide by 2^k stays exact in doubles for <= 32-bit values; the store wraps
      return a.left ? v * 2 ** k : Math.floor(v / 2 ** k);
    })];
  },
  cost: perElementCost,
});

// y = cond ? x : y (broadcast over all three; any dtype)
export const Where = defineOp({
  name: 'Where',
  domain: '',
  since: 9,
  arity: [3, 3],
  attrs: () => ({}),
  infer: (ctx) => {
    const c = need(ctx.inputs[0], 0, 'Where');
    const x = need(ctx.inputs[1], 1, 'Where');
    const y = need(ctx.inputs[2], 2, 'Where');
    if (c.dtype !== 'bool') throw invalid(`Where: condition must be bool, got ${c.dtype}`);
    if (x.dtype !== y.dtype) throw invalid(`Where: X and Y dtypes differ (${x.dtype} vs ${y.dtype})`);
    return [broadcastType(ctx, x.dtype)];
  },
  ref: (ins) => {
    const c = need(ins[0], 0, 'Where');
    const x = need(ins[1], 1, 'Where');
    const y = need(ins[2], 2, 'Where');
    if (c.dtype !== 'bool') throw invalid(`Where: condition must be bool, got ${c.dtype}`);
    if (x.dtype !== y.dtype) throw invalid(`Where: X and Y dtypes differ (${x.dtype} vs ${y.dtype})`);
    const shape = broadcastConcrete([c.shape, x.shape, y.shape]);
    const n = numel(shape);
    const out = Tensor.zeros(x.dtype, shape);
    const d = rawData(out);
    const cd = c.data as Uint8Array;
    const xd = rawData(x);
    const yd = rawData(y);
    const ic = bindex(c.shape, shape);
    const ix = bindex(x.shape, shape);
    const iy = bindex(y.shape, shape);
    for (let i = 0; i < n; i++) {
      d[i] = cd[ic ? ic[i]! : i] ? xd[ix ? ix[i]! : i]! : yd[iy ? iy[i]! : i]!;
    }
    return [out];
  },
  cost: perElementCost,
});

// ---------------------------------------------------------------------------------------------
// Unary math
// ---------------------------------------------------------------------------------------------

/** Defines a unary op y = f(x) on float dtypes with no attributes. */
function unaryFloat(name: string, since: number, f: (x: number) => number) {
  return defineOp({
    name,
    domain: '',
    since,
    arity: [1, 1],
    attrs: () => ({}),
    infer: (ctx) => {
      const x = need(ctx.inputs[0], 0, name);
      requireDtype(name, x.dtype, isFloat, 'a float type');
      return [x];
    },
    ref: (ins) => {
      const x = need(ins[0], 0, name);
      requireDtype(name, x.dtype, isFloat, 'a float type');
      return [unaryMap(x, x.dtype, f)];
    },
    cost: perElementCost,
  });
}

/** Defines a unary op on every numeric dtype, with an exact bigint form for i64/u64. */
function unaryNumeric(name: string, since: number, f: (x: number) => number, big: (x: bigint) => bigint) {
  return defineOp({
    name,
    domain: '',
    since,
    arity: [1, 1],
    attrs: () => ({}),
    infer: (ctx) => {
      const x = need(ctx.inputs[0], 0, name);
      requireDtype(name, x.dtype, isNumeric, 'a numeric type');
      return [x];
    },
    ref: (ins) => {
      const x = need(ins[0], 0, name);
      requireDtype(name, x.dtype, isNumeric, 'a numeric type');
      if (isBigInt(x.dtype)) {
        const s = x.data as BigInt64Array;
        const out = Tensor.zeros(x.dtype, x.shape);
        const d = out.data as BigInt64Array;
        for (let i = 0; i < s.length; i++) d[i] = big(s[i]!);
        return [out];
      }
      return [unaryMap(x, x.dtype, f)];
    },
    cost: perElementCost,
  });
}

// y = max(x, 0)
export const Relu = defineOp({
  name: 'Relu',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Relu');
    requireDtype('Relu', x.dtype, isNumeric, 'a numeric type');
    return [x];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'Relu');
    requireDtype('Relu', x.dtype, isNumeric, 'a numeric type');
    if (isBigInt(x.dtype)) {
      const out = Tensor.zeros(x.dtype, x.shape);
      const s = x.data as BigInt64Array;
      const d = out.data as BigInt64Array;
      for (let i = 0; i < s.length; i++) d[i] = s[i]! > 0n ? s[i]! : 0n;
      return [out];
    }
    // NaN > 0 is false but NaN must propagate: x < 0 ? 0 : x keeps NaN
    const s = numData(x);
    const out = numOut(x.dtype, s.length);
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      out[i] = v < 0 ? 0 : v;
    }
    return [finish(x.dtype, x.shape, out)];
  },
  cost: perElementCost,
});

// y = |x|
export const Abs = unaryNumeric('Abs', 1, Math.abs, (x) => (x < 0n ? -x : x));
// y = -x
export const Neg = unaryNumeric('Neg', 1, (x) => -x, (x) => -x);
// y = sign(x) in {-1, 0, 1} (NaN stays NaN)
export const Sign = unaryNumeric('Sign', 9, (x) => (x > 0 ? 1 : x < 0 ? -1 : x), (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n));

// y = floor(x)
export const Floor = unaryFloat('Floor', 1, Math.floor);
// y = ceil(x)
export const Ceil = unaryFloat('Ceil', 1, Math.ceil);
// y = round(x), halves to even
export const Round = unaryFloat('Round', 11, roundEven);
// y = e^x
export const Exp = unaryFloat('Exp', 1, Math.exp);
// y = ln(x)
export const Log = unaryFloat('Log', 1, Math.log);
// y = sqrt(x)
export const Sqrt = unaryFloat('Sqrt', 1, Math.sqrt);
// y = 1 / x
export const Reciprocal = unaryFloat('Reciprocal', 1, (x) => 1 / x);
// y = erf(x)
export const Erf = unaryFloat('Erf', 9, erf);
// y = sin(x)
export const Sin = unaryFloat('Sin', 7, Math.sin);
// y = cos(x)
export const Cos = unaryFloat('Cos', 7, Math.cos);
// y = tan(x)
export const Tan = unaryFloat('Tan', 7, Math.tan);
// y = asin(x)
export const Asin = unaryFloat('Asin', 7, Math.asin);
// y = acos(x)
export const Acos = unaryFloat('Acos', 7, Math.acos);
// y = atan(x)
export const Atan = unaryFloat('Atan', 7, Math.atan);
// y = sinh(x)
export const Sinh = unaryFloat('Sinh', 9, Math.sinh);
// y = cosh(x)
export const Cosh = unaryFloat('Cosh', 9, Math.cosh);
// y = asinh(x)
export const Asinh = unaryFloat('Asinh', 9, Math.asinh);
// y = acosh(x)
export const Acosh = unaryFloat('Acosh', 9, Math.acosh);
// y = atanh(x)
export const Atanh = unaryFloat('Atanh', 9, Math.atanh);

/** Round half to even that keeps -0 and NaN (ONNX Round). */
export function roundEven(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const f = Math.floor(x);
  const d = x - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r === 0 && x < 0 ? -0 : r;
}

/**
 * erf(x) to double precision: the all-positive series erf(x) = 2/sqrt(pi) e^-x^2 sum 2^n x^(2n+1)/(2n+1)!!
 * for |x| < 3, the erfc continued fraction (modified Lentz) beyond.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1;
  let r: number;
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  } else {
    r = 1 - erfcLarge(ax);
  }
  return x < 0 ? -r : r;
}

/** erfc(x) for x >= 3: e^-x^2/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfcLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    const a = k / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

// y = isnan(x)
export const IsNaN = defineOp({
  name: 'IsNaN',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'IsNaN');
    requireDtype('IsNaN', x.dtype, isFloat, 'a float type');
    return [{ dtype: 'bool', shape: x.shape }];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'IsNaN');
    requireDtype('IsNaN', x.dtype, isFloat, 'a float type');
    return [unaryMap(x, 'bool', (v) => (v !== v ? 1 : 0))];
  },
  cost: perElementCost,
});

// y = isinf(x), optionally only +inf or -inf
export const IsInf = defineOp({
  name: 'IsInf',
  domain: '',
  since: 10,
  arity: [1, 1],
  attrs: (r) => ({ neg: r.int('detect_negative', 1) !== 0, pos: r.int('detect_positive', 1) !== 0 }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'IsInf');
    requireDtype('IsInf', x.dtype, isFloat, 'a float type');
    return [{ dtype: 'bool', shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'IsInf');
    requireDtype('IsInf', x.dtype, isFloat, 'a float type');
    return [unaryMap(x, 'bool', (v) => ((a.pos && v === Infinity) || (a.neg && v === -Infinity) ? 1 : 0))];
  },
  cost: perElementCost,
});

export { Tensor };

// ---------------------------------------------------------------------------------------------
// Bitwise ops (opset 18) and BitCast (opset 26)
// ---------------------------------------------------------------------------------------------

const BITWISE_DTYPES: readonly DType[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'];
const isBitwiseDtype = (dt: DType): boolean => BITWISE_DTYPES.includes(dt);

/**
 * Defines BitwiseAnd/Or/Xor: two's-complement bit operations with numpy broadcasting. Up to 32
 * bits the JS int32 operators give the right bit pattern and the typed-array store keeps the
 * dtype's low bits; i64/u64 use bigint operators (the store wraps modulo 2^64).
 */
function bitwiseBinary(name: string, f: (x: number, y: number) => number, big: (x: bigint, y: bigint) => bigint) {
  return defineOp({
    name,
    domain: '',
    since: 18,
    arity: [2, 2],
    attrs: () => ({}),
    infer: (ctx) => {
      const dt = sameDtype(ctx);
      requireDtype(name, dt, isBitwiseDtype, 'an integer type');
      return [broadcastType(ctx, dt)];
    },
    ref: (ins) => {
      const a = need(ins[0], 0, name);
      const b = need(ins[1], 1, name);
      if (a.dtype !== b.dtype) throw invalid(`${name}: input dtypes differ (${a.dtype} vs ${b.dtype})`);
      requireDtype(name, a.dtype, isBitwiseDtype, 'an integer type');
      return [isBigInt(a.dtype) ? binaryBig(a, b, big) : binaryMap(a, b, a.dtype, f)];
    },
    cost: perElementCost,
  });
}

// y = a & b (bitwise, two's complement)
export const BitwiseAnd = bitwiseBinary('BitwiseAnd', (x, y) => x & y, (x, y) => x & y);
// y = a | b
export const BitwiseOr = bitwiseBinary('BitwiseOr', (x, y) => x | y, (x, y) => x | y);
// y = a ^ b
export const BitwiseXor = bitwiseBinary('BitwiseXor', (x, y) => x ^ y, (x, y) => x ^ y);

// y = ~x (every bit flipped; unsigned results are the dtype's low bits of the complement)
export const BitwiseNot = defineOp({
  name: 'BitwiseNot',
  domain: '',
  since: 18,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'BitwiseNot');
    requireDtype('BitwiseNot', x.dtype, isBitwiseDtype, 'an integer type');
    return [x];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'BitwiseNot');
    requireDtype('BitwiseNot', x.dtype, isBitwiseDtype, 'an integer type');
    if (isBigInt(x.dtype)) {
      const s = x.data as BigInt64Array;
      const out = Tensor.zeros(x.dtype, x.shape);
      const d = out.data as BigInt64Array;
      // BigInt64Array/BigUint64Array stores keep the low 64 bits of the complement
      for (let i = 0; i < s.length; i++) d[i] = ~s[i]!;
      return [out];
    }
    return [unaryMap(x, x.dtype, (v) => ~v)];
  },
  cost: perElementCost,
});

/** Bits per element of a dtype BitCast can reinterpret (string has no fixed width). */
function bitWidth(dt: DType): number {
  switch (dt) {
    case 'i4': case 'u4': return 4;
    case 'bool': case 'i8': case 'u8': return 8;
    case 'f16': case 'bf16': case 'i16': case 'u16': return 16;
    case 'f32': case 'i32': case 'u32': return 32;
    case 'f64': case 'i64': case 'u64': return 64;
    case 'string': throw unsupported('BitCast: string tensors have no fixed bit width');
  }
}

/** Unsigned storage for `n` raw elements of `bits` bits (4-bit values use one byte each). */
function bitsArray(bits: number, n: number): Uint8Array | Uint16Array | Uint32Array | BigUint64Array {
  return bits <= 8 ? new Uint8Array(n) : bits === 16 ? new Uint16Array(n) : bits === 32 ? new Uint32Array(n) : new BigUint64Array(n);
}

/** Copies a typed array's bytes into a fresh `bits`-wide unsigned array (same native byte order). */
function reinterpretBytes(src: TensorData, bits: number): Uint8Array | Uint16Array | Uint32Array | BigUint64Array {
  const s = src as Uint8Array;
  const bytes = new Uint8Array(s.buffer, s.byteOffset, s.byteLength).slice();
  return bits === 8 ? bytes : bits === 16 ? new Uint16Array(bytes.buffer) : bits === 32 ? new Uint32Array(bytes.buffer) : new BigUint64Array(bytes.buffer);
}

/**
 * The bit pattern of every element of `t` as unsigned integers of the dtype's width: IEEE
 * half/bfloat16 encodings for f16/bf16 (their storage holds exact values), the low 4 bits for
 * i4/u4, 0/1 for bool, the storage bytes otherwise.
 * @param t input tensor (not string)
 */
export function tensorBits(t: Tensor): Uint8Array | Uint16Array | Uint32Array | BigUint64Array {
  const bits = bitWidth(t.dtype);
  const n = t.size;
  if (t.dtype === 'f16' || t.dtype === 'bf16') {
    const out = new Uint16Array(n);
    const s = t.data as Float32Array;
    for (let i = 0; i < n; i++) out[i] = t.dtype === 'f16' ? numberToF16Bits(s[i]!) : numberToBf16Bits(s[i]!);
    return out;
  }
  if (bits === 4) {
    const out = new Uint8Array(n);
    const s = t.data as Int8Array;
    for (let i = 0; i < n; i++) out[i] = s[i]! & 15;
    return out;
  }
  return reinterpretBytes(t.data, bits);
}

/**
 * A tensor of dtype `dt` whose elements have the given bit patterns (inverse of tensorBits).
 * A bool element is true when any of its 8 bits is set (numpy's view of a nonzero byte).
 * @param dt output dtype (same width as the patterns)
 * @param shape output shape
 * @param b bit patterns, one per element
 */
export function tensorFromBits(dt: DType, shape: ConcreteShape, b: Uint8Array | Uint16Array | Uint32Array | BigUint64Array): Tensor {
  const bits = bitWidth(dt);
  const n = b.length;
  const out = Tensor.zeros(dt, shape);
  if (dt === 'f16' || dt === 'bf16') {
    const d = out.data as Float32Array;
    for (let i = 0; i < n; i++) d[i] = dt === 'f16' ? f16BitsToNumber(b[i] as number) : bf16BitsToNumber(b[i] as number);
    return out;
  }
  if (bits === 4 || dt === 'bool') {
    for (let i = 0; i < n; i++) out.set(i, b[i] as number); // i4/u4: set() wraps to 4 bits; bool: != 0
    return out;
  }
  const view = reinterpretBytes(b, bits);
  new Uint8Array((out.data as Uint8Array).buffer).set(new Uint8Array(view.buffer));
  return out;
}

// y = the bits of x read as dtype `to` (same width; shape unchanged, no value conversion)
export const BitCast = defineOp({
  name: 'BitCast',
  domain: '',
  since: 26,
  arity: [1, 1],
  attrs: (r) => {
    const n = r.int('to');
    if (n === undefined) throw r.error('attribute "to" is required');
    const to = dtypeFromOnnx(n);
    if (!to) throw r.unsupported(`BitCast to ${ONNX_DTYPE_NAMES[n] ?? `data type ${n}`} is not supported`);
    if (to === 'string') throw r.error('BitCast: "to" must be a fixed-width type, not STRING');
    return { to };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'BitCast');
    if (bitWidth(x.dtype) !== bitWidth(a.to)) {
      throw invalid(`BitCast: ${x.dtype} (${bitWidth(x.dtype)} bits) and ${a.to} (${bitWidth(a.to)} bits) differ in width`);
    }
    return [{ dtype: a.to, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'BitCast');
    if (bitWidth(x.dtype) !== bitWidth(a.to)) {
      throw invalid(`BitCast: ${x.dtype} (${bitWidth(x.dtype)} bits) and ${a.to} (${bitWidth(a.to)} bits) differ in width`);
    }
    return [tensorFromBits(a.to, x.shape, tensorBits(x))];
  },
  cost: perElementCost,
});
