/**
 * Every .tflite of ../shared/models/tflite through the CLI on every target, as a user runs it:
 * `edgec compile MODEL.tflite --target wasm|webgpu|c|hls|onnx -o DIR` must succeed (hls with
 * `--hls-fit warn`: the large float models do not fit the default xc7z020), and `edgec run DIR`
 * on a representative subset must give the reference interpreter's outputs (computed here on the
 * imported graph): bit for bit on the int8 models (wasm, webgpu on SwiftShader, c with the host
 * compiler and under QEMU Cortex-M4, the hls C simulation, and the onnx artifact read back by
 * `--target ref`), within a float tolerance on the float models. A model the importer refuses
 * (EXPECTED_REFUSALS) must fail with one line naming the operator and a non-zero exit on every
 * target. Fails (not skips) when CI is set and ../shared or a tool is missing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../compiler/frontends/index.js';
import { decodeTensorProtoBytes, encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { cli, HAVE_MODELS, MODELS } from '../cli/helpers.js';
import { gpuAvailable, runOnWebgpu } from '../targets/webgpu-helpers.js';
import { csimVsRef, firstBitDiff } from '../targets/hls-helpers.js';
import { optimize } from '../../compiler/pipeline.js';
import { emitC } from '../../targets/c/emit.js';
import { runCArtifact } from '../../targets/c/run.js';
import { writeTempArtifact } from '../../targets/common/target.js';
import { Graph } from '../../compiler/ir/graph.js';

const DIR = path.join(MODELS, 'tflite');
const CI = !!process.env['CI'];
const has = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const HAVE_GXX = has('g++');
const HAVE_MCU = has('arm-none-eabi-gcc') && has('qemu-system-arm');
const RUN = HAVE_MODELS || CI;
const GPU = RUN && (await gpuAvailable('tflite targets'));
const AP_DIR = path.join(MODELS, '..', 'third_party', 'hls_ap_types', 'include');
const HAVE_AP = fs.existsSync(path.join(AP_DIR, 'ap_int.h'));

const TARGETS = ['wasm', 'webgpu', 'c', 'hls', 'onnx'] as const;
type Target = (typeof TARGETS)[number];

/** Models the importer refuses, and the operator the one-line error must name. */
const EXPECTED_REFUSALS: Record<string, string> = {};

/** Which compiled artifacts run (against the reference), per model; the others are compile-only. */
const RUNS: Record<string, Array<Target | 'c-m4'>> = {
  'tflite-micro/hello_world_int8.tflite': ['wasm', 'webgpu', 'c', 'hls', 'onnx'],
  'tflite-micro/micro_speech_quantized.tflite': ['wasm', 'webgpu', 'c', 'c-m4', 'hls', 'onnx'],
  'tflite-micro/trained_lstm_int8.tflite': ['wasm', 'webgpu', 'c', 'c-m4', 'hls', 'onnx'],
  'mlperf-tiny/ad01_int8.tflite': ['webgpu', 'c', 'hls', 'onnx'],
  'mlperf-tiny/kws_ref_model.tflite': ['webgpu', 'c', 'hls'],
  'mlperf-tiny/str_ww_ref_model.tflite': ['webgpu'],
  'mlperf-tiny/vww_96_int8.tflite': ['webgpu'],
  'mlperf-tiny/pretrainedResnet_quant.tflite': ['webgpu'],
  'mlperf-tiny/pretrainedResnet_large_int8.tflite': ['webgpu'],
  'tflite-micro/person_detect.tflite': ['webgpu'],
  'tflite-micro/hello_world_float.tflite': ['wasm', 'webgpu', 'c', 'hls'],
  'mlperf-tiny/ad01_fp32.tflite': ['webgpu', 'c', 'hls'],
};

/** Every .tflite under DIR, relative, sorted. */
function tfliteFiles(): string[] {
  if (!fs.existsSync(DIR)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.tflite')) out.push(path.relative(DIR, p));
    }
  };
  walk(DIR);
  return out.sort();
}

