/**
 * c target on real models, through the CLI: every trained model of ../shared/models/trained and
 * the bench models (resnet8, dscnn, mobilenetv1_025, autoencoder, and mobilenetv2 on one sample:
 * 300 M MACs, about 2.7 G emulated instructions, ~25 s under QEMU) compiled with `--int8 --target c`,
 * run with `edgec run DIR --target c` (host g++) and `--device cortex-m4` (arm-none-eabi-gcc, QEMU
 * mps2-an386): outputs bit-identical to `edgec run DIR --target ref`. fp32 of the trained models on
 * the host within 1e-5; fp16 and int4 of two trained models on the host. Each artifact is built once and runs 2 samples.
 * trained/digits_allconv also runs on Cortex-M7 (mps2-an500, bit-identical) and through `edgec profile
 * --emulate cortex-m4`.
 * With CI set, missing ../shared, g++, arm-none-eabi-gcc or qemu fail the run (tests/ci-prereqs.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../compiler/ir/tensor.js';
import { encodeDataFile } from '../../compiler/io/data.js';
import { HAVE_MODELS, MODELS_DIR, readPb, sliceBatch, uniform } from '../models/harness.js';
import { cli, rmTmp, tmpDir } from '../cli/helpers.js';
import { compareTensors } from '../helpers/compare.js';
import { firstBitDiff } from './hls-helpers.js';

const has = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const HAVE_GXX = has(process.env['CXX'] || 'g++');
const HAVE_ARM = has('arm-none-eabi-gcc') && has('qemu-system-arm');
const SAMPLES = 2;

interface ModelCase {
  name: string;
  model: string;
  calib: string[];
  /** Writes the input file into `dir`, returns its path. */
  input(dir: string): string;
}

const cases: ModelCase[] = [];
if (HAVE_MODELS) {
  const trained = path.join(MODELS_DIR, 'trained');
  for (const m of fs.readdirSync(trained).sort()) {
    const dir = path.join(trained, m);
    cases.push({
      name: `trained/${m}`, model: path.join(dir, 'model.onnx'), calib: ['--calib', path.join(dir, 'calib_x.pb')],
      input: (d) => {
        const f = path.join(d, 'x.pb');
        fs.writeFileSync(f, encodeDataFile(sliceBatch(readPb(path.join(dir, 'test_x.pb')), 0, SAMPLES), 'pb'));
        return f;
      },
    });
  }
  const shapes: Record<string, number[]> = { resnet8: [3, 32, 32], dscnn: [1, 49, 10], mobilenetv1_025: [3, 96, 96], autoencoder: [640], mobilenetv2: [3, 224, 224] };
  for (const [m, shape] of Object.entries(shapes)) {
    cases.push({
      name: `bench/${m}`, model: path.join(MODELS_DIR, 'bench', `${m}.onnx`), calib: ['--calib-random'],
      input: (d) => {
        const f = path.join(d, 'x.pb');
        fs.writeFileSync(f, encodeDataFile(uniform([m === 'mobilenetv2' ? 1 : SAMPLES, ...shape], 7, -1, 1), 'pb'));
        return f;
      },
    });
  }
}

/** Runs `edgec run` and reads output_0.pb .. (one per graph output). */
async function run(dir: string, input: string, out: string, ...extra: string[]): Promise<{ outputs: Tensor[]; err: string }> {
  const r = await cli('run', dir, '--inputs', input, '--out', out, ...extra);
  expect(r.code, r.err).toBe(0);
  const outputs: Tensor[] = [];
  for (let k = 0; fs.existsSync(path.join(out, `output_${k}.pb`)); k++) outputs.push(readPb(path.join(out, `output_${k}.pb`)));
  return { outputs, err: r.err };
}

function sameBits(got: Tensor[], want: Tensor[], what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((t, k) => {
    expect(t.shape).toEqual(want[k]!.shape);
    const bad = firstBitDiff(t, want[k]!);
    expect(bad, bad < 0 ? '' : `${what} output ${k}[${bad}]: got ${t.get(bad)}, want ${want[k]!.get(bad)}`).toBe(-1);
  });
}

