/**
 * Profiles of the benchmark models (../shared/models/bench): per-layer MACs add up to the model's
 * MACs (the figures of shared/models/README.md), capacity flags where the datasheet numbers say the
 * model cannot fit, and measured per-layer times on the reference interpreter and the wasm target.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { PassManager, pipelineFor } from '../../compiler/pipeline.js';
import { profileGraph, renderProfileTable } from '../../profile/profile.js';
import { measureReference } from '../../profile/measure.js';
import { deviceNames } from '../../profile/devices.js';
import { summarize } from '../../cli/model.js';
import { MODELS_DIR } from '../models/harness.js';

const BENCH = path.join(MODELS_DIR, 'bench');
/** MACs in millions from shared/models/README.md, with the number of decimals given there. */
const README_MACS: Record<string, [number, number]> = {
  resnet8: [12.5, 1], dscnn: [2.66, 2], mobilenetv1_025: [7.49, 2], autoencoder: [0.26, 2], mobilenetv2: [300.8, 1],
};
const have = fs.existsSync(BENCH);

describe.skipIf(!have)('bench models', () => {
  it.each(Object.keys(README_MACS))('%s: per-layer MACs sum to the model MACs; every device gives finite estimates', async (m) => {
    const g = loadOnnxFile(`${BENCH}/${m}.onnx`);
    const p = await profileGraph(g, { measure: [] });
    expect(p.layers).toHaveLength(g.nodes.size);
    const sum = p.layers.reduce((a, l) => a + l.macs, 0);
    expect(sum).toBe(p.macs);
    expect(sum).toBe(summarize(g).macs); // the inspect command's count
    const [millions, decimals] = README_MACS[m]!;
    expect((sum / 1e6).toFixed(decimals)).toBe(millions.toFixed(decimals));
    expect(Object.keys(p.latency.estimated)).toEqual(deviceNames());
    for (const d of p.devices) {
      expect(Number.isFinite(d.latency_ms) && d.latency_ms > 0).toBe(true);
      expect(Number.isFinite(d.energy_mj) && d.energy_mj > 0).toBe(true);
      const layerSum = p.layers.reduce((a, l) => a + l.devices[d.name]!.latency_ms, 0);
      expect(Math.abs(layerSum - d.latency_ms) / d.latency_ms).toBeLessThan(1e-4); // layer values rounded to 6 digits
    }
    // the JSON form has the CLI.md keys
    const j = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
    for (const k of ['layers', 'latency', 'energy']) expect(j).toHaveProperty(k);
  });

  it('ResNet-8 is exactly 12,501,632 MACs: conv layers computed from their shapes by hand', async () => {
    // stem 3->16 3x3 @32x32: 32*32*16*27 = 442,368; block1 two 16->16 3x3 @32x32: 2 * 2,359,296;
    // block2: 16->32 3x3 s2 @16x16 (1,179,648), 32->32 (2,359,296), 1x1 shortcut 16*32*256 = 131,072;
    // block3: 32->64 s2 @8x8 (1,179,648), 64->64 (2,359,296), shortcut 32*64*64 = 131,072; fc 64*10 = 640
    const want = 442368 + 2 * 2359296 + 1179648 + 2359296 + 131072 + 1179648 + 2359296 + 131072 + 640;
    expect(want).toBe(12501632);
    const p = await profileGraph(loadOnnxFile(`${BENCH}/resnet8.onnx`), { measure: [] });
    expect(p.macs).toBe(want);
  });

  it('MobileNetV2 (fp32, ~3.5 M params = ~14 MB) does not fit a Cortex-M4 (1 MB flash, 192 KB SRAM)', async () => {
    const p = await profileGraph(loadOnnxFile(`${BENCH}/mobilenetv2.onnx`), { measure: [], devices: ['cortex-m4', 'cortex-a72'] });
    const m4 = p.devices.find((d) => d.name === 'cortex-m4')!;
    expect(p.weights_bytes).toBeGreaterThan(13e6);
    expect(m4.weights_fit).toBe(false);
    expect(m4.arena_fits).toBe(false); // first activation alone: 32x112x112 f32 = 1.6 MB
    expect(m4.flags.length).toBeGreaterThan(0);
    const a72 = p.devices.find((d) => d.name === 'cortex-a72')!;
    expect(a72.weights_fit).toBe(true);
  });

  it('ResNet-8: measured per-layer times on the reference interpreter and on wasm', async () => {
    const g = loadOnnxFile(`${BENCH}/resnet8.onnx`);
    new PassManager(pipelineFor('wasm')).run(g);
    const p = await profileGraph(g, { measure: ['ref', 'wasm'], devices: ['browser-wasm-simd', 'cortex-m7'], measureOptions: { runs: 3, warmup: 1 } });
    for (const e of ['ref', 'wasm'] as const) {
      const m = p.latency.measured[e]!;
      expect(m.runs).toBe(3);
      expect(m.total_ms).toBeGreaterThan(0);
    }
    for (const l of p.layers) {
      expect(typeof l.measured_ms.ref).toBe('number');
      if (l.macs > 0) expect(l.measured_ms.wasm).toBeGreaterThan(0);
    }
    // the browser device is calibrated from the measured wasm throughput; the others are not
    const wasmDev = p.devices.find((d) => d.name === 'browser-wasm-simd')!;
    expect(wasmDev.calibrated?.from).toBe('wasm');
    expect(p.devices.find((d) => d.name === 'cortex-m7')!.calibrated).toBeUndefined();
    // calibrated conv estimates are close to what was measured (same throughput by construction)
    const convMeasured = p.layers.filter((l) => l.macs > 0).reduce((a, l) => a + l.measured_ms.wasm!, 0);
    const convEst = p.layers.filter((l) => l.macs > 0).reduce((a, l) => a + l.devices['browser-wasm-simd']!.compute_ms, 0);
    expect(convEst / convMeasured).toBeGreaterThan(0.9);
    expect(convEst / convMeasured).toBeLessThan(1.1);
    const text = renderProfileTable(p);
    expect(text).toContain('wasm ms');
    expect(text).toContain('browser-wasm-simd');
  }, 60000);
});

