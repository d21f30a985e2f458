/**
 * Signal (DFT, STFT, windows, MelWeightMatrix), detection (NonMaxSuppression, RoiAlign,
 * DeformConv) and classic-ML ops (ai.onnx.ml ArrayFeatureExtractor, Binarizer, LabelEncoder,
 * TreeEnsemble; TfIdfVectorizer) and ImageDecoder (BMP, PNM) on the reference interpreter, against onnxruntime-node for
 * attribute combinations the ONNX node tests do not cover, and against naive implementations
 * written here (a direct O(n^2) DFT sum, a direct bilinear deformable convolution).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxproto from 'onnx-proto';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { importOnnx } from '../../compiler/frontends/onnx/import.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { erf } from '../../compiler/ops/elementwise.js';
import { AttrIn, NodeModel, buildModel, runOrt, runRef } from './ort-oracle.js';

const { onnx } = onnxproto;

/** Deterministic pseudo-random floats in [lo, hi). */
function rand(n: number, lo = -3, hi = 3, seed = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + ((hi - lo) * s) / 2 ** 32);
  }
  return out;
}
const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], seed = 1, lo = -3, hi = 3) => Tensor.from('f32', shape, rand(numelOf(shape), lo, hi, seed));
const f64 = (shape: number[], seed = 1, lo = -3, hi = 3) => Tensor.from('f64', shape, rand(numelOf(shape), lo, hi, seed));
const i64 = (shape: number[], v: number[]) => Tensor.from('i64', shape, v);
const i32s = (v: number) => Tensor.from('i32', [], [v]);
const i64s = (v: number) => Tensor.from('i64', [], [v]);
const f32s = (v: number) => Tensor.from('f32', [], [v]);

interface Case extends NodeModel {
  name: string;
  out: DType[];
  tol?: { rtol: number; atol: number };
}

async function check(c: Case): Promise<void> {
  const want = await runOrt(c, c.out);
  const got = runRef(c, c.out);
  want.forEach((w, k) => {
    expect(compareTensors(got[k]!, w, c.tol ?? { rtol: 1e-4, atol: 1e-4 }), `${c.name} output ${k}`).toBeNull();
  });
}

// ---------------------------------------------------------------------------------------------
// DFT against a direct sum
// ---------------------------------------------------------------------------------------------

/**
 * Naive DFT of x ([..., 1|2]) along `axis`, written from the operator definition:
 * y[k] = scale * sum_n x[n] exp(sign * 2 pi i k n / N), N = dft length (input padded/truncated),
 * sign = -1 forward / +1 inverse, scale = 1 or 1/N; onesided keeps k <= N/2. irfft rebuilds the
 * Hermitian spectrum from bins 0..N/2 and keeps the real part.
 */
function naiveDft(x: Tensor, axis: number, N: number, inverse: boolean, onesided: boolean): Tensor {
  const rank = x.shape.length;
  const comp = x.shape[rank - 1]!;
  const shapeIn = x.shape as number[];
  const irfft = inverse && onesided;
  const outLen = onesided && !inverse ? Math.floor(N / 2) + 1 : N;
  const outShape = [...shapeIn.slice(0, rank - 1)];
  outShape[axis] = outLen;
  outShape.push(irfft ? 1 : 2);
  const res = Tensor.zeros(x.dtype, outShape);
  const inStr = shapeIn.map((_, d) => numelOf(shapeIn.slice(d + 1)));
  const outStr = outShape.map((_, d) => numelOf(outShape.slice(d + 1)));
  const lines = numelOf(shapeIn.slice(0, rank - 1)) / shapeIn[axis]!;
  const otherDims = shapeIn.slice(0, rank - 1).map((d, i) => (i === axis ? 1 : d));
  for (let l = 0; l < lines; l++) {
    // coordinates of this line on the other axes
    const coord = otherDims.map((_, d) => Math.floor(l / numelOf(otherDims.slice(d + 1))) % otherDims[d]!);
    const sample = (n: number): [number, number] => {
      if (n >= shapeIn[axis]!) return [0, 0];
      let off = 0;
      coord.forEach((c, d) => (off += (d === axis ? n : c) * inStr[d]!));
      return [x.get(off), comp === 2 ? x.get(off + 1) : 0];
    };
    const spectrum = (k: number): [number, number] => {
      if (!irfft) return sample(k);
      if (k <= N / 2) return k < Math.floor(N / 2) + 1 ? sample(k) : [0, 0];
      const [re, im] = sample(N - k);
      return [re, -im];
    };
    for (let k = 0; k < outLen; k++) {
      let sr = 0;
      let si = 0;
      for (let n = 0; n < N; n++) {
        const [re, im] = irfft ? spectrum(n) : sample(n);
        const th = ((inverse ? 2 : -2) * Math.PI * k * n) / N;
        sr += re * Math.cos(th) - im * Math.sin(th);
        si += re * Math.sin(th) + im * Math.cos(th);
      }
      let off = 0;
      coord.forEach((c, d) => (off += (d === axis ? k : c) * outStr[d]!));
      const sc = inverse ? 1 / N : 1;
      res.set(off, sr * sc);
      if (!irfft) res.set(off + 1, si * sc);
    }
  }
  return res;
}

