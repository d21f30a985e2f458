/**
 * Unstructured pruning in blocks (prune/magnitude.ts `block`, the CLI's --prune-block): whole 1 x B
 * blocks of consecutive output features of Gemm/MatMul weights go, chosen by mean |w| (checked
 * against a brute-force ranking here); convolution weights stay elementwise; bad block sizes are
 * usage errors; the summary names the pattern.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { optimize } from '../../compiler/pipeline.js';
import { pruneModel } from '../../prune/index.js';
import { rng as rand } from '../helpers/rng.js';


const r = rand(1);
const W1 = new Tensor('f32', [30, 64], new Float32Array(30 * 64).map(() => r() * 2 - 1)); // Gemm transB: [N, K]
const W2 = new Tensor('f32', [30, 10], new Float32Array(300).map(() => r() * 2 - 1)); // MatMul: [K, N]
const WC = new Tensor('f32', [8, 4, 3, 3], new Float32Array(288).map(() => r() * 2 - 1));

function graph(): Graph {
  const b = new GraphBuilder('blocks', { '': 17 });
  const img = b.input('img', 'f32', [1, 4, 6, 6]);
  const c1 = b.node('Conv', [img, b.const('wc0', new Tensor('f32', [4, 4, 1, 1], new Float32Array(16).fill(0.5)))]);
  const c = b.node('Conv', [c1, b.const('wc', WC)], { pads: [1, 1, 1, 1] });
  const x = b.input('x', 'f32', [1, 64]);
  const h = b.node('Gemm', [x, b.const('w1', W1)], { transB: 1 });
  b.output(b.node('MatMul', [h, b.const('w2', W2)]), c);
  const g = b.build();
  optimize(g, { target: 'wasm' });
  return g;
}

function constNamed(g: Graph, name: string): Float32Array {
  for (const [id, t] of g.consts) if (g.value(id).name === name) return t.data as Float32Array;
  throw new Error(`no constant ${name}`);
}

describe('unstructured pruning in 1 x B blocks', () => {
  for (const B of [4, 8]) {
    it(`B = ${B}: blocks along the output axis are all zero or all kept, lowest mean |w| first`, () => {
      const p = pruneModel(graph(), { mode: 'unstructured', ratio: 0.6, block: B, scope: 'layer', minParams: 1, skipFirstConv: true });
      expect(p.summary.pattern).toMatch(new RegExp(`^block 1x${B}`));
      // Gemm weight [N=30, K=64]: blocks are rows n0..n0+B-1 (ragged last block) at one k
      const w = constNamed(p.graph, 'w1');
      const blocks: { mean: number; zero: boolean }[] = [];
      for (let k = 0; k < 64; k++) {
        for (let n0 = 0; n0 < 30; n0 += B) {
          const idx = Array.from({ length: Math.min(B, 30 - n0) }, (_, i) => (n0 + i) * 64 + k);
          const zeros = idx.filter((i) => w[i] === 0).length;
          expect(zeros === 0 || zeros === idx.length).toBe(true);
          blocks.push({ mean: idx.reduce((a, i) => a + Math.abs((W1.data as Float32Array)[i]!), 0) / idx.length, zero: zeros > 0 });
        }
      }
      // every zeroed block has a mean |w| no larger than every kept one
      const maxZero = Math.max(...blocks.filter((b) => b.zero).map((b) => b.mean));
      const minKept = Math.min(...blocks.filter((b) => !b.zero).map((b) => b.mean));
      expect(maxZero).toBeLessThanOrEqual(minKept);
      // at least round(0.6 * size) zeros, at most one block more
      const zeros = w.filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThanOrEqual(Math.round(0.6 * w.length));
      expect(zeros).toBeLessThan(Math.round(0.6 * w.length) + B);
      // MatMul weight [K=30, N=10]: blocks along N (axis 1)
      const w2 = constNamed(p.graph, 'w2');
      for (let k = 0; k < 30; k++) {
        for (let n0 = 0; n0 < 10; n0 += B) {
          const vals = Array.from({ length: Math.min(B, 10 - n0) }, (_, i) => w2[k * 10 + n0 + i]!);
          expect(vals.every((v) => v === 0) || vals.every((v) => v !== 0)).toBe(true);
        }
      }
      // the conv weight is pruned elementwise (no block structure required), to the same ratio
      const wc = constNamed(p.graph, 'wc');
      expect(wc.filter((v) => v === 0).length).toBe(Math.round(0.6 * 288));
      const layer = p.summary.layers.find((l) => l.op === 'Conv' || l.op === 'FusedConv');
      expect(layer).toBeDefined();
    });
  }

  it('global scope keeps the total: round(ratio x eligible weights), up to one block per layer', () => {
    const p = pruneModel(graph(), { mode: 'unstructured', ratio: 0.5, block: 4, minParams: 1 });
    const total = p.summary.layers.reduce((a, l) => a + l.size, 0);
    const zero = p.summary.layers.reduce((a, l) => a + (l.size - l.after), 0);
    expect(zero).toBeGreaterThanOrEqual(Math.round(0.5 * total));
    expect(zero).toBeLessThan(Math.round(0.5 * total) + 4 * p.summary.layers.length);
  });

  it('bad block sizes and modes are usage errors', () => {
    const bad = (o: Parameters<typeof pruneModel>[1]) => {
      try {
        pruneModel(graph(), o);
      } catch (e) {
        expect(e).toBeInstanceOf(EdgecError);
        expect((e as EdgecError).kind).toBe('usage');
        return (e as EdgecError).message;
      }
      throw new Error('no error');
    };
    expect(bad({ mode: 'unstructured', ratio: 0.5, block: 0 })).toMatch(/prune block must be an integer/);
    expect(bad({ mode: 'unstructured', ratio: 0.5, block: 2.5 })).toMatch(/prune block must be an integer/);
    expect(bad({ mode: 'channel', ratio: 0.5, block: 4 })).toMatch(/applies to --prune-mode unstructured/);
  });
});
