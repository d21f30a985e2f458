/**
 * Builds the final model.wasm with binaryen: the prebuilt kernel library (runtime-wasm/build/
 * kernels.wasm) plus a generated `run` function that calls the kernels with constant parameter-
 * block addresses, one data segment holding weights, tables and parameter blocks, and a memory
 * sized for static data + the planned arena. Only `memory` and `run` are exported; kernels that no
 * step calls are removed. With profiling on, `run` calls the imported `env.now()` around each
 * layer and accumulates milliseconds into an f64 array (`profile_offset` in the layout).
 * Blobs stored compressed (--fp16 halves, --int4 blocks: ../common/compress.ts) sit in the data
 * segment in their compressed form; the module's start function expands them once, at
 * instantiation, into f32 regions after the data segment (not in the binary), where the kernels
 * read them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { internal } from '../../compiler/errors.js';
import { KERNELS, KernelId } from './kernels.js';
import { encodeF16, packInt4 } from '../common/compress.js';
import { Lowered } from './lower.js';
import { resolveWords } from './layout.js';
import { alignUp } from './memory-plan.js';

/** Where things live in linear memory. */
export interface MemoryLayout {
  /** Start of edgec's static data (after the kernel library's own constants). */
  staticBase: number;
  /** Byte offset of each blob (compressed blobs: their expanded f32 region). */
  blobAddr: number[];
  /** Bytes of constant data stored in model.wasm (compressed blobs counted compressed). */
  weightsBytes: number;
  /** Start of the arena (runtime buffers). */
  arenaBase: number;
  arenaBytes: number;
  /** Address of each graph input / output buffer. */
  inputAddr: number[];
  outputAddr: number[];
  /** f64 per profiled layer (profiling builds), else 0. */
  profileOffset: number;
  pages: number;
}

export interface BuildOptions {
  profile?: boolean;
}

let kernelBytes: Uint8Array | undefined;

/**
 * The kernel library as read into `mod`: its active data segments (math tables), where they end,
 * and export name -> internal function name of every kernel; the exports themselves are removed
 * (a built model exports only what it defines).
 */
function openLibrary(mod: binaryen.Module): { segs: { offset: number; data: Uint8Array }[]; libEnd: number; fnOf: Map<string, string> } {
  const segs: { offset: number; data: Uint8Array }[] = [];
  let libEnd = 0;
  // binaryen.js has these at run time; its typings lag behind
  const dsApi = mod as unknown as { getNumDataSegments(): number; getDataSegmentInfo(ref: number): unknown };
  for (let i = 0; i < dsApi.getNumDataSegments(); i++) {
    const info = dsApi.getDataSegmentInfo(mod.getDataSegmentByIndex(i)) as { offset: number; data: ArrayBuffer | Uint8Array; passive: boolean };
    if (info.passive) throw internal('kernel library has passive data segments');
    const data = info.data instanceof Uint8Array ? info.data : new Uint8Array(info.data);
    segs.push({ offset: info.offset, data });
    libEnd = Math.max(libEnd, info.offset + data.length);
  }
  const fnOf = new Map<string, string>();
  const exportNames: string[] = [];
  for (let i = 0; i < mod.getNumExports(); i++) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    exportNames.push(e.name);
    if (e.kind === binaryen.ExternalFunction) fnOf.set(e.name, e.value);
  }
  for (const n of exportNames) mod.removeExport(n);
  return { segs, libEnd, fnOf };
}

/** Path of the kernel library built by `npm run build` (scripts/build-runtime.mjs). */
export function kernelLibraryPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // targets/wasm (sources, vitest) or dist/targets/wasm (compiled)
  for (const up of ['../..', '../../..']) {
    const p = path.resolve(here, up, 'runtime-wasm', 'build', 'kernels.wasm');
    if (fs.existsSync(p)) return p;
  }
  return path.resolve(here, '../..', 'runtime-wasm', 'build', 'kernels.wasm');
}

function kernels(): Uint8Array {
  if (!kernelBytes) {
    const p = kernelLibraryPath();
    if (!fs.existsSync(p)) throw internal(`the wasm kernel library is missing (${p}); run "npm run build" first`);
    kernelBytes = new Uint8Array(fs.readFileSync(p));
  }
  return kernelBytes;
}

