/**
 * Graph verifier (tinygrad spec.py / tract's model checks). Runs after every pass in tests and
 * in `--verify` mode. Every failure is an 'internal' EdgecError naming the node: a pass broke
 * an invariant, which is a bug in edgec rather than in the model.
 */
import { Graph, Node, NodeId, ValueId, explicitInputs, subgraphsOf } from './graph.js';
import { EdgecError, ErrorContext } from '../errors.js';
import { getOp } from '../ops/registry.js';

/** A verifier failure ('internal' kind; `ctx.node`/`ctx.op` name the offending node). */
export class VerifyError extends EdgecError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('internal', `verify: ${message}`, ctx);
    this.name = 'VerifyError';
  }
}

export interface VerifyOptions {
  /** Name of the pass that just ran (added to the error context). */
  pass?: string;
}

/**
 * Checks the structural invariants of `g`; throws a VerifyError on the first violation.
 * Invariants: single producer per value and matching `producer` links; every referenced value
 * exists; SSA order (each input defined before use in `order`, hence no cycles); `order` lists
 * every node exactly once; graph outputs are defined; node outputs have types; consts are not
 * produced by nodes and are not graph inputs; node arity matches the registered op (counting
 * explicit inputs). Subgraphs are verified recursively: captures are plain values (no producer,
 * not inputs or consts), every subgraph of a node captures the same number of values, and the
 * node has that many trailing (implicit) inputs, none omitted.
 * @param g the graph to check
 * @param opts context added to errors
 */
export function verify(g: Graph, opts: VerifyOptions = {}): void {
  verifyGraph(g, opts, 0);
}

function verifyGraph(g: Graph, opts: VerifyOptions, depth: number): void {
  const fail = (msg: string, n?: Node): never => {
    const ctx: ErrorContext = {};
    if (n) { ctx.node = n.name; ctx.op = n.op; }
    if (opts.pass !== undefined) ctx.pass = opts.pass;
    throw new VerifyError(msg, ctx);
  };
  const vname = (id: ValueId): string => {
    const v = g.values.get(id);
    return v ? `%${id} "${v.name}"` : `%${id}`;
  };

  // order lists every node exactly once
  const inOrder = new Set<NodeId>();
  for (const id of g.order) {
    if (!g.nodes.has(id)) fail(`order lists node ${id}, which does not exist`);
    if (inOrder.has(id)) fail(`order lists node ${id} twice`, g.node(id));
    inOrder.add(id);
  }
  for (const n of g.nodes.values()) if (!inOrder.has(n.id)) fail('node is missing from order', n);

  // values: map keys, consts and inputs
  for (const [id, v] of g.values) if (v.id !== id) fail(`value map key ${id} holds value %${v.id}`);
  const inputSet = new Set<ValueId>();
  for (const id of g.inputs) {
    if (!g.values.has(id)) fail(`graph input ${id} does not exist`);
    if (inputSet.has(id)) fail(`graph input ${vname(id)} listed twice`);
    inputSet.add(id);
    if (g.consts.has(id)) fail(`graph input ${vname(id)} is also a const`);
    if (g.value(id).producer !== undefined) fail(`graph input ${vname(id)} has a producer`);
  }
  const captureSet = new Set<ValueId>();
  for (const id of g.captures) {
    if (!g.values.has(id)) fail(`capture ${id} does not exist`);
    if (captureSet.has(id) || inputSet.has(id)) fail(`capture ${vname(id)} is listed twice or is also a graph input`);
    captureSet.add(id);
    if (g.consts.has(id)) fail(`capture ${vname(id)} is also a const`);
    if (g.value(id).producer !== undefined) fail(`capture ${vname(id)} has a producer`);
  }
  for (const [id, t] of g.consts) {
    if (!g.values.has(id)) fail(`const ${id} has no value`);
    const ty = g.value(id).type;
    if (ty.dtype !== t.dtype || ty.shape.length !== t.shape.length || ty.shape.some((d, i) => d !== t.shape[i])) {
      fail(`const ${vname(id)} type does not match its tensor`);
    }
  }

  // producers: each value produced by at most one node, and producer links agree
  const producedBy = new Map<ValueId, Node>();
  for (const n of g.nodes.values()) {
    for (const o of n.outputs) {
      if (!g.values.has(o)) fail(`output ${o} does not exist`, n);
      const prev = producedBy.get(o);
      if (prev) fail(`value ${vname(o)} has two producers ("${prev.name}" and this node)`, n);
      producedBy.set(o, n);
      if (g.consts.has(o)) fail(`const ${vname(o)} is also produced by a node`, n);
      if (inputSet.has(o)) fail(`graph input ${vname(o)} is also produced by a node`, n);
      if (captureSet.has(o)) fail(`capture ${vname(o)} is also produced by a node`, n);
      const v = g.value(o);
      if (v.producer !== n.id) fail(`value ${vname(o)} records producer ${v.producer ?? 'none'}, not this node`, n);
      if (!v.type || !v.type.dtype || !Array.isArray(v.type.shape)) fail(`output ${vname(o)} has no type`, n);
    }
  }
  for (const v of g.values.values()) {
    if (v.producer !== undefined && producedBy.get(v.id)?.id !== v.producer) {
      const p = g.nodes.get(v.producer);
      fail(`value ${vname(v.id)} names producer ${v.producer}, which does not output it`, p);
    }
  }

  // SSA order: inputs defined before use (this also rules out cycles)
  const defined = new Set<ValueId>([...g.inputs, ...g.captures, ...g.consts.keys()]);
  for (const id of g.order) {
    const n = g.node(id);
    n.inputs.forEach((x, k) => {
      if (x === null) return;
      if (!g.values.has(x)) fail(`input ${k} refers to missing value %${x}`, n);
      if (!defined.has(x)) {
        const p = producedBy.get(x);
        if (!p) return fail(`input ${k} ${vname(x)} is not a graph input, const or node output`, n);
        if (p.id === n.id || reaches(g, n, p)) fail(`cycle through input ${k} ${vname(x)}`, n);
        fail(`input ${k} ${vname(x)} is used before it is produced (by "${p.name}")`, n);
      }
    });
    for (const o of n.outputs) defined.add(o);
    checkSubgraphs(n, fail, opts, depth);
    checkArity(n, fail);
  }
  for (const o of g.outputs) {
    if (!g.values.has(o)) fail(`graph output ${o} does not exist`);
    if (!defined.has(o)) fail(`graph output ${vname(o)} is not produced`);
  }
}

