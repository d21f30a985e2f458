/**
 * Wasm lowerings of the activation family (compiler/ops/activation.ts): activations on unary_f32
 * (the elementwise family's kernel; other dtypes, runtime Clip bounds and Celu on unary_any),
 * Softmax and LogSoftmax on softmax_f32 (f64 values on softmax_f64).
 */
import { Node } from '../../../compiler/ir/graph.js';
import { softmaxLayout } from '../../common/params.js';
import { LowerCtx, LowerFn, i32 } from '../ctx.js';
import { lowerUnary } from './elementwise.js';

function lowerSoftmax(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const [outer, L, inner] = softmaxLayout(c, n, c.shape(x));
  if (c.g.typeOf(x).dtype === 'f64' && c.g.typeOf(y).dtype === 'f64') {
    // f64 values: a scalar f64 loop (runtime-wasm/assembly/qint4.ts softmax_f64)
    c.emit('softmax_f64', [c.vaddr(x), c.vaddr(y), i32(outer), i32(L), i32(inner), i32(n.op === 'LogSoftmax' ? 1 : 0)],
      { reads: [x], writes: [y], dtype: 'f64' });
    return;
  }
  c.emit('softmax_f32', [c.addr(x), c.addr(y), i32(outer), i32(L), i32(inner), i32(n.op === 'LogSoftmax' ? 1 : 0)],
    { reads: [x], writes: [y] });
}

/** Activations lowered as unary ops. */
const ACTIVATIONS = ['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh', 'Gelu', 'Softplus', 'Elu', 'Selu',
  'Softsign', 'Mish', 'ThresholdedRelu', 'Celu'];

/** Activation-family lowerings by qualified op name. */
export const ACTIVATION_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  ...Object.fromEntries(ACTIVATIONS.map((k) => [k, lowerUnary])),
  Softmax: lowerSoftmax, LogSoftmax: lowerSoftmax,
};
