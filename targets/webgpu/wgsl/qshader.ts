/**
 * WGSL building blocks of the integer (int8) kernels: a shader builder whose storage bindings are
 * `array<u32>` views of the same arena / weights buffers the f32 kernels see as `array<f32>` (the
 * bind group layout does not fix the element type), typed operand loaders for packed 8-bit
 * tensors, and exact 64-bit integer helpers for the requantization spec of compiler/ops/qint.ts.
 *
 * Storage: int8/uint8 tensors are packed 4 per u32, element order = byte order (little-endian),
 * every tensor starting on a word (the memory plan aligns to 16 bytes). A kernel writing an 8-bit
 * tensor runs one thread per output word (4 elements), so no two threads write one word; a
 * convolution / GEMM whose output rows do not fill whole words stores that 8-bit tensor "wide"
 * instead (one word per element, read back with int32 loaders). int32 and f32 tensors take one
 * word per element. Centered weights (w - zw) are stored as int8 (4 per
 * word) when they all fit, else as int16 pairs.
 *
 * WGSL has no 64-bit integers: 64-bit values are vec2<u32>(low, high) in two's complement, and
 * 32x32 -> 64 products are built from 16-bit limbs. i32 + and * wrap modulo 2^32 in WGSL, which
 * is exactly the spec's int32 accumulator.
 */
import { Groups, KernelProgram, MAX_GROUPS, WG, WgslFn, int } from './shader.js';

/** Where an operand lives. */
export type QBuf = 'arena' | 'weights';

/** Element kind of an operand: 8-bit packed, 16-bit pairs, one word per element. */
export type QElem = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'f32';

/** Storage kind of an arena value: 8-bit values packed 4 per word, 16-bit values 2 per word, else one word. */
export type StoreElem = 'i8' | 'u8' | 'i16' | 'u16' | 'i32';

/**
 * Storage kind of a runtime value dtype: bool as u8 (0 / 1), u32, f32 and i64 (held as i32 on
 * webgpu, see ops/qint.ts) as words.
 * @param dtype value dtype
 */
export function storeElem(dtype: string): StoreElem {
  switch (dtype) {
    case 'i8': case 'u8': case 'i16': case 'u16': return dtype;
    case 'bool': return 'u8';
    default: return 'i32';
  }
}

/** Bytes per element of a runtime value dtype in the arena (8- and 16-bit values are packed). */
export function elemBytes(dtype: string): number {
  const e = storeElem(dtype);
  return e === 'i8' || e === 'u8' ? 1 : e === 'i16' || e === 'u16' ? 2 : 4;
}

/** Words an arena tensor of `n` elements of `dtype` occupies (at least one). */
export function wordsOf(dtype: string, n: number): number {
  return Math.max(1, Math.ceil((n * elemBytes(dtype)) / 4));
}

/** A typed operand: `ld(e)` reads element e as i32 (f32 for 'f32'). */
export class QOperand {
  /** @param name WGSL identifier chosen by the generator @param elem element kind @param buf buffer */
  constructor(readonly name: string, readonly elem: QElem, readonly buf: QBuf) {}

  /** Expression: element `e` (an i32 expression) as i32, or f32 for 'f32' operands. */
  ld(e: string): string {
    return `ld_${this.name}(${e})`;
  }

  /** Expression: raw word `i` (an i32 expression) of the operand. */
  word(i: string): string {
    return `${this.buf}[off.${this.name} + u32(${i})]`;
  }

  /** The loader function of this operand. */
  loader(): WgslFn {
    const w = (i: string) => `${this.buf}[off.${this.name} + u32(${i})]`;
    let body: string;
    switch (this.elem) {
      case 'i8': body = `return extractBits(bitcast<i32>(${w('e >> 2u')}), (e & 3u) * 8u, 8u);`; break;
      case 'u8': body = `return i32(extractBits(${w('e >> 2u')}, (e & 3u) * 8u, 8u));`; break;
      case 'i16': body = `return extractBits(bitcast<i32>(${w('e >> 1u')}), (e & 1u) * 16u, 16u);`; break;
      case 'u16': body = `return i32(extractBits(${w('e >> 1u')}, (e & 1u) * 16u, 16u));`; break;
      case 'i32': body = `return bitcast<i32>(${w('e')});`; break;
      case 'f32': body = `return bitcast<f32>(${w('e')});`; break;
    }
    const ret = this.elem === 'f32' ? 'f32' : 'i32';
    return { name: `ld_${this.name}`, code: `fn ld_${this.name}(ei: i32) -> ${ret} {\n  let e = u32(ei);\n  ${body}\n}` };
  }
}

