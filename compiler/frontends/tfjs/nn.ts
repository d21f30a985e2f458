/**
 * TF/Keras layer semantics expressed with registry ops (ONNX names), layout-aware (see emit.ts).
 * Shared by the graph-model and layers-model importers. No kernels here: only op mapping.
 */
import { ValueId, hasSubgraph } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { getOp, opsetOf, parseAttrs } from '../../ops/registry.js';
import { DType } from '../../ir/dtype.js';
import { invalid, unsupported } from '../../errors.js';
import { Emitter, LVal, TO_CF, constToCf, permuteTensor, samePads } from './emit.js';

export type Padding = 'SAME' | 'VALID' | 'EXPLICIT';

export interface Conv2dSpec {
  strides: [number, number];
  dilations: [number, number];
  padding: Padding;
  /** EXPLICIT padding: [top, bottom, left, right]. */
  explicit?: [number, number, number, number];
}

/** ONNX pads [top, left, bottom, right] for a 2-D window op on input H x W. */
export function windowPads(spec: Conv2dSpec, h: number, w: number, kh: number, kw: number): number[] {
  if (spec.padding === 'VALID') return [0, 0, 0, 0];
  if (spec.padding === 'EXPLICIT') {
    const p = spec.explicit ?? [0, 0, 0, 0];
    return [p[0], p[2], p[1], p[3]];
  }
  const [t, b] = samePads(h, kh, spec.strides[0], spec.dilations[0]);
  const [l, r] = samePads(w, kw, spec.strides[1], spec.dilations[1]);
  return [t, l, b, r];
}

/**
 * 2-D convolution with a TF filter: HWIO (regular; I may be C_in / groups) or HWCM (depthwise).
 * Returns the channels-first result.
 */
export function conv2d(e: Emitter, x: LVal, filter: ValueId, bias: ValueId | null, spec: Conv2dSpec, depthwise: boolean, name: string): LVal {
  const xc = e.cf(x);
  const [, c, h, w] = e.shape(xc, 'convolution input', 1);
  const fs = e.shape(filter, 'convolution filter');
  if (fs.length !== 4) throw invalid(`convolution filter must have rank 4, got ${fs.length}`);
  const [kh, kw, fi, fo] = fs as [number, number, number, number];
  let wv: ValueId;
  let group: number;
  const fc = e.constOf(filter);
  if (depthwise) {
    if (fi !== c) throw invalid(`depthwise filter has ${fi} input channels, the input has ${c}`);
    group = c!;
    if (fc) wv = e.const(`${name}/filter_oihw`, permuteTensor(fc, [2, 3, 0, 1]).reshape([fi * fo, 1, kh, kw]));
    else {
      const t = e.op('Transpose', [filter], { perm: [2, 3, 0, 1] }, `${name}/filter_t`);
      wv = e.op('Reshape', [t, e.i64(`${name}/filter_shape`, [fi * fo, 1, kh, kw])], {}, `${name}/filter_oihw`);
    }
  } else {
    if (c! % fi !== 0) throw invalid(`convolution filter has ${fi} input channels, which does not divide the input's ${c}`);
    group = c! / fi;
    if (fc) wv = e.const(`${name}/filter_oihw`, permuteTensor(fc, [3, 2, 0, 1]));
    else wv = e.op('Transpose', [filter], { perm: [3, 2, 0, 1] }, `${name}/filter_oihw`);
  }
  const pads = windowPads(spec, h!, w!, kh, kw);
  const y = e.op('Conv', bias === null ? [xc, wv] : [xc, wv, bias], {
    kernel_shape: [kh, kw], strides: [...spec.strides], dilations: [...spec.dilations], pads, group,
  }, name);
  return { cf: y };
}

/**
 * Transposed 2-D convolution (TF conv2d_transpose / Conv2DBackpropInput) with a TF filter
 * [kh, kw, C_out, C_in] producing an [N, outH, outW, C_out] result: the adjoint of a forward conv
 * from the output back to x, so its padding is the forward conv's (SAME from the output size).
 */
