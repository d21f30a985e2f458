/**
 * The shared target parameter helpers (targets/common/*) that the webgpu (and hls, later wasm)
 * lowerings use, checked against the reference interpreter: a strided view from sliceView and the
 * index tables from resizeTable, applied here in plain JS, must reproduce the reference op's output.
 * Runs without a GPU.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph, Node } from '../../compiler/ir/graph.js';
import { Tensor, numel, stridesOf } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { opsetOf } from '../../compiler/ops/registry.js';
import '../../compiler/ops/index.js';
import { ParamCtx, StridedView, padSpec, sliceView } from '../../targets/common/params.js';
import { resizeSpec, resizeTable } from '../../targets/common/resize.js';

/** The single node of `g` and a ParamCtx reading its constant inputs. */
function only(g: Graph): { n: Node; c: ParamCtx } {
  const n = [...g.orderedNodes()][0]!;
  return { n, c: { opset: opsetOf(n, g), constNums: (id) => (id === null || id === undefined ? undefined : g.consts.get(id)?.toNumbers()) } };
}

/** Reads `v` from contiguous `x` into a new array. */
function applyView(x: Float32Array, v: StridedView): number[] {
  const out: number[] = [];
  const total = numel(v.dims);
  const os = stridesOf(v.dims);
  for (let i = 0; i < total; i++) {
    let k = v.offset;
    for (let d = 0; d < v.dims.length; d++) k += (Math.floor(i / os[d]!) % v.dims[d]!) * v.strides[d]!;
    out.push(x[k]!);
  }
  return out;
}

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);

describe('targets/common sliceView vs reference Slice', () => {
  it('matches the reference for random starts/ends/steps (negative, out of range)', () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
      k: fc.integer({ min: 0, max: 2 }),
      raw: fc.array(fc.record({ s: fc.integer({ min: -8, max: 8 }), e: fc.integer({ min: -8, max: 8 }), st: fc.constantFrom(-3, -2, -1, 1, 2, 3) }), { minLength: 3, maxLength: 3 }),
    });
    fc.assert(fc.property(arb, ({ shape, k, raw }) => {
      const nAx = Math.min(k + 1, shape.length);
      const axes = Array.from({ length: nAx }, (_, i) => i - (i % 2) * shape.length); // mix of positive and negative axes
      const b = new GraphBuilder('slice', { '': 13 });
      const x = b.input('x', 'f32', shape);
      const i64 = (vals: number[]) => Tensor.from('i64', [vals.length], vals.map((v) => BigInt(v)));
      const ins = [x, b.const('starts', i64(raw.slice(0, nAx).map((r) => r.s))), b.const('ends', i64(raw.slice(0, nAx).map((r) => r.e))),
        b.const('axes', i64(axes)), b.const('steps', i64(raw.slice(0, nAx).map((r) => r.st)))];
      b.output(b.node('Slice', ins));
      const g = b.build();
      const xd = ramp(numel(shape));
      const want = runGraph(g, [Tensor.from('f32', shape, xd)])[0]!;
      const { n, c } = only(g);
      const v = sliceView(c, n, shape);
      expect(v.dims).toEqual([...want.shape]);
      expect(applyView(xd, v)).toEqual(want.toNumbers());
    }), { numRuns: 150 });
  });

  it('reads starts/ends/axes from attributes before opset 10', () => {
    const b = new GraphBuilder('slice9', { '': 9 });
    const x = b.input('x', 'f32', [4, 6]);
    b.output(b.node('Slice', [x], { starts: [1, -4], ends: [100, -1], axes: [0, 1] }));
    const g = b.build();
    const xd = ramp(24);
    const want = runGraph(g, [Tensor.from('f32', [4, 6], xd)])[0]!;
    const { n, c } = only(g);
    const v = sliceView(c, n, [4, 6]);
    expect(applyView(xd, v)).toEqual(want.toNumbers());
  });
});

describe('targets/common padSpec vs reference Pad', () => {
  it('begin/end pads (with axes) give the reference output shape', () => {
    const b = new GraphBuilder('pad', { '': 18 });
    const x = b.input('x', 'f32', [2, 3, 4]);
    const pads = Tensor.from('i64', [4], [1n, -1n, 2n, 3n]);
    const axes = Tensor.from('i64', [2], [-1n, 0n]);
    b.output(b.node('Pad', [x, b.const('pads', pads), null, b.const('axes', axes)], { mode: 'constant' }));
    const g = b.build();
    const want = runGraph(g, [Tensor.from('f32', [2, 3, 4], ramp(24))])[0]!;
    const { n, c } = only(g);
    const p = padSpec(c, n, 3);
    expect([2, 3, 4].map((d, i) => d + p.begin[i]! + p.end[i]!)).toEqual([...want.shape]);
    expect(p).toEqual({ mode: 'constant', begin: [-1, 0, 1], end: [3, 0, 2], value: 0 });
  });
});

