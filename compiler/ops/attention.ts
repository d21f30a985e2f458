/**
 * Op family: transformer-era sequence ops. Attention (opset 23/24), ai.onnx.preview FlexAttention,
 * LinearAttention (27), RotaryEmbedding (23), CausalConvWithState (27), TensorScatter (24) and
 * SwiGLU (28).
 *
 * Reference kernels follow the ONNX operator specs and onnx/reference/ops/op_*.py: every product,
 * softmax and recurrence is computed in float64 and each output is rounded once to its dtype by
 * tensorFromF64. Q/K/V of rank 3 are (batch, seq, heads * head_size); rank 4 are
 * (batch, heads, seq, head_size). Grouped-query attention shares KV head g among the query heads
 * g * (Hq / Hkv) ... (g + 1) * (Hq / Hkv) - 1 (an interleaved repeat of the KV heads).
 */
import { DType, ONNX_DTYPE, dtypeBits, dtypeFromOnnx, isFloat } from '../ir/dtype.js';
import { Graph, ValueId, implicitInputCount } from '../ir/graph.js';
import { Dim, Shape, Tensor, TensorType } from '../ir/tensor.js';
import { invalid, unsupported } from '../errors.js';
import { AttrReader, DecomposeBuilder, InferCtx, RunCtx, defineOp, need } from './registry.js';
import { FArr, floatData, tensorFromF64 } from './conv.js';
import { elems, numData, requireDtype } from './elementwise.js';
import type { RtValue } from '../ir/value.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

function checkFloat(op: string, t: { dtype: DType }): void {
  requireDtype(op, t.dtype, isFloat, 'a float type');
}

/** a + b for possibly symbolic dims (a fresh dim when either is symbolic). */
function dimAdd(ctx: InferCtx, a: Dim, b: Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a + b : ctx.freshDim();
}

/** a * n for a possibly symbolic dim. */
function dimMul(ctx: InferCtx, a: Dim, n: number): Dim {
  if (n === 1) return a;
  return typeof a === 'number' ? a * n : ctx.freshDim();
}

/** a / n for a possibly symbolic dim; throws when a known size is not divisible. */
function dimDiv(ctx: InferCtx, a: Dim, n: number, op: string, what: string): Dim {
  if (n === 1) return a;
  if (typeof a !== 'number') return ctx.freshDim();
  if (a % n !== 0) throw invalid(`${op}: ${what} ${a} is not divisible by ${n}`);
  return a / n;
}

/** Logistic function 1 / (1 + e^-x). */
function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** A tensor viewed as (batch, heads, seq, head_size) float64 data. */
interface Heads {
  x: FArr;
  b: number;
  h: number;
  s: number;
  d: number;
}

/**
 * Reads Q/K/V-style data as (batch, heads, seq, head_size): rank 4 as is, rank 3
 * (batch, seq, heads * head_size) split into `heads` heads and transposed.
 * @param t rank-3 or rank-4 tensor
 * @param heads number of heads (required for rank 3)
 * @param op op name for errors
 * @param what input name for errors
 */
function readHeads(t: Tensor, heads: number | undefined, op: string, what: string): Heads {
  const src = floatData(t);
  if (t.shape.length === 4) {
    const [b, h, s, d] = t.shape as [number, number, number, number];
    if (heads !== undefined && heads !== h) throw invalid(`${op}: ${what} has ${h} heads but the attribute says ${heads}`);
    return { x: src, b, h, s, d };
  }
  if (t.shape.length !== 3) throw invalid(`${op}: ${what} must have rank 3 or 4, got [${t.shape.join(',')}]`);
  if (heads === undefined || heads <= 0) throw invalid(`${op}: rank-3 ${what} needs a positive num_heads attribute`);
  const [b, s, hd] = t.shape as [number, number, number];
  if (hd % heads !== 0) throw invalid(`${op}: ${what} hidden size ${hd} is not divisible by ${heads} heads`);
  const d = hd / heads;
  const x = new Float64Array(t.size);
  for (let bi = 0; bi < b; bi++) {
    for (let si = 0; si < s; si++) {
      for (let hi = 0; hi < heads; hi++) {
        const from = (bi * s + si) * hd + hi * d;
        const to = ((bi * heads + hi) * s + si) * d;
        for (let k = 0; k < d; k++) x[to + k] = src[from + k]!;
      }
    }
  }
  return { x, b, h: heads, s, d };
}

/**
 * (batch, heads, seq, d) float64 data back to rank 4, or to rank 3 (batch, seq, heads * d).
 * @param y data in (batch, heads, seq, d) order
 */
function writeHeads(dtype: DType, y: Float64Array, b: number, h: number, s: number, d: number, rank: number): Tensor {
  if (rank === 4) return tensorFromF64(dtype, [b, h, s, d], y);
  const out = new Float64Array(y.length);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let si = 0; si < s; si++) {
        const from = ((bi * h + hi) * s + si) * d;
        const to = (bi * s + si) * h * d + hi * d;
        for (let k = 0; k < d; k++) out[to + k] = y[from + k]!;
      }
    }
  }
  return tensorFromF64(dtype, [b, s, h * d], out);
}

/** Number of query heads per KV head; throws unless kvHeads divides qHeads. */
function groupSize(op: string, qHeads: number, kvHeads: number): number {
  if (kvHeads <= 0 || qHeads % kvHeads !== 0) {
    throw invalid(`${op}: q_num_heads ${qHeads} is not a multiple of kv_num_heads ${kvHeads}`);
  }
  return qHeads / kvHeads;
}

/** Rank-3/4 Q/K/V shapes as (batch, heads, seq, head_size) dims for inference. */
function headDims(ctx: InferCtx, t: TensorType, heads: number | undefined, op: string, what: string): [Dim, Dim, Dim, Dim] {
  if (t.shape.length === 4) return t.shape as unknown as [Dim, Dim, Dim, Dim];
  if (t.shape.length !== 3) throw invalid(`${op}: ${what} must have rank 3 or 4, got rank ${t.shape.length}`);
  if (heads === undefined || heads <= 0) throw invalid(`${op}: rank-3 ${what} needs a positive num_heads attribute`);
  const [b, s, hd] = t.shape as unknown as [Dim, Dim, Dim];
  return [b, heads, s, dimDiv(ctx, hd, heads, op, `${what} hidden size`)];
}

// ---------------------------------------------------------------------------------------------
// Decompositions (OpDef.decompose): the ONNX function bodies in primitive ops, static shapes only
// ---------------------------------------------------------------------------------------------

/** Dims of a type when all are concrete, else null. */
function staticShape(t: TensorType | null | undefined): number[] | null {
  return t && t.shape.every((d) => typeof d === 'number') ? (t.shape as number[]) : null;
}

/** `x` cast to `to` (no node when it already has that dtype). */
function castTo(b: DecomposeBuilder, x: ValueId, to: DType): ValueId {
  return b.typeOf(x).dtype === to ? x : b.op1('Cast', [x], { to: ONNX_DTYPE[to] });
}

/** x[..., from:to] on `axis`. */
function sliceAxis(b: DecomposeBuilder, x: ValueId, axis: number, from: number, to: number): ValueId {
  return b.op1('Slice', [x, b.int64s([from]), b.int64s([to]), b.int64s([axis])]);
}

/** A Q/K/V operand as (batch, heads, seq, head_size) plus its dims. */
interface HeadView {
  v: ValueId;
  B: number;
  H: number;
  S: number;
  D: number;
}

/**
 * Q/K/V as (batch, heads, seq, head_size): rank 4 as is; rank 3 (batch, seq, heads * head_size)
 * through Reshape [B, S, H, D] and Transpose [0, 2, 1, 3].
 */
function headView(b: DecomposeBuilder, id: ValueId, shape: number[], heads: number | undefined, what: string): HeadView {
  const op = 'Attention';
  if (shape.length === 4) {
    const [B, H, S, D] = shape as [number, number, number, number];
    if (heads !== undefined && heads !== H) throw invalid(`${op}: ${what} has ${H} heads but the attribute says ${heads}`);
    return { v: id, B, H, S, D };
  }
  if (shape.length !== 3) throw invalid(`${op}: ${what} must have rank 3 or 4, got [${shape.join(',')}]`);
  if (heads === undefined || heads <= 0) throw invalid(`${op}: rank-3 ${what} needs a positive num_heads attribute`);
  const [B, S, HD] = shape as [number, number, number];
  if (HD % heads !== 0) throw invalid(`${op}: ${what} hidden size ${HD} is not divisible by ${heads} heads`);
  const D = HD / heads;
  const v = b.op1('Transpose', [b.op1('Reshape', [id, b.int64s([B, S, heads, D])])], { perm: [0, 2, 1, 3] });
  return { v, B, H: heads, S, D };
}

