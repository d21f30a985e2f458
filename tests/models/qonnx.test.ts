/**
 * QONNX custom ops (compiler/ops/qonnx.ts) and the QONNX model
 * ../shared/models/onnx/qonnx/tfc-2w2a-mnist.qonnx.onnx (Brevitas TFC, 2-bit weights and
 * activations, ops in the `onnx.brevitas` domain that QONNX aliases to qonnx.custom_op.general).
 *
 * onnxruntime cannot run this model, so the checks are:
 *  1. op level: expected values taken from the QONNX spec (docs/qonnx-custom-ops/quant_op.md
 *     rounding-mode table, min_int/max_int docstring examples, the MultiThreshold definition);
 *  2. model level: an independent float re-implementation of the whole network written here
 *     from the spec formulas (it walks the ONNX nodes itself and shares no kernel code with the
 *     compiler) must agree with the reference interpreter;
 *  3. every Quant output lies on its integer grid, and the model classifies three real MNIST
 *     digits (the zoo digits of mnist-8's test data, scaled to [0,1]) as the class mnist-8's
 *     expected outputs give.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { importOnnx, loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { tensorFromProto } from '../../compiler/frontends/onnx/tensor-proto.js';
import { BREVITAS_DOMAIN, QONNX_DOMAIN, maxInt, minInt } from '../../compiler/ops/qonnx.js';
import { HAVE_MODELS, MODELS_DIR, argmaxRows, dataSets, errStats, fmt, readPbSeries, sliceBatch, uniform } from './harness.js';

const { onnx } = onnxproto;

/** Runs one QONNX op on constant inputs through the registry and interpreter. */
function runOp(op: string, inputs: Tensor[], attrs: Record<string, number | string> = {}, domain = QONNX_DOMAIN): Tensor {
  const b = new GraphBuilder('t', { '': 13, [domain]: 1 });
  const ids = inputs.map((t, i) => (i === 0 ? b.input('x', t.dtype, t.shape) : b.const(`c${i}`, t)));
  const y = b.node(op, ids, attrs, { domain });
  b.output(y);
  return runGraph(b.build(), [inputs[0]!])[0]!;
}

const f32 = (shape: number[], v: number[]): Tensor => Tensor.from('f32', shape, v);
const scalar = (v: number): Tensor => f32([], [v]);

