/**
 * The main job end to end, as a user runs it: the real binary (node bin/edgec.mjs on the built
 * dist/, as `npm run build` makes it), in child processes with piped stdio.
 *
 *   edgec compile digits_allconv/model.onnx --int8 --calib calib_x.pb -o DIR
 *   edgec eval DIR --data test_x.pb --labels test_y.pb        (within 1 point of meta.json)
 *   edgec run DIR --target wasm  vs  --target ref              (int8: identical; fp32: rtol 1e-3)
 *
 * plus the artifact's runtime API (model.mjs `create`/`run` from plain Node), byte-identical
 * rebuilds, and `profile`/`report` through the binary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HAVE_MODELS, TRAINED, rmTmp, tmpDir } from '../cli/helpers.js';
import { readDataFile } from '../../compiler/io/data.js';
import { compareTensors } from '../helpers/compare.js';
import { sha256 } from '../../cli/artifact.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'edgec.mjs');
const tmp = tmpDir('edgec-e2e-');
afterAll(() => rmTmp(tmp));

/** Newest modification time of the TypeScript sources under `dir`. */
function newestSource(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Runs a node script asynchronously (spawnSync would block vitest's worker RPC for minutes). */
function node(args: string[], opts: { cwd: string; timeout: number }): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

beforeAll(async () => {
  // The steps of `npm run build`, each only when its output is missing or older than its sources
  // (tsc emits even while files being written concurrently have type errors).
  const main = path.join(ROOT, 'dist', 'cli', 'main.js');
  const src = Math.max(...['cli', 'compiler', 'quantize', 'prune', 'targets', 'profile'].filter((d) => fs.existsSync(path.join(ROOT, d)))
    .map((d) => newestSource(path.join(ROOT, d))));
  if (!fs.existsSync(main) || fs.statSync(main).mtimeMs < src) {
    await node([path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, timeout: 170_000 });
  }
  const kernels = path.join(ROOT, 'runtime-wasm', 'build', 'kernels.wasm');
  if (!fs.existsSync(kernels) || fs.statSync(kernels).mtimeMs < newestSource(path.join(ROOT, 'runtime-wasm', 'assembly'))) {
    await node([path.join(ROOT, 'scripts', 'build-runtime.mjs')], { cwd: ROOT, timeout: 170_000 });
  }
  if (!fs.existsSync(main)) throw new Error('the build did not produce dist/cli/main.js');
  if (!fs.existsSync(kernels)) throw new Error('the build did not produce runtime-wasm/build/kernels.wasm');
}, 360_000);

function edgec(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return node([BIN, ...args], { cwd: tmp, timeout: 240_000 });
}

const M = path.join(TRAINED, 'digits_allconv');
const X = path.join(M, 'test_x.pb');
const Y = path.join(M, 'test_y.pb');
const metaValue = (): number => (JSON.parse(fs.readFileSync(path.join(M, 'meta.json'), 'utf8')) as { fp32_value: number }).fp32_value;

async function evalJson(dir: string, target: string): Promise<{ value: number; samples: number; metric: string }> {
  const r = await edgec('eval', dir, '--data', X, '--labels', Y, '--target', target, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { value: number; samples: number; metric: string };
}

async function runTo(dir: string, target: string, name: string) {
  const out = path.join(tmp, name);
  const r = await edgec('run', dir, '--inputs', X, '--target', target, '--out', out);
  expect(r.code, r.err).toBe(0);
  return readDataFile(path.join(out, 'output_0.pb'));
}

describe.skipIf(!HAVE_MODELS)('main job: digits_allconv int8 through the binary', () => {
  const art = path.join(tmp, 'allconv-int8');
  it('compile --int8 --calib writes a complete wasm artifact; the summary is on stderr', async () => {
    const r = await edgec('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '-o', art);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wrote .*allconv-int8 \(\d+ files, target wasm, int8\)\n$/);
    expect(r.err).toMatch(/edgec: quantize int8: weight bytes \d+ -> \d+/);
    expect(r.err).toMatch(/edgec: float islands/);
    expect(r.err).not.toContain('\r'); // no progress bar when stderr is not a terminal
    const man = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as { files: Record<string, string>; precision: string; target: string };
    expect([man.target, man.precision]).toEqual(['wasm', 'int8']);
    expect(fs.readdirSync(art).filter((f) => f !== 'manifest.json').sort()).toEqual(Object.keys(man.files).sort());
    for (const [f, h] of Object.entries(man.files)) expect(sha256(fs.readFileSync(path.join(art, f))), f).toBe(h);
  });
  it('eval: accuracy within 1 point of meta.json, on wasm and on ref', async () => {
    for (const target of ['wasm', 'ref']) {
      const j = await evalJson(art, target);
      expect(j.metric).toBe('accuracy');
      expect(j.samples).toBe(540);
      expect(Math.abs(j.value - metaValue()), target).toBeLessThanOrEqual(0.01);
    }
  });
  it('run --target wasm and --target ref give identical outputs (int8 kernels = reference)', async () => {
    const w = await runTo(art, 'wasm', 'i8-wasm');
    const r = await runTo(art, 'ref', 'i8-ref');
    expect(w.shape).toEqual([540, 10]);
    expect(compareTensors(w, r, { rtol: 0, atol: 0 })).toBeNull();
  });
  it('the artifact runs through its own runtime API (model.mjs) in plain Node', async () => {
    const mod = (await import(pathToFileURL(path.join(art, 'model.mjs')).href)) as {
      create(): Promise<{ inputs: { name: string; shape: number[] }[]; outputs: { name: string }[]; run(f: Record<string, Float32Array>): Record<string, Float32Array> | Promise<Record<string, Float32Array>> }>;
    };
    const model = await mod.create();
    expect(model.inputs[0]!.shape).toEqual([1, 1, 8, 8]);
    const x = readDataFile(X);
    const ref = await runTo(art, 'ref', 'i8-ref2');
    for (const i of [0, 17, 539]) {
      const out = await model.run({ [model.inputs[0]!.name]: (x.data as Float32Array).slice(i * 64, (i + 1) * 64) });
      const got = Array.from(out[model.outputs[0]!.name]!);
      expect(got).toEqual(Array.from({ length: 10 }, (_, j) => ref.get(i * 10 + j)));
    }
  });
  it('compiling again into another folder gives byte-identical files', async () => {
    const b = path.join(tmp, 'allconv-int8-b');
    const r = await edgec('compile', path.join(M, 'model.onnx'), '--int8', '--calib', path.join(M, 'calib_x.pb'), '-o', b);
    expect(r.code, r.err).toBe(0);
    for (const f of fs.readdirSync(art)) expect(sha256(fs.readFileSync(path.join(b, f))), f).toBe(sha256(fs.readFileSync(path.join(art, f))));
  });
  it('--int8 without calibration data refuses (exit 2) and writes nothing', async () => {
    const out = path.join(tmp, 'nocalib');
    const r = await edgec('compile', path.join(M, 'model.onnx'), '--int8', '-o', out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^edgec: error: --int8 needs calibration data[^\n]*--calib-random[^\n]*\n$/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe.skipIf(!HAVE_MODELS)('main job: fp32 through the binary', () => {
  it('compile (default target wasm), eval equals meta.json, run wasm vs ref within rtol 1e-3', async () => {
    const art = path.join(tmp, 'allconv-fp32');
    const c = await edgec('compile', path.join(M, 'model.onnx'), '-o', art);
    expect(c.code, c.err).toBe(0);
    expect(fs.existsSync(path.join(art, 'model.wasm'))).toBe(true);
    expect(Math.abs((await evalJson(art, 'wasm')).value - metaValue())).toBeLessThan(1e-3);
    const w = await runTo(art, 'wasm', 'f-wasm');
    const r = await runTo(art, 'ref', 'f-ref');
    expect(compareTensors(w, r, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    // and the model itself, compiled in memory
    const m = await runTo(path.join(M, 'model.onnx'), 'wasm', 'f-model-wasm');
    expect(compareTensors(m, r, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
  });
  it('profile --json and a small report', async () => {
    const p = await edgec('profile', path.join(M, 'model.onnx'), '--json', '--device', 'cortex-m7', '--runs', '2');
    expect(p.code, p.err).toBe(0);
    const j = JSON.parse(p.out) as { layers: unknown[]; latency: { estimated: Record<string, number> }; energy: { estimated: Record<string, number> } };
    expect(j.layers.length).toBeGreaterThan(0);
    expect(j.latency.estimated['cortex-m7']).toBeGreaterThan(0);
    expect(j.energy.estimated['cortex-m7']).toBeGreaterThan(0);
    const out = path.join(tmp, 'report');
    const r = await edgec('report', path.join(M, 'model.onnx'), '--data', X, '--labels', Y, '--calib', path.join(M, 'calib_x.pb'), '-o', out,
      '--sweep', 'precision=fp32,int8,int4', '--sweep', 'prune=0', '--runs', '2');
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { configs: { name: string; accuracy: number; pareto: boolean }[] };
    expect(rep.configs.map((c) => c.name).sort()).toEqual(['fp32-wasm', 'int4-wasm', 'int8-wasm']);
    for (const c of rep.configs) expect(Math.abs(c.accuracy - metaValue()), c.name).toBeLessThanOrEqual(0.01);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/<svg/);
  });
});
