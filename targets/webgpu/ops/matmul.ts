/**
 * WebGPU lowerings of the matmul family (compiler/ops/matmul.ts): Gemm / MatMul (and their fused
 * forms) on the tiled GEMM kernel, or the direct kernel for skinny products; Einsum, Det and the
 * integer products MatMulInteger / QLinearMatMul (exact, runtime operands) on kernels/index-ops.ts.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { broadcastStrides, gemmBias, gemmSpec, matmulDims, opAttrs } from '../../common/params.js';
import { einsumPlan } from '../../../compiler/ops/matmul.js';
import type { EinsumAttrs } from '../../../compiler/ops/matmul.js';
import { stridesOf } from '../wgsl/shader.js';
import { GemmParams } from '../kernels/gemm.js';
import { LowerCtx, LowerFn, Operand, fusedAct, qelem, qop, val } from '../ctx.js';
import { ValueId } from '../../../compiler/ir/graph.js';
import { storeElem } from '../wgsl/qshader.js';
import type { StoreElem } from '../wgsl/qshader.js';
import type { MnKind, QMatMulRtParams } from '../kernels/index-ops.js';

/** Tiled GEMM, or the direct kernel for skinny products (M < 8) that would leave tiles mostly idle. */
function emitGemm(c: LowerCtx, p: Omit<GemmParams, 'bufs'>, ops: Record<string, Operand>): void {
  c.emit(p.M < 8 ? 'gemm_direct_f32' : 'gemm_tiled_f32', p as unknown as Record<string, unknown>, ops);
}

function lowerGemm(c: LowerCtx, n: Node): void {
  const [aId, bId, cId] = n.inputs;
  const y = n.outputs[0]!;
  const { as, bs, transA, transB, alpha, beta, M, K, N } = gemmSpec(c, n);
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
  const { M, K, N, batchA: ab, batchB: bb, batch } = matmulDims(c, n);
  const sa = [...broadcastStrides(ab, batch).map((s) => s * M * K), K, 1];
  const sb = [...broadcastStrides(bb, batch).map((s) => s * K * N), N, 1];
  emitGemm(c, { M, N, K, batch, sa, sb, na: numel(as), nb: numel(bs), alpha: 1, bias: 'none', beta: 1, act: fusedAct(n) },
    { a: c.op(aId!), b: c.op(bId!), y: val(y) });
}

/**
 * Einsum on f32: one thread per output element sums the products over the summed labels; each
 * operand is read through per-label strides (a label repeated in one term adds its strides: a
 * diagonal; a broadcast dim of size 1 has stride 0), as the reference kernel walks them.
 */
function lowerEinsum(c: LowerCtx, n: Node): void {
  const ins = n.inputs.map((x) => x!);
  const y = n.outputs[0]!;
  for (const x of ins) if (c.g.typeOf(x).dtype !== 'f32') throw c.unsupported(`Einsum on ${c.g.typeOf(x).dtype} is not supported on webgpu`);
  const shapes = ins.map((x) => c.shape(x));
  const p = einsumPlan(opAttrs<EinsumAttrs>(n, c.opset), shapes);
  const labels = [...p.outLabels, ...p.sumLabels];
  const strides = shapes.map((sh, k) => {
    const st = stridesOf(sh);
    return labels.map((l) => p.terms[k]!.reduce((acc, tl, i) => acc + (tl === l && sh[i] !== 1 ? st[i]! : 0), 0));
  });
  const ys = p.outLabels.map((l) => p.size.get(l) as number);
  if (numel(ys) === 0) return;
  const ops: Record<string, Operand> = { y: val(y) };
  ins.forEach((x, k) => (ops[`x${k}`] = c.op(x)));
  c.emit('einsum_f32', { ys, sums: p.sumLabels.map((l) => p.size.get(l) as number), strides }, ops);
}

/** Det: the determinant of each square matrix of the batch (one thread per matrix, f32; at most 64 x 64). */
function lowerDet(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const m = xs[xs.length - 1]!;
  if (xs.length < 2 || xs[xs.length - 2] !== m) throw c.unsupported('Det input must be a batch of square matrices');
  if (m > 64) throw c.unsupported(`Det of ${m} x ${m} matrices is not supported on webgpu (at most 64 x 64)`);
  const batch = numel(xs.slice(0, -2));
  if (batch === 0) return;
  if (m === 0) throw c.unsupported('Det of 0 x 0 matrices');
  c.emit('det_f32', { batch, n: m }, { x: c.op(x), y: val(n.outputs[0]!) });
}

/** Matmul-family lowerings by qualified op name. */
export const MATMUL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Gemm: lowerGemm, 'edgec.FusedGemm': lowerGemm, MatMul: lowerMatMul, 'edgec.FusedMatMul': lowerMatMul, Einsum: lowerEinsum, Det: lowerDet,
};

/** How a QLinearMatMul / MatMulInteger parameter broadcasts over [M, N] (1 value, M values per row, N per column). */
function mnKind(c: LowerCtx, n: Node, id: ValueId | null | undefined, what: string, M: number, N: number, rows: boolean, cols: boolean): MnKind {
  if (id == null) return 'none';
  const k = numel(c.shape(id));
  if (k === 1) return 'scalar';
  if (rows && k === M) return 'row';
  if (cols && k === N) return 'col';
  throw c.unsupported(`${n.op} ${what} has ${k} values, expected 1${rows ? `, ${M}` : ''}${cols ? ` or ${N}` : ''}`);
}

