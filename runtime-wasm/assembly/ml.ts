/**
 * Kernels of the classic ML ops (compiler/ops/ml.ts is the spec): TfIdfVectorizer's n-gram
 * counting on integer data (onnxruntime's algorithm, as the reference runs it) and TreeEnsemble
 * (tree walks and aggregation in f64).
 */
import { pa, pi } from './common';
import { loadIndex } from './dtype';

/**
 * tfidf params: 0 x (i32 or i64, rows x C), 1 y (f32, rows x outSize), 2 x kind (0 i32, 1 i64),
 * 3 rows, 4 C, 5 n-gram table (i32 words; per n-gram: size, output column, then size items as
 * (lo, hi) word pairs, stride 2 + 2 * maxN), 6 n-gram count, 7 min_gram_length, 8 max_gram_length,
 * 9 max_skip_count, 10 mode (0 TF, 1 IDF, 2 TFIDF), 11 weights (f32 per output column; 0: ones),
 * 12 outSize. For each skip distance d = 1..max_skip+1 and start s, an n-gram g of size n counts
 * once when x[s + j d] = g[j] for j < n (s + (n-1) d < C), n >= min_gram_length, and n >= 2 when
 * d > 1 (unigrams count at d = 1 only). Counts c become TF: c, IDF: w (c > 0), TFIDF: w c.
 */
export function tfidf(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), kind = pi(p, 2), rows = pi(p, 3), C = pi(p, 4), tab = pa(p, 5), ng = pi(p, 6);
  const minN0 = pi(p, 7), maxN = pi(p, 8), maxSkip = pi(p, 9), mode = pi(p, 10), wts = pa(p, 11), outSize = pi(p, 12);
  const stride = 2 + 2 * maxN;
  memory.fill(y, 0, <usize>rows * <usize>outSize << 2);
  for (let b = 0; b < rows; b++) {
    const yr = y + (<usize>(b * outSize) << 2);
    let minN = minN0;
    for (let d = 1; d <= maxSkip + 1; d++) {
      for (let s = 0; s < C; s++) {
        if (s + d * (minN - 1) >= C) break;
        for (let g = 0; g < ng; g++) {
          const e = tab + (<usize>(g * stride) << 2);
          const n = load<i32>(e);
          if (n < minN || s + (n - 1) * d >= C) continue;
          let hit = true;
          for (let j = 0; j < n; j++) {
            const v = loadIndex(x, b * C + s + j * d, kind);
            const want = (<i64>load<u32>(e + 8 + (<usize>j << 3))) | (<i64>load<i32>(e + 12 + (<usize>j << 3)) << 32);
            if (v != want) { hit = false; break; }
          }
          if (hit) {
            const a = yr + (<usize>load<i32>(e + 4) << 2);
            store<f32>(a, load<f32>(a) + 1);
          }
        }
      }
      if (minN == 1) {
        minN = 2;
        if (minN > maxN) break;
      }
    }
    if (mode == 0) continue;
    for (let k = 0; k < outSize; k++) {
      const a = yr + (<usize>k << 2);
      const f = <f64>load<f32>(a);
      const w: f64 = wts != 0 ? <f64>load<f32>(wts + (<usize>k << 2)) : 1;
      store<f32>(a, <f32>(mode == 1 ? (f > 0 ? w : 0) : w * f));
    }
  }
}

// TreeEnsemble node modes, aggregates and post transforms (compiler/ops/ml.ts Mode, AGGREGATES, POST)
const M_LEQ = 0, M_LT = 1, M_GTE = 2, M_GT = 3, M_EQ = 4, M_NEQ = 5;
const A_AVERAGE = 0, A_MIN = 2, A_MAX = 3;
const P_SOFTMAX = 1, P_LOGISTIC = 2, P_SOFTMAX_ZERO = 3;