/**
 * Builds one integer compute shader: binding header with u32 views, offsets struct, helper
 * functions and the entry point.
 */
export class QShaderBuilder {
  private readonly ops: QOperand[] = [];
  private readonly fns = new Map<string, string>();

  /** @param kernel kernel id (a comment in the source) */
  constructor(readonly kernel: string) {}

  /**
   * Declares an input operand and its loader.
   * @param name WGSL identifier
   * @param elem element kind
   * @param buf buffer
   */
  input(name: string, elem: QElem, buf: QBuf = 'arena'): QOperand {
    const o = this.declare(name, elem, buf);
    this.fn(o.loader());
    return o;
  }

  /** Declares the output operand `y` (arena). */
  output(elem: QElem): QOperand {
    return this.declare('y', elem, 'arena');
  }

  private declare(name: string, elem: QElem, buf: QBuf): QOperand {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bad operand name ${name}`);
    if (this.ops.some((r) => r.name === name)) throw new Error(`duplicate operand ${name}`);
    const o = new QOperand(name, elem, buf);
    this.ops.push(o);
    return o;
  }

  /** Adds a helper function once (by name); returns its name. */
  fn(f: WgslFn): string {
    this.fns.set(f.name, f.code);
    return f.name;
  }

  /** Adds several helper functions (in order). @param fs the functions */
  fnAll(fs: readonly WgslFn[]): void {
    for (const f of fs) this.fn(f);
  }

  private assemble(entry: string): string {
    const fields = this.ops.map((r) => `  ${r.name}: u32,`).join('\n');
    return [
      `// edgec webgpu kernel: ${this.kernel}`,
      '@group(0) @binding(0) var<storage, read_write> arena: array<u32>;',
      '@group(0) @binding(1) var<storage, read> weights: array<u32>;',
      `struct Offsets {\n${fields || '  unused: u32,'}\n}`,
      '@group(0) @binding(2) var<uniform> off: Offsets;',
      ...this.fns.values(),
      entry,
    ].join('\n\n') + '\n';
  }

  private grid(count: number): { gx: number; gy: number } {
    const groups = Math.max(1, Math.ceil(count / WG));
    const gx = Math.min(groups, MAX_GROUPS);
    return { gx, gy: Math.ceil(groups / gx) };
  }

  /**
   * An elementwise-style kernel: `fn elem(e: i32) -> u32` (the caller adds it) gives the raw bits
   * of output element e; 8-bit (16-bit) outputs run one thread per word of 4 (2) elements and
   * pack them, keeping the low bits (integers wrap modulo 2^bits, as a C cast).
   * @param n output elements
   * @param y output operand (its elem decides packing)
   */
  elementwise(n: number, y: QOperand): KernelProgram {
    const per = y.elem === 'i8' || y.elem === 'u8' ? 4 : y.elem === 'i16' || y.elem === 'u16' ? 2 : 1;
    const bits = 32 / per;
    const count = Math.ceil(n / per);
    const { gx, gy } = this.grid(count);
    const body = per > 1
      ? [
        'var word = 0u;',
        `for (var l = 0; l < ${per}; l++) {`,
        `  let e = gi * ${per} + l;`,
        `  if (e < ${int(n)}) { word |= (elem(e) & ${bits === 8 ? '0xffu' : '0xffffu'}) << (u32(l) * ${bits}u); }`,
        '}',
        'arena[off.y + u32(gi)] = word;',
      ]
      : ['arena[off.y + u32(gi)] = elem(gi);'];
    const entry = [
      `@compute @workgroup_size(${WG})`,
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
      `  let gi = i32((wid.y * ${gx}u + wid.x) * ${WG}u + lid);`,
      `  if (gi >= ${int(count)}) { return; }`,
      ...body.map((l) => `  ${l}`),
      '}',
    ].join('\n');
    return { wgsl: this.assemble(entry), groups: [gx, gy, 1] as Groups, operands: this.ops.map((r) => r.name) };
  }

  /**
   * An elementwise-style kernel from the body of its element function: declares the output `y`
   * (after every input), adds `fn elem(e: i32) -> u32` (e: the output element index; returns the
   * element's raw bits) and builds elementwise(n, y).
   * @param n output elements
   * @param el output element kind
   * @param body statements of `elem`
   */
  elementwiseBody(n: number, el: QElem, body: readonly string[]): KernelProgram {
    const y = this.output(el);
    this.fn({ name: 'elem', code: ['fn elem(e: i32) -> u32 {', ...body.map((l) => `  ${l}`), '}'].join('\n') });
    return this.elementwise(n, y);
  }

  /**
   * A one-thread-per-item kernel with a free body (`gi`: item index, i32).
   * @param count items
   * @param body statements
   */
  linear(count: number, body: readonly string[]): KernelProgram {
    const { gx, gy } = this.grid(count);
    const entry = [
      `@compute @workgroup_size(${WG})`,
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
      `  let gi = i32((wid.y * ${gx}u + wid.x) * ${WG}u + lid);`,
      `  if (gi >= ${int(count)}) { return; }`,
      ...body.map((l) => `  ${l}`),
      '}',
    ].join('\n');
    return { wgsl: this.assemble(entry), groups: [gx, gy, 1] as Groups, operands: this.ops.map((r) => r.name) };
  }

  /**
   * A kernel with an explicit workgroup shape and grid (tiled kernels).
   * @param size workgroup size
   * @param groups dispatch grid
   * @param decls module-scope declarations (workgroup arrays)
   * @param body statements (builtins: `wid`, `lid` (vec3<u32>), `lidx` (u32))
   */
  tiled(size: Groups, groups: Groups, decls: readonly string[], body: readonly string[]): KernelProgram {
    for (const g of groups) if (g > MAX_GROUPS) throw new Error(`grid ${groups.join('x')} exceeds ${MAX_GROUPS} per dimension`);
    const entry = [
      ...decls,
      `@compute @workgroup_size(${size.join(', ')})`,
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {',
      ...body.map((l) => `  ${l}`),
      '}',
    ].join('\n');
    return { wgsl: this.assemble(entry), groups, operands: this.ops.map((r) => r.name) };
  }
}

