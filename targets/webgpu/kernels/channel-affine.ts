/** channel_affine_f32: y[n, c, i] = x[n, c, i] * scale[c] + shift[c] (inference BatchNormalization). */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen } from './types.js';

export interface ChannelAffineParams extends BaseParams {
  N: number;
  C: number;
  S: number;
}

export const channelAffineF32: KernelGen<ChannelAffineParams> = {
  id: 'channel_affine_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const n = p.N * p.C * p.S;
    const x = s.tensor('x', [n]);
    const sc = s.tensor('scale', [p.C], 'weights');
    const sh = s.tensor('shift', [p.C], 'weights');
    const y = s.tensor('y', [n]);
    return s.linear(n, [`let c = (gi / ${int(p.S)}) % ${int(p.C)};`, y.store('gi', `${x.at('gi')} * ${sc.at('c')} + ${sh.at('c')}`)]);
  },
};
