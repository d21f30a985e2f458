/**
 * TFLite builtin operators as registry ops, one converter per builtin (by schema name). Builtin
 * options tables are read by field number (tensorflow/lite/schema/schema.fbs); a missing table
 * means the schema defaults. Layout handling (NHWC values, channels-first spatial ops) comes from
 * the TF.js frontend's emitter and layer helpers.
 */
import { ValueId } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { invalid, unsupported } from '../../errors.js';
import { FbTable } from './flatbuf.js';
import { TflOperator, TflQuant, TflTensor } from './schema.js';
import { Emitter, LVal, permuteTensor } from '../tfjs/emit.js';
import { emitStridedSlice } from '../tfjs/graph-model.js';
import {
  Conv2dSpec, activation, binary, concat, constInts, convTranspose2d, foldValue, toI64, pad, pool2d, reduce, resize2d, softmax, unary, windowPads,
} from '../tfjs/nn.js';

/** What a converter sees of one operator. */
export interface OpCtx {
  e: Emitter;
  /** Node name (the first output tensor's name). */
  name: string;
  op: TflOperator;
  opName: string;
  version: number;
  /** The value of input j (constants are materialized on first use). */
  input(j: number): LVal;
  /** Whether input j is present (optional inputs are -1). */
  hasInput(j: number): boolean;
  inTensor(j: number): TflTensor;
  outTensor(j: number): TflTensor;
}

export type OpConverter = (c: OpCtx) => LVal[];

/** The builtin options table, or null (schema defaults). */
function opts(c: OpCtx): FbTable | null {
  return c.op.options;
}

/** ActivationFunctionType -> activation name (activation() in nn.ts). */
function fused(c: OpCtx, y: LVal, code: number): LVal {
  switch (code) {
    case 0: return y;
    case 1: return activation(c.e, y, 'relu', `${c.name}/relu`);
    case 2: return clip(c, y, -1, 1, `${c.name}/relu_n1_to_1`);
    case 3: return activation(c.e, y, 'relu6', `${c.name}/relu6`);
    case 4: return activation(c.e, y, 'tanh', `${c.name}/tanh`);
    default: throw unsupported(`fused activation function ${code} is not supported`);
  }
}

function clip(c: OpCtx, x: LVal, lo: number, hi: number, name: string): LVal {
  const e = c.e;
  const dt = e.ltype(x).dtype;
  const l = e.scalar(`${name}/min`, dt, lo);
  const h = e.scalar(`${name}/max`, dt, hi);
  if (x.cf !== undefined) return { cf: e.op('Clip', [x.cf, l, h], {}, name) };
  return { tf: e.op('Clip', [e.tf(x), l, h], {}, name) };
}

/** Padding enum (SAME = 0, VALID = 1) and strides/dilations of conv and pool options. */
function spec(padding: number, sh: number, sw: number, dh = 1, dw = 1): Conv2dSpec {
  if (padding !== 0 && padding !== 1) throw invalid(`padding ${padding} is not SAME (0) or VALID (1)`);
  for (const v of [sh, sw, dh, dw]) if (!Number.isInteger(v) || v < 1) throw invalid(`stride/dilation ${v} must be a positive integer`);
  return { padding: padding === 0 ? 'SAME' : 'VALID', strides: [sh, sw], dilations: [dh, dw] };
}

function constOf(c: OpCtx, j: number, what: string): Tensor {
  const v = c.input(j);
  const t = v.tf !== undefined ? c.e.constOf(v.tf) : undefined;
  if (!t) throw unsupported(`${c.opName} ${what} must be a constant`);
  return t;
}

/**
 * A float operator's weights as f32: float weights as they are; int8 weights of a
 * dynamic-range ("hybrid") model dequantized, (q - zero_point) * scale per channel. TFLite's hybrid
 * kernels also quantize the activations on the fly, so edgec's float result differs from
 * TFLite's by that activation rounding (README, TFLite section).
 */
