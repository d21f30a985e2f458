/**
 * The part of a lowering context every target shares: the graph, the values known at compile time
 * (graph constants plus folded nodes), the node being lowered, concrete shapes, constant inputs
 * read as the kernels need them, and 'unsupported' errors naming the node. It implements
 * ParamCtx, so the shared parameter helpers (params.ts) take a target's context directly.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, isConcrete } from '../../compiler/ir/tensor.js';
import { EdgecError, unsupported } from '../../compiler/errors.js';
import { opsetOf } from '../../compiler/ops/registry.js';
import type { ParamCtx } from './params.js';

/** Base class of the targets' lowering contexts. */
export class ConstCtx implements ParamCtx {
  /** Values known at compile time (graph constants and folded nodes). */
  readonly consts: Map<ValueId, Tensor>;
  /** The node being lowered. */
  node!: Node;

  /**
   * @param g graph being lowered
   * @param target target name, used in error messages ("... on the <target> target")
   */
  constructor(readonly g: Graph, readonly target: string) {
    this.consts = new Map(g.consts);
  }

  /** Concrete shape of a value ('unsupported' for a symbolic one). */
  shape(id: ValueId): number[] {
    const s = this.g.typeOf(id).shape;
    if (!isConcrete(s)) throw this.unsupported(`value "${this.g.value(id).name}" has a symbolic shape [${s.join(',')}]; fix input shapes first`);
    return [...s];
  }

  /** True when the value is known at compile time. */
  isConst(id: ValueId | null | undefined): boolean {
    return id !== null && id !== undefined && this.consts.has(id);
  }

  /** The constant value of an input, or an 'unsupported' error naming what must be constant. */
  constOf(id: ValueId | null | undefined, what: string): Tensor {
    const t = id === null || id === undefined ? undefined : this.consts.get(id);
    if (!t) throw this.unsupported(`${what} must be a constant on the ${this.target} target`);
    return t;
  }

  /** Constant numbers of an optional input (undefined when absent). */
  constNums(id: ValueId | null | undefined, what: string): number[] | undefined {
    if (id === null || id === undefined) return undefined;
    return this.constOf(id, what).toNumbers();
  }

  /** f32 data of a constant tensor (other dtypes converted element by element). */
  f32Data(t: Tensor): Float32Array {
    if (t.data instanceof Float32Array) return t.data;
    const out = new Float32Array(t.size);
    for (let i = 0; i < t.size; i++) out[i] = t.get(i);
    return out;
  }

  /** An 'unsupported' error naming the current node. */
  unsupported(msg: string): EdgecError {
    return unsupported(msg, { node: this.node?.name, op: this.node?.op });
  }

  /** Opset of the current node's domain. */
  get opset(): number {
    return opsetOf(this.node, this.g);
  }
}
