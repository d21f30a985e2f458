/**
 * gemm_direct_f32: the same contract as gemm_tiled_f32 (strided, batched, bias modes, fused
 * activation) with one thread per output element looping over K. Used for skinny products
 * (M < 8: fully connected layers on one sample, matrix-vector), where a 32-row tile would leave
 * most of the workgroup idle behind its barriers.
 */
import { ShaderBuilder, actFn, decompose, float, int, linear } from '../wgsl/shader.js';
import { GemmParams } from './gemm.js';
import { KernelGen, bufOf } from './types.js';

export const gemmDirectF32: KernelGen<GemmParams> = {
  id: 'gemm_direct_f32',
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
    return s.linear(B * p.M * p.N, [
      `let n = gi % ${int(p.N)};`,
      `let m = (gi / ${int(p.N)}) % ${int(p.M)};`,
      `let z = gi / ${int(p.M * p.N)};`,
      ...bd.code,
      `let abase = ${linear(bd.idx, p.sa.slice(0, nb))} + m * ${int(sam)};`,
      `let bbase = ${linear(bd.idx, p.sb.slice(0, nb))} + n * ${int(sbn)};`,
      'var acc = 0.0;',
      `for (var k = 0; k < ${int(p.K)}; k++) {`,
      `  acc = fma(${a.at(`abase + k * ${int(sak)}`)}, ${b.at(`bbase + k * ${int(sbk)}`)}, acc);`,
      '}',
      y.store('gi', `${act}(${float(p.alpha)} * acc${biasExpr})`),
    ]);
  },
};
