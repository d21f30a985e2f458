/**
 * Sparse weights on wasm (targets/wasm/ops/sparse.ts, runtime-wasm/assembly/sparse.ts): Gemm / MatMul
 * with pruned constant weights run the block kernel (spmm_f32, G = 4 / 8, consecutive or
 * column-grouped), the 2:4 kernel (spmm24_f32), row SpMM (spmm_chw_f32, M >= 4) or the dense kernel on bitmap-stored weights, and match the reference interpreter
 * (fp32, |got - want| <= 1e-5 * (1 + |want|)) with SIMD and with the scalar kernel library. Edge
 * cases: empty column groups, fully dense groups, N and K not multiples of the group / 4, M > 1,
 * bias of every shape Gemm takes, fused activations.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { emitWasmDynamic } from '../../targets/wasm/dynamic/emit.js';
import { loadWasmArtifact, writeTempArtifact } from '../../targets/wasm/runner.js';
import fs from 'node:fs';
import { blockLayout, chooseSparse, countBlocks, countOrderedBlocks, groupColumns, is24, layout24 } from '../../targets/wasm/ops/sparse.js';
import { randomTensor, runOnWasm, expectWasmF32MatchesRef } from './wasm-helpers.js';
import { rng as rand } from '../helpers/rng.js';


type Pattern = 'block4' | 'block8' | '2:4' | 'elementwise';

/**
 * W [N, K] (Gemm transB = 1) with `pattern` zeros: blocks at density ~0.3, output group 0 all zero,
 * output group 1 fully dense (when N >= 2 groups); 2:4: 2 of 4 along K, some groups keeping 1 or 0; elementwise: 50%.
 */
function sparseW(N: number, K: number, pattern: Pattern, seed: number): Tensor {
  const r = rand(seed);
  const w = new Float32Array(N * K).map(() => r() * 2 - 1);
  const G = pattern === 'block8' ? 8 : 4;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const g = Math.floor(n / G);
      if (pattern === 'elementwise') {
        if (r() < 0.5) w[n * K + k] = 0;
      } else if (pattern === '2:4') {
        if (k % 4 === 0) {
          const keep = [0, 1, 2, 3].sort(() => r() - 0.5).slice(0, r() < 0.1 ? 1 : r() < 0.05 ? 0 : 2);
          for (let i = 0; i < 4 && k + i < K; i++) if (!keep.includes(i)) w[n * K + k + i] = 0;
        }
      } else if ((g === 0 && N >= 2 * G) || ((g !== 1 || N < 2 * G) && (k * 7919 + g * 104729 + seed) % 10 >= 3)) {
        w[n * K + k] = 0;
      }
    }
  }
  return new Tensor('f32', [N, K], w);
}

/** Gemm(x[M, K], W[N, K]^T, bias) -> act; `bias` shapes: [N], [1], [M, N], or none. */
function gemmGraph(M: number, K: number, N: number, w: Tensor, bias: 'n' | 'scalar' | 'mn' | 'none', act: 'none' | 'Relu' | 'Sigmoid', seed: number): Graph {
  const b = new GraphBuilder('sparse', { '': 17 });
  const x = b.input('x', 'f32', [M, K]);
  const wv = b.const('w', w);
  const shape = bias === 'n' ? [N] : bias === 'scalar' ? [1] : [M, N];
  const bv = bias === 'none' ? null : b.const('b', randomTensor(shape, seed + 1));
  let y = b.node('Gemm', bv === null ? [x, wv] : [x, wv, bv], { transB: 1, alpha: 0.75, beta: 1.25 });
  if (act !== 'none') y = b.node(act, [y]);
  b.output(y);
  const g = b.build();
  optimize(g, { target: 'wasm' });
  return g;
}

function kernelsOf(g: Graph): string[] {
  return lowerGraph(g).steps.map((s) => s.kernel);
}

async function checkAgainstRef(g: Graph, M: number, K: number, seed: number): Promise<void> {
  const x = randomTensor([M, K], seed + 7);
  await expectWasmF32MatchesRef(g, x);
}

