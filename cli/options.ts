/**
 * Parsing and validating option values. Every bad value is a 'usage' error (exit 2) naming the
 * flag; commander's InvalidArgumentError is mapped to the same exit code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LIMITS, Limits } from '../compiler/errors.js';
import { BIND_TOKEN } from './bind.js';

/** A positive integer option value (sizes, counts). */
export function parsePositiveInt(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError('expected a positive integer');
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** A pruning ratio in [0, 1). */
export function parseRatio(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('expected a ratio with 0 <= RATIO < 1');
  return n;
}

/** `NAME=1x3x32x32` (repeatable) into the accumulated map. */
export function parseInputShape(v: string, prev: Record<string, number[]> = Object.create(null)): Record<string, number[]> {
  const eq = v.lastIndexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected NAME=DIMS, e.g. input=1x3x32x32');
  const name = v.slice(0, eq);
  const dimsText = v.slice(eq + 1);
  const parts = dimsText.split(/[x,]/);
  if (!dimsText || parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError(`dims "${dimsText}" must be positive integers joined by "x"`);
  const dims = parts.map(Number);
  if (dims.some((d) => d <= 0 || !Number.isSafeInteger(d))) throw new InvalidArgumentError('every dim must be a positive integer');
  if (dims.length > DEFAULT_LIMITS.maxRank) throw new InvalidArgumentError(`rank ${dims.length} is over the limit of ${DEFAULT_LIMITS.maxRank}`);
  const out: Record<string, number[]> = Object.create(null);
  for (const k of Object.keys(prev)) out[k] = prev[k]!;
  Object.defineProperty(out, name, { value: dims, enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * The `--input-shape NAME=DIMS` option (repeatable) that compile, run, eval, inspect and profile
 * share; cli/input-shapes.ts applies it (an unknown NAME is a usage error).
 */
export function inputShapeOption(): Option {
  return new Option('--input-shape <name=dims>', 'fix an input shape, e.g. input=1x3x224x224 (repeatable; default: a symbolic batch dim -> 1, '
    + 'any other symbolic dim needs a size)').argParser(parseInputShape);
}

/**
 * compile's `--max-input-shape NAME=DIMS` (repeatable): the input keeps its symbolic dims and the
 * artifact runs every shape up to DIMS (wasm target, targets/wasm/dynamic).
 */
export function maxInputShapeOption(): Option {
  return new Option('--max-input-shape <name=dims>', 'compile once for every shape of an input up to DIMS, e.g. image=1x3x640x640 '
    + '(its symbolic dims stay symbolic; wasm target; repeatable)').argParser(parseInputShape);
}

/**
 * `--seq-shape NAME=DIMS,DIMS,...` (repeatable) into the accumulated map: the element shapes of a
 * sequence input (`2x3,4x3`; `scalar` for a 0-d element; nothing after `=` for an empty sequence).
 */
export function parseSeqShape(v: string, prev: Record<string, number[][]> = Object.create(null)): Record<string, number[][]> {
  const eq = v.lastIndexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected NAME=DIMS,DIMS,..., e.g. seq=2x3,4x3');
  const name = v.slice(0, eq);
  const text = v.slice(eq + 1);
  const elements = text === '' ? [] : text.split(',').map((e) => {
    if (e === 'scalar') return [];
    const parts = e.split('x');
    if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError(`element shape "${e.slice(0, 40)}" must be integers joined by "x" (or "scalar")`);
    const dims = parts.map(Number);
    if (dims.length > DEFAULT_LIMITS.maxRank) throw new InvalidArgumentError(`rank ${dims.length} is over the limit of ${DEFAULT_LIMITS.maxRank}`);
    return dims;
  });
  if (Object.prototype.hasOwnProperty.call(prev, name)) throw new InvalidArgumentError(`sequence "${name.slice(0, 60)}" is given twice`);
  const out: Record<string, number[][]> = Object.create(null);
  for (const k of Object.keys(prev)) out[k] = prev[k]!;
  Object.defineProperty(out, name, { value: elements, enumerable: true, writable: true, configurable: true });
  return out;
}

/** The `--seq-shape NAME=DIMS,DIMS,...` option of compile (sequence inputs, wasm target). */
export function seqShapeOption(): Option {
  return new Option('--seq-shape <name=dims,...>', 'element shapes of a sequence input, e.g. seq=2x3,4x3 ("scalar" for 0-d, nothing for empty; wasm; repeatable)').argParser(parseSeqShape);
}

/** The `--empty-optional NAME` option of compile (repeatable): an optional input compiled as empty. */
export function emptyOptionalOption(): Option {
  return new Option('--empty-optional <name>', 'compile an optional input as empty (its run() feed is null; wasm; repeatable)').argParser(collect);
}

/**
 * `NAME=VALUE` or `NAME=V1,V2,...` (repeatable `--bind`) into the accumulated map of number tokens;
 * text that is not a number is a usage error here, the dtype, count and range are checked against
 * the model by cli/bind.ts.
 */
export function parseBind(v: string, prev: Record<string, string[]> = Object.create(null)): Record<string, string[]> {
  const eq = v.lastIndexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected NAME=VALUE or NAME=V1,V2,..., e.g. sr=16000');
  const name = v.slice(0, eq);
  const tokens = v.slice(eq + 1).split(',').map((s) => s.trim());
  const bad = tokens.find((s) => !BIND_TOKEN.test(s));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad.slice(0, 40)}" is not a number (VALUE is a number or numbers joined by ",")`);
  if (Object.prototype.hasOwnProperty.call(prev, name)) throw new InvalidArgumentError(`input "${name.slice(0, 60)}" is bound twice`);
  const out: Record<string, string[]> = Object.create(null);
  for (const k of Object.keys(prev)) out[k] = prev[k]!;
  Object.defineProperty(out, name, { value: tokens, enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * The `--bind NAME=VALUE` option (repeatable) of compile, run, eval and profile: fixes a graph
 * input to a constant (cli/bind.ts) so what follows folds and an If on it is inlined.
 */
export function bindOption(): Option {
  return new Option('--bind <name=value>', 'fix an input to a constant and fold what follows, e.g. sr=16000 or mask=1,0,1 '
    + '(the input leaves the signature; repeatable)').argParser(parseBind);
}

/** Repeatable string option. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** Limit flags: CLI option name, Limits key, description. */
export const LIMIT_FLAGS: readonly { flag: string; key: keyof Limits; prop: string; what: string }[] = [
  { flag: '--max-model-bytes', key: 'maxModelBytes', prop: 'maxModelBytes', what: 'largest model file (bytes)' },
  { flag: '--max-nodes', key: 'maxNodes', prop: 'maxNodes', what: 'most graph nodes' },
  { flag: '--max-tensor-bytes', key: 'maxTensorBytes', prop: 'maxTensorBytes', what: 'largest tensor or data file (bytes)' },
  { flag: '--max-total-bytes', key: 'maxTotalBytes', prop: 'maxTotalBytes', what: 'largest total of weight bytes' },
  { flag: '--max-nesting', key: 'maxNesting', prop: 'maxNesting', what: 'deepest message/JSON nesting' },
  { flag: '--max-fold-bytes', key: 'maxFoldBytes', prop: 'maxFoldBytes', what: 'largest constant created by folding (bytes)' },
  { flag: '--max-json-bytes', key: 'maxJsonBytes', prop: 'maxJsonBytes', what: 'largest JSON file (bytes)' },
  { flag: '--max-rank', key: 'maxRank', prop: 'maxRank', what: 'highest tensor rank' },
];

/** Limits from parsed global options (defaults for flags not given). */
export function limitsFrom(opts: Record<string, unknown>): Limits {
  const l: Limits = { ...DEFAULT_LIMITS };
  for (const f of LIMIT_FLAGS) {
    const v = opts[f.prop];
    if (typeof v === 'number') l[f.key] = v;
  }
  return l;
}

/** edgec's version from package.json (found by walking up from this file). */
export function edgecVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, 'package.json');
    try {
      const j = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'edgec' && j.version) return j.version;
    } catch {
      // keep walking up
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}
