/**
 * TFLite reader and importer on models written in code (tests/tflite/build.ts): a small CNN vs
 * TFLite's interpreter and vs loadModelFile detection; malformed flatbuffers and custom ops give
 * one-line typed errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importTflite } from '../../compiler/frontends/tflite/index.js';
import { detectModelFormat, loadModelFile } from '../../compiler/frontends/index.js';
import { EdgecError } from '../../compiler/errors.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { verify } from '../../compiler/ir/verify.js';
import { compareTensors } from '../helpers/compare.js';
import { randomTensor, runOnWasm } from '../targets/wasm-helpers.js';
import { buildTflite, floats, smallCnn, smallLstm } from './build.js';
import { runTflite } from './oracle.js';

function errorOf(f: () => unknown): EdgecError {
  try {
    f();
  } catch (e) {
    if (e instanceof EdgecError) return e;
    throw new Error(`expected an EdgecError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

describe('TFLite importer on models written in code', () => {
  it('small CNN (SAME/VALID, stride, fused RELU, depthwise x2, max pool, FC, softmax): ref and wasm vs TFLite', async () => {
    const bytes = smallCnn();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tfl-'));
    try {
      // no .tflite extension: detected by the "TFL3" identifier
      const file = path.join(dir, 'model.bin');
      fs.writeFileSync(file, bytes);
      expect(detectModelFormat(file)).toBe('tflite');
      const g = loadModelFile(file);
      verify(g);
      expect(g.typeOf(g.outputs[0]!).shape).toEqual([1, 4]);
      const x = randomTensor([1, 6, 6, 2], 5);
      const [want] = await runTflite(file, [x]);
      expect(compareTensors(runGraph(g, [x])[0]!, want!, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
      expect(compareTensors((await runOnWasm(g, [x])).outputs[0]!, want!, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [clip, peep] of [[0, false], [0, true], [0.3, false], [0.3, true]] as const) {
    it(`UNIDIRECTIONAL_SEQUENCE_LSTM, cell_clip ${clip}${peep ? ', peepholes' : ''}: ref and wasm vs TFLite`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-tfl-'));
      try {
        const file = path.join(dir, 'lstm.tflite');
        fs.writeFileSync(file, smallLstm(clip, peep));
        const g = loadModelFile(file);
        verify(g);
        // cell_clip 0 maps onto ONNX LSTM; a clip is unrolled (ONNX LSTM clips gates, not the cell)
        expect([...g.nodes.values()].some((n) => n.op === 'LSTM')).toBe(clip === 0);
        const x = randomTensor([1, 3, 2], 8, -3, 3);
        const [want] = await runTflite(file, [x]);
        expect(compareTensors(runGraph(g, [x])[0]!, want!, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
        expect(compareTensors((await runOnWasm(g, [x])).outputs[0]!, want!, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a custom op is a one-line unsupported error naming it', () => {
    const b = buildTflite([{ name: 'x', shape: [1, 4] }, { name: 'y', shape: [1, 4] }], [{ code: 'MyFancyOp', inputs: [0], outputs: [1] }], [0], [1]);
    const e = errorOf(() => importTflite(b));
    expect(e.kind).toBe('unsupported');
    expect(e.message).toContain('MyFancyOp');
    expect(e.message).not.toContain('\n');
  });

  it('an unsupported builtin is named', () => {
    const b = buildTflite([{ name: 'x', shape: [1, 4] }, { name: 'y', shape: [1, 4] }], [{ code: 16, inputs: [0], outputs: [1] }], [0], [1]);
    const e = errorOf(() => importTflite(b));
    expect(e.kind).toBe('unsupported');
    expect(e.message).toContain('LSTM');
    expect(e.message).not.toContain('UNIDIRECTIONAL');
  });

  it('out-of-range tensor indexes, wrong weight sizes and bad identifiers are invalid', () => {
    const bad = buildTflite([{ name: 'x', shape: [1, 4] }, { name: 'y', shape: [1, 4] }], [{ code: 19, inputs: [7], outputs: [1] }], [0], [1]);
    expect(errorOf(() => importTflite(bad)).kind).toBe('invalid');
    const short = buildTflite([{ name: 'x', shape: [1, 4] }, { name: 'w', shape: [3, 4], data: floats(5, 1) }, { name: 'y', shape: [1, 3] }],
      [{ code: 9, inputs: [0, 1, -1], outputs: [2] }], [0], [2]);
    const e = errorOf(() => importTflite(short));
    expect(e.kind).toBe('invalid');
    expect(e.message).toMatch(/20 bytes.*needs 48/);
    const notTfl = smallCnn();
    notTfl[4] = 0x41;
    expect(errorOf(() => importTflite(notTfl)).message).toMatch(/not a TFLite file/);
    expect(errorOf(() => importTflite(new Uint8Array(5))).kind).toBe('invalid');
  });

  it('every truncation and every corrupted offset word is an EdgecError, never a crash', () => {
    const good = smallCnn();
    const kinds = new Set<string>();
    for (let n = 0; n < good.length; n += 7) {
      try { importTflite(good.subarray(0, n)); } catch (e) { expect(e).toBeInstanceOf(EdgecError); kinds.add((e as EdgecError).kind); }
    }
    for (let p = 0; p + 4 <= good.length; p += 4) {
      for (const v of [0, 0xffffffff, 0x7ffffffc, good.length]) {
        const b = good.slice();
        new DataView(b.buffer).setUint32(p, v, true);
        try { importTflite(b); } catch (e) { expect(e, `offset ${p} = ${v}`).toBeInstanceOf(EdgecError); }
      }
    }
    expect(kinds.has('invalid')).toBe(true);
  });
});
