/**
 * The CLI artifact path on every shared model (../shared/models/{onnx,trained,bench,tfjs}):
 *   edgec compile MODEL -o DIR              (fp32, wasm: one compile per model)
 *   edgec run DIR --target wasm --inputs X  == edgec run MODEL --target ref --inputs X  (rtol 1e-3)
 *   DIR/model.onnx in onnxruntime-node      == the same reference outputs               (rtol 1e-3)
 * X is the model's sample data (test_data_set_0/input_K.pb, sample_in.pb, sample/input_0.pb) or,
 * for the bench models (no data), seeded uniform noise of the input's shape.
 *
 * EXPECTED_FAILURES lists the models that fail today with the start of their one-line error. The
 * list is exact: a listed model that passes fails the test (remove it from the list), and so does
 * an unlisted model that fails. Without ../shared/models the suite is skipped with a logged reason,
 * except in CI, where that is a failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModelFile } from '../../compiler/frontends/index.js';
import { readDataFile, sliceRows, stackRows, writeDataFile } from '../../compiler/io/data.js';
import { DType } from '../../compiler/ir/dtype.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { compareTensors } from '../helpers/compare.js';
import { HAVE_MODELS, MODELS, cli, rmTmp, tmpDir } from './helpers.js';
import { rng } from '../helpers/rng.js';

/** Relative tolerance the README claims for fp32 artifacts; atol as MANIFEST.md suggests. */
const TOL = { rtol: 1e-3, atol: 1e-4 };

/**
 * Models that fail the artifact path today: model id -> the start of the first failing stage's
 * one-line message ("compile: ...", "ref: ...", "wasm: ...", "wasm vs ref: ...", "onnxruntime: ...",
 * "onnxruntime vs ref: ..."). Engineers adding wasm ops / integer tensors shrink this list.
 */
const EXPECTED_FAILURES: Record<string, string> = {
};

interface Case {
  /** folder/name, e.g. "onnx/mnist-8", "tfjs/emotion". */
  id: string;
  model: string;
  /** Input data files in graph-input order; undefined: seeded noise. */
  inputs?: string[];
}

/** Every model of the four folders, with its sample inputs. */
function discover(): Case[] {
  const cases: Case[] = [];
  const onnxDir = path.join(MODELS, 'onnx');
  const onnxFiles = [
    ...fs.readdirSync(onnxDir).filter((f) => f.endsWith('.onnx')).map((f) => path.join(onnxDir, f)),
    ...fs.readdirSync(path.join(onnxDir, 'qonnx')).filter((f) => f.endsWith('.onnx')).map((f) => path.join(onnxDir, 'qonnx', f)),
  ];
  for (const model of onnxFiles) {
    const set = path.join(model.replace(/\.onnx$/, ''), 'test_data_set_0');
    const inputs: string[] = [];
    for (let k = 0; fs.existsSync(path.join(set, `input_${k}.pb`)); k++) inputs.push(path.join(set, `input_${k}.pb`));
    cases.push({ id: `onnx/${path.relative(onnxDir, model).replace(/\.onnx$/, '')}`, model, ...(inputs.length ? { inputs } : {}) });
  }
  const trained = path.join(MODELS, 'trained');
  for (const d of fs.readdirSync(trained)) {
    const model = path.join(trained, d, 'model.onnx');
    if (fs.existsSync(model)) cases.push({ id: `trained/${d}`, model, inputs: [path.join(trained, d, 'sample_in.pb')] });
  }
  const bench = path.join(MODELS, 'bench');
  for (const f of fs.readdirSync(bench).filter((x) => x.endsWith('.onnx'))) cases.push({ id: `bench/${f.replace(/\.onnx$/, '')}`, model: path.join(bench, f) });
  const tfjs = path.join(MODELS, 'tfjs');
  for (const d of fs.readdirSync(tfjs)) {
    const model = path.join(tfjs, d, 'model.json');
    if (!fs.existsSync(model)) continue;
    const sample = path.join(tfjs, d, 'sample', 'input_0.pb');
    cases.push({ id: `tfjs/${d}`, model, ...(fs.existsSync(sample) ? { inputs: [sample] } : {}) });
  }
  return cases.sort((a, b) => a.id.localeCompare(b.id));
}


