import { Tensor, TensorType } from './tensor.js';

export type ValueId = number;
export type NodeId = number;

/**
 * An attribute value as imported (ints/floats are JS numbers; the op schema gives them meaning).
 * A Graph is a subgraph (If branches, Loop/Scan bodies); see `Graph.captures` for how a body reads
 * values of the enclosing graph.
 */
export type AttrValue = number | string | Tensor | number[] | string[] | Graph | Graph[] | TypeAttr;

/** A TYPE_PROTO attribute (Optional's `type`): the type it names, possibly a sequence type. */
export class TypeAttr {
  /** @param type the named type (kind 'sequence' for a sequence type, none for a tensor type) */
  constructor(readonly type: TensorType) {}
}
export type Attrs = Readonly<Record<string, AttrValue>>;

/** An SSA edge. `name` is the source name (data, never used in generated code). */
export interface Value {
  readonly id: ValueId;
  name: string;
  type: TensorType;
  /** Node that produces it; undefined for graph inputs and constants. */
  producer?: NodeId;
}

export interface Node {
  readonly id: NodeId;
  /** Op name, exactly as ONNX spells it (internal ops: domain 'edgec'). */
  op: string;
  /** '' for the default ONNX domain ('ai.onnx'). */
  domain: string;
  /** Value ids; null marks an omitted optional input. */
  inputs: (ValueId | null)[];
  outputs: ValueId[];
  attrs: Attrs;
  name: string;
  /** Free-form metadata for passes and targets (fused activation, sparsity, timing...). */
  meta?: Record<string, unknown>;
}

/**
 * A dataflow graph in SSA form. Nodes are kept in topological order in `order` once
 * `toposort()` has run; edits go through the methods below so use lists stay consistent.
 */
export class Graph {
  name = 'graph';
  values = new Map<ValueId, Value>();
  nodes = new Map<NodeId, Node>();
  /** Node ids in execution order. */
  order: NodeId[] = [];
  inputs: ValueId[] = [];
  outputs: ValueId[] = [];
  /**
   * Subgraphs only: values of this graph that stand for values of the enclosing graph (outer-scope
   * references, like ONNX Runtime's implicit inputs). Capture k is bound to the k-th implicit input
   * of the node owning this subgraph: its trailing `implicitInputCount(node)` inputs. Every
   * subgraph of one node has the same number of captures, bound to the same implicit inputs.
   * Captures have no producer and are neither inputs nor consts.
   */
  captures: ValueId[] = [];
  /**
   * Subgraphs only: true when shape inference could not type every value (an If branch that
   * cannot run with the shapes at hand, so it is never taken); its untyped values hold
   * placeholders, which the ONNX exporter does not write.
   */
  partialTypes = false;
  consts = new Map<ValueId, Tensor>();
  /**
   * Imported opset per domain ('' = ai.onnx). Subgraphs share their main graph's object (see
   * linkSubgraphOpsets): a model has one opset import.
   */
  opsets: Record<string, number> = { '': 17 };
  /** Model-level metadata (producer, doc...). Data only. */
  meta: Record<string, string> = {};
  private nextValue = 0;
  private nextNode = 0;

  /** Creates a new value. */
  addValue(name: string, type: TensorType): Value {
    const v: Value = { id: this.nextValue++, name, type };
    this.values.set(v.id, v);
    return v;
  }

  /** Creates a constant value holding `t`. */
  addConst(name: string, t: Tensor): Value {
    const v = this.addValue(name, t.type);
    this.consts.set(v.id, t);
    return v;
  }

