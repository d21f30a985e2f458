/**
 * if-inline (compiler/passes/if-inline.ts): an If whose condition is a constant becomes the nodes
 * of the branch it takes. Models are built in code as ONNX protos (branches read outer values by
 * name), imported, an input is fixed to a constant, and the pipeline runs with verify on; the
 * result must equal the reference interpreter on the original model with that input (exactly: the
 * same kernels run), and onnxruntime-node agrees with both.
 */
import { describe, expect, it } from 'vitest';
import { Graph, subgraphsOf } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { verify } from '../../compiler/ir/verify.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { inferShapes, runGraph } from '../../compiler/interp/interp.js';
import { optimize, pipelineFor } from '../../compiler/pipeline.js';
import { constFold, dce, ifInline } from '../../compiler/passes/index.js';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { passCtx } from '../../compiler/passes/pass.js';
import { compareTensors } from '../helpers/compare.js';
import { attr, bool, f32, graph, i64, ifNode, model, node, ortRun, rand, randTensor, vi } from '../helpers/onnx-build.js';

const EXACT = { rtol: 0, atol: 0 };
const ORT_TOL = { rtol: 1e-5, atol: 1e-6 };

/** Fixes graph input `name` to the constant `t` (what `--bind` does). */
function bindInput(g: Graph, name: string, t: Tensor): void {
  const id = g.inputs.find((i) => g.value(i).name === name);
  if (id === undefined) throw new Error(`no input ${name}`);
  g.inputs = g.inputs.filter((i) => i !== id);
  g.consts.set(id, t);
  g.value(id).type = t.type;
  inferShapes(g);
}

/** Every If node in `g` and its subgraphs. */
function countIfs(g: Graph): number {
  let c = 0;
  for (const n of g.orderedNodes()) {
    if (n.op === 'If') c++;
    for (const sg of subgraphsOf(n)) c += countIfs(sg);
  }
  return c;
}

function expectSame(got: Tensor[], want: Tensor[], tol = EXACT): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, k) => expect(compareTensors(got[k]!, w, tol), `output ${k}`).toBeNull());
}

/**
 * If(flag): then (Relu(x) * w, x, k) with w, k branch initializers and x an outer value returned
 * as is; else (x + b, -x, b - b) with b a main-graph initializer. Outputs: Sigmoid of the first,
 * the second and third If outputs directly (graph outputs).
 */
function branchModel(): Uint8Array {
  const thenG = graph('then', [
    node('Relu', ['x'], ['t_relu']),
    node('Mul', ['t_relu', 'w'], ['t_y']),
  ], [], [vi('t_y', 'f32', [2, 3]), vi('x', 'f32', [2, 3]), vi('k', 'f32', [3])],
  [['w', f32([3], [0.5, -2, 3])], ['k', f32([3], [7, 8, 9])]]);
  const elseG = graph('else', [
    node('Add', ['x', 'b'], ['e_y']),
    node('Neg', ['x'], ['e_neg']),
    node('Sub', ['b', 'b'], ['e_zero']),
  ], [], [vi('e_y', 'f32', [2, 3]), vi('e_neg', 'f32', [2, 3]), vi('e_zero', 'f32', [3])]);
  const main = graph('main', [
    ifNode('flag', ['y', 'z', 'kk'], thenG, elseG),
    node('Sigmoid', ['y'], ['out']),
  ], [vi('x', 'f32', [2, 3]), vi('flag', 'bool', [])], [vi('out', 'f32', [2, 3]), vi('z', 'f32', [2, 3]), vi('kk', 'f32', [3])],
  [['b', f32([3], [0.25, -1, 4])]]);
  return model(main, 13);
}

/**
 * Nested: If(sr > 4000) then (If(sr == 16000) then x * two else x + b) + x, else x - b. The
 * inner If's condition is computed inside the outer then-branch from sr (an outer value); its
 * branches read x and b two scopes out.
 */
function nestedModel(): Uint8Array {
  const inThen = graph('in_then', [node('Mul', ['x', 'two'], ['it_y'])], [], [vi('it_y', 'f32', [4])], [['two', f32([], [2])]]);
  const inElse = graph('in_else', [node('Add', ['x', 'b'], ['ie_y'])], [], [vi('ie_y', 'f32', [4])]);
  const outThen = graph('out_then', [
    node('Equal', ['sr', 'c16k'], ['is16']),
    ifNode('is16', ['inner'], inThen, inElse),
    node('Add', ['inner', 'x'], ['ot_y']),
  ], [], [vi('ot_y', 'f32', [4])], [['c16k', i64(16000)]]);
  const outElse = graph('out_else', [node('Sub', ['x', 'b'], ['oe_y'])], [], [vi('oe_y', 'f32', [4])]);
  const main = graph('main', [
    node('Greater', ['sr', 'c4k'], ['hi']),
    ifNode('hi', ['y'], outThen, outElse),
    node('Tanh', ['y'], ['out']),
  ], [vi('x', 'f32', [4]), vi('sr', 'i64', [])], [vi('out', 'f32', [4])],
  [['b', f32([4], [1, -1, 0.5, 2])], ['c4k', i64(4000)]]);
  return model(main, 13);
}

