/**
 * Wasm lowerings of the elementwise family (compiler/ops/elementwise.ts). f32 graphs take the SIMD
 * fast path: unary math ops on unary_f32, broadcasting binary ops on binary_f32, int8/uint8
 * Max/Min on minmax_u8. Every other dtype (and the ops those kernels lack: Mod, comparisons,
 * logic, bit ops, Where, the inverse trigonometric and hyperbolic functions) runs on the
 * dtype-generic kernels unary_any / binary_any / where_any (runtime-wasm/assembly/anytype.ts),
 * which compute exactly what the reference computes (integers bit for bit).
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { DType, isFloat } from '../../../compiler/ir/dtype.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { internal } from '../../../compiler/errors.js';
import { broadcastStrides, contiguous, opAttrs, unarySpec } from '../../common/params.js';
import { ANY_BINARY, ANY_UNARY, BINARY, DTYPE, MAX_DIMS, UNARY } from '../kernels.js';
import { DTYPE_BYTES, LowerCtx, LowerFn, NULL, Word, f32, i32, coalesce, copyView, runtimeBytes } from '../ctx.js';

/** Unary ops: the kernel's op code and scalar parameters (targets/common/params.ts unarySpec). */
function unaryParams(c: LowerCtx, n: Node): { code: number; a0: number; a1: number } {
  const u = unarySpec(c, n);
  const code = (UNARY as Record<string, number>)[u.op];
  if (code === undefined) throw c.unsupported(`no wasm kernel for ${n.op}`);
  return { code, a0: u.alpha, a1: u.beta };
}

/**
 * Unary ops and activations: f32 ops with a unary_f32 code take the SIMD kernel (Clip only with
 * constant bounds); other dtypes, runtime Clip bounds and the ops unary_f32 lacks take unary_any.
 */
export function lowerUnary(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const f32Only = c.g.typeOf(x).dtype === 'f32' && c.g.typeOf(y).dtype === 'f32';
  const runtimeBounds = n.op === 'Clip' && n.inputs.slice(1).some((b) => b !== null && b !== undefined && !c.isConst(b));
  if (f32Only && !runtimeBounds && (UNARY as Record<string, number>)[unarySpec(c, n).op] !== undefined) {
    const u = unaryParams(c, n);
    c.emit('unary_f32', [i32(u.code), c.addr(x), c.addr(y), i32(numel(c.shape(y))), f32(u.a0), f32(u.a1)],
      { reads: [x], writes: [y], inplace: [x, y] });
    return;
  }
  lowerUnaryAny(c, n);
}

// ---------------------------------------------------------------------------------------------
// Dtype-generic kernels (runtime-wasm/assembly/anytype.ts)
// ---------------------------------------------------------------------------------------------

/** DTYPE code of a value of any runtime dtype ('unsupported' for i4/u4, strings, sequences). */
export function anyCode(c: LowerCtx, id: ValueId): number {
  c.dtypeBytes(id);
  return DTYPE[c.g.typeOf(id).dtype as keyof typeof DTYPE];
}

/** An operand of the generic kernels: buffer id (null: blob), address word, shape, DTYPE code, element bytes. */
export interface Operand { id: number | null; w: Word; shape: number[]; code: number; bytes: number }

/** The operand of value `id` (its buffer or constant blob). */
export function operand(c: LowerCtx, id: ValueId): Operand {
  return { id, w: c.vaddr(id), shape: c.shape(id), code: anyCode(c, id), bytes: c.dtypeBytes(id) };
}

/** A compile-time operand: `t` stored in a blob with the layout of its dtype. */
export function blobOperand(c: LowerCtx, t: Tensor): Operand {
  return { id: null, w: c.blob(runtimeBytes(t)), shape: [...t.shape], code: DTYPE[t.dtype as keyof typeof DTYPE], bytes: DTYPE_BYTES[t.dtype]! };
}

/**
 * A temporary buffer of `shape` and dtype `dt` as a generic-kernel operand.
 * @param c lowering context
 * @param dt dtype of the temporary's elements
 * @param shape its shape (contiguous)
 */
export function tempOperand(c: LowerCtx, dt: DType, shape: number[]): Operand {
  const bytes = DTYPE_BYTES[dt]!;
  const id = c.temp(numel(shape) * bytes);
  return { id, w: { k: 'buf', id, off: 0 }, shape, code: DTYPE[dt as keyof typeof DTYPE], bytes };
}

