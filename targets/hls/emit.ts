/**
 * The FPGA-HLS target: optimized graph -> a Vitis HLS project (hls4ml pattern, ../../shared/STYLE.md
 * section 6). Only the glue is generated: one config struct per layer (static consts + typedefs,
 * firmware/parameters.h), the top function (firmware/<top>.cpp, DATAFLOW + INTERFACE pragmas),
 * weight headers (firmware/weights/*.h) and a C testbench with test vectors (tb/, tb_data/). The
 * kernels are the hand-written templates of ./lib/*.h, copied to firmware/nnet_utils/.
 *
 * Names are data: every generated identifier is positional (in0, layer3, w3, out0); node and op
 * names appear only inside escaped `// node: ...` comments. Output is deterministic.
 *
 * Precision: fp32 (float kernels); fp16 (the float16 graph of quantize/fp16.ts: weights and
 * activations stored as Vitis `half`, float accumulation, one rounding to half per layer output as
 * the reference rounds each op's output); int4 (quantize/int4.ts: block-wise int4 weights kept as
 * 4-bit ROMs (nnet::int4_t = ap_int<4>) plus per-block scales, dequantized in the float datapath:
 * once per filter for conv, per weight read for dense); or the quantized integer graph of quantize/ (edgec.QConv, QGemm, QAdd, QMul,
 * QReduceMean, QAvgPool, Requantize, Quantize/DequantizeLinear at the float boundary); the integer
 * kernels follow compiler/ops/qint.ts bit for bit.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, Node, ValueId } from '../../compiler/ir/graph.js';
import { Tensor, numel, stridesOf } from '../../compiler/ir/tensor.js';
import { EdgecError, internal, invalid, unsupported, usage } from '../../compiler/errors.js';
import { normAxis, opOf, opsetOf, parseAttrs } from '../../compiler/ops/registry.js';
import { ConvAttrs, FusedAttrs, WindowAttrs, geom3, windowParams, Geom3 } from '../../compiler/ops/conv.js';
import type { OutStage, QAddAttrs, QAvgPoolAttrs, QConvAttrs, QGemmAttrs, QLutAttrs, QMulAttrs, QReduceMeanAttrs, QSoftmaxAttrs, RequantizeAttrs, TflQuantizeAttrs } from '../../compiler/ops/qint.js';
import { actParams } from '../../compiler/ops/act.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { roundF16 } from '../../compiler/ir/dtype.js';
import { TFL_SIGMOID_TABLE, TflLstmAttrs } from '../../compiler/ops/rnn.js';
import { Pass } from '../../compiler/passes/pass.js';
import { Artifact, ArtifactManifest, IoSpec, Target, TargetOptions } from '../target.js';
import { edgecVersion, graphStats } from '../wasm/emit.js';
import { LayoutCtx, PadSpec, ParamCtx, batchNormAffine, convGeom, expandToInner, layerNormLayout, matmulDims, padSpec, reduceAxes, sliceView, softmaxLayout, transposeView, unarySpec } from '../common/params.js';
import { defineTarget } from '../common/target.js';
import { HlsEstimate, LayerCost, PARTS, Part, estimateProject, resolvePart } from './estimate.js';

export interface HlsOptions extends TargetOptions {
  /** 'fp32', 'fp16' (the float16 graph of quantize/fp16.ts), 'int8' (the quantized integer graph)
   * or 'int4' (the block-wise int4 weight graph of quantize/int4.ts); default: from the graph. */
  precision?: string;
  /** Reuse factor of every MAC layer, or 'auto' (default): the smallest divisor-friendly factor
   * that keeps each layer at or below `maxMultipliers` parallel multipliers. */
  reuseFactor?: number | 'auto';
  /** Per-layer reuse factors by layer index (overrides `reuseFactor`). */
  layerReuse?: Record<number, number>;
  /** Bound on parallel multipliers per layer for the 'auto' reuse factor (default 64). */
  maxMultipliers?: number;
  /**
   * With the 'auto' reuse factor: 'error' (default) raises per-layer reuse until the estimate fits
   * the part and fails with how much it misses when it cannot; 'warn' does the same but emits the
   * project with the estimate's warnings; 'off' keeps the per-layer bound only.
   */
  fit?: 'error' | 'warn' | 'off';
  /** FPGA part for the estimate and build_prj.tcl (default xc7z020). */
  part?: string;
  /** Clock period in ns (default 10). */
  clockNs?: number;
  /** Top-level interface: 'm_axi' (default) or 'axis', both with s_axilite control. */
  io?: 'm_axi' | 'axis';
  /** Top function / project name (a C identifier; default 'myproject'). */
  topName?: string;
  /** Testbench vectors: given inputs (outputs computed by the reference interpreter when absent),
   * or false for none; default: seeded uniform inputs in [-1, 1). */
  testVectors?: { inputs: Tensor[]; outputs?: Tensor[] } | false;
  /** c target: int8 QConv/QGemm with 8-bit operands call the microcontroller kernels of
   * targets/c/lib/nnet_mcu.h (im2col scratch in the arena, permuted conv weight rows). */
  mcuKernels?: boolean;
}

/** Location of the kernel library (targets/hls/lib), also from the compiled dist tree. */
export function hlsLibraryPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, 'lib'), path.resolve(here, '../../../targets/hls/lib')]) {
    if (fs.existsSync(path.join(p, 'nnet_common.h'))) return p;
  }
  throw internal(`HLS kernel library not found next to ${here}`);
}

/** The kernel library's headers. */
export const LIB_FILES = ['nnet_common.h', 'nnet_conv.h', 'nnet_dense.h', 'nnet_pooling.h', 'nnet_merge.h', 'nnet_activation.h', 'nnet_recurrent.h'];

const sha256 = (d: Uint8Array | string): string => createHash('sha256').update(d).digest('hex');

/** A name or op as a safe C++ comment body: printable ASCII only, no comment delimiters, no
 * trigraphs, no trailing backslash (JSON-quoted, then \uXXXX for everything outside [ -~]). */
export function commentText(s: string): string {
  let q = JSON.stringify(s);
  q = q.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return q.replace(/\?/g, '\\u003f').replace(/\*\//g, '*\\u002f').replace(/\/\*/g, '\\u002f*').replace(/\/\//g, '/\\u002f');
}

/** Exact C++ float literal of a float32 value. */
export function floatLit(v: number): string {
  if (Number.isNaN(v)) return 'std::numeric_limits<float>::quiet_NaN()';
  if (v === Infinity) return 'std::numeric_limits<float>::infinity()';
  if (v === -Infinity) return '-std::numeric_limits<float>::infinity()';
  if (Object.is(v, -0)) return '-0.0f';
  const f = Math.fround(v);
  let s = String(f);
  if (!/[.e]/.test(s)) s += '.0';
  return `${s}f`;
}

const CTYPE: Record<string, string> = { f32: 'float', f16: 'half', i8: 'int8_t', u8: 'uint8_t', i32: 'int32_t', i16: 'int16_t', u16: 'uint16_t' };
const APTYPE: Record<string, string> = { i8: 'ap_int<8>', u8: 'ap_uint<8>', i32: 'ap_int<32>', i16: 'ap_int<16>', u16: 'ap_uint<16>' };

/** One generated layer. */
export interface Layer {
  index: number;
  node: Node;
  /** Comment line(s) (already escaped). */
  comment: string;
  /** Statements in the top function. */
  calls: string[];
  /** Config structs (parameters.h). */
  configs: string[];
  cost: LayerCost;
  /** Buffers the layer's calls read or write (inputs, outputs, scratch): the live ranges of the
   * C target's arena plan. */
  bufs: Buf[];
  /** Buffers the layer writes (allocated by `Emitter.out`). */
  outs: Buf[];
}

/** A runtime buffer: a top-function argument or a static local array. */
export interface Buf {
  name: string;
  ctype: string;
  size: number;
  dtype: string;
}

/** Weight array emitted into firmware/weights/<name>.h. */
export interface Weight {
  name: string;
  ctype: string;
  body: string;
  count: number;
  bits: number;
}

export const BITS: Record<string, number> = { f32: 32, f16: 16, i4: 4, i8: 8, u8: 8, i32: 32, i16: 16, u16: 16 };

/** True for the float dtypes the target computes with (f32, f16 storage). */
const isFloatDt = (d: string): boolean => d === 'f32' || d === 'f16';

/** Exact C++ initializer of one constant element of `dtype`. */
function literal(dtype: string, v: number): string {
  if (dtype === 'f32') return floatLit(v);
  if (dtype === 'f16') return `half(${floatLit(v)})`;
  return String(v);
}

/** A block-wise int4 weight (quantize/int4.ts): DequantizeLinear(q i4, scale, axis, block_size). */
interface BlockedWeight {
  q: Tensor;
  scale: Tensor;
  axis: number;
  block: number;
}

/** The per-layer code generator shared by the hls and c targets (configs, calls, weights). */
export class Emitter {
  readonly layers: Layer[] = [];
  readonly weights: Weight[] = [];
  readonly bufs = new Map<ValueId, Buf>();
  readonly consts = new Map<ValueId, Tensor>();
  readonly typedefs: string[] = [];
  readonly locals: Buf[] = [];
  readonly constNames = new Map<ValueId, string>();
  node!: Node;
  index = 0;
  readonly kernels = new Set<string>();
  /** int4: weights kept block-quantized (the DequantizeLinear result they replace). */
  readonly blocked = new Map<ValueId, BlockedWeight>();
  /** fp16/int4: activation node fused into the Conv/Gemm/MatMul (by producer node id). */
  readonly fusedAct = new Map<number, Node>();
  readonly absorbed = new Set<number>();
  /** Buffers read or written by the layer being generated (see Layer.bufs). */
  private used = new Set<Buf>();
  private localMark = 0;
  private outMark: Buf[] = [];

  constructor(readonly g: Graph, readonly opts: Required<Pick<HlsOptions, 'maxMultipliers'>> & HlsOptions) {
    for (const [id, t] of g.consts) this.consts.set(id, t);
  }

  err(m: string): EdgecError {
    return unsupported(m);
  }

  shape(id: ValueId): number[] {
    const t = this.consts.get(id);
    if (t) return [...t.shape];
    const s = this.g.typeOf(id).shape;
    if (s.some((d) => typeof d !== 'number')) throw unsupported(`value has a symbolic shape [${s.join(',')}]; the HLS target needs concrete shapes (set the input shapes)`);
    return s as number[];
  }

  dtype(id: ValueId): string {
    const t = this.consts.get(id);
    return t ? t.dtype : this.g.typeOf(id).dtype;
  }

  ctypeOf(dtype: string): string {
    const c = CTYPE[dtype];
    if (!c) throw unsupported(`dtype ${dtype} is not supported by the HLS target`);
    return c;
  }

  /** Name of the array holding a value: a weight array for constants, else the runtime buffer. */
  ref(id: ValueId): string {
    const c = this.consts.get(id);
    if (c) return this.constArray(id, c);
    const b = this.bufs.get(id);
    if (!b) throw internal(`value ${id} has no buffer`);
    this.used.add(b);
    return b.name;
  }

  /** C type of a value's array elements. */
  tref(id: ValueId): string {
    const c = this.consts.get(id);
    if (c) return this.ctypeOf(c.dtype);
    return this.bufs.get(id)!.ctype;
  }

  constArray(id: ValueId, t: Tensor): string {
    const got = this.constNames.get(id);
    if (got) return got;
    const name = `c${this.constNames.size}`;
    this.constNames.set(id, name);
    const ct = this.ctypeOf(t.dtype);
    this.addWeight(name, ct, t.toNumbers().map((v) => literal(t.dtype, v)), BITS[t.dtype]!);
    return name;
  }

  addWeight(name: string, ctype: string, vals: string[], bits: number): string {
    const lines: string[] = [];
    for (let i = 0; i < vals.length; i += 16) lines.push(`  ${vals.slice(i, i + 16).join(', ')}`);
    if (vals.length === 0) lines.push('  0');
    this.weights.push({ name, ctype, body: lines.join(',\n'), count: Math.max(1, vals.length), bits: bits * vals.length });
    return name;
  }

  /** Allocates the output buffer of the current layer. */
  out(id: ValueId, k = 0): Buf {
    const dtype = this.g.typeOf(id).dtype;
    const ctype = this.ctypeOf(dtype);
    const tname = `layer${this.index}_t${k ? `_${k}` : ''}`;
    const ap = APTYPE[dtype];
    this.typedefs.push(ap
      ? `#ifdef EDGEC_AP_TYPES\ntypedef ${ap} ${tname};\n#else\ntypedef ${ctype} ${tname};\n#endif`
      : `typedef ${ctype} ${tname};`);
    const b: Buf = { name: `layer${this.index}_out${k ? `_${k}` : ''}`, ctype: tname, size: Math.max(1, numel(this.shape(id))), dtype };
    this.bufs.set(id, b);
    this.locals.push(b);
    this.outMark.push(b);
    return b;
  }

  attrs<A>(n: Node): A {
    const def = opOf(n, this.g);
    return parseAttrs(def, n, opsetOf(n, this.g)) as A;
  }

  /** Reuse factor of layer `index` with `mults` multiplications per pipelined iteration. */
  reuse(mults: number): number {
    const o = this.opts.layerReuse?.[this.index];
    const r0 = o ?? this.opts.reuseFactor ?? 'auto';
    if (typeof r0 === 'number') {
      if (!Number.isInteger(r0) || r0 < 1) throw usage(`reuse factor ${r0} must be a positive integer`);
      return Math.min(r0, Math.max(1, mults));
    }
    let r = Math.max(1, Math.ceil(mults / this.opts.maxMultipliers));
    while (r < mults && mults % r !== 0) r++;
    return Math.min(r, Math.max(1, mults));
  }

  push(configs: string[], calls: string[], cost: Omit<LayerCost, 'index' | 'node' | 'op'>): void {
    const n = this.node;
    const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op}` : n.op;
    const act = this.fusedAct.get(n.id);
    const fused = act ? ` + node: ${commentText(act.name)} (${commentText(act.op)})` : '';
    this.layers.push({
      index: this.index, node: n, comment: `// layer${this.index} -- node: ${commentText(n.name)} (${commentText(op)})${fused}`,
      calls, configs, cost: { index: this.index, node: n.name, op, ...cost },
      bufs: [...new Set([...this.used, ...this.locals.slice(this.localMark)])], outs: this.outMark,
    });
    this.used = new Set();
    this.localMark = this.locals.length;
    this.outMark = [];
    this.index++;
  }
}

// ---------------------------------------------------------------------------------------------
// Lowerings
// ---------------------------------------------------------------------------------------------

const ACT_ID: Record<string, number> = {
  Relu: 1, Clip: 2, Sigmoid: 3, HardSigmoid: 4, HardSwish: 5, LeakyRelu: 6, Tanh: 7, Exp: 8, Log: 9, Abs: 10, Neg: 11,
  Sqrt: 12, Erf: 13, Reciprocal: 14, Softplus: 15, Elu: 16, Floor: 17, Ceil: 18,
};

