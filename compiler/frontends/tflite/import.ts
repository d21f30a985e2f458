/**
 * TFLite frontend: `.tflite` flatbuffer -> Graph of registry ops (ONNX semantics). TFLite values
 * are NHWC; spatial ops run channels-first through the TF.js frontend's layout-aware emitter
 * (emit.ts: a rank-4 value exists in either layout, each made with one Transpose on demand), so a
 * conv chain has Transposes only at its ends. Weights are re-laid out at import (OHWI -> OIHW,
 * depthwise 1HW(C*M) -> (C*M)1HW).
 */
import * as fs from 'node:fs';
import { Graph, ValueId } from '../../ir/graph.js';
import { DType, f16BitsToNumber } from '../../ir/dtype.js';
import { Tensor, numel } from '../../ir/tensor.js';
import { DEFAULT_LIMITS, EdgecError, ErrorContext, Limits, internal, invalid, limit, unsupported } from '../../errors.js';
import { inferShapes } from '../../interp/interp.js';
import { dce } from '../../passes/dce.js';
import { PassCtx } from '../../passes/pass.js';
import { Emitter, LVal, permuteTensor } from '../tfjs/emit.js';
import { readTflite, TENSOR_TYPES, TflModel, TflOperator, TflSubGraph, TflTensor, builtinName } from './schema.js';
import { TFLITE_OPS, OpCtx } from './ops.js';
import { TFLITE_QOPS, isQuantTensor } from './qops.js';

export interface TfliteImportOptions {
  limits?: Limits;
  /** File name for error messages. */
  file?: string;
  /** Fix input shapes: input name -> concrete shape. */
  inputShapes?: Record<string, number[]>;
  /** Replace dynamic input dims (-1 in shape_signature) with 1 (default true). */
  symbolicToOne?: boolean;
}

const ELEM_BYTES: Partial<Record<DType, number>> = { f32: 4, f16: 2, i32: 4, u8: 1, i64: 8, bool: 1, i16: 2, i8: 1, f64: 8, u32: 4, u16: 2, u64: 8 };

/** Decodes a constant tensor's buffer (little-endian), checking its byte length. */
function decodeConst(t: TflTensor, dt: DType, data: Uint8Array): Tensor {
  const n = numel(t.shape);
  const eb = ELEM_BYTES[dt];
  if (eb === undefined) throw unsupported(`constant tensor "${t.name}" has unsupported type ${dt}`);
  if (data.length !== n * eb) throw invalid(`constant tensor "${t.name}" has ${data.length} bytes, its shape [${t.shape.join(',')}] of ${dt} needs ${n * eb}`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dt === 'f16') {
    const vals = new Float32Array(n);
    for (let i = 0; i < n; i++) vals[i] = f16BitsToNumber(dv.getUint16(2 * i, true));
    return Tensor.from('f16', t.shape, vals);
  }
  const out = Tensor.zeros(dt, t.shape);
  const d = out.data;
  for (let i = 0; i < n; i++) {
    const o = i * eb;
    switch (dt) {
      case 'f32': d[i] = dv.getFloat32(o, true); break;
      case 'f64': d[i] = dv.getFloat64(o, true); break;
      case 'i32': d[i] = dv.getInt32(o, true); break;
      case 'u32': d[i] = dv.getUint32(o, true); break;
      case 'i16': d[i] = dv.getInt16(o, true); break;
      case 'u16': d[i] = dv.getUint16(o, true); break;
      case 'i8': d[i] = dv.getInt8(o); break;
      case 'u8': case 'bool': d[i] = dv.getUint8(o); break;
      case 'i64': (d as BigInt64Array)[i] = dv.getBigInt64(o, true); break;
      case 'u64': (d as BigUint64Array)[i] = dv.getBigUint64(o, true); break;
      default: throw unsupported(`constant tensor "${t.name}" has unsupported type ${dt}`);
    }
  }
  return out;
}

