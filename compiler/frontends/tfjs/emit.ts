/**
 * Graph building shared by the TF.js graph-model and layers-model importers.
 *
 * TF tensors are channels-last (NHWC); the registry's spatial ops (Conv, MaxPool, Resize,
 * BatchNormalization...) are channels-first like ONNX. A rank-4 TF tensor is held as an `LVal` that
 * may exist in TF layout (`tf`), in channels-first layout (`cf`, permutation [0,3,1,2]), or both;
 * each form is materialized on demand with one Transpose, so chains of convolutions and
 * elementwise ops stay channels-first without transpose pairs between them.
 */
import { AttrValue, Graph, ValueId } from '../../ir/graph.js';
import { GraphBuilder } from '../../ir/builder.js';
import { DType } from '../../ir/dtype.js';
import { Tensor, TensorType, numel, stridesOf } from '../../ir/tensor.js';
import { EdgecError, ErrorContext, internal, invalid, unsupported } from '../../errors.js';
import '../../ops/index.js';

/**
 * A TF TensorList (DT_VARIANT) value, as far as edgec represents one: `tensor` is a list unstacked
 * from a tensor (TensorListFromTensor: element i = value[i]); `reserve` an empty list that a while
 * loop fills at its iteration index (it becomes a Loop scan output); `stacked` such a list after
 * the loop, already stacked (`value` = the scan output).
 */
export interface TensorListVal {
  kind: 'tensor' | 'reserve' | 'stacked';
  /** The element-stacked tensor (absent for `reserve`). */
  value?: ValueId;
  /** TensorListReserve's node name (for `reserve`). */
  node?: string;
}

/** A TF value in one or both layouts (cf only for rank-4 values), or a TensorList. */
export interface LVal {
  tf?: ValueId;
  cf?: ValueId;
  list?: TensorListVal;
}

export const TO_CF = [0, 3, 1, 2] as const;
export const TO_TF = [0, 2, 3, 1] as const;

/** Transposes a constant tensor in JS (used for weights, so the graph needs no Transpose). */
export function permuteTensor(t: Tensor, perm: readonly number[]): Tensor {
  const inShape = t.shape;
  const outShape = perm.map((p) => inShape[p]!);
  const out = Tensor.zeros(t.dtype, outShape);
  const inStr = stridesOf(inShape);
  const n = numel(outShape);
  const rank = outShape.length;
  const idx = new Array<number>(rank).fill(0);
  const src = t.data as Float32Array;
  const dst = out.data as Float32Array;
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let k = 0; k < rank; k++) off += idx[k]! * inStr[perm[k]!]!;
    dst[i] = src[off]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** TF SAME padding for one spatial axis: [begin, end] (extra pixel at the end, like TF). */
export function samePads(inSize: number, k: number, stride: number, dilation: number): [number, number] {
  const eff = (k - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + eff - inSize, 0);
  const b = Math.floor(total / 2);
  return [b, total - b];
}

export class Emitter {
  readonly b: GraphBuilder;
  readonly g: Graph;
  /** Context added to errors (file). */
  readonly fctx: ErrorContext;
  private names = new Set<string>();
  /** Per base name, the suffix where the next uniqueness search starts (see uniq). */
  private nextSuffix = new Map<string, number>();

  constructor(name: string, fctx: ErrorContext) {
    this.b = new GraphBuilder(name, { '': 17 });
    this.g = this.b.g;
    this.fctx = fctx;
  }

  /** A node name not used before (names are data; uniqueness keeps printouts readable). */
  uniq(base: string): string {
    let n = base;
    // the first free `${base}_k`, searched from where the last search for this base stopped (names
    // are never released, so every k below it is taken): linear, not quadratic, in repeats of a base
    let k = this.nextSuffix.get(base) ?? 1;
    for (; this.names.has(n); k++) n = `${base}_${k}`;
    if (n !== base) this.nextSuffix.set(base, k);
    this.names.add(n);
    return n;
  }

  /** Adds a registry op node with one output. */
  op(op: string, inputs: (ValueId | null)[], attrs: Record<string, AttrValue>, name: string, domain = ''): ValueId {
    return this.opN(op, inputs, 1, attrs, name, domain)[0]!;
  }

