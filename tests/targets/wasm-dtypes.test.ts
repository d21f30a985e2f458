/**
 * Every runtime dtype on the wasm target: graphs built in code run through model.mjs and are
 * compared with the reference interpreter (compiler/interp) -- integer and bool outputs bit for bit,
 * float outputs exactly (NaN equals NaN, -0 differs from +0) except the transcendental ops, which
 * may differ from V8's libm by an ulp of f64 before rounding. Inputs mix edge values (INT_MIN, -1,
 * 0, the dtype's extremes, NaN, +-inf, -0, subnormals, halfway cases) with pseudo-random ones, and
 * broadcast against each other (runtime operands and constant operands both).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { DType, ONNX_DTYPE, isBigInt, isFloat } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { EdgecError } from '../../compiler/errors.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, writeTempArtifact } from '../../targets/wasm/runner.js';
import { runOnWasm } from './wasm-helpers.js';
import fs from 'node:fs';
import { rng } from '../helpers/rng.js';

const INTS: DType[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'];
const FLOATS: DType[] = ['f32', 'f64', 'f16', 'bf16'];
const NUMERIC: DType[] = [...FLOATS, ...INTS];
const ALL: DType[] = [...NUMERIC, 'bool'];


/** Edge values of a dtype (bigints for i64/u64). */
function edges(dt: DType): (number | bigint)[] {
  switch (dt) {
    case 'i8': return [-128, 127, -1, 0, 1, 2, -2, 7, -7, 100];
    case 'u8': return [0, 255, 1, 2, 128, 127, 7, 200];
    case 'i16': return [-32768, 32767, -1, 0, 1, 3, -3, 1000, -1000];
    case 'u16': return [0, 65535, 1, 2, 32768, 7, 40000];
    case 'i32': return [-2147483648, 2147483647, -1, 0, 1, 5, -5, 65536, -100000, 123456789];
    case 'u32': return [0, 4294967295, 1, 2, 2147483648, 7, 3000000000];
    case 'i64': return [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 1n, 6n, -6n, 2n ** 40n + 3n, -(2n ** 53n) - 1n, 2n ** 32n];
    case 'u64': return [0n, 2n ** 64n - 1n, 1n, 2n, 2n ** 63n, 9n, 2n ** 40n + 5n, 2n ** 53n + 1n];
    case 'bool': return [0, 1];
    case 'f16': return [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, -2.5, 65504, -65504, 2 ** -24, 2 ** -14, 3.140625, 1000, 0.1];
    case 'bf16': return [NaN, Infinity, -Infinity, -0, 0, 1, -1, 2.5, -3.5, 3e38, 1e-38, 0.1, 1000, -7];
    default: return [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, -2.5, 1.5, 3e38, -1e-30, 1e-45, 4294967296.5, -2147483648.7, 1e20, 9.5, -7.25];
  }
}

/** A tensor of `shape` and dtype `dt`: edge values first, then pseudo-random values of the dtype's range. */
function sample(dt: DType, shape: number[], seed: number, opts: { lo?: number; hi?: number; noEdges?: boolean } = {}): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const e = opts.noEdges ? [] : edges(dt);
  const vals: (number | bigint)[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7 + seed) % (e.length * 2 + 1);
    if (k < e.length) vals.push(e[k]!);
    else if (dt === 'bool') vals.push(r() < 0.5 ? 0 : 1);
    else if (isFloat(dt)) vals.push((opts.lo ?? -100) + ((opts.hi ?? 100) - (opts.lo ?? -100)) * r());
    else {
      const lo = opts.lo ?? (dt.startsWith('u') ? 0 : -1000);
      const hi = opts.hi ?? 1000;
      const v = Math.floor(lo + (hi - lo) * r());
      vals.push(isBigInt(dt) ? BigInt(v) : v);
    }
  }
  return Tensor.from(dt, shape, vals.map((v) => (isBigInt(dt) ? (typeof v === 'bigint' ? v : BigInt(v)) : typeof v === 'bigint' ? Number(v) : v)));
}

