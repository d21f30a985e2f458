/**
 * Calibration on the wasm target's float observer (targets/wasm/observe.ts) against calibration on
 * the reference interpreter: the same values get statistics, min/max agree within f32 rounding,
 * histograms nearly bin for bin, and the ranges the calibrators pick agree. The observer must report
 * every value a calibration needs (else calibrate() silently falls back to the reference, which
 * would make the CLI slow, not wrong: checked here explicitly).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { isFloat } from '../../compiler/ir/dtype.js';
import { optimize } from '../../compiler/pipeline.js';
import { Calibrator, ValueStats, calibrate, rangeOf } from '../../quantize/calibrate.js';
import { prepareFloat, quantizeModel } from '../../quantize/index.js';
import { runGraphEnv } from '../../compiler/interp/interp.js';
import { createFloatObserver } from '../../targets/wasm/observe.js';
import { HAVE_MODELS, MODELS_DIR, loadForInputs } from '../models/harness.js';
import { loadTrained, trainedModels } from './harness.js';
import { randomTensor } from '../targets/wasm-helpers.js';

/** Float runtime values calibration looks at: graph inputs and node outputs. */
function floatValues(g: Graph): ValueId[] {
  const out: ValueId[] = [];
  const add = (id: ValueId) => {
    if (isFloat(g.typeOf(id).dtype) && !g.consts.has(id)) out.push(id);
  };
  g.inputs.forEach(add);
  for (const n of g.orderedNodes()) n.outputs.forEach(add);
  return out;
}

function compare(g: Graph, calib: Tensor[], calibrator: Calibrator): void {
  const obs = createFloatObserver(g);
  expect(obs, 'the float graph compiles for the observer').toBeDefined();
  const want = floatValues(g);
  expect(want.filter((id) => !obs!.observed.has(id)).map((id) => g.value(id).name)).toEqual([]);
  const ref = calibrate(g, calib, { calibrator });
  const fast = calibrate(g, calib, { calibrator, engine: createFloatObserver });
  expect([...fast.keys()].sort()).toEqual([...ref.keys()].sort());
  for (const [id, r] of ref) {
    const f = fast.get(id)! as ValueStats;
    const tol = 1e-5 * Math.max(1, r.absMax);
    expect(Math.abs(f.min - r.min), `${g.value(id).name} min`).toBeLessThanOrEqual(tol);
    expect(Math.abs(f.max - r.max), `${g.value(id).name} max`).toBeLessThanOrEqual(tol);
    if (r.hist) {
      let diff = 0, total = 0;
      for (let i = 0; i < r.hist.length; i++) {
        diff += Math.abs(f.hist![i]! - r.hist[i]!);
        total += r.hist[i]!;
      }
      // values on a bin edge may land in the neighbouring bin after f32 rounding
      expect(diff, `${g.value(id).name} histogram`).toBeLessThanOrEqual(Math.max(2, 1e-3 * total));
    }
    const [rl, rh] = rangeOf(r, calibrator);
    const [fl, fh] = rangeOf(f, calibrator);
    const w = Math.max(rh - rl, 1e-12);
    expect(Math.abs(fl - rl) / w, `${g.value(id).name} range lo`).toBeLessThan(2e-3);
    expect(Math.abs(fh - rh) / w, `${g.value(id).name} range hi`).toBeLessThan(2e-3);
  }
}

