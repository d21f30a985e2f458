/** global_pool_f32: GlobalAveragePool / GlobalMaxPool, one thread per (n, c) plane. */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen } from './types.js';

export interface GlobalPoolParams extends BaseParams {
  planes: number;
  size: number;
  kind: 'avg' | 'max';
}

export const globalPoolF32: KernelGen<GlobalPoolParams> = {
  id: 'global_pool_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.planes, p.size]);
    const y = s.tensor('y', [p.planes]);
    const max = p.kind === 'max';
    return s.linear(p.planes, [
      `var acc = ${max ? 'f32_bits(0xff800000u)' : '0.0'};`,
      `for (var i = 0; i < ${int(p.size)}; i++) {`,
      `  let v = ${x.atIndices(['gi', 'i'])};`,
      max ? '  acc = max(acc, v);' : '  acc += v;',
      '}',
      y.store('gi', max ? 'acc' : `acc / ${int(p.size)}.0`),
    ]);
  },
};
