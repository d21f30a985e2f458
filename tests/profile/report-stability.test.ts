/**
 * `edgec report` decides the same way every time: the same command run three times gives the same
 * Pareto front (latencies are timed in interleaved rounds and differences within their spread or
 * 5% are ties; size, accuracy and energy are deterministic), and its report.html renders in
 * headless Chromium with readable charts: no two point labels overlap, no label covers a marker,
 * everything stays inside its chart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport, MeasuredConfig } from '../../profile/report.js';
import { cli, HAVE_MODELS, rmTmp, tmpDir, TRAINED } from '../cli/helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env['CI']) throw new Error('CI needs Chromium for the report rendering test (apt-get install chromium)');

const tmp = tmpDir('edgec-report-');
afterAll(() => rmTmp(tmp));

describe.skipIf(!HAVE_MODELS)('report front stability', () => {
  it('three runs of the same report give the same Pareto front', async () => {
    const M = path.join(TRAINED, 'digits_allconv');
    const fronts: string[][] = [];
    for (let k = 0; k < 3; k++) {
      const out = path.join(tmp, `rep${k}`);
      const r = await cli('report', path.join(M, 'model.onnx'), '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'),
        '--calib', path.join(M, 'calib_x.pb'), '-o', out, '--sweep', 'precision=fp32,fp16,int8', '--sweep', 'prune=0,0.5',
        '--runs', '5', '--rounds', '3');
      expect(r.code, r.err).toBe(0);
      fronts.push((JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { pareto_front: string[] }).pareto_front);
    }
    expect(fronts[1]).toEqual(fronts[0]);
    expect(fronts[2]).toEqual(fronts[0]);
    expect(fronts[0]!.length).toBeGreaterThan(0);
  }, 300_000);
});

/** A crowded sweep: 4 precisions x 4 pruning levels x 2 targets with clustered values. */
function crowded(): MeasuredConfig[] {
  const out: MeasuredConfig[] = [];
  const precs = ['fp32', 'fp16', 'int8', 'int4'];
  for (const [pi, precision] of precs.entries()) {
    for (const [ri, prune] of [0, 0.25, 0.5, 0.75].entries()) {
      for (const target of ['wasm', 'onnx']) {
        out.push({
          name: `${precision}${prune ? `-p${prune}` : ''}-${target}`, precision, prune, target,
          accuracy: 0.98 - 0.004 * pi - 0.03 * ri * ri + (target === 'onnx' ? 0.001 : 0),
          size_bytes: Math.round(400_000 / 2 ** pi * (1 - prune * 0.8)), gzip_bytes: Math.round(300_000 / 2 ** pi * (1 - prune * 0.9)),
          latency_ms: 2 / (1 + pi * 0.4) * (1 - prune * 0.3) * (target === 'onnx' ? 1.02 : 1), latency_spread_ms: 0.02,
          energy_mj: 10 / (1 + pi) * (1 - prune * 0.5), macs: 1_000_000,
        });
      }
    }
  }
  return out;
}

describe.skipIf(!CHROMIUM)('report.html in headless Chromium', () => {
  it('charts render with no overlapping labels, labels clear of markers, all inside the charts', async () => {
    const file = path.join(tmp, 'crowded.html');
    fs.writeFileSync(file, buildReport(crowded(), 'crowded', { device: 'browser-wasm-simd' }).html);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const ctx = await browser.newContext({ bypassCSP: true, viewport: { width: 1600, height: 1000 } });
      const page = await ctx.newPage();
      await page.goto(`file://${file}`);
      const png = await page.screenshot({ fullPage: true });
      // PNG header: width and height at bytes 16..24
      const w = png.readUInt32BE(16);
      const h = png.readUInt32BE(20);
      expect(w).toBeGreaterThanOrEqual(1600);
      expect(h).toBeGreaterThan(400);
      const res = (await page.evaluate(`(() => {
        const out = [];
        for (const svg of document.querySelectorAll('.charts > svg')) {
          const r = svg.getBoundingClientRect();
          const labels = [...svg.querySelectorAll('text.n')].map((t) => t.getBoundingClientRect());
          const marks = [...svg.querySelectorAll('g > circle, g > rect, g > path')].map((t) => t.getBoundingClientRect());
          out.push({ svg: { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }, labels: labels.map((b) => ({ x0: b.left, y0: b.top, x1: b.right, y1: b.bottom })),
            marks: marks.map((b) => ({ x0: b.left, y0: b.top, x1: b.right, y1: b.bottom })) });
        }
        return out;
      })()`)) as { svg: Box; labels: Box[]; marks: Box[] }[];
      expect(res).toHaveLength(3);
      let shown = 0;
      for (const c of res) {
        shown += c.labels.length;
        for (const [i, a] of c.labels.entries()) {
          expect(inside(a, c.svg)).toBe(true);
          for (const b of c.labels.slice(i + 1)) expect(overlap(a, b)).toBeLessThan(1); // px^2: rounding only
          for (const m of c.marks) expect(overlap(a, m)).toBeLessThan(1);
        }
      }
      expect(shown).toBeGreaterThan(6); // crowded, but labels still name a good part of the points
    } finally {
      await browser.close();
    }
  }, 120_000);
});

type Box = { x0: number; y0: number; x1: number; y1: number };
const overlap = (a: Box, b: Box): number => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
const inside = (a: Box, s: Box): boolean => a.x0 >= s.x0 - 0.5 && a.x1 <= s.x1 + 0.5 && a.y0 >= s.y0 - 0.5 && a.y1 <= s.y1 + 0.5;
