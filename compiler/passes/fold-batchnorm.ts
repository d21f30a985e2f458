/**
 * fold-batchnorm: BatchNormalization (inference) folded into a preceding Conv, ConvTranspose,
 * Gemm or MatMul with constant weights; any other BN becomes a per-channel Mul + Add with
 * constant scale and shift. With s = gamma / sqrt(var + eps) and t = beta - mu * s:
 * BN(x) = x * s + t (per channel, axis 1).
 */
import { Graph, Node, ValueId } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { isFloat } from '../ir/dtype.js';
import { Pass, PassCtx, runRules } from './pass.js';
import { Rule, RewriteCtx, producerIs, replaceNode, takeOutputs, singleUse } from '../rewrite/pattern.js';
import { opsetOf } from '../ops/registry.js';

interface BnParams {
  /** Per-channel scale s = gamma / sqrt(var + eps). */
  s: Float64Array;
  /** Per-channel shift t = beta - mu * s. */
  t: Float64Array;
  mean: Float64Array;
  beta: Float64Array;
}

/** Reads BN's constant parameters, or undefined when BN is not a foldable inference BN. */
function bnParams(g: Graph, bn: Node, ctx: RewriteCtx): BnParams | undefined {
  if (bn.inputs.length !== 5 || bn.inputs.some((x) => x === null)) return undefined;
  for (const o of bn.outputs.slice(1)) if (ctx.useCount(o) > 0) return undefined; // training outputs used
  if (bn.attrs['training_mode'] === 1) return undefined;
  if (opsetOf(bn, g) < 9 && bn.attrs['spatial'] === 0) return undefined;
  if (!isFloat(g.typeOf(bn.inputs[0]!).dtype)) return undefined;
  const ts = bn.inputs.slice(1).map((x) => g.constOf(x));
  if (ts.some((t) => !t)) return undefined;
  const [gamma, beta, mean, variance] = ts as Tensor[];
  const c = gamma!.size;
  if (beta!.size !== c || mean!.size !== c || variance!.size !== c) return undefined;
  const eps = typeof bn.attrs['epsilon'] === 'number' ? bn.attrs['epsilon'] : 1e-5;
  const p: BnParams = { s: new Float64Array(c), t: new Float64Array(c), mean: new Float64Array(c), beta: new Float64Array(c) };
  for (let i = 0; i < c; i++) {
    p.s[i] = gamma!.get(i) / Math.sqrt(variance!.get(i) + eps);
    p.mean[i] = mean!.get(i);
    p.beta[i] = beta!.get(i);
    p.t[i] = p.beta[i]! - p.mean[i]! * p.s[i]!;
  }
  return p;
}

/** Output channel (BN axis 1) count of the BN input, when known. */
function channels(g: Graph, bn: Node): number | undefined {
  const d = g.typeOf(bn.inputs[0]!).shape[1];
  return typeof d === 'number' ? d : undefined;
}

/** A new tensor like `t` with element i set to f(i, value). */
function mapTensor(t: Tensor, f: (i: number, v: number) => number): Tensor {
  const out = Tensor.zeros(t.dtype, t.shape);
  for (let i = 0; i < t.size; i++) out.set(i, f(i, t.get(i)));
  return out;
}

/** Bias b' = (b - mu) * s + beta for C channels (b absent: zeros). */
function foldedBias(dtype: Tensor['dtype'], b: Tensor | undefined, p: BnParams): Tensor {
  const c = p.s.length;
  const out = Tensor.zeros(dtype, [c]);
  for (let i = 0; i < c; i++) out.set(i, ((b ? b.get(i) : 0) - p.mean[i]!) * p.s[i]! + p.beta[i]!);
  return out;
}

/** Finishes a fold: `base` now produces BN's output, BN is removed. */
function absorb(g: Graph, base: Node, bn: Node): void {
  g.removeNode(bn.id);
  takeOutputs(g, base, [bn.outputs[0]!]);
}

/** The producer of BN's input when it has no other use (and is not a graph output). */
function soleProducer(g: Graph, bn: Node, ctx: RewriteCtx, ...ops: string[]): Node | undefined {
  const x = bn.inputs[0]!;
  const p = producerIs(g, x, ...ops);
  return p && p.outputs.length === 1 && singleUse(g, ctx, x) ? p : undefined;
}

