/**
 * Op family: linear (de)quantization. QuantizeLinear, DequantizeLinear (per-tensor, per-axis and
 * blocked layouts) and DynamicQuantizeLinear.
 *
 * Bit-exactness: divisions and products are taken in the precision the spec names (the scale's
 * dtype, or the `precision` / `output_dtype` attribute), rounding half to even, then saturating.
 * float8 / float4 / 2-bit types are not supported (the importer rejects them).
 */
import { DType, ONNX_DTYPE_NAMES, dtypeFromOnnx, intRange, isFloat, roundHalfEven, roundToDType } from '../ir/dtype.js';
import { Shape, Tensor, TensorType } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, InferCtx, defineOp, need, normAxis } from './registry.js';
import { elemsOf, floatData } from './conv.js';

/** Integer types QuantizeLinear may produce. */
const QTYPES: readonly DType[] = ['u8', 'i8', 'u16', 'i16', 'u4', 'i4', 'i32'];

interface QAttrs {
  axis: number;
  blockSize: number;
  /** output_dtype (QuantizeLinear) / output_dtype (DequantizeLinear), undefined when not set. */
  outDtype?: DType;
  /** Precision of the division (QuantizeLinear opset 25), undefined: the scale's dtype. */
  precision?: DType;
}

/** Reads a dtype-valued attribute (ONNX TensorProto data type number; 0 = unset). */
function dtypeAttr(r: AttrReader, name: string): DType | undefined {
  const n = r.int(name, 0);
  if (n === 0) return undefined;
  const dt = dtypeFromOnnx(n);
  if (!dt) throw r.unsupported(`${name} ${ONNX_DTYPE_NAMES[n] ?? n} is not supported`);
  return dt;
}

function readQAttrs(r: AttrReader): QAttrs {
  const blockSize = r.int('block_size', 0);
  if (blockSize < 0) throw r.error(`block_size must be non-negative, got ${blockSize}`);
  const a: QAttrs = { axis: r.int('axis', 1), blockSize };
  const od = dtypeAttr(r, 'output_dtype');
  if (od) a.outDtype = od;
  const pr = dtypeAttr(r, 'precision');
  if (pr) {
    if (!isFloat(pr)) throw r.error(`precision must be a float type, got ${pr}`);
    a.precision = pr;
  }
  return a;
}

/**
 * For every element of x, the index of its scale / zero point: per-tensor (scalar or [1]),
 * per-axis (1-D of x.shape[axis]) or blocked (same rank as x, axis dim ceil(D / block_size)).
 */
function paramIndex(x: readonly number[], s: readonly number[], a: QAttrs, op: string): Int32Array {
  const n = x.reduce((p, d) => p * d, 1);
  const idx = new Int32Array(n);
  const sn = s.reduce((p, d) => p * d, 1);
  if (a.blockSize === 0 && (s.length === 0 || (s.length === 1 && sn === 1))) return idx;
  if (x.length === 0) throw invalid(`${op}: a scalar input needs a scalar scale`);
  const ax = normAxis(a.axis, x.length, `${op} axis`);
  const A = x[ax]!;
  const inner = x.slice(ax + 1).reduce((p, d) => p * d, 1);
  if (a.blockSize === 0) {
    if (s.length !== 1 || s[0] !== A) throw invalid(`${op}: scale of shape [${s.join(',')}] does not match axis ${ax} of size ${A}`);
    for (let i = 0; i < n; i++) idx[i] = Math.floor(i / inner) % A;
    return idx;
  }
  const bs = a.blockSize;
  const Ab = Math.ceil(A / bs);
  if (s.length !== x.length || s.some((d, i) => (i === ax ? d !== Ab : d !== x[i]))) {
    throw invalid(`${op}: blocked scale of shape [${s.join(',')}] does not match input [${x.join(',')}] with block_size ${bs} on axis ${ax}`);
  }
  for (let i = 0; i < n; i++) {
    const o = Math.floor(i / (A * inner));
    const k = Math.floor(i / inner) % A;
    idx[i] = (o * Ab + Math.floor(k / bs)) * inner + (i % inner);
  }
  return idx;
}

function checkZp(op: string, scale: Tensor, zp: Tensor | null): void {
  if (zp && (zp.shape.length !== scale.shape.length || zp.shape.some((d, i) => d !== scale.shape[i]))) {
    if (!(zp.size === 1 && scale.size === 1)) throw invalid(`${op}: zero point shape [${zp.shape.join(',')}] differs from scale [${scale.shape.join(',')}]`);
  }
}

function quantOutDtype(op: string, zp: TensorType | null | undefined, a: QAttrs): DType {
  let dt: DType = 'u8';
  if (zp) {
    dt = zp.dtype;
    if (a.outDtype && a.outDtype !== dt) throw invalid(`${op}: output_dtype ${a.outDtype} differs from the zero point dtype ${dt}`);
  } else if (a.outDtype) dt = a.outDtype;
  if (!QTYPES.includes(dt)) throw unsupported(`${op}: output dtype ${dt} is not supported`);
  return dt;
}

const perElement = (_c: InferCtx, _a: unknown, outs: TensorType[]) => ({ macs: 0, flops: 2 * elemsOf(outs[0]?.shape ?? []) });

