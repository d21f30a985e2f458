// Rewrites tests/onnx-node/exclude-<target>.jsonc from a failure report of the node-test suite run
// with every test (EDGEC_<TARGET>_NODE_ALL=1 EDGEC_<TARGET>_NODE_REPORT=report.json): test name ->
// the one-line error. Keeps the file's header comment. Tests of control flow, sequences and optionals
// (issue 9: If/Loop/Scan bodies, sequence or optional values) keep or get the "control flow /
// sequences (issue 9)" tag, so the README's coverage figure can leave them out.
// Usage: node scripts/node-exclusions.mjs wasm|webgpu report.json
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [target, report] = process.argv.slice(2);
if (!['wasm', 'webgpu'].includes(target ?? '') || !report) {
  console.error('usage: node scripts/node-exclusions.mjs wasm|webgpu report.json');
  process.exit(2);
}
const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'onnx-node', `exclude-${target}.jsonc`);
const text = fs.readFileSync(file, 'utf8');
const header = text.split('\n').filter((l) => l.startsWith('//')).join('\n');
const body = JSON.parse(text.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n'));
const failures = JSON.parse(fs.readFileSync(report, 'utf8'));
const TAG = 'control flow / sequences (issue 9): ';
const prefix = `unsupported on ${target}: `;
const CONTROL = /\b(If|Loop|Scan|Sequence\w*|SplitToSequence|ConcatFromSequence|Optional\w*)\b|seq\(|opt\(|sequences and optionals|non-tensor values/;
const out = {};
const wrong = [];
for (const name of Object.keys(failures).sort()) {
  if (!name.startsWith('test_')) continue;
  // a wrong result (an assertion on the outputs) is a bug to fix, never an exclusion
  if (/^output \d+|expected .* to (be|equal)/.test(String(failures[name]))) {
    wrong.push(`${name}: ${failures[name]}`);
    continue;
  }
  let msg = String(failures[name]).replace(/^unsupported on \w+: /, '').replace(TAG, '');
  const old = String(body[name] ?? '');
  const tagged = old.includes('(issue 9)') || CONTROL.test(msg);
  out[name] = `${prefix}${tagged ? TAG : ''}${msg}`;
}
if (wrong.length > 0) {
  console.error(`wrong results (not excluded; fix them):\n  ${wrong.join('\n  ')}`);
  process.exitCode = 1;
}
fs.writeFileSync(file, `${header}\n${JSON.stringify(out, null, 2)}\n`);
const n = Object.keys(out).length;
const n9 = Object.values(out).filter((m) => m.includes('(issue 9)')).length;
console.log(`exclude-${target}.jsonc: ${n} tests (${n9} tagged issue 9)`);