const rows: string[] = [];
const tmp = tmpDir('edgec-c-models-');
afterAll(() => {
  rmTmp(tmp);
  if (rows.length) console.log(`\nc target, int8, Cortex-M4 (QEMU):\n| model | flash bytes | RAM bytes | arena bytes | instructions/inference |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
});

describe.skipIf(!HAVE_MODELS || !HAVE_GXX)('c: models compiled --int8 --target c == edgec run --target ref', () => {
  for (const c of cases) {
    it(`${c.name} int8: host${HAVE_ARM ? ' and cortex-m4' : ''} bit-identical to ref`, async () => {
      const d = path.join(tmp, c.name.replace('/', '_'));
      fs.mkdirSync(d, { recursive: true });
      const art = path.join(d, 'art');
      const r = await cli('compile', c.model, '--int8', ...c.calib, '--target', 'c', '-o', art);
      expect(r.code, r.err).toBe(0);
      const input = c.input(d);
      const ref = await run(art, input, path.join(d, 'ref'), '--target', 'ref');
      const host = await run(art, input, path.join(d, 'host'), '--target', 'c');
      sameBits(host.outputs, ref.outputs, 'host');
      const m = JSON.parse(fs.readFileSync(path.join(art, 'manifest.json'), 'utf8')) as Record<string, number>;
      if (HAVE_ARM) {
        const m4 = await run(art, input, path.join(d, 'm4'), '--target', 'c', '--device', 'cortex-m4');
        sameBits(m4.outputs, ref.outputs, 'cortex-m4');
        const ins = /cortex-m4: (\d+) instructions per inference/.exec(m4.err);
        expect(ins, m4.err).not.toBeNull();
        expect(Number(ins![1])).toBeGreaterThan(m['macs']!);
        expect(m['flash_bytes']).toBeGreaterThan(m['weights_bytes']!);
        expect(m['ram_bytes']).toBeGreaterThan(m['arena_bytes']!);
        rows.push(`| ${c.name} | ${m['flash_bytes']} | ${m['ram_bytes']} | ${m['arena_bytes']} | ${ins![1]} |`);
        if (c.name === 'trained/digits_allconv') {
          // Cortex-M7 (mps2-an500): the same DSP-extension kernels, bit for bit
          const m7 = await run(art, input, path.join(d, 'm7'), '--target', 'c', '--device', 'cortex-m7');
          sameBits(m7.outputs, ref.outputs, 'cortex-m7');
          expect(m7.err).toMatch(/cortex-m7: \d+ instructions per inference/);
          // edgec profile --emulate: the emulated count next to the estimates (one seeded input:
          // the count depends on the data only through clamps, so it is within 2% of this run's)
          const p = await cli('profile', art, '--device', 'stm32l4r5', '--measure', 'none', '--emulate', 'cortex-m4', '--json');
          expect(p.code, p.err).toBe(0);
          const em = (JSON.parse(p.out) as { emulated: { device: string; board: string; instructions: number; instructions_per_mac: number } }).emulated;
          expect(em.device).toBe('cortex-m4');
          expect(em.board).toBe('mps2-an386');
          const perRun = Number(ins![1]);
          expect(Math.abs(em.instructions - perRun) / perRun).toBeLessThan(0.02);
          expect(em.instructions_per_mac).toBeCloseTo(em.instructions / m['macs']!, 3);
          const t = await cli('profile', art, '--device', 'stm32l4r5', '--measure', 'none', '--emulate', 'cortex-m4');
          expect(t.out).toMatch(/emulated \(cortex-m4, QEMU mps2-an386 -icount\): \d+ instructions per inference/);
        }
      }
    }, 900_000);
  }

  for (const c of cases.filter((x) => x.name.startsWith('trained/'))) {
    it(`${c.name} fp32: host within 1e-5 of ref`, async () => {
      const d = path.join(tmp, `${c.name.replace('/', '_')}_fp32`);
      fs.mkdirSync(d, { recursive: true });
      const art = path.join(d, 'art');
      const r = await cli('compile', c.model, '--target', 'c', '-o', art);
      expect(r.code, r.err).toBe(0);
      const input = c.input(d);
      const ref = await run(art, input, path.join(d, 'ref'), '--target', 'ref');
      const host = await run(art, input, path.join(d, 'host'), '--target', 'c');
      host.outputs.forEach((t, k) => expect(compareTensors(t, ref.outputs[k]!, { rtol: 1e-5, atol: 1e-5 })).toBeNull());
    }, 600_000);
  }

  // fp16 (half storage: every layer output rounded to half, float accumulation, so an output may sit
  // one half ulp from the reference's float64 sum) and int4 (block-wise weights, float datapath)
  for (const c of cases.filter((x) => ['trained/digits_allconv', 'trained/digits_mlp'].includes(x.name))) {
    for (const p of ['fp16', 'int4'] as const) {
      it(`${c.name} ${p}: host ${p === 'int4' ? 'within 1e-5' : 'within 1e-2 of the output range'} of ref`, async () => {
        const d = path.join(tmp, `${c.name.replace('/', '_')}_${p}`);
        fs.mkdirSync(d, { recursive: true });
        const art = path.join(d, 'art');
        const r = await cli('compile', c.model, `--${p}`, '--target', 'c', '-o', art);
        expect(r.code, r.err).toBe(0);
        const input = c.input(d);
        const ref = await run(art, input, path.join(d, 'ref'), '--target', 'ref');
        const host = await run(art, input, path.join(d, 'host'), '--target', 'c');
        host.outputs.forEach((t, k) => {
          const want = ref.outputs[k]!;
          const range = Math.max(...want.toNumbers().map(Math.abs));
          expect(compareTensors(t, want, p === 'int4' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 0, atol: 1e-2 * range })).toBeNull();
        });
      }, 600_000);
    }
  }
});
