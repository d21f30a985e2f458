/**
 * Op family: pooling. MaxPool (optional Indices), AveragePool, LpPool and their global forms.
 *
 * Windows use the same geometry as Conv (conv.ts `windowDim`): 1..3 spatial dims lifted to 3,
 * auto_pad, dilations and ceil_mode. Padded positions never contribute to max/Lp; AveragePool
 * divides by the number of taps inside the input (count_include_pad=0) or inside the padded
 * input (count_include_pad=1; taps added by ceil_mode past the end padding never count).
 */
import { DType, isFloat } from '../ir/dtype.js';
import { Dim, Tensor, TensorType } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, defineOp, need } from './registry.js';
import {
  FArr, Geom3, WindowAttrs, elemsOf, floatData, geom3, readWindowAttrs, tensorFromF64, windowDim, windowParams,
} from './conv.js';

interface PoolAttrs extends WindowAttrs {
  kernelShape: number[];
  ceil: boolean;
}

interface MaxPoolAttrs extends PoolAttrs {
  storageOrder: number;
}

interface AvgPoolAttrs extends PoolAttrs {
  countIncludePad: boolean;
}

interface LpPoolAttrs extends PoolAttrs {
  p: number;
}

function readPoolAttrs(r: AttrReader): PoolAttrs {
  const w = readWindowAttrs(r, true);
  const ceil = r.int('ceil_mode', 0);
  if (ceil !== 0 && ceil !== 1) throw r.error(`ceil_mode must be 0 or 1, got ${ceil}`);
  return { ...w, kernelShape: w.kernelShape!, ceil: ceil === 1 };
}

const MAXPOOL_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'f64', 'i8', 'u8'];

function checkPoolInput(op: string, dt: DType, allowInt: boolean): void {
  if (allowInt ? !MAXPOOL_DTYPES.includes(dt) : !isFloat(dt)) throw unsupported(`${op}: input dtype ${dt} is not supported`);
}

/** Output type of a windowed pool. */
function poolInfer(ctx: InferCtx, a: PoolAttrs): TensorType {
  const op = ctx.node.op;
  const x = need(ctx.inputs[0], 0, op);
  if (x.shape.length < 3) throw invalid(`${op}: input must have rank >= 3 (N, C, spatial...), got rank ${x.shape.length}`);
  const nd = x.shape.length - 2;
  const p = windowParams(a, nd, undefined, op);
  const sp: Dim[] = x.shape.slice(2).map((I, i) => {
    if (typeof I !== 'number') return ctx.freshDim('s');
    return windowDim(I, p.kernel[i]!, p.strides[i]!, p.dilations[i]!, p.pads[i]!, p.pads[i + nd]!, a.autoPad, a.ceil, op)[0];
  });
  return { dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...sp] };
}

/** Resolves the geometry of a pool on a concrete input. */
function poolGeom(op: string, x: Tensor, a: PoolAttrs): { g: Geom3; planes: number; outShape: number[] } {
  if (x.shape.length < 3) throw invalid(`${op}: input must have rank >= 3 (N, C, spatial...), got rank ${x.shape.length}`);
  const nd = x.shape.length - 2;
  const p = windowParams(a, nd, undefined, op);
  const g = geom3(x.shape.slice(2), p, a.autoPad, a.ceil, op);
  return { g, planes: x.shape[0]! * x.shape[1]!, outShape: [x.shape[0]!, x.shape[1]!, ...g.O.slice(3 - nd)] };
}

/** Flops of a pool: one per window tap. */
function poolCost(outs: TensorType[], a: PoolAttrs) {
  return { macs: 0, flops: elemsOf(outs[0]?.shape ?? []) * a.kernelShape.reduce((x, y) => x * y, 1) };
}

/**
 * Max over each window. Returns values and, when wanted, the flat index of the max (first one
 * on ties) in row-major order (storageOrder 0) or with column-major spatial dims (1).
 */