// BN(Conv(x,W,b)) -> Conv(x, W*s, (b-mu)*s+beta), s = gamma/sqrt(var+eps), W scaled along axis 0
const bnIntoConv: Rule = {
  name: 'bn-into-conv',
  ops: ['BatchNormalization'],
  rewrite(bn, g, ctx) {
    const conv = soleProducer(g, bn, ctx, 'Conv');
    if (!conv) return false;
    const w = g.constOf(conv.inputs[1]);
    const b = conv.inputs[2] === undefined || conv.inputs[2] === null ? undefined : g.constOf(conv.inputs[2]);
    if (!w || (conv.inputs[2] != null && !b)) return false;
    const p = bnParams(g, bn, ctx);
    const m = w.shape[0];
    if (!p || m !== p.s.length || !isFloat(w.dtype)) return false;
    const per = w.size / m;
    const w2 = mapTensor(w, (i, v) => v * p.s[Math.floor(i / per)]!);
    const b2 = foldedBias(w.dtype, b, p);
    conv.inputs = [conv.inputs[0]!, g.addConst(`${conv.name}.weight_bn`, w2).id, g.addConst(`${conv.name}.bias_bn`, b2).id];
    absorb(g, conv, bn);
    return true;
  },
};

// BN(ConvTranspose(x,W,b)) -> ConvTranspose(x, W*s, (b-mu)*s+beta), W[c, j] scaled by s[group(c)*M/g + j]
const bnIntoConvTranspose: Rule = {
  name: 'bn-into-conv-transpose',
  ops: ['BatchNormalization'],
  rewrite(bn, g, ctx) {
    const ct = soleProducer(g, bn, ctx, 'ConvTranspose');
    if (!ct) return false;
    const w = g.constOf(ct.inputs[1]);
    const b = ct.inputs[2] == null ? undefined : g.constOf(ct.inputs[2]);
    if (!w || (ct.inputs[2] != null && !b) || !isFloat(w.dtype) || w.shape.length < 2) return false;
    const p = bnParams(g, bn, ctx);
    const group = typeof ct.attrs['group'] === 'number' ? ct.attrs['group'] : 1;
    const cin = w.shape[0]!;
    const mPerGroup = w.shape[1]!;
    if (!p || mPerGroup * group !== p.s.length || cin % group !== 0) return false;
    const spatial = w.size / (cin * mPerGroup);
    const cinPerGroup = cin / group;
    const w2 = mapTensor(w, (i, v) => {
      const c = Math.floor(i / (mPerGroup * spatial));
      const j = Math.floor(i / spatial) % mPerGroup;
      return v * p.s[Math.floor(c / cinPerGroup) * mPerGroup + j]!;
    });
    const b2 = foldedBias(w.dtype, b, p);
    ct.inputs = [ct.inputs[0]!, g.addConst(`${ct.name}.weight_bn`, w2).id, g.addConst(`${ct.name}.bias_bn`, b2).id];
    absorb(g, ct, bn);
    return true;
  },
};

// BN(Gemm(A,B,C)) -> Gemm(A, B*s, (beta_g*C - mu)*s + beta, beta_g=1), B scaled per output column
const bnIntoGemm: Rule = {
  name: 'bn-into-gemm',
  ops: ['BatchNormalization'],
  rewrite(bn, g, ctx) {
    const gemm = soleProducer(g, bn, ctx, 'Gemm');
    if (!gemm || g.typeOf(bn.inputs[0]!).shape.length !== 2) return false;
    const bw = g.constOf(gemm.inputs[1]);
    const c = gemm.inputs[2] == null ? undefined : g.constOf(gemm.inputs[2]);
    if (!bw || (gemm.inputs[2] != null && !c) || !isFloat(bw.dtype) || bw.shape.length !== 2) return false;
    const p = bnParams(g, bn, ctx);
    const n = p?.s.length;
    const transB = gemm.attrs['transB'] === 1;
    if (!p || (transB ? bw.shape[0] : bw.shape[1]) !== n) return false;
    const betaG = typeof gemm.attrs['beta'] === 'number' ? gemm.attrs['beta'] : 1;
    const cols = bw.shape[1]!;
    const b2 = mapTensor(bw, (i, v) => v * p.s[transB ? Math.floor(i / cols) : i % cols]!);
    // C broadcasts to [M, N]; keep its rows (if any), make its columns N wide.
    let c2: Tensor;
    if (!c || c.size === 1 || (c.shape.length >= 1 && c.shape[c.shape.length - 1] === n && c.size === n)) {
      c2 = Tensor.zeros(bw.dtype, [n!]);
      for (let j = 0; j < n!; j++) c2.set(j, (betaG * (c ? c.get(c.size === 1 ? 0 : j) : 0) - p.mean[j]!) * p.s[j]! + p.beta[j]!);
    } else if (c.shape.length === 2) {
      const rows = c.shape[0]!;
      const cc = c.shape[1]!;
      if (cc !== 1 && cc !== n) return false;
      c2 = Tensor.zeros(bw.dtype, [rows, n!]);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < n!; j++) {
          const cv = c.get(r * cc + (cc === 1 ? 0 : j));
          c2.set(r * n! + j, (betaG * cv - p.mean[j]!) * p.s[j]! + p.beta[j]!);
        }
      }
    } else return false;
    gemm.inputs = [gemm.inputs[0]!, g.addConst(`${gemm.name}.weight_bn`, b2).id, g.addConst(`${gemm.name}.bias_bn`, c2).id];
    gemm.attrs = { ...gemm.attrs, beta: 1 };
    absorb(g, gemm, bn);
    return true;
  },
};

