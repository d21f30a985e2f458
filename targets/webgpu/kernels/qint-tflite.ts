/**
 * Integer kernels of TFLite's arithmetic (compiler/ops/qint.ts rq_mode 'tflite', edgec.QSoftmax,
 * edgec.TflQuantize), bit for bit with the reference interpreter: qadd_tfl_i8 (TFLite's ADD/SUB), qmul_tfl_i8 (MUL), qlut_i8 (LOGISTIC / TANH tables),
 * qmean_tfl_i8 (MEAN), qsoftmax_stats_i8 + qsoftmax_i8 (the builtin int8 SOFTMAX) and
 * tfl_quantize_f32_i8 (float QUANTIZE, half away from zero). The per-channel output stage of
 * QConv / QGemm / Requantize and the average pool's rounded division live in kernels/qint.ts
 * (`QOut.mode` 'tflite', `rq_tfl`, `rdiv_tfl` below).
 *
 * WGSL has no 64-bit integers: MultiplyByQuantizedMultiplier's 64-bit product is built from
 * 16-bit limbs (wgsl/qshader.ts smul_64). WGSL f32 division is not correctly rounded (2.5 ULP),
 * so the two divisions of these kernels (softmax's reciprocal, QUANTIZE's x / scale) divide the
 * significands in integers; f32 roundings are done on bit patterns, so no fused multiply-add can
 * change a result.
 */
import { WgslFn, decompose, int, linear } from '../wgsl/shader.js';
import { QShaderBuilder, RQ_LIB, TFL_LIB } from '../wgsl/qshader.js';
import { QUANT_F32 } from './qint.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

// ---------------------------------------------------------------------------------------------
// ADD / SUB
// ---------------------------------------------------------------------------------------------

export interface QAddTflParams extends BaseParams {
  shape: number[];
  sa: number[];
  sb: number[];
  adt: 'i8' | 'u8' | 'i32';
  bdt: 'i8' | 'u8' | 'i32';
  za: number; zb: number;
  /** Left shift of both centered inputs (20 for int8). */
  ls: number;
  /** Input multipliers (b: negative for SUB) and right shifts; output multiplier and shift. */
  ma: number; na: number; mb: number; nb: number; m: number; n: number;
  y: 'i8' | 'u8';
  zp: number; lo: number; hi: number;
}

/**
 * qadd_tfl_i8: y = clamp(zy + T(T((a - za) << L, Ma, na) + T((b - zb) << L, Mb, nb), M, n)),
 * T = rq_tfl, int32 wrapping as the reference; numpy broadcasting by strides.
 */