/**
 * y = op(x) on unary_any between operands (temporaries included), contiguous, same element count.
 * @param bounds Clip bounds: address words of scalars of x's dtype (NULL: unbounded)
 */
export function emitUnaryOperands(c: LowerCtx, op: number, x: Operand, y: Operand, bounds: [Word, Word] = [NULL, NULL]): void {
  c.emit('unary_any', [i32(op), x.w, y.w, i32(x.code), i32(y.code), i32(numel(y.shape)), bounds[0], bounds[1], NULL],
    { reads: [x.id], writes: y.id === null ? [] : [y.id], dtype: y.id !== null && y.id >= 0 ? c.g.typeOf(y.id).dtype : 'any' });
}

/** Address of an op's two attributes as f64 (exact: defaults like HardSigmoid's 0.2 are doubles), NULL when both are 0. */
function attrWord(c: LowerCtx, a0 = 0, a1 = 0): Word {
  if (a0 === 0 && a1 === 0) return NULL;
  const d = new Float64Array([a0, a1]);
  return c.blob(new Uint8Array(d.buffer));
}

/**
 * y = op(x) elementwise on unary_any (contiguous, same shape).
 * @param p Clip bounds (values of x's dtype; absent: unbounded) and the op's scalar attributes
 */
export function emitUnaryAny(c: LowerCtx, op: number, x: ValueId, y: ValueId, p: { lo?: ValueId | null; hi?: ValueId | null; a0?: number; a1?: number } = {}): void {
  const xo = operand(c, x);
  const yo = operand(c, y);
  const bound = (b: ValueId | null | undefined): Word => (b === null || b === undefined ? NULL : c.vaddr(b));
  c.emit('unary_any', [i32(op), xo.w, yo.w, i32(xo.code), i32(yo.code), i32(numel(yo.shape)), bound(p.lo), bound(p.hi), attrWord(c, p.a0, p.a1)],
    { reads: [x, p.lo ?? null, p.hi ?? null], writes: [y], dtype: c.g.typeOf(y).dtype, ...(xo.bytes === yo.bytes ? { inplace: [x, y] as [number, number] } : {}) });
}

/**
 * y = a op b with numpy broadcasting on binary_any (y has the broadcast shape, contiguous).
 * @param inplaceOk let y reuse a's buffer when a has y's shape and element size and dies here
 */
export function emitBinaryAny(c: LowerCtx, op: number, a: Operand, b: Operand, y: Operand, inplaceOk: boolean): void {
  const ys = y.shape;
  if (numel(ys) === 0) return;
  const co = coalesce(ys, [broadcastStrides(a.shape, ys), broadcastStrides(b.shape, ys), contiguous(ys)]);
  if (!co) throw c.unsupported(`broadcast over more than ${MAX_DIMS} dims`);
  const same = (s: number[]) => s.length === ys.length && s.every((d, i) => d === ys[i]);
  const inplace: [number, number] | undefined = inplaceOk && a.id !== null && y.id !== null && same(a.shape) && a.bytes === y.bytes ? [a.id, y.id] : undefined;
  c.emit('binary_any', [i32(op), a.w, b.w, y.w, i32(a.code), i32(b.code), i32(y.code), ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32)],
    { reads: [a.id, b.id], writes: y.id === null ? [] : [y.id], dtype: y.id !== null && y.id >= 0 ? c.g.typeOf(y.id).dtype : 'any', ...(inplace ? { inplace } : {}) });
}

/** unary_any code and attributes of a float activation / unary op (unarySpec's parameters). */
function anyUnaryOf(c: LowerCtx, n: Node): { op: number; a0: number; a1: number } {
  const u = unarySpec(c, n);
  const op = (ANY_UNARY as Record<string, number>)[u.op];
  if (op === undefined) throw c.unsupported(`no wasm kernel for ${n.op} on ${c.g.typeOf(n.inputs[0]!).dtype}`);
  return { op, a0: u.alpha, a1: u.beta };
}

/** Ops the integer path of unary_any computes (others need a float input). */
const INT_UNARY = new Set(['Neg', 'Abs', 'Sign', 'Relu', 'Clip', 'BitwiseNot', 'Not']);

