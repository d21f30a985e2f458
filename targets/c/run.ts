/**
 * Builds and runs a c-target package (what `edgec run DIR --target c [--device NAME]` does): on
 * the host with the host C++ compiler ($CXX, default g++), or for an emulated Cortex-M with
 * arm-none-eabi-gcc and qemu-system-arm (flags and boards: ./mcu.ts). Inputs and outputs go through
 * files (input.bin / output.bin: raw little-endian values); the MCU build reaches them through
 * semihosting and prints the emulator's instruction count of one inference. Binaries are cached by
 * a hash of the sources and flags.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType } from '../../compiler/ir/dtype.js';
import { EdgecError, internal, invalid, ioError, limit, unsupported, usage } from '../../compiler/errors.js';
import { ArtifactManifest } from '../target.js';
import { ProcResult, runProc } from '../hls/csim.js';
import { MCU_DEVICES, MCU_STACK_BYTES, MCU_TEST_HEAP_BYTES, McuDevice, mcuFlags, qemuArgs } from './mcu.js';

/** Runs a tool, turning a missing program into a one-line io error that names the package. */
async function tool(cmd: string, args: string[], cwd: string, timeoutMs: number, what: string): Promise<ProcResult> {
  try {
    const r = await runProc(cmd, args, cwd, timeoutMs);
    if (r.timedOut) throw limit(`${what} timed out after ${Math.round(timeoutMs / 1000)} s`);
    return r;
  } catch (e) {
    if (e instanceof EdgecError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw ioError(`${what}: "${cmd}" not found${/arm-none-eabi/.test(cmd) ? ' (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)' : /qemu/.test(cmd) ? ' (Debian: apt-get install qemu-system-arm)' : ' (install g++ or set CXX)'}`);
    throw ioError(`${what}: cannot start "${cmd}": ${err.message}`);
  }
}

/** The C API of a package as manifest.json records it. */
interface CApi {
  run_f32: boolean;
  inputs: { native: string; size: number }[];
  outputs: { native: string; size: number }[];
}

/** Reads a c-target artifact's manifest.json. */
export function readCManifest(dir: string): ArtifactManifest & { c_api: CApi } {
  const p = path.join(dir, 'manifest.json');
  if (!fs.existsSync(p)) throw invalid('artifact folder has no manifest.json', { file: dir });
  let m: ArtifactManifest;
  try {
    m = JSON.parse(fs.readFileSync(p, 'utf8')) as ArtifactManifest;
  } catch (e) {
    throw invalid(`manifest.json is not valid JSON: ${(e as Error).message}`, { file: p });
  }
  if (m.target !== 'c') throw invalid(`artifact target is ${String(m.target)}, not c`, { file: p });
  const api = m['c_api'] as CApi | undefined;
  if (!api || !Array.isArray(api.inputs) || !Array.isArray(api.outputs) || api.inputs.length !== m.inputs.length || api.outputs.length !== m.outputs.length) {
    throw invalid('manifest.json has no valid c_api entry', { file: p });
  }
  for (const f of ['model.cpp', 'model.h', 'main.cpp']) if (!fs.existsSync(path.join(dir, f))) throw invalid(`artifact is missing ${f}`, { file: dir });
  return m as ArtifactManifest & { c_api: CApi };
}

/** Resolves a --device name. */
export function mcuDevice(name: string): McuDevice {
  const d = MCU_DEVICES[name];
  if (!d) throw usage(`unknown device "${name.slice(0, 40)}" for the c target (${Object.keys(MCU_DEVICES).join(', ')})`);
  return d;
}

function sourceHash(dir: string, extra: string): string {
  const h = createHash('sha256');
  h.update(extra);
  const walk = (rel: string) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = path.join(rel, ent.name);
      if (ent.isDirectory() && (rel !== '' || ['kernels', 'mcu'].includes(ent.name))) walk(r);
      else if (ent.isFile() && /\.(c|cpp|h|ld)$/.test(ent.name)) {
        h.update(r);
        h.update(fs.readFileSync(path.join(dir, r)));
      }
    }
  };
  walk('');
  return h.digest('hex').slice(0, 32);
}

const building = new Map<string, Promise<string>>();

/** Keeps the newest `keep` binaries of the build cache folder (best effort). */
function pruneCache(dir: string, keep: number): void {
  try {
    const ents = fs.readdirSync(dir).filter((n) => /^[\w-]+-[0-9a-f]{32}(\.elf)?$/.test(n))
      .map((n) => ({ n, t: fs.statSync(path.join(dir, n)).mtimeMs })).sort((a, b) => b.t - a.t);
    for (const e of ents.slice(keep)) fs.rmSync(path.join(dir, e.n), { force: true });
  } catch {
    // another process pruned concurrently
  }
}