function floatWeights(c: OpCtx, j: number, what: string): Tensor {
  const t = constOf(c, j, what);
  if (t.dtype === 'f32') return t;
  if (t.dtype === 'f16') return Tensor.from('f32', t.shape, t.toNumbers());
  const q = c.inTensor(j).quant;
  if ((t.dtype !== 'i8' && t.dtype !== 'u8') || !q) throw unsupported(`${c.opName} ${what} of type ${t.dtype} is not supported`);
  return dequantizeConst(t, q, `${c.opName} ${what}`);
}

/** (q - zero_point) * scale, per tensor or per channel along q.axis. */
function dequantizeConst(t: Tensor, q: TflQuant, what: string): Tensor {
  const per = q.scale.length > 1;
  const axis = per ? q.axis : 0;
  if (per && (axis < 0 || axis >= t.shape.length || t.shape[axis] !== q.scale.length)) {
    throw invalid(`${what} has ${q.scale.length} scales for axis ${axis} of [${t.shape.join(',')}]`);
  }
  const inner = t.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const vals = t.toNumbers().map((v, i) => {
    const ch = per ? Math.floor(i / inner) % q.scale.length : 0;
    return (v - q.zeroPoint[ch]!) * q.scale[ch]!;
  });
  return Tensor.from('f32', t.shape, vals);
}

function bias(c: OpCtx, j: number, n: number): ValueId | null {
  if (!c.hasInput(j)) return null;
  const b = c.e.tf(c.input(j));
  const s = c.e.type(b).shape;
  if (s.length !== 1 || s[0] !== n) throw invalid(`${c.opName} bias has shape [${s.join(',')}], expected [${n}]`);
  return b;
}

/** CONV_2D: filter OHWI (I = C_in / groups). */
function conv2d(c: OpCtx): LVal[] {
  const o = opts(c);
  const e = c.e;
  const s = spec(o?.u8(0) ?? 0, o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1, o?.i32(5, 1) ?? 1, o?.i32(4, 1) ?? 1);
  const f = floatWeights(c, 1, 'filter');
  if (f.shape.length !== 4) throw invalid(`CONV_2D filter must have rank 4, got ${f.shape.length}`);
  const [co, kh, kw, ci] = f.shape as [number, number, number, number];
  const xc = e.cf(c.input(0));
  const [, ch, h, w] = e.shape(xc, 'CONV_2D input', 1);
  if (ci < 1 || ch! % ci !== 0 || co % (ch! / ci) !== 0) throw invalid(`CONV_2D filter [${f.shape.join(',')}] does not fit ${ch} input channels`);
  const wv = e.const(`${c.name}/filter_oihw`, permuteTensor(f, [0, 3, 1, 2]));
  const b = bias(c, 2, co);
  const y = e.op('Conv', b === null ? [xc, wv] : [xc, wv, b], {
    kernel_shape: [kh, kw], strides: [...s.strides], dilations: [...s.dilations], pads: windowPads(s, h!, w!, kh, kw), group: ch! / ci,
  }, c.name);
  return [fused(c, { cf: y }, o?.i8(3, 0) ?? 0)];
}

/** DEPTHWISE_CONV_2D: filter [1, H, W, C*M], output channel c*M + m. */
function depthwise(c: OpCtx): LVal[] {
  const o = opts(c);
  const e = c.e;
  const s = spec(o?.u8(0) ?? 0, o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1, o?.i32(6, 1) ?? 1, o?.i32(5, 1) ?? 1);
  const f = floatWeights(c, 1, 'filter');
  if (f.shape.length !== 4 || f.shape[0] !== 1) throw invalid(`DEPTHWISE_CONV_2D filter must be [1, H, W, C*M], got [${f.shape.join(',')}]`);
  const [, kh, kw, cm] = f.shape as [number, number, number, number];
  const xc = e.cf(c.input(0));
  const [, ch, h, w] = e.shape(xc, 'DEPTHWISE_CONV_2D input', 1);
  if (ch! < 1 || cm % ch! !== 0) throw invalid(`DEPTHWISE_CONV_2D filter has ${cm} channels, not a multiple of the input's ${ch}`);
  const wv = e.const(`${c.name}/filter_oihw`, permuteTensor(f, [3, 0, 1, 2]));
  const b = bias(c, 2, cm);
  const y = e.op('Conv', b === null ? [xc, wv] : [xc, wv, b], {
    kernel_shape: [kh, kw], strides: [...s.strides], dilations: [...s.dilations], pads: windowPads(s, h!, w!, kh, kw), group: ch!,
  }, c.name);
  return [fused(c, { cf: y }, o?.i8(4, 0) ?? 0)];
}

