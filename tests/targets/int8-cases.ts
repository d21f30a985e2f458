/**
 * int8 cases every target runs (wasm-int8.test.ts, webgpu-int8.test.ts), like tract's test-rt
 * suites: each function registers its `it`s inside the caller's `describe`, running every graph
 * through the target's `same` (compile, run, require the reference's bits). Graph builders are in
 * int8-graphs.ts; the cases of one target's kernel paths stay in its own file.
 */
import { expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { AttrValue, Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { quantizeMultiplier } from '../../compiler/ops/qint.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { XS, expectSameBits, finish, fixedStage, input, quantIn, randInts, spread } from './int8-graphs.js';

/** Compiles and runs a graph on a target, requires the reference's bits and returns the reference outputs. */
export type SameFn = (g: Graph, inputs: Tensor[]) => Promise<Tensor[]>;

/**
 * A target's SameFn from its runner: the reference runs the graph, the target's outputs must have
 * the same bits.
 * @param run compiles and runs a graph on the target
 */
export function sameAs(run: (g: Graph, inputs: Tensor[]) => Promise<Tensor[]>): SameFn {
  return async (g, inputs) => {
    const want = runGraph(g, inputs);
    expectSameBits(await run(g, inputs), want);
    return want;
  };
}

/**
 * A QGemm of the trans_b / dtype / size cases: bias, per-column weight zero points, a fixed
 * per-column stage, i8 output with a clamp. Returns the graph, its integer output and an input.
 */
export function qgemmGraph(transB: 0 | 1, xdt: 'u8' | 'i8', R: number, K: number, N: number): { g: Graph; y: ValueId; x: Tensor } {
  const zx = xdt === 'u8' ? 120 : 9;
  const { b, x } = quantIn([R, K], xdt, zx);
  const w = b.const('w', 'i8', transB ? [N, K] : [K, N], randInts(K * N, -127, 127, K));
  const bias = b.const('b', 'i32', [N], randInts(N, -5000, 5000, N));
  const y = b.node('QGemm', [x, w, bias], {
    trans_b: transB, x_zero_point: zx, w_zero_point: randInts(N, -3, 3, 5), ...fixedStage(N, 50 / (128 * 70 * Math.sqrt(K)), 9),
    y_dtype: 'i8', y_zero_point: -5, clamp_lo: -120,
  }, { domain: 'edgec' });
  return { g: finish(b, [y]), y, x: input([R, K], K, XS) };
}

const I64 = (b: GraphBuilder, name: string, v: number[]) => b.const(name, 'i64', [v.length], v);

/** QConv rounding ties: M = 2^30 with n = 31, 33 (acc / 2, acc / 8) and n = 0 (saturating). @param same the target's runner */
export function qconvTieCases(same: SameFn): void {
  it('rounding ties: M = 2^30 with n = 31, 33 (acc / 2, acc / 8) and n = 0 (saturating)', async () => {
    for (const [m, n] of [[2 ** 30, 31], [3, 0], [2 ** 30, 33]] as const) {
      const { b, x } = quantIn([1, 3, 5, 5], 'u8', 128);
      const w = b.const('w', 'i8', [4, 3, 1, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 1]);
      const y = b.node('QConv', [x, w], { x_zero_point: 128, multiplier: [m], shift: [n], y_dtype: 'i8' }, { domain: 'edgec' });
      await same(finish(b, [y]), [input([1, 3, 5, 5], 3, XS)]);
    }
  });
}

/** Rounding ties in the requantizers of QGemm, Requantize and QReduceMean. @param same the target's runner */
export function requantizerTieCases(same: SameFn): void {
  for (const [m, n] of [[2 ** 30, 31], [2 ** 30, 32], [2 ** 30, 34], [5, 0]] as const) {
    it(`QGemm + Requantize + QReduceMean with M = ${m}, n = ${n}`, async () => {
      const { b, x } = quantIn([2, 24], 'u8', 128);
      const w = b.const('w', 'i8', [24, 5], randInts(120, -3, 3, n));
      const st = { multiplier: [m], shift: [n] };
      const y1 = b.node('QGemm', [x, w], { x_zero_point: 128, ...st, y_dtype: 'i8' }, { domain: 'edgec' });
      const y2 = b.node('Requantize', [x], { x_zero_point: 128, ...st, y_dtype: 'i8' }, { domain: 'edgec' });
      const y3 = b.node('QReduceMean', [x], { axes: [1], x_zero_point: 128, ...st, y_dtype: 'i8' }, { domain: 'edgec' });
      await same(finish(b, [y1, y2, y3]), [input([2, 24], 12, XS)]);
    });
  }
}

/** A QGemm whose accumulator wraps int32 (K = 70000): wraps exactly as the reference. @param same the target's runner */
export function qgemmWrapCase(same: SameFn): void {
  it('K large enough to wrap int32: wraps exactly as the reference accumulator', async () => {
    const K = 70000;
    const { b, x } = quantIn([1, K], 'u8', 0);
    const w = b.const('w', 'i8', [K, 2], Array.from({ length: 2 * K }, (_, i) => (i % 2 ? -128 : 127)));
    const acc = b.node('QGemm', [x, w], { x_zero_point: 0, y_dtype: 'i32' }, { domain: 'edgec' });
    const y = b.node('Requantize', [acc], { multiplier: [2 ** 30], shift: [55], y_dtype: 'i8' }, { domain: 'edgec' });
    const xf = new Tensor('f32', [1, K], new Float32Array(K).fill(3));
    const [want] = await same(finish(b, [y]), [xf]);
    // 70000 * 255 * 127 > 2^31: the reference wraps, so the result is not the unwrapped sign
    expect(want!.get(0)).toBeLessThan(0);
  });
}

/**
 * QAdd / QMul over broadcasts, QAdd as Sub with several shifts, QAdd ties with a constant operand,
 * Requantize in both rq modes.
 * @param same the target's runner
 * @param shifts the shifts of the Sub / QMul cases
 */
export function qbinaryCases(same: SameFn, shifts: readonly number[]): void {
  const shapes: [number[], number[], string][] = [
    [[2, 3, 4, 9], [2, 3, 4, 9], 'same shape'],
    [[2, 3, 4, 9], [3, 1, 9], 'broadcast middle'],
    [[1, 5, 6, 7], [1, 5, 1, 1], 'per-channel broadcast'],
    [[4, 17], [1], 'scalar'],
    [[3, 1, 11], [1, 4, 11], 'both broadcast'],
  ];
  for (const op of ['QAdd', 'QMul'] as const) {
    shapes.forEach(([sa, sb, what], i) => {
      it(`${op} ${what}`, async () => {
        const { b, x } = quantIn(sa, 'u8', 125);
        const bf = b.input('x2', 'f32', sb);
        const xb = b.node('QuantizeLinear', [bf, b.const('s2', 'f32', [], [0.02]), b.const('z2', 'i8', [], [-3])]);
        const attrs: Record<string, AttrValue> = op === 'QAdd'
          ? { a_zero_point: 125, b_zero_point: -3, a_multiplier: 1518500250 + i * 1000, b_multiplier: 1073741824 + i, shift: 31, y_zero_point: 7, y_dtype: 'i8', clamp_lo: -100 }
          : { a_zero_point: 125, b_zero_point: -3, multiplier: 1879048192 - i, shift: 39, y_zero_point: 128, y_dtype: 'u8' };
        const y = b.node(op, [x, xb], attrs, { domain: 'edgec' });
        const [want] = await same(finish(b, [y]), [input(sa, 11 + i, XS), input(sb, 21 + i, 0.02, -2.5, 2.5)]);
        expect(spread(want!)).toBeGreaterThan(4);
      });
    });
  }
  for (const n of shifts) {
    it(`QAdd (negative b multiplier: Sub) and QMul, shift ${n}`, async () => {
      const { b, x } = quantIn([3, 29], 'i8', 4);
      const bf = b.input('x2', 'f32', [3, 29]);
      const xb = b.node('QuantizeLinear', [bf, b.const('s2', 'f32', [], [0.01]), b.const('z2', 'u8', [], [120])]);
      const m = 2 ** (n - 1) < 2 ** 30 ? 2 ** (n - 1) + 12345 : 1518500250;
      const add = b.node('QAdd', [x, xb], { a_zero_point: 4, b_zero_point: 120, a_multiplier: m, b_multiplier: -m + 777, shift: n, y_zero_point: -3 }, { domain: 'edgec' });
      const mul = b.node('QMul', [x, xb], { a_zero_point: 4, b_zero_point: 120, multiplier: m, shift: Math.min(n + 8, 36), y_zero_point: 5, y_dtype: 'u8' }, { domain: 'edgec' });
      const [wa, wm] = await same(finish(b, [add, mul]), [input([3, 29], 13, XS), input([3, 29], 14, 0.01)]);
      // (shift 40 with M < 2^31 scales by < 2^-9: few distinct values, still exact)
      expect(spread(wa!)).toBeGreaterThan(n <= 32 ? 4 : 0);
      expect(spread(wm!)).toBeGreaterThan(n <= 32 ? 4 : 1);
    });
  }
  it('QAdd ties (shift 1) and a constant operand', async () => {
    const { b, x } = quantIn([2, 19], 'i8', 0);
    const c = b.const('c', 'i8', [19], randInts(19, -128, 127, 4));
    const y = b.node('QAdd', [x, c], { a_multiplier: 1, b_multiplier: 2, shift: 1 }, { domain: 'edgec' });
    await same(finish(b, [y]), [input([2, 19], 5, XS)]);
  });
  for (const mode of ['fixed', 'float'] as const) {
    it(`Requantize u8 -> i8 (${mode})`, async () => {
      const { b, x } = quantIn([3, 37], 'u8', 140);
      const stage: Record<string, AttrValue> = mode === 'fixed' ? { multiplier: [1288490189], shift: [30] } : { rq_mode: 'float', scale: [Math.fround(0.75)] };
      const y = b.node('Requantize', [x], { x_zero_point: 140, ...stage, y_dtype: 'i8', y_zero_point: 1, clamp_hi: 100 }, { domain: 'edgec' });
      await same(finish(b, [y]), [input([3, 37], 8, XS)]);
    });
  }
}

/** QReduceMean, QAvgPool (padding, count_include_pad, ceil) and MaxPool on 8-bit values. @param same the target's runner */
export function qpoolCases(same: SameFn): void {
  for (const [shape, axes, keepdims] of [[[1, 7, 5, 6], [2, 3], 1], [[2, 6, 9], [1], 0], [[3, 4, 5, 2], [0, 2], 1], [[1, 3, 40, 41], [-1, -2], 0]] as const) {
    it(`QReduceMean [${shape}] axes [${axes}] keepdims ${keepdims}`, async () => {
      const { b, x } = quantIn([...shape], 'i8', -4);
      const cnt = (axes as readonly number[]).reduce((p: number, a: number) => p * shape[(a + shape.length) % shape.length]!, 1);
      const q = quantizeMultiplier(XS / (0.008 * cnt));
      const y = b.node('QReduceMean', [x], { axes: [...axes], keepdims, x_zero_point: -4, multiplier: [q.multiplier], shift: [q.shift], y_dtype: 'i8', y_zero_point: 2 }, { domain: 'edgec' });
      await same(finish(b, [y]), [input([...shape], 30, XS)]);
    });
  }
  for (const [k, s, pads, cip, ceil] of [[3, 2, [1, 1, 1, 1], 0, 0], [3, 2, [1, 1, 1, 1], 1, 0], [2, 2, [0, 0, 0, 0], 0, 1], [3, 1, [0, 1, 2, 0], 1, 1]] as const) {
    it(`QAvgPool k${k} s${s} pads [${pads}] count_include_pad ${cip} ceil ${ceil}`, async () => {
      const { b, x } = quantIn([1, 3, 9, 8], 'u8', 100);
      const q = Array.from({ length: k * k }, (_, c) => quantizeMultiplier(XS / (0.009 * (c + 1))));
      const y = b.node('QAvgPool', [x], {
        kernel_shape: [k, k], strides: [s, s], pads: [...pads], count_include_pad: cip, ceil_mode: ceil, x_zero_point: 100,
        multipliers: q.map((v) => v.multiplier), shifts: q.map((v) => v.shift), y_dtype: 'u8', y_zero_point: 90,
      }, { domain: 'edgec' });
      await same(finish(b, [y]), [input([1, 3, 9, 8], 31, XS)]);
    });
  }
  for (const [dt, k, s, pads, dil, ceil] of [['u8', 3, 2, [1, 1, 1, 1], 1, 0], ['i8', 2, 2, [0, 0, 0, 0], 1, 1], ['i8', 3, 1, [1, 0, 2, 1], 2, 0]] as const) {
    it(`MaxPool ${dt} k${k} s${s} pads [${pads}] dilation ${dil} ceil ${ceil}`, async () => {
      const { b, x } = quantIn([1, 3, 11, 10], dt, dt === 'u8' ? 128 : 0);
      const y = b.node('MaxPool', [x], { kernel_shape: [k, k], strides: [s, s], pads: [...pads], dilations: [dil, dil], ceil_mode: ceil });
      await same(finish(b, [y]), [input([1, 3, 11, 10], 50, XS)]);
    });
  }
}

/** Data movement and aliases on 1-byte tensors, u8 and i8. @param same the target's runner */
export function qmoveCases(same: SameFn): void {
  for (const dt of ['u8', 'i8'] as const) {
    const zp = dt === 'u8' ? 128 : -3;
    it(`${dt}: Flatten / Reshape / Squeeze / Unsqueeze aliases, Transpose, Slice (negative step)`, async () => {
      const { b, x } = quantIn([2, 3, 5, 7], dt, zp);
      const f = b.node('Flatten', [x], { axis: 2 });
      const r = b.node('Reshape', [f, I64(b, 'shape', [3, 2, 35])]);
      const u = b.node('Unsqueeze', [r, I64(b, 'ax', [0])]);
      const sq = b.node('Squeeze', [u, I64(b, 'ax2', [0])]);
      const t = b.node('Transpose', [x], { perm: [3, 1, 0, 2] });
      const sl = b.node('Slice', [x, I64(b, 'st', [4, 1]), I64(b, 'en', [0, 7]), I64(b, 'axs', [3, 2]), I64(b, 'sp', [-2, 2])]);
      await same(finish(b, [sq, t, sl]), [input([2, 3, 5, 7], 60, XS)]);
    });
    it(`${dt}: Concat (unaligned parts), Split, Pad (constant / reflect / edge), Gather, Expand, Tile, DepthToSpace, Max / Min`, async () => {
      const { b, x } = quantIn([1, 4, 5, 6], dt, zp);
      const x3 = b.node('Slice', [x, I64(b, 'st3', [1]), I64(b, 'en3', [4]), I64(b, 'ax3', [3])]);
      const cat = b.node('Concat', [x, x3, x], { axis: 3 });
      const [s1, s2] = b.nodeN('Split', [x, I64(b, 'sz', [1, 3])], 2, { axis: 1 });
      const pc = b.node('Pad', [x, I64(b, 'pads', [0, 0, 1, 2, 0, 1, 2, 0]), b.const('pv', dt, [], [dt === 'u8' ? 200 : -100])]);
      const pr = b.node('Pad', [x, I64(b, 'pads2', [0, 0, 2, 1, 0, 0, 1, 3])], { mode: 'reflect' });
      const pe = b.node('Pad', [x, I64(b, 'pads3', [0, 1, 0, 2, 0, 0, 1, 1])], { mode: 'edge' });
      const ga = b.node('Gather', [x, b.const('gi', 'i64', [3], [3, -1, 0])], { axis: 3 });
      const ex = b.node('Expand', [s1!, I64(b, 'es', [2, 3, 5, 6])]);
      const ti = b.node('Tile', [s2!, I64(b, 'reps', [1, 2, 1, 3])]);
      const d2s = b.node('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' });
      const xb = b.node('QuantizeLinear', [b.input('x2', 'f32', [1, 1, 5, 6]), b.const('s2', 'f32', [], [XS]), b.const('z2', dt, [], [zp])]);
      const mx = b.node('Max', [x, xb]);
      const mn = b.node('Min', [xb, x, x]);
      await same(finish(b, [cat, s2!, pc, pr, pe, ga, ex, ti, d2s, mx, mn]), [input([1, 4, 5, 6], 61, XS), input([1, 1, 5, 6], 62, XS)]);
    });
  }
}

/** QuantizeLinear / DequantizeLinear: ties, saturation, NaN and infinities; per-axis parameters. @param same the target's runner */
export function qdqCases(same: SameFn): void {
  it('per-tensor: ties to even, saturation, NaN and infinities', async () => {
    const b = new GraphBuilder('q', { '': 19 });
    const xf = b.input('x', 'f32', [2, 21]);
    const q1 = b.node('QuantizeLinear', [xf, b.const('s', 'f32', [], [0.5]), b.const('z', 'u8', [], [3])]);
    const q2 = b.node('QuantizeLinear', [xf, b.const('s2', 'f32', [], [0.25]), b.const('z2', 'i8', [], [-1])]);
    const g = finish(b, [q1, q2]);
    const vals = [0.25, 0.75, 1.25, -0.25, -0.75, 1e9, -1e9, NaN, Infinity, -Infinity, 63.75, 64.25, -64.25, -1.75, 2.3, 0, -0, 126.75, -1.25, 127.5, -66];
    const x = new Tensor('f32', [2, 21], Float32Array.from([...vals, ...vals.map((v) => v * 0.7)]));
    await same(g, [x]);
  });
  it('per-axis quantize and dequantize (axis 1)', async () => {
    const b = new GraphBuilder('q', { '': 19 });
    const xf = b.input('x', 'f32', [2, 3, 11]);
    const s = b.const('s', 'f32', [3], [0.01, 0.02, 0.005]);
    const z = b.const('z', 'i8', [3], [0, -10, 7]);
    const q = b.node('QuantizeLinear', [xf, s, z], { axis: 1 });
    b.output(b.node('DequantizeLinear', [q, s, z], { axis: 1 }));
    await same(b.build(), [input([2, 3, 11], 40, 0.01)]);
  });
}
