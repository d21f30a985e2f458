/**
 * Seed corpora: the trained models and data files in ../shared/models/trained, small ONNX models
 * built in code (one or a few ops each, all importable), TensorProto and .npy encodings of every
 * dtype, and printed IR graphs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxproto from 'onnx-proto';
import { Tensor } from '../../../compiler/ir/tensor.js';
import { DType } from '../../../compiler/ir/dtype.js';
import { encodeTensorProtoBytes } from '../../../compiler/frontends/onnx/tensor-proto.js';
import { encodeNpy } from '../../../compiler/io/npy.js';
import { MODELS_DIR } from '../../models/harness.js';

export const { onnx } = onnxproto;
type IModel = onnxproto.onnx.IModelProto;
type INode = onnxproto.onnx.INodeProto;
type IAttr = onnxproto.onnx.IAttributeProto;
type ITensor = onnxproto.onnx.ITensorProto;
type IVI = onnxproto.onnx.IValueInfoProto;

export const TRAINED_DIR = path.join(MODELS_DIR, 'trained');
const A = onnx.AttributeProto.AttributeType;

function vi(name: string, dims: (number | string)[], elemType = 1): IVI {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}
function f32(name: string, dims: number[], fill: (i: number) => number = (i) => ((i * 37) % 17) / 8 - 1): ITensor {
  const n = dims.reduce((p, d) => p * d, 1);
  return { name, dataType: 1, dims, rawData: new Uint8Array(new Float32Array(Array.from({ length: n }, (_, i) => fill(i))).buffer) };
}
function i64(name: string, vals: number[]): ITensor {
  return { name, dataType: 7, dims: [vals.length], int64Data: vals };
}
const ai = (name: string, i: number): IAttr => ({ name, type: A.INT, i });
const ais = (name: string, ints: number[]): IAttr => ({ name, type: A.INTS, ints });
const af = (name: string, f: number): IAttr => ({ name, type: A.FLOAT, f });
const as = (name: string, s: string): IAttr => ({ name, type: A.STRING, s: new TextEncoder().encode(s) });

function model(
  name: string,
  inputs: IVI[],
  outputs: IVI[],
  nodes: INode[],
  initializer: ITensor[] = [],
  opset = 13,
): IModel {
  return {
    irVersion: 8,
    producerName: 'fuzz-seed',
    opsetImport: [{ domain: '', version: opset }],
    metadataProps: [{ key: 'seed', value: name }],
    graph: { name, input: inputs, output: outputs, node: nodes, initializer },
  };
}

const n = (opType: string, input: string[], output: string[], attribute: IAttr[] = [], name = opType.toLowerCase()): INode => ({
  opType, input, output, attribute, name,
});

/** Small models built in code; each imports cleanly (checked by the test). */
export function builtSeeds(): { name: string; model: IModel }[] {
  const x4 = vi('x', [1, 4]);
  const y = (dims: (number | string)[] = [], t = 1) => vi('y', dims, t);
  const img = vi('x', [1, 2, 5, 5]);
  const seeds: [string, IModel][] = [
    ['add_relu', model('add_relu', [x4], [y([1, 4])], [n('Add', ['x', 'w'], ['a']), n('Relu', ['a'], ['y'])], [f32('w', [1, 4])])],
    ['conv', model('conv', [img], [y()], [n('Conv', ['x', 'w', 'b'], ['y'], [ais('pads', [1, 1, 1, 1]), ais('kernel_shape', [3, 3]), ais('strides', [1, 1])])],
      [f32('w', [2, 2, 3, 3]), f32('b', [2])])],
    ['conv_group', model('conv_group', [img], [y()], [n('Conv', ['x', 'w'], ['y'], [ai('group', 2), ais('dilations', [2, 2])])], [f32('w', [2, 1, 2, 2])])],
    ['gemm', model('gemm', [x4], [y()], [n('Gemm', ['x', 'w', 'b'], ['y'], [ai('transB', 1), af('alpha', 0.5), af('beta', 2)])], [f32('w', [3, 4]), f32('b', [3])])],
    ['matmul', model('matmul', [vi('x', [2, 3, 4])], [y()], [n('MatMul', ['x', 'w'], ['y'])], [f32('w', [4, 5])])],
    ['reshape', model('reshape', [vi('x', [2, 3, 4])], [y()], [n('Reshape', ['x', 's'], ['y'])], [i64('s', [6, -1])])],
    ['flatten_softmax', model('flatten_softmax', [vi('x', [2, 3, 4])], [y()], [n('Flatten', ['x'], ['f'], [ai('axis', 1)]), n('Softmax', ['f'], ['y'], [ai('axis', -1)])])],
    ['concat_transpose', model('concat_transpose', [vi('x', [2, 3])], [y()], [n('Concat', ['x', 'x'], ['c'], [ai('axis', 0)]), n('Transpose', ['c'], ['y'], [ais('perm', [1, 0])])])],
    ['pool', model('pool', [img], [y()], [n('MaxPool', ['x'], ['m'], [ais('kernel_shape', [2, 2]), ais('strides', [2, 2])]),
      n('AveragePool', ['m'], ['a'], [ais('kernel_shape', [1, 1])]), n('GlobalAveragePool', ['a'], ['y'])])],
    ['batchnorm', model('batchnorm', [img], [y()], [n('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], [af('epsilon', 1e-5)])],
      [f32('s', [2]), f32('b', [2]), f32('m', [2]), f32('v', [2], () => 1)])],
    ['gather_slice', model('gather_slice', [vi('x', [4, 5])], [y()], [n('Gather', ['x', 'idx'], ['g'], [ai('axis', 1)]),
      n('Slice', ['g', 'st', 'en', 'ax'], ['y'])], [i64('idx', [0, 2, 4]), i64('st', [1]), i64('en', [3]), i64('ax', [0])])],
    ['constant', model('constant', [x4], [y()], [
      { opType: 'Constant', output: ['c'], attribute: [{ name: 'value', type: A.TENSOR, t: f32('', [1, 4]) }], name: 'const' },
      n('Mul', ['x', 'c'], ['y'])])],
    ['constant_ints', model('constant_ints', [vi('x', [2, 6])], [y()], [
      { opType: 'Constant', output: ['s'], attribute: [ais('value_ints', [3, 4])], name: 'const' },
      n('Reshape', ['x', 's'], ['y'])])],
    ['cast_clip', model('cast_clip', [x4], [y()], [n('Cast', ['x'], ['c'], [ai('to', 6)]), n('Cast', ['c'], ['d'], [ai('to', 1)]),
      n('Clip', ['d', 'lo', 'hi'], ['y'])], [f32('lo', []), f32('hi', [], () => 1)])],
    ['qdq', model('qdq', [x4], [y()], [n('QuantizeLinear', ['x', 's', 'z'], ['q']), n('DequantizeLinear', ['q', 's', 'z'], ['y'])],
      [f32('s', [], () => 0.1), { name: 'z', dataType: 3, dims: [], int32Data: [3] }])],
    ['shape_chain', model('shape_chain', [vi('x', ['N', 3, 4])], [y()], [n('Shape', ['x'], ['sh']), n('Gather', ['sh', 'i0'], ['d0'], [ai('axis', 0)]),
      n('Unsqueeze', ['d0', 'ax'], ['d1']), n('Concat', ['d1', 'm1'], ['ns'], [ai('axis', 0)]), n('Reshape', ['x', 'ns'], ['y'])],
      [{ name: 'i0', dataType: 7, dims: [], int64Data: [0] }, i64('ax', [0]), i64('m1', [-1])])],
    ['reduce_pad', model('reduce_pad', [vi('x', [2, 3, 4])], [y()], [n('Pad', ['x', 'p'], ['pp'], [as('mode', 'reflect')]),
      n('ReduceMean', ['pp'], ['y'], [ais('axes', [1]), ai('keepdims', 0)])], [i64('p', [0, 1, 1, 0, 1, 1])])],
    ['resize', model('resize', [vi('x', [1, 1, 2, 2])], [y()], [n('Resize', ['x', '', 'sc'], ['y'], [as('mode', 'linear')])],
      [f32('sc', [4], (i) => (i < 2 ? 1 : 2))])],
    ['where_expand', model('where_expand', [vi('x', [3, 1])], [y()], [n('Expand', ['x', 'sh'], ['e']), n('Greater', ['e', 'z'], ['c']),
      n('Where', ['c', 'e', 'z'], ['y'])], [i64('sh', [3, 4]), f32('z', [1])])],
    ['split_topk', model('split_topk', [vi('x', [4, 6])], [vi('a', []), vi('v', []), vi('i', [], 7)], [n('Split', ['x', 'sp'], ['a', 'b'], [ai('axis', 1)]),
      n('TopK', ['b', 'k'], ['v', 'i'], [ai('axis', 1)])], [i64('sp', [2, 4]), i64('k', [2])])],
    ['convtranspose_lrn', model('convtranspose_lrn', [img], [y()], [n('ConvTranspose', ['x', 'w'], ['c'], [ais('strides', [2, 2])]),
      n('LRN', ['c'], ['y'], [ai('size', 3)])], [f32('w', [2, 1, 2, 2])])],
    ['layernorm', model('layernorm', [vi('x', [2, 3, 4])], [y()], [n('LayerNormalization', ['x', 'g', 'b'], ['y'], [ai('axis', -1)])],
      [f32('g', [4]), f32('b', [4])], 17)],
    ['depth_tile', model('depth_tile', [vi('x', [1, 4, 2, 2])], [y()], [n('DepthToSpace', ['x'], ['d'], [ai('blocksize', 2)]),
      n('Tile', ['d', 'r'], ['y'])], [i64('r', [1, 1, 2, 1])])],
    ['einsum_cumsum', model('einsum_cumsum', [vi('x', [2, 3])], [y()], [n('Einsum', ['x', 'x'], ['e'], [as('equation', 'ij,kj->ik')]),
      n('CumSum', ['e', 'ax0'], ['y'])], [{ name: 'ax0', dataType: 7, dims: [], int64Data: [0] }])],
    ['qlinear_matmul', model('qlinear_matmul', [vi('x', [2, 3], 2)], [y()], [n('QLinearMatMul', ['x', 's', 'z', 'w', 's', 'z', 's', 'z'], ['y'])],
      [f32('s', [], () => 0.05), { name: 'z', dataType: 2, dims: [], int32Data: [128] }, { name: 'w', dataType: 2, dims: [3, 2], int32Data: [1, 2, 3, 4, 5, 6] }])],
    ['f16_i4', model('f16_i4', [vi('x', [4], 10)], [y()], [n('Add', ['x', 'w'], ['a']), n('Cast', ['a'], ['y'], [ai('to', 1)])],
      [{ name: 'w', dataType: 10, dims: [4], int32Data: [0x3c00, 0x4000, 0xbc00, 0] }], 21)],
  ];
  return seeds.map(([name, m]) => ({ name, model: m }));
}

export function encodeModel(m: IModel): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(m as Record<string, unknown>)).finish();
}

