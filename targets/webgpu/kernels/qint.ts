/**
 * Integer kernels of the int8 path (compiler/ops/qint.ts semantics, bit for bit): qconv_i8,
 * qgemm_i8, qbinary_i8 (QAdd / QMul), qrequant_i8, qreduce_i8, qavgpool_i8, and the float
 * boundary kernels quantize_f32_i8 / dequantize_i8_f32 / cast_int_f32.
 *
 * Operands use the u32 views of wgsl/qshader.ts. Convolution and GEMM read centered weights
 * w' = w - zw[m] (packed int8 when they fit, else int16 pairs) and a per-channel stage table
 * `st` of 3 words per output channel: [bias, multiplier, shift] (fixed mode) or
 * [bias, mantissa, exponent] of the f32 scale (float mode). Inputs are centered on load
 * (x - zx) and padded taps are skipped, which is the reference's "padding reads zx".
 */
import { WgslFn, decompose, int, linear } from '../wgsl/shader.js';
import { QElem, QShaderBuilder, RQ_LIB, TFL_LIB } from '../wgsl/qshader.js';
import { qtiledMatmul } from '../wgsl/qtiled.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

/** Output stage of an integer kernel. */
export interface QOut {
  /** Output dtype ('i32': the raw accumulator). */
  y: 'i8' | 'u8' | 'i32';
  /** 'tflite': TFLite's MultiplyByQuantizedMultiplier (rq_tfl) with the fixed-mode [multiplier, shift]. */
  mode: 'fixed' | 'float' | 'tflite';
  zp: number;
  lo: number;
  hi: number;
  /** Per-tensor stage constants (when there is no per-channel table): [multiplier, shift] or [mantissa, exponent]. */
  k?: [number, number];
}

/**
 * Adds `fn stage(acc: i32, ch: i32) -> u32`: requantize, add the zero point, clamp; the raw bits
 * of the output element. Per-channel values come from the `st` table (words 3*ch+1, 3*ch+2).
 */
function stageFn(s: QShaderBuilder, o: QOut, table: boolean): void {
  if (o.y === 'i32') {
    s.fn({ name: 'stage', code: 'fn stage(acc: i32, ch: i32) -> u32 {\n  return bitcast<u32>(acc);\n}' });
    return;
  }
  s.fnAll(o.mode === 'tflite' ? TFL_LIB : RQ_LIB);
  const [a, b] = table ? ['ld_st(ch * 3 + 1)', 'ld_st(ch * 3 + 2)'] : [int(o.k![0]), int(o.k![1])];
  const rq = o.mode === 'fixed' ? `rq_fixed(acc, ${a}, u32(${b}))` : o.mode === 'tflite' ? `rq_tfl_sat(acc, ${a}, u32(${b}))` : `rq_float(acc, u32(${a}), ${b})`;
  s.fn({
    name: 'stage',
    code: `fn stage(acc: i32, ch: i32) -> u32 {\n  return bitcast<u32>(clamp(${rq} + ${int(o.zp)}, ${int(o.lo)}, ${int(o.hi)}));\n}`,
  });
}


// ---------------------------------------------------------------------------------------------
// QConv
// ---------------------------------------------------------------------------------------------

export interface QConvParams extends BaseParams {
  N: number; C: number; H: number; W: number; M: number; OH: number; OW: number;
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number; ph: number; pw: number; G: number;
  /** Input loader: its dtype, or 'i32' when the 8-bit input is stored wide. */
  xdt: 'i8' | 'u8' | 'i32';
  zx: number;
  /** Centered weight storage. */
  w: 'i8' | 'i16';
  out: QOut;
}

export interface QConvDirectParams extends QConvParams {
  /** 'packed': 8-bit outputs 4 per word; 'words': one word per output (int32, or 8-bit stored wide). */
  store: 'packed' | 'words';
}

/**
 * qconv_i8: direct convolution looping over each output's C/G x KH x KW window (depthwise and
 * other small-reduction convolutions). When OW % 4 == 0 a thread computes the four outputs of a
 * row in one word: one loop over the window updates four accumulators with one weight load per
 * tap. Otherwise a thread computes one output ('words': the output is stored wide, ops/qint.ts).
 */
