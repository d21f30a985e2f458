/**
 * Quantized (integer) TFLite operators as edgec's integer ops (compiler/ops/qint.ts) with TFLite's
 * arithmetic: `rq_mode: 'tflite'` requantization (MultiplyByQuantizedMultiplier, double rounding)
 * for CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, TFLite's ADD/SUB scheme (left shift 20,
 * per-input multipliers), AVERAGE_POOL_2D's rounded division and SOFTMAX's float exp table.
 * Multipliers are derived from the tensors' scales as TFLite's Prepare does (double arithmetic,
 * QuantizeMultiplier with frexp and round-half-away), so a model runs bit-identically to TFLite's
 * integer kernels. Layout-only ops (RESHAPE, ...) keep their float converters, checked to keep
 * the quantization parameters.
 */
import { ValueId } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { invalid, unsupported } from '../../errors.js';
import { LVal, permuteTensor } from '../tfjs/emit.js';
import { Conv2dSpec, pad, pool2d, windowPads } from '../tfjs/nn.js';
import { OpConverter, OpCtx, TFLITE_OPS } from './ops.js';
import { TENSOR_TYPES, TflQuant, TflTensor } from './schema.js';

/** TFLite tensor type codes of quantized activations: INT8, UINT8, INT16. */
const QUANT_TYPES = new Set([9, 3, 7]);

/** Whether a tensor is a quantized (integer) value: int8/uint8/int16 with quantization parameters. */
export function isQuantTensor(t: TflTensor): boolean {
  return QUANT_TYPES.has(t.type) && !!t.quant && t.quant.scale.length > 0;
}

/** TFLite's QuantizeMultiplier (quantization_util.cc) as edgec's (M, n): m ~= M * 2^-n, n = 31 - shift. */
export function tfliteMultiplier(m: number): { multiplier: number; shift: number } {
  if (!Number.isFinite(m) || m < 0) throw invalid(`requantization multiplier ${m} must be finite and >= 0`);
  if (m === 0) return { multiplier: 0, shift: 31 };
  // frexp: m = q * 2^e, q in [0.5, 1)
  let e = Math.floor(Math.log2(m)) + 1;
  if (m / 2 ** e >= 1) e += 1;
  if (m / 2 ** e < 0.5) e -= 1;
  let q = Math.round((m / 2 ** e) * 2 ** 31); // TfLiteRound: half away from zero (q > 0)
  if (q === 2 ** 31) {
    q /= 2;
    e += 1;
  }
  if (e < -31) return { multiplier: 0, shift: 31 };
  if (e > 30) {
    e = 30;
    q = 2 ** 31 - 1;
  }
  return { multiplier: q, shift: 31 - e };
}

/** The quantization parameters of tensor j's value (input or output), checked. */
function quantOf(t: TflTensor, what: string): TflQuant {
  const q = t.quant;
  if (!q || q.scale.length === 0) throw invalid(`${what} "${t.name}" has no quantization parameters`);
  if (q.scale.some((s) => !(s > 0) || !Number.isFinite(s))) throw invalid(`${what} "${t.name}" has a non-positive scale`);
  return q;
}

/** Per-tensor scale and zero point of an activation tensor. */
function act(t: TflTensor, what: string): { s: number; z: number; dt: 'i8' | 'u8' } {
  if (t.type !== 9 && t.type !== 3) throw unsupported(`${what} "${t.name}" is ${TENSOR_TYPES[t.type]}; quantized TFLite activations must be int8 or uint8`);
  const q = quantOf(t, what);
  if (q.scale.length !== 1) throw unsupported(`${what} "${t.name}" has per-channel quantization; activations must be per-tensor`);
  return { s: q.scale[0]!, z: q.zeroPoint[0] ?? 0, dt: t.type === 9 ? 'i8' : 'u8' };
}

/** CalculateActivationRangeQuantized: the fused activation's clamp in the output's integer domain. */
function actRange(code: number, s: number, z: number, dt: 'i8' | 'u8'): [number, number] {
  const [qmin, qmax] = dt === 'i8' ? [-128, 127] : [0, 255];
  const q = (f: number): number => {
    const v = Math.fround(f / s);
    return z + Math.sign(v) * Math.round(Math.abs(v));
  };
  switch (code) {
    case 0: return [qmin, qmax];
    case 1: return [Math.max(qmin, q(0)), qmax];
    case 2: return [Math.max(qmin, q(-1)), Math.min(qmax, q(1))];
    case 3: return [Math.max(qmin, q(0)), Math.min(qmax, q(6))];
    default: throw unsupported(`fused activation function ${code} on a quantized operator is not supported`);
  }
}

function constOf(c: OpCtx, j: number, what: string): Tensor {
  const v = c.input(j);
  const t = v.tf !== undefined ? c.e.constOf(v.tf) : undefined;
  if (!t) throw unsupported(`quantized ${c.opName} ${what} must be a constant`);
  return t;
}

