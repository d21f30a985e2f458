/** Device profiles: built-ins are complete and sourced, --device resolution and custom JSON files. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgecError } from '../../compiler/errors.js';
import { DEVICES, PRECISIONS, deviceNames, resolveDevice, validateDevice } from '../../profile/devices.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-dev-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function thrown(f: () => unknown): EdgecError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgecError);
    return e as EdgecError;
  }
  throw new Error('expected an error');
}

describe('built-in devices', () => {
  it('include the documented families', () => {
    for (const n of ['cortex-m4', 'cortex-m7', 'esp32-s3', 'cortex-a53', 'cortex-a72', 'browser-wasm-simd', 'jetson-nano', 'zynq-7020']) {
      expect(deviceNames()).toContain(n);
    }
  });
  it.each(DEVICES.map((d) => [d.name, d] as const))('%s: complete, positive, sourced, and a valid JSON device', (_n, d) => {
    for (const p of PRECISIONS) {
      expect(d.macsPerSec[p]).toBeGreaterThan(0);
      expect(d.energyPerMac[p]).toBeGreaterThan(0);
    }
    expect(d.onchip.bytes).toBeGreaterThan(0);
    expect(d.offchip.bytes).toBeGreaterThan(d.onchip.bytes);
    expect(d.offchip.bandwidth).toBeLessThanOrEqual(d.onchip.bandwidth);
    expect(d.sources.length).toBeGreaterThan(0);
    // a built-in round-trips through the custom-device validator unchanged
    expect(validateDevice(JSON.parse(JSON.stringify(d)))).toEqual(d);
  });
  it('MCU capacities match their datasheets (STM32F407: 192 KB SRAM, 1 MB flash; Zynq-7020: 140 x 36 Kb BRAM)', () => {
    const m4 = resolveDevice('cortex-m4');
    expect(m4.onchip.bytes).toBe(192 * 1024);
    expect(m4.offchip.bytes).toBe(1024 * 1024);
    // 140 * 36 Kib = 5040 Kib = 630 KiB
    expect(resolveDevice('zynq-7020').onchip.bytes).toBe((140 * 36 * 1024) / 8);
  });
});

describe('resolveDevice', () => {
  it('is case-insensitive for built-in names', () => {
    expect(resolveDevice('Cortex-M7').name).toBe('cortex-m7');
  });
  it('an unknown name is a usage error listing every known device', () => {
    const e = thrown(() => resolveDevice('cortex-m99'));
    expect(e.kind).toBe('usage');
    expect(e.oneLine()).toContain('cortex-m99');
    for (const n of deviceNames()) expect(e.oneLine()).toContain(n);
  });
  it('loads a custom device from a JSON file (defaults for optional fields)', () => {
    const f = path.join(tmp, 'board.json');
    fs.writeFileSync(f, JSON.stringify({
      name: 'my-board',
      macsPerSec: { fp32: 1e8 },
      energyPerMac: { fp32: 1e-9, int8: 2e-10 },
      onchip: { bytes: 65536, bandwidth: 1e8, energyPerByte: 1e-11 },
      offchip: { what: 'spi flash', bytes: 4e6, bandwidth: 2e7, energyPerByte: 1e-10 },
      staticPowerW: 0.01,
    }));
    const d = resolveDevice(f);
    expect(d.name).toBe('my-board');
    expect(d.macsPerSec).toEqual({ fp32: 1e8, fp16: 1e8, int8: 1e8 });
    expect(d.energyPerMac.int8).toBe(2e-10);
    expect(d.weights).toBe('offchip');
    expect(d.layerOverheadS).toBe(0);
  });
  it('bad files give clear errors', () => {
    const f = path.join(tmp, 'bad.json');
    fs.writeFileSync(f, '{ not json');
    expect(thrown(() => resolveDevice(f)).kind).toBe('invalid');
    fs.writeFileSync(f, JSON.stringify({ name: 'x', macsPerSec: { fp32: -1 } }));
    const e = thrown(() => resolveDevice(f));
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain('macsPerSec.fp32');
    fs.writeFileSync(f, JSON.stringify([1, 2]));
    expect(thrown(() => resolveDevice(f)).kind).toBe('invalid');
    expect(thrown(() => resolveDevice(path.join(tmp, 'missing.json'))).kind).toBe('usage');
    fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(JSON.stringify(DEVICES[0])), name: '<script>' }));
    expect(thrown(() => resolveDevice(f)).message).toContain('"name"');
  });
});

describe('profileGraph device and engine options', () => {
  it('rejects a device given twice and an unknown engine with usage errors', async () => {
    const { GraphBuilder } = await import('../../compiler/ir/builder.js');
    const { profileGraph } = await import('../../profile/profile.js');
    const b = new GraphBuilder('g');
    b.output(b.node('Relu', [b.input('x', 'f32', [1, 4])]));
    const g = b.build();
    await expect(profileGraph(g, { devices: ['cortex-m4', 'Cortex-M4'], measure: [] })).rejects.toMatchObject({ kind: 'usage' });
    await expect(profileGraph(g, { devices: ['nope'], measure: [] })).rejects.toMatchObject({ kind: 'usage' });
    await expect(profileGraph(g, { measure: ['gpu' as never] })).rejects.toMatchObject({ kind: 'usage' });
    const p = await profileGraph(g, { measure: [] });
    expect(p.devices.map((d) => d.name)).toEqual(deviceNames());
  });
});
