/**
 * create({ threads: 2 }) in headless Chromium: a page served from 127.0.0.1 with the headers that
 * make it cross-origin isolated (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-
 * Policy: require-corp) runs model-threads.wasm on the page's thread plus one Web Worker; its
 * outputs equal the single-thread module's bit for bit (fp32 and int8) and int8 equals the
 * reference interpreter. The same page served without those headers has no SharedArrayBuffer:
 * create({ threads: 2 }) warns and runs on one thread.
 *
 * Chromium comes from Debian's package (`apt-get install chromium`); the test skips only where no
 * Chromium is installed and CI is not set.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { quantizeModel } from '../../quantize/index.js';
import { compileWasm, emitWasm } from '../../targets/wasm/emit.js';
import { rmTmp, tmpDir } from '../cli/helpers.js';
import { randomTensor } from './wasm-helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env['CI']) throw new Error('CI needs Chromium for the browser threads test (apt-get install chromium)');
if (!CHROMIUM) console.warn('browser threads test skipped: no Chromium installed (apt-get install chromium)');

/** conv 3x3 -> 1x1 expand -> depthwise 3x3 stride 2 -> 1x1 project -> pool -> gemm (layers large enough to split). */
function net(): Graph {
  const b = new GraphBuilder();
  let seed = 40;
  const w = (shape: number[]) => b.const(`w${seed}`, randomTensor(shape, seed++, -0.5, 0.5));
  const x = b.input('x', 'f32', [1, 3, 32, 32]);
  const c1 = b.node('Relu', [b.node('Conv', [x, w([24, 3, 3, 3]), w([24])], { pads: [1, 1, 1, 1] })]);
  const ex = b.node('Relu', [b.node('Conv', [c1, w([96, 24, 1, 1]), w([96])])]);
  const dw = b.node('Relu', [b.node('Conv', [ex, w([96, 1, 3, 3]), w([96])], { group: 96, pads: [1, 1, 1, 1], strides: [2, 2] })]);
  const pr = b.node('Conv', [dw, w([32, 96, 1, 1]), w([32])]);
  const f = b.node('Flatten', [b.node('GlobalAveragePool', [pr])]);
  b.output(b.node('Gemm', [f, w([32, 10]), w([10])], {}, { outputNames: ['y'] }));
  return b.build();
}

describe.skipIf(!CHROMIUM)('create({ threads: 2 }) in headless Chromium', () => {
  let dir = '';
  let server: http.Server;
  let base = '';
  const x = randomTensor([1, 3, 32, 32], 77);
  let q: Graph;

  beforeAll(async () => {
    dir = tmpDir('edgec-threads-browser-');
    const write = (sub: string, files: ReadonlyMap<string, Uint8Array | string>) => {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
      for (const [k, v] of files) fs.writeFileSync(path.join(dir, sub, k), v);
    };
    write('fp32', compileWasm(net(), { threads: 2 }).files);
    const g = net();
    optimize(g, { target: 'wasm' });
    q = quantizeModel(g, { mode: 'int8', calib: [randomTensor([8, 3, 32, 32], 5)] }).graph;
    write('int8', emitWasm(q, { precision: 'int8', threads: 2 }).files);
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>edgec</title><body>ready</body>');
    // /isolated/... is served with COOP/COEP (cross-origin isolated: SharedArrayBuffer), /plain/... without
    server = http.createServer((req, res) => {
      const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      const m = /^\/(isolated|plain)\/(.*)$/.exec(url);
      const rel = (m ? m[2]! : '') || 'index.html';
      const file = path.join(dir, path.normalize(rel));
      if (!m || !file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') ? 'text/javascript' : 'text/html';
      const headers: Record<string, string> = { 'content-type': type };
      if (m[1] === 'isolated') Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.writeHead(200, headers).end(fs.readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmTmp(dir);
  });

  /** Runs fp32 and int8 single-thread and on 2 threads in a page under `prefix`. */
  async function inPage(prefix: 'isolated' | 'plain') {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    try {
      const page = await browser.newPage();
      const warnings: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'warning') warnings.push(m.text());
      });
      await page.goto(`${base}${prefix}/index.html`);
      const input = JSON.stringify(Array.from(x.data as Float32Array));
      // A string, not a function: the test runner rewrites import() inside functions it compiles.
      const script = `(async () => {
        const res = { isolated: globalThis.crossOriginIsolated === true };
        for (const p of ['fp32', 'int8']) {
          const mod = await import('./' + p + '/model.mjs');
          const one = await mod.create();
          const many = await mod.create({ threads: 2 });
          const feeds = { x: new Float32Array(${input}) };
          const a = one.run(feeds).y, b = many.run(feeds).y;
          for (let r = 0; r < 3; r++) many.run(feeds);
          res[p] = { threads: many.threads ?? 1, one: Array.from(new Uint32Array(a.buffer)), many: Array.from(new Uint32Array(b.buffer)),
            again: Array.from(new Uint32Array(many.run(feeds).y.buffer)) };
          if (many.dispose) many.dispose();
        }
        return res;
      })()`;
      const r = (await page.evaluate(script)) as {
        isolated: boolean; fp32: { threads: number; one: number[]; many: number[]; again: number[] }; int8: { threads: number; one: number[]; many: number[]; again: number[] };
      };
      return { ...r, warnings };
    } finally {
      await browser.close();
    }
  }

  it('cross-origin isolated page: 2 threads == single thread (fp32, int8), int8 == reference, bit for bit', async () => {
    const r = await inPage('isolated');
    expect(r.isolated).toBe(true);
    for (const p of ['fp32', 'int8'] as const) {
      expect(r[p].threads).toBe(2);
      expect(r[p].many).toEqual(r[p].one);
      expect(r[p].again).toEqual(r[p].one);
    }
    const want = new Uint32Array(Float32Array.from(runGraph(q, [x])[0]!.data as Float32Array).buffer);
    expect(r.int8.many).toEqual(Array.from(want));
    expect(r.warnings).toEqual([]);
  }, 120_000);

  it('page without COOP/COEP: create({ threads: 2 }) warns and runs on one thread', async () => {
    const r = await inPage('plain');
    expect(r.isolated).toBe(false);
    expect(r.fp32.threads).toBe(1);
    expect(r.fp32.many).toEqual(r.fp32.one);
    expect(r.warnings.some((w) => /SharedArrayBuffer is unavailable.*Cross-Origin-Opener-Policy.*running on one thread/.test(w))).toBe(true);
  }, 120_000);
});