/** A constant of `shape` and `dtype` with element (i, j) of the last two axes = f(i, j). */
function table(b: DecomposeBuilder, dtype: DType, shape: number[], f: (i: number, j: number) => number): ValueId {
  const rows = shape[shape.length - 2]!;
  const cols = shape[shape.length - 1]!;
  const t = Tensor.zeros(dtype, shape);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t.set(i * cols + j, f(i, j));
  return b.constant(t);
}

/**
 * Attention as primitives (the ONNX function body): heads views, present = Concat(past, K/V) on
 * axis 2, GQA by Expand of each KV head over its group, scores = MatMul(Q, K^T) * scale,
 * softcap * Tanh(scores / softcap), + bias (attn_mask: bool via Where(m, 0, -inf), padded with -inf
 * to the total length; causal as a constant 0/-inf table, or against nonpad_kv_seqlen; padding
 * j >= nonpad[b]), Softmax on the last axis (in the softmax_precision type when it is wider than
 * T), rows whose bias is all -inf set to 0 (as the reference), MatMul with V, back to rank 3 when
 * Q was. Static shapes only.
 */
function decomposeAttention(b: DecomposeBuilder, a: AttentionAttrs): (ValueId | null)[] | null {
  const op = 'Attention';
  const id = (i: number): ValueId | null => b.ids[i] ?? null;
  const shapes = [0, 1, 2, 3, 4, 5, 6].map((i) => (id(i) === null ? null : staticShape(b.inputs[i])));
  if (shapes.some((sh, i) => id(i) !== null && sh === null)) return null;
  const qs = shapes[0]!;
  const dt = b.inputs[0]!.dtype;
  checkFloat(op, { dtype: dt });
  if (shapes[1]!.length !== qs.length || shapes[2]!.length !== qs.length) throw invalid(`${op}: Q, K and V must have the same rank`);
  if (id(6) !== null && b.opset < 24) throw invalid(`${op}: input nonpad_kv_seqlen needs opset 24 or newer (model has ${b.opset})`);
  const Q = headView(b, id(0)!, qs, a.qHeads, 'Q');
  const K = headView(b, id(1)!, shapes[1]!, a.kvHeads, 'K');
  const V = headView(b, id(2)!, shapes[2]!, a.kvHeads, 'V');
  const { B, H: Hq, S, D } = Q;
  const Hkv = K.H;
  if (K.B !== B || V.B !== B) throw invalid(`${op}: Q, K and V must have the same batch size`);
  if (K.D !== D) throw invalid(`${op}: Q head size ${D} differs from K head size ${K.D}`);
  if (V.H !== Hkv || V.S !== K.S) throw invalid(`${op}: K and V must have the same number of heads and sequence length`);
  const G = groupSize(op, Hq, Hkv);
  const Dv = V.D;
  const present = (pastAt: number, cur: HeadView, what: string): { v: ValueId; p: number } => {
    const past = id(pastAt);
    if (past === null) return { v: cur.v, p: 0 };
    const ps = shapes[pastAt]!;
    if (ps.length !== 4 || ps[0] !== B || ps[1] !== Hkv || ps[3] !== cur.D) {
      throw invalid(`${op}: ${what} shape [${ps.join(',')}] must be [${B},${Hkv},past_len,${cur.D}]`);
    }
    return { v: b.op1('Concat', [past, cur.v], { axis: 2 }), p: ps[2]! };
  };
  const pk = present(4, K, 'past_key');
  const pv = present(5, V, 'past_value');
  if (pk.p !== pv.p) throw invalid(`${op}: past_key and past_value have different sequence lengths`);
  const T = pk.p + K.S;
  // query head h reads KV head floor(h / G): repeat each KV head G times, adjacent
  const repeat = (x: ValueId, d: number): ValueId => (G === 1 ? x
    : b.op1('Reshape', [b.op1('Expand', [b.op1('Reshape', [x, b.int64s([B, Hkv, 1, T, d])]), b.int64s([B, Hkv, G, T, d])]),
      b.int64s([B, Hq, T, d])]));
  const kT = b.op1('Transpose', [repeat(pk.v, D)], { perm: [0, 1, 3, 2] });
  const raw = b.op1('Mul', [b.op1('MatMul', [Q.v, kT]), b.scalar(dt, a.scale ?? 1 / Math.sqrt(D))]);
  const capped = a.softcap > 0
    ? b.op1('Mul', [b.op1('Tanh', [b.op1('Div', [raw, b.scalar(dt, a.softcap)])]), b.scalar(dt, a.softcap)])
    : raw;
  // additive bias terms (each broadcast against [B, Hq, S, T])
  const terms: ValueId[] = [];
  let mayMaskRows = false;
  const maskId = id(3);
  if (maskId !== null) {
    const ms = shapes[3]!;
    if (ms.length > 4 || ms.length === 0) throw invalid(`${op}: attn_mask must have rank 1 to 4, got [${ms.join(',')}]`);
    const last = ms[ms.length - 1]!;
    if (last > T) throw invalid(`${op}: attn_mask last dim ${last} exceeds the total sequence length ${T}`);
    const mdt = b.inputs[3]!.dtype;
    let m: ValueId;
    if (mdt === 'bool') m = b.op1('Where', [maskId, b.scalar(dt, 0), b.scalar(dt, -Infinity)]);
    else if (isFloat(mdt)) m = castTo(b, maskId, dt);
    else throw unsupported(`${op}: attn_mask dtype ${mdt} is not supported (bool or float)`);
    if (last < T) {
      const pad = Tensor.zeros(dt, [...ms.slice(0, -1), T - last]);
      for (let i = 0; i < pad.size; i++) pad.set(i, -Infinity);
      m = b.op1('Concat', [m, b.constant(pad)], { axis: ms.length - 1 });
    }
    terms.push(m);
    mayMaskRows = true;
  }
  const nonpadId = id(6);
  let np: ValueId | null = null;
  if (nonpadId !== null) {
    if (shapes[6]!.reduce((p, q) => p * q, 1) !== B) throw invalid(`${op}: nonpad_kv_seqlen must have ${B} values (one per batch)`);
    np = b.op1('Reshape', [castTo(b, nonpadId, 'f32'), b.int64s([B, 1, 1, 1])]);
    // padding: j >= nonpad[b]
    const j = table(b, 'f32', [1, 1, 1, T], (_i, jj) => jj);
    terms.push(b.op1('Where', [b.op1('GreaterOrEqual', [j, np]), b.scalar(dt, -Infinity), b.scalar(dt, 0)]));
    mayMaskRows = true;
  }
  if (a.isCausal) {
    if (id(4) !== null || np === null) {
      // keys after the query's position (offset by the past length) are masked
      terms.push(table(b, dt, [S, T], (i, j) => (j > i + pk.p ? -Infinity : 0)));
    } else {
      // external cache: j > i + nonpad[b] - S, i.e. j - i + S > nonpad[b]
      const rel = table(b, 'f32', [1, 1, S, T], (i, j) => j - i + S);
      terms.push(b.op1('Where', [b.op1('Greater', [rel, np]), b.scalar(dt, -Infinity), b.scalar(dt, 0)]));
      mayMaskRows = true;
    }
  }
  const bias = terms.length === 0 ? null : terms.slice(1).reduce((x, y) => b.op1('Add', [x, y]), terms[0]!);
  const logits = bias === null ? capped : b.op1('Add', [capped, bias]);
  // softmax_precision: a wider type than T runs the softmax there
  const wider = a.softmaxType !== undefined && dtypeBits(a.softmaxType) > dtypeBits(dt) ? a.softmaxType : dt;
  let probs = castTo(b, b.op1('Softmax', [castTo(b, logits, wider)], { axis: -1 }), dt);
  if (bias !== null && mayMaskRows) {
    // a row whose bias is -inf everywhere attends to nothing (Softmax gives NaN there)
    const rowMax = b.reduce('ReduceMax', bias, [b.typeOf(bias).shape.length - 1]);
    probs = b.op1('Where', [b.op1('Greater', [rowMax, b.scalar(dt, -Infinity)]), probs, b.scalar(dt, 0)]);
  }
  const y4 = b.op1('MatMul', [probs, repeat(pv.v, Dv)]);
  const y = qs.length === 4 ? y4
    : b.op1('Reshape', [b.op1('Transpose', [y4], { perm: [0, 2, 1, 3] }), b.int64s([B, S, Hq * Dv])]);
  const qk = [raw, capped, logits, probs][a.mode]!;
  return [y, pk.v, pv.v, qk];
}

/**
 * RotaryEmbedding as primitives: cos/sin rows (Gather by position_ids, or the [B, S, R/2] caches)
 * viewed to broadcast over heads; the rotated part x[..., :R] split into halves (or even/odd
 * pairs through a [..., R/2, 2] view when interleaved); (c x1 - s x2, s x1 + c x2) joined back and
 * concatenated with the pass-through features. Static shapes only.
 */
