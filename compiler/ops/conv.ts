/**
 * Op family: convolutions. Conv, ConvTranspose, ConvInteger, QLinearConv and the internal fused op
 * edgec.FusedConv (Conv + activation, see act.ts).
 *
 * Also exports the shared geometry (`AutoPad`, `windowDim`) and numeric helpers (`floatData`,
 * `tensorFromF64`, `requantize`) that the pool/matmul/norm/quant families use.
 *
 * Kernels work on flat typed arrays. 1-D and 2-D problems are lifted to 3-D by adding leading
 * spatial dims of size 1, so a single loop nest serves every rank. Every output element is
 * accumulated in float64; integer (ConvInteger/QLinearConv) accumulators are exact because
 * float64 holds every integer below 2^53.
 */
import { DType, isFloat, roundHalfEven, roundToDType } from '../ir/dtype.js';
import { Dim, Shape, Tensor, TensorType, numel } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { ACT_KINDS, ActKind, applyAct } from './act.js';
import { AttrReader, Cost, InferCtx, defineOp, need } from './registry.js';

/** Float storage a kernel reads from. */
export type FArr = Float32Array | Float64Array;

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

const AUTO_PADS: readonly AutoPad[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

// ---------------------------------------------------------------------------------------------
// Numeric helpers shared by family-B kernels
// ---------------------------------------------------------------------------------------------

/**
 * Tensor data as a float array without copying when storage already is Float32/Float64
 * (f32, f16, bf16, f64). Integer data is converted to Float64Array (exact below 2^53).
 * @param t tensor to read
 */
export function floatData(t: Tensor): FArr {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  const out = new Float64Array(t.size);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    for (let i = 0; i < out.length; i++) out[i] = Number(d[i]!);
  } else if (Array.isArray(d)) {
    throw invalid('string tensors are not supported here');
  } else {
    out.set(d);
  }
  return out;
}

/**
 * Builds a tensor of `dtype` from float64 values: floats round to the dtype (round to nearest
 * even), integers convert as a C cast would (truncate, wrap).
 * @param dtype output dtype
 * @param shape output shape
 * @param v values, one per element
 */
export function tensorFromF64(dtype: DType, shape: readonly number[], v: Float64Array): Tensor {
  if (dtype === 'f64') return new Tensor(dtype, shape, v);
  if (dtype === 'f32') return new Tensor(dtype, shape, new Float32Array(v));
  const t = Tensor.zeros(dtype, shape);
  if (dtype === 'f16' || dtype === 'bf16') {
    const d = t.data as Float32Array;
    for (let i = 0; i < v.length; i++) d[i] = roundToDType(dtype, v[i]!);
    return t;
  }
  for (let i = 0; i < v.length; i++) t.set(i, v[i]!);
  return t;
}

/** Rounds every value to what `dtype` holds, in place (float dtypes only; others untouched). */
export function roundInPlace(dtype: DType, v: Float64Array): void {
  if (dtype === 'f64' || !isFloat(dtype)) return;
  if (dtype === 'f32') {
    for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]!);
    return;
  }
  for (let i = 0; i < v.length; i++) v[i] = roundToDType(dtype, v[i]!);
}

/**
 * Requantizes exact integer accumulators as the ONNX reference does for QLinearConv/QLinearMatMul:
 * y = saturate(roundHalfEven(acc * mult) + zp), the product taken in float64.
 * @param acc exact integer accumulator
 * @param mult multiplier (x_scale*w_scale/y_scale, already rounded to the scale dtype)
 * @param zp output zero point
 * @param lo lowest value of the output dtype
 * @param hi highest value of the output dtype
 */
export function requantize(acc: number, mult: number, zp: number, lo: number, hi: number): number {
  const q = roundHalfEven(acc * mult) + zp;
  return q < lo ? lo : q > hi ? hi : q;
}

/**
 * Requantization multiplier as the ONNX reference computes it: (a_scale * b_scale) / y_scale,
 * each step rounded to the scales' dtype (numpy float32/float16 arithmetic).
 */
export function requantMultiplier(scaleDtype: DType, aScale: number, bScale: number, yScale: number): number {
  const r = (x: number) => roundToDType(scaleDtype, x);
  return r(r(aScale * bScale) / yScale);
}