/** FULLY_CONNECTED: y = x W^T + b, weights [N, K]; x flattened to [-1, K] unless keep_num_dims. */
function fullyConnected(c: OpCtx): LVal[] {
  const o = opts(c);
  const e = c.e;
  if ((o?.u8(1, 0) ?? 0) !== 0) throw unsupported('FULLY_CONNECTED shuffled weights format is not supported');
  const keep = o?.bool(2, false) ?? false;
  const w = floatWeights(c, 1, 'weights');
  if (w.shape.length !== 2) throw invalid(`FULLY_CONNECTED weights must have rank 2, got [${w.shape.join(',')}]`);
  const [n, k] = w.shape as [number, number];
  const x = e.tf(c.input(0));
  const xs = e.type(x).shape;
  const b = bias(c, 2, n);
  let y: ValueId;
  if (keep) {
    if (xs[xs.length - 1] !== k) throw invalid(`FULLY_CONNECTED input's last dim ${String(xs[xs.length - 1])} differs from the weights' ${k}`);
    const wt = e.const(`${c.name}/weights_t`, permuteTensor(w, [1, 0]));
    y = e.op('MatMul', [x, wt], {}, b === null ? c.name : `${c.name}/matmul`);
    if (b !== null) y = e.op('Add', [y, b], {}, c.name);
  } else {
    const total = xs.every((d) => typeof d === 'number') ? (xs as number[]).reduce((p, q) => p * q, 1) : -1;
    if (total >= 0 && total % k !== 0) throw invalid(`FULLY_CONNECTED input [${xs.join(',')}] does not flatten to rows of ${k}`);
    const x2 = xs.length === 2 && xs[1] === k ? x : e.op('Reshape', [x, e.i64(`${c.name}/rows`, [-1, k])], {}, `${c.name}/flatten`);
    const wv = c.e.constOf(c.e.tf(c.input(1))) === w ? c.e.tf(c.input(1)) : e.const(`${c.name}/weights`, w);
    y = e.op('Gemm', b === null ? [x2, wv] : [x2, wv, b], { transB: 1 }, c.name);
  }
  return [fused(c, { tf: y }, o?.i8(0, 0) ?? 0)];
}

function pool(kind: 'max' | 'avg'): OpConverter {
  return (c) => {
    const o = opts(c);
    if (!o) throw invalid(`${c.opName} has no Pool2DOptions`);
    const s = spec(o.u8(0), o.i32(2, 1), o.i32(1, 1));
    const k: [number, number] = [o.i32(4, 0), o.i32(3, 0)];
    if (k[0] < 1 || k[1] < 1) throw invalid(`${c.opName} filter ${k[0]}x${k[1]} must be positive`);
    return [fused(c, pool2d(c.e, c.input(0), kind, k, s, c.name), o.i8(5, 0))];
  };
}

/** RESHAPE: the shape input (constant, or computed from static shapes) or new_shape. */
function reshape(c: OpCtx): LVal[] {
  const e = c.e;
  let shape: number[];
  if (c.hasInput(1)) {
    const sv = e.tf(c.input(1));
    const folded = e.constOf(sv) ?? foldValue(e, sv);
    // a shape computed from a still-symbolic input shape stays a runtime value
    if (!folded) return [{ tf: e.op('Reshape', [e.tf(c.input(0)), toI64(e, sv, `${c.name}/shape`)], {}, c.name) }];
    shape = folded.toNumbers();
  } else {
    const o = opts(c);
    if (!o) throw invalid('RESHAPE has neither a shape input nor new_shape');
    shape = o.i32s(0);
  }
  return [{ tf: e.op('Reshape', [e.tf(c.input(0)), e.i64(`${c.name}/shape`, shape)], {}, c.name) }];
}

