/** The atomic output-folder writer (cli/artifact.ts). */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { stableJson, writeOutputFolder } from '../../cli/artifact.js';
import { EdgecError } from '../../compiler/errors.js';
import { rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir();
afterAll(() => rmTmp(tmp));
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

describe('writeOutputFolder', () => {
  it('writes files and a sorted manifest with sha256 of every file, last', () => {
    const out = path.join(tmp, 'a');
    const order: string[] = [];
    writeOutputFolder(out, new Map<string, Uint8Array | string>([['z.txt', 'zz'], ['sub/a.bin', new Uint8Array([1, 2])]]), {
      inputs: [], kind: 'artifact', manifest: { edgec: '0', b: 1, a: { y: 2, x: 1 } }, onFileWritten: (n) => order.push(n),
    });
    expect(order).toEqual(['sub/a.bin', 'z.txt', 'manifest.json']);
    const text = fs.readFileSync(path.join(out, 'manifest.json'), 'utf8');
    expect(text).toBe(stableJson(JSON.parse(text)));
    expect(Object.keys(JSON.parse(text))).toEqual(['a', 'b', 'edgec', 'file_bytes', 'files']);
    expect(JSON.parse(text).file_bytes).toEqual({ 'sub/a.bin': 2, 'z.txt': 2 });
    expect(JSON.parse(text).files).toEqual({
      'sub/a.bin': createHash('sha256').update(new Uint8Array([1, 2])).digest('hex'),
      'z.txt': hex('zz'),
    });
  });
  it('a failure while staging leaves the previous folder untouched and no staging folder', () => {
    const out = path.join(tmp, 'b');
    writeOutputFolder(out, new Map([['f', 'old']]), { inputs: [], kind: 'artifact', manifest: { edgec: '0' } });
    expect(() => writeOutputFolder(out, new Map([['f', 'new'], ['g', 'new']]), {
      inputs: [], kind: 'artifact', manifest: { edgec: '0' },
      onFileWritten: (n) => { if (n === 'g') throw new Error('disk full'); },
    })).toThrow(EdgecError);
    expect(fs.readFileSync(path.join(out, 'f'), 'utf8')).toBe('old');
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('.b.'))).toEqual([]);
  });
  it('restores the previous output left by a run killed between its two renames', () => {
    const out = path.join(tmp, 'c');
    // a dead process id (beyond Linux's pid_max of 2^22)
    const old = path.join(tmp, '.c.edgec-old-9999999-abcd1234');
    fs.mkdirSync(old);
    fs.writeFileSync(path.join(old, 'manifest.json'), '{"edgec": "0"}');
    const stale = path.join(tmp, '.c.edgec-tmp-9999999-abcd1234');
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, 'half'), 'x');
    let sawPrevious = false;
    writeOutputFolder(out, new Map([['f', 'new']]), {
      inputs: [], kind: 'artifact', manifest: { edgec: '0' },
      onFileWritten: () => { sawPrevious ||= fs.existsSync(path.join(out, 'manifest.json')); },
    });
    expect(sawPrevious).toBe(true);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.readFileSync(path.join(out, 'f'), 'utf8')).toBe('new');
  });
  it('rejects file names that escape the folder', () => {
    for (const bad of ['../x', '/abs', 'a/../../b', '']) {
      expect(() => writeOutputFolder(path.join(tmp, 'd'), new Map([[bad, 'x']]), { inputs: [], kind: 'artifact', manifest: { edgec: '0' } })).toThrow(EdgecError);
    }
    expect(fs.existsSync(path.join(tmp, 'd'))).toBe(false);
  });
});
