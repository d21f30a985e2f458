/**
 * TF v1 control flow in graph models: `tf.while_loop` frames (Enter, Merge, Switch, NextIteration,
 * Exit, LoopCond) become ONNX-semantics `Loop` nodes with a body subgraph, and `tf.cond`
 * (Switch(x, pred) -> branch nodes -> Merge, no frame) becomes an `If` whose then branch holds the
 * nodes behind the Switches' output 1 and whose else branch those behind output 0.
 *
 * A frame's loop variables are its Merge nodes: Merge(Enter(init), NextIteration(next)), read in
 * the body through Switch(Merge, LoopCond):1 and after the loop through Exit(Switch:0). The loop
 *   v = init; while cond(v): v = body(v)
 * becomes
 *   Loop(M = none, cond(init), init...) with body (i, c, v...) -> (cond(body(v)), body(v)...)
 * so the condition subgraph is converted twice: once in the enclosing graph on the initial values
 * (the initial condition), once in the body on the next values (the body's condition output).
 * Values of enclosing frames read in the body (Enter of a loop-invariant value, or any node of an
 * outer frame) become captures of the body (`Graph.captures`, bound to the Loop's implicit inputs);
 * constants are copied into the body so shape folding sees them. A loop variable passed through
 * unchanged (next = its own Switch:1) is loop-invariant and captured, not carried.
 *
 * TensorLists (TF2 TensorArrays) in loops: a list made by TensorListReserve that the body writes with
 * TensorListSetItem at the iteration index (a loop variable counting 0, 1, 2... from 0) and that is
 * read after the loop by TensorListStack becomes a Loop scan output; TensorListFromTensor(x) read
 * by TensorListGetItem(list, i) is Gather(x, i) on axis 0. Other list uses are `unsupported`.
 *
 * Conversion is demand-driven per scope (the root graph or one loop body): `Scope.get(node)`
 * converts the node and what it needs, in topological order, into the scope's Emitter.
 */
import { Graph, NodeId, ValueId, hasSubgraph } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { ONNX_DTYPE } from '../../ir/dtype.js';
import { runGraph } from '../../interp/interp.js';
import { ErrorContext, invalid, unsupported } from '../../errors.js';
import { Emitter, LVal } from './emit.js';
import { JsonObj, own } from './load.js';

/** A TF node as read from model.json. */
export interface TfNode {
  name: string;
  op: string;
  inputs: string[];
  attr: JsonObj;
  index: number;
}

/** Splits "name:1" / "^name" into node name and output index (control inputs give index -1). */
export function parseInput(s: string): [string, number] {
  if (s.startsWith('^')) return [s.slice(1), -1];
  const m = /^(.*):(\d+)$/.exec(s);
  return m ? [m[1]!, Number(m[2])] : [s, 0];
}

/** Data inputs of a node (control inputs removed). */
export const dataInputs = (n: TfNode): string[] => n.inputs.filter((s) => !s.startsWith('^'));

/** One loop variable of a while frame. */
interface LoopVar {
  merge: TfNode;
  enter: TfNode;
  next: TfNode;
  sw?: TfNode;
  exit?: TfNode;
}

/** A while-loop frame (Enter frame_name). */
export interface Frame {
  name: string;
  parent: Frame | null;
  depth: number;
  vars: LoopVar[];
  loopCond?: TfNode;
}

/** Converts one (non-control-flow) TF node given its converted inputs. */
export type NodeConverter = (e: Emitter, n: TfNode, ins: LVal[]) => LVal[];

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function frameName(n: TfNode): string {
  const f = own(own(n.attr, 'frame_name') as JsonObj | undefined, 's');
  return typeof f === 'string' ? b64(f) : '';
}

/** Frame analysis of a TF graph: which frame every node runs in. */
export class Frames {
  private memo = new Map<string, Frame | null>();
  readonly frames = new Map<string, Frame>();