// y = saturate(round_half_even(x / y_scale) + y_zero_point), division in the scale's precision
export const QuantizeLinear = defineOp<QAttrs>({
  name: 'QuantizeLinear',
  domain: '',
  since: 10,
  arity: [2, 3],
  attrs: (r) => readQAttrs(r),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'QuantizeLinear');
    if (!isFloat(x.dtype) && x.dtype !== 'i32') throw unsupported(`QuantizeLinear: input dtype ${x.dtype} is not supported`);
    return [{ dtype: quantOutDtype('QuantizeLinear', ctx.inputs[2], a), shape: x.shape }];
  },
  ref: (ins, a) => {
    const op = 'QuantizeLinear';
    const X = need(ins[0], 0, op);
    const S = need(ins[1], 1, op);
    const Z = ins[2] ?? null;
    const dt = quantOutDtype(op, Z, a);
    checkZp(op, S, Z);
    const idx = paramIndex(X.shape, S.shape, a, op);
    const prec = a.precision ?? (isFloat(S.dtype) ? S.dtype : 'f32');
    const rc = (v: number) => roundToDType(prec, v);
    const [lo, hi] = intRange(dt);
    const x = floatData(X);
    const s = floatData(S);
    const z = Z ? floatData(Z) : null;
    const out = Tensor.zeros(dt, X.shape);
    const od = out.data as Int32Array;
    for (let i = 0; i < x.length; i++) {
      const p = idx[i]!;
      let q = roundHalfEven(rc(rc(x[i]!) / s[p]!));
      if (z) q += z[p]!;
      od[i] = q < lo ? lo : q > hi ? hi : Number.isNaN(q) ? 0 : q;
    }
    return [out];
  },
  cost: perElement,
});

function dequantOutDtype(ctx: { opset: number }, scale: DType, a: QAttrs): DType {
  if (!isFloat(scale)) throw invalid(`DequantizeLinear: x_scale must be a float tensor, got ${scale}`);
  if (a.outDtype) {
    if (!isFloat(a.outDtype)) throw invalid(`DequantizeLinear: output_dtype must be a float type, got ${a.outDtype}`);
    return a.outDtype;
  }
  return ctx.opset >= 19 ? scale : 'f32';
}

// y = (x - x_zero_point) * x_scale, computed in the output precision
export const DequantizeLinear = defineOp<QAttrs>({
  name: 'DequantizeLinear',
  domain: '',
  since: 10,
  arity: [2, 3],
  attrs: (r) => readQAttrs(r),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'DequantizeLinear');
    if (!QTYPES.includes(x.dtype)) throw unsupported(`DequantizeLinear: input dtype ${x.dtype} is not supported`);
    const s = need(ctx.inputs[1], 1, 'DequantizeLinear');
    return [{ dtype: dequantOutDtype(ctx, s.dtype, a), shape: x.shape }];
  },
  ref: (ins, a, ctx) => {
    const op = 'DequantizeLinear';
    const X = need(ins[0], 0, op);
    const S = need(ins[1], 1, op);
    const Z = ins[2] ?? null;
    if (!QTYPES.includes(X.dtype)) throw unsupported(`${op}: input dtype ${X.dtype} is not supported`);
    if (Z && Z.dtype !== X.dtype) throw invalid(`${op}: zero point dtype ${Z.dtype} differs from input dtype ${X.dtype}`);
    checkZp(op, S, Z);
    const dt = dequantOutDtype(ctx, S.dtype, a);
    const idx = paramIndex(X.shape, S.shape, a, op);
    const rc = (v: number) => roundToDType(dt, v);
    const x = floatData(X);
    const s = floatData(S);
    const z = Z ? floatData(Z) : null;
    const out = Tensor.zeros(dt, X.shape);
    const od = out.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      const p = idx[i]!;
      const d = rc(z ? x[i]! - z[p]! : x[i]!);
      od[i] = rc(d * s[p]!);
    }
    return [out];
  },
  cost: perElement,
});

/**
 * ONNX DynamicQuantizeLinear (uint8), float32 arithmetic as in the spec:
 * scale = (max(0, max x) - min(0, min x)) / 255, zp = saturate(round(0 - min / scale)),
 * y = saturate(round(x / scale) + zp).
 */
export const DynamicQuantizeLinear = defineOp<Record<string, never>>({
  name: 'DynamicQuantizeLinear',
  domain: '',
  since: 11,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'DynamicQuantizeLinear');
    if (x.dtype !== 'f32') throw unsupported(`DynamicQuantizeLinear: input dtype ${x.dtype} is not supported (float only)`);
    const shape: Shape = x.shape;
    return [{ dtype: 'u8', shape }, { dtype: 'f32', shape: [] }, { dtype: 'u8', shape: [] }];
  },
  ref: (ins) => {
    const X = need(ins[0], 0, 'DynamicQuantizeLinear');
    if (X.dtype !== 'f32') throw unsupported(`DynamicQuantizeLinear: input dtype ${X.dtype} is not supported (float only)`);
    const f = Math.fround;
    const x = X.data as Float32Array;
    let mx = 0;
    let mn = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    const scale = f((mx === mn ? 1 : f(mx - mn)) / 255);
    const zpf = f(0 - f(mn / scale));
    const zp = roundHalfEven(zpf < 0 ? 0 : zpf > 255 ? 255 : zpf);
    const y = Tensor.zeros('u8', X.shape);
    const yd = y.data as Uint8Array;
    for (let i = 0; i < x.length; i++) {
      const q = roundHalfEven(f(x[i]! / scale)) + zp;
      yd[i] = q < 0 ? 0 : q > 255 ? 255 : q;
    }
    return [y, Tensor.from('f32', [], [scale]), Tensor.from('u8', [], [zp])];
  },
  cost: perElement,
});
