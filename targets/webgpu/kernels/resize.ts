/**
 * resize_f32: Resize / Upsample of the last two axes through per-axis coordinate tables computed
 * at compile time (weights buffer): nearest -> one source index per output coordinate; linear ->
 * (i0, i1, fraction) triples. One thread per output element.
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen } from './types.js';

export interface ResizeParams extends BaseParams {
  outer: number;
  IH: number; IW: number; OH: number; OW: number;
  mode: 'nearest' | 'linear';
}

export const resizeF32: KernelGen<ResizeParams> = {
  id: 'resize_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const lin = p.mode === 'linear';
    const x = s.tensor('x', [p.outer, p.IH, p.IW]);
    const th = s.tensor('th', [p.OH * (lin ? 3 : 1)], 'weights');
    const tw = s.tensor('tw', [p.OW * (lin ? 3 : 1)], 'weights');
    const n = p.outer * p.OH * p.OW;
    const y = s.tensor('y', [n]);
    const head = [
      `let ow = gi % ${int(p.OW)};`,
      `let oh = (gi / ${int(p.OW)}) % ${int(p.OH)};`,
      `let c = gi / ${int(p.OW * p.OH)};`,
    ];
    if (!lin) return s.linear(n, [...head, y.store('gi', x.atIndices(['c', th.atInt('oh'), tw.atInt('ow')]))]);
    return s.linear(n, [
      ...head,
      `let h0 = ${th.atInt('oh * 3')};`, `let h1 = ${th.atInt('oh * 3 + 1')};`, `let fh = ${th.at('oh * 3 + 2')};`,
      `let w0 = ${tw.atInt('ow * 3')};`, `let w1 = ${tw.atInt('ow * 3 + 1')};`, `let fw = ${tw.at('ow * 3 + 2')};`,
      `let top = ${x.atIndices(['c', 'h0', 'w0'])} * (1.0 - fw) + ${x.atIndices(['c', 'h0', 'w1'])} * fw;`,
      `let bot = ${x.atIndices(['c', 'h1', 'w0'])} * (1.0 - fw) + ${x.atIndices(['c', 'h1', 'w1'])} * fw;`,
      y.store('gi', 'top * (1.0 - fh) + bot * fh'),
    ]);
  },
};
