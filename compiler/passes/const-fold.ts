/**
 * const-fold: evaluates nodes whose inputs are all constants with the reference kernels and turns
 * their outputs into constants. Outputs larger than `maxFoldBytes` are left to run time.
 */
import { Graph, Node } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { dtypeBits } from '../ir/dtype.js';
import { EdgecError, DEFAULT_LIMITS } from '../errors.js';
import { getOp, opsetOf, parseAttrs } from '../ops/registry.js';
import { Pass, PassCtx } from './pass.js';
import { Rule, allConstInputs, makeConst } from '../rewrite/pattern.js';
import { runRules } from './pass.js';
import { inferShapes } from '../interp/interp.js';

/** Ops that must not be folded: nondeterministic or with subgraphs. */
const NO_FOLD = new Set([
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
  'If', 'Loop', 'Scan',
]);

/** Evaluates `n` on its constant inputs; undefined when it cannot or should not be folded. */
function evalConstNode(g: Graph, n: Node, maxBytes: number): Tensor[] | undefined {
  if (NO_FOLD.has(n.op) && n.domain === '') return undefined;
  const def = getOp(n.domain, n.op);
  if (!def) return undefined;
  if (Object.values(n.attrs).some((a) => a instanceof Graph)) return undefined;
  // Refuse before running when the inferred output is already known to be too big.
  for (const o of n.outputs) {
    const t = g.typeOf(o);
    if (t.shape.every((d) => typeof d === 'number')) {
      const elems = (t.shape as number[]).reduce((a, d) => a * d, 1);
      if (elems * Math.max(1, dtypeBits(t.dtype) / 8) > maxBytes) return undefined;
    }
  }
  const opset = opsetOf(n, g);
  let outs: Tensor[];
  try {
    const a = parseAttrs(def, n, opset);
    outs = def.ref(n.inputs.map((x) => (x === null ? null : g.consts.get(x)!)), a, { opset, node: n });
  } catch (e) {
    // A kernel failure on constant inputs is left for run time, where it is reported with context.
    if (e instanceof EdgecError || e instanceof Error) return undefined;
    throw e;
  }
  if (outs.length < n.outputs.length) return undefined;
  if (outs.some((t) => t.byteSize() > maxBytes)) return undefined;
  return outs;
}

// Op(c1, ..., ck) -> c, where c = ref(Op)(c1, ..., ck) and every ci is a constant
const foldConstNode: Rule = {
  name: 'fold-const-node',
  ops: ['*'],
  rewrite(n, g, ctx) {
    if (!allConstInputs(g, n)) return false;
    const maxBytes = (ctx.options['maxFoldBytes'] as number | undefined) ?? DEFAULT_LIMITS.maxFoldBytes;
    const outs = evalConstNode(g, n, maxBytes);
    if (!outs) return false;
    g.removeNode(n.id);
    n.outputs.forEach((o, k) => makeConst(g, o, outs[k]!));
    return true;
  },
};

export const constFold: Pass = {
  name: 'const-fold',
  description: 'evaluate nodes whose inputs are all constants',
  run(g: Graph, ctx: PassCtx): boolean {
    const changed = runRules(g, [foldConstNode], ctx, { maxFoldBytes: ctx.options.maxFoldBytes ?? DEFAULT_LIMITS.maxFoldBytes });
    // Folded shapes/axes make downstream types knowable (e.g. Reshape by a folded shape).
    if (changed) inferShapes(g);
    return changed;
  },
};
