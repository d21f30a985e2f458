/**
 * `edgec report`: the trade-off report over a sweep of measured configurations
 * (precision x pruning x target). Writes report.json, report.md and report.html
 * (../../shared/CLI.md). The HTML is one self-contained file: inline CSS and inline SVG charts, no
 * scripts, no network. Every name (model, configuration, device) is data and is escaped.
 *
 * Pareto front: over (maximize accuracy, minimize size_bytes, latency_ms, energy_mj) by default
 * (minimize the metric for 'mse'). A configuration is on the front when no other configuration is
 * at least as good in every objective and strictly better in one; exact ties are therefore all on
 * the front. A configuration with a missing or non-finite objective is never on the front (and
 * never dominates another).
 */
import { sanitize, usage } from '../compiler/errors.js';
import type { ProfileResult } from './profile.js';

/** One compiled and measured configuration (the lead's sweep fills these). */
export interface MeasuredConfig {
  /** Unique, human-readable name, e.g. "int8-p0.5-wasm". */
  name: string;
  precision: string;
  /** Pruning ratio in [0, 1). */
  prune: number;
  target: string;
  /** Task metric on the labelled data (accuracy, or MSE for `metric: 'mse'`); null if unknown. */
  accuracy: number | null;
  size_bytes: number | null;
  latency_ms: number | null;
  energy_mj: number | null;
  macs: number | null;
  /** Anything else (device used for energy, error text, ...) is copied into report.json. */
  [extra: string]: unknown;
}

/** A configuration in report.json. */
export type ReportConfig = MeasuredConfig & { pareto: boolean };

/**
 * One objective of the Pareto front. Two values are tied (neither is better) when they differ by
 * no more than the sum of their spreads (`spreadKey`, e.g. the latency's run-to-run spread), than
 * `rel` times the smaller one, or than `abs`: a difference inside the measurement noise decides nothing.
 */
export interface Objective {
  key: string;
  goal: 'max' | 'min';
  /** Field holding each point's +- spread of this value (absent or missing: 0). */
  spreadKey?: string;
  /** Relative tie band (default 0: exact comparison). */
  rel?: number;
  /** Absolute tie band in the value's unit (default 0). */
  abs?: number;
}

/** Latency differences below this fraction are ties in the report's front (host timing noise). */
export const LATENCY_TIE = 0.05;
/**
 * Latency differences below this many ms are ties too: for models that run in tens of microseconds
 * the host's timer and scheduling jitter (microseconds) exceeds 5% and flipped the front run to run.
 */
export const LATENCY_TIE_MS = 0.005;

/** report.json */
export interface ReportJson {
  model: string;
  /** Device whose estimates fill est_latency_ms / energy_mj (when the sweep names one). */
  device?: string;
  metric: 'accuracy' | 'mse';
  objectives: Objective[];
  configs: ReportConfig[];
  /** Names of the Pareto-optimal configurations, in config order. */
  pareto_front: string[];
  notes: string[];
}

export interface ReportOptions {
  /** Task metric held in `accuracy` (default 'accuracy': higher is better; 'mse': lower). */
  metric?: 'accuracy' | 'mse';
  /** Device of the estimate columns (shown in their headers). */
  device?: string;
  /** Extra notes (e.g. which device the energy estimates use). */
  notes?: string[];
}

/**
 * Fills the measured fields of a sweep configuration from its profile: `latency_ms` is the host
 * measurement of the configuration's target when the profile has one (wasm, else the reference
 * interpreter only when `allowRef`), otherwise the device estimate; `energy_mj` is always the
 * device estimate. Extra fields say where each number comes from.
 * @param p profile of the configuration's (compiled) graph
 * @param base name, precision, prune, target, accuracy and size_bytes of the configuration
 * @param device device whose estimates to use (must be in the profile)
 * @param allowRef use a reference-interpreter measurement as latency (default false: the
 *   interpreter's speed says little about a deployed model)
 */
