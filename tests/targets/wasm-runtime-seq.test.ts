/**
 * Value-dependent structure on the wasm target, run through the artifact's own model.mjs:
 * - soft-NMS (TF.js NonMaxSuppressionV5 with soft_nms_sigma > 0, edgec.TfNonMaxSuppression) runs on
 *   the host inside a dynamic artifact, checked against the reference interpreter and against
 *   tfjs-core's image.nonMaxSuppressionWithScore (cpu backend) on built boxes and scores;
 * - sequences whose structure is decided per call (a Loop growing a sequence over a runtime trip
 *   count, runtime SequenceInsert / SequenceAt positions, SplitToSequence with a runtime split,
 *   sequence inputs of any length) are re-planned by model.mjs for each structure, checked
 *   against the reference interpreter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { RtValue, TensorSeq } from '../../compiler/ir/value.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModel, runWasmModelValues, writeTempArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { cleanup, f32Bytes, i32Bytes, node, tfShape, tmpDir, writeModel } from '../tfjs/fixture.js';

afterAll(cleanup);

/** A deterministic generator (LCG) in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Compiles g for wasm, loads the artifact's model.mjs and returns it with a disposer. */
async function compiled(g: Graph) {
  const art = compileWasm(g.clone());
  const dir = writeTempArtifact(art.files);
  const model = await loadWasmArtifact(dir);
  return { art, model, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

describe('soft-NMS (TF.js NonMaxSuppressionV5, soft_nms_sigma > 0) on wasm', () => {
  /** A TF.js graph model: boxes [N,4] and scores [N] inputs, V5 with constant max / iou / score / sigma. */
  function softNmsGraph(n: number, max: number, iou: number, score: number, sigma: number, pad: boolean): Graph {
    const consts = [
      { name: 'max', shape: [], dtype: 'int32', data: [max] },
      { name: 'iou', shape: [], dtype: 'float32', data: [iou] },
      { name: 'score', shape: [], dtype: 'float32', data: [score] },
      { name: 'sigma', shape: [], dtype: 'float32', data: [sigma] },
    ];
    const parts = consts.map((c) => (c.dtype === 'int32' ? i32Bytes(c.data) : f32Bytes(c.data)));
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { bytes.set(p, o); o += p.length; }
    const json = {
      format: 'graph-model', generatedBy: 'test', convertedBy: 'test',
      modelTopology: {
        node: [
          node('boxes', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: tfShape([n, 4]) }),
          node('scores', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: tfShape([n]) }),
          ...consts.map((c) => node(c.name, 'Const', [], {})),
          node('nms', 'NonMaxSuppressionV5', ['boxes', 'scores', 'max', 'iou', 'score', 'sigma'], { pad_to_max_output_size: { b: pad } }),
        ],
      },
      signature: { outputs: { nms: { name: 'nms' }, 'nms:1': { name: 'nms:1' }, 'nms:2': { name: 'nms:2' } } },
      weightsManifest: [{ paths: ['w.bin'], weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype })) }],
    };
    return loadTfjsModel(writeModel(tmpDir('softnms'), json, { 'w.bin': bytes }));
  }

  /** Overlapping boxes (clusters around a few centres, either corner order) and scores in (0, 1). */
  function boxesAndScores(n: number, seed: number): { boxes: Float32Array; scores: Float32Array } {
    const r = rng(seed);
    const boxes = new Float32Array(n * 4);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const cy = (i % 3) * 0.3 + r() * 0.1;
      const cx = (i % 2) * 0.4 + r() * 0.1;
      const h = 0.2 + r() * 0.2;
      const w = 0.2 + r() * 0.2;
      const flip = r() < 0.3;
      boxes.set(flip ? [cy + h, cx + w, cy, cx] : [cy, cx, cy + h, cx + w], 4 * i);
      scores[i] = 0.05 + r() * 0.9;
    }
    return { boxes, scores };
  }

  for (const [n, max, iou, score, sigma, pad, seed] of [
    [12, 8, 0.5, 0.1, 0.5, false, 1], [20, 10, 0.7, 0.2, 0.25, true, 2], [16, 4, 0.9, 0.05, 1, false, 3], [9, 9, 0.6, 0.3, 0.1, true, 4],
  ] as const) {
    it(`N=${n} max ${max} iou ${iou} score ${score} sigma ${sigma}${pad ? ' padded' : ''}: wasm = reference = tfjs-core`, async () => {
      const g = softNmsGraph(n, max, iou, score, sigma, pad);
      expect(g.orderedNodes().some((x) => x.op === 'TfNonMaxSuppression' && x.domain === 'edgec')).toBe(true);
      const { boxes, scores } = boxesAndScores(n, seed);
      const xs = [Tensor.from('f32', [n, 4], boxes), Tensor.from('f32', [n], scores)];
      const ref = runGraph(g, xs);
      const { art, model, dispose } = await compiled(g);
      try {
        // value-dependent sizes: a dynamic artifact, the op runs in model.mjs with the reference kernel
        expect(art.manifest.dynamic).toBe(true);
        const got = runWasmModel(model, xs);
        ref.forEach((t, k) => expect(compareTensors(got[k]!, t, { rtol: 0, atol: 0 }), `output ${k} vs reference`).toBeNull());
        await tf.setBackend('cpu');
        const want = tf.image.nonMaxSuppressionWithScore(tf.tensor2d(boxes, [n, 4]), tf.tensor1d(scores), max, iou, score, sigma);
        const idx = Array.from(want.selectedIndices.dataSync());
        const sc = Array.from(want.selectedScores.dataSync());
        const padN = pad ? max - idx.length : 0;
        expect(idx.length).toBeGreaterThan(1);
        // soft-NMS reweights: some selected score differs from the input score
        expect(idx.some((b, k) => Math.abs(sc[k]! - scores[b]!) > 1e-6)).toBe(true);
        expect(Array.from(got[0]!.data as Int32Array)).toEqual([...idx, ...new Array<number>(padN).fill(0)]);
        expect(compareTensors(got[1]!, Tensor.from('f32', [idx.length + padN], [...sc, ...new Array<number>(padN).fill(0)]), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
        expect(got[2]!.get(0)).toBe(idx.length);
        tf.dispose([want.selectedIndices, want.selectedScores]);
      } finally {
        dispose();
      }
    });
  }
});
