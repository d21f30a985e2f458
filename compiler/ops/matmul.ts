/**
 * Op family: matrix products. Gemm, MatMul, Einsum, MatMulInteger, QLinearMatMul and the internal
 * fused ops edgec.FusedGemm / edgec.FusedMatMul (base op + activation, see act.ts).
 *
 * Kernels run on flat typed arrays with float64 accumulation (i-k-j loop order, contiguous inner
 * loop). Integer products are exact: operands are small integers and float64 holds every
 * integer below 2^53.
 */
import { DType, intRange } from '../ir/dtype.js';
import { Dim, Shape, Tensor, TensorType, numel, stridesOf } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, broadcastShapes, defineOp, need } from './registry.js';
import { broadcastIndex } from './util.js';
import {
  FArr, FusedAttrs, applyActInPlace, elemsOf, floatData, readActAttrs, requantMultiplier, requantize, tensorFromF64,
} from './conv.js';

const NUMERIC: readonly DType[] = ['f32', 'f16', 'bf16', 'f64', 'i32', 'i64', 'u32', 'u64', 'i8', 'u8', 'i16', 'u16'];

function checkNumeric(op: string, dt: DType): void {
  if (!NUMERIC.includes(dt)) throw unsupported(`${op}: dtype ${dt} is not supported`);
}

/**
 * y[yOff + i*N + j] += sum_k a[aOff + i*K + k] * b[bOff + k*N + j] (i-k-j order).
 */
function mmAcc(a: FArr, aOff: number, b: FArr, bOff: number, y: Float64Array, yOff: number, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const yr = yOff + i * N;
    const ar = aOff + i * K;
    for (let k = 0; k < K; k++) {
      const av = a[ar + k]!;
      let bi = bOff + k * N;
      for (let yi = yr; yi < yr + N; yi++, bi++) y[yi]! += av * b[bi]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Gemm
// ---------------------------------------------------------------------------------------------

interface GemmAttrs {
  alpha: number;
  beta: number;
  transA: boolean;
  transB: boolean;
}

function readGemmAttrs(r: AttrReader): GemmAttrs {
  const ta = r.int('transA', 0);
  const tb = r.int('transB', 0);
  if ((ta !== 0 && ta !== 1) || (tb !== 0 && tb !== 1)) throw r.error('transA and transB must be 0 or 1');
  return { alpha: r.float('alpha', 1), beta: r.float('beta', 1), transA: ta === 1, transB: tb === 1 };
}

/** [M, K, N] of a Gemm from its operand shapes. */
function gemmDims(op: string, a: Shape, b: Shape, g: GemmAttrs): [Dim, Dim, Dim] {
  if (a.length !== 2 || b.length !== 2) throw invalid(`${op}: A and B must be 2-D, got ranks ${a.length} and ${b.length}`);
  const M = g.transA ? a[1]! : a[0]!;
  const K = g.transA ? a[0]! : a[1]!;
  const K2 = g.transB ? b[1]! : b[0]!;
  const N = g.transB ? b[0]! : b[1]!;
  if (typeof K === 'number' && typeof K2 === 'number' && K !== K2) throw invalid(`${op}: inner dims differ (${K} vs ${K2})`);
  return [M, K, N];
}

function gemmInfer(ctx: InferCtx, g: GemmAttrs): TensorType[] {
  const op = ctx.node.op;
  const a = need(ctx.inputs[0], 0, op);
  const b = need(ctx.inputs[1], 1, op);
  checkNumeric(op, a.dtype);
  const [M, , N] = gemmDims(op, a.shape, b.shape, g);
  const c = ctx.inputs[2];
  if (c) broadcastShapes([c.shape, [M, N]]);
  return [{ dtype: a.dtype, shape: [M, N] }];
}

/** Y = alpha * A' B' + beta * C in float64 (A' = A or A^T, B' = B or B^T). */
function runGemm(op: string, ins: (Tensor | null)[], g: GemmAttrs): { y: Float64Array; shape: number[] } {
  const A = need(ins[0], 0, op);
  const B = need(ins[1], 1, op);
  const C = ins[2] ?? null;
  checkNumeric(op, A.dtype);
  if (B.dtype !== A.dtype || (C && C.dtype !== A.dtype)) throw invalid(`${op}: A, B and C must share one dtype`);
  const [M, K, N] = gemmDims(op, A.shape, B.shape, g) as [number, number, number];
  let a = floatData(A);
  if (g.transA) {
    const t = new Float64Array(M * K);
    for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) t[i * K + k] = a[k * M + i]!;
    a = t;
  }
  const b = floatData(B);
  const y = new Float64Array(M * N);
  if (g.transB) {
    // B is [N, K]: contiguous dot products
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        const ar = i * K;
        const br = j * K;
        for (let k = 0; k < K; k++) s += a[ar + k]! * b[br + k]!;
        y[i * N + j] = s;
      }
    }
  } else mmAcc(a, 0, b, 0, y, 0, M, K, N);
  if (g.alpha !== 1) for (let i = 0; i < y.length; i++) y[i]! *= g.alpha;
  if (C && g.beta !== 0) {
    const outShape = [M, N];
    const bs = broadcastShapes([C.shape, outShape]);
    if (bs.length !== 2 || bs[0] !== M || bs[1] !== N) throw invalid(`${op}: C of shape [${C.shape.join(',')}] does not broadcast to [${M},${N}]`);
    const c = floatData(C);
    const idx = broadcastIndex(C.shape, outShape);
    for (let i = 0; i < y.length; i++) y[i]! += g.beta * c[idx[i]!]!;
  }
  return { y, shape: [M, N] };
}

