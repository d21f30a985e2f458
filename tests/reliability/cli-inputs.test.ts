/**
 * Bad option values, output paths that are files / symbolic links / the input's folder /
 * foreign folders, and bad data files for `run`. Each: exit code, one stderr line naming the
 * problem, nothing written.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { encodeNpy } from '../../compiler/io/npy.js';
import { encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { expectCompileFails, expectOneLine, seedAdd, writeModel } from './seed.js';

let dir = '';
let model = '';
const dirs: string[] = [];
beforeEach(() => {
  dir = tmpDir('edgec-cli-');
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'm'));
  model = writeModel(path.join(dir, 'm'), seedAdd());
});
afterAll(() => dirs.forEach(rmTmp));

describe('bad option values (exit 2)', () => {
  const cases: [string, string[], RegExp][] = [
    ['limit flag 0', ['--max-nodes', '0'], /max-nodes.*positive integer/],
    ['limit flag not a number', ['--max-tensor-bytes', '1e9x'], /max-tensor-bytes/],
    ['prune ratio >= 1', ['--prune', '1'], /prune.*0 <= RATIO < 1/],
    ['prune ratio negative', ['--prune', '-0.1'], /prune/],
    ['prune ratio NaN', ['--prune', 'abc'], /prune/],
    ['unknown target', ['--target', 'tpu'], /target.*tpu/],
    ['unknown calibrator', ['--int8', '--calibrator', 'magic'], /calibrator/],
    ['unknown prune mode', ['--prune', '0.5', '--prune-mode', '3:7'], /prune-mode/],
    ['input shape without =', ['--input-shape', '1x4'], /input-shape.*NAME=DIMS/],
    ['input shape zero dim', ['--input-shape', 'x=0x4'], /input-shape/],
    ['input shape garbage dims', ['--input-shape', 'x=1xfour'], /input-shape/],
    ['two precisions', ['--int8', '--fp16'], /one precision/],
    ['--calib without --int8', ['--calib', 'c.pb'], /--calib needs --int8/],
    ['--prune-mode without --prune', ['--prune-mode', 'channel'], /needs --prune/],
    ['unknown option', ['--frobnicate'], /unknown option '--frobnicate'/],
    ['unknown pass', ['--disable-pass', 'warp-drive'], /unknown pass "warp-drive"/],
  ];
  for (const [what, extra, re] of cases) {
    it(what, async () => {
      await expectCompileFails(dir, model, 2, re, extra);
    });
  }
  it('input shape of the wrong rank is invalid (3)', async () => {
    await expectCompileFails(dir, model, 3, /rank 3/, ['--input-shape', 'x=1x4x1']);
  });
  it('no command, unknown command, missing arguments', async () => {
    expectOneLine(await cli(), 2, /no command/);
    expectOneLine(await cli('transmogrify'), 2, /unknown command 'transmogrify'/);
    expectOneLine(await cli('inspect'), 2, /missing required argument 'model'/);
    expectOneLine(await cli('run', model, '--inputs', 'a.pb'), 2, /--out/);
  });
  it('--verbose adds a stack trace, only then', async () => {
    const r = await cli('--verbose', 'inspect', path.join(dir, 'missing.onnx'));
    expect(r.code).toBe(3);
    expect(r.err.split('\n')[0]).toMatch(/^edgec: error: cannot read model/);
    expect(r.err).toMatch(/\n\s+at /);
  });
});

describe('output paths', () => {
  it('an existing file', async () => {
    const f = path.join(dir, 'file.txt');
    fs.writeFileSync(f, 'keep me');
    const r = await cli('compile', model, '--target', 'onnx', '-o', f);
    expectOneLine(r, 8, /exists and is not a folder/);
    expect(fs.readFileSync(f, 'utf8')).toBe('keep me');
  });
  it('a symbolic link (to a folder or to nowhere)', async () => {
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    expectOneLine(await cli('compile', model, '--target', 'onnx', '-o', path.join(dir, 'link')), 6, /symbolic link/);
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
    expectOneLine(await cli('compile', model, '--target', 'onnx', '-o', path.join(dir, 'dangling')), 6, /symbolic link/);
    expect(fs.readdirSync(path.join(dir, 'real'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'nowhere'))).toBe(false);
  });
  it("the input model's folder, or a folder containing it", async () => {
    expectOneLine(await cli('compile', model, '--target', 'onnx', '-o', path.join(dir, 'm')), 8, /input's folder/);
    expectOneLine(await cli('compile', model, '--target', 'onnx', '-o', dir), 8, /input's folder|contains an input/);
    expect(fs.readdirSync(path.join(dir, 'm'))).toEqual(['model.onnx']);
  });
  it('an existing folder that is not an edgec artifact is never replaced', async () => {
    const d = path.join(dir, 'precious');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'thesis.tex'), 'x');
    expectOneLine(await cli('compile', model, '--target', 'onnx', '-o', d), 8, /not an edgec artifact/);
    fs.writeFileSync(path.join(d, 'manifest.json'), '{"name": "not edgec"}');
    expectOneLine(await cli('compile', model, '--target', 'onnx', '-o', d), 8, /not an edgec artifact/);
    expect(fs.readdirSync(d).sort()).toEqual(['manifest.json', 'thesis.tex']);
  });
  it('run --out: files, symbolic links, input folders and foreign folders are refused', async () => {
    const x = path.join(dir, 'x.pb');
    fs.writeFileSync(x, encodeTensorProtoBytes(Tensor.from('f32', [1, 4], [1, 2, 3, 4])));
    fs.writeFileSync(path.join(dir, 'f'), '');
    expectOneLine(await cli('run', model, '--inputs', x, '--out', path.join(dir, 'f')), 8, /not a folder/);
    fs.symlinkSync(dir, path.join(dir, 'l'));
    expectOneLine(await cli('run', model, '--inputs', x, '--out', path.join(dir, 'l')), 6, /symbolic link/);
    expectOneLine(await cli('run', model, '--inputs', x, '--out', path.join(dir, 'm')), 8, /input's folder/);
    expectOneLine(await cli('run', model, '--inputs', x, '--out', dir), 8, /input's folder|contains an input/);
    // a previous run's output folder is replaced
    const out = path.join(dir, 'outs');
    expect((await cli('run', model, '--inputs', x, '--out', out)).code).toBe(0);
    expect((await cli('run', model, '--inputs', x, '--out', out, '--npy')).code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['output_0.npy', 'output_0.pb']);
  });
});

describe('bad data files (run --inputs)', () => {
  const run = (inputs: string[]) => cli('run', model, '--inputs', ...inputs, '--out', path.join(dir, 'o'));
  const put = (name: string, b: Uint8Array | string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, b);
    return p;
  };
  const check = async (inputs: string[], code: number, re: RegExp) => {
    expectOneLine(await run(inputs), code, re);
    expect(fs.existsSync(path.join(dir, 'o'))).toBe(false);
  };
  it('empty, truncated, wrong format', async () => {
    await check([put('e.pb', new Uint8Array(0))], 3, /empty/);
    const npy = encodeNpy(Tensor.from('f32', [1, 4], [1, 2, 3, 4]));
    await check([put('t.npy', npy.subarray(0, npy.length - 2))], 3, /payload has 14 bytes/);
    await check([put('n.pb', npy)], 3, /NumPy/);
    await check([put('j.npy', '{"data": [1,2,3,4]}')], 3, /JSON/);
    await check([put('r.pb', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]))], 3, /TensorProto/);
  });
  it('unknown extension, missing file, wrong count', async () => {
    await check([put('x.csv', '1,2,3,4')], 2, /unknown data file format ".csv"/);
    await check([path.join(dir, 'missing.pb')], 3, /does not exist/);
    const x = put('x.pb', encodeTensorProtoBytes(Tensor.from('f32', [1, 4], [1, 2, 3, 4])));
    await check([x, x], 2, /1 input\(s\) but 2 data file/);
  });
  it('wrong shape, wrong dtype, uneven samples, giant declared shape', async () => {
    await check([put('s.pb', encodeTensorProtoBytes(Tensor.from('f32', [1, 5], [1, 2, 3, 4, 5])))], 3, /shape \[1,5\].*\[1,4\]/);
    // float64 data is converted to float32 with a note (tests/cli/first-hour.test.ts); integer data only
    // where exact: 2^24 + 1 has no float32, so this stays a dtype error
    await check([put('d.pb', encodeTensorProtoBytes(Tensor.from('i32', [1, 4], [1, 2, 3, 2 ** 24 + 1])))], 3, /i32.*f32/);
    const big = encodeNpy(Tensor.from('f32', [1, 4], [1, 2, 3, 4]));
    const hdr = new TextDecoder('latin1').decode(big.subarray(10, 10 + (big[8]! | (big[9]! << 8))));
    const giant = hdr.replace('(1, 4)', '(2147483648, 2147483648)');
    const b2 = new Uint8Array(big);
    for (let i = 0; i < giant.length; i++) b2[10 + i] = giant.charCodeAt(i);
    await check([put('g.npy', b2)], 5, /exceeds the limit/);
  });
});