function dftRef(x: Tensor, opset: number, attrs: Record<string, AttrIn>, len?: number, axis?: number): Tensor {
  const inputs: (Tensor | null)[] = [x, len === undefined ? null : i64s(len)];
  if (opset >= 20 && axis !== undefined) inputs.push(i64s(axis));
  const m: NodeModel = { op: 'DFT', opset, inputs, attrs: opset < 20 && axis !== undefined ? { ...attrs, axis } : attrs };
  return runRef(m, [x.dtype])[0]!;
}

describe('DFT against a direct O(n^2) sum', () => {
  const real = f64([2, 7, 5, 1], 3);
  const cplx = f64([2, 6, 5, 2], 4);
  const cases: { name: string; x: Tensor; axis: number; len?: number; inverse?: boolean; onesided?: boolean }[] = [
    { name: 'real axis 1', x: real, axis: 1 },
    { name: 'real axis 2 (negative -2)', x: real, axis: -2 },
    { name: 'real axis 0', x: real, axis: 0 },
    { name: 'complex axis 1 padded to 9', x: cplx, axis: 1, len: 9 },
    { name: 'complex axis 2 truncated to 3', x: cplx, axis: 2, len: 3 },
    { name: 'real onesided odd length', x: real, axis: 1, onesided: true },
    { name: 'real onesided dft_length 8', x: real, axis: 2, len: 8, onesided: true },
    { name: 'complex inverse', x: cplx, axis: 1, inverse: true },
    { name: 'complex inverse padded', x: cplx, axis: -3, len: 10, inverse: true },
    { name: 'irfft default length', x: cplx, axis: 1, inverse: true, onesided: true },
    { name: 'irfft odd length 11', x: cplx, axis: 1, len: 11, inverse: true, onesided: true },
    { name: 'irfft length 4 (bins truncated)', x: cplx, axis: 2, len: 4, inverse: true, onesided: true },
  ];
  for (const c of cases) {
    for (const opset of [17, 20]) {
      it(`${c.name} (opset ${opset})`, () => {
        const attrs: Record<string, AttrIn> = {};
        if (c.inverse) attrs.inverse = 1;
        if (c.onesided) attrs.onesided = 1;
        const rank = c.x.shape.length;
        const ax = c.axis < 0 ? c.axis + rank : c.axis;
        const n = c.len ?? (c.inverse && c.onesided ? 2 * (c.x.shape[ax]! - 1) : c.x.shape[ax]!);
        const got = dftRef(c.x, opset, attrs, c.len, c.axis);
        const want = naiveDft(c.x, ax, n, !!c.inverse, !!c.onesided);
        expect(compareTensors(got, want, { rtol: 1e-10, atol: 1e-10 })).toBeNull();
      });
    }
  }
  it('STFT of a complex signal equals the DFT of each windowed frame', () => {
    const [len, step, L] = [40, 7, 10];
    const sig = f64([2, len, 2], 12);
    const win = f64([L], 13, 0, 1);
    const got = runRef({ op: 'STFT', opset: 17, inputs: [sig, i64s(step), win, i64s(L)], attrs: { onesided: 0 } }, ['f64'])[0]!;
    const frames = Math.floor((len - L) / step) + 1;
    expect(got.shape).toEqual([2, frames, L, 2]);
    for (let b = 0; b < 2; b++) {
      for (let f = 0; f < frames; f++) {
        const fr: number[] = [];
        for (let t = 0; t < L; t++) for (let c = 0; c < 2; c++) fr.push(sig.get((b * len + f * step + t) * 2 + c) * win.get(t));
        const want = naiveDft(Tensor.from('f64', [L, 2], fr), 0, L, false, false);
        for (let i = 0; i < 2 * L; i++) expect(got.get((b * frames + f) * 2 * L + i)).toBeCloseTo(want.get(i), 10);
      }
    }
  });
  it('opset 20 defaults to the last signal axis', () => {
    const got = dftRef(real, 20, {});
    expect(compareTensors(got, naiveDft(real, 2, 5, false, false), { rtol: 1e-10, atol: 1e-10 })).toBeNull();
  });
});

