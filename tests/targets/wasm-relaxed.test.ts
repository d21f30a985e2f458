/**
 * Relaxed SIMD (issue 14 item 2): int8 artifacts carry model-relaxed.wasm, the same model on the
 * relaxed-SIMD kernel library (runtime-wasm/assembly/int8-relaxed.ts), which model.mjs loads where
 * the engine correctly runs relaxed SIMD and is expected to gain (or when asked).
 * - Node with relaxed SIMD (a child `node --experimental-wasm-relaxed-simd --no-liftoff`: Node 20's
 *   baseline compiler gets i32x4.relaxed_dot_i8x16_i7x16_add_s wrong, which model.mjs's probe
 *   detects): model-relaxed.wasm runs (model.relaxedSimd) and every output is bit-identical to the
 *   reference interpreter, over the QConv GEMM paths (im2col, pointwise NCHW and channels-last,
 *   u8 / i8 activations, odd K, groups, weights outside [-127, 127] that keep the plain kernel), and
 *   with 7-bit activations (`--act-bits 7`) the one-plane kernel, including tiles that hold values
 *   past the 7-bit range next to tiles that do not.
 * - The fallback: where the probe fails (this process, Node 20 without the flag; Node 20 with the flag
 *   and its baseline compiler) or `create({ relaxedSimd: false })`, model.wasm runs, same bits.
 * - Headless Chromium (relaxed SIMD on by default): model-relaxed.wasm runs when asked
 *   (create({ relaxedSimd: true })) and is bit-exact; by default x64 engines get model.wasm.
 */
import fs from 'node:fs';
import * as http from 'node:http';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { quantizeMultipliers } from '../../compiler/ops/qint.js';
import { emitWasm } from '../../targets/wasm/emit.js';
import { lowerGraph } from '../../targets/wasm/lower.js';
import { writeTempArtifact } from '../../targets/wasm/runner.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { ConvCase, XS, convGraph, expectSameBits, finish, input, quantIn, randInts, rng } from './int8-graphs.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM && process.env['CI']) throw new Error('CI needs Chromium for the relaxed-SIMD browser test (apt-get install chromium)');

const CONVS: ConvCase[] = [
  { name: 'im2col 3x3 pad 1, C 5 -> 7 (K 45)', x: [1, 5, 9, 11], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'im2col stride 2, i8 in/out, wide rows', x: [1, 3, 20, 37], w: [8, 3, 3, 3], xdt: 'i8', ydt: 'i8', attrs: { strides: [2, 2], pads: [1, 0, 1, 1] } },
  { name: 'im2col dilation, asymmetric pads, K 24', x: [1, 4, 13, 10], w: [6, 4, 3, 2], attrs: { strides: [2, 1], dilations: [2, 2], pads: [1, 0, 2, 1] } },
  { name: 'pointwise 1x1, odd channels, i8', x: [1, 17, 7, 5], w: [9, 17, 1, 1], xdt: 'i8' },
  { name: 'pointwise 1x1 grouped, tiled (50x7)', x: [1, 6, 50, 7], w: [9, 2, 1, 1], attrs: { group: 3 } },
  { name: 'pointwise 1x1, 64 -> 40, 16x16, batch 2', x: [2, 64, 16, 16], w: [40, 64, 1, 1] },
  { name: 'im2col 5x5 s2 C 16 -> 24, clamp', x: [1, 16, 19, 23], w: [24, 16, 5, 5], clamp: [30, 200], attrs: { strides: [2, 2], pads: [2, 2, 2, 2] } },
  { name: 'u8 weights, per-channel zero points (w\' may pass 127: plain kernel), float rq', x: [1, 5, 8, 7], w: [6, 5, 3, 3], wdt: 'u8', wzp: 'per-channel', float: true, attrs: { pads: [0, 1, 1, 0] } },
  { name: '1-D conv', x: [1, 6, 29], w: [5, 6, 3], attrs: { pads: [1, 1], strides: [2] } },
];