/**
 * MatMulInteger / QLinearMatMul with runtime or constant 8-bit operands on qmatmul_rt (exact i32
 * accumulation; QLinearMatMul's requantization bit-exact with the reference). 1-D operands are
 * promoted like MatMul's; batch dims broadcast.
 */
function lowerQMatMulRt(c: LowerCtx, n: Node): void {
  const ql = n.op === 'QLinearMatMul';
  const [aId, bId] = ql ? [n.inputs[0]!, n.inputs[3]!] : [n.inputs[0]!, n.inputs[1]!];
  const [azId, bzId] = ql ? [n.inputs[2], n.inputs[5]] : [n.inputs[2], n.inputs[3]];
  const y = n.outputs[0]!;
  const dt = (id: ValueId): string => c.g.typeOf(id).dtype;
  const ad = dt(aId), bd = dt(bId), yd = dt(y);
  if (!['i8', 'u8'].includes(ad) || !['i8', 'u8'].includes(bd)) throw c.unsupported(`${n.op} on ${ad} x ${bd} (8-bit operands only on webgpu)`);
  if (ql ? !['i8', 'u8'].includes(yd) : yd !== 'i32') throw c.unsupported(`${n.op} output of dtype ${yd}`);
  if (azId != null && dt(azId) !== ad) throw c.unsupported(`${n.op} a zero point dtype differs from a`);
  if (bzId != null && dt(bzId) !== bd) throw c.unsupported(`${n.op} b zero point dtype differs from b`);
  const as0 = c.shape(aId), bs0 = c.shape(bId);
  if (as0.length === 0 || bs0.length === 0) throw c.unsupported(`${n.op} on scalars`);
  const as = as0.length === 1 ? [1, as0[0]!] : as0;
  const bs = bs0.length === 1 ? [bs0[0]!, 1] : bs0;
  const M = as[as.length - 2]!, K = as[as.length - 1]!, N = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== K) throw c.unsupported(`${n.op} inner dims differ: [${as0.join(',')}] x [${bs0.join(',')}]`);
  const ab = as.slice(0, -2), bb = bs.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pad = (s: number[]): number[] => [...Array<number>(r - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ab), pad(bb)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  if (pa.some((d, i) => d !== batch[i] && d !== 1) || pb.some((d, i) => d !== batch[i] && d !== 1)) throw c.unsupported(`${n.op} batch dims do not broadcast`);
  if (numel(batch) * M * N === 0) return;
  const ops: Record<string, Operand> = { a: qop(c, aId), b: qop(c, bId), y: val(y) };
  const el = (id: ValueId | null | undefined): StoreElem => (id == null ? 'i32' : qelem(c, id, storeElem(dt(id))) as StoreElem);
  if (azId != null) ops['za'] = qop(c, azId);
  if (bzId != null) ops['zb'] = qop(c, bzId);
  let scales = { as: 'none' as MnKind, bs: 'none' as MnKind, ys: 'none' as MnKind, yz: 'none' as MnKind };
  if (ql) {
    const [asId, bsId, ysId, yzId] = [n.inputs[1]!, n.inputs[4]!, n.inputs[6]!, n.inputs[7]];
    for (const id of [asId, bsId, ysId]) if (dt(id) !== 'f32') throw c.unsupported(`${n.op} scale of dtype ${dt(id)} (f32 only on webgpu)`);
    if (yzId != null && dt(yzId) !== yd) throw c.unsupported(`${n.op} y_zero_point dtype differs from the output's`);
    scales = {
      as: mnKind(c, n, asId, 'a_scale', M, N, true, false), bs: mnKind(c, n, bsId, 'b_scale', M, N, false, true),
      ys: mnKind(c, n, ysId, 'y_scale', M, N, true, true), yz: mnKind(c, n, yzId, 'y_zero_point', M, N, true, true),
    };
    ops['scale_a'] = c.op(asId);
    ops['scale_b'] = c.op(bsId);
    ops['scale_y'] = c.op(ysId);
    if (yzId != null) ops['yz'] = qop(c, yzId);
  }
  const strides = (s: number[]): number[] => { const st = stridesOf(s); return s.map((d, i) => (d === 1 ? 0 : st[i]!)); };
  const [lo, hi] = yd === 'i8' ? [-128, 127] : yd === 'u8' ? [0, 255] : [0, 0];
  const p: Omit<QMatMulRtParams, 'bufs'> = {
    M, K, N, batch, sa: strides(pa), sb: strides(pb), ael: el(aId), bel: el(bId),
    za: mnKind(c, n, azId, 'a_zero_point', M, N, true, false), zb: mnKind(c, n, bzId, 'b_zero_point', M, N, false, true),
    zael: el(azId), zbel: el(bzId), yzel: ql ? el(n.inputs[7]) : 'i32', qlinear: ql, ...scales, el: storeElem(yd), lo, hi,
  };
  c.emit('qmatmul_rt', p as unknown as Record<string, unknown>, ops);
}

/** Integer matmul lowerings (8-bit operands: the integer path), by qualified op name. */
export const MATMUL_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = { MatMulInteger: lowerQMatMulRt, QLinearMatMul: lowerQMatMulRt };
