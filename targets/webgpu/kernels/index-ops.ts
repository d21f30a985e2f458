/**
 * Index, scatter and runtime-parameter kernels on every webgpu dtype (storage kinds of
 * wgsl/qshader.ts: 8-bit values and bool packed 4 per word, 16-bit values 2 per word, f32 / i32 /
 * u32 / i64-held-as-i32 one word per element). Every kernel is output-driven (`elem(e)` gives the
 * raw bits of output element e, QShaderBuilder.elementwise packs them), so packed outputs never
 * share a word between threads and results are deterministic (scatter updates are applied in the
 * reference's order).
 *
 *   slice_rt_b         Slice with runtime starts / axes / steps (output shape fixed at compile time)
 *   pad_rt_b           Pad with runtime pads / axes / constant value (any mode)
 *   gathernd_b         GatherND (batch_dims, negative indices)
 *   scatter_elements_b ScatterElements / Scatter (reduction none / add / mul / max / min)
 *   scatternd_b        ScatterND (reduction none / add / mul / max / min)
 *   onehot_b           OneHot (float or integer indices, negative indices wrap once)
 *   topk_b             TopK values or indices (rank selection: ties by lower index)
 *   cum_b              CumSum / CumProd (exclusive, reverse; constant or runtime axis)
 *   einsum_f32         Einsum on f32 (any equation: diagonals, broadcasting, sums)
 *   reduce_typed       ReduceMax / ReduceMin / ReduceSum / ReduceProd on integer and bool values
 *   qmatmul_rt         MatMulInteger / QLinearMatMul (runtime or constant operands, broadcast batches)
 *   dql_params_b       DynamicQuantizeLinear's scale / zero point
 *   range_b            Range (runtime or constant start / delta; the length is the output shape)
 *   reverse_seq_b      ReverseSequence (runtime sequence lengths)
 *   qconv_rt           ConvInteger / QLinearConv (1- to 3-D, grouped; runtime or constant operands)
 *   compress_b         Compress (runtime condition; the output length is the output shape)
 *   tensor_scatter_b   TensorScatter (linear / circular KV-cache writes)
 *   det_f32            Det (one thread per matrix)
 *   qdq_rt             QuantizeLinear / DequantizeLinear (runtime, per-axis or blocked parameters; 8- and 16-bit)
 */
import { WgslFn, decompose, int, linear, stridesOf } from '../wgsl/shader.js';
import { QElem, QShaderBuilder, RQ_LIB, StoreElem } from '../wgsl/qshader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';
import type { Scalar } from './typed.js';
import { QUANT_F32 } from './qint.js';


/** WGSL `array<i32, n>` literal (at least one element). */
function arr(v: readonly number[]): string {
  const w = v.length === 0 ? [0] : v;
  return `array<i32, ${w.length}>(${w.map(int).join(', ')})`;
}

const F32_BITS: WgslFn = { name: 'f32_bits', code: 'fn f32_bits(b: u32) -> f32 {\n  return bitcast<f32>(b);\n}' };

/** Expression reading loaded value `ld` (loader kind `el`) as scalar type `st`. */
export function asScalar(ld: string, el: QElem, st: Scalar): string {
  if (el === 'f32') return st === 'f32' ? ld : `i32(${ld})`;
  switch (st) {
    case 'i32': return ld;
    case 'u32': return `bitcast<u32>(${ld})`;
    case 'bool': return `(${ld} != 0)`;
    case 'f32': return `f32(${ld})`;
  }
}

/** Raw u32 bits of result `r` of scalar type `t`. */
export function bitsOf(r: string, t: Scalar): string {
  switch (t) {
    case 'f32': case 'i32': return `bitcast<u32>(${r})`;
    case 'u32': return r;
    case 'bool': return `select(0u, 1u, ${r})`;
  }
}

/** WGSL type name of a scalar type (the names coincide). */
const wgslType = (t: Scalar): string => t;

// ---------------------------------------------------------------------------------------------
// Slice / Pad with runtime parameters
// ---------------------------------------------------------------------------------------------

export interface SliceRtParams extends BaseParams {
  el: StoreElem;
  xel: StoreElem;
  xs: number[];
  ys: number[];
  /** Entries of starts (and axes / steps). */
  n: number;
  /** Runtime axes operand `ax` (else axes are 0..n-1). */
  axes: boolean;
  /** Runtime steps operand `sp` (else 1). */
  steps: boolean;
}

export const sliceRtB: KernelGen<SliceRtParams> = {
  id: 'slice_rt_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const st = s.input('st', 'i32', bufOf(p, 'st'));
    const ax = p.axes ? s.input('ax', 'i32', bufOf(p, 'ax')) : null;
    const sp = p.steps ? s.input('sp', 'i32', bufOf(p, 'sp')) : null;
    const r = p.xs.length;
    const d = decompose('e', p.ys, 'i');
    const xst = stridesOf(p.xs);
    const body = [
      `var xd = ${arr(p.xs)};`,
      `var b = ${arr(p.xs.map(() => 0))};`,
      `var k = ${arr(p.xs.map(() => 1))};`,
      `for (var j = 0; j < ${int(p.n)}; j++) {`,
      `  var a = ${ax ? ax.ld('j') : 'j'};`,
      `  if (a < 0) { a += ${int(r)}; }`,
      '  let dim = xd[a];',
      `  let step = ${sp ? sp.ld('j') : '1'};`,
      `  var s = ${st.ld('j')};`,
      '  if (s < 0) { s += dim; }',
      '  if (step > 0) { s = clamp(s, 0, dim); } else { s = clamp(s, 0, dim - 1); }',
      '  b[a] = s;',
      '  k[a] = step;',
      '}',
      ...d.code,
      `return bitcast<u32>(${x.ld(p.xs.map((_, q) => `(b[${q}] + ${d.idx[q]} * k[${q}]) * ${int(xst[q]!)}`).join(' + ') || '0')});`,
    ];
    return s.elementwiseBody(p.ys.reduce((a, v) => a * v, 1), p.el, body);
  },
};

