/**
 * Greedy rewrite driver (MLIR's greedy pattern driver, tract's optimizer): applies rules over the
 * graph in order, repeatedly, until a sweep changes nothing (a fixpoint) or `maxIterations` sweeps
 * have run. Guards: a don't-apply-twice key per (rule, match) and a `stopAfter` budget on the
 * number of rewrites, so a bad rewrite can be found by bisection.
 */
import { Graph, Node, ValueId } from '../ir/graph.js';
import { internal } from '../errors.js';
import { RewriteCtx, Rule, ruleMatchesOp } from './pattern.js';

export interface DriverOptions {
  /** Maximum number of sweeps over the graph (default 100). */
  maxIterations?: number;
  /** Stop after this many successful rewrites (bisection aid; default unlimited). */
  stopAfter?: number;
  /** Passed to rules as ctx.options. */
  options?: Record<string, unknown>;
  /** Throw when maxIterations is reached without a fixpoint (default false: stop quietly). */
  strict?: boolean;
}

export interface DriverResult {
  /** Successful rewrites in total. */
  applied: number;
  /** Successful rewrites per rule name. */
  perRule: Record<string, number>;
  /** Sweeps run. */
  iterations: number;
  /** True when a fixpoint was reached (false when stopped by a budget). */
  converged: boolean;
}

/** Default don't-apply-twice key: rule, node, op and the exact inputs. */
function defaultKey(r: Rule, n: Node): string {
  return `${r.name}#${n.id}#${n.domain}.${n.op}#${n.inputs.join(',')}#${n.outputs.join(',')}`;
}

/**
 * Applies `rules` to `g` until nothing changes.
 * @param g graph edited in place
 * @param rules rules tried on each node in order; the first that changes the graph wins
 * @param opts budgets and rule options
 */
export function applyRules(g: Graph, rules: readonly Rule[], opts: DriverOptions = {}): DriverResult {
  const maxIterations = opts.maxIterations ?? 100;
  const budget = opts.stopAfter ?? Infinity;
  const applied = new Set<string>();
  const res: DriverResult = { applied: 0, perRule: {}, iterations: 0, converged: false };
  let uses: Map<ValueId, Node[]> | undefined;
  let outs: Set<ValueId> | undefined;
  const ctx: RewriteCtx = {
    useCount: (id) => {
      uses ??= g.uses();
      let c = 0;
      for (const n of uses.get(id) ?? []) for (const x of n.inputs) if (x === id) c++;
      return c + g.outputs.filter((o) => o === id).length;
    },
    users: (id) => {
      uses ??= g.uses();
      return uses.get(id) ?? [];
    },
    isOutput: (id) => (outs ??= new Set(g.outputs)).has(id),
    options: opts.options ?? {},
  };
  while (res.iterations < maxIterations) {
    res.iterations++;
    let changed = false;
    for (const id of [...g.order]) {
      const node = g.nodes.get(id);
      if (!node) continue; // removed by an earlier rewrite in this sweep
      for (const r of rules) {
        if (!ruleMatchesOp(r, node)) continue;
        const key = r.key ? `${r.name}#${r.key(node, g)}` : defaultKey(r, node);
        if (applied.has(key)) continue;
        if (res.applied >= budget) return res;
        if (r.rewrite(node, g, ctx)) {
          applied.add(key);
          res.applied++;
          res.perRule[r.name] = (res.perRule[r.name] ?? 0) + 1;
          changed = true;
          uses = undefined;
          outs = undefined;
          break;
        }
      }
    }
    if (changed) g.toposort();
    if (!changed) {
      res.converged = true;
      return res;
    }
  }
  if (opts.strict) throw internal(`rewrite driver did not converge in ${maxIterations} iterations`);
  return res;
}
