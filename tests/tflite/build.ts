/**
 * A small TFLite model writer for tests (flatbuffers' Builder, schema field numbers as in
 * compiler/frontends/tflite/schema.ts): float tensors, builtin or custom operators with an options
 * table of int fields. Independent of the reader under test except for the schema itself.
 */
import { Builder } from 'flatbuffers';

/** Quantization parameters (QuantizationParameters: scale, zero_point, quantized_dimension). */
export interface BQuant { scale: number[]; zeroPoint: number[]; axis?: number }
export interface BTensor {
  shape: number[]; name: string;
  /** Constant data (its bytes are stored as they are: an Int8Array / Int32Array for integer tensors). */
  data?: Float32Array | Int8Array | Uint8Array | Int32Array;
  type?: number; variable?: boolean; quant?: BQuant;
}
export interface BOp {
  /** Builtin code, or a custom op name. */
  code: number | string;
  inputs: number[];
  outputs: number[];
  /** builtin_options union type and its fields: [slot, kind, value]. */
  options?: { type: number; fields: [number, 'i8' | 'i32' | 'f32', number][] };
}

function i32Vec(b: Builder, xs: readonly number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]!);
  return b.endVector();
}
function offVec(b: Builder, xs: readonly number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]!);
  return b.endVector();
}

/** Serializes one subgraph (inputs/outputs by tensor index) as a .tflite flatbuffer. */
export function buildTflite(tensors: BTensor[], ops: BOp[], inputs: number[], outputs: number[]): Uint8Array {
  const b = new Builder(1024);
  // buffers: 0 = empty (the schema's convention), then one per constant tensor
  const bufs: number[] = [];
  b.startObject(1); bufs.push(b.endObject());
  const bufIndex = tensors.map((t) => {
    if (!t.data) return 0;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    b.startVector(1, bytes.length, 16);
    for (let i = bytes.length - 1; i >= 0; i--) b.addInt8(bytes[i]!);
    const v = b.endVector();
    b.startObject(1); b.addFieldOffset(0, v, 0); bufs.push(b.endObject());
    return bufs.length - 1;
  });
  const tOffs = tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = i32Vec(b, t.shape);
    let quant = 0;
    if (t.quant) {
      b.startVector(4, t.quant.scale.length, 4);
      for (let k = t.quant.scale.length - 1; k >= 0; k--) b.addFloat32(t.quant.scale[k]!);
      const sv = b.endVector();
      b.startVector(8, t.quant.zeroPoint.length, 8);
      for (let k = t.quant.zeroPoint.length - 1; k >= 0; k--) b.addInt64(BigInt(t.quant.zeroPoint[k]!));
      const zv = b.endVector();
      b.startObject(7);
      b.addFieldOffset(2, sv, 0);
      b.addFieldOffset(3, zv, 0);
      b.addFieldInt32(6, t.quant.axis ?? 0, 0);
      quant = b.endObject();
    }
    b.startObject(8);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type ?? 0, 0);
    b.addFieldInt32(2, bufIndex[i]!, 0);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    if (t.variable) b.addFieldInt8(5, 1, 0);
    return b.endObject();
  });
  const codes: (number | string)[] = [];
  const opOffs = ops.map((o) => {
    let ci = codes.indexOf(o.code);
    if (ci < 0) { codes.push(o.code); ci = codes.length - 1; }
    let opt = 0;
    if (o.options) {
      b.startObject(8);
      for (const [slot, kind, v] of o.options.fields) {
        if (kind === 'i8') b.addFieldInt8(slot, v, 0);
        else if (kind === 'i32') b.addFieldInt32(slot, v, 0);
        else b.addFieldFloat32(slot, v, 0);
      }
      opt = b.endObject();
    }
    const ins = i32Vec(b, o.inputs);
    const outs = i32Vec(b, o.outputs);
    b.startObject(5);
    b.addFieldInt32(0, ci, 0);
    b.addFieldOffset(1, ins, 0);
    b.addFieldOffset(2, outs, 0);
    if (o.options) { b.addFieldInt8(3, o.options.type, 0); b.addFieldOffset(4, opt, 0); }
    return b.endObject();
  });
  const codeOffs = codes.map((c) => {
    const custom = typeof c === 'string' ? b.createString(c) : 0;
    b.startObject(4);
    const code = typeof c === 'string' ? 32 : c;
    b.addFieldInt8(0, Math.min(code, 127), 0);
    if (custom) b.addFieldOffset(1, custom, 0);
    b.addFieldInt32(2, 1, 1);
    b.addFieldInt32(3, code, 0);
    return b.endObject();
  });
  const tv = offVec(b, tOffs);
  const iv = i32Vec(b, inputs);
  const ov = i32Vec(b, outputs);
  const opv = offVec(b, opOffs);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tv, 0); b.addFieldOffset(1, iv, 0); b.addFieldOffset(2, ov, 0); b.addFieldOffset(3, opv, 0); b.addFieldOffset(4, sgName, 0);
  const sg = b.endObject();
  const sgv = offVec(b, [sg]);
  const cv = offVec(b, codeOffs);
  const bv = offVec(b, bufs);
  const desc = b.createString('edgec test');
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, cv, 0);
  b.addFieldOffset(2, sgv, 0);
  b.addFieldOffset(3, desc, 0);
  b.addFieldOffset(4, bv, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

/** Deterministic small floats (an LCG). */
export function floats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round(((s / 2 ** 32) * 2 - 1) * 64) / 64;
  }
  return out;
}

