/**
 * ONNX backend node tests on the WebGPU target: each test's model is compiled with the webgpu
 * pipeline, loaded through its model.mjs on the `webgpu` package (SwiftShader in CI) and run on the
 * test's inputs; outputs must match the test data (rtol 1e-3, atol 1e-5). Tests excluded for the
 * reference (exclude/*.jsonc) are skipped; tests the webgpu target cannot run are listed with a
 * reason in exclude-webgpu.jsonc: compile-time 'unsupported' errors (checked to still be rejected)
 * and, prefixed "known mismatch:", tests that compile but differ from the test data.
 * Integer and bool outputs must match bit for bit.
 * Regenerate: EDGEC_WEBGPU_NODE_ALL=1 (ignore exclude-webgpu.jsonc) EDGEC_WEBGPU_NODE_REPORT=out.json (write the
 * failures, test name -> first error line) npx vitest run tests/onnx-node/webgpu.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError } from '../../compiler/errors.js';
import { compileWebgpu } from '../../targets/webgpu/emit.js';
import { compareTensors } from '../helpers/compare.js';
import { gpuAvailable, runOnWebgpu } from '../targets/webgpu-helpers.js';
import { exclusions, listNodeTests, loadNodeCase, readJsonc } from './cases.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const refExcluded = exclusions(path.join(here, 'exclude'));
// EDGEC_WEBGPU_NODE_ALL=1 ignores exclude-webgpu.jsonc (to regenerate it with EDGEC_WEBGPU_NODE_REPORT=out.json)
const gpuExcluded = process.env['EDGEC_WEBGPU_NODE_ALL'] ? new Map<string, string>() : new Map(Object.entries(readJsonc(path.join(here, 'exclude-webgpu.jsonc'))));
const all = listNodeTests();
const failures: Record<string, string> = {};
let passed = 0;
const gpu = all.length > 0 ? await gpuAvailable('onnx-node webgpu') : false;

/**
 * Compares a webgpu output with the test data: integer and bool outputs bit for bit, f16/f64/bf16
 * outputs (computed in f32 on webgpu) and f32 outputs within rtol 1e-3, atol 1e-5.
 */
function compareOutput(got: Tensor, want: Tensor): string | null {
  const float = ['f32', 'f64', 'f16', 'bf16'].includes(want.dtype);
  if (!float) return compareTensors(got, want);
  const g = got.dtype === 'f32' ? got : new Tensor('f32', got.shape, Float32Array.from(got.toNumbers()));
  const w = want.dtype === 'f32' ? want : new Tensor('f32', want.shape, Float32Array.from(want.toNumbers()));
  return compareTensors(g, w, { rtol: 1e-3, atol: 1e-5 });
}

describe.skipIf(all.length === 0 || !gpu)('onnx node tests (webgpu)', () => {
  for (const c of all) {
    if (refExcluded.has(c.name) || gpuExcluded.has(c.name)) continue;
    it(c.name, async () => {
      try {
        const { graph, inputs, outputs } = loadNodeCase(c);
        const { outputs: got } = await runOnWebgpu(graph, inputs.slice(0, graph.inputs.length));
        outputs.forEach((want, k) => {
          expect(got[k], `output ${k}`).toBeDefined();
          expect(compareOutput(got[k]!, want), `output ${k}`).toBeNull();
        });
        passed++;
      } catch (e) {
        failures[c.name] = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        throw e;
      }
    });
  }
  afterAll(() => {
    const ran = all.filter((c) => !refExcluded.has(c.name) && !gpuExcluded.has(c.name)).length;
    console.log(`onnx-node webgpu: ${passed} passed, ${Object.keys(failures).length} failed of ${ran} run; ${gpuExcluded.size} excluded for webgpu, ${refExcluded.size} for the reference (${all.length} tests)`);
    if (process.env['EDGEC_WEBGPU_NODE_REPORT']) fs.writeFileSync(process.env['EDGEC_WEBGPU_NODE_REPORT'], JSON.stringify(failures, null, 1));
  });
});

describe.skipIf(all.length === 0)('onnx node tests (webgpu exclusions)', () => {
  // the list stays honest: every compile-time exclusion must still be rejected at compile time
  it('every webgpu exclusion is still an unsupported compile error (or a listed mismatch)', () => {
    const stale: string[] = [];
    for (const c of all) {
      const reason = gpuExcluded.get(c.name);
      if (reason === undefined || refExcluded.has(c.name) || reason.startsWith('known mismatch:')) continue;
      try {
        compileWebgpu(loadNodeCase(c).graph);
        stale.push(`${c.name}: compiles now`);
      } catch (e) {
        if (!(e instanceof EdgecError) || e.kind !== 'unsupported') stale.push(`${c.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    expect(stale).toEqual([]);
  });
});