/** Trained model files and their sample data files (absent folders give empty lists). */
export function trainedFiles(): { models: { name: string; bytes: Uint8Array }[]; data: { name: string; bytes: Uint8Array }[] } {
  const models: { name: string; bytes: Uint8Array }[] = [];
  const data: { name: string; bytes: Uint8Array }[] = [];
  if (!fs.existsSync(TRAINED_DIR)) return { models, data };
  for (const d of fs.readdirSync(TRAINED_DIR).sort()) {
    const m = path.join(TRAINED_DIR, d, 'model.onnx');
    if (fs.existsSync(m)) models.push({ name: d, bytes: new Uint8Array(fs.readFileSync(m)) });
    for (const f of ['sample_in.pb', 'sample_out.pb']) {
      const p = path.join(TRAINED_DIR, d, f);
      if (fs.existsSync(p)) data.push({ name: `${d}/${f}`, bytes: new Uint8Array(fs.readFileSync(p)) });
    }
  }
  return { models, data };
}

const ALL_SEED_DTYPES: DType[] = ['f32', 'f64', 'f16', 'bf16', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool', 'i4', 'u4'];

function sampleTensor(dt: DType, shape: number[]): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const vals = Array.from({ length: n }, (_, i) => (dt === 'bool' ? i % 2 : dt === 'u4' ? i % 16 : dt === 'i4' ? (i % 16) - 8 : (i % 7) - (dt.startsWith('u') ? 0 : 3)));
  return Tensor.from(dt, shape, dt === 'i64' || dt === 'u64' ? vals.map((v) => BigInt(v)) : vals);
}

