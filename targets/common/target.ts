/**
 * The part of a Target every code generator shares: its passes are the shared pipeline for its
 * name (compiler/pipeline.ts pipelineFor), and compiling is "optimize a copy, then emit".
 */
import { Graph } from '../../compiler/ir/graph.js';
import { Pass } from '../../compiler/passes/pass.js';
import { PassManager, PipelineTarget, pipelineFor } from '../../compiler/pipeline.js';
import { Artifact, Target, TargetOptions } from '../target.js';

/**
 * A target's pipeline, its Target object and its compile function, from its name and emitter.
 * @param name target name (the pipelineFor key)
 * @param emit emits the artifact of an optimized graph
 */
export function defineTarget<O extends TargetOptions, A extends Artifact>(name: PipelineTarget, emit: (g: Graph, opts: O) => A): {
  pipeline: () => Pass[];
  target: Target<O>;
  compile: (g: Graph, opts?: O) => A & { graph: Graph };
} {
  const pipeline = (): Pass[] => pipelineFor(name);
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
