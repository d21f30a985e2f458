/**
 * A compact, exact serialization of an optimized graph for dynamic-shape wasm artifacts: the graph
 * structure as JSON (`model.graph.json`) and the constants' bytes in one binary file
 * (`model.weights.bin`). The artifact's planner (relower.ts, bundled into `relower.mjs`) reads it
 * back at run time to lower the graph at the input shapes of a call. Value and node ids are
 * renumbered densely; names, attributes (tensors and subgraphs included), opsets, value types with
 * symbolic dims, quantization parameters and captures round-trip unchanged.
 */
import { AttrValue, Graph, ValueId } from '../../../compiler/ir/graph.js';
import { Tensor, TensorType, TypedArray, allocData } from '../../../compiler/ir/tensor.js';
import { DType } from '../../../compiler/ir/dtype.js';
import { invalid } from '../../../compiler/errors.js';

/** A tensor: dtype, shape and where its bytes are in the weights file. */
interface TensorJson { dtype: DType; shape: number[]; off: number; bytes: number; quant?: Tensor['quant'] }

/** An attribute value: JSON numbers/strings/arrays as they are; tensors and graphs tagged. */
type AttrJson = number | string | number[] | string[] | { t: TensorJson } | { g: GraphJson } | { gs: GraphJson[] };

/** A serialized graph (subgraphs nest). */
export interface GraphJson {
  name: string;
  opsets: Record<string, number>;
  /** Value types by dense id: [name, type]. */
  values: [string, TensorType][];
  /** Constants: dense value id -> tensor. */
  consts: [number, TensorJson][];
  nodes: { op: string; domain: string; name: string; inputs: (number | null)[]; outputs: number[]; attrs: Record<string, AttrJson> }[];
  inputs: number[];
  outputs: number[];
  captures: number[];
}


/** Bytes of the weights file being written, 8-byte aligned per tensor. */
class WeightsWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  add(t: Tensor): TensorJson {
    const d = t.data;
    if (Array.isArray(d)) throw invalid('string constants cannot be stored in a wasm artifact');
    const pad = (8 - (this.size % 8)) % 8;
    if (pad) this.parts.push(new Uint8Array(pad));
    const off = this.size + pad;
    this.parts.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    this.size = off + d.byteLength;
    const j: TensorJson = { dtype: t.dtype, shape: [...t.shape], off, bytes: d.byteLength };
    if (t.quant) j.quant = t.quant;
    return j;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/**
 * Serializes a graph and its constants.
 * @param g the optimized graph
 * @returns the JSON structure and the weights file
 */
export function graphToJson(g: Graph): { json: GraphJson; weights: Uint8Array } {
  const w = new WeightsWriter();
  const json = toJson(g, w);
  return { json, weights: w.bytes() };
}

function toJson(g: Graph, w: WeightsWriter): GraphJson {
  const ids = new Map<ValueId, number>();
  const values: [string, TensorType][] = [];
  for (const [id, v] of g.values) {
    ids.set(id, values.length);
    values.push([v.name, v.type]);
  }
  const map = (id: ValueId): number => {
    const d = ids.get(id);
    if (d === undefined) throw invalid(`graph refers to unknown value ${id}`);
    return d;
  };
  const attr = (v: AttrValue): AttrJson => {
    if (v instanceof Tensor) return { t: w.add(v) };
    if (v instanceof Graph) return { g: toJson(v, w) };
    if (Array.isArray(v) && v.length > 0 && v[0] instanceof Graph) return { gs: (v as Graph[]).map((x) => toJson(x, w)) };
    return v as number | string | number[] | string[];
  };
  return {
    name: g.name,
    opsets: { ...g.opsets },
    values,
    consts: [...g.consts].map(([id, t]) => [map(id), w.add(t)]),
    nodes: g.orderedNodes().map((n) => ({
      op: n.op, domain: n.domain, name: n.name,
      inputs: n.inputs.map((x) => (x === null ? null : map(x))),
      outputs: n.outputs.map(map),
      attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attr(v)])),
    })),
    inputs: g.inputs.map(map),
    outputs: g.outputs.map(map),
    captures: g.captures.map(map),
  };
}

/**
 * Reads a serialized graph back.
 * @param json the structure graphToJson wrote
 * @param weights the weights file (tensors are copied out of it)
 */
export function graphFromJson(json: GraphJson, weights: Uint8Array): Graph {
  const g = new Graph();
  g.name = json.name;
  g.opsets = { ...json.opsets };
  const read = (t: TensorJson): Tensor => readTensor(t, weights);
  json.values.forEach(([name, type]) => g.addValue(name, type));
  for (const [id, t] of json.consts) g.consts.set(id, read(t));
  const attr = (v: AttrJson): AttrValue => {
    if (typeof v === 'object' && !Array.isArray(v)) {
      if ('t' in v) return read(v.t);
      if ('g' in v) return graphFromJson(v.g, weights);
      return v.gs.map((x) => graphFromJson(x, weights));
    }
    return v;
  };
  for (const n of json.nodes) {
    g.addNode({ op: n.op, domain: n.domain, name: n.name, inputs: n.inputs, outputs: n.outputs,
      attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attr(v)])) });
  }
  g.inputs = [...json.inputs];
  g.outputs = [...json.outputs];
  g.captures = [...json.captures];
  return g;
}

/** A tensor whose bytes are copied out of the weights file, in the storage allocData gives its dtype. */
function readTensor(t: TensorJson, weights: Uint8Array): Tensor {
  if (t.off + t.bytes > weights.length) throw invalid('model.weights.bin is shorter than model.graph.json says');
  const n = t.shape.reduce((a, b) => a * b, 1);
  const data = allocData(t.dtype, n) as TypedArray;
  if (data.byteLength !== t.bytes) throw invalid(`model.graph.json: a ${t.dtype} tensor of ${n} elements cannot have ${t.bytes} bytes`);
  new Uint8Array(data.buffer).set(weights.subarray(t.off, t.off + t.bytes));
  return new Tensor(t.dtype, t.shape, data, t.quant);
}