/** [id, p0, p1] of a fused activation. */
function fusedAct(n: Node, a: Partial<FusedAttrs>): [number, number, number] {
  if (!a.activation) return [0, 0, 0];
  const id = ACT_ID[a.activation];
  if (id === undefined) throw unsupported(`fused activation ${a.activation} is not supported by the HLS target`);
  void n;
  return [id, ...actParams(a.activation, a.activationParams ?? [])];
}

const cfgHead = (e: Emitter, base: string, kind: string) => `// layer${e.index} ${kind}\nstruct config${e.index} : nnet::${base} {`;
const u = (name: string, v: number) => `  static const unsigned ${name} = ${v};`;
const i = (name: string, v: number) => `  static const int ${name} = ${v};`;
const i64 = (name: string, v: number) => `  static const int64_t ${name} = ${v}LL;`;
const b = (name: string, v: boolean) => `  static const bool ${name} = ${v};`;
const f = (name: string, v: number) => `  static constexpr float ${name} = ${floatLit(v)};`;

function geomLines(gm: Geom3, withEnd: boolean): string[] {
  const [d, h, w] = ['d', 'h', 'w'];
  const L = [
    u(`in_${d}`, gm.I[0]), u(`in_${h}`, gm.I[1]), u(`in_${w}`, gm.I[2]),
    u(`out_${d}`, gm.O[0]), u(`out_${h}`, gm.O[1]), u(`out_${w}`, gm.O[2]),
    u('k_d', gm.K[0]), u('k_h', gm.K[1]), u('k_w', gm.K[2]),
    u('s_d', gm.S[0]), u('s_h', gm.S[1]), u('s_w', gm.S[2]),
    u('dl_d', gm.D[0]), u('dl_h', gm.D[1]), u('dl_w', gm.D[2]),
    i('p_d', gm.P[0]), i('p_h', gm.P[1]), i('p_w', gm.P[2]),
  ];
  if (withEnd) L.push(i('e_d', gm.E[0]), i('e_h', gm.E[1]), i('e_w', gm.E[2]));
  return L;
}

/** Int8 output-stage config lines and the per-channel qchan array. */
function outStageLines(s: OutStage): string[] {
  const [dlo, dhi] = s.yDtype === 'u8' ? [0, 255] : s.yDtype === 'i8' ? [-128, 127] : [-2147483648, 2147483647];
  return [
    b('out_raw', s.yDtype === 'i32'), b('rq_float', s.mode === 'float'), b('rq_tflite', s.mode === 'tflite'), i64('y_zero_point', s.yZeroPoint),
    i64('clamp_lo', Math.max(dlo, s.lo)), i64('clamp_hi', Math.min(dhi, s.hi)),
  ];
}

/**
 * Config lines of the c target's mcu kernels (targets/c/lib/nnet_mcu.h): `w_zero` (every filter's
 * weight zero point is 0: the blocked kernels drop the subtraction) and `rq_hi` (every channel's
 * fixed-point rescale has M >= 0 and n in [33, 62], the 32-bit path of `rq_fixed_hi`).
 */
function mcuQLines(M: number, zw: number[], s: OutStage): string[] {
  const k = (arr: number[], m: number) => (arr.length > 1 ? arr[m]! : arr[0] ?? 0);
  let wZero = true;
  let hi = s.mode === 'fixed' && s.yDtype !== 'i32';
  for (let m = 0; m < M; m++) {
    if (k(zw, m) !== 0) wZero = false;
    const [mm, n] = [k(s.multiplier, m), k(s.shift, m)];
    if (!(mm >= 0 && n >= 33 && n <= 62)) hi = false;
  }
  return [b('w_zero', wZero), b('rq_hi', hi)];
}

function qchanArray(e: Emitter, name: string, M: number, zw: number[], s: OutStage): string {
  const vals: string[] = [];
  for (let m = 0; m < M; m++) {
    const k = (arr: number[]) => (arr.length > 1 ? arr[m]! : arr[0] ?? 0);
    const sc = s.mode === 'float' ? k(s.scale) : 0;
    const fx = s.mode !== 'float' && s.yDtype !== 'i32';
    vals.push(`{${k(zw)}, ${fx ? k(s.multiplier) : 0}, ${fx ? k(s.shift) : 0}, ${floatLit(sc)}}`);
  }
  const lines: string[] = [];
  for (let j = 0; j < vals.length; j += 4) lines.push(`  ${vals.slice(j, j + 4).join(', ')}`);
  e.weights.push({ name, ctype: 'nnet::qchan', body: lines.join(',\n'), count: M, bits: M * 128 });
  return name;
}

function needConst(e: Emitter, id: ValueId | null | undefined, what: string): Tensor {
  const t = id === null || id === undefined ? undefined : e.consts.get(id);
  if (!t) throw unsupported(`${what} must be a constant for the HLS target`);
  return t;
}

/** The parameter context of node `n` for the shared helpers (targets/common/params.ts). */
function paramCtx(e: Emitter, n: Node): ParamCtx {
  return {
    opset: opsetOf(n, e.g),
    constNums: (id, what) => (id === null || id === undefined ? undefined : needConst(e, id, what).toNumbers()),
  };
}

/** The layout context of node `n` (concrete shapes, the target's unsupported error). */
function layoutCtx(e: Emitter, n: Node): LayoutCtx & { g: Graph } {
  return { ...paramCtx(e, n), shape: (id) => e.shape(id), unsupported: (m) => unsupported(`${m} (HLS target)`), g: e.g };
}

/**
 * Activation of a Conv/Gemm/MatMul layer: its fused activation attribute, or (fp16/int4 graphs,
 * where quantize/ splits fused ops) the activation node fused into it by `planFusion`.
 */
function layerAct(e: Emitter, n: Node, a: Partial<FusedAttrs>): [number, number, number] {
  const act = e.fusedAct.get(n.id);
  if (!act) return fusedAct(n, a);
  const sp = unarySpec(paramCtx(e, act), act);
  return [ACT_ID[sp.op]!, sp.alpha, sp.beta];
}

/** The value a Conv/Gemm/MatMul layer writes: its output, or that of its fused activation node. */
const layerOut = (e: Emitter, n: Node): ValueId => (e.fusedAct.get(n.id) ?? n).outputs[0]!;

/** Float bias storage: half for a float16 bias, else float. */
const biasType = (t: Tensor | null): 'half' | 'float' => (t?.dtype === 'f16' ? 'half' : 'float');

const is8bit = (d: string): boolean => d === 'i8' || d === 'u8';

/**
 * Conv weights for the c target's mcu_qconv (targets/c/lib/nnet_mcu.h `mcu_w_pos`): in every row
 * of `k` values, each full group of 4 stored as (w0, w2, w1, w3), so SXTB16 of a word yields the
 * halfword pairs (w0, w1) and (w2, w3); the tail (k mod 4) stays in order.
 */
export function mcuConvRows(vals: readonly number[], k: number): number[] {
  const out = vals.slice();
  const full = k - (k % 4);
  for (let r = 0; r + k <= vals.length; r += k) {
    for (let j = 0; j < full; j += 4) {
      out[r + j + 1] = vals[r + j + 2]!;
      out[r + j + 2] = vals[r + j + 1]!;
    }
  }
  return out;
}

/** int4 config lines: 4-bit weights, float scales, block geometry. */
function int4Lines(e: Emitter, bw: BlockedWeight, nBlocks: number): string[] {
  return ['  typedef nnet::int4_t weight_t;', `  typedef ${e.ctypeOf(bw.scale.dtype)} scale_t;`, u('block_size', bw.block), u('n_blocks', nBlocks)];
}

function lowerConv(e: Emitter, n: Node): void {
  const q = n.op === 'QConv';
  const a = e.attrs<ConvAttrs & Partial<FusedAttrs> & Partial<QConvAttrs>>(n);
  const x = n.inputs[0]!;
  const bw = e.blocked.get(n.inputs[1]!);
  const wT = bw ? bw.q : needConst(e, n.inputs[1], 'the convolution weight');
  const bT = n.inputs[2] ? needConst(e, n.inputs[2], 'the convolution bias') : null;
  const xs = e.shape(x);
  const nd = xs.length - 2;
  if (nd < 1 || nd > 3) throw unsupported(`Conv with ${nd} spatial dims is not supported by the HLS target`);
  const { geo: gm, group: G } = convGeom(paramCtx(e, n), n, xs, wT.shape);
  const [N, C] = [xs[0]!, xs[1]!];
  const M = wT.shape[0]!;
  const y = e.out(layerOut(e, n));
  const idx = e.index;
  const wname = `w${idx}`;
  const wct = bw ? 'nnet::int4_t' : e.ctypeOf(wT.dtype);
  const mcu = q && !!e.opts.mcuKernels && is8bit(e.dtype(x)) && is8bit(wT.dtype);
  // mcu_qconv: depthwise (one input and one output channel per group) runs per plane, every other
  // convolution through im2col + the blocked kernel, which reads each filter row (K = C/G * kernel
  // volume) with its full groups of 4 permuted
  const mcuDw = mcu && wT.shape[1] === 1 && wT.shape[0] === e.shape(x)[1];
  const wvals = mcu && !mcuDw ? mcuConvRows(wT.toNumbers(), wT.size / wT.shape[0]!) : wT.toNumbers();
  // (and reads one row past the last filter of a group with an odd filter count: a zero row)
  if (mcu && !mcuDw && (wT.shape[0]! / (e.shape(x)[1]! / wT.shape[1]!)) % 2 === 1) wvals.push(...new Array<number>(wT.size / wT.shape[0]!).fill(0));
  e.addWeight(wname, wct, wvals.map((v) => literal(wT.dtype, v)), BITS[wT.dtype]!);
  // int4: scales [M][ceil(C/G / block)][k...] as ONNX lays them out (blocks along axis 1)
  if (bw) e.addWeight(`s${idx}`, e.ctypeOf(bw.scale.dtype), bw.scale.toNumbers().map((v) => literal(bw.scale.dtype, v)), BITS[bw.scale.dtype]!);
  const bct = q ? 'int32_t' : biasType(bT);
  const bname = `b${idx}`;
  const bvals = bT ? bT.toNumbers() : new Array<number>(M).fill(0);
  // mcu_qconv's im2col holds x itself (zx in the padding): the input zero point term
  // -zx * sum_k (w[m][k] - zw[m]) of every filter is folded into its bias (modulo 2^32, as the sums)
  const foldZx = mcu && !mcuDw;
  if (foldZx) {
    const wn = wT.toNumbers();
    const K = wT.size / M;
    for (let m = 0; m < M; m++) {
      const zw = a.wZeroPoint!.length > 1 ? a.wZeroPoint![m]! : a.wZeroPoint![0] ?? 0;
      let sw = 0;
      for (let k = 0; k < K; k++) sw += wn[m * K + k]! - zw;
      bvals[m] = (bvals[m]! - a.xZeroPoint! * sw) | 0;
    }
  }
  e.addWeight(bname, bct, bct === 'int32_t' ? bvals.map(String) : bvals.map((v) => literal(bct === 'half' ? 'f16' : 'f32', v)), bct === 'half' ? 16 : 32);
  const kvol = gm.K[0] * gm.K[1] * gm.K[2];
  const macsPerIter = (C / G) * kvol;
  const rf = e.reuse(macsPerIter);
  const mult = Math.ceil(macsPerIter / rf);
  const depthwise = G === C && G === M && G > 1;
  const kname = mcu ? 'mcu_qconv' : q ? (nd === 1 ? 'qconv1d' : 'qconv2d') : bw ? 'conv_nd_int4' : depthwise ? 'depthwise_conv2d' : nd === 1 ? 'conv1d' : 'conv2d';
  e.kernels.add('nnet_conv.h');
  const L = [cfgHead(e, 'conv_config', `${kname} ${nd}-D, group ${G}`),
    u('n_batch', N), u('n_chan', C), u('n_filt', M), u('n_group', G), ...geomLines(gm, false),
    b('has_bias', !!bT || foldZx), u('reuse_factor', rf), u('n_partitions', Math.max(1, mult)),
    ...(bw ? int4Lines(e, bw, Math.ceil(C / G / bw.block)) : [`  typedef ${wct} weight_t;`]), `  typedef ${bct} bias_t;`];
  // mcu_qconv: the im2col scratch (two int16 columns, even stride) unless one channel per group
  // depthwise 2-D: a padded int16 plane (pad_h x pad_w: every window of the output inside it)
  const dw2d = mcuDw && gm.I[0] === 1 && gm.K[0] === 1 && gm.O[0] === 1 && gm.P[0] === 0;
  const padH = dw2d ? Math.max(gm.P[1] + gm.I[1], (gm.O[1] - 1) * gm.S[1] + (gm.K[1] - 1) * gm.D[1] + 1) : 0;
  const padW = dw2d ? Math.max(gm.P[2] + gm.I[2], (gm.O[2] - 1) * gm.S[2] + (gm.K[2] - 1) * gm.D[2] + 1) : 0;
  const colStride = mcu && !mcuDw ? 2 * Math.ceil(macsPerIter / 2) : 0;
  const scratchSize = dw2d ? padH * padW : 2 * colStride;
  if (mcu) L.push(u('col_stride', colStride), u('pad_h', padH), u('pad_w', padW));
  if (q) {
    L.push(`  typedef int64_t accum_t;`, i64('x_zero_point', a.xZeroPoint!), ...outStageLines(a.out!), ...(mcu ? mcuQLines(M, a.wZeroPoint!, a.out!) : []));
  } else {
    const [act, p0, p1] = layerAct(e, n, a);
    L.push(`  typedef float accum_t;`, i('activation', act), f('act_p0', p0), f('act_p1', p1));
  }
  L.push('};');
  const args = q
    ? `${e.ref(x)}, ${y.name}, ${wname}, ${bname}, ${qchanArray(e, `q${idx}`, M, a.wZeroPoint!, a.out!)}`
    : bw ? `${e.ref(x)}, ${y.name}, ${wname}, s${idx}, ${bname}` : `${e.ref(x)}, ${y.name}, ${wname}, ${bname}`;
  let scratch = '';
  if (mcu) {
    const col: Buf = { name: `layer${idx}_col`, ctype: 'int16_t', size: scratchSize, dtype: 'i16' };
    if (scratchSize > 0) e.locals.push(col);
    scratch = scratchSize > 0 ? `, ${col.name}` : ', static_cast<int16_t *>(0)';
  }
  const calls = [`nnet::${kname}<${e.tref(x)}, ${y.ctype}, config${idx}>(${args}${scratch});`];
  const plane = gm.O[0] * gm.O[1] * gm.O[2];
  e.push([L.join('\n')], calls, {
    kernel: `nnet::${kname}`, macs: N * M * plane * macsPerIter, multipliers: mult, reuse: rf, perIter: macsPerIter, iterations: N * M * plane,
    weightBits: wT.size * BITS[wT.dtype]! + (bw ? bw.scale.size * BITS[bw.scale.dtype]! : 0) + (bT ? bT.size * (bct === 'half' ? 16 : 32) : 0),
    outBits: y.size * BITS[y.dtype]!, int8: q, requant: q,
    ...(bw ? { int4: 'filter' as const, dequantBits: macsPerIter * 32, dequantCycles: N * M * macsPerIter } : {}),
  });
}

