/**
 * WebGPU lowerings of the matmul family (compiler/ops/matmul.ts): Gemm / MatMul (and their fused
 * forms) on the tiled GEMM kernel, or the direct kernel for skinny products.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { broadcastStrides, gemmBias, gemmSpec } from '../../common/params.js';
import { GemmParams } from '../kernels/gemm.js';
import { LowerCtx, LowerFn, Operand, fusedAct, val } from '../ctx.js';

/** Tiled GEMM, or the direct kernel for skinny products (M < 8) that would leave tiles mostly idle. */
function emitGemm(c: LowerCtx, p: Omit<GemmParams, 'bufs'>, ops: Record<string, Operand>): void {
  c.emit(p.M < 8 ? 'gemm_direct_f32' : 'gemm_tiled_f32', p as unknown as Record<string, unknown>, ops);
}

function lowerGemm(c: LowerCtx, n: Node): void {
  const [aId, bId, cId] = n.inputs;
  const y = n.outputs[0]!;
  const as = c.shape(aId!);
  const bs = c.shape(bId!);
  if (as.length !== 2 || bs.length !== 2) throw c.unsupported('Gemm inputs must be 2-D');
  const { transA, transB, alpha, beta, M, K, N } = gemmSpec(c, n, as, bs);
  const ops: Record<string, Operand> = { a: c.op(aId!), b: c.op(bId!), y: val(y) };
  let bias: GemmParams['bias'] = 'none';
  let bBeta = 1;
  if (cId != null && beta !== 0) {
    bias = gemmBias(c.shape(cId), M, N);
    const ct = c.consts.get(cId);
    if (ct) ops['c'] = c.blob(Float32Array.from(c.f32Data(ct), (v) => v * beta));
    else {
      ops['c'] = c.op(cId);
      bBeta = beta;
    }
  }
  emitGemm(c, {
    M, N, K, batch: [], sa: transA ? [1, M] : [K, 1], sb: transB ? [1, K] : [N, 1], na: numel(as), nb: numel(bs),
    alpha, bias, beta: bBeta, act: fusedAct(n),
  }, ops);
}

function lowerMatMul(c: LowerCtx, n: Node): void {
  const [aId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const as = c.shape(aId!);
  const bs = c.shape(bId!);
  const a2 = as.length === 1 ? [1, as[0]!] : as;
  const b2 = bs.length === 1 ? [bs[0]!, 1] : bs;
  const M = a2[a2.length - 2]!, K = a2[a2.length - 1]!, N = b2[b2.length - 1]!;
  if (b2[b2.length - 2] !== K) throw c.unsupported(`MatMul inner dims differ: [${as.join(',')}] x [${bs.join(',')}]`);
  const ab = a2.slice(0, -2);
  const bb = b2.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = ab[i - (r - ab.length)] ?? 1;
    const db = bb[i - (r - bb.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw c.unsupported(`MatMul batch dims do not broadcast: [${as.join(',')}] x [${bs.join(',')}]`);
    batch.push(Math.max(da, db));
  }
  const sa = [...broadcastStrides(ab, batch).map((s) => s * M * K), K, 1];
  const sb = [...broadcastStrides(bb, batch).map((s) => s * K * N), N, 1];
  emitGemm(c, { M, N, K, batch, sa, sb, na: numel(as), nb: numel(bs), alpha: 1, bias: 'none', beta: 1, act: fusedAct(n) },
    { a: c.op(aId!), b: c.op(bId!), y: val(y) });
}

/** Matmul-family lowerings by qualified op name. */
export const MATMUL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Gemm: lowerGemm, 'edgec.FusedGemm': lowerGemm, MatMul: lowerMatMul, 'edgec.FusedMatMul': lowerMatMul,
};
