/**
 * Wasm lowerings of the matmul family (compiler/ops/matmul.ts): Gemm, MatMul and their fused forms on
 * gemm_f32 (runtime-wasm/assembly/gemm.ts), with constant B operands pre-packed into column panels.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { EinsumAttrs, einsumPlan } from '../../../compiler/ops/matmul.js';
import { contiguous, gemmBias, gemmSpec, matmulDims } from '../../common/params.js';
import { ANY_BINARY, BIAS } from '../kernels.js';
import { blobOperand, emitBinaryAny, operand, tempOperand } from './elementwise.js';
import { LowerCtx, LowerFn, Word, FusedAct, f32, i32, NULL, SCRATCH, fusedAct, copyView, asF32, asI8 } from '../ctx.js';
import { sparseGemm, sparseStored } from './sparse.js';

/** Emits a GEMM call (A [M,K] lda, B [K,N] ldb) with bias mode and fused activation. */
export function gemmCall(c: LowerCtx, A: Word, B: Word, C: Word, bias: Word, bmode: number, M: number, N: number, K: number,
  lda: number, ldb: number, alpha: number, act: FusedAct, batch: number, sA: number, sB: number, sC: number, sBias: number,
  io: { reads: (number | null)[]; writes: number[] }, packed = false): void {
  c.emit('gemm_f32', [
    A, B, C, bias, i32(M), i32(N), i32(K), i32(lda), i32(ldb), i32(N), i32(bmode),
    f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1),
    i32(batch), i32(sA), i32(sB), i32(sC), f32(alpha), i32(sBias), !packed && M >= 8 && N >= 8 ? SCRATCH : NULL, i32(packed ? 1 : 0),
  ], { ...io, scratch: !packed && M >= 8 && N >= 8 ? K * 32 : 0 });
}

/** A transposed copy of a 2-D operand (constant: at compile time; runtime: into a temporary). */
function transposed2d(c: LowerCtx, id: ValueId, rows: number, cols: number): { w: Word; id: number | null } {
  const t = c.consts.get(id);
  if (t) {
    const d = c.f32Data(t);
    const o = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) o[j * rows + i] = d[i * cols + j]!;
    return { w: c.blob(o), id: null };
  }
  const tmp = c.temp(rows * cols * 4);
  copyView(c, { k: 'buf', id: tmp, off: 0 }, [rows, 1], c.addr(id), [1, cols], [cols, rows], { reads: [id], writes: [tmp] });
  return { w: { k: 'buf', id: tmp, off: 0 }, id: tmp };
}

/**
 * Packs a constant row-major B [K, N] (N >= 8) into the K x 8 column panels gemm_f32 walks: panels
 * at columns 0, 8, 16, ... and, when N % 8 != 0, one more at N - 8 (overlapping the previous one).
 */
export function packB(b: Float32Array, K: number, N: number): Float32Array {
  const starts: number[] = [];
  for (let n = 0; n < N;) {
    const nn = N - n >= 8 ? n : N - 8;
    starts.push(nn);
    n = nn + 8;
  }
  const out = new Float32Array(starts.length * K * 8);
  starts.forEach((n0, j) => {
    for (let k = 0; k < K; k++) for (let i = 0; i < 8; i++) out[(j * K + k) * 8 + i] = b[k * N + n0 + i]!;
  });
  return out;
}

/** B as a word: pre-packed panels when B is constant and N >= 8, else the value itself. */
function bOperand(c: LowerCtx, bId: ValueId, K: number, N: number, data?: Float32Array): { w: Word; packed: boolean } {
  const q4 = data ? undefined : int4KN(c, bId, false, K, N);
  if (q4) return int4BOperand(c, q4, K, N);
  const t = data ?? (c.consts.get(bId) ? c.f32Data(c.consts.get(bId)!) : undefined);
  if (t && N >= 8) return { w: sparseStored(c, packB(t, K, N)), packed: true };
  return { w: c.addr(bId), packed: false };
}

// Compressed int4 weights are repacked in compressed form: packRows4/packB/transposition permute
// the int4 values, and the block scales move with them so that the packed blob is again blocks
// along the reduction axis (compress.ts view [outer, D, inner]).

/**
 * A constant int4 B operand of a GEMM as [K, N] values and [ceil(K/block), N] scales (blocks along
 * K), transposing when B is stored [N, K]; undefined when B is not an int4 weight blocked along K.
 */
