/**
 * Data movement on integer tensors of the int8 path (packed 8-bit or int32 words, wgsl/qshader.ts):
 * every kernel is output-driven (one thread per output word), so packed outputs never share a
 * word between threads. Inputs may be stored wide (one word per 8-bit element, ops/qint.ts):
 * their loader kind is a parameter (`xel`).
 *
 *   qview_b       y[i] = x[offset + sum_k i_k * strides_k]: Transpose, Slice, Split parts, Expand,
 *                 Tile, DepthToSpace / SpaceToDepth, output copies
 *   qconcat_b     Concat of up to 16 parts (part chosen by the axis coordinate)
 *   qpad_b        Pad (constant / reflect / edge / wrap)
 *   qgather_b     Gather with constant indices (table in weights)
 *   qminmax_b     Max / Min of two tensors with broadcasting
 *   qmaxpool_b    MaxPool (1-D / 2-D) of 8-bit tensors
 *   qgather_elements_b  GatherElements (constant or runtime indices)
 *   qtrilu_b      Trilu (constant or runtime diagonal offset)
 */
import { WgslFn, decompose, int, linear, stridesOf } from '../wgsl/shader.js';
import { QElem, QShaderBuilder } from '../wgsl/qshader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

/** Element kind of a movable value (the storage kinds of wgsl/qshader.ts). */
export type MoveElem = 'i8' | 'u8' | 'i16' | 'u16' | 'i32';


export interface QViewParams extends BaseParams {
  el: MoveElem;
  /** Loader of the input (int32 when an 8-bit input is stored wide). */
  xel: MoveElem;
  dims: number[];
  strides: number[];
  offset: number;
}

export const qviewB: KernelGen<QViewParams> = {
  id: 'qview_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const d = decompose('e', p.dims, 'i');
    return s.elementwiseBody(p.dims.reduce((a, b) => a * b, 1), p.el, [...d.code, `return bitcast<u32>(${x.ld(`${int(p.offset)} + ${linear(d.idx, p.strides)}`)});`]);
  },
};

export interface QConcatParams extends BaseParams {
  el: MoveElem;
  ys: number[];
  axis: number;
  /** Part shapes and loaders. */
  parts: number[][];
  xels: MoveElem[];
}

/** Most parts one qconcat_b dispatch takes (offset slots of the 256-byte uniform record). */
export const CONCAT_MAX_PARTS = 16;

export const qconcatB: KernelGen<QConcatParams> = {
  id: 'qconcat_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const xs = p.parts.map((_, k) => s.input(`x${k}`, p.xels[k]!, bufOf(p, `x${k}`)));
    const d = decompose('e', p.ys, 'i');
    const body = [...d.code, `let a = ${d.idx[p.axis]};`];
    let start = 0;
    p.parts.forEach((ps, k) => {
      const idx = d.idx.map((v, i) => (i === p.axis ? `a - ${int(start)}` : v));
      const end = start + ps[p.axis]!;
      body.push(`if (a < ${int(end)}) { return bitcast<u32>(${xs[k]!.ld(linear(idx, stridesOf(ps)))}); }`);
      start = end;
    });
    body.push('return 0u;');
    return s.elementwiseBody(p.ys.reduce((a, b) => a * b, 1), p.el, body);
  },
};

export interface QPadParams extends BaseParams {
  el: MoveElem;
  xel: MoveElem;
  mode: 'constant' | 'reflect' | 'edge' | 'wrap';
  xs: number[];
  ys: number[];
  begin: number[];
  /** Constant fill (an integer of the dtype). */
  value: number;
}

