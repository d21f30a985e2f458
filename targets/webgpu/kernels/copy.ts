/**
 * copy_strided_f32: dst[dstOff + sum(i_k * dstStrides_k)] = src[srcOff + sum(i_k * srcStrides_k)]
 * over `dims` (transpose, concat, split, slice, expand, tile, depth/space moves, output copies).
 */
import { ShaderBuilder, decompose, linear, sizeOf } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface CopyParams extends BaseParams {
  dims: number[];
  srcStrides: number[];
  dstStrides: number[];
  /** Element offsets inside the operands (e.g. a concat slot). */
  srcOff: number;
  dstOff: number;
  /** Operand extents in elements. */
  srcSize: number;
  dstSize: number;
}

export const copyStridedF32: KernelGen<CopyParams> = {
  id: 'copy_strided_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.srcSize], bufOf(p, 'x'));
    const y = s.tensor('y', [p.dstSize]);
    const d = decompose('gi', p.dims, 'i');
    const so = linear(d.idx, p.srcStrides);
    const dO = linear(d.idx, p.dstStrides);
    return s.linear(sizeOf(p.dims), [
      ...d.code,
      y.store(`${p.dstOff} + ${dO}`, x.at(`${p.srcOff} + ${so}`)),
    ]);
  },
};