function dtypeOf(t: TflTensor): DType {
  const dt = TENSOR_TYPES[t.type];
  if (dt === undefined) throw invalid(`tensor "${t.name}" has unknown type code ${t.type}`);
  if (!ELEM_BYTES[dt as DType]) throw unsupported(`tensor "${t.name}" has type ${dt}, which edgec does not support`);
  return dt as DType;
}

/** Rejects what the importer cannot represent, all unsupported ops named in one line. */
function checkSupported(m: TflModel, sg: TflSubGraph, fctx: ErrorContext): void {
  const custom = new Set<string>();
  const missing = new Set<string>();
  for (const op of sg.operators) {
    const c = m.opcodes[op.opcode];
    if (!c) throw invalid(`operator uses opcode index ${op.opcode}, the model has ${m.opcodes.length} operator codes`, fctx);
    if (c.builtin === 32) custom.add(c.custom || '(unnamed)');
    else if (!TFLITE_OPS[builtinName(c.builtin)] && !TFLITE_QOPS[builtinName(c.builtin)]) missing.add(builtinName(c.builtin));
  }
  if (custom.size) throw unsupported(`TFLite custom op${custom.size > 1 ? 's' : ''} ${[...custom].join(', ')} cannot be imported (custom ops have no builtin semantics)`, fctx);
  if (missing.size) throw unsupported(`TFLite builtin op${missing.size > 1 ? 's' : ''} ${[...missing].join(', ')} not supported by the TFLite importer`, fctx);
  // an operator on quantized activations runs TFLite's integer arithmetic (qops.ts) or is refused
  const qmissing = new Set<string>();
  for (const op of sg.operators) {
    const name = builtinName(m.opcodes[op.opcode]!.builtin);
    if (quantizedOp(m, sg, op) && !TFLITE_QOPS[name]) qmissing.add(name);
  }
  if (qmissing.size) {
    throw unsupported(`quantized TFLite op${qmissing.size > 1 ? 's' : ''} ${[...qmissing].join(', ')} not supported by the TFLite importer (integer kernels: ${Object.keys(TFLITE_QOPS).join(', ')})`, { ...fctx, hint: 'import the float model and quantize with --int8' });
  }
}

/** Whether an operator reads or writes a quantized activation (a non-constant integer tensor with quantization). */
function quantizedOp(m: TflModel, sg: TflSubGraph, op: TflOperator): boolean {
  return [...op.inputs, ...op.outputs].some((i) => {
    const t = i >= 0 ? sg.tensors[i] : undefined;
    return !!t && isQuantTensor(t) && !(m.buffers[t.buffer]?.length);
  });
}