/** Statements mapping output index `o` of one dim to the source index `name` (mode-dependent). */
function srcIndex(mode: QPadParams['mode'], name: string, o: string, begin: number, len: number): string[] {
  const base = `let ${name}_r = ${o} - ${int(begin)};`;
  switch (mode) {
    case 'constant': return [base, `let ${name} = ${name}_r;`];
    case 'edge': return [base, `let ${name} = clamp(${name}_r, 0, ${int(len - 1)});`];
    case 'wrap': return [base, `let ${name} = ((${name}_r % ${int(len)}) + ${int(len)}) % ${int(len)};`];
    case 'reflect': {
      if (len === 1) return [base, `let ${name} = 0;`];
      const period = 2 * (len - 1);
      return [base, `let ${name}_m = ((${name}_r % ${int(period)}) + ${int(period)}) % ${int(period)};`,
        `let ${name} = select(${int(period)} - ${name}_m, ${name}_m, ${name}_m < ${int(len)});`];
    }
  }
}

export const qpadB: KernelGen<QPadParams> = {
  id: 'qpad_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const d = decompose('e', p.ys, 'o');
    const body = [...d.code];
    const src: string[] = [];
    const inb: string[] = [];
    p.xs.forEach((len, k) => {
      body.push(...srcIndex(p.mode, `s${k}`, d.idx[k]!, p.begin[k]!, len));
      src.push(`s${k}`);
      inb.push(`s${k} >= 0 && s${k} < ${int(len)}`);
    });
    const off = linear(src, stridesOf(p.xs));
    if (p.mode === 'constant') {
      body.push(`var v = ${int(p.value)};`);
      if (p.xs.every((v) => v > 0)) body.push(`if (${inb.join(' && ') || 'true'}) { v = ${x.ld(off)}; }`);
      body.push('return bitcast<u32>(v);');
    } else body.push(`return bitcast<u32>(${x.ld(off)});`);
    return s.elementwiseBody(p.ys.reduce((a, b) => a * b, 1), p.el, body);
  },
};

export interface QGatherParams extends BaseParams {
  el: MoveElem;
  xel: MoveElem;
  outer: number; axisLen: number; nIdx: number; inner: number;
  /**
   * Loader of runtime indices (an arena operand; negative ones count from the end, out-of-range
   * ones are clamped so no thread reads outside x); absent: normalized constant indices in weights.
   */
  idxel?: MoveElem;
}

export const qgatherB: KernelGen<QGatherParams> = {
  id: 'qgather_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const idx = s.input('idx', p.idxel ?? 'i32', p.idxel ? 'arena' : 'weights');
    const k = p.idxel
      ? [`let kr = ${idx.ld('j')};`, `let k = clamp(select(kr, kr + ${int(p.axisLen)}, kr < 0), 0, ${int(Math.max(0, p.axisLen - 1))});`]
      : [`let k = ${idx.ld('j')};`];
    return s.elementwiseBody(p.outer * p.nIdx * p.inner, p.el, [
      `let i = e % ${int(p.inner)};`,
      `let j = (e / ${int(p.inner)}) % ${int(p.nIdx)};`,
      `let o = e / ${int(p.inner * p.nIdx)};`,
      ...k,
      `return bitcast<u32>(${x.ld(`(o * ${int(p.axisLen)} + k) * ${int(p.inner)} + i`)});`,
    ]);
  },
};

export interface QMinMaxParams extends BaseParams {
  el: MoveElem;
  ael: MoveElem;
  bel: MoveElem;
  op: 'max' | 'min';
  shape: number[];
  sa: number[];
  sb: number[];
}

export const qminmaxB: KernelGen<QMinMaxParams> = {
  id: 'qminmax_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const a = s.input('a', p.ael, bufOf(p, 'a'));
    const b = s.input('b', p.bel, bufOf(p, 'b'));
    const d = decompose('e', p.shape, 'i');
    return s.elementwiseBody(p.shape.reduce((u, v) => u * v, 1), p.el, [...d.code, `return bitcast<u32>(${p.op}(${a.ld(linear(d.idx, p.sa))}, ${b.ld(linear(d.idx, p.sb))}));`]);
  },
};

export interface QMaxPoolParams extends BaseParams {
  el: 'i8' | 'u8';
  xel: MoveElem;
  planes: number; H: number; W: number; OH: number; OW: number;
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number; ph: number; pw: number;
}

