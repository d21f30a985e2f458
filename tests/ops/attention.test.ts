/**
 * Transformer-era ops on the reference interpreter (compiler/ops/attention.ts, RMSNormalization,
 * Swish): against naive computations written here from the ONNX spec formulas (softmax(Q K^T *
 * scale + bias) V with loops, closed forms of the linear-attention recurrence, a direct causal
 * convolution), against streaming identities (a chunked run with carried state equals one run),
 * and against onnxruntime-node where it implements the op (Attention 23/24, RotaryEmbedding,
 * RMSNormalization, TensorScatter, Swish).
 */
import { describe, expect, it } from 'vitest';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { AttrIn, NodeModel, runOrt, runRef } from './ort-oracle.js';

/** Deterministic pseudo-random floats in [lo, hi). */
function rand(n: number, seed: number, lo = -2, hi = 2): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + ((hi - lo) * s) / 2 ** 32);
  }
  return out;
}
const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], seed: number, lo = -2, hi = 2) => Tensor.from('f32', shape, rand(numelOf(shape), seed, lo, hi));
const i64 = (shape: number[], v: number[]) => Tensor.from('i64', shape, v);
const TOL = { rtol: 1e-5, atol: 1e-6 };

/** Runs one ai.onnx node through the ONNX importer on the reference interpreter. */
function ref(op: string, opset: number, inputs: (Tensor | null)[], attrs: Record<string, AttrIn> = {}, out: DType[] = ['f32'], floatAttrs?: string[]): Tensor[] {
  const m: NodeModel = { op, opset, inputs, attrs, ...(floatAttrs ? { floatAttrs } : {}) };
  return runRef(m, out);
}

function expectClose(got: Tensor, want: Tensor, what: string, tol = TOL): void {
  expect(compareTensors(got, want, tol), what).toBeNull();
}

function expectError(f: () => unknown, kind: string, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgecError);
    expect((e as EdgecError).kind).toBe(kind);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an error');
}

// ---------------------------------------------------------------------------------------------
// Naive attention: loops over (b, h, i), a score row, a masked softmax, a weighted sum
// ---------------------------------------------------------------------------------------------

interface NaiveOpts {
  scale?: number;
  softcap?: number;
  /** Additive bias for (b, h, i, j) (-Infinity excludes a key). */
  bias?: (b: number, h: number, i: number, j: number) => number;
}

interface NaiveOut {
  y: number[];
  /** Q K^T * scale, after softcap, after bias, after softmax: (B, Hq, S, T) each. */
  stages: number[][];
}

/** Attention on 4-D Q (B,Hq,S,D), K (B,Hkv,T,D), V (B,Hkv,T,Dv) given as plain arrays. */
function naiveAttention(q: Tensor, k: Tensor, v: Tensor, o: NaiveOpts = {}): NaiveOut {
  const [B, Hq, S, D] = q.shape as number[] as [number, number, number, number];
  const [, Hkv, T] = k.shape as number[] as [number, number, number];
  const Dv = v.shape[3]!;
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const y: number[] = [];
  const stages: number[][] = [[], [], [], []];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor((h * Hkv) / Hq);
      for (let i = 0; i < S; i++) {
        const s0: number[] = [];
        const s1: number[] = [];
        const s2: number[] = [];
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.get(((b * Hq + h) * S + i) * D + d) * k.get(((b * Hkv + g) * T + j) * D + d);
          s0.push(dot * scale);
          s1.push(o.softcap ? o.softcap * Math.tanh((dot * scale) / o.softcap) : dot * scale);
          s2.push(s1[j]! + (o.bias ? o.bias(b, h, i, j) : 0));
        }
        const allowed = s2.map((x, j) => (o.bias ? o.bias(b, h, i, j) : 0) !== -Infinity && x !== -Infinity);
        const m = Math.max(...s2.filter((_, j) => allowed[j]));
        const e = s2.map((x, j) => (allowed[j] ? Math.exp(x - m) : 0));
        const z = e.reduce((a, c) => a + c, 0);
        const p = e.map((x) => (z > 0 ? x / z : 0));
        stages[0]!.push(...s0);
        stages[1]!.push(...s1);
        stages[2]!.push(...s2);
        stages[3]!.push(...p);
        for (let d = 0; d < Dv; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += p[j]! * v.get(((b * Hkv + g) * T + j) * Dv + d);
          y.push(acc);
        }
      }
    }
  }
  return { y, stages };
}

