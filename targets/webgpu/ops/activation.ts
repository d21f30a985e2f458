/**
 * WebGPU lowerings of the activation family (compiler/ops/activation.ts): activations on unary_f32
 * (the elementwise family's lowering), Softmax and LogSoftmax on softmax_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { softmaxLayout } from '../../common/params.js';
import { UNARY_OPS } from '../kernels/unary.js';
import { LowerCtx, LowerFn, val } from '../ctx.js';
import { ELEMENTWISE_LOWERINGS, lowerUnary } from './elementwise.js';

function lowerSoftmax(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [outer, L, inner] = softmaxLayout(c, n, c.shape(x));
  if (outer * L * inner === 0) return;
  c.emit('softmax_f32', { outer, L, inner, log: n.op === 'LogSoftmax' }, { x: c.op(x), y: val(y) });
}

/** Activation-family lowerings by qualified op name: every unary_f32 op the elementwise family does not claim. */
export const ACTIVATION_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(UNARY_OPS.filter((k) => !(k in ELEMENTWISE_LOWERINGS)).map((k) => [k, lowerUnary])),
  Softmax: lowerSoftmax, LogSoftmax: lowerSoftmax,
};