/** Seeded noise for each graph input (symbolic dims 1): floats in [-1, 1), integers in [0, 10). */
function noiseInputs(c: Case, dir: string): string[] {
  const g = loadModelFile(c.model);
  const r = rng(1234);
  return g.inputs.map((id, k) => {
    const v = g.value(id);
    const shape = v.type.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = shape.reduce((a, b) => a * b, 1);
    const dt: DType = v.type.dtype;
    const vals = Array.from({ length: n }, () => (dt === 'f32' || dt === 'f64' || dt === 'f16' ? r() * 2 - 1 : Math.floor(r() * 10)));
    const t = dt === 'i64' ? Tensor.from(dt, shape, vals.map(BigInt)) : Tensor.from(dt, shape, vals);
    const f = path.join(dir, `input_${k}.pb`);
    writeDataFile(f, t, v.name);
    return f;
  });
}

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  f32: 'float32', f64: 'float64', i8: 'int8', u8: 'uint8', i16: 'int16', u16: 'uint16', i32: 'int32', i64: 'int64', bool: 'bool',
};
const DTYPE_OF: Record<string, DType> = {
  float32: 'f32', float64: 'f64', int8: 'i8', uint8: 'u8', int16: 'i16', uint16: 'u16', int32: 'i32', int64: 'i64', bool: 'bool',
};

/**
 * Runs DIR/model.onnx in onnxruntime-node on the input tensors (names and shapes from
 * manifest.json). Data files holding many samples run one batch of the artifact's batch size at a
 * time, outputs stacked along axis 0, as `edgec run` does (CLI.md "Data files").
 */
async function ortRun(dir: string, inputs: Tensor[]): Promise<Tensor[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { inputs: { name: string; shape: number[] }[] };
  const specs = manifest.inputs;
  // one sample without the batch axis -> add it; count the batches of many-sample files
  const data = inputs.map((t, k) => (t.shape.length === specs[k]!.shape.length - 1 ? t.reshape([1, ...t.shape]) : t));
  const runs = Math.max(1, ...data.map((t, k) => Math.floor((t.shape[0] ?? 1) / (specs[k]!.shape[0] ?? 1))));
  const s = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')));
  try {
    const results: Tensor[][] = [];
    for (let r = 0; r < runs; r++) {
      const feeds: Record<string, ort.Tensor> = {};
      specs.forEach((spec, k) => {
        const b = spec.shape[0] ?? 1;
        const t = runs > 1 ? sliceRows(data[k]!, r * b, b) : data[k]!;
        const type = ORT_TYPES[t.dtype];
        if (!type) throw new Error(`no onnxruntime type for ${t.dtype}`);
        feeds[spec.name] = new ort.Tensor(type, t.data as never, [...t.shape]);
      });
      const res = await s.run(feeds);
      results.push(s.outputNames.map((n) => {
        const o = res[n]!;
        const dt = DTYPE_OF[o.type];
        if (!dt) throw new Error(`output "${n}" has onnxruntime type ${o.type}`);
        return new Tensor(dt, o.dims.map(Number), o.data as never);
      }));
    }
    return runs > 1 ? results[0]!.map((_, k) => stackRows(results.map((r) => r[k]!))) : results[0]!;
  } finally {
    await s.release();
  }
}

/** First line of a CLI failure, without the "edgec: error: " prefix. */
function errLine(err: string): string {
  return (err.split('\n').find((l) => l.startsWith('edgec: error: ')) ?? err.trim().split('\n')[0] ?? '').replace(/^edgec: error: /, '');
}

