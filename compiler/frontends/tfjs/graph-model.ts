/**
 * TF.js graph models (model.json `format: "graph-model"`): a TensorFlow GraphDef in JSON form.
 * Each TF op maps to registry ops (ONNX names); NHWC ops get channels-first twins through the
 * layout-aware helpers of nn.ts; TF SAME padding becomes explicit pads from the static shapes.
 */
import { ValueId } from '../../ir/graph.js';
import { DType, ONNX_DTYPE } from '../../ir/dtype.js';
import { Dim, Tensor } from '../../ir/tensor.js';
import { ErrorContext, Limits, invalid, limit, unsupported } from '../../errors.js';
import { Emitter, LVal } from './emit.js';
import { Frames, Scope, TfNode, parseInput } from './scope.js';
import { JsonObj, isObj, num, own, show } from './load.js';
import {
  Conv2dSpec, Padding, activation, batchNorm, binary, cast, concat, constInts, conv2d, foldValue, convTranspose2d, pad, pool2d, reduce, resize2d, softmax, toI64, unary,
} from './nn.js';

export interface TfjsImportOptions {
  limits?: Limits;
  file?: string;
  /** Fix input shapes: input name -> concrete shape. */
  inputShapes?: Record<string, number[]>;
  /** Replace unknown input dims with 1 (default true). */
  symbolicToOne?: boolean;
  /** Graph name (default: the model's folder name). */
  graphName?: string;
}

const TF_DTYPES: Record<string, DType> = {
  DT_FLOAT: 'f32', DT_HALF: 'f16', DT_DOUBLE: 'f64', DT_INT32: 'i32', DT_INT64: 'i64', DT_INT8: 'i8', DT_UINT8: 'u8',
  DT_INT16: 'i16', DT_UINT16: 'u16', DT_BOOL: 'bool', DT_UINT32: 'u32', DT_UINT64: 'u64', DT_BFLOAT16: 'bf16',
};


const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** Typed reads of TF AttrValue JSON. */
class Attrs {
  constructor(private a: JsonObj, private ctx: ErrorContext) {}
  private get(k: string): JsonObj | undefined {
    const v = own(this.a, k);
    return isObj(v) ? v : undefined;
  }
  has(k: string): boolean {
    return this.get(k) !== undefined;
  }
  int(k: string, def: number): number {
    const v = own(this.get(k), 'i');
    if (v === undefined) return def;
    const n = num(v);
    if (!Number.isSafeInteger(n)) throw invalid(`attribute "${k}" is not an integer`, this.ctx);
    return n;
  }
  float(k: string, def: number): number {
    const v = own(this.get(k), 'f');
    if (v === undefined) return def;
    const n = num(v);
    if (Number.isNaN(n) && v !== 'NaN') throw invalid(`attribute "${k}" is not a number`, this.ctx);
    return n;
  }
  bool(k: string, def: boolean): boolean {
    const v = own(this.get(k), 'b');
    return v === undefined ? def : v === true || v === 'true';
  }
  str(k: string, def: string): string {
    const v = own(this.get(k), 's');
    return typeof v === 'string' ? b64(v) : def;
  }
  type(k: string): DType | undefined {
    const v = own(this.get(k), 'type');
    if (v === undefined) return undefined;
    const d = typeof v === 'string' && Object.prototype.hasOwnProperty.call(TF_DTYPES, v) ? TF_DTYPES[v] : undefined;
    if (!d) throw unsupported(`attribute "${k}": TF dtype ${show(v)} is not supported`, this.ctx);
    return d;
  }
  private list(k: string, f: string): unknown[] | undefined {
    const l = own(this.get(k), 'list');
    if (!isObj(l)) return undefined;
    const v = own(l, f);
    return Array.isArray(v) ? v : [];
  }
  ints(k: string): number[] | undefined {
    const l = this.list(k, 'i');
    return l?.map((x) => {
      const n = num(x);
      if (!Number.isSafeInteger(n)) throw invalid(`attribute "${k}" holds a non-integer`, this.ctx);
      return n;
    });
  }
  strs(k: string): string[] | undefined {
    return this.list(k, 's')?.map((x) => b64(typeof x === 'string' ? x : ''));
  }
  shape(k: string): Dim[] | undefined {
    const s = this.get(k);
    const sh = own(s, 'shape');
    if (!isObj(sh)) return undefined;
    if (own(sh, 'unknownRank') === true) return undefined;
    const dims = own(sh, 'dim');
    if (dims === undefined) return [];
    if (!Array.isArray(dims)) throw invalid(`attribute "${k}" has a malformed shape`, this.ctx);
    return dims.map((d) => {
      const n = num(isObj(d) ? own(d, 'size') ?? 0 : NaN);
      if (!Number.isSafeInteger(n)) throw invalid(`attribute "${k}" has a malformed dim`, this.ctx);
      return n < 0 ? '?' : n;
    });
  }
  tensor(k: string): JsonObj | undefined {
    const t = own(this.get(k), 'tensor');
    return isObj(t) ? t : undefined;
  }
}

/** Decodes a TensorProto in JSON form (small Const values that are not in the weights). */
function tensorFromJson(t: JsonObj, ctx: ErrorContext): Tensor {
  const dtName = own(t, 'dtype');
  const dt = typeof dtName === 'string' && Object.prototype.hasOwnProperty.call(TF_DTYPES, dtName) ? TF_DTYPES[dtName]! : undefined;
  if (!dt) throw unsupported(`Const of TF dtype ${show(dtName)} is not supported`, ctx);
  const ts = own(t, 'tensorShape');
  const dims = isObj(ts) ? own(ts, 'dim') : undefined;
  const shape = Array.isArray(dims) ? dims.map((d) => num(isObj(d) ? own(d, 'size') ?? 0 : 0)) : [];
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalid('Const has a malformed shape', ctx);
  const n = shape.reduce((a, b) => a * b, 1);
  const content = own(t, 'tensorContent');
  if (typeof content === 'string') {
    const bytes = Buffer.from(content, 'base64');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = Tensor.zeros(dt, shape);
    const size = dt === 'f32' || dt === 'i32' ? 4 : dt === 'bool' || dt === 'u8' || dt === 'i8' ? 1 : 0;
    if (!size) throw unsupported(`Const tensorContent of dtype ${dt} is not supported`, ctx);
    if (bytes.length !== n * size) throw invalid(`Const tensorContent has ${bytes.length} bytes, expected ${n * size}`, ctx);
    for (let i = 0; i < n; i++) {
      out.set(i, dt === 'f32' ? dv.getFloat32(4 * i, true) : dt === 'i32' ? dv.getInt32(4 * i, true) : dt === 'i8' ? dv.getInt8(i) : dv.getUint8(i));
    }
    return out;
  }
  const field = dt === 'f32' || dt === 'f16' ? 'floatVal' : dt === 'bool' ? 'boolVal' : dt === 'i64' ? 'int64Val' : dt === 'f64' ? 'doubleVal' : 'intVal';
  const vals = own(t, field);
  const list = Array.isArray(vals) ? vals.map((v) => (v === true ? 1 : v === false ? 0 : num(v))) : [];
  if (list.length !== n && list.length > 1) throw invalid(`Const has ${list.length} values for ${n} elements`, ctx);
  const out = Tensor.zeros(dt, shape);
  for (let i = 0; i < n; i++) out.set(i, list.length ? list[Math.min(i, list.length - 1)]! : 0);
  return out;
}

/** Control-flow / stateful ops not imported: named in the error so users know why the model is rejected. */
const CONTROL_FLOW = new Set([
  'If', 'StatelessIf', 'While', 'StatelessWhile', 'TensorListGather', 'TensorListScatter', 'TensorListScatterV2',
  'TensorListLength', 'TensorListConcat', 'TensorListSplit', 'TensorListPushBack', 'TensorListPopBack',
  'TensorArrayV3', 'TensorArrayReadV3', 'TensorArrayWriteV3', 'TensorArrayGatherV3', 'TensorArrayScatterV3',
]);

/** Frame ops converted by scope.ts (while loops), not by a CONVERTERS entry. */
const FRAME_OPS = new Set(['Enter', 'Exit', 'Merge', 'Switch', 'NextIteration']);

type Conv = (c: NodeCtx) => LVal[];

interface NodeCtx {
  e: Emitter;
  n: TfNode;
  a: Attrs;
  ins: LVal[];
  name: string;
}

const ON = (dt: DType): number => ONNX_DTYPE[dt];

