/** Pareto front, report.json schema (CLI.md), deterministic order, and escaping of hostile names. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LATENCY_TIE, LATENCY_TIE_MS, MeasuredConfig, Objective, buildReport, configFromProfile, defaultObjectives, escapeHtml, niceTicks, paretoFront } from '../../profile/report.js';

const OBJ = defaultObjectives();

/** a dominates b: no worse everywhere, strictly better somewhere (independent restatement). */
function dominates(a: Record<string, number>, b: Record<string, number>, obj: readonly Objective[]): boolean {
  const better = (o: Objective) => (o.goal === 'max' ? a[o.key]! > b[o.key]! : a[o.key]! < b[o.key]!);
  const worse = (o: Objective) => (o.goal === 'max' ? a[o.key]! < b[o.key]! : a[o.key]! > b[o.key]!);
  return obj.every((o) => !worse(o)) && obj.some(better);
}

describe('paretoFront', () => {
  const P = (accuracy: number | null, size_bytes: number | null, latency_ms: number | null, energy_mj: number | null) =>
    ({ accuracy, size_bytes, latency_ms, energy_mj });
  it('crafted points: duplicates stay together, ties on all but one objective are dominated, missing values excluded', () => {
    const pts = [
      P(0.9, 100, 10, 5), // A: front
      P(0.9, 100, 10, 5), // B: exact duplicate of A: front too
      P(0.8, 100, 10, 5), // C: dominated by A (worse accuracy only)
      P(0.95, 200, 20, 10), // D: front (best accuracy among complete points)
      P(0.7, 50, 30, 30), // E: front (smallest)
      P(0.9, 100, 10, 6), // F: dominated by A (ties, one worse)
      P(0.99, 10, null, 1), // G: missing latency: never on the front, dominates nothing
      P(0.5, 60, 40, 40), // H: dominated by E
      P(NaN, 1, 1, 1), // I: non-finite accuracy: excluded
      P(0.7, 50, 30, 29.5), // J: dominates E? same acc/size/lat, less energy -> E is dominated
    ];
    expect(paretoFront(pts, OBJ)).toEqual([true, true, false, true, false, false, false, false, false, true]);
  });
  it('single point, empty list, and minimized metrics', () => {
    expect(paretoFront([], OBJ)).toEqual([]);
    expect(paretoFront([{ accuracy: 0.1, size_bytes: 1, latency_ms: 1, energy_mj: 1 }], OBJ)).toEqual([true]);
    const mse = defaultObjectives('mse');
    expect(mse[0]).toEqual({ key: 'accuracy', goal: 'min' });
    expect(paretoFront([{ accuracy: 0.1, size_bytes: 1 }, { accuracy: 0.2, size_bytes: 1 }], [mse[0]!, mse[1]!])).toEqual([true, false]);
  });
  it('property: front points are mutually non-dominated, every other point is dominated by a front point', () => {
    const val = fc.integer({ min: 0, max: 4 }); // small range: many ties and duplicates
    const pt = fc.record({ accuracy: val, size_bytes: val, latency_ms: val, energy_mj: val });
    fc.assert(fc.property(fc.array(pt, { maxLength: 25 }), (pts) => {
      const f = paretoFront(pts, OBJ);
      pts.forEach((p, i) => {
        const dominated = pts.some((q, j) => j !== i && dominates(q, p, OBJ));
        expect(f[i]).toBe(!dominated);
        if (!f[i]) expect(pts.some((q, j) => f[j] && dominates(q, p, OBJ))).toBe(true);
      });
    }), { numRuns: 300, seed: 7 });
  });
});

