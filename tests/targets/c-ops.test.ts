/**
 * c target on graphs built in code: the package built with the host g++ (and the int8 one also
 * with arm-none-eabi-gcc for Cortex-M4, run under QEMU: the SMLAD paths of EDGEC_ARM_DSP) against
 * the reference interpreter on the same graph -- int8 bit for bit, fp32 within 1e-5. One
 * multi-branch graph per precision keeps compile time down. Also: the arena plan (no two live
 * buffers overlap), model.h, errors. With CI set, missing g++ / arm-none-eabi-gcc / qemu fail the
 * run (tests/ci-prereqs.ts) instead of skipping.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { optimize } from '../../compiler/pipeline.js';
import { EdgecError } from '../../compiler/errors.js';
import { quantizeModel } from '../../quantize/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { emitC, CArtifact } from '../../targets/c/emit.js';
import { hlsLibraryPath, mcuConvRows } from '../../targets/hls/emit.js';
import { runCArtifact } from '../../targets/c/run.js';
import { writeTempArtifact } from '../../targets/common/target.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';
import { firstBitDiff } from './hls-helpers.js';

const has = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const HAVE_GXX = has(process.env['CXX'] || 'g++');
const HAVE_ARM = has('arm-none-eabi-gcc') && has('qemu-system-arm');
const FP32 = { rtol: 1e-5, atol: 1e-5 };

/** The multi-branch float graph (conv geometries, dense, pools, residual, concat, softmax...). */
function buildZoo(): { g: Graph; inputs: Tensor[]; names: string[] } {
  const b = new GraphBuilder('zoo', { '': 17 });
  let seed = 1;
  const w = (shape: number[], scale = 0.5) => b.const(`w${seed}`, randomTensor(shape, seed++, -scale, scale));
  const x = b.input('x', 'f32', [1, 4, 9, 9]);
  const x1 = b.input('x1', 'f32', [1, 3, 16]);
  const names: string[] = [];
  const out = (id: ValueId, name: string) => {
    b.output(b.node('Identity', [id], {}, { name: `out_${name}`, outputNames: [name] }));
    names.push(name);
  };
  const c1 = b.node('Relu', [b.node('Conv', [x, w([6, 4, 3, 3]), w([6])], { pads: [1, 1, 1, 1] })]);
  out(c1, 'conv_relu');
  out(b.node('Conv', [x, w([5, 4, 3, 2]), w([5])], { strides: [2, 1], dilations: [2, 1], pads: [1, 0, 2, 1] }), 'conv_strided_dilated_h');
  out(b.node('Conv', [x, w([3, 4, 2, 3]), w([3])], { strides: [1, 2], dilations: [1, 2], pads: [0, 2, 1, 1] }), 'conv_dilated_w');
  out(b.node('Conv', [x, w([4, 1, 3, 3]), w([4])], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }), 'depthwise');
  out(b.node('Conv', [x, w([6, 2, 1, 1])], { group: 2 }), 'grouped_1x1');
  out(b.node('MaxPool', [c1], { kernel_shape: [2, 2], strides: [2, 2] }), 'maxpool');
  out(b.node('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), 'avgpool');
  const r = b.node('Relu', [b.node('Add', [b.node('Conv', [c1, w([6, 6, 3, 3], 0.2), w([6])], { pads: [1, 1, 1, 1] }), c1])]);
  out(r, 'residual');
  const flat = b.node('Flatten', [b.node('GlobalAveragePool', [r])], { axis: 1 });
  const logits = b.node('Gemm', [flat, w([10, 6]), w([10])], { transB: 1 });
  out(logits, 'gemm');
  out(b.node('Softmax', [logits], { axis: 1 }), 'softmax');
  out(b.node('Gemm', [b.node('Flatten', [x], { axis: 1 }), w([7, 324], 0.1), w([7])], { transB: 1 }), 'dense_324');
  const c1d = b.node('Relu', [b.node('Conv', [x1, w([8, 3, 5]), w([8])], { strides: [2], pads: [2, 2] })]);
  out(b.node('MaxPool', [c1d], { kernel_shape: [2], strides: [2] }), 'conv1d_pool');
  out(b.node('Concat', [c1, b.node('Conv', [x, w([2, 4, 1, 1]), w([2])])], { axis: 1 }), 'concat');
  // depthwise with a channel multiplier (int8: im2col path), 3-D depthwise and 3-D convolution
  out(b.node('Conv', [x, w([8, 1, 3, 3]), w([8])], { group: 4, pads: [1, 1, 1, 1] }), 'depthwise_multiplier2');
  const x3 = b.input('x3', 'f32', [1, 2, 4, 5, 5]);
  out(b.node('Conv', [x3, w([2, 1, 2, 3, 3]), w([2])], { group: 2, pads: [0, 1, 1, 0, 1, 1] }), 'depthwise_3d');
  out(b.node('Conv', [x3, w([3, 2, 2, 2, 2]), w([3])], { strides: [1, 2, 1], pads: [1, 0, 0, 1, 1, 1] }), 'conv_3d');
  const g = b.build();
  return { g, inputs: [randomTensor([1, 4, 9, 9], 101), randomTensor([1, 3, 16], 102), randomTensor([1, 2, 4, 5, 5], 103)], names };
}

const ZOO = buildZoo().names;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes an emitted package (with manifest.json) into a temp folder. */
function write(art: CArtifact): string {
  const d = writeTempArtifact(new Map<string, string | Uint8Array>([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]), 'edgec-c-test-');
  dirs.push(d);
  return d;
}

/** True when graph output k comes from DequantizeLinear (an integer result; alias ops skipped). */
function fromDequantize(g: Graph, k: number): boolean {
  let id = g.outputs[k]!;
  for (;;) {
    const n = g.producerOf(id);
    if (!n) return false;
    if (n.op === 'DequantizeLinear') return true;
    if (!['Identity', 'Reshape', 'Flatten'].includes(n.op)) return false;
    id = n.inputs[0]!;
  }
}

describe.skipIf(!HAVE_GXX)('c fp32 on the host: == reference within 1e-5', () => {
  let got: Tensor[];
  let want: Tensor[];
  beforeAll(async () => {
    const z = buildZoo();
    optimize(z.g, { target: 'c' });
    want = runGraph(z.g, z.inputs);
    got = (await runCArtifact(write(emitC(z.g)), z.inputs)).outputs;
  }, 240_000);
  for (const [k, name] of ZOO.entries()) {
    it(name, () => {
      expect(got[k]!.shape).toEqual(want[k]!.shape);
      expect(compareTensors(got[k]!, want[k]!, FP32)).toBeNull();
    });
  }
});

describe.skipIf(!HAVE_GXX)('c int8: host (and Cortex-M4 under QEMU) == reference, bit for bit', () => {
  let q: Graph;
  let art: CArtifact;
  let dir: string;
  let want: Tensor[];
  let host: Tensor[];
  const inputs = buildZoo().inputs;
  beforeAll(async () => {
    const z = buildZoo();
    optimize(z.g, { target: 'c' });
    const calib = z.inputs.map((t, k) => randomTensor([8, ...t.shape.slice(1)], 200 + k));
    q = quantizeModel(z.g, { mode: 'int8', calib }).graph;
    want = runGraph(q, inputs);
    art = emitC(q);
    dir = write(art);
    host = (await runCArtifact(dir, inputs)).outputs;
  }, 240_000);
  const check = (got: () => Tensor[], k: number) => {
    const g = got()[k]!;
    expect(g.shape).toEqual(want[k]!.shape);
    if (!fromDequantize(q, k)) {
      expect(compareTensors(g, want[k]!, FP32)).toBeNull(); // a float island (Softmax)
      return;
    }
    const bad = firstBitDiff(g, want[k]!);
    expect(bad, bad < 0 ? '' : `[${bad}] got ${g.get(bad)}, want ${want[k]!.get(bad)}`).toBe(-1);
  };
  for (const [k, name] of ZOO.entries()) it(`host: ${name}`, () => check(() => host, k));

  it('model.h: native int8 inputs with their scales, a float wrapper, the arena size', () => {
    const h = String(art.files.get('model.h'));
    expect(h).toMatch(/typedef int8_t edgec_input0_t;|typedef uint8_t edgec_input0_t;/);
    expect(h).toMatch(/#define EDGEC_INPUT0_SCALE /);
    expect(h).toContain('int edgec_run_f32(const float *in0, const float *in1, const float *in2, float *out0');
    expect(h).toContain(`#define EDGEC_ARENA_BYTES ${art.manifest.arena_bytes}u`);
    const c = String(art.files.get('model.cpp'));
    expect(c).not.toMatch(/#pragma HLS/);
    // the microcontroller kernels (targets/c/lib/nnet_mcu.h); im2col / padded-plane scratch in the arena
    expect(c).toMatch(/nnet::mcu_qconv</);
    expect(c).toMatch(/nnet::mcu_qdense</);
    expect(c).toMatch(/static int16_t \*const layer\d+_col = reinterpret_cast<int16_t \*>\(edgec_arena \+ \d+\);/);
    expect(art.files.has('kernels/nnet_mcu.h')).toBe(true);
    // the 3-D depthwise layer runs mcu_qconv_dw (no scratch), the 2-D ones a padded plane (pad_h > 0)
    expect(c).toMatch(/nnet::mcu_qconv<[^;]*static_cast<int16_t \*>\(0\)\);/);
    expect(c).toMatch(/static const unsigned pad_h = [1-9]/);
  });

  it('mcuConvRows stores each full group of 4 weights of a row as (w0, w2, w1, w3), the tail in order', () => {
    expect(mcuConvRows([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], 6)).toEqual([0, 2, 1, 3, 4, 5, 10, 12, 11, 13, 14, 15]);
    expect(mcuConvRows([7, 8, 9], 3)).toEqual([7, 8, 9]);
  });

  it('edgec_run on native int8 == edgec_run_f32 with the quantization written out in the test (host)', () => {
    // an independent C program: quantizes the inputs with model.h's scales (ONNX QuantizeLinear:
    // float division, round half to even, saturate), calls edgec_run, dequantizes, and compares the
    // bits with edgec_run_f32 on the same floats
    const { inputs: ins, outputs: outs } = art.ports;
    expect(ins.some((p) => p.native !== 'f32')).toBe(true);
    expect(outs.some((p) => p.native !== 'f32')).toBe(true);
    const src = `#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include "model.h"
template <class T> static T quant(float x, float s, int zp) {
  float q = std::nearbyint(x / s) + (float)zp;
  const float lo = (float)std::numeric_limits<T>::min(), hi = (float)std::numeric_limits<T>::max();
  return (T)(q < lo ? lo : q > hi ? hi : q);
}
${ins.map((_, k) => `static float fin${k}[EDGEC_INPUT${k}_SIZE]; static edgec_input${k}_t qin${k}[EDGEC_INPUT${k}_SIZE];`).join('\n')}
${outs.map((_, k) => `static float fout${k}[EDGEC_OUTPUT${k}_SIZE]; static edgec_output${k}_t qout${k}[EDGEC_OUTPUT${k}_SIZE];`).join('\n')}
int main() {
  FILE *f = std::fopen("input.bin", "rb");
  if (!f) return 2;
${ins.map((p, k) => `  if (std::fread(fin${k}, 4, EDGEC_INPUT${k}_SIZE, f) != EDGEC_INPUT${k}_SIZE) return 2;
  for (unsigned i = 0; i < EDGEC_INPUT${k}_SIZE; i++) qin${k}[i] = ${p.native === 'f32' ? `fin${k}[i]` : `quant<edgec_input${k}_t>(fin${k}[i], EDGEC_INPUT${k}_SCALE, EDGEC_INPUT${k}_ZERO_POINT)`};`).join('\n')}
  std::fclose(f);
  edgec_run(${[...ins.map((_, k) => `qin${k}`), ...outs.map((_, k) => `qout${k}`)].join(', ')});
  edgec_run_f32(${[...ins.map((_, k) => `fin${k}`), ...outs.map((_, k) => `fout${k}`)].join(', ')});
  long bad = 0;
${outs.map((p, k) => `  for (unsigned i = 0; i < EDGEC_OUTPUT${k}_SIZE; i++) {
    const float v = ${p.native === 'f32' ? `qout${k}[i]` : `(float)((int)qout${k}[i] - EDGEC_OUTPUT${k}_ZERO_POINT) * EDGEC_OUTPUT${k}_SCALE`};
    if (std::memcmp(&v, &fout${k}[i], 4) != 0) bad++;
  }`).join('\n')}
  std::printf("mismatches %ld\\n", bad);
  return bad ? 1 : 0;
}
`;
    fs.writeFileSync(`${dir}/native_test.cpp`, src);
    const parts = inputs.map((t) => Buffer.from(new Float32Array(t.toNumbers()).buffer));
    fs.writeFileSync(`${dir}/input.bin`, Buffer.concat(parts));
    const cc = spawnSync(process.env['CXX'] || 'g++', ['-O2', '-std=c++14', '-w', `-I${dir}`, '-o', `${dir}/native_test`, `${dir}/model.cpp`, `${dir}/native_test.cpp`], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const r = spawnSync(`${dir}/native_test`, [], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('mismatches 0');
    expect(r.status).toBe(0);
  });

  it('the arena is smaller than the sum of the buffers and live buffers never overlap', () => {
    const c = String(art.files.get('model.cpp'));
    // static T *const layerK_out = reinterpret_cast<T *>(edgec_arena + OFF);  sizes from the typedef'd buffers
    const offs = [...c.matchAll(/static (\w+) \*const (\w+) = reinterpret_cast<\w+ \*>\(edgec_arena \+ (\d+)\);/g)].map((m) => ({ name: m[2]!, off: Number(m[3]) }));
    expect(offs.length).toBeGreaterThan(10);
    for (const o of offs) expect(o.off).toBeLessThan(art.manifest.arena_bytes);
    expect(new Set(offs.map((o) => o.off)).size).toBeLessThan(offs.length); // some memory is reused
  });

  describe.skipIf(!HAVE_ARM)('Cortex-M4 (QEMU mps2-an386, SMLAD kernels)', () => {
    let m4: Tensor[];
    let instructions: number | undefined;
    beforeAll(async () => {
      const r = await runCArtifact(dir, inputs, { device: 'cortex-m4' });
      m4 = r.outputs;
      instructions = r.instructions;
    }, 300_000);
    for (const [k, name] of ZOO.entries()) it(`m4: ${name}`, () => check(() => m4, k));
    it('reports the emulated instruction count', () => {
      const macs = Number(art.manifest.macs);
      expect(instructions).toBeGreaterThan(macs);
      expect(instructions).toBeLessThan(macs * 100);
    });
  });

  describe.skipIf(!HAVE_ARM)('Cortex-M7 (QEMU mps2-an500)', () => {
    let m7: Tensor[];
    beforeAll(async () => {
      m7 = (await runCArtifact(dir, inputs, { device: 'cortex-m7' })).outputs;
    }, 300_000);
    it('every output bit-identical to the reference', () => {
      for (const k of ZOO.keys()) check(() => m7, k);
    });
  });
});

describe.skipIf(!HAVE_GXX)('shared integer helpers (host g++)', () => {
  it('rq_fixed_hi == rq_fixed (shifts 33-62) and round_half_even_f == nearbyint, on random and tie values', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-c-rq-'));
    dirs.push(d);
    fs.writeFileSync(path.join(d, 't.cpp'), `#include "nnet_common.h"
#include <cstdio>
#include <random>
int main() {
  std::mt19937_64 r(1);
  long bad = 0;
  for (long i = 0; i < 2000000; i++) {
    int32_t acc = (int32_t)r(), M = (int32_t)(r() & 0x7fffffff);
    const int n = 33 + (int)(r() % 30);
    if (i % 4 == 0) acc = (int32_t)(r() % 2000001) - 1000000;
    if (i % 7 == 0) M = (int32_t)(r() % 64);
    if (i % 11 == 0) acc = i % 2 ? INT32_MIN : INT32_MAX;
    if (nnet::rq_fixed_hi(acc, M, n) != nnet::rq_fixed(acc, M, n)) bad++;
    uint32_t bits = (uint32_t)r();
    float f;
    std::memcpy(&f, &bits, 4);
    if (i % 3 == 0) f = (float)((int64_t)(r() % 40000001) - 20000000) / 2.0f;
    const float a = nnet::round_half_even_f(f), e = std::nearbyint(f);
    if (!(a == e || (a != a && e != e))) bad++;
  }
  std::printf("%ld\\n", bad);
  return 0;
}
`);
    const lib = hlsLibraryPath();
    const cc = spawnSync(process.env['CXX'] || 'g++', ['-O2', '-std=c++14', `-I${lib}`, '-o', path.join(d, 't'), path.join(d, 't.cpp')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const r = spawnSync(path.join(d, 't'), [], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('0');
  });
});

describe('c target errors', () => {
  it('a graph output of a dtype without a C type is a one-line unsupported error', () => {
    const b = new GraphBuilder('bool', { '': 17 });
    const x = b.input('x', 'f32', [1, 4]);
    b.output(b.node('Greater', [x, b.const('z', 'f32', [], [0])]));
    const g = b.build();
    optimize(g, { target: 'c' });
    let err: unknown;
    try {
      emitC(g);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgecError);
    expect((err as EdgecError).kind).toBe('unsupported');
    expect((err as EdgecError).message).not.toContain('\n');
  });
});
