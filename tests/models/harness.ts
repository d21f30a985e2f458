/**
 * Shared helpers of the end-to-end model tests: locating ../shared/models, reading TensorProto
 * data, running onnxruntime-node (test oracle only), error statistics, and a node-by-node
 * divergence finder (reference vs ORT intermediates).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxproto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../compiler/ir/graph.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor, TensorData } from '../../compiler/ir/tensor.js';
import { importOnnx, loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { rng } from '../helpers/rng.js';

const { onnx } = onnxproto;
const here = path.dirname(fileURLToPath(import.meta.url));

/** ../shared relative to the repository (absent on a user's machine). */
export const SHARED_DIR = path.resolve(here, '../../../shared');
/** ../shared/models relative to the repository. */
export const MODELS_DIR = path.join(SHARED_DIR, 'models');
export const HAVE_MODELS = fs.existsSync(MODELS_DIR);

/** Reads one TensorProto .pb file. */
export function readPb(file: string): Tensor {
  return decodeTensorProtoBytes(fs.readFileSync(file)).tensor;
}

/** Reads `<prefix>_0.pb, <prefix>_1.pb, ...` from a folder. */
export function readPbSeries(dir: string, prefix: string): Tensor[] {
  const out: Tensor[] = [];
  for (let k = 0; fs.existsSync(path.join(dir, `${prefix}_${k}.pb`)); k++) out.push(readPb(path.join(dir, `${prefix}_${k}.pb`)));
  return out;
}

/** Sorted `test_data_set_N` folders next to an .onnx model. */
export function dataSets(modelFile: string): string[] {
  const dir = modelFile.replace(/\.onnx$/, '');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((d) => /^test_data_set_\d+$/.test(d))
    .sort((a, b) => Number(a.split('_').pop()) - Number(b.split('_').pop()))
    .map((d) => path.join(dir, d));
}

/** Graph input names (non-initializer inputs) of a model file, in order. */
export function modelInputNames(file: string): string[] {
  const m = onnx.ModelProto.decode(fs.readFileSync(file));
  const inits = new Set((m.graph?.initializer ?? []).map((t) => t.name ?? ''));
  return (m.graph?.input ?? []).map((i) => i.name ?? '').filter((n) => !inits.has(n));
}

/**
 * Loads a model for the given inputs: symbolic input dims (batch) are fixed to the data's shape.
 * @param file .onnx path
 * @param inputs the tensors that will be fed, in graph-input order
 */
export function loadForInputs(file: string, inputs: Tensor[]): Graph {
  const names = modelInputNames(file);
  const inputShapes: Record<string, number[]> = {};
  names.forEach((n, i) => {
    const t = inputs[i];
    if (t) inputShapes[n] = [...t.shape];
  });
  return loadOnnxFile(file, { inputShapes });
}

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  f32: 'float32', f64: 'float64', i8: 'int8', u8: 'uint8', i16: 'int16', u16: 'uint16', i32: 'int32',
  u32: 'uint32', i64: 'int64', u64: 'uint64', bool: 'bool',
};
const FROM_ORT: Record<string, DType> = {
  float32: 'f32', float64: 'f64', int8: 'i8', uint8: 'u8', int16: 'i16', uint16: 'u16', int32: 'i32',
  uint32: 'u32', int64: 'i64', uint64: 'u64', bool: 'bool',
};

export function toOrt(t: Tensor): ort.Tensor {
  const ty = ORT_TYPE[t.dtype];
  if (!ty) throw new Error(`no onnxruntime type for ${t.dtype}`);
  return new ort.Tensor(ty, t.data as never, [...t.shape]);
}

export function fromOrt(t: ort.Tensor): Tensor {
  const dt = FROM_ORT[t.type];
  if (!dt) throw new Error(`unsupported onnxruntime type ${t.type}`);
  const src = t.data as unknown as TensorData;
  const copy = (src as { slice: () => TensorData }).slice();
  return new Tensor(dt, t.dims.map(Number), copy);
}

