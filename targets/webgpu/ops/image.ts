/**
 * WebGPU lowerings of the image family (compiler/ops/image.ts): Resize / Upsample on resize_f32
 * with compile-time coordinate tables when the scales are constants and only the last two axes
 * are resized by nearest / linear interpolation, otherwise one resize_axis_f32 pass per resized
 * axis (scales, sizes and roi read at run time; cubic, antialias, axes, keep_aspect_ratio_policy,
 * tf_crop_and_resize); GridSample on grid_sample_f32 (4-D, nearest / linear) or grid_sample_nd_f32; AffineGrid on affine_grid_f32.
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { ResizeParams } from '../../../compiler/ops/image.js';
import { gridSampleNode, opAttrs } from '../../common/params.js';
import { resizeFitsTables, resizeNode, resizeSpec, resizeTable } from '../../common/resize.js';
import { stridesOf } from '../wgsl/shader.js';
import type { ResizeScaleSrc } from '../kernels/resize-axis.js';
import { LowerCtx, LowerFn, Operand, copyView, qop, val } from '../ctx.js';

/** A present, non-empty optional input. */
function given(c: LowerCtx, id: ValueId | null | undefined): id is ValueId {
  return id != null && numel(c.shape(id)) > 0;
}

/** Resize / Upsample. */
function lowerResize(c: LowerCtx, n: Node): void {
  const rn = resizeNode(c, n);
  const { x, y, xs, ys, a } = rn;
  const scalesId = a.scalesIn >= 0 ? n.inputs[a.scalesIn] : undefined;
  const sizesId = a.sizesIn >= 0 ? n.inputs[a.sizesIn] : undefined;
  const useScales = given(c, scalesId);
  const constScales = a.scales !== undefined || (useScales ? c.isConst(scalesId) : given(c, sizesId) && c.isConst(sizesId));
  if (constScales && resizeFitsTables(rn)) {
    const rs = resizeSpec(c, n, xs, ys, 'webgpu');
    const th = resizeTable(rs, rs.IH, rs.OH, rs.sH);
    const tw = resizeTable(rs, rs.IW, rs.OW, rs.sW);
    if (numel(ys) === 0) return;
    c.emit('resize_f32', { outer: rs.outer, IH: rs.IH, IW: rs.IW, OH: rs.OH, OW: rs.OW, mode: rs.mode },
      { x: c.op(x), th: c.blob(th), tw: c.blob(tw), y: val(y) });
    return;
  }
  resizeGeneric(c, n, a, xs, ys, useScales ? scalesId! : undefined, useScales ? undefined : sizesId ?? undefined);
}

/**
 * Resize as separable passes (resize_axis_f32), one per listed axis in ascending order, through
 * temporaries; axes whose constant scale is 1 with an unchanged size are skipped (identity).
 */
function resizeGeneric(c: LowerCtx, n: Node, a: ResizeParams, xs: number[], ys: number[], scalesId: ValueId | undefined, sizesId: ValueId | undefined): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const r = xs.length;
  const axes = (a.axes ?? xs.map((_, i) => i)).map((v) => (v < 0 ? v + r : v));
  if (axes.some((v) => v < 0 || v >= r) || new Set(axes).size !== axes.length) throw c.unsupported(`Resize axes ${JSON.stringify(a.axes)} are invalid for rank ${r}`);
  if (!a.scales && scalesId === undefined && sizesId === undefined) throw c.unsupported('Resize needs scales or sizes');
  if (c.g.typeOf(x).dtype !== 'f32') throw c.unsupported(`Resize of ${c.g.typeOf(x).dtype} data is not supported on webgpu (f32 only)`);
  if (numel(ys) === 0) return;
  const sc: Operand | undefined = scalesId !== undefined ? c.op(scalesId) : sizesId !== undefined ? qop(c, sizesId) : undefined;
  const roiId = a.roiIn >= 0 ? n.inputs[a.roiIn] : undefined;
  const roi = a.coord === 'tf_crop_and_resize' && given(c, roiId) ? c.op(roiId) : undefined;
  const constScale = (k: number, ax: number): number | undefined => {
    if (a.scales) return a.scales[ax];
    if (scalesId !== undefined && c.isConst(scalesId)) return c.consts.get(scalesId)!.toNumbers()[k];
    if (sizesId !== undefined && c.isConst(sizesId) && a.policy === 'stretch') return c.consts.get(sizesId)!.toNumbers()[k]! / xs[ax]!;
    return undefined;
  };
  const passes = [...axes.keys()].sort((p, q) => axes[p]! - axes[q]!).filter((k) => {
    const ax = axes[k]!;
    const cs = constScale(k, ax);
    return !(cs === 1 && xs[ax] === ys[ax] && a.coord !== 'tf_crop_and_resize' && a.coord !== 'tf_half_pixel_for_nn');
  });
  let cur = xs.slice();
  let src: Operand = c.op(x);
  if (passes.length === 0) {
    copyView(c, val(y), numel(ys), stridesOf(ys), 0, src, numel(xs), stridesOf(xs), 0, xs);
    return;
  }
  passes.forEach((k, i) => {
    const ax = axes[k]!;
    const cs = constScale(k, ax);
    const scale: ResizeScaleSrc = cs !== undefined ? { kind: 'const', v: cs }
      : scalesId !== undefined ? { kind: 'scales', k }
        : { kind: 'sizes', k, ins: axes.map((d) => xs[d]!), policy: a.policy };
    const next = cur.slice();
    next[ax] = ys[ax]!;
    const dst = i === passes.length - 1 ? y : c.temp(numel(next) * 4);
    const ops: Record<string, Operand> = { x: src, y: val(dst) };
    if (scale.kind !== 'const') ops['sc'] = sc!;
    if (roi) ops['roi'] = roi;
    c.emit('resize_axis_f32', {
      outer: numel(cur.slice(0, ax)), inLen: cur[ax]!, outLen: ys[ax]!, inner: numel(cur.slice(ax + 1)),
      mode: a.mode, coord: a.coord, nearest: a.nearest, cubicA: a.cubicA, excludeOutside: a.excludeOutside, antialias: a.antialias,
      extrapolation: a.extrapolation, scale, roi: roi ? { k, n: axes.length } : null,
    }, ops);
    cur = next;
    src = val(dst);
  });
}

