/**
 * The wasm target: optimized graph -> artifact files (model.wasm, model.mjs, model.d.ts) and the
 * manifest fields of ../../shared/CLI.md. Output is deterministic: same graph and options, same bytes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph } from '../../compiler/ir/graph.js';
import { TensorType } from '../../compiler/ir/tensor.js';
import { inferCtxOf } from '../../compiler/interp/interp.js';
import { opOf, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { EdgecError, internal, unsupported } from '../../compiler/errors.js';
import { Pass } from '../../compiler/passes/pass.js';
import { Artifact, ArtifactManifest, IoSpec, Target, TargetOptions } from '../target.js';
import { defineTarget, supportsFromTables } from '../common/target.js';
import { dtsIoTypes, injectSpec } from '../common/runtime-file.js';
import { emulateF16, hasF16 } from '../common/f16-graph.js';
import { LOWERINGS, lowerGraph, Lowered } from './lower.js';
import { buildModule, MemoryLayout } from './module.js';
import { abiHeader } from './abi-header.js';
import { emitWasmDynamic, isStaticGraph } from './dynamic/emit.js';
import { IoGroup, SequenceShapes, flattenSequences, hasNonTensorValues } from '../common/sequences.js';
import { SYNC, barrierCount, planThreads } from './threads.js';

export interface WasmOptions extends TargetOptions {
  /** Per-layer timing hooks (imports env.now; model.profile() returns per-layer ms). */
  profile?: boolean;
  /** Largest shape per input name, for inputs with symbolic dims (`--max-input-shape`): a dynamic-shape artifact. */
  maxInputShapes?: Record<string, number[]>;
  /**
   * Wasm SIMD in the kernels (`--wasm-simd`, default true). false: model.wasm holds no SIMD
   * instruction (scalar kernel library), for engines without it (WAMR, wasm3, wasm2c).
   */
  simd?: boolean;
  /**
   * Relaxed SIMD (runtime-wasm/README.md). true: also emit model-relaxed.wasm, the same model built
   * from the relaxed-SIMD kernel library, which model.mjs loads instead of model.wasm where the
   * engine runs relaxed SIMD correctly (and is expected to gain, or when asked); 'auto' (the CLI's
   * `--wasm-simd on`): true for integer graphs, whose int8 kernels are the only ones it changes;
   * 'only' (`--wasm-simd relaxed`): model.wasm itself on that library; false (default): neither.
   * Static shapes only.
   */
  relaxedSimd?: boolean | 'only' | 'auto';
  /** Element shapes of sequence inputs and empty optional inputs (`--seq-shape`, `--empty-optional`). */
  sequenceShapes?: SequenceShapes;
  /**
   * `--threads N` (N >= 2): also emit model-threads.wasm, large layers split in N parts over one
   * shared memory (threads.ts), which model.mjs runs with `create({ threads })`. model.wasm is
   * unchanged.
   */
  threads?: number;
}

/** Compile statistics beside the artifact (bench, profiler). */
export interface WasmStats {
  /** model.wasm bytes minus weight data. */
  codeBytes: number;
  wasmBytes: number;
  steps: number;
  layers: string[];
}

/** edgec's version (package.json). */
export function edgecVersion(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const p = path.resolve(here, up, 'package.json');
    if (fs.existsSync(p)) {
      const v = (JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string });
      if (v.name === 'edgec' && v.version) return v.version;
    }
  }
  return '0.0.0';
}

const sha256 = (d: Uint8Array | string): string => createHash('sha256').update(d).digest('hex');

/** MACs and parameter count of a graph (op cost functions; params = constant elements used by nodes). */
export function graphStats(g: Graph): { macs: number; params: number } {
  let macs = 0;
  const used = new Set<number>();
  for (const n of g.orderedNodes()) {
    for (const i of n.inputs) if (i !== null && g.consts.has(i)) used.add(i);
    const def = opOf(n, g);
    if (!def.cost) continue;
    const outs: TensorType[] = n.outputs.map((o) => g.typeOf(o));
    macs += def.cost(inferCtxOf(g, n), parseAttrs(def, n, opsetOf(n, g)), outs).macs;
  }
  let params = 0;
  for (const id of used) params += g.consts.get(id)!.size;
  return { macs, params };
}

