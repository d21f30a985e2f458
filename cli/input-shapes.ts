/**
 * Input shapes on every command (`--input-shape NAME=DIMS` on compile, run, eval, inspect,
 * profile): which size each symbolic input dim of a model gets, in this order:
 *   1. `--input-shape NAME=DIMS` for that input (a NAME the model lacks is a usage error);
 *   2. a dim of the same name already bound on another input (dims are shared by name);
 *   3. the data file given for that input (`run --inputs`, `eval --data`): every symbolic dim but
 *      the first (batch) axis takes the file's size (a file without the batch axis also counts);
 *   4. a symbolic first (batch) dim: 1 (a file with more samples then runs one sample at a time);
 *   5. inputs named in `keepSymbolic` (`--max-input-shape`) keep their symbolic dims;
 *   6. anything left: a one-line 'unsupported' error (exit 4) naming the input and the dims.
 */
import { Shape, shapeToString } from '../compiler/ir/tensor.js';
import { invalid, sanitize, unsupported, usage } from '../compiler/errors.js';

/** One graph input as the model declares it (symbolic dims are strings). */
export interface DeclaredInput {
  name: string;
  shape: Shape;
}

/** Where the sizes of symbolic dims come from. */
export interface ShapeSources {
  /** `--input-shape` values: input name -> dims. */
  given?: Readonly<Record<string, readonly number[]>>;
  /** Shapes of the data files, in graph-input order (run --inputs, eval --data). */
  data?: readonly (readonly number[] | undefined)[];
  /** Inputs whose symbolic dims stay symbolic (compile --max-input-shape). */
  keepSymbolic?: ReadonlySet<string>;
  /** The model file, for error messages. */
  file?: string;
}

/** Input names a --input-shape NAME may use for `name` (TF.js signatures also say "name:0"). */
function aliases(name: string): string[] {
  return name.endsWith(':0') ? [name, name.slice(0, -2)] : [name, `${name}:0`];
}

/**
 * Checks --input-shape names against the model's inputs: an unknown NAME is a usage error (exit 2)
 * listing the valid names.
 * @param inputs the model's declared inputs
 * @param given --input-shape values
 * @param file model file for the message
 * @returns given shapes keyed by the graph's own input names
 */
export function matchInputNames(inputs: readonly DeclaredInput[], given: Readonly<Record<string, readonly number[]>>, file?: string): Map<string, readonly number[]> {
  const out = new Map<string, readonly number[]>();
  for (const key of Object.keys(given)) {
    const hit = inputs.find((i) => aliases(i.name).includes(key));
    if (!hit) {
      const names = inputs.map((i) => `"${sanitize(i.name, 60)}"`).join(', ') || '(none)';
      throw usage(`--input-shape ${sanitize(key, 60)}: the model has no input "${sanitize(key, 60)}"; its inputs are ${names}`, {
        ...(file ? { file } : {}),
      });
    }
    if (out.has(hit.name)) throw usage(`--input-shape gives input "${sanitize(hit.name, 60)}" twice`, { ...(file ? { file } : {}) });
    out.set(hit.name, given[key]!);
  }
  return out;
}

/**
 * Resolves the shape of every graph input (see the file comment for the rules).
 * @param inputs the model's declared inputs, in graph-input order
 * @param src --input-shape values, data-file shapes, inputs kept symbolic
 * @returns input name -> shape (concrete except for inputs in keepSymbolic)
 */
export function resolveInputShapes(inputs: readonly DeclaredInput[], src: ShapeSources = {}): Map<string, Shape> {
  const ctx = src.file ? { file: src.file } : {};
  const given = matchInputNames(inputs, src.given ?? {}, src.file);
  for (const name of src.keepSymbolic ?? []) {
    if (!inputs.some((i) => aliases(i.name).includes(name))) {
      const names = inputs.map((i) => `"${sanitize(i.name, 60)}"`).join(', ') || '(none)';
      throw usage(`--max-input-shape ${sanitize(name, 60)}: the model has no input "${sanitize(name, 60)}"; its inputs are ${names}`, { ...ctx });
    }
  }
  const bound = new Map<string, number>();
  const bind = (dim: string, v: number, input: string): void => {
    const prev = bound.get(dim);
    if (prev !== undefined && prev !== v) {
      throw invalid(`symbolic dim "${sanitize(dim, 60)}" is ${prev} on one input but ${v} on input "${sanitize(input, 60)}"`, { ...ctx, tensor: input });
    }
    bound.set(dim, v);
  };
  // 1. explicit shapes, checked against the model's rank and fixed dims
  for (const inp of inputs) {
    const g = given.get(inp.name);
    if (!g) continue;
    if (g.length !== inp.shape.length) {
      throw invalid(`--input-shape for "${sanitize(inp.name, 60)}" has rank ${g.length}, the model's input has rank ${inp.shape.length} ${shapeToString(inp.shape)}`, { ...ctx, tensor: inp.name });
    }
    inp.shape.forEach((d, k) => {
      if (typeof d === 'number' && d !== g[k]) {
        throw invalid(`--input-shape for "${sanitize(inp.name, 60)}" sets dim ${k} to ${g[k]}, but the model fixes it to ${d}`, { ...ctx, tensor: inp.name });
      }
      if (typeof d === 'string') bind(d, g[k]!, inp.name);
    });
  }
  // 3. data files: every symbolic dim but the batch axis
  inputs.forEach((inp, i) => {
    const s = src.data?.[i];
    if (!s || given.has(inp.name)) return;
    const r = inp.shape.length;
    const off = s.length === r ? 0 : s.length === r - 1 ? 1 : undefined;
    if (off === undefined) return;
    inp.shape.forEach((d, k) => {
      if (k === 0 || typeof d !== 'string' || bound.has(d)) return;
      const v = s[k - off];
      if (v !== undefined && v > 0) bound.set(d, v);
    });
  });
  const out = new Map<string, Shape>();
  for (const inp of inputs) {
    const g = given.get(inp.name);
    if (g) {
      out.set(inp.name, [...g]);
      continue;
    }
    if (aliases(inp.name).some((a) => src.keepSymbolic?.has(a))) {
      out.set(inp.name, inp.shape.map((d) => (typeof d === 'string' && bound.has(d) ? bound.get(d)! : d)));
      continue;
    }
    const missing: string[] = [];
    const shape = inp.shape.map((d, k) => {
      if (typeof d === 'number') return d;
      const v = bound.get(d) ?? (k === 0 ? 1 : undefined);
      if (v === undefined) missing.push(`"${sanitize(d, 40)}" (axis ${k})`);
      return v ?? 0;
    });
    if (missing.length > 0) {
      const template = inp.shape.map((d, k) => (typeof d === 'number' ? String(d) : k === 0 && !bound.has(d) ? '1' : `<${sanitize(d, 20)}>`)).join('x');
      throw unsupported(`input "${sanitize(inp.name, 60)}" has symbolic dim${missing.length > 1 ? 's' : ''} ${missing.join(', ')} with no size: `
        + `give a shape with --input-shape ${sanitize(inp.name, 60)}=${template} or compile for a range with --max-input-shape ${sanitize(inp.name, 60)}=DIMS`,
      { ...ctx, tensor: inp.name });
    }
    out.set(inp.name, shape);
  }
  return out;
}