describe('QONNX ops: values from the QONNX spec', () => {
  // docs/qonnx-custom-ops/quant_op.md, "Rounding modes" table
  const xs = [5.5, 2.5, 1.6, 1.1, 1.0, -1.0, -1.1, -1.6, -2.5, -5.5];
  const table: Record<string, number[]> = {
    ROUND: [6, 2, 2, 1, 1, -1, -1, -2, -2, -6],
    HALF_EVEN: [6, 2, 2, 1, 1, -1, -1, -2, -2, -6],
    CEIL: [6, 3, 2, 2, 1, -1, -1, -1, -2, -5],
    FLOOR: [5, 2, 1, 1, 1, -1, -2, -2, -3, -6],
    UP: [6, 3, 2, 2, 1, -1, -2, -2, -3, -6],
    DOWN: [5, 2, 1, 1, 1, -1, -1, -1, -2, -5],
    HALF_UP: [6, 3, 2, 1, 1, -1, -1, -2, -3, -6],
    HALF_DOWN: [5, 2, 2, 1, 1, -1, -1, -2, -2, -5],
  };
  for (const [mode, want] of Object.entries(table)) {
    it(`Quant rounding_mode=${mode} matches the spec table`, () => {
      const y = runOp('Quant', [f32([xs.length], xs), scalar(1), scalar(0), scalar(8)], { signed: 1, narrow: 0, rounding_mode: mode });
      expect(Array.from(y.data as Float32Array)).toEqual(want);
    });
  }

  it('lowercase rounding modes are accepted; unknown ones are rejected', () => {
    const y = runOp('Quant', [f32([2], [2.5, -2.5]), scalar(1), scalar(0), scalar(8)], { signed: 1, narrow: 0, rounding_mode: 'ceil' });
    expect(Array.from(y.data as Float32Array)).toEqual([3, -2]);
    expect(() => runOp('Quant', [f32([1], [1]), scalar(1), scalar(0), scalar(8)], { rounding_mode: 'NEAREST' })).toThrow(/rounding_mode/);
  });

  it('min_int / max_int match the spec docstring examples', () => {
    expect(minInt(true, true, 8)).toBe(-127);
    expect(minInt(false, true, 8)).toBe(0);
    expect(minInt(true, false, 8)).toBe(-128);
    expect(minInt(false, false, 8)).toBe(0);
    expect(maxInt(true, true, 8)).toBe(127);
    expect(maxInt(false, true, 8)).toBe(254);
    expect(maxInt(true, false, 8)).toBe(127);
    expect(maxInt(false, false, 8)).toBe(255);
  });

  it('Quant clamps to the (signed, narrow, bits) range, then rescales: (q - zp) * scale', () => {
    const x = f32([6], [-10, -0.26, -0.24, 0.26, 0.74, 10]);
    // 2-bit signed narrow: q in {-1, 0, 1}; scale 0.5
    expect(Array.from(runOp('Quant', [x, scalar(0.5), scalar(0), scalar(2)], { signed: 1, narrow: 1 }).data as Float32Array))
      .toEqual([-0.5, -0.5, -0, 0.5, 0.5, 0.5].map((v) => Math.fround(v)));
    // 4-bit unsigned, zero point 2: q = clamp(x/0.25 + 2, 0, 15), y = (round(q) - 2) * 0.25
    const y = runOp('Quant', [x, scalar(0.25), scalar(2), scalar(4)], { signed: 0, narrow: 0 });
    expect(Array.from(y.data as Float32Array)).toEqual([-0.5, -0.25, -0.25, 0.25, 0.75, 3.25]);
    // per-channel scale broadcasts against X
    const xc = f32([2, 2], [1, 1, 1, 1]);
    const yc = runOp('Quant', [xc, f32([2, 1], [0.5, 0.3]), scalar(0), scalar(8)], { signed: 1, narrow: 0 });
    expect(Array.from(yc.data as Float32Array)).toEqual([1, 1, Math.fround(Math.fround(3) * Math.fround(0.3)), Math.fround(Math.fround(3) * Math.fround(0.3))]);
  });

  it('Quant with bitwidth 1 and signed is bipolar (QONNX execute_node behaviour)', () => {
    const y = runOp('Quant', [f32([3], [-0.1, 0, 0.3]), scalar(2), scalar(0), scalar(1)], { signed: 1, narrow: 0 });
    expect(Array.from(y.data as Float32Array)).toEqual([-2, 2, 2]);
  });

  it('BipolarQuant: sign (0 -> +1) times scale', () => {
    const y = runOp('BipolarQuant', [f32([4], [-3, -0, 0, 0.1]), scalar(0.5)]);
    expect(Array.from(y.data as Float32Array)).toEqual([-0.5, 0.5, 0.5, 0.5]);
  });

  it('Trunc (v1, 5 inputs): drops in_bits - out_bits low bits with rounding_mode', () => {
    // x = 37 at 8 bits -> 4 bits: 37 / 16 = 2.3125 -> FLOOR 2 -> 2 (times scale 1)
    const x = f32([4], [37, -37, 40, 255]);
    const y = runOp('Trunc', [x, scalar(1), scalar(0), scalar(8), scalar(4)], { rounding_mode: 'FLOOR' });
    expect(Array.from(y.data as Float32Array)).toEqual([2, -3, 2, 15]);
  });

  it('Trunc (v2, 7 inputs): trunc scale 2^round(log2(out_scale/scale)), clamp to out bits, rescale by out_scale', () => {
    // scale 1, out_scale 16 -> trunc_scale 16; out 4 bits signed: [-8, 7]
    const x = f32([4], [37, -37, 200, -300]);
    const y = runOp('Trunc', [x, scalar(1), scalar(0), scalar(8), scalar(16), scalar(0), scalar(4)], { rounding_mode: 'FLOOR', signed: 1, narrow: 0 });
    expect(Array.from(y.data as Float32Array)).toEqual([2 * 16, -3 * 16, 7 * 16, -8 * 16]);
  });

  it('MultiThreshold counts thresholds x >= t per channel, then out_scale * n + out_bias', () => {
    const x = f32([1, 2, 2], [0, 1.5, 3, -1]); // NCHW-like with C = 2 on axis 1, rank 3 -> channel = last axis
    const thr = f32([2, 3], [0, 1, 2, -2, 0, 2]);
    // rank 3: QONNX reshapes to (-1, C) with C the last axis: rows [0, 1.5] and [3, -1]
    const y = runOp('MultiThreshold', [x, thr], { out_scale: 1, out_bias: 0 });
    // [0 vs ch0 thr 0,1,2 -> 1], [1.5 vs ch1 -2,0,2 -> 2], [3 vs ch0 -> 3], [-1 vs ch1 -> 1]
    expect(Array.from(y.data as Float32Array)).toEqual([1, 2, 3, 1]);
    const x2 = f32([1, 2], [0.5, 0.5]);
    const y2 = runOp('MultiThreshold', [x2, thr], { out_scale: 2, out_bias: -1 });
    expect(Array.from(y2.data as Float32Array)).toEqual([2 * 1 - 1, 2 * 2 - 1]);
  });

  it('the Brevitas domain (onnx.brevitas) resolves to the same ops', () => {
    const y = runOp('Quant', [f32([2], [0.7, -0.7]), scalar(1), scalar(0), scalar(2)], { signed: 1, narrow: 1 }, BREVITAS_DOMAIN);
    expect(Array.from(y.data as Float32Array)).toEqual([1, -1]);
  });
});