/** Elements of a shape, 1 for symbolic dims (cost estimates). */
export function elemsOf(s: Shape): number {
  let n = 1;
  for (const d of s) n *= typeof d === 'number' ? d : 1;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------------

/** Attributes shared by Conv-like and pool ops (validated, rank-independent). */
export interface WindowAttrs {
  autoPad: AutoPad;
  kernelShape?: number[];
  strides?: number[];
  dilations?: number[];
  pads?: number[];
}

/**
 * Reads auto_pad, kernel_shape, strides, dilations and pads, validating values.
 * @param r attribute reader
 * @param needKernel kernel_shape is required (pools)
 */
export function readWindowAttrs(r: AttrReader, needKernel: boolean): WindowAttrs {
  const ap = r.string('auto_pad', 'NOTSET');
  const autoPad = (ap === '' ? 'NOTSET' : ap) as AutoPad;
  if (!AUTO_PADS.includes(autoPad)) throw r.error(`attribute "auto_pad" is "${ap}", expected one of ${AUTO_PADS.join(', ')}`);
  const a: WindowAttrs = { autoPad };
  const k = r.ints('kernel_shape');
  if (k) {
    if (k.length === 0 || k.some((x) => x <= 0)) throw r.error(`kernel_shape must be positive, got [${k.join(',')}]`);
    a.kernelShape = k;
  } else if (needKernel) throw r.error('attribute "kernel_shape" is required');
  const s = r.ints('strides');
  if (s) {
    if (s.some((x) => x <= 0)) throw r.error(`strides must be positive, got [${s.join(',')}]`);
    a.strides = s;
  }
  const d = r.ints('dilations');
  if (d) {
    if (d.some((x) => x <= 0)) throw r.error(`dilations must be positive, got [${d.join(',')}]`);
    a.dilations = d;
  }
  const p = r.ints('pads');
  if (p) {
    if (p.some((x) => x < 0)) throw r.error(`pads must be non-negative, got [${p.join(',')}]`);
    if (p.length % 2 !== 0) throw r.error(`pads must have an even length, got ${p.length}`);
    a.pads = p;
  }
  const lens = [a.kernelShape?.length, a.strides?.length, a.dilations?.length, a.pads ? a.pads.length / 2 : undefined]
    .filter((x): x is number => x !== undefined);
  if (lens.some((x) => x !== lens[0])) throw r.error('kernel_shape, strides, dilations and pads disagree on the number of spatial dims');
  return a;
}

/** Per-dim window parameters resolved against a spatial rank. */
export interface WindowParams {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Explicit pads [begin..., end...] (before auto_pad resolution). */
  pads: number[];
}

/**
 * Resolves window attributes for `nd` spatial dims (defaults: strides/dilations 1, pads 0).
 * @param a parsed attributes
 * @param nd number of spatial dims
 * @param kernel kernel dims from the weight (conv) when kernel_shape is absent
 * @param op op name for errors
 */
export function windowParams(a: WindowAttrs, nd: number, kernel: readonly Dim[] | undefined, op: string): WindowParams {
  if (nd < 1) throw invalid(`${op}: input must have at least one spatial dim`);
  const chk = (name: string, v: number[] | undefined, len: number) => {
    if (v && v.length !== len) throw invalid(`${op}: ${name} has ${v.length} values, expected ${len} for ${nd} spatial dim(s)`);
  };
  chk('kernel_shape', a.kernelShape, nd);
  chk('strides', a.strides, nd);
  chk('dilations', a.dilations, nd);
  chk('pads', a.pads, 2 * nd);
  let k: number[];
  if (a.kernelShape) {
    k = a.kernelShape;
    if (kernel) {
      kernel.forEach((d, i) => {
        if (typeof d === 'number' && d !== k[i]) throw invalid(`${op}: kernel_shape [${k.join(',')}] does not match the weight's spatial dims [${kernel.join(',')}]`);
      });
    }
  } else if (kernel) {
    if (kernel.length !== nd) throw invalid(`${op}: weight has ${kernel.length} spatial dims, input has ${nd}`);
    k = kernel.map((d) => (typeof d === 'number' ? d : -1));
  } else throw invalid(`${op}: kernel_shape is required`);
  return {
    kernel: k,
    strides: a.strides ?? new Array<number>(nd).fill(1),
    dilations: a.dilations ?? new Array<number>(nd).fill(1),
    pads: a.pads ?? new Array<number>(2 * nd).fill(0),
  };
}

/**
 * Output size and resolved pads of one spatial dim of a sliding window (Conv, pools).
 * NOTSET: out = floor((I + pb + pe - ek) / s) + 1 (ceil_mode: ceil, dropping a last window that
 * would start past the input and its begin padding). SAME_*: out = ceil(I / s), total padding
 * split evenly with the odd element at the end (UPPER) or begin (LOWER). VALID: no padding.
 * @returns [out, padBegin, padEnd]
 */
export function windowDim(I: number, k: number, s: number, d: number, pb: number, pe: number,
  autoPad: AutoPad, ceil: boolean, op: string): [number, number, number] {
  const ek = (k - 1) * d + 1;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const o = Math.ceil(I / s);
    const total = Math.max(0, (o - 1) * s + ek - I);
    const half = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? [o, half, total - half] : [o, total - half, half];
  }
  if (autoPad === 'VALID') {
    pb = 0;
    pe = 0;
  }
  const span = I + pb + pe - ek;
  if (span < 0) throw invalid(`${op}: kernel extent ${ek} is larger than the padded input ${I + pb + pe}`);
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= I + pb) o--;
  return [o, pb, pe];
}

/** Output dims (numbers where known, fresh dims otherwise) for inference. */
function inferWindowDims(ctx: InferCtx, inSp: readonly Dim[], p: WindowParams, autoPad: AutoPad, ceil: boolean, op: string): Dim[] {
  const nd = inSp.length;
  return inSp.map((I, i) => {
    const k = p.kernel[i]!;
    if (typeof I !== 'number' || k < 0) return ctx.freshDim('s');
    return windowDim(I, k, p.strides[i]!, p.dilations[i]!, p.pads[i]!, p.pads[i + nd]!, autoPad, ceil, op)[0];
  });
}

/** A problem lifted to exactly 3 spatial dims (leading dims of size 1). */
export interface Geom3 {
  I: [number, number, number];
  O: [number, number, number];
  K: [number, number, number];
  S: [number, number, number];
  D: [number, number, number];
  /** Begin pads. */
  P: [number, number, number];
  /** End pads (pools with count_include_pad). */
  E: [number, number, number];
}

/** Lifts per-dim lists of up to 3 spatial dims to 3 (leading 1s / zeros). */
function lift3(v: readonly number[], fill: number): [number, number, number] {
  if (v.length > 3) throw unsupported(`more than 3 spatial dims (${v.length}) are not supported`);
  const o: number[] = new Array<number>(3 - v.length).fill(fill).concat(v);
  return [o[0]!, o[1]!, o[2]!];
}

/**
 * Resolves a sliding-window geometry on concrete input dims.
 * @param inSp input spatial dims
 * @param p window params (kernel concrete)
 * @param autoPad padding mode
 * @param ceil ceil_mode (pools)
 * @param op op name for errors
 */
export function geom3(inSp: readonly number[], p: WindowParams, autoPad: AutoPad, ceil: boolean, op: string): Geom3 {
  const nd = inSp.length;
  const out: number[] = [];
  const pb: number[] = [];
  const pe: number[] = [];
  for (let i = 0; i < nd; i++) {
    const [o, b, e] = windowDim(inSp[i]!, p.kernel[i]!, p.strides[i]!, p.dilations[i]!, p.pads[i]!, p.pads[i + nd]!, autoPad, ceil, op);
    out.push(o);
    pb.push(b);
    pe.push(e);
  }
  return {
    I: lift3(inSp, 1), O: lift3(out, 1), K: lift3(p.kernel, 1), S: lift3(p.strides, 1), D: lift3(p.dilations, 1),
    P: lift3(pb, 0), E: lift3(pe, 0),
  };
}

/**
 * Range [lo, hi) of iteration indices t in [0, n) whose target index t*s + off lies in [0, m).
 * Used for "outputs reached by kernel tap k" (conv) and "inputs reaching an output" (transpose).
 */
export function tapRange(n: number, m: number, s: number, off: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-off / s));
  const hi = Math.min(n, Math.floor((m - 1 - off) / s) + 1);
  return [lo, Math.max(lo, hi)];
}

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------

/**
 * y[y0 + i] += wa * x[xi + (i - yi) * s] for i in [yi, yEnd) (one tap, one output channel).
 */
function tapRow1(y: Float64Array, y0: number, x: FArr, xi: number, s: number, wa: number, yi: number, yEnd: number): void {
  if (s === 1) {
    for (; yi < yEnd; yi++, xi++) y[y0 + yi]! += wa * x[xi]!;
  } else {
    for (; yi < yEnd; yi++, xi += s) y[y0 + yi]! += wa * x[xi]!;
  }
}

