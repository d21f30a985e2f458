/**
 * HLS target on real models: every trained model of ../shared/models/trained and the bench
 * architectures resnet8 (residual adds), dscnn (depthwise) and autoencoder (dense). The C
 * simulation (g++) of the generated project is checked against the reference interpreter on the
 * same graph: fp32 within rtol 1e-3, int8 (quantize/ minmax calibration) bit for bit on every
 * output computed by the integer kernels.
 * Batches are cut to 4 samples to keep the reference passes and the simulation short.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel } from '../../quantize/index.js';
import { lowerQdq } from '../../quantize/lower.js';
import { HAVE_MODELS, MODELS_DIR, loadForInputs, readPb, sliceBatch, uniform } from '../models/harness.js';
import { compareTensors } from '../helpers/compare.js';
import { csimVsRef, firstBitDiff } from './hls-helpers.js';

const HAVE_GXX = spawnSync(process.env['CXX'] || 'g++', ['--version']).status === 0;
const TOL = { rtol: 1e-3, atol: 1e-4 };
const BATCH = 4;

interface ModelCase {
  name: string;
  load(): { g: Graph; x: Tensor; calib: Tensor };
}

const trainedDir = path.join(MODELS_DIR, 'trained');
const cases: ModelCase[] = [];
if (HAVE_MODELS) {
  for (const m of fs.readdirSync(trainedDir).sort()) {
    cases.push({
      name: `trained/${m}`,
      load: () => {
        const dir = path.join(trainedDir, m);
        const x = sliceBatch(readPb(path.join(dir, 'test_x.pb')), 0, BATCH);
        const calib = sliceBatch(readPb(path.join(dir, 'calib_x.pb')), 0, 32);
        return { g: loadForInputs(path.join(dir, 'model.onnx'), [x]), x, calib };
      },
    });
  }
  for (const m of ['resnet8', 'dscnn', 'autoencoder']) {
    cases.push({
      name: `bench/${m}`,
      load: () => {
        const g = loadOnnxFile(path.join(MODELS_DIR, 'bench', `${m}.onnx`));
        const shape = g.value(g.inputs[0]!).type.shape.map((d) => (typeof d === 'number' ? d : 1));
        return { g, x: uniform(shape, 2, -1, 1), calib: uniform([8, ...shape.slice(1)], 1, -1, 1) };
      },
    });
  }
}

/** True when graph output k comes from DequantizeLinear (alias ops skipped). */
function integerOutput(g: Graph, k: number): boolean {
  let id = g.outputs[k]!;
  for (;;) {
    const n = g.producerOf(id);
    if (!n) return false;
    if (n.op === 'DequantizeLinear') return true;
    if (!['Identity', 'Reshape', 'Flatten'].includes(n.op)) return false;
    id = n.inputs[0]!;
  }
}

const rows: string[] = [];

describe.skipIf(!HAVE_MODELS || !HAVE_GXX)('hls: models, C simulation vs reference', () => {
  afterAll(() => {
    console.log(`\nhls models (xc7z020 estimate, auto reuse):\n| model | precision | layers | max rel err | DSP | BRAM18K | LUT | latency cycles | fits |\n|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
  });
  for (const c of cases) {
    it(`${c.name} fp32 (rtol 1e-3)`, async () => {
      const { g, x } = c.load();
      optimize(g, { target: 'hls' });
      const res = await csimVsRef(g, [x]);
      let maxRel = 0;
      res.want.forEach((w, k) => {
        const got = res.outputs[k]!;
        expect(got.shape).toEqual(w.shape);
        expect(compareTensors(got, w, TOL), `output ${k}`).toBeNull();
        for (let i = 0; i < w.size; i++) maxRel = Math.max(maxRel, Math.abs(got.get(i) - w.get(i)) / Math.max(1e-3, Math.abs(w.get(i))));
      });
      const t = res.art.estimate.total;
      rows.push(`| ${c.name} | fp32 | ${res.art.manifest['layers']} | ${maxRel.toExponential(1)} | ${t.dsp} | ${t.bram18k} | ${t.lut} | ${t.latency_cycles} | ${res.art.estimate.fits} |`);
    }, 120_000);
    it(`${c.name} int8 (bit for bit)`, async () => {
      const { g, x, calib } = c.load();
      optimize(g, { target: 'hls' });
      const q = quantizeModel(g, { mode: 'int8', calib: [calib] });
      expect(q.graph.orderedNodes().some((n) => n.op === 'QConv' || n.op === 'QGemm')).toBe(true);
      const res = await csimVsRef(q.graph, [x], { precision: 'int8' });
      res.want.forEach((w, k) => {
        const got = res.outputs[k]!;
        expect(got.shape).toEqual(w.shape);
        if (!integerOutput(q.graph, k)) {
          expect(compareTensors(got, w, TOL), `float output ${k}`).toBeNull();
          return;
        }
        const bad = firstBitDiff(got, w);
        expect(bad < 0 ? 'same' : `output ${k}[${bad}] ${got.get(bad)} vs ${w.get(bad)}`).toBe('same');
      });
      const t = res.art.estimate.total;
      rows.push(`| ${c.name} | int8 | ${res.art.manifest['layers']} | exact | ${t.dsp} | ${t.bram18k} | ${t.lut} | ${t.latency_cycles} | ${res.art.estimate.fits} |`);
    }, 120_000);
  }

  it('onnx/mnist-8-integer-quant (pre-quantized: ConvInteger/MatMulInteger -> QConv/QGemm i32 + Cast/Mul/Add), bit for bit', async () => {
    const g = loadOnnxFile(path.join(MODELS_DIR, 'onnx', 'mnist-8-integer-quant.onnx'));
    optimize(g, { target: 'hls' });
    const q = lowerQdq(g).graph;
    expect(q.orderedNodes().some((n) => n.op === 'QConv')).toBe(true);
    const shape = q.value(q.inputs[0]!).type.shape.map((d) => (typeof d === 'number' ? d : 1));
    const x = uniform(shape, 3, 0, 1);
    const res = await csimVsRef(q, [x]);
    expect(res.art.manifest.precision).toBe('int8');
    // the float tail is single float ops on f32 operands (correctly rounded in both): exact too
    const bad = firstBitDiff(res.outputs[0]!, res.want[0]!);
    expect(bad < 0 ? 'same' : `[${bad}] ${res.outputs[0]!.get(bad)} vs ${res.want[0]!.get(bad)}`).toBe('same');
    expect(res.art.files.get('firmware/myproject.cpp')).toMatch(/nnet::copy<layer\d+_t, layer\d+_t, config\d+>/);
  }, 120_000);
});
