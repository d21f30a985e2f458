/**
 * `edgec profile`: per-layer MACs, bytes moved, measured host latency and, per device profile, an
 * estimated latency and energy per inference. `profileGraph` returns the JSON of `--json`
 * (../../shared/CLI.md: it includes "layers", "latency" and "energy"); `renderProfileTable` prints
 * it for a terminal.
 */
import { Graph } from '../compiler/ir/graph.js';
import { sanitize, usage } from '../compiler/errors.js';
import { DEVICES, DeviceProfile, Precision, resolveDevice } from './devices.js';
import { DeviceEstimate, LayerBytes, arenaBytes, estimateModel, layerCosts, weightBytes } from './estimate.js';
import { MeasureOptions, Measurement, measureReference, measureWasm } from './measure.js';
import { TABLE_WIDTH, formatTable } from './table.js';

/** Engines the profiler can time on this host. */
export type MeasureEngine = 'ref' | 'wasm';

export interface ProfileOptions {
  /** Device names, custom device JSON paths or profiles (default: every built-in device). */
  devices?: (string | DeviceProfile)[];
  /** Engines to time (default ['ref']; [] for estimates only). */
  measure?: MeasureEngine[];
  /** Runs, warm-up, inputs for the measurements. */
  measureOptions?: MeasureOptions;
  /** Model name shown in the report (default: the graph's name). */
  model?: string;
  /** Arena bytes known from an artifact manifest (default: estimated by arenaBytes). */
  arenaBytes?: number;
  /** Precomputed measurements (e.g. from an artifact run by the caller), keyed by engine. */
  measurements?: Measurement[];
  /** Kernel library whose cycle model MCU devices use (devices.ts KernelModel name; default: each device's first). */
  kernels?: string;
}

/** One layer row of the profile. */
export interface ProfileLayer {
  index: number;
  name: string;
  op: string;
  domain: string;
  precision: Precision;
  macs: number;
  flops: number;
  bytes: LayerBytes;
  /** Measured host milliseconds per engine (median). */
  measured_ms: Partial<Record<MeasureEngine, number | null>>;
  /** Per device: estimated latency, energy and what bounds it. */
  devices: Record<string, { latency_ms: number; energy_mj: number; compute_ms: number; memory_ms: number; bound: string; exceeds_onchip: boolean }>;
}

/** A device entry of the profile: totals, capacity checks and where its numbers come from. */
export interface ProfileDevice {
  name: string;
  description: string;
  kind: string;
  /** Kernel library whose calibrated cycle model gave the figures (MCU boards); absent for roofline estimates. */
  kernels?: string;
  latency_ms: number;
  energy_mj: number;
  compute_ms: number;
  memory_ms: number;
  arena_fits: boolean;
  weights_fit: boolean;
  flags: string[];
  /** Set when rates were calibrated from this host's measurements. */
  calibrated?: { from: MeasureEngine; macs_per_sec: number };
  sources: string[];
}

/** What `edgec profile --json` prints. */
export interface ProfileResult {
  model: string;
  macs: number;
  /** MACs with a nonzero weight (LayerCost.nnzMacs summed): below `macs` for pruned weights. */
  nnz_macs: number;
  flops: number;
  weights_bytes: number;
  arena_bytes: number;
  /** Share of MACs per compute precision. */
  precision: Partial<Record<Precision, number>>;
  layers: ProfileLayer[];
  latency: {
    /** Measured host totals (median ms) per engine. */
    measured: Partial<Record<MeasureEngine, { total_ms: number; runs: number; warmup: number; unattributed_ms: number }>>;
    /** Estimated ms per inference, per device. */
    estimated: Record<string, number>;
  };
  energy: {
    unit: 'mJ';
    /** Estimated millijoules per inference, per device. */
    estimated: Record<string, number>;
  };
  devices: ProfileDevice[];
  /** Everything the estimates assume, in words. */
  notes: string[];
  /** A c-target artifact run once on an emulated microcontroller (`edgec profile DIR --emulate DEVICE`). */
  emulated?: EmulatedRun;
}

/** The emulator's count of one inference of a c-target package (QEMU -icount shift=0). */
export interface EmulatedRun {
  /** cortex-m4 or cortex-m7. */
  device: string;
  /** QEMU machine (mps2-an386, mps2-an500). */
  board: string;
  instructions: number;
  instructions_per_mac: number;
  /** Stack high-water mark of the run, bytes. */
  stack_bytes?: number;
}