/** Integer weights and their per-channel (or per-tensor) scales and zero points along `axis`. */
function weights(c: OpCtx, j: number, n: number): { w: Tensor; scales: number[]; zps: number[] } {
  const w = constOf(c, j, 'weights');
  if (w.dtype !== 'i8' && w.dtype !== 'u8') throw unsupported(`quantized ${c.opName} weights of type ${w.dtype} are not supported (int8/uint8 are)`);
  const q = quantOf(c.inTensor(j), `${c.opName} weights`);
  if (q.scale.length !== 1 && q.scale.length !== n) throw invalid(`${c.opName} weights have ${q.scale.length} scales for ${n} output channels`);
  const zps = q.zeroPoint.length ? q.zeroPoint : [0];
  return { w, scales: q.scale, zps: zps.length === 1 || zps.every((z) => z === zps[0]) ? [zps[0]!] : zps };
}

function biasOf(c: OpCtx, j: number, n: number): ValueId | null {
  if (!c.hasInput(j)) return null;
  const b = constOf(c, j, 'bias');
  if (b.dtype !== 'i32') throw unsupported(`quantized ${c.opName} bias of type ${b.dtype} is not supported (int32 is)`);
  if (b.size !== n) throw invalid(`${c.opName} bias has ${b.size} values, expected ${n}`);
  return c.e.tf(c.input(j));
}

/** The QConv/QGemm output stage: TFLite per-channel multipliers input_scale * w_scale / output_scale (double). */
function outStage(sx: number, scales: number[], y: { s: number; z: number; dt: 'i8' | 'u8' }, code: number) {
  const fm = scales.map((sw) => tfliteMultiplier((sx * sw) / y.s));
  const [lo, hi] = actRange(code, y.s, y.z, y.dt);
  return {
    rq_mode: 'tflite', multiplier: fm.map((f) => f.multiplier), shift: fm.map((f) => f.shift),
    y_zero_point: y.z, y_dtype: y.dt, clamp_lo: lo, clamp_hi: hi,
  };
}

function spec(padding: number, sh: number, sw: number, dh = 1, dw = 1): Conv2dSpec {
  if (padding !== 0 && padding !== 1) throw invalid(`padding ${padding} is not SAME (0) or VALID (1)`);
  for (const v of [sh, sw, dh, dw]) if (!Number.isInteger(v) || v < 1) throw invalid(`stride/dilation ${v} must be a positive integer`);
  return { padding: padding === 0 ? 'SAME' : 'VALID', strides: [sh, sw], dilations: [dh, dw] };
}

/** CONV_2D / DEPTHWISE_CONV_2D as edgec.QConv (channels-first, weights OIHW). */
function qconv(depthwise: boolean): OpConverter {
  return (c) => {
    const o = c.op.options;
    const e = c.e;
    const s = depthwise
      ? spec(o?.u8(0) ?? 0, o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1, o?.i32(6, 1) ?? 1, o?.i32(5, 1) ?? 1)
      : spec(o?.u8(0) ?? 0, o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1, o?.i32(5, 1) ?? 1, o?.i32(4, 1) ?? 1);
    const x = act(c.inTensor(0), `${c.opName} input`);
    const y = act(c.outTensor(0), `${c.opName} output`);
    const wt = constOf(c, 1, 'filter');
    if (wt.shape.length !== 4) throw invalid(`${c.opName} filter must have rank 4, got [${wt.shape.join(',')}]`);
    const xc = e.cf(c.input(0));
    const [, ch, h, wd] = e.shape(xc, `${c.opName} input`, 1);
    let co: number, kh: number, kw: number, group: number, perm: number[];
    if (depthwise) {
      [, kh, kw, co] = wt.shape as [number, number, number, number];
      if (wt.shape[0] !== 1 || co % ch! !== 0) throw invalid(`DEPTHWISE_CONV_2D filter [${wt.shape.join(',')}] does not fit ${ch} input channels`);
      group = ch!;
      perm = [3, 0, 1, 2];
    } else {
      let ci: number;
      [co, kh, kw, ci] = wt.shape as [number, number, number, number];
      if (ci < 1 || ch! % ci !== 0 || co % (ch! / ci) !== 0) throw invalid(`CONV_2D filter [${wt.shape.join(',')}] does not fit ${ch} input channels`);
      group = ch! / ci;
      perm = [0, 3, 1, 2];
    }
    const { scales, zps } = weights(c, 1, co);
    const wv = e.const(`${c.name}/filter_oihw`, permuteTensor(wt, perm));
    const b = biasOf(c, 2, co);
    const code = o?.i8(depthwise ? 4 : 3, 0) ?? 0;
    const yv = e.op('QConv', b === null ? [xc, wv] : [xc, wv, b], {
      kernel_shape: [kh, kw], strides: [...s.strides], dilations: [...s.dilations], pads: windowPads(s, h!, wd!, kh, kw), group,
      x_zero_point: x.z, w_zero_point: zps, ...outStage(x.s, scales, y, code),
    }, c.name, 'edgec');
    return [{ cf: yv }];
  };
}

