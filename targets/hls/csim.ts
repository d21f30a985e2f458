/**
 * C simulation of an HLS artifact with the host C++ compiler (what `edgec run --target hls` does):
 * the testbench and the top function are compiled with `g++ -O2 -std=c++14` (the compiler comes
 * from $CXX when set) into a temporary folder, then run on the given inputs. Binaries are cached by
 * a hash of the sources (in process and in the temp folder), so the same project compiles once.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType } from '../../compiler/ir/dtype.js';
import { EdgecError, internal, invalid, ioError, limit } from '../../compiler/errors.js';
import { ArtifactManifest } from '../target.js';
import { Graph } from '../../compiler/ir/graph.js';
import { datLine, emitHls, HlsOptions } from './emit.js';

export interface CsimOptions {
  /** Compile timeout in ms (default 300 s). */
  compileTimeoutMs?: number;
  /** Run timeout in ms (default 120 s). */
  runTimeoutMs?: number;
  /** Extra compiler flags. */
  cxxFlags?: string[];
}

/** Outcome of a child process run by runProc. */
export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a program with captured output (stdout up to 64 MiB, stderr 1 MiB) and a wall-clock limit
 * (SIGKILL, `timedOut`); a program that cannot start rejects (ENOENT for a missing one).
 */
export function runProc(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      reject(e);
      return;
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1 << 26) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1 << 20) stderr += d.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Reads an artifact's manifest.json. */
export function readHlsManifest(dir: string): ArtifactManifest {
  const p = path.join(dir, 'manifest.json');
  if (!fs.existsSync(p)) throw invalid('artifact folder has no manifest.json', { file: dir });
  let m: ArtifactManifest;
  try {
    m = JSON.parse(fs.readFileSync(p, 'utf8')) as ArtifactManifest;
  } catch (e) {
    throw invalid(`manifest.json is not valid JSON: ${(e as Error).message}`, { file: p });
  }
  if (m.target !== 'hls') throw invalid(`artifact target is ${String(m.target)}, not hls`, { file: p });
  if ([...m.inputs, ...m.outputs].some((x) => x.shape.some((d) => typeof d !== 'number'))) throw invalid('an hls artifact has concrete shapes only', { file: p });
  return m;
}

/** Top function name of an artifact (manifest `top`, default myproject). */
function topOf(m: ArtifactManifest): string {
  const t = typeof m['top'] === 'string' ? (m['top'] as string) : 'myproject';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(t)) throw invalid(`manifest top "${t.slice(0, 40)}" is not a C identifier`);
  return t;
}

/** Hash of every source file the simulation compiles (firmware/ and tb/). */
function sourceHash(dir: string, flags: string[]): string {
  const h = createHash('sha256');
  h.update(flags.join(' '));
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    if (!fs.existsSync(abs)) return;
    for (const ent of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = path.join(rel, ent.name);
      if (ent.isDirectory()) walk(r);
      else if (ent.isFile()) {
        h.update(r);
        h.update(fs.readFileSync(path.join(dir, r)));
      }
    }
  };
  walk('firmware');
  walk('tb');
  return h.digest('hex').slice(0, 32);
}

const building = new Map<string, Promise<string>>();

/** Keeps the newest `keep` binaries of the csim cache folder (best effort). */
function pruneCache(dir: string, keep: number): void {
  try {
    const ents = fs.readdirSync(dir).filter((n) => /^[0-9a-f]{32}(\.exe)?$/.test(n))
      .map((n) => ({ n, t: fs.statSync(path.join(dir, n)).mtimeMs })).sort((a, b) => b.t - a.t);
    for (const e of ents.slice(keep)) fs.rmSync(path.join(dir, e.n), { force: true });
  } catch {
    // another process pruned concurrently
  }
}

/**
 * Compiles the C simulation of an artifact folder and returns the binary's path (cached).
 * @param dir artifact folder (firmware/, tb/, manifest.json)
 */