/** pw QConv -> depthwise QConv (channels-last) -> pw QConv reading channels-last input. */
function chainGraph(C: number, xShape: number[], seed: number): { g: Graph; x: Tensor } {
  const { b, x } = quantIn(xShape, 'u8', 131);
  const r = rng(seed);
  const conv = (v: ValueId, xz: number, M: number, wshape: number[], attrs: Record<string, AttrValue>, s: number): ValueId => {
    const K = wshape.slice(1).reduce((p, q) => p * q, 1);
    const m = 60 / (128 * 70 * Math.sqrt(K));
    const stage = quantizeMultipliers(Array.from({ length: M }, () => m * 2 ** (2 * r() - 1)));
    return b.node('QConv', [v, b.const(`w${s}`, 'i8', wshape, randInts(M * K, -127, 127, s)), b.const(`b${s}`, 'i32', [M], randInts(M, -20000, 20000, s + 1))],
      { ...attrs, x_zero_point: xz, w_zero_point: [0], ...stage, y_dtype: 'u8', y_zero_point: 120 }, { domain: 'edgec' });
  };
  const y0 = conv(x, 131, C, [C, xShape[1]!, 1, 1], {}, seed);
  const y1 = conv(y0, 120, C, [C, 1, 3, 3], { pads: [1, 1, 1, 1], group: C }, seed + 10);
  const y2 = conv(y1, 120, 11, [11, C, 1, 1], {}, seed + 20);
  return { g: finish(b, [y2]), x: input(xShape, seed, XS) };
}

interface Case { name: string; g: Graph; x: Tensor }

/**
 * 7-bit activations (the one-plane kernel): inputs whose quantized bytes + 64 (i8) or + 0 (u8) lie
 * in [0, 127]; `out` puts values beyond that range into the last rows, so those tiles take the
 * two-plane kernel inside the same convolution.
 */
function sevenBit(cs: ConvCase, seed: number, out = false): { g: Graph; x: Tensor } {
  const { g } = convGraph(cs, seed);
  g.meta['edgec.act_bits'] = '7'; // what quantizeModel({ actBits: 7 }) records: model.mjs then prefers model-relaxed.wasm
  const x = input(cs.x, seed, XS, -0.55, 0.55);
  const d = x.data as Float32Array;
  if (out) for (let i = d.length - 37; i < d.length; i += 3) d[i] = i % 2 ? 1.4 : -1.4;
  return { g, x };
}

const CASES: Case[] = [
  ...CONVS.map((cs, i) => ({ name: cs.name, ...convGraph(cs, 300 + i * 10) })),
  { name: 'chain pw -> dw (channels-last) -> pw, C 70', ...chainGraph(70, [1, 6, 9, 13], 41) },
  { name: '7-bit i8: im2col 3x3 pad 1, C 5 -> 7', ...sevenBit({ name: '', x: [1, 5, 9, 11], w: [7, 5, 3, 3], xdt: 'i8', attrs: { pads: [1, 1, 1, 1] } }, 501) },
  { name: '7-bit i8: pointwise 64 -> 40, 16x16, odd tail', ...sevenBit({ name: '', x: [1, 63, 16, 15], w: [40, 63, 1, 1], xdt: 'i8' }, 511) },
  { name: '7-bit u8 (zp 60): im2col 5x5 s2 C 16 -> 24', ...sevenBit({ name: '', x: [1, 16, 19, 23], w: [24, 16, 5, 5], zx: 60, attrs: { strides: [2, 2], pads: [2, 2, 2, 2] } }, 521) },
  { name: '7-bit i8 with out-of-range tail (mixed tiles): pointwise 24 -> 16, 60x60', ...sevenBit({ name: '', x: [1, 24, 60, 60], w: [16, 24, 1, 1], xdt: 'i8' }, 531, true) },
  { name: '7-bit i8 grouped pointwise', ...sevenBit({ name: '', x: [1, 6, 50, 7], w: [9, 2, 1, 1], xdt: 'i8', attrs: { group: 3 } }, 541) },
];

/** The Node flags for relaxed SIMD: Node 20 needs the experimental flag (Node >= 21 has it on). */
const RELAXED = Number(process.versions.node.split('.')[0]) < 21 ? ['--experimental-wasm-relaxed-simd'] : [];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Compiles a case with model-relaxed.wasm into a temporary artifact folder. */
function artifact(g: Graph): string {
  const art = emitWasm(g.clone(), { precision: 'int8', relaxedSimd: true });
  expect(art.manifest['wasm_relaxed_simd']).toBe('twin');
  const dir = writeTempArtifact(art.files);
  dirs.push(dir);
  return dir;
}

/** i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113) in a module's bytes. */
const hasRelaxedDot = (b: Uint8Array): boolean => Buffer.from(b).includes(Buffer.from([0xfd, 0x93, 0x02]));

/**
 * A child Node that imports each artifact's model.mjs, creates it with `opts` and runs it on the
 * input; prints [{ relaxed, y: number[][] }] per folder.
 */