export const qmaxpoolB: KernelGen<QMaxPoolParams> = {
  id: 'qmaxpool_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel as QElem);
    const P = p.OH * p.OW;
    return s.elementwiseBody(p.planes * P, p.el, [
      `let ow = e % ${int(p.OW)};`,
      `let oh = (e / ${int(p.OW)}) % ${int(p.OH)};`,
      `let xb = (e / ${int(P)}) * ${int(p.H)};`,
      'var acc = -2147483647;',
      `for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
      `  let ih = oh * ${int(p.sh)} - ${int(p.ph)} + kh * ${int(p.dh)};`,
      `  if (ih < 0 || ih >= ${int(p.H)}) { continue; }`,
      `  for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
      `    let iw = ow * ${int(p.sw)} - ${int(p.pw)} + kw * ${int(p.dw)};`,
      `    if (iw < 0 || iw >= ${int(p.W)}) { continue; }`,
      `    acc = max(acc, ${x.ld(`(xb + ih) * ${int(p.W)} + iw`)});`,
      '  }',
      '}',
      `return bitcast<u32>(max(acc, ${p.el === 'i8' ? -128 : 0}));`,
    ]);
  },
};


export interface QGatherElementsParams extends BaseParams {
  el: MoveElem;
  xel: MoveElem;
  /** Loader of the indices (i32 words; i64 indices are held as i32). */
  idxel: MoveElem;
  /** Data and index (= output) shapes. */
  xs: number[];
  is: number[];
  axis: number;
}

/**
 * qgather_elements_b: GatherElements, y[i] = x[i with the axis coordinate replaced by idx[i]]
 * (negative indices count from the end; out-of-range ones are clamped so no thread reads outside x).
 */
export const qgatherElementsB: KernelGen<QGatherElementsParams> = {
  id: 'qgather_elements_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const idx = s.input('idx', p.idxel, bufOf(p, 'idx'));
    const L = p.xs[p.axis]!;
    const d = decompose('e', p.is, 'i');
    const src = d.idx.map((v, k) => (k === p.axis ? 'k' : v));
    return s.elementwiseBody(p.is.reduce((a, b) => a * b, 1), p.el, [
      ...d.code,
      `let kr = ${idx.ld('e')};`,
      `let k = clamp(select(kr, kr + ${int(L)}, kr < 0), 0, ${int(Math.max(0, L - 1))});`,
      `return bitcast<u32>(${x.ld(linear(src, stridesOf(p.xs)))});`,
    ]);
  },
};

export interface QTriluParams extends BaseParams {
  el: MoveElem;
  xel: MoveElem;
  /** Matrices, rows and columns of the last two dims. */
  n: number;
  rows: number;
  cols: number;
  upper: boolean;
  /** Diagonal offset: a constant, or read from operand `k` (a runtime i32 / i64 scalar) when absent. */
  k?: number;
}

/** qtrilu_b: Trilu, y[.., i, j] = x[.., i, j] where j - i >= k (upper) or j - i <= k (lower), else 0. */
export const qtriluB: KernelGen<QTriluParams> = {
  id: 'qtrilu_b',
  gen(p) {
    const s = new QShaderBuilder(this.id);
    const x = s.input('x', p.xel, bufOf(p, 'x'));
    const kk = p.k === undefined ? s.input('k', 'i32', bufOf(p, 'k')).ld('0') : int(p.k);
    return s.elementwiseBody(p.n * p.rows * p.cols, p.el, [
      `let j = e % ${int(p.cols)};`,
      `let i = (e / ${int(p.cols)}) % ${int(p.rows)};`,
      `let keep = ${p.upper ? `j - i >= ${kk}` : `j - i <= ${kk}`};`,
      `return select(0u, bitcast<u32>(${x.ld('e')}), keep);`,
    ]);
  },
};

/** Every data-movement kernel of this file. */
export const QMOVE_KERNELS = [qviewB, qconcatB, qpadB, qgatherB, qminmaxB, qmaxpoolB, qgatherElementsB, qtriluB] as const;
