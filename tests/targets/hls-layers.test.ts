/**
 * HLS kernels for Pad (the Pads fold-pad leaves), LayerNormalization and MatMul with two runtime
 * operands: the C simulation (g++) of the generated project against the reference interpreter on
 * the same graph -- fp32 within rtol 1e-3, fp16 within the half tolerance, the integer Pads bit for
 * bit (also built with the Xilinx ap_types). One compile per group keeps g++ time down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { optimize } from '../../compiler/pipeline.js';
import { EdgecError } from '../../compiler/errors.js';
import { quantizeModel } from '../../quantize/index.js';
import { compileHls, emitHls } from '../../targets/hls/emit.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';
import { CsimResult, csimVsRef, firstBitDiff } from './hls-helpers.js';

const HAVE_GXX = spawnSync(process.env['CXX'] || 'g++', ['--version']).status === 0;
const AP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/third_party/hls_ap_types/include');
const HAVE_AP = fs.existsSync(path.join(AP_DIR, 'ap_int.h'));
if (process.env['CI'] && !HAVE_AP) throw new Error(`CI needs the Xilinx ap_types headers at ${AP_DIR} (../shared/third_party)`);
const TOL = { rtol: 1e-3, atol: 1e-4 };

type Out = (id: ValueId, name: string) => void;
function outputs(b: GraphBuilder): { out: Out; names: string[] } {
  const names: string[] = [];
  const out: Out = (id, name) => {
    b.output(b.node('Identity', [id], {}, { name: `out_${name}`, outputNames: [name] }));
    names.push(name);
  };
  return { out, names };
}
const i64 = (b: GraphBuilder, name: string, v: number[]) => b.const(name, 'i64', [v.length], v);

/** A small attention block: LayerNorm, Q/K/V projections, 2 heads, softmax(QK^T / sqrt(d)) V. */
function attention(b: GraphBuilder, x: ValueId, T: number, D: number, H: number, seed: number): ValueId {
  const w = (shape: number[]) => b.const(`aw${seed}`, randomTensor(shape, seed++, -0.4, 0.4));
  const ln = b.node('LayerNormalization', [x, w([D]), w([D])], { axis: -1, epsilon: 1e-5 });
  const heads = (v: ValueId, perm: number[]) => b.node('Transpose', [b.node('Reshape', [v, i64(b, `hs${seed++}`, [0, T, H, D / H])])], { perm });
  const q = heads(b.node('MatMul', [ln, w([D, D])]), [0, 2, 1, 3]);
  const kT = heads(b.node('MatMul', [ln, w([D, D])]), [0, 2, 3, 1]);
  const v = heads(b.node('MatMul', [ln, w([D, D])]), [0, 2, 1, 3]);
  const s = b.node('Mul', [b.node('MatMul', [q, kT]), b.const('rsd', 'f32', [], [1 / Math.sqrt(D / H)])]);
  const o = b.node('MatMul', [b.node('Softmax', [s], { axis: -1 }), v]);
  const merged = b.node('Reshape', [b.node('Transpose', [o], { perm: [0, 2, 1, 3] }), i64(b, `ms${seed}`, [0, T, D])]);
  return b.node('Add', [x, merged]);
}