export function configFromProfile(
  p: ProfileResult,
  base: Pick<MeasuredConfig, 'name' | 'precision' | 'prune' | 'target' | 'accuracy' | 'size_bytes'> & Record<string, unknown>,
  device: string,
  allowRef = false,
): MeasuredConfig {
  if (!(device in p.energy.estimated)) throw usage(`device "${device}" is not in the profile (have: ${Object.keys(p.energy.estimated).join(', ')})`);
  const host = p.latency.measured.wasm ?? (allowRef ? p.latency.measured.ref : undefined);
  const engine = p.latency.measured.wasm ? 'wasm' : 'ref';
  return {
    ...base,
    latency_ms: host ? host.total_ms : p.latency.estimated[device]!,
    energy_mj: p.energy.estimated[device]!,
    macs: p.macs,
    nnz_macs: p.nnz_macs,
    latency_source: host ? `measured on this host (${engine}, median of ${host.runs})` : `estimated for ${device}`,
    energy_source: `estimated for ${device}`,
    est_latency_ms: p.latency.estimated[device]!,
    arena_bytes: p.arena_bytes,
  };
}

/**
 * Default objectives for a metric.
 * @param sizeKey the size field ('size_bytes', or 'gzip_bytes' where the sweep records it: what a
 *   download or a flash image with compression costs, and what sparsity changes)
 */
export function defaultObjectives(metric: 'accuracy' | 'mse' = 'accuracy', sizeKey = 'size_bytes'): Objective[] {
  return [
    { key: 'accuracy', goal: metric === 'mse' ? 'min' : 'max' },
    { key: sizeKey, goal: 'min' },
    { key: 'latency_ms', goal: 'min', spreadKey: 'latency_spread_ms' },
    { key: 'energy_mj', goal: 'min' },
  ];
}