function gemmCost(ctx: InferCtx, g: GemmAttrs) {
  const a = ctx.inputs[0];
  const b = ctx.inputs[1];
  if (!a || !b) return { macs: 0, flops: 0 };
  const [M, K, N] = gemmDims(ctx.node.op, a.shape, b.shape, g);
  const n = (d: Dim) => (typeof d === 'number' ? d : 1);
  return { macs: n(M) * n(K) * n(N), flops: n(M) * n(N) };
}

// Y = alpha * op(A) op(B) + beta * C, op = identity or transpose; C broadcasts to [M, N]
export const Gemm = defineOp<GemmAttrs>({
  name: 'Gemm',
  domain: '',
  since: 1,
  arity: [2, 3],
  attrs: (r) => readGemmAttrs(r),
  infer: (ctx, g) => gemmInfer(ctx, g),
  ref: (ins, g) => {
    const { y, shape } = runGemm('Gemm', ins, g);
    return [tensorFromF64(ins[0]!.dtype, shape, y)];
  },
  cost: (ctx, g) => gemmCost(ctx, g),
});

// Y = act(Gemm(A, B, C)); the activation applies to the Gemm output rounded to its dtype
export const FusedGemm = defineOp<GemmAttrs & FusedAttrs>({
  name: 'FusedGemm',
  domain: 'edgec',
  since: 1,
  arity: [2, 3],
  attrs: (r) => ({ ...readGemmAttrs(r), ...readActAttrs(r) }),
  infer: (ctx, g) => gemmInfer(ctx, g),
  ref: (ins, g) => {
    const { y, shape } = runGemm('FusedGemm', ins, g);
    applyActInPlace(ins[0]!.dtype, y, g);
    return [tensorFromF64(ins[0]!.dtype, shape, y)];
  },
  cost: (ctx, g) => gemmCost(ctx, g),
});

// ---------------------------------------------------------------------------------------------
// MatMul (numpy matmul semantics)
// ---------------------------------------------------------------------------------------------

interface MatMulShapes {
  /** A as [...batchA, M, K] after 1-D promotion. */
  a: Shape;
  b: Shape;
  batch: Dim[];
  M: Dim;
  K: Dim;
  N: Dim;
  /** Output shape with promoted dims removed. */
  out: Dim[];
}

