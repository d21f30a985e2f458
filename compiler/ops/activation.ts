/**
 * Activation ops: pointwise nonlinearities (float), Clip (every numeric dtype), PRelu, and the
 * axis-wise Softmax / LogSoftmax / Hardmax.
 */
import { DType, isBigInt, isFloat } from '../ir/dtype.js';
import { Tensor, TensorType, numel } from '../ir/tensor.js';
import type { ValueId } from '../ir/graph.js';
import { invalid } from '../errors.js';
import { AttrReader, DecomposeBuilder, InferCtx, OpCtx, OpDef, broadcastShapes, defineOp, need, normAxis } from './registry.js';
import { applyAct } from './act.js';
import { broadcastConcrete } from './util.js';
import { broadcastOffsets, erf, finish, numData, numOut, perElementCost, rawData, requireDtype, unaryMap } from './elementwise.js';

/**
 * Defines a float activation y = f(x) whose scalar function is built once from the attributes.
 * @param name ONNX op name
 * @param since first opset of the op
 * @param attrs attribute parser
 * @param make builds the scalar function from parsed attributes
 * @param decompose optional expansion into primitive ops (OpDef.decompose)
 */
function floatAct<A>(name: string, since: number, attrs: (r: AttrReader, ctx: OpCtx) => A, make: (a: A) => (x: number) => number,
  decompose?: OpDef<A>['decompose']) {
  return defineOp<A>({
    name,
    domain: '',
    since,
    arity: [1, 1],
    attrs,
    infer: (ctx) => {
      const x = need(ctx.inputs[0], 0, name);
      requireDtype(name, x.dtype, isFloat, 'a float type');
      return [x];
    },
    ref: (ins, a) => {
      const x = need(ins[0], 0, name);
      requireDtype(name, x.dtype, isFloat, 'a float type');
      return [unaryMap(x, x.dtype, make(a))];
    },
    cost: perElementCost,
    ...(decompose ? { decompose } : {}),
  });
}

const none = () => ({});

/** Input 0 of a node being decomposed and its dtype. */
function input0(b: DecomposeBuilder): { x: number; dt: DType } {
  return { x: b.ids[0]!, dt: b.inputs[0]!.dtype };
}

// y = x >= 0 ? x : alpha * x
export const LeakyRelu = floatAct('LeakyRelu', 1, (r) => ({ alpha: r.float('alpha', 0.01) }),
  (a) => (x) => applyAct('LeakyRelu', [a.alpha], x));

// y = x > 0 ? x : alpha * (e^x - 1)
export const Elu = floatAct('Elu', 1, (r) => ({ alpha: r.float('alpha', 1) }),
  (a) => (x) => (x > 0 ? x : x <= 0 ? a.alpha * Math.expm1(x) : x));

// y = gamma * (x > 0 ? x : alpha * e^x - alpha)
export const Selu = floatAct('Selu', 1,
  (r) => ({ alpha: r.float('alpha', 1.67326319217681884765625), gamma: r.float('gamma', 1.05070102214813232421875) }),
  (a) => (x) => (x > 0 ? a.gamma * x : x <= 0 ? a.gamma * a.alpha * Math.expm1(x) : x));

// y = max(0, x) + min(0, alpha * (e^(x/alpha) - 1))
export const Celu = floatAct('Celu', 12,
  (r) => {
    const alpha = r.float('alpha', 1);
    if (alpha === 0) throw r.error('attribute "alpha" must not be 0');
    return { alpha };
  },
  (a) => (x) => (x > 0 ? x : x <= 0 ? a.alpha * Math.expm1(x / a.alpha) : x),
  // ONNX function body: Celu(x) = alpha * Elu(x / alpha) (Elu with alpha 1)
  (b, a) => {
    const { x, dt } = input0(b);
    const e = b.op1('Elu', [b.op1('Div', [x, b.scalar(dt, a.alpha)])], { alpha: 1 });
    return [b.op1('Mul', [e, b.scalar(dt, a.alpha)])];
  });

