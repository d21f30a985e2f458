/**
 * Generic byte mutators plus protobuf-wire-aware ones (varints, length prefixes, tags), in the
 * spirit of libFuzzer's mutation set with a protobuf scanner on top.
 */
import { Rng } from './rng.js';

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x0a, 0x12, 0x1a, 0x22, 0x08];
const INTERESTING_32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0x80, 0xffff, 0x10000, 1 << 24];

export type ByteMutator = (b: Uint8Array, r: Rng, seeds: readonly Uint8Array[]) => Uint8Array;

function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Protobuf varint encoding of a non-negative bigint (up to 10 bytes for 64 bits). */
export function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  while (x > 127n) {
    out.push(Number(x & 127n) | 128);
    x >>= 7n;
  }
  out.push(Number(x));
  return new Uint8Array(out);
}

/** A field found by the wire scanner. */
interface Site {
  /** Offset of the tag. */
  tagAt: number;
  tagLen: number;
  wire: number;
  /** Varint value offset/length (wire 0), or length prefix offset/length (wire 2). */
  valAt: number;
  valLen: number;
  /** Payload offset/length for wire 2. */
  bodyAt: number;
  bodyLen: number;
}

function readVarint(b: Uint8Array, at: number): { v: bigint; len: number } | undefined {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= b.length) return undefined;
    const c = b[at + i]!;
    v |= BigInt(c & 127) << BigInt(7 * i);
    if (!(c & 128)) return { v, len: i + 1 };
  }
  return undefined;
}

/**
 * Scans protobuf wire format, descending into length-delimited fields that parse as messages.
 * Returns every field found (bounded count); stops quietly at the first malformed byte.
 */
