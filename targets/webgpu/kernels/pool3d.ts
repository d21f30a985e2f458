/**
 * pool3d_f32: MaxPool / AveragePool / LpPool over NC(D)HW planes with up to three spatial dims
 * (fewer are lifted with leading size-1 dims), one thread per output. kind 'avg' divides by the
 * taps inside the input, 'avg_pad' by the taps inside the padded extent (count_include_pad; taps
 * past the end padding added by ceil_mode never count), 'lp' takes (sum |x|^p)^(1/p) over the
 * taps inside the input (compiler/ops/pool.ts sumPoolCore / maxPoolCore). Also max_unpool_f32
 * (MaxUnpool's ordered scatter).
 */
import { ShaderBuilder, float, int } from '../wgsl/shader.js';
import { BaseParams, KernelGen, bufOf } from './types.js';

export interface Pool3dParams extends BaseParams {
  planes: number;
  /** Input, output, kernel, stride, dilation, begin pad and end pad per lifted dim (D, H, W). */
  I: number[]; O: number[]; K: number[]; S: number[]; D: number[]; P: number[]; E: number[];
  kind: 'max' | 'avg' | 'avg_pad' | 'lp';
  /** Lp exponent (kind 'lp'). */
  p: number;
  /**
   * kind 'max' only: store the flat index of the max (the first one on ties; i32 words) instead
   * of the value, in row-major order (storage order 0) or with column-major spatial dims (1).
   */
  index?: 0 | 1;
}

export const pool3dF32: KernelGen<Pool3dParams> = {
  id: 'pool3d_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const [ID, IH, IW] = p.I as [number, number, number];
    const [OD, OH, OW] = p.O as [number, number, number];
    const x = s.tensor('x', [p.planes, ID, IH, IW], bufOf(p, 'x'));
    const n = p.planes * OD * OH * OW;
    const y = s.tensor('y', [n]);
    const max = p.kind === 'max';
    const names = ['d', 'h', 'w'];
    const body: string[] = [
      `let ow = gi % ${int(OW)};`,
      `let oh = (gi / ${int(OW)}) % ${int(OH)};`,
      `let od = (gi / ${int(OW * OH)}) % ${int(OD)};`,
      `let c = gi / ${int(OW * OH * OD)};`,
      `var acc = ${max ? 'f32_bits(0xff800000u)' : '0.0'};`,
      'var first = true;',
      'var best = -1;',
      'var cntPad = 1;',
    ];
    // divisor of 'avg_pad': taps inside [-P, I + E) per dim (separable), of 'avg': taps inside [0, I)
    for (let k = 0; k < 3 && p.kind === 'avg_pad'; k++) {
      const a = names[k]!;
      body.push(
        `var cp${a} = 0;`,
        `for (var k${a} = 0; k${a} < ${int(p.K[k]!)}; k${a}++) {`,
        `  let i${a} = o${a} * ${int(p.S[k]!)} - ${int(p.P[k]!)} + k${a} * ${int(p.D[k]!)};`,
        `  if (i${a} >= ${int(-p.P[k]!)} && i${a} < ${int(p.I[k]! + p.E[k]!)}) { cp${a}++; }`,
        '}',
        `cntPad *= cp${a};`,
      );
    }
    // flat index of tap (id, ih, iw) in the whole input (MaxPool Indices)
    const bestIdx = p.index === 1 ? `c * ${int(ID * IH * IW)} + id + ih * ${int(ID)} + iw * ${int(ID * IH)}` : `(c * ${int(ID)} + id) * ${int(IH * IW)} + ih * ${int(IW)} + iw`;
    const v = p.kind === 'lp' ? (p.p === 2 ? 'v * v' : p.p === 1 ? 'abs(v)' : `pow(abs(v), ${float(p.p)})`) : 'v';
    body.push(
      'var cnt = 0;',
      `for (var kd = 0; kd < ${int(p.K[0]!)}; kd++) {`,
      `  let id = od * ${int(p.S[0]!)} - ${int(p.P[0]!)} + kd * ${int(p.D[0]!)};`,
      `  if (id < 0 || id >= ${int(ID)}) { continue; }`,
      `  for (var kh = 0; kh < ${int(p.K[1]!)}; kh++) {`,
      `    let ih = oh * ${int(p.S[1]!)} - ${int(p.P[1]!)} + kh * ${int(p.D[1]!)};`,
      `    if (ih < 0 || ih >= ${int(IH)}) { continue; }`,
      `    for (var kw = 0; kw < ${int(p.K[2]!)}; kw++) {`,
      `      let iw = ow * ${int(p.S[2]!)} - ${int(p.P[2]!)} + kw * ${int(p.D[2]!)};`,
      `      if (iw < 0 || iw >= ${int(IW)}) { continue; }`,
      `      let v = ${x.atIndices(['c', 'id', 'ih', 'iw'])};`,
      // max: the first tap in the window is taken as is (NaN included), then strictly greater ones
      max ? `      if (first || v > acc) { acc = v; best = ${bestIdx}; }` : `      acc += ${v};`,
      '      first = false;',
      '      cnt++;',
      '    }',
      '  }',
      '}',
    );
    if (p.kind === 'avg') body.push('acc = acc / f32(cnt);');
    if (p.kind === 'avg_pad') body.push('acc = acc / f32(cntPad);');
    if (p.kind === 'lp') body.push(p.p === 2 ? 'acc = sqrt(acc);' : p.p === 1 ? '' : `acc = pow(acc, ${float(1 / p.p)});`);
    body.push(y.store('gi', p.index !== undefined ? 'bitcast<f32>(best)' : 'acc'));
    return s.linear(n, body.filter((l) => l !== ''));
  },
};

export interface MaxUnpoolParams extends BaseParams {
  /** Elements of X (= of I). */
  n: number;
  /** Shape MaxPool's input had (indices unflatten against it) and the output shape. */
  inferred: number[]; out: number[];
}

/**
 * max_unpool_f32: MaxUnpool's scatter Y.flat[I[j]] = X.flat[j] (an index unflattened against the
 * unpooled shape, flattened against the output shape; out-of-range indices write nothing). One
 * invocation walks j in order, so duplicate indices keep the last value exactly as the reference;
 * the output is zero-filled by a fill_b dispatch first.
 */
export const maxUnpoolF32: KernelGen<MaxUnpoolParams> = {
  id: 'max_unpool_f32',
  gen(p) {
    const s = new ShaderBuilder(this.id);
    const x = s.tensor('x', [p.n], bufOf(p, 'x'));
    const ind = s.tensor('ind', [p.n], bufOf(p, 'ind'));
    const total = p.inferred.reduce((a, b) => a * b, 1);
    const y = s.tensor('y', [p.out.reduce((a, b) => a * b, 1)]);
    const r = p.out.length;
    const body = [
      `for (var j = 0; j < ${int(p.n)}; j++) {`,
      `  var f = ${ind.atInt('j')};`,
      `  if (f < 0 || f >= ${int(total)}) { continue; }`,
      '  var at = 0;',
      '  var mul = 1;',
    ];
    for (let d = r - 1; d >= 0; d--) {
      body.push(
        `  at += (f % ${int(p.inferred[d]!)}) * mul;`,
        `  f = f / ${int(p.inferred[d]!)};`,
        `  mul *= ${int(p.out[d]!)};`,
      );
    }
    body.push(`  ${y.store('at', x.at('j'))}`, '}');
    return s.linear(1, body);
  },
};
