/**
 * decompose: expands a node into primitive ops (its op's `decompose` hook, which mirrors the ONNX
 * function body) when the target has no kernel for it. The target says what it supports through
 * an `OpSupport` predicate (compiler/ never imports targets/: the target passes the predicate in,
 * see compiler/pipeline.ts pipelineFor and targets/common/target.ts). Expansion repeats until no
 * unsupported node with a hook is left (a decomposition may emit another function op), so a
 * second run changes nothing. A hook that returns null (shapes it cannot handle) leaves the node
 * alone; lowering then reports it as unsupported.
 *
 *   Op(x...) -> primitives(x...)   when !supports(Op) and Op.decompose(x...) != null
 */
import { AttrValue, Graph, Node, NodeId, ValueId, hasSubgraph } from '../ir/graph.js';
import { Tensor, TensorType } from '../ir/tensor.js';
import { DType } from '../ir/dtype.js';
import { verify } from '../ir/verify.js';
import { inferNode } from '../interp/interp.js';
import { DecomposeBuilder, OpDef, getOp, opsetOf, parseAttrs } from '../ops/registry.js';
import { EdgecError, internal } from '../errors.js';
import { Pass, PassCtx } from './pass.js';

/**
 * True when the target has a kernel for the node (as it stands: op, attributes, dtypes).
 * @param node the node @param g its graph
 */
export type OpSupport = (node: Node, g: Graph) => boolean;

/** Opset from which each Reduce* op takes its axes as an input instead of an attribute. */
function axesAsInputSince(op: string): number {
  return op === 'ReduceSum' ? 13 : 18;
}

/**
 * The builder handed to `decompose` hooks: adds nodes before `node` and remembers what it added so
 * a declined expansion can be undone.
 */
class Builder implements DecomposeBuilder {
  readonly opset: number;
  readonly inputs: (TensorType | null)[];
  readonly consts: (Tensor | undefined)[];
  readonly ids: (ValueId | null)[];
  readonly addedNodes: NodeId[] = [];
  readonly addedValues: ValueId[] = [];
  private seq = 0;

  /** @param g enclosing graph @param node node being expanded */
  constructor(readonly g: Graph, readonly node: Node) {
    this.opset = opsetOf(node, g);
    this.ids = [...node.inputs];
    this.inputs = node.inputs.map((id) => (id === null ? null : g.typeOf(id)));
    this.consts = node.inputs.map((id) => g.constOf(id));
  }

  private name(what: string): string {
    return `${this.node.name}/${what}_${this.seq++}`;
  }

  op(op: string, inputs: readonly (ValueId | null)[], attrs: Record<string, AttrValue> = {}, outputs = 1, domain = ''): ValueId[] {
    const nodeName = this.name(op);
    const outs: ValueId[] = [];
    for (let k = 0; k < outputs; k++) {
      const v = this.g.addValue(outputs === 1 ? nodeName : `${nodeName}:${k}`, { dtype: 'f32', shape: [] });
      this.addedValues.push(v.id);
      outs.push(v.id);
    }
    const n = this.g.addNode({ op, domain, inputs: [...inputs], outputs: outs, attrs, name: nodeName }, this.node.id);
    this.addedNodes.push(n.id);
    inferNode(this.g, n);
    return outs;
  }

  op1(op: string, inputs: readonly (ValueId | null)[], attrs: Record<string, AttrValue> = {}): ValueId {
    return this.op(op, inputs, attrs, 1)[0]!;
  }

  constant(t: Tensor): ValueId {
    const v = this.g.addConst(this.name('const'), t);
    this.addedValues.push(v.id);
    return v.id;
  }

  scalar(dtype: DType, v: number): ValueId {
    return this.constant(Tensor.from(dtype, [], [v]));
  }

  int64s(values: readonly number[]): ValueId {
    return this.constant(Tensor.from('i64', [values.length], values.map((x) => BigInt(x))));
  }

  reduce(op: string, x: ValueId, axes: readonly number[], keepdims = true): ValueId {
    const kd = keepdims ? 1 : 0;
    if (this.g.opset >= axesAsInputSince(op)) return this.op1(op, [x, this.int64s(axes)], { keepdims: kd });
    return this.op1(op, [x], { axes: [...axes], keepdims: kd });
  }

  typeOf(id: ValueId): TensorType {
    return this.g.typeOf(id);
  }