describe('ties within the measurement spread', () => {
  const lat: Objective[] = [{ key: 'accuracy', goal: 'max' }, { key: 'latency_ms', goal: 'min', spreadKey: 'latency_spread_ms', rel: LATENCY_TIE }];
  it('latencies whose spreads overlap, or within 5%, decide nothing', () => {
    // B is 3% faster but less accurate: without the band B would be Pareto-optimal on noise alone;
    // with it the latencies tie and the more accurate A dominates B
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 1.0 }, { accuracy: 0.8, latency_ms: 0.97 }], lat)).toEqual([true, false]);
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 1.0 }, { accuracy: 0.8, latency_ms: 0.97 }], lat.map((o) => ({ key: o.key, goal: o.goal })))).toEqual([true, true]);
    // same accuracy, B 3% faster: a tie on both, both stay
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 1.0 }, { accuracy: 0.9, latency_ms: 0.97 }], lat)).toEqual([true, true]);
    // 20% faster but spreads of +-0.15 overlap: still a tie
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 1.0, latency_spread_ms: 0.15 }, { accuracy: 0.9, latency_ms: 0.8, latency_spread_ms: 0.15 }], lat)).toEqual([true, true]);
    // 20% faster with tight spreads: B dominates A
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 1.0, latency_spread_ms: 0.01 }, { accuracy: 0.9, latency_ms: 0.8, latency_spread_ms: 0.01 }], lat)).toEqual([false, true]);
  });
  it('microsecond latencies: differences under LATENCY_TIE_MS tie whatever their ratio', () => {
    const abs: Objective[] = [{ key: 'accuracy', goal: 'max' }, { key: 'latency_ms', goal: 'min', spreadKey: 'latency_spread_ms', rel: LATENCY_TIE, abs: LATENCY_TIE_MS }];
    // 25 us vs 23 us (8% apart, 2 us): a tie, the more accurate A dominates B; without the floor B stays
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 0.025 }, { accuracy: 0.8, latency_ms: 0.023 }], abs)).toEqual([true, false]);
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 0.025 }, { accuracy: 0.8, latency_ms: 0.023 }], lat)).toEqual([true, true]);
    // 1.0 ms vs 0.9 ms: far above the floor, decided by the 5% band as before
    expect(paretoFront([{ accuracy: 0.9, latency_ms: 1.0 }, { accuracy: 0.8, latency_ms: 0.9 }], abs)).toEqual([true, true]);
  });
  it('property: jitter inside the tie band never changes the front', () => {
    const cfg = fc.record({ accuracy: fc.integer({ min: 0, max: 3 }), latency_ms: fc.integer({ min: 1, max: 4 }) });
    fc.assert(fc.property(fc.array(cfg, { minLength: 1, maxLength: 12 }), fc.array(fc.double({ min: -0.015, max: 0.015, noNaN: true }), { minLength: 12, maxLength: 12 }), (pts, jit) => {
      // latencies on a coarse grid (1, 2, 3, 4 ms: 25%+ apart) jittered by < 1.5%: the front must not move
      const a = paretoFront(pts, lat);
      const b = paretoFront(pts.map((p, i) => ({ ...p, latency_ms: p.latency_ms * (1 + jit[i]!) })), lat);
      expect(b).toEqual(a);
    }), { numRuns: 300, seed: 11 });
  });
  it('niceTicks steps by 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0.93, 1, 5)).toEqual([0.94, 0.96, 0.98, 1]);
    expect(niceTicks(0, 68.2, 5)).toEqual([0, 20, 40, 60]);
    expect(niceTicks(0.516, 0.9, 4)).toEqual([0.6, 0.7, 0.8, 0.9]);
  });
});

const base = (over: Partial<MeasuredConfig>): MeasuredConfig => ({
  name: 'x', precision: 'fp32', prune: 0, target: 'wasm', accuracy: 0.9, size_bytes: 1000, latency_ms: 1, energy_mj: 1, macs: 100, ...over,
});

const CONFIGS: MeasuredConfig[] = [
  base({ name: 'fp32-p0-wasm', accuracy: 0.98, size_bytes: 400_000, latency_ms: 2.0, energy_mj: 10 }),
  base({ name: 'int8-p0-wasm', precision: 'int8', accuracy: 0.975, size_bytes: 100_000, latency_ms: 1.0, energy_mj: 4 }),
  base({ name: 'int8-p0.5-wasm', precision: 'int8', prune: 0.5, accuracy: 0.96, size_bytes: 60_000, latency_ms: 1.1, energy_mj: 4.5 }),
  base({ name: 'fp16-p0-wasm', precision: 'fp16', accuracy: 0.98, size_bytes: 200_000, latency_ms: 2.5, energy_mj: 9, device: 'cortex-m7' }),
  base({ name: 'fp32-p0.5-hls', prune: 0.5, target: 'hls', accuracy: 0.97, size_bytes: 400_000, latency_ms: 3, energy_mj: 12 }),
  base({ name: 'int4-p0-wasm', precision: 'int4', accuracy: null, size_bytes: 50_000, latency_ms: null, energy_mj: null, error: 'compile failed' }),
];

