/**
 * reduce_f32: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare over a set of axes, one
 * thread per output element looping over the reduced sub-tensor (LogSumExp subtracts the max first).
 */
import { ShaderBuilder, decompose, int, linear, sizeOf, stridesOf } from '../wgsl/shader.js';
import { BaseParams, KernelGen } from './types.js';

export interface ReduceParams extends BaseParams {
  op: string;
  xs: number[];
  /** Sorted, distinct reduced axes. */
  axes: number[];
}

/** Reduce ops with a kernel. */
export const REDUCE_OPS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'] as const;

export const reduceF32: KernelGen<ReduceParams> = {
  id: 'reduce_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [sizeOf(p.xs)]);
    const st = stridesOf(p.xs);
    const keptAxes = p.xs.map((_, i) => i).filter((i) => !p.axes.includes(i));
    const keptShape = keptAxes.map((i) => p.xs[i]!);
    const redShape = p.axes.map((i) => p.xs[i]!);
    const n = sizeOf(keptShape);
    const cnt = sizeOf(redShape);
    const y = s.tensor('y', [n]);
    const ko = decompose('gi', keptShape, 'k');
    const ro = decompose('r', redShape, 'j');
    const base = linear(ko.idx, keptAxes.map((i) => st[i]!));
    const roff = linear(ro.idx, p.axes.map((i) => st[i]!));
    const init: Record<string, string> = { ReduceMax: 'f32_bits(0xff800000u)', ReduceMin: 'f32_bits(0x7f800000u)', ReduceProd: '1.0' };
    const step: Record<string, string> = {
      ReduceSum: 'acc += v;', ReduceMean: 'acc += v;', ReduceMax: 'acc = max(acc, v);', ReduceMin: 'acc = min(acc, v);',
      ReduceProd: 'acc *= v;', ReduceL1: 'acc += abs(v);', ReduceL2: 'acc += v * v;', ReduceLogSum: 'acc += v;',
      ReduceLogSumExp: 'acc += exp(v - m);', ReduceSumSquare: 'acc += v * v;',
    };
    const fin: Record<string, string> = {
      ReduceMean: `acc / ${int(cnt)}.0`, ReduceL2: 'sqrt(acc)', ReduceLogSum: 'log(acc)', ReduceLogSumExp: 'm + log(acc)',
    };
    if (!step[p.op]) throw new Error(`reduce_f32: unknown op ${p.op}`);
    const loop = (stmt: string) => [
      `for (var r = 0; r < ${int(cnt)}; r++) {`,
      ...ro.code.map((l) => `  ${l}`),
      `  let v = ${x.at(`base + ${roff}`)};`,
      `  ${stmt}`,
      '}',
    ];
    const body = [...ko.code, `let base = ${base};`];
    if (p.op === 'ReduceLogSumExp') {
      body.push('var m = f32_bits(0xff800000u);', ...loop('m = max(m, v);'),
        'if (abs(m) == f32_bits(0x7f800000u)) { m = 0.0; }');
    }
    body.push(`var acc = ${init[p.op] ?? '0.0'};`, ...loop(step[p.op]!), y.store('gi', fin[p.op] ?? 'acc'));
    return s.linear(n, body);
  },
};
