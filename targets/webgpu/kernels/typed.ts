/**
 * Kernels on the dtypes WGSL has (f32, i32, u32, bool) over every storage kind of wgsl/qshader.ts
 * (8-bit and bool values packed 4 per word, 16-bit values 2 per word, 32-bit values one per word;
 * i64 values held as i32, see ops/qint.ts):
 *
 *   typed_map    y = f(x0, x1, x2) elementwise with numpy broadcasting: integer arithmetic,
 *                comparisons, logical and bitwise ops, BitShift, Where, IsNaN / IsInf, Cast.
 *                Each operand is loaded as its scalar type (`st`), the result is computed in the
 *                output's scalar type and stored with the low bits kept, so 8- and 16-bit integer
 *                results wrap modulo 2^bits as the reference's typed-array stores do.
 *   arg_reduce   ArgMax / ArgMin along one axis (first or last index of the extremum).
 */
import { WgslFn, decompose, int, linear } from '../wgsl/shader.js';
import { QElem, QShaderBuilder, StoreElem } from '../wgsl/qshader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';
import { POW } from './binary.js';

/** WGSL scalar type a value is computed in ('bool': a 0 / 1 value). */
export type Scalar = 'f32' | 'i32' | 'u32' | 'bool';

export interface TypedOperand {
  /** Loader element kind ('f32' for f32 values; 'i32' for words and wide 8-bit values). */
  el: QElem;
  /** Scalar type the operand is read as. */
  st: Scalar;
  /** Element strides over the output dims (0 on broadcast dims). */
  strides: number[];
}

export interface TypedMapParams extends BaseParams {
  /** Operation (see TYPED_OPS). */
  op: string;
  /** Output shape. */
  shape: number[];
  ins: TypedOperand[];
  /** Output storage and scalar type. */
  y: StoreElem;
  yt: Scalar;
  /** Op parameter: Mod fmod (1: C fmod), BitShift bit width, IsInf detect flags (1: negative, 2: positive). */
  k?: number;
}

/** Expression reading operand `i` (an i32 element index) as scalar type `st`. */
function load(ld: string, el: QElem, st: Scalar): string {
  if (el === 'f32') {
    if (st === 'f32') return ld;
    throw new Error(`typed_map: f32 operand read as ${st}`);
  }
  switch (st) {
    case 'i32': return ld;
    case 'u32': return `bitcast<u32>(${ld})`;
    case 'bool': return `(${ld} != 0)`;
    case 'f32': return `f32(${ld})`;
  }
}

/** f32 -> integer bits as a C cast (truncation, wrap modulo 2^32; NaN and infinities give 0). */
const F32_TO_BITS: WgslFn = {
  name: 'f32_to_bits',
  code: [
    'fn f32_to_bits(v: f32) -> u32 {',
    '  let b = bitcast<u32>(v);',
    '  if ((b & 0x7f800000u) == 0x7f800000u) { return 0u; }',
    '  let t = trunc(v);',
    '  if (abs(t) < 2147483648.0) { return bitcast<u32>(i32(t)); }',
    '  // |t| >= 2^31 is a multiple of 2^8: t mod 2^32 is exact in f32',
    '  let m = t - 4294967296.0 * floor(t / 4294967296.0);',
    '  return u32(m);',
    '}',
  ].join('\n'),
};

/** u32 -> f32 rounded to nearest even (WGSL leaves the rounding of f32(u32) to the implementation). */
const U32_TO_F32: WgslFn = {
  name: 'u32_to_f32',
  code: [
    'fn u32_to_f32(v: u32) -> f32 {',
    '  if (v < 16777216u) { return f32(v); }',
    '  let sh = 8u - countLeadingZeros(v);',
    '  let q = v >> sh;',
    '  let r = v & ((1u << sh) - 1u);',
    '  let half = 1u << (sh - 1u);',
    '  let up = r > half || (r == half && (q & 1u) == 1u);',
    '  return f32(q + select(0u, 1u, up)) * f32(1u << sh);',
    '}',
  ].join('\n'),
};

/** i32 -> f32 rounded to nearest even. */
const I32_TO_F32: WgslFn = {
  name: 'i32_to_f32',
  code: 'fn i32_to_f32(v: i32) -> f32 {\n  let m = u32_to_f32(bitcast<u32>(abs(v)));\n  return select(m, -m, v < 0);\n}',
};

/** Python modulo on i32 (result has the divisor's sign; 0 for a zero divisor). */
const PYMOD_I32: WgslFn = {
  name: 'pymod_i32',
  code: [
    'fn pymod_i32(a: i32, b: i32) -> i32 {',
    '  if (b == 0) { return 0; }',
    '  let r = a % b;',
    '  return select(r, r + b, r != 0 && ((r < 0) != (b < 0)));',
    '}',
  ].join('\n'),
};

