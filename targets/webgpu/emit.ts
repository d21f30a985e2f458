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

function modelMjs(spec: HostSpec): string {
  return `// Generated by edgec ${edgecVersion()} (webgpu target). No dependencies. Browsers with WebGPU, or Node with a
// navigator.gpu-like object: create({ gpu }) (e.g. the 'webgpu' package: create([]) plus its globals).
const SPEC = ${JSON.stringify(spec)};
const UNIFORM_STRIDE = ${UNIFORM_STRIDE};
// GPUBufferUsage / GPUMapMode / GPUShaderStage values (fixed by the WebGPU spec)
const MAP_READ = 0x1, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, STORAGE = 0x80, MODE_READ = 0x1, COMPUTE = 0x4;

const pub = (xs) => xs.map((x) => ({ name: x.name, shape: [...x.shape], dtype: x.dtype }));

// typed arrays of each dtype as the host sees it (i64: BigInt64Array; bool: Uint8Array of 0 / 1)
const ARRAYS = { f32: Float32Array, i32: Int32Array, u32: Uint32Array, i8: Int8Array, u8: Uint8Array, bool: Uint8Array, i16: Int16Array, u16: Uint16Array };

/** Arena words of input x from feed v: packed 8-/16-bit values, i64 checked to fit the i32 it is held in. */
function toWords(x, v) {
  const out = new Uint8Array(x.words * 4);
  if (x.dtype === 'i64') {
    const w = new Int32Array(out.buffer);
    for (let i = 0; i < x.size; i++) {
      const b = typeof v[i] === 'bigint' ? v[i] : BigInt(v[i]);
      if (b < -2147483648n || b > 2147483647n) throw new RangeError(\`run: input "\${x.name}" element \${i} (\${b}) is outside the int32 range this webgpu model holds int64 values in\`);
      w[i] = Number(b);
    }
    return out;
  }
  const T = ARRAYS[x.dtype];
  const a = v instanceof T ? v : x.dtype === 'bool' ? Uint8Array.from(v, (e) => (e ? 1 : 0)) : T.from(v);
  out.set(new Uint8Array(a.buffer, a.byteOffset, x.size * T.BYTES_PER_ELEMENT));
  return out;
}

/** Output y from its arena bytes. */
function fromWords(y, bytes) {
  if (y.dtype === 'i64') return BigInt64Array.from(new Int32Array(bytes.buffer, bytes.byteOffset, y.size), (e) => BigInt(e));
  const T = ARRAYS[y.dtype];
  return new T(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + y.size * T.BYTES_PER_ELEMENT));
}

async function loadFile(options, name, text) {
  const given = options.files && options.files[name];
  if (given !== undefined) return text && typeof given !== 'string' ? new TextDecoder().decode(given) : given;
  const url = new URL(name, options.baseUrl ? new URL(options.baseUrl, import.meta.url) : import.meta.url);
  if (url.protocol === 'file:' && typeof process !== 'undefined' && process.versions && process.versions.node) {
    const { readFile } = await import('node:fs/promises');
    return text ? readFile(url, 'utf8') : new Uint8Array(await readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(\`cannot load \${url}: HTTP \${res.status}\`);
  return text ? res.text() : new Uint8Array(await res.arrayBuffer());
}

/** binary16 bits -> number (exact). */
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * 5.9604644775390625e-8;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Expands weights.bin (f16 halves, packed int4 blocks with f32 scales, f32) into the f32 weights buffer. */
function expandWeights(file) {
  const out = new Float32Array(SPEC.weightsBytes / 4);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  for (const d of SPEC.decode) {
    if (d[0] === 0) {
      for (let i = 0; i < d[3]; i++) out[d[2] + i] = dv.getFloat32(d[1] + 4 * i, true);
    } else if (d[0] === 1) {
      for (let i = 0; i < d[3]; i++) out[d[2] + i] = halfToFloat(dv.getUint16(d[1] + 2 * i, true));
    } else {
      const [, qs, ss, dst, outer, D, inner, block] = d;
      const nb = Math.ceil(D / block);
      let e = 0;
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < D; k++) {
          const sb = ss + (o * nb + Math.floor(k / block)) * inner * 4;
          for (let i = 0; i < inner; i++, e++) {
            const byte = file[qs + (e >> 1)];
            out[dst + e] = (((e & 1 ? byte >> 4 : byte & 15) << 28) >> 28) * dv.getFloat32(sb + 4 * i, true);
          }
        }
      }
    }
  }
  return new Uint8Array(out.buffer);
}

async function getDevice(options) {
  if (options.device) return options.device;
  const gpu = options.gpu || (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  if (!gpu) throw new Error('WebGPU is not available: pass create({ gpu }) or create({ device }), or use a browser with WebGPU');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU: no adapter available');
  const need = Math.max(SPEC.arenaBytes, SPEC.weightsBytes);
  const requiredLimits = {};
  if (need > 134217728) {
    if (need > adapter.limits.maxStorageBufferBindingSize) throw new Error(\`WebGPU: model needs \${need}-byte buffers, adapter allows \${adapter.limits.maxStorageBufferBindingSize}\`);
    requiredLimits.maxStorageBufferBindingSize = adapter.limits.maxStorageBufferBindingSize;
    requiredLimits.maxBufferSize = adapter.limits.maxBufferSize;
  }
  return adapter.requestDevice({ requiredLimits });
}

/**
 * Creates the model: acquires a device, compiles the shaders and uploads the weights once.
 * options.gpu: a navigator.gpu-like object (default navigator.gpu); options.device: a GPUDevice to
 * use instead; options.baseUrl: where weights.bin and the .wgsl files are (default: next to this
 * module); options.files: { name: bytes | text } to use instead of loading them.
 */
export async function create(options = {}) {
  const device = await getDevice(options);
  const [stored, ...sources] = await Promise.all([loadFile(options, 'weights.bin', false), ...SPEC.shaders.map((s) => loadFile(options, s, true))]);
  const weights = SPEC.decode.length > 0 ? expandWeights(stored) : stored;
  device.pushErrorScope('validation');
  const arena = device.createBuffer({ size: SPEC.arenaBytes, usage: STORAGE | COPY_SRC | COPY_DST });
  const wbuf = device.createBuffer({ size: SPEC.weightsBytes, usage: STORAGE | COPY_DST });
  device.queue.writeBuffer(wbuf, 0, weights.buffer, weights.byteOffset, SPEC.weightsBytes);
  const nd = Math.max(1, SPEC.dispatches.length);
  const ubuf = device.createBuffer({ size: nd * UNIFORM_STRIDE, usage: UNIFORM | COPY_DST });
  const u = new Uint32Array(nd * UNIFORM_STRIDE / 4);
  SPEC.dispatches.forEach((d, i) => u.set(d.o, i * UNIFORM_STRIDE / 4));
  device.queue.writeBuffer(ubuf, 0, u);
  const outBytes = SPEC.outputs.reduce((a, y) => a + y.words * 4, 0);
  const readback = device.createBuffer({ size: Math.max(4, outBytes), usage: MAP_READ | COPY_DST });
  const layout = device.createBindGroupLayout({ entries: [
    { binding: 0, visibility: COMPUTE, buffer: { type: 'storage' } },
    { binding: 1, visibility: COMPUTE, buffer: { type: 'read-only-storage' } },
    { binding: 2, visibility: COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
  ] });
  const bindGroup = device.createBindGroup({ layout, entries: [
    { binding: 0, resource: { buffer: arena } },
    { binding: 1, resource: { buffer: wbuf } },
    { binding: 2, resource: { buffer: ubuf, offset: 0, size: UNIFORM_STRIDE } },
  ] });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const modules = sources.map((code, i) => device.createShaderModule({ code, label: SPEC.shaders[i] }));
  for (let i = 0; i < modules.length; i++) {
    const info = modules[i].getCompilationInfo ? await modules[i].getCompilationInfo() : { messages: [] };
    const errs = info.messages.filter((m) => m.type === 'error');
    if (errs.length > 0) throw new Error(\`WebGPU: \${SPEC.shaders[i]}: \${errs.map((m) => \`\${m.lineNum}:\${m.linePos} \${m.message}\`).join('; ')}\`);
  }
  const pipelines = await Promise.all(modules.map((module, i) =>
    device.createComputePipelineAsync({ layout: pipelineLayout, compute: { module, entryPoint: 'main' }, label: SPEC.shaders[i] })));
  const err = await device.popErrorScope();
  if (err) throw new Error(\`WebGPU: \${err.message}\`);
  let queue = Promise.resolve();
  const times = new Float64Array(SPEC.layers.length);
  function encodeDispatches(enc, from, to) {
    const pass = enc.beginComputePass();
    for (let i = from; i < to; i++) {
      const d = SPEC.dispatches[i];
      pass.setPipeline(pipelines[d.s]);
      pass.setBindGroup(0, bindGroup, [i * UNIFORM_STRIDE]);
      pass.dispatchWorkgroups(d.g[0], d.g[1], d.g[2]);
    }
    pass.end();
  }
  // profiling build: one submit per layer, timed on the host until the queue drains
  async function profiledDispatches() {
    await device.queue.onSubmittedWorkDone();
    for (let i = 0; i < SPEC.dispatches.length;) {
      let j = i;
      while (j < SPEC.dispatches.length && SPEC.dispatches[j].l === SPEC.dispatches[i].l) j++;
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      encodeDispatches(enc, i, j);
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      if (SPEC.dispatches[i].l >= 0) times[SPEC.dispatches[i].l] += performance.now() - t0;
      i = j;
    }
  }
  async function runOnce(feeds) {
    if (feeds === null || typeof feeds !== 'object') throw new TypeError('run(feeds): feeds must be an object { inputName: typed array }');
    for (const x of SPEC.inputs) {
      const v = feeds[x.name];
      if (v === undefined) throw new Error(\`run: missing input "\${x.name}"\`);
      if (v.length !== x.size) throw new Error(\`run: input "\${x.name}" has \${v.length} elements, expected \${x.size} (shape [\${x.shape}])\`);
      if (x.size > 0) device.queue.writeBuffer(arena, x.offset * 4, toWords(x, v));
    }
    if (SPEC.profile) await profiledDispatches();
    const enc = device.createCommandEncoder();
    if (!SPEC.profile) encodeDispatches(enc, 0, SPEC.dispatches.length);
    let at = 0;
    for (const y of SPEC.outputs) {
      if (y.size > 0) enc.copyBufferToBuffer(arena, y.offset * 4, readback, at, y.words * 4);
      at += y.words * 4;
    }
    device.queue.submit([enc.finish()]);
    await readback.mapAsync(MODE_READ);
    const all = new Uint8Array(readback.getMappedRange().slice(0));
    readback.unmap();
    const out = {};
    at = 0;
    for (const y of SPEC.outputs) {
      out[y.name] = fromWords(y, all.subarray(at, at + y.words * 4));
      at += y.words * 4;
    }
    return out;
  }
  function run(feeds) {
    const r = queue.then(() => runOnce(feeds));
    queue = r.then(() => undefined, () => undefined);
    return r;
  }
  function destroy() {
    for (const b of [arena, wbuf, ubuf, readback]) b.destroy();
    if (!options.device && device.destroy) device.destroy();
  }
  const model = { inputs: pub(SPEC.inputs), outputs: pub(SPEC.outputs), layers: SPEC.layers.map((l) => ({ ...l })), run, destroy };
  if (SPEC.profile) {
    model.profile = () => SPEC.layers.map((l, i) => ({ name: l.name, op: l.op, ms: times[i] }));
    model.resetProfile = () => times.fill(0);
  }
  return model;
}
`;
}

function modelDts(inputs: IoSpec[], outputs: IoSpec[]): string {
  const feeds = inputs.map((x) => `  ${JSON.stringify(x.name)}: ${x.dtype === 'i64' ? 'BigInt64Array | ArrayLike<number | bigint>' : `${hostArray(x.dtype)} | ArrayLike<number>`};`).join('\n');
  const outs = outputs.map((x) => `  ${JSON.stringify(x.name)}: ${hostArray(x.dtype)};`).join('\n');
  return `// Generated by edgec (webgpu target).
export interface TensorSpec { name: string; shape: number[]; dtype: string; }
export interface Feeds {
${feeds}
}
export interface Outputs {
${outs}
}
export interface Model {
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