/** Imports TFLite flatbuffer bytes (first subgraph) into a Graph. */
export function importTflite(bytes: Uint8Array, opts: TfliteImportOptions = {}): Graph {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const fctx: ErrorContext = opts.file ? { file: opts.file } : {};
  let m: TflModel;
  try {
    m = readTflite(bytes);
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext(fctx);
    throw invalid(`malformed TFLite flatbuffer: ${(e as Error).message}`, fctx);
  }
  const sg = m.subgraphs[0]!;
  checkSupported(m, sg, fctx);
  const e = new Emitter(sg.name || 'tflite', fctx);
  const vals = new Map<number, LVal>();
  const tensorAt = (i: number): TflTensor => {
    const t = sg.tensors[i];
    if (!t) throw invalid(`tensor index ${i} is out of range (the subgraph has ${sg.tensors.length} tensors)`);
    return t;
  };
  let constBytes = 0;
  const valueOf = (i: number): LVal => {
    const v = vals.get(i);
    if (v) return v;
    const t = tensorAt(i);
    const data = t.buffer > 0 ? m.buffers[t.buffer] : undefined;
    if (t.buffer >= m.buffers.length && t.buffer > 0) throw invalid(`tensor "${t.name}" uses buffer ${t.buffer}, the model has ${m.buffers.length}`);
    if (!data || data.length === 0) throw invalid(`tensor "${t.name}" (${i}) is read before any operator writes it and has no data`);
    if (t.sparse) throw unsupported(`sparse constant tensor "${t.name}" is not supported`);
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) throw invalid(`constant tensor "${t.name}" has shape [${t.shape.join(',')}]`);
    constBytes += data.length;
    if (constBytes > limits.maxModelBytes) throw limit(`TFLite constants exceed ${limits.maxModelBytes} bytes`);
    const c = decodeConst(t, dtypeOf(t), data);
    const lv = { tf: e.const(t.name || `const_${i}`, c) };
    vals.set(i, lv);
    return lv;
  };
  return e.withNodeContext({}, () => {
    for (const i of sg.inputs) {
      const t = tensorAt(i);
      const name = t.name || `input_${i}`;
      const fixed = opts.inputShapes && Object.prototype.hasOwnProperty.call(opts.inputShapes, name) ? opts.inputShapes[name] : undefined;
      let k = 0;
      const sig = t.signature && t.signature.length === t.shape.length ? t.signature : t.shape;
      const shape = fixed ?? sig.map((d, j) => (d >= 0 ? d : opts.symbolicToOne === false ? `${name}_d${k++}` : t.shape[j]! > 0 ? t.shape[j]! : 1));
      vals.set(i, { tf: e.b.input(name, dtypeOf(t), shape) });
    }
    sg.operators.forEach((op, k) => {
      const code = m.opcodes[op.opcode]!;
      const opName = builtinName(code.builtin);
      const conv = quantizedOp(m, sg, op) ? TFLITE_QOPS[opName] : TFLITE_OPS[opName];
      if (!conv) throw unsupported(`TFLite builtin op ${opName} is only supported on quantized (int8/uint8) tensors`);
      const name = (op.outputs[0] !== undefined && op.outputs[0] >= 0 && sg.tensors[op.outputs[0]]?.name) || `${opName.toLowerCase()}_${k}`;
      e.withNodeContext({ node: name, op: opName }, () => {
        const c: OpCtx = {
          e, name, op, opName, version: code.version,
          input: (j) => {
            const ix = op.inputs[j];
            if (ix === undefined || ix < 0) throw invalid(`${opName} input ${j} is missing`);
            return valueOf(ix);
          },
          hasInput: (j) => op.inputs[j] !== undefined && op.inputs[j]! >= 0,
          inTensor: (j) => tensorAt(op.inputs[j] ?? -1),
          outTensor: (j) => tensorAt(op.outputs[j] ?? -1),
        };
        const outs = conv(c);
        if (outs.length < op.outputs.length) throw invalid(`${opName} has ${op.outputs.length} outputs, the builtin defines ${outs.length}`);
        op.outputs.forEach((o, j) => {
          if (o < 0) return;
          tensorAt(o);
          if (vals.has(o)) throw invalid(`tensor ${o} is written twice`);
          vals.set(o, outs[j]!);
        });
      });
    });
    for (const o of sg.outputs) {
      const t = tensorAt(o);
      const v = vals.get(o) ?? valueOf(o);
      let id: ValueId = e.tf(v);
      const pub = t.name || `output_${o}`;
      if (e.g.inputs.includes(id) || e.g.outputs.includes(id) || e.g.consts.has(id)) id = e.op('Identity', [id], {}, pub);
      e.g.value(id).name = pub;
      e.b.output(id);
    }
    const g = e.g;
    // shape arithmetic folded at import (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE) leaves dead nodes
    dce.run(g, { options: {}, changes: 0 } as unknown as PassCtx);
    g.removeUnusedValues();
    inferShapes(g);
    return g;
  });
}

/** Reads and imports a .tflite file. */
export function loadTfliteFile(path: string, opts: TfliteImportOptions = {}): Graph {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    throw invalid('cannot read model file', { file: opts.file ?? path });
  }
  if (st.size > limits.maxModelBytes) throw limit(`model file is ${st.size} bytes, over the ${limits.maxModelBytes}-byte limit`, { file: opts.file ?? path });
  return importTflite(new Uint8Array(fs.readFileSync(path)), { ...opts, file: opts.file ?? path });
}


