/**
 * Sparse constant weights on wasm (pruned Gemm / MatMul B operands and 1x1 conv weights;
 * runtime-wasm/assembly/sparse.ts):
 *
 * - `sparseGemm` picks, from the weight values alone (any pruning that left zeros), the cheapest of
 *   the dense gemm_f32, the block kernel spmm_f32 (groups of G = 4 or 8 consecutive output columns
 *   per k: one splat feeds G/4 vector multiply-adds; at M < 4 also groups of 4 columns chosen to
 *   overlap, groupColumns), for M >= 4 rows the row SpMM (spmm_chw_f32 over a transposed A) and,
 *   when every column has at most 2 nonzeros in each 4 consecutive k, the 2:4 kernel spmm24_f32
 *   (then always a sparse kernel), by a cost model fitted to measurements (SPARSE_COST, CHW_COST;
 *   `npm run bench -- --only prune` and `node dist/bench/sparse-layers.js` measure the result).
 *   Elementwise (unstructured) zeros seldom fill whole blocks: at 70% sparsity 76% of the G = 4
 *   blocks still hold a nonzero (66-73% grouped), so at batch 1 such weights mostly keep the dense
 *   kernel (they are still stored sparse).
 * - `sparseConv1x1`: 1x1 stride-1 unpadded ungrouped convs with zeros run spmm_chw_f32 (XNNPACK's
 *   sparse inference: SIMD over the pixels of the NCHW input, CSR weight rows) when CHW_COST says so.
 * - `sparseStored` stores an f32 blob that is mostly zeros as a bitmap plus its nonzero values,
 *   expanded by sparse_pack_f32 at instantiation (a PackBlob), so model.wasm shrinks with any pruning.
 */
import { FusedAct, LowerCtx, Word, copyView, f32, i32, NULL, SCRATCH } from '../ctx.js';
import { BIAS } from '../kernels.js';

/**
 * Relative costs (dense MAC = 1 at M < 4) of the kernels' inner steps, fitted to
 * `npm run bench -- --only prune` on the autoencoder (elementwise 70%: 76% of the 1x4 blocks hold a
 * nonzero and the block kernel measured ~1.1x; 1x4 blocks at 30%: ~1.5-1.8x) and to single layers of
 * it (`node dist/bench/sparse-layers.js`: a 1x4 block cost 4.3-7 dense GEMV MACs, 0.43-0.63 ns vs
 * 0.085-0.1 ns per MAC): a dense
 * MAC of gemm_f32's 1x8 GEMV tiles, of its 4x8 tiles (M >= 4), one block of spmm_f32 (G = 4, 8),
 * one group's fixed cost, one 64-byte cell (16 dense MACs) of spmm24_f32 and the extra scalar
 * stores of a column-permuted group.
 */
export const SPARSE_COST = { dense1: 1, dense4: 0.6, block4: 5.7, block8: 8.5, group: 12, cell24: 14, permStore: 8 } as const;

/**
 * The sparse form chosen for a B [K, N] weight; `order` (block kernel): the column of each lane of
 * the column-permuted groups (groupColumns), absent for consecutive columns.
 */
export type SparseKind = { kind: 'dense' } | { kind: 'block'; G: 4 | 8; order?: Int32Array } | { kind: '2:4' } | { kind: 'rows' };

/** Bit count of a u32. */
function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Largest N * N * ceil(K / 32) / 4 the greedy column grouping searches (~30 ms in Node). */
const GROUP_SEARCH_BUDGET = 3e7;

/**
 * Groups the N output columns of an elementwise-sparse B [K, N] into ceil(N / G) groups of G whose
 * nonzero k overlap, so that fewer (group, k) blocks hold a nonzero (the block kernel then stores
 * each lane to its own column: the permutation costs G scalar stores per group, not a graph
 * rewrite). Greedy: seed each group with the remaining column of fewest nonzeros and add, G - 1
 * times, the remaining column adding fewest new nonzero k to the group's union. On the autoencoder
 * pruned 70% elementwise this takes the 1x4 blocks holding a nonzero from 70% to 59% (README,
 * Pruning). Returns the column of each lane (-1 past N), or null when N * N * K is too large to search.
 */
