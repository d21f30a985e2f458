/**
 * The part of a Target every code generator shares: its passes are the shared pipeline for its
 * name (compiler/pipeline.ts pipelineFor) given what the target has kernels for, and compiling is
 * "optimize a copy, then emit".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Graph } from '../../compiler/ir/graph.js';
import { Pass } from '../../compiler/passes/pass.js';
import type { OpSupport } from '../../compiler/passes/decompose.js';
import { qualifiedOp } from '../../compiler/rewrite/pattern.js';
import { PassManager, PipelineTarget, pipelineFor } from '../../compiler/pipeline.js';
import { Artifact, Target, TargetOptions } from '../target.js';

/**
 * An OpSupport predicate from lowering tables keyed by qualified op name ('Conv', 'edgec.QConv'):
 * a node is supported when some table has an entry for its op.
 * @param tables the target's lowering tables
 */
export function supportsFromTables(...tables: readonly Readonly<Record<string, unknown>>[]): OpSupport {
  return (n) => {
    const k = qualifiedOp(n);
    return tables.some((t) => Object.prototype.hasOwnProperty.call(t, k));
  };
}

/**
 * A target's pipeline, its Target object and its compile function, from its name and emitter.
 * @param name target name (the pipelineFor key)
 * @param emit emits the artifact of an optimized graph
 * @param supports what the target has kernels for; with it the pipeline decomposes function ops
 * the target lacks into primitives (compiler/passes/decompose.ts)
 */
export function defineTarget<O extends TargetOptions, A extends Artifact>(name: PipelineTarget, emit: (g: Graph, opts: O) => A,
  supports?: OpSupport): {
  pipeline: () => Pass[];
  target: Target<O>;
  compile: (g: Graph, opts?: O) => A & { graph: Graph };
} {
  const pipeline = (): Pass[] => pipelineFor(name, supports ? { supports } : {});
  return {
    pipeline,
    target: { name, pipeline: () => pipeline(), emit: (g, opts) => emit(g, opts ?? ({} as O)) },
    compile: (g, opts) => {
      const h = g.clone();
      new PassManager(pipeline()).run(h);
      return { ...emit(h, opts ?? ({} as O)), graph: h };
    },
  };
}

/**
 * Writes an artifact's files into a fresh temporary folder and returns its path (tests, `run` on a
 * model compiled in memory). The caller removes it.
 * @param prefix folder name prefix, e.g. 'edgec-wasm-'
 */
export function writeTempArtifact(files: ReadonlyMap<string, Uint8Array | string>, prefix = 'edgec-artifact-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, data] of files) {
    const full = path.join(dir, name);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, data);
  }
  return dir;
}
