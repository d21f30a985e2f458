/**
 * Sequences and optionals of static structure, for targets that run tensors only.
 *
 * A sequence whose length and element shapes are known at compile time is a list of tensor values;
 * an optional whose presence is known is its content or nothing. `flattenSequences` rewrites a graph
 * so that no value has a `kind` any more:
 * - sequence / optional graph inputs become one tensor input per element (`name[i]`), their shapes
 *   given by the caller (`SequenceShapes`: the element shapes of each sequence input, and which
 *   optional inputs are empty); sequence / optional outputs become one tensor output per element;
 *   `IoGroup`s tell the artifact's runtime which tensors form which value;
 * - SequenceEmpty/Construct/At/Insert/Erase/Length, Optional, OptionalHasElement,
 *   OptionalGetElement and Identity move element values around: they run at compile time with the
 *   reference `run` hooks on marker tensors standing for the elements (positions must be
 *   constants), so their semantics and errors are the reference's;
 * - SplitToSequence becomes Slice (+ Reshape for keepdims = 0) nodes, ConcatFromSequence a Concat
 *   (of Reshapes for new_axis = 1), SequenceMap one inlined copy of its body per element;
 * - If with a runtime condition whose outputs are sequences: each branch is flattened the same way
 *   and both must give the same number of elements, of one shape each; the node gets one tensor
 *   output per element.
 * What needs a runtime structure (a sequence that grows in a Loop, a runtime position, an optional
 * whose presence depends on data) is an 'unsupported' error naming the node.
 */