/** Element i of a tensor as a comparable key: bigint for integers, the f64 bits' meaning for floats. */
function same(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

/** Allowed float difference: `ulps` units of the output dtype's precision, or an absolute + relative bound. */
interface Tol { ulps?: number; atol?: number; rtol?: number }

/**
 * Null when `got` equals `want` (dtype, shape, every element: bit-exact integers, floats exactly or
 * within `tol`), else a message naming the first difference.
 */
function diff(got: Tensor, want: Tensor, tol: Tol = {}): string | null {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype} != ${want.dtype}`;
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] != [${want.shape}]`;
  const eps = { f32: 2 ** -23, f64: 2 ** -52, f16: 2 ** -10, bf16: 2 ** -7 }[got.dtype as 'f32'] ?? 0;
  for (let i = 0; i < got.size; i++) {
    const a = isBigInt(got.dtype) ? got.getBig(i) : got.get(i);
    const b = isBigInt(want.dtype) ? want.getBig(i) : want.get(i);
    if (same(a, b)) continue;
    if (typeof a === 'number' && typeof b === 'number') {
      const d = Math.abs(a - b);
      if (tol.ulps !== undefined && d <= tol.ulps * eps * Math.max(Math.abs(b), 2 ** -14)) continue;
      if (tol.rtol !== undefined && d <= (tol.atol ?? 0) + tol.rtol * Math.abs(b)) continue;
    }
    return `element ${i}: ${a} != expected ${b}`;
  }
  return null;
}

/** Runs `g` on wasm and the reference; every output must match (see diff; `tol` per output name). */
async function check(g: Graph, inputs: Tensor[], tol: Tol | ((name: string) => Tol) = {}): Promise<void> {
  const want = runGraph(g, inputs);
  const { outputs } = await runOnWasm(g, inputs);
  expect(outputs.length).toBe(want.length);
  const bad = want.map((w, k) => {
    const name = g.value(g.outputs[k]!).name;
    const m = diff(outputs[k]!, w, typeof tol === 'function' ? tol(name) : tol);
    return m === null ? null : `${name}: ${m}`;
  }).filter((m) => m !== null);
  expect(bad).toEqual([]);
}

/** A graph of opset `opset` built by `build`. */
function graph(build: (b: GraphBuilder) => void, opset = 18): Graph {
  const b = new GraphBuilder('dtypes', { '': opset });
  build(b);
  return b.build();
}

const BIN_SHAPE_A = [2, 3, 8];
const BIN_SHAPE_B = [3, 1];

/** Binary ops each dtype class runs, with their attributes. */
const ARITH: { op: string; attrs?: Record<string, number | string> }[] = [
  { op: 'Add' }, { op: 'Sub' }, { op: 'Mul' }, { op: 'Div' }, { op: 'Max' }, { op: 'Min' }, { op: 'Pow' },
  { op: 'Mod', attrs: { fmod: 1 } }, { op: 'Sum' },
];
const COMPARE = ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual'];

