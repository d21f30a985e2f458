/**
 * Op family: recurrent layers (RNN, GRU, LSTM) with the full ONNX semantics: forward, reverse and
 * bidirectional; activations with activation_alpha/beta; clip; layout 0/1; initial_h/initial_c;
 * sequence_lens; GRU linear_before_reset; LSTM peepholes and input_forget.
 *
 * Reference kernels: gate pre-activations accumulate in float64; the hidden and cell states are
 * rounded to the element type after every step (they are tensors of that type: Y[t] feeds t+1).
 * Time steps at or past a batch entry's sequence length are not computed and read as 0 in Y;
 * Y_h / Y_c hold the state after the last computed step (the initial state when the length is 0).
 */
import { DType, isFloat, roundToDType } from '../ir/dtype.js';
import { Dim, Tensor, TensorType, shapeToString } from '../ir/tensor.js';
import { invalid } from '../errors.js';
import { AttrReader, InferCtx, defineOp, need } from './registry.js';

/** An activation function with its alpha/beta. */
interface Act {
  name: string;
  alpha: number;
  beta: number;
}

/**
 * Activations (lower-cased names) -> [needs alpha, needs beta, default alpha, default beta].
 * Defaults follow ONNX Runtime (rnn_helpers.cc), the oracle the tests use.
 */
const ACTS: Record<string, [boolean, boolean, number, number]> = {
  relu: [false, false, 0, 0],
  tanh: [false, false, 0, 0],
  sigmoid: [false, false, 0, 0],
  affine: [true, true, 0, 0],
  leakyrelu: [true, false, 0.01, 0],
  thresholdedrelu: [true, false, 1, 0],
  scaledtanh: [true, true, 0, 0],
  hardsigmoid: [true, true, 0.2, 0.5],
  elu: [true, false, 1, 0],
  softsign: [false, false, 0, 0],
  softplus: [false, false, 0, 0],
};

/** Applies activation `a` to x (float64). */
function activate(a: Act, x: number): number {
  switch (a.name) {
    case 'relu': return Math.max(0, x);
    case 'tanh': return Math.tanh(x);
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'affine': return a.alpha * x + a.beta;
    case 'leakyrelu': return x >= 0 ? x : a.alpha * x;
    case 'thresholdedrelu': return x >= a.alpha ? x : 0;
    case 'scaledtanh': return a.alpha * Math.tanh(a.beta * x);
    case 'hardsigmoid': return Math.min(Math.max(a.alpha * x + a.beta, 0), 1);
    case 'elu': return x >= 0 ? x : a.alpha * (Math.exp(x) - 1);
    case 'softsign': return x / (1 + Math.abs(x));
    case 'softplus': return Math.log1p(Math.exp(x));
    default: throw invalid(`unknown activation ${a.name}`);
  }
}

type Kind = 'RNN' | 'GRU' | 'LSTM';

/** Gates per kind (rows of W are G*hidden) and activations per direction. */
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const DEFAULT_ACTS: Record<Kind, string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };

interface RnnAttrs {
  kind: Kind;
  hidden: number | undefined;
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** Activations per direction: acts[d][k]. */
  acts: Act[][];
  clip: number | undefined;
  layout: 0 | 1;
  linearBeforeReset: boolean;
  inputForget: boolean;
}

