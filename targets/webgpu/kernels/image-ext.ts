/**
 * Kernels of the less common image / normalization ops, one thread per output element:
 *   lrn_f32          LRN across channels: y = x / (bias + alpha / size * sum x^2)^beta over channels
 *                    [c - floor((size-1)/2), c + ceil((size-1)/2)] (compiler/ops/norm.ts)
 *   col2im_f32       Col2Im as a gather: each image element sums the column entries whose block
 *                    tap lands on it; block_shape is read at run time (compiler/ops/conv.ts)
 *   affine_grid_f32  AffineGrid: grid = theta[n] @ [x_w, y_h, (z_d,) 1] over compile-time base
 *                    coordinates (compiler/ops/image.ts)
 *   grid_sample_nd_f32  GridSample on 1 to 3 spatial dims, nearest / linear / cubic
 *   roi_align_f32    RoiAlign (avg / max) (compiler/ops/detection.ts)
 */
import { ShaderBuilder, float, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface LrnParams extends BaseParams {
  N: number; C: number; S: number;
  size: number; alpha: number; beta: number; bias: number;
}

export const lrnF32: KernelGen<LrnParams> = {
  id: 'lrn_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.N, p.C, p.S], bufOf(p, 'x'));
    const n = p.N * p.C * p.S;
    const y = s.tensor('y', [n]);
    const lo = Math.floor((p.size - 1) / 2);
    const hi = Math.ceil((p.size - 1) / 2);
    return s.linear(n, [
      `let sp = gi % ${int(p.S)};`,
      `let c = (gi / ${int(p.S)}) % ${int(p.C)};`,
      `let b = gi / ${int(p.S * p.C)};`,
      'var sq = 0.0;',
      `for (var k = max(0, c - ${int(lo)}); k <= min(${int(p.C - 1)}, c + ${int(hi)}); k++) {`,
      `  let v = ${x.atIndices(['b', 'k', 'sp'])};`,
      '  sq += v * v;',
      '}',
      y.store('gi', `${x.at('gi')} / pow(${float(p.bias)} + ${float(p.alpha / p.size)} * sq, ${float(p.beta)})`),
    ]);
  },
};

export interface Col2ImParams extends BaseParams {
  N: number; C: number;
  /** Block elements prod(block_shape) (= input dim 1 / C) and block positions L. */
  K: number; L: number;
  /** Image dims (the output's spatial dims), strides, dilations, begin and end pads. */
  img: number[]; str: number[]; dil: number[]; pb: number[]; pe: number[];
}

export const col2imF32: KernelGen<Col2ImParams> = {
  id: 'col2im_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const nd = p.img.length;
    const x = s.tensor('x', [p.N, p.C * p.K, p.L], bufOf(p, 'x'));
    const blk = s.tensor('blk', [nd], bufOf(p, 'blk'));
    const P = p.img.reduce((a, b) => a * b, 1);
    const n = p.N * p.C * P;
    const y = s.tensor('y', [n]);
    const body: string[] = [
      `let pix = gi % ${int(P)};`,
      `let c = (gi / ${int(P)}) % ${int(p.C)};`,
      `let b = gi / ${int(P * p.C)};`,
    ];
    // position of the pixel, block dims (run time) and block counts per dim
    let rem = 'pix';
    for (let d = nd - 1; d >= 0; d--) {
      body.push(`let pos${d} = ${rem} % ${int(p.img[d]!)};`);
      rem = `(${rem} / ${int(p.img[d]!)})`;
    }
    for (let d = 0; d < nd; d++) {
      body.push(
        `let k${d} = ${blk.atInt(int(d))};`,
        `let nb${d} = (${int(p.img[d]! + p.pb[d]! + p.pe[d]!)} - (${int(p.dil[d]!)} * (k${d} - 1) + 1)) / ${int(p.str[d]!)} + 1;`,
      );
    }
    body.push(
      'var acc = 0.0;',
      `for (var q = 0; q < ${int(p.K)}; q++) {`,
      '  var qr = q;',
      '  var blkPos = 0;',
      '  var ok = true;',
    );
    // block offset q (row-major over the block dims) -> block position per dim
    for (let d = nd - 1; d >= 0; d--) {
      body.push(
        `  let q${d} = qr % k${d};`,
        `  qr = qr / k${d};`,
        `  let t${d} = pos${d} + ${int(p.pb[d]!)} - q${d} * ${int(p.dil[d]!)};`,
        `  let p${d} = t${d} / ${int(p.str[d]!)};`,
        `  if (t${d} < 0 || t${d} % ${int(p.str[d]!)} != 0 || p${d} >= nb${d}) { ok = false; }`,
      );
    }
    body.push(`  if (!ok) { continue; }`);
    const flat = Array.from({ length: nd }, (_, d) => d).reduce((acc, d) => (d === 0 ? 'p0' : `(${acc}) * nb${d} + p${d}`), '');
    body.push(
      `  acc += ${x.atIndices(['b', `c * ${int(p.K)} + q`, flat])};`,
      '}',
      y.store('gi', 'acc'),
    );
    return s.linear(n, body);
  },
};