/** A unary op on unary_any (any dtype the reference accepts; Clip bounds constant or runtime). */
function lowerUnaryAny(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const dt = c.g.typeOf(x).dtype;
  if (!isFloat(dt) && !INT_UNARY.has(n.op)) throw c.unsupported(`${n.op} on ${dt} is not supported on wasm`);
  if (n.op === 'Clip') {
    if (c.opset >= 11) {
      emitUnaryAny(c, ANY_UNARY.Clip, x, y, { lo: n.inputs[1] ?? null, hi: n.inputs[2] ?? null });
      return;
    }
    // attribute bounds (opset < 11): blobs of x's dtype, absent when infinite
    const a = opAttrs<{ min: number; max: number }>(n, c.opset);
    if (!isFloat(dt)) throw c.unsupported(`Clip opset ${c.opset} on ${dt} is not supported on wasm`);
    const bound = (v: number): Word => (Number.isFinite(v) || Number.isNaN(v) ? c.blob(runtimeBytes(Tensor.from(dt, [], [v]))) : NULL);
    const xo = operand(c, x);
    const yo = operand(c, y);
    const lo = a.min === -Infinity ? NULL : bound(a.min);
    const hi = a.max === Infinity ? NULL : bound(a.max);
    c.emit('unary_any', [i32(ANY_UNARY.Clip), xo.w, yo.w, i32(xo.code), i32(yo.code), i32(numel(yo.shape)), lo, hi, NULL],
      { reads: [x], writes: [y], dtype: c.g.typeOf(y).dtype, inplace: [x, y] });
    return;
  }
  const u = n.op === 'IsInf' ? isInfParams(c, n) : anyUnaryOf(c, n);
  emitUnaryAny(c, u.op, x, y, { a0: u.a0, a1: u.a1 });
}

/** IsInf: a0 = detect_positive, a1 = detect_negative. */
function isInfParams(c: LowerCtx, n: Node): { op: number; a0: number; a1: number } {
  const a = opAttrs<{ pos: boolean; neg: boolean }>(n, c.opset);
  return { op: ANY_UNARY.IsInf, a0: a.pos ? 1 : 0, a1: a.neg ? 1 : 0 };
}

/** y = a op b with numpy broadcasting on binary_f32 (y has the broadcast shape; a, b, y may be temporaries). */
export function binaryCall(c: LowerCtx, op: number, a: number | null, aw: Word, as: number[], b: number | null, bw: Word, bs: number[],
  y: number, ys: number[], inplaceOk: boolean): void {
  const co = coalesce(ys, [broadcastStrides(as, ys), broadcastStrides(bs, ys), contiguous(ys)]);
  if (!co) throw c.unsupported(`broadcast over more than ${MAX_DIMS} dims`);
  const [sa, sb] = [co.strides[0]!, co.strides[1]!];
  if ((sa[5] !== 0 && sa[5] !== 1) || (sb[5] !== 0 && sb[5] !== 1)) throw internal('binary: inner stride not 0/1');
  const same = (s: number[]) => s.length === ys.length && s.every((d, i) => d === ys[i]);
  const inplace: [number, number] | undefined = !inplaceOk ? undefined : a !== null && same(as) ? [a, y] : b !== null && same(bs) ? [b, y] : undefined;
  c.emit('binary_f32', [i32(op), aw, bw, { k: 'buf', id: y, off: 0 }, ...co.dims.map(i32), ...sa.map(i32), ...sb.map(i32)],
    { reads: [a, b], writes: [y], ...(inplace ? { inplace } : {}) });
}

const BINARY_OPS: Record<string, number> = { Add: BINARY.Add, Sub: BINARY.Sub, Mul: BINARY.Mul, Div: BINARY.Div, Pow: BINARY.Pow, PRelu: BINARY.PRelu, Max: BINARY.Max, Min: BINARY.Min, Sum: BINARY.Add, Mean: BINARY.Add };

