/**
 * The int8 TFLite models of ../shared/models/tflite imported with their quantization: edgec's
 * reference interpreter against TFLite's integer kernels run independently (every operator of the
 * model through tests/tflite/tflite-ref.cc, chained in TFLite's NHWC layout), bit for bit, on the
 * model's sample input when ../shared has one, else seeded random int8; and against TFLite's wasm
 * interpreter, whose XNNPACK delegate requantizes CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED in
 * fp32 (differences counted and bounded: within 1, or the same top class after SOFTMAX). Fails (not skips) in CI when a prerequisite is missing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../compiler/frontends/index.js';
import { readTflite, builtinName, TflModel, TflTensor } from '../../compiler/frontends/tflite/schema.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { graphStats } from '../../targets/wasm/emit.js';
import { HAVE_MODELS, MODELS } from '../cli/helpers.js';
import { HAVE_TFLITE, runTflite } from './oracle.js';
import { runOnWasm } from '../targets/wasm-helpers.js';
import { csimVsRef } from '../targets/hls-helpers.js';
import { optimize } from '../../compiler/pipeline.js';
import { emitC } from '../../targets/c/emit.js';
import { runCArtifact } from '../../targets/c/run.js';
import { writeTempArtifact } from '../../targets/common/target.js';

const DIR = path.join(MODELS, 'tflite');
const HAVE_GXX = (() => {
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
/** ../shared and g++ (tflite-ref.cc); in CI a missing one fails the run instead of skipping. */
const RUN = (HAVE_MODELS && HAVE_GXX) || !!process.env['CI'];
const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tfqm-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Case {
  file: string;
  /** Also compiled for the c target (host g++) and the hls target (C simulation), bit-exact with ref. */
  c?: boolean;
  /** MLPerf Tiny's published MACs (M). */
  mmacs?: number;
  /** A sample input (TensorProto .pb) beside the model. */
  sample?: string;
  /** The TFLite wasm interpreter cannot load the model. */
  noOracle?: boolean;
}

const CASES: Case[] = [
  { file: 'mlperf-tiny/ad01_int8.tflite', mmacs: 0.26 },
  { file: 'mlperf-tiny/kws_ref_model.tflite', mmacs: 2.66, sample: 'mlperf-tiny/kws_ref_model.sample_input_0.pb' },
  { file: 'mlperf-tiny/pretrainedResnet_quant.tflite', mmacs: 12.5, c: true },
  { file: 'mlperf-tiny/pretrainedResnet_large_int8.tflite' },
  { file: 'mlperf-tiny/vww_96_int8.tflite', mmacs: 7.49 },
  { file: 'mlperf-tiny/str_ww_ref_model.tflite', c: true },
  { file: 'tflite-micro/hello_world_int8.tflite' },
  { file: 'tflite-micro/micro_speech_quantized.tflite', c: true },
  { file: 'tflite-micro/person_detect.tflite', noOracle: true },
];

/** The integer data of a constant tensor (int8 / uint8 / int32). */
function constData(m: TflModel, t: TflTensor): number[] | undefined {
  const b = m.buffers[t.buffer];
  if (!b || b.length === 0) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (t.type === 9) return Array.from(new Int8Array(b.buffer, b.byteOffset, b.byteLength));
  if (t.type === 3) return Array.from(b);
  if (t.type === 2) return Array.from({ length: b.length / 4 }, (_, i) => dv.getInt32(4 * i, true));
  throw new Error(`constant ${t.name} of type ${t.type}`);
}

/** Runs every operator of the model through tflite-ref.cc (RESHAPE moves no data). */
function runReferenceChain(bin: string, m: TflModel, input: number[]): number[] {
  const sg = m.subgraphs[0]!;
  const vals = new Map<number, number[]>([[sg.inputs[0]!, input]]);
  for (const op of sg.operators) {
    const code = m.opcodes[op.opcode]!.builtin;
    const name = builtinName(code);
    const o = op.options;
    if (name === 'RESHAPE') {
      vals.set(op.outputs[0]!, vals.get(op.inputs[0]!)!);
      continue;
    }
    let opts: number[];
    switch (name) {
      case 'CONV_2D': opts = [o?.u8(0) ?? 0, o?.i32(1, 1) ?? 1, o?.i32(2, 1) ?? 1, o?.i32(4, 1) ?? 1, o?.i32(5, 1) ?? 1, o?.i8(3, 0) ?? 0]; break;
      case 'DEPTHWISE_CONV_2D': opts = [o?.u8(0) ?? 0, o?.i32(1, 1) ?? 1, o?.i32(2, 1) ?? 1, o?.i32(5, 1) ?? 1, o?.i32(6, 1) ?? 1, o?.i8(4, 0) ?? 0]; break;
      case 'FULLY_CONNECTED': case 'ADD': opts = [o?.i8(0, 0) ?? 0]; break;
      case 'AVERAGE_POOL_2D': opts = [o!.u8(0), o!.i32(1, 1), o!.i32(2, 1), o!.i32(3, 0), o!.i32(4, 0), o!.i8(5, 0)]; break;
      case 'SOFTMAX':
        expect(o?.f32(0, 1) ?? 1).toBe(1);
        opts = [];
        break;
      default: throw new Error(`tflite-ref.cc has no ${name}`);
    }
    const ids = [...op.inputs.filter((i) => i >= 0), op.outputs[0]!];
    const lines = [`${code} ${opts.length} ${opts.join(' ')}`, String(ids.length)];
    for (const [k, i] of ids.entries()) {
      const t = sg.tensors[i]!;
      const data = k === ids.length - 1 ? [] : constData(m, t) ?? vals.get(i)!;
      const q = t.quant ?? { scale: [], zeroPoint: [0] };
      lines.push(`${t.shape.length} ${t.shape.join(' ')} ${q.scale.length} ${q.scale.map((v) => v.toPrecision(9)).join(' ')} ${q.zeroPoint[0] ?? 0} ${data.length} ${data.join(' ')}`);
    }
    const out = execFileSync(bin, { input: lines.join('\n') + '\n', maxBuffer: 1 << 26 }).toString().trim().split('\n').map(Number);
    vals.set(op.outputs[0]!, out);
  }
  return vals.get(sg.outputs[0]!)!;
}

