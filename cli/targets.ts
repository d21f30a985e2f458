/**
 * The one place where the CLI calls target code generators and runners: wasm (targets/wasm),
 * webgpu (targets/webgpu; runs in Node through the `webgpu` package), hls (targets/hls; runs
 * the C simulation with the host C++ compiler) and c (targets/c; host C++ compiler, or
 * arm-none-eabi-gcc + qemu-system-arm for --device). Each target is loaded on first use.
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
export const COMPILE_TARGETS = ['wasm', 'webgpu', 'hls', 'c', 'onnx'] as const;
export type CompileTarget = (typeof COMPILE_TARGETS)[number];

/** Targets of `edgec run`. */
export const RUN_TARGETS = ['ref', 'wasm', 'webgpu', 'hls', 'c'] as const;
export type RunTarget = (typeof RUN_TARGETS)[number];

/** Options handed to a target emitter. */
export interface EmitOptions {
  precision: 'fp32' | 'fp16' | 'int8' | 'int4';
  /** Print progress/diagnostics (stderr). */
  log?: (msg: string) => void;
  /** `--max-input-shape`: largest shape per input kept symbolic (wasm dynamic-shape artifacts). */
  maxInputShapes?: Record<string, number[]>;
  /** hls: `--hls-part`, `--hls-fit`, `--reuse-factor`. */
  hls?: { part?: string; fit?: 'error' | 'warn' | 'off'; reuseFactor?: number };
  /** `--wasm-simd off`: a model.wasm without SIMD instructions (default: SIMD on). */
  wasmSimd?: boolean;
  /**
   * Relaxed SIMD (`edgec compile`): 'auto' (`--wasm-simd on`) adds model-relaxed.wasm to int8
   * artifacts; 'only' (`--wasm-simd relaxed`) builds model.wasm on the relaxed-SIMD kernels.
   * Absent: neither (sweeps and reports time model.wasm only).
   */
  wasmRelaxed?: 'auto' | 'only';
  /** `--seq-shape` / `--empty-optional`: structure of sequence and optional inputs (wasm). */
  sequenceShapes?: SequenceShapes;
  /** `--threads N`: also emit model-threads.wasm (wasm). */
  threads?: number;
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
        art = emitWasm(graph, {
          precision: opts.precision, ...(opts.maxInputShapes ? { maxInputShapes: opts.maxInputShapes } : {}), ...(opts.wasmSimd === false ? { simd: false } : {}),
          ...(opts.wasmRelaxed && opts.wasmSimd !== false ? { relaxedSimd: opts.wasmRelaxed } : {}),
          ...(opts.sequenceShapes ? { sequenceShapes: opts.sequenceShapes } : {}), ...(opts.threads ? { threads: opts.threads } : {}),
        });
      } catch (e) {
        throw targetError(e, 'wasm', opts.precision);
      }
      const manifest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(art.manifest)) if (!CLI_MANIFEST_KEYS.has(k)) manifest[k] = v;
      manifest['wasm_weights_bytes'] = art.manifest.weights_bytes;
      // what model.wasm (dynamic: model.weights.bin) stores of the weights, at their stored precision
      manifest['weight_bytes'] = art.manifest.weights_bytes;
      if (manifest['code_bytes'] === undefined) manifest['code_bytes'] = art.stats.codeBytes;
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
      if (opts.hls && target !== 'hls') throw usage(`--hls-part, --hls-fit and --reuse-factor apply to --target hls only (not ${target})`);
      let art: { files: Map<string, Uint8Array | string>; manifest: Record<string, unknown> };
      try {
        if (target === 'webgpu') {
          const { emitWebgpu } = await import('../targets/webgpu/emit.js');
          art = emitWebgpu(graph, { precision: opts.precision });
        } else {
          const { emitHls } = await import('../targets/hls/emit.js');
          art = emitHls(graph, { precision: opts.precision, ...(opts.hls ?? {}) });
        }
      } catch (e) {
        throw targetError(e, target, opts.precision);
      }
      const manifest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(art.manifest)) if (!CLI_MANIFEST_KEYS.has(k)) manifest[k] = v;
      // bytes of weights.bin (fp16/int4 weights stored compressed)
      if (target === 'webgpu') manifest['webgpu_weights_bytes'] = art.manifest['weights_bytes'];
      manifest['weight_bytes'] = art.manifest['weights_bytes'];
      return { files: art.files, manifest };
    }
    case 'c': {
      if (opts.maxInputShapes) throw usage('--max-input-shape is supported on the wasm target only (not c)', { hint: 'fix the shapes with --input-shape' });
      const { emitC } = await import('../targets/c/emit.js');
      let art: ReturnType<typeof emitC>;
      try {
        art = emitC(graph, { precision: opts.precision });
      } catch (e) {
        throw targetError(e, 'c', opts.precision);
      }
      const manifest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(art.manifest)) if (!CLI_MANIFEST_KEYS.has(k)) manifest[k] = v;
      Object.assign(manifest, await cImageSizes(art.files, art.manifest.weights_bytes, art.manifest.arena_bytes, opts.log));
      return { files: art.files, manifest };
    }
    default:
      throw usage(`unknown target "${String(target)}"`);
  }
}

/**
 * manifest.json's flash_bytes / ram_bytes of a c package: measured with arm-none-eabi-size on the
 * Cortex-M4 firmware image when the toolchain is installed, else the host-independent sizes (const
 * weight bytes; arena + stack reservation), with `size_source` saying which.
 */
