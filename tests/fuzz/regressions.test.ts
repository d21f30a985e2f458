/**
 * Replays minimized fuzz findings (tests/fuzz/regressions/<target>-<id>.bin): each must now give
 * a normal return or an EdgecError, within the time budget, and no op kernel may throw a plain
 * TypeError/RangeError/Error on the way (the interpreter would hide it behind an EdgecError).
 * Files are written by `FUZZ_SAVE=1 FUZZ_ITERS=... npx vitest run tests/fuzz/fuzz.test.ts`.
 * The second block pins each fixed bug with a readable, hand-built case.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxproto from 'onnx-proto';
import { DEFAULT_LIMITS, EdgecError } from '../../compiler/errors.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { importTflite } from '../../compiler/frontends/tflite/index.js';
import { decodeNpy } from '../../compiler/io/npy.js';
import { parse } from '../../compiler/ir/parse.js';
import { inferShapes } from '../../compiler/interp/interp.js';
import { FUZZ_LIMITS, onnxExec, runIfSmall } from './lib/targets.js';
import { instrumentOps, maskedCrashes } from './lib/campaign.js';
import { encodeModel } from './lib/seeds.js';

const { onnx } = onnxproto;
const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'regressions');
const BUDGET_MS = 2000;

instrumentOps();

/** Same executions as the fuzz targets, built without their seed corpora. */
const EXEC: Record<string, (b: Uint8Array) => void> = {
  onnx: onnxExec,
  tensorproto: (b) => {
    decodeTensorProtoBytes(b, { limits: FUZZ_LIMITS });
  },
  npy: (b) => {
    decodeNpy(b, FUZZ_LIMITS);
  },
  tflite: (b) => {
    runIfSmall(importTflite(b, { limits: FUZZ_LIMITS }));
  },
  irtext: (b) => {
    const g = parse(new TextDecoder().decode(b));
    inferShapes(g);
    runIfSmall(g);
  },
};

/** Runs `f`; returns the EdgecError it threw (or undefined), rethrowing anything else. */
function edgecErrorOf(f: () => void): EdgecError | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (!(e instanceof EdgecError)) throw e;
    return e;
  }
}

const files = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => f.endsWith('.bin')).sort() : [];

describe('fuzz regressions (replayed inputs)', () => {
  it('the regression folder holds cases for known targets only', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(Object.keys(EXEC), f).toContain(f.split('-')[0]);
  });
  for (const f of files) {
    it(f, () => {
      const exec = EXEC[f.split('-')[0]!]!;
      const b = new Uint8Array(fs.readFileSync(path.join(DIR, f)));
      const before = maskedCrashes().length;
      const t0 = performance.now();
      edgecErrorOf(() => exec(b));
      expect(performance.now() - t0).toBeLessThan(BUDGET_MS);
      expect(maskedCrashes().slice(before).map((m) => `${m.signature}: ${m.detail}`)).toEqual([]);
    });
  }
});

const vi = (name: string, dims: number[], elemType = 1): onnxproto.onnx.IValueInfoProto => ({
  name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});