// y = 1 / (1 + e^-x)
export const Sigmoid = floatAct('Sigmoid', 1, none, () => (x) => applyAct('Sigmoid', [], x));

// y = max(0, min(1, alpha * x + beta))
export const HardSigmoid = floatAct('HardSigmoid', 1, (r) => ({ alpha: r.float('alpha', 0.2), beta: r.float('beta', 0.5) }),
  (a) => (x) => (x !== x ? x : applyAct('HardSigmoid', [a.alpha, a.beta], x)));

// y = x * max(0, min(1, x / 6 + 1/2))
export const HardSwish = floatAct('HardSwish', 14, none, () => (x) => applyAct('HardSwish', [], x),
  // ONNX function body: HardSwish(x) = x * HardSigmoid(x, alpha = 1/6, beta = 1/2)
  (b) => {
    const { x } = input0(b);
    return [b.op1('Mul', [x, b.op1('HardSigmoid', [x], { alpha: 1 / 6, beta: 0.5 })])];
  });

// y = tanh(x)
export const Tanh = floatAct('Tanh', 1, none, () => Math.tanh);

/** ln(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

// y = ln(1 + e^x)
export const Softplus = floatAct('Softplus', 1, none, () => softplus);

// y = x / (1 + |x|)
export const Softsign = floatAct('Softsign', 1, none, () => (x) => x / (1 + Math.abs(x)),
  // Softsign(x) = x / (1 + Abs(x))
  (b) => {
    const { x, dt } = input0(b);
    return [b.op1('Div', [x, b.op1('Add', [b.op1('Abs', [x]), b.scalar(dt, 1)])])];
  });

// y = x * tanh(softplus(x))
export const Mish = floatAct('Mish', 18, none, () => (x) => x * Math.tanh(softplus(x)),
  // Mish(x) = x * Tanh(Softplus(x))
  (b) => {
    const { x } = input0(b);
    return [b.op1('Mul', [x, b.op1('Tanh', [b.op1('Softplus', [x])])])];
  });

// y = x > alpha ? x : 0
export const ThresholdedRelu = floatAct('ThresholdedRelu', 10, (r) => ({ alpha: r.float('alpha', 1) }),
  (a) => (x) => (x > a.alpha ? x : x !== x ? x : 0),
  // Where(x > alpha, x, x * 0): x * 0 keeps NaN as NaN
  (b, a) => {
    const { x, dt } = input0(b);
    return [b.op1('Where', [b.op1('Greater', [x, b.scalar(dt, a.alpha)]), x, b.op1('Mul', [x, b.scalar(dt, 0)])])];
  });

const SQRT2 = Math.SQRT2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

// y = x * Phi(x): exact 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation
export const Gelu = floatAct('Gelu', 20,
  (r) => ({ tanh: r.oneOf('approximate', 'none' as 'none' | 'tanh', ['none', 'tanh']) === 'tanh' }),
  (a) => a.tanh
    ? (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    : (x) => 0.5 * x * (1 + erf(x / SQRT2)),
  // ONNX function body: 0.5 x (1 + Erf(x / sqrt 2)), or 0.5 x (1 + Tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  (b, a) => {
    const { x, dt } = input0(b);
    const c = (v: number) => b.scalar(dt, v);
    const inner = a.tanh
      ? b.op1('Tanh', [b.op1('Mul', [b.op1('Add', [x, b.op1('Mul', [b.op1('Mul', [b.op1('Mul', [x, x]), x]), c(0.044715)])]), c(SQRT_2_OVER_PI)])])
      : b.op1('Erf', [b.op1('Div', [x, c(SQRT2)])]);
    return [b.op1('Mul', [b.op1('Mul', [x, c(0.5)]), b.op1('Add', [inner, c(1)])])];
  });

// y = x >= 0 ? x : slope * x, slope broadcast to x (unidirectional)
export const PRelu = defineOp({
  name: 'PRelu',
  domain: '',
  since: 1,
  arity: [2, 2],
  attrs: none,
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'PRelu');
    const s = need(ctx.inputs[1], 1, 'PRelu');
    requireDtype('PRelu', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    const shape = broadcastShapes([x.shape, s.shape]);
    if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i] && typeof x.shape[i] === 'number')) {
      throw invalid(`PRelu: slope shape [${s.shape.join(',')}] does not broadcast to X [${x.shape.join(',')}]`);
    }
    return [x];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'PRelu');
    const s = need(ins[1], 1, 'PRelu');
    const shape = broadcastConcrete([x.shape, s.shape]);
    if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) {
      throw invalid(`PRelu: slope shape [${s.shape.join(',')}] does not broadcast to X [${x.shape.join(',')}]`);
    }
    const xd = numData(x);
    const sd = numData(s);
    const is = broadcastOffsets(s.shape, x.shape);
    const out = numOut(x.dtype, xd.length);
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i]!;
      out[i] = v < 0 ? sd[is[i]!]! * v : v;
    }
    return [finish(x.dtype, x.shape, out)];
  },
  cost: perElementCost,
});

// ---------------------------------------------------------------------------------------------
// Clip
// ---------------------------------------------------------------------------------------------

interface ClipAttrs {
  /** opset < 11: bounds from attributes. */
  min: number;
  max: number;
}

