/**
 * QDQ insertion and lowering on graphs built in code:
 * - per-channel weight axes for every conv kind (1-D, 2-D, depthwise, grouped, ConvTranspose) and
 *   Gemm/MatMul, with scales checked against max|w_c| / 127 computed here;
 * - activation fusion (Relu/Clip -> output clamp), quantized forms of Add/Mul/Concat/pools/shape
 *   ops, float islands; the lowered integer graph tracks the float graph (SNR) and the standard
 *   QDQ graph run by onnxruntime-node;
 * - calibration errors (empty, NaN naming the sample, mis-shaped) and calibrators;
 * - pre-quantized ONNX ops lower bit-exactly; keepFloat / explain; determinism.
 */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Graph, Node } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { EdgecError } from '../../compiler/errors.js';
import { verify } from '../../compiler/ir/verify.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { quantizeModel } from '../../quantize/index.js';
import { calibrate } from '../../quantize/calibrate.js';
import { lowerQdq } from '../../quantize/lower.js';
import { HAVE_MODELS, MODELS_DIR, ortSession, readPb, runOrt } from '../models/harness.js';
import { rng } from '../helpers/rng.js';

function randn(r: () => number, shape: number[], s = 1, mean = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, () => mean + s * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r())));
}
function snrDb(f: Tensor, q: Tensor): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < f.size; i++) {
    s += f.get(i) ** 2;
    e += (f.get(i) - q.get(i)) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}
/** The DequantizeLinear node feeding input `i` of the node named `name`. */
function weightDq(g: Graph, name: string, i = 1): Node {
  const n = g.orderedNodes().find((x) => x.name === name)!;
  const p = g.producerOf(n.inputs[i]!);
  expect(p?.op).toBe('DequantizeLinear');
  return p!;
}
function expectedScales(w: Tensor, axis: number): number[] {
  const C = w.shape[axis]!;
  const inner = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const m = new Array<number>(C).fill(0);
  for (let i = 0; i < w.size; i++) {
    const c = Math.floor(i / inner) % C;
    m[c] = Math.max(m[c]!, Math.abs(w.get(i)));
  }
  return m.map((v) => Math.fround(v / 127));
}

interface WCase {
  name: string;
  build: (b: GraphBuilder, x: number, w: Tensor, r: () => number) => number;
  x: number[];
  w: number[];
  axis: number;
  lowered: string;
}
const wcases: WCase[] = [
  { name: 'Conv 1-D', x: [4, 3, 20], w: [5, 3, 3], axis: 0, lowered: 'QConv',
    build: (b, x, w, r) => b.node('Conv', [x, b.const('w', w), b.const('b', randn(r, [5]))], { pads: [1, 1] }, { name: 'layer' }) },
  { name: 'Conv 2-D', x: [4, 3, 8, 8], w: [6, 3, 3, 3], axis: 0, lowered: 'QConv',
    build: (b, x, w, r) => b.node('Conv', [x, b.const('w', w), b.const('b', randn(r, [6]))], { pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'layer' }) },
  { name: 'Conv depthwise', x: [4, 4, 6, 6], w: [4, 1, 3, 3], axis: 0, lowered: 'QConv',
    build: (b, x, w) => b.node('Conv', [x, b.const('w', w)], { group: 4, pads: [1, 1, 1, 1] }, { name: 'layer' }) },
  { name: 'Conv grouped', x: [4, 6, 5, 5], w: [4, 3, 3, 3], axis: 0, lowered: 'QConv',
    build: (b, x, w, r) => b.node('Conv', [x, b.const('w', w), b.const('b', randn(r, [4]))], { group: 2 }, { name: 'layer' }) },
  { name: 'ConvTranspose', x: [4, 3, 5, 5], w: [3, 4, 3, 3], axis: 1, lowered: 'ConvTranspose',
    build: (b, x, w) => b.node('ConvTranspose', [x, b.const('w', w)], { strides: [2, 2] }, { name: 'layer' }) },
  { name: 'Gemm transB=1', x: [4, 10], w: [7, 10], axis: 0, lowered: 'QGemm',
    build: (b, x, w, r) => b.node('Gemm', [x, b.const('w', w), b.const('c', randn(r, [7]))], { transB: 1 }, { name: 'layer' }) },
  { name: 'Gemm transB=0', x: [4, 10], w: [10, 7], axis: 1, lowered: 'QGemm',
    build: (b, x, w, r) => b.node('Gemm', [x, b.const('w', w), b.const('c', randn(r, [7]))], {}, { name: 'layer' }) },
  { name: 'MatMul [K,N]', x: [4, 2, 10], w: [10, 7], axis: 1, lowered: 'QGemm',
    build: (b, x, w) => b.node('MatMul', [x, b.const('w', w)], {}, { name: 'layer' }) },
];

