/**
 * External data whose location escapes the model folder, on every path that can hold external
 * data (initializers and Constant node tensors): ../, absolute, URL, drive letter, symbolic
 * link, hard link, offset/length outside the file.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { IModel, ITensor, expectCompileFails, f32raw, seedAdd, writeModel } from './seed.js';

let dir = '';
const dirs: string[] = [];
beforeEach(() => {
  dir = tmpDir('edgec-ext-');
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'w.bin'), f32raw([9, 9, 0.5, -1, 2, -3]));
});
afterAll(() => dirs.forEach(rmTmp));

function ext(location: string, offset?: number, length?: number): ITensor {
  const kv = [{ key: 'location', value: location }];
  if (offset !== undefined) kv.push({ key: 'offset', value: String(offset) });
  if (length !== undefined) kv.push({ key: 'length', value: String(length) });
  return { name: 'w', dataType: 1, dims: [1, 4], dataLocation: 1, externalData: kv };
}

/** The seed with `w` as external data: as an initializer, or as a Constant node's tensor. */
function withExternal(t: ITensor, via: 'initializer' | 'constant'): IModel {
  const m = seedAdd();
  if (via === 'initializer') m.graph!.initializer = [t];
  else {
    m.graph!.initializer = [];
    m.graph!.node!.unshift({ opType: 'Constant', output: ['w'], name: 'const_w', attribute: [{ name: 'value', type: 4, t }] });
  }
  return m;
}

for (const via of ['initializer', 'constant'] as const) {
  describe(`external data via ${via}`, () => {
    it('inside the folder works (control)', async () => {
      const r = await cli('compile', writeModel(dir, withExternal(ext('w.bin', 8, 16), via)), '--target', 'onnx', '-o', path.join(dir, 'out'));
      expect(r.code, r.err).toBe(0);
    });
    it('../ escape', async () => {
      const outside = tmpDir('edgec-outside-');
      dirs.push(outside);
      fs.writeFileSync(path.join(outside, 'w.bin'), f32raw([1, 2, 3, 4]));
      await expectCompileFails(dir, writeModel(dir, withExternal(ext(`../${path.basename(outside)}/w.bin`), via)), 6, /escapes the model folder/);
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('sub/../../w.bin'), via)), 6, /escapes/);
    });
    it('absolute path', async () => {
      await expectCompileFails(dir, writeModel(dir, withExternal(ext(path.join(dir, 'w.bin')), via)), 6, /absolute/);
    });
    it('URL', async () => {
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('https://example.com/w.bin'), via)), 6, /URL/);
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('file:///etc/passwd'), via)), 6, /URL/);
    });
    it('drive letter', async () => {
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('C:\\weights\\w.bin'), via)), 6, /drive|URL/);
    });
    it('symbolic link', async () => {
      fs.symlinkSync('w.bin', path.join(dir, 'link.bin'));
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('link.bin', 8, 16), via)), 6, /symbolic link/);
      fs.symlinkSync('.', path.join(dir, 'subdir'));
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('subdir/w.bin', 8, 16), via)), 6, /symbolic link/);
    });
    it('hard link', async () => {
      fs.linkSync(path.join(dir, 'w.bin'), path.join(dir, 'hard.bin'));
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('hard.bin', 8, 16), via)), 6, /hard link/);
    });
    it('offset/length outside the file', async () => {
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('w.bin', 100, 16), via)), 3, /outside/);
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('w.bin', 16, 16), via)), 3, /outside/);
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('w.bin', -4, 16), via)), 3, /offset\/length/);
    });
    it('length that does not match the dims', async () => {
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('w.bin', 0, 12), via)), 3, /payload has 12 bytes/);
    });
    it('missing file', async () => {
      await expectCompileFails(dir, writeModel(dir, withExternal(ext('nope.bin'), via)), 3, /does not exist/);
    });
  });
}
