/**
 * Post-training pruning (the CLI's `--prune RATIO --prune-mode unstructured|channel|2:4`, with
 * `--calib` for data-driven channel pruning). No retraining: what is removed is chosen from the
 * trained weights (and, when given, calibration activations).
 *
 * ```ts
 * import { pruneModel } from './prune/index.js';
 * const { graph, summary } = pruneModel(g, { ratio: 0.5, mode: 'unstructured' });
 * ```
 * - 'unstructured' (magnitude.ts): `ratio` of the eligible weights become 0 (global threshold with
 *   per-layer caps by default). Shapes and MACs stay; nnz drops.
 * - '2:4' (nm.ts): 2 of every 4 consecutive weights along K are zeroed (50%, `ratio` is ignored).
 * - 'channel' (channel.ts): `ratio` of the prunable channels of each channel group are removed;
 *   weights, MACs and activations shrink. Channels that cannot be rewritten safely stay and are
 *   listed in `summary.skipped`.
 * The input graph is not modified; `graph` is a pruned copy with shapes re-inferred, verified.
 */
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { verify } from '../compiler/ir/verify.js';
import { usage } from '../compiler/errors.js';
import { calibBatches, graphMacs, graphParams, nodeMacs } from './common.js';
import { runGraph } from '../compiler/interp/interp.js';
import { LayerPruneInfo, SkipInfo, pruneMagnitude } from './magnitude.js';
import { pruneNM } from './nm.js';
import { correctBiases } from './bias-correct.js';
import { ChannelCriterion, ChannelLayerInfo, pruneChannels } from './channel.js';

export type PruneMode = 'unstructured' | 'channel' | '2:4';
export const PRUNE_MODES: readonly PruneMode[] = ['unstructured', 'channel', '2:4'];

export interface PruneOptions {
  /** Fraction removed, 0 <= ratio < 1: of the eligible weights (unstructured) or of each group's channels (channel). */
  ratio: number;
  mode: PruneMode;
  /** Calibration inputs (one tensor per graph input, samples along axis 0): data-driven channel pruning. */
  calib?: readonly Tensor[];
  /** Node names (or weight constant names) to leave untouched. */
  exclude?: readonly string[];
  /** unstructured: 'global' threshold with per-layer caps (default) or 'layer'. */
  scope?: 'global' | 'layer';
  /** unstructured: cap on one layer's sparsity (default max(0.9, (1 + ratio) / 2)). */
  maxLayerSparsity?: number;
  /**
   * unstructured: prune blocks of this many consecutive output features at one input position
   * (default 1: elementwise; 4 is what the wasm sparse kernel runs fastest, magnitude.ts blockMask).
   */
  block?: number;
  /** Keep the first conv dense / its filters (default true). */
  skipFirstConv?: boolean;
  /** unstructured/2:4: layers with fewer weights stay dense (default 256). */
  minParams?: number;
  /** channel: importance criterion (default 'activation' with calib, else 'l2'). */
  criterion?: ChannelCriterion;
  /**
   * With calib: channel mode folds removed channels' mean activation into consumer biases;
   * unstructured/2:4 add E[dW x] of the zeroed weights to each layer's bias (default true).
   */
  biasCompensation?: boolean;
  /** channel: fewest channels a group keeps (default 1). */
  minChannels?: number;
  /** channel: kept channel counts are rounded up to a multiple of this (default 1). */
  channelMultiple?: number;
  /** channel: re-measure calibration statistics after each group is pruned (default false). */
  sequential?: boolean;
}

export interface PruneLayer {
  node: string;
  op: string;
  /** Nonzero weights before and after. */
  before: number;
  after: number;
  /** Fraction of the layer's original weight elements that are now zero or removed. */
  sparsity: number;
  /** Dense weight elements before and after (differ only in channel mode). */
  size: number;
  sizeAfter: number;
  /** channel mode: output/input channels before and after. */
  channels?: { outBefore: number; outAfter: number; inBefore: number; inAfter: number };
}

export interface PruneSummary {
  mode: PruneMode;
  /** The sparsity pattern pruned: 'elementwise', 'block 1xB ...' (unstructured), '2:4' or 'channel'. */
  pattern: string;
  /** The requested ratio (2:4: 0.5). */
  ratio: number;
  layers: PruneLayer[];
  /** Float parameters (dense elements of the weights nodes read), before and after. */
  paramsBefore: number;
  paramsAfter: number;
  /** Nonzero float parameters before and after. */
  nnzBefore: number;
  nnzAfter: number;
  /** Dense MACs (op cost functions); unchanged by unstructured and 2:4 pruning. */
  macsBefore: number;
  macsAfter: number;
  /** MACs a zero-skipping kernel would do: each pruned layer's MACs scaled by its density. */
  sparseMacsAfter: number;
  /** Layers or channel groups left alone, with the reason. */
  skipped: SkipInfo[];
  /** Other remarks (e.g. where bias compensation could not be applied). */
  notes: string[];
  /**
   * With calibration data: how closely the pruned model follows the unpruned one on (up to 256 of)
   * the calibration samples: top-1 agreement for classifier outputs ([N, classes], classes > 1),
   * else the SNR in dB of the first output.
   */
  agreement?: { samples: number; top1?: number; snrDb?: number };
  /** A sharp drop in agreement (top-1 < 0.9 or SNR < 15 dB): a warning line for the user. */
  warning?: string;
}

