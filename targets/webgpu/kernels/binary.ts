/** binary_f32: y = a op b with numpy broadcasting (per-operand strides over the output dims). */
import { ShaderBuilder, decompose, linear } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface BinaryParams extends BaseParams {
  op: string;
  /** Output shape. */
  shape: number[];
  /** Element strides of a and b over the output dims (0 on broadcast dims). */
  sa: number[];
  sb: number[];
  /** Element counts of a and b (their buffers' extents). */
  na: number;
  nb: number;
}

function expr(op: string): string {
  switch (op) {
    case 'Add': return 'a + b';
    case 'Sub': return 'a - b';
    case 'Mul': return 'a * b';
    case 'Div': return 'a / b';
    case 'Max': return 'max(a, b)';
    case 'Min': return 'min(a, b)';
    case 'PRelu': return 'select(a * b, a, a >= 0.0)';
    case 'Mod': return 'a - b * trunc(a / b)';
    case 'Pow': return 'pow_f32(a, b)';
    default: throw new Error(`binary_f32: unknown op ${op}`);
  }
}

/** pow on f32 with C semantics for zero / negative bases (shared with typed_map). */
export const POW = {
  name: 'pow_f32',
  code: [
    'fn pow_f32(a: f32, b: f32) -> f32 {',
    '  if (b == 0.0) { return 1.0; }',
    '  if (a == 0.0) { return select(0.0, f32_bits(0x7f800000u), b < 0.0); }',
    '  if (a > 0.0) { return exp2(b * log2(a)); }',
    '  if (b != trunc(b)) { return f32_bits(0x7fc00000u); }',
    '  let m = exp2(b * log2(-a));',
    '  return select(m, -m, abs(b % 2.0) == 1.0);',
    '}',
  ].join('\n'),
};

export const binaryF32: KernelGen<BinaryParams> = {
  id: 'binary_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const a = s.tensor('a', [p.na], bufOf(p, 'a'));
    const b = s.tensor('b', [p.nb], bufOf(p, 'b'));
    const n = p.shape.reduce((u, v) => u * v, 1);
    const y = s.tensor('y', [n]);
    if (p.op === 'Pow') s.fn(POW);
    const d = decompose('gi', p.shape, 'i');
    return s.linear(n, [
      ...d.code,
      `let a = ${a.at(linear(d.idx, p.sa))};`,
      `let b = ${b.at(linear(d.idx, p.sb))};`,
      y.store('gi', expr(p.op)),
    ]);
  },
};