/** One ORT session per (model bytes identity) is enough for a test file; sessions are small. */
export async function ortSession(model: string | Uint8Array): Promise<ort.InferenceSession> {
  const opts: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, opts) : ort.InferenceSession.create(model, opts);
}

/** Runs ORT on inputs in graph-input order; returns outputs in graph-output order. */
export async function runOrt(sess: ort.InferenceSession, inputs: Tensor[]): Promise<Tensor[]> {
  const feeds: Record<string, ort.Tensor> = {};
  sess.inputNames.forEach((n, i) => {
    feeds[n] = toOrt(inputs[i]!);
  });
  const res = await sess.run(feeds);
  return sess.outputNames.map((n) => fromOrt(res[n]!));
}

export interface ErrStats {
  /** max |got - want| */
  maxAbs: number;
  /** max |got - want| / |want| over elements with |want| >= 1e-3 */
  maxRel: number;
  /** max |got - want| / (atol + rtol |want|); <= 1 means within tolerance */
  worst: number;
  /** flat index of the worst element */
  worstAt: number;
  /** max |want| (the scale the errors compare against) */
  maxRef: number;
  /** shape/dtype mismatch, if any */
  mismatch?: string;
}

export const TOL = { rtol: 1e-3, atol: 1e-4 };

/** Error statistics of got vs want (float or integer tensors of one shape). */
export function errStats(got: Tensor, want: Tensor, tol = TOL): ErrStats {
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return { maxAbs: Infinity, maxRel: Infinity, worst: Infinity, worstAt: -1, maxRef: 0, mismatch: `shape [${got.shape}] vs [${want.shape}]` };
  }
  let maxAbs = 0;
  let maxRel = 0;
  let worst = 0;
  let worstAt = -1;
  let maxRef = 0;
  for (let i = 0; i < got.size; i++) {
    const a = got.get(i);
    const b = want.get(i);
    if (Math.abs(b) > maxRef) maxRef = Math.abs(b);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    const e = a === b ? 0 : Math.abs(a - b);
    const err = Number.isNaN(e) ? Infinity : e;
    if (err > maxAbs) maxAbs = err;
    if (Math.abs(b) >= 1e-3 && err / Math.abs(b) > maxRel) maxRel = err / Math.abs(b);
    const r = err / (tol.atol + tol.rtol * Math.abs(b));
    if (r > worst) {
      worst = r;
      worstAt = i;
    }
  }
  const st: ErrStats = { maxAbs, maxRel, worst, worstAt, maxRef };
  if (got.dtype !== want.dtype) st.mismatch = `dtype ${got.dtype} vs ${want.dtype}`;
  return st;
}

/** Element-wise max over several outputs' stats. */
export function mergeStats(all: ErrStats[]): ErrStats {
  const m: ErrStats = { maxAbs: 0, maxRel: 0, worst: 0, worstAt: -1, maxRef: 0 };
  for (const s of all) {
    m.maxRef = Math.max(m.maxRef, s.maxRef);
    m.maxAbs = Math.max(m.maxAbs, s.maxAbs);
    m.maxRel = Math.max(m.maxRel, s.maxRel);
    if (s.worst > m.worst) {
      m.worst = s.worst;
      m.worstAt = s.worstAt;
    }
    if (s.mismatch) m.mismatch = s.mismatch;
  }
  return m;
}

export { rng } from '../helpers/rng.js';

/** Seeded U(lo, hi) f32 tensor. */
export function uniform(shape: number[], seed: number, lo = 0, hi = 1): Tensor {
  const r = rng(seed);
  const t = Tensor.zeros('f32', shape);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r();
  return t;
}

