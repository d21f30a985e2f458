/**
 * Slice with runtime parameters: starts / ends / axes / steps are read from i32 or i64 buffers when
 * the kernel runs (a Loop body slicing at the iteration number), the output shape is the compiled
 * one. Resolution follows the ONNX rules exactly as the reference (compiler/ops/shape.ts
 * resolveSlice): negative starts/ends count from the end, then clamp to [0, dim] for a positive
 * step and to [-1, dim - 1] for a negative one; the length is max(0, ceil((end - start) / step)).
 * Parameters that are invalid (axis out of range, repeated axis, step 0) or that resolve to a
 * shape other than the compiled one trap (`unreachable`): the kernel never writes a wrong shape.
 */
import { pa, pi } from './common';
import { copyElem, loadIndex } from './dtype';

/** Dims the kernel iterates (inputs of lower rank are left-padded with 1s). */
const R: i32 = 6;
/** Scratch (no allocation at run time): per dim the first index read, the step, the length, the source stride. */
const BEGIN: usize = memory.data(8 * 6, 16);
const STEP: usize = memory.data(8 * 6, 16);
const COUNT: usize = memory.data(8 * 6, 16);
const SSTR: usize = memory.data(8 * 6, 16);

@inline function ld(b: usize, i: i32): i64 {
  return load<i64>(b + (<usize>i << 3));
}

@inline function st8(b: usize, i: i32, v: i64): void {
  store<i64>(b + (<usize>i << 3), v);
}

/**
 * slice_rt params: 0 x, 1 y, 2 starts, 3 ends, 4 axes, 5 steps (buffers of `n` indices), 6 n,
 * 7..10 index kind of starts / ends / axes / steps (0: i32, 1: i64, -1: absent; absent axes are
 * 0..n-1, absent steps 1), 11 rank r (<= 6), 12 element size in bytes, 13..18 input dims, 19..24
 * output dims (both left-padded with 1s to 6).
 */
export function slice_rt(p: usize): void {
  const x = pa(p, 0), y = pa(p, 1), sb = pa(p, 2), eb = pa(p, 3), ab = pa(p, 4), tb = pa(p, 5);
  const n = pi(p, 6), ks = pi(p, 7), ke = pi(p, 8), ka = pi(p, 9), kt = pi(p, 10), r = pi(p, 11), es = pi(p, 12);
  const pad = R - r;
  for (let i = 0; i < R; i++) {
    st8(BEGIN, i, 0);
    st8(STEP, i, 1);
    st8(COUNT, i, <i64>pi(p, 13 + i));
  }
  let seen: u32 = 0;
  for (let k = 0; k < n; k++) {
    let ax: i64 = ka < 0 ? <i64>k : loadIndex(ab, k, ka);
    if (ax < 0) ax += r;
    if (ax < 0 || ax >= <i64>r) unreachable();
    const a = <i32>ax + pad;
    if (seen & (1 << a)) unreachable();
    seen |= 1 << a;
    const st: i64 = kt < 0 ? 1 : loadIndex(tb, k, kt);
    if (st == 0) unreachable();
    const dim = <i64>pi(p, 13 + a);
    let s = loadIndex(sb, k, ks), e = loadIndex(eb, k, ke);
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
    } else {
      s = s < -1 ? -1 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
    }
    const len = Math.ceil(<f64>(e - s) / <f64>st);
    st8(BEGIN, a, s);
    st8(STEP, a, st);
    st8(COUNT, a, len > 0 ? <i64>len : 0);
  }
  let empty = false;
  for (let i = 0; i < R; i++) {
    const o = pi(p, 19 + i);
    if (ld(COUNT, i) != <i64>o) unreachable();
    if (o == 0) empty = true;
  }
  if (empty) return;
  // source strides (elements) of the input, times the steps; offset of the first element read
  let acc: i64 = 1, off: i64 = 0;
  for (let i = R - 1; i >= 0; i--) {
    st8(SSTR, i, acc * ld(STEP, i));
    off += acc * ld(BEGIN, i);
    acc *= <i64>pi(p, 13 + i);
  }
  const d0 = pi(p, 19), d1 = pi(p, 20), d2 = pi(p, 21), d3 = pi(p, 22), d4 = pi(p, 23), d5 = pi(p, 24);
  const s0 = ld(SSTR, 0), s1 = ld(SSTR, 1), s2 = ld(SSTR, 2), s3 = ld(SSTR, 3), s4 = ld(SSTR, 4), s5 = ld(SSTR, 5);
  const src = x + <usize>(off * <i64>es);
  let t = y;
  const row = <usize>(d5 * es);
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const so = <i64>i0 * s0 + <i64>i1 * s1 + <i64>i2 * s2 + <i64>i3 * s3 + <i64>i4 * s4;
      const s = src + <usize>(so * <i64>es);
      if (s5 == 1) {
        memory.copy(t, s, row);
      } else {
        for (let i = 0; i < d5; i++) copyElem(t + <usize>(i * es), s + <usize>(<i64>i * s5 * <i64>es), es);
      }
      t += row;
    }
}

/**
 * check_ints params: 0 values (i32 or i64 buffer), 1 expected (i32 buffer; -1: any non-negative
 * value), 2 n, 3 kind of the values (0: i32, 1: i64). Traps when a runtime parameter differs from
 * the value the compiled shapes imply (Tile repeats of a static output shape).
 */
export function check_ints(p: usize): void {
  const v = pa(p, 0), ex = pa(p, 1), n = pi(p, 2), kind = pi(p, 3);
  for (let i = 0; i < n; i++) {
    const e = load<i32>(ex + (<usize>i << 2));
    const x = loadIndex(v, i, kind);
    if (e < 0 ? x < 0 : x != <i64>e) unreachable();
  }
}
