/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0) <-> Tensor.
 *
 * Untrusted input: the header is parsed by a small literal parser (never evaluated), every
 * declared size is checked with BigInt against the limits before anything is allocated, and the
 * payload length must match the shape exactly. Fortran-order arrays are transposed to C order.
 */
import { DType, f16BitsToNumber, numberToF16Bits } from '../ir/dtype.js';
import { Tensor, TensorData, allocData, stridesOf } from '../ir/tensor.js';
import { DEFAULT_LIMITS, ErrorContext, Limits, invalid, limit, unsupported } from '../errors.js';
import { checkedNumel } from '../frontends/onnx/tensor-proto.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Largest header edgec reads (NumPy itself refuses headers over 10 000 bytes by default). */
export const MAX_NPY_HEADER_BYTES = 1 << 16;

/** NumPy type codes (kind + item size) and the DType each maps to. */
const NPY_TO_DTYPE: Readonly<Record<string, DType>> = {
  f2: 'f16', f4: 'f32', f8: 'f64',
  i1: 'i8', u1: 'u8', i2: 'i16', u2: 'u16', i4: 'i32', u4: 'u32', i8: 'i64', u8: 'u64',
  b1: 'bool',
};
const DTYPE_TO_NPY: Partial<Record<DType, string>> = Object.fromEntries(
  Object.entries(NPY_TO_DTYPE).map(([k, v]) => [v, k]),
);

/** Returns true when the bytes start with the .npy magic string. */
export function isNpy(b: Uint8Array): boolean {
  return b.length >= 6 && MAGIC.every((m, i) => b[i] === m);
}

/** Parsed .npy header. */
export interface NpyHeader {
  /** Type code without byte order, e.g. 'f4'. */
  code: string;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: bigint[];
  /** Byte offset of the payload. */
  dataOffset: number;
}

/**
 * Parses the header of an .npy file.
 * @param b whole file bytes
 * @param ctx error context (file name)
 */
export function parseNpyHeader(b: Uint8Array, ctx: ErrorContext = {}): NpyHeader {
  if (!isNpy(b)) throw invalid('not a NumPy .npy file: the magic string "\\x93NUMPY" is missing', ctx);
  if (b.length < 10) throw invalid('truncated .npy file: the header is incomplete', ctx);
  const major = b[6]!;
  const minor = b[7]!;
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = b[8]! | (b[9]! << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) throw invalid('truncated .npy file: the header is incomplete', ctx);
    hlen = (b[8]! | (b[9]! << 8) | (b[10]! << 16)) + b[11]! * 2 ** 24;
    start = 12;
  } else {
    throw unsupported(`.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`, ctx);
  }
  if (hlen > MAX_NPY_HEADER_BYTES) throw limit(`.npy header of ${hlen} bytes exceeds the limit of ${MAX_NPY_HEADER_BYTES}`, ctx);
  if (start + hlen > b.length) throw invalid(`truncated .npy file: the header declares ${hlen} bytes but the file ends first`, ctx);
  const raw = b.subarray(start, start + hlen);
  const text = major === 3 ? new TextDecoder('utf-8', { fatal: false }).decode(raw) : latin1(raw);
  const dict = parseHeaderDict(text, ctx);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') throw invalid('.npy header has no "descr" string', ctx);
  if (typeof fortran !== 'boolean') throw invalid('.npy header has no boolean "fortran_order"', ctx);
  if (!Array.isArray(shape)) throw invalid('.npy header has no "shape" tuple', ctx);
  const m = /^([<>|=])?([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) throw unsupported(`.npy dtype "${descr}" is not supported`, ctx);
  const order = m[1] ?? '=';
  const code = `${m[2]}${m[3]}`;
  if (!(code in NPY_TO_DTYPE)) {
    throw unsupported(`.npy dtype "${descr}" is not supported (supported: ${Object.keys(NPY_TO_DTYPE).join(', ')})`, ctx);
  }
  return { code, littleEndian: order !== '>', fortranOrder: fortran, shape, dataOffset: start + hlen };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

type HeaderValue = string | boolean | bigint[] | undefined;

/**
 * Parses the Python dict literal of an .npy header: string keys; values are strings, True/False
 * or a tuple of non-negative integers. Anything else is an error (nothing is evaluated).
 */
function parseHeaderDict(text: string, ctx: ErrorContext): Map<string, HeaderValue> {
  let i = 0;
  const out = new Map<string, HeaderValue>();
  const bad = (what: string) => invalid(`.npy header is malformed: ${what}`, ctx);
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') throw bad('expected a quoted string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) throw bad('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  ws();
  if (text[i] !== '{') throw bad('it does not start with "{"');
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') { i++; break; }
    const key = str();
    ws();
    if (text[i] !== ':') throw bad(`expected ":" after "${key}"`);
    i++;
    ws();
    let v: HeaderValue;
    if (text[i] === "'" || text[i] === '"') v = str();
    else if (text.startsWith('True', i)) { v = true; i += 4; }
    else if (text.startsWith('False', i)) { v = false; i += 5; }
    else if (text[i] === '(') {
      i++;
      const dims: bigint[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') { i++; break; }
        const m = /^\d+/.exec(text.slice(i, i + 40));
        if (!m) throw bad('shape entries must be non-negative integers');
        if (m[0].length > 30) throw bad('shape entry is too long');
        dims.push(BigInt(m[0]));
        if (dims.length > 64) throw bad('shape has too many dimensions');
        i += m[0].length;
        ws();
        if (text[i] === 'L') i++; // Python 2 long suffix
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') throw bad('expected "," or ")" in shape');
      }
      v = dims;
    } else if (text[i] === '[' && key === 'descr') {
      throw unsupported('.npy structured dtypes (record arrays) are not supported', ctx);
    } else throw bad(`unexpected value for "${key}"`);
    if (!out.has(key)) out.set(key, v);
    ws();
    if (text[i] === ',') { i++; continue; }
    ws();
    if (text[i] === '}') { i++; break; }
    throw bad('expected "," or "}"');
  }
  return out;
}

