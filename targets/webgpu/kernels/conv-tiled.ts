/**
 * conv2d_igemm_tiled_f32: convolution as an implicit GEMM per (batch, group):
 *   Y[k, p] = sum_r W[k, r] * im2col(X)[r, p],  r = (c, kh, kw), p = (oh, ow)
 * on the shared tiled matmul core (wgsl/tiled-matmul.ts: 32 x 32 output tiles, operand tiles in
 * workgroup memory). 1x1 convs reduce to a plain tiled GEMM over channels; 3x3 and larger gather
 * their im2col tile on the fly (no im2col buffer). Bias and the fused activation form the epilogue.
 */
import { ShaderBuilder, actFn, int } from '../wgsl/shader.js';
import { tiledMatmul } from '../wgsl/tiled-matmul.js';
import { ConvParams } from './conv-params.js';
import { KernelGen, bufOf } from './types.js';

export const conv2dIgemmTiledF32: KernelGen<ConvParams> = {
  id: 'conv2d_igemm_tiled_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const Cg = p.C / p.group;
    const M = p.K / p.group;
    const P = p.OH * p.OW;
    const R = Cg * p.KH * p.KW;
    const KK = p.KH * p.KW;
    const x = s.tensor('x', [p.N, p.C, p.H, p.W]);
    const w = s.tensor('w', [p.K, R], bufOf(p, 'w'));
    const b = p.bias ? s.tensor('b', [p.K], bufOf(p, 'b')) : undefined;
    const y = s.tensor('y', [p.N, p.K, P]);
    const act = actFn(s, p.act ?? undefined);
    const pointwise = p.KH === 1 && p.KW === 1 && p.sh === 1 && p.sw === 1 && p.ph === 0 && p.pw === 0 && P === p.H * p.W;
    // B(k = r, n = p): the input pixel tap r of output pixel p reads
    const loadB = pointwise
      ? [`bv = ${x.at(`(n_img * ${int(p.C)} + g * ${int(Cg)} + k) * ${int(P)} + n`)};`]
      : [
        `let c = k / ${int(KK)};`,
        `let kh = (k % ${int(KK)}) / ${int(p.KW)};`,
        `let kw = k % ${int(p.KW)};`,
        `let ih = (n / ${int(p.OW)}) * ${int(p.sh)} - ${int(p.ph)} + kh * ${int(p.dh)};`,
        `let iw = (n % ${int(p.OW)}) * ${int(p.sw)} - ${int(p.pw)} + kw * ${int(p.dw)};`,
        `if (ih >= 0 && ih < ${int(p.H)} && iw >= 0 && iw < ${int(p.W)}) {`,
        `  bv = ${x.atIndices(['n_img', `g * ${int(Cg)} + c`, 'ih', 'iw'])};`,
        '}',
      ];
    return tiledMatmul(s, {
      M, N: P, K: R, depth: p.N * p.group,
      prelude: ['let z = i32(wid.z);', `let n_img = z / ${int(p.group)};`, `let g = z % ${int(p.group)};`],
      loadA: [`av = ${w.at(`(g * ${int(M)} + m) * ${int(R)} + k`)};`],
      loadB,
      store: y.store(y.offsetOf(['n_img', `g * ${int(M)} + m`, 'n']), `${act}(v${b ? ` + ${b.at(`g * ${int(M)} + m`)}` : ''})`),
    });
  },
};
