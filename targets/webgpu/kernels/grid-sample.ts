/**
 * grid_sample_f32: 4-D GridSample (bilinear or nearest; zeros, border or reflection padding;
 * align_corners), one thread per output element.
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface GridSampleParams extends BaseParams {
  N: number; C: number; H: number; W: number; OH: number; OW: number;
  mode: 'bilinear' | 'nearest';
  padding: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

export const gridSampleF32: KernelGen<GridSampleParams> = {
  id: 'grid_sample_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.N, p.C, p.H, p.W], bufOf(p, 'x'));
    const grid = s.tensor('grid', [p.N, p.OH, p.OW, 2], bufOf(p, 'grid'));
    const n = p.N * p.C * p.OH * p.OW;
    const y = s.tensor('y', [n]);
    const ac = p.alignCorners;
    const denorm = (v: string, len: number) => (ac ? `(${v} + 1.0) / 2.0 * ${int(len - 1)}.0` : `((${v} + 1.0) * ${int(len)}.0 - 1.0) / 2.0`);
    s.fn({
      name: 'reflect_coord',
      code: [
        'fn reflect_coord(v: f32, lo: f32, hi: f32) -> f32 {',
        '  let rng = hi - lo;',
        '  if (rng <= 0.0) { return 0.0; }',
        '  if (v < lo) { let dx = lo - v; let nf = floor(dx / rng); let r = dx - nf * rng; return select(hi - r, lo + r, nf % 2.0 == 0.0); }',
        '  if (v > hi) { let dx = v - hi; let nf = floor(dx / rng); let r = dx - nf * rng; return select(lo + r, hi - r, nf % 2.0 == 0.0); }',
        '  return v;',
        '}',
      ].join('\n'),
    });
    const clampIdx = p.padding !== 'zeros';
    s.fn({
      name: 'pixel',
      code: [
        'fn pixel(base: i32, yy: i32, xx: i32) -> f32 {',
        `  if (yy < 0 || yy >= ${int(p.H)} || xx < 0 || xx >= ${int(p.W)}) {`,
        clampIdx ? `    return ${x.at(`base + clamp(yy, 0, ${int(p.H - 1)}) * ${int(p.W)} + clamp(xx, 0, ${int(p.W - 1)})`)};` : '    return 0.0;',
        '  }',
        `  return ${x.at(`base + yy * ${int(p.W)} + xx`)};`,
        '}',
      ].join('\n'),
    });
    const lo = ac ? '0.0' : '-0.5';
    const hi = (len: number) => (ac ? `${int(len - 1)}.0` : `${int(len)}.0 - 0.5`);
    const body = [
      `let ow = gi % ${int(p.OW)};`,
      `let oh = (gi / ${int(p.OW)}) % ${int(p.OH)};`,
      `let c = (gi / ${int(p.OW * p.OH)}) % ${int(p.C)};`,
      `let n = gi / ${int(p.OW * p.OH * p.C)};`,
      `let gx = ${grid.atIndices(['n', 'oh', 'ow', '0'])};`,
      `let gy = ${grid.atIndices(['n', 'oh', 'ow', '1'])};`,
      `var ix = ${denorm('gx', p.W)};`,
      `var iy = ${denorm('gy', p.H)};`,
    ];
    if (p.padding === 'border') body.push(`ix = clamp(ix, 0.0, ${int(p.W - 1)}.0);`, `iy = clamp(iy, 0.0, ${int(p.H - 1)}.0);`);
    if (p.padding === 'reflection') body.push(`ix = reflect_coord(ix, ${lo}, ${hi(p.W)});`, `iy = reflect_coord(iy, ${lo}, ${hi(p.H)});`);
    body.push(`let base = (n * ${int(p.C)} + c) * ${int(p.H * p.W)};`);
    if (p.mode === 'nearest') body.push(y.store('gi', 'pixel(base, i32(round(iy)), i32(round(ix)))'));
    else {
      body.push(
        'let x0 = floor(ix);', 'let y0 = floor(iy);', 'let wx = ix - x0;', 'let wy = iy - y0;', 'let xi = i32(x0);', 'let yi = i32(y0);',
        y.store('gi', 'pixel(base, yi, xi) * (1.0 - wx) * (1.0 - wy) + pixel(base, yi, xi + 1) * wx * (1.0 - wy) + ' +
          'pixel(base, yi + 1, xi) * (1.0 - wx) * wy + pixel(base, yi + 1, xi + 1) * wx * wy'),
      );
    }
    return s.linear(n, body);
  },
};