describe('wasm dtypes: binary arithmetic (broadcast, runtime and constant operands)', () => {
  for (const dt of NUMERIC) {
    for (const constB of [false, true]) {
      it(`${dt}${constB ? ' (constant b)' : ''}`, async () => {
        const a = sample(dt, BIN_SHAPE_A, 1);
        // small exponents and divisors keep Pow/Div/Mod interesting (zeros included)
        const bT = sample(dt, BIN_SHAPE_B, 2, { lo: dt.startsWith('u') ? 0 : -3, hi: 9, noEdges: !isFloat(dt) && !constB });
        const ops = [...ARITH, ...(isFloat(dt) ? [] : [{ op: 'Mod', attrs: { fmod: 0 } }])];
        const g = graph((b) => {
          const x = b.input('a', dt, BIN_SHAPE_A);
          const y = constB ? b.const('b', bT) : b.input('b', dt, BIN_SHAPE_B);
          for (const o of ops) b.output(b.node(o.op, [x, y], o.attrs ?? {}));
          b.output(b.node('Sum', [x, y, x]), b.node('Max', [y, x, y]), b.node('Min', [x, y, x]));
          // f32 Mean keeps the SIMD kernels' f32 sum (it overflows where the reference's f64 sum does not): checked below
          if (isFloat(dt)) b.output(...(dt === 'f32' ? [] : [b.node('Mean', [x, y, x])]), b.node('Mean', [y]), b.node('PRelu', [x, y]));
        });
        // f64 Pow: libm may differ by an ulp; f32 Mean: the SIMD path multiplies the f32 sum by 1/n
        await check(g, constB ? [a] : [a, bT], (name) => (/^(Pow|Mean)/.test(name) ? { ulps: 2 } : {}));
      });
    }
  }
  it('f32 Mean of finite values within 2 ulps (SIMD sum times 1/n)', async () => {
    const g = graph((b) => {
      const x = b.input('a', 'f32', BIN_SHAPE_A);
      const y = b.input('b', 'f32', BIN_SHAPE_B);
      b.output(b.node('Mean', [x, y, x]));
    });
    await check(g, [sample('f32', BIN_SHAPE_A, 1, { noEdges: true }), sample('f32', BIN_SHAPE_B, 2, { noEdges: true })], { ulps: 2 });
  });
  it('integer division and modulo edge cases (INT_MIN / -1, division by zero)', async () => {
    for (const dt of ['i8', 'i16', 'i32', 'i64'] as DType[]) {
      const e = edges(dt);
      const min = e[0]!;
      const big = isBigInt(dt);
      const v = (x: number) => (big ? BigInt(x) : x);
      const a = Tensor.from(dt, [6], [min, min, v(7), v(-7), v(7), v(-7)]);
      const b = Tensor.from(dt, [6], [v(-1), v(0), v(-2), v(2), v(0), v(-1)]);
      const g = graph((gb) => {
        const x = gb.input('a', dt, [6]);
        const y = gb.input('b', dt, [6]);
        gb.output(gb.node('Div', [x, y]), gb.node('Mod', [x, y]), gb.node('Mod', [x, y], { fmod: 1 }), gb.node('Mul', [x, y]),
          gb.node('Sub', [y, x]), gb.node('Neg', [x]), gb.node('Abs', [x]));
      });
      await check(g, [a, b]);
    }
  });
  it('Pow: integer bases with negative exponents, float exponents on integer bases, integer exponents on floats', async () => {
    const g = graph((b) => {
      const xi = b.input('xi', 'i32', [8]);
      const ei = b.input('ei', 'i64', [8]);
      const ef = b.input('ef', 'f32', [8]);
      const xf = b.input('xf', 'f64', [8]);
      const xu = b.input('xu', 'u64', [8]);
      b.output(b.node('Pow', [xi, ei]), b.node('Pow', [xi, ef]), b.node('Pow', [xf, ei]), b.node('Pow', [xu, ei]), b.node('Pow', [ei, xi]));
    });
    await check(g, [
      Tensor.from('i32', [8], [1, -1, -1, 2, -3, 0, 7, 2147483647]),
      Tensor.from('i64', [8], [-5n, -3n, -4n, 40n, 3n, -1n, 0n, 2n]),
      Tensor.from('f32', [8], [0.5, -1.5, 2, NaN, 3, -1, Infinity, 1.25]),
      Tensor.from('f64', [8], [2, -2, 0.5, NaN, -0, 1e10, 3, -1]),
      Tensor.from('u64', [8], [2n ** 64n - 1n, 3n, 1n, 2n, 5n, 0n, 7n, 2n ** 63n]),
    ]);
  });
});

