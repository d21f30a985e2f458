/**
 * WebGPU lowering of edgec.RoundF16 (compiler/ops/f16.ts): --fp16 activations rounded to the f16 grid.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { LowerCtx, LowerFn, val } from '../ctx.js';

/** edgec.RoundF16 (--fp16 on f32 hardware): kernels/round-f16.ts. */
function lowerRoundF16(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  c.emit('round_f16_f32', { n: numel(c.shape(y)) }, { x: c.op(n.inputs[0]!), y: val(y) });
}

/** f16-family lowerings by qualified op name. */
export const F16_LOWERINGS: Readonly<Record<string, LowerFn>> = { 'edgec.RoundF16': lowerRoundF16 };
