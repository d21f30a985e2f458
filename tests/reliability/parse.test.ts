/**
 * RELIABILITY.md input classes at the byte level: empty, truncated, random bytes, wrong
 * formats, huge length prefixes, malformed varints, deep nesting, prototype-pollution names.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { encode, expectCompileFails, seedAdd, writeModel } from './seed.js';

let dir = '';
const dirs: string[] = [];
beforeEach(() => {
  dir = tmpDir('edgec-rel-');
  dirs.push(dir);
});
afterAll(() => dirs.forEach(rmTmp));

/** Protobuf varint bytes. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);

describe('byte-level bad models', () => {
  it('the seed itself compiles (control)', async () => {
    const r = await cli('compile', writeModel(dir, seedAdd()), '--target', 'onnx', '-o', path.join(dir, 'out'));
    expect(r.code, r.err).toBe(0);
  });
  it('empty file', async () => {
    await expectCompileFails(dir, writeModel(dir, new Uint8Array(0)), 3, /empty/);
  });
  it('truncated file', async () => {
    const b = encode(seedAdd());
    for (const cut of [1, Math.floor(b.length / 2), b.length - 3]) {
      await expectCompileFails(dir, writeModel(dir, b.subarray(0, cut)), 3, /not a valid ONNX model|truncated|no graph/);
    }
  });
  it('random bytes (seeded)', async () => {
    let s = 12345;
    for (let k = 0; k < 5; k++) {
      const b = new Uint8Array(256 + k * 100).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
      await expectCompileFails(dir, writeModel(dir, b), 3, /ONNX/);
    }
  });
  it('wrong formats say what the content looks like', async () => {
    await expectCompileFails(dir, writeModel(dir, new TextEncoder().encode('{"format": "graph-model", "modelTopology": {}}')), 3, /JSON/);
    const tfl = new Uint8Array(64);
    tfl.set([0x1c, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33]);
    await expectCompileFails(dir, writeModel(dir, tfl), 3, /TFLite/);
    const zip = new Uint8Array(64);
    zip.set([0x50, 0x4b, 0x03, 0x04]);
    await expectCompileFails(dir, writeModel(dir, zip), 3, /ZIP/);
  });
  it('huge length prefix', async () => {
    const b = new Uint8Array([...tag(7, 2), ...varint(2 ** 31 - 1), 1, 2, 3]);
    await expectCompileFails(dir, writeModel(dir, b), 3, /protobuf|ONNX/);
  });
  it('malformed varint', async () => {
    const b = new Uint8Array([...tag(1, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    await expectCompileFails(dir, writeModel(dir, b), 3, /protobuf|ONNX/);
  });
  it('deep message nesting is a limit error, not a stack overflow', async () => {
    // graph { node { attribute { g: graph { node { attribute { g: ... } } } } } } , 60 000 levels
    const depth = 60_000;
    // per level, innermost first: graph(field 1 node) <- node(field 5 attribute) <- attribute(field 6 g)
    const headers: number[][] = [];
    let len = 0;
    for (let i = 0; i < depth; i++) {
      for (const field of [6, 5, 1]) {
        const h = [...tag(field, 2), ...varint(len)];
        headers.push(h);
        len += h.length;
      }
    }
    const graphField = [...tag(7, 2), ...varint(len)];
    const opset = [...tag(8, 2), 2, ...tag(2, 0), 13];
    const parts: number[] = [...tag(1, 0), 7, ...opset, ...graphField];
    const bytes = new Uint8Array(parts.length + len);
    bytes.set(parts);
    let off = parts.length;
    for (let i = headers.length - 1; i >= 0; i--) {
      bytes.set(headers[i]!, off);
      off += headers[i]!.length;
    }
    await expectCompileFails(dir, writeModel(dir, bytes), 5, /nested too deeply/);
  });
});

describe('prototype-pollution names are data', () => {
  it('__proto__ / constructor in node names, value names, attributes and metadata', async () => {
    const m = seedAdd();
    m.graph!.node![0]!.name = '__proto__';
    m.graph!.node![1]!.name = 'constructor';
    m.graph!.node![0]!.output = ['__proto__'];
    m.graph!.node![1]!.input = ['__proto__'];
    m.graph!.node![1]!.attribute = [{ name: '__proto__', type: 2, i: 1 }];
    m.metadataProps = [{ key: '__proto__', value: '{"polluted": true}' }, { key: 'constructor', value: 'x' }];
    const model = writeModel(dir, m);
    const r = await cli('inspect', model, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { nodes: { name: string }[] };
    expect(j.nodes.map((n) => n.name)).toEqual(['__proto__', 'constructor']);
    const c = await cli('compile', model, '--target', 'onnx', '-o', path.join(dir, 'out'));
    expect(c.code, c.err).toBe(0);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(fs.existsSync(path.join(dir, 'out', 'model.onnx'))).toBe(true);
  });
  it('hostile names cannot inject lines or control characters into the error line', async () => {
    const m = seedAdd();
    m.graph!.node![0]!.name = 'evil\n\u001b[31mname\r';
    m.graph!.node![0]!.input = ['x', 'missing'];
    await expectCompileFails(dir, writeModel(dir, m), 3, /evil\?\?\[31mname\?/);
  });
});
