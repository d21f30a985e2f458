/** The WebGPU target's public entry points. */
export { emitWebgpu, compileWebgpu, webgpuTarget, webgpuPipeline, buildProgram, stableJson } from './emit.js';
export type { WebgpuOptions, WebgpuStats, HostSpec } from './emit.js';
export { lowerGraph, LOWERINGS } from './lower.js';
export { KERNELS, generate } from './kernels/index.js';
export { runWebgpuArtifact, runWebgpuModel, loadWebgpuArtifact, compileAndRunWebgpu, nodeGpuDevice, writeTempArtifact } from './runner.js';
export type { WebgpuModel } from './runner.js';