/**
 * Integer power wrapped to 32 bits (square and multiply: the low 32 bits of the exact power);
 * negative exponents give 1 for base 1, +-1 for base -1 (signed bases), else 0 (C's pow truncated).
 */
const IPOW: WgslFn = {
  name: 'ipow',
  code: [
    'fn ipow(a: u32, e: i32, signed_base: bool) -> u32 {',
    '  if (e < 0) {',
    '    if (a == 1u) { return 1u; }',
    '    if (signed_base && a == 0xffffffffu) { return select(1u, 0xffffffffu, (e & 1) == 1); }',
    '    return 0u;',
    '  }',
    '  var r = 1u;',
    '  var b = a;',
    '  var k = u32(e);',
    '  while (k > 0u) {',
    '    if ((k & 1u) == 1u) { r = r * b; }',
    '    b = b * b;',
    '    k = k >> 1u;',
    '  }',
    '  return r;',
    '}',
  ].join('\n'),
};

/**
 * Pow of an integer base: integer exponents (or f32 exponents with an integer value in [0, 2^31))
 * exactly by ipow; other f32 exponents through f32 pow truncated as a C cast.
 */
function powExpr(s: QShaderBuilder, p: TypedMapParams): string {
  const at = p.ins[0]!.st;
  const bt = p.ins[1]!.st;
  s.fnAll([F32_BITS_FN, POW]);
  if (at === 'f32') return bt === 'f32' ? 'pow_f32(a, b)' : 'pow_f32(a, f32(b))';
  s.fn(IPOW);
  const ua = at === 'u32' ? 'a' : 'bitcast<u32>(a)';
  const signed = at === 'u32' ? 'false' : 'true';
  const res = (r: string) => (p.yt === 'u32' ? r : `bitcast<${p.yt}>(${r})`);
  if (bt !== 'f32') return res(`ipow(${ua}, ${bt === 'u32' ? 'i32(min(b, 0x7fffffffu))' : 'b'}, ${signed})`);
  s.fn(F32_TO_BITS);
  const fa = at === 'u32' ? 'f32(a)' : 'f32(a)';
  return res(`select(f32_to_bits(pow_f32(${fa}, b)), ipow(${ua}, i32(b), ${signed}), b == trunc(b) && b >= 0.0 && b < 2147483648.0)`);
}

const F32_BITS_FN: WgslFn = { name: 'f32_bits', code: 'fn f32_bits(b: u32) -> f32 {\n  return bitcast<f32>(b);\n}' };

/** WGSL expression of op `p.op` on the loaded operands a, b, c (scalar types from p.ins). */
function expr(s: QShaderBuilder, p: TypedMapParams): string {
  const t = p.ins[0]?.st;
  const int = t === 'i32' || t === 'u32';
  const zero = t === 'u32' ? '0u' : '0';
  switch (p.op) {
    case 'Identity': return 'a';
    case 'Add': return 'a + b';
    case 'Sub': return 'a - b';
    case 'Mul': return 'a * b';
    // integer division by zero gives 0 (the reference's choice; undefined in ONNX)
    case 'Div': return int ? `select(a / b, ${zero}, b == ${zero})` : 'a / b';
    case 'Mod':
      if (t === 'i32' && p.k !== 1) return `${s.fn(PYMOD_I32)}(a, b)`;
      return `select(a % b, ${zero}, b == ${zero})`;
    case 'Max': return 'max(a, b)';
    case 'Min': return 'min(a, b)';
    case 'Neg': return '-a';
    case 'Abs': return 'abs(a)';
    case 'Sign': return t === 'u32' ? 'select(0u, 1u, a > 0u)' : 'select(select(0, -1, a < 0), 1, a > 0)';
    case 'Equal': return 'a == b';
    case 'Less': return 'a < b';
    case 'LessOrEqual': return 'a <= b';
    case 'Greater': return 'a > b';
    case 'GreaterOrEqual': return 'a >= b';
    case 'And': return 'a && b';
    case 'Or': return 'a || b';
    case 'Xor': return 'a != b';
    case 'Not': return '!a';
    case 'BitwiseAnd': return 'a & b';
    case 'BitwiseOr': return 'a | b';
    case 'BitwiseXor': return 'a ^ b';
    case 'BitwiseNot': return '~a';
    // shifts by >= the bit width give 0 (WGSL would take the amount modulo 32)
    case 'BitShiftLeft': return `select(a << b, 0u, b >= ${p.k ?? 32}u)`;
    case 'BitShiftRight': return `select(a >> b, 0u, b >= ${p.k ?? 32}u)`;
    case 'Where': return 'select(c, b, a)';
    // NaN / infinity tests on the bits (WGSL may assume finite floats in comparisons)
    case 'IsNaN': return '(bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u';
    case 'IsInf': {
      const neg = ((p.k ?? 3) & 1) !== 0;
      const pos = ((p.k ?? 3) & 2) !== 0;
      const inf = '(bitcast<u32>(a) & 0x7fffffffu) == 0x7f800000u';
      return `${inf} && ((${pos} && a > 0.0) || (${neg} && a < 0.0))`;
    }
    case 'Cast': return castExpr(s, p.ins[0]!.st, p.yt);
    case 'Pow': return powExpr(s, p);
    default: throw new Error(`typed_map: unknown op ${p.op}`);
  }
}