/** Slices samples [from, to) along axis 0. */
export function sliceBatch(t: Tensor, from: number, to: number): Tensor {
  const per = t.size / t.shape[0]!;
  const data = (t.data as Float32Array).slice(from * per, to * per);
  return new Tensor(t.dtype, [to - from, ...t.shape.slice(1)], data as unknown as TensorData);
}

/** Index of the largest value in each row of a [N, C] tensor. */
export function argmaxRows(t: Tensor): number[] {
  const [n, c] = [t.shape[0]!, t.size / t.shape[0]!];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (t.get(i * c + k) > t.get(i * c + best)) best = k;
    out.push(best);
  }
  return out;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return x.toExponential(2);
}

// ---------------------------------------------------------------------------------------------
// Divergence finder: reference intermediates vs ORT intermediates
// ---------------------------------------------------------------------------------------------

export interface Divergence {
  node: string;
  op: string;
  output: string;
  stats: ErrStats;
  /** shapes of the node's inputs in the reference run */
  inputShapes: string[];
  attrs: string;
}

/**
 * Model bytes with every node output (that has a name and float/int type) added as a graph
 * output, so ORT returns intermediates. Types come from the reference graph's inference.
 */
export function exposeIntermediates(file: string, g: Graph): { bytes: Uint8Array; names: string[] } {
  const m = onnx.ModelProto.decode(fs.readFileSync(file));
  const gp = m.graph!;
  const existing = new Set((gp.output ?? []).map((o) => o.name ?? ''));
  const byName = new Map<string, DType>();
  for (const n of g.orderedNodes()) for (const o of n.outputs) {
    const v = g.value(o);
    if (v.name) byName.set(v.name, v.type.dtype);
  }
  const names: string[] = [];
  const ELEM: Partial<Record<DType, number>> = { f32: 1, u8: 2, i8: 3, i32: 6, i64: 7, bool: 9, f64: 11 };
  for (const np of gp.node ?? []) {
    if (np.opType === 'Constant') continue;
    for (const o of np.output ?? []) {
      if (!o || existing.has(o)) continue;
      const dt = byName.get(o);
      const elem = dt ? ELEM[dt] : undefined;
      if (!elem) continue;
      gp.output!.push(onnx.ValueInfoProto.create({ name: o, type: { tensorType: { elemType: elem } } }));
      names.push(o);
    }
  }
  return { bytes: onnx.ModelProto.encode(m).finish(), names };
}

/**
 * Runs the reference and ORT with every intermediate exposed and returns the first node (in
 * the reference's execution order) whose output differs beyond `tol`, or null.
 */
export async function firstDivergence(file: string, g: Graph, inputs: Tensor[], tol = TOL): Promise<Divergence | null> {
  const { bytes } = exposeIntermediates(file, g);
  const sess = await ortSession(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  sess.inputNames.forEach((n, i) => {
    feeds[n] = toOrt(inputs[i]!);
  });
  const res = await sess.run(feeds);
  let found: Divergence | null = null;
  runGraph(g, inputs, {
    onNode: (node, ins, outs) => {
      if (found) return;
      node.outputs.forEach((o, k) => {
        if (found) return;
        const name = g.value(o).name;
        const want = res[name];
        const got = outs[k];
        if (!want || !got) return;
        const st = errStats(got, fromOrt(want), tol);
        if (st.worst > 1 || st.mismatch) {
          found = {
            node: node.name, op: node.op, output: name, stats: st,
            inputShapes: ins.map((t) => (t ? `${t.dtype}[${t.shape}]` : 'none')),
            attrs: JSON.stringify(node.attrs, (_k, v) => (v instanceof Tensor ? `<tensor ${v.dtype}[${v.shape}]>` : v)),
          };
        }
      });
    },
  });
  return found;
}

/** Imports model bytes (after in-memory edits) with fixed input shapes. */
export function importBytes(bytes: Uint8Array, inputShapes: Record<string, number[]> = {}): Graph {
  return importOnnx(bytes, { inputShapes });
}