describe('DFT / STFT / windows / MelWeightMatrix against onnxruntime', () => {
  const cases: Case[] = [
    { name: 'DFT-17 f32 complex axis 2 dft_length 6', op: 'DFT', opset: 17, inputs: [f32([2, 4, 5, 2], 5), i64s(6)], attrs: { axis: 2 }, out: ['f32'] },
    { name: 'DFT-17 f32 real onesided', op: 'DFT', opset: 17, inputs: [f32([3, 8, 1], 6)], attrs: { onesided: 1 }, out: ['f32'] },
    { name: 'DFT-20 f32 inverse axis 1', op: 'DFT', opset: 20, inputs: [f32([2, 7, 3, 2], 7), null, i64s(1)], attrs: { inverse: 1 }, out: ['f32'] },
    { name: 'DFT-20 f64 real default axis', op: 'DFT', opset: 20, inputs: [f64([2, 3, 9, 1], 8)], out: ['f64'], tol: { rtol: 1e-9, atol: 1e-9 } },
    { name: 'STFT onesided no window, frame_length 16', op: 'STFT', opset: 17, inputs: [f32([2, 100, 1], 9), i64s(7), null, i64s(16)], out: ['f32'] },
    { name: 'STFT window, two-sided', op: 'STFT', opset: 17, inputs: [f32([1, 64, 1], 10), i64s(5), f32([12], 11, 0, 1)], attrs: { onesided: 0 }, out: ['f32'] },
    { name: 'HannWindow periodic 13', op: 'HannWindow', opset: 17, inputs: [i32s(13)], out: ['f32'] },
    { name: 'HannWindow symmetric 8 f64', op: 'HannWindow', opset: 17, inputs: [i64s(8)], attrs: { periodic: 0, output_datatype: 11 }, out: ['f64'], tol: { rtol: 1e-12, atol: 1e-12 } },
    { name: 'HammingWindow periodic 11', op: 'HammingWindow', opset: 17, inputs: [i32s(11)], out: ['f32'] },
    { name: 'HammingWindow symmetric 7', op: 'HammingWindow', opset: 17, inputs: [i32s(7)], attrs: { periodic: 0 }, out: ['f32'] },
    { name: 'BlackmanWindow periodic 9', op: 'BlackmanWindow', opset: 17, inputs: [i32s(9)], out: ['f32'] },
    { name: 'BlackmanWindow symmetric 12', op: 'BlackmanWindow', opset: 17, inputs: [i64s(12)], attrs: { periodic: 0 }, out: ['f32'] },
    { name: 'MelWeightMatrix 16 bins, 512-point, 16 kHz', op: 'MelWeightMatrix', opset: 17, inputs: [i32s(16), i32s(512), i32s(16000), f32s(20), f32s(7600)], out: ['f32'] },
    { name: 'MelWeightMatrix 5 bins, 64-point, f64', op: 'MelWeightMatrix', opset: 17, inputs: [i64s(5), i64s(64), i64s(8000), f32s(0), f32s(4000)], attrs: { output_datatype: 11 }, out: ['f64'] },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/** Random boxes [B, N, 4] as corners (either diagonal order) or centers, clustered so IoU varies. */
function boxes(B: number, N: number, seed: number, center: boolean): Tensor {
  const v = rand(B * N * 4, 0, 1, seed);
  const out: number[] = [];
  for (let i = 0; i < B * N; i++) {
    const [a, b, c, d] = [v[4 * i]! * 10, v[4 * i + 1]! * 10, v[4 * i + 2]! * 4 + 0.5, v[4 * i + 3]! * 4 + 0.5];
    if (center) out.push(a, b, c, d);
    else if (i % 3 === 0) out.push(b + d, a + c, b, a); // flipped corners
    else out.push(b, a, b + d, a + c);
  }
  return Tensor.from('f32', [B, N, 4], out);
}

describe('NonMaxSuppression and RoiAlign against onnxruntime', () => {
  const nms = (name: string, B: number, C: number, N: number, seed: number, maxOut: number, iou: number, score: number | null, center = 0): Case => ({
    name, op: 'NonMaxSuppression', opset: 11,
    inputs: [boxes(B, N, seed, center === 1), f32([B, C, N], seed + 1, 0, 1), i64([1], [maxOut]), Tensor.from('f32', [1], [iou]), ...(score === null ? [] : [Tensor.from('f32', [1], [score])])],
    attrs: { center_point_box: center }, out: ['i64'],
  });
  const cases: Case[] = [
    nms('NMS 2 batches 3 classes, score threshold', 2, 3, 30, 20, 5, 0.3, 0.2),
    nms('NMS no score threshold, large max', 1, 2, 25, 22, 100, 0.5, null),
    nms('NMS center boxes', 2, 2, 20, 24, 4, 0.4, 0.1, 1),
    nms('NMS iou 0 keeps only disjoint boxes', 1, 1, 30, 26, 50, 0, null),
    nms('NMS max 0 selects nothing', 1, 2, 10, 28, 0, 0.5, 0.1),
    {
      name: 'NMS tied scores: lower index first', op: 'NonMaxSuppression', opset: 11,
      inputs: [boxes(1, 8, 30, false), Tensor.from('f32', [1, 1, 8], [0.5, 0.9, 0.5, 0.9, 0.2, 0.5, 0.9, 0.1]), i64([1], [8]), Tensor.from('f32', [1], [0.9])],
      out: ['i64'],
    },
  ];
  const x = f32([2, 3, 12, 10], 40);
  const rois = Tensor.from('f32', [4, 4], [0, 0, 9, 11, 2.5, 1.2, 7.7, 6.3, 4, 4, 4.5, 4.2, -2, 3, 14, 15]);
  const bi = i64([4], [0, 1, 1, 0]);
  const roi = (name: string, attrs: Record<string, AttrIn>, opset = 16): Case => ({ name, op: 'RoiAlign', opset, inputs: [x, rois, bi], attrs, out: ['f32'], floatAttrs: ['spatial_scale'] });
  cases.push(
    roi('RoiAlign avg half_pixel adaptive sampling', { output_height: 3, output_width: 4 }),
    roi('RoiAlign avg output_half_pixel sampling 2 scale 0.5', { output_height: 2, output_width: 2, sampling_ratio: 2, spatial_scale: 0.5, coordinate_transformation_mode: 'output_half_pixel' }),
    roi('RoiAlign max half_pixel sampling 3', { output_height: 4, output_width: 3, sampling_ratio: 3, mode: 'max' }),
    roi('RoiAlign opset 10 (output_half_pixel)', { output_height: 2, output_width: 3 }, 10),
  );
  for (const c of cases) it(c.name, () => check(c));
});

/** Direct deformable convolution: each tap samples X bilinearly at the offset position (zero outside). */
function naiveDeformConv(x: Tensor, w: Tensor, off: Tensor, b: Tensor | null, mask: Tensor | null,
  o: { group: number; og: number; stride: number[]; pad: number[]; dil: number[] }): Tensor {
  const [N, C, H, W] = x.shape as number[];
  const [M, Cg, kh, kw] = w.shape as number[];
  const [oh, ow] = [off.shape[2]!, off.shape[3]!];
  const y = Tensor.zeros('f32', [N!, M!, oh, ow]);
  const at = (n: number, c: number, i: number, j: number) => (i >= 0 && i < H! && j >= 0 && j < W! ? x.get(((n * C! + c) * H! + i) * W! + j) : 0);
  const bilinear = (n: number, c: number, py: number, px: number) => {
    const y0 = Math.floor(py);
    const x0 = Math.floor(px);
    const fy = py - y0;
    const fx = px - x0;
    return at(n, c, y0, x0) * (1 - fy) * (1 - fx) + at(n, c, y0, x0 + 1) * (1 - fy) * fx + at(n, c, y0 + 1, x0) * fy * (1 - fx) + at(n, c, y0 + 1, x0 + 1) * fy * fx;
  };
  const K = kh! * kw!;
  for (let n = 0; n < N!; n++) {
    for (let m = 0; m < M!; m++) {
      const g = Math.floor(m / (M! / o.group));
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let acc = b ? b.get(m) : 0;
          for (let cl = 0; cl < Cg!; cl++) {
            const c = g * Cg! + cl;
            const ogi = Math.floor(c / (C! / o.og));
            for (let ki = 0; ki < kh!; ki++) {
              for (let kj = 0; kj < kw!; kj++) {
                const k = ki * kw! + kj;
                const dy = off.get((((n * o.og + ogi) * K + k) * 2 * oh + i) * ow + j);
                const dx = off.get((((n * o.og + ogi) * K + k) * 2 * oh + oh + i) * ow + j);
                const py = i * o.stride[0]! - o.pad[0]! + ki * o.dil[0]! + dy;
                const px = j * o.stride[1]! - o.pad[1]! + kj * o.dil[1]! + dx;
                const mk = mask ? mask.get(((n * o.og + ogi) * K + k) * oh * ow + i * ow + j) : 1;
                acc += w.get(((m * Cg! + cl) * kh! + ki) * kw! + kj) * mk * bilinear(n, c, py, px);
              }
            }
          }
          y.set(((n * M! + m) * oh + i) * ow + j, acc);
        }
      }
    }
  }
  return y;
}

describe('DeformConv against a direct implementation', () => {
  const cases = [
    { name: 'groups 2, offset groups 2, stride 2, pads, mask and bias', N: 2, C: 4, H: 7, W: 8, M: 6, kh: 3, kw: 2, group: 2, og: 2, stride: [2, 1], pad: [1, 0, 1, 1], dil: [1, 1], mask: true, bias: true },
    { name: 'dilation 2, offset group 4 (one channel each)', N: 1, C: 4, H: 9, W: 9, M: 2, kh: 2, kw: 3, group: 1, og: 4, stride: [1, 2], pad: [0, 2, 1, 0], dil: [2, 2], mask: false, bias: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const oh = Math.floor((c.H + c.pad[0]! + c.pad[2]! - (c.dil[0]! * (c.kh - 1) + 1)) / c.stride[0]!) + 1;
      const ow = Math.floor((c.W + c.pad[1]! + c.pad[3]! - (c.dil[1]! * (c.kw - 1) + 1)) / c.stride[1]!) + 1;
      const K = c.kh * c.kw;
      const x = f32([c.N, c.C, c.H, c.W], 50);
      const w = f32([c.M, c.C / c.group, c.kh, c.kw], 51);
      const off = f32([c.N, c.og * K * 2, oh, ow], 52, -2.5, 2.5);
      const b = c.bias ? f32([c.M], 53) : null;
      const mask = c.mask ? f32([c.N, c.og * K, oh, ow], 54, 0, 1) : null;
      const m: NodeModel = {
        op: 'DeformConv', opset: 19, inputs: [x, w, off, b, mask].slice(0, mask ? 5 : b ? 4 : 3),
        attrs: { group: c.group, offset_group: c.og, strides: c.stride, pads: c.pad, dilations: c.dil, kernel_shape: [c.kh, c.kw] },
      };
      const got = runRef(m, ['f32'])[0]!;
      const want = naiveDeformConv(x, w, off, b, mask, { group: c.group, og: c.og, stride: c.stride, pad: c.pad, dil: c.dil });
      expect(compareTensors(got, want, { rtol: 1e-5, atol: 1e-5 })).toBeNull();
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Classic ML
// ---------------------------------------------------------------------------------------------

/** A single-node model in domain ai.onnx.ml (opset `mlOpset`), with ai.onnx opset 17. */
function mlModel(m: NodeModel, out: DType[], mlOpset: number): Uint8Array {
  const model = onnx.ModelProto.decode(buildModel(m, out));
  model.opsetImport.push(new onnx.OperatorSetIdProto({ domain: 'ai.onnx.ml', version: mlOpset }));
  model.graph!.node[0]!.domain = 'ai.onnx.ml';
  return onnx.ModelProto.encode(model).finish();
}

async function checkMl(c: Case & { ml: number }): Promise<void> {
  const bytes = mlModel(c, c.out, c.ml);
  const sess = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  c.inputs.forEach((t, i) => {
    if (!t) return;
    const type = { f32: 'float32', f64: 'float64', i64: 'int64', i32: 'int32' }[t.dtype as 'f32'];
    feeds[`in${i}`] = new ort.Tensor(type as 'float32', t.data as Float32Array, [...t.shape]);
  });
  const res = await sess.run(feeds);
  const got = runGraph(importOnnx(bytes), c.inputs.filter((t): t is Tensor => t !== null));
  c.out.forEach((dt, k) => {
    const r = res[`out${k}`]!;
    const want = new Tensor(dt, [...r.dims], r.data as Float32Array);
    expect(compareTensors(got[k]!, want, c.tol ?? { rtol: 1e-5, atol: 1e-6 }), `${c.name} output ${k}`).toBeNull();
  });
}

/**
 * A random complete binary tree set of `trees` trees of depth `depth` over `F` features, as
 * TreeEnsemble attributes (leaf ids shared in one flat list).
 */
function forest(trees: number, depth: number, F: number, targets: number, seed: number, modes: number[], dtype: 'f32' | 'f64') {
  const v = rand(10000, 0, 1, seed);
  let p = 0;
  const next = () => v[p++]!;
  const a = { featureids: [] as number[], splits: [] as number[], modes: [] as number[], tn: [] as number[], fn: [] as number[], tl: [] as number[], fl: [] as number[], miss: [] as number[], members: [] as number[], lt: [] as number[], lw: [] as number[], roots: [] as number[] };
  let leaves = 0;
  const build = (d: number): [number, boolean] => {
    if (d === depth) {
      a.lt.push(Math.floor(next() * targets));
      a.lw.push(next() * 4 - 2);
      return [leaves++, true];
    }
    const i = a.splits.length;
    const mode = modes[Math.floor(next() * modes.length)]!;
    a.featureids.push(Math.floor(next() * F));
    a.modes.push(mode);
    a.miss.push(next() < 0.5 ? 1 : 0);
    if (mode === 6) {
      a.splits.push(NaN);
      // members in [0, 4]: onnxruntime encodes member sets as bit masks of small non-negative integers
      a.members.push(Math.round(next() * 4), Math.round(next() * 4), NaN);
    } else a.splits.push(mode === 4 || mode === 5 ? Math.round(next() * 4 - 2) : next() * 4 - 2);
    a.tn.push(0); a.fn.push(0); a.tl.push(0); a.fl.push(0);
    const [t, tl] = build(d + 1);
    const [f, fl] = build(d + 1);
    a.tn[i] = t; a.fn[i] = f; a.tl[i] = tl ? 1 : 0; a.fl[i] = fl ? 1 : 0;
    return [i, false];
  };
  for (let t = 0; t < trees; t++) a.roots.push(build(0)[0]);
  const attrs: Record<string, AttrIn> = {
    nodes_featureids: a.featureids, nodes_splits: Tensor.from(dtype, [a.splits.length], a.splits),
    nodes_modes: Tensor.from('u8', [a.modes.length], a.modes), nodes_truenodeids: a.tn, nodes_falsenodeids: a.fn,
    nodes_trueleafs: a.tl, nodes_falseleafs: a.fl, nodes_missing_value_tracks_true: a.miss,
    leaf_targetids: a.lt, leaf_weights: Tensor.from(dtype, [a.lw.length], a.lw), tree_roots: a.roots, n_targets: targets,
  };
  if (a.members.length) attrs.membership_values = Tensor.from(dtype, [a.members.length], a.members);
  return attrs;
}

/** Feature rows with some integral values (for EQ/NEQ/MEMBER) and some NaNs (missing values). */
function features(N: number, F: number, seed: number, dtype: 'f32' | 'f64'): Tensor {
  const v = rand(N * F, -2, 2, seed).map((x, i) => (i % 7 === 3 ? NaN : i % 3 === 0 ? Math.round(x) : x));
  return Tensor.from(dtype, [N, F], v);
}

describe('ai.onnx.ml ops and TfIdfVectorizer against onnxruntime', () => {
  const cases: (Case & { ml: number })[] = [
    { name: 'ArrayFeatureExtractor 3-D', ml: 1, op: 'ArrayFeatureExtractor', opset: 17, inputs: [f32([2, 3, 6], 60), i64([3], [5, 0, 5])], out: ['f32'] },
    { name: 'ArrayFeatureExtractor 1-D gives [1, n]', ml: 1, op: 'ArrayFeatureExtractor', opset: 17, inputs: [f32([6], 61), i64([1, 2], [4, 1])], out: ['f32'] },
    { name: 'ArrayFeatureExtractor int64', ml: 1, op: 'ArrayFeatureExtractor', opset: 17, inputs: [i64([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]), i64([2], [3, 1])], out: ['i64'] },
    { name: 'Binarizer threshold 0.5', ml: 1, op: 'Binarizer', opset: 17, inputs: [f32([4, 5], 62)], attrs: { threshold: 0.5 }, floatAttrs: ['threshold'], out: ['f32'] },
    { name: 'LabelEncoder int64 -> float', ml: 2, op: 'LabelEncoder', opset: 17, inputs: [i64([6], [3, 7, 1, 3, 9, -4])], attrs: { keys_int64s: [1, 3, 7, -4], values_floats: [0.5, -1.25, 2, 8] }, floatAttrs: ['values_floats'], out: ['f32'] },
    { name: 'LabelEncoder float -> int64 with default', ml: 2, op: 'LabelEncoder', opset: 17, inputs: [Tensor.from('f32', [5], [0.5, 1.5, 2, 0.25, 7])], attrs: { keys_floats: [0.5, 2, 7], values_int64s: [10, 20, 30], default_int64: 99 }, floatAttrs: ['keys_floats'], out: ['i64'] },
    { name: 'LabelEncoder-4 tensors int64 -> int64', ml: 4, op: 'LabelEncoder', opset: 17, inputs: [i64([2, 3], [5, 6, 7, 8, 5, 0])], attrs: { keys_tensor: i64([3], [5, 7, 0]), values_tensor: i64([3], [-1, -2, -3]), default_tensor: i64([1], [42]) }, out: ['i64'] },
  ];
  const tree = (name: string, dtype: 'f32' | 'f64', extra: Record<string, AttrIn>, modes: number[], seed: number, tol?: { rtol: number; atol: number }): Case & { ml: number } => ({
    name, ml: 5, op: 'TreeEnsemble', opset: 17, inputs: [features(40, 5, seed, dtype)],
    attrs: { ...forest(6, 4, 5, 3, seed + 1, modes, dtype), ...extra }, out: [dtype], ...(tol ? { tol } : {}),
  });
  cases.push(
    tree('TreeEnsemble f32 LEQ/LT/GTE/GT sum', 'f32', {}, [0, 1, 2, 3], 70),
    tree('TreeEnsemble f64 EQ/NEQ/MEMBER average', 'f64', { aggregate_function: 0 }, [4, 5, 6, 0], 72),
    tree('TreeEnsemble f32 all modes min', 'f32', { aggregate_function: 2 }, [0, 1, 2, 3, 4, 5, 6], 74),
    tree('TreeEnsemble f32 max', 'f32', { aggregate_function: 3 }, [0, 2, 6], 76),
  );
  const tfidf = (name: string, x: Tensor, attrs: Record<string, AttrIn>): Case & { ml: number } => ({
    name, ml: 1, op: 'TfIdfVectorizer', opset: 17, inputs: [x], attrs: { ngram_counts: [0, 4, 12], ngram_indexes: [7, 0, 1, 2, 3, 4, 5, 6, 8, 9], pool_int64s: [2, 3, 5, 4, 5, 6, 7, 8, 6, 7, 2, 3, 5, 6, 2, 2, 3, 5], ...attrs }, floatAttrs: ['weights'], out: ['f32'],
  });
  const tokens = Tensor.from('i32', [3, 9], [2, 3, 5, 6, 7, 5, 6, 2, 3, 5, 5, 6, 8, 2, 3, 4, 5, 6, 7, 8, 6, 7, 5, 6, 2, 3, 5]);
  cases.push(
    tfidf('TfIdfVectorizer TF 1..3-grams skip 2 batch', tokens, { mode: 'TF', min_gram_length: 1, max_gram_length: 3, max_skip_count: 2 }),
    tfidf('TfIdfVectorizer IDF 2..3-grams skip 0', tokens, { mode: 'IDF', min_gram_length: 2, max_gram_length: 3, max_skip_count: 0, weights: [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5] }),
    tfidf('TfIdfVectorizer TFIDF 1..2-grams skip 3, int64 1-D', Tensor.from('i64', [14], [2, 3, 5, 5, 6, 2, 3, 7, 7, 8, 2, 4, 5, 6]), { mode: 'TFIDF', min_gram_length: 1, max_gram_length: 2, max_skip_count: 3, weights: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }),
    tfidf('TfIdfVectorizer IDF without weights, 3-grams only', tokens, { mode: 'IDF', min_gram_length: 3, max_gram_length: 3, max_skip_count: 1 }),
  );
  for (const c of cases) it(c.name, () => (c.op === 'TfIdfVectorizer' ? check(c) : checkMl(c)));

  // onnxruntime 1.30 numbers TreeEnsemble's post_transform differently from the spec (its 1 is
  // LOGISTIC, 2 SOFTMAX), so transformed scores are checked against its raw scores transformed here.
  const softmax = (r: number[], skipZero: boolean) => {
    const e = r.map((v) => (skipZero && v === 0 ? 0 : Math.exp(v)));
    const s = e.reduce((p, q) => p + q, 0);
    return e.map((v) => v / s);
  };
  const posts: [string, number, (row: number[]) => number[]][] = [
    ['SOFTMAX', 1, (r) => softmax(r, false)],
    ['LOGISTIC', 2, (r) => r.map((v) => 1 / (1 + Math.exp(-v)))],
    ['SOFTMAX_ZERO', 3, (r) => softmax(r, true)],
  ];
  for (const [label, code, f] of posts) {
    it(`TreeEnsemble post_transform ${label}`, async () => {
      const c = tree('raw', 'f32', {}, [0, 1, 6], 90 + code);
      const x = c.inputs[0]!;
      const sess = await ort.InferenceSession.create(mlModel(c, ['f32'], 5));
      const raw = (await sess.run({ in0: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) })).out0!;
      const [rows, T] = raw.dims as [number, number];
      const rawV = Array.from(raw.data as Float32Array);
      const want: number[] = [];
      for (let n = 0; n < rows; n++) want.push(...f(rawV.slice(n * T, (n + 1) * T)));
      const got = runGraph(importOnnx(mlModel({ ...c, attrs: { ...c.attrs, post_transform: code } }, ['f32'], 5)), [x])[0]!;
      expect(compareTensors(got, Tensor.from('f32', [rows, T], want), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    });
  }
  it('TreeEnsemble post_transform PROBIT inverts the normal CDF', () => {
    // one tree, leaf weights in (0, 1): the raw score is a probability p; PROBIT gives z with Phi(z) = p
    const attrs: Record<string, AttrIn> = {
      nodes_featureids: [0], nodes_splits: Tensor.from('f64', [1], [0]), nodes_modes: Tensor.from('u8', [1], [0]),
      nodes_truenodeids: [0], nodes_falsenodeids: [1], nodes_trueleafs: [1], nodes_falseleafs: [1],
      leaf_targetids: [0, 1], leaf_weights: Tensor.from('f64', [2], [0.025, 0.9]), tree_roots: [0], n_targets: 2, post_transform: 4,
    };
    const x = Tensor.from('f64', [2, 1], [-1, 1]);
    const bytes = mlModel({ op: 'TreeEnsemble', opset: 17, inputs: [x], attrs }, ['f64'], 5);
    const got = runGraph(importOnnx(bytes), [x])[0]!;
    const p = [0.025, 0, 0, 0.9];
    for (let i = 0; i < 4; i++) {
      if (p[i] === 0) expect(got.get(i)).toBe(-Infinity);
      else expect(0.5 * (1 + erf(got.get(i) / Math.SQRT2))).toBeCloseTo(p[i]!, 12);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// ImageDecoder (BMP and PNM files written here)
// ---------------------------------------------------------------------------------------------

/** A BMP file of an RGB image (24 or 32 bits per pixel, bottom-up unless topDown). */
function bmpFile(h: number, w: number, rgb: number[], bpp: 24 | 32, topDown: boolean): Uint8Array {
  const stride = Math.ceil((bpp * w) / 32) * 4;
  const b = new Uint8Array(54 + stride * h);
  const dv = new DataView(b.buffer);
  b[0] = 0x42; b[1] = 0x4d;
  dv.setUint32(2, b.length, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, topDown ? -h : h, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bpp, true);
  for (let y = 0; y < h; y++) {
    const row = 54 + (topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = row + x * (bpp / 8);
      b[d] = rgb[s + 2]!; b[d + 1] = rgb[s + 1]!; b[d + 2] = rgb[s]!;
      if (bpp === 32) b[d + 3] = 0xff;
    }
  }
  return b;
}

function pnmFile(h: number, w: number, rgb: number[], gray: boolean): Uint8Array {
  const head = new TextEncoder().encode(`${gray ? 'P5' : 'P6'}\n# a comment\n${w} ${h}\n255\n`);
  const px = gray ? rgb.filter((_, i) => i % 3 === 0) : rgb;
  return Uint8Array.from([...head, ...px]);
}

describe('ImageDecoder', () => {
  const [h, w] = [5, 3];
  const rgb = rand(h * w * 3, 0, 256, 99).map(Math.floor);
  const decode = (file: Uint8Array, fmt: string) =>
    runRef({ op: 'ImageDecoder', opset: 20, inputs: [Tensor.from('u8', [file.length], Array.from(file))], attrs: { pixel_format: fmt } }, ['u8'])[0]!;
  const expectImage = (got: Tensor, src: number[], fmt: string) => {
    const n = h * w;
    const want: number[] = [];
    for (let i = 0; i < n; i++) {
      const [r, g, b] = [src[3 * i]!, src[3 * i + 1]!, src[3 * i + 2]!];
      if (fmt === 'RGB') want.push(r, g, b);
      else if (fmt === 'BGR') want.push(b, g, r);
      else {
        // Pillow's "L": ITU-R 601 luma in 16-bit fixed point, within 1 of the rounded float formula
        const l = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
        expect(Math.abs(l - Math.round(0.299 * r + 0.587 * g + 0.114 * b))).toBeLessThanOrEqual(1);
        want.push(l);
      }
    }
    expect(got.shape).toEqual([h, w, fmt === 'Grayscale' ? 1 : 3]);
    expect(Array.from(got.data as Uint8Array)).toEqual(want);
  };
  for (const fmt of ['RGB', 'BGR', 'Grayscale']) {
    it(`BMP 24-bit bottom-up (padded rows), ${fmt}`, () => expectImage(decode(bmpFile(h, w, rgb, 24, false), fmt), rgb, fmt));
    it(`BMP 32-bit top-down, ${fmt}`, () => expectImage(decode(bmpFile(h, w, rgb, 32, true), fmt), rgb, fmt));
    it(`PNM P6 with a comment, ${fmt}`, () => expectImage(decode(pnmFile(h, w, rgb, false), fmt), rgb, fmt));
  }
  it('PNM P5 gray expands to RGB', () => {
    const grayRgb = rgb.map((_, i) => rgb[i - (i % 3)]!);
    expectImage(decode(pnmFile(h, w, rgb, true), 'RGB'), grayRgb, 'RGB');
  });
  it('PNG and truncated files are rejected with EdgecErrors', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    try {
      decode(png, 'RGB');
      expect.unreachable();
    } catch (e) {
      expect((e as EdgecError).kind).toBe('unsupported');
      expect((e as Error).message).toContain('PNG');
    }
    expect(() => decode(bmpFile(h, w, rgb, 24, false).slice(0, 80), 'RGB')).toThrow(EdgecError);
    expect(() => decode(pnmFile(h, w, rgb, false).slice(0, 30), 'RGB')).toThrow(EdgecError);
  });
});

describe('validation raises EdgecError', () => {
  const bad = (m: NodeModel, out: DType[]) => {
    expect(() => runRef(m, out)).toThrow(EdgecError);
  };
  it('DFT on the complex axis', () => bad({ op: 'DFT', opset: 17, inputs: [f32([2, 4, 1], 1)], attrs: { axis: 2 } }, ['f32']));
  it('DFT with a last axis of 3', () => bad({ op: 'DFT', opset: 20, inputs: [f32([2, 4, 3], 1)] }, ['f32']));
  it('STFT window length differs from frame_length', () => bad({ op: 'STFT', opset: 17, inputs: [f32([1, 32, 1], 1), i64s(4), f32([8], 2), i64s(10)] }, ['f32']));
  it('NonMaxSuppression boxes without 4 coordinates', () => bad({ op: 'NonMaxSuppression', opset: 11, inputs: [f32([1, 3, 5], 1), f32([1, 1, 3], 2), i64([1], [3])] }, ['i64']));
  it('RoiAlign batch index out of range', () => bad({ op: 'RoiAlign', opset: 16, inputs: [f32([1, 1, 4, 4], 1), f32([1, 4], 2, 0, 3), i64([1], [2])] }, ['f32']));
  it('DeformConv offset of the wrong shape', () => bad({ op: 'DeformConv', opset: 19, inputs: [f32([1, 1, 4, 4], 1), f32([1, 1, 2, 2], 2), f32([1, 6, 3, 3], 3)] }, ['f32']));
  it('TfIdfVectorizer with string pool is unsupported', () => {
    try {
      runRef({ op: 'TfIdfVectorizer', opset: 17, inputs: [Tensor.from('i32', [3], [1, 2, 3])], attrs: { mode: 'TF', min_gram_length: 1, max_gram_length: 1, max_skip_count: 0, ngram_counts: [0], ngram_indexes: [0], pool_strings: ['a'] } }, ['f32']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EdgecError);
      expect((e as EdgecError).kind).toBe('unsupported');
    }
  });
});