describe('per-channel weights', () => {
  for (const c of wcases) {
    it(`${c.name}: axis ${c.axis}, scale = max|w_c|/127, lowered to ${c.lowered}`, async () => {
      const r = rng(c.w.reduce((a, b) => a * 7 + b, 1));
      const b = new GraphBuilder('t', { '': 17 });
      const x = b.input('x', 'f32', c.x);
      // channels with very different ranges make per-channel scales matter
      const w0 = randn(r, c.w, 0.3);
      const C = c.w[c.axis]!;
      const inner = c.w.slice(c.axis + 1).reduce((p, q) => p * q, 1);
      const w = Tensor.from('f32', c.w, w0.toNumbers().map((v, i) => v * (1 + 4 * (Math.floor(i / inner) % C))));
      b.output(c.build(b, x, w, r));
      const g = b.build();
      const calib = randn(r, [16, ...c.x.slice(1)]);
      const res = quantizeModel(g, { mode: 'int8', calib: [calib] });
      const dq = weightDq(res.qdq, 'layer');
      expect(dq.attrs['axis']).toBe(c.axis);
      const scales = res.qdq.constOf(dq.inputs[1])!.toNumbers();
      expect(scales).toEqual(expectedScales(w, c.axis));
      const wq = res.qdq.constOf(dq.inputs[0])!;
      expect(wq.dtype).toBe('i8');
      expect(Math.max(...wq.toNumbers().map(Math.abs))).toBe(127);
      // per-tensor option: one scale
      const pt = quantizeModel(g, { mode: 'int8', calib: [calib], perTensor: true });
      expect(pt.qdq.constOf(weightDq(pt.qdq, 'layer').inputs[1])!.size).toBe(1);
      // lowered graph: integer op (ConvTranspose stays float with int8 weights) and close to float
      expect(res.graph.orderedNodes().some((n) => n.op === c.lowered)).toBe(true);
      const xin = calib.reshape(calib.shape).data;
      const test = new Tensor('f32', c.x, (xin as Float32Array).slice(0, c.x.reduce((p, q) => p * q, 1)));
      const f = runGraph(g, [test])[0]!;
      const q = runGraph(res.graph, [test])[0]!;
      const qdq = runGraph(res.qdq, [test])[0]!;
      expect(snrDb(f, q)).toBeGreaterThan(30);
      expect(snrDb(f, qdq)).toBeGreaterThan(30);
      const sess = await ortSession(exportOnnx(res.qdq));
      const o = (await runOrt(sess, [test]))[0]!;
      expect(snrDb(o, qdq)).toBeGreaterThan(45);
    });
  }
});

/**
 * A small network touching every quantized form: conv+relu, depthwise+clip, SE (pool, gemm, sigmoid,
 * mul), residual add, max/min/sub, slice, concat, pools, transpose, reduce-mean, reshape.
 */
