/**
 * Runtime values beyond tensors: ONNX sequences and optionals (reference interpreter only).
 *
 * A value's static type is a TensorType whose `kind` says which wrapper it has (tensor.ts). At run
 * time a 'sequence' value is a TensorSeq, an 'optional' / 'optional-sequence' value an OptionalValue.
 */
import { DType } from './dtype.js';
import { Tensor, TensorType, ValueKind, shapeToString } from './tensor.js';
import { unsupported } from '../errors.js';

/** An immutable sequence of tensors of one element type (shapes may differ). */
export class TensorSeq {
  /**
   * @param dtype element type of every tensor
   * @param items the tensors, in order
   */
  constructor(readonly dtype: DType, readonly items: readonly Tensor[]) {
    for (const t of items) {
      if (t.dtype !== dtype) throw new Error(`sequence of ${dtype} cannot hold a ${t.dtype} tensor`);
    }
  }
  get length(): number {
    return this.items.length;
  }
}

/** An optional holding a tensor, a sequence, or nothing. `elem` is the type of what it may hold. */
export class OptionalValue {
  /**
   * @param elem the contained type: a tensor type, or a type with kind 'sequence'
   * @param value the contained value, or null when empty
   */
  constructor(readonly elem: TensorType, readonly value: Tensor | TensorSeq | null) {}
}

/** Any value the reference interpreter computes. */
export type RtValue = Tensor | TensorSeq | OptionalValue;

/** Text of a static type's wrapper around `inner` ('seq(f32[2])', 'opt(seq(f32[2]))'). */
export function wrapTypeStr(kind: ValueKind | undefined, inner: string): string {
  switch (kind) {
    case undefined: return inner;
    case 'sequence': return `seq(${inner})`;
    case 'optional': return `opt(${inner})`;
    case 'optional-sequence': return `opt(seq(${inner}))`;
  }
}

/** Short description of a runtime value for messages: 'f32[2,3]', 'seq(3 x f32)', 'opt(empty)'. */
export function describeValue(v: RtValue): string {
  if (v instanceof Tensor) return `${v.dtype}${shapeToString(v.shape)}`;
  if (v instanceof TensorSeq) return `seq(${v.length} x ${v.dtype})`;
  return v.value === null ? 'opt(empty)' : `opt(${describeValue(v.value)})`;
}

/**
 * Throws a one-line 'unsupported' error when `t` is a sequence/optional type: for passes and
 * targets that only handle tensors.
 * @param t the static type to check
 * @param where who is asking (pass or target name), for the message
 */
export function requireTensorType(t: TensorType, where: string): void {
  if (t.kind !== undefined) throw unsupported(`${where}: ${t.kind} values are supported only by the reference interpreter`);
}
