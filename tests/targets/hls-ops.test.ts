/**
 * HLS target on graphs built in code: the C simulation (g++) of the generated project against the
 * reference interpreter running the same graph -- fp32 within rtol 1e-3, int8 bit for bit.
 * To keep g++ time down, each precision compiles ONE multi-branch graph (conv variants, dense,
 * pools, residual add, SE block, softmax, conv1d, concat/slice/transpose, batchnorm...) whose
 * outputs are checked one by one; the hand-built integer-op cases (u8/i8, per-channel zero points,
 * float rq, raw i32 accumulators, rounding ties) share a second compile.
 * Also: determinism, hostile names, a snapshot of one top function, build_prj.tcl, the estimate,
 * errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeMultiplier } from '../../compiler/ops/qint.js';
import { EdgecError } from '../../compiler/errors.js';
import { quantizeModel } from '../../quantize/index.js';
import { commentText, compileHls, emitHls, floatLit } from '../../targets/hls/emit.js';
import { buildCsim, emitAndRunHls, runHlsArtifact, writeHlsArtifact } from '../../targets/hls/csim.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';
import { CsimResult, csimVsRef, firstBitDiff } from './hls-helpers.js';
import { rng } from '../helpers/rng.js';

const HAVE_GXX = spawnSync(process.env['CXX'] || 'g++', ['--version']).status === 0;
const TOL = { rtol: 1e-3, atol: 1e-4 };

const randInts = (n: number, lo: number, hi: number, seed: number): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
};

/** The multi-branch float graph: output name -> what it covers. */
function buildZoo(): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('zoo', { '': 17 });
  let seed = 1;
  const w = (shape: number[], scale = 0.5) => b.const(`w${seed}`, randomTensor(shape, seed++, -scale, scale));
  const x = b.input('x', 'f32', [2, 4, 9, 9]);
  const x1 = b.input('x1', 'f32', [2, 3, 16]);
  const v = b.input('v', 'f32', [2, 5, 6]);
  const names: string[] = [];
  const out = (id: ValueId, name: string) => {
    const o = b.node('Identity', [id], {}, { name: `out_${name}`, outputNames: [name] });
    b.output(o);
    names.push(name);
  };
  // conv 3x3 pad 1 + Relu (fused by the pipeline)
  const c1 = b.node('Relu', [b.node('Conv', [x, w([6, 4, 3, 3]), w([6])], { pads: [1, 1, 1, 1] })]);
  out(c1, 'conv_relu');
  // strided, asymmetric pads, dilation
  out(b.node('Conv', [x, w([5, 4, 3, 2]), w([5])], { strides: [2, 1], dilations: [2, 1], pads: [1, 0, 2, 1] }), 'conv_strided_dilated');
  // depthwise 3x3 s2 + Clip (ReLU6)
  out(b.node('Clip', [b.node('Conv', [x, w([4, 1, 3, 3]), w([4])], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }),
    b.const('lo', 'f32', [], [0]), b.const('hi', 'f32', [], [0.6])]), 'depthwise_relu6');
  // grouped conv, no bias
  out(b.node('Conv', [x, w([6, 2, 1, 1])], { group: 2 }), 'grouped_1x1');
  // pools
  out(b.node('MaxPool', [c1], { kernel_shape: [2, 2], strides: [2, 2] }), 'maxpool');
  out(b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }), 'maxpool_ceil');
  out(b.node('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), 'avgpool');
  out(b.node('AveragePool', [x], { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], count_include_pad: 1, ceil_mode: 1 }), 'avgpool_incl_pad');
  // residual add
  const r = b.node('Relu', [b.node('Add', [b.node('Conv', [c1, w([6, 6, 3, 3], 0.2), w([6])], { pads: [1, 1, 1, 1] }), c1])]);
  out(r, 'residual');
  // SE block: GAP -> 1x1 -> relu -> 1x1 -> sigmoid -> Mul (channel broadcast)
  const gap = b.node('GlobalAveragePool', [r]);
  const se = b.node('Sigmoid', [b.node('Conv', [b.node('Relu', [b.node('Conv', [gap, w([3, 6, 1, 1]), w([3])])]), w([6, 3, 1, 1]), w([6])])]);
  const scaled = b.node('Mul', [r, se]);
  out(scaled, 'se_block');
  // dense head: GAP -> Flatten -> Gemm -> Softmax
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [scaled])], { axis: 1 });
  const logits = b.node('Gemm', [flat, w([10, 6]), w([10])], { transB: 1 });
  out(b.node('Softmax', [logits], { axis: 1 }), 'softmax');
  out(b.node('Gemm', [flat, w([6, 7]), w([7])], { alpha: 0.5, beta: 2 }), 'gemm_transb0_alpha_beta');
  // conv1d + maxpool1d + leaky relu
  const c1d = b.node('LeakyRelu', [b.node('Conv', [x1, w([8, 3, 5]), w([8])], { strides: [2], pads: [2, 2] })], { alpha: 0.1 });
  out(b.node('MaxPool', [c1d], { kernel_shape: [2], strides: [2] }), 'conv1d_pool');
  out(b.node('ReduceMean', [c1d], { axes: [2], keepdims: 0 }), 'reducemean_1d');
  // concat / slice / transpose / batchnorm / tanh / matmul on rank 3
  out(b.node('Concat', [c1, b.node('Conv', [x, w([2, 4, 1, 1]), w([2])])], { axis: 1 }), 'concat');
  out(b.node('Slice', [x, b.const('st', 'i64', [2], [1, 8]), b.const('en', 'i64', [2], [3, 0]), b.const('ax', 'i64', [2], [1, 3]), b.const('sp', 'i64', [2], [1, -2])]), 'slice_neg_step');
  out(b.node('Transpose', [v], { perm: [0, 2, 1] }), 'transpose');
  out(b.node('BatchNormalization', [x, w([4], 1), w([4], 1), w([4], 0.3), b.const('var', randomTensor([4], 99, 0.5, 2))], { epsilon: 1e-3 }), 'batchnorm');
  out(b.node('Tanh', [b.node('MatMul', [v, w([6, 4])])]), 'matmul_rank3_tanh');
  out(b.node('ReduceMax', [v], { axes: [1], keepdims: 1 }), 'reducemax');
  out(b.node('Sub', [b.node('Div', [v, b.const('two', 'f32', [], [2])]), b.node('ReduceMean', [v], { axes: [2], keepdims: 1 })]), 'div_sub_broadcast');
  const g = b.build();
  const inputs = [randomTensor([2, 4, 9, 9], 101), randomTensor([2, 3, 16], 102), randomTensor([2, 5, 6], 103)];
  return { g, inputs, names };
}

