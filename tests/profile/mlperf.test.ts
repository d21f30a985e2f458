/**
 * The MCU boards' cycle models against published MLPerf Tiny results (profile/mlperf.ts): the
 * four MLPerf Tiny bench models compiled to int8 and profiled through the CLI must land within
 * +-35% of the published latency and +-50% of the published energy on every board with published
 * figures: the NUCLEO-L4R5ZI the models were fitted to, and the NUCLEO-H7A3ZI-Q (Cortex-M7) and
 * NUCLEO-U575ZI-Q (Cortex-M33) that only the CoreMark/MHz scaling reaches.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { layerCosts } from '../../profile/estimate.js';
import { resolveDevice } from '../../profile/devices.js';
import { profileGraph } from '../../profile/profile.js';
import { EdgecError } from '../../compiler/errors.js';
import { mlperfEstimates } from '../../bench/mlperf-tiny.js';
import { MLPERF_TINY } from '../../profile/mlperf.js';
import { BENCH, HAVE_MODELS } from '../cli/helpers.js';

describe.skipIf(!HAVE_MODELS)('profiler vs MLPerf Tiny', () => {
  it('every published board/benchmark: latency within 35%, energy within 50%', async () => {
    const rows = await mlperfEstimates(BENCH);
    expect(rows).toHaveLength(MLPERF_TINY.length);
    const bad = rows.filter((r) => Math.abs(r.latency_error) > 0.35 || (r.energy_error !== undefined && Math.abs(r.energy_error) > 0.5));
    expect(bad.map((r) => `${r.device}/${r.kernels}/${r.benchmark}: ${(r.latency_error * 100).toFixed(0)}% ${((r.energy_error ?? 0) * 100).toFixed(0)}%`)).toEqual([]);
    // the independent checks (boards the model was not fitted to) exist for both other cores
    expect(new Set(rows.filter((r) => !r.calibration).map((r) => r.device))).toEqual(new Set(['stm32h7a3', 'stm32u575']));
  }, 240_000);
});

describe('kernel classes and kernel models', () => {
  const b = new GraphBuilder('classes');
  const x = b.input('x', 'f32', [1, 3, 16, 16]);
  const w0 = b.const('w0', 'f32', [16, 3, 3, 3], new Float32Array(16 * 27).fill(0.01));
  const y0 = b.node('Conv', [x, w0], { pads: [1, 1, 1, 1] });
  const w1 = b.const('w1', 'f32', [16, 16, 3, 3], new Float32Array(16 * 144).fill(0.01));
  const y1 = b.node('Conv', [y0, w1], { pads: [1, 1, 1, 1] });
  const w2 = b.const('w2', 'f32', [16, 1, 3, 3], new Float32Array(16 * 9).fill(0.01));
  const y2 = b.node('Conv', [y1, w2], { pads: [1, 1, 1, 1], group: 16 });
  const w3 = b.const('w3', 'f32', [8, 16, 1, 1], new Float32Array(8 * 16).fill(0.01));
  const y3 = b.node('Conv', [y2, w3]);
  const f = b.node('Flatten', [y3]);
  const w4 = b.const('w4', 'f32', [2048, 4], new Float32Array(2048 * 4).fill(0.01));
  b.output(b.node('MatMul', [f, w4]));
  const g = b.build();

  it('layerClass: narrow first conv, conv, depthwise, pointwise, dense', () => {
    const kinds = layerCosts(g).map((c) => `${c.op}:${c.kind}`);
    expect(kinds).toEqual(['Conv:conv-narrow', 'Conv:conv', 'Conv:depthwise', 'Conv:pointwise', 'Flatten:other', 'MatMul:dense']);
  });

  it('latency = cycles / clock from the chosen kernel model; --kernels picks another; energy = power x time', async () => {
    const d = resolveDevice('stm32l4r5');
    const p = await profileGraph(g, { measure: [], devices: ['stm32l4r5'] });
    const q = await profileGraph(g, { measure: [], devices: ['stm32l4r5'], kernels: 'cmsis-nn' });
    expect(p.devices[0]!.kernels).toBe('x-cube-ai');
    expect(q.devices[0]!.kernels).toBe('cmsis-nn');
    expect(q.devices[0]!.latency_ms).toBeGreaterThan(p.devices[0]!.latency_ms);
    // recompute the fp32 total by hand from the model's figures
    const km = d.kernels![0]!;
    let cycles = 0;
    for (const c of layerCosts(g)) {
      if (c.free) continue;
      const cpm = c.kind === 'other' ? 0 : km.cyclesPerMac[c.kind];
      cycles += (c.macs * cpm + c.flops * km.cyclesPerOutput) * km.precisionFactor.fp32 + km.cyclesPerLayer;
    }
    expect(p.devices[0]!.latency_ms).toBeCloseTo((cycles / km.clockHz) * 1e3, 4);
    expect(p.devices[0]!.energy_mj).toBeCloseTo(p.devices[0]!.latency_ms * km.activePowerW, 4);
  });

  it('an unknown --kernels name is a usage error listing the available ones', async () => {
    const e = await profileGraph(g, { measure: [], devices: ['stm32l4r5'], kernels: 'nope' }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(EdgecError);
    expect((e as EdgecError).kind).toBe('usage');
    expect((e as EdgecError).oneLine()).toContain('x-cube-ai');
  });

  it('rpi4 and rpi3 are board aliases of the Cortex-A profiles', () => {
    expect(resolveDevice('rpi4').name).toBe('cortex-a72');
    expect(resolveDevice('RPi3').name).toBe('cortex-a53');
  });
});