/** Seeded inputs: int8 / uint8 uniform over the range, float32 uniform in [-1, 1). */
function seededInput(dtype: string, shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const n = shape.reduce((p, q) => p * q, 1);
  const data = Array.from({ length: n }, () => {
    const v = next();
    return dtype === 'i8' ? (v >>> 24) - 128 : dtype === 'u8' ? v >>> 24 : (v / 2 ** 32) * 2 - 1;
  });
  return Tensor.from(dtype as 'f32', shape, data);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tfl-targets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.runIf(RUN)('every .tflite of ../shared/models/tflite on every target (CLI)', () => {
  const files = tfliteFiles();
  it('../shared/models/tflite holds the models (int8 and float)', () => {
    expect(files.length).toBeGreaterThanOrEqual(18);
    for (const f of Object.keys(RUNS)) expect(files, f).toContain(f);
  });

  for (const [k, file] of (files.length ? files : Object.keys(RUNS)).entries()) {
    const refusal = EXPECTED_REFUSALS[file];
    const runs = RUNS[file] ?? [];
    it(`${file}: compiles on ${TARGETS.join(', ')}${runs.length ? `; ${runs.join(', ')} == reference` : ''}${refusal ? ` (or a one-line error naming ${refusal})` : ''}`, async () => {
      const model = path.join(DIR, file);
      const base = path.join(tmp, String(k));
      fs.mkdirSync(base);
      const dirs = new Map<Target, string>();
      for (const t of TARGETS) {
        const out = path.join(base, t);
        const r = await cli('compile', model, '--target', t, '-o', out, ...(t === 'hls' ? ['--hls-fit', 'warn'] : []));
        if (refusal && r.code !== 0) {
          // the importer refuses the model: one line naming the operator, non-zero exit, no folder
          const msg = r.err.trim();
          expect(msg.split('\n'), `${t}: ${msg}`).toHaveLength(1);
          expect(msg, t).toContain(refusal);
          expect(fs.existsSync(out), t).toBe(false);
          continue;
        }
        expect(r.code, `${file} --target ${t}: ${r.err.slice(0, 400)}`).toBe(0);
        expect(fs.existsSync(path.join(out, 'manifest.json')) || fs.existsSync(path.join(out, 'model.onnx')), t).toBe(true);
        dirs.set(t, out);
      }
      if (runs.length === 0 || dirs.size === 0) return;
      const g = loadModelFile(model);
      const xs = g.inputs.map((id, i) => {
        const ty = g.typeOf(id);
        return seededInput(ty.dtype, ty.shape as number[], 1000 + 7 * k + i);
      });
      const want = runGraph(g, xs);
      const inFiles = xs.map((x, i) => {
        const p = path.join(base, `input_${i}.pb`);
        fs.writeFileSync(p, encodeTensorProtoBytes(x, `input_${i}`));
        return p;
      });
      const int = want.every((t) => t.dtype !== 'f32');
      for (const t of runs) {
        if (t === 'webgpu' && !GPU) continue;
        if ((t === 'c' || t === 'hls') && !HAVE_GXX && !CI) continue;
        if (t === 'c-m4' && !HAVE_MCU && !CI) continue;
        const dir = dirs.get(t === 'c-m4' ? 'c' : t)!;
        const outDir = path.join(base, `out-${t}`);
        const extra = t === 'c-m4' ? ['--device', 'cortex-m4'] : t === 'onnx' ? ['--target', 'ref'] : [];
        const r = await cli('run', dir, '--inputs', ...inFiles, '--out', outDir, ...extra);
        expect(r.code, `edgec run (${t}): ${r.err.slice(0, 400)}`).toBe(0);
        want.forEach((w, i) => {
          const got = decodeTensorProtoBytes(new Uint8Array(fs.readFileSync(path.join(outDir, `output_${i}.pb`)))).tensor;
          expect(got.dtype, `${t} output ${i} dtype`).toBe(w.dtype);
          expect(got.shape, `${t} output ${i} shape`).toEqual(w.shape);
          const a = got.toNumbers(), b = w.toNumbers();
          if (int) {
            expect(a, `${t} output ${i} vs reference (bit for bit)`).toEqual(b);
            return;
          }
          const scale = Math.max(1e-6, ...b.map(Math.abs));
          const worst = Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
          expect(worst / scale, `${t} output ${i}: max |diff| ${worst} of max |ref| ${scale}`).toBeLessThan(1e-4);
        });
      }
    }, 600_000);
  }

  for (const file of ['tflite-micro/micro_speech_quantized.tflite', 'mlperf-tiny/kws_ref_model.tflite', 'tflite-micro/trained_lstm_int8.tflite']) {
    it(`${file}: hls C simulation with the Xilinx ap_types (-DEDGEC_AP_TYPES) bit for bit with the reference`, async () => {
      if (!CI && (!HAVE_GXX || !HAVE_AP)) return;
      expect(HAVE_AP, `the Xilinx ap_types headers at ${AP_DIR}`).toBe(true);
      const g = loadModelFile(path.join(DIR, file));
      optimize(g, { target: 'hls' });
      const ty = g.typeOf(g.inputs[0]!);
      const x = seededInput(ty.dtype, ty.shape as number[], 77);
      const res = await csimVsRef(g, [x], { precision: 'int8' }, { cxxFlags: ['-DEDGEC_AP_TYPES', `-I${AP_DIR}`] });
      expect(res.art.files.get('firmware/defines.h')).toMatch(/ap_int\.h/);
      res.want.forEach((w, k) => {
        const bad = firstBitDiff(res.outputs[k]!, w);
        expect(bad < 0 ? 'same' : `output ${k}[${bad}] ${res.outputs[k]!.get(bad)} vs ${w.get(bad)}`).toBe('same');
      });
    }, 300_000);
  }

  // the final outputs of the int8 models are a few values (2 for vww): compare every integer value
  const INT8_MODELS = Object.keys(RUNS).filter((f) => !f.includes('float') && !f.includes('fp32'));
  /** The model with every integer value a graph output. */
  const everyValue = (g: Graph): Graph => {
    const seen = new Set(g.outputs);
    for (const n of g.orderedNodes()) {
      for (const o of n.outputs) if (!seen.has(o) && g.typeOf(o).dtype !== 'f32') (g.outputs.push(o), seen.add(o));
    }
    expect(g.outputs.length).toBeGreaterThanOrEqual(3);
    return g;
  };
  for (const file of ['mlperf-tiny/kws_ref_model.tflite', 'mlperf-tiny/ad01_int8.tflite', 'tflite-micro/trained_lstm_int8.tflite']) {
    it(`${file}: c (host) and the hls C simulation, every intermediate integer value bit for bit with the reference`, async () => {
      if (!CI && !HAVE_GXX) return;
      const g = loadModelFile(path.join(DIR, file));
      optimize(g, { target: 'c' });
      everyValue(g);
      const ty = g.typeOf(g.inputs[0]!);
      const x = seededInput(ty.dtype, ty.shape as number[], 4343);
      const want = runGraph(g, [x]);
      const art = emitC(g);
      const dir = writeTempArtifact(new Map<string, string | Uint8Array>([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]), 'edgec-tfl-c-');
      try {
        const got = (await runCArtifact(dir, [x])).outputs;
        want.forEach((w, i) => expect(got[i]!.toNumbers(), `c: value ${i} (${g.value(g.outputs[i]!).name})`).toEqual(w.toNumbers()));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const hs = await csimVsRef(g, [x]);
      want.forEach((w, i) => expect(hs.outputs[i]!.toNumbers(), `hls: value ${i} (${g.value(g.outputs[i]!).name})`).toEqual(w.toNumbers()));
    }, 300_000);
  }
  for (const file of INT8_MODELS) {
    it(`${file}: webgpu, every intermediate integer value bit for bit with the reference`, async () => {
      if (!GPU) return;
      const g = everyValue(loadModelFile(path.join(DIR, file)));
      const ty = g.typeOf(g.inputs[0]!);
      const x = seededInput(ty.dtype, ty.shape as number[], 4242);
      const want = runGraph(g, [x]);
      const got = (await runOnWebgpu(g, [x])).outputs;
      want.forEach((w, i) => expect(got[i]!.toNumbers(), `value ${i} (${g.value(g.outputs[i]!).name})`).toEqual(w.toNumbers()));
    }, 300_000);
  }
});