export function scanWire(b: Uint8Array, start = 0, end = b.length, depth = 0, out: Site[] = []): Site[] {
  let i = start;
  while (i < end && out.length < 4000) {
    const t = readVarint(b, i);
    if (!t || t.v === 0n) return out;
    const wire = Number(t.v & 7n);
    const site: Site = { tagAt: i, tagLen: t.len, wire, valAt: i + t.len, valLen: 0, bodyAt: 0, bodyLen: 0 };
    i += t.len;
    if (wire === 0) {
      const v = readVarint(b, i);
      if (!v) return out;
      site.valLen = v.len;
      i += v.len;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else if (wire === 2) {
      const l = readVarint(b, i);
      if (!l || i + l.len + Number(l.v) > end) return out;
      site.valLen = l.len;
      site.bodyAt = i + l.len;
      site.bodyLen = Number(l.v);
      i = site.bodyAt + site.bodyLen;
    } else {
      return out;
    }
    if (i > end) return out;
    out.push(site);
    if (wire === 2 && depth < 8 && site.bodyLen > 1) scanWire(b, site.bodyAt, site.bodyAt + site.bodyLen, depth + 1, out);
  }
  return out;
}

const HUGE: bigint[] = [
  0n, 1n, 127n, 128n, 255n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 53n + 1n,
  2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 31n * 2n ** 31n,
];

function replace(b: Uint8Array, at: number, len: number, with_: Uint8Array): Uint8Array {
  return concat(b.subarray(0, at), with_, b.subarray(at + len));
}

/** Varint-aware mutations: huge values, malformed varints, wrong lengths, wrong wire types. */
export const wireMutate: ByteMutator = (b, r) => {
  const sites = scanWire(b);
  if (sites.length === 0) return flipBits(b, r, []);
  const s = r.pick(sites);
  switch (r.int(8)) {
    case 0: // varint value -> interesting/huge value
      if (s.wire === 0) return replace(b, s.valAt, s.valLen, varint(r.pick(HUGE)));
      return replace(b, s.valAt, s.valLen || 1, varint(r.pick(HUGE)));
    case 1: { // length prefix off by a little
      if (s.wire !== 2) break;
      const d = BigInt(r.pick([-2, -1, 1, 2, 7]));
      const v = BigInt(s.bodyLen) + d;
      return replace(b, s.valAt, s.valLen, varint(v < 0n ? 0n : v));
    }
    case 2: // huge length prefix
      if (s.wire !== 2) break;
      return replace(b, s.valAt, s.valLen, varint(r.pick(HUGE.slice(5))));
    case 3: { // malformed varint: 10+ continuation bytes, or cut at end
      const bad = new Uint8Array(r.range(10, 14)).fill(0xff);
      return replace(b, s.valAt, s.valLen || 1, bad);
    }
    case 4: { // change the wire type in the tag
      const t = readVarint(b, s.tagAt)!;
      const nt = (t.v & ~7n) | BigInt(r.pick([0, 1, 2, 3, 4, 5, 6, 7]));
      return replace(b, s.tagAt, s.tagLen, varint(nt));
    }
    case 5: { // change the field number
      const t = readVarint(b, s.tagAt)!;
      const field = BigInt(r.pick([1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 21, 536870911]));
      return replace(b, s.tagAt, s.tagLen, varint((field << 3n) | (t.v & 7n)));
    }
    case 6: // duplicate the whole field (repeated/last-wins handling)
      {
        const endAt = s.wire === 2 ? s.bodyAt + s.bodyLen : s.wire === 0 ? s.valAt + s.valLen : s.wire === 1 ? s.valAt + 8 : s.valAt + 4;
        if (endAt > b.length) break;
        const field = b.slice(s.tagAt, endAt);
        return concat(b.subarray(0, endAt), field, b.subarray(endAt));
      }
    case 7: // drop the field
      {
        const endAt = s.wire === 2 ? s.bodyAt + s.bodyLen : s.wire === 0 ? s.valAt + s.valLen : s.wire === 1 ? s.valAt + 8 : s.valAt + 4;
        if (endAt > b.length) break;
        return concat(b.subarray(0, s.tagAt), b.subarray(endAt));
      }
  }
  return flipBits(b, r, []);
};

export const flipBits: ByteMutator = (b, r) => {
  if (b.length === 0) return new Uint8Array([r.int(256)]);
  const out = b.slice();
  const n = r.small(8);
  for (let k = 0; k < n; k++) {
    const i = r.int(out.length);
    out[i] = out[i]! ^ (1 << r.int(8));
  }
  return out;
};

export const interestingBytes: ByteMutator = (b, r) => {
  if (b.length === 0) return new Uint8Array([r.pick(INTERESTING_8)]);
  const out = b.slice();
  if (r.bool(0.7) || out.length < 4) {
    const n = r.small(4);
    for (let k = 0; k < n; k++) out[r.int(out.length)] = r.pick(INTERESTING_8);
  } else {
    const i = r.int(out.length - 3);
    new DataView(out.buffer).setInt32(i, r.pick(INTERESTING_32), r.bool());
  }
  return out;
};

export const randomBytes: ByteMutator = (b, r) => {
  const out = b.slice();
  if (out.length === 0) return out;
  const i = r.int(out.length);
  const n = Math.min(out.length - i, r.small(16));
  for (let k = 0; k < n; k++) out[i + k] = r.int(256);
  return out;
};

export const truncate: ByteMutator = (b, r) => {
  if (b.length === 0) return b;
  return r.bool(0.3) ? b.slice(r.int(b.length)) : b.slice(0, r.int(b.length));
};

export const insertChunk: ByteMutator = (b, r, seeds) => {
  const src = r.bool(0.7) || seeds.length === 0 ? b : r.pick(seeds);
  if (src.length === 0) return b;
  const from = r.int(src.length);
  const len = Math.min(src.length - from, r.small(64) * r.small(8));
  const at = r.int(b.length + 1);
  const chunk = src.slice(from, from + len);
  if (r.bool(0.3)) return replace(b, at, Math.min(len, b.length - at), chunk); // overwrite
  return concat(b.subarray(0, at), chunk, b.subarray(at));
};

export const eraseChunk: ByteMutator = (b, r) => {
  if (b.length < 2) return b;
  const at = r.int(b.length);
  const len = Math.min(b.length - at, r.small(64));
  return concat(b.subarray(0, at), b.subarray(at + len));
};

/** Head of one input + tail of another (libFuzzer CrossOver). */
export const splice: ByteMutator = (b, r, seeds) => {
  if (seeds.length === 0) return b;
  const o = r.pick(seeds);
  const a = r.int(b.length + 1);
  const c = r.int(o.length + 1);
  return concat(b.subarray(0, a), o.subarray(c));
};

export const BYTE_MUTATORS: readonly [string, ByteMutator][] = [
  ['flip', flipBits],
  ['interesting', interestingBytes],
  ['random', randomBytes],
  ['truncate', truncate],
  ['insert', insertChunk],
  ['erase', eraseChunk],
  ['splice', splice],
  ['wire', wireMutate],
  ['wire', wireMutate], // twice the weight: most inputs are protobuf
];

/** Applies 1..n random byte mutations. */
export function mutateBytes(b: Uint8Array, r: Rng, seeds: readonly Uint8Array[], n = r.small(4)): Uint8Array {
  let out = b;
  for (let k = 0; k < n; k++) out = r.pick(BYTE_MUTATORS)[1](out, r, seeds);
  return out;
}