function softmaxOp(c: OpCtx): LVal[] {
  const beta = opts(c)?.f32(0, 1) ?? 1;
  let x = c.input(0);
  if (beta !== 1) x = binary(c.e, 'Mul', x, { tf: c.e.scalar(`${c.name}/beta`, c.e.ltype(x).dtype, beta) }, `${c.name}/scaled`);
  return [softmax(c.e, x, -1, c.name)];
}

function bin(op: string, actSlot: number | null): OpConverter {
  return (c) => {
    const y = binary(c.e, op, c.input(0), c.input(1), c.name);
    return [actSlot === null ? y : fused(c, y, opts(c)?.i8(actSlot, 0) ?? 0)];
  };
}

function un(op: string, attrs: Record<string, number> = {}): OpConverter {
  return (c) => [unary(c.e, c.input(0), op, attrs, c.name)];
}

function concatenation(c: OpCtx): LVal[] {
  const o = opts(c);
  const xs = c.op.inputs.map((_, j) => c.input(j));
  return [fused(c, concat(c.e, xs, o?.i32(0, 0) ?? 0, c.name), o?.i8(1, 0) ?? 0)];
}

function padOp(c: OpCtx): LVal[] {
  const p = constInts(c.e, c.e.tf(c.input(1)), `${c.opName} paddings`);
  const r = c.e.lrank(c.input(0));
  if (p.length !== 2 * r) throw invalid(`${c.opName} paddings have ${p.length} values, the input has rank ${r}`);
  const pairs = Array.from({ length: r }, (_, i) => [p[2 * i]!, p[2 * i + 1]!] as [number, number]);
  if (pairs.some(([a, b]) => a < 0 || b < 0)) throw invalid(`${c.opName} paddings must be non-negative`);
  const value = c.hasInput(2) ? c.e.tf(c.input(2)) : null;
  if (value !== null && c.e.type(value).shape.length !== 0) throw invalid('PADV2 constant value must be a scalar');
  return [pad(c.e, c.input(0), pairs, 'constant', value, c.name)];
}

function reducer(op: string): OpConverter {
  return (c) => {
    const x = c.input(0);
    const r = c.e.lrank(x);
    const axes = [...new Set(constInts(c.e, c.e.tf(c.input(1)), `${c.opName} axes`).map((a) => (a < 0 ? a + r : a)))];
    if (axes.some((a) => a < 0 || a >= r)) throw invalid(`${c.opName} axis out of range for rank ${r}`);
    return [reduce(c.e, x, op, axes, opts(c)?.bool(0, false) ?? false, c.name)];
  };
}

function transpose(c: OpCtx): LVal[] {
  const perm = constInts(c.e, c.e.tf(c.input(1)), 'TRANSPOSE perm');
  return [{ tf: c.e.op('Transpose', [c.e.tf(c.input(0))], { perm }, c.name) }];
}

/** SHAPE: int32 by default (ShapeOptions.out_type). */
function shapeOp(c: OpCtx): LVal[] {
  const s = c.e.op('Shape', [c.e.tf(c.input(0))], {}, `${c.name}/i64`);
  const outType = opts(c)?.i8(0, 2) ?? 2;
  if (outType === 4) return [{ tf: s }];
  if (outType !== 2) throw unsupported(`SHAPE out_type ${outType} is not supported`);
  return [{ tf: c.e.op('Cast', [s], { to: 6 }, c.name) }];
}

/** STRIDED_SLICE with begin/end/strides constants and the five masks (TF semantics). */
function stridedSlice(c: OpCtx): LVal[] {
  const e = c.e;
  const o = opts(c);
  const x = e.tf(c.input(0));
  const begin = constInts(e, e.tf(c.input(1)), 'STRIDED_SLICE begin');
  const end = constInts(e, e.tf(c.input(2)), 'STRIDED_SLICE end');
  const strides = constInts(e, e.tf(c.input(3)), 'STRIDED_SLICE strides');
  if (o?.bool(5, false)) throw unsupported('STRIDED_SLICE with offset=true is not supported');
  const masks = { begin: o?.i32(0, 0) ?? 0, end: o?.i32(1, 0) ?? 0, ellipsis: o?.i32(2, 0) ?? 0, newAxis: o?.i32(3, 0) ?? 0, shrink: o?.i32(4, 0) ?? 0 };
  return [{ tf: emitStridedSlice(e, x, begin, end, strides, masks, c.name, 'STRIDED_SLICE') }];
}

