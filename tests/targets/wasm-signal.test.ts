/**
 * Differential tests of the wasm target's signal-processing and miscellaneous kernels
 * (runtime-wasm/assembly/signal.ts, misc.ts, ml.ts, linattn.ts, the cumprod scan of select.ts):
 * graphs built in code, run through model.mjs and compared with the reference interpreter
 * (integer and bool outputs bit for bit, floats within rtol 1e-4). Inputs are runtime values
 * unless a case makes them constants; outputs are declared with the reference's shapes, as an
 * ONNX model declares them.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { ValueId } from '../../compiler/ir/graph.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { AttrValue } from '../../compiler/ir/graph.js';
import { compareTensors } from '../helpers/compare.js';
import { runOnWasm } from './wasm-helpers.js';

/** Deterministic values in [lo, hi] (mulberry32) as a tensor of `dtype` (integers rounded). */
function rnd(dtype: DType, shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = shape.reduce((a, b) => a * b, 1);
  const float = dtype === 'f32' || dtype === 'f64' || dtype === 'f16';
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = lo + (hi - lo) * next();
    v.push(float ? r : Math.round(r));
  }
  if (dtype === 'i64') return Tensor.from(dtype, shape, v.map((x) => BigInt(x)));
  return Tensor.from(dtype, shape, v);
}

/** A scalar tensor. */
function scalar(dtype: DType, v: number): Tensor {
  return dtype === 'i64' ? Tensor.from('i64', [], [BigInt(v)]) : Tensor.from(dtype, [], [v]);
}

/**
 * Builds a one-node graph on runtime inputs (null: an absent optional input), runs it on wasm and
 * on the reference and compares every output.
 */
async function check(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue> = {},
  opts: { opset?: number; outputs?: number; ml?: number } = {}): Promise<void> {
  const b = new GraphBuilder('case', opts.ml ? { '': opts.opset ?? 20, 'ai.onnx.ml': opts.ml } : { '': opts.opset ?? 20 });
  const ids = inputs.map((t, i) => (t === null ? null : b.input(`in${i}`, t.dtype, t.shape)));
  const nOut = opts.outputs ?? 1;
  const no = opts.ml ? { domain: 'ai.onnx.ml' } : {};
  const outs: ValueId[] = nOut === 1 ? [b.node(op, ids, attrs, no)] : b.nodeN(op, ids, nOut, attrs, no);
  b.output(...outs);
  const g = b.build();
  const given = inputs.filter((t): t is Tensor => t !== null);
  const want = runGraph(g, given);
  g.outputs.forEach((o, k) => { g.value(o).type = { ...g.value(o).type, shape: want[k]!.shape }; });
  const { outputs } = await runOnWasm(g, given);
  expect(outputs.length).toBe(want.length);
  want.forEach((w, k) => {
    const got = outputs[k]!;
    const ref = w.dtype === 'f16' && got.dtype === 'f32' ? Tensor.from('f32', w.shape, w.toNumbers()) : w;
    expect(compareTensors(got, ref, { rtol: 1e-4, atol: 1e-5 }), `${op} output ${k}`).toBeNull();
  });
}

describe('wasm DFT', () => {
  // lengths: powers of two (FFT) and others (direct sums)
  for (const len of [8, 16, 5, 6, 12]) {
    for (const dt of ['f32', 'f64'] as const) {
      it(`forward / inverse, real and complex, length ${len} ${dt}`, async () => {
        await check('DFT', [rnd(dt, [2, len, 3, 1], len)], { axis: 1 }, { opset: 19 });
        await check('DFT', [rnd(dt, [2, 3, len, 2], len + 1)], { axis: 2, inverse: 1 }, { opset: 19 });
        await check('DFT', [rnd(dt, [len, 2], len + 2)], { axis: 0 }, { opset: 19 });
      });
    }
    it(`onesided and irfft, length ${len}`, async () => {
      await check('DFT', [rnd('f32', [1, len, 4, 1], len + 3)], { axis: 1, onesided: 1 }, { opset: 19 });
      await check('DFT', [rnd('f32', [1, Math.floor(len / 2) + 1, 4, 2], len + 4)], { onesided: 1, inverse: 1 }, { opset: 20 });
    });
  }
  it('runtime axis and dft_length (padding and truncation)', async () => {
    const x = rnd('f32', [2, 6, 10, 1], 7);
    await check('DFT', [x, null, scalar('i64', 2)]);
    await check('DFT', [x, null, scalar('i64', -3)]);
    await check('DFT', [x, scalar('i64', 16), scalar('i64', 1)]);
    await check('DFT', [x, scalar('i32', 4), scalar('i64', 2)], { onesided: 1 });
    await check('DFT', [rnd('f64', [3, 7, 2], 8), scalar('i64', 9), null], { inverse: 1 });
    await check('DFT', [rnd('f32', [2, 5, 3, 2], 9), scalar('i64', 8), scalar('i64', 1)], { inverse: 1, onesided: 1 });
  });
});

