/**
 * HLS designs that fit: with the default 'auto' reuse factor the emitter raises per-layer reuse
 * factors until the estimate fits the part (xc7z020 by default), or fails with a one-line error
 * saying by how much it cannot; memory is estimated per array partition; and the C simulation
 * built against Xilinx's arbitrary-precision headers (-DEDGEC_AP_TYPES, the types Vitis
 * synthesizes) is bit-exact with the reference like the plain C++ build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel } from '../../quantize/index.js';
import { emitHls } from '../../targets/hls/emit.js';
import { bramFor, lutramFor, resolvePart } from '../../targets/hls/estimate.js';
import { EdgecError } from '../../compiler/errors.js';
import { HAVE_MODELS, MODELS_DIR, loadForInputs, readPb, sliceBatch, uniform } from '../models/harness.js';
import { csimVsRef, firstBitDiff } from './hls-helpers.js';

const HAVE_GXX = spawnSync(process.env['CXX'] || 'g++', ['--version']).status === 0;
const AP_DIR = path.join(MODELS_DIR, '..', 'third_party', 'hls_ap_types', 'include');
const HAVE_AP = fs.existsSync(path.join(AP_DIR, 'ap_int.h'));
if (process.env['CI'] && !HAVE_AP) throw new Error(`CI needs the Xilinx ap_types headers at ${AP_DIR} (../shared/third_party)`);

describe('memory per partition', () => {
  it('halving the bits of every partition never more than halves the memory allocated', () => {
    for (const bits of [1000, 3000, 20000, 100000, 1e6, 3.2e6]) {
      for (const parts of [1, 2, 7, 16, 64]) {
        const cap = (b: number) => bramFor(b, parts) * 18432 + lutramFor(b, parts) * 64;
        expect(cap(bits)).toBeGreaterThanOrEqual(bits); // everything is stored somewhere
        expect(cap(bits / 2)).toBeGreaterThanOrEqual(bits / 2);
        // BRAM or LUTRAM per partition, never both
        expect(bramFor(bits, parts) > 0 && lutramFor(bits, parts) > 0).toBe(false);
      }
    }
  });
});

/** The int8 graph of a model (optimized for hls, quantized on `calib`). */
function int8Graph(file: string, calib: ReturnType<typeof uniform>) {
  const g = loadOnnxFile(file);
  optimize(g, { target: 'hls' });
  return quantizeModel(g, { mode: 'int8', calib: [calib] }).graph;
}

