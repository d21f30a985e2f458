/**
 * fold-affine (compiler/passes/fold-affine.ts): a per-channel affine (BatchNormalization, or Mul/Add
 * by a per-channel constant) after a channel Concat folds back into the producers of each slice, or
 * forward into the Conv/Gemm it feeds. Graphs are built in code (an InceptionTime-style 1-D block, a
 * 2-D variant, and cases that must not fold); the reference interpreter gives the same outputs before
 * and after (rtol 1e-5) and the node counts show the fold. Then the effect on int8: an InceptionTime-
 * style classifier whose Concat slices differ 100x in range (BN after the Concat evens them out),
 * quantized with minmax calibration, has a much higher output SNR vs float with the new passes.
 */
import { describe, expect, it } from 'vitest';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { foldAffine } from '../../compiler/passes/fold-affine.js';
import { foldBatchnorm } from '../../compiler/passes/fold-batchnorm.js';
import { foldPad } from '../../compiler/passes/fold-pad.js';
import { dce } from '../../compiler/passes/dce.js';
import { optimize } from '../../compiler/pipeline.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { quantizeModel } from '../../quantize/index.js';
import { checkPass, expectSameOutputs, randTensor, rng } from './helpers.js';

const TOL = { rtol: 1e-5, atol: 1e-5 };
const count = (g: Graph, op: string): number => g.orderedNodes().filter((n) => n.op === op).length;

/** Runs the passes; checks verify, idempotence and equal reference outputs at rtol 1e-5. */
function run(g: Graph, passes = [foldBatchnorm, foldAffine, foldPad, dce], expectChange?: boolean): Graph {
  const out = checkPass(passes, g, undefined, { numeric: false, ...(expectChange === undefined ? {} : { expectChange }) });
  expectSameOutputs(g, out, [1, 2], TOL);
  return out;
}

/** BN parameters for C channels: given per-channel mean / variance, or random ones. */
function bn(b: GraphBuilder, x: ValueId, c: number, seed: number, stats?: { mean: number[]; var: number[] }): ValueId {
  const gamma = b.const('gamma', randTensor([c], seed, 0.5, 2));
  const beta = b.const('beta', randTensor([c], seed + 1));
  const mean = b.const('mean', stats ? Tensor.from('f32', [c], stats.mean) : randTensor([c], seed + 2));
  const v = b.const('var', stats ? Tensor.from('f32', [c], stats.var) : randTensor([c], seed + 3, 0.2, 3));
  return b.node('BatchNormalization', [x, gamma, beta, mean, v], { epsilon: 1e-5 });
}

/** 'same' padding of a kernel k along each spatial axis as a Pad node (zero value). */
function samePad(b: GraphBuilder, x: ValueId, ks: number[], value = 0): ValueId {
  const beg = ks.map((k) => Math.floor((k - 1) / 2));
  const end = ks.map((k, i) => k - 1 - beg[i]!);
  const pads = [0, 0, ...beg, 0, 0, ...end];
  const ins: ValueId[] = [x, b.const('pads', 'i64', [pads.length], pads.map(BigInt))];
  if (value !== 0) ins.push(b.const('pad_value', Tensor.from('f32', [], [value])));
  return b.node('Pad', ins);
}

interface BlockOpts {
  /** Spatial kernels of the parallel convs, e.g. [[10], [20], [40]] (1-D) or [[1,1], [3,3], [5,5]]. */
  kernels: number[][];
  /** Channels per branch. */
  f: number;
  /** Multiplier on each branch's weights (the maxpool branch last): makes slice ranges differ. */
  gains?: number[];
  /** BN statistics after the Concat (default random). */
  stats?: { mean: number[]; var: number[] };
  /** Returns the Concat output (to measure its statistics) instead of the block output. */
  stopAtConcat?: boolean;
  seed: number;
}

/**
 * InceptionTime-style block: bottleneck 1x1 conv, parallel Pad + Conv branches, a MaxPool(3, -inf
 * Pad) + 1x1 conv branch, Concat on channels, BatchNormalization, Relu, plus a residual shortcut
 * (1x1 conv + BN) added and Relu'd.
 */
