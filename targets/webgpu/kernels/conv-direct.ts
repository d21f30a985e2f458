/**
 * conv2d_direct_f32: one thread per output element, looping over the C/group x KH x KW window
 * (depthwise and other small-reduction convolutions). Bias and the fused activation are applied
 * in the epilogue.
 */
import { ShaderBuilder, actFn, int } from '../wgsl/shader.js';
import { ConvParams } from './conv-params.js';
import { KernelGen, bufOf } from './types.js';

export const conv2dDirectF32: KernelGen<ConvParams> = {
  id: 'conv2d_direct_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const Cg = p.C / p.group;
    const Kg = p.K / p.group;
    const x = s.tensor('x', [p.N, p.C, p.H, p.W]);
    const w = s.tensor('w', [p.K, Cg, p.KH, p.KW], bufOf(p, 'w'));
    const b = p.bias ? s.tensor('b', [p.K], bufOf(p, 'b')) : undefined;
    const n = p.N * p.K * p.OH * p.OW;
    const y = s.tensor('y', [n]);
    const act = actFn(s, p.act ?? undefined);
    return s.linear(n, [
      `let ow = gi % ${int(p.OW)};`,
      `let oh = (gi / ${int(p.OW)}) % ${int(p.OH)};`,
      `let k = (gi / ${int(p.OW * p.OH)}) % ${int(p.K)};`,
      `let n = gi / ${int(p.OW * p.OH * p.K)};`,
      `let c0 = (k / ${int(Kg)}) * ${int(Cg)};`,
      `var acc = ${b ? b.at('k') : '0.0'};`,
      `for (var c = 0; c < ${int(Cg)}; c++) {`,
      `  for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
      `    let ih = oh * ${int(p.sh)} - ${int(p.ph)} + kh * ${int(p.dh)};`,
      `    if (ih < 0 || ih >= ${int(p.H)}) { continue; }`,
      `    for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
      `      let iw = ow * ${int(p.sw)} - ${int(p.pw)} + kw * ${int(p.dw)};`,
      `      if (iw < 0 || iw >= ${int(p.W)}) { continue; }`,
      `      acc += ${x.atIndices(['n', 'c0 + c', 'ih', 'iw'])} * ${w.atIndices(['k', 'c', 'kh', 'kw'])};`,
      '    }',
      '  }',
      '}',
      y.store('gi', `${act}(acc)`),
    ]);
  },
};