function lowerDense(e: Emitter, n: Node): void {
  const q = n.op === 'QGemm';
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  const bw = e.blocked.get(n.inputs[1]!);
  const wT = bw ? bw.q : needConst(e, n.inputs[1], 'the dense weight');
  if (wT.shape.length !== 2) throw unsupported(`${n.op} with a weight of rank ${wT.shape.length} is not supported by the HLS target (rank 2 only)`);
  let transB = false;
  let alpha = 1;
  let beta = 1;
  let act: [number, number, number] = [0, 0, 0];
  let qa: QGemmAttrs | undefined;
  if (q) {
    qa = e.attrs<QGemmAttrs>(n);
    transB = !!qa.transB;
  } else if (n.op === 'MatMul' || n.op === 'FusedMatMul') {
    const a = e.attrs<Partial<FusedAttrs>>(n);
    act = layerAct(e, n, a);
  } else {
    const a = e.attrs<{ alpha: number; beta: number; transA: boolean; transB: boolean } & Partial<FusedAttrs>>(n);
    if (a.transA) throw unsupported('Gemm with transA = 1 is not supported by the HLS target');
    transB = a.transB;
    alpha = a.alpha;
    beta = a.beta;
    act = layerAct(e, n, a);
    if (xs.length !== 2) throw unsupported('Gemm input must be 2-D');
  }
  const [K, Nn] = transB ? [wT.shape[1]!, wT.shape[0]!] : [wT.shape[0]!, wT.shape[1]!];
  if (xs[xs.length - 1] !== K) throw invalid(`${n.op}: inner dims differ (${xs[xs.length - 1]} vs ${K})`);
  const rows = numel(xs) / K;
  // weights as [N][K]; alpha goes into the float weights (f16: rounded to half) or the int4 scales
  const wAlpha = q || bw ? 1 : alpha;
  const round = wT.dtype === 'f16' && wAlpha !== 1 ? roundF16 : (v: number) => v;
  const wv: number[] = new Array<number>(K * Nn);
  for (let j = 0; j < Nn; j++) for (let k = 0; k < K; k++) wv[j * K + k] = round(wT.get(transB ? j * K + k : k * Nn + j) * wAlpha);
  const idx = e.index;
  const y = e.out(layerOut(e, n));
  const wct = bw ? 'nnet::int4_t' : e.ctypeOf(wT.dtype);
  // mcu_qdense reads 4 rows at a time: zero rows up to a multiple of 4
  const mcuDense = q && !!e.opts.mcuKernels && is8bit(e.dtype(x)) && is8bit(wT.dtype);
  if (mcuDense && Nn % 4 !== 0) wv.push(...new Array<number>((4 - (Nn % 4)) * K).fill(0));
  e.addWeight(`w${idx}`, wct, wv.map((v) => literal(wT.dtype, v)), BITS[wT.dtype]!);
  // int4: scales as [N][ceil(K / block)] (ONNX: [K/block, N] for axis 0, [N, K/block] for transB)
  const nb = bw ? Math.ceil(K / bw.block) : 0;
  if (bw) {
    const sv: number[] = new Array<number>(Nn * nb);
    for (let j = 0; j < Nn; j++) for (let kb = 0; kb < nb; kb++) sv[j * nb + kb] = bw.scale.get(transB ? j * nb + kb : kb * Nn + j) * alpha;
    e.addWeight(`s${idx}`, e.ctypeOf(bw.scale.dtype), sv.map((v) => literal(bw.scale.dtype, bw.scale.dtype === 'f16' ? roundF16(v) : Math.fround(v))), BITS[bw.scale.dtype]!);
  }
  let bname = '';
  let bct = q ? 'int32_t' : 'float';
  const bid = q || n.op === 'Gemm' || n.op === 'FusedGemm' ? n.inputs[2] : null;
  if (bid !== null && bid !== undefined) {
    const bT = needConst(e, bid, 'the dense bias');
    if (q) {
      e.addWeight(`b${idx}`, 'int32_t', bT.toNumbers().map(String), 32);
    } else {
      if (bT.size !== 1 && bT.size !== Nn) throw unsupported(`Gemm bias of shape [${bT.shape.join(',')}] is not supported by the HLS target (scalar or [N])`);
      bct = biasType(bT);
      const bv = Array.from({ length: Nn }, (_, j) => bT.get(bT.size === 1 ? 0 : j) * beta);
      const bdt = bct === 'half' ? 'f16' : 'f32';
      e.addWeight(`b${idx}`, bct, bv.map((v) => literal(bdt, bdt === 'f16' ? roundF16(v) : v)), bct === 'half' ? 16 : 32);
    }
    bname = `b${idx}`;
  }
  const hasBias = bname !== '';
  if (!hasBias) {
    bname = `b${idx}`;
    e.addWeight(bname, q ? 'int32_t' : 'float', new Array<string>(Nn).fill(q ? '0' : '0.0f'), 32);
  }
  const rf = e.reuse(K);
  const mult = Math.ceil(K / rf);
  e.kernels.add('nnet_dense.h');
  const kname = mcuDense ? 'mcu_qdense' : q ? 'qdense' : bw ? 'dense_int4' : 'dense';
  const L = [cfgHead(e, 'dense_config', kname), u('n_rows', rows), u('n_in', K), u('n_out', Nn), b('has_bias', hasBias),
    u('reuse_factor', rf), u('n_partitions', Math.max(1, mult)), ...(bw ? int4Lines(e, bw, nb) : [`  typedef ${wct} weight_t;`]), `  typedef ${bct} bias_t;`];
  if (q) L.push('  typedef int64_t accum_t;', i64('x_zero_point', qa!.xZeroPoint), ...outStageLines(qa!.out), ...(mcuDense ? mcuQLines(Nn, qa!.wZeroPoint, qa!.out) : []));
  else L.push('  typedef float accum_t;', i('activation', act[0]), f('act_p0', act[1]), f('act_p1', act[2]));
  L.push('};');
  const extra = q ? `, ${qchanArray(e, `q${idx}`, Nn, qa!.wZeroPoint, qa!.out)}` : '';
  const wargs = bw ? `w${idx}, s${idx}` : `w${idx}`;
  e.push([L.join('\n')], [`nnet::${kname}<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, ${wargs}, ${bname}${extra});`], {
    kernel: `nnet::${kname}`, macs: rows * Nn * K, multipliers: mult, reuse: rf, perIter: K, iterations: rows * Nn,
    weightBits: wT.size * BITS[wT.dtype]! + (bw ? Nn * nb * BITS[bw.scale.dtype]! : 0) + (hasBias ? Nn * (bct === 'half' ? 16 : 32) : 0),
    outBits: y.size * BITS[y.dtype]!, int8: q, requant: q, ...(bw ? { int4: 'tap' as const } : {}),
  });
}

/** Rank-6 broadcast config lines for a binary op. */
function broadcastLines(e: Emitter, a: ValueId, bb: ValueId, out: number[]): string[] {
  if (out.length > 6) throw unsupported(`broadcast over rank ${out.length} is not supported by the HLS target (rank <= 6)`);
  const pad = (s: number[]) => [...new Array<number>(6 - s.length).fill(1), ...s];
  const od = pad(out);
  const strides = (s: number[]): number[] => {
    const p = pad(s);
    const st = new Array<number>(6).fill(0);
    let acc = 1;
    for (let k = 5; k >= 0; k--) {
      st[k] = p[k] === 1 ? 0 : acc;
      acc *= p[k]!;
    }
    return st;
  };
  const sa = strides(e.shape(a));
  const sb = strides(e.shape(bb));
  return [...od.map((d, k) => u(`d${k}`, d)), ...sa.map((s, k) => u(`sa${k}`, s)), ...sb.map((s, k) => u(`sb${k}`, s))];
}

const BIN_ID: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, Pow: 6 };

function lowerBinary(e: Emitter, n: Node): void {
  const ins = n.inputs.filter((v): v is ValueId => v !== null);
  if (ins.length === 1) return lowerCopy(e, n, ins[0]!);
  if (ins.length !== 2) throw unsupported(`${n.op} with ${ins.length} inputs is not supported by the HLS target (2 inputs)`);
  const [a, bb] = ins as [ValueId, ValueId];
  const y = e.out(n.outputs[0]!);
  const os = e.shape(n.outputs[0]!);
  const idx = e.index;
  const isInt = !isFloatDt(y.dtype);
  if (isInt && (n.op === 'Add' || n.op === 'Sub' || n.op === 'Mul' || n.op === 'Div' || n.op === 'Pow')) {
    throw unsupported(`${n.op} on ${y.dtype} tensors is not supported by the HLS target (use the quantized QAdd/QMul)`);
  }
  e.kernels.add('nnet_merge.h');
  const L = [cfgHead(e, 'broadcast_config', `binary ${n.op}`), ...broadcastLines(e, a, bb, os), i('op', BIN_ID[n.op]!), u('reuse_factor', 1),
    `  typedef ${isInt ? 'int64_t' : 'float'} accum_t;`, '};'];
  const nel = numel(os);
  e.push([L.join('\n')], [`nnet::binary<${e.tref(a)}, ${e.tref(bb)}, ${y.ctype}, config${idx}>(${e.ref(a)}, ${e.ref(bb)}, ${y.name});`], {
    kernel: 'nnet::binary', macs: 0, multipliers: n.op === 'Mul' ? 1 : 0, reuse: 1, iterations: nel, weightBits: 0, outBits: y.size * BITS[y.dtype]!,
    int8: isInt, requant: false,
  });
}

function lowerQBinary(e: Emitter, n: Node): void {
  const [a, bb] = [n.inputs[0]!, n.inputs[1]!];
  const y = e.out(n.outputs[0]!);
  const os = e.shape(n.outputs[0]!);
  const idx = e.index;
  const L = [cfgHead(e, 'broadcast_config', n.op), ...broadcastLines(e, a, bb, os), u('reuse_factor', 1)];
  if (n.op === 'QAdd') {
    const q = e.attrs<QAddAttrs>(n);
    if (q.mode === 'tflite') {
      L.push(i64('a_zero_point', q.aZeroPoint), i64('b_zero_point', q.bZeroPoint), i('left_shift', q.leftShift), i64('a_multiplier', q.aMultiplier),
        i('a_shift', q.aShift), i64('b_multiplier', q.bMultiplier), i('b_shift', q.bShift), i64('multiplier', q.multiplier), i('shift', q.shift),
        i64('y_zero_point', q.yZeroPoint), i64('clamp_lo', q.lo), i64('clamp_hi', q.hi));
    } else L.push(i64('a_zero_point', q.aZeroPoint), i64('b_zero_point', q.bZeroPoint), i64('a_multiplier', q.aMultiplier), i64('b_multiplier', q.bMultiplier),
      i('shift', q.shift), i64('y_zero_point', q.yZeroPoint), i64('clamp_lo', q.lo), i64('clamp_hi', q.hi));
  } else {
    const q = e.attrs<QMulAttrs>(n);
    L.push(i64('a_zero_point', q.aZeroPoint), i64('b_zero_point', q.bZeroPoint), i64('multiplier', q.multiplier),
      i('shift', q.shift), i64('y_zero_point', q.yZeroPoint), i64('clamp_lo', q.lo), i64('clamp_hi', q.hi));
  }
  L.push('};');
  e.kernels.add('nnet_merge.h');
  // mcu_qadd (c target, targets/c/lib/nnet_mcu.h): qadd with a flat 32-bit loop where it is exact
  const mcuAdd = !!e.opts.mcuKernels && is8bit(e.dtype(a)) && is8bit(e.dtype(bb));
  const k = n.op === 'QAdd' ? (e.attrs<QAddAttrs>(n).mode === 'tflite' ? 'qadd_tflite' : mcuAdd ? 'mcu_qadd' : 'qadd') : e.attrs<QMulAttrs>(n).mode === 'tflite' ? 'qmul_tflite' : 'qmul';
  e.push([L.join('\n')], [`nnet::${k}<${e.tref(a)}, ${e.tref(bb)}, ${y.ctype}, config${idx}>(${e.ref(a)}, ${e.ref(bb)}, ${y.name});`], {
    kernel: `nnet::${k}`, macs: 0, multipliers: n.op === 'QMul' ? 1 : 0, reuse: 1, iterations: numel(os), weightBits: 0, outBits: y.size * 8, int8: true, requant: true,
  });
}

function scalarParam(e: Emitter, n: Node, inputIdx: number, attr: string, dflt: number): number {
  const id = n.inputs[inputIdx];
  if (id !== null && id !== undefined) {
    const t = needConst(e, id, `${n.op} input ${inputIdx}`);
    return t.get(0);
  }
  const v = n.attrs[attr];
  return typeof v === 'number' ? v : dflt;
}

function lowerUnary(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  const sp = unarySpec(paramCtx(e, n), n);
  const p: [number, number, number] = [ACT_ID[sp.op]!, sp.alpha, sp.beta];
  const isInt = !isFloatDt(y.dtype);
  if (isInt) {
    if (n.op !== 'Relu' && n.op !== 'Clip') throw unsupported(`${n.op} on ${y.dtype} tensors is not supported by the HLS target`);
  }
  e.kernels.add('nnet_merge.h');
  const L = [cfgHead(e, 'unary_config', `activation ${n.op}`), u('n_elem', y.size), i('activation', p[0]), f('act_p0', p[1]), f('act_p1', p[2]),
    u('reuse_factor', 1), '  typedef float accum_t;', '};'];
  e.push([L.join('\n')], [`nnet::activation<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::activation', macs: 0, multipliers: 0, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: isInt, requant: false,
  });
}

function lowerSoftmax(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  if (!isFloatDt(e.dtype(x))) throw unsupported(`${n.op} on ${e.dtype(x)} tensors is not supported by the HLS target`);
  const [outer, nAxis, inner] = softmaxLayout(paramCtx(e, n), n, xs);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_activation.h');
  const L = [cfgHead(e, 'softmax_config', n.op), u('n_outer', outer), u('n_axis', nAxis), u('n_inner', inner), b('log', n.op === 'LogSoftmax'),
    u('reuse_factor', 1), '  typedef float accum_t;', '};'];
  e.push([L.join('\n')], [`nnet::softmax<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::softmax', macs: 0, multipliers: 1, reuse: 1, iterations: y.size * 3, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: false, requant: false,
  });
}

/** edgec.QSoftmax over the last axis (nnet::qsoftmax, the exp table as a weight array). */
/** edgec.QLut -> nnet::qlut (lib/nnet_merge.h): the 256-entry table as an int16 weight. */
function lowerQLut(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const a = e.attrs<QLutAttrs>(n);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  e.addWeight(`t${idx}`, 'int16_t', a.table.map(String), 16);
  e.push([[cfgHead(e, 'lut_config', n.op), u('n_elem', y.size), '};'].join('\n')], [`nnet::qlut<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, t${idx});`], {
    kernel: 'nnet::qlut', macs: 0, multipliers: 0, reuse: 1, iterations: y.size, weightBits: 256 * 16, outBits: y.size * 8, int8: true, requant: false,
  });
}

