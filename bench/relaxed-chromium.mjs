/**
 * Relaxed SIMD in headless Chromium: times model-relaxed.wasm (create({ relaxedSimd: true })) against
 * model.wasm (relaxedSimd: false) of compiled wasm artifacts, in the same page, 40 interleaved rounds
 * of 20 runs (Chromium's performance.now() has 0.1 ms resolution), medians; also checks both give
 * the same bits and prints which module create() picks by default. When ARTIFACTS_DIR/name.fp32/
 * holds an fp32 artifact of the same model, it is timed in the same rounds (fp32Ms, relaxed vs fp32).
 *   node bench/relaxed-chromium.mjs ARTIFACTS_DIR name...   (ARTIFACTS_DIR/name/model.mjs each)
 * Needs /usr/bin/chromium (or CHROMIUM=path) and playwright-core.
 */
import fs from 'node:fs'; import http from 'node:http'; import path from 'node:path';
import { chromium } from 'playwright-core';
const root = path.resolve(process.argv[2] ?? '.'); const models = process.argv.slice(3);
if (models.length === 0) { process.stderr.write('usage: node bench/relaxed-chromium.mjs ARTIFACTS_DIR name...\n'); process.exit(2); }
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(req.url.split('?')[0]).replace(/^\/+/, '') || 'index.html';
  const f = path.join(root, rel);
  if (!f.startsWith(root + path.sep) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': f.endsWith('.wasm') ? 'application/wasm' : f.endsWith('.mjs') ? 'text/javascript' : 'text/html' }).end(fs.readFileSync(f));
});
fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>b</title>');
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage(); await page.goto(base + 'index.html');
for (const m of models) {
  const fp32 = fs.existsSync(path.join(root, `${m}.fp32`, 'model.mjs'));
  const r = await page.evaluate(`(async () => {
    const mod = await import('./${m}/model.mjs');
    const a = await mod.create({ relaxedSimd: true }), b = await mod.create({ relaxedSimd: false }), d = await mod.create();
    const c = ${fp32} ? await (await import('./${m}.fp32/model.mjs')).create() : null;
    const x = new Float32Array(a.inputs[0].shape.reduce((p, q) => p * q, 1)); let s = 1; for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = s / 2 ** 31 - 1; }
    const f = { [a.inputs[0].name]: x };
    const ya = a.run(f)[a.outputs[0].name], yb = b.run(f)[b.outputs[0].name];
    const same = ya.length === yb.length && ya.every((v, i) => Object.is(v, yb[i]));
    for (const mm of c ? [a, b, c] : [a, b]) { const e = performance.now() + 500; while (performance.now() < e) mm.run(f); }
    const ta = [], tb = [], tc = [];
    for (let round = 0; round < 40; round++) for (const [mm, t] of (round % 2 ? [[a, ta], [b, tb], [c, tc]] : [[c, tc], [b, tb], [a, ta]]).filter((p) => p[0])) { const s0 = performance.now(); for (let i = 0; i < 20; i++) mm.run(f); t.push((performance.now() - s0) / 20); }
    const med = (t) => t.slice().sort((p, q) => p - q)[t.length >> 1];
    return { relaxed: a.relaxedSimd, plain: b.relaxedSimd, auto: d.relaxedSimd, same, relaxedMs: med(ta), plainMs: med(tb), ratio: med(tb) / med(ta), ...(c ? { fp32Ms: med(tc), relaxedVsFp32: med(tc) / med(ta), plainVsFp32: med(tc) / med(tb) } : {}) };
  })()`);
  console.log(m, JSON.stringify(r));
}
await browser.close(); server.close();