import { Graph, Node, ValueId, subgraphsOf } from '../../compiler/ir/graph.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor, TensorType, ValueKind, isConcrete } from '../../compiler/ir/tensor.js';
import { OptionalValue, RtValue, TensorSeq } from '../../compiler/ir/value.js';
import { EdgecError, invalid, unsupported } from '../../compiler/errors.js';
import { inferShapes } from '../../compiler/interp/interp.js';
import { opOf, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { splitImplicit } from '../../compiler/ops/control-flow.js';

/** Compile-time structure of the sequence / optional graph inputs. */
export interface SequenceShapes {
  /** Element shapes of each sequence input (or present optional-sequence input), by input name. */
  sequences?: Readonly<Record<string, readonly (readonly number[])[]>>;
  /** Optional inputs that are empty (the others hold a value). */
  emptyOptionals?: readonly string[];
}

/** How the runtime presents one sequence / optional input or output made of tensor slots. */
export interface IoGroup {
  /** The model's input / output name. */
  name: string;
  kind: ValueKind;
  dtype: DType;
  /** Names of the tensor inputs / outputs holding the elements, in order (none: empty optional). */
  items: string[];
  /** Optionals: whether it holds a value (absent: known at run time only, from `flag`). */
  present?: boolean;
  /** Optionals whose presence depends on data: the bool output telling it. */
  flag?: string;
}

/** True when some value of `g` (or of its subgraphs) is a sequence or optional, or an optional op reads a tensor. */
export function hasNonTensorValues(g: Graph): boolean {
  for (const v of g.values.values()) if (v.type.kind !== undefined) return true;
  for (const n of g.nodes.values()) if (/^Optional/.test(n.op) && (n.domain === '' || n.domain === 'ai.onnx')) return true;
  for (const n of g.nodes.values()) for (const b of subgraphsOf(n)) if (hasNonTensorValues(b)) return true;
  return false;
}

/** Largest output (elements) the flattener folds when a node's inputs are all constants. */
const FOLD_MAX = 4096;

/** Most iterations a Loop over sequences is unrolled to (per plan: a runtime trip count re-plans per count). */
export const MAX_UNROLL = 4096;

/** Ops that only move element values: run at compile time on markers. */
const STRUCTURAL = new Set(['SequenceEmpty', 'SequenceConstruct', 'SequenceAt', 'SequenceInsert', 'SequenceErase', 'SequenceLength',
  'Optional', 'OptionalHasElement', 'OptionalGetElement', 'Identity']);

/** A static sequence / optional: element values of the graph. */
type Static = { k: 'seq'; dtype: DType; items: ValueId[] }
  | { k: 'opt'; elem: TensorType; value: ValueId | Static | null; /** runtime presence (a bool scalar); `value` then holds placeholders when absent */ flag?: ValueId };

/** Rewriting state of one graph. */
class Flattener {
  /** Static structure of each sequence / optional value. */
  readonly env = new Map<ValueId, Static>();
  private markers = new Map<Tensor, ValueId>();
  private counter = 0;

  constructor(readonly g: Graph) {}

  /** A marker tensor standing for tensor value `id` (its shape must be concrete). */
  private marker(id: ValueId): Tensor {
    const t = this.g.typeOf(id);
    if (!isConcrete(t.shape)) throw unsupported(`value "${this.g.value(id).name}" has shape [${t.shape.join(',')}]: sequence elements need static shapes`);
    const m = Tensor.zeros(t.dtype, t.shape as number[]);
    this.markers.set(m, id);
    return m;
  }

  /** The runtime value standing for a value of the graph: markers, constants, static structures. */
  private rtOf(id: ValueId): RtValue {
    const s = this.env.get(id);
    if (s) return this.rtOfStatic(s);
    const c = this.g.consts.get(id);
    if (c) return c;
    return this.marker(id);
  }

  private rtOfStatic(s: Static): RtValue {
    if (s.k === 'seq') return new TensorSeq(s.dtype, s.items.map((x) => this.rtOf(x) as Tensor));
    const v = s.value === null ? null : typeof s.value === 'number' ? this.rtOf(s.value) : this.rtOfStatic(s.value);
    return new OptionalValue(s.elem, v as Tensor | TensorSeq | null);
  }

  /** A value of the graph for a tensor the structural run returned (a marker, a constant or a new constant). */
  private valueOf(t: Tensor, name: string): ValueId {
    return this.markers.get(t) ?? this.g.addConst(`${name}.const${this.counter++}`, t).id;
  }

  private staticOf(v: RtValue, name: string): Static | ValueId {
    if (v instanceof Tensor) return this.valueOf(v, name);
    if (v instanceof TensorSeq) return { k: 'seq', dtype: v.dtype, items: v.items.map((t) => this.valueOf(t, name)) };
    return { k: 'opt', elem: v.elem, value: v.value === null ? null : this.staticOf(v.value, name) };
  }

  /**
   * Binds output `o` (its producer removed) to a computed structure or tensor value; a graph output
   * keeps its value (and name) through an Identity.
   */
  private bind(o: ValueId, s: Static | ValueId): void {
    const g = this.g;
    if (typeof s !== 'number') this.env.set(o, s);
    else if (g.outputs.includes(o)) g.addNode({ op: 'Identity', inputs: [s], outputs: [o], name: `${g.value(o).name}.out` });
    else {
      g.replaceAllUses(o, s);
      this.alias.set(o, s);
    }
  }

  /** Values replaced by `bind` (a body output copied by `inline` may be one): what stands for them now. */
  private readonly alias = new Map<ValueId, ValueId>();
  private resolve(id: ValueId): ValueId {
    let x = id;
    for (let a = this.alias.get(x); a !== undefined; a = this.alias.get(x)) x = a;
    return x;
  }

  /** The static sequence standing for `id`, or an error. */
  seqOf(id: ValueId, what: string): Extract<Static, { k: 'seq' }> {
    const s = this.env.get(id);
    if (!s || s.k !== 'seq') throw unsupported(`${what} is not a sequence of static structure`);
    return s;
  }

  /** Rewrites every node of the graph (in order). */
  run(): void {
    for (const n of this.g.orderedNodes()) this.node(n);
    this.g.toposort();
  }

  private node(n: Node): void {
    const g = this.g;
    // the optional ops also take plain tensors (an optional that is present)
    const kinds = /^Optional/.test(n.op) || [...n.inputs, ...n.outputs].some((x) => x !== null && (g.typeOf(x).kind !== undefined || this.env.has(x)));
    try {
      if (n.op === 'If' && n.domain === '' && kinds) return this.ifNode(n);
      if (!kinds && this.fold(n)) return;
      if (!kinds) {
        // a plain node; its bodies may still use sequences inside
        for (const b of subgraphsOf(n)) if (hasNonTensorValues(b)) throw unsupported(`${n.op} bodies with sequence or optional values need a static trip count and structure`);
        return;
      }
      if (n.domain !== '' && n.domain !== 'ai.onnx') throw unsupported(`${n.op} of domain ${n.domain} on sequence values`);
      if (STRUCTURAL.has(n.op)) return this.structural(n);
      if (n.op === 'SplitToSequence') return this.splitToSequence(n);
      if (n.op === 'ConcatFromSequence') return this.concatFromSequence(n);
      if (n.op === 'SequenceMap') return this.sequenceMap(n);
      if (n.op === 'Loop') return this.unrollLoop(n);
      throw unsupported(`${n.op} on sequence or optional values (a sequence that changes across Loop iterations needs a runtime structure)`);
    } catch (e) {
      if (e instanceof EdgecError) throw e.withContext({ node: n.name, op: n.op });
      throw e;
    }
  }

  /**
   * Folds a plain node whose inputs are all constants (small outputs, no subgraph, deterministic)
   * with its reference kernel: what structural ops return (OptionalHasElement, SequenceLength, an
   * unrolled Loop's iteration number) then decides later structure (an If's condition, a Slice).
   * @returns whether the node was folded
   */
  private fold(n: Node): boolean {
    const g = this.g;
    if (subgraphsOf(n).length > 0 || /^(Random|Multinomial$|Bernoulli$|Dropout$)/.test(n.op) || n.inputs.length === 0) return false;
    if (n.inputs.some((x) => x !== null && !g.consts.has(x))) return false;
    if (n.outputs.some((o) => !isConcrete(g.typeOf(o).shape) || (g.typeOf(o).shape as number[]).reduce((a, d) => a * d, 1) > FOLD_MAX)) return false;
    const def = opOf(n, g);
    const opset = opsetOf(n, g);
    const outs = def.ref(n.inputs.map((x) => (x === null ? null : g.consts.get(x)!)), parseAttrs(def, n, opset), { opset, node: n });
    g.removeNode(n.id);
    n.outputs.forEach((o, k) => this.bind(o, g.addConst(`${g.value(o).name}.const${this.counter++}`, outs[k]!).id));
    return true;
  }

  private structural(n: Node): void {
    const g = this.g;
    const x0 = n.inputs[0];
    const s0 = x0 === null || x0 === undefined ? undefined : this.env.get(x0);
    if (s0 && s0.k === 'opt' && s0.flag !== undefined) {
      // presence known at run time only: passes through Identity, OptionalHasElement reads the flag
      g.removeNode(n.id);
      if (n.op === 'Identity') return this.bind(n.outputs[0]!, s0);
      if (n.op === 'OptionalHasElement') return this.bind(n.outputs[0]!, s0.flag);
      throw unsupported(`${n.op} of an optional whose presence depends on data`);
    }
    const def = opOf(n, g);
    const opset = opsetOf(n, g);
    const ins = n.inputs.map((x) => (x === null ? null : this.rtOf(x)));
    // positions (SequenceAt/Insert/Erase) must be constants: a marker would read as position 0
    if (/^Sequence(At|Insert|Erase)$/.test(n.op)) {
      const p = n.op === 'SequenceInsert' ? n.inputs[2] : n.inputs[1];
      if (p !== null && p !== undefined && !g.consts.has(p)) throw unsupported(`${n.op} with a runtime position needs a runtime sequence structure`);
    }
    if (n.op === 'Optional' || n.op === 'OptionalHasElement' || n.op === 'OptionalGetElement') {
      const x = n.inputs[0];
      // a plain tensor read as an optional is present
      if (x !== null && x !== undefined && g.typeOf(x).kind === undefined && !this.env.has(x) && n.op !== 'Optional') {
        ins[0] = new OptionalValue(g.typeOf(x), ins[0] as Tensor);
      }
    }
    const run = def.run ?? ((i: (RtValue | null)[], a: unknown) => def.ref(i as (Tensor | null)[], a, { opset, node: n }));
    const outs = run(ins, parseAttrs(def, n, opset), { opset, node: n, runSubgraph: () => { throw unsupported(`${n.op}: no subgraph`); } });
    g.removeNode(n.id);
    n.outputs.forEach((o, k) => this.bind(o, this.staticOf(outs[k]!, g.value(o).name)));
  }

  private splitToSequence(n: Node): void {
    const g = this.g;
    const def = opOf(n, g);
    const opset = opsetOf(n, g);
    const a = parseAttrs(def, n, opset) as { axis: number; keepdims: boolean };
    const x = n.inputs[0]!;
    const split = n.inputs[1] ?? null;
    if (split !== null && !g.consts.has(split)) throw unsupported('SplitToSequence with a runtime split needs a runtime sequence structure');
    const xs = this.rtOf(x) as Tensor;
    // the reference run validates the split and gives the element shapes
    const seq = def.run!([xs, split === null ? null : g.consts.get(split)!], a, { opset, node: n, runSubgraph: () => [] })[0] as TensorSeq;
    const r = xs.shape.length;
    const ax = a.axis < 0 ? a.axis + r : a.axis;
    let off = 0;
    const items = seq.items.map((t, i) => {
      const len = split === null ? 1 : t.shape[ax]!;
      const name = `${n.name}.${i}`;
      const i64 = (v: number[]): ValueId => g.addConst(`${name}.p${this.counter++}`, Tensor.from('i64', [v.length], v.map(BigInt))).id;
      const piece = g.addValue(name, { dtype: xs.dtype, shape: xs.shape.map((d, k) => (k === ax ? len : d)) }).id;
      g.addNode({ op: 'Slice', inputs: [x, i64([off]), i64([off + len]), i64([ax])], outputs: [piece], name: `${name}.slice` }, n.id);
      off += len;
      if (t.shape.length === r) return piece;
      const y = g.addValue(`${name}.squeezed`, { dtype: xs.dtype, shape: [...t.shape] }).id;
      g.addNode({ op: 'Reshape', inputs: [piece, i64([...t.shape])], outputs: [y], name: `${name}.reshape` }, n.id);
      return y;
    });
    this.env.set(n.outputs[0]!, { k: 'seq', dtype: xs.dtype, items });
    g.removeNode(n.id);
  }

  private concatFromSequence(n: Node): void {
    const g = this.g;
    const def = opOf(n, g);
    const opset = opsetOf(n, g);
    const a = parseAttrs(def, n, opset) as { axis: number; newAxis: boolean };
    const s = this.seqOf(n.inputs[0]!, 'ConcatFromSequence input');
    // validates the element shapes and gives the output shape
    const out = def.run!([this.rtOf(n.inputs[0]!)], a, { opset, node: n, runSubgraph: () => [] })[0] as Tensor;
    const y = n.outputs[0]!;
    g.value(y).type = { dtype: s.dtype, shape: [...out.shape] };
    const r = out.shape.length;
    const ax = a.axis < 0 ? a.axis + r : a.axis;
    const parts = s.items.map((v, i) => {
      if (!a.newAxis) return v;
      const shape = out.shape.map((d, k) => (k === ax ? 1 : d));
      const u = g.addValue(`${n.name}.${i}`, { dtype: s.dtype, shape }).id;
      const sh = g.addConst(`${n.name}.${i}.shape`, Tensor.from('i64', [r], shape.map(BigInt))).id;
      g.addNode({ op: 'Reshape', inputs: [v, sh], outputs: [u], name: `${n.name}.${i}.reshape` }, n.id);
      return u;
    });
    g.addNode({ op: 'Concat', inputs: parts, outputs: [y], attrs: { axis: ax }, name: n.name }, n.id);
    g.removeNode(n.id);
  }

  /** SequenceMap: one copy of the body per element (sequence inputs indexed, tensors whole). */
  private sequenceMap(n: Node): void {
    const g = this.g;
    const body = n.attrs['body'] as Graph;
    const first = this.seqOf(n.inputs[0]!, 'SequenceMap input 0');
    const count = first.items.length;
    const args = n.inputs.map((x, k) => {
      if (x === null) throw unsupported(`SequenceMap input ${k} is omitted`);
      const s = this.env.get(x);
      if (s && s.k !== 'seq') throw unsupported(`SequenceMap input ${k} is an optional`);
      if (s && s.items.length !== count) throw invalid(`SequenceMap: input ${k} has ${s.items.length} elements, input 0 has ${count}`);
      return s ? s.items : null;
    });
    if (body.captures.length > 0) throw unsupported('SequenceMap bodies that read outer values');
    const outs: ValueId[][] = n.outputs.map(() => []);
    const made: Node[] = [];
    for (let i = 0; i < count; i++) {
      const map = new Map<ValueId, ValueId>();
      body.inputs.forEach((bv, k) => map.set(bv, args[k] ? args[k]![i]! : n.inputs[k]!));
      const val = (id: ValueId): ValueId => {
        let m = map.get(id);
        if (m === undefined) {
          const c = body.consts.get(id);
          m = c ? g.addConst(`${n.name}.${i}/${body.value(id).name}`, c).id : g.addValue(`${n.name}.${i}/${body.value(id).name}`, body.typeOf(id)).id;
          map.set(id, m);
        }
        return m;
      };
      for (const b of body.orderedNodes()) {
        if (subgraphsOf(b).length > 0) throw unsupported(`SequenceMap body node ${b.op} has subgraphs`);
        made.push(g.addNode({ op: b.op, domain: b.domain, attrs: b.attrs, name: `${n.name}.${i}/${b.name}`,
          inputs: b.inputs.map((x) => (x === null ? null : val(x))), outputs: b.outputs.map(val) }, n.id));
      }
      body.outputs.forEach((o, k) => outs[k]!.push(val(o)));
    }
    g.removeNode(n.id);
    // element shapes follow from the inlined nodes
    inferShapes(g);
    for (const m of made) this.node(m);
    n.outputs.forEach((o, k) => {
      const items = outs[k]!.map((v) => {
        if (this.env.has(v)) throw unsupported('SequenceMap bodies that return sequences');
        return v;
      });
      this.env.set(o, { k: 'seq', dtype: g.typeOf(o).dtype, items });
    });
  }

  /**
   * Copies body `b` of node `owner` before it: `bind` gives what its inputs stand for (values or
   * static structures), captures read the owner's implicit inputs; every copied node is then
   * rewritten like the graph's own.
   * @returns what the body's outputs stand for
   */
  private inline(owner: Node, b: Graph, bind: ReadonlyMap<ValueId, ValueId | Static>, prefix: string): (ValueId | Static)[] {
    const g = this.g;
    const map = new Map<ValueId, ValueId>();
    const [, caps] = splitImplicit(owner, owner.inputs);
    b.captures.forEach((v, k) => map.set(v, caps[k]!));
    for (const [bv, x] of bind) {
      if (typeof x === 'number') map.set(bv, x);
      else {
        const id = g.addValue(`${prefix}/${b.value(bv).name}`, b.typeOf(bv)).id;
        this.env.set(id, x);
        map.set(bv, id);
      }
    }
    const val = (id: ValueId): ValueId => {
      let m = map.get(id);
      if (m === undefined) {
        const c = b.consts.get(id);
        m = c ? g.addConst(`${prefix}/${b.value(id).name}`, c).id : g.addValue(`${prefix}/${b.value(id).name}`, b.typeOf(id)).id;
        map.set(id, m);
      }
      return m;
    };
    const made = b.orderedNodes().map((m) => g.addNode({ op: m.op, domain: m.domain, attrs: m.attrs, name: `${prefix}/${m.name}`,
      inputs: m.inputs.map((x) => (x === null ? null : val(x))), outputs: m.outputs.map(val) }, owner.id));
    inferShapes(g);
    for (const m of made) this.node(m);
    return b.outputs.map((o) => this.env.get(val(o)) ?? this.resolve(map.get(o)!));
  }

  /**
   * A Loop carrying sequences / optionals, with a constant trip count and a condition that stays
   * true: unrolled (iteration i: the body with i as a constant); scan outputs stacked.
   */
  private unrollLoop(n: Node): void {
    const g = this.g;
    const body = n.attrs['body'] as Graph;
    const [ex] = splitImplicit(n, n.inputs);
    const m = ex[0] ?? null;
    const mt = m === null ? undefined : g.consts.get(m);
    if (!mt || mt.size !== 1) throw unsupported('Loop carrying sequences or optionals needs a trip count known when planning (a constant, or a graph input)');
    const cIn = ex[1] ?? null;
    const ct = cIn === null ? undefined : g.consts.get(cIn);
    if (cIn !== null && !(ct && ct.size === 1)) throw unsupported('Loop carrying sequences or optionals needs a condition known when planning (a constant, or a graph input)');
    // a false initial condition runs no iteration
    const trip = ct && ct.get(0) === 0 ? 0 : Math.max(0, Number(mt.get(0)));
    if (trip > MAX_UNROLL) throw unsupported(`Loop carrying sequences runs ${trip} iterations, over the ${MAX_UNROLL} the wasm target unrolls`);
    const alwaysTrue = (v: ValueId): boolean => {
      const t = body.consts.get(v);
      if (t) return t.size === 1 && t.get(0) !== 0;
      const p = body.producerOf(v);
      return v === body.inputs[1] || (p !== undefined && p.op === 'Identity' && alwaysTrue(p.inputs[0]!));
    };
    if (!alwaysTrue(body.outputs[0]!)) throw unsupported('Loop carrying sequences or optionals with an early exit needs a runtime sequence structure');
    const carriedN = body.inputs.length - 2;
    let carried: (ValueId | Static)[] = ex.slice(2).map((x) => {
      if (x === null || x === undefined) throw unsupported('Loop: a loop-carried input is omitted');
      return this.env.get(x) ?? x;
    });
    const scans: ValueId[][] = body.outputs.slice(1 + carriedN).map(() => []);
    for (let i = 0; i < trip; i++) {
      const bind = new Map<ValueId, ValueId | Static>();
      bind.set(body.inputs[0]!, g.addConst(`${n.name}.iter${i}`, Tensor.from('i64', [], [BigInt(i)])).id);
      bind.set(body.inputs[1]!, g.addConst(`${n.name}.cond${i}`, Tensor.from('bool', [], [1])).id);
      body.inputs.slice(2).forEach((bv, k) => bind.set(bv, carried[k]!));
      const outs = this.inline(n, body, bind, `${n.name}.${i}`);
      carried = outs.slice(1, 1 + carriedN);
      outs.slice(1 + carriedN).forEach((o, k) => {
        if (typeof o !== 'number') throw unsupported('Loop scan outputs of sequences');
        scans[k]!.push(o);
      });
    }
    g.removeNode(n.id);
    n.outputs.slice(0, carriedN).forEach((o, k) => this.bind(o, carried[k]!));
    n.outputs.slice(carriedN).forEach((o, k) => {
      const parts = scans[k]!;
      if (parts.length === 0) throw unsupported('Loop scan outputs of a loop that runs 0 times');
      const stacked = parts.map((v, i) => {
        const shape = [1, ...(g.typeOf(v).shape as number[])];
        const u = g.addValue(`${n.name}.scan${k}.${i}`, { dtype: g.typeOf(v).dtype, shape }).id;
        g.addNode({ op: 'Reshape', inputs: [v, g.addConst(`${n.name}.scan${k}.${i}.shape`, Tensor.from('i64', [shape.length], shape.map(BigInt))).id], outputs: [u] });
        return u;
      });
      g.addNode({ op: 'Concat', inputs: stacked, outputs: [o], attrs: { axis: 0 }, name: `${n.name}.scan${k}` });
    });
  }

  /** If whose outputs are sequences / optionals: each branch flattened, one tensor output per element. */
  private ifNode(n: Node): void {
    const g = this.g;
    const cond = g.consts.get(n.inputs[0]!);
    if (cond && cond.size === 1) {
      // a condition known here (a structural op's result, a constant input): the branch it takes
      const b = n.attrs[cond.get(0) !== 0 ? 'then_branch' : 'else_branch'] as Graph;
      const outs = this.inline(n, b, new Map(), `${n.name}.${cond.get(0) !== 0 ? 'then' : 'else'}`);
      g.removeNode(n.id);
      n.outputs.forEach((o, k) => this.bind(o, outs[k]!));
      return;
    }
    // copies: a body copied per Loop iteration shares its If nodes' branches
    const branches = ['then_branch', 'else_branch'].map((k) => (n.attrs[k] as Graph).clone());
    if (branches.some((b) => b.captures.some((c) => b.typeOf(c).kind !== undefined))) throw unsupported('If branches that read outer sequence or optional values');
    const flat = branches.map((b) => {
      const f = new Flattener(b);
      f.run();
      return b.outputs.map((o) => f.env.get(o) ?? o);
    });
    const outs: ValueId[] = [];
    const bOuts: ValueId[][] = [[], []];
    n.outputs.forEach((o, k) => {
      const [t, e] = [flat[0]![k]!, flat[1]![k]!];
      const shapeKey = (b: Graph, v: ValueId): string => `${b.typeOf(v).dtype}[${b.typeOf(v).shape.join(',')}]`;
      if (typeof t === 'number' && typeof e === 'number') {
        outs.push(o);
        bOuts[0]!.push(t);
        bOuts[1]!.push(e);
        return;
      }
      const isOpt = (x: Static | ValueId): boolean => typeof x !== 'number' && x.k === 'opt';
      if (isOpt(t) || isOpt(e)) return this.ifOptional(k, o, [t, e], branches, outs, bOuts);
      const items = (s: Static | ValueId, b: Graph, which: string): ValueId[] => {
        if (typeof s === 'number') throw unsupported(`If output ${k}: branch ${which} gives a tensor, the other a sequence`);
        if (s.k === 'seq') return s.items;
        throw unsupported(`If output ${k} is an optional whose presence depends on the condition`);
      };
      const ti = items(t, branches[0]!, 'then');
      const ei = items(e, branches[1]!, 'else');
      if (ti.length !== ei.length || ti.some((v, i) => shapeKey(branches[0]!, v) !== shapeKey(branches[1]!, ei[i]!))) {
        throw unsupported(`If output ${k}: the branches give sequences of different structure (${ti.map((v) => shapeKey(branches[0]!, v)).join(', ')} vs ${ei.map((v) => shapeKey(branches[1]!, v)).join(', ')})`);
      }
      const dtype = g.typeOf(o).dtype;
      const els = ti.map((v, i) => {
        const id = g.addValue(`${g.value(o).name}[${i}]`, { ...branches[0]!.typeOf(v) }).id;
        outs.push(id);
        bOuts[0]!.push(v);
        bOuts[1]!.push(ei[i]!);
        return id;
      });
      this.env.set(o, { k: 'seq', dtype, items: els });
    });
    branches.forEach((b, i) => {
      b.outputs = bOuts[i]!;
      b.removeUnusedValues();
    });
    const m = g.addNode({ op: 'If', domain: '', inputs: n.inputs, outputs: [], attrs: { ...n.attrs, then_branch: branches[0]!, else_branch: branches[1]! }, name: n.name }, n.id);
    g.removeNode(n.id);
    m.outputs = outs;
    for (const o of outs) g.value(o).producer = m.id;
  }

  /**
   * If output `k` (`o`) that is an optional in either branch: a runtime presence flag (a bool output
   * of the If, constant in each branch) and one output per element, placeholders (zeros of the
   * present branch's shapes) in a branch where it is empty.
   */
  private ifOptional(k: number, o: ValueId, bs: (Static | ValueId)[], branches: Graph[], outs: ValueId[], bOuts: ValueId[][]): void {
    const g = this.g;
    const name = g.value(o).name;
    const opts = bs.map((x) => {
      if (typeof x === 'number' || x.k !== 'opt') throw unsupported(`If output ${k}: one branch gives an optional, the other not`);
      return x;
    });
    const payload = (x: Extract<Static, { k: 'opt' }>): ValueId[] | null => {
      if (x.flag !== undefined) throw unsupported(`If output ${k}: an optional whose presence is already decided at run time`);
      if (x.value === null) return null;
      if (typeof x.value === 'number') return [x.value];
      if (x.value.k === 'seq') return x.value.items;
      throw unsupported(`If output ${k}: an optional of an optional`);
    };
    const ps = opts.map(payload);
    const ri = ps[0] ? 0 : 1;
    const ref = ps[ri];
    if (!ref) {
      // empty in both branches
      this.env.set(o, { ...opts[0]! });
      return;
    }
    const key = (b: Graph, v: ValueId): string => `${b.typeOf(v).dtype}[${b.typeOf(v).shape.join(',')}]`;
    const types = ref.map((v) => branches[ri]!.typeOf(v));
    if (ps[0] && ps[1] && (ps[0].length !== ps[1].length || ps[0].some((v, i) => key(branches[0]!, v) !== key(branches[1]!, ps[1]![i]!)))) {
      throw unsupported(`If output ${k}: the branches give optionals of different structure`);
    }
    const flag = g.addValue(`${name}.present`, { dtype: 'bool', shape: [] }).id;
    outs.push(flag);
    branches.forEach((b, bi) => bOuts[bi]!.push(b.addConst(`${name}.present`, Tensor.from('bool', [], [ps[bi] ? 1 : 0])).id));
    const els = types.map((t, i) => {
      if (!isConcrete(t.shape)) throw unsupported(`If output ${k}: element ${i} has shape [${t.shape.join(',')}]; the wasm target needs static shapes`);
      const id = g.addValue(`${name}[${i}]`, { dtype: t.dtype, shape: t.shape }).id;
      outs.push(id);
      branches.forEach((b, bi) => bOuts[bi]!.push(ps[bi]?.[i] ?? b.addConst(`${name}.none${i}`, Tensor.zeros(t.dtype, t.shape as number[])).id));
      return id;
    });
    const elem = opts[ri]!.elem;
    const value: ValueId | Static = elem.kind === 'sequence' ? { k: 'seq', dtype: elem.dtype, items: els } : els[0]!;
    this.env.set(o, { k: 'opt', elem, value, flag });
  }

  /** Replaces a sequence / optional graph input by tensor inputs per element. */
  input(id: ValueId, shapes: SequenceShapes): IoGroup | null {
    const g = this.g;
    const v = g.value(id);
    const t = v.type;
    if (t.kind === undefined) return null;
    const tensorOf = (shape: readonly number[], i: number): ValueId => g.addValue(`${v.name}[${i}]`, { dtype: t.dtype, shape: [...shape] }).id;
    const empty = shapes.emptyOptionals?.includes(v.name) ?? false;
    let s: Static;
    let items: ValueId[] = [];
    if (t.kind === 'optional' && !empty) {
      if (!isConcrete(t.shape)) throw unsupported(`optional input "${v.name}" has shape [${t.shape.join(',')}]: give a static shape`);
      items = [tensorOf(t.shape as number[], 0)];
      s = { k: 'opt', elem: { dtype: t.dtype, shape: t.shape }, value: items[0]! };
    } else if (empty) {
      if (t.kind === 'sequence') throw invalid(`input "${v.name}" is a sequence, not an optional`);
      s = { k: 'opt', elem: t.kind === 'optional' ? { dtype: t.dtype, shape: t.shape } : { dtype: t.dtype, shape: t.shape, kind: 'sequence' }, value: null };
    } else {
      const el = shapes.sequences?.[v.name];
      if (!el) throw unsupported(`input "${v.name}" is a sequence: give its element shapes (--seq-shape ${v.name}=DIMS,DIMS...)`, { tensor: v.name });
      items = el.map((d, i) => tensorOf(d, i));
      const seq: Static = { k: 'seq', dtype: t.dtype, items };
      s = t.kind === 'sequence' ? seq : { k: 'opt', elem: { dtype: t.dtype, shape: t.shape, kind: 'sequence' }, value: seq };
    }
    this.env.set(id, s);
    const group: IoGroup = { name: v.name, kind: t.kind, dtype: t.dtype, items: items.map((x) => g.value(x).name) };
    if (t.kind !== 'sequence') group.present = s.k === 'opt' && s.value !== null;
    g.inputs.splice(g.inputs.indexOf(id), 1, ...items);
    return group;
  }

  /** Tensor values making up a sequence / optional output (its group), or null for a tensor output. */
  output(id: ValueId): { group: IoGroup; items: ValueId[]; flag?: ValueId } | null {
    const g = this.g;
    const t = g.typeOf(id);
    const s = this.env.get(id);
    if (t.kind === undefined && !s) return null;
    const name = g.value(id).name;
    const flat = (x: Static | ValueId): ValueId[] => (typeof x === 'number' ? [x] : x.k === 'seq' ? x.items : x.value === null ? [] : flat(x.value));
    if (!s) throw unsupported(`output "${name}" is a ${t.kind} of runtime structure`);
    const items = flat(s);
    const group: IoGroup = { name, kind: t.kind ?? 'sequence', dtype: t.dtype, items: items.map((_, i) => `${name}[${i}]`) };
    if (s.k === 'opt' && s.flag !== undefined) {
      group.flag = `${name}.present`;
      return { group, items, flag: s.flag };
    }
    if (s.k === 'opt') group.present = s.value !== null;
    return { group, items };
  }
}

/**
 * Rewrites `g` in place so that every value is a tensor (see the file comment).
 * @param g optimized graph (shapes inferred)
 * @param shapes element shapes of sequence inputs, empty optional inputs
 * @returns the groups of tensor inputs / outputs that stand for sequence / optional ones, in model order
 */
export function flattenSequences(g: Graph, shapes: SequenceShapes = {}): { inputs: IoGroup[]; outputs: IoGroup[] } {
  for (const k of Object.keys(shapes.sequences ?? {})) {
    if (!g.inputs.some((id) => g.value(id).name === k && g.typeOf(id).kind !== undefined)) throw invalid(`--seq-shape ${k}: the model has no sequence input "${k}"`);
  }
  const f = new Flattener(g);
  const inputs: IoGroup[] = [];
  for (const id of [...g.inputs]) {
    const grp = f.input(id, shapes);
    if (grp) inputs.push(grp);
  }
  inferShapes(g);
  f.run();
  const outputs: IoGroup[] = [];
  const newOuts: ValueId[] = [];
  const used = new Set<ValueId>();
  for (const id of g.outputs) {
    const r = f.output(id);
    if (!r) {
      newOuts.push(id);
      continue;
    }
    outputs.push(r.group);
    if (r.flag !== undefined) {
      const w = g.addValue(r.group.flag!, { dtype: 'bool', shape: [] }).id;
      g.addNode({ op: 'Identity', inputs: [r.flag], outputs: [w], name: `${r.group.flag}.out` });
      newOuts.push(w);
    }
    r.items.forEach((v, i) => {
      // each element output is its own value with the slot's name
      let w = v;
      if (used.has(v) || g.inputs.includes(v) || g.consts.has(v) || g.value(v).name !== r.group.items[i]) {
        w = g.addValue(r.group.items[i]!, { ...g.typeOf(v) }).id;
        g.addNode({ op: 'Identity', inputs: [v], outputs: [w], name: `${r.group.items[i]}.out` });
      }
      used.add(w);
      newOuts.push(w);
    });
  }
  g.outputs = newOuts;
  g.toposort();
  g.removeUnusedValues();
  inferShapes(g);
  return { inputs, outputs };
}

/**
 * The structure of given sequence / optional input values, as a compile needs it (to compile a
 * model for the values at hand: the tests, `edgec run`).
 * @param g the model's graph
 * @param inputs values in input order
 */
export function sequenceShapesOf(g: Graph, inputs: readonly RtValue[]): SequenceShapes {
  const sequences: Record<string, number[][]> = {};
  const emptyOptionals: string[] = [];
  g.inputs.forEach((id, i) => {
    const v = inputs[i];
    const name = g.value(id).name;
    if (v === undefined || v instanceof Tensor) return;
    const content = v instanceof OptionalValue ? v.value : v;
    if (content === null) emptyOptionals.push(name);
    else if (content instanceof TensorSeq) sequences[name] = content.items.map((t) => [...t.shape]);
  });
  return { sequences, emptyOptionals };
}