describe.skipIf(!HAVE_GXX)('hls fp32: C simulation == reference (rtol 1e-3)', () => {
  let res: CsimResult;
  let names: string[];
  beforeAll(async () => {
    const z = buildZoo();
    names = z.names;
    // keep BatchNormalization (on a graph input) as a layer: the scale-shift kernel
    optimize(z.g, { target: 'hls', foldBatchnorm: false });
    res = await csimVsRef(z.g, z.inputs);
  }, 120_000);
  const zooNames = buildZoo().names;
  for (const [k, name] of zooNames.entries()) {
    it(name, () => {
      expect(names[k]).toBe(name);
      const got = res.outputs[k]!;
      const want = res.want[k]!;
      expect(got.shape).toEqual(want.shape);
      expect(compareTensors(got, want, TOL)).toBeNull();
    });
  }
  it('the pipeline fused activations and the layers name their kernels', () => {
    const top = String(res.art.files.get('firmware/myproject.cpp'));
    for (const k of ['nnet::conv2d', 'nnet::depthwise_conv2d', 'nnet::conv1d', 'nnet::dense', 'nnet::pooling', 'nnet::reduce', 'nnet::binary', 'nnet::softmax',
      'nnet::normalize', 'nnet::concat_part', 'nnet::strided_copy', 'nnet::activation']) expect(top).toContain(`${k}<`);
    const params = String(res.art.files.get('firmware/parameters.h'));
    expect(params).toMatch(/static const int activation = 1;/);
  });
});

/** True when graph output k comes from DequantizeLinear (an integer result; alias ops skipped). */
function producedByDequantize(res: CsimResult & { graph?: Graph }, k: number): boolean {
  const g = res.graph!;
  let id = g.outputs[k]!;
  for (;;) {
    const n = g.producerOf(id);
    if (!n) return false;
    if (n.op === 'DequantizeLinear') return true;
    if (!['Identity', 'Reshape', 'Flatten'].includes(n.op)) return false;
    id = n.inputs[0]!;
  }
}

