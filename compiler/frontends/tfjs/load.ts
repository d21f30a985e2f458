/**
 * Reading a TF.js model folder: model.json (size-limited, parsed into null-prototype objects so
 * `__proto__`/`constructor` keys stay data) and its weight shards (paths confined to the model's
 * folder, byte counts checked exactly, quantized weights dequantized like tfjs-core's
 * io_utils.decodeWeights). Untrusted input: every failure is one EdgecError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType } from '../../ir/dtype.js';
import { Tensor } from '../../ir/tensor.js';
import { DEFAULT_LIMITS, ErrorContext, Limits, invalid, limit, security, unsupported } from '../../errors.js';

/** A JSON object with no prototype: keys are data. */
export type JsonObj = { [k: string]: unknown };

/** A JSON value for an error message (String() throws on null-prototype objects). */
export function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v !== 'object' || v === null) return String(v);
  try {
    return JSON.stringify(v).slice(0, 60);
  } catch {
    return '?';
  }
}

/** A JSON number or numeric string as a number; anything else NaN (Number() throws on null-prototype objects). */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
}

/** True for a (null-prototype) JSON object. */
export function isObj(v: unknown): v is JsonObj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own-property read (never reaches Object.prototype). */
export function own(o: JsonObj | undefined, k: string): unknown {
  return o !== undefined && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/**
 * JSON.parse whose objects have no prototype, so keys like `__proto__` or `constructor` are plain
 * data and lookups never fall through to Object.prototype.
 */
export function parseJsonSafe(text: string, ctx: ErrorContext): unknown {
  try {
    return JSON.parse(text, (_k, v: unknown) => {
      if (!isObj(v)) return v;
      const o = Object.create(null) as JsonObj;
      for (const key of Object.keys(v)) {
        Object.defineProperty(o, key, { value: v[key], enumerable: true, writable: true, configurable: true });
      }
      return o;
    });
  } catch (e) {
    if (e instanceof RangeError) throw limit('model.json is nested too deeply', ctx);
    throw invalid(`model.json is not valid JSON (${(e as Error).message})`, ctx);
  }
}

/** Reads and parses model.json, enforcing limits.maxJsonBytes. */
export function readModelJson(file: string, limits: Limits, ctx: ErrorContext): JsonObj {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw invalid('cannot read model file', { ...ctx, hint: 'check the path' });
  }
  if (st.isDirectory()) throw invalid('model path is a folder, expected a model.json file', ctx);
  if (st.size > limits.maxJsonBytes) {
    throw limit(`model.json is ${st.size} bytes, over the JSON limit of ${limits.maxJsonBytes}`, { ...ctx, hint: 'raise it with --max-json-bytes' });
  }
  const text = fs.readFileSync(file, 'utf8');
  const j = parseJsonSafe(text, ctx);
  if (!isObj(j)) throw invalid('model.json is not a JSON object', ctx);
  return j;
}

/** One entry of weightsManifest[k].weights. */
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quant?: { dtype: 'uint8' | 'uint16' | 'float16'; scale: number; min: number };
}

const DTYPES: Record<string, DType> = { float32: 'f32', int32: 'i32', bool: 'bool', uint8: 'u8' };
const ELEM_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Reads a shard path confined to `realBase`: rejects NUL, URLs/drive paths, absolute paths, `..`,
 * symlinks on the way, non-regular files and hard links.
 */