/** Outputs written by `edgec run` (output_0.pb, ...). */
function readOutputs(dir: string): Tensor[] {
  const out: Tensor[] = [];
  for (let k = 0; fs.existsSync(path.join(dir, `output_${k}.pb`)); k++) out.push(readDataFile(path.join(dir, `output_${k}.pb`)));
  return out;
}

/** The first difference between outputs, or null. */
function compareAll(got: Tensor[], want: Tensor[]): string | null {
  if (got.length !== want.length) return `${got.length} outputs, expected ${want.length}`;
  for (let k = 0; k < want.length; k++) {
    const m = compareTensors(got[k]!, want[k]!, TOL);
    if (m) return `output ${k}: ${m}`;
  }
  return null;
}

/**
 * Runs the artifact path on one model; returns null on success or "stage: one-line error".
 * @param c the model
 * @param work scratch folder (removed by the caller)
 */
async function artifactPath(c: Case, work: string): Promise<string | null> {
  const inputs = c.inputs ?? noiseInputs(c, work);
  const dir = path.join(work, 'art');
  const comp = await cli('compile', c.model, '-o', dir, '--target', 'wasm');
  if (comp.code !== 0) return `compile: ${errLine(comp.err)}`;
  const refOut = path.join(work, 'ref');
  const ref = await cli('run', c.model, '--target', 'ref', '--inputs', ...inputs, '--out', refOut);
  if (ref.code !== 0) return `ref: ${errLine(ref.err)}`;
  const want = readOutputs(refOut);
  const problems: string[] = [];
  const wasmOut = path.join(work, 'wasm');
  const wasm = await cli('run', dir, '--target', 'wasm', '--inputs', ...inputs, '--out', wasmOut);
  if (wasm.code !== 0) problems.push(`wasm: ${errLine(wasm.err)}`);
  else {
    const d = compareAll(readOutputs(wasmOut), want);
    if (d) problems.push(`wasm vs ref: ${d}`);
  }
  try {
    const d = compareAll(await ortRun(dir, inputs.map((f) => readDataFile(f))), want);
    if (d) problems.push(`onnxruntime vs ref: ${d}`);
  } catch (e) {
    problems.push(`onnxruntime: ${String((e as Error).message ?? e).split('\n')[0]}`);
  }
  return problems.length ? problems.join('; ') : null;
}

const cases = HAVE_MODELS ? discover() : [];

if (!HAVE_MODELS) {
  describe('artifact path on the shared models', () => {
    it('needs ../shared/models', () => {
      const why = `shared models not found at ${MODELS} (set EDGEC_MODELS)`;
      if (process.env['CI']) expect.fail(`${why}: CI must run the artifact-path suite`);
      console.warn(`skipping the artifact-path suite: ${why}`);
    });
  });
} else {
  const root = tmpDir('edgec-artpath-');
  afterAll(() => rmTmp(root));
  describe('artifact path on the shared models: compile -> run wasm == ref == onnxruntime(model.onnx)', () => {
    it('finds every model and the expected-failure list names only existing models', () => {
      expect(cases.length).toBeGreaterThanOrEqual(29);
      const ids = new Set(cases.map((c) => c.id));
      expect(Object.keys(EXPECTED_FAILURES).filter((k) => !ids.has(k))).toEqual([]);
    });
    for (const c of cases) {
      it(c.id, async () => {
        const work = fs.mkdtempSync(path.join(root, `${c.id.replace(/[^\w.-]+/g, '_')}-`));
        try {
          const outcome = await artifactPath(c, work);
          const expected = EXPECTED_FAILURES[c.id];
          if (expected === undefined) {
            expect(outcome, `${c.id} fails; fix it or add it to EXPECTED_FAILURES`).toBeNull();
          } else {
            expect(outcome, `${c.id} passes now: remove it from EXPECTED_FAILURES`).not.toBeNull();
            expect(outcome!.startsWith(expected), `${c.id} fails differently than listed:\n  got      ${outcome}\n  expected ${expected}`).toBe(true);
          }
        } finally {
          rmTmp(work);
        }
      }, 600_000);
    }
  });
}
