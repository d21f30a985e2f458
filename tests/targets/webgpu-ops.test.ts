/**
 * Differential tests of the WebGPU target on graphs built in code: every case is compiled with the
 * webgpu pipeline, run through its model.mjs on the `webgpu` package (SwiftShader in CI) and
 * compared with the reference interpreter (rtol 1e-3). The cases cover each kernel's paths (tiled
 * implicit-GEMM and direct convs, fused epilogues, GEMM bias modes, tails and batch broadcasting,
 * broadcasting, strided copies, reductions, resampling, normalization). Skips (logged) only when no
 * adapter exists and CI is not set. The kernel cases live in ./cases.ts and are shared with
 * wasm-ops.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { compareTensors } from '../helpers/compare.js';
import {
  aliasedOutputsGraph, checkOn, expectDeterministic, expectManifest, expectUnsupported, graphOf, profiledGraph, runSharedSuites,
  unsupportedOpGraph,
} from './cases.js';
import { randomTensor } from './wasm-helpers.js';
import { gpuAvailable, runOnWebgpu } from './webgpu-helpers.js';

const gpu = await gpuAvailable('webgpu-ops');

const check = (g: Graph, rtol?: number, atol?: number): Promise<void> => checkOn(runOnWebgpu, g, rtol, atol);

// the shared kernel cases (./cases.ts), plus the cases tagged webgpu there (ConvTranspose, runtime Clip bounds)
runSharedSuites({ target: 'webgpu', run: runOnWebgpu, compile: compileWebgpu, fusedCin: 8, skip: !gpu });

describe('webgpu target errors and guarantees', () => {
  it('an op without a webgpu lowering is an unsupported error naming op and node', () => {
    const g = unsupportedOpGraph();
    expectUnsupported(() => compileWebgpu(g), 'my_glp', 'GlobalLpPool');
  });

  it('compiling twice gives byte-identical artifacts', () => {
    expectDeterministic(compileWebgpu);
  });

  it('manifest lists I/O, sizes and file hashes', () => {
    expectManifest(compileWebgpu, 'webgpu', ['kernel_0.wgsl', 'model.d.ts', 'model.mjs', 'weights.bin']);
  });

  it.skipIf(!gpu)('graph outputs that alias inputs or each other get their own buffers', async () => {
    await check(aliasedOutputsGraph());
  });

  it.skipIf(!gpu)('profiling build reports per-layer times', async () => {
    const g = profiledGraph();
    const { files } = compileWebgpu(g, { profile: true });
    const { writeTempArtifact, loadWebgpuArtifact } = await import('../../targets/webgpu/runner.js');
    const dir = writeTempArtifact(files);
    const m = await loadWebgpuArtifact(dir);
    const inputs = [randomTensor([1, 2, 6, 6], 4)];
    const out = await m.run({ x: inputs[0]!.data as Float32Array });
    expect(compareTensors(new Tensor('f32', [1, 3, 4, 4], out[m.outputs[0]!.name]!), runGraph(g, inputs)[0]!, { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    const p = m.profile!();
    expect(p.map((l) => l.op)).toEqual(['FusedConv']);
    expect(p[0]!.ms).toBeGreaterThan(0);
    m.destroy();
  });

  it('nodes with equal kernel parameters share one shader; different shapes do not', () => {
    const g = graphOf((b, r) => {
      const x = b.input('x', 'f32', [1, 8, 6, 6]);
      const c1 = b.node('Conv', [x, r('w1', [8, 8, 3, 3])], { pads: [1, 1, 1, 1] });
      const c2 = b.node('Conv', [c1, r('w2', [8, 8, 3, 3])], { pads: [1, 1, 1, 1] });
      const c3 = b.node('Conv', [c2, r('w3', [8, 8, 3, 3])], { pads: [1, 1, 1, 1], strides: [2, 2] });
      b.output(c3);
    });
    const art = compileWebgpu(g);
    expect(art.stats.dispatches).toBe(3);
    expect(art.stats.shaders).toBe(2);
    expect(Object.values(art.stats.kernels)).toEqual(['conv2d_igemm_tiled_f32', 'conv2d_igemm_tiled_f32']);
  });

  it('tensors of dtypes webgpu does not hold (f64; i64 arithmetic) are rejected at compile time', () => {
    const g = graphOf((b) => {
      const x = b.input('x', 'f64', [4]);
      b.output(b.node('Add', [x, x], {}, { name: 'f64_add' }));
    });
    expectUnsupported(() => compileWebgpu(g), 'f64_add');
    const h = graphOf((b) => {
      const x = b.input('x', 'i64', [4]);
      b.output(b.node('Add', [x, x], {}, { name: 'i64_add' }));
    });
    expectUnsupported(() => compileWebgpu(h), 'i64_add');
  });
});

describe.skipIf(!gpu)('webgpu larger shapes (multi-tile grids)', () => {
  it('1x1 conv with many channels, 3x3 conv over several tiles, grouped tiled conv', async () => {
    await check(graphOf((b, r) => {
      const x = b.input('x', 'f32', [1, 40, 9, 11]);
      const c1 = b.node('Conv', [x, r('w1', [70, 40, 1, 1]), r('b1', [70])]);
      const c2 = b.node('Conv', [c1, r('w2', [33, 70, 3, 3])], { pads: [1, 1, 1, 1] });
      const c3 = b.node('Conv', [c2, r('w3', [21, 11, 3, 3])], { group: 3, strides: [2, 2] });
      b.output(c3);
    }), 1e-3, 1e-4);
  });
  it('Gemm with 2-D grid tails and MatMul with broadcast batch dims', async () => {
    await check(graphOf((b, r) => {
      const x = b.input('x', 'f32', [37, 50]);
      const y = b.input('y', 'f32', [2, 1, 5, 19]);
      const z = b.input('z', 'f32', [3, 19, 6]);
      b.output(b.node('Gemm', [x, r('w', [50, 41]), r('c', [41])]), b.node('MatMul', [y, z]));
    }), 1e-3, 1e-4);
  });
});