  inline(body: Graph, inputs: readonly ValueId[], captures: readonly ValueId[]): ValueId[] | null {
    const nodes = body.orderedNodes();
    if (nodes.some(hasSubgraph) || body.inputs.length !== inputs.length || body.captures.length !== captures.length) return null;
    const map = new Map<ValueId, ValueId>();
    body.inputs.forEach((id, i) => map.set(id, inputs[i]!));
    body.captures.forEach((id, i) => map.set(id, captures[i]!));
    for (const [id, t] of body.consts) map.set(id, this.constant(t));
    const get = (id: ValueId): ValueId => {
      const v = map.get(id);
      if (v === undefined) throw internal(`decompose: subgraph value %${id} is used before it is defined`);
      return v;
    };
    for (const n of nodes) {
      const outs = this.op(n.op, n.inputs.map((x) => (x === null ? null : get(x))), { ...n.attrs }, n.outputs.length, n.domain);
      n.outputs.forEach((o, k) => map.set(o, outs[k]!));
    }
    return body.outputs.map(get);
  }

  /** Removes everything this builder added. */
  rollback(): void {
    for (const id of this.addedNodes) if (this.g.nodes.has(id)) this.g.removeNode(id);
    for (const id of this.addedValues) {
      this.g.values.delete(id);
      this.g.consts.delete(id);
    }
  }
}

/**
 * Expands one node with its op's hook. Returns false (graph unchanged) when the hook declines or
 * cannot produce an output that is used.
 * @param g graph @param node node to expand @param def its op
 */
function expand(g: Graph, node: Node, def: OpDef<unknown>): boolean {
  const b = new Builder(g, node);
  let res: (ValueId | null)[] | null;
  try {
    res = def.decompose!(b, parseAttrs(def, node, b.opset));
  } catch (e) {
    b.rollback();
    if (e instanceof EdgecError) throw e.withContext({ node: node.name, op: node.op, opset: b.opset });
    throw e;
  }
  const used = (id: ValueId): boolean => g.useCount(id) > 0;
  if (!res || node.outputs.some((o, k) => (res![k] ?? null) === null && used(o))) {
    b.rollback();
    return false;
  }
  for (const [k, o] of node.outputs.entries()) {
    const r = res[k];
    if (r === null || r === undefined || !used(o)) continue;
    const [want, got] = [g.typeOf(o).dtype, g.typeOf(r).dtype];
    if (want !== got) {
      b.rollback();
      throw internal(`decompose: ${node.op} output ${k} is ${got}, expected ${want}`, { node: node.name, op: node.op });
    }
  }
  node.outputs.forEach((o, k) => {
    let r = res![k];
    if (r === null || r === undefined || !used(o)) return;
    // a graph output must stay a value of its own (not a graph input, constant or another output)
    if (g.outputs.includes(o) && (g.inputs.includes(r) || g.consts.has(r) || g.outputs.includes(r))) r = b.op1('Identity', [r]);
    g.replaceAllUses(o, r);
  });
  g.removeNode(node.id);
  return true;
}

/**
 * The decompose pass for a target.
 * @param supports what the target has kernels for (default: nothing, so every node whose op has a
 * `decompose` hook is expanded)
 */
export function decomposePass(supports: OpSupport = () => false): Pass {
  return {
    name: 'decompose',
    description: 'expand function ops (Attention, RMSNormalization, SwiGLU, losses...) into primitive ops where the target has no kernel',
    run(g: Graph, ctx: PassCtx): boolean {
      const declined = new Set<NodeId>();
      const maxSweeps = ctx.options.maxIterations ?? 100;
      let changed = false;
      for (let sweep = 0; sweep < maxSweeps; sweep++) {
        let any = false;
        for (const node of g.orderedNodes()) {
          if (!g.nodes.has(node.id) || declined.has(node.id)) continue;
          const def = getOp(node.domain, node.op);
          if (!def?.decompose || supports(node, g)) continue;
          if (ctx.options.rewriteBudget !== undefined && ctx.changes >= ctx.options.rewriteBudget) break;
          if (expand(g, node, def)) {
            ctx.changes++;
            any = true;
          } else declined.add(node.id);
        }
        if (!any) break;
        changed = true;
      }
      if (changed) {
        g.removeUnusedValues();
        verify(g, { pass: 'decompose' });
      }
      return changed;
    },
  };
}

/** The registered pass: expands every node whose op has a `decompose` hook. */
export const decompose: Pass = decomposePass();
