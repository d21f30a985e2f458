/**
 * Three architectures built in code (ONNX protos via tests/helpers/onnx-build.ts) for the int8
 * accuracy tests (architectures.test.ts) and the measurement script (scripts/quant-fixes.ts):
 *
 * - inception: InceptionTime-style 1-D block: 1x1 bottleneck, parallel convs with kernels 10/20/40
 *   and a MaxPool branch, Concat, BatchNormalization after the Concat (not foldable: the MaxPool
 *   slice has no affine producer), ReLU, a residual shortcut (1x1 conv + BN), GAP, Gemm.
 * - dwsep: depthwise-separable 2-D net whose depthwise convs have per-channel scales spread over
 *   two decades (as BN folding leaves them) and pointwise convs that compensate (each channel
 *   matters), the case cross-layer equalization targets.
 * - attention: embedding MatMul, LayerNormalization, single-head self-attention
 *   (MatMul - Softmax - MatMul), output projection, residual, mean over time, Gemm.
 *
 * Weights are seeded, He-scaled, with per-channel scale spreads like trained ones. Inputs come
 * from a structured distribution (class prototypes + noise); labels are the float model's own
 * argmax, so float accuracy is 100% by construction.
 */
import { Tensor } from '../../compiler/ir/tensor.js';
import { Graph } from '../../compiler/ir/graph.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { optimize } from '../../compiler/pipeline.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { attr, f32, graph, model, node, rand, vi } from '../helpers/onnx-build.js';

export type ArchName = 'inception' | 'dwsep' | 'attention';
export const ARCHS: readonly ArchName[] = ['inception', 'dwsep', 'attention'];

