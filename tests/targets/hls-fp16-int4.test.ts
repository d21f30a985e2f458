/**
 * HLS target, --fp16 and --int4: the C simulation (g++) of the generated project against the
 * reference interpreter running the same fp16 / int4 graph (quantize/fp16.ts, quantize/int4.ts).
 * - fp16: `half` storage (the host's _Float16, or the library's portable class), float
 *   accumulation, one rounding to half per layer like the reference: within rtol 1e-2 / atol 1e-2 x
 *   the output's range, and much closer to the fp16 reference than the fp32 reference is.
 * - int4: 4-bit weight ROMs (nnet::int4_t) + block scales, dequantized in the datapath: within
 *   rtol 1e-4 (atol 1e-6 x range) of the reference.
 * One multi-branch graph per precision (one g++ compile each), the estimate (weight bits, BRAM),
 * the portable half's conversions against compiler/ir/dtype.ts, and dscnn / autoencoder through
 * the CLI (`edgec compile --fp16|--int4 --target hls`, `edgec run --target hls|ref`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { f16BitsToNumber, numberToF16Bits } from '../../compiler/ir/dtype.js';
import { optimize } from '../../compiler/pipeline.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { decodeTensorProtoBytes, encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { quantizeModel } from '../../quantize/index.js';
import { emitHls, hlsLibraryPath } from '../../targets/hls/emit.js';
import { runHlsArtifact, writeHlsArtifact } from '../../targets/hls/csim.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';
import { CsimResult, csimVsRef } from './hls-helpers.js';
import { BENCH, HAVE_MODELS, cli, rmTmp, tmpDir } from '../cli/helpers.js';

const HAVE_GXX = spawnSync(process.env['CXX'] || 'g++', ['--version']).status === 0;
const readPb = (file: string): Tensor => decodeTensorProtoBytes(fs.readFileSync(file)).tensor;

/** Largest |value| of a tensor (finite values). */
function range(t: Tensor): number {
  let r = 0;
  for (let i = 0; i < t.size; i++) if (Number.isFinite(t.get(i))) r = Math.max(r, Math.abs(t.get(i)));
  return r;
}

/** Sum of |a - b| over all elements. */
function l1(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += Math.abs(a.get(i) - b.get(i));
  return s;
}

/**
 * Multi-branch float graph: Conv/depthwise/grouped/1-D convolutions with fusable (Relu, Clip) and
 * other activations, pools, a residual add, Gemm (transB 0 and 1), MatMul, Softmax, Concat.
 * Reduction lengths 40, 20, 16, 70 give int4 blocks of 32 with partial last blocks; the RGB and
 * depthwise convs (3 and 1 input channels per group) stay float under --int4.
 */
function buildNet(): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('net', { '': 17 });
  let seed = 1;
  const w = (shape: number[], scale = 0.4) => b.const(`w${seed}`, randomTensor(shape, seed++, -scale, scale));
  const x = b.input('x', 'f32', [2, 3, 10, 10]);
  const x1 = b.input('x1', 'f32', [2, 16, 20]);
  const v = b.input('v', 'f32', [2, 70]);
  const names: string[] = [];
  const out = (id: ValueId, name: string) => {
    b.output(b.node('Identity', [id], {}, { name: `out_${name}`, outputNames: [name] }));
    names.push(name);
  };
  const c1 = b.node('Relu', [b.node('Conv', [x, w([40, 3, 3, 3]), w([40])], { pads: [1, 1, 1, 1] })]);
  out(c1, 'conv_relu');
  const pw = b.node('Clip', [b.node('Conv', [c1, w([16, 40, 1, 1], 0.3), w([16])]), b.const('lo', 'f32', [], [0]), b.const('hi', 'f32', [], [0.75])]);
  out(pw, 'pointwise_clip');
  out(b.node('LeakyRelu', [b.node('Conv', [pw, w([16, 1, 3, 3], 1), w([16])], { group: 16, strides: [2, 2], pads: [1, 1, 1, 1] })], { alpha: 0.1 }), 'depthwise_leaky');
  out(b.node('Sigmoid', [b.node('Conv', [c1, w([8, 20, 3, 3], 0.2)], { group: 2 })]), 'grouped_sigmoid');
  const pooled = b.node('Add', [b.node('MaxPool', [c1], { kernel_shape: [2, 2], strides: [2, 2] }),
    b.node('AveragePool', [c1], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0] })]);
  out(pooled, 'pool_add');
  out(b.node('Tanh', [b.node('Conv', [x1, w([6, 16, 5], 0.3), w([6])], { pads: [2, 2] })]), 'conv1d_tanh');
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [pw])], { axis: 1 });
  out(b.node('Softmax', [b.node('Gemm', [flat, w([10, 16]), w([10])], { transB: 1 })], { axis: 1 }), 'gemm_softmax');
  const mm = b.node('Relu', [b.node('MatMul', [v, w([70, 12], 0.3)])]);
  out(mm, 'matmul_relu');
  out(b.node('Gemm', [v, w([70, 5], 0.3), w([5])]), 'gemm_transb0');
  out(b.node('Concat', [mm, b.node('Gemm', [mm, w([3, 12]), w([3])], { transB: 1 })], { axis: 1 }), 'concat');
  const g = b.build();
  return { g, inputs: [randomTensor([2, 3, 10, 10], 101), randomTensor([2, 16, 20], 102), randomTensor([2, 70], 103)], names };
}