/** numpy.matmul shape rules: 1-D operands are promoted and the added dim removed afterwards. */
function matmulShapes(op: string, a0: Shape, b0: Shape): MatMulShapes {
  if (a0.length === 0 || b0.length === 0) throw invalid(`${op}: operands must have rank >= 1`);
  const a = a0.length === 1 ? [1, a0[0]!] : a0;
  const b = b0.length === 1 ? [b0[0]!, 1] : b0;
  const M = a[a.length - 2]!;
  const K = a[a.length - 1]!;
  const K2 = b[b.length - 2]!;
  const N = b[b.length - 1]!;
  if (typeof K === 'number' && typeof K2 === 'number' && K !== K2) {
    throw invalid(`${op}: inner dims differ ([${a0.join(',')}] x [${b0.join(',')}])`);
  }
  const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
  const out: Dim[] = [...batch];
  if (a0.length > 1) out.push(M);
  if (b0.length > 1) out.push(N);
  return { a, b, batch, M, K, N, out };
}

/**
 * Batched matmul of float arrays with broadcasting batch dims; returns float64 results.
 * @param a data of A with shape s.a (promoted)
 * @param b data of B with shape s.b (promoted)
 */
function batchedMatmul(a: FArr, b: FArr, s: MatMulShapes): Float64Array {
  const M = s.M as number;
  const K = s.K as number;
  const N = s.N as number;
  const batch = s.batch as number[];
  const nb = numel(batch);
  const y = new Float64Array(nb * M * N);
  const ia = broadcastIndex(s.a.slice(0, -2) as number[], batch);
  const ib = broadcastIndex(s.b.slice(0, -2) as number[], batch);
  for (let t = 0; t < nb; t++) mmAcc(a, ia[t]! * M * K, b, ib[t]! * K * N, y, t * M * N, M, K, N);
  return y;
}

function matmulInfer(ctx: InferCtx, dtype?: DType): TensorType[] {
  const op = ctx.node.op;
  const a = need(ctx.inputs[0], 0, op);
  const b = need(ctx.inputs[1], 1, op);
  const s = matmulShapes(op, a.shape, b.shape);
  return [{ dtype: dtype ?? a.dtype, shape: s.out }];
}

function matmulCost(ctx: InferCtx, ai = 0, bi = 1) {
  const a = ctx.inputs[ai];
  const b = ctx.inputs[bi];
  if (!a || !b) return { macs: 0, flops: 0 };
  const s = matmulShapes(ctx.node.op, a.shape, b.shape);
  const out = elemsOf(s.out);
  return { macs: out * elemsOf([s.K]), flops: out };
}

function runMatMul(op: string, ins: (Tensor | null)[]): { y: Float64Array; shape: number[] } {
  const A = need(ins[0], 0, op);
  const B = need(ins[1], 1, op);
  checkNumeric(op, A.dtype);
  if (A.dtype !== B.dtype) throw invalid(`${op}: input dtypes differ (${A.dtype} vs ${B.dtype})`);
  const s = matmulShapes(op, A.shape, B.shape);
  return { y: batchedMatmul(floatData(A), floatData(B), s), shape: s.out as number[] };
}

// Y = A @ B with numpy broadcasting of batch dims and 1-D promotion
export const MatMul = defineOp<Record<string, never>>({
  name: 'MatMul',
  domain: '',
  since: 1,
  arity: [2, 2],
  attrs: () => ({}),
  infer: (ctx) => {
    checkNumeric('MatMul', need(ctx.inputs[0], 0, 'MatMul').dtype);
    return matmulInfer(ctx);
  },
  ref: (ins) => {
    const { y, shape } = runMatMul('MatMul', ins);
    return [tensorFromF64(ins[0]!.dtype, shape, y)];
  },
  cost: (ctx) => matmulCost(ctx),
});

// Y = act(A @ B); the activation applies to the MatMul output rounded to its dtype
export const FusedMatMul = defineOp<FusedAttrs>({
  name: 'FusedMatMul',
  domain: 'edgec',
  since: 1,
  arity: [2, 2],
  attrs: (r) => readActAttrs(r),
  infer: (ctx) => matmulInfer(ctx),
  ref: (ins, a) => {
    const { y, shape } = runMatMul('FusedMatMul', ins);
    applyActInPlace(ins[0]!.dtype, y, a);
    return [tensorFromF64(ins[0]!.dtype, shape, y)];
  },
  cost: (ctx) => matmulCost(ctx),
});

