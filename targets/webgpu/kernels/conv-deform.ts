/**
 * deform_conv_f32: DeformConv (compiler/ops/detection.ts) on 1 to 3 spatial dims, one thread per
 * output element: for each input channel of the output channel's group and each kernel tap, the
 * input is sampled (multilinear, zero outside X) at o*stride - pad + k*dilation + offset, times
 * the mask (when given), times the weight; plus the bias.
 */
import { ShaderBuilder, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface DeformConvParams extends BaseParams {
  N: number; IC: number; OC: number;
  /** Input spatial dims, output spatial dims, kernel, strides, dilations, begin pads. */
  dims: number[]; out: number[]; k: number[]; str: number[]; dil: number[]; pb: number[];
  group: number; offsetGroup: number;
  bias: boolean; mask: boolean;
}

export const deformConvF32: KernelGen<DeformConvParams> = {
  id: 'deform_conv_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const nd = p.dims.length;
    const prod = (v: number[]) => v.reduce((a, b) => a * b, 1);
    const S = prod(p.dims);
    const O = prod(p.out);
    const K = prod(p.k);
    const icg = p.IC / p.group;
    const ocg = p.OC / p.group;
    const icog = p.IC / p.offsetGroup;
    const x = s.tensor('x', [p.N, p.IC, S], bufOf(p, 'x'));
    const w = s.tensor('w', [p.OC, icg, K], bufOf(p, 'w'));
    const off = s.tensor('offs', [p.N, p.offsetGroup, K, nd, O], bufOf(p, 'offs'));
    const b = p.bias ? s.tensor('b', [p.OC], bufOf(p, 'b')) : null;
    const m = p.mask ? s.tensor('m', [p.N, p.offsetGroup, K, O], bufOf(p, 'm')) : null;
    const n = p.N * p.OC * O;
    const y = s.tensor('y', [n]);
    const body: string[] = [
      `let o = gi % ${int(O)};`,
      `let oc = (gi / ${int(O)}) % ${int(p.OC)};`,
      `let nn = gi / ${int(O * p.OC)};`,
      `let g = oc / ${int(ocg)};`,
    ];
    for (let d = 0; d < nd; d++) body.push(`let o${d} = (o / ${int(prod(p.out.slice(d + 1)))}) % ${int(p.out[d]!)};`);
    body.push(
      `var acc = ${b ? b.at('oc') : '0.0'};`,
      `for (var icl = 0; icl < ${int(icg)}; icl++) {`,
      `  let ic = g * ${int(icg)} + icl;`,
      `  let og = ic / ${int(icog)};`,
      `  let base = (nn * ${int(p.IC)} + ic) * ${int(S)};`,
      `  for (var kk = 0; kk < ${int(K)}; kk++) {`,
    );
    for (let d = 0; d < nd; d++) {
      body.push(
        `    let k${d} = (kk / ${int(prod(p.k.slice(d + 1)))}) % ${int(p.k[d]!)};`,
        `    let pos${d} = f32(o${d} * ${int(p.str[d]!)} - ${int(p.pb[d]!)} + k${d} * ${int(p.dil[d]!)}) + ${off.atIndices(['nn', 'og', 'kk', int(d), 'o'])};`,
        `    let i${d} = i32(floor(pos${d}));`,
        `    let f${d} = pos${d} - floor(pos${d});`,
      );
    }
    body.push('    var v = 0.0;');
    for (let t = 0; t < 2 ** nd; t++) {
      const conds: string[] = [];
      const idx: string[] = [];
      const ws: string[] = [];
      for (let d = 0; d < nd; d++) {
        const hi = (t >> (nd - 1 - d)) & 1;
        const i = hi ? `(i${d} + 1)` : `i${d}`;
        conds.push(`${i} >= 0 && ${i} < ${int(p.dims[d]!)}`);
        idx.push(`${i} * ${int(prod(p.dims.slice(d + 1)))}`);
        ws.push(hi ? `f${d}` : `(1.0 - f${d})`);
      }
      body.push(`    if (${conds.join(' && ')}) { v += ${ws.join(' * ')} * ${x.at(`base + ${idx.join(' + ')}`)}; }`);
    }
    body.push(
      m ? `    v *= ${m.atIndices(['nn', 'og', 'kk', 'o'])};` : '',
      `    acc += ${w.atIndices(['oc', 'icl', 'kk'])} * v;`,
      '  }',
      '}',
      y.store('gi', 'acc'),
    );
    return s.linear(n, body.filter((l) => l !== ''));
  },
};