/**
 * Emits the wasm artifact for an optimized graph (run `wasmTarget.pipeline()` first, or use
 * `compileWasm`).
 * @param g optimized graph with concrete shapes
 * @param opts precision label and profiling
 */
export function emitWasm(g0: Graph, opts: WasmOptions = {}): Artifact & { stats: WasmStats } {
  // sequences and optionals of static structure become tensors (one per element), grouped again by model.mjs
  let g = g0;
  let groups: { inputs: IoGroup[]; outputs: IoGroup[] } = { inputs: [], outputs: [] };
  const names = { inputs: g0.inputs.map((id) => g0.value(id).name), outputs: g0.outputs.map((id) => g0.value(id).name) };
  if (hasNonTensorValues(g0)) {
    g = g0.clone();
    try {
      groups = flattenSequences(g, opts.sequenceShapes ?? {});
    } catch (e) {
      if (!(e instanceof EdgecError) || e.kind !== 'unsupported') throw e;
      // structure decided per call (element counts and shapes, trip counts, positions given as
      // inputs): a dynamic artifact whose model.mjs flattens and plans each structure (dynamic/sequences.ts)
      const p = opts.precision ?? (isIntegerGraph(g0) ? 'int8' : hasF16(g0) ? 'fp16' : 'fp32');
      if (p !== 'fp32' && p !== 'int8') throw unsupported(`sequences of runtime structure are not supported with ${p} on the wasm target`);
      return emitWasmDynamic(g0, { maxInputShapes: opts.maxInputShapes ?? {}, stats: graphStats, manifest: { edgec: edgecVersion(), precision: p }, simd: opts.simd ?? true });
    }
  }
  // The graph decides the kernels (a quantized graph lowers to the int8 kernels); `precision` is
  // the label the manifest records.
  const simd = opts.simd ?? true;
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw unsupported(`--threads ${threads}: expected an integer from 1 to 64`);
  if (threads > 1 && !simd) throw unsupported('--threads needs wasm SIMD (the threads module is built with --wasm-simd on)');
  if (threads > 1 && opts.profile) throw unsupported('--threads with --profile: per-layer timing is single-threaded; profile without --threads');
  const precision = opts.precision ?? (isIntegerGraph(g) ? 'int8' : hasF16(g) ? 'fp16' : 'fp32');
  if (!['fp32', 'int8', 'fp16', 'int4'].includes(precision)) throw unsupported(`precision ${precision} is not supported by the wasm target`);
  // --fp16: the f16 graph runs as f32 with per-op rounding to f16 (edgec.RoundF16); its weights
  // (f16 numbers) are stored as f16 in model.wasm. --int4 weights are stored as int4 blocks.
  if (!isStaticGraph(g)) {
    // symbolic input dims or value-dependent sizes: one artifact for every shape up to the bound (dynamic/emit.ts)
    if (precision === 'fp16' || precision === 'int4') throw unsupported(`dynamic input shapes are not supported with ${precision} on the wasm target`, { hint: 'fix the input shapes with --input-shape' });
    if (groups.inputs.length + groups.outputs.length > 0) throw unsupported('sequence or optional inputs and outputs need static shapes on the wasm target');
    if (threads > 1) throw unsupported('--threads needs static shapes (dynamic-shape artifacts run on one thread)', { hint: 'fix the input shapes with --input-shape' });
    if (opts.relaxedSimd === 'only') throw unsupported('--wasm-simd relaxed needs static shapes on the wasm target', { hint: 'fix the input shapes with --input-shape, or use --wasm-simd on' });
    return emitWasmDynamic(g, { maxInputShapes: opts.maxInputShapes ?? {}, stats: graphStats, manifest: { edgec: edgecVersion(), precision }, simd });
  }
  if ((opts.relaxedSimd === true || opts.relaxedSimd === 'only') && !simd) throw unsupported('relaxed SIMD needs wasm SIMD (simd: false was given)');
  const only = opts.relaxedSimd === 'only';
  const low = lowerF16Aware(g, precision);
  const { wasm, layout, codeBytes } = buildModule(low, { profile: opts.profile ?? false, simd, relaxed: only });
  const twin = opts.relaxedSimd === 'auto' ? isIntegerGraph(g) : opts.relaxedSimd === true;
  const relaxed = simd && twin ? relaxedModule(low, layout, opts.profile ?? false) : null;
  const inputs: IoSpec[] = low.inputs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype }));
  const outputs: IoSpec[] = low.outputs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype }));
  // --threads: the multi-threaded module beside model.wasm (threads.ts), its I/O addresses in the spec
  let mt: { wasm: Uint8Array; spec: ThreadsSpec } | undefined;
  if (threads > 1) {
    const plan = planThreads(low, threads);
    const t = buildModule(low, { simd, threads: plan });
    const sync = t.layout.threadSync!;
    mt = { wasm: t.wasm, spec: { parts: threads, pages: t.layout.pages, sync: sync / 4, start: SYNC.start / 4, stop: SYNC.stop / 4, threads: SYNC.threads / 4, mainWaits: SYNC.mainWaits / 4,
      gen: SYNC.gen / 4, abort: SYNC.abort / 4, timeoutMs: SYNC.timeoutMs / 4,
      inputs: t.layout.inputAddr, outputs: t.layout.outputAddr, splitLayers: plan.split.size, barriers: barrierCount(plan) } };
  }
  // --act-bits 7 (quantize/qdq.ts): the relaxed kernel's one-plane path applies, so model.mjs prefers the twin
  const act7 = g.meta['edgec.act_bits'] === '7';
  const mjs = modelMjs(low, layout, opts.profile ?? false, { ...groups, names }, only ? 'only' : relaxed !== null, mt?.spec, act7);
  const dts = modelDts(inputs, outputs, opts.profile ?? false, threads > 1);
  const abiIn = abi(inputs, layout.inputAddr), abiOut = abi(outputs, layout.outputAddr);
  // model_abi.h: the same ABI as C #defines, for hosts without JavaScript
  const header = abiHeader({ version: edgecVersion(), pages: layout.pages, simd, inputs: abiIn, outputs: abiOut });
  const files = new Map<string, Uint8Array | string>([['model.wasm', wasm], ...(relaxed ? [['model-relaxed.wasm', relaxed] as const] : []),
    ['model.mjs', mjs], ['model.d.ts', dts], ['model_abi.h', header]]);
  if (mt) files.set('model-threads.wasm', mt.wasm);
  const { macs, params } = graphStats(g);
  const manifest: ArtifactManifest = {
    edgec: edgecVersion(),
    target: 'wasm',
    precision,
    // the wasm ABI for hosts without model.mjs: write inputs at `offset` of the exported memory, call
    // the exported run(), read outputs at theirs (`size` elements of `dtype`; 4-bit values one per byte)
    inputs: abiIn,
    outputs: abiOut,
    macs,
    params,
    weights_bytes: layout.weightsBytes,
    arena_bytes: layout.arenaBytes,
    files: Object.fromEntries([...files].map(([k, v]) => [k, sha256(v)])),
    code_bytes: codeBytes,
    memory_pages: layout.pages,
    wasm_simd: simd,
    wasm_relaxed_simd: only ? 'only' : relaxed !== null ? 'twin' : false,
    ...(act7 ? { act_bits: 7 } : {}),
    ...(mt ? { threads: mt.spec.parts } : {}),
  };
  return { files, manifest, stats: { codeBytes, wasmBytes: wasm.length, steps: low.steps.length, layers: low.layers.map((n) => n.name) } };
}