describe.skipIf(!HAVE_GXX)('hls int8: C simulation == reference, bit for bit', () => {
  let res: CsimResult & { graph?: Graph };
  beforeAll(async () => {
    const z = buildZoo();
    optimize(z.g, { target: 'hls' });
    const calib = z.inputs.map((t, k) => randomTensor([8, ...t.shape.slice(1)], 200 + k));
    const q = quantizeModel(z.g, { mode: 'int8', calib });
    res = { ...(await csimVsRef(q.graph, z.inputs, { precision: 'int8' })), graph: q.graph };
  }, 120_000);
  it('uses the integer kernels', () => {
    const top = String(res.art.files.get('firmware/myproject.cpp'));
    for (const k of ['nnet::qconv2d', 'nnet::qconv1d', 'nnet::qdense', 'nnet::qadd', 'nnet::quantize', 'nnet::dequantize']) expect(top).toContain(`${k}<`);
    expect(res.art.manifest.precision).toBe('int8');
  });
  for (const name of buildZoo().names) {
    it(name, () => {
      const k = buildZoo().names.indexOf(name);
      const got = res.outputs[k]!;
      const want = res.want[k]!;
      expect(got.shape).toEqual(want.shape);
      // outputs computed by a float island (Softmax, Tanh kept float by the quantizer) are float math
      if (!producedByDequantize(res, k)) {
        expect(compareTensors(got, want, TOL)).toBeNull();
        return;
      }
      const bad = firstBitDiff(got, want);
      expect(bad < 0 ? 'same' : `[${bad}] ${got.get(bad)} vs ${want.get(bad)}`).toBe('same');
    });
  }
});

// ------------------------------------------------------------------------------------------------
// Hand-built integer ops (what the quantizer does not produce by default)
// ------------------------------------------------------------------------------------------------

const XS = 0.01;

/** f32 input with exact rounding ties (k + 0.5 steps of XS) mixed in. */
function qinput(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, c) => a * c, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = i % 7 === 3 ? (Math.floor(r() * 40) - 20 + 0.5) * XS : -1.5 + 3 * r();
  return new Tensor('f32', shape, d);
}