// ---------------------------------------------------------------------------------------------
// The TFC-2W2A model
// ---------------------------------------------------------------------------------------------

const QONNX_MODEL = path.join(MODELS_DIR, 'onnx/qonnx/tfc-2w2a-mnist.qonnx.onnx');

/** The model graph as a user gets it from the original file (its input is fixed to batch 1). */
function loadQonnx(): Graph {
  return loadOnnxFile(QONNX_MODEL);
}

/** Runs the graph sample by sample (batch 1) and stacks the outputs along axis 0. */
function runSamples(g: Graph, x: Tensor, opts: Parameters<typeof runGraph>[2] = {}): Tensor {
  const n = x.shape[0]!;
  const outs = Array.from({ length: n }, (_, i) => runGraph(g, [sliceBatch(x, i, i + 1)], opts)[0]!);
  const per = outs[0]!.size;
  const data = new Float32Array(n * per);
  outs.forEach((o, i) => data.set(o.data as Float32Array, i * per));
  return new Tensor('f32', [n, ...outs[0]!.shape.slice(1)], data);
}

/** A minimal 2-D array for the independent re-implementation. */
interface Arr { shape: number[]; data: Float64Array }

const fr = Math.fround;

/**
 * Independent forward pass of the model, written from the ONNX and QONNX specs: walks the ONNX
 * nodes, float32 arithmetic (Math.fround after every operation, like numpy/ORT on float32),
 * float64 accumulation in MatMul. Handles exactly the ops of this model; the Shape/Gather/
 * Unsqueeze/Concat chain only computes Reshape's target [N, -1], so Reshape flattens.
 */