// ---------------------------------------------------------------------------------------------
// Integer and quantized matmul
// ---------------------------------------------------------------------------------------------

function check8(op: string, t: TensorType | Tensor, what: string): void {
  if (t.dtype !== 'u8' && t.dtype !== 'i8') throw unsupported(`${op}: ${what} dtype ${t.dtype} is not supported (uint8/int8 only)`);
}

/**
 * Exact float64 copy of a quantized operand minus its zero point: scalar, or per-row (A: one
 * per row M, `alongRows`) or per-column (B: one per column N).
 */
function centered(t: Tensor, zp: Tensor | null, rows: number, cols: number, alongRows: boolean, op: string, what: string): Float64Array {
  const out = floatData(t).slice() as FArr;
  const o = out instanceof Float64Array ? out : Float64Array.from(out);
  if (!zp || zp.size === 0) return o;
  if (zp.dtype !== t.dtype) throw invalid(`${op}: ${what} zero point dtype ${zp.dtype} differs from ${t.dtype}`);
  const n = alongRows ? rows : cols;
  if (zp.size === 1) {
    const z = zp.get(0);
    for (let i = 0; i < o.length; i++) o[i]! -= z;
    return o;
  }
  if (zp.size !== n) throw invalid(`${op}: ${what} zero point has ${zp.size} values, expected 1 or ${n}`);
  for (let i = 0; i < o.length; i++) {
    const r = Math.floor(i / cols) % rows;
    const c = i % cols;
    o[i]! -= zp.get(alongRows ? r : c);
  }
  return o;
}

// Y = (A - a_zp) @ (B - b_zp) in exact int32 arithmetic (zp per tensor, per row of A / column of B)
export const MatMulInteger = defineOp<Record<string, never>>({
  name: 'MatMulInteger',
  domain: '',
  since: 10,
  arity: [2, 4],
  attrs: () => ({}),
  infer: (ctx) => {
    check8('MatMulInteger', need(ctx.inputs[0], 0, 'MatMulInteger'), 'A');
    check8('MatMulInteger', need(ctx.inputs[1], 1, 'MatMulInteger'), 'B');
    return matmulInfer(ctx, 'i32');
  },
  ref: (ins) => {
    const op = 'MatMulInteger';
    const A = need(ins[0], 0, op);
    const B = need(ins[1], 1, op);
    check8(op, A, 'A');
    check8(op, B, 'B');
    const s = matmulShapes(op, A.shape, B.shape);
    const a = centered(A, ins[2] ?? null, s.M as number, s.K as number, true, op, 'a');
    const b = centered(B, ins[3] ?? null, s.K as number, s.N as number, false, op, 'b');
    return [tensorFromF64('i32', s.out as number[], batchedMatmul(a, b, s))];
  },
  cost: (ctx) => matmulCost(ctx),
});

/** Per-row (size M) / per-column (size N) / scalar parameter lookup for output element (i, j). */
function paramAt(t: Tensor, i: number, j: number, M: number, N: number, op: string, what: string): number {
  if (t.size === 1) return t.get(0);
  if (t.size === M) return t.get(i);
  if (t.size === N) return t.get(j);
  throw invalid(`${op}: ${what} has ${t.size} values, expected 1, ${M} or ${N}`);
}

