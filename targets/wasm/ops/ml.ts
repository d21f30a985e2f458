/**
 * Wasm lowerings of the ml family (compiler/ops/ml.ts): TfIdfVectorizer on integer input (its n-gram
 * trie flattened into a table) and ai.onnx.ml TreeEnsemble (node / leaf tables), on the kernels of
 * runtime-wasm/assembly/ml.ts. Binarizer and ArrayFeatureExtractor expand through their `decompose`
 * hooks.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { LowerCtx, LowerFn, NULL, SCRATCH, Word, i32 } from '../ctx.js';
import { indexKind } from './shape.js';
import type { Gram, TfIdfAttrs } from '../../../compiler/ops/ml.js';

// TfIdfVectorizer(X[C] or X[B, C]) -> f32 [outSize] or [B, outSize]: n-gram counts with skips,
// weighted per mode (TF: count, IDF: weight where count > 0, TFIDF: weight * count)
function lowerTfIdf(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const a = c.attrs<TfIdfAttrs>();
  if (c.g.typeOf(y).dtype !== 'f32') throw c.unsupported('TfIdfVectorizer output must be f32');
  const rows = xs.length === 2 ? xs[0]! : 1;
  const C = xs.length === 0 ? 1 : xs[xs.length - 1]!;
  if (rows * a.outSize === 0) return;
  // one table entry per distinct n-gram of the trie (a repeated n-gram keeps its last id, as there)
  const stride = 2 + 2 * a.maxN;
  const words: number[] = [];
  const walk = (m: Map<number, Gram>, path: number[]): void => {
    for (const [key, g] of m) {
      const p = [...path, key];
      if (g.id !== 0) {
        const e = new Array<number>(stride).fill(0);
        e[0] = p.length;
        e[1] = a.indexes[g.id - 1]!;
        p.forEach((v, j) => {
          const b = BigInt.asUintN(64, BigInt(v));
          e[2 + 2 * j] = Number(b & 0xffffffffn) | 0;
          e[3 + 2 * j] = Number(b >> 32n) | 0;
        });
        words.push(...e);
      }
      walk(g.next, p);
    }
  };
  walk(a.root, []);
  const count = words.length / stride;
  const mode = a.mode === 'TF' ? 0 : a.mode === 'IDF' ? 1 : 2;
  const table = count > 0 ? c.blob(Int32Array.from(words)) : NULL;
  const w = a.weights && mode !== 0 ? c.blob(Float32Array.from(a.weights)) : NULL;
  c.emit('tfidf', [c.vaddr(x), c.vaddr(y), i32(indexKind(c, x)), i32(rows), i32(C), table, i32(count), i32(a.minN), i32(a.maxN), i32(a.maxSkip),
    i32(mode), w, i32(a.outSize)], { reads: [x], writes: [y], dtype: 'f32' });
}

/** The parsed TreeEnsemble attributes the lowering reads (compiler/ops/ml.ts TreeEnsembleAttrs). */
interface TreeEnsembleView {
  splits: number[];
  features: number[];
  modes: number[];
  trueIds: number[];
  falseIds: number[];
  trueLeaf: boolean[];
  falseLeaf: boolean[];
  missingTrue: boolean[];
  members: Map<number, Set<number>>;
  leafTargets: number[];
  leafWeights: number[];
  roots: number[];
  nTargets: number;
  aggregate: 'AVERAGE' | 'SUM' | 'MIN' | 'MAX';
  post: 'NONE' | 'SOFTMAX' | 'LOGISTIC' | 'SOFTMAX_ZERO' | 'PROBIT';
}

const AGGREGATE_CODE = { AVERAGE: 0, SUM: 1, MIN: 2, MAX: 3 } as const;
const POST_CODE: Readonly<Record<string, number>> = { NONE: 0, SOFTMAX: 1, LOGISTIC: 2, SOFTMAX_ZERO: 3 };

/** f64 values as a blob (stored as raw bytes; blobs are 16-byte aligned). */
function f64Blob(c: LowerCtx, v: readonly number[]): Word {
  return v.length === 0 ? NULL : c.blob(new Uint8Array(Float64Array.from(v).buffer));
}

// TreeEnsemble(X[N, F]) -> Y[N, n_targets]: each tree routes a row to a leaf (LEQ/LT/GTE/GT/EQ/NEQ/
// MEMBER tests, NaN to the true side when tracked); leaf weights aggregate per target, then the
// post transform (splits and members compared in X's precision)
function lowerTreeEnsemble(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const a = c.attrs<TreeEnsembleView>();
  const dt = c.g.typeOf(x).dtype;
  if ((dt !== 'f32' && dt !== 'f64') || c.g.typeOf(y).dtype !== dt) throw c.unsupported(`TreeEnsemble on ${dt} (wasm: f32 or f64)`);
  const post = POST_CODE[a.post];
  if (post === undefined) throw c.unsupported(`TreeEnsemble post_transform ${a.post}`);
  const [N, F] = c.shape(x) as [number, number];
  if (a.features.some((f) => f >= F)) throw c.unsupported(`TreeEnsemble reads a feature beyond the ${F} of X`);
  if (N * a.nTargets === 0) return;
  const cmp = dt === 'f32' ? Math.fround : (v: number) => v;
  const table: number[] = [];
  const members: number[] = [];
  a.splits.forEach((_, i) => {
    const set = a.members.get(i);
    const start = members.length;
    if (set) members.push(...[...set].map(cmp));
    table.push(a.features[i]!, a.modes[i]!, a.trueIds[i]!, a.falseIds[i]!,
      (a.trueLeaf[i] ? 1 : 0) | (a.falseLeaf[i] ? 2 : 0) | (a.missingTrue[i] ? 4 : 0), start, set ? set.size : 0, 0);
  });
  c.emit('tree_ensemble', [c.vaddr(x), c.vaddr(y), i32(dt === 'f32' ? 0 : 1), i32(N), i32(F), c.blob(Int32Array.from(table)),
    f64Blob(c, a.splits.map(cmp)), f64Blob(c, members), c.blob(Int32Array.from(a.leafTargets)), f64Blob(c, a.leafWeights),
    c.blob(Int32Array.from(a.roots)), i32(a.roots.length), i32(a.nTargets), i32(AGGREGATE_CODE[a.aggregate]), i32(post), SCRATCH,
    i32(a.splits.length)], { reads: [x], writes: [y], scratch: 9 * a.nTargets + 8, dtype: dt });
}

/** ml-family lowerings by qualified op name. */
export const ML_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  TfIdfVectorizer: lowerTfIdf, 'ai.onnx.ml.TreeEnsemble': lowerTreeEnsemble,
};