function int4KN(c: LowerCtx, bId: ValueId, transB: boolean, K: number, N: number): { q: Float32Array; s: Float32Array; block: number } | undefined {
  const w = c.int4.get(bId);
  if (!w || w.shape.length !== 2 || w.axis !== (transB ? 1 : 0)) return undefined;
  const Kb = Math.ceil(K / w.block);
  if (!transB) return { q: asF32(w.q), s: w.scale, block: w.block };
  const q = new Float32Array(K * N);
  const s = new Float32Array(Kb * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < K; j++) q[j * N + i] = w.q[i * K + j]!;
  for (let i = 0; i < N; i++) for (let j = 0; j < Kb; j++) s[j * N + i] = w.scale[i * Kb + j]!;
  return { q, s, block: w.block };
}

/** An int4 [K, N] B operand: packed into K x 8 panels (blob [J][K][8], scales [J][Kb][8]) when N >= 8. */
function int4BOperand(c: LowerCtx, b: { q: Float32Array; s: Float32Array; block: number }, K: number, N: number): { w: Word; packed: boolean } {
  if (N < 8) return { w: c.int4Blob({ kind: 'int4', q: asI8(b.q), scale: b.s, outer: 1, D: K, inner: N, block: b.block }), packed: false };
  const q = asI8(packB(b.q, K, N));
  const scale = packB(b.s, Math.ceil(K / b.block), N);
  return { w: c.int4Blob({ kind: 'int4', q, scale, outer: q.length / (K * 8), D: K, inner: 8, block: b.block }), packed: true };
}

function lowerGemm(c: LowerCtx, n: Node): void {
  const [aId, bId, cId] = n.inputs;
  const y = n.outputs[0]!;
  const { as, bs, transA, transB, alpha, beta, M, K, N } = gemmSpec(c, n);
  const reads: (number | null)[] = [aId!, bId!];
  // a constant operand's blob is made only in the form the kernel reads (not also as stored)
  let A: Word;
  if (transA) {
    const t = transposed2d(c, aId!, as[0]!, as[1]!);
    A = t.w;
    if (t.id !== null) reads.push(t.id);
  } else A = c.addr(aId!);
  let B: Word = NULL;
  let packed = false;
  // a constant f32 B as row-major [K, N]: a sparse kernel may take it (ops/sparse.ts)
  let knConst: Float32Array | undefined;
  const bt = c.consts.get(bId!);
  const q4 = bt ? int4KN(c, bId!, transB, K, N) : undefined;
  if (q4) {
    const op = int4BOperand(c, q4, K, N);
    B = op.w;
    packed = op.packed;
  } else if (bt) {
    const d = c.f32Data(bt);
    let kn = d;
    if (transB) {
      kn = new Float32Array(K * N);
      for (let i = 0; i < N; i++) for (let j = 0; j < K; j++) kn[j * N + i] = d[i * K + j]!;
    }
    knConst = kn;
  } else if (transB) {
    const t = transposed2d(c, bId!, bs[0]!, bs[1]!);
    B = t.w;
    if (t.id !== null) reads.push(t.id);
  } else B = c.addr(bId!);
  let bias: Word = NULL;
  let bmode: number = BIAS.none;
  if (cId != null && beta !== 0) {
    bmode = BIAS[gemmBias(c.shape(cId), M, N)];
    if (M === 1 && (bmode === BIAS.full)) bmode = BIAS.col;
    const ct = c.consts.get(cId);
    if (ct) {
      const d = Float32Array.from(c.f32Data(ct), (v) => v * beta);
      bias = c.blob(d);
    } else {
      if (beta !== 1) {
        // beta * C into a temporary (f32, rounded once) that the kernel adds as its bias
        c.requireF32(cId);
        const cs = c.shape(cId);
        const t = tempOperand(c, 'f32', cs);
        emitBinaryAny(c, ANY_BINARY.Mul, operand(c, cId), blobOperand(c, Tensor.from('f32', [], [beta])), t, false);
        bias = t.w;
        reads.push(t.id);
      } else {
        bias = c.addr(cId);
        reads.push(cId);
      }
    }
  }
  if (knConst) {
    if (sparseGemm(c, A, knConst, c.addr(y), bias, bmode, M, N, K, K, alpha, fusedAct(n), { reads, writes: [y] })) return;
    const op = bOperand(c, bId!, K, N, knConst);
    B = op.packed ? op.w : sparseStored(c, knConst);
    packed = op.packed;
  }
  gemmCall(c, A, B, c.addr(y), bias, bmode, M, N, K, K, N, alpha, fusedAct(n), 1, 0, 0, 0, 0, { reads, writes: [y] }, packed);
}