// y = saturate(round_half_even(((a - a_zp) @ (b - b_zp)) * (a_scale * b_scale / y_scale)) + y_zp)
export const QLinearMatMul = defineOp<Record<string, never>>({
  name: 'QLinearMatMul',
  domain: '',
  since: 10,
  arity: [8, 8],
  attrs: () => ({}),
  infer: (ctx) => {
    check8('QLinearMatMul', need(ctx.inputs[0], 0, 'QLinearMatMul'), 'a');
    check8('QLinearMatMul', need(ctx.inputs[3], 3, 'QLinearMatMul'), 'b');
    const a = ctx.inputs[0]!;
    const b = ctx.inputs[3]!;
    const s = matmulShapes('QLinearMatMul', a.shape, b.shape);
    return [{ dtype: ctx.inputs[7]?.dtype ?? a.dtype, shape: s.out }];
  },
  ref: (ins) => {
    const op = 'QLinearMatMul';
    const A = need(ins[0], 0, op);
    const as = need(ins[1], 1, op);
    const B = need(ins[3], 3, op);
    const bs = need(ins[4], 4, op);
    const ys = need(ins[6], 6, op);
    const yzp = ins[7] ?? null;
    check8(op, A, 'a');
    check8(op, B, 'b');
    const s = matmulShapes(op, A.shape, B.shape);
    const M = s.M as number;
    const K = s.K as number;
    const N = s.N as number;
    const acc = batchedMatmul(centered(A, ins[2] ?? null, M, K, true, op, 'a'), centered(B, ins[5] ?? null, K, N, false, op, 'b'), s);
    const outDt: DType = yzp ? yzp.dtype : A.dtype;
    const [lo, hi] = intRange(outDt);
    const mult = new Float64Array(M * N);
    const zps = new Float64Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        mult[i * N + j] = requantMultiplier(as.dtype, paramAt(as, i, j, M, N, op, 'a_scale'), paramAt(bs, j, j, N, N, op, 'b_scale'),
          paramAt(ys, i, j, M, N, op, 'y_scale'));
        zps[i * N + j] = yzp ? paramAt(yzp, i, j, M, N, op, 'y_zero_point') : 0;
      }
    }
    const out = Tensor.zeros(outDt, s.out as number[]);
    const od = out.data as Int8Array | Uint8Array;
    const mn = M * N;
    for (let t = 0; t < acc.length; t++) {
      const e = t % mn;
      od[t] = requantize(acc[t]!, mult[e]!, zps[e]!, lo, hi);
    }
    return [out];
  },
  cost: (ctx) => matmulCost(ctx, 0, 3),
});

// ---------------------------------------------------------------------------------------------
// Einsum
// ---------------------------------------------------------------------------------------------

export interface EinsumAttrs {
  /** Terms of the inputs: label characters, '.' standing for the ellipsis. */
  inputs: string[][];
  /** Output labels, null when implicit. */
  output: string[] | null;
}

const ELL = '.';

function parseTerm(term: string, r: AttrReader): string[] {
  const out: string[] = [];
  let i = 0;
  let ell = false;
  while (i < term.length) {
    if (term.startsWith('...', i)) {
      if (ell) throw r.error(`Einsum: term "${term}" has more than one ellipsis`);
      ell = true;
      out.push(ELL);
      i += 3;
    } else {
      const ch = term[i]!;
      if (!/[A-Za-z]/.test(ch)) throw r.error(`Einsum: bad character "${ch}" in equation`);
      out.push(ch);
      i++;
    }
  }
  return out;
}

function parseEinsum(r: AttrReader): EinsumAttrs {
  const eq = r.string('equation');
  if (eq === undefined) throw r.error('attribute "equation" is required');
  const s = eq.replace(/\s+/g, '');
  const parts = s.split('->');
  if (parts.length > 2) throw r.error(`Einsum: bad equation "${eq}"`);
  const inputs = parts[0]!.split(',').map((t) => parseTerm(t, r));
  let output: string[] | null = null;
  if (parts.length === 2) {
    output = parseTerm(parts[1]!, r);
    const seen = new Set<string>();
    for (const l of output) {
      if (seen.has(l)) throw r.error(`Einsum: output label "${l}" repeats`);
      seen.add(l);
      if (l !== ELL && !inputs.some((t) => t.includes(l))) throw r.error(`Einsum: output label "${l}" is not in any input`);
    }
  }
  return { inputs, output };
}

export interface EinsumPlan {
  /** Per input: label per dim (ellipsis expanded to private labels). */
  terms: string[][];
  outLabels: string[];
  sumLabels: string[];
  size: Map<string, Dim>;
}

