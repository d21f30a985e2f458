/**
 * unify-dims: binds symbolic dims that the model's declared types fix.
 *
 * An op's inference may leave a dim symbolic where the value the model declares for the same output
 * is concrete: a Slice with runtime starts/ends inside a Loop body gives `[s]`, and the Add that
 * reads it is declared `[1]`; a Loop scan output of runtime length `[trip]` feeds a Cast declared
 * `[2]`. The declared output type keeps its concrete dim (inferShapes merges them), but the symbol
 * stays on the values before it. This pass reads each node's inferred output types against the
 * stored ones: where inference gives the symbol `s` and the stored type holds `n`, the model states
 * `s = n`, so `s` is replaced by `n` in every value of the graph and of its subgraphs (a symbol names
 * one size in the scope it appears in), and inference runs again, to a fixpoint.
 *
 *   infer(node)[k][i] = s (symbolic),  type(out_k)[i] = n  ->  s := n everywhere in scope
 *
 * Symbols of the top graph's inputs are never bound this way: they are the sizes a caller chooses
 * (`--input-shape`, `--max-input-shape`), and an output declared with batch 1 must not fix them.
 * A bound size is still checked where it is produced: the wasm runtime Slice and Loop scan outputs
 * with a declared length trap when the size at run time differs, graph inputs are size-checked, and
 * ops whose sizes depend on values run through the dynamic-shape path, which re-infers from actual
 * values.
 */
import { Graph, subgraphsOf } from '../ir/graph.js';
import { Dim, TensorType } from '../ir/tensor.js';
import { inferCtxOf, inferShapes } from '../interp/interp.js';
import { opOf, opsetOf, parseAttrs } from '../ops/registry.js';
import { Pass, PassCtx } from './pass.js';

/** Most rounds of bind + re-infer (each round binds at least one symbol or stops). */
const MAX_ROUNDS = 8;

/**
 * Symbols of `g` (and of its subgraphs) that a node's stored output type fixes to a number.
 * @param g graph whose values are already inferred
 * @param out symbol -> size, filled in
 */
function collectBindings(g: Graph, out: Map<string, number>): void {
  for (const n of g.orderedNodes()) {
    let types: TensorType[];
    try {
      const def = opOf(n, g);
      types = def.infer(inferCtxOf(g, n), parseAttrs(def, n, opsetOf(n, g)));
    } catch {
      continue; // the shape-infer pass reports inference errors
    }
    // after the node's inference, which re-infers its bodies (fresh symbols) in place
    for (const b of subgraphsOf(n)) collectBindings(b, out);
    n.outputs.forEach((o, k) => {
      const t = types[k];
      const d = g.typeOf(o);
      if (!t || t.kind !== undefined || d.kind !== undefined || t.shape.length !== d.shape.length) return;
      t.shape.forEach((s, i) => {
        const v = d.shape[i];
        if (typeof s === 'string' && typeof v === 'number' && !out.has(s)) out.set(s, v);
      });
    });
  }
}

/**
 * Replaces bound symbols in every value type of `g` and its subgraphs.
 * @returns the number of values changed
 */
function substitute(g: Graph, bind: ReadonlyMap<string, number>): number {
  let changed = 0;
  const dim = (d: Dim): Dim => (typeof d === 'string' ? bind.get(d) ?? d : d);
  for (const v of g.values.values()) {
    if (!v.type.shape.some((d) => typeof d === 'string' && bind.has(d))) continue;
    v.type = { ...v.type, shape: v.type.shape.map(dim) };
    changed++;
  }
  for (const n of g.nodes.values()) for (const b of subgraphsOf(n)) changed += substitute(b, bind);
  return changed;
}

/**
 * Binds the symbolic dims of `g` that declared types fix (see the file comment) and re-infers.
 * @param g graph (edited in place)
 * @returns the number of value types changed
 */
export function unifyDims(g: Graph): number {
  let total = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const bind = new Map<string, number>();
    collectBindings(g, bind);
    for (const id of g.inputs) for (const d of g.typeOf(id).shape) if (typeof d === 'string') bind.delete(d);
    if (bind.size === 0) break;
    const changed = substitute(g, bind);
    if (changed === 0) break;
    total += changed;
    inferShapes(g);
  }
  return total;
}

export const unifyDimsPass: Pass = {
  name: 'unify-dims',
  description: 'bind symbolic dims that declared value types fix (s = n), then re-infer',
  requires: ['shape-infer'],
  run(g: Graph, ctx: PassCtx): boolean {
    const n = unifyDims(g);
    ctx.changes += n;
    return n > 0;
  },
};