/** TensorProto encodings of every dtype, raw and typed-field forms, strings, scalars, empty. */
export function tensorProtoSeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const dt of ALL_SEED_DTYPES) {
    out.push(encodeTensorProtoBytes(sampleTensor(dt, [2, 3]), `t_${dt}`));
  }
  out.push(encodeTensorProtoBytes(sampleTensor('f32', []), 'scalar'));
  out.push(encodeTensorProtoBytes(sampleTensor('f32', [0, 3]), 'empty'));
  out.push(encodeTensorProtoBytes(new Tensor('string', [2], ['ab', 'cd']), 'strs'));
  const typed: ITensor[] = [
    { name: 'fd', dataType: 1, dims: [3], floatData: [1, 2, 3] },
    { name: 'dd', dataType: 11, dims: [2], doubleData: [1.5, -2] },
    { name: 'i64d', dataType: 7, dims: [2], int64Data: [1, -1] },
    { name: 'u64d', dataType: 13, dims: [2], uint64Data: [1, 2] },
    { name: 'u32d', dataType: 12, dims: [2], uint64Data: [1, 2] },
    { name: 'i32d', dataType: 6, dims: [2, 1], int32Data: [7, -7] },
    { name: 'f16d', dataType: 10, dims: [2], int32Data: [0x3c00, 0x7c00] },
    { name: 'i4d', dataType: 22, dims: [3], int32Data: [0x21, 0x03] },
    { name: 'ext', dataType: 1, dims: [2], dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '0' }] },
  ];
  for (const t of typed) out.push(onnx.TensorProto.encode(onnx.TensorProto.fromObject(t as Record<string, unknown>)).finish());
  return out;
}

