/**
 * Control and type ops: Identity, Dropout (inference), Cast, CastLike, Constant, EyeLike.
 */
import { DType, ONNX_DTYPE_NAMES, dtypeFromOnnx, isBigInt, isFloat } from '../ir/dtype.js';
import { Tensor, TypedArray, allocData } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, defineOp, need } from './registry.js';
import { perElementCost } from './elementwise.js';

// y = x
export const Identity = defineOp({
  name: 'Identity',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => [need(ctx.inputs[0], 0, 'Identity')],
  ref: (ins) => [need(ins[0], 0, 'Identity')],
  // sequences and optionals pass through too (ONNX Identity takes any value type)
  run: (ins) => [need(ins[0], 0, 'Identity')],
  cost: () => ({ macs: 0, flops: 0 }),
});

// ---------------------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------------------

interface DropoutAttrs {
  /** Ratio from the attribute (opset < 12). */
  ratio: number;
  /** Mask dtype: the input's before opset 10, bool from 10. */
  boolMask: boolean;
}

/** Scalar float from an optional input tensor, or a default. */
function scalarOf(t: Tensor | null | undefined, def: number, what: string): number {
  if (!t) return def;
  if (t.size !== 1) throw invalid(`Dropout: ${what} must be a scalar, got shape [${t.shape.join(',')}]`);
  return t.get(0);
}

// Inference dropout: y = x, mask all true. Training with ratio > 0 needs randomness we cannot
// reproduce bit for bit, so it is rejected.
export const Dropout = defineOp<DropoutAttrs>({
  name: 'Dropout',
  domain: '',
  since: 1,
  arity: [1, 3],
  attrs: (r, ctx) => {
    const ratio = ctx.opset < 12 ? r.float('ratio', 0.5) : 0.5;
    if (ratio < 0 || ratio >= 1 || Number.isNaN(ratio)) throw r.error(`attribute "ratio" must be in [0, 1), got ${ratio}`);
    // opset < 7 has is_test (default 0), which exporters leave unset on inference graphs; like
    // onnxruntime we run those as inference. Only opset 12's explicit training_mode input trains.
    return { ratio, boolMask: ctx.opset >= 10 };
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'Dropout');
    return [x, { dtype: a.boolMask ? 'bool' : x.dtype, shape: x.shape }];
  },
  ref: (ins, a, ctx) => {
    const x = need(ins[0], 0, 'Dropout');
    let ratio = a.ratio;
    let training = false;
    if (ctx.opset >= 12) {
      ratio = scalarOf(ins[1], 0.5, 'ratio');
      training = scalarOf(ins[2], 0, 'training_mode') !== 0;
      if (!(ratio >= 0 && ratio < 1)) throw invalid(`Dropout: ratio must be in [0, 1), got ${ratio}`);
    }
    if (training && ratio > 0) {
      throw unsupported(`Dropout in training mode with ratio ${ratio} is not supported (random masks); ` +
        'export the model for inference');
    }
    const maskDt: DType = a.boolMask ? 'bool' : x.dtype;
    const mask = Tensor.zeros(maskDt, x.shape);
    for (let i = 0; i < mask.size; i++) mask.set(i, 1);
    return [x, mask];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});

// ---------------------------------------------------------------------------------------------
// Cast
// ---------------------------------------------------------------------------------------------

/** Reads an ONNX data type attribute as a supported DType, or throws naming the type. */
function dtypeAttr(r: AttrReader, name: string, required: boolean): DType | undefined {
  const n = r.int(name);
  if (n === undefined) {
    if (required) throw r.error(`attribute "${name}" is required`);
    return undefined;
  }
  const dt = dtypeFromOnnx(n);
  if (!dt) {
    const label = ONNX_DTYPE_NAMES[n];
    if (label === undefined) throw r.error(`attribute "${name}" is ${n}, not an ONNX data type`);
    throw r.unsupported(`data type ${label} is not supported`);
  }
  return dt;
}

/** True when a typed-array store of the source numbers has exactly the Cast semantics for `dt`. */
function bulkConvertible(dt: DType): boolean {
  return dt === 'f32' || dt === 'f64' || dt === 'i8' || dt === 'u8' || dt === 'i16' || dt === 'u16' ||
    dt === 'i32' || dt === 'u32';
}