/** (B, S, H*D) -> (B, H, S, D). */
function split3d(t: Tensor, H: number): Tensor {
  const [B, S, HD] = t.shape as number[] as [number, number, number];
  const D = HD / H;
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) out.push(t.get((b * S + s) * HD + h * D + d));
  return Tensor.from(t.dtype, [B, H, S, D], out);
}

/** (B, H, S, D) data -> (B, S, H*D). */
function merge3d(y: number[], B: number, H: number, S: number, D: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) out.push(y[((b * H + h) * S + s) * D + d]!);
  return out;
}

/** Concatenation along axis 2 of two rank-4 tensors. */
function cat2(a: Tensor, b: Tensor): Tensor {
  const [B, H, Sa, D] = a.shape as number[] as [number, number, number, number];
  const Sb = b.shape[2]!;
  const out: number[] = [];
  for (let x = 0; x < B * H; x++) {
    for (let s = 0; s < Sa * D; s++) out.push(a.get(x * Sa * D + s));
    for (let s = 0; s < Sb * D; s++) out.push(b.get(x * Sb * D + s));
  }
  return Tensor.from(a.dtype, [B, H, Sa + Sb, D], out);
}

describe('Attention vs a naive softmax(QK^T*scale + bias)V', () => {
  it('4-D multi-head, default scale', () => {
    const q = f32([2, 3, 4, 5], 1);
    const k = f32([2, 3, 6, 5], 2);
    const v = f32([2, 3, 6, 7], 3);
    const [y] = ref('Attention', 23, [q, k, v]);
    expectClose(y!, Tensor.from('f32', [2, 3, 4, 7], naiveAttention(q, k, v).y), 'Y');
  });

  it('3-D grouped-query attention with a float mask and explicit scale', () => {
    const q = f32([2, 3, 4 * 4], 4);
    const k = f32([2, 5, 2 * 4], 5);
    const v = f32([2, 5, 2 * 3], 6);
    const mask = f32([3, 5], 7);
    const [y] = ref('Attention', 23, [q, k, v, mask], { q_num_heads: 4, kv_num_heads: 2, scale: 0.3 }, ['f32'], ['scale']);
    const n = naiveAttention(split3d(q, 4), split3d(k, 2), split3d(v, 2), { scale: 0.3, bias: (_b, _h, i, j) => mask.get(i * 5 + j) });
    expectClose(y!, Tensor.from('f32', [2, 3, 12], merge3d(n.y, 2, 4, 3, 3)), 'Y');
  });

  it('boolean 4-D mask broadcast over heads, with softcap', () => {
    const q = f32([2, 2, 3, 4], 8, -4, 4);
    const k = f32([2, 2, 5, 4], 9, -4, 4);
    const v = f32([2, 2, 5, 4], 10);
    const bits = rand(2 * 3 * 5, 11).map((x) => (x > -1 ? 1 : 0));
    const mask = Tensor.from('bool', [2, 1, 3, 5], bits);
    const [y] = ref('Attention', 23, [q, k, v, mask], { softcap: 1.5 }, ['f32'], ['softcap']);
    const n = naiveAttention(q, k, v, { softcap: 1.5, bias: (b, _h, i, j) => (bits[(b * 3 + i) * 5 + j] ? 0 : -Infinity) });
    expectClose(y!, Tensor.from('f32', [2, 2, 3, 4], n.y), 'Y');
  });

  it('causal with past key/value: present = concat, queries see keys up to past + i', () => {
    const q = f32([1, 2, 3, 4], 12);
    const k = f32([1, 2, 3, 4], 13);
    const v = f32([1, 2, 3, 4], 14);
    const pk = f32([1, 2, 2, 4], 15);
    const pv = f32([1, 2, 2, 4], 16);
    const [y, presK, presV] = ref('Attention', 23, [q, k, v, null, pk, pv], { is_causal: 1 }, ['f32', 'f32', 'f32']);
    const K = cat2(pk, k);
    const V = cat2(pv, v);
    expectClose(presK!, K, 'present_key');
    expectClose(presV!, V, 'present_value');
    const n = naiveAttention(q, K, V, { bias: (_b, _h, i, j) => (j <= i + 2 ? 0 : -Infinity) });
    expectClose(y!, Tensor.from('f32', [1, 2, 3, 4], n.y), 'Y');
  });

  it('nonpad_kv_seqlen (opset 24) with is_causal: per-batch offset nonpad[b] - S and key padding', () => {
    const q = f32([2, 2, 2, 4], 17);
    const k = f32([2, 2, 6, 4], 18);
    const v = f32([2, 2, 6, 3], 19);
    const nonpad = [4, 6];
    const [y] = ref('Attention', 24, [q, k, v, null, null, null, i64([2], nonpad)], { is_causal: 1 });
    const n = naiveAttention(q, k, v, { bias: (b, _h, i, j) => (j <= i + nonpad[b]! - 2 && j < nonpad[b]! ? 0 : -Infinity) });
    expectClose(y!, Tensor.from('f32', [2, 2, 2, 3], n.y), 'Y');
  });

  it('qk_matmul_output modes 0-3: scaled QK^T, after softcap, after bias, after softmax', () => {
    const q = f32([1, 2, 3, 4], 20, -3, 3);
    const k = f32([1, 2, 4, 4], 21, -3, 3);
    const v = f32([1, 2, 4, 2], 22);
    const mask = f32([3, 4], 23);
    const n = naiveAttention(q, k, v, { softcap: 2, bias: (_b, _h, i, j) => mask.get(i * 4 + j) });
    for (let mode = 0; mode <= 3; mode++) {
      const out = ref('Attention', 23, [q, k, v, mask], { softcap: 2, qk_matmul_output_mode: mode }, ['f32', 'f32', 'f32', 'f32'], ['softcap']);
      expectClose(out[3]!, Tensor.from('f32', [1, 2, 3, 4], n.stages[mode]!), `qk_matmul_output mode ${mode}`);
      expectClose(out[0]!, Tensor.from('f32', [1, 2, 3, 2], n.y), `Y mode ${mode}`);
    }
  });

  it('a fully masked query row gives zero output; a short mask is padded with -inf', () => {
    const q = f32([1, 1, 2, 4], 24);
    const k = f32([1, 1, 5, 4], 25);
    const v = f32([1, 1, 5, 3], 26);
    // row 0 allows keys 0 and 2 (keys 3, 4 lie past the mask's last dim); row 1 allows none
    const mask = Tensor.from('bool', [2, 3], [1, 0, 1, 0, 0, 0]);
    const [y, , , p] = ref('Attention', 23, [q, k, v, mask], { qk_matmul_output_mode: 3 }, ['f32', 'f32', 'f32', 'f32']);
    const n = naiveAttention(q, k, v, { bias: (_b, _h, i, j) => (j < 3 && mask.get(i * 3 + j) ? 0 : -Infinity) });
    expectClose(y!, Tensor.from('f32', [1, 1, 2, 3], n.y), 'Y');
    expect(y!.toNumbers().slice(3)).toEqual([0, 0, 0]);
    expect(p!.toNumbers().slice(5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('a step with past_key equals one pass over the whole sequence (incremental decoding)', () => {
    const q = f32([1, 2, 5, 4], 27);
    const k = f32([1, 2, 5, 4], 28);
    const v = f32([1, 2, 5, 4], 29);
    const slice = (t: Tensor, a: number, b: number) => {
      const [B, H, S, D] = t.shape as number[] as [number, number, number, number];
      const out: number[] = [];
      for (let x = 0; x < B * H; x++) for (let s = a; s < b; s++) for (let d = 0; d < D; d++) out.push(t.get((x * S + s) * D + d));
      return Tensor.from('f32', [B, H, b - a, D], out);
    };
    const [full] = ref('Attention', 23, [q, k, v], { is_causal: 1 });
    const [, pk, pv] = ref('Attention', 23, [slice(q, 0, 3), slice(k, 0, 3), slice(v, 0, 3)], { is_causal: 1 }, ['f32', 'f32', 'f32']);
    const [tail] = ref('Attention', 23, [slice(q, 3, 5), slice(k, 3, 5), slice(v, 3, 5), null, pk!, pv!], { is_causal: 1 });
    expectClose(tail!, slice(full!, 3, 5), 'last two steps');
  });

  it('rejects bad inputs with typed errors', () => {
    const q = f32([1, 3, 2, 4], 30);
    const k = f32([1, 2, 2, 4], 31);
    expectError(() => ref('Attention', 23, [q, k, k]), 'invalid', /q_num_heads 3 is not a multiple of kv_num_heads 2/);
    expectError(() => ref('Attention', 23, [f32([1, 2, 8], 1), f32([1, 2, 8], 2), f32([1, 2, 8], 3)]), 'invalid', /num_heads/);
    expectError(() => ref('Attention', 23, [q, q, q, null, null, null, i64([1], [2])]), 'invalid', /nonpad_kv_seqlen needs opset 24/);
    expectError(() => ref('Attention', 23, [q, q, q, f32([2, 7], 3)]), 'invalid', /attn_mask last dim 7 exceeds/);
  });
});

// ---------------------------------------------------------------------------------------------
// onnxruntime-node as the oracle (Attention, RotaryEmbedding, RMSNormalization, TensorScatter, Swish)
// ---------------------------------------------------------------------------------------------

interface OrtCase extends NodeModel {
  name: string;
  out: DType[];
}

async function checkOrt(c: OrtCase): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => expectClose(got[k]!, w, `${c.name} output ${k}`, { rtol: 1e-4, atol: 1e-5 }));
}

const ortCases: OrtCase[] = [
  { name: 'Attention 4-D float mask', op: 'Attention', opset: 23, inputs: [f32([2, 2, 3, 4], 40), f32([2, 2, 5, 4], 41), f32([2, 2, 5, 6], 42), f32([3, 5], 43)], out: ['f32'] },
  { name: 'Attention 3-D GQA causal scaled', op: 'Attention', opset: 23, inputs: [f32([2, 4, 4 * 4], 44), f32([2, 4, 2 * 4], 45), f32([2, 4, 2 * 4], 46)], attrs: { q_num_heads: 4, kv_num_heads: 2, is_causal: 1, scale: 0.25 }, floatAttrs: ['scale'], out: ['f32'] },
  { name: 'Attention past/present with bool mask', op: 'Attention', opset: 23, inputs: [f32([1, 2, 2, 4], 47), f32([1, 2, 2, 4], 48), f32([1, 2, 2, 4], 49), Tensor.from('bool', [2, 5], [1, 1, 0, 1, 1, 0, 1, 1, 1, 1]), f32([1, 2, 3, 4], 50), f32([1, 2, 3, 4], 51)], out: ['f32', 'f32', 'f32'] },
  { name: 'Attention softcap without mask, qk output after softmax', op: 'Attention', opset: 23, inputs: [f32([1, 2, 3, 4], 52, -4, 4), f32([1, 2, 3, 4], 53, -4, 4), f32([1, 2, 3, 4], 54)], attrs: { softcap: 2.5, qk_matmul_output_mode: 3 }, floatAttrs: ['softcap'], out: ['f32', 'f32', 'f32', 'f32'] },
  { name: 'Attention 24 nonpad_kv_seqlen', op: 'Attention', opset: 24, inputs: [f32([2, 2, 3, 4], 55), f32([2, 2, 5, 4], 56), f32([2, 2, 5, 4], 57), null, null, null, i64([2], [3, 5])], out: ['f32'] },
  { name: 'RotaryEmbedding 4-D with position ids', op: 'RotaryEmbedding', opset: 23, inputs: [f32([2, 3, 4, 8], 60), f32([10, 4], 61), f32([10, 4], 62), i64([2, 4], [0, 1, 2, 3, 5, 6, 7, 9])], out: ['f32'] },
  { name: 'RotaryEmbedding 3-D interleaved partial', op: 'RotaryEmbedding', opset: 23, inputs: [f32([2, 4, 2 * 8], 63), f32([6, 2], 64), f32([6, 2], 65), i64([2, 4], [0, 1, 2, 3, 2, 3, 4, 5])], attrs: { num_heads: 2, interleaved: 1, rotary_embedding_dim: 4 }, out: ['f32'] },
  { name: 'RotaryEmbedding without position ids', op: 'RotaryEmbedding', opset: 23, inputs: [f32([2, 3, 4, 6], 66), f32([2, 4, 3], 67), f32([2, 4, 3], 68)], out: ['f32'] },
  { name: 'RMSNormalization axis 1', op: 'RMSNormalization', opset: 23, inputs: [f32([2, 3, 4], 70), f32([3, 4], 71)], attrs: { axis: 1, epsilon: 0.01 }, floatAttrs: ['epsilon'], out: ['f32'] },
  { name: 'RMSNormalization last axis', op: 'RMSNormalization', opset: 23, inputs: [f32([3, 5], 72), f32([5], 73)], out: ['f32'] },
  { name: 'TensorScatter linear', op: 'TensorScatter', opset: 24, inputs: [f32([2, 3, 6, 4], 80), f32([2, 3, 2, 4], 81), i64([2], [1, 4])], out: ['f32'] },
  { name: 'TensorScatter circular 3-D', op: 'TensorScatter', opset: 24, inputs: [f32([2, 5, 3], 82), f32([2, 3, 3], 83), i64([2], [3, 4])], attrs: { mode: 'circular' }, out: ['f32'] },
  { name: 'Swish alpha', op: 'Swish', opset: 24, inputs: [f32([4, 5], 90, -6, 6)], attrs: { alpha: 0.7 }, floatAttrs: ['alpha'], out: ['f32'] },
];

describe('against onnxruntime-node', () => {
  for (const c of ortCases) it(c.name, async () => checkOrt(c));
});

// ---------------------------------------------------------------------------------------------
// RotaryEmbedding, RMSNormalization, TensorScatter, Swish, SwiGLU: closed forms
// ---------------------------------------------------------------------------------------------

describe('elementwise-style ops vs their formulas', () => {
  it('RotaryEmbedding rotates (x_k, x_{k+D/2}) by the angle whose cos/sin the cache holds', () => {
    const x = f32([1, 1, 2, 4], 100);
    const ang = [0.3, -1.1, 2.0, 0.7]; // (position, k) for 2 positions x 2 pairs
    const cos = Tensor.from('f32', [2, 2], ang.map(Math.cos));
    const sin = Tensor.from('f32', [2, 2], ang.map(Math.sin));
    const [y] = ref('RotaryEmbedding', 23, [x, cos, sin, i64([1, 2], [1, 0])]);
    const want: number[] = [];
    for (let s = 0; s < 2; s++) {
      const p = 1 - s; // position_ids = [1, 0]
      const row = [0, 1, 2, 3].map((d) => x.get(s * 4 + d));
      const out = [0, 0, 0, 0];
      for (let k = 0; k < 2; k++) {
        const t = ang[p * 2 + k]!;
        out[k] = Math.cos(t) * row[k]! - Math.sin(t) * row[k + 2]!;
        out[k + 2] = Math.sin(t) * row[k]! + Math.cos(t) * row[k + 2]!;
      }
      want.push(...out);
    }
    expectClose(y!, Tensor.from('f32', [1, 1, 2, 4], want), 'rotated');
  });

  it('RMSNormalization = x / sqrt(mean(x^2) + eps) * scale', () => {
    const x = f32([2, 3, 4], 101);
    const w = f32([4], 102);
    const [y] = ref('RMSNormalization', 23, [x, w], { epsilon: 0.5 }, ['f32'], ['epsilon']);
    const want: number[] = [];
    for (let r = 0; r < 6; r++) {
      const row = [0, 1, 2, 3].map((d) => x.get(r * 4 + d));
      const rms = Math.sqrt(row.reduce((a, c) => a + c * c, 0) / 4 + 0.5);
      want.push(...row.map((c, d) => (c / rms) * w.get(d)));
    }
    expectClose(y!, Tensor.from('f32', [2, 3, 4], want), 'Y');
    expectError(() => ref('RMSNormalization', 23, [x, f32([3], 1)]), 'invalid', /does not broadcast/);
  });

  it('TensorScatter writes update rows at write_indices, wrapping in circular mode', () => {
    const past = Tensor.from('f32', [1, 4, 1], [0, 1, 2, 3]);
    const upd = Tensor.from('f32', [1, 3, 1], [10, 11, 12]);
    expect(ref('TensorScatter', 24, [past, upd, i64([1], [1])], { axis: 1 })[0]!.toNumbers()).toEqual([0, 10, 11, 12]);
    expect(ref('TensorScatter', 24, [past, upd, i64([1], [2])], { axis: 1, mode: 'circular' })[0]!.toNumbers()).toEqual([12, 1, 10, 11]);
    expect(ref('TensorScatter', 24, [past, upd], { axis: 1 })[0]!.toNumbers()).toEqual([10, 11, 12, 3]);
    expectError(() => ref('TensorScatter', 24, [past, upd, i64([1], [2])], { axis: 1 }), 'invalid', /out of range/);
    expectError(() => ref('TensorScatter', 24, [past, upd], { axis: 0 }), 'invalid', /axis 0/);
  });

  it('Swish and SwiGLU', () => {
    const a = f32([3, 4], 103, -5, 5);
    const b = f32([3, 4], 104);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    expectClose(ref('Swish', 24, [a])[0]!, Tensor.from('f32', [3, 4], a.toNumbers().map((x) => x * sig(x))), 'Swish');
    const [y] = ref('SwiGLU', 28, [a, b], { alpha: 1.702 }, ['f32'], ['alpha']);
    expectClose(y!, Tensor.from('f32', [3, 4], a.toNumbers().map((x, i) => x * sig(1.702 * x) * b.get(i))), 'SwiGLU');
    expectError(() => ref('SwiGLU', 28, [a, f32([4, 3], 1)]), 'invalid', /same shape/);
  });
});

// ---------------------------------------------------------------------------------------------
// CausalConvWithState and LinearAttention: direct formulas and streaming
// ---------------------------------------------------------------------------------------------

/** Columns [a, b) of a (B, C, L) tensor. */
function cols(t: Tensor, a: number, b: number): Tensor {
  const [B, C, L] = t.shape as number[] as [number, number, number];
  const out: number[] = [];
  for (let x = 0; x < B * C; x++) for (let l = a; l < b; l++) out.push(t.get(x * L + l));
  return Tensor.from(t.dtype, [B, C, b - a], out);
}

describe('CausalConvWithState', () => {
  const x = f32([2, 3, 7], 110);
  const w = f32([3, 1, 4], 111);
  const bias = f32([3], 112);

  it('output[t] = bias + sum_i w[i] * x[t - 3 + i] with zeros before the start, then silu', () => {
    const [y, st] = ref('CausalConvWithState', 27, [x, w, bias], { activation: 'silu' }, ['f32', 'f32']);
    const want: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 3; c++) {
        for (let t = 0; t < 7; t++) {
          let acc = bias.get(c);
          for (let i = 0; i < 4; i++) {
            const src = t - 3 + i;
            if (src >= 0) acc += w.get(c * 4 + i) * x.get((b * 3 + c) * 7 + src);
          }
          want.push(acc / (1 + Math.exp(-acc)));
        }
      }
    }
    expectClose(y!, Tensor.from('f32', [2, 3, 7], want), 'output');
    expectClose(st!, cols(x, 4, 7), 'present_state = last k-1 inputs');
  });

  it('two chunks with the carried state equal one pass', () => {
    const [full, fullState] = ref('CausalConvWithState', 27, [x, w, bias], {}, ['f32', 'f32']);
    const [y1, s1] = ref('CausalConvWithState', 27, [cols(x, 0, 2), w, bias], {}, ['f32', 'f32']);
    const [y2, s2] = ref('CausalConvWithState', 27, [cols(x, 2, 7), w, bias, s1!], {}, ['f32', 'f32']);
    expectClose(y1!, cols(full!, 0, 2), 'chunk 1');
    expectClose(y2!, cols(full!, 2, 7), 'chunk 2');
    expectClose(s2!, fullState!, 'final state');
    expectError(() => ref('CausalConvWithState', 27, [x, f32([3, 2, 4], 1)], {}, ['f32', 'f32']), 'invalid', /weight must have shape/);
  });
});

