/**
 * Wasm lowerings of the image family (compiler/ops/image.ts): Resize/Upsample on resize_f32 with
 * compile-time coordinate tables (nearest/linear over the last two axes), or, for the rest (cubic,
 * antialias, axes, tf_crop_and_resize, any resized axes), on resize_axis_f32 steps that apply the
 * reference's per-axis tap tables one axis at a time; GridSample on grid_sample_f32 (4-D
 * linear/nearest) or grid_sample_nd_f32 (1..3 spatial dims, cubic); AffineGrid on affine_grid_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { Tensor, numel } from '../../../compiler/ir/tensor.js';
import { resizeAxisPlans } from '../../../compiler/ops/image.js';
import { contiguous, gridSampleNode, opAttrs } from '../../common/params.js';
import { LowerCtx, LowerFn, Word, copyView, f32, i32 } from '../ctx.js';
import { resizeFitsTables, resizeNode, resizeSpec, resizeTable } from '../../common/resize.js';

/** A constant input of a Resize, or undefined when absent; 'unsupported' when a runtime value. */
function resizeInput(c: LowerCtx, n: Node, at: number, what: string): Tensor | undefined {
  const id = at >= 0 ? n.inputs[at] : undefined;
  if (id === null || id === undefined) return undefined;
  return c.constOf(id, `Resize ${what}`);
}

// Resize(X) = apply(plan_k, ... apply(plan_1, X)): each non-identity axis plan gives
// Y[o, j, i] = sum_t w[j, t] X[o, idx[j, t], i] (or the extrapolation value), as the reference.
function lowerResize(c: LowerCtx, n: Node): void {
  const rn = resizeNode(c, n);
  const { x, y, xs, ys, a } = rn;
  if (resizeFitsTables(rn)) {
    const sp = resizeSpec(c, n, xs, ys, 'wasm');
    c.emit('resize_f32', [c.addr(x), c.addr(y), i32(sp.outer), i32(sp.IH), i32(sp.IW), i32(sp.OH), i32(sp.OW),
      i32(sp.mode === 'nearest' ? 0 : 1), c.blob(resizeTable(sp, sp.IH, sp.OH, sp.sH)), c.blob(resizeTable(sp, sp.IW, sp.OW, sp.sW))],
    { reads: [x], writes: [y] });
    return;
  }
  const scales = a.scales ? Tensor.from('f32', [a.scales.length], a.scales) : resizeInput(c, n, a.scalesIn, 'scales');
  const sizes = resizeInput(c, n, a.sizesIn, 'sizes');
  const roi = a.coord === 'tf_crop_and_resize' ? resizeInput(c, n, a.roiIn, 'roi') : undefined;
  const { outShape, plans } = resizeAxisPlans(xs, a, scales, sizes, roi);
  if (outShape.join(',') !== ys.join(',')) throw c.unsupported(`Resize output shape [${ys.join(',')}] differs from the resolved [${outShape.join(',')}]`);
  c.requireF32(x);
  if (numel(ys) === 0) return;
  if (plans.length === 0) {
    copyView(c, c.addr(y), contiguous(ys), c.addr(x), contiguous(xs), ys, { reads: [x], writes: [y] });
    return;
  }
  const shape = [...xs];
  let src: Word = c.addr(x);
  let srcId: number = x;
  plans.forEach((p, k) => {
    const outer = numel(shape.slice(0, p.axis));
    const inner = numel(shape.slice(p.axis + 1));
    shape[p.axis] = p.outLen;
    const last = k === plans.length - 1;
    const dstId = last ? y : c.temp(numel(shape) * 4);
    const dst: Word = last ? c.addr(y) : { k: 'buf', id: dstId, off: 0 };
    const idx = new Int32Array(Math.max(p.outLen * p.n, 1));
    const w = new Float32Array(Math.max(p.outLen * p.n, 1));
    idx.set(p.idx.subarray(0, p.outLen * p.n));
    w.set(p.w.subarray(0, p.outLen * p.n));
    if (p.n > 0) for (let j = 0; j < p.outLen; j++) if (p.extrap[j]) idx[j * p.n] = -1;
    c.emit('resize_axis_f32', [src, dst, i32(outer), i32(p.inLen), i32(p.outLen), i32(inner), i32(p.n), c.blob(idx), c.blob(w), f32(a.extrapolation)],
      { reads: [srcId], writes: [dstId] });
    src = dst;
    srcId = dstId;
  });
}

/** GridSample mode and padding codes of grid_sample_f32 / grid_sample_nd_f32. */
const GRID_MODES = { linear: 0, nearest: 1, cubic: 2 } as const;
const GRID_PADDING = { zeros: 0, border: 1, reflection: 2 } as const;

function lowerGridSample(c: LowerCtx, n: Node): void {
  const { x, grid, y, xs, ys, a } = gridSampleNode(c, n);
  if (xs.length === 4 && a.mode !== 'cubic') {
    c.emit('grid_sample_f32', [c.addr(x), c.addr(grid), c.addr(y), i32(xs[0]!), i32(xs[1]!), i32(xs[2]!), i32(xs[3]!),
      i32(ys[2]!), i32(ys[3]!), i32(GRID_MODES[a.mode]), i32(GRID_PADDING[a.padding]), i32(a.alignCorners ? 1 : 0)], { reads: [x, grid], writes: [y] });
    return;
  }
  // general kernel: 1..3 spatial dims, cubic (grid_sample_nd_f32 mirrors the reference gridSample)
  const r = xs.length - 2;
  if (r < 1 || r > 3) throw c.unsupported(`GridSample on ${r} spatial dims is not supported on wasm (1..3)`);
  if (numel(ys) === 0) return;
  const dims = [...xs.slice(2), 1, 1, 1].slice(0, 3);
  const out = [...ys.slice(2), 1, 1, 1].slice(0, 3);
  c.emit('grid_sample_nd_f32', [c.addr(x), c.addr(grid), c.addr(y), i32(xs[0]!), i32(xs[1]!), i32(r), ...dims.map(i32), ...out.map(i32),
    i32(GRID_MODES[a.mode]), i32(GRID_PADDING[a.padding]), i32(a.alignCorners ? 1 : 0)], { reads: [x, grid], writes: [y] });
}

// AffineGrid(theta, size): grid[n, (d,) h, w] = theta[n] @ [x_w, y_h, (z_d,) 1], base coordinates
// evenly spaced in [-1, 1] (align_corners: on the end points; otherwise pixel centers)
function lowerAffineGrid(c: LowerCtx, n: Node): void {
  const th = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ts = c.shape(th);
  const nd = ys.length - 2;
  if (nd !== 2 && nd !== 3) throw c.unsupported(`AffineGrid with ${nd} spatial dims`);
  if (ys[ys.length - 1] !== nd || ts.join(',') !== [ys[0]!, nd, nd + 1].join(',')) {
    throw c.unsupported(`AffineGrid theta [${ts.join(',')}] does not match the grid [${ys.join(',')}]`);
  }
  if (numel(ys) === 0) return;
  const sp = nd === 2 ? [1, ys[1]!, ys[2]!] : ys.slice(1, 4);
  const a = opAttrs<{ alignCorners: boolean }>(n, c.opset);
  c.emit('affine_grid_f32', [c.addr(th), c.addr(y), i32(ys[0]!), i32(nd), ...sp.map(i32), i32(a.alignCorners ? 1 : 0)], { reads: [th], writes: [y] });
}

/** Image-family lowerings by qualified op name. */
export const IMAGE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Resize: lowerResize, Upsample: lowerResize, GridSample: lowerGridSample, AffineGrid: lowerAffineGrid,
};
