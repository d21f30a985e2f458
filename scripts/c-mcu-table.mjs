#!/usr/bin/env node
// Regenerates the README's c-target table: every MLPerf Tiny bench model compiled with
// `--int8 --calib-random --target c`, run once under QEMU Cortex-M4 (`edgec run --target c
// --device cortex-m4`), flash/RAM from its manifest.json (arm-none-eabi-size), the profiler's
// stm32l4r5 estimate (`edgec profile --device stm32l4r5 --json`: the X-CUBE-AI cycle model of the
// MLPerf Tiny reference board) and the published MLPerf Tiny v1.2 figures for comparison.
// Usage: [EDGEC_MODELS=DIR] node scripts/c-mcu-table.mjs [MODEL...]   (needs npm run build, g++, arm-none-eabi-gcc, qemu-system-arm)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const models = process.env['EDGEC_MODELS'] ?? path.resolve(root, '../shared/models');
const edgec = (...args) => execFileSync(process.execPath, [path.join(root, 'bin/edgec.mjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
const edgecErr = (...args) => {
  const r = execFileSync('sh', ['-c', `"${process.execPath}" "${path.join(root, 'bin/edgec.mjs')}" ${args.map((a) => `'${a}'`).join(' ')} 2>&1 >/dev/null`], { encoding: 'utf8' });
  return r;
};

// MLPerf Tiny v1.2 closed division, STM32L4R5ZI (Cortex-M4 @ 120 MHz) with X-CUBE-AI 9: latency in ms
const MLPERF = { resnet8: ['IC', 165.1], dscnn: ['KWS', 43.2], mobilenetv1_025: ['VWW', 88.9], autoencoder: ['AD', 5.26] };
const SHAPES = { resnet8: [3, 32, 32], dscnn: [1, 49, 10], mobilenetv1_025: [3, 96, 96], autoencoder: [640], mobilenetv2: [3, 224, 224] };
// optional arguments: the models to run (default: all of SHAPES)
const ONLY = process.argv.slice(2);
const M4_HZ = 120e6; // the profiler's stm32l4r5 device (STM32L4R5 @ 120 MHz)

/** A seeded uniform [-1, 1) float32 .npy file of shape [1, ...shape]. */
function npy(file, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${[1, ...shape].join(', ')}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const h = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(h);
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-c-table-'));
const rows = [];
try {
  for (const [m, shape] of Object.entries(SHAPES)) {
    if (ONLY.length && !ONLY.includes(m)) continue;
    const art = path.join(tmp, m);
    edgec('compile', path.join(models, 'bench', `${m}.onnx`), '--int8', '--calib-random', '--target', 'c', '-o', art);
    const man = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8'));
    const x = path.join(tmp, `${m}.npy`);
    npy(x, shape);
    const note = edgecErr('run', art, '--target', 'c', '--device', 'cortex-m4', '--inputs', x, '--out', path.join(tmp, `${m}.out`));
    const ins = Number(/cortex-m4: (\d+) instructions per inference/.exec(note)?.[1] ?? NaN);
    const prof = JSON.parse(edgec('profile', art, '--device', 'stm32l4r5', '--json', '--measure', 'none'));
    const est = prof.devices.find((d) => d.name === 'stm32l4r5');
    const [task, ms] = MLPERF[m] ?? ['-', undefined];
    const f = (v) => v.toLocaleString('en-US');
    const pub = ms === undefined ? '- (not an MLPerf Tiny benchmark)' : `${ms} ms = ${(ms * 120e3 / 1e6).toFixed(2)} M cycles (${(ms * 120e3 / man.macs).toFixed(2)}/MAC)`;
    rows.push(`| ${m}${task === '-' ? '' : ` (${task})`} | ${f(man.macs)} | ${f(man.flash_bytes)} | ${f(man.ram_bytes)} | ${f(man.arena_bytes)} | ${f(ins)} | ${(ins / man.macs).toFixed(2)} | ${est.latency_ms.toFixed(1)} ms = ${(est.latency_ms * M4_HZ / 1e9).toFixed(2)} M cycles${est.arena_fits ? '' : ' (arena does not fit)'} | ${pub} |`);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log('| model | MACs | flash bytes | RAM bytes | arena bytes | Cortex-M4 instructions / inference (QEMU) | instructions / MAC | profile estimate (stm32l4r5, X-CUBE-AI model) | MLPerf Tiny v1.2, STM32L4R5 @ 120 MHz, X-CUBE-AI 9 |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