function lowerQSoftmax(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  const a = e.attrs<QSoftmaxAttrs>(n);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  const L = xs[xs.length - 1]!;
  e.kernels.add('nnet_activation.h');
  const cfg = [cfgHead(e, 'softmax_config', n.op), u('n_rows', numel(xs) / L), u('n_axis', L), b('signed_out', a.yDtype === 'i8'),
    f('y_scale', a.yScale), i64('y_zero_point', a.yZeroPoint), '};'];
  e.addWeight(`t${idx}`, 'float', a.table.map(floatLit), 32);
  e.push([cfg.join('\n')], [`nnet::qsoftmax<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, t${idx});`], {
    kernel: 'nnet::qsoftmax', macs: 0, multipliers: 1, reuse: 1, iterations: y.size * 3, weightBits: 256 * 32, outBits: y.size * 8, int8: true, requant: false,
  });
}

function lowerPool(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  const nd = xs.length - 2;
  const glob = n.op.startsWith('Global');
  const isMax = n.op.endsWith('MaxPool');
  const q = n.op === 'QAvgPool';
  let gm: Geom3;
  let cip = false;
  let qa: QAvgPoolAttrs | undefined;
  if (glob) {
    const sp = xs.slice(2);
    gm = geom3(sp, { kernel: sp, strides: sp.map(() => 1), dilations: sp.map(() => 1), pads: [...sp, ...sp].map(() => 0) }, 'NOTSET', false, n.op);
  } else {
    const a = e.attrs<WindowAttrs & { ceil: boolean; countIncludePad?: boolean; storageOrder?: number }>(n);
    if (n.outputs.length > 1 && e.g.useCount(n.outputs[1]!) > 0) throw unsupported('MaxPool indices output is not supported by the HLS target');
    const p = windowParams(a, nd, undefined, n.op);
    gm = geom3(xs.slice(2), p, a.autoPad, a.ceil, n.op);
    cip = !!a.countIncludePad;
    if (q) qa = a as unknown as QAvgPoolAttrs;
  }
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_pooling.h');
  const L = [cfgHead(e, 'pool_config', n.op), u('n_planes', xs[0]! * xs[1]!), ...geomLines(gm, true), i('pool', isMax ? 0 : 1),
    b('count_include_pad', cip), u('reuse_factor', 1)];
  const isInt = !isFloatDt(y.dtype);
  if (!q && isInt && !isMax) throw unsupported(`${n.op} on ${y.dtype} tensors is not supported by the HLS target (use QAvgPool)`);
  let call: string;
  if (q) {
    const tfl = qa!.mode === 'tflite';
    L.push(i64('x_zero_point', qa!.xZeroPoint), i64('y_zero_point', qa!.yZeroPoint), i64('clamp_lo', qa!.lo), i64('clamp_hi', qa!.hi), b('rq_tflite', tfl));
    e.addWeight(`m${idx}`, 'int32_t', tfl ? ['0'] : qa!.multipliers.map(String), 32);
    e.addWeight(`s${idx}`, 'int32_t', tfl ? ['0'] : qa!.shifts.map(String), 32);
    call = `nnet::qavgpool<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, m${idx}, s${idx});`;
  } else call = `nnet::pooling<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`;
  L.push(`  typedef ${isInt ? 'int32_t' : 'float'} accum_t;`, '};');
  const kvol = gm.K[0] * gm.K[1] * gm.K[2];
  e.push([L.join('\n')], [call], {
    kernel: q ? 'nnet::qavgpool' : 'nnet::pooling', macs: 0, multipliers: 0, reuse: 1, iterations: y.size * (glob ? kvol : 1), weightBits: 0,
    outBits: y.size * BITS[y.dtype]!, int8: isInt, requant: q,
  });
}

const RED_ID: Record<string, number> = {
  ReduceSum: 0, ReduceMean: 1, ReduceMax: 2, ReduceMin: 3, ReduceProd: 4, ReduceLogSumExp: 5, ReduceSumSquare: 6, ReduceL1: 7, ReduceL2: 8, ReduceLogSum: 9,
};

/** [outer, n, inner] of a reduction over a contiguous run of axes. */
function reduceLayout(xs: number[], axes: number[], op: string): [number, number, number] {
  const ax = [...new Set(axes.map((a) => normAxis(a, xs.length)))].sort((p, q) => p - q);
  // drop size-1 axes from the contiguity check
  const real = ax.filter((a) => xs[a] !== 1);
  if (real.length > 0 && real[real.length - 1]! - real[0]! + 1 !== real.length) {
    // non-contiguous: allowed only when the dims between are 1
    for (let k = real[0]!; k <= real[real.length - 1]!; k++) if (!ax.includes(k) && xs[k] !== 1) throw unsupported(`${op} over non-contiguous axes [${ax.join(',')}] is not supported by the HLS target`);
  }
  if (real.length === 0) return [numel(xs), 1, 1];
  const lo = real[0]!;
  const hi = real[real.length - 1]!;
  return [numel(xs.slice(0, lo)), numel(xs.slice(lo, hi + 1)), numel(xs.slice(hi + 1))];
}

function lowerReduce(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  const q = n.op === 'QReduceMean';
  let axes: number[];
  let qa: QReduceMeanAttrs | undefined;
  if (q) {
    qa = e.attrs<QReduceMeanAttrs>(n);
    axes = qa.axes;
  } else {
    const ra = reduceAxes(paramCtx(e, n), n, xs.length);
    if (ra === 'noop') return lowerCopy(e, n, x);
    axes = ra;
  }
  const [outer, red, inner] = reduceLayout(xs, axes, n.op);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_pooling.h');
  const L = [cfgHead(e, 'reduce_config', n.op), u('n_outer', outer), u('n_reduce', red), u('n_inner', inner), u('reuse_factor', 1)];
  let k: string;
  if (q) {
    const s = qa!.out;
    L.push(i('op', 1), i64('x_zero_point', qa!.xZeroPoint), ...outStageLines(s), i64('multiplier', s.multiplier[0] ?? 0), i('shift', s.shift[0] ?? 0),
      f('scale', s.scale[0] ?? 0), '  typedef int64_t accum_t;');
    k = 'qreduce_mean';
  } else {
    const id = RED_ID[n.op];
    if (id === undefined) throw unsupported(`${n.op} is not supported by the HLS target`);
    if (!isFloatDt(y.dtype) && id !== 2 && id !== 3) throw unsupported(`${n.op} on ${y.dtype} tensors is not supported by the HLS target`);
    L.push(i('op', id), `  typedef ${isFloatDt(y.dtype) ? 'float' : 'int32_t'} accum_t;`);
    k = 'reduce';
  }
  L.push('};');
  e.push([L.join('\n')], [`nnet::${k}<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: `nnet::${k}`, macs: 0, multipliers: 0, reuse: 1, iterations: numel(xs), weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: q, requant: q,
  });
}

function lowerBatchNorm(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  const a = e.attrs<{ epsilon: number; training: boolean }>(n);
  if (a.training || n.outputs.slice(1).some((o) => e.g.useCount(o) > 0)) throw unsupported('BatchNormalization in training mode is not supported by the HLS target');
  const [sc, bi, mean, v] = [1, 2, 3, 4].map((k) => needConst(e, n.inputs[k], `BatchNormalization input ${k}`)) as [Tensor, Tensor, Tensor, Tensor];
  const C = xs[1] ?? 1;
  if ([sc, bi, mean, v].some((t) => t.size !== C)) throw unsupported('BatchNormalization parameters must have one value per channel for the HLS target');
  const { scale, shift } = batchNormAffine(sc.toNumbers(), bi.toNumbers(), mean.toNumbers(), v.toNumbers(), a.epsilon);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.addWeight(`s${idx}`, 'float', scale.map(floatLit), 32);
  e.addWeight(`t${idx}`, 'float', shift.map(floatLit), 32);
  e.kernels.add('nnet_activation.h');
  const L = [cfgHead(e, 'batchnorm_config', 'batchnorm (scale-shift)'), u('n_outer', xs[0] ?? 1), u('n_chan', C), u('n_inner', numel(xs.slice(2))),
    u('reuse_factor', 1), '  typedef float accum_t;', '  typedef float scale_t;', '};'];
  e.push([L.join('\n')], [`nnet::normalize<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, s${idx}, t${idx});`], {
    kernel: 'nnet::normalize', macs: y.size, multipliers: 1, reuse: 1, iterations: y.size, weightBits: 64 * C, outBits: y.size * BITS[y.dtype]!, int8: false, requant: false,
  });
}

function lowerConcat(e: Emitter, n: Node): void {
  const a = e.attrs<{ axis: number }>(n);
  const os = e.shape(n.outputs[0]!);
  const ax = normAxis(a.axis, os.length);
  const outer = numel(os.slice(0, ax));
  const inner = numel(os.slice(ax + 1));
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  const configs: string[] = [];
  const calls: string[] = [];
  let off = 0;
  n.inputs.forEach((x, k) => {
    if (x === null) return;
    const xs = e.shape(x);
    const part = (xs[ax] ?? 1) * inner;
    configs.push([`// layer${idx} concat part ${k}`, `struct config${idx}_${k} : nnet::concat_config {`, u('n_outer', outer), u('in_inner', part),
      u('out_inner', os[ax]! * inner), u('offset', off), '};'].join('\n'));
    calls.push(`nnet::concat_part<${e.tref(x)}, ${y.ctype}, config${idx}_${k}>(${e.ref(x)}, ${y.name});`);
    off += part;
  });
  e.push(configs, calls, { kernel: 'nnet::concat_part', macs: 0, multipliers: 0, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: !isFloatDt(y.dtype), requant: false });
}

/** A strided copy: y[i0..i5] = x[offset + sum ik * st_k]. */
function emitStrided(e: Emitter, n: Node, x: ValueId, dims: number[], strides: number[], offset: number, what: string): void {
  if (dims.length > 6) throw unsupported(`${n.op} over rank ${dims.length} is not supported by the HLS target (rank <= 6)`);
  const d = [...new Array<number>(6 - dims.length).fill(1), ...dims];
  const s = [...new Array<number>(6 - strides.length).fill(0), ...strides];
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  const L = [cfgHead(e, 'strided_config', what), ...d.map((v, k) => u(`d${k}`, v)), ...s.map((v, k) => i(`st${k}`, v)), i('offset', offset), '};'];
  e.push([L.join('\n')], [`nnet::strided_copy<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::strided_copy', macs: 0, multipliers: 0, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: !isFloatDt(y.dtype), requant: false,
  });
}

function lowerSlice(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const v = sliceView(paramCtx(e, n), n, e.shape(x));
  emitStrided(e, n, x, v.dims, v.strides, v.offset, 'slice');
}

function lowerTranspose(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const v = transposeView(paramCtx(e, n), n, e.shape(x));
  emitStrided(e, n, x, v.dims, v.strides, v.offset, 'transpose');
}

const PAD_MODE: Record<PadSpec['mode'], number> = { constant: 0, reflect: 1, edge: 2, wrap: 3 };

/** Pad (what fold-pad left): any mode, crops (negative pads) included, any stored element type. */
function lowerPad(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const xs = e.shape(x);
  if (xs.length > 6) throw unsupported(`Pad over rank ${xs.length} is not supported by the HLS target (rank <= 6)`);
  const p = padSpec(paramCtx(e, n), n, xs.length);
  const crop = p.begin.map((v) => Math.max(0, -v));
  const ext = xs.map((d, k) => d - crop[k]! - Math.max(0, -p.end[k]!));
  const pb = p.begin.map((v) => Math.max(0, v));
  const os = ext.map((d, k) => d + pb[k]! + Math.max(0, p.end[k]!));
  ext.forEach((d, k) => {
    if (d < 0) throw invalid(`Pad: pads crop axis ${k} below zero`);
    if (p.mode !== 'constant' && d === 0 && os[k]! > 0) throw invalid(`Pad: mode ${p.mode} cannot pad axis ${k} of size 0`);
  });
  const st = stridesOf(xs);
  const dt = e.dtype(x);
  // the fill value as the stored element type reads it (constant_value has x's dtype)
  const value = dt === 'f16' ? roundF16(p.value) : dt === 'f32' ? Math.fround(p.value) : p.value;
  if (!isFloatDt(dt) && !Number.isInteger(value)) throw invalid(`Pad: constant value ${value} is not an integer for ${dt} data`);
  const lead = 6 - xs.length;
  const pad6 = (v: number[], fill: number) => [...new Array<number>(lead).fill(fill), ...v];
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  const L = [cfgHead(e, 'pad_config', `pad ${p.mode}`), ...pad6(os, 1).map((v, k) => u(`d${k}`, v)), ...pad6(ext, 1).map((v, k) => i(`n${k}`, v)),
    ...pad6(pb, 0).map((v, k) => i(`pb${k}`, v)), ...pad6(st, 0).map((v, k) => i(`st${k}`, v)),
    i('offset', crop.reduce((acc, c, k) => acc + c * st[k]!, 0)), i('mode', PAD_MODE[p.mode]),
    `  static constexpr double value = ${isFloatDt(dt) ? floatLit(value) : `${value}.0`};`, '};'];
  e.push([L.join('\n')], [`nnet::pad<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::pad', macs: 0, multipliers: 0, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: !isFloatDt(y.dtype), requant: false,
  });
}

/**
 * A LayerNormalization scale or bias as an array of n_inner elements: a constant expanded to the
 * normalized dims (broadcasting over them only) into weight `name`, or a runtime value of exactly
 * the normalized shape (leading 1s allowed), read in place.
 */
function layerNormParam(e: Emitter, id: ValueId, inner: number[], what: string, name: string): { ref: string; ctype: string; bits: number } {
  const t = e.consts.get(id);
  const sh = t ? t.shape : e.shape(id);
  const extra = sh.slice(0, Math.max(0, sh.length - inner.length));
  const tail = sh.slice(extra.length);
  const at = (k: number) => inner[inner.length - tail.length + k];
  if (!t) {
    if (!isFloatDt(e.dtype(id))) throw unsupported(`LayerNormalization ${what} of type ${e.dtype(id)} is not supported by the HLS target`);
    if (!extra.every((d) => d === 1) || numel(tail) !== numel(inner) || !tail.every((d, k) => d === at(k))) {
      throw unsupported(`LayerNormalization runtime ${what} of shape [${sh.join(',')}] must have the normalized shape [${inner.join(',')}] for the HLS target (a constant may broadcast)`);
    }
    return { ref: e.ref(id), ctype: e.tref(id), bits: 0 };
  }
  if (!extra.every((d) => d === 1) || !tail.every((d, k) => d === 1 || d === at(k))) {
    throw unsupported(`LayerNormalization ${what} of shape [${sh.join(',')}] does not broadcast over the normalized dims [${inner.join(',')}] (HLS target)`);
  }
  const ct = t.dtype === 'f16' ? 'half' : 'float';
  const vals = expandToInner(t.toNumbers(), tail, inner);
  e.addWeight(name, ct, Array.from(vals, (v) => literal(ct === 'half' ? 'f16' : 'f32', v)), BITS[t.dtype === 'f16' ? 'f16' : 'f32']!);
  return { ref: name, ctype: ct, bits: vals.length * (ct === 'half' ? 16 : 32) };
}

