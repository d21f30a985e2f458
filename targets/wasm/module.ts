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
 * read them. Blobs in kernel layouts (int8 panels and pairs, Winograd transforms: ctx.ts PackBlob)
 * are stored as the weights they are built from and packed by the start function the same way
 * (runtime-wasm/assembly/wpack.ts), so each weight is stored once, at its precision; blobs no step
 * addresses are not stored.
 * With `simd: false` the module is built from the scalar kernel library (kernels-scalar.wasm, the
 * same sources with their SIMD branches compiled out) and validated without the SIMD feature: it
 * runs on engines that lack wasm SIMD (WAMR, wasm3, wasm2c). The code generated here (run, the
 * start function, run_steps) uses no SIMD instruction either way. With `relaxed: true` it is built
 * from kernels-relaxed.wasm (relaxed-SIMD int8 GEMM tiles) and validated with that feature: the same
 * data and memory layout as the SIMD module (model-relaxed.wasm, emit.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { internal } from '../../compiler/errors.js';
import { KERNELS, KernelId } from './kernels.js';
import { encodeF16, packInt4 } from '../common/compress.js';
import { Lowered, Word } from './lower.js';
import { resolveWords } from './layout.js';
import { alignUp } from './memory-plan.js';
import { ThreadPlan, threadLayout, threadFunctions } from './threads.js';

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
  /** Threads module: byte address of the synchronization words (threads.ts SYNC). */
  threadSync?: number;
}

export interface BuildOptions {
  profile?: boolean;
  /** Kernels with wasm SIMD (default true); false: the scalar kernel library, no SIMD instruction. */
  simd?: boolean;
  /**
   * The multi-threaded variant (model-threads.wasm, threads.ts): imported shared memory, the split
   * steps' parts, barriers, `thread_main`. Absent: the single-thread module, unchanged.
   */
  threads?: ThreadPlan;
  /** The relaxed-SIMD kernel library (kernels-relaxed.wasm; needs simd): model-relaxed.wasm. */
  relaxed?: boolean;
}

const kernelBytes = new Map<string, Uint8Array>();

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

/**
 * Path of a kernel library built by `npm run build` (scripts/build-runtime.mjs).
 * @param simd true: kernels.wasm (SIMD); false: kernels-scalar.wasm (no SIMD instruction)
 */
export function kernelLibraryPath(simd = true, variant = ''): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = variant ? `kernels-${variant}.wasm` : simd ? 'kernels.wasm' : 'kernels-scalar.wasm';
  // targets/wasm (sources, vitest) or dist/targets/wasm (compiled)
  for (const up of ['../..', '../../..']) {
    const p = path.resolve(here, up, 'runtime-wasm', 'build', file);
    if (fs.existsSync(p)) return p;
  }
  return path.resolve(here, '../..', 'runtime-wasm', 'build', file);
}

function kernels(simd: boolean, variant = ''): Uint8Array {
  const p = kernelLibraryPath(simd, variant);
  let b = kernelBytes.get(p);
  if (!b) {
    if (!fs.existsSync(p)) throw internal(`the wasm kernel library is missing (${p}); run "npm run build" first`);
    b = new Uint8Array(fs.readFileSync(p));
    kernelBytes.set(p, b);
  }
  return b;
}

const FEATURES = (simd: boolean, relaxed = false): number =>
  binaryen.Features.MVP | (simd ? binaryen.Features.SIMD128 : 0) | (simd && relaxed ? binaryen.Features.RelaxedSIMD : 0) | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt | binaryen.Features.MutableGlobals | binaryen.Features.NontrappingFPToInt;

/**
 * Builds model.wasm from a lowered graph.
 * @param low lowering result (steps, blobs, memory plan)
 * @param opts profiling switch
 * @returns the binary, its memory layout and the number of code bytes (binary minus weight data)
 */
