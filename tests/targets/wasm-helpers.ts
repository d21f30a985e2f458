/** Shared helpers of the wasm target tests: compile a graph, run it through model.mjs. */
import fs from 'node:fs';
import { expect } from 'vitest';
import { runGraph } from '../../compiler/interp/interp.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compileWasm, WasmOptions } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModel, writeTempArtifact } from '../../targets/wasm/runner.js';

/** Compiles `g` for wasm, loads the artifact through model.mjs and runs it on `inputs`. */
export async function runOnWasm(g: Graph, inputs: Tensor[], opts: WasmOptions = {}): Promise<{ outputs: Tensor[]; codeBytes: number }> {
  const art = compileWasm(g, opts);
  const dir = writeTempArtifact(art.files);
  try {
    const model = await loadWasmArtifact(dir);
    return { outputs: runWasmModel(model, inputs), codeBytes: art.stats.codeBytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-random f32 tensor in [lo, hi) (mulberry32). */
export function randomTensor(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * next();
  return new Tensor('f32', shape, d);
}

/**
 * Runs `g` on the reference interpreter and on wasm with and without SIMD; asserts the one f32
 * output agrees within `tol` x (1 + |reference|) elementwise.
 */
export async function expectWasmF32MatchesRef(g: Graph, x: Tensor, tol = 1e-5): Promise<void> {
  const want = runGraph(g, [x])[0]!;
  for (const simd of [true, false]) {
    const got = (await runOnWasm(g, [x], { simd })).outputs[0]!;
    expect(got.shape).toEqual(want.shape);
    const a = got.data as Float32Array;
    const b = want.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
    expect(worst, `simd ${simd}`).toBeLessThanOrEqual(tol);
  }
}
