/**
 * Mutation fuzzing of the parsers reachable from the command line: ONNX models (importOnnx),
 * .pb and .npy data files. A mutated input must either load or fail with an EdgecError (a
 * documented exit code) -- never another exception (which the CLI reports as an internal bug).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { decodeDataBytes } from '../../compiler/io/data.js';
import { encodeNpy } from '../../compiler/io/npy.js';
import { encodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { EdgecError } from '../../compiler/errors.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { encode, ints, seedAdd, seedConv } from './seed.js';

/** A mutation: flip bytes, cut, or splice random bytes in. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

type Mutation = { kind: 'flip'; at: number; byte: number; count: number } | { kind: 'cut'; at: number } | { kind: 'splice'; at: number; bytes: Uint8Array };

function mutate(seed: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = new Uint8Array(seed);
  for (const m of muts) {
    const at = b.length ? m.at % b.length : 0;
    if (m.kind === 'flip') for (let i = 0; i < m.count && at + i < b.length; i++) b[at + i] = (m.byte + i * 37) & 255;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else {
      const c = new Uint8Array(b.length + m.bytes.length);
      c.set(b.subarray(0, at));
      c.set(m.bytes, at);
      c.set(b.subarray(at), at + m.bytes.length);
      b = c;
    }
  }
  return b;
}

function onlyEdgecErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof EdgecError)) throw new Error(`non-EdgecError: ${(e as Error)?.stack ?? String(e)}`);
    expect(e.kind).not.toBe('internal');
  }
}

const RUNS = Number(process.env["EDGEC_FUZZ_RUNS"] ?? 400);

describe('mutation fuzzing (seeded, reproducible)', () => {
  const models = [encode(seedAdd()), encode(seedConv([ints('pads', [1, 1, 1, 1])]))];
  it(`ONNX importer: ${RUNS} mutated models per seed`, () => {
    for (const seed of models) {
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        onlyEdgecErrors(() => importOnnx(mutate(seed, muts)));
      }), { numRuns: RUNS, seed: 20261128 });
    }
  });
  it(`.pb data files: ${RUNS} mutations`, () => {
    const seed = encodeTensorProtoBytes(Tensor.from('f32', [2, 3], [1, 2, 3, 4, 5, 6]), 'x');
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      onlyEdgecErrors(() => decodeDataBytes(mutate(seed, muts), 'pb'));
    }), { numRuns: RUNS, seed: 7 });
  });
  it(`.npy data files: ${RUNS} mutations`, () => {
    const seed = encodeNpy(Tensor.from('f32', [2, 3], [1, 2, 3, 4, 5, 6]));
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      onlyEdgecErrors(() => decodeDataBytes(mutate(seed, muts), 'npy'));
    }), { numRuns: RUNS, seed: 11 });
  });
});
