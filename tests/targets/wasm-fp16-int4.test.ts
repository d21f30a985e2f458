/**
 * --fp16 and --int4 on the wasm target: the RoundF16 kernel bit for bit against the reference; small
 * models built in code and the shared bench/trained models compiled as `edgec compile --fp16/--int4`
 * does, run through model.mjs and compared with the reference interpreter on the same fp16/int4
 * graph; weights stored compressed in model.wasm (fp16 ~2x smaller, int4 as small as the int4 graph).
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { emitWasm } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';
import { emulateF16 } from '../../targets/common/f16-graph.js';
import { decodeBlocked, encodeF16, isF16Exact, packInt4 } from '../../targets/common/compress.js';
import { f16BitsToNumber, roundF16 } from '../../compiler/ir/dtype.js';
import { Artifact } from '../../targets/target.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { randomTensor } from './wasm-helpers.js';
import * as fs from 'node:fs';
import {
  compareAll, firstBitDifference, fp16Int4ModelCases, prepare, roundF16Case, roundingVector, smallModels,
} from './fp16-int4-cases.js';

async function run(art: Artifact, inputs: Tensor[]): Promise<Tensor[]> {
  const dir = writeTempArtifact(art.files);
  try {
    return runWasmModel(await loadWasmArtifact(dir), inputs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const wasmBytes = (a: Artifact): number => (a.files.get('model.wasm') as Uint8Array).length;

describe('wasm RoundF16 kernel', () => {
  roundF16Case((g, inputs) => run(emitWasm(g), inputs));
});

describe('f16 graph rewrite', () => {
  it('rounds only where the f16 graph creates values; Relu/MaxPool/Flatten outputs stay unrounded', () => {
    const m = smallModels()[0]!;
    const { q } = prepare(m.graph(), 'wasm', 'fp16');
    const f = emulateF16(q.graph);
    const ops = f.orderedNodes();
    expect([...f.values.values()].some((v) => v.type.dtype === 'f16')).toBe(false);
    for (const n of ops) {
      if (n.op !== 'RoundF16') continue;
      const p = f.producerOf(n.inputs[0]!);
      expect(['Relu', 'MaxPool', 'Flatten', 'Identity']).not.toContain(p?.op);
    }
    // the reference gives the same numbers for the f16 graph and its f32 form
    const x = m.inputs();
    expect(compareAll(runGraph(f, x), runGraph(q.graph, x), 'int4')).toBeNull();
  });
  it('a native f16 graph (f16 input, constant and output) rounds its input and outputs like the reference', async () => {
    const b = new GraphBuilder('half', { '': 17 });
    const x = b.input('x', 'f16', [2, 9]);
    const c = b.const('c', Tensor.from('f16', [9], [0.1, -0.2, 0.3, 1e-5, 3, -7, 1000, 0.001, 2.5]));
    b.output(b.node('Add', [b.node('Mul', [x, c]), c], {}, { outputNames: ['y'] }));
    const g = b.build();
    const v = randomTensor([2, 9], 3, -100, 100);
    const want = runGraph(g, [Tensor.from('f16', [2, 9], v.data as Float32Array)])[0]!;
    const got = (await run(emitWasm(g, { precision: 'fp16' }), [v]))[0]!;
    // products of two halves are exact in f32, so the rounded results match bit for bit
    expect(firstBitDifference(got.data as Float32Array, Float32Array.from(want.data as Float32Array))).toBe(-1);
  });
  it('f16 storage: a blob is stored as f16 exactly when every value is a half; the halves decode to the same values', () => {
    const v = roundingVector();
    for (const x of v) {
      const exact = !Number.isNaN(x) && roundF16(x) === x;
      expect(isF16Exact(Float32Array.of(x)), `x=${x}`).toBe(exact);
      if (exact) expect(Object.is(f16BitsToNumber(encodeF16(Float32Array.of(x))[0]!), Math.fround(x)), `x=${x}`).toBe(true);
    }
  });
  it('int4 storage: packed nibbles decode to the reference DequantizeLinear values', () => {
    const q = Int8Array.from([-8, -7, -1, 0, 1, 7, 3, -3, 5]);
    const p = packInt4(q);
    expect([...p]).toEqual([0x98, 0x0f, 0x71, 0xd3, 0x05]);
    const s = Float32Array.from([0.1, 0.3, 0.7]);
    const d = decodeBlocked({ q, scale: s, outer: 1, D: 9, inner: 1, block: 4 });
    expect([...d]).toEqual([...q].map((v, i) => Math.fround(v * s[Math.floor(i / 4)]!)));
  });
});

/** Compiles float graph `g` for wasm fp32, fp16 and int4 and checks results and sizes. */
async function check(id: string, g: Graph, inputs: Tensor[], ratioInt4: number): Promise<string> {
  const base = g.clone();
  const { float, q: q16 } = prepare(g, 'wasm', 'fp16');
  const fp32 = emitWasm(float, { precision: 'fp32' });
  const a16 = emitWasm(q16.graph, { precision: 'fp16' });
  const got16 = await run(a16, inputs);
  expect(compareAll(got16, runGraph(q16.graph, inputs), 'fp16'), `${id} fp16`).toBeNull();
  const { q: q4 } = prepare(base, 'wasm', 'int4');
  const a4 = emitWasm(q4.graph, { precision: 'int4' });
  const got4 = await run(a4, inputs);
  expect(compareAll(got4, runGraph(q4.graph, inputs), 'int4'), `${id} int4`).toBeNull();
  const w32 = fp32.manifest.weights_bytes;
  const w16 = a16.manifest.weights_bytes;
  const w4 = a4.manifest.weights_bytes;
  expect(w32 / w16, `${id}: fp16 weights ${w16} vs fp32 ${w32}`).toBeGreaterThan(1.9);
  expect(wasmBytes(fp32) - wasmBytes(a16), `${id}: model.wasm fp32 ${wasmBytes(fp32)} fp16 ${wasmBytes(a16)}`).toBeGreaterThan(0.4 * w32);
  expect(w32 / w4, `${id}: int4 weights ${w4} vs fp32 ${w32}`).toBeGreaterThan(ratioInt4);
  return `| ${id} | ${wasmBytes(fp32)} | ${wasmBytes(a16)} (${(w32 / w16).toFixed(2)}x weights) | ${wasmBytes(a4)} (${(w32 / w4).toFixed(2)}x weights) |`;
}

describe('wasm --fp16 / --int4 vs the reference', () => {
  fp16Int4ModelCases(check, 'wasm model.wasm bytes');
});
