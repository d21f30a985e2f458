/**
 * Node-side helpers to run a wasm artifact through its own runtime API (model.mjs): what
 * `edgec run --target wasm`, the tests and the bench use.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Tensor } from '../../compiler/ir/tensor.js';
import { invalid } from '../../compiler/errors.js';

/** The runtime API of a wasm artifact (../../shared/CLI.md). */
export interface WasmModel {
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[]; dtype: string }[];
  run(feeds: Record<string, ArrayLike<number>>): Record<string, Float32Array>;
  layers?: { name: string; op: string }[];
  profile?(): { name: string; op: string; ms: number }[];
  resetProfile?(): void;
}

/** Writes artifact files into a fresh temporary folder and returns its path. */
export function writeTempArtifact(files: Map<string, Uint8Array | string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-wasm-'));
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data);
  return dir;
}

/** Loads an artifact folder (model.mjs + model.wasm) and instantiates the model. */
export async function loadWasmArtifact(dir: string): Promise<WasmModel> {
  const mjs = path.join(dir, 'model.mjs');
  if (!fs.existsSync(mjs)) throw invalid('artifact folder has no model.mjs', { file: dir });
  const mod = (await import(pathToFileURL(mjs).href)) as { create(o?: unknown): Promise<WasmModel> };
  return mod.create();
}

/** Runs a loaded model on tensors given in input order; returns f32 tensors in output order. */
export function runWasmModel(model: WasmModel, inputs: readonly Tensor[]): Tensor[] {
  if (inputs.length !== model.inputs.length) throw invalid(`model has ${model.inputs.length} input(s) but ${inputs.length} were given`);
  const feeds: Record<string, ArrayLike<number>> = {};
  model.inputs.forEach((x, i) => {
    const t = inputs[i]!;
    feeds[x.name] = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toNumbers());
  });
  const out = model.run(feeds);
  return model.outputs.map((y) => new Tensor('f32', y.shape, out[y.name]!));
}

/**
 * Compiles a graph for wasm in memory, runs it through its model.mjs on one batch of inputs and
 * removes the temporary artifact (what `edgec run --target wasm MODEL` does).
 * @param graph graph with concrete shapes (the wasm pipeline runs on a copy)
 * @param inputs tensors in graph-input order
 */
export async function compileAndRunWasm(graph: import('../../compiler/ir/graph.js').Graph, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const { compileWasm } = await import('./emit.js');
  const dir = writeTempArtifact(compileWasm(graph).files);
  try {
    return runWasmModel(await loadWasmArtifact(dir), inputs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
