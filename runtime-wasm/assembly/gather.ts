/**
 * Index / selection kernels on any element type (dtype codes of dtype.ts): GatherElements,
 * ScatterElements, GatherND, ScatterND, OneHot, Trilu. Index tensors are i32 (kind 0) or i64
 * (kind 1); negative indices count from the end and out-of-range indices clamp to the nearest
 * valid one (the reference rejects them; here they never address memory outside the tensor).
 * Scatter kernels update the output in place: the lowering first copies data into it.
 */
import { pa, pi } from './common';
import { DT_BOOL, DT_F32, DT_F64, DT_I8, DT_I16, DT_I32, DT_U64, clampIndex, copyElem, dtSize, loadAsF64, loadIndex } from './dtype';

/** Scatter reduction codes (kernels.ts SCATTER_REDUCTION). */
const RED_NONE: i32 = 0;
const RED_ADD: i32 = 1;
const RED_MUL: i32 = 2;
const RED_MAX: i32 = 3;

/** Element at `a` of an integer dtype code as an i64 (sign- or zero-extended). */
function loadInt(a: usize, dt: i32): i64 {
  switch (dtSize(dt)) {
    case 1: return dt == DT_I8 ? <i64>load<i8>(a) : <i64>load<u8>(a);
    case 2: return dt == DT_I16 ? <i64>load<i16>(a) : <i64>load<u16>(a);
    case 4: return dt == DT_I32 ? <i64>load<i32>(a) : <i64>load<u32>(a);
    default: return load<i64>(a);
  }
}

/** Stores the low bits of `v` into an element of `es` bytes (integers wrap modulo 2^bits). */
function storeInt(a: usize, es: i32, v: i64): void {
  if (es == 1) store<u8>(a, <u8>v);
  else if (es == 2) store<u16>(a, <u16>v);
  else if (es == 4) store<u32>(a, <u32>v);
  else store<i64>(a, v);
}

/**
 * t <- red(t, s) for one element of dtype `dt`, as the reference's scatterInto: floats combine in
 * f64 and round to the dtype (max/min propagate NaN); integers wrap; bool add is OR, mul is AND.
 */
function combineElem(t: usize, s: usize, dt: i32, red: i32): void {
  if (red == RED_NONE) { copyElem(t, s, dtSize(dt)); return; }
  if (dt == DT_F32 || dt == DT_F64) {
    const a = dt == DT_F32 ? <f64>load<f32>(t) : load<f64>(t);
    const b = dt == DT_F32 ? <f64>load<f32>(s) : load<f64>(s);
    let r: f64;
    if (red == RED_ADD) r = a + b;
    else if (red == RED_MUL) r = a * b;
    else if (a != a || b != b) r = NaN;
    else r = red == RED_MAX ? max(a, b) : min(a, b);
    if (dt == DT_F32) store<f32>(t, <f32>r); else store<f64>(t, r);
    return;
  }
  if (dt == DT_U64) {
    const a = load<u64>(t), b = load<u64>(s);
    store<u64>(t, red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) : (a < b ? a : b));
    return;
  }
  const a = loadInt(t, dt), b = loadInt(s, dt);
  let r: i64;
  if (dt == DT_BOOL) r = red == RED_ADD ? (a | b) : red == RED_MUL ? (a & b) : red == RED_MAX ? max(a, b) : min(a, b);
  else r = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) : (a < b ? a : b);
  storeInt(t, dtSize(dt), r);
}

/**
 * The element walk of GatherElements / ScatterElements. Params: 0 data (gather: x; scatter: y),
 * 1 indices, 2 other (gather: y; scatter: updates), 3 dtype, 4 index kind, 5 axis stride of data
 * (elements), 6 axis length L, 7..12 index dims (6), 13..18 data strides (elements, 0 on the
 * axis), 19 reduction (scatter only: 0 none, 1 add, 2 mul, 3 max, 4 min).
 */
function elementsWalk(p: usize, scatter: bool): void {
  const data = pa(p, 0), idx = pa(p, 1), other = pa(p, 2), dt = pi(p, 3), kind = pi(p, 4);
  const ast = pi(p, 5), L = pi(p, 6), red = pi(p, 19), es = dtSize(dt);
  const d0 = pi(p, 7), d1 = pi(p, 8), d2 = pi(p, 9), d3 = pi(p, 10), d4 = pi(p, 11), d5 = pi(p, 12);
  const s0 = pi(p, 13), s1 = pi(p, 14), s2 = pi(p, 15), s3 = pi(p, 16), s4 = pi(p, 17), s5 = pi(p, 18);
  let j = 0;
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const base = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4;
      for (let i5 = 0; i5 < d5; i5++) {
        const off = base + i5 * s5 + clampIndex(loadIndex(idx, j, kind), L) * ast;
        const d = data + <usize>(off * es), o = other + <usize>(j * es);
        if (scatter) combineElem(d, o, dt, red);
        else copyElem(o, d, es);
        j++;
      }
    }
}

