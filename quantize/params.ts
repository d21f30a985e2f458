/**
 * Quantization parameters: activation (per-tensor, asymmetric int8) and weight (per-channel,
 * symmetric int8) scales and zero points, and the tensors they produce.
 *
 * Conventions (see README.md):
 * - activations: int8, asymmetric: scale = (hi - lo) / 255, zero point = round(-128 - lo / scale),
 *   range always containing 0 so that real 0 (padding, ReLU) is exact;
 * - weights: int8, symmetric, restricted range [-127, 127], scale = max|w| / 127, zero point 0;
 * - bias: int32, scale = x_scale * w_scale (per output channel), zero point 0;
 * - scales are float32 values (ONNX stores them as float); a zero range gets scale 1.
 */
import { roundHalfEven } from '../compiler/ir/dtype.js';
import { Tensor } from '../compiler/ir/tensor.js';

/** Per-tensor affine quantization parameters: real = (q - zeroPoint) * scale. */
export interface QParams {
  scale: number;
  zeroPoint: number;
  dtype: 'i8' | 'u8';
}

/** Smallest scale edgec emits (guards float32 underflow in x_scale * w_scale). */
export const MIN_SCALE = 2 ** -60;

/**
 * Asymmetric activation parameters for a clipping range [lo, hi] (widened to contain 0).
 * @param lo range low end
 * @param hi range high end
 * @param dtype i8 (default) or u8
 * @param bits levels used (8, default; 7: [lo, hi] maps onto i8 [-64, 63] or u8 [0, 127])
 */
export function activationParams(lo: number, hi: number, dtype: 'i8' | 'u8' = 'i8', bits: 7 | 8 = 8): QParams {
  lo = Math.min(0, lo);
  hi = Math.max(0, hi);
  const half = 2 ** (bits - 1);
  const [qlo, qhi] = dtype === 'i8' ? [-half, half - 1] : [0, 2 * half - 1];
  let scale = Math.fround((hi - lo) / (qhi - qlo));
  if (!Number.isFinite(scale) || scale <= 0) scale = 1;
  scale = Math.max(scale, MIN_SCALE);
  let zp = roundHalfEven(qlo - lo / scale);
  zp = Math.min(qhi, Math.max(qlo, zp));
  return { scale, zeroPoint: zp, dtype };
}

/** Quantizes a real number with per-tensor params (round half to even, saturate). */
export function quantizeValue(x: number, p: QParams): number {
  const [qlo, qhi] = p.dtype === 'i8' ? [-128, 127] : [0, 255];
  const q = roundHalfEven(Math.fround(Math.fround(x) / p.scale)) + p.zeroPoint;
  return Math.min(qhi, Math.max(qlo, q));
}

/** Result of quantizing a weight tensor. */
export interface QuantizedWeight {
  q: Tensor;
  /** One scale per slice along `axis`, or one scale (per-tensor). */
  scales: number[];
  axis: number | undefined;
}

/**
 * Symmetric int8 weight quantization, per channel along `axis` (undefined: per tensor).
 * q = clamp(roundHalfEven(w / s), -127, 127), s = max|w| / 127 per slice (1 for an all-zero slice).
 * @param w float weight
 * @param axis channel axis or undefined for per-tensor
 */
export function quantizeWeight(w: Tensor, axis: number | undefined, bits = 8): QuantizedWeight {
  const qmax = 2 ** (bits - 1) - 1;
  const shape = w.shape;
  const C = axis === undefined ? 1 : shape[axis]!;
  const inner = axis === undefined ? w.size : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % C);
  const absMax = new Array<number>(C).fill(0);
  const d = w.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    const c = chanOf(i);
    absMax[c] = Math.max(absMax[c]!, Math.abs(d[i]!));
  }
  const scales = absMax.map((m) => {
    const s = Math.fround(m / qmax);
    return Number.isFinite(s) && s > 0 ? Math.max(s, MIN_SCALE) : 1;
  });
  const q = Tensor.zeros(bits === 8 ? 'i8' : 'i4', shape);
  const qd = q.data as Int8Array;
  for (let i = 0; i < d.length; i++) {
    const v = roundHalfEven(d[i]! / scales[chanOf(i)]!);
    qd[i] = Math.min(qmax, Math.max(-qmax, v));
  }
  return { q, scales, axis };
}

/**
 * int32 bias for accumulator scale x_scale * w_scale[c] (float32 product, as ONNX stores it).
 * @param b float bias [C]
 * @param xScale input activation scale
 * @param wScales weight scales (1 or C)
 */
export function quantizeBias(b: Tensor, xScale: number, wScales: readonly number[]): { q: Tensor; scales: number[] } {
  const C = b.size;
  const scales = new Array<number>(C);
  const q = Tensor.zeros('i32', [C]);
  const qd = q.data as Int32Array;
  for (let c = 0; c < C; c++) {
    const s = Math.fround(xScale * wScales[wScales.length === 1 ? 0 : c]!);
    scales[c] = s > 0 ? s : MIN_SCALE;
    const v = roundHalfEven(b.get(c) / scales[c]!);
    qd[c] = Math.min(2147483647, Math.max(-2147483648, v));
  }
  return { q, scales };
}