// BN(MatMul(x, W)) -> Add(MatMul(x, W*s), beta - mu*s), x 2-D, W const [K, N] scaled per column
const bnIntoMatMul: Rule = {
  name: 'bn-into-matmul',
  ops: ['BatchNormalization'],
  rewrite(bn, g, ctx) {
    const mm = soleProducer(g, bn, ctx, 'MatMul');
    if (!mm || g.typeOf(bn.inputs[0]!).shape.length !== 2) return false;
    const w = g.constOf(mm.inputs[1]);
    if (!w || !isFloat(w.dtype) || w.shape.length !== 2) return false;
    const p = bnParams(g, bn, ctx);
    const n = w.shape[1]!;
    if (!p || p.s.length !== n) return false;
    const w2 = mapTensor(w, (i, v) => v * p.s[i % n]!);
    const shift = Tensor.zeros(w.dtype, [n]);
    for (let j = 0; j < n; j++) shift.set(j, p.t[j]!);
    mm.inputs = [mm.inputs[0]!, g.addConst(`${mm.name}.weight_bn`, w2).id];
    const shiftId = g.addConst(`${bn.name}.shift`, shift).id;
    replaceNode(g, bn, { op: 'Add', inputs: [bn.inputs[0]!, shiftId], outputs: [bn.outputs[0]!], name: `${bn.name}.add` });
    return true;
  },
};

// BN(x) -> Add(Mul(x, s), t), s = gamma/sqrt(var+eps), t = beta - mu*s, both shaped [C, 1, ..., 1]
const bnToMulAdd: Rule = {
  name: 'bn-to-mul-add',
  ops: ['BatchNormalization'],
  rewrite(bn, g, ctx) {
    const x = bn.inputs[0]!;
    const xt = g.typeOf(x);
    const rank = xt.shape.length;
    const p = bnParams(g, bn, ctx);
    if (!p || rank < 2 || channels(g, bn) !== p.s.length) return false;
    const cshape = [p.s.length, ...new Array<number>(rank - 2).fill(1)];
    const s = Tensor.zeros(xt.dtype, cshape);
    const t = Tensor.zeros(xt.dtype, cshape);
    for (let i = 0; i < p.s.length; i++) { s.set(i, p.s[i]!); t.set(i, p.t[i]!); }
    const sId = g.addConst(`${bn.name}.scale`, s).id;
    const tId = g.addConst(`${bn.name}.shift`, t).id;
    const mulOut: ValueId = g.addValue(`${bn.name}.scaled`, g.typeOf(bn.outputs[0]!)).id;
    g.addNode({ op: 'Mul', inputs: [x, sId], outputs: [mulOut], name: `${bn.name}.mul` }, bn.id);
    replaceNode(g, bn, { op: 'Add', inputs: [mulOut, tId], outputs: [bn.outputs[0]!], name: `${bn.name}.add` });
    return true;
  },
};

export const FOLD_BATCHNORM_RULES: readonly Rule[] = [bnIntoConv, bnIntoConvTranspose, bnIntoGemm, bnIntoMatMul, bnToMulAdd];

export const foldBatchnorm: Pass = {
  name: 'fold-batchnorm',
  description: 'fold inference BatchNormalization into Conv/ConvTranspose/Gemm/MatMul weights, else Mul+Add',
  run(g: Graph, ctx: PassCtx): boolean {
    return runRules(g, FOLD_BATCHNORM_RULES, ctx);
  },
};
