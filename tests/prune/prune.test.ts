/**
 * Pruning on graphs built in code. Expected values come from independent math (brute-force
 * selections written here, group-by-group checks of the 2:4 pattern) and from the reference
 * interpreter on the unpruned graph (channel pruning of exactly-zero channels must not change
 * any output).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { verify } from '../../compiler/ir/verify.js';
import { print } from '../../compiler/ir/print.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { getOp, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { inferCtxOf } from '../../compiler/interp/interp.js';
import { shapeInfer } from '../../compiler/passes/shape-infer.js';
import { passCtx } from '../../compiler/passes/pass.js';
import { EdgecError } from '../../compiler/errors.js';
import { PruneOptions, pruneModel } from '../../prune/index.js';
import { globalCounts } from '../../prune/magnitude.js';

/** Deterministic pseudo-random numbers in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}
const rand = (r: () => number, n: number) => Array.from({ length: n }, r);

/** Random weights [M, rest...] with the listed output channels (axis 0) set to zero. */
function weights(r: () => number, shape: number[], zeroOut: number[] = []): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const inner = n / shape[0]!;
  const v = rand(r, n);
  for (const c of zeroOut) for (let i = 0; i < inner; i++) v[c * inner + i] = 0;
  return Tensor.from('f32', shape, v);
}
function bias(r: () => number, n: number, zero: number[] = []): Tensor {
  const v = rand(r, n);
  for (const c of zero) v[c] = 0;
  return Tensor.from('f32', [n], v);
}
const nodeByName = (g: Graph, name: string): Node => [...g.nodes.values()].find((n) => n.name === name)!;
const weightOf = (g: Graph, name: string): Tensor => g.consts.get(nodeByName(g, name).inputs[1]!)!;

/** MACs of a graph computed here from the registry's cost functions. */
function macsOf(g: Graph): number {
  let m = 0;
  for (const n of g.orderedNodes()) {
    const def = getOp(n.domain, n.op)!;
    if (!def.cost) continue;
    m += def.cost(inferCtxOf(g, n), parseAttrs(def, n, opsetOf(n, g)), n.outputs.map((o) => g.typeOf(o))).macs;
  }
  return m;
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  let d = 0;
  for (let i = 0; i < a.size; i++) d = Math.max(d, Math.abs(a.get(i) - b.get(i)));
  return d;
}

/** Prunes, verifies, checks shape inference is settled, and compares outputs on `x`. */
function pruneAndCompare(g: Graph, opts: PruneOptions, x: Tensor[], tol = 1e-5) {
  const before = print(g);
  const res = pruneModel(g, opts);
  expect(print(g)).toBe(before); // input graph untouched
  verify(res.graph);
  expect(shapeInfer.run(res.graph, passCtx())).toBe(false);
  const want = runGraph(g, x);
  const got = runGraph(res.graph, x);
  want.forEach((w, i) => expect(maxDiff(got[i]!, w)).toBeLessThanOrEqual(tol));
  return res;
}

/** An MLP with Gemm layers (transB alternating) and a MatMul. */
function mlp(seed = 1): Graph {
  const r = rng(seed);
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'f32', [4, 32]);
  let h = b.node('Gemm', [x, b.const('w0', weights(r, [64, 32])), b.const('b0', bias(r, 64))], { transB: 1 }, { name: 'fc0' });
  h = b.node('Relu', [h]);
  h = b.node('Gemm', [h, b.const('w1', Tensor.from('f32', [64, 48], rand(r, 64 * 48))), b.const('b1', bias(r, 48))], {}, { name: 'fc1' });
  h = b.node('Relu', [h]);
  h = b.node('MatMul', [h, b.const('w2', Tensor.from('f32', [48, 16], rand(r, 48 * 16)))], {}, { name: 'mm2' });
  h = b.node('Gemm', [h, b.const('w3', weights(r, [8, 16])), b.const('b3', bias(r, 8))], { transB: 1 }, { name: 'fc3' });
  b.output(h);
  return b.build();
}