/** One tap for four output channels whose planes are `p` apart (one input load, four MACs). */
function tapRow4(y: Float64Array, y0: number, p: number, x: FArr, xi: number, s: number,
  wa: number, wb: number, wc: number, wd: number, yi: number, yEnd: number): void {
  const y1 = y0 + p;
  const y2 = y1 + p;
  const y3 = y2 + p;
  for (; yi < yEnd; yi++, xi += s) {
    const xv = x[xi]!;
    y[y0 + yi]! += wa * xv;
    y[y1 + yi]! += wb * xv;
    y[y2 + yi]! += wc * xv;
    y[y3 + yi]! += wd * xv;
  }
}

/**
 * Convolution as dot products over an im2col buffer: for each output position, the input taps it
 * reads (zeros in the padding) are gathered into a contiguous row, and every output channel is a
 * dot product with its weight row. Used for short output rows, where the row kernel of convCore
 * spends more time on loop setup than on MACs. Float64 accumulation, same results as convCore
 * up to float64 summation order.
 */
function convIm2col(x: FArr, w: FArr, y: Float64Array, N: number, C: number, M: number, G: number, g: Geom3): void {
  const [ID, IH, IW] = g.I;
  const [OD, OH, OW] = g.O;
  const [KD, KH, KW] = g.K;
  const [SD, SH, SW] = g.S;
  const [DD, DH, DW] = g.D;
  const [PD, PH, PW] = g.P;
  const cg = C / G;
  const mg = M / G;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  const K = cg * KD * KH * KW;
  const col = new Float64Array(outPlane * K);
  for (let n = 0; n < N; n++) {
    for (let grp = 0; grp < G; grp++) {
      const xg = (n * C + grp * cg) * inPlane;
      let j = 0;
      for (let od = 0; od < OD; od++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            for (let c = 0; c < cg; c++) {
              const xc = xg + c * inPlane;
              for (let kd = 0; kd < KD; kd++) {
                const id = od * SD - PD + kd * DD;
                const dOk = id >= 0 && id < ID;
                for (let kh = 0; kh < KH; kh++) {
                  const ih = oh * SH - PH + kh * DH;
                  const ok = dOk && ih >= 0 && ih < IH;
                  const row = xc + (id * IH + ih) * IW;
                  for (let kw = 0; kw < KW; kw++, j++) {
                    const iw = ow * SW - PW + kw * DW;
                    col[j] = ok && iw >= 0 && iw < IW ? x[row + iw]! : 0;
                  }
                }
              }
            }
          }
        }
      }
      for (let m = grp * mg; m < (grp + 1) * mg; m++) {
        const wr = m * K;
        const yr = (n * M + m) * outPlane;
        let o = 0;
        for (; o + 4 <= outPlane; o += 4) {
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          const c0 = o * K;
          for (let k = 0; k < K; k++) {
            const wv = w[wr + k]!;
            s0 += wv * col[c0 + k]!;
            s1 += wv * col[c0 + K + k]!;
            s2 += wv * col[c0 + 2 * K + k]!;
            s3 += wv * col[c0 + 3 * K + k]!;
          }
          y[yr + o] = s0;
          y[yr + o + 1] = s1;
          y[yr + o + 2] = s2;
          y[yr + o + 3] = s3;
        }
        for (; o < outPlane; o++) {
          let s = 0;
          const c0 = o * K;
          for (let k = 0; k < K; k++) s += w[wr + k]! * col[c0 + k]!;
          y[yr + o] = s;
        }
      }
    }
  }
}

/**
 * Direct convolution, NC(D)(H)W layout, float64 accumulation, bias added last.
 *
 * Loop order: output-channel block (4 channels sharing every input load, or 1), input channel,
 * kernel row (kd, kh), output row (od, oh), then a contiguous run of outputs. Each run covers the
 * outputs a tap reaches inside the input (tapRange), so the inner loops carry no bounds checks.
 * Rows of width-3 kernels apply all three taps per output where they all land inside the input
 * (the bulk of 3x3 convs), which cuts accumulator traffic threefold.
 * @param x input [N, C, ID, IH, IW]
 * @param w weight [M, C/G, KD, KH, KW]
 * @param bias per output channel or null
 * @returns float64 output [N, M, OD, OH, OW]
 */
