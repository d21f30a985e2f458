/** shape-infer: recomputes every node output type with the ops' inference (interp/inferShapes). */
import { Graph } from '../ir/graph.js';
import { typeStr } from '../ir/print.js';
import { inferShapes } from '../interp/interp.js';
import { Pass, PassCtx } from './pass.js';

export const shapeInfer: Pass = {
  name: 'shape-infer',
  description: 'infer dtypes and shapes of every value',
  run(g: Graph, ctx: PassCtx): boolean {
    const before = new Map<number, string>();
    for (const v of g.values.values()) before.set(v.id, typeStr(v.type));
    inferShapes(g);
    let changed = 0;
    for (const v of g.values.values()) if (before.get(v.id) !== typeStr(v.type)) changed++;
    ctx.changes += changed;
    return changed > 0;
  },
};
