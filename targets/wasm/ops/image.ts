/**
 * Wasm lowerings of the image family (compiler/ops/image.ts): Resize/Upsample on resize_f32 with
 * compile-time coordinate tables, GridSample on grid_sample_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { gridSampleSpec } from '../../common/params.js';
import { LowerCtx, LowerFn, i32 } from '../ctx.js';
import { resizeSpec, resizeTable } from '../../common/resize.js';

/** Resize / Upsample on the last two axes (outer axes must keep their size). */
function lowerResize(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const sp = resizeSpec(c, n, c.shape(x), c.shape(y), 'wasm');
  c.emit('resize_f32', [c.addr(x), c.addr(y), i32(sp.outer), i32(sp.IH), i32(sp.IW), i32(sp.OH), i32(sp.OW),
    i32(sp.mode === 'nearest' ? 0 : 1), c.blob(resizeTable(sp, sp.IH, sp.OH, sp.sH)), c.blob(resizeTable(sp, sp.IW, sp.OW, sp.sW))],
  { reads: [x], writes: [y] });
}

/** GridSample mode and padding codes of grid_sample_f32. */
const GRID_MODES = { linear: 0, nearest: 1 } as const;
const GRID_PADDING = { zeros: 0, border: 1, reflection: 2 } as const;

function lowerGridSample(c: LowerCtx, n: Node): void {
  const [x, grid] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported('GridSample is supported for 4-D inputs only on wasm');
  const gs = gridSampleSpec(c, n, 'wasm');
  c.emit('grid_sample_f32', [c.addr(x!), c.addr(grid!), c.addr(y), i32(xs[0]!), i32(xs[1]!), i32(xs[2]!), i32(xs[3]!),
    i32(ys[2]!), i32(ys[3]!), i32(GRID_MODES[gs.mode]), i32(GRID_PADDING[gs.padding]), i32(gs.alignCorners ? 1 : 0)], { reads: [x!, grid!], writes: [y] });
}

/** Image-family lowerings by qualified op name. */
export const IMAGE_LOWERINGS: Readonly<Record<string, LowerFn>> = { Resize: lowerResize, Upsample: lowerResize, GridSample: lowerGridSample };
