/**
 * Differential tests of the wasm target on graphs built in code: every case is compiled with the
 * wasm pipeline, run through its model.mjs and compared with the reference interpreter
 * (rtol 1e-3). The kernel cases live in ./cases.ts and are shared with webgpu-ops.test.ts. The cases cover each kernel's paths (conv fast paths and general geometry, GEMM
 * bias modes and tails, broadcasting, strided copies, reductions, resampling, normalization).
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import {
  aliasedOutputsGraph, checkOn, expectDeterministic, expectManifest, expectUnsupported, graphOf, profiledGraph, runSharedSuites,
  unsupportedOpGraph,
} from './cases.js';
import { runOnWasm } from './wasm-helpers.js';

const check = (g: Graph): Promise<void> => checkOn(runOnWasm, g);

// the shared kernel cases (./cases.ts); the fused-epilogue conv takes 32 channels so wasm picks Winograd
runSharedSuites({ target: 'wasm', run: runOnWasm, compile: compileWasm, fusedCin: 32 });

describe('wasm target errors and guarantees', () => {
  it('an op without a wasm lowering is an unsupported error naming op and node', () => {
    const g = unsupportedOpGraph();
    expectUnsupported(() => compileWasm(g), 'my_glp', 'GlobalLpPool');
  });

  it('3x3 stride-1 convs with >= 32 channels use the Winograd kernel', async () => {
    const { lowerGraph } = await import('../../targets/wasm/lower.js');
    const g = graphOf((b, r) => {
      const x = b.input('x', 'f32', [1, 32, 12, 12]);
      b.output(b.node('Conv', [x, r('w', [16, 32, 3, 3])], { pads: [1, 1, 1, 1] }));
    });
    expect(lowerGraph(g).steps.map((s) => s.kernel)).toEqual(['conv3x3_wino_f32']);
  });

  it('compiling twice gives byte-identical artifacts', () => {
    expectDeterministic(compileWasm);
  });

  it('manifest lists I/O, sizes and file hashes', () => {
    expectManifest(compileWasm, 'wasm', ['model.d.ts', 'model.mjs', 'model.wasm', 'model_abi.h']);
  });

  it('graph outputs that alias inputs or each other get their own buffers', async () => {
    await check(aliasedOutputsGraph());
  });

  it('profiling build reports per-layer times', async () => {
    const g = profiledGraph();
    const { files } = compileWasm(g, { profile: true });
    const { writeTempArtifact, loadWasmArtifact } = await import('../../targets/wasm/runner.js');
    const dir = writeTempArtifact(files);
    const m = await loadWasmArtifact(dir);
    m.run({ x: new Float32Array(72) });
    const p = m.profile!();
    expect(p.map((l) => l.op)).toEqual(['FusedConv']);
    expect(p[0]!.ms).toBeGreaterThanOrEqual(0);
  });
});