function lowerMatMul(c: LowerCtx, n: Node): void {
  const [aId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const { a2, b2, M, K, N, ...dims } = matmulDims(c, n);
  const batchA = numel(dims.batchA);
  const batchB = numel(dims.batchB);
  if (c.g.typeOf(y).dtype === 'f64' && n.op === 'MatMul' && n.domain === '') {
    lowerMatMulF64(c, aId!, bId!, y, a2, b2, M, K, N);
    return;
  }
  const act = fusedAct(n);
  const io = { reads: [aId!, bId!], writes: [y] };
  if (batchB === 1) {
    // B shared by every batch: fold A's batch into M
    const bt = c.consts.get(bId!);
    if (bt && bt.dtype === 'f32' && !c.int4.has(bId!)
      && sparseGemm(c, c.addr(aId!), c.f32Data(bt), c.addr(y), NULL, BIAS.none, batchA * M, N, K, K, 1, act, io)) return;
    const op = bOperand(c, bId!, K, N);
    gemmCall(c, c.addr(aId!), op.w, c.addr(y), NULL, BIAS.none, batchA * M, N, K, K, N, 1, act, 1, 0, 0, 0, 0, io, op.packed);
    return;
  }
  const ya = a2.slice(0, -2);
  const yb = b2.slice(0, -2);
  const same = ya.length === yb.length && ya.every((d, i) => d === yb[i]);
  if (batchA !== 1 && !same) {
    lowerMatMulBroadcast(c, aId!, bId!, y, ya, yb, M, K, N, act);
    return;
  }
  gemmCall(c, c.addr(aId!), c.addr(bId!), c.addr(y), NULL, BIAS.none, M, N, K, K, N, 1, act, batchB,
    batchA === 1 ? 0 : M * K, K * N, M * N, 0, io);
}

/**
 * MatMul with batch dims that broadcast both ways ([3,1,M,K] x [1,2,K,N]): the batch dims padded
 * to one rank; the last one runs as the kernel's batch (stride 0 where an operand broadcasts), one
 * gemm call per index of the others.
 */
function lowerMatMulBroadcast(c: LowerCtx, aId: ValueId, bId: ValueId, y: ValueId, ya: number[], yb: number[],
  M: number, K: number, N: number, act: FusedAct): void {
  const r = Math.max(ya.length, yb.length);
  const pad = (s: number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ya), pad(yb)];
  const ob = pa.map((d, i) => Math.max(d, pb[i]!));
  if (pa.some((d, i) => d !== ob[i] && d !== 1) || pb.some((d, i) => d !== ob[i] && d !== 1)) {
    throw c.unsupported(`MatMul batch dims [${ya.join(',')}] and [${yb.join(',')}] do not broadcast`);
  }
  const stride = (s: number[]) => { const st = contiguous(s); return s.map((d, i) => (d === 1 ? 0 : st[i]!)); };
  const [sa, sb] = [stride(pa), stride(pb)];
  const last = ob[r - 1]!;
  const outer = numel(ob.slice(0, -1));
  for (let t = 0; t < outer; t++) {
    let rem = t, oa = 0, obb = 0;
    for (let i = r - 2; i >= 0; i--) {
      const k = rem % ob[i]!;
      rem = Math.floor(rem / ob[i]!);
      oa += k * sa[i]!;
      obb += k * sb[i]!;
    }
    gemmCall(c, c.addr(aId, oa * M * K), c.addr(bId, obb * K * N), c.addr(y, t * last * M * N), NULL, BIAS.none, M, N, K, K, N, 1, act,
      last, sa[r - 1]! * M * K, sb[r - 1]! * K * N, M * N, 0, { reads: [aId, bId], writes: [y] });
  }
}

/**
 * f64 MatMul (batch dims broadcast, up to 4 of them) on the einsum loop with f64 accumulation:
 * output labels (batch..., m, n), summed label k; A[.., m, k] strides (batch, K, 0 | 1), B[.., k, n]
 * strides (batch, 0, 1 | N), 0 where an operand broadcasts.
 */