/** Below these, pruning is reported as a sharp drop (compile prints a warning). */
export const PRUNE_WARN_TOP1 = 0.9;
export const PRUNE_WARN_SNR_DB = 15;

/**
 * Compares the unpruned and pruned graphs on calibration data (reference interpreter, batches of
 * calibBatches): top-1 agreement of a classifier output, else the SNR of the first output.
 */
export function pruneAgreement(before: Graph, after: Graph, calib: readonly Tensor[], maxSamples = 256): { samples: number; top1?: number; snrDb?: number } {
  let n = 0;
  let agree = 0;
  let sig = 0;
  let err = 0;
  let classifier = true;
  for (const batch of calibBatches(before, calib, maxSamples)) {
    const a = runGraph(before, batch)[0]!;
    const b = runGraph(after, batch)[0]!;
    const da = a.toNumbers();
    const db = b.toNumbers();
    for (let i = 0; i < da.length; i++) {
      sig += da[i]! * da[i]!;
      err += (da[i]! - db[i]!) ** 2;
    }
    const C = a.shape.length === 2 ? a.shape[1]! : 0;
    if (!(C > 1)) classifier = false;
    if (classifier) {
      for (let r = 0; r < a.shape[0]!; r++) {
        let ia = 0;
        let ib = 0;
        for (let c = 1; c < C; c++) {
          if (da[r * C + c]! > da[r * C + ia]!) ia = c;
          if (db[r * C + c]! > db[r * C + ib]!) ib = c;
        }
        if (ia === ib) agree++;
      }
    }
    n += a.shape[0] ?? 1;
  }
  const snrDb = err === 0 ? Infinity : 10 * Math.log10(sig / err);
  return classifier && n > 0 ? { samples: n, top1: agree / n, snrDb } : { samples: n, snrDb };
}

export interface PruneResult {
  graph: Graph;
  summary: PruneSummary;
}