function runChild(nodeFlags: string[], jobs: { dir: string; x: Float32Array }[], opts: Record<string, unknown> = {}): { relaxed: boolean; y: number[][] }[] {
  const script = `
    const { readFileSync } = await import('node:fs');
    const jobs = JSON.parse(readFileSync(0, 'utf8'));
    const out = [];
    for (const j of jobs) {
      const m = await (await import(j.url)).create(${JSON.stringify(opts)});
      const r = m.run({ [m.inputs[0].name]: Float32Array.from(j.x) });
      out.push({ relaxed: m.relaxedSimd, y: m.outputs.map((o) => Array.from(r[o.name])) });
    }
    process.stdout.write(JSON.stringify(out));`;
  const arg = JSON.stringify(jobs.map((j) => ({ url: pathToFileURL(path.join(j.dir, 'model.mjs')).href, x: Array.from(j.x) })));
  const r = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { input: arg, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`child node failed (${r.status ?? r.error?.message}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { relaxed: boolean; y: number[][] }[];
}

function expectReference(c: Case, y: number[][], what: string): void {
  const want = runGraph(c.g, [c.x]);
  expectSameBits(y.map((v, k) => new Tensor('f32', want[k]!.shape as number[], Float32Array.from(v))), want, `${what} ${c.name}: `);
}

describe('relaxed SIMD int8 module (model-relaxed.wasm)', () => {
  it('holds the relaxed dot product; model.wasm does not; same memory layout (checked by the emitter)', () => {
    const art = emitWasm(CASES[0]!.g.clone(), { precision: 'int8', relaxedSimd: 'auto' }); // the CLI's default: the twin for int8
    expect(art.manifest['wasm_relaxed_simd']).toBe('twin');
    expect(emitWasm(CASES[0]!.g.clone(), { precision: 'int8' }).manifest['wasm_relaxed_simd']).toBe(false); // library default
    expect(hasRelaxedDot(art.files.get('model-relaxed.wasm') as Uint8Array)).toBe(true);
    expect(hasRelaxedDot(art.files.get('model.wasm') as Uint8Array)).toBe(false);
    const off = emitWasm(CASES[0]!.g.clone(), { precision: 'int8', relaxedSimd: false });
    expect(off.files.has('model-relaxed.wasm')).toBe(false);
    expect(off.manifest['wasm_relaxed_simd']).toBe(false);
    const only = emitWasm(CASES[0]!.g.clone(), { precision: 'int8', relaxedSimd: 'only' });
    expect(only.files.has('model-relaxed.wasm')).toBe(false);
    expect(hasRelaxedDot(only.files.get('model.wasm') as Uint8Array)).toBe(true);
    expect(only.manifest['wasm_relaxed_simd']).toBe('only');
    expect(() => emitWasm(CASES[0]!.g.clone(), { precision: 'int8', relaxedSimd: true, simd: false })).toThrow(/relaxed SIMD needs wasm SIMD/);
  });

  it('the cases take the GEMM conv path the relaxed kernel replaces', () => {
    for (const c of CASES) expect(lowerGraph(c.g).steps.some((st) => st.kernel === 'qconv_i8'), c.name).toBe(true);
  });

  it('Node with relaxed SIMD (optimizing compiler): model-relaxed.wasm runs, bit-identical to the reference', () => {
    const jobs = CASES.map((c) => ({ dir: artifact(c.g), x: c.x.data as Float32Array }));
    const res = runChild([...RELAXED, '--no-liftoff'], jobs, { relaxedSimd: true });
    res.forEach((r, i) => {
      expect(r.relaxed, CASES[i]!.name).toBe(true);
      expectReference(CASES[i]!, r.y, 'relaxed');
    });
    // forced off in the same engine: model.wasm, same bits
    const plain = runChild([...RELAXED, '--no-liftoff'], jobs.slice(0, 2), { relaxedSimd: false });
    plain.forEach((r, i) => {
      expect(r.relaxed).toBe(false);
      expectReference(CASES[i]!, r.y, 'forced plain');
    });
  }, 120_000);

  it('falls back to model.wasm where relaxed SIMD is unavailable or wrong, with the same bits', async () => {
    const c = CASES[3]!;
    const dir = artifact(c.g);
    const mod = (await import(pathToFileURL(path.join(dir, 'model.mjs')).href)) as {
      create(o?: unknown): Promise<{ relaxedSimd: boolean; inputs: { name: string }[]; outputs: { name: string }[]; run(f: unknown): Record<string, Float32Array> }>;
      relaxedSimdWorks(): boolean;
    };
    const m = await mod.create({ relaxedSimd: true });
    // this process: relaxed SIMD is used exactly when the probe passes (Node 20 without the flag: never)
    expect(m.relaxedSimd).toBe(mod.relaxedSimdWorks());
    if (process.versions.node.startsWith('20.') && !process.execArgv.includes('--experimental-wasm-relaxed-simd')) expect(m.relaxedSimd).toBe(false);
    const r = m.run({ [m.inputs[0]!.name]: c.x.data });
    expectReference(c, m.outputs.map((o) => Array.from(r[o.name]!)), 'this process');
    // Node 20 with the flag, tiered (the baseline compiler adds the dot product twice and drops the
    // accumulator): the probe rejects it; other engines must pass it, and either way the bits hold
    const [tiered] = runChild(RELAXED, [{ dir, x: c.x.data as Float32Array }], { relaxedSimd: true });
    // default choice on x64 (the engine reads the i7 operand as unsigned): model.wasm
    if (process.arch === 'x64') expect(runChild([...RELAXED, '--no-liftoff'], [{ dir, x: c.x.data as Float32Array }])[0]!.relaxed).toBe(false);
    if (process.versions.node.startsWith('20.')) expect(tiered!.relaxed).toBe(false);
    expectReference(c, tiered!.y, 'tiered');
    // --wasm-simd relaxed (model.wasm itself relaxed): a clear error where the probe fails, the reference's bits where it passes
    const onlyDir = writeTempArtifact(emitWasm(c.g.clone(), { precision: 'int8', relaxedSimd: 'only' }).files);
    dirs.push(onlyDir);
    const onlyMod = (await import(pathToFileURL(path.join(onlyDir, 'model.mjs')).href)) as typeof mod;
    if (!mod.relaxedSimdWorks()) await expect(onlyMod.create()).rejects.toThrow(/compiled with --wasm-simd relaxed/);
    const [rx] = runChild([...RELAXED, '--no-liftoff'], [{ dir: onlyDir, x: c.x.data as Float32Array }]);
    expect(rx!.relaxed).toBe(true);
    expectReference(c, rx!.y, 'relaxed only');
  }, 60_000);
});

describe('CLI: --wasm-simd on|off|relaxed', () => {
  it('int8 artifacts get the twin by default, relaxed makes model.wasm relaxed, off neither; fp32 none', async () => {
    const dir = tmpDir('edgec-relaxed-cli-');
    try {
      const b = new GraphBuilder();
      const x = b.input('image', 'f32', [1, 3, 10, 10]);
      const w = b.const('w', new Tensor('f32', [8, 3, 3, 3], Float32Array.from(randInts(216, -50, 50, 3), (v) => v / 50)));
      const c = b.node('Conv', [x, w], { pads: [1, 1, 1, 1] });
      b.output(b.node('Relu', [c], {}, { outputNames: ['y'] }));
      fs.writeFileSync(path.join(dir, 'm.onnx'), exportOnnx(b.build()));
      const files = (d: string) => fs.readdirSync(path.join(dir, d)).filter((f) => f.endsWith('.wasm')).sort();
      const manifest = (d: string) => JSON.parse(fs.readFileSync(path.join(dir, d, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      for (const [d, flags, want, field] of [
        ['on', [], ['model-relaxed.wasm', 'model.wasm'], 'twin'],
        ['rx', ['--wasm-simd', 'relaxed'], ['model.wasm'], 'only'],
        ['off', ['--wasm-simd', 'off'], ['model.wasm'], false],
      ] as const) {
        const r = await cli('compile', path.join(dir, 'm.onnx'), '--int8', '--calib-random', ...flags, '-o', path.join(dir, d));
        expect(r.code, r.err).toBe(0);
        expect(files(d)).toEqual(want);
        expect(manifest(d)['wasm_relaxed_simd']).toBe(field);
      }
      const r = await cli('compile', path.join(dir, 'm.onnx'), '-o', path.join(dir, 'f32'));
      expect(r.code, r.err).toBe(0);
      expect(files('f32')).toEqual(['model.wasm']);
      const bad = await cli('compile', path.join(dir, 'm.onnx'), '--target', 'webgpu', '--wasm-simd', 'relaxed', '-o', path.join(dir, 'g'));
      expect(bad.code).not.toBe(0);
      expect(bad.err).toMatch(/--wasm-simd applies to the wasm target only/);
    } finally {
      rmTmp(dir);
    }
  }, 120_000);

  it('--act-bits 7: the manifest says so, model.mjs picks model-relaxed.wasm by default where it works, same bits as model.wasm', async () => {
    const dir = tmpDir('edgec-relaxed-act7-');
    try {
      const b = new GraphBuilder();
      const x = b.input('image', 'f32', [1, 8, 12, 12]);
      const w1 = b.const('w1', new Tensor('f32', [16, 8, 3, 3], Float32Array.from(randInts(1152, -50, 50, 5), (v) => v / 50)));
      const w2 = b.const('w2', new Tensor('f32', [12, 16, 1, 1], Float32Array.from(randInts(192, -50, 50, 6), (v) => v / 50)));
      const c1 = b.node('Relu', [b.node('Conv', [x, w1], { pads: [1, 1, 1, 1] })]);
      b.output(b.node('Conv', [c1, w2], {}, { outputNames: ['y'] }));
      fs.writeFileSync(path.join(dir, 'm.onnx'), exportOnnx(b.build()));
      const r = await cli('compile', path.join(dir, 'm.onnx'), '--int8', '--calib-random', '--act-bits', '7', '-o', path.join(dir, 'a7'));
      expect(r.code, r.err).toBe(0);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'a7', 'manifest.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest['act_bits']).toBe(7);
      expect((manifest['quantization'] as Record<string, unknown>)['act_bits']).toBe(7);
      const xs = input([1, 8, 12, 12], 77, 0.01, -1, 1).data as Float32Array;
      const [auto] = runChild([...RELAXED, '--no-liftoff'], [{ dir: path.join(dir, 'a7'), x: xs }]);
      const [plain] = runChild([...RELAXED, '--no-liftoff'], [{ dir: path.join(dir, 'a7'), x: xs }], { relaxedSimd: false });
      expect(auto!.relaxed).toBe(true); // x64 too: the one-plane kernel
      expect(plain!.relaxed).toBe(false);
      expect(auto!.y).toEqual(plain!.y);
      // usage errors
      const noInt8 = await cli('compile', path.join(dir, 'm.onnx'), '--act-bits', '7', '-o', path.join(dir, 'f'));
      expect(noInt8.code).not.toBe(0);
      expect(noInt8.err).toMatch(/--act-bits needs --int8/);
      const six = await cli('compile', path.join(dir, 'm.onnx'), '--int8', '--calib-random', '--act-bits', '6', '-o', path.join(dir, 's'));
      expect(six.code).not.toBe(0);
      expect(six.err).toMatch(/--act-bits/);
    } finally {
      rmTmp(dir);
    }
  }, 120_000);
});

describe.skipIf(!CHROMIUM)('relaxed SIMD in headless Chromium', () => {
  it('chooses model-relaxed.wasm and matches the reference bit for bit (and model.wasm when asked)', async () => {
    const pick = (prefix: string): Case => CASES.find((c) => c.name.startsWith(prefix))!;
    const picks = [CASES[1]!, CASES[5]!, pick('chain'), pick('7-bit u8'), pick('7-bit i8 with out-of-range')];
    const root = artifact(picks[0]!.g);
    const sub = picks.slice(1).map((c, i) => {
      const d = path.join(root, `m${i + 1}`);
      fs.cpSync(artifact(c.g), d, { recursive: true });
      return `m${i + 1}/`;
    });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>edgec</title><body>ready</body>');
    const server = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '') || 'index.html';
      const file = path.join(root, path.normalize(rel));
      if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') ? 'text/javascript' : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      await page.goto(base + 'index.html');
      const prefixes = ['', ...sub];
      for (const [i, c] of picks.entries()) {
        // A string, not a function: the test runner rewrites import() inside functions it compiles.
        const script = `(async () => {
          const mod = await import('./${prefixes[i]}model.mjs');
          const x = new Float32Array(${JSON.stringify(Array.from(c.x.data as Float32Array))});
          const res = [];
          for (const relaxedSimd of [true, false, undefined]) {
            const m = await mod.create({ relaxedSimd });
            const r = m.run({ [m.inputs[0].name]: x });
            res.push({ relaxed: m.relaxedSimd, y: m.outputs.map((o) => Array.from(r[o.name])) });
          }
          return res;
        })()`;
        const [on, off, auto] = (await page.evaluate(script)) as { relaxed: boolean; y: number[][] }[];
        expect(on!.relaxed, c.name).toBe(true);
        expectReference(c, on!.y, 'chromium relaxed');
        expect(off!.relaxed).toBe(false);
        expectReference(c, off!.y, 'chromium plain');
        // 7-bit artifacts: the relaxed module on every engine; else x64 keeps model.wasm (measured faster)
        if (c.g.meta['edgec.act_bits'] === '7') expect(auto!.relaxed, c.name).toBe(true);
        else if (process.arch === 'x64') expect(auto!.relaxed).toBe(false);
        expectReference(c, auto!.y, 'chromium default');
      }
    } finally {
      await browser.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  }, 120_000);
});