/** Expands the ellipsis and resolves label sizes for concrete or symbolic shapes (lowerings share it). */
export function einsumPlan(a: EinsumAttrs, shapes: Shape[]): EinsumPlan {
  if (shapes.length !== a.inputs.length) throw invalid(`Einsum: equation has ${a.inputs.length} inputs, got ${shapes.length}`);
  let ellRank = 0;
  const terms = a.inputs.map((t, k) => {
    const shape = shapes[k]!;
    const named = t.filter((l) => l !== ELL).length;
    if (!t.includes(ELL)) {
      if (named !== shape.length) throw invalid(`Einsum: term ${k} has ${named} labels but input rank is ${shape.length}`);
      return t;
    }
    const e = shape.length - named;
    if (e < 0) throw invalid(`Einsum: term ${k} has more labels than input rank ${shape.length}`);
    ellRank = Math.max(ellRank, e);
    return t.flatMap((l) => (l === ELL ? ['<e>'] : [l]));
  });
  const ellLabels = Array.from({ length: ellRank }, (_, i) => `#${i}`);
  const expanded = terms.map((t, k) => {
    const e = shapes[k]!.length - t.filter((l) => l !== '<e>').length;
    return t.flatMap((l) => (l === '<e>' ? ellLabels.slice(ellRank - e) : [l]));
  });
  const size = new Map<string, Dim>();
  expanded.forEach((t, k) => t.forEach((l, i) => {
    const d = shapes[k]![i]!;
    const cur = size.get(l);
    if (cur === undefined || cur === 1) size.set(l, d);
    else if (d !== 1 && typeof cur === 'number' && typeof d === 'number' && cur !== d) {
      throw invalid(`Einsum: label "${l.startsWith('#') ? '...' : l}" has sizes ${cur} and ${d}`);
    }
  }));
  let outLabels: string[];
  if (a.output) outLabels = a.output.flatMap((l) => (l === ELL ? ellLabels : [l]));
  else {
    const count = new Map<string, number>();
    for (const t of a.inputs) for (const l of t) if (l !== ELL) count.set(l, (count.get(l) ?? 0) + 1);
    outLabels = [...ellLabels, ...[...count.keys()].filter((l) => count.get(l) === 1).sort()];
  }
  const all = new Set<string>(expanded.flat());
  const sumLabels = [...all].filter((l) => !outLabels.includes(l));
  return { terms: expanded, outLabels, sumLabels, size };
}

// Y[out] = sum over the other labels of prod_k X_k[term_k] (repeated labels in a term read a diagonal)
export const Einsum = defineOp<EinsumAttrs>({
  name: 'Einsum',
  domain: '',
  since: 12,
  arity: [1, Infinity],
  attrs: (r) => parseEinsum(r),
  infer: (ctx, a) => {
    const ins = ctx.inputs.map((t, i) => need(t, i, 'Einsum'));
    checkNumeric('Einsum', ins[0]!.dtype);
    const p = einsumPlan(a, ins.map((t) => t.shape));
    return [{ dtype: ins[0]!.dtype, shape: p.outLabels.map((l) => p.size.get(l)!) }];
  },
  ref: (ins0, a) => {
    const ins = ins0.map((t, i) => need(t, i, 'Einsum'));
    checkNumeric('Einsum', ins[0]!.dtype);
    for (const t of ins) if (t.dtype !== ins[0]!.dtype) throw invalid('Einsum: input dtypes differ');
    const p = einsumPlan(a, ins.map((t) => t.shape));
    const labels = [...p.outLabels, ...p.sumLabels];
    const L = labels.length;
    const sizes = labels.map((l) => p.size.get(l) as number);
    const outShape = p.outLabels.map((l) => p.size.get(l) as number);
    const outStr = stridesOf(outShape);
    // per operand (inputs then output), stride of each loop label (0 when absent or broadcast)
    const strides = ins.map((t, k) => {
      const st = stridesOf(t.shape);
      return labels.map((l) => p.terms[k]!.reduce((acc, tl, i) => acc + (tl === l && t.shape[i] !== 1 ? st[i]! : 0), 0));
    });
    const yStr = labels.map((l) => { const i = p.outLabels.indexOf(l); return i < 0 ? 0 : outStr[i]!; });
    const data = ins.map((t) => floatData(t));
    const y = new Float64Array(numel(outShape));
    const total = numel(sizes);
    const cnt = new Array<number>(L).fill(0);
    const offs = new Array<number>(ins.length).fill(0);
    let yo = 0;
    for (let it = 0; it < total; it++) {
      let prod = 1;
      for (let k = 0; k < data.length; k++) prod *= data[k]![offs[k]!]!;
      y[yo]! += prod;
      for (let d = L - 1; d >= 0; d--) {
        cnt[d]!++;
        yo += yStr[d]!;
        for (let k = 0; k < offs.length; k++) offs[k]! += strides[k]![d]!;
        if (cnt[d]! < sizes[d]!) break;
        yo -= yStr[d]! * sizes[d]!;
        for (let k = 0; k < offs.length; k++) offs[k]! -= strides[k]![d]! * sizes[d]!;
        cnt[d] = 0;
      }
    }
    return [tensorFromF64(ins[0]!.dtype, outShape, y)];
  },
  cost: (ctx, a) => {
    const ins = ctx.inputs.filter((t): t is TensorType => t !== null);
    if (ins.length !== a.inputs.length) return { macs: 0, flops: 0 };
    const p = einsumPlan(a, ins.map((t) => t.shape));
    const it = elemsOf([...p.outLabels, ...p.sumLabels].map((l) => p.size.get(l)!));
    return { macs: ins.length > 1 ? it * (ins.length - 1) : 0, flops: it };
  },
});



