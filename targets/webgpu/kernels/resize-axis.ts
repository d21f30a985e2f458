/**
 * resize_axis_f32: one axis of a separable Resize / Upsample, [outer, inLen, inner] ->
 * [outer, outLen, inner], one thread per output element. The scale of the axis is a constant, an
 * entry of the runtime `scales` operand, or derived from the `sizes` operand (with the
 * keep_aspect_ratio_policy); the roi of tf_crop_and_resize is read from the `roi` operand. Source
 * coordinate, taps and weights follow the reference (compiler/ops/image.ts sourceCoord / coeffs /
 * axisPlan): nearest (nearest_mode), linear and cubic (cubic_coeff_a), antialiased linear / cubic
 * filters widened by 1/scale when downsampling, exclude_outside renormalization, edge-clamped taps
 * and the extrapolation value outside the crop. Coordinates are computed in f32.
 */
import { ShaderBuilder, float, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

/** Where the scale of the resized axis comes from. */
export type ResizeScaleSrc =
  | { kind: 'const'; v: number }
  | { kind: 'scales'; k: number }
  /** sizes[k] / inLen; with a policy, the min / max of sizes[j] / ins[j] over every listed axis. */
  | { kind: 'sizes'; k: number; ins: number[]; policy: 'stretch' | 'not_larger' | 'not_smaller' };

export interface ResizeAxisParams extends BaseParams {
  outer: number; inLen: number; outLen: number; inner: number;
  mode: 'nearest' | 'linear' | 'cubic';
  coord: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
  antialias: boolean;
  extrapolation: number;
  scale: ResizeScaleSrc;
  /** tf_crop_and_resize: roi start at roi[k], end at roi[n + k]. */
  roi: { k: number; n: number } | null;
}

export const resizeAxisF32: KernelGen<ResizeAxisParams> = {
  id: 'resize_axis_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.outer, p.inLen, p.inner], bufOf(p, 'x'));
    const n = p.outer * p.outLen * p.inner;
    const y = s.tensor('y', [n]);
    const sc = p.scale.kind === 'const' ? null : s.tensor('sc', [Math.max(1, p.scale.kind === 'sizes' ? p.scale.ins.length : p.scale.k + 1)], bufOf(p, 'sc'));
    const roi = p.roi ? s.tensor('roi', [2 * p.roi.n], bufOf(p, 'roi')) : null;
    const A = float(p.cubicA);
    s.fn({
      name: 'cubic_w',
      code: [
        'fn cubic_w(d: f32) -> f32 {',
        '  let t = abs(d);',
        `  if (t <= 1.0) { return ((${A} + 2.0) * t - (${A} + 3.0)) * t * t + 1.0; }`,
        `  if (t < 2.0) { return ((${A} * t - 5.0 * ${A}) * t + 8.0 * ${A}) * t - 4.0 * ${A}; }`,
        '  return 0.0;',
        '}',
      ].join('\n'),
    });
    const body: string[] = [
      `let ii = gi % ${int(p.inner)};`,
      `let ox = (gi / ${int(p.inner)}) % ${int(p.outLen)};`,
      `let oo = gi / ${int(p.inner * p.outLen)};`,
      `let inLen = ${int(p.inLen)}.0;`,
      `let xf = f32(ox);`,
    ];
    const src = p.scale;
    if (src.kind === 'const') body.push(`let scale = ${float(src.v)};`);
    else if (src.kind === 'scales') body.push(`let scale = ${sc!.at(int(src.k))};`);
    else {
      body.push(`var scale = f32(${sc!.atInt(int(src.k))}) / inLen;`);
      if (src.policy !== 'stretch') {
        src.ins.forEach((d, j) => body.push(`scale = ${src.policy === 'not_larger' ? 'min' : 'max'}(scale, f32(${sc!.atInt(int(j))}) / ${int(d)}.0);`));
      }
    }
    // the reference uses the unrounded output width
    body.push('let outW = scale * inLen;');
    let coord: string;
    switch (p.coord) {
      case 'half_pixel': coord = '(xf + 0.5) / scale - 0.5'; break;
      case 'half_pixel_symmetric': coord = `inLen / 2.0 * (1.0 - ${int(p.outLen)}.0 / outW) + (xf + 0.5) / scale - 0.5`; break;
      case 'pytorch_half_pixel': coord = 'select((xf + 0.5) / scale - 0.5, -0.5, outW == 1.0)'; break;
      case 'align_corners': coord = 'select(xf * (inLen - 1.0) / (outW - 1.0), 0.0, outW == 1.0)'; break;
      case 'asymmetric': coord = 'xf / scale'; break;
      case 'tf_half_pixel_for_nn': coord = '(xf + 0.5) / scale'; break;
      case 'tf_crop_and_resize': {
        const rs = roi ? roi.at(int(p.roi!.k)) : '0.0';
        const re = roi ? roi.at(int(p.roi!.n + p.roi!.k)) : '1.0';
        body.push(`let rs = ${rs};`, `let re = ${re};`);
        coord = 'select(xf * (re - rs) * (inLen - 1.0) / (outW - 1.0), (re - rs) * (inLen - 1.0) / 2.0, outW == 1.0) + rs * (inLen - 1.0)';
        break;
      }
      default: throw new Error(`resize_axis_f32: unknown coordinate mode ${p.coord}`);
    }
    body.push(`let xo = ${coord};`);
    if (p.coord === 'tf_crop_and_resize') body.push(`if (xo < 0.0 || xo > inLen - 1.0) { ${y.store('gi', float(p.extrapolation))} return; }`);
    body.push(
      'let isInt = xo == floor(xo);',
      'let base = i32(select(floor(xo), xo - 1.0, isInt));',
      'let ratio = select(xo - floor(xo), 1.0, isInt);',
    );
    // taps base + start + t, t in [0, cnt); weight w(t) before normalization
    let weight: string;
    if (p.mode === 'nearest') {
      let up: string;
      switch (p.nearest) {
        case 'round_prefer_floor': up = 'ratio > 0.5'; break;
        case 'round_prefer_ceil': up = 'ratio >= 0.5'; break;
        case 'floor': up = 'false'; break;
        case 'ceil': up = 'true'; break;
        case 'simple': up = 'scale < 1.0'; break;
        default: throw new Error(`resize_axis_f32: unknown nearest mode ${p.nearest}`);
      }
      body.push('let start = 0;', 'let cnt = 2;', `let up = ratio == 1.0 || ${up};`, 'let sw = 1.0;');
      weight = 'select(select(0.0, 1.0, t == 0), select(0.0, 1.0, t == 1), up)';
    } else if (p.mode === 'linear') {
      body.push(p.antialias ? 'let sw = min(scale, 1.0);' : 'let sw = 1.0;', 'let start = i32(floor(-1.0 / sw)) + 1;', 'let cnt = 2 - 2 * start;');
      weight = 'clamp(1.0 - abs((f32(start + t) - ratio) * sw), 0.0, 1.0)';
    } else {
      body.push(p.antialias ? 'let sw = min(scale, 1.0);' : 'let sw = 1.0;', `let start = ${p.antialias ? 'i32(floor(-2.0 / sw)) + 1' : '-1'};`, 'let cnt = 2 - 2 * start;');
      weight = 'cubic_w(sw * (f32(start + t) - ratio))';
    }
    const norm = p.antialias || p.excludeOutside;
    const inside = `(base + start + t >= 0 && base + start + t < ${int(p.inLen)})`;
    if (norm) {
      body.push(
        'var wsum = 0.0;',
        'for (var t = 0; t < cnt; t++) {',
        p.excludeOutside ? `  if (!${inside}) { continue; }` : '',
        `  wsum += ${weight};`,
        '}',
      );
    }
    body.push(
      'var acc = 0.0;',
      'for (var t = 0; t < cnt; t++) {',
      p.excludeOutside ? `  if (!${inside}) { continue; }` : '',
      `  let w = ${weight}${norm ? ' / wsum' : ''};`,
      '  if (w == 0.0) { continue; }',
      `  let ix = clamp(base + start + t, 0, ${int(p.inLen - 1)});`,
      `  acc += w * ${x.atIndices(['oo', 'ix', 'ii'])};`,
      '}',
      y.store('gi', 'acc'),
    );
    return s.linear(n, body.filter((l) => l !== ''));
  },
};