/** .npy encodings of every NumPy dtype edgec reads, plus big-endian, Fortran-order and v2/v3 headers. */
export function npySeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const dt of ['f16', 'f32', 'f64', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool'] as DType[]) {
    out.push(encodeNpy(sampleTensor(dt, [2, 3])));
  }
  out.push(encodeNpy(sampleTensor('f32', [])));
  out.push(encodeNpy(sampleTensor('f32', [4])));
  out.push(encodeNpy(sampleTensor('f32', [0, 2])));
  const hand = (major: number, dict: string, payload: Uint8Array): Uint8Array => {
    const pre = major === 1 ? 10 : 12;
    const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
    const h = dict.padEnd(total - pre - 1, ' ') + '\n';
    const b = new Uint8Array(total + payload.length);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const dv = new DataView(b.buffer);
    if (major === 1) dv.setUint16(8, h.length, true);
    else dv.setUint32(8, h.length, true);
    for (let i = 0; i < h.length; i++) b[pre + i] = h.charCodeAt(i);
    b.set(payload, total);
    return b;
  };
  const p24 = new Uint8Array(24).map((_, i) => i);
  out.push(hand(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", p24));
  out.push(hand(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", p24));
  out.push(hand(2, "{'descr': '<u2', 'fortran_order': True, 'shape': (3, 2, 2), }", p24));
  out.push(hand(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (3L,), }", p24));
  out.push(hand(1, '{"descr": "|u1", "fortran_order": False, "shape": (4, 6)}', p24));
  return out;
}

/** Hand-written IR texts exercising the parser's extras (omitted names, types, quant, tensor attrs). */
export const IR_TEXT_SEEDS: string[] = [
  `graph "g" opsets {"": 13} {
  input %0 "x": f32[1, 4]
  const %1 "w": f32[1, 4] = [0.5, -1, 2, -3]
  %2 "a" = Add(%0, %1) @"add" : f32[1, 4]
  %3 "y" = Relu(%2) @"relu" : f32[1, 4]
  output %3
}`,
  `graph {
  input %0: f32[N, 3]
  const %1: i64[2] = [-1, 3]
  %2 = Reshape(%0, %1)
  %3, %4 = Split(%2) {axis=1, num_outputs=3}
  output %3, %4
}`,
  `graph "q" opsets {"": 21, "edgec": 1} {
  input %0 "x": i8[2, 3] quant(scale=[0.5], zp=[0])
  %1 = Cast(%0) {to=1} : f32[2, 3]
  %2 = Mul(%1, %1) : f32[2, 3]
  %5 = Pad(%2, _, _) {mode="constant", value=tensor(f32[], [nan])} : f32[2, 3]
  output %5
}`,
  `graph {
  input %0: f32[1, 2, 4, 4]
  const %1: f32[2, 2, 3, 3] = [${Array.from({ length: 36 }, (_, i) => (i % 5) - 2).join(', ')}]
  %2 = edgec.FusedConv(%0, %1, _) {activation="Relu", activation_params=[], pads=[1, 1, 1, 1], strides=[1, 1]}
  %3 = MaxPool(%2) {kernel_shape=[2, 2], strides=[2, 2]}
  %4 = Transpose(%3) {perm=[0, 2, 3, 1]} // comment
  output %4
}`,
  `graph {
  input %0: i64[3]
  const %1: i64[] = [9223372036854775807]
  const %2: string[2] = ["a\\n", "\\u00e9"]
  %3 = Add(%0, %1) : i64[3]
  output %3
}`,
];
