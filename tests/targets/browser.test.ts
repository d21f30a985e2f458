/**
 * A wasm artifact loaded in a real browser: headless Chromium opens a page served from
 * 127.0.0.1, imports model.mjs, runs the model through the public runtime API and the result is
 * compared with the reference interpreter.
 *
 * Chromium comes from Debian's package (`apt-get install chromium`, done by .ci/run). The test
 * skips, with a logged reason, only where no Chromium is installed and CI is not set.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { compareTensors } from '../helpers/compare.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env['CI']) throw new Error('CI needs Chromium for the browser test (apt-get install chromium)');
if (!CHROMIUM) console.warn('browser test skipped: no Chromium installed (apt-get install chromium)');

/** Deterministic pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** A small CNN: conv (pads, relu) -> depthwise conv -> global average pool -> gemm -> softmax. */
function buildModel() {
  const b = new GraphBuilder();
  const x = b.input('image', 'f32', [1, 3, 12, 12]);
  const w1 = b.const('w1', new Tensor('f32', [8, 3, 3, 3], rand(8 * 27, 1)));
  const b1 = b.const('b1', new Tensor('f32', [8], rand(8, 2)));
  const c1 = b.node('Conv', [x, w1, b1], { pads: [1, 1, 1, 1], strides: [2, 2] });
  const r1 = b.node('Relu', [c1]);
  const w2 = b.const('w2', new Tensor('f32', [8, 1, 3, 3], rand(72, 3)));
  const c2 = b.node('Conv', [r1, w2], { pads: [1, 1, 1, 1], group: 8 });
  const p = b.node('GlobalAveragePool', [c2]);
  const f = b.node('Flatten', [p]);
  const w3 = b.const('w3', new Tensor('f32', [8, 5], rand(40, 4)));
  const b3 = b.const('b3', new Tensor('f32', [5], rand(5, 5)));
  const y = b.node('Gemm', [f, w3, b3]);
  b.output(b.node('Softmax', [y], {}, { outputNames: ['probs'] }));
  return b.build();
}

describe.skipIf(!CHROMIUM)('wasm artifact in headless Chromium', () => {
  let dir = '';
  let server: http.Server;
  let base = '';

  beforeAll(async () => {
    dir = tmpDir('edgec-browser-');
    const g = buildModel();
    fs.writeFileSync(path.join(dir, 'model.onnx'), exportOnnx(g));
    const r = await cli('compile', path.join(dir, 'model.onnx'), '--target', 'wasm', '-o', path.join(dir, 'art'));
    expect(r.code, r.err).toBe(0);
    fs.writeFileSync(path.join(dir, 'art', 'index.html'), '<!doctype html><title>edgec</title><body>ready</body>');
    server = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '') || 'index.html';
      const file = path.join(dir, 'art', path.normalize(rel));
      if (!file.startsWith(path.join(dir, 'art')) || !fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') || file.endsWith('.js')
        ? 'text/javascript' : file.endsWith('.json') ? 'application/json' : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmTmp(dir);
  });

  it('runs model.mjs in the page and matches the reference interpreter', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(base + 'index.html');
      const input = Array.from(rand(3 * 12 * 12, 9));
      // A string, not a function: the test runner rewrites import() inside functions it compiles.
      const script = `(async () => {
        const mod = await import('./model.mjs');
        const model = await mod.create();
        const out = await model.run({ image: new Float32Array(${JSON.stringify(input)}) });
        return { inputs: model.inputs, outputs: model.outputs, probs: Array.from(out.probs) };
      })()`;
      const result = (await page.evaluate(script)) as {
        inputs: unknown; outputs: { name: string }[]; probs: number[];
      };
      expect(result.inputs).toEqual([{ name: 'image', shape: [1, 3, 12, 12], dtype: 'f32' }]);
      expect(result.outputs[0]!.name).toBe('probs');
      const want = runGraph(buildModel(), [new Tensor('f32', [1, 3, 12, 12], Float32Array.from(input))])[0]!;
      const got = new Tensor('f32', [1, 5], Float32Array.from(result.probs));
      expect(compareTensors(got, want, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    } finally {
      await browser.close();
    }
  });
});
