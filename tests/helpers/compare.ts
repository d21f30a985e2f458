import { Tensor } from '../../compiler/ir/tensor.js';

export interface CloseOptions {
  rtol: number;
  atol: number;
}

/**
 * Compares two tensors: same dtype and shape, values within atol + rtol*|expected|
 * (exact for integer/bool/string types; NaN equals NaN). Returns null when close, else a message.
 */
export function compareTensors(got: Tensor, want: Tensor, tol: CloseOptions = { rtol: 1e-3, atol: 1e-5 }): string | null {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype} != expected ${want.dtype}`;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `shape [${got.shape}] != expected [${want.shape}]`;
  }
  const float = got.dtype === 'f32' || got.dtype === 'f64' || got.dtype === 'f16' || got.dtype === 'bf16';
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < got.size; i++) {
    if (got.dtype === 'string') {
      if ((got.data as string[])[i] !== (want.data as string[])[i]) return `string element ${i} differs`;
      continue;
    }
    if (!float) {
      if (got.getBig(i) !== want.getBig(i)) return `element ${i}: ${got.getBig(i)} != expected ${want.getBig(i)}`;
      continue;
    }
    const a = got.get(i);
    const b = want.get(i);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    const err = Math.abs(a - b);
    const allowed = tol.atol + tol.rtol * Math.abs(b);
    if (!(err <= allowed)) {
      const excess = Number.isNaN(err) ? Infinity : err / allowed;
      if (excess > worst) {
        worst = excess;
        worstAt = i;
      }
    }
  }
  if (worstAt >= 0) return `element ${worstAt}: ${got.get(worstAt)} vs expected ${want.get(worstAt)} (${worst.toFixed(1)}x tolerance)`;
  return null;
}