export function convTranspose2d(e: Emitter, x: LVal, filter: ValueId, bias: ValueId | null, spec: Conv2dSpec, out: [number, number], name: string): LVal {
  const xc = e.cf(x);
  const [, c, h, w] = e.shape(xc, 'transposed convolution input', 1);
  const fs = e.shape(filter, 'transposed convolution filter');
  if (fs.length !== 4) throw invalid(`transposed convolution filter must have rank 4, got ${fs.length}`);
  const [kh, kw, , fi] = fs as [number, number, number, number];
  if (fi !== c) throw invalid(`transposed convolution filter has ${fi} input channels, the input has ${c}`);
  const fc = e.constOf(filter);
  const wv = fc ? e.const(`${name}/filter_iohw`, permuteTensor(fc, [3, 2, 0, 1]))
    : e.op('Transpose', [filter], { perm: [3, 2, 0, 1] }, `${name}/filter_iohw`);
  // forward-conv pads computed from the (larger) output size
  const pads = windowPads(spec, out[0], out[1], kh, kw);
  const outputPadding = [0, 1].map((i) => {
    const inn = i === 0 ? h! : w!;
    const k = i === 0 ? kh : kw;
    const full = (inn - 1) * spec.strides[i]! + (k - 1) * spec.dilations[i]! + 1 - pads[i]! - pads[i + 2]!;
    const extra = out[i]! - full;
    if (extra < 0 || extra >= Math.max(spec.strides[i]!, spec.dilations[i]!)) {
      throw invalid(`transposed convolution output size ${out[i]} does not fit input size ${inn} (kernel ${k}, stride ${spec.strides[i]})`);
    }
    return extra;
  });
  const y = e.op('ConvTranspose', bias === null ? [xc, wv] : [xc, wv, bias], {
    kernel_shape: [kh, kw], strides: [...spec.strides], dilations: [...spec.dilations], pads, output_padding: outputPadding,
  }, name);
  return { cf: y };
}

/** 2-D max/average pooling (TF: average excludes padding). */
export function pool2d(e: Emitter, x: LVal, kind: 'max' | 'avg', k: [number, number], spec: Conv2dSpec, name: string): LVal {
  const xc = e.cf(x);
  const [, , h, w] = e.shape(xc, 'pooling input', 1);
  const pads = windowPads(spec, h!, w!, k[0], k[1]);
  const attrs = { kernel_shape: [...k], strides: [...spec.strides], pads };
  const y = kind === 'max' ? e.op('MaxPool', [xc], attrs, name) : e.op('AveragePool', [xc], { ...attrs, count_include_pad: 0 }, name);
  return { cf: y };
}

/** Applies a layout-agnostic unary op, keeping the layout v has (channels-first preferred). */
export function unary(e: Emitter, x: LVal, op: string, attrs: Record<string, number | number[] | string>, name: string): LVal {
  if (x.cf !== undefined) return { cf: e.op(op, [x.cf], attrs, name) };
  return { tf: e.op(op, [e.tf(x)], attrs, name) };
}

/** Operand of a channels-first broadcast op, or undefined when v cannot be expressed that way. */
function cfOperand(e: Emitter, v: LVal): ValueId | undefined {
  if (v.cf !== undefined) return v.cf;
  const t = v.tf!;
  const r = e.rank(t);
  const c = e.constOf(t);
  if (c && r <= 4) return r === 0 ? t : e.const(`${e.g.value(t).name}/nchw`, constToCf(c));
  if (r === 0) return t;
  if (r === 4) return e.cf(v);
  return undefined;
}

/** A broadcasting binary op (Add, Mul, ...), channels-first when an operand already is. */
export function binary(e: Emitter, op: string, a: LVal, b: LVal, name: string): LVal {
  const r = Math.max(e.lrank(a), e.lrank(b));
  if (r === 4 && (a.cf !== undefined || b.cf !== undefined)) {
    const ca = cfOperand(e, a);
    const cb = cfOperand(e, b);
    if (ca !== undefined && cb !== undefined) return { cf: e.op(op, [ca, cb], {}, name) };
  }
  return { tf: e.op(op, [e.tf(a), e.tf(b)], {}, name) };
}

