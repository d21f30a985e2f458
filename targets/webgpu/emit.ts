/**
 * The WebGPU target: optimized graph -> artifact files and the manifest of ../../shared/CLI.md.
 *
 *   model.mjs       host code (ES module, no dependencies; browsers, or Node given a GPU object)
 *   model.d.ts      its types
 *   weights.bin     every constant (f32; index tables as i32 bit patterns), uploaded once at create();
 *                   --fp16 / --int4 weights stored as f16 halves / packed int4 blocks (../common/
 *                   compress.ts), expanded to f32 by model.mjs before the upload
 *   kernel_K.wgsl   one compute shader per distinct (kernel id, parameters) pair
 *
 * Buffers: one storage-buffer arena for all runtime tensors, laid out by the memory planner
 * (targets/wasm/memory-plan.ts), one read-only weights buffer, and a uniform buffer holding the
 * operand offsets of every dispatch (bound with a dynamic offset). Shapes and attributes are WGSL
 * constants, so the shader/pipeline cache key is the kernel id plus its full parameter object
 * (attributes, shapes, dtypes, operand buffers). Output is deterministic.
 */
import { createHash } from 'node:crypto';
import { Graph } from '../../compiler/ir/graph.js';
import { unsupported } from '../../compiler/errors.js';
import { Pass } from '../../compiler/passes/pass.js';
import { Artifact, ArtifactManifest, IoSpec, Target, TargetOptions } from '../target.js';
import { edgecVersion, graphStats } from '../wasm/emit.js';
import { defineTarget, supportsFromTables } from '../common/target.js';
import { dtsIoTypes, injectSpec } from '../common/runtime-file.js';
import { emulateF16, hasF16 } from '../common/f16-graph.js';
import { encodeF16, packInt4 } from '../common/compress.js';
import { INT_LOWERINGS, LOWERINGS, Lowered, lowerGraph } from './lower.js';
import { isIntegerGraph } from './ops/qint.js';
import { generate } from './kernels/index.js';
import { Groups } from './wgsl/shader.js';
import { wordsOf } from './wgsl/qshader.js';

export type WebgpuOptions = TargetOptions;

/** Bytes between two dispatches' offset records in the uniform buffer (minUniformBufferOffsetAlignment). */
export const UNIFORM_STRIDE = 256;

/** One dispatch of the host program. */
export interface DispatchSpec {
  /** Index into `shaders`. */
  s: number;
  /** Workgroup grid. */
  g: Groups;
  /** Element offsets of the operands (arena or weights), in the shader's Offsets order. */
  o: number[];
  /** Layer (node) index for profiling/comments. */
  l: number;
}

/** Everything model.mjs needs, as data. */
export interface HostSpec {
  /**
   * Graph inputs and outputs: arena word offset, element count and words (8-bit and bool values
   * packed 4 per word, 16-bit values 2 per word, i64 values held as i32).
   */
  inputs: (IoSpec & { offset: number; size: number; words: number })[];
  outputs: (IoSpec & { offset: number; size: number; words: number })[];
  arenaBytes: number;
  /** Bytes of the GPU weights buffer (f32). */
  weightsBytes: number;
  /**
   * How weights.bin expands into the weights buffer (empty: it is the buffer). Records:
   * [0, src byte, dst elem, n] f32 copy; [1, src byte, dst elem, n] f16 halves;
   * [2, q byte, scale byte, dst elem, outer, D, inner, block] int4 blocks.
   */
  decode: number[][];
  shaders: string[];
  dispatches: DispatchSpec[];
  layers: { name: string; op: string }[];
  /** Profiling build: run() times each layer (one submit per layer, awaited). */
  profile: boolean;
}

/** Compile statistics beside the artifact. */
export interface WebgpuStats {
  dispatches: number;
  shaders: number;
  layers: string[];
  /** Shader file -> kernel id. */
  kernels: Record<string, string>;
}

const sha256 = (d: Uint8Array | string): string => createHash('sha256').update(d).digest('hex');