/**
 * Decodes an .npy file into a Tensor (C order).
 * @param b whole file bytes
 * @param limits size limits (tensor bytes, rank)
 * @param ctx error context (file name)
 */
export function decodeNpy(b: Uint8Array, limits: Limits = DEFAULT_LIMITS, ctx: ErrorContext = {}): Tensor {
  const h = parseNpyHeader(b, ctx);
  const dt = NPY_TO_DTYPE[h.code]!;
  if (h.shape.length > limits.maxRank) throw limit(`.npy array rank ${h.shape.length} exceeds the limit of ${limits.maxRank}`, ctx);
  const n = checkedNumel(h.shape, dt, limits, ctx);
  const item = Number(h.code.slice(1));
  const want = BigInt(n) * BigInt(item);
  const have = BigInt(b.length - h.dataOffset);
  if (have !== want) {
    throw invalid(`.npy payload has ${have} bytes but shape (${h.shape.join(', ')}) of ${h.code} needs ${want}`, ctx);
  }
  const shape = h.shape.map((d) => Number(d));
  const view = new DataView(b.buffer, b.byteOffset + h.dataOffset, n * item);
  const le = h.littleEndian;
  const flat = allocData(dt, n);
  const read = readerFor(dt, view, le);
  if (!h.fortranOrder || shape.length < 2) {
    for (let i = 0; i < n; i++) read(flat, i, i);
  } else {
    // Fortran order: element with multi-index (i0..ik) sits at sum(i_j * fstride_j), fstride_0 = 1.
    const fstr: number[] = [];
    let acc = 1;
    for (const d of shape) { fstr.push(acc); acc *= d; }
    const cstr = stridesOf(shape);
    for (let c = 0; c < n; c++) {
      let rem = c;
      let f = 0;
      for (let k = 0; k < shape.length; k++) {
        const idx = Math.floor(rem / cstr[k]!);
        rem -= idx * cstr[k]!;
        f += idx * fstr[k]!;
      }
      read(flat, c, f);
    }
  }
  return new Tensor(dt, shape, flat);
}

type ElemReader = (out: TensorData, dst: number, src: number) => void;

