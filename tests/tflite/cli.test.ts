/**
 * The CLI on .tflite models: inspect reports MLPerf Tiny's published MACs; compile (wasm) + run on
 * the artifact agrees with TFLite's interpreter; a custom op and a malformed file exit non-zero
 * with a one-line error. Fails (not skips) in CI when ../shared is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { compareTensors } from '../helpers/compare.js';
import { HAVE_MODELS, MODELS, cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { readPb } from '../models/harness.js';
import { randomTensor } from '../targets/wasm-helpers.js';
import { buildTflite } from './build.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { loadModelFile } from '../../compiler/frontends/index.js';
import { runTflite } from './oracle.js';

const DIR = path.join(MODELS, 'tflite');
const RUN = HAVE_MODELS || !!process.env['CI'];

describe('edgec CLI on .tflite files', () => {
  it.runIf(RUN)('inspect --json: MACs of the MLPerf Tiny float references (resnet 12.5 M, kws 2.66 M, vww 7.49 M, ad 0.26 M)', async () => {
    const want: [string, number][] = [
      ['mlperf-tiny/pretrainedResnet.tflite', 12.5], ['mlperf-tiny/kws_ref_model_float32.tflite', 2.66],
      ['mlperf-tiny/vww_96_float.tflite', 7.49], ['mlperf-tiny/ad01_fp32.tflite', 0.26],
    ];
    for (const [f, m] of want) {
      const r = await cli('inspect', path.join(DIR, f), '--json');
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as { macs: number };
      expect(j.macs / 1e6, f).toBeCloseTo(m, 2);
    }
  });

  it.runIf(RUN)('compile vww_96_float.tflite for wasm, run the artifact: TFLite outputs (rtol 1e-4)', async () => {
    const tmp = tmpDir();
    try {
      const model = path.join(DIR, 'mlperf-tiny/vww_96_float.tflite');
      const art = path.join(tmp, 'vww');
      const c = await cli('compile', model, '-o', art);
      expect(c.code, c.err).toBe(0);
      expect(c.out).toMatch(/target wasm, fp32\)/); // a float model: no integer ops of its own
      const x = randomTensor([1, 96, 96, 3], 9, 0, 1);
      const inFile = path.join(tmp, 'input_0.pb');
      fs.writeFileSync(inFile, encodeTensorProtoBytes(x));
      const r = await cli('run', art, '--inputs', inFile, '--out', path.join(tmp, 'out'));
      expect(r.code, r.err).toBe(0);
      const got = readPb(path.join(tmp, 'out', 'output_0.pb'));
      const [want] = await runTflite(model, [x]);
      expect(compareTensors(got, want!, { rtol: 1e-4, atol: 1e-6 })).toBeNull();
    } finally {
      rmTmp(tmp);
    }
  }, 120_000);

  it.runIf(RUN)('int8 TFLite (pretrainedResnet_quant): inspect MACs, compile for wasm, run the artifact on int8 input, run --target ref on it: the same int8 outputs as the reference interpreter', async () => {
    const tmp = tmpDir();
    try {
      const model = path.join(DIR, 'mlperf-tiny/pretrainedResnet_quant.tflite');
      const i = await cli('inspect', model, '--json');
      expect(i.code, i.err).toBe(0);
      expect((JSON.parse(i.out) as { macs: number }).macs / 1e6).toBeCloseTo(12.5, 2);
      const art = path.join(tmp, 'resnet8');
      const c = await cli('compile', model, '-o', art);
      expect(c.code, c.err).toBe(0);
      const m = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as { inputs: { dtype: string }[]; outputs: { dtype: string }[]; quantized_in_model?: string[] };
      // the summary line and the manifest say the model brought its own integer ops
      expect(c.out).toMatch(/target wasm, fp32 flag; integer ops from the model: .*edgec\.QConv/);
      expect(m.quantized_in_model).toEqual(expect.arrayContaining(['edgec.QConv', 'edgec.QGemm', 'edgec.QSoftmax']));
      expect(m.inputs[0]!.dtype).toBe('i8');
      expect(m.outputs[0]!.dtype).toBe('i8');
      let s = 11;
      const x = Tensor.from('i8', [1, 32, 32, 3], Array.from({ length: 3072 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24) - 128));
      const inFile = path.join(tmp, 'input_0.pb');
      fs.writeFileSync(inFile, encodeTensorProtoBytes(x));
      const want = runGraph(loadModelFile(model), [x])[0]!;
      for (const target of ['wasm', 'ref']) {
        const out = path.join(tmp, `out_${target}`);
        const r = await cli('run', art, '--target', target, '--inputs', inFile, '--out', out);
        expect(r.code, r.err).toBe(0);
        const got = readPb(path.join(out, 'output_0.pb'));
        expect(got.dtype).toBe('i8');
        expect(Array.from(got.data as Int8Array), target).toEqual(Array.from(want.data as Int8Array));
      }
    } finally {
      rmTmp(tmp);
    }
  }, 120_000);

  it.runIf(RUN)('the int8 LSTM (trained_lstm_int8): inspect, compile for wasm and c, run the artifacts == the reference interpreter', async () => {
    const tmp = tmpDir();
    try {
      const model = path.join(DIR, 'tflite-micro/trained_lstm_int8.tflite');
      const i = await cli('inspect', model);
      expect(i.code, i.err).toBe(0);
      expect(i.out).toContain('edgec.TflLstm');
      const art = path.join(tmp, 'lstm');
      const c = await cli('compile', model, '-o', art);
      expect(c.code, c.err).toBe(0);
      let s = 5;
      const x = Tensor.from('i8', [1, 28, 28], Array.from({ length: 784 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24) - 128));
      const inFile = path.join(tmp, 'input_0.pb');
      fs.writeFileSync(inFile, encodeTensorProtoBytes(x));
      const want = runGraph(loadModelFile(model), [x])[0]!;
      const out = path.join(tmp, 'out');
      const r = await cli('run', art, '--inputs', inFile, '--out', out);
      expect(r.code, r.err).toBe(0);
      const got = readPb(path.join(out, 'output_0.pb'));
      expect(got.dtype).toBe('i8');
      expect(Array.from(got.data as Int8Array)).toEqual(Array.from(want.data as Int8Array));
      const rc = await cli('compile', model, '--target', 'c', '-o', path.join(tmp, 'c'));
      expect(rc.code, rc.err).toBe(0);
      const rr = await cli('run', path.join(tmp, 'c'), '--inputs', inFile, '--out', path.join(tmp, 'out-c'));
      expect(rr.code, rr.err).toBe(0);
      expect(Array.from(readPb(path.join(tmp, 'out-c', 'output_0.pb')).data as Int8Array)).toEqual(Array.from(want.data as Int8Array));
    } finally {
      rmTmp(tmp);
    }
  }, 120_000);

  it('a custom op and a malformed file: one-line errors, non-zero exit', async () => {
    const tmp = tmpDir();
    try {
      const f = path.join(tmp, 'custom.tflite');
      fs.writeFileSync(f, buildTflite([{ name: 'x', shape: [1, 4] }, { name: 'y', shape: [1, 4] }], [{ code: 'TFLite_Detection_PostProcess', inputs: [0], outputs: [1] }], [0], [1]));
      const r = await cli('inspect', f);
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toContain('TFLite_Detection_PostProcess');
      const g = path.join(tmp, 'bad.tflite');
      fs.writeFileSync(g, new Uint8Array([16, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33, 255, 255, 255, 255]));
      const r2 = await cli('compile', g, '-o', path.join(tmp, 'out'));
      expect(r2.code).not.toBe(0);
      expect(r2.err.trim().split('\n')).toHaveLength(1);
      expect(r2.err).toMatch(/malformed flatbuffer|not a TFLite/);
    } finally {
      rmTmp(tmp);
    }
  });
});
