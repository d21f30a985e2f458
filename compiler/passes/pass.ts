/**
 * Pass interface. A pass edits a graph in place and reports whether it changed anything.
 * The pass name, its file name and its CLI flag are the same kebab-case string.
 */
import { Graph } from '../ir/graph.js';
import { Rule } from '../rewrite/pattern.js';
import { applyRules } from '../rewrite/driver.js';

/** Options every pass may read (unknown keys are ignored). */
export interface PassOptions {
  /** const-fold: largest constant (bytes) a fold may produce (default DEFAULT_LIMITS.maxFoldBytes). */
  maxFoldBytes?: number;
  /** Rewrite passes: stop after this many rewrites (bisection). */
  rewriteBudget?: number;
  /** Rewrite passes: maximum driver sweeps (default 100). */
  maxIterations?: number;
}

/** Context given to a pass run. */
export interface PassCtx {
  options: PassOptions;
  /** Optional diagnostics sink. */
  log?: (msg: string) => void;
  /** Passes add the number of edits they made here (the PassManager reports it per pass). */
  changes: number;
}

export interface Pass {
  /** kebab-case name, e.g. 'fold-batchnorm'. */
  readonly name: string;
  /** One line describing what it does (for --help and reports). */
  readonly description: string;
  /** Passes that must have run before (informational). */
  readonly requires?: readonly string[];
  /** Not put in any pipeline by default (exempt from the "every pass is in a pipeline" check). */
  readonly experimental?: boolean;
  /** Runs the pass; returns true when the graph changed. */
  run(g: Graph, ctx: PassCtx): boolean;
}

/** A PassCtx with the given options. */
export function passCtx(options: PassOptions = {}): PassCtx {
  return { options, changes: 0 };
}

/**
 * Runs rewrite rules to a fixpoint with the pass options' budgets; adds the rewrite count to
 * `ctx.changes` and returns whether anything changed.
 * @param g graph @param rules rules to apply @param ctx pass context @param options rule options
 */
export function runRules(g: Graph, rules: readonly Rule[], ctx: PassCtx, options: Record<string, unknown> = {}): boolean {
  const r = applyRules(g, rules, {
    options,
    ...(ctx.options.rewriteBudget !== undefined ? { stopAfter: ctx.options.rewriteBudget } : {}),
    ...(ctx.options.maxIterations !== undefined ? { maxIterations: ctx.options.maxIterations } : {}),
  });
  ctx.changes += r.applied;
  return r.applied > 0;
}
