/**
 * The fuzz targets: every parser edgec has that reads untrusted bytes or text.
 * - onnx: importOnnx (+ shape inference, + the reference interpreter on zero inputs when small)
 * - tensorproto: decodeTensorProtoBytes (.pb data files)
 * - npy: decodeNpy (.npy data files)
 * - irtext: the IR text parser (+ shape inference and the interpreter when small)
 * - tflite: importTflite (flatbuffer reader + op mapping; tflite.ts), + the interpreter when small
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_LIMITS, EdgecError, Limits } from '../../../compiler/errors.js';
import { importOnnx } from '../../../compiler/frontends/onnx/import.js';
import { decodeTensorProtoBytes } from '../../../compiler/frontends/onnx/tensor-proto.js';
import { decodeNpy } from '../../../compiler/io/npy.js';
import { parse } from '../../../compiler/ir/parse.js';
import { print } from '../../../compiler/ir/print.js';
import { Graph } from '../../../compiler/ir/graph.js';
import { Tensor } from '../../../compiler/ir/tensor.js';
import { inferShapes, runGraph } from '../../../compiler/interp/interp.js';
import { Target } from './campaign.js';
import { mutateBytes } from './bytes.js';
import { mutateModel, mutateTensorProto, nestedModel, randomOpModel } from './structure.js';
import { IR_DICT, NPY_DICT, mutateText } from './text.js';
import { IR_TEXT_SEEDS, builtSeeds, encodeModel, npySeeds, tensorProtoSeeds, trainedFiles } from './seeds.js';
import { Rng } from './rng.js';
import { tfliteTarget } from './tflite.js';

/**
 * Limits used while fuzzing: the defaults with smaller tensor caps, so that a mutated dim costs
 * milliseconds instead of a 1 GiB allocation (every size check is exercised all the same).
 */
export const FUZZ_LIMITS: Limits = { ...DEFAULT_LIMITS, maxTensorBytes: 16 * 1024 ** 2, maxTotalBytes: 64 * 1024 ** 2 };

/** Largest graph the interpreter is run on: per value elements and a crude work estimate. */
const RUN_MAX_NUMEL = 1 << 16;
const RUN_MAX_WORK = 4e6;

/** Runs the reference interpreter on zero inputs when every shape is concrete and the work is small. */
export function runIfSmall(g: Graph): boolean {
  if (g.nodes.size > 64) return false;
  const numelOf = (id: number): number | undefined => {
    const s = g.value(id).type.shape;
    let n = 1;
    for (const d of s) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
      n *= d;
    }
    return n;
  };
  for (const id of g.inputs) {
    const n = numelOf(id);
    if (n === undefined || n > RUN_MAX_NUMEL) return false;
  }
  let work = 0;
  for (const nd of g.nodes.values()) {
    let inMax = 1;
    for (const x of nd.inputs) {
      if (x === null) continue;
      const n = numelOf(x);
      if (n === undefined || n > RUN_MAX_NUMEL) return false;
      inMax = Math.max(inMax, n);
    }
    for (const o of nd.outputs) {
      const n = numelOf(o);
      if (n === undefined || n > RUN_MAX_NUMEL) return false;
      work += Math.max(1, n) * inMax;
    }
  }
  if (work > RUN_MAX_WORK) return false;
  const inputs = g.inputs.map((id) => {
    const t = g.value(id).type;
    return Tensor.zeros(t.dtype, t.shape as number[]);
  });
  runGraph(g, inputs);
  return true;
}

function isProtobufSeedPick(r: Rng): 'bytes' | 'struct' {
  return r.bool(0.7) ? 'struct' : 'bytes';
}

/**
 * A model folder for external data: w.bin (256 bytes), sub/v.bin, and a symlink link.bin -> w.bin
 * (which must be refused). Created once per process, removed at exit.
 */
let extDir: string | undefined;
export function externalDataDir(): string {
  if (extDir) return extDir;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-fuzz-'));
  fs.writeFileSync(path.join(d, 'w.bin'), Uint8Array.from({ length: 256 }, (_, i) => i));
  fs.mkdirSync(path.join(d, 'sub'));
  fs.writeFileSync(path.join(d, 'sub', 'v.bin'), new Uint8Array(16));
  try {
    fs.symlinkSync(path.join(d, 'w.bin'), path.join(d, 'link.bin'));
  } catch {
    // no symlinks here: that case is simply not exercised
  }
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  extDir = d;
  return d;
}

export function onnxExec(b: Uint8Array): void {
  const g = importOnnx(b, { limits: FUZZ_LIMITS, file: 'fuzz.onnx', baseDir: externalDataDir() });
  // Round trip through the text form: printing an imported graph and parsing it back must
  // not crash (EdgecErrors are fine: e.g. names the text form cannot carry).
  if (g.nodes.size <= 64) {
    try {
      parse(print(g, { inlineLimit: 4096 }));
    } catch (e) {
      if (!(e instanceof EdgecError)) throw e;
    }
  }
  runIfSmall(g);
}