/** Parses the attributes shared by RNN, GRU and LSTM. */
function rnnAttrs(kind: Kind, r: AttrReader, opset: number): RnnAttrs {
  const hidden = r.int('hidden_size');
  if (hidden !== undefined && hidden < 1) throw r.error(`attribute "hidden_size" must be positive, got ${hidden}`);
  const direction = r.oneOf('direction', 'forward', ['forward', 'reverse', 'bidirectional'] as const);
  const D = direction === 'bidirectional' ? 2 : 1;
  const per = DEFAULT_ACTS[kind].length;
  let names = r.strings('activations') ?? (D === 2 ? [...DEFAULT_ACTS[kind], ...DEFAULT_ACTS[kind]] : DEFAULT_ACTS[kind]);
  if (D === 2 && names.length === per) names = [...names, ...names];
  if (names.length !== per * D) throw r.error(`attribute "activations" must list ${per * D} functions, got ${names.length}`);
  const alphas = r.floats('activation_alpha', []);
  const betas = r.floats('activation_beta', []);
  let ia = 0;
  let ib = 0;
  const flat = names.map((n): Act => {
    const name = n.toLowerCase();
    const spec = ACTS[name];
    if (!spec) throw r.unsupported(`activation "${n}" is not one of ${Object.keys(ACTS).join(', ')}`);
    const alpha = spec[0] ? (ia < alphas.length ? alphas[ia++]! : spec[2]) : 0;
    const beta = spec[1] ? (ib < betas.length ? betas[ib++]! : spec[3]) : 0;
    return { name, alpha, beta };
  });
  const acts = Array.from({ length: D }, (_, d) => flat.slice(d * per, (d + 1) * per));
  const clip = r.float('clip');
  if (clip !== undefined && !(clip > 0)) throw r.error(`attribute "clip" must be positive, got ${clip}`);
  const layout = opset >= 14 ? r.int('layout', 0) : 0;
  if (layout !== 0 && layout !== 1) throw r.error(`attribute "layout" must be 0 or 1, got ${layout}`);
  const linearBeforeReset = kind === 'GRU' && r.int('linear_before_reset', 0) !== 0;
  const inputForget = kind === 'LSTM' && r.int('input_forget', 0) !== 0;
  if (opset < 7) r.int('output_sequence', 0); // opset 1: Y is always computed; the flag only made it optional
  return { kind, hidden, direction, acts, clip, layout: layout as 0 | 1, linearBeforeReset, inputForget };
}

/** Hidden size from the attribute or W ([D, G*hidden, input]). */
function hiddenOf(a: RnnAttrs, w: Dim | undefined): number | undefined {
  if (a.hidden !== undefined) return a.hidden;
  return typeof w === 'number' ? w / GATES[a.kind] : undefined;
}

function rnnInfer(ctx: InferCtx, a: RnnAttrs): TensorType[] {
  const x = need(ctx.inputs[0], 0, a.kind);
  const w = need(ctx.inputs[1], 1, a.kind);
  if (x.shape.length !== 3) throw invalid(`${a.kind}: X must have rank 3, got ${shapeToString(x.shape)}`);
  if (!isFloat(x.dtype)) throw invalid(`${a.kind}: X must be a float tensor, got ${x.dtype}`);
  const D = a.direction === 'bidirectional' ? 2 : 1;
  const [s0, s1] = [x.shape[0]!, x.shape[1]!];
  const [S, B] = a.layout === 0 ? [s0, s1] : [s1, s0];
  const H: Dim = hiddenOf(a, w.shape[1]) ?? ctx.freshDim('hidden');
  const y: Dim[] = a.layout === 0 ? [S, D, B, H] : [B, S, D, H];
  const yh: Dim[] = a.layout === 0 ? [D, B, H] : [B, D, H];
  const outs: TensorType[] = [{ dtype: x.dtype, shape: y }, { dtype: x.dtype, shape: yh }];
  if (a.kind === 'LSTM') outs.push({ dtype: x.dtype, shape: yh });
  return outs.slice(0, Math.max(1, ctx.node.outputs.length));
}

/** Checks a tensor's shape against the expected one. */
function expectShape(t: Tensor, want: number[], what: string, op: string): void {
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw invalid(`${op}: ${what} must have shape ${shapeToString(want)}, got ${shapeToString(t.shape)}`);
  }
}