describe('wasm dtypes: comparisons, logic, bit ops', () => {
  for (const dt of ALL) {
    it(`comparisons on ${dt}`, async () => {
      const a = sample(dt, BIN_SHAPE_A, 3);
      const bT = sample(dt, BIN_SHAPE_B, 4);
      const g = graph((b) => {
        const x = b.input('a', dt, BIN_SHAPE_A);
        const y = b.input('b', dt, BIN_SHAPE_B);
        for (const op of COMPARE) b.output(b.node(op, [x, y]), b.node(op, [x, x]));
      });
      await check(g, [a, bT]);
    });
  }
  it('And / Or / Xor / Not on bool (broadcast)', async () => {
    const g = graph((b) => {
      const x = b.input('a', 'bool', [4, 6]);
      const y = b.input('b', 'bool', [6]);
      for (const op of ['And', 'Or', 'Xor']) b.output(b.node(op, [x, y]));
      b.output(b.node('Not', [x]));
    });
    await check(g, [sample('bool', [4, 6], 5), sample('bool', [6], 6)]);
  });
  for (const dt of ['u8', 'u16', 'u32', 'u64'] as DType[]) {
    it(`BitShift on ${dt} (shifts of the bit width and more give 0)`, async () => {
      const bits = Number(dt.slice(1));
      const big = isBigInt(dt);
      const shifts = [0, 1, 3, bits - 1, bits, bits + 1, 200 % (2 ** bits), 5];
      const s = Tensor.from(dt, [8], shifts.map((v) => (big ? BigInt(v) : v)));
      const g = graph((b) => {
        const x = b.input('x', dt, [3, 8]);
        const k = b.input('k', dt, [8]);
        b.output(b.node('BitShift', [x, k], { direction: 'LEFT' }), b.node('BitShift', [x, k], { direction: 'RIGHT' }));
      });
      await check(g, [sample(dt, [3, 8], 7), s]);
    });
  }
  for (const dt of INTS) {
    it(`BitwiseAnd / Or / Xor / Not on ${dt}`, async () => {
      const g = graph((b) => {
        const x = b.input('a', dt, BIN_SHAPE_A);
        const y = b.input('b', dt, BIN_SHAPE_B);
        for (const op of ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor']) b.output(b.node(op, [x, y]));
        b.output(b.node('BitwiseNot', [x]));
      });
      await check(g, [sample(dt, BIN_SHAPE_A, 8), sample(dt, BIN_SHAPE_B, 9)]);
    });
  }
});

describe('wasm dtypes: Where, Cast, CastLike', () => {
  for (const dt of ALL) {
    it(`Where on ${dt} (three-way broadcast)`, async () => {
      const g = graph((b) => {
        const c = b.input('c', 'bool', [2, 1, 5]);
        const x = b.input('x', dt, [3, 5]);
        const y = b.input('y', dt, [2, 3, 1]);
        b.output(b.node('Where', [c, x, y]));
      });
      await check(g, [sample('bool', [2, 1, 5], 10), sample(dt, [3, 5], 11), sample(dt, [2, 3, 1], 12)]);
    });
  }
  for (const from of ALL) {
    it(`Cast from ${from} to every dtype`, async () => {
      const g = graph((b) => {
        const x = b.input('x', from, [4, 10]);
        for (const to of ALL) b.output(b.node('Cast', [x], { to: ONNX_DTYPE[to] }, { name: `to_${to}` }));
      });
      await check(g, [sample(from, [4, 10], 13, { lo: -1e6, hi: 1e6 })]);
    });
  }
  it('float -> integer conversion of large, negative and non-finite values wraps like the reference', async () => {
    const vals = [3e9, -3e9, 1e19, -1e19, 2 ** 63, -(2 ** 63), 1.8446744073709552e19, 1e30, -1e30, NaN, Infinity, -Infinity, -0.9, 255.9, -128.5, 65535.5];
    const g = graph((b) => {
      const x = b.input('x', 'f64', [vals.length]);
      for (const to of INTS) b.output(b.node('Cast', [x], { to: ONNX_DTYPE[to] }));
      b.output(b.node('Cast', [x], { to: ONNX_DTYPE.bool }));
    });
    await check(g, [Tensor.from('f64', [vals.length], vals)]);
  });
  it('f64 -> f16 / bf16 rounding at halfway points and overflow', async () => {
    const vals = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519.99, 65520, 2 ** -25, 2 ** -25 + 2 ** -40, 3 * 2 ** -26, 1 + 2 ** -8, 1 + 3 * 2 ** -8,
      3.3895313892515355e38, 3.4e38, -0, 1e-45];
    const g = graph((b) => {
      const x = b.input('x', 'f64', [vals.length]);
      b.output(b.node('Cast', [x], { to: ONNX_DTYPE.f16 }), b.node('Cast', [x], { to: ONNX_DTYPE.bf16 }), b.node('Cast', [x], { to: ONNX_DTYPE.f32 }));
    });
    await check(g, [Tensor.from('f64', [vals.length], vals)]);
  });
  it('CastLike takes the target dtype of its second input', async () => {
    const g = graph((b) => {
      const x = b.input('x', 'f32', [12]);
      const t = b.input('t', 'u16', [1]);
      const t2 = b.input('t2', 'i64', [1]);
      b.output(b.node('CastLike', [x, t]), b.node('CastLike', [x, t2]));
    });
    await check(g, [sample('f32', [12], 14), Tensor.from('u16', [1], [0]), Tensor.from('i64', [1], [0n])]);
  });
});

