/**
 * Wasm lowerings of the control / type family (compiler/ops/control.ts): Cast and CastLike between
 * every runtime dtype. A cast to the same dtype is an alias; i32/i8/u8 -> f32 keep cast_to_f32
 * (the int8 graphs' accumulator rescale); every other pair runs on unary_any, which converts as the
 * reference's castTensor does (round to nearest even, truncate + wrap to integers, != 0 to bool).
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { castTensor } from '../../../compiler/ops/control.js';
import { ANY_UNARY } from '../kernels.js';
import { LowerCtx, LowerFn, i32 } from '../ctx.js';
import { emitUnaryAny } from './elementwise.js';

function lowerCast(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const from = c.g.typeOf(x).dtype;
  const to = c.g.typeOf(y).dtype;
  const cx = c.consts.get(x);
  if (cx) {
    // CastLike(constant, runtime target): only the dtype of the target matters, so fold it
    c.consts.set(y, castTensor(cx, to));
    return;
  }
  c.checkRuntime(x);
  c.checkRuntime(y);
  if (from === to) {
    c.parent.set(y, x);
    return;
  }
  // integer -> f32 (e.g. the int32 accumulator of ConvInteger/MatMulInteger before its rescale)
  const kind = ({ i32: 0, i8: 1, u8: 2 } as Record<string, number>)[from];
  if (to === 'f32' && kind !== undefined) {
    c.emit('cast_to_f32', [c.vaddr(x), c.addr(y), i32(numel(c.shape(y))), i32(kind)], { reads: [x], writes: [y] });
    return;
  }
  emitUnaryAny(c, ANY_UNARY.Cast, x, y);
}

/** Control-family lowerings by qualified op name. */
export const CONTROL_LOWERINGS: Readonly<Record<string, LowerFn>> = { Cast: lowerCast, CastLike: lowerCast };