/** A scalar constant with x's element type. */
function scalarLike(e: Emitter, x: LVal, v: number, name: string): LVal {
  return { tf: e.scalar(name, e.ltype(x).dtype, v) };
}

/** Named activations (TF op names and Keras activation names, case-insensitive). */
export function activation(e: Emitter, x: LVal, kind: string, name: string, p: { alpha?: number; prelu?: LVal } = {}): LVal {
  switch (kind.toLowerCase()) {
    case 'linear': case 'identity': case '': return x;
    case 'relu': return unary(e, x, 'Relu', {}, name);
    case 'relu6': {
      const lo = e.scalar(`${name}/min`, e.ltype(x).dtype, 0);
      const hi = e.scalar(`${name}/max`, e.ltype(x).dtype, 6);
      if (x.cf !== undefined) return { cf: e.op('Clip', [x.cf, lo, hi], {}, name) };
      return { tf: e.op('Clip', [e.tf(x), lo, hi], {}, name) };
    }
    case 'elu': return unary(e, x, 'Elu', { alpha: 1 }, name);
    case 'selu': return unary(e, x, 'Selu', {}, name);
    case 'sigmoid': return unary(e, x, 'Sigmoid', {}, name);
    case 'tanh': return unary(e, x, 'Tanh', {}, name);
    case 'softplus': return unary(e, x, 'Softplus', {}, name);
    case 'softsign': return unary(e, x, 'Softsign', {}, name);
    case 'exponential': case 'exp': return unary(e, x, 'Exp', {}, name);
    case 'hard_sigmoid': case 'hardsigmoid': return unary(e, x, 'HardSigmoid', { alpha: 0.2, beta: 0.5 }, name);
    case 'leakyrelu': case 'leaky_relu': return unary(e, x, 'LeakyRelu', { alpha: p.alpha ?? 0.2 }, name);
    case 'swish': case 'silu': {
      const s = unary(e, x, 'Sigmoid', {}, `${name}/sigmoid`);
      return binary(e, 'Mul', x, s, name);
    }
    case 'prelu': {
      if (!p.prelu) throw invalid('Prelu needs an alpha operand');
      return binary(e, 'PRelu', x, p.prelu, name);
    }
    case 'softmax': return softmax(e, x, -1, name);
    default: throw unsupported(`activation "${kind}" is not supported`);
  }
}

/** Softmax over one TF axis (channels-first when the axis is the channel axis of a cf value). */
export function softmax(e: Emitter, x: LVal, axis: number, name: string, op = 'Softmax'): LVal {
  const r = e.lrank(x);
  const a = axis < 0 ? axis + r : axis;
  if (x.tf === undefined && r === 4) return { cf: e.op(op, [x.cf!], { axis: TO_CF.indexOf(a as 0) }, name) };
  return { tf: e.op(op, [e.tf(x)], { axis: a }, name) };
}

/** TF reduction over `axes` (TF axes, already normalized). */
export function reduce(e: Emitter, x: LVal, op: string, axes: number[], keep: boolean, name: string): LVal {
  if (axes.length === 0) return x;
  const mk = (v: ValueId, ax: number[]): ValueId => (op === 'ReduceSum'
    ? e.op(op, [v, e.i64(`${name}/axes`, ax)], { keepdims: keep ? 1 : 0 }, name)
    : e.op(op, [v], { axes: ax, keepdims: keep ? 1 : 0 }, name));
  if (x.tf !== undefined || e.lrank(x) !== 4) return { tf: mk(e.tf(x), axes) };
  const y = mk(x.cf!, axes.map((a) => TO_CF.indexOf(a as 0)));
  if (keep) return { cf: y };
  const rest = TO_CF.filter((a) => !axes.includes(a)) as number[];
  const sorted = [...rest].sort((p, q) => p - q);
  if (rest.every((a, i) => a === sorted[i])) return { tf: y };
  return { tf: e.op('Transpose', [y], { perm: sorted.map((a) => rest.indexOf(a)) }, `${name}/to_tf`) };
}