/** The float graph: every Pad mode, LayerNorm over several axes, broadcast MatMuls, attention. */
function buildFloat(): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('layers', { '': 19 });
  const { out, names } = outputs(b);
  const p = b.input('p', 'f32', [2, 3, 4, 5]);
  const a4 = b.input('a4', 'f32', [2, 3, 4, 5]);
  const b3 = b.input('b3', 'f32', [3, 5, 6]);
  const a2 = b.input('a2', 'f32', [4, 5]);
  const a1 = b.input('a1', 'f32', [5]);
  const s = b.input('s', 'f32', [2, 6, 8]);
  const lns = b.input('lns', 'f32', [1, 4, 5]);
  let seed = 1;
  const w = (shape: number[], lo = -1, hi = 1) => b.const(`w${seed}`, randomTensor(shape, seed++, lo, hi));
  // Pad: constant with a crop (negative pad), reflect / edge / wrap, axes input (opset 18+)
  out(b.node('Pad', [p, i64(b, 'pc', [0, 1, -1, 2, 1, 0, 1, -2]), b.const('cv', 'f32', [], [0.75])], { mode: 'constant' }), 'pad_constant_crop');
  out(b.node('Pad', [p, i64(b, 'pr', [2, 3, 3, 1]), b.const('cv0', 'f32', [], [0]), i64(b, 'ar', [2, 3])], { mode: 'reflect' }), 'pad_reflect_axes');
  out(b.node('Pad', [p, i64(b, 'pe', [1, 0, 2, 1, 0, 1, 0, 3])], { mode: 'edge' }), 'pad_edge');
  out(b.node('Pad', [p, i64(b, 'pw', [0, 2, 4, 6, 1, 3]), b.node('Identity', [b.const('cv1', 'f32', [], [0])]), i64(b, 'aw', [1, -2, -1])], { mode: 'wrap' }), 'pad_wrap');
  // LayerNormalization: last axis with bias, axis 2 without, axis 1 with broadcast scale / bias
  out(b.node('LayerNormalization', [p, w([5], 0.5, 1.5), w([5])], { axis: -1 }), 'layernorm_last_bias');
  out(b.node('LayerNormalization', [p, w([4, 5], 0.5, 1.5)], { axis: 2, epsilon: 1e-3 }), 'layernorm_axis2_nobias');
  out(b.node('LayerNormalization', [p, w([3, 1, 1], 0.5, 1.5), w([1, 5])], { axis: 1 }), 'layernorm_axis1_broadcast');
  const [lnY, lnMean, lnInv] = b.nodeN('LayerNormalization', [a4, w([5], 0.5, 1.5), w([5])], 3, { axis: -2, epsilon: 1e-2 });
  out(b.node('LayerNormalization', [p, lns, w([5])], { axis: 2 }), 'layernorm_runtime_scale');
  out(lnY!, 'layernorm_stats_y');
  out(lnMean!, 'layernorm_stats_mean');
  out(lnInv!, 'layernorm_stats_invstddev');
  // MatMul runtime x runtime with NumPy batch broadcasting
  out(b.node('MatMul', [a4, b3]), 'matmul_2345x356');
  out(b.node('MatMul', [a2, b.node('Transpose', [a4], { perm: [0, 1, 3, 2] })]), 'matmul_45x2354');
  out(b.node('MatMul', [a2, b.node('Slice', [b3, i64(b, 'st', [0]), i64(b, 'en', [2]), i64(b, 'ax', [0])])]), 'matmul_45x253');
  out(b.node('MatMul', [b.node('Slice', [a4, i64(b, 'st1', [0]), i64(b, 'en1', [1]), i64(b, 'ax1', [1])]), b3]), 'matmul_2145x356');
  out(b.node('Relu', [b.node('MatMul', [a1, b3])]), 'matmul_5x356_relu');
  out(attention(b, s, 6, 8, 2, 100), 'attention');
  const g = b.build();
  const inputs = [randomTensor([2, 3, 4, 5], 11), randomTensor([2, 3, 4, 5], 12), randomTensor([3, 5, 6], 13), randomTensor([4, 5], 14),
    randomTensor([5], 15), randomTensor([2, 6, 8], 16), randomTensor([1, 4, 5], 17, 0.5, 1.5)];
  return { g, inputs, names };
}

const FLOAT_NAMES = buildFloat().names;

describe.skipIf(!HAVE_GXX)('hls fp32 Pad / LayerNormalization / MatMul runtime x runtime: C simulation == reference (rtol 1e-3)', () => {
  let res: CsimResult;
  let names: string[];
  beforeAll(async () => {
    const z = buildFloat();
    names = z.names;
    optimize(z.g, { target: 'hls' });
    res = await csimVsRef(z.g, z.inputs);
  }, 120_000);
  for (const [k, name] of FLOAT_NAMES.entries()) {
    it(name, () => {
      expect(names[k]).toBe(name);
      const got = res.outputs[k]!;
      const want = res.want[k]!;
      expect(got.shape).toEqual(want.shape);
      expect(new Set(want.toNumbers()).size, 'output is not degenerate').toBeGreaterThan(5);
      expect(compareTensors(got, want, TOL)).toBeNull();
    });
  }
  it('runs the new kernels (nothing folded away)', () => {
    const top = String(res.art.files.get('firmware/myproject.cpp'));
    for (const k of ['nnet::pad', 'nnet::layernorm', 'nnet::layernorm_stats', 'nnet::matmul_rt', 'nnet::softmax', 'nnet::dense']) expect(top).toContain(`${k}<`);
    expect(top.match(/nnet::pad</g)!.length).toBe(4);
    const params = String(res.art.files.get('firmware/parameters.h'));
    for (const m of [0, 1, 2, 3]) expect(params).toContain(`static const int mode = ${m};`);
  });
});