function checkArity(n: Node, fail: (m: string, n?: Node) => never): void {
  const def = getOp(n.domain, n.op);
  if (!def) return;
  const [lo, hi] = def.arity;
  const count = explicitInputs(n).length;
  if (count < lo || count > hi) {
    fail(`${n.op} takes ${lo}..${hi === Infinity ? 'n' : hi} inputs, got ${count}`, n);
  }
}

/** Subgraph invariants of one node, then each subgraph recursively. */
function checkSubgraphs(n: Node, fail: (m: string, n?: Node) => never, opts: VerifyOptions, depth: number): void {
  const bodies = subgraphsOf(n);
  if (!bodies.length) return;
  if (depth >= 1000) fail('subgraphs are nested too deeply', n);
  const caps = bodies[0]!.captures.length;
  if (bodies.some((b) => b.captures.length !== caps)) fail('its subgraphs capture different numbers of values', n);
  if (caps > n.inputs.length) fail(`its subgraphs capture ${caps} values but it has ${n.inputs.length} inputs`, n);
  n.inputs.slice(n.inputs.length - caps).forEach((x, k) => {
    if (x === null) fail(`implicit input ${k} (bound to a subgraph capture) is omitted`, n);
  });
  for (const b of bodies) {
    try {
      verifyGraph(b, opts, depth + 1);
    } catch (e) {
      if (e instanceof VerifyError) throw new VerifyError(`${e.message.replace(/^verify: /, '')} (in subgraph "${b.name}" of node "${n.name}")`, e.ctx);
      throw e;
    }
  }
}

/** True when `to` depends (transitively) on `from`; with `from` consuming `to`, that is a cycle. */
function reaches(g: Graph, from: Node, to: Node): boolean {
  const seen = new Set<NodeId>();
  const stack: Node[] = [to];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.id === from.id) return true;
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    for (const x of n.inputs) {
      if (x === null) continue;
      const p = g.values.get(x)?.producer;
      if (p !== undefined && g.nodes.has(p)) stack.push(g.node(p));
    }
  }
  return false;
}