function maxPoolCore(x: FArr, planes: number, g: Geom3, wantIdx: boolean, storageOrder: number): { y: Float64Array; idx: Float64Array | null } {
  const [ID, IH, IW] = g.I;
  const [OD, OH, OW] = g.O;
  const [KD, KH, KW] = g.K;
  const [SD, SH, SW] = g.S;
  const [DD, DH, DW] = g.D;
  const [PD, PH, PW] = g.P;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  const y = new Float64Array(planes * outPlane);
  const idx = wantIdx ? new Float64Array(planes * outPlane) : null;
  let yi = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xOff = pl * inPlane;
    for (let od = 0; od < OD; od++) {
      const d0 = od * SD - PD;
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * SH - PH;
        for (let ow = 0; ow < OW; ow++, yi++) {
          const w0 = ow * SW - PW;
          let best = -Infinity;
          let bi = -1;
          for (let kd = 0; kd < KD; kd++) {
            const id = d0 + kd * DD;
            if (id < 0 || id >= ID) continue;
            for (let kh = 0; kh < KH; kh++) {
              const ih = h0 + kh * DH;
              if (ih < 0 || ih >= IH) continue;
              const row = xOff + (id * IH + ih) * IW;
              for (let kw = 0; kw < KW; kw++) {
                const iw = w0 + kw * DW;
                if (iw < 0 || iw >= IW) continue;
                const v = x[row + iw]!;
                if (v > best || bi < 0) {
                  best = v;
                  bi = storageOrder === 0 ? row + iw : xOff + id + ih * ID + iw * ID * IH;
                }
              }
            }
          }
          y[yi] = best;
          if (idx) idx[yi] = bi;
        }
      }
    }
  }
  return { y, idx };
}

/** Number of taps k in [0, K) with lo <= o*s - p + k*d < hi. */
function tapCount(o: number, s: number, p: number, d: number, K: number, lo: number, hi: number): number {
  let c = 0;
  const start = o * s - p;
  for (let k = 0; k < K; k++) {
    const i = start + k * d;
    if (i >= lo && i < hi) c++;
  }
  return c;
}

/**
 * Sum (mode 'avg') or Lp norm (mode 'lp') over each window; padded taps add nothing.
 */
function sumPoolCore(x: FArr, planes: number, g: Geom3, mode: 'avg' | 'lp', includePad: boolean, p: number): Float64Array {
  const [ID, IH, IW] = g.I;
  const [OD, OH, OW] = g.O;
  const [KD, KH, KW] = g.K;
  const [SD, SH, SW] = g.S;
  const [DD, DH, DW] = g.D;
  const [PD, PH, PW] = g.P;
  const [ED, EH, EW] = g.E;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  const y = new Float64Array(planes * outPlane);
  // divisors are separable: count per dim, product over dims
  const cnt = (O: number, S: number, P: number, D: number, K: number, I: number, E: number) => {
    const c = new Float64Array(O);
    for (let o = 0; o < O; o++) c[o] = includePad ? tapCount(o, S, P, D, K, -P, I + E) : tapCount(o, S, P, D, K, 0, I);
    return c;
  };
  const cd = cnt(OD, SD, PD, DD, KD, ID, ED);
  const ch = cnt(OH, SH, PH, DH, KH, IH, EH);
  const cw = cnt(OW, SW, PW, DW, KW, IW, EW);
  let yi = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xOff = pl * inPlane;
    for (let od = 0; od < OD; od++) {
      const d0 = od * SD - PD;
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * SH - PH;
        for (let ow = 0; ow < OW; ow++, yi++) {
          const w0 = ow * SW - PW;
          let acc = 0;
          for (let kd = 0; kd < KD; kd++) {
            const id = d0 + kd * DD;
            if (id < 0 || id >= ID) continue;
            for (let kh = 0; kh < KH; kh++) {
              const ih = h0 + kh * DH;
              if (ih < 0 || ih >= IH) continue;
              const row = xOff + (id * IH + ih) * IW;
              for (let kw = 0; kw < KW; kw++) {
                const iw = w0 + kw * DW;
                if (iw < 0 || iw >= IW) continue;
                const v = x[row + iw]!;
                if (mode === 'avg') acc += v;
                else acc += p === 2 ? v * v : Math.abs(v) ** p;
              }
            }
          }
          if (mode === 'avg') y[yi] = acc / (cd[od]! * ch[oh]! * cw[ow]!);
          else y[yi] = p === 2 ? Math.sqrt(acc) : acc ** (1 / p);
        }
      }
    }
  }
  return y;
}

