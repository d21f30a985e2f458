/**
 * int8 / uint8 LOGISTIC and TANH (full TFLite's builtin kernels: activations.cc Prepare builds a
 * 256-entry table in float, LUTPopulate): edgec's import (edgec.QLut), the reference interpreter
 * and the wasm target bit for bit against the table transcribed in C++ (tflite-ref.cc opcodes 14 /
 * 28), on every input byte, for the output quantizations TFLite requires and other input scales;
 * webgpu (SwiftShader, when an adapter exists), the c target (host g++) and the hls C simulation
 * bit for bit too. Fails (not skips) when CI is set and g++ is missing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTflite } from '../../compiler/frontends/tflite/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { Graph } from '../../compiler/ir/graph.js';
import { emitC } from '../../targets/c/emit.js';
import { runCArtifact } from '../../targets/c/run.js';
import { writeTempArtifact } from '../../targets/common/target.js';
import { runOnWasm } from '../targets/wasm-helpers.js';
import { csimVsRef } from '../targets/hls-helpers.js';
import { gpuAvailable, runOnWebgpu } from '../targets/webgpu-helpers.js';
import { buildTflite } from './build.js';
import { HAVE_GXX, buildRef, refTensor, runRef } from './qref.js';
import { MODELS } from '../cli/helpers.js';

const I8 = 9, U8 = 3;
const LOGISTIC = 14, TANH = 28, HARD_SWISH = 117;

interface LutCase { op: number; type: number; sx: number; zx: number; sy: number; zy: number }

const CASES: LutCase[] = [
  // TFLite's required output quantizations: LOGISTIC 1/256 (int8 zp -128, uint8 0), TANH 1/128 (int8 zp 0, uint8 128)
  { op: LOGISTIC, type: I8, sx: 0.0625, zx: 0, sy: 1 / 256, zy: -128 },
  { op: LOGISTIC, type: I8, sx: 0.0371, zx: -17, sy: 1 / 256, zy: -128 },
  { op: LOGISTIC, type: U8, sx: 0.05, zx: 128, sy: 1 / 256, zy: 0 },
  { op: TANH, type: I8, sx: 0.03125, zx: 0, sy: 1 / 128, zy: 0 },
  { op: TANH, type: I8, sx: 0.0213, zx: 9, sy: 1 / 128, zy: 0 },
  { op: TANH, type: U8, sx: 0.02, zx: 120, sy: 1 / 128, zy: 128 },
  // HARD_SWISH: reluish multiplier exponent > 0 (left-shift path) and < 0 (right shift), uint8
  { op: HARD_SWISH, type: I8, sx: 0.05, zx: -10, sy: 0.03, zy: -100 },
  { op: HARD_SWISH, type: I8, sx: 0.005, zx: 3, sy: 0.0041, zy: -90 },
  { op: HARD_SWISH, type: U8, sx: 0.04, zx: 100, sy: 0.025, zy: 20 },
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tflut-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function model(c: LutCase): Uint8Array {
  const q = (s: number, z: number) => ({ scale: [s], zeroPoint: [z] });
  return buildTflite([{ name: 'x', shape: [1, 4, 8, 8], type: c.type, quant: q(c.sx, c.zx) }, { name: 'y', shape: [1, 4, 8, 8], type: c.type, quant: q(c.sy, c.zy) }],
    [{ code: c.op, inputs: [0], outputs: [1] }], [0], [1]);
}

const RUN = HAVE_GXX || !!process.env['CI'];
const AP_DIR = path.join(MODELS, '..', 'third_party', 'hls_ap_types', 'include');
const HAVE_AP = fs.existsSync(path.join(AP_DIR, 'ap_int.h'));
const GPU = RUN && (await gpuAvailable('TFLite LOGISTIC / TANH'));

/** The c target's outputs of `g` on `x` (host g++ build). */
async function runC(g: Graph, x: Tensor): Promise<number[]> {
  const art = emitC(g);
  const dir = writeTempArtifact(new Map<string, string | Uint8Array>([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]), 'edgec-tflut-c-');
  try {
    return Array.from((await runCArtifact(dir, [x])).outputs[0]!.data as ArrayLike<number>);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
describe.runIf(RUN)('int8 / uint8 LOGISTIC, TANH and HARD_SWISH: edgec.QLut vs TFLite\'s builtin kernels (tflite-ref.cc)', () => {
  let refBin = '';
  beforeAll(() => {
    expect(HAVE_GXX, 'g++ builds tflite-ref.cc').toBe(true);
    refBin = buildRef(tmp);
  });
  for (const c of CASES) {
    const name = `${c.op === LOGISTIC ? 'LOGISTIC' : c.op === TANH ? 'TANH' : 'HARD_SWISH'} ${c.type === I8 ? 'int8' : 'uint8'} x ${c.sx}/${c.zx} -> y ${c.sy}/${c.zy}`;
    it(`${name}: ref, wasm, webgpu, c and the hls C simulation bit-exact with tflite-ref.cc on all 256 inputs`, async () => {
      const g = importTflite(model(c));
      verify(g);
      expect([...g.nodes.values()].map((n) => n.op)).toEqual(['QLut']);
      const lo = c.type === I8 ? -128 : 0;
      const v = Array.from({ length: 256 }, (_, i) => lo + ((i * 37) % 256));
      const x = Tensor.from(c.type === I8 ? 'i8' : 'u8', [1, 4, 8, 8], v);
      const want = runRef(refBin, c.op, [c.type === U8 ? 1 : 0], [refTensor([1, 4, 8, 8], { scale: [c.sx], zeroPoint: [c.zx] }, v), refTensor([1, 4, 8, 8], { scale: [c.sy], zeroPoint: [c.zy] }, [])]);
      const got = Array.from(runGraph(g, [x])[0]!.data as ArrayLike<number>);
      expect(got, 'ref vs tflite-ref.cc').toEqual(want);
      expect(new Set(got).size, 'the table is not constant').toBeGreaterThan(50);
      // an independent sanity check of both transcriptions: within 1 output step of the float function (2 for HARD_SWISH's fixed point), unless clamped
      const fn = c.op === LOGISTIC ? (t: number) => 1 / (1 + Math.exp(-t)) : c.op === TANH ? Math.tanh : (t: number) => (t * Math.min(6, Math.max(0, t + 3))) / 6;
      const hi = c.type === I8 ? 127 : 255;
      want.forEach((q, i) => {
        const real = fn(c.sx * (v[i]! - c.zx)) / c.sy + c.zy;
        if (real > lo && real < hi) expect(Math.abs(q - real), `input ${v[i]}: ${q} vs float ${real}`).toBeLessThanOrEqual(c.op === HARD_SWISH ? 2 : 1);
      });
      expect(Array.from((await runOnWasm(g, [x])).outputs[0]!.data as ArrayLike<number>), 'wasm vs tflite-ref.cc').toEqual(want);
      if (GPU) expect(Array.from((await runOnWebgpu(g, [x])).outputs[0]!.data as ArrayLike<number>), 'webgpu vs tflite-ref.cc').toEqual(want);
      expect(await runC(g, x), 'c vs tflite-ref.cc').toEqual(want);
      expect(Array.from((await csimVsRef(g, [x])).outputs[0]!.data as ArrayLike<number>), 'hls csim vs tflite-ref.cc').toEqual(want);
      if (c === CASES[0] && (HAVE_AP || process.env['CI'])) {
        // once with the Xilinx ap_types (-DEDGEC_AP_TYPES): ap_int<8> activations index the table
        expect(HAVE_AP, `the Xilinx ap_types headers at ${AP_DIR}`).toBe(true);
        const ap = await csimVsRef(g, [x], {}, { cxxFlags: ['-DEDGEC_AP_TYPES', `-I${AP_DIR}`] });
        expect(Array.from(ap.outputs[0]!.data as ArrayLike<number>), 'hls csim (ap_types) vs tflite-ref.cc').toEqual(want);
      }
    }, 120_000);
  }
});