/** Scalar bound from an optional input, as a raw element (number or bigint), or undefined. */
function boundOf(t: Tensor | null | undefined, x: Tensor, what: string): number | undefined {
  if (!t) return undefined;
  if (t.size !== 1) throw invalid(`Clip: ${what} must be a scalar, got shape [${t.shape.join(',')}]`);
  if (t.dtype !== x.dtype) throw invalid(`Clip: ${what} dtype ${t.dtype} differs from input dtype ${x.dtype}`);
  return rawData(t)[0];
}

// y = min(max(x, min), max); bounds are attributes before opset 11 and optional inputs from 11
export const Clip = defineOp<ClipAttrs>({
  name: 'Clip',
  domain: '',
  since: 1,
  arity: [1, 3],
  attrs: (r, ctx) => {
    if (ctx.opset >= 11) return { min: -Infinity, max: Infinity };
    return { min: r.float('min', -Infinity), max: r.float('max', Infinity) };
  },
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Clip');
    requireDtype('Clip', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    return [x];
  },
  ref: (ins, a, ctx) => {
    const x = need(ins[0], 0, 'Clip');
    requireDtype('Clip', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    let lo: number | undefined;
    let hi: number | undefined;
    if (ctx.opset >= 11) {
      lo = boundOf(ins[1], x, 'min');
      hi = boundOf(ins[2], x, 'max');
    } else {
      lo = a.min;
      hi = a.max;
    }
    const out = Tensor.zeros(x.dtype, x.shape);
    const xd = rawData(x);
    if (isBigInt(x.dtype) || !isFloat(x.dtype)) {
      // raw element compare keeps i64 exact; the bounds have the input's dtype
      const d = rawData(out);
      for (let i = 0; i < xd.length; i++) {
        let v = xd[i]!;
        if (lo !== undefined && v < lo) v = lo;
        if (hi !== undefined && v > hi) v = hi;
        d[i] = v;
      }
      return [out];
    }
    const l = lo ?? -Infinity;
    const h = hi ?? Infinity;
    const buf = numOut(x.dtype, xd.length);
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i]!;
      // NaN stays NaN; min > max gives max (ONNX: min(max(x, lo), hi))
      buf[i] = v !== v ? v : Math.min(Math.max(v, l), h);
    }
    return [finish(x.dtype, x.shape, buf)];
  },
  cost: perElementCost,
});

// ---------------------------------------------------------------------------------------------
// Softmax family
// ---------------------------------------------------------------------------------------------

