/**
 * Wasm lowerings of the elementwise family (compiler/ops/elementwise.ts): unary math ops on unary_f32,
 * broadcasting binary ops on binary_f32, int8/uint8 Max/Min on minmax_u8.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { internal } from '../../../compiler/errors.js';
import { broadcastStrides, contiguous, opAttrs, unarySpec } from '../../common/params.js';
import { BINARY, MAX_DIMS, UNARY } from '../kernels.js';
import { LowerCtx, LowerFn, Word, f32, i32, coalesce, copyView } from '../ctx.js';

/** Unary ops: the kernel's op code and scalar parameters (targets/common/params.ts unarySpec). */
function unaryParams(c: LowerCtx, n: Node): { code: number; a0: number; a1: number } {
  const u = unarySpec(c, n);
  const code = (UNARY as Record<string, number>)[u.op];
  if (code === undefined) throw c.unsupported(`no wasm kernel for ${n.op}`);
  return { code, a0: u.alpha, a1: u.beta };
}

export function lowerUnary(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const u = unaryParams(c, n);
  c.emit('unary_f32', [i32(u.code), c.addr(x), c.addr(y), i32(numel(c.shape(y))), f32(u.a0), f32(u.a1)],
    { reads: [x], writes: [y], inplace: [x, y] });
}

/** y = a op b with numpy broadcasting (y has the broadcast shape). */
function binaryCall(c: LowerCtx, op: number, a: number | null, aw: Word, as: number[], b: number | null, bw: Word, bs: number[],
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
  const op = BINARY_OPS[n.op]!;
  if (n.op === 'Mod' && opAttrs<{ fmod: number }>(n, c.opset).fmod === 0) throw c.unsupported('integer Mod is not supported on wasm');
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const ydt = c.g.typeOf(y).dtype;
  if ((n.op === 'Max' || n.op === 'Min') && (ydt === 'i8' || ydt === 'u8')) {
    lowerMinMaxInt8(c, n, op, ins, y, ys);
    return;
  }
  for (const i of ins) if (c.isConst(i) && c.consts.get(i)!.dtype !== 'f32') throw c.unsupported(`${n.op} with a non-f32 constant operand`);
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

/** Unary math ops (the activations are in activation.ts). */
const UNARY_OPS = ['Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Erf', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Sign'];

/** Elementwise-family lowerings by qualified op name. */
export const ELEMENTWISE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(UNARY_OPS.map((k) => [k, lowerUnary])),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((k) => [k, lowerBinary])),
};