/**
 * model-relaxed.wasm: the lowered graph built again from the relaxed-SIMD kernel library. The
 * kernel ABI, data segment and memory plan are the same, so model.mjs's spec (addresses) serves
 * both modules; a layout difference is a bug.
 */
function relaxedModule(low: Lowered, layout: MemoryLayout, profile: boolean): Uint8Array {
  const r = buildModule(low, { profile, simd: true, relaxed: true });
  if (JSON.stringify(r.layout) !== JSON.stringify(layout)) throw internal('model-relaxed.wasm has a different memory layout than model.wasm');
  return r.wasm;
}

/** Manifest I/O entries with the wasm ABI: byte offset in the module's memory and element count. */
function abi(xs: readonly IoSpec[], addrs: readonly number[]): (IoSpec & { offset: number; size: number })[] {
  return xs.map((x, i) => ({ ...x, offset: addrs[i]!, size: (x.shape as number[]).reduce((a, b) => a * b, 1) }));
}

/**
 * Lowers a graph, choosing how its f16 values run. A graph with f16 inputs or outputs first lowers
 * natively (f16 values stored as 16-bit encodings, computed by the dtype-generic kernels exactly
 * as the reference rounds them; run() takes and returns Uint16Array encodings); when an op has no
 * native f16 kernel, and for --fp16 graphs (f32 interface, f16 inside), the graph runs as f32 with
 * per-op rounding to f16 (emulateF16: f16 inputs and outputs become f32 ones).
 */
