/**
 * The interface every code-generation target implements (wasm, webgpu, hls). A target names the
 * passes its graphs need and turns an optimized graph into an artifact: file contents plus the
 * manifest fields the CLI's artifact writer records (see ../../shared/CLI.md "The artifact folder").
 */
import { Graph } from '../compiler/ir/graph.js';
import { Pass } from '../compiler/passes/pass.js';

/** One input or output of a compiled model, as the manifest and the runtime API list it. */
export interface IoSpec {
  name: string;
  /** Concrete dims, or symbolic dim names in a dynamic-shape artifact (with `max_shape`). */
  shape: (number | string)[];
  dtype: string;
  /** Dynamic-shape artifacts: the largest shape compiled for (`--max-input-shape`). */
  max_shape?: number[];
}

/** Manifest fields a target fills (the CLI adds `edgec` and `files` hashes when writing). */
export interface ArtifactManifest {
  edgec: string;
  target: string;
  precision: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  macs: number;
  params: number;
  weights_bytes: number;
  arena_bytes: number;
  /** File name -> sha256 (hex) of its contents. */
  files: Record<string, string>;
  [extra: string]: unknown;
}

/** What `emit` returns: file name -> contents (ordered, deterministic) and the manifest. */
export interface Artifact {
  files: Map<string, Uint8Array | string>;
  manifest: ArtifactManifest;
}

/** Options shared by targets (each target adds its own). */
export interface TargetOptions {
  /** 'fp32' (default), 'int8', 'fp16', 'int4'. */
  precision?: string;
  /** Insert per-layer timing hooks (profiler builds). */
  profile?: boolean;
}

export interface Target<O extends TargetOptions = TargetOptions> {
  readonly name: string;
  /** Passes to run (in order) before `emit`. */
  pipeline(opts?: O): Pass[];
  /** Generates the artifact from an optimized graph with concrete shapes. */
  emit(g: Graph, opts?: O): Artifact;
}