describe('calibration on the wasm observer == calibration on the reference', () => {
  it('aliases (Flatten/Reshape), multi-output Split, in-place Relu/Add chains, symbolic batch, entropy histograms', () => {
    const b = new GraphBuilder('obs', { '': 13 });
    const x = b.input('x', 'f32', ['N', 4, 6, 6]);
    const w = b.const('w', randomTensor([8, 4, 3, 3], 3, -0.5, 0.5));
    const c1 = b.node('Relu', [b.node('Conv', [x, w], { pads: [1, 1, 1, 1] })]);
    const [s1, s2] = b.nodeN('Split', [c1, b.const('sp', 'i64', [2], [3, 5])], 2, { axis: 1 });
    const a = b.node('Add', [b.node('Sigmoid', [s1!]), b.node('Tanh', [b.node('ReduceMean', [s2!], { axes: [1], keepdims: 1 })])]);
    const f = b.node('Flatten', [a], { axis: 1 });
    const gw = b.const('gw', randomTensor([108, 5], 4, -0.3, 0.3));
    const y = b.node('Gemm', [f, gw]);
    b.output(b.node('Softmax', [b.node('Reshape', [y, b.const('rs', 'i64', [2], [-1, 5])])], { axis: -1 }));
    const g = prepareFloat(b.build());
    compare(g, [randomTensor([5, 4, 6, 6], 9, -2, 2)], 'entropy');
  });

  it('a graph the wasm target cannot compile (symbolic non-batch dim) falls back to the reference (no observer, same statistics)', () => {
    const b = new GraphBuilder('nowasm', { '': 13 });
    const x = b.input('x', 'f32', [2, 'L']);
    b.output(b.node('Relu', [x]));
    const g = b.build();
    expect(createFloatObserver(g)).toBeUndefined();
    const calib = [randomTensor([4, 7], 1)];
    const ref = calibrate(g, calib, {});
    const fast = calibrate(g, calib, { engine: createFloatObserver });
    expect([...fast.entries()]).toEqual([...ref.entries()]);
  });

  it.skipIf(!HAVE_MODELS)('trained models (calib_x.pb), minmax and mse', () => {
    for (const m of trainedModels.filter((n) => n !== 'cbf_fcn')) {
      const t = loadTrained(m);
      const calib = [new Tensor('f32', [64, ...t.calib.shape.slice(1)], (t.calib.data as Float32Array).slice(0, 64 * (t.calib.data.length / t.calib.shape[0]!)))];
      const src = loadForInputs(path.join(MODELS_DIR, 'trained', m, 'model.onnx'), calib);
      optimize(src, { target: 'wasm' });
      compare(prepareFloat(src), calib, m === 'digits_mlp' ? 'mse' : 'minmax');
    }
  });

  it.skipIf(!HAVE_MODELS)('bench dscnn: the int8 model from observer calibration equals the reference-calibrated one', () => {
    const src = loadForInputs(path.join(MODELS_DIR, 'bench', 'dscnn.onnx'), []);
    optimize(src, { target: 'wasm' });
    const calib = [randomTensor([16, 1, 49, 10], 5, -1, 1)];
    compare(prepareFloat(src), calib, 'minmax');
    const a = quantizeModel(src, { mode: 'int8', calib });
    const bq = quantizeModel(src, { mode: 'int8', calib, calibEngine: createFloatObserver });
    // scales may differ in the last f32 bits; the integer graphs agree on nearly every parameter
    const qa = a.graph.orderedNodes().filter((n) => n.op === 'QConv');
    const qb = bq.graph.orderedNodes().filter((n) => n.op === 'QConv');
    expect(qb.length).toBe(qa.length);
    qa.forEach((n, i) => expect(qb[i]!.attrs['y_zero_point']).toBe(n.attrs['y_zero_point']));
    // the integer graph's observer (sensitivity) reports every 8-bit activation, in graph layout:
    // equal to the reference interpreter's values bit for bit
    const lowered = bq.graph;
    const obs = createFloatObserver(lowered, { integers: true })!;
    const ints = lowered.orderedNodes().flatMap((n) => n.outputs).filter((id) => ['i8', 'u8'].includes(lowered.typeOf(id).dtype));
    expect(ints.length).toBeGreaterThan(5);
    expect(ints.filter((id) => !obs.observed.has(id)).map((id) => lowered.value(id).name)).toEqual([]);
    const x = [randomTensor([1, 1, 49, 10], 77, -1, 1)];
    const got = new Map<number, number[]>();
    obs.run(x, (id, d) => got.set(id, Array.from(d)));
    const env = runGraphEnv(lowered, x, { keep: ints });
    for (const id of ints) expect(got.get(id), lowered.value(id).name).toEqual(Array.from(env.get(id)!.data as ArrayLike<number>));
  });
});

describe('sensitivity (--explain, --keep-float auto) with the wasm float engine', () => {
  it.skipIf(!HAVE_MODELS)('digits_lae_ail: same SNR table and the same kept layers as on the reference', () => {
    const t = loadTrained('digits_lae_ail');
    const calib = [new Tensor('f32', [64, ...t.calib.shape.slice(1)], (t.calib.data as Float32Array).slice(0, 64 * (t.calib.data.length / t.calib.shape[0]!)))];
    const src = loadForInputs(path.join(MODELS_DIR, 'trained', 'digits_lae_ail', 'model.onnx'), calib);
    optimize(src, { target: 'wasm' });
    const ref = quantizeModel(src, { mode: 'int8', calib, explain: true, keepFloat: { maxLoss: 0 } });
    const fast = quantizeModel(src, { mode: 'int8', calib, explain: true, keepFloat: { maxLoss: 0 }, calibEngine: createFloatObserver });
    expect(fast.explain!.map((r) => r.node)).toEqual(ref.explain!.map((r) => r.node));
    fast.explain!.forEach((r, i) => {
      const w = ref.explain![i]!;
      if (Number.isFinite(w.snrDb)) expect(Math.abs(r.snrDb - w.snrDb), r.node).toBeLessThan(0.05);
      else expect(r.snrDb).toBe(w.snrDb);
    });
    expect([...fast.summary.keptFloat].sort()).toEqual([...ref.summary.keptFloat].sort());
  });
});
