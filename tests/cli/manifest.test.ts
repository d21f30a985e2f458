/**
 * Issue 11 item 13 from the CLI side: a compiled wasm artifact's manifest.json records every file's
 * size (`file_bytes`) beside its sha256, and the wasm ABI (memory pages; per input/output its byte
 * offset and element count), as ../shared/CLI.md specifies.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { cli, rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-manifest-');
afterAll(() => rmTmp(tmp));

describe('manifest.json', () => {
  it('records file sizes and the wasm ABI', async () => {
    const b = new GraphBuilder('m', { '': 17 });
    b.output(b.node('Sigmoid', [b.node('MatMul', [b.input('x', 'f32', [1, 6]), b.const('w', new Tensor('f32', [6, 2], new Float32Array(12).fill(0.25)))])]));
    const model = path.join(tmp, 'm.onnx');
    fs.writeFileSync(model, exportOnnx(b.build()));
    const out = path.join(tmp, 'm.wasm');
    const r = await cli('compile', model, '-o', out);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      files: Record<string, string>; file_bytes: Record<string, number>; memory_pages: number;
      inputs: { offset: number; size: number }[]; outputs: { offset: number; size: number }[];
    };
    expect(Object.keys(m.file_bytes).sort()).toEqual(Object.keys(m.files).sort());
    for (const [f, n] of Object.entries(m.file_bytes)) expect(n).toBe(fs.statSync(path.join(out, f)).size);
    expect(m.memory_pages).toBeGreaterThan(0);
    expect(m.inputs[0]).toMatchObject({ size: 6 });
    expect(m.outputs[0]).toMatchObject({ size: 2 });
    for (const e of [...m.inputs, ...m.outputs]) expect(e.offset + e.size * 4).toBeLessThanOrEqual(m.memory_pages * 65536);
  });
});
