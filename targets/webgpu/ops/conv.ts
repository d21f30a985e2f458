/**
 * WebGPU lowerings of the convolution family (compiler/ops/conv.ts): Conv / edgec.FusedConv on the
 * implicit-GEMM tiled kernel (or the direct kernel for depthwise-like convolutions), ConvTranspose
 * on the direct kernel (1-D and 2-D).
 */
import { Node } from '../../../compiler/ir/graph.js';
import { numel } from '../../../compiler/ir/tensor.js';
import { ConvTransposeParams, convTransposeBeginPads, windowParams } from '../../../compiler/ops/conv.js';
import { convGeom, opAttrs } from '../../common/params.js';
import { ConvParams } from '../kernels/conv-params.js';
import { LowerCtx, LowerFn, Operand, fusedAct, val } from '../ctx.js';

function lowerConv(c: LowerCtx, n: Node): void {
  const [xId, wId, bId] = n.inputs;
  const y = n.outputs[0]!;
  const xs = c.shape(xId!);
  const ws = c.shape(wId!);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 2) throw c.unsupported(`${nd}-D convolution is not supported on webgpu (1-D and 2-D only)`);
  const { geo, group } = convGeom(c, n, xs, ws);
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

/** Convolution-family lowerings by qualified op name. */
export const CONV_LOWERINGS: Readonly<Record<string, LowerFn>> = { Conv: lowerConv, 'edgec.FusedConv': lowerConv, ConvTranspose: lowerConvTranspose };