function kitchenSink(r: () => number): Graph {
  const b = new GraphBuilder('sink', { '': 18 });
  const x = b.input('x', 'f32', [2, 4, 8, 8]);
  const c1 = b.node('Conv', [x, b.const('w1', randn(r, [8, 4, 3, 3], 0.3)), b.const('b1', randn(r, [8], 0.1))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const r1 = b.node('Relu', [c1], {}, { name: 'relu1' });
  const d = b.node('Conv', [r1, b.const('wd', randn(r, [8, 1, 3, 3], 0.5))], { pads: [1, 1, 1, 1], group: 8 }, { name: 'dw' });
  const d6 = b.node('Clip', [d, b.const('lo', Tensor.scalar('f32', 0)), b.const('hi', Tensor.scalar('f32', 6))], {}, { name: 'clip6' });
  const gp = b.node('GlobalAveragePool', [d6], {}, { name: 'gap' });
  const fl = b.node('Flatten', [gp], {}, { name: 'flat' });
  const fc = b.node('Gemm', [fl, b.const('wf', randn(r, [8, 8], 0.4)), b.const('bf', randn(r, [8], 0.1))], { transB: 1 }, { name: 'se_fc' });
  const sg = b.node('Sigmoid', [fc], {}, { name: 'sigmoid' });
  const rs = b.node('Reshape', [sg, b.const('shape', Tensor.from('i64', [4], [2, 8, 1, 1]))], {}, { name: 'reshape' });
  const se = b.node('Mul', [d6, rs], {}, { name: 'se_mul' });
  const add0 = b.node('Add', [se, r1], {}, { name: 'residual' });
  const mx = b.node('Max', [add0, r1], {}, { name: 'max' });
  const mn = b.node('Min', [mx, se], {}, { name: 'min' });
  const sb = b.node('Sub', [mn, r1], {}, { name: 'sub' });
  const add = b.node('Slice', [sb, b.const('st', Tensor.from('i64', [1], [2])), b.const('en', Tensor.from('i64', [1], [8])),
    b.const('ax', Tensor.from('i64', [1], [1]))], {}, { name: 'slice' });
  const mp = b.node('MaxPool', [add], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'maxpool' });
  const ap = b.node('AveragePool', [add], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, { name: 'avgpool' });
  const cat = b.node('Concat', [mp, ap], { axis: 1 }, { name: 'concat' });
  const tr = b.node('Transpose', [cat], { perm: [0, 2, 3, 1] }, { name: 'transpose' });
  const rm = b.node('ReduceMean', [tr, b.const('axes', Tensor.from('i64', [2], [1, 2]))], { keepdims: 0 }, { name: 'mean' });
  const out = b.node('MatMul', [rm, b.const('wo', randn(r, [12, 5], 0.3))], {}, { name: 'head' });
  b.output(out);
  return b.build();
}

describe('quantized forms, fusion and float islands', () => {
  it('lowers every supported op to integer ops; only Sigmoid stays float; tracks float and ORT', async () => {
    const r = rng(42);
    const g = kitchenSink(r);
    const calib = randn(r, [32, 4, 8, 8]);
    const res = quantizeModel(g, { mode: 'int8', calib: [calib] });
    expect(res.summary.floatIslands.map((i) => i.op)).toEqual(['Sigmoid']);
    verify(res.qdq);
    verify(res.graph);
    const ops = res.graph.orderedNodes().map((n) => `${n.domain ? `${n.domain}.` : ''}${n.op}`);
    for (const o of ['edgec.QConv', 'edgec.QGemm', 'edgec.QMul', 'edgec.QAdd', 'edgec.QAvgPool', 'edgec.QReduceMean', 'MaxPool', 'Concat', 'Transpose',
      'Reshape', 'Flatten', 'Max', 'Min', 'Slice']) {
      expect(ops, o).toContain(o);
    }
    expect(ops.filter((o) => o === 'edgec.QAdd').length).toBe(2); // residual Add and Sub
    expect(res.graph.orderedNodes().find((n) => n.name === 'sub')!.attrs['b_multiplier']).toBeLessThan(0);
    expect(ops).not.toContain('Relu');
    expect(ops).not.toContain('Clip');
    // conv1's Relu is the output clamp at the output zero point; Clip(0,6) clamps at Q(0) and Q(6)
    const conv1 = res.graph.orderedNodes().find((n) => n.name === 'conv1')!;
    expect(conv1.attrs['clamp_lo']).toBe(conv1.attrs['y_zero_point']);
    const dw = res.graph.orderedNodes().find((n) => n.name === 'dw')!;
    expect(dw.attrs['clamp_hi']).toBeLessThanOrEqual(127);
    const test = randn(r, [2, 4, 8, 8]);
    const f = runGraph(g, [test])[0]!;
    const q = runGraph(res.graph, [test])[0]!;
    const qdq = runGraph(res.qdq, [test])[0]!;
    expect(snrDb(f, q)).toBeGreaterThan(20);
    expect(snrDb(qdq, q)).toBeGreaterThan(25);
    const o = (await runOrt(await ortSession(exportOnnx(res.qdq)), [test]))[0]!;
    expect(snrDb(o, q)).toBeGreaterThan(25);
    // weight bytes: int8 is ~4x smaller
    expect(res.summary.weightBytesBefore / res.summary.weightBytesAfter).toBeGreaterThan(3);
  });

  it('is deterministic (same bytes twice) and the explain table has one finite row per quantized value', () => {
    const r = rng(7);
    const g = kitchenSink(r);
    const calib = randn(r, [16, 4, 8, 8]);
    const a = quantizeModel(g, { mode: 'int8', calib: [calib], explain: true });
    const b = quantizeModel(g, { mode: 'int8', calib: [calib] });
    expect(Buffer.from(exportOnnx(a.qdq)).equals(Buffer.from(exportOnnx(b.qdq)))).toBe(true);
    expect(a.explain!.length).toBeGreaterThan(8);
    for (const row of a.explain!) expect(Number.isNaN(row.snrDb)).toBe(false);
    expect(a.explain!.some((row) => row.op === 'Conv+Relu')).toBe(true);
  });

  it('keepFloat by name keeps that layer float; an unreachable bound moves every int8 layer to float', () => {
    const r = rng(8);
    const g = kitchenSink(r);
    const calib = randn(r, [16, 4, 8, 8]);
    const named = quantizeModel(g, { mode: 'int8', calib: [calib], keepFloat: ['head'] });
    expect(named.summary.floatIslands.map((i) => i.node)).toContain('head');
    expect(named.graph.orderedNodes().find((n) => n.name === 'head')!.op).toBe('MatMul');
    // a bound that cannot be met moves every sensitive (int8) layer to float, most sensitive first
    const strict = quantizeModel(g, { mode: 'int8', calib: [calib], keepFloat: { maxLoss: -1 } });
    expect(strict.summary.keptFloat.length).toBeGreaterThanOrEqual(5);
    expect(strict.graph.orderedNodes().some((n) => n.op === 'QConv' || n.op === 'QGemm')).toBe(false);
    // a bound that holds already keeps nothing
    const loose = quantizeModel(g, { mode: 'int8', calib: [calib], keepFloat: 'auto' });
    expect(loose.summary.keptFloat).toEqual([]);
  });
});

describe('int32 accumulator guard', () => {
  it('a layer whose accumulator could overflow int32 stays float (DQ -> MatMul -> Q) in the lowered graph', () => {
    const K = 140000; // 140000 * 127 * 128 > 2^31 (zero point near 0: |x - zx| <= 128)
    const b = new GraphBuilder('t', { '': 17 });
    const x = b.input('x', 'f32', ['N', K]);
    b.output(b.node('MatMul', [x, b.const('w', Tensor.from('f32', [K, 2], new Array<number>(2 * K).fill(1)))], {}, { name: 'big' }));
    const g = b.build();
    const calib = randn(rng(4), [2, K]);
    const res = quantizeModel(g, { mode: 'int8', calib: [calib] });
    const ops = res.graph.orderedNodes().map((n) => n.op);
    expect(ops).toContain('MatMul');
    expect(ops).not.toContain('QGemm');
    // the same layer with K small enough lowers
    const b2 = new GraphBuilder('t', { '': 17 });
    const x2 = b2.input('x', 'f32', ['N', 1000]);
    b2.output(b2.node('MatMul', [x2, b2.const('w', Tensor.from('f32', [1000, 2], new Array<number>(2000).fill(1)))], {}, { name: 'small' }));
    const small = quantizeModel(b2.build(), { mode: 'int8', calib: [randn(rng(4), [2, 1000])] });
    expect(small.graph.orderedNodes().map((n) => n.op)).toContain('QGemm');
  });
});

describe('calibration errors and calibrators', () => {
  const b = new GraphBuilder('t', { '': 17 });
  const x = b.input('x', 'f32', ['N', 6]);
  b.output(b.node('Relu', [b.node('Gemm', [x, b.const('w', randn(rng(1), [6, 3]))], {})], {}));
  const g = b.build();
  const expectErr = (f: () => unknown, kind: string, re: RegExp) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(EdgecError);
      expect((e as EdgecError).kind).toBe(kind);
      expect((e as EdgecError).oneLine()).toMatch(re);
      return;
    }
    throw new Error('expected an error');
  };
  it('empty set -> numeric; NaN -> numeric naming the sample; mis-shaped / wrong count -> invalid', () => {
    expectErr(() => quantizeModel(g, { mode: 'int8', calib: [] }), 'numeric', /empty/);
    expectErr(() => quantizeModel(g, { mode: 'int8', calib: [Tensor.zeros('f32', [0, 6])] }), 'numeric', /empty/);
    const nan = randn(rng(2), [10, 6]);
    (nan.data as Float32Array)[5 * 6 + 2] = NaN;
    expectErr(() => quantizeModel(g, { mode: 'int8', calib: [nan] }), 'numeric', /sample 5\b/);
    expectErr(() => quantizeModel(g, { mode: 'int8', calib: [randn(rng(3), [10, 5])] }), 'invalid', /shape \[10,5\]/);
    expectErr(() => quantizeModel(g, { mode: 'int8', calib: [randn(rng(3), [10, 6]), randn(rng(3), [10, 6])] }), 'invalid', /2 tensor/);
    expectErr(() => quantizeModel(g, { mode: 'int8' }), 'usage', /calib/);
    expectErr(() => quantizeModel(g, { mode: 'int8', calib: [randn(rng(3), [10, 6])], calibrator: 'bogus' as never }), 'usage', /calibrator/);
  });

  it('a zero-range activation gets a valid scale and the model still runs', () => {
    const zeros = Tensor.zeros('f32', [80, 6]);
    const progress: [string, number, number][] = [];
    const res = quantizeModel(g, { mode: 'int8', calib: [zeros], batchSize: 32, onProgress: (p, d, t) => progress.push([p, d, t]) });
    expect(progress).toEqual([['calibrate', 32, 80], ['calibrate', 64, 80], ['calibrate', 80, 80]]);
    for (const n of res.qdq.orderedNodes().filter((n) => n.op === 'QuantizeLinear')) {
      const s = res.qdq.constOf(n.inputs[1])!.get(0);
      expect(Number.isFinite(s) && s > 0).toBe(true);
    }
    const out = runGraph(res.graph, [zeros])[0]!;
    expect(out.toNumbers().every((v) => v === 0)).toBe(true);
  });

  it('histogram calibrators clip outliers (range inside [min, max]); all give working models', () => {
    const r = rng(5);
    const data = randn(r, [4096, 6]);
    (data.data as Float32Array)[17] = 60; // one outlier
    const stats = calibrate(g, [data], { calibrator: 'entropy' });
    expect([...stats.values()].every((s) => s.hist !== undefined)).toBe(true);
    const mm = quantizeModel(g, { mode: 'int8', calib: [data], calibrator: 'minmax' });
    const inScale = (res: ReturnType<typeof quantizeModel>) => res.qdq.constOf(res.qdq.orderedNodes().find((n) => n.op === 'QuantizeLinear')!.inputs[1])!.get(0);
    for (const c of ['percentile', 'entropy', 'mse'] as const) {
      const res = quantizeModel(g, { mode: 'int8', calib: [data], calibrator: c });
      // percentile/entropy drop the lone outlier; mse weighs its clipping error (never widens the range)
      if (c === 'mse') expect(inScale(res), c).toBeLessThanOrEqual(inScale(mm));
      else expect(inScale(res), c).toBeLessThan(inScale(mm) / 2);
      const test = randn(rng(6), [32, 6]);
      expect(snrDb(runGraph(g, [test])[0]!, runGraph(res.graph, [test])[0]!), c).toBeGreaterThan(20);
    }
  });
});

