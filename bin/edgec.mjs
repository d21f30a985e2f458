#!/usr/bin/env node
// Launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci` via "prepare").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('edgec: error: edgec is not built (run `npm ci` or `npm run build` in the edgec folder)\n');
  process.exit(70);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
