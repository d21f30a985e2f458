/**
 * Elementwise kernels: unary ops, broadcasting binary ops, strided copies (transpose, slice,
 * concat, expand, depth-to-space), fill, pad, per-channel affine.
 * Shapes are given as 6 dims (leading 1s) with element strides computed by the compiler.
 */
import { pa, pi, pf, unaryRange } from './common';
import { padIndex } from './move';

/** unary_f32 params: 0 op, 1 x, 2 y, 3 n, 4 a0 (f32), 5 a1 (f32). */
export function unary_f32(p: usize): void {
  unaryRange(pi(p, 0), pa(p, 1), pa(p, 2), pi(p, 3), pf(p, 4), pf(p, 5));
}

export const B_ADD: i32 = 0;
export const B_SUB: i32 = 1;
export const B_MUL: i32 = 2;
export const B_DIV: i32 = 3;
export const B_MAX: i32 = 4;
export const B_MIN: i32 = 5;
export const B_POW: i32 = 6;
export const B_PRELU: i32 = 7;
export const B_MOD: i32 = 8;

@inline function binV(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD: return f32x4.add(a, b);
    case B_SUB: return f32x4.sub(a, b);
    case B_MUL: return f32x4.mul(a, b);
    case B_DIV: return f32x4.div(a, b);
    case B_MAX: return f32x4.max(a, b);
    case B_MIN: return f32x4.min(a, b);
    case B_PRELU: return v128.bitselect(a, f32x4.mul(a, b), f32x4.ge(a, f32x4.splat(0)));
    default: return a;
  }
}

function binS(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: return a != a || b != b ? a + b : Mathf.max(a, b);
    case B_MIN: return a != a || b != b ? a + b : Mathf.min(a, b);
    // C pow: 1^y = 1 and x^0 = 1 even for NaN, (-1)^(+-inf) = 1 (the reference's cpow)
    case B_POW: return a == 1 || b == 0 || (a == -1 && Mathf.abs(b) == Infinity) ? <f32>1 : <f32>Math.pow(<f64>a, <f64>b);
    case B_PRELU: return a >= 0 ? a : a * b;
    case B_MOD: {
      const r = <f32>(<f64>a % <f64>b);
      return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
    }
    default: return a;
  }
}

/** One row: y[i] = a[i*sa] op b[i*sb], sa/sb in {0,1}. */
function binRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
  let i = 0;
  if (op != B_POW && op != B_MOD) {
    if (ASC_FEATURE_SIMD) {
      const n4 = n & ~3;
      if (sa == 1 && sb == 1) {
        for (; i < n4; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, binV(op, v128.load(a + o), v128.load(b + o)));
        }
      } else if (sa == 1 && sb == 0) {
        const vb = v128.load32_splat(b);
        for (; i < n4; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, binV(op, v128.load(a + o), vb));
        }
      } else if (sa == 0 && sb == 1) {
        const va = v128.load32_splat(a);
        for (; i < n4; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, binV(op, va, v128.load(b + o)));
        }
      }
    }
  }
  for (; i < n; i++) {
    store<f32>(y + (<usize>i << 2), binS(op, load<f32>(a + (<usize>(i * sa) << 2)), load<f32>(b + (<usize>(i * sb) << 2))));
  }
}

/**
 * binary_f32 params: 0 op, 1 a, 2 b, 3 y, 4..9 out dims (6), 10..15 a strides, 16..21 b strides
 * (elements; 0 on broadcast dims). The innermost a/b strides must be 0 or 1.
 */
export function binary_f32(p: usize): void {
  const op = pi(p, 0), A = pa(p, 1), B = pa(p, 2);
  let y = pa(p, 3);
  const d0 = pi(p, 4), d1 = pi(p, 5), d2 = pi(p, 6), d3 = pi(p, 7), d4 = pi(p, 8), d5 = pi(p, 9);
  const a0 = pi(p, 10), a1 = pi(p, 11), a2 = pi(p, 12), a3 = pi(p, 13), a4 = pi(p, 14), a5 = pi(p, 15);
  const b0 = pi(p, 16), b1 = pi(p, 17), b2 = pi(p, 18), b3 = pi(p, 19), b4 = pi(p, 20), b5 = pi(p, 21);
  const row = <usize>d5 << 2;
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const ao = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3 + i4 * a4;
      const bo = i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3 + i4 * b4;
      binRow(op, A + (<usize>ao << 2), a5, B + (<usize>bo << 2), b5, y, d5);
      y += row;
    }
}

/**
 * copy_strided params: 0 dst, 1 src, 2..7 dims (6), 8..13 src strides (elements, may be negative
 * or 0), 14..19 dst strides. Elements are 32-bit.
 */