describe.skipIf(!have)('wasm measurement of an unoptimized graph', () => {
  it('fused layers report their time on the node they replaced', async () => {
    const g = loadOnnxFile(`${BENCH}/dscnn.onnx`);
    const p = await profileGraph(g, { measure: ['wasm'], devices: ['cortex-m4'], measureOptions: { runs: 2, warmup: 1 } });
    const convs = p.layers.filter((l) => l.op === 'Conv' || l.op === 'Gemm');
    expect(convs.length).toBeGreaterThan(0);
    for (const l of convs) expect(l.measured_ms.wasm).toBeGreaterThan(0);
    const attributed = p.layers.reduce((a, l) => a + (l.measured_ms.wasm ?? 0), 0);
    expect(attributed).toBeLessThanOrEqual(p.latency.measured.wasm!.total_ms * 1.5);
  }, 60000);
});

describe('measureReference', () => {
  it('one run: per-node times plus bookkeeping add up to the total', () => {
    const b = new GraphBuilder('chain');
    let x = b.input('x', 'f32', [1, 64]);
    for (let i = 0; i < 5; i++) x = b.node('Relu', [x]);
    b.output(x);
    const g = b.build();
    const m = measureReference(g, { runs: 1, warmup: 0 });
    expect(m.layer_ms).toHaveLength(5);
    const sum = m.layer_ms.reduce<number>((a, v) => a + v!, 0);
    expect(sum + m.unattributed_ms).toBeCloseTo(m.total_ms, 6);
    expect(m.layer_ms.every((v) => v !== null && v >= 0)).toBe(true);
    expect(() => measureReference(g, { runs: 0 })).toThrow(/runs/);
  });
});