export function convCore(x: FArr, w: FArr, bias: ArrayLike<number> | null, N: number, C: number, M: number, G: number, g: Geom3): Float64Array {
  const [ID, IH, IW] = g.I;
  const [OD, OH, OW] = g.O;
  const [KD, KH, KW] = g.K;
  const [SD, SH, SW] = g.S;
  const [DD, DH, DW] = g.D;
  const [PD, PH, PW] = g.P;
  const cg = C / G;
  const mg = M / G;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  const kVol = KD * KH * KW;
  const y = new Float64Array(N * M * outPlane);
  if (OW < IM2COL_MAX_ROW && outPlane * cg * kVol <= IM2COL_MAX_ELEMS) {
    convIm2col(x, w, y, N, C, M, G, g);
    addBias(y, bias, N, M, outPlane);
    return y;
  }
  const rd = new Int32Array(2 * KD);
  const rh = new Int32Array(2 * KH);
  const rw = new Int32Array(2 * KW);
  for (let k = 0; k < KD; k++) [rd[2 * k], rd[2 * k + 1]] = tapRange(OD, ID, SD, k * DD - PD);
  for (let k = 0; k < KH; k++) [rh[2 * k], rh[2 * k + 1]] = tapRange(OH, IH, SH, k * DH - PH);
  for (let k = 0; k < KW; k++) [rw[2 * k], rw[2 * k + 1]] = tapRange(OW, IW, SW, k * DW - PW);
  // outputs where every tap of a width-3 kernel lands inside the input
  let inA = 0;
  let inB = 0;
  if (KW === 3) {
    inA = Math.max(rw[0]!, rw[2]!, rw[4]!);
    inB = Math.max(inA, Math.min(rw[1]!, rw[3]!, rw[5]!));
  }
  const wStep = cg * kVol;
  for (let n = 0; n < N; n++) {
    for (let grp = 0; grp < G; grp++) {
      for (let m = grp * mg; m < (grp + 1) * mg;) {
        const nb = m + 4 <= (grp + 1) * mg ? 4 : 1;
        const y0 = (n * M + m) * outPlane;
        for (let c = 0; c < cg; c++) {
          const xOff = (n * C + grp * cg + c) * inPlane;
          const wOff = (m * cg + c) * kVol;
          for (let kd = 0; kd < KD; kd++) {
            for (let kh = 0; kh < KH; kh++) {
              const tap0 = wOff + (kd * KH + kh) * KW;
              for (let od = rd[2 * kd]!; od < rd[2 * kd + 1]!; od++) {
                const id = od * SD - PD + kd * DD;
                for (let oh = rh[2 * kh]!; oh < rh[2 * kh + 1]!; oh++) {
                  const ih = oh * SH - PH + kh * DH;
                  const xRow = xOff + (id * IH + ih) * IW - PW;
                  const yRow = (od * OH + oh) * OW;
                  for (let kw = 0; kw < KW; kw++) {
                    // taps of width-3 kernels skip the interior run, done below with all three taps
                    const lo = rw[2 * kw]!;
                    const hi = rw[2 * kw + 1]!;
                    const xs = xRow + kw * DW;
                    const t = tap0 + kw;
                    for (let part = 0; part < 2; part++) {
                      let a = lo;
                      let b = hi;
                      if (KW === 3 && inA < inB) {
                        if (part === 0) b = Math.min(hi, inA);
                        else a = Math.max(lo, inB);
                      } else if (part === 1) break;
                      if (a >= b) continue;
                      if (nb === 4) tapRow4(y, y0 + yRow, outPlane, x, xs + a * SW, SW, w[t]!, w[t + wStep]!, w[t + 2 * wStep]!, w[t + 3 * wStep]!, a, b);
                      else tapRow1(y, y0 + yRow, x, xs + a * SW, SW, w[t]!, a, b);
                    }
                  }
                  if (KW === 3 && inA < inB) {
                    let xi = xRow + inA * SW;
                    const d2 = 2 * DW;
                    if (nb === 4) {
                      const a0 = w[tap0]!, a1 = w[tap0 + 1]!, a2 = w[tap0 + 2]!;
                      const b0 = w[tap0 + wStep]!, b1 = w[tap0 + wStep + 1]!, b2 = w[tap0 + wStep + 2]!;
                      const c0 = w[tap0 + 2 * wStep]!, c1 = w[tap0 + 2 * wStep + 1]!, c2 = w[tap0 + 2 * wStep + 2]!;
                      const e0 = w[tap0 + 3 * wStep]!, e1 = w[tap0 + 3 * wStep + 1]!, e2 = w[tap0 + 3 * wStep + 2]!;
                      const ya = y0 + yRow;
                      const yb = ya + outPlane;
                      const yc = yb + outPlane;
                      const ye = yc + outPlane;
                      for (let o = inA; o < inB; o++, xi += SW) {
                        const x0 = x[xi]!;
                        const x1 = x[xi + DW]!;
                        const x2 = x[xi + d2]!;
                        y[ya + o]! += a0 * x0 + a1 * x1 + a2 * x2;
                        y[yb + o]! += b0 * x0 + b1 * x1 + b2 * x2;
                        y[yc + o]! += c0 * x0 + c1 * x1 + c2 * x2;
                        y[ye + o]! += e0 * x0 + e1 * x1 + e2 * x2;
                      }
                    } else {
                      const a0 = w[tap0]!, a1 = w[tap0 + 1]!, a2 = w[tap0 + 2]!;
                      const ya = y0 + yRow;
                      for (let o = inA; o < inB; o++, xi += SW) y[ya + o]! += a0 * x[xi]! + a1 * x[xi + DW]! + a2 * x[xi + d2]!;
                    }
                  }
                }
              }
            }
          }
        }
        m += nb;
      }
    }
  }
  addBias(y, bias, N, M, outPlane);
  return y;
}

/** Output rows shorter than this use the im2col kernel (loop setup dominates the row kernel). */
const IM2COL_MAX_ROW = 16;
/** Largest im2col buffer (elements) the short-row path may allocate. */
const IM2COL_MAX_ELEMS = 1 << 22;

/** y[n, m, :] += bias[m]. */
function addBias(y: Float64Array, bias: ArrayLike<number> | null, N: number, M: number, outPlane: number): void {
  if (!bias) return;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const b = bias[m]!;
      const off = (n * M + m) * outPlane;
      for (let i = off; i < off + outPlane; i++) y[i]! += b;
    }
  }
}

/**
 * Transposed convolution (gradient of Conv w.r.t. its input): every input element scatters
 * x * w into the output, NC(D)(H)W layout, float64 accumulation.
 * @param x input [N, C, ID, IH, IW]
 * @param w weight [C, M/G, KD, KH, KW]
 * @param g geometry: I = input dims, O = output dims, P = begin pads
 */