/** Max / Min of int8 or uint8 tensors (all inputs and the output share one dtype). */
function lowerMinMaxInt8(c: LowerCtx, n: Node, op: number, ins: ValueId[], y: ValueId, ys: number[]): void {
  const ydt = c.g.typeOf(y).dtype;
  for (const x of ins) if (c.g.typeOf(x).dtype !== ydt) throw c.unsupported(`${n.op} mixes ${c.g.typeOf(x).dtype} and ${ydt} operands`);
  if (ins.length === 1) {
    copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(ins[0]!), broadcastStrides(c.shape(ins[0]!), ys), ys, { reads: [ins[0]!], writes: [y] }, 1);
    return;
  }
  if (numel(ys) === 0) return;
  const call = (a: ValueId, as: number[], b: ValueId) => {
    const co = coalesce(ys, [broadcastStrides(as, ys), broadcastStrides(c.shape(b), ys)]);
    if (!co) throw c.unsupported(`broadcast over more than ${MAX_DIMS} dims`);
    c.emit('minmax_u8', [i32(op), c.vaddr(a), c.vaddr(b), c.vaddr(y), ...co.dims.map(i32), ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32), i32(ydt === 'i8' ? 1 : 0)],
      { reads: [a, b], writes: [y], anyDtype: true });
  };
  call(ins[0]!, c.shape(ins[0]!), ins[1]!);
  for (let k = 2; k < ins.length; k++) call(y, ys, ins[k]!);
}

function lowerBinary(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const ydt = c.g.typeOf(y).dtype;
  const op = BINARY_OPS[n.op];
  if ((n.op === 'Max' || n.op === 'Min') && (ydt === 'i8' || ydt === 'u8')) {
    lowerMinMaxInt8(c, n, op!, ins, y, ys);
    return;
  }
  const allF32 = ydt === 'f32' && ins.every((i) => c.g.typeOf(i).dtype === 'f32' && (!c.isConst(i) || c.consts.get(i)!.dtype === 'f32'));
  if (op === undefined || !allF32) {
    lowerBinaryAny(c, n, ins, y);
    return;
  }
  if (ins.length === 1) {
    copyView(c, c.addr(y), contiguous(ys), c.addr(ins[0]!), broadcastStrides(c.shape(ins[0]!), ys), ys, { reads: [ins[0]!], writes: [y] });
  } else {
    binaryCall(c, op, ins[0]!, c.addr(ins[0]!), c.shape(ins[0]!), ins[1]!, c.addr(ins[1]!), c.shape(ins[1]!), y, ys, true);
    for (let k = 2; k < ins.length; k++) {
      binaryCall(c, op, y, c.addr(y), ys, ins[k]!, c.addr(ins[k]!), c.shape(ins[k]!), y, ys, false);
    }
  }
  if (n.op === 'Mean' && ins.length > 1) {
    const inv = c.blob(new Float32Array([1 / ins.length]));
    binaryCall(c, BINARY.Mul, y, c.addr(y), ys, null, inv, [1], y, ys, false);
  }
}

/** binary_any op code of a binary / variadic / comparison / logic / bit op node. */
function anyBinaryOp(c: LowerCtx, n: Node): number {
  switch (n.op) {
    case 'Sum': return ANY_BINARY.Add;
    case 'Mod': return opAttrs<{ fmod: number }>(n, c.opset).fmod ? ANY_BINARY.FMod : ANY_BINARY.Mod;
    case 'BitShift': return opAttrs<{ left: boolean }>(n, c.opset).left ? ANY_BINARY.BitShiftLeft : ANY_BINARY.BitShiftRight;
    default: {
      const op = (ANY_BINARY as Record<string, number>)[n.op];
      if (op === undefined) throw internal(`no binary_any code for ${n.op}`);
      return op;
    }
  }
}

/** Legacy (opset < 7) axis broadcasting: the generic path takes numpy broadcasting only. */
function checkLegacyBroadcast(c: LowerCtx, n: Node): void {
  if (c.opset < 7 && n.attrs['broadcast'] !== undefined && n.attrs['axis'] !== undefined) {
    throw c.unsupported(`${n.op} with legacy axis broadcasting (opset ${c.opset}) is not supported on wasm for non-f32 dtypes`);
  }
}

/**
 * Binary, variadic, comparison, logic and bit ops on binary_any: every dtype the reference
 * accepts. Variadic ops fold pairwise into the output like the reference (Sum rounds after each
 * addition); Mean accumulates in an f64 temporary and rounds once after the division.
 */
