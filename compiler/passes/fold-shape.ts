/**
 * fold-shape: Shape and Size of a value whose shape is fully known become constants, so
 * Shape -> Gather -> Concat -> Reshape chains fold away with const-fold.
 */
import { Graph } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, makeConst } from '../rewrite/pattern.js';

function knownDims(g: Graph, id: number | null | undefined): number[] | undefined {
  if (id === null || id === undefined) return undefined;
  const s = g.typeOf(id).shape;
  return s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

// Shape(x: T[d0..dr-1], start, end) -> const i64 [d_start..d_end-1]
const shapeOfKnown: Rule = {
  name: 'shape-of-known',
  ops: ['Shape'],
  rewrite(n, g) {
    const dims = knownDims(g, n.inputs[0]);
    if (!dims) return false;
    const r = dims.length;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clamp(typeof n.attrs['start'] === 'number' ? n.attrs['start'] : 0);
    const end = clamp(typeof n.attrs['end'] === 'number' ? n.attrs['end'] : r);
    const sel = dims.slice(start, Math.max(start, end));
    g.removeNode(n.id);
    makeConst(g, n.outputs[0]!, Tensor.from('i64', [sel.length], sel));
    return true;
  },
};

// Size(x: T[d0..dr-1]) -> const i64 scalar prod(d)
const sizeOfKnown: Rule = {
  name: 'size-of-known',
  ops: ['Size'],
  rewrite(n, g) {
    const dims = knownDims(g, n.inputs[0]);
    if (!dims) return false;
    g.removeNode(n.id);
    makeConst(g, n.outputs[0]!, Tensor.scalar('i64', dims.reduce((a, d) => a * d, 1)));
    return true;
  },
};

export const foldShape: Pass = {
  name: 'fold-shape',
  description: 'replace Shape/Size of statically shaped values with constants',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, [shapeOfKnown, sizeOfKnown], ctx);
  },
};