export function convTransposeCore(x: FArr, w: FArr, bias: ArrayLike<number> | null, N: number, C: number, M: number, G: number, g: Geom3): Float64Array {
  const [ID, IH, IW] = g.I;
  const [OD, OH, OW] = g.O;
  const [KD, KH, KW] = g.K;
  const [SD, SH, SW] = g.S;
  const [DD, DH, DW] = g.D;
  const [PD, PH, PW] = g.P;
  const cg = C / G;
  const mg = M / G;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  const kVol = KD * KH * KW;
  const y = new Float64Array(N * M * outPlane);
  const rd = new Int32Array(2 * KD);
  const rh = new Int32Array(2 * KH);
  const rw = new Int32Array(2 * KW);
  for (let k = 0; k < KD; k++) [rd[2 * k], rd[2 * k + 1]] = tapRange(ID, OD, SD, k * DD - PD);
  for (let k = 0; k < KH; k++) [rh[2 * k], rh[2 * k + 1]] = tapRange(IH, OH, SH, k * DH - PH);
  for (let k = 0; k < KW; k++) [rw[2 * k], rw[2 * k + 1]] = tapRange(IW, OW, SW, k * DW - PW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xOff = (n * C + c) * inPlane;
      const grp = Math.floor(c / cg);
      for (let mm = 0; mm < mg; mm++) {
        const m = grp * mg + mm;
        const yOff = (n * M + m) * outPlane;
        const wOff = (c * mg + mm) * kVol;
        for (let kd = 0; kd < KD; kd++) {
          const d0 = rd[2 * kd]!;
          const d1 = rd[2 * kd + 1]!;
          for (let kh = 0; kh < KH; kh++) {
            const h0 = rh[2 * kh]!;
            const h1 = rh[2 * kh + 1]!;
            for (let kw = 0; kw < KW; kw++) {
              const w0 = rw[2 * kw]!;
              const w1 = rw[2 * kw + 1]!;
              if (w0 >= w1) continue;
              const wv = w[wOff + (kd * KH + kh) * KW + kw]!;
              for (let id = d0; id < d1; id++) {
                const od = id * SD - PD + kd * DD;
                for (let ih = h0; ih < h1; ih++) {
                  const oh = ih * SH - PH + kh * DH;
                  let xi = xOff + (id * IH + ih) * IW + w0;
                  const xEnd = xi + (w1 - w0);
                  let yi = yOff + (od * OH + oh) * OW + w0 * SW - PW + kw * DW;
                  for (; xi < xEnd; xi++, yi += SW) y[yi]! += wv * x[xi]!;
                }
              }
            }
          }
        }
      }
    }
  }
  if (bias) {
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const b = bias[m]!;
        const off = (n * M + m) * outPlane;
        for (let i = off; i < off + outPlane; i++) y[i]! += b;
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Conv and its integer / quantized / fused forms
// ---------------------------------------------------------------------------------------------

/** Parsed Conv attributes. */
export interface ConvAttrs extends WindowAttrs {
  group: number;
}

/** Reads Conv attributes (also used by ConvInteger, QLinearConv, FusedConv). */
export function readConvAttrs(r: AttrReader): ConvAttrs {
  const w = readWindowAttrs(r, false);
  const group = r.int('group', 1);
  if (group < 1) throw r.error(`group must be >= 1, got ${group}`);
  return { ...w, group };
}

/** Checks X/W channel agreement; returns output channel count M. */
function checkConvChannels(op: string, x: Shape, w: Shape, group: number): Dim {
  if (x.length < 3) throw invalid(`${op}: input must have rank >= 3 (N, C, spatial...), got rank ${x.length}`);
  if (w.length !== x.length) throw invalid(`${op}: weight rank ${w.length} differs from input rank ${x.length}`);
  const C = x[1]!;
  const wc = w[1]!;
  const M = w[0]!;
  if (typeof C === 'number' && C % group !== 0) throw invalid(`${op}: input channels ${C} not divisible by group ${group}`);
  if (typeof C === 'number' && typeof wc === 'number' && wc * group !== C) {
    throw invalid(`${op}: weight has ${wc} input channels per group, input has ${C} channels with group ${group}`);
  }
  if (typeof M === 'number' && M % group !== 0) throw invalid(`${op}: output channels ${M} not divisible by group ${group}`);
  return M;
}

/** Output type of a Conv-like op. */
function convInfer(ctx: InferCtx, a: ConvAttrs, xi: number, wi: number, dtype: DType): TensorType {
  const op = ctx.node.op;
  const x = need(ctx.inputs[xi], xi, op);
  const w = need(ctx.inputs[wi], wi, op);
  const M = checkConvChannels(op, x.shape, w.shape, a.group);
  const p = windowParams(a, x.shape.length - 2, w.shape.slice(2), op);
  return { dtype, shape: [x.shape[0]!, M, ...inferWindowDims(ctx, x.shape.slice(2), p, a.autoPad, false, op)] };
}

/** MACs of a Conv-like node: N*M*prod(out spatial)*(C/group)*prod(kernel). */
function convCost(ctx: InferCtx, wi: number, outs: TensorType[]): Cost {
  const w = ctx.inputs[wi];
  const y = outs[0];
  if (!w || !y) return { macs: 0, flops: 0 };
  // w = [M, C/group, k...]; y = [N, M, out...]
  const macs = elemsOf(y.shape) * elemsOf(w.shape.slice(1));
  return { macs, flops: elemsOf(y.shape) };
}

interface ConvRun {
  N: number;
  C: number;
  M: number;
  g: Geom3;
  outShape: number[];
}

/** Resolves a Conv-like problem on concrete tensors. */
function convProblem(op: string, x: Tensor, w: Tensor, a: ConvAttrs): ConvRun {
  const M = checkConvChannels(op, x.shape, w.shape, a.group) as number;
  const p = windowParams(a, x.shape.length - 2, w.shape.slice(2), op);
  const g = geom3(x.shape.slice(2), p, a.autoPad, false, op);
  const nd = x.shape.length - 2;
  return { N: x.shape[0]!, C: x.shape[1]!, M, g, outShape: [x.shape[0]!, M, ...g.O.slice(3 - nd)] };
}

function checkFloat(op: string, t: Tensor | TensorType, what: string): void {
  if (!isFloat(t.dtype)) throw unsupported(`${op}: ${what} dtype ${t.dtype} is not supported (float types only)`);
}

function checkSameDtype(op: string, x: Tensor, w: Tensor, b: Tensor | null): void {
  if (w.dtype !== x.dtype || (b && b.dtype !== x.dtype)) {
    throw invalid(`${op}: X, W and B must share one dtype (got ${x.dtype}, ${w.dtype}${b ? `, ${b.dtype}` : ''})`);
  }
}

function checkBias(op: string, b: Tensor | null, M: number): void {
  if (b && (b.shape.length !== 1 || b.shape[0] !== M)) throw invalid(`${op}: bias must have shape [${M}], got [${b.shape.join(',')}]`);
}

/** Float Conv on concrete tensors (shared by Conv and FusedConv). Returns float64 results. */
function runConv(op: string, ins: (Tensor | null)[], a: ConvAttrs): { y: Float64Array; shape: number[] } {
  const x = need(ins[0], 0, op);
  const w = need(ins[1], 1, op);
  const b = ins[2] ?? null;
  checkFloat(op, x, 'input');
  checkSameDtype(op, x, w, b);
  const pr = convProblem(op, x, w, a);
  checkBias(op, b, pr.M);
  const y = convCore(floatData(x), floatData(w), b ? floatData(b) : null, pr.N, pr.C, pr.M, a.group, pr.g);
  return { y, shape: pr.outShape };
}

// Y = X (*) W + B, cross-correlation over 1..3 spatial dims
export const Conv = defineOp<ConvAttrs>({
  name: 'Conv',
  domain: '',
  since: 1,
  arity: [2, 3],
  attrs: (r) => readConvAttrs(r),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'Conv');
    checkFloat('Conv', x, 'input');
    return [convInfer(ctx, a, 0, 1, x.dtype)];
  },
  ref: (ins, a) => {
    const { y, shape } = runConv('Conv', ins, a);
    return [tensorFromF64(ins[0]!.dtype, shape, y)];
  },
  cost: (ctx, _a, outs) => convCost(ctx, 1, outs),
});

/** FusedConv attributes: Conv's plus the activation. */
export interface FusedAttrs {
  activation: ActKind;
  activationParams: number[];
}

/** Reads `activation` / `activation_params` of a fused op. */
export function readActAttrs(r: AttrReader): FusedAttrs {
  const k = r.string('activation');
  if (k === undefined) throw r.error('attribute "activation" is required');
  if (!(ACT_KINDS as readonly string[]).includes(k)) throw r.error(`unknown activation "${k}" (expected one of ${ACT_KINDS.join(', ')})`);
  return { activation: k as ActKind, activationParams: r.floats('activation_params', []) };
}