function decomposeRotary(b: DecomposeBuilder, a: RotaryAttrs): (ValueId | null)[] | null {
  const op = 'RotaryEmbedding';
  const xs = staticShape(b.inputs[0]);
  const cs = staticShape(b.inputs[1]);
  if (!xs || !cs || !staticShape(b.inputs[2]) || (b.ids[3] != null && !staticShape(b.inputs[3]))) return null;
  const dt = b.inputs[0]!.dtype;
  checkFloat(op, { dtype: dt });
  let B: number, S: number, H: number, D: number;
  if (xs.length === 4) [B, H, S, D] = xs as [number, number, number, number];
  else if (xs.length === 3) {
    if (a.numHeads <= 0) throw invalid(`${op}: rank-3 input needs the num_heads attribute`);
    [B, S] = xs as [number, number];
    H = a.numHeads;
    if (xs[2]! % H !== 0) throw invalid(`${op}: hidden size ${xs[2]} is not divisible by num_heads ${H}`);
    D = xs[2]! / H;
  } else throw invalid(`${op}: input must have rank 3 or 4, got [${xs.join(',')}]`);
  const R = a.rotaryDim === 0 ? D : a.rotaryDim;
  if (R > D || R % 2 !== 0) throw invalid(`${op}: rotary dim ${R} must be even and at most the head size ${D}`);
  const half = R / 2;
  if (cs[cs.length - 1] !== half) throw invalid(`${op}: cos/sin cache last dim must be ${half}, got [${cs.join(',')}]`);
  const pos = b.ids[3] ?? null;
  if (pos !== null ? cs.length !== 2 : cs.length !== 3 || cs[0] !== B || cs[1] !== S) {
    throw invalid(`${op}: cos/sin caches of shape [${cs.join(',')}] do not fit the input (with position_ids: [max_position, ${half}]; without: [${B},${S},${half}])`);
  }
  // x as rank 4 and the cos/sin view broadcasting over its head axis
  const x4 = xs.length === 4 ? b.ids[0]! : b.op1('Reshape', [b.ids[0]!, b.int64s([B, S, H, D])]);
  const view = xs.length === 4 ? [B, 1, S, half] : [B, S, 1, half];
  const rows = (cache: ValueId): ValueId => {
    const r = pos === null ? cache : b.op1('Gather', [cache, pos], { axis: 0 });
    return b.op1('Reshape', [castTo(b, r, dt), b.int64s(view)]);
  };
  const c = rows(b.ids[1]!);
  const sn = rows(b.ids[2]!);
  const lead = (xs.length === 4 ? [B, H, S] : [B, S, H]);
  let x1: ValueId;
  let x2: ValueId;
  const rot = R === D ? x4 : sliceAxis(b, x4, 3, 0, R);
  if (a.interleaved) {
    const pairs = b.op1('Reshape', [rot, b.int64s([...lead, half, 2])]);
    x1 = b.op1('Reshape', [sliceAxis(b, pairs, 4, 0, 1), b.int64s([...lead, half])]);
    x2 = b.op1('Reshape', [sliceAxis(b, pairs, 4, 1, 2), b.int64s([...lead, half])]);
  } else {
    x1 = sliceAxis(b, rot, 3, 0, half);
    x2 = sliceAxis(b, rot, 3, half, R);
  }
  const y1 = b.op1('Sub', [b.op1('Mul', [c, x1]), b.op1('Mul', [sn, x2])]);
  const y2 = b.op1('Add', [b.op1('Mul', [sn, x1]), b.op1('Mul', [c, x2])]);
  let y = a.interleaved
    ? b.op1('Reshape', [b.op1('Concat', [b.op1('Reshape', [y1, b.int64s([...lead, half, 1])]), b.op1('Reshape', [y2, b.int64s([...lead, half, 1])])], { axis: 4 }),
      b.int64s([...lead, R])])
    : b.op1('Concat', [y1, y2], { axis: 3 });
  if (R < D) y = b.op1('Concat', [y, sliceAxis(b, x4, 3, R, D)], { axis: 3 });
  return [xs.length === 4 ? y : b.op1('Reshape', [y, b.int64s(xs)])];
}

/**
 * CausalConvWithState as primitives: padded = Concat(past_state or zeros, X) on the length axis;
 * Y = Conv(padded, W, bias, group = C) as a 2-D depthwise convolution on [B, C, 1, L + k - 1]
 * views (then Y * Sigmoid(Y) for silu); present_state = padded[..., L:]. Static shapes only.
 */
function decomposeCausalConv(b: DecomposeBuilder, a: { silu: boolean }): (ValueId | null)[] | null {
  const op = 'CausalConvWithState';
  const xs = staticShape(b.inputs[0]);
  const ws = staticShape(b.inputs[1]);
  if (!xs || !ws || (b.ids[3] != null && !staticShape(b.inputs[3]))) return null;
  const dt = b.inputs[0]!.dtype;
  checkFloat(op, { dtype: dt });
  if (xs.length !== 3) throw invalid(`${op}: input must have rank 3 (batch, channels, length), got [${xs.join(',')}]`);
  const [B, C, L] = xs as [number, number, number];
  if (ws.length !== 3 || ws[0] !== C || ws[1] !== 1 || ws[2]! < 1) throw invalid(`${op}: weight must have shape [${C},1,k], got [${ws.join(',')}]`);
  const k = ws[2]!;
  const bias = b.ids[2] ?? null;
  const bs = bias === null ? null : staticShape(b.inputs[2]);
  if (bias !== null && (!bs || bs.length !== 1 || bs[0] !== C)) throw invalid(`${op}: bias must have shape [${C}]`);
  const past = b.ids[3] ?? null;
  const ps = past === null ? null : staticShape(b.inputs[3])!;
  if (ps && (ps.length !== 3 || ps[0] !== B || ps[1] !== C || ps[2] !== k - 1)) {
    throw invalid(`${op}: past_state must have shape [${B},${C},${k - 1}], got [${ps.join(',')}]`);
  }
  const P = L + k - 1;
  const padded = k === 1 ? b.ids[0]! : b.op1('Concat', [past ?? b.constant(Tensor.zeros(dt, [B, C, k - 1])), b.ids[0]!], { axis: 2 });
  const conv = b.op1('Conv', [b.op1('Reshape', [padded, b.int64s([B, C, 1, P])]), b.op1('Reshape', [b.ids[1]!, b.int64s([C, 1, 1, k])]), bias],
    { group: C, kernel_shape: [1, k] });
  let y = b.op1('Reshape', [conv, b.int64s([B, C, L])]);
  if (a.silu) y = b.op1('Mul', [y, b.op1('Sigmoid', [y])]);
  // k = 1: an empty [B, C, 0] state, sliced from the runtime input so it is not a constant output
  const present = sliceAxis(b, padded, 2, L, P);
  return [y, present];
}

/**
 * FlexAttention as primitives: scores = MatMul(Q, K^T) * scale in T (KV heads repeated over their
 * query-head group), widened to float32 for 16-bit T; score_mod inlined; Softmax on the last axis;
 * prob_mod inlined; MatMul with V in that precision, then back to T. The modifier subgraphs are
 * copied in (their captures bound to the node's implicit inputs). Static shapes only.
 */
function decomposeFlex(b: DecomposeBuilder, a: FlexAttrs): (ValueId | null)[] | null {
  const op = 'FlexAttention';
  const [qs, ks, vs] = [0, 1, 2].map((i) => staticShape(b.inputs[i]));
  if (!qs || !ks || !vs) return null;
  if (qs.length !== 4 || ks.length !== 4 || vs.length !== 4) throw invalid(`${op}: Q, K and V must have rank 4`);
  const dt = b.inputs[0]!.dtype;
  checkFloat(op, { dtype: dt });
  const [B, Hq, L, E] = qs as [number, number, number, number];
  const [, Hkv, S] = ks as [number, number, number];
  const Ev = vs[3]!;
  if (ks[0] !== B || vs[0] !== B || ks[3] !== E || vs[1] !== Hkv || vs[2] !== S) {
    throw invalid(`${op}: Q [${qs.join(',')}], K [${ks.join(',')}] and V [${vs.join(',')}] do not match`);
  }
  const G = groupSize(op, Hq, Hkv);
  const repeat = (x: ValueId, d: number): ValueId => (G === 1 ? x
    : b.op1('Reshape', [b.op1('Expand', [b.op1('Reshape', [x, b.int64s([B, Hkv, 1, S, d])]), b.int64s([B, Hkv, G, S, d])]),
      b.int64s([B, Hq, S, d])]));
  const kT = b.op1('Transpose', [repeat(b.ids[1]!, E)], { perm: [0, 1, 3, 2] });
  const prec: DType = dt === 'f16' || dt === 'bf16' ? 'f32' : dt;
  const captures = b.ids.slice(3).filter((x): x is ValueId => x !== null);
  const mod = (g: Graph | undefined, x: ValueId): ValueId | null => {
    if (!g) return x;
    const out = b.inline(g, [x], captures);
    return out === null ? null : castTo(b, out[0]!, prec);
  };
  const scores = mod(a.scoreMod, castTo(b, b.op1('Mul', [b.op1('MatMul', [b.ids[0]!, kT]), b.scalar(dt, a.scale ?? 1 / Math.sqrt(E))]), prec));
  if (scores === null) return null;
  const probs = mod(a.probMod, b.op1('Softmax', [scores], { axis: -1 }));
  if (probs === null) return null;
  return [castTo(b, b.op1('MatMul', [probs, castTo(b, repeat(b.ids[2]!, Ev), prec)]), dt)];
}