/** Reads an initial state (initial_h / initial_c) as [D][B][H] float64, honoring the layout. */
function initialState(t: Tensor | null, D: number, B: number, H: number, layout: 0 | 1, what: string, op: string): Float64Array {
  const out = new Float64Array(D * B * H);
  if (!t) return out;
  expectShape(t, layout === 0 ? [D, B, H] : [B, D, H], what, op);
  for (let d = 0; d < D; d++) {
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) out[(d * B + b) * H + j] = t.get(layout === 0 ? (d * B + b) * H + j : (b * D + d) * H + j);
    }
  }
  return out;
}

function rnnRef(ins: (Tensor | null)[], a: RnnAttrs): Tensor[] {
  const op = a.kind;
  const X = need(ins[0], 0, op);
  const W = need(ins[1], 1, op);
  const R = need(ins[2], 2, op);
  const Bias = ins[3] ?? null;
  const lens = ins[4] ?? null;
  const h0 = ins[5] ?? null;
  const c0 = a.kind === 'LSTM' ? ins[6] ?? null : null;
  const P = a.kind === 'LSTM' ? ins[7] ?? null : null;
  const dt: DType = X.dtype;
  const G = GATES[a.kind];
  const D = a.direction === 'bidirectional' ? 2 : 1;
  if (X.shape.length !== 3) throw invalid(`${op}: X must have rank 3, got ${shapeToString(X.shape)}`);
  const [S, B] = a.layout === 0 ? [X.shape[0]!, X.shape[1]!] : [X.shape[1]!, X.shape[0]!];
  const I = X.shape[2]!;
  const H = hiddenOf(a, W.shape[1]);
  if (H === undefined || !Number.isInteger(H) || H < 1) throw invalid(`${op}: cannot tell the hidden size from W ${shapeToString(W.shape)}`);
  expectShape(W, [D, G * H, I], 'W', op);
  expectShape(R, [D, G * H, H], 'R', op);
  if (Bias) expectShape(Bias, [D, 2 * G * H], 'B', op);
  if (P) expectShape(P, [D, 3 * H], 'P', op);
  if (lens) {
    expectShape(lens, [B], 'sequence_lens', op);
    for (let b = 0; b < B; b++) {
      const L = lens.get(b);
      if (!(Number.isInteger(L) && L >= 0 && L <= S)) throw invalid(`${op}: sequence_lens[${b}] = ${L} is outside [0, ${S}]`);
    }
  }
  const hInit = initialState(h0, D, B, H, a.layout, 'initial_h', op);
  const cInit = initialState(c0, D, B, H, a.layout, 'initial_c', op);
  const Y = Tensor.zeros(dt, a.layout === 0 ? [S, D, B, H] : [B, S, D, H]);
  const Yh = Tensor.zeros(dt, a.layout === 0 ? [D, B, H] : [B, D, H]);
  const Yc = Tensor.zeros(dt, a.layout === 0 ? [D, B, H] : [B, D, H]);
  const xAt = (t: number, b: number, k: number): number => X.get(a.layout === 0 ? (t * B + b) * I + k : (b * S + t) * I + k);
  const yIndex = (t: number, d: number, b: number, j: number): number => (a.layout === 0 ? ((t * D + d) * B + b) * H + j : ((b * S + t) * D + d) * H + j);
  const stIndex = (d: number, b: number, j: number): number => (a.layout === 0 ? (d * B + b) * H + j : (b * D + d) * H + j);
  const clip = (v: number): number => (a.clip === undefined ? v : Math.min(a.clip, Math.max(-a.clip, v)));
  const round = (v: number): number => roundToDType(dt, v);

  for (let d = 0; d < D; d++) {
    const reverse = a.direction === 'reverse' || d === 1;
    const [f, g, hAct] = a.acts[d]!;
    const wOff = d * G * H * I;
    const rOff = d * G * H * H;
    const bias = (k: number): number => (Bias ? Bias.get(d * 2 * G * H + k) + Bias.get(d * 2 * G * H + G * H + k) : 0);
    const wb = (k: number): number => (Bias ? Bias.get(d * 2 * G * H + k) : 0);
    const rb = (k: number): number => (Bias ? Bias.get(d * 2 * G * H + G * H + k) : 0);
    const peep = (k: number, j: number): number => (P ? P.get(d * 3 * H + k * H + j) : 0);
    for (let b = 0; b < B; b++) {
      const L = lens ? lens.get(b) : S;
      let h = hInit.slice((d * B + b) * H, (d * B + b + 1) * H);
      let c = cInit.slice((d * B + b) * H, (d * B + b + 1) * H);
      for (let step = 0; step < L; step++) {
        const t = reverse ? L - 1 - step : step;
        // Wx[r] = W[r,:] . x_t and Rh[r] = R[r,:] . h_{t-1} for every gate row r
        const Wx = new Float64Array(G * H);
        const Rh = new Float64Array(G * H);
        for (let r = 0; r < G * H; r++) {
          let s = 0;
          for (let k = 0; k < I; k++) s += W.get(wOff + r * I + k) * xAt(t, b, k);
          Wx[r] = s;
          let q = 0;
          for (let k = 0; k < H; k++) q += R.get(rOff + r * H + k) * h[k]!;
          Rh[r] = q;
        }
        const hNew = new Float64Array(H);
        const cNew = new Float64Array(H);
        if (a.kind === 'RNN') {
          for (let j = 0; j < H; j++) hNew[j] = round(activate(f!, clip(Wx[j]! + Rh[j]! + bias(j))));
        } else if (a.kind === 'GRU') {
          // gates z, r, h
          const z = new Float64Array(H);
          const rg = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            z[j] = activate(f!, clip(Wx[j]! + Rh[j]! + bias(j)));
            rg[j] = activate(f!, clip(Wx[H + j]! + Rh[H + j]! + bias(H + j)));
          }
          for (let j = 0; j < H; j++) {
            let pre: number;
            if (a.linearBeforeReset) pre = Wx[2 * H + j]! + wb(2 * H + j) + rg[j]! * (Rh[2 * H + j]! + rb(2 * H + j));
            else {
              // (r (.) h_{t-1}) * Rh^T
              let q = 0;
              for (let k = 0; k < H; k++) q += R.get(rOff + (2 * H + j) * H + k) * rg[k]! * h[k]!;
              pre = Wx[2 * H + j]! + wb(2 * H + j) + q + rb(2 * H + j);
            }
            const ht = activate(g!, clip(pre));
            hNew[j] = round((1 - z[j]!) * ht + z[j]! * h[j]!);
          }
        } else {
          // gates i, o, f, c; peepholes P = [Pi, Po, Pf]
          for (let j = 0; j < H; j++) {
            const it = activate(f!, clip(Wx[j]! + Rh[j]! + bias(j) + peep(0, j) * c[j]!));
            const ft = a.inputForget ? 1 - it : activate(f!, clip(Wx[2 * H + j]! + Rh[2 * H + j]! + bias(2 * H + j) + peep(2, j) * c[j]!));
            const ct = activate(g!, clip(Wx[3 * H + j]! + Rh[3 * H + j]! + bias(3 * H + j)));
            const C = round(ft * c[j]! + it * ct);
            const ot = activate(f!, clip(Wx[H + j]! + Rh[H + j]! + bias(H + j) + peep(1, j) * C));
            cNew[j] = C;
            hNew[j] = round(ot * activate(hAct!, C));
          }
        }
        h = hNew;
        if (a.kind === 'LSTM') c = cNew;
        for (let j = 0; j < H; j++) Y.set(yIndex(t, d, b, j), h[j]!);
      }
      for (let j = 0; j < H; j++) {
        Yh.set(stIndex(d, b, j), h[j]!);
        Yc.set(stIndex(d, b, j), c[j]!);
      }
    }
  }
  return a.kind === 'LSTM' ? [Y, Yh, Yc] : [Y, Yh];
}

