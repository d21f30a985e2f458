/**
 * Op family: classic ML (domain ai.onnx.ml: ArrayFeatureExtractor, Binarizer, LabelEncoder,
 * TreeEnsemble; and the ai.onnx text featurizer TfIdfVectorizer).
 *
 * Only numeric tensors are handled: forms that need string tensors (string keys, values or pools)
 * are rejected with an 'unsupported' error.
 */
import { DType, ONNX_DTYPE, intRange, isFloat } from '../ir/dtype.js';
import { Dim, Tensor, numel } from '../ir/tensor.js';
import { DEFAULT_LIMITS, invalid, limit, unsupported } from '../errors.js';
import { AttrReader, defineOp, need } from './registry.js';
import { erf } from './elementwise.js';

const ML = 'ai.onnx.ml';

/** The error for any string-tensor form of these ops. */
function noStrings(op: string): Error {
  return unsupported(`${op}: string tensors are not supported`);
}

/** Throws a 'limit' error when a result of `n` elements would exceed the tensor size limit. */
function checkElems(n: number, what: string): void {
  if (!(n <= DEFAULT_LIMITS.maxTensorBytes / 8)) throw limit(`${what}: ${n} elements exceed the tensor size limit`);
}

function elems(s: readonly Dim[]): number {
  return s.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
}

// ---------------------------------------------------------------------------------------------
// ArrayFeatureExtractor
// ---------------------------------------------------------------------------------------------

/** Output shape of ArrayFeatureExtractor: X.shape[:-1] + [count] (a 1-D X gives [1, count]). */
function afeShape(x: readonly Dim[], count: Dim): Dim[] {
  return x.length <= 1 ? [1, count] : [...x.slice(0, -1), count];
}

// ArrayFeatureExtractor(X, Y) -> Z[..., j] = X[..., Y[j]] (indices flattened, taken from the last axis)
export const ArrayFeatureExtractor = defineOp<Record<string, never>>({
  name: 'ArrayFeatureExtractor',
  domain: ML,
  since: 1,
  arity: [2, 2],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'ArrayFeatureExtractor');
    const y = need(ctx.inputs[1], 1, 'ArrayFeatureExtractor');
    if (x.dtype === 'string') throw noStrings('ArrayFeatureExtractor');
    if (y.dtype !== 'i64') throw invalid(`ArrayFeatureExtractor: indices must be int64, got ${y.dtype}`);
    const n = y.shape.every((d) => typeof d === 'number') ? numel(y.shape as number[]) : ctx.freshDim('features');
    return [{ dtype: x.dtype, shape: afeShape(x.shape, n) }];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'ArrayFeatureExtractor');
    const y = need(ins[1], 1, 'ArrayFeatureExtractor');
    if (x.dtype === 'string') throw noStrings('ArrayFeatureExtractor');
    if (x.shape.length === 0) throw invalid('ArrayFeatureExtractor: X must have rank >= 1');
    const last = x.shape[x.shape.length - 1]!;
    const idx = y.toNumbers();
    for (const i of idx) {
      if (!Number.isInteger(i) || i < 0 || i >= last) throw invalid(`ArrayFeatureExtractor: index ${i} is out of range [0, ${last})`);
    }
    const rows = x.size / Math.max(last, 1);
    const res = Tensor.zeros(x.dtype, afeShape(x.shape, idx.length) as number[]);
    const big = x.data instanceof BigInt64Array || x.data instanceof BigUint64Array;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < idx.length; j++) {
        const src = r * last + idx[j]!;
        res.set(r * idx.length + j, big ? x.getBig(src) : x.get(src));
      }
    }
    return [res];
  },
  cost: () => ({ macs: 0, flops: 0 }),
  // Z = Gather(X, Y, axis = last) for a 1-D Y; a 1-D X gathers with Flatten(Y) ([1, count]) on
  // axis 0 (ops of every opset: the emitted nodes take the graph's default-domain opset)
  decompose: (b) => {
    const x = b.inputs[0];
    const y = b.inputs[1];
    if (!x || !y || x.dtype === 'string' || x.shape.length === 0 || y.dtype !== 'i64') return null;
    if (x.shape.length === 1) return [b.op1('Gather', [b.ids[0]!, b.op1('Flatten', [b.ids[1]!], { axis: 0 })], { axis: 0 })];
    if (y.shape.length !== 1) return null;
    return [b.op1('Gather', [b.ids[0]!, b.ids[1]!], { axis: x.shape.length - 1 })];
  },
});