export function onnxTarget(opts: { withTrained?: boolean } = {}): Target {
  const seeds = builtSeeds().map((s) => encodeModel(s.model));
  seeds.push(nestedModel(3), nestedModel(70));
  if (opts.withTrained !== false) for (const m of trainedFiles().models) seeds.push(m.bytes);
  return {
    name: 'onnx',
    seeds,
    mutate(b, r, corpus) {
      if (r.bool(0.01)) return nestedModel(r.pick([10, 100, 1000, 10000, 100000]));
      if (r.bool(0.3)) {
        const m = randomOpModel(r);
        return r.bool(0.3) ? mutateModel(m, r) ?? m : m;
      }
      if (r.bool(0.5)) b = r.pick(seeds); // stay close to valid models half of the time
      if (isProtobufSeedPick(r) === 'struct') {
        const m = mutateModel(b, r);
        if (m) return r.bool(0.15) ? mutateBytes(m, r, corpus, 1) : m;
      }
      return mutateBytes(b, r, corpus);
    },
    exec: onnxExec,
  };
}

export function tensorProtoTarget(): Target {
  const seeds = [...tensorProtoSeeds(), ...trainedFiles().data.filter((d) => d.bytes.length < 8192).map((d) => d.bytes)];
  return {
    name: 'tensorproto',
    seeds,
    mutate(b, r, corpus) {
      if (r.bool(0.4)) {
        const m = mutateTensorProto(b, r);
        if (m) return m;
      }
      return mutateBytes(b, r, corpus);
    },
    exec(b) {
      decodeTensorProtoBytes(b, { limits: FUZZ_LIMITS, ctx: { file: 'fuzz.pb' } });
    },
  };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Rebuilds an .npy file around a mutated header text (length prefix recomputed, or kept stale). */
function mutateNpyHeader(b: Uint8Array, r: Rng, others: readonly string[]): Uint8Array | undefined {
  if (b.length < 12 || b[0] !== 0x93) return undefined;
  const major = b[6]!;
  const pre = major === 1 ? 10 : 12;
  const hlen = major === 1 ? b[8]! | (b[9]! << 8) : new DataView(b.buffer, b.byteOffset).getUint32(8, true);
  if (pre + hlen > b.length) return undefined;
  const text = latin1(b.subarray(pre, pre + hlen));
  const nt = mutateText(text, r, NPY_DICT, others);
  const enc = major === 3 ? new TextEncoder().encode(nt) : Uint8Array.from(nt, (c) => c.charCodeAt(0) & 255);
  const body = b.subarray(pre + hlen);
  const payload = r.bool(0.2) ? body.subarray(0, r.int(body.length + 1)) : body;
  const out = new Uint8Array(pre + enc.length + payload.length);
  out.set(b.subarray(0, pre));
  const newLen = r.bool(0.9) ? enc.length : r.pick([0, 0xffff, 0x10000, enc.length + 1, 2 ** 31]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, newLen & 0xffff, true);
  else dv.setUint32(8, newLen >>> 0, true);
  out.set(enc, pre);
  out.set(payload, pre + enc.length);
  return out;
}

export function npyTarget(): Target {
  const seeds = npySeeds();
  const headers = seeds.map((s) => latin1(s.subarray(10, Math.min(s.length, 128))));
  return {
    name: 'npy',
    seeds,
    mutate(b, r, corpus) {
      if (r.bool(0.5)) {
        const m = mutateNpyHeader(b, r, headers);
        if (m) return m;
      }
      return mutateBytes(b, r, corpus);
    },
    exec(b) {
      decodeNpy(b, FUZZ_LIMITS, { file: 'fuzz.npy' });
    },
  };
}

/** Printed graphs of the built seeds (inline consts) plus the hand-written IR texts. */
export function irTextSeeds(): string[] {
  const out = [...IR_TEXT_SEEDS];
  for (const s of builtSeeds()) {
    try {
      const g = importOnnx(encodeModel(s.model), { limits: FUZZ_LIMITS });
      out.push(print(g, { inlineLimit: 64 }));
      if (out.length % 3 === 0) out.push(print(g, { names: false, types: false, inlineLimit: 64 }));
    } catch {
      // a seed that does not import is reported by the onnx seed test
    }
  }
  for (const m of trainedFiles().models.slice(0, 2)) {
    try {
      out.push(print(importOnnx(m.bytes, { limits: FUZZ_LIMITS }), { inlineLimit: 16 }));
    } catch {
      // ditto
    }
  }
  return out;
}

export function irTextTarget(): Target {
  const texts = irTextSeeds();
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    name: 'irtext',
    seeds: texts.map((t) => enc.encode(t)),
    mutate(b, r, corpus) {
      if (r.bool(0.85)) return enc.encode(mutateText(dec.decode(b), r, IR_DICT, texts));
      return mutateBytes(b, r, corpus, 1);
    },
    exec(b) {
      const g = parse(dec.decode(b));
      inferShapes(g);
      runIfSmall(g);
    },
  };
}

export const TARGETS: Record<string, () => Target> = {
  onnx: () => onnxTarget(),
  tensorproto: tensorProtoTarget,
  npy: npyTarget,
  irtext: irTextTarget,
  tflite: () => tfliteTarget(),
};
