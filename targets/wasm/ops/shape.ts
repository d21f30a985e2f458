/**
 * Wasm lowerings of the shape / data-movement family (compiler/ops/shape.ts): strided copies (Transpose,
 * Concat, Split, Slice, Expand, Tile, DepthToSpace/SpaceToDepth), Pad, Gather. Reshape-like ops are
 * aliases handled by the driver (lower.ts).
 */
import { Node, ValueId } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { internal } from '../../../compiler/errors.js';
import {
  broadcastStrides, contiguous, depthSpaceView, gatherLayout, padSpec, partOffsets, sliceView, tileView, transposeView,
} from '../../common/params.js';
import { MAX_DIMS } from '../kernels.js';
import { LowerCtx, LowerFn, i32, copyView, moveSize } from '../ctx.js';

function lowerTranspose(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = transposeView(c, n, c.shape(x));
  const es = moveSize(c, n, x);
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, es);
}

function lowerConcat(c: LowerCtx, n: Node): void {
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  const ins = n.inputs.filter((x): x is ValueId => x !== null);
  const shapes = ins.map((x) => c.shape(x));
  const { offsets } = partOffsets(c, n, ys, shapes);
  const yst = contiguous(ys);
  ins.forEach((x, k) => {
    const xs = shapes[k]!;
    const es = moveSize(c, n, x);
    copyView(c, c.vaddr(y, offsets[k]!), yst, c.vaddr(x), contiguous(xs), xs, { reads: [x], writes: [y] }, es);
  });
}

function lowerSplit(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const xs = c.shape(x);
  const shapes = n.outputs.map((o) => c.shape(o));
  const { offsets } = partOffsets(c, n, xs, shapes);
  const xst = contiguous(xs);
  const es = moveSize(c, n, x);
  n.outputs.forEach((o, k) => {
    const os = shapes[k]!;
    copyView(c, c.vaddr(o), contiguous(os), c.vaddr(x, offsets[k]!), xst, os, { reads: [x], writes: [o] }, es);
  });
}

function lowerSlice(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = sliceView(c, n, c.shape(x));
  const ys = c.shape(y);
  if (v.dims.some((d, i) => d !== ys[i])) throw internal(`Slice: computed shape [${v.dims.join(',')}] differs from inferred [${ys.join(',')}]`);
  copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(x, v.offset), v.strides, ys, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

/** Pad mode codes of pad_f32 / pad_u8 (constant is a fill and a copy). */
const PAD_MODES = { reflect: 1, edge: 2, wrap: 3 } as const;

function lowerPad(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = c.shape(x);
  const ys = c.shape(y);
  const r = xs.length;
  const { mode, begin, end, value } = padSpec(c, n, r);
  const es = moveSize(c, n, x);
  const xdt = c.g.typeOf(x).dtype;
  if (mode === 'constant') {
    if (xdt === 'f32') {
      const v = new Float32Array([value]);
      c.emit('fill_f32', [c.addr(y), i32(numel(ys)), i32(new Int32Array(v.buffer)[0]!)], { writes: [y] });
    } else {
      // integer pad value: the ONNX value is already of the input's dtype
      c.emit(es === 1 ? 'fill_u8' : 'fill_f32', [c.vaddr(y), i32(numel(ys)), i32(value | 0)], { writes: [y], anyDtype: true });
    }
    // copy the overlap of the input window into the output
    const ins = xs.map((d, i) => Math.max(0, -begin[i]!));
    const outs = xs.map((d, i) => Math.max(0, begin[i]!));
    const dims = xs.map((d, i) => Math.max(0, Math.min(d - ins[i]!, ys[i]! - outs[i]!)));
    const xst = contiguous(xs);
    const yst = contiguous(ys);
    const xo = ins.reduce((a, b, i) => a + b * xst[i]!, 0);
    const yo = outs.reduce((a, b, i) => a + b * yst[i]!, 0);
    copyView(c, c.vaddr(y, yo), yst, c.vaddr(x, xo), xst, dims, { reads: [x, y], writes: [y] }, es);
    return;
  }
  const m = PAD_MODES[mode];
  if ([...begin, ...end].some((p) => p < 0)) throw c.unsupported(`Pad mode "${mode}" with negative pads`);
  if (r > MAX_DIMS) throw c.unsupported(`Pad of rank ${r}`);
  const lp = (v: number[], fill: number) => [...new Array<number>(MAX_DIMS - r).fill(fill), ...v];
  c.emit(es === 1 ? 'pad_u8' : 'pad_f32', [c.vaddr(x), c.vaddr(y), i32(m), ...lp(ys, 1).map(i32), ...lp(xs, 1).map(i32), ...lp(begin, 0).map(i32)],
    { reads: [x], writes: [y], anyDtype: true });
}

function lowerExpand(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const ys = c.shape(y);
  copyView(c, c.vaddr(y), contiguous(ys), c.vaddr(x), broadcastStrides(c.shape(x), ys), ys, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

function lowerTile(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = tileView(c.shape(x), c.constNums(n.inputs[1], 'Tile repeats')!);
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

function lowerGather(c: LowerCtx, n: Node): void {
  const [x, idx] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const it = c.consts.get(idx!);
  if (!it) throw c.unsupported('Gather with runtime indices is not supported on wasm (indices must be constant)');
  const { outer, axisLen, inner, indices } = gatherLayout(c, n, xs, it.toNumbers());
  const es = moveSize(c, n, x!);
  c.emit(es === 1 ? 'gather_u8' : 'gather_f32', [c.vaddr(x!), c.blob(indices), c.vaddr(y), i32(outer), i32(axisLen), i32(indices.length), i32(inner), i32(0)],
    { reads: [x!], writes: [y], anyDtype: true });
}

function lowerDepthSpace(c: LowerCtx, n: Node): void {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const v = depthSpaceView(c, n, c.shape(x));
  copyView(c, c.vaddr(y), contiguous(v.dims), c.vaddr(x, v.offset), v.strides, v.dims, { reads: [x], writes: [y] }, moveSize(c, n, x));
}

/** Shape-family lowerings by qualified op name. */
export const SHAPE_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Transpose: lowerTranspose, Concat: lowerConcat, Split: lowerSplit, Slice: lowerSlice, Pad: lowerPad,
  Expand: lowerExpand, Tile: lowerTile, Gather: lowerGather, DepthToSpace: lowerDepthSpace, SpaceToDepth: lowerDepthSpace,
};