describe('wasm STFT', () => {
  it('frames, windows, onesided and complex signals', async () => {
    await check('STFT', [rnd('f32', [2, 64, 1], 1), scalar('i64', 8), null, scalar('i64', 16)], {}, { opset: 17 });
    await check('STFT', [rnd('f32', [1, 50, 1], 2), scalar('i64', 7), rnd('f32', [12], 3, 0, 1)], {}, { opset: 17 });
    await check('STFT', [rnd('f64', [1, 40, 2], 4), scalar('i32', 5), rnd('f64', [10], 5, 0, 1)], { onesided: 0 }, { opset: 17 });
    await check('STFT', [rnd('f32', [3, 33, 1], 6), scalar('i64', 33), null, null], {}, { opset: 17 });
  });
});

describe('wasm windows and MelWeightMatrix', () => {
  for (const op of ['HannWindow', 'HammingWindow', 'BlackmanWindow']) {
    it(`${op} periodic and symmetric, runtime size`, async () => {
      for (const size of [1, 7, 16]) {
        await check(op, [scalar('i32', size)], {}, { opset: 17 });
        await check(op, [scalar('i64', size)], { periodic: 0, output_datatype: 11 }, { opset: 17 });
      }
    });
  }
  it('MelWeightMatrix with runtime parameters', async () => {
    await check('MelWeightMatrix', [scalar('i32', 8), scalar('i32', 16), scalar('i32', 8192), scalar('f32', 0), scalar('f32', 4096)], {}, { opset: 17 });
    await check('MelWeightMatrix', [scalar('i64', 10), scalar('i64', 64), scalar('i64', 16000), scalar('f32', 100), scalar('f32', 7000)],
      { output_datatype: 11 }, { opset: 17 });
  });
});