interface AxisAttrs {
  axis: number;
  /** opset < 13: the input is coerced to 2-D [prod(d < axis), prod(d >= axis)]. */
  coerce2d: boolean;
}

function softmaxAttrs(r: AttrReader, ctx: OpCtx): AxisAttrs {
  const coerce2d = ctx.opset < 13;
  return { axis: r.int('axis', coerce2d ? 1 : -1), coerce2d };
}

/** [outer, n, inner] of the reduction for an axis-wise softmax-like op. */
function softmaxLayout(shape: readonly number[], a: AxisAttrs): [number, number, number] {
  const rank = shape.length;
  if (rank === 0) return [1, 1, 1];
  const axis = normAxis(a.axis, rank);
  const outer = numel(shape.slice(0, axis));
  if (a.coerce2d) return [outer, numel(shape.slice(axis)), 1];
  return [outer, shape[axis]!, numel(shape.slice(axis + 1))];
}

/**
 * [outer, n, inner] of a Softmax/LogSoftmax/Hardmax node on a concrete shape (opset < 13 coerces
 * to 2-D), the layout the reference kernel reduces over.
 * @param shape concrete input shape
 * @param a parsed attributes of the node (parseAttrs)
 */
export function softmaxDims(shape: readonly number[], a: { axis: number; coerce2d: boolean }): [number, number, number] {
  return softmaxLayout(shape, a);
}

type RowKind = 'softmax' | 'logsoftmax' | 'hardmax';

/** Applies a softmax-like function along rows of length n with stride `inner`. */
function rowwise(x: Tensor, a: AxisAttrs, kind: RowKind): Tensor {
  const [outer, n, inner] = softmaxLayout(x.shape, a);
  const xd = numData(x);
  const out = new Float64Array(xd.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let mx = -Infinity;
      let arg = 0;
      let nan = false;
      for (let k = 0; k < n; k++) {
        const v = xd[base + k * inner]!;
        if (v !== v) nan = true;
        if (v > mx) { mx = v; arg = k; }
      }
      if (kind === 'hardmax') {
        for (let k = 0; k < n; k++) out[base + k * inner] = k === arg ? 1 : 0;
        continue;
      }
      if (nan) {
        for (let k = 0; k < n; k++) out[base + k * inner] = NaN;
        continue;
      }
      // shift by the row max so exp never overflows; an all -inf row shifts by 0 (gives NaN like numpy)
      const shift = Number.isFinite(mx) ? mx : 0;
      let sum = 0;
      for (let k = 0; k < n; k++) sum += Math.exp(xd[base + k * inner]! - shift);
      if (kind === 'softmax') {
        for (let k = 0; k < n; k++) out[base + k * inner] = Math.exp(xd[base + k * inner]! - shift) / sum;
      } else {
        const ls = Math.log(sum);
        for (let k = 0; k < n; k++) out[base + k * inner] = xd[base + k * inner]! - shift - ls;
      }
    }
  }
  const buf = numOut(x.dtype, out.length);
  for (let i = 0; i < out.length; i++) buf[i] = out[i]!;
  return finish(x.dtype, x.shape, buf);
}

/** Defines Softmax, LogSoftmax or Hardmax. */
function softmaxLike(name: string, kind: RowKind) {
  return defineOp<AxisAttrs>({
    name,
    domain: '',
    since: 1,
    arity: [1, 1],
    attrs: softmaxAttrs,
    infer: (ctx: InferCtx, a): TensorType[] => {
      const x = need(ctx.inputs[0], 0, name);
      requireDtype(name, x.dtype, isFloat, 'a float type');
      if (x.shape.length > 0) normAxis(a.axis, x.shape.length);
      return [x];
    },
    ref: (ins, a) => {
      const x = need(ins[0], 0, name);
      requireDtype(name, x.dtype, isFloat, 'a float type');
      return [rowwise(x, a, kind)];
    },
    cost: (_c, _a, outs) => ({ macs: 0, flops: 4 * numelOf(outs[0]!) }),
    ...(kind === 'hardmax' ? { decompose: decomposeHardmax } : {}),
  });
}

