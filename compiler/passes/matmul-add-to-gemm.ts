/** matmul-add-to-gemm: a 2-D MatMul with constant weights followed by a bias Add becomes one Gemm. */
import { Graph } from '../ir/graph.js';
import { isFloat } from '../ir/dtype.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, producerIs, replaceNode, singleUse } from '../rewrite/pattern.js';

// Add(MatMul(A[M,K], B[K,N]), C) -> Gemm(A, B, C), B and C const, C unidirectionally broadcastable to [M,N]
const matmulAddToGemm: Rule = {
  name: 'matmul-add-to-gemm',
  ops: ['Add'],
  rewrite(add, g, ctx) {
    for (const side of [0, 1]) {
      const y = add.inputs[side];
      const c = add.inputs[1 - side];
      if (y == null || c == null) continue;
      const mm = producerIs(g, y, 'MatMul');
      if (!mm || !singleUse(g, ctx, y)) continue;
      const a = g.typeOf(mm.inputs[0]!);
      const b = g.constOf(mm.inputs[1]);
      const bias = g.constOf(c);
      if (!b || !bias || a.shape.length !== 2 || b.shape.length !== 2 || !isFloat(b.dtype)) continue;
      if (bias.dtype !== b.dtype || a.dtype !== b.dtype) continue;
      const out = g.typeOf(y).shape;
      if (bias.shape.length > 2) continue;
      // Gemm's C broadcasts one way only: each of its trailing dims must be 1 or match [M, N].
      const ok = bias.shape.every((d, i) => d === 1 || d === out[out.length - bias.shape.length + i]);
      if (!ok) continue;
      g.removeNode(mm.id);
      replaceNode(g, add, {
        op: 'Gemm', inputs: [mm.inputs[0]!, mm.inputs[1]!, c], outputs: [add.outputs[0]!], name: mm.name,
      });
      return true;
    }
    return false;
  },
};

export const matmulAddToGemmPass: Pass = {
  name: 'matmul-add-to-gemm',
  description: 'merge a 2-D MatMul with constant weights and a bias Add into Gemm',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, [matmulAddToGemm], ctx);
  },
};
