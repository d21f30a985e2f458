/**
 * TF op conversions of graph models not exercised by the shared models, on small graphs written
 * in code. Expected values come from naive JS written from the TF op documentation (Python slice
 * semantics, TF resize formulas, ...), never from the frontend.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadTfjsModel } from '../../compiler/frontends/tfjs/index.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { optimize } from '../../compiler/pipeline.js';
import { verify } from '../../compiler/ir/verify.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType } from '../../compiler/ir/dtype.js';
import { compareTensors } from '../helpers/compare.js';
import { b64, f32Bytes, i32Bytes, node, tfShape, tmpDir, writeModel, cleanup } from './fixture.js';
import { arr, conv2d, convTranspose, lcg, pool } from './naive.js';

interface C { name: string; shape: number[]; dtype?: 'float32' | 'int32'; data: number[] }
const TFDT: Record<string, string> = { f32: 'DT_FLOAT', i32: 'DT_INT32' };

/** Builds, loads and runs a one-input graph model; returns the outputs (imported and optimized must agree). */
function run(nodes: unknown[], consts: C[], x: Tensor, outputs?: string[]): Tensor[] {
  const parts = consts.map((c) => ((c.dtype ?? 'float32') === 'int32' ? i32Bytes(c.data) : f32Bytes(c.data)));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  const json = {
    format: 'graph-model', generatedBy: 'test', convertedBy: 'test',
    modelTopology: {
      node: [
        node('x', 'Placeholder', [], { dtype: { type: TFDT[x.dtype] }, shape: tfShape([...x.shape]) }),
        ...consts.map((c) => node(c.name, 'Const', [], {})),
        ...nodes,
      ],
    },
    ...(outputs ? { signature: { outputs: Object.fromEntries(outputs.map((n) => [n, { name: n }])) } } : {}),
    weightsManifest: [{ paths: ['w.bin'], weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype ?? 'float32' })) }],
  };
  const g = loadTfjsModel(writeModel(tmpDir('ops'), json, { 'w.bin': bytes }));
  verify(g);
  const a = runGraph(g, [x]);
  optimize(g, { target: 'wasm', verify: true });
  const b = runGraph(g, [x]);
  a.forEach((t, i) => expect(compareTensors(b[i]!, t, { rtol: 1e-5, atol: 1e-6 }), `optimized output ${i}`).toBeNull());
  return a;
}

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);
const ints = (name: string, data: number[], shape = [data.length]): C => ({ name, shape, dtype: 'int32', data });
const T = (dt: DType, shape: number[], data: ArrayLike<number>) => Tensor.from(dt, shape, data);
const close = (got: Tensor, want: Tensor, tol = { rtol: 1e-5, atol: 1e-6 }) => expect(compareTensors(got, want, tol)).toBeNull();

/** numpy-style basic indexing on a row-major array: per axis a slice [start, stop, step] (null = default) or an int. */
function npIndex(shape: number[], data: number[], idx: ((number | null)[] | number | 'new')[]): { shape: number[]; data: number[] } {
  const axes: { pick: number[]; keep: boolean }[] = [];
  const outShape: number[] = [];
  let d = 0;
  for (const ix of idx) {
    if (ix === 'new') { outShape.push(1); continue; }
    const n = shape[d++]!;
    if (typeof ix === 'number') { axes.push({ pick: [ix < 0 ? ix + n : ix], keep: false }); continue; }
    const step = ix[2] ?? 1;
    const norm = (v: number | null, def: number, lo: number, hi: number) => (v === null ? def : Math.min(Math.max(v < 0 ? v + n : v, lo), hi));
    const start = step > 0 ? norm(ix[0]!, 0, 0, n) : norm(ix[0]!, n - 1, -1, n - 1);
    const stop = step > 0 ? norm(ix[1]!, n, 0, n) : norm(ix[1]!, -1, -1, n - 1);
    const pick: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) pick.push(i);
    if (ix[1] === null && step < 0) { /* stop=None walks to the front */ }
    axes.push({ pick, keep: true });
    outShape.push(pick.length);
  }
  while (d < shape.length) { const n = shape[d++]!; axes.push({ pick: iota(n), keep: true }); outShape.push(n); }
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  const rec = (k: number, off: number) => {
    if (k === axes.length) { out.push(data[off]!); return; }
    for (const p of axes[k]!.pick) rec(k + 1, off + p * strides[k]!);
  };
  rec(0, 0);
  return { shape: outShape, data: out };
}

afterAll(cleanup);

