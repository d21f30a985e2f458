/**
 * gemm_tiled_f32: batched Y[b] = act(alpha * A[b] x B[b] + bias) with A, B read through element
 * strides (transposes and batch broadcasting are strides, no copies), tiled 16 x 16 with both
 * operand tiles staged in workgroup memory (the shared core of wgsl/tiled-matmul.ts). Bias modes: none, scalar, col (per output column),
 * row (per output row), full ([M, N]).
 */
import { Activation, ShaderBuilder, actFn, decompose, float, int, linear } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';
import { tiledMatmul } from '../wgsl/tiled-matmul.js';

export interface GemmParams extends BaseParams {
  M: number; N: number; K: number;
  /** Output batch dims (Y is [...batch, M, N]); empty for plain Gemm. */
  batch: number[];
  /** A element strides: batch dims, then m, k. */
  sa: number[];
  /** B element strides: batch dims, then k, n. */
  sb: number[];
  /** Element extents of A and B (buffer sizes). */
  na: number;
  nb: number;
  alpha: number;
  bias: 'none' | 'scalar' | 'col' | 'row' | 'full';
  /** Multiplier of a runtime bias (constant biases come pre-scaled). */
  beta: number;
  act: Activation | null;
}

export const gemmTiledF32: KernelGen<GemmParams> = {
  id: 'gemm_tiled_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const nb = p.batch.length;
    const B = p.batch.reduce((u, v) => u * v, 1);
    const a = s.tensor('a', [p.na], bufOf(p, 'a'));
    const b = s.tensor('b', [p.nb], bufOf(p, 'b'));
    const bias = p.bias !== 'none' ? s.tensor('c', [p.bias === 'scalar' ? 1 : p.bias === 'col' ? p.N : p.bias === 'row' ? p.M : p.M * p.N], bufOf(p, 'c')) : undefined;
    const y = s.tensor('y', [B * p.M * p.N]);
    const act = actFn(s, p.act ?? undefined);
    const bd = decompose('z', p.batch, 'bi');
    const [sam, sak] = [p.sa[nb]!, p.sa[nb + 1]!];
    const [sbk, sbn] = [p.sb[nb]!, p.sb[nb + 1]!];
    let biasExpr = '';
    if (bias) {
      const idx = p.bias === 'scalar' ? '0' : p.bias === 'col' ? 'n' : p.bias === 'row' ? 'm' : `m * ${int(p.N)} + n`;
      biasExpr = ` + ${p.beta === 1 ? '' : `${float(p.beta)} * `}${bias.at(idx)}`;
    }
    return tiledMatmul(s, {
      M: p.M, N: p.N, K: p.K, depth: B,
      prelude: ['let z = i32(wid.z);', ...bd.code, `let abase = ${linear(bd.idx, p.sa.slice(0, nb))};`, `let bbase = ${linear(bd.idx, p.sb.slice(0, nb))};`],
      loadA: [`av = ${a.at(`abase + m * ${int(sam)} + k * ${int(sak)}`)};`],
      loadB: [`bv = ${b.at(`bbase + k * ${int(sbk)} + n * ${int(sbn)}`)};`],
      store: y.store(`z * ${int(p.M * p.N)} + m * ${int(p.N)} + n`, `${act}(${float(p.alpha)} * v${biasExpr})`),
    });
  },
};
