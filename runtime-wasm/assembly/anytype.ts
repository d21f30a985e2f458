/**
 * Dtype-generic elementwise kernels: every runtime dtype of the wasm target (f32, f64, f16, bf16,
 * 8..64-bit signed and unsigned integers, bool), with the reference interpreter's semantics
 * (compiler/ops/elementwise.ts, activation.ts, control.ts):
 * - float dtypes compute in f64 and round once to the output dtype (f16: f64 -> f16 round to
 *   nearest even; bf16: f64 -> f32 -> bf16 round to nearest even, as the reference encodes it);
 * - integer dtypes compute on i64 and keep the output's low bits (C / typed-array wrapping);
 *   u64 values travel as their 64-bit patterns (unsigned compares, divisions, conversions);
 * - float -> integer stores truncate toward zero and wrap modulo 2^bits (NaN and +-inf give 0),
 *   any -> bool stores x != 0 (NaN is true), integer -> float converts through f64.
 * One strided loop per kernel loads operands by dtype code and stores by the output's code.
 * The f32 SIMD kernels (eltwise.ts) stay the fast path for f32 graphs.
 */
import { pa, pi } from './common';
import { DT_BF16, DT_BOOL, DT_F16, DT_F32, DT_F64, DT_I16, DT_I32, DT_I64, DT_I8, DT_U16, DT_U32, DT_U64, DT_U8 } from './dtype';

// dtype codes: dtype.ts (targets/wasm/kernels.ts DTYPE mirrors them)
const T_F32 = DT_F32, T_F64 = DT_F64, T_F16 = DT_F16, T_BF16 = DT_BF16, T_I8 = DT_I8, T_U8 = DT_U8, T_I16 = DT_I16;
const T_U16 = DT_U16, T_I32 = DT_I32, T_U32 = DT_U32, T_I64 = DT_I64, T_U64 = DT_U64, T_BOOL = DT_BOOL;

@inline function isFloatT(t: i32): bool {
  return t == T_F32 || t == T_F64 || t == T_F16 || t == T_BF16;
}