/** A small CNN: conv0 (first) -> conv1 -> conv2 (1x1). */
function cnn(seed = 2): Graph {
  const r = rng(seed);
  const b = new GraphBuilder('cnn');
  const x = b.input('x', 'f32', [1, 4, 6, 6]);
  let h = b.node('Conv', [x, b.const('cw0', weights(r, [16, 4, 3, 3])), b.const('cb0', bias(r, 16))], { pads: [1, 1, 1, 1] }, { name: 'conv0' });
  h = b.node('Relu', [h]);
  h = b.node('Conv', [h, b.const('cw1', weights(r, [16, 16, 3, 3])), b.const('cb1', bias(r, 16))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  h = b.node('Relu', [h]);
  h = b.node('Conv', [h, b.const('cw2', weights(r, [8, 16, 1, 1]))], {}, { name: 'conv2' });
  b.output(h);
  return b.build();
}

const zeros = (t: Tensor) => t.toNumbers().filter((v) => v === 0).length;

describe('prune: options', () => {
  const g = mlp();
  for (const [opts, what] of [
    [{ ratio: -0.1, mode: 'unstructured' }, 'ratio'],
    [{ ratio: 1, mode: 'unstructured' }, 'ratio'],
    [{ ratio: Number.NaN, mode: 'channel' }, 'ratio'],
    [{ ratio: 0.5, mode: 'blocky' }, 'mode'],
    [{ ratio: 0.5, mode: 'unstructured', scope: 'tensor' }, 'scope'],
    [{ ratio: 0.5, mode: 'channel', criterion: 'l3' }, 'criterion'],
  ] as [PruneOptions, string][]) {
    it(`rejects a bad ${what}: ${JSON.stringify(opts)}`, () => {
      try {
        pruneModel(g, opts);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(EdgecError);
        expect((e as EdgecError).kind).toBe('usage');
        expect((e as EdgecError).message).toContain(what === 'ratio' ? 'RATIO' : what);
      }
    });
  }
  it('ratio 0 changes nothing', () => {
    for (const mode of ['unstructured', 'channel'] as const) {
      const res = pruneModel(g, { ratio: 0, mode });
      expect(print(res.graph, { constValues: true, inlineLimit: 1e6 })).toBe(print(g, { constValues: true, inlineLimit: 1e6 }));
    }
  });
});

describe('prune: unstructured magnitude', () => {
  it('global threshold: exactly round(ratio * N) eligible weights become zero, smallest first', () => {
    const g = mlp();
    const names = ['fc0', 'fc1', 'mm2', 'fc3'];
    const eligible = names.filter((n) => weightOf(g, n).size >= 256); // fc3 (128 weights) is tiny
    const all = eligible.flatMap((n) => weightOf(g, n).toNumbers().map((v) => Math.abs(v)));
    for (const ratio of [0.3, 0.5, 0.8]) {
      const res = pruneAndCompare(g, { ratio, mode: 'unstructured' }, [Tensor.zeros('f32', [4, 32])], Infinity);
      const k = Math.round(ratio * all.length);
      expect(eligible.reduce((a, n) => a + zeros(weightOf(res.graph, n)), 0)).toBe(k);
      // every removed weight is no larger than every kept one (global threshold, no cap reached)
      const removed = eligible.flatMap((n) => weightOf(g, n).toNumbers().filter((_, i) => weightOf(res.graph, n).get(i) === 0).map(Math.abs));
      const kept = eligible.flatMap((n) => weightOf(res.graph, n).toNumbers().filter((v) => v !== 0).map(Math.abs));
      expect(Math.max(...removed)).toBeLessThanOrEqual(Math.min(...kept));
      // tiny layer untouched and reported
      expect(weightOf(res.graph, 'fc3').toNumbers()).toEqual(weightOf(g, 'fc3').toNumbers());
      expect(res.summary.skipped).toEqual([{ node: 'fc3', reason: expect.stringContaining('tiny layer') }]);
      expect(res.summary.nnzBefore - res.summary.nnzAfter).toBe(k);
      expect(res.summary.paramsAfter).toBe(res.summary.paramsBefore);
      expect(res.summary.macsAfter).toBe(res.summary.macsBefore);
      for (const l of res.summary.layers) {
        expect(l.sparsity).toBeCloseTo(1 - l.after / l.size, 12);
        expect(nodeByName(res.graph, l.node).meta?.['sparsity']).toMatchObject({ pattern: 'unstructured', nnz: l.after, size: l.size });
      }
    }
  });

  it('per-layer caps keep every layer alive (brute-force reference)', () => {
    // one layer with tiny weights would be emptied by a plain global threshold
    const r = rng(5);
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 16]);
    const h = b.node('Gemm', [x, b.const('a', Tensor.from('f32', [16, 32], rand(r, 512).map((v) => v * 1e-3)))], {}, { name: 'small' });
    const y = b.node('Gemm', [h, b.const('b', Tensor.from('f32', [32, 32], rand(r, 1024)))], {}, { name: 'big' });
    b.output(y);
    const g = b.build();
    const res = pruneModel(g, { ratio: 0.5, mode: 'unstructured' });
    const small = res.summary.layers.find((l) => l.node === 'small')!;
    expect(small.sparsity).toBeCloseTo(0.9, 2); // cap max(0.9, 0.75)
    expect(zeros(weightOf(res.graph, 'small')) + zeros(weightOf(res.graph, 'big'))).toBe(768);
    // brute force: walk all weights by magnitude, take one unless its layer is at its cap
    const mags = [weightOf(g, 'small'), weightOf(g, 'big')].map((t) => Float64Array.from(t.toNumbers(), Math.abs).sort());
    const caps = [Math.floor(0.9 * 512), Math.floor(0.9 * 1024)];
    const pairs = mags.flatMap((m, l) => [...m].map((v) => [v, l] as const)).sort((p, q) => p[0] - q[0]);
    const take = [0, 0];
    let left = 768;
    for (const [, l] of pairs) if (left > 0 && take[l]! < caps[l]!) { take[l]!++; left--; }
    expect(globalCounts(mags, caps, 768)).toEqual(take);
    expect([zeros(weightOf(res.graph, 'small')), zeros(weightOf(res.graph, 'big'))]).toEqual(take);
  });

  it("scope 'layer' prunes each layer by the ratio; idempotent; exclude and skipFirstConv", () => {
    const g = cnn();
    const res = pruneModel(g, { ratio: 0.6, mode: 'unstructured', scope: 'layer' });
    expect(zeros(weightOf(res.graph, 'conv0'))).toBe(0); // first conv stays dense
    expect(res.summary.skipped.find((s) => s.node === 'conv0')?.reason).toContain('first conv');
    expect(zeros(weightOf(res.graph, 'conv1'))).toBe(Math.round(0.6 * 2304));
    expect(zeros(weightOf(res.graph, 'conv2'))).toBeLessThan(1); // 128 weights: tiny
    const again = pruneModel(res.graph, { ratio: 0.6, mode: 'unstructured', scope: 'layer' });
    expect(print(again.graph, { inlineLimit: 1e6 })).toBe(print(res.graph, { inlineLimit: 1e6 }));
    const g2 = pruneModel(g, { ratio: 0.6, mode: 'unstructured', skipFirstConv: false, minParams: 0, exclude: ['conv1'] });
    expect(zeros(weightOf(g2.graph, 'conv0'))).toBeGreaterThan(0);
    expect(zeros(weightOf(g2.graph, 'conv1'))).toBe(0);
    expect(zeros(weightOf(g2.graph, 'conv0')) + zeros(weightOf(g2.graph, 'conv2'))).toBe(Math.round(0.6 * (576 + 128)));
    expect(g2.summary.skipped).toEqual([{ node: 'conv1', reason: 'excluded' }]);
  });

  it('global pruning is idempotent', () => {
    const g = mlp(3);
    const a = pruneModel(g, { ratio: 0.7, mode: 'unstructured' });
    const b = pruneModel(a.graph, { ratio: 0.7, mode: 'unstructured' });
    expect(print(b.graph, { inlineLimit: 1e6 })).toBe(print(a.graph, { inlineLimit: 1e6 }));
  });
});