function lowerMatMulF64(c: LowerCtx, aId: ValueId, bId: ValueId, y: ValueId, a2: number[], b2: number[], M: number, K: number, N: number): void {
  for (const id of [aId, bId]) if (c.g.typeOf(id).dtype !== 'f64') throw c.unsupported(`MatMul of ${c.g.typeOf(id).dtype} into f64`);
  const ya = a2.slice(0, -2), yb = b2.slice(0, -2);
  const r = Math.max(ya.length, yb.length);
  if (r > 4) throw c.unsupported(`f64 MatMul with ${r} batch dims (wasm: up to 4)`);
  const padTo = (s: number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const [pa, pb] = [padTo(ya), padTo(yb)];
  const ob = pa.map((d, i) => Math.max(d, pb[i]!));
  if (pa.some((d, i) => d !== ob[i] && d !== 1) || pb.some((d, i) => d !== ob[i] && d !== 1)) throw c.unsupported('MatMul batch dims do not broadcast');
  const bstr = (s: number[], inner: number) => { const st = contiguous(s); return s.map((d, i) => (d === 1 ? 0 : st[i]! * inner)); };
  const O = numel(ob) * M * N;
  if (O === 0) return;
  const pad6 = (v: number[], fill: number): number[] => [...new Array<number>(6 - v.length).fill(fill), ...v];
  const outSizes = pad6([...ob, M, N], 1);
  const aOut = pad6([...bstr(pa, M * K), K, 0], 0);
  const bOut = pad6([...bstr(pb, K * N), 0, 1], 0);
  c.emit('einsum_f32', [c.vaddr(aId), c.vaddr(bId), c.vaddr(y), ...outSizes.map(i32), ...aOut.map(i32), ...bOut.map(i32),
    ...pad6([K], 1).map(i32), ...pad6([1], 0).map(i32), ...pad6([N], 0).map(i32), i32(O), i32(K), i32(1)],
  { reads: [aId, bId], writes: [y], dtype: 'f64' });
}

// Einsum (one or two f32 / f64 operands): y[out labels] = sum over the other labels of A[..] * B[..], as a
// generic loop (einsum_f32) with per-operand label strides; a repeated label reads a diagonal.
function lowerEinsum(c: LowerCtx, n: Node): void {
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const y = n.outputs[0]!;
  if (ins.length > 2) throw c.unsupported(`Einsum with ${ins.length} operands (wasm takes one or two)`);
  const shapes = ins.map((x) => c.shape(x));
  const p = einsumPlan(c.attrs<EinsumAttrs>(), shapes);
  if (p.outLabels.length > 6 || p.sumLabels.length > 6) throw c.unsupported('Einsum with more than 6 output or summed labels');
  const stridesOf = (k: number, labels: string[]): number[] => {
    const st = contiguous(shapes[k]!);
    return labels.map((l) => p.terms[k]!.reduce((acc, tl, i) => acc + (tl === l && shapes[k]![i] !== 1 ? st[i]! : 0), 0));
  };
  const pad = (v: number[], fill: number): number[] => [...new Array<number>(6 - v.length).fill(fill), ...v];
  const size = (labels: string[]): number[] => labels.map((l) => p.size.get(l) as number);
  const O = numel(size(p.outLabels));
  const S = numel(size(p.sumLabels));
  if (O === 0) return;
  const opStr = (k: number, labels: string[]): number[] => (k < ins.length ? pad(stridesOf(k, labels), 0) : new Array<number>(6).fill(0));
  const dt = c.g.typeOf(y).dtype;
  if ((dt !== 'f32' && dt !== 'f64') || ins.some((x) => c.g.typeOf(x).dtype !== dt)) throw c.unsupported(`Einsum on ${dt} (wasm: f32 or f64)`);
  c.emit('einsum_f32', [c.vaddr(ins[0]!), ins.length > 1 ? c.vaddr(ins[1]!) : NULL, c.vaddr(y),
    ...pad(size(p.outLabels), 1).map(i32), ...opStr(0, p.outLabels).map(i32), ...opStr(1, p.outLabels).map(i32),
    ...pad(size(p.sumLabels), 1).map(i32), ...opStr(0, p.sumLabels).map(i32), ...opStr(1, p.sumLabels).map(i32), i32(O), i32(S), i32(dt === 'f64' ? 1 : 0)],
  { reads: ins, writes: [y], dtype: dt });
}

// Det(X[..., n, n]) -> Y[...]: LU with partial pivoting in f64 per matrix (runtime-wasm/assembly/misc.ts)
function lowerDet(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const dt = c.g.typeOf(x).dtype;
  if ((dt !== 'f32' && dt !== 'f64') || c.g.typeOf(y).dtype !== dt) throw c.unsupported(`Det on ${dt} (wasm: f32 or f64)`);
  const m = xs[xs.length - 1]!;
  const batch = numel(xs.slice(0, -2));
  if (batch === 0) return;
  c.emit('det', [c.vaddr(x), c.vaddr(y), i32(dt === 'f64' ? 1 : 0), i32(batch), i32(m), SCRATCH], { reads: [x], writes: [y], scratch: 8 * m * m + 8, dtype: dt });
}

/** Matmul-family lowerings by qualified op name. */
export const MATMUL_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Einsum: lowerEinsum, Det: lowerDet,
  Gemm: lowerGemm, 'edgec.FusedGemm': lowerGemm, MatMul: lowerMatMul, 'edgec.FusedMatMul': lowerMatMul,
};