describe('renderProfileTable', () => {
  it('sanitizes hostile node names (control characters, newlines) and keeps one line per layer', async () => {
    const b = new GraphBuilder('evil\u001b[2J\nmodel');
    const x = b.input('x', 'f32', [1, 4]);
    const y = b.node('Relu', [x], {}, { name: 'a\nb\u001b[31mred' });
    b.output(b.node('Relu', [y], {}, { name: '<script>' }));
    const p = await profileGraph(b.build(), { measure: [], devices: ['cortex-m4'] });
    const t = renderProfileTable(p);
    // eslint-disable-next-line no-control-regex
    expect(t).not.toMatch(/\u001b/);
    const rows = t.split('\n').filter((l) => /^\s*\d+\s+Relu/.test(l));
    expect(rows).toHaveLength(2);
    expect(t.split('\n')[0]).toBe('model: evil?[2J?model');
  });
});

describe.skipIf(!fs.existsSync(path.join(MODELS_DIR, 'trained', 'digits_allconv')))('quantized graphs (digits_allconv)', () => {
  it('QDQ form (artifact model.onnx) and the lowered integer graph agree: int8 layers, 1-byte activations', async () => {
    const { quantizeModel } = await import('../../quantize/index.js');
    const { readDataFile } = await import('../../compiler/io/data.js');
    const { DEFAULT_LIMITS } = await import('../../compiler/errors.js');
    const { layerCosts, arenaBytes } = await import('../../profile/estimate.js');
    const dir = path.join(MODELS_DIR, 'trained', 'digits_allconv');
    const m = loadOnnxFile(`${dir}/model.onnx`);
    new PassManager(pipelineFor('ref')).run(m);
    const q = quantizeModel(m, { mode: 'int8', calib: [readDataFile(`${dir}/calib_x.pb`, DEFAULT_LIMITS)] });
    const qdq = layerCosts(q.qdq);
    const low = layerCosts(q.graph);
    const float = layerCosts(m);
    const macs = (ls: typeof qdq) => ls.reduce((a, l) => a + l.macs, 0);
    expect(macs(qdq)).toBe(macs(float));
    expect(macs(low)).toBe(macs(float));
    const convs = qdq.filter((l) => l.op === 'Conv');
    const qconvs = low.filter((l) => l.op === 'QConv');
    expect(convs.length).toBe(5);
    expect(qconvs.map((l) => l.name)).toEqual(convs.map((l) => l.name));
    convs.forEach((c, k) => {
      const lc = qconvs[k]!;
      expect(c.precision).toBe('int8');
      expect(lc.precision).toBe('int8');
      // same int8 input buffer in both forms: one byte per element of the float model's input
      const fl = float.find((l) => l.name === c.name)!;
      expect(c.bytes.input).toBe(fl.bytes.input / 4);
      expect(lc.bytes.input).toBe(c.bytes.input);
      // int8 weights + int32 bias are under half the float bytes; QDQ adds scales/zero points
      expect(lc.bytes.weight).toBeLessThan(fl.bytes.weight / 2);
      expect(c.bytes.weight).toBeGreaterThanOrEqual(lc.bytes.weight);
      expect(c.bytes.weight).toBeLessThan(fl.bytes.weight);
      // the fused Relu's int8 output: one byte per output element in both forms
      expect(c.bytes.output).toBe(fl.bytes.output / 4);
      expect(lc.bytes.output).toBe(c.bytes.output);
    });
    // Q->DQ pairs between layers and the Relus fused into the convs cost nothing; the input
    // QuantizeLinear and the output DequantizeLinear are real layers
    const pairs = qdq.filter((l) => (l.op === 'QuantizeLinear' || l.op === 'DequantizeLinear') && !l.free);
    expect(pairs.map((l) => l.op).sort()).toEqual(['DequantizeLinear', 'QuantizeLinear']);
    expect(qdq.filter((l) => l.op === 'Relu').every((l) => l.free)).toBe(true);
    // the QDQ form runs the same layers as the lowered graph: the same total activation traffic
    const act = (ls: typeof qdq) => ls.reduce((a, l) => a + l.bytes.input + l.bytes.output, 0);
    expect(act(qdq)).toBe(act(low));
    expect(arenaBytes(q.qdq)).toBeLessThan(arenaBytes(m));
  });
});