// ---------------------------------------------------------------------------------------------
// Attention
// ---------------------------------------------------------------------------------------------

interface AttentionAttrs {
  isCausal: boolean;
  qHeads: number | undefined;
  kvHeads: number | undefined;
  scale: number | undefined;
  softcap: number;
  /** 0: Q.K^T * scale, 1: after softcap, 2: after adding the mask/bias, 3: after softmax. */
  mode: number;
  /** softmax_precision: the float type the softmax runs in at least (undefined: the input's). */
  softmaxType: DType | undefined;
}

/**
 * Additive bias b[b, h, i, j] of Attention: the attention mask (bool: 0 / -inf; float: its value),
 * padded with -inf past its last dim, the causal mask (-inf where j > i + offset) and the
 * nonpad_kv_seqlen padding mask (-inf where j >= nonpad[b]).
 */
function attentionBias(
  mask: Tensor | null, nonpad: number[] | null, causal: boolean, past: number | null,
  B: number, H: number, S: number, T: number,
): (b: number, h: number, i: number, j: number) => number {
  let maskAt: ((b: number, h: number, i: number, j: number) => number) | null = null;
  if (mask) {
    const m = mask.shape;
    if (m.length > 4 || m.length === 0) throw invalid(`Attention: attn_mask must have rank 1 to 4, got [${m.join(',')}]`);
    const full = [B, H, S, T];
    const dims = [1, 1, 1, 1];
    m.forEach((d, k) => { dims[4 - m.length + k] = d; });
    const last = dims[3]!;
    if (last > T) throw invalid(`Attention: attn_mask last dim ${last} exceeds the total sequence length ${T}`);
    for (let k = 0; k < 3; k++) {
      if (dims[k] !== 1 && dims[k] !== full[k]) {
        throw invalid(`Attention: attn_mask shape [${m.join(',')}] does not broadcast to [${full.join(',')}]`);
      }
    }
    const st = [dims[1]! * dims[2]! * last, dims[2]! * last, last];
    const sb = dims[0] === 1 ? 0 : st[0]!;
    const sh = dims[1] === 1 ? 0 : st[1]!;
    const si = dims[2] === 1 ? 0 : st[2]!;
    const isBool = mask.dtype === 'bool';
    if (!isBool && !isFloat(mask.dtype)) throw unsupported(`Attention: attn_mask dtype ${mask.dtype} is not supported (bool or float)`);
    const md = numData(mask);
    maskAt = (b, h, i, j) => {
      if (j >= last) return -Infinity;
      const v = md[b * sb + h * sh + i * si + j]!;
      return isBool ? (v !== 0 ? 0 : -Infinity) : v;
    };
  }
  return (b, h, i, j) => {
    let v = maskAt ? maskAt(b, h, i, j) : 0;
    if (causal) {
      // keys before the query block: the past length (internal cache), else nonpad[b] - S
      // (external cache), else 0
      const offset = past !== null ? past : nonpad ? nonpad[b]! - S : 0;
      if (j > i + offset) v += -Infinity;
    }
    if (nonpad && j >= nonpad[b]!) v += -Infinity;
    return v;
  };
}

// Y = softmax(softcap(Q K^T * scale) + bias) V per (batch, query head); bias from attn_mask,
// is_causal and nonpad_kv_seqlen; rows whose bias is all -inf give zero probabilities.
// present_key/value = concat(past, K/V) on the sequence axis.
export const Attention = defineOp<AttentionAttrs>({
  name: 'Attention',
  domain: '',
  since: 23,
  arity: [3, 7],
  attrs: (r: AttrReader) => {
    const mode = r.int('qk_matmul_output_mode', 0);
    if (mode < 0 || mode > 3) throw r.error(`attribute "qk_matmul_output_mode" is ${mode}, expected 0 to 3`);
    const qHeads = r.int('q_num_heads');
    const kvHeads = r.int('kv_num_heads');
    if ((qHeads !== undefined && qHeads <= 0) || (kvHeads !== undefined && kvHeads <= 0)) {
      throw r.error('attributes "q_num_heads" and "kv_num_heads" must be positive');
    }
    // softmax_precision only asks for at least that precision; the softmax here runs in float64
    const sp = r.int('softmax_precision');
    if (sp !== undefined && ![1, 10, 11, 16].includes(sp)) {
      throw r.error(`attribute "softmax_precision" is ${sp}, expected a float type (1, 10, 11, 16)`);
    }
    return {
      isCausal: r.int('is_causal', 0) !== 0,
      qHeads,
      kvHeads,
      scale: r.float('scale'),
      softcap: r.float('softcap', 0),
      mode,
      softmaxType: sp === undefined ? undefined : dtypeFromOnnx(sp),
    };
  },
  infer: (ctx, a) => {
    const op = 'Attention';
    const q = need(ctx.inputs[0], 0, op);
    const k = need(ctx.inputs[1], 1, op);
    const v = need(ctx.inputs[2], 2, op);
    checkFloat(op, q);
    if (q.shape.length !== k.shape.length || q.shape.length !== v.shape.length) {
      throw invalid(`${op}: Q, K and V must have the same rank`);
    }
    const [B, Hq, Sq] = headDims(ctx, q, a.qHeads, op, 'Q');
    const [, Hkv, Skv, Dk] = headDims(ctx, k, a.kvHeads, op, 'K');
    const [, , , Dv] = headDims(ctx, v, a.kvHeads, op, 'V');
    const past = ctx.inputs[4];
    const T = past && past.shape.length === 4 ? dimAdd(ctx, past.shape[2]!, Skv) : Skv;
    const y: TensorType = q.shape.length === 4
      ? { dtype: q.dtype, shape: [B, Hq, Sq, Dv] }
      : { dtype: q.dtype, shape: [B, Sq, typeof Dv === 'number' && typeof Hq === 'number' ? Hq * Dv : ctx.freshDim()] };
    return [
      y,
      { dtype: k.dtype, shape: [B, Hkv, T, Dk] },
      { dtype: v.dtype, shape: [B, Hkv, T, Dv] },
      { dtype: q.dtype, shape: [B, Hq, Sq, T] },
    ];
  },
  ref: (ins, a, ctx) => {
    const op = 'Attention';
    const Qt = need(ins[0], 0, op);
    const Kt = need(ins[1], 1, op);
    const Vt = need(ins[2], 2, op);
    for (const t of [Qt, Kt, Vt]) checkFloat(op, t);
    const rank = Qt.shape.length;
    if (Kt.shape.length !== rank || Vt.shape.length !== rank) throw invalid(`${op}: Q, K and V must have the same rank`);
    const nonpadT = ins[6] ?? null;
    if (nonpadT && ctx.opset < 24) throw invalid(`${op}: input nonpad_kv_seqlen needs opset 24 or newer (model has ${ctx.opset})`);
    const Q = readHeads(Qt, a.qHeads, op, 'Q');
    const K = readHeads(Kt, a.kvHeads, op, 'K');
    const V = readHeads(Vt, a.kvHeads, op, 'V');
    const { b: B, h: Hq, s: S, d: D } = Q;
    const Hkv = K.h;
    if (K.b !== B || V.b !== B) throw invalid(`${op}: Q, K and V must have the same batch size`);
    if (K.d !== D) throw invalid(`${op}: Q head size ${D} differs from K head size ${K.d}`);
    if (V.h !== Hkv || V.s !== K.s) throw invalid(`${op}: K and V must have the same number of heads and sequence length`);
    const G = groupSize(op, Hq, Hkv);
    const Dv = V.d;
    // present = concat(past, new) along the sequence axis
    const concat = (past: Tensor | null, cur: Heads, what: string): { x: FArr; s: number; p: number } => {
      if (!past) return { x: cur.x, s: cur.s, p: 0 };
      const ps = past.shape;
      if (ps.length !== 4 || ps[0] !== B || ps[1] !== Hkv || ps[3] !== cur.d) {
        throw invalid(`${op}: ${what} shape [${ps.join(',')}] must be [${B},${Hkv},past_len,${cur.d}]`);
      }
      const P = ps[2]!;
      const s = P + cur.s;
      const px = floatData(past);
      const x = new Float64Array(B * Hkv * s * cur.d);
      for (let bh = 0; bh < B * Hkv; bh++) {
        for (let i = 0; i < P * cur.d; i++) x[bh * s * cur.d + i] = px[bh * P * cur.d + i]!;
        for (let i = 0; i < cur.s * cur.d; i++) x[bh * s * cur.d + P * cur.d + i] = cur.x[bh * cur.s * cur.d + i]!;
      }
      return { x, s, p: P };
    };
    const pk = concat(ins[4] ?? null, K, 'past_key');
    const pv = concat(ins[5] ?? null, V, 'past_value');
    if (pk.s !== pv.s) throw invalid(`${op}: past_key and past_value have different sequence lengths`);
    const T = pk.s;
    let nonpad: number[] | null = null;
    if (nonpadT) {
      if (nonpadT.size !== B) throw invalid(`${op}: nonpad_kv_seqlen must have ${B} values (one per batch), got ${nonpadT.size}`);
      nonpad = Array.from(numData(nonpadT) as ArrayLike<number>);
    }
    const bias = attentionBias(ins[3] ?? null, nonpad, a.isCausal, ins[4] ? pk.p : null, B, Hq, S, T);
    const scale = a.scale ?? 1 / Math.sqrt(D);
    const y = new Float64Array(B * Hq * S * Dv);
    const qk = new Float64Array(B * Hq * S * T);
    const row = new Float64Array(T);
    const p = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / G);
        const kBase = (b * Hkv + kvh) * T;
        for (let i = 0; i < S; i++) {
          const qOff = ((b * Hq + h) * S + i) * D;
          const qkOff = ((b * Hq + h) * S + i) * T;
          let allMasked = true;
          for (let j = 0; j < T; j++) {
            let dot = 0;
            const kOff = (kBase + j) * D;
            for (let d = 0; d < D; d++) dot += Q.x[qOff + d]! * pk.x[kOff + d]!;
            const raw = dot * scale;
            const capped = a.softcap > 0 ? a.softcap * Math.tanh(raw / a.softcap) : raw;
            const bv = bias(b, h, i, j);
            if (bv !== -Infinity) allMasked = false;
            row[j] = capped + bv;
            qk[qkOff + j] = a.mode === 0 ? raw : a.mode === 1 ? capped : row[j]!;
          }
          // softmax over j; a fully masked row attends to nothing (zero probabilities)
          if (allMasked) p.fill(0);
          else {
            let mx = -Infinity;
            for (let j = 0; j < T; j++) if (row[j]! > mx) mx = row[j]!;
            let sum = 0;
            for (let j = 0; j < T; j++) { p[j] = Math.exp(row[j]! - mx); sum += p[j]!; }
            for (let j = 0; j < T; j++) p[j]! /= sum;
          }
          if (a.mode === 3) for (let j = 0; j < T; j++) qk[qkOff + j] = p[j]!;
          const yOff = ((b * Hq + h) * S + i) * Dv;
          for (let j = 0; j < T; j++) {
            const pj = p[j]!;
            const vOff = (kBase + j) * Dv;
            for (let d = 0; d < Dv; d++) y[yOff + d]! += pj * pv.x[vOff + d]!;
          }
        }
      }
    }
    const f64 = (x: FArr) => (x instanceof Float64Array ? x : Float64Array.from(x));
    return [
      writeHeads(Qt.dtype, y, B, Hq, S, Dv, rank),
      tensorFromF64(Kt.dtype, [B, Hkv, T, D], f64(pk.x)),
      tensorFromF64(Vt.dtype, [B, Hkv, T, Dv], f64(pv.x)),
      tensorFromF64(Qt.dtype, [B, Hq, S, T], qk),
    ];
  },
  cost: (_c, _a, outs) => {
    // scores (B, Hq, Sq, T) each take a Dk-long dot product and feed a Dv-long accumulation
    const scores = elems(outs[3]?.shape ?? []);
    const last = (t: TensorType | undefined) => {
      const d = t?.shape[3];
      return typeof d === 'number' ? d : 1;
    };
    return { macs: scores * (last(outs[1]) + last(outs[2])), flops: 5 * scores };
  },
  decompose: decomposeAttention,
});

