/**
 * 7-bit activation ranges (`--act-bits 7`, quantize/qdq.ts actBits): the calibrated range of every
 * quantized activation maps onto i8 [-64, 63] (the wasm relaxed-SIMD one-plane kernel's operand
 * range, runtime-wasm/README.md), checked against hand-computed parameters, against the 8-bit
 * scales of the same calibration (ratio 255 / 127), and on the calibration samples themselves.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { EdgecError } from '../../compiler/errors.js';
import { activationParams, quantizeValue } from '../../quantize/params.js';
import { quantizeModel } from '../../quantize/index.js';
import { rng } from '../helpers/rng.js';

const uniform = (r: () => number, shape: number[], lo: number, hi: number): Tensor =>
  Tensor.from('f32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()));

/** Conv -> Relu -> Conv -> Add(skip) graph, float weights from a seed. */
function convNet(): Graph {
  const r = rng(7);
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [1, 3, 8, 8]);
  const c1 = b.node('Conv', [x, b.const('w1', uniform(r, [6, 3, 3, 3], -0.5, 0.5)), b.const('b1', uniform(r, [6], -0.1, 0.1))], { pads: [1, 1, 1, 1] });
  const a1 = b.node('Relu', [c1]);
  const c2 = b.node('Conv', [a1, b.const('w2', uniform(r, [6, 6, 1, 1], -0.5, 0.5)), b.const('b2', uniform(r, [6], -0.1, 0.1))], {});
  b.output(b.node('Add', [c2, c1], {}, { outputNames: ['y'] }));
  return b.build();
}

describe('7-bit activation quantization (actBits 7)', () => {
  it('activationParams maps [lo, hi] onto [-64, 63] (i8) or [0, 127] (u8)', () => {
    // ReLU range [0, 6.35]: scale 6.35 / 127 = 0.05, zero point -64
    expect(activationParams(0, 6.35, 'i8', 7)).toEqual({ scale: Math.fround(0.05), zeroPoint: -64, dtype: 'i8' });
    // [-1, 3]: scale 4 / 127, zero point round(-64 + 1 / scale) = round(-32.25) = -32
    const p = activationParams(-1, 3, 'i8', 7);
    expect(p.scale).toBe(Math.fround(4 / 127));
    expect(p.zeroPoint).toBe(-32);
    expect(quantizeValue(3, p)).toBe(63);
    expect(quantizeValue(-1, p)).toBe(-64);
    // beyond the range: the tensor is still int8 and saturates at the int8 bounds
    expect(quantizeValue(6, p)).toBe(127);
    expect(activationParams(-2, 0, 'u8', 7)).toEqual({ scale: Math.fround(2 / 127), zeroPoint: 127, dtype: 'u8' });
    // 8 bits unchanged
    expect(activationParams(0, 6.35)).toEqual({ scale: Math.fround(6.35 / 255), zeroPoint: -128, dtype: 'i8' });
  });

  it('quantizeModel: every activation is 7-bit on the calibration data; scales 255/127 of the 8-bit ones', () => {
    const g = convNet();
    const calib = uniform(rng(3), [6, 3, 8, 8], -1, 1);
    const q7 = quantizeModel(g, { mode: 'int8', calib: [calib], actBits: 7 });
    const q8 = quantizeModel(g, { mode: 'int8', calib: [calib] });
    expect(q7.graph.meta['edgec.act_bits']).toBe('7');
    expect(q8.graph.meta['edgec.act_bits']).toBeUndefined();
    const quants = (q: Graph) => q.orderedNodes().filter((n) => n.op === 'QuantizeLinear');
    const n7 = quants(q7.qdq), n8 = quants(q8.qdq);
    expect(n7.length).toBeGreaterThanOrEqual(3);
    expect(n7.map((n) => n.name)).toEqual(n8.map((n) => n.name));
    n7.forEach((n, i) => {
      const zp = q7.qdq.constOf(n.inputs[2])!.get(0);
      expect(zp).toBeGreaterThanOrEqual(-64);
      expect(zp).toBeLessThanOrEqual(63);
      const s7 = q7.qdq.constOf(n.inputs[1])!.get(0), s8 = q8.qdq.constOf(n8[i]!.inputs[1])!.get(0);
      expect(s7 / s8).toBeCloseTo(255 / 127, 5);
    });
    // the quantized values themselves, on every calibration sample: in [-64, 63] except where the
    // upstream int8 rounding pushes a value at the calibrated edge one or two steps past it (such a
    // value stays int8; the wasm tile holding it runs the two-plane kernel)
    const probe = q7.qdq.clone();
    probe.outputs = quants(probe).map((n) => n.outputs[0]!);
    let n = 0, outside = 0, worst = 0;
    for (let s = 0; s < 6; s++) {
      const x = new Tensor('f32', [1, 3, 8, 8], (calib.data as Float32Array).slice(s * 192, (s + 1) * 192));
      for (const t of runGraph(probe, [x])) {
        for (let i = 0; i < t.size; i++) {
          const v = t.get(i);
          n++;
          if (v < -64 || v > 63) outside++;
          worst = Math.max(worst, v < -64 ? -64 - v : v - 63);
        }
      }
    }
    expect(outside / n).toBeLessThan(0.01);
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('rejects other bit widths with a typed error', () => {
    const g = convNet();
    const calib = uniform(rng(3), [2, 3, 8, 8], -1, 1);
    expect(() => quantizeModel(g, { mode: 'int8', calib: [calib], actBits: 6 as 7 })).toThrow(EdgecError);
    expect(() => quantizeModel(g, { mode: 'int8', calib: [calib], actBits: 6 as 7 })).toThrow(/activation bits must be 7 or 8/);
  });
});
