/**
 * ONNX backend node tests on the wasm target: each test's model is compiled with the wasm pipeline,
 * loaded through its model.mjs and run on the test's inputs; outputs must match the test data
 * (float outputs within rtol 1e-3, atol 1e-5; integer and bool outputs bit-exact in their dtype). Tests excluded for the reference (exclude/*.jsonc) are skipped; tests the
 * wasm target cannot run are listed with a reason in exclude-wasm.jsonc.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../compiler/ir/tensor.js';
import { isFloat } from '../../compiler/ir/dtype.js';
import { EdgecError } from '../../compiler/errors.js';
import { compileWasm } from '../../targets/wasm/emit.js';
import { loadWasmArtifact, runWasmModelValues, writeTempArtifact } from '../../targets/wasm/runner.js';
import { sequenceShapesOf } from '../../targets/common/sequences.js';
import { OptionalValue, RtValue, TensorSeq } from '../../compiler/ir/value.js';
import { compareTensors } from '../helpers/compare.js';
import { LoadedValueCase, NodeCase, exclusions, listNodeTests, loadNodeCaseValues, readJsonc } from './cases.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The pair to compare: integer and bool outputs as they are (same dtype, bit-exact); float outputs
 * as f32 numbers on both sides (an f16 graph may run emulated in f32, with f32 outputs).
 */
/**
 * Compares values (sequences element by element, optionals by presence then content), each tensor
 * pair as `comparable` gives it. Returns null when they match.
 */
function compareValue(got: RtValue | undefined, want: RtValue): string | null {
  if (got === undefined) return 'missing';
  if (want instanceof Tensor) return got instanceof Tensor ? compareTensors(...comparable(got, want), { rtol: 1e-3, atol: 1e-5 }) : 'expected a tensor';
  if (want instanceof TensorSeq) {
    if (!(got instanceof TensorSeq)) return 'expected a sequence';
    if (got.length !== want.length) return `sequence length ${got.length}, expected ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const m = compareValue(got.items[i], want.items[i]!);
      if (m) return `element ${i}: ${m}`;
    }
    return null;
  }
  const g = got instanceof OptionalValue ? got.value : got;
  if (want.value === null) return g === null ? null : 'expected an empty optional';
  if (g === null) return 'expected a value, got an empty optional';
  return compareValue(g, want.value);
}

function comparable(got: Tensor, want: Tensor): [Tensor, Tensor] {
  if (!isFloat(want.dtype)) return [got, want];
  const asF32 = (t: Tensor) => (t.dtype === 'f32' ? t : new Tensor('f32', t.shape, Float32Array.from(t.toNumbers())));
  return [asF32(got), asF32(want)];
}
/**
 * A test's model and data: symbolic dims of tensor inputs fixed to the data's shapes (what
 * --input-shape does), else to 1.
 */
function loadCase(c: NodeCase): LoadedValueCase {
  const l = loadNodeCaseValues(c, false);
  const shapes: Record<string, number[]> = {};
  l.graph.inputs.forEach((id, i) => {
    const v = l.inputs[i];
    const t = l.graph.typeOf(id).shape;
    const fits = v instanceof Tensor && v.shape.length === t.length && t.every((d, k) => typeof d !== 'number' || d === v.shape[k]);
    if (fits && t.some((d) => typeof d !== 'number')) shapes[l.graph.value(id).name] = [...v.shape];
  });
  return { ...l, graph: loadOnnxFile(path.join(c.dir, 'model.onnx'), { inputShapes: shapes, symbolicToOne: true }) };
}

const refExcluded = exclusions(path.join(here, 'exclude'));
// EDGEC_WASM_NODE_ALL=1 ignores exclude-wasm.jsonc (to regenerate it with EDGEC_WASM_NODE_REPORT=out.json)
const wasmExcluded = process.env.EDGEC_WASM_NODE_ALL ? new Map<string, string>() : new Map(Object.entries(readJsonc(path.join(here, 'exclude-wasm.jsonc'))));
const all = listNodeTests();
const failures: Record<string, string> = {};
let passed = 0;

describe.skipIf(all.length === 0)('onnx node tests (wasm)', () => {
  for (const c of all) {
    if (refExcluded.has(c.name) || wasmExcluded.has(c.name)) continue;
    it(c.name, async () => {
      try {
        const { graph, inputs, outputs } = loadCase(c);
        const feeds = inputs.slice(0, graph.inputs.length);
        const art = compileWasm(graph, { sequenceShapes: sequenceShapesOf(graph, feeds) });
        const dir = writeTempArtifact(art.files);
        try {
          const model = await loadWasmArtifact(dir);
          const got = runWasmModelValues(model, feeds);
          outputs.forEach((want, k) => {
            expect(compareValue(got[k], want), `output ${k}`).toBeNull();
          });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        passed++;
      } catch (e) {
        failures[c.name] = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        throw e;
      }
    });
  }
  // the list stays honest: every excluded test must still be rejected with an 'unsupported' error,
  // at compile time or, for a dynamic-shape artifact, when its model.mjs plans the call
  it('every wasm exclusion is still an unsupported error', async () => {
    const stale: string[] = [];
    for (const c of all) {
      if (!wasmExcluded.has(c.name) || refExcluded.has(c.name)) continue;
      try {
        const { graph, inputs } = loadCase(c);
        const feeds = inputs.slice(0, graph.inputs.length);
        const art = compileWasm(graph, { sequenceShapes: sequenceShapesOf(graph, feeds) });
        const dir = writeTempArtifact(art.files);
        try {
          runWasmModelValues(await loadWasmArtifact(dir), feeds);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        stale.push(`${c.name}: runs now`);
      } catch (e) {
        if (!(e instanceof EdgecError) || e.kind !== 'unsupported') stale.push(`${c.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    expect(stale).toEqual([]);
  });
  afterAll(() => {
    const ran = all.length - [...all].filter((c) => refExcluded.has(c.name) || wasmExcluded.has(c.name)).length;
    console.log(`onnx-node wasm: ${passed} passed, ${Object.keys(failures).length} failed of ${ran} run; ${wasmExcluded.size} excluded for wasm, ${refExcluded.size} for the reference (${all.length} tests)`);
    if (process.env.EDGEC_WASM_NODE_REPORT) fs.writeFileSync(process.env.EDGEC_WASM_NODE_REPORT, JSON.stringify(failures, null, 1));
  });
});
