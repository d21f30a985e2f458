/**
 * .npy / .pb data files and the multi-sample helpers. The .npy fixtures were written by NumPy
 * (np.save / numpy.lib.format.write_array); their values are arange-based, so the expected
 * numbers are computed here independently.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeNpy, encodeNpy, parseNpyHeader } from '../../compiler/io/npy.js';
import { decodeDataBytes, planBatches, readDataFile, runBatches, stackRows, writeDataFile } from '../../compiler/io/data.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { rmTmp, tmpDir } from './helpers.js';

const FIX = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'npy');
const arange = (off: number) => Array.from({ length: 24 }, (_, i) => i + off);

function kindOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof EdgecError) return `${e.kind}: ${e.message}`;
    return `not an EdgecError: ${String(e)}`;
  }
  return 'no error';
}

describe('npy reader (NumPy-written fixtures)', () => {
  const dts: Record<string, string> = { f2: 'f16', f4: 'f32', f8: 'f64', i1: 'i8', i2: 'i16', i4: 'i32', i8: 'i64', u1: 'u8', u2: 'u16', u4: 'u32', u8: 'u64' };
  for (const [code, dt] of Object.entries(dts)) {
    for (const endian of ['le', 'be']) {
      it(`${endian} ${code}`, () => {
        const t = readDataFile(path.join(FIX, `${endian}_${code}.npy`));
        expect(t.dtype).toBe(dt);
        expect(t.shape).toEqual([2, 3, 4]);
        expect(t.toNumbers()).toEqual(arange(code.startsWith('u') ? 0 : -3));
      });
    }
  }
  it('bool', () => {
    const t = readDataFile(path.join(FIX, 'b1.npy'));
    expect(t.dtype).toBe('bool');
    expect(t.toNumbers()).toEqual(arange(-3).map((v) => (((v % 3) + 3) % 3 === 0 ? 1 : 0)));
  });
  it('Fortran order is transposed to C order', () => {
    const t = readDataFile(path.join(FIX, 'fortran_f4.npy'));
    expect(parseNpyHeader(fs.readFileSync(path.join(FIX, 'fortran_f4.npy'))).fortranOrder).toBe(true);
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.toNumbers()).toEqual(arange(-3));
  });
  it('format versions 2.0 and 3.0', () => {
    for (const f of ['v2_f4.npy', 'v3_f4.npy']) expect(readDataFile(path.join(FIX, f)).toNumbers()).toEqual(arange(-3));
  });
  it('scalars and empty arrays', () => {
    const s = readDataFile(path.join(FIX, 'scalar_f8.npy'));
    expect(s.shape).toEqual([]);
    expect(s.toNumbers()).toEqual([2.5]);
    expect(readDataFile(path.join(FIX, 'empty_f4.npy')).shape).toEqual([0, 5]);
  });
  it('unsupported dtypes are "unsupported" errors naming the dtype', () => {
    expect(kindOf(() => readDataFile(path.join(FIX, 'complex.npy')))).toMatch(/^unsupported: .*c8/);
    expect(kindOf(() => readDataFile(path.join(FIX, 'unicode.npy')))).toMatch(/^unsupported: .*U/);
    expect(kindOf(() => readDataFile(path.join(FIX, 'structured.npy')))).toMatch(/^unsupported: .*structured/);
  });
});

describe('npy validation', () => {
  const good = fs.readFileSync(path.join(FIX, 'le_f4.npy'));
  const withHeader = (h: string, payload = 96, major = 1): Uint8Array => {
    const text = h.padEnd(Math.ceil((h.length + 11) / 64) * 64 - 11, ' ') + '\n';
    const pre = major === 1 ? 10 : 12;
    const b = new Uint8Array(pre + text.length + payload);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const dv = new DataView(b.buffer);
    if (major === 1) dv.setUint16(8, text.length, true);
    else dv.setUint32(8, text.length, true);
    for (let i = 0; i < text.length; i++) b[pre + i] = text.charCodeAt(i);
    return b;
  };
  it('truncated payload', () => {
    expect(kindOf(() => decodeNpy(good.subarray(0, good.length - 4)))).toMatch(/^invalid: .*payload has 92 bytes.*needs 96/);
  });
  it('truncated header', () => {
    expect(kindOf(() => decodeNpy(good.subarray(0, 40)))).toMatch(/^invalid: truncated/);
    expect(kindOf(() => decodeNpy(good.subarray(0, 8)))).toMatch(/^invalid: truncated/);
  });
  it('bad magic and unknown versions', () => {
    expect(kindOf(() => decodeNpy(new TextEncoder().encode('{"a": 1}')))).toMatch(/^invalid: not a NumPy/);
    const v9 = new Uint8Array(good);
    v9[6] = 9;
    expect(kindOf(() => decodeNpy(v9))).toMatch(/^unsupported: .*version 9/);
  });
  it('malformed headers are never evaluated', () => {
    expect(kindOf(() => decodeNpy(withHeader("{'descr': __import__('os'), 'fortran_order': False, 'shape': (24,), }")))).toMatch(/^invalid: .*malformed/);
    expect(kindOf(() => decodeNpy(withHeader("{'descr': '<f4', 'shape': (24,), }")))).toMatch(/^invalid: .*fortran_order/);
    expect(kindOf(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")))).toMatch(/^invalid/);
    expect(kindOf(() => decodeNpy(withHeader("['descr']")))).toMatch(/^invalid/);
  });
  it('giant declared shapes are a limit error before allocation', () => {
    const h = withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648), }", 16);
    expect(kindOf(() => decodeNpy(h))).toMatch(/^limit: /);
    const h2 = withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999, 0), }", 0);
    expect(kindOf(() => decodeNpy(h2))).toMatch(/^(invalid|limit)/);
  });
  it('a huge header length is a limit error', () => {
    const b = new Uint8Array(64);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0x7f]);
    expect(kindOf(() => decodeNpy(b))).toMatch(/^limit: /);
  });
  it('version 2.0 headers written here are read back', () => {
    expect(decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (24,), }", 96, 2)).shape).toEqual([24]);
  });
});

describe('npy / pb writers round-trip', () => {
  const cases: Tensor[] = [
    Tensor.from('f32', [2, 3], [1.5, -2, 3, 4e-3, 5, 6]),
    Tensor.from('f16', [3], [1, 0.5, -65504]),
    Tensor.from('f64', [1, 2], [Math.PI, -1e300]),
    Tensor.from('i64', [2], [-5n, 2n ** 60n]),
    Tensor.from('u8', [4], [0, 1, 128, 255]),
    Tensor.from('bool', [2], [1, 0]),
    Tensor.from('i32', [], [-7]),
  ];
  for (const t of cases) {
    it(`${t.dtype}[${t.shape}]`, () => {
      const back = decodeNpy(encodeNpy(t));
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.data as ArrayLike<number>)).toEqual(Array.from(t.data as ArrayLike<number>));
      const d = tmpDir();
      try {
        for (const ext of ['pb', 'npy']) {
          const f = path.join(d, `x.${ext}`);
          writeDataFile(f, t, 'x');
          const r = readDataFile(f);
          expect(r.shape).toEqual(t.shape);
          expect(Array.from(r.data as ArrayLike<number>)).toEqual(Array.from(t.data as ArrayLike<number>));
        }
      } finally {
        rmTmp(d);
      }
    });
  }
  it('the header is 64-byte aligned and ends with a newline (NumPy requirement)', () => {
    const b = encodeNpy(cases[0]!);
    const hl = b[8]! | (b[9]! << 8);
    expect((10 + hl) % 64).toBe(0);
    expect(b[10 + hl - 1]).toBe(0x0a);
  });
});

describe('data file formats', () => {
  it('unknown extensions are usage errors naming the formats', () => {
    expect(kindOf(() => readDataFile('/tmp/x.csv'))).toMatch(/^usage: unknown data file format ".csv"/);
  });
  it('wrong content for the extension says what it looks like', () => {
    const npy = fs.readFileSync(path.join(FIX, 'le_f4.npy'));
    expect(kindOf(() => decodeDataBytes(npy, 'pb'))).toMatch(/^invalid: .*NumPy/);
    expect(kindOf(() => decodeDataBytes(new TextEncoder().encode('{"x": 1}'), 'pb'))).toMatch(/^invalid: .*JSON/);
    expect(kindOf(() => decodeDataBytes(new Uint8Array(0), 'npy'))).toMatch(/^invalid: data file is empty/);
    expect(kindOf(() => decodeDataBytes(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), 'pb'))).toMatch(/^invalid: /);
  });
});

describe('multi-sample batching', () => {
  const ty = [{ dtype: 'f32' as const, shape: [2, 3] }];
  it('a file matching the input shape is one run', () => {
    const p = planBatches([Tensor.zeros('f32', [2, 3])], ty);
    expect(p.batches.length).toBe(1);
    expect(p.stacked).toBe(false);
  });
  it('a first axis larger than the batch splits into batches and outputs are stacked', async () => {
    const x = Tensor.from('f32', [6, 3], Array.from({ length: 18 }, (_, i) => i));
    const p = planBatches([x], ty);
    expect(p.batches.length).toBe(3);
    expect(p.batches[1]![0]!.toNumbers()).toEqual([6, 7, 8, 9, 10, 11]);
    // the "model" doubles its input: stacking must give back 2*x in order
    const out = await runBatches(p, (b) => [Tensor.from('f32', b[0]!.shape, b[0]!.toNumbers().map((v) => 2 * v))]);
    expect(out[0]!.shape).toEqual([6, 3]);
    expect(out[0]!.toNumbers()).toEqual(x.toNumbers().map((v) => 2 * v));
  });
  it('sample counts that do not split are errors', () => {
    expect(kindOf(() => planBatches([Tensor.zeros('f32', [5, 3])], ty))).toMatch(/^invalid: .*multiple/);
    expect(kindOf(() => planBatches([Tensor.zeros('f32', [4, 4])], ty))).toMatch(/^invalid: .*shape/);
    expect(kindOf(() => planBatches([Tensor.zeros('i32', [2, 3])], ty))).toMatch(/^invalid: .*i32/);
    expect(kindOf(() => planBatches([], ty))).toMatch(/^usage: /);
  });
  it('stackRows concatenates along axis 0', () => {
    const s = stackRows([Tensor.from('i64', [1, 2], [1n, 2n]), Tensor.from('i64', [2, 2], [3n, 4n, 5n, 6n])]);
    expect(s.shape).toEqual([3, 2]);
    expect(s.toNumbers()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