describe.skipIf(!HAVE_GXX)('hls fp16 LayerNormalization / MatMul runtime x runtime / Pad', () => {
  it('C simulation vs the fp16 reference (rtol 1e-2)', async () => {
    const b = new GraphBuilder('half', { '': 19 });
    const { out } = outputs(b);
    const s = b.input('s', 'f32', [2, 6, 8]);
    out(attention(b, s, 6, 8, 2, 200), 'attention');
    out(b.node('Pad', [s, i64(b, 'pp', [0, 1, 2, 0, 2, 1])], { mode: 'reflect' }), 'pad_reflect');
    const g = b.build();
    optimize(g, { target: 'hls' });
    const q = quantizeModel(g, { mode: 'fp16' }).graph;
    const res = await csimVsRef(q, [randomTensor([2, 6, 8], 21)]);
    expect(res.art.manifest.precision).toBe('fp16');
    const defs = [...res.art.files.entries()].filter(([k]) => k.startsWith('firmware/')).map(([, v]) => String(v)).join('\n');
    expect(defs).toMatch(/typedef half layer\d+_t;/);
    expect(String(res.art.files.get('firmware/myproject.cpp'))).toMatch(/nnet::layernorm<[\s\S]*nnet::matmul_rt</);
    res.want.forEach((want, k) => {
      const got = res.outputs[k]!;
      expect(got.shape).toEqual(want.shape);
      expect(compareTensors(got, want, { rtol: 1e-2, atol: 1e-2 })).toBeNull();
    });
    // the Pad copies half values: bit for bit
    expect(firstBitDiff(res.outputs[1]!, res.want[1]!)).toBe(-1);
  }, 120_000);
});

/** Integer Pads on int8/uint8 storage (the quantized graph's values), every mode. */
function buildIntPads(): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('ipad', { '': 19 });
  const { out, names } = outputs(b);
  const x = b.input('x', 'i8', [1, 3, 5, 6]);
  const xu = b.input('xu', 'u8', [2, 4, 7]);
  out(b.node('Pad', [x, i64(b, 'p0', [0, 0, 2, 1, 0, 1, 1, 3]), b.const('c0', 'i8', [], [-7])], { mode: 'constant' }), 'i8_constant');
  out(b.node('Pad', [x, i64(b, 'p1', [0, 1, 3, 4, 0, 2, 4, 5])], { mode: 'reflect' }), 'i8_reflect');
  out(b.node('Pad', [x, i64(b, 'p2', [3, 2, 1, 0]), b.const('c2', 'i8', [], [0]), i64(b, 'a2', [-1, 1])], { mode: 'edge' }), 'i8_edge_axes');
  out(b.node('Pad', [x, i64(b, 'p3', [0, 0, 7, 2, 0, 0, 1, -3])], { mode: 'wrap' }), 'i8_wrap_crop');
  out(b.node('Pad', [xu, i64(b, 'p4', [1, 2, 3, 0, 1, 2]), b.const('c4', 'u8', [], [200])], { mode: 'constant' }), 'u8_constant');
  out(b.node('Pad', [xu, i64(b, 'p5', [0, 3, 6, 1, 2, 6])], { mode: 'reflect' }), 'u8_reflect');
  const ints = (n: number, lo: number, hi: number, seed: number) => randomTensor([n], seed, 0, 1).toNumbers().map((v) => lo + Math.floor(v * (hi - lo + 1)));
  const inputs = [Tensor.from('i8', [1, 3, 5, 6], ints(90, -128, 127, 31)), Tensor.from('u8', [2, 4, 7], ints(56, 0, 255, 32))];
  return { g: b.build(), inputs, names };
}

describe.skipIf(!HAVE_GXX)('hls int8 storage Pad: bit for bit', () => {
  const names = buildIntPads().names;
  for (const ap of [false, true]) {
    describe.skipIf(ap && !HAVE_AP)(ap ? 'Xilinx ap_types (-DEDGEC_AP_TYPES)' : 'plain C++ types', () => {
      let res: CsimResult;
      beforeAll(async () => {
        const z = buildIntPads();
        res = await csimVsRef(z.g, z.inputs, { precision: 'int8' }, ap ? { cxxFlags: ['-DEDGEC_AP_TYPES', `-I${AP_DIR}`] } : {});
      }, 120_000);
      for (const [k, name] of names.entries()) {
        it(name, () => {
          const got = res.outputs[k]!;
          const want = res.want[k]!;
          expect(got.shape).toEqual(want.shape);
          expect(got.dtype).toBe(want.dtype);
          const bad = firstBitDiff(got, want);
          expect(bad < 0 ? 'same' : `[${bad}] ${got.get(bad)} vs ${want.get(bad)}`).toBe('same');
        });
      }
    });
  }
});