export interface PadRtParams extends BaseParams {
  el: StoreElem;
  xel: StoreElem;
  mode: 'constant' | 'reflect' | 'edge' | 'wrap';
  xs: number[];
  ys: number[];
  /** Axes the pads cover (pads has 2n entries). */
  n: number;
  /** Runtime axes operand `ax` (else 0..n-1). */
  axes: boolean;
  /** Constant fill as raw bits (null: runtime operand `cv`). */
  value: number | null;
}

export const padRtB: KernelGen<PadRtParams> = {
  id: 'pad_rt_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const pads = s.input('pads', 'i32', bufOf(p, 'pads'));
    const ax = p.axes ? s.input('ax', 'i32', bufOf(p, 'ax')) : null;
    const cv = p.value === null ? s.input('cv', p.el, bufOf(p, 'cv')) : null;
    const r = p.xs.length;
    const d = decompose('e', p.ys, 'o');
    const body = [
      `var b = ${arr(p.xs.map(() => 0))};`,
      `for (var j = 0; j < ${int(p.n)}; j++) {`,
      `  var a = ${ax ? ax.ld('j') : 'j'};`,
      `  if (a < 0) { a += ${int(r)}; }`,
      `  b[a] = ${pads.ld('j')};`,
      '}',
      ...d.code,
      'var inb = true;',
    ];
    const xst = stridesOf(p.xs);
    const src: string[] = [];
    p.xs.forEach((len, k) => {
      body.push(`let r${k} = ${d.idx[k]} - b[${k}];`);
      switch (p.mode) {
        case 'constant': body.push(`let s${k} = r${k};`, `inb = inb && r${k} >= 0 && r${k} < ${int(len)};`); break;
        case 'edge': body.push(`let s${k} = clamp(r${k}, 0, ${int(Math.max(0, len - 1))});`); break;
        case 'wrap': body.push(`let s${k} = ((r${k} % ${int(Math.max(1, len))}) + ${int(Math.max(1, len))}) % ${int(Math.max(1, len))};`); break;
        case 'reflect': {
          if (len <= 1) body.push(`let s${k} = 0;`);
          else {
            const per = 2 * (len - 1);
            body.push(`let m${k} = ((r${k} % ${int(per)}) + ${int(per)}) % ${int(per)};`, `let s${k} = select(${int(per)} - m${k}, m${k}, m${k} < ${int(len)});`);
          }
        }
      }
      src.push(xst[k] === 1 ? `s${k}` : `s${k} * ${int(xst[k]!)}`);
    });
    const fill = p.value === null ? `bitcast<u32>(${cv!.ld('0')})` : `${p.value >>> 0}u`;
    body.push(`if (!inb) { return ${fill}; }`, `return bitcast<u32>(${x.ld(src.join(' + ') || '0')});`);
    return s.elementwiseBody(p.ys.reduce((a, v) => a * v, 1), p.el, body);
  },
};

// ---------------------------------------------------------------------------------------------
// GatherND / ScatterElements / ScatterND
// ---------------------------------------------------------------------------------------------

/** Statement normalizing index variable `v` (negative: + dim). */
function wrapIdx(v: string, dim: number): string {
  return `if (${v} < 0) { ${v} += ${int(dim)}; }`;
}

export interface GatherNdParams extends BaseParams {
  el: StoreElem;
  xel: StoreElem;
  xs: number[];
  is: number[];
  ys: number[];
  batch: number;
}

export const gatherNdB: KernelGen<GatherNdParams> = {
  id: 'gathernd_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const idx = s.input('idx', 'i32', bufOf(p, 'idx'));
    const q = p.is[p.is.length - 1]!;
    const pre = p.is.length - 1;
    const d = decompose('e', p.ys, 'o');
    const xst = stridesOf(p.xs);
    const ist = stridesOf(p.is);
    const body = [...d.code, `let ib = ${linear(d.idx.slice(0, pre), ist.slice(0, pre))};`];
    const terms: string[] = [];
    for (let k = 0; k < p.batch; k++) terms.push(`${d.idx[k]} * ${int(xst[k]!)}`);
    for (let j = 0; j < q; j++) {
      body.push(`var q${j} = ${idx.ld(`ib + ${int(j)}`)};`, wrapIdx(`q${j}`, p.xs[p.batch + j]!));
      terms.push(`q${j} * ${int(xst[p.batch + j]!)}`);
    }
    for (let t = p.batch + q; t < p.xs.length; t++) terms.push(`${d.idx[pre + t - p.batch - q]} * ${int(xst[t]!)}`);
    body.push(`return bitcast<u32>(${x.ld(terms.join(' + ') || '0')});`);
    return s.elementwiseBody(p.ys.reduce((a, v) => a * v, 1), p.el, body);
  },
};

/** Scatter reductions. */
export type ScatterRed = 'none' | 'add' | 'mul' | 'max' | 'min';

/** Combination of the current value `v` with update `u` (typed). */
function combine(red: ScatterRed, v: string, u: string): string {
  switch (red) {
    case 'none': return u;
    case 'add': return `${v} + ${u}`;
    case 'mul': return `${v} * ${u}`;
    case 'max': return `max(${v}, ${u})`;
    case 'min': return `min(${v}, ${u})`;
  }
}

export interface ScatterParams extends BaseParams {
  /** Output storage, loader kinds of data and updates ('f32' for f32), scalar type. */
  el: StoreElem;
  xel: QElem;
  uel: QElem;
  st: Scalar;
  red: ScatterRed;
  xs: number[];
  /** Indices (and updates) shape. */
  is: number[];
  /** ScatterElements axis (unused by ScatterND). */
  axis: number;
}