// Hardmax(x, axis) = OneHot(ArgMax(x, axis, keepdims=0), depth = x.shape[axis], [0, 1], axis): one
// at the first maximum of each row (ArgMax's select_last_index=0 picks the first); the opset < 13
// 2-D coercion is the same thing when axis is the last dim
function decomposeHardmax(b: DecomposeBuilder, a: AxisAttrs): (ValueId | null)[] | null {
  const xt = b.inputs[0]!;
  const r = xt.shape.length;
  if (r === 0) return null;
  const axis = normAxis(a.axis, r);
  const n = xt.shape[axis];
  if ((a.coerce2d && axis !== r - 1) || typeof n !== 'number') return null;
  const idx = b.op1('ArgMax', [b.ids[0]!], { axis, keepdims: 0 });
  const values = b.constant(Tensor.from(xt.dtype, [2], [0, 1]));
  return [b.op1('OneHot', [idx, b.int64s([n]), values], { axis })];
}

function numelOf(t: TensorType): number {
  return t.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
}

// y = e^x / sum(e^x) along axis
export const Softmax = softmaxLike('Softmax', 'softmax');
// y = x - log(sum(e^x)) along axis
export const LogSoftmax = softmaxLike('LogSoftmax', 'logsoftmax');
// y = one-hot of the first maximum along axis
export const Hardmax = softmaxLike('Hardmax', 'hardmax');

// y = x < -lambd ? x + bias : x > lambd ? x - bias : 0 (any numeric dtype; integer results
// truncate like numpy's astype)
export const Shrink = defineOp({
  name: 'Shrink',
  domain: '',
  since: 9,
  arity: [1, 1],
  attrs: (r) => {
    const lambd = r.float('lambd', 0.5);
    if (lambd < 0) throw r.error(`attribute "lambd" must be non-negative, got ${lambd}`);
    return { lambd, bias: r.float('bias', 0) };
  },
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Shrink');
    requireDtype('Shrink', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    return [x];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Shrink');
    requireDtype('Shrink', x.dtype, (d) => d !== 'string' && d !== 'bool', 'a numeric type');
    return [unaryMap(x, x.dtype, (v) => (v < -a.lambd ? v + a.bias : v > a.lambd ? v - a.bias : v !== v ? v : 0))];
  },
  cost: perElementCost,
  // Where(x < -lambd, x + bias, Where(x > lambd, x - bias, x * 0)); x * 0 keeps NaN as NaN. Float
  // inputs only (integer results truncate the float arithmetic, which primitives do not spell).
  decompose: (b, a) => {
    const { x, dt } = input0(b);
    if (!isFloat(dt)) return null;
    const lo = b.op1('Less', [x, b.scalar(dt, -a.lambd)]);
    const hi = b.op1('Greater', [x, b.scalar(dt, a.lambd)]);
    const mid = b.op1('Where', [hi, b.op1('Sub', [x, b.scalar(dt, a.bias)]), b.op1('Mul', [x, b.scalar(dt, 0)])]);
    return [b.op1('Where', [lo, b.op1('Add', [x, b.scalar(dt, a.bias)]), mid])];
  },
});

// y = x * sigmoid(alpha * x)
export const Swish = floatAct('Swish', 24, (r) => ({ alpha: r.float('alpha', 1) }),
  (a) => (x) => x * applyAct('Sigmoid', [], a.alpha * x),
  // Swish(x) = x * Sigmoid(alpha * x)
  (b, a) => {
    const { x, dt } = input0(b);
    const ax = a.alpha === 1 ? x : b.op1('Mul', [x, b.scalar(dt, a.alpha)]);
    return [b.op1('Mul', [x, b.op1('Sigmoid', [ax])])];
  });