/** A finite numeric field, or undefined. */
function num(p: object, key: string): number | undefined {
  const v = (p as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Pareto-optimal flags for `points` (same order as the input).
 * @param points objects holding the objective fields
 * @param objectives keys to maximize or minimize
 * @returns pareto[i] is true when no point dominates points[i]
 */
export function paretoFront(points: readonly object[], objectives: readonly Objective[]): boolean[] {
  const vals = points.map((p) => objectives.map((o) => {
    const v = num(p, o.key);
    return v === undefined ? undefined : o.goal === 'max' ? v : -v; // larger is better
  }));
  const spreads = points.map((p) => objectives.map((o) => (o.spreadKey ? Math.abs(num(p, o.spreadKey) ?? 0) : 0)));
  const complete = vals.map((v) => v.every((x) => x !== undefined)) as boolean[];
  // +1: b better than a in objective k; -1: worse; 0: tied within the spreads / relative band
  const cmp = (i: number, j: number, k: number): number => {
    const a = vals[i]![k]!;
    const b = vals[j]![k]!;
    const tol = Math.max(spreads[i]![k]! + spreads[j]![k]!, (objectives[k]!.rel ?? 0) * Math.min(Math.abs(a), Math.abs(b)), objectives[k]!.abs ?? 0);
    return b - a > tol ? 1 : a - b > tol ? -1 : 0;
  };
  return vals.map((a, i) => {
    if (!complete[i]) return false;
    for (let j = 0; j < vals.length; j++) {
      if (j === i || !complete[j]) continue;
      let geAll = true;
      let gtOne = false;
      for (let k = 0; k < a.length; k++) {
        const c = cmp(i, j, k);
        if (c < 0) { geAll = false; break; }
        if (c > 0) gtOne = true;
      }
      if (geAll && gtOne) return false;
    }
    return true;
  });
}

const PRECISION_RANK: Readonly<Record<string, number>> = { fp32: 0, fp16: 1, int8: 2, int4: 3 };

/** Code-unit string comparison (locale independent, so the order is the same everywhere). */
function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Deterministic configuration order: precision (fp32, fp16, int8, int4, others), prune, target, name. */
export function compareConfigs(a: MeasuredConfig, b: MeasuredConfig): number {
  const ra = PRECISION_RANK[a.precision] ?? 99;
  const rb = PRECISION_RANK[b.precision] ?? 99;
  if (ra !== rb) return ra - rb;
  if (ra === 99 && a.precision !== b.precision) return cmpStr(String(a.precision), String(b.precision));
  if (a.prune !== b.prune) return (a.prune ?? 0) - (b.prune ?? 0);
  if (a.target !== b.target) return cmpStr(String(a.target), String(b.target));
  if (a.name !== b.name) return cmpStr(String(a.name), String(b.name));
  return cmpStr(JSON.stringify(a), JSON.stringify(b)); // same name twice: still one order
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!);
}

/** Escapes text for a Markdown table cell (no raw HTML, no pipes, no line breaks). */
export function escapeMd(s: unknown): string {
  return sanitize(String(s), 200)
    .replace(/[\\`*_[\]|<>&#!]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '|': '\\|' } as Record<string, string>)[c] ?? `\\${c}`);
}

function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

function fmtCount(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}K`;
  return String(v);
}

function fmtBytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v >= 1024 * 1024) return `${Number((v / 1024 / 1024).toFixed(2))} MiB`;
  if (v >= 1024) return `${Number((v / 1024).toFixed(1))} KiB`;
  return `${v} B`;
}

/**
 * Builds the three report files.
 * @param configs measured configurations (any order; the report sorts them deterministically)
 * @param model model name (data: escaped in every output)
 * @param opts metric and notes
 * @returns file contents: json (report.json), md (report.md), html (report.html), and the parsed report
 */
export function buildReport(configs: readonly MeasuredConfig[], model: string, opts: ReportOptions = {}): { json: string; md: string; html: string; report: ReportJson } {
  const metric = opts.metric ?? 'accuracy';
  const sizeKey = configs.some((c) => num(c, 'gzip_bytes') !== undefined) ? 'gzip_bytes' : 'size_bytes';
  const objectives = defaultObjectives(metric, sizeKey).map((o) => (o.key === 'latency_ms' ? { ...o, rel: LATENCY_TIE, abs: LATENCY_TIE_MS } : o));
  const sorted = [...configs].sort(compareConfigs);
  const front = paretoFront(sorted, objectives);
  const withPareto: ReportConfig[] = sorted.map((c, i) => ({ ...c, pareto: front[i]! }));
  const notes = [
    `Pareto front over: ${objectives.map((o) => `${o.goal === 'max' ? 'maximize' : 'minimize'} ${o.key}`).join(', ')}; `
      + `latencies within their measured spread, ${LATENCY_TIE * 100}% or ${LATENCY_TIE_MS * 1000} µs of each other are ties; ties are all kept; configurations with a missing value are excluded.`,
    ...(opts.notes ?? []),
  ];
  const sources = [...new Set(sorted.map((c) => c['latency_source']).filter((x): x is string => typeof x === 'string'))].sort();
  if (sources.length > 1) notes.push(`latency_ms comes from different sources (${sources.join('; ')}): compare like with like.`);
  else if (sources.length === 1) notes.push(`latency_ms: ${sources[0]}.`);
  const esources = [...new Set(sorted.map((c) => c['energy_source']).filter((x): x is string => typeof x === 'string'))].sort();
  if (esources.length) notes.push(`energy_mj: ${esources.join('; ')} (estimates, see edgec profile).`);
  const report: ReportJson = {
    model,
    ...(opts.device !== undefined ? { device: opts.device } : {}),
    metric,
    objectives,
    configs: withPareto,
    pareto_front: withPareto.filter((c) => c.pareto).map((c) => c.name),
    notes,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  return { json, md: renderMarkdown(report), html: renderHtml(report), report };
}

/** Table columns, one unit each: host measurements and device estimates never share a column. */
function columns(r: ReportJson): { head: string; f: (c: ReportConfig) => string }[] {
  const dev = r.device ? ` (${r.device})` : '';
  const cols: { head: string; f: (c: ReportConfig) => string }[] = [
    { head: 'config', f: (c) => String(c.name) },
    { head: 'precision', f: (c) => String(c.precision) },
    { head: 'prune', f: (c) => fmt(c.prune, 3) },
    { head: 'target', f: (c) => String(c.target) },
    { head: r.metric === 'mse' ? 'MSE' : 'accuracy', f: (c) => fmt(c.accuracy) },
    { head: 'size', f: (c) => fmtBytes(c.size_bytes) },
  ];
  if (r.configs.some((c) => num(c, 'gzip_bytes') !== undefined)) cols.push({ head: 'gzip size', f: (c) => fmtBytes(num(c, 'gzip_bytes')) });
  cols.push({ head: 'host latency ms', f: (c) => fmt(c.latency_ms) + (num(c, 'latency_spread_ms') !== undefined && c.latency_ms !== null ? ` ±${fmt(num(c, 'latency_spread_ms'), 2)}` : '') });
  if (r.configs.some((c) => num(c, 'est_latency_ms') !== undefined)) cols.push({ head: `est. latency ms${dev}`, f: (c) => fmt(num(c, 'est_latency_ms')) });
  cols.push({ head: `energy mJ${dev}`, f: (c) => fmt(c.energy_mj) });
  cols.push({ head: 'MACs', f: (c) => fmtCount(c.macs) });
  if (r.configs.some((c) => num(c, 'nnz_macs') !== undefined && num(c, 'nnz_macs') !== c.macs)) cols.push({ head: 'nonzero-weight MACs', f: (c) => fmtCount(num(c, 'nnz_macs') ?? null) });
  return cols;
}

function renderMarkdown(r: ReportJson): string {
  const metricName = r.metric === 'mse' ? 'MSE (lower is better)' : 'accuracy';
  const cols = columns(r);
  let s = `# edgec trade-off report: ${escapeMd(r.model)}\n\n`;
  s += `${r.configs.length} configuration(s); metric: ${metricName}. Pareto-optimal rows are marked with \\*.\n\n`;
  s += `| # | pareto | ${cols.map((c) => escapeMd(c.head)).join(' | ')} |\n`;
  s += `|---|---|${cols.map(() => '---').join('|')}|\n`;
  r.configs.forEach((c, i) => {
    s += `| ${i + 1} | ${c.pareto ? '\\*' : ''} | ${cols.map((col) => escapeMd(col.f(c))).join(' | ')} |\n`;
  });
  s += `\n## Pareto front\n\n`;
  const front = r.configs.filter((c) => c.pareto);
  s += front.length ? front.map((c) => `- ${escapeMd(c.name)}: ${escapeMd(`${fmt(c.accuracy)} ${r.metric}, ${fmtBytes(c.size_bytes)}, ${fmt(c.latency_ms)} ms, ${fmt(c.energy_mj)} mJ`)}`).join('\n') + '\n' : '(empty: no configuration has every value)\n';
  const rebuild = r.configs.filter((c) => typeof c['rebuild'] === 'string');
  if (rebuild.length) {
    s += `\n## Rebuild a configuration\n\n`;
    for (const c of rebuild) s += `- ${escapeMd(c.name)}: \`${sanitize(String(c['rebuild']), 400).replace(/`/g, "'")}\`\n`;
  }
  s += `\n## Notes\n\n${r.notes.map((n) => `- ${escapeMd(n)}`).join('\n')}\n`;
  return s;
}