export const scatterElementsB: KernelGen<ScatterParams> = {
  id: 'scatter_elements_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const idx = s.input('idx', 'i32', bufOf(p, 'idx'));
    const upd = s.input('upd', p.uel, bufOf(p, 'upd'));
    const d = decompose('e', p.xs, 'o');
    const ist = stridesOf(p.is);
    const inRange = p.xs.map((_, k) => (k === p.axis ? '' : `${d.idx[k]} < ${int(p.is[k]!)}`)).filter((t) => t !== '');
    const uIdx = p.xs.map((_, k) => (k === p.axis ? 'j' : d.idx[k]!));
    const body = [
      ...d.code,
      `var v = ${asScalar(x.ld('e'), p.xel, p.st)};`,
      `if (${inRange.join(' && ') || 'true'}) {`,
      `  for (var j = 0; j < ${int(p.is[p.axis]!)}; j++) {`,
      `    let u = ${linear(uIdx, ist)};`,
      `    var t = ${idx.ld('u')};`,
      `    ${wrapIdx('t', p.xs[p.axis]!)}`,
      `    if (t == ${d.idx[p.axis]}) { v = ${combine(p.red, 'v', asScalar(upd.ld('u'), p.uel, p.st))}; }`,
      '  }',
      '}',
      `return ${bitsOf('v', p.st)};`,
    ];
    return s.elementwiseBody(p.xs.reduce((a, v) => a * v, 1), p.el, body);
  },
};

export const scatterNdB: KernelGen<ScatterParams> = {
  id: 'scatternd_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const idx = s.input('idx', 'i32', bufOf(p, 'idx'));
    const upd = s.input('upd', p.uel, bufOf(p, 'upd'));
    const q = p.is[p.is.length - 1]!;
    const nU = p.is.slice(0, -1).reduce((a, v) => a * v, 1);
    const S = p.xs.slice(q).reduce((a, v) => a * v, 1);
    const xst = stridesOf(p.xs);
    const tgt: string[] = [];
    const body = [
      `var v = ${asScalar(x.ld('e'), p.xel, p.st)};`,
      `let base = (e / ${int(S)}) * ${int(S)};`,
      `let r = e % ${int(S)};`,
      `for (var u = 0; u < ${int(nU)}; u++) {`,
    ];
    for (let j = 0; j < q; j++) {
      body.push(`  var q${j} = ${idx.ld(`u * ${int(q)} + ${int(j)}`)};`, `  ${wrapIdx(`q${j}`, p.xs[j]!)}`);
      tgt.push(`q${j} * ${int(xst[j]!)}`);
    }
    body.push(
      `  if (${tgt.join(' + ') || '0'} == base) { v = ${combine(p.red, 'v', asScalar(upd.ld(`u * ${int(S)} + r`), p.uel, p.st))}; }`,
      '}',
      `return ${bitsOf('v', p.st)};`,
    );
    return s.elementwiseBody(p.xs.reduce((a, v) => a * v, 1), p.el, body);
  },
};

// ---------------------------------------------------------------------------------------------
// OneHot / TopK / CumSum / CumProd
// ---------------------------------------------------------------------------------------------

export interface OneHotParams extends BaseParams {
  el: StoreElem;
  /** Loader of the indices ('f32': truncated). */
  iel: QElem;
  /** Loader of the values (2 elements: off, on). */
  vel: StoreElem;
  ys: number[];
  axis: number;
}

export const oneHotB: KernelGen<OneHotParams> = {
  id: 'onehot_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const idx = s.input('idx', p.iel, bufOf(p, 'idx'));
    const vals = s.input('vals', p.vel, bufOf(p, 'vals'));
    const depth = p.ys[p.axis]!;
    const d = decompose('e', p.ys, 'o');
    const is = p.ys.filter((_, k) => k !== p.axis);
    const ii = d.idx.filter((_, k) => k !== p.axis);
    const rd = idx.ld(linear(ii, stridesOf(is)));
    const body = [
      ...d.code,
      // float indices truncate; out-of-range ones (after one wrap of negatives) match nothing
      p.iel === 'f32' ? `let f = trunc(${rd});` : '',
      p.iel === 'f32' ? `var t = select(-1, i32(f), abs(f) < 2147483520.0);` : `var t = ${rd};`,
      `if (t < 0) { t += ${int(depth)}; }`,
      `return bitcast<u32>(select(${vals.ld('0')}, ${vals.ld('1')}, t == ${d.idx[p.axis]}));`,
    ].filter((l) => l !== '');
    return s.elementwiseBody(p.ys.reduce((a, v) => a * v, 1), p.el, body);
  },
};

export interface TopKParams extends BaseParams {
  /** Output storage (values: the input's; indices: i32). */
  el: StoreElem;
  xel: QElem;
  st: Scalar;
  outer: number;
  L: number;
  inner: number;
  K: number;
  largest: boolean;
  /** Output: the values or the indices. */
  indices: boolean;
}

export const topkB: KernelGen<TopKParams> = {
  id: 'topk_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const f = p.st === 'f32';
    const t = wgslType(p.st);
    // before(w, v): w sorts before v (largest: greater first); NaN orders below every number, as the reference's comparator does
    const gt = f
      ? 'fn gt_k(a: f32, b: f32) -> bool {\n  let an = (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u;\n  let bn = (bitcast<u32>(b) & 0x7fffffffu) > 0x7f800000u;\n  if (an || bn) { return bn && !an; }\n  return a > b;\n}'
      : `fn gt_k(a: ${t}, b: ${t}) -> bool {\n  return a > b;\n}`;
    s.fn({ name: 'gt_k', code: gt });
    s.fn({ name: 'before', code: `fn before(w: ${t}, v: ${t}) -> bool {\n  return ${p.largest ? 'gt_k(w, v)' : 'gt_k(v, w)'};\n}` });
    const rd = (k: string) => asScalar(x.ld(`(o * ${int(p.L)} + ${k}) * ${int(p.inner)} + i`), p.xel, p.st);
    const body = [
      `let i = e % ${int(p.inner)};`,
      `let r = (e / ${int(p.inner)}) % ${int(p.K)};`,
      `let o = e / ${int(p.inner * p.K)};`,
      `for (var j = 0; j < ${int(p.L)}; j++) {`,
      `  let v = ${rd('j')};`,
      '  var rank = 0;',
      `  for (var q = 0; q < ${int(p.L)}; q++) {`,
      `    let w = ${rd('q')};`,
      '    if (before(w, v) || (q < j && !before(v, w))) { rank++; }',
      '  }',
      `  if (rank == r) { return ${p.indices ? 'bitcast<u32>(j)' : bitsOf('v', p.st)}; }`,
      '}',
      'return 0u;',
    ];
    return s.elementwiseBody(p.outer * p.K * p.inner, p.el, body);
  },
};