  constructor(readonly nodes: Map<string, TfNode>, private fctx: ErrorContext) {
    // Frames and their loop variables (Merge nodes whose first input is an Enter of the frame).
    for (const n of nodes.values()) {
      if (n.op !== 'Merge') continue;
      const ins = dataInputs(n);
      const enter = this.node(parseInput(ins[0] ?? '')[0]);
      const next = ins[1] !== undefined ? this.node(parseInput(ins[1])[0]) : undefined;
      if (enter?.op !== 'Enter' || next?.op !== 'NextIteration') continue;
      const f = this.frameNamed(enter);
      f.vars.push({ merge: n, enter, next });
    }
    for (const n of nodes.values()) {
      if (n.op === 'Switch') {
        const ins = dataInputs(n);
        const m = this.node(parseInput(ins[0] ?? '')[0]);
        const v = m && this.varOfMerge(m);
        if (v) v.v.sw = n;
        const lc = this.node(parseInput(ins[1] ?? '')[0]);
        if (v && lc?.op === 'LoopCond') v.f.loopCond = lc;
      }
    }
    for (const n of nodes.values()) {
      if (n.op !== 'Exit') continue;
      const sw = this.node(parseInput(dataInputs(n)[0] ?? '')[0]);
      for (const f of this.frames.values()) for (const v of f.vars) if (v.sw === sw) v.exit = n;
    }
    for (const f of this.frames.values()) f.vars.sort((p, q) => p.merge.index - q.merge.index);
  }

  node(name: string): TfNode | undefined {
    return this.nodes.get(name);
  }

  private frameNamed(enter: TfNode): Frame {
    const name = frameName(enter);
    if (!name) throw invalid('Enter has no frame_name', { ...this.fctx, node: enter.name });
    let f = this.frames.get(name);
    if (!f) {
      const parent = this.frameOf(this.mustNode(parseInput(dataInputs(enter)[0] ?? '')[0], enter));
      f = { name, parent, depth: (parent?.depth ?? 0) + 1, vars: [] };
      this.frames.set(name, f);
    }
    return f;
  }

  private mustNode(name: string, user: TfNode): TfNode {
    const n = this.nodes.get(name);
    if (!n) throw invalid(`input "${name}" is not produced by any node`, { ...this.fctx, node: user.name, op: user.op });
    return n;
  }

  /** The loop variable a Merge node stands for (undefined: not a loop Merge). */
  varOfMerge(m: TfNode): { f: Frame; v: LoopVar } | undefined {
    for (const f of this.frames.values()) for (const v of f.vars) if (v.merge === m) return { f, v };
    return undefined;
  }

  /** The frame a node runs in (null: the root graph). */
  frameOf(n: TfNode): Frame | null {
    const hit = this.memo.get(n.name);
    if (hit !== undefined) return hit;
    // iterative: walk input chains first so deep graphs do not overflow the stack
    const stack: TfNode[] = [n];
    const visiting = new Set<string>();
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (this.memo.has(top.name)) { stack.pop(); continue; }
      const deps = this.frameDeps(top);
      const missing = deps.find((d) => !this.memo.has(d.name));
      if (missing && !visiting.has(missing.name)) {
        visiting.add(top.name);
        stack.push(missing);
        continue;
      }
      if (missing) throw invalid('graph has a cycle outside a while loop', { ...this.fctx, node: top.name, op: top.op });
      this.memo.set(top.name, this.frameFrom(top, deps));
      stack.pop();
    }
    return this.memo.get(n.name)!;
  }

  /** Nodes whose frame decides `n`'s frame. */
  private frameDeps(n: TfNode): TfNode[] {
    if (n.op === 'Enter') return [];
    const data = dataInputs(n);
    // Merge: its first input (the NextIteration edge closes the loop)
    const use = n.op === 'Merge' ? data.slice(0, 1) : data.length ? data : n.inputs;
    return use.map((s) => this.mustNode(parseInput(s)[0], n));
  }

  private frameFrom(n: TfNode, deps: TfNode[]): Frame | null {
    if (n.op === 'Enter') return this.frameNamed(n);
    let best: Frame | null = null;
    for (const d of deps) {
      let f = this.memo.get(d.name) ?? null;
      if (d.op === 'Exit') f = f?.parent ?? null;
      if (f && (!best || f.depth > best.depth)) best = f;
    }
    return best;
  }
}

/** True when `inner` is `outer` or nested in it. */
function within(inner: Frame | null, outer: Frame | null): boolean {
  for (let f = inner; f; f = f.parent) if (f === outer) return true;
  return outer === null;
}

/** Most iterations a loop's trip count is folded for (a longer loop keeps its runtime condition). */
const MAX_FOLDED_TRIPS = 65536;