describe.skipIf(!HAVE_MODELS)('reuse factors fitted to the part', () => {
  const part = resolvePart('xc7z020');
  const benchCalib = (m: string) => {
    const g = loadOnnxFile(path.join(MODELS_DIR, 'bench', `${m}.onnx`));
    const shape = g.value(g.inputs[0]!).type.shape.map((d) => (typeof d === 'number' ? d : 1));
    return uniform([4, ...shape.slice(1)], 7, -1, 1);
  };
  const models = [
    ...['resnet8', 'dscnn', 'mobilenetv1_025', 'autoencoder'].map((m) => ({ name: `bench/${m}`, file: path.join(MODELS_DIR, 'bench', `${m}.onnx`), calib: () => benchCalib(m) })),
    ...(HAVE_MODELS ? fs.readdirSync(path.join(MODELS_DIR, 'trained')).sort() : []).map((m) => ({
      name: `trained/${m}`, file: path.join(MODELS_DIR, 'trained', m, 'model.onnx'),
      calib: () => sliceBatch(readPb(path.join(MODELS_DIR, 'trained', m, 'calib_x.pb')), 0, 32),
    })),
  ];
  it.each(models.map((m) => [m.name, m] as const))('%s int8 fits the xc7z020 by default', (_n, m) => {
    const art = emitHls(int8Graph(m.file, m.calib()), { precision: 'int8', testVectors: false });
    const e = art.estimate;
    expect(e.fits, e.warnings.join('; ')).toBe(true);
    expect(e.total.dsp).toBeLessThanOrEqual(part.dsp);
    expect(e.total.bram18k).toBeLessThanOrEqual(part.bram18k);
    expect(e.total.lut).toBeLessThanOrEqual(part.lut);
    // the reuse factors written into the project are the ones the estimate used
    for (const l of e.layers) if (l.macs > 0) expect(art.files.get('firmware/parameters.h')).toContain(`reuse_factor = ${l.reuse_factor}`);
  }, 120_000);

  it('an explicit reuse factor is taken as given (the estimate warns); fit "warn" emits a design that cannot fit', () => {
    const g = int8Graph(path.join(MODELS_DIR, 'bench', 'dscnn.onnx'), benchCalib('dscnn'));
    const fixed = emitHls(g, { precision: 'int8', testVectors: false, reuseFactor: 1 });
    expect(fixed.estimate.fits).toBe(false);
    expect(fixed.estimate.warnings.join(' ')).toMatch(/DSP estimate \d+ exceeds the xc7z020/);
    // the smaller xc7z010 (80 DSP) still takes dscnn, at larger reuse factors
    const tiny = emitHls(g, { precision: 'int8', testVectors: false, part: 'xc7z010' });
    expect(tiny.estimate.part).toMatch(/xc7z010/);
    expect(tiny.estimate.fits, tiny.estimate.warnings.join('; ')).toBe(true);
    expect(tiny.estimate.total.dsp).toBeLessThanOrEqual(80);
    const reuse = (a: typeof tiny) => a.estimate.layers.reduce((s0, l) => s0 + l.reuse_factor, 0);
    expect(reuse(tiny)).toBeGreaterThan(reuse(emitHls(g, { precision: 'int8', testVectors: false })));
  }, 120_000);

  it('mobilenetv2 (3.5 M weights) gets a clear error saying by how much it does not fit', () => {
    const g = int8Graph(path.join(MODELS_DIR, 'bench', 'mobilenetv2.onnx'), uniform([1, 3, 224, 224], 7, -1, 1));
    let err: unknown;
    try {
      emitHls(g, { precision: 'int8', testVectors: false });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EdgecError);
    const line = (err as EdgecError).oneLine();
    expect((err as EdgecError).kind).toBe('unsupported');
    expect(line).toMatch(/does not fit the xc7z020 even with every layer at its largest reuse factor/);
    expect(line).toMatch(/BRAM18K \d+ of 280 \(\d+\.\d\dx\)/);
    expect(line).toMatch(/the weights alone are [\d.]+ KiB against 630 KiB of BRAM/);
    expect(line).toMatch(/--hls-part \w+/);
  }, 300_000);
});

describe.skipIf(!HAVE_MODELS || !HAVE_GXX || !HAVE_AP)('C simulation with the Xilinx ap_types (-DEDGEC_AP_TYPES)', () => {
  for (const m of ['digits_mlp', 'digits_allconv', 'cbf_fcn']) {
    it(`trained/${m} int8: bit for bit with the reference`, async () => {
      const dir = path.join(MODELS_DIR, 'trained', m);
      const x = sliceBatch(readPb(path.join(dir, 'test_x.pb')), 0, 4);
      const g = loadForInputs(path.join(dir, 'model.onnx'), [x]);
      optimize(g, { target: 'hls' });
      const q = quantizeModel(g, { mode: 'int8', calib: [sliceBatch(readPb(path.join(dir, 'calib_x.pb')), 0, 32)] }).graph;
      const res = await csimVsRef(q, [x], { precision: 'int8' }, { cxxFlags: ['-DEDGEC_AP_TYPES', `-I${AP_DIR}`] });
      expect(res.art.files.get('firmware/defines.h')).toMatch(/ap_int\.h/);
      res.want.forEach((w, k) => {
        const bad = firstBitDiff(res.outputs[k]!, w);
        expect(bad < 0 ? 'same' : `output ${k}[${bad}] ${res.outputs[k]!.get(bad)} vs ${w.get(bad)}`).toBe('same');
      });
    }, 180_000);
  }
});