/** LayerNormalization: float or half data, scale and optional bias (constants, or runtime values
 * of the normalized shape); Mean and InvStdDev when read. */
function lowerLayerNorm(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  if (!isFloatDt(e.dtype(x))) throw unsupported(`LayerNormalization on ${e.dtype(x)} tensors is not supported by the HLS target`);
  const lay = layerNormLayout(layoutCtx(e, n), n);
  const inner = lay.xs.slice(lay.axis);
  const idx = e.index;
  const sc = layerNormParam(e, n.inputs[1]!, inner, 'scale', `s${idx}`);
  const bi = n.inputs[2] == null ? null : layerNormParam(e, n.inputs[2], inner, 'bias', `b${idx}`);
  const bias = bi ?? { ref: e.addWeight(`b${idx}`, 'float', ['0.0f'], 32), ctype: 'float', bits: 0 };
  const y = e.out(n.outputs[0]!);
  const stats = lay.mean !== undefined || lay.invStd !== undefined;
  // both statistics buffers when either is read (the kernel writes them together)
  const [ms, is] = stats ? [e.out(n.outputs[1]!, 1), e.out(n.outputs[2]!, 2)] : [null, null];
  e.kernels.add('nnet_activation.h');
  const L = [cfgHead(e, 'layernorm_config', `layernorm axis ${lay.axis}`), u('n_rows', lay.rows), u('n_inner', lay.inner), b('has_bias', !!bi), b('has_stats', stats),
    f('epsilon', lay.epsilon), u('reuse_factor', 1), '  typedef float accum_t;', `  typedef ${sc.ctype} scale_t;`, `  typedef ${bias.ctype} bias_t;`, '};'];
  const call = ms && is
    ? `nnet::layernorm_stats<${e.tref(x)}, ${y.ctype}, ${ms.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, ${ms.name}, ${is.name}, ${sc.ref}, ${bias.ref});`
    : `nnet::layernorm<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, ${sc.ref}, ${bias.ref});`;
  e.push([L.join('\n')], [call], {
    // three passes over each row (sum, centered squares, normalize); two multipliers in the last
    kernel: 'nnet::layernorm', macs: 3 * y.size, multipliers: 2, reuse: 1, iterations: 3 * y.size,
    weightBits: sc.bits + bias.bits, outBits: y.size * BITS[y.dtype]! + (ms ? 2 * ms.size * BITS[ms.dtype]! : 0), int8: false, requant: false,
  });
}

/** MatMul / FusedMatMul: a dense layer when B is a 2-D constant (or int4 weight), else matmul_rt. */
function lowerMatMul(e: Emitter, n: Node): void {
  const bId = n.inputs[1]!;
  const bc = e.consts.get(bId);
  if (e.blocked.has(bId) || (bc && bc.shape.length === 2)) return lowerDense(e, n);
  lowerMatMulRT(e, n);
}

/** MatMul with runtime operands (float), NumPy broadcasting of up to 4 batch dims. */
function lowerMatMulRT(e: Emitter, n: Node): void {
  const [aId, bId] = [n.inputs[0]!, n.inputs[1]!];
  const [da, db] = [e.dtype(aId), e.dtype(bId)];
  if (!isFloatDt(da) || !isFloatDt(db)) throw unsupported(`${n.op} of ${da} x ${db} runtime operands is not supported by the HLS target (float or half only; int8 MatMul needs a constant B)`);
  const md = matmulDims(layoutCtx(e, n), n);
  if (md.batch.length > 4) throw unsupported(`${n.op} with ${md.batch.length} batch dims is not supported by the HLS target (at most 4)`);
  const act = layerAct(e, n, e.attrs<Partial<FusedAttrs>>(n));
  const { M, K, N } = md;
  // element offset of one step along each broadcast batch dim (0 where the operand has size 1)
  const batchStrides = (bd: number[], mat: number): number[] => {
    const al = [...new Array<number>(md.batch.length - bd.length).fill(1), ...bd];
    const st = new Array<number>(al.length).fill(0);
    let acc = mat;
    for (let k = al.length - 1; k >= 0; k--) {
      st[k] = al[k] === 1 ? 0 : acc;
      acc *= al[k]!;
    }
    return [...new Array<number>(4 - al.length).fill(0), ...st];
  };
  const sa = batchStrides(md.batchA, M * K);
  const sb = batchStrides(md.batchB, K * N);
  const bd = [...new Array<number>(4 - md.batch.length).fill(1), ...md.batch];
  const nb = numel(md.batch);
  const y = e.out(layerOut(e, n));
  const idx = e.index;
  const rf = e.reuse(K);
  const mult = Math.ceil(K / rf);
  e.kernels.add('nnet_dense.h');
  const L = [cfgHead(e, 'matmul_rt_config', 'matmul (runtime x runtime)'), ...bd.map((v, k) => u(`b${k}`, v)), ...sa.map((v, k) => u(`sa${k}`, v)),
    ...sb.map((v, k) => u(`sb${k}`, v)), u('n_m', M), u('n_k', K), u('n_n', N), u('reuse_factor', rf), u('n_partitions', Math.max(1, mult)),
    '  typedef float accum_t;', i('activation', act[0]), f('act_p0', act[1]), f('act_p1', act[2]), '};'];
  const cbits = [aId, bId].reduce((acc, id) => acc + (e.consts.has(id) ? e.consts.get(id)!.size * BITS[e.dtype(id)]! : 0), 0);
  e.push([L.join('\n')], [`nnet::matmul_rt<${e.tref(aId)}, ${e.tref(bId)}, ${y.ctype}, config${idx}>(${e.ref(aId)}, ${e.ref(bId)}, ${y.name});`], {
    kernel: 'nnet::matmul_rt', macs: nb * M * N * K, multipliers: mult, reuse: rf, perIter: K, iterations: nb * M * N,
    weightBits: cbits, outBits: y.size * BITS[y.dtype]!, int8: false, requant: false,
  });
}

function lowerCopy(e: Emitter, n: Node, x: ValueId): void {
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  e.push([[cfgHead(e, 'copy_config', 'copy'), u('n_elem', y.size), '};'].join('\n')], [`nnet::copy<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::copy', macs: 0, multipliers: 0, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: !isFloatDt(y.dtype), requant: false,
  });
}

function perTensorParam(e: Emitter, n: Node, k: number, what: string): number {
  const id = n.inputs[k];
  if (id === null || id === undefined) return 0;
  const t = needConst(e, id, `${n.op} ${what}`);
  if (t.size !== 1) throw unsupported(`${n.op} with a per-axis ${what} is not supported by the HLS target (per tensor only)`);
  return t.get(0);
}

function lowerQuantLinear(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const scale = perTensorParam(e, n, 1, 'scale');
  const zp = perTensorParam(e, n, 2, 'zero point');
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  const L = [cfgHead(e, 'unary_config', n.op), u('n_elem', y.size), f('scale', scale), i64('zero_point', zp), u('reuse_factor', 1)];
  let k: string;
  if (n.op === 'QuantizeLinear') {
    if (e.dtype(x) !== 'f32') throw unsupported(`QuantizeLinear from ${e.dtype(x)} is not supported by the HLS target`);
    if (y.dtype !== 'i8' && y.dtype !== 'u8') throw unsupported(`QuantizeLinear to ${y.dtype} is not supported by the HLS target`);
    const [lo, hi] = y.dtype === 'u8' ? [0, 255] : [-128, 127];
    L.push(i64('clamp_lo', lo), i64('clamp_hi', hi));
    k = 'quantize';
  } else {
    if (y.dtype !== 'f32') throw unsupported(`DequantizeLinear to ${y.dtype} is not supported by the HLS target`);
    k = 'dequantize';
  }
  L.push('};');
  e.push([L.join('\n')], [`nnet::${k}<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: `nnet::${k}`, macs: 0, multipliers: 1, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: true, requant: false,
  });
}

