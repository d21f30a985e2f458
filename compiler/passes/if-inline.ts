/**
 * if-inline: an `If` whose condition is a constant (a bound input, a folded comparison, a folded
 * shape) is replaced by the nodes of the branch it takes. The branch's values get fresh ids in the
 * enclosing graph; its captures (outer-scope references) are wired to the node's implicit inputs,
 * its constants become constants of the enclosing graph, and its outputs take the place of the
 * node's outputs. Nodes of the inlined branch keep their own subgraphs (a nested If, a Loop), whose
 * captures are already bound to the inlined node's implicit inputs, so they follow unchanged.
 *
 * The pass iterates with fold-shape and const-fold: what the inlined branch computes from constants
 * folds, which may make the condition of a nested If constant, which is inlined in turn. Subgraphs
 * (Loop/Scan bodies, the branches of a runtime If) that hold an If get the same rewrite: small
 * constants they read from outside (a bound `sr`) are copied in as their own constants, folded there,
 * and Ifs whose conditions become constant are inlined.
 */
import { Graph, Node, ValueId, implicitInputCount, subgraphsOf } from '../ir/graph.js';
import { inferShapes } from '../interp/interp.js';
import { internal } from '../errors.js';
import { Rule, makeConst } from '../rewrite/pattern.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { constFold } from './const-fold.js';
import { foldShape } from './fold-shape.js';

/** Rounds of inline -> fold before the pass gives up on reaching a fixpoint (nesting depth). */
const MAX_ROUNDS = 64;

/**
 * The branch an If node takes when its condition is a one-element constant, else undefined.
 * @param g the graph holding `n` @param n an If node
 */
export function takenBranch(g: Graph, n: Node): Graph | undefined {
  const c = n.inputs[0];
  const cond = c === null || c === undefined ? undefined : g.consts.get(c);
  if (!cond || cond.size !== 1) return undefined;
  const thenB = n.attrs['then_branch'];
  const elseB = n.attrs['else_branch'];
  if (!(thenB instanceof Graph) || !(elseB instanceof Graph)) return undefined;
  if (thenB.outputs.length !== n.outputs.length || elseB.outputs.length !== n.outputs.length) return undefined;
  if (thenB.inputs.length !== 0 || elseB.inputs.length !== 0) return undefined;
  const b = cond.get(0) !== 0 ? thenB : elseB;
  if (b.captures.length !== implicitInputCount(n)) return undefined;
  return b;
}

/**
 * Copies the nodes of branch `b` of If node `n` into `g` in front of `n` and rewires `n`'s outputs
 * to the branch's outputs; `n` is removed.
 * @param g graph holding `n` @param n the If node @param b the branch it takes
 */
export function inlineBranch(g: Graph, n: Node, b: Graph): void {
  const k = implicitInputCount(n);
  const implicit = n.inputs.slice(n.inputs.length - k);
  const map = new Map<ValueId, ValueId>();
  b.captures.forEach((c, i) => map.set(c, implicit[i]!));
  for (const [id, t] of b.consts) map.set(id, g.addConst(b.value(id).name, t).id);
  // A branch output produced by a branch node is produced straight into the node's output value
  // (first occurrence only), so uses and graph outputs of the If stay as they are.
  const claimed = new Map<ValueId, ValueId>();
  b.outputs.forEach((o, i) => {
    if (b.value(o).producer !== undefined && !claimed.has(o)) claimed.set(o, n.outputs[i]!);
  });
  for (const bn of b.orderedNodes()) {
    const outputs = bn.outputs.map((o) => {
      const v = b.value(o);
      const outer = claimed.get(o);
      if (outer !== undefined) {
        g.value(outer).type = v.type;
        map.set(o, outer);
        return outer;
      }
      const id = g.addValue(v.name, v.type).id;
      map.set(o, id);
      return id;
    });
    const inputs = bn.inputs.map((x) => {
      if (x === null) return null;
      const m = map.get(x);
      if (m === undefined) throw internal(`if-inline: branch value %${x} read by "${bn.name}" is not defined in the branch`, { node: n.name, op: 'If' });
      return m;
    });
    g.addNode({ op: bn.op, domain: bn.domain, inputs, outputs, attrs: bn.attrs, name: bn.name, ...(bn.meta ? { meta: { ...bn.meta } } : {}) }, n.id);
  }
  // Outputs that are captures, constants or repeats of an earlier output.
  const at = g.order.indexOf(n.id);
  g.removeNode(n.id);
  b.outputs.forEach((o, i) => {
    const out = n.outputs[i]!;
    if (claimed.get(o) === out) return;
    const t = b.consts.get(o);
    if (t) {
      makeConst(g, out, t);
      return;
    }
    const src = map.get(o);
    if (src === undefined) throw internal(`if-inline: branch output %${o} is not defined in the branch`, { node: n.name, op: 'If' });
    if (!g.outputs.includes(out)) {
      g.replaceAllUses(out, src);
      return;
    }
    // A graph output keeps its value and name: Identity(src) -> out (remove-identity or the
    // target's aliasing handles it).
    g.addNode({ op: 'Identity', inputs: [src], outputs: [out], name: `${n.name}/output_${i}` }, g.order[at]);
  });
}