// ---------------------------------------------------------------------------------------------
// FlexAttention (ai.onnx.preview)
// ---------------------------------------------------------------------------------------------

interface FlexAttrs {
  scale: number | undefined;
  scoreMod: Graph | undefined;
  probMod: Graph | undefined;
}

/** A one-input one-output graph attribute, or undefined when absent. */
function modGraph(r: AttrReader, name: string): Graph | undefined {
  const g = r.graph(name);
  if (g && (g.inputs.length !== 1 || g.outputs.length !== 1)) throw r.error(`attribute "${name}" must be a graph with one input and one output`);
  return g;
}

/** Applies a modifier subgraph to a (B, H, L, S) tensor; returns its float64 result. */
type ModRunner = (g: Graph, x: Tensor, what: string) => Float64Array;

/**
 * FlexAttention on explicit inputs Q, K, V.
 * @param mod runs score_mod / prob_mod (the interpreter's subgraph runner)
 */
function flexAttention(ins: (Tensor | null)[], a: FlexAttrs, mod: ModRunner): Tensor {
  const op = 'FlexAttention';
  const Qt = need(ins[0], 0, op);
  const Kt = need(ins[1], 1, op);
  const Vt = need(ins[2], 2, op);
  for (const t of [Qt, Kt, Vt]) {
    checkFloat(op, t);
    if (t.shape.length !== 4) throw invalid(`${op}: Q, K and V must have rank 4`);
  }
  const Q = readHeads(Qt, undefined, op, 'Q');
  const K = readHeads(Kt, undefined, op, 'K');
  const V = readHeads(Vt, undefined, op, 'V');
  const { b: B, h: Hq, s: L, d: E } = Q;
  const { h: Hkv, s: S } = K;
  if (K.b !== B || V.b !== B || K.d !== E || V.h !== Hkv || V.s !== S) {
    throw invalid(`${op}: Q [${Qt.shape.join(',')}], K [${Kt.shape.join(',')}] and V [${Vt.shape.join(',')}] do not match`);
  }
  const G = groupSize(op, Hq, Hkv);
  const Ev = V.d;
  const scale = a.scale ?? 1 / Math.sqrt(E);
  let scores: Float64Array = new Float64Array(B * Hq * L * S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / G);
      for (let i = 0; i < L; i++) {
        const qOff = ((b * Hq + h) * L + i) * E;
        for (let j = 0; j < S; j++) {
          const kOff = ((b * Hkv + kvh) * S + j) * E;
          let dot = 0;
          for (let d = 0; d < E; d++) dot += Q.x[qOff + d]! * K.x[kOff + d]!;
          scores[((b * Hq + h) * L + i) * S + j] = dot * scale;
        }
      }
    }
  }
  // The scores are a T tensor; score_mod, softmax and prob_mod then run in at least float32
  // (16-bit inputs are widened, as the op's function body does).
  const shape = [B, Hq, L, S];
  const prec: DType = Qt.dtype === 'f16' || Qt.dtype === 'bf16' ? 'f32' : Qt.dtype;
  scores = Float64Array.from(floatData(tensorFromF64(Qt.dtype, shape, scores)));
  if (a.scoreMod) scores = mod(a.scoreMod, tensorFromF64(prec, shape, scores), 'score_mod');
  let probs: Float64Array = new Float64Array(scores.length);
  for (let r = 0; r < B * Hq * L; r++) {
    let mx = -Infinity;
    for (let j = 0; j < S; j++) mx = Math.max(mx, scores[r * S + j]!);
    let sum = 0;
    for (let j = 0; j < S; j++) { const e = Math.exp(scores[r * S + j]! - mx); probs[r * S + j] = e; sum += e; }
    for (let j = 0; j < S; j++) probs[r * S + j]! /= sum;
  }
  if (a.probMod) probs = mod(a.probMod, tensorFromF64(prec, shape, probs), 'prob_mod');
  const y = new Float64Array(B * Hq * L * Ev);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / G);
      for (let i = 0; i < L; i++) {
        const r = (b * Hq + h) * L + i;
        for (let j = 0; j < S; j++) {
          const pj = probs[r * S + j]!;
          const vOff = ((b * Hkv + kvh) * S + j) * Ev;
          for (let d = 0; d < Ev; d++) y[r * Ev + d]! += pj * V.x[vOff + d]!;
        }
      }
    }
  }
  return tensorFromF64(Qt.dtype, [B, Hq, L, Ev], y);
}