export function groupColumns(kn: Float32Array, K: number, N: number, G: number): Int32Array | null {
  const W = Math.ceil(K / 32);
  if ((N * N * W) / G > GROUP_SEARCH_BUDGET) return null;
  const bits = new Uint32Array(N * W);
  const nnz = new Int32Array(N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      if (kn[k * N + n] === 0) continue;
      bits[n * W + (k >> 5)]! |= 1 << (k & 31);
      nnz[n]!++;
    }
  }
  const byCount = Array.from({ length: N }, (_, i) => i).sort((a, b) => nnz[a]! - nnz[b]! || a - b);
  const left = new Uint8Array(N).fill(1);
  const order = new Int32Array(Math.ceil(N / G) * G).fill(-1);
  const union = new Uint32Array(W);
  let out = 0, next = 0;
  while (out < N) {
    while (!left[byCount[next]!]) next++;
    const seed = byCount[next]!;
    left[seed] = 0;
    order[out++] = seed;
    union.set(bits.subarray(seed * W, seed * W + W));
    for (let l = 1; l < G && out % G !== 0 && out < N; l++) {
      let best = -1, bestAdd = Infinity;
      for (const n of byCount) {
        if (!left[n]) continue;
        let add = 0;
        for (let w = 0; w < W && add < bestAdd; w++) add += popcount(bits[n * W + w]! & ~union[w]!);
        if (add < bestAdd) {
          bestAdd = add;
          best = n;
        }
      }
      left[best] = 0;
      order[out++] = best;
      for (let w = 0; w < W; w++) union[w]! |= bits[best * W + w]!;
    }
    out = Math.ceil(out / G) * G;
  }
  return order;
}

/** Number of (group, k) blocks holding a nonzero of B [K, N] with the columns grouped as `order` (lanes, -1: none). */
export function countOrderedBlocks(kn: Float32Array, K: number, N: number, G: number, order: Int32Array): number {
  let nb = 0;
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let j = 0; j < order.length; j += G) {
      for (let l = 0; l < G; l++) {
        const n = order[j + l]!;
        if (n >= 0 && kn[row + n] !== 0) {
          nb++;
          break;
        }
      }
    }
  }
  return nb;
}

/** Number of (column group, k) blocks of width G holding a nonzero of B [K, N]. */
export function countBlocks(kn: Float32Array, K: number, N: number, G: number): number {
  let nb = 0;
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n0 = 0; n0 < N; n0 += G) {
      const e = Math.min(N, n0 + G);
      for (let n = n0; n < e; n++) {
        if (kn[row + n] !== 0) {
          nb++;
          break;
        }
      }
    }
  }
  return nb;
}

/** True when every column of B [K, N] has at most 2 nonzeros in each 4 consecutive k (K % 4 == 0). */
export function is24(kn: Float32Array, K: number, N: number): boolean {
  if (K % 4 !== 0) return false;
  for (let q = 0; q < K; q += 4) {
    for (let n = 0; n < N; n++) {
      let c = 0;
      for (let i = 0; i < 4; i++) if (kn[(q + i) * N + n] !== 0) c++;
      if (c > 2) return false;
    }
  }
  return true;
}

/**
 * The cheapest kernel for y[M, N] = x[M, K] B (SPARSE_COST model); dense unless a sparse kernel is
 * estimated at least 5% cheaper.
 * @param kn B row-major [K, N] @param M rows of A
 * @param rowsOk whether the row-SpMM form (kind 'rows': spmm_chw_f32 over the rows of a transposed A,
 * M >= 4) can take the Gemm's bias
 */