function inceptionBlock(b: GraphBuilder, x: ValueId, cin: number, o: BlockOpts): ValueId {
  const nd = o.kernels[0]!.length;
  const ones = new Array<number>(nd).fill(1);
  const gain = (i: number): number => o.gains?.[i] ?? 1;
  const w = (shape: number[], seed: number, gn: number): ValueId => {
    const fanIn = shape.slice(1).reduce((a, c) => a * c, 1);
    const lim = gn / Math.sqrt(fanIn);
    return b.const('w', randTensor(shape, seed, -lim, lim));
  };
  const bottleneck = b.node('Conv', [x, w([o.f, cin, ...ones], o.seed, 1)]);
  const branches = o.kernels.map((k, i) => b.node('Conv', [samePad(b, bottleneck, k),
    w([o.f, o.f, ...k], o.seed + 10 + i, gain(i)), b.const('b', randTensor([o.f], o.seed + 20 + i, -0.1 * gain(i), 0.1 * gain(i)))]));
  const mp = b.node('MaxPool', [samePad(b, x, ones.map(() => 3), -Infinity)], { kernel_shape: ones.map(() => 3), strides: ones });
  branches.push(b.node('Conv', [mp, w([o.f, cin, ...ones], o.seed + 30, gain(o.kernels.length))]));
  const cat = b.node('Concat', branches, { axis: 1 });
  if (o.stopAtConcat) return cat;
  const c = o.f * branches.length;
  const y = b.node('Relu', [bn(b, cat, c, o.seed + 40, o.stats)]);
  const sc = bn(b, b.node('Conv', [x, w([c, cin, ...ones], o.seed + 50, 1)]), c, o.seed + 60);
  return b.node('Relu', [b.node('Add', [y, sc])]);
}