// Y[n,c,o] = max over the window at o (padding excluded); Indices = flat argmax
export const MaxPool = defineOp<MaxPoolAttrs>({
  name: 'MaxPool',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const a = readPoolAttrs(r);
    const so = r.int('storage_order', 0);
    if (so !== 0 && so !== 1) throw r.error(`storage_order must be 0 or 1, got ${so}`);
    return { ...a, storageOrder: so };
  },
  infer: (ctx, a) => {
    checkPoolInput('MaxPool', need(ctx.inputs[0], 0, 'MaxPool').dtype, true);
    const y = poolInfer(ctx, a);
    return ctx.node.outputs.length > 1 ? [y, { dtype: 'i64', shape: y.shape }] : [y];
  },
  ref: (ins, a, ctx) => {
    const x = need(ins[0], 0, 'MaxPool');
    checkPoolInput('MaxPool', x.dtype, true);
    const { g, planes, outShape } = poolGeom('MaxPool', x, a);
    const wantIdx = ctx.node.outputs.length > 1;
    const { y, idx } = maxPoolCore(floatData(x), planes, g, wantIdx, a.storageOrder);
    const out = [tensorFromF64(x.dtype, outShape, y)];
    if (idx) out.push(tensorFromF64('i64', outShape, idx));
    return out;
  },
  cost: (_c, a, outs) => poolCost(outs, a),
});

// Y[n,c,o] = mean over the window at o (divisor per count_include_pad)
export const AveragePool = defineOp<AvgPoolAttrs>({
  name: 'AveragePool',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    const a = readPoolAttrs(r);
    const cip = r.int('count_include_pad', 0);
    if (cip !== 0 && cip !== 1) throw r.error(`count_include_pad must be 0 or 1, got ${cip}`);
    return { ...a, countIncludePad: cip === 1 };
  },
  infer: (ctx, a) => {
    checkPoolInput('AveragePool', need(ctx.inputs[0], 0, 'AveragePool').dtype, false);
    return [poolInfer(ctx, a)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'AveragePool');
    checkPoolInput('AveragePool', x.dtype, false);
    const { g, planes, outShape } = poolGeom('AveragePool', x, a);
    return [tensorFromF64(x.dtype, outShape, sumPoolCore(floatData(x), planes, g, 'avg', a.countIncludePad, 1))];
  },
  cost: (_c, a, outs) => poolCost(outs, a),
});

/** LpPool / GlobalLpPool `p`: FLOAT in opset 1, INT from opset 2 (so the exporter writes it as such). */
function readP(r: AttrReader, def: number): number {
  const p = r.opset >= 2 ? r.int('p', def) : r.float('p', def);
  if (!(p > 0)) throw r.error(`p must be positive, got ${p}`);
  return p;
}

// Y[n,c,o] = (sum over the window at o of |x|^p)^(1/p)
export const LpPool = defineOp<LpPoolAttrs>({
  name: 'LpPool',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => ({ ...readPoolAttrs(r), p: readP(r, 2) }),
  infer: (ctx, a) => {
    checkPoolInput('LpPool', need(ctx.inputs[0], 0, 'LpPool').dtype, false);
    return [poolInfer(ctx, a)];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'LpPool');
    checkPoolInput('LpPool', x.dtype, false);
    const { g, planes, outShape } = poolGeom('LpPool', x, a);
    return [tensorFromF64(x.dtype, outShape, sumPoolCore(floatData(x), planes, g, 'lp', false, a.p))];
  },
  cost: (_c, a, outs) => poolCost(outs, a),
});