export const qconvI8: KernelGen<QConvDirectParams> = {
  id: 'qconv_i8',
  gen(p) {
    if (p.OW % 4 === 0) return qconvRow4(p);
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const w = s.input('w', p.w, 'weights');
    s.input('st', 'i32', 'weights');
    stageFn(s, p.out, true);
    const Cg = p.C / p.G, Mg = p.M / p.G;
    const plane = p.OH * p.OW;
    return s.elementwiseBody(p.N * p.M * plane, p.store === 'words' ? 'i32' : p.out.y, [
      `let ow = e % ${int(p.OW)};`,
      `let oh = (e / ${int(p.OW)}) % ${int(p.OH)};`,
      `let m = (e / ${int(plane)}) % ${int(p.M)};`,
      `let n = e / ${int(plane * p.M)};`,
      `let xc = n * ${int(p.C)} + (m / ${int(Mg)}) * ${int(Cg)};`,
      'var acc = ld_st(m * 3);',
      `for (var c = 0; c < ${int(Cg)}; c++) {`,
      `  let xb = (xc + c) * ${int(p.H)};`,
      `  let wb = (m * ${int(Cg)} + c) * ${int(p.KH)};`,
      `  for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
      `    let ih = oh * ${int(p.sh)} - ${int(p.ph)} + kh * ${int(p.dh)};`,
      `    if (ih < 0 || ih >= ${int(p.H)}) { continue; }`,
      `    for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
      `      let iw = ow * ${int(p.sw)} - ${int(p.pw)} + kw * ${int(p.dw)};`,
      `      if (iw < 0 || iw >= ${int(p.W)}) { continue; }`,
      `      acc += (${x.ld(`(xb + ih) * ${int(p.W)} + iw`)} - ${int(p.zx)}) * ${w.ld(`(wb + kh) * ${int(p.KW)} + kw`)};`,
      '    }',
      '  }',
      '}',
      'return stage(acc, m);',
    ]);
  },
};

/** qconv_i8 when OW % 4 == 0: four outputs of one row per thread. */
function qconvRow4(p: QConvParams): ReturnType<QShaderBuilder['linear']> {
  const s = new QShaderBuilder('qconv_i8');
  const x = s.input('x', p.xdt, bufOf(p, 'x'));
  const w = s.input('w', p.w, 'weights');
  s.input('st', 'i32', 'weights');
  s.output(p.out.y);
  stageFn(s, p.out, true);
  const Cg = p.C / p.G, Mg = p.M / p.G;
  const plane = p.OH * p.OW;
  const lanes = [0, 1, 2, 3];
  const comp = ['x', 'y', 'z', 'w'];
  const tap = lanes.map((l) => [
    `      let iw_${l} = iwb + ${l * p.sw};`,
    `      if (iw_${l} >= 0 && iw_${l} < ${int(p.W)}) { acc.${comp[l]} += (${x.ld(`xr + iw_${l}`)} - ${int(p.zx)}) * wv; }`,
  ]).flat();
  const store = p.out.y === 'i32'
    ? lanes.map((l) => `arena[off.y + u32(e0 + ${l})] = stage(acc.${comp[l]}, m);`)
    : [
      'let word = (stage(acc.x, m) & 0xffu) | ((stage(acc.y, m) & 0xffu) << 8u) | ((stage(acc.z, m) & 0xffu) << 16u) | (stage(acc.w, m) << 24u);',
      'arena[off.y + u32(gi)] = word;',
    ];
  return s.linear((p.N * p.M * plane) / 4, [
    'let e0 = gi * 4;',
    `let ow0 = e0 % ${int(p.OW)};`,
    `let oh = (e0 / ${int(p.OW)}) % ${int(p.OH)};`,
    `let m = (e0 / ${int(plane)}) % ${int(p.M)};`,
    `let n = e0 / ${int(plane * p.M)};`,
    `let xc = n * ${int(p.C)} + (m / ${int(Mg)}) * ${int(Cg)};`,
    'var acc = vec4<i32>(ld_st(m * 3));',
    `for (var c = 0; c < ${int(Cg)}; c++) {`,
    `  let xb = (xc + c) * ${int(p.H)};`,
    `  let wb = (m * ${int(Cg)} + c) * ${int(p.KH)};`,
    `  for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
    `    let ih = oh * ${int(p.sh)} - ${int(p.ph)} + kh * ${int(p.dh)};`,
    `    if (ih < 0 || ih >= ${int(p.H)}) { continue; }`,
    `    let xr = (xb + ih) * ${int(p.W)};`,
    `    for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
    `      let wv = ${w.ld(`(wb + kh) * ${int(p.KW)} + kw`)};`,
    `      let iwb = ow0 * ${int(p.sw)} - ${int(p.pw)} + kw * ${int(p.dw)};`,
    ...tap,
    '    }',
    '  }',
    '}',
    ...store,
  ]);
}

