/**
 * WebGPU lowerings of the convolution family (compiler/ops/conv.ts): Conv / edgec.FusedConv on the
 * implicit-GEMM tiled kernel (or the direct kernel for depthwise-like convolutions), ConvTranspose
 * on the direct kernel (1-D and 2-D), Col2Im on col2im_f32, DeformConv (compiler/ops/detection.ts)
 * on deform_conv_f32.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { ConvTransposeParams, convTransposeBeginPads, windowParams } from '../../../compiler/ops/conv.js';
import { conv2dGeom, deformConvSpec, opAttrs } from '../../common/params.js';
import { ConvParams } from '../kernels/conv-params.js';
import { LowerCtx, LowerFn, Operand, fusedAct, qop, val } from '../ctx.js';

function lowerConv(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const { xs, ws, geo, group } = conv2dGeom(c, n, 'webgpu');
  const params: ConvParams = {
    N: xs[0]!, C: xs[1]!, H: geo.I[1], W: geo.I[2], K: ws[0]!, OH: geo.O[1], OW: geo.O[2], KH: geo.K[1], KW: geo.K[2],
    sh: geo.S[1], sw: geo.S[2], dh: geo.D[1], dw: geo.D[2], ph: geo.P[1], pw: geo.P[2], group, bias: bId != null, act: fusedAct(n),
  };
  const ops: Record<string, Operand> = { x: c.op(xId!), w: c.op(wId!), y: val(y) };
  if (bId != null) ops['b'] = c.op(bId);
  // depthwise-like convs (few output channels per group) would leave most of a 16-row tile idle
  const tiled = params.K / group >= 4;
  c.emit(tiled ? 'conv2d_igemm_tiled_f32' : 'conv2d_direct_f32', params as unknown as Record<string, unknown>, ops);
}

function lowerConvTranspose(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(xId!);
  const ws = c.shape(wId!);
  const ys = c.shape(y);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D ConvTranspose is not supported on webgpu (1-D and 2-D only)`);
  const a = opAttrs<ConvTransposeParams>(n, c.opset);
  const group = a.group;
  const p = windowParams(a, nd, ws.slice(2), n.op);
  const pb = convTransposeBeginPads(xs.slice(2), p, a);
  const lift = (v: number[], fill: number) => (nd === 1 ? [fill, v[0]!] : v);
  const [H, W] = lift(xs.slice(2), 1);
  const [OH, OW] = lift(ys.slice(2), 1);
  const [KH, KW] = lift(p.kernel, 1);
  const [sh, sw] = lift(p.strides, 1);
  const [dh, dw] = lift(p.dilations, 1);
  const [ph, pw] = lift(pb, 0);
  const params: ConvParams = {
    N: xs[0]!, C: xs[1]!, H: H!, W: W!, K: ys[1]!, OH: OH!, OW: OW!, KH: KH!, KW: KW!, sh: sh!, sw: sw!, dh: dh!, dw: dw!, ph: ph!, pw: pw!,
    group, bias: bId != null, act: null,
  };
  const ops: Record<string, Operand> = { x: c.op(xId!), w: c.op(wId!), y: val(y) };
  if (bId != null) ops['b'] = c.op(bId);
  if (numel(ys) === 0) return;
  c.emit('conv_transpose2d_direct_f32', params as unknown as Record<string, unknown>, ops);
}

// Y[n, c, p*s - pad + q*d] += X[n, c*prod(block) + q, p]: one thread per image element; the output
// shape fixes the image dims and prod(block) = X dim 1 / C; block_shape itself is read at run time
function lowerCol2Im(c: LowerCtx, n: Node): void {
  const [x, , blk] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(x!);
  const ys = c.shape(y);
  const nd = ys.length - 2;
  const a = opAttrs<{ dilations?: number[]; pads?: number[]; strides?: number[] }>(n, c.opset);
  const [N, C] = [ys[0]!, ys[1]!];
  if (xs.length !== 3 || nd < 1 || C === 0 || xs[1]! % C !== 0) throw c.unsupported('Col2Im: input must be [N, C*prod(block_shape), L]');
  if (c.g.typeOf(x!).dtype !== 'f32') throw c.unsupported('Col2Im is supported on f32 data only on webgpu');
  const pads = a.pads ?? new Array<number>(2 * nd).fill(0);
  if (numel(ys) === 0) return;
  c.emit('col2im_f32', {
    N, C, K: xs[1]! / C, L: xs[2]!, img: ys.slice(2), str: a.strides ?? new Array<number>(nd).fill(1), dil: a.dilations ?? new Array<number>(nd).fill(1),
    pb: pads.slice(0, nd), pe: pads.slice(nd),
  }, { x: c.op(x!), blk: qop(c, blk!), y: val(y) });
}

// Y[n,oc,o] = B[oc] + sum_{ic in group, k} W[oc,ic,k] * mask[n,g,k,o] * sample(X[n,ic], o*s - p + k*d + offset[n,g,k,:,o])
function lowerDeformConv(c: LowerCtx, n: Node): void {
  const d = deformConvSpec(c, n, 'webgpu');
  if (numel(c.shape(d.y)) === 0) return;
  const ops: Record<string, Operand> = { x: c.op(d.x), w: c.op(d.w), offs: c.op(d.off), y: val(d.y) };
  if (d.b !== undefined) ops['b'] = c.op(d.b);
  if (d.mask !== undefined) ops['m'] = c.op(d.mask);
  c.emit('deform_conv_f32', {
    N: d.N, IC: d.IC, OC: d.OC, dims: d.dims, out: d.out, k: d.k, str: d.strides, dil: d.dilations, pb: d.pads.slice(0, d.dims.length),
    group: d.group, offsetGroup: d.offsetGroup, bias: d.b !== undefined, mask: d.mask !== undefined,
  }, ops);
}

/** Convolution-family lowerings of nodes with integer operands (Col2Im shapes, i64 held as i32). */
export const CONV_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = { Col2Im: lowerCol2Im };

/** Convolution-family lowerings by qualified op name. */
export const CONV_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  Conv: lowerConv, 'edgec.FusedConv': lowerConv, ConvTranspose: lowerConvTranspose, DeformConv: lowerDeformConv,
};