export interface AffineGridParams extends BaseParams {
  N: number;
  /** Spatial dims ((D,) H, W) and the word offset of each axis's base coordinates in `base`. */
  sp: number[]; boff: number[];
}

export const affineGridF32: KernelGen<AffineGridParams> = {
  id: 'affine_grid_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const nd = p.sp.length;
    const th = s.tensor('th', [p.N, nd, nd + 1], bufOf(p, 'th'));
    const base = s.tensor('base', [p.sp.reduce((a, b) => a + b, 0)], bufOf(p, 'base'));
    const P = p.sp.reduce((a, b) => a * b, 1);
    const n = p.N * P * nd;
    const y = s.tensor('y', [n]);
    const body = [
      `let row = gi % ${int(nd)};`,
      `let pix = (gi / ${int(nd)}) % ${int(P)};`,
      `let b = gi / ${int(nd * P)};`,
    ];
    let rem = 'pix';
    for (let d = nd - 1; d >= 0; d--) {
      body.push(`let c${d} = ${base.at(`${int(p.boff[d]!)} + ${rem} % ${int(p.sp[d]!)}`)};`);
      rem = `(${rem} / ${int(p.sp[d]!)})`;
    }
    // homogeneous vector [x (last axis), y, (z,) 1]
    const hv = [...Array.from({ length: nd }, (_, k) => `c${nd - 1 - k}`), '1.0'];
    body.push(y.store('gi', hv.map((h, k) => `${th.atIndices(['b', 'row', int(k)])} * ${h}`).join(' + ')));
    return s.linear(n, body);
  },
};


export interface GridSampleNdParams extends BaseParams {
  N: number; C: number;
  /** Input spatial dims and output spatial dims (rank 1 to 3). */
  dims: number[]; out: number[];
  mode: 'nearest' | 'linear' | 'cubic';
  padding: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
}

/**
 * grid_sample_nd_f32: GridSample on 1 to 3 spatial dims (nearest with round-half-even, linear,
 * cubic with A = -0.75; zeros / border / reflection padding; cubic pads per tap), one thread per
 * output element: per-dim taps, then their tensor product (compiler/ops/image.ts gridSample).
 */