function readShard(realBase: string, rel: string, limits: Limits, ctx: ErrorContext): Uint8Array {
  const c: ErrorContext = { ...ctx };
  delete c.tensor;
  delete c.hint;
  const what = `weight shard path "${rel}"`;
  if (rel.includes('\0')) throw security(`${what} contains a NUL byte`, c);
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(rel)) throw security(`${what} is a URL or drive path; shards must be files in the model folder`, c);
  if (path.isAbsolute(rel) || rel.startsWith('\\') || rel.startsWith('/')) {
    throw security(`${what} is absolute; it must be relative to the model folder`, c);
  }
  const parts = rel.split(/[\\/]+/);
  if (parts.includes('..')) throw security(`${what} escapes the model folder`, c);
  const full = path.resolve(realBase, rel);
  if (!full.startsWith(realBase + path.sep)) throw security(`${what} escapes the model folder`, c);
  let cur = realBase;
  for (const p of parts.filter((x) => x && x !== '.')) {
    cur = path.join(cur, p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      throw invalid(`weight shard "${rel}" does not exist`, { ...c, hint: 'copy every file listed in weightsManifest next to model.json' });
    }
    if (st.isSymbolicLink()) throw security(`${what} goes through a symbolic link`, c);
  }
  const st = fs.statSync(full);
  if (!st.isFile()) throw invalid(`weight shard "${rel}" is not a regular file`, c);
  if (st.nlink > 1) throw security(`weight shard "${rel}" is a hard link`, c);
  if (st.size > limits.maxModelBytes) throw limit(`weight shard "${rel}" is ${st.size} bytes, over the limit`, c);
  return new Uint8Array(fs.readFileSync(full));
}

function parseSpec(w: unknown, ctx: ErrorContext, limits: Limits): WeightSpec {
  if (!isObj(w)) throw invalid('weightsManifest entry is not an object', ctx);
  const name = own(w, 'name');
  if (typeof name !== 'string' || !name) throw invalid('weightsManifest entry has no name', ctx);
  const c = { ...ctx, tensor: name };
  const shape = own(w, 'shape');
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw invalid('weight shape must be a list of non-negative integers', c);
  }
  if (shape.length > limits.maxRank) throw limit(`weight rank ${shape.length} exceeds the limit of ${limits.maxRank}`, c);
  const dtype = own(w, 'dtype');
  if (typeof dtype !== 'string') throw invalid('weight has no dtype', c);
  if (dtype === 'string' || dtype === 'complex64') throw unsupported(`weights of dtype ${dtype} are not supported`, c);
  if (!Object.prototype.hasOwnProperty.call(DTYPES, dtype)) throw invalid(`unknown weight dtype "${dtype}"`, c);
  const spec: WeightSpec = { name, shape: shape as number[], dtype };
  const q = own(w, 'quantization');
  if (q !== undefined) {
    if (!isObj(q)) throw invalid('weight quantization is not an object', c);
    const qd = own(q, 'dtype');
    if (qd !== 'uint8' && qd !== 'uint16' && qd !== 'float16') {
      throw unsupported(`weight quantization dtype "${show(qd)}" is not supported (uint8, uint16, float16 are)`, c);
    }
    const od = own(q, 'original_dtype');
    if (od !== undefined && od !== dtype) throw invalid(`quantization original_dtype "${show(od)}" differs from the weight dtype "${dtype}"`, c);
    if (qd === 'float16') {
      if (dtype !== 'float32') throw invalid('float16 quantization is only defined for float32 weights', c);
      spec.quant = { dtype: qd, scale: 1, min: 0 };
    } else {
      const scale = own(q, 'scale');
      const min = own(q, 'min');
      if (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min)) {
        throw invalid(`${qd} quantization needs finite numbers "scale" and "min"`, c);
      }
      if (dtype !== 'float32' && dtype !== 'int32') throw invalid(`${qd} quantization is only defined for float32/int32 weights`, c);
      spec.quant = { dtype: qd, scale, min };
    }
  }
  return spec;
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

let HALF_TABLE: Float32Array | undefined;

/** All 65536 half-precision values, decoded once. */
function halfTable(): Float32Array {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = halfToFloat(h);
  }
  return HALF_TABLE;
}

