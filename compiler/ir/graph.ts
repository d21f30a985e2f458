import { Tensor, TensorType } from './tensor.js';

export type ValueId = number;
export type NodeId = number;

/** An attribute value as imported (ints/floats are JS numbers; the op schema gives them meaning). */
export type AttrValue = number | string | Tensor | number[] | string[] | Graph;
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
  consts = new Map<ValueId, Tensor>();
  /** Imported opset per domain ('' = ai.onnx). */
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
    const used = new Set<ValueId>([...this.inputs, ...this.outputs]);
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

  /** Deep-enough copy: nodes, values and arrays are copied; tensors (immutable) are shared. */
  clone(): Graph {
    const g = new Graph();
    g.name = this.name;
    for (const [id, v] of this.values) g.values.set(id, { ...v });
    for (const [id, n] of this.nodes) {
      const c: Node = { ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } };
      if (n.meta) c.meta = { ...n.meta };
      g.nodes.set(id, c);
    }
    g.order = [...this.order];
    g.inputs = [...this.inputs];
    g.outputs = [...this.outputs];
    g.consts = new Map(this.consts);
    g.opsets = { ...this.opsets };
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