/** Builds (or reuses) a binary for `key` into the cache folder with `build(workDir, outPath)`. */
function cached(key: string, build: (work: string, out: string) => Promise<void>): Promise<string> {
  const hit = building.get(key);
  if (hit) return hit;
  const p = (async () => {
    const cacheDir = path.join(os.tmpdir(), 'edgec-c-build');
    fs.mkdirSync(cacheDir, { recursive: true });
    const bin = path.join(cacheDir, key);
    if (fs.existsSync(bin)) return bin;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-c-work-'));
    try {
      const out = path.join(work, 'out.bin');
      await build(work, out);
      const tmp = `${bin}.${process.pid}.${Date.now()}`;
      fs.copyFileSync(out, tmp);
      fs.chmodSync(tmp, 0o755);
      fs.renameSync(tmp, bin);
      pruneCache(cacheDir, 64);
      return bin;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  })();
  building.set(key, p);
  p.catch(() => building.delete(key));
  return p;
}

function compileError(r: ProcResult, what: string, file: string): EdgecError {
  const first = r.stderr.split('\n').filter((l) => /error/.test(l)).slice(0, 3).join(' | ') || r.stderr.slice(0, 400);
  return internal(`${what} failed (exit ${r.code}): ${first}`, { file });
}

/** Options of the builds and runs. */
export interface CRunOptions {
  /** Emulated device (cortex-m4, cortex-m7); absent: the host. */
  device?: string;
  compileTimeoutMs?: number;
  runTimeoutMs?: number;
}

/**
 * Builds the package's test program for the host or a device and returns the binary (cached).
 * @param dir artifact folder
 */
export function buildC(dir: string, opts: CRunOptions = {}): Promise<string> {
  readCManifest(dir);
  const timeout = opts.compileTimeoutMs ?? 300_000;
  if (!opts.device) {
    const cxx = process.env['CXX'] || 'g++';
    const flags = ['-O2', '-std=c++14', '-fno-exceptions', '-fno-rtti', '-Wno-unknown-pragmas', '-w', `-I${dir}`];
    return cached(`host-${sourceHash(dir, `${cxx} ${flags.slice(0, -1).join(' ')}`)}`, async (work, out) => {
      const r = await tool(cxx, [...flags, '-o', out, path.join(dir, 'model.cpp'), path.join(dir, 'main.cpp')], work, timeout, 'host C++ compilation');
      if (r.code !== 0) throw compileError(r, `host C++ compilation (${cxx})`, path.join(dir, 'model.cpp'));
    });
  }
  const d = mcuDevice(opts.device);
  return cached(`${d.cpu}-${sourceHash(dir, JSON.stringify(mcuFlags(d)) + MCU_TEST_HEAP_BYTES)}.elf`, (work, out) =>
    crossBuild(dir, d, work, out, ['model.cpp', 'main.cpp'], MCU_TEST_HEAP_BYTES, timeout));
}

/** arm-none-eabi build of `cxxFiles` (package-relative) + mcu/startup.c (+ mcu/firmware.c when listed). */
async function crossBuild(dir: string, d: McuDevice, work: string, out: string, files: string[], heap: number, timeout: number): Promise<void> {
  const f = mcuFlags(d);
  const objs: string[] = [];
  for (const src of [...files, 'mcu/startup.c']) {
    const isC = src.endsWith('.c');
    const obj = path.join(work, `${path.basename(src)}.o`);
    const cc = isC ? 'arm-none-eabi-gcc' : 'arm-none-eabi-g++';
    const args = [...f.arch, ...f.common, ...(isC ? ['-std=gnu99'] : f.cxx), `-I${dir}`, '-c', '-o', obj, path.join(dir, src)];
    const r = await tool(cc, args, work, timeout, `${d.cpu} cross-compilation`);
    if (r.code !== 0) throw compileError(r, `${d.cpu} cross-compilation of ${src}`, path.join(dir, src));
    objs.push(obj);
  }
  const r = await tool('arm-none-eabi-g++', [...f.arch, ...f.link, '-T', path.join(dir, 'mcu', 'mps2.ld'), `-Wl,--defsym=EDGEC_HEAP_BYTES=${heap}`, '-o', out, ...objs], work, timeout, `${d.cpu} link`);
  if (r.code !== 0) {
    // a model larger than the board's memory: say which region and by how much
    const over = /region [`'"]?(\w+)['"]? overflowed by (\d+) bytes/.exec(r.stderr);
    if (over) throw unsupported(`the ${d.cpu} image does not fit the device memory: region ${over[1]} overflowed by ${over[2]} bytes`, { file: path.join(dir, 'mcu', 'mps2.ld') });
    throw compileError(r, `${d.cpu} link`, path.join(dir, 'mcu', 'mps2.ld'));
  }
}

/** Result of one run: outputs, and on a device the emulated instruction count and stack use. */
export interface CRunResult {
  outputs: Tensor[];
  instructions?: number;
  stackBytes?: number;
}

const ARRAY: Record<string, { new (b: ArrayBuffer): ArrayLike<number> } & { BYTES_PER_ELEMENT: number }> = {
  f32: Float32Array, i8: Int8Array, u8: Uint8Array, i16: Int16Array, u16: Uint16Array, i32: Int32Array,
};

/**
 * Runs a package on one set of inputs (float32 through edgec_run_f32 when the model has it, else
 * the native dtypes).
 * @param dir artifact folder
 * @param inputs tensors in the manifest's input order
 */
export async function runCArtifact(dir: string, inputs: readonly Tensor[], opts: CRunOptions = {}): Promise<CRunResult> {
  const m = readCManifest(dir);
  const api = m.c_api;
  if (inputs.length !== m.inputs.length) throw invalid(`model has ${m.inputs.length} input(s) but ${inputs.length} were given`);
  const bin = await buildC(dir, opts);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-c-run-'));
  try {
    const parts: Buffer[] = [];
    m.inputs.forEach((x, k) => {
      const n = api.inputs[k]!.size;
      if (inputs[k]!.size !== n) throw invalid(`input ${k} ("${x.name.slice(0, 60)}") has ${inputs[k]!.size} values, expected ${n} (shape [${x.shape.join(',')}])`);
      const dt = api.run_f32 ? 'f32' : api.inputs[k]!.native;
      const A = ARRAY[dt];
      if (!A) throw invalid(`input ${k}: dtype ${dt} has no C type`);
      const buf = Buffer.alloc(n * A.BYTES_PER_ELEMENT);
      const view = new A(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) as unknown as { [i: number]: number; buffer: ArrayBuffer };
      for (let i = 0; i < n; i++) view[i] = inputs[k]!.get(i);
      parts.push(Buffer.from(view.buffer));
    });
    fs.writeFileSync(path.join(work, 'input.bin'), Buffer.concat(parts));
    const timeout = opts.runTimeoutMs ?? 300_000;
    let r: ProcResult;
    if (opts.device) {
      const d = mcuDevice(opts.device);
      r = await tool('qemu-system-arm', qemuArgs(d, bin), work, timeout, `the ${opts.device} emulation`);
    } else {
      r = await tool(bin, [], work, timeout, 'the host test program');
    }
    if (r.code !== 0) throw internal(`the c target's test program failed${opts.device ? ` on ${opts.device}` : ''} (exit ${r.code}): ${(r.stdout + r.stderr).trim().slice(0, 300)}`, { file: dir });
    const data = fs.readFileSync(path.join(work, 'output.bin'));
    let off = 0;
    const outputs = m.outputs.map((y, k) => {
      const n = api.outputs[k]!.size;
      const dt = api.run_f32 ? 'f32' : api.outputs[k]!.native;
      const A = ARRAY[dt]!;
      const bytes = n * A.BYTES_PER_ELEMENT;
      if (off + bytes > data.length) throw internal(`the test program wrote ${data.length} bytes, fewer than the outputs need`, { file: dir });
      const vals = new A(data.buffer.slice(data.byteOffset + off, data.byteOffset + off + bytes) as ArrayBuffer);
      off += bytes;
      return Tensor.from((api.run_f32 ? 'f32' : y.dtype) as DType, y.shape as number[], vals);
    });
    const res: CRunResult = { outputs };
    const ins = /edgec: instructions (\d+)/.exec(r.stdout);
    const st = /edgec: stack (\d+)/.exec(r.stdout);
    if (ins) res.instructions = Number(ins[1]);
    if (st) {
      res.stackBytes = Number(st[1]);
      if (res.stackBytes >= MCU_STACK_BYTES) throw internal(`the test program used ${res.stackBytes} bytes of stack, the linker script reserves ${MCU_STACK_BYTES}`, { file: dir });
    }
    return res;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Flash and RAM of the package's firmware image (model + a main that calls edgec_run), from arm-none-eabi-size. */
export interface ImageSize {
  text: number;
  data: number;
  bss: number;
  flash_bytes: number;
  ram_bytes: number;
}

/**
 * Cross-builds mcu/firmware.c with the model for a device and measures it with arm-none-eabi-size:
 * flash = text (incl. rodata) + data initializers; RAM = data + bss (incl. the arena) + the stack
 * the linker script reserves.
 * @param dir artifact folder (or a folder with the package files)
 */
export async function measureImage(dir: string, device = 'cortex-m4', timeoutMs = 300_000): Promise<ImageSize> {
  const d = mcuDevice(device);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-c-size-'));
  try {
    const elf = path.join(work, 'firmware.elf');
    await crossBuild(dir, d, work, elf, ['model.cpp', 'mcu/firmware.c'], 0, timeoutMs);
    const r = await tool('arm-none-eabi-size', ['-A', elf], work, 60_000, 'arm-none-eabi-size');
    if (r.code !== 0) throw internal(`arm-none-eabi-size failed: ${r.stderr.slice(0, 200)}`);
    const sec = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      const mm = /^(\.\S+)\s+(\d+)\s+(\d+)/.exec(line.trim());
      if (mm) sec.set(mm[1]!, Number(mm[2]));
    }
    const flashSecs = ['.text', '.ARM.extab', '.ARM.exidx', '.preinit_array', '.init_array', '.fini_array'];
    const text = flashSecs.reduce((s, k) => s + (sec.get(k) ?? 0), 0);
    const data = sec.get('.data') ?? 0;
    const bss = sec.get('.bss') ?? 0;
    const stack = sec.get('.stack') ?? MCU_STACK_BYTES;
    return { text, data, bss, flash_bytes: text + data, ram_bytes: data + bss + stack };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