function lowerF16Aware(g: Graph, precision: string): Lowered {
  const f16 = hasF16(g);
  const opts = { f16Weights: f16 || precision === 'fp16' };
  if (!f16) return lowerGraph(g, opts);
  if ([...g.inputs, ...g.outputs].some((id) => g.typeOf(id).dtype === 'f16')) {
    try {
      return lowerGraph(g, { f16Weights: precision === 'fp16' });
    } catch (e) {
      if (!(e instanceof EdgecError) || e.kind !== 'unsupported') throw e;
    }
  }
  return lowerGraph(emulateF16(g), opts);
}

/** True when the graph holds quantizeModel's integer ops (compiler/ops/qint.ts, domain edgec). */
function isIntegerGraph(g: Graph): boolean {
  return g.orderedNodes().some((n) => n.domain === 'edgec' && /^(QConv|QGemm|QAdd|QMul|QReduceMean|QAvgPool|QSoftmax|Requantize)$/.test(n.op));
}

const WASM = defineTarget('wasm', emitWasm, supportsFromTables(LOWERINGS));

/** The wasm target's passes: the shared pipeline for 'wasm'. */
export const wasmPipeline: () => Pass[] = WASM.pipeline;

/**
 * Optimizes a copy of `g` with the wasm pipeline and emits the artifact.
 * @param g imported graph (concrete shapes)
 * @param opts target options
 */
export const compileWasm: (g: Graph, opts?: WasmOptions) => Artifact & { stats: WasmStats; graph: Graph } = WASM.compile;

/** The wasm Target. */
export const wasmTarget: Target<WasmOptions> = WASM.target;

/**
 * model.mjs: the hand-written runtime targets/wasm/runtime/model.mjs (type-checked with
 * tsconfig.runtime.json) with this model's spec injected at its EDGEC_SPEC marker.
 */
/**
 * What model.mjs needs to run model-threads.wasm: parts (the most threads it uses), memory pages,
 * the synchronization words (i32 indices: `sync` plus each word's offset), I/O addresses.
 */
interface ThreadsSpec {
  parts: number; pages: number; sync: number; start: number; stop: number; threads: number; mainWaits: number;
  gen: number; abort: number; timeoutMs: number;
  inputs: number[]; outputs: number[]; splitLayers: number;
  /** Barriers per inference (threads.ts barrierCount). */
  barriers: number;
}

function modelMjs(low: Lowered, layout: MemoryLayout, profile: boolean,
  groups: { inputs: IoGroup[]; outputs: IoGroup[]; names: { inputs: string[]; outputs: string[] } }, relaxed: boolean | 'only', threads?: ThreadsSpec, act7 = false): string {
  const io = (xs: Lowered['inputs'] | Lowered['outputs'], addrs: number[]) =>
    xs.map((x, i) => ({ name: x.name, shape: x.shape, dtype: x.dtype, addr: addrs[i]!, size: x.shape.reduce((a, b) => a * b, 1) }));
  const spec = {
    inputs: io(low.inputs, layout.inputAddr),
    outputs: io(low.outputs, layout.outputAddr),
    profileOffset: layout.profileOffset,
    layers: profile ? low.layers.map((n) => ({ name: n.name, op: n.op })) : [],
    groups,
    relaxed,
    ...(threads ? { threads } : {}),
    ...(act7 ? { act7: true } : {}),
  };
  return injectSpec('targets/wasm/runtime/model.mjs', "/*EDGEC_SPEC*/ ({ inputs: [], outputs: [], profileOffset: 0, layers: [], groups: { inputs: [], outputs: [], names: { inputs: [], outputs: [] } }, relaxed: false })", spec)
    .replace('// Generated by edgec (wasm target).', `// Generated by edgec ${edgecVersion()} (wasm target).`);
}