export interface CumParams extends BaseParams {
  el: StoreElem;
  xel: QElem;
  st: Scalar;
  xs: number[];
  prod: boolean;
  exclusive: boolean;
  reverse: boolean;
  /** Constant axis (normalized), or null: runtime operand `ax` (one element). */
  axis: number | null;
}

export const cumB: KernelGen<CumParams> = {
  id: 'cum_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const ax = p.axis === null ? s.input('ax', 'i32', bufOf(p, 'ax')) : null;
    const r = p.xs.length;
    const inner = p.xs.map((_, k) => p.xs.slice(k + 1).reduce((a, v) => a * v, 1));
    const one = p.st === 'f32' ? '1.0' : p.st === 'u32' ? '1u' : '1';
    const zero = p.st === 'f32' ? '0.0' : p.st === 'u32' ? '0u' : '0';
    const body = [
      `var dims = ${arr(p.xs)};`,
      `var inn = ${arr(inner)};`,
      `var a = ${ax ? ax.ld('0') : int(p.axis!)};`,
      `if (a < 0) { a += ${int(r)}; }`,
      'let n = dims[a];',
      'let st = inn[a];',
      'let pos = (e / st) % n;',
      'let base = e - pos * st;',
      `var acc = ${p.prod ? one : zero};`,
      // the positions combined into e: before it (reverse: after it), e itself unless exclusive
      p.reverse
        ? `for (var q = ${p.exclusive ? 'pos + 1' : 'pos'}; q < n; q++) {`
        : `for (var q = 0; q < ${p.exclusive ? 'pos' : 'pos + 1'}; q++) {`,
      `  let v = ${asScalar(x.ld('base + q * st'), p.xel, p.st)};`,
      `  acc = ${p.prod ? 'acc * v' : 'acc + v'};`,
      '}',
      `return ${bitsOf('acc', p.st)};`,
    ];
    return s.elementwiseBody(p.xs.reduce((a, v) => a * v, 1), p.el, body);
  },
};

// ---------------------------------------------------------------------------------------------
// Einsum
// ---------------------------------------------------------------------------------------------

export interface EinsumParams extends BaseParams {
  /** Output dims (one per output label). */
  ys: number[];
  /** Sizes of the summed labels. */
  sums: number[];
  /** Per input: stride of each output label, then of each summed label (0 when absent). */
  strides: number[][];
}

export const einsumF32: KernelGen<EinsumParams> = {
  id: 'einsum_f32',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const xs = p.strides.map((_, k) => s.input(`x${k}`, 'f32', bufOf(p, `x${k}`)));
    const d = decompose('e', p.ys, 'o');
    const nOut = p.ys.length;
    const body = [...d.code, 'var acc = 0.0;'];
    p.sums.forEach((n, k) => body.push(`${'  '.repeat(k)}for (var s${k} = 0; s${k} < ${int(n)}; s${k}++) {`));
    const ind = '  '.repeat(p.sums.length);
    const vars = [...d.idx, ...p.sums.map((_, k) => `s${k}`)];
    const prod = xs.map((x, k) => x.ld(linear(vars, p.strides[k]!.slice(0, nOut + p.sums.length)))).join(' * ');
    body.push(`${ind}acc += ${prod || '1.0'};`);
    for (let k = p.sums.length - 1; k >= 0; k--) body.push(`${'  '.repeat(k)}}`);
    body.push('return bitcast<u32>(acc);');
    return s.elementwiseBody(p.ys.reduce((a, v) => a * v, 1), 'i32', body);
  },
};

// ---------------------------------------------------------------------------------------------
// Typed reductions
// ---------------------------------------------------------------------------------------------

export interface ReduceTypedParams extends BaseParams {
  op: 'ReduceMax' | 'ReduceMin' | 'ReduceSum' | 'ReduceProd';
  el: StoreElem;
  xel: QElem;
  st: Scalar;
  xs: number[];
  /** Reduced axes (normalized), or null: a runtime `axes` operand of nAxes entries. */
  axes: number[] | null;
  nAxes: number;
  /** noop_with_empty_axes (runtime axes: an empty list copies x). */
  noop: boolean;
  /** Output element count (keepdims or not: the kept dims in order). */
  n: number;
  /** Identity of an empty reduction as raw bits. */
  init: number;
}

export const reduceTyped: KernelGen<ReduceTypedParams> = {
  id: 'reduce_typed',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const ax = p.axes === null ? s.input('axes', 'i32', bufOf(p, 'axes')) : null;
    s.fn(F32_BITS);
    const r = p.xs.length;
    const xst = stridesOf(p.xs);
    const t = wgslType(p.st);
    const init = p.st === 'f32' ? `f32_bits(${p.init >>> 0}u)` : p.st === 'bool' ? `${p.init !== 0}` : `bitcast<${t}>(${p.init >>> 0}u)`;
    const comb = (v: string): string => {
      switch (p.op) {
        case 'ReduceMax': return p.st === 'bool' ? `acc || ${v}` : `max(acc, ${v})`;
        case 'ReduceMin': return p.st === 'bool' ? `acc && ${v}` : `min(acc, ${v})`;
        case 'ReduceSum': return `acc + ${v}`;
        case 'ReduceProd': return `acc * ${v}`;
      }
    };
    // reduced dims as a bit mask; output index -> base offset over the kept dims
    const body = ['var mask = 0u;'];
    if (ax) {
      for (let j = 0; j < p.nAxes; j++) body.push(`{ let a = ${ax.ld(int(j))}; mask |= 1u << u32(select(a, a + ${int(r)}, a < 0)); }`);
      if (p.nAxes === 0 && !p.noop) body.push(`mask = ${r === 0 ? 0 : 2 ** r - 1}u;`);
    } else body.push(`mask = ${p.axes!.reduce((m, a) => m + 2 ** a, 0)}u;`);
    body.push('var rem = e;', 'var base = 0;', 'var cnt = 1;');
    for (let d = r - 1; d >= 0; d--) {
      body.push(`if ((mask & ${2 ** d}u) != 0u) { cnt *= ${int(p.xs[d]!)}; } else { base += (rem % ${int(p.xs[d]!)}) * ${int(xst[d]!)}; rem /= ${int(p.xs[d]!)}; }`);
    }
    const noop = p.axes === null && p.noop && p.nAxes === 0;
    body.push(`var acc: ${t} = ${init};`, 'for (var q0 = 0; q0 < cnt; q0++) {', '  var q = q0;', '  var o = base;');
    for (let d = r - 1; d >= 0; d--) body.push(`  if ((mask & ${2 ** d}u) != 0u) { o += (q % ${int(p.xs[d]!)}) * ${int(xst[d]!)}; q /= ${int(p.xs[d]!)}; }`);
    body.push(`  let v = ${asScalar(x.ld('o'), p.xel, p.st)};`, `  acc = ${noop ? 'v' : comb('v')};`, '}', `return ${bitsOf('acc', p.st)};`);
    return s.elementwiseBody(p.n, p.el, body);
  },
};

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear with runtime (or blocked, or 16-bit) parameters
// ---------------------------------------------------------------------------------------------

