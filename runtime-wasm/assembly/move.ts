/**
 * Data movement on elements of any byte size (2 and 8: f16/bf16/i16/u16, i64/u64/f64; 1 and 4 work
 * too but have the faster twins in bytes.ts / eltwise.ts / nn.ts): the size-generic versions of
 * copy_strided / fill_f32 / pad_f32 / gather_f32 with one more word, the element size in bytes.
 * The loops are inlined helpers that bytes.ts's 1-byte kernels share (a constant size folds).
 */
import { pa, pi } from './common';
import { clampIndex, copyElem, loadIndex } from './dtype';

/** Index into a dim of size n of padded position i (mode 1 reflect, 2 edge, 3 wrap; inside: i). */
export function padIndex(i: i32, n: i32, mode: i32): i32 {
  if (i >= 0 && i < n) return i;
  if (mode == 2 || n == 1) return i < 0 ? 0 : n - 1;
  if (mode == 3) { let r = i % n; if (r < 0) r += n; return r; }
  const period = 2 * (n - 1);
  let r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - r;
}

/**
 * The strided copy of copy_strided_es / copy_strided_u8 (words 0..19 of their parameter blocks) on
 * elements of `es` bytes; a broadcast 1-byte row is a fill.
 */
@inline export function copyStridedElems(p: usize, es: i32): void {
  const dst = pa(p, 0), src = pa(p, 1);
  const d0 = pi(p, 2), d1 = pi(p, 3), d2 = pi(p, 4), d3 = pi(p, 5), d4 = pi(p, 6), d5 = pi(p, 7);
  const s0 = pi(p, 8), s1 = pi(p, 9), s2 = pi(p, 10), s3 = pi(p, 11), s4 = pi(p, 12), s5 = pi(p, 13);
  const t0 = pi(p, 14), t1 = pi(p, 15), t2 = pi(p, 16), t3 = pi(p, 17), t4 = pi(p, 18), t5 = pi(p, 19);
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const so = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4;
      const to = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
      const s = src + <usize>(so * es), t = dst + <usize>(to * es);
      if (s5 == 1 && t5 == 1) {
        memory.copy(t, s, <usize>(d5 * es));
      } else if (es == 1 && s5 == 0 && t5 == 1) {
        memory.fill(t, load<u8>(s), <usize>d5);
      } else {
        for (let i = 0; i < d5; i++) copyElem(t + <usize>(i * t5 * es), s + <usize>(i * s5 * es), es);
      }
    }
}

/** The gather of gather_es / gather_u8 (words 0..7 of their parameter blocks) on elements of `es` bytes. */
@inline export function gatherElems(p: usize, es: i32): void {
  const x = pa(p, 0), idx = pa(p, 1);
  let y = pa(p, 2);
  const outer = pi(p, 3), L = pi(p, 4), nI = pi(p, 5), inner = pi(p, 6), kind = pi(p, 7);
  const row = <usize>(inner * es);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nI; j++) {
      const k = clampIndex(loadIndex(idx, j, kind), L);
      memory.copy(y, x + <usize>(o * L + k) * row, row);
      y += row;
    }
  }
}

/** The reflect / edge / wrap pad of pad_es / pad_u8 (words 0..20 of their parameter blocks) on elements of `es` bytes. */
@inline export function padElems(p: usize, es: i32): void {
  const x = pa(p, 0);
  let y = pa(p, 1);
  const mode = pi(p, 2);
  const od0 = pi(p, 3), od1 = pi(p, 4), od2 = pi(p, 5), od3 = pi(p, 6), od4 = pi(p, 7), od5 = pi(p, 8);
  const id1 = pi(p, 10), id2 = pi(p, 11), id3 = pi(p, 12), id4 = pi(p, 13), id5 = pi(p, 14);
  const s4 = id5, s3 = s4 * id4, s2 = s3 * id3, s1 = s2 * id2, s0 = s1 * id1;
  const b5 = pi(p, 20);
  for (let i0 = 0; i0 < od0; i0++) {
    const j0 = padIndex(i0 - pi(p, 15), pi(p, 9), mode);
    for (let i1 = 0; i1 < od1; i1++) {
      const j1 = padIndex(i1 - pi(p, 16), id1, mode);
      for (let i2 = 0; i2 < od2; i2++) {
        const j2 = padIndex(i2 - pi(p, 17), id2, mode);
        for (let i3 = 0; i3 < od3; i3++) {
          const j3 = padIndex(i3 - pi(p, 18), id3, mode);
          for (let i4 = 0; i4 < od4; i4++) {
            const j4 = padIndex(i4 - pi(p, 19), id4, mode);
            const base = j0 * s0 + j1 * s1 + j2 * s2 + j3 * s3 + j4 * s4;
            for (let i5 = 0; i5 < od5; i5++) {
              copyElem(y, x + <usize>((base + padIndex(i5 - b5, id5, mode)) * es), es);
              y += <usize>es;
            }
          }
        }
      }
    }
  }
}

/**
 * copy_strided_es params: 0 dst, 1 src, 2..7 dims (6), 8..13 src strides (elements, may be
 * negative or 0), 14..19 dst strides, 20 element size in bytes.
 */
export function copy_strided_es(p: usize): void {
  copyStridedElems(p, pi(p, 20));
}

/** fill_es params: 0 dst, 1 n, 2 value low 32 bits, 3 value high 32 bits (8-byte elements), 4 element size. */
export function fill_es(p: usize): void {
  const dst = pa(p, 0), n = pi(p, 1), lo = <u32>pi(p, 2), hi = <u32>pi(p, 3), es = pi(p, 4);
  if (es == 8) {
    const v = (<u64>hi << 32) | <u64>lo;
    for (let i = 0; i < n; i++) store<u64>(dst + (<usize>i << 3), v);
  } else if (es == 4) {
    for (let i = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), lo);
  } else if (es == 2) {
    for (let i = 0; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>lo);
  } else {
    memory.fill(dst, <u8>lo, <usize>n);
  }
}

/**
 * gather_es params (as gather_f32): 0 x, 1 indices, 2 y, 3 outer, 4 axis length, 5 index count,
 * 6 inner, 7 index kind (0: i32, 1: i64), 8 element size. Negative indices count from the end;
 * out-of-range indices clamp (never a read outside x).
 */
export function gather_es(p: usize): void {
  gatherElems(p, pi(p, 8));
}

/**
 * pad_es (reflect / edge / wrap) params: 0 x, 1 y, 2 mode (1 reflect, 2 edge, 3 wrap), 3..8 out
 * dims, 9..14 in dims, 15..20 begin pads, 21 element size.
 */
export function pad_es(p: usize): void {
  padElems(p, pi(p, 21));
}