function buildQCases(): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('qcases', { '': 19, edgec: 1 });
  const inputs: Tensor[] = [];
  const names: string[] = [];
  let k = 0;
  const qin = (shape: number[], dt: 'u8' | 'i8', zp: number): ValueId => {
    const xf = b.input(`x${k}`, 'f32', shape);
    inputs.push(qinput(shape, 500 + k));
    k++;
    return b.node('QuantizeLinear', [xf, b.const(`xs${k}`, 'f32', [], [XS]), b.const(`xz${k}`, dt, [], [zp])]);
  };
  const done = (y: ValueId, name: string) => {
    const dt = b.typeOf(y).dtype as 'u8' | 'i8';
    b.output(b.node('DequantizeLinear', [y, b.const(`one_${name}`, 'f32', [], [1]), b.const(`zero_${name}`, dt, [], [0])], {}, { outputNames: [name] }));
    names.push(name);
  };
  const stage = (M: number, m: number, seed: number): Record<string, AttrValue> => {
    const r = rng(seed);
    const q = Array.from({ length: M }, () => quantizeMultiplier(m * 2 ** (2 * r() - 1)));
    return { multiplier: q.map((v) => v.multiplier), shift: q.map((v) => v.shift) };
  };
  const conv = (name: string, xs: number[], ws: number[], o: { xdt?: 'u8' | 'i8'; wdt?: 'u8' | 'i8'; wzp?: boolean; float?: boolean; ydt?: 'u8' | 'i8'; clamp?: [number, number]; noBias?: boolean; attrs?: Record<string, AttrValue> }, seed: number) => {
    const xdt = o.xdt ?? 'u8';
    const zx = xdt === 'u8' ? 131 : -7;
    const x = qin(xs, xdt, zx);
    const M = ws[0]!;
    const K = ws.slice(1).reduce((a, c) => a * c, 1);
    const wdt = o.wdt ?? 'i8';
    const wt = b.const(`w_${name}`, wdt, ws, wdt === 'u8' ? randInts(M * K, 0, 255, seed) : randInts(M * K, -127, 127, seed));
    const wzp = o.wzp ? randInts(M, wdt === 'u8' ? 100 : -20, wdt === 'u8' ? 150 : 20, seed + 1) : [0];
    const bias = o.noBias ? null : b.const(`b_${name}`, 'i32', [M], randInts(M, -20000, 20000, seed + 2));
    const ydt = o.ydt ?? 'u8';
    const accScale = 128 * 70 * Math.sqrt(K);
    const st = o.float ? { rq_mode: 'float', scale: Array.from({ length: M }, (_, m) => Math.fround((60 / accScale) * (1 + m / M))) } : stage(M, 60 / accScale, seed + 3);
    const y = b.node('QConv', [x, wt, bias], {
      ...o.attrs, x_zero_point: zx, w_zero_point: wzp, ...st, y_dtype: ydt, y_zero_point: ydt === 'u8' ? 120 : 3,
      ...(o.clamp ? { clamp_lo: o.clamp[0], clamp_hi: o.clamp[1] } : {}),
    }, { domain: 'edgec' });
    done(y, name);
  };
  conv('qconv_3x3_u8', [1, 5, 9, 11], [7, 5, 3, 3], { attrs: { pads: [1, 1, 1, 1] } }, 11);
  conv('qconv_s2_dil_asym_i8', [1, 4, 13, 10], [6, 4, 3, 2], { xdt: 'i8', ydt: 'i8', attrs: { strides: [2, 1], dilations: [2, 2], pads: [1, 0, 2, 1] } }, 21);
  conv('qconv_depthwise_nobias', [1, 5, 14, 14], [5, 1, 5, 5], { noBias: true, attrs: { group: 5, dilations: [2, 2], pads: [4, 4, 4, 4] } }, 31);
  conv('qconv_u8w_perchan_zp_float_rq', [1, 5, 8, 7], [6, 5, 3, 3], { wdt: 'u8', wzp: true, float: true, attrs: { pads: [0, 1, 1, 0] } }, 41);
  conv('qconv_clamp_grouped', [2, 6, 8, 9], [9, 2, 3, 3], { clamp: [-100, 90], ydt: 'i8', wzp: true, attrs: { group: 3, pads: [1, 1, 1, 1] } }, 51);
  conv('qconv1d', [1, 6, 29], [5, 6, 3], { attrs: { pads: [1, 1], strides: [2] } }, 61);
  // raw i32 accumulator -> Requantize
  {
    const x = qin([1, 3, 6, 6], 'i8', -7);
    const acc = b.node('QConv', [x, b.const('w_raw', 'i8', [4, 3, 3, 3], randInts(108, -127, 127, 71))], { x_zero_point: -7, y_dtype: 'i32' }, { domain: 'edgec' });
    const q = quantizeMultiplier(60 / (128 * 70 * Math.sqrt(27)));
    done(b.node('Requantize', [acc], { x_zero_point: 5, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8', y_zero_point: -2 }, { domain: 'edgec' }), 'qconv_i32_requantize');
  }
  // rounding ties: M = 2^30 with n = 31/32 (halves, quarters), n = 0 (saturating)
  for (const [m, n] of [[2 ** 30, 31], [2 ** 30, 32], [5, 0]] as const) {
    const x = qin([2, 24], 'u8', 128);
    const wt = b.const(`w_t${n}`, 'i8', [24, 5], randInts(120, -3, 3, n));
    const st = { multiplier: [m], shift: [n] };
    done(b.node('QGemm', [x, wt], { x_zero_point: 128, ...st, y_dtype: 'i8' }, { domain: 'edgec' }), `qgemm_ties_${n}`);
    done(b.node('Requantize', [x], { x_zero_point: 128, ...st, y_dtype: 'i8' }, { domain: 'edgec' }), `requantize_ties_${n}`);
    done(b.node('QReduceMean', [x], { axes: [1], x_zero_point: 128, ...st, y_dtype: 'i8' }, { domain: 'edgec' }), `qreducemean_ties_${n}`);
  }
  // QGemm trans_b, per-channel weight zero points, u8 out
  {
    const x = qin([3, 17], 'i8', 4);
    const wt = b.const('w_gt', 'i8', [6, 17], randInts(102, -127, 127, 81));
    done(b.node('QGemm', [x, wt, b.const('b_gt', 'i32', [6], randInts(6, -3000, 3000, 82))], {
      trans_b: 1, x_zero_point: 4, w_zero_point: randInts(6, -5, 5, 83), ...stage(6, 1 / 2000, 84), y_dtype: 'u8', y_zero_point: 100,
    }, { domain: 'edgec' }), 'qgemm_transb_perchan');
  }
  // QAdd (signed multipliers: Sub), QMul with broadcast, QAvgPool with count_include_pad
  {
    const a = qin([1, 4, 5, 5], 'i8', 3);
    const c = qin([1, 4, 1, 5], 'u8', 120);
    const ma = quantizeMultiplier(0.7);
    done(b.node('QAdd', [a, c], { a_zero_point: 3, b_zero_point: 120, a_multiplier: ma.multiplier, b_multiplier: -(2 ** 29), shift: ma.shift, y_dtype: 'i8', y_zero_point: -5 }, { domain: 'edgec' }), 'qadd_sub_broadcast');
    const qm = quantizeMultiplier(0.013);
    done(b.node('QMul', [a, c], { a_zero_point: 3, b_zero_point: 120, multiplier: qm.multiplier, shift: qm.shift, y_dtype: 'u8', y_zero_point: 7, clamp_lo: 10 }, { domain: 'edgec' }), 'qmul_broadcast_clamp');
    const ms: number[] = [];
    const ss: number[] = [];
    for (let cnt = 1; cnt <= 9; cnt++) {
      const q = quantizeMultiplier(1.3 / cnt);
      ms.push(q.multiplier);
      ss.push(q.shift);
    }
    done(b.node('QAvgPool', [a], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1, ceil_mode: 1, x_zero_point: 3, multipliers: ms, shifts: ss, y_dtype: 'i8', y_zero_point: 2 }, { domain: 'edgec' }), 'qavgpool_incl_pad');
    done(b.node('MaxPool', [a], { kernel_shape: [2, 2], strides: [1, 1] }), 'maxpool_int8');
  }
  return { g: b.build(), inputs, names };
}

describe.skipIf(!HAVE_GXX)('hls int8: hand-built integer ops, bit for bit', () => {
  let res: CsimResult;
  let names: string[];
  beforeAll(async () => {
    const q = buildQCases();
    names = q.names;
    res = await csimVsRef(q.g, q.inputs, { precision: 'int8' });
  }, 120_000);
  for (const name of buildQCases().names) {
    it(name, () => {
      const k = names.indexOf(name);
      const got = res.outputs[k]!;
      const want = res.want[k]!;
      expect(got.shape).toEqual(want.shape);
      if (!name.includes('ties')) expect(new Set(want.toNumbers()).size, 'output is not degenerate').toBeGreaterThan(3);
      const bad = firstBitDiff(got, want);
      expect(bad < 0 ? 'same' : `[${bad}] ${got.get(bad)} vs ${want.get(bad)}`).toBe('same');
    });
  }
});

// ------------------------------------------------------------------------------------------------
// Project structure, determinism, names, estimate, errors
// ------------------------------------------------------------------------------------------------

/** A small canonical CNN (conv-relu, maxpool, dense, softmax). */
function canonical(): { g: Graph; x: Tensor } {
  const b = new GraphBuilder('canonical', { '': 17 });
  const x = b.input('image', 'f32', [1, 1, 8, 8]);
  const c = b.node('Relu', [b.node('Conv', [x, b.const('k', randomTensor([4, 1, 3, 3], 7)), b.const('kb', randomTensor([4], 8))], { pads: [1, 1, 1, 1] }, { name: 'conv1' })], {}, { name: 'relu1' });
  const p = b.node('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool1' });
  const f = b.node('Flatten', [p], { axis: 1 }, { name: 'flatten' });
  const y = b.node('Softmax', [b.node('Gemm', [f, b.const('fc', randomTensor([3, 64], 9, -0.2, 0.2)), b.const('fcb', randomTensor([3], 10))], { transB: 1 }, { name: 'fc1' })], { axis: 1 }, { name: 'prob' });
  b.output(y);
  return { g: b.build(), x: randomTensor([1, 1, 8, 8], 11) };
}

