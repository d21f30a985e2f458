import { describe, expect, it } from 'vitest';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { verify } from '../../compiler/ir/verify.js';
import { applyRules } from '../../compiler/rewrite/driver.js';
import { Rule, bypass } from '../../compiler/rewrite/pattern.js';

const chain = (n: number): string => {
  const lines = ['graph { input %0 : f32[2]'];
  for (let i = 1; i <= n; i++) lines.push(` %${i} = Identity(%${i - 1}) : f32[2]`);
  lines.push(` %${n + 1} = Relu(%${n}) : f32[2]`, ` output %${n + 1} }`);
  return lines.join('\n');
};

// Identity(x) -> x
const dropIdentity: Rule = {
  name: 'drop-identity',
  ops: ['Identity'],
  rewrite: (n, g) => bypass(g, n, n.outputs[0]!, n.inputs[0]!),
};

describe('rewrite driver', () => {
  it('runs rules to a fixpoint', () => {
    const g = parse(chain(5));
    const r = applyRules(g, [dropIdentity]);
    verify(g);
    expect(r.applied).toBe(5);
    expect(r.converged).toBe(true);
    expect(r.perRule).toEqual({ 'drop-identity': 5 });
    expect(print(g, { names: false })).toBe(print(parse('graph { input %0 : f32[2]\n %1 = Relu(%0) : f32[2]\n output %1 }'), { names: false }));
  });

  it('stops after a rewrite budget (bisection)', () => {
    const g = parse(chain(5));
    const r = applyRules(g, [dropIdentity], { stopAfter: 2 });
    verify(g);
    expect(r.applied).toBe(2);
    expect(r.converged).toBe(false);
    expect([...g.nodes.values()].filter((n) => n.op === 'Identity').length).toBe(3);
  });

  it('never applies a rule twice to the same match (loop guard)', () => {
    // A buggy rule that claims a change every time would loop forever without the guard.
    let calls = 0;
    const liar: Rule = { name: 'liar', ops: ['Relu'], rewrite: () => { calls++; return true; } };
    const g = parse(chain(1));
    const r = applyRules(g, [liar]);
    expect(r.applied).toBe(1);
    expect(calls).toBe(1);
    expect(r.converged).toBe(true);
  });

  it('respects maxIterations and can throw when strict', () => {
    let k = 0;
    // The key changes on every call, so only maxIterations stops it.
    const churn: Rule = {
      name: 'churn', ops: ['Relu'], key: () => String(k++),
      rewrite: (n) => { n.attrs = { ...n.attrs }; return true; },
    };
    const g = parse(chain(1));
    const r = applyRules(g, [churn], { maxIterations: 4 });
    expect(r.iterations).toBe(4);
    expect(r.converged).toBe(false);
    expect(() => applyRules(parse(chain(1)), [churn], { maxIterations: 3, strict: true })).toThrow(/did not converge/);
  });

  it('matches domain-qualified and wildcard roots', () => {
    const seen: string[] = [];
    const any: Rule = { name: 'any', ops: ['*'], rewrite: (n) => { seen.push(n.op); return false; } };
    applyRules(parse(chain(2)), [any]);
    expect(seen).toEqual(['Identity', 'Identity', 'Relu']);
  });
});