/** PACK: stack the inputs along a new axis. */
function pack(c: OpCtx): LVal[] {
  const e = c.e;
  const xs = c.op.inputs.map((_, j) => e.tf(c.input(j)));
  const r = e.rank(xs[0]!);
  let axis = opts(c)?.i32(1, 0) ?? 0;
  if (axis < 0) axis += r + 1;
  if (axis < 0 || axis > r) throw invalid(`PACK axis out of range for rank ${r}`);
  const ax = e.i64(`${c.name}/axis`, [axis]);
  const us = xs.map((x, j) => e.op('Unsqueeze', [x, ax], {}, `${c.name}/unsqueeze_${j}`));
  return [{ tf: us.length === 1 ? us[0]! : e.op('Concat', us, { axis }, c.name) }];
}

function squeezeOp(c: OpCtx): LVal[] {
  const e = c.e;
  const x = e.tf(c.input(0));
  const dims = opts(c)?.i32s(0) ?? [];
  return [{ tf: dims.length ? e.op('Squeeze', [x, e.i64(`${c.name}/axes`, dims)], {}, c.name) : e.op('Squeeze', [x], {}, c.name) }];
}

function expandDims(c: OpCtx): LVal[] {
  const e = c.e;
  const a = constInts(e, e.tf(c.input(1)), 'EXPAND_DIMS axis');
  return [{ tf: e.op('Unsqueeze', [e.tf(c.input(0)), e.i64(`${c.name}/axes`, a)], {}, c.name) }];
}

function resizeOp(mode: 'linear' | 'nearest'): OpConverter {
  return (c) => {
    const o = opts(c);
    const size = constInts(c.e, c.e.tf(c.input(1)), `${c.opName} size`);
    if (size.length !== 2 || size.some((s) => s < 1)) throw invalid(`${c.opName} size must be 2 positive values`);
    const ac = mode === 'linear' ? o?.bool(2, false) ?? false : o?.bool(0, false) ?? false;
    const hp = mode === 'linear' ? o?.bool(3, false) ?? false : o?.bool(1, false) ?? false;
    return [resize2d(c.e, c.input(0), [size[0]!, size[1]!], mode, ac, hp, c.name)];
  };
}

/** TRANSPOSE_CONV: inputs (output_shape, weights OHWI, x, bias?). */
function transposeConv(c: OpCtx): LVal[] {
  const o = opts(c);
  const e = c.e;
  const s = spec(o?.u8(0) ?? 0, o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1);
  const outShape = constInts(e, e.tf(c.input(0)), 'TRANSPOSE_CONV output_shape');
  if (outShape.length !== 4) throw invalid('TRANSPOSE_CONV output_shape must have 4 values');
  const f = floatWeights(c, 1, 'weights');
  if (f.shape.length !== 4) throw invalid('TRANSPOSE_CONV weights must have rank 4');
  const hwoi = e.const(`${c.name}/filter_hwoi`, permuteTensor(f, [1, 2, 0, 3]));
  const b = bias(c, 3, f.shape[0]!);
  const y = convTranspose2d(e, c.input(2), hwoi, b, s, [outShape[1]!, outShape[2]!], c.name);
  return [fused(c, y, o?.i8(3, 0) ?? 0)];
}

/** DEQUANTIZE of a constant (fp16 or quantized weights): folded to float32 at import. */
function dequantize(c: OpCtx): LVal[] {
  const t = constOf(c, 0, 'input (a runtime value needs integer kernels)');
  const q = c.inTensor(0).quant;
  if (t.dtype === 'f16') return [{ tf: c.e.const(c.name, Tensor.from('f32', t.shape, t.toNumbers())) }];
  if (!q) throw invalid(`DEQUANTIZE input "${c.inTensor(0).name}" has no quantization parameters`);
  return [{ tf: c.e.const(c.name, dequantizeConst(t, q, 'DEQUANTIZE input')) }];
}

