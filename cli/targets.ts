/**
 * The one place where the CLI calls target code generators and runners: wasm (targets/wasm),
 * webgpu (targets/webgpu; runs in Node through the `webgpu` package) and hls (targets/hls; runs
 * the C simulation with the host C++ compiler). Each target is loaded on first use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph } from '../compiler/ir/graph.js';
import { Tensor } from '../compiler/ir/tensor.js';
import { EdgecError, unsupported, usage } from '../compiler/errors.js';
import { WasmModel, loadWasmArtifact, runWasmModel, writeTempArtifact } from '../targets/wasm/runner.js';
import type { SequenceShapes } from '../targets/common/sequences.js';

/** The wasm code generator, loaded on first use (binaryen takes a while to load). */
async function wasmEmitter(): Promise<typeof import('../targets/wasm/emit.js')> {
  return import('../targets/wasm/emit.js');
}

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
  /** `--max-input-shape`: largest shape per input kept symbolic (wasm dynamic-shape artifacts). */
  maxInputShapes?: Record<string, number[]>;
  /** `--seq-shape` / `--empty-optional`: structure of sequence and optional inputs (wasm). */
  sequenceShapes?: SequenceShapes;
}

/** What a target emits: files (relative names) and manifest fields it adds (e.g. arena_bytes). */
export interface EmitResult {
  files: Map<string, Uint8Array | string>;
  manifest: Record<string, unknown>;
}

/** Key of the per-input/output ABI a target hands to the CLI ({inputs, outputs}: [{offset, size}]), merged into manifest inputs/outputs. */
export const IO_ABI = 'io_abi';

/** Manifest fields the CLI computes itself (a target's own values for these are dropped). */
const CLI_MANIFEST_KEYS = new Set(['edgec', 'target', 'precision', 'files', 'inputs', 'outputs', 'macs', 'params', 'weights_bytes']);

/** Prefixes a target error with what was being compiled, keeping its kind and context (node, op). */
function targetError(e: unknown, target: string, precision: string): unknown {
  if (!(e instanceof EdgecError) || e.kind !== 'unsupported') return e;
  const what = precision === 'fp32' ? `the ${target} target` : `the ${target} target (--${precision})`;
  const out = new EdgecError(e.kind, `${what} cannot compile this graph: ${e.message}`, e.ctx);
  if (!out.ctx.hint) {
    out.ctx.hint = precision === 'fp32'
      ? 'use --target onnx to write the optimized model, or run it with `edgec run --target ref`'
      : `use --target onnx (runs with \`edgec run --target ref\`), or a precision the ${target} target supports`;
  }
  return out;
}

/**
 * Emits the code of `target` for an optimized graph.
 * @param target compile target
 * @param graph the transformed graph the target compiles (for int8: the lowered integer graph)
 * @param opts precision and logging
 */
export async function emitTarget(target: CompileTarget, graph: Graph, opts: EmitOptions): Promise<EmitResult> {
  switch (target) {
    case 'onnx':
      // The transformed model.onnx is written for every target by the compile command.
      return { files: new Map(), manifest: {} };
    case 'wasm': {
      const { emitWasm } = await wasmEmitter();
      let art: ReturnType<typeof emitWasm>;
      try {
        // The graph decides the kernels (int8 graphs hold edgec.Q* integer ops); `precision` is
        // the label the wasm target records.
        art = emitWasm(graph, { precision: opts.precision, ...(opts.maxInputShapes ? { maxInputShapes: opts.maxInputShapes } : {}),
          ...(opts.sequenceShapes ? { sequenceShapes: opts.sequenceShapes } : {}) });
      } catch (e) {
        throw targetError(e, 'wasm', opts.precision);
      }
      const manifest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(art.manifest)) if (!CLI_MANIFEST_KEYS.has(k)) manifest[k] = v;
      manifest['wasm_weights_bytes'] = art.manifest.weights_bytes;
      // the wasm ABI of each input/output (byte offset, element count), merged into the CLI's entries
      const ios = (xs: unknown) => xs as readonly Record<string, unknown>[];
      const abi = (xs: unknown) => ios(xs).map((x) => ({ offset: x['offset'], size: x['size'] }));
      // (a sequence / optional input or output spans several tensor slots: no one-to-one ABI entry)
      const oneToOne = ios(art.manifest.inputs).length === graph.inputs.length && ios(art.manifest.outputs).length === graph.outputs.length;
      if (oneToOne && ios(art.manifest.inputs).every((x) => x['offset'] !== undefined)) {
        manifest[IO_ABI] = { inputs: abi(art.manifest.inputs), outputs: abi(art.manifest.outputs) };
      }
      return { files: art.files, manifest };
    }
    case 'webgpu':
    case 'hls': {
      if (opts.maxInputShapes) throw usage(`--max-input-shape is supported on the wasm target only (not ${target})`, { hint: 'fix the shapes with --input-shape' });
      let art: { files: Map<string, Uint8Array | string>; manifest: Record<string, unknown> };
      try {
        if (target === 'webgpu') {
          const { emitWebgpu } = await import('../targets/webgpu/emit.js');
          art = emitWebgpu(graph, { precision: opts.precision });
        } else {
          const { emitHls } = await import('../targets/hls/emit.js');
          art = emitHls(graph, { precision: opts.precision });
        }
      } catch (e) {
        throw targetError(e, target, opts.precision);
      }
      const manifest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(art.manifest)) if (!CLI_MANIFEST_KEYS.has(k)) manifest[k] = v;
      // bytes of weights.bin (fp16/int4 weights stored compressed)
      if (target === 'webgpu') manifest['webgpu_weights_bytes'] = art.manifest['weights_bytes'];
      return { files: art.files, manifest };
    }
    default:
      throw usage(`unknown target "${String(target)}"`);
  }
}