/** Reduces every spatial plane to one value. */
function globalPool(op: string, x: Tensor, f: (v: FArr, off: number, n: number) => number): Tensor {
  if (x.shape.length < 3) throw invalid(`${op}: input must have rank >= 3 (N, C, spatial...), got rank ${x.shape.length}`);
  const planes = x.shape[0]! * x.shape[1]!;
  const n = x.size / Math.max(planes, 1);
  const v = floatData(x);
  const y = new Float64Array(planes);
  for (let pl = 0; pl < planes; pl++) y[pl] = f(v, pl * n, n);
  return tensorFromF64(x.dtype, [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)], y);
}

function globalInfer(ctx: InferCtx, allowInt: boolean): TensorType[] {
  const op = ctx.node.op;
  const x = need(ctx.inputs[0], 0, op);
  checkPoolInput(op, x.dtype, allowInt);
  if (x.shape.length < 3) throw invalid(`${op}: input must have rank >= 3 (N, C, spatial...), got rank ${x.shape.length}`);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
}

const globalCost = (ctx: InferCtx) => ({ macs: 0, flops: elemsOf(ctx.inputs[0]?.shape ?? []) });

// Y[n,c] = mean of X[n,c,...]
export const GlobalAveragePool = defineOp<Record<string, never>>({
  name: 'GlobalAveragePool',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => globalInfer(ctx, false),
  ref: (ins) => [globalPool('GlobalAveragePool', need(ins[0], 0, 'GlobalAveragePool'), (v, off, n) => {
    let s = 0;
    for (let i = off; i < off + n; i++) s += v[i]!;
    return s / n;
  })],
  cost: globalCost,
});

// Y[n,c] = max of X[n,c,...]
export const GlobalMaxPool = defineOp<Record<string, never>>({
  name: 'GlobalMaxPool',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => globalInfer(ctx, true),
  ref: (ins) => [globalPool('GlobalMaxPool', need(ins[0], 0, 'GlobalMaxPool'), (v, off, n) => {
    let m = -Infinity;
    for (let i = off; i < off + n; i++) {
      const x = v[i]!;
      if (x > m || Number.isNaN(x)) m = x;
      if (Number.isNaN(m)) break;
    }
    return m;
  })],
  cost: globalCost,
});

// Y[n,c] = (sum of |X[n,c,...]|^p)^(1/p)
export const GlobalLpPool = defineOp<{ p: number }>({
  name: 'GlobalLpPool',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => ({ p: readP(r, 2) }),
  infer: (ctx) => globalInfer(ctx, false),
  ref: (ins, a) => [globalPool('GlobalLpPool', need(ins[0], 0, 'GlobalLpPool'), (v, off, n) => {
    let s = 0;
    for (let i = off; i < off + n; i++) s += Math.abs(v[i]!) ** a.p;
    return s ** (1 / a.p);
  })],
  cost: globalCost,
});


// ---------------------------------------------------------------------------------------------
// MaxUnpool
// ---------------------------------------------------------------------------------------------

interface MaxUnpoolAttrs {
  kernelShape: number[];
  strides: number[];
  pads: number[];
}

/** Spatial dims MaxPool's input had: (out - 1) * stride - pad_begin - pad_end + kernel. */
function unpoolDims(x: readonly number[], a: MaxUnpoolAttrs): number[] {
  const nd = a.kernelShape.length;
  return x.slice(2).map((d, i) => (d - 1) * a.strides[i]! - a.pads[i]! - a.pads[i + nd]! + a.kernelShape[i]!);
}