export function chooseSparse(kn: Float32Array, M: number, K: number, N: number, rowsOk = false): SparseKind {
  let nnz = 0;
  for (let i = 0; i < kn.length; i++) if (kn[i] !== 0) nnz++;
  // more than 60% nonzero: no sparse kernel can win (and dense models skip the block counts)
  if (nnz > 0.6 * kn.length || K > 65536 || K === 0 || N === 0) return { kind: 'dense' };
  const N8 = N >= 8 ? Math.ceil(N / 8) * 8 : N;
  const dense = M * K * N8 * (M >= 4 ? SPARSE_COST.dense4 : SPARSE_COST.dense1);
  const options: { k: SparseKind; cost: number }[] = [
    { k: { kind: 'block', G: 4 }, cost: M * (countBlocks(kn, K, N, 4) * SPARSE_COST.block4 + Math.ceil(N / 4) * SPARSE_COST.group) },
    { k: { kind: 'block', G: 8 }, cost: M * (countBlocks(kn, K, N, 8) * SPARSE_COST.block8 + Math.ceil(N / 8) * SPARSE_COST.group) },
  ];
  // elementwise zeros: 1x4 groups of columns whose nonzeros overlap (groupColumns)
  if (M < 4) {
    const order = groupColumns(kn, K, N, 4);
    if (order) {
      options.push({ k: { kind: 'block', G: 4, order },
        cost: M * (countOrderedBlocks(kn, K, N, 4, order) * SPARSE_COST.block4 + (order.length / 4) * (SPARSE_COST.group + SPARSE_COST.permStore)) });
    }
  }
  // 2:4 weights (what --prune-mode 2:4 asks for) run the 2:4 kernel, or the block kernel when that
  // is cheaper, even where neither beats dense (x86 lowers i8x16.swizzle to two instructions:
  // ~0.9x of dense at batch 1, README Benchmarks)
  const two4 = is24(kn, K, N);
  if (two4) options.push({ k: { kind: '2:4' }, cost: M * (Math.ceil(N / 4) * (K / 4) * SPARSE_COST.cell24 + Math.ceil(N / 4) * SPARSE_COST.group) });
  // M >= 4 rows: SpMM over the rows (CHW_COST) plus the two transposes (A in, y out)
  if (rowsOk && M >= 4 && K <= 65536) {
    options.push({ k: { kind: 'rows' }, cost: nnz * chwNnzCost(M) + N * M * CHW_COST.output + (M * K + M * N) * CHW_COST.copy });
  }
  const best = options.reduce((a, b) => (b.cost < a.cost ? b : a));
  return two4 || best.cost < 0.95 * dense ? best.k : { kind: 'dense' };
}

/**
 * spmm_f32 operands of B [K, N] in column groups of G: values, u16 k indices, group pointers.
 * @param order the column of each lane (groupColumns; -1: none), default consecutive columns
 */
export function blockLayout(kn: Float32Array, K: number, N: number, G: number, order?: Int32Array): { vals: Float32Array; idx: Uint16Array; ptr: Int32Array } {
  const J = Math.ceil(N / G);
  const ptr = new Int32Array(J + 1);
  const ks: number[] = [];
  const vs: number[] = [];
  const col = (j: number, l: number): number => (order ? order[j * G + l]! : j * G + l < N ? j * G + l : -1);
  for (let j = 0; j < J; j++) {
    ptr[j] = ks.length;
    for (let k = 0; k < K; k++) {
      let any = false;
      for (let l = 0; l < G; l++) if (col(j, l) >= 0 && kn[k * N + col(j, l)] !== 0) any = true;
      if (!any) continue;
      ks.push(k);
      for (let l = 0; l < G; l++) vs.push(col(j, l) >= 0 ? kn[k * N + col(j, l)]! : 0);
    }
  }
  ptr[J] = ks.length;
  return { vals: Float32Array.from(vs), idx: Uint16Array.from(ks), ptr };
}

/**
 * spmm24_f32 cells of B [K, N] (2:4 along K): per (column group j, k group q), j outer, w0[4], w1[4]
 * (each column's first / second kept weight; zero when fewer are kept) and the 2-bit k offsets as a
 * u16 code (bits 2l: lane l's first, 8 + 2l: its second). `cells` is the expanded 64-byte form the
 * kernel reads (sparse_pack_f32 mode 1 writes the same bytes from values + codes).
 */
export function layout24(kn: Float32Array, K: number, N: number): { values: Float32Array; codes: Uint16Array; cells: Uint8Array } {
  const J = Math.ceil(N / 4);
  const Q = K / 4;
  const values = new Float32Array(J * Q * 8);
  const codes = new Uint16Array(J * Q);
  const cells = new Uint8Array(J * Q * 64);
  const cf = new Float32Array(cells.buffer);
  for (let j = 0; j < J; j++) {
    for (let q = 0; q < Q; q++) {
      const c = j * Q + q;
      let code = 0;
      for (let l = 0; l < 4; l++) {
        const n = j * 4 + l;
        const kept: number[] = [];
        if (n < N) for (let i = 0; i < 4; i++) if (kn[(4 * q + i) * N + n] !== 0) kept.push(i);
        const i0 = kept[0] ?? 0;
        const i1 = kept[1] ?? (i0 === 3 ? 2 : 3);
        values[c * 8 + l] = kept.length > 0 ? kn[(4 * q + i0) * N + n]! : 0;
        values[c * 8 + 4 + l] = kept.length > 1 ? kn[(4 * q + i1) * N + n]! : 0;
        code |= (i0 << (2 * l)) | (i1 << (8 + 2 * l));
        for (let b = 0; b < 4; b++) {
          cells[c * 64 + 32 + l * 4 + b] = i0 * 4 + b;
          cells[c * 64 + 48 + l * 4 + b] = i1 * 4 + b;
        }
      }
      codes[c] = code;
      cf.set(values.subarray(c * 8, c * 8 + 8), c * 16);
    }
  }
  return { values, codes, cells };
}

