/**
 * The hand-written runtime files of artifacts (targets/{wasm,webgpu}/runtime/*.mjs, type-checked with
 * tsconfig.runtime.json), read from the package and specialized by injecting a model's spec.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { internal } from '../../compiler/errors.js';
import type { IoSpec } from '../target.js';

/**
 * Finds a file of the package from this module (sources under vitest, or dist/).
 * @param rel path from the package root
 */
export function packageFile(rel: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const p = path.resolve(here, up, rel);
    if (fs.existsSync(p)) return p;
  }
  throw internal(`${rel} is missing; run "npm run build" first`);
}

/**
 * A runtime file with `marker` (the placeholder spec literal) replaced by the JSON of `spec`.
 * @param rel the runtime file, from the package root
 */
export function injectSpec(rel: string, marker: string, spec: unknown): string {
  const template = fs.readFileSync(packageFile(rel), 'utf8');
  if (!template.includes(marker)) throw internal(`${rel} has no spec marker`);
  return template.replace(marker, () => JSON.stringify(spec));
}

/**
 * The I/O part of a generated model.d.ts: `TensorSpec` and the `Feeds` / `Outputs` interfaces with
 * one property per graph input / output (names are data: JSON-quoted), each documented with its
 * dtype and shape.
 * @param inputs graph inputs
 * @param outputs graph outputs
 * @param feedType TypeScript type an input of a dtype is given as
 * @param outType TypeScript type an output of a dtype is returned as
 */
export function dtsIoTypes(inputs: readonly IoSpec[], outputs: readonly IoSpec[], feedType: (dtype: string) => string, outType: (dtype: string) => string): string {
  const prop = (x: IoSpec, type: string): string => `  /** ${x.dtype} [${x.shape.join(', ')}] */\n  ${JSON.stringify(x.name)}: ${type};`;
  return `export interface TensorSpec { name: string; shape: number[]; dtype: string; }
export interface Feeds {
${inputs.map((x) => prop(x, feedType(x.dtype))).join('\n')}
}
export interface Outputs {
${outputs.map((x) => prop(x, outType(x.dtype))).join('\n')}
}
`;
}