describe('fold-affine', () => {
  it('folds BN after the Concat of a 1-D InceptionTime block into every branch (kernels 10/20/40 + maxpool)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 3, 48]);
    b.output(inceptionBlock(b, x, 3, { kernels: [[10], [20], [40]], f: 4, seed: 1 }));
    const g = b.build();
    expect(count(g, 'Pad')).toBe(4);
    const out = run(g);
    expect(count(out, 'BatchNormalization')).toBe(0);
    expect(count(out, 'Mul')).toBe(0);
    expect(count(out, 'Pad')).toBe(0);
    // the only Add left is the residual one
    expect(out.orderedNodes().map((n) => n.op).sort()).toEqual(['Add', 'Concat', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'Conv', 'MaxPool', 'Relu', 'Relu']);
  });

  it('folds BN after a 2-D inception Concat, and forward into a following 1x1 Conv and a Gemm', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 3, 9, 9]);
    const blk = inceptionBlock(b, x, 3, { kernels: [[1, 1], [3, 3], [5, 5]], f: 3, seed: 7 });
    // forward: Relu -> BN -> Conv(1x1, no pads): the BN cannot go back through Relu, it goes forward
    const z = bn(b, blk, 12, 80);
    const conv = b.node('Conv', [z, b.const('w2', randTensor([5, 12, 1, 1], 90))], {});
    const flat = b.node('Flatten', [b.node('GlobalAveragePool', [conv])], { axis: 1 });
    // forward into Gemm: per-feature Mul and Add on [N, 5] before a transB Gemm
    const m = b.node('Mul', [flat, b.const('s', randTensor([5], 91, 0.5, 2))]);
    const a = b.node('Add', [b.const('t', randTensor([1, 5], 92)), m]);
    b.output(b.node('Gemm', [a, b.const('B', randTensor([4, 5], 93)), b.const('C', randTensor([4], 94))], { transB: 1, alpha: 0.5, beta: 2 }));
    const g = b.build();
    const out = run(g);
    expect(count(out, 'BatchNormalization')).toBe(0);
    expect(count(out, 'Mul')).toBe(0);
    expect(count(out, 'Pad')).toBe(0);
    expect(count(out, 'Add')).toBe(1); // residual
  });

  it('folds Mul/Add by [1,C,1] constants into Mul/Add producers and a Gemm / MatMul Concat', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 3, 5]);
    const m1 = b.node('Mul', [x, b.const('c1', randTensor([1, 3, 1], 1, 0.5, 2))]);
    const m2 = b.node('Mul', [x, b.const('c2', Tensor.from('f32', [], [3]))]);
    const cat = b.node('Concat', [m1, m2], { axis: -2 });
    const y = b.node('Mul', [cat, b.const('s', randTensor([6, 1], 2, -2, 2))]);
    const v = b.input('v', 'f32', [4, 6]);
    const gm = b.node('Gemm', [v, b.const('B', randTensor([6, 3], 3)), b.const('C', randTensor([3], 4))], { beta: 0.5 });
    const mm = b.node('MatMul', [v, b.const('W', randTensor([6, 2], 5))]);
    const cat2 = b.node('Concat', [gm, mm], { axis: 1 });
    b.output(y, b.node('Mul', [cat2, b.const('s2', randTensor([1, 5], 6, -2, 2))]));
    const out = run(b.build(), [foldAffine, dce], true);
    expect(count(out, 'Mul')).toBe(2);
    expect(out.orderedNodes().every((n) => n.op !== 'Mul' || n.inputs[0] === out.inputs[0])).toBe(true);
  });

  it('folds into a grouped ConvTranspose slice, and a BN forward into a depthwise unpadded Conv', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 4, 5, 5]);
    const ct = b.node('ConvTranspose', [x, b.const('wt', randTensor([4, 3, 2, 2], 1)), b.const('bt', randTensor([6], 2))], { group: 2, strides: [1, 1], pads: [0, 0, 1, 1] });
    const cv = b.node('Conv', [x, b.const('wc', randTensor([2, 4, 2, 2], 3))], { pads: [1, 1, 0, 0] });
    const y = b.node('Sigmoid', [bn(b, b.node('Concat', [ct, cv], { axis: 1 }), 8, 4)]);
    b.output(b.node('Conv', [bn(b, y, 8, 9), b.const('wd', randTensor([16, 1, 3, 3], 5))], { group: 8 }));
    const out = run(b.build(), [foldAffine, dce], true);
    expect(count(out, 'BatchNormalization')).toBe(0);
  });

  it('folds affines on Split outputs back into the Conv before the Split', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [1, 3, 10]);
    const c = b.node('Conv', [x, b.const('w', randTensor([7, 3, 3], 1)), b.const('bc', randTensor([7], 2))], { pads: [1, 1] });
    const [s0, s1, s2] = b.nodeN('Split', [c, b.const('split', 'i64', [3], [2n, 4n, 1n])], 3, { axis: -2 });
    const y0 = bn(b, s0!, 2, 3);
    const y1 = b.node('Add', [b.node('Mul', [s1!, b.const('m', randTensor([4, 1], 4, -2, 2))]), b.const('t', randTensor([1, 4, 1], 5))]);
    b.output(y0, y1, b.node('Tanh', [s2!]));
    const out = run(b.build(), [foldAffine, dce], true);
    expect(out.orderedNodes().map((n) => n.op)).toEqual(['Conv', 'Split', 'Tanh']);
  });

  describe('does not fold', () => {
    /** A Concat of two Conv1d outputs (or the given variant) followed by BN, as the graph output. */
    function catBn(variant: 'axis2' | 'second-consumer' | 'relu-between' | 'padded-conv-after' | 'shift-into-matmul'): Graph {
      const b = new GraphBuilder();
      const x = b.input('x', 'f32', [1, 3, 8]);
      const c1 = b.node('Conv', [x, b.const('w1', randTensor([2, 3, 3], 1))], { pads: [1, 1] });
      const c2 = b.node('Conv', [x, b.const('w2', randTensor([2, 3, 3], 2))], { pads: [1, 1] });
      if (variant === 'axis2') {
        const cat = b.node('Concat', [c1, c2], { axis: 2 });
        b.output(b.node('Add', [cat, b.const('t', randTensor([2, 1], 3))]));
      } else if (variant === 'second-consumer') {
        const cat = b.node('Concat', [c1, c2], { axis: 1 });
        b.output(b.node('Mul', [cat, b.const('s', randTensor([4, 1], 3))]), b.node('Sigmoid', [c2]));
      } else if (variant === 'relu-between') {
        const cat = b.node('Relu', [b.node('Concat', [c1, c2], { axis: 1 })]);
        b.output(b.node('Sigmoid', [b.node('Mul', [cat, b.const('s', randTensor([4, 1], 3))])]));
      } else if (variant === 'padded-conv-after') {
        const r = b.node('Relu', [b.node('Concat', [c1, c2], { axis: 1 })]);
        const a = b.node('Add', [r, b.const('t', randTensor([4, 1], 3))]);
        b.output(b.node('Conv', [a, b.const('w3', randTensor([2, 4, 3], 4))], { pads: [1, 1] }));
      } else {
        const v = b.input('v', 'f32', [2, 3]);
        const mm = b.node('MatMul', [v, b.const('W', randTensor([3, 2], 5))]);
        const gm = b.node('Gemm', [v, b.const('B', randTensor([3, 2], 6))]);
        b.output(c1, c2, b.node('Add', [b.node('Concat', [mm, gm], { axis: 1 }), b.const('t', randTensor([4], 7))]));
      }
      return b.build();
    }
    for (const v of ['axis2', 'second-consumer', 'relu-between', 'padded-conv-after', 'shift-into-matmul'] as const) {
      it(v, () => {
        const g = catBn(v);
        const out = run(g, [foldAffine, dce], false);
        expect(out.orderedNodes().map((n) => n.op)).toEqual(g.orderedNodes().map((n) => n.op));
      });
    }

    it('a scale through a padded Conv forward does fold (0*s = 0), a shift does not', () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'f32', [1, 3, 8]);
      const m = b.node('Mul', [b.node('Relu', [x]), b.const('s', randTensor([3, 1], 1, -2, 2))]);
      b.output(b.node('Conv', [m, b.const('w', randTensor([2, 3, 3], 2))], { pads: [1, 1] }));
      expect(count(run(b.build(), [foldAffine, dce], true), 'Mul')).toBe(0);
    });
  });
});