export function buildModule(low0: Lowered, opts: BuildOptions = {}): { wasm: Uint8Array; layout: MemoryLayout; codeBytes: number } {
  const simd = opts.simd ?? true;
  const th = opts.threads;
  const relaxed = simd && (opts.relaxed ?? false);
  if (th && (!simd || opts.profile || relaxed)) throw internal('the threads module is built with SIMD, without profiling and without relaxed SIMD');
  // the threads variant: the parts' channel-parameter blobs follow the lowering's own
  const low: Lowered = th ? { ...low0, blobs: [...low0.blobs, ...th.blobs], codecs: [...low0.codecs, ...th.blobs.map(() => undefined)] } : low0;
  const mod = binaryen.readBinary(kernels(simd, th ? 'threads' : relaxed ? 'relaxed' : ''));
  try {
    mod.setFeatures(FEATURES(simd, relaxed) | (th ? binaryen.Features.Atomics : 0));
    // the kernel library's own data (math tables) and its kernels, exports removed
    const { segs, libEnd, fnOf } = openLibrary(mod);

    // static data: plain blobs (16-byte aligned), compressed payloads, then parameter blocks
    const staticBase = alignUp(Math.max(libEnd, 1024), 64);
    let cur = staticBase;
    const blobAddr: number[] = new Array<number>(low.blobs.length).fill(0);
    // blobs no step reads (e.g. a weight only its packed copy uses) are not stored
    const used = usedBlobs(low, th ? [...th.split.values()].flat() : []);
    const payloads: { addr: number; data: Uint8Array }[] = [];
    const inits: { kernel: KernelId; words: (blobAddr: number[]) => number[] }[] = [];
    low.blobs.forEach((b, i) => {
      if (low.codecs[i] || !used[i]) return;
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
      if (!codec || !used[i]) return;
      const n = b.length / 4;
      if (codec.kind === 'f16') {
        const h = encodeF16(new Float32Array(b.buffer, b.byteOffset, n));
        const src = payload(new Uint8Array(h.buffer));
        inits.push({ kernel: 'f16_to_f32', words: (ba) => [src, ba[i]!, n] });
      } else if (codec.kind === 'pack') {
        // raw weights, packed into the kernel layout by the start function
        const src = payload(codec.src);
        inits.push({ kernel: codec.kernel, words: (ba) => [src, ba[i]!, ...codec.words.map((w) => wordValue(w, ba))] });
      } else if (codec.kind === 'int8') {
        const q = payload(new Uint8Array(codec.q.buffer, codec.q.byteOffset, codec.q.byteLength));
        const sc = payload(new Uint8Array(codec.scale.buffer, codec.scale.byteOffset, codec.scale.byteLength));
        inits.push({ kernel: 'int8_dequant_f32', words: (ba) => [q, sc, ba[i]!, codec.outer, codec.D, codec.inner, codec.block] });
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
      if (!s.ctrl) cur += KERNELS[s.kernel].words * 4;
      return a;
    });
    const initAddr = inits.map((s) => {
      const a = cur;
      cur += KERNELS[s.kernel].words * 4;
      return a;
    });
    // threads: parameter blocks of the split steps' parts
    const partAddr = new Map<number, number[]>();
    for (const [i, parts] of th?.split ?? []) {
      partAddr.set(i, parts.map((ws) => {
        const a = cur;
        // a part may carry words past the kernel's block (qconv_i8 row ranges, threads.ts)
        cur += Math.max(KERNELS[low.steps[i]!.kernel].words, ws.length) * 4;
        return a;
      }));
    }
    const dataEnd = cur;
    // expanded f32 regions of the compressed blobs (written by the start function)
    low.blobs.forEach((b, i) => {
      if (!low.codecs[i] || !used[i]) return;
      blobAddr[i] = alignUp(cur, 16);
      cur = blobAddr[i]! + b.length;
    });
    const arenaBase = alignUp(cur, 64);
    const arenaBytes = low.plan.arenaBytes;
    const profileOffset = opts.profile ? alignUp(arenaBase + arenaBytes, 8) : 0;
    // threads: synchronization words, per-thread areas and the extra parts' scratch after the arena
    const tl = th ? threadLayout(th, arenaBase + arenaBytes) : undefined;
    const end = (tl ? tl.end : opts.profile ? profileOffset + low.layers.length * 8 : arenaBase + arenaBytes) + 64;
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
      if (!low.codecs[i] && used[i]) data.set(b, blobAddr[i]! - staticBase);
    });
    for (const p of payloads) data.set(p.data, p.addr - staticBase);
    inits.forEach((s, i) => s.words(blobAddr).forEach((w, k) => dv.setUint32(initAddr[i]! - staticBase + k * 4, w, true)));
    low.steps.forEach((s, i) => {
      resolveWords(dv, paramAddr[i]! - staticBase, s.words, {
        buf: bufAddr, blob: (id) => blobAddr[id]!, scratch: () => arenaBase + low.plan.offsets.get(low.scratchKey.get(i)!)!,
      });
    });
    for (const [i, parts] of th?.split ?? []) {
      parts.forEach((ws, k) => resolveWords(dv, partAddr.get(i)![k]! - staticBase, ws, {
        buf: bufAddr, blob: (id) => blobAddr[id]!,
        scratch: () => (k === 0 ? arenaBase + low.plan.offsets.get(low.scratchKey.get(i)!)! : tl!.scratchOf(k)),
      }));
    }
    // the (possibly large) static data is appended to the emitted binary directly: routing MBs of
    // weights through binaryen's heap is slow
    const segments = segs.map((s) => ({ offset: mod.i32.const(s.offset), data: s.data, passive: false }));
    if (th) {
      // one shared memory, created by model.mjs and imported by every thread's instance
      mod.setMemory(pages, pages, null, segments, true);
      mod.addMemoryImport('0', 'env', 'memory', true);
    } else mod.setMemory(pages, pages, 'memory', segments);

    // run(): one call per step, structured by the control steps (If/Loop/Scan: wasm if/loop);
    // profiling: accumulate env.now() deltas per layer
    const ctrlAddr = (w: Word): number => (w.k === 'buf' ? bufAddr(w.id) + w.off : w.k === 'blob' ? blobAddr[w.id]! + w.off : 0);
    const nLoops = low.steps.reduce((m, s) => (s.ctrl?.k === 'loop' ? Math.max(m, s.ctrl.id + 1) : m), 0);
    const loopLocal = (id: number): number => (opts.profile ? 1 : 0) + id;
    const I32 = binaryen.i32;
    const call = (i: number): number[] => {
      const s = low.steps[i]!;
      const fn = fnOf.get(s.kernel);
      if (!fn) throw internal(`kernel ${s.kernel} is missing from the kernel library`);
      // words that advance per loop iteration: static value + sum of counter * stride
      const patches = (s.patches ?? []).map((p) => {
        const at = paramAddr[i]! + p.word * 4;
        let v = mod.i32.const(dv.getUint32(at - staticBase, true) | 0);
        for (const t of p.terms) v = mod.i32.add(v, mod.i32.mul(mod.local.get(loopLocal(t.loop), I32), mod.i32.const(t.stride)));
        return mod.i32.store(0, 4, mod.i32.const(at), v);
      });
      if (th && tl) {
        const parts = partAddr.get(i);
        if (parts) return tf!.thread0(i, parts.map((a) => mod.call(fn, [mod.i32.const(a)], binaryen.none)));
      }
      return [...patches, mod.call(fn, [mod.i32.const(paramAddr[i]!)], binaryen.none)];
    };
    // threads: barrier, run's prologue (thread 0 starts the workers' run) and thread_main (workers)
    const tf = th && tl ? threadFunctions(mod, th, tl, fnOf, partAddr, (i) => fnOf.get(low.steps[i]!.kernel)!) : undefined;
    if (opts.profile) mod.addFunctionImport('now', 'env', 'now', binaryen.none, binaryen.f64);
    const layerIdx = new Map(low.layers.map((n, i) => [n, i]));
    let pos = 0;
    const closing = (k: string): void => {
      if (low.steps[pos]?.ctrl?.k !== k) throw internal(`control steps are not nested: expected ${k} at step ${pos}`);
      pos++;
    };
    // the expressions of the steps from `pos` up to the next else/end (not consumed) or the end
    const seq = (): number[] => {
      const out: number[] = [];
      while (pos < low.steps.length) {
        const s = low.steps[pos]!;
        const ct = s.ctrl;
        if (ct?.k === 'else' || ct?.k === 'end') return out;
        if (ct?.k === 'if') {
          pos++;
          const thenE = seq();
          let elseE: number[] = [];
          if (low.steps[pos]?.ctrl?.k === 'else') {
            pos++;
            elseE = seq();
          }
          closing('end');
          out.push(mod.if(mod.i32.load8_u(0, 1, mod.i32.const(ctrlAddr(ct.cond))), mod.block(null, thenE, binaryen.none),
            elseE.length > 0 ? mod.block(null, elseE, binaryen.none) : undefined));
          continue;
        }
        if (ct?.k === 'loop') {
          pos++;
          const L = loopLocal(ct.id);
          const [brk, top] = [`loop${ct.id}_exit`, `loop${ct.id}`];
          const head: number[] = [];
          const i64 = mod.i64.extend_u(mod.local.get(L, I32));
          if (typeof ct.trip === 'number') head.push(mod.br(brk, mod.i32.ge_u(mod.local.get(L, I32), mod.i32.const(ct.trip))));
          else if (ct.trip) head.push(mod.br(brk, mod.i64.ge_s(i64, mod.i64.load(0, 8, mod.i32.const(ctrlAddr(ct.trip))))));
          if (ct.cond) head.push(mod.br(brk, mod.i32.eqz(mod.i32.load8_u(0, 1, mod.i32.const(ctrlAddr(ct.cond))))));
          // a loop that must run `count` times traps on one iteration more, or on exit after fewer
          if (ct.count !== undefined) head.push(mod.if(mod.i32.ge_u(mod.local.get(L, I32), mod.i32.const(ct.count)), mod.unreachable()));
          if (ct.iter) head.push(mod.i64.store(0, 8, mod.i32.const(ctrlAddr(ct.iter)), mod.i64.extend_u(mod.local.get(L, I32))));
          const inner = seq();
          closing('end');
          out.push(mod.local.set(L, mod.i32.const(0)), mod.block(brk, [mod.loop(top, mod.block(null, [
            ...head, ...inner, mod.local.set(L, mod.i32.add(mod.local.get(L, I32), mod.i32.const(1))), mod.br(top),
          ], binaryen.none))], binaryen.none));
          if (ct.count !== undefined) out.push(mod.if(mod.i32.ne(mod.local.get(L, I32), mod.i32.const(ct.count)), mod.unreachable()));
          continue;
        }
        // kernel calls, grouped by node (a profiled layer's time is measured around its group)
        const node = s.node;
        const group: number[] = [];
        while (pos < low.steps.length && !low.steps[pos]!.ctrl && low.steps[pos]!.node === node) group.push(...call(pos++));
        const li = opts.profile ? layerIdx.get(node) : undefined;
        if (li === undefined) {
          out.push(...group);
          continue;
        }
        const slot = profileOffset + li * 8;
        out.push(mod.local.set(0, mod.call('now', [], binaryen.f64)));
        out.push(...group);
        out.push(mod.f64.store(0, 8, mod.i32.const(slot),
          mod.f64.add(mod.f64.load(0, 8, mod.i32.const(slot)), mod.f64.sub(mod.call('now', [], binaryen.f64), mod.local.get(0, binaryen.f64)))));
      }
      return out;
    };
    const body = tf ? [...tf.prologue(), ...seq()] : seq();
    if (pos !== low.steps.length) throw internal(`control steps are not nested: unexpected ${low.steps[pos]!.ctrl?.k} at step ${pos}`);
    const locals = [...(opts.profile ? [binaryen.f64] : []), ...new Array<number>(nLoops).fill(I32)];
    mod.addFunction('run', binaryen.none, binaryen.none, locals, mod.block(null, body, binaryen.none));
    mod.addFunctionExport('run', 'run');
    tf?.finish();
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
      ...(tl ? { threadSync: tl.sync } : {}),
    };
    return { wasm, layout, codeBytes: wasm.length - weightsBytes };
  } finally {
    mod.dispose();
  }
}