describe('wasm dtypes: unary ops', () => {
  for (const dt of NUMERIC) {
    it(`Neg / Abs / Sign / Relu / Clip on ${dt}`, async () => {
      const lo = sample(dt, [], 15, { lo: -50, hi: 0, noEdges: true });
      const hi = sample(dt, [], 16, { lo: 1, hi: 60, noEdges: true });
      const g = graph((b) => {
        const x = b.input('x', dt, [5, 8]);
        const l = b.input('lo', dt, []);
        const cl = b.const('clo', hi);
        b.output(b.node('Neg', [x]), b.node('Abs', [x]), b.node('Sign', [x]), b.node('Relu', [x]));
        b.output(b.node('Clip', [x, l, cl]), b.node('Clip', [x, null, l]), b.node('Clip', [x, cl]), b.node('Clip', [x]));
      });
      await check(g, [sample(dt, [5, 8], 17), lo]);
    });
  }
  for (const dt of FLOATS) {
    it(`IsNaN / IsInf / rounding ops on ${dt}`, async () => {
      const g = graph((b) => {
        const x = b.input('x', dt, [4, 9]);
        b.output(b.node('IsNaN', [x]), b.node('IsInf', [x]), b.node('IsInf', [x], { detect_negative: 0 }), b.node('IsInf', [x], { detect_positive: 0 }));
        b.output(b.node('Floor', [x]), b.node('Ceil', [x]), b.node('Round', [x]), b.node('Reciprocal', [x]), b.node('Sqrt', [x]));
      });
      await check(g, [sample(dt, [4, 9], 18, { lo: -10, hi: 10 })]);
    });
  }
  const MATH = ['Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Erf', 'Exp', 'Log', 'Tanh',
    'Sigmoid', 'Softplus', 'Softsign', 'Mish', 'HardSwish'];
  for (const dt of FLOATS) {
    it(`transcendental ops on ${dt} (within an ulp)`, async () => {
      const g = graph((b) => {
        const x = b.input('x', dt, [3, 16]);
        for (const op of MATH) b.output(b.node(op, [x]));
        b.output(b.node('LeakyRelu', [x], { alpha: 0.25 }), b.node('Elu', [x], { alpha: 0.5 }), b.node('Selu', [x]),
          b.node('Celu', [x], { alpha: 2 }), b.node('HardSigmoid', [x]), b.node('ThresholdedRelu', [x], { alpha: 0.5 }), b.node('Gelu', [x]),
          b.node('Gelu', [x], { approximate: 'tanh' }));
      }, 20);
      // values in [-1.5, 1.5] and [1, 40]: the domains of asin/acos/atanh and acosh both covered
      const a = sample(dt, [3, 8], 19, { lo: -1.5, hi: 1.5 });
      const c = sample(dt, [3, 8], 20, { lo: 1, hi: 40, noEdges: true });
      const x = Tensor.from(dt, [3, 16], [...a.toNumbers().slice(0, 24), ...c.toNumbers()]);
      // f32 takes the SIMD kernels' approximations (erf, tanh, exp) where they exist
      await check(g, [x], dt === 'f32' ? { rtol: 1e-5, atol: 1e-6 } : { ulps: 4 });
    });
  }
});

