/**
 * Loads the ONNX backend node tests in ../shared/conformance/onnx-node and the per-target
 * exclusion lists (JSONC objects: test name -> reason).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor, TensorType } from '../../compiler/ir/tensor.js';
import { OptionalValue, RtValue, TensorSeq, describeValue } from '../../compiler/ir/value.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';
import { compareTensors } from '../helpers/compare.js';
import { unsupported } from '../../compiler/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const NODE_TESTS_DIR = path.resolve(here, '../../../shared/conformance/onnx-node');

export interface NodeCase {
  name: string;
  op: string;
  dir: string;
}

/** Every test listed in index-full.tsv (the whole ONNX node suite) (empty when ../shared is absent). */
export function listNodeTests(): NodeCase[] {
  const idx = path.join(NODE_TESTS_DIR, 'index-full.tsv');
  if (!fs.existsSync(idx)) return [];
  return fs.readFileSync(idx, 'utf8').split('\n').slice(1).filter(Boolean).map((line) => {
    const [name, op] = line.split('\t');
    return { name: name!, op: op!, dir: path.join(NODE_TESTS_DIR, name!) };
  });
}

/** Reads a JSONC file (// comments allowed) into an object. */
export function readJsonc(file: string): Record<string, string> {
  const text = fs.readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  return JSON.parse(text) as Record<string, string>;
}

/** Merges every *.jsonc in a folder: test name -> reason. */
export function exclusions(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!fs.existsSync(dir)) return m;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonc')).sort()) {
    for (const [k, v] of Object.entries(readJsonc(path.join(dir, f)))) m.set(k, v);
  }
  return m;
}

export interface LoadedCase {
  graph: Graph;
  inputs: Tensor[];
  outputs: Tensor[];
}

/** A loaded case whose values may be sequences or optionals. */
export interface LoadedValueCase {
  graph: Graph;
  /** Tensors, or sequences/optionals where the model's input is one. */
  inputs: RtValue[];
  outputs: RtValue[];
}

/** Loads a test's model (symbolic input dims set to 1) and its first data set; every value must be a tensor. */
export function loadNodeCase(c: NodeCase): LoadedCase {
  const l = loadNodeCaseValues(c, true);
  const tensors = (vs: RtValue[]): Tensor[] => vs.map((v) => {
    if (!(v instanceof Tensor)) throw unsupported(`test data holds a ${describeValue(v)}; sequences and optionals run only on the reference interpreter`);
    return v;
  });
  return { graph: l.graph, inputs: tensors(l.inputs), outputs: tensors(l.outputs) };
}

/**
 * Loads a test's model and its first data set (SequenceProto/OptionalProto files by the model's
 * types). Symbolic input dims stay symbolic unless `symbolicToOne` (the data fixes them at run time).
 */
export function loadNodeCaseValues(c: NodeCase, symbolicToOne = false): LoadedValueCase {
  const graph = loadOnnxFile(path.join(c.dir, 'model.onnx'), { symbolicToOne });
  const ds = path.join(c.dir, 'test_data_set_0');
  const read = (prefix: string, types: TensorType[]): RtValue[] => {
    const out: RtValue[] = [];
    for (let k = 0; fs.existsSync(path.join(ds, `${prefix}_${k}.pb`)); k++) {
      out.push(decodeValue(fs.readFileSync(path.join(ds, `${prefix}_${k}.pb`)), types[k]));
    }
    return out;
  };
  return {
    graph,
    inputs: read('input', graph.inputs.map((id) => graph.typeOf(id))),
    outputs: read('output', graph.outputs.map((id) => graph.typeOf(id))),
  };
}

/** Decodes a .pb data file as the value kind `type` names (TensorProto when it is a tensor type). */
function decodeValue(bytes: Uint8Array, type: TensorType | undefined): RtValue {
  switch (type?.kind) {
    case 'sequence': return decodeSequence(bytes, type.dtype);
    case 'optional': case 'optional-sequence': return decodeOptional(bytes, type);
    default: return decodeTensorProtoBytes(bytes).tensor;
  }
}

/** Fields of one protobuf message: field number -> raw values (varints as numbers, bytes as slices). */
function protoFields(b: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const m = new Map<number, (number | Uint8Array)[]>();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= b.length) throw new Error('truncated protobuf varint');
      const x = b[i++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < b.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let v: number | Uint8Array;
    if (wire === 0) v = varint();
    else if (wire === 2) {
      const n = varint();
      v = b.subarray(i, i + n);
      i += n;
    } else if (wire === 1) { v = 0; i += 8; } else if (wire === 5) { v = 0; i += 4; } else throw new Error(`unsupported protobuf wire type ${wire}`);
    const l = m.get(field) ?? [];
    l.push(v);
    m.set(field, l);
  }
  return m;
}

/** SequenceProto (elem_type 1: tensor_values, field 3) -> TensorSeq. */
function decodeSequence(bytes: Uint8Array, dtype: Tensor['dtype']): TensorSeq {
  const f = protoFields(bytes);
  const elemType = (f.get(2)?.[0] as number | undefined) ?? 1;
  if (elemType !== 1) throw new Error(`SequenceProto elem_type ${elemType} (only tensors) is not supported`);
  const items = (f.get(3) ?? []).map((x) => decodeTensorProtoBytes(x as Uint8Array).tensor);
  return new TensorSeq(items[0]?.dtype ?? dtype, items);
}

/** OptionalProto (tensor_value field 3, sequence_value field 5; neither: empty) -> OptionalValue. */
function decodeOptional(bytes: Uint8Array, type: TensorType): OptionalValue {
  const f = protoFields(bytes);
  const elem: TensorType = type.kind === 'optional-sequence' ? { dtype: type.dtype, shape: type.shape, kind: 'sequence' } : { dtype: type.dtype, shape: type.shape };
  const t = f.get(3)?.[0];
  if (t instanceof Uint8Array) return new OptionalValue(elem, decodeTensorProtoBytes(t).tensor);
  const sq = f.get(5)?.[0];
  if (sq instanceof Uint8Array) return new OptionalValue(elem, decodeSequence(sq, type.dtype));
  return new OptionalValue(elem, null);
}

/**
 * Compares a computed value with the expected one (tensors with compareTensors; sequences element by
 * element; optionals by presence, then content). Returns null when they match, else a message.
 */
export function compareValues(got: RtValue | undefined, want: RtValue, tol: { rtol: number; atol: number }): string | null {
  if (got === undefined) return 'missing';
  if (want instanceof Tensor) return got instanceof Tensor ? compareTensors(got, want, tol) : `expected a tensor, got ${describeValue(got)}`;
  if (want instanceof TensorSeq) {
    if (!(got instanceof TensorSeq)) return `expected a sequence, got ${describeValue(got)}`;
    if (got.length !== want.length) return `sequence length ${got.length}, expected ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const m = compareTensors(got.items[i]!, want.items[i]!, tol);
      if (m) return `element ${i}: ${m}`;
    }
    return null;
  }
  // an optional result may also be compared with the bare value the runtime returned
  const g = got instanceof OptionalValue ? got.value : got;
  if (want.value === null) return g === null ? null : `expected an empty optional, got ${describeValue(got)}`;
  if (g === null) return 'expected a value, got an empty optional';
  return compareValues(g, want.value, tol);
}
