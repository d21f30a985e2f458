/**
 * `--bind NAME=VALUE` on compile, run, eval and profile: fixes a graph input to a constant. The
 * value is one number (the input's shape with one element: [] or [1] or [1,1]...) or a comma list
 * with exactly as many numbers as the input has elements (a single symbolic dim takes the size
 * that makes the count fit; any other symbolic dim is 1 for one number). The dtype is the input's.
 * The input leaves the graph's inputs (and an artifact's signature) and becomes a constant, so
 * constant folding folds what follows and an `If` on it is inlined (compiler/passes/if-inline.ts).
 *
 * Errors are one line: an unknown NAME is a usage error (exit 2) listing the inputs; a wrong
 * element count, a value out of range for an integer dtype, a fraction for an integer dtype or a
 * dtype that cannot be bound are 'invalid' (exit 3). Non-numeric text is rejected when the option
 * is parsed (cli/options.ts parseBind, exit 2).
 */
import { Graph } from '../compiler/ir/graph.js';
import { DType, intRange, isBigInt, isFloat, isInt } from '../compiler/ir/dtype.js';
import { Shape, Tensor, shapeToString } from '../compiler/ir/tensor.js';
import { EdgecError, invalid, sanitize, unsupported, usage } from '../compiler/errors.js';

/** `--bind` values: input name -> the value's number tokens, as given. */
export type Bindings = Readonly<Record<string, readonly string[]>>;

/** A number token --bind accepts: a decimal/exponent literal, inf/nan (floats) or true/false (bool). */
export const BIND_TOKEN = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf|nan|true|false)$/i;

/** Input names a --bind NAME may use for `name` (TF.js signatures also say "name:0"). */
function aliases(name: string): string[] {
  return name.endsWith(':0') ? [name, name.slice(0, -2)] : [name, `${name}:0`];
}

/**
 * The shape a bound value gets: the input's shape, its symbolic dims sized so that it holds
 * `count` elements (one number: every symbolic dim is 1; a list: a single symbolic dim takes
 * count / the product of the fixed dims).
 * @param name input name (messages) @param shape the declared shape @param count numbers given
 */
export function boundShape(name: string, shape: Shape, count: number): number[] {
  const fixed = shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
  const sym = shape.filter((d) => typeof d !== 'number').length;
  const what = `--bind ${sanitize(name, 60)}`;
  if (sym === 0 || count === 1) {
    const out = shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = out.reduce((a, d) => a * d, 1);
    if (n !== count) {
      throw invalid(`${what}: the input ${shapeToString(shape)} holds ${n} element(s), but ${count} value(s) were given`, { tensor: name });
    }
    return out;
  }
  if (sym > 1) {
    throw unsupported(`${what}: the input ${shapeToString(shape)} has ${sym} symbolic dims; a list of ${count} values cannot size them`, { tensor: name });
  }
  if (fixed === 0 || count % fixed !== 0) {
    throw invalid(`${what}: ${count} value(s) do not fill the input ${shapeToString(shape)} (a multiple of ${fixed} is needed)`, { tensor: name });
  }
  return shape.map((d) => (typeof d === 'number' ? d : count / fixed));
}

/**
 * The tensor a --bind value stands for, in the input's dtype.
 * @param name input name (messages) @param dtype the input's dtype @param shape the value's shape
 * @param tokens the numbers as given
 */