/**
 * The part of `g` computing `outs` from `feeds` and constants, as a graph with inputs `feeds`;
 * undefined when `outs` depend on anything else (graph inputs, captures, subgraph nodes).
 */
function coneGraph(g: Graph, outs: ValueId[], feeds: ValueId[]): Graph | undefined {
  const need = new Set<NodeId>();
  const stack = [...outs];
  const seen = new Set<ValueId>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (feeds.includes(v) || g.consts.has(v)) continue;
    const p = g.producerOf(v);
    if (!p || hasSubgraph(p)) return undefined;
    need.add(p.id);
    for (const i of p.inputs) if (i !== null) stack.push(i);
  }
  const c = g.clone();
  for (const id of c.order) if (!need.has(id)) c.nodes.delete(id);
  c.order = c.order.filter((id) => need.has(id));
  c.inputs = [...feeds];
  c.outputs = [...outs];
  c.captures = [];
  return c;
}

/** Runs a cone graph; undefined when it fails (the loop then keeps its runtime condition). */
function tryRun(g: Graph, vals: Tensor[]): Tensor[] | undefined {
  try {
    return runGraph(g, vals);
  } catch {
    return undefined;
  }
}

/** Body inputs that `outs` depend on (undefined: they depend on a capture). */
function leavesOf(g: Graph, outs: ValueId[]): Set<ValueId> | undefined {
  const leaves = new Set<ValueId>();
  const stack = [...outs];
  const seen = new Set<ValueId>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (g.consts.has(v)) continue;
    if (g.captures.includes(v)) return undefined;
    const p = g.producerOf(v);
    if (!p) {
      leaves.add(v);
      continue;
    }
    for (const i of p.inputs) if (i !== null) stack.push(i);
  }
  return leaves;
}

/**
 * The trip count of a while loop when its condition depends only on loop variables that start
 * from constants and are updated from each other and constants (counters): the loop is run on
 * those variables alone. `cond0` is the initial condition in `outer`, `inits` the carried initial
 * values there; `body` takes (iteration, cond, carried...) = `bodyIns` after its first two inputs,
 * `cond1` / `nexts` are its condition and carried outputs.
 */
function foldTripCount(outer: Graph, cond0: ValueId, inits: ValueId[], body: Graph, cond1: ValueId, bodyIns: ValueId[], nexts: ValueId[]): number | undefined {
  const iter = body.inputs[0]!;
  const used = new Set<number>();
  let frontier: ValueId[] = [cond1];
  for (;;) {
    const leaves = leavesOf(body, frontier);
    if (!leaves) return undefined;
    const added: number[] = [];
    for (const l of leaves) {
      if (l === iter) continue;
      const k = bodyIns.indexOf(l);
      if (k < 0) return undefined; // the condition input or an unknown value
      if (!used.has(k)) { used.add(k); added.push(k); }
    }
    if (!added.length) break;
    frontier = added.map((k) => nexts[k]!);
  }
  const ks = [...used].sort((p, q) => p - q);
  let vals: Tensor[] = [];
  for (const k of ks) {
    const t = outer.constOf(inits[k]!);
    if (!t) return undefined;
    vals.push(t);
  }
  const g0 = coneGraph(outer, [cond0], []);
  const c0 = g0 && tryRun(g0, []);
  if (!c0 || c0[0]!.size !== 1) return undefined;
  let cond = c0[0]!.get(0) !== 0;
  const feeds = [iter, ...ks.map((k) => bodyIns[k]!)];
  const outs = [cond1, ...ks.map((k) => nexts[k]!)];
  const step = coneGraph(body, outs, feeds);
  if (!step) return undefined;
  let i = 0;
  for (; cond; i++) {
    if (i >= MAX_FOLDED_TRIPS) return undefined;
    const r = tryRun(step, [Tensor.scalar('i64', i), ...vals]);
    if (!r || r[0]!.size !== 1) return undefined;
    cond = r[0]!.get(0) !== 0;
    vals = r.slice(1);
  }
  return i;
}

/** Removes nodes of `g` whose outputs nothing reads (repeatedly). */
function removeDeadNodes(g: Graph): void {
  for (let changed = true; changed;) {
    changed = false;
    const uses = g.uses();
    for (const n of g.orderedNodes()) {
      if (n.outputs.every((o) => !uses.has(o) && !g.outputs.includes(o))) {
        g.removeNode(n.id);
        changed = true;
      }
    }
  }
  g.removeUnusedValues();
}

