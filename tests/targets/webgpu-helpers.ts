/**
 * Shared helpers of the WebGPU target tests: GPU availability (SwiftShader in CI), compile a graph,
 * run it through its model.mjs on the shared device.
 */
import fs from 'node:fs';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compileWebgpu, WebgpuOptions } from '../../targets/webgpu/emit.js';
import { loadWebgpuArtifact, nodeGpuDevice, runWebgpuModel, SWIFTSHADER_ICD, writeTempArtifact } from '../../targets/webgpu/runner.js';

if (!process.env['VK_ICD_FILENAMES'] && fs.existsSync(SWIFTSHADER_ICD)) process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;

/**
 * True when a WebGPU adapter exists. Without one the suites skip with a logged reason, except in
 * CI (CI set), where the missing adapter is a failure.
 */
export async function gpuAvailable(suite: string): Promise<boolean> {
  let dev: unknown = null;
  let why = `no WebGPU adapter on this machine (set VK_ICD_FILENAMES to a Vulkan ICD, e.g. ${SWIFTSHADER_ICD})`;
  try {
    dev = await nodeGpuDevice();
  } catch (e) {
    // the optional webgpu package is missing or does not load
    why = (e as Error).message;
  }
  if (dev) return true;
  if (process.env['CI']) throw new Error(`${suite}: ${why} in CI (VK_ICD_FILENAMES=${process.env['VK_ICD_FILENAMES'] ?? ''})`);
  console.warn(`${suite}: skipped, ${why}`);
  return false;
}

/** Compiles `g` for WebGPU, loads the artifact through model.mjs and runs it on `inputs`. */
export async function runOnWebgpu(g: Graph, inputs: Tensor[], opts: WebgpuOptions = {}): Promise<{ outputs: Tensor[]; shaders: number; dispatches: number }> {
  const art = compileWebgpu(g, opts);
  const dir = writeTempArtifact(art.files);
  try {
    const model = await loadWebgpuArtifact(dir);
    try {
      return { outputs: await runWebgpuModel(model, inputs), shaders: art.stats.shaders, dispatches: art.stats.dispatches };
    } finally {
      model.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
