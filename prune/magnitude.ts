/**
 * Unstructured magnitude pruning (Han et al. 2015; TF-MOT `prune_low_magnitude`, torch
 * `global_unstructured`): the smallest-|w| weights of the eligible weight layers become exactly 0.
 * The graph keeps its shapes; sparse-aware targets and compressed storage gain from the zeros.
 *
 * Defaults (each configurable):
 * - **scope 'global'**: one magnitude threshold over all eligible weights, so layers with many
 *   small weights give up more; each layer's sparsity is capped at `maxLayerSparsity`
 *   (default max(0.9, (1 + ratio) / 2)) so no layer is emptied. Exactly round(ratio * N) weights
 *   are zero afterwards (N = eligible weights), ties broken by flat index. 'layer' prunes
 *   round(ratio * n_l) weights in every eligible layer instead.
 * - **skipFirstConv**: the first Conv/ConvTranspose on each input path stays dense (few weights,
 *   large accuracy impact: NNCF/Torch-Pruning practice). First Gemm/MatMul layers are pruned.
 * - **minParams 256**: layers with fewer weights stay dense (tiny layers save nothing).
 * - **block 1**: elementwise; `block: 4` zeroes whole 1 x 4 blocks of Gemm/MatMul weights (4
 *   consecutive output features at one input position, blockMask), which the wasm target runs with
 *   SIMD over the block; convolution weights stay elementwise (no sparse conv kernel yet).
 * Biases are never pruned. Already-zero weights count towards the target, so pruning twice with
 * the same ratio changes nothing (idempotent).
 */
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { numeric, usage } from '../compiler/errors.js';
import { WeightLayer, applyMask, countNonzero, firstLayers, forEachFiber, isExcluded, weightLayers } from './common.js';

/** Options shared by the weight-level (unstructured, N:M) pruners. */
export interface EligibilityOptions {
  /** Keep the first Conv/ConvTranspose of each input path dense (default true). */
  skipFirstConv?: boolean;
  /** Layers with fewer weights than this stay dense (default 256). */
  minParams?: number;
  /** Node names or weight constant names to leave untouched. */
  exclude?: readonly string[];
}

export interface MagnitudeOptions extends EligibilityOptions {
  /** Fraction of the eligible weights to zero, 0 <= ratio < 1. */
  ratio: number;
  /** 'global' threshold (default) or the same ratio in every 'layer'. */
  scope?: 'global' | 'layer';
  /** Cap on one layer's sparsity in global scope (default max(0.9, (1 + ratio) / 2)). */
  maxLayerSparsity?: number;
  /**
   * Prune whole blocks of this many consecutive output features (channels) at one input position
   * (default 1: elementwise). A block's magnitude is its mean |w| (TF-MOT `block_size` with average
   * pooling); the blocks match the wasm sparse kernel's column groups (targets/wasm/ops/sparse.ts).
   */
  block?: number;
}

/** Result for one pruned (or examined) weight tensor. */
export interface LayerPruneInfo {
  /** Node name (the first reader when a weight is shared). */
  node: string;
  op: string;
  /** Nonzero weights before and after. */
  before: number;
  after: number;
  /** Weight elements (dense size) before and after (equal unless channel pruning). */
  size: number;
  sizeAfter: number;
  /** Fraction of the original weight elements that are now zero or removed. */
  sparsity: number;
}

export interface SkipInfo {
  node: string;
  reason: string;
}

/** A weight tensor with all the layers reading it. */
export interface WeightGroup {
  weight: number;
  layers: WeightLayer[];
  tensor: Tensor;
}

/**
 * Groups the weight layers by weight constant and splits them into eligible and skipped ones.
 * @param g graph @param opts eligibility options
 */