/** MACs of one layer: every step multiplies x by W and h by R, per direction and batch entry. */
function rnnCost(ctx: InferCtx, a: RnnAttrs, outs: TensorType[]): { macs: number; flops: number } {
  const x = ctx.inputs[0]?.shape ?? [];
  const y = outs[0]?.shape ?? [];
  const num = (d: Dim | undefined): number => (typeof d === 'number' ? d : 1);
  const S = num(a.layout === 0 ? x[0] : x[1]);
  const B = num(a.layout === 0 ? x[1] : x[0]);
  const I = num(x[2]);
  const H = num(y[3]);
  const D = a.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[a.kind];
  const macs = D * S * B * G * H * (I + H);
  return { macs, flops: D * S * B * G * H * 4 };
}

// Ht = f(Xt*Wi^T + Ht-1*Ri^T + Wbi + Rbi)
export const RNN = defineOp<RnnAttrs>({
  name: 'RNN',
  domain: '',
  since: 1,
  arity: [3, 6],
  attrs: (r, ctx) => rnnAttrs('RNN', r, ctx.opset),
  infer: rnnInfer,
  ref: rnnRef,
  cost: rnnCost,
});

// zt = f(Xt*Wz^T + Ht-1*Rz^T + Wbz + Rbz); rt = f(Xt*Wr^T + Ht-1*Rr^T + Wbr + Rbr)
// ht = g(Xt*Wh^T + (rt (.) Ht-1)*Rh^T + Rbh + Wbh)          (linear_before_reset = 0)
// ht = g(Xt*Wh^T + rt (.) (Ht-1*Rh^T + Rbh) + Wbh)          (linear_before_reset != 0)
// Ht = (1 - zt) (.) ht + zt (.) Ht-1
export const GRU = defineOp<RnnAttrs>({
  name: 'GRU',
  domain: '',
  since: 1,
  arity: [3, 6],
  attrs: (r, ctx) => rnnAttrs('GRU', r, ctx.opset),
  infer: rnnInfer,
  ref: rnnRef,
  cost: rnnCost,
});