async function cImageSizes(files: ReadonlyMap<string, Uint8Array | string>, weights: number, arena: number, log?: (m: string) => void): Promise<Record<string, unknown>> {
  const { measureImage } = await import('../targets/c/run.js');
  const { MCU_STACK_BYTES } = await import('../targets/c/mcu.js');
  const { writeTempArtifact: writeTemp } = await import('../targets/common/target.js');
  const dir = writeTemp(files, 'edgec-c-size-');
  try {
    const s = await measureImage(dir, 'cortex-m4');
    return { flash_bytes: s.flash_bytes, ram_bytes: s.ram_bytes, stack_bytes: MCU_STACK_BYTES, size_source: 'arm-none-eabi-size (cortex-m4 firmware image: model + a main calling edgec_run)', image: { text: s.text, data: s.data, bss: s.bss } };
  } catch (e) {
    // no toolchain (io), a build that timed out (limit) or an image larger than the board (unsupported): the package is still valid
    if (!(e instanceof EdgecError) || (e.kind !== 'io' && e.kind !== 'limit' && e.kind !== 'unsupported')) throw e;
    log?.(`note: ${e.message}; manifest.json records the host-independent sizes`);
    const why = e.kind === 'io' ? 'arm-none-eabi-gcc not found' : e.kind === 'limit' ? 'the Cortex-M4 build timed out' : 'the image does not fit the Cortex-M4 board memory';
    return { flash_bytes: weights, ram_bytes: arena + MCU_STACK_BYTES, stack_bytes: MCU_STACK_BYTES, size_source: `estimate (${why}): flash = const weight bytes (no code), ram = arena + stack reservation` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of a run beyond the target: the c target's emulated device, and where its notes go. */
export interface RunExtras {
  /** c target: cortex-m4 / cortex-m7 (QEMU); absent: the host. */
  device?: string;
  /** Receives one-line notes (the emulated instruction count per inference). */
  note?: (m: string) => void;
  /** `--threads N`: the wasm target on N threads (model-threads.wasm). */
  threads?: number;
}

/**
 * Runner for the c target: an artifact's package, or the model compiled in memory (fp32), built
 * with the host C++ compiler or, with a device, arm-none-eabi-gcc and run under QEMU.
 */
async function cRunner(graph: Graph, artifact: { dir: string; target: unknown } | undefined, extra: RunExtras): Promise<TargetRunner> {
  if (artifact && artifact.target !== 'c') {
    throw unsupported(`artifact was compiled for target "${String(artifact.target)}", not c`, { file: artifact.dir, hint: 'run it with --target ref, or compile it with --target c' });
  }
  const c = await import('../targets/c/run.js');
  if (extra.device !== undefined) c.mcuDevice(extra.device);
  let dir: string;
  let temp = false;
  if (artifact) dir = path.resolve(artifact.dir);
  else {
    const { compileC } = await import('../targets/c/emit.js');
    let art: ReturnType<typeof compileC>;
    try {
      art = compileC(graph);
    } catch (e) {
      throw targetError(e, 'c', 'fp32');
    }
    dir = writeTempArtifact(new Map([...art.files, ['manifest.json', JSON.stringify(art.manifest)]]));
    temp = true;
  }
  const counts: number[] = [];
  let stack = 0;
  return {
    run: async (inputs) => {
      const r = await c.runCArtifact(dir, inputs, extra.device !== undefined ? { device: extra.device } : {});
      if (r.instructions !== undefined) counts.push(r.instructions);
      if (r.stackBytes !== undefined) stack = Math.max(stack, r.stackBytes);
      return r.outputs;
    },
    close: () => {
      if (temp) fs.rmSync(dir, { recursive: true, force: true });
      if (counts.length && extra.note) {
        const mean = Math.round(counts.reduce((a, b) => a + b, 0) / counts.length);
        extra.note(`${extra.device}: ${mean} instructions per inference (QEMU -icount, ${counts.length} run(s)${counts.some((x) => x !== counts[0]) ? `, min ${Math.min(...counts)}, max ${Math.max(...counts)}` : ''}); stack high-water mark ${stack} bytes`);
      }
    },
  };
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
  extra: RunExtras = {},
): Promise<TargetRunner> {
  if (extra.device !== undefined && target !== 'c') throw usage(`--device is for --target c (an emulated microcontroller), not ${target}`);
  const threads = extra.threads ?? 1;
  if (threads > 1 && target !== 'wasm') throw usage(`--threads is for --target wasm, not ${target}`);
  if (target === 'c') return cRunner(graph, artifact, extra);
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
    if (threads > 1 && !fs.existsSync(path.join(artifact.dir, 'model-threads.wasm'))) {
      throw usage(`--threads ${threads}: the artifact has no model-threads.wasm`, { file: artifact.dir, hint: `compile it with --threads ${threads}` });
    }
  } else {
    const { compileWasm } = await wasmEmitter();
    let files: Map<string, Uint8Array | string>;
    try {
      files = compileWasm(graph, threads > 1 ? { threads } : {}).files;
    } catch (e) {
      throw targetError(e, 'wasm', 'fp32');
    }
    dir = writeTempArtifact(files);
    temp = true;
  }
  let model: WasmModel;
  try {
    model = await loadWasmArtifact(dir, { threads });
  } catch (e) {
    if (temp) fs.rmSync(dir, { recursive: true, force: true });
    if (e instanceof EdgecError) throw e;
    throw unsupported(`cannot load the wasm artifact: ${(e as Error).message}`, { file: dir });
  }
  return {
    run: (inputs) => runWasmModel(model, inputs),
    close: () => {
      model.dispose?.();
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
