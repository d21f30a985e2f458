import { DType, isBigInt, roundToDType, intRange, isFloat } from './dtype.js';

/** A dimension: a concrete size or a symbolic name (e.g. the batch dim "N"). */
export type Dim = number | string;
export type Shape = readonly Dim[];
/** A fully known shape. */
export type ConcreteShape = readonly number[];

/** Per-tensor or per-axis affine quantization parameters: real = (q - zeroPoint) * scale. */
export interface QuantParams {
  scale: readonly number[];
  zeroPoint: readonly number[];
  /** Axis for per-axis quantization (scale.length === shape[axis]); undefined for per-tensor. */
  axis?: number;
}

/**
 * What a non-tensor value holds (ONNX sequence/optional types). Absent means a plain tensor.
 * - 'sequence': a sequence of tensors; dtype/shape describe every element (dims that differ
 *   between elements are symbolic);
 * - 'optional': an optional tensor of dtype/shape; 'optional-sequence': an optional sequence.
 * Only the reference interpreter runs such values; passes and targets reject them.
 */
export type ValueKind = 'sequence' | 'optional' | 'optional-sequence';

/** Static type of a value: element type, shape, optional quantization parameters. */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly quant?: QuantParams;
  /** Sequence/optional wrapper (see ValueKind); undefined for tensors. */
  readonly kind?: ValueKind;
}

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;
export type TensorData = TypedArray | string[];

/** Allocates zeroed storage for `n` elements of `dt` (see dtype.ts for the storage mapping). */
export function allocData(dt: DType, n: number): TensorData {
  switch (dt) {
    case 'f32': case 'f16': case 'bf16': return new Float32Array(n);
    case 'f64': return new Float64Array(n);
    case 'i8': case 'i4': return new Int8Array(n);
    case 'u8': case 'u4': case 'bool': return new Uint8Array(n);
    case 'i16': return new Int16Array(n);
    case 'u16': return new Uint16Array(n);
    case 'i32': return new Int32Array(n);
    case 'u32': return new Uint32Array(n);
    case 'i64': return new BigInt64Array(n);
    case 'u64': return new BigUint64Array(n);
    case 'string': return new Array<string>(n).fill('');
  }
}

export function isConcrete(s: Shape): s is ConcreteShape {
  return s.every((d) => typeof d === 'number');
}

/** Number of elements of a concrete shape. */
export function numel(s: ConcreteShape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/** Row-major strides of a concrete shape. */
export function stridesOf(s: ConcreteShape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i]!;
  }
  return st;
}

export function shapeToString(s: Shape): string {
  return `[${s.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * An immutable constant tensor (weights, initializers) or a runtime value in the interpreter.
 * `data` is never mutated after construction by convention.
 */
export class Tensor {
  readonly dtype: DType;
  readonly shape: ConcreteShape;
  readonly data: TensorData;
  readonly quant?: QuantParams;

  constructor(dtype: DType, shape: ConcreteShape, data: TensorData, quant?: QuantParams) {
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`tensor data has ${data.length} elements but shape ${shapeToString(shape)} needs ${n}`);
    }
    this.dtype = dtype;
    this.shape = shape;
    this.data = data;
    if (quant) this.quant = quant;
  }

  get size(): number {
    return this.data.length;
  }
  get type(): TensorType {
    return this.quant ? { dtype: this.dtype, shape: this.shape, quant: this.quant } : { dtype: this.dtype, shape: this.shape };
  }

  /** Zero-filled tensor. */
  static zeros(dtype: DType, shape: ConcreteShape): Tensor {
    return new Tensor(dtype, shape, allocData(dtype, numel(shape)));
  }

  /** Builds a tensor from JS numbers (bigints for i64/u64 are converted), rounding floats to the dtype. */
  static from(dtype: DType, shape: ConcreteShape, values: ArrayLike<number | bigint | boolean>): Tensor {
    const t = Tensor.zeros(dtype, shape);
    for (let i = 0; i < values.length; i++) t.set(i, values[i] as number | bigint | boolean);
    return t;
  }

  static scalar(dtype: DType, v: number | bigint): Tensor {
    return Tensor.from(dtype, [], [v]);
  }

  /** Element i as a JS number (i64 via Number(), exact below 2^53; strings are not numbers). */
  get(i: number): number {
    const v = this.data[i];
    return typeof v === 'bigint' ? Number(v) : (v as number);
  }

  /** Element i as a bigint (for exact i64 work). */
  getBig(i: number): bigint {
    const v = this.data[i];
    if (typeof v === 'bigint') return v;
    return BigInt(Math.trunc(v as number));
  }

  /**
   * Writes element i from a number, rounding to the dtype (floats) or converting as a C cast would
   * for integers (truncation toward zero, wrap modulo 2^bits; callers saturate themselves when needed).
   * Only for building tensors; runtime values are immutable once produced.
   */
  set(i: number, v: number | bigint | boolean): void {
    const d = this.data;
    if (this.dtype === 'string') throw new Error('set() on a string tensor');
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (isBigInt(this.dtype)) {
      (d as BigInt64Array)[i] = typeof v === 'bigint' ? v : toBigIntWrap(v, this.dtype);
      return;
    }
    const x = typeof v === 'bigint' ? Number(v) : v;
    if (this.dtype === 'bool') (d as Uint8Array)[i] = x !== 0 ? 1 : 0;
    else if (isFloat(this.dtype)) (d as Float32Array)[i] = roundToDType(this.dtype, x);
    else if (this.dtype === 'i4' || this.dtype === 'u4') (d as Int8Array)[i] = wrapInt(Math.trunc(x), this.dtype);
    else (d as Int32Array)[i] = Number.isFinite(x) ? Math.trunc(x) : 0;
  }

  /** All elements as numbers (copy). */
  toNumbers(): number[] {
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.get(i);
    return out;
  }

  /** Same data with another shape (no copy). */
  reshape(shape: ConcreteShape): Tensor {
    return new Tensor(this.dtype, shape, this.data, this.quant);
  }

  /** Payload size in bytes as stored in a model file. */
  byteSize(): number {
    if (this.dtype === 'string') return (this.data as string[]).reduce((a, s) => a + s.length, 0);
    if (this.dtype === 'i4' || this.dtype === 'u4') return Math.ceil(this.size / 2);
    const bits: Record<string, number> = { f16: 2, bf16: 2, bool: 1 };
    return this.size * (bits[this.dtype] ?? (this.data as TypedArray).BYTES_PER_ELEMENT);
  }
}

function wrapInt(x: number, dt: 'i4' | 'u4'): number {
  const m = x & 15;
  if (dt === 'u4') return m;
  return m >= 8 ? m - 16 : m;
}

function toBigIntWrap(v: number, dt: DType): bigint {
  if (!Number.isFinite(v)) return 0n;
  const b = BigInt(Math.trunc(v));
  return dt === 'i64' ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b);
}

/** Saturating conversion of a number to an integer dtype (used by QuantizeLinear, Cast saturate etc.). */
export function saturate(dt: DType, x: number): number {
  const [lo, hi] = intRange(dt);
  return x < lo ? lo : x > hi ? hi : x;
}
