/**
 * The c target's microcontroller kernels (targets/c/lib/nnet_mcu.h) on the cases the MLPerf Tiny
 * models do not reach: Conv with uint8 weights and non-zero per-channel weight zero points
 * in a QDQ graph (the blocked kernel's zero-point variant, the input zero point folded into the bias, padding
 * taps holding zx, an odd filter count, K not a multiple of 4), a broadcast QAdd (mcu_qadd's
 * fallback to qadd), host and Cortex-M4 bit for bit against the reference interpreter; and
 * mcu_qadd's 32-bit loop against a 64-bit computation written in the test, on every pair of 8-bit
 * operands, at and just past its int32 bound. With CI set, missing g++ / arm-none-eabi-gcc / qemu
 * fail the run (tests/ci-prereqs.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { optimize } from '../../compiler/pipeline.js';
import { lowerQdq, quantizeModel } from '../../quantize/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { emitC } from '../../targets/c/emit.js';
import { hlsLibraryPath } from '../../targets/hls/emit.js';
import { runCArtifact } from '../../targets/c/run.js';
import { writeTempArtifact } from '../../targets/common/target.js';
import { randomTensor } from './wasm-helpers.js';
import { firstBitDiff } from './hls-helpers.js';

const has = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const HAVE_GXX = has(process.env['CXX'] || 'g++');
const HAVE_ARM = has('arm-none-eabi-gcc') && has('qemu-system-arm');
const C_LIB = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../targets/c/lib');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Deterministic integers in [lo, hi] (mulberry32). */
function ints(n: number, seed: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push(lo + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo + 1)));
  }
  return out;
}

/**
 * QDQ graph: QuantizeLinear (u8, zx 131) -> DequantizeLinear -> two Conv with u8 weights (per-channel
 * scales and zero points) and i32 biases behind DequantizeLinear -> QuantizeLinear (u8) -> DequantizeLinear.
 */
function qdqGraph(): Graph {
  const b = new GraphBuilder('qdq_u8w', { '': 17 });
  const x = b.input('x', 'f32', [1, 5, 7, 6]);
  const XS = 0.02;
  const xs = b.const('xs', Tensor.from('f32', [], [XS]));
  const xz = b.const('xz', Tensor.from('u8', [], [131]));
  const xd = b.node('DequantizeLinear', [b.node('QuantizeLinear', [x, xs, xz]), xs, xz]);
  const conv = (name: string, M: number, C: number, kh: number, kw: number, seed: number, attrs: Record<string, unknown>) => {
    const wsv = ints(M, seed + 1, 1, 9).map((v) => v / 4000);
    const ws = b.const(`${name}_ws`, Tensor.from('f32', [M], wsv));
    const wz = b.const(`${name}_wz`, Tensor.from('u8', [M], ints(M, seed + 2, 100, 160)));
    const w = b.node('DequantizeLinear', [b.const(`${name}_w`, Tensor.from('u8', [M, C, kh, kw], ints(M * C * kh * kw, seed, 0, 255))), ws, wz], { axis: 0 });
    const bs = b.const(`${name}_bs`, Tensor.from('f32', [M], wsv.map((v) => Math.fround(v * XS))));
    const bias = b.node('DequantizeLinear', [b.const(`${name}_b`, Tensor.from('i32', [M], ints(M, seed + 3, -20000, 20000))), bs], { axis: 0 });
    const ys = b.const(`${name}_ys`, Tensor.from('f32', [], [0.05]));
    const yz = b.const(`${name}_yz`, Tensor.from('u8', [], [120]));
    const y = b.node('QuantizeLinear', [b.node('Conv', [xd, w, bias], attrs), ys, yz]);
    b.output(b.node('DequantizeLinear', [y, ys, yz], {}, { name: `${name}_dq`, outputNames: [name] }));
  };
  conv('pad_odd_filters', 5, 5, 3, 3, 10, { pads: [1, 1, 1, 1] }); // K = 45, 5 filters
  conv('strided_k30', 4, 5, 2, 3, 20, { strides: [2, 1], pads: [0, 1, 2, 1] }); // K = 30
  return b.build();
}

/** Conv -> Add of the conv and its GlobalAveragePool ([1, C, 1, 1]: a broadcast QAdd once quantized). */
function broadcastAddGraph(): Graph {
  const b = new GraphBuilder('qadd_bcast', { '': 17 });
  const x = b.input('x', 'f32', [1, 4, 6, 6]);
  const c = b.node('Conv', [x, b.const('w', randomTensor([6, 4, 3, 3], 31, -0.5, 0.5)), b.const('b', randomTensor([6], 32, -0.5, 0.5))], { pads: [1, 1, 1, 1] });
  b.output(b.node('Add', [c, b.node('GlobalAveragePool', [c])]));
  return b.build();
}

/** Writes the c package of `g`, runs it on the host (and a Cortex-M4) and compares with the reference bit for bit. */
async function checkBitExact(g: Graph, inputs: Tensor[]): Promise<void> {
  const want = runGraph(g, inputs);
  const art = emitC(g);
  const d = writeTempArtifact(new Map<string, string | Uint8Array>([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]), 'edgec-c-mcu-');
  dirs.push(d);
  const runs = [await runCArtifact(d, inputs)];
  if (HAVE_ARM) runs.push(await runCArtifact(d, inputs, { device: 'cortex-m4' }));
  for (const r of runs) {
    for (const [k, w] of want.entries()) {
      const got = r.outputs[k]!;
      expect(got.shape).toEqual(w.shape);
      const bad = firstBitDiff(got, w);
      expect(bad, bad < 0 ? '' : `output ${k} [${bad}] got ${got.get(bad)}, want ${w.get(bad)}`).toBe(-1);
    }
  }
}