/** FULLY_CONNECTED as edgec.QGemm (weights [N, K], trans_b). */
function qfullyConnected(c: OpCtx): LVal[] {
  const o = c.op.options;
  const e = c.e;
  if ((o?.u8(1, 0) ?? 0) !== 0) throw unsupported('FULLY_CONNECTED shuffled weights format is not supported');
  const keep = o?.bool(2, false) ?? false;
  const x = act(c.inTensor(0), 'FULLY_CONNECTED input');
  const y = act(c.outTensor(0), 'FULLY_CONNECTED output');
  const wt = constOf(c, 1, 'weights');
  if (wt.shape.length !== 2) throw invalid(`FULLY_CONNECTED weights must have rank 2, got [${wt.shape.join(',')}]`);
  const [n, k] = wt.shape as [number, number];
  const { scales, zps } = weights(c, 1, n);
  const xv = e.tf(c.input(0));
  const xs = e.type(xv).shape;
  if (keep && xs[xs.length - 1] !== k) throw invalid(`FULLY_CONNECTED input's last dim ${String(xs[xs.length - 1])} differs from the weights' ${k}`);
  const total = xs.every((d) => typeof d === 'number') ? (xs as number[]).reduce((p, q) => p * q, 1) : -1;
  if (!keep && total >= 0 && total % k !== 0) throw invalid(`FULLY_CONNECTED input [${xs.join(',')}] does not flatten to rows of ${k}`);
  const x2 = keep || (xs.length === 2 && xs[1] === k) ? xv : e.op('Reshape', [xv, e.i64(`${c.name}/rows`, [-1, k])], {}, `${c.name}/flatten`);
  const b = biasOf(c, 2, n);
  const yv = e.op('QGemm', b === null ? [x2, e.tf(c.input(1))] : [x2, e.tf(c.input(1)), b], {
    trans_b: 1, x_zero_point: x.z, w_zero_point: zps, ...outStage(x.s, scales, y, o?.i8(0, 0) ?? 0),
  }, c.name, 'edgec');
  return [{ tf: yv }];
}

/** AVERAGE_POOL_2D: edgec.QAvgPool with TFLite's rounded division of the raw sum. */
function qavgPool(c: OpCtx): LVal[] {
  const o = c.op.options;
  if (!o) throw invalid('AVERAGE_POOL_2D has no Pool2DOptions');
  const s = spec(o.u8(0), o.i32(2, 1), o.i32(1, 1));
  const k: [number, number] = [o.i32(4, 0), o.i32(3, 0)];
  if (k[0] < 1 || k[1] < 1) throw invalid(`AVERAGE_POOL_2D filter ${k[0]}x${k[1]} must be positive`);
  const x = act(c.inTensor(0), 'AVERAGE_POOL_2D input');
  const y = act(c.outTensor(0), 'AVERAGE_POOL_2D output');
  if (x.s !== y.s || x.z !== y.z || x.dt !== y.dt) throw unsupported('quantized AVERAGE_POOL_2D with different input and output quantization is not supported (TFLite requires them equal)');
  const e = c.e;
  const xc = e.cf(c.input(0));
  const [, , h, w] = e.shape(xc, 'AVERAGE_POOL_2D input', 1);
  const [lo, hi] = actRange(o.i8(5, 0), y.s, y.z, y.dt);
  const yv = e.op('QAvgPool', [xc], {
    kernel_shape: [...k], strides: [...s.strides], pads: windowPads(s, h!, w!, k[0], k[1]), count_include_pad: 0, rq_mode: 'tflite',
    x_zero_point: 0, y_zero_point: 0, y_dtype: y.dt, clamp_lo: lo, clamp_hi: hi,
  }, c.name, 'edgec');
  return [{ cf: yv }];
}

/** SOFTMAX: edgec.QSoftmax with TFLite's table expf(-input_scale * beta * d) (float32). */
function qsoftmax(c: OpCtx): LVal[] {
  const beta = c.op.options?.f32(0, 1) ?? 1;
  const x = act(c.inTensor(0), 'SOFTMAX input');
  const y = act(c.outTensor(0), 'SOFTMAX output');
  const f = Math.fround;
  const scale = f(-x.s * beta);
  const table = new Array<number>(256);
  for (let v = 0; v <= 255; v++) table[255 - v] = f(Math.exp(f(scale * v)));
  const xv = c.e.tf(c.input(0));
  return [{ tf: c.e.op('QSoftmax', [xv], { table, y_scale: y.s, y_zero_point: y.z, y_dtype: y.dt }, c.name, 'edgec') }];
}

/**
 * LOGISTIC / TANH (int8, uint8): edgec.QLut with the table full TFLite's builtin kernels build in
 * Prepare (activations.cc, LUTPopulate; all float32): table[byte(v)] = clamp(TfLiteRound(
 * f(x_scale * (v - zx)) * (1 / y_scale)) + zy), f = 1 / (1 + exp(-x)) or tanh. (TFLite Micro runs
 * gemmlowp's fixed-point kernels instead, which can differ by 1.)
 */
