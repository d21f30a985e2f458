/**
 * The one place where the CLI calls target code generators and runners. The lead wires
 * targets/wasm, targets/webgpu and targets/hls in here; until a target exists, every entry point
 * gives a clear 'unsupported' error naming it.
 */
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { unsupported, usage } from '../compiler/errors.js';

/** Targets of `edgec compile`. 'onnx' writes only the transformed standard-ONNX model. */
export const COMPILE_TARGETS = ['wasm', 'webgpu', 'hls', 'onnx'] as const;
export type CompileTarget = (typeof COMPILE_TARGETS)[number];

/** Targets of `edgec run`. */
export const RUN_TARGETS = ['ref', 'wasm', 'webgpu', 'hls'] as const;
export type RunTarget = (typeof RUN_TARGETS)[number];

/** Options handed to a target emitter. */
export interface EmitOptions {
  precision: 'fp32' | 'fp16' | 'int8' | 'int4';
  /** Print progress/diagnostics (stderr). */
  log?: (msg: string) => void;
}

/** What a target emits: files (relative names) and manifest fields it adds (e.g. arena_bytes). */
export interface EmitResult {
  files: Map<string, Uint8Array | string>;
  manifest: Record<string, unknown>;
}

/**
 * Emits the code of `target` for an optimized graph.
 * @param target compile target
 * @param graph the transformed graph (not modified)
 * @param opts precision and logging
 */
export async function emitTarget(target: CompileTarget, graph: Graph, opts: EmitOptions): Promise<EmitResult> {
  void graph;
  void opts;
  switch (target) {
    case 'onnx':
      // The transformed model.onnx is written for every target by the compile command.
      return { files: new Map(), manifest: {} };
    case 'wasm':
    case 'webgpu':
    case 'hls':
      throw unsupported(`target "${target}" is not available in this build of edgec yet`, {
        hint: 'use --target onnx to write the optimized model, or run it with `edgec run --target ref`',
      });
    default:
      throw usage(`unknown target "${String(target)}"`);
  }
}

/**
 * Runs a compiled artifact (or a model compiled on the fly) on a target other than 'ref'.
 * @param target run target
 * @param graph the graph to run
 * @param artifactDir the artifact folder when running an artifact
 * @param inputs one batch of inputs, in graph-input order
 */
export async function runOnTarget(target: Exclude<RunTarget, 'ref'>, graph: Graph, artifactDir: string | undefined, inputs: Tensor[]): Promise<Tensor[]> {
  void graph;
  void artifactDir;
  void inputs;
  throw unsupported(`running on target "${target}" is not available in this build of edgec yet`, {
    hint: 'use --target ref',
  });
}
