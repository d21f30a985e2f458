/**
 * fuse-activation: Conv/Gemm/MatMul followed by an activation (act.ts ActKind) becomes
 * edgec.FusedConv/FusedGemm/FusedMatMul carrying `activation` and `activation_params`.
 * Only fires when the base output has no other use and the fused op is registered.
 */
import { Graph, Node } from '../ir/graph.js';
import { isFloat } from '../ir/dtype.js';
import { ActKind } from '../ops/act.js';
import { getOp, opsetOf } from '../ops/registry.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, constScalar, producerIs, replaceNode, singleUse } from '../rewrite/pattern.js';

const FUSED: Readonly<Record<string, string>> = { Conv: 'FusedConv', Gemm: 'FusedGemm', MatMul: 'FusedMatMul' };

function num(n: Node, key: string, def: number): number {
  const v = n.attrs[key];
  return typeof v === 'number' ? v : def;
}

/** activation_params of an activation node, or undefined when they are not constant. */
function actParams(g: Graph, act: Node): number[] | undefined {
  switch (act.op as ActKind) {
    case 'Relu': case 'Sigmoid': case 'Tanh': case 'HardSwish': return [];
    case 'LeakyRelu': return [num(act, 'alpha', 0.01)];
    case 'HardSigmoid': return [num(act, 'alpha', 0.2), num(act, 'beta', 0.5)];
    case 'Clip': {
      if (opsetOf(act, g) < 11) return [num(act, 'min', -3.4028234663852886e38), num(act, 'max', 3.4028234663852886e38)];
      const lo = act.inputs[1] == null ? -Infinity : constScalar(g, act.inputs[1]);
      const hi = act.inputs[2] == null ? Infinity : constScalar(g, act.inputs[2]);
      return lo === undefined || hi === undefined ? undefined : [lo, hi];
    }
    default: return undefined;
  }
}

// Act(Base(x, ...)) -> edgec.FusedBase(x, ...) {activation=Act, activation_params=p}, Base in Conv/Gemm/MatMul
const fuseAct: Rule = {
  name: 'fuse-activation',
  ops: ['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh'],
  rewrite(act, g, ctx) {
    const x = act.inputs[0];
    const base = producerIs(g, x, 'Conv', 'Gemm', 'MatMul');
    if (!base || x == null || base.outputs.length !== 1 || !singleUse(g, ctx, x)) return false;
    const fused = FUSED[base.op]!;
    if (!getOp('edgec', fused) || !isFloat(g.typeOf(x).dtype)) return false;
    const params = actParams(g, act);
    if (!params) return false;
    g.removeNode(base.id);
    g.opsets['edgec'] ??= 1;
    replaceNode(g, act, {
      op: fused,
      domain: 'edgec',
      inputs: base.inputs,
      outputs: [act.outputs[0]!],
      attrs: { ...base.attrs, activation: act.op, activation_params: params },
      name: base.name,
    });
    return true;
  },
};

export const fuseActivation: Pass = {
  name: 'fuse-activation',
  description: 'fuse Conv/Gemm/MatMul with a following activation into edgec.Fused* ops',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, [fuseAct], ctx);
  },
};