export interface QdqRtParams extends BaseParams {
  quant: boolean;
  n: number;
  /** Axis size (1: per tensor) and elements after the axis. */
  A: number;
  inner: number;
  /** Block size along the axis (0: per axis / per tensor) and the blocked axis size ceil(A / bs). */
  bs: number;
  Ab: number;
  /** Loader of x (quantize: 'i32', the f32 bits; dequantize: the integer storage kind). */
  xel: StoreElem;
  /** Loader of the zero point (null: none). */
  zel: StoreElem | null;
  /** Output storage (dequantize: 'i32', the f32 bits) and the integer range of a quantized output. */
  el: StoreElem;
  lo: number;
  hi: number;
}

/**
 * qdq_rt: QuantizeLinear y = clamp(roundHalfEven(x / s) + zp) (exactly, quant_f32) or
 * DequantizeLinear y = f32(x - zp) * s, with f32 scale and zero point operands (runtime or
 * constant) indexed per tensor, per axis or per block as compiler/ops/quant.ts paramIndex.
 */
export const qdqRt: KernelGen<QdqRtParams> = {
  id: 'qdq_rt',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const sc = s.input('sc', 'i32', bufOf(p, 'sc'));
    const zp = p.zel ? s.input('zp', p.zel, bufOf(p, 'zp')) : null;
    const body = p.bs > 0
      ? [
        `let o = e / ${int(p.A * p.inner)};`,
        `let k = (e / ${int(p.inner)}) % ${int(p.A)};`,
        `let c = (o * ${int(p.Ab)} + k / ${int(p.bs)}) * ${int(p.inner)} + e % ${int(p.inner)};`,
      ]
      : [`let c = (e / ${int(p.inner)}) % ${int(p.A)};`];
    body.push(`let z = ${zp ? zp.ld('c') : '0'};`);
    if (p.quant) {
      s.fn(QUANT_F32);
      body.push(`return bitcast<u32>(quant_f32(bitcast<u32>(${x.ld('e')}), bitcast<u32>(${sc.ld('c')}), z, ${int(p.lo)}, ${int(p.hi)}));`);
    } else {
      body.push(`return bitcast<u32>(f32(${x.ld('e')} - z) * bitcast<f32>(${sc.ld('c')}));`);
    }
    return s.elementwiseBody(p.n, p.el, body);
  },
};

// ---------------------------------------------------------------------------------------------
// MatMulInteger / QLinearMatMul with runtime operands
// ---------------------------------------------------------------------------------------------

/**
 * Correctly rounded f32 division for normal operands with a normal quotient (WGSL's `/` may be
 * 2.5 ulp off): the 24-bit significand of mx / ms by a float estimate corrected with the exact
 * remainder (wrapping u32 arithmetic, |remainder| < 2^31), rounded half to even. Other operands
 * (zero, subnormal, infinite, NaN, out-of-range quotients) fall back to `/`.
 */
export const DIV_F32: WgslFn = {
  name: 'div_f32',
  code: [
    'fn div_f32(a: f32, b: f32) -> f32 {',
    '  let ab = bitcast<u32>(a);',
    '  let bb = bitcast<u32>(b);',
    '  let ae = (ab >> 23u) & 0xffu;',
    '  let be = (bb >> 23u) & 0xffu;',
    '  if (ae == 0u || ae == 255u || be == 0u || be == 255u) { return a / b; }',
    '  var mx = (ab & 0x7fffffu) | 0x800000u;',
    '  let ms = (bb & 0x7fffffu) | 0x800000u;',
    '  var E = i32(ae) - i32(be);',
    '  if (mx < ms) { mx = mx << 1u; E -= 1; }',
    '  var q = u32(floor(f32(mx) / f32(ms) * 8388608.0));',
    '  var qr = bitcast<i32>((mx << 23u) - q * ms);',
    '  for (var t = 0; t < 16 && qr < 0; t++) { q -= 1u; qr += i32(ms); }',
    '  for (var t = 0; t < 16 && qr >= i32(ms); t++) { q += 1u; qr -= i32(ms); }',
    '  let r = u32(qr) * 2u;',
    '  if (r > ms || (r == ms && (q & 1u) == 1u)) { q += 1u; }',
    '  if (q == 0x1000000u) { q = 0x800000u; E += 1; }',
    '  let fe = E + 127;',
    '  if (fe <= 0 || fe >= 255) { return a / b; }',
    '  return bitcast<f32>(((ab ^ bb) & 0x80000000u) | (u32(fe) << 23u) | (q & 0x7fffffu));',
    '}',
  ].join('\n'),
};

/** How a parameter broadcasts over the [M, N] product: absent, one value, per row, per column. */
export type MnKind = 'none' | 'scalar' | 'row' | 'col';