function convSpec(c: NodeCtx, rank = 4): Conv2dSpec {
  const fmt = c.a.str('data_format', 'NHWC');
  if (fmt !== 'NHWC') throw unsupported(`data_format ${fmt} is not supported (NHWC is)`);
  const s = c.a.ints('strides') ?? [1, 1, 1, 1];
  const d = c.a.ints('dilations') ?? [1, 1, 1, 1];
  if (s.length !== rank || d.length !== rank) throw invalid('strides/dilations must have 4 entries');
  if (s[0] !== 1 || s[3] !== 1) throw unsupported('strides over batch or channels are not supported');
  const padding = c.a.str('padding', 'VALID') as Padding;
  if (!['SAME', 'VALID', 'EXPLICIT'].includes(padding)) throw invalid(`unknown padding "${padding}"`);
  const spec: Conv2dSpec = { strides: [s[1]!, s[2]!], dilations: [d[1]!, d[2]!], padding };
  if (padding === 'EXPLICIT') {
    const p = c.a.ints('explicit_paddings') ?? [];
    if (p.length !== 8) throw invalid('explicit_paddings must have 8 entries');
    spec.explicit = [p[2]!, p[3]!, p[4]!, p[5]!];
  }
  return spec;
}

function input(c: NodeCtx, i: number): LVal {
  const v = c.ins[i];
  if (!v) throw invalid(`${c.n.op} needs input ${i}`);
  return v;
}

/** Plain (TF-layout) value id of input i. */
const tfIn = (c: NodeCtx, i: number): ValueId => c.e.tf(input(c, i));

function axisOf(c: NodeCtx, i: number, rank: number): number {
  const v = constInts(c.e, tfIn(c, i), `${c.n.op} axis`);
  if (v.length !== 1) throw invalid(`${c.n.op} axis must be a scalar`);
  const a = v[0]! < 0 ? v[0]! + rank : v[0]!;
  if (a < 0 || a >= rank) throw invalid(`${c.n.op} axis ${v[0]} is out of range for rank ${rank}`);
  return a;
}

/** The fused tail of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul. */
function fusedTail(c: NodeCtx, y: LVal, base: 'conv' | 'matmul'): LVal {
  const ops = c.a.strs('fused_ops') ?? [];
  const args = c.ins.slice(2);
  const e = c.e;
  let k = 0;
  let out = y;
  for (let i = 0; i < ops.length; i++) {
    const f = ops[i]!;
    const nm = i === ops.length - 1 ? c.name : `${c.name}/${f}`;
    if (f === 'BiasAdd') {
      const bias = args[k++];
      if (!bias) throw invalid('fused BiasAdd has no bias argument');
      if (base === 'conv' && out.cf !== undefined && i === 0 && !(e.g.producerOf(out.cf)?.inputs[2] !== undefined)) {
        // fold the bias into the Conv node (ONNX Conv's B input)
        const conv = e.g.producerOf(out.cf)!;
        conv.inputs.push(e.tf(bias));
        if (ops.length === 1) {
          // nothing follows: the Conv node is the TF node
          conv.name = e.uniq(c.name);
          e.g.value(out.cf).name = conv.name;
        }
        continue;
      }
      out = binary(e, 'Add', out, bias, nm);
    } else if (f === 'FusedBatchNorm') {
      const [sc, of, mn, vr] = [args[k], args[k + 1], args[k + 2], args[k + 3]];
      k += 4;
      if (!sc || !of || !mn || !vr) throw invalid('fused FusedBatchNorm needs 4 arguments');
      out = batchNorm(e, out, e.tf(sc), e.tf(of), e.tf(mn), e.tf(vr), c.a.float('epsilon', 1e-3), nm);
    } else if (f === 'Prelu') {
      const alpha = args[k++];
      if (!alpha) throw invalid('fused Prelu has no alpha argument');
      out = activation(e, out, 'prelu', nm, { prelu: alpha });
    } else if (f === 'LeakyRelu') {
      out = activation(e, out, 'leakyrelu', nm, { alpha: c.a.float('leakyrelu_alpha', 0.2) });
    } else if (['Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh'].includes(f)) {
      out = activation(e, out, f, nm);
    } else {
      throw unsupported(`fused op "${f}" in ${c.n.op} is not supported`);
    }
  }
  return out;
}

function convNode(c: NodeCtx, depthwise: boolean, fused: boolean): LVal[] {
  const spec = convSpec(c);
  const x = input(c, 0);
  const f = tfIn(c, 1);
  const y = conv2d(c.e, x, f, null, spec, depthwise, fused ? `${c.name}/conv` : c.name);
  if (!fused) return [y];
  // rename: the conv node keeps the TF name when nothing follows it
  return [fusedTail(c, y, 'conv')];
}

function matmul(c: NodeCtx, fused: boolean): LVal[] {
  const e = c.e;
  let a = tfIn(c, 0);
  let b = tfIn(c, 1);
  const ta = c.a.bool('transpose_a', false) || c.a.bool('adj_x', false);
  const tb = c.a.bool('transpose_b', false) || c.a.bool('adj_y', false);
  const swapLast = (v: ValueId, nm: string): ValueId => {
    const r = e.rank(v);
    const perm = [...Array(r).keys()];
    [perm[r - 1], perm[r - 2]] = [perm[r - 2]!, perm[r - 1]!];
    return e.op('Transpose', [v], { perm }, nm);
  };
  if (ta) a = swapLast(a, `${c.name}/transpose_a`);
  if (tb) b = swapLast(b, `${c.name}/transpose_b`);
  const y: LVal = { tf: e.op('MatMul', [a, b], {}, fused ? `${c.name}/matmul` : c.name) };
  return [fused ? fusedTail(c, y, 'matmul') : y];
}

function stridedSlice(c: NodeCtx): LVal[] {
  const e = c.e;
  const x = tfIn(c, 0);
  const begin = constInts(e, tfIn(c, 1), 'StridedSlice begin');
  const end = constInts(e, tfIn(c, 2), 'StridedSlice end');
  const strides = constInts(e, tfIn(c, 3), 'StridedSlice strides');
  const masks = { begin: c.a.int('begin_mask', 0), end: c.a.int('end_mask', 0), ellipsis: c.a.int('ellipsis_mask', 0),
    newAxis: c.a.int('new_axis_mask', 0), shrink: c.a.int('shrink_axis_mask', 0) };
  return [{ tf: emitStridedSlice(e, x, begin, end, strides, masks, c.name, 'StridedSlice') }];
}

/**
 * TensorFlow's StridedSlice (also TFLite's STRIDED_SLICE) on constant begin/end/strides and its five
 * bit masks, as ONNX Slice (+ Squeeze for shrink_axis, + Unsqueeze for new_axis): an ellipsis
 * expands to the dims no other entry consumes; begin/end masks take the whole range in the
 * stride's direction.
 * @param what op name for error messages
 */
export function emitStridedSlice(e: Emitter, x: ValueId, begin: number[], end: number[], strides: number[],
  masks: { begin: number; end: number; ellipsis: number; newAxis: number; shrink: number }, name: string, what: string): ValueId {
  const rank = e.rank(x);
  if (begin.length !== end.length || begin.length !== strides.length) throw invalid(`${what} begin/end/strides differ in length`);
  const { begin: bm, end: em, ellipsis: elm, newAxis: nm, shrink: sm } = masks;
  const BIG = 2 ** 62;
  const starts: number[] = [];
  const ends: number[] = [];
  const axes: number[] = [];
  const steps: number[] = [];
  const squeeze: number[] = [];
  const finalKinds: ('keep' | 'new')[] = [];
  let consumed = 0;
  for (let i = 0; i < begin.length; i++) if (!(elm & (1 << i)) && !(nm & (1 << i))) consumed++;
  let dim = 0;
  let sawEllipsis = false;
  for (let i = 0; i < begin.length; i++) {
    const bit = 1 << i;
    if (elm & bit && !sawEllipsis) {
      sawEllipsis = true;
      const k = rank - consumed;
      for (let j = 0; j < k; j++) { finalKinds.push('keep'); dim++; }
      continue;
    }
    if (nm & bit) { finalKinds.push('new'); continue; }
    if (dim >= rank) throw invalid(`${what} indexes more dims than the input has`);
    const st = strides[i]!;
    if (st === 0) throw invalid(`${what} stride is 0`);
    if (sm & bit) {
      const b0 = begin[i]!;
      starts.push(b0); ends.push(b0 === -1 ? BIG : b0 + 1); axes.push(dim); steps.push(1);
      squeeze.push(dim);
    } else {
      const s = bm & bit ? (st > 0 ? 0 : BIG) : begin[i]!;
      const en = em & bit ? (st > 0 ? BIG : -BIG) : end[i]!;
      if (!(bm & bit && em & bit && st === 1)) { starts.push(s); ends.push(en); axes.push(dim); steps.push(st); }
      finalKinds.push('keep');
    }
    dim++;
  }
  while (dim < rank) { finalKinds.push('keep'); dim++; }
  let y = x;
  if (axes.length) {
    y = e.op('Slice', [x, e.i64(`${name}/starts`, starts), e.i64(`${name}/ends`, ends), e.i64(`${name}/axes`, axes),
      e.i64(`${name}/steps`, steps)], {}, squeeze.length || finalKinds.includes('new') ? `${name}/slice` : name);
  }
  if (squeeze.length) y = e.op('Squeeze', [y, e.i64(`${name}/squeeze_axes`, squeeze)], {}, finalKinds.includes('new') ? `${name}/squeeze` : name);
  const newAxes = finalKinds.map((k, i) => (k === 'new' ? i : -1)).filter((i) => i >= 0);
  if (newAxes.length) y = e.op('Unsqueeze', [y, e.i64(`${name}/new_axes`, newAxes)], {}, name);
  if (y === x) y = e.op('Identity', [x], {}, name);
  return y;
}

