/**
 * Shared helpers of the kernel library.
 *
 * Kernel ABI (see ../README.md): every exported kernel takes one argument, the byte address of a
 * parameter block of 32-bit words in linear memory (i32 or f32 per word, documented at each
 * kernel). Tensor arguments are byte addresses into the same memory. Kernels never allocate.
 */

/** Reads i32 word `i` of a parameter block. */
@inline export function pi(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/** Reads f32 word `i` of a parameter block. */
@inline export function pf(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/** Reads an address word of a parameter block. */
@inline export function pa(p: usize, i: i32): usize {
  return <usize>load<u32>(p + (<usize>i << 2));
}

/** Activation / unary op codes shared by fused epilogues and the unary kernel (kernels.ts mirrors them). */
export const ACT_NONE: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_CLIP: i32 = 2;
export const ACT_SIGMOID: i32 = 3;
export const ACT_HARDSIGMOID: i32 = 4;
export const ACT_HARDSWISH: i32 = 5;
export const ACT_LEAKYRELU: i32 = 6;
export const ACT_TANH: i32 = 7;

@inline export function sigmoidf(x: f32): f32 {
  if (x >= 0) return <f32>1 / (<f32>1 + Mathf.exp(-x));
  const e = Mathf.exp(x);
  return e / (<f32>1 + e);
}

export function tanhf(x: f32): f32 {
  // tanh via exp of a non-positive argument (no overflow).
  const ax = Mathf.abs(x);
  if (ax > <f32>9) return x > 0 ? <f32>1 : <f32>-1;
  if (ax < <f32>0.0004) return x;
  const e = Mathf.exp(<f32>-2 * ax);
  const t = (<f32>1 - e) / (<f32>1 + e);
  return x < 0 ? -t : t;
}

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit), f64 internally. */
export function erf64(x: f64): f64 {
  const z = Math.abs(x);
  const t = 1.0 / (1.0 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1.0 - r : r - 1.0;
}

/**
 * Applies activation `kind` (ACT_*) in place over n floats at y (used after GEMM/conv for
 * activations that are not a clamp).
 */
export function applyActInPlace(y: usize, n: i32, kind: i32, a0: f32, a1: f32): void {
  if (kind == ACT_NONE || kind == ACT_RELU || kind == ACT_CLIP) return;
  unaryRange(kind, y, y, n, a0, a1);
}

/** f32x4.pmax of one lane: b when a < b, else a (NaN in a stays). */
@inline export function pmaxf(a: f32, b: f32): f32 {
  return a < b ? b : a;
}

/** f32x4.pmin of one lane: b when b < a, else a (NaN in a stays). */
@inline export function pminf(a: f32, b: f32): f32 {
  return b < a ? b : a;
}

/** Unary op codes beyond the activations. */
export const U_COPY: i32 = 0;
export const U_EXP: i32 = 8;
export const U_LOG: i32 = 9;
export const U_SQRT: i32 = 10;
export const U_NEG: i32 = 11;
export const U_ABS: i32 = 12;
export const U_ERF: i32 = 13;
export const U_GELU: i32 = 14;
export const U_SOFTPLUS: i32 = 15;
export const U_ELU: i32 = 16;
export const U_SELU: i32 = 17;
export const U_RECIP: i32 = 18;
export const U_FLOOR: i32 = 19;
export const U_CEIL: i32 = 20;
export const U_ROUND: i32 = 21;
export const U_SIN: i32 = 22;
export const U_COS: i32 = 23;
export const U_SOFTSIGN: i32 = 24;
export const U_GELU_TANH: i32 = 25;
export const U_SIGN: i32 = 26;
export const U_MISH: i32 = 27;
export const U_THRESHRELU: i32 = 28;
export const U_RSQRT: i32 = 29;
export const U_SQUARE: i32 = 30;

@inline function softplusf(x: f32): f32 {
  // log(1 + e^x) without overflow
  if (x > <f32>20) return x;
  return <f32>Math.log1p(Math.exp(<f64>x));
}

/** Scalar unary op. */
export function unaryScalar(op: i32, x: f32, a0: f32, a1: f32): f32 {
  switch (op) {
    case U_COPY: return x;
    case ACT_RELU: return x != x ? x : (x > 0 ? x : <f32>0);
    case ACT_CLIP: return x != x ? x : Mathf.min(Mathf.max(x, a0), a1);
    case ACT_SIGMOID: return sigmoidf(x);
    case ACT_HARDSIGMOID: return Mathf.max(<f32>0, Mathf.min(<f32>1, a0 * x + a1));
    case ACT_HARDSWISH: return x * Mathf.max(<f32>0, Mathf.min(<f32>1, x / <f32>6 + <f32>0.5));
    case ACT_LEAKYRELU: return x >= 0 ? x : a0 * x;
    case ACT_TANH: return tanhf(x);
    case U_EXP: return Mathf.exp(x);
    case U_LOG: return Mathf.log(x);
    case U_SQRT: return Mathf.sqrt(x);
    case U_NEG: return -x;
    case U_ABS: return Mathf.abs(x);
    case U_ERF: return <f32>erf64(<f64>x);
    case U_GELU: return <f32>(0.5 * <f64>x * (1.0 + erf64(<f64>x * 0.7071067811865476)));
    case U_SOFTPLUS: return softplusf(x);
    case U_ELU: return x >= 0 ? x : a0 * (Mathf.exp(x) - <f32>1);
    case U_SELU: return x > 0 ? a1 * x : a1 * (a0 * Mathf.exp(x) - a0);
    case U_RECIP: return <f32>1 / x;
    case U_FLOOR: return Mathf.floor(x);
    case U_CEIL: return Mathf.ceil(x);
    case U_ROUND: return nearest<f32>(x);
    case U_SIN: return <f32>Math.sin(<f64>x);
    case U_COS: return <f32>Math.cos(<f64>x);
    case U_SOFTSIGN: return x / (<f32>1 + Mathf.abs(x));
    case U_GELU_TANH: {
      const xd = <f64>x;
      const inner = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);
      return <f32>(0.5 * xd * (1.0 + <f64>tanhf(<f32>inner)));
    }
    case U_SIGN: return x > 0 ? <f32>1 : x < 0 ? <f32>-1 : x;
    case U_MISH: return x * tanhf(softplusf(x));
    case U_THRESHRELU: return x > a0 ? x : <f32>0;
    case U_RSQRT: return <f32>1 / Mathf.sqrt(x);
    case U_SQUARE: return x * x;
    default: return x;
  }
}

/** y[i] = op(x[i]) for i < n; vectorized for the cheap ops. x may equal y. */
export function unaryRange(op: i32, x: usize, y: usize, n: i32, a0: f32, a1: f32): void {
  let i = 0;
  const n4 = n & ~3;
  if (ASC_FEATURE_SIMD) {
    if (op == ACT_RELU) {
      const z = f32x4.splat(0);
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        const v = v128.load(x + off);
        // pmax(v, 0) = v < 0 ? 0 : v keeps NaN and is one x86 instruction
        v128.store(y + off, f32x4.pmax(v, z));
      }
    } else if (op == ACT_CLIP) {
      const lo = f32x4.splat(a0), hi = f32x4.splat(a1);
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        v128.store(y + off, f32x4.pmin(f32x4.pmax(v128.load(x + off), lo), hi));
      }
    } else if (op == ACT_HARDSWISH) {
      const z = f32x4.splat(0), one = f32x4.splat(1), s = f32x4.splat(<f32>1 / <f32>6), h = f32x4.splat(0.5);
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        const v = v128.load(x + off);
        const g = f32x4.min(f32x4.max(f32x4.add(f32x4.mul(v, s), h), z), one);
        v128.store(y + off, f32x4.mul(v, g));
      }
    } else if (op == ACT_HARDSIGMOID) {
      const z = f32x4.splat(0), one = f32x4.splat(1), va = f32x4.splat(a0), vb = f32x4.splat(a1);
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        const v = v128.load(x + off);
        v128.store(y + off, f32x4.min(f32x4.max(f32x4.add(f32x4.mul(v, va), vb), z), one));
      }
    } else if (op == ACT_LEAKYRELU) {
      const z = f32x4.splat(0), va = f32x4.splat(a0);
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        const v = v128.load(x + off);
        v128.store(y + off, v128.bitselect(v, f32x4.mul(v, va), f32x4.ge(v, z)));
      }
    } else if (op == U_NEG) {
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        v128.store(y + off, f32x4.neg(v128.load(x + off)));
      }
    } else if (op == U_ABS) {
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        v128.store(y + off, f32x4.abs(v128.load(x + off)));
      }
    } else if (op == U_SQRT) {
      for (; i < n4; i += 4) {
        const off = <usize>i << 2;
        v128.store(y + off, f32x4.sqrt(v128.load(x + off)));
      }
    } else if (op == U_COPY) {
      if (x != y) memory.copy(y, x, <usize>n << 2);
      return;
    }
  } else {
    if (op == U_COPY) {
      if (x != y) memory.copy(y, x, <usize>n << 2);
      return;
    }
    // the SIMD loop lane by lane (same operations, same results); the tail below as with SIMD
    for (; i < n4; i++) {
      const off = <usize>i << 2;
      const v = load<f32>(x + off);
      let r: f32 = v;
      if (op == ACT_RELU) r = pmaxf(v, 0);
      else if (op == ACT_CLIP) r = pminf(pmaxf(v, a0), a1);
      else if (op == ACT_HARDSWISH) r = v * Mathf.min(Mathf.max(v * (<f32>1 / <f32>6) + <f32>0.5, 0), 1);
      else if (op == ACT_HARDSIGMOID) r = Mathf.min(Mathf.max(v * a0 + a1, 0), 1);
      else if (op == ACT_LEAKYRELU) r = v >= 0 ? v : v * a0;
      else if (op == U_NEG) r = -v;
      else if (op == U_ABS) r = Mathf.abs(v);
      else if (op == U_SQRT) r = Mathf.sqrt(v);
      else break;
      store<f32>(y + off, r);
    }
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, unaryScalar(op, load<f32>(x + off), a0, a1));
  }
}