/** 10*log10(signal power / error power) over all outputs. */
function snrDb(ref: Tensor[], got: Tensor[]): number {
  let s = 0, e = 0;
  ref.forEach((r, k) => {
    for (let i = 0; i < r.size; i++) {
      const d = r.get(i) - got[k]!.get(i);
      s += r.get(i) ** 2;
      e += d * d;
    }
  });
  return 10 * Math.log10(s / Math.max(e, 1e-30));
}

function randomBatch(n: number, shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const size = n * shape.reduce((a, c) => a * c, 1);
  return Tensor.from('f32', [n, ...shape], Array.from({ length: size }, () => r() * 4 - 2));
}

describe('fold-affine + fold-pad: int8 on an InceptionTime-style classifier', () => {
  it('BN after a Concat whose slices differ 100x: int8 SNR vs float is much higher with the new passes', () => {
    const cin = 3, len = 48, f = 4, classes = 5;
    const gains = [1, 10, 100, 1];
    const opts = { kernels: [[10], [20], [40]], f, gains, seed: 3 };
    const build = (stats?: { mean: number[]; var: number[] }, stopAtConcat = false): Graph => {
      const b = new GraphBuilder();
      const x = b.input('x', 'f32', ['N', cin, len]);
      const h = inceptionBlock(b, x, cin, { ...opts, ...(stats ? { stats } : {}), stopAtConcat });
      if (stopAtConcat) {
        b.output(h);
        return b.build();
      }
      const flat = b.node('Flatten', [b.node('GlobalAveragePool', [h])], { axis: 1 });
      b.output(b.node('Gemm', [flat, b.const('fc', randTensor([classes, 4 * f], 99)), b.const('fcb', randTensor([classes], 98))], { transB: 1 }));
      return b.build();
    };
    // BN statistics as training would leave them: the per-channel mean / variance of the Concat output
    const calib = randomBatch(32, [cin, len], 11);
    const catOut = runGraph(build(undefined, true), [calib])[0]!;
    const c = 4 * f, per = catOut.size / (32 * c);
    const mean: number[] = [], vr: number[] = [];
    for (let ch = 0; ch < c; ch++) {
      let s = 0, s2 = 0;
      for (let n = 0; n < 32; n++) for (let i = 0; i < per; i++) {
        const v = catOut.get((n * c + ch) * per + i);
        s += v;
        s2 += v * v;
      }
      const m = s / (32 * per);
      mean.push(m);
      vr.push(s2 / (32 * per) - m * m);
    }
    const sd = vr.map(Math.sqrt);
    // the slices' ranges really differ ~100x
    expect(Math.max(...sd.slice(2 * f, 3 * f)) / Math.max(...sd.slice(0, f))).toBeGreaterThan(30);
    const g = build({ mean, var: vr });
    const test = randomBatch(16, [cin, len], 12);
    const want = runGraph(g, [test]);
    const snrWith = (disable: string[]): { snr: number; floatOk: boolean; ops: string[] } => {
      const og = g.clone();
      optimize(og, { target: 'hls', disable, verify: true });
      const fl = runGraph(og, [test]);
      const q = quantizeModel(og, { mode: 'int8', calib: [calib], calibrator: 'minmax' });
      return { snr: snrDb(want, runGraph(q.graph, [test])), floatOk: snrDb(want, fl) > 100, ops: og.orderedNodes().map((n) => n.op) };
    };
    const without = snrWith(['fold-affine', 'fold-pad']);
    const withPasses = snrWith([]);
    console.log(`InceptionTime-style int8 (minmax) output SNR vs float: without fold-affine/fold-pad ${without.snr.toFixed(1)} dB, with ${withPasses.snr.toFixed(1)} dB`);
    expect(without.floatOk && withPasses.floatOk).toBe(true);
    expect(without.ops).toContain('Pad');
    expect(withPasses.ops).not.toContain('Pad');
    expect(withPasses.ops).not.toContain('Mul');
    expect(withPasses.snr).toBeGreaterThan(without.snr + 10);
  }, 300_000);
});