// Scores = Q K^T * scale; Scores = score_mod(Scores); P = softmax(Scores); P = prob_mod(P); Y = P V
// (rank-4 inputs; query head h uses KV head floor(h / (Hq / Hkv)); score_mod and prob_mod see
// float32 tensors for 16-bit inputs, T otherwise).
export const FlexAttention = defineOp<FlexAttrs>({
  name: 'FlexAttention',
  domain: 'ai.onnx.preview',
  since: 1,
  arity: [3, 3],
  attrs: (r) => ({ scale: r.float('scale'), scoreMod: modGraph(r, 'score_mod'), probMod: modGraph(r, 'prob_mod') }),
  infer: (ctx) => {
    const op = 'FlexAttention';
    const q = need(ctx.inputs[0], 0, op);
    const k = need(ctx.inputs[1], 1, op);
    const v = need(ctx.inputs[2], 2, op);
    checkFloat(op, q);
    if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) throw invalid(`${op}: Q, K and V must have rank 4`);
    return [{ dtype: q.dtype, shape: [q.shape[0]!, q.shape[1]!, q.shape[2]!, v.shape[3]!] }];
  },
  ref: (ins, a) => [flexAttention(ins, a, () => {
    throw unsupported('FlexAttention: score_mod / prob_mod subgraphs run only in the interpreter (run hook)');
  })],
  run: (ins, a, ctx: RunCtx) => {
    // trailing implicit inputs are the outer-scope values the subgraphs capture
    const nImplicit = implicitInputCount(ctx.node);
    const captures = ins.slice(ins.length - nImplicit) as RtValue[];
    const explicit = ins.slice(0, ins.length - nImplicit).map((t, k) => {
      if (t !== null && !(t instanceof Tensor)) throw invalid(`FlexAttention: input ${k} must be a tensor`);
      return t;
    });
    const mod: ModRunner = (g, x, what) => {
      const out = ctx.runSubgraph(g, [x], captures)[0];
      if (!(out instanceof Tensor) || out.shape.length !== x.shape.length || out.shape.some((d, i) => d !== x.shape[i])) {
        throw invalid(`FlexAttention: ${what} must return a tensor of shape [${x.shape.join(',')}]`);
      }
      return Float64Array.from(floatData(out));
    };
    return [flexAttention(explicit, a, mod)];
  },
  cost: (ctx, _a, outs) => {
    // scores (B, Hq, L, S): an E-long dot product each, then an Ev-long accumulation
    const q = ctx.inputs[0]?.shape ?? [];
    const k = ctx.inputs[1]?.shape ?? [];
    const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);
    const scores = elems(q.slice(0, 3)) * num(k[2]);
    return { macs: scores * (num(q[3]) + num(outs[0]?.shape[3])), flops: 5 * scores };
  },
  decompose: decomposeFlex,
});

// ---------------------------------------------------------------------------------------------
// LinearAttention
// ---------------------------------------------------------------------------------------------

type UpdateRule = 'linear' | 'gated' | 'delta' | 'gated_delta';

interface LinearAttrs {
  qHeads: number;
  kvHeads: number;
  scale: number;
  rule: UpdateRule;
}

// Recurrent state S (d_k x d_v per KV head), for each step t:
//   gated rules: S *= exp(decay_t) (per head or per key dim);
//   delta rules: v_t = beta_t * (v_t - S^T (erase_t * k_t));
//   S += k_t v_t^T;  o_t = scale * q_t^T S (query head h reads KV head floor(h / group)).
export const LinearAttention = defineOp<LinearAttrs>({
  name: 'LinearAttention',
  domain: '',
  since: 27,
  arity: [3, 7],
  attrs: (r) => {
    const qHeads = r.int('q_num_heads');
    const kvHeads = r.int('kv_num_heads');
    if (qHeads === undefined || kvHeads === undefined) throw r.error('attributes "q_num_heads" and "kv_num_heads" are required');
    if (qHeads <= 0 || kvHeads <= 0 || qHeads % kvHeads !== 0) {
      throw r.error(`q_num_heads (${qHeads}) must be a positive multiple of kv_num_heads (${kvHeads})`);
    }
    r.int('chunk_size', 64); // a tuning hint with no effect on the result
    return {
      qHeads,
      kvHeads,
      scale: r.float('scale', 0),
      rule: r.oneOf<UpdateRule>('update_rule', 'gated_delta', ['linear', 'gated', 'delta', 'gated_delta']),
    };
  },
  infer: (ctx, a) => {
    const op = 'LinearAttention';
    const q = need(ctx.inputs[0], 0, op);
    const k = need(ctx.inputs[1], 1, op);
    const v = need(ctx.inputs[2], 2, op);
    checkFloat(op, q);
    for (const [t, n] of [[q, 'query'], [k, 'key'], [v, 'value']] as const) {
      if (t.shape.length !== 3) throw invalid(`${op}: ${n} must have rank 3 (batch, seq, heads * size)`);
    }
    const dk = dimDiv(ctx, q.shape[2]!, a.qHeads, op, 'query hidden size');
    const dv = dimDiv(ctx, v.shape[2]!, a.kvHeads, op, 'value hidden size');
    const past = ctx.inputs[3];
    return [
      { dtype: q.dtype, shape: [q.shape[0]!, q.shape[1]!, dimMul(ctx, dv, a.qHeads)] },
      { dtype: past?.dtype ?? q.dtype, shape: [q.shape[0]!, a.kvHeads, dk, dv] },
    ];
  },
  ref: (ins, a) => {
    const op = 'LinearAttention';
    const qt = need(ins[0], 0, op);
    const kt = need(ins[1], 1, op);
    const vt = need(ins[2], 2, op);
    const [pastT, decayT, betaT, eraseT] = [ins[3] ?? null, ins[4] ?? null, ins[5] ?? null, ins[6] ?? null];
    const gating = a.rule === 'gated' || a.rule === 'gated_delta';
    const delta = a.rule === 'delta' || a.rule === 'gated_delta';
    if (gating !== (decayT !== null)) throw invalid(`${op}: update_rule "${a.rule}" ${gating ? 'requires' : 'forbids'} the decay input`);
    if (delta !== (betaT !== null)) throw invalid(`${op}: update_rule "${a.rule}" ${delta ? 'requires' : 'forbids'} the beta input`);
    if (eraseT && !delta) throw invalid(`${op}: update_rule "${a.rule}" forbids the erase_gate input`);
    for (const t of [qt, kt, vt]) {
      checkFloat(op, t);
      if (t.shape.length !== 3) throw invalid(`${op}: query, key and value must have rank 3, got [${t.shape.join(',')}]`);
    }
    const Hq = a.qHeads;
    const Hkv = a.kvHeads;
    const Q = readHeads(qt, Hq, op, 'query');
    const K = readHeads(kt, Hkv, op, 'key');
    const V = readHeads(vt, Hkv, op, 'value');
    const { b: B, s: T, d: dk } = Q;
    const dv = V.d;
    if (K.b !== B || V.b !== B || K.s !== T || V.s !== T) throw invalid(`${op}: query, key and value must share batch and sequence sizes`);
    if (K.d !== dk) throw invalid(`${op}: key head size ${K.d} differs from query head size ${dk}`);
    const G = Hq / Hkv;
    // per-step gate readers: value for (b, kv head, t, key dim)
    const perStep = (t: Tensor, name: string, allowed: number[]): ((b: number, h: number, s: number, d: number) => number) => {
      checkFloat(op, t);
      if (t.shape.length !== 3 || t.shape[0] !== B || t.shape[1] !== T) throw invalid(`${op}: ${name} must have shape [${B},${T},n], got [${t.shape.join(',')}]`);
      const last = t.shape[2]!;
      const x = floatData(t);
      if (last === Hkv * dk && allowed.includes(Hkv * dk)) return (b, h, s, d) => x[(b * T + s) * last + h * dk + d]!;
      if (last === Hkv && allowed.includes(Hkv)) return (b, h, s) => x[(b * T + s) * last + h]!;
      if (last === 1 && allowed.includes(1)) return (b, _h, s) => x[b * T + s]!;
      throw invalid(`${op}: ${name} last dim ${last} must be one of ${allowed.join(', ')}`);
    };
    const decay = decayT ? perStep(decayT, 'decay', [Hkv, Hkv * dk]) : null;
    const beta = betaT ? perStep(betaT, 'beta', [Hkv, 1]) : null;
    const erase = eraseT ? perStep(eraseT, 'erase_gate', [Hkv * dk]) : null;
    const state = new Float64Array(B * Hkv * dk * dv);
    if (pastT) {
      checkFloat(op, pastT);
      const ps = pastT.shape;
      if (ps.length !== 4 || ps[0] !== B || ps[1] !== Hkv || ps[2] !== dk || ps[3] !== dv) {
        throw invalid(`${op}: past_state shape [${ps.join(',')}] must be [${B},${Hkv},${dk},${dv}]`);
      }
      state.set(floatData(pastT));
    }
    const scale = a.scale === 0 ? 1 / Math.sqrt(dk) : a.scale;
    const out = new Float64Array(B * Hq * T * dv);
    const vt2 = new Float64Array(dv);
    for (let s = 0; s < T; s++) {
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < Hkv; h++) {
          const st = (b * Hkv + h) * dk * dv;
          const kOff = ((b * Hkv + h) * T + s) * dk;
          const vOff = ((b * Hkv + h) * T + s) * dv;
          if (decay) {
            for (let d = 0; d < dk; d++) {
              const g = Math.exp(decay(b, h, s, d));
              for (let m = 0; m < dv; m++) state[st + d * dv + m]! *= g;
            }
          }
          for (let m = 0; m < dv; m++) vt2[m] = V.x[vOff + m]!;
          if (beta) {
            const bt = beta(b, h, s, 0);
            for (let m = 0; m < dv; m++) {
              let got = 0;
              for (let d = 0; d < dk; d++) {
                const ke = K.x[kOff + d]! * (erase ? erase(b, h, s, d) : 1);
                got += state[st + d * dv + m]! * ke;
              }
              vt2[m] = bt * (vt2[m]! - got);
            }
          }
          for (let d = 0; d < dk; d++) {
            const kd = K.x[kOff + d]!;
            for (let m = 0; m < dv; m++) state[st + d * dv + m]! += kd * vt2[m]!;
          }
        }
        for (let h = 0; h < Hq; h++) {
          const st = (b * Hkv + Math.floor(h / G)) * dk * dv;
          const qOff = ((b * Hq + h) * T + s) * dk;
          const oOff = ((b * Hq + h) * T + s) * dv;
          for (let m = 0; m < dv; m++) {
            let acc = 0;
            for (let d = 0; d < dk; d++) acc += Q.x[qOff + d]! * state[st + d * dv + m]!;
            out[oOff + m] = scale * acc;
          }
        }
      }
    }
    return [
      writeHeads(qt.dtype, out, B, Hq, T, dv, 3),
      tensorFromF64(pastT?.dtype ?? qt.dtype, [B, Hkv, dk, dv], state),
    ];
  },
  cost: (ctx, _a, outs) => {
    // per step: decay, delta read and rank-1 write on the state (~4 ops per state element),
    // and the query read (one MAC per state element per query head)
    const q = ctx.inputs[0]?.shape ?? [];
    const steps = typeof q[1] === 'number' ? q[1] : 1;
    const st = elems(outs[1]?.shape ?? []);
    const o = elems(outs[0]?.shape ?? []);
    const dk = typeof outs[1]?.shape[2] === 'number' ? (outs[1].shape[2] as number) : 1;
    return { macs: o * dk, flops: 4 * st * steps };
  },
});