// ---------------------------------------------------------------------------------------------
// Exact 64-bit integer helpers (vec2<u32>(lo, hi), two's complement)
// ---------------------------------------------------------------------------------------------

/** Unsigned 32 x 32 -> 64 product from 16-bit limbs. */
export const MUL_U64: WgslFn = {
  name: 'mul_u64',
  code: [
    'fn mul_u64(a: u32, b: u32) -> vec2<u32> {',
    '  let a0 = a & 0xffffu;',
    '  let a1 = a >> 16u;',
    '  let b0 = b & 0xffffu;',
    '  let b1 = b >> 16u;',
    '  let p00 = a0 * b0;',
    '  let p01 = a0 * b1;',
    '  let p10 = a1 * b0;',
    '  let mid = p01 + p10;',
    '  let mid_c = select(0u, 0x10000u, mid < p01);',
    '  let lo = p00 + (mid << 16u);',
    '  let c = select(0u, 1u, lo < p00);',
    '  return vec2<u32>(lo, a1 * b1 + (mid >> 16u) + mid_c + c);',
    '}',
  ].join('\n'),
};

/** 64-bit addition (wraps modulo 2^64). */
export const ADD_U64: WgslFn = {
  name: 'add_u64',
  code: 'fn add_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {\n  let lo = a.x + b.x;\n  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));\n}',
};

/** Signed 32 x 32 -> 64 product (two's complement result). */
export const SMUL_64: WgslFn = {
  name: 'smul_64',
  code: [
    'fn smul_64(a: i32, b: i32) -> vec2<u32> {',
    '  // abs(-2^31) is -2^31, whose bits read as u32 are 2^31: the magnitude',
    '  let p = mul_u64(bitcast<u32>(abs(a)), bitcast<u32>(abs(b)));',
    '  let n = add_u64(vec2<u32>(~p.x, ~p.y), vec2<u32>(1u, 0u));',
    '  return select(p, n, (a < 0) != (b < 0));',
    '}',
  ].join('\n'),
};

/** Arithmetic right shift of a signed 64-bit value by n in [0, 63] (floor division by 2^n). */
export const SAR_64: WgslFn = {
  name: 'sar_64',
  code: [
    'fn sar_64(a: vec2<u32>, n: u32) -> vec2<u32> {',
    '  let hi = bitcast<i32>(a.y);',
    '  if (n == 0u) { return a; }',
    '  if (n >= 32u) { return vec2<u32>(bitcast<u32>(hi >> (n - 32u)), bitcast<u32>(hi >> 31u)); }',
    '  return vec2<u32>((a.x >> n) | (a.y << (32u - n)), bitcast<u32>(hi >> n));',
    '}',
  ].join('\n'),
};

/** Logical right shift of an unsigned 64-bit value by n in [0, 63]. */
export const SHR_U64: WgslFn = {
  name: 'shr_u64',
  code: [
    'fn shr_u64(a: vec2<u32>, n: u32) -> vec2<u32> {',
    '  if (n == 0u) { return a; }',
    '  if (n >= 32u) { return vec2<u32>(a.y >> (n - 32u), 0u); }',
    '  return vec2<u32>((a.x >> n) | (a.y << (32u - n)), a.y >> n);',
    '}',
  ].join('\n'),
};