/** Runs batches on a target; `close` frees what it holds (temporary folders). */
export interface TargetRunner {
  run(inputs: Tensor[]): Tensor[] | Promise<Tensor[]>;
  close(): void;
}

/**
 * Opens a runner for a target other than 'ref': for an artifact folder, its generated code; for a
 * model, the model compiled in memory (default options).
 * @param target run target
 * @param graph the model's graph (compiled in memory when no artifact is given)
 * @param artifact the artifact folder and its manifest target, when running an artifact
 */
export async function openTargetRunner(
  target: Exclude<RunTarget, 'ref'>,
  graph: Graph,
  artifact?: { dir: string; target: unknown },
): Promise<TargetRunner> {
  if (target === 'webgpu' || target === 'hls') return otherRunner(target, graph, artifact);
  let dir: string;
  let temp = false;
  if (artifact) {
    if (artifact.target !== 'wasm' || !fs.existsSync(path.join(artifact.dir, 'model.mjs'))) {
      throw unsupported(`artifact was compiled for target "${String(artifact.target)}", not wasm`, {
        file: artifact.dir,
        hint: 'run it with --target ref, or compile it with --target wasm',
      });
    }
    dir = artifact.dir;
  } else {
    const { compileWasm } = await wasmEmitter();
    let files: Map<string, Uint8Array | string>;
    try {
      files = compileWasm(graph).files;
    } catch (e) {
      throw targetError(e, 'wasm', 'fp32');
    }
    dir = writeTempArtifact(files);
    temp = true;
  }
  let model: WasmModel;
  try {
    model = await loadWasmArtifact(dir);
  } catch (e) {
    if (temp) fs.rmSync(dir, { recursive: true, force: true });
    if (e instanceof EdgecError) throw e;
    throw unsupported(`cannot load the wasm artifact: ${(e as Error).message}`, { file: dir });
  }
  return {
    run: (inputs) => runWasmModel(model, inputs),
    close: () => {
      if (temp) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runner for the webgpu (Dawn in Node) and hls (C simulation) targets. */
async function otherRunner(target: 'webgpu' | 'hls', graph: Graph, artifact?: { dir: string; target: unknown }): Promise<TargetRunner> {
  if (artifact && artifact.target !== target) {
    throw unsupported(`artifact was compiled for target "${String(artifact.target)}", not ${target}`, {
      file: artifact.dir,
      hint: `run it with --target ref, or compile it with --target ${target}`,
    });
  }
  const wrap = async (f: () => Promise<Tensor[]>): Promise<Tensor[]> => {
    try {
      return await f();
    } catch (e) {
      throw targetError(e, target, 'fp32');
    }
  };
  if (target === 'webgpu') {
    const w = await import('../targets/webgpu/runner.js');
    // an artifact is loaded (shaders compiled, weights uploaded) once for all batches
    let model: ReturnType<typeof w.loadWebgpuArtifact> | undefined;
    const runArtifact = async (dir: string, inputs: Tensor[]): Promise<Tensor[]> => w.runWebgpuModel(await (model ??= w.loadWebgpuArtifact(dir)), inputs);
    return {
      run: (inputs) => wrap(() => (artifact ? runArtifact(path.resolve(artifact.dir), inputs) : w.compileAndRunWebgpu(graph, inputs))),
      close: () => {
        model?.then((m) => m.destroy(), () => undefined);
      },
    };
  }
  const h = await import('../targets/hls/csim.js');
  return {
    run: (inputs) => wrap(() => (artifact ? h.runHlsArtifact(path.resolve(artifact.dir), inputs) : h.emitAndRunHls(graph, inputs))),
    close: () => undefined,
  };
}