describe('bugs found by fuzzing stay fixed', () => {
  it('IR text: a string token with a control character or bad escape is an IR parse error, not a SyntaxError', () => {
    for (const src of ['graph "\n" {}', 'graph "\\q" {}', 'graph "\\u12" {}']) {
      const e = edgecErrorOf(() => parse(src));
      expect(e?.message).toMatch(/IR parse error at line \d+: bad string literal/);
    }
  });

  it('TensorProto: a few bytes declaring 2^29 strings (or 2^27 doubles) are rejected before anything is allocated', () => {
    const strs = onnx.TensorProto.encode(onnx.TensorProto.fromObject({ dataType: 8, dims: [2 ** 29] })).finish();
    const dbl = onnx.TensorProto.encode(onnx.TensorProto.fromObject({ dataType: 11, dims: [2 ** 27], rawData: new Uint8Array(3) })).finish();
    for (const [b, want] of [[strs, /has 0 strings but its dims need 536870912/], [dbl, /has 3 bytes but its dims need 1073741824/]] as const) {
      const t0 = performance.now();
      const e = edgecErrorOf(() => decodeTensorProtoBytes(b, { limits: DEFAULT_LIMITS }));
      expect(performance.now() - t0).toBeLessThan(500);
      expect(e?.kind).toBe('invalid');
      expect(e?.message).toMatch(want);
    }
  });

  it('ONNX: an empty name for a required input is an invalid-model error naming the input', () => {
    const m = encodeModel({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', input: [vi('x', [2, 3])], output: [{ name: 'y' }], node: [{ opType: 'GatherElements', input: ['', 'x'], output: ['y'] }] },
    });
    const e = edgecErrorOf(() => importOnnx(m));
    expect(e?.kind).toBe('invalid');
    expect(e?.message).toBe('input 0 of GatherElements is required but is empty ("")');
    // an omitted optional input is still fine
    const ok = encodeModel({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', input: [vi('x', [2, 3])], output: [{ name: 'y' }], node: [{ opType: 'Clip', input: ['x', '', 'hi'], output: ['y'] }],
        initializer: [{ name: 'hi', dataType: 1, dims: [], floatData: [1] }] },
    });
    expect(() => importOnnx(ok)).not.toThrow();
  });

  it('IR text: values the text cannot mean are errors, not silently truncated, wrapped or dropped', () => {
    const bad: [string, RegExp][] = [
      ['graph { const %0: i64[1] = [1.5]\n output %0 }', /1\.5 is not an integer/],
      ['graph { const %0: i64[1] = [nan]\n output %0 }', /nan is not an integer/],
      ['graph { const %0: u64[1] = [-1]\n output %0 }', /-1 is out of range for u64/],
      ['graph { const %0: i64[1] = [99999999999999999999999]\n output %0 }', /out of range for i64/],
      ['graph { const %0: i4[1] = [100]\n output %0 }', /100 is out of range for i4/],
      ['graph { const %0: bool[1] = ["x"]\n output %0 }', /cannot hold a string/],
      ['graph { const %0: string[1] = [1]\n output %0 }', /quoted strings/],
      ['graph { input %0: f32[nan]\n output %0 }', /dimension nan is not a non-negative integer/],
      ['graph { const %0: f32[1.5] = [1]\n output %0 }', /dimension 1\.5/],
      ['graph opsets {"": 0} { input %0: f32[2]\n output %0 }', /opset version/],
      ['graph { input %0: f32[2]\n %1 = Relu(%0) {alpha=1, alpha=2} : f32[2]\n output %1 }', /given twice/],
    ];
    for (const [src, want] of bad) expect(edgecErrorOf(() => parse(src))?.message, src).toMatch(want);
    // `__proto__` is a name like any other: kept as an own key, never a prototype
    const g = parse('graph opsets {"__proto__": 3, "": 13} { input %0: f32[2]\n %1 = Relu(%0) {__proto__=[1, 2]} : f32[2]\n output %1 }');
    expect(Object.getPrototypeOf(g.opsets)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(g.opsets, '__proto__')).toBe(true);
    const n = [...g.nodes.values()][0]!;
    expect(Object.getPrototypeOf(n.attrs)).toBe(Object.prototype);
    expect(Object.keys(n.attrs)).toEqual(['__proto__']);
    // exact extremes still parse
    const x = parse('graph { const %0: i64[2] = [-9223372036854775808, 9223372036854775807]\n const %1: u8[1] = [255]\n output %0, %1 }');
    expect([...x.consts.values()][0]!.data).toEqual(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
  });

  it('IR text: "_" for a required input is an IR parse error', () => {
    const e = edgecErrorOf(() => parse('graph { input %0: f32[2]\n %1 = Add(_, %0) : f32[2]\n output %1 }'));
    expect(e?.message).toMatch(/input 0 of Add is required/);
  });

  it('ONNX: a float shape for Expand, or bool starts for Slice, is an error before any kernel runs', () => {
    const expand = encodeModel({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', input: [vi('x', [3, 1])], output: [{ name: 'y' }], node: [{ opType: 'Expand', input: ['x', 's'], output: ['y'] }],
        initializer: [{ name: 's', dataType: 1, dims: [1], floatData: [0.1] }] },
    });
    expect(edgecErrorOf(() => importOnnx(expand))?.message).toMatch(/expected an integer tensor/);
    const slice = encodeModel({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', input: [vi('x', [4])], output: [{ name: 'y' }], node: [{ opType: 'Slice', input: ['x', 'b', 'e'], output: ['y'], attribute: [] }],
        initializer: [{ name: 'b', dataType: 9, dims: [1], int32Data: [1] }, { name: 'e', dataType: 7, dims: [1], int64Data: [3] }] },
    });
    expect(edgecErrorOf(() => importOnnx(slice))?.message).toMatch(/expected an integer tensor/);
  });

  it('ONNX: Range with empty start/limit, Expand to a negative dim, Slice of a scalar, DequantizeLinear with an i64 scale', () => {
    const one = (op: string, inputs: string[], inits: onnxproto.onnx.ITensorProto[], x: number[], opset = 13) => encodeModel({
      irVersion: 8, opsetImport: [{ domain: '', version: opset }],
      graph: { name: 'g', input: [vi('x', x, 7)], output: [{ name: 'y' }], node: [{ opType: op, input: inputs, output: ['y'] }], initializer: inits },
    });
    const i64 = (name: string, dims: number[], v: number[]) => ({ name, dataType: 7, dims, int64Data: v });
    const cases: [Uint8Array, RegExp][] = [
      [one('Range', ['a', 'a', 'd'], [i64('a', [0], []), i64('d', [1], [1])], [1]), /Range: start, limit and delta must be scalars/],
      [one('Expand', ['x', 's'], [i64('s', [2], [-1, 4])], [1, 1]), /Expand: shape \[-1, 4\] has a negative dimension/],
      [one('Slice', ['x', 's', 'e'], [i64('s', [1], [0]), i64('e', [1], [1])], []), /Slice: starts has 1 entries but the input has rank 0/],
      [one('DequantizeLinear', ['q', 'x'], [{ name: 'q', dataType: 3, dims: [2], int32Data: [1, 2] }], [1], 21), /x_scale must be a float tensor, got i64/],
    ];
    for (const [m, want] of cases) expect(edgecErrorOf(() => importOnnx(m))?.message).toMatch(want);
  });
});