describe('prune: bias correction (unstructured and 2:4 with calibration data)', () => {
  it('keeps the mean output of a linear layer over the calibration set', () => {
    const r = rng(30);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [64, 16]);
    const xs = Tensor.from('f32', [64, 16], rand(r, 1024).map((v, i) => v + (i % 16) * 0.25)); // nonzero input means
    b.output(b.node('Gemm', [inp, b.const('w', Tensor.from('f32', [16, 24], rand(r, 384))), b.const('c', bias(r, 24))], { alpha: 0.5 }, { name: 'fc' }));
    const g = b.build();
    const mean = (t: Tensor) => Array.from({ length: 24 }, (_, j) => t.toNumbers().filter((_, i) => i % 24 === j).reduce((a, v) => a + v, 0) / 64);
    const want = mean(runGraph(g, [xs])[0]!);
    for (const mode of ['unstructured', '2:4'] as const) {
      const plain = pruneModel(g, { ratio: 0.6, mode });
      const fixed = pruneModel(g, { ratio: 0.6, mode, calib: [xs] });
      const pm = mean(runGraph(plain.graph, [xs])[0]!);
      const fm = mean(runGraph(fixed.graph, [xs])[0]!);
      expect(Math.max(...pm.map((v, j) => Math.abs(v - want[j]!)))).toBeGreaterThan(1e-2);
      for (let j = 0; j < 24; j++) expect(fm[j]).toBeCloseTo(want[j]!, 4);
      // the weights themselves are the same as without calibration data
      expect(weightOf(fixed.graph, 'fc').toNumbers()).toEqual(weightOf(plain.graph, 'fc').toNumbers());
    }
  });
});

