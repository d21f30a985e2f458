/**
 * Selection and scan kernels on any numeric element type (dtype codes of dtype.ts): ArgMax/ArgMin,
 * TopK, CumSum, CumProd and the Reduce* ops on integer / f64 / bool inputs, each as the reference
 * interpreter computes them (compiler/ops/reduce.ts). One generic body per kernel, monomorphized
 * per element type by the dtype word.
 */
import { pa, pi } from './common';
import {
  DT_BOOL, DT_F32, DT_F64, DT_I8, DT_I16, DT_I32, DT_I64, DT_U8, DT_U16, DT_U32, DT_U64, dtSize, loadAsF64, storeFromF64,
} from './dtype';

@inline function at<T>(base: usize, i: i32): usize {
  return base + (<usize>i << alignof<T>());
}

function argT<T>(x: usize, y: usize, outer: i32, n: i32, inner: i32, isMax: bool, last: bool): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let best = load<T>(at<T>(x, base));
      let arg = 0;
      if (best == best) {
        for (let k = 1; k < n; k++) {
          const v = load<T>(at<T>(x, base + k * inner));
          // NaN wins (numpy); equal values move the index only with select_last_index
          if (v != v) { arg = k; break; }
          const better = isMax ? v > best : v < best;
          if (better || (last && v == best)) { best = v; arg = k; }
        }
      }
      store<i64>(y + (<usize>(o * inner + j) << 3), <i64>arg);
    }
  }
}

/**
 * argminmax params: 0 x, 1 y (i64, outer x inner), 2 dtype, 3 outer, 4 axis length n (>= 1),
 * 5 inner, 6 max (1 ArgMax, 0 ArgMin), 7 select_last_index. Ties: the first index unless
 * select_last_index; the first NaN wins.
 */
export function argminmax(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), dt = pi(p, 2), outer = pi(p, 3), n = pi(p, 4), inner = pi(p, 5);
  const isMax = pi(p, 6) != 0, last = pi(p, 7) != 0;
  switch (dt) {
    case DT_F32: argT<f32>(x, y, outer, n, inner, isMax, last); break;
    case DT_F64: argT<f64>(x, y, outer, n, inner, isMax, last); break;
    case DT_I8: argT<i8>(x, y, outer, n, inner, isMax, last); break;
    case DT_U8: case DT_BOOL: argT<u8>(x, y, outer, n, inner, isMax, last); break;
    case DT_I16: argT<i16>(x, y, outer, n, inner, isMax, last); break;
    case DT_U16: argT<u16>(x, y, outer, n, inner, isMax, last); break;
    case DT_I32: argT<i32>(x, y, outer, n, inner, isMax, last); break;
    case DT_U32: argT<u32>(x, y, outer, n, inner, isMax, last); break;
    case DT_I64: argT<i64>(x, y, outer, n, inner, isMax, last); break;
    case DT_U64: argT<u64>(x, y, outer, n, inner, isMax, last); break;
    default: unreachable();
  }
}

/** True when element (u at index p) comes before (v at q) in TopK's order (the reference's comparator). */
@inline function before<T>(u: T, p: i32, v: T, q: i32, largest: bool): bool {
  const un = u != u, vn = v != v;
  if (un || vn) return un && vn ? p < q : (largest ? vn : un);
  if (u != v) return largest ? u > v : u < v;
  return p < q;
}

function topkT<T>(x: usize, vals: usize, inds: usize, outer: i32, n: i32, inner: i32, k: i32, largest: bool, scr: usize): void {
  const a = scr, b = scr + (<usize>n << 2);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      for (let q = 0; q < n; q++) store<i32>(a + (<usize>q << 2), q);
      // bottom-up merge sort of the positions (the comparator is a total order: ties by position)
      let src = a, dst = b;
      for (let w = 1; w < n; w <<= 1) {
        for (let lo = 0; lo < n; lo += 2 * w) {
          const mid = min(lo + w, n), hi = min(lo + 2 * w, n);
          let l = lo, r = mid, t = lo;
          while (l < mid && r < hi) {
            const pl = load<i32>(src + (<usize>l << 2)), pr = load<i32>(src + (<usize>r << 2));
            const ul = load<T>(at<T>(x, base + pl * inner)), ur = load<T>(at<T>(x, base + pr * inner));
            if (before<T>(ur, pr, ul, pl, largest)) { store<i32>(dst + (<usize>t << 2), pr); r++; }
            else { store<i32>(dst + (<usize>t << 2), pl); l++; }
            t++;
          }
          while (l < mid) { store<i32>(dst + (<usize>t << 2), load<i32>(src + (<usize>l << 2))); l++; t++; }
          while (r < hi) { store<i32>(dst + (<usize>t << 2), load<i32>(src + (<usize>r << 2))); r++; t++; }
        }
        const s = src; src = dst; dst = s;
      }
      for (let q = 0; q < k; q++) {
        const pos = load<i32>(src + (<usize>q << 2));
        const d = o * k * inner + q * inner + j;
        store<T>(at<T>(vals, d), load<T>(at<T>(x, base + pos * inner)));
        store<i64>(inds + (<usize>d << 3), <i64>pos);
      }
    }
  }
}