function lowerGridSample(c: LowerCtx, n: Node): void {
  const { x, grid, y, xs, ys, a } = gridSampleNode(c, n);
  if (xs.length < 3 || xs.length > 5) throw c.unsupported('GridSample is supported on 1 to 3 spatial dims on webgpu');
  if (c.g.typeOf(x).dtype !== 'f32') throw c.unsupported('GridSample is supported on f32 data only on webgpu');
  if (xs.length !== 4 || a.mode === 'cubic') {
    // 1-D / 3-D grids and cubic: per-dim taps and their tensor product
    if (numel(ys) === 0) return;
    c.emit('grid_sample_nd_f32', { N: xs[0]!, C: xs[1]!, dims: xs.slice(2), out: ys.slice(2), mode: a.mode, padding: a.padding, alignCorners: a.alignCorners },
      { x: c.op(x), grid: c.op(grid), y: val(y) });
    return;
  }
  c.emit('grid_sample_f32', {
    N: xs[0]!, C: xs[1]!, H: xs[2]!, W: xs[3]!, OH: ys[2]!, OW: ys[3]!, mode: a.mode === 'linear' ? 'bilinear' : 'nearest', padding: a.padding, alignCorners: a.alignCorners,
  },
    { x: c.op(x), grid: c.op(grid), y: val(y) });
}

// grid[n, (d,) h, w] = theta[n] @ [x_w, y_h, (z_d,) 1]; the output shape fixes the spatial dims
function lowerAffineGrid(c: LowerCtx, n: Node): void {
  const th = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const nd = ys.length - 2;
  if ((nd !== 2 && nd !== 3) || ys[ys.length - 1] !== nd) throw c.unsupported('AffineGrid output must be [N, (D,) H, W, 2|3]');
  if (c.g.typeOf(th).dtype !== 'f32') throw c.unsupported('AffineGrid is supported on f32 data only on webgpu');
  const alignCorners = opAttrs<{ alignCorners: boolean }>(n, c.opset).alignCorners;
  const sp = ys.slice(1, 1 + nd);
  if (numel(ys) === 0) return;
  // base coordinates in [-1, 1] per spatial axis (compiler/ops/image.ts baseCoords), float64 rounded to f32
  const base = new Float32Array(sp.reduce((a, b) => a + b, 0));
  const boff: number[] = [];
  let at = 0;
  for (const len of sp) {
    boff.push(at);
    for (let i = 0; i < len; i++) base[at + i] = alignCorners ? (len === 1 ? -1 : -1 + (i * 2) / (len - 1)) : -1 + 1 / len + (i * 2) / len;
    at += len;
  }
  c.emit('affine_grid_f32', { N: ys[0]!, sp, boff }, { th: c.op(th), base: c.blob(base), y: val(y) });
}

// Y[r, c, ph, pw] = mean (max) over the bin's bilinear samples of X[batch_indices[r], c]
function lowerRoiAlign(c: LowerCtx, n: Node): void {
  const [x, rois, bi] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported('RoiAlign needs a 4-D input');
  if (c.g.typeOf(x!).dtype !== 'f32') throw c.unsupported('RoiAlign is supported on f32 data only on webgpu');
  const a = opAttrs<{ halfPixel: boolean; mode: 'avg' | 'max'; outH: number; outW: number; samplingRatio: number; spatialScale: number }>(n, c.opset);
  if (numel(ys) === 0) return;
  c.emit('roi_align_f32', {
    N: xs[0]!, C: xs[1]!, H: xs[2]!, W: xs[3]!, R: ys[0]!, outH: a.outH, outW: a.outW, halfPixel: a.halfPixel, max: a.mode === 'max',
    samplingRatio: a.samplingRatio, spatialScale: a.spatialScale,
  }, { x: c.op(x!), rois: c.op(rois!), bi: qop(c, bi!), y: val(y) });
}

/** Image-family lowerings by qualified op name. */
export const IMAGE_LOWERINGS: Readonly<Record<string, LowerFn>> = { Resize: lowerResize, Upsample: lowerResize, GridSample: lowerGridSample };

/** Image-family lowerings of nodes with integer operands (Resize sizes, i64 held as i32). */
export const IMAGE_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = { Resize: lowerResize, AffineGrid: lowerAffineGrid, RoiAlign: lowerRoiAlign };