describe.skipIf(!HAVE_GXX)(`c mcu kernels: host${HAVE_ARM ? ' and Cortex-M4' : ''} == reference, bit for bit`, () => {
  it('QDQ Conv u8 x u8 with per-channel weight zero points (zero-point block variant, zx folded into the bias)', async () => {
    const g = lowerQdq(qdqGraph()).graph;
    optimize(g, { target: 'c' });
    const cpp = String(emitC(g).files.get('model.cpp'));
    expect(cpp).toContain('nnet::mcu_qconv<');
    expect(cpp).toContain('static const bool w_zero = false;');
    await checkBitExact(g, [randomTensor([1, 5, 7, 6], 41, -2.6, 2.5)]);
  }, 240_000);

  it('broadcast QAdd (mcu_qadd falls back to qadd)', async () => {
    const g0 = broadcastAddGraph();
    optimize(g0, { target: 'c' });
    const g = quantizeModel(g0, { mode: 'int8', calib: [randomTensor([8, 4, 6, 6], 51)] }).graph;
    expect(String(emitC(g).files.get('model.cpp'))).toContain('nnet::mcu_qadd<');
    await checkBitExact(g, [randomTensor([1, 4, 6, 6], 52)]);
  }, 240_000);
});

describe.skipIf(!HAVE_GXX)('mcu_qadd (host g++)', () => {
  it('== the 64-bit QAdd on every pair of 8-bit operands, at and past its int32 bound, every clamp', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-c-qadd-'));
    dirs.push(d);
    // at the bound: 255 (Ma + Mb) + 2^19 < 2^31 holds for Ma = Mb = 4209724, not for Ma = 4209725 (shift 20)
    const cases: [string, string, number, number, number, number, number, number, number, number, number][] = [
      // InA, InB, Ma, Mb, shift, za, zb, zy, lo, hi, expected to take the 32-bit loop (1) or not (0)
      ['int8_t', 'int8_t', 4209724, 4209724, 20, -128, -128, 0, -128, 127, 1],
      ['int8_t', 'int8_t', 4209725, 4209724, 20, -128, -128, 0, -128, 127, 0],
      ['int8_t', 'int8_t', 204310, 529521, 19, -21, -128, -128, -128, 127, 1],
      ['int8_t', 'int8_t', -300001, 700003, 21, 5, -7, 3, -100, 90, 1],
      ['uint8_t', 'uint8_t', 123457, 98765, 17, 128, 131, 120, 0, 255, 1],
      ['uint8_t', 'int8_t', 65537, 1000003, 22, 0, 0, 7, 3, 200, 1],
      ['int8_t', 'int8_t', 1 << 30, 3, 31, 0, 0, 0, -128, 127, 0],
    ];
    const cfg = cases.map(([, , ma, mb, n, za, zb, zy, lo, hi], k) => `struct cfg${k} : nnet::broadcast_config {
  static const unsigned d5 = 65536;
  static const unsigned sa5 = 1, sb5 = 1;
  static const int64_t a_zero_point = ${za}LL, b_zero_point = ${zb}LL, a_multiplier = ${ma}LL, b_multiplier = ${mb}LL;
  static const int shift = ${n};
  static const int64_t y_zero_point = ${zy}LL, clamp_lo = ${lo}LL, clamp_hi = ${hi}LL;
};`);
    // y: uint8 for a non-negative clamp range; the reference sum is written out here in 64 bits
    const progs = cases.map(([ta, tb, ma, mb, n, za, zb, zy, lo, hi, fits], k) => {
      const ty = lo >= 0 ? 'uint8_t' : 'int8_t';
      return `  {
    static ${ta} a[65536];
    static ${tb} b[65536];
    static ${ty} y[65536];
    for (int i = 0; i < 65536; i++) { a[i] = (${ta})(i & 255); b[i] = (${tb})(i >> 8); }
    nnet::mcu_qadd<${ta}, ${tb}, ${ty}, cfg${k}>(a, b, y);
    long bad = 0;
    for (int i = 0; i < 65536; i++) {
      const int64_t s = (int64_t)${ma}LL * ((int64_t)a[i] - (${za})) + (int64_t)${mb}LL * ((int64_t)b[i] - (${zb}));
      int64_t v = ((s + ((int64_t)1 << ${n - 1})) >> ${n}) + (${zy});
      v = v < ${lo} ? ${lo} : v > ${hi} ? ${hi} : v;
      if ((int64_t)y[i] != v) bad++;
    }
    std::printf("case ${k} bad %ld fits %d\\n", bad, (int)nnet::mcu_qadd_fast<${ta}, ${tb}, cfg${k}>());
    if (${fits} != (int)nnet::mcu_qadd_fast<${ta}, ${tb}, cfg${k}>()) std::printf("case ${k}: unexpected path\\n");
  }`;
    });
    fs.writeFileSync(path.join(d, 't.cpp'), `#include <cstdio>
#include "nnet_mcu.h"
${cfg.join('\n')}
int main() {
${progs.join('\n')}
  return 0;
}
`);
    const cc = spawnSync(process.env['CXX'] || 'g++', ['-O2', '-std=c++14', '-w', `-I${hlsLibraryPath()}`, `-I${C_LIB}`, '-o', path.join(d, 't'), path.join(d, 't.cpp')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const r = spawnSync(path.join(d, 't'), [], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(cases.map((c, k) => `case ${k} bad 0 fits ${c[10]}`));
  });
});
