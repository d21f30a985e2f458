/**
 * Wasm lowerings of the control / type family (compiler/ops/control.ts): Cast.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { LowerCtx, LowerFn, i32 } from '../ctx.js';

function lowerCast(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const from = c.g.typeOf(x).dtype;
  const to = c.g.typeOf(y).dtype;
  if (from === 'f32' && to === 'f32') {
    c.parent.set(y, x);
    return;
  }
  // integer -> f32 (e.g. the int32 accumulator of ConvInteger/MatMulInteger before its rescale)
  const kind = ({ i32: 0, i8: 1, u8: 2 } as Record<string, number>)[from];
  if (to !== 'f32' || kind === undefined) throw c.unsupported(`Cast from ${from} to ${to} is not supported on wasm (i32/i8/u8 -> f32 only)`);
  c.emit('cast_to_f32', [c.vaddr(x), c.addr(y), i32(numel(c.shape(y))), i32(kind)], { reads: [x], writes: [y] });
}

/** Control-family lowerings by qualified op name. */
export const CONTROL_LOWERINGS: Readonly<Record<string, LowerFn>> = { Cast: lowerCast };
