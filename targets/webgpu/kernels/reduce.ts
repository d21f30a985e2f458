/**
 * reduce_f32: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare over a set of axes, one
 * thread per output element looping over the reduced sub-tensor (LogSumExp subtracts the max first).
 * reduce_axes_f32: the same with the axes read at run time (a runtime `axes` input: i64 held as
 * i32 words); the output shape is static, the reduced dims form a bit mask.
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

const INIT: Record<string, string> = { ReduceMax: 'f32_bits(0xff800000u)', ReduceMin: 'f32_bits(0x7f800000u)', ReduceProd: '1.0' };
const STEP: Record<string, string> = {
  ReduceSum: 'acc += v;', ReduceMean: 'acc += v;', ReduceMax: 'acc = max(acc, v);', ReduceMin: 'acc = min(acc, v);',
  ReduceProd: 'acc *= v;', ReduceL1: 'acc += abs(v);', ReduceL2: 'acc += v * v;', ReduceLogSum: 'acc += v;',
  ReduceLogSumExp: 'acc += exp(v - m);', ReduceSumSquare: 'acc += v * v;',
};
/** Final value from `acc` (and the max `m` of LogSumExp; `cnt`: the reduced element count expression). */
const fin = (op: string, cnt: string): string | undefined =>
  ({ ReduceMean: `acc / ${cnt}`, ReduceL2: 'sqrt(acc)', ReduceLogSum: 'log(acc)', ReduceLogSumExp: 'm + log(acc)' } as Record<string, string>)[op];

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
    if (!STEP[p.op]) throw new Error(`reduce_f32: unknown op ${p.op}`);
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
    body.push(`var acc = ${INIT[p.op] ?? '0.0'};`, ...loop(STEP[p.op]!), y.store('gi', fin(p.op, `${int(cnt)}.0`) ?? 'acc'));
    return s.linear(n, body);
  },
};

export interface ReduceAxesParams extends BaseParams {
  op: string;
  xs: number[];
  /** Output elements. */
  n: number;
  /** Number of runtime axes (0: every axis, or none with noop). */
  nAxes: number;
  /** noop_with_empty_axes: an empty axes list copies x. */
  noop: boolean;
}

export const reduceAxesF32: KernelGen<ReduceAxesParams> = {
  id: 'reduce_axes_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [sizeOf(p.xs)]);
    const ax = s.tensor('axes', [Math.max(1, p.nAxes)]);
    const y = s.tensor('y', [p.n]);
    const r = p.xs.length;
    const st = stridesOf(p.xs);
    if (!STEP[p.op]) throw new Error(`reduce_axes_f32: unknown op ${p.op}`);
    const all = r === 0 ? 0 : 2 ** r - 1;
    const body = ['var mask = 0u;'];
    for (let j = 0; j < p.nAxes; j++) {
      body.push(`{ let a = ${ax.atInt(int(j))}; mask |= 1u << u32(select(a, a + ${int(r)}, a < 0)); }`);
    }
    if (p.nAxes === 0 && !p.noop) body.push(`mask = ${all}u;`);
    // output index -> base offset over the kept dims (keepdims: reduced dims have size 1 in y)
    body.push('var rem = gi;', 'var base = 0;', 'var cnt = 1;');
    for (let d = r - 1; d >= 0; d--) {
      body.push(`if ((mask & ${1 << d}u) != 0u) { cnt *= ${int(p.xs[d]!)}; } else { base += (rem % ${int(p.xs[d]!)}) * ${int(st[d]!)}; rem /= ${int(p.xs[d]!)}; }`);
    }
    const loop = (stmt: string) => {
      const inner = ['  var q = t;', '  var o = base;'];
      for (let d = r - 1; d >= 0; d--) {
        inner.push(`  if ((mask & ${1 << d}u) != 0u) { o += (q % ${int(p.xs[d]!)}) * ${int(st[d]!)}; q /= ${int(p.xs[d]!)}; }`);
      }
      return ['for (var t = 0; t < cnt; t++) {', ...inner, `  let v = ${x.at('o')};`, `  ${stmt}`, '}'];
    };
    if (p.op === 'ReduceLogSumExp') {
      body.push('var m = f32_bits(0xff800000u);', ...loop('m = max(m, v);'), 'if (abs(m) == f32_bits(0x7f800000u)) { m = 0.0; }');
    }
    // noop with empty axes: mask 0, one element per output: y = x
    const f = p.noop && p.nAxes === 0 ? 'acc' : (fin(p.op, 'f32(cnt)') ?? 'acc');
    const one = p.noop && p.nAxes === 0 ? ['acc = v;'] : [STEP[p.op]!];
    body.push(`var acc = ${INIT[p.op] ?? '0.0'};`, ...loop(one[0]!), y.store('gi', f));
    return s.linear(p.n, body);
  },
};