export const qaddTflI8: KernelGen<QAddTflParams> = {
  id: 'qadd_tfl_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const a = s.input('a', p.adt, bufOf(p, 'a'));
    const b = s.input('b', p.bdt, bufOf(p, 'b'));
    s.fnAll(TFL_LIB);
    const d = decompose('e', p.shape, 'i');
    return s.elementwiseBody(p.shape.reduce((u, w) => u * w, 1), p.y, [
      ...d.code,
      `let da = (${a.ld(linear(d.idx, p.sa))} - ${int(p.za)}) << ${p.ls}u;`,
      `let db = (${b.ld(linear(d.idx, p.sb))} - ${int(p.zb)}) << ${p.ls}u;`,
      `let sum = rq_tfl(da, ${int(p.ma)}, ${p.na}u) + rq_tfl(db, ${int(p.mb)}, ${p.nb}u);`,
      `return bitcast<u32>(clamp(rq_tfl_sat(sum, ${int(p.m)}, ${p.n}u) + ${int(p.zp)}, ${int(p.lo)}, ${int(p.hi)}));`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------
// MUL
// ---------------------------------------------------------------------------------------------

export interface QMulTflParams extends BaseParams {
  shape: number[];
  sa: number[];
  sb: number[];
  adt: 'i8' | 'u8' | 'i32';
  bdt: 'i8' | 'u8' | 'i32';
  za: number; zb: number;
  /** Output multiplier and right shift (edgec's (M, n)). */
  m: number; n: number;
  y: 'i8' | 'u8';
  zp: number; lo: number; hi: number;
}

/** qmul_tfl_i8: y = clamp(zy + rq_tfl((a - za)(b - zb), M, n)) (TFLite's MUL); numpy broadcasting by strides. */
export const qmulTflI8: KernelGen<QMulTflParams> = {
  id: 'qmul_tfl_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const a = s.input('a', p.adt, bufOf(p, 'a'));
    const b = s.input('b', p.bdt, bufOf(p, 'b'));
    s.fnAll(TFL_LIB);
    const d = decompose('e', p.shape, 'i');
    return s.elementwiseBody(p.shape.reduce((u, w) => u * w, 1), p.y, [
      ...d.code,
      `let prod = (${a.ld(linear(d.idx, p.sa))} - ${int(p.za)}) * (${b.ld(linear(d.idx, p.sb))} - ${int(p.zb)});`,
      `return bitcast<u32>(clamp(rq_tfl_sat(prod, ${int(p.m)}, ${p.n}u) + ${int(p.zp)}, ${int(p.lo)}, ${int(p.hi)}));`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------
// LOGISTIC / TANH (edgec.QLut)
// ---------------------------------------------------------------------------------------------

export interface QLutParams extends BaseParams {
  n: number;
  xdt: 'i8' | 'u8' | 'i32';
  y: 'i8' | 'u8';
}

/** qlut_i8: y = tb[byte(x)] (tb: the 256 table values, one i32 word each). */
export const qlutI8: KernelGen<QLutParams> = {
  id: 'qlut_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const tb = s.input('tb', 'i32', 'weights');
    return s.elementwiseBody(p.n, p.y, [`return bitcast<u32>(${tb.ld(`${x.ld('e')} & 255`)});`]);
  },
};

// ---------------------------------------------------------------------------------------------
// MEAN
// ---------------------------------------------------------------------------------------------

export interface QMeanTflParams extends BaseParams {
  /** Kept dims (output order) and their input strides; reduced dims and strides. */
  kept: number[]; ks: number[];
  red: number[]; rs: number[];
  xdt: 'i8' | 'u8' | 'i32';
  zx: number;
  m: number; n: number;
  y: 'i8' | 'u8';
  zp: number; lo: number; hi: number;
}

/** qmean_tfl_i8: y = clamp(zy + rdiv(rq_tfl(sum(x - zx), M, n), count)), the int32 sum wrapping. */
export const qmeanTflI8: KernelGen<QMeanTflParams> = {
  id: 'qmean_tfl_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    s.fnAll(TFL_LIB);
    const dk = decompose('e', p.kept, 'o');
    const dr = decompose('r', p.red, 'q');
    const R = p.red.reduce((u, v) => u * v, 1);
    return s.elementwiseBody(p.kept.reduce((u, v) => u * v, 1), p.y, [
      ...dk.code,
      `let base = ${linear(dk.idx, p.ks)};`,
      'var acc = 0;',
      `for (var r = 0; r < ${int(R)}; r++) {`,
      ...dr.code.map((l) => `  ${l}`),
      `  acc += ${x.ld(`base + ${linear(dr.idx, p.rs)}`)} - ${int(p.zx)};`,
      '}',
      `let v = rdiv_tfl(rq_tfl(acc, ${int(p.m)}, ${p.n}u), ${R}u);`,
      `return bitcast<u32>(clamp(v + ${int(p.zp)}, ${int(p.lo)}, ${int(p.hi)}));`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------
// SOFTMAX
// ---------------------------------------------------------------------------------------------

/**
 * recip_f32(db): the correctly rounded f32 reciprocal of a positive normal f32 d < 2^126 (bits
 * db): 2^47 / significand by a float estimate corrected with its exact integer remainder (as
 * kernels/qint.ts QUANT_F32), rounded half to even.
 */
export const RECIP_F32: WgslFn = {
  name: 'recip_f32',
  code: [
    'fn recip_f32(db: u32) -> f32 {',
    '  let ed = i32((db >> 23u) & 0xffu);',
    '  let md = (db & 0x7fffffu) | 0x800000u;',
    '  if (md == 0x800000u) { return bitcast<f32>(u32(254 - ed) << 23u); }',
    '  // 2^24 / md in (1, 2): q = floor(2^47 / md) in [2^23, 2^24); remainders below 2^31 are exact in wrapping u32',
    '  var q = u32(floor(16777216.0 / f32(md) * 8388608.0));',
    '  var qr = bitcast<i32>(0u - q * md);',
    '  for (var t = 0; t < 16 && qr < 0; t++) { q -= 1u; qr += i32(md); }',
    '  for (var t = 0; t < 16 && qr >= i32(md); t++) { q += 1u; qr -= i32(md); }',
    '  let r = u32(qr) * 2u;',
    '  if (r > md || (r == md && (q & 1u) == 1u)) { q += 1u; }',
    '  var be = u32(253 - ed);',
    '  if (q == 0x1000000u) { q = 0x800000u; be += 1u; }',
    '  return bitcast<f32>((be << 23u) | (q & 0x7fffffu));',
    '}',
  ].join('\n'),
};

export interface QSoftmaxStatsParams extends BaseParams {
  rows: number;
  L: number;
  xdt: 'i8' | 'u8' | 'i32';
  /** y_scale as f32 bits. */
  ys: number;
}

/**
 * qsoftmax_stats_i8: per row r of L elements, y[2r] = max_j x_j and y[2r+1] =
 * f32(1 / f32(s * y_scale)), s = the f32 sum in order of table[255 - max + x_j].
 */
export const qsoftmaxStatsI8: KernelGen<QSoftmaxStatsParams> = {
  id: 'qsoftmax_stats_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const tb = s.input('tb', 'f32', 'weights');
    s.output('i32');
    s.fn(RECIP_F32);
    return s.linear(p.rows, [
      `let b = gi * ${int(p.L)};`,
      `var mx = ${x.ld('b')};`,
      `for (var j = 1; j < ${int(p.L)}; j++) { mx = max(mx, ${x.ld('b + j')}); }`,
      'var sum = 0.0;',
      `for (var j = 0; j < ${int(p.L)}; j++) { sum = sum + ${tb.ld(`255 - mx + ${x.ld('b + j')}`)}; }`,
      `let d = sum * bitcast<f32>(${p.ys >>> 0}u);`,
      'arena[off.y + u32(2 * gi)] = bitcast<u32>(mx);',
      'arena[off.y + u32(2 * gi + 1)] = bitcast<u32>(recip_f32(bitcast<u32>(d)));',
    ]);
  },
};

/**
 * round_away_pos(pb): the f32 p >= 0 (bits pb) rounded half away from zero, saturated to 65536.
 * trunc_half_up_f32(pb): trunc(f32(p + 0.5)), the f32 addition's rounding (half to even) taken
 * exactly on a 2^-49 fixed-point grid; saturated to 65536.
 */
const ROUND_POS: WgslFn[] = [
  {
    name: 'round_away_pos',
    code: [
      'fn round_away_pos(pb: u32) -> i32 {',
      '  let e = i32((pb >> 23u) & 0xffu) - 127;',
      '  if (e < -1) { return 0; }',
      '  if (e >= 16) { return 65536; }',
      '  let m = (pb & 0x7fffffu) | 0x800000u;',
      '  let k = u32(23 - e);',
      '  return i32((m >> k) + select(0u, 1u, (m & ((1u << k) - 1u)) >= (1u << (k - 1u))));',
      '}',
    ].join('\n'),
  },
  {
    name: 'trunc_half_up_f32',
    code: [
      'fn trunc_half_up_f32(pb: u32) -> i32 {',
      '  let e = i32((pb >> 23u) & 0xffu) - 127;',
      '  // p >= 256: the result is >= 256 (clamped by the caller)',
      '  if (e >= 8) { return 65536; }',
      '  // p < 2^-26: p + 0.5 rounds to 0.5',
      '  if (e < -26) { return 0; }',
      '  let m = (pb & 0x7fffffu) | 0x800000u;',
      '  // p + 0.5 in units of 2^-49 (< 2^58)',
      '  var v = add_u64(shl_u64(vec2<u32>(m, 0u), u32(e + 26)), vec2<u32>(0u, 0x10000u));',
      '  let len = bitlen_u64(v);',
      '  if (len > 24u) { v = shl_u64(rne_shr_u64(v, len - 24u), len - 24u); }',
      '  let t = shr_u64(v, 49u);',
      '  return i32(min(t.x, 65536u));',
      '}',
    ].join('\n'),
  },
];

export interface QSoftmaxParams extends BaseParams {
  n: number;
  L: number;
  xdt: 'i8' | 'u8' | 'i32';
  y: 'i8' | 'u8';
  zp: number;
}

/**
 * qsoftmax_i8: y_j = clamp(round(f32(table[255 - max + x_j] * inv)) + zy) with the row's max and
 * inv from qsoftmax_stats_i8 (operand st); int8: half away from zero; uint8: trunc(f32(p + 0.5)).
 */
export const qsoftmaxI8: KernelGen<QSoftmaxParams> = {
  id: 'qsoftmax_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const tb = s.input('tb', 'f32', 'weights');
    const st = s.input('st', 'i32');
    s.fnAll(RQ_LIB);
    s.fnAll(ROUND_POS);
    const [lo, hi] = p.y === 'i8' ? [-128, 127] : [0, 255];
    return s.elementwiseBody(p.n, p.y, [
      `let r = e / ${int(p.L)};`,
      `let pr = ${tb.ld(`255 - ${st.ld('2 * r')} + ${x.ld('e')}`)} * bitcast<f32>(bitcast<u32>(${st.ld('2 * r + 1')}));`,
      `let q = ${p.y === 'i8' ? `round_away_pos(bitcast<u32>(pr)) + ${int(p.zp)}` : 'trunc_half_up_f32(bitcast<u32>(pr))'};`,
      `return bitcast<u32>(clamp(q, ${lo}, ${hi}));`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------
// QUANTIZE (float32 -> int8 / uint8)
// ---------------------------------------------------------------------------------------------

/**
 * quant_f32_away(xb, sb, zp, lo, hi): TFLite's AffineQuantize, clamp(round(fl32(x / s)) + zp)
 * rounding the integer half away from zero (kernels/qint.ts QUANT_F32 with that last rounding);
 * NaN gives zp.
 */
export const QUANT_F32_AWAY: WgslFn = {
  name: 'quant_f32_away',
  code: (() => {
    const tie = '  if (rem > half || (rem == half && (ip & 1u) == 1u)) { ip += 1u; }';
    const nan = '  if (xnan || snan || (xzero && szero) || (xinf && sinf)) { return 0; }';
    if (!QUANT_F32.code.includes(tie) || !QUANT_F32.code.includes(nan)) throw new Error('QUANT_F32 changed: update QUANT_F32_AWAY');
    return QUANT_F32.code
      .replace('fn quant_f32(', 'fn quant_f32_away(')
      .replace(tie, '  if (rem >= half) { ip += 1u; }')
      .replace(nan, '  if (xnan || snan || (xzero && szero) || (xinf && sinf)) { return zp; }');
  })(),
};

export interface TflQuantizeParams extends BaseParams {
  n: number;
  /** The scale as f32 bits. */
  sb: number;
  zp: number;
  y: 'i8' | 'u8';
}

/** tfl_quantize_f32_i8: edgec.TflQuantize, per tensor. */
export const tflQuantizeF32I8: KernelGen<TflQuantizeParams> = {
  id: 'tfl_quantize_f32_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', 'i32', bufOf(p, 'x'));
    s.fn(QUANT_F32_AWAY);
    const [lo, hi] = p.y === 'i8' ? [-128, 127] : [0, 255];
    return s.elementwiseBody(p.n, p.y, [
      `return bitcast<u32>(quant_f32_away(bitcast<u32>(${x.ld('e')}), ${p.sb >>> 0}u, ${int(p.zp)}, ${lo}, ${hi}));`,
    ]);
  },
};

/** Every kernel of this file. */
export const QINT_TFLITE_KERNELS = [qaddTflI8, qmulTflI8, qlutI8, qmeanTflI8, qsoftmaxStatsI8, qsoftmaxI8, tflQuantizeF32I8] as const;