export function eligibleWeights(g: Graph, opts: EligibilityOptions): { groups: WeightGroup[]; skipped: SkipInfo[] } {
  const minParams = opts.minParams ?? 256;
  const exclude = new Set(opts.exclude ?? []);
  const first = firstLayers(g);
  const byWeight = new Map<number, WeightLayer[]>();
  for (const l of weightLayers(g)) {
    const list = byWeight.get(l.weight);
    if (list) list.push(l);
    else byWeight.set(l.weight, [l]);
  }
  const uses = g.uses();
  const groups: WeightGroup[] = [];
  const skipped: SkipInfo[] = [];
  for (const [w, layers] of byWeight) {
    const head = layers[0]!;
    const name = head.node.name;
    const t = g.consts.get(w)!;
    const readers = uses.get(w) ?? [];
    const foreign = readers.find((n) => !layers.some((l) => l.node === n));
    const roleClash = layers.some((l) => l.kind !== head.kind || l.inAxis !== head.inAxis);
    let reason: string | undefined;
    if (layers.some((l) => isExcluded(g, l, exclude))) reason = 'excluded';
    else if (foreign || roleClash || g.outputs.includes(w)) {
      reason = `weight "${g.value(w).name}" is also read by ${foreign ? `"${foreign.name}" (${foreign.op})` : 'another role or a graph output'}`;
    } else if ((opts.skipFirstConv ?? true) && layers.some((l) => (l.kind === 'conv' || l.kind === 'convT') && first.has(l.node.id))) {
      reason = 'first conv layer (skipFirstConv)';
    } else if (t.size < minParams) reason = `tiny layer (${t.size} weights < minParams ${minParams})`;
    if (reason) skipped.push({ node: name, reason });
    else groups.push({ weight: w, layers, tensor: t });
  }
  for (const gr of groups) {
    const d = gr.tensor.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) {
      if (Number.isNaN(d[i]!)) {
        throw numeric(`weight "${g.value(gr.weight).name}" contains NaN`, { node: gr.layers[0]!.node.name, tensor: g.value(gr.weight).name });
      }
    }
  }
  return { groups, skipped };
}

/** Keep-mask that zeroes the k smallest |w| of `t` (ties: lowest flat index first). */
export function smallestMask(t: Tensor, k: number): Uint8Array {
  const d = t.data as ArrayLike<number>;
  const keep = new Uint8Array(t.size).fill(1);
  if (k <= 0) return keep;
  const mags = new Float64Array(t.size);
  for (let i = 0; i < mags.length; i++) mags[i] = Math.abs(d[i]!);
  const sorted = mags.slice().sort();
  const thr = sorted[Math.min(k, sorted.length) - 1]!;
  let lt = 0;
  for (let i = 0; i < mags.length; i++) if (mags[i]! < thr) lt++;
  let ties = k - lt;
  for (let i = 0; i < mags.length; i++) {
    if (mags[i]! < thr) keep[i] = 0;
    else if (mags[i] === thr && ties > 0) {
      keep[i] = 0;
      ties--;
    }
  }
  return keep;
}

/**
 * Block length used for a weight: `block` for Gemm/MatMul weights (the layers the wasm block-sparse
 * kernel runs), 1 (elementwise) for convolutions, where blocks would cost accuracy for no speed.
 */
function blockOf(gr: WeightGroup, block: number): number {
  return block > 1 && gr.layers.every((l) => l.kind === 'gemm' || l.kind === 'matmul') ? block : 1;
}

/**
 * Mean |w| of each block of `block` consecutive elements along `axis` (the last block of a fiber may
 * be shorter), written to every element of the block.
 * @param t weight @param axis output axis @param block block length
 */
export function blockScores(t: Tensor, axis: number, block: number): Float64Array {
  const d = t.data as ArrayLike<number>;
  const out = new Float64Array(t.size);
  forEachFiber(t.shape, axis, (idx) => {
    for (let s = 0; s < idx.length; s += block) {
      const e = Math.min(idx.length, s + block);
      let sum = 0;
      for (let i = s; i < e; i++) sum += Math.abs(d[idx[i]!]!);
      for (let i = s; i < e; i++) out[idx[i]!] = sum / (e - s);
    }
  });
  return out;
}

/**
 * Keep-mask that zeroes whole blocks (blockScores) in ascending score order (ties: lowest first
 * index) until at least `k` elements are zero (at most one block more than k).
 * @param t weight @param axis output axis @param block block length @param k elements to zero
 */
export function blockMask(t: Tensor, axis: number, block: number, k: number): Uint8Array {
  const keep = new Uint8Array(t.size).fill(1);
  if (k <= 0) return keep;
  const score = blockScores(t, axis, block);
  const blocks: { score: number; first: number; idx: number[] }[] = [];
  forEachFiber(t.shape, axis, (idx) => {
    for (let s = 0; s < idx.length; s += block) {
      const b = idx.slice(s, Math.min(idx.length, s + block));
      blocks.push({ score: score[b[0]!]!, first: b[0]!, idx: b });
    }
  });
  blocks.sort((a, b) => a.score - b.score || a.first - b.first);
  let zeroed = 0;
  for (const b of blocks) {
    if (zeroed >= k) break;
    for (const i of b.idx) keep[i] = 0;
    zeroed += b.idx.length;
  }
  return keep;
}