// it = f(Xt*Wi^T + Ht-1*Ri^T + Pi (.) Ct-1 + Wbi + Rbi); ft = f(... Pf (.) Ct-1 ...) (1 - it with input_forget)
// ct = g(Xt*Wc^T + Ht-1*Rc^T + Wbc + Rbc); Ct = ft (.) Ct-1 + it (.) ct
// ot = f(Xt*Wo^T + Ht-1*Ro^T + Po (.) Ct + Wbo + Rbo); Ht = ot (.) h(Ct); clip bounds every gate input
export const LSTM = defineOp<RnnAttrs>({
  name: 'LSTM',
  domain: '',
  since: 1,
  arity: [3, 8],
  attrs: (r, ctx) => rnnAttrs('LSTM', r, ctx.opset),
  infer: rnnInfer,
  ref: rnnRef,
  cost: rnnCost,
});

// ---------------------------------------------------------------------------------------------
// edgec.TflLstm: TFLite Micro's integer UNIDIRECTIONAL_SEQUENCE_LSTM (lstm_eval.h, int8x8_16)
// ---------------------------------------------------------------------------------------------

/** Parsed attributes of edgec.TflLstm (multipliers as edgec's (M, n): m ~= M * 2^-n, n = 31 - TFLite shift). */
export interface TflLstmAttrs {
  timeMajor: boolean;
  /** Zero points of the input and of the hidden state (= the output). */
  xZeroPoint: number;
  hZeroPoint: number;
  /** Per gate (i, f, c, o): input FC and recurrent FC requantization to the int16 gate domain (2^-12). */
  inMultiplier: number[];
  inShift: number[];
  recMultiplier: number[];
  recShift: number[];
  /** forget * cell -> cell, input * cell gate -> cell, tanh(cell) * output gate -> hidden. */
  fcMultiplier: number;
  fcShift: number;
  icMultiplier: number;
  icShift: number;
  hMultiplier: number;
  hShift: number;
  /** log2 of the cell state's scale (rounded), which sets tanh(cell)'s input scaling. */
  cellScalePower: number;
  /** The cell clip in cell-state units (0: none). */
  cellClip: number;
  /** Activation of the cell gate (TFLite's fused activation: tanh or sigmoid). */
  cellAct: 'tanh' | 'sigmoid';
}