// If(c){then, else} with c a constant -> the nodes of (c != 0 ? then : else), captures wired to
// the node's implicit inputs, branch outputs in place of the node's outputs
const inlineConstIf: Rule = {
  name: 'inline-const-if',
  ops: ['If'],
  rewrite(n, g) {
    const b = takenBranch(g, n);
    if (!b) return false;
    inlineBranch(g, n, b);
    return true;
  },
};

/** Largest constant (elements) copied into a subgraph that reads it: scalars, shapes, small masks. */
const SMALL_CONST = 64;

/** True when `g` or a subgraph of it holds an If node. */
function holdsIf(g: Graph): boolean {
  return g.orderedNodes().some((n) => n.op === 'If' || subgraphsOf(n).some(holdsIf));
}

/**
 * Small constants that node `n`'s subgraphs read through captures become constants of those
 * subgraphs (the capture and its implicit input are removed), so conditions computed from them
 * inside can fold. Only for subgraphs that hold an If (the rewrite exists to decide them).
 * @returns true when any capture was replaced
 */
function constCapturesIntoSubgraphs(g: Graph, n: Node): boolean {
  const sgs = subgraphsOf(n);
  if (sgs.length === 0 || !sgs.some(holdsIf)) return false;
  const k = implicitInputCount(n);
  if (sgs.some((sg) => sg.captures.length !== k)) return false;
  const base = n.inputs.length - k;
  let changed = false;
  for (let j = k - 1; j >= 0; j--) {
    const id = n.inputs[base + j];
    const t = id === null || id === undefined ? undefined : g.consts.get(id);
    if (!t || t.size > SMALL_CONST) continue;
    for (const sg of sgs) {
      const c = sg.captures[j]!;
      sg.captures.splice(j, 1);
      sg.consts.set(c, t);
      sg.value(c).type = t.type;
    }
    n.inputs.splice(base + j, 1);
    changed = true;
  }
  return changed;
}

/**
 * Inlines constant-condition Ifs in every subgraph of `g` (recursively), after copying small
 * constant captures in and folding inside; true when any changed.
 */
function inlineInSubgraphs(g: Graph, ctx: PassCtx): boolean {
  let changed = false;
  for (const n of g.orderedNodes()) {
    const copied = constCapturesIntoSubgraphs(g, n);
    changed ||= copied;
    for (const sg of subgraphsOf(n)) {
      let here = copied;
      if (copied) {
        foldShape.run(sg, ctx);
        constFold.run(sg, ctx);
      }
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (!runRules(sg, [inlineConstIf], ctx)) break;
        here = true;
        foldShape.run(sg, ctx);
        constFold.run(sg, ctx);
      }
      if (inlineInSubgraphs(sg, ctx)) here = true;
      // constants the folds and inlining left unread (dce does not enter subgraphs)
      if (here) sg.removeUnusedValues();
      changed ||= here;
    }
  }
  return changed;
}

export const ifInline: Pass = {
  name: 'if-inline',
  description: 'replace an If whose condition is a constant by the nodes of the branch it takes (iterates with constant folding)',
  requires: ['const-fold'],
  run(g: Graph, ctx: PassCtx): boolean {
    let any = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (!runRules(g, [inlineConstIf], ctx)) break;
      any = true;
      inferShapes(g);
      // fold what the inlined branches compute from constants: a nested condition may become known
      foldShape.run(g, ctx);
      constFold.run(g, ctx);
    }
    if (inlineInSubgraphs(g, ctx)) {
      any = true;
      inferShapes(g);
    }
    return any;
  },
};
