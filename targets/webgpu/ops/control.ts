/**
 * WebGPU lowerings of the control / type family (compiler/ops/control.ts): Cast and CastLike. A
 * cast to the same dtype is an alias; int8 / uint8 / int32 -> f32 runs on cast_int_f32 (it reads
 * wide-stored 8-bit values), every other pair of webgpu dtypes on typed_map with the reference's
 * C-cast semantics (truncation, wrap modulo 2^bits, NaN / infinities to 0, nonzero to true).
 * Dropout's mask output (all ones for inference) is a compile-time constant.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { castNode } from '../../common/cast.js';
import type { DType } from '../../../compiler/ir/dtype.js';
import { LowerCtx, LowerFn, qelem, qop, val } from '../ctx.js';
import { emitTypedMap, typedOperand } from './elementwise.js';

/** Source dtypes whose values all fit the i32 that webgpu holds i64 values in. */
const FITS_I32 = new Set(['i8', 'u8', 'i16', 'u16', 'i32', 'bool', 'i64']);

/** Cast / CastLike (the target dtype is CastLike's second input's). */
function lowerCast(c: LowerCtx, n: Node): void {
  const cast = castNode(c, n);
  if (!cast) return;
  const { x, y, from, to } = cast;
  if (from === to) {
    c.parent.set(y, x);
    return;
  }
  c.checkStorable(x);
  c.checkStorable(y);
  if (to === 'i64' && !FITS_I32.has(from)) {
    throw c.unsupported(`Cast from ${from} to i64 is not supported on webgpu (i64 values are held as i32 and ${from} values may not fit)`);
  }
  if (numel(c.shape(x)) === 0) return;
  if (to === 'f32' && (from === 'i8' || from === 'u8' || from === 'i32')) {
    c.emit('cast_int_f32', { n: numel(c.shape(x)), xdt: qelem(c, x, from) }, { x: qop(c, x), y: val(y) });
    return;
  }
  emitTypedMap(c, 'Cast', [typedOperand(c, x)], y, to);
}

/** Control-family lowerings by qualified op name (f32 and integer / bool values alike). */
export const CONTROL_LOWERINGS: Readonly<Record<string, LowerFn>> = { Cast: lowerCast, CastLike: lowerCast };

/**
 * Dropout's mask output: all ones (the reference computes Dropout for inference, or in training
 * mode with ratio 0, where nothing is dropped), so a compile-time constant. Training mode with a
 * nonzero or runtime ratio (random masks), or a runtime training_mode, is 'unsupported'.
 * @param c lowering context
 * @param n the Dropout node (its output 0 is an alias of its input)
 */
export function lowerDropoutMask(c: LowerCtx, n: Node): void {
  const m = n.outputs[1];
  if (m == null || !(c.g.useCount(m) > 0 || c.g.outputs.includes(m))) return;
  const [, ratio, tr] = n.inputs;
  let training = false;
  if (c.opset >= 12 && tr != null) {
    if (!c.isConst(tr)) throw c.unsupported('Dropout mask output with a runtime training_mode is not supported');
    training = (c.consts.get(tr)!.toNumbers()[0] ?? 0) !== 0;
  }
  if (training) {
    const r = ratio == null ? 0.5 : c.isConst(ratio) ? c.consts.get(ratio)!.toNumbers()[0] ?? 0.5 : NaN;
    if (r !== 0) throw c.unsupported('Dropout in training mode (random masks) is not supported');
  }
  const dt = c.g.typeOf(m).dtype as DType;
  const mask = Tensor.zeros(dt, c.shape(m));
  for (let i = 0; i < mask.size; i++) mask.set(i, 1);
  c.consts.set(m, mask);
}