const FEATURES = (): number =>
  binaryen.Features.MVP | binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt | binaryen.Features.MutableGlobals | binaryen.Features.NontrappingFPToInt;

/**
 * Builds model.wasm from a lowered graph.
 * @param low lowering result (steps, blobs, memory plan)
 * @param opts profiling switch
 * @returns the binary, its memory layout and the number of code bytes (binary minus weight data)
 */
export function buildModule(low: Lowered, opts: BuildOptions = {}): { wasm: Uint8Array; layout: MemoryLayout; codeBytes: number } {
  const mod = binaryen.readBinary(kernels());
  try {
    mod.setFeatures(FEATURES());
    // the kernel library's own data (math tables) and its kernels, exports removed
    const { segs, libEnd, fnOf } = openLibrary(mod);

    // static data: plain blobs (16-byte aligned), compressed payloads, then parameter blocks
    const staticBase = alignUp(Math.max(libEnd, 1024), 64);
    let cur = staticBase;
    const blobAddr: number[] = new Array<number>(low.blobs.length).fill(0);
    const payloads: { addr: number; data: Uint8Array }[] = [];
    const inits: { kernel: KernelId; words: (blobAddr: number[]) => number[] }[] = [];
    low.blobs.forEach((b, i) => {
      if (low.codecs[i]) return;
      blobAddr[i] = alignUp(cur, 16);
      cur = blobAddr[i]! + b.length;
    });
    const payload = (data: Uint8Array): number => {
      const a = alignUp(cur, 16);
      payloads.push({ addr: a, data });
      cur = a + data.length;
      return a;
    };
    low.blobs.forEach((b, i) => {
      const codec = low.codecs[i];
      if (!codec) return;
      const n = b.length / 4;
      if (codec.kind === 'f16') {
        const h = encodeF16(new Float32Array(b.buffer, b.byteOffset, n));
        const src = payload(new Uint8Array(h.buffer));
        inits.push({ kernel: 'f16_to_f32', words: (ba) => [src, ba[i]!, n] });
      } else {
        const q = payload(packInt4(codec.q));
        const sc = payload(new Uint8Array(codec.scale.buffer, codec.scale.byteOffset, codec.scale.byteLength));
        inits.push({ kernel: 'int4_dequant_f32', words: (ba) => [q, sc, ba[i]!, codec.outer, codec.D, codec.inner, codec.block] });
      }
    });
    const weightsBytes = cur - staticBase;
    cur = alignUp(cur, 16);
    const paramAddr = low.steps.map((s) => {
      const a = cur;
      cur += KERNELS[s.kernel].words * 4;
      return a;
    });
    const initAddr = inits.map((s) => {
      const a = cur;
      cur += KERNELS[s.kernel].words * 4;
      return a;
    });
    const dataEnd = cur;
    // expanded f32 regions of the compressed blobs (written by the start function)
    low.blobs.forEach((b, i) => {
      if (!low.codecs[i]) return;
      blobAddr[i] = alignUp(cur, 16);
      cur = blobAddr[i]! + b.length;
    });
    const arenaBase = alignUp(cur, 64);
    const arenaBytes = low.plan.arenaBytes;
    const profileOffset = opts.profile ? alignUp(arenaBase + arenaBytes, 8) : 0;
    const end = (opts.profile ? profileOffset + low.layers.length * 8 : arenaBase + arenaBytes) + 64;
    const pages = Math.max(1, Math.ceil(end / 65536));
    if (pages > 65536) throw internal('model needs more than 4 GiB of memory');

    const bufAddr = (id: number): number => {
      const off = low.plan.offsets.get(low.rootOf(id));
      if (off === undefined) throw internal(`no buffer planned for value ${id}`);
      return arenaBase + off;
    };
    const data = new Uint8Array(dataEnd - staticBase);
    const dv = new DataView(data.buffer);
    low.blobs.forEach((b, i) => {
      if (!low.codecs[i]) data.set(b, blobAddr[i]! - staticBase);
    });
    for (const p of payloads) data.set(p.data, p.addr - staticBase);
    inits.forEach((s, i) => s.words(blobAddr).forEach((w, k) => dv.setUint32(initAddr[i]! - staticBase + k * 4, w, true)));
    low.steps.forEach((s, i) => {
      resolveWords(dv, paramAddr[i]! - staticBase, s.words, {
        buf: bufAddr, blob: (id) => blobAddr[id]!, scratch: () => arenaBase + low.plan.offsets.get(low.scratchKey.get(i)!)!,
      });
    });
    // the (possibly large) static data is appended to the emitted binary directly: routing MBs of
    // weights through binaryen's heap is slow
    mod.setMemory(pages, pages, 'memory', segs.map((s) => ({ offset: mod.i32.const(s.offset), data: s.data, passive: false })));

    // run(): one call per step (profiling: accumulate env.now() deltas per layer)
    const body: number[] = [];
    const call = (i: number) => {
      const fn = fnOf.get(low.steps[i]!.kernel);
      if (!fn) throw internal(`kernel ${low.steps[i]!.kernel} is missing from the kernel library`);
      return mod.call(fn, [mod.i32.const(paramAddr[i]!)], binaryen.none);
    };
    if (opts.profile) {
      mod.addFunctionImport('now', 'env', 'now', binaryen.none, binaryen.f64);
      const layerIdx = new Map(low.layers.map((n, i) => [n, i]));
      let i = 0;
      while (i < low.steps.length) {
        const node = low.steps[i]!.node;
        const li = layerIdx.get(node);
        const group: number[] = [];
        while (i < low.steps.length && low.steps[i]!.node === node) group.push(call(i++));
        if (li === undefined) {
          body.push(...group);
          continue;
        }
        const slot = profileOffset + li * 8;
        body.push(mod.local.set(0, mod.call('now', [], binaryen.f64)));
        body.push(...group);
        body.push(mod.f64.store(0, 8, mod.i32.const(slot),
          mod.f64.add(mod.f64.load(0, 8, mod.i32.const(slot)), mod.f64.sub(mod.call('now', [], binaryen.f64), mod.local.get(0, binaryen.f64)))));
      }
    } else {
      for (let i = 0; i < low.steps.length; i++) body.push(call(i));
    }
    mod.addFunction('run', binaryen.none, binaryen.none, opts.profile ? [binaryen.f64] : [], mod.block(null, body, binaryen.none));
    mod.addFunctionExport('run', 'run');
    if (inits.length > 0) {
      // start function: expand the compressed blobs once, at instantiation
      const calls = inits.map((s, i) => {
        const fn = fnOf.get(s.kernel);
        if (!fn) throw internal(`kernel ${s.kernel} is missing from the kernel library`);
        return mod.call(fn, [mod.i32.const(initAddr[i]!)], binaryen.none);
      });
      mod.setStart(mod.addFunction('expand_weights', binaryen.none, binaryen.none, [], mod.block(null, calls, binaryen.none)));
    }
    // drop kernels and helpers that `run` does not reach
    mod.runPasses(['remove-unused-module-elements']);
    if (!mod.validate()) throw internal('generated wasm module does not validate');
    const wasm = appendDataSegment(mod.emitBinary(), staticBase, data);
    const layout: MemoryLayout = {
      staticBase, blobAddr, weightsBytes, arenaBase, arenaBytes,
      // empty tensors have no buffer
      inputAddr: low.inputs.map((x) => (x.shape.includes(0) ? 0 : bufAddr(x.id))),
      outputAddr: low.outputs.map((x) => (x.shape.includes(0) ? 0 : bufAddr(x.id))),
      profileOffset, pages,
    };
    return { wasm, layout, codeBytes: wasm.length - weightsBytes };
  } finally {
    mod.dispose();
  }
}

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb32(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function readUleb(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if ((x & 0x80) === 0) return [v, pos];
  }
}