/** Value of a word of an instantiation-time parameter block (integers and blob addresses). */
function wordValue(w: Word, blobAddr: readonly number[]): number {
  if (w.k === 'i') return w.v | 0;
  if (w.k === 'blob') return blobAddr[w.id]! + w.off;
  if (w.k === 'null') return 0;
  throw internal(`instantiation-time parameter word of kind ${w.k}`);
}

/**
 * Which blobs the module must hold: those a step word, a control word or a packing step's words
 * address (transitively: a packing step may read other blobs).
 */
function usedBlobs(low: Lowered, extra: Word[][] = []): boolean[] {
  const used = new Array<boolean>(low.blobs.length).fill(false);
  const mark = (w: Word | number | null | undefined): void => {
    if (w && typeof w === 'object' && w.k === 'blob') used[w.id] = true;
  };
  for (const ws of extra) ws.forEach(mark);
  for (const s of low.steps) {
    s.words.forEach(mark);
    const ct = s.ctrl;
    if (ct?.k === 'if') mark(ct.cond);
    if (ct?.k === 'loop') [ct.trip, ct.cond, ct.iter].forEach(mark);
  }
  // packing steps of used blobs keep the blobs their words address (one level: they are plain)
  low.codecs.forEach((c, i) => {
    if (c?.kind === 'pack' && used[i]) c.words.forEach(mark);
  });
  return used;
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
 * @param simd false: the scalar kernel library (no SIMD instruction)
 * @returns the binary and that first byte
 */
export function buildDynamicModule(pagesFor: (dynBase: number) => number, simd = true): { wasm: Uint8Array; dynBase: number } {
  const mod = binaryen.readBinary(kernels(simd));
  try {
    mod.setFeatures(FEATURES(simd) | binaryen.Features.ReferenceTypes);
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
    // run_steps(tbl, n): for (i = 0; i < n; i++) { k = load(tbl + 8i); a = load(tbl + 8i + 4);
    //   k >= 0: kernels[k](a); else a control entry (dynamic/relower.ts CTRL_ENTRY) on the block at a }
    const [tbl, n, i, p, k, a, c, t] = [0, 1, 2, 3, 4, 5, 6, 7];
    const I = binaryen.i32;
    const get = (x: number): number => mod.local.get(x, I);
    const word = (j: number): number => mod.i32.load(j * 4, 4, get(a));
    const goTo = (target: number): number => mod.local.set(i, mod.i32.sub(target, mod.i32.const(1)));
    const is = (kind: number): number => mod.i32.eq(get(k), mod.i32.const(kind));
    const counterNow = (): number => mod.i32.load(0, 4, word(0));
    const body = mod.block(null, [
      mod.local.set(i, mod.i32.const(0)),
      mod.block('done', [
        mod.loop('next', mod.block(null, [
          mod.br('done', mod.i32.ge_u(get(i), get(n))),
          mod.local.set(p, mod.i32.add(get(tbl), mod.i32.shl(get(i), mod.i32.const(3)))),
          mod.local.set(k, mod.i32.load(0, 4, get(p))),
          mod.local.set(a, mod.i32.load(4, 4, get(p))),
          mod.if(mod.i32.ge_s(get(k), mod.i32.const(0)),
            mod.call_indirect('kernels', get(k), [get(a)], I, binaryen.none),
            mod.block(null, [
              // BR_IF_ZERO [cond, target]
              mod.if(is(-1), mod.if(mod.i32.eqz(mod.i32.load8_u(0, 1, word(0))), goTo(word(1)))),
              // JUMP [target]
              mod.if(is(-2), goTo(word(0))),
              // LOOP_INIT [counter]
              mod.if(is(-3), mod.i32.store(0, 4, word(0), mod.i32.const(0))),
              // LOOP_HEAD [counter, trip kind, trip, cond, iter, exit]
              mod.if(is(-4), mod.block(null, [
                mod.local.set(c, counterNow()),
                mod.local.set(t, mod.i32.const(0)),
                mod.if(mod.i32.eq(word(1), mod.i32.const(1)), mod.local.set(t, mod.i32.ge_u(get(c), word(2)))),
                mod.if(mod.i32.eq(word(1), mod.i32.const(2)),
                  mod.local.set(t, mod.i64.ge_s(mod.i64.extend_u(get(c)), mod.i64.load(0, 8, word(2))))),
                mod.if(mod.i32.ne(word(3), mod.i32.const(0)),
                  mod.if(mod.i32.eqz(mod.i32.load8_u(0, 1, word(3))), mod.local.set(t, mod.i32.const(1)))),
                // word 6: the iteration count the loop must run (-1: any); otherwise trap
                mod.if(get(t), mod.block(null, [
                  mod.if(mod.i32.and(mod.i32.ge_s(word(6), mod.i32.const(0)), mod.i32.ne(get(c), word(6))), mod.unreachable()),
                  goTo(word(5)),
                ]), mod.block(null, [
                  mod.if(mod.i32.and(mod.i32.ge_s(word(6), mod.i32.const(0)), mod.i32.ge_u(get(c), word(6))), mod.unreachable()),
                  mod.if(mod.i32.ne(word(4), mod.i32.const(0)), mod.i64.store(0, 8, word(4), mod.i64.extend_u(get(c)))),
                ])),
              ])),
              // LOOP_NEXT [counter, head]
              mod.if(is(-5), mod.block(null, [
                mod.i32.store(0, 4, word(0), mod.i32.add(counterNow(), mod.i32.const(1))),
                goTo(word(1)),
              ])),
              // PATCH [word, static, terms, (counter, stride)...]
              mod.if(is(-6), mod.block(null, [
                mod.local.set(c, word(1)),
                mod.local.set(t, mod.i32.const(0)),
                mod.block('terms_done', [mod.loop('terms', mod.block(null, [
                  mod.br('terms_done', mod.i32.ge_u(get(t), word(2))),
                  mod.local.set(p, mod.i32.add(get(a), mod.i32.add(mod.i32.const(12), mod.i32.shl(get(t), mod.i32.const(3))))),
                  mod.local.set(c, mod.i32.add(get(c), mod.i32.mul(mod.i32.load(0, 4, mod.i32.load(0, 4, get(p))), mod.i32.load(4, 4, get(p))))),
                  mod.local.set(t, mod.i32.add(get(t), mod.i32.const(1))),
                  mod.br('terms'),
                ]))]),
                mod.i32.store(0, 4, word(0), get(c)),
              ])),
            ])),
          mod.local.set(i, mod.i32.add(get(i), mod.i32.const(1))),
          mod.br('next'),
        ])),
      ]),
    ]);
    mod.addFunction('run_steps', binaryen.createType([I, I]), binaryen.none, [I, I, I, I, I, I], body);
    mod.addFunctionExport('run_steps', 'run_steps');
    mod.runPasses(['remove-unused-module-elements']);
    if (!mod.validate()) throw internal('generated dynamic wasm module does not validate');
    return { wasm: mod.emitBinary(), dynBase };
  } finally {
    mod.dispose();
  }
}
