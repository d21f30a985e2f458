/**
 * Loads the ONNX backend node tests in ../shared/conformance/onnx-node and the per-target
 * exclusion lists (JSONC objects: test name -> reason).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { loadOnnxFile } from '../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../compiler/frontends/onnx/tensor-proto.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const NODE_TESTS_DIR = path.resolve(here, '../../../shared/conformance/onnx-node');

export interface NodeCase {
  name: string;
  op: string;
  dir: string;
}

/** Every test listed in index.tsv (empty when ../shared is absent). */
export function listNodeTests(): NodeCase[] {
  const idx = path.join(NODE_TESTS_DIR, 'index.tsv');
  if (!fs.existsSync(idx)) return [];
  return fs.readFileSync(idx, 'utf8').split('\n').slice(1).filter(Boolean).map((line) => {
    const [name, op] = line.split('\t');
    return { name: name!, op: op!, dir: path.join(NODE_TESTS_DIR, name!) };
  });
}

/** Reads a JSONC file (// comments allowed) into an object. */
export function readJsonc(file: string): Record<string, string> {
  const text = fs.readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  return JSON.parse(text) as Record<string, string>;
}

/** Merges every *.jsonc in a folder: test name -> reason. */
export function exclusions(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!fs.existsSync(dir)) return m;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonc')).sort()) {
    for (const [k, v] of Object.entries(readJsonc(path.join(dir, f)))) m.set(k, v);
  }
  return m;
}

export interface LoadedCase {
  graph: Graph;
  inputs: Tensor[];
  outputs: Tensor[];
}

/** Loads a test's model and its first data set. */
export function loadNodeCase(c: NodeCase): LoadedCase {
  const graph = loadOnnxFile(path.join(c.dir, 'model.onnx'));
  const ds = path.join(c.dir, 'test_data_set_0');
  const read = (prefix: string): Tensor[] => {
    const out: Tensor[] = [];
    for (let k = 0; fs.existsSync(path.join(ds, `${prefix}_${k}.pb`)); k++) {
      out.push(decodeTensorProtoBytes(fs.readFileSync(path.join(ds, `${prefix}_${k}.pb`))).tensor);
    }
    return out;
  };
  return { graph, inputs: read('input'), outputs: read('output') };
}
