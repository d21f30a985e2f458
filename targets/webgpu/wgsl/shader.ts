/**
 * Typed WGSL snippet helpers (in the spirit of onnxruntime-web's `IndicesHelper`): kernel
 * generators describe their operands as `TensorRef`s and build expressions through them
 * (`x.at(i)`, `y.store(i, v)`, `x.offsetOf([...])`, `decompose(...)`) instead of joining free-form
 * strings. A `ShaderBuilder` assembles the fixed binding header every edgec WebGPU shader shares:
 *
 *   binding 0  `arena`   storage, read_write, array<f32>: every runtime tensor (memory-planned)
 *   binding 1  `weights` storage, read, array<f32>: constants (weights, index tables as bitcast i32)
 *   binding 2  `off`     uniform with a dynamic offset: the element offset of each operand
 *
 * Shapes, strides and attributes are WGSL constants (part of the pipeline cache key); only the
 * operand offsets vary per dispatch, so nodes with equal shapes and attributes share one pipeline.
 */
import { ACT_KINDS, ActKind, actParams } from '../../../compiler/ops/act.js';
import { stridesOf } from '../../../compiler/ir/tensor.js';

/** Where an operand lives: the runtime arena or the constant weights buffer. */
export type BufKind = 'arena' | 'weights';

/** Threads per workgroup of the elementwise-style (one thread per output) kernels. */
export const WG = 64;
/** Workgroups per dimension limit (WebGPU default maxComputeWorkgroupsPerDimension). */
export const MAX_GROUPS = 65535;

/** Row-major element strides of `shape` (compiler/ir/tensor.ts). */
export { stridesOf };

/** Number of elements of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A WGSL i32 literal. */
export function int(v: number): string {
  if (!Number.isInteger(v)) throw new Error(`int(${v}): not an integer`);
  return v < 0 ? `(${v})` : `${v}`;
}

/** A WGSL f32 literal (exact for f32 values; infinities and NaN via bit patterns). */
export function float(v: number): string {
  const f = Math.fround(v);
  // non-finite values go through a function call: WGSL rejects constant expressions that are inf/NaN
  if (Number.isNaN(f)) return 'f32_bits(0x7fc00000u)';
  if (f === Infinity) return 'f32_bits(0x7f800000u)';
  if (f === -Infinity) return 'f32_bits(0xff800000u)';
  const bits = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  // bit-exact and immune to literal-range checks (denormals, max floats)
  return `bitcast<f32>(0x${bits.toString(16)}u)`;
}

/**
 * An operand of a kernel: a tensor of known shape at a per-dispatch element offset in `arena` or
 * `weights`.
 */
export class TensorRef {
  readonly strides: number[];
  readonly size: number;