const bin = (op: string): Conv => (c) => [binary(c.e, op, input(c, 0), input(c, 1), c.name)];
const un = (op: string, attrs: Record<string, number> = {}): Conv => (c) => [unary(c.e, input(c, 0), op, attrs, c.name)];
const act = (kind: string): Conv => (c) => [activation(c.e, input(c, 0), kind, c.name, { alpha: c.a.float('alpha', 0.2) })];
const red = (op: string): Conv => (c) => {
  const x = input(c, 0);
  const r = c.e.lrank(x);
  const axes = constInts(c.e, tfIn(c, 1), `${c.n.op} axes`).map((a) => (a < 0 ? a + r : a));
  if (axes.some((a) => a < 0 || a >= r)) throw invalid(`${c.n.op} axis out of range for rank ${r}`);
  return [reduce(c.e, x, op, [...new Set(axes)].sort((p, q) => p - q), c.a.bool('keep_dims', false), c.name)];
};
const cmp = (op: string, not = false): Conv => (c) => {
  const y = c.e.op(op, [tfIn(c, 0), tfIn(c, 1)], {}, not ? `${c.name}/eq` : c.name);
  return [{ tf: not ? c.e.op('Not', [y], {}, c.name) : y }];
};
const identity: Conv = (c) => [input(c, 0)];