export interface QMatMulRtParams extends BaseParams {
  M: number;
  K: number;
  N: number;
  /** Broadcast batch dims of the output and each operand's batch strides (in matrices; 0: broadcast). */
  batch: number[];
  sa: number[];
  sb: number[];
  ael: StoreElem;
  bel: StoreElem;
  za: MnKind;
  zb: MnKind;
  /** Loaders of the zero points (a, b, y). */
  zael: StoreElem;
  zbel: StoreElem;
  yzel: StoreElem;
  /** QLinearMatMul: scales a_scale, b_scale, y_scale (f32) and y_zero_point; else the i32 accumulator. */
  qlinear: boolean;
  as: MnKind;
  bs: MnKind;
  ys: MnKind;
  yz: MnKind;
  el: StoreElem;
  lo: number;
  hi: number;
}

/**
 * qmatmul_rt: y = (a - za) @ (b - zb) exactly in i32 (MatMulInteger), or requantized
 * saturate(roundHalfEven(acc * m) + yz) with m = fl32(fl32(as * bs) / ys) and the product taken
 * exactly (rq_float), as compiler/ops/matmul.ts QLinearMatMul. One thread per output element.
 */
export const qmatmulRt: KernelGen<QMatMulRtParams> = {
  id: 'qmatmul_rt',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const a = s.input('a', p.ael, bufOf(p, 'a'));
    const b = s.input('b', p.bel, bufOf(p, 'b'));
    const pick = (kind: MnKind, v: { ld(e: string): string } | null, dflt: string): string =>
      kind === 'none' || !v ? dflt : v.ld(kind === 'scalar' ? '0' : kind === 'row' ? 'i' : 'j');
    const za = p.za !== 'none' ? s.input('za', p.zael, bufOf(p, 'za')) : null;
    const zb = p.zb !== 'none' ? s.input('zb', p.zbel, bufOf(p, 'zb')) : null;
    const asc = p.qlinear ? s.input('scale_a', 'f32', bufOf(p, 'scale_a')) : null;
    const bsc = p.qlinear ? s.input('scale_b', 'f32', bufOf(p, 'scale_b')) : null;
    const ysc = p.qlinear ? s.input('scale_y', 'f32', bufOf(p, 'scale_y')) : null;
    const yz = p.qlinear && p.yz !== 'none' ? s.input('yz', p.yzel, bufOf(p, 'yz')) : null;
    const d = decompose('t', p.batch, 'u');
    const body = [
      `let j = e % ${int(p.N)};`,
      `let i = (e / ${int(p.N)}) % ${int(p.M)};`,
      `let t = e / ${int(p.M * p.N)};`,
      ...d.code,
      `let oa = (${linear(d.idx, p.sa)}) * ${int(p.M * p.K)} + i * ${int(p.K)};`,
      `let ob = (${linear(d.idx, p.sb)}) * ${int(p.K * p.N)} + j;`,
      `let zav = ${pick(p.za, za, '0')};`,
      `let zbv = ${pick(p.zb, zb, '0')};`,
      'var acc = 0;',
      `for (var k = 0; k < ${int(p.K)}; k++) {`,
      `  acc += (${a.ld('oa + k')} - zav) * (${b.ld(`ob + k * ${int(p.N)}`)} - zbv);`,
      '}',
    ];
    if (!p.qlinear) body.push('return bitcast<u32>(acc);');
    else {
      s.fnAll(RQ_LIB);
      s.fn(DIV_F32);
      body.push(
        `let m = div_f32(${pick(p.as, asc, '1.0')} * ${pick(p.bs, bsc, '1.0')}, ${pick(p.ys, ysc, '1.0')});`,
        'let mb = bitcast<u32>(m);',
        'let me = (mb >> 23u) & 0xffu;',
        'let mant = select((mb & 0x7fffffu) | 0x800000u, mb & 0x7fffffu, me == 0u);',
        'let ex = select(i32(me) - 150, -149, me == 0u);',
        'let sacc = select(acc, -acc, (mb >> 31u) == 1u);',
        `return bitcast<u32>(clamp(rq_float(sacc, mant, ex) + ${pick(p.yz, yz, '0')}, ${int(p.lo)}, ${int(p.hi)}));`,
      );
    }
    return s.elementwiseBody(p.batch.reduce((x, v) => x * v, 1) * p.M * p.N, p.el, body);
  },
};

export interface DqlParams extends BaseParams {
  /** Elements of x. */
  n: number;
  /** Output: the scale (f32) or the zero point (u8). */
  zp: boolean;
}

/**
 * dql_params_b: DynamicQuantizeLinear's scale = fl32(fl32(max(0, max x) - min(0, min x)) / 255)
 * (1 when the range is empty) or zero point = roundHalfEven(clamp(-fl32(min / scale), 0, 255)),
 * with correctly rounded divisions (div_f32); one thread scans x (NaN is skipped, as the
 * reference's comparisons do).
 */
export const dqlParamsB: KernelGen<DqlParams> = {
  id: 'dql_params_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', 'f32', bufOf(p, 'x'));
    s.fn(DIV_F32);
    const body = [
      'var mx = 0.0;',
      'var mn = 0.0;',
      `for (var k = 0; k < ${int(p.n)}; k++) {`,
      `  let v = ${x.ld('k')};`,
      '  if (v > mx) { mx = v; }',
      '  if (v < mn) { mn = v; }',
      '}',
      'let scale = div_f32(select(mx - mn, 1.0, mx == mn), 255.0);',
    ];
    if (p.zp) body.push('let zpf = 0.0 - div_f32(mn, scale);', 'return u32(round(clamp(zpf, 0.0, 255.0)));');
    else body.push('return bitcast<u32>(scale);');
    return s.elementwiseBody(1, p.zp ? 'u8' : 'i32', body);
  },
};

export interface RangeParams extends BaseParams {
  el: StoreElem;
  /** Loaders of start and delta and the scalar type the values are computed in. */
  sel: QElem;
  st: Scalar;
  n: number;
}

/** range_b: y[i] = start + i * delta (start, delta: one-element operands, runtime or constant). */
export const rangeB: KernelGen<RangeParams> = {
  id: 'range_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const st = s.input('start', p.sel, bufOf(p, 'start'));
    const dl = s.input('delta', p.sel, bufOf(p, 'delta'));
    const t = wgslType(p.st);
    return s.elementwiseBody(p.n, p.el, [`let v = ${asScalar(st.ld('0'), p.sel, p.st)} + ${t}(e) * ${asScalar(dl.ld('0'), p.sel, p.st)};`, `return ${bitsOf('v', p.st)};`]);
  },
};