/** Gaussian sampler on top of the seeded uniform generator. */
function gauss(r: () => number): () => number {
  return () => {
    const u = (r() + 1) / 2 + 1e-12;
    const v = (r() + 1) / 2;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** He-scaled weight with the first axis as output channel, each channel multiplied by chan[c]. */
function weight(n: () => number, shape: number[], fanIn: number, chan?: (c: number) => number): Tensor {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const std = Math.sqrt(2 / fanIn);
  return f32(shape, Array.from({ length: shape[0]! * per }, (_, i) => n() * std * (chan ? chan(Math.floor(i / per)) : 1)));
}

/** Log-uniform per-channel factors over [lo, hi], shuffled by the generator. */
function spread(r: () => number, C: number, lo: number, hi: number): number[] {
  return Array.from({ length: C }, () => Math.exp(Math.log(lo) + ((r() + 1) / 2) * (Math.log(hi) - Math.log(lo))));
}

interface Built {
  bytes: Uint8Array;
  input: string;
  /** Per-sample input shape. */
  shape: number[];
  classes: number;
  /** Samples from the structured input distribution: `count` samples, seeded, and their prototype ids. */
  sample(count: number, seed: number): { x: Tensor; cls: number[] };
  /** Name of the feature value the head (Gemm wf, bf) reads. */
  feature: string;
}

/** Head weights [K, F] and bias [K] (a nearest-centroid classifier on the float features). */
type Head = [Tensor, Tensor];

/**
 * Class prototypes: smoothed noise plus a class-specific offset per channel (`chanOf` maps an
 * element to its channel), so classes differ in per-channel level as well as in shape.
 */
function prototypes(seed: number, classes: number, per: number, smooth: (p: number[]) => number[], chanOf: (i: number) => number): number[][] {
  const n = gauss(rand(seed));
  return Array.from({ length: classes }, () => {
    const off = new Map<number, number>();
    const base = smooth(Array.from({ length: per }, () => n()));
    return base.map((v, i) => {
      const c = chanOf(i);
      if (!off.has(c)) off.set(c, n());
      return v + off.get(c)!;
    });
  });
}

function sampler(shape: number[], protos: number[][], noise: number): Built['sample'] {
  const per = shape.reduce((a, b) => a * b, 1);
  return (count, seed) => {
    const r = rand(seed);
    const n = gauss(r);
    const out = new Float32Array(count * per);
    const cls: number[] = [];
    for (let s = 0; s < count; s++) {
      const k = Math.floor(((r() + 1) / 2) * protos.length) % protos.length;
      cls.push(k);
      const p = protos[k]!;
      const amp = 0.85 + 0.15 * (r() + 1);
      for (let i = 0; i < per; i++) out[s * per + i] = amp * p[i]! + noise * n();
    }
    return { x: new Tensor('f32', [count, ...shape], out), cls };
  };
}

/** Moving average along the last axis of `len` (smooth 1-D / 2-D prototypes). */
function smoothRows(len: number, w: number): (p: number[]) => number[] {
  return (p) => p.map((_, i) => {
    const row = Math.floor(i / len) * len;
    let s = 0;
    let c = 0;
    for (let k = -w; k <= w; k++) {
      const j = (i % len) + k;
      if (j >= 0 && j < len) {
        s += p[row + j]!;
        c++;
      }
    }
    return (s / c) * Math.sqrt(c) * 0.8;
  });
}

function bn(name: string, C: number, r: () => number, gamma: number[]): [string, Tensor][] {
  return [
    [`${name}_g`, f32([C], gamma)],
    [`${name}_b`, f32([C], Array.from({ length: C }, () => 0.3 * r()))],
    [`${name}_m`, f32([C], Array.from({ length: C }, () => 0.2 * r()))],
    [`${name}_v`, f32([C], Array.from({ length: C }, () => 0.6 + 0.4 * (r() + 1)))],
  ];
}
const bnNode = (x: string, name: string, y: string) => node('BatchNormalization', [x, `${name}_g`, `${name}_b`, `${name}_m`, `${name}_v`], [y], [attr.float('epsilon', 1e-5)]);

function inception(head?: Head): Built {
  const r = rand(101);
  const n = gauss(r);
  const [Cin, L, B, F, K] = [3, 64, 8, 8, 5];
  const C = 3 * F + B;
  const inits: [string, Tensor][] = [
    ['wb', weight(n, [B, Cin, 1], Cin)], ['bb', f32([B], Array.from({ length: B }, () => 0.1 * r()))],
    ['w10', weight(n, [F, B, 10], B * 10)], ['w20', weight(n, [F, B, 20], B * 20)], ['w40', weight(n, [F, B, 40], B * 40)],
    ...bn('bn', C, r, spread(r, C, 0.03, 3)),
    ['ws', weight(n, [C, Cin, 1], Cin)], ...bn('bns', C, r, spread(r, C, 0.3, 1.5)),
    ...headInits(head, K, C),
  ];
  const nodes = [
    node('Conv', ['x', 'wb', 'bb'], ['b'], [attr.ints('kernel_shape', [1])]),
    node('Conv', ['b', 'w10'], ['c10'], [attr.ints('kernel_shape', [10]), attr.ints('pads', [4, 5])]),
    node('Conv', ['b', 'w20'], ['c20'], [attr.ints('kernel_shape', [20]), attr.ints('pads', [9, 10])]),
    node('Conv', ['b', 'w40'], ['c40'], [attr.ints('kernel_shape', [40]), attr.ints('pads', [19, 20])]),
    node('MaxPool', ['b'], ['mp'], [attr.ints('kernel_shape', [3]), attr.ints('pads', [1, 1]), attr.ints('strides', [1])]),
    node('Concat', ['c10', 'c20', 'c40', 'mp'], ['cat'], [attr.int('axis', 1)]),
    bnNode('cat', 'bn', 'bnout'),
    node('Relu', ['bnout'], ['act']),
    node('Conv', ['x', 'ws'], ['s0'], [attr.ints('kernel_shape', [1])]),
    bnNode('s0', 'bns', 's1'),
    node('Add', ['act', 's1'], ['res']),
    node('Relu', ['res'], ['res_act']),
    node('GlobalAveragePool', ['res_act'], ['gap']),
    node('Flatten', ['gap'], ['flat']),
    node('Gemm', ['flat', 'wf', 'bf'], ['logits'], [attr.int('transB', 1)]),
  ];
  const g = graph('inception', nodes, [vi('x', 'f32', ['N', Cin, L])], [vi('logits', 'f32', ['N', K])], inits);
  const protos = prototypes(102, K, Cin * L, smoothRows(L, 3), (i) => Math.floor(i / L));
  return { bytes: model(g, 13), input: 'x', shape: [Cin, L], classes: K, sample: sampler([Cin, L], protos, 0.2), feature: 'flat' };
}

function dwsep(head?: Head): Built {
  const r = rand(201);
  const n = gauss(r);
  const [Cin, H, C1, C2, C3, K] = [3, 16, 16, 24, 32, 6];
  const s1 = spread(r, C1, 0.02, 2);
  const s2 = spread(r, C2, 0.02, 2);
  const inits: [string, Tensor][] = [
    ['w1', weight(n, [C1, Cin, 3, 3], Cin * 9)], ['b1', f32([C1], Array.from({ length: C1 }, () => 0.1 * r()))],
    // depthwise: per-channel scales over two decades (BN-folded), bias on the same scale
    ['wd1', weight(n, [C1, 1, 3, 3], 9, (c) => s1[c]!)], ['bd1', f32([C1], s1.map((s) => 0.2 * s * r()))],
    // pointwise: input channel c weighted by 1 / s1[c] (the small channels carry as much signal)
    ['wp1', pointwise(n, C2, C1, s1)], ['bp1', f32([C2], Array.from({ length: C2 }, () => 0.1 * r()))],
    ['wd2', weight(n, [C2, 1, 3, 3], 9, (c) => s2[c]!)], ['bd2', f32([C2], s2.map((s) => 0.2 * s * r()))],
    ['wp2', pointwise(n, C3, C2, s2)], ['bp2', f32([C3], Array.from({ length: C3 }, () => 0.1 * r()))],
    ...headInits(head, K, C3),
  ];
  const p1 = [attr.ints('pads', [1, 1, 1, 1])];
  const nodes = [
    node('Conv', ['x', 'w1', 'b1'], ['c1'], [...p1, attr.ints('kernel_shape', [3, 3])]), node('Relu', ['c1'], ['a1']),
    node('Conv', ['a1', 'wd1', 'bd1'], ['d1'], [...p1, attr.ints('kernel_shape', [3, 3]), attr.int('group', C1)]), node('Relu', ['d1'], ['ad1']),
    node('Conv', ['ad1', 'wp1', 'bp1'], ['p1'], [attr.ints('kernel_shape', [1, 1])]), node('Relu', ['p1'], ['ap1']),
    node('Conv', ['ap1', 'wd2', 'bd2'], ['d2'], [...p1, attr.ints('kernel_shape', [3, 3]), attr.int('group', C2), attr.ints('strides', [2, 2])]),
    node('Relu', ['d2'], ['ad2']),
    node('Conv', ['ad2', 'wp2', 'bp2'], ['p2'], [attr.ints('kernel_shape', [1, 1])]), node('Relu', ['p2'], ['ap2']),
    node('GlobalAveragePool', ['ap2'], ['gap']), node('Flatten', ['gap'], ['flat']),
    node('Gemm', ['flat', 'wf', 'bf'], ['logits'], [attr.int('transB', 1)]),
  ];
  const g = graph('dwsep', nodes, [vi('x', 'f32', ['N', Cin, H, H])], [vi('logits', 'f32', ['N', K])], inits);
  const protos = prototypes(202, K, Cin * H * H, smoothRows(H, 2), (i) => Math.floor(i / (H * H)));
  return { bytes: model(g, 13), input: 'x', shape: [Cin, H, H], classes: K, sample: sampler([Cin, H, H], protos, 0.2), feature: 'flat' };
}

/** Head initializers: the given head, or a zero placeholder (the probe build that measures features). */
function headInits(head: Head | undefined, K: number, F: number): [string, Tensor][] {
  return [['wf', head?.[0] ?? Tensor.zeros('f32', [K, F])], ['bf', head?.[1] ?? Tensor.zeros('f32', [K])]];
}

function pointwise(n: () => number, M: number, C: number, s: number[]): Tensor {
  const std = Math.sqrt(2 / C);
  return f32([M, C, 1, 1], Array.from({ length: M * C }, (_, i) => (n() * std) / s[i % C]!));
}

function attention(head?: Head): Built {
  const r = rand(301);
  const n = gauss(r);
  const [T, D, E, K] = [8, 12, 16, 5];
  const mat = (rows: number, cols: number, scale = 1) => f32([rows, cols], Array.from({ length: rows * cols }, () => n() * scale * Math.sqrt(1 / rows)));
  const inits: [string, Tensor][] = [
    ['we', mat(D, E, 1.4)], ['be', f32([E], Array.from({ length: E }, () => 0.1 * r()))],
    ['ln_g', f32([E], spread(r, E, 0.5, 2))], ['ln_b', f32([E], Array.from({ length: E }, () => 0.1 * r()))],
    ['wq', mat(E, E, 1.5)], ['wk', mat(E, E, 1.5)], ['wv', mat(E, E)], ['wo', mat(E, E)],
    ['temp', f32([], [1 / Math.sqrt(E)])],
    ...headInits(head, K, E),
  ];
  const nodes = [
    node('MatMul', ['x', 'we'], ['e0']), node('Add', ['e0', 'be'], ['e']),
    node('LayerNormalization', ['e', 'ln_g', 'ln_b'], ['ln'], [attr.int('axis', -1), attr.float('epsilon', 1e-5)]),
    node('MatMul', ['ln', 'wq'], ['q']), node('MatMul', ['ln', 'wk'], ['k']), node('MatMul', ['ln', 'wv'], ['v']),
    node('Transpose', ['k'], ['kt'], [attr.ints('perm', [0, 2, 1])]),
    node('MatMul', ['q', 'kt'], ['s0']), node('Mul', ['s0', 'temp'], ['s']),
    node('Softmax', ['s'], ['p'], [attr.int('axis', -1)]),
    node('MatMul', ['p', 'v'], ['a']), node('MatMul', ['a', 'wo'], ['o']),
    node('Add', ['o', 'ln'], ['h']),
    node('ReduceMean', ['h'], ['m'], [attr.ints('axes', [1]), attr.int('keepdims', 0)]),
    node('Gemm', ['m', 'wf', 'bf'], ['logits'], [attr.int('transB', 1)]),
  ];
  const g = graph('attention', nodes, [vi('x', 'f32', ['N', T, D])], [vi('logits', 'f32', ['N', K])], inits);
  const protos = prototypes(302, K, T * D, (p) => p, (i) => i % D);
  return { bytes: model(g, 17), input: 'x', shape: [T, D], classes: K, sample: sampler([T, D], protos, 0.2), feature: 'm' };
}

/** An architecture ready for quantization: optimized float graph, calibration and held-out sets with labels. */
export interface Arch {
  name: ArchName;
  /** Float graph optimized for wasm (batch fixed to `batch`). */
  graph: Graph;
  batch: number;
  calib: Tensor;
  test: Tensor;
  /** Float argmax of each test sample. */
  labels: number[];
}

/** Argmax of each row of [N, K] outputs. */
export function argmax(t: Tensor): number[] {
  const [N, K] = [t.shape[0]!, t.shape[1]!];
  return Array.from({ length: N }, (_, i) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (t.get(i * K + k) > t.get(i * K + best)) best = k;
    return best;
  });
}

/** Runs `g` (batch `batch`) over all samples of `x` on the reference interpreter; argmax per sample. */
export function predictAll(g: Graph, batch: number, x: Tensor): number[] {
  const per = x.size / x.shape[0]!;
  const out: number[] = [];
  for (let s = 0; s < x.shape[0]!; s += batch) {
    const b = new Tensor('f32', [batch, ...x.shape.slice(1)], (x.data as Float32Array).slice(s * per, (s + batch) * per));
    out.push(...argmax(runGraph(g, [b])[0]!));
  }
  return out;
}

/**
 * Builds architecture `name`: model bytes imported with batch `batch`, optimized for wasm;
 * `calibCount` calibration and `testCount` held-out samples (multiples of `batch`).
 */
export function buildArch(name: ArchName, batch = 50, calibCount = 100, testCount = 400): Arch {
  const b = built(name, batch);
  const graph = importOnnx(b.bytes, { inputShapes: { [b.input]: [batch, ...b.shape] } });
  optimize(graph, { target: 'wasm' });
  const calib = b.sample(calibCount, 11).x;
  const test = b.sample(testCount, 12).x;
  return { name, graph, batch, calib, test, labels: predictAll(graph, batch, test) };
}

const BUILDERS: Record<ArchName, (head?: Head) => Built> = { inception, dwsep, attention };

/**
 * Architecture `name` with its head fitted on the float features: the probe build (zero head)
 * runs 200 samples, and the head becomes the nearest-centroid classifier of their features
 * (logit_k = c_k . f - |c_k|^2 / 2, c_k the mean feature of prototype k), as a trained linear
 * probe would be.
 */
function built(name: ArchName, batch: number): Built {
  const probe = BUILDERS[name]();
  const g = importOnnx(probe.bytes, { inputShapes: { [probe.input]: [batch, ...probe.shape] } });
  const fid = [...g.values.values()].find((v) => v.name === probe.feature)!.id;
  g.outputs = [fid];
  const { x, cls } = probe.sample(4 * batch, 13);
  const per = x.size / x.shape[0]!;
  const feats: number[][] = [];
  for (let s = 0; s < x.shape[0]!; s += batch) {
    const f = runGraph(g, [new Tensor('f32', [batch, ...x.shape.slice(1)], (x.data as Float32Array).slice(s * per, (s + batch) * per))])[0]!;
    const F = f.size / batch;
    for (let i = 0; i < batch; i++) feats.push(Array.from({ length: F }, (_, j) => f.get(i * F + j)));
  }
  const K = probe.classes;
  const F = feats[0]!.length;
  const cent = Array.from({ length: K }, () => new Array<number>(F).fill(0));
  const cnt = new Array<number>(K).fill(0);
  feats.forEach((f, i) => {
    cnt[cls[i]!]!++;
    f.forEach((v, j) => { cent[cls[i]!]![j]! += v; });
  });
  cent.forEach((c, k) => c.forEach((_, j) => { c[j]! /= Math.max(1, cnt[k]!); }));
  // scale so that logits are O(1..10)
  let spreadSq = 0;
  for (const c of cent) for (let j = 0; j < F; j++) spreadSq += c[j]! ** 2;
  const a = 4 / Math.max(1e-6, spreadSq / K);
  const wf = f32([K, F], cent.flatMap((c) => c.map((v) => a * v)));
  const bf = f32([K], cent.map((c) => -0.5 * a * c.reduce((p, v) => p + v * v, 0)));
  return BUILDERS[name]([wf, bf]);
}

/** Top-1 accuracy (percent) of predictions against labels. */
export function accuracy(pred: number[], labels: number[]): number {
  let ok = 0;
  pred.forEach((p, i) => { if (p === labels[i]) ok++; });
  return (100 * ok) / labels.length;
}

/** Model bytes of an architecture (for onnxruntime-node checks). */
export function archBytes(name: ArchName, batch = 50): Uint8Array {
  return built(name, batch).bytes;
}