/** sigmoid(i/24) in 0.16 fixed point (TFLite's sigmoid_table_uint16, reference_integer_ops). */
export const TFL_SIGMOID_TABLE: readonly number[] = [
  32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
  43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
  51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
  57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
  61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
  63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
  64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
  64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
  65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
  65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
  65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
  65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
  65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
  65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
  65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
  65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
];

/** TFLite's int16 LUT Logistic (reference_integer_ops::Logistic, multiplier 0: x * 3, Q3.12 in, Q0.15 out). */
export function tflSigmoid16(x: number): number {
  const v = x * 3;
  const a = Math.abs(v);
  const uh = a >>> 9;
  let r: number;
  if (uh >= 255) r = 0x7fff * 1024;
  else {
    const ua = TFL_SIGMOID_TABLE[uh]!, ub = TFL_SIGMOID_TABLE[uh + 1]!;
    r = ua * 512 + (a & 0x1ff) * (ub - ua);
  }
  r = v >= 0 ? r + 512 : 2 ** 25 - r + 511;
  return Math.floor(r / 1024);
}

/**
 * TFLite's int16 LUT Tanh (reference_integer_ops::Tanh) as lstm_eval.cc calls it for an input of
 * scale 2^p: left shift l = 12 + p; l >= 0 multiplies by 3 << l, l < 0 by 3 then shifts right
 * by -l rounding half up. Output Q0.15.
 */
export function tflTanh16(x: number, p: number): number {
  const l = 12 + p;
  const v = l >= 0 ? wrap32(x * 3 * 2 ** l) : Math.floor((x * 3 + 2 ** (-l - 1)) / 2 ** -l);
  const a = Math.abs(v);
  const uh = Math.floor(a / 256);
  let r: number;
  if (uh >= 255) r = 0xffff * 256;
  else {
    const ua = TFL_SIGMOID_TABLE[uh]!, ub = TFL_SIGMOID_TABLE[uh + 1]!;
    r = ua * 256 + (a & 0xff) * (ub - ua);
  }
  r = v >= 0 ? r - 2 ** 23 + 128 : -r + 2 ** 23 + 127;
  return Math.floor(r / 256);
}

function wrap32(v: number): number {
  return Number(BigInt.asIntN(32, BigInt(v)));
}

/** TFLite's MultiplyByQuantizedMultiplier with edgec's (M, n) (int32 in, int32 out). */
function mbqm(acc: number, M: number, n: number): number {
  const ls = n < 31 ? 31 - n : 0;
  const rs = n > 31 ? n - 31 : 0;
  const a = ls ? wrap32(acc * 2 ** ls) : acc;
  const h = Number((BigInt(a) * BigInt(M) + (1n << 30n)) >> 31n);
  if (rs === 0) return h;
  const q = Math.floor(h / 2 ** rs);
  const rem = h - q * 2 ** rs;
  return q + (rem > 2 ** (rs - 1) - 1 + (h < 0 ? 1 : 0) ? 1 : 0);
}

const sat16 = (v: number): number => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

function readMul(r: AttrReader, name: string, count: number): number[] {
  const v = r.ints(name) ?? [];
  if (v.length !== count || v.some((m) => !Number.isInteger(m) || m < 0 || m >= 2 ** 31)) throw r.error(`attribute "${name}" must hold ${count} multiplier(s) in [0, 2^31)`);
  return v;
}
function readShift(r: AttrReader, name: string, count: number): number[] {
  const v = r.ints(name) ?? [];
  if (v.length !== count || v.some((n) => !Number.isInteger(n) || n < 0 || n > 62)) throw r.error(`attribute "${name}" must hold ${count} shift(s) in [0, 62]`);
  return v;
}