describe('prune: 2:4', () => {
  /** Checks every group of 4 along `axis`: at most 2 nonzeros, and they are the 2 largest. */
  function check24(orig: Tensor, pruned: Tensor, axis: number): number {
    const sh = orig.shape;
    const st: number[] = [];
    let acc = 1;
    for (let i = sh.length - 1; i >= 0; i--) { st[i] = acc; acc *= sh[i]!; }
    let groups = 0;
    for (let f = 0; f < orig.size; f++) {
      const k = Math.floor(f / st[axis]!) % sh[axis]!;
      if (k % 4 !== 0) continue;
      const idx = [0, 1, 2, 3].map((j) => f + j * st[axis]!);
      const kept = idx.filter((i) => pruned.get(i) !== 0);
      expect(kept.length).toBeLessThanOrEqual(2);
      for (const i of kept) expect(pruned.get(i)).toBe(orig.get(i));
      const dropped = idx.filter((i) => pruned.get(i) === 0).map((i) => Math.abs(orig.get(i)));
      const keptMin = Math.min(...kept.map((i) => Math.abs(orig.get(i))));
      for (const d of dropped) expect(d).toBeLessThanOrEqual(keptMin);
      groups++;
    }
    return groups;
  }

  it('holds for every group of 4 along K (Conv axis 1, Gemm transB 0/1, MatMul)', () => {
    const g = mlp(4);
    const res = pruneModel(g, { ratio: 0.9, mode: '2:4', minParams: 0 });
    expect(res.summary.ratio).toBe(0.5);
    expect(check24(weightOf(g, 'fc0'), weightOf(res.graph, 'fc0'), 1)).toBe(64 * 8); // [N,K] transB=1
    expect(check24(weightOf(g, 'fc1'), weightOf(res.graph, 'fc1'), 0)).toBe(48 * 16); // [K,N]
    expect(check24(weightOf(g, 'mm2'), weightOf(res.graph, 'mm2'), 0)).toBe(16 * 12);
    expect(check24(weightOf(g, 'fc3'), weightOf(res.graph, 'fc3'), 1)).toBe(8 * 4);
    for (const l of res.summary.layers) expect(l.sparsity).toBe(0.5);
    const c = cnn(6);
    const rc = pruneModel(c, { ratio: 0, mode: '2:4', minParams: 0 });
    expect(check24(weightOf(c, 'conv1'), weightOf(rc.graph, 'conv1'), 1)).toBe(16 * 4 * 9);
    expect(check24(weightOf(c, 'conv2'), weightOf(rc.graph, 'conv2'), 1)).toBe(8 * 4);
    expect(rc.summary.skipped.map((s) => s.node)).toEqual(['conv0']);
    expect(nodeByName(rc.graph, 'conv1').meta?.['sparsity']).toMatchObject({ pattern: '2:4', axis: 1 });
    const again = pruneModel(rc.graph, { ratio: 0, mode: '2:4', minParams: 0 });
    expect(print(again.graph, { inlineLimit: 1e6 })).toBe(print(rc.graph, { inlineLimit: 1e6 }));
  });

  it('skips a layer whose K is not a multiple of 4', () => {
    const r = rng(9);
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 30]);
    b.output(b.node('Gemm', [x, b.const('w', Tensor.from('f32', [30, 20], rand(r, 600)))], {}, { name: 'odd' }));
    const g = b.build();
    const res = pruneModel(g, { ratio: 0, mode: '2:4' });
    expect(res.summary.layers).toEqual([]);
    expect(res.summary.skipped).toEqual([{ node: 'odd', reason: expect.stringContaining('K = 30') }]);
  });
});