describe('buildReport', () => {
  it('report.json follows CLI.md: {"model", "configs": [{name, precision, prune, target, accuracy, size_bytes, latency_ms, energy_mj, macs, pareto}]}', () => {
    const r = buildReport(CONFIGS, 'resnet8');
    const j = JSON.parse(r.json) as Record<string, unknown>;
    expect(j['model']).toBe('resnet8');
    const configs = j['configs'] as Record<string, unknown>[];
    expect(configs).toHaveLength(CONFIGS.length);
    for (const c of configs) {
      expect(typeof c['name']).toBe('string');
      expect(typeof c['precision']).toBe('string');
      expect(typeof c['prune']).toBe('number');
      expect(typeof c['target']).toBe('string');
      for (const k of ['accuracy', 'size_bytes', 'latency_ms', 'energy_mj', 'macs']) {
        expect(k in c).toBe(true);
        expect(c[k] === null || typeof c[k] === 'number').toBe(true);
      }
      expect(typeof c['pareto']).toBe('boolean');
    }
    // extra fields are kept
    expect(configs.find((c) => c['name'] === 'fp16-p0-wasm')!['device']).toBe('cortex-m7');
    expect(configs.find((c) => c['name'] === 'int4-p0-wasm')!['error']).toBe('compile failed');
  });

  it('marks the Pareto front (hand-checked) and orders configs by precision, prune, target, name', () => {
    const r = buildReport(CONFIGS, 'm').report;
    expect(r.configs.map((c) => c.name)).toEqual([
      'fp32-p0-wasm', 'fp32-p0.5-hls', 'fp16-p0-wasm', 'int8-p0-wasm', 'int8-p0.5-wasm', 'int4-p0-wasm',
    ]);
    // fp32-p0: best accuracy (tied with fp16, which is smaller but slower) -> front
    // fp32-p0.5-hls: dominated by fp32-p0 (worse accuracy, same size, slower, more energy)
    // fp16: same accuracy as fp32, smaller -> front; int8-p0: fastest/lowest energy -> front
    // int8-p0.5: smallest complete -> front; int4: missing values -> not on the front
    expect(r.configs.map((c) => c.pareto)).toEqual([true, false, true, true, true, false]);
    expect(r.pareto_front).toEqual(['fp32-p0-wasm', 'fp16-p0-wasm', 'int8-p0-wasm', 'int8-p0.5-wasm']);
  });

  it('is deterministic: any input order gives byte-identical files', () => {
    const a = buildReport(CONFIGS, 'm');
    const rev = buildReport([...CONFIGS].reverse(), 'm');
    const rot = buildReport([...CONFIGS.slice(2), ...CONFIGS.slice(0, 2)], 'm');
    for (const b of [rev, rot]) {
      expect(b.json).toBe(a.json);
      expect(b.md).toBe(a.md);
      expect(b.html).toBe(a.html);
    }
  });

  it('markdown: one table row per config with an intact column count', () => {
    const hostile = [...CONFIGS, base({ name: 'a|b\n| injected | row |', target: '<b>x</b>' })];
    const { md } = buildReport(hostile, 'model|with|pipes');
    const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    expect(rows).toHaveLength(hostile.length);
    const cols = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    for (const l of rows) expect(cols(l)).toBe(cols(rows[0]!));
    expect(md).not.toMatch(/<b>/);
    expect(md.split('\n')[0]).toBe('# edgec trade-off report: model\\|with\\|pipes');
  });
});