  /**
   * @param name operand name (a WGSL identifier chosen by the generator, never a graph name)
   * @param shape concrete shape
   * @param buf buffer the operand lives in
   */
  constructor(readonly name: string, readonly shape: readonly number[], readonly buf: BufKind) {
    this.strides = stridesOf(shape);
    this.size = sizeOf(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Expression: the element at flat offset `i` (an i32 expression). */
  at(i: string): string {
    return `${this.buf}[i32(off.${this.name}) + ${i}]`;
  }

  /** Expression: the element at flat offset `i` reinterpreted as i32 (index tables). */
  atInt(i: string): string {
    return `bitcast<i32>(${this.at(i)})`;
  }

  /** Statement: stores `v` at flat offset `i` (arena operands only). */
  store(i: string, v: string): string {
    if (this.buf !== 'arena') throw new Error(`operand ${this.name} is read-only`);
    return `arena[i32(off.${this.name}) + ${i}] = ${v};`;
  }

  /** Expression: flat offset of the index expressions `idx` (one per dim) with this tensor's strides. */
  offsetOf(idx: readonly string[], strides: readonly number[] = this.strides): string {
    return linear(idx, strides);
  }

  /** Expression: element at indices `idx` (one i32 expression per dim). */
  atIndices(idx: readonly string[]): string {
    return this.at(this.offsetOf(idx));
  }
}

/** Expression: sum of idx[k] * strides[k] (terms with stride 0 dropped). */
export function linear(idx: readonly string[], strides: readonly number[]): string {
  const terms = idx.map((e, k) => (strides[k] === 0 ? '' : strides[k] === 1 ? `(${e})` : `(${e}) * ${int(strides[k]!)}`)).filter((t) => t !== '');
  return terms.length === 0 ? '0' : terms.join(' + ');
}

/**
 * Statements declaring `let <prefix><k> = ...` for the row-major indices of flat offset `v` in
 * `shape`; returns the statements and the index variable names.
 */
export function decompose(v: string, shape: readonly number[], prefix: string): { code: string[]; idx: string[] } {
  const st = stridesOf(shape);
  const code: string[] = [];
  const idx: string[] = [];
  shape.forEach((d, k) => {
    const name = `${prefix}${k}`;
    idx.push(name);
    const q = st[k] === 1 ? v : `(${v} / ${int(st[k]!)})`;
    code.push(`let ${name} = ${k === 0 ? q : `${q} % ${int(d)}`};`);
  });
  return { code, idx };
}

/** A WGSL helper function. */
export interface WgslFn {
  name: string;
  code: string;
}

/** Grid of workgroups to dispatch. */
export type Groups = [number, number, number];

/** What a kernel generator returns: the WGSL source, its dispatch grid and operand order. */
export interface KernelProgram {
  wgsl: string;
  groups: Groups;
  /** Operand names in the order of the offsets uniform. */
  operands: string[];
}

/**
 * Builds one compute shader: the shared binding header, the offsets struct (one u32 per operand),
 * helper functions and the entry point.
 */
export class ShaderBuilder {
  private readonly refs: TensorRef[] = [];
  private readonly fns = new Map<string, string>();
  private readonly decls: string[] = [];

  /** @param kernel kernel id (a comment in the source) */
  constructor(readonly kernel: string) {}

  /**
   * Declares an operand.
   * @param name WGSL identifier
   * @param shape concrete shape
   * @param buf buffer the operand lives in
   */
  tensor(name: string, shape: readonly number[], buf: BufKind = 'arena'): TensorRef {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bad operand name ${name}`);
    if (this.refs.some((r) => r.name === name)) throw new Error(`duplicate operand ${name}`);
    const t = new TensorRef(name, shape, buf);
    this.refs.push(t);
    return t;
  }

  /** Adds a helper function once (by name). */
  fn(f: WgslFn): string {
    this.fns.set(f.name, f.code);
    return f.name;
  }

  /** Adds a module-scope declaration (workgroup arrays, constants). */
  decl(code: string): void {
    this.decls.push(code);
  }

  private header(): string {
    const fields = this.refs.map((r) => `  ${r.name}: u32,`).join('\n');
    return [
      `// edgec webgpu kernel: ${this.kernel}`,
      '@group(0) @binding(0) var<storage, read_write> arena: array<f32>;',
      '@group(0) @binding(1) var<storage, read> weights: array<f32>;',
      `struct Offsets {\n${fields || '  unused: u32,'}\n}`,
      '@group(0) @binding(2) var<uniform> off: Offsets;',
      '// bit pattern -> f32 at run time (infinities and NaN cannot be WGSL constant expressions)',
      'fn f32_bits(b: u32) -> f32 {\n  return bitcast<f32>(b);\n}',
    ].join('\n');
  }

  private assemble(entry: string): string {
    return [this.header(), ...this.decls, ...this.fns.values(), entry].join('\n\n') + '\n';
  }

  /**
   * A one-thread-per-item kernel over `count` items (`gi` is the item index, i32); the grid folds
   * into 2-D when it exceeds the per-dimension limit.
   * @param count number of items (threads doing work)
   * @param body statements using `gi`
   */
  linear(count: number, body: readonly string[]): KernelProgram {
    const groups = Math.max(1, Math.ceil(count / WG));
    const gx = Math.min(groups, MAX_GROUPS);
    const gy = Math.ceil(groups / gx);
    const entry = [
      `@compute @workgroup_size(${WG})`,
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
      `  let gi = i32((wid.y * ${gx}u + wid.x) * ${WG}u + lid);`,
      `  if (gi >= ${int(count)}) { return; }`,
      ...body.map((l) => `  ${l}`),
      '}',
    ].join('\n');
    return { wgsl: this.assemble(entry), groups: [gx, gy, 1], operands: this.refs.map((r) => r.name) };
  }

  /**
   * A kernel with an explicit workgroup shape and grid (tiled kernels).
   * @param size workgroup size [x, y, z]
   * @param groups dispatch grid
   * @param body statements (builtins: `wid`, `lid` (vec3<u32>), `lidx` (u32))
   */
  tiled(size: Groups, groups: Groups, body: readonly string[]): KernelProgram {
    for (const g of groups) if (g > MAX_GROUPS) throw new Error(`grid ${groups.join('x')} exceeds ${MAX_GROUPS} per dimension`);
    const entry = [
      `@compute @workgroup_size(${size.join(', ')})`,
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {',
      ...body.map((l) => `  ${l}`),
      '}',
    ].join('\n');
    return { wgsl: this.assemble(entry), groups, operands: this.refs.map((r) => r.name) };
  }
}

/** Fused activation of edgec.Fused* ops (compiler/ops/act.ts kinds). */
export interface Activation {
  kind: string;
  params: number[];
}

/**
 * Adds `fn act(v: f32) -> f32` for a fused activation (identity when absent) and returns the
 * name; the formulas follow compiler/ops/act.ts applyAct.
 */
export function actFn(sb: ShaderBuilder, act: Activation | undefined): string {
  // parameter defaults are the op's (compiler/ops/act.ts actParams)
  const [p0, p1] = act && (ACT_KINDS as readonly string[]).includes(act.kind) ? actParams(act.kind as ActKind, act.params) : [0, 0];
  let body: string;
  switch (act?.kind) {
    case undefined: body = 'return v;'; break;
    case 'Relu': body = 'return max(v, 0.0);'; break;
    case 'Clip': body = `return min(max(v, ${float(p0)}), ${float(p1)});`; break;
    case 'Sigmoid': sb.fn(SIGMOID); body = 'return sigmoid_f32(v);'; break;
    case 'HardSigmoid': body = `return clamp(${float(p0)} * v + ${float(p1)}, 0.0, 1.0);`; break;
    case 'HardSwish': body = 'return v * clamp(v / 6.0 + 0.5, 0.0, 1.0);'; break;
    case 'LeakyRelu': body = `return select(${float(p0)} * v, v, v >= 0.0);`; break;
    case 'Tanh': sb.fn(TANH); body = 'return tanh_f32(v);'; break;
    default: throw new Error(`unknown fused activation ${act?.kind}`);
  }
  return sb.fn({ name: 'act', code: `fn act(v: f32) -> f32 {\n  ${body}\n}` });
}

/** Overflow-safe logistic sigmoid. */
export const SIGMOID: WgslFn = {
  name: 'sigmoid_f32',
  code: 'fn sigmoid_f32(v: f32) -> f32 {\n  let e = exp(-abs(v));\n  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);\n}',
};

/** Overflow-safe tanh (some backends return NaN from tanh() for large |v|). */
export const TANH: WgslFn = {
  name: 'tanh_f32',
  code: 'fn tanh_f32(v: f32) -> f32 {\n  let e = exp(-2.0 * abs(v));\n  return sign(v) * (1.0 - e) / (1.0 + e);\n}',
};

/** erf (Abramowitz-Stegun 7.1.26 refined: max abs error 1.5e-7). */
export const ERF: WgslFn = {
  name: 'erf_f32',
  code: [
    'fn erf_f32(v: f32) -> f32 {',
    '  let a = abs(v);',
    '  let t = 1.0 / (1.0 + 0.3275911 * a);',
    '  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);',
    '  return sign(v) * y;',
    '}',
  ].join('\n'),
};

/** Numerically safe softplus log(1 + exp(v)). */
export const SOFTPLUS: WgslFn = {
  name: 'softplus_f32',
  code: 'fn softplus_f32(v: f32) -> f32 {\n  return max(v, 0.0) + log(1.0 + exp(-abs(v)));\n}',
};