function independentForward(x: Tensor): Float64Array {
  const m = onnx.ModelProto.decode(fs.readFileSync(QONNX_MODEL));
  const env = new Map<string, Arr>();
  for (const tp of m.graph!.initializer ?? []) {
    const t = tensorFromProto(tp);
    env.set(tp.name!, { shape: [...t.shape], data: Float64Array.from(t.toNumbers()) });
  }
  const N = x.shape[0]!;
  env.set('0', { shape: [...x.shape], data: Float64Array.from(x.data as Float32Array) });
  const get = (n: string): Arr => {
    const a = env.get(n);
    if (!a) throw new Error(`independent forward: ${n} missing`);
    return a;
  };
  // broadcast of b against a 2-D a: b is a scalar, [1] or [C] (last axis)
  const bin = (a: Arr, b: Arr, f: (p: number, q: number) => number): Arr => {
    const big = a.data.length >= b.data.length ? a : b;
    const out = new Float64Array(big.data.length);
    const C = big.shape[big.shape.length - 1]!;
    const at = (t: Arr, i: number) => (t.data.length === 1 ? t.data[0]! : t.data.length === big.data.length ? t.data[i]! : t.data[i % C]!);
    for (let i = 0; i < out.length; i++) out[i] = fr(f(at(a, i), at(b, i)));
    return { shape: big.shape, data: out };
  };
  for (const n of m.graph!.node ?? []) {
    const ins = n.input ?? [];
    const out = n.output![0]!;
    const attr = (k: string) => n.attribute?.find((a) => a.name === k);
    switch (n.opType) {
      case 'Shape': case 'Gather': case 'Unsqueeze': case 'Concat':
        break; // only feeds Reshape's target shape [N, -1]
      case 'Reshape': {
        const a = get(ins[0]!);
        env.set(out, { shape: [N, a.data.length / N], data: a.data });
        break;
      }
      case 'Mul': env.set(out, bin(get(ins[0]!), get(ins[1]!), (p, q) => p * q)); break;
      case 'Sub': env.set(out, bin(get(ins[0]!), get(ins[1]!), (p, q) => p - q)); break;
      case 'Add': env.set(out, bin(get(ins[0]!), get(ins[1]!), (p, q) => p + q)); break;
      case 'Div': env.set(out, bin(get(ins[0]!), get(ins[1]!), (p, q) => p / q)); break;
      case 'Pow': env.set(out, bin(get(ins[0]!), get(ins[1]!), (p, q) => Math.pow(p, q))); break;
      case 'Quant': {
        // QONNX quant(): y = (round(clamp(x/s + z, min, max)) - z) * s, round = half-even
        const [xa, s, z, bw] = ins.map((k) => get(k!)) as [Arr, Arr, Arr, Arr];
        const signed = Number(attr('signed')?.i ?? 1) === 1;
        const narrow = Number(attr('narrow')?.i ?? 0) === 1;
        expect(new TextDecoder().decode(attr('rounding_mode')?.s ?? new Uint8Array())).toBe('ROUND');
        const bits = bw.data[0]!;
        const lo = signed ? (narrow ? -(2 ** (bits - 1)) + 1 : -(2 ** (bits - 1))) : 0;
        const hi = signed ? 2 ** (bits - 1) - 1 : narrow ? 2 ** bits - 2 : 2 ** bits - 1;
        const sv = s.data[0]!;
        const zv = z.data[0]!;
        expect(s.data.length).toBe(1);
        const o = new Float64Array(xa.data.length);
        for (let i = 0; i < o.length; i++) {
          let q = fr(fr(xa.data[i]! / sv) + zv);
          q = Math.min(hi, Math.max(lo, q));
          const fl = Math.floor(q);
          q = q - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(q);
          o[i] = fr(fr(q - zv) * sv);
        }
        env.set(out, { shape: xa.shape, data: o });
        break;
      }
      case 'Transpose': {
        const a = get(ins[0]!);
        const [r, c] = a.shape as [number, number];
        const o = new Float64Array(r * c);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) o[j * r + i] = a.data[i * c + j]!;
        env.set(out, { shape: [c, r], data: o });
        break;
      }
      case 'MatMul': {
        const a = get(ins[0]!);
        const b = get(ins[1]!);
        const [r, k] = a.shape as [number, number];
        const c = b.shape[1]!;
        const o = new Float64Array(r * c);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += a.data[i * k + t]! * b.data[t * c + j]!;
          o[i * c + j] = fr(s);
        }
        env.set(out, { shape: [r, c], data: o });
        break;
      }
      case 'BatchNormalization': {
        // y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel (axis 1 of [N, C])
        const [a, g, bt, mu, v] = ins.map((k) => get(k!)) as [Arr, Arr, Arr, Arr, Arr];
        const eps = attr('epsilon')?.f ?? 1e-5;
        const C = a.shape[1]!;
        const o = new Float64Array(a.data.length);
        for (let i = 0; i < o.length; i++) {
          const ch = i % C;
          o[i] = fr(((a.data[i]! - mu.data[ch]!) / Math.sqrt(v.data[ch]! + eps)) * g.data[ch]! + bt.data[ch]!);
        }
        env.set(out, { shape: a.shape, data: o });
        break;
      }
      default:
        throw new Error(`independent forward: op ${n.opType} not handled`);
    }
  }
  return get(m.graph!.output![0]!.name!).data;
}