describe('report.html', () => {
  const HOSTILE = '<script>alert(1)</script>';
  const configs = [
    ...CONFIGS,
    base({ name: '"><img src=x onerror=alert(1)>', precision: 'int8', accuracy: 0.5, size_bytes: 10, latency_ms: 0.1, energy_mj: 0.1 }),
    base({ name: "x' onmouseover='alert(1)", target: '</svg><script>evil()</script>', precision: 'fp16&<>' }),
  ];
  const { html } = buildReport(configs, HOSTILE);

  it('escapes every name: only the report\'s own tags appear', () => {
    const allowed = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'p', 'span', 'div', 'svg', 'rect', 'text',
      'line', 'path', 'g', 'circle', 'table', 'tr', 'th', 'td', 'ul', 'li']);
    const tags = [...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase());
    expect(tags.filter((t) => !allowed.has(t))).toEqual([]);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // attribute injection: every tag holds only the report's own attributes, all double-quoted
    const attrs = new Set(['lang', 'charset', 'http-equiv', 'content', 'xmlns', 'width', 'height', 'viewbox', 'role', 'aria-label',
      'x', 'y', 'fill', 'text-anchor', 'class', 'x1', 'y1', 'x2', 'y2', 'stroke', 'dominant-baseline', 'd', 'stroke-width',
      'stroke-dasharray', 'cx', 'cy', 'r', 'style']);
    for (const m of html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)) {
      const rest = m[2]!.replace(/\s([a-zA-Z][a-zA-Z0-9:-]*)="[^"<>]*"/g, (_, name: string) => {
        expect(attrs.has(name.toLowerCase()), `attribute ${name} on <${m[1]}>`).toBe(true);
        return '';
      });
      expect(rest.trim()).toMatch(/^\/?$/);
    }
  });

  it('is self-contained: no scripts, no external resources', () => {
    const tags = [...html.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0]);
    expect(tags.filter((t) => /\s(src|href|xlink:href|on\w+)\s*=/i.test(t))).toEqual([]);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]);
    expect(urls.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html).toMatch(/Content-Security-Policy/);
  });

  it('has the three charts with every complete point and the Pareto points highlighted', () => {
    expect((html.match(/<svg xmlns/g) ?? []).length).toBe(3);
    for (const t of ['accuracy vs size', 'accuracy vs host latency (ms)', 'accuracy vs energy (mJ)']) expect(html).toContain(t);
    const r = buildReport(configs, HOSTILE).report;
    const complete = r.configs.filter((c) => [c.accuracy, c.size_bytes, c.latency_ms, c.energy_mj].every((v) => typeof v === 'number'));
    const front = r.configs.filter((c) => c.pareto);
    expect((html.match(/<g><title>/g) ?? []).length).toBe(3 * complete.length);
    expect((html.match(/Pareto-optimal\)/g) ?? []).length).toBe(3 * front.length);
    // colour by precision (int8 orange), shape by pruning level (the 0.5 configurations are squares)
    const int8 = complete.filter((c) => c.precision === 'int8').length;
    expect((html.match(/<g><title>[^<]*<\/title><(circle|rect|path) [^>]*fill="#e8710a"/g) ?? []).length).toBe(3 * int8);
    const pruned = complete.filter((c) => c.prune === 0.5).length;
    expect(pruned).toBeGreaterThan(0);
    expect((html.match(/<g><title>[^<]*<\/title><rect /g) ?? []).length).toBe(3 * pruned);
  });

  it('axes: nice ticks, accuracy never above 1, the fp32 baseline drawn', () => {
    const ys = [...html.matchAll(/text-anchor="end" dominant-baseline="middle" class="a">([^<]+)</g)].map((m) => Number(m[1]));
    expect(ys.length).toBeGreaterThan(6);
    expect(Math.max(...ys)).toBeLessThanOrEqual(1);
    for (const y of ys) expect(Number.isFinite(y)).toBe(true);
    expect((html.match(/fp32 baseline/g) ?? []).length).toBe(3);
  });
});

describe('configFromProfile', () => {
  it('takes MACs, energy and (without a host measurement) latency from the profile, and says so', async () => {
    const { GraphBuilder } = await import('../../compiler/ir/builder.js');
    const { profileGraph } = await import('../../profile/profile.js');
    const b = new GraphBuilder('g');
    const x = b.input('x', 'f32', [1, 8]);
    const w = b.const('w', 'f32', [8, 4], Array.from({ length: 32 }, (_, i) => i / 32));
    b.output(b.node('MatMul', [x, w]));
    const p = await profileGraph(b.build(), { measure: [], devices: ['cortex-m4'] });
    const c = configFromProfile(p, { name: 'a', precision: 'fp32', prune: 0, target: 'wasm', accuracy: 0.5, size_bytes: 128 }, 'cortex-m4');
    expect(c.macs).toBe(32);
    expect(c.latency_ms).toBe(p.latency.estimated['cortex-m4']);
    expect(c.energy_mj).toBe(p.energy.estimated['cortex-m4']);
    expect(c['latency_source']).toBe('estimated for cortex-m4');
    expect(() => configFromProfile(p, c, 'jetson-nano')).toThrow(/not in the profile/);
    const p2 = await profileGraph(b.build(), { devices: ['cortex-m4'], measureOptions: { runs: 1, warmup: 0 } });
    const c2 = configFromProfile(p2, { ...c, name: 'b' }, 'cortex-m4', true);
    expect(c2.latency_ms).toBe(p2.latency.measured.ref!.total_ms);
    const notes = buildReport([c, c2], 'g').report.notes.join('\n');
    expect(notes).toMatch(/different sources/);
  });
});
