/**
 * Wasm lowering of edgec.RoundF16 (compiler/ops/f16.ts): --fp16 activations rounded to the f16 grid.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { LowerCtx, LowerFn, i32 } from '../ctx.js';

/** edgec.RoundF16 (--fp16 on f32 hardware): round to the f16 grid, SIMD bit manipulation. */
function lowerRoundF16(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  c.emit('round_f16_f32', [c.addr(x), c.addr(y), i32(numel(c.shape(y)))], { reads: [x], writes: [y], inplace: [x, y] });
}

/** f16-family lowerings by qualified op name. */
export const F16_LOWERINGS: Readonly<Record<string, LowerFn>> = { 'edgec.RoundF16': lowerRoundF16 };