  /** Appends a node at the end of `order` (or before `before`), wiring producers. */
  addNode(spec: {
    op: string;
    domain?: string;
    inputs: (ValueId | null)[];
    outputs: ValueId[];
    attrs?: Attrs;
    name?: string;
    meta?: Record<string, unknown>;
  }, before?: NodeId): Node {
    const n: Node = {
      id: this.nextNode++,
      op: spec.op,
      domain: spec.domain ?? '',
      inputs: [...spec.inputs],
      outputs: [...spec.outputs],
      attrs: spec.attrs ?? {},
      name: spec.name ?? `${spec.op}_${this.nextNode - 1}`,
    };
    if (spec.meta) n.meta = spec.meta;
    this.nodes.set(n.id, n);
    for (const o of n.outputs) this.value(o).producer = n.id;
    if (before === undefined) this.order.push(n.id);
    else {
      const i = this.order.indexOf(before);
      this.order.splice(i < 0 ? this.order.length : i, 0, n.id);
    }
    return n;
  }

  value(id: ValueId): Value {
    const v = this.values.get(id);
    if (!v) throw new Error(`no value ${id}`);
    return v;
  }
  node(id: NodeId): Node {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }
  typeOf(id: ValueId): TensorType {
    return this.value(id).type;
  }
  constOf(id: ValueId | null | undefined): Tensor | undefined {
    return id === null || id === undefined ? undefined : this.consts.get(id);
  }
  producerOf(id: ValueId): Node | undefined {
    const p = this.values.get(id)?.producer;
    return p === undefined ? undefined : this.nodes.get(p);
  }

  /** Nodes in execution order. */
  orderedNodes(): Node[] {
    return this.order.map((id) => this.node(id));
  }

  /** Map from value id to the nodes using it (computed on demand). */
  uses(): Map<ValueId, Node[]> {
    const m = new Map<ValueId, Node[]>();
    for (const n of this.orderedNodes()) {
      for (const i of n.inputs) {
        if (i === null) continue;
        let l = m.get(i);
        if (!l) m.set(i, (l = []));
        if (!l.includes(n)) l.push(n);
      }
    }
    return m;
  }

  /** Number of node inputs and graph outputs that read `id`. */
  useCount(id: ValueId): number {
    let c = this.outputs.filter((o) => o === id).length;
    for (const n of this.nodes.values()) for (const i of n.inputs) if (i === id) c++;
    return c;
  }

  /** Rewires every use of `from` (node inputs and graph outputs) to `to`. */
  replaceAllUses(from: ValueId, to: ValueId): void {
    if (from === to) return;
    for (const n of this.nodes.values()) {
      for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
    }
    for (let i = 0; i < this.outputs.length; i++) {
      if (this.outputs[i] === from) {
        // Graph outputs keep their public name: move it to the replacement value.
        const fv = this.value(from);
        const tv = this.value(to);
        if (!this.inputs.includes(to) && !this.outputs.includes(to)) {
          const tmp = tv.name;
          tv.name = fv.name;
          fv.name = tmp;
        }
        this.outputs[i] = to;
      }
    }
  }

  /** Removes a node (its outputs become dangling values; remove them with dce). */
  removeNode(id: NodeId): void {
    const n = this.node(id);
    for (const o of n.outputs) {
      const v = this.values.get(o);
      if (v && v.producer === id) delete v.producer;
    }
    this.nodes.delete(id);
    const i = this.order.indexOf(id);
    if (i >= 0) this.order.splice(i, 1);
  }

  /** Removes values that nothing references. */
  removeUnusedValues(): void {
    const used = new Set<ValueId>([...this.inputs, ...this.outputs, ...this.captures]);
    for (const n of this.nodes.values()) {
      for (const i of n.inputs) if (i !== null) used.add(i);
      for (const o of n.outputs) used.add(o);
    }
    for (const id of [...this.values.keys()]) {
      if (!used.has(id)) {
        this.values.delete(id);
        this.consts.delete(id);
      }
    }
  }

