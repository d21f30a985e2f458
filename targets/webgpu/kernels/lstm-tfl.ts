/**
 * lstm_tfl_i8: edgec.TflLstm, TFLite Micro's integer UNIDIRECTIONAL_SEQUENCE_LSTM (compiler/ops/rnn.ts
 * is the specification), bit for bit with the reference interpreter. One workgroup of LSTM_WG
 * invocations walks the batch rows and time steps; invocation l owns hidden units l, l + LSTM_WG,
 * ...: per step it computes the unit's four gates (int32 dot products with W and R, TFLite's
 * MultiplyByQuantizedMultiplier `rq_tfl`, int16 saturation, the LUT sigmoid / tanh), its cell
 * state and new hidden value; a barrier separates reading h_{t-1} from publishing h_t. The hidden
 * and cell states live in workgroup memory; y is stored one word per element (wide), so no two
 * invocations share an output word.
 */
import { WgslFn, int } from '../wgsl/shader.js';
import { QShaderBuilder, TFL_LIB } from '../wgsl/qshader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

/** Invocations of the one workgroup. */
export const LSTM_WG = 64;

/** Largest hidden size: three i32 workgroup arrays of H within WebGPU's 16 KiB default limit. */
export const LSTM_MAX_HIDDEN = 1024;

export interface LstmTflParams extends BaseParams {
  T: number; B: number; I: number; H: number;
  timeMajor: boolean;
  xdt: 'i8' | 'i32';
  zx: number; zh: number;
  /** Per gate (i, f, c, o): input and recurrent multipliers and shifts (edgec's (M, n)). */
  inM: number[]; inN: number[]; recM: number[]; recN: number[];
  fcM: number; fcN: number; icM: number; icN: number; hM: number; hN: number;
  cellScalePower: number;
  cellClip: number;
  cellSigmoid: boolean;
}

/** TFLite's int16 Logistic (multiplier 3, Q3.12 in, Q0.15 out) over the u16 table operand `tb`. */
const SIG16: WgslFn = {
  name: 'sig16',
  code: [
    'fn sig16(x: i32) -> i32 {',
    '  let v = x * 3;',
    '  let a = u32(abs(v));',
    '  let uh = a >> 9u;',
    '  var r: u32;',
    '  if (uh >= 255u) { r = 0x7fffu << 10u; } else {',
    '    let ua = u32(ld_tb(i32(uh)));',
    '    let ub = u32(ld_tb(i32(uh) + 1));',
    '    r = (ua << 9u) + (a & 0x1ffu) * (ub - ua);',
    '  }',
    '  if (v >= 0) { r = r + 512u; } else { r = (1u << 25u) - r + 511u; }',
    '  return i32(r >> 10u);',
    '}',
  ].join('\n'),
};

/** TFLite's int16 Tanh for an input of scale 2^p (lstm_eval.cc's multiplier / shift), Q0.15 out. */
const TANH16: WgslFn = {
  name: 'tanh16',
  code: [
    'fn tanh16(x: i32, p: i32) -> i32 {',
    '  let l = 12 + p;',
    '  var v: i32;',
    '  if (l >= 0) { v = x * (3 << u32(l)); } else { v = (x * 3 + (1 << u32(-l - 1))) >> u32(-l); }',
    '  let a = u32(abs(v));',
    '  let uh = a >> 8u;',
    '  var r: i32;',
    '  if (uh >= 255u) { r = 0xffff << 8u; } else {',
    '    let ua = u32(ld_tb(i32(uh)));',
    '    let ub = u32(ld_tb(i32(uh) + 1));',
    '    r = i32((ua << 8u) + (a & 0xffu) * (ub - ua));',
    '  }',
    '  if (v >= 0) { r = r - (1 << 23u) + 128; } else { r = -r + (1 << 23u) + 127; }',
    '  return r >> 8u;',
    '}',
  ].join('\n'),
};

const SAT16: WgslFn = { name: 'sat16', code: 'fn sat16(v: i32) -> i32 {\n  return clamp(v, -32768, 32767);\n}' };

