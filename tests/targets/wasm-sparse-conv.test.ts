/**
 * Sparse 1x1 convolutions on wasm (spmm_chw_f32, targets/wasm/ops/sparse.ts sparseConv1x1): pruned
 * pointwise convs run SpMM over the pixels (XNNPACK's f32-spmm scheme) and match the reference
 * interpreter (fp32, |got - want| <= 1e-5 * (1 + |want|)) with SIMD and with the scalar kernel
 * library. Edge cases: random elementwise zeros, odd channel counts, pixel counts that are not a
 * multiple of 4 or 16, batch > 1, empty output rows, no bias, fused Relu / Clip / Sigmoid; strided,
 * padded and grouped 1x1 convs keep the dense kernel.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { optimize } from '../../compiler/pipeline.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { chooseChw, csrRows } from '../../targets/wasm/ops/sparse.js';
import { randomTensor, expectWasmF32MatchesRef } from './wasm-helpers.js';

/** W [K, C, 1, 1] uniform in [-1, 1) with each weight zero with probability `sparsity`; rows in `emptyRows` all zero. */
function sparseW(K: number, C: number, sparsity: number, seed: number, emptyRows: number[] = []): Tensor {
  const r = randomTensor([K * C * 2], seed, 0, 1).data as Float32Array;
  const w = new Float32Array(K * C);
  for (let i = 0; i < K * C; i++) w[i] = r[2 * i]! < sparsity || emptyRows.includes(Math.floor(i / C)) ? 0 : r[2 * i + 1]! * 2 - 1;
  return new Tensor('f32', [K, C, 1, 1], w);
}

interface ConvCase {
  name: string; B: number; C: number; K: number; H: number; W: number; sparsity: number;
  bias?: boolean; act?: 'Relu' | 'Clip' | 'Sigmoid'; strides?: number[]; pads?: number[]; group?: number; emptyRows?: number[];
}

function convGraph(c: ConvCase, seed: number): Graph {
  const b = new GraphBuilder('spconv', { '': 17 });
  const x = b.input('x', 'f32', [c.B, c.C, c.H, c.W]);
  const g = c.group ?? 1;
  const w = b.const('w', sparseW(c.K, c.C / g, c.sparsity, seed, c.emptyRows));
  const ins = c.bias === false ? [x, w] : [x, w, b.const('b', randomTensor([c.K], seed + 1))];
  let y = b.node('Conv', ins, { kernel_shape: [1, 1], strides: c.strides ?? [1, 1], pads: c.pads ?? [0, 0, 0, 0], group: g });
  if (c.act === 'Clip') y = b.node('Clip', [y, b.const('lo', new Tensor('f32', [], [0])), b.const('hi', new Tensor('f32', [], [6]))]);
  else if (c.act) y = b.node(c.act, [y]);
  b.output(y);
  const graph = b.build();
  optimize(graph, { target: 'wasm' });
  return graph;
}

async function checkAgainstRef(g: Graph, c: ConvCase, seed: number): Promise<void> {
  const x = randomTensor([c.B, c.C, c.H, c.W], seed + 7);
  await expectWasmF32MatchesRef(g, x);
}

const kernels = (g: Graph): string[] => lowerGraph(g).steps.map((s) => s.kernel);

describe('sparse 1x1 conv (spmm_chw_f32) vs the reference', () => {
  const sparse: ConvCase[] = [
    { name: '70% elementwise, 7x7 pixels (49: 16-blocks, a 4-block, 1 single), odd channels', B: 1, C: 37, K: 29, H: 7, W: 7, sparsity: 0.7, act: 'Relu' },
    { name: '80%, batch 2, 9x3 pixels (16 + 2 x 4 + 3), no bias, empty rows', B: 2, C: 24, K: 19, H: 9, W: 3, sparsity: 0.8, bias: false, emptyRows: [0, 7, 18] },
    { name: '70%, 12x12 pixels, Clip 0..6 (ReLU6)', B: 1, C: 64, K: 48, H: 12, W: 12, sparsity: 0.7, act: 'Clip' },
    { name: '90%, 4x5 pixels (16 + 4), Sigmoid', B: 1, C: 33, K: 20, H: 4, W: 5, sparsity: 0.9, act: 'Sigmoid' },
  ];
  for (const [i, c] of sparse.entries()) {
    it(c.name, async () => {
      const g = convGraph(c, 10 + i);
      const ks = kernels(g);
      expect(ks).toContain('spmm_chw_f32');
      expect(ks).not.toContain('conv2d_f32');
      await checkAgainstRef(g, c, i);
    });
  }

  const dense: ConvCase[] = [
    { name: 'stride 2 keeps conv2d_f32', B: 1, C: 16, K: 16, H: 8, W: 8, sparsity: 0.8, strides: [2, 2] },
    { name: 'padding keeps conv2d_f32', B: 1, C: 16, K: 16, H: 6, W: 6, sparsity: 0.8, pads: [1, 1, 1, 1] },
    { name: 'groups keep conv2d_f32', B: 1, C: 16, K: 16, H: 6, W: 6, sparsity: 0.8, group: 2 },
    { name: 'dense weights keep conv2d_f32', B: 1, C: 32, K: 32, H: 8, W: 8, sparsity: 0 },
  ];
  for (const [i, c] of dense.entries()) {
    it(c.name, async () => {
      const g = convGraph(c, 40 + i);
      const ks = kernels(g);
      expect(ks).not.toContain('spmm_chw_f32');
      expect(ks).toContain('conv2d_f32');
      await checkAgainstRef(g, c, 20 + i);
    });
  }
});

describe('CSR rows and the cost model', () => {
  it('csrRows lists every nonzero once, columns ascending, and round-trips', () => {
    const K = 9, C = 23;
    const w = sparseW(K, C, 0.6, 3, [4]).data as Float32Array;
    const l = csrRows(w, K, C);
    const back = new Float32Array(K * C);
    for (let k = 0; k < K; k++) {
      for (let i = l.ptr[k]!; i < l.ptr[k + 1]!; i++) {
        if (i > l.ptr[k]!) expect(l.idx[i]!).toBeGreaterThan(l.idx[i - 1]!);
        expect(l.vals[i]).not.toBe(0);
        back[k * C + l.idx[i]!] = l.vals[i]!;
      }
    }
    expect(l.ptr[5]).toBe(l.ptr[4]);
    expect([...back]).toEqual([...w]);
  });

  it('takes the sparse kernel at 70% zeros and keeps dense weights dense', () => {
    const K = 96, C = 64, P = 196;
    expect(chooseChw(sparseW(K, C, 0.7, 1).data as Float32Array, K, C, P)).toBe(true);
    expect(chooseChw(sparseW(K, C, 0, 2).data as Float32Array, K, C, P)).toBe(false);
    // fewer than 4 pixels: no vector to fill
    expect(chooseChw(sparseW(K, C, 0.7, 1).data as Float32Array, K, C, 3)).toBe(false);
  });
});