/** Rounds to 6 significant digits (stable, readable JSON). */
function r6(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

/**
 * Replaces a host-calibrated device's MAC rates by the throughput measured on this host: rate =
 * sum(macs + flops) / sum(measured seconds) over layers with MACs; all precisions scale by the
 * same factor relative to the dominant precision's default rate.
 * @param d device (returned unchanged unless `d.calibrate` is 'host-wasm')
 * @param costs per-layer costs
 * @param m a wasm measurement of the same graph
 */
export function calibrateHostDevice(d: DeviceProfile, costs: ReturnType<typeof layerCosts>, m: Measurement | undefined): { device: DeviceProfile; rate?: number } {
  if (d.calibrate !== 'host-wasm' || !m || m.engine !== 'wasm') return { device: d };
  let ops = 0;
  let sec = 0;
  const byPrec = new Map<Precision, number>();
  costs.forEach((c, i) => {
    const ms = m.layer_ms[i];
    if (c.macs === 0 || c.free || ms === null || ms === undefined || !(ms > 0)) return;
    ops += c.macs + c.flops;
    sec += ms / 1e3;
    byPrec.set(c.precision, (byPrec.get(c.precision) ?? 0) + c.macs);
  });
  if (ops === 0 || sec === 0) return { device: d };
  const rate = ops / sec;
  const dominant = [...byPrec].sort((a, b) => b[1] - a[1])[0]![0];
  const f = rate / d.macsPerSec[dominant];
  const macsPerSec = { fp32: d.macsPerSec.fp32 * f, fp16: d.macsPerSec.fp16 * f, int8: d.macsPerSec.int8 * f };
  return { device: { ...d, macsPerSec }, rate };
}

/**
 * Profiles a graph: per-layer costs, measurements and device estimates.
 * @param g graph with concrete shapes (rows are its nodes; wasm layer times map onto them by name)
 * @param opts devices, engines to time, measurement options
 */
export async function profileGraph(g: Graph, opts: ProfileOptions = {}): Promise<ProfileResult> {
  const specs = opts.devices && opts.devices.length ? opts.devices : [...DEVICES];
  const devices = specs.map((s) => (typeof s === 'string' ? resolveDevice(s) : s));
  const names = new Set<string>();
  for (const d of devices) {
    if (names.has(d.name)) throw usage(`device "${d.name}" given twice`);
    names.add(d.name);
  }
  if (opts.kernels !== undefined && !devices.some((d) => d.kernels?.some((k) => k.name === opts.kernels))) {
    const known = [...new Set(devices.flatMap((d) => (d.kernels ?? []).map((k) => `${k.name} (${d.name})`)))];
    throw usage(`no selected device has a kernel model "${sanitize(opts.kernels, 40)}"`, {
      hint: known.length ? `available: ${known.join(', ')}` : 'kernel models exist for the MCU boards, e.g. --device stm32l4r5',
    });
  }
  const costs = layerCosts(g);
  const arena = opts.arenaBytes ?? arenaBytes(g);
  const weights = weightBytes(g);

  const measurements: Measurement[] = [...(opts.measurements ?? [])];
  for (const e of opts.measure ?? ['ref']) {
    if (measurements.some((m) => m.engine === e)) continue;
    if (e === 'ref') measurements.push(measureReference(g, opts.measureOptions));
    else if (e === 'wasm') measurements.push(await measureWasm(g, opts.measureOptions));
    else throw usage(`cannot measure on "${String(e)}" (expected ref or wasm)`);
  }
  const wasmM = measurements.find((m) => m.engine === 'wasm');

  const estimates: { d: DeviceProfile; e: DeviceEstimate; rate?: number }[] = devices.map((d0) => {
    const { device: d, rate } = calibrateHostDevice(d0, costs, wasmM);
    return { d, e: estimateModel(costs, d, { arenaBytes: arena, weightBytes: weights }, opts.kernels), ...(rate !== undefined ? { rate } : {}) };
  });

  const layers: ProfileLayer[] = costs.map((c, i) => {
    const measured: ProfileLayer['measured_ms'] = {};
    for (const m of measurements) {
      const v = m.layer_ms[i];
      measured[m.engine] = v === null || v === undefined ? null : r6(v);
    }
    const devs: ProfileLayer['devices'] = {};
    for (const { d, e } of estimates) {
      const l = e.layers[i]!;
      devs[d.name] = {
        latency_ms: r6(l.latency_ms), energy_mj: r6(l.energy_mj), compute_ms: r6(l.compute_ms), memory_ms: r6(l.memory_ms),
        bound: l.bound, exceeds_onchip: l.exceeds_onchip,
      };
    }
    return {
      index: c.index, name: c.name, op: c.op, domain: c.domain, precision: c.precision,
      macs: c.macs, flops: c.flops, bytes: c.bytes, measured_ms: measured, devices: devs,
    };
  });

  const macs = costs.reduce((a, c) => a + c.macs, 0);
  const precision: ProfileResult['precision'] = {};
  if (macs > 0) {
    for (const c of costs) if (c.macs > 0) precision[c.precision] = (precision[c.precision] ?? 0) + c.macs;
    for (const k of Object.keys(precision) as Precision[]) precision[k] = r6(precision[k]! / macs);
  }
  const measuredTotals: ProfileResult['latency']['measured'] = {};
  for (const m of measurements) {
    measuredTotals[m.engine] = { total_ms: r6(m.total_ms), runs: m.runs, warmup: m.warmup, unattributed_ms: r6(m.unattributed_ms) };
  }
  const latency: Record<string, number> = {};
  const energy: Record<string, number> = {};
  for (const { d, e } of estimates) {
    latency[d.name] = r6(e.latency_ms);
    energy[d.name] = r6(e.energy_mj);
  }
  return {
    model: opts.model ?? g.name,
    macs,
    nnz_macs: Math.round(costs.reduce((a, c) => a + (c.nnzMacs ?? c.macs), 0)),
    flops: costs.reduce((a, c) => a + c.flops, 0),
    weights_bytes: weights,
    arena_bytes: arena,
    precision,
    layers,
    latency: { measured: measuredTotals, estimated: latency },
    energy: { unit: 'mJ', estimated: energy },
    devices: estimates.map(({ d, e, rate }) => ({
      name: d.name,
      description: d.description,
      kind: d.kind,
      ...(e.kernels !== undefined ? { kernels: e.kernels } : {}),
      latency_ms: r6(e.latency_ms),
      energy_mj: r6(e.energy_mj),
      compute_ms: r6(e.compute_ms),
      memory_ms: r6(e.memory_ms),
      arena_fits: e.arena_fits,
      weights_fit: e.weights_fit,
      flags: e.flags,
      ...(rate !== undefined ? { calibrated: { from: 'wasm' as const, macs_per_sec: r6(rate) } } : {}),
      sources: d.sources,
    })),
    notes: [
      'Device latency and energy are roofline ESTIMATES from the device profiles in profile/devices.ts (datasheet and paper figures, see each device\'s sources), not measurements.',
      'latency = max(compute, memory) + per-layer overhead; compute = (MACs + other ops) / sustained MAC rate at the layer\'s precision; memory = bytes / bandwidth of the tier they live in.',
      'energy = (MACs + other ops) x energy per MAC + bytes x energy per byte (on-chip vs off-chip) + static power x latency.',
      'Measured times are medians on this host; per-layer reference-interpreter times include interpreter overhead.',
    ],
  };
}

/** Formats a number compactly (1.23K, 4.56M). */
function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(Math.round(n));
}