// ---------------------------------------------------------------------------------------------
// Binarizer
// ---------------------------------------------------------------------------------------------

// Binarizer(X) -> Y = (X > threshold) ? 1 : 0, same dtype
export const Binarizer = defineOp<{ threshold: number }>({
  name: 'Binarizer',
  domain: ML,
  since: 1,
  arity: [1, 1],
  attrs: (r) => ({ threshold: r.float('threshold', 0) }),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Binarizer');
    if (x.dtype === 'string' || x.dtype === 'bool') throw invalid(`Binarizer: input must be numeric, got ${x.dtype}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Binarizer');
    const res = Tensor.zeros(x.dtype, x.shape);
    for (let i = 0; i < x.size; i++) if (x.get(i) > a.threshold) res.set(i, 1);
    return [res];
  },
  // Y = Cast(Greater(X, t), to = dtype(X)); for integer X, x > t <=> x > floor(t) (t in X's range)
  decompose: (b, a) => {
    const x = b.inputs[0];
    if (!x) return null;
    const dt = x.dtype;
    let t = a.threshold;
    if (dt !== 'f32' && dt !== 'f64') {
      if (isFloat(dt) || dt === 'string' || dt === 'bool') return null;
      const [lo, hi] = intRange(dt);
      t = Math.floor(t);
      if (!(t >= lo && t <= hi) || (dt.endsWith('64') && Math.abs(t) > Number.MAX_SAFE_INTEGER)) return null;
    }
    const tv = dt === 'i64' || dt === 'u64' ? b.constant(Tensor.from(dt, [], [BigInt(t)])) : b.scalar(dt, t);
    return [b.op1('Cast', [b.op1('Greater', [b.ids[0]!, tv])], { to: ONNX_DTYPE[dt] })];
  },
});

// ---------------------------------------------------------------------------------------------
// LabelEncoder (numeric keys and values)
// ---------------------------------------------------------------------------------------------

interface LabelEncoderAttrs {
  keys: number[];
  values: number[];
  /** Input dtype the keys imply ('i64' or a float type). */
  keyType: 'int' | 'float';
  outDtype: DType;
  dflt: number;
}

/** Reads LabelEncoder's key or value list (attributes *_int64s, *_floats, *_tensor). */
function leList(r: AttrReader, kind: 'keys' | 'values'): { v: number[]; dtype: DType } {
  if (r.has(`${kind}_strings`)) throw noStrings('LabelEncoder');
  const ints = r.ints(`${kind}_int64s`);
  const floats = r.floats(`${kind}_floats`);
  const t = r.opset >= 4 ? r.tensor(`${kind}_tensor`) : undefined;
  const given = [ints, floats, t].filter((x) => x !== undefined).length;
  if (given !== 1) throw r.error(`LabelEncoder: exactly one of ${kind}_int64s, ${kind}_floats${r.opset >= 4 ? `, ${kind}_tensor` : ''} is required`);
  if (ints) return { v: ints, dtype: 'i64' };
  if (floats) return { v: floats, dtype: 'f32' };
  if (t!.dtype === 'string') throw noStrings('LabelEncoder');
  if (t!.shape.length !== 1) throw r.error(`LabelEncoder: ${kind}_tensor must be 1-D`);
  return { v: t!.toNumbers(), dtype: t!.dtype };
}

/** Key equality: floats compare by value, with NaN matching NaN. */
function keyOf(v: number): number | string {
  return Number.isNaN(v) ? 'nan' : v === 0 ? 0 : v;
}

// LabelEncoder(X) -> Y[i] = values[j] where keys[j] == X[i], else the default
export const LabelEncoder = defineOp<LabelEncoderAttrs>({
  name: 'LabelEncoder',
  domain: ML,
  since: 2,
  arity: [1, 1],
  attrs: (r) => {
    const k = leList(r, 'keys');
    const v = leList(r, 'values');
    if (k.v.length !== v.v.length) throw r.error(`LabelEncoder: ${k.v.length} keys but ${v.v.length} values`);
    let dflt: number;
    const dt = r.opset >= 4 ? r.tensor('default_tensor') : undefined;
    if (dt) {
      if (dt.dtype === 'string') throw noStrings('LabelEncoder');
      if (dt.size !== 1) throw r.error('LabelEncoder: default_tensor must hold one value');
      dflt = dt.get(0);
    } else dflt = isFloat(v.dtype) ? r.float('default_float', -0) : r.int('default_int64', -1);
    return { keys: k.v, values: v.v, keyType: isFloat(k.dtype) ? 'float' : 'int', outDtype: v.dtype, dflt };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'LabelEncoder');
    if (x.dtype === 'string') throw noStrings('LabelEncoder');
    if ((a.keyType === 'float') !== isFloat(x.dtype)) throw invalid(`LabelEncoder: input ${x.dtype} does not match the key type`);
    return [{ dtype: a.outDtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'LabelEncoder');
    if (x.dtype === 'string') throw noStrings('LabelEncoder');
    // keys are stored as float32 in *_floats; compare in the input's precision
    const conv = x.dtype === 'f32' ? Math.fround : (v: number) => v;
    const map = new Map<number | string, number>();
    a.keys.forEach((k, i) => {
      const key = keyOf(conv(k));
      if (!map.has(key)) map.set(key, a.values[i]!);
    });
    const res = Tensor.zeros(a.outDtype, x.shape);
    for (let i = 0; i < x.size; i++) res.set(i, map.get(keyOf(x.get(i))) ?? a.dflt);
    return [res];
  },
});

// ---------------------------------------------------------------------------------------------
// TreeEnsemble (ai.onnx.ml opset 5)
// ---------------------------------------------------------------------------------------------

const enum Mode { LEQ = 0, LT = 1, GTE = 2, GT = 3, EQ = 4, NEQ = 5, MEMBER = 6 }
const AGGREGATES = ['AVERAGE', 'SUM', 'MIN', 'MAX'] as const;
const POST = ['NONE', 'SOFTMAX', 'LOGISTIC', 'SOFTMAX_ZERO', 'PROBIT'] as const;

interface TreeEnsembleAttrs {
  splits: number[];
  features: number[];
  modes: number[];
  trueIds: number[];
  falseIds: number[];
  trueLeaf: boolean[];
  falseLeaf: boolean[];
  missingTrue: boolean[];
  /** Member sets of MEMBER nodes (by node index). */
  members: Map<number, Set<number>>;
  leafTargets: number[];
  leafWeights: number[];
  roots: number[];
  nTargets: number;
  aggregate: (typeof AGGREGATES)[number];
  post: (typeof POST)[number];
}

function teAttrs(r: AttrReader): TreeEnsembleAttrs {
  const reqInts = (n: string): number[] => {
    const v = r.ints(n);
    if (!v) throw r.error(`TreeEnsemble: attribute "${n}" is required`);
    return v;
  };
  const reqTensor = (n: string): number[] => {
    const t = r.tensor(n);
    if (!t) throw r.error(`TreeEnsemble: attribute "${n}" is required`);
    return t.toNumbers();
  };
  const splits = reqTensor('nodes_splits');
  const features = reqInts('nodes_featureids');
  const modes = reqTensor('nodes_modes');
  const trueIds = reqInts('nodes_truenodeids');
  const falseIds = reqInts('nodes_falsenodeids');
  const trueLeaf = reqInts('nodes_trueleafs').map((v) => v !== 0);
  const falseLeaf = reqInts('nodes_falseleafs').map((v) => v !== 0);
  const nNodes = splits.length;
  const missing = r.ints('nodes_missing_value_tracks_true');
  const missingTrue = missing ? missing.map((v) => v !== 0) : new Array<boolean>(nNodes).fill(false);
  for (const [n, v] of [['nodes_featureids', features], ['nodes_modes', modes], ['nodes_truenodeids', trueIds],
    ['nodes_falsenodeids', falseIds], ['nodes_trueleafs', trueLeaf], ['nodes_falseleafs', falseLeaf],
    ['nodes_missing_value_tracks_true', missingTrue]] as const) {
    if (v.length !== nNodes) throw r.error(`TreeEnsemble: ${n} has ${v.length} entries, expected ${nNodes} (one per node)`);
  }
  const leafTargets = reqInts('leaf_targetids');
  const leafWeights = reqTensor('leaf_weights');
  if (leafTargets.length !== leafWeights.length) {
    throw r.error(`TreeEnsemble: leaf_targetids has ${leafTargets.length} entries, leaf_weights ${leafWeights.length}`);
  }
  const nTargets = r.int('n_targets');
  if (nTargets === undefined || nTargets < 1) throw r.error('TreeEnsemble: n_targets must be a positive integer');
  checkElems(nTargets, 'TreeEnsemble n_targets');
  if (leafTargets.some((t) => t < 0 || t >= nTargets)) throw r.error(`TreeEnsemble: leaf_targetids must be in [0, ${nTargets})`);
  const roots = reqInts('tree_roots');
  if (modes.some((m) => !Number.isInteger(m) || m < 0 || m > 6)) throw r.error('TreeEnsemble: nodes_modes values must be in [0, 6]');
  for (let i = 0; i < nNodes; i++) {
    for (const [id, leaf] of [[trueIds[i]!, trueLeaf[i]!], [falseIds[i]!, falseLeaf[i]!]] as const) {
      const lim = leaf ? leafWeights.length : nNodes;
      if (!Number.isInteger(id) || id < 0 || id >= lim) throw r.error(`TreeEnsemble: node ${i} points to ${leaf ? 'leaf' : 'node'} ${id}, out of range [0, ${lim})`);
    }
    if (features[i]! < 0) throw r.error(`TreeEnsemble: node ${i} has negative feature id`);
  }
  if (roots.some((t) => !Number.isInteger(t) || t < 0 || t >= nNodes)) throw r.error(`TreeEnsemble: tree_roots must be in [0, ${nNodes})`);
  // membership sets, NaN-delimited, in the order MEMBER nodes appear in nodes_modes
  const members = new Map<number, Set<number>>();
  const mv = r.tensor('membership_values')?.toNumbers();
  const memberNodes = modes.flatMap((m, i) => (m === Mode.MEMBER ? [i] : []));
  if (memberNodes.length > 0) {
    if (!mv) throw r.error('TreeEnsemble: BRANCH_MEMBER nodes need membership_values');
    let cur = new Set<number>();
    const sets: Set<number>[] = [];
    for (const v of mv) {
      if (Number.isNaN(v)) {
        sets.push(cur);
        cur = new Set<number>();
      } else cur.add(v);
    }
    if (sets.length !== memberNodes.length) {
      throw r.error(`TreeEnsemble: membership_values holds ${sets.length} NaN-terminated sets for ${memberNodes.length} BRANCH_MEMBER nodes`);
    }
    memberNodes.forEach((n, k) => members.set(n, sets[k]!));
  }
  const agg = r.int('aggregate_function', 1);
  const post = r.int('post_transform', 0);
  if (!(agg >= 0 && agg < AGGREGATES.length)) throw r.error(`TreeEnsemble: aggregate_function ${agg} is not in [0, 3]`);
  if (!(post >= 0 && post < POST.length)) throw r.error(`TreeEnsemble: post_transform ${post} is not in [0, 4]`);
  return {
    splits, features, modes, trueIds, falseIds, trueLeaf, falseLeaf, missingTrue, members, leafTargets, leafWeights,
    roots, nTargets, aggregate: AGGREGATES[agg]!, post: POST[post]!,
  };
}

/** Leaf index reached by one sample (x is the row's features) from node `root`. */
function treeLeaf(a: TreeEnsembleAttrs, root: number, x: (f: number) => number, cmp: (v: number) => number): number {
  let node = root;
  for (let steps = 0; steps <= a.splits.length; steps++) {
    const v = x(a.features[node]!);
    const s = cmp(a.splits[node]!);
    let go: boolean;
    if (Number.isNaN(v) && a.missingTrue[node]) go = true;
    else {
      switch (a.modes[node]! as Mode) {
        case Mode.LEQ: go = v <= s; break;
        case Mode.LT: go = v < s; break;
        case Mode.GTE: go = v >= s; break;
        case Mode.GT: go = v > s; break;
        case Mode.EQ: go = v === s; break;
        case Mode.NEQ: go = v !== s; break;
        default: go = [...a.members.get(node)!].some((m) => cmp(m) === v);
      }
    }
    const next = go ? a.trueIds[node]! : a.falseIds[node]!;
    if (go ? a.trueLeaf[node] : a.falseLeaf[node]) return next;
    node = next;
  }
  throw invalid('TreeEnsemble: the node links contain a cycle');
}

/** Inverse error function: a rational first guess refined by Newton steps on erf. */
function erfinv(y: number): number {
  if (y <= -1) return y === -1 ? -Infinity : NaN;
  if (y >= 1) return y === 1 ? Infinity : NaN;
  // Giles' single-precision approximation as the starting point
  let w = -Math.log((1 - y) * (1 + y));
  let x: number;
  if (w < 5) {
    w -= 2.5;
    let p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
    x = p * y;
  } else {
    w = Math.sqrt(w) - 3;
    let p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
    x = p * y;
  }
  for (let k = 0; k < 3; k++) x -= (erf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}

/** Applies a post_transform to one row of scores in place. */
function postTransform(row: Float64Array, post: TreeEnsembleAttrs['post']): void {
  if (post === 'NONE') return;
  if (post === 'LOGISTIC') {
    for (let i = 0; i < row.length; i++) row[i] = 1 / (1 + Math.exp(-row[i]!));
  } else if (post === 'PROBIT') {
    for (let i = 0; i < row.length; i++) row[i] = Math.SQRT2 * erfinv(2 * row[i]! - 1);
  } else {
    // SOFTMAX over all targets; SOFTMAX_ZERO leaves zero scores at zero and normalizes the rest
    const zero = post === 'SOFTMAX_ZERO';
    let mx = -Infinity;
    for (const v of row) if (!(zero && v === 0)) mx = Math.max(mx, v);
    let sum = 0;
    for (let i = 0; i < row.length; i++) {
      row[i] = zero && row[i] === 0 ? 0 : Math.exp(row[i]! - mx);
      sum += row[i]!;
    }
    for (let i = 0; i < row.length; i++) row[i] = sum > 0 ? row[i]! / sum : row[i]!;
  }
}

// TreeEnsemble(X[N,F]) -> Y[N,n_targets]: every tree routes each row to one leaf (node tests
// LEQ/LT/GTE/GT/EQ/NEQ/MEMBER on X[n, feature] vs the split, NaN to the true branch when
// nodes_missing_value_tracks_true); leaf weights are aggregated per target (SUM/AVERAGE/MIN/MAX),
// then post_transform is applied per row
export const TreeEnsemble = defineOp<TreeEnsembleAttrs>({
  name: 'TreeEnsemble',
  domain: ML,
  since: 5,
  arity: [1, 1],
  attrs: teAttrs,
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'TreeEnsemble');
    if (!isFloat(x.dtype)) throw invalid(`TreeEnsemble: X must be a float tensor, got ${x.dtype}`);
    if (x.shape.length !== 2) throw invalid(`TreeEnsemble: X must be [N, features], got rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, a.nTargets] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'TreeEnsemble');
    if (x.shape.length !== 2) throw invalid(`TreeEnsemble: X must be [N, features], got rank ${x.shape.length}`);
    const [N, F] = x.shape as [number, number];
    const maxF = a.features.reduce((m, f) => Math.max(m, f), -1);
    if (maxF >= F) throw invalid(`TreeEnsemble: a node reads feature ${maxF}, but X has ${F}`);
    // splits and members are stored in X's precision
    const cmp = x.dtype === 'f32' ? Math.fround : (v: number) => v;
    const T = a.nTargets;
    checkElems(N * T, 'TreeEnsemble');
    const out = new Float64Array(N * T);
    const row = new Float64Array(T);
    const hit = new Uint8Array(T);
    for (let n = 0; n < N; n++) {
      // a target that no reached leaf votes for scores 0 (onnxruntime; the spec leaves it open)
      row.fill(0);
      hit.fill(0);
      const feat = (f: number) => x.get(n * F + f);
      for (const root of a.roots) {
        const leaf = treeLeaf(a, root, feat, cmp);
        const t = a.leafTargets[leaf]!;
        const w = a.leafWeights[leaf]!;
        if (!hit[t]) row[t] = w;
        else if (a.aggregate === 'MIN') row[t] = Math.min(row[t]!, w);
        else if (a.aggregate === 'MAX') row[t] = Math.max(row[t]!, w);
        else row[t] = row[t]! + w;
        hit[t] = 1;
      }
      if (a.aggregate === 'AVERAGE') for (let t = 0; t < T; t++) row[t] = row[t]! / a.roots.length;
      postTransform(row, a.post);
      out.set(row, n * T);
    }
    const res = Tensor.zeros(x.dtype, [N, T]);
    for (let i = 0; i < out.length; i++) res.set(i, out[i]!);
    return [res];
  },
  cost: (ctx, a) => ({ macs: 0, flops: elems(ctx.inputs[0]!.shape.slice(0, 1)) * a.roots.length * 8 }),
});

