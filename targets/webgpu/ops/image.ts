/**
 * WebGPU lowerings of the image family (compiler/ops/image.ts): Resize / Upsample on resize_f32 with
 * compile-time coordinate tables, GridSample on grid_sample_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { gridSampleSpec } from '../../common/params.js';
import { resizeSpec, resizeTable } from '../../common/resize.js';
import { LowerCtx, LowerFn, val } from '../ctx.js';

/** Resize / Upsample on the last two axes (outer axes must keep their size). */
function lowerResize(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const r = resizeSpec(c, n, c.shape(x), ys, 'webgpu');
  const th = resizeTable(r, r.IH, r.OH, r.sH);
  const tw = resizeTable(r, r.IW, r.OW, r.sW);
  if (numel(ys) === 0) return;
  c.emit('resize_f32', { outer: r.outer, IH: r.IH, IW: r.IW, OH: r.OH, OW: r.OW, mode: r.mode },
    { x: c.op(x), th: c.blob(th), tw: c.blob(tw), y: val(y) });
}

function lowerGridSample(c: LowerCtx, n: Node): void {
  const [x, grid] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported('GridSample is supported for 4-D inputs only on webgpu');
  const gs = gridSampleSpec(c, n, 'webgpu');
  c.emit('grid_sample_f32', {
    N: xs[0]!, C: xs[1]!, H: xs[2]!, W: xs[3]!, OH: ys[2]!, OW: ys[3]!, mode: gs.mode === 'linear' ? 'bilinear' : 'nearest', padding: gs.padding, alignCorners: gs.alignCorners,
  },
    { x: c.op(x!), grid: c.op(grid!), y: val(y) });
}

/** Image-family lowerings by qualified op name. */
export const IMAGE_LOWERINGS: Readonly<Record<string, LowerFn>> = { Resize: lowerResize, Upsample: lowerResize, GridSample: lowerGridSample };