export const gridSampleNdF32: KernelGen<GridSampleNdParams> = {
  id: 'grid_sample_nd_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const r = p.dims.length;
    const S = p.dims.reduce((a, b) => a * b, 1);
    const P = p.out.reduce((a, b) => a * b, 1);
    const x = s.tensor('x', [p.N, p.C, S], bufOf(p, 'x'));
    const grid = s.tensor('grid', [p.N, P, r], bufOf(p, 'grid'));
    const n = p.N * p.C * P;
    const y = s.tensor('y', [n]);
    const nTap = p.mode === 'cubic' ? 4 : p.mode === 'linear' ? 2 : 1;
    const ac = p.alignCorners;
    s.fn({
      name: 'reflect_c',
      code: [
        'fn reflect_c(v: f32, lo: f32, hi: f32) -> f32 {',
        '  let rng = hi - lo;',
        '  if (rng <= 0.0) { return lo; }',
        '  if (v < lo) { let dx = lo - v; let k = trunc(dx / rng); let rr = dx - k * rng; return select(hi - rr, lo + rr, i32(k) % 2 == 0); }',
        '  if (v > hi) { let dx = v - hi; let k = trunc(dx / rng); let rr = dx - k * rng; return select(lo + rr, hi - rr, i32(k) % 2 == 0); }',
        '  return v;',
        '}',
      ].join('\n'),
    });
    // index after padding of integer position i on an axis of length len (-1: zero padding)
    const pixel = p.padding === 'zeros' ? 'select(-1, i, i >= 0 && i < len)'
      : p.padding === 'border' ? 'clamp(i, 0, len - 1)' : 'clamp(i32(trunc(reflect_c(f32(i), lo, hi))), 0, len - 1)';
    s.fn({ name: 'pixel', code: `fn pixel(i: i32, len: i32, lo: f32, hi: f32) -> i32 {\n  return ${pixel};\n}` });
    s.fn({
      name: 'cubic_w',
      code: [
        'fn cubic_w(d: f32) -> f32 {',
        '  let t = abs(d);',
        '  let A = -0.75;',
        '  if (t <= 1.0) { return ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0; }',
        '  if (t < 2.0) { return ((A * t - 5.0 * A) * t + 8.0 * A) * t - 4.0 * A; }',
        '  return 0.0;',
        '}',
      ].join('\n'),
    });
    const body: string[] = [
      `let pp = gi % ${int(P)};`,
      `let c = (gi / ${int(P)}) % ${int(p.C)};`,
      `let b = gi / ${int(P * p.C)};`,
      `var ti: array<i32, ${r * nTap}>;`,
      `var tw: array<f32, ${r * nTap}>;`,
    ];
    for (let d = 0; d < r; d++) {
      const len = p.dims[d]!;
      const lo = ac ? '0.0' : '-0.5';
      const hi = ac ? `${int(len - 1)}.0` : `${int(len)}.0 - 0.5`;
      body.push(
        '{',
        `  let v = ${grid.atIndices(['b', 'pp', int(r - 1 - d)])};`,
        `  let len = ${int(len)};`,
        `  let lo = ${lo};`,
        `  let hi = ${hi};`,
        `  var cc = ${ac ? `(v + 1.0) / 2.0 * ${int(len - 1)}.0` : `((v + 1.0) * ${int(len)}.0 - 1.0) / 2.0`};`,
      );
      if (p.mode === 'nearest') body.push('  cc = round(cc);');
      if (p.mode !== 'cubic' && p.padding === 'border') body.push(`  if (cc < lo || cc > hi) { cc = clamp(cc, 0.0, ${int(len - 1)}.0); }`);
      if (p.mode !== 'cubic' && p.padding === 'reflection') body.push('  if (cc < lo || cc > hi) { cc = reflect_c(cc, lo, hi); }');
      if (p.mode === 'nearest') {
        body.push(`  ti[${d}] = select(-1, pixel(i32(trunc(cc)), len, lo, hi), cc == cc && abs(cc) < 1e30);`, `  tw[${d}] = 1.0;`);
      } else {
        body.push('  let i0 = floor(cc);', '  let f = cc - i0;');
        for (let k = 0; k < nTap; k++) {
          const off = p.mode === 'linear' ? k : k - 1;
          const w = p.mode === 'linear' ? (k === 0 ? '1.0 - f' : 'f') : `cubic_w(f + f32(${int(1 - k)}))`;
          body.push(`  ti[${d * nTap + k}] = pixel(i32(i0) + ${int(off)}, len, lo, hi);`, `  tw[${d * nTap + k}] = ${w};`);
        }
      }
      body.push('}');
    }
    const sStr = p.dims.map((_, d) => p.dims.slice(d + 1).reduce((a, b) => a * b, 1));
    body.push(
      `var sstr = array<i32, ${r}>(${sStr.map(int).join(', ')});`,
      'var acc = 0.0;',
      `for (var t = 0; t < ${int(nTap ** r)}; t++) {`,
      '  var rem = t;',
      '  var so = 0;',
      '  var w = 1.0;',
      `  for (var d = ${int(r - 1)}; d >= 0; d--) {`,
      `    let k = rem % ${int(nTap)};`,
      `    rem = rem / ${int(nTap)};`,
      `    let i = ti[d * ${int(nTap)} + k];`,
      '    if (i < 0) { w = 0.0; break; }',
      '    so += i * sstr[d];',
      `    w *= tw[d * ${int(nTap)} + k];`,
      '  }',
      `  if (w != 0.0) { acc += w * ${x.atIndices(['b', 'c', 'so'])}; }`,
      '}',
      y.store('gi', 'acc'),
    );
    return s.linear(n, body);
  },
};

export interface RoiAlignParams extends BaseParams {
  N: number; C: number; H: number; W: number; R: number; outH: number; outW: number;
  halfPixel: boolean; max: boolean; samplingRatio: number; spatialScale: number;
}

/**
 * roi_align_f32: RoiAlign, one thread per output bin and channel: a grid of bilinear samples per
 * bin (sampling_ratio per side, default ceil(roi size / bins)), averaged or, in max mode, the
 * largest weighted corner term (compiler/ops/detection.ts). Batch indices are i32 words.
 */