describe('tfjs graph ops', () => {
  const X = iota(24);
  const x = T('f32', [2, 3, 4], X);
  const ss = (name: string, b: number[], e: number[], s: number[], masks: Record<string, number>) => [
    node(name, 'StridedSlice', ['x', `${name}/b`, `${name}/e`, `${name}/s`], Object.fromEntries(
      ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => [k, { i: String(masks[k] ?? 0) }]))),
    [ints(`${name}/b`, b), ints(`${name}/e`, e), ints(`${name}/s`, s)],
  ] as const;

  const cases: [string, number[], number[], number[], Record<string, number>, ((number | null)[] | number | 'new')[]][] = [
    ['plain x[0:2, 1:3, 0:4:2]', [0, 1, 0], [2, 3, 4], [1, 1, 2], {}, [[0, 2, 1], [1, 3, 1], [0, 4, 2]]],
    ['shrink x[1]', [1], [2], [1], { shrink_axis_mask: 1 }, [1]],
    ['ellipsis + new axis x[..., None, 1]', [0, 0, 1], [0, 0, 2], [1, 1, 1], { ellipsis_mask: 1, new_axis_mask: 2, shrink_axis_mask: 4 }, [[null, null, 1], [null, null, 1], 'new', 1]],
    ['negative stride x[:, ::-1, -1]', [0, 0, -1], [0, 0, 0], [1, -1, 1], { begin_mask: 3, end_mask: 3, shrink_axis_mask: 4 }, [[null, null, 1], [null, null, -1], -1]],
    ['negative begin x[-1:, -2:]', [-1, -2], [0, 0], [1, 1], { end_mask: 3 }, [[-1, null, 1], [-2, null, 1]]],
    ['negative stride with bounds x[:, 2:0:-1, 3:0:-2]', [0, 2, 3], [0, 0, 0], [1, -1, -2], { begin_mask: 1, end_mask: 1 }, [[null, null, 1], [2, 0, -1], [3, 0, -2]]],
  ];
  for (const [what, b, e, s, masks, np] of cases) {
    it(`StridedSlice ${what}`, () => {
      const [n, cs] = ss('ss', b, e, s, masks);
      const got = run([n], [...cs], x)[0]!;
      const want = npIndex([2, 3, 4], X, np);
      close(got, T('f32', want.shape, want.data));
    });
  }

  it('Slice (size -1), Transpose, Pack, Unpack, ConcatV2, ExpandDims, Squeeze', () => {
    const nodes = [
      node('sl', 'Slice', ['x', 'sl/b', 'sl/s']),
      node('tr', 'Transpose', ['x', 'tr/p']),
      node('un', 'Unpack', ['x'], { axis: { i: '1' }, num: { i: '3' } }),
      node('pk', 'Pack', ['un:2', 'un:0'], { axis: { i: '-1' } }),
      node('cc', 'ConcatV2', ['un:1', 'un:0', 'cc/axis']),
      node('ed', 'ExpandDims', ['un:1', 'ed/axis']),
      node('sq', 'Squeeze', ['ed'], { squeeze_dims: { list: { i: ['-2'] } } }),
    ];
    const consts = [ints('sl/b', [1, 0, 1]), ints('sl/s', [-1, 2, -1]), ints('tr/p', [2, 0, 1]), ints('cc/axis', [0], []), ints('ed/axis', [-2], [])];
    const [sl, tr, pk, cc, ed, sq] = run(nodes, consts, x, ['sl', 'tr', 'pk', 'cc', 'ed', 'sq']);
    const at = (i: number, j: number, k: number) => X[(i * 3 + j) * 4 + k]!;
    close(sl!, T('f32', [1, 2, 3], [at(1, 0, 1), at(1, 0, 2), at(1, 0, 3), at(1, 1, 1), at(1, 1, 2), at(1, 1, 3)]));
    const trw: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) trw.push(at(i, j, k));
    close(tr!, T('f32', [4, 2, 3], trw));
    const pkw: number[] = [];
    for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) pkw.push(at(i, 2, k), at(i, 0, k));
    close(pk!, T('f32', [2, 4, 2], pkw));
    const ccw: number[] = [];
    for (const j of [1, 0]) for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) ccw.push(at(i, j, k));
    close(cc!, T('f32', [4, 4], ccw));
    const un1: number[] = [];
    for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) un1.push(at(i, 1, k));
    close(ed!, T('f32', [2, 1, 4], un1));
    close(sq!, T('f32', [2, 4], un1));
  });

  it('_FusedMatMul (transpose_b, BiasAdd, Relu), Mean keep_dims, Sum, Max, Rsqrt, Square, SquaredDifference', () => {
    const m = T('f32', [2, 3], [1, -2, 3, -4, 5, -6]);
    const w = [0.5, -1, 2, 1, 0, -0.5, 0.25, 0.75, 1.5, -2, 1, 0.1]; // [4, 3] (transposed weights)
    const bias = [0.1, -0.2, 0.3, -0.4];
    const nodes = [
      node('mm', '_FusedMatMul', ['x', 'w', 'bias'], { transpose_b: { b: true }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, num_args: { i: '1' } }),
      node('mean', 'Mean', ['x', 'ax1'], { keep_dims: { b: true } }),
      node('sum', 'Sum', ['x', 'ax0'], { keep_dims: { b: false } }),
      node('max', 'Max', ['x', 'ax1'], {}),
      node('sq', 'Square', ['x']),
      node('rs', 'Rsqrt', ['sq']),
      node('sd', 'SquaredDifference', ['x', 'rs']),
    ];
    const consts: C[] = [{ name: 'w', shape: [4, 3], data: w }, { name: 'bias', shape: [4], data: bias }, ints('ax1', [1], []), ints('ax0', [0], [])];
    const [mm, mean, sum, max, sq, rs, sd] = run(nodes, consts, m, ['mm', 'mean', 'sum', 'max', 'sq', 'rs', 'sd']);
    const M = m.toNumbers();
    const mmw: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) {
      let acc = bias[j]!;
      for (let k = 0; k < 3; k++) acc += M[i * 3 + k]! * w[j * 3 + k]!;
      mmw.push(Math.max(acc, 0));
    }
    close(mm!, T('f32', [2, 4], mmw));
    close(mean!, T('f32', [2, 1], [2 / 3, -5 / 3]));
    close(sum!, T('f32', [3], [-3, 3, -3]));
    close(max!, T('f32', [2], [3, 5]));
    close(sq!, T('f32', [2, 3], M.map((v) => v * v)));
    close(rs!, T('f32', [2, 3], M.map((v) => 1 / Math.abs(v))));
    close(sd!, T('f32', [2, 3], M.map((v) => (v - 1 / Math.abs(v)) ** 2)));
  });

  it('integer ops: FloorDiv/FloorMod (negative), Cast, Shape, GatherV2, Tile, Fill, ArgMax', () => {
    const xi = T('i32', [2, 3], [7, -7, 5, -5, 0, 9]);
    const nodes = [
      node('fd', 'FloorDiv', ['x', 'd']),
      node('fm', 'FloorMod', ['x', 'd']),
      node('cf', 'Cast', ['x'], { DstT: { type: 'DT_FLOAT' } }),
      node('sh', 'Shape', ['x'], { out_type: { type: 'DT_INT32' } }),
      node('ga', 'GatherV2', ['x', 'gi', 'gax'], { batch_dims: { i: '0' } }),
      node('ti', 'Tile', ['x', 'reps']),
      node('fi', 'Fill', ['sh', 'fv']),
      node('am', 'ArgMax', ['x', 'gax'], { output_type: { type: 'DT_INT32' } }),
    ];
    const consts = [ints('d', [2, -2, 3], [3]), ints('gi', [2, 0]), ints('gax', [1], []), ints('reps', [2, 1]), ints('fv', [4], [])];
    const [fd, fm, cf, sh, ga, ti, fi, am] = run(nodes, consts, xi, ['fd', 'fm', 'cf', 'sh', 'ga', 'ti', 'fi', 'am']);
    const V = xi.toNumbers();
    const D = [2, -2, 3];
    close(fd!, T('i32', [2, 3], V.map((v, i) => Math.floor(v / D[i % 3]!))));
    close(fm!, T('i32', [2, 3], V.map((v, i) => v - Math.floor(v / D[i % 3]!) * D[i % 3]!)));
    close(cf!, T('f32', [2, 3], V));
    close(sh!, T('i32', [2], [2, 3]));
    close(ga!, T('i32', [2, 2], [5, 7, 9, -5]));
    close(ti!, T('i32', [4, 3], [...V, ...V]));
    close(fi!, T('i32', [2, 3], [4, 4, 4, 4, 4, 4]));
    close(am!, T('i32', [2], [0, 2]));
  });

  // TF resize (tensorflow/core/kernels/image/resize_bilinear_op.cc, resize_nearest_neighbor_op.cc)
  function tfResize(inp: number[], h: number, w: number, oh: number, ow: number, mode: 'bilinear' | 'nearest', align: boolean, half: boolean): number[] {
    const sc = (i: number, o: number) => (align && o > 1 ? (i - 1) / (o - 1) : i / o);
    const sy = sc(h, oh);
    const sx = sc(w, ow);
    const out: number[] = [];
    for (let y = 0; y < oh; y++) for (let x2 = 0; x2 < ow; x2++) {
      if (mode === 'nearest') {
        const src = (o: number, s: number, n: number) => Math.min(align ? Math.round(o * s) : half ? Math.floor((o + 0.5) * s) : Math.floor(o * s), n - 1);
        out.push(inp[src(y, sy, h) * w + src(x2, sx, w)]!);
      } else {
        const src = (o: number, s: number) => (half ? (o + 0.5) * s - 0.5 : o * s);
        const fy = src(y, sy);
        const fx = src(x2, sx);
        const y0 = Math.max(Math.floor(fy), 0);
        const y1 = Math.min(Math.ceil(fy), h - 1);
        const x0 = Math.max(Math.floor(fx), 0);
        const x1 = Math.min(Math.ceil(fx), w - 1);
        const ly = fy - Math.floor(fy);
        const lx = fx - Math.floor(fx);
        const at = (a: number, b: number) => inp[a * w + b]!;
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * lx;
        const bot = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * lx;
        out.push(top + (bot - top) * ly);
      }
    }
    return out;
  }
  for (const mode of ['bilinear', 'nearest'] as const) {
    for (const [align, half] of [[false, false], [true, false], [false, true]] as const) {
      for (const [oh, ow] of [[7, 5], [2, 3]] as [number, number][]) {
        it(`Resize${mode === 'bilinear' ? 'Bilinear' : 'NearestNeighbor'} align_corners=${align} half_pixel_centers=${half} 4x3 -> ${oh}x${ow}`, () => {
          const r = lcg(3);
          const img = Array.from({ length: 12 }, () => Math.fround(r()));
          const op = mode === 'bilinear' ? 'ResizeBilinear' : 'ResizeNearestNeighbor';
          const got = run([node('rz', op, ['x', 'size'], { align_corners: { b: align }, half_pixel_centers: { b: half } })], [ints('size', [oh, ow])], T('f32', [1, 4, 3, 1], img))[0]!;
          close(got, T('f32', [1, oh, ow, 1], tfResize(img, 4, 3, oh, ow, mode, align, half)), { rtol: 1e-5, atol: 1e-6 });
        });
      }
    }
  }

  it('Conv2D EXPLICIT and dilated SAME, AvgPool SAME, FusedBatchNormV3, BiasAdd, Relu6, MirrorPad, PadV2, Mean over H,W', () => {
    const r = lcg(9);
    const rnd = (n: number) => Array.from({ length: n }, () => Math.fround(r()));
    const xin = rnd(1 * 6 * 5 * 2);
    const k1 = rnd(3 * 3 * 2 * 3);
    const k2 = rnd(3 * 3 * 3 * 2);
    const bias = rnd(2);
    const [g, be, mu] = [rnd(2).map((v) => 1 + v / 2), rnd(2), rnd(2)];
    const va = rnd(2).map((v) => Math.fround(0.5 + Math.abs(v)));
    const nodes = [
      node('c1', 'Conv2D', ['x', 'k1'], { strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('EXPLICIT') },
        explicit_paddings: { list: { i: ['0', '0', '2', '0', '1', '1', '0', '0'] } } }),
      node('c2', 'Conv2D', ['c1', 'k2'], { strides: { list: { i: ['1', '1', '1', '1'] } }, dilations: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: b64('SAME') } }),
      node('ba', 'BiasAdd', ['c2', 'bias']),
      node('bn', 'FusedBatchNormV3', ['ba', 'g', 'be', 'mu', 'va'], { epsilon: { f: 0.001 }, is_training: { b: false } }),
      node('r6', 'Relu6', ['bn']),
      node('ap', 'AvgPool', ['r6'], { ksize: { list: { i: ['1', '2', '2', '1'] } }, strides: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: b64('SAME') } }),
      node('mp', 'MirrorPad', ['ap', 'mpp'], { mode: { s: b64('REFLECT') } }),
      node('p2', 'PadV2', ['mp', 'p2p', 'p2v']),
      node('mean', 'Mean', ['p2', 'hw'], { keep_dims: { b: false } }),
    ];
    const consts: C[] = [
      { name: 'k1', shape: [3, 3, 2, 3], data: k1 }, { name: 'k2', shape: [3, 3, 3, 2], data: k2 }, { name: 'bias', shape: [2], data: bias },
      { name: 'g', shape: [2], data: g }, { name: 'be', shape: [2], data: be }, { name: 'mu', shape: [2], data: mu }, { name: 'va', shape: [2], data: va },
      ints('mpp', [0, 0, 1, 1, 1, 0, 0, 0], [4, 2]), ints('p2p', [0, 0, 0, 1, 0, 0, 0, 0], [4, 2]), { name: 'p2v', shape: [], data: [-3] },
      ints('hw', [1, 2]),
    ];
    const [mp, p2, mean] = run(nodes, consts, T('f32', [1, 6, 5, 2], xin), ['mp', 'p2', 'mean']);
    // naive: explicit pads top 2, bottom 0, left 1, right 1 -> out (6+2-3+1) x (5+2-3+1) = 6 x 5
    let y = conv2d(arr([1, 6, 5, 2], xin), arr([3, 3, 2, 3], k1), null, [1, 1], 'valid', { padTop: 2, outH: 6, padLeft: 1, outW: 5 });
    y = conv2d(y, arr([3, 3, 3, 2], k2), arr([2], bias), [1, 1], 'same', { dilation: [2, 2] });
    y = { shape: y.shape, data: y.data.map((v, i) => {
      const c = i % 2;
      const n = ((v - mu[c]!) / Math.sqrt(va[c]! + 0.001)) * g[c]! + be[c]!;
      return Math.min(Math.max(n, 0), 6);
    }) };
    const ap = pool(y, 'avg', [2, 2], [2, 2], 'same'); // [1, 3, 3, 2]
    // reflect pad H by (1, 1), W by (1, 0)
    const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    const mpw: number[] = [];
    for (let i = -1; i < 4; i++) for (let j = -1; j < 3; j++) for (let c = 0; c < 2; c++) mpw.push(ap.data[(refl(i, 3) * 3 + refl(j, 3)) * 2 + c]!);
    close(mp!, T('f32', [1, 5, 4, 2], mpw), { rtol: 1e-4, atol: 1e-5 });
    const p2w: number[] = [];
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) for (let c = 0; c < 2; c++) p2w.push(i < 5 ? mpw[(i * 4 + j) * 2 + c]! : -3);
    close(p2!, T('f32', [1, 6, 4, 2], p2w), { rtol: 1e-4, atol: 1e-5 });
    const mw = [0, 1].map((c) => p2w.filter((_, i) => i % 2 === c).reduce((a, b) => a + b, 0) / 24);
    close(mean!, T('f32', [1, 2], mw), { rtol: 1e-4, atol: 1e-5 });
  });

  for (const [padding, oh, ow] of [['SAME', 6, 5], ['VALID', 7, 7]] as const) {
    it(`Conv2DBackpropInput ${padding} stride 2: 3x3 -> ${oh}x${ow}, ClipByValue, Log1p, Expm1`, () => {
      const r = lcg(21);
      const rnd = (n: number) => Array.from({ length: n }, () => Math.fround(r()));
      const xin = rnd(1 * 3 * 3 * 2);
      const k = rnd(3 * 3 * 3 * 2);
      const nodes = [
        node('dc', 'Conv2DBackpropInput', ['os', 'k', 'x'], { strides: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: b64(padding) } }),
        node('cl', 'ClipByValue', ['dc', 'lo', 'hi']),
        node('l1', 'Log1p', ['cl']),
        node('e1', 'Expm1', ['l1']),
      ];
      const consts: C[] = [ints('os', [1, oh, ow, 3]), { name: 'k', shape: [3, 3, 3, 2], data: k }, { name: 'lo', shape: [], data: [-0.5] }, { name: 'hi', shape: [], data: [0.75] }];
      const [dc, l1, e1] = run(nodes, consts, T('f32', [1, 3, 3, 2], xin), ['dc', 'l1', 'e1']);
      const want = convTranspose(arr([1, 3, 3, 2], xin), arr([3, 3, 3, 2], k), null, [2, 2], padding === 'SAME' ? 'same' : 'valid', oh, ow);
      close(dc!, T('f32', [1, oh, ow, 3], want.data), { rtol: 1e-5, atol: 1e-6 });
      const clipped = Array.from(want.data, (v) => Math.min(Math.max(v, -0.5), 0.75));
      close(l1!, T('f32', [1, oh, ow, 3], clipped.map(Math.log1p)), { rtol: 1e-5, atol: 1e-6 });
      close(e1!, T('f32', [1, oh, ow, 3], clipped), { rtol: 1e-5, atol: 1e-6 });
    });
  }
});