/** Conversion of `a` from scalar type `from` to `to` as the reference's Cast (C-cast semantics). */
function castExpr(s: QShaderBuilder, from: Scalar, to: Scalar): string {
  if (from === to) return 'a';
  // f32 -> bool on the bits: NaN is true (WGSL comparisons may assume finite floats)
  if (to === 'bool') return from === 'f32' ? '(bitcast<u32>(a) & 0x7fffffffu) != 0u' : from === 'u32' ? 'a != 0u' : 'a != 0';
  if (from === 'bool') return to === 'f32' ? 'select(0.0, 1.0, a)' : to === 'u32' ? 'select(0u, 1u, a)' : 'select(0, 1, a)';
  if (from === 'f32') {
    s.fn(F32_TO_BITS);
    return to === 'u32' ? 'f32_to_bits(a)' : 'bitcast<i32>(f32_to_bits(a))';
  }
  if (to === 'f32') {
    s.fn(U32_TO_F32);
    if (from === 'u32') return 'u32_to_f32(a)';
    s.fn(I32_TO_F32);
    return 'i32_to_f32(a)';
  }
  return `bitcast<${to}>(a)`;
}

/** Statement: the raw u32 bits of result `r` of scalar type `t`. */
function bits(r: string, t: Scalar): string {
  switch (t) {
    case 'f32': return `bitcast<u32>(${r})`;
    case 'i32': return `bitcast<u32>(${r})`;
    case 'u32': return r;
    case 'bool': return `select(0u, 1u, ${r})`;
  }
}

export const typedMap: KernelGen<TypedMapParams> = {
  id: 'typed_map',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const names = ['a', 'b', 'c'];
    const ops = p.ins.map((o, k) => s.input(`x${k}`, o.el, bufOf(p, `x${k}`)));
    const y = s.output(p.y);
    const d = decompose('e', p.shape, 'i');
    const body = [...d.code, ...p.ins.map((o, k) => `let ${names[k]} = ${load(ops[k]!.ld(linear(d.idx, o.strides)), o.el, o.st)};`)];
    const r = expr(s, p);
    body.push(`return ${bits(`(${r})`, p.yt)};`);
    s.fn({ name: 'elem', code: ['fn elem(e: i32) -> u32 {', ...body.map((l) => `  ${l}`), '}'].join('\n') });
    return s.elementwise(p.shape.reduce((u, v) => u * v, 1), y);
  },
};

export interface ArgReduceParams extends BaseParams {
  outer: number;
  L: number;
  inner: number;
  /** Loader of x ('f32' or an integer kind). */
  xel: QElem;
  /** Integer input read as u32 (ordering of u32 values). */
  unsigned: boolean;
  max: boolean;
  /** select_last_index: the last index of the extremum (else the first). */
  last: boolean;
}

export const argReduce: KernelGen<ArgReduceParams> = {
  id: 'arg_reduce',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const y = s.output('i32');
    const rd = (k: string) => {
      const v = x.ld(`(o * ${int(p.L)} + ${k}) * ${int(p.inner)} + i`);
      return p.unsigned ? `bitcast<u32>(${v})` : v;
    };
    const cmp = p.max ? (p.last ? '>=' : '>') : (p.last ? '<=' : '<');
    // f32: the first NaN wins (numpy, the reference); NaN is tested on the bits
    const nan = (v: string) => `(bitcast<u32>(${v}) & 0x7fffffffu) > 0x7f800000u`;
    const f = p.xel === 'f32';
    s.fn({
      name: 'elem',
      code: [
        'fn elem(e: i32) -> u32 {',
        `  let i = e % ${int(p.inner)};`,
        `  let o = e / ${int(p.inner)};`,
        `  var best = ${rd('0')};`,
        '  var at = 0;',
        ...(f ? [`  if (${nan('best')}) { return 0u; }`] : []),
        `  for (var k = 1; k < ${int(p.L)}; k++) {`,
        `    let v = ${rd('k')};`,
        ...(f ? [`    if (${nan('v')}) { return bitcast<u32>(k); }`] : []),
        `    if (v ${cmp} best) { best = v; at = k; }`,
        '  }',
        '  return bitcast<u32>(at);',
        '}',
      ].join('\n'),
    });
    return s.elementwise(p.outer * p.inner, y);
  },
};

/** Every kernel of this file. */
export const TYPED_KERNELS = [typedMap, argReduce] as const;