export interface ReverseSeqParams extends BaseParams {
  el: StoreElem;
  xel: StoreElem;
  xs: number[];
  batchAxis: number;
  timeAxis: number;
}

/** reverse_seq_b: ReverseSequence, y[b, t] = x[b, lens[b] - 1 - t] for t < lens[b], else x[b, t]. */
export const reverseSeqB: KernelGen<ReverseSeqParams> = {
  id: 'reverse_seq_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const lens = s.input('lens', 'i32', bufOf(p, 'lens'));
    const d = decompose('e', p.xs, 'i');
    const xst = stridesOf(p.xs);
    const tb = d.idx[p.timeAxis]!;
    const body = [
      ...d.code,
      `let l = ${lens.ld(d.idx[p.batchAxis]!)};`,
      `let t = select(${tb}, l - 1 - ${tb}, ${tb} < l);`,
      `return bitcast<u32>(${x.ld(`e + (t - ${tb}) * ${int(xst[p.timeAxis]!)}`)});`,
    ];
    return s.elementwiseBody(p.xs.reduce((a, v) => a * v, 1), p.el, body);
  },
};

export interface QConvRtParams extends BaseParams {
  N: number;
  C: number;
  M: number;
  G: number;
  /** Spatial geometry lifted to 3-D: input, output, kernel, strides, dilations, begin pads. */
  I: number[];
  O: number[];
  K: number[];
  S: number[];
  D: number[];
  P: number[];
  xel: StoreElem;
  wel: StoreElem;
  /** Zero points: x per tensor; w per tensor or per output channel ('row'). */
  xz: MnKind;
  wz: MnKind;
  xzel: StoreElem;
  wzel: StoreElem;
  /** QLinearConv: x_scale, w_scale (per tensor or per channel), y_scale, y_zero_point, i32 bias. */
  qlinear: boolean;
  ws: MnKind;
  yz: MnKind;
  yzel: StoreElem;
  bias: boolean;
  el: StoreElem;
  lo: number;
  hi: number;
}

/**
 * qconv_rt: ConvInteger acc = sum (x - xz) * (w - wz[m]) (padding taps skipped: they read xz) in
 * i32, or QLinearConv saturate(roundHalfEven((acc + bias[m]) * m_m) + yz) with
 * m_m = fl32(fl32(xs * ws[m]) / ys) and the product exact (rq_float). One thread per output.
 */
export const qconvRt: KernelGen<QConvRtParams> = {
  id: 'qconv_rt',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const w = s.input('w', p.wel, bufOf(p, 'w'));
    const xz = p.xz !== 'none' ? s.input('xz', p.xzel, bufOf(p, 'xz')) : null;
    const wz = p.wz !== 'none' ? s.input('wz', p.wzel, bufOf(p, 'wz')) : null;
    const sx = p.qlinear ? s.input('scale_x', 'f32', bufOf(p, 'scale_x')) : null;
    const sw = p.qlinear ? s.input('scale_w', 'f32', bufOf(p, 'scale_w')) : null;
    const sy = p.qlinear ? s.input('scale_y', 'f32', bufOf(p, 'scale_y')) : null;
    const yz = p.qlinear && p.yz !== 'none' ? s.input('yz', p.yzel, bufOf(p, 'yz')) : null;
    const bias = p.bias ? s.input('bias', 'i32', bufOf(p, 'bias')) : null;
    const Cg = p.C / p.G;
    const Mg = p.M / p.G;
    const d = decompose('e', [p.N, p.M, ...p.O], 'o');
    const [n, m, o0, o1, o2] = d.idx as [string, string, string, string, string];
    const body = [
      ...d.code,
      `let g = ${m} / ${int(Mg)};`,
      `let xzv = ${xz ? xz.ld('0') : '0'};`,
      `let wzv = ${wz ? wz.ld(p.wz === 'row' ? m : '0') : '0'};`,
      `var acc = ${bias ? bias.ld(m) : '0'};`,
      `for (var c = 0; c < ${int(Cg)}; c++) {`,
      `  let xc = (${n} * ${int(p.C)} + g * ${int(Cg)} + c) * ${int(p.I[0]! * p.I[1]! * p.I[2]!)};`,
      `  let wc = (${m} * ${int(Cg)} + c) * ${int(p.K[0]! * p.K[1]! * p.K[2]!)};`,
      `  for (var k0 = 0; k0 < ${int(p.K[0]!)}; k0++) {`,
      `    let i0 = ${o0} * ${int(p.S[0]!)} - ${int(p.P[0]!)} + k0 * ${int(p.D[0]!)};`,
      `    if (i0 < 0 || i0 >= ${int(p.I[0]!)}) { continue; }`,
      `    for (var k1 = 0; k1 < ${int(p.K[1]!)}; k1++) {`,
      `      let i1 = ${o1} * ${int(p.S[1]!)} - ${int(p.P[1]!)} + k1 * ${int(p.D[1]!)};`,
      `      if (i1 < 0 || i1 >= ${int(p.I[1]!)}) { continue; }`,
      `      for (var k2 = 0; k2 < ${int(p.K[2]!)}; k2++) {`,
      `        let i2 = ${o2} * ${int(p.S[2]!)} - ${int(p.P[2]!)} + k2 * ${int(p.D[2]!)};`,
      `        if (i2 < 0 || i2 >= ${int(p.I[2]!)}) { continue; }`,
      `        let xv = ${x.ld(`xc + (i0 * ${int(p.I[1]!)} + i1) * ${int(p.I[2]!)} + i2`)};`,
      `        let wv = ${w.ld(`wc + (k0 * ${int(p.K[1]!)} + k1) * ${int(p.K[2]!)} + k2`)};`,
      '        acc += (xv - xzv) * (wv - wzv);',
      '      }',
      '    }',
      '  }',
      '}',
    ];
    if (!p.qlinear) body.push('return bitcast<u32>(acc);');
    else {
      s.fnAll(RQ_LIB);
      s.fn(DIV_F32);
      body.push(
        `let mu = div_f32(${sx!.ld('0')} * ${sw!.ld(p.ws === 'row' ? m : '0')}, ${sy!.ld('0')});`,
        'let mb = bitcast<u32>(mu);',
        'let me = (mb >> 23u) & 0xffu;',
        'let mant = select((mb & 0x7fffffu) | 0x800000u, mb & 0x7fffffu, me == 0u);',
        'let ex = select(i32(me) - 150, -149, me == 0u);',
        'let sacc = select(acc, -acc, (mb >> 31u) == 1u);',
        `return bitcast<u32>(clamp(rq_float(sacc, mant, ex) + ${yz ? yz.ld('0') : '0'}, ${int(p.lo)}, ${int(p.hi)}));`,
      );
    }
    return s.elementwiseBody(p.N * p.M * p.O[0]! * p.O[1]! * p.O[2]!, p.el, body);
  },
};

