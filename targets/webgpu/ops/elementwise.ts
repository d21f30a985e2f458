/**
 * WebGPU lowerings of the elementwise family (compiler/ops/elementwise.ts): unary math ops on
 * unary_f32 (the activation family shares lowerUnary), broadcasting binary and variadic ops on
 * binary_f32; on integer and bool values (and comparisons, logical ops, Where, IsNaN / IsInf of
 * any operands) the typed_map kernel (kernels/typed.ts), bit-exact with the reference; Pow with
 * integer or mixed operands, integer Clip and BitCast (an alias of same-width storage) too.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { broadcastStrides, opAttrs, unarySpec } from '../../common/params.js';
import { stridesOf } from '../wgsl/shader.js';
import { LowerCtx, LowerFn, Operand, copyView, loadElem, qop, scalarOf, val } from '../ctx.js';
import { TypedOperand } from '../kernels/typed.js';
import { storeElem, wordsOf } from '../wgsl/qshader.js';

const BINARY_OPS: Record<string, string> = { Add: 'Add', Sub: 'Sub', Mul: 'Mul', Div: 'Div', Pow: 'Pow', PRelu: 'PRelu', Max: 'Max', Min: 'Min', Sum: 'Add', Mean: 'Add', Mod: 'Mod' };

export function lowerUnary(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (n.op === 'Clip' && c.opset >= 11 && [n.inputs[1], n.inputs[2]].some((b) => b != null && !c.isConst(b))) {
    // Clip(x, lo, hi) with runtime bounds = Min(Max(x, lo), hi)
    const ys = c.shape(y);
    const [lo, hi] = [n.inputs[1], n.inputs[2]];
    let cur: Operand = c.op(x);
    if (lo != null) {
      const dst = hi != null ? c.temp(numel(ys) * 4) : y;
      binaryStep(c, 'Max', cur, c.shape(x), c.op(lo), c.shape(lo), dst, ys);
      cur = val(dst);
    }
    if (hi != null) binaryStep(c, 'Min', cur, ys, c.op(hi), c.shape(hi), y, ys);
    return;
  }
  c.emit('unary_f32', { ...unarySpec(c, n), n: numel(c.shape(y)) }, { x: c.op(x), y: val(y) });
}

export function binaryStep(c: LowerCtx, op: string, a: Operand, as: number[], b: Operand, bs: number[], y: number, ys: number[]): void {
  if (numel(ys) === 0) return;
  c.emit('binary_f32', { op, shape: ys, sa: broadcastStrides(as, ys), sb: broadcastStrides(bs, ys), na: Math.max(1, numel(as)), nb: Math.max(1, numel(bs)) },
    { a, b, y: val(y) });
}

function lowerBinary(c: LowerCtx, n: Node): void {
  const op = BINARY_OPS[n.op]!;
  if (n.op === 'Mod' && opAttrs<{ fmod: number }>(n, c.opset).fmod === 0) throw c.unsupported('integer Mod (fmod=0) is not supported on webgpu');
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  c.checkRuntime(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  if (ins.length === 1) {
    copyView(c, val(y), numel(ys), stridesOf(ys), 0, c.op(ins[0]!), numel(c.shape(ins[0]!)), broadcastStrides(c.shape(ins[0]!), ys), 0, ys);
    return;
  }
  // variadic ops accumulate through temporaries (a kernel never reads the buffer it writes)
  let acc: { o: Operand; s: number[] } = { o: c.op(ins[0]!), s: c.shape(ins[0]!) };
  const steps = ins.length - 1 + (n.op === 'Mean' ? 1 : 0);
  for (let k = 1; k < ins.length; k++) {
    const last = k === steps;
    const dst = last ? y : c.temp(numel(ys) * 4);
    binaryStep(c, op, acc.o, acc.s, c.op(ins[k]!), c.shape(ins[k]!), dst, ys);
    acc = { o: val(dst), s: ys };
  }
  if (n.op === 'Mean') binaryStep(c, 'Mul', acc.o, ys, c.blob(new Float32Array([1 / ins.length])), [1], y, ys);
}

/** Unary math ops (the activations are in activation.ts). */
const UNARY_MATH = ['Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Erf', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos',
  'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Sign'];

/** Elementwise-family lowerings by qualified op name. */
export const ELEMENTWISE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(UNARY_MATH.map((k) => [k, lowerUnary])),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((k) => [k, lowerBinary])),
};

// ---------------------------------------------------------------------------------------------
// Integer, bool and mixed-dtype elementwise ops (typed_map)
// ---------------------------------------------------------------------------------------------