/**
 * Applies a fused activation to values already rounded to `dtype`, rounding again, so the fused
 * op equals Act(Base(x)) bit for bit.
 */
export function applyActInPlace(dtype: DType, v: Float64Array, f: FusedAttrs): void {
  roundInPlace(dtype, v);
  const k = f.activation;
  const p = f.activationParams;
  for (let i = 0; i < v.length; i++) v[i] = applyAct(k, p, v[i]!);
}

// Y = act(Conv(X, W, B)); the activation applies to the Conv output rounded to its dtype
export const FusedConv = defineOp<ConvAttrs & FusedAttrs>({
  name: 'FusedConv',
  domain: 'edgec',
  since: 1,
  arity: [2, 3],
  attrs: (r) => ({ ...readConvAttrs(r), ...readActAttrs(r) }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'FusedConv');
    checkFloat('FusedConv', x, 'input');
    return [convInfer(ctx, a, 0, 1, x.dtype)];
  },
  ref: (ins, a) => {
    const { y, shape } = runConv('FusedConv', ins, a);
    applyActInPlace(ins[0]!.dtype, y, a);
    return [tensorFromF64(ins[0]!.dtype, shape, y)];
  },
  cost: (ctx, _a, outs) => convCost(ctx, 1, outs),
});

/**
 * Integer data minus a zero point (scalar, or one per slice of the leading axis when
 * `perAxis` is the leading dim's size) as exact float64.
 */
function minusZeroPoint(t: Tensor, zp: Tensor | null, op: string, what: string): Float64Array {
  const out = new Float64Array(t.size);
  const d = t.data as ArrayLike<number>;
  if (!zp || zp.size === 0) {
    for (let i = 0; i < out.length; i++) out[i] = d[i]!;
    return out;
  }
  if (zp.dtype !== t.dtype) throw invalid(`${op}: ${what} zero point dtype ${zp.dtype} differs from ${t.dtype}`);
  if (zp.size === 1) {
    const z = zp.get(0);
    for (let i = 0; i < out.length; i++) out[i] = d[i]! - z;
    return out;
  }
  const lead = t.shape[0] ?? 1;
  if (zp.size !== lead) throw invalid(`${op}: ${what} zero point has ${zp.size} values, expected 1 or ${lead}`);
  const inner = t.size / lead;
  for (let m = 0; m < lead; m++) {
    const z = zp.get(m);
    for (let i = m * inner; i < (m + 1) * inner; i++) out[i] = d[i]! - z;
  }
  return out;
}

function checkQuant8(op: string, t: Tensor | TensorType, what: string): void {
  if (t.dtype !== 'u8' && t.dtype !== 'i8') throw unsupported(`${op}: ${what} dtype ${t.dtype} is not supported (uint8/int8 only)`);
}

// Y = Conv(X - x_zp, W - w_zp) in exact int32 arithmetic (w_zp per tensor or per output channel)
export const ConvInteger = defineOp<ConvAttrs>({
  name: 'ConvInteger',
  domain: '',
  since: 10,
  arity: [2, 4],
  attrs: (r) => readConvAttrs(r),
  infer: (ctx, a) => {
    checkQuant8('ConvInteger', need(ctx.inputs[0], 0, 'ConvInteger'), 'input');
    checkQuant8('ConvInteger', need(ctx.inputs[1], 1, 'ConvInteger'), 'weight');
    return [convInfer(ctx, a, 0, 1, 'i32')];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'ConvInteger');
    const w = need(ins[1], 1, 'ConvInteger');
    checkQuant8('ConvInteger', x, 'input');
    checkQuant8('ConvInteger', w, 'weight');
    const xzp = ins[2] ?? null;
    if (xzp && xzp.size !== 1) throw invalid('ConvInteger: x_zero_point must be a scalar');
    const pr = convProblem('ConvInteger', x, w, a);
    const y = convCore(minusZeroPoint(x, xzp, 'ConvInteger', 'x'), minusZeroPoint(w, ins[3] ?? null, 'ConvInteger', 'w'),
      null, pr.N, pr.C, pr.M, a.group, pr.g);
    return [tensorFromF64('i32', pr.outShape, y)];
  },
  cost: (ctx, _a, outs) => convCost(ctx, 1, outs),
});

/** Scalar parameter of a quantized op (shape [] or [1]). */
function scalarParam(t: Tensor | null, op: string, what: string, def?: number): number {
  if (!t) {
    if (def === undefined) throw invalid(`${op}: ${what} is required`);
    return def;
  }
  if (t.size !== 1) throw invalid(`${op}: ${what} must be a scalar, got shape [${t.shape.join(',')}]`);
  return t.get(0);
}

// y = saturate(round_half_even((Conv(x - x_zp, w - w_zp) + B) * (x_scale * w_scale / y_scale)) + y_zp)
export const QLinearConv = defineOp<ConvAttrs>({
  name: 'QLinearConv',
  domain: '',
  since: 10,
  arity: [8, 9],
  attrs: (r) => readConvAttrs(r),
  infer: (ctx, a) => {
    checkQuant8('QLinearConv', need(ctx.inputs[0], 0, 'QLinearConv'), 'x');
    checkQuant8('QLinearConv', need(ctx.inputs[3], 3, 'QLinearConv'), 'w');
    const yzp = ctx.inputs[7];
    const dt = yzp ? yzp.dtype : need(ctx.inputs[0], 0, 'QLinearConv').dtype;
    return [convInfer(ctx, a, 0, 3, dt)];
  },
  ref: (ins, a) => {
    const op = 'QLinearConv';
    const x = need(ins[0], 0, op);
    const xs = need(ins[1], 1, op);
    const w = need(ins[3], 3, op);
    const ws = need(ins[4], 4, op);
    const ys = need(ins[6], 6, op);
    const yzpT = ins[7] ?? null;
    const b = ins[8] ?? null;
    checkQuant8(op, x, 'x');
    checkQuant8(op, w, 'w');
    const pr = convProblem(op, x, w, a);
    if (b && b.dtype !== 'i32') throw invalid(`${op}: bias must be int32, got ${b.dtype}`);
    checkBias(op, b, pr.M);
    if (ws.size !== 1 && ws.size !== pr.M) throw invalid(`${op}: w_scale has ${ws.size} values, expected 1 or ${pr.M}`);
    const xScale = scalarParam(xs, op, 'x_scale');
    const yScale = scalarParam(ys, op, 'y_scale');
    const yzp = scalarParam(yzpT, op, 'y_zero_point', 0);
    const xzpT = ins[2] ?? null;
    if (xzpT && xzpT.size !== 1) throw invalid(`${op}: x_zero_point must be a scalar`);
    const acc = convCore(minusZeroPoint(x, xzpT, op, 'x'), minusZeroPoint(w, ins[5] ?? null, op, 'w'),
      b ? floatData(b) : null, pr.N, pr.C, pr.M, a.group, pr.g);
    const outDt: DType = yzpT ? yzpT.dtype : x.dtype;
    const [lo, hi] = outDt === 'u8' ? [0, 255] : [-128, 127];
    const mult = new Float64Array(pr.M);
    for (let m = 0; m < pr.M; m++) mult[m] = requantMultiplier(xs.dtype, xScale, ws.get(ws.size === 1 ? 0 : m), yScale);
    const out = Tensor.zeros(outDt, pr.outShape);
    const od = out.data as Int8Array | Uint8Array;
    const plane = numel(pr.outShape.slice(2));
    for (let i = 0; i < acc.length; i++) {
      const m = Math.floor(i / plane) % pr.M;
      od[i] = requantize(acc[i]!, mult[m]!, yzp, lo, hi);
    }
    return [out];
  },
  cost: (ctx, _a, outs) => convCost(ctx, 3, outs),
});