/** Seeded random int8 values (an LCG). */
function randomI8(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 24) - 128;
  });
}

describe.runIf(RUN)('int8 TFLite models: bit-exact with TFLite integer kernels (ref and wasm)', () => {
  let bin = '';
  beforeAll(() => {
    bin = path.join(tmp, 'tflite-ref');
    execFileSync('g++', ['-O2', '-std=c++17', '-o', bin, path.join(here, 'tflite-ref.cc')]);
  });
  it('the TFLite oracle is installed', () => expect(HAVE_TFLITE).toBe(true));

  for (const c of CASES) {
    it(`${c.file}: int8 I/O${c.mmacs !== undefined ? ', MACs' : ''}, ref == wasm${c.c ? ' == c == hls' : ''} == tflite-ref.cc chain${c.noOracle ? '' : ', vs TFLite+XNNPACK'}`, async () => {
      const file = path.join(DIR, c.file);
      const g = loadModelFile(file);
      verify(g);
      expect(g.typeOf(g.inputs[0]!).dtype).toBe('i8');
      expect(g.typeOf(g.outputs[0]!).dtype).toBe('i8');
      if (c.mmacs !== undefined) expect(Math.round(graphStats(g).macs / 1e4) / 100).toBeCloseTo(c.mmacs, 2);
      const shape = g.typeOf(g.inputs[0]!).shape as number[];
      const n = shape.reduce((p, q) => p * q, 1);
      let data: number[];
      if (c.sample) {
        const t = decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(path.join(DIR, c.sample)))).tensor;
        expect(t.size).toBe(n);
        data = t.toNumbers();
      } else data = randomI8(n, 1234);
      const x = Tensor.from('i8', shape, data);
      const got = Array.from(runGraph(g, [x])[0]!.data as Int8Array);
      const m = readTflite(new Uint8Array(fs.readFileSync(file)));
      expect(got, 'ref vs tflite-ref.cc').toEqual(runReferenceChain(bin, m, data));
      const w = (await runOnWasm(g, [x])).outputs[0]!;
      expect(w.dtype).toBe('i8');
      expect(Array.from(w.data as Int8Array), 'wasm vs ref').toEqual(got);
      if (c.c) {
        const gc = g.clone();
        optimize(gc, { target: 'c' });
        const art = emitC(gc);
        const dir = writeTempArtifact(new Map<string, string | Uint8Array>([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]), 'edgec-tfq-c-');
        try {
          const yc = (await runCArtifact(dir, [x])).outputs[0]!;
          expect(Array.from(yc.data as Int8Array), 'c target vs ref').toEqual(got);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        const hs = await csimVsRef(gc, [x]);
        expect(Array.from(hs.outputs[0]!.data as Int8Array), 'hls C simulation vs ref').toEqual(got);
      }
      if (c.noOracle) return;
      const want = Array.from((await runTflite(file, [x]))[0]!.data as Int8Array);
      const diffs = got.map((v, i) => Math.abs(v - want[i]!));
      const ndiff = diffs.filter((d) => d > 0).length;
      if (ndiff) console.log(`${c.file}: ${ndiff}/${got.length} outputs differ from TFLite+XNNPACK, max ${Math.max(...diffs)}`);
      const ops = m.subgraphs[0]!.operators;
      if (builtinName(m.opcodes[ops[ops.length - 1]!.opcode]!.builtin) === 'SOFTMAX') {
        // a logit moved by 1 LSB moves softmax probabilities by several: the top class must agree
        const top = (v: number[]) => v.indexOf(Math.max(...v));
        expect(top(got), 'top class vs TFLite+XNNPACK').toBe(top(want));
      } else {
        // XNNPACK's fp32 requantization moves an output by 1 now and then
        expect(Math.max(...diffs)).toBeLessThanOrEqual(1);
      }
    }, 180_000);
  }
});