/**
 * "Nice" axis ticks (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].
 * @returns tick values, at most about `count` + 1 of them
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((st) => st >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Log-scale ticks: 1, 2, 5 x powers of ten inside [lo, hi] (lo > 0). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(12)));
    }
  }
  return out.length >= 2 ? out : niceTicks(lo, hi, 4);
}

/** Marker colour per precision and marker shape per pruning level (its rank among the sweep's ratios). */
const PRECISION_COLOR: Readonly<Record<string, string>> = { fp32: '#1a73e8', fp16: '#188038', int8: '#e8710a', int4: '#9334e6' };
const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'] as const;

function marker(shape: (typeof SHAPES)[number], x: number, y: number, r: number, fill: string, stroke: string, sw: number): string {
  const a = `fill="${fill}" stroke="${stroke}" stroke-width="${sw}"`;
  const f = (v: number) => v.toFixed(1);
  switch (shape) {
    case 'circle': return `<circle cx="${f(x)}" cy="${f(y)}" r="${f(r)}" ${a}/>`;
    case 'square': return `<rect x="${f(x - r * 0.9)}" y="${f(y - r * 0.9)}" width="${f(r * 1.8)}" height="${f(r * 1.8)}" ${a}/>`;
    case 'triangle': return `<path d="M${f(x)},${f(y - r * 1.1)} L${f(x + r)},${f(y + r * 0.8)} L${f(x - r)},${f(y + r * 0.8)} Z" ${a}/>`;
    case 'diamond': return `<path d="M${f(x)},${f(y - r * 1.2)} L${f(x + r)},${f(y)} L${f(x)},${f(y + r * 1.2)} L${f(x - r)},${f(y)} Z" ${a}/>`;
    default: return `<path d="M${f(x - r)},${f(y - r)} L${f(x + r)},${f(y + r)} M${f(x - r)},${f(y + r)} L${f(x + r)},${f(y - r)}" ${a} stroke="${fill}"/>`;
  }
}