// ---------------------------------------------------------------------------------------------
// ConvTranspose
// ---------------------------------------------------------------------------------------------

interface ConvTransposeAttrs extends ConvAttrs {
  outputPadding?: number[];
  outputShape?: number[];
}

/** Resolved ConvTranspose output dims and begin pads for one spatial dim. */
function convTDim(I: number, k: number, s: number, d: number, pb: number, pe: number, op: number, outShape: number | undefined,
  autoPad: AutoPad): [number, number] {
  const ek = (k - 1) * d + 1;
  const full = s * (I - 1) + op + ek;
  if (outShape !== undefined || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const o = outShape ?? I * s;
    const total = full - o;
    const half = Math.floor(total / 2);
    // spec: SAME_UPPER puts the extra padding at the end, otherwise at the beginning
    const begin = autoPad === 'SAME_UPPER' ? half : total - half;
    return [o, begin];
  }
  if (autoPad === 'VALID') return [full, 0];
  const o = full - pb - pe;
  if (o <= 0) throw invalid(`ConvTranspose: output size ${o} is not positive`);
  return [o, pb];
}

/** ConvTranspose geometry on concrete or symbolic dims. */
function convTGeometry(inSp: readonly Dim[], p: WindowParams, a: ConvTransposeAttrs): { out: (number | null)[]; pb: number[] } {
  const nd = inSp.length;
  const op = a.outputPadding ?? new Array<number>(nd).fill(0);
  if (op.length !== nd) throw invalid(`ConvTranspose: output_padding has ${op.length} values, expected ${nd}`);
  let os = a.outputShape;
  if (os && os.length === nd + 2) os = os.slice(2);
  if (os && os.length !== nd) throw invalid(`ConvTranspose: output_shape has ${os.length} values, expected ${nd}`);
  const out: (number | null)[] = [];
  const pb: number[] = [];
  for (let i = 0; i < nd; i++) {
    const I = inSp[i]!;
    const k = p.kernel[i]!;
    if (op[i]! >= Math.max(p.strides[i]!, p.dilations[i]!)) {
      throw invalid(`ConvTranspose: output_padding ${op[i]} must be smaller than stride or dilation`);
    }
    if (typeof I !== 'number' || k < 0) {
      out.push(os ? os[i]! : null);
      pb.push(0);
      continue;
    }
    const [o, b] = convTDim(I, k, p.strides[i]!, p.dilations[i]!, p.pads[i]!, p.pads[i + nd]!, op[i]!, os?.[i], a.autoPad);
    out.push(o);
    pb.push(b);
  }
  return { out, pb };
}

/** Parsed ConvTranspose attributes (the op's `attrs`), for lowerings. */
export type ConvTransposeParams = ConvTransposeAttrs;

/**
 * Begin pad of each spatial dim of a ConvTranspose on concrete input dims (explicit pads,
 * auto_pad or output_shape, as the reference resolves them).
 * @param inSp concrete input spatial dims
 * @param p resolved window parameters (windowParams)
 * @param a parsed ConvTranspose attributes
 */
export function convTransposeBeginPads(inSp: readonly number[], p: WindowParams, a: ConvTransposeAttrs): number[] {
  return convTGeometry(inSp, p, a).pb;
}

function convTChannels(x: Shape, w: Shape, group: number): Dim {
  if (x.length < 3) throw invalid(`ConvTranspose: input must have rank >= 3, got rank ${x.length}`);
  if (w.length !== x.length) throw invalid(`ConvTranspose: weight rank ${w.length} differs from input rank ${x.length}`);
  const C = x[1]!;
  if (typeof C === 'number' && C % group !== 0) throw invalid(`ConvTranspose: input channels ${C} not divisible by group ${group}`);
  if (typeof C === 'number' && typeof w[0] === 'number' && w[0] !== C) {
    throw invalid(`ConvTranspose: weight has ${w[0]} input channels, input has ${C}`);
  }
  const mg = w[1]!;
  return typeof mg === 'number' ? mg * group : mg;
}

// Y = ConvTranspose(X, W) + B: each input element scatters X * W into the (strided) output
export const ConvTranspose = defineOp<ConvTransposeAttrs>({
  name: 'ConvTranspose',
  domain: '',
  since: 1,
  arity: [2, 3],
  attrs: (r) => {
    const a: ConvTransposeAttrs = readConvAttrs(r);
    const op = r.ints('output_padding');
    if (op) {
      if (op.some((v) => v < 0)) throw r.error('output_padding must be non-negative');
      a.outputPadding = op;
    }
    const os = r.ints('output_shape');
    if (os) {
      if (os.some((v) => v <= 0)) throw r.error('output_shape must be positive');
      a.outputShape = os;
    }
    return a;
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'ConvTranspose');
    const w = need(ctx.inputs[1], 1, 'ConvTranspose');
    checkFloat('ConvTranspose', x, 'input');
    const M = convTChannels(x.shape, w.shape, a.group);
    const p = windowParams(a, x.shape.length - 2, w.shape.slice(2), 'ConvTranspose');
    const { out } = convTGeometry(x.shape.slice(2), p, a);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, M, ...out.map((o) => o ?? ctx.freshDim('s'))] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'ConvTranspose');
    const w = need(ins[1], 1, 'ConvTranspose');
    const b = ins[2] ?? null;
    checkFloat('ConvTranspose', x, 'input');
    checkSameDtype('ConvTranspose', x, w, b);
    const M = convTChannels(x.shape, w.shape, a.group) as number;
    checkBias('ConvTranspose', b, M);
    const nd = x.shape.length - 2;
    const p = windowParams(a, nd, w.shape.slice(2), 'ConvTranspose');
    const { out, pb } = convTGeometry(x.shape.slice(2), p, a);
    const outSp = out as number[];
    const g: Geom3 = {
      I: lift3(x.shape.slice(2), 1), O: lift3(outSp, 1), K: lift3(p.kernel, 1), S: lift3(p.strides, 1),
      D: lift3(p.dilations, 1), P: lift3(pb, 0), E: [0, 0, 0],
    };
    const y = convTransposeCore(floatData(x), floatData(w), b ? floatData(b) : null, x.shape[0]!, x.shape[1]!, M, a.group, g);
    return [tensorFromF64(x.dtype, [x.shape[0]!, M, ...outSp], y)];
  },
  // MACs: every input element meets (M/group) * prod(kernel) weights
  cost: (ctx, _a, outs) => {
    const x = ctx.inputs[0];
    const w = ctx.inputs[1];
    if (!x || !w) return { macs: 0, flops: 0 };
    return { macs: elemsOf(x.shape) * elemsOf(w.shape.slice(1)), flops: elemsOf(outs[0]?.shape ?? []) };
  },
});