/** Concatenation along a TF axis. */
export function concat(e: Emitter, xs: LVal[], axis: number, name: string): LVal {
  const r = e.lrank(xs[0]!);
  const a = axis < 0 ? axis + r : axis;
  if (r === 4 && xs.some((x) => x.tf === undefined) && xs.every((x) => x.cf !== undefined || e.constOf(x.tf!) !== undefined)) {
    return { cf: e.op('Concat', xs.map((x) => e.cf(x)), { axis: TO_CF.indexOf(a as 0) }, name) };
  }
  return { tf: e.op('Concat', xs.map((x) => e.tf(x)), { axis: a }, name) };
}

/** Padding: pairs[i] = [before, after] for TF axis i. */
export function pad(e: Emitter, x: LVal, pairs: [number, number][], mode: 'constant' | 'reflect' | 'edge', value: ValueId | null, name: string): LVal {
  const r = pairs.length;
  if (x.tf === undefined && r === 4) {
    const p = TO_CF.map((a) => pairs[a]!);
    const pads = e.i64(`${name}/pads`, [...p.map((q) => q[0]), ...p.map((q) => q[1])]);
    return { cf: e.op('Pad', value === null ? [x.cf!, pads] : [x.cf!, pads, value], { mode }, name) };
  }
  const pads = e.i64(`${name}/pads`, [...pairs.map((q) => q[0]), ...pairs.map((q) => q[1])]);
  return { tf: e.op('Pad', value === null ? [e.tf(x), pads] : [e.tf(x), pads, value], { mode }, name) };
}

/** Inference batch normalization over the last TF axis. */
export function batchNorm(e: Emitter, x: LVal, scale: ValueId, offset: ValueId, mean: ValueId, variance: ValueId, eps: number, name: string): LVal {
  const r = e.lrank(x);
  if (r === 4) return { cf: e.op('BatchNormalization', [e.cf(x), scale, offset, mean, variance], { epsilon: eps }, name) };
  if (r === 2) return { tf: e.op('BatchNormalization', [e.tf(x), scale, offset, mean, variance], { epsilon: eps }, name) };
  // other ranks: (x - mean) / sqrt(var + eps) * scale + offset, broadcasting on the last axis
  const epsv = e.scalar(`${name}/eps`, e.ltype(x).dtype, eps);
  const sd = e.op('Sqrt', [e.op('Add', [variance, epsv], {}, `${name}/var_eps`)], {}, `${name}/std`);
  const k = e.op('Div', [scale, sd], {}, `${name}/k`);
  const xm = e.op('Sub', [e.tf(x), mean], {}, `${name}/centered`);
  return { tf: e.op('Add', [e.op('Mul', [xm, k], {}, `${name}/scaled`), offset], {}, name) };
}

/**
 * Image resize of a rank-4 TF (NHWC) value to [oh, ow] (numbers, or a runtime int [2] value),
 * TF semantics.
 */
export function resize2d(e: Emitter, x: LVal, size: [number, number] | ValueId, mode: 'linear' | 'nearest', alignCorners: boolean, halfPixel: boolean, name: string): LVal {
  const xc = e.cf(x);
  const [n, c] = e.shape(xc, 'resize input', 2);
  if (alignCorners && halfPixel) throw invalid('resize: align_corners and half_pixel_centers cannot both be set');
  const coord = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
  // TF nearest: floor((x + 0.5) * s) with half-pixel centers == round-half-up of ONNX half_pixel;
  // align_corners rounds (half away from zero); otherwise floor.
  const nearest = alignCorners || halfPixel ? 'round_prefer_ceil' : 'floor';
  // sizes [N, C, oh, ow]; a symbolic N or C is read from the input's shape at run time
  const hw = (): ValueId => (Array.isArray(size) ? e.i64(`${name}/hw`, [size[0], size[1]]) : toI64(e, size, `${name}/hw`));
  const sizes = Array.isArray(size) && n! >= 0 && c! >= 0 ? e.i64(`${name}/sizes`, [n!, c!, size[0], size[1]])
    : e.op('Concat', [
      n! >= 0 && c! >= 0 ? e.i64(`${name}/nc`, [n!, c!])
        : e.op('Slice', [e.op('Shape', [xc], {}, `${name}/in_shape`), e.i64(`${name}/nc_start`, [0]), e.i64(`${name}/nc_end`, [2])], {}, `${name}/nc`),
      hw(),
    ], { axis: 0 }, `${name}/sizes`);
  const attrs: Record<string, string> = { mode, coordinate_transformation_mode: coord };
  if (mode === 'nearest') attrs['nearest_mode'] = nearest;
  return { cf: e.op('Resize', [xc, null, null, sizes], attrs, name) };
}

