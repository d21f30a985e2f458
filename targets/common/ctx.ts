/**
 * The part of a lowering context every target shares: the graph, the values known at compile time
 * (graph constants plus folded nodes), the node being lowered, concrete shapes, constant inputs
 * read as the kernels need them, and 'unsupported' errors naming the node. It implements
 * ParamCtx, so the shared parameter helpers (params.ts) take a target's context directly.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, isConcrete } from '../../compiler/ir/tensor.js';
import { EdgecError, unsupported } from '../../compiler/errors.js';
import { requireTensorType } from '../../compiler/ir/value.js';
import { opOf, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { shapeOpDims } from './params.js';
import type { ParamCtx } from './params.js';
import { Int4Weight, int4WeightOf } from './compress.js';

/** Base class of the targets' lowering contexts. */
export class ConstCtx implements ParamCtx {
  /** Values known at compile time (graph constants and folded nodes). */
  readonly consts: Map<ValueId, Tensor>;
  /** The node being lowered. */
  node!: Node;
  /** Folded DequantizeLinear outputs of int4 constants: stored as int4 blocks, not f32. */
  readonly int4 = new Map<ValueId, Int4Weight>();

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

  /**
   * Compile-time work every target does first: a node whose inputs are all known is evaluated by
   * its reference kernel (int4 weights it dequantizes are remembered, to be stored packed), and
   * Shape of a concrete shape becomes a constant. True when `n` needs no kernel.
   */
  foldNode(n: Node): boolean {
    const g = this.g;
    if (n.inputs.every((x) => x === null || this.isConst(x)) && !Object.values(n.attrs).some((v) => v instanceof Graph)) {
      const q4 = int4WeightOf(g, this.consts, n);
      if (q4) this.int4.set(n.outputs[0]!, q4);
      const def = opOf(n, g);
      const opset = opsetOf(n, g);
      const outs = def.ref(n.inputs.map((x) => (x === null ? null : this.consts.get(x)!)), parseAttrs(def, n, opset), { opset, node: n });
      n.outputs.forEach((o, k) => outs[k] && this.consts.set(o, outs[k]!));
      return true;
    }
    if (n.op === 'Shape' && n.domain === '') {
      const dims = shapeOpDims(this, n, this.shape(n.inputs[0]!));
      this.consts.set(n.outputs[0]!, new Tensor('i64', [dims.length], BigInt64Array.from(dims.map((d) => BigInt(d)))));
      return true;
    }
    return false;
  }

  /**
   * Runs `lower` on every node in order with `node` set, adding the node, op and opset to the
   * errors it throws. Returns the nodes that emitted kernel steps (`steps()`: the step count).
   */
  lowerNodes(steps: () => number, lower: (n: Node) => void): Node[] {
    const layers: Node[] = [];
    for (const n of this.g.orderedNodes()) {
      this.node = n;
      try {
        // sequence/optional values run on the reference interpreter only
        for (const v of [...n.inputs, ...n.outputs]) if (v !== null) requireTensorType(this.g.typeOf(v), `value "${this.g.value(v).name}"`);
        if (this.foldNode(n)) continue;
        const before = steps();
        lower(n);
        if (steps() > before) layers.push(n);
      } catch (e) {
        if (e instanceof EdgecError) throw e.withContext({ node: n.name, op: n.op, opset: opsetOf(n, this.g) });
        throw e;
      }
    }
    return layers;
  }
}