describe('wasm misc ops', () => {
  it('CumProd on floats and wrapping integers, exclusive / reverse, runtime axis', async () => {
    for (const [dt, lo, hi] of [['f32', -2, 2], ['f64', -2, 2], ['i32', -40, 40], ['i64', -300, 300], ['u8', 0, 9]] as const) {
      const x = rnd(dt, [3, 5, 4], 11, lo, hi);
      for (const ex of [0, 1]) for (const rev of [0, 1]) await check('CumProd', [x, scalar('i64', 1)], { exclusive: ex, reverse: rev }, { opset: 26 });
      await check('CumProd', [x, scalar('i32', -1)], {}, { opset: 26 });
    }
  });
  it('EyeLike, Det, ReverseSequence', async () => {
    await check('EyeLike', [rnd('f32', [4, 6], 1)], { k: -2 }, { opset: 22 });
    await check('EyeLike', [rnd('i32', [5, 3], 1)], { k: 1, dtype: 7 }, { opset: 22 });
    await check('Det', [rnd('f32', [2, 3, 4, 4], 2)], {}, { opset: 22 });
    await check('Det', [rnd('f64', [5, 5], 3)], {}, { opset: 22 });
    await check('Det', [Tensor.from('f32', [2, 2, 2], [1, 2, 2, 4, 0, 1, 1, 0])], {}, { opset: 22 });
    await check('ReverseSequence', [rnd('f32', [5, 3, 2], 4), Tensor.from('i64', [3], [5n, 0n, 3n])], { batch_axis: 1, time_axis: 0 }, { opset: 10 });
    await check('ReverseSequence', [rnd('i64', [4, 6], 5, -9, 9), Tensor.from('i64', [4], [1n, 6n, 2n, 4n])], { batch_axis: 0, time_axis: 1 }, { opset: 10 });
  });
  it('TensorScatter linear and circular', async () => {
    await check('TensorScatter', [rnd('f32', [2, 3, 6, 4], 1), rnd('f32', [2, 3, 2, 4], 2), Tensor.from('i64', [2], [4n, 0n])], {}, { opset: 24 });
    await check('TensorScatter', [rnd('f32', [2, 6, 4], 1), rnd('f32', [2, 3, 4], 2), Tensor.from('i64', [2], [5n, 2n])], { mode: 'circular', axis: 1 }, { opset: 24 });
    await check('TensorScatter', [rnd('f64', [3, 5, 2], 3), rnd('f64', [3, 1, 2], 4), null], { axis: -2 }, { opset: 24 });
  });
  it('Dropout mask and CenterCropPad', async () => {
    await check('Dropout', [rnd('f32', [3, 4], 1), scalar('f32', 0.3)], {}, { opset: 22, outputs: 2 });
    await check('CenterCropPad', [rnd('f32', [7, 4, 3], 1), Tensor.from('i64', [3], [4n, 7n, 3n])], {}, { opset: 18 });
    await check('CenterCropPad', [rnd('i64', [5, 8], 2, -9, 9), Tensor.from('i64', [1], [3n])], { axes: [-1] }, { opset: 18 });
  });
  it('BatchNormalization in training mode (batch statistics, running outputs)', async () => {
    const ins = [rnd('f32', [3, 4, 5, 2], 1, -2, 3), rnd('f32', [4], 2), rnd('f32', [4], 3), rnd('f32', [4], 4), rnd('f32', [4], 5, 0.5, 2)];
    await check('BatchNormalization', ins, { training_mode: 1, momentum: 0.8, epsilon: 1e-3 }, { opset: 15, outputs: 3 });
    await check('BatchNormalization', [rnd('f32', [2, 3], 6), ...ins.slice(1).map((t, i) => rnd('f32', [3], 7 + i, 0.5, 2))], { training_mode: 1 }, { opset: 15 });
  });
  it('TfIdfVectorizer TF, IDF and TFIDF', async () => {
    const attrs = {
      // unigrams 2, 3, 5; bigrams (4 5), (6 7) and (4 5) again; trigrams (2 3 5), (6 7 3)
      min_gram_length: 1, max_gram_length: 3, max_skip_count: 2, ngram_counts: [0, 3, 9], ngram_indexes: [0, 1, 2, 3, 4, 5, 7, 6],
      pool_int64s: [2, 3, 5, 4, 5, 6, 7, 4, 5, 2, 3, 5, 6, 7, 3], weights: [0.5, 1, 2, 0.25, 1.5, 3, 1, 2],
    };
    const x = Tensor.from('i64', [3, 9], [2, 3, 5, 4, 5, 6, 7, 2, 3, 5, 6, 7, 3, 2, 3, 5, 4, 4, 3, 3, 2, 5, 6, 7, 5, 6, 2].map(BigInt));
    for (const mode of ['TF', 'IDF', 'TFIDF']) await check('TfIdfVectorizer', [x], { ...attrs, mode }, { opset: 9 });
    await check('TfIdfVectorizer', [Tensor.from('i32', [9], [5, 4, 5, 6, 2, 3, 5, 6, 7])], { ...attrs, min_gram_length: 2, mode: 'TF' }, { opset: 9 });
  });
});