/** Word-wraps `text` to `width` columns, every line starting with `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let cur = indent;
  for (const word of text.split(' ')) {
    if (cur.length > indent.length && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = `${indent}  ${word}`;
    } else cur += (cur.length > indent.length ? ' ' : '') + word;
  }
  lines.push(cur);
  return lines.join('\n');
}

/** Formats milliseconds with 3 significant digits. */
function fmtMs(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  if (x === 0) return '0';
  return x >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

/**
 * The terminal form of a profile: per-layer table (MACs, bytes, measured ms, estimated ms per
 * device) and per-device totals with energy and capacity checks. Names are sanitized. Fitted to
 * `width` columns: layer names are shortened, and per-layer device columns that do not fit are left
 * to the device table (their totals) with a note.
 * @param p a profile from profileGraph
 * @param width line width (Infinity: no limit)
 */
export function renderProfileTable(p: ProfileResult, width = TABLE_WIDTH): string {
  const allDevs = p.devices.map((d) => d.name);
  const engines = Object.keys(p.latency.measured) as MeasureEngine[];
  const layerRows = (devs: readonly string[]): string[][] => {
    const rows = [['#', 'op', 'name', 'prec', 'MACs', 'bytes', ...engines.map((e) => `${e} ms`), ...devs.map((d) => `${d} ms`)]];
    for (const l of p.layers) {
      rows.push([
        String(l.index),
        sanitize(l.domain ? `${l.domain}.${l.op}` : l.op, 40),
        sanitize(l.name, 200),
        l.precision,
        fmtCount(l.macs),
        fmtCount(l.bytes.total),
        ...engines.map((e) => fmtMs(l.measured_ms[e])),
        ...devs.map((d) => fmtMs(l.devices[d]?.latency_ms) + (l.devices[d]?.exceeds_onchip ? '!' : '')),
      ]);
    }
    rows.push(['', 'total', '', '', fmtCount(p.macs), fmtCount(p.layers.reduce((a, l) => a + l.bytes.total, 0)),
      ...engines.map((e) => fmtMs(p.latency.measured[e]?.total_ms)), ...devs.map((d) => fmtMs(p.latency.estimated[d]))]);
    return rows;
  };
  const numericCols = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => i === 0 || i >= 4);
  // as many per-layer device columns as fit with layer names of at least 16 characters
  const widthOf = (rows: string[][]) => formatTable(rows, { width: Infinity }).split('\n')[0]!.length;
  let devs = allDevs;
  while (devs.length > 0) {
    const rows = layerRows(devs);
    const nameW = Math.max(...rows.map((r) => r[2]!.length));
    if (widthOf(rows) - Math.max(0, nameW - 16) <= width) break;
    devs = devs.slice(0, -1);
  }
  const rows = layerRows(devs);
  const spills = p.layers.some((l) => devs.some((d) => l.devices[d]?.exceeds_onchip));
  let s = `model: ${sanitize(p.model, 200)}\n`;
  s += `MACs: ${p.macs} (${fmtCount(p.macs)})${p.nnz_macs !== p.macs ? `, with a nonzero weight: ${p.nnz_macs} (${fmtCount(p.nnz_macs)})` : ''}  weights: ${p.weights_bytes} B  arena: ${p.arena_bytes} B\n`;
  for (const e of engines) {
    const m = p.latency.measured[e]!;
    s += `measured (${e}, host): ${fmtMs(m.total_ms)} ms median of ${m.runs} run(s) after ${m.warmup} warm-up\n`;
  }
  s += '\n' + formatTable(rows, { width, shrink: [2], right: numericCols(rows[0]!.length) });
  if (devs.length < allDevs.length) {
    s += `  (per-layer estimates for ${allDevs.length - devs.length} more device(s) are left out to fit ${width} columns: --wide, or --json)\n`;
  }
  if (spills) s += "  ! the layer's activations do not fit in the device's on-chip memory (they spill off chip)\n";
  s += '\n';
  const drows = [['device', 'est. ms', 'est. mJ', 'arena fits', 'weights fit', 'description']];
  for (const d of p.devices) {
    drows.push([
      sanitize(d.name, 40), fmtMs(d.latency_ms), fmtMs(d.energy_mj), d.arena_fits ? 'yes' : 'NO', d.weights_fit ? 'yes' : 'NO',
      sanitize(d.description, 100) + (d.calibrated ? ` [calibrated: ${fmtCount(d.calibrated.macs_per_sec)} MAC/s measured]` : ''),
    ]);
  }
  s += formatTable(drows, { width, shrink: [5], keepStart: [5], right: [1, 2] });
  const em = p.emulated;
  if (em) {
    s += `emulated (${sanitize(em.device, 40)}, QEMU ${sanitize(em.board, 40)} -icount): ${em.instructions} instructions per inference `
      + `(${em.instructions_per_mac.toFixed(2)} per MAC)${em.stack_bytes !== undefined ? `, stack ${em.stack_bytes} B` : ''}; instructions, not cycles\n`;
  }
  const flags = p.devices.flatMap((d) => d.flags.map((f) => wrap(`${sanitize(d.name, 40)}: ${sanitize(f, 200)}`, width, '  ')));
  if (flags.length) s += `\nwarnings:\n${flags.join('\n')}\n`;
  s += '\nDevice figures are estimates (roofline model over datasheet and paper numbers);\n`edgec devices NAME` shows a device\'s figures and their sources.\n';
  return s;
}
