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
