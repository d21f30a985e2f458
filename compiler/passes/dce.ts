/** dce: removes nodes whose outputs are never used, then values and consts nothing references. */
import { Graph, ValueId } from '../ir/graph.js';
import { Pass, PassCtx } from './pass.js';

/** Ops with effects beyond their outputs (never removed). None exist in the IR today. */
const EFFECTFUL = new Set<string>();

export const dce: Pass = {
  name: 'dce',
  description: 'remove dead nodes, values and unused constants',
  run(g: Graph, ctx: PassCtx): boolean {
    const useCount = new Map<ValueId, number>();
    const bump = (id: ValueId, d: number): void => {
      useCount.set(id, (useCount.get(id) ?? 0) + d);
    };
    for (const o of g.outputs) bump(o, 1);
    for (const n of g.nodes.values()) for (const x of n.inputs) if (x !== null) bump(x, 1);
    let removed = 0;
    // Reverse order: a node's consumers are visited (and possibly removed) before it.
    for (const id of [...g.order].reverse()) {
      const n = g.node(id);
      if (EFFECTFUL.has(n.op)) continue;
      if (n.outputs.some((o) => (useCount.get(o) ?? 0) > 0)) continue;
      for (const x of n.inputs) if (x !== null) bump(x, -1);
      g.removeNode(id);
      removed++;
    }
    const before = g.values.size;
    g.removeUnusedValues();
    const changes = removed + (before - g.values.size);
    ctx.changes += changes;
    return changes > 0;
  },
};
