/** Test helpers: run the CLI in-process with captured output; temp folders. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `edgec ...args` in-process and captures stdout/stderr. */
export async function cli(...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** A fresh temporary folder (removed by the caller with rmTmp). */
export function tmpDir(prefix = 'edgec-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmTmp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

const here = path.dirname(new URL(import.meta.url).pathname);
/** Shared models (../shared/models beside the repo, or $EDGEC_MODELS). */
export const MODELS = process.env['EDGEC_MODELS'] ?? path.resolve(here, '../../../shared/models');
export const HAVE_MODELS = fs.existsSync(MODELS);
export const TRAINED = path.join(MODELS, 'trained');
export const BENCH = path.join(MODELS, 'bench');