/** lstm_tfl_i8: operands x (i8, or i32 when stored wide), w / r (i8), bias (i32), tb (u16 table); y wide (i32 words). */
export const lstmTflI8: KernelGen<LstmTflParams> = {
  id: 'lstm_tfl_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const w = s.input('w', 'i8', bufOf(p, 'w'));
    const r = s.input('r', 'i8', bufOf(p, 'r'));
    const bias = s.input('bias', 'i32', bufOf(p, 'bias'));
    s.input('tb', 'u16', bufOf(p, 'tb'));
    s.output('i32');
    s.fnAll([...TFL_LIB, SAT16, SIG16, TANH16]);
    const { T, B, I, H } = p;
    const gate = (g: number): string[] => [
      `  // gate ${'ifco'[g]}`,
      '  {',
      `    var acc = ${bias.ld(`${g * H} + j`)};`,
      `    for (var k = 0; k < ${I}; k++) { acc += ${w.ld(`(${g * H} + j) * ${I} + k`)} * (${x.ld(`row * ${I} + k`)} - ${int(p.zx)}); }`,
      `    let u = sat16(rq_tfl(acc, ${int(p.inM[g]!)}, ${p.inN[g]!}u));`,
      '    var racc = 0;',
      `    for (var k = 0; k < ${H}; k++) { racc += ${r.ld(`(${g * H} + j) * ${H} + k`)} * (hs[k] - ${int(p.zh)}); }`,
      `    let v = sat16(rq_tfl(racc, ${int(p.recM[g]!)}, ${p.recN[g]!}u));`,
      `    g${g} = ${g === 2 && !p.cellSigmoid ? 'tanh16(sat16(u + v), -12)' : 'sig16(sat16(u + v))'};`,
      '  }',
    ];
    const clip = p.cellClip > 0 ? [`  cn = clamp(cn, ${int(-p.cellClip)}, ${p.cellClip});`] : [];
    const body = [
      `for (var b = 0; b < ${B}; b++) {`,
      `  for (var j = i32(lidx); j < ${H}; j += ${LSTM_WG}) { hs[j] = ${int(p.zh)}; cs[j] = 0; }`,
      '  workgroupBarrier();',
      `  for (var t = 0; t < ${T}; t++) {`,
      `    let row = ${p.timeMajor ? `t * ${B} + b` : `b * ${T} + t`};`,
      `    for (var j = i32(lidx); j < ${H}; j += ${LSTM_WG}) {`,
      '      var g0 = 0; var g1 = 0; var g2 = 0; var g3 = 0;',
      ...[0, 1, 2, 3].flatMap(gate).map((l) => `    ${l}`),
      `      let fc = sat16(rq_tfl(g1 * cs[j], ${int(p.fcM)}, ${p.fcN}u));`,
      `      let ic = sat16(rq_tfl(g0 * g2, ${int(p.icM)}, ${p.icN}u));`,
      '      var cn = sat16(fc + ic);',
      ...clip.map((l) => `    ${l}`),
      '      cs[j] = cn;',
      `      hn[j] = clamp(rq_tfl(tanh16(cn, ${int(p.cellScalePower)}) * g3, ${int(p.hM)}, ${p.hN}u) + ${int(p.zh)}, -128, 127);`,
      '    }',
      '    workgroupBarrier();',
      `    for (var j = i32(lidx); j < ${H}; j += ${LSTM_WG}) {`,
      '      hs[j] = hn[j];',
      `      arena[off.y + u32(row * ${H} + j)] = bitcast<u32>(hn[j]);`,
      '    }',
      '    workgroupBarrier();',
      '  }',
      '}',
    ];
    const decls = [`var<workgroup> hs: array<i32, ${H}>;`, `var<workgroup> cs: array<i32, ${H}>;`, `var<workgroup> hn: array<i32, ${H}>;`];
    return s.tiled([LSTM_WG, 1, 1], [1, 1, 1], decls, body);
  },
};