/** Decodes an IEEE half from its 16 bits. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decodes one weight from its bytes (little-endian, as tfjs writes them). */
function decodeWeight(spec: WeightSpec, bytes: Uint8Array): Tensor {
  const n = numelOf(spec.shape);
  const dt = DTYPES[spec.dtype]!;
  const t = Tensor.zeros(dt, spec.shape);
  const d = t.data as Float32Array | Int32Array | Uint8Array;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = spec.quant;
  if (q?.dtype === 'float16') {
    const tab = halfTable();
    for (let i = 0; i < n; i++) d[i] = tab[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
    return t;
  }
  if (q) {
    for (let i = 0; i < n; i++) {
      const v = q.dtype === 'uint8' ? bytes[i]! : view.getUint16(2 * i, true);
      // tfjs: float32 -> v * scale + min (rounded to f32); int32 -> Math.round(v * scale + min)
      d[i] = dt === 'i32' ? Math.round(v * q.scale + q.min) : v * q.scale + q.min;
    }
    return t;
  }
  switch (spec.dtype) {
    case 'float32': for (let i = 0; i < n; i++) d[i] = view.getFloat32(4 * i, true); break;
    case 'int32': for (let i = 0; i < n; i++) d[i] = view.getInt32(4 * i, true); break;
    case 'bool': for (let i = 0; i < n; i++) d[i] = bytes[i] ? 1 : 0; break;
    case 'uint8': for (let i = 0; i < n; i++) d[i] = bytes[i]!; break;
  }
  return t;
}

/**
 * Reads every weight listed in `manifest` from shards in `baseDir`. Returns name -> Tensor (a Map,
 * so names are data). Each group's shards are concatenated; the weights' byte counts must add up
 * exactly to that length.
 */
export function readWeights(manifest: unknown, baseDir: string, opts: { limits?: Limits; ctx?: ErrorContext } = {}): Map<string, Tensor> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const ctx = opts.ctx ?? {};
  const out = new Map<string, Tensor>();
  if (manifest === undefined) return out;
  if (!Array.isArray(manifest)) throw invalid('weightsManifest is not a list', ctx);
  const realBase = fs.realpathSync(baseDir);
  let total = 0;
  for (const group of manifest) {
    if (!isObj(group)) throw invalid('weightsManifest group is not an object', ctx);
    const paths = own(group, 'paths');
    const weights = own(group, 'weights');
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw invalid('weightsManifest group "paths" must be a list of strings', ctx);
    if (!Array.isArray(weights)) throw invalid('weightsManifest group "weights" must be a list', ctx);
    const specs = weights.map((w) => parseSpec(w, ctx, limits));
    let need = 0;
    for (const s of specs) {
      const n = numelOf(s.shape);
      const bytes = n * ELEM_BYTES[s.quant ? s.quant.dtype : s.dtype]!;
      if (bytes > limits.maxTensorBytes) throw limit(`weight is ${bytes} bytes, over the tensor limit`, { ...ctx, tensor: s.name });
      need += bytes;
    }
    total += need;
    if (total > limits.maxTotalBytes) throw limit('total weight bytes exceed the limit', ctx);
    const shards = (paths as string[]).map((p) => readShard(realBase, p, limits, ctx));
    const have = shards.reduce((a, s) => a + s.length, 0);
    if (have !== need) {
      throw invalid(`weight shards [${(paths as string[]).join(', ')}] hold ${have} bytes but the manifest's weights need ${need}`, {
        ...ctx, hint: 'the shards and model.json do not belong together, or a shard is truncated',
      });
    }
    const buf = new Uint8Array(have);
    let o = 0;
    for (const s of shards) {
      buf.set(s, o);
      o += s.length;
    }
    o = 0;
    for (const s of specs) {
      const len = numelOf(s.shape) * ELEM_BYTES[s.quant ? s.quant.dtype : s.dtype]!;
      if (out.has(s.name)) throw invalid('weight is listed twice in weightsManifest', { ...ctx, tensor: s.name });
      out.set(s.name, decodeWeight(s, buf.subarray(o, o + len)));
      o += len;
    }
  }
  return out;
}