/** Makes subgraph outputs distinct values produced in the subgraph (Identity where needed). */
function distinctOutputs(be: Emitter, outs: ValueId[]): void {
  const used = new Set<ValueId>();
  for (let i = 0; i < outs.length; i++) {
    const id = outs[i]!;
    if (used.has(id) || be.g.inputs.includes(id) || be.g.captures.includes(id) || be.g.consts.has(id)) {
      outs[i] = be.op('Identity', [id], {}, `${be.g.value(id).name}/out`);
    }
    used.add(outs[i]!);
  }
}

/** The value of a tf.cond Switch output of the branch not taken (reading it is an error). */
const DEAD: LVal = {};

/** A tf.cond branch being converted: its predicate ("node:k"), side (1: then), and membership cache. */
interface Branch {
  pred: string;
  side: 0 | 1;
  inside: Map<string, boolean>;
}

/** Outer values imported into a loop body: outer value id -> body value id, and the capture list. */
interface Imports {
  map: Map<ValueId, ValueId>;
  outer: ValueId[];
}

/**
 * One conversion scope: the root graph, a loop body, a loop condition evaluated with the loop
 * variables bound to given values (`bind`), or a tf.cond branch.
 */
export class Scope {
  private memo = new Map<string, LVal[]>();

  /**
   * @param e the emitter nodes go to
   * @param frame the frame whose nodes this scope converts
   * @param parent the scope of the enclosing frame (null: root)
   * @param imports for a body or branch, how outer values are captured (undefined: same graph as parent)
   * @param branch for a tf.cond branch: its predicate and side
   */
  constructor(readonly e: Emitter, readonly frame: Frame | null, readonly parent: Scope | null, readonly frames: Frames,
    readonly convert: NodeConverter, private imports?: Imports, private branch?: Branch) {}

  /** Sets the value of a node (placeholders, loop variables). */
  bind(name: string, v: LVal[]): void {
    this.memo.set(name, v);
  }

  /** A scope over the same graph and frame with other bindings (the condition on new values). */
  fork(): Scope {
    return new Scope(this.e, this.frame, this.parent, this.frames, this.convert, this.imports, this.branch);
  }

  /** Output k of node `name`, converted on demand. */
  out(s: string, user: TfNode): LVal {
    const [nm, k] = parseInput(s);
    const v = this.get(nm)[k];
    if (!v) throw invalid(`input "${s}" has no output ${k}`, { node: user.name, op: user.op });
    if (v === DEAD) throw unsupported(`tf.cond: "${user.name}" reads the output of Switch "${nm}" that belongs to the other branch`, { node: user.name, op: user.op });
    return v;
  }

