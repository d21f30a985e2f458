/**
 * `edgec devices [NAME] [--json]`: the built-in device profiles of the profiler. Without NAME, a
 * table of every device; with NAME (or a device JSON file), its full profile, and with --json the
 * profile as JSON, which is also a template for a custom `--device my-board.json`.
 */
import { sanitize } from '../compiler/errors.js';
import { DEVICES, DeviceProfile, PRECISIONS, resolveDevice } from '../profile/devices.js';
import type { CliIO } from './commands.js';
import { TABLE_WIDTH, formatTable } from '../profile/table.js';

/** Options of `edgec devices`. */
export interface DevicesCliOptions {
  json?: boolean;
  wide?: boolean;
}

/** 1.5e9 -> "1.50G" (SI prefixes). */
function si(n: number, unit = ''): string {
  const p: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, s] of p) if (n >= v) return `${(n / v).toPrecision(3)}${s}${unit}`;
  return `${n.toPrecision(3)}${unit}`;
}

/** An energy in pJ or nJ. */
function joules(j: number): string {
  return j * 1e12 < 1000 ? `${(j * 1e12).toPrecision(3)} pJ` : `${(j * 1e9).toPrecision(3)} nJ`;
}

/** Bytes as KiB/MiB/GiB. */
function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toPrecision(3)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toPrecision(3)} MiB`;
  return `${(n / 1024).toPrecision(3)} KiB`;
}

/** The device table (one row per built-in device). */
export function devicesTable(devs: readonly DeviceProfile[], width = TABLE_WIDTH): string {
  const rows = [['name', 'kind', 'int8 MAC/s', 'fp32 MAC/s', 'on-chip', 'off-chip', 'description']];
  for (const d of devs) {
    rows.push([d.name, d.kind, si(d.macsPerSec.int8), si(d.macsPerSec.fp32), bytes(d.onchip.bytes), bytes(d.offchip.bytes), d.description]);
  }
  return formatTable(rows, { width, shrink: [6], keepStart: [6], right: [2, 3, 4, 5] });
}

/** One device in full, as text. */
export function deviceText(d: DeviceProfile): string {
  const per = (r: Record<string, number>, f: (n: number) => string) => PRECISIONS.map((p) => `${p} ${f(r[p]!)}`).join(', ');
  const tier = (t: DeviceProfile['onchip']) => `${t.what}: ${bytes(t.bytes)}, ${si(t.bandwidth, 'B/s')}, ${joules(t.energyPerByte)}/B`;
  const lines = [
    `${d.name}: ${d.description}`,
    `kind: ${d.kind}`,
    `sustained MAC/s: ${per(d.macsPerSec, (n) => si(n))}`,
    `energy per MAC: ${per(d.energyPerMac, joules)}`,
    `on-chip: ${tier(d.onchip)}`,
    `off-chip: ${tier(d.offchip)}`,
    `weights live: ${d.weights}`,
    `static power: ${si(d.staticPowerW, 'W')}; per-layer overhead: ${si(d.layerOverheadS * 1e6)} us`,
    ...(d.calibrate ? [`calibrated from: ${d.calibrate} measurements`] : []),
    'sources:',
    ...d.sources.map((s) => `  - ${s}`),
    '',
    `as a template for --device FILE: edgec devices ${d.name} --json > my-device.json`,
  ];
  return lines.map((l) => sanitize(l, 400)).join('\n') + '\n';
}

/**
 * Runs `edgec devices`.
 * @param name a built-in device name or device JSON file, or undefined for the list
 */
export function cmdDevices(name: string | undefined, o: DevicesCliOptions, io: CliIO): void {
  if (name === undefined) {
    if (o.json) io.out(`${JSON.stringify(DEVICES, null, 2)}\n`);
    else io.out(devicesTable(DEVICES, o.wide ? Infinity : TABLE_WIDTH));
    return;
  }
  const d = resolveDevice(name);
  io.out(o.json ? `${JSON.stringify(d, null, 2)}\n` : deviceText(d));
}