function leakyRelu(c: OpCtx): LVal[] {
  return [unary(c.e, c.input(0), 'LeakyRelu', { alpha: opts(c)?.f32(0, 0) ?? 0 }, c.name)];
}

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM (float, no CIFG, no projection, no layer norm; peepholes allowed)
 * as ONNX LSTM: gates reordered from TFLite's (i, f, c, o) to ONNX's (i, o, f, c), W/R stacked,
 * B = [input biases, zero recurrent biases]. The state inputs are variable tensors, zero on a
 * fresh interpreter, so the LSTM starts from zero states (one invocation = one sequence).
 */
function sequenceLstm(c: OpCtx): LVal[] {
  const e = c.e;
  const o = opts(c);
  const act = o?.i8(0, 0) ?? 0;
  if (act !== 4) throw unsupported(`UNIDIRECTIONAL_SEQUENCE_LSTM with fused activation ${act} is not supported (tanh is)`);
  const cellClip = o?.f32(1, 0) ?? 0;
  if (!(cellClip >= 0)) throw invalid(`UNIDIRECTIONAL_SEQUENCE_LSTM cell_clip ${cellClip} must be >= 0`);
  if (o?.bool(5, false)) throw unsupported('UNIDIRECTIONAL_SEQUENCE_LSTM diagonal recurrent tensors are not supported');
  const timeMajor = o?.bool(3, false) ?? false;
  if (!c.hasInput(1)) throw unsupported('UNIDIRECTIONAL_SEQUENCE_LSTM with coupled input/forget gates (CIFG) is not supported');
  for (const j of [16, 17, 20, 21, 22, 23]) if (c.hasInput(j)) throw unsupported('UNIDIRECTIONAL_SEQUENCE_LSTM with projection or layer normalization is not supported');
  const wi = [1, 4, 2, 3].map((j) => floatWeights(c, j, `input weights ${j}`));
  const wr = [5, 8, 6, 7].map((j) => floatWeights(c, j, `recurrent weights ${j}`));
  const bs = [12, 15, 13, 14].map((j) => floatWeights(c, j, `bias ${j}`));
  const [hidden, inSize] = wi[0]!.shape as [number, number];
  const check = (t: Tensor, shape: number[], what: string): void => {
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) throw invalid(`UNIDIRECTIONAL_SEQUENCE_LSTM ${what} has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`);
  };
  wi.forEach((t) => check(t, [hidden, inSize], 'input weights'));
  wr.forEach((t) => check(t, [hidden, hidden], 'recurrent weights'));
  bs.forEach((t) => check(t, [hidden], 'bias'));
  const stack = (ts: Tensor[], shape: number[]): Tensor => Tensor.from('f32', shape, ts.flatMap((t) => t.toNumbers()));
  const peepT = [9, 11, 10].every((j) => c.hasInput(j)) ? [9, 11, 10].map((j) => floatWeights(c, j, `peephole ${j}`)) : null;
  // ONNX LSTM has no cell-state clip: a clipped LSTM is unrolled over its (static) time steps
  if (cellClip > 0) return [unrolledLstm(c, wi, wr, bs, peepT, hidden, cellClip, timeMajor)];
  const W = e.const(`${c.name}/W`, stack(wi, [1, 4 * hidden, inSize]));
  const R = e.const(`${c.name}/R`, stack(wr, [1, 4 * hidden, hidden]));
  const B = e.const(`${c.name}/B`, Tensor.from('f32', [1, 8 * hidden], [...bs.flatMap((t) => t.toNumbers()), ...new Array<number>(4 * hidden).fill(0)]));
  const ins: (ValueId | null)[] = [e.tf(c.input(0)), W, R, B, null, null, null];
  const peep = [9, 11, 10];
  if (peep.some((j) => c.hasInput(j))) {
    if (!peep.every((j) => c.hasInput(j))) throw unsupported('UNIDIRECTIONAL_SEQUENCE_LSTM with some but not all peephole weights is not supported');
    const ps = peepT!;
    ps.forEach((t) => check(t, [hidden], 'peephole weights'));
    ins.push(e.const(`${c.name}/P`, stack(ps, [1, 3 * hidden])));
  }
  const layout = timeMajor ? 0 : 1;
  const [y] = e.opN('LSTM', ins, 1, { hidden_size: hidden, layout }, c.name);
  // Y: [S, 1, B, H] (time major) or [B, S, 1, H] -> drop the direction axis
  return [{ tf: e.op('Squeeze', [y!, e.i64(`${c.name}/dir_axis`, [timeMajor ? 1 : 2])], {}, `${c.name}/y`) }];
}

