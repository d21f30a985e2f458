/**
 * Pass pipelines and the PassManager (TVM PassContext + instruments; TypeScript getTransformers).
 * `pipelineFor(target)` returns the ordered passes; the PassManager runs them, recording time
 * and change count per pass, verifying after each when asked, and honouring printAfter,
 * disable and stopAfter.
 */
import { Graph } from './ir/graph.js';
import { print, PrintOptions } from './ir/print.js';
import { verify } from './ir/verify.js';
import { EdgecError, usage } from './errors.js';
import { Pass, PassCtx, PassOptions } from './passes/pass.js';
import {
  ALL_PASSES, constFold, dce, decomposePass, foldBatchnorm, foldShape, fuseActivation, matmulAddToGemmPass, removeIdentity, shapeInfer,
} from './passes/index.js';
import { ifInline } from './passes/if-inline.js';
import { foldAffine } from './passes/fold-affine.js';
import { foldPad } from './passes/fold-pad.js';
import { unifyDimsPass } from './passes/unify-dims.js';
import type { OpSupport } from './passes/decompose.js';

export type PipelineTarget = 'ref' | 'wasm' | 'webgpu' | 'hls' | 'c';

export interface PipelineOptions {
  /** Fuse activations into edgec.Fused* ops (default: true for wasm/webgpu/hls, false for ref). */
  fuseActivations?: boolean;
  /** Fold BatchNormalization (default true). */
  foldBatchnorm?: boolean;
  /**
   * What the target has kernels for (the target passes it in from its lowering table). When given,
   * the pipeline runs `decompose`, which expands function ops the target does not support.
   */
  supports?: OpSupport;
}

/**
 * Passes for a target, in order: shape-infer, unify-dims, remove-identity, fold-shape, const-fold, if-inline, dce,
 * [decompose], fold-batchnorm, fold-affine, fold-pad, matmul-add-to-gemm, [fuse-activation], shape-infer, dce.
 * decompose runs when `opts.supports` says what the target has kernels for: after constant
 * folding (hooks see constant inputs) and before the fusions (which then see its primitives).
 * @param target the target the graph is compiled for
 * @param opts pipeline switches
 */
export function pipelineFor(target: PipelineTarget, opts: PipelineOptions = {}): Pass[] {
  const fuse = opts.fuseActivations ?? target !== 'ref';
  const passes: Pass[] = [shapeInfer, unifyDimsPass, removeIdentity, foldShape, constFold, ifInline, dce];
  if (opts.supports) passes.push(decomposePass(opts.supports));
  if (opts.foldBatchnorm ?? true) passes.push(foldBatchnorm);
  passes.push(foldAffine, foldPad);
  passes.push(matmulAddToGemmPass);
  if (fuse) passes.push(fuseActivation);
  passes.push(shapeInfer, dce);
  return passes;
}

/** Time and edits of one pass run. */
export interface PassStat {
  name: string;
  ms: number;
  changed: boolean;
  changes: number;
}

export interface PassManagerOptions extends PassOptions {
  /** Run verify() after every pass (and before the first). */
  verify?: boolean;
  /** Pass names after which to print the graph, or 'all'. */
  printAfter?: readonly string[] | 'all';
  /** Receives `print(g)` output for printAfter (default: stderr). */
  onPrint?: (passName: string, text: string) => void;
  /** Print options for printAfter. */
  printOptions?: PrintOptions;
  /** Pass names to skip. */
  disable?: readonly string[];
  /** Stop after the first run of this pass (name), or after this many passes (number). */
  stopAfter?: string | number;
  /** Diagnostics sink handed to passes. */
  log?: (msg: string) => void;
}

/** Runs passes over a graph with instrumentation. */
export class PassManager {
  readonly stats: PassStat[] = [];

  /** @param passes passes in order @param opts instrumentation and pass options */
  constructor(readonly passes: readonly Pass[], readonly opts: PassManagerOptions = {}) {
    const known = new Set(ALL_PASSES.map((p) => p.name));
    for (const p of passes) known.add(p.name);
    const check = (names: readonly string[] | undefined, flag: string): void => {
      for (const n of names ?? []) if (!known.has(n)) throw usage(`${flag}: unknown pass "${n}"`);
    };
    check(opts.disable, '--disable-pass');
    if (opts.printAfter !== 'all') check(opts.printAfter, '--print-after');
    if (typeof opts.stopAfter === 'string') check([opts.stopAfter], '--stop-after');
  }

  /** Runs the pipeline on `g` in place; returns true when any pass changed it. */
  run(g: Graph): boolean {
    const o = this.opts;
    const disabled = new Set(o.disable ?? []);
    const emit = o.onPrint ?? ((name: string, text: string) => process.stderr.write(`// after ${name}\n${text}`));
    if (o.verify) verify(g, { pass: '(input)' });
    let any = false;
    let ran = 0;
    for (const p of this.passes) {
      if (disabled.has(p.name)) continue;
      const ctx: PassCtx = { options: o, changes: 0, ...(o.log ? { log: o.log } : {}) };
      const t0 = performance.now();
      let changed: boolean;
      try {
        changed = p.run(g, ctx);
      } catch (e) {
        if (e instanceof EdgecError) throw e.withContext({ pass: p.name });
        throw e;
      }
      const ms = performance.now() - t0;
      this.stats.push({ name: p.name, ms, changed, changes: changed ? Math.max(1, ctx.changes) : 0 });
      any ||= changed;
      if (o.verify) verify(g, { pass: p.name });
      if (o.printAfter === 'all' || o.printAfter?.includes(p.name)) emit(p.name, print(g, o.printOptions));
      ran++;
      if (o.stopAfter === p.name || (typeof o.stopAfter === 'number' && ran >= o.stopAfter)) break;
    }
    return any;
  }
}

export interface OptimizeOptions extends PipelineOptions, PassManagerOptions {
  /** Target whose pipeline to run (default 'ref'). */
  target?: PipelineTarget;
}

/**
 * Runs the target's pipeline on `g` in place and returns the per-pass stats.
 * @param g graph to optimize @param opts target, pipeline switches and PassManager options
 */
export function optimize(g: Graph, opts: OptimizeOptions = {}): PassStat[] {
  const pm = new PassManager(pipelineFor(opts.target ?? 'ref', opts), opts);
  pm.run(g);
  return pm.stats;
}