function lowerBinaryAny(c: LowerCtx, n: Node, ins: ValueId[], y: ValueId): void {
  checkLegacyBroadcast(c, n);
  const yo = operand(c, y);
  if (n.op === 'Mean') {
    const dt = c.g.typeOf(ins[0]!).dtype;
    if (!isFloat(dt)) throw c.unsupported(`Mean on ${dt} is not supported (the reference computes Mean on float dtypes)`);
    const count = blobOperand(c, Tensor.from('f64', [], [ins.length]));
    if (ins.length === 1) {
      emitBinaryAny(c, ANY_BINARY.Div, operand(c, ins[0]!), count, yo, true);
      return;
    }
    const t = c.temp(numel(yo.shape) * 8);
    const acc: Operand = { id: t, w: { k: 'buf', id: t, off: 0 }, shape: yo.shape, code: DTYPE.f64, bytes: 8 };
    emitBinaryAny(c, ANY_BINARY.Add, operand(c, ins[0]!), operand(c, ins[1]!), acc, false);
    for (let k = 2; k < ins.length; k++) emitBinaryAny(c, ANY_BINARY.Add, acc, operand(c, ins[k]!), acc, false);
    emitBinaryAny(c, ANY_BINARY.Div, acc, count, yo, false);
    return;
  }
  const op = anyBinaryOp(c, n);
  if (ins.length === 1) {
    // Sum / Max / Min of one input: a copy
    emitUnaryAny(c, ANY_UNARY.Cast, ins[0]!, y);
    return;
  }
  emitBinaryAny(c, op, operand(c, ins[0]!), operand(c, ins[1]!), yo, true);
  for (let k = 2; k < ins.length; k++) emitBinaryAny(c, op, yo, operand(c, ins[k]!), yo, false);
}

/** Where(cond, x, y) on where_any: a byte copy of the selected element, any dtype. */
function lowerWhere(c: LowerCtx, n: Node): void {
  const [cond, x, yv] = n.inputs as [ValueId, ValueId, ValueId];
  const out = n.outputs[0]!;
  const os = c.shape(out);
  if (numel(os) === 0) return;
  const co = coalesce(os, [broadcastStrides(c.shape(cond), os), broadcastStrides(c.shape(x), os), broadcastStrides(c.shape(yv), os), contiguous(os)]);
  if (!co) throw c.unsupported(`broadcast over more than ${MAX_DIMS} dims`);
  c.emit('where_any', [c.vaddr(cond), c.vaddr(x), c.vaddr(yv), c.vaddr(out), i32(c.dtypeBytes(out)), ...co.dims.map(i32),
    ...co.strides[0]!.map(i32), ...co.strides[1]!.map(i32), ...co.strides[2]!.map(i32)],
  { reads: [cond, x, yv], writes: [out], dtype: c.g.typeOf(out).dtype });
}

/** Unary math ops (the activations are in activation.ts). */
const UNARY_OPS = ['Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Erf', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Sign',
  'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'IsNaN', 'IsInf', 'Not', 'BitwiseNot'];

/** Binary ops on binary_any only (no f32 SIMD kernel). */
const ANY_BINARY_OPS = ['Mod', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'BitShift',
  'BitwiseAnd', 'BitwiseOr', 'BitwiseXor'];

/** Elementwise-family lowerings by qualified op name. */
/**
 * BitCast: the same bytes read as another dtype of the same width, so an alias of its input (f16 and
 * bf16 are stored as their 16-bit encodings); to bool (a nonzero byte is true) is not an alias.
 */
function lowerBitCast(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (c.g.typeOf(y).dtype === 'bool') throw c.unsupported('BitCast to bool is not supported on wasm');
  if (c.dtypeBytes(x) !== c.dtypeBytes(y)) throw c.unsupported(`BitCast between ${c.g.typeOf(x).dtype} and ${c.g.typeOf(y).dtype} changes the width`);
  c.parent.set(y, x);
}

export const ELEMENTWISE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(UNARY_OPS.map((k) => [k, lowerUnary])),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((k) => [k, lowerBinary])),
  ...Object.fromEntries(ANY_BINARY_OPS.map((k) => [k, lowerBinary])),
  Where: lowerWhere,
  BitCast: lowerBitCast,
};
