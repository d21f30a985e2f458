/**
 * Element-type codes of the dtype-generic kernels (gather.ts, select.ts): one `dtype` word selects
 * the monomorphized body (targets/wasm/kernels.ts DTYPE mirrors these codes).
 */

export const DT_F32: i32 = 0;
export const DT_F64: i32 = 1;
export const DT_I8: i32 = 2;
export const DT_U8: i32 = 3;
export const DT_I16: i32 = 4;
export const DT_U16: i32 = 5;
export const DT_I32: i32 = 6;
export const DT_U32: i32 = 7;
export const DT_I64: i32 = 8;
export const DT_U64: i32 = 9;
export const DT_BOOL: i32 = 10;
/** 2-byte floats: data movement only (no arithmetic kernel takes them). */
export const DT_F16: i32 = 11;
export const DT_BF16: i32 = 12;

/** Bytes per element of a dtype code. */
export function dtSize(dt: i32): i32 {
  if (dt == DT_F64 || dt == DT_I64 || dt == DT_U64) return 8;
  if (dt == DT_F32 || dt == DT_I32 || dt == DT_U32) return 4;
  if (dt == DT_I16 || dt == DT_U16 || dt == DT_F16 || dt == DT_BF16) return 2;
  return 1;
}

/** Copies one element of `es` bytes (1, 2, 4 or 8). */
@inline export function copyElem(t: usize, s: usize, es: i32): void {
  if (es == 8) store<u64>(t, load<u64>(s));
  else if (es == 4) store<u32>(t, load<u32>(s));
  else if (es == 2) store<u16>(t, load<u16>(s));
  else store<u8>(t, load<u8>(s));
}

/** Index j of an index tensor of kind 0 (i32) or 1 (i64). */
@inline export function loadIndex(idx: usize, j: i32, kind: i32): i64 {
  return kind == 0 ? <i64>load<i32>(idx + (<usize>j << 2)) : load<i64>(idx + (<usize>j << 3));
}

/** An index normalized against a dim of size L (negative counts from the end), clamped into [0, L). */
@inline export function clampIndex(k: i64, L: i32): i32 {
  if (k < 0) k += <i64>L;
  if (k < 0) k = 0;
  if (k >= <i64>L) k = <i64>L - 1;
  return <i32>k;
}

/** Element i of an array of dtype code `dt` as an f64 (integers exact up to 2^53). */
export function loadAsF64(base: usize, i: i32, dt: i32): f64 {
  switch (dt) {
    case DT_F32: return <f64>load<f32>(base + (<usize>i << 2));
    case DT_F64: return load<f64>(base + (<usize>i << 3));
    case DT_I8: return <f64>load<i8>(base + <usize>i);
    case DT_U8: case DT_BOOL: return <f64>load<u8>(base + <usize>i);
    case DT_I16: return <f64>load<i16>(base + (<usize>i << 1));
    case DT_U16: return <f64>load<u16>(base + (<usize>i << 1));
    case DT_I32: return <f64>load<i32>(base + (<usize>i << 2));
    case DT_U32: return <f64>load<u32>(base + (<usize>i << 2));
    case DT_I64: return <f64>load<i64>(base + (<usize>i << 3));
    case DT_U64: return <f64>load<u64>(base + (<usize>i << 3));
    default: return 0;
  }
}

/**
 * Stores an f64 into element i of dtype code `dt` as the reference's Tensor.set does: floats round
 * to the dtype; integers truncate toward zero and wrap modulo 2^bits (non-finite: 0); bool is v != 0.
 */
export function storeFromF64(base: usize, i: i32, dt: i32, v: f64): void {
  if (dt == DT_F32) { store<f32>(base + (<usize>i << 2), <f32>v); return; }
  if (dt == DT_F64) { store<f64>(base + (<usize>i << 3), v); return; }
  if (dt == DT_BOOL) { store<u8>(base + <usize>i, v != 0 ? 1 : 0); return; }
  const w: i64 = isFinite(v) ? <i64>v : 0;
  switch (dtSize(dt)) {
    case 1: store<u8>(base + <usize>i, <u8>w); break;
    case 2: store<u16>(base + (<usize>i << 1), <u16>w); break;
    case 4: store<u32>(base + (<usize>i << 2), <u32>w); break;
    default: store<i64>(base + (<usize>i << 3), w);
  }
}