export function buildCsim(dir: string, opts: CsimOptions = {}): Promise<string> {
  const m = readHlsManifest(dir);
  const top = topOf(m);
  const cxx = process.env['CXX'] || 'g++';
  const flags = ['-O2', '-std=c++14', '-Wno-unknown-pragmas', '-w', ...(opts.cxxFlags ?? [])];
  const tb = path.join(dir, 'tb', `${top}_test.cpp`);
  const src = path.join(dir, 'firmware', `${top}.cpp`);
  for (const f of [tb, src]) if (!fs.existsSync(f)) throw invalid(`artifact is missing ${path.relative(dir, f)}`, { file: f });
  const key = `${cxx}:${sourceHash(dir, flags)}`;
  const hit = building.get(key);
  if (hit) return hit;
  const p = (async () => {
    const cacheDir = path.join(os.tmpdir(), 'edgec-hls-csim');
    fs.mkdirSync(cacheDir, { recursive: true });
    const bin = path.join(cacheDir, `${key.split(':')[1]}${process.platform === 'win32' ? '.exe' : ''}`);
    if (fs.existsSync(bin)) return bin;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-hls-build-'));
    try {
      const out = path.join(work, 'csim');
      let r: ProcResult;
      try {
        r = await runProc(cxx, [...flags, '-o', out, tb, src], work, opts.compileTimeoutMs ?? 300_000);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOENT') throw ioError(`C++ compiler "${cxx}" not found: the hls C simulation needs g++ (or set CXX)`, { file: src });
        throw ioError(`cannot start the C++ compiler "${cxx}": ${err.message}`, { file: src });
      }
      if (r.timedOut) throw limit(`C++ compilation of the C simulation timed out after ${Math.round((opts.compileTimeoutMs ?? 300_000) / 1000)} s`, { file: src });
      if (r.code !== 0) {
        const first = r.stderr.split('\n').filter((l) => /error/.test(l)).slice(0, 5).join(' | ') || r.stderr.slice(0, 500);
        throw internal(`C++ compilation of the generated HLS code failed (${cxx} exit ${r.code}): ${first}`, { file: src });
      }
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

/**
 * Runs the C simulation of an artifact on one set of inputs and returns its outputs.
 * @param dir artifact folder (as written by the CLI: files + manifest.json)
 * @param inputs tensors in the manifest's input order
 */
export async function runHlsArtifact(dir: string, inputs: readonly Tensor[], opts: CsimOptions = {}): Promise<Tensor[]> {
  const m = readHlsManifest(dir);
  if (inputs.length !== m.inputs.length) throw invalid(`model has ${m.inputs.length} input(s) but ${inputs.length} were given`);
  m.inputs.forEach((x, k) => {
    const n = (x.shape as number[]).reduce((a, b) => a * b, 1);
    if (inputs[k]!.size !== n) throw invalid(`input ${k} ("${x.name.slice(0, 60)}") has ${inputs[k]!.size} values, expected ${n} (shape [${x.shape.join(',')}])`);
  });
  const bin = await buildCsim(dir, opts);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-hls-run-'));
  try {
    const inFile = path.join(work, 'input.dat');
    const outFile = path.join(work, 'output.dat');
    fs.writeFileSync(inFile, inputs.map((t) => datLine(t)).join('\n') + '\n');
    let r: ProcResult;
    try {
      r = await runProc(bin, [inFile, outFile], work, opts.runTimeoutMs ?? 120_000);
    } catch (e) {
      throw ioError(`cannot run the C simulation: ${(e as Error).message}`, { file: bin });
    }
    if (r.timedOut) throw limit(`the C simulation timed out after ${Math.round((opts.runTimeoutMs ?? 120_000) / 1000)} s`, { file: bin });
    if (r.code !== 0) throw internal(`the C simulation failed (exit ${r.code ?? r.signal}): ${r.stderr.slice(0, 300)}`, { file: bin });
    const lines = fs.readFileSync(outFile, 'utf8').split('\n');
    return m.outputs.map((y, k) => {
      const vals = (lines[k] ?? '').trim().split(/\s+/).filter((s) => s !== '').map((s) => (s === 'nan' || s === '-nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s)));
      const shape = y.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      if (vals.length !== Math.max(1, n)) throw internal(`the C simulation wrote ${vals.length} values for output ${k}, expected ${n}`, { file: outFile });
      return Tensor.from(y.dtype as DType, shape, vals.slice(0, n));
    });
  } catch (e) {
    if (e instanceof EdgecError) throw e;
    throw internal(`C simulation: ${(e as Error).message}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Writes artifact files and manifest.json into `dir` (a fresh temp folder when omitted). */
export function writeHlsArtifact(files: Map<string, Uint8Array | string>, manifest: ArtifactManifest, dir?: string): string {
  const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'edgec-hls-'));
  for (const [name, data] of files) {
    const p = path.join(d, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
  }
  fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return d;
}

/**
 * Emits a graph (already optimized, or the quantized integer graph) into a temporary project, runs
 * its C simulation on one set of inputs and removes the project (`edgec run --target hls MODEL`).
 * @param graph graph with concrete shapes
 * @param inputs tensors in graph-input order
 */
export async function emitAndRunHls(graph: Graph, inputs: readonly Tensor[], opts: HlsOptions & CsimOptions = {}): Promise<Tensor[]> {
  const art = emitHls(graph, { ...opts, testVectors: false });
  const dir = writeHlsArtifact(art.files, art.manifest);
  try {
    return await runHlsArtifact(dir, inputs, opts);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