/** edgec.TflQuantize (nnet::tfl_quantize): TFLite's float QUANTIZE, rounding half away from zero. */
function lowerTflQuantize(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const a = e.attrs<TflQuantizeAttrs>(n);
  if (e.dtype(x) !== 'f32') throw unsupported(`TflQuantize from ${e.dtype(x)} is not supported by the HLS target`);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  const [lo, hi] = a.yDtype === 'u8' ? [0, 255] : [-128, 127];
  const L = [cfgHead(e, 'unary_config', n.op), u('n_elem', y.size), f('scale', a.scale), i64('zero_point', a.yZeroPoint), u('reuse_factor', 1),
    i64('clamp_lo', lo), i64('clamp_hi', hi), '};'];
  e.push([L.join('\n')], [`nnet::tfl_quantize<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::tfl_quantize', macs: 0, multipliers: 1, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * BITS[y.dtype]!, int8: true, requant: false,
  });
}

function lowerRequantize(e: Emitter, n: Node): void {
  const x = n.inputs[0]!;
  const a = e.attrs<RequantizeAttrs>(n);
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.kernels.add('nnet_merge.h');
  const s = a.out;
  if (s.mode === 'tflite' && e.dtype(n.inputs[0]!) === 'i32') throw unsupported("Requantize of an int32 input with rq_mode 'tflite' is not supported by the HLS target");
  const L = [cfgHead(e, 'unary_config', 'requantize'), u('n_elem', y.size), i64('x_zero_point', a.xZeroPoint), ...outStageLines(s),
    i64('multiplier', s.multiplier[0] ?? 0), i('shift', s.shift[0] ?? 0), f('scale', s.scale[0] ?? 0), u('reuse_factor', 1), '};'];
  e.push([L.join('\n')], [`nnet::requantize<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name});`], {
    kernel: 'nnet::requantize', macs: 0, multipliers: 1, reuse: 1, iterations: y.size, weightBits: 0, outBits: y.size * 8, int8: true, requant: true,
  });
}

/** The attributes of compiler/ops/rnn.ts that the recurrent lowering reads. */
interface RnnAttrsView {
  kind: 'RNN' | 'GRU' | 'LSTM';
  direction: 'forward' | 'reverse' | 'bidirectional';
  acts: { name: string; alpha: number; beta: number }[][];
  clip: number | undefined;
  layout: 0 | 1;
  linearBeforeReset: boolean;
  inputForget: boolean;
}

/** Recurrent activations (lower-cased, as compiler/ops/rnn.ts parses them) -> act_apply kind and
 * which of alpha / beta become its p0 / p1 (same formulas as the reference's `activate`). */
const RNN_ACT: Record<string, [number, boolean, boolean]> = {
  sigmoid: [3, false, false], tanh: [7, false, false], relu: [1, false, false], hardsigmoid: [4, true, true],
  leakyrelu: [6, true, false], elu: [16, true, false], softplus: [15, false, false],
  // nnet_recurrent.h's rnn_act_kind
  affine: [100, true, true], scaledtanh: [101, true, true], thresholdedrelu: [102, true, false], softsign: [103, false, false],
};

/**
 * LSTM / GRU / RNN (ONNX semantics) -> nnet::lstm / nnet::gru / nnet::rnn (lib/nnet_recurrent.h):
 * static sequence length, forward / reverse / bidirectional, layout 0 / 1, initial states
 * (constants or runtime inputs; zeros when absent), GRU linear_before_reset, LSTM peepholes
 * (constant P) and input_forget, clip, sequence_lens (constant or runtime int32), every ONNX
 * activation with its alpha / beta. float32, or float16 (the fp16 graph: half weights and states,
 * float gate arithmetic, the states rounded to half every step as the reference rounds them).
 * `unsupported`: different activations per direction (the config holds one set), runtime weights.
 * W [D, G*H, I], R [D, G*H, H] and B [D, 2*G*H] must be constants; they are stored as ONNX lays
 * them out (row-major gate rows), so every gate row is a dense row of n_in + n_hidden MACs.
 */
function lowerRecurrent(e: Emitter, n: Node): void {
  const kind = n.op as 'LSTM' | 'GRU' | 'RNN';
  const G = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
  const a = e.attrs<RnnAttrsView>(n);
  const x = n.inputs[0]!;
  const dt = e.dtype(x);
  if (!isFloatDt(dt)) throw unsupported(`${kind} on ${dt} tensors is not supported by the HLS target (float32 / float16 only)`);
  const ct = e.ctypeOf(dt);
  const bits = BITS[dt]!;
  // activations f, g (, h): one set for every direction (the kernel's config holds one)
  const acts0 = a.acts[0]!;
  const same = a.acts.every((per) => per.length === acts0.length && per.every((act, k) => act.name === acts0[k]!.name && act.alpha === acts0[k]!.alpha && act.beta === acts0[k]!.beta));
  if (!same) throw unsupported(`${kind} with different activations per direction is not supported by the HLS target`);
  const actLines = acts0.map((act, k) => {
    const spec = RNN_ACT[act.name];
    if (!spec) throw unsupported(`${kind} activation ${act.name} is not supported by the HLS target (${Object.keys(RNN_ACT).join(', ')})`);
    const nm = 'fgh'[k]!;
    return [i(`${nm}_act`, spec[0]), f(`${nm}_p0`, spec[1] ? act.alpha : 0), f(`${nm}_p1`, spec[2] ? act.beta : 0)];
  }).flat();
  const clipLines = a.clip !== undefined ? [b('has_clip', true), f('clip', a.clip)] : [];
  const xs = e.shape(x);
  if (xs.length !== 3) throw invalid(`${kind}: X must have rank 3, got [${xs.join(', ')}]`);
  const D = a.direction === 'bidirectional' ? 2 : 1;
  const [S, B] = a.layout === 0 ? [xs[0]!, xs[1]!] : [xs[1]!, xs[0]!];
  const I = xs[2]!;
  const wT = needConst(e, n.inputs[1], `the ${kind} weight W`);
  const rT = needConst(e, n.inputs[2], `the ${kind} recurrence weight R`);
  const bT = n.inputs[3] != null ? needConst(e, n.inputs[3], `the ${kind} bias B`) : null;
  if (wT.dtype !== dt || rT.dtype !== dt || (bT && bT.dtype !== dt)) throw invalid(`${kind}: W, R and B must have the element type of X (${dt})`);
  if (wT.shape.length !== 3 || wT.shape[0] !== D || wT.shape[1]! % G !== 0 || wT.shape[2] !== I) {
    throw invalid(`${kind}: W must have shape [${D}, ${G}*hidden, ${I}], got [${wT.shape.join(', ')}]`);
  }
  const H = wT.shape[1]! / G;
  if (rT.shape.join(',') !== [D, G * H, H].join(',')) throw invalid(`${kind}: R must have shape [${D}, ${G * H}, ${H}], got [${rT.shape.join(', ')}]`);
  if (bT && bT.shape.join(',') !== [D, 2 * G * H].join(',')) throw invalid(`${kind}: B must have shape [${D}, ${2 * G * H}], got [${bT.shape.join(', ')}]`);
  const pT = kind === 'LSTM' && n.inputs[7] != null ? needConst(e, n.inputs[7], 'the LSTM peepholes P') : null;
  if (pT && (pT.dtype !== dt || pT.shape.join(',') !== [D, 3 * H].join(','))) throw invalid(`LSTM: P must be ${dt} of shape [${D}, ${3 * H}], got ${pT.dtype} [${pT.shape.join(', ')}]`);
  if (S < 1 || B < 1) throw unsupported(`${kind} with an empty sequence or batch is not supported by the HLS target`);
  const idx = e.index;
  const stSize = D * B * H;
  const stShape = a.layout === 0 ? [D, B, H] : [B, D, H];
  // initial states: runtime inputs or constants of shape [D, B, H] (layout 1: [B, D, H]); zeros when absent
  const state = (k: number, what: string): { ref: string; ctype: string } => {
    const id = n.inputs[k];
    if (id == null) {
      const name = e.addWeight(`z${idx}_${k}`, 'float', new Array<string>(stSize).fill('0.0f'), 32);
      return { ref: name, ctype: 'float' };
    }
    if (e.dtype(id) !== dt) throw invalid(`${kind}: ${what} must have the element type of X (${dt}), got ${e.dtype(id)}`);
    const sh = e.shape(id);
    if (sh.join(',') !== stShape.join(',')) throw invalid(`${kind}: ${what} must have shape [${stShape.join(', ')}], got [${sh.join(', ')}]`);
    return { ref: e.ref(id), ctype: e.tref(id) };
  };
  const h0 = state(5, 'initial_h');
  const c0 = kind === 'LSTM' ? state(6, 'initial_c') : null;
  // outputs Y, Y_h (, Y_c): a scratch buffer for each one the node does not produce or nobody reads
  const nOut = kind === 'LSTM' ? 3 : 2;
  const outs: string[] = [];
  // (RNN and GRU have Y and Y_h)
  let outBits = 0;
  for (let k = 0; k < nOut; k++) {
    const id = n.outputs[k];
    if (id !== undefined && (e.g.useCount(id) > 0 || e.g.outputs.includes(id))) {
      const bf = e.out(id, k);
      outs.push(bf.name);
      outBits += bf.size * bits;
    } else {
      const size = k === 0 ? S * D * B * H : stSize;
      const bf: Buf = { name: `layer${idx}_scratch${k}`, ctype: ct, size, dtype: dt };
      e.locals.push(bf);
      outs.push(bf.name);
      outBits += size * bits;
    }
  }
  e.addWeight(`w${idx}`, ct, wT.toNumbers().map((v) => literal(dt, v)), bits);
  e.addWeight(`r${idx}`, ct, rT.toNumbers().map((v) => literal(dt, v)), bits);
  e.addWeight(`b${idx}`, ct, (bT ? bT.toNumbers() : new Array<number>(D * 2 * G * H).fill(0)).map((v) => literal(dt, v)), bits);
  // sequence_lens: an int32 constant (checked against [0, S] like the reference) or a runtime
  // input (the kernel clamps it to [0, S]); without it a placeholder the kernel never reads
  const lensId = n.inputs[4];
  let lens: { ref: string; ctype: string };
  if (lensId == null) {
    lens = { ref: e.addWeight(`l${idx}`, 'int32_t', ['0'], 32), ctype: 'int32_t' };
  } else {
    if (e.dtype(lensId) !== 'i32') throw invalid(`${kind}: sequence_lens must be int32, got ${e.dtype(lensId)}`);
    if (e.shape(lensId).join(',') !== String(B)) throw invalid(`${kind}: sequence_lens must have shape [${B}], got [${e.shape(lensId).join(', ')}]`);
    const lc = e.consts.get(lensId);
    lc?.toNumbers().forEach((v, k) => {
      if (!(Number.isInteger(v) && v >= 0 && v <= S)) throw invalid(`${kind}: sequence_lens[${k}] = ${v} is outside [0, ${S}]`);
    });
    lens = { ref: e.ref(lensId), ctype: e.tref(lensId) };
  }
  // LSTM peepholes; without them a one-element placeholder the kernel never reads
  if (kind === 'LSTM') e.addWeight(`p${idx}`, ct, (pT ? pT.toNumbers() : [0]).map((v) => literal(dt, v)), bits);
  // one gate row = n_in + n_hidden MACs per pipelined iteration
  const perRow = I + H;
  const rf = e.reuse(perRow);
  const mult = Math.ceil(perRow / rf);
  e.kernels.add('nnet_recurrent.h');
  const kname = kind.toLowerCase();
  const L = [cfgHead(e, 'recurrent_config', `${kname} ${a.direction}, layout ${a.layout}`),
    u('n_seq', S), u('n_batch', B), u('n_in', I), u('n_hidden', H), u('n_dir', D), b('reverse', a.direction === 'reverse'),
    b('batch_first', a.layout === 1), b('linear_before_reset', a.linearBeforeReset), ...actLines, ...clipLines,
    ...(kind === 'LSTM' ? [b('has_peephole', !!pT), b('input_forget', a.inputForget)] : []), b('has_lens', lensId != null),
    u('reuse_factor', rf), u('n_partitions', Math.max(1, mult)),
    '  typedef float accum_t;', `  typedef ${ct} weight_t;`, `  typedef ${ct} bias_t;`, '};'];
  // every output buffer has X's element type (typedefs of it): the kernel's one Out type, which
  // also holds the states (fp16: rounded to half per step, as the reference rounds them)
  const tpl = kind === 'LSTM' ? `${e.tref(x)}, ${ct}, ${h0.ctype}, ${c0!.ctype}, ${lens.ctype}, config${idx}` : `${e.tref(x)}, ${ct}, ${h0.ctype}, ${lens.ctype}, config${idx}`;
  const args = kind === 'LSTM'
    ? `${e.ref(x)}, ${outs.join(', ')}, w${idx}, r${idx}, b${idx}, ${h0.ref}, ${c0!.ref}, p${idx}, ${lens.ref}`
    : `${e.ref(x)}, ${outs.join(', ')}, w${idx}, r${idx}, b${idx}, ${h0.ref}, ${lens.ref}`;
  // gate rows: D*S*B steps of G*H rows (GRU, linear_before_reset = 0: the candidate's R row is a
  // second pass over H rows after the reset gate) + H element-wise state updates per step
  const steps = D * S * B;
  const rows = G * H + (kind === 'GRU' && !a.linearBeforeReset ? H : 0);
  e.push([L.join('\n')], [`nnet::${kname}<${tpl}>(${args});`], {
    kernel: `nnet::${kname}`, macs: steps * G * H * (I + H), multipliers: mult, reuse: rf, perIter: perRow, iterations: steps * rows,
    weightBits: (wT.size + rT.size + D * 2 * G * H + (pT ? pT.size : 0)) * bits + (n.inputs[5] == null ? stSize * 32 : 0) + (kind === 'LSTM' && n.inputs[6] == null ? stSize * 32 : 0),
    outBits, int8: false, requant: false,
    recurrent: { steps, stateCycles: H, stateMults: kind === 'RNN' ? 0 : 3 + (pT ? 3 : 0), activations: kind === 'LSTM' ? (a.inputForget ? 4 : 5) : kind === 'GRU' ? 3 : 1 },
  });
}

/**
 * edgec.TflLstm (TFLite Micro's integer LSTM, compiler/ops/rnn.ts) -> nnet::tfl_lstm
 * (lib/nnet_recurrent.h): int8 W [4, H, I], R [4, H, H] and int32 B [4, H] constants stored as
 * laid out, the per-gate requantizations as one int32 array (input M, n, recurrent M, n) and
 * TFLite's sigmoid table (uint16); the other multipliers, zero points and sizes in the config.
 */
function lowerTflLstm(e: Emitter, n: Node): void {
  const a = e.attrs<TflLstmAttrs>(n);
  const x = n.inputs[0]!;
  if (e.dtype(x) !== 'i8') throw unsupported(`TflLstm on ${e.dtype(x)} input is not supported by the HLS target (int8 only)`);
  const wT = needConst(e, n.inputs[1], 'the TflLstm weight W');
  const rT = needConst(e, n.inputs[2], 'the TflLstm recurrence weight R');
  const bT = needConst(e, n.inputs[3], 'the TflLstm bias B');
  const xs = e.shape(x);
  const [H, I] = [wT.shape[1]!, wT.shape[2]!];
  const [T, B] = a.timeMajor ? [xs[0]!, xs[1]!] : [xs[1]!, xs[0]!];
  if (T < 1 || B < 1) throw unsupported('TflLstm with an empty sequence or batch is not supported by the HLS target');
  const y = e.out(n.outputs[0]!);
  const idx = e.index;
  e.addWeight(`w${idx}`, 'int8_t', wT.toNumbers().map(String), 8);
  e.addWeight(`r${idx}`, 'int8_t', rT.toNumbers().map(String), 8);
  e.addWeight(`b${idx}`, 'int32_t', bT.toNumbers().map(String), 32);
  e.addWeight(`q${idx}`, 'int32_t', [...a.inMultiplier, ...a.inShift, ...a.recMultiplier, ...a.recShift].map(String), 32);
  e.addWeight(`t${idx}`, 'uint16_t', TFL_SIGMOID_TABLE.map(String), 16);
  e.kernels.add('nnet_recurrent.h');
  const L = [cfgHead(e, 'tfl_lstm_config', n.op), u('n_seq', T), u('n_batch', B), u('n_in', I), u('n_hidden', H), b('time_major', a.timeMajor),
    i('x_zero_point', a.xZeroPoint), i('h_zero_point', a.hZeroPoint), i('fc_multiplier', a.fcMultiplier), i('fc_shift', a.fcShift),
    i('ic_multiplier', a.icMultiplier), i('ic_shift', a.icShift), i('h_multiplier', a.hMultiplier), i('h_shift', a.hShift),
    i('cell_scale_power', a.cellScalePower), i('cell_clip', a.cellClip), b('cell_sigmoid', a.cellAct === 'sigmoid'), '};'];
  const steps = T * B;
  e.push([L.join('\n')], [`nnet::tfl_lstm<${e.tref(x)}, ${y.ctype}, config${idx}>(${e.ref(x)}, ${y.name}, w${idx}, r${idx}, b${idx}, q${idx}, t${idx});`], {
    kernel: 'nnet::tfl_lstm', macs: steps * 4 * H * (I + H), multipliers: 1, reuse: I + H, perIter: I + H, iterations: steps * 4 * H,
    weightBits: (wT.size + rT.size) * 8 + bT.size * 32 + 16 * 32 + 256 * 16, outBits: y.size * 8, int8: true, requant: true,
    recurrent: { steps, stateCycles: H, stateMults: 3, activations: 5 },
  });
}

type LowerFn = (e: Emitter, n: Node) => void;

const LOWER: Record<string, LowerFn> = {
  Conv: lowerConv, 'edgec.FusedConv': lowerConv, 'edgec.QConv': lowerConv,
  Gemm: lowerDense, 'edgec.FusedGemm': lowerDense, MatMul: lowerMatMul, 'edgec.FusedMatMul': lowerMatMul, 'edgec.QGemm': lowerDense,
  Add: lowerBinary, Sub: lowerBinary, Mul: lowerBinary, Div: lowerBinary, Max: lowerBinary, Min: lowerBinary, Pow: lowerBinary,
  'edgec.QAdd': lowerQBinary, 'edgec.QMul': lowerQBinary,
  ...Object.fromEntries(Object.keys(ACT_ID).map((k) => [k, lowerUnary])),
  Softmax: lowerSoftmax, LogSoftmax: lowerSoftmax, 'edgec.QSoftmax': lowerQSoftmax, 'edgec.QLut': lowerQLut,
  MaxPool: lowerPool, AveragePool: lowerPool, GlobalAveragePool: lowerPool, GlobalMaxPool: lowerPool, 'edgec.QAvgPool': lowerPool,
  ...Object.fromEntries(Object.keys(RED_ID).map((k) => [k, lowerReduce])), 'edgec.QReduceMean': lowerReduce,
  BatchNormalization: lowerBatchNorm, LayerNormalization: lowerLayerNorm, Pad: lowerPad,
  Concat: lowerConcat, Slice: lowerSlice, Transpose: lowerTranspose,
  QuantizeLinear: lowerQuantLinear, DequantizeLinear: lowerQuantLinear, 'edgec.Requantize': lowerRequantize, 'edgec.TflQuantize': lowerTflQuantize,
  LSTM: lowerRecurrent, GRU: lowerRecurrent, RNN: lowerRecurrent, 'edgec.TflLstm': lowerTflLstm,
};

/** Ops that only reinterpret the flat NCHW buffer (reshape-free layouts). */
const ALIAS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);

function qualified(n: Node): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.op : `${n.domain}.${n.op}`;
}

/** Ops the HLS target generates code for (qualified names), plus the layout-only aliases. */
export const HLS_OPS: readonly string[] = [...Object.keys(LOWER), ...ALIAS].sort();

// ---------------------------------------------------------------------------------------------
// Project files
// ---------------------------------------------------------------------------------------------

/** The generated project before estimates and files are assembled. */
export interface Lowered {
  e: Emitter;
  inputs: { id: ValueId; name: string; shape: number[]; dtype: string; size: number }[];
  outputs: { id: ValueId; name: string; shape: number[]; dtype: string; size: number }[];
}

/**
 * The block-wise int4 weight a DequantizeLinear node computes, when the int4 kernels can read it
 * directly: DequantizeLinear(q: i4 constant, scale: float constant, zero point absent or 0,
 * block_size > 0) whose every use is the weight of a Conv (blocks along axis 1) or of a Gemm/MatMul
 * (blocks along the reduction axis), as quantize/int4.ts writes it. Otherwise null (the node is
 * folded to a float constant like any constant subgraph).
 */
function blockedWeight(e: Emitter, n: Node): BlockedWeight | null {
  if (n.op !== 'DequantizeLinear' || (n.domain !== '' && n.domain !== 'ai.onnx')) return null;
  const q = n.inputs[0] == null ? undefined : e.consts.get(n.inputs[0]);
  const scale = n.inputs[1] == null ? undefined : e.consts.get(n.inputs[1]);
  const zp = n.inputs[2] == null ? undefined : e.consts.get(n.inputs[2]);
  if (!q || q.dtype !== 'i4' || !scale || !isFloatDt(scale.dtype) || scale.shape.length !== q.shape.length) return null;
  if (n.inputs[2] != null && (!zp || zp.toNumbers().some((v) => v !== 0))) return null;
  const a = e.attrs<{ axis: number; blockSize: number }>(n);
  if (!(a.blockSize > 0)) return null;
  const axis = normAxis(a.axis, q.shape.length);
  const out = n.outputs[0]!;
  const uses = e.g.uses().get(out) ?? [];
  if (uses.length === 0 || e.g.outputs.includes(out)) return null;
  for (const c of uses) {
    if (c.inputs[1] !== out || c.inputs.filter((v) => v === out).length !== 1) return null;
    const base = c.domain === 'edgec' ? c.op.replace(/^Fused/, '') : c.domain === '' || c.domain === 'ai.onnx' ? c.op : '';
    if (base === 'Conv' && q.shape.length >= 3 && axis === 1) continue;
    if (base === 'MatMul' && q.shape.length === 2 && axis === 0) continue;
    if (base === 'Gemm' && q.shape.length === 2 && axis === (c.attrs['transB'] === 1 ? 1 : 0)) continue;
    return null;
  }
  return { q, scale, axis, block: a.blockSize };
}

/** Activations whose f16 result is the same fused or not (they commute with rounding to half). */
const HALF_FUSABLE = new Set(['Relu', 'Clip']);

/**
 * fp16/int4 graphs (quantize/ splits the pipeline's fused activations back into ONNX ops): fuses
 * an activation node into the Conv/Gemm/MatMul that is its only input, when nothing else reads the
 * layer's output. f32: the fused kernel applies the activation to the same float value the
 * separate layer would read; f16: only Relu/Clip, which commute with the rounding to half.
 */
function planFusion(e: Emitter): void {
  const uses = e.g.uses();
  for (const n of e.g.orderedNodes()) {
    if ((n.domain !== '' && n.domain !== 'ai.onnx') || !['Conv', 'Gemm', 'MatMul'].includes(n.op) || n.outputs.length !== 1) continue;
    const out = n.outputs[0]!;
    const us = uses.get(out) ?? [];
    const act = us[0];
    if (us.length !== 1 || !act || e.g.outputs.includes(out) || act.inputs[0] !== out || (act.domain !== '' && act.domain !== 'ai.onnx')) continue;
    if (ACT_ID[act.op] === undefined || act.outputs.length !== 1 || act.inputs.slice(1).some((v) => v === out)) continue;
    const dt = e.g.typeOf(out).dtype;
    if (dt !== 'f32' && !(dt === 'f16' && HALF_FUSABLE.has(act.op))) continue;
    if (e.g.typeOf(act.outputs[0]!).dtype !== dt) continue;
    try {
      unarySpec(paramCtx(e, act), act);
    } catch {
      continue; // e.g. Clip bounds that are not constants: stays a separate layer
    }
    e.fusedAct.set(n.id, act);
    e.absorbed.add(act.id);
  }
}

/**
 * Lowers the graph and, with the 'auto' reuse factor, raises per-layer reuse factors until the
 * design fits the part: while the estimate exceeds the DSP, LUT or BRAM budget, the layer using the
 * most of the scarcest resource (that can still share its multipliers more) moves to the next
 * divisor of its multiplications per iteration (hls4ml's reuse-factor rule). An explicit reuse
 * factor or per-layer factors are taken as given. When even full reuse does not fit, an
 * `unsupported` error says by how much (or the estimate warns, with `fit: 'warn'`).
 */
function fitToPart(g: Graph, opts: HlsOptions, part: Part, clockNs: number): Lowered {
  const est0 = (costs: LayerCost[], l: Lowered) => estimateProject(costs, {
    part, clockNs, precision: opts.precision ?? 'fp32', bufferBits: l.e.locals.map((bf) => bf.size * BITS[bf.dtype]!),
  });
  const low = lowerAll(g, opts);
  if ((opts.reuseFactor !== undefined && opts.reuseFactor !== 'auto') || opts.fit === 'off') return low;
  const layerReuse: Record<number, number> = { ...(opts.layerReuse ?? {}) };
  const fixed = new Set(Object.keys(opts.layerReuse ?? {}).map(Number));
  // the search changes only reuse factors, so it runs on the cost records (multipliers =
  // ceil(perIter / reuse)); the graph is lowered once more with the factors it settles on
  const costs = low.e.layers.map((x) => ({ ...x.cost }));
  let est = est0(costs, low);
  let changed = false;
  for (let step = 0; step < 4096 && !est.fits; step++) {
    const over = (['dsp', 'lut', 'bram18k'] as const).filter((k) => est.total[k] > est.available[k])
      .sort((a, b) => est.total[b] / est.available[b] - est.total[a] / est.available[a]);
    let moved = false;
    for (const res of over) {
      let best = -1;
      for (let i = 0; i < costs.length; i++) {
        const c = costs[i]!;
        if (fixed.has(c.index) || c.perIter === undefined || c.reuse >= c.perIter || !(est.layers[i]![res] > 0)) continue;
        if (best < 0 || est.layers[i]![res] > est.layers[best]![res]) best = i;
      }
      if (best < 0) continue;
      const c = costs[best]!;
      // next divisor of the multiplications per iteration that needs fewer parallel multipliers
      let r = c.reuse + 1;
      while (r < c.perIter! && (c.perIter! % r !== 0 || Math.ceil(c.perIter! / r) >= c.multipliers)) r++;
      r = Math.min(r, c.perIter!);
      costs[best] = { ...c, reuse: r, multipliers: Math.ceil(c.perIter! / r) };
      layerReuse[c.index] = r;
      moved = changed = true;
      break;
    }
    if (!moved) break;
    est = est0(costs, low);
  }
  if (!est.fits && opts.fit !== 'warn') {
    const by = (['dsp', 'bram18k', 'lut', 'ff'] as const).filter((k) => est.total[k] > est.available[k])
      .map((k) => `${k === 'bram18k' ? 'BRAM18K' : k.toUpperCase()} ${est.total[k]} of ${est.available[k]} (${(est.total[k] / est.available[k]).toFixed(2)}x)`);
    const wbits = costs.reduce((s0, x) => s0 + x.weightBits, 0);
    const bigger = Object.values(PARTS).filter((p) => p.bram18k * 18432 >= wbits && p.dsp > part.dsp).map((p) => p.name)[0] ?? 'xcu250';
    throw unsupported(`the design does not fit the ${part.name} even with every layer at its largest reuse factor: ${by.join(', ')}; `
      + `the weights alone are ${(wbits / 8 / 1024).toFixed(1)} KiB against ${(part.bram18k * 18432 / 8 / 1024).toFixed(0)} KiB of BRAM`, {
      hint: `pick a larger part (--hls-part ${bigger}), a smaller model (--int4, --prune), or --hls-fit warn to emit it anyway`,
    });
  }
  return changed ? lowerAll(g, { ...opts, layerReuse }) : low;
}

/**
 * Lowers every node of a graph to layers (config structs, kernel calls, weights, buffers): the
 * part of the hls emitter the c target shares (one definition per op).
 * @param g optimized graph with concrete shapes
 * @param opts precision (from `graphPrecision` when absent) and reuse settings
 */
export function lowerAll(g: Graph, opts: HlsOptions): Lowered {
  const e = new Emitter(g, { ...opts, maxMultipliers: opts.maxMultipliers ?? 64 });
  const lowPrecision = opts.precision === 'fp16' || opts.precision === 'int4';
  if (lowPrecision) planFusion(e);
  const inputs = g.inputs.filter((id) => !g.consts.has(id)).map((id, k) => {
    const v = g.value(id);
    const shape = e.shape(id);
    const dtype = v.type.dtype;
    const ctype = e.ctypeOf(dtype);
    e.typedefs.push(`typedef ${ctype} input${k}_t;`);
    e.bufs.set(id, { name: `in${k}`, ctype: `input${k}_t`, size: Math.max(1, numel(shape)), dtype });
    return { id, name: v.name, shape, dtype, size: Math.max(1, numel(shape)) };
  });
  for (const n of g.orderedNodes()) {
    e.node = n;
    if (e.absorbed.has(n.id)) continue;
    try {
      const bw = opts.precision === 'int4' ? blockedWeight(e, n) : null;
      if (bw) {
        e.blocked.set(n.outputs[0]!, bw);
        continue;
      }
      const present = n.inputs.filter((x): x is ValueId => x !== null);
      if (present.length > 0 && present.every((x) => e.consts.has(x))) {
        const act = e.fusedAct.get(n.id);
        if (act) {
          // a constant layer: its activation node folds (or lowers) on its own
          e.fusedAct.delete(n.id);
          e.absorbed.delete(act.id);
        }
        const def = opOf(n, g);
        const opset = opsetOf(n, g);
        const outs = def.ref(n.inputs.map((x) => (x === null ? null : e.consts.get(x)!)), parseAttrs(def, n, opset), { opset, node: n });
        n.outputs.forEach((o, k) => outs[k] && e.consts.set(o, outs[k]!));
        continue;
      }
      if (ALIAS.has(n.op) && (n.domain === '' || n.domain === 'ai.onnx')) {
        const x = n.inputs[0]!;
        if (n.op === 'Dropout' && n.outputs.length > 1 && g.useCount(n.outputs[1]!) > 0) throw unsupported('Dropout mask output is not supported by the HLS target');
        const src = e.bufs.get(x);
        if (!src) throw internal('alias of a value without a buffer');
        e.bufs.set(n.outputs[0]!, src);
        continue;
      }
      if (n.op === 'Cast' && e.dtype(n.inputs[0]!) === g.typeOf(n.outputs[0]!).dtype) {
        e.bufs.set(n.outputs[0]!, e.bufs.get(n.inputs[0]!)!);
        continue;
      }
      if (n.op === 'Cast' && e.dtype(n.inputs[0]!) === 'f16' && g.typeOf(n.outputs[0]!).dtype === 'f32' && e.bufs.has(n.inputs[0]!) &&
          g.outputs.includes(n.outputs[0]!) && g.useCount(n.outputs[0]!) === g.outputs.filter((o) => o === n.outputs[0]).length) {
        // fp16 graph output: the output copy into the float result array widens (exactly)
        e.bufs.set(n.outputs[0]!, e.bufs.get(n.inputs[0]!)!);
        continue;
      }
      if (n.op === 'Cast' && (n.domain === '' || n.domain === 'ai.onnx')) {
        const from = e.dtype(n.inputs[0]!);
        const to = g.typeOf(n.outputs[0]!).dtype;
        // exact widening casts, and f32 <-> f16 (the fp16 graph's boundary: round to nearest even)
        const widen: Record<string, string[]> = { i8: ['i16', 'i32', 'f32'], u8: ['i16', 'u16', 'i32', 'f32'], i16: ['i32', 'f32'], u16: ['i32', 'f32'], i32: ['f32'], f32: ['f16'], f16: ['f32'] };
        if (!(widen[from] ?? []).includes(to)) throw unsupported(`Cast from ${from} to ${to} is not supported by the HLS target (exact widening casts and f32 <-> f16 only)`);
        lowerCopy(e, n, n.inputs[0]!);
        continue;
      }
      const fn = LOWER[qualified(n)];
      if (!fn) throw unsupported(`no HLS kernel for op ${qualified(n)}`);
      if (n.outputs.length > 1 && !n.op.endsWith('Pool') && n.op !== 'BatchNormalization' && n.op !== 'LayerNormalization' && n.op !== 'Dropout' && n.op !== 'LSTM' && n.op !== 'GRU' && n.op !== 'RNN') {
        if (n.outputs.slice(1).some((o) => g.useCount(o) > 0 || g.outputs.includes(o))) throw unsupported(`${n.op} with several outputs is not supported by the HLS target`);
      }
      fn(e, n);
    } catch (err) {
      if (err instanceof EdgecError) throw err.withContext({ node: n.name, op: n.op, opset: opsetOf(n, g) });
      throw err;
    }
  }
  const outputs = g.outputs.map((id) => {
    const v = g.value(id);
    const shape = e.shape(id);
    e.ctypeOf(v.type.dtype);
    return { id, name: v.name, shape, dtype: v.type.dtype, size: Math.max(1, numel(shape)) };
  });
  return { e, inputs, outputs };
}

/** Seeded uniform [-1, 1) input for the default test vectors (mulberry32). */
function seededInput(shape: number[], dtype: string, seed: number): Tensor {
  let s = seed >>> 0;
  const r = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = numel(shape);
  const v = new Array<number>(n);
  for (let k = 0; k < n; k++) v[k] = isFloatDt(dtype) ? r() * 2 - 1 : Math.floor(r() * 7) - 3;
  return Tensor.from(dtype as never, shape, v);
}

/** Text form of tensor values for the testbench (.dat): exact (shortest round-trip decimal). */
export function datLine(t: Tensor): string {
  const vals = t.toNumbers().map((v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : String(v)));
  return vals.join(' ');
}

export const PRECISIONS: readonly string[] = ['fp32', 'fp16', 'int8', 'int4'];

/** The precision a graph was prepared for: int8 (edgec.Q* integer ops), fp16 (float16 values),
 * int4 (int4 weights behind DequantizeLinear), else fp32. */
export function graphPrecision(g: Graph): string {
  const nodes = g.orderedNodes();
  if (nodes.some((n) => n.domain === 'edgec' && /^(QConv|QGemm|QAdd|QMul|QAvgPool|QReduceMean|Requantize)$/.test(n.op))) return 'int8';
  if (nodes.some((n) => n.outputs.some((o) => g.typeOf(o).dtype === 'f16'))) return 'fp16';
  if (nodes.some((n) => n.op === 'DequantizeLinear' && n.inputs[0] != null && g.consts.get(n.inputs[0])?.dtype === 'i4')) return 'int4';
  return 'fp32';
}

/** Result of `emitHls`. */
export interface HlsArtifact extends Artifact {
  estimate: HlsEstimate;
}

/**
 * Emits the Vitis HLS project for an optimized graph (run `hlsTarget.pipeline()` and, for int8,
 * quantize/ first; or use `compileHls`).
 * @param g optimized graph with concrete shapes (fp32, or the quantized integer graph)
 * @param opts precision, reuse factor, part, interface, test vectors
 */
export function emitHls(g: Graph, opts: HlsOptions = {}): HlsArtifact {
  const precision = opts.precision ?? graphPrecision(g);
  if (!PRECISIONS.includes(precision)) throw unsupported(`precision ${precision} is not supported by the hls target (${PRECISIONS.join(', ')})`);
  if (precision === 'fp16' && graphPrecision(g) !== 'fp16') throw invalid('precision fp16 needs the float16 graph of quantize/ (quantizeModel mode fp16); this graph has no float16 values');
  const top = opts.topName ?? 'myproject';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(top) || /^(main|nnet|std)$/.test(top)) throw usage(`top function name "${top.slice(0, 40)}" is not a valid C identifier`);
  const io = opts.io ?? 'm_axi';
  if (io !== 'm_axi' && io !== 'axis') throw usage(`interface ${String(io)} must be m_axi or axis`);
  const part = resolvePart(opts.part ?? 'xc7z020');
  const clockNs = opts.clockNs ?? 10;
  if (!(clockNs > 0)) throw usage(`clock period ${clockNs} must be > 0`);
  const { e, inputs, outputs } = fitToPart(g, { ...opts, precision }, part, clockNs);

  // output copies into the top-function result arrays
  const outCalls: string[] = [];
  const outCfgs: string[] = [];
  outputs.forEach((o, k) => {
    e.typedefs.push(`typedef ${e.ctypeOf(o.dtype)} result${k}_t;`);
    const c = e.consts.get(o.id);
    const src = c ? e.constArray(o.id, c) : e.bufs.get(o.id)?.name;
    const st = c ? e.ctypeOf(c.dtype) : e.bufs.get(o.id)?.ctype;
    if (!src || !st) throw internal(`output ${k} has no buffer`);
    outCfgs.push([`// output ${k} copy`, `struct config_out${k} : nnet::copy_config {`, u('n_elem', o.size), '};'].join('\n'));
    outCalls.push(`// output ${k}: ${commentText(o.name)}`, `nnet::copy<${st}, result${k}_t, config_out${k}>(${src}, out${k});`);
  });
  e.kernels.add('nnet_merge.h');

  const estimate = estimateProject(e.layers.map((l) => l.cost), { part, clockNs, precision, bufferBits: e.locals.map((bf) => bf.size * BITS[bf.dtype]!) });

  const version = edgecVersion();
  const head = (what: string) => `// ${what}\n// Generated by edgec ${version} (hls target). Do not edit.\n`;
  const guard = (name: string, body: string) => `#ifndef ${name}\n#define ${name}\n\n${body}\n#endif\n`;
  const files = new Map<string, string>();

  // defines.h: sizes and types (half comes from the kernel library's nnet_common.h)
  const usesHalf = [...e.locals, ...inputs, ...outputs].some((bf) => bf.dtype === 'f16') || [...e.consts.values()].some((t) => t.dtype === 'f16');
  const defs: string[] = ['#include <cstdint>', '#include <cstddef>', '#if defined(__SYNTHESIS__) || defined(EDGEC_AP_TYPES)', '#ifndef EDGEC_AP_TYPES', '#define EDGEC_AP_TYPES', '#endif',
    '#include "ap_int.h"', '#include "ap_fixed.h"', '#endif', ...(usesHalf ? ['#include "nnet_utils/nnet_common.h"'] : []), ''];
  inputs.forEach((x, k) => defs.push(`// input ${k}: ${commentText(x.name)} [${x.shape.join(', ')}] ${x.dtype}`, `#define N_INPUT_${k} ${x.size}`));
  outputs.forEach((y, k) => defs.push(`// output ${k}: ${commentText(y.name)} [${y.shape.join(', ')}] ${y.dtype}`, `#define N_OUTPUT_${k} ${y.size}`));
  defs.push(`#define N_INPUTS ${inputs.length}`, `#define N_OUTPUTS ${outputs.length}`, '', ...e.typedefs);
  files.set('firmware/defines.h', head('Sizes and data types') + guard('EDGEC_DEFINES_H_', defs.join('\n') + '\n'));

  // weights
  const wincs: string[] = [];
  for (const w of e.weights) {
    const body = `#include "../defines.h"\n#include "../nnet_utils/nnet_conv.h"\n#include <limits>\n\nstatic const ${w.ctype} ${w.name}[${w.count}] = {\n${w.body}\n};\n`;
    files.set(`firmware/weights/${w.name}.h`, head(`Weights ${w.name}`) + guard(`EDGEC_W_${w.name.toUpperCase()}_H_`, body));
    wincs.push(`#include "weights/${w.name}.h"`);
  }
  // parameters.h
  const kincs = LIB_FILES.filter((f0) => e.kernels.has(f0) || f0 === 'nnet_common.h').map((f0) => `#include "nnet_utils/${f0}"`);
  if (e.weights.some((w) => w.ctype === 'nnet::qchan') && !e.kernels.has('nnet_conv.h')) kincs.push('#include "nnet_utils/nnet_conv.h"');
  const params = [...kincs, '#include "defines.h"', '', ...wincs, '', ...e.layers.flatMap((l) => [l.comment, ...l.configs, '']), ...outCfgs, ''];
  files.set('firmware/parameters.h', head('Layer configurations (one struct per layer: static consts + typedefs)') + guard('EDGEC_PARAMETERS_H_', params.join('\n')));

  // top function
  const args = [...inputs.map((x, k) => `const input${k}_t in${k}[N_INPUT_${k}]`), ...outputs.map((_, k) => `result${k}_t out${k}[N_OUTPUT_${k}]`)];
  const proto = `void ${top}(\n  ${args.join(',\n  ')}\n)`;
  files.set(`firmware/${top}.h`, head('Top function') + guard('EDGEC_TOP_H_', `#include "defines.h"\n\n${proto};\n`));
  const pragmas: string[] = [];
  const ports = [...inputs.map((_, k) => [`in${k}`, `N_INPUT_${k}`]), ...outputs.map((_, k) => [`out${k}`, `N_OUTPUT_${k}`])];
  ports.forEach(([p, n], k) => {
    if (io === 'axis') pragmas.push(`#pragma HLS INTERFACE axis port=${p}`);
    else pragmas.push(`#pragma HLS INTERFACE m_axi port=${p} offset=slave bundle=gmem${k} depth=${n}`, `#pragma HLS INTERFACE s_axilite port=${p} bundle=control`);
  });
  pragmas.push('#pragma HLS INTERFACE s_axilite port=return bundle=control', '#pragma HLS DATAFLOW');
  const body: string[] = [];
  for (const bf of e.locals) body.push(`  static ${bf.ctype} ${bf.name}[${bf.size}];`);
  if (e.locals.length) body.push('');
  for (const l of e.layers) {
    body.push(`  ${l.comment}`);
    for (const c of l.calls) body.push(`  ${c}`);
  }
  body.push('', ...outCalls.map((c) => `  ${c}`));
  files.set(`firmware/${top}.cpp`, head('Top function: one kernel call per layer') +
    `#include "${top}.h"\n#include "parameters.h"\n\n${proto} {\n${pragmas.join('\n')}\n\n${body.join('\n')}\n}\n`);

  // kernel library
  const lib = hlsLibraryPath();
  for (const f0 of LIB_FILES) files.set(`firmware/nnet_utils/${f0}`, fs.readFileSync(path.join(lib, f0), 'utf8'));

  // testbench + vectors
  let tv: { inputs: Tensor[]; outputs: Tensor[] } | null = null;
  if (opts.testVectors !== false) {
    const ins = opts.testVectors?.inputs ?? inputs.map((x, k) => seededInput(x.shape, x.dtype, 17 + k));
    if (ins.length !== inputs.length) throw invalid(`test vectors: ${ins.length} input(s) given, the model has ${inputs.length}`);
    ins.forEach((t, k) => {
      if (t.size !== inputs[k]!.size) throw invalid(`test vectors: input ${k} has ${t.size} values, expected ${inputs[k]!.size}`);
    });
    const outs = opts.testVectors?.outputs ?? runGraph(g, ins);
    tv = { inputs: ins, outputs: outs };
  }
  if (tv) {
    files.set('tb_data/tb_input_features.dat', tv.inputs.map(datLine).join('\n') + '\n');
    files.set('tb_data/tb_output_predictions.dat', tv.outputs.map(datLine).join('\n') + '\n');
  }
  // int8: outputs of the integer kernels (DequantizeLinear) must match exactly; float islands
  // (Softmax, Tanh... kept float by the quantizer) are float math like the fp32 target
  const exact = outputs.map((o) => fromDequantize(g, o.id));
  files.set(`tb/${top}_test.cpp`, testbench(top, inputs.length, exact, !!tv, precision));
  files.set('build_prj.tcl', buildTcl(top, part.fullName, clockNs, usesHalf));
  files.set('estimate.json', JSON.stringify(estimate, null, 2) + '\n');

  const sorted = new Map([...files].sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)));
  const { macs, params: nparams } = graphStats(g);
  const ioSpec = (xs: Lowered['inputs']): IoSpec[] => xs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype }));
  const weightsBytes = e.weights.reduce((s0, w) => s0 + Math.ceil(w.bits / 8), 0);
  const arenaBytes = e.locals.reduce((s0, bf) => s0 + Math.ceil((bf.size * BITS[bf.dtype]!) / 8), 0);
  const manifest: ArtifactManifest = {
    edgec: version,
    target: 'hls',
    precision,
    inputs: ioSpec(inputs),
    outputs: ioSpec(outputs),
    macs,
    params: nparams,
    weights_bytes: weightsBytes,
    arena_bytes: arenaBytes,
    files: Object.fromEntries([...sorted].map(([k, v]) => [k, sha256(v)])),
    top,
    part: part.fullName,
    clock_ns: clockNs,
    interface: io,
    layers: e.layers.length,
    test_vectors: !!tv,
    estimate: { dsp: estimate.total.dsp, bram18k: estimate.total.bram18k, lut: estimate.total.lut, ff: estimate.total.ff,
      latency_cycles: estimate.total.latency_cycles, interval_cycles: estimate.total.interval_cycles, fits: estimate.fits, warnings: estimate.warnings },
  };
  return { files: sorted, manifest, estimate };
}