export interface CompressParams extends BaseParams {
  el: StoreElem;
  xel: StoreElem;
  /** Data shape seen by the kernel (flattened to [n] without an axis) and the output shape. */
  xs: number[];
  ys: number[];
  axis: number;
  /** Condition length (entries past it count as false). */
  nc: number;
}

/** compress_b: y[..., a, ...] = x[..., j, ...] with j the index of the a-th true condition entry. */
export const compressB: KernelGen<CompressParams> = {
  id: 'compress_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const cond = s.input('cond', 'u8', bufOf(p, 'cond'));
    const d = decompose('e', p.ys, 'o');
    const xst = stridesOf(p.xs);
    const a = d.idx[p.axis]!;
    const body = [
      ...d.code,
      'var cnt = 0;',
      'var j = 0;',
      `for (var q = 0; q < ${int(Math.min(p.nc, p.xs[p.axis]!))}; q++) {`,
      `  if (${cond.ld('q')} != 0) { if (cnt == ${a}) { j = q; break; } cnt++; }`,
      '}',
      `return bitcast<u32>(${x.ld(p.xs.map((_, k) => `${k === p.axis ? 'j' : d.idx[k]} * ${int(xst[k]!)}`).join(' + ') || '0')});`,
    ];
    return s.elementwiseBody(p.ys.reduce((u, v) => u * v, 1), p.el, body);
  },
};

export interface TensorScatterParams extends BaseParams {
  el: StoreElem;
  xel: StoreElem;
  uel: StoreElem;
  /** past_cache viewed as [outer, L, inner]; update as [outer, Ls, inner]; outer entries per batch. */
  outer: number;
  L: number;
  Ls: number;
  inner: number;
  perBatch: number;
  circular: boolean;
  /** Runtime write_indices operand `wi` (else 0). */
  indices: boolean;
}

/** tensor_scatter_b: present = past with update's rows written at write_indices[b] (+ s, modulo L when circular). */
export const tensorScatterB: KernelGen<TensorScatterParams> = {
  id: 'tensor_scatter_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const u = s.input('upd', p.uel, bufOf(p, 'upd'));
    const wi = p.indices ? s.input('wi', 'i32', bufOf(p, 'wi')) : null;
    const body = [
      `let q = e % ${int(p.inner)};`,
      `let pos = (e / ${int(p.inner)}) % ${int(p.L)};`,
      `let o = e / ${int(p.inner * p.L)};`,
      `let w = ${wi ? wi.ld(`o / ${int(p.perBatch)}`) : '0'};`,
      p.circular ? `let sp = (((pos - w) % ${int(p.L)}) + ${int(p.L)}) % ${int(p.L)};` : 'let sp = pos - w;',
      `if (sp >= 0 && sp < ${int(p.Ls)}) { return bitcast<u32>(${u.ld(`(o * ${int(p.Ls)} + sp) * ${int(p.inner)} + q`)}); }`,
      `return bitcast<u32>(${x.ld('e')});`,
    ];
    return s.elementwiseBody(p.outer * p.L * p.inner, p.el, body);
  },
};

export interface DetParams extends BaseParams {
  /** Matrices and their size. */
  batch: number;
  n: number;
}

/** det_f32: determinant of each n x n matrix by Gaussian elimination with partial pivoting (the reference's algorithm, in f32). */
export const detF32: KernelGen<DetParams> = {
  id: 'det_f32',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', 'f32', bufOf(p, 'x'));
    const n = p.n;
    const body = [
      `var m: array<f32, ${n * n}>;`,
      `for (var i = 0; i < ${int(n * n)}; i++) { m[i] = ${x.ld(`e * ${int(n * n)} + i`)}; }`,
      'var det = 1.0;',
      `for (var c = 0; c < ${int(n)}; c++) {`,
      '  var p = c;',
      `  for (var r = c + 1; r < ${int(n)}; r++) { if (abs(m[r * ${int(n)} + c]) > abs(m[p * ${int(n)} + c])) { p = r; } }`,
      `  let piv = m[p * ${int(n)} + c];`,
      '  if (piv == 0.0) { return 0u; }',
      '  if (p != c) {',
      `    for (var k = 0; k < ${int(n)}; k++) { let t = m[c * ${int(n)} + k]; m[c * ${int(n)} + k] = m[p * ${int(n)} + k]; m[p * ${int(n)} + k] = t; }`,
      '    det = -det;',
      '  }',
      '  det *= piv;',
      `  for (var r = c + 1; r < ${int(n)}; r++) {`,
      `    let f = m[r * ${int(n)} + c] / piv;`,
      `    for (var k = c + 1; k < ${int(n)}; k++) { m[r * ${int(n)} + k] -= f * m[c * ${int(n)} + k]; }`,
      '  }',
      '}',
      'return bitcast<u32>(det);',
    ];
    return s.elementwiseBody(p.batch, 'i32', body);
  },
};

/** Every kernel of this file. */
export const INDEX_KERNELS = [sliceRtB, padRtB, gatherNdB, scatterElementsB, scatterNdB, oneHotB, topkB, cumB, einsumF32, reduceTyped, qdqRt, qmatmulRt, dqlParamsB, rangeB, reverseSeqB, qconvRt, compressB, tensorScatterB, detF32] as const;