  /**
   * Recomputes `order` as a topological order (stable: keeps the current relative order where
   * possible). Throws when the graph has a cycle.
   */
  toposort(): void {
    const state = new Map<NodeId, number>();
    const out: NodeId[] = [];
    const stack: [NodeId, number][] = [];
    for (const root of this.order) {
      if (state.get(root) === 2) continue;
      stack.push([root, 0]);
      state.set(root, 1);
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        const n = this.node(top[0]);
        if (top[1] < n.inputs.length) {
          const inp = n.inputs[top[1]++];
          if (inp === null || inp === undefined) continue;
          const p = this.values.get(inp)?.producer;
          if (p === undefined || !this.nodes.has(p)) continue;
          const s = state.get(p);
          if (s === 1) throw new Error(`graph has a cycle through node "${n.name}"`);
          if (s === 2) continue;
          state.set(p, 1);
          stack.push([p, 0]);
        } else {
          stack.pop();
          state.set(top[0], 2);
          out.push(top[0]);
        }
      }
    }
    this.order = out;
  }

  /**
   * Deep-enough copy: nodes, values and arrays are copied, subgraph attributes are cloned
   * recursively; tensors (immutable) are shared.
   */
  clone(): Graph {
    const g = new Graph();
    g.name = this.name;
    for (const [id, v] of this.values) g.values.set(id, { ...v });
    for (const [id, n] of this.nodes) {
      const c: Node = { ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: cloneAttrs(n.attrs) };
      if (n.meta) c.meta = { ...n.meta };
      g.nodes.set(id, c);
    }
    g.order = [...this.order];
    g.inputs = [...this.inputs];
    g.outputs = [...this.outputs];
    g.captures = [...this.captures];
    g.partialTypes = this.partialTypes;
    g.consts = new Map(this.consts);
    g.opsets = { ...this.opsets };
    linkSubgraphOpsets(g);
    g.meta = { ...this.meta };
    g.nextValue = this.nextValue;
    g.nextNode = this.nextNode;
    return g;
  }

  /** The opset of the default domain. */
  get opset(): number {
    return this.opsets[''] ?? 1;
  }
}

/** Copies attributes, cloning subgraphs (they are mutable: inference sets their value types). */
function cloneAttrs(a: Attrs): Attrs {
  if (!Object.values(a).some((v) => v instanceof Graph || (Array.isArray(v) && v[0] instanceof Graph))) return { ...a };
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(a)) {
    const c = v instanceof Graph ? v.clone() : Array.isArray(v) && v[0] instanceof Graph ? (v as Graph[]).map((x) => x.clone()) : v;
    Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The subgraphs a node holds (GRAPH and GRAPHS attributes, in attribute-name order). */
export function subgraphsOf(n: Node): Graph[] {
  const out: Graph[] = [];
  for (const k of Object.keys(n.attrs).sort()) {
    const v = n.attrs[k];
    if (v instanceof Graph) out.push(v);
    else if (Array.isArray(v)) for (const x of v as unknown[]) if (x instanceof Graph) out.push(x);
  }
  return out;
}

/** True when the node has at least one subgraph attribute. */
export function hasSubgraph(n: Node): boolean {
  return subgraphsOf(n).length > 0;
}

/**
 * Number of trailing inputs of `n` that are implicit (outer values its subgraphs capture);
 * 0 for nodes without subgraphs.
 */
export function implicitInputCount(n: Node): number {
  const sg = subgraphsOf(n)[0];
  return sg ? sg.captures.length : 0;
}

/** The node's explicit (ONNX) inputs: `inputs` without the trailing implicit ones. */
export function explicitInputs(n: Node): (ValueId | null)[] {
  const k = implicitInputCount(n);
  return k === 0 ? n.inputs : n.inputs.slice(0, n.inputs.length - k);
}

/** Makes every subgraph of `g` (recursively) share `g.opsets`, the model's opset import. */
export function linkSubgraphOpsets(g: Graph): void {
  for (const n of g.nodes.values()) {
    for (const b of subgraphsOf(n)) {
      b.opsets = g.opsets;
      linkSubgraphOpsets(b);
    }
  }
}
