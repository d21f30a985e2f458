/**
 * A new user's first hour (issue 11): default artifact folder names and when they may be
 * replaced, run/eval defaulting to an artifact's own target, float64/integer data for float
 * inputs, a partial last batch in eval, the "did you mean DIR/model.onnx" hint, run's per-output
 * lines, and the stream and pass lists of --print-after/--explain. Expected values come from the
 * same model run the plain way (f32 data, batch size 1, --target given explicitly).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { readDataFile, sliceRows, writeDataFile } from '../../compiler/io/data.js';
import { expectOneLine } from '../reliability/seed.js';
import { HAVE_MODELS, TRAINED, cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-first-hour-');
afterAll(() => rmTmp(tmp));

const M = path.join(TRAINED, 'digits_mlp');
const MODEL = path.join(M, 'model.onnx');

/** Runs `fn` with the working directory set to `dir` (vitest runs test files in forks). */
async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const old = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(old);
  }
}

function manifestOf(dir: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
}

function output0(dir: string): Tensor {
  return decodeTensorProtoBytes(fs.readFileSync(path.join(dir, 'output_0.pb'))).tensor;
}

function copyModel(dir: string, name = 'model.onnx'): string {
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  fs.copyFileSync(MODEL, p);
  return p;
}

/** `t` with every value in dtype `dt`. */
function as(dt: Tensor['dtype'], t: Tensor, map: (v: number) => number = (v) => v): Tensor {
  const o = Tensor.zeros(dt, [...t.shape]);
  for (let i = 0; i < t.size; i++) o.set(i, dt === 'i64' ? BigInt(map(t.get(i))) : map(t.get(i)));
  return o;
}

