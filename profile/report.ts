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

/** One objective of the Pareto front. */
export interface Objective {
  key: string;
  goal: 'max' | 'min';
}

/** report.json */
export interface ReportJson {
  model: string;
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
    latency_source: host ? `measured on this host (${engine}, median of ${host.runs})` : `estimated for ${device}`,
    energy_source: `estimated for ${device}`,
    est_latency_ms: p.latency.estimated[device]!,
    arena_bytes: p.arena_bytes,
  };
}

/** Default objectives for a metric. */
export function defaultObjectives(metric: 'accuracy' | 'mse' = 'accuracy'): Objective[] {
  return [
    { key: 'accuracy', goal: metric === 'mse' ? 'min' : 'max' },
    { key: 'size_bytes', goal: 'min' },
    { key: 'latency_ms', goal: 'min' },
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
  const complete = vals.map((v) => v.every((x) => x !== undefined)) as boolean[];
  return vals.map((a, i) => {
    if (!complete[i]) return false;
    for (let j = 0; j < vals.length; j++) {
      if (j === i || !complete[j]) continue;
      const b = vals[j]!;
      let geAll = true;
      let gtOne = false;
      for (let k = 0; k < a.length; k++) {
        if (b[k]! < a[k]!) { geAll = false; break; }
        if (b[k]! > a[k]!) gtOne = true;
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
  if (v >= 1024 * 1024) return `${(v / 1024 / 1024).toFixed(2)} MiB`;
  if (v >= 1024) return `${(v / 1024).toFixed(1)} KiB`;
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
  const objectives = defaultObjectives(metric);
  const sorted = [...configs].sort(compareConfigs);
  const front = paretoFront(sorted, objectives);
  const withPareto: ReportConfig[] = sorted.map((c, i) => ({ ...c, pareto: front[i]! }));
  const notes = [
    `Pareto front over: ${objectives.map((o) => `${o.goal === 'max' ? 'maximize' : 'minimize'} ${o.key}`).join(', ')}; ties are all kept; configurations with a missing value are excluded.`,
    ...(opts.notes ?? []),
  ];
  const sources = [...new Set(sorted.map((c) => c['latency_source']).filter((x): x is string => typeof x === 'string'))].sort();
  if (sources.length > 1) notes.push(`latency_ms comes from different sources (${sources.join('; ')}): compare like with like.`);
  else if (sources.length === 1) notes.push(`latency_ms: ${sources[0]}.`);
  const esources = [...new Set(sorted.map((c) => c['energy_source']).filter((x): x is string => typeof x === 'string'))].sort();
  if (esources.length) notes.push(`energy_mj: ${esources.join('; ')} (roofline estimates, see edgec profile).`);
  const report: ReportJson = {
    model,
    metric,
    objectives,
    configs: withPareto,
    pareto_front: withPareto.filter((c) => c.pareto).map((c) => c.name),
    notes,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  return { json, md: renderMarkdown(report), html: renderHtml(report), report };
}

const COLUMNS: { key: keyof MeasuredConfig; head: string; f: (c: ReportConfig) => string }[] = [
  { key: 'name', head: 'config', f: (c) => String(c.name) },
  { key: 'precision', head: 'precision', f: (c) => String(c.precision) },
  { key: 'prune', head: 'prune', f: (c) => fmt(c.prune, 3) },
  { key: 'target', head: 'target', f: (c) => String(c.target) },
  { key: 'accuracy', head: 'metric', f: (c) => fmt(c.accuracy) },
  { key: 'size_bytes', head: 'size', f: (c) => fmtBytes(c.size_bytes) },
  { key: 'latency_ms', head: 'latency ms', f: (c) => fmt(c.latency_ms) },
  { key: 'energy_mj', head: 'energy mJ', f: (c) => fmt(c.energy_mj) },
  { key: 'macs', head: 'MACs', f: (c) => fmtCount(c.macs) },
];

function renderMarkdown(r: ReportJson): string {
  const metricName = r.metric === 'mse' ? 'MSE (lower is better)' : 'accuracy';
  let s = `# edgec trade-off report: ${escapeMd(r.model)}\n\n`;
  s += `${r.configs.length} configuration(s); metric: ${metricName}. Pareto-optimal rows are marked with \\*.\n\n`;
  s += `| # | pareto | ${COLUMNS.map((c) => c.head).join(' | ')} |\n`;
  s += `|---|---|${COLUMNS.map(() => '---').join('|')}|\n`;
  r.configs.forEach((c, i) => {
    s += `| ${i + 1} | ${c.pareto ? '\\*' : ''} | ${COLUMNS.map((col) => escapeMd(col.f(c))).join(' | ')} |\n`;
  });
  s += `\n## Pareto front\n\n`;
  const front = r.configs.filter((c) => c.pareto);
  s += front.length ? front.map((c) => `- ${escapeMd(c.name)}: ${escapeMd(`${fmt(c.accuracy)} ${r.metric}, ${fmtBytes(c.size_bytes)}, ${fmt(c.latency_ms)} ms, ${fmt(c.energy_mj)} mJ`)}`).join('\n') + '\n' : '(empty: no configuration has every value)\n';
  s += `\n## Notes\n\n${r.notes.map((n) => `- ${escapeMd(n)}`).join('\n')}\n`;
  return s;
}

/** A scatter chart as inline SVG: y = metric, x = a cost (log scale when it spans > 20x). */
function scatterSvg(r: ReportJson, xKey: 'size_bytes' | 'latency_ms' | 'energy_mj', xLabel: string): string {
  const W = 440;
  const H = 300;
  const m = { l: 60, r: 34, t: 28, b: 44 };
  const tick = xKey === 'size_bytes' ? fmtBytes : (v: number) => fmt(v, 3);
  const pts = r.configs
    .map((c, i) => ({ c, i, x: num(c, xKey), y: num(c, 'accuracy') }))
    .filter((p): p is { c: ReportConfig; i: number; x: number; y: number } => p.x !== undefined && p.y !== undefined);
  const title = `${r.metric === 'mse' ? 'MSE' : 'accuracy'} vs ${xLabel}`;
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
  if (lx1 === lx0) { lx0 -= 0.5; lx1 += 0.5; }
  const padX = (lx1 - lx0) * 0.06;
  lx0 -= padX; lx1 += padX;
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y1 === y0) { y0 -= 0.01; y1 += 0.01; }
  const padY = (y1 - y0) * 0.08;
  y0 -= padY; y1 += padY;
  const px = (v: number) => m.l + ((tx(v) - lx0) / (lx1 - lx0)) * (W - m.l - m.r);
  const py = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  svg += `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`;
  svg += `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`;
  for (let k = 0; k <= 4; k++) {
    const yv = y0 + ((y1 - y0) * k) / 4;
    const xv = lx0 + ((lx1 - lx0) * k) / 4;
    const xr = log ? 10 ** xv : xv;
    svg += `<text x="${m.l - 6}" y="${py(yv).toFixed(1)}" text-anchor="end" dominant-baseline="middle" class="a">${escapeHtml(fmt(yv, 3))}</text>`;
    if (xr < 0 && x0 >= 0) continue; // no negative tick in the padding left of a zero cost
    svg += `<text x="${px(xr).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle" class="a">${escapeHtml(tick(xr))}</text>`;
  }
  svg += `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle" class="a">${escapeHtml(xLabel)}${log ? ' (log scale)' : ''}</text>`;
  // the 2-D front of this projection, as a step line
  const objY: Objective = { key: 'accuracy', goal: r.metric === 'mse' ? 'min' : 'max' };
  const f2 = paretoFront(pts.map((p) => p.c), [objY, { key: xKey, goal: 'min' }]);
  const line = pts.filter((_, k) => f2[k]).sort((a, b) => a.x - b.x || a.y - b.y);
  if (line.length > 1) {
    const d = line.map((p, k) => `${k === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    svg += `<path d="${d}" fill="none" stroke="#e8710a" stroke-width="1.5" stroke-dasharray="4 3"/>`;
  }
  for (const p of [...pts].sort((a, b) => Number(a.c.pareto) - Number(b.c.pareto))) {
    const tip = `#${p.i + 1} ${p.c.name}: ${fmt(p.y)} ${r.metric}, ${xLabel} ${fmt(p.x)}${p.c.pareto ? ' (Pareto-optimal)' : ''}`;
    svg += `<g><title>${escapeHtml(tip)}</title><circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="${p.c.pareto ? 6 : 4.5}" fill="${p.c.pareto ? '#e8710a' : '#9aa0a6'}" stroke="#333" stroke-width="0.7"/>`;
    svg += `<text x="${(px(p.x) + 7).toFixed(1)}" y="${(py(p.y) - 5).toFixed(1)}" class="n">${p.i + 1}</text></g>`;
  }
  return `${svg}</svg>`;
}

function renderHtml(r: ReportJson): string {
  const head = `<tr><th>#</th><th>Pareto</th>${COLUMNS.map((c) => `<th>${escapeHtml(c.head)}</th>`).join('')}</tr>`;
  const rows = r.configs.map((c, i) => `<tr${c.pareto ? ' class="p"' : ''}><td>${i + 1}</td><td>${c.pareto ? '&#9733;' : ''}</td>${COLUMNS.map((col) => `<td>${escapeHtml(col.f(c))}</td>`).join('')}</tr>`).join('\n');
  const charts = [
    scatterSvg(r, 'size_bytes', 'size'),
    scatterSvg(r, 'latency_ms', 'latency (ms)'),
    scatterSvg(r, 'energy_mj', 'energy (mJ)'),
  ].join('\n');
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
svg{border:1px solid #dadce0;border-radius:4px}
svg .t{font-size:13px;font-weight:600}svg .a{font-size:10px;fill:#5f6368}svg .n{font-size:9px;fill:#202124}
table{border-collapse:collapse;margin-top:8px}th,td{border:1px solid #dadce0;padding:3px 8px;text-align:right}
th{background:#f1f3f4}td:nth-child(3),td:nth-child(4),td:nth-child(6){text-align:left}
tr.p td{background:#fef7e0}
.legend span{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 4px 0 12px;border:1px solid #333}
</style>
</head>
<body>
<h1>edgec trade-off report: ${escapeHtml(r.model)}</h1>
<p>${r.configs.length} configuration(s). Metric: ${r.metric === 'mse' ? 'MSE (lower is better)' : 'accuracy (higher is better)'}.
<span class="legend"><span style="background:#e8710a"></span>Pareto-optimal (all objectives)<span style="background:#9aa0a6"></span>dominated</span>;
dashed line: the front of each two-objective view. Numbers next to points are row numbers.</p>
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