// ---------------------------------------------------------------------------------------------
// Det
// ---------------------------------------------------------------------------------------------

/**
 * Determinant of the n x n row-major matrix at a[off..] by LU decomposition with partial
 * pivoting in float64: det = sign(permutation) * prod(U diagonal).
 * @param a matrix elements
 * @param off offset of element (0, 0)
 * @param n matrix size
 */
export function determinant(a: FArr, off: number, n: number): number {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) m[i] = a[off + i]!;
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    const piv = m[p * n + c]!;
    if (piv === 0) return 0;
    if (p !== c) {
      for (let k = 0; k < n; k++) { const t = m[c * n + k]!; m[c * n + k] = m[p * n + k]!; m[p * n + k] = t; }
      det = -det;
    }
    det *= piv;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / piv;
      if (f === 0) continue;
      for (let k = c + 1; k < n; k++) m[r * n + k]! -= f * m[c * n + k]!;
    }
  }
  return det;
}

// Det(X[..., M, M]) -> Y[...]: the determinant of each square matrix in the batch
export const Det = defineOp({
  name: 'Det',
  domain: '',
  since: 11,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Det');
    if (x.dtype !== 'f32' && x.dtype !== 'f16' && x.dtype !== 'bf16' && x.dtype !== 'f64') {
      throw unsupported(`Det: input dtype ${x.dtype} is not supported (float types only)`);
    }
    const r = x.shape.length;
    if (r < 2) throw invalid(`Det: input must have rank >= 2, got ${r}`);
    const [p, q] = [x.shape[r - 2]!, x.shape[r - 1]!];
    if (typeof p === 'number' && typeof q === 'number' && p !== q) throw invalid(`Det: matrices must be square, got ${p}x${q}`);
    return [{ dtype: x.dtype, shape: x.shape.slice(0, r - 2) }];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'Det');
    const r = x.shape.length;
    if (r < 2) throw invalid(`Det: input must have rank >= 2, got ${r}`);
    const n = x.shape[r - 1]!;
    if (x.shape[r - 2] !== n) throw invalid(`Det: matrices must be square, got ${x.shape[r - 2]}x${n}`);
    const batch = numel(x.shape.slice(0, r - 2));
    const xd = floatData(x);
    const y = new Float64Array(batch);
    for (let b = 0; b < batch; b++) y[b] = determinant(xd, b * n * n, n);
    return [tensorFromF64(x.dtype, x.shape.slice(0, r - 2), y)];
  },
  cost: (ctx) => {
    const s = ctx.inputs[0]?.shape ?? [];
    const n = typeof s[s.length - 1] === 'number' ? (s[s.length - 1] as number) : 1;
    return { macs: (elemsOf(s) / Math.max(1, n * n)) * Math.ceil((n * n * n) / 3), flops: 0 };
  },
});