function qlut(kind: 'sigmoid' | 'tanh'): OpConverter {
  return (c) => {
    const x = act(c.inTensor(0), `${c.opName} input`);
    const y = act(c.outTensor(0), `${c.opName} output`);
    if (x.dt !== y.dt) throw unsupported(`quantized ${c.opName} with mixed integer types is not supported`);
    const f = Math.fround;
    const [lo, hi] = y.dt === 'i8' ? [-128, 127] : [0, 255];
    const inv = f(1 / y.s);
    const table = new Array<number>(256);
    for (let v = lo; v <= hi; v++) {
      const dq = f(x.s * (v - x.z));
      const t = kind === 'sigmoid' ? f(1 / f(1 + f(Math.exp(-dq)))) : f(Math.tanh(dq));
      const r = f(t * inv);
      const q = Math.sign(r) * Math.round(Math.abs(r)) + y.z;
      table[v & 0xff] = q < lo ? lo : q > hi ? hi : q;
    }
    return [{ tf: c.e.op('QLut', [c.e.tf(c.input(0))], { table, y_dtype: y.dt }, c.name, 'edgec') }];
  };
}

const i16 = (v: number): number => (v << 16) >> 16;
/** gemmlowp's int16 SaturatingRoundingDoublingHighMul. */
function srdhm16(a: number, b: number): number {
  if (a === b && a === -32768) return 32767;
  const ab = a * b;
  return i16(Math.trunc((ab + (ab >= 0 ? 1 << 14 : 1 - (1 << 14))) / 32768));
}
/** gemmlowp's int16 RoundingDivideByPOT (with C++'s int16 wrapping of the mask). */
function rdbpot16(x: number, e: number): number {
  const mask = i16((1 << e) - 1);
  const rem = i16(x & mask);
  const threshold = i16((mask >> 1) + (x < 0 ? 1 : 0));
  return i16((x >> e) + (rem > threshold ? 1 : 0));
}
const satShl16 = (v: number, amount: number): number => Math.min(32767, Math.max(-32768, v * 2 ** amount));
/** TFLite's DownScaleInt32ToInt16Multiplier. */
const downScale16 = (m: number): number => (m >= 2 ** 31 - 1 - 2 ** 15 ? 32767 : Math.floor((m + 2 ** 15) / 2 ** 16));

/**
 * HARD_SWISH (int8, uint8): reference_ops::HardSwish with HardSwishPrepare's int16 fixed-point
 * multipliers (hires input scale x_scale / 128, reluish scale 3 / 32768, QuantizeMultiplier then
 * DownScaleInt32ToInt16Multiplier, float32 scale arithmetic). The result depends only on the
 * input byte, so the kernel's integer arithmetic is evaluated here for all 256 inputs into an
 * edgec.QLut table (bit-identical to running it per element).
 */
function qhardSwish(c: OpCtx): LVal[] {
  const x = act(c.inTensor(0), 'HARD_SWISH input');
  const y = act(c.outTensor(0), 'HARD_SWISH output');
  if (x.dt !== y.dt) throw unsupported('quantized HARD_SWISH with mixed integer types is not supported');
  const f = Math.fround;
  const hires = f(f(1 / 128) * f(x.s));
  const om = tfliteMultiplier(f(hires / f(y.s)));
  const rm = tfliteMultiplier(f(hires / f(3 / 32768)));
  const [oExp, rExp] = [31 - om.shift, 31 - rm.shift];
  if (oExp > 0) throw unsupported(`quantized HARD_SWISH with output scale ${y.s} below input scale / 128 (TFLite refuses it: output multiplier exponent ${oExp} > 0)`);
  const [om16, rm16] = [downScale16(om.multiplier), downScale16(rm.multiplier)];
  const [lo, hi] = y.dt === 'i8' ? [-128, 127] : [0, 255];
  const table = new Array<number>(256);
  for (let v = lo; v <= hi; v++) {
    const hv = i16(i16(v - x.z) * 128);
    const pre = srdhm16(hv, om16);
    let r = hv;
    if (rExp > 0) r = satShl16(r, rExp - 1);
    r = srdhm16(r, rm16);
    if (rExp > 0) r = satShl16(r, 1);
    if (rExp < 0) r = rdbpot16(r, -rExp);
    r = i16((r + (1 << 15)) >> 1);
    const post = r === -32768 && pre === -32768 ? 32767 : i16(Math.trunc((r * pre) / 32768));
    const out = i16(rdbpot16(post, -oExp) + y.z);
    table[v & 0xff] = Math.min(hi, Math.max(lo, out));
  }
  return [{ tf: c.e.op('QLut', [c.e.tf(c.input(0))], { table, y_dtype: y.dt }, c.name, 'edgec') }];
}

/**
 * ADD: edgec.QAdd with TFLite's scheme (add.cc Prepare, int8 and uint8). SUB: the same with the
 * second input's multiplier negated, as sub.cc prepares its same-shape int8/uint8 kernel
 * (reference_integer_ops::Add); a broadcasting quantized SUB runs another kernel
 * (BroadcastQuantSubSlow, whose fixed-point rounding of the negated term differs on ties) and is refused.
 */