// ---------------------------------------------------------------------------------------------
// TfIdfVectorizer (ai.onnx, integer pools)
// ---------------------------------------------------------------------------------------------

/** N-gram trie node: id 0 means "prefix only"; ids count from 1 in pool order. */
export interface Gram {
  id: number;
  next: Map<number, Gram>;
}

/** TfIdfVectorizer's parsed attributes (what the reference and the wasm lowering read). */
export interface TfIdfAttrs {
  minN: number;
  maxN: number;
  maxSkip: number;
  mode: 'TF' | 'IDF' | 'TFIDF';
  /** ngram id - 1 -> output column. */
  indexes: number[];
  /** Weight per output column (from the per-n-gram weights attribute). */
  weights?: number[];
  outSize: number;
  root: Map<number, Gram>;
}

/**
 * Builds the n-gram trie from pool_int64s: ngram_counts[i] is where the (i+1)-grams start; only
 * sizes in [min_gram_length, max_gram_length] are inserted, but every n-gram takes an id.
 */
function buildGrams(r: AttrReader, pool: number[], counts: number[], minN: number, maxN: number): Map<number, Gram> {
  const root = new Map<number, Gram>();
  let id = 1;
  for (let i = 0; i < counts.length; i++) {
    const size = i + 1;
    const start = counts[i]!;
    const end = i + 1 < counts.length ? counts[i + 1]! : pool.length;
    if (start < 0 || end > pool.length || end < start) throw r.error(`TfIdfVectorizer: ngram_counts ${JSON.stringify(counts)} do not fit a pool of ${pool.length}`);
    const items = end - start;
    if (items % size !== 0) throw r.error(`TfIdfVectorizer: ${items} pool entries for ${size}-grams is not a multiple of ${size}`);
    const n = items / size;
    if (size < minN || size > maxN) {
      id += n;
      continue;
    }
    for (let g = 0; g < n; g++) {
      let m = root;
      for (let j = 0; j < size; j++) {
        const key = pool[start + g * size + j]!;
        let node = m.get(key);
        if (!node) {
          node = { id: 0, next: new Map() };
          m.set(key, node);
        }
        if (j === size - 1) node.id = id++;
        m = node.next;
      }
    }
  }
  return root;
}