/**
 * An LSTM with TFLite's cell clip, unrolled over the time steps with registry ops (gate order
 * i, o, f, c as in the stacked weights): g = x_t W^T + h R^T + b; i, o, f = sigmoid (peepholes
 * add p * c_prev for i, f and p * c_t for o); c_t = clip(f c_prev + i tanh(g_c), +-clip);
 * h_t = o tanh(c_t). Zero initial states (variable tensors of a fresh interpreter).
 */
function unrolledLstm(c: OpCtx, wi: Tensor[], wr: Tensor[], bs: Tensor[], peep: Tensor[] | null, H: number, cellClip: number, timeMajor: boolean): LVal {
  const e = c.e;
  const x = e.tf(c.input(0));
  const xs = e.shape(x, 'UNIDIRECTIONAL_SEQUENCE_LSTM input');
  if (xs.length !== 3) throw invalid(`UNIDIRECTIONAL_SEQUENCE_LSTM input must have rank 3, got ${xs.length}`);
  const [T, B] = timeMajor ? [xs[0]!, xs[1]!] : [xs[1]!, xs[0]!];
  if (T > 4096) throw unsupported(`a clipped LSTM is unrolled; ${T} time steps is too many`);
  const n = c.name;
  const W = e.const(`${n}/W`, Tensor.from('f32', [4 * H, xs[2]!], wi.flatMap((t) => t.toNumbers())));
  const R = e.const(`${n}/R`, Tensor.from('f32', [4 * H, H], wr.flatMap((t) => t.toNumbers())));
  const b = e.const(`${n}/b`, Tensor.from('f32', [4 * H], bs.flatMap((t) => t.toNumbers())));
  const lo = e.scalar(`${n}/clip_lo`, 'f32', -cellClip);
  const hi = e.scalar(`${n}/clip_hi`, 'f32', cellClip);
  const pv = peep?.map((t, k) => e.const(`${n}/peephole_${k}`, Tensor.from('f32', [H], t.toNumbers())));
  // constants shared by every step (one node each, not one per step)
  const gs = [0, 1, 2, 3].map((k) => [e.i64(`${n}/s${k}`, [k * H]), e.i64(`${n}/e${k}`, [(k + 1) * H])] as const);
  const gax = e.i64(`${n}/ax`, [1]);
  const gate = (g: ValueId, k: number, t: number): ValueId => e.op('Slice', [g, gs[k]![0], gs[k]![1], gax], {}, `${n}/t${t}/gate${k}`);
  let h = e.const(`${n}/h0`, Tensor.zeros('f32', [B, H]));
  let cs = e.const(`${n}/c0`, Tensor.zeros('f32', [B, H]));
  const hs: ValueId[] = [];
  const ax = timeMajor ? 0 : 1;
  const axc = e.i64(`${n}/xa`, [ax]);
  for (let t = 0; t < T; t++) {
    const xt = e.op('Squeeze', [e.op('Slice', [x, e.i64(`${n}/xs`, [t]), e.i64(`${n}/xe`, [t + 1]), axc], {}, `${n}/t${t}/x`), axc], {}, `${n}/t${t}/xt`);
    const g = e.op('Add', [e.op('Gemm', [xt, W, b], { transB: 1 }, `${n}/t${t}/xw`), e.op('Gemm', [h, R], { transB: 1 }, `${n}/t${t}/hr`)], {}, `${n}/t${t}/g`);
    let gi = gate(g, 0, t);
    const go0 = gate(g, 1, t);
    let gf = gate(g, 2, t);
    const gc = gate(g, 3, t);
    if (pv) {
      gi = e.op('Add', [gi, e.op('Mul', [pv[0]!, cs], {}, `${n}/t${t}/pi`)], {}, `${n}/t${t}/gi`);
      gf = e.op('Add', [gf, e.op('Mul', [pv[2]!, cs], {}, `${n}/t${t}/pf`)], {}, `${n}/t${t}/gf`);
    }
    const i = e.op('Sigmoid', [gi], {}, `${n}/t${t}/i`);
    const f = e.op('Sigmoid', [gf], {}, `${n}/t${t}/f`);
    const cNew = e.op('Add', [e.op('Mul', [f, cs], {}, `${n}/t${t}/fc`), e.op('Mul', [i, e.op('Tanh', [gc], {}, `${n}/t${t}/cand`)], {}, `${n}/t${t}/ig`)], {}, `${n}/t${t}/c_raw`);
    cs = e.op('Clip', [cNew, lo, hi], {}, `${n}/t${t}/c`);
    const go = pv ? e.op('Add', [go0, e.op('Mul', [pv[1]!, cs], {}, `${n}/t${t}/po`)], {}, `${n}/t${t}/go`) : go0;
    h = e.op('Mul', [e.op('Sigmoid', [go], {}, `${n}/t${t}/o`), e.op('Tanh', [cs], {}, `${n}/t${t}/tanh_c`)], {}, `${n}/t${t}/h`);
    hs.push(e.op('Unsqueeze', [h, axc], {}, `${n}/t${t}/h_seq`));
  }
  return { tf: hs.length === 1 ? hs[0]! : e.op('Concat', hs, { axis: ax }, `${n}/y`) };
}