function qadd(sub = false): OpConverter {
  return (c) => {
    const a = act(c.inTensor(0), `${c.opName} input A`);
    const b = act(c.inTensor(1), `${c.opName} input B`);
    const y = act(c.outTensor(0), `${c.opName} output`);
    if (a.dt !== y.dt || b.dt !== y.dt) throw unsupported(`quantized ${c.opName} with mixed integer types is not supported`);
    const leftShift = 20;
    const twiceMax = 2 * Math.max(a.s, b.s);
    const ma = tfliteMultiplier(a.s / twiceMax);
    const mb = tfliteMultiplier(b.s / twiceMax);
    if (sub) mb.multiplier = -mb.multiplier;
    const my = tfliteMultiplier(twiceMax / (2 ** leftShift * y.s));
    const [lo, hi] = actRange(c.op.options?.i8(0, 0) ?? 0, y.s, y.z, y.dt);
    const e = c.e;
    const va = c.input(0), vb = c.input(1);
    if (sub) {
      const sa = e.ltype(va).shape, sb = e.ltype(vb).shape;
      if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) throw unsupported(`quantized SUB with broadcasting ([${sa.join(',')}] - [${sb.join(',')}]) is not supported (same shapes are)`);
    }
    const cf = e.lrank(va) === 4 && e.lrank(vb) === 4 && (va.cf !== undefined || vb.cf !== undefined);
    const ia = cf ? e.cf(va) : e.tf(va);
    const ib = cf ? e.cf(vb) : e.tf(vb);
    const yv = e.op('QAdd', [ia, ib], {
      rq_mode: 'tflite', left_shift: leftShift, a_zero_point: a.z, b_zero_point: b.z,
      a_multiplier: ma.multiplier, a_shift: ma.shift, b_multiplier: mb.multiplier, b_shift: mb.shift,
      multiplier: my.multiplier, shift: my.shift, y_zero_point: y.z, y_dtype: y.dt, clamp_lo: lo, clamp_hi: hi,
    }, c.name, 'edgec');
    return [cf ? { cf: yv } : { tf: yv }];
  };
}

/**
 * MUL on int8/uint8 (mul.cc: real multiplier input1_scale * input2_scale / output_scale in double,
 * QuantizeMultiplier; reference_integer_ops::Mul, or BroadcastMul6DSlow with the same arithmetic
 * when the shapes differ): edgec.QMul with rq_mode 'tflite',
 * y = clamp(zy + MultiplyByQuantizedMultiplier((a - za) * (b - zb))).
 */
function qmul(c: OpCtx): LVal[] {
  const a = act(c.inTensor(0), 'MUL input A');
  const b = act(c.inTensor(1), 'MUL input B');
  const y = act(c.outTensor(0), 'MUL output');
  if (a.dt !== y.dt || b.dt !== y.dt) throw unsupported('quantized MUL with mixed integer types is not supported');
  const m = tfliteMultiplier((a.s * b.s) / y.s);
  const [lo, hi] = actRange(c.op.options?.i8(0, 0) ?? 0, y.s, y.z, y.dt);
  const e = c.e;
  const va = c.input(0), vb = c.input(1);
  const cf = e.lrank(va) === 4 && e.lrank(vb) === 4 && (va.cf !== undefined || vb.cf !== undefined);
  const yv = e.op('QMul', [cf ? e.cf(va) : e.tf(va), cf ? e.cf(vb) : e.tf(vb)], {
    rq_mode: 'tflite', a_zero_point: a.z, b_zero_point: b.z, multiplier: m.multiplier, shift: m.shift,
    y_zero_point: y.z, y_dtype: y.dt, clamp_lo: lo, clamp_hi: hi,
  }, c.name, 'edgec');
  return [cf ? { cf: yv } : { tf: yv }];
}

/**
 * MEAN over H and W of an int8 NHWC value (global average pooling): edgec.QReduceMean with
 * rq_mode 'tflite', TFLite's reference_integer_ops::Mean (multiplier input_scale / output_scale,
 * then the sum's division by H * W rounded half away from zero), the kernel reduce.cc runs for
 * keep_dims models (with keep_dims false, some TFLite versions take a float or truncating path
 * instead). Other axes and uint8 use other TFLite kernels (float arithmetic) and are refused.
 */
function qmean(c: OpCtx): LVal[] {
  const x = act(c.inTensor(0), 'MEAN input');
  const y = act(c.outTensor(0), 'MEAN output');
  if (x.dt !== 'i8' || y.dt !== 'i8') throw unsupported('quantized MEAN on uint8 is not supported (int8 is)');
  const e = c.e;
  const v = c.input(0);
  const r = e.lrank(v);
  const axes = constOf(c, 1, 'axes').toNumbers().map((a) => (a < 0 ? a + r : a));
  const hw = r === 4 && axes.length === 2 && new Set(axes).size === 2 && axes.every((a) => a === 1 || a === 2);
  if (!hw) throw unsupported(`quantized MEAN over axes [${axes.join(',')}] of a rank-${r} value is not supported (int8 MEAN over H and W of an NHWC value is)`);
  const keep = c.op.options?.bool(0, false) ?? false;
  const m = tfliteMultiplier(x.s / y.s);
  const attrs = {
    axes: [2, 3], keepdims: keep ? 1 : 0, x_zero_point: x.z,
    rq_mode: 'tflite', multiplier: [m.multiplier], shift: [m.shift], y_zero_point: y.z, y_dtype: y.dt,
  };
  const yv = e.op('QReduceMean', [e.cf(v)], attrs, c.name, 'edgec');
  // [N, C, 1, 1] channels-first, or [N, C] (the same in both layouts)
  return [keep ? { cf: yv } : { tf: yv }];
}