function readerFor(dt: DType, v: DataView, le: boolean): ElemReader {
  switch (dt) {
    case 'f16': return (o, d, s) => { (o as Float32Array)[d] = f16BitsToNumber(v.getUint16(s * 2, le)); };
    case 'f32': return (o, d, s) => { (o as Float32Array)[d] = v.getFloat32(s * 4, le); };
    case 'f64': return (o, d, s) => { (o as Float64Array)[d] = v.getFloat64(s * 8, le); };
    case 'i8': return (o, d, s) => { (o as Int8Array)[d] = v.getInt8(s); };
    case 'u8': return (o, d, s) => { (o as Uint8Array)[d] = v.getUint8(s); };
    case 'bool': return (o, d, s) => { (o as Uint8Array)[d] = v.getUint8(s) ? 1 : 0; };
    case 'i16': return (o, d, s) => { (o as Int16Array)[d] = v.getInt16(s * 2, le); };
    case 'u16': return (o, d, s) => { (o as Uint16Array)[d] = v.getUint16(s * 2, le); };
    case 'i32': return (o, d, s) => { (o as Int32Array)[d] = v.getInt32(s * 4, le); };
    case 'u32': return (o, d, s) => { (o as Uint32Array)[d] = v.getUint32(s * 4, le); };
    case 'i64': return (o, d, s) => { (o as BigInt64Array)[d] = v.getBigInt64(s * 8, le); };
    case 'u64': return (o, d, s) => { (o as BigUint64Array)[d] = v.getBigUint64(s * 8, le); };
    default: throw unsupported(`.npy reader: dtype ${dt} is not supported`);
  }
}

/**
 * Encodes a tensor as an .npy file (format 1.0, or 2.0 when the header needs it; little-endian,
 * C order).
 * @param t the tensor (f16/f32/f64, 8..64-bit ints, bool)
 */
export function encodeNpy(t: Tensor): Uint8Array {
  const code = DTYPE_TO_NPY[t.dtype];
  if (!code) throw unsupported(`cannot write a ${t.dtype} tensor as .npy (NumPy has no such dtype)`);
  const item = Number(code.slice(1));
  const descr = `${item === 1 ? '|' : '<'}${code}`;
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let major = 1;
  let pre = 10;
  // header (magic + len + dict + padding + '\n') is a multiple of 64 bytes
  let total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  if (total - pre > 0xffff) {
    major = 2;
    pre = 12;
    total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  }
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const n = t.size;
  const out = new Uint8Array(total + n * item);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const hl = total - pre;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, hl, true);
  else dv.setUint32(8, hl, true);
  for (let i = 0; i < dict.length; i++) out[pre + i] = dict.charCodeAt(i);
  const v = new DataView(out.buffer, total);
  const d = t.data;
  switch (t.dtype) {
    case 'f16': for (let i = 0; i < n; i++) v.setUint16(i * 2, numberToF16Bits((d as Float32Array)[i]!), true); break;
    case 'f32': for (let i = 0; i < n; i++) v.setFloat32(i * 4, (d as Float32Array)[i]!, true); break;
    case 'f64': for (let i = 0; i < n; i++) v.setFloat64(i * 8, (d as Float64Array)[i]!, true); break;
    case 'i8': case 'u8': case 'bool': for (let i = 0; i < n; i++) v.setUint8(i, (d as Uint8Array)[i]! & 255); break;
    case 'i16': case 'u16': for (let i = 0; i < n; i++) v.setUint16(i * 2, (d as Uint16Array)[i]! & 0xffff, true); break;
    case 'i32': case 'u32': for (let i = 0; i < n; i++) v.setUint32(i * 4, (d as Uint32Array)[i]! >>> 0, true); break;
    case 'i64': for (let i = 0; i < n; i++) v.setBigInt64(i * 8, (d as BigInt64Array)[i]!, true); break;
    case 'u64': for (let i = 0; i < n; i++) v.setBigUint64(i * 8, (d as BigUint64Array)[i]!, true); break;
    default: throw unsupported(`cannot write a ${t.dtype} tensor as .npy`);
  }
  return out;
}
