/**
 * End-to-end correctness of the reference interpreter on every model in ../shared/models:
 *   trained/<m>/model.onnx  sample_in.pb -> sample_out.pb (PyTorch outputs, 8 samples, batched)
 *   onnx/<m>.onnx           test_data_set_N/input_K.pb -> output_K.pb (zoo or ORT 1.30 outputs)
 *   bench/<m>.onnx          seeded random input, no stored outputs
 * Each is compared with onnxruntime-node (test oracle, run here) and with the stored expected
 * outputs, at rtol 1e-3 / atol 1e-4. On a mismatch the test names the first node whose output
 * diverges from ORT's (ORT runs a copy of the model with every intermediate exposed).
 * Skipped only when ../shared/models is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../compiler/ir/tensor.js';
import { runGraph } from '../../compiler/interp/interp.js';
import {
  ErrStats, HAVE_MODELS, MODELS_DIR, TOL, dataSets, errStats, firstDivergence, fmt, loadForInputs, mergeStats,
  modelInputNames, ortSession, readPb, readPbSeries, runOrt, sliceBatch, uniform,
} from './harness.js';

interface Row {
  model: string;
  vsOrt?: ErrStats;
  vsExpected?: ErrStats;
  ortVsExpected?: ErrStats;
  refMs: number;
  refCpuMs: number;
  pass: boolean;
  note: string;
}
const rows: Row[] = [];

interface Case {
  name: string;
  file: string;
  /** one entry per data set: inputs and (optional) expected outputs */
  sets: () => { inputs: Tensor[]; expected?: Tensor[] }[];
  timeout: number;
  /** also run each sample alone (batch 1) and compare with its row of the expected output */
  perSample?: boolean;
}

function cases(): Case[] {
  if (!HAVE_MODELS) return [];
  const out: Case[] = [];
  const trained = path.join(MODELS_DIR, 'trained');
  for (const m of fs.readdirSync(trained).sort()) {
    const dir = path.join(trained, m);
    out.push({
      name: `trained/${m}`,
      file: path.join(dir, 'model.onnx'),
      // the batch dim is symbolic ("batch"): all 8 samples run as one batch
      sets: () => [{ inputs: [readPb(path.join(dir, 'sample_in.pb'))], expected: [readPb(path.join(dir, 'sample_out.pb'))] }],
      timeout: 60_000,
      perSample: true,
    });
  }
  const onnxDir = path.join(MODELS_DIR, 'onnx');
  const big = new Set(['fastestdet', 'ultraface-rfb-320', 'ultraface-slim-320-simplified', 'super-resolution-10']);
  for (const f of fs.readdirSync(onnxDir).filter((x) => x.endsWith('.onnx')).sort()) {
    const file = path.join(onnxDir, f);
    const name = f.replace(/\.onnx$/, '');
    out.push({
      name: `onnx/${name}`,
      file,
      sets: () => dataSets(file).map((d) => ({ inputs: readPbSeries(d, 'input'), expected: readPbSeries(d, 'output') })),
      timeout: big.has(name) ? 600_000 : 120_000,
    });
  }
  const bench = path.join(MODELS_DIR, 'bench');
  for (const f of fs.readdirSync(bench).filter((x) => x.endsWith('.onnx')).sort()) {
    const file = path.join(bench, f);
    const name = f.replace(/\.onnx$/, '');
    out.push({
      name: `bench/${name}`,
      file,
      sets: () => {
        // input shape from the model (all bench inputs are fully static); seeded U(0,1)
        const g = loadForInputs(file, []);
        const inputs = g.inputs.map((id, k) => uniform(g.typeOf(id).shape as number[], 1234 + k, 0, 1));
        return [{ inputs }];
      },
      timeout: name === 'mobilenetv2' ? 600_000 : 120_000,
    });
  }
  return out;
}

function summary(s: ErrStats | undefined): string {
  if (!s) return '-';
  if (s.mismatch) return s.mismatch;
  return `${fmt(s.maxAbs)} / ${fmt(s.maxRel)}`;
}