/** gather_elements: y[j] = x[offset of index j] (elementsWalk layout; word 19 unused). */
export function gather_elements(p: usize): void {
  elementsWalk(p, false);
}

/** scatter_elements: y[offset of index j] = red(y[..], updates[j]), in index order (elementsWalk layout). */
export function scatter_elements(p: usize): void {
  elementsWalk(p, true);
}

/**
 * The tuple walk of GatherND / ScatterND. Params: 0 data (gather: x; scatter: y), 1 indices,
 * 2 other (gather: y; scatter: updates), 3 dtype, 4 index kind, 5 tuple count, 6 tuple length k
 * (<= 6), 7 slice size (elements), 8 tuples per batch, 9 data batch stride (elements), 10..15 sizes
 * of the k indexed data dims, 16..21 their strides, 22 reduction (scatter only).
 */
function ndWalk(p: usize, scatter: bool): void {
  const data = pa(p, 0), idx = pa(p, 1), other = pa(p, 2), dt = pi(p, 3), kind = pi(p, 4);
  const T = pi(p, 5), k = pi(p, 6), slice = pi(p, 7), perBatch = pi(p, 8), bst = pi(p, 9), red = pi(p, 22);
  const es = dtSize(dt);
  for (let t = 0; t < T; t++) {
    let off = (perBatch > 0 ? t / perBatch : 0) * bst;
    for (let m = 0; m < k; m++) off += clampIndex(loadIndex(idx, t * k + m, kind), pi(p, 10 + m)) * pi(p, 16 + m);
    const d = data + <usize>(off * es), o = other + <usize>(t * slice * es);
    if (!scatter) memory.copy(o, d, <usize>(slice * es));
    else for (let i = 0; i < slice; i++) combineElem(d + <usize>(i * es), o + <usize>(i * es), dt, red);
  }
}

/** gather_nd: y[t, :] = x[slice addressed by tuple t] (ndWalk layout; word 22 unused). */
export function gather_nd(p: usize): void {
  ndWalk(p, false);
}

/** scatter_nd: y[slice of tuple t] = red(y[..], updates[t, :]), in tuple order (ndWalk layout). */
export function scatter_nd(p: usize): void {
  ndWalk(p, true);
}

/**
 * onehot params: 0 indices, 1 values (2 elements: off, on), 2 y, 3 value dtype, 4 index dtype,
 * 5 outer, 6 depth, 7 inner. y[o, d, i] = d == index[o, i] (truncated; negative + depth) ? on : off;
 * an index outside [-depth, depth) gives a row of off.
 */
export function onehot(p: usize): void {
  const idx = pa(p, 0), vals = pa(p, 1), y = pa(p, 2), dt = pi(p, 3), idt = pi(p, 4);
  const outer = pi(p, 5), depth = pi(p, 6), inner = pi(p, 7), es = dtSize(dt);
  const n = outer * depth * inner;
  for (let i = 0; i < n; i++) copyElem(y + <usize>(i * es), vals, es);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let v = Math.trunc(loadAsF64(idx, o * inner + i, idt));
      if (v < 0) v += <f64>depth;
      if (v >= 0 && v < <f64>depth) copyElem(y + <usize>(((o * depth + <i32>v) * inner + i) * es), vals + <usize>es, es);
    }
  }
}

/**
 * trilu params: 0 x, 1 y, 2 element size, 3 matrices, 4 rows, 5 cols, 6 k, 7 address of a runtime
 * k (i64; 0: use word 6), 8 upper (1: keep j - i >= k; 0: keep j - i <= k). Other elements are zero.
 */
export function trilu(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), es = pi(p, 2), M = pi(p, 3), R = pi(p, 4), C = pi(p, 5), ka = pa(p, 7);
  const upper = pi(p, 8) != 0;
  let k: i64 = ka != 0 ? load<i64>(ka) : <i64>pi(p, 6);
  const lim: i64 = <i64>(R + C + 1);
  if (k > lim) k = lim;
  if (k < -lim) k = -lim;
  const kk = <i32>k;
  let o: usize = 0;
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        const keep = upper ? j - i >= kk : j - i <= kk;
        if (keep) copyElem(y + o, x + o, es);
        else storeInt(y + o, es, 0);
        o += <usize>es;
      }
    }
  }
}
