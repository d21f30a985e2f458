/**
 * Bounds-checked flatbuffer table access for untrusted files (../shared/RELIABILITY.md): every
 * offset, vtable, vector length and string range is checked against the buffer before it is read,
 * so a malformed file is a one-line `invalid` error, never an out-of-range read or a hang.
 * Reads go through the `flatbuffers` runtime's ByteBuffer (little-endian scalar access).
 */
import { ByteBuffer } from 'flatbuffers';
import { invalid } from '../../errors.js';

/** Most elements one vector may declare (a 4-byte count can claim 4 G; the buffer bounds it too). */
const MAX_VECTOR = 1 << 28;
/** Deepest table nesting followed (schemas here nest a few levels; guards cyclic offsets). */
const MAX_DEPTH = 64;

/** A checked view of one flatbuffer table. */
export class FbTable {
  private readonly vt: number;
  private readonly vtLen: number;

  /**
   * @param bb the whole file
   * @param pos the table's start (already range-checked by the caller)
   * @param what the table type, for error messages
   * @param depth nesting depth (cycle guard)
   */
  constructor(readonly bb: ByteBuffer, readonly pos: number, readonly what: string, readonly depth = 0) {
    if (depth > MAX_DEPTH) throw invalid(`flatbuffer tables nest deeper than ${MAX_DEPTH} (cyclic offsets?)`);
    checkRange(bb, pos, 4, what);
    const vt = pos - bb.readInt32(pos);
    checkRange(bb, vt, 4, `${what} vtable`);
    const vtLen = bb.readUint16(vt);
    const objLen = bb.readUint16(vt + 2);
    if (vtLen < 4 || vtLen % 2 !== 0) throw invalid(`malformed flatbuffer: ${what} vtable size ${vtLen}`);
    checkRange(bb, vt, vtLen, `${what} vtable`);
    checkRange(bb, pos, Math.max(objLen, 4), what);
    this.vt = vt;
    this.vtLen = vtLen;
  }

  /** Absolute position of field `slot` (0-based field index), or 0 when absent. */
  private field(slot: number, size: number): number {
    const o = 4 + 2 * slot;
    if (o + 2 > this.vtLen) return 0;
    const rel = this.bb.readUint16(this.vt + o);
    if (rel === 0) return 0;
    const p = this.pos + rel;
    checkRange(this.bb, p, size, `${this.what} field ${slot}`);
    return p;
  }