/**
 * Epilogue statements of the tiled kernels: row `m` (output channel `ch`), results v0..v3 at
 * element index `eb` .. `eb + 3`; 'packed' stores one word (four 8-bit outputs, eb % 4 == 0 and
 * all four valid), 'words' stores one word per element (int32 outputs, or 8-bit outputs stored
 * wide, ops/qint.ts).
 */
function tiledStore(mode: 'packed' | 'words', ch: string, eb: string): string[] {
  if (mode === 'packed') {
    return [
      `let bias = ld_st(${ch} * 3);`,
      `let word = (stage(v0 + bias, ${ch}) & 0xffu) | ((stage(v1 + bias, ${ch}) & 0xffu) << 8u) | ((stage(v2 + bias, ${ch}) & 0xffu) << 16u) | (stage(v3 + bias, ${ch}) << 24u);`,
      `arena[off.y + u32((${eb}) >> 2)] = word;`,
    ];
  }
  return [
    `let bias = ld_st(${ch} * 3);`,
    `let eb = ${eb};`,
    'arena[off.y + u32(eb)] = stage(v0 + bias, ' + ch + ');',
    'if (nv > 1) { arena[off.y + u32(eb + 1)] = stage(v1 + bias, ' + ch + '); }',
    'if (nv > 2) { arena[off.y + u32(eb + 2)] = stage(v2 + bias, ' + ch + '); }',
    'if (nv > 3) { arena[off.y + u32(eb + 3)] = stage(v3 + bias, ' + ch + '); }',
  ];
}

export interface QConvTiledParams extends QConvParams {
  store: 'packed' | 'words';
}

/**
 * qconv_tiled_i8: QConv as an implicit GEMM per (image, group) on the tiled integer core
 * (wgsl/qtiled.ts): Y[m, p] = sum_r W'[m, r] * (im2col(X)[r, p] - zx), r = (c, kh, kw),
 * p = (oh, ow); padded taps contribute 0 (the reference reads zx there). The tap table `kt`
 * holds per r: the input offset c*H*W + kh*dh*W + kw*dw and (kh*dh) << 16 | kw*dw (bounds), so
 * the im2col gather needs no division.
 */
export const qconvTiledI8: KernelGen<QConvTiledParams> = {
  id: 'qconv_tiled_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const w = s.input('w', p.w, 'weights');
    s.input('st', 'i32', 'weights');
    const Cg = p.C / p.G, Mg = p.M / p.G;
    const P = p.OH * p.OW;
    const R = Cg * p.KH * p.KW;
    const pointwise = p.KH === 1 && p.KW === 1 && p.sh === 1 && p.sw === 1 && p.ph === 0 && p.pw === 0 && P === p.H * p.W;
    const kt = pointwise ? undefined : s.input('kt', 'i32', 'weights');
    s.output(p.store === 'packed' ? p.out.y : 'i32');
    stageFn(s, p.out, true);
    const xbase = `(n_img * ${int(p.C)} + g * ${int(Cg)}) * ${int(p.H * p.W)}`;
    const colPrelude = pointwise ? [`let xcol = ${xbase} + n;`] : [
      `let ih0 = (n / ${int(p.OW)}) * ${int(p.sh)} - ${int(p.ph)};`,
      `let iw0 = (n % ${int(p.OW)}) * ${int(p.sw)} - ${int(p.pw)};`,
      `let xcol = ${xbase} + ih0 * ${int(p.W)} + iw0;`,
    ];
    const loadB = pointwise
      ? [`bv = ${x.ld(`xcol + k * ${int(P)}`)} - ${int(p.zx)};`]
      : [
        `let dyx = ${kt!.ld('2 * k + 1')};`,
        'let ih = ih0 + (dyx >> 16u);',
        'let iw = iw0 + (dyx & 0xffff);',
        `if (ih >= 0 && ih < ${int(p.H)} && iw >= 0 && iw < ${int(p.W)}) {`,
        `  bv = ${x.ld(`xcol + ${kt!.ld('2 * k')}`)} - ${int(p.zx)};`,
        '}',
      ];
    return qtiledMatmul(s, {
      M: Mg, N: P, K: R, depth: p.N * p.G,
      prelude: ['let z = i32(wid.z);', `let n_img = z / ${int(p.G)};`, `let g = z % ${int(p.G)};`],
      colPrelude,
      loadA: [`av = ${w.ld(`(g * ${int(Mg)} + m) * ${int(R)} + k`)};`],
      loadB,
      store: [`let ch = g * ${int(Mg)} + m;`, ...tiledStore(p.store, 'ch', `(n_img * ${int(p.M)} + ch) * ${int(P)} + n0`)],
    });
  },
};

