/**
 * Recurrent bench models built in code (`npm run bench` rows "Recurrent layers"): one LSTM and one
 * GRU layer over a whole sequence, the shape of a keyword-spotting / VAD encoder: x [T=100, 1, 40]
 * (100 frames of 40 features, ONNX layout 0), hidden size 128, seeded weights scaled 1/sqrt(H).
 * Outputs: the sequence Y [T,1,D,H] and the final state Y_h [D,1,H]. `--rnn-sweep` adds the
 * shapes of recurrentSweep (RNN / GRU / LSTM, hidden 32..256, input 16..128, T 50..200,
 * bidirectional ones).
 */
import { GraphBuilder } from '../compiler/ir/builder.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { exportOnnx } from '../compiler/frontends/onnx/export.js';

/** Seeded uniform [-scale, scale) f32 tensor. */
function seeded(shape: number[], seed: number, scale: number): Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, d) => a * d, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = (s / 2 ** 31 - 1) * scale;
  }
  return new Tensor('f32', shape, d);
}

/** One recurrent bench model: its row name and ONNX bytes. */
export interface RecurrentModel {
  name: string;
  bytes: Uint8Array;
}

/**
 * An RNN, LSTM or GRU layer as an ONNX model (opset 14).
 * @param kind RNN (tanh), LSTM (4 gates) or GRU (3 gates, linear_before_reset=1 as PyTorch exports it)
 * @param T frames @param I features per frame @param H hidden size @param bidirectional both directions
 */
export function recurrentModel(kind: 'RNN' | 'LSTM' | 'GRU', T = 100, I = 40, H = 128, bidirectional = false): RecurrentModel {
  const G = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
  const D = bidirectional ? 2 : 1;
  const b = new GraphBuilder(`${kind.toLowerCase()}_${T}x${I}_h${H}`, { '': 14 });
  const x = b.input('x', 'f32', [T, 1, I]);
  const k = 1 / Math.sqrt(H);
  const w = b.const('W', seeded([D, G * H, I], 1, k));
  const r = b.const('R', seeded([D, G * H, H], 2, k));
  const bias = b.const('B', seeded([D, 2 * G * H], 3, k));
  const attrs: Record<string, number | string> = kind === 'GRU' ? { hidden_size: H, linear_before_reset: 1 } : { hidden_size: H };
  if (bidirectional) attrs['direction'] = 'bidirectional';
  const [y, yh] = b.nodeN(kind, [x, w, r, bias], 2, attrs, { name: kind.toLowerCase(), outputNames: ['Y', 'Y_h'] });
  b.output(y!, yh!);
  return { name: `${bidirectional ? 'bi' : ''}${kind.toLowerCase()}_1x${T}x${I}_h${H}`, bytes: exportOnnx(b.build()) };
}

/** The recurrent rows of the bench. */
export function recurrentModels(): RecurrentModel[] {
  return [recurrentModel('LSTM'), recurrentModel('GRU')];
}

/** More recurrent shapes (`npm run bench -- --rnn-sweep`): batch 1, hidden 32..256, input 16..128, T 50..200. */
export function recurrentSweep(): RecurrentModel[] {
  return [
    recurrentModel('LSTM', 50, 16, 32), recurrentModel('LSTM', 200, 64, 64), recurrentModel('LSTM', 100, 128, 256),
    recurrentModel('LSTM', 100, 40, 96, true), recurrentModel('GRU', 200, 16, 32), recurrentModel('GRU', 50, 128, 256),
    recurrentModel('GRU', 100, 64, 100, true), recurrentModel('RNN', 100, 40, 128), recurrentModel('RNN', 200, 64, 256, true),
  ];
}
