/**
 * Streaming recurrent model on wasm: a small audio model built in code (ONNX) takes a chunk x
 * [1,T,F], the LSTM state h0/c0 and a sample rate sr (int64 scalar); an If on sr == 16000 picks the
 * feature scaling; an LSTM runs over the chunk; outputs are per-frame scores y plus the new state
 * hn/cn. It is compiled with `edgec compile --bind sr=16000` (the If is inlined, sr leaves the
 * signature), loaded through its model.mjs and run on 100 chunks with the state carried by the
 * caller from outputs to inputs, and compared chunk for chunk with onnxruntime-node running the
 * original .onnx with sr=16000 (carrying its own state), at the README's fp32 wasm tolerance.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.js';
import { loadWasmArtifact } from '../../targets/wasm/runner.js';
import { compareTensors } from '../helpers/compare.js';
import { attr, f32, graph, i64, ifNode, model, node, ortRunSession, ortSessionOf, rand, randTensor, vi } from '../helpers/onnx-build.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';

const tmp = tmpDir('edgec-stream-');
afterAll(() => rmTmp(tmp));

/** Frames per chunk, features per frame, LSTM hidden size, chunks streamed. */
const T = 10;
const F = 16;
const H = 32;
const CHUNKS = 100;
/** The README's fp32 wasm tolerance (rtol 1e-3), with a small atol for values near zero. */
const TOL = { rtol: 1e-3, atol: 1e-5 };

/**
 * x [1,T,F], h0/c0 [1,1,H], sr i64 []:
 *   feat = If(sr == 16000) then x * s16 + o16 else x * s8     (per-feature scaling, [F])
 *   Y, hn, cn = LSTM(Transpose(feat, [1,0,2]), W, R, B, h0, c0)   (layout 0: [T,1,F])
 *   y = Sigmoid(Squeeze(Y, [1]) @ Wo + bo)                      ([T,1,1]: a score per frame)
 */
function streamingModel(): Uint8Array {
  const r = rand(2024);
  const s = 1 / Math.sqrt(H);
  const then16 = graph('sr16k', [
    node('Mul', ['x', 's16'], ['t_mul']),
    node('Add', ['t_mul', 'o16'], ['t_feat']),
  ], [], [vi('t_feat', 'f32', [1, T, F])], [['s16', randTensor(r, [F], 1)], ['o16', randTensor(r, [F], 0.2)]]);
  const else8 = graph('sr8k', [node('Mul', ['x', 's8'], ['e_feat'])], [], [vi('e_feat', 'f32', [1, T, F])],
    [['s8', randTensor(r, [F], 2)]]);
  const main = graph('stream', [
    node('Equal', ['sr', 'c16k'], ['is16k']),
    ifNode('is16k', ['feat'], then16, else8),
    node('Transpose', ['feat'], ['feat_t'], [attr.ints('perm', [1, 0, 2])]),
    node('LSTM', ['feat_t', 'W', 'R', 'B', '', 'h0', 'c0'], ['Y', 'hn', 'cn'], [attr.int('hidden_size', H)]),
    node('Squeeze', ['Y', 'axes1'], ['Ys']),
    node('MatMul', ['Ys', 'Wo'], ['logit0']),
    node('Add', ['logit0', 'bo'], ['logit']),
    node('Sigmoid', ['logit'], ['y']),
  ], [vi('x', 'f32', [1, T, F]), vi('h0', 'f32', [1, 1, H]), vi('c0', 'f32', [1, 1, H]), vi('sr', 'i64', [])],
  [vi('y', 'f32', [T, 1, 1]), vi('hn', 'f32', [1, 1, H]), vi('cn', 'f32', [1, 1, H])], [
    ['c16k', i64(16000)],
    ['W', randTensor(r, [1, 4 * H, F], s)],
    ['R', randTensor(r, [1, 4 * H, H], s)],
    ['B', randTensor(r, [1, 8 * H], 0.1)],
    ['axes1', Tensor.from('i64', [1], [1n])],
    ['Wo', randTensor(r, [H, 1], 0.5)],
    ['bo', f32([1], [0.1])],
  ]);
  return model(main, 14);
}

describe('streaming LSTM on wasm (state carried by the caller)', () => {
  it(`compile --bind sr=16000, run ${CHUNKS} chunks through model.mjs, match onnxruntime chunk for chunk`, async () => {
    const bytes = streamingModel();
    const file = path.join(tmp, 'stream.onnx');
    fs.writeFileSync(file, bytes);
    const out = path.join(tmp, 'stream.wasm');
    const res = await cli('compile', file, '--bind', 'sr=16000', '-o', out);
    expect(res.code, res.err).toBe(0);

    const m = await loadWasmArtifact(out);
    expect(m.inputs.map((i) => i.name)).toEqual(['x', 'h0', 'c0']);
    expect(m.outputs.map((o) => o.name)).toEqual(['y', 'hn', 'cn']);
    const sess = await ortSessionOf(bytes);

    // a deterministic "audio feature" stream: smooth in time, different per feature
    const r = rand(99);
    let h = new Float32Array(H);
    let c = new Float32Array(H);
    let ortH = Tensor.zeros('f32', [1, 1, H]);
    let ortC = Tensor.zeros('f32', [1, 1, H]);
    let maxDiff = 0;
    for (let k = 0; k < CHUNKS; k++) {
      const x = new Float32Array(T * F);
      for (let t = 0; t < T; t++) {
        for (let f = 0; f < F; f++) x[t * F + f] = Math.sin((k * T + t) * (0.05 + 0.02 * f)) + 0.1 * r();
      }
      const got = m.run({ x, h0: h, c0: c });
      const want = await ortRunSession(sess, { x: new Tensor('f32', [1, T, F], x), h0: ortH, c0: ortC, sr: i64(16000) });
      const shapes = [[T, 1, 1], [1, 1, H], [1, 1, H]];
      ['y', 'hn', 'cn'].forEach((name, j) => {
        const g = new Tensor('f32', shapes[j]!, Float32Array.from(got[name] as Float32Array));
        expect(compareTensors(g, want[j]!, TOL), `chunk ${k} output ${name}`).toBeNull();
        for (let i = 0; i < g.size; i++) maxDiff = Math.max(maxDiff, Math.abs(g.get(i) - want[j]!.get(i)));
      });
      // the caller carries the state: this chunk's outputs are the next chunk's inputs
      h = Float32Array.from(got['hn'] as Float32Array);
      c = Float32Array.from(got['cn'] as Float32Array);
      ortH = want[1]!;
      ortC = want[2]!;
    }
    // the state really evolves (not stuck at zero) and stays close to onnxruntime's
    expect(Math.max(...Array.from(h, Math.abs))).toBeGreaterThan(0.05);
    expect(maxDiff).toBeLessThan(1e-3);
  }, 120_000);
});