export const roiAlignF32: KernelGen<RoiAlignParams> = {
  id: 'roi_align_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.N, p.C, p.H * p.W], bufOf(p, 'x'));
    const rois = s.tensor('rois', [p.R, 4], bufOf(p, 'rois'));
    const bi = s.tensor('bi', [p.R], bufOf(p, 'bi'));
    const n = p.R * p.C * p.outH * p.outW;
    const y = s.tensor('y', [n]);
    const off = p.halfPixel ? '0.5' : '0.0';
    const sc = float(p.spatialScale);
    const [H, W] = [p.H, p.W];
    s.fn({
      name: 'sample',
      code: [
        // one bilinear sample at (yy, xx) of plane `base` (zero beyond one pixel outside the map)
        'fn sample(base: i32, yy0: f32, xx0: f32) -> f32 {',
        `  if (yy0 < -1.0 || yy0 > ${int(H)}.0 || xx0 < -1.0 || xx0 > ${int(W)}.0) { return 0.0; }`,
        '  var yy = max(yy0, 0.0);',
        '  var xx = max(xx0, 0.0);',
        '  var y0 = i32(trunc(yy));',
        '  var x0 = i32(trunc(xx));',
        '  var y1 = y0 + 1;',
        '  var x1 = x0 + 1;',
        `  if (y0 >= ${int(H - 1)}) { y0 = ${int(H - 1)}; y1 = y0; yy = f32(y0); }`,
        `  if (x0 >= ${int(W - 1)}) { x0 = ${int(W - 1)}; x1 = x0; xx = f32(x0); }`,
        '  let ly = yy - f32(y0);',
        '  let lx = xx - f32(x0);',
        '  let hy = 1.0 - ly;',
        '  let hx = 1.0 - lx;',
        `  let v00 = hy * hx * ${x.at(`base + y0 * ${int(W)} + x0`)};`,
        `  let v01 = hy * lx * ${x.at(`base + y0 * ${int(W)} + x1`)};`,
        `  let v10 = ly * hx * ${x.at(`base + y1 * ${int(W)} + x0`)};`,
        `  let v11 = ly * lx * ${x.at(`base + y1 * ${int(W)} + x1`)};`,
        p.max ? '  return max(max(v00, v01), max(v10, v11));' : '  return v00 + v01 + v10 + v11;',
        '}',
      ].join('\n'),
    });
    const body = [
      `let pw = gi % ${int(p.outW)};`,
      `let ph = (gi / ${int(p.outW)}) % ${int(p.outH)};`,
      `let c = (gi / ${int(p.outW * p.outH)}) % ${int(p.C)};`,
      `let r = gi / ${int(p.outW * p.outH * p.C)};`,
      `let b = ${bi.atInt('r')};`,
      `let rx0 = ${rois.atIndices(['r', '0'])} * ${sc} - ${off};`,
      `let ry0 = ${rois.atIndices(['r', '1'])} * ${sc} - ${off};`,
      `var rw = ${rois.atIndices(['r', '2'])} * ${sc} - ${off} - rx0;`,
      `var rh = ${rois.atIndices(['r', '3'])} * ${sc} - ${off} - ry0;`,
      // malformed rois are forced to 1x1 (output_half_pixel)
      p.halfPixel ? '' : 'rw = max(rw, 1.0);',
      p.halfPixel ? '' : 'rh = max(rh, 1.0);',
      `let binH = rh / ${int(p.outH)}.0;`,
      `let binW = rw / ${int(p.outW)}.0;`,
      p.samplingRatio > 0 ? `let gh = ${int(p.samplingRatio)};` : `let gh = i32(ceil(rh / ${int(p.outH)}.0));`,
      p.samplingRatio > 0 ? `let gw = ${int(p.samplingRatio)};` : `let gw = i32(ceil(rw / ${int(p.outW)}.0));`,
      `let base = (b * ${int(p.C)} + c) * ${int(H * W)};`,
      'var acc = 0.0;',
      'var first = true;',
      'for (var iy = 0; gw > 0 && iy < gh; iy++) {',
      '  let yy = ry0 + f32(ph) * binH + (f32(iy) + 0.5) * binH / f32(gh);',
      '  for (var ix = 0; ix < gw; ix++) {',
      '    let xx = rx0 + f32(pw) * binW + (f32(ix) + 0.5) * binW / f32(gw);',
      '    let v = sample(base, yy, xx);',
      p.max ? '    acc = select(max(acc, v), v, first);' : '    acc += v;',
      '    first = false;',
      '  }',
      '}',
      p.max ? '' : 'acc = acc / f32(max(gh * gw, 1));',
      y.store('gi', 'acc'),
    ];
    return s.linear(n, body.filter((l) => l !== ''));
  },
};

/** Kernels of this file. */
export const IMAGE_EXT_KERNELS = [lrnF32, col2imF32, affineGridF32, gridSampleNdF32, roiAlignF32] as const;
