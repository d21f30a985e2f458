/**
 * End-to-end: the optimization pipelines on real models. Optimized vs unoptimized reference
 * outputs must match on random inputs, verify() must pass after every pass, and fold-batchnorm
 * must leave no BatchNormalization behind.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { Graph } from '../../compiler/ir/graph.js';
import { optimize } from '../../compiler/pipeline.js';
import { runGraph } from '../../compiler/interp/interp.js';
import { compareTensors } from '../helpers/compare.js';
import { randomInputs } from './helpers.js';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { verify } from '../../compiler/ir/verify.js';
import { MODELS_DIR } from '../models/harness.js';

const SHARED = MODELS_DIR;

function modelFiles(): string[] {
  const out: string[] = [];
  const trained = path.join(SHARED, 'trained');
  if (fs.existsSync(trained)) {
    for (const d of fs.readdirSync(trained).sort()) {
      const f = path.join(trained, d, 'model.onnx');
      if (fs.existsSync(f)) out.push(f);
    }
  }
  const bench = path.join(SHARED, 'bench');
  if (fs.existsSync(bench)) {
    for (const f of fs.readdirSync(bench).sort()) if (f.endsWith('.onnx')) out.push(path.join(bench, f));
  }
  // A few more from the imported-model zoo: BN after Conv/MatMul, Shape->Gather->Concat chains.
  for (const f of ['mlperftiny-open-ic-cifar10', 'mnist-mlp-bn-pytorch', 'mnist-8', 'hello-world-sine-mlp', 'ultraface-rfb-320']) {
    const p = path.join(SHARED, 'onnx', `${f}.onnx`);
    if (fs.existsSync(p)) out.push(p);
  }
  return out;
}

/** Small models only: the text form inlines every weight. */
const small = (f: string): boolean => fs.statSync(f).size < 400_000;

const count = (g: Graph, op: string): number => [...g.nodes.values()].filter((n) => n.op === op).length;

describe.skipIf(modelFiles().length === 0)('pipelines on shared models', () => {
  for (const file of modelFiles()) {
    const label = path.relative(SHARED, file);
    it(`${label}: optimized == unoptimized, no BatchNormalization left`, () => {
      const g = loadOnnxFile(file);
      const inputs = randomInputs(g, 1);
      const want = runGraph(g, inputs);
      for (const target of ['ref', 'wasm'] as const) {
        const h = g.clone();
        const stats = optimize(h, { target, verify: true });
        expect(stats.map((s) => s.name)).toContain('fold-batchnorm');
        expect(count(h, 'BatchNormalization')).toBe(0);
        expect(h.nodes.size).toBeLessThanOrEqual(g.nodes.size);
        expect(h.outputs.map((o) => h.value(o).name)).toEqual(g.outputs.map((o) => g.value(o).name));
        expect(h.inputs.map((o) => h.value(o).name)).toEqual(g.inputs.map((o) => g.value(o).name));
        const got = runGraph(h, inputs);
        expect(got.length).toBe(want.length);
        want.forEach((t, i) => expect(compareTensors(got[i]!, t, { rtol: 1e-4, atol: 1e-5 }), `${target} output ${i}`).toBeNull());
      }
    });
  }
});

describe.skipIf(modelFiles().length === 0)('text form of shared models', () => {
  for (const file of modelFiles().filter(small)) {
    it(`${path.relative(SHARED, file)}: parse(print(g)) round-trips exactly`, () => {
      const g = loadOnnxFile(file);
      const text = print(g, { inlineLimit: Infinity });
      const g2 = parse(text);
      verify(g2);
      expect(print(g2, { inlineLimit: Infinity })).toBe(text);
      const inputs = randomInputs(g, 2);
      const a = runGraph(g, inputs);
      const b = runGraph(g2, inputs);
      a.forEach((t, i) => expect(compareTensors(b[i]!, t, { rtol: 0, atol: 0 })).toBeNull());
    });
  }
});
