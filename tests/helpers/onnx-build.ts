/**
 * ONNX models built in code (protos: nodes, subgraphs with outer-scope references by name,
 * initializers) and run on onnxruntime-node, the oracle of the control-flow and streaming tests.
 */
import * as ort from 'onnxruntime-node';
import onnxproto from 'onnx-proto';
import { DType, ONNX_DTYPE } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { tensorToProto } from '../../compiler/frontends/onnx/tensor-proto.js';

const { onnx } = onnxproto;
const T = onnx.AttributeProto.AttributeType;

type Attr = onnxproto.onnx.AttributeProto;
type GraphProto = onnxproto.onnx.GraphProto;
type NodeProto = onnxproto.onnx.NodeProto;
type ValueInfo = onnxproto.onnx.ValueInfoProto;

/** A value info: dtype and dims (numbers, or strings for symbolic dims; none: rank unknown). */
export function vi(name: string, dt: DType, dims?: (number | string)[]): ValueInfo {
  return new onnx.ValueInfoProto({
    name,
    type: new onnx.TypeProto({
      tensorType: new onnx.TypeProto.Tensor({
        elemType: ONNX_DTYPE[dt],
        ...(dims ? {
          shape: new onnx.TensorShapeProto({
            dim: dims.map((d) => new onnx.TensorShapeProto.Dimension(typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
          }),
        } : {}),
      }),
    }),
  });
}

/** Attribute builders. */
export const attr = {
  graph: (name: string, g: GraphProto): Attr => new onnx.AttributeProto({ name, type: T.GRAPH, g }),
  int: (name: string, i: number): Attr => new onnx.AttributeProto({ name, type: T.INT, i }),
  ints: (name: string, ints: number[]): Attr => new onnx.AttributeProto({ name, type: T.INTS, ints }),
  float: (name: string, f: number): Attr => new onnx.AttributeProto({ name, type: T.FLOAT, f }),
  string: (name: string, s: string): Attr => new onnx.AttributeProto({ name, type: T.STRING, s: new TextEncoder().encode(s) }),
  strings: (name: string, v: string[]): Attr => new onnx.AttributeProto({ name, type: T.STRINGS, strings: v.map((s) => new TextEncoder().encode(s)) }),
  tensor: (name: string, t: Tensor): Attr => new onnx.AttributeProto({ name, type: T.TENSOR, t: tensorToProto(t, name) }),
};

/** A node; its name derives from its first output. */
export function node(op: string, input: string[], output: string[], attribute: Attr[] = []): NodeProto {
  return new onnx.NodeProto({ opType: op, input, output, attribute, name: `${op}_${output[0]}` });
}

/** An If node with its two branches. */
export function ifNode(cond: string, outputs: string[], thenG: GraphProto, elseG: GraphProto): NodeProto {
  return node('If', [cond], outputs, [attr.graph('then_branch', thenG), attr.graph('else_branch', elseG)]);
}

/** A graph (main graph or subgraph): nodes, inputs, outputs, initializers. */
export function graph(name: string, nodes: NodeProto[], input: ValueInfo[], output: ValueInfo[], inits: [string, Tensor][] = []): GraphProto {
  return new onnx.GraphProto({ name, node: nodes, input, output, initializer: inits.map(([n, t]) => tensorToProto(t, n)) });
}

/** Encoded ModelProto (ai.onnx at `opset`). */
export function model(g: GraphProto, opset: number): Uint8Array {
  return onnx.ModelProto.encode(new onnx.ModelProto({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: g })).finish();
}

const ORT: Partial<Record<DType, string>> = { f32: 'float32', i64: 'int64', bool: 'bool', i32: 'int32' };
const FROM: Record<string, DType> = { float32: 'f32', int64: 'i64', bool: 'bool', int32: 'i32' };

/** An onnxruntime-node session on model bytes. */
export async function ortSessionOf(bytes: Uint8Array): Promise<ort.InferenceSession> {
  ort.env.logLevel = 'fatal';
  return ort.InferenceSession.create(bytes);
}

/** Runs a session on named inputs; outputs in the session's output order. */
export async function ortRunSession(s: ort.InferenceSession, inputs: Record<string, Tensor>): Promise<Tensor[]> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(inputs)) {
    feeds[k] = new ort.Tensor(ORT[t.dtype] as 'float32', (t.dtype === 'bool' ? Uint8Array.from(t.data as Uint8Array) : t.data) as Float32Array, [...t.shape]);
  }
  const r = await s.run(feeds);
  return s.outputNames.map((n) => {
    const o = r[n]!;
    return new Tensor(FROM[o.type]!, [...o.dims].map(Number), o.type === 'bool' ? Uint8Array.from(o.data as Uint8Array) : (o.data as Float32Array));
  });
}

/** Runs model bytes on onnxruntime-node with named inputs. */
export async function ortRun(bytes: Uint8Array, inputs: Record<string, Tensor>): Promise<Tensor[]> {
  return ortRunSession(await ortSessionOf(bytes), inputs);
}

/** Deterministic uniform values in [-1, 1). */
export function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/** An f32 tensor of uniform values in [-scale, scale). */
export function randTensor(r: () => number, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return Tensor.from('f32', shape, Array.from({ length: n }, () => r() * scale));
}

export const f32 = (shape: number[], v: number[]): Tensor => Tensor.from('f32', shape, v);
export const i64 = (v: number): Tensor => Tensor.from('i64', [], [BigInt(v)]);
export const bool = (v: boolean): Tensor => Tensor.from('bool', [], [v ? 1 : 0]);