const CONVERTERS: Record<string, Conv> = {
  Identity: identity, StopGradient: identity, Snapshot: identity, PreventGradient: identity,
  IdentityN: (c) => c.ins,
  Conv2D: (c) => convNode(c, false, false),
  _FusedConv2D: (c) => convNode(c, false, true),
  DepthwiseConv2dNative: (c) => convNode(c, true, false),
  FusedDepthwiseConv2dNative: (c) => convNode(c, true, true),
  Conv2DBackpropInput: (c) => {
    const os = constInts(c.e, tfIn(c, 0), 'Conv2DBackpropInput input_sizes');
    if (os.length !== 4) throw invalid('Conv2DBackpropInput input_sizes must have 4 entries');
    const y = convTranspose2d(c.e, input(c, 2), tfIn(c, 1), null, convSpec(c), [os[1]!, os[2]!], c.name);
    const f = c.e.shape(tfIn(c, 1), 'Conv2DBackpropInput filter');
    if (f[2] !== os[3]) throw invalid(`Conv2DBackpropInput filter has ${f[2]} output channels, input_sizes says ${os[3]}`);
    return [y];
  },
  ClipByValue: (c) => {
    const x = input(c, 0);
    const lo = tfIn(c, 1);
    const hi = tfIn(c, 2);
    if (c.e.rank(lo) !== 0 || c.e.rank(hi) !== 0) {
      return [binary(c.e, 'Min', binary(c.e, 'Max', x, { tf: lo }, `${c.name}/max`), { tf: hi }, c.name)];
    }
    return [x.cf !== undefined ? { cf: c.e.op('Clip', [x.cf, lo, hi], {}, c.name) } : { tf: c.e.op('Clip', [c.e.tf(x), lo, hi], {}, c.name) }];
  },
  Log1p: (c) => {
    const x = input(c, 0);
    const one = { tf: c.e.scalar(`${c.name}/one`, c.e.ltype(x).dtype, 1) };
    return [unary(c.e, binary(c.e, 'Add', x, one, `${c.name}/add`), 'Log', {}, c.name)];
  },
  Expm1: (c) => {
    const x = input(c, 0);
    const one = { tf: c.e.scalar(`${c.name}/one`, c.e.ltype(x).dtype, 1) };
    return [binary(c.e, 'Sub', unary(c.e, x, 'Exp', {}, `${c.name}/exp`), one, c.name)];
  },
  Cumsum: (c) => [{
    tf: c.e.op('CumSum', [tfIn(c, 0), toI64(c.e, tfIn(c, 1), `${c.name}/axis`)],
      { exclusive: c.a.bool('exclusive', false) ? 1 : 0, reverse: c.a.bool('reverse', false) ? 1 : 0 }, c.name),
  }],
  Size: (c) => {
    const s = c.e.op('Size', [tfIn(c, 0)], {}, `${c.name}/i64`);
    const to = c.a.type('out_type') ?? 'i32';
    return [{ tf: to === 'i64' ? s : c.e.op('Cast', [s], { to: ON(to) }, c.name) }];
  },
  Rank: (c) => [{ tf: c.e.const(c.name, Tensor.from('i32', [], [c.e.lrank(input(c, 0))])) }],
  MatMul: (c) => matmul(c, false), BatchMatMul: (c) => matmul(c, false), BatchMatMulV2: (c) => matmul(c, false),
  BatchMatMulV3: (c) => matmul(c, false), _FusedMatMul: (c) => matmul(c, true),
  BiasAdd: (c) => {
    if (c.a.str('data_format', 'NHWC') !== 'NHWC') throw unsupported('BiasAdd data_format NCHW is not supported');
    return [binary(c.e, 'Add', input(c, 0), input(c, 1), c.name)];
  },
  Add: bin('Add'), AddV2: bin('Add'), Sub: bin('Sub'), Mul: bin('Mul'), RealDiv: bin('Div'), Div: bin('Div'),
  Maximum: bin('Max'), Minimum: bin('Min'), Pow: bin('Pow'),
  DivNoNan: (c) => {
    const e = c.e;
    const [x, y] = [tfIn(c, 0), tfIn(c, 1)];
    const zero = e.scalar(`${c.name}/zero`, e.type(y).dtype, 0);
    const isZero = e.op('Equal', [y, zero], {}, `${c.name}/is_zero`);
    return [{ tf: e.op('Where', [isZero, zero, e.op('Div', [x, y], {}, `${c.name}/div`)], {}, c.name) }];
  },
  FloorDiv: (c) => {
    const e = c.e;
    const [x, y] = [tfIn(c, 0), tfIn(c, 1)];
    const dt = e.type(x).dtype;
    if (dt === 'f32' || dt === 'f16' || dt === 'f64') return [{ tf: e.op('Floor', [e.op('Div', [x, y], {}, `${c.name}/div`)], {}, c.name) }];
    // integers: (x - mod(x, y)) / y with Python-style mod is exact floor division
    const m = e.op('Mod', [x, y], { fmod: 0 }, `${c.name}/mod`);
    return [{ tf: e.op('Div', [e.op('Sub', [x, m], {}, `${c.name}/sub`), y], {}, c.name) }];
  },
  FloorMod: (c) => {
    const e = c.e;
    const dt = e.type(tfIn(c, 0)).dtype;
    return [{ tf: e.op('Mod', [tfIn(c, 0), tfIn(c, 1)], { fmod: dt === 'f32' || dt === 'f64' || dt === 'f16' ? 1 : 0 }, c.name) }];
  },
  SquaredDifference: (c) => {
    const d = binary(c.e, 'Sub', input(c, 0), input(c, 1), `${c.name}/diff`);
    return [binary(c.e, 'Mul', d, d, c.name)];
  },
  AddN: (c) => {
    let acc = input(c, 0);
    for (let i = 1; i < c.ins.length; i++) acc = binary(c.e, 'Add', acc, input(c, i), i === c.ins.length - 1 ? c.name : `${c.name}/${i}`);
    return [acc];
  },
  Relu: act('relu'), Relu6: act('relu6'), Elu: act('elu'), Selu: act('selu'), Sigmoid: act('sigmoid'), Tanh: act('tanh'),
  Softplus: act('softplus'), Softsign: act('softsign'), LeakyRelu: act('leakyrelu'),
  Prelu: (c) => [activation(c.e, input(c, 0), 'prelu', c.name, { prelu: input(c, 1) })],
  Exp: un('Exp'), Log: un('Log'), Sqrt: un('Sqrt'), Neg: un('Neg'), Abs: un('Abs'), Reciprocal: un('Reciprocal'), Inv: un('Reciprocal'),
  Floor: un('Floor'), Ceil: un('Ceil'), Round: un('Round'), Sign: un('Sign'), Sin: un('Sin'), Cos: un('Cos'), Tan: un('Tan'),
  Erf: un('Erf'), Asin: un('Asin'), Acos: un('Acos'), Atan: un('Atan'), Sinh: un('Sinh'), Cosh: un('Cosh'),
  Rsqrt: (c) => [unary(c.e, unary(c.e, input(c, 0), 'Sqrt', {}, `${c.name}/sqrt`), 'Reciprocal', {}, c.name)],
  Square: (c) => [binary(c.e, 'Mul', input(c, 0), input(c, 0), c.name)],
  LogicalNot: (c) => [{ tf: c.e.op('Not', [tfIn(c, 0)], {}, c.name) }],
  LogicalAnd: cmp('And'), LogicalOr: cmp('Or'),
  Greater: cmp('Greater'), GreaterEqual: cmp('GreaterOrEqual'), Less: cmp('Less'), LessEqual: cmp('LessOrEqual'),
  Equal: cmp('Equal'), NotEqual: cmp('Equal', true),
  Select: (c) => {
    const cond = tfIn(c, 0);
    const x = tfIn(c, 1);
    if (c.e.rank(cond) !== c.e.rank(x)) throw unsupported('Select with a lower-rank condition is not supported (use SelectV2)');
    return [{ tf: c.e.op('Where', [cond, x, tfIn(c, 2)], {}, c.name) }];
  },
  SelectV2: (c) => [{ tf: c.e.op('Where', [tfIn(c, 0), tfIn(c, 1), tfIn(c, 2)], {}, c.name) }],
  Softmax: (c) => [softmax(c.e, input(c, 0), -1, c.name)],
  LogSoftmax: (c) => [softmax(c.e, input(c, 0), -1, c.name, 'LogSoftmax')],
  MaxPool: (c) => {
    const k = c.a.ints('ksize') ?? [];
    if (k.length !== 4 || k[0] !== 1 || k[3] !== 1) throw unsupported('MaxPool ksize must be [1, kh, kw, 1]');
    return [pool2d(c.e, input(c, 0), 'max', [k[1]!, k[2]!], convSpec(c), c.name)];
  },
  AvgPool: (c) => {
    const k = c.a.ints('ksize') ?? [];
    if (k.length !== 4 || k[0] !== 1 || k[3] !== 1) throw unsupported('AvgPool ksize must be [1, kh, kw, 1]');
    return [pool2d(c.e, input(c, 0), 'avg', [k[1]!, k[2]!], convSpec(c), c.name)];
  },
  Mean: red('ReduceMean'), Sum: red('ReduceSum'), Max: red('ReduceMax'), Min: red('ReduceMin'), Prod: red('ReduceProd'),
  ArgMax: (c) => argm(c, 'ArgMax'), ArgMin: (c) => argm(c, 'ArgMin'),
  FusedBatchNorm: (c) => fbn(c), FusedBatchNormV2: (c) => fbn(c), FusedBatchNormV3: (c) => fbn(c),
  Reshape: (c) => {
    const e = c.e;
    const sh = tfIn(c, 1);
    const k = e.constOf(sh);
    const allowzero = k !== undefined && k.toNumbers().includes(0) && !k.toNumbers().includes(-1) ? 1 : 0;
    return [{ tf: e.op('Reshape', [tfIn(c, 0), toI64(e, sh, `${c.name}/shape`)], allowzero ? { allowzero } : {}, c.name) }];
  },
  Squeeze: (c) => {
    const e = c.e;
    const x = tfIn(c, 0);
    const r = e.rank(x);
    let axes = (c.a.ints('squeeze_dims') ?? c.a.ints('axis') ?? []).map((a) => (a < 0 ? a + r : a));
    if (!axes.length) {
      const s = e.type(x).shape;
      axes = s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      if (s.some((d) => typeof d !== 'number')) throw unsupported('Squeeze without axes needs a static shape');
    }
    if (!axes.length) return [{ tf: x }];
    return [{ tf: e.op('Squeeze', [x, e.i64(`${c.name}/axes`, axes)], {}, c.name) }];
  },
  ExpandDims: (c) => {
    const e = c.e;
    const x = tfIn(c, 0);
    const r = e.rank(x);
    const v = constInts(e, tfIn(c, 1), 'ExpandDims axis');
    if (v.length !== 1) throw invalid('ExpandDims axis must be a scalar');
    const a = v[0]! < 0 ? v[0]! + r + 1 : v[0]!;
    return [{ tf: e.op('Unsqueeze', [x, e.i64(`${c.name}/axes`, [a])], {}, c.name) }];
  },
  ConcatV2: (c) => {
    const xs = c.ins.slice(0, -1);
    if (!xs.length) throw invalid('ConcatV2 has no inputs');
    const r = c.e.lrank(xs[0]!);
    return [concat(c.e, xs, axisOf(c, c.ins.length - 1, r), c.name)];
  },
  Concat: (c) => {
    const xs = c.ins.slice(1);
    if (!xs.length) throw invalid('Concat has no inputs');
    return [concat(c.e, xs, axisOf(c, 0, c.e.lrank(xs[0]!)), c.name)];
  },
  Pad: (c) => padNode(c, 'constant'), PadV2: (c) => padNode(c, 'constant'),
  MirrorPad: (c) => {
    const mode = c.a.str('mode', 'REFLECT');
    if (mode !== 'REFLECT') throw unsupported(`MirrorPad mode ${mode} is not supported (REFLECT is)`);
    return padNode(c, 'reflect');
  },
  StridedSlice: stridedSlice,
  Slice: (c) => {
    const e = c.e;
    const x = tfIn(c, 0);
    if (!e.constOf(tfIn(c, 1)) || !e.constOf(tfIn(c, 2))) {
      // runtime begin/size: ends = begin + size, or the end of the axis where size is -1
      const b = toI64(e, tfIn(c, 1), `${c.name}/begin`);
      const sz = toI64(e, tfIn(c, 2), `${c.name}/size`);
      const r = e.type(b).shape[0];
      if (typeof r !== 'number') throw unsupported('Slice needs a begin of static length');
      const toEnd = e.op('Equal', [sz, e.i64(`${c.name}/minus_one`, [-1], true)], {}, `${c.name}/to_end`);
      const ends = e.op('Where', [toEnd, e.i64(`${c.name}/big`, [2 ** 62], true), e.op('Add', [b, sz], {}, `${c.name}/end`)], {}, `${c.name}/ends`);
      return [{ tf: e.op('Slice', [x, b, ends, e.i64(`${c.name}/axes`, [...Array(r).keys()])], {}, c.name) }];
    }
    const begin = constInts(e, tfIn(c, 1), 'Slice begin');
    const size = constInts(e, tfIn(c, 2), 'Slice size');
    if (begin.length !== size.length) throw invalid('Slice begin and size differ in length');
    const ends = begin.map((b, i) => (size[i] === -1 ? 2 ** 62 : b + size[i]!));
    return [{ tf: e.op('Slice', [x, e.i64(`${c.name}/starts`, begin), e.i64(`${c.name}/ends`, ends), e.i64(`${c.name}/axes`, begin.map((_, i) => i))], {}, c.name) }];
  },
  Transpose: (c) => {
    const perm = constInts(c.e, tfIn(c, 1), 'Transpose perm');
    return [{ tf: c.e.op('Transpose', [tfIn(c, 0)], { perm }, c.name) }];
  },
  Pack: (c) => {
    const e = c.e;
    const r = e.lrank(input(c, 0)) + 1;
    let axis = c.a.int('axis', 0);
    if (axis < 0) axis += r;
    const parts = c.ins.map((x, i) => e.op('Unsqueeze', [e.tf(x), e.i64(`${c.name}/axes`, [axis])], {}, `${c.name}/${i}`));
    return [{ tf: parts.length === 1 ? parts[0]! : e.op('Concat', parts, { axis }, c.name) }];
  },
  Unpack: (c) => {
    const e = c.e;
    const x = tfIn(c, 0);
    const r = e.rank(x);
    let axis = c.a.int('axis', 0);
    if (axis < 0) axis += r;
    const n = c.a.int('num', -1);
    const dim = e.type(x).shape[axis];
    const num = n >= 0 ? n : typeof dim === 'number' ? dim : -1;
    if (num < 0) throw unsupported('Unpack needs a static size along its axis');
    const outs: LVal[] = [];
    for (let i = 0; i < num; i++) outs.push({ tf: e.op('Gather', [x, e.i64(`${c.name}/index`, [i], true)], { axis }, num === 1 ? c.name : `${c.name}:${i}`) });
    return outs;
  },
  Split: (c) => {
    const e = c.e;
    const x = tfIn(c, 1);
    const r = e.rank(x);
    const axis = axisOf(c, 0, r);
    const n = c.a.int('num_split', 1);
    const dim = staticDim(e, x, axis, 'Split');
    if (dim % n !== 0) throw invalid(`Split: dim ${dim} is not divisible by num_split ${n}`);
    return e.opN('Split', [x, e.i64(`${c.name}/split`, new Array<number>(n).fill(dim / n))], n, { axis }, c.name).map((v) => ({ tf: v }));
  },
  SplitV: (c) => {
    const e = c.e;
    const x = tfIn(c, 0);
    const r = e.rank(x);
    const axis = axisOf(c, 2, r);
    const sizes = constInts(e, tfIn(c, 1), 'SplitV size_splits');
    const dim = staticDim(e, x, axis, 'SplitV');
    const known = sizes.filter((s) => s >= 0).reduce((p, q) => p + q, 0);
    const full = sizes.map((s) => (s < 0 ? dim - known : s));
    return e.opN('Split', [x, e.i64(`${c.name}/split`, full)], full.length, { axis }, c.name).map((v) => ({ tf: v }));
  },
  Cast: (c) => {
    const to = c.a.type('DstT');
    if (!to) throw invalid('Cast has no DstT');
    return [cast(c.e, input(c, 0), to, ON(to), c.name)];
  },
  ResizeBilinear: (c) => resizeNode(c, 'linear'),
  ResizeNearestNeighbor: (c) => resizeNode(c, 'nearest'),
  Shape: (c) => {
    const e = c.e;
    const s = e.op('Shape', [tfIn(c, 0)], {}, `${c.name}/i64`);
    const to = c.a.type('out_type') ?? 'i32';
    return [{ tf: to === 'i64' ? s : e.op('Cast', [s], { to: ON(to) }, c.name) }];
  },
  Gather: (c) => [{ tf: c.e.op('Gather', [tfIn(c, 0), tfIn(c, 1)], { axis: 0 }, c.name) }],
  GatherV2: (c) => {
    const e = c.e;
    if (c.a.int('batch_dims', 0) !== 0) throw unsupported('GatherV2 with batch_dims is not supported');
    const x = tfIn(c, 0);
    return [{ tf: e.op('Gather', [x, tfIn(c, 1)], { axis: axisOf(c, 2, e.rank(x)) }, c.name) }];
  },
  GatherNd: (c) => [{ tf: c.e.op('GatherND', [tfIn(c, 0), toI64(c.e, tfIn(c, 1), `${c.name}/indices`)], {}, c.name) }],
  Tile: (c) => [{ tf: c.e.op('Tile', [tfIn(c, 0), toI64(c.e, tfIn(c, 1), `${c.name}/repeats`)], {}, c.name) }],
  Fill: (c) => [{ tf: c.e.op('Expand', [tfIn(c, 1), toI64(c.e, tfIn(c, 0), `${c.name}/dims`)], {}, c.name) }],
  ZerosLike: (c) => likeNode(c, 0), OnesLike: (c) => likeNode(c, 1),
  Range: (c) => [{ tf: c.e.op('Range', [tfIn(c, 0), tfIn(c, 1), tfIn(c, 2)], {}, c.name) }],
  TopKV2: (c) => {
    const e = c.e;
    const k = toI64(e, tfIn(c, 1), `${c.name}/k`);
    const kr = e.rank(k) === 0 ? e.op('Reshape', [k, e.i64(`${c.name}/k_shape`, [1])], {}, `${c.name}/k1`) : k;
    const [v, i] = e.opN('TopK', [tfIn(c, 0), kr], 2, { axis: -1, largest: 1, sorted: c.a.bool('sorted', true) ? 1 : 0 }, c.name);
    return [{ tf: v! }, { tf: e.op('Cast', [i!], { to: ON('i32') }, `${c.name}:1`) }];
  },
  Where: (c) => {
    // TF Where(cond) -> int64 [num_true, rank] coordinates; ONNX NonZero gives [rank, num_true]
    const nz = c.e.op('NonZero', [tfIn(c, 0)], {}, `${c.name}/nonzero`);
    return [{ tf: c.e.op('Transpose', [nz], { perm: [1, 0] }, c.name) }];
  },
  DepthToSpace: (c) => spaceDepth(c, 'DepthToSpace'), SpaceToDepth: (c) => spaceDepth(c, 'SpaceToDepth'),
  // BroadcastTo(x, shape): numpy broadcasting of x to `shape` = ONNX Expand for valid shapes
  BroadcastTo: (c) => [{ tf: c.e.op('Expand', [tfIn(c, 0), toI64(c.e, tfIn(c, 1), `${c.name}/shape`)], {}, c.name) }],
  Atan2: (c) => atan2(c),
  SpaceToBatchND: (c) => spaceToBatch(c), BatchToSpaceND: (c) => batchToSpace(c),
  SparseToDense: (c) => sparseToDense(c),
  // while loops: LoopCond passes its predicate on (scope.ts reads the condition through it)
  LoopCond: identity,
  // TensorLists (see scope.ts): element i of TensorListFromTensor(x) is x[i]
  TensorListFromTensor: (c) => [{ list: { kind: 'tensor', value: tfIn(c, 0) } }],
  TensorListReserve: (c) => [{ list: { kind: 'reserve', node: c.name } }],
  TensorListGetItem: (c) => {
    const l = input(c, 0).list;
    if (l?.kind !== 'tensor' && l?.kind !== 'stacked') throw unsupported('TensorListGetItem reads a list that is not a stacked tensor (TensorListFromTensor or a loop result)');
    return [{ tf: c.e.op('Gather', [l.value!, tfIn(c, 1)], { axis: 0 }, c.name) }];
  },
  TensorListStack: (c) => {
    const l = input(c, 0).list;
    if (l?.kind !== 'tensor' && l?.kind !== 'stacked') throw unsupported('TensorListStack of a list that is not filled by a while loop at its iteration index');
    return [{ tf: c.e.op('Identity', [l.value!], {}, c.name) }];
  },
  TensorListSetItem: () => {
    throw unsupported('TensorListSetItem outside the while-loop pattern (write at the iteration index, stack after the loop)');
  },
  NonMaxSuppressionV2: (c) => nms(c, 2), NonMaxSuppressionV3: (c) => nms(c, 3), NonMaxSuppressionV4: (c) => nms(c, 4),
  NonMaxSuppressionV5: (c) => nms(c, 5),
};