/** A layout/data-movement op on integers: the float converter, the output keeping the input's quantization. */
function sameQuant(op: string, conv: OpConverter = TFLITE_OPS[op]!): OpConverter {
  return (c) => {
    const qi = c.inTensor(0).quant;
    for (let j = 0; j < c.op.outputs.length; j++) {
      const qo = c.outTensor(j).quant;
      if (c.inTensor(0).type !== c.outTensor(j).type || !qi || !qo || qi.scale[0] !== qo.scale[0] || (qi.zeroPoint[0] ?? 0) !== (qo.zeroPoint[0] ?? 0)) {
        throw unsupported(`quantized ${op} that changes the quantization parameters is not supported`);
      }
    }
    return conv(c);
  };
}

/** MAX_POOL_2D on integers: MaxPool (a fused activation is a clamp in the integer domain). */
function qmaxPool(c: OpCtx): LVal[] {
  const o = c.op.options;
  const y = act(c.outTensor(0), 'MAX_POOL_2D output');
  if ((o?.i8(5, 0) ?? 0) !== 0) {
    const [lo, hi] = actRange(o!.i8(5, 0), y.s, y.z, y.dt);
    const [dlo, dhi] = y.dt === 'i8' ? [-128, 127] : [0, 255];
    if (lo !== dlo || hi !== dhi) throw unsupported('quantized MAX_POOL_2D with a clamping fused activation is not supported');
  }
  return sameQuant('MAX_POOL_2D', (c2) => {
    const s = spec(o?.u8(0) ?? 0, o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1);
    return [pool2d(c2.e, c2.input(0), 'max', [o?.i32(4, 0) ?? 0, o?.i32(3, 0) ?? 0], s, c2.name)];
  })(c);
}

/** PAD / PADV2 on integers: the pad value is the output zero point (PAD) or the given constant (PADV2). */
function qpad(c: OpCtx): LVal[] {
  const x = act(c.inTensor(0), `${c.opName} input`);
  const y = act(c.outTensor(0), `${c.opName} output`);
  if (x.s !== y.s || x.z !== y.z || x.dt !== y.dt) throw unsupported(`quantized ${c.opName} that changes the quantization parameters is not supported`);
  const e = c.e;
  const p = constOf(c, 1, 'paddings').toNumbers();
  const r = e.lrank(c.input(0));
  if (p.length !== 2 * r) throw invalid(`${c.opName} paddings have ${p.length} values, the input has rank ${r}`);
  const pairs = Array.from({ length: r }, (_, i) => [p[2 * i]!, p[2 * i + 1]!] as [number, number]);
  if (pairs.some(([a, b]) => a < 0 || b < 0)) throw invalid(`${c.opName} paddings must be non-negative`);
  let v = y.z;
  if (c.hasInput(2)) {
    const t = constOf(c, 2, 'constant value');
    if (t.size !== 1 || t.dtype !== y.dt) throw invalid(`${c.opName} constant value must be one ${y.dt} value`);
    v = t.get(0);
  }
  return [pad(e, c.input(0), pairs, 'constant', e.scalar(`${c.name}/value`, y.dt, v), c.name)];
}

/**
 * QUANTIZE: of a float32 value, edgec.TflQuantize (TFLite's AffineQuantize, rounding half away from
 * zero); of an int8/uint8 value (TFLite's Requantize, also int8 <-> uint8), edgec.Requantize with
 * TFLite's multiplier.
 */
function qquantize(c: OpCtx): LVal[] {
  const it = c.inTensor(0);
  const y = act(c.outTensor(0), 'QUANTIZE output');
  const e = c.e;
  const v = c.input(0);
  if (it.type === 0) {
    const attrs = { scale: y.s, y_zero_point: y.z, y_dtype: y.dt };
    if (v.cf !== undefined) return [{ cf: e.op('TflQuantize', [v.cf], attrs, c.name, 'edgec') }];
    return [{ tf: e.op('TflQuantize', [e.tf(v)], attrs, c.name, 'edgec') }];
  }
  if (it.type !== 9 && it.type !== 3) throw unsupported(`QUANTIZE of a ${TENSOR_TYPES[it.type]} input is not supported (float32, int8 and uint8 are)`);
  const x = act(it, 'QUANTIZE input');
  const m = tfliteMultiplier(x.s / y.s);
  const attrs = { x_zero_point: x.z, rq_mode: 'tflite', multiplier: [m.multiplier], shift: [m.shift], y_zero_point: y.z, y_dtype: y.dt };
  if (v.cf !== undefined) return [{ cf: e.op('Requantize', [v.cf], attrs, c.name, 'edgec') }];
  return [{ tf: e.op('Requantize', [e.tf(v)], attrs, c.name, 'edgec') }];
}