describe('wasm LinearAttention', () => {
  const B = 2, T = 5, dk = 4, dv = 3;
  for (const [rule, Hq, Hkv] of [['linear', 2, 2], ['gated', 4, 2], ['delta', 2, 1], ['gated_delta', 4, 2]] as const) {
    it(`${rule} with ${Hq} query and ${Hkv} KV heads`, async () => {
      const gating = rule === 'gated' || rule === 'gated_delta';
      const delta = rule === 'delta' || rule === 'gated_delta';
      const ins = [rnd('f32', [B, T, Hq * dk], 1), rnd('f32', [B, T, Hkv * dk], 2), rnd('f32', [B, T, Hkv * dv], 3), rnd('f32', [B, Hkv, dk, dv], 4),
        gating ? rnd('f32', [B, T, Hkv * dk], 5, -0.5, 0) : null, delta ? rnd('f32', [B, T, Hkv], 6, 0, 1) : null,
        delta ? rnd('f32', [B, T, Hkv * dk], 7, 0, 1) : null];
      await check('LinearAttention', ins, { q_num_heads: Hq, kv_num_heads: Hkv, update_rule: rule }, { opset: 27, outputs: 2 });
      await check('LinearAttention', [...ins.slice(0, 3), null, gating ? rnd('f32', [B, T, Hkv], 8, -0.5, 0) : null, delta ? rnd('f32', [B, T, 1], 9, 0, 1) : null],
        { q_num_heads: Hq, kv_num_heads: Hkv, update_rule: rule, scale: 0.5 }, { opset: 27, outputs: 2 });
    });
  }
  it('f64 tensors', async () => {
    await check('LinearAttention', [rnd('f64', [1, 3, 8], 1), rnd('f64', [1, 3, 8], 2), rnd('f64', [1, 3, 6], 3)],
      { q_num_heads: 2, kv_num_heads: 2, update_rule: 'linear' }, { opset: 27, outputs: 2 });
  });
});

describe('wasm ai.onnx.ml ops', () => {
  it('TreeEnsemble: modes, membership, missing values, aggregates and post transforms', async () => {
    // two trees over 3 features: tree 0 tests feature 0 (LEQ) then feature 2 (MEMBER); tree 1 tests feature 1 (GT, NaN true)
    const base = {
      n_targets: 3, nodes_featureids: [0, 2, 1], nodes_modes: Tensor.from('u8', [3], [0, 6, 3]),
      nodes_splits: Tensor.from('f32', [3], [0.25, 0, -0.5]), nodes_truenodeids: [1, 0, 3], nodes_trueleafs: [0, 1, 1],
      nodes_falsenodeids: [2, 1, 4], nodes_falseleafs: [1, 1, 1], nodes_missing_value_tracks_true: [0, 0, 1],
      membership_values: Tensor.from('f32', [4], [1, 3, -2, NaN]), tree_roots: [0, 2],
      leaf_targetids: [0, 1, 2, 0, 1], leaf_weights: Tensor.from('f32', [5], [1.5, -2, 0.75, 3, 0.5]),
    };
    const x = Tensor.from('f32', [6, 3], [0, 1, 3, 1, NaN, 1, -1, -1, 2, 0.25, 0, -2, 2, NaN, NaN, 0.3, 0.9, 1]);
    for (const [agg, post] of [[1, 0], [0, 2], [2, 1], [3, 3]]) {
      await check('TreeEnsemble', [x], { ...base, aggregate_function: agg!, post_transform: post! }, { opset: 21, ml: 5 });
    }
    const x64 = Tensor.from('f64', [3, 3], [0.2, -0.6, 1, 0.3, 0, 3, NaN, 1, -2]);
    await check('TreeEnsemble', [x64], { ...base, nodes_splits: Tensor.from('f64', [3], [0.25, 0, -0.5]),
      membership_values: Tensor.from('f64', [4], [1, 3, -2, NaN]), leaf_weights: Tensor.from('f64', [5], [1.5, -2, 0.75, 3, 0.5]) }, { opset: 21, ml: 5 });
  });
  it('Binarizer and ArrayFeatureExtractor (decomposed)', async () => {
    await check('Binarizer', [rnd('f32', [3, 4], 1)], { threshold: 0.2 }, { opset: 21, ml: 1 });
    await check('Binarizer', [rnd('i32', [10], 2, -5, 5)], { threshold: 1.5 }, { opset: 21, ml: 1 });
    await check('ArrayFeatureExtractor', [rnd('f32', [2, 3, 5], 3), Tensor.from('i64', [3], [4n, 0n, 4n])], {}, { opset: 21, ml: 1 });
    await check('ArrayFeatureExtractor', [rnd('i64', [6], 4, -9, 9), Tensor.from('i64', [2, 1], [5n, 1n])], {}, { opset: 21, ml: 1 });
    await check('ArrayFeatureExtractor', [rnd('f64', [4, 5], 5), Tensor.from('i64', [2], [3n, 1n])], {}, { opset: 1, ml: 1 });
  });
});