/** Number of elements of a sorted array that are < x (lt) or <= x (le). */
function rank(sorted: Float64Array, x: number, le: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (le ? sorted[mid]! <= x : sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * How many weights each group gives up under one global threshold with per-group caps, so that
 * the total is exactly `target` (or the sum of the caps when that is smaller).
 * @param mags sorted |w| per group @param caps most weights each group may lose @param target total
 */
export function globalCounts(mags: Float64Array[], caps: number[], target: number): number[] {
  const capTotal = caps.reduce((a, b) => a + b, 0);
  if (target >= capTotal) return [...caps];
  const all = new Float64Array(mags.reduce((a, m) => a + m.length, 0));
  let o = 0;
  for (const m of mags) {
    all.set(m, o);
    o += m.length;
  }
  all.sort();
  const F = (t: number) => mags.reduce((s, m, i) => s + Math.min(caps[i]!, rank(m, t, true)), 0);
  // smallest threshold t in `all` with F(t) >= target
  let lo = 0;
  let hi = all.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (F(all[mid]!) >= target) hi = mid;
    else lo = mid + 1;
  }
  const t = all[lo]!;
  const take = mags.map((m, i) => Math.min(caps[i]!, rank(m, t, false)));
  let rest = target - take.reduce((a, b) => a + b, 0);
  mags.forEach((m, i) => {
    const extra = Math.min(rest, Math.min(caps[i]!, rank(m, t, true)) - take[i]!);
    take[i]! += extra;
    rest -= extra;
  });
  return take;
}

/**
 * Zeroes the smallest-magnitude weights of the eligible layers in place (see the file comment),
 * recording `meta.sparsity = {pattern: 'unstructured', nnz, size, sparsity}` on each pruned node.
 * @param g graph to prune (edited in place) @param opts ratio, scope and eligibility
 */
export function pruneMagnitude(g: Graph, opts: MagnitudeOptions): { layers: LayerPruneInfo[]; skipped: SkipInfo[] } {
  const { groups, skipped } = eligibleWeights(g, opts);
  const ratio = opts.ratio;
  const block = opts.block ?? 1;
  if (!Number.isInteger(block) || block < 1) throw usage(`prune block must be a positive integer, got ${String(opts.block)}`);
  const scope = opts.scope ?? 'global';
  const cap = opts.maxLayerSparsity ?? Math.max(0.9, (1 + ratio) / 2);
  let counts: number[];
  if (scope === 'layer') counts = groups.map((gr) => Math.round(ratio * gr.tensor.size));
  else {
    const total = groups.reduce((a, gr) => a + gr.tensor.size, 0);
    const mags = groups.map((gr) => {
      const b = blockOf(gr, block);
      const m = b > 1 ? blockScores(gr.tensor, gr.layers[0]!.outAxis, b) : Float64Array.from(gr.tensor.data as ArrayLike<number>, Math.abs);
      return m.sort();
    });
    const caps = groups.map((gr) => Math.max(Math.round(ratio * gr.tensor.size), Math.floor(cap * gr.tensor.size)));
    counts = globalCounts(mags, caps, Math.round(ratio * total));
  }
  const layers: LayerPruneInfo[] = [];
  groups.forEach((gr, i) => {
    const before = countNonzero(gr.tensor);
    const b = blockOf(gr, block);
    const mask = b > 1 ? blockMask(gr.tensor, gr.layers[0]!.outAxis, b, counts[i]!) : smallestMask(gr.tensor, counts[i]!);
    const pruned = applyMask(gr.tensor, mask);
    g.consts.set(gr.weight, pruned);
    const after = countNonzero(pruned);
    const sparsity = 1 - after / pruned.size;
    const pattern = b > 1 ? { pattern: `block 1x${b}`, block: b } : { pattern: 'unstructured' };
    for (const l of gr.layers) l.node.meta = { ...l.node.meta, sparsity: { ...pattern, nnz: after, size: pruned.size, sparsity } };
    layers.push({ node: gr.layers[0]!.node.name, op: gr.layers[0]!.node.op, before, after, size: pruned.size, sizeAfter: pruned.size, sparsity });
  });
  return { layers, skipped };
}
