/**
 * Op family: signal processing (DFT, STFT, HannWindow, HammingWindow, BlackmanWindow,
 * MelWeightMatrix).
 *
 * Complex tensors follow the ONNX convention: a trailing axis of size 2 holds (real, imaginary); a
 * trailing axis of size 1 is a real signal. Transforms are direct O(n^2) sums in float64 over an
 * exact twiddle table (angle 2*pi*((k*n) mod N)/N), so every output is one rounding away from the
 * exact transform of the given inputs.
 */
import { DType, dtypeFromOnnx, isFloat, ONNX_DTYPE_NAMES } from '../ir/dtype.js';
import { Dim, Tensor, numel } from '../ir/tensor.js';
import { DEFAULT_LIMITS, invalid, limit } from '../errors.js';
import { AttrReader, defineOp, need } from './registry.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/** Throws a 'limit' error when a result of `n` elements would exceed the tensor size limit. */
function checkElems(n: number, what: string): void {
  if (!(n <= DEFAULT_LIMITS.maxTensorBytes / 8)) throw limit(`${what}: ${n} elements exceed the tensor size limit`);
}

/** Most multiply-adds one reference kernel call may take before it reports a 'limit' error (hang guard). */
const MAX_WORK = 2 ** 32;

/** Throws a 'limit' error when a kernel would take more than MAX_WORK inner steps. */
function checkWork(w: number, what: string): void {
  if (!(w <= MAX_WORK)) throw limit(`${what}: ${w.toExponential(2)} steps exceed the reference kernel work limit`);
}

/**
 * The single value of a scalar (or one-element) tensor input.
 * @param t the input tensor
 * @param what name used in error messages
 */
function scalarOf(t: Tensor, what: string): number {
  if (t.size !== 1) throw invalid(`${what} must be a scalar, got shape [${t.shape.join(',')}]`);
  return t.get(0);
}