describe('pre-quantized ONNX models lower bit-exactly', () => {
  it('QLinearConv / QLinearMatMul -> QConv / QGemm (rq_mode float) give identical outputs', () => {
    const r = rng(11);
    const b = new GraphBuilder('t', { '': 13 });
    const x = b.input('x', 'u8', [2, 3, 6, 6]);
    const w = Tensor.from('i8', [4, 3, 3, 3], Array.from({ length: 108 }, () => Math.floor(r() * 255) - 127));
    const sc = (v: number) => b.const(`s${v}`, Tensor.scalar('f32', v));
    const conv = b.node('QLinearConv', [x, sc(0.02), b.const('xz', Tensor.scalar('u8', 128)), b.const('w', w),
      b.const('ws', Tensor.from('f32', [4], [0.01, 0.02, 0.015, 0.03])), b.const('wz', Tensor.from('i8', [4], [0, 0, 0, 0])), sc(0.05),
      b.const('yz', Tensor.scalar('u8', 120)), b.const('bias', Tensor.from('i32', [4], [100, -200, 300, -5000]))], { pads: [1, 1, 1, 1] });
    const flat = b.node('Reshape', [conv, b.const('shape', Tensor.from('i64', [2], [2, 144]))], {});
    const mm = b.node('QLinearMatMul', [flat, sc(0.05), b.const('az', Tensor.scalar('u8', 120)),
      b.const('bw', Tensor.from('u8', [144, 5], Array.from({ length: 720 }, () => Math.floor(r() * 256)))), sc(0.003),
      b.const('bz', Tensor.scalar('u8', 127)), sc(0.07), b.const('oz', Tensor.scalar('u8', 100))], {});
    b.output(mm);
    const g = b.build();
    const low = lowerQdq(g).graph;
    const ops = low.orderedNodes().map((n) => n.op);
    expect(ops).toContain('QConv');
    expect(ops).toContain('QGemm');
    expect(ops).not.toContain('QLinearConv');
    for (let k = 0; k < 3; k++) {
      const xin = Tensor.from('u8', [2, 3, 6, 6], Array.from({ length: 216 }, () => Math.floor(r() * 256)));
      expect(runGraph(low, [xin])[0]!.toNumbers()).toEqual(runGraph(g, [xin])[0]!.toNumbers());
    }
  });

  it.skipIf(!HAVE_MODELS)('mnist-8-integer-quant: ConvInteger/MatMulInteger -> QConv/QGemm (int32), identical outputs', () => {
    const file = path.join(MODELS_DIR, 'onnx', 'mnist-8-integer-quant.onnx');
    const g = loadOnnxFile(file);
    const low = lowerQdq(g).graph;
    const ops = low.orderedNodes().map((n) => n.op);
    expect(ops.filter((o) => o === 'QConv').length).toBe(2);
    expect(ops.filter((o) => o === 'QGemm').length).toBe(1);
    const dir = path.join(MODELS_DIR, 'onnx', 'mnist-8-integer-quant');
    const sets = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set')) : [];
    const inputs = sets.length ? [readPb(path.join(dir, sets[0]!, 'input_0.pb'))]
      : [Tensor.from('f32', [1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => (i * 37) % 255))];
    expect(runGraph(low, inputs)[0]!.toNumbers()).toEqual(runGraph(g, inputs)[0]!.toNumbers());
  });
});