/** DEQUANTIZE of an int8/uint8 value: (x - zero_point) * scale in float32, as DequantizeLinear. */
function qdequantize(c: OpCtx): LVal[] {
  const x = act(c.inTensor(0), 'DEQUANTIZE input');
  const e = c.e;
  const s = e.scalar(`${c.name}/scale`, 'f32', x.s);
  const z = e.scalar(`${c.name}/zero_point`, x.dt, x.z);
  const v = c.input(0);
  if (v.cf !== undefined) return [{ cf: e.op('DequantizeLinear', [v.cf, s, z], {}, c.name) }];
  return [{ tf: e.op('DequantizeLinear', [e.tf(v), s, z], {}, c.name) }];
}

/** CONCATENATION on integers: every input with the output's quantization, no clamping activation. */
function qconcat(c: OpCtx): LVal[] {
  const y = act(c.outTensor(0), 'CONCATENATION output');
  c.op.inputs.forEach((_, j) => {
    const x = act(c.inTensor(j), `CONCATENATION input ${j}`);
    if (x.s !== y.s || x.z !== y.z || x.dt !== y.dt) throw unsupported('quantized CONCATENATION of inputs with other quantization parameters than the output (a requantizing concat) is not supported');
  });
  if ((c.op.options?.i8(1, 0) ?? 0) !== 0) throw unsupported('quantized CONCATENATION with a fused activation is not supported');
  return TFLITE_OPS['CONCATENATION']!(c);
}

/** Per-tensor int16 quantization of a TFLite LSTM state tensor, checked. */
function state16(t: TflTensor, what: string): { s: number; z: number } {
  if (t.type !== 7) throw unsupported(`quantized UNIDIRECTIONAL_SEQUENCE_LSTM ${what} "${t.name}" is ${TENSOR_TYPES[t.type]}; the integer LSTM keeps its cell state in int16`);
  const q = quantOf(t, `UNIDIRECTIONAL_SEQUENCE_LSTM ${what}`);
  if (q.scale.length !== 1 || (q.zeroPoint[0] ?? 0) !== 0) throw unsupported(`UNIDIRECTIONAL_SEQUENCE_LSTM ${what} "${t.name}" must be per-tensor and symmetric (zero point 0)`);
  return { s: q.scale[0]!, z: 0 };
}

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM on int8 activations (TFLite Micro's integer LSTM, lstm_eval.h with
 * int8 input / hidden state, int16 cell state and gates, int8 weights, int32 biases): edgec.TflLstm
 * with the parameters TFLM's Prepare derives (lstm_eval_common.cc): each gate's input FC and
 * recurrent FC requantize to the gate-input scale 2^-12 (QuantizeMultiplier of input_scale *
 * weight_scale / 2^-12, double); the gate outputs have scale 2^-15; forget * cell and input * cell
 * gate requantize to the cell scale, tanh(cell) * output gate to the hidden state's scale and zero
 * point; cell_clip becomes cell-state units. The states start at zero (variable tensors of a
 * fresh interpreter). Peepholes, projection, layer normalization and CIFG are refused (TFLM
 * refuses them too).
 */
