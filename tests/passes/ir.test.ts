import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { verify, VerifyError } from '../../compiler/ir/verify.js';
import { EdgecError } from '../../compiler/errors.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { randTensor, randomInputs } from './helpers.js';
import { compareTensors } from '../helpers/compare.js';

function convGraph(): Graph {
  const b = new GraphBuilder('net');
  const x = b.input('x', 'f32', [1, 3, 6, 6]);
  const w = b.const('w', randTensor([4, 3, 3, 3], 7));
  const bias = b.const('b', 'f32', [4], [0.5, -1, 0.25, 2]);
  const y = b.node('Conv', [x, w, bias], { pads: [1, 1, 1, 1], strides: [1, 1] }, { name: 'conv1' });
  const z = b.node('Relu', [y], {}, { name: 'relu1' });
  b.output(z);
  return b.build();
}

describe('builder', () => {
  it('builds a verified graph with inferred shapes', () => {
    const g = convGraph();
    verify(g);
    expect(g.typeOf(g.outputs[0]!).shape).toEqual([1, 4, 6, 6]);
    expect(g.nodes.size).toBe(2);
  });
});

describe('print/parse', () => {
  it('round-trips a graph with inline consts (text and numbers)', () => {
    const g = convGraph();
    const text = print(g, { inlineLimit: 1000 });
    const g2 = parse(text);
    verify(g2);
    expect(print(g2, { inlineLimit: 1000 })).toBe(text);
    const ins = randomInputs(g, 3);
    const a = runGraph(g, ins)[0]!;
    const b = runGraph(g2, ins)[0]!;
    expect(compareTensors(b, a, { rtol: 0, atol: 0 })).toBeNull();
  });

  it('prints the documented node form', () => {
    const text = print(convGraph());
    expect(text).toContain('input %0 "x" : f32[1,3,6,6]');
    expect(text).toContain('const %2 "b" : f32[4] = [0.5, -1, 0.25, 2]');
    expect(text).toMatch(/const %1 "w" : f32\[4,3,3,3\] = #fnv1a:[0-9a-f]{8}/);
    expect(text).toContain('%3 "conv1" = Conv(%0, %1, %2) {pads=[1,1,1,1], strides=[1,1]} @"conv1" : f32[1,4,6,6]');
    expect(text).toContain('output %4');
  });

  it('renumbers values so internal ids do not matter', () => {
    const a = parse('graph { input %7 : f32[2]\n %9 = Relu(%7)\n output %9 }');
    const b = parse('graph { input %0 : f32[2]\n %1 = Relu(%0)\n output %1 }');
    expect(print(a, { names: false })).toBe(print(b, { names: false }));
  });

  it('escapes hostile names and reads them back', () => {
    const b = new GraphBuilder('g"\n}');
    const x = b.input('in "x"\n}\u0000', 'f32', [2]);
    const y = b.node('Relu', [x], {}, { name: 'n%1 = Relu(%0) }', outputNames: ['out\\"}'] });
    b.output(y);
    const g = b.build();
    const text = print(g);
    expect(text.split('\n').length).toBe(6);
    const g2 = parse(text);
    expect(g2.value(g2.inputs[0]!).name).toBe('in "x"\n}\u0000');
    expect(g2.value(g2.outputs[0]!).name).toBe('out\\"}');
    expect(g2.node(g2.order[0]!).name).toBe('n%1 = Relu(%0) }');
    expect(g2.name).toBe('g"\n}');
  });

  it('round-trips special floats, i64, bool, strings, symbolic dims, optional inputs, quant types, attrs', () => {
    const src = `graph "t" opsets {"": 13, "edgec": 1} {
  input %0 "x" : f32["N",3]
  const %1 "f" : f32[5] = [nan, inf, -inf, -0, 0.1]
  const %2 "big" : i64[2] = [9007199254740993, -9223372036854775808]
  const %3 "b" : bool[2] = [1, 0]
  const %4 "s" : string[2] = ["a\\"b", ""]
  const %5 "q" : i8[1] quant(scale=[0.5], zp=[0]) = [3]
  %6 "y" = Clip(%0, _, _) {alpha=0.25, ints=[1,-2], mode="x\\ny", names=["p","q"], t=tensor(f32[2], [1.5, 2])} @"c" : f32["N",3]
  output %6, %1, %2, %3, %4, %5
}
`;
    const g = parse(src);
    expect(print(g)).toBe(src);
    expect((g.consts.get(g.outputs[2]!)!.data as BigInt64Array)[0]).toBe(9007199254740993n);
    expect(Object.is(g.consts.get(g.outputs[1]!)!.get(3), -0)).toBe(true);
  });

  it('infers types the text omits', () => {
    const g = parse('graph { input %0 : f32[2,3]\n const %1 : f32[3] = [1,2,3]\n %2 = Add(%0, %1)\n output %2 }');
    expect(g.typeOf(g.outputs[0]!)).toEqual({ dtype: 'f32', shape: [2, 3] });
  });

  it('rejects digests, undefined values and junk with an invalid error', () => {
    const bad = [
      'graph { const %0 : f32[2] = #fnv1a:12345678\n output %0 }',
      'graph { input %0 : f32[2]\n %1 = Relu(%5) : f32[2]\n output %1 }',
      'graph { input %0 : f32[2] $ }',
      'graph { input %0 : f32[2]\n output %0 } trailing',
      'graph { const %0 : f32[2] = [1]\n output %0 }',
    ];
    for (const s of bad) {
      expect(() => parse(s)).toThrow(EdgecError);
      try { parse(s); } catch (e) { expect((e as EdgecError).kind).toBe('invalid'); }
    }
  });
});

describe('verify', () => {
  const base = (): Graph => parse('graph { input %0 : f32[2]\n %1 = Relu(%0) @"r1" : f32[2]\n %2 = Relu(%1) @"r2" : f32[2]\n output %2 }');
  const expectFail = (g: Graph, re: RegExp, node?: string): void => {
    let err: unknown;
    try { verify(g); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(VerifyError);
    const ve = err as VerifyError;
    expect(ve.kind).toBe('internal');
    expect(ve.message).toMatch(re);
    if (node !== undefined) expect(ve.ctx.node).toBe(node);
  };

  it('accepts a valid graph', () => verify(base()));

  it('finds a value with two producers', () => {
    const g = base();
    const [a, b] = g.order.map((id) => g.node(id));
    b!.outputs = [a!.outputs[0]!];
    expectFail(g, /two producers|records producer/, 'r2');
  });

  it('finds a missing input value', () => {
    const g = base();
    g.node(g.order[1]!).inputs = [99];
    expectFail(g, /missing value/, 'r2');
  });

  it('finds use before definition and cycles', () => {
    const g = base();
    g.order.reverse();
    expectFail(g, /before it is produced/, 'r2');
    const c = base();
    const [a, b] = c.order.map((id) => c.node(id));
    a!.inputs = [b!.outputs[0]!];
    expectFail(c, /cycle/, 'r1');
  });

  it('finds unproduced outputs, consts with producers, missing types, bad arity', () => {
    const g = base();
    g.outputs.push(g.addValue('dangling', { dtype: 'f32', shape: [2] }).id);
    expectFail(g, /graph output .* is not produced/);
    const c = base();
    const r1 = c.node(c.order[0]!);
    c.consts.set(r1.outputs[0]!, Tensor.from('f32', [2], [1, 2]));
    expectFail(c, /also produced by a node/, 'r1');
    const t = base();
    (t.value(t.node(t.order[0]!).outputs[0]!) as { type: unknown }).type = undefined;
    expectFail(t, /no type/, 'r1');
    const ar = base();
    ar.node(ar.order[0]!).inputs.push(ar.inputs[0]!);
    expectFail(ar, /takes 1\.\.1 inputs, got 2/, 'r1');
  });

  it('finds nodes missing from order', () => {
    const g = base();
    g.order.pop();
    expectFail(g, /missing from order/, 'r2');
  });
});