/**
 * TF NonMaxSuppressionV2..V5 on one class: boxes [N, 4] (y1, x1, y2, x2, either diagonal),
 * scores [N], max_output_size, iou_threshold, score_threshold (V3+), soft_nms_sigma (V5) ->
 * selected_indices int32 [M] (V4: pad_to_max_output_size pads with 0 to max_output_size),
 * V5: selected_scores [M] too, V4/V5: valid_outputs int32 scalar (M before padding).
 * As ONNX NonMaxSuppression (one batch, one class): TF keeps candidates with score >
 * score_threshold in descending score order (ties: lower index first) and drops a candidate
 * whose IoU with a kept box is >= iou_threshold; ONNX drops it when IoU > its threshold, so
 * the threshold given to ONNX is the float32 just below TF's. IoU is computed in float32 as in
 * TensorFlow (tfjs-core computes it in float64: the two can differ when an IoU is within one
 * float32 step of the threshold). A non-positive iou_threshold drops
 * every box after the first (IoU >= 0 always), so at most one box is kept. V4/V5
 * pad_to_max_output_size pads indices (and V5 scores) with 0. Soft-NMS (soft_nms_sigma != 0, or a
 * runtime sigma) becomes edgec's TfNonMaxSuppression (tfjs-core's algorithm; reference target only).
 */
