/**
 * Issue 11 items 6 and 9: CLI tables fit 100 columns (`--wide` lifts the limit) and `edgec devices`
 * lists and dumps the profiler's device profiles; a custom device file reports every problem at
 * once. The models are built in code with deliberately long node names.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { DEVICES, deviceNames, validateDevice } from '../../profile/devices.js';
import { cutEnd, cutStart, formatTable } from '../../profile/table.js';
import { cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-tables-');
afterAll(() => rmTmp(tmp));

const widest = (s: string): number => Math.max(...s.split('\n').map((l) => l.length));

/** A 6-layer MLP whose node names are 70+ characters long. */
function longNamedModel(): string {
  const b = new GraphBuilder('long_names', { '': 17 });
  let x = b.input('input_with_a_rather_long_name', 'f32', [1, 16]);
  for (let i = 0; i < 6; i++) {
    const w = b.const(`w${i}`, new Tensor('f32', [16, 16], Float32Array.from({ length: 256 }, (_, k) => ((k * 7 + i) % 13) / 13 - 0.5)));
    const name = `/encoder/block_${i}/attention_projection/dense_layer_with_a_long_path/MatMul_${i}`;
    x = b.node('MatMul', [x, w], {}, { name });
    x = b.node('Relu', [x], {}, { name: `${name}/activation_relu` });
  }
  b.output(x);
  const file = path.join(tmp, 'long.onnx');
  fs.writeFileSync(file, exportOnnx(b.build()));
  return file;
}

describe('formatTable', () => {
  it('pads columns, right-aligns numbers and fits a width by shortening the shrinkable columns', () => {
    const rows = [['#', 'name', 'MACs'], ['0', 'a'.repeat(60), '12'], ['10', 'short', '3456']];
    expect(formatTable(rows, { width: Infinity, right: [0, 2] }).split('\n')[2]).toBe(`10  short${' '.repeat(55)}  3456`);
    const fit = formatTable(rows, { width: 30, shrink: [1], right: [0, 2] });
    expect(widest(fit)).toBeLessThanOrEqual(30);
    expect(fit).toContain('~aaa');
    // never below 8 characters: a table that cannot fit stays readable
    expect(widest(formatTable(rows, { width: 5, shrink: [1] }))).toBe(2 + 2 + 8 + 2 + 4);
    expect(cutStart('abcdefghij', 5)).toBe('~ghij');
    expect(cutEnd('abcdefghij', 5)).toBe('abcd~');
  });
});

describe('tables fit 100 columns', () => {
  it('inspect: node names are cut from the start, --wide prints them whole', async () => {
    const m = longNamedModel();
    const r = await cli('inspect', m);
    expect(r.code).toBe(0);
    expect(widest(r.out), r.out).toBeLessThanOrEqual(100);
    expect(r.out).toContain('~');
    const w = await cli('inspect', m, '--wide');
    expect(w.code).toBe(0);
    expect(widest(w.out)).toBeGreaterThan(100);
    expect(w.out).toContain('/encoder/block_5/attention_projection/dense_layer_with_a_long_path/MatMul_5/activation_relu');
  });
  it('profile: with every built-in device the tables fit; --wide shows every device column', async () => {
    const m = longNamedModel();
    const r = await cli('profile', m, '--measure', 'none');
    expect(r.code).toBe(0);
    expect(widest(r.out)).toBeLessThanOrEqual(100);
    expect(r.out).toMatch(/per-layer estimates for \d+ more device\(s\) are left out/);
    const w = await cli('profile', m, '--measure', 'none', '--wide');
    expect(w.code).toBe(0);
    for (const d of deviceNames()) expect(w.out).toContain(`${d} ms`);
    expect(w.out).not.toContain('left out');
  });
});

describe('edgec devices', () => {
  it('lists every built-in device in 100 columns', async () => {
    const r = await cli('devices');
    expect(r.code).toBe(0);
    expect(widest(r.out)).toBeLessThanOrEqual(100);
    for (const d of deviceNames()) expect(r.out).toMatch(new RegExp(`^${d} `, 'm'));
  });
  it('prints one device, and --json is a --device template that round-trips', async () => {
    const t = await cli('devices', 'cortex-m4');
    expect(t.code).toBe(0);
    expect(t.out).toContain('STM32F407');
    expect(t.out).toContain('sources:');
    const j = await cli('devices', 'cortex-m4', '--json');
    expect(j.code).toBe(0);
    const dev = JSON.parse(j.out) as unknown;
    expect(validateDevice(dev)).toEqual(DEVICES.find((d) => d.name === 'cortex-m4'));
    // the dumped file, renamed and edited, is accepted by profile --device
    const f = path.join(tmp, 'my-board.json');
    fs.writeFileSync(f, JSON.stringify({ ...(dev as object), name: 'my-board' }));
    const p = await cli('profile', longNamedModel(), '--measure', 'none', '--device', f);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain('my-board');
    const all = JSON.parse((await cli('devices', '--json')).out) as { name: string }[];
    expect(all.map((d) => d.name)).toEqual(deviceNames());
  });
  it('an unknown device is a usage error listing the known ones', async () => {
    const r = await cli('devices', 'cortex-m99');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('cortex-m4');
  });
  it('a device file with several problems reports them all in one line', async () => {
    const f = path.join(tmp, 'bad.json');
    fs.writeFileSync(f, JSON.stringify({ name: 'b', macsPerSecond: 1e9, onchip: { bytes: -1, bandwidth: 1e9, energyPerByte: 0 } }));
    const r = await cli('devices', f);
    expect(r.code).toBe(3);
    const line = r.err.trim();
    expect(line.split('\n')).toHaveLength(1);
    for (const want of ['unknown field "macsPerSecond"', '"macsPerSec"', '"energyPerMac"', '"onchip.bytes"', '"offchip"', 'edgec devices NAME --json']) {
      expect(line).toContain(want);
    }
    expect(line).toMatch(/5 problems/);
  });
});
