/**
 * Op family: half-precision emulation (domain 'edgec').
 *
 * Targets that compute in f32 run an --fp16 model as an f32 graph in which every value the f16
 * graph would hold is rounded to the nearest IEEE binary16 number and kept as f32
 * (targets/common/f16-graph.ts). `edgec.RoundF16` is that rounding: round half to even, overflow
 * to +-inf, subnormal halves kept, +-0, inf and NaN preserved -- exactly what the reference
 * interpreter does when it stores an f16 value (compiler/ir/dtype.ts numberToF16Bits).
 */
import { Tensor } from '../ir/tensor.js';
import { roundF16 } from '../ir/dtype.js';
import { unsupported } from '../errors.js';
import { defineOp, need } from './registry.js';

// y = f16(x) as f32 (round half to even; |x| >= 65520 -> inf)
export const RoundF16 = defineOp<Record<string, never>>({
  name: 'RoundF16',
  domain: 'edgec',
  since: 1,
  arity: [1, 1],
  attrs: () => ({}),
  infer: (ctx) => {
    const x = need(ctx.inputs[0], 0, 'RoundF16');
    if (x.dtype !== 'f32') throw unsupported(`RoundF16: input must be f32, got ${x.dtype}`);
    return [{ dtype: 'f32', shape: x.shape }];
  },
  ref: (ins) => {
    const x = need(ins[0], 0, 'RoundF16');
    const d = x.data as Float32Array;
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = roundF16(d[i]!);
    return [new Tensor('f32', x.shape, out)];
  },
  cost: (_ctx, _a, outs) => ({ macs: 0, flops: outs[0] ? outs[0].shape.reduce<number>((a, b) => a * (typeof b === 'number' ? b : 1), 1) : 0 }),
});
