/**
 * Element types of the IR.
 *
 * Storage in the reference interpreter (see tensor.ts):
 * - f32 -> Float32Array, f64 -> Float64Array
 * - f16, bf16 -> Float32Array holding values that are exactly representable in the narrow type
 *   (every op that produces them rounds; see roundToDType)
 * - i8/u8/i16/u16/i32/u32 -> the matching typed array
 * - i64/u64 -> BigInt64Array/BigUint64Array
 * - bool -> Uint8Array (0/1)
 * - i4/u4 -> Int8Array/Uint8Array holding one value per element (packing happens only at file I/O)
 * - string -> string[]
 */
export type DType =
  | 'f32' | 'f16' | 'bf16' | 'f64'
  | 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64'
  | 'bool' | 'i4' | 'u4' | 'string';

export const ALL_DTYPES: readonly DType[] = [
  'f32', 'f16', 'bf16', 'f64', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool', 'i4', 'u4', 'string',
];

/** ONNX TensorProto.DataType numbers for the dtypes we support. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  f32: 1, u8: 2, i8: 3, u16: 4, i16: 5, i32: 6, i64: 7, string: 8, bool: 9, f16: 10, f64: 11, u32: 12, u64: 13,
  bf16: 16, u4: 21, i4: 22,
};

/** Names of every ONNX data type number, for error messages about unsupported ones. */
export const ONNX_DTYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128',
  16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4',
  22: 'INT4', 23: 'FLOAT4E2M1', 24: 'FLOAT8E8M0', 25: 'UINT2', 26: 'INT2',
};

const FROM_ONNX = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

/** Maps an ONNX data type number to a DType, or undefined when edgec does not support it. */
export function dtypeFromOnnx(n: number): DType | undefined {
  return FROM_ONNX.get(n);
}

/** Bits per element as stored in a model file. */
export function dtypeBits(dt: DType): number {
  switch (dt) {
    case 'i4': case 'u4': return 4;
    case 'bool': case 'i8': case 'u8': return 8;
    case 'f16': case 'bf16': case 'i16': case 'u16': return 16;
    case 'f32': case 'i32': case 'u32': return 32;
    case 'f64': case 'i64': case 'u64': return 64;
    case 'string': return 0;
  }
}

export function isFloat(dt: DType): boolean {
  return dt === 'f32' || dt === 'f16' || dt === 'bf16' || dt === 'f64';
}
export function isInt(dt: DType): boolean {
  return !isFloat(dt) && dt !== 'bool' && dt !== 'string';
}
export function isBigInt(dt: DType): boolean {
  return dt === 'i64' || dt === 'u64';
}

/** Inclusive integer range of an integer dtype (as numbers; i64/u64 ranges are approximate). */
export function intRange(dt: DType): [number, number] {
  switch (dt) {
    case 'i4': return [-8, 7];
    case 'u4': return [0, 15];
    case 'i8': return [-128, 127];
    case 'u8': return [0, 255];
    case 'i16': return [-32768, 32767];
    case 'u16': return [0, 65535];
    case 'i32': return [-2147483648, 2147483647];
    case 'u32': return [0, 4294967295];
    case 'i64': return [-9223372036854775808, 9223372036854775807];
    case 'u64': return [0, 18446744073709551615];
    case 'bool': return [0, 1];
    default: throw new Error(`intRange: ${dt} is not an integer type`);
  }
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Rounds a number to the nearest IEEE half (round half to even), returned as a number. */
export function roundF16(x: number): number {
  return f16BitsToNumber(numberToF16Bits(x));
}

/** Encodes a number as IEEE binary16 bits with round-to-nearest-even (via exact f64 arithmetic). */
export function numberToF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  let a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= 65520) return sign | 0x7c00; // rounds to inf
  if (a < 2 ** -24 * 0.5) return sign; // underflow to zero (exactly half rounds to even = 0)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  if (e < -14) {
    // subnormal: value = m * 2^-24
    const m = roundHalfEven(a / 2 ** -24);
    return sign | m; // m may be 1024 which correctly becomes the smallest normal
  }
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e += 1; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** Decodes IEEE binary16 bits to a number. */
export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Encodes a number as bfloat16 bits (round to nearest even from f32). */
export function numberToBf16Bits(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  const lsb = (u >> 16) & 1;
  return ((u + 0x7fff + lsb) >>> 16) & 0xffff;
}

export function bf16BitsToNumber(h: number): number {
  u32buf[0] = (h & 0xffff) << 16;
  return f32buf[0]!;
}

/** Rounds half to even (banker's rounding), as ONNX Round/QuantizeLinear require. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Rounds a number to what the dtype can hold (float narrowing, int saturation is NOT applied). */
export function roundToDType(dt: DType, x: number): number {
  switch (dt) {
    case 'f32': return Math.fround(x);
    case 'f16': return roundF16(x);
    case 'bf16': return bf16BitsToNumber(numberToBf16Bits(x));
    default: return x;
  }
}
