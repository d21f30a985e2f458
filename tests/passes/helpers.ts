/**
 * Pass test helpers: before/expected text checks (TVM assert_structural_equal style), idempotence,
 * numeric equivalence on the reference interpreter and verify() after every pass run.
 */
import { expect } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor, numel } from '../../compiler/ir/tensor.js';
import { isFloat } from '../../compiler/ir/dtype.js';
import { parse } from '../../compiler/ir/parse.js';
import { print, PrintOptions } from '../../compiler/ir/print.js';
import { verify } from '../../compiler/ir/verify.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Pass, PassOptions, passCtx } from '../../compiler/passes/pass.js';
import { compareTensors } from '../helpers/compare.js';
import { rng } from '../helpers/rng.js';

export { rng } from '../helpers/rng.js';

/** Random inputs for every graph input (floats uniform in [-2, 2], ints in [0, 4]); symbolic dims -> 1. */
export function randomInputs(g: Graph, seed = 1): Tensor[] {
  const r = rng(seed);
  return g.inputs.map((id) => {
    const t = g.typeOf(id);
    const shape = t.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = numel(shape);
    const vals = new Array<number>(n);
    for (let i = 0; i < n; i++) vals[i] = isFloat(t.dtype) ? r() * 4 - 2 : Math.floor(r() * 5);
    return Tensor.from(t.dtype, shape, vals);
  });
}

/** Random float tensor with values uniform in [lo, hi). */
export function randTensor(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = numel(shape);
  const v = new Array<number>(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * r();
  return Tensor.from('f32', shape, v);
}

/** Expects the reference outputs of `a` and `b` to match on the same random inputs. */
export function expectSameOutputs(a: Graph, b: Graph, seeds = [1, 2], tol = { rtol: 1e-4, atol: 1e-5 }): void {
  for (const seed of seeds) {
    const ins = randomInputs(a, seed);
    const ya = runGraph(a, ins);
    const yb = runGraph(b, ins);
    expect(yb.length).toBe(ya.length);
    ya.forEach((t, i) => expect(compareTensors(yb[i]!, t, tol), `output ${i}, seed ${seed}`).toBeNull());
  }
}

/** Structural text used for comparisons (no names, consts inline up to 64 elements, symbols renamed). */
export const STRUCT: PrintOptions = { names: false, inlineLimit: 64, canonicalSymbols: true };

/**
 * Runs `pass` on a graph and checks: verify() passes; the result equals `expected` (when given,
 * compared as normalized text); a second run changes nothing; the reference outputs are unchanged.
 * @returns the rewritten graph
 */
export function checkPass(passOrList: Pass | Pass[], before: Graph | string, expected?: string, opts: {
  options?: PassOptions; print?: PrintOptions; numeric?: boolean; expectChange?: boolean;
} = {}): Graph {
  const g0 = typeof before === 'string' ? parse(before) : before;
  verify(g0);
  const passes = Array.isArray(passOrList) ? passOrList : [passOrList];
  const runAll = (g: Graph): boolean => {
    let changed = false;
    for (const p of passes) {
      changed = p.run(g, passCtx(opts.options)) || changed;
      verify(g, { pass: p.name });
    }
    return changed;
  };
  const g = g0.clone();
  const changed = runAll(g);
  if (opts.expectChange !== undefined) expect(changed).toBe(opts.expectChange);
  const popts = opts.print ?? STRUCT;
  const text = print(g, popts);
  if (expected !== undefined) expect(text).toBe(print(parse(expected), popts));
  // Idempotence: a second run reports no change and leaves the same text.
  const again = runAll(g);
  expect(again, `${passes.map((p) => p.name).join(',')} changed the graph on a second run`).toBe(false);
  expect(print(g, popts)).toBe(text);
  if (opts.numeric ?? true) expectSameOutputs(g0, g);
  return g;
}
