import { describe, expect, it } from 'vitest';
import { parse } from '../../compiler/ir/parse.js';
import { print } from '../../compiler/ir/print.js';
import { PassManager, optimize, pipelineFor } from '../../compiler/pipeline.js';
import { ALL_PASSES, passByName } from '../../compiler/passes/index.js';
import { Pass } from '../../compiler/passes/pass.js';
import { VerifyError } from '../../compiler/ir/verify.js';
import { EdgecError } from '../../compiler/errors.js';
import { STRUCT, expectSameOutputs } from './helpers.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGETS = ['ref', 'wasm', 'webgpu', 'hls'] as const;

const SRC = `graph { input %0 : f32[1,2,3,3]
  %1 = Identity(%0)
  const %2 : f32[2,2,1,1] = [1, 0.5, -1, 2]
  %3 = Conv(%1, %2)
  const %4 : f32[2] = [2, 1]
  const %5 : f32[2] = [0.5, 0]
  const %6 : f32[2] = [1, 2]
  const %7 : f32[2] = [4, 0.25]
  %8 = BatchNormalization(%3, %4, %5, %6, %7) {epsilon=0}
  %9 = Relu(%8)
  %10 = Shape(%9)
  %11 = Reshape(%9, %10)
  output %11 }`;

describe('pipelines', () => {
  it('every registered pass appears in some pipeline (or is experimental), names are kebab-case files', () => {
    const used = new Set<string>();
    for (const t of TARGETS) {
      for (const p of pipelineFor(t)) used.add(p.name);
      for (const p of pipelineFor(t, { fuseActivations: true })) used.add(p.name);
      for (const p of pipelineFor(t, { supports: () => true })) used.add(p.name);
    }
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../compiler/passes');
    for (const p of ALL_PASSES) {
      if (!p.experimental) expect(used, p.name).toContain(p.name);
      expect(p.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(fs.existsSync(path.join(dir, `${p.name}.ts`)), `${p.name}.ts`).toBe(true);
      expect(passByName(p.name)).toBe(p);
    }
  });

  it('has the documented order; fuse-activation only for targets unless asked', () => {
    const base = ['shape-infer', 'unify-dims', 'remove-identity', 'fold-shape', 'const-fold', 'if-inline', 'dce', 'fold-batchnorm', 'fold-affine', 'fold-pad', 'matmul-add-to-gemm'];
    expect(pipelineFor('ref').map((p) => p.name)).toEqual([...base, 'shape-infer', 'dce']);
    for (const t of ['wasm', 'webgpu', 'hls'] as const) {
      expect(pipelineFor(t).map((p) => p.name)).toEqual([...base, 'fuse-activation', 'shape-infer', 'dce']);
    }
    expect(pipelineFor('ref', { fuseActivations: true }).map((p) => p.name)).toContain('fuse-activation');
    expect(pipelineFor('hls', { fuseActivations: false }).map((p) => p.name)).not.toContain('fuse-activation');
  });

  it('optimizes end to end (text) and keeps the outputs', () => {
    const g = parse(SRC);
    const h = g.clone();
    optimize(h, { target: 'wasm', verify: true });
    const expected = `graph opsets {"": 17, "edgec": 1} { input %0 : f32[1,2,3,3]
      const %2 : f32[2,2,1,1] = [1, 0.5, -2, 4]
      const %3 : f32[2] = [-0.5, -4]
      %9 = edgec.FusedConv(%0, %2, %3) {activation="Relu", activation_params=[]}
      output %9 }`;
    expect(print(h, STRUCT)).toBe(print(parse(expected), STRUCT));
    expectSameOutputs(g, h);
  });

  it('records time and change counts per pass', () => {
    const pm = new PassManager(pipelineFor('ref'), { verify: true });
    expect(pm.run(parse(SRC))).toBe(true);
    expect(pm.stats.map((s) => s.name)).toEqual(pipelineFor('ref').map((p) => p.name));
    for (const s of pm.stats) {
      expect(s.ms).toBeGreaterThanOrEqual(0);
      expect(s.changes > 0).toBe(s.changed);
    }
    // Identity, and Reshape(x, Shape(x)) whose output type equals its input's
    expect(pm.stats.find((s) => s.name === 'remove-identity')!.changes).toBe(2);
    expect(pm.stats.find((s) => s.name === 'fold-batchnorm')!.changes).toBe(1);
  });

  it('supports printAfter, disable and stopAfter', () => {
    const printed: string[] = [];
    const g = parse(SRC);
    new PassManager(pipelineFor('wasm'), {
      printAfter: ['fold-batchnorm'], onPrint: (name, text) => printed.push(`${name}\n${text}`),
      disable: ['remove-identity'], stopAfter: 'fold-batchnorm',
    }).run(g);
    expect(printed.length).toBe(1);
    expect(printed[0]).toMatch(/^fold-batchnorm\n/);
    expect(printed[0]).toContain('Identity(');
    expect(printed[0]).not.toContain('BatchNormalization');
    expect(printed[0]).toContain('= Relu(');
    const all: string[] = [];
    const pm = new PassManager(pipelineFor('ref'), { printAfter: 'all', onPrint: (n) => all.push(n), stopAfter: 3 });
    pm.run(parse(SRC));
    expect(all).toEqual(['shape-infer', 'unify-dims', 'remove-identity']);
    expect(() => new PassManager(pipelineFor('ref'), { disable: ['no-such-pass'] })).toThrow(EdgecError);
  });

  it('catches a pass that breaks the graph, naming the pass', () => {
    const broken: Pass = {
      name: 'break-graph',
      description: 'test only: drops a node that is still used',
      run(g) { g.removeNode(g.order[0]!); return true; },
    };
    let err: unknown;
    try { new PassManager([broken], { verify: true }).run(parse(SRC)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(VerifyError);
    expect((err as VerifyError).ctx.pass).toBe('break-graph');
  });
});