function tflLstmShapes(x: TensorType | Tensor, w: TensorType | Tensor, rw: TensorType | Tensor, b: TensorType | Tensor): { H: number; I: number } {
  for (const [t, dt, what] of [[x, 'i8', 'X'], [w, 'i8', 'W'], [rw, 'i8', 'R'], [b, 'i32', 'B']] as const) {
    if (t.dtype !== dt) throw invalid(`TflLstm: ${what} must be ${dt}, got ${t.dtype}`);
  }
  if (x.shape.length !== 3) throw invalid(`TflLstm: X must have rank 3, got ${shapeToString(x.shape)}`);
  const [g, H, I] = w.shape;
  if (w.shape.length !== 3 || g !== 4 || typeof H !== 'number' || typeof I !== 'number') throw invalid(`TflLstm: W must be [4, H, I], got ${shapeToString(w.shape)}`);
  if (x.shape[2] !== I) throw invalid(`TflLstm: X ${shapeToString(x.shape)} has ${String(x.shape[2])} features, W expects ${I}`);
  if (rw.shape.length !== 3 || rw.shape[0] !== 4 || rw.shape[1] !== H || rw.shape[2] !== H) throw invalid(`TflLstm: R must be [4, ${H}, ${H}], got ${shapeToString(rw.shape)}`);
  if (b.shape.length !== 2 || b.shape[0] !== 4 || b.shape[1] !== H) throw invalid(`TflLstm: B must be [4, ${H}], got ${shapeToString(b.shape)}`);
  return { H, I };
}