export function copy_strided(p: usize): void {
  const dst = pa(p, 0), src = pa(p, 1);
  const d0 = pi(p, 2), d1 = pi(p, 3), d2 = pi(p, 4), d3 = pi(p, 5), d4 = pi(p, 6), d5 = pi(p, 7);
  const s0 = pi(p, 8), s1 = pi(p, 9), s2 = pi(p, 10), s3 = pi(p, 11), s4 = pi(p, 12), s5 = pi(p, 13);
  const t0 = pi(p, 14), t1 = pi(p, 15), t2 = pi(p, 16), t3 = pi(p, 17), t4 = pi(p, 18), t5 = pi(p, 19);
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const so = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4;
      const to = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
      const s = src + (<usize>so << 2), t = dst + (<usize>to << 2);
      if (s5 == 1 && t5 == 1) {
        memory.copy(t, s, <usize>d5 << 2);
      } else if (s5 == 0 && t5 == 1) {
        const v = load<u32>(s);
        for (let i = 0; i < d5; i++) store<u32>(t + (<usize>i << 2), v);
      } else {
        for (let i = 0; i < d5; i++) store<u32>(t + (<usize>(i * t5) << 2), load<u32>(s + (<usize>(i * s5) << 2)));
      }
    }
}

/** fill_f32 params: 0 dst, 1 n, 2 value (32-bit pattern). */
export function fill_f32(p: usize): void {
  const dst = pa(p, 0), n = pi(p, 1), v = load<u32>(p, 8);
  for (let i = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), v);
}

/**
 * pad_f32 (reflect / edge / wrap; constant pads use fill + copy_strided) params: 0 x, 1 y, 2 mode
 * (1 reflect, 2 edge, 3 wrap), 3..8 out dims, 9..14 in dims, 15..20 begin pads.
 */
export function pad_f32(p: usize): void {
  const x = pa(p, 0);
  let y = pa(p, 1);
  const mode = pi(p, 2);
  const od0 = pi(p, 3), od1 = pi(p, 4), od2 = pi(p, 5), od3 = pi(p, 6), od4 = pi(p, 7), od5 = pi(p, 8);
  const id1 = pi(p, 10), id2 = pi(p, 11), id3 = pi(p, 12), id4 = pi(p, 13), id5 = pi(p, 14);
  const s4 = id5, s3 = s4 * id4, s2 = s3 * id3, s1 = s2 * id2, s0 = s1 * id1;
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
            const b5 = pi(p, 20);
            for (let i5 = 0; i5 < od5; i5++) {
              const j5 = padIndex(i5 - b5, id5, mode);
              store<f32>(y, load<f32>(x + (<usize>(base + j5) << 2)));
              y += 4;
            }
          }
        }
      }
    }
  }
}

/** channel_affine_f32 params: 0 x, 1 y, 2 N, 3 C, 4 inner, 5 scale, 6 shift: y = x*scale[c]+shift[c]. */
export function channel_affine_f32(p: usize): void {
  let x = pa(p, 0), y = pa(p, 1);
  const N = pi(p, 2), C = pi(p, 3), inner = pi(p, 4), sc = pa(p, 5), sh = pa(p, 6);
  const n4 = inner & ~3;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const s = load<f32>(sc + (<usize>c << 2)), t = load<f32>(sh + (<usize>c << 2));
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const vs = f32x4.splat(s), vt = f32x4.splat(t);
        for (; i < n4; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), vs), vt));
        }
      }
      for (; i < inner; i++) {
        const o = <usize>i << 2;
        store<f32>(y + o, load<f32>(x + o) * s + t);
      }
      x += <usize>inner << 2; y += <usize>inner << 2;
    }
  }
}

/**
 * cast_to_f32 params: 0 src, 1 dst, 2 n, 3 source kind (0: i32, 1: i8, 2: u8). Exact for i8/u8;
 * i32 rounds to nearest f32 like ONNX Cast (f32x4.convert_i32x4_s).
 */
export function cast_to_f32(p: usize): void {
  const src = pa(p, 0), dst = pa(p, 1), n = pi(p, 2), kind = pi(p, 3);
  let i = 0;
  if (kind == 0) {
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= n; i += 4) {
        v128.store(dst + (<usize>i << 2), f32x4.convert_i32x4_s(v128.load(src + (<usize>i << 2))));
      }
    }
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<i32>(src + (<usize>i << 2)));
  } else if (kind == 1) {
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<i8>(src + <usize>i));
  } else {
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<u8>(src + <usize>i));
  }
}