/**
 * Loop over i < trip: acc = If(mode) then acc * x (x from the main graph, two scopes out) else
 * acc + scale, where mode is a body initializer; an If on i % 2 (a run-time condition) after it
 * stays. Scan output: acc after each step.
 */
function loopModel(mode: boolean | 'sr'): Uint8Array {
  const thenG = graph('then', [node('Mul', ['acc', 'x'], ['t_out'])], [], [vi('t_out', 'f32', [3])]);
  const elseG = graph('else', [node('Add', ['acc', 'scale'], ['e_out'])], [], [vi('e_out', 'f32', [3])]);
  const evenG = graph('even', [node('Add', ['a1', 'x'], ['ev_out'])], [], [vi('ev_out', 'f32', [3])]);
  const oddG = graph('odd', [node('Sub', ['a1', 'x'], ['od_out'])], [], [vi('od_out', 'f32', [3])]);
  const body = graph('body', [
    ...(mode === 'sr' ? [node('Equal', ['sr', 'c16k'], ['mode'])] : []),
    ifNode('mode', ['a1'], thenG, elseG),
    node('Mod', ['i', 'two'], ['r']),
    node('Equal', ['r', 'zero'], ['even']),
    ifNode('even', ['acc_next'], evenG, oddG),
    node('Identity', ['c'], ['c_out']),
    node('Identity', ['acc_next'], ['scan_out']),
  ], [vi('i', 'i64', []), vi('c', 'bool', []), vi('acc', 'f32', [3])],
  [vi('c_out', 'bool', []), vi('acc_next', 'f32', [3]), vi('scan_out', 'f32', [3])],
  [['two', i64(2)], ['zero', i64(0)], ...(mode === 'sr' ? [['c16k', i64(16000)] as [string, Tensor]] : [['mode', bool(mode)] as [string, Tensor]])]);
  const main = graph('main', [
    node('Loop', ['trip', '', 'acc0'], ['acc_final', 'accs'], [attr.graph('body', body)]),
  ], [vi('x', 'f32', [3]), vi('trip', 'i64', []), ...(mode === 'sr' ? [vi('sr', 'i64', [])] : [])], [vi('acc_final', 'f32', [3]), vi('accs', 'f32')],
  [['scale', f32([], [1.5])], ['acc0', f32([3], [1, -2, 0.5])]]);
  return model(main, 13);
}