// ---------------------------------------------------------------------------------------------
// RotaryEmbedding
// ---------------------------------------------------------------------------------------------

interface RotaryAttrs {
  interleaved: boolean;
  rotaryDim: number;
  numHeads: number;
}

// For the first rotary_dim features of each head, pairs (x1, x2) (halves, or even/odd when
// interleaved) become (cos x1 - sin x2, sin x1 + cos x2) with cos/sin = cache[position_ids[b, s]]
// (or cache[b, s] without position_ids); the other features pass through.
export const RotaryEmbedding = defineOp<RotaryAttrs>({
  name: 'RotaryEmbedding',
  domain: '',
  since: 23,
  arity: [3, 4],
  attrs: (r) => {
    const rotaryDim = r.int('rotary_embedding_dim', 0);
    const numHeads = r.int('num_heads', 0);
    if (rotaryDim < 0 || rotaryDim % 2 !== 0) throw r.error(`attribute "rotary_embedding_dim" is ${rotaryDim}, expected an even number >= 0`);
    if (numHeads < 0) throw r.error(`attribute "num_heads" is ${numHeads}, expected >= 0`);
    return { interleaved: r.int('interleaved', 0) !== 0, rotaryDim, numHeads };
  },
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'RotaryEmbedding');
    checkFloat('RotaryEmbedding', x);
    if (x.shape.length !== 3 && x.shape.length !== 4) throw invalid('RotaryEmbedding: input must have rank 3 or 4');
    return [x];
  },
  ref: (ins, a) => {
    const op = 'RotaryEmbedding';
    const X = need(ins[0], 0, op);
    const cosT = need(ins[1], 1, op);
    const sinT = need(ins[2], 2, op);
    const pos = ins[3] ?? null;
    checkFloat(op, X);
    let B: number, S: number, H: number, D: number;
    // offset of (b, s, h, d) in X
    let at: (b: number, s: number, h: number, d: number) => number;
    if (X.shape.length === 4) {
      [B, H, S, D] = X.shape as [number, number, number, number];
      at = (b, s, h, d) => ((b * H + h) * S + s) * D + d;
    } else if (X.shape.length === 3) {
      if (a.numHeads <= 0) throw invalid(`${op}: rank-3 input needs the num_heads attribute`);
      const hd = X.shape[2]!;
      [B, S] = X.shape as [number, number];
      H = a.numHeads;
      if (hd % H !== 0) throw invalid(`${op}: hidden size ${hd} is not divisible by num_heads ${H}`);
      D = hd / H;
      at = (b, s, h, d) => (b * S + s) * hd + h * D + d;
    } else throw invalid(`${op}: input must have rank 3 or 4, got [${X.shape.join(',')}]`);
    const R = a.rotaryDim === 0 ? D : a.rotaryDim;
    if (R > D || R % 2 !== 0) throw invalid(`${op}: rotary dim ${R} must be even and at most the head size ${D}`);
    const half = R / 2;
    for (const c of [cosT, sinT]) {
      checkFloat(op, c);
      if (c.shape[c.shape.length - 1] !== half) throw invalid(`${op}: cos/sin cache last dim must be ${half}, got [${c.shape.join(',')}]`);
    }
    if (cosT.shape.length !== sinT.shape.length || cosT.shape.some((d, i) => d !== sinT.shape[i])) {
      throw invalid(`${op}: cos_cache and sin_cache must have the same shape`);
    }
    const cs = floatData(cosT);
    const sn = floatData(sinT);
    // cache row of (b, s)
    let rowOf: (b: number, s: number) => number;
    if (pos) {
      if (cosT.shape.length !== 2) throw invalid(`${op}: with position_ids the caches must have rank 2 (max_position, rotary_dim / 2)`);
      if (pos.shape.length !== 2 || pos.shape[0] !== B || pos.shape[1] !== S) {
        throw invalid(`${op}: position_ids must have shape [${B},${S}], got [${pos.shape.join(',')}]`);
      }
      const maxPos = cosT.shape[0]!;
      const p = numData(pos);
      rowOf = (b, s) => {
        const r = p[b * S + s]!;
        if (!Number.isInteger(r) || r < 0 || r >= maxPos) throw invalid(`${op}: position id ${r} is out of range [0, ${maxPos})`);
        return r;
      };
    } else {
      if (cosT.shape.length !== 3 || cosT.shape[0] !== B || cosT.shape[1] !== S) {
        throw invalid(`${op}: without position_ids the caches must have shape [${B},${S},${half}], got [${cosT.shape.join(',')}]`);
      }
      rowOf = (b, s) => b * S + s;
    }
    const x = floatData(X);
    const y = Float64Array.from(x);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const row = rowOf(b, s) * half;
        for (let h = 0; h < H; h++) {
          for (let k = 0; k < half; k++) {
            const i1 = at(b, s, h, a.interleaved ? 2 * k : k);
            const i2 = at(b, s, h, a.interleaved ? 2 * k + 1 : k + half);
            const c = cs[row + k]!;
            const sv = sn[row + k]!;
            const x1 = x[i1]!;
            const x2 = x[i2]!;
            y[i1] = c * x1 - sv * x2;
            y[i2] = sv * x1 + c * x2;
          }
        }
      }
    }
    return [tensorFromF64(X.dtype, X.shape, y)];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: 3 * elems(outs[0]?.shape ?? []) }),
  decompose: decomposeRotary,
});

// ---------------------------------------------------------------------------------------------
// CausalConvWithState
// ---------------------------------------------------------------------------------------------