describe('wasm sparse Gemm kernels vs the reference', () => {
  const cases: { name: string; M: number; K: number; N: number; pattern: Pattern; kernel: string; bias: 'n' | 'scalar' | 'mn' | 'none'; act: 'none' | 'Relu' | 'Sigmoid' }[] = [
    { name: 'block 4, N % 4 != 0, odd K', M: 1, K: 301, N: 19, pattern: 'block4', kernel: 'spmm_f32', bias: 'n', act: 'none' },
    { name: 'block 4, M = 3, bias [M, N], Relu', M: 3, K: 200, N: 36, pattern: 'block4', kernel: 'spmm_f32', bias: 'mn', act: 'Relu' },
    { name: 'block 8, N % 8 != 0, sigmoid', M: 1, K: 257, N: 45, pattern: 'block8', kernel: 'spmm_f32', bias: 'scalar', act: 'Sigmoid' },
    { name: 'block 8, N = 5 (one partial group), no bias', M: 2, K: 300, N: 5, pattern: 'block8', kernel: 'spmm_f32', bias: 'none', act: 'none' },
    { name: '2:4, N % 4 != 0', M: 1, K: 128, N: 23, pattern: '2:4', kernel: 'spmm24_f32', bias: 'n', act: 'Relu' },
    { name: '2:4, M = 2, bias [M, N]', M: 2, K: 64, N: 16, pattern: '2:4', kernel: 'spmm24_f32', bias: 'mn', act: 'none' },
    { name: 'elementwise 50%: dense kernel, bitmap-stored weights', M: 1, K: 256, N: 64, pattern: 'elementwise', kernel: 'gemm_f32', bias: 'n', act: 'Relu' },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.name, async () => {
      const w = sparseW(c.N, c.K, c.pattern, 11 + i);
      const g = gemmGraph(c.M, c.K, c.N, w, c.bias, c.act, 100 + i);
      const ks = kernelsOf(g);
      expect(ks).toContain(c.kernel);
      if (c.kernel !== 'gemm_f32') expect(ks).not.toContain('gemm_f32');
      await checkAgainstRef(g, c.M, c.K, i);
    });
  }

  it('MatMul with a sparse constant B and a batch folded into M', async () => {
    const K = 96, N = 40;
    const wt = sparseW(N, K, 'block4', 5);
    const kn = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) kn[k * N + n] = (wt.data as Float32Array)[n * K + k]!;
    const b = new GraphBuilder('mm', { '': 17 });
    const x = b.input('x', 'f32', [2, 3, K]);
    b.output(b.node('MatMul', [x, b.const('B', new Tensor('f32', [K, N], kn))]));
    const g = b.build();
    optimize(g, { target: 'wasm' });
    expect(kernelsOf(g).some((k) => k.startsWith('spmm'))).toBe(true);
    expect(kernelsOf(g)).not.toContain('gemm_f32');
    const xt = randomTensor([2, 3, K], 3);
    const want = runGraph(g, [xt])[0]!.data as Float32Array;
    const got = (await runOnWasm(g, [xt])).outputs[0]!.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
  });

  it('elementwise 70% with hidden column structure runs column-permuted groups (lanes stored to their columns)', async () => {
    // N = 54 columns: 6 patterns of nonzero k shared by 9 columns each, interleaved (column n has
    // pattern n % 6), so consecutive 1x4 groups mix patterns and only a permutation finds blocks
    const K = 150, N = 54;
    const r = rand(77);
    const pat = Array.from({ length: 6 }, () => Array.from({ length: K }, () => r() < 0.3));
    const w = new Float32Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = pat[n % 6]![k]! ? r() * 2 - 1 : 0;
    for (const M of [1, 2]) {
      for (const act of ['Relu', 'none'] as const) {
        const g = gemmGraph(M, K, N, new Tensor('f32', [N, K], w), M === 1 ? 'n' : 'mn', act, 40 + M);
        const steps = lowerGraph(g).steps.filter((s) => s.kernel === 'spmm_f32');
        expect(steps.length).toBe(1);
        await checkAgainstRef(g, M, K, 50 + M);
      }
    }
    const kn = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) kn[k * N + n] = w[n * K + k]!;
    const ch = chooseSparse(kn, 1, K, N);
    expect(ch.kind === 'block' && ch.order !== undefined).toBe(true);
  });

  it('elementwise 70% with M >= 4 rows runs SpMM over the rows (spmm_chw_f32 between two transposes)', async () => {
    const r = rand(91);
    // M = 32: two 16-row blocks; 21 = 16 + 4 + 1 rows: every path of the kernel
    for (const [M, K, N, bias, act] of [[32, 256, 129, 'n', 'Relu'], [21, 200, 160, 'none', 'none'], [21, 50, 9, 'scalar', 'Sigmoid']] as const) {
      const w = new Float32Array(N * K).map(() => (r() < 0.75 ? 0 : r() * 2 - 1));
      const g = gemmGraph(M, K, N, new Tensor('f32', [N, K], w), bias, act, M);
      const ks = kernelsOf(g);
      if (bias === 'scalar') expect(ks).not.toContain('spmm_chw_f32');
      else {
        expect(ks).toContain('spmm_chw_f32');
        expect(ks).not.toContain('gemm_f32');
      }
      await checkAgainstRef(g, M, K, M + 1);
    }
    // bias [M, N] keeps another kernel
    const w = new Float32Array(40 * 64).map(() => (r() < 0.7 ? 0 : r() - 0.5));
    const g = gemmGraph(8, 64, 40, new Tensor('f32', [40, 64], w), 'mn', 'none', 3);
    expect(kernelsOf(g)).not.toContain('spmm_chw_f32');
    await checkAgainstRef(g, 8, 64, 4);
  });

  it('dense weights keep gemm_f32; a zero weight matrix runs a sparse kernel with no blocks', async () => {
    const dense = gemmGraph(1, 64, 32, randomTensor([32, 64], 1), 'n', 'none', 1);
    expect(kernelsOf(dense)).toEqual(['gemm_f32']);
    const zero = gemmGraph(1, 64, 32, new Tensor('f32', [32, 64], new Float32Array(32 * 64)), 'n', 'Relu', 2);
    expect(kernelsOf(zero)).not.toContain('gemm_f32');
    await checkAgainstRef(zero, 1, 64, 9);
  });
});