/**
 * An f32 blob stored as a bitmap and its nonzero values when that is smaller (sparse_pack_f32 mode
 * 0 expands it at instantiation), else as f32.
 * @param c lowering context @param data the blob's f32 values (kernel layout)
 */
export function sparseStored(c: LowerCtx, data: Float32Array): Word {
  let nnz = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) nnz++;
  const words = Math.ceil(data.length / 32);
  // --fp16 stores f16-exact blobs at 2 bytes a value: the bitmap form (f32 values) must beat that
  const dense = data.length * (c.opts.f16Weights ? 2 : 4);
  if ((words + nnz) * 4 >= dense * 0.9) return c.blob(data);
  const src = new Uint32Array(words + nnz);
  const vals = new Float32Array(src.buffer, words * 4, nnz);
  let v = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) continue;
    src[i >> 5]! |= 1 << (i & 31);
    vals[v++] = data[i]!;
  }
  return c.packedBlob(new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    { kernel: 'sparse_pack_f32', src: new Uint8Array(src.buffer), words: [i32(0), i32(data.length)] });
}

/**
 * Emits y[M, N] = act(alpha * A[M, K] B + bias) through a sparse kernel when chooseSparse says it
 * pays; returns false (nothing emitted) for the dense kernel.
 * @param kn constant B row-major [K, N] @param lda A's row stride (elements)
 */
export function sparseGemm(c: LowerCtx, A: Word, kn: Float32Array, C: Word, bias: Word, bmode: number, M: number, N: number, K: number,
  lda: number, alpha: number, act: FusedAct, io: { reads: (number | null)[]; writes: number[] }): boolean {
  const ch = chooseSparse(kn, M, K, N, bmode === BIAS.none || bmode === BIAS.col);
  const epi = [f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1), f32(alpha)];
  if (ch.kind === 'rows') {
    // y^T [N, M] = B^T [N, K] x^T [K, M]: x transposed into a temporary, SpMM over its rows (the M
    // dimension, contiguous), transposed back; alpha folded into the weights, bias per output row
    const bt = new Float32Array(N * K);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = Math.fround(alpha * kn[k * N + n]!);
    const l = csrRows(bt, N, K);
    const at = c.temp(M * K * 4), yt = c.temp(N * M * 4);
    const bias0 = io.reads.filter((r) => r !== null && !io.writes.includes(r));
    copyView(c, { k: 'buf', id: at, off: 0 }, [M, 1], A, [1, lda], [K, M], { reads: io.reads, writes: [at] });
    c.emit('spmm_chw_f32', [{ k: 'buf', id: at, off: 0 }, c.blob(l.vals), c.blob(new Uint8Array(l.idx.buffer)), c.blob(l.ptr), bmode === BIAS.col ? bias : NULL,
      { k: 'buf', id: yt, off: 0 }, i32(1), i32(K), i32(N), i32(M), f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1)],
    { reads: [at, ...bias0], writes: [yt] });
    copyView(c, C, [N, 1], { k: 'buf', id: yt, off: 0 }, [1, M], [M, N], { reads: [yt], writes: io.writes });
    return true;
  }
  if (ch.kind === 'block') {
    const l = blockLayout(kn, K, N, ch.G, ch.order);
    const idx = new Uint8Array(l.idx.buffer);
    c.emit('spmm_f32', [A, sparseStored(c, l.vals), c.blob(idx), c.blob(l.ptr), C, bias, i32(M), i32(N), i32(lda), i32(N), i32(ch.G), i32(bmode), ...epi, SCRATCH,
      ch.order ? c.blob(ch.order) : NULL],
      { ...io, scratch: 32 });
    return true;
  }
  if (ch.kind === '2:4') {
    const l = layout24(kn, K, N);
    const src = new Uint8Array(l.values.byteLength + l.codes.byteLength);
    src.set(new Uint8Array(l.values.buffer), 0);
    src.set(new Uint8Array(l.codes.buffer), l.values.byteLength);
    const cells = c.packedBlob(l.cells, { kernel: 'sparse_pack_f32', src, words: [i32(1), i32(l.codes.length)] });
    c.emit('spmm24_f32', [A, cells, C, bias, i32(M), i32(N), i32(K), i32(lda), i32(N), i32(bmode), ...epi], io);
    return true;
  }
  return false;
}