/** An input of a typed_map step: where it lives, its dtype and shape. */
export interface TypedIn {
  o: Operand;
  /** Value id (negative: a temporary) for the loader kind. */
  id: number;
  dt: string;
  shape: number[];
}

/**
 * Typed input of value `id` (a runtime value or a constant).
 * @param c lowering context
 * @param id value id
 */
export function typedOperand(c: LowerCtx, id: ValueId): TypedIn {
  return { o: qop(c, id), id, dt: c.g.typeOf(id).dtype, shape: c.shape(id) };
}

/**
 * Emits y = op(ins...) on typed_map (variadic Max / Min / Sum fold pairwise through temporaries).
 * @param c lowering context
 * @param op typed_map operation
 * @param ins inputs (1 to 3; more for the variadic ops)
 * @param y output value
 * @param ydt output dtype
 * @param k op parameter (kernels/typed.ts TypedMapParams.k)
 * @param st scalar type the inputs are read as (default: each input's own)
 * @param ys output shape (default: y's; required when y is a temporary)
 */
export function emitTypedMap(c: LowerCtx, op: string, ins: TypedIn[], y: number, ydt: string, k?: number, st?: TypedOperand['st'],
  ys: number[] = c.shape(y)): void {
  const n = numel(ys);
  if (n === 0) return;
  if (ins.length > 3 || (ins.length === 3 && op !== 'Where')) {
    const t = c.temp(wordsOf(ydt, n) * 4);
    emitTypedMap(c, op, ins.slice(0, -1), t, ydt, k, st, ys);
    emitTypedMap(c, op, [{ o: val(t), id: t, dt: ydt, shape: ys }, ins[ins.length - 1]!], y, ydt, k, st, ys);
    return;
  }
  const operands: Record<string, Operand> = { y: val(y) };
  const tin: TypedOperand[] = ins.map((x, i) => {
    operands[`x${i}`] = x.o;
    const s = st ?? scalarOf(x.dt);
    // Where's value operands keep their dtype; the condition is bool
    return { el: loadElem(c, x.id, x.dt), st: op === 'Where' && i === 0 ? 'bool' : (op === 'Where' ? scalarOf(x.dt) : s), strides: broadcastStrides(x.shape, ys) };
  });
  c.emit('typed_map', { op, shape: ys, ins: tin, y: storeElem(ydt), yt: scalarOf(ydt), ...(k !== undefined ? { k } : {}) }, operands);
}

/** typed_map operation of each op (BitShift: by direction). */
const TYPED_OPS: Record<string, string> = {
  Add: 'Add', Sub: 'Sub', Mul: 'Mul', Div: 'Div', Mod: 'Mod', Max: 'Max', Min: 'Min', Sum: 'Add', Neg: 'Neg', Abs: 'Abs', Sign: 'Sign',
  Equal: 'Equal', Less: 'Less', LessOrEqual: 'LessOrEqual', Greater: 'Greater', GreaterOrEqual: 'GreaterOrEqual',
  And: 'And', Or: 'Or', Xor: 'Xor', Not: 'Not', BitwiseAnd: 'BitwiseAnd', BitwiseOr: 'BitwiseOr', BitwiseXor: 'BitwiseXor',
  BitwiseNot: 'BitwiseNot', BitShift: 'BitShift', Where: 'Where', IsNaN: 'IsNaN', IsInf: 'IsInf',
};

