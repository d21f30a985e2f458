#!/usr/bin/env node
/**
 * The README's table of model.wasm sizes: compiles every trained model (../shared/models/trained/*,
 * --int8 calibrated on its calib_x.pb) and bench model (../shared/models/bench/*.onnx, --int8 with
 * --calib-random) at fp32, fp16, int8 and int4 with `edgec compile` (the built CLI, dist/), and prints
 * a markdown table of model.wasm bytes with the manifest's weight_bytes + code_bytes.
 *
 * Usage: npm run build && node scripts/size-table.mjs [--models DIR] [--only name,name]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};
const models = path.resolve(opt('--models') ?? path.join(root, '..', 'shared', 'models'));
const only = opt('--only')?.split(',');
const { runCli } = await import(path.join(root, 'dist', 'cli', 'main.js'));

const list = [];
const trained = path.join(models, 'trained');
if (fs.existsSync(trained)) {
  for (const d of fs.readdirSync(trained).sort()) {
    const m = path.join(trained, d, 'model.onnx');
    if (fs.existsSync(m)) list.push({ name: `trained/${d}`, model: m, calib: path.join(trained, d, 'calib_x.pb') });
  }
}
const bench = path.join(models, 'bench');
if (fs.existsSync(bench)) {
  for (const f of fs.readdirSync(bench).filter((x) => x.endsWith('.onnx')).sort()) list.push({ name: `bench/${f.replace(/\.onnx$/, '')}`, model: path.join(bench, f), calib: null });
}
if (list.length === 0) {
  console.error(`size-table: no models under ${models}`);
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-size-table-'));
const fmt = (n) => n.toLocaleString('en-US');
const rows = [];
try {
  for (const m of list) {
    if (only && !only.some((o) => m.name.includes(o))) continue;
    const cells = [];
    for (const p of ['fp32', 'fp16', 'int8', 'int4']) {
      const out = path.join(work, `${m.name.replace('/', '-')}-${p}`);
      const flags = p === 'fp32' ? [] : p === 'int8' ? ['--int8', ...(m.calib ? ['--calib', m.calib] : ['--calib-random'])] : [`--${p}`];
      let err = '';
      const code = await runCli(['compile', m.model, ...flags, '-o', out], { out: () => {}, err: (s) => (err += s) });
      if (code !== 0) {
        cells.push(`error (${err.trim().split('\n').pop()})`);
        continue;
      }
      const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      cells.push(`${fmt(man.file_bytes['model.wasm'])} (${fmt(man.weight_bytes)} + ${fmt(man.code_bytes)})`);
      fs.rmSync(out, { recursive: true, force: true });
      process.stderr.write(`size-table: ${m.name} ${p} done\n`);
    }
    rows.push(`| ${m.name} | ${cells.join(' | ')} |`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log('model.wasm bytes (weights + code, from manifest.json `weight_bytes` and `code_bytes`):\n');
console.log('| model | fp32 | fp16 | int8 | int4 |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
