/**
 * The `tflite` fuzz target: importTflite (flatbuffer reader + op mapping + shape inference), then
 * the reference interpreter on zero inputs when small. Seeds: a small float CNN, two LSTMs and an
 * int8 CNN (TFLite's integer operators) written in code (tests/tflite/build.ts) and the small .tflite files of ../shared/models/tflite when present.
 * Flatbuffer-aware mutations overwrite aligned offset words (uoffset/soffset/vector lengths) and
 * 16-bit vtable entries with boundary values, on top of the generic byte mutators.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importTflite } from '../../../compiler/frontends/tflite/index.js';
import { Target } from './campaign.js';
import { mutateBytes } from './bytes.js';
import { Rng } from './rng.js';
import { FUZZ_LIMITS, runIfSmall } from './targets.js';
import { smallCnn, smallLstm, smallQuantCnn } from '../../tflite/build.js';
import { MODELS_DIR } from '../../models/harness.js';

/** Small shared .tflite files (a mutated 1 MB model costs too much per execution). */
function sharedSeeds(): Uint8Array[] {
  const dir = path.join(MODELS_DIR, 'tflite');
  const out: Uint8Array[] = [];
  if (!fs.existsSync(dir)) return out;
  const walk = (d: string): void => {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (f.name.endsWith('.tflite') && fs.statSync(p).size <= 64 * 1024) out.push(new Uint8Array(fs.readFileSync(p)));
    }
  };
  walk(dir);
  return out;
}

/** Overwrites aligned 32-bit words or 16-bit vtable slots with values that break offsets. */
function mutateFlatbuffer(b: Uint8Array, r: Rng): Uint8Array {
  const out = b.slice();
  const dv = new DataView(out.buffer);
  const n = 1 + r.int(3);
  for (let k = 0; k < n; k++) {
    if (out.length < 8) break;
    if (r.bool(0.6)) {
      const p = 4 * r.int(Math.floor(out.length / 4));
      const old = dv.getUint32(p, true);
      const v = r.pick([0, 1, 4, 0x7fffffff, 0x80000000, 0xffffffff, out.length, out.length - 4, old + 4, old - 4, old * 2, p, (old + 0x10000) >>> 0]);
      dv.setUint32(p, v >>> 0, true);
    } else {
      const p = 2 * r.int(Math.floor(out.length / 2));
      const old = dv.getUint16(p, true);
      dv.setUint16(p, r.pick([0, 2, 4, 0xffff, 0x8000, old + 2, old - 2, old + 0x100]) & 0xffff, true);
    }
  }
  return out;
}

export function tfliteTarget(): Target {
  const seeds = [smallCnn(), smallLstm(0, true), smallLstm(0.5, false), smallQuantCnn(), ...sharedSeeds()];
  return {
    name: 'tflite',
    seeds,
    mutate(b, r, corpus) {
      if (r.bool(0.5)) b = r.pick(seeds);
      if (r.bool(0.6)) return mutateFlatbuffer(b, r);
      return mutateBytes(b, r, corpus);
    },
    exec(b) {
      const g = importTflite(b, { limits: FUZZ_LIMITS, file: 'fuzz.tflite' });
      runIfSmall(g);
    },
  };
}