/** Throws a 'usage' EdgecError for invalid options. */
export function checkPruneOptions(opts: PruneOptions): void {
  if (!(PRUNE_MODES as readonly string[]).includes(opts.mode)) {
    throw usage(`unknown prune mode "${String(opts.mode)}" (expected one of ${PRUNE_MODES.join(', ')})`);
  }
  if (typeof opts.ratio !== 'number' || !Number.isFinite(opts.ratio) || opts.ratio < 0 || opts.ratio >= 1) {
    throw usage(`prune ratio must be a number with 0 <= RATIO < 1, got ${String(opts.ratio)}`);
  }
  if (opts.scope !== undefined && opts.scope !== 'global' && opts.scope !== 'layer') {
    throw usage(`prune scope must be 'global' or 'layer', got "${String(opts.scope)}"`);
  }
  if (opts.maxLayerSparsity !== undefined && !(opts.maxLayerSparsity > 0 && opts.maxLayerSparsity < 1)) {
    throw usage(`maxLayerSparsity must be in (0, 1), got ${opts.maxLayerSparsity}`);
  }
  if (opts.criterion !== undefined && !['l1', 'l2', 'activation'].includes(opts.criterion)) {
    throw usage(`unknown channel criterion "${String(opts.criterion)}" (expected l1, l2 or activation)`);
  }
  if (opts.calib !== undefined && (!Array.isArray(opts.calib) || !opts.calib.every((t) => t instanceof Tensor))) {
    throw usage('calib must be a list of tensors (one per graph input, samples along axis 0)');
  }
  if (opts.block !== undefined && !(Number.isInteger(opts.block) && opts.block >= 1 && opts.block <= 64)) {
    throw usage(`prune block must be an integer from 1 to 64, got ${String(opts.block)}`);
  }
  if (opts.block !== undefined && opts.block > 1 && opts.mode !== 'unstructured') {
    throw usage(`prune block applies to --prune-mode unstructured, not ${opts.mode}`);
  }
  for (const [k, v] of [['minParams', opts.minParams], ['minChannels', opts.minChannels], ['channelMultiple', opts.channelMultiple]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw usage(`${k} must be a non-negative integer, got ${String(v)}`);
  }
}

/**
 * Prunes a copy of `g` (see the file comment).
 * @param g float graph with inferred shapes (typically after `optimize`) @param opts ratio, mode and options
 */
export function pruneModel(g: Graph, opts: PruneOptions): PruneResult {
  checkPruneOptions(opts);
  const graph = g.clone();
  const macsBefore = graphMacs(graph);
  const pb = graphParams(graph);
  const elig = {
    ...(opts.skipFirstConv !== undefined ? { skipFirstConv: opts.skipFirstConv } : {}),
    ...(opts.minParams !== undefined ? { minParams: opts.minParams } : {}),
    ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
  };
  let layers: PruneLayer[] = [];
  let skipped: SkipInfo[] = [];
  const notes: string[] = [];
  if (opts.mode === 'channel') {
    const r = pruneChannels(graph, {
      ratio: opts.ratio,
      ...(opts.calib !== undefined ? { calib: opts.calib } : {}),
      ...(opts.criterion !== undefined ? { criterion: opts.criterion } : {}),
      ...(opts.biasCompensation !== undefined ? { biasCompensation: opts.biasCompensation } : {}),
      ...(opts.skipFirstConv !== undefined ? { skipFirstConv: opts.skipFirstConv } : {}),
      ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
      ...(opts.minChannels !== undefined ? { minChannels: opts.minChannels } : {}),
      ...(opts.channelMultiple !== undefined ? { channelMultiple: opts.channelMultiple } : {}),
      ...(opts.sequential !== undefined ? { sequential: opts.sequential } : {}),
    });
    layers = r.layers.map((l: ChannelLayerInfo) => ({
      node: l.node, op: l.op, before: l.before, after: l.after, sparsity: l.sparsity, size: l.size, sizeAfter: l.sizeAfter,
      channels: { outBefore: l.outBefore, outAfter: l.outAfter, inBefore: l.inBefore, inAfter: l.inAfter },
    }));
    skipped = r.skipped;
    notes.push(...r.notes);
  } else {
    const r = opts.mode === '2:4'
      ? pruneNM(graph, { ...elig, n: 2, m: 4 })
      : pruneMagnitude(graph, {
        ...elig, ratio: opts.ratio,
        ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
        ...(opts.maxLayerSparsity !== undefined ? { maxLayerSparsity: opts.maxLayerSparsity } : {}),
        ...(opts.block !== undefined ? { block: opts.block } : {}),
      });
    layers = r.layers.map((l: LayerPruneInfo) => ({ ...l }));
    skipped = r.skipped;
    if (opts.calib && opts.calib.length && (opts.biasCompensation ?? true)) correctBiases(g, graph, opts.calib, notes);
  }
  verify(graph, { pass: `prune-${opts.mode}` });
  const macsAfter = graphMacs(graph);
  const pa = graphParams(graph);
  let agreement: PruneSummary['agreement'];
  let warning: string | undefined;
  if (opts.calib && opts.calib.length && opts.ratio > 0) {
    agreement = pruneAgreement(g, graph, opts.calib);
    const fig = agreement.top1 !== undefined ? `top-1 agreement with the unpruned model ${(agreement.top1 * 100).toFixed(1)}%`
      : `SNR ${agreement.snrDb === Infinity ? 'inf' : agreement.snrDb!.toFixed(1)} dB against the unpruned model`;
    if ((agreement.top1 !== undefined && agreement.top1 < PRUNE_WARN_TOP1) || (agreement.top1 === undefined && agreement.snrDb! < PRUNE_WARN_SNR_DB)) {
      warning = `${opts.mode} pruning at ${opts.ratio} changes the model sharply: ${fig} on ${agreement.samples} calibration samples; `
        + `try a smaller ratio${opts.mode === 'channel' ? ' or --prune-mode unstructured' : ''}, or fine-tune after pruning`;
    }
  }
  return {
    graph,
    summary: {
      mode: opts.mode,
      pattern: opts.mode !== 'unstructured' ? opts.mode : (opts.block ?? 1) > 1 ? `block 1x${opts.block} (Gemm/MatMul; convs elementwise)` : 'elementwise',
      ratio: opts.mode === '2:4' ? 0.5 : opts.ratio,
      layers,
      paramsBefore: pb.params,
      paramsAfter: pa.params,
      nnzBefore: pb.nnz,
      nnzAfter: pa.nnz,
      macsBefore,
      macsAfter,
      sparseMacsAfter: Math.round(sparseMacs(graph)),
      skipped,
      notes,
      ...(agreement ? { agreement } : {}),
      ...(warning ? { warning } : {}),
    },
  };
}

/** MACs with each weight layer scaled by its weight density (what zero-skipping kernels would do). */
function sparseMacs(g: Graph): number {
  let m = 0;
  for (const n of g.orderedNodes()) {
    const macs = nodeMacs(g, n);
    const s = n.meta?.['sparsity'] as { sparsity?: number } | undefined;
    m += s?.sparsity !== undefined ? macs * (1 - s.sparsity) : macs;
  }
  return m;
}

export { pruneMagnitude } from './magnitude.js';
export { pruneNM, nmMask } from './nm.js';
export { pruneChannels } from './channel.js';
export type { ChannelCriterion, ChannelOptions } from './channel.js';
export type { SkipInfo } from './magnitude.js';
