/**
 * Roofline estimates on tiny graphs, against values computed by hand from the formulas in
 * profile/estimate.ts (every expected number below is worked out in the comments).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DeviceProfile, validateDevice } from '../../profile/devices.js';
import { arenaBytes, estimateModel, layerCosts, weightBytes } from '../../profile/estimate.js';
import { profileGraph } from '../../profile/profile.js';

/** A device with round numbers so the arithmetic is easy to follow. */
const UNIT: DeviceProfile = validateDevice({
  name: 'unit',
  description: 'round-number test device',
  kind: 'cpu',
  macsPerSec: { fp32: 1e6, fp16: 2e6, int8: 4e6 },
  energyPerMac: { fp32: 1e-9, fp16: 5e-10, int8: 2.5e-10 },
  onchip: { what: 'sram', bytes: 1000, bandwidth: 1e6, energyPerByte: 1e-10 },
  offchip: { what: 'flash', bytes: 1e6, bandwidth: 1e5, energyPerByte: 1e-9 },
  weights: 'offchip',
  staticPowerW: 0.5,
  layerOverheadS: 1e-5,
});

const fill = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

/**
 * x f32[1,2,5,5] -> Conv(w f32[4,2,3,3], b f32[4]) -> [1,4,3,3] -> Relu -> Reshape [1,36]
 *   -> Gemm(W f32[36,10], C f32[10]) -> [1,10]
 */
function tinyFloat() {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'f32', [1, 2, 5, 5]);
  const w = b.const('w', 'f32', [4, 2, 3, 3], fill(72, (i) => (i % 7) / 10));
  const bias = b.const('b', 'f32', [4], [0.1, 0.2, 0.3, 0.4]);
  const y = b.node('Conv', [x, w, bias], {}, { name: 'conv' });
  const r = b.node('Relu', [y], {}, { name: 'relu' });
  const shape = b.const('shape', 'i64', [2], [1, 36]);
  const f = b.node('Reshape', [r, shape], {}, { name: 'flatten' });
  const W = b.const('W', 'f32', [36, 10], fill(360, (i) => (i % 5) / 10));
  const C = b.const('C', 'f32', [10], fill(10, () => 0));
  const o = b.node('Gemm', [f, W, C], {}, { name: 'fc' });
  b.output(o);
  return b.build();
}

describe('layer costs (fp32)', () => {
  const g = tinyFloat();
  const c = layerCosts(g);
  it('MACs: Conv 4*3*3 outputs x 2*3*3 taps = 648; Gemm 36*10 = 360', () => {
    expect(c.map((l) => l.macs)).toEqual([648, 0, 0, 360]);
  });
  it('bytes at 4 B per f32 element; Reshape moves nothing', () => {
    // conv: in 50*4 = 200, weights 72*4 + 4*4 = 304, out 36*4 = 144
    expect(c[0]!.bytes).toEqual({ input: 200, weight: 304, output: 144, total: 648 });
    // relu: 144 in, 144 out
    expect(c[1]!.bytes).toEqual({ input: 144, weight: 0, output: 144, total: 288 });
    expect(c[2]!.bytes.total).toBe(0);
    expect(c[2]!.free).toBe(true);
    // gemm: in 144, weights 360*4 + 10*4 = 1480, out 40
    expect(c[3]!.bytes).toEqual({ input: 144, weight: 1480, output: 40, total: 1664 });
    expect(c.every((l) => l.precision === 'fp32')).toBe(true);
  });
  it('flops follow the op cost hooks: bias adds for Conv/Gemm, one per element for Relu', () => {
    expect(c.map((l) => l.flops)).toEqual([36, 36, 0, 10]);
  });
  it('arena: peak of x (200) + conv out (144); the Reshape output aliases the Relu output', () => {
    // live: x=200 | +y=344 (peak), x freed | +r=288, y freed | view | +out=184, r freed
    expect(arenaBytes(g)).toBe(344);
  });
  it('weight bytes count every constant a node reads (incl. the i64 shape)', () => {
    expect(weightBytes(g)).toBe(304 + 1480 + 16);
  });
});

