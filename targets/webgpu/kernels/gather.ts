/**
 * gather_f32: Gather along one axis with constant indices (an i32 table in the weights buffer):
 * y[o, j, i] = x[o, idx[j] (negative: + axisLen), i].
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface GatherParams extends BaseParams {
  outer: number;
  axisLen: number;
  nIdx: number;
  inner: number;
}

export const gatherF32: KernelGen<GatherParams> = {
  id: 'gather_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.outer, p.axisLen, p.inner], bufOf(p, 'x'));
    const idx = s.tensor('idx', [p.nIdx], 'weights');
    const n = p.outer * p.nIdx * p.inner;
    const y = s.tensor('y', [n]);
    return s.linear(n, [
      `let i = gi % ${int(p.inner)};`,
      `let j = (gi / ${int(p.inner)}) % ${int(p.nIdx)};`,
      `let o = gi / ${int(p.inner * p.nIdx)};`,
      `var k = ${idx.atInt('j')};`,
      `if (k < 0) { k += ${int(p.axisLen)}; }`,
      y.store('gi', x.atIndices(['o', 'k', 'i'])),
    ]);
  },
};