describe('LinearAttention', () => {
  const B = 1;
  const T = 4;
  const H = 2;
  const dk = 3;
  const dv = 2;
  const q = f32([B, T, H * dk], 120);
  const k = f32([B, T, H * dk], 121);
  const v = f32([B, T, H * dv], 122);
  const at = (t: Tensor, width: number, s: number, h: number, d: number) => t.get(s * H * width + h * width + d);

  it('linear rule: o_t = scale * sum_{s<=t} (q_t . k_s) v_s (closed form)', () => {
    const [o, st] = ref('LinearAttention', 27, [q, k, v], { q_num_heads: H, kv_num_heads: H, update_rule: 'linear' }, ['f32', 'f32']);
    const scale = 1 / Math.sqrt(dk);
    const want: number[] = [];
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        for (let m = 0; m < dv; m++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let d = 0; d < dk; d++) dot += at(q, dk, t, h, d) * at(k, dk, s, h, d);
            acc += dot * at(v, dv, s, h, m);
          }
          want.push(scale * acc);
        }
      }
    }
    expectClose(o!, Tensor.from('f32', [B, T, H * dv], want), 'output');
    const state: number[] = [];
    for (let h = 0; h < H; h++) for (let d = 0; d < dk; d++) for (let m = 0; m < dv; m++) {
      let acc = 0;
      for (let s = 0; s < T; s++) acc += at(k, dk, s, h, d) * at(v, dv, s, h, m);
      state.push(acc);
    }
    expectClose(st!, Tensor.from('f32', [B, H, dk, dv], state), 'present_state = sum k v^T');
  });

  it('gated rule with per-head decay: o_t = scale * sum_{s<=t} exp(sum_{s<r<=t} g_r) (q_t . k_s) v_s', () => {
    const g = f32([B, T, H], 123, -1, 0);
    const [o] = ref('LinearAttention', 27, [q, k, v, null, g], { q_num_heads: H, kv_num_heads: H, update_rule: 'gated', scale: 0.5 }, ['f32', 'f32'], ['scale']);
    const want: number[] = [];
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        for (let m = 0; m < dv; m++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) {
            let decay = 0;
            for (let r = s + 1; r <= t; r++) decay += g.get(r * H + h);
            let dot = 0;
            for (let d = 0; d < dk; d++) dot += at(q, dk, t, h, d) * at(k, dk, s, h, d);
            acc += Math.exp(decay) * dot * at(v, dv, s, h, m);
          }
          want.push(0.5 * acc);
        }
      }
    }
    expectClose(o!, Tensor.from('f32', [B, T, H * dv], want), 'output');
  });

  it('gated_delta with GQA: a chunked run with the carried state equals one pass', () => {
    const qg = f32([B, T, 4 * dk], 124);
    const g = f32([B, T, H * dk], 125, -0.5, 0);
    const beta = f32([B, T, H], 126, 0, 1);
    const attrs = { q_num_heads: 4, kv_num_heads: H };
    const steps = (t: Tensor, a: number, b: number) => {
      const w = t.shape[2]!;
      return Tensor.from('f32', [B, b - a, w], t.toNumbers().slice(a * w, b * w));
    };
    const [full, fullState] = ref('LinearAttention', 27, [qg, k, v, null, g, beta], attrs, ['f32', 'f32']);
    const [o1, s1] = ref('LinearAttention', 27, [steps(qg, 0, 1), steps(k, 0, 1), steps(v, 0, 1), null, steps(g, 0, 1), steps(beta, 0, 1)], attrs, ['f32', 'f32']);
    const [o2, s2] = ref('LinearAttention', 27, [steps(qg, 1, 4), steps(k, 1, 4), steps(v, 1, 4), s1!, steps(g, 1, 4), steps(beta, 1, 4)], attrs, ['f32', 'f32']);
    expectClose(o1!, steps(full!, 0, 1), 'step 1');
    expectClose(o2!, steps(full!, 1, 4), 'steps 2-4');
    expectClose(s2!, fullState!, 'final state');
  });

  it('delta rule first step writes beta * v (empty state) and rejects a missing beta', () => {
    const beta = f32([B, T, 1], 127, 0, 1);
    const one = (t: Tensor) => Tensor.from('f32', [B, 1, t.shape[2]!], t.toNumbers().slice(0, t.shape[2]!));
    const [, st] = ref('LinearAttention', 27, [one(q), one(k), one(v), null, null, one(beta)], { q_num_heads: H, kv_num_heads: H, update_rule: 'delta' }, ['f32', 'f32']);
    const want: number[] = [];
    for (let h = 0; h < H; h++) for (let d = 0; d < dk; d++) for (let m = 0; m < dv; m++) want.push(at(k, dk, 0, h, d) * beta.get(0) * at(v, dv, 0, h, m));
    expectClose(st!, Tensor.from('f32', [B, H, dk, dv], want), 'state');
    expectError(() => ref('LinearAttention', 27, [q, k, v], { q_num_heads: H, kv_num_heads: H }, ['f32', 'f32']), 'invalid', /requires the decay input/);
  });
});