  /** The outputs of node `name` in this scope. */
  get(name: string): LVal[] {
    const hit = this.memo.get(name);
    if (hit) return hit;
    const stack: [TfNode, number][] = [[this.must(name), 0]];
    const visiting = new Set<string>([name]);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const n = top[0];
      if (this.memo.has(n.name)) { stack.pop(); continue; }
      const leaf = this.leaf(n);
      if (leaf) {
        this.memo.set(n.name, leaf);
        stack.pop();
        continue;
      }
      const deps = dataInputs(n);
      if (top[1] < deps.length) {
        const dn = parseInput(deps[top[1]++]!)[0];
        if (this.memo.has(dn)) continue;
        if (visiting.has(dn)) throw invalid('graph has a cycle outside a while loop', { node: n.name, op: n.op });
        visiting.add(dn);
        stack.push([this.must(dn, n), 0]);
        continue;
      }
      const nctx: ErrorContext = { node: n.name, op: n.op, nodeIndex: n.index };
      const outs = this.e.withNodeContext(nctx, () => this.convert(this.e, n, deps.map((s) => this.out(s, n))));
      this.memo.set(n.name, outs);
      stack.pop();
    }
    return this.memo.get(name)!;
  }

  private must(name: string, user?: TfNode): TfNode {
    const n = this.frames.node(name);
    if (!n) throw invalid(`input "${name}" is not produced by any node`, user ? { node: user.name, op: user.op } : {});
    return n;
  }

  /** Values of nodes that are not converted from their inputs here (other frames, control flow). */
  private leaf(n: TfNode): LVal[] | undefined {
    const f = this.frames.frameOf(n);
    const nctx: ErrorContext = { node: n.name, op: n.op, nodeIndex: n.index };
    if (n.op === 'Exit') {
      // an Exit runs in the enclosing frame of its loop: converting the loop binds every Exit
      const loop = this.frames.frameOf(this.must(parseInput(dataInputs(n)[0] ?? '')[0], n));
      if (!loop || loop.parent !== this.frame) throw invalid('Exit of a loop that is not nested in this frame', nctx);
      this.e.withNodeContext(nctx, () => this.convertLoop(loop));
      const v = this.memo.get(n.name);
      if (!v) throw unsupported('an Exit whose Switch is not a loop variable is not supported', nctx);
      return v;
    }
    if (this.branch && f === this.frame) {
      const br = this.branch;
      if (n.op === 'Switch' && this.predOf(n) === br.pred) {
        // this cond's Switch: the taken side is the (captured) input, the other side is dead
        const v = this.import(this.parent!.out(dataInputs(n)[0] ?? '', n));
        return br.side === 1 ? [DEAD, v] : [v, DEAD];
      }
      if (!this.inBranch(n)) return this.parent!.get(n.name).map((v) => this.import(v));
    }
    if (f !== this.frame) {
      if (!this.parent || !within(this.frame, f)) throw invalid(`node of frame "${f?.name ?? 'root'}" read in frame "${this.frame?.name ?? 'root'}"`, nctx);
      return this.parent.get(n.name).map((v) => this.import(v));
    }
    if (n.op === 'Enter') return [this.import(this.parent!.out(dataInputs(n)[0] ?? '', n))];
    if (n.op === 'Merge' && !this.frames.varOfMerge(n)) {
      this.e.withNodeContext(nctx, () => this.convertCond(n));
      return this.memo.get(n.name)!;
    }
    if (n.op === 'Merge' || n.op === 'Switch' || n.op === 'NextIteration') {
      throw unsupported(`${n.op} outside the while-loop and tf.cond patterns is not supported`, {
        ...nctx, hint: 'loops: Merge(Enter, NextIteration) / Switch(Merge, LoopCond); conds: Switch(x, pred) -> branch -> Merge',
      });
    }
    return undefined;
  }

  /** An outer value as a value of this scope's graph (captured or copied constant). */
  private import(v: LVal): LVal {
    if (!this.imports) return v;
    if (v.list) return v.list.value === undefined ? v : { list: { ...v.list, value: this.importId(v.list.value) } };
    return { tf: this.importId(this.parent!.e.tf(v)) };
  }

  private importId(id: ValueId): ValueId {
    const imp = this.imports!;
    const hit = imp.map.get(id);
    if (hit !== undefined) return hit;
    const outer = this.parent!.e;
    const c = outer.constOf(id);
    const name = outer.g.value(id).name;
    let inner: ValueId;
    if (c) inner = this.e.const(name, c);
    else {
      inner = this.e.g.addValue(name, outer.type(id)).id;
      this.e.g.captures.push(inner);
      imp.outer.push(id);
    }
    imp.map.set(id, inner);
    return inner;
  }

  /** Follows Identity nodes back to the value source "name:k". */
  private source(s: string): string {
    for (let i = 0; i < 1000; i++) {
      const [nm] = parseInput(s);
      const n = this.frames.node(nm);
      if (!n || (n.op !== 'Identity' && n.op !== 'StopGradient') || !dataInputs(n).length) return s;
      s = dataInputs(n)[0]!;
    }
    return s;
  }

  private isSwitchTrue(s: string, v: LoopVar): boolean {
    const [nm, k] = parseInput(this.source(s));
    return nm === v.sw!.name && k === 1;
  }

  /**
   * True when loop variable `v` counts the iterations: starts at constant 0, next = v + 1.
   * `fs` is a scope of v's frame (it reads the constant 1).
   */
  private isCounter(v: LoopVar, init: LVal, fs: Scope): boolean {
    const c = init.tf !== undefined ? this.e.constOf(init.tf) : undefined;
    if (!c || c.size !== 1 || c.get(0) !== 0) return false;
    const [an] = parseInput(this.source(dataInputs(v.next)[0] ?? ''));
    const add = this.frames.node(an);
    if (!add || !['Add', 'AddV2'].includes(add.op)) return false;
    const [x, y] = dataInputs(add);
    const isOne = (s: string | undefined): boolean => {
      if (s === undefined) return false;
      const [nm, k] = parseInput(this.source(s));
      const n = this.frames.node(nm);
      // a constant, or an Enter of one
      if (n?.op !== 'Const' && !(n?.op === 'Enter' && this.frames.node(parseInput(dataInputs(n)[0] ?? '')[0])?.op === 'Const')) return false;
      const v = fs.get(nm)[k];
      const t = v?.tf !== undefined ? fs.e.constOf(v.tf) : undefined;
      return t !== undefined && t.size === 1 && t.get(0) === 1;
    };
    return (x !== undefined && this.isSwitchTrue(x, v) && isOne(y)) || (y !== undefined && this.isSwitchTrue(y, v) && isOne(x));
  }

  /** The predicate source ("node:k") of a Switch. */
  private predOf(sw: TfNode): string {
    const p = parseInput(dataInputs(sw)[1] ?? '');
    return `${p[0]}:${p[1]}`;
  }

  /**
   * The Switch nodes (with the output used) that `start` reaches through data and control inputs
   * without passing a Switch: the switches a tf.cond branch value comes through. Loop Switches
   * (of a frame's loop variables) and nodes of other frames end the search.
   */
  private switchesBehind(start: string[]): { sw: TfNode; port: number }[] {
    const found: { sw: TfNode; port: number }[] = [];
    const seen = new Set<string>();
    const stack = [...start];
    while (stack.length) {
      const s = stack.pop()!;
      const [nm, k] = parseInput(s);
      const key = `${nm}:${k}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const n = this.frames.node(nm);
      if (!n || this.frames.frameOf(n) !== this.frame) continue;
      if (n.op === 'Switch') {
        const m = this.frames.node(parseInput(dataInputs(n)[0] ?? '')[0]);
        if (!(m && this.frames.varOfMerge(m))) found.push({ sw: n, port: k < 0 ? -1 : k });
        continue;
      }
      for (const i of n.inputs) {
        const [pn, pk] = parseInput(i);
        stack.push(pk < 0 ? `^${pn}` : i);
      }
    }
    return found;
  }

  /** Inside a branch scope: true when node `n` depends on this cond's Switches (so it is in the branch). */
  private inBranch(n: TfNode): boolean {
    const br = this.branch!;
    const hit = br.inside.get(n.name);
    if (hit !== undefined) return hit;
    const r = this.switchesBehind(n.inputs).some((x) => this.predOf(x.sw) === br.pred);
    br.inside.set(n.name, r);
    return r;
  }

  /**
   * Converts the tf.cond that Merge `m` closes into an If node: every Merge of this frame whose
   * inputs come through Switches of the same predicate becomes one output. Merge input from the
   * Switches' output 1 is the then branch, from output 0 the else branch; Merge's value_index
   * output is 1 or 0 accordingly.
   */
  private convertCond(m: TfNode): void {
    const sideOf = (input: string, pred: string): number | undefined => {
      const ports = new Set(this.switchesBehind([input]).filter((x) => this.predOf(x.sw) === pred).map((x) => x.port));
      return ports.size === 1 ? [...ports][0] : undefined;
    };
    const preds = new Set(this.switchesBehind(dataInputs(m)).map((x) => this.predOf(x.sw)));
    if (preds.size !== 1) throw unsupported(`tf.cond: the inputs of Merge "${m.name}" do not come through the Switches of one predicate`);
    const pred = [...preds][0]!;
    const group: { m: TfNode; inT: string; inF: string; tIdx: number }[] = [];
    for (const n of this.frames.nodes.values()) {
      if (n.op !== 'Merge' || this.frames.varOfMerge(n) || this.frames.frameOf(n) !== this.frame || this.memo.has(n.name)) continue;
      const ins = dataInputs(n);
      if (n !== m && !ins.some((i) => this.switchesBehind([i]).some((x) => this.predOf(x.sw) === pred))) continue;
      if (ins.length !== 2) throw unsupported(`tf.cond: Merge "${n.name}" has ${ins.length} inputs (2 are supported)`);
      const s0 = sideOf(ins[0]!, pred);
      const s1 = sideOf(ins[1]!, pred);
      if (s0 === undefined || s1 === undefined || s0 === s1 || s0 < 0 || s1 < 0) {
        throw unsupported(`tf.cond: cannot tell which branch each input of Merge "${n.name}" comes from`);
      }
      group.push(s1 === 1 ? { m: n, inT: ins[1]!, inF: ins[0]!, tIdx: 1 } : { m: n, inT: ins[0]!, inF: ins[1]!, tIdx: 0 });
    }
    group.sort((p, q) => p.m.index - q.m.index);
    const e = this.e;
    const [pn, pk] = parseInput(pred);
    const cond = e.tf(this.get(pn)[pk]!);
    const build = (side: 0 | 1): { g: Emitter; imp: Imports } => {
      const be = new Emitter(`${m.name}/${side ? 'then' : 'else'}`, e.fctx);
      be.g.opsets = e.g.opsets;
      const imp: Imports = { map: new Map(), outer: [] };
      const sc = new Scope(be, this.frame, this, this.frames, this.convert, imp, { pred, side, inside: new Map() });
      const outs = group.map((x) => be.tf(sc.out(side ? x.inT : x.inF, x.m)));
      distinctOutputs(be, outs);
      be.b.output(...outs);
      return { g: be, imp };
    };
    const t = build(1);
    const f = build(0);
    // both branches capture the same outer values, in one order
    const all = [...new Set([...t.imp.outer, ...f.imp.outer])];
    for (const b of [t, f]) {
      b.g.g.captures = all.map((id) => b.imp.map.get(id) ?? b.g.g.addValue(e.g.value(id).name, e.type(id)).id);
    }
    const res = e.opN('If', [cond, ...all], group.length, { then_branch: t.g.g, else_branch: f.g.g }, `${m.name}/if`);
    const taken = e.op('Cast', [cond], { to: ONNX_DTYPE['i32'] }, `${m.name}/taken`);
    group.forEach((x, k) => {
      const idx = x.tIdx === 1 ? taken : e.op('Sub', [e.scalar(`${x.m.name}/one`, 'i32', 1), taken], {}, `${x.m.name}/value_index`);
      e.g.value(res[k]!).name = x.m.name;
      this.memo.set(x.m.name, [{ tf: res[k]! }, { tf: idx }]);
    });
  }

  /** Converts while frame `f` (nested directly in this scope's frame) into a Loop node. */
  private convertLoop(f: Frame): void {
    if (!f.loopCond) throw invalid(`while frame "${f.name}" has no LoopCond`);
    for (const v of f.vars) if (!v.sw) throw invalid(`loop variable "${v.merge.name}" has no Switch`, { node: v.merge.name });
    const e = this.e;
    const inits = f.vars.map((v) => this.out(dataInputs(v.enter)[0] ?? '', v.enter));
    // classify the loop variables
    type Kind = 'carried' | 'invariant' | 'scan';
    const kinds: Kind[] = f.vars.map((v, k) => {
      const nextIn = dataInputs(v.next)[0] ?? '';
      if (this.isSwitchTrue(nextIn, v)) return 'invariant';
      const init = inits[k]!;
      if (init.list) {
        const set = this.frames.node(parseInput(this.source(nextIn))[0]);
        if (init.list.kind === 'reserve' && set?.op === 'TensorListSetItem' && this.isSwitchTrue(dataInputs(set)[0] ?? '', v)) return 'scan';
        throw unsupported(`TensorList loop variable "${v.merge.name}" is not written once per iteration at the iteration index`, { node: v.merge.name });
      }
      return 'carried';
    });
    // initial condition: the condition subgraph on the initial values, in this graph
    const c0 = new Scope(e, f, this, this.frames, this.convert);
    f.vars.forEach((v, k) => {
      c0.bind(v.merge.name, [inits[k]!]);
      c0.bind(v.sw!.name, [inits[k]!, inits[k]!]);
    });
    // the iteration index a scan list is written at must be a counter from 0 by 1
    const counters = f.vars.filter((v, k) => kinds[k] === 'carried' && this.isCounter(v, inits[k]!, c0));
    f.vars.forEach((v, k) => {
      if (kinds[k] !== 'scan') return;
      const set = this.frames.node(parseInput(this.source(dataInputs(v.next)[0]!))[0])!;
      const idx = dataInputs(set)[1] ?? '';
      if (!counters.some((cv) => this.isSwitchTrue(idx, cv))) {
        throw unsupported(`TensorListSetItem "${set.name}" does not write at the iteration index (a loop counter from 0 by 1)`, { node: set.name });
      }
    });

    const condIn = dataInputs(f.loopCond!)[0] ?? '';
    const cond0 = e.tf(c0.out(condIn, f.loopCond!));

    // the body
    const be = new Emitter(`${f.name}/body`, e.fctx);
    be.g.opsets = e.g.opsets;
    const imports: Imports = { map: new Map(), outer: [] };
    const body = new Scope(be, f, this, this.frames, this.convert, imports);
    be.b.input(`${f.name}/iteration`, 'i64', []);
    be.b.input(`${f.name}/cond`, 'bool', []);
    const vals: LVal[] = f.vars.map((v, k) => {
      const kind = kinds[k]!;
      const init = inits[k]!;
      if (kind === 'invariant') return body.import(init);
      if (kind === 'scan') return { list: { kind: 'reserve', node: v.merge.name } };
      const t = e.type(e.tf(init));
      return { tf: be.b.input(v.merge.name, t.dtype, t.shape) };
    });
    f.vars.forEach((v, k) => {
      body.bind(v.merge.name, [vals[k]!]);
      body.bind(v.sw!.name, [vals[k]!, vals[k]!]);
    });
    const nexts: LVal[] = f.vars.map((v, k) => (kinds[k] === 'carried' ? body.out(dataInputs(v.next)[0]!, v.next) : vals[k]!));
    // the body was converted with the initial types: a variable whose type changes across
    // iterations would make shape-dependent conversions (SAME pads, Split sizes...) wrong
    f.vars.forEach((v, k) => {
      if (kinds[k] !== 'carried') return;
      const a = be.type(be.tf(vals[k]!));
      const b = be.type(be.tf(nexts[k]!));
      if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
        throw unsupported(`loop variable "${v.merge.name}" changes type across iterations (${a.dtype}[${a.shape.join(',')}] -> ${b.dtype}[${b.shape.join(',')}])`, { node: v.merge.name });
      }
    });
    const scanItems: ValueId[] = [];
    f.vars.forEach((v, k) => {
      if (kinds[k] !== 'scan') return;
      const set = this.frames.node(parseInput(this.source(dataInputs(v.next)[0]!))[0])!;
      scanItems.push(be.tf(body.out(dataInputs(set)[2] ?? '', set)));
    });
    const c1 = body.fork();
    f.vars.forEach((v, k) => {
      c1.bind(v.merge.name, [nexts[k]!]);
      c1.bind(v.sw!.name, [nexts[k]!, nexts[k]!]);
    });
    const cond1 = be.tf(c1.out(condIn, f.loopCond!));
    const carriedIdx = f.vars.map((_, k) => k).filter((k) => kinds[k] === 'carried');
    const outs = [cond1, ...carriedIdx.map((k) => be.tf(nexts[k]!)), ...scanItems];
    distinctOutputs(be, outs);
    const carriedInit = carriedIdx.map((k) => e.tf(inits[k]!));
    const bodyIns = be.g.inputs.slice(2);
    const trip = foldTripCount(e.g, cond0, carriedInit, be.g, outs[0]!, bodyIns, outs.slice(1, 1 + carriedIdx.length));
    let loopHead: (ValueId | null)[] = [null, cond0];
    if (trip !== undefined) {
      // a constant trip count: Loop(M = trip, cond = true) with the condition passed through, so
      // shapes after the loop are static; the body's condition nodes are dead
      loopHead = [e.i64(`${f.name}/trip_count`, [trip], true), e.const(`${f.name}/true`, Tensor.from('bool', [], [1]))];
      outs[0] = be.g.inputs[1]!;
    }
    be.b.output(...outs);
    removeDeadNodes(be.g);
    const res = e.opN('Loop', [...loopHead, ...carriedInit, ...imports.outer], carriedIdx.length + scanItems.length, { body: be.g }, f.name);
    // bind the Exits
    let s = 0;
    f.vars.forEach((v, k) => {
      if (!v.exit) {
        if (kinds[k] === 'scan') s++;
        return;
      }
      const kind = kinds[k]!;
      let out: LVal;
      if (kind === 'carried') out = { tf: res[carriedIdx.indexOf(k)]! };
      else if (kind === 'scan') out = { list: { kind: 'stacked', value: res[carriedIdx.length + s++]! } };
      else out = inits[k]!;
      this.memo.set(v.exit.name, [out]);
    });
  }
}