/**
 * x [1,6,6,2] -> CONV_2D (3 filters 3x3, stride 2, SAME, fused RELU) -> DEPTHWISE_CONV_2D (x2,
 * VALID) -> MAX_POOL_2D 2x2 -> RESHAPE [1,-1] -> FULLY_CONNECTED 4 -> SOFTMAX.
 */
export function smallCnn(): Uint8Array {
  const t: BTensor[] = [
    { name: 'x', shape: [1, 6, 6, 2] },
    { name: 'conv_w', shape: [3, 3, 3, 2], data: floats(54, 1) },
    { name: 'conv_b', shape: [3], data: floats(3, 2) },
    { name: 'conv', shape: [1, 3, 3, 3] },
    { name: 'dw_w', shape: [1, 2, 2, 6], data: floats(24, 3) },
    { name: 'dw_b', shape: [6], data: floats(6, 4) },
    { name: 'dw', shape: [1, 2, 2, 6] },
    { name: 'pool', shape: [1, 1, 1, 6] },
    { name: 'shape', shape: [2], data: new Float32Array(new Int32Array([1, -1]).buffer), type: 2 },
    { name: 'flat', shape: [1, 6] },
    { name: 'fc_w', shape: [4, 6], data: floats(24, 5) },
    { name: 'fc_b', shape: [4], data: floats(4, 6) },
    { name: 'fc', shape: [1, 4] },
    { name: 'y', shape: [1, 4] },
  ];
  const ops: BOp[] = [
    { code: 3, inputs: [0, 1, 2], outputs: [3], options: { type: 1, fields: [[0, 'i8', 0], [1, 'i32', 2], [2, 'i32', 2], [3, 'i8', 1]] } },
    { code: 4, inputs: [3, 4, 5], outputs: [6], options: { type: 2, fields: [[0, 'i8', 1], [1, 'i32', 1], [2, 'i32', 1], [3, 'i32', 2]] } },
    { code: 17, inputs: [6], outputs: [7], options: { type: 5, fields: [[0, 'i8', 1], [1, 'i32', 2], [2, 'i32', 2], [3, 'i32', 2], [4, 'i32', 2]] } },
    { code: 22, inputs: [7, 8], outputs: [9] },
    { code: 9, inputs: [9, 10, 11], outputs: [12] },
    { code: 25, inputs: [12], outputs: [13], options: { type: 9, fields: [[0, 'f32', 1]] } },
  ];
  return buildTflite(t, ops, [0], [13]);
}

/**
 * x [1, 3, 2] -> UNIDIRECTIONAL_SEQUENCE_LSTM (hidden 3, tanh, batch-major, optional peepholes,
 * cell_clip) -> y [1, 3, 3]. Zero-initialized variable state tensors, as the converter writes.
 */
export function smallLstm(cellClip: number, peephole: boolean): Uint8Array {
  const H = 3;
  const I = 2;
  const t: BTensor[] = [{ name: 'x', shape: [1, 3, I] }];
  const add = (x: BTensor): number => t.push(x) - 1;
  const ins: number[] = [0];
  for (let k = 0; k < 4; k++) ins.push(add({ name: `wi${k}`, shape: [H, I], data: floats(H * I, 10 + k) }));
  for (let k = 0; k < 4; k++) ins.push(add({ name: `wr${k}`, shape: [H, H], data: floats(H * H, 20 + k) }));
  for (let k = 0; k < 3; k++) ins.push(peephole ? add({ name: `p${k}`, shape: [H], data: floats(H, 30 + k) }) : -1);
  for (let k = 0; k < 4; k++) ins.push(add({ name: `b${k}`, shape: [H], data: floats(H, 40 + k).map((v) => v + (k === 1 ? 1 : 0)) }));
  ins.push(-1, -1);
  ins.push(add({ name: 'h_state', shape: [1, H], variable: true }), add({ name: 'c_state', shape: [1, H], variable: true }));
  ins.push(-1, -1, -1, -1);
  const y = add({ name: 'y', shape: [1, 3, H] });
  const fields: [number, 'i8' | 'i32' | 'f32', number][] = [[0, 'i8', 4], [1, 'f32', cellClip], [3, 'i8', 0]];
  return buildTflite(t, [{ code: 44, inputs: ins, outputs: [y], options: { type: 71, fields } }], [0], [y]);
}