@inline function ldf(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

@inline function ldi(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}

/**
 * tree_ensemble params: 0 x [N, F] (f32 or f64), 1 y [N, T] (x's dtype), 2 dtype code, 3 N, 4 F,
 * 5 node table (i32, 8 words per node: feature, mode, true id, false id, flags (1 true id is a
 * leaf, 2 false id is a leaf, 4 NaN goes true), member start, member count, 0), 6 splits (f64 per
 * node, in x's precision), 7 member values (f64, in x's precision), 8 leaf targets (i32), 9 leaf
 * weights (f64), 10 tree roots (i32), 11 root count, 12 T (n_targets), 13 aggregate (AVERAGE 0,
 * SUM 1, MIN 2, MAX 3), 14 post transform (NONE 0, SOFTMAX 1, LOGISTIC 2, SOFTMAX_ZERO 3),
 * 15 scratch (9 T bytes), 16 node count. Each tree routes a row to one leaf; the first leaf of a
 * target sets its score, later ones aggregate; AVERAGE divides by the root count; targets no leaf
 * reaches score 0. A cycle in the node links makes the row zeros.
 */
export function tree_ensemble(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), dt = pi(p, 2), N = pi(p, 3), F = pi(p, 4), nodes = pa(p, 5), splits = pa(p, 6);
  const members = pa(p, 7), ltar = pa(p, 8), lw = pa(p, 9), roots = pa(p, 10), nRoots = pi(p, 11), T = pi(p, 12);
  const agg = pi(p, 13), post = pi(p, 14), row = pa(p, 15), nNodes = pi(p, 16);
  const hit = row + (<usize>T << 3);
  for (let n = 0; n < N; n++) {
    memory.fill(row, 0, <usize>T * 9);
    let cyclic = false;
    for (let r = 0; r < nRoots && !cyclic; r++) {
      let node = ldi(roots, r);
      let leaf = -1;
      for (let steps = 0; steps <= nNodes; steps++) {
        const e = nodes + (<usize>node << 5);
        const v = dt == 0 ? <f64>load<f32>(x + (<usize>(n * F + load<i32>(e)) << 2)) : load<f64>(x + (<usize>(n * F + load<i32>(e)) << 3));
        const s = ldf(splits, node);
        const mode = load<i32>(e, 4), flags = load<i32>(e, 16);
        let go = false;
        if (v != v && (flags & 4) != 0) go = true;
        else if (mode == M_LEQ) go = v <= s;
        else if (mode == M_LT) go = v < s;
        else if (mode == M_GTE) go = v >= s;
        else if (mode == M_GT) go = v > s;
        else if (mode == M_EQ) go = v == s;
        else if (mode == M_NEQ) go = v != s;
        else {
          const ms = load<i32>(e, 20), mc = load<i32>(e, 24);
          for (let k = 0; k < mc; k++) if (ldf(members, ms + k) == v) { go = true; break; }
        }
        const next = go ? load<i32>(e, 8) : load<i32>(e, 12);
        if ((flags & (go ? 1 : 2)) != 0) { leaf = next; break; }
        node = next;
      }
      if (leaf < 0) { cyclic = true; break; }
      const t = ldi(ltar, leaf);
      const w = ldf(lw, leaf);
      const a = row + (<usize>t << 3);
      const h = hit + <usize>t;
      if (load<u8>(h) == 0) store<f64>(a, w);
      else if (agg == A_MIN) store<f64>(a, Math.min(load<f64>(a), w));
      else if (agg == A_MAX) store<f64>(a, Math.max(load<f64>(a), w));
      else store<f64>(a, load<f64>(a) + w);
      store<u8>(h, 1);
    }
    if (cyclic) memory.fill(row, 0, <usize>T << 3);
    else {
      if (agg == A_AVERAGE) for (let t = 0; t < T; t++) store<f64>(row + (<usize>t << 3), ldf(row, t) / <f64>nRoots);
      if (post == P_LOGISTIC) {
        for (let t = 0; t < T; t++) store<f64>(row + (<usize>t << 3), 1 / (1 + Math.exp(-ldf(row, t))));
      } else if (post == P_SOFTMAX || post == P_SOFTMAX_ZERO) {
        const zero = post == P_SOFTMAX_ZERO;
        let mx = -Infinity;
        for (let t = 0; t < T; t++) { const v = ldf(row, t); if (!(zero && v == 0)) mx = Math.max(mx, v); }
        let sum: f64 = 0;
        for (let t = 0; t < T; t++) {
          const v = ldf(row, t);
          const e = zero && v == 0 ? 0 : Math.exp(v - mx);
          store<f64>(row + (<usize>t << 3), e);
          sum += e;
        }
        if (sum > 0) for (let t = 0; t < T; t++) store<f64>(row + (<usize>t << 3), ldf(row, t) / sum);
      }
    }
    for (let t = 0; t < T; t++) {
      if (dt == 0) store<f32>(y + (<usize>(n * T + t) << 2), <f32>ldf(row, t));
      else store<f64>(y + (<usize>(n * T + t) << 3), ldf(row, t));
    }
  }
}