/** JSON with sorted keys (the cache key of a kernel's parameters). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v === undefined ? null : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Inf' : v === -Infinity ? '-Inf' : v);
}

/** Shaders, dispatches and weights of a lowered graph. */
export function buildProgram(low: Lowered, profile = false): { spec: HostSpec; weights: Uint8Array; sources: Map<string, string>; kernels: Record<string, string> } {
  // weights: blobs back to back, 16-byte aligned
  const blobOff: number[] = [];
  let welems = 0;
  for (const b of low.blobs) {
    blobOff.push(welems);
    welems += Math.ceil(b.length / 4) * 4;
  }
  const wdata = new Float32Array(Math.max(4, welems));
  low.blobs.forEach((b, i) => wdata.set(b, blobOff[i]!));
  const { file, decode } = weightsFile(low, blobOff, wdata);
  const arenaOff = (id: number): number => {
    const o = low.plan.offsets.get(low.rootOf(id));
    if (o === undefined) throw new Error(`internal: value ${id} has no arena slot`);
    return o / 4;
  };
  const cache = new Map<string, number>();
  const sources = new Map<string, string>();
  const kernels: Record<string, string> = {};
  const shaders: string[] = [];
  const layerIdx = new Map(low.layers.map((n, i) => [n, i]));
  const dispatches: DispatchSpec[] = [];
  for (const st of low.steps) {
    const key = `${st.kernel}|${stableJson(st.params)}`;
    const prog = generate(st.kernel, st.params);
    let s = cache.get(key);
    if (s === undefined) {
      s = shaders.length;
      const file = `kernel_${s}.wgsl`;
      shaders.push(file);
      sources.set(file, prog.wgsl);
      kernels[file] = st.kernel;
      cache.set(key, s);
    }
    const o = prog.operands.map((name) => {
      const op = st.operands[name];
      if (!op) throw new Error(`internal: ${st.kernel} operand ${name} not bound`);
      return op.k === 'blob' ? blobOff[op.blob]! : arenaOff(op.id);
    });
    if (prog.groups.some((g) => g === 0)) continue;
    dispatches.push({ s, g: prog.groups, o, l: layerIdx.get(st.node) ?? -1 });
  }
  const io = (xs: Lowered['inputs'] | Lowered['outputs']) => xs.map((x) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    return { name: x.name, shape: x.shape, dtype: x.dtype, offset: arenaOff(x.id), size, words: wordsOf(x.dtype, size) };
  });
  const spec: HostSpec = {
    inputs: io(low.inputs),
    outputs: io(low.outputs),
    arenaBytes: Math.max(16, low.plan.arenaBytes),
    weightsBytes: wdata.byteLength,
    decode,
    shaders,
    dispatches,
    layers: low.layers.map((n) => ({ name: n.name, op: n.op })),
    profile,
  };
  return { spec, weights: file, sources, kernels };
}

/**
 * weights.bin: the f32 weights buffer itself when no blob is compressed; else each blob in its
 * storage form (4-byte aligned) with the records that expand it (HostSpec.decode).
 */
function weightsFile(low: Lowered, blobOff: number[], wdata: Float32Array): { file: Uint8Array; decode: number[][] } {
  if (!low.codecs.some((c) => c !== undefined)) return { file: new Uint8Array(wdata.buffer), decode: [] };
  const parts: Uint8Array[] = [];
  let at = 0;
  const put = (b: Uint8Array): number => {
    const start = at;
    const padded = Math.ceil(b.length / 4) * 4;
    parts.push(b, new Uint8Array(padded - b.length));
    at += padded;
    return start;
  };
  const bytes = (a: Float32Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const decode: number[][] = [];
  low.blobs.forEach((b, i) => {
    const codec = low.codecs[i];
    const dst = blobOff[i]!;
    if (!codec) {
      const last = decode[decode.length - 1];
      // a plain blob right after another one: extend its copy record
      if (last && last[0] === 0 && last[1]! + last[3]! * 4 === at && last[2]! + last[3]! === dst) {
        put(bytes(b));
        last[3] = last[3]! + b.length;
      } else decode.push([0, put(bytes(b)), dst, b.length]);
    } else if (codec.kind === 'f16') decode.push([1, put(bytes(encodeF16(b))), dst, b.length]);
    else decode.push([2, put(packInt4(codec.q)), put(bytes(codec.scale)), dst, codec.outer, codec.D, codec.inner, codec.block]);
  });
  const file = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    file.set(p, o);
    o += p.length;
  }
  return { file, decode };
}

/**
 * Emits the WebGPU artifact for an optimized graph (run `webgpuTarget.pipeline()` first, or use
 * `compileWebgpu`).
 * @param g optimized graph with concrete shapes
 * @param opts precision (fp32 only); profile: run() measures per-layer times (model.profile())
 */