/** Bytes per element of dtype code t. */
@inline function sizeT(t: i32): usize {
  if (t == T_F64 || t == T_I64 || t == T_U64) return 8;
  if (t == T_F32 || t == T_I32 || t == T_U32) return 4;
  if (t == T_F16 || t == T_BF16 || t == T_I16 || t == T_U16) return 2;
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

/** IEEE half bits -> f64 (exact). */
function f16ToF64(h: u32): f64 {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  let v: f64;
  if (e == 0) v = <f64>m * 5.9604644775390625e-8; // m * 2^-24
  else if (e == 31) v = m != 0 ? NaN : Infinity;
  else v = reinterpret<f64>((<u64>(e + 1008) << 52) | (<u64>m << 42));
  return (h & 0x8000) != 0 ? -v : v;
}

/** f64 -> IEEE half bits, round to nearest even (compiler/ir/dtype.ts numberToF16Bits). */
function f64ToF16(x: f64): u32 {
  if (x != x) return 0x7e00;
  const bits = reinterpret<u64>(x);
  const sign = <u32>(bits >> 48) & 0x8000;
  const a = Math.abs(x);
  if (a >= 65520.0) return sign | 0x7c00;
  if (a < 6.103515625e-5) return sign | <u32>nearest<f64>(a * 16777216.0); // subnormal: m * 2^-24 (1024 = smallest normal)
  const e = <i32>((bits >> 52) & 0x7ff) - 1023;
  const frac = bits & 0xfffffffffffff;
  let m = <u32>(frac >> 42);
  const rest = frac & 0x3ffffffffff;
  if (rest > 0x20000000000 || (rest == 0x20000000000 && (m & 1) != 0)) m++;
  return sign | ((<u32>(e + 15) << 10) + m);
}

/** bfloat16 bits -> f64 (exact). */
@inline function bf16ToF64(h: u32): f64 {
  return <f64>reinterpret<f32>(h << 16);
}

/** f64 -> bfloat16 bits: to f32, then round to nearest even (compiler/ir/dtype.ts numberToBf16Bits). */
function f64ToBf16(x: f64): u32 {
  if (x != x) return 0x7fc0;
  const u = reinterpret<u32>(<f32>x);
  return ((u + 0x7fff + ((u >> 16) & 1)) >> 16) & 0xffff;
}

const TWO63: f64 = 9223372036854775808.0;
const TWO64: f64 = 18446744073709551616.0;

/**
 * f64 -> 64-bit pattern as a typed-array / bigint store converts a number: truncate toward zero,
 * wrap modulo 2^64; NaN and +-inf give 0.
 */
function f64ToI64Wrap(v: f64): i64 {
  if (!isFinite<f64>(v)) return 0;
  const t = Math.trunc(v);
  if (t >= -TWO63 && t < TWO63) return <i64>t;
  let r = t % TWO64; // exact (fmod)
  if (r >= TWO63) r -= TWO64;
  else if (r < -TWO63) r += TWO64;
  return <i64>r;
}

/** Element at a as f64 (integers converted, u64 unsigned). */
function ldf(a: usize, t: i32): f64 {
  switch (t) {
    case T_F32: return <f64>load<f32>(a);
    case T_F64: return load<f64>(a);
    case T_F16: return f16ToF64(<u32>load<u16>(a));
    case T_BF16: return bf16ToF64(<u32>load<u16>(a));
    case T_I8: return <f64>load<i8>(a);
    case T_U8: return <f64>load<u8>(a);
    case T_I16: return <f64>load<i16>(a);
    case T_U16: return <f64>load<u16>(a);
    case T_I32: return <f64>load<i32>(a);
    case T_U32: return <f64>load<u32>(a);
    case T_I64: return <f64>load<i64>(a);
    case T_U64: return <f64>load<u64>(a);
    default: return load<u8>(a) != 0 ? 1.0 : 0.0;
  }
}

/** Element at a as i64 (integer dtypes and bool; u32 zero-extended, u64 as its bit pattern). */
function ldi(a: usize, t: i32): i64 {
  switch (t) {
    case T_I8: return <i64>load<i8>(a);
    case T_U8: return <i64>load<u8>(a);
    case T_I16: return <i64>load<i16>(a);
    case T_U16: return <i64>load<u16>(a);
    case T_I32: return <i64>load<i32>(a);
    case T_U32: return <i64>load<u32>(a);
    case T_I64: case T_U64: return load<i64>(a);
    case T_BOOL: return load<u8>(a) != 0 ? 1 : 0;
    default: return f64ToI64Wrap(ldf(a, t));
  }
}

/** Stores an integer pattern (low bits) into an integer or bool element. */
function stBits(a: usize, t: i32, v: i64): void {
  switch (t) {
    case T_I8: case T_U8: store<u8>(a, <u8>v); break;
    case T_I16: case T_U16: store<u16>(a, <u16>v); break;
    case T_I32: case T_U32: store<u32>(a, <u32>v); break;
    case T_I64: case T_U64: store<i64>(a, v); break;
    default: store<u8>(a, v != 0 ? 1 : 0);
  }
}

/** Stores a number into element a of dtype t (round floats, truncate + wrap integers, bool: != 0). */
function stf(a: usize, t: i32, v: f64): void {
  switch (t) {
    case T_F32: store<f32>(a, <f32>v); break;
    case T_F64: store<f64>(a, v); break;
    case T_F16: store<u16>(a, <u16>f64ToF16(v)); break;
    case T_BF16: store<u16>(a, <u16>f64ToBf16(v)); break;
    case T_BOOL: store<u8>(a, v != 0 ? 1 : 0); break;
    default: stBits(a, t, f64ToI64Wrap(v));
  }
}

/** Stores an integer into element a of dtype t (floats: through f64; `uns`: v is a u64 pattern). */
function sti(a: usize, t: i32, v: i64, uns: bool): void {
  if (isFloatT(t)) stf(a, t, uns ? <f64><u64>v : <f64>v);
  else stBits(a, t, v);
}

// ---------------------------------------------------------------------------------------------
// Unary ops
// ---------------------------------------------------------------------------------------------

export const N_CAST: i32 = 0;
export const N_NEG: i32 = 1;
export const N_ABS: i32 = 2;
export const N_SIGN: i32 = 3;
export const N_RELU: i32 = 4;
export const N_NOT: i32 = 5;
export const N_BITNOT: i32 = 6;
export const N_ISNAN: i32 = 7;
export const N_ISINF: i32 = 8;
export const N_CLIP: i32 = 9;
export const N_EXP: i32 = 10;
export const N_LOG: i32 = 11;
export const N_SQRT: i32 = 12;
export const N_RECIP: i32 = 13;
export const N_FLOOR: i32 = 14;
export const N_CEIL: i32 = 15;
export const N_ROUND: i32 = 16;
export const N_SIN: i32 = 17;
export const N_COS: i32 = 18;
export const N_TAN: i32 = 19;
export const N_ASIN: i32 = 20;
export const N_ACOS: i32 = 21;
export const N_ATAN: i32 = 22;
export const N_SINH: i32 = 23;
export const N_COSH: i32 = 24;
export const N_ASINH: i32 = 25;
export const N_ACOSH: i32 = 26;
export const N_ATANH: i32 = 27;
export const N_ERF: i32 = 28;
export const N_TANH: i32 = 29;
export const N_SIGMOID: i32 = 30;
export const N_SOFTPLUS: i32 = 31;
export const N_SOFTSIGN: i32 = 32;
export const N_LEAKYRELU: i32 = 33;
export const N_ELU: i32 = 34;
export const N_SELU: i32 = 35;
export const N_CELU: i32 = 36;
export const N_HARDSIGMOID: i32 = 37;
export const N_HARDSWISH: i32 = 38;
export const N_THRESHRELU: i32 = 39;
export const N_MISH: i32 = 40;
export const N_GELU: i32 = 41;
export const N_GELU_TANH: i32 = 42;

/**
 * erf(x) to double precision, the reference's algorithm (compiler/ops/elementwise.ts erf): the
 * all-positive series for |x| < 3, the erfc continued fraction (modified Lentz) beyond.
 */
function erfD(x: f64): f64 {
  if (x != x) return x;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1.0 : -1.0;
  let r: f64;
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / <f64>(2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  } else {
    const tiny = 1e-300;
    let f = ax;
    let c = ax;
    let d = 0.0;
    for (let k = 1; k < 300; k++) {
      const a = <f64>k / 2;
      d = ax + a * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = ax + a / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

/** ln(1 + e^x) without overflow (activation.ts softplus). */
@inline function softplusD(x: f64): f64 {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Float unary op in f64 (a0, a1: the op's attributes). */
function unaryF(op: i32, x: f64, a0: f64, a1: f64): f64 {
  switch (op) {
    case N_CAST: return x;
    case N_NEG: return -x;
    case N_ABS: return Math.abs(x);
    case N_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
    case N_RELU: return x < 0 ? 0.0 : x;
    case N_ISNAN: return x != x ? 1.0 : 0.0;
    case N_ISINF: return (a0 != 0 && x == Infinity) || (a1 != 0 && x == -Infinity) ? 1.0 : 0.0;
    case N_EXP: return Math.exp(x);
    case N_LOG: return Math.log(x);
    case N_SQRT: return Math.sqrt(x);
    case N_RECIP: return 1.0 / x;
    case N_FLOOR: return Math.floor(x);
    case N_CEIL: return Math.ceil(x);
    case N_ROUND: return nearest<f64>(x); // ties to even, keeps -0 and NaN
    case N_SIN: return Math.sin(x);
    case N_COS: return Math.cos(x);
    case N_TAN: return Math.tan(x);
    case N_ASIN: return Math.asin(x);
    case N_ACOS: return Math.acos(x);
    case N_ATAN: return Math.atan(x);
    case N_SINH: return Math.sinh(x);
    case N_COSH: return Math.cosh(x);
    case N_ASINH: return Math.asinh(x);
    case N_ACOSH: return Math.acosh(x);
    case N_ATANH: return Math.atanh(x);
    case N_ERF: return erfD(x);
    case N_TANH: return Math.tanh(x);
    case N_SIGMOID: return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case N_SOFTPLUS: return softplusD(x);
    case N_SOFTSIGN: return x / (1 + Math.abs(x));
    case N_LEAKYRELU: return x >= 0 ? x : a0 * x;
    case N_ELU: return x > 0 ? x : x <= 0 ? a0 * Math.expm1(x) : x;
    case N_SELU: return x > 0 ? a1 * x : x <= 0 ? a1 * a0 * Math.expm1(x) : x;
    case N_CELU: return x > 0 ? x : x <= 0 ? a0 * Math.expm1(x / a0) : x;
    case N_HARDSIGMOID: return x != x ? x : Math.max(0.0, Math.min(1.0, a0 * x + a1));
    case N_HARDSWISH: return x * Math.max(0.0, Math.min(1.0, x / 6 + 0.5));
    case N_THRESHRELU: return x > a0 ? x : x != x ? x : 0.0;
    case N_MISH: return x * Math.tanh(softplusD(x));
    case N_GELU: return 0.5 * x * (1 + erfD(x / Math.SQRT2));
    case N_GELU_TANH: return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    default: return x;
  }
}

/** Integer unary op on i64 (`uns`: u64 patterns). */
function unaryI(op: i32, x: i64, uns: bool): i64 {
  switch (op) {
    case N_NEG: return 0 - x;
    case N_ABS: return !uns && x < 0 ? 0 - x : x;
    case N_SIGN: return uns ? (x != 0 ? 1 : 0) : x > 0 ? 1 : x < 0 ? -1 : 0;
    case N_RELU: return !uns && x < 0 ? 0 : x;
    case N_NOT: return x != 0 ? 0 : 1;
    case N_BITNOT: return ~x;
    default: return x;
  }
}

/** True when the unary op computes in f64 for this input dtype (false: integer / bool path). */
@inline function unaryOnFloats(op: i32, tx: i32): bool {
  return isFloatT(tx) || op >= N_ISNAN && op != N_CLIP;
}

/**
 * unary_any params: 0 op (N_*), 1 x, 2 y, 3 x dtype, 4 y dtype, 5 n, 6 lo address (Clip min in
 * x's dtype, 0: none), 7 hi address (Clip max, 0: none), 8 address of the op's attributes a0, a1
 * (two f64; 0: none). x and y are contiguous; y may equal x when both have one element size.
 */
export function unary_any(p: usize): void {
  const op = pi(p, 0), x = pa(p, 1), y = pa(p, 2), tx = pi(p, 3), ty = pi(p, 4), n = pi(p, 5);
  const lo = pa(p, 6), hi = pa(p, 7), attrs = pa(p, 8);
  const a0 = attrs != 0 ? load<f64>(attrs) : 0.0, a1 = attrs != 0 ? load<f64>(attrs, 8) : 0.0;
  const ex = sizeT(tx), ey = sizeT(ty);
  const uns = tx == T_U64;
  if (op == N_CLIP) {
    if (isFloatT(tx)) {
      const l = lo != 0 ? ldf(lo, tx) : -Infinity, h = hi != 0 ? ldf(hi, tx) : Infinity;
      for (let i = 0; i < n; i++) {
        const v = ldf(x + <usize>i * ex, tx);
        // NaN stays NaN; min > max gives max (min(max(x, lo), hi), JS Math.max/min semantics)
        stf(y + <usize>i * ey, ty, v != v ? v : Math.min(Math.max(v, l), h));
      }
    } else {
      const hasL = lo != 0, hasH = hi != 0;
      const l = hasL ? ldi(lo, tx) : 0, h = hasH ? ldi(hi, tx) : 0;
      for (let i = 0; i < n; i++) {
        let v = ldi(x + <usize>i * ex, tx);
        if (hasL && (uns ? <u64>v < <u64>l : v < l)) v = l;
        if (hasH && (uns ? <u64>v > <u64>h : v > h)) v = h;
        sti(y + <usize>i * ey, ty, v, uns);
      }
    }
    return;
  }
  if (unaryOnFloats(op, tx)) {
    for (let i = 0; i < n; i++) stf(y + <usize>i * ey, ty, unaryF(op, ldf(x + <usize>i * ex, tx), a0, a1));
  } else {
    for (let i = 0; i < n; i++) sti(y + <usize>i * ey, ty, unaryI(op, ldi(x + <usize>i * ex, tx), uns), uns);
  }
}

// ---------------------------------------------------------------------------------------------
// Binary ops
// ---------------------------------------------------------------------------------------------

export const A_ADD: i32 = 0;
export const A_SUB: i32 = 1;
export const A_MUL: i32 = 2;
export const A_DIV: i32 = 3;
export const A_MAX: i32 = 4;
export const A_MIN: i32 = 5;
export const A_POW: i32 = 6;
export const A_PRELU: i32 = 7;
export const A_MOD: i32 = 8;
export const A_FMOD: i32 = 9;
export const A_EQ: i32 = 10;
export const A_LT: i32 = 11;
export const A_LE: i32 = 12;
export const A_GT: i32 = 13;
export const A_GE: i32 = 14;
export const A_AND: i32 = 15;
export const A_OR: i32 = 16;
export const A_XOR: i32 = 17;
export const A_SHL: i32 = 18;
export const A_SHR: i32 = 19;
export const A_BITAND: i32 = 20;
export const A_BITOR: i32 = 21;
export const A_BITXOR: i32 = 22;

/** C pow (1^y = 1, x^0 = 1, (-1)^(+-inf) = 1), as the reference's cpow. */
@inline function cpow(x: f64, y: f64): f64 {
  if (x == 1 || y == 0) return 1;
  if (x == -1 && (y == Infinity || y == -Infinity)) return 1;
  return Math.pow(x, y);
}

/** Float binary op in f64 (comparisons and logic give 1/0). */
function binaryF(op: i32, a: f64, b: f64): f64 {
  switch (op) {
    case A_ADD: return a + b;
    case A_SUB: return a - b;
    case A_MUL: return a * b;
    case A_DIV: return a / b;
    // NaN propagates (numpy maximum/minimum); equal values give a
    case A_MAX: return a != a ? a : b != b ? b : a >= b ? a : b;
    case A_MIN: return a != a ? a : b != b ? b : a <= b ? a : b;
    case A_POW: return cpow(a, b);
    case A_PRELU: return a < 0 ? b * a : a;
    case A_FMOD: return a % b;
    case A_MOD: { const r = a % b; return r != r ? 0.0 : r; } // the reference maps NaN to 0
    case A_EQ: return a == b ? 1.0 : 0.0;
    case A_LT: return a < b ? 1.0 : 0.0;
    case A_LE: return a <= b ? 1.0 : 0.0;
    case A_GT: return a > b ? 1.0 : 0.0;
    case A_GE: return a >= b ? 1.0 : 0.0;
    default: return a;
  }
}

/**
 * Integer power wrapping to 64 bits (square and multiply); negative exponents give 1, +-1 or 0
 * like C's pow then truncation (compiler/ops/elementwise.ts bigPow). `ua`/`ub`: u64 patterns.
 */
function powI(x: i64, y: i64, ua: bool, ub: bool): i64 {
  if (!ub && y < 0) {
    if (x == 1) return 1;
    if (!ua && x == -1) return (y & 1) == 0 ? 1 : -1;
    return 0;
  }
  let r: i64 = 1;
  let base = x;
  let e = <u64>y;
  while (e != 0) {
    if ((e & 1) != 0) r *= base;
    base *= base;
    e >>= 1;
  }
  return r;
}

/**
 * Integer binary op on i64: wrapping arithmetic (the store keeps the output's low bits), division
 * and modulo by zero give 0, `uns`: u64 patterns (unsigned division, modulo, compares), `bits`:
 * output width for shifts.
 */
function binaryI(op: i32, a: i64, b: i64, uns: bool, ubExp: bool, bits: i64): i64 {
  switch (op) {
    case A_ADD: return a + b;
    case A_SUB: return a - b;
    case A_MUL: return a * b;
    case A_DIV:
      if (b == 0) return 0;
      if (uns) return <i64>(<u64>a / <u64>b);
      return b == -1 ? 0 - a : a / b;
    case A_FMOD:
      if (b == 0) return 0;
      return uns ? <i64>(<u64>a % <u64>b) : b == -1 ? 0 : a % b;
    case A_MOD: {
      if (b == 0) return 0;
      if (uns) return <i64>(<u64>a % <u64>b);
      if (b == -1) return 0;
      const r = a % b;
      return r != 0 && (r < 0) != (b < 0) ? r + b : r;
    }
    case A_MAX: return (uns ? <u64>a >= <u64>b : a >= b) ? a : b;
    case A_MIN: return (uns ? <u64>a <= <u64>b : a <= b) ? a : b;
    case A_POW: return powI(a, b, uns, ubExp);
    case A_EQ: return a == b ? 1 : 0;
    case A_LT: return (uns ? <u64>a < <u64>b : a < b) ? 1 : 0;
    case A_LE: return (uns ? <u64>a <= <u64>b : a <= b) ? 1 : 0;
    case A_GT: return (uns ? <u64>a > <u64>b : a > b) ? 1 : 0;
    case A_GE: return (uns ? <u64>a >= <u64>b : a >= b) ? 1 : 0;
    case A_AND: return a != 0 && b != 0 ? 1 : 0;
    case A_OR: return a != 0 || b != 0 ? 1 : 0;
    case A_XOR: return (a != 0) != (b != 0) ? 1 : 0;
    case A_SHL: return <u64>b >= <u64>bits ? 0 : a << b;
    case A_SHR: return <u64>b >= <u64>bits ? 0 : <i64>(<u64>a >> <u64>b);
    case A_BITAND: return a & b;
    case A_BITOR: return a | b;
    case A_BITXOR: return a ^ b;
    default: return a;
  }
}

/**
 * binary_any params: 0 op (A_*), 1 a, 2 b, 3 y, 4 a dtype, 5 b dtype, 6 y dtype, 7..12 dims (6),
 * 13..18 a strides, 19..24 b strides (elements; 0 broadcasts). y is contiguous. Float operands
 * (either side) and PRelu compute in f64; integer and bool operands on i64.
 */
export function binary_any(p: usize): void {
  const op = pi(p, 0), a = pa(p, 1), b = pa(p, 2), ta = pi(p, 4), tb = pi(p, 5), ty = pi(p, 6);
  let y = pa(p, 3);
  const d0 = pi(p, 7), d1 = pi(p, 8), d2 = pi(p, 9), d3 = pi(p, 10), d4 = pi(p, 11), d5 = pi(p, 12);
  const s0 = pi(p, 13), s1 = pi(p, 14), s2 = pi(p, 15), s3 = pi(p, 16), s4 = pi(p, 17), s5 = pi(p, 18);
  const t0 = pi(p, 19), t1 = pi(p, 20), t2 = pi(p, 21), t3 = pi(p, 22), t4 = pi(p, 23), t5 = pi(p, 24);
  const ea = sizeT(ta), eb = sizeT(tb), ey = sizeT(ty);
  const onFloats = (isFloatT(ta) || isFloatT(tb) || op == A_PRELU) && op < A_AND;
  const uns = ta == T_U64, ubExp = tb == T_U64;
  const bits = <i64>(sizeT(ty) << 3);
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const ao = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4;
      const bo = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
      if (onFloats) {
        for (let i = 0; i < d5; i++) {
          const va = ldf(a + <usize>(ao + i * s5) * ea, ta), vb = ldf(b + <usize>(bo + i * t5) * eb, tb);
          stf(y, ty, binaryF(op, va, vb));
          y += ey;
        }
      } else {
        for (let i = 0; i < d5; i++) {
          const va = ldi(a + <usize>(ao + i * s5) * ea, ta), vb = ldi(b + <usize>(bo + i * t5) * eb, tb);
          sti(y, ty, binaryI(op, va, vb, uns, ubExp, bits), uns);
          y += ey;
        }
      }
    }
}

/**
 * where_any params: 0 cond (bool), 1 x, 2 y, 3 out, 4 element bytes (1, 2, 4, 8), 5..10 dims (6),
 * 11..16 cond strides, 17..22 x strides, 23..28 y strides (elements). out is contiguous; the
 * selected element's bytes are copied (any dtype).
 */
export function where_any(p: usize): void {
  const c = pa(p, 0), x = pa(p, 1), yv = pa(p, 2), es = <usize>pi(p, 4);
  let o = pa(p, 3);
  const d0 = pi(p, 5), d1 = pi(p, 6), d2 = pi(p, 7), d3 = pi(p, 8), d4 = pi(p, 9), d5 = pi(p, 10);
  const c0 = pi(p, 11), c1 = pi(p, 12), c2 = pi(p, 13), c3 = pi(p, 14), c4 = pi(p, 15), c5 = pi(p, 16);
  const s0 = pi(p, 17), s1 = pi(p, 18), s2 = pi(p, 19), s3 = pi(p, 20), s4 = pi(p, 21), s5 = pi(p, 22);
  const t0 = pi(p, 23), t1 = pi(p, 24), t2 = pi(p, 25), t3 = pi(p, 26), t4 = pi(p, 27), t5 = pi(p, 28);
  for (let i0 = 0; i0 < d0; i0++) for (let i1 = 0; i1 < d1; i1++) for (let i2 = 0; i2 < d2; i2++)
    for (let i3 = 0; i3 < d3; i3++) for (let i4 = 0; i4 < d4; i4++) {
      const co = i0 * c0 + i1 * c1 + i2 * c2 + i3 * c3 + i4 * c4;
      const xo = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4;
      const yo = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
      for (let i = 0; i < d5; i++) {
        const src = load<u8>(c + <usize>(co + i * c5)) != 0 ? x + <usize>(xo + i * s5) * es : yv + <usize>(yo + i * t5) * es;
        if (es == 4) store<u32>(o, load<u32>(src));
        else if (es == 8) store<u64>(o, load<u64>(src));
        else if (es == 2) store<u16>(o, load<u16>(src));
        else store<u8>(o, load<u8>(src));
        o += es;
      }
    }
}
