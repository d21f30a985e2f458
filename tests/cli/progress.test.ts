/**
 * Issue 11 item 5: long jobs show a progress bar (cli-progress) on stderr when it is a terminal,
 * and print nothing extra when it is piped. The display delay is set to 0 here (the CLI waits 1 s
 * before drawing, so quick jobs stay quiet).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { writeDataFile } from '../../compiler/io/data.js';
import { runCli } from '../../cli/main.js';
import { rmTmp, tmpDir } from './helpers.js';

const tmp = tmpDir('edgec-progress-');
afterAll(() => rmTmp(tmp));

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '');

async function run(tty: boolean, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s), errIsTTY: tty, progressDelayMs: 0 });
  return { code, out, err: plain(err) };
}

const b = new GraphBuilder('cls', { '': 17 });
b.output(b.node('Softmax', [b.node('MatMul', [b.input('x', 'f32', [1, 8]), b.const('w', new Tensor('f32', [8, 3], Float32Array.from({ length: 24 }, (_, k) => Math.cos(k))))])]));
const model = path.join(tmp, 'cls.onnx');
fs.writeFileSync(model, exportOnnx(b.build()));
const x = path.join(tmp, 'x.pb');
writeDataFile(x, new Tensor('f32', [12, 8], Float32Array.from({ length: 96 }, (_, k) => Math.sin(k))));
const y = path.join(tmp, 'y.pb');
writeDataFile(y, Tensor.from('i64', [12], Array.from({ length: 12 }, (_, i) => BigInt(i % 3))));

describe('progress bars', () => {
  it('eval and run: batches on a terminal, nothing when piped', async () => {
    const t = await run(true, 'eval', model, '--data', x, '--labels', y);
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/edgec: run \(ref\)\s+\[#{28}\] 12\/12/);
    const p = await run(false, 'eval', model, '--data', x, '--labels', y);
    expect(p.code).toBe(0);
    expect(p.err).toBe('');
    expect(p.out).toBe(t.out);
    const r = await run(true, 'run', model, '--inputs', x, '--out', path.join(tmp, 'o'), '--target', 'wasm');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/edgec: run \(wasm\)\s+\[#{28}\] 12\/12/);
  });
  it('profile: timed runs', async () => {
    const t = await run(true, 'profile', model, '--measure', 'ref', '--runs', '3', '--device', 'cortex-m4');
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/edgec: time \(ref\)\s+\[#{28}\] 4\/4/);
    const p = await run(false, 'profile', model, '--measure', 'ref', '--runs', '3', '--device', 'cortex-m4');
    expect(p.err).toBe('');
  });
});