/**
 * Adds one active data segment (memory 0, at `offset`) to a wasm binary: appended to the data
 * section (created after the code section when absent); the data-count section is updated too.
 * @param wasm a valid module binary
 * @param offset memory address of the segment
 * @param bytes segment contents
 */
export function appendDataSegment(wasm: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return wasm;
  const sections: { id: number; start: number; bodyStart: number; end: number }[] = [];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos]!;
    const [size, body] = readUleb(wasm, pos + 1);
    sections.push({ id, start: pos, bodyStart: body, end: body + size });
    pos = body + size;
  }
  const seg = [0x00, 0x41, ...sleb32(offset), 0x0b, ...uleb(bytes.length)];
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let count = 0;
  const data = sections.find((x) => x.id === 11);
  for (const sec of sections) {
    if (sec.id === 12) {
      const [n] = readUleb(wasm, sec.bodyStart);
      const body = uleb(n + 1);
      parts.push(Uint8Array.from([12, ...uleb(body.length), ...body]));
      continue;
    }
    if (sec.id === 11) {
      const [n, p] = readUleb(wasm, sec.bodyStart);
      count = n + 1;
      const rest = wasm.subarray(p, sec.end);
      const head = uleb(count);
      const size = head.length + rest.length + seg.length + bytes.length;
      parts.push(Uint8Array.from([11, ...uleb(size), ...head]), rest, Uint8Array.from(seg), bytes);
      continue;
    }
    parts.push(wasm.subarray(sec.start, sec.end));
    if (!data && sec.id === 10) {
      const size = 1 + seg.length + bytes.length;
      parts.push(Uint8Array.from([11, ...uleb(size), 1]), Uint8Array.from(seg), bytes);
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Builds the module of a dynamic-shape artifact: every kernel of the library in one function table
 * (in targets/wasm/kernels.ts order: dynamic/relower.ts KERNEL_INDEX) and an exported
 * `run_steps(table, n)` that calls n steps read from memory as [kernel index, parameter address]
 * pairs. Memory is exported and growable; the planner writes blobs, parameter blocks, the step
 * table and the arena from `dynBase` on, for the input shapes of each call.
 * @param pagesFor initial memory pages (sized for the compiled bound) given the first byte the
 *   planner may use
 * @returns the binary and that first byte
 */
export function buildDynamicModule(pagesFor: (dynBase: number) => number): { wasm: Uint8Array; dynBase: number } {
  const mod = binaryen.readBinary(kernels());
  try {
    mod.setFeatures(FEATURES() | binaryen.Features.ReferenceTypes);
    const { segs, libEnd, fnOf } = openLibrary(mod);
    const fns = (Object.keys(KERNELS) as KernelId[]).map((k) => {
      const f = fnOf.get(k);
      if (!f) throw internal(`kernel ${k} is missing from the kernel library`);
      return f;
    });
    mod.addTable('kernels', fns.length, fns.length);
    mod.addActiveElementSegment('kernels', 'kernel_elems', fns, mod.i32.const(0));
    const dynBase = alignUp(Math.max(libEnd, 1024), 64);
    mod.setMemory(Math.max(pagesFor(dynBase), Math.ceil((dynBase + 64) / 65536)), 65536, 'memory',
      segs.map((s) => ({ offset: mod.i32.const(s.offset), data: s.data, passive: false })));
    // run_steps(tbl, n): for (i = 0; i < n; i++) kernels[load(tbl + 8i)](load(tbl + 8i + 4))
    const [tbl, n, i, p] = [0, 1, 2, 3];
    const I = binaryen.i32;
    const body = mod.block(null, [
      mod.local.set(i, mod.i32.const(0)),
      mod.block('done', [
        mod.loop('next', mod.block(null, [
          mod.br('done', mod.i32.ge_u(mod.local.get(i, I), mod.local.get(n, I))),
          mod.local.set(p, mod.i32.add(mod.local.get(tbl, I), mod.i32.shl(mod.local.get(i, I), mod.i32.const(3)))),
          mod.call_indirect('kernels', mod.i32.load(0, 4, mod.local.get(p, I)), [mod.i32.load(4, 4, mod.local.get(p, I))], I, binaryen.none),
          mod.local.set(i, mod.i32.add(mod.local.get(i, I), mod.i32.const(1))),
          mod.br('next'),
        ])),
      ]),
    ]);
    mod.addFunction('run_steps', binaryen.createType([I, I]), binaryen.none, [I, I], body);
    mod.addFunctionExport('run_steps', 'run_steps');
    mod.runPasses(['remove-unused-module-elements']);
    if (!mod.validate()) throw internal('generated dynamic wasm module does not validate');
    return { wasm: mod.emitBinary(), dynBase };
  } finally {
    mod.dispose();
  }
}