/** A positive integer scalar input (a length or a count). */
function lengthOf(t: Tensor, what: string, min = 1): number {
  const v = scalarOf(t, what);
  if (!Number.isInteger(v) || v < min) throw invalid(`${what} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Reads an `output_datatype` attribute (ONNX TensorProto data type, default FLOAT) as a float DType. */
function outputDatatype(r: AttrReader): DType {
  const n = r.int('output_datatype', 1);
  const dt = dtypeFromOnnx(n);
  if (!dt) {
    const label = ONNX_DTYPE_NAMES[n];
    if (label === undefined) throw r.error(`attribute "output_datatype" is ${n}, not an ONNX data type`);
    throw r.unsupported(`output_datatype ${label} is not supported`);
  }
  if (dt === 'string' || dt === 'bool') throw r.unsupported(`output_datatype ${dt} is not supported`);
  return dt;
}

/**
 * Twiddle table of an N-point transform: cos and sin of 2*pi*m/N for m in [0, N). Indexing with
 * (k*n) mod N keeps every angle in [0, 2*pi), so large k*n loses no precision.
 */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    const th = (2 * Math.PI * m) / n;
    cos[m] = Math.cos(th);
    sin[m] = Math.sin(th);
  }
  return { cos, sin };
}

/** Float64 copy of a tensor's values. */
function f64Of(t: Tensor): Float64Array {
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return Float64Array.from(t.data);
  const b = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) b[i] = t.get(i);
  return b;
}

/** A tensor of `dtype` from float64 values (rounded to the dtype by Tensor.set). */
function fromF64(dtype: DType, shape: readonly number[], buf: Float64Array): Tensor {
  if (dtype === 'f64') return new Tensor('f64', shape, buf);
  if (dtype === 'f32') return new Tensor('f32', shape, Float32Array.from(buf));
  const res = Tensor.zeros(dtype, shape);
  for (let i = 0; i < buf.length; i++) res.set(i, buf[i]!);
  return res;
}

function elems(s: readonly Dim[]): number {
  return s.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1);
}

// ---------------------------------------------------------------------------------------------
// DFT
// ---------------------------------------------------------------------------------------------

interface DftAttrs {
  inverse: boolean;
  onesided: boolean;
  /** Opset < 20: axis attribute. Opset >= 20: undefined (axis is input 2, default -2). */
  axis?: number;
}

/** Normalizes a DFT axis against the input rank r (the last axis holds real/imag; valid: [-r, -2] U [0, r-2]). */
function dftAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a > rank - 2) {
    throw invalid(`DFT: axis ${axis} is out of range for rank ${rank} (valid: [${-rank}, -2] and [0, ${rank - 2}])`);
  }
  return a;
}

/**
 * Signal length N of a DFT: dft_length when given, else the axis size; for the inverse one-sided
 * transform (irfft) the default is 2*(bins-1), numpy's irfft default.
 */
function dftLength(lenT: Tensor | null | undefined, axisSize: number, a: DftAttrs): number {
  if (lenT && lenT.size > 0) return lengthOf(lenT, 'DFT: dft_length');
  const n = a.inverse && a.onesided ? 2 * (axisSize - 1) : axisSize;
  if (n < 1) throw invalid(`DFT: cannot infer a positive dft_length from axis size ${axisSize}`);
  return n;
}

/** Output length on the transformed axis: N/2+1 bins (rfft), N samples otherwise. */
function dftOutLen(n: number, a: DftAttrs): number {
  return a.onesided && !a.inverse ? Math.floor(n / 2) + 1 : n;
}

/**
 * DFT along `axis` of x (trailing axis: 1 = real, 2 = complex).
 *   forward:          y[k] = sum_{n<N} x[n] e^{-2 pi i k n / N}, k < N (or N/2+1 when onesided)
 *   inverse:          y[n] = 1/N sum_{k<N} x[k] e^{+2 pi i k n / N}
 *   inverse onesided: x holds bins 0..N/2 of a Hermitian spectrum (irfft); the output is real,
 *                     y[n] = 1/N Re sum_{k<N} X[k] e^{+2 pi i k n / N} with X[N-k] = conj(X[k]).
 * Input samples beyond N are dropped and missing ones are zero (dft_length pads or truncates).
 */
function dft(x: Tensor, n: number, axis: number, a: DftAttrs): Tensor {
  const rank = x.shape.length;
  const comp = x.shape[rank - 1]!;
  if (comp !== 1 && comp !== 2) throw invalid(`DFT: the last input axis must be 1 (real) or 2 (complex), got ${comp}`);
  const inLen = x.shape[axis]!;
  const outer = numel(x.shape.slice(0, axis));
  const inner = numel(x.shape.slice(axis + 1, rank - 1));
  const irfft = a.inverse && a.onesided;
  const outLen = dftOutLen(n, a);
  const outComp = irfft ? 1 : 2;
  const outShape = [...x.shape.slice(0, axis), outLen, ...x.shape.slice(axis + 1, rank - 1), outComp];
  checkElems(numel(outShape), 'DFT');
  checkElems(n, 'DFT length');
  checkWork((numel(outShape) / outComp) * (irfft ? n : Math.min(x.shape[axis]!, n)), 'DFT');
  if (numel(outShape) === 0) return Tensor.zeros(x.dtype, outShape);
  const xv = f64Of(x);
  const out = new Float64Array(numel(outShape));
  const { cos, sin } = twiddles(n);
  const sign = a.inverse ? 1 : -1;
  const scale = a.inverse ? 1 / n : 1;
  // input terms used per line: the first min(inLen, N) samples, or the bins 0..N/2 for irfft
  const used = Math.min(inLen, irfft ? Math.floor(n / 2) + 1 : n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      re.fill(0);
      im.fill(0);
      for (let t = 0; t < used; t++) {
        const src = ((o * inLen + t) * inner + i) * comp;
        re[t] = xv[src]!;
        im[t] = comp === 2 ? xv[src + 1]! : 0;
      }
      if (irfft) {
        // Hermitian extension: X[N-k] = conj(X[k]) for 0 < k < N - k
        for (let k = 1; k < n - k; k++) {
          re[n - k] = re[k]!;
          im[n - k] = -im[k]!;
        }
      }
      const terms = irfft ? n : used;
      for (let k = 0; k < outLen; k++) {
        let sr = 0;
        let si = 0;
        for (let t = 0; t < terms; t++) {
          const m = (k * t) % n;
          const c = cos[m]!;
          const s = sign * sin[m]!;
          // (re + i im) (c + i s)
          sr += re[t]! * c - im[t]! * s;
          si += re[t]! * s + im[t]! * c;
        }
        const dst = ((o * outLen + k) * inner + i) * outComp;
        out[dst] = sr * scale;
        if (outComp === 2) out[dst + 1] = si * scale;
      }
    }
  }
  return fromF64(x.dtype, outShape, out);
}

// DFT(input, dft_length?, axis?) -> forward/inverse discrete Fourier transform along one axis
export const DFT = defineOp<DftAttrs>({
  name: 'DFT',
  domain: '',
  since: 17,
  arity: [1, 3],
  attrs: (r, ctx) => {
    const a: DftAttrs = { inverse: r.int('inverse', 0) !== 0, onesided: r.int('onesided', 0) !== 0 };
    if (ctx.opset < 20) a.axis = r.int('axis', 1);
    else if (r.has('axis')) throw r.error('DFT: opset 20 takes axis as input 2, not as an attribute');
    return a;
  },
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'DFT');
    if (!isFloat(x.dtype)) throw invalid(`DFT: input must be a float tensor, got ${x.dtype}`);
    const rank = x.shape.length;
    if (rank < 2) throw invalid(`DFT: input must have rank >= 2, got ${rank}`);
    const last = x.shape[rank - 1];
    if (typeof last === 'number' && last !== 1 && last !== 2) throw invalid(`DFT: the last input axis must be 1 or 2, got ${last}`);
    const outComp = a.inverse && a.onesided ? 1 : 2;
    let axisV = a.axis;
    if (axisV === undefined) {
      const at = ctx.consts[2];
      if (ctx.inputs[2] && !at) {
        // axis known only at run time: every signal axis may change
        return [{ dtype: x.dtype, shape: [...x.shape.slice(0, rank - 1).map(() => ctx.freshDim('dft')), outComp] }];
      }
      axisV = at && at.size > 0 ? scalarOf(at, 'DFT: axis') : -2;
    }
    const axis = dftAxis(axisV, rank);
    const lenT = ctx.consts[1];
    const size = x.shape[axis]!;
    let outDim: Dim;
    if (ctx.inputs[1] && !lenT) outDim = ctx.freshDim('dft');
    else if (typeof size !== 'number' && !(lenT && lenT.size > 0)) outDim = ctx.freshDim('dft');
    else outDim = dftOutLen(dftLength(lenT, size as number, a), a);
    const shape = [...x.shape.slice(0, rank - 1)];
    shape[axis] = outDim;
    return [{ dtype: x.dtype, shape: [...shape, outComp] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'DFT');
    const rank = x.shape.length;
    if (rank < 2) throw invalid(`DFT: input must have rank >= 2, got ${rank}`);
    const axisT = a.axis === undefined ? ins[2] : undefined;
    const axis = dftAxis(a.axis ?? (axisT && axisT.size > 0 ? scalarOf(axisT, 'DFT: axis') : -2), rank);
    const n = dftLength(ins[1], x.shape[axis]!, a);
    return [dft(x, n, axis, a)];
  },
  cost: (ctx, _a, outs) => {
    const x = ctx.inputs[0]!;
    const o = outs[0]!;
    // one complex multiply-add (4 flops + 4 adds) per (input sample, output sample) pair on a line
    return { macs: 0, flops: 8 * elems(o.shape) * Math.max(1, elems(x.shape) / Math.max(1, elems(o.shape))) };
  },
});

// ---------------------------------------------------------------------------------------------
// STFT
// ---------------------------------------------------------------------------------------------

/** Resolved STFT framing: frame length, hop and frame count. */
interface StftPlan {
  frameLength: number;
  step: number;
  frames: number;
}

/**
 * Frame length, hop and frame count of an STFT.
 * @param sigLen signal length
 * @param stepT frame_step input
 * @param winShape the window's shape when a window is given
 * @param lenT frame_length input when given
 */
function stftPlan(sigLen: number, stepT: Tensor, winShape: readonly number[] | undefined, lenT: Tensor | null | undefined): StftPlan {
  const step = lengthOf(stepT, 'STFT: frame_step');
  if (winShape && winShape.length !== 1) throw invalid(`STFT: window must be 1-D, got shape [${winShape.join(',')}]`);
  let frameLength: number;
  if (lenT && lenT.size > 0) {
    frameLength = lengthOf(lenT, 'STFT: frame_length');
    if (winShape && winShape[0] !== frameLength) {
      throw invalid(`STFT: window length ${winShape[0]} differs from frame_length ${frameLength}`);
    }
  } else if (winShape) frameLength = winShape[0]!;
  else frameLength = sigLen;
  if (frameLength < 1) throw invalid('STFT: frame length must be positive');
  if (frameLength > sigLen) throw invalid(`STFT: frame length ${frameLength} exceeds the signal length ${sigLen}`);
  return { frameLength, step, frames: Math.floor((sigLen - frameLength) / step) + 1 };
}

/**
 * STFT of signal [batch, length, 1|2]: frame f starts at f*frame_step;
 *   y[b, f, k] = sum_{n < L} w[n] x[b, f*step + n] e^{-2 pi i k n / L}, L = frame_length,
 * k < L/2+1 when onesided, frames = floor((length - L) / step) + 1; w defaults to ones.
 */
export const STFT = defineOp<{ onesided: boolean }>({
  name: 'STFT',
  domain: '',
  since: 17,
  arity: [2, 4],
  attrs: (r) => ({ onesided: r.int('onesided', 1) !== 0 }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'STFT');
    if (!isFloat(x.dtype)) throw invalid(`STFT: signal must be a float tensor, got ${x.dtype}`);
    if (x.shape.length !== 3) throw invalid(`STFT: signal must be [batch, length, 1|2], got rank ${x.shape.length}`);
    const [batch, len] = x.shape as [Dim, Dim];
    const stepT = ctx.consts[1];
    const win = ctx.inputs[2];
    const lenT = ctx.consts[3];
    const winKnown = !win || win.shape.every((d) => typeof d === 'number');
    const lenKnown = !ctx.inputs[3] || lenT !== undefined;
    if (stepT && typeof len === 'number' && winKnown && lenKnown) {
      const p = stftPlan(len, stepT, win ? (win.shape as number[]) : undefined, lenT);
      const bins = a.onesided ? Math.floor(p.frameLength / 2) + 1 : p.frameLength;
      return [{ dtype: x.dtype, shape: [batch, p.frames, bins, 2] }];
    }
    return [{ dtype: x.dtype, shape: [batch, ctx.freshDim('frames'), ctx.freshDim('bins'), 2] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'STFT');
    if (x.shape.length !== 3) throw invalid(`STFT: signal must be [batch, length, 1|2], got rank ${x.shape.length}`);
    const [batch, len, comp] = x.shape as [number, number, number];
    if (comp !== 1 && comp !== 2) throw invalid(`STFT: the last signal axis must be 1 or 2, got ${comp}`);
    const win = ins[2];
    const p = stftPlan(len, need(ins[1], 1, 'STFT'), win ? win.shape : undefined, ins[3]);
    const L = p.frameLength;
    const bins = a.onesided ? Math.floor(L / 2) + 1 : L;
    checkElems(batch * p.frames * bins * 2, 'STFT');
    checkWork(batch * p.frames * bins * L, 'STFT');
    const xv = f64Of(x);
    const w = win ? f64Of(win) : new Float64Array(L).fill(1);
    const { cos, sin } = twiddles(L);
    const out = new Float64Array(batch * p.frames * bins * 2);
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < p.frames; f++) {
        const start = f * p.step;
        for (let k = 0; k < bins; k++) {
          let sr = 0;
          let si = 0;
          for (let t = 0; t < L; t++) {
            const src = (b * len + start + t) * comp;
            const re = w[t]! * xv[src]!;
            const im = comp === 2 ? w[t]! * xv[src + 1]! : 0;
            const m = (k * t) % L;
            // (re + i im) (cos - i sin)
            sr += re * cos[m]! + im * sin[m]!;
            si += im * cos[m]! - re * sin[m]!;
          }
          const dst = ((b * p.frames + f) * bins + k) * 2;
          out[dst] = sr;
          out[dst + 1] = si;
        }
      }
    }
    return [fromF64(x.dtype, [batch, p.frames, bins, 2], out)];
  },
  cost: (_ctx, _a, outs) => ({ macs: 0, flops: 8 * elems(outs[0]!.shape) * Math.max(1, (outs[0]!.shape[2] as number) || 1) }),
});

// ---------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------

interface WindowAttrs {
  periodic: boolean;
  dtype: DType;
}

/**
 * Defines a window-generating op: w[n] = f(2*pi*n / N') for n < size, with N' = size when periodic
 * and size - 1 when symmetric (a symmetric window of size 1 is [1]).
 */
function windowOp(name: string, f: (theta: number) => number) {
  return defineOp<WindowAttrs>({
    name,
    domain: '',
    since: 17,
    arity: [1, 1],
    attrs: (r) => ({ periodic: r.int('periodic', 1) !== 0, dtype: outputDatatype(r) }),
    infer: (ctx, a) => {
      const s = ctx.consts[0];
      return [{ dtype: a.dtype, shape: [s ? lengthOf(s, `${name}: size`, 0) : ctx.freshDim('window')] }];
    },
    ref: (ins, a) => {
      const size = lengthOf(need(ins[0], 0, name), `${name}: size`, 0);
      checkElems(size, name);
      const denom = a.periodic ? size : size - 1;
      const out = new Float64Array(size);
      for (let n = 0; n < size; n++) out[n] = denom === 0 ? 1 : f((2 * Math.PI * n) / denom);
      return [fromF64(a.dtype, [size], out)];
    },
  });
}

// w[n] = 0.5 - 0.5 cos(2 pi n / N')  (= sin^2(pi n / N'))
export const HannWindow = windowOp('HannWindow', (th) => 0.5 - 0.5 * Math.cos(th));
// w[n] = alpha - beta cos(2 pi n / N'), alpha = 25/46, beta = 1 - alpha
export const HammingWindow = windowOp('HammingWindow', (th) => 25 / 46 - (21 / 46) * Math.cos(th));
// w[n] = 0.42 - 0.5 cos(2 pi n / N') + 0.08 cos(4 pi n / N')
export const BlackmanWindow = windowOp('BlackmanWindow', (th) => 0.42 - 0.5 * Math.cos(th) + 0.08 * Math.cos(2 * th));

// ---------------------------------------------------------------------------------------------
// MelWeightMatrix
// ---------------------------------------------------------------------------------------------

/**
 * Triangular mel filter bank [dft_length/2+1, num_mel_bins] (ONNX reference semantics):
 * num_mel_bins+2 edges equally spaced in mel (mel = 2595 log10(1 + hz/700)) from lower to upper
 * edge, step (high - low) / (num_mel_bins + 2), each mapped to bin floor((dft_length+1) hz / rate);
 * filter i rises linearly from edge i to edge i+1 and falls to edge i+2.
 */
function melWeights(bins: number, dftLen: number, rate: number, lowHz: number, highHz: number): Float64Array {
  const rows = Math.floor(dftLen / 2) + 1;
  const toMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const lowMel = toMel(lowHz);
  const step = (toMel(highHz) - lowMel) / (bins + 2);
  const edge = new Array<number>(bins + 2);
  for (let i = 0; i < bins + 2; i++) {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    edge[i] = Math.floor(((dftLen + 1) * hz) / rate);
  }
  const out = new Float64Array(rows * bins);
  const put = (j: number, i: number, v: number) => {
    if (j < 0 || j >= rows) {
      throw invalid(`MelWeightMatrix: edge frequency maps to bin ${j}, outside [0, ${rows}) (check lower/upper_edge_hertz against sample_rate)`);
    }
    out[j * bins + i] = v;
  };
  for (let i = 0; i < bins; i++) {
    const [lo, mid, hi] = [edge[i]!, edge[i + 1]!, edge[i + 2]!];
    if (mid === lo) put(mid, i, 1);
    else for (let j = lo; j <= mid; j++) put(j, i, (j - lo) / (mid - lo));
    if (hi > mid) for (let j = mid; j < hi; j++) put(j, i, (hi - j) / (hi - mid));
  }
  return out;
}

// MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz) -> [dft_length/2+1, num_mel_bins]
export const MelWeightMatrix = defineOp<{ dtype: DType }>({
  name: 'MelWeightMatrix',
  domain: '',
  since: 17,
  arity: [5, 5],
  attrs: (r) => ({ dtype: outputDatatype(r) }),
  infer: (ctx, a) => {
    const bins = ctx.consts[0];
    const len = ctx.consts[1];
    return [{
      dtype: a.dtype,
      shape: [
        len ? Math.floor(lengthOf(len, 'MelWeightMatrix: dft_length') / 2) + 1 : ctx.freshDim('spectrogram_bins'),
        bins ? lengthOf(bins, 'MelWeightMatrix: num_mel_bins') : ctx.freshDim('mel_bins'),
      ],
    }];
  },
  ref: (ins, a) => {
    const op = 'MelWeightMatrix';
    const bins = lengthOf(need(ins[0], 0, op), `${op}: num_mel_bins`);
    const dftLen = lengthOf(need(ins[1], 1, op), `${op}: dft_length`);
    const rate = lengthOf(need(ins[2], 2, op), `${op}: sample_rate`);
    const lo = scalarOf(need(ins[3], 3, op), `${op}: lower_edge_hertz`);
    const hi = scalarOf(need(ins[4], 4, op), `${op}: upper_edge_hertz`);
    if (!(lo >= 0 && hi > lo && Number.isFinite(hi))) throw invalid(`${op}: need 0 <= lower_edge_hertz < upper_edge_hertz (finite), got ${lo} and ${hi}`);
    checkElems((Math.floor(dftLen / 2) + 1) * bins, op);
    return [fromF64(a.dtype, [Math.floor(dftLen / 2) + 1, bins], melWeights(bins, dftLen, rate, lo, hi))];
  },
});