/** True when a value is a DequantizeLinear result (through layout-only aliases). */
export function fromDequantize(g: Graph, id: ValueId): boolean {
  for (;;) {
    const n = g.producerOf(id);
    if (!n) return false;
    if (n.op === 'DequantizeLinear') return true;
    if (!ALIAS.has(n.op)) return false;
    id = n.inputs[0]!;
  }
}

function testbench(top: string, nIn: number, exact: boolean[], haveRef: boolean, precision: string): string {
  // fp16: every layer rounds to half (~5e-4 relative), so compare against 1% of the output's range
  const half = precision === 'fp16';
  const ins = Array.from({ length: nIn }, (_, k) => k);
  const outs = exact.map((_, k) => k);
  return `// C simulation testbench: reads input vectors, runs ${top}, writes the outputs and (without
// arguments) compares them with the expected vectors of tb_data/.
// Usage: ${top}_test [INPUT_FILE [OUTPUT_FILE]]  (whitespace-separated values, inputs in order)
// Generated by edgec ${edgecVersion()} (hls target). Do not edit.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "../firmware/${top}.h"

static bool read_values(FILE *f, std::vector<double> &v) {
  for (size_t i = 0; i < v.size(); i++) {
    if (std::fscanf(f, "%lf", &v[i]) != 1) return false;
  }
  return true;
}

int main(int argc, char **argv) {
  const char *in_path = argc > 1 ? argv[1] : "tb_data/tb_input_features.dat";
  const char *out_path = argc > 2 ? argv[2] : "tb_data/csim_results.log";
  const bool check = argc <= 1 && ${haveRef ? 'true' : 'false'};
  FILE *fi = std::fopen(in_path, "r");
  if (!fi) { std::fprintf(stderr, "cannot open input file %s\\n", in_path); return 2; }
${ins.map((k) => `  static input${k}_t in${k}[N_INPUT_${k}];
  {
    std::vector<double> v(N_INPUT_${k});
    if (!read_values(fi, v)) { std::fprintf(stderr, "input ${k}: expected %d values in %s\\n", (int)N_INPUT_${k}, in_path); return 2; }
    for (size_t i = 0; i < v.size(); i++) in${k}[i] = (input${k}_t)v[i];
  }`).join('\n')}
  std::fclose(fi);
${outs.map((k) => `  static result${k}_t out${k}[N_OUTPUT_${k}];`).join('\n')}

  ${top}(${[...ins.map((k) => `in${k}`), ...outs.map((k) => `out${k}`)].join(', ')});

  FILE *fo = std::fopen(out_path, "w");
  if (!fo) { std::fprintf(stderr, "cannot write output file %s\\n", out_path); return 2; }
${outs.map((k) => `  for (size_t i = 0; i < N_OUTPUT_${k}; i++) std::fprintf(fo, i ? " %.17g" : "%.17g", (double)out${k}[i]);
  std::fprintf(fo, "\\n");`).join('\n')}
  std::fclose(fo);

  if (check) {
    FILE *fr = std::fopen("tb_data/tb_output_predictions.dat", "r");
    if (!fr) { std::fprintf(stderr, "cannot open tb_data/tb_output_predictions.dat\\n"); return 2; }
    long bad = 0;
${outs.map((k) => `    {
      // output ${k}: ${exact[k] ? 'integer kernels, exact' : half ? 'half storage, rtol 1e-2 / atol 1e-2 x max |expected|' : 'float, rtol 1e-3 / atol 1e-4'}
      std::vector<double> want(N_OUTPUT_${k});
      if (!read_values(fr, want)) { std::fprintf(stderr, "output ${k}: expected %d values\\n", (int)N_OUTPUT_${k}); return 2; }
${half && !exact[k] ? `      double range = 0;
      for (size_t i = 0; i < want.size(); i++) if (std::isfinite(want[i]) && std::fabs(want[i]) > range) range = std::fabs(want[i]);
      const double rtol = 1e-2, atol = 1e-2 * range;` : `      const double rtol = ${exact[k] ? '0.0' : '1e-3'}, atol = ${exact[k] ? '0.0' : '1e-4'};`}
      for (size_t i = 0; i < want.size(); i++) {
        const double got = (double)out${k}[i];
        const bool same = (got == want[i]) || (std::isnan(got) && std::isnan(want[i])) || std::fabs(got - want[i]) <= atol + rtol * std::fabs(want[i]);
        if (!same) { if (bad < 10) std::printf("output ${k}[%d]: got %.9g, expected %.9g\\n", (int)i, got, want[i]); bad++; }
      }
    }`).join('\n')}
    std::fclose(fr);
    if (bad) { std::printf("FAIL: %ld mismatches\\n", bad); return 1; }
    std::printf("PASS\\n");
  }
  return 0;
}
`;
}