describe('wasm dtypes: f32 graphs keep the SIMD kernels', () => {
  it('static f32 elementwise graphs lower to unary_f32 / binary_f32 only', () => {
    const g = graph((b) => {
      const x = b.input('x', 'f32', [2, 8]);
      const w = b.const('w', sample('f32', [8], 21, { noEdges: true }));
      b.output(b.node('Relu', [b.node('Add', [b.node('Mul', [x, w]), x])]), b.node('Clip', [x, b.const('lo', Tensor.from('f32', [], [-0.5])), null]));
    });
    const steps = compileWasm(g).stats.steps;
    expect(steps).toBe(4);
  });
  it('f32 ops without a SIMD kernel, runtime Clip bounds and f32 PRelu slopes use the generic kernels', async () => {
    const g = graph((b) => {
      const x = b.input('x', 'f32', [2, 8]);
      const lo = b.input('lo', 'f32', []);
      const s = b.input('s', 'f32', [8]);
      b.output(b.node('Clip', [x, lo, null]), b.node('Tan', [x]), b.node('Mod', [x, s], { fmod: 1 }), b.node('PRelu', [x, s]),
        b.node('Less', [x, s]), b.node('Where', [b.node('Less', [x, s]), x, s]));
    });
    await check(g, [sample('f32', [2, 8], 22, { lo: -3, hi: 3 }), Tensor.from('f32', [], [-0.25]), sample('f32', [8], 23, { lo: -2, hi: 2 })], { ulps: 1 });
  });
  it('Mean of an integer dtype is unsupported (the reference takes float dtypes only)', () => {
    const g = graph((b) => {
      const x = b.input('x', 'i32', [4]);
      b.output(b.node('Mean', [x, x]));
    });
    expect(() => compileWasm(g)).toThrow(EdgecError);
  });
});


describe('wasm dtypes: runtime parameters', () => {
  it('BatchNormalization with runtime scale / B / mean / var (and mixed constant ones)', async () => {
    const C = 5;
    for (const constMean of [false, true]) {
      const mean = sample('f32', [C], 31, { noEdges: true });
      const g = graph((b) => {
        const x = b.input('x', 'f32', [2, C, 3, 4]);
        const sc = b.input('scale', 'f32', [C]);
        const bi = b.input('B', 'f32', [C]);
        const m = constMean ? b.const('mean', mean) : b.input('mean', 'f32', [C]);
        const v = b.input('var', 'f32', [C]);
        b.output(b.node('BatchNormalization', [x, sc, bi, m, v], { epsilon: 1e-3 }));
      }, 15);
      const ins = [sample('f32', [2, C, 3, 4], 32, { noEdges: true }), sample('f32', [C], 33, { noEdges: true }), sample('f32', [C], 34, { noEdges: true }),
        ...(constMean ? [] : [mean]), sample('f32', [C], 35, { lo: 0.1, hi: 4, noEdges: true })];
      await check(g, ins, { rtol: 1e-5, atol: 1e-5 });
    }
  });
  it('LayerNormalization with a runtime scale broadcast to the normalized shape', async () => {
    const g = graph((b) => {
      const x = b.input('x', 'f32', [3, 4, 6]);
      const sc = b.input('scale', 'f32', [1, 6]);
      const bi = b.input('B', 'f32', [4, 6]);
      b.output(b.node('LayerNormalization', [x, sc, bi], { axis: 1 }));
    });
    await check(g, [sample('f32', [3, 4, 6], 36, { noEdges: true }), sample('f32', [1, 6], 37, { noEdges: true }), sample('f32', [4, 6], 38, { noEdges: true })],
      { rtol: 1e-5, atol: 1e-5 });
  });
  for (const qdt of ['i8', 'u8'] as DType[]) {
    it(`QuantizeLinear / DequantizeLinear with runtime scales and ${qdt} zero points (per tensor and per axis)`, async () => {
      const g = graph((b) => {
        const x = b.input('x', 'f32', [2, 3, 5]);
        const s = b.input('s', 'f32', []);
        const z = b.input('z', qdt, []);
        const sa = b.input('sa', 'f32', [3]);
        const za = b.input('za', qdt, [3]);
        const q = b.node('QuantizeLinear', [x, s, z]);
        const qa = b.node('QuantizeLinear', [x, sa, za], { axis: 1 });
        b.output(q, qa, b.node('DequantizeLinear', [q, s, z]), b.node('DequantizeLinear', [qa, sa, za], { axis: 1 }),
          b.node('DequantizeLinear', [qa, sa], { axis: 1 }));
      }, 13);
      await check(g, [sample('f32', [2, 3, 5], 39, { lo: -300, hi: 300, noEdges: true }), Tensor.from('f32', [], [0.75]), Tensor.from(qdt, [], [qdt === 'i8' ? -3 : 128]),
        Tensor.from('f32', [3], [0.5, 2, 1.25]), Tensor.from(qdt, [3], qdt === 'i8' ? [0, 5, -7] : [0, 100, 255])]);
    });
  }
});