/** The three real MNIST digits of mnist-8's test data, scaled to [0, 1], and their classes. */
function mnistDigits(): { x: Tensor; labels: number[] } {
  const sets = dataSets(path.join(MODELS_DIR, 'onnx/mnist-8.onnx'));
  const xs: number[] = [];
  const labels: number[] = [];
  for (const d of sets) {
    const inp = readPbSeries(d, 'input')[0]!;
    const out = readPbSeries(d, 'output')[0]!;
    for (let i = 0; i < inp.size; i++) xs.push(inp.get(i) / 255);
    labels.push(argmaxRows(out)[0]!);
  }
  return { x: Tensor.from('f32', [sets.length, 1, 28, 28], xs), labels };
}

describe.skipIf(!HAVE_MODELS)('QONNX model tfc-2w2a-mnist on the reference interpreter', () => {
  it('imports (Quant nodes in the onnx.brevitas domain) and agrees with an independent re-implementation', () => {
    const { x: digits } = mnistDigits();
    const noise = uniform([5, 1, 28, 28], 7, 0, 1);
    for (const x of [digits, noise]) {
      const g = loadQonnx();
      const quantNodes = g.orderedNodes().filter((n) => n.op === 'Quant');
      expect(quantNodes.length).toBe(8);
      const ref = runSamples(g, x);
      const ind = independentForward(x);
      const want = new Tensor('f32', ref.shape, Float32Array.from(ind));
      const st = errStats(ref, want, { rtol: 1e-4, atol: 1e-5 });
      expect(st.worst, `max abs ${fmt(st.maxAbs)} rel ${fmt(st.maxRel)}`).toBeLessThanOrEqual(1);
    }
  });

  it('every Quant output lies on its integer grid: q * scale with q in [min_int, max_int]', () => {
    const { x } = mnistDigits();
    const g = loadQonnx();
    let checked = 0;
    runSamples(g, x, {
      onNode: (node, ins, outs) => {
        if (node.op !== 'Quant') return;
        const scale = ins[1]!.get(0);
        const bits = ins[3]!.get(0);
        const signed = (node.attrs['signed'] ?? 1) === 1;
        const narrow = (node.attrs['narrow'] ?? 0) === 1;
        const levels = new Set<number>();
        const lo = minInt(signed, narrow, bits);
        const hi = maxInt(signed, narrow, bits);
        let offGrid = 0;
        for (let i = 0; i < outs[0]!.size; i++) {
          const q = outs[0]!.get(i) / scale;
          const r = Math.round(q);
          if (Math.abs(q - r) > 1e-5 || r < lo || r > hi) offGrid++;
          levels.add(r + 0);
        }
        expect(offGrid, `${node.name}: values off the grid`).toBe(0);
        // 2-bit narrow signed: at most the three levels -1, 0, 1
        expect(levels.size).toBeLessThanOrEqual(3);
        checked++;
      },
    });
    expect(checked).toBe(8 * x.shape[0]!);
  });

  it('classifies three real MNIST digits as mnist-8 does, deterministically', () => {
    const { x, labels } = mnistDigits();
    const g = loadQonnx();
    const a = runSamples(g, x);
    const b = runSamples(g, x);
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(b.data as Float32Array));
    expect(argmaxRows(a)).toEqual(labels);
  });
});