/**
 * An int8 CNN as TFLite's converter writes one: x [1,6,6,2] int8 -> CONV_2D (per-channel int8
 * filter, int32 bias, RELU) -> DEPTHWISE_CONV_2D -> ADD (with the conv output) -> AVERAGE_POOL_2D
 * 2x2 -> RESHAPE [1,-1] -> FULLY_CONNECTED 3 -> SOFTMAX (scale 1/256, zero point -128).
 */
export function smallQuantCnn(): Uint8Array {
  const q = (scale: number, zp: number) => ({ scale: [scale], zeroPoint: [zp] });
  const i8 = (n: number, seed: number) => Int8Array.from(floats(n, seed), (v) => Math.round(v * 127));
  const i32 = (n: number, seed: number) => Int32Array.from(floats(n, seed), (v) => Math.round(v * 500));
  const cs = [0.011, 0.007, 0.013, 0.009];
  const t: BTensor[] = [
    { name: 'x', shape: [1, 6, 6, 2], type: 9, quant: q(0.04, -3) },
    { name: 'conv_w', shape: [4, 3, 3, 2], type: 9, data: i8(72, 1), quant: { scale: cs, zeroPoint: [0, 0, 0, 0], axis: 0 } },
    { name: 'conv_b', shape: [4], type: 2, data: i32(4, 2), quant: { scale: cs.map((s) => s * 0.04), zeroPoint: [0, 0, 0, 0] } },
    { name: 'conv', shape: [1, 6, 6, 4], type: 9, quant: q(0.05, -128) },
    { name: 'dw_w', shape: [1, 3, 3, 4], type: 9, data: i8(36, 3), quant: { scale: cs, zeroPoint: [0, 0, 0, 0], axis: 3 } },
    { name: 'dw_b', shape: [4], type: 2, data: i32(4, 4), quant: { scale: cs.map((s) => s * 0.05), zeroPoint: [0, 0, 0, 0] } },
    { name: 'dw', shape: [1, 6, 6, 4], type: 9, quant: q(0.06, 7) },
    { name: 'sum', shape: [1, 6, 6, 4], type: 9, quant: q(0.09, -10) },
    { name: 'pool', shape: [1, 3, 3, 4], type: 9, quant: q(0.09, -10) },
    { name: 'shape', shape: [2], data: Int32Array.from([1, -1]), type: 2 },
    { name: 'flat', shape: [1, 36], type: 9, quant: q(0.09, -10) },
    { name: 'fc_w', shape: [3, 36], type: 9, data: i8(108, 5), quant: q(0.008, 0) },
    { name: 'fc_b', shape: [3], type: 2, data: i32(3, 6), quant: q(0.09 * 0.008, 0) },
    { name: 'fc', shape: [1, 3], type: 9, quant: q(0.1, 2) },
    { name: 'y', shape: [1, 3], type: 9, quant: q(1 / 256, -128) },
  ];
  const ops: BOp[] = [
    { code: 3, inputs: [0, 1, 2], outputs: [3], options: { type: 1, fields: [[0, 'i8', 0], [1, 'i32', 1], [2, 'i32', 1], [3, 'i8', 1]] } },
    { code: 4, inputs: [3, 4, 5], outputs: [6], options: { type: 2, fields: [[0, 'i8', 0], [1, 'i32', 1], [2, 'i32', 1], [3, 'i32', 1]] } },
    { code: 0, inputs: [3, 6], outputs: [7], options: { type: 11, fields: [[0, 'i8', 0]] } },
    { code: 1, inputs: [7], outputs: [8], options: { type: 5, fields: [[0, 'i8', 1], [1, 'i32', 2], [2, 'i32', 2], [3, 'i32', 2], [4, 'i32', 2]] } },
    { code: 22, inputs: [8, 9], outputs: [10] },
    { code: 9, inputs: [10, 11, 12], outputs: [13] },
    { code: 25, inputs: [13], outputs: [14], options: { type: 9, fields: [[0, 'f32', 1]] } },
  ];
  return buildTflite(t, ops, [0], [14]);
}
