/**
 * int8 WebGPU kernels (targets/webgpu/ops/qint.ts, kernels/qint.ts, kernels/qmove.ts) against the
 * reference interpreter running the same integer graph: outputs must be identical bit for bit.
 * Graphs: f32 input -> QuantizeLinear -> integer op(s) -> DequantizeLinear (scale 1, zero point 0,
 * so the f32 output is the integer result itself) -> f32 output; plus whole quantized models.
 * Runs on the `webgpu` package (SwiftShader in CI); skips (logged) only when no adapter exists
 * and CI is not set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel, lowerQdq } from '../../quantize/index.js';
import { loadForInputs, readPb, sliceBatch, uniform } from '../models/harness.js';
import { emitWebgpu, compileWebgpu } from '../../targets/webgpu/emit.js';
import { lowerGraph } from '../../targets/webgpu/lower.js';
import { loadWebgpuArtifact, runWebgpuModel, writeTempArtifact } from '../../targets/webgpu/runner.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { quantizeMultiplier, rqFixed } from '../../compiler/ops/qint.js';
import { roundHalfEven as roundHalfEven_ } from '../../compiler/ir/dtype.js';
import { WgslFn } from '../../targets/webgpu/wgsl/shader.js';
import { RQ_LIB, f32Parts } from '../../targets/webgpu/wgsl/qshader.js';
import { QUANT_F32 } from '../../targets/webgpu/kernels/qint.js';
import { EdgecError } from '../../compiler/errors.js';
import { gpuAvailable } from './webgpu-helpers.js';
import { ConvCase, XS, convGraph, expectSameBits, finish, input, quantIn, randInts, rng, spread } from './int8-graphs.js';
import { cli } from '../cli/helpers.js';
import { encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { MODELS_DIR } from '../models/harness.js';
import { qbinaryCases, qconvTieCases, qdqCases, qgemmGraph, qgemmWrapCase, qmoveCases, qpoolCases, requantizerTieCases, sameAs } from './int8-cases.js';
import { tfliteArithmeticCases } from './int8-tflite-cases.js';

const gpu = await gpuAvailable('webgpu-int8');

/** Runs an artifact's model.mjs on the shared device. */
async function runArtifact(files: Map<string, Uint8Array | string>, inputs: Tensor[]): Promise<Tensor[]> {
  const dir = writeTempArtifact(files);
  try {
    const model = await loadWebgpuArtifact(dir);
    try {
      return await runWebgpuModel(model, inputs);
    } finally {
      model.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles with the webgpu pipeline, runs both and requires identical bits; returns the reference outputs. */
const same = sameAs((g, inputs) => runArtifact(compileWebgpu(g).files, inputs));

const convCases: ConvCase[] = [
  { name: '3x3 pad 1, C 5 -> 7', x: [1, 5, 9, 11], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'K = 27 (first layer), stride 2, i8 in/out', x: [1, 3, 13, 12], w: [10, 3, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'stride 2 + dilation 2 + asymmetric pads', x: [1, 4, 13, 10], w: [6, 4, 3, 2], attrs: { strides: [2, 1], dilations: [2, 2], pads: [1, 0, 2, 1] } },
  { name: 'pointwise 1x1, odd channels, 7x5 planes', x: [1, 17, 7, 5], w: [9, 17, 1, 1], xdt: 'i8' },
  { name: 'pointwise 1x1 on 1x3 planes (words span channels), clamp', x: [1, 5, 1, 3], w: [7, 5, 1, 1], ydt: 'i8', clamp: [-100, 90] },
  { name: 'pointwise 1x1 grouped (g = 3)', x: [1, 6, 10, 7], w: [9, 2, 1, 1], attrs: { group: 3 } },
  { name: 'depthwise 3x3 s1 p1, i8', x: [1, 6, 25, 5], w: [6, 1, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { group: 6, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 s2 p1 on odd planes, u8 clamp', x: [1, 9, 15, 17], w: [9, 1, 3, 3], clamp: [7, 201], attrs: { group: 9, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'depthwise 4x3 strides (4, 2), dilation (3, 1)', x: [1, 3, 23, 14], w: [3, 1, 4, 3], attrs: { group: 3, strides: [4, 2], dilations: [3, 1], pads: [2, 1, 1, 0] } },
  { name: 'depthwise 5x5 dilation 2, no bias', x: [1, 5, 14, 14], w: [5, 1, 5, 5], noBias: true, attrs: { group: 5, dilations: [2, 2], pads: [4, 4, 4, 4] } },
  { name: 'grouped (g = 3) 3x3', x: [1, 6, 8, 9], w: [9, 2, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] } },
  { name: 'u8 weights, per-channel zero points (int16 weights), float rq', x: [1, 5, 8, 7], w: [6, 5, 3, 3], wdt: 'u8', wzp: 'per-channel', float: true, attrs: { pads: [0, 1, 1, 0] } },
  { name: 'i8 weights, per-channel zp, fixed rq', x: [1, 7, 6, 6], w: [5, 7, 2, 2], wzp: 'per-channel', xdt: 'i8' },
  { name: 'float rq, i8 in/out, 3x3 C 9 -> 10', x: [1, 9, 13, 11], w: [10, 9, 3, 3], xdt: 'i8', ydt: 'i8', float: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: 'batch 2', x: [2, 3, 6, 7], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: '1-D conv', x: [1, 6, 29], w: [5, 6, 3], attrs: { pads: [1, 1], strides: [2] } },
  // direct kernel with four outputs of one row per thread (OW % 4 == 0)
  { name: 'depthwise 3x3 s1 p1 on 12x16 (row of four per thread)', x: [1, 5, 12, 16], w: [5, 1, 3, 3], attrs: { group: 5, pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 s2 p1 on 15x16, i8 clamp (row of four, stride 2)', x: [1, 4, 15, 16], w: [4, 1, 3, 3], xdt: 'i8', ydt: 'i8', clamp: [-90, 100], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'grouped (g = 3) 3x3 on 8x8, float rq (row of four)', x: [1, 6, 8, 8], w: [9, 2, 3, 3], float: true, attrs: { group: 3, pads: [1, 1, 1, 1] } },
  // tiled implicit GEMM: packed stores (OH*OW % 4 == 0), several row and column tiles, batch
  { name: 'tiled packed: 3x3 on 16x16, C 8 -> 40, batch 2, clamp', x: [2, 8, 16, 16], w: [40, 8, 3, 3], attrs: { pads: [1, 1, 1, 1] }, clamp: [0, 255] },
  { name: 'tiled packed: pointwise 1x1 on 8x6, C 33 -> 12, i8, float rq', x: [1, 33, 8, 6], w: [12, 33, 1, 1], xdt: 'i8', ydt: 'i8', float: true },
  { name: 'tiled packed: grouped (g = 2) 3x3 s2 on 16x14, per-channel zp', x: [1, 6, 16, 14], w: [10, 3, 3, 3], wzp: 'per-channel', attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] } },
];

/**
 * Kernel a conv case must take (tiled when M / group >= 4, else direct) and the bytes of its
 * output buffer: packed 4 per word when a thread's four outputs fill one word (tiled:
 * OH*OW % 4 == 0, direct: OW % 4 == 0), otherwise stored wide (one word per element).
 */
function convLowering(cs: ConvCase, g: Graph): { kernel: string; bytes: number } {
  const M = cs.w[0]!;
  const group = (cs.attrs?.['group'] as number | undefined) ?? 1;
  const conv = g.orderedNodes().find((n) => n.op === 'QConv')!;
  const ys = g.typeOf(conv.outputs[0]!).shape as number[];
  const n = ys.reduce((a, b) => a * b, 1);
  const tiled = M / group >= 4;
  const aligned = tiled ? ys.slice(2).reduce((a, b) => a * b, 1) % 4 === 0 : ys[ys.length - 1]! % 4 === 0;
  return { kernel: tiled ? 'qconv_tiled_i8' : 'qconv_i8', bytes: aligned ? Math.ceil(n / 4) * 4 : n * 4 };
}

describe.skipIf(!gpu)('webgpu int8: QConv == reference, bit for bit', () => {
  convCases.forEach((cs, i) => {
    it(cs.name, async () => {
      const { g, x } = convGraph(cs, 100 + i * 10);
      const low = lowerGraph(g);
      const exp = convLowering(cs, g);
      expect(low.steps.map((st) => st.kernel)).toEqual(['quantize_f32_i8', exp.kernel, 'dequantize_i8_f32']);
      const conv = g.orderedNodes().find((n) => n.op === 'QConv')!;
      expect(low.buffers.get(low.rootOf(conv.outputs[0]!))!.bytes).toBe(exp.bytes);
      const [want] = await same(g, [x]);
      expect(spread(want!)).toBeGreaterThan(8);
    });
  });
  it('y_dtype i32 (raw accumulator) then Requantize from int32: tiled, direct, direct row of four', async () => {
    for (const name of ['K = 27 (first layer), stride 2, i8 in/out', 'grouped (g = 3) 3x3', 'depthwise 3x3 s1 p1 on 12x16 (row of four per thread)']) {
      const { g, x } = convGraph(convCases.find((cs) => cs.name === name)!, 7, true, 0);
      await same(g, [x]);
    }
  });
  qconvTieCases(same);
});

// ---------------------------------------------------------------------------------------------
// The WGSL arithmetic helpers against the specification's own functions, on many values
// ---------------------------------------------------------------------------------------------

/** Minimal GPU types used by runWgsl (the `webgpu` package's objects). */
interface Dev {
  createBuffer(d: { size: number; usage: number }): { destroy(): void; mapAsync(m: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void };
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: unknown): unknown;
  createCommandEncoder(): {
    beginComputePass(): { setPipeline(p: unknown): void; setBindGroup(i: number, g: unknown): void; dispatchWorkgroups(x: number): void; end(): void };
    copyBufferToBuffer(a: unknown, ao: number, b: unknown, bo: number, n: number): void;
    finish(): unknown;
  };
  queue: { writeBuffer(b: unknown, o: number, d: ArrayBufferView): void; submit(c: unknown[]): void };
  pushErrorScope(f: string): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

/**
 * Runs `fn f(i: u32)` style WGSL: `body` computes output word i from `inp` (array<u32>, `stride`
 * words per case) for `cases` cases; returns the output words.
 */
async function runWgsl(fns: readonly WgslFn[], body: string, inp: Uint32Array, cases: number): Promise<Int32Array> {
  const { nodeGpuDevice } = await import('../../targets/webgpu/runner.js');
  const dev = (await nodeGpuDevice()) as Dev;
  const code = [
    '@group(0) @binding(0) var<storage, read> inp: array<u32>;',
    '@group(0) @binding(1) var<storage, read_write> outp: array<i32>;',
    ...fns.map((f) => f.code),
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let i = gid.x;',
    `  if (i >= ${cases}u) { return; }`,
    `  ${body}`,
    '}',
  ].join('\n');
  const G = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  const U = G.GPUBufferUsage;
  dev.pushErrorScope('validation');
  const ib = dev.createBuffer({ size: inp.byteLength, usage: U['STORAGE']! | U['COPY_DST']! });
  const ob = dev.createBuffer({ size: cases * 4, usage: U['STORAGE']! | U['COPY_SRC']! });
  const rb = dev.createBuffer({ size: cases * 4, usage: U['MAP_READ']! | U['COPY_DST']! });
  dev.queue.writeBuffer(ib, 0, inp);
  const pipe = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
  const bg = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: ib } }, { binding: 1, resource: { buffer: ob } }] });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(Math.ceil(cases / 64));
  pass.end();
  enc.copyBufferToBuffer(ob, 0, rb, 0, cases * 4);
  dev.queue.submit([enc.finish()]);
  const err = await dev.popErrorScope();
  if (err) throw new Error(err.message);
  await rb.mapAsync(G.GPUMapMode['READ']!);
  const out = new Int32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  for (const b of [ib, ob, rb]) b.destroy();
  return out;
}

const sat = (v: number): number => Math.min(65536, Math.max(-65536, v));
const f32Bits = (v: number): number => new Uint32Array(new Float32Array([v]).buffer)[0]!;
const bitsF32 = (b: number): number => new Float32Array(new Uint32Array([b]).buffer)[0]!;

/** Exact roundHalfEven(acc * s) of the mathematical product (BigInt), for finding double-rounding cases. */
function exactRound(acc: number, mant: number, ex: number): bigint {
  // acc * mant * 2^ex, ex < 0
  const p = BigInt(acc) * BigInt(mant);
  const k = BigInt(-ex);
  const neg = p < 0n;
  const a = neg ? -p : p;
  let q = a >> k;
  const r = a - (q << k);
  const h = 1n << (k - 1n);
  if (r > h || (r === h && (q & 1n) === 1n)) q += 1n;
  return neg ? -q : q;
}

describe.skipIf(!gpu)('webgpu int8: WGSL requantization arithmetic == the qint.ts specification', () => {
  it('rq_fixed: floor((acc * M + 2^(n-1)) / 2^n) in exact 64-bit, every shift 0..62', async () => {
    const r = rng(1);
    const cases: [number, number, number][] = [];
    const edges = [-2147483648, 2147483647, -1, 0, 1, -2, 2, 12345, -12345, 2 ** 30, -(2 ** 30)];
    for (let n = 0; n <= 62; n++) {
      for (const acc of edges) cases.push([acc, 2 ** 31 - 1, n], [acc, 2 ** 30, n], [acc, 1, n]);
      for (let k = 0; k < 60; k++) {
        const acc = Math.floor((r() - 0.5) * 2 ** (1 + Math.floor(r() * 32)));
        cases.push([Math.max(-2147483648, Math.min(2147483647, acc)), Math.floor(r() * 2 ** 31), n]);
      }
    }
    // ties: acc * M = (2k + 1) * 2^(n-1)
    for (let n = 1; n <= 31; n++) for (const k of [0, 1, 2, -1, -2, -3, 5]) cases.push([(2 * k + 1), 2 ** (n - 1), n]);
    const inp = new Uint32Array(cases.flatMap(([a, m, n]) => [a >>> 0, m, n]));
    const got = await runWgsl(RQ_LIB, 'outp[i] = rq_fixed(bitcast<i32>(inp[3u * i]), bitcast<i32>(inp[3u * i + 1u]), inp[3u * i + 2u]);', inp, cases.length);
    cases.forEach(([a, m, n], i) => {
      if (got[i] !== sat(rqFixed(a, m, n))) expect(`rq_fixed(${a}, ${m}, ${n}) = ${got[i]}`).toBe(`rq_fixed(${a}, ${m}, ${n}) = ${sat(rqFixed(a, m, n))}`);
    });
  });

  it('QAdd sum: floor((Ma*da + Mb*db + 2^(n-1)) / 2^n) with signed multipliers', async () => {
    const r = rng(2);
    const cases: number[][] = [];
    for (let k = 0; k < 4000; k++) {
      const n = Math.floor(r() * 63);
      const ma = Math.floor((r() * 2 - 1) * (2 ** 31 - 1));
      const mb = Math.floor((r() * 2 - 1) * (2 ** 31 - 1));
      cases.push([ma, Math.floor(r() * 767) - 383, mb, Math.floor(r() * 767) - 383, n]);
    }
    for (let n = 1; n <= 20; n++) cases.push([2 ** (n - 1), 1, 2 ** (n - 1), 2, n], [2 ** (n - 1), -1, 2 ** (n - 1), -2, n], [-(2 ** (n - 1)), 3, 0, 0, n]);
    const inp = new Uint32Array(cases.flatMap((c) => c.map((v) => v >>> 0)));
    const got = await runWgsl(RQ_LIB, [
      'let b = 5u * i;',
      'let s = add_u64(smul_64(bitcast<i32>(inp[b]), bitcast<i32>(inp[b + 1u])), smul_64(bitcast<i32>(inp[b + 2u]), bitcast<i32>(inp[b + 3u])));',
      'outp[i] = rq_wide(s, inp[b + 4u]);',
    ].join('\n  '), inp, cases.length);
    cases.forEach(([ma, da, mb, db, n], i) => {
      const s = BigInt(ma!) * BigInt(da!) + BigInt(mb!) * BigInt(db!);
      const want = sat(n === 0 ? Number(s) : Number((s + (1n << BigInt(n! - 1))) >> BigInt(n!)));
      if (got[i] !== want) expect(`case ${cases[i]!.join(',')} = ${got[i]}`).toBe(`case ${cases[i]!.join(',')} = ${want}`);
    });
  });

  it('rq_float: roundHalfEven(f64(acc) * scale) for f32 scales, incl. ties and float64 double rounding', async () => {
    const r = rng(3);
    const cases: [number, number][] = [];
    for (let k = 0; k < 4000; k++) {
      const acc = Math.max(-2147483648, Math.min(2147483647, Math.floor((r() - 0.5) * 2 ** (1 + Math.floor(r() * 32)))));
      const s = Math.fround(r() * 2 ** (Math.floor(r() * 60) - 50));
      cases.push([acc, s]);
    }
    // exact ties acc * s = k + 0.5, and scale 0 / subnormal / large
    for (const acc of [1, 3, 5, -1, -3, -5, 7, 2 ** 31 - 1, -(2 ** 31)]) cases.push([acc, 0.5], [acc, 0.25], [acc, 1.5], [acc, 0], [acc, bitsF32(1)], [acc, 2 ** 20]);
    // float64 double rounding: acc * mant = P with P mod 2^K within 2 of the tie 2^(K-1), so the
    // f64 product (53 bits, |P| >= 2^53) can land on the tie: acc = (2^(K-1) + d) / mant mod 2^K
    const K = 40n;
    const MOD = 1n << K;
    let found = 0;
    for (let t = 0; found < 40 && t < 200_000; t++) {
      const mant = 0x800001 + 2 * Math.floor(r() * 0x3fffff);
      const m = BigInt(mant);
      let inv = m;
      for (let k = 0; k < 6; k++) inv = (inv * (2n - m * inv)) % MOD;
      inv = ((inv % MOD) + MOD) % MOD;
      const res = (((1n << (K - 1n)) + BigInt([-2, -1, 1, 2][t % 4]!)) * inv) % MOD;
      const acc = res < 2n ** 31n ? Number(res) : MOD - res <= 2n ** 31n ? -Number(MOD - res) : null;
      if (acc === null) continue;
      const s = mant * 2 ** -40;
      cases.push([acc, s]);
      if (BigInt(roundHalfEven_(acc * s)) !== exactRound(acc, mant, -40)) found++;
    }
    expect(found).toBeGreaterThan(10);
    const inp = new Uint32Array(cases.flatMap(([a, s]) => {
      const { mant, ex } = f32Parts(s);
      return [a >>> 0, mant, ex >>> 0];
    }));
    const got = await runWgsl(RQ_LIB, 'outp[i] = rq_float(bitcast<i32>(inp[3u * i]), inp[3u * i + 1u], bitcast<i32>(inp[3u * i + 2u]));', inp, cases.length);
    cases.forEach(([a, s], i) => {
      const want = sat(roundHalfEven_(a * s));
      if (got[i] !== want) expect(`rq_float(${a}, ${s}) = ${got[i]}`).toBe(`rq_float(${a}, ${s}) = ${want}`);
    });
  });

  it('quant_f32: QuantizeLinear rounding (f32 quotient, ties to even, saturation, NaN, infinities, subnormals)', async () => {
    const r = rng(4);
    const cases: [number, number, number][] = [];
    const specials = [NaN, Infinity, -Infinity, 0, -0, bitsF32(1), -bitsF32(3), 3.4e38, -3.4e38, 1e-30];
    for (const x of specials) for (const s of [...specials, 0.5, 0.01, 3]) cases.push([x, s, 7]);
    for (let k = 0; k < 6000; k++) {
      const s = Math.fround(r() * 2 ** (Math.floor(r() * 40) - 30));
      const x = k % 3 === 0
        ? Math.fround((Math.floor(r() * 600) - 300 + 0.5) * s) // ties and near-ties
        : Math.fround((r() - 0.5) * 2 ** (Math.floor(r() * 24) - 8) * s);
      cases.push([x, s, Math.floor(r() * 384) - 128]);
    }
    // quotients that round up to a .5 tie in f32 (double rounding) and just below / above ties
    for (let k = 0; k < 400; k++) {
      const s = Math.fround(1 + r());
      const t = Math.floor(r() * 200) - 100 + 0.5;
      for (const d of [-3, -2, -1, 1, 2, 3]) {
        const x = Math.fround(t * s);
        const xb = f32Bits(x) + d;
        cases.push([bitsF32(xb), s, 0]);
      }
    }
    const inp = new Uint32Array(cases.flatMap(([x, s, z]) => [f32Bits(x), f32Bits(s), z >>> 0]));
    for (const [lo, hi] of [[-128, 127], [0, 255]] as const) {
      const got = await runWgsl([QUANT_F32], `outp[i] = quant_f32(inp[3u * i], inp[3u * i + 1u], bitcast<i32>(inp[3u * i + 2u]), ${lo}, ${hi});`, inp, cases.length);
      cases.forEach(([x, s, z], i) => {
        let q = roundHalfEven_(Math.fround(Math.fround(x) / s)) + z;
        q = q < lo ? lo : q > hi ? hi : Number.isNaN(q) ? 0 : q;
        if (got[i] !== q) expect(`quant(${x}, ${s}, ${z}) = ${got[i]}`).toBe(`quant(${x}, ${s}, ${z}) = ${q}`);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Per-op graphs
// ---------------------------------------------------------------------------------------------

describe.skipIf(!gpu)('webgpu int8: QGemm', () => {
  // R < 8: direct kernel; R >= 8: tiled (packed when N % 4 == 0)
  for (const [transB, xdt, R, K, N] of [[0, 'u8', 3, 37, 11], [1, 'i8', 1, 64, 10], [1, 'u8', 5, 8, 4], [0, 'i8', 2, 129, 33], [1, 'i8', 3, 20, 12], [0, 'u8', 16, 37, 11], [1, 'i8', 40, 70, 36]] as const) {
    it(`trans_b ${transB}, ${xdt}, [${R}x${K}] x [${K}x${N}]`, async () => {
      const { g, y, x } = qgemmGraph(transB, xdt, R, K, N);
      const low = lowerGraph(g);
      expect(low.steps.map((st) => st.kernel)).toEqual(['quantize_f32_i8', R >= 8 ? 'qgemm_tiled_i8' : 'qgemm_i8', 'dequantize_i8_f32']);
      // the tiled kernel stores rows that do not fill whole words wide (one word per element)
      expect(low.buffers.get(low.rootOf(y))!.bytes).toBe(R >= 8 && N % 4 !== 0 ? R * N * 4 : Math.ceil((R * N) / 4) * 4);
      const [want] = await same(g, [x]);
      expect(spread(want!)).toBeGreaterThan(4);
    });
  }
  it('float rq mode with u8 weights and zero points (QLinearMatMul), 3-D input', async () => {
    const { b, x } = quantIn([2, 4, 21], 'u8', 100);
    const w = b.const('w', 'u8', [21, 6], randInts(126, 0, 255, 1));
    const y = b.node('QGemm', [x, w], { x_zero_point: 100, w_zero_point: [128, 120, 130, 127, 128, 100], rq_mode: 'float',
      scale: [0.0005, 0.00075, 0.001, 0.0004, 0.0003, 0.0002].map(Math.fround), y_dtype: 'u8', y_zero_point: 128 }, { domain: 'edgec' });
    await same(finish(b, [y]), [input([2, 4, 21], 2, XS)]);
  });
  qgemmWrapCase(same);
});

describe.skipIf(!gpu)('webgpu int8: TFLite integer arithmetic (rq_mode tflite, QSoftmax, TflQuantize)', () => {
  tfliteArithmeticCases(same);
});

describe.skipIf(!gpu)('webgpu int8: rounding ties in the requantizers', () => {
  requantizerTieCases(same);
  it('float mode ties: scale 0.5 and 0.25 on odd accumulators', async () => {
    const { b, x } = quantIn([3, 37], 'u8', 140);
    const y1 = b.node('Requantize', [x], { x_zero_point: 141, rq_mode: 'float', scale: [0.5], y_dtype: 'i8' }, { domain: 'edgec' });
    const y2 = b.node('Requantize', [x], { x_zero_point: 139, rq_mode: 'float', scale: [0.25], y_dtype: 'u8', y_zero_point: 100 }, { domain: 'edgec' });
    await same(finish(b, [y1, y2]), [input([3, 37], 8, XS)]);
  });
});

describe.skipIf(!gpu)('webgpu int8: QAdd / QMul / Requantize', () => {
  qbinaryCases(same, [20, 32, 40]);
});

describe.skipIf(!gpu)('webgpu int8: QReduceMean / QAvgPool / MaxPool', () => {
  qpoolCases(same);
});

describe.skipIf(!gpu)('webgpu int8: data movement and aliases on 1-byte tensors', () => {
  qmoveCases(same);
});

describe.skipIf(!gpu)('webgpu int8: consumers of wide-stored 8-bit values', () => {
  const I64 = (b: GraphBuilder, name: string, v: number[]) => b.const(name, 'i64', [v.length], v);
  it('a conv output stored one word per element feeds data movement, pooling and the integer ops', async () => {
    // 3x3 output planes (9 pixels): the tiled conv stores its output wide
    const { b, x } = quantIn([1, 4, 5, 5], 'u8', 128);
    const w = b.const('w', 'i8', [8, 4, 3, 3], randInts(288, -100, 100, 77));
    const q = quantizeMultiplier(XS / (0.02 * 4 * 9));
    const c = b.node('QConv', [x, w], { x_zero_point: 128, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8', y_zero_point: -3 }, { domain: 'edgec' });
    const r = b.node('Reshape', [c, I64(b, 'rs', [1, 8, 9])]);
    const t = b.node('Transpose', [r], { perm: [0, 2, 1] });
    const other = b.node('QuantizeLinear', [b.input('x2', 'f32', [1, 8, 3, 3]), b.const('s2', 'f32', [], [XS]), b.const('z2', 'i8', [], [0])]);
    const cat = b.node('Concat', [c, other, c], { axis: 3 });
    const pad = b.node('Pad', [c, I64(b, 'pads', [0, 0, 1, 0, 0, 0, 0, 2])], { mode: 'reflect' });
    const ga = b.node('Gather', [c, b.const('gi', 'i64', [2], [2, 0])], { axis: 2 });
    const mx = b.node('Max', [c, other]);
    const mp = b.node('MaxPool', [c], { kernel_shape: [2, 2] });
    const qadd = b.node('QAdd', [c, other], { a_zero_point: -3, a_multiplier: 1518500250, b_multiplier: 1073741824, shift: 31, y_dtype: 'i8' }, { domain: 'edgec' });
    const qmul = b.node('QMul', [other, c], { b_zero_point: -3, multiplier: 1879048192, shift: 38, y_dtype: 'u8', y_zero_point: 100 }, { domain: 'edgec' });
    const rq = b.node('Requantize', [c], { x_zero_point: -3, multiplier: [1288490189], shift: [31], y_dtype: 'u8', y_zero_point: 128 }, { domain: 'edgec' });
    const ap = b.node('QAvgPool', [c], {
      kernel_shape: [2, 2], x_zero_point: -3, multipliers: [1, 2, 3, 4].map((k) => quantizeMultiplier(1 / k).multiplier),
      shifts: [1, 2, 3, 4].map((k) => quantizeMultiplier(1 / k).shift), y_dtype: 'i8',
    }, { domain: 'edgec' });
    const rm = b.node('QReduceMean', [c], { axes: [2, 3], x_zero_point: -3, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8' }, { domain: 'edgec' });
    const c2 = b.node('QConv', [c, b.const('w2', 'i8', [2, 8, 1, 1], randInts(16, -50, 50, 78))], { x_zero_point: -3, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8' }, { domain: 'edgec' });
    const g = finish(b, [t, cat, pad, ga, mx, mp, qadd, qmul, rq, ap, rm, c2]);
    const low = lowerGraph(g);
    expect(low.buffers.get(low.rootOf(c))!.bytes).toBe(8 * 9 * 4);
    const [wt] = await same(g, [input([1, 4, 5, 5], 79, XS), input([1, 8, 3, 3], 80, XS)]);
    expect(spread(wt!)).toBeGreaterThan(8);
  });
});

describe.skipIf(!gpu)('webgpu int8: QuantizeLinear / DequantizeLinear / Cast', () => {
  qdqCases(same);
  it('Cast int32 / int8 -> f32 (rounding half to even above 2^24)', async () => {
    const K = 3;
    const { b, x } = quantIn([2, K], 'i8', 0);
    const w = b.const('w', 'i8', [K, 4], [127, -128, 1, 3, 127, -128, 1, 3, 127, -128, 1, 3]);
    const bias = b.const('bias', 'i32', [4], [2 ** 31 - 200, -(2 ** 31) + 200, 16777217, 16777219]);
    const acc = b.node('QGemm', [x, w, bias], { y_dtype: 'i32' }, { domain: 'edgec' });
    b.output(b.node('Cast', [acc], { to: 1 }));
    b.output(b.node('Cast', [x], { to: 1 }));
    await same(b.build(), [input([2, K], 41, XS)]);
  });
});

// ---------------------------------------------------------------------------------------------
// Lowering, artifact and errors
// ---------------------------------------------------------------------------------------------

describe('webgpu int8: lowering and artifact', () => {
  it('the arena packs int8 values 4 per word (int32 at 4 bytes per element)', () => {
    const { b, x } = quantIn([1, 3, 8, 8], 'u8', 128);
    const t = b.node('Transpose', [x], { perm: [0, 2, 3, 1] });
    const acc = b.node('QConv', [t, b.const('w', 'i8', [2, 8, 1, 1], randInts(16, -9, 9, 3))], { x_zero_point: 128, y_dtype: 'i32' }, { domain: 'edgec' });
    const y = b.node('Requantize', [acc], { multiplier: [2 ** 30], shift: [33], y_dtype: 'i8' }, { domain: 'edgec' });
    const odd = b.node('Slice', [y, b.const('s0', 'i64', [1], [1]), b.const('s1', 'i64', [1], [6]), b.const('s2', 'i64', [1], [3])]);
    const g = finish(b, [y, odd]);
    const low = lowerGraph(g);
    expect(low.buffers.get(low.rootOf(x))!.bytes).toBe(192);
    expect(low.buffers.get(low.rootOf(t))!.bytes).toBe(192);
    expect(low.buffers.get(low.rootOf(acc))!.bytes).toBe(2 * 8 * 3 * 4);
    expect(low.buffers.get(low.rootOf(y))!.bytes).toBe(2 * 8 * 3);
    // y is [1, 2, 8, 3]; the slice keeps 2 of 3 on the last axis: 32 bytes, 8 words
    expect(low.buffers.get(low.rootOf(odd))!.bytes).toBe(Math.ceil((2 * 8 * 2) / 4) * 4);
    expect(low.steps.map((s) => s.kernel)).toEqual(['quantize_f32_i8', 'qview_b', 'qconv_i8', 'qrequant_i8', 'qview_b', 'dequantize_i8_f32', 'dequantize_i8_f32']);
  });
  it('emitWebgpu labels an integer graph int8 in the manifest (default precision) and accepts --int8', () => {
    const { b, x } = quantIn([1, 4], 'i8', 0);
    const y = b.node('QGemm', [x, b.const('w', 'i8', [4, 3], randInts(12, -5, 5, 1))], { multiplier: [2 ** 30], shift: [32], y_dtype: 'i8' }, { domain: 'edgec' });
    const g = finish(b, [y]);
    expect(emitWebgpu(g).manifest.precision).toBe('int8');
    expect(emitWebgpu(g, { precision: 'int8' }).manifest.precision).toBe('int8');
  });
  it('an integer op the int8 path lacks is an unsupported error naming op and node', () => {
    const { b, x } = quantIn([2, 6], 'u8', 0);
    const y = b.node('ReduceL1', [x, b.const('ax', 'i64', [1], [1])], { keepdims: 1 }, { name: 'my_rl1' });
    let err: unknown;
    try {
      emitWebgpu(finish(b, [y]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    expect((err as EdgecError).kind).toBe('unsupported');
    expect((err as EdgecError).message).toMatch(/ReduceL1 on u8/);
    expect((err as EdgecError).ctx.node).toBe('my_rl1');
  });
  it('a float scale that is not a float32 value is rejected with a clear error', () => {
    const { b, x } = quantIn([1, 4], 'u8', 0);
    const y = b.node('Requantize', [x], { rq_mode: 'float', scale: [0.1], y_dtype: 'i8' }, { domain: 'edgec' });
    expect(() => emitWebgpu(finish(b, [y]))).toThrow(/not a float32 value/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: quantized models (the CLI path: quantizeModel / lowerQdq, then emitWebgpu)
// ---------------------------------------------------------------------------------------------

const MODELS = MODELS_DIR;
const haveModels = fs.existsSync(MODELS);

/** Emits the integer graph, runs the artifact on each input batch and requires the reference's bits. */
async function sameModel(q: Graph, batches: Tensor[][]): Promise<void> {
  const art = emitWebgpu(q, { precision: 'int8' });
  expect(art.manifest.precision).toBe('int8');
  const dir = writeTempArtifact(art.files);
  try {
    const model = await loadWebgpuArtifact(dir);
    try {
      for (const [k, inputs] of batches.entries()) expectSameBits(await runWebgpuModel(model, inputs), runGraph(q, inputs), `batch ${k} `);
    } finally {
      model.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!gpu || !haveModels)('webgpu int8: quantized models, reference == webgpu bit for bit', () => {
  for (const m of ['dscnn', 'resnet8', 'autoencoder', 'mobilenetv1_025']) {
    it(`bench/${m} (--int8, random calibration)`, async () => {
      const g = loadOnnxFile(path.join(MODELS, 'bench', `${m}.onnx`));
      optimize(g, { target: 'webgpu' });
      const shape = g.typeOf(g.inputs[0]!).shape.map((d) => (typeof d === 'number' ? d : 1));
      const q = quantizeModel(g, { mode: 'int8', calib: [uniform([8, ...shape.slice(1)], 1, -1, 1)] }).graph;
      await sameModel(q, [[uniform(shape, 2, -1, 1)], [uniform(shape, 3, -1.5, 1.5)]]);
    }, 300_000);
  }
  for (const m of ['digits_lae_ail', 'cbf_fcn']) {
    it(`trained/${m} (--int8 with its calibration set) on test samples`, async () => {
      const dir = path.join(MODELS, 'trained', m);
      const calib = readPb(path.join(dir, 'calib_x.pb'));
      const tx = readPb(path.join(dir, 'test_x.pb'));
      const B = 8;
      const g = loadForInputs(path.join(dir, 'model.onnx'), [sliceBatch(calib, 0, B)]);
      optimize(g, { target: 'webgpu' });
      const q = quantizeModel(g, { mode: 'int8', calib: [sliceBatch(calib, 0, 64)] }).graph;
      await sameModel(q, [[sliceBatch(tx, 0, B)], [sliceBatch(tx, B, 2 * B)]]);
    }, 300_000);
  }
  it('onnx/mnist-8-integer-quant (pre-quantized: ConvInteger / MatMulInteger -> QConv / QGemm, int32 Cast)', async () => {
    const file = path.join(MODELS, 'onnx', 'mnist-8-integer-quant.onnx');
    const g = loadOnnxFile(file);
    optimize(g, { target: 'webgpu' });
    const q = lowerQdq(g).graph;
    const ds = path.join(MODELS, 'onnx', 'mnist-8-integer-quant', 'test_data_set_0', 'input_0.pb');
    const x0 = fs.existsSync(ds) ? readPb(ds) : uniform([1, 1, 28, 28], 5, 0, 255);
    await sameModel(q, [[x0], [uniform([1, 1, 28, 28], 6, 0, 255)]]);
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------
// The command line: compile --int8 --target webgpu, run / eval the artifact
// ---------------------------------------------------------------------------------------------

describe.skipIf(!gpu || !haveModels)('webgpu int8 through the CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-wgi8-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const runBytes = async (art: string, x: string, target: string): Promise<Buffer> => {
    const out = path.join(tmp, `out-${path.basename(art)}-${target}`);
    const r = await cli('run', art, '--inputs', x, '--target', target, '--out', out);
    expect(r.code, r.err).toBe(0);
    return fs.readFileSync(path.join(out, 'output_0.pb'));
  };

  it('trained/digits_allconv: compile --int8 --calib, run == ref bytes, eval == ref', async () => {
    const M = path.join(MODELS, 'trained', 'digits_allconv');
    const art = path.join(tmp, 'digits');
    const c = await cli('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '--target', 'webgpu', '-o', art);
    expect(c.code, c.err).toBe(0);
    expect(manifestOf(art)['precision']).toBe('int8');
    expect(manifestOf(art)['target']).toBe('webgpu');
    const x = path.join(M, 'sample_in.pb');
    expect((await runBytes(art, x, 'webgpu')).equals(await runBytes(art, x, 'ref'))).toBe(true);
    // eval on the first 24 test samples (one run per sample on the artifact's batch 1)
    const tx = readPb(path.join(M, 'test_x.pb'));
    const ty = readPb(path.join(M, 'test_y.pb'));
    const xs = path.join(tmp, 'x24.pb');
    const ys = path.join(tmp, 'y24.pb');
    fs.writeFileSync(xs, encodeTensorProtoBytes(sliceBatch(tx, 0, 24), 'x'));
    fs.writeFileSync(ys, encodeTensorProtoBytes(sliceBatch(ty, 0, 24), 'y'));
    const ev = async (target: string) => {
      const r = await cli('eval', art, '--data', xs, '--labels', ys, '--target', target, '--json');
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { value: number }).value;
    };
    const acc = await ev('webgpu');
    expect(acc).toBe(await ev('ref'));
    expect(acc).toBeGreaterThan(0.8);
  }, 300_000);

  it('pre-quantized onnx/mnist-8-integer-quant compiles for webgpu; run == ref bytes', async () => {
    const file = path.join(MODELS, 'onnx', 'mnist-8-integer-quant.onnx');
    const art = path.join(tmp, 'mnist');
    const c = await cli('compile', file, '--target', 'webgpu', '-o', art);
    expect(c.code, c.err).toBe(0);
    const x = path.join(MODELS, 'onnx', 'mnist-8-integer-quant', 'test_data_set_0', 'input_0.pb');
    expect((await runBytes(art, x, 'webgpu')).equals(await runBytes(art, x, 'ref'))).toBe(true);
  }, 300_000);
});