describe('hls project', () => {
  it('emits the same bytes twice (deterministic)', () => {
    const a = compileHls(canonical().g);
    const b2 = compileHls(canonical().g);
    expect([...a.files.keys()]).toEqual([...b2.files.keys()]);
    for (const [k, v] of a.files) expect(b2.files.get(k), k).toEqual(v);
    expect(JSON.stringify(a.manifest)).toBe(JSON.stringify(b2.manifest));
  });

  it('snapshot of the top function (review aid)', async () => {
    const a = compileHls(canonical().g, { testVectors: false });
    await expect(String(a.files.get('firmware/myproject.cpp'))).toMatchFileSnapshot('__snapshots__/hls-canonical-top.cpp');
  });

  it('lays out a Vitis HLS project; build_prj.tcl runs csim and csynth on the files that exist', () => {
    const a = compileHls(canonical().g, { part: 'xczu9eg', clockNs: 5 });
    const files = [...a.files.keys()];
    for (const f of ['build_prj.tcl', 'estimate.json', 'firmware/myproject.cpp', 'firmware/myproject.h', 'firmware/parameters.h', 'firmware/defines.h',
      'firmware/nnet_utils/nnet_conv.h', 'firmware/nnet_utils/nnet_dense.h', 'tb/myproject_test.cpp', 'tb_data/tb_input_features.dat', 'tb_data/tb_output_predictions.dat']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('firmware/weights/'))).toBe(true);
    const tcl = String(a.files.get('build_prj.tcl'));
    expect(tcl).toMatch(/^open_project -reset myproject_prj$/m);
    expect(tcl).toMatch(/^set_top myproject$/m);
    expect(tcl).toMatch(/^set_part \{xczu9eg-ffvb1156-2-e\}$/m);
    expect(tcl).toMatch(/^create_clock -period 5 -name default$/m);
    expect(tcl).toMatch(/^\s*csim_design$/m);
    expect(tcl).toMatch(/^\s*csynth_design$/m);
    expect(tcl.indexOf('csim_design')).toBeLessThan(tcl.indexOf('csynth_design'));
    for (const m of tcl.matchAll(/add_files (?:-tb )?(\S+)/g)) {
      const f = m[1]!;
      expect(files.some((p) => p === f || p.startsWith(`${f}/`)), f).toBe(true);
    }
    // pragmas: DATAFLOW + INTERFACE at the top, PIPELINE/UNROLL/ARRAY_PARTITION in the kernels
    const top = String(a.files.get('firmware/myproject.cpp'));
    expect(top).toContain('#pragma HLS DATAFLOW');
    expect(top).toMatch(/#pragma HLS INTERFACE m_axi port=in0 /);
    expect(top).toContain('#pragma HLS INTERFACE s_axilite port=return bundle=control');
    const conv = String(a.files.get('firmware/nnet_utils/nnet_conv.h'));
    expect(conv).toContain('#pragma HLS PIPELINE II=CFG::reuse_factor');
    expect(conv).toContain('#pragma HLS ARRAY_PARTITION');
    // the unrolled kernel-window loop is the shared window walker (nnet_common.h) conv and pooling use
    expect(conv).toContain('for_each_window_tap');
    expect(String(a.files.get('firmware/nnet_utils/nnet_common.h'))).toContain('#pragma HLS UNROLL');
    // the kernels are templates, not generated code
    expect(conv).toMatch(/template<class In, class Out, class CFG>/);
    expect(top).not.toMatch(/for \(/);
    // config structs carry the reuse factor
    expect(String(a.files.get('firmware/parameters.h'))).toMatch(/struct config\d+ : nnet::conv_config \{[^}]*reuse_factor = \d+;/);
    const axis = compileHls(canonical().g, { io: 'axis', testVectors: false });
    expect(String(axis.files.get('firmware/myproject.cpp'))).toContain('#pragma HLS INTERFACE axis port=in0');
  });

  it('estimate: per layer and total, DSPs scale with the reuse factor, warning when over the part', () => {
    const { g } = canonical();
    const r1 = compileHls(g, { reuseFactor: 1, testVectors: false });
    const r3 = compileHls(g, { reuseFactor: 3, testVectors: false });
    const est = JSON.parse(String(r1.files.get('estimate.json'))) as { layers: { kernel: string; dsp: number; multipliers: number; reuse_factor: number; latency_cycles: number }[]; total: { dsp: number; latency_cycles: number }; part: string };
    expect(est.part).toBe('xc7z020clg400-1');
    const conv1 = est.layers.find((l) => l.kernel === 'nnet::conv2d')!;
    expect(conv1.multipliers).toBe(9); // C/g * k*k = 9 per output, reuse 1
    expect(conv1.dsp).toBe(45); // fp32: 5 DSP48 per multiply-accumulate
    const conv3 = r3.estimate.layers.find((l) => l.kernel === 'nnet::conv2d')!;
    expect(conv3.multipliers).toBe(3);
    expect(conv3.latency_cycles).toBeGreaterThan(conv1.latency_cycles);
    expect(r3.estimate.total.dsp).toBeLessThan(r1.estimate.total.dsp);
    expect(r1.manifest['estimate']).toMatchObject({ dsp: r1.estimate.total.dsp, bram18k: r1.estimate.total.bram18k });
    expect(est.total.latency_cycles).toBe(est.layers.reduce((s, l) => s + l.latency_cycles, 0));
    // a wide dense layer at reuse 1 does not fit an xc7z020
    const b = new GraphBuilder('wide', { '': 17 });
    const x = b.input('x', 'f32', [1, 256]);
    b.output(b.node('Gemm', [x, b.const('w', randomTensor([128, 256], 3)), b.const('b', randomTensor([128], 4))], { transB: 1 }));
    const big = compileHls(b.build(), { reuseFactor: 1, testVectors: false });
    expect(big.estimate.fits).toBe(false);
    expect(big.estimate.warnings.join(' ')).toMatch(/DSP estimate \d+ exceeds the xc7z020 \(220\)/);
    const per = compileHls(g, { reuseFactor: 1, layerReuse: { 0: 9 }, testVectors: false });
    expect(per.estimate.layers[0]).toMatchObject({ reuse_factor: 9, multipliers: 1 });
    expect(String(per.files.get('firmware/parameters.h'))).toMatch(/struct config0 [^}]*reuse_factor = 9;/);
    const auto = compileHls(b.build(), { testVectors: false, part: 'xcu250' });
    expect(auto.estimate.layers[0]!.multipliers).toBeLessThanOrEqual(64);
    expect(auto.estimate.fits).toBe(true);
  });

  it('escapes names into comments and never into identifiers', () => {
    expect(commentText('a*/b\n#pragma once\\')).not.toMatch(/\*\/|\n|\\$/);
    expect(floatLit(3)).toBe('3.0f');
    expect(floatLit(-0)).toBe('-0.0f');
    expect(Math.fround(Number(floatLit(0.1).slice(0, -1)))).toBe(Math.fround(0.1));
  });

  it.skipIf(!HAVE_GXX)('hostile node / tensor names compile and run', async () => {
    const hostile = ['*/ int evil; /*', 'a\n#pragma HLS evil\nb', 'ends with backslash \\', '??/ trigraph', '"quoted" // comment', 'ünï\u2028cøde', '#include <evil>', '`$(rm -rf /)`'];
    const b = new GraphBuilder('hostile', { '': 17 });
    const x = b.input(hostile[0]!, 'f32', [1, 2, 4, 4]);
    let y = b.node('Conv', [x, b.const(hostile[1]!, randomTensor([3, 2, 3, 3], 5)), b.const(hostile[2]!, randomTensor([3], 6))], { pads: [1, 1, 1, 1] }, { name: hostile[3]!, outputNames: [hostile[4]!] });
    y = b.node('Relu', [y], {}, { name: hostile[5]!, outputNames: [hostile[6]!] });
    y = b.node('Flatten', [y], {}, { name: hostile[7]!, outputNames: [hostile[1]!.toUpperCase()] });
    b.output(y);
    const g = b.build();
    const xin = randomTensor([1, 2, 4, 4], 12);
    const res = await csimVsRef(g, [xin]);
    expect(compareTensors(res.outputs[0]!, res.want[0]!, TOL)).toBeNull();
    for (const [f, text] of res.art.files) {
      if (!/\.(cpp|h|tcl)$/.test(f) || f.startsWith('firmware/nnet_utils/')) continue; // generated files only
      // names may only appear inside // comments: check the code with comments stripped
      const s = String(text).split('\n').map((l) => l.replace(/\/\/.*$/, '')).join('\n');
      expect(String(text), f).not.toMatch(/^\s*#pragma HLS evil/m);
      expect(s, f).not.toMatch(/^\s*#pragma HLS evil/m);
      expect(s, f).not.toContain('int evil;');
      expect(s, f).not.toMatch(/#include <evil>/);
      expect(s, f).not.toMatch(/\\\n/); // no line continuations
      expect(s, f).not.toContain('??/');
      expect(/^[\x09\x0a\x20-\x7e]*$/.test(String(text)), `${f} is plain ASCII`).toBe(true);
    }
    expect(res.art.manifest.inputs[0]!.name).toBe(hostile[0]);
  });

  it('unsupported ops fail with the node and op named', () => {
    const b = new GraphBuilder('bad', { '': 17 });
    const x = b.input('x', 'f32', [1, 4]);
    b.output(b.node('TopK', [x, b.const('k', 'i64', [1], [2])], { axis: 1 }, { name: 'my_topk' }));
    const g = b.build();
    let err: unknown;
    try {
      emitHls(g, { testVectors: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    expect((err as EdgecError).kind).toBe('unsupported');
    expect(String((err as Error).message) + JSON.stringify((err as EdgecError).ctx)).toMatch(/my_topk/);
    expect(() => emitHls(canonical().g, { precision: 'bf16' })).toThrow(/precision bf16/);
    expect(() => emitHls(canonical().g, { topName: 'bad name' })).toThrow(/not a valid C identifier/);
    expect(() => emitHls(canonical().g, { part: 'xc9nope' })).toThrow(/unknown FPGA part/);
  });

  it.skipIf(!HAVE_GXX)('emitAndRunHls: in-memory compile + run (edgec run --target hls MODEL)', async () => {
    const { g, x } = canonical();
    optimize(g, { target: 'hls' });
    const got = await emitAndRunHls(g, [x]);
    expect(compareTensors(got[0]!, runGraph(g, [x])[0]!, TOL)).toBeNull();
    await expect(emitAndRunHls(g, [randomTensor([1, 1, 4, 4], 1)])).rejects.toMatchObject({ kind: 'invalid' });
  }, 60_000);

  it.skipIf(!HAVE_GXX)('the testbench checks its own vectors (PASS) and g++ errors are reported', async () => {
    const { g } = canonical();
    const a = compileHls(g);
    const dir = writeHlsArtifact(a.files, a.manifest);
    try {
      const bin = await buildCsim(dir);
      const r = spawnSync(bin, [], { cwd: dir, encoding: 'utf8' });
      expect(r.stdout).toContain('PASS');
      expect(r.status).toBe(0);
      // int8 (the Softmax output is a float island: tolerance; the rest exact)
      const g8 = a.graph.clone();
      const q = quantizeModel(g8, { mode: 'int8', calib: [randomTensor([8, 1, 8, 8], 31)] });
      const a8 = emitHls(q.graph, { precision: 'int8' });
      const dir8 = writeHlsArtifact(a8.files, a8.manifest);
      try {
        const r8 = spawnSync(await buildCsim(dir8), [], { cwd: dir8, encoding: 'utf8' });
        expect(r8.stdout).toContain('PASS');
        expect(String(a8.files.get('tb/myproject_test.cpp'))).toMatch(/rtol = 1e-3/);
      } finally {
        fs.rmSync(dir8, { recursive: true, force: true });
      }
      // a wrong expected vector makes the testbench fail
      const pred = path.join(dir, 'tb_data/tb_output_predictions.dat');
      fs.writeFileSync(pred, fs.readFileSync(pred, 'utf8').replace(/^(\S+)/, (v) => String(Number(v) + 0.5)));
      const bad = spawnSync(bin, [], { cwd: dir, encoding: 'utf8' });
      expect(bad.stdout).toContain('FAIL');
      expect(bad.status).toBe(1);
      // corrupt a source: an internal error naming the file
      fs.appendFileSync(path.join(dir, 'firmware/myproject.cpp'), '\nthis is not C++;\n');
      await expect(buildCsim(dir)).rejects.toMatchObject({ kind: 'internal', message: expect.stringMatching(/compilation/) });
      // missing compiler: an io error
      const prev = process.env['CXX'];
      process.env['CXX'] = path.join(os.tmpdir(), 'no-such-compiler-edgec');
      try {
        await expect(runHlsArtifact(dir, [canonical().x])).rejects.toMatchObject({ kind: 'io', message: expect.stringMatching(/not found/) });
      } finally {
        if (prev === undefined) delete process.env['CXX'];
        else process.env['CXX'] = prev;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