  has(slot: number): boolean {
    return this.field(slot, 1) !== 0;
  }
  u8(slot: number, def = 0): number {
    const p = this.field(slot, 1);
    return p ? this.bb.readUint8(p) : def;
  }
  i8(slot: number, def = 0): number {
    const p = this.field(slot, 1);
    return p ? this.bb.readInt8(p) : def;
  }
  bool(slot: number, def = false): boolean {
    const p = this.field(slot, 1);
    return p ? this.bb.readUint8(p) !== 0 : def;
  }
  i32(slot: number, def = 0): number {
    const p = this.field(slot, 4);
    return p ? this.bb.readInt32(p) : def;
  }
  u32(slot: number, def = 0): number {
    const p = this.field(slot, 4);
    return p ? this.bb.readUint32(p) : def;
  }
  f32(slot: number, def = 0): number {
    const p = this.field(slot, 4);
    return p ? this.bb.readFloat32(p) : def;
  }
  u64(slot: number, def = 0): number {
    const p = this.field(slot, 8);
    if (!p) return def;
    const v = this.bb.readUint64(p);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`malformed flatbuffer: ${this.what} field ${slot} is too large`);
    return Number(v);
  }

  /** Follows a uoffset field to its target (checked), or 0 when absent. */
  private indirect(slot: number): number {
    const p = this.field(slot, 4);
    if (!p) return 0;
    const t = p + this.bb.readUint32(p);
    checkRange(this.bb, t, 4, `${this.what} field ${slot}`);
    return t;
  }

  /** A sub-table, or null when absent. */
  table(slot: number, what: string): FbTable | null {
    const t = this.indirect(slot);
    return t ? new FbTable(this.bb, t, what, this.depth + 1) : null;
  }

  /** A UTF-8 string field ('' when absent). */
  str(slot: number): string {
    const v = this.vecRaw(slot, 1);
    if (!v) return '';
    return new TextDecoder().decode(this.bb.bytes().subarray(v.start, v.start + v.len));
  }

  /** {start, len} of a vector of `elem`-byte elements, checked; null when absent. */
  vecRaw(slot: number, elem: number): { start: number; len: number } | null {
    const t = this.indirect(slot);
    if (!t) return null;
    const len = this.bb.readUint32(t);
    if (len > MAX_VECTOR) throw invalid(`malformed flatbuffer: ${this.what} field ${slot} declares ${len} elements`);
    checkRange(this.bb, t + 4, len * elem, `${this.what} field ${slot}`);
    return { start: t + 4, len };
  }

  /** Vector of int32 ([] when absent). */
  i32s(slot: number): number[] {
    const v = this.vecRaw(slot, 4);
    const out: number[] = [];
    if (v) for (let i = 0; i < v.len; i++) out.push(this.bb.readInt32(v.start + 4 * i));
    return out;
  }
  /** Vector of float32 ([] when absent). */
  f32s(slot: number): number[] {
    const v = this.vecRaw(slot, 4);
    const out: number[] = [];
    if (v) for (let i = 0; i < v.len; i++) out.push(this.bb.readFloat32(v.start + 4 * i));
    return out;
  }
  /** Vector of int64 as numbers ([] when absent; values beyond 2^53 are an error). */
  i64s(slot: number): number[] {
    const v = this.vecRaw(slot, 8);
    const out: number[] = [];
    if (v) {
      for (let i = 0; i < v.len; i++) {
        const x = this.bb.readInt64(v.start + 8 * i);
        if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`malformed flatbuffer: ${this.what} field ${slot} value out of range`);
        out.push(Number(x));
      }
    }
    return out;
  }
  /** Vector of bytes (a view into the file; empty when absent). */
  bytes(slot: number): Uint8Array {
    const v = this.vecRaw(slot, 1);
    return v ? this.bb.bytes().subarray(v.start, v.start + v.len) : new Uint8Array(0);
  }
  /** Vector of tables ([] when absent). */
  tables(slot: number, what: string): FbTable[] {
    const v = this.vecRaw(slot, 4);
    const out: FbTable[] = [];
    if (!v) return out;
    for (let i = 0; i < v.len; i++) {
      const p = v.start + 4 * i;
      const t = p + this.bb.readUint32(p);
      checkRange(this.bb, t, 4, what);
      out.push(new FbTable(this.bb, t, what, this.depth + 1));
    }
    return out;
  }
}

/** Throws `invalid` unless [pos, pos+len) lies inside the buffer. */
export function checkRange(bb: ByteBuffer, pos: number, len: number, what: string): void {
  if (!Number.isSafeInteger(pos) || pos < 0 || len < 0 || pos + len > bb.capacity()) {
    throw invalid(`malformed flatbuffer: ${what} lies outside the file (offset ${pos}, ${len} bytes, file ${bb.capacity()} bytes)`);
  }
}

/** The root table of a flatbuffer with 4-byte file identifier `ident` at bytes 4..8. */
export function rootTable(bytes: Uint8Array, ident: string, what: string): FbTable {
  if (bytes.length < 8) throw invalid(`not a ${what} file: ${bytes.length} bytes`);
  const id = String.fromCharCode(...bytes.subarray(4, 8));
  if (id !== ident) throw invalid(`not a ${what} file: file identifier "${id.replace(/[^\x20-\x7e]/g, '?')}", expected "${ident}"`);
  const bb = new ByteBuffer(bytes);
  const root = bb.readUint32(0);
  checkRange(bb, root, 4, `${what} root table`);
  return new FbTable(bb, root, what);
}