export function emitWebgpu(g: Graph, opts: WebgpuOptions = {}): Artifact & { stats: WebgpuStats } {
  // an integer graph (edgec.Q* ops: --int8 or a pre-quantized model) lowers to the int8 kernels (ops/qint.ts)
  const precision = opts.precision ?? (isIntegerGraph(g) ? 'int8' : 'fp32');
  if (precision !== 'fp32' && precision !== 'fp16' && precision !== 'int4' && precision !== 'int8') {
    throw unsupported(`precision ${precision} is not supported by the webgpu target yet (fp32, fp16, int8 and int4)`);
  }
  // --fp16: the f16 graph runs as f32 with per-op rounding to f16 (edgec.RoundF16), its weights
  // stored as f16 in weights.bin; --int4 weights are stored as int4 blocks
  const f16 = hasF16(g);
  const low = lowerGraph(f16 ? emulateF16(g) : g, { f16Weights: f16 || precision === 'fp16' });
  const { spec, weights, sources, kernels } = buildProgram(low, opts.profile ?? false);
  const pub = (xs: HostSpec['inputs']): IoSpec[] => xs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype }));
  const files = new Map<string, Uint8Array | string>([
    ['model.mjs', modelMjs(spec)],
    ['model.d.ts', modelDts(pub(spec.inputs), pub(spec.outputs))],
    ['weights.bin', weights],
    ...sources,
  ]);
  const { macs, params } = graphStats(g);
  const manifest: ArtifactManifest = {
    edgec: edgecVersion(),
    target: 'webgpu',
    precision,
    inputs: pub(spec.inputs),
    outputs: pub(spec.outputs),
    macs,
    params,
    weights_bytes: weights.byteLength,
    arena_bytes: spec.arenaBytes,
    files: Object.fromEntries([...files].map(([k, v]) => [k, sha256(v)])),
    dispatches: spec.dispatches.length,
    shaders: spec.shaders.length,
  };
  return { files, manifest, stats: { dispatches: spec.dispatches.length, shaders: spec.shaders.length, layers: spec.layers.map((l) => l.name), kernels } };
}

const WEBGPU = defineTarget('webgpu', emitWebgpu, supportsFromTables(LOWERINGS, INT_LOWERINGS));

/** The webgpu target's passes: the shared pipeline for 'webgpu'. */
export const webgpuPipeline: () => Pass[] = WEBGPU.pipeline;

/**
 * Optimizes a copy of `g` with the webgpu pipeline and emits the artifact.
 * @param g imported graph (concrete shapes)
 * @param opts target options
 */
export const compileWebgpu: (g: Graph, opts?: WebgpuOptions) => Artifact & { stats: WebgpuStats; graph: Graph } = WEBGPU.compile;

/** The WebGPU Target. */
export const webgpuTarget: Target<WebgpuOptions> = WEBGPU.target;

/**
 * model.mjs: the hand-written runtime targets/webgpu/runtime/model.mjs (type-checked with
 * tsconfig.runtime.json) with this model's spec injected at its EDGEC_SPEC marker.
 */
function modelMjs(spec: HostSpec): string {
  return injectSpec('targets/webgpu/runtime/model.mjs',
    "/*EDGEC_SPEC*/ ({ inputs: [], outputs: [], arenaBytes: 0, weightsBytes: 0, decode: [], shaders: [], dispatches: [], layers: [], profile: false, uniformStride: 256 })",
    { ...spec, uniformStride: UNIFORM_STRIDE })
    .replace('// Generated by edgec (webgpu target).', `// Generated by edgec ${edgecVersion()} (webgpu target).`);
}

function modelDts(inputs: IoSpec[], outputs: IoSpec[]): string {
  const feedType = (dt: string): string => (dt === 'i64' ? 'BigInt64Array | ArrayLike<number | bigint>' : `${hostArray(dt)} | ArrayLike<number>`);
  return `// Generated by edgec (webgpu target).
${dtsIoTypes(inputs, outputs, feedType, hostArray)}export interface Model {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly layers: { name: string; op: string }[];
  /** Runs one inference on the GPU (runs are queued; each resolves with its outputs). */
  run(feeds: Feeds): Promise<Outputs>;
  /** Releases the GPU buffers (and the device when create() acquired it). */
  destroy(): void;
  /** Profiling builds only: accumulated milliseconds per layer since the last reset. */
  profile?(): { name: string; op: string; ms: number }[];
  resetProfile?(): void;
}
export interface CreateOptions {
  /** A navigator.gpu-like object (default: navigator.gpu). */
  gpu?: { requestAdapter(options?: unknown): Promise<unknown> };
  /** A GPUDevice to use instead of requesting one. */
  device?: unknown;
  /** Where weights.bin and the .wgsl files are (default: next to model.mjs). */
  baseUrl?: string | URL;
  /** File contents to use instead of loading them. */
  files?: Record<string, Uint8Array | string>;
}
export function create(options?: CreateOptions): Promise<Model>;
`;
}

/** Typed array a model.mjs input or output of `dtype` is given / returned as. */
function hostArray(dtype: string): string {
  const m: Record<string, string> = {
    f32: 'Float32Array', i32: 'Int32Array', u32: 'Uint32Array', i8: 'Int8Array', u8: 'Uint8Array', bool: 'Uint8Array', i16: 'Int16Array', u16: 'Uint16Array', i64: 'BigInt64Array',
  };
  return m[dtype] ?? 'Float32Array';
}