/**
 * topk params: 0 x, 1 values (outer x k x inner), 2 indices (i64), 3 dtype, 4 outer, 5 axis length
 * n, 6 inner, 7 k, 8 largest, 9 scratch (8n bytes). Order: largest (or smallest) first, ties by
 * lower index; NaN after every number when largest, before when smallest (the reference's order).
 */
export function topk(p: usize): void {
  const x = pa(p, 0), v = pa(p, 1), ix = pa(p, 2), dt = pi(p, 3), outer = pi(p, 4), n = pi(p, 5), inner = pi(p, 6);
  const k = pi(p, 7), largest = pi(p, 8) != 0, scr = pa(p, 9);
  switch (dt) {
    case DT_F32: topkT<f32>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_F64: topkT<f64>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_I8: topkT<i8>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_U8: topkT<u8>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_I16: topkT<i16>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_U16: topkT<u16>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_I32: topkT<i32>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_U32: topkT<u32>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_I64: topkT<i64>(x, v, ix, outer, n, inner, k, largest, scr); break;
    case DT_U64: topkT<u64>(x, v, ix, outer, n, inner, k, largest, scr); break;
    default: unreachable();
  }
}

function cumsumT<T>(x: usize, y: usize, outer: i32, n: i32, inner: i32, exclusive: bool, reverse: bool, prod: bool = false): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      // floats accumulate in f64 and round each output; integers wrap like the reference's store
      // (the low bits of a 64-bit wrapping sum / product are those of wrapping at every step)
      let sf: f64 = prod ? 1 : 0;
      let si: i64 = prod ? 1 : 0;
      for (let q = 0; q < n; q++) {
        const kk = reverse ? n - 1 - q : q;
        const a = at<T>(x, base + kk * inner), b = at<T>(y, base + kk * inner);
        const v = load<T>(a);
        if (isFloat<T>()) {
          if (exclusive) store<T>(b, <T>sf);
          if (prod) sf *= <f64>v; else sf += <f64>v;
          if (!exclusive) store<T>(b, <T>sf);
        } else {
          if (exclusive) store<T>(b, <T>si);
          if (prod) si *= <i64>v; else si += <i64>v;
          if (!exclusive) store<T>(b, <T>si);
        }
      }
    }
  }
}

/**
 * cumsum / cumprod params: 0 x, 1 y, 2 dtype, 3 outer, 4 axis length, 5 inner, 6 exclusive, 7 reverse,
 * 8 address of a runtime axis (0: words 3..5 hold the layout), 9 its kind (0 i32, 1 i64), 10 rank,
 * 11..16 dims (runtime axis: the layout comes from them; an axis out of range is clamped).
 */
function cumScan(p: usize, prod: bool): void {
  const x = pa(p, 0), y = pa(p, 1), dt = pi(p, 2);
  let outer = pi(p, 3), n = pi(p, 4), inner = pi(p, 5);
  const ex = pi(p, 6) != 0, rev = pi(p, 7) != 0, axAt = pa(p, 8);
  if (axAt != 0) {
    const rank = pi(p, 10);
    let a = <i32>(pi(p, 9) == 0 ? <i64>load<i32>(axAt) : load<i64>(axAt));
    if (a < 0) a += rank;
    if (a < 0) a = 0;
    if (a >= rank) a = rank - 1;
    outer = 1; inner = 1;
    for (let d = 0; d < rank; d++) {
      const v = pi(p, 11 + d);
      if (d < a) outer *= v; else if (d > a) inner *= v;
    }
    n = pi(p, 11 + a);
  }
  switch (dt) {
    case DT_F32: cumsumT<f32>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_F64: cumsumT<f64>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_I8: cumsumT<i8>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_U8: cumsumT<u8>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_I16: cumsumT<i16>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_U16: cumsumT<u16>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_I32: cumsumT<i32>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_U32: cumsumT<u32>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_I64: cumsumT<i64>(x, y, outer, n, inner, ex, rev, prod); break;
    case DT_U64: cumsumT<u64>(x, y, outer, n, inner, ex, rev, prod); break;
    default: unreachable();
  }
}