describe('hls Pad / LayerNormalization / MatMul: estimate and errors', () => {
  /** Q K^T of [1, 2, 16, 32] heads: K = 32 MACs per output. */
  function qk(): Graph {
    const b = new GraphBuilder('qk', { '': 17 });
    const q = b.input('q', 'f32', [1, 2, 16, 32]);
    const k = b.input('k', 'f32', [1, 2, 32, 16]);
    b.output(b.node('MatMul', [q, k]));
    return b.build();
  }

  it('matmul_rt: multipliers = K / reuse, the DSPs follow, and fit-to-part raises its reuse factor', () => {
    const r1 = compileHls(qk(), { reuseFactor: 1, fit: 'off', testVectors: false });
    const l1 = r1.estimate.layers.find((l) => l.kernel === 'nnet::matmul_rt')!;
    expect(l1).toMatchObject({ multipliers: 32, reuse_factor: 1, macs: 2 * 16 * 16 * 32 });
    const r8 = compileHls(qk(), { reuseFactor: 8, testVectors: false });
    const l8 = r8.estimate.layers.find((l) => l.kernel === 'nnet::matmul_rt')!;
    expect(l8).toMatchObject({ multipliers: 4, reuse_factor: 8 });
    expect(l8.dsp).toBeLessThan(l1.dsp);
    expect(l8.latency_cycles).toBeGreaterThan(l1.latency_cycles);
    expect(String(r8.files.get('firmware/parameters.h'))).toMatch(/struct config\d+ : nnet::matmul_rt_config \{[^}]*reuse_factor = 8;/);
    // 32 fp32 multipliers do not fit an xc7z010 (80 DSP48): the fit search raises the reuse factor
    expect(r1.estimate.layers.find((l) => l.kernel === 'nnet::matmul_rt')!.dsp).toBeGreaterThan(80);
    const fit = compileHls(qk(), { maxMultipliers: 1024, part: 'xc7z010', testVectors: false });
    const lf = fit.estimate.layers.find((l) => l.kernel === 'nnet::matmul_rt')!;
    expect(lf.reuse_factor).toBeGreaterThan(1);
    expect(fit.estimate.fits).toBe(true);
  });

  it('one-line typed errors for what the kernels do not cover', () => {
    const fail = (g: Graph, kind: string, re: RegExp) => {
      let err: unknown;
      try {
        emitHls(g, { testVectors: false });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EdgecError);
      expect((err as EdgecError).kind).toBe(kind);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    };
    // LayerNormalization with a runtime scale that would broadcast
    let b = new GraphBuilder('ln', { '': 17 });
    let x = b.input('x', 'f32', [2, 4]);
    b.output(b.node('LayerNormalization', [x, b.input('sc', 'f32', [1])]));
    fail(b.build(), 'unsupported', /LayerNormalization runtime scale of shape \[1\] must have the normalized shape \[4\]/);
    // MatMul over more than 4 batch dims
    b = new GraphBuilder('mm5', { '': 17 });
    x = b.input('x', 'f32', [2, 1, 2, 1, 2, 2, 3]);
    b.output(b.node('MatMul', [x, b.input('w', 'f32', [1, 1, 1, 1, 1, 3, 2])]));
    fail(b.build(), 'unsupported', /MatMul with 5 batch dims is not supported by the HLS target/);
    // integer MatMul with two runtime operands
    b = new GraphBuilder('mm', { '': 17 });
    x = b.input('x', 'i32', [2, 4]);
    b.output(b.node('MatMul', [x, b.input('w', 'i32', [4, 3])]));
    fail(b.build(), 'unsupported', /MatMul of i32 x i32 runtime operands/);
    // reflect over an axis the pads crop to nothing (a constant pad of it is fine)
    b = new GraphBuilder('pad', { '': 17 });
    x = b.input('x', 'f32', [2, 2]);
    b.output(b.node('Pad', [x, i64(b, 'pp', [0, -2, 0, 1])], { mode: 'reflect' }));
    fail(b.build(), 'invalid', /mode reflect cannot pad axis 1 of size 0/);
    b = new GraphBuilder('pad', { '': 17 });
    x = b.input('x', 'f32', [2, 2]);
    b.output(b.node('Pad', [x, i64(b, 'pp', [0, -2, 0, 1]), b.const('cv', 'f32', [], [3])], { mode: 'constant' }));
    const ok = emitHls(b.build(), { testVectors: false });
    expect(String(ok.files.get('firmware/parameters.h'))).toMatch(/nnet::pad_config \{[^}]*value = 3\.0f;/);
  });
});