/** Width of a label in px at the charts' 10 px font (a conservative average glyph width). */
const labelWidth = (s: string): number => s.length * 6 + 2;

type Box = { x0: number; y0: number; x1: number; y1: number };
const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * A scatter chart as inline SVG: y = metric, x = a cost (log scale when it spans > 20x). Points are
 * coloured by precision and shaped by pruning level; labels (configuration names) are placed where
 * they overlap no other label or marker, else left to the tooltip; the float baseline (the
 * unpruned fp32 configuration's metric) is a dashed line.
 */
function scatterSvg(r: ReportJson, xKey: string, xLabel: string, unit: (v: number) => string, bytes = false): string {
  const W = 520;
  const H = 340;
  const m = { l: 62, r: 20, t: 30, b: 46 };
  const pruneLevels = [...new Set(r.configs.map((c) => c.prune))].sort((a, b) => a - b);
  const pts = r.configs
    .map((c, i) => ({ c, i, x: num(c, xKey), y: num(c, 'accuracy') }))
    .filter((p): p is { c: ReportConfig; i: number; x: number; y: number } => p.x !== undefined && p.y !== undefined);
  const metricName = r.metric === 'mse' ? 'MSE' : 'accuracy';
  const title = `${metricName} vs ${xLabel}`;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}">`;
  svg += `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`;
  svg += `<text x="${W / 2}" y="18" text-anchor="middle" class="t">${escapeHtml(title)}</text>`;
  if (pts.length === 0) return `${svg}<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const log = x0 > 0 && x1 / x0 > 20;
  const tx = (v: number) => (log ? Math.log10(v) : v);
  let lx0 = tx(x0);
  let lx1 = tx(x1);
  if (lx1 === lx0) { lx0 -= log ? 0.3 : Math.abs(lx0) * 0.1 || 1; lx1 += log ? 0.3 : Math.abs(lx1) * 0.1 || 1; }
  const padX = (lx1 - lx0) * 0.08;
  lx0 -= padX; lx1 += padX;
  if (!log && x0 >= 0) lx0 = Math.max(lx0, 0); // costs are never negative
  const base = r.configs.find((c) => c.precision === 'fp32' && c.prune === 0 && num(c, 'accuracy') !== undefined);
  const baseY = base ? num(base, 'accuracy') : undefined;
  let y0 = Math.min(...ys, baseY ?? Infinity);
  let y1 = Math.max(...ys, baseY ?? -Infinity);
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.01 || 0.01; y1 += Math.abs(y1) * 0.01 || 0.01; }
  const padY = (y1 - y0) * 0.08;
  y0 -= padY; y1 += padY;
  if (r.metric === 'accuracy') { y1 = Math.min(y1, 1); y0 = Math.max(y0, 0); } // accuracy lives in [0, 1]
  else y0 = Math.max(y0, 0);
  const px = (v: number) => m.l + ((tx(v) - lx0) / (lx1 - lx0)) * (W - m.l - m.r);
  const py = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  svg += `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`;
  svg += `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`;
  for (const yv of niceTicks(y0, y1, 5)) {
    svg += `<line x1="${m.l - 4}" y1="${py(yv).toFixed(1)}" x2="${W - m.r}" y2="${py(yv).toFixed(1)}" stroke="#f1f3f4"/>`;
    svg += `<text x="${m.l - 6}" y="${py(yv).toFixed(1)}" text-anchor="end" dominant-baseline="middle" class="a">${escapeHtml(fmt(yv, 3))}</text>`;
  }
  // byte axes tick at round KiB / MiB values, others at round values of their unit
  const div = bytes ? (Math.max(...xs) >= 1024 * 1024 ? 1024 * 1024 : 1024) : 1;
  const xt = (log ? logTicks(10 ** lx0 / div, 10 ** lx1 / div) : niceTicks(lx0 / div, lx1 / div, 5)).map((v) => v * div);
  for (const xv of xt) {
    svg += `<text x="${px(xv).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle" class="a">${escapeHtml(unit(xv))}</text>`;
  }
  svg += `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle" class="a">${escapeHtml(xLabel)}${log ? ' (log scale)' : ''}</text>`;
  const boxes: Box[] = [];
  if (baseY !== undefined) {
    svg += `<line x1="${m.l}" y1="${py(baseY).toFixed(1)}" x2="${W - m.r}" y2="${py(baseY).toFixed(1)}" stroke="#1a73e8" stroke-dasharray="2 3" class="baseline"/>`;
    // the baseline's own label sits below the line at the left, and is an obstacle for point labels
    const by = py(baseY) + 12 <= H - m.b - 2 ? py(baseY) + 12 : py(baseY) - 4;
    svg += `<text x="${m.l + 4}" y="${by.toFixed(1)}" class="a bl">fp32 baseline</text>`;
    boxes.push({ x0: m.l + 4, y0: by - 10, x1: m.l + 4 + labelWidth('fp32 baseline'), y1: by + 2 });
  }
  // the 2-D front of this projection, as a step line
  const objY: Objective = { key: 'accuracy', goal: r.metric === 'mse' ? 'min' : 'max' };
  const f2 = paretoFront(pts.map((p) => p.c), [objY, { key: xKey, goal: 'min' }]);
  const line = pts.filter((_, k) => f2[k]).sort((a, b) => a.x - b.x || a.y - b.y);
  if (line.length > 1) {
    const d = line.map((p, k) => `${k === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    svg += `<path d="${d}" fill="none" stroke="#5f6368" stroke-width="1.2" stroke-dasharray="4 3"/>`;
  }
  // markers first (their boxes are obstacles), then labels placed greedily without overlaps
  const order = [...pts].sort((a, b) => Number(b.c.pareto) - Number(a.c.pareto) || a.i - b.i); // front labels first
  let marks = '';
  for (const p of pts) {
    const cx = px(p.x);
    const cy = py(p.y);
    const rr = p.c.pareto ? 6 : 4.5;
    boxes.push({ x0: cx - rr, y0: cy - rr, x1: cx + rr, y1: cy + rr });
    const shape = SHAPES[Math.min(pruneLevels.indexOf(p.c.prune), SHAPES.length - 1)] ?? 'circle';
    const tip = `${p.c.name}: ${metricName} ${fmt(p.y)}, ${xLabel} ${unit(p.x)}${p.c.pareto ? ' (Pareto-optimal)' : ''}`;
    marks += `<g><title>${escapeHtml(tip)}</title>${marker(shape, cx, cy, rr, PRECISION_COLOR[p.c.precision] ?? '#9aa0a6', p.c.pareto ? '#202124' : '#fff', p.c.pareto ? 1.6 : 0.8)}</g>`;
  }
  svg += marks;
  let labels = '';
  for (const p of order) {
    const cx = px(p.x);
    const cy = py(p.y);
    const text = p.c.name;
    const w = labelWidth(text);
    const cands: Box[] = [
      { x0: cx + 8, y0: cy - 13, x1: cx + 8 + w, y1: cy - 1 },
      { x0: cx + 8, y0: cy + 1, x1: cx + 8 + w, y1: cy + 13 },
      { x0: cx - 8 - w, y0: cy - 13, x1: cx - 8, y1: cy - 1 },
      { x0: cx - 8 - w, y0: cy + 1, x1: cx - 8, y1: cy + 13 },
    ];
    const ok = cands.find((b) => b.x0 >= m.l && b.x1 <= W - 2 && b.y0 >= m.t && b.y1 <= H - m.b && !boxes.some((o) => overlaps(o, b)));
    if (!ok) continue; // crowded: the tooltip and the table carry the name
    boxes.push(ok);
    labels += `<text x="${ok.x0.toFixed(1)}" y="${(ok.y1 - 2).toFixed(1)}" class="n">${escapeHtml(text)}</text>`;
  }
  return `${svg}${labels}</svg>`;
}

function renderHtml(r: ReportJson): string {
  const cols = columns(r);
  const hasRebuild = r.configs.some((c) => typeof c['rebuild'] === 'string');
  const head = `<tr><th>#</th><th>Pareto</th>${cols.map((c) => `<th>${escapeHtml(c.head)}</th>`).join('')}${hasRebuild ? '<th>rebuild this</th>' : ''}</tr>`;
  const rows = r.configs.map((c, i) => `<tr${c.pareto ? ' class="p"' : ''}><td>${i + 1}</td><td>${c.pareto ? '&#9733;' : ''}</td>${cols.map((col) => `<td>${escapeHtml(col.f(c))}</td>`).join('')}`
    + `${hasRebuild ? `<td class="cmd"><code>${escapeHtml(typeof c['rebuild'] === 'string' ? c['rebuild'] : '')}</code></td>` : ''}</tr>`).join('\n');
  const dev = r.device ? ` (${r.device})` : '';
  const sizeKey = r.objectives.find((o) => /bytes/.test(o.key))?.key ?? 'size_bytes';
  const charts = [
    scatterSvg(r, sizeKey, sizeKey === 'gzip_bytes' ? 'size (gzip)' : 'size', (v) => fmtBytes(v), true),
    scatterSvg(r, 'latency_ms', 'host latency (ms)', (v) => `${fmt(v, 3)} ms`),
    scatterSvg(r, 'energy_mj', `energy (mJ)${dev}`, (v) => `${fmt(v, 3)} mJ`),
  ].join('\n');
  const levels = [...new Set(r.configs.map((c) => c.prune))].sort((a, b) => a - b);
  const precs = [...new Set(r.configs.map((c) => String(c.precision)))];
  const legend = precs.map((p) => `<span class="sw" style="background:${PRECISION_COLOR[p] ?? '#9aa0a6'}"></span>${escapeHtml(p)}`).join('')
    + levels.map((l, k) => `<svg width="14" height="14" class="lg">${marker(SHAPES[Math.min(k, SHAPES.length - 1)]!, 7, 7, 5, '#9aa0a6', '#333', 0.8)}</svg>prune ${escapeHtml(fmt(l, 3))}`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>edgec report: ${escapeHtml(r.model)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#202124}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.charts svg{border:1px solid #dadce0;border-radius:4px}
svg .t{font-size:13px;font-weight:600}svg .a{font-size:10px;fill:#5f6368}svg .n{font-size:10px;fill:#202124}
table{border-collapse:collapse;margin-top:8px}th,td{border:1px solid #dadce0;padding:3px 8px;text-align:right}
th{background:#f1f3f4}td:nth-child(3),td:nth-child(4),td:nth-child(6),td.cmd{text-align:left}
td.cmd code{font-size:11px;white-space:nowrap}
tr.p td{background:#fef7e0}
.legend .sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px}
.legend svg.lg{vertical-align:middle;margin:0 4px 0 12px}
</style>
</head>
<body>
<h1>edgec trade-off report: ${escapeHtml(r.model)}</h1>
<p>${r.configs.length} configuration(s). Metric: ${r.metric === 'mse' ? 'MSE (lower is better)' : 'accuracy (higher is better)'}.
Pareto-optimal points have a dark outline; dashed line: the front of each two-objective view.</p>
<p class="legend">${legend}</p>
<div class="charts">
${charts}
</div>
<h2>Configurations</h2>
<table>
${head}
${rows}
</table>
<h2>Notes</h2>
<ul>
${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}
</ul>
</body>
</html>
`;
}