function nms(c: NodeCtx, v: number): LVal[] {
  const e = c.e;
  const boxes = tfIn(c, 0);
  const scores = tfIn(c, 1);
  const bs = e.type(boxes).shape;
  if (bs.length !== 2 || (typeof bs[1] === 'number' && bs[1] !== 4)) throw invalid(`${c.n.op} boxes must be [num_boxes, 4], got [${bs.join(',')}]`);
  if (e.rank(scores) !== 1) throw invalid(`${c.n.op} scores must be [num_boxes], got rank ${e.rank(scores)}`);
  const constF = (i: number, what: string): number => {
    const t = e.constOf(tfIn(c, i));
    if (!t) throw unsupported(`${c.n.op} ${what} must be a constant`);
    if (t.size !== 1) throw invalid(`${c.n.op} ${what} must be a scalar`);
    return t.get(0);
  };
  const pad = v >= 4 && c.a.bool('pad_to_max_output_size', false);
  if (v === 5) {
    const sk = e.constOf(tfIn(c, 5));
    if (!sk || sk.size !== 1 || sk.get(0) !== 0) {
      // soft-NMS (or a runtime sigma): TensorFlow's algorithm as one edgec op (reference only)
      const f32 = (i: number, nm: string) => e.op('Cast', [tfIn(c, i)], { to: ON('f32') }, `${c.name}/${nm}`);
      const outs = e.opN('TfNonMaxSuppression', [boxes, scores, tfIn(c, 2), f32(3, 'iou_f32'), f32(4, 'score_f32'), f32(5, 'sigma_f32')], 3,
        { pad_to_max_output_size: pad ? 1 : 0 }, c.name, 'edgec');
      return outs.map((o) => ({ tf: o }));
    }
  }
  const iou = constF(3, 'iou_threshold');
  if (!(iou >= 0 && iou <= 1)) throw invalid(`${c.n.op} iou_threshold must be in [0, 1], got ${iou}`);
  let maxOut = toI64(e, tfIn(c, 2), `${c.name}/max_output_size`);
  const maxK = e.constOf(maxOut);
  if (e.rank(maxOut) !== 0 && !(maxK && maxK.size === 1)) throw invalid(`${c.n.op} max_output_size must be a scalar`);
  if (iou <= 0) maxOut = e.op('Min', [maxOut, e.i64(`${c.name}/one`, [1], true)], {}, `${c.name}/max_one`);
  const max1 = e.op('Reshape', [maxOut, e.i64(`${c.name}/shape1`, [1])], {}, `${c.name}/max_output_boxes_per_class`);
  // the float32 just below iou (TF drops IoU >= iou, ONNX drops IoU > threshold)
  const f = new Float32Array([iou]);
  const u = new Int32Array(f.buffer);
  if (iou > 0) u[0]! -= 1;
  const thr = e.f32(`${c.name}/iou_threshold`, [iou > 0 ? f[0]! : 0], [1]);
  const scoreThr = v >= 3 ? e.op('Reshape', [e.op('Cast', [tfIn(c, 4)], { to: ON('f32') }, `${c.name}/score_f32`), e.i64(`${c.name}/shape1s`, [1])], {}, `${c.name}/score_threshold`) : null;
  const b3 = e.op('Unsqueeze', [e.op('Cast', [boxes], { to: ON('f32') }, `${c.name}/boxes_f32`), e.i64(`${c.name}/axes0`, [0])], {}, `${c.name}/boxes`);
  const s3 = e.op('Reshape', [e.op('Cast', [scores], { to: ON('f32') }, `${c.name}/scores_f32`), e.i64(`${c.name}/shape11n`, [1, 1, -1])], {}, `${c.name}/scores`);
  const sel = e.op('NonMaxSuppression', [b3, s3, max1, thr, scoreThr], { center_point_box: 0 }, `${c.name}/nms`);
  const col = e.op('Gather', [sel, e.i64(`${c.name}/col`, [2], true)], { axis: 1 }, `${c.name}/indices_i64`);
  let idx = e.op('Cast', [col], { to: ON('i32') }, v === 5 || pad ? `${c.name}/indices` : c.name);
  const count = e.op('Cast', [e.op('Size', [col], {}, `${c.name}/count_i64`)], { to: ON('i32') }, `${c.name}/valid_outputs`);
  let selScores = v === 5 ? e.op('Gather', [scores, idx], { axis: 0 }, `${c.name}/scores_selected`) : undefined;
  if (pad) {
    const padN = e.op('Sub', [maxOut, e.op('Size', [col], {}, `${c.name}/n`)], {}, `${c.name}/pad_n`);
    const pads = e.op('Concat', [e.i64(`${c.name}/zero`, [0]), e.op('Reshape', [padN, e.i64(`${c.name}/shape1p`, [1])], {}, `${c.name}/pad_n1`)], { axis: 0 }, `${c.name}/pads`);
    idx = e.op('Pad', [idx, pads], { mode: 'constant' }, c.name);
    if (selScores !== undefined) selScores = e.op('Pad', [selScores, pads], { mode: 'constant' }, `${c.name}/scores_padded`);
  }
  if (v === 5) {
    const sc = selScores!;
    selScores = e.op('Identity', [sc], {}, `${c.name}:1`);
  }
  if (v === 2 || v === 3) return [{ tf: idx }];
  if (v === 4) return [{ tf: idx }, { tf: count }];
  return [{ tf: idx }, { tf: selScores! }, { tf: count }];
}

/**
 * Atan2(y, x) = the angle of (x, y) in [-pi, pi]:
 *   x > 0: atan(y / x); x < 0: atan(y / x) + pi (y >= 0) or - pi (y < 0);
 *   x = 0: pi/2 (y > 0), -pi/2 (y < 0), 0 (y = 0).
 * (Signed zeros are not distinguished: atan2(-0, x < 0) gives +pi.)
 */
function atan2(c: NodeCtx): LVal[] {
  const e = c.e;
  const [y, x] = [tfIn(c, 0), tfIn(c, 1)];
  const dt = e.type(x).dtype;
  const k = (nm: string, v: number) => e.scalar(`${c.name}/${nm}`, dt, v);
  const zero = k('zero', 0);
  const base = e.op('Atan', [e.op('Div', [y, x], {}, `${c.name}/ratio`)], {}, `${c.name}/atan`);
  const yNeg = e.op('Less', [y, zero], {}, `${c.name}/y_neg`);
  const shift = e.op('Where', [yNeg, k('minus_pi', -Math.PI), k('pi', Math.PI)], {}, `${c.name}/shift`);
  const left = e.op('Add', [base, shift], {}, `${c.name}/left`);
  const axis = e.op('Mul', [e.op('Sign', [y], {}, `${c.name}/y_sign`), k('half_pi', Math.PI / 2)], {}, `${c.name}/on_axis`);
  const xNeg = e.op('Less', [x, zero], {}, `${c.name}/x_neg`);
  const xZero = e.op('Equal', [x, zero], {}, `${c.name}/x_zero`);
  const r = e.op('Where', [xNeg, left, base], {}, `${c.name}/half_planes`);
  return [{ tf: e.op('Where', [xZero, axis, r], {}, c.name) }];
}

/** Constant block_shape [M] and paddings/crops [M, 2] of SpaceToBatchND / BatchToSpaceND. */
function blockArgs(c: NodeCtx, what: string): { block: number[]; pairs: [number, number][] } {
  const block = constInts(c.e, tfIn(c, 1), `${c.n.op} block_shape`);
  const p = constInts(c.e, tfIn(c, 2), `${c.n.op} ${what}`);
  if (p.length !== 2 * block.length) throw invalid(`${c.n.op} ${what} must have shape [${block.length}, 2]`);
  if (block.some((b) => b < 1)) throw invalid(`${c.n.op} block_shape must be positive`);
  if (p.some((v) => v < 0)) throw invalid(`${c.n.op} ${what} must be non-negative`);
  return { block, pairs: block.map((_, i) => [p[2 * i]!, p[2 * i + 1]!]) };
}

/**
 * SpaceToBatchND(x [N, S1..SM, R...], block [M], paddings [M, 2]):
 *   pad the spatial axes, reshape to [N, S1'/b1, b1, ..., SM'/bM, bM, R...], move the block axes
 *   first ([b1..bM, N, S1'/b1, ..., R...]) and merge them into the batch: [b1*..*bM*N, S'/b..., R...].
 */
function spaceToBatch(c: NodeCtx): LVal[] {
  const e = c.e;
  const x = tfIn(c, 0);
  const { block, pairs } = blockArgs(c, 'paddings');
  const M = block.length;
  const s = e.type(x).shape;
  if (s.length < M + 1) throw invalid(`SpaceToBatchND input has rank ${s.length}, block_shape needs at least ${M + 1}`);
  const spatial = block.map((_, i) => staticDim(e, x, i + 1, 'SpaceToBatchND') + pairs[i]![0] + pairs[i]![1]);
  spatial.forEach((d, i) => { if (d % block[i]! !== 0) throw invalid(`SpaceToBatchND: padded dim ${i + 1} (${d}) is not divisible by block ${block[i]}`); });
  const rest = s.slice(M + 1).map((_, i) => staticDim(e, x, M + 1 + i, 'SpaceToBatchND'));
  const padAll: [number, number][] = [[0, 0], ...pairs, ...rest.map((): [number, number] => [0, 0])];
  const xp = pairs.some((p) => p[0] || p[1]) ? e.tf(pad(e, { tf: x }, padAll, 'constant', null, `${c.name}/pad`)) : x;
  const split = [-1, ...block.flatMap((b, i) => [spatial[i]! / b, b]), ...rest];
  const r1 = e.op('Reshape', [xp, e.i64(`${c.name}/split_shape`, split)], {}, `${c.name}/split`);
  const perm = [...block.map((_, i) => 2 + 2 * i), 0, ...block.map((_, i) => 1 + 2 * i), ...rest.map((_, i) => 2 * M + 1 + i)];
  const t = e.op('Transpose', [r1], { perm }, `${c.name}/blocks_first`);
  const out = [-1, ...block.map((b, i) => spatial[i]! / b), ...rest];
  return [{ tf: e.op('Reshape', [t, e.i64(`${c.name}/shape`, out)], {}, c.name) }];
}

/**
 * BatchToSpaceND(x [B, S1..SM, R...], block [M], crops [M, 2]), the inverse of SpaceToBatchND:
 *   reshape to [b1..bM, B/prod(b), S1..SM, R...], interleave ([B/prod(b), S1, b1, ..., SM, bM, R...]),
 *   merge to [B/prod(b), S1*b1, ..., R...] and crop each spatial axis by crops[i] (begin, end).
 */
