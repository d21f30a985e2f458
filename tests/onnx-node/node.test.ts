/**
 * ONNX backend node tests on the reference interpreter. Every test in index.tsv runs unless
 * tests/onnx-node/exclude/*.jsonc lists it with a reason.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGraphValues } from '../../compiler/interp/interp.js';
import { compareValues, exclusions, listNodeTests, loadNodeCaseValues } from './cases.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const excluded = exclusions(path.join(here, 'exclude'));
const all = listNodeTests();
let passed = 0;
let failed = 0;

describe.skipIf(all.length === 0)('onnx node tests (reference)', () => {
  for (const c of all) {
    const reason = excluded.get(c.name);
    if (reason !== undefined) continue;
    it(c.name, () => {
      try {
        const { graph, inputs, outputs } = loadNodeCaseValues(c);
        // Inputs are matched by position; tests that omit trailing optional inputs give fewer.
        const got = runGraphValues(graph, inputs.slice(0, graph.inputs.length));
        expect(got.length).toBeGreaterThanOrEqual(outputs.length);
        outputs.forEach((want, k) => {
          const msg = compareValues(got[k], want, { rtol: 1e-3, atol: 1e-5 });
          expect(msg, `output ${k}`).toBeNull();
        });
        passed++;
      } catch (e) {
        failed++;
        throw e;
      }
    });
  }
  afterAll(() => {
    const total = all.length;
    console.log(`onnx-node reference: ${passed} passed, ${failed} failed, ${excluded.size} excluded of ${total} (${((100 * passed) / total).toFixed(1)}% of all tests pass)`);
  });
});