/** cumsum: the running sum (cumScan's parameter block). */
export function cumsum(p: usize): void {
  cumScan(p, false);
}

/** cumprod: the running product, same parameter block as cumsum (an exclusive scan starts at 1). */
export function cumprod(p: usize): void {
  cumScan(p, true);
}

// reduction codes (kernels.ts REDUCE)
const R_SUM = 0, R_MEAN = 1, R_MAX = 2, R_MIN = 3, R_PROD = 4, R_L1 = 5, R_L2 = 6, R_SUMSQUARE = 7, R_LOGSUM = 8, R_LOGSUMEXP = 9;

/** Smallest / largest value of an integer dtype code as f64 (the reference's max / min start values). */
function intLimit(dt: i32, hi: bool): f64 {
  switch (dt) {
    case DT_I8: return hi ? 127 : -128;
    case DT_U8: return hi ? 255 : 0;
    case DT_BOOL: return hi ? 1 : 0;
    case DT_I16: return hi ? 32767 : -32768;
    case DT_U16: return hi ? 65535 : 0;
    case DT_I32: return hi ? 2147483647 : -2147483648;
    case DT_U32: return hi ? 4294967295 : 0;
    default: return hi ? Infinity : -Infinity;
  }
}

/**
 * reduce_any params: 0 op (REDUCE code), 1 x, 2 y, 3 dtype (not f32: reduce_f32 is that kernel),
 * 4..9 dims (6), 10..15 output strides (0 on reduced dims), 16 reduced count, 17 output size,
 * 18 scratch (16 * output size + 32 bytes), 19 address of runtime axes (0: the strides of words
 * 10..15 hold), 20 axes count, 21 axes kind (0 i32, 1 i64), 22 noop_with_empty_axes, 23 input rank
 * (runtime axes: words 4..9 are the input dims, left-padded with 1s). f64 accumulation and the reference's rounding (integers:
 * mean truncates, results wrap); i64/u64 sum, prod, max, min, L1 and sum of squares are exact
 * 64-bit wrapping arithmetic, like the reference's BigInt path.
 */