/**
 * Cost (a dense MAC of the conv GEMM = SPARSE_COST.dense4) of spmm_chw_f32 per nonzero weight and
 * pixel, and per output (row bookkeeping, bias, epilogue, store), fitted to single 1x1 convs of
 * MobileNetV2 shapes (C -> K at HxW: 24 -> 144 at 56x56 ... 160 -> 960 at 7x7, 384 -> 64 at 14x14) at
 * 30% and 50% density: 0.045-0.064 ns per nonzero-pixel and 0.46-0.86 ns per output, against
 * 0.044-0.067 ns per dense MAC (spmm_chw_f32 1.5-2.0x faster than dense at 30%, 1.1-1.3x at 50%);
 * `nnzPixel4` / `nnzPixel1`: the same in the 4-pixel and single-pixel tails (per pixel: one
 * vector per row, two rows interleaved); `copy`: one element of a strided transpose (row-SpMM Gemm;
 * fitted to Gemm M = 4..128 at 30% density, `node dist/bench/sparse-layers.js`: 0.9-1.1x of dense at
 * M = 4..12, 1.2-2.2x at M = 16..128).
 */
export const CHW_COST = { nnzPixel: 0.65, nnzPixel4: 1.6, nnzPixel1: 4, output: 7, copy: 20 } as const;

/** CHW_COST of one nonzero weight over P pixels: 16-pixel blocks, then 4-pixel vectors, then single pixels. */
export function chwNnzCost(P: number): number {
  const b16 = Math.floor(P / 16) * 16, b4 = Math.floor((P - b16) / 4) * 4;
  return b16 * CHW_COST.nnzPixel + b4 * CHW_COST.nnzPixel4 + (P - b16 - b4) * CHW_COST.nnzPixel1;
}

/** CSR rows of W [K, C] (row-major): f32 nonzeros, u16 column of each, i32 row pointers [K + 1]. */
export function csrRows(w: Float32Array, K: number, C: number): { vals: Float32Array; idx: Uint16Array; ptr: Int32Array } {
  const ptr = new Int32Array(K + 1);
  let nnz = 0;
  for (let i = 0; i < K * C; i++) if (w[i] !== 0) nnz++;
  const vals = new Float32Array(nnz);
  const idx = new Uint16Array(nnz);
  let o = 0;
  for (let k = 0; k < K; k++) {
    ptr[k] = o;
    for (let ci = 0; ci < C; ci++) {
      const v = w[k * C + ci]!;
      if (v === 0) continue;
      vals[o] = v;
      idx[o++] = ci;
    }
  }
  ptr[K] = o;
  return { vals, idx, ptr };
}

/**
 * True when spmm_chw_f32 is estimated at least 5% cheaper than the dense GEMM for a 1x1 conv with
 * weights W [K, C] over P pixels (CHW_COST; any pattern of zeros, elementwise included).
 */
export function chooseChw(w: Float32Array, K: number, C: number, P: number): boolean {
  if (C > 65536 || K === 0 || C === 0 || P < 4) return false;
  let nnz = 0;
  for (let i = 0; i < K * C; i++) if (w[i] !== 0) nnz++;
  const dense = K * C * P * SPARSE_COST.dense4;
  return (nnz * chwNnzCost(P) + K * P * CHW_COST.output) < 0.95 * dense;
}

/**
 * Emits a 1x1 convolution (stride 1, no padding, one group; NCHW, P = H * W pixels) with sparse
 * constant weights W [K, C] through spmm_chw_f32 when chooseChw says it pays; returns false (nothing
 * emitted) otherwise. Weights are stored as CSR rows (values, u16 channels, row pointers).
 */
export function sparseConv1x1(c: LowerCtx, X: Word, w: Float32Array, bias: Word, Y: Word, B: number, C: number, K: number, P: number,
  act: FusedAct, io: { reads: (number | null)[]; writes: number[] }): boolean {
  if (!chooseChw(w, K, C, P)) return false;
  const l = csrRows(w, K, C);
  c.emit('spmm_chw_f32', [X, c.blob(l.vals), c.blob(new Uint8Array(l.idx.buffer)), c.blob(l.ptr), bias, Y, i32(B), i32(C), i32(K), i32(P),
    f32(act.lo), f32(act.hi), i32(act.code), f32(act.a0), f32(act.a1)], io);
  return true;
}