function qsequenceLstm(c: OpCtx): LVal[] {
  const o = c.op.options;
  const name = 'UNIDIRECTIONAL_SEQUENCE_LSTM';
  const fa = o?.i8(0, 0) ?? 0;
  if (fa !== 4 && fa !== 6) throw unsupported(`quantized ${name} with fused activation ${fa} is not supported (tanh and sigmoid are)`);
  const clip = o?.f32(1, 0) ?? 0;
  if (!(clip >= 0) || !Number.isFinite(clip)) throw invalid(`${name} cell_clip ${clip} must be finite and >= 0`);
  if (o?.bool(5, false)) throw unsupported(`quantized ${name} with diagonal recurrent tensors is not supported`);
  const timeMajor = o?.bool(3, false) ?? false;
  for (const j of [1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15, 18, 19]) if (!c.hasInput(j)) throw unsupported(`quantized ${name} without input ${j} (CIFG) is not supported`);
  for (const j of [9, 10, 11, 16, 17, 20, 21, 22, 23]) if (c.hasInput(j)) throw unsupported(`quantized ${name} with peepholes, projection or layer normalization (input ${j}) is not supported`);
  const x = act(c.inTensor(0), `${name} input`);
  if (x.dt !== 'i8') throw unsupported(`quantized ${name} on uint8 is not supported (int8 is)`);
  const ht = c.inTensor(18), ct = c.inTensor(19);
  const h = act(ht, `${name} hidden state`);
  if (h.dt !== 'i8') throw unsupported(`quantized ${name} hidden state must be int8`);
  const cs = state16(ct, 'cell state');
  for (const t of [ht, ct]) if (!t.isVariable) throw unsupported(`quantized ${name} state "${t.name}" is not a variable tensor (a constant initial state is not supported)`);
  const y = act(c.outTensor(0), `${name} output`);
  if (y.dt !== 'i8') throw unsupported(`quantized ${name} output must be int8`);
  // the gates in order i, f, c, o
  const wOf = (js: number[], what: string): { data: number[]; scales: number[] } => {
    const data: number[] = [], scales: number[] = [];
    for (const j of js) {
      const w = constOf(c, j, what);
      if (w.dtype !== 'i8') throw unsupported(`quantized ${name} ${what} of type ${w.dtype} are not supported (int8 is)`);
      const q = quantOf(c.inTensor(j), `${name} ${what}`);
      if (q.scale.length !== 1) throw unsupported(`quantized ${name} ${what} with per-channel scales are not supported (per-tensor are)`);
      if ((q.zeroPoint[0] ?? 0) !== 0) throw unsupported(`quantized ${name} ${what} with a non-zero zero point are not supported`);
      data.push(...w.toNumbers());
      scales.push(q.scale[0]!);
    }
    return { data, scales };
  };
  const wi = wOf([1, 2, 3, 4], 'input weights'), wr = wOf([5, 6, 7, 8], 'recurrent weights');
  const w0 = constOf(c, 1, 'input weights');
  if (w0.shape.length !== 2) throw invalid(`${name} input weights must have rank 2, got [${w0.shape.join(',')}]`);
  const [H, I] = w0.shape as [number, number];
  if (wi.data.length !== 4 * H * I) throw invalid(`${name} input weights differ in shape (expected 4 of [${H},${I}])`);
  if (wr.data.length !== 4 * H * H) throw invalid(`${name} recurrent weights must be [${H},${H}]`);
  const bias: number[] = [];
  for (const j of [12, 13, 14, 15]) {
    const b = constOf(c, j, 'bias');
    if (b.dtype !== 'i32') throw unsupported(`quantized ${name} bias of type ${b.dtype} is not supported (int32 is)`);
    if (b.size !== H) throw invalid(`${name} bias has ${b.size} values, expected ${H}`);
    bias.push(...b.toNumbers());
  }
  const gateIn = 2 ** -12, gateOut = 2 ** -15;
  const fm = (m: number) => tfliteMultiplier(m);
  const inM = wi.scales.map((s) => fm((x.s * s) / gateIn));
  const recM = wr.scales.map((s) => fm((h.s * s) / gateIn));
  const muls = [fm((gateOut * cs.s) / cs.s), fm((gateOut * gateOut) / cs.s), fm((gateOut * gateOut) / h.s)];
  const e = c.e;
  const xv = e.tf(c.input(0));
  const xs = e.type(xv).shape;
  if (xs.length !== 3 || xs[2] !== I) throw invalid(`${name} input [${xs.join(',')}] must be [batch, time, ${I}] (or time major)`);
  const yv = e.op('TflLstm', [
    xv,
    e.const(`${c.name}/W`, Tensor.from('i8', [4, H, I], wi.data)),
    e.const(`${c.name}/R`, Tensor.from('i8', [4, H, H], wr.data)),
    e.const(`${c.name}/B`, Tensor.from('i32', [4, H], bias)),
  ], {
    time_major: timeMajor ? 1 : 0, x_zero_point: x.z, h_zero_point: h.z,
    input_multiplier: inM.map((m) => m.multiplier), input_shift: inM.map((m) => m.shift),
    recurrent_multiplier: recM.map((m) => m.multiplier), recurrent_shift: recM.map((m) => m.shift),
    mul_multiplier: muls.map((m) => m.multiplier), mul_shift: muls.map((m) => m.shift),
    cell_scale_power: Math.round(Math.log2(cs.s)),
    cell_clip: Math.trunc(Math.min(Math.max(clip / cs.s, -32768), 32767)),
    cell_activation: fa === 4 ? 'tanh' : 'sigmoid',
  }, c.name, 'edgec');
  return [{ tf: yv }];
}

/**
 * Converters of quantized operators by builtin name. An operator whose activations are quantized
 * and has no entry here is rejected by name (import.ts), never run with float semantics.
 */
export const TFLITE_QOPS: Readonly<Record<string, OpConverter>> = {
  CONV_2D: qconv(false),
  DEPTHWISE_CONV_2D: qconv(true),
  FULLY_CONNECTED: qfullyConnected,
  AVERAGE_POOL_2D: qavgPool,
  MAX_POOL_2D: qmaxPool,
  SOFTMAX: qsoftmax,
  ADD: qadd(),
  SUB: qadd(true),
  MUL: qmul,
  PAD: qpad,
  PADV2: qpad,
  CONCATENATION: qconcat,
  QUANTIZE: qquantize,
  MEAN: qmean,
  DEQUANTIZE: qdequantize,
  RESHAPE: sameQuant('RESHAPE'),
  SQUEEZE: sameQuant('SQUEEZE'),
  EXPAND_DIMS: sameQuant('EXPAND_DIMS'),
  TRANSPOSE: sameQuant('TRANSPOSE'),
  UNIDIRECTIONAL_SEQUENCE_LSTM: qsequenceLstm,
  LOGISTIC: qlut('sigmoid'),
  TANH: qlut('tanh'),
  HARD_SWISH: qhardSwish,
};