const INT_BITS: Partial<Record<DType, number>> = { i8: 8, u8: 8, i16: 16, u16: 16, i32: 32, u32: 32, i4: 4, u4: 4 };

/**
 * Formats a float like C's printf("%.8g"), with ONNX's spellings of NaN and infinities -- the
 * text onnxruntime's Cast produces (8 significant digits, trailing zeros dropped, e+XX exponents).
 * @param v value
 */
export function floatToString(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'INF';
  if (v === -Infinity) return '-INF';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const P = 8;
  const [mant, expText] = v.toExponential(P - 1).split('e') as [string, string];
  const e = Number(expText);
  const strip = (t: string) => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  if (e < -4 || e >= P) {
    const ae = Math.abs(e);
    return `${strip(mant)}e${e < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  return strip(v.toFixed(P - 1 - e));
}

/** Parses a string as a number the way ONNX Cast does (numpy float parsing; INF/NaN spellings). */
export function parseNumber(s: string): number {
  const t = s.trim();
  const low = t.toLowerCase();
  if (low === 'nan' || low === '+nan' || low === '-nan') return NaN;
  if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') return Infinity;
  if (low === '-inf' || low === '-infinity') return -Infinity;
  if (low === 'true') return 1;
  if (low === 'false') return 0;
  const v = Number(t);
  if (t === '' || Number.isNaN(v)) throw invalid(`Cast: cannot parse "${s.slice(0, 40)}" as a number`);
  return v;
}

/**
 * Converts a tensor to another dtype with ONNX Cast semantics: floats round to nearest even,
 * float to int truncates toward zero (out-of-range values wrap), anything to bool is x != 0,
 * strings parse/print as numbers.
 * @param x source tensor
 * @param to target dtype
 */
export function castTensor(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  const n = x.size;
  if (to === 'string') {
    const out = new Array<string>(n);
    if (isFloat(x.dtype)) for (let i = 0; i < n; i++) out[i] = floatToString(x.get(i));
    else for (let i = 0; i < n; i++) out[i] = String(x.data[i]);
    return new Tensor('string', x.shape, out);
  }
  if (x.dtype === 'string') {
    const src = x.data as string[];
    const out = Tensor.zeros(to, x.shape);
    if (isBigInt(to)) for (let i = 0; i < n; i++) out.set(i, parseBig(src[i]!, to));
    else for (let i = 0; i < n; i++) out.set(i, parseNumber(src[i]!));
    return out;
  }
  if (isBigInt(x.dtype)) return castFromBig(x, to);
  if (bulkConvertible(to)) {
    // typed-array construction converts like a C cast: round to f32, truncate + wrap for ints
    const data = allocData(to, n) as TypedArray;
    (data as Float64Array).set(x.data as Float64Array);
    return new Tensor(to, x.shape, data);
  }
  const out = Tensor.zeros(to, x.shape);
  const src = x.data as Float64Array;
  for (let i = 0; i < n; i++) out.set(i, src[i]!);
  return out;
}

/** Integer string to bigint (falls back to float parsing and truncation for "1.5e3" etc.). */
function parseBig(s: string, to: DType): bigint {
  const t = s.trim();
  if (/^[+-]?\d+$/.test(t)) return to === 'i64' ? BigInt.asIntN(64, BigInt(t)) : BigInt.asUintN(64, BigInt(t));
  const v = parseNumber(t);
  if (!Number.isFinite(v)) return 0n;
  const b = BigInt(Math.trunc(v));
  return to === 'i64' ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b);
}

/** Cast from i64/u64 keeping integer targets exact (wrap modulo 2^bits on the bigint). */
function castFromBig(x: Tensor, to: DType): Tensor {
  const src = x.data as BigInt64Array;
  const n = src.length;
  const out = Tensor.zeros(to, x.shape);
  if (isBigInt(to)) {
    const d = out.data as BigInt64Array;
    for (let i = 0; i < n; i++) d[i] = to === 'i64' ? BigInt.asIntN(64, src[i]!) : BigInt.asUintN(64, src[i]!);
    return out;
  }
  const bits = INT_BITS[to];
  if (bits !== undefined) {
    for (let i = 0; i < n; i++) out.set(i, Number(BigInt.asIntN(32, src[i]!)));
    return out;
  }
  for (let i = 0; i < n; i++) out.set(i, Number(src[i]!));
  return out;
}

// y = cast(x, to)
export const Cast = defineOp({
  name: 'Cast',
  domain: '',
  since: 1,
  arity: [1, 1],
  attrs: (r) => {
    // opset 1..5 spelled `to` as a string ("FLOAT"); from 6 it is the data type number
    const raw = r.node.attrs['to'];
    if (typeof raw === 'string') {
      const entry = Object.entries(ONNX_DTYPE_NAMES).find(([, v]) => v === raw.toUpperCase());
      const dt = entry ? dtypeFromOnnx(Number(entry[0])) : undefined;
      if (!dt) throw r.unsupported(`Cast to ${raw} is not supported`);
      return { to: dt };
    }
    return { to: dtypeAttr(r, 'to', true)! };
  },
  infer: (ctx, a) => [{ dtype: a.to, shape: need(ctx.inputs[0], 0, 'Cast').shape }],
  ref: (ins, a) => [castTensor(need(ins[0], 0, 'Cast'), a.to)],
  cost: perElementCost,
});

// y = cast(x, dtype of target_type)
export const CastLike = defineOp({
  name: 'CastLike',
  domain: '',
  since: 15,
  arity: [2, 2],
  attrs: () => ({}),
  infer: (ctx) => [{ dtype: need(ctx.inputs[1], 1, 'CastLike').dtype, shape: need(ctx.inputs[0], 0, 'CastLike').shape }],
  ref: (ins) => [castTensor(need(ins[0], 0, 'CastLike'), need(ins[1], 1, 'CastLike').dtype)],
  cost: perElementCost,
});

// ---------------------------------------------------------------------------------------------
// Constant, EyeLike
// ---------------------------------------------------------------------------------------------

/** Builds the tensor of a Constant node from whichever value attribute it carries. */
function constantValue(r: AttrReader): Tensor {
  const present = ['value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'value_string', 'value_strings',
    'sparse_value'].filter((k) => r.has(k));
  if (present.length !== 1) {
    throw r.error(`Constant needs exactly one value attribute, got ${present.length ? present.join(', ') : 'none'}`);
  }
  switch (present[0]) {
    case 'value': return r.tensor('value')!;
    case 'value_float': return Tensor.from('f32', [], [r.float('value_float')!]);
    case 'value_floats': { const v = r.floats('value_floats')!; return Tensor.from('f32', [v.length], v); }
    case 'value_int': return Tensor.from('i64', [], [BigInt(r.int('value_int')!)]);
    case 'value_ints': { const v = r.ints('value_ints')!; return Tensor.from('i64', [v.length], v.map((x) => BigInt(x))); }
    case 'value_string': return new Tensor('string', [], [r.string('value_string')!]);
    case 'value_strings': { const v = r.strings('value_strings')!; return new Tensor('string', [v.length], [...v]); }
    default: throw r.unsupported('Constant with a sparse_value is not supported');
  }
}

// y = the attribute's tensor
export const Constant = defineOp({
  name: 'Constant',
  domain: '',
  since: 1,
  arity: [0, 0],
  attrs: (r) => ({ value: constantValue(r) }),
  infer: (_ctx, a) => [a.value.type],
  ref: (_ins, a) => [a.value],
  cost: () => ({ macs: 0, flops: 0 }),
});

// y[i, j] = (j - i == k) for a 2-D input's shape, in `dtype` (default: the input's)
export const EyeLike = defineOp({
  name: 'EyeLike',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: (r) => ({ dtype: dtypeAttr(r, 'dtype', false), k: r.int('k', 0) }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'EyeLike');
    if (x.shape.length !== 2) throw invalid(`EyeLike: input must be 2-D, got rank ${x.shape.length}`);
    return [{ dtype: a.dtype ?? x.dtype, shape: x.shape }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'EyeLike');
    if (x.shape.length !== 2) throw invalid(`EyeLike: input must be 2-D, got rank ${x.shape.length}`);
    const dt = a.dtype ?? x.dtype;
    if (dt === 'string') throw unsupported('EyeLike: string output is not supported');
    const [rows, cols] = x.shape as [number, number];
    const out = Tensor.zeros(dt, x.shape);
    for (let i = 0; i < rows; i++) {
      const j = i + a.k;
      if (j >= 0 && j < cols) out.set(i * cols + j, 1);
    }
    return [out];
  },
  cost: perElementCost,
});