/** The optimized float graph (the CLI's pipeline for --target hls) and its fp16 / int4 graphs. */
function prepared(mode: 'fp16' | 'int4'): { fp32: Graph; q: Graph; inputs: Tensor[]; names: string[] } {
  const n = buildNet();
  optimize(n.g, { target: 'hls' });
  return { fp32: n.g, q: quantizeModel(n.g, { mode }).graph, inputs: n.inputs, names: n.names };
}

const NAMES = buildNet().names;

describe.skipIf(!HAVE_GXX)('hls fp16: C simulation vs the fp16 reference', () => {
  let res: CsimResult;
  let ref32: Tensor[];
  beforeAll(async () => {
    const p = prepared('fp16');
    ref32 = runGraph(p.fp32, p.inputs);
    res = await csimVsRef(p.q, p.inputs);
  }, 120_000);

  for (const [k, name] of NAMES.entries()) {
    it(`${name} (rtol 1e-2, atol 1e-2 x range)`, () => {
      const got = res.outputs[k]!;
      const want = res.want[k]!;
      expect(got.shape).toEqual(want.shape);
      expect(compareTensors(got, want, { rtol: 1e-2, atol: 1e-2 * range(want) })).toBeNull();
    });
  }

  it('rounds to half like the reference: far closer to the fp16 reference than fp32 math is', () => {
    let csim = 0;
    let f32 = 0;
    res.want.forEach((w, k) => {
      csim += l1(res.outputs[k]!, w);
      f32 += l1(ref32[k]!, w);
    });
    expect(f32).toBeGreaterThan(0);
    expect(csim).toBeLessThan(0.05 * f32);
  });

  it('stores weights and activations as half, accumulates in float, keeps the f32 interface', () => {
    const f = res.art.files;
    expect(res.art.manifest.precision).toBe('fp16');
    const defs = String(f.get('firmware/defines.h'));
    expect(defs).toMatch(/typedef half layer\d+_t;/);
    expect(defs).toMatch(/typedef float input0_t;/);
    expect(defs).toMatch(/typedef float result0_t;/);
    const conv = [...f].find(([p, c]) => p.startsWith('firmware/weights/w') && /static const half w\d+\[/.test(String(c)));
    expect(conv).toBeDefined();
    expect(String(conv![1])).toMatch(/half\(-?\d/);
    const params = String(f.get('firmware/parameters.h'));
    expect(params).toMatch(/typedef half weight_t;/);
    expect(params).toMatch(/typedef float accum_t;/);
    expect(params).not.toMatch(/typedef float weight_t;/);
    // Relu and Clip fuse into their layer (they commute with rounding); LeakyRelu, Sigmoid stay layers
    const top = String(f.get('firmware/myproject.cpp'));
    expect(top).toMatch(/\("Conv"\) \+ node: "[^"]*" \("Relu"\)/);
    expect(top).toMatch(/\("Conv"\) \+ node: "[^"]*" \("Clip"\)/);
    expect(top).toMatch(/-- node: "[^"]*" \("LeakyRelu"\)/);
    expect(String(f.get('build_prj.tcl'))).toMatch(/-DEDGEC_HLS_HALF/);
  });

  it('the portable half class (EDGEC_SOFT_HALF) gives the same bits as the compiler\'s half', async () => {
    const dir = writeHlsArtifact(res.art.files, res.art.manifest);
    try {
      const p = prepared('fp16');
      const soft = await runHlsArtifact(dir, p.inputs, { cxxFlags: ['-DEDGEC_SOFT_HALF'] });
      soft.forEach((t, k) => {
        const a = t.data as Float32Array;
        const b2 = res.outputs[k]!.data as Float32Array;
        expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b2.buffer, b2.byteOffset, b2.byteLength)), NAMES[k]).toBe(true);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!HAVE_GXX)('hls int4: C simulation vs the int4 reference', () => {
  let res: CsimResult;
  let q: Graph;
  beforeAll(async () => {
    const p = prepared('int4');
    q = p.q;
    res = await csimVsRef(p.q, p.inputs);
  }, 120_000);

  for (const [k, name] of NAMES.entries()) {
    it(`${name} (rtol 1e-4, atol 1e-6 x range)`, () => {
      const got = res.outputs[k]!;
      const want = res.want[k]!;
      expect(got.shape).toEqual(want.shape);
      expect(compareTensors(got, want, { rtol: 1e-4, atol: 1e-6 * range(want) })).toBeNull();
    });
  }

  it('keeps 4-bit weights with block scales and dequantizes them in the kernels', () => {
    const f = res.art.files;
    expect(res.art.manifest.precision).toBe('int4');
    const top = String(f.get('firmware/myproject.cpp'));
    const params = String(f.get('firmware/parameters.h'));
    const nDq = q.orderedNodes().filter((n) => n.op === 'DequantizeLinear').length;
    // every Gemm / MatMul weight and the convs with >= 16 input channels per group (pointwise,
    // grouped, 1-D); the RGB conv (3) and the depthwise conv (1) stay float
    expect(nDq).toBe(7);
    expect((top.match(/nnet::conv_nd_int4</g) ?? []).length).toBe(3);
    expect((top.match(/nnet::dense_int4</g) ?? []).length).toBe(4);
    expect(top).not.toMatch(/nnet::dense</);
    expect((params.match(/typedef nnet::int4_t weight_t;/g) ?? []).length).toBe(7);
    expect(params).toMatch(/static const unsigned n_blocks = 2;/); // 40 channels: a full and a partial block
    expect(params).toMatch(/static const unsigned n_blocks = 3;/); // K = 70
    let int4Files = 0;
    for (const [p, c] of f) {
      if (!/^firmware\/weights\/w\d+\.h$/.test(p)) continue;
      const body = String(c);
      if (!/static const nnet::int4_t w\d+\[/.test(body)) continue;
      int4Files++;
      const vals = body.slice(body.indexOf('{') + 1, body.lastIndexOf('}')).split(',').map((s) => Number(s.trim()));
      expect(vals.every((x) => Number.isInteger(x) && x >= -8 && x <= 7), p).toBe(true);
    }
    expect(int4Files).toBe(7);
    // int4 graphs: every activation fuses into its layer (f32 datapath)
    expect(top).not.toMatch(/nnet::activation</);
  });
});

describe('hls fp16/int4: estimate and options', () => {
  /** Dense 256 -> 256 -> 64 (weights large enough for BRAM). */
  function dense(): Graph {
    const b = new GraphBuilder('mlp', { '': 17 });
    const x = b.input('x', 'f32', [1, 256]);
    const h = b.node('Relu', [b.node('Gemm', [x, b.const('w1', randomTensor([256, 256], 1, -0.1, 0.1)), b.const('b1', randomTensor([256], 2))], { transB: 1 })]);
    b.output(b.node('Gemm', [h, b.const('w2', randomTensor([256, 64], 3, -0.1, 0.1)), b.const('b2', randomTensor([64], 4))]));
    const g = b.build();
    optimize(g, { target: 'hls' });
    return g;
  }

  it('fp16 halves and int4 cuts the weight storage; BRAM follows', () => {
    const g = dense();
    const a32 = emitHls(g, { testVectors: false, fit: 'off' });
    const a16 = emitHls(quantizeModel(g, { mode: 'fp16' }).graph, { testVectors: false, fit: 'off' });
    const a4 = emitHls(quantizeModel(g, { mode: 'int4' }).graph, { testVectors: false, fit: 'off' });
    expect([a32.manifest.precision, a16.manifest.precision, a4.manifest.precision]).toEqual(['fp32', 'fp16', 'int4']);
    const w32 = a32.manifest.weights_bytes;
    const nW = 256 * 256 + 256 * 64;
    expect(w32).toBe((nW + 256 + 64) * 4);
    expect(a16.manifest.weights_bytes).toBe((nW + 256 + 64) * 2);
    // int4: 4 bits per weight + a 32-bit scale per block of 32 weights + f32 bias
    expect(a4.manifest.weights_bytes).toBe(nW / 2 + (nW / 32) * 4 + (256 + 64) * 4);
    expect(a16.estimate.total.bram18k).toBeLessThan(a32.estimate.total.bram18k);
    expect(a4.estimate.total.bram18k).toBeLessThanOrEqual(a16.estimate.total.bram18k);
    // activation buffers are half too
    expect(a16.manifest['arena_bytes']).toBeLessThan(a32.manifest['arena_bytes'] as number);
    // int4 dense: one dequantizing fmul (3 DSP) per parallel multiplier on top of the float MAC (5)
    const l32 = a32.estimate.layers[0]!;
    const l4 = a4.estimate.layers[0]!;
    expect(l4.multipliers).toBe(l32.multipliers);
    expect(l4.dsp).toBe(l32.dsp + 3 * l32.multipliers);
    expect(String(a4.files.get('estimate.json'))).toMatch(/int4/);
  });

  it('int4 conv: one dequantizer per layer fills the filter buffer (latency counts the fill)', () => {
    const b = new GraphBuilder('c', { '': 17 });
    const x = b.input('x', 'f32', [1, 64, 8, 8]);
    b.output(b.node('Conv', [x, b.const('w', randomTensor([32, 64, 3, 3], 5, -0.1, 0.1)), b.const('b', randomTensor([32], 6))], { pads: [1, 1, 1, 1] }));
    const g = b.build();
    optimize(g, { target: 'hls' });
    const l32 = emitHls(g, { testVectors: false, fit: 'off' }).estimate.layers[0]!;
    const l4 = emitHls(quantizeModel(g, { mode: 'int4' }).graph, { testVectors: false, fit: 'off' }).estimate.layers[0]!;
    expect(l4.kernel).toBe('nnet::conv_nd_int4');
    expect(l4.dsp).toBe(l32.dsp + 3);
    expect(l4.latency_cycles).toBe(l32.latency_cycles + 32 * 64 * 9);
    expect(l4.bram18k).toBeLessThan(l32.bram18k);
  });

  it('precision options: fp16 needs the float16 graph; unknown precisions are refused', () => {
    const g = dense();
    expect(() => emitHls(g, { precision: 'fp16', testVectors: false })).toThrow(/float16 graph/);
    expect(() => emitHls(g, { precision: 'int2', testVectors: false })).toThrow(/precision int2 is not supported by the hls target \(fp32, fp16, int8, int4\)/);
    // an int4 graph compiled as fp32 folds the weights to float (the previous behaviour)
    const a = emitHls(quantizeModel(g, { mode: 'int4' }).graph, { precision: 'fp32', testVectors: false });
    expect(String(a.files.get('firmware/myproject.cpp'))).not.toMatch(/int4/);
  });
});

describe.skipIf(!HAVE_GXX)('the portable half (nnet_common.h, EDGEC_SOFT_HALF) vs compiler/ir/dtype.ts', () => {
  it('float -> half (round to nearest even, subnormals, overflow) and every half -> float', () => {
    const dir = tmpDir('edgec-half-');
    try {
      const src = path.join(dir, 'half.cpp');
      fs.writeFileSync(src, `#define EDGEC_SOFT_HALF
#include "nnet_common.h"
#include <cstdio>
#include <cstring>
int main() {
  unsigned x;
  while (std::scanf("%x", &x) == 1) {
    float f;
    std::memcpy(&f, &x, 4);
    const half h(f);
    uint16_t b;
    std::memcpy(&b, &h, 2);
    std::printf("%x\\n", b);
  }
  for (unsigned b = 0; b < 65536; b++) {
    const uint16_t hb = (uint16_t)b;
    half h;
    std::memcpy(&h, &hb, 2);
    const float f = h;
    unsigned y;
    std::memcpy(&y, &f, 4);
    std::printf("%x\\n", y);
  }
  return sizeof(half) == 2 ? 0 : 1;
}
`);
      const bin = path.join(dir, 'half');
      const cc = spawnSync(process.env['CXX'] || 'g++', ['-O2', '-std=c++14', '-I', hlsLibraryPath(), '-o', bin, src], { encoding: 'utf8' });
      expect(cc.stderr).toBe('');
      // bit patterns: every exponent around the half range with random and tie mantissas, specials
      const pats: number[] = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x477fe000, 0x477fefff, 0x477ff000, 0x33800000, 0x33000000, 0x33400000, 0x33000001];
      let s = 12345;
      const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8);
      for (let e = 90; e <= 150; e++) {
        for (const sign of [0, 0x80000000]) {
          for (let k = 0; k < 300; k++) pats.push((sign | (e << 23) | (rnd() & 0x7fffff)) >>> 0);
          for (let q = 0; q < 8; q++) pats.push((sign | (e << 23) | (q << 13) | 0x1000) >>> 0); // ties
          for (const m of [0, 0x7fffff, 0x400000, 0x3ff000, 0x7fe000, 0x7ff000]) pats.push((sign | (e << 23) | m) >>> 0);
        }
      }
      const run = spawnSync(bin, [], { input: pats.map((p) => p.toString(16)).join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 26 });
      expect(run.status).toBe(0);
      const lines = run.stdout.trim().split('\n').map((l) => parseInt(l, 16));
      expect(lines.length).toBe(pats.length + 65536);
      const f32 = new Float32Array(1);
      const u32 = new Uint32Array(f32.buffer);
      let bad: string[] = [];
      pats.forEach((p, k) => {
        u32[0] = p;
        const want = numberToF16Bits(f32[0]!);
        const got = lines[k]!;
        const nan = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
        if (nan(want) ? !nan(got) : got !== want) bad.push(`${p.toString(16)}: ${got.toString(16)} != ${want.toString(16)}`);
      });
      expect(bad.slice(0, 5)).toEqual([]);
      bad = [];
      for (let h = 0; h < 65536; h++) {
        u32[0] = lines[pats.length + h]!;
        const want = f16BitsToNumber(h);
        const got = f32[0]!;
        if (Number.isNaN(want) ? !Number.isNaN(got) : !Object.is(got, want)) bad.push(`${h.toString(16)}: ${got} != ${want}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    } finally {
      rmTmp(dir);
    }
  }, 60_000);
});

describe.skipIf(!HAVE_GXX || !HAVE_MODELS)('hls fp16/int4 on shared models through the CLI', () => {
  const rows: string[] = [];
  afterAll(() => {
    if (rows.length) console.log(`\nhls fp16/int4 (xc7z020 estimate, auto reuse):\n| model | precision | max abs err vs ref | output range | weight bytes | BRAM18K | DSP | LUT |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
  });
  for (const [model, precision, shape] of [['dscnn', 'fp16', [1, 1, 49, 10]], ['dscnn', 'int4', [1, 1, 49, 10]], ['autoencoder', 'int4', [1, 640]]] as const) {
    it(`${model} --${precision}: compile --target hls, run --target hls == run --target ref`, async () => {
      const dir = tmpDir('edgec-hls-lp-');
      try {
        const art = path.join(dir, 'art');
        const r = await cli('compile', path.join(BENCH, `${model}.onnx`), `--${precision}`, '--target', 'hls', '-o', art);
        expect(r.code, r.err).toBe(0);
        const man = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as Record<string, unknown>;
        expect(man['precision']).toBe(precision);
        const xin = path.join(dir, 'x.pb');
        fs.writeFileSync(xin, encodeTensorProtoBytes(randomTensor([...shape], 7), 'x'));
        for (const t of ['hls', 'ref']) {
          const o = await cli('run', art, '--target', t, '--inputs', xin, '--out', path.join(dir, `out-${t}`));
          expect(o.code, o.err).toBe(0);
        }
        const got = readPb(path.join(dir, 'out-hls', 'output_0.pb'));
        const want = readPb(path.join(dir, 'out-ref', 'output_0.pb'));
        const tol = precision === 'fp16' ? { rtol: 1e-2, atol: 1e-2 * range(want) } : { rtol: 1e-4, atol: 1e-6 * range(want) };
        expect(compareTensors(got, want, tol)).toBeNull();
        let maxErr = 0;
        for (let i = 0; i < want.size; i++) maxErr = Math.max(maxErr, Math.abs(got.get(i) - want.get(i)));
        const est = man['estimate'] as { bram18k: number; dsp: number; lut: number };
        rows.push(`| ${model} | ${precision} | ${maxErr.toExponential(1)} | ${range(want).toFixed(3)} | ${man['weights_bytes']} | ${est.bram18k} | ${est.dsp} | ${est.lut} |`);
      } finally {
        rmTmp(dir);
      }
    }, 120_000);
  }
});