describe('device estimate (fp32, unit device)', () => {
  const g = tinyFloat();
  const e = estimateModel(layerCosts(g), UNIT, { arenaBytes: 344, weightBytes: 1800 });
  it('Conv: memory bound, 3.394 ms, 1.6980224 mJ', () => {
    // compute = (648 + 36) / 1e6 s = 0.684 ms
    // memory  = 344 B on chip / 1e6 + 304 B weights off chip / 1e5 = 0.344 + 3.04 = 3.384 ms
    // latency = 3.384 + 0.01 overhead = 3.394 ms
    // energy  = 684 * 1e-9 + 344 * 1e-10 + 304 * 1e-9 + 0.5 W * 3.394e-3 s = 1.0224e-6 + 1.697e-3 J
    const l = e.layers[0]!;
    expect(l.compute_ms).toBeCloseTo(0.684, 9);
    expect(l.memory_ms).toBeCloseTo(3.384, 9);
    expect(l.latency_ms).toBeCloseTo(3.394, 9);
    expect(l.energy_mj).toBeCloseTo(1.6980224, 9);
    expect(l.bound).toBe('memory');
    expect(l.onchip_bytes).toBe(344);
    expect(l.offchip_bytes).toBe(304);
  });
  it('Relu: 0.298 ms, 0.1490648 mJ; Reshape: free', () => {
    // compute 36 / 1e6 = 0.036 ms; memory 288 / 1e6 = 0.288 ms; + 0.01
    // energy 36e-9 + 288e-10 + 0.5 * 0.298e-3 = 64.8e-9 + 149e-6 J
    expect(e.layers[1]!.latency_ms).toBeCloseTo(0.298, 9);
    expect(e.layers[1]!.energy_mj).toBeCloseTo(0.1490648, 9);
    expect(e.layers[2]!.latency_ms).toBe(0);
    expect(e.layers[2]!.energy_mj).toBe(0);
  });
  it('Gemm: 14.994 ms, 7.4988684 mJ; totals add up', () => {
    // compute 370 / 1e6 = 0.37 ms; memory 184 / 1e6 + 1480 / 1e5 = 0.184 + 14.8 ms; + 0.01
    // energy 370e-9 + 184e-10 + 1480e-9 + 0.5 * 14.994e-3 = 1.8684e-6 + 7.497e-3 J
    expect(e.layers[3]!.latency_ms).toBeCloseTo(14.994, 9);
    expect(e.layers[3]!.energy_mj).toBeCloseTo(7.4988684, 9);
    expect(e.latency_ms).toBeCloseTo(3.394 + 0.298 + 14.994, 9);
    expect(e.energy_mj).toBeCloseTo(1.6980224 + 0.1490648 + 7.4988684, 9);
    expect(e.arena_fits && e.weights_fit).toBe(true);
    expect(e.flags).toEqual([]);
  });
  it('activations larger than on-chip memory go off chip and are flagged', () => {
    const small = { ...UNIT, onchip: { ...UNIT.onchip, bytes: 300 } };
    const s = estimateModel(layerCosts(g), small, { arenaBytes: 344, weightBytes: 1800 });
    // conv: (344 + 304) B / 1e5 = 6.48 ms
    expect(s.layers[0]!.memory_ms).toBeCloseTo(6.48, 9);
    expect(s.layers[0]!.exceeds_onchip).toBe(true);
    expect(s.layers[1]!.exceeds_onchip).toBe(false); // 288 B fits
    expect(s.arena_fits).toBe(false);
    expect(s.flags.some((f) => /arena/.test(f))).toBe(true);
  });
  it('weights beyond flash are flagged; on-chip-weight devices read weights from on-chip memory when they fit', () => {
    const tiny = { ...UNIT, offchip: { ...UNIT.offchip, bytes: 1000 } };
    expect(estimateModel(layerCosts(g), tiny, { arenaBytes: 344, weightBytes: 1800 }).weights_fit).toBe(false);
    const fpga: DeviceProfile = { ...UNIT, weights: 'onchip', onchip: { ...UNIT.onchip, bytes: 4096 } };
    const f = estimateModel(layerCosts(g), fpga, { arenaBytes: 344, weightBytes: 1800 });
    expect(f.weights_onchip).toBe(true);
    // conv: (344 + 304) B on chip / 1e6 = 0.648 ms < compute 0.684 ms -> compute bound
    expect(f.layers[0]!.memory_ms).toBeCloseTo(0.648, 9);
    expect(f.layers[0]!.bound).toBe('compute');
    expect(f.layers[0]!.latency_ms).toBeCloseTo(0.694, 9);
    const fpgaSmall: DeviceProfile = { ...fpga, onchip: { ...fpga.onchip, bytes: 2000 } };
    const fs2 = estimateModel(layerCosts(g), fpgaSmall, { arenaBytes: 344, weightBytes: 1800 });
    expect(fs2.weights_onchip).toBe(false); // 1800 + 344 > 2000
    expect(fs2.flags.some((x) => /weights/.test(x))).toBe(true);
  });
});

