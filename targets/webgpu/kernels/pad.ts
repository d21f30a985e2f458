/** pad_f32: y = Pad(x) in constant, reflect, edge or wrap mode (one thread per output element). */
import { ShaderBuilder, decompose, float, int, linear, sizeOf, stridesOf } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface PadParams extends BaseParams {
  mode: 'constant' | 'reflect' | 'edge' | 'wrap';
  xs: number[];
  ys: number[];
  /** Begin pads per dim (may be negative: crop). */
  begin: number[];
  value: number;
}

/** Statements mapping output index `o` of one dim to the source index `name` (mode-dependent). */
function srcIndex(mode: PadParams['mode'], name: string, o: string, begin: number, len: number): string[] {
  const base = `let ${name}_r = ${o} - ${int(begin)};`;
  switch (mode) {
    case 'constant': return [base, `let ${name} = ${name}_r;`];
    case 'edge': return [base, `let ${name} = clamp(${name}_r, 0, ${int(len - 1)});`];
    case 'wrap': return [base, `let ${name} = ((${name}_r % ${int(len)}) + ${int(len)}) % ${int(len)};`];
    case 'reflect': {
      if (len === 1) return [base, `let ${name} = 0;`];
      const period = 2 * (len - 1);
      return [base, `let ${name}_m = ((${name}_r % ${int(period)}) + ${int(period)}) % ${int(period)};`,
        `let ${name} = select(${int(period)} - ${name}_m, ${name}_m, ${name}_m < ${int(len)});`];
    }
  }
}

export const padF32: KernelGen<PadParams> = {
  id: 'pad_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [Math.max(1, sizeOf(p.xs))], bufOf(p, 'x'));
    const n = sizeOf(p.ys);
    const y = s.tensor('y', [n]);
    const d = decompose('gi', p.ys, 'o');
    const body = [...d.code];
    const src: string[] = [];
    const inb: string[] = [];
    p.xs.forEach((len, k) => {
      body.push(...srcIndex(p.mode, `s${k}`, d.idx[k]!, p.begin[k]!, len));
      src.push(`s${k}`);
      inb.push(`s${k} >= 0 && s${k} < ${int(len)}`);
    });
    const off = linear(src, stridesOf(p.xs));
    if (p.mode === 'constant') {
      body.push(`var v = ${float(p.value)};`);
      if (sizeOf(p.xs) > 0) body.push(`if (${inb.join(' && ') || 'true'}) { v = ${x.at(off)}; }`);
      body.push(y.store('gi', 'v'));
    } else body.push(y.store('gi', x.at(off)));
    return s.linear(n, body);
  },
};
