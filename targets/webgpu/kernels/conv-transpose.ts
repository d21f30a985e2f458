/**
 * conv_transpose2d_direct_f32: ConvTranspose (NCHW, weights [C, K/group, KH, KW]) as a gather,
 * one thread per output element: y[n, k, oh, ow] = b[k] + sum over c, kh, kw with
 * oh + ph - kh*dh = ih*sh (and likewise for w) of x[n, c, ih, iw] * w[c, k % Kg, kh, kw].
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { ConvParams } from './conv-params.js';
import { KernelGen, bufOf } from './types.js';

export const convTranspose2dDirectF32: KernelGen<ConvParams> = {
  id: 'conv_transpose2d_direct_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const Cg = p.C / p.group;
    const Kg = p.K / p.group;
    const x = s.tensor('x', [p.N, p.C, p.H, p.W]);
    const w = s.tensor('w', [p.C, Kg, p.KH, p.KW], bufOf(p, 'w'));
    const b = p.bias ? s.tensor('b', [p.K], bufOf(p, 'b')) : undefined;
    const n = p.N * p.K * p.OH * p.OW;
    const y = s.tensor('y', [n]);
    return s.linear(n, [
      `let ow = gi % ${int(p.OW)};`,
      `let oh = (gi / ${int(p.OW)}) % ${int(p.OH)};`,
      `let k = (gi / ${int(p.OW * p.OH)}) % ${int(p.K)};`,
      `let n = gi / ${int(p.OW * p.OH * p.K)};`,
      `let c0 = (k / ${int(Kg)}) * ${int(Cg)};`,
      `let kk = k % ${int(Kg)};`,
      `var acc = ${b ? b.at('k') : '0.0'};`,
      `for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
      `  let th = oh + ${int(p.ph)} - kh * ${int(p.dh)};`,
      `  if (th < 0 || th % ${int(p.sh)} != 0 || th / ${int(p.sh)} >= ${int(p.H)}) { continue; }`,
      `  let ih = th / ${int(p.sh)};`,
      `  for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
      `    let tw = ow + ${int(p.pw)} - kw * ${int(p.dw)};`,
      `    if (tw < 0 || tw % ${int(p.sw)} != 0 || tw / ${int(p.sw)} >= ${int(p.W)}) { continue; }`,
      `    let iw = tw / ${int(p.sw)};`,
      `    for (var c = 0; c < ${int(Cg)}; c++) {`,
      `      acc += ${x.atIndices(['n', 'c0 + c', 'ih', 'iw'])} * ${w.atIndices(['c0 + c', 'kk', 'kh', 'kw'])};`,
      '    }',
      '  }',
      '}',
      y.store('gi', 'acc'),
    ]);
  },
};