describe('targets/common resizeTable vs reference Resize', () => {
  /** Applies the 2-D tables the way the resize kernels do. */
  function applyTables(x: Float32Array, IH: number, IW: number, OH: number, OW: number, mode: string, th: Int32Array, tw: Int32Array): number[] {
    const fh = new Float32Array(th.buffer);
    const fw = new Float32Array(tw.buffer);
    const out: number[] = [];
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        if (mode === 'nearest') out.push(x[th[oh]! * IW + tw[ow]!]!);
        else {
          const [h0, h1, a] = [th[oh * 3]!, th[oh * 3 + 1]!, fh[oh * 3 + 2]!];
          const [w0, w1, b] = [tw[ow * 3]!, tw[ow * 3 + 1]!, fw[ow * 3 + 2]!];
          const top = x[h0 * IW + w0]! * (1 - b) + x[h0 * IW + w1]! * b;
          const bot = x[h1 * IW + w0]! * (1 - b) + x[h1 * IW + w1]! * b;
          out.push(top * (1 - a) + bot * a);
        }
      }
    }
    return out;
  }

  const coords = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric'] as const;
  const nearest = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;

  it('matches the reference for scales and sizes, every coordinate and nearest mode (opset 19)', () => {
    const arb = fc.record({
      IH: fc.integer({ min: 1, max: 6 }), IW: fc.integer({ min: 1, max: 6 }),
      sH: fc.constantFrom(0.5, 0.6, 1, 1.5, 2, 2.5, 3), sW: fc.constantFrom(0.5, 0.75, 1, 1.7, 2, 3),
      useSizes: fc.boolean(), mode: fc.constantFrom('nearest', 'linear'), coord: fc.constantFrom(...coords), nm: fc.constantFrom(...nearest),
    });
    fc.assert(fc.property(arb, ({ IH, IW, sH, sW, useSizes, mode, coord, nm }) => {
      const OHs = Math.max(1, Math.floor(IH * sH));
      const OWs = Math.max(1, Math.floor(IW * sW));
      const b = new GraphBuilder('resize', { '': 19 });
      const x = b.input('x', 'f32', [1, 2, IH, IW]);
      const scalesOrSizes = useSizes
        ? [null, b.const('sizes', Tensor.from('i64', [4], [1n, 2n, BigInt(OHs), BigInt(OWs)]))]
        : [b.const('scales', Tensor.from('f32', [4], [1, 1, sH, sW])), null];
      b.output(b.node('Resize', [x, null, ...scalesOrSizes], { mode, coordinate_transformation_mode: coord, nearest_mode: nm }));
      const g = b.build();
      const xd = Float32Array.from({ length: 2 * IH * IW }, (_, i) => Math.sin(i * 1.3) * 4);
      const want = runGraph(g, [Tensor.from('f32', [1, 2, IH, IW], xd)])[0]!;
      const { n, c } = only(g);
      const ys = [...want.shape] as number[];
      if (numel(ys) === 0) return;
      const spec = resizeSpec(c, n, [1, 2, IH, IW], ys, 'test');
      const th = resizeTable(spec, spec.IH, spec.OH, spec.sH);
      const tw = resizeTable(spec, spec.IW, spec.OW, spec.sW);
      const got: number[] = [];
      for (let p = 0; p < 2; p++) got.push(...applyTables(xd.subarray(p * IH * IW, (p + 1) * IH * IW), IH, IW, spec.OH, spec.OW, mode, th, tw));
      const w = want.toNumbers();
      expect(got.length).toBe(w.length);
      got.forEach((v, i) => expect(Math.abs(v - w[i]!)).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(w[i]!)));
    }), { numRuns: 200 });
  });

  it('Upsample-9 and Resize-10 nearest downsampling use the pre-11 rounding (ceil when shrinking)', () => {
    for (const [op, opset] of [['Upsample', 9], ['Resize', 10]] as const) {
      const b = new GraphBuilder('rs', { '': opset });
      const x = b.input('x', 'f32', [1, 1, 5, 7]);
      const s = b.const('scales', Tensor.from('f32', [4], op === 'Upsample' ? [1, 1, 2, 3] : [1, 1, 0.6, 0.5]));
      b.output(b.node(op, [x, s], { mode: 'nearest' }));
      const g = b.build();
      const xd = ramp(35);
      const want = runGraph(g, [Tensor.from('f32', [1, 1, 5, 7], xd)])[0]!;
      const { n, c } = only(g);
      const spec = resizeSpec(c, n, [1, 1, 5, 7], [...want.shape] as number[], 'test');
      const th = resizeTable(spec, spec.IH, spec.OH, spec.sH);
      const tw = resizeTable(spec, spec.IW, spec.OW, spec.sW);
      expect(applyTables(xd, 5, 7, spec.OH, spec.OW, 'nearest', th, tw)).toEqual(want.toNumbers());
    }
  });
});
