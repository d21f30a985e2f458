/**
 * The part of the Cast / CastLike lowerings every target shares (compiler/ops/control.ts is the
 * specification): reading the node and folding a constant input at compile time.
 */
import { Node, ValueId } from '../../compiler/ir/graph.js';
import type { DType } from '../../compiler/ir/dtype.js';
import { castTensor } from '../../compiler/ops/control.js';
import type { ConstCtx } from './ctx.js';

/** A Cast / CastLike to lower at run time: input, output and their dtypes. */
export interface CastNode {
  x: ValueId;
  y: ValueId;
  from: DType;
  to: DType;
}

/**
 * Reads a Cast / CastLike node. A constant input (CastLike of a constant with a runtime `like`:
 * only the target dtype matters) is cast at compile time into `c.consts`, giving undefined.
 * @param c lowering context
 * @param n the Cast or CastLike node
 */
export function castNode(c: ConstCtx, n: Node): CastNode | undefined {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const to = c.g.typeOf(y).dtype;
  const cx = c.consts.get(x);
  if (cx) {
    c.consts.set(y, castTensor(cx, to));
    return undefined;
  }
  return { x, y, from: c.g.typeOf(x).dtype, to };
}