/** Left shift of a 64-bit value by n in [0, 63]. */
export const SHL_U64: WgslFn = {
  name: 'shl_u64',
  code: [
    'fn shl_u64(a: vec2<u32>, n: u32) -> vec2<u32> {',
    '  if (n == 0u) { return a; }',
    '  if (n >= 32u) { return vec2<u32>(0u, a.x << (n - 32u)); }',
    '  return vec2<u32>(a.x << n, (a.y << n) | (a.x >> (32u - n)));',
    '}',
  ].join('\n'),
};

/** 2^n as a 64-bit value, n in [0, 63]. */
export const POW2_U64: WgslFn = {
  name: 'pow2_u64',
  code: 'fn pow2_u64(n: u32) -> vec2<u32> {\n  if (n >= 32u) { return vec2<u32>(0u, 1u << (n - 32u)); }\n  return vec2<u32>(1u << n, 0u);\n}',
};

/**
 * A signed 64-bit value saturated to [-65536, 65536] (every 8-bit output stage clamps far inside
 * this range, so the saturation never changes a result and the zero point add cannot overflow).
 */
export const SAT_64: WgslFn = {
  name: 'sat_64',
  code: [
    'fn sat_64(a: vec2<u32>) -> i32 {',
    '  let lo = bitcast<i32>(a.x);',
    '  let hi = bitcast<i32>(a.y);',
    '  if (hi == (lo >> 31u)) { return clamp(lo, -65536, 65536); }',
    '  return select(65536, -65536, hi < 0);',
    '}',
  ].join('\n'),
};

/**
 * Round half to even of an unsigned 64-bit value divided by 2^k, k in [1, 63] (exact).
 */
export const RNE_SHR_U64: WgslFn = {
  name: 'rne_shr_u64',
  code: [
    'fn rne_shr_u64(p: vec2<u32>, k: u32) -> vec2<u32> {',
    '  let q = shr_u64(p, k);',
    '  let qs = shl_u64(q, k);',
    '  let r = add_u64(p, add_u64(vec2<u32>(~qs.x, ~qs.y), vec2<u32>(1u, 0u)));',
    '  let h = pow2_u64(k - 1u);',
    '  let gt = r.y > h.y || (r.y == h.y && r.x > h.x);',
    '  let tie = r.y == h.y && r.x == h.x;',
    '  let up = gt || (tie && (q.x & 1u) == 1u);',
    '  return select(q, add_u64(q, vec2<u32>(1u, 0u)), up);',
    '}',
  ].join('\n'),
};

/** Bit length of an unsigned 64-bit value (0 for 0). */
export const BITLEN_U64: WgslFn = {
  name: 'bitlen_u64',
  code: 'fn bitlen_u64(a: vec2<u32>) -> u32 {\n  if (a.y != 0u) { return 64u - countLeadingZeros(a.y); }\n  return 32u - countLeadingZeros(a.x);\n}',
};

/**
 * Fixed-point requantization of compiler/ops/qint.ts: floor((acc * M + 2^(n-1)) / 2^n) taken
 * exactly in 64 bits (acc * M when n = 0), saturated by sat_64.
 */
export const RQ_FIXED: WgslFn = {
  name: 'rq_fixed',
  code: [
    'fn rq_fixed(acc: i32, m: i32, n: u32) -> i32 {',
    '  return rq_wide(smul_64(acc, m), n);',
    '}',
  ].join('\n'),
};

/** floor((v + 2^(n-1)) / 2^n) of a signed 64-bit value (v when n = 0), saturated by sat_64. */
export const RQ_WIDE: WgslFn = {
  name: 'rq_wide',
  code: [
    'fn rq_wide(v: vec2<u32>, n: u32) -> i32 {',
    '  if (n == 0u) { return sat_64(v); }',
    '  return sat_64(sar_64(add_u64(v, pow2_u64(n - 1u)), n));',
    '}',
  ].join('\n'),
};

/**
 * Float-mode requantization roundHalfEven(f64(acc) * s) for an f32 scale s = mant * 2^ex
 * (mant < 2^24), exactly: P = |acc| * mant (< 2^55) is first rounded to 53 significant bits
 * (the float64 product's rounding, half to even), then P * 2^ex is rounded half to even to an
 * integer; saturated to [-65536, 65536]. The sign is applied last (both roundings are symmetric).
 */
