/**
 * The TF.js wasm peer of `npm run bench` (bench/tfjs.ts) on the smallest shared TF.js model: edgec
 * fp32 matches the reference interpreter, TF.js wasm (XNNPACK) and TF.js's CPU backend on the
 * bench input; the int8 row runs and matches the reference run of its integer graph (emotion ends in
 * a float Softmax after the last DequantizeLinear: within rtol 1e-5 there, integer up to it); the
 * timings are positive and `--only` selects models. Correctness of the checks themselves, not speed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchTfjs, tfjsTable } from '../../bench/tfjs.js';
import { MODELS_DIR } from '../models/harness.js';

const DIR = path.join(MODELS_DIR, 'tfjs');
const HAVE = fs.existsSync(path.join(DIR, 'emotion', 'model.json'));

describe.skipIf(!HAVE)('bench: TF.js wasm peer rows', () => {
  it('emotion: fp32 and int8 rows with every check passing; --only filters', async () => {
    const rows = await benchTfjs({ dir: DIR, runs: 2, warmup: 1, only: ['emotion'], check: true, int8: true });
    expect(rows.map((r) => r.model)).toEqual(['emotion']);
    const r = rows[0]!;
    expect(r.matches_ref).toBe(true);
    expect(r.matches_tfjs).toBe(true);
    expect(r.matches_tfjs_cpu).toBe(true);
    expect(r.differ_tfjs).toEqual([]);
    expect(r.max_abs_diff_vs_tfjs).toBeLessThan(1e-4);
    expect(r.int8).toBeDefined();
    expect(r.int8!.max_rel_err_vs_ref).toBeLessThan(1e-5);
    for (const v of [r.edgec_ms, r.tfjs_ms, r.int8!.int8_ms, r.speedup]) expect(v).toBeGreaterThan(0);
    const table = tfjsTable(rows, 2).join('\n');
    expect(table).toContain('| emotion | f32 [1,64,64,1] |');
    expect(table).toMatch(/Geomean fp32 speedup over TF\.js wasm: \d+\.\d\dx/);
    expect(await benchTfjs({ dir: DIR, runs: 2, warmup: 1, only: ['no-such-model'], check: true, int8: true })).toEqual([]);
  }, 240_000);
});