function batchToSpace(c: NodeCtx): LVal[] {
  const e = c.e;
  const x = tfIn(c, 0);
  const { block, pairs } = blockArgs(c, 'crops');
  const M = block.length;
  const s = e.type(x).shape;
  if (s.length < M + 1) throw invalid(`BatchToSpaceND input has rank ${s.length}, block_shape needs at least ${M + 1}`);
  const spatial = block.map((_, i) => staticDim(e, x, i + 1, 'BatchToSpaceND'));
  const rest = s.slice(M + 1).map((_, i) => staticDim(e, x, M + 1 + i, 'BatchToSpaceND'));
  const prod = block.reduce((a, b) => a * b, 1);
  const B = s[0];
  if (typeof B === 'number' && B % prod !== 0) throw invalid(`BatchToSpaceND: batch ${B} is not divisible by the block size ${prod}`);
  const r1 = e.op('Reshape', [x, e.i64(`${c.name}/split_shape`, [...block, -1, ...spatial, ...rest])], {}, `${c.name}/split`);
  const perm = [M, ...block.flatMap((_, i) => [M + 1 + i, i]), ...rest.map((_, i) => 2 * M + 1 + i)];
  const t = e.op('Transpose', [r1], { perm }, `${c.name}/interleave`);
  const full = block.map((b, i) => spatial[i]! * b);
  const merged = e.op('Reshape', [t, e.i64(`${c.name}/merged_shape`, [-1, ...full, ...rest])], {}, pairs.some((p) => p[0] || p[1]) ? `${c.name}/merged` : c.name);
  if (!pairs.some((p) => p[0] || p[1])) return [{ tf: merged }];
  pairs.forEach((p, i) => { if (p[0] + p[1] > full[i]!) throw invalid(`BatchToSpaceND crops [${p.join(', ')}] exceed dim ${full[i]}`); });
  return [{
    tf: e.op('Slice', [merged, e.i64(`${c.name}/starts`, pairs.map((p) => p[0])), e.i64(`${c.name}/ends`, pairs.map((p, i) => full[i]! - p[1])),
      e.i64(`${c.name}/axes`, block.map((_, i) => i + 1))], {}, c.name),
  }];
}

/**
 * SparseToDense(indices, output_shape, values, default): a tensor of output_shape filled with
 * `default`, values[i] (or the scalar `values`) written at indices[i] (indices: a scalar or [n] for a
 * 1-D output, or [n, rank]) = ScatterND(Expand(default, shape), indices as [n, rank], values as [n]).
 * Repeated indices: the last write wins.
 */
function sparseToDense(c: NodeCtx): LVal[] {
  const e = c.e;
  const idx = toI64(e, tfIn(c, 0), `${c.name}/indices_i64`);
  const shape = toI64(e, tfIn(c, 1), `${c.name}/shape_i64`);
  const vals = tfIn(c, 2);
  const dflt = tfIn(c, 3);
  if (e.rank(dflt) !== 0) throw invalid('SparseToDense default_value must be a scalar');
  const ir = e.rank(idx);
  if (ir > 2) throw invalid(`SparseToDense indices must have rank 0, 1 or 2, got ${ir}`);
  // [n, rank] indices: a scalar index is [1, 1], a vector of n indices into a 1-D output [n, 1]
  const idx2 = ir === 2 ? idx : e.op('Reshape', [idx, e.i64(`${c.name}/idx_shape`, [-1, 1])], {}, `${c.name}/indices`);
  const n = e.op('Slice', [e.op('Shape', [idx2], {}, `${c.name}/idx_dims`), e.i64(`${c.name}/n0`, [0]), e.i64(`${c.name}/n1`, [1])], {}, `${c.name}/n`);
  const v = e.op('Expand', [vals, n], {}, `${c.name}/values`);
  const base = e.op('Expand', [dflt, shape], {}, `${c.name}/dense`);
  return [{ tf: e.op('ScatterND', [base, idx2, v], {}, c.name) }];
}

/** The size of `x` along `axis`, which must be static. */
function staticDim(e: Emitter, x: ValueId, axis: number, what: string): number {
  const d = e.type(x).shape[axis];
  if (typeof d !== 'number') throw unsupported(`${what} needs a static size along axis ${axis}, got ${String(d)}`, { hint: 'fix the input shape with --input-shape' });
  return d;
}

function argm(c: NodeCtx, op: string): LVal[] {
  const e = c.e;
  const x = tfIn(c, 0);
  const axis = axisOf(c, 1, e.rank(x));
  const y = e.op(op, [x], { axis, keepdims: 0 }, `${c.name}/i64`);
  const to = c.a.type('output_type') ?? 'i64';
  return [{ tf: to === 'i64' ? y : e.op('Cast', [y], { to: ON(to) }, c.name) }];
}

function fbn(c: NodeCtx): LVal[] {
  if (c.a.bool('is_training', false)) throw unsupported('FusedBatchNorm in training mode is not supported');
  if (c.a.str('data_format', 'NHWC') !== 'NHWC') throw unsupported('FusedBatchNorm data_format NCHW is not supported');
  const [s, o, m, v] = [1, 2, 3, 4].map((i) => tfIn(c, i)) as [number, number, number, number];
  return [batchNorm(c.e, input(c, 0), s, o, m, v, c.a.float('epsilon', 1e-3), c.name)];
}

function padNode(c: NodeCtx, mode: 'constant' | 'reflect'): LVal[] {
  const e = c.e;
  const x = input(c, 0);
  if (!e.constOf(tfIn(c, 1))) {
    // runtime paddings [rank, 2] (begin, end per axis) -> ONNX pads [begins..., ends...]
    const p64 = toI64(e, tfIn(c, 1), `${c.name}/paddings`);
    const pads = e.op('Reshape', [e.op('Transpose', [p64], { perm: [1, 0] }, `${c.name}/paddings_t`), e.i64(`${c.name}/flat`, [-1])], {}, `${c.name}/pads`);
    const ins = [e.tf(x), pads, ...(c.n.op === 'PadV2' ? [tfIn(c, 2)] : [])];
    return [{ tf: e.op('Pad', ins, { mode }, c.name) }];
  }
  const p = constInts(e, tfIn(c, 1), `${c.n.op} paddings`);
  const r = e.lrank(x);
  if (p.length !== 2 * r) throw invalid(`${c.n.op} paddings must have shape [${r}, 2]`);
  const pairs = [...Array(r).keys()].map((i) => [p[2 * i]!, p[2 * i + 1]!] as [number, number]);
  const value = c.n.op === 'PadV2' ? tfIn(c, 2) : null;
  return [pad(e, x, pairs, mode, value, c.name)];
}

function resizeNode(c: NodeCtx, mode: 'linear' | 'nearest'): LVal[] {
  const sv = tfIn(c, 1);
  const k = c.e.constOf(sv) ?? foldValue(c.e, sv);
  const st = c.e.type(sv);
  if (k ? k.size !== 2 : st.shape.length !== 1 || (typeof st.shape[0] === 'number' && st.shape[0] !== 2)) throw invalid(`${c.n.op} size must have 2 entries`);
  // a constant size gives static output shapes; otherwise the size is read at run time
  const size: [number, number] | ValueId = k ? [k.get(0), k.get(1)] : sv;
  return [resize2d(c.e, input(c, 0), size, mode, c.a.bool('align_corners', false), c.a.bool('half_pixel_centers', false), c.name)];
}

function likeNode(c: NodeCtx, v: number): LVal[] {
  const e = c.e;
  const x = tfIn(c, 0);
  const s = e.op('Shape', [x], {}, `${c.name}/shape`);
  return [{ tf: e.op('Expand', [e.scalar(`${c.name}/value`, e.type(x).dtype, v), s], {}, c.name) }];
}

function spaceDepth(c: NodeCtx, op: string): LVal[] {
  if (c.a.str('data_format', 'NHWC') !== 'NHWC') throw unsupported(`${op} data_format must be NHWC`);
  const attrs: Record<string, number | string> = { blocksize: c.a.int('block_size', 2) };
  if (op === 'DepthToSpace') attrs['mode'] = 'DCR';
  return [{ cf: c.e.op(op, [c.e.cf(input(c, 0))], attrs, c.name) }];
}


/** The declared shape of input `name` in the signature (tensorShape.dim sizes; -1 -> unknown). */
function signatureShape(j: JsonObj, name: string): Dim[] | undefined {
  let sig = own(j, 'signature');
  if (!isObj(sig)) {
    const u = own(j, 'userDefinedMetadata');
    sig = isObj(u) ? own(u, 'signature') : undefined;
  }
  const ins = isObj(sig) ? own(sig, 'inputs') : undefined;
  if (!isObj(ins)) return undefined;
  for (const k of Object.keys(ins)) {
    const e = own(ins, k);
    const nm = isObj(e) ? own(e, 'name') : undefined;
    if (parseInput(typeof nm === 'string' ? nm : k)[0] !== name || !isObj(e)) continue;
    const ts = own(e, 'tensorShape');
    if (!isObj(ts) || own(ts, 'unknownRank') === true) return undefined;
    const dims = own(ts, 'dim');
    if (dims === undefined) return [];
    if (!Array.isArray(dims)) return undefined;
    return dims.map((d) => {
      const v = num(isObj(d) ? own(d, 'size') : NaN);
      return Number.isSafeInteger(v) && v >= 0 ? v : '?';
    });
  }
  return undefined;
}

/** The signature's tensor names in order (`j.signature` or `userDefinedMetadata.signature`). */
function signatureNames(j: JsonObj, which: 'inputs' | 'outputs'): string[] | undefined {
  let sig = own(j, 'signature');
  if (!isObj(sig)) {
    const u = own(j, 'userDefinedMetadata');
    sig = isObj(u) ? own(u, 'signature') : undefined;
  }
  if (!isObj(sig)) return undefined;
  const m = own(sig, which);
  if (!isObj(m)) return undefined;
  const names = Object.keys(m).map((k) => {
    const e = own(m, k);
    const n = isObj(e) ? own(e, 'name') : undefined;
    return typeof n === 'string' ? n : k;
  });
  return names.length ? names : undefined;
}

