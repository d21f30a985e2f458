/**
 * exportOnnx keeps every attribute's ONNX type (INT vs FLOAT, INTS vs FLOATS...) exactly, also where
 * the value alone is ambiguous (a FLOAT holding 1.0, an empty list) and the op's parser does not
 * read the attribute: the types come from the ONNX spec's schemas (attr-kinds.ts). Checked against
 * the source protos of the ONNX node tests (import -> export keeps each attribute's type) and
 * against onnxruntime, which rejects an attribute of the wrong type.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxproto from 'onnx-proto';
import { exportOnnx } from '../../compiler/frontends/onnx/export.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { listNodeTests } from '../onnx-node/cases.js';

const { onnx } = onnxproto;
const ATTR = onnx.AttributeProto.AttributeType;

/** Attribute types of a model's nodes (main graph), keyed by the node's first output and the attribute name. */
function attrTypes(bytes: Uint8Array): Map<string, number> {
  const m = onnx.ModelProto.decode(bytes);
  const types = new Map<string, number>();
  for (const n of m.graph?.node ?? []) {
    for (const a of n.attribute ?? []) types.set(`${n.opType} ${n.output?.[0] ?? ''} ${a.name}`, a.type ?? 0);
  }
  return types;
}

describe('exportOnnx attribute types', () => {
  it('an attribute the parser does not read keeps its spec type: LabelEncoder default_float = 1 stays FLOAT (onnxruntime loads it)', async () => {
    const b = new GraphBuilder('le', { '': 17, 'ai.onnx.ml': 2 });
    const x = b.input('x', 'i64', [4]);
    // int64 -> int64 mapping: the parser reads default_int64 only; default_float is legal but unused
    const y = b.node('LabelEncoder', [x], { keys_int64s: [1, 2, 3], values_int64s: [10, 20, 30], default_int64: -1, default_float: 1 },
      { domain: 'ai.onnx.ml' });
    b.output(y);
    const g = b.build();
    const bytes = exportOnnx(g);
    const types = [...attrTypes(bytes)].filter(([k]) => k.endsWith(' default_float'));
    expect(types.map(([, t]) => t)).toEqual([ATTR.FLOAT]);
    const xin = Tensor.from('i64', [4], [1n, 3n, 7n, 2n]);
    const want = runGraph(g, [xin])[0]!;
    const s = await ort.InferenceSession.create(bytes);
    const out = (await s.run({ x: new ort.Tensor('int64', xin.data as BigInt64Array, [4]) }))[g.value(g.outputs[0]!).name]!;
    await s.release();
    expect(Array.from(out.data as BigInt64Array)).toEqual(Array.from(want.data as BigInt64Array));
  });

  it('empty lists and integral floats keep the spec type (Gemm alpha = 1, TfIdfVectorizer weights = [])', () => {
    const b = new GraphBuilder('lists', { '': 17 });
    const x = b.input('x', 'f32', [2, 2]);
    const w = b.const('w', Tensor.from('f32', [2, 2], [1, 2, 3, 4]));
    b.output(b.node('Gemm', [x, w], { alpha: 1, beta: 1, transB: 0 }));
    const ids = b.input('ids', 'i64', [3]);
    b.output(b.node('TfIdfVectorizer', [ids], {
      min_gram_length: 1, max_gram_length: 1, max_skip_count: 0, mode: 'TF', ngram_counts: [0], ngram_indexes: [0, 1], pool_int64s: [2, 3], weights: [],
    }));
    const types = attrTypes(exportOnnx(b.build()));
    const of = (op: string, name: string) => [...types].filter(([k]) => k.startsWith(`${op} `) && k.endsWith(` ${name}`)).map(([, t]) => t);
    expect(of('Gemm', 'alpha')).toEqual([ATTR.FLOAT]);
    expect(of('Gemm', 'transB')).toEqual([ATTR.INT]);
    expect(of('TfIdfVectorizer', 'weights')).toEqual([ATTR.FLOATS]);
    expect(of('TfIdfVectorizer', 'ngram_counts')).toEqual([ATTR.INTS]);
  });

  const cases = listNodeTests();
  it.skipIf(cases.length === 0)('import -> export keeps the type of every attribute of the ONNX node tests', () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const c of cases) {
      const src = new Uint8Array(fs.readFileSync(path.join(c.dir, 'model.onnx')));
      let out: Uint8Array;
      try {
        out = exportOnnx(importOnnx(src));
      } catch {
        continue; // models edgec does not import or export are export-node.test.ts's business
      }
      const want = attrTypes(src);
      for (const [k, t] of attrTypes(out)) {
        const w = want.get(k);
        if (w === undefined) continue; // a node or attribute the importer rewrote
        compared++;
        if (w !== t) mismatches.push(`${c.name}: ${k} exported as ${ATTR[t]}, source ${ATTR[w]}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
  }, 120_000);
});