/** TypeScript type of the typed array that holds a value of each dtype in model.mjs's run(). */
const DTS_ARRAYS: Readonly<Record<string, string>> = {
  f32: 'Float32Array', f64: 'Float64Array', f16: 'Uint16Array', bf16: 'Uint16Array', i8: 'Int8Array', u8: 'Uint8Array',
  bool: 'Uint8Array', i16: 'Int16Array', u16: 'Uint16Array', i32: 'Int32Array', u32: 'Uint32Array', i64: 'BigInt64Array',
  u64: 'BigUint64Array', i4: 'Int8Array', u4: 'Uint8Array',
};

function modelDts(inputs: IoSpec[], outputs: IoSpec[], profile: boolean, threads = false): string {
  const arr = (dt: string): string => DTS_ARRAYS[dt] ?? 'Float32Array';
  const feedType = (dt: string): string =>
    dt === 'f16' || dt === 'bf16' ? 'Uint16Array | ArrayLike<number>'
      : dt === 'i64' || dt === 'u64' ? `${arr(dt)} | ArrayLike<number | bigint>`
        : `${arr(dt)} | ArrayLike<number>`;
  return `// Generated by edgec (wasm target).
// Tensors are flat row-major typed arrays of their dtype: f32 Float32Array, f64 Float64Array,
// i8 Int8Array, u8 and bool Uint8Array (0/1), i16 Int16Array, u16 Uint16Array, i32 Int32Array,
// u32 Uint32Array, i64 BigInt64Array, u64 BigUint64Array, i4 Int8Array and u4 Uint8Array (one
// value per element, unpacked), and f16/bf16 Uint16Array holding the
// 16-bit encodings (an input also takes plain numbers, rounded to nearest even; an i64/u64 input
// also takes numbers or bigints).
${dtsIoTypes(inputs, outputs, feedType, arr)}export interface LayerTime { name: string; op: string; ms: number; }
export interface Model {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Runs one inference (synchronous; awaiting the result also works). */
  run(feeds: Feeds): Outputs;
  /** True when relaxed-SIMD kernels run (model-relaxed.wasm, or a --wasm-simd relaxed model.wasm). */
  readonly relaxedSimd: boolean;${profile ? `
  readonly layers: { name: string; op: string }[];
  /** Accumulated milliseconds per layer since the last reset. */
  profile(): LayerTime[];
  resetProfile(): void;` : ''}${threads ? `
  /** Threads running each inference (create({ threads }) on model-threads.wasm); absent on one thread. */
  readonly threads?: number;
  /** Barriers each threaded inference passes (the plan's count, independent of load). */
  readonly barriers?: number;
  /** The N - 1 worker threads (Node worker_threads Workers / Web Workers). */
  readonly workers?: readonly unknown[];
  /** Stops the worker threads (threaded models; the model cannot run afterwards). */
  dispose?(): void;` : ''}
}
export interface CreateOptions {
  /** model.wasm bytes or a compiled module (default: fetch/read model.wasm next to model.mjs). */
  wasm?: BufferSource | WebAssembly.Module;
  /** Location of model.wasm. */
  url?: string | URL;
  /**
   * model-relaxed.wasm (when the artifact has it) where the engine runs relaxed SIMD correctly:
   * true: always; false: never; default: where it is expected to be faster (engines whose relaxed
   * dot product reads the second operand as signed, e.g. Arm). Same results either way.
   */
  relaxedSimd?: boolean;
  /** Location of model-relaxed.wasm (default: next to model.wasm). */
  relaxedUrl?: string | URL;${threads ? `
  /**
   * Run on this many threads (at most the --threads the artifact was compiled with): model-threads.wasm
   * on N - 1 workers plus the caller over one shared memory. Needs SharedArrayBuffer (a page must be
   * cross-origin isolated: COOP same-origin + COEP require-corp); otherwise a warning and one thread.
   */
  threads?: number;
  /** model-threads.wasm bytes or a compiled module / its location (default: next to model.mjs). */
  threadsWasm?: BufferSource | WebAssembly.Module;
  threadsUrl?: string | URL;
  /**
   * Threaded runs: milliseconds the calling thread waits at one barrier before run throws (a worker
   * died or hangs; the model is unusable afterwards). Default 10000; 0: no limit.
   */
  timeoutMs?: number;` : ''}
}
export function create(options?: CreateOptions): Promise<Model>;
/** Whether this engine runs relaxed SIMD correctly (validates and computes a probe module). */
export function relaxedSimdWorks(): boolean;
`;
}
