/**
 * Rewrite rules and small matching helpers (tinygrad PatternMatcher / MLIR patterns, kept plain).
 *
 * A rule names the root op(s) it applies to and a `rewrite` callback that inspects the root node
 * and its neighbourhood with the helpers below. It either edits the graph (through Graph methods)
 * and returns true, or returns false/null for "no match" without touching the graph.
 * Every rule carries a one-line algebra comment at its definition.
 */
import { Graph, Node, ValueId } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { normDomain } from '../ops/registry.js';

/** Context handed to a rule by the driver. */
export interface RewriteCtx {
  /** Use counts are recomputed lazily after each successful rewrite. */
  useCount(id: ValueId): number;
  /** Consumers of a value (node inputs only). */
  users(id: ValueId): Node[];
  /** True when the value is a graph output. */
  isOutput(id: ValueId): boolean;
  /** Pass-level options (e.g. maxFoldBytes). */
  options: Readonly<Record<string, unknown>>;
}

export interface Rule {
  /** kebab-case rule name (appears in stats and the don't-apply-twice key). */
  name: string;
  /** Root ops: 'Conv', 'edgec.FusedConv' (domain.op), or '*' for any node. */
  ops: readonly string[];
  /** Rewrites the match in place; true when the graph changed, false/null for no match. */
  rewrite(node: Node, g: Graph, ctx: RewriteCtx): boolean | null;
  /**
   * Optional key for the don't-apply-twice guard (default: rule name + node id + op + inputs).
   * The driver never applies a rule twice with the same key.
   */
  key?(node: Node, g: Graph): string;
}

/** `domain.op` spelling used by `Rule.ops` ('' domain: just the op). */
export function qualifiedOp(n: Node): string {
  const d = normDomain(n.domain);
  return d ? `${d}.${n.op}` : n.op;
}

/** True when rule `r` applies to node `n`'s op. */
export function ruleMatchesOp(r: Rule, n: Node): boolean {
  return r.ops.includes('*') || r.ops.includes(qualifiedOp(n));
}

/** Producer of `id` when it is a node of op `op` (default ONNX domain unless `op` is qualified). */
export function producerIs(g: Graph, id: ValueId | null | undefined, ...ops: string[]): Node | undefined {
  if (id === null || id === undefined) return undefined;
  const p = g.producerOf(id);
  return p && ops.includes(qualifiedOp(p)) ? p : undefined;
}

/** True when every present input of `n` is a constant. */
export function allConstInputs(g: Graph, n: Node): boolean {
  return n.inputs.every((x) => x === null || g.consts.has(x));
}

/** True when `id` has exactly one consumer (one node input slot) and is not a graph output. */
export function singleUse(g: Graph, ctx: RewriteCtx, id: ValueId): boolean {
  return !ctx.isOutput(id) && ctx.useCount(id) === 1;
}

/** Elements of a constant as numbers, or undefined when `id` is not constant. */
export function constNumbers(g: Graph, id: ValueId | null | undefined): number[] | undefined {
  return g.constOf(id)?.toNumbers();
}

/** The scalar value of a constant holding exactly one element. */
export function constScalar(g: Graph, id: ValueId | null | undefined): number | undefined {
  const t = g.constOf(id);
  return t && t.size === 1 ? t.get(0) : undefined;
}

/**
 * Turns node output `id` into a constant holding `t` (the node must be removed by the caller
 * or already be gone): the value keeps its id and name, so uses and graph outputs stay valid.
 */
export function makeConst(g: Graph, id: ValueId, t: Tensor): void {
  const v = g.value(id);
  delete v.producer;
  v.type = t.type;
  g.consts.set(id, t);
}

/**
 * Replaces all uses of `from` with `to` and removes `node`. Returns false (and changes nothing)
 * when that would make a graph output alias a graph input or another output.
 */
export function bypass(g: Graph, node: Node, from: ValueId, to: ValueId): boolean {
  if (g.outputs.includes(from) && (g.inputs.includes(to) || g.outputs.includes(to))) return false;
  g.replaceAllUses(from, to);
  g.removeNode(node.id);
  return true;
}

/**
 * Removes `old` and adds `spec` at its position in `order`; the new node may reuse `old`'s
 * outputs (their producer moves to the new node), so uses and graph outputs stay valid.
 */
export function replaceNode(g: Graph, old: Node, spec: Parameters<Graph['addNode']>[0]): Node {
  const idx = g.order.indexOf(old.id);
  g.removeNode(old.id);
  return g.addNode(spec, g.order[idx]);
}

/** Moves the outputs of `from` to `to` (positionally), leaving `to`'s previous outputs dangling. */
export function takeOutputs(g: Graph, to: Node, outs: readonly ValueId[]): void {
  for (const o of to.outputs) {
    const v = g.values.get(o);
    if (v && v.producer === to.id) delete v.producer;
  }
  to.outputs = [...outs];
  for (const o of outs) g.value(o).producer = to.id;
}