describe('wasm dtypes: 16-bit and int32 (de)quantization', () => {
  for (const qdt of ['i16', 'u16'] as DType[]) {
    it(`QuantizeLinear to ${qdt} / DequantizeLinear from ${qdt} (constant and runtime parameters, per axis, saturation, NaN)`, async () => {
      const g = graph((b) => {
        const x = b.input('x', 'f32', [2, 3, 4]);
        const s = b.input('s', 'f32', []);
        const z = b.input('z', qdt, []);
        const sa = b.const('sa', Tensor.from('f32', [3], [0.01, 2, 0.5]));
        const za = b.const('za', Tensor.from(qdt, [3], qdt === 'i16' ? [0, -300, 7] : [0, 30000, 65535]));
        const q = b.node('QuantizeLinear', [x, s, z]);
        const qa = b.node('QuantizeLinear', [x, sa, za], { axis: 1 });
        b.output(q, qa, b.node('QuantizeLinear', [x, s]), b.node('DequantizeLinear', [q, s, z]), b.node('DequantizeLinear', [qa, sa, za], { axis: 1 }),
          b.node('DequantizeLinear', [qa, sa], { axis: 1 }));
      }, 21);
      await check(g, [sample('f32', [2, 3, 4], 40, { lo: -1000, hi: 1000 }), Tensor.from('f32', [], [0.125]), Tensor.from(qdt, [], [qdt === 'i16' ? -5 : 40000])]);
    });
  }
  it('DequantizeLinear from int32 (rounded to f32 like the reference)', async () => {
    const g = graph((b) => {
      const x = b.input('x', 'i32', [8]);
      const s = b.input('s', 'f32', []);
      const z = b.input('z', 'i32', []);
      b.output(b.node('DequantizeLinear', [x, s, z]), b.node('DequantizeLinear', [x, s]));
    }, 21);
    await check(g, [sample('i32', [8], 41), Tensor.from('f32', [], [0.3]), Tensor.from('i32', [], [123456789])]);
  });
});

describe('wasm dtypes: f16 graphs', () => {
  it('run natively (Uint16Array encodings) when every op has an f16 kernel, else emulated in f32', () => {
    const native = graph((b) => {
      const x = b.input('x', 'f16', [4]);
      b.output(b.node('Add', [x, x]));
    });
    const art = compileWasm(native);
    expect(art.manifest.inputs[0]!.dtype).toBe('f16');
    expect(String(art.files.get('model.d.ts'))).toContain('Uint16Array');
    const emulated = graph((b) => {
      const x = b.input('x', 'f16', [2, 4]);
      b.output(b.node('Softmax', [x]));
    });
    expect(compileWasm(emulated).manifest.inputs[0]!.dtype).toBe('f32');
  });
});

describe('wasm dtypes: model.mjs run() typed arrays', () => {
  it('takes and returns the typed array of each dtype; plain numbers for i64 / f16 / bool inputs are converted', async () => {
    const g = graph((b) => {
      const a = b.input('a', 'i64', [3]);
      const h = b.input('h', 'f16', [3]);
      const c = b.input('c', 'bool', [3]);
      b.output(b.node('Add', [a, a]), b.node('Add', [h, h]), b.node('Not', [c]), b.node('Cast', [a], { to: ONNX_DTYPE.u8 }));
    });
    const dir = writeTempArtifact(compileWasm(g).files);
    try {
      const model = await loadWasmArtifact(dir);
      const out = Object.values(model.run({ a: [1, -2, 2 ** 40], h: [0.5, 1.1, -3], c: [1, 0, 1] }));
      expect(out[0]).toBeInstanceOf(BigInt64Array);
      expect(Array.from(out[0] as BigInt64Array)).toEqual([2n, -4n, 2n ** 41n]);
      // 1.1 rounds to the f16 0x3c66; doubled: 0x4066
      expect(Array.from(out[1] as Uint16Array)).toEqual([0x3c00, 0x4066, 0xc600]);
      expect(Array.from(out[2] as Uint8Array)).toEqual([0, 1, 0]);
      expect(Array.from(out[3] as Uint8Array)).toEqual([1, 254, 0]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