/** Ops whose i64 results are inputs' values (Max, Min, Where): exact on i64 held as i32. */
const I64_SAFE = new Set(['Max', 'Min', 'Where', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']);

const COMPARISONS = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']);

/** An elementwise op on integer / bool values, or a comparison / logical op / Where of any values. */
function lowerTyped(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ydt = c.g.typeOf(y).dtype;
  const ins = n.inputs.filter((x): x is ValueId => x !== null).map((x) => typedOperand(c, x));
  let op = TYPED_OPS[n.op]!;
  const xdt = ins[n.op === 'Where' ? 1 : 0]!.dt;
  if (ins.some((x) => x.dt === 'i64') && !I64_SAFE.has(n.op)) {
    throw c.unsupported(`${n.op} on i64 is not supported on webgpu (i64 values are held as i32 and the result could leave that range)`);
  }
  if (xdt === 'f32' && !COMPARISONS.has(n.op) && n.op !== 'Where' && n.op !== 'IsNaN' && n.op !== 'IsInf') {
    throw c.unsupported(`${n.op} from f32 to ${ydt} is not supported on webgpu`);
  }
  let k: number | undefined;
  if (n.op === 'Mod') k = opAttrs<{ fmod: number }>(n, c.opset).fmod;
  if (n.op === 'IsInf') {
    const a = opAttrs<{ neg: boolean; pos: boolean }>(n, c.opset);
    k = (a.neg ? 1 : 0) | (a.pos ? 2 : 0);
  }
  if (n.op === 'BitShift') {
    op = opAttrs<{ left: boolean }>(n, c.opset).left ? 'BitShiftLeft' : 'BitShiftRight';
    k = { u8: 8, u16: 16, u32: 32 }[xdt];
    if (k === undefined) throw c.unsupported(`BitShift on ${xdt} is not supported on webgpu`);
  }
  if (n.op === 'Sum' && ins.length === 1) op = 'Identity';
  if ((n.op === 'Max' || n.op === 'Min') && ins.length === 1) op = 'Identity';
  // BitShift reads unsigned values as u32 (shift amounts and results)
  emitTypedMap(c, op, ins, y, ydt, k, n.op === 'BitShift' ? 'u32' : undefined);
}

/** Elementwise-family lowerings of nodes with integer / bool values, by qualified op name. */
export const ELEMENTWISE_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(Object.keys(TYPED_OPS).map((k) => [k, lowerTyped])), Pow: lowerPowTyped, Clip: lowerClipTyped, BitCast: lowerBitCast,
};

/**
 * Pow with an integer or mixed-dtype operand (the output has the base's dtype): f32 base with an
 * integer exponent, integer base with an integer or f32 exponent (exact power wrapped to 32 bits,
 * compiler/ops/elementwise.ts). i64 results are not supported (the held i32 could overflow).
 */
function lowerPowTyped(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ydt = c.g.typeOf(y).dtype;
  const [a, b] = n.inputs.map((x) => typedOperand(c, x!));
  if (ydt === 'i64') throw c.unsupported('Pow on i64 is not supported on webgpu (i64 values are held as i32 and the result could leave that range)');
  if (ydt === 'bool' || b!.dt === 'bool') throw c.unsupported('Pow on bool');
  emitTypedMap(c, 'Pow', [a!, b!], y, ydt);
}

/** Clip of integer values: Max with the lower bound, then Min with the upper bound (either may be absent). */
function lowerClipTyped(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ydt = c.g.typeOf(y).dtype;
  if (c.opset < 11) throw c.unsupported(`Clip on ${ydt} before opset 11`);
  const ys = c.shape(y);
  const lo = n.inputs[1] ?? null;
  const hi = n.inputs[2] ?? null;
  let cur = typedOperand(c, x);
  if (lo == null && hi == null) {
    emitTypedMap(c, 'Identity', [cur], y, ydt);
    return;
  }
  if (lo != null) {
    const dst = hi != null ? c.temp(wordsOf(ydt, numel(ys)) * 4) : y;
    emitTypedMap(c, 'Max', [cur, typedOperand(c, lo)], dst, ydt, undefined, undefined, ys);
    cur = { o: val(dst), id: dst, dt: ydt, shape: ys };
  }
  if (hi != null) emitTypedMap(c, 'Min', [cur, typedOperand(c, hi)], y, ydt, undefined, undefined, ys);
}

/**
 * BitCast: the same bits read as another dtype of the same width. Words (f32, i32, u32) and packed
 * 8- / 16-bit values keep their storage, so it is an alias; an 8-bit value stored wide is
 * repacked; to bool, nonzero bytes become true (the reference's bool store).
 */
function lowerBitCast(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xdt = c.g.typeOf(x).dtype;
  const ydt = c.g.typeOf(y).dtype;
  c.checkStorable(x);
  c.checkStorable(y);
  if (xdt === 'i64' || ydt === 'i64') throw c.unsupported('BitCast of i64 is not supported on webgpu (i64 values are held as i32)');
  if (wordsOf(xdt, 4) !== wordsOf(ydt, 4)) throw c.unsupported(`BitCast between ${xdt} and ${ydt} changes the width`);
  if (ydt === 'bool') {
    emitTypedMap(c, 'Cast', [typedOperand(c, x)], y, 'bool');
    return;
  }
  if (c.isConst(x) || (xdt !== 'f32' && loadElem(c, x, xdt) !== storeElem(xdt))) {
    // constants and wide-stored 8-bit values: copy into y's packed storage (the low bits are the same)
    const ys = c.shape(y);
    if (numel(ys) === 0) return;
    const el = storeElem(ydt);
    c.emit('qview_b', { el, xel: c.isConst(x) ? storeElem(xdt) : 'i32', dims: ys, strides: stridesOf(ys), offset: 0 }, { x: qop(c, x), y: val(y) });
    return;
  }
  c.parent.set(y, x);
}