/** Rejects unsupported ops, naming the first (non-control-flow if any) and listing all types. */
function checkSupported(nodes: TfNode[], fctx: ErrorContext): void {
  const bad = nodes.filter((n) => !['Const', 'Placeholder', 'PlaceholderWithDefault', 'NoOp'].includes(n.op) && !FRAME_OPS.has(n.op) &&
    !Object.prototype.hasOwnProperty.call(CONVERTERS, n.op));
  if (bad.length) {
    const first = bad.find((n) => !CONTROL_FLOW.has(n.op)) ?? bad[0]!;
    const types = [...new Set(bad.map((n) => n.op))];
    const cf = types.filter((t) => CONTROL_FLOW.has(t));
    throw unsupported(`unsupported TF op ${first.op}${types.length > 1 ? ` (the model uses ${types.length} unsupported op types: ${types.join(', ')})` : ''}`, {
      ...fctx, node: first.name, op: first.op, nodeIndex: first.index,
      hint: cf.length ? `the model contains TF control flow (${cf.slice(0, 4).join(', ')}${cf.length > 4 ? ', ...' : ''}), which edgec does not import`
        : 'see README "Supported ops"',
    });
  }
}

/** Converts a graph-model model.json (already parsed) plus its weights into a Graph. */
export function convertGraphModel(j: JsonObj, weights: Map<string, Tensor>, opts: TfjsImportOptions, limits: Limits) {
  const fctx: ErrorContext = opts.file ? { file: opts.file } : {};
  const topo = own(j, 'modelTopology');
  if (!isObj(topo)) throw invalid('graph model has no modelTopology object', fctx);
  const lib = own(topo, 'library');
  if (isObj(lib) && Array.isArray(own(lib, 'function')) && (own(lib, 'function') as unknown[]).length) {
    throw unsupported('graph models with function libraries (control flow v2) are not supported', fctx);
  }
  const rawNodes = own(topo, 'node');
  if (!Array.isArray(rawNodes)) throw invalid('modelTopology.node is not a list', fctx);
  if (rawNodes.length > limits.maxNodes) throw limit(`graph has ${rawNodes.length} nodes, over the limit of ${limits.maxNodes}`, fctx);
  const nodes = new Map<string, TfNode>();
  rawNodes.forEach((rn, index) => {
    if (!isObj(rn)) throw invalid(`node ${index} is not an object`, { ...fctx, nodeIndex: index });
    const name = own(rn, 'name');
    const op = own(rn, 'op');
    if (typeof name !== 'string' || !name) throw invalid('node has no name', { ...fctx, nodeIndex: index });
    if (typeof op !== 'string' || !op) throw invalid('node has no op', { ...fctx, nodeIndex: index, node: name });
    if (nodes.has(name)) throw invalid('node name is used twice', { ...fctx, nodeIndex: index, node: name });
    const inp = own(rn, 'input') ?? [];
    if (!Array.isArray(inp) || !inp.every((s) => typeof s === 'string')) throw invalid('node inputs must be a list of strings', { ...fctx, nodeIndex: index, node: name });
    const attr = own(rn, 'attr');
    nodes.set(name, { name, op, inputs: inp as string[], attr: isObj(attr) ? attr : (Object.create(null) as JsonObj), index });
  });

  // Outputs and inputs.
  const outNames = signatureNames(j, 'outputs') ?? (() => {
    const used = new Set<string>();
    for (const n of nodes.values()) for (const s of n.inputs) used.add(parseInput(s)[0]);
    return [...nodes.values()].filter((n) => !used.has(n.name) && n.op !== 'NoOp' && n.op !== 'Const').map((n) => n.name);
  })();
  if (!outNames.length) throw invalid('graph model has no outputs', fctx);

  // Nodes reachable from the outputs (data inputs only); unsupported ops are reported first,
  // before cycles (TF control flow loops) can confuse the topological sort.
  const reach: TfNode[] = [];
  const seen = new Set<string>();
  const queue = outNames.map((o) => parseInput(o)[0]);
  while (queue.length) {
    const nm = queue.pop()!;
    const n = nodes.get(nm);
    if (!n || seen.has(nm)) continue;
    seen.add(nm);
    reach.push(n);
    for (const s of n.inputs) if (!s.startsWith('^')) queue.push(parseInput(s)[0]);
  }
  reach.sort((p, q) => p.index - q.index);
  checkSupported(reach, fctx);

  const frames = new Frames(nodes, fctx);
  const e = new Emitter(opts.graphName ?? 'tfjs-graph-model', fctx);
  e.g.meta['format'] = 'tfjs-graph-model';
  for (const k of ['generatedBy', 'convertedBy']) {
    const v = own(j, k);
    if (typeof v === 'string') e.g.meta[k] = v;
  }
  const convert = (em: Emitter, n: TfNode, ins: LVal[]): LVal[] => {
    const nctx: ErrorContext = { node: n.name, op: n.op, nodeIndex: n.index };
    if (n.op === 'Const') {
      let t = weights.get(n.name);
      if (!t) {
        const tj = new Attrs(n.attr, nctx).tensor('value');
        if (!tj) throw invalid('Const node has no weight in weightsManifest and no value', nctx);
        t = tensorFromJson(tj, nctx);
      }
      return [{ tf: em.const(n.name, t) }];
    }
    if (n.op === 'NoOp') return [];
    if (n.op === 'Placeholder' || n.op === 'PlaceholderWithDefault') throw invalid('a graph input inside a while loop', nctx);
    return CONVERTERS[n.op]!({ e: em, n, a: new Attrs(n.attr, nctx), ins, name: n.name });
  };
  const root = new Scope(e, null, null, frames, convert);
  const inputOrder = signatureNames(j, 'inputs')?.map((s) => parseInput(s)[0]);
  const placeholders = reach.filter((n) => n.op === 'Placeholder' || n.op === 'PlaceholderWithDefault');
  if (inputOrder) placeholders.sort((p, q) => inputOrder.indexOf(p.name) - inputOrder.indexOf(q.name));
  for (const n of placeholders) {
    const a = new Attrs(n.attr, { ...fctx, node: n.name, op: n.op });
    const dt = a.type('dtype') ?? 'f32';
    const key = [n.name, `${n.name}:0`].find((k) => opts.inputShapes && Object.prototype.hasOwnProperty.call(opts.inputShapes, k));
    const fixed = key !== undefined ? opts.inputShapes![key] : undefined;
    // unknown dims of the placeholder's shape take the signature's size where it has one
    const sig = signatureShape(j, n.name);
    const attrShape = a.shape('shape');
    const declared = attrShape ?? sig;
    const withSig = attrShape && sig && sig.length === attrShape.length ? attrShape.map((d, i) => (typeof d === 'number' ? d : sig[i]!)) : declared;
    if (!declared && !fixed) {
      throw unsupported(`input "${n.name}" has an unknown rank`, { ...fctx, node: n.name, op: n.op, hint: 'give its shape with --input-shape' });
    }
    let shape: Dim[] = declared ?? fixed!.map(() => '?');
    if (shape.length > limits.maxRank) throw limit(`input rank ${shape.length} exceeds the limit`, { ...fctx, node: n.name });
    if (fixed) {
      if (fixed.length !== shape.length) throw invalid(`--input-shape for "${n.name}" has rank ${fixed.length}, the model's input has rank ${shape.length}`);
      shape.forEach((d, i) => {
        if (typeof d === 'number' && d !== fixed[i]) throw invalid(`--input-shape for "${n.name}" sets dim ${i} to ${fixed[i]}, the model fixes it to ${d}`);
      });
      shape = [...fixed];
    } else {
      let k = 0;
      shape = (withSig ?? shape).map((d) => (typeof d === 'number' ? d : opts.symbolicToOne === false ? `${n.name}_d${k++}` : 1));
    }
    root.bind(n.name, [{ tf: e.b.input(n.name, dt, shape) }]);
  }
  const vals = { get: (nm: string): LVal[] | undefined => (nodes.has(nm) ? root.get(nm) : undefined) };
  for (const o of outNames) {
    const [pn] = parseInput(o);
    if (!nodes.has(pn)) throw invalid(`output "${o}" is not produced by any node`, fctx);
  }

  for (const o of outNames) {
    const [pn, k] = parseInput(o);
    const v = vals.get(pn)?.[k];
    if (!v) throw invalid(`output "${o}" has no value`, fctx);
    let id = e.tf(v);
    const pub = k === 0 ? pn : `${pn}:${k}`;
    if (e.g.inputs.includes(id) || e.g.outputs.includes(id) || e.g.consts.has(id)) id = e.op('Identity', [id], {}, pub);
    e.g.value(id).name = pub;
    e.b.output(id);
  }
  return e;
}