describe('quantized and half-precision layers', () => {
  it('edgec.QConv: int8 bytes (1 B activations/weights, 4 B bias) and the int8 MAC rate', async () => {
    const b = new GraphBuilder('q');
    const x = b.input('x', 'i8', [1, 2, 5, 5]);
    const w = b.const('w', 'i8', [4, 2, 3, 3], fill(72, (i) => (i % 9) - 4));
    const bias = b.const('b', 'i32', [4], [1, 2, 3, 4]);
    const y = b.node('QConv', [x, w, bias], { multiplier: [1 << 30], shift: [31] }, { domain: 'edgec', name: 'qconv' });
    b.output(y);
    const g = b.build();
    const c = layerCosts(g);
    expect(c[0]!.precision).toBe('int8');
    expect(c[0]!.macs).toBe(648);
    expect(c[0]!.bytes).toEqual({ input: 50, weight: 72 + 16, output: 36, total: 174 });
    const e = estimateModel(c, UNIT, { arenaBytes: arenaBytes(g), weightBytes: weightBytes(g) });
    // compute (648 + 36) / 4e6 = 0.171 ms; memory 86 / 1e6 + 88 / 1e5 = 0.086 + 0.88 = 0.966 ms; + 0.01
    // energy 684 * 2.5e-10 + 86e-10 + 88e-9 + 0.5 * 0.976e-3 = 267.6e-9 + 488e-6 J
    expect(e.layers[0]!.latency_ms).toBeCloseTo(0.976, 9);
    expect(e.layers[0]!.energy_mj).toBeCloseTo(0.4882676, 9);
    expect(arenaBytes(g)).toBe(50 + 36);
    // and through profileGraph (reference measurement of the integer kernel too)
    const p = await profileGraph(g, { devices: [UNIT], measureOptions: { runs: 1, warmup: 0 } });
    expect(p.precision).toEqual({ int8: 1 });
    expect(p.latency.estimated['unit']).toBeCloseTo(0.976, 4);
  });

  it('f16 layers: 2 B per element, fp16 rate', () => {
    const b = new GraphBuilder('h');
    const x = b.input('x', 'f16', [1, 2, 5, 5]);
    const w = b.const('w', Tensor.from('f16', [4, 2, 3, 3], fill(72, (i) => i / 64)));
    const bias = b.const('b', Tensor.from('f16', [4], [0, 0, 0, 0]));
    b.output(b.node('Conv', [x, w, bias]));
    const g = b.build();
    const c = layerCosts(g)[0]!;
    expect(c.precision).toBe('fp16');
    expect(c.bytes).toEqual({ input: 100, weight: 144 + 8, output: 72, total: 324 });
    // compute (648 + 36) / 2e6 = 0.342 ms
    expect(estimateModel([c], UNIT, { arenaBytes: 172, weightBytes: 152 }).layers[0]!.compute_ms).toBeCloseTo(0.342, 9);
  });

  it('a DequantizeLinear of constant weights is folded into its consumer (stored bytes, no row cost)', () => {
    const b = new GraphBuilder('dq');
    const x = b.input('x', 'f32', [1, 2, 5, 5]);
    const wq = b.const('wq', 'i8', [4, 2, 3, 3], fill(72, (i) => (i % 9) - 4));
    const s = b.const('s', 'f32', [4], [0.1, 0.1, 0.2, 0.2]);
    const zp = b.const('zp', 'i8', [4], [0, 0, 0, 0]);
    const w = b.node('DequantizeLinear', [wq, s, zp], { axis: 0 }, { name: 'w_dq' });
    const bias = b.const('b', 'f32', [4], [0, 0, 0, 0]);
    b.output(b.node('Conv', [x, w, bias], {}, { name: 'conv' }));
    const g = b.build();
    const [dq, conv] = layerCosts(g);
    expect(dq!.free).toBe(true);
    expect(dq!.bytes.total).toBe(0);
    expect(dq!.precision).toBe('fp32');
    // weights as stored: 72 (i8) + 16 (scales) + 4 (zero points) + 16 (bias)
    expect(conv!.bytes).toEqual({ input: 200, weight: 108, output: 144, total: 452 });
    // decoded weights never occupy the arena: x (200) + y (144)
    expect(arenaBytes(g)).toBe(344);
  });
});