describe('prune: channel', () => {
  const x = (r: () => number, shape: number[]) => Tensor.from('f32', shape, rand(r, shape.reduce((a, b) => a * b, 1)));

  it('conv chain with an unfolded BatchNormalization: zero channels removed, outputs identical', () => {
    const r = rng(11);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [2, 3, 6, 6]);
    let h = b.node('Conv', [inp, b.const('w0', weights(r, [8, 3, 3, 3], [2, 5])), b.const('b0', bias(r, 8, [2, 5]))], { pads: [1, 1, 1, 1] }, { name: 'conv0' });
    const gamma = Tensor.from('f32', [8], rand(r, 8).map((v) => 1 + 0.5 * v));
    const beta = bias(r, 8, [2, 5]);
    const mean = bias(r, 8, [2, 5]);
    const vr = Tensor.from('f32', [8], rand(r, 8).map((v) => 1.5 + v));
    h = b.node('BatchNormalization', [h, b.const('g', gamma), b.const('be', beta), b.const('m', mean), b.const('v', vr)], {}, { name: 'bn0' });
    h = b.node('Relu', [h]);
    h = b.node('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
    h = b.node('Conv', [h, b.const('w1', weights(r, [4, 8, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
    b.output(h);
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [2, 3, 6, 6])], 1e-6);
    expect(weightOf(res.graph, 'conv0').shape).toEqual([6, 3, 3, 3]);
    expect(weightOf(res.graph, 'conv1').shape).toEqual([4, 6, 3, 3]);
    expect(res.graph.consts.get(nodeByName(res.graph, 'bn0').inputs[1]!)!.shape).toEqual([6]);
    expect(res.summary.macsAfter).toBe(macsOf(res.graph));
    expect(res.summary.macsAfter).toBeLessThan(res.summary.macsBefore);
    expect(res.summary.paramsBefore - res.summary.paramsAfter).toBe(2 * 27 + 2 + 4 * 2 + 4 * 2 * 9);
    const conv0 = res.summary.layers.find((l) => l.node === 'conv0')!;
    expect(conv0.channels).toEqual({ outBefore: 8, outAfter: 6, inBefore: 3, inAfter: 3 });
  });

  it('skips the first conv by default and says so', () => {
    const g = cnn(12);
    const res = pruneModel(g, { ratio: 0.5, mode: 'channel' });
    expect(weightOf(res.graph, 'conv0').shape).toEqual([16, 4, 3, 3]);
    expect(weightOf(res.graph, 'conv1').shape).toEqual([8, 16, 3, 3]);
    expect(weightOf(res.graph, 'conv2').shape).toEqual([8, 8, 1, 1]);
    expect(res.summary.skipped).toContainEqual({ node: 'conv0', reason: 'first conv layer (skipFirstConv)' });
    expect(res.summary.skipped).toContainEqual({ node: 'conv2', reason: expect.stringContaining('graph output') });
    verify(res.graph);
  });

  it('residual Add: both producers lose the same channels; identical outputs', () => {
    const r = rng(13);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [1, 3, 5, 5]);
    const Z = [1, 6];
    let a = b.node('Conv', [inp, b.const('w0', weights(r, [8, 3, 3, 3], Z)), b.const('b0', bias(r, 8, Z))], { pads: [1, 1, 1, 1] }, { name: 'conv0' });
    a = b.node('Relu', [a]);
    let c = b.node('Conv', [a, b.const('w1', weights(r, [8, 8, 3, 3], [2, 3]))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
    c = b.node('Relu', [c]);
    const d = b.node('Conv', [c, b.const('w2', weights(r, [8, 8, 3, 3], Z)), b.const('b2', bias(r, 8, Z))], { pads: [1, 1, 1, 1] }, { name: 'conv2' });
    let s = b.node('Add', [a, d], {}, { name: 'res' });
    s = b.node('Relu', [s]);
    b.output(b.node('Conv', [s, b.const('w3', weights(r, [4, 8, 1, 1]))], {}, { name: 'head' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [1, 3, 5, 5])], 1e-6);
    expect(weightOf(res.graph, 'conv0').shape[0]).toBe(6);
    expect(weightOf(res.graph, 'conv2').shape[0]).toBe(6);
    expect(weightOf(res.graph, 'conv1').shape).toEqual([6, 6, 3, 3]); // its own group lost its 2 zero filters
    expect(weightOf(res.graph, 'head').shape).toEqual([4, 6, 1, 1]);
  });

  it('a residual Add with a graph input is left alone and reported', () => {
    const r = rng(14);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [1, 8, 4, 4]);
    let h = b.node('Conv', [inp, b.const('w0', weights(r, [8, 8, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'conv0' });
    h = b.node('Relu', [h]);
    h = b.node('Conv', [h, b.const('w1', weights(r, [8, 8, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
    h = b.node('Add', [inp, h]);
    b.output(b.node('Conv', [h, b.const('w2', weights(r, [2, 8, 1, 1]))], {}, { name: 'head' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.5, mode: 'channel', skipFirstConv: false }, [x(r, [1, 8, 4, 4])], Infinity);
    expect(weightOf(res.graph, 'conv1').shape).toEqual([8, 4, 3, 3]); // only conv0's outputs went
    expect(weightOf(res.graph, 'head').shape).toEqual([2, 8, 1, 1]);
    expect(res.summary.skipped).toContainEqual({ node: 'conv1', reason: 'channels come from a graph input' });
  });

  it('squeeze-and-excitation Mul: gate channels follow the feature channels', () => {
    const r = rng(15);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [2, 3, 4, 4]);
    const Z = [0, 3];
    let f = b.node('Conv', [inp, b.const('w0', weights(r, [8, 3, 3, 3], Z)), b.const('b0', bias(r, 8, Z))], { pads: [1, 1, 1, 1] }, { name: 'conv0' });
    f = b.node('Relu', [f]);
    let s = b.node('GlobalAveragePool', [f]);
    s = b.node('Conv', [s, b.const('se1', weights(r, [4, 8, 1, 1], [2])), b.const('sb1', bias(r, 4, [2]))], {}, { name: 'se_reduce' });
    s = b.node('Relu', [s]);
    s = b.node('Conv', [s, b.const('se2', weights(r, [8, 4, 1, 1], Z)), b.const('sb2', bias(r, 8, Z))], {}, { name: 'se_expand' });
    s = b.node('Sigmoid', [s]);
    const m = b.node('Mul', [f, s], {}, { name: 'se_mul' });
    b.output(b.node('Conv', [m, b.const('w3', weights(r, [4, 8, 3, 3]))], {}, { name: 'conv3' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [2, 3, 4, 4])], 1e-6);
    expect(weightOf(res.graph, 'conv0').shape[0]).toBe(6);
    expect(weightOf(res.graph, 'se_expand').shape).toEqual([6, 3, 1, 1]);
    expect(weightOf(res.graph, 'se_reduce').shape).toEqual([3, 6, 1, 1]);
    // excluding a node freezes every channel group it touches (here: the whole SE block)
    const ex = pruneModel(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false, exclude: ['se_reduce'] });
    expect(weightOf(ex.graph, 'conv0').shape[0]).toBe(8);
    expect(weightOf(ex.graph, 'se_reduce').shape).toEqual([4, 8, 1, 1]);
    expect(ex.summary.skipped).toContainEqual({ node: 'conv0', reason: '"se_reduce" is excluded' });
    expect(weightOf(res.graph, 'conv3').shape).toEqual([4, 6, 3, 3]);
  });

  it('Concat on the channel axis: each input pruned on its own, consumer sliced by offsets', () => {
    const r = rng(16);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [1, 2, 5, 5]);
    const a = b.node('Conv', [inp, b.const('wa', weights(r, [4, 2, 3, 3], [2])), b.const('ba', bias(r, 4, [2]))], { pads: [1, 1, 1, 1] }, { name: 'ca' });
    const c = b.node('Conv', [inp, b.const('wb', weights(r, [8, 2, 1, 1], [0, 7])), b.const('bb', bias(r, 8, [0, 7]))], {}, { name: 'cb' });
    const cat = b.node('Concat', [b.node('Relu', [a]), c], { axis: 1 });
    b.output(b.node('Conv', [cat, b.const('wc', weights(r, [3, 12, 3, 3]))], {}, { name: 'cc' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [1, 2, 5, 5])], 1e-6);
    expect(weightOf(res.graph, 'ca').shape[0]).toBe(3);
    expect(weightOf(res.graph, 'cb').shape[0]).toBe(6);
    expect(weightOf(res.graph, 'cc').shape).toEqual([3, 9, 3, 3]);
  });

  it('depthwise conv: its filters and group follow the channels', () => {
    const r = rng(17);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [1, 3, 6, 6]);
    const Z = [4, 5];
    let h = b.node('Conv', [inp, b.const('w0', weights(r, [8, 3, 1, 1], Z)), b.const('b0', bias(r, 8, Z))], {}, { name: 'pw0' });
    h = b.node('Relu', [h]);
    h = b.node('Conv', [h, b.const('wd', weights(r, [16, 1, 3, 3])), b.const('bd', bias(r, 16, [8, 9, 10, 11]))],
      { group: 8, pads: [1, 1, 1, 1] }, { name: 'dw' });
    h = b.node('Relu', [h]);
    b.output(b.node('Conv', [h, b.const('w2', weights(r, [4, 16, 1, 1]))], {}, { name: 'pw1' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [1, 3, 6, 6])], 1e-6);
    expect(weightOf(res.graph, 'pw0').shape).toEqual([6, 3, 1, 1]);
    expect(weightOf(res.graph, 'dw').shape).toEqual([12, 1, 3, 3]);
    expect(nodeByName(res.graph, 'dw').attrs['group']).toBe(6);
    expect(weightOf(res.graph, 'pw1').shape).toEqual([4, 12, 1, 1]);
  });

  for (const how of ['Flatten', 'Reshape'] as const) {
    it(`${how} -> Gemm: the consumer loses each removed channel's spatial block`, () => {
      const r = rng(18);
      const b = new GraphBuilder();
      const inp = b.input('x', 'f32', [2, 3, 4, 4]);
      let h = b.node('Conv', [inp, b.const('w0', weights(r, [6, 3, 3, 3], [1, 4])), b.const('b0', bias(r, 6, [1, 4]))], { pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'conv0' });
      h = b.node('Relu', [h]);
      h = how === 'Flatten' ? b.node('Flatten', [h]) : b.node('Reshape', [h, b.const('shape', Tensor.from('i64', [2], [2, 24]))]);
      b.output(b.node('Gemm', [h, b.const('fw', Tensor.from('f32', [5, 24], rand(r, 120))), b.const('fb', bias(r, 5))], { transB: 1 }, { name: 'fc' }));
      const g = b.build();
      const res = pruneAndCompare(g, { ratio: 0.34, mode: 'channel', skipFirstConv: false }, [x(r, [2, 3, 4, 4])], 1e-6);
      expect(weightOf(res.graph, 'conv0').shape[0]).toBe(4);
      expect(weightOf(res.graph, 'fc').shape).toEqual([5, 16]);
      // the kept columns are exactly the blocks of the kept channels 0, 2, 3, 5
      const want = [0, 2, 3, 5].flatMap((c) => [0, 1, 2, 3].map((s) => c * 4 + s));
      const fw = weightOf(g, 'fc');
      const got = weightOf(res.graph, 'fc');
      for (let o = 0; o < 5; o++) want.forEach((col, j) => expect(got.get(o * 16 + j)).toBe(fw.get(o * 24 + col)));
    });
  }

  it('spatial Pad passes channels through; a grouped conv is left alone', () => {
    const r = rng(23);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [1, 3, 4, 4]);
    let h = b.node('Conv', [inp, b.const('w0', weights(r, [8, 3, 3, 3], [3, 7])), b.const('b0', bias(r, 8, [3, 7]))], {}, { name: 'conv0' });
    h = b.node('Pad', [h, b.const('pads', Tensor.from('i64', [8], [0, 0, 1, 1, 0, 0, 1, 1]))]);
    h = b.node('Conv', [h, b.const('wg', weights(r, [8, 4, 3, 3]))], { group: 2 }, { name: 'grouped' });
    b.output(b.node('Conv', [h, b.const('w2', weights(r, [2, 8, 1, 1]))], {}, { name: 'head' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [1, 3, 4, 4])], Infinity);
    expect(weightOf(res.graph, 'conv0').shape[0]).toBe(8); // its consumer is grouped: blocked
    expect(res.summary.skipped).toContainEqual({ node: 'conv0', reason: '"grouped" (Conv) is a grouped convolution' });
    expect(res.summary.skipped).toContainEqual({ node: 'grouped', reason: '"grouped" (Conv) is a grouped convolution' });
    // without the grouped conv, the Pad is transparent
    const b2 = new GraphBuilder();
    const i2 = b2.input('x', 'f32', [1, 3, 4, 4]);
    let h2 = b2.node('Conv', [i2, b2.const('w0', weights(r, [8, 3, 3, 3], [3, 7])), b2.const('b0', bias(r, 8, [3, 7]))], {}, { name: 'conv0' });
    h2 = b2.node('Pad', [h2, b2.const('pads', Tensor.from('i64', [8], [0, 0, 1, 1, 0, 0, 1, 1]))]);
    b2.output(b2.node('Conv', [h2, b2.const('w1', weights(r, [2, 8, 3, 3]))], {}, { name: 'conv1' }));
    const g2 = b2.build();
    const res2 = pruneAndCompare(g2, { ratio: 0.25, mode: 'channel', skipFirstConv: false }, [x(r, [1, 3, 4, 4])], 1e-6);
    expect(weightOf(res2.graph, 'conv1').shape).toEqual([2, 6, 3, 3]);
  });

  it('channels read by an op it cannot rewrite (Softmax over channels) stay', () => {
    const r = rng(19);
    const b = new GraphBuilder();
    const inp = b.input('x', 'f32', [1, 3, 4, 4]);
    let h = b.node('Conv', [inp, b.const('w0', weights(r, [8, 3, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'conv0' });
    h = b.node('Conv', [h, b.const('w1', weights(r, [8, 8, 3, 3]))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
    h = b.node('Softmax', [h], { axis: 1 }, { name: 'sm' });
    b.output(b.node('Conv', [h, b.const('w2', weights(r, [2, 8, 1, 1]))], {}, { name: 'head' }));
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.5, mode: 'channel', skipFirstConv: false }, [x(r, [1, 3, 4, 4])], Infinity);
    expect(weightOf(res.graph, 'conv0').shape).toEqual([4, 3, 3, 3]);
    expect(weightOf(res.graph, 'conv1').shape).toEqual([8, 4, 3, 3]);
    expect(weightOf(res.graph, 'head').shape).toEqual([2, 8, 1, 1]);
    expect(res.summary.skipped).toContainEqual({ node: 'conv1', reason: expect.stringContaining('"sm" (Softmax)') });
  });

  it('bias compensation restores constant channels exactly (Gemm consumers, calibration data)', () => {
    const r = rng(20);
    const b = new GraphBuilder();
    let h: ValueId = b.input('x', 'f32', [8, 6]);
    const dims = [6, 8, 8, 8, 4];
    for (let l = 0; l < 4; l++) {
      const w = weights(r, [dims[l + 1]!, dims[l]!], l < 3 ? [1, 5] : []);
      const bb = rand(r, dims[l + 1]!);
      if (l < 3) { bb[1] = 0.5 + 0.1 * l; bb[5] = -0.2 + 0.3 * l; }
      h = b.node('Gemm', [h, b.const(`w${l}`, w), b.const(`b${l}`, Tensor.from('f32', [dims[l + 1]!], bb))], { transB: 1 }, { name: `fc${l}` });
      if (l < 3) h = b.node('Relu', [h]);
    }
    b.output(h);
    const g = b.build();
    const calib = x(r, [32, 6]);
    // without compensation the constant channels' contribution is lost; with it, nothing changes
    const plain = pruneModel(g, { ratio: 0.25, mode: 'channel', criterion: 'l2', biasCompensation: false, calib: [calib] });
    expect(maxDiff(runGraph(plain.graph, [x(rng(1), [8, 6])])[0]!, runGraph(g, [x(rng(1), [8, 6])])[0]!)).toBeGreaterThan(1e-2);
    const res = pruneAndCompare(g, { ratio: 0.25, mode: 'channel', calib: [calib] }, [x(rng(1), [8, 6])], 1e-5);
    expect(res.summary.layers.map((l) => l.channels?.outAfter)).toEqual([6, 6, 6, 4]);
    for (const seq of [true]) pruneAndCompare(g, { ratio: 0.25, mode: 'channel', calib: [calib], sequential: seq }, [x(rng(1), [8, 6])], 1e-5);
  });

  it('MatMul consumers get an Add for compensation; FusedGemm sources shrink', () => {
    const r = rng(21);
    const b = new GraphBuilder('m', { '': 17, edgec: 1 });
    const inp = b.input('x', 'f32', [4, 8]);
    const w0 = weights(r, [12, 8], [3]);
    const b0 = rand(r, 12);
    b0[3] = 0.75;
    let h = b.node('FusedGemm', [inp, b.const('w0', w0), b.const('b0', Tensor.from('f32', [12], b0))],
      { transB: 1, activation: 'Relu', activation_params: [] }, { domain: 'edgec', name: 'fg0' });
    h = b.node('MatMul', [h, b.const('w1', Tensor.from('f32', [12, 5], rand(r, 60)))], {}, { name: 'mm1' });
    b.output(h);
    const g = b.build();
    const res = pruneAndCompare(g, { ratio: 0.1, mode: 'channel', calib: [x(r, [16, 8])] }, [x(r, [4, 8])], 1e-5);
    expect(weightOf(res.graph, 'fg0').shape).toEqual([11, 8]);
    expect(weightOf(res.graph, 'mm1').shape).toEqual([11, 5]);
    expect([...res.graph.nodes.values()].some((n) => n.op === 'Add' && n.name === 'mm1.bias_comp')).toBe(true);
  });

  it('keeps at least one channel and honours channelMultiple', () => {
    const g = cnn(22);
    const res = pruneModel(g, { ratio: 0.99, mode: 'channel' });
    expect(weightOf(res.graph, 'conv1').shape[0]).toBe(1);
    const m = pruneModel(g, { ratio: 0.6, mode: 'channel', channelMultiple: 4 });
    expect(weightOf(m.graph, 'conv1').shape[0]).toBe(8); // 16 - round(9.6) = 6 -> 8
  });
});