/** An int64 copy of an integer value (constant converted in place, others Cast). */
export function toI64(e: Emitter, v: ValueId, name: string): ValueId {
  if (e.type(v).dtype === 'i64') return v;
  const c = e.constOf(v);
  if (c) return e.const(`${name}`, Tensor.from('i64', c.shape, c.toNumbers()));
  return e.op('Cast', [v], { to: 7 }, name);
}

/** Cast to a dtype (ONNX data type number from the registry's table). */
export function cast(e: Emitter, x: LVal, to: DType, onnxCode: number, name: string): LVal {
  if (e.ltype(x).dtype === to) return x;
  return unary(e, x, 'Cast', { to: onnxCode }, name);
}

/** Most nodes `foldValue` evaluates for one value. */
const MAX_FOLD_NODES = 256;
/** Largest intermediate (elements) `foldValue` computes: shape arithmetic, not tensors. */
const MAX_FOLD_ELEMS = 4096;

/**
 * The value of `v` when it follows from constants and static shapes alone (Shape/Size of a
 * statically shaped value, then shape arithmetic: Gather, Slice, Concat, Cast, Add...), computed
 * with the reference kernels; undefined otherwise. Lets TF ops whose shape arguments are computed
 * in the graph (StridedSlice of Shape, Pack...) see constants.
 */
export function foldValue(e: Emitter, v: ValueId): Tensor | undefined {
  const g = e.g;
  const known = new Map<ValueId, Tensor>();
  const stack: [ValueId, boolean][] = [[v, false]];
  let count = 0;
  while (stack.length) {
    const [id, expanded] = stack.pop()!;
    if (known.has(id)) continue;
    const c = g.constOf(id);
    if (c) { known.set(id, c); continue; }
    const p = g.producerOf(id);
    if (!p || p.domain !== '' || hasSubgraph(p)) return undefined;
    const staticIn = p.inputs[0] !== null && p.inputs[0] !== undefined && g.typeOf(p.inputs[0]).shape.every((d) => typeof d === 'number');
    if ((p.op === 'Shape' && !('start' in p.attrs) && !('end' in p.attrs)) || p.op === 'Size') {
      if (!staticIn) return undefined;
      const s = g.typeOf(p.inputs[0]!).shape as number[];
      known.set(id, p.op === 'Shape' ? Tensor.from('i64', [s.length], s) : Tensor.from('i64', [], [s.reduce((a, b) => a * b, 1)]));
      continue;
    }
    if (!expanded) {
      if (++count > MAX_FOLD_NODES) return undefined;
      stack.push([id, true]);
      for (const i of p.inputs) if (i !== null && !known.has(i)) stack.push([i, false]);
      continue;
    }
    const ins = p.inputs.map((i) => (i === null ? null : known.get(i)));
    if (ins.some((t) => t === undefined)) return undefined;
    if (ins.some((t) => t !== null && t!.size > MAX_FOLD_ELEMS)) return undefined;
    const def = getOp(p.domain, p.op);
    if (!def) return undefined;
    try {
      const opset = opsetOf(p, g);
      const outs = def.ref(ins as (Tensor | null)[], parseAttrs(def, p, opset), { opset, node: p });
      p.outputs.forEach((o, k) => { if (outs[k]) known.set(o, outs[k]!); });
    } catch {
      return undefined;
    }
    if (!known.has(id)) return undefined;
  }
  return known.get(v);
}

/**
 * Numbers of an integer constant (or a value that folds to one, see foldValue), or an
 * 'unsupported' error naming what needed it.
 */
export function constInts(e: Emitter, v: ValueId, what: string): number[] {
  const c = e.constOf(v) ?? foldValue(e, v);
  if (!c) throw unsupported(`${what} must be a constant`);
  return c.toNumbers();
}