/** Converters by builtin name. */
export const TFLITE_OPS: Readonly<Record<string, OpConverter>> = {
  CONV_2D: conv2d,
  DEPTHWISE_CONV_2D: depthwise,
  FULLY_CONNECTED: fullyConnected,
  AVERAGE_POOL_2D: pool('avg'),
  MAX_POOL_2D: pool('max'),
  RESHAPE: reshape,
  SOFTMAX: softmaxOp,
  ADD: bin('Add', 0),
  SUB: bin('Sub', 0),
  MUL: bin('Mul', 0),
  DIV: bin('Div', 0),
  MAXIMUM: bin('Max', null),
  MINIMUM: bin('Min', null),
  SQUARED_DIFFERENCE: (c) => {
    const d = binary(c.e, 'Sub', c.input(0), c.input(1), `${c.name}/diff`);
    return [binary(c.e, 'Mul', d, d, c.name)];
  },
  LOGISTIC: un('Sigmoid'),
  TANH: un('Tanh'),
  RELU: un('Relu'),
  RELU6: (c) => [clip(c, c.input(0), 0, 6, c.name)],
  RELU_N1_TO_1: (c) => [clip(c, c.input(0), -1, 1, c.name)],
  HARD_SWISH: un('HardSwish'),
  LEAKY_RELU: leakyRelu,
  EXP: un('Exp'),
  ABS: un('Abs'),
  NEG: un('Neg'),
  SQRT: un('Sqrt'),
  RSQRT: (c) => [unary(c.e, unary(c.e, c.input(0), 'Sqrt', {}, `${c.name}/sqrt`), 'Reciprocal', {}, c.name)],
  LOG: un('Log'),
  FLOOR: un('Floor'),
  CONCATENATION: concatenation,
  PAD: padOp,
  PADV2: padOp,
  MEAN: reducer('ReduceMean'),
  SUM: reducer('ReduceSum'),
  REDUCE_MAX: reducer('ReduceMax'),
  REDUCE_MIN: reducer('ReduceMin'),
  TRANSPOSE: transpose,
  SHAPE: shapeOp,
  STRIDED_SLICE: stridedSlice,
  PACK: pack,
  SQUEEZE: squeezeOp,
  EXPAND_DIMS: expandDims,
  RESIZE_BILINEAR: resizeOp('linear'),
  RESIZE_NEAREST_NEIGHBOR: resizeOp('nearest'),
  TRANSPOSE_CONV: transposeConv,
  DEQUANTIZE: dequantize,
  UNIDIRECTIONAL_SEQUENCE_LSTM: sequenceLstm,
};