/**
 * Counts n-gram hits of one row into freq (onnxruntime's algorithm): for each skip distance
 * d = 1..max_skip_count+1 and each start, walk items start, start+d, ... through the trie and count
 * every matched n-gram of size >= the current minimum; unigrams are counted at d = 1 only.
 */
function countGrams(row: ArrayLike<number>, a: TfIdfAttrs, freq: Float64Array, base: number): void {
  let minN = a.minN;
  const len = row.length;
  for (let d = 1; d <= a.maxSkip + 1; d++) {
    for (let start = 0; start < len; start++) {
      if (start + d * (minN - 1) >= len) break;
      let m = a.root;
      let size = 1;
      for (let item = start; m.size > 0 && size <= a.maxN && item < len; item += d, size++) {
        const g = m.get(row[item]!);
        if (!g) break;
        if (size >= minN && g.id !== 0) freq[base + a.indexes[g.id - 1]!] = freq[base + a.indexes[g.id - 1]!]! + 1;
        m = g.next;
      }
    }
    if (minN === 1) {
      minN = 2;
      if (minN > a.maxN) break;
    }
  }
}

// TfIdfVectorizer(X[C] or X[B,C] of ints) -> f32 [output] or [B, output]: n-gram (with skips) counts,
// weighted per mode: TF = count, IDF = weight (or 1) where count > 0, TFIDF = weight * count
export const TfIdfVectorizer = defineOp<TfIdfAttrs>({
  name: 'TfIdfVectorizer',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: (r) => {
    if (r.has('pool_strings')) throw noStrings('TfIdfVectorizer');
    const req = (n: string) => {
      const v = r.int(n);
      if (v === undefined) throw r.error(`TfIdfVectorizer: attribute "${n}" is required`);
      return v;
    };
    const minN = req('min_gram_length');
    const maxN = req('max_gram_length');
    const maxSkip = req('max_skip_count');
    if (minN < 1 || maxN < minN || maxSkip < 0) throw r.error(`TfIdfVectorizer: need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0`);
    const mode = r.oneOf('mode', 'TF', ['TF', 'IDF', 'TFIDF'] as const);
    const counts = r.ints('ngram_counts');
    const indexes = r.ints('ngram_indexes');
    const pool = r.ints('pool_int64s');
    if (!counts || !indexes || !pool) throw r.error('TfIdfVectorizer: ngram_counts, ngram_indexes and pool_int64s are required');
    if (indexes.some((i) => i < 0)) throw r.error('TfIdfVectorizer: ngram_indexes must be >= 0');
    const root = buildGrams(r, pool, counts, minN, maxN);
    const total = counts.reduce((acc, s, i) => acc + ((i + 1 < counts.length ? counts[i + 1]! : pool.length) - s) / (i + 1), 0);
    if (indexes.length < total) throw r.error(`TfIdfVectorizer: ngram_indexes has ${indexes.length} entries for ${total} n-grams`);
    const outSize = indexes.reduce((m, i) => Math.max(m, i), -1) + 1;
    checkElems(outSize, 'TfIdfVectorizer output');
    const weights = r.floats('weights');
    const a: TfIdfAttrs = { minN, maxN, maxSkip, mode, indexes, outSize, root };
    if (weights && weights.length > 0) {
      // weights[k] belongs to the k-th n-gram of the pool, whose count lands in column ngram_indexes[k]
      if (weights.length !== total) throw r.error(`TfIdfVectorizer: weights has ${weights.length} entries for ${total} n-grams`);
      const col = new Array<number>(outSize).fill(1);
      weights.forEach((w, k) => (col[indexes[k]!] = w));
      a.weights = col;
    }
    return a;
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'TfIdfVectorizer');
    if (x.dtype === 'string') throw noStrings('TfIdfVectorizer');
    if (x.dtype !== 'i32' && x.dtype !== 'i64') throw invalid(`TfIdfVectorizer: input must be int32 or int64, got ${x.dtype}`);
    if (x.shape.length > 2) throw invalid(`TfIdfVectorizer: input must be [C] or [B, C], got rank ${x.shape.length}`);
    return [{ dtype: 'f32', shape: x.shape.length === 2 ? [x.shape[0]!, a.outSize] : [a.outSize] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'TfIdfVectorizer');
    if (x.dtype === 'string') throw noStrings('TfIdfVectorizer');
    if (x.shape.length > 2) throw invalid(`TfIdfVectorizer: input must be [C] or [B, C], got rank ${x.shape.length}`);
    const rows = x.shape.length === 2 ? x.shape[0]! : 1;
    const C = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
    const xv = x.toNumbers();
    checkElems(rows * a.outSize, 'TfIdfVectorizer');
    const freq = new Float64Array(rows * a.outSize);
    for (let b = 0; b < rows; b++) countGrams(xv.slice(b * C, (b + 1) * C), a, freq, b * a.outSize);
    const out = new Float32Array(freq.length);
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i]!;
      const w = a.weights ? a.weights[i % a.outSize]! : 1;
      out[i] = a.mode === 'TF' ? f : a.mode === 'IDF' ? (f > 0 ? w : 0) : w * f;
    }
    return [new Tensor('f32', x.shape.length === 2 ? [rows, a.outSize] : [a.outSize], out)];
  },
});