/**
 * The tap table of qconv_tiled_i8 for a non-pointwise convolution: per reduction index
 * r = (c, kh, kw), [c*H*W + kh*dh*W + kw*dw, (kh*dh) << 16 | kw*dw].
 * @param p convolution parameters
 */
export function convTapTable(p: Pick<QConvParams, 'C' | 'G' | 'H' | 'W' | 'KH' | 'KW' | 'dh' | 'dw'>): Int32Array {
  const Cg = p.C / p.G;
  const t = new Int32Array(2 * Cg * p.KH * p.KW);
  let r = 0;
  for (let c = 0; c < Cg; c++) {
    for (let kh = 0; kh < p.KH; kh++) {
      for (let kw = 0; kw < p.KW; kw++) {
        const dy = kh * p.dh, dx = kw * p.dw;
        t[2 * r] = c * p.H * p.W + dy * p.W + dx;
        t[2 * r + 1] = (dy << 16) | dx;
        r++;
      }
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// QGemm
// ---------------------------------------------------------------------------------------------

export interface QGemmParams extends BaseParams {
  /** Rows, inner dim, output columns. */
  R: number; K: number; N: number;
  xdt: 'i8' | 'u8' | 'i32';
  zx: number;
  w: 'i8' | 'i16';
  out: QOut;
}

/**
 * qgemm_i8: y[r, j] = stage(bias[j] + sum_k (x[r, k] - zx) * w'[j, k]); one thread per output
 * word. When N % 4 == 0 the word's four outputs share the row r: each x value is loaded once
 * for four accumulators.
 */
export const qgemmI8: KernelGen<QGemmParams> = {
  id: 'qgemm_i8',
  gen(p) {
    if (p.N % 4 === 0) return qgemmRow4(p);
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const w = s.input('w', p.w, 'weights');
    s.input('st', 'i32', 'weights');
    stageFn(s, p.out, true);
    return s.elementwiseBody(p.R * p.N, p.out.y, [
      `let r = e / ${int(p.N)};`,
      `let j = e % ${int(p.N)};`,
      'var acc = ld_st(j * 3);',
      `let xb = r * ${int(p.K)};`,
      `let wb = j * ${int(p.K)};`,
      `for (var k = 0; k < ${int(p.K)}; k++) {`,
      `  acc += (${x.ld('xb + k')} - ${int(p.zx)}) * ${w.ld('wb + k')};`,
      '}',
      'return stage(acc, j);',
    ]);
  },
};

/** qgemm_i8 when N % 4 == 0: four outputs of one row per thread. */
function qgemmRow4(p: QGemmParams): ReturnType<QShaderBuilder['linear']> {
  const s = new QShaderBuilder('qgemm_i8');
  const x = s.input('x', p.xdt, bufOf(p, 'x'));
  const w = s.input('w', p.w, 'weights');
  s.input('st', 'i32', 'weights');
  s.output(p.out.y);
  stageFn(s, p.out, true);
  const comp = ['x', 'y', 'z', 'w'];
  const st = (l: number) => `stage(acc.${comp[l]} + ld_st((j0 + ${l}) * 3), j0 + ${l})`;
  const store = p.out.y === 'i32'
    ? [0, 1, 2, 3].map((l) => `arena[off.y + u32(e0 + ${l})] = ${st(l)};`)
    : [`arena[off.y + u32(gi)] = (${st(0)} & 0xffu) | ((${st(1)} & 0xffu) << 8u) | ((${st(2)} & 0xffu) << 16u) | (${st(3)} << 24u);`];
  return s.linear((p.R * p.N) / 4, [
    'let e0 = gi * 4;',
    `let r = e0 / ${int(p.N)};`,
    `let j0 = e0 % ${int(p.N)};`,
    `let xb = r * ${int(p.K)};`,
    `let wb = j0 * ${int(p.K)};`,
    'var acc = vec4<i32>(0);',
    `for (var k = 0; k < ${int(p.K)}; k++) {`,
    `  let xv = ${x.ld('xb + k')} - ${int(p.zx)};`,
    `  acc += xv * vec4<i32>(${w.ld('wb + k')}, ${w.ld(`wb + ${int(p.K)} + k`)}, ${w.ld(`wb + ${int(2 * p.K)} + k`)}, ${w.ld(`wb + ${int(3 * p.K)} + k`)});`,
    '}',
    ...store,
  ]);
}

export interface QGemmTiledParams extends QGemmParams {
  store: 'packed' | 'words';
}

/** qgemm_tiled_i8: QGemm on the tiled integer core, A = x - zx (rows), B = w'^T (columns = output features). */
export const qgemmTiledI8: KernelGen<QGemmTiledParams> = {
  id: 'qgemm_tiled_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const w = s.input('w', p.w, 'weights');
    s.input('st', 'i32', 'weights');
    s.output(p.store === 'packed' ? p.out.y : 'i32');
    stageFn(s, p.out, true);
    // per-column stage: the four columns of a thread are four output channels
    const st = (v: string, j: string) => `stage(${v} + ld_st((${j}) * 3), ${j})`;
    const store = p.store === 'packed'
      ? [
        `let word = (${st('v0', 'n0')} & 0xffu) | ((${st('v1', 'n0 + 1')} & 0xffu) << 8u) | ((${st('v2', 'n0 + 2')} & 0xffu) << 16u) | (${st('v3', 'n0 + 3')} << 24u);`,
        `arena[off.y + u32((m * ${int(p.N)} + n0) >> 2)] = word;`,
      ]
      : [
        `let eb = m * ${int(p.N)} + n0;`,
        `arena[off.y + u32(eb)] = ${st('v0', 'n0')};`,
        `if (nv > 1) { arena[off.y + u32(eb + 1)] = ${st('v1', 'n0 + 1')}; }`,
        `if (nv > 2) { arena[off.y + u32(eb + 2)] = ${st('v2', 'n0 + 2')}; }`,
        `if (nv > 3) { arena[off.y + u32(eb + 3)] = ${st('v3', 'n0 + 3')}; }`,
      ];
    return qtiledMatmul(s, {
      M: p.R, N: p.N, K: p.K, depth: 1, prelude: [], colPrelude: [],
      loadA: [`av = ${x.ld(`m * ${int(p.K)} + k`)} - ${int(p.zx)};`],
      loadB: [`bv = ${w.ld(`n * ${int(p.K)} + k`)};`],
      store,
    });
  },
};

// ---------------------------------------------------------------------------------------------
// QAdd / QMul
// ---------------------------------------------------------------------------------------------

export interface QBinaryParams extends BaseParams {
  op: 'add' | 'mul';
  shape: number[];
  sa: number[];
  sb: number[];
  adt: 'i8' | 'u8' | 'i32';
  bdt: 'i8' | 'u8' | 'i32';
  za: number; zb: number;
  /** QAdd: a and b multipliers (signed); QMul: the multiplier in ma. */
  ma: number; mb: number;
  shift: number;
  y: 'i8' | 'u8';
  zp: number; lo: number; hi: number;
}

/**
 * qbinary_i8: QAdd y = clamp(zy + floor((Ma*(a-za) + Mb*(b-zb) + 2^(n-1)) / 2^n)) with the sum in
 * exact 64-bit; QMul y = clamp(zy + rq((a-za)*(b-zb), M, n)); numpy broadcasting by strides.
 */
export const qbinaryI8: KernelGen<QBinaryParams> = {
  id: 'qbinary_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const a = s.input('a', p.adt, bufOf(p, 'a'));
    const b = s.input('b', p.bdt, bufOf(p, 'b'));
    s.fnAll(RQ_LIB);
    const d = decompose('e', p.shape, 'i');
    const v = p.op === 'add'
      ? `rq_wide(add_u64(smul_64(${int(p.ma)}, da), smul_64(${int(p.mb)}, db)), ${p.shift}u)`
      : `rq_fixed(da * db, ${int(p.ma)}, ${p.shift}u)`;
    return s.elementwiseBody(p.shape.reduce((u, w) => u * w, 1), p.y, [
      ...d.code,
      `let da = ${a.ld(linear(d.idx, p.sa))} - ${int(p.za)};`,
      `let db = ${b.ld(linear(d.idx, p.sb))} - ${int(p.zb)};`,
      `return bitcast<u32>(clamp(${v} + ${int(p.zp)}, ${int(p.lo)}, ${int(p.hi)}));`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------
// Requantize, QReduceMean, QAvgPool
// ---------------------------------------------------------------------------------------------

export interface QRequantParams extends BaseParams {
  n: number;
  xdt: 'i8' | 'u8' | 'i32';
  zx: number;
  out: QOut;
}

/** qrequant_i8: y = stage(x - zx) per element (per-tensor stage). */
export const qrequantI8: KernelGen<QRequantParams> = {
  id: 'qrequant_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    stageFn(s, p.out, false);
    return s.elementwiseBody(p.n, p.out.y, [`return stage(${x.ld('e')} - ${int(p.zx)}, 0);`]);
  },
};

export interface QReduceParams extends BaseParams {
  /** Kept dims (output order) and their input strides; reduced dims and strides. */
  kept: number[]; ks: number[];
  red: number[]; rs: number[];
  xdt: 'i8' | 'u8' | 'i32';
  zx: number;
  out: QOut;
}

/** qreduce_i8: y = stage(sum over the reduced dims of (x - zx)), int32 wrapping sum. */
export const qreduceI8: KernelGen<QReduceParams> = {
  id: 'qreduce_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    stageFn(s, p.out, false);
    const dk = decompose('e', p.kept, 'o');
    const dr = decompose('r', p.red, 'q');
    const R = p.red.reduce((u, v) => u * v, 1);
    return s.elementwiseBody(p.kept.reduce((u, v) => u * v, 1), p.out.y, [
      ...dk.code,
      `let base = ${linear(dk.idx, p.ks)};`,
      'var acc = 0;',
      `for (var r = 0; r < ${int(R)}; r++) {`,
      ...dr.code.map((l) => `  ${l}`),
      `  acc += ${x.ld(`base + ${linear(dr.idx, p.rs)}`)} - ${int(p.zx)};`,
      '}',
      'return stage(acc, 0);',
    ]);
  },
};

export interface QAvgPoolParams extends BaseParams {
  planes: number; H: number; W: number; OH: number; OW: number; KH: number; KW: number; sh: number; sw: number; ph: number; pw: number;
  xdt: 'i8' | 'u8' | 'i32';
  zx: number;
  y: 'i8' | 'u8';
  zp: number; lo: number; hi: number;
  /** TFLite's rounded division sum / cnt (half away from zero) instead of the per-count multipliers. */
  tfl?: boolean;
}

/**
 * qavgpool_i8: y = clamp(zy + rq(sum_window(x - zx), M[cnt-1], n[cnt-1])) (tfl: rdiv_tfl(sum, cnt)).
 * Table `tb`: (cnt - 1) per output position (OH*OW words), then the multipliers and shifts (KH*KW each).
 */
export const qavgpoolI8: KernelGen<QAvgPoolParams> = {
  id: 'qavgpool_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const tb = s.input('tb', 'i32', 'weights');
    s.fnAll(p.tfl ? TFL_LIB : RQ_LIB);
    const P = p.OH * p.OW;
    const vol = p.KH * p.KW;
    return s.elementwiseBody(p.planes * P, p.y, [
      `let pos = e % ${int(P)};`,
      `let ow = pos % ${int(p.OW)};`,
      `let oh = pos / ${int(p.OW)};`,
      `let xb = (e / ${int(P)}) * ${int(p.H)};`,
      'var acc = 0;',
      `for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
      `  let ih = oh * ${int(p.sh)} - ${int(p.ph)} + kh;`,
      `  if (ih < 0 || ih >= ${int(p.H)}) { continue; }`,
      `  for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
      `    let iw = ow * ${int(p.sw)} - ${int(p.pw)} + kw;`,
      `    if (iw < 0 || iw >= ${int(p.W)}) { continue; }`,
      `    acc += ${x.ld(`(xb + ih) * ${int(p.W)} + iw`)} - ${int(p.zx)};`,
      '  }',
      '}',
      `let k = ${tb.ld('pos')};`,
      p.tfl ? 'let v = rdiv_tfl(acc, u32(k + 1));' : `let v = rq_fixed(acc, ${tb.ld(`${int(P)} + k`)}, u32(${tb.ld(`${int(P + vol)} + k`)}));`,
      `return bitcast<u32>(clamp(v + ${int(p.zp)}, ${int(p.lo)}, ${int(p.hi)}));`,
    ]);
  },
};

// ---------------------------------------------------------------------------------------------
// QuantizeLinear, DequantizeLinear, Cast
// ---------------------------------------------------------------------------------------------

/**
 * quant_f32(xb, sb, zp, lo, hi): saturate(roundHalfEven(fl32(x / s)) + zp), NaN -> 0, exactly, on
 * the bit patterns: the f32 quotient's 24-bit significand q = floor(mx * 2^23 / ms) of the
 * significands comes from a float estimate corrected by its exact integer remainder (the
 * remainder decides the rounding), rounded half to even, then the value is rounded half
 * to even to an integer. Only |x / s| in [2^-3, 2^10) needs the division: below, the result is
 * zp; above, it saturates (every 8-bit clamp range is inside [-2^9, 2^9)).
 */
export const QUANT_F32: WgslFn = {
  name: 'quant_f32',
  code: [
    'fn quant_f32(xb: u32, sb: u32, zp: i32, lo: i32, hi: i32) -> i32 {',
    '  let xe = (xb >> 23u) & 0xffu;',
    '  let se = (sb >> 23u) & 0xffu;',
    '  let xf = xb & 0x7fffffu;',
    '  let sf = sb & 0x7fffffu;',
    '  let neg = ((xb ^ sb) >> 31u) == 1u;',
    '  let xnan = xe == 255u && xf != 0u;',
    '  let snan = se == 255u && sf != 0u;',
    '  let xinf = xe == 255u && xf == 0u;',
    '  let sinf = se == 255u && sf == 0u;',
    '  let xzero = xe == 0u && xf == 0u;',
    '  let szero = se == 0u && sf == 0u;',
    '  if (xnan || snan || (xzero && szero) || (xinf && sinf)) { return 0; }',
    '  if (xinf || szero) { return select(hi, lo, neg); }',
    '  if (xzero || sinf) { return clamp(zp, lo, hi); }',
    '  // x = mx * 2^(ex - 150), s = ms * 2^(es - 150), mx and ms normalized to [2^23, 2^24)',
    '  var mx = select(xf | 0x800000u, xf, xe == 0u);',
    '  var ex = select(i32(xe), 1, xe == 0u);',
    '  var ms = select(sf | 0x800000u, sf, se == 0u);',
    '  var es = select(i32(se), 1, se == 0u);',
    '  let lx = countLeadingZeros(mx) - 8u;',
    '  mx = mx << lx;',
    '  ex -= i32(lx);',
    '  let ls = countLeadingZeros(ms) - 8u;',
    '  ms = ms << ls;',
    '  es -= i32(ls);',
    '  var E = ex - es;',
    '  if (mx < ms) { mx = mx << 1u; E -= 1; }',
    '  // |x / s| = (mx / ms) * 2^E with mx / ms in [1, 2)',
    '  // |x / s| >= 2^24 saturates every 8- and 16-bit range whatever the zero point',
    '  if (E >= 24) { return select(hi, lo, neg); }',
    '  if (E <= -3) { return clamp(zp, lo, hi); }',
    '  // q = floor(mx * 2^23 / ms) in [2^23, 2^24): a float estimate (a few units off at most),',
    '  // corrected with the exact remainder; |remainder| < 2^31, so wrapping u32 arithmetic is exact',
    '  var q = u32(floor(f32(mx) / f32(ms) * 8388608.0));',
    '  var qr = bitcast<i32>((mx << 23u) - q * ms);',
    '  for (var t = 0; t < 16 && qr < 0; t++) { q -= 1u; qr += i32(ms); }',
    '  for (var t = 0; t < 16 && qr >= i32(ms); t++) { q += 1u; qr -= i32(ms); }',
    '  // round the 24-bit significand half to even (2 * remainder against ms)',
    '  let r = u32(qr) * 2u;',
    '  if (r > ms || (r == ms && (q & 1u) == 1u)) { q += 1u; }',
    '  // fl32(x / s) = q * 2^(E - 23); round half to even to an integer',
    '  if (E == 23) { return clamp(select(i32(q), -i32(q), neg) + zp, lo, hi); }',
    '  let k = u32(23 - E);',
    '  var ip = q >> k;',
    '  let rem = q & ((1u << k) - 1u);',
    '  let half = 1u << (k - 1u);',
    '  if (rem > half || (rem == half && (ip & 1u) == 1u)) { ip += 1u; }',
    '  let v = select(i32(ip), -i32(ip), neg);',
    '  return clamp(v + zp, lo, hi);',
    '}',
  ].join('\n'),
};

export interface QuantizeParams extends BaseParams {
  n: number; A: number; inner: number;
  y: 'i8' | 'u8';
}

/** quantize_f32_i8: QuantizeLinear (f32 scale per tensor or per axis); table `qp`: A scale bit patterns, then A zero points. */
export const quantizeF32I8: KernelGen<QuantizeParams> = {
  id: 'quantize_f32_i8',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', 'i32', bufOf(p, 'x'));
    const qp = s.input('qp', 'i32', 'weights');
    s.fn(QUANT_F32);
    const [lo, hi] = p.y === 'i8' ? [-128, 127] : [0, 255];
    return s.elementwiseBody(p.n, p.y, [
      `let c = (e / ${int(p.inner)}) % ${int(p.A)};`,
      `return bitcast<u32>(quant_f32(bitcast<u32>(${x.ld('e')}), bitcast<u32>(${qp.ld('c')}), ${qp.ld(`${int(p.A)} + c`)}, ${lo}, ${hi}));`,
    ]);
  },
};

export interface DequantizeParams extends BaseParams {
  n: number; A: number; inner: number;
  xdt: 'i8' | 'u8' | 'i32';
}

/** dequantize_i8_f32: y = f32(x - zp) * scale (one f32 product: correctly rounded, as the reference's fround). */
export const dequantizeI8F32: KernelGen<DequantizeParams> = {
  id: 'dequantize_i8_f32',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt, bufOf(p, 'x'));
    const qp = s.input('qp', 'i32', 'weights');
    return s.elementwiseBody(p.n, 'f32', [
      `let c = (e / ${int(p.inner)}) % ${int(p.A)};`,
      `return bitcast<u32>(f32(${x.ld('e')} - ${qp.ld(`${int(p.A)} + c`)}) * bitcast<f32>(${qp.ld('c')}));`,
    ]);
  },
};

export interface CastIntParams extends BaseParams {
  n: number;
  xdt: 'i8' | 'u8' | 'i32';
}

/**
 * cast_int_f32: Cast int32/int8/uint8 -> float32 rounding half to even: the int32 value is split
 * into an exact high part (v >> 16) * 65536 and an exact low part, so the one f32 addition is
 * the only rounding.
 */
export const castIntF32: KernelGen<CastIntParams> = {
  id: 'cast_int_f32',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xdt as QElem);
    return s.elementwiseBody(p.n, 'f32', [
      `let v = ${x.ld('e')};`,
      'return bitcast<u32>(f32(v >> 16u) * 65536.0 + f32(v & 0xffff));',
    ]);
  },
};

/** Every integer kernel of this file. */
export const QINT_KERNELS = [qconvI8, qconvTiledI8, qgemmI8, qgemmTiledI8, qbinaryI8, qrequantI8, qreduceI8, qavgpoolI8, quantizeF32I8, dequantizeI8F32, castIntF32] as const;
