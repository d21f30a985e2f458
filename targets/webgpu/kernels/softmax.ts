/**
 * softmax_f32: Softmax / LogSoftmax over a middle axis of a tensor viewed as [outer, L, inner],
 * one thread per (outer, inner) lane: max, sum of exp(x - max), then the normalized outputs.
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen } from './types.js';

export interface SoftmaxParams extends BaseParams {
  outer: number;
  L: number;
  inner: number;
  log: boolean;
}

export const softmaxF32: KernelGen<SoftmaxParams> = {
  id: 'softmax_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.outer, p.L, p.inner]);
    const y = s.tensor('y', [p.outer, p.L, p.inner]);
    const at = (t: typeof x) => t.offsetOf(['o', 'l', 'i']);
    return s.linear(p.outer * p.inner, [
      `let o = gi / ${int(p.inner)};`,
      `let i = gi % ${int(p.inner)};`,
      'var m = f32_bits(0xff800000u);',
      `for (var l = 0; l < ${int(p.L)}; l++) { m = max(m, ${x.at(at(x))}); }`,
      'var sum = 0.0;',
      `for (var l = 0; l < ${int(p.L)}; l++) { sum += exp(${x.at(at(x))} - m); }`,
      'let ls = log(sum);',
      `for (var l = 0; l < ${int(p.L)}; l++) {`,
      `  let d = ${x.at(at(x))} - m;`,
      `  ${y.store(at(y), p.log ? 'd - ls' : 'exp(d) / sum')}`,
      '}',
    ]);
  },
};
