/** unary_f32: y = f(x) elementwise, one thread per element. */
import { ERF, SIGMOID, SOFTPLUS, ShaderBuilder, TANH, float } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface UnaryParams extends BaseParams {
  op: string;
  n: number;
  alpha: number;
  beta: number;
}

/** WGSL expression of `op` applied to `v` (formulas follow the reference ops). */
function expr(sb: ShaderBuilder, p: UnaryParams): string {
  const a = float(p.alpha);
  const b = float(p.beta);
  switch (p.op) {
    case 'Identity': return 'v';
    case 'Relu': return 'max(v, 0.0)';
    case 'Clip': return `min(max(v, ${a}), ${b})`;
    case 'LeakyRelu': return `select(${a} * v, v, v >= 0.0)`;
    case 'HardSigmoid': return `clamp(${a} * v + ${b}, 0.0, 1.0)`;
    case 'HardSwish': return 'v * clamp(v / 6.0 + 0.5, 0.0, 1.0)';
    case 'Sigmoid': return `${sb.fn(SIGMOID)}(v)`;
    case 'Tanh': return `${sb.fn(TANH)}(v)`;
    case 'Exp': return 'exp(v)';
    case 'Log': return 'log(v)';
    case 'Sqrt': return 'sqrt(v)';
    case 'Neg': return '-v';
    case 'Abs': return 'abs(v)';
    case 'Erf': return `${sb.fn(ERF)}(v)`;
    case 'Gelu': return `0.5 * v * (1.0 + ${sb.fn(ERF)}(v * 0.70710678118654752))`;
    case 'GeluTanh': return `0.5 * v * (1.0 + ${sb.fn(TANH)}(0.7978845608028654 * (v + 0.044715 * v * v * v)))`;
    case 'Softplus': return `${sb.fn(SOFTPLUS)}(v)`;
    case 'Mish': return `v * ${sb.fn(TANH)}(${sb.fn(SOFTPLUS)}(v))`;
    case 'Elu': return `select(${a} * (exp(v) - 1.0), v, v >= 0.0)`;
    case 'Selu': return `${b} * select(${a} * (exp(v) - 1.0), v, v > 0.0)`;
    case 'Celu': return `max(0.0, v) + min(0.0, ${a} * (exp(v / ${a}) - 1.0))`;
    case 'ThresholdedRelu': return `select(0.0, v, v > ${a})`;
    case 'Reciprocal': return '1.0 / v';
    case 'Floor': return 'floor(v)';
    case 'Ceil': return 'ceil(v)';
    case 'Round': return 'round(v)';
    case 'Sin': return 'sin(v)';
    case 'Cos': return 'cos(v)';
    case 'Tan': return 'tan(v)';
    case 'Asin': return 'asin(v)';
    case 'Acos': return 'acos(v)';
    case 'Atan': return 'atan(v)';
    case 'Sinh': return 'sinh(v)';
    case 'Cosh': return 'cosh(v)';
    case 'Asinh': return 'asinh(v)';
    case 'Acosh': return 'acosh(v)';
    case 'Atanh': return 'atanh(v)';
    case 'Softsign': return 'v / (1.0 + abs(v))';
    case 'Sign': return 'sign(v)';
    default: throw new Error(`unary_f32: unknown op ${p.op}`);
  }
}

/** Unary ops with a WGSL formula. */
export const UNARY_OPS = ['Relu', 'Clip', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Neg',
  'Abs', 'Erf', 'Gelu', 'Softplus', 'Mish', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Reciprocal', 'Floor', 'Ceil', 'Round',
  'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Softsign', 'Sign'] as const;

export const unaryF32: KernelGen<UnaryParams> = {
  id: 'unary_f32',
  gen(p) {
    const sb = new ShaderBuilder(this.id);
    const x = sb.tensor('x', [p.n], bufOf(p, 'x'));
    const y = sb.tensor('y', [p.n]);
    const e = expr(sb, p);
    return sb.linear(p.n, [`let v = ${x.at('gi')};`, y.store('gi', e)]);
  },
};
