/**
 * Wasm lowerings of the detection family (compiler/ops/detection.ts): RoiAlign on roi_align_f32 and
 * DeformConv on deform_conv_f32 (runtime-wasm/assembly/image.ts), both mirroring their reference
 * kernels (bilinear sampling in f64).
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { opAttrs } from '../../common/params.js';
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
  const [x, w, off, b, mask] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ws = c.shape(w!);
  const ys = c.shape(y);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw c.unsupported(`DeformConv on ${nd} spatial dims is not supported on wasm (1..3)`);
  const a = opAttrs<{ dilations?: number[]; group: number; kernelShape?: number[]; offsetGroup: number; pads?: number[]; strides?: number[] }>(n, c.opset);
  const k = ws.slice(2);
  const dil = a.dilations ?? new Array<number>(nd).fill(1);
  const str = a.strides ?? new Array<number>(nd).fill(1);
  const pads = a.pads ?? new Array<number>(2 * nd).fill(0);
  const [N, IC] = [xs[0]!, xs[1]!];
  const OC = ws[0]!;
  if (IC !== ws[1]! * a.group || OC % a.group !== 0 || IC % a.offsetGroup !== 0) throw c.unsupported('DeformConv channels do not match group / offset_group');
  const K = numel(k);
  const out = ys.slice(2);
  if (c.shape(off!).join(',') !== [N, a.offsetGroup * K * nd, ...out].join(',')) throw c.unsupported('DeformConv offset shape does not match the output');
  const present = (id: number | null | undefined): id is number => id !== null && id !== undefined && numel(c.shape(id)) > 0;
  if (present(mask) && c.shape(mask).join(',') !== [N, a.offsetGroup * K, ...out].join(',')) throw c.unsupported('DeformConv mask shape does not match the output');
  if (present(b) && numel(c.shape(b)) !== OC) throw c.unsupported('DeformConv bias size differs from the output channels');
  if (numel(ys) === 0) return;
  const lift = (v: number[], fill: number): number[] => [...new Array<number>(3 - nd).fill(fill), ...v];
  c.emit('deform_conv_f32', [c.addr(x!), c.addr(w!), c.addr(off!), present(b) ? c.addr(b) : NULL, present(mask) ? c.addr(mask) : NULL, c.addr(y),
    i32(N), i32(IC), i32(OC), i32(a.group), i32(a.offsetGroup), i32(nd), ...lift(xs.slice(2), 1).map(i32), ...lift(out, 1).map(i32),
    ...lift(k, 1).map(i32), ...lift(str, 1).map(i32), ...lift(dil, 1).map(i32), ...lift(pads.slice(0, nd), 0).map(i32)],
  { reads: [x!, w!, off!, present(b) ? b : null, present(mask) ? mask : null], writes: [y] });
}

/** Detection-family lowerings by qualified op name. */
export const DETECTION_LOWERINGS: Readonly<Record<string, LowerFn>> = { RoiAlign: lowerRoiAlign, DeformConv: lowerDeformConv };