  /** Adds a registry op node with n outputs. */
  opN(op: string, inputs: (ValueId | null)[], n: number, attrs: Record<string, AttrValue>, name: string, domain = ''): ValueId[] {
    const nm = this.uniq(name);
    return this.b.nodeN(op, inputs, n, attrs, { name: nm, domain });
  }

  const(name: string, t: Tensor): ValueId {
    return this.b.const(this.uniq(name), t);
  }
  i64(name: string, vals: readonly number[], scalar = false): ValueId {
    return this.const(name, Tensor.from('i64', scalar ? [] : [vals.length], vals));
  }
  f32(name: string, vals: readonly number[], shape?: readonly number[]): ValueId {
    return this.const(name, Tensor.from('f32', shape ?? (vals.length === 1 ? [] : [vals.length]), vals));
  }
  /** A scalar of `dtype`. */
  scalar(name: string, dtype: DType, v: number): ValueId {
    return this.const(name, Tensor.from(dtype, [], [v]));
  }

  type(id: ValueId): TensorType {
    return this.g.typeOf(id);
  }
  rank(id: ValueId): number {
    return this.type(id).shape.length;
  }
  constOf(id: ValueId): Tensor | undefined {
    return this.g.constOf(id);
  }
  /**
   * Static shape or an error naming what needed it. Dims before `from` may stay symbolic
   * (returned as -1), e.g. the batch dim of a convolution input.
   */
  shape(id: ValueId, what: string, from = 0): number[] {
    const s = this.type(id).shape;
    if (!s.every((d, i) => i < from || typeof d === 'number')) {
      throw unsupported(`${what} needs a static shape, got [${s.join(',')}]`, { hint: 'fix the input shape with --input-shape' });
    }
    return s.map((d) => (typeof d === 'number' ? d : -1));
  }

  /** The TF-layout form of v (adds a Transpose from channels-first if needed). */
  tf(v: LVal): ValueId {
    if (v.tf !== undefined) return v.tf;
    if (v.list) throw unsupported('a TensorList is used where a tensor is expected (only TensorListStack/GetItem read lists)');
    if (v.cf === undefined) throw new Error('empty LVal');
    const c = this.constOf(v.cf);
    v.tf = c ? this.const(`${this.g.value(v.cf).name}/nhwc`, permuteTensor(c, TO_TF))
      : this.op('Transpose', [v.cf], { perm: [...TO_TF] }, `${this.g.value(v.cf).name}/to_nhwc`);
    return v.tf;
  }

  /** The channels-first form of a rank-4 v. */
  cf(v: LVal): ValueId {
    if (v.cf !== undefined) return v.cf;
    const t = this.tf(v);
    if (this.rank(t) !== 4) throw internalRank(this.rank(t));
    const c = this.constOf(t);
    v.cf = c ? this.const(`${this.g.value(t).name}/nchw`, permuteTensor(c, TO_CF))
      : this.op('Transpose', [t], { perm: [...TO_CF] }, `${this.g.value(t).name}/to_nchw`);
    return v.cf;
  }

  /** Rank of the TF value. */
  lrank(v: LVal): number {
    return v.tf !== undefined ? this.rank(v.tf) : 4;
  }

  /** TF-layout shape of v (static dims may be symbolic). */
  ltype(v: LVal): TensorType {
    if (v.tf !== undefined) return this.type(v.tf);
    const t = this.type(v.cf!);
    return { dtype: t.dtype, shape: TO_TF.map((p) => t.shape[p]!) };
  }

  /** Wraps errors thrown while converting one source node with its context. */
  withNodeContext<T>(ctx: ErrorContext, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof EdgecError) throw e.withContext({ ...this.fctx, ...ctx });
      // anything else is a bug in the frontend: report it as such, with the node that triggered it
      throw internal(`TF.js import failed: ${(e as Error).message}`, { ...this.fctx, ...ctx });
    }
  }
}

function internalRank(r: number): Error {
  return invalid(`expected a rank-4 (NHWC) tensor, got rank ${r}`);
}

/** Expands a const broadcast operand to rank 4 and permutes it to channels-first. */
export function constToCf(t: Tensor): Tensor {
  const s = [...t.shape];
  while (s.length < 4) s.unshift(1);
  return permuteTensor(t.reshape(s), TO_CF);
}