export function bindTensor(name: string, dtype: DType, shape: readonly number[], tokens: readonly string[]): Tensor {
  const what = `--bind ${sanitize(name, 60)}`;
  const ctx = { tensor: name };
  const bad = tokens.find((s) => !BIND_TOKEN.test(s.trim()));
  if (bad !== undefined) throw usage(`${what}: "${sanitize(bad, 40)}" is not a number`, ctx);
  if (dtype === 'string') throw unsupported(`${what}: the input is a string tensor; only numeric inputs can be bound`, ctx);
  const t = tokens.map((s) => s.trim().toLowerCase());
  if (dtype === 'bool') {
    const vals = t.map((s) => {
      if (s === 'true' || s === 'false') return s === 'true' ? 1 : 0;
      const v = Number(s);
      if (v !== 0 && v !== 1) throw invalid(`${what}: ${sanitize(s, 40)} is not a bool (give 0, 1, true or false)`, ctx);
      return v;
    });
    return Tensor.from('bool', shape, vals);
  }
  if (isFloat(dtype)) {
    const vals = t.map((s) => {
      if (s === 'true' || s === 'false') throw invalid(`${what}: "${s}" is not a number for a ${dtype} input`, ctx);
      const v = s === 'nan' ? NaN : s === 'inf' || s === '+inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
      if (!Number.isFinite(v) && !/inf|nan/.test(s)) throw invalid(`${what}: ${sanitize(s, 40)} is out of range for ${dtype}`, ctx);
      return v;
    });
    return Tensor.from(dtype, shape, vals);
  }
  if (!isInt(dtype)) throw unsupported(`${what}: inputs of dtype ${dtype} cannot be bound`, ctx);
  const vals = t.map((s) => {
    const m = /^([+-]?\d+)(?:\.0*)?$/.exec(s);
    if (!m) {
      const v = Number(s);
      if (!Number.isInteger(v)) throw invalid(`${what}: ${sanitize(s, 40)} is not an integer, and the input is ${dtype}`, ctx);
      // an exponent form such as 1.6e4
      if (!Number.isSafeInteger(v)) throw invalid(`${what}: ${sanitize(s, 40)} is out of range for ${dtype} (write it out in full)`, ctx);
      return BigInt(v);
    }
    return BigInt(m[1]!);
  });
  const [lo, hi] = isBigInt(dtype)
    ? dtype === 'i64' ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n]
    : intRange(dtype).map((x) => BigInt(x)) as [bigint, bigint];
  for (const v of vals) {
    if (v < lo || v > hi) throw invalid(`${what}: ${v} is out of range for ${dtype} [${lo}, ${hi}]`, ctx);
  }
  return Tensor.from(dtype, shape, isBigInt(dtype) ? vals : vals.map((v) => Number(v)));
}

/**
 * Fixes graph inputs to constants (see the file comment). Call it on a freshly imported graph,
 * before its other input shapes are resolved: a bound input's symbolic dims are sized from its
 * value. The caller re-infers shapes (with the other inputs' shapes resolved).
 * @param g the imported graph (edited in place)
 * @param binds --bind values
 * @param file the model file, for messages
 * @returns the names of the inputs bound
 */
export function applyBindings(g: Graph, binds: Bindings | undefined, file?: string): string[] {
  const keys = Object.keys(binds ?? {});
  if (!binds || keys.length === 0) return [];
  const ctx = file ? { file } : {};
  const chosen = new Map<number, string>();
  for (const key of keys) {
    const id = g.inputs.find((i) => aliases(g.value(i).name).includes(key));
    if (id === undefined) {
      const names = g.inputs.map((i) => `"${sanitize(g.value(i).name, 60)}"`).join(', ') || '(none)';
      throw usage(`--bind ${sanitize(key, 60)}: the model has no input "${sanitize(key, 60)}"; its inputs are ${names}`, ctx);
    }
    if (chosen.has(id)) throw usage(`--bind gives input "${sanitize(g.value(id).name, 60)}" twice`, ctx);
    chosen.set(id, key);
  }
  const bound: string[] = [];
  for (const [id, key] of chosen) {
    const v = g.value(id);
    const tokens = binds[key]!;
    if (v.type.kind) throw unsupported(`--bind ${sanitize(key, 60)}: the input is a ${v.type.kind}; only tensor inputs can be bound`, { ...ctx, tensor: v.name });
    let t: Tensor;
    try {
      t = bindTensor(v.name, v.type.dtype, boundShape(v.name, v.type.shape, tokens.length), tokens);
    } catch (e) {
      throw e instanceof EdgecError ? e.withContext(ctx) : e;
    }
    g.inputs = g.inputs.filter((i) => i !== id);
    g.consts.set(id, t);
    v.type = t.type;
    bound.push(v.name);
  }
  return bound;
}