describe.skipIf(!HAVE_MODELS)('models: reference interpreter vs onnxruntime-node and expected outputs', () => {
  afterAll(() => {
    const lines = [
      '| model | max abs output | vs ORT max abs / rel | vs expected max abs / rel | ORT vs expected | ref CPU (wall) | result |',
      '|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.model} | ${r.vsOrt ? fmt(r.vsOrt.maxRef) : '-'} | ${summary(r.vsOrt)} | ${summary(r.vsExpected)} | ${summary(r.ortVsExpected)} | ${(r.refCpuMs / 1000).toFixed(2)} s (${(r.refMs / 1000).toFixed(2)} s) | ${r.pass ? 'pass' : `FAIL ${r.note}`} |`),
    ];
    console.log(`\nmodel reference summary (rtol ${TOL.rtol}, atol ${TOL.atol}):\n${lines.join('\n')}\n`);
  });

  for (const c of cases()) {
    it(c.name, async () => {
      const row: Row = { model: c.name, refMs: 0, refCpuMs: 0, pass: false, note: '' };
      rows.push(row);
      const sets = c.sets();
      expect(sets.length, 'model has no data sets').toBeGreaterThan(0);
      const sess = await ortSession(c.file);
      const vsOrt: ErrStats[] = [];
      const vsExp: ErrStats[] = [];
      const ortVsExp: ErrStats[] = [];
      const problems: string[] = [];
      for (const [si, s] of sets.entries()) {
        expect(s.inputs.length).toBe(modelInputNames(c.file).length);
        const g = loadForInputs(c.file, s.inputs);
        let got: Tensor[];
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        try {
          got = runGraph(g, s.inputs);
        } catch (e) {
          row.note = `reference error: ${(e as Error).message}`;
          throw e;
        }
        row.refMs += performance.now() - t0;
        const c1 = process.cpuUsage(c0);
        row.refCpuMs += (c1.user + c1.system) / 1000;
        const ortOut = await runOrt(sess, s.inputs);
        expect(got.length).toBe(ortOut.length);
        got.forEach((t, k) => {
          const a = errStats(t, ortOut[k]!);
          vsOrt.push(a);
          if (a.worst > 1 || a.mismatch) problems.push(`set ${si} output ${k}: vs ORT ${a.mismatch ?? `max abs ${fmt(a.maxAbs)} (${a.worst.toFixed(1)}x tol at ${a.worstAt})`}`);
          const want = s.expected?.[k];
          if (want) {
            const b = errStats(t, want);
            vsExp.push(b);
            ortVsExp.push(errStats(ortOut[k]!, want));
            if (b.worst > 1 || b.mismatch) problems.push(`set ${si} output ${k}: vs expected ${b.mismatch ?? `max abs ${fmt(b.maxAbs)} (${b.worst.toFixed(1)}x tol at ${b.worstAt})`}`);
          }
        });
        if (c.perSample && s.expected) {
          // the same samples one at a time: batch-size-dependent bugs show here
          const n = s.inputs[0]!.shape[0]!;
          const g1 = loadForInputs(c.file, [sliceBatch(s.inputs[0]!, 0, 1)]);
          for (let i = 0; i < n; i++) {
            const [one] = runGraph(g1, [sliceBatch(s.inputs[0]!, i, i + 1)]);
            const b = errStats(one!, sliceBatch(s.expected[0]!, i, i + 1));
            vsExp.push(b);
            if (b.worst > 1 || b.mismatch) problems.push(`sample ${i} alone (batch 1): vs expected ${b.mismatch ?? `max abs ${fmt(b.maxAbs)}`}`);
          }
        }
        if (problems.length && !row.note) {
          const d = await firstDivergence(c.file, g, s.inputs);
          row.note = d
            ? `first divergence: ${d.op} node "${d.node}" output "${d.output}" max abs ${fmt(d.stats.maxAbs)}${d.stats.mismatch ? ` (${d.stats.mismatch})` : ''}; inputs ${d.inputShapes.join(', ')}; attrs ${d.attrs}`
            : 'no single intermediate diverges beyond tolerance (accumulated error)';
        }
      }
      row.vsOrt = mergeStats(vsOrt);
      if (vsExp.length) row.vsExpected = mergeStats(vsExp);
      if (ortVsExp.length) row.ortVsExpected = mergeStats(ortVsExp);
      row.pass = problems.length === 0;
      expect(problems, `${c.name}: ${problems.join('; ')}; ${row.note}`).toEqual([]);
    }, c.timeout);
  }
});

describe.skipIf(!HAVE_MODELS)('models: the divergence finder names the first wrong node', () => {
  it('finds a deliberately perturbed weight in digits_lae_ail (Shape/Slice/Concat/ReduceLogSumExp model)', async () => {
    const dir = path.join(MODELS_DIR, 'trained/digits_lae_ail');
    const file = path.join(dir, 'model.onnx');
    const x = readPb(path.join(dir, 'sample_in.pb'));
    const g = loadForInputs(file, [x]);
    // unperturbed: no node diverges
    expect(await firstDivergence(file, g, [x])).toBeNull();
    // perturb one weight of the last Conv (a copy of the tensor; the graph constant is replaced)
    const convs = g.orderedNodes().filter((n) => n.op === 'Conv');
    const target = convs[convs.length - 1]!;
    const wId = target.inputs[1]!;
    const w = g.consts.get(wId)!;
    const data = (w.data as Float32Array).slice();
    data[0] = data[0]! + 0.5;
    g.consts.set(wId, new Tensor(w.dtype, w.shape, data));
    const d = await firstDivergence(file, g, [x]);
    expect(d).not.toBeNull();
    expect(d!.op).toBe('Conv');
    expect(d!.node).toBe(target.name);
  });
});