// ---------------------------------------------------------------------------------------------
// FlexAttention (ai.onnx.preview) with score_mod / prob_mod subgraphs
// ---------------------------------------------------------------------------------------------

describe('FlexAttention', () => {
  const q = f32([1, 4, 3, 4], 130);
  const k = f32([1, 2, 5, 4], 131);
  const v = f32([1, 2, 5, 3], 132);

  /** A one-node modifier subgraph x -> op(x, c) with a scalar constant c. */
  function modGraph(op: string, c: number): ReturnType<GraphBuilder['build']> {
    const sb = new GraphBuilder('mod', { '': 26 });
    const x = sb.input('x', 'f32', [1, 4, 3, 5]);
    sb.output(sb.node(op, [x, sb.const('c', 'f32', [], [c])]));
    return sb.build();
  }

  function run(attrs: Record<string, unknown>): Tensor {
    const gb = new GraphBuilder('flex', { '': 26, 'ai.onnx.preview': 1 });
    const ids = [gb.input('q', 'f32', [1, 4, 3, 4]), gb.input('k', 'f32', [1, 2, 5, 4]), gb.input('v', 'f32', [1, 2, 5, 3])];
    gb.output(gb.node('FlexAttention', ids, attrs as never, { domain: 'ai.onnx.preview' }));
    return runGraph(gb.build(), [q, k, v])[0]!;
  }

  it('GQA without modifiers matches the naive attention', () => {
    expectClose(run({}), Tensor.from('f32', [1, 4, 3, 3], naiveAttention(q, k, v).y), 'Y');
  });

  it('score_mod Mul(scores, 3) equals scale * 3', () => {
    expectClose(run({ score_mod: modGraph('Mul', 3) }), Tensor.from('f32', [1, 4, 3, 3], naiveAttention(q, k, v, { scale: 1.5 }).y), 'Y');
  });

  it('prob_mod Mul(probs, 2) doubles the output', () => {
    const want = naiveAttention(q, k, v, { scale: 0.2 }).y.map((x) => 2 * x);
    expectClose(run({ scale: 0.2, prob_mod: modGraph('Mul', 2) }), Tensor.from('f32', [1, 4, 3, 3], want), 'Y');
  });
});

describe('opset checks on import', () => {
  it('rejects an op used below the opset that introduced it', () => {
    const q = f32([1, 1, 2, 4], 140);
    expectError(() => ref('Attention', 22, [q, q, q]), 'unsupported', /Attention at opset 22 is not supported/);
    expectError(() => ref('Swish', 23, [q]), 'unsupported', /from opset 24/);
  });
});
