/**
 * Resize / Upsample on the last two axes as per-axis index tables, shared by the targets whose
 * kernels read a source-index table per output row and column (wasm resize_f32, webgpu
 * resize_f32).
 *
 * The attribute meaning (defaults per opset, where scales come from) is the op's
 * (compiler/ops/image.ts attrs); the coordinate transform and nearest rounding are the reference's
 * (resizeSourceCoord, resizeNearestIndex). What is left here is the target-only part: which
 * attribute combinations the kernels cover and the table layout.
 */
import { Node, ValueId } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/tensor.js';
import { unsupported } from '../../compiler/errors.js';
import { ResizeParams, resizeNearestIndex, resizeSourceCoord } from '../../compiler/ops/image.js';
import { ParamCtx, opAttrs } from './params.js';
import type { ConstCtx } from './ctx.js';

/** A Resize the 2-D table kernels can run: interpolation over the last two axes. */
export interface ResizeSpec {
  attrs: ResizeParams;
  mode: 'nearest' | 'linear';
  /** Product of the leading (unchanged) axes. */
  outer: number;
  IH: number;
  IW: number;
  OH: number;
  OW: number;
  /** Scale factors of the last two axes. */
  sH: number;
  sW: number;
}

/** A Resize / Upsample node's data input and output, their concrete shapes and its attributes. */
export interface ResizeNode {
  x: ValueId;
  y: ValueId;
  xs: number[];
  ys: number[];
  a: ResizeParams;
}

/**
 * Reads a Resize / Upsample node for lowering.
 * @param c lowering context (concrete shapes, opset)
 * @param n the Resize or Upsample node
 */
export function resizeNode(c: ConstCtx, n: Node): ResizeNode {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  return { x, y, xs: c.shape(x), ys: c.shape(y), a: opAttrs<ResizeParams>(n, c.opset) };
}

/**
 * True when the attributes and shapes of a Resize fit the table kernels (what resizeSpec accepts,
 * scales aside): nearest or linear interpolation of the last two axes only, without
 * tf_crop_and_resize, antialias, axes or an aspect-ratio policy.
 * @param r the node (resizeNode)
 */
export function resizeFitsTables(r: ResizeNode): boolean {
  const { a, xs, ys } = r;
  const rank = xs.length;
  if (rank < 2 || (a.mode !== 'nearest' && a.mode !== 'linear')) return false;
  if (a.coord === 'tf_crop_and_resize' || a.antialias || a.axes || a.policy !== 'stretch') return false;
  return xs.slice(0, rank - 2).every((d, i) => d === ys[i]);
}

/**
 * Checks that a Resize/Upsample node fits the table kernels and resolves its sizes and scales.
 * Throws 'unsupported' (naming `target`) for anything else.
 * @param c lowering context (opset, constant inputs)
 * @param n the Resize or Upsample node
 * @param xs concrete input shape
 * @param ys concrete output shape
 * @param target target name for error messages
 */
export function resizeSpec(c: ParamCtx, n: Node, xs: readonly number[], ys: readonly number[], target: string): ResizeSpec {
  const r = xs.length;
  if (r < 2) throw unsupported('Resize of rank < 2');
  for (let i = 0; i < r - 2; i++) if (xs[i] !== ys[i]) throw unsupported(`Resize of axes other than the last two is not supported on ${target}`);
  const a = opAttrs<ResizeParams>(n, c.opset);
  if (a.mode !== 'nearest' && a.mode !== 'linear') throw unsupported(`Resize mode "${a.mode}" is not supported on ${target}`);
  if (a.coord === 'tf_crop_and_resize') throw unsupported('Resize coordinate_transformation_mode "tf_crop_and_resize"');
  if (a.antialias) throw unsupported('Resize antialias');
  if (a.axes) throw unsupported('Resize with the axes attribute');
  if (a.policy !== 'stretch') throw unsupported('Resize keep_aspect_ratio_policy');
  let scales = a.scales;
  if (!scales && a.scalesIn >= 0) {
    const s = c.constNums(n.inputs[a.scalesIn], n.op === 'Upsample' ? 'scales' : 'Resize scales');
    if (s && s.length > 0) scales = s;
  }
  const [IH, IW, OH, OW] = [xs[r - 2]!, xs[r - 1]!, ys[r - 2]!, ys[r - 1]!];
  return {
    attrs: a, mode: a.mode, outer: numel(xs.slice(0, r - 2)), IH, IW, OH, OW,
    sH: scales ? scales[r - 2]! : OH / IH,
    sW: scales ? scales[r - 1]! : OW / IW,
  };
}

/**
 * Index table of one resized axis, as the resize kernels read it: nearest mode, one source index
 * per output position; linear mode, records of (i0: i32, i1: i32, frac: f32 bits), 3 words per
 * output position (little-endian, the layout of both the wasm and the webgpu kernel).
 * @param spec resolved Resize (resizeSpec)
 * @param inLen input length of the axis
 * @param outLen output length of the axis
 * @param scale scale factor of the axis
 */
export function resizeTable(spec: ResizeSpec, inLen: number, outLen: number, scale: number): Int32Array {
  const t = new Int32Array(spec.mode === 'nearest' ? outLen : outLen * 3);
  const f = new Float32Array(t.buffer);
  for (let o = 0; o < outLen; o++) {
    const xo = resizeSourceCoord(spec.attrs, o, inLen, outLen, scale);
    if (xo === null) throw unsupported(`Resize coordinate_transformation_mode "${spec.attrs.coord}"`);
    if (spec.mode === 'nearest') t[o] = resizeNearestIndex(spec.attrs, xo, inLen, scale);
    else {
      const xc = Math.min(Math.max(xo, 0), inLen - 1);
      const i0 = Math.floor(xc);
      t[o * 3] = i0;
      t[o * 3 + 1] = Math.min(i0 + 1, inLen - 1);
      f[o * 3 + 2] = xc - i0;
    }
  }
  return t;
}