function buildTcl(top: string, part: string, clockNs: number, usesHalf: boolean): string {
  // half: C simulation under vitis_hls uses hls_half.h's half (nnet_common.h)
  const def = usesHalf ? ' -DEDGEC_HLS_HALF' : '';
  return `# Vitis HLS project: C simulation and synthesis of ${top}.
# Usage: vitis_hls -f build_prj.tcl   (set csim/synth to 0 to skip a step)
# Generated by edgec ${edgecVersion()} (hls target).
array set opt {
  csim 1
  synth 1
}
foreach arg $::argv {
  foreach {k v} [split $arg =] { if {[info exists opt($k)]} { set opt($k) $v } }
}
open_project -reset ${top}_prj
set_top ${top}
add_files firmware/${top}.cpp -cflags "-std=c++14${def}"
add_files -tb tb/${top}_test.cpp -cflags "-std=c++14 -Wno-unknown-pragmas${def}"
add_files -tb tb_data
open_solution -reset "solution1" -flow_target vivado
set_part {${part}}
create_clock -period ${clockNs} -name default
config_compile -name_max_length 80
if {$opt(csim)} {
  csim_design
}
if {$opt(synth)} {
  csynth_design
}
exit
`;
}

const HLS = defineTarget('hls', emitHls);

/** The HLS target's passes: the shared pipeline for 'hls'. */
export const hlsPipeline: () => Pass[] = HLS.pipeline;

/**
 * Optimizes a copy of `g` with the hls pipeline and emits the project (fp32). For int8, quantize
 * the optimized graph with quantize/ and pass the integer graph to `emitHls` with precision 'int8'.
 */
export const compileHls: (g: Graph, opts?: HlsOptions) => HlsArtifact & { graph: Graph } = HLS.compile;

/** The HLS Target. */
export const hlsTarget: Target<HlsOptions> = HLS.target;