// ---------------------------------------------------------------------------------------------
// Col2Im
// ---------------------------------------------------------------------------------------------

interface Col2ImAttrs {
  dilations?: number[];
  pads?: number[];
  strides?: number[];
}

/** Number of sliding-block positions along one dim: (I + pb + pe - (d (k - 1) + 1)) / s + 1. */
function col2imBlocks(img: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((img + pb + pe - (d * (k - 1) + 1)) / s) + 1;
}

// Col2Im(X[N, C*prod(block), L], image_shape, block_shape) -> Y[N, C, *image_shape]: the inverse
// of im2col, Y[n, c, p*s - pad + q*d] += X[n, c*prod(block) + q, p] over block offsets q and
// block positions p (row-major over the spatial dims), taps outside the image dropped
export const Col2Im = defineOp<Col2ImAttrs>({
  name: 'Col2Im',
  domain: '',
  since: 18,
  arity: [3, 3],
  attrs: (r) => {
    const a: Col2ImAttrs = {};
    const d = r.ints('dilations');
    const p = r.ints('pads');
    const s = r.ints('strides');
    if (d) { if (d.some((v) => v <= 0)) throw r.error(`dilations must be positive, got [${d.join(',')}]`); a.dilations = d; }
    if (s) { if (s.some((v) => v <= 0)) throw r.error(`strides must be positive, got [${s.join(',')}]`); a.strides = s; }
    if (p) { if (p.some((v) => v < 0)) throw r.error(`pads must be non-negative, got [${p.join(',')}]`); a.pads = p; }
    return a;
  },
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'Col2Im');
    if (!isFloat(x.dtype)) throw unsupported(`Col2Im: input dtype ${x.dtype} is not supported (float types only)`);
    if (x.shape.length !== 3) throw invalid(`Col2Im: input must be [N, C*prod(block_shape), L], got rank ${x.shape.length}`);
    const img = ctx.consts[1];
    const blk = ctx.consts[2];
    const nd = img ? img.size : need(ctx.inputs[1], 1, 'Col2Im').shape[0];
    const c: Dim = blk && typeof x.shape[1] === 'number' ? x.shape[1] / numel(blk.toNumbers()) : ctx.freshDim();
    const sp: Dim[] = img ? img.toNumbers() : Array.from({ length: typeof nd === 'number' ? nd : 0 }, () => ctx.freshDim());
    return [{ dtype: x.dtype, shape: [x.shape[0]!, c, ...sp] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'Col2Im');
    const img = need(ins[1], 1, 'Col2Im').toNumbers();
    const blk = need(ins[2], 2, 'Col2Im').toNumbers();
    const nd = img.length;
    if (x.shape.length !== 3) throw invalid(`Col2Im: input must be [N, C*prod(block_shape), L], got rank ${x.shape.length}`);
    if (blk.length !== nd || nd === 0) throw invalid(`Col2Im: image_shape and block_shape must have one equal, non-zero length`);
    if (blk.some((k) => k <= 0) || img.some((v) => v <= 0)) throw invalid('Col2Im: image_shape and block_shape must be positive');
    const dil = a.dilations ?? new Array<number>(nd).fill(1);
    const str = a.strides ?? new Array<number>(nd).fill(1);
    const pads = a.pads ?? new Array<number>(2 * nd).fill(0);
    if (dil.length !== nd || str.length !== nd || pads.length !== 2 * nd) {
      throw invalid(`Col2Im: dilations, strides and pads must match ${nd} spatial dims`);
    }
    const [N, CK, L] = x.shape as [number, number, number];
    const K = numel(blk);
    if (CK % K !== 0) throw invalid(`Col2Im: input dim 1 (${CK}) is not a multiple of prod(block_shape) = ${K}`);
    const C = CK / K;
    const blocks = img.map((v, i) => col2imBlocks(v, blk[i]!, str[i]!, dil[i]!, pads[i]!, pads[i + nd]!));
    if (blocks.some((b) => b < 1) || numel(blocks) !== L) {
      throw invalid(`Col2Im: input has ${L} blocks, image/block/strides/pads/dilations give [${blocks.join(',')}]`);
    }
    const xd = floatData(x);
    const imgSize = numel(img);
    const y = new Float64Array(N * C * imgSize);
    const q = new Array<number>(nd).fill(0);
    const p = new Array<number>(nd).fill(0);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const yBase = (n * C + c) * imgSize;
        for (let k = 0; k < K; k++) {
          // q: offset of tap k inside the block (row-major)
          for (let d = nd - 1, r = k; d >= 0; d--) { q[d] = r % blk[d]!; r = Math.floor(r / blk[d]!); }
          const xBase = ((n * C + c) * K + k) * L;
          for (let l = 0; l < L; l++) {
            for (let d = nd - 1, r = l; d >= 0; d--) { p[d] = r % blocks[d]!; r = Math.floor(r / blocks[d]!); }
            let off = 0;
            let inside = true;
            for (let d = 0; d < nd; d++) {
              const at = p[d]! * str[d]! - pads[d]! + q[d]! * dil[d]!;
              if (at < 0 || at >= img[d]!) { inside = false; break; }
              off = off * img[d]! + at;
            }
            if (inside) y[yBase + off]! += xd[xBase + l]!;
          }
        }
      }
    }
    return [tensorFromF64(x.dtype, [N, C, ...img], y)];
  },
  cost: (ctx) => ({ macs: 0, flops: elemsOf(ctx.inputs[0]?.shape ?? []) }),
});
