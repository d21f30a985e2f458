/**
 * Node-side helpers to run a WebGPU artifact through its own runtime API (model.mjs) on the
 * `webgpu` package (Dawn for Node): what `edgec run --target webgpu`, the tests and the bench use.
 * One GPU device is shared by every model loaded in the process. On machines without a GPU,
 * SwiftShader (Vulkan on the CPU) serves: VK_ICD_FILENAMES defaults to Chromium's SwiftShader ICD
 * when it is installed and the variable is unset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Tensor } from '../../compiler/ir/tensor.js';
import type { DType } from '../../compiler/ir/dtype.js';
import { invalid, unsupported } from '../../compiler/errors.js';
import { writeTempArtifact as writeTemp } from '../common/target.js';
import { Graph } from '../../compiler/ir/graph.js';

/** The runtime API of a WebGPU artifact (../../shared/CLI.md). */
export interface WebgpuModel {
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[]; dtype: string }[];
  layers: { name: string; op: string }[];
  /** Feeds and outputs are typed arrays of each value's dtype (i64: BigInt64Array; bool: Uint8Array). */
  run(feeds: Record<string, ArrayLike<number | bigint>>): Promise<Record<string, ArrayLike<number | bigint>>>;
  destroy(): void;
  /** Profiling builds: per-layer milliseconds accumulated since the last reset. */
  profile?(): { name: string; op: string; ms: number }[];
  resetProfile?(): void;
}

/** Chromium's SwiftShader Vulkan ICD (used when no other Vulkan driver is configured). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let devicePromise: Promise<unknown | null> | undefined;
/** The Dawn instance: it must stay referenced while its devices live (a collected instance crashes them). */
let gpuInstance: unknown;

/**
 * Imports the `webgpu` npm package (Dawn), an optional dependency of edgec: WebGPU artifacts run in
 * Node through it (browsers need nothing).
 * @throws EdgecError unsupported when the package is not installed or its native library does not load
 */
async function loadDawn(): Promise<{ create(o: string[]): { requestAdapter(): Promise<unknown> }; globals: object }> {
  try {
    return (await import('webgpu')) as unknown as { create(o: string[]): { requestAdapter(): Promise<unknown> }; globals: object };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw unsupported('running WebGPU artifacts in Node needs the optional `webgpu` npm package, which is not installed', {
        hint: 'npm install webgpu (it is an optionalDependency of edgec; browsers need nothing)',
      });
    }
    throw unsupported(`the webgpu npm package (Dawn) does not load on this machine: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'it needs a Vulkan loader (apt-get install libvulkan1) and a driver or SwiftShader',
    });
  }
}

/**
 * The shared GPU device of this process (null when no adapter exists). Sets VK_ICD_FILENAMES to
 * SwiftShader first when unset and the ICD file exists.
 */
export function nodeGpuDevice(): Promise<unknown | null> {
  devicePromise ??= (async () => {
    if (!process.env['VK_ICD_FILENAMES'] && fs.existsSync(SWIFTSHADER_ICD)) process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
    const mod = await loadDawn();
    Object.assign(globalThis, mod.globals);
    // Dawn zero-fills workgroup memory in every shader by default, which SwiftShader compiles very
    // slowly (seconds per tiled kernel); edgec kernels write every workgroup word before reading it.
    const gpu = mod.create(['enable-dawn-features=disable_workgroup_init']);
    gpuInstance = gpu;
    const adapter = (await gpu.requestAdapter()) as {
      limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
      requestDevice(d?: unknown): Promise<unknown>;
    } | null;
    if (!adapter) return null;
    return adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
  })();
  return devicePromise;
}

/** Writes artifact files into a fresh temporary folder and returns its path. */
export const writeTempArtifact = (files: ReadonlyMap<string, Uint8Array | string>): string => writeTemp(files, 'edgec-webgpu-');

/** Loads an artifact folder (model.mjs, weights.bin, shaders) and creates the model on the shared device. */
export async function loadWebgpuArtifact(dir: string): Promise<WebgpuModel> {
  const mjs = path.join(dir, 'model.mjs');
  if (!fs.existsSync(mjs)) throw invalid('artifact folder has no model.mjs', { file: dir });
  const device = await nodeGpuDevice();
  if (!device) throw unsupported('no WebGPU adapter is available on this machine (install a Vulkan driver or SwiftShader)');
  const mod = (await import(pathToFileURL(mjs).href)) as { create(o?: unknown): Promise<WebgpuModel> };
  return mod.create({ device });
}

/**
 * Runs a loaded model on tensors given in input order; returns tensors of the model's output
 * dtypes in output order (f16 values of an --fp16 graph come back as f32).
 */
export async function runWebgpuModel(model: WebgpuModel, inputs: readonly Tensor[]): Promise<Tensor[]> {
  if (inputs.length !== model.inputs.length) throw invalid(`model has ${model.inputs.length} input(s) but ${inputs.length} were given`);
  const feeds: Record<string, ArrayLike<number | bigint>> = {};
  model.inputs.forEach((x, i) => {
    const t = inputs[i]!;
    if (t.dtype === 'string') throw unsupported(`input "${x.name}" is a string tensor`);
    const d = t.data as ArrayLike<number | bigint>;
    feeds[x.name] = x.dtype === 'f32' && !(d instanceof Float32Array) ? Float32Array.from(t.toNumbers()) : d;
  });
  const out = await model.run(feeds);
  return model.outputs.map((y) => new Tensor(y.dtype as DType, y.shape, out[y.name]! as Tensor['data']));
}

/**
 * Runs an artifact folder on one batch of inputs (what `edgec run ARTIFACT --target webgpu` does).
 * @param dir artifact folder
 * @param inputs tensors in graph-input order
 */
export async function runWebgpuArtifact(dir: string, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const model = await loadWebgpuArtifact(dir);
  try {
    return await runWebgpuModel(model, inputs);
  } finally {
    model.destroy();
  }
}

/**
 * Compiles a graph for WebGPU in memory, runs it through its model.mjs on one batch of inputs and
 * removes the temporary artifact (what `edgec run --target webgpu MODEL` does).
 * @param graph graph with concrete shapes (the webgpu pipeline runs on a copy)
 * @param inputs tensors in graph-input order
 */
export async function compileAndRunWebgpu(graph: Graph, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const { compileWebgpu } = await import('./emit.js');
  const dir = writeTempArtifact(compileWebgpu(graph).files);
  try {
    return await runWebgpuArtifact(dir, inputs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
