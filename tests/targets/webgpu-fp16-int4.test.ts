/**
 * --fp16 and --int4 on the WebGPU target (the `webgpu` package, SwiftShader in CI): the WGSL
 * RoundF16 bit for bit against the reference; small models built in code and the shared
 * bench/trained models compiled as `edgec compile --fp16/--int4 --target webgpu` does, run through
 * model.mjs and compared with the reference interpreter on the same fp16/int4 graph; weights.bin
 * holds f16 halves / packed int4 blocks (fp16 ~2x, int4 4.6-6.3x smaller than fp32 (dscnn, mostly depthwise: 2.8x)). Skips (logged)
 * only when no adapter exists and CI is not set.
 */
import * as fs from 'node:fs';
import { describe, expect } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { emitWebgpu } from '../../targets/webgpu/emit.js';
import { loadWebgpuArtifact, runWebgpuModel, writeTempArtifact } from '../../targets/webgpu/runner.js';
import { Artifact } from '../../targets/target.js';
import { gpuAvailable } from './webgpu-helpers.js';
import { compareAll, fp16Int4ModelCases, prepare, roundF16Case } from './fp16-int4-cases.js';

const gpu = await gpuAvailable('webgpu-fp16-int4');

async function run(art: Artifact, inputs: Tensor[]): Promise<Tensor[]> {
  const dir = writeTempArtifact(art.files);
  try {
    const model = await loadWebgpuArtifact(dir);
    try {
      return await runWebgpuModel(model, inputs);
    } finally {
      model.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const weightsBin = (a: Artifact): number => (a.files.get('weights.bin') as Uint8Array).length;

describe.skipIf(!gpu)('webgpu RoundF16 kernel', () => {
  roundF16Case((g, inputs) => run(emitWebgpu(g), inputs));
});

/** Compiles float graph `g` for webgpu fp32, fp16 and int4 and checks results and weights.bin sizes. */
async function check(id: string, g: Graph, inputs: Tensor[], ratioInt4: number): Promise<string> {
  const base = g.clone();
  const { float, q: q16 } = prepare(g, 'webgpu', 'fp16');
  const w32 = weightsBin(emitWebgpu(float, { precision: 'fp32' }));
  const a16 = emitWebgpu(q16.graph, { precision: 'fp16' });
  expect(compareAll(await run(a16, inputs), runGraph(q16.graph, inputs), 'fp16'), `${id} fp16`).toBeNull();
  const { q: q4 } = prepare(base, 'webgpu', 'int4');
  const a4 = emitWebgpu(q4.graph, { precision: 'int4' });
  expect(compareAll(await run(a4, inputs), runGraph(q4.graph, inputs), 'int4'), `${id} int4`).toBeNull();
  const w16 = weightsBin(a16);
  const w4 = weightsBin(a4);
  expect(a16.manifest.weights_bytes).toBe(w16);
  expect(a4.manifest.weights_bytes).toBe(w4);
  expect(w32 / w16, `${id}: fp16 weights.bin ${w16} vs fp32 ${w32}`).toBeGreaterThan(1.9);
  expect(w32 / w4, `${id}: int4 weights.bin ${w4} vs fp32 ${w32}`).toBeGreaterThan(ratioInt4);
  return `| ${id} | ${w32} | ${w16} (${(w32 / w16).toFixed(2)}x) | ${w4} (${(w32 / w4).toFixed(2)}x) |`;
}

describe.skipIf(!gpu)('webgpu --fp16 / --int4 vs the reference', () => {
  fp16Int4ModelCases(check, 'webgpu weights.bin bytes');
});
