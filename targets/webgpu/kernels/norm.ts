/**
 * norm_f32: LayerNormalization / InstanceNormalization over rows of `inner` elements, one thread
 * per row (two-pass mean and variance). Scale/bias are per element of the row ('inner') or per
 * channel (`row % C`, instance norm). Optional mean / inverse-std outputs (LayerNormalization).
 */
import { ShaderBuilder, float, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface NormParams extends BaseParams {
  rows: number;
  inner: number;
  eps: number;
  affine: 'inner' | 'channel';
  C: number;
  scale: boolean;
  bias: boolean;
  stats: boolean;
}

export const normF32: KernelGen<NormParams> = {
  id: 'norm_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.rows, p.inner]);
    const plen = p.affine === 'inner' ? p.inner : p.C;
    const sc = p.scale ? s.tensor('s', [plen], bufOf(p, 's')) : undefined;
    const bi = p.bias ? s.tensor('b', [plen], bufOf(p, 'b')) : undefined;
    const y = s.tensor('y', [p.rows, p.inner]);
    const mo = p.stats ? s.tensor('mean', [p.rows]) : undefined;
    const ro = p.stats ? s.tensor('rstd', [p.rows]) : undefined;
    const pi = p.affine === 'inner' ? 'i' : `gi % ${int(p.C)}`;
    const body = [
      'var sum = 0.0;',
      `for (var i = 0; i < ${int(p.inner)}; i++) { sum += ${x.atIndices(['gi', 'i'])}; }`,
      `let mean = sum / ${int(p.inner)}.0;`,
      'var sq = 0.0;',
      `for (var i = 0; i < ${int(p.inner)}; i++) { let d = ${x.atIndices(['gi', 'i'])} - mean; sq += d * d; }`,
      `let rstd = 1.0 / sqrt(sq / ${int(p.inner)}.0 + ${float(p.eps)});`,
      `for (var i = 0; i < ${int(p.inner)}; i++) {`,
      `  let v = (${x.atIndices(['gi', 'i'])} - mean) * rstd;`,
      `  ${y.store(y.offsetOf(['gi', 'i']), `v${sc ? ` * ${sc.at(pi)}` : ''}${bi ? ` + ${bi.at(pi)}` : ''}`)}`,
      '}',
    ];
    if (mo && ro) body.push(mo.store('gi', 'mean'), ro.store('gi', 'rstd'));
    return s.linear(p.rows, body);
  },
};