describe('if-inline', () => {
  const r = rand(11);
  const x = randTensor(r, [2, 3], 2);

  for (const flag of [true, false]) {
    it(`inlines the ${flag ? 'then' : 'else'} branch: captures, branch constants and outer values as outputs`, () => {
      const bytes = branchModel();
      // (onnxruntime rejects a branch returning an outer value directly; the reference runs it)
      const want = runGraph(importOnnx(bytes), { x, flag: bool(flag) });
      const g = importOnnx(bytes);
      bindInput(g, 'flag', bool(flag));
      const stats = optimize(g, { verify: true });
      expect(stats.find((s) => s.name === 'if-inline')!.changed).toBe(true);
      expect(countIfs(g)).toBe(0);
      verify(g);
      expect(g.inputs.map((i) => g.value(i).name)).toEqual(['x']);
      expect(g.outputs.map((o) => g.value(o).name)).toEqual(['out', 'z', 'kk']);
      expectSame(runGraph(g, { x }), want);
    });
  }

  it('leaves an If with a run-time condition alone, and is idempotent', () => {
    const g = importOnnx(branchModel());
    expect(ifInline.run(g, passCtx())).toBe(false);
    expect(countIfs(g)).toBe(1);
    bindInput(g, 'flag', bool(true));
    expect(ifInline.run(g, passCtx())).toBe(true);
    expect(ifInline.run(g, passCtx())).toBe(false);
    verify(g);
  });

  for (const sr of [16000, 8000, 2000]) {
    it(`nested If folds level by level (sr=${sr})`, async () => {
      const bytes = nestedModel();
      const xs = randTensor(r, [4], 3);
      const want = runGraph(importOnnx(bytes), { x: xs, sr: i64(sr) });
      expectSame(want, await ortRun(bytes, { x: xs, sr: i64(sr) }), ORT_TOL);
      const g = importOnnx(bytes);
      bindInput(g, 'sr', i64(sr));
      // const-fold makes the outer condition known; if-inline then folds the inner one itself
      constFold.run(g, passCtx());
      expect(countIfs(g)).toBe(2);
      expect(ifInline.run(g, passCtx())).toBe(true);
      verify(g);
      expect(countIfs(g)).toBe(0);
      expectSame(runGraph(g, { x: xs }), want);
      // the full pipeline (with verify after every pass) gives the same
      const g2 = importOnnx(bytes);
      bindInput(g2, 'sr', i64(sr));
      optimize(g2, { target: 'wasm', verify: true });
      expect(countIfs(g2)).toBe(0);
      expectSame(runGraph(g2, { x: xs }), want, { rtol: 1e-6, atol: 1e-7 });
    });
  }

  for (const mode of [true, false]) {
    it(`inlines a constant If inside a Loop body whose branches read values two scopes out (mode=${mode})`, async () => {
      const bytes = loopModel(mode);
      const inputs = { x: f32([3], [0.5, -1.25, 2]), trip: i64(5) };
      const want = runGraph(importOnnx(bytes), inputs);
      expectSame(want, await ortRun(bytes, inputs), ORT_TOL);
      const g = importOnnx(bytes);
      expect(countIfs(g)).toBe(2);
      const stats = optimize(g, { verify: true });
      expect(stats.find((s) => s.name === 'if-inline')!.changed).toBe(true);
      // the If on the body constant is gone; the one on i % 2 stays
      expect(countIfs(g)).toBe(1);
      verify(g);
      expectSame(runGraph(g, inputs), want);
    });
  }

  for (const sr of [16000, 8000]) {
    it(`a bound input read inside a Loop body decides the body's If (sr=${sr})`, async () => {
      const bytes = loopModel('sr');
      const inputs = { x: f32([3], [0.5, -1.25, 2]), trip: i64(4) };
      const want = runGraph(importOnnx(bytes), { ...inputs, sr: i64(sr) });
      expectSame(want, await ortRun(bytes, { ...inputs, sr: i64(sr) }), ORT_TOL);
      const g = importOnnx(bytes);
      bindInput(g, 'sr', i64(sr));
      optimize(g, { verify: true });
      // sr is copied into the body as a constant, Equal folds, the If on it is inlined; the
      // run-time If on i % 2 stays
      expect(countIfs(g)).toBe(1);
      const loop = g.orderedNodes().find((n) => n.op === 'Loop')!;
      expect(subgraphsOf(loop)[0]!.orderedNodes().some((n) => n.op === 'Equal' && n.inputs.every((i) => i !== null && subgraphsOf(loop)[0]!.consts.has(i)))).toBe(false);
      verify(g);
      expectSame(runGraph(g, inputs), want);
      expect(ifInline.run(g, passCtx())).toBe(false);
    });
  }

  it('runs in every target pipeline, after const-fold and before the target passes', () => {
    for (const t of ['ref', 'wasm', 'webgpu', 'hls'] as const) {
      const names = pipelineFor(t, { supports: () => true }).map((p) => p.name);
      const k = names.indexOf('if-inline');
      expect(k, t).toBeGreaterThan(names.indexOf('const-fold'));
      expect(k, t).toBeLessThan(names.indexOf('decompose'));
    }
  });
});

describe('if-inline: before / expected IR', () => {
  const before = `graph "main" opsets {"": 13} {
  input %0 "x" : f32[2]
  const %1 "c" : bool[] = [COND]
  const %2 "b" : f32[2] = [1, 2]
  %3 "y" = If(%1, %0, %2) {else_branch=graph "else" {
      capture %0 "x" : f32[2]
      capture %1 "b" : f32[2]
      %2 "e_y" = Add(%0, %1) @"Add_e_y" : f32[2]
      output %2
    }, then_branch=graph "then" {
      capture %0 "x" : f32[2]
      capture %1 "b" : f32[2]
      %2 "t_y" = Relu(%0) @"Relu_t_y" : f32[2]
      output %2
    }} @"If_y" : f32[2]
  %4 "out" = Neg(%3) @"Neg_out" : f32[2]
  output %4
}
`;
  const expectedThen = `graph "main" opsets {"": 13} {
  input %0 "x" : f32[2]
  %1 "y" = Relu(%0) @"Relu_t_y" : f32[2]
  %2 "out" = Neg(%1) @"Neg_out" : f32[2]
  output %2
}
`;
  const expectedElse = `graph "main" opsets {"": 13} {
  input %0 "x" : f32[2]
  const %1 "b" : f32[2] = [1, 2]
  %2 "y" = Add(%0, %1) @"Add_e_y" : f32[2]
  %3 "out" = Neg(%2) @"Neg_out" : f32[2]
  output %3
}
`;
  for (const [cond, expected] of [[1, expectedThen], [0, expectedElse]] as const) {
    it(`cond=${cond}: the taken branch's nodes replace the If (then dce)`, () => {
      const g = parse(before.replace('COND', String(cond)));
      verify(g);
      const x = f32([2], [-1.5, 2]);
      const want = runGraph(g, [x]);
      expect(ifInline.run(g, passCtx())).toBe(true);
      dce.run(g, passCtx());
      verify(g);
      expect(print(g)).toBe(expected);
      expectSame(runGraph(g, [x]), want);
      // idempotent
      expect(ifInline.run(g, passCtx())).toBe(false);
      expect(print(g)).toBe(expected);
    });
  }
});