export const RQ_FLOAT: WgslFn = {
  name: 'rq_float',
  code: [
    'fn rq_float(acc: i32, mant: u32, ex: i32) -> i32 {',
    '  var p = mul_u64(bitcast<u32>(abs(acc)), mant);',
    '  let len = bitlen_u64(p);',
    '  if (len == 0u) { return 0; }',
    '  if (len > 53u) { p = shl_u64(rne_shr_u64(p, len - 53u), len - 53u); }',
    '  var r = 0;',
    '  if (ex >= 0) {',
    '    if (len + u32(ex) > 17u) { r = 65536; } else { r = i32(p.x << u32(ex)); }',
    '  } else if (u32(-ex) < 56u) {',
    '    let q = rne_shr_u64(p, u32(-ex));',
    '    r = select(65536, i32(q.x), q.y == 0u && q.x < 65536u);',
    '  }',
    '  return select(r, -r, acc < 0);',
    '}',
  ].join('\n'),
};

/**
 * TFLite's MultiplyByQuantizedMultiplier(acc, m, 31 - n) (compiler/ops/qint.ts rqTflite): the
 * accumulator shifted left by max(0, 31 - n) (int32, wrapping), SaturatingRoundingDoublingHighMul
 * floor((a * m + 2^30) / 2^31) exactly in 64 bits (m in (-2^31, 2^31): never saturates; the
 * result fits an i32), then RoundingDivideByPOT by max(0, n - 31) (half away from zero). Needs RQ_LIB.
 */
export const RQ_TFL: WgslFn = {
  name: 'rq_tfl',
  code: [
    'fn rq_tfl(acc: i32, m: i32, n: u32) -> i32 {',
    '  let ls = select(0u, 31u - n, n < 31u);',
    '  let rs = select(0u, n - 31u, n > 31u);',
    '  let a = acc << ls;',
    '  let h = bitcast<i32>(sar_64(add_u64(smul_64(a, m), vec2<u32>(0x40000000u, 0u)), 31u).x);',
    '  if (rs == 0u) { return h; }',
    '  let mask = bitcast<i32>((1u << rs) - 1u);',
    '  let thr = (mask >> 1u) + select(0, 1, h < 0);',
    '  return (h >> rs) + select(0, 1, (h & mask) > thr);',
    '}',
  ].join('\n'),
};

/**
 * TFLite's integer average (compiler/ops/qint.ts roundedDiv): t / cnt rounded half away from zero,
 * for any int32 t (the magnitude in u32 cannot overflow), saturated to [-65536, 65536] (every
 * 8-bit output stage clamps far inside).
 */
export const RDIV_TFL: WgslFn = {
  name: 'rdiv_tfl',
  code: [
    'fn rdiv_tfl(t: i32, cnt: u32) -> i32 {',
    '  let u = bitcast<u32>(abs(t));',
    '  let q = i32(min((u + cnt / 2u) / cnt, 65536u));',
    '  return select(q, -q, t < 0);',
    '}',
  ].join('\n'),
};

/** The stage value clamp(rq_tfl(acc, m, n), -65536, 65536) (the zero point add cannot overflow). */
export const RQ_TFL_SAT: WgslFn = {
  name: 'rq_tfl_sat',
  code: 'fn rq_tfl_sat(acc: i32, m: i32, n: u32) -> i32 {\n  return clamp(rq_tfl(acc, m, n), -65536, 65536);\n}',
};

/** Every 64-bit helper a requantizing kernel may call (in dependency order). */
export const RQ_LIB: readonly WgslFn[] = [MUL_U64, ADD_U64, SMUL_64, SAR_64, SHR_U64, SHL_U64, POW2_U64, SAT_64, RNE_SHR_U64, BITLEN_U64, RQ_WIDE, RQ_FIXED, RQ_FLOAT];

/** RQ_LIB and TFLite's arithmetic (rq_tfl, rq_tfl_sat, rdiv_tfl), in dependency order. */
export const TFL_LIB: readonly WgslFn[] = [...RQ_LIB, RQ_TFL, RQ_TFL_SAT, RDIV_TFL];

/**
 * mantissa/exponent of an f32 value s >= 0: s = mant * 2^ex, mant < 2^24 (mant = 0 for s = 0).
 * @param s a float32-representable value
 */
export function f32Parts(s: number): { mant: number; ex: number } {
  if (s === 0) return { mant: 0, ex: 0 };
  const bits = new Uint32Array(new Float32Array([s]).buffer)[0]!;
  const e = (bits >>> 23) & 0xff;
  const f = bits & 0x7fffff;
  return e === 0 ? { mant: f, ex: -149 } : { mant: f | 0x800000, ex: e - 150 };
}
