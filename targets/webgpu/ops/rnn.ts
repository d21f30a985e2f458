/**
 * Recurrent-family lowerings of the webgpu target: edgec.TflLstm (TFLite Micro's integer LSTM) on
 * kernels/lstm-tfl.ts, bit for bit with compiler/ops/rnn.ts. W, R and B must be constants.
 */
import { Node } from '../../../compiler/ir/graph.js';
import { TFL_SIGMOID_TABLE, TflLstmAttrs } from '../../../compiler/ops/rnn.js';
import { LowerCtx, LowerFn, markWide, pack16, qelem, qop, val } from '../ctx.js';
import { opAttrs } from '../../common/params.js';
import { LSTM_MAX_HIDDEN } from '../kernels/lstm-tfl.js';

/** edgec.TflLstm (lstm_tfl_i8): one workgroup over the whole sequence; y stored wide. */
function lowerTflLstm(c: LowerCtx, n: Node): void {
  const a = opAttrs<TflLstmAttrs>(n, c.opset);
  const [x, w, r, b] = n.inputs as [number, number, number, number];
  const y = n.outputs[0]!;
  if (c.g.typeOf(x).dtype !== 'i8') throw c.unsupported('TflLstm input must be int8');
  for (const [id, what] of [[w, 'W'], [r, 'R'], [b, 'B']] as const) {
    if (!c.consts.has(id)) throw c.unsupported(`TflLstm ${what} must be a constant on the webgpu target`);
  }
  const xs = c.shape(x), ws = c.shape(w);
  const [H, I] = [ws[1]!, ws[2]!];
  const [T, B] = a.timeMajor ? [xs[0]!, xs[1]!] : [xs[1]!, xs[0]!];
  if (T * B * H === 0) return;
  if (H > LSTM_MAX_HIDDEN) throw c.unsupported(`TflLstm with ${H} hidden units exceeds the webgpu kernel's workgroup memory (at most ${LSTM_MAX_HIDDEN})`);
  markWide(c, y);
  c.emit('lstm_tfl_i8', {
    T, B, I, H, timeMajor: a.timeMajor, xdt: qelem(c, x, 'i8'), zx: a.xZeroPoint, zh: a.hZeroPoint,
    inM: a.inMultiplier, inN: a.inShift, recM: a.recMultiplier, recN: a.recShift,
    fcM: a.fcMultiplier, fcN: a.fcShift, icM: a.icMultiplier, icN: a.icShift, hM: a.hMultiplier, hN: a.hShift,
    cellScalePower: a.cellScalePower, cellClip: a.cellClip, cellSigmoid: a.cellAct === 'sigmoid',
  }, { x: qop(c, x), w: qop(c, w), r: qop(c, r), bias: qop(c, b), tb: c.blob(pack16(TFL_SIGMOID_TABLE)), y: val(y) });
}

/** Recurrent-family lowerings of the integer path by qualified op name. */
export const RNN_INT_LOWERINGS: Readonly<Record<string, LowerFn>> = {
  'edgec.TflLstm': lowerTflLstm,
};
