/**
 * Compressed weight storage shared by the wasm and webgpu targets (--fp16, --int4): a constant
 * blob the kernels read as f32 is stored smaller in the artifact and expanded to f32 once, when the
 * model is instantiated (wasm: kernels run by the module's start function; webgpu: the generated
 * loader before the upload).
 *
 * - 'f16': a blob whose every value is exactly an IEEE half is stored as binary16 (2 bytes a value);
 *   the expansion is exact.
 * - 'int4': a blob of a DequantizeLinear(int4 constant, scale, axis, block_size) output is stored as
 *   packed signed nibbles (2 per byte, element 2i in the low nibble) plus its f32 block scales. The
 *   blob is viewed as [outer, D, inner] with blocks of `block` along D: value(o, d, i) =
 *   f32(q(o, d, i) * scale[(o * ceil(D / block) + floor(d / block)) * inner + i]); the product of a
 *   4-bit integer and an f32 is exact before the single rounding to f32, so the expansion is
 *   bit-identical to the reference's DequantizeLinear.
 */
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, numel } from '../../compiler/ir/tensor.js';
import { numberToF16Bits } from '../../compiler/ir/dtype.js';
import { normAxis, opsetOf, parseAttrs, getOp } from '../../compiler/ops/registry.js';

/**
 * Blocked quantized values: q (blob order, one per element) and f32 scales over the view
 * [outer, D, inner] with blocks of `block` along D (int4 blobs here, wasm's int8 blobs).
 */
export interface BlockedValues {
  q: Int8Array;
  scale: Float32Array;
  outer: number;
  D: number;
  inner: number;
  block: number;
}

/** An int4 blob: values q (blob order, one per element) and block scales over [outer, D, inner]. */
export interface Int4Blob extends BlockedValues {
  kind: 'int4';
}

/** How a constant blob is stored: f16 halves or int4 blocks (undefined: plain f32/raw bytes). */
export type BlobCodec = { kind: 'f16' } | Int4Blob;

/** An int4-quantized weight: the int4 constant and its blocked scales (axis, block_size). */
export interface Int4Weight {
  q: Int8Array;
  scale: Float32Array;
  shape: number[];
  axis: number;
  block: number;
}

/** Smallest blob worth compressing (elements). */
export const MIN_COMPRESSED = 8;

/** True when every value of `d` is exactly an IEEE half (so f16 storage is lossless). */
export function isF16Exact(d: Float32Array): boolean {
  const u = new Uint32Array(d.buffer, d.byteOffset, d.length);
  for (let i = 0; i < d.length; i++) {
    const a = u[i]! & 0x7fffffff;
    if (a >= 0x38800000) {
      // f16 normal range (or inf): 10 mantissa bits, exponent up to 15
      if ((a & 0x1fff) !== 0 || (a > 0x477fe000 && a !== 0x7f800000)) return false;
    } else if (!Number.isInteger(d[i]! * 16777216)) return false; // subnormal halves: multiples of 2^-24
  }
  return true;
}

/** binary16 bits of f16-exact values. */
export function encodeF16(d: Float32Array): Uint16Array {
  const out = new Uint16Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = numberToF16Bits(d[i]!);
  return out;
}

/** Packs int4 values two per byte (element 2i in the low nibble, 2i+1 in the high nibble). */
export function packInt4(q: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(q.length / 2));
  for (let i = 0; i < q.length; i++) out[i >> 1]! |= (q[i]! & 15) << ((i & 1) * 4);
  return out;
}

/** Stored bytes of a blob of `n` f32 elements under a codec (payload only, before alignment). */
export function storedBytes(n: number, codec: BlobCodec | undefined): number {
  if (!codec) return n * 4;
  if (codec.kind === 'f16') return n * 2;
  return Math.ceil(n / 2) + codec.scale.length * 4;
}

/**
 * The f32 values of a blocked blob (what the targets' expansion of an int4 or int8 blob computes):
 * value(o, d, i) = f32(q * scale[(o * ceil(D / block) + floor(d / block)) * inner + i]).
 * @param b int4 or int8 blob
 */
export function decodeBlocked(b: BlockedValues): Float32Array {
  const out = new Float32Array(b.q.length);
  const nb = Math.ceil(b.D / b.block);
  let i = 0;
  for (let o = 0; o < b.outer; o++) {
    for (let d = 0; d < b.D; d++) {
      const sb = (o * nb + Math.floor(d / b.block)) * b.inner;
      for (let k = 0; k < b.inner; k++, i++) out[i] = Math.fround(b.q[i]! * b.scale[sb + k]!);
    }
  }
  return out;
}

/**
 * The int4 weight a node computes, when it is DequantizeLinear of a constant signed int4 tensor
 * with constant f32 block scales (block_size > 0) and no (or an all-zero) zero point: what
 * quantize/int4.ts emits. Undefined otherwise.
 * @param g graph
 * @param consts values known at compile time
 * @param n node
 */
export function int4WeightOf(g: Graph, consts: ReadonlyMap<ValueId, Tensor>, n: Node): Int4Weight | undefined {
  if (n.op !== 'DequantizeLinear' || n.domain !== '') return undefined;
  const q = consts.get(n.inputs[0] ?? -1);
  const s = consts.get(n.inputs[1] ?? -1);
  if (!q || !s || q.dtype !== 'i4' || s.dtype !== 'f32' || q.shape.length === 0) return undefined;
  const zp = n.inputs[2] != null ? consts.get(n.inputs[2]) : undefined;
  if (n.inputs[2] != null && (!zp || zp.toNumbers().some((v) => v !== 0))) return undefined;
  const def = getOp('', 'DequantizeLinear');
  if (!def) return undefined;
  const a = parseAttrs(def, n, opsetOf(n, g)) as { axis?: number; blockSize?: number; block_size?: number };
  const block = a.blockSize ?? a.block_size ?? 0;
  if (!(block > 0)) return undefined;
  const shape = [...q.shape] as number[];
  const axis = normAxis(a.axis ?? 1, shape.length);
  const sShape = shape.map((d, i) => (i === axis ? Math.ceil(d / block) : d));
  if (s.shape.length !== shape.length || s.shape.some((d, i) => d !== sShape[i])) return undefined;
  return { q: q.data as Int8Array, scale: s.data as Float32Array, shape, axis, block };
}

/**
 * An int4 weight in its own layout as a blob: [prod(shape[:axis]), shape[axis], prod(shape[axis+1:])].
 * @param w int4 weight
 */
export function int4Blob(w: Int4Weight): Int4Blob {
  return {
    kind: 'int4', q: w.q, scale: w.scale, outer: numel(w.shape.slice(0, w.axis)), D: w.shape[w.axis]!,
    inner: numel(w.shape.slice(w.axis + 1)), block: w.block,
  };
}