// MaxUnpool(X, I, output_shape?): Y = zeros of MaxPool's input shape with Y.flat[I[j]] = X.flat[j]
// (I as MaxPool's Indices output: offsets into the whole N x C x spatial tensor). With
// output_shape, that tensor sits at the start of each dim of a zero tensor of output_shape, as
// ONNX's reference implementation and test data place it.
export const MaxUnpool = defineOp<MaxUnpoolAttrs>({
  name: 'MaxUnpool',
  domain: '',
  since: 9,
  arity: [2, 3],
  attrs: (r) => {
    const kernelShape = r.ints('kernel_shape');
    if (!kernelShape || kernelShape.length === 0 || kernelShape.some((k) => k <= 0)) {
      throw r.error('attribute "kernel_shape" is required and must be positive');
    }
    const nd = kernelShape.length;
    const strides = r.ints('strides', new Array<number>(nd).fill(1));
    const pads = r.ints('pads', new Array<number>(2 * nd).fill(0));
    if (strides.length !== nd || strides.some((s) => s <= 0)) throw r.error(`strides must be ${nd} positive values, got [${strides.join(',')}]`);
    if (pads.length !== 2 * nd || pads.some((p) => p < 0)) throw r.error(`pads must be ${2 * nd} non-negative values, got [${pads.join(',')}]`);
    return { kernelShape, strides, pads };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'MaxUnpool');
    const idx = need(ctx.inputs[1], 1, 'MaxUnpool');
    if (idx.dtype !== 'i64') throw invalid(`MaxUnpool: indices must be int64, got ${idx.dtype}`);
    if (x.shape.length !== a.kernelShape.length + 2) {
      throw invalid(`MaxUnpool: input rank ${x.shape.length} does not match ${a.kernelShape.length} spatial dims`);
    }
    const given = ctx.consts[2];
    if (given) return [{ dtype: x.dtype, shape: given.toNumbers() }];
    if (ctx.inputs[2]) return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.freshDim()) }];
    const sp = x.shape.every((d) => typeof d === 'number') ? unpoolDims(x.shape as number[], a) : x.shape.slice(2).map(() => ctx.freshDim());
    return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...sp] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'MaxUnpool');
    const idx = need(ins[1], 1, 'MaxUnpool');
    if (x.shape.length !== a.kernelShape.length + 2) {
      throw invalid(`MaxUnpool: input rank ${x.shape.length} does not match ${a.kernelShape.length} spatial dims`);
    }
    if (idx.size !== x.size) throw invalid(`MaxUnpool: indices have ${idx.size} elements, X has ${x.size}`);
    const inferred = [x.shape[0]!, x.shape[1]!, ...unpoolDims(x.shape, a)];
    const shapeIn = ins[2];
    const shape = shapeIn ? shapeIn.toNumbers() : inferred;
    if (shape.length !== inferred.length || shape.some((d, i) => d < inferred[i]!)) {
      throw invalid(`MaxUnpool: output_shape [${shape.join(',')}] is smaller than the unpooled shape [${inferred.join(',')}]`);
    }
    const total = inferred.reduce((p, d) => p * d, 1);
    const y = Tensor.zeros(x.dtype, shape);
    const src = x.data as unknown as { [i: number]: number };
    const dst = y.data as unknown as { [i: number]: number };
    const rank = shape.length;
    for (let j = 0; j < x.size; j++) {
      let f = idx.get(j);
      if (!Number.isInteger(f) || f < 0 || f >= total) throw invalid(`MaxUnpool: index ${f} is outside [0, ${total})`);
      // unflatten against the inferred shape, flatten against the output shape
      let off = 0;
      let mul = 1;
      for (let d = rank - 1; d >= 0; d--) {
        const c = f % inferred[d]!;
        f = (f - c) / inferred[d]!;
        off += c * mul;
        mul *= shape[d]!;
      }
      dst[off] = src[j]!;
    }
    return [y];
  },
});