// padded = concat(past_state or zeros, input) on the length axis (k - 1 leading steps);
// output[b, c, t] = act(bias[c] + sum_i weight[c, 0, i] * padded[b, c, t + i]) (depthwise, valid);
// present_state = the last k - 1 steps of padded. act: none, or silu = swish: x * sigmoid(x).
export const CausalConvWithState = defineOp<{ silu: boolean }>({
  name: 'CausalConvWithState',
  domain: '',
  since: 27,
  arity: [2, 4],
  attrs: (r) => ({ silu: r.oneOf('activation', 'none', ['none', 'silu', 'swish']) !== 'none' }),
  infer: (ctx) => {
    const op = 'CausalConvWithState';
    const x = need(ctx.inputs[0], 0, op);
    const w = need(ctx.inputs[1], 1, op);
    checkFloat(op, x);
    if (x.shape.length !== 3) throw invalid(`${op}: input must have rank 3 (batch, channels, length)`);
    if (w.shape.length !== 3) throw invalid(`${op}: weight must have rank 3 (channels, 1, k)`);
    const k = w.shape[2]!;
    return [x, { dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, typeof k === 'number' ? k - 1 : ctx.freshDim()] }];
  },
  ref: (ins, a) => {
    const op = 'CausalConvWithState';
    const X = need(ins[0], 0, op);
    const W = need(ins[1], 1, op);
    const Bt = ins[2] ?? null;
    const past = ins[3] ?? null;
    checkFloat(op, X);
    if (X.shape.length !== 3) throw invalid(`${op}: input must have rank 3 (batch, channels, length), got [${X.shape.join(',')}]`);
    const [B, C, L] = X.shape as [number, number, number];
    if (W.shape.length !== 3 || W.shape[0] !== C || W.shape[1] !== 1 || W.shape[2]! < 1) {
      throw invalid(`${op}: weight must have shape [${C},1,k], got [${W.shape.join(',')}]`);
    }
    const k = W.shape[2]!;
    if (Bt && (Bt.size !== C || Bt.shape.length !== 1)) throw invalid(`${op}: bias must have shape [${C}]`);
    if (past && (past.shape.length !== 3 || past.shape[0] !== B || past.shape[1] !== C || past.shape[2] !== k - 1)) {
      throw invalid(`${op}: past_state must have shape [${B},${C},${k - 1}], got [${past.shape.join(',')}]`);
    }
    const x = floatData(X);
    const w = floatData(W);
    const bias = Bt ? floatData(Bt) : null;
    const ps = past ? floatData(past) : null;
    const P = L + k - 1;
    const padded = new Float64Array(B * C * P);
    for (let bc = 0; bc < B * C; bc++) {
      if (ps) for (let i = 0; i < k - 1; i++) padded[bc * P + i] = ps[bc * (k - 1) + i]!;
      for (let t = 0; t < L; t++) padded[bc * P + k - 1 + t] = x[bc * L + t]!;
    }
    const y = new Float64Array(B * C * L);
    const present = new Float64Array(B * C * (k - 1));
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        const bc = b * C + c;
        for (let t = 0; t < L; t++) {
          let acc = bias ? bias[c]! : 0;
          for (let i = 0; i < k; i++) acc += w[c * k + i]! * padded[bc * P + t + i]!;
          y[bc * L + t] = acc;
        }
        for (let i = 0; i < k - 1; i++) present[bc * (k - 1) + i] = padded[bc * P + L + i]!;
      }
    }
    let out = tensorFromF64(X.dtype, X.shape, y);
    if (a.silu) {
      // the spec rounds the convolution to T before the activation
      const conv = floatData(out);
      const act = new Float64Array(conv.length);
      for (let i = 0; i < conv.length; i++) act[i] = conv[i]! * sigmoid(conv[i]!);
      out = tensorFromF64(X.dtype, X.shape, act);
    }
    return [out, tensorFromF64(X.dtype, [B, C, k - 1], present)];
  },
  cost: (ctx, _a, outs) => {
    const w = ctx.inputs[1]?.shape ?? [];
    const k = typeof w[2] === 'number' ? w[2] : 1;
    const n = elems(outs[0]?.shape ?? []);
    return { macs: n * k, flops: n };
  },
  decompose: decomposeCausalConv,
});

// ---------------------------------------------------------------------------------------------
// TensorScatter
// ---------------------------------------------------------------------------------------------

// present = past; present[p..., (write_indices[p0] + s) (mod L if circular), q...] = update[p..., s, q...]
// for every prefix p (dims before axis, p0 its batch index) and s < update.shape[axis].
export const TensorScatter = defineOp<{ circular: boolean; axis: number }>({
  name: 'TensorScatter',
  domain: '',
  since: 24,
  arity: [2, 3],
  attrs: (r) => ({ circular: r.oneOf('mode', 'linear', ['linear', 'circular']) === 'circular', axis: r.int('axis', -2) }),
  infer: (ctx) => {
    const past = need(ctx.inputs[0], 0, 'TensorScatter');
    return [past];
  },
  ref: (ins, a) => {
    const op = 'TensorScatter';
    const past = need(ins[0], 0, op);
    const upd = need(ins[1], 1, op);
    const idxT = ins[2] ?? null;
    const rank = past.shape.length;
    const axis = a.axis < 0 ? a.axis + rank : a.axis;
    if (axis < 1 || axis >= rank) throw invalid(`${op}: axis ${a.axis} is out of range for rank ${rank} (the batch axis 0 cannot be the sequence axis)`);
    if (upd.dtype !== past.dtype) throw invalid(`${op}: update dtype ${upd.dtype} differs from past_cache dtype ${past.dtype}`);
    if (upd.shape.length !== rank || upd.shape.some((d, i) => (i === axis ? d > past.shape[i]! : d !== past.shape[i]))) {
      throw invalid(`${op}: update shape [${upd.shape.join(',')}] does not fit past_cache [${past.shape.join(',')}] on axis ${axis}`);
    }
    const B = past.shape[0]!;
    const Lmax = past.shape[axis]!;
    const Ls = upd.shape[axis]!;
    let idx: number[];
    if (idxT) {
      requireDtype(op, idxT.dtype, (d) => d === 'i64' || d === 'i32', 'int64 write_indices');
      if (idxT.size !== B) throw invalid(`${op}: write_indices must have ${B} values (one per batch)`);
      idx = Array.from(numData(idxT) as ArrayLike<number>);
    } else idx = new Array<number>(B).fill(0);
    const outer = past.shape.slice(0, axis).reduce((x, y) => x * y, 1);
    const perBatch = outer / B;
    const inner = past.shape.slice(axis + 1).reduce((x, y) => x * y, 1);
    const data = past.data.slice() as typeof past.data;
    const src = upd.data;
    for (let o = 0; o < outer; o++) {
      const b = Math.floor(o / perBatch);
      for (let s = 0; s < Ls; s++) {
        let pos = idx[b]! + s;
        if (a.circular) pos = ((pos % Lmax) + Lmax) % Lmax;
        if (!Number.isInteger(pos) || pos < 0 || pos >= Lmax) throw invalid(`${op}: write position ${pos} is out of range [0, ${Lmax}) (batch ${b})`);
        const to = (o * Lmax + pos) * inner;
        const from = (o * Ls + s) * inner;
        for (let q = 0; q < inner; q++) (data as unknown as unknown[])[to + q] = (src as unknown as unknown[])[from + q];
      }
    }
    return [new Tensor(past.dtype, past.shape, data)];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: elems(outs[0]?.shape ?? []) }),
});

// ---------------------------------------------------------------------------------------------
// SwiGLU
// ---------------------------------------------------------------------------------------------

/** Shapes equal or throws (SwiGLU takes no broadcasting). */
function sameShapes(op: string, a: Shape, b: Shape): void {
  if (a.length !== b.length || a.some((d, i) => typeof d === 'number' && typeof b[i] === 'number' && d !== b[i])) {
    throw invalid(`${op}: inputs must have the same shape, got [${a.join(',')}] and [${b.join(',')}]`);
  }
}

// y = a * sigmoid(alpha * a) * b
export const SwiGLU = defineOp<{ alpha: number }>({
  name: 'SwiGLU',
  domain: '',
  since: 28,
  arity: [2, 2],
  attrs: (r) => ({ alpha: r.float('alpha', 1) }),
  infer: (ctx) => {
    const a = need(ctx.inputs[0], 0, 'SwiGLU');
    const b = need(ctx.inputs[1], 1, 'SwiGLU');
    checkFloat('SwiGLU', a);
    if (a.dtype !== b.dtype) throw invalid(`SwiGLU: input dtypes differ (${a.dtype}, ${b.dtype})`);
    sameShapes('SwiGLU', a.shape, b.shape);
    return [a];
  },
  ref: (ins, attrs) => {
    const A = need(ins[0], 0, 'SwiGLU');
    const Bt = need(ins[1], 1, 'SwiGLU');
    checkFloat('SwiGLU', A);
    if (A.dtype !== Bt.dtype) throw invalid(`SwiGLU: input dtypes differ (${A.dtype}, ${Bt.dtype})`);
    sameShapes('SwiGLU', A.shape, Bt.shape);
    const x = floatData(A);
    const g = floatData(Bt);
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = x[i]! * sigmoid(attrs.alpha * x[i]!) * g[i]!;
    return [tensorFromF64(A.dtype, A.shape, y)];
  },
  cost: (_c, _a, outs) => ({ macs: 0, flops: 5 * elems(outs[0]?.shape ?? []) }),
  // SwiGLU(a, b) = a * Sigmoid(alpha * a) * b
  decompose: (b, attrs) => {
    const [x, gate] = b.ids as [ValueId, ValueId];
    const ax = attrs.alpha === 1 ? x : b.op1('Mul', [x, b.scalar(b.inputs[0]!.dtype, attrs.alpha)]);
    return [b.op1('Mul', [b.op1('Mul', [x, b.op1('Sigmoid', [ax])]), gate])];
  },
});