describe('sparse kernels in a dynamic-shape artifact (step table, blobs written as laid out)', () => {
  it('Gemm with block and 2:4 weights over a symbolic batch', async () => {
    const K = 64, N = 24;
    const b = new GraphBuilder('dyn', { '': 17 });
    const x = b.input('x', 'f32', ['B', K]);
    const h = b.node('Gemm', [x, b.const('w1', sparseW(N, K, 'block4', 21)), b.const('b1', randomTensor([N], 22))], { transB: 1 });
    const y = b.node('Gemm', [b.node('Relu', [h]), b.const('w2', sparseW(N, N, '2:4', 23))], { transB: 1 });
    b.output(y);
    const g = b.build();
    optimize(g, { target: 'wasm' });
    const art = emitWasmDynamic(g, { maxInputShapes: { x: [4, K] }, manifest: { edgec: 'test', precision: 'fp32' } });
    const dir = writeTempArtifact(art.files);
    try {
      const model = await loadWasmArtifact(dir) as unknown as { run(f: Record<string, { data: Float32Array; shape: number[] }>): Record<string, Float32Array> };
      for (const B of [1, 3]) {
        const xt = randomTensor([B, K], 30 + B);
        const want = runGraph(g, [xt])[0]!.data as Float32Array;
        const got = Object.values(model.run({ x: { data: xt.data as Float32Array, shape: [B, K] } }))[0]!;
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('row SpMM and sparse 1x1 convs in a dynamic-shape artifact', () => {
  it('Gemm (elementwise 75% zeros) and a pruned 1x1 conv over a symbolic batch, every batch size', async () => {
    const K = 256, N = 129;
    const r = rand(61);
    const w = new Tensor('f32', [N, K], new Float32Array(N * K).map(() => (r() < 0.75 ? 0 : r() * 2 - 1)));
    const b = new GraphBuilder('dynrows', { '': 17 });
    const x = b.input('x', 'f32', ['B', K]);
    b.output(b.node('Relu', [b.node('Gemm', [x, b.const('w', w), b.const('b', randomTensor([N], 62))], { transB: 1 })]));
    const xc = b.input('xc', 'f32', ['B', 40, 6, 6]);
    const wc = new Tensor('f32', [24, 40, 1, 1], new Float32Array(24 * 40).map(() => (r() < 0.8 ? 0 : r() - 0.5)));
    b.output(b.node('Conv', [xc, b.const('wc', wc)], { kernel_shape: [1, 1] }));
    const g = b.build();
    optimize(g, { target: 'wasm' });
    const art = emitWasmDynamic(g, { maxInputShapes: { x: [32, K], xc: [32, 40, 6, 6] }, manifest: { edgec: 'test', precision: 'fp32' } });
    const dir = writeTempArtifact(art.files);
    try {
      const model = await loadWasmArtifact(dir) as unknown as { run(f: Record<string, { data: Float32Array; shape: number[] }>): Record<string, Float32Array> };
      for (const B of [1, 5, 17, 32]) {
        const xt = randomTensor([B, K], 70 + B);
        const xct = randomTensor([B, 40, 6, 6], 90 + B);
        const want = runGraph(g, [xt, xct]).map((t) => t.data as Float32Array);
        const got = Object.values(model.run({ x: { data: xt.data as Float32Array, shape: [B, K] }, xc: { data: xct.data as Float32Array, shape: [B, 40, 6, 6] } }));
        expect(got.length).toBe(2);
        for (const [j, wv] of want.entries()) {
          expect(got[j]!.length).toBe(wv.length);
          for (let i = 0; i < wv.length; i++) expect(Math.abs(got[j]![i]! - wv[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(wv[i]!)));
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sparse layouts', () => {
  it('block layout lists exactly the nonzero blocks, k ascending, and round-trips', () => {
    const K = 13, N = 10;
    const r = rand(3);
    const kn = new Float32Array(K * N).map(() => (r() < 0.6 ? 0 : r() + 0.5));
    for (const G of [4, 8]) {
      const l = blockLayout(kn, K, N, G);
      const back = new Float32Array(K * N);
      for (let j = 0; j + 1 < l.ptr.length; j++) {
        for (let i = l.ptr[j]!; i < l.ptr[j + 1]!; i++) {
          if (i > l.ptr[j]!) expect(l.idx[i]!).toBeGreaterThan(l.idx[i - 1]!);
          let any = false;
          for (let c = 0; c < G; c++) {
            const v = l.vals[i * G + c]!;
            if (j * G + c < N) back[l.idx[i]! * N + j * G + c] = v;
            else expect(v).toBe(0);
            if (v !== 0) any = true;
          }
          expect(any).toBe(true);
        }
      }
      expect([...back]).toEqual([...kn]);
    }
  });

  it('column grouping: a permutation of the columns, never more blocks than consecutive groups on clustered patterns', () => {
    const r = rand(5);
    for (const [K, N] of [[40, 13], [70, 32], [33, 7]] as const) {
      const kn = new Float32Array(K * N).map(() => (r() < 0.7 ? 0 : r() + 0.1));
      const order = groupColumns(kn, K, N, 4)!;
      expect(order.length).toBe(Math.ceil(N / 4) * 4);
      expect([...order].filter((n) => n >= 0).sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
      // layout round-trip through the permuted lanes
      const l = blockLayout(kn, K, N, 4, order);
      const back = new Float32Array(K * N);
      for (let j = 0; j + 1 < l.ptr.length; j++) {
        for (let i = l.ptr[j]!; i < l.ptr[j + 1]!; i++) {
          for (let c = 0; c < 4; c++) {
            const n = order[j * 4 + c]!;
            if (n >= 0) back[l.idx[i]! * N + n] = l.vals[i * 4 + c]!;
            else expect(l.vals[i * 4 + c]).toBe(0);
          }
        }
      }
      expect([...back]).toEqual([...kn]);
      expect(l.idx.length).toBe(countOrderedBlocks(kn, K, N, 4, order));
    }
    // columns that repeat 4 patterns in turn: grouping recovers one pattern per group
    const K = 64, N = 32;
    const pats = Array.from({ length: 4 }, () => Array.from({ length: K }, () => r() < 0.3));
    const kn = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) kn[k * N + n] = pats[n % 4]![k]! ? 1 : 0;
    const order = groupColumns(kn, K, N, 4)!;
    let ideal = 0;
    for (const p of pats) ideal += 2 * p.filter(Boolean).length;
    expect(countOrderedBlocks(kn, K, N, 4, order)).toBe(ideal);
    expect(countBlocks(kn, K, N, 4)).toBeGreaterThan(ideal);
  });

  it('2:4 detection and cells', () => {
    const w = sparseW(6, 16, '2:4', 4);
    const kn = new Float32Array(16 * 6);
    for (let n = 0; n < 6; n++) for (let k = 0; k < 16; k++) kn[k * 6 + n] = (w.data as Float32Array)[n * 16 + k]!;
    expect(is24(kn, 16, 6)).toBe(true);
    const l = layout24(kn, 16, 6);
    // every weight is in its cell at the lane and k offset the code names
    for (let n = 0; n < 6; n++) {
      for (let q = 0; q < 4; q++) {
        const c = (n >> 2) * 4 + q, lane = n & 3;
        const code = l.codes[c]!;
        const got = new Float32Array(4);
        got[(code >> (2 * lane)) & 3]! += l.values[c * 8 + lane]!;
        got[(code >> (8 + 2 * lane)) & 3]! += l.values[c * 8 + 4 + lane]!;
        expect([...got]).toEqual([0, 1, 2, 3].map((i) => kn[(4 * q + i) * 6 + n]!));
      }
    }
    kn[0] = kn[6] = kn[12] = 1; // column 0: three nonzeros in k 0..2
    expect(is24(kn, 16, 6)).toBe(false);
  });

  it('the cost model keeps dense weights dense and takes blocks at 30% block density', () => {
    const K = 256, N = 256;
    const r = rand(9);
    const dense = new Float32Array(K * N).map(() => r() - 0.5);
    expect(chooseSparse(dense, 1, K, N).kind).toBe('dense');
    const blocks = dense.map((v, i) => ((Math.floor(i % N / 4) * 31 + Math.floor(i / N) * 17) % 10 < 3 ? v : 0));
    expect(chooseSparse(blocks, 1, K, N).kind).toBe('block');
  });
});