export function reduce_any(p: usize): void {
  const op = pi(p, 0), x = pa(p, 1), y = pa(p, 2), dt = pi(p, 3), osz = pi(p, 17), acc = pa(p, 18);
  let cnt = pi(p, 16);
  const d0 = pi(p, 4), d1 = pi(p, 5), d2 = pi(p, 6), d3 = pi(p, 7), d4 = pi(p, 8), d5 = pi(p, 9);
  let t0 = pi(p, 10), t1 = pi(p, 11), t2 = pi(p, 12), t3 = pi(p, 13), t4 = pi(p, 14), t5 = pi(p, 15);
  const axesAt = pa(p, 19);
  if (axesAt != 0) {
    // axes known at run time: output strides (0 on reduced dims) from the uncoalesced dims
    const nAx = pi(p, 20), kind = pi(p, 21), noop = pi(p, 22) != 0, rank = pi(p, 23);
    let mask = 0;
    if (nAx == 0) mask = noop ? 0 : 63;
    for (let i = 0; i < nAx; i++) {
      let a = <i32>(kind == 0 ? <i64>load<i32>(axesAt + (<usize>i << 2)) : load<i64>(axesAt + (<usize>i << 3)));
      if (a < 0) a += rank;
      if (a >= 0 && a < rank) mask |= 1 << (6 - rank + a);
    }
    const tab = acc + (<usize>osz << 4);
    let st = 1, kept = 1;
    cnt = 1;
    for (let d = 5; d >= 0; d--) {
      const n = pi(p, 4 + d);
      if (mask & (1 << d)) { store<i32>(tab + (<usize>d << 2), 0); cnt *= n; }
      else { store<i32>(tab + (<usize>d << 2), st); st *= n; kept *= n; }
    }
    if (kept != osz) {
      // axes that disagree with the compiled output shape: zeros, never a write outside y
      memory.fill(y, 0, <usize>(osz * dtSize(dt)));
      return;
    }
    t0 = load<i32>(tab); t1 = load<i32>(tab + 4); t2 = load<i32>(tab + 8); t3 = load<i32>(tab + 12); t4 = load<i32>(tab + 16); t5 = load<i32>(tab + 20);
  }
  const big = (dt == DT_I64 || dt == DT_U64) && op != R_MEAN && op != R_L2 && op != R_LOGSUM && op != R_LOGSUMEXP;
  if (big) {
    const signed = dt == DT_I64;
    const init: i64 = op == R_PROD ? 1 : op == R_MAX ? (signed ? i64.MIN_VALUE : 0) : op == R_MIN ? (signed ? i64.MAX_VALUE : -1) : 0;
    for (let i = 0; i < osz; i++) store<i64>(y + (<usize>i << 3), init);
  } else {
    const fl = dt == DT_F64;
    const init: f64 = op == R_PROD ? 1 : op == R_MAX ? (fl ? -Infinity : intLimit(dt, false)) : op == R_MIN ? (fl ? Infinity : intLimit(dt, true)) : op == R_LOGSUMEXP ? -Infinity : 0;
    for (let i = 0; i < osz; i++) store<f64>(acc + (<usize>i << 3), init);
  }
  const passes = op == R_LOGSUMEXP ? 2 : 1;
  const mx = acc + (<usize>osz << 3);
  for (let ps = 0; ps < passes; ps++) {
    if (op == R_LOGSUMEXP && ps == 1) {
      // second pass: acc <- sum(exp(x - max)), max kept beside it
      for (let i = 0; i < osz; i++) { store<f64>(mx + (<usize>i << 3), load<f64>(acc + (<usize>i << 3))); store<f64>(acc + (<usize>i << 3), 0); }
    }
    let xi = 0;
    for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
      for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
        const ob = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
        for (let i5 = 0; i5 < d5; i5++) {
          const j = ob + i5 * t5;
          if (big) {
            const a = y + (<usize>j << 3);
            const v = load<i64>(x + (<usize>xi << 3)), s = load<i64>(a);
            let r: i64;
            switch (op) {
              case R_PROD: r = s * v; break;
              case R_MAX: r = dt == DT_I64 ? (v > s ? v : s) : (<u64>v > <u64>s ? v : s); break;
              case R_MIN: r = dt == DT_I64 ? (v < s ? v : s) : (<u64>v < <u64>s ? v : s); break;
              case R_L1: r = s + (dt == DT_I64 && v < 0 ? -v : v); break;
              case R_SUMSQUARE: r = s + v * v; break;
              default: r = s + v;
            }
            store<i64>(a, r);
          } else {
            const a = acc + (<usize>j << 3);
            const v = loadAsF64(x, xi, dt), s = load<f64>(a);
            let r: f64;
            switch (op) {
              case R_PROD: r = s * v; break;
              case R_MAX: r = v > s || v != v ? v : s; break;
              case R_MIN: r = v < s || v != v ? v : s; break;
              case R_L1: r = s + Math.abs(v); break;
              case R_L2: case R_SUMSQUARE: r = s + v * v; break;
              case R_LOGSUMEXP: {
                if (ps == 0) { r = v > s || v != v ? v : s; break; }
                const m = load<f64>(mx + (<usize>j << 3));
                r = s + Math.exp(v - (isFinite(m) ? m : 0));
                break;
              }
              default: r = s + v;
            }
            store<f64>(a, r);
          }
          xi++;
        }
      }
  }
  if (big) return;
  const isInt = dt != DT_F64 && dt != DT_F32;
  for (let i = 0; i < osz; i++) {
    let v = load<f64>(acc + (<usize>i << 3));
    if (op == R_MEAN) v = isInt ? Math.trunc(v / <f64>cnt) : v / <f64>cnt;
    else if (op == R_L2) v = Math.sqrt(v);
    else if (op == R_LOGSUM) v = Math.log(v);
    else if (op == R_LOGSUMEXP) { const m = load<f64>(mx + (<usize>i << 3)); v = (isFinite(m) ? m : 0) + Math.log(v); }
    storeFromF64(y, i, dt, v);
  }
}