describe.skipIf(!HAVE_MODELS)('first hour: default artifact folders', () => {
  const work = path.join(tmp, 'work');
  fs.mkdirSync(work, { recursive: true });
  const a = copyModel(path.join(work, 'a'));
  const b = copyModel(path.join(work, 'b'));

  it('a generic model.onnx names its artifact after its folder: a/model.onnx -> ./a.wasm/', async () => {
    const r = await inDir(work, () => cli('compile', path.join('a', 'model.onnx')));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('wrote a.wasm');
    const man = manifestOf(path.join(work, 'a.wasm'));
    expect(man['name']).toBe('a');
    expect(man['target']).toBe('wasm');
    // a named model file keeps its stem
    copyModel(path.join(work, 'named'), 'digits.onnx');
    const n = await inDir(work, () => cli('compile', path.join('named', 'digits.onnx'), '--target', 'onnx'));
    expect(n.code, n.err).toBe(0);
    expect(fs.existsSync(path.join(work, 'digits.onnx', 'manifest.json'))).toBe(true);
    // the same model, target and precision again: replaced without --force
    const again = await inDir(work, () => cli('compile', a));
    expect(again.code, again.err).toBe(0);
  });

  it('another model, target or precision is replaced only with --force (exit 8 naming it)', async () => {
    const art = path.join(work, 'a.wasm');
    const before = fs.readFileSync(path.join(art, 'manifest.json'), 'utf8');
    const other = await cli('compile', b, '-o', art);
    expectOneLine(other, 8, /another model.*"a".*"b".*--force/);
    const hls = await cli('compile', a, '-o', art, '--target', 'hls');
    expectOneLine(hls, 8, /another target.*wasm, not hls.*--force/);
    const fp16 = await cli('compile', a, '-o', art, '--fp16');
    expectOneLine(fp16, 8, /another precision.*fp32, not fp16.*--force/);
    expect(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')).toBe(before);
    const forced = await cli('compile', b, '-o', art, '--force');
    expect(forced.code, forced.err).toBe(0);
    expect(manifestOf(art)['name']).toBe('b');
  });

  it('an empty folder made with mkdir may be the output; a folder with other files may not, even with --force', async () => {
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    const r = await cli('compile', a, '-o', empty, '--target', 'onnx');
    expect(r.code, r.err).toBe(0);
    expect(manifestOf(empty)['target']).toBe('onnx');
    const busy = path.join(work, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    expectOneLine(await cli('compile', a, '-o', busy, '--force'), 8, /not an edgec artifact/);
    expect(fs.readFileSync(path.join(busy, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('a folder holding model.onnx but no manifest.json: "did you mean DIR/model.onnx"', async () => {
    const dir = path.join(work, 'a');
    const r = await cli('run', dir, '--inputs', path.join(M, 'sample_in.pb'), '--out', path.join(tmp, 'dym'));
    expectOneLine(r, 3, new RegExp(`did you mean ${path.join(dir, 'model.onnx').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const e = await cli('eval', dir, '--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'));
    expectOneLine(e, 3, /did you mean .*model\.onnx/);
  });
});

describe.skipIf(!HAVE_MODELS)('first hour: run and eval', () => {
  const art = path.join(tmp, 'mlp.wasm');
  const sample = path.join(M, 'sample_in.pb');

  it('run on an artifact defaults to its own target; --target ref still runs the reference', async () => {
    const c = await cli('compile', MODEL, '-o', art);
    expect(c.code, c.err).toBe(0);
    const def = await cli('run', art, '--inputs', sample, '--out', path.join(tmp, 'o-def'));
    expect(def.code, def.err).toBe(0);
    expect(def.err).toMatch(/\(target wasm\)/);
    const wasm = await cli('run', art, '--inputs', sample, '--target', 'wasm', '--out', path.join(tmp, 'o-wasm'));
    expect(wasm.code, wasm.err).toBe(0);
    expect(fs.readFileSync(path.join(tmp, 'o-def', 'output_0.pb'))).toEqual(fs.readFileSync(path.join(tmp, 'o-wasm', 'output_0.pb')));
    const ref = await cli('run', art, '--inputs', sample, '--target', 'ref', '--out', path.join(tmp, 'o-ref'));
    expect(ref.code, ref.err).toBe(0);
    expect(ref.err).toMatch(/\(target ref\)/);
    // a plain model still runs on the reference by default
    const plain = await cli('run', MODEL, '--inputs', sample, '--out', path.join(tmp, 'o-plain'));
    expect(plain.err).toMatch(/\(target ref\)/);
  });

  it('eval on an artifact defaults to its own target', async () => {
    const data = ['--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--json'];
    const def = await cli('eval', art, ...data);
    expect(def.code, def.err).toBe(0);
    expect(JSON.parse(def.out).target).toBe('wasm');
    const ref = await cli('eval', art, ...data, '--target', 'ref');
    expect(JSON.parse(ref.out).target).toBe('ref');
    expect(JSON.parse((await cli('eval', MODEL, ...data)).out).target).toBe('ref');
  });

  it('run prints one line per output: name, dtype, shape and the file written', async () => {
    const out = path.join(tmp, 'o-lines');
    const r = await cli('run', MODEL, '--inputs', sample, '--out', out, '--npy');
    expect(r.code, r.err).toBe(0);
    const t = output0(out);
    const lines = r.err.split('\n').filter((l) => l.startsWith('edgec: output '));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(new RegExp(`^edgec: output 0 "[^"]+": f32 \\[${t.shape.join(',')}\\] -> .*output_0\\.pb \\(\\+ \\.npy\\)$`));
  });

  it('float64 .npy data (NumPy\'s default) for a float32 input is converted with a note (run and eval)', async () => {
    const x32 = readDataFile(sample);
    const f64 = path.join(tmp, 'x64.npy');
    writeDataFile(f64, as('f64', x32));
    const r = await cli('run', MODEL, '--inputs', f64, '--out', path.join(tmp, 'o-64'));
    expect(r.code, r.err).toBe(0);
    expect(r.err.split('\n').filter((l) => /^edgec: note: .*x64\.npy holds f64 data; converted to f32/.test(l)).length).toBe(1);
    const want = await cli('run', MODEL, '--inputs', sample, '--out', path.join(tmp, 'o-32'));
    expect(want.code, want.err).toBe(0);
    expect(output0(path.join(tmp, 'o-64')).toNumbers()).toEqual(output0(path.join(tmp, 'o-32')).toNumbers());

    const all = readDataFile(path.join(M, 'test_x.pb'));
    const all64 = path.join(tmp, 'test64.npy');
    writeDataFile(all64, as('f64', all));
    const labels = path.join(M, 'test_y.pb');
    const e64 = await cli('eval', MODEL, '--data', all64, '--labels', labels, '--json');
    expect(e64.code, e64.err).toBe(0);
    expect(e64.err).toMatch(/note: .*converted to f32/);
    const e32 = await cli('eval', MODEL, '--data', path.join(M, 'test_x.pb'), '--labels', labels, '--json');
    expect(JSON.parse(e64.out).value).toBe(JSON.parse(e32.out).value);
  });

  it('integer data for a float input is converted only where exact', async () => {
    const ints = as('f32', readDataFile(sample), (v) => Math.round(v * 16));
    const f32 = path.join(tmp, 'int-as-f32.pb');
    writeDataFile(f32, ints);
    const i64 = path.join(tmp, 'int.npy');
    writeDataFile(i64, as('i64', ints));
    const r = await cli('run', MODEL, '--inputs', i64, '--out', path.join(tmp, 'o-i64'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/note: .*int\.npy holds i64 data; converted exactly to f32/);
    const want = await cli('run', MODEL, '--inputs', f32, '--out', path.join(tmp, 'o-if32'));
    expect(want.code, want.err).toBe(0);
    expect(output0(path.join(tmp, 'o-i64')).toNumbers()).toEqual(output0(path.join(tmp, 'o-if32')).toNumbers());
    // 2^24 + 1 has no float32: rejected, not rounded
    const big = Tensor.zeros('i32', [...ints.shape]);
    big.set(0, 2 ** 24 + 1);
    const bf = path.join(tmp, 'big.npy');
    writeDataFile(bf, big);
    expectOneLine(await cli('run', MODEL, '--inputs', bf, '--out', path.join(tmp, 'o-big')), 3, /is i32 but the model input is f32/);
  });

  it('eval with --input-shape batch 8 on 540 samples pads the last batch and drops its outputs', async () => {
    const data = ['--data', path.join(M, 'test_x.pb'), '--labels', path.join(M, 'test_y.pb'), '--json'];
    const one = await cli('eval', MODEL, ...data);
    expect(one.code, one.err).toBe(0);
    const eight = await cli('eval', MODEL, ...data, '--input-shape', 'input=8x64');
    expect(eight.code, eight.err).toBe(0);
    expect(eight.err).toMatch(/note: 540 samples are not a multiple of the model's batch size 8: the last batch is padded with 4 zero sample\(s\)/);
    const j1 = JSON.parse(one.out);
    const j8 = JSON.parse(eight.out);
    expect(j8.samples).toBe(540);
    expect(j8.value).toBe(j1.value);
    // run stacks 540 rows too, and they equal the batch-1 rows
    const o8 = path.join(tmp, 'o-b8');
    const o1 = path.join(tmp, 'o-b1');
    expect((await cli('run', MODEL, '--inputs', path.join(M, 'test_x.pb'), '--out', o8, '--input-shape', 'input=8x64')).code).toBe(0);
    expect((await cli('run', MODEL, '--inputs', path.join(M, 'test_x.pb'), '--out', o1)).code).toBe(0);
    const t8 = output0(o8);
    const t1 = output0(o1);
    expect(t8.shape).toEqual(t1.shape);
    expect(sliceRows(t8, 536, 4).toNumbers()).toEqual(sliceRows(t1, 536, 4).toNumbers());
    expect(t8.toNumbers().length).toBe(t1.toNumbers().length);
  });
});

describe.skipIf(!HAVE_MODELS)('first hour: --print-after and --explain', () => {
  it('both print on stderr; stdout holds only the result line', async () => {
    const art = path.join(tmp, 'explain');
    const r = await cli('compile', MODEL, '-o', art, '--target', 'onnx', '--int8', '--calib', path.join(M, 'calib_x.pb'), '--explain', '--print-after', 'dce');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\/\/ after dce/);
    expect(r.err).toMatch(/per-layer quantization error/);
    expect(r.out.trim().split('\n')).toEqual([expect.stringMatching(/^wrote /)]);
    const help = await cli('compile', '--help');
    expect(help.out).toMatch(/--explain[^\n]*stderr/);
    expect(help.out).toMatch(/--print-after[^\n]*stderr/);
  });

  it('an unknown pass name lists the valid ones', async () => {
    for (const flag of ['--print-after', '--disable-pass']) {
      const r = await cli('compile', MODEL, '--target', 'onnx', '-o', path.join(tmp, 'np'), flag, 'no-such-pass');
      expectOneLine(r, 2, new RegExp(`${flag}: unknown pass "no-such-pass"; the passes of this target are: .*dce`));
      expect(fs.existsSync(path.join(tmp, 'np'))).toBe(false);
    }
  });
});
