/**
 * N:M semi-structured sparsity (NVIDIA ASP / Ampere sparse tensor cores; 2:4 by default): in every
 * group of M consecutive weights along the reduction axis K (Conv: input channels at a fixed
 * output channel and kernel position; Gemm/MatMul: the K index at a fixed output feature), only
 * the N largest magnitudes stay (ties: lower K index kept). A layer whose K is not a multiple of
 * M is skipped (hardware needs whole groups). Eligibility defaults as in magnitude.ts
 * (first conv and layers with < 256 weights stay dense). Idempotent.
 */
import { Graph } from '../compiler/ir/graph.js';
import { usage } from '../compiler/errors.js';
import { applyMask, countNonzero, forEachFiber } from './common.js';
import { EligibilityOptions, LayerPruneInfo, SkipInfo, eligibleWeights } from './magnitude.js';

export interface NMOptions extends EligibilityOptions {
  /** Weights kept per group (default 2). */
  n?: number;
  /** Group size along K (default 4). */
  m?: number;
}

/**
 * Keep-mask for N:M along `axis` of a weight of shape `shape`.
 * @param data weight values @param shape weight shape @param axis the K axis @param n kept per group @param m group size
 */
export function nmMask(data: ArrayLike<number>, shape: readonly number[], axis: number, n: number, m: number): Uint8Array {
  const keep = new Uint8Array(data.length);
  forEachFiber(shape, axis, (idx) => {
    for (let s = 0; s + m <= idx.length; s += m) {
      const grp = idx.slice(s, s + m);
      // stable: sort by |w| descending, index ascending
      const order = grp.map((flat, k) => ({ flat, k, mag: Math.abs(data[flat]!) }))
        .sort((a, b) => b.mag - a.mag || a.k - b.k);
      for (let j = 0; j < n; j++) keep[order[j]!.flat] = 1;
    }
  });
  return keep;
}

/**
 * Applies N:M sparsity to the eligible weight layers in place; records
 * `meta.sparsity = {pattern: 'N:M', n, m, axis, nnz, size, sparsity}` on each pruned node.
 * @param g graph (edited in place) @param opts n, m and eligibility
 */
export function pruneNM(g: Graph, opts: NMOptions = {}): { layers: LayerPruneInfo[]; skipped: SkipInfo[] } {
  const n = opts.n ?? 2;
  const m = opts.m ?? 4;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 2 || n >= m) {
    throw usage(`N:M sparsity needs integers 1 <= N < M, got ${n}:${m}`);
  }
  const { groups, skipped } = eligibleWeights(g, opts);
  const layers: LayerPruneInfo[] = [];
  for (const gr of groups) {
    const l = gr.layers[0]!;
    const K = gr.tensor.shape[l.inAxis]!;
    if (K % m !== 0) {
      skipped.push({ node: l.node.name, reason: `reduction axis K = ${K} is not a multiple of ${m}` });
      continue;
    }
    const before = countNonzero(gr.tensor);
    const pruned = applyMask(gr.tensor, nmMask(gr.tensor.data as ArrayLike<number>, gr.tensor.shape, l.inAxis, n, m));
    g.consts.set(gr.weight, pruned);
    const after = countNonzero(pruned);
    const sparsity = 1 - after / pruned.size;
    for (const x of gr.layers) {
      x.node.meta = { ...x.node.meta, sparsity: { pattern: `${n}:${m}`, n, m, axis: l.inAxis, nnz: after, size: pruned.size, sparsity } };
    }
    layers.push({ node: l.node.name, op: l.node.op, before, after, size: pruned.size, sizeAfter: pruned.size, sparsity });
  }
  return { layers, skipped };
}
