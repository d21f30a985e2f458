/**
 * pool2d_f32: MaxPool / AveragePool over NCHW planes (1-D pools use H = 1), one thread per output;
 * kind 'avg' excludes pads from the divisor, 'avg_pad' counts window positions inside the padded
 * extent (count_include_pad).
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen } from './types.js';

export interface PoolParams extends BaseParams {
  planes: number; H: number; W: number; OH: number; OW: number;
  KH: number; KW: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  kind: 'max' | 'avg' | 'avg_pad';
  /** Padded extents (H + end pad, W + end pad). */
  HL: number; WL: number;
}

export const pool2dF32: KernelGen<PoolParams> = {
  id: 'pool2d_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.planes, p.H, p.W]);
    const n = p.planes * p.OH * p.OW;
    const y = s.tensor('y', [n]);
    const max = p.kind === 'max';
    return s.linear(n, [
      `let ow = gi % ${int(p.OW)};`,
      `let oh = (gi / ${int(p.OW)}) % ${int(p.OH)};`,
      `let c = gi / ${int(p.OW * p.OH)};`,
      `var acc = ${max ? 'f32_bits(0xff800000u)' : '0.0'};`,
      'var cnt = 0;',
      'var cntPad = 0;',
      `for (var kh = 0; kh < ${int(p.KH)}; kh++) {`,
      `  let ih = oh * ${int(p.sh)} - ${int(p.ph)} + kh * ${int(p.dh)};`,
      `  if (ih < ${int(-p.ph)} || ih >= ${int(p.HL)}) { continue; }`,
      `  for (var kw = 0; kw < ${int(p.KW)}; kw++) {`,
      `    let iw = ow * ${int(p.sw)} - ${int(p.pw)} + kw * ${int(p.dw)};`,
      `    if (iw < ${int(-p.pw)} || iw >= ${int(p.WL)}) { continue; }`,
      '    cntPad++;',
      `    if (ih < 0 || ih >= ${int(p.H)} || iw < 0 || iw >= ${int(p.W)}) { continue; }`,
      `    let v = ${x.atIndices(['c', 'ih', 'iw'])};`,
      max ? '    acc = max(acc, v);' : '    acc += v;',
      '    cnt++;',
      '  }',
      '}',
      p.kind === 'avg' ? 'acc = select(0.0, acc / f32(cnt), cnt > 0);' : p.kind === 'avg_pad' ? 'acc = acc / f32(cntPad);' : '',
      y.store('gi', 'acc'),
    ].filter((l) => l !== ''));
  },
};
