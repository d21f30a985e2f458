/**
 * Wasm lowerings of the detection family (compiler/ops/detection.ts): RoiAlign on roi_align_f32 and
 * DeformConv on deform_conv_f32 (runtime-wasm/assembly/image.ts), both mirroring their reference
 * kernels (bilinear sampling in f64).
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { deformConvSpec, opAttrs } from '../../common/params.js';
import { LowerCtx, LowerFn, NULL, f32, i32 } from '../ctx.js';

// RoiAlign(X, rois, batch_indices) -> Y[r, c, ph, pw] = avg (or max) of the bin's bilinear samples
function lowerRoiAlign(c: LowerCtx, n: Node): void {
  const [x, rois, bi] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  if (xs.length !== 4) throw c.unsupported(`RoiAlign on a rank-${xs.length} input`);
  if (c.g.typeOf(bi!).dtype !== 'i64') throw c.unsupported(`RoiAlign batch_indices of dtype ${c.g.typeOf(bi!).dtype} (int64 only on wasm)`);
  const a = opAttrs<{ halfPixel: boolean; mode: 'avg' | 'max'; outH: number; outW: number; samplingRatio: number; spatialScale: number }>(n, c.opset);
  if (numel(ys) === 0) return;
  c.emit('roi_align_f32', [c.addr(x!), c.addr(rois!), c.vaddr(bi!), c.addr(y), ...xs.map(i32), i32(ys[0]!), i32(a.outH), i32(a.outW),
    i32(a.samplingRatio), f32(a.spatialScale), i32(a.mode === 'max' ? 1 : 0), i32(a.halfPixel ? 1 : 0)], { reads: [x!, rois!, bi!], writes: [y] });
}

// DeformConv(X, W, offset, B?, mask?): Y[n, oc, o] = B[oc] + sum_{ic in group, k} W[oc, ic, k] *
// mask[n, g, k, o] * bilinear(X[n, ic], o*stride - pad + k*dilation + offset[n, g, k, :, o])
function lowerDeformConv(c: LowerCtx, n: Node): void {
  const d = deformConvSpec(c, n, 'wasm');
  const { x, w, off, b, mask, y } = d;
  if (numel(c.shape(y)) === 0) return;
  const nd = d.dims.length;
  const lift = (v: number[], fill: number): number[] => [...new Array<number>(3 - nd).fill(fill), ...v];
  c.emit('deform_conv_f32', [c.addr(x), c.addr(w), c.addr(off), b !== undefined ? c.addr(b) : NULL, mask !== undefined ? c.addr(mask) : NULL, c.addr(y),
    i32(d.N), i32(d.IC), i32(d.OC), i32(d.group), i32(d.offsetGroup), i32(nd), ...lift(d.dims, 1).map(i32), ...lift(d.out, 1).map(i32),
    ...lift(d.k, 1).map(i32), ...lift(d.strides, 1).map(i32), ...lift(d.dilations, 1).map(i32), ...lift(d.pads.slice(0, nd), 0).map(i32)],
  { reads: [x, w, off, b ?? null, mask ?? null], writes: [y] });
}

/** Detection-family lowerings by qualified op name. */
export const DETECTION_LOWERINGS: Readonly<Record<string, LowerFn>> = { RoiAlign: lowerRoiAlign, DeformConv: lowerDeformConv };
