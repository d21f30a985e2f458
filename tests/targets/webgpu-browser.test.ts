/**
 * A WebGPU artifact loaded in a real browser: headless Chromium (WebGPU on SwiftShader) opens a
 * page served from 127.0.0.1, imports model.mjs, runs the model through the public runtime API on
 * navigator.gpu and the result is compared with the reference interpreter.
 *
 * Chromium comes from Debian's package (installed by .ci/run). The test skips, with a logged
 * reason, only where no Chromium is installed (or it exposes no WebGPU adapter) and CI is not set.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor } from './wasm-helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env['CI']) throw new Error('CI needs Chromium for the WebGPU browser test');
if (!CHROMIUM) console.warn('webgpu browser test skipped: no Chromium installed');

/** conv (tiled kernel) -> relu -> depthwise conv (direct kernel) -> global pool -> gemm -> softmax. */
function buildModel() {
  const b = new GraphBuilder();
  const x = b.input('image', 'f32', [1, 3, 12, 12]);
  const c1 = b.node('Conv', [x, b.const('w1', randomTensor([8, 3, 3, 3], 1)), b.const('b1', randomTensor([8], 2))], { pads: [1, 1, 1, 1], strides: [2, 2] });
  const r1 = b.node('Relu', [c1]);
  const c2 = b.node('Conv', [r1, b.const('w2', randomTensor([8, 1, 3, 3], 3))], { pads: [1, 1, 1, 1], group: 8 });
  const f = b.node('Flatten', [b.node('GlobalAveragePool', [c2])]);
  const y = b.node('Gemm', [f, b.const('w3', randomTensor([8, 5], 4)), b.const('b3', randomTensor([5], 5))]);
  b.output(b.node('Softmax', [y], {}, { outputNames: ['probs'] }));
  return b.build();
}

describe.skipIf(!CHROMIUM)('webgpu artifact in headless Chromium', () => {
  let dir = '';
  let server: http.Server;
  let base = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-webgpu-browser-'));
    for (const [name, data] of compileWebgpu(buildModel()).files) fs.writeFileSync(path.join(dir, name), data);
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>edgec</title><body>ready</body>');
    server = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '') || 'index.html';
      const file = path.join(dir, path.normalize(rel));
      if (!file.startsWith(dir) || !fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.mjs') ? 'text/javascript' : file.endsWith('.wgsl') ? 'text/plain' : file.endsWith('.bin')
        ? 'application/octet-stream' : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs model.mjs on navigator.gpu in the page and matches the reference interpreter', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader',
        '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(base + 'index.html');
      const hasAdapter = (await page.evaluate('(async () => !!(navigator.gpu && await navigator.gpu.requestAdapter()))()')) as boolean;
      if (!hasAdapter) {
        if (process.env['CI']) throw new Error('headless Chromium exposes no WebGPU adapter in CI');
        console.warn('webgpu browser test skipped: Chromium exposes no WebGPU adapter here');
        return;
      }
      const input = Array.from(randomTensor([1, 3, 12, 12], 9).data as Float32Array);
      // A string, not a function: the test runner rewrites import() inside functions it compiles.
      const script = `(async () => {
        const mod = await import('./model.mjs');
        const model = await mod.create();
        const out = await model.run({ image: new Float32Array(${JSON.stringify(input)}) });
        const r = { inputs: model.inputs, outputs: model.outputs, probs: Array.from(out.probs) };
        model.destroy();
        return r;
      })()`;
      const result = (await page.evaluate(script)) as { inputs: unknown; outputs: { name: string }[]; probs: number[] };
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