// TFLite Micro's integer LSTM (lstm_eval.h LstmStep, int8 activations, int16 cell and gates),
// zero initial states (h = zh, c = 0). Gates g in (i, f, c, o), per step and batch row:
//   s_g = sat16(sat16(T(b_g + W_g (x - zx), in_g)) + sat16(T(R_g (h - zh), rec_g)))   (gate input 2^-12)
//   i, f, o = Logistic16(s);  cg = Tanh16(s, -12) (or Logistic16)                    (gate output 2^-15)
//   c = sat16(sat16(T(f * c, fc)) + sat16(T(i * cg, ic)));  clip to +-cell_clip when > 0
//   h = clamp8(T(Tanh16(c, cell_scale_power) * o, h) + zh);  y_t = h
// T = MultiplyByQuantizedMultiplier (int32 accumulators, double rounding).
export const TflLstm = defineOp<TflLstmAttrs>({
  name: 'TflLstm',
  domain: 'edgec',
  since: 1,
  arity: [4, 4],
  attrs: (r) => {
    const zp = (name: string): number => {
      const v = r.int(name, 0);
      if (!Number.isInteger(v) || v < -128 || v > 127) throw r.error(`${name} ${v} is not an int8 value`);
      return v;
    };
    const [fcMultiplier, icMultiplier, hMultiplier] = readMul(r, 'mul_multiplier', 3) as [number, number, number];
    const [fcShift, icShift, hShift] = readShift(r, 'mul_shift', 3) as [number, number, number];
    const cellClip = r.int('cell_clip', 0);
    if (!Number.isInteger(cellClip) || cellClip < 0 || cellClip > 32767) throw r.error(`cell_clip ${cellClip} must be in [0, 32767]`);
    const cellScalePower = r.int('cell_scale_power', -12);
    if (!Number.isInteger(cellScalePower) || cellScalePower < -40 || cellScalePower > 0) throw r.error(`cell_scale_power ${cellScalePower} must be in [-40, 0]`);
    return {
      timeMajor: r.int('time_major', 0) !== 0, xZeroPoint: zp('x_zero_point'), hZeroPoint: zp('h_zero_point'),
      inMultiplier: readMul(r, 'input_multiplier', 4), inShift: readShift(r, 'input_shift', 4),
      recMultiplier: readMul(r, 'recurrent_multiplier', 4), recShift: readShift(r, 'recurrent_shift', 4),
      fcMultiplier, fcShift, icMultiplier, icShift, hMultiplier, hShift, cellScalePower, cellClip,
      cellAct: r.oneOf<'tanh' | 'sigmoid'>('cell_activation', 'tanh', ['tanh', 'sigmoid']),
    };
  },
  infer: (ctx: InferCtx) => {
    const [x, w, rw, b] = [0, 1, 2, 3].map((i) => need(ctx.inputs[i], i, 'TflLstm'));
    const { H } = tflLstmShapes(x!, w!, rw!, b!);
    return [{ dtype: 'i8', shape: [x!.shape[0]!, x!.shape[1]!, H] }];
  },
  ref: (ins, a) => {
    const [x, w, rw, b] = [0, 1, 2, 3].map((i) => need(ins[i], i, 'TflLstm'));
    const { H, I } = tflLstmShapes(x!, w!, rw!, b!);
    const [d0, d1] = x!.shape as [number, number];
    const [T, B] = a.timeMajor ? [d0, d1] : [d1, d0];
    const X = x!.data as Int8Array, W = w!.data as Int8Array, R = rw!.data as Int8Array, bias = b!.data as Int32Array;
    const out = Tensor.zeros('i8', [d0, d1, H]);
    const Y = out.data as Int8Array;
    for (let bi = 0; bi < B; bi++) {
      const h = new Int8Array(H).fill(a.hZeroPoint);
      const c = new Int16Array(H);
      const gates = [0, 1, 2, 3].map(() => new Int16Array(H));
      for (let t = 0; t < T; t++) {
        const xo = (a.timeMajor ? t * B + bi : bi * T + t) * I;
        for (let g = 0; g < 4; g++) {
          for (let j = 0; j < H; j++) {
            let acc = bias[g * H + j]!;
            for (let k = 0; k < I; k++) acc += W[(g * H + j) * I + k]! * (X[xo + k]! - a.xZeroPoint);
            const u = sat16(mbqm(wrap32(acc), a.inMultiplier[g]!, a.inShift[g]!));
            let racc = 0;
            for (let k = 0; k < H; k++) racc += R[(g * H + j) * H + k]! * (h[k]! - a.hZeroPoint);
            const v = sat16(mbqm(wrap32(racc), a.recMultiplier[g]!, a.recShift[g]!));
            const s = sat16(u + v);
            gates[g]![j] = g === 2 && a.cellAct === 'tanh' ? tflTanh16(s, -12) : tflSigmoid16(s);
          }
        }
        const [gi, gf, gc, go] = gates as [Int16Array, Int16Array, Int16Array, Int16Array];
        for (let j = 0; j < H; j++) {
          const fc = sat16(mbqm(gf[j]! * c[j]!, a.fcMultiplier, a.fcShift));
          const ic = sat16(mbqm(gi[j]! * gc[j]!, a.icMultiplier, a.icShift));
          let cn = sat16(fc + ic);
          if (a.cellClip > 0) cn = Math.max(Math.min(a.cellClip, cn), -a.cellClip);
          c[j] = cn;
        }
        const yo = (a.timeMajor ? t * B + bi : bi * T + t) * H;
        for (let j = 0; j < H; j++) {
          const th = tflTanh16(c[j]!, a.cellScalePower);
          const hv = mbqm(th * go[j]!, a.hMultiplier, a.hShift) + a.hZeroPoint;
          h[j] = hv < -128 ? -128 : hv > 127 ? 127 : hv;
          Y[yo + j] = h[j]!;
        }
      }
    }
    return [out];
  },
  cost: (ctx) => {
    const x = ctx.inputs[0], w = ctx.inputs[1];
    const H = (w?.shape[1] as number) ?? 0, I = (w?.shape[2] as number) ?? 0;
    const steps = x ? (x.shape[0] as number) * (x.shape[1] as number) : 0;
    return { macs: steps * 4 * H * (I + H), flops: steps * 12 * H };
  },
});
